/* room_bus.c - the chat room shared over the bus: publish, relay, claim. */
/*
 * The wire format on the room's channel is one message per event,
 * "<node> <kind> <args>", where node is this process's random 16-hex id
 * (so a node can ignore its own messages) and kind is one letter:
 *
 *	L nick text	a line			J nick	joined
 *	P nick		left			R old new	renamed
 *	H		heartbeat		S	"who is there?" (a node
 *	M nick...	roster: the sender's users, the answer to S
 *	G token n	guest<n> is this node's client `token` (the sender
 *			reads it; see rb_script_guest)
 *
 * Every node turns L/J/P/R into exactly the bytes room.c sends for a
 * local member.  Redis keys: "<room>:nick:<lowercased nick>" holds the
 * owning node's id, with a TTL the heartbeat refreshes; "<room>:guest" is
 * the INCR counter guest names come from.  The scripts below make each
 * claim one round trip and atomic, so two nodes claiming a nick at the
 * same instant cannot both win.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis.h>

#include "bus.h"
#include "chat.h"
#include "client.h"
#include "log.h"
#include "nickset.h"
#include "peers.h"
#include "proto.h"
#include "room.h"
#include "room_bus.h"
#include "stats.h"

#define RB_NODE_LEN	PEERS_ID_LEN
/* A claim Redis has not answered by then is decided locally, as if the
 * bus were down (it is re-checked by the next heartbeat). */
#define RB_ANSWER_MS	2000
/* Roster answers that arrive this soon after our own "S" are the state
 * we join, not news: no "joined" notices for them. */
#define RB_SYNC_MS	1500
/* Nicks per refresh script call and per roster message. */
#define RB_BATCH	64

/* INCR until a free guest<N> is found (a Redis that restarted has lost
 * the counter but the nodes still hold their names), claim it, and
 * publish "G token n" in the same step.  The client joins when that
 * message comes back on our subscription, not when the reply comes on
 * the other connection: then every message published before it was
 * already delivered to the members before it, and none after it is
 * missed, so a newcomer's view starts exactly at its join. */
static const char rb_script_guest[] =
    "for i = 1, 16 do "
    "local n = redis.call('INCR', KEYS[1]) "
    "if redis.call('SET', ARGV[1] .. 'guest' .. n, ARGV[2], 'NX', 'PX', "
    "ARGV[3]) then redis.call('PUBLISH', ARGV[4], ARGV[5] .. n) "
    "return n end "
    "end return 0";
/* Keep (or take back) each key: 1 if this node holds it now, 0 if
 * another node does. */
static const char rb_script_refresh[] =
    "local r = {} "
    "for i, k in ipairs(KEYS) do "
    "local v = redis.call('GET', k) "
    "if v == ARGV[1] then redis.call('PEXPIRE', k, ARGV[2]) r[i] = 1 "
    "elseif not v then redis.call('SET', k, ARGV[1], 'PX', ARGV[2]) "
    "r[i] = 1 else r[i] = 0 end end return r";
