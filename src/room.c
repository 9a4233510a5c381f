/* room.c - the chat protocol: welcome, relay, /nick, /who, /quit, leave. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "client.h"
#include "log.h"
#include "nickset.h"
#include "proto.h"
#include "room.h"
#include "stats.h"

int
room_init(struct room *r, struct client_ctx *ctx, size_t max_members,
    size_t max_line)
{
	memset(r, 0, sizeof(*r));
	r->ctx = ctx;
	r->cap = max_members;
	/* Sized for everyone at once, so joining never allocates here. */
	r->members = calloc(max_members ? max_members : 1, sizeof(*r->members));
	r->scratch_size = max_line + CHAT_RELAY_EXTRA;
	r->scratch = malloc(r->scratch_size);
	if (r->members == NULL || r->scratch == NULL ||
	    nickset_init(&r->nicks, 64) == -1) {
		free(r->members);
		free(r->scratch);
		memset(r, 0, sizeof(*r));
		return -1;
	}
	return 0;
}

void
room_free(struct room *r)
{
	free(r->members);
	free(r->scratch);
	nickset_free(&r->nicks);
	memset(r, 0, sizeof(*r));
}

static void
room_reply(struct client *c, const char *msg)
{
	client_queue(c, msg, strlen(msg));
}

void
room_broadcast(struct room *r, const struct client *skip, const char *msg,
    size_t len)
{
	size_t i;

	/* client_queue may mark a slow reader CLOSING but never frees or
	 * reorders the member list, so a plain index walk is safe. */
	for (i = 0; i < r->nmembers; i++) {
		struct client *other = r->members[i];

		if (other != skip && other->state == CLIENT_OPEN)
			client_queue(other, msg, len);
	}
}

void
room_tell_joined(struct room *r, const struct client *skip, const char *nick)
{
	char msg[CHAT_NOTICE_MAX];
	int n;

	n = snprintf(msg, sizeof(msg), CHAT_FMT_JOINED, nick);
	room_broadcast(r, skip, msg, (size_t)n);
}

void
room_tell_left(struct room *r, const struct client *skip, const char *nick)
{
	char msg[CHAT_NOTICE_MAX];
	int n;

	n = snprintf(msg, sizeof(msg), CHAT_FMT_LEFT, nick);
	room_broadcast(r, skip, msg, (size_t)n);
}

void
room_tell_renamed(struct room *r, const char *old, const char *nick,
    size_t len)
{
	char msg[CHAT_NOTICE_MAX];
	int n;

	n = snprintf(msg, sizeof(msg), CHAT_FMT_RENAMED, old, (int)len, nick);
	room_broadcast(r, NULL, msg, (size_t)n);
}

int
room_join(struct room *r, struct client *c)
{
	char msg[CHAT_NOTICE_MAX];
	int n;

	if (r->nmembers == r->cap ||
	    nickset_add(&r->nicks, c->nick, strlen(c->nick), c) == -1)
		return -1;
	c->member = true;
	c->member_slot = r->nmembers;
	r->members[r->nmembers++] = c;
	r->present++;
	n = snprintf(msg, sizeof(msg), CHAT_FMT_WELCOME, c->nick);
	client_queue(c, msg, (size_t)n);
	room_tell_joined(r, c, c->nick);
	if (r->link != NULL)
		r->link->joined(r->link->self, c);
	return 0;
}

void
room_leave(struct room *r, struct client *c)
{
	struct client *last;

	if (!c->member)
		return;
	/* Lingering clients leave while still counted; closing ones were
	 * uncounted when they started to close. */
	if (c->state != CLIENT_CLOSING)
		r->present--;
	last = r->members[--r->nmembers];
	r->members[c->member_slot] = last;
	last->member_slot = c->member_slot;
	c->member = false;
	/* A no-op if a failed /nick already dropped the name. */
	nickset_remove(&r->nicks, c->nick, strlen(c->nick), c);
	/* The other nodes are told even at shutdown: they stay. */
	if (r->link != NULL)
		r->link->left(r->link->self, c);
	if (r->ctx->shutting_down)
		return;		/* nobody is left to tell */
	room_tell_left(r, c, c->nick);
}

static void
room_nick(struct room *r, struct client *c, const char *nick, size_t len)
{
	size_t oldlen = strlen(c->nick);
	void *owner;

	if (!chat_nick_valid(nick, len)) {
		room_reply(c, CHAT_INVALID_NICK);
		return;
	}
	/* guest<N> names are the server's, so automatic names never clash;
	 * a client may only "take" its own. */
	owner = nickset_find(&r->nicks, nick, len);
	if ((owner != NULL && owner != c) || (chat_nick_reserved(nick, len) &&
	    !chat_nick_equal(nick, len, c->nick, oldlen))) {
		room_reply(c, CHAT_NICK_TAKEN);
		return;
	}
	if (r->link != NULL && r->link->claim(r->link->self, c, nick, len))
		return;		/* held until the other nodes agree */
	room_rename(r, c, nick, len);
}

void
room_rename(struct room *r, struct client *c, const char *nick, size_t len)
{
	char old[CHAT_NICK_MAX + 1];

	/* Drop the old name first: "alice" -> "Alice" is the same key. */
	nickset_remove(&r->nicks, c->nick, strlen(c->nick), c);
	if (nickset_add(&r->nicks, nick, len, c) == -1) {
		/* Still a member under its old name: the others are told it
		 * left when it is reaped. */
		client_out_of_memory(c, "the nick table");
		return;
	}
	memcpy(old, c->nick, sizeof(old));
	memcpy(c->nick, nick, len);
	c->nick[len] = '\0';
	room_tell_renamed(r, old, c->nick, len);
	if (r->link != NULL)
		r->link->renamed(r->link->self, c, old);
}

static void
room_who(struct room *r, struct client *c)
{
	char msg[32 + CHAT_WHO_MAX * (CHAT_NICK_MAX + 1) + 8];
	const struct nickset *remote = r->link ? r->link->remote : NULL;
	const struct nickset_entry *e;
	size_t i, pos = 0, len, listed = 0;

	len = (size_t)snprintf(msg, sizeof(msg), CHAT_FMT_USERS, r->present +
	    (remote ? remote->used : 0));
	/* This node's members first, then the other nodes' users. */
	for (i = 0; i < r->nmembers && listed <= CHAT_WHO_MAX; i++) {
		const struct client *other = r->members[i];

		if (!client_present(other))
			continue;
		if (listed++ == CHAT_WHO_MAX)
			break;
		len += (size_t)snprintf(msg + len, sizeof(msg) - len, " %s",
		    other->nick);
	}
	while (remote != NULL && listed <= CHAT_WHO_MAX &&
	    (e = nickset_next(remote, &pos)) != NULL) {
		if (listed++ == CHAT_WHO_MAX)
			break;
		len += (size_t)snprintf(msg + len, sizeof(msg) - len, " %.*s",
		    (int)e->len, e->nick);
	}
	if (listed > CHAT_WHO_MAX)
		len += (size_t)snprintf(msg + len, sizeof(msg) - len,
		    CHAT_WHO_MORE);
	msg[len++] = '\n';
	client_queue(c, msg, len);
}

void
room_relay_as(struct room *r, const struct client *skip, const char *from,
    const char *line, size_t len)
{
	size_t nick = strlen(from), n = nick + len + 3;
	char *p = r->scratch;

	/* "<nick> text\n", built once and appended to every other member. */
	p[0] = '<';
	memcpy(p + 1, from, nick);
	p[nick + 1] = '>';
	p[nick + 2] = ' ';
	memcpy(p + nick + 3, line, len);
	p[n] = '\n';
	room_broadcast(r, skip, p, n + 1);
}

static void
room_relay(struct room *r, struct client *c, const char *line, size_t len)
{
	room_relay_as(r, c, c->nick, line, len);
	if (r->link != NULL)
		r->link->said(r->link->self, c, line, len);
}

void
room_line(struct room *r, struct client *c, const char *line, size_t len)
{
	struct chat_command cmd = chat_parse(line, len);

	r->ctx->stats->lines++;
	switch (cmd.kind) {
	case CHAT_EMPTY:
		break;
	case CHAT_MESSAGE:
		room_relay(r, c, line, len);
		break;
	case CHAT_NICK:
		room_nick(r, c, cmd.arg, cmd.arg_len);
		break;
	case CHAT_WHO:
		room_who(r, c);
		break;
	case CHAT_QUIT:
		room_reply(c, CHAT_BYE);
		client_drain(c, CLOSE_QUIT);
		break;
	case CHAT_UNKNOWN:
		room_reply(c, CHAT_UNKNOWN_COMMAND);
		break;
	}
}

/* ---- the proto table ---------------------------------------------------- */

static int
room_on_join(void *self, struct client *c)
{
	return room_join(self, c);
}

static void
room_on_line(void *self, struct client *c, const char *line, size_t len)
{
	room_line(self, c, line, len);
}

static void
room_on_overlong(void *self, struct client *c)
{
	char msg[64];
	int n;

	n = snprintf(msg, sizeof(msg), CHAT_FMT_TOO_LONG,
	    ((struct room *)self)->ctx->max_line);
	client_queue(c, msg, (size_t)n);
}

static void
room_on_farewell(void *self, struct client *c, enum client_cause why)
{
	(void)self;
	if (why == CLOSE_IDLE_TIMEOUT)
		room_reply(c, CHAT_IDLE_TIMEOUT);
	else if (why == CLOSE_LINE_TIMEOUT)
		room_reply(c, CHAT_LINE_TIMEOUT);
	else if (why == CLOSE_SHUTDOWN)
		room_reply(c, CHAT_SHUTTING_DOWN);
}

/* A member is CLOSING: it is no longer counted, but it stays in the list
 * until it is reaped, so a broadcast in progress never sees the list
 * change under it. */
static void
room_on_closing(void *self, struct client *c)
{
	(void)c;
	((struct room *)self)->present--;
}

static void
room_on_leave(void *self, struct client *c)
{
	room_leave(self, c);
}

const struct proto room_proto = {
	.name = "chat",
	.backpressure = false,
	.refusal = CHAT_SERVER_FULL,
	.on_join = room_on_join,
	.on_line = room_on_line,
	.on_overlong = room_on_overlong,
	.on_farewell = room_on_farewell,
	.on_closing = room_on_closing,
	.on_leave = room_on_leave,
};