/* Delete the key only if this node still owns it. */
static const char rb_script_release[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('DEL', KEYS[1]) end return 0";

enum rb_wait {
	RB_WAIT_GUEST,		/* a new client's guest name */
	RB_WAIT_NICK,		/* /nick NAME */
	RB_WAIT_REGUEST		/* a member whose nick was taken elsewhere */
};

/* A client held for an answer.  Lives until hiredis calls back (always
 * once, NULL if the link died); c is NULL once nobody waits for it. */
struct rb_pending {
	struct rb_pending *prev, *next;	/* rb->pending, while c is set */
	struct room_bus *rb;
	struct client *c;
	enum rb_wait wait;
	bool	in_flight;		/* hiredis holds it: frees it on reply */
	uint64_t token;			/* guest waits: the "G" message's */
	int	tries;
	int64_t	deadline_ms;
	char	nick[CHAT_NICK_MAX + 1];	/* RB_WAIT_NICK: the new one */
};

struct room_bus {
	struct room *room;
	struct client_ctx *ctx;
	struct room_link link;
	struct bus *bus;
	int64_t	ttl_ms;
	char	node[RB_NODE_LEN + 1];
	char	ttl_arg[24];		/* ttl_ms as text, for the scripts */
	char	nick_prefix[BUS_ROOM_MAX + 8];	/* "<room>:nick:" */
	char	guest_key[BUS_ROOM_MAX + 8];	/* "<room>:guest" */
	struct peers peers;		/* the other nodes and their users */
	struct rb_pending *pending;	/* clients held for an answer */
	uint64_t next_token;
	char   *msg;			/* one outgoing message is built here */
	size_t	msg_size;
	bool	told_lost;		/* "* bus lost" sent, "restored" due */
	int64_t	next_heartbeat_ms;
	int64_t	sync_until_ms;
};

/* ---- keys and messages -------------------------------------------------- */

static size_t
rb_nick_key(const struct room_bus *rb, const char *nick, size_t len,
    char *key, size_t keylen)
{
	size_t n = (size_t)snprintf(key, keylen, "%s", rb->nick_prefix), i;

	for (i = 0; i < len && n + 1 < keylen; i++) {
		char ch = nick[i];

		key[n++] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
	}
	key[n] = '\0';
	return n;
}

/* Publish "<node> <kind>[ a[ b]]"; b may hold any bytes. */
static void
rb_publish(struct room_bus *rb, char kind, const char *a, const char *b,
    size_t blen)
{
	int n = snprintf(rb->msg, rb->msg_size, "%s %c%s%s%s", rb->node, kind,
	    a ? " " : "", a ? a : "", b ? " " : "");
	size_t len = (size_t)n;

	if (b != NULL && len + blen <= rb->msg_size) {
		memcpy(rb->msg + len, b, blen);
		len += blen;
	}
	(void)bus_publish(rb->bus, rb->msg, len);
}

static void
rb_release(struct room_bus *rb, const char *nick)
{
	char key[BUS_ROOM_MAX + CHAT_NICK_MAX + 16];
	const char *argv[5];
	size_t argvlen[5];
	size_t n = rb_nick_key(rb, nick, strlen(nick), key, sizeof(key));

	argv[0] = "EVAL";
	argv[1] = rb_script_release;
	argv[2] = "1";
	argv[3] = key;
	argv[4] = rb->node;
	argvlen[0] = 4;
	argvlen[1] = sizeof(rb_script_release) - 1;
	argvlen[2] = 1;
	argvlen[3] = n;
	argvlen[4] = RB_NODE_LEN;
	(void)bus_command(rb->bus, NULL, NULL, 5, argv, argvlen);
}

/* ---- the room's link: what it tells the bus ------------------------------ */

static void
rb_joined(void *self, const struct client *c)
{
	rb_publish(self, 'J', c->nick, NULL, 0);
}

static void
rb_left(void *self, const struct client *c)
{
	struct room_bus *rb = self;

	rb_publish(rb, 'P', c->nick, NULL, 0);
	rb_release(rb, c->nick);
}

static void
rb_renamed(void *self, const struct client *c, const char *old)
{
	struct room_bus *rb = self;

	rb_publish(rb, 'R', old, c->nick, strlen(c->nick));
	if (!chat_nick_equal(old, strlen(old), c->nick, strlen(c->nick)))
		rb_release(rb, old);
}

static void
rb_said(void *self, const struct client *c, const char *line, size_t len)
{
	rb_publish(self, 'L', c->nick, line, len);
}

/* ---- clients held for an answer ------------------------------------------ */

static void rb_on_answer(void *privdata, struct redisReply *reply);

static struct rb_pending *
rb_pending_new(struct room_bus *rb, struct client *c, enum rb_wait wait)
{
	struct rb_pending *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->rb = rb;
	p->c = c;
	p->wait = wait;
	p->deadline_ms = rb->ctx->now_ms + RB_ANSWER_MS;
	p->token = ++rb->next_token;
	p->next = rb->pending;
	if (rb->pending != NULL)
		rb->pending->prev = p;
	rb->pending = p;
	return p;
}

/* Nobody waits for p any more; hiredis still owns it until it calls. */
static void
rb_pending_detach(struct rb_pending *p)
{
	struct room_bus *rb = p->rb;

	if (p->c == NULL)
		return;
	if (p->c->proto_data == p)
		p->c->proto_data = NULL;
	p->c = NULL;
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		rb->pending = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	p->prev = p->next = NULL;
}

static int
rb_ask_guest(struct room_bus *rb, struct rb_pending *p)
{
	const char *argv[9];
	size_t argvlen[9];
	char marker[RB_NODE_LEN + 32];

	argv[0] = "EVAL";
	argv[1] = rb_script_guest;
	argv[2] = "1";
	argv[3] = rb->guest_key;
	argv[4] = rb->nick_prefix;
	argv[5] = rb->node;
	argv[6] = rb->ttl_arg;
	argvlen[0] = 4;
	argvlen[1] = sizeof(rb_script_guest) - 1;
	argvlen[2] = 1;
	argvlen[3] = strlen(rb->guest_key);
	argvlen[4] = strlen(rb->nick_prefix);
	argvlen[5] = RB_NODE_LEN;
	argvlen[6] = strlen(rb->ttl_arg);
	argv[7] = bus_room_name(rb->bus);
	argvlen[7] = strlen(argv[7]);
	argvlen[8] = (size_t)snprintf(marker, sizeof(marker), "%s G %llu ",
	    rb->node, (unsigned long long)p->token);
	argv[8] = marker;
	p->tries++;
	if (bus_command(rb->bus, rb_on_answer, p, 9, argv, argvlen) == -1)
		return -1;
	p->in_flight = true;
	return 0;
}

/* Hold c while Redis picks a guest name for it; false if it cannot be
 * asked (down, full, out of memory): the caller decides locally. */
static bool
rb_hold_for_guest(struct room_bus *rb, struct client *c, enum rb_wait wait)
{
	struct rb_pending *p;

	if (!bus_up(rb->bus) || (p = rb_pending_new(rb, c, wait)) == NULL)
		return false;
	if (rb_ask_guest(rb, p) == -1) {
		rb_pending_detach(p);
		free(p);
		return false;
	}
	c->proto_data = p;
	client_hold(c);
	return true;
}

/* The link's claim hook: /nick NAME passed the local checks. */
static bool
rb_claim(void *self, struct client *c, const char *nick, size_t len)
{
	struct room_bus *rb = self;
	char key[BUS_ROOM_MAX + CHAT_NICK_MAX + 16];
	const char *argv[7];
	size_t argvlen[7];
	struct rb_pending *p;

	/* "alice" -> "Alice" is the same key, which this node holds. */
	if (!bus_up(rb->bus) || chat_nick_equal(nick, len, c->nick,
	    strlen(c->nick)) || (p = rb_pending_new(rb, c, RB_WAIT_NICK)) ==
	    NULL)
		return false;
	memcpy(p->nick, nick, len);
	p->nick[len] = '\0';
	argv[0] = "SET";
	argv[1] = key;
	argv[2] = rb->node;
	argv[3] = "NX";
	argv[4] = "PX";
	argv[5] = rb->ttl_arg;
	argvlen[0] = 3;
	argvlen[1] = rb_nick_key(rb, nick, len, key, sizeof(key));
	argvlen[2] = RB_NODE_LEN;
	argvlen[3] = argvlen[4] = 2;
	argvlen[5] = strlen(rb->ttl_arg);
	if (bus_command(rb->bus, rb_on_answer, p, 6, argv, argvlen) == -1) {
		rb_pending_detach(p);
		free(p);
		return false;
	}
	p->in_flight = true;
	c->proto_data = p;
	client_hold(c);
	return true;
}

/* The guest number Redis gave, or 0: none (decide locally). */
static long long
rb_guest_number(struct room_bus *rb, const redisReply *reply, char *nick,
    size_t len)
{
	if (reply == NULL || reply->type != REDIS_REPLY_INTEGER ||
	    reply->integer <= 0)
		return 0;
	snprintf(nick, len, "guest%lld", reply->integer);
	/* A name this node handed out locally while the bus was down. */
	if (nickset_find(&rb->room->nicks, nick, strlen(nick)) != NULL)
		return -1;
	return reply->integer;
}

/* The answer for p's client c arrived (reply NULL: the bus could not
 * answer, so decide as a room on its own would). */
static void
rb_answer(struct room_bus *rb, struct rb_pending *p, struct client *c,
    const redisReply *reply)
{
	char nick[CHAT_NICK_MAX + 1], msg[CHAT_NOTICE_MAX];
	void *owner;
	long long n;
	int len;

	switch (p->wait) {
	case RB_WAIT_GUEST:
		n = rb_guest_number(rb, reply, nick, sizeof(nick));
		if (n == -1 && p->tries < 4 && rb_ask_guest(rb, p) == 0)
			return;		/* still held, asked again */
		if (n > 0)
			memcpy(c->nick, nick, sizeof(nick));
		c->member = false;	/* now for real, in room_join */
		if (room_join(rb->room, c) == -1) {
			rb->ctx->stats->oom_closed++;
			client_close(c, CLOSE_OOM);
		}
		break;
	case RB_WAIT_REGUEST:
		n = rb_guest_number(rb, reply, nick, sizeof(nick));
		if (n == -1 && p->tries < 4 && rb_ask_guest(rb, p) == 0)
			return;
		if (n <= 0)
			break;		/* keep it; the next heartbeat retries */
		len = snprintf(msg, sizeof(msg), CHAT_FMT_NICK_LOST, c->nick,
		    nick);
		client_queue(c, msg, (size_t)len);
		room_rename(rb->room, c, nick, strlen(nick));
		break;
	case RB_WAIT_NICK:
		owner = nickset_find(&rb->room->nicks, p->nick, strlen(p->nick));
		if ((reply != NULL && reply->type == REDIS_REPLY_NIL) ||
		    (owner != NULL && owner != c))
			client_queue(c, CHAT_NICK_TAKEN,
			    sizeof(CHAT_NICK_TAKEN) - 1);
		else
			room_rename(rb->room, c, p->nick, strlen(p->nick));
		break;
	}
	rb_pending_detach(p);
	client_resume(c);
}

/* Nobody waits for p and hiredis is done with it. */
static void
rb_pending_done(struct rb_pending *p)
{
	if (p->c == NULL && !p->in_flight)
		free(p);
}

static void
rb_on_answer(void *privdata, struct redisReply *reply)
{
	struct rb_pending *p = privdata;
	struct client *c = p->c;

	p->in_flight = false;
	/* A guest number is acted on when its "G" message arrives
	 * (rb_on_guest_message); here only a failure is. */
	if (c != NULL && (p->wait == RB_WAIT_NICK || reply == NULL ||
	    reply->type != REDIS_REPLY_INTEGER || reply->integer <= 0))
		rb_answer(p->rb, p, c, reply);
	else if (c == NULL && p->wait == RB_WAIT_NICK && reply != NULL &&
	    reply->type == REDIS_REPLY_STATUS)
		rb_release(p->rb, p->nick);	/* won, but nobody wants it */
	rb_pending_done(p);
}

/* Our own "G token n" came back: the guest number for that client. */
static void
rb_on_guest_message(struct room_bus *rb, const char *p, const char *end)
{
	unsigned long long token = 0, n = 0;
	struct rb_pending *w;
	redisReply reply;
	char text[48];

	if ((size_t)(end - p) >= sizeof(text))
		return;
	memcpy(text, p, (size_t)(end - p));
	text[end - p] = '\0';
	if (sscanf(text, "%llu %llu", &token, &n) != 2)
		return;
	for (w = rb->pending; w != NULL && w->token != token; w = w->next)
		;
	if (w == NULL || w->wait == RB_WAIT_NICK)
		return;			/* it gave up waiting meanwhile */
	memset(&reply, 0, sizeof(reply));
	reply.type = REDIS_REPLY_INTEGER;
	reply.integer = (long long)n;
	rb_answer(rb, w, w->c, &reply);
	rb_pending_done(w);
}

/* ---- the proto table: room_proto with the waits in front ----------------- */

static bool
rb_waits_for_guest(const struct client *c)
{
	const struct rb_pending *p = c->proto_data;

	return p != NULL && p->wait == RB_WAIT_GUEST;
}

static int
rb_on_join(void *self, struct client *c)
{
	struct room_bus *rb = self;

	/* Marked a member (not yet in the list) so that closing and
	 * leaving reach rb_on_closing and rb_on_leave while it waits. */
	c->member = true;
	if (rb_hold_for_guest(rb, c, RB_WAIT_GUEST))
		return 0;
	c->member = false;
	return room_join(rb->room, c);
}

static void
rb_on_line(void *self, struct client *c, const char *line, size_t len)
{
	room_proto.on_line(((struct room_bus *)self)->room, c, line, len);
}

static void
rb_on_overlong(void *self, struct client *c)
{
	room_proto.on_overlong(((struct room_bus *)self)->room, c);
}

static void
rb_on_farewell(void *self, struct client *c, enum client_cause why)
{
	room_proto.on_farewell(((struct room_bus *)self)->room, c, why);
}

static void
rb_on_closing(void *self, struct client *c)
{
	if (!rb_waits_for_guest(c))
		room_proto.on_closing(((struct room_bus *)self)->room, c);
}

static void
rb_on_leave(void *self, struct client *c)
{
	struct rb_pending *p = c->proto_data;
	bool joining = rb_waits_for_guest(c);

	if (p != NULL) {
		rb_pending_detach(p);
		rb_pending_done(p);
	}
	if (joining) {
		c->member = false;	/* never joined: nobody to tell */
		return;
	}
	room_proto.on_leave(((struct room_bus *)self)->room, c);
}

const struct proto room_bus_proto = {
	.name = "chat",
	.backpressure = false,
	.refusal = CHAT_SERVER_FULL,
	.on_join = rb_on_join,
	.on_line = rb_on_line,
	.on_overlong = rb_on_overlong,
	.on_farewell = rb_on_farewell,
	.on_closing = rb_on_closing,
	.on_leave = rb_on_leave,
};

/* ---- other nodes ---------------------------------------------------------- */

/* One word of a message, NUL-terminated into out; false if it is not a
 * nick. */
static bool
rb_word(const char **p, const char *end, char *out)
{
	const char *start = *p, *stop = memchr(start, ' ', (size_t)(end -
	    start));
	size_t len;

	if (stop == NULL)
		stop = end;
	len = (size_t)(stop - start);
	*p = stop < end ? stop + 1 : end;
	if (!chat_nick_valid(start, len))
		return false;
	memcpy(out, start, len);
	out[len] = '\0';
	return true;
}

static void rb_send_roster(struct room_bus *rb);

static void
rb_handle(struct room_bus *rb, struct peer *peer, char kind, const char *p,
    const char *end)
{
	char a[CHAT_NICK_MAX + 1], b[CHAT_NICK_MAX + 1];

	switch (kind) {
	case 'L':
		/* A node with a longer --max-line: its line would not fit
		 * our relay buffer, nor our clients' limits. */
		if (rb_word(&p, end, a) && (size_t)(end - p) <=
		    rb->ctx->max_line)
			room_relay_as(rb->room, NULL, a, p, (size_t)(end - p));
		break;
	case 'J':
		if (rb_word(&p, end, a)) {
			(void)peers_add_user(&rb->peers, a, peer);
			room_tell_joined(rb->room, NULL, a);
		}
		break;
	case 'P':
		if (rb_word(&p, end, a) && peers_remove_user(&rb->peers, a,
		    peer))
			room_tell_left(rb->room, NULL, a);
		break;
	case 'R':
		if (rb_word(&p, end, a) && rb_word(&p, end, b)) {
			(void)peers_remove_user(&rb->peers, a, peer);
			(void)peers_add_user(&rb->peers, b, peer);
			room_tell_renamed(rb->room, a, b, strlen(b));
		}
		break;
	case 'S':
		rb_send_roster(rb);
		break;
	case 'M':
		/* A node that was gone for longer than the TTL comes back
		 * with its users: they are news, unless we are the ones
		 * catching up. */
		while (p < end && rb_word(&p, end, a))
			if (peers_add_user(&rb->peers, a, peer) &&
			    rb->ctx->now_ms >= rb->sync_until_ms)
				room_tell_joined(rb->room, NULL, a);
		break;
	default:			/* 'H', or a later kind: alive */
		break;
	}
}

/* The bus's message hook. */
static bool
rb_message(void *self, const char *msg, size_t len)
{
	struct room_bus *rb = self;
	struct peer *peer;
	const char *end = msg + len;

	if (len < RB_NODE_LEN + 2 || msg[RB_NODE_LEN] != ' ')
		return true;		/* not ours to read */
	if (memcmp(msg, rb->node, RB_NODE_LEN) == 0) {
		/* Our own, back from Redis: only a guest marker matters. */
		if (len > RB_NODE_LEN + 3 && msg[RB_NODE_LEN + 1] == 'G')
			rb_on_guest_message(rb, msg + RB_NODE_LEN + 3, end);
		return false;
	}
	if ((peer = peers_heard(&rb->peers, msg, rb->ctx->now_ms)) == NULL)
		return true;
	msg += RB_NODE_LEN + 1;
	rb_handle(rb, peer, msg[0], msg + 1 < end && msg[1] == ' ' ? msg + 2 :
	    end, end);
	return true;
}

/* ---- heartbeat and roster ------------------------------------------------- */

/* The nicks this node's members hold: in batches of RB_BATCH. */
struct rb_batch {
	struct room_bus *rb;
	size_t	n;
	char	nick[RB_BATCH][CHAT_NICK_MAX + 1];
};

/* The refresh script's answer: 0 for a nick another node holds now. */
static void
rb_on_refreshed(void *privdata, struct redisReply *reply)
{
	struct rb_batch *batch = privdata;
	struct room_bus *rb = batch->rb;
	struct client *c;
	size_t i;

	for (i = 0; reply != NULL && reply->type == REDIS_REPLY_ARRAY &&
	    i < reply->elements && i < batch->n; i++) {
		if (reply->element[i]->type != REDIS_REPLY_INTEGER ||
		    reply->element[i]->integer != 0)
			continue;
		c = nickset_find(&rb->room->nicks, batch->nick[i],
		    strlen(batch->nick[i]));
		if (c == NULL || c->state != CLIENT_OPEN || c->proto_data)
			continue;
		log_info("bus: %s is held by another node: renaming ours",
		    c->nick);
		(void)rb_hold_for_guest(rb, c, RB_WAIT_REGUEST);
	}
	free(batch);
}

static void
rb_refresh(struct room_bus *rb, struct rb_batch *batch)
{
	char keys[RB_BATCH][BUS_ROOM_MAX + CHAT_NICK_MAX + 16];
	const char *argv[RB_BATCH + 5];
	size_t argvlen[RB_BATCH + 5], i;
	char nkeys[8];

	argv[0] = "EVAL";
	argv[1] = rb_script_refresh;
	snprintf(nkeys, sizeof(nkeys), "%zu", batch->n);
	argv[2] = nkeys;
	argvlen[0] = 4;
	argvlen[1] = sizeof(rb_script_refresh) - 1;
	argvlen[2] = strlen(nkeys);
	for (i = 0; i < batch->n; i++) {
		argv[3 + i] = keys[i];
		argvlen[3 + i] = rb_nick_key(rb, batch->nick[i],
		    strlen(batch->nick[i]), keys[i], sizeof(keys[i]));
	}
	argv[3 + i] = rb->node;
	argvlen[3 + i] = RB_NODE_LEN;
	argv[4 + i] = rb->ttl_arg;
	argvlen[4 + i] = strlen(rb->ttl_arg);
	if (bus_command(rb->bus, rb_on_refreshed, batch, (int)(5 + i), argv,
	    argvlen) == -1)
		free(batch);
}

/* Every member's nick, RB_BATCH at a time, to fn (which owns the batch). */
static void
rb_each_batch(struct room_bus *rb, void (*fn)(struct room_bus *,
    struct rb_batch *))
{
	struct rb_batch *batch = NULL;
	size_t i;

	for (i = 0; i < rb->room->nmembers; i++) {
		const struct client *c = rb->room->members[i];

		if (!client_present(c))
			continue;
		if (batch == NULL && (batch = calloc(1, sizeof(*batch))) ==
		    NULL)
			return;
		batch->rb = rb;
		memcpy(batch->nick[batch->n++], c->nick, sizeof(c->nick));
		if (batch->n == RB_BATCH) {
			fn(rb, batch);
			batch = NULL;
		}
	}
	if (batch != NULL)
		fn(rb, batch);
}

static void
rb_publish_roster(struct room_bus *rb, struct rb_batch *batch)
{
	char list[RB_BATCH * (CHAT_NICK_MAX + 1)];
	size_t i, len = 0;

	for (i = 0; i < batch->n; i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
		    i ? " " : "", batch->nick[i]);
	rb_publish(rb, 'M', list, NULL, 0);
	free(batch);
}

static void
rb_send_roster(struct room_bus *rb)
{
	rb_each_batch(rb, rb_publish_roster);
}

static void
rb_heartbeat(struct room_bus *rb)
{
	rb_publish(rb, 'H', NULL, NULL, 0);
	rb_each_batch(rb, rb_refresh);
	rb->next_heartbeat_ms = rb->ctx->now_ms + rb->ttl_ms / 3;
}

/* ---- the link coming and going -------------------------------------------- */

static void
rb_up(void *self)
{
	struct room_bus *rb = self;

	if (rb->told_lost) {
		room_broadcast(rb->room, NULL, CHAT_BUS_RESTORED,
		    sizeof(CHAT_BUS_RESTORED) - 1);
		rb->told_lost = false;
	}
	/* Whatever we knew of the others may be stale: ask again. */
	peers_clear(&rb->peers);
	rb->sync_until_ms = rb->ctx->now_ms + RB_SYNC_MS;
	rb_publish(rb, 'S', NULL, NULL, 0);
	rb_send_roster(rb);
	rb_heartbeat(rb);		/* and take our nicks back */
}

static void
rb_down(void *self)
{
	struct room_bus *rb = self;

	if (!rb->told_lost)
		room_broadcast(rb->room, NULL, CHAT_BUS_LOST,
		    sizeof(CHAT_BUS_LOST) - 1);
	rb->told_lost = true;
}

/* A silent node's user: gone, as far as this node's members can tell. */
static void
rb_peer_user_gone(void *arg, const char *nick)
{
	struct room_bus *rb = arg;

	room_tell_left(rb->room, NULL, nick);
}

/* ---- lifecycle ------------------------------------------------------------ */

static void
rb_node_id(char *out)
{
	unsigned char raw[RB_NODE_LEN / 2];
	size_t i;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd == -1 || read(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw)) {
		unsigned long long seed = (unsigned long long)getpid() ^
		    (unsigned long long)time(NULL) << 20;

		for (i = 0; i < sizeof(raw); i++)
			raw[i] = (unsigned char)(seed >> (i * 8 % 64));
	}
	if (fd != -1)
		close(fd);
	for (i = 0; i < sizeof(raw); i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

struct room_bus *
room_bus_new(struct room *room, struct client_ctx *ctx,
    const struct room_bus_config *cfg, const struct io_driver *io,
    void *io_state)
{
	struct bus_events ev = { NULL, rb_up, rb_down, rb_message };
	struct room_bus *rb;

	if ((rb = calloc(1, sizeof(*rb))) == NULL)
		return NULL;
	rb->room = room;
	rb->ctx = ctx;
	rb->ttl_ms = cfg->ttl_ms;
	snprintf(rb->ttl_arg, sizeof(rb->ttl_arg), "%u", cfg->ttl_ms);
	snprintf(rb->nick_prefix, sizeof(rb->nick_prefix), "%s:nick:",
	    cfg->bus.room);
	snprintf(rb->guest_key, sizeof(rb->guest_key), "%s:guest",
	    cfg->bus.room);
	rb_node_id(rb->node);
	rb->msg_size = ctx->max_line + CHAT_NICK_MAX * 2 + 64;
	if ((rb->msg = malloc(rb->msg_size)) == NULL ||
	    peers_init(&rb->peers) == -1) {
		free(rb->msg);
		free(rb);
		return NULL;
	}
	rb->link = (struct room_link){ rb, rb_joined, rb_left, rb_renamed,
	    rb_said, rb_claim, &rb->peers.users };
	room->link = &rb->link;
	ev.self = rb;
	if ((rb->bus = bus_new(&cfg->bus, io, io_state, &ev)) == NULL) {
		room->link = NULL;
		peers_free(&rb->peers);
		free(rb->msg);
		free(rb);
		return NULL;
	}
	log_info("bus: node %s, room %s, redis %s:%d", rb->node, cfg->bus.room,
	    cfg->bus.addr.host, cfg->bus.addr.port);
	return rb;
}

void
room_bus_free(struct room_bus *rb)
{
	struct rb_pending *p, *next;

	if (rb == NULL)
		return;
	/* Nobody is held any more (the clients may be freed already); the
	 * bus calls back for each with NULL and frees them. */
	for (p = rb->pending; p != NULL; p = next) {
		next = p->next;
		p->c = NULL;
		p->prev = p->next = NULL;
		rb_pending_done(p);
	}
	rb->pending = NULL;
	bus_free(rb->bus);
	peers_free(&rb->peers);
	rb->room->link = NULL;
	free(rb->msg);
	free(rb);
}

bool
room_bus_dispatch(struct room_bus *rb, int fd, int mask)
{
	return bus_dispatch(rb->bus, fd, mask);
}

void
room_bus_flush(struct room_bus *rb)
{
	bus_flush(rb->bus);
}

void
room_bus_tick(struct room_bus *rb)
{
	int64_t now = rb->ctx->now_ms;
	struct rb_pending *p;

	bus_tick(rb->bus, now);
	/* An answer Redis owes for too long (a stalled server): decide as
	 * if the bus were down; the late answer finds nobody waiting. */
	for (p = rb->pending; p != NULL;) {
		if (now < p->deadline_ms) {
			p = p->next;
			continue;
		}
		p->tries = 99;		/* no second try */
		rb_answer(rb, p, p->c, NULL);
		rb_pending_done(p);
		/* Answering runs the client's waiting lines, which may
		 * touch other waits: start over (p is off the list). */
		p = rb->pending;
	}
	if (!bus_up(rb->bus))
		return;		/* silence from the others means nothing */
	peers_expire(&rb->peers, now, rb->ttl_ms, rb_peer_user_gone, rb);
	if (now >= rb->next_heartbeat_ms)
		rb_heartbeat(rb);
}

void
room_bus_format_stats(const struct room_bus *rb, char *out, size_t len)
{
	bus_format_stats(rb->bus, out, len);
}
