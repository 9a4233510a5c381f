/* room.c - the chat protocol: welcome, relay, /nick, /who, /quit, leave. */
#include <stdio.h>
#include <string.h>

#include "chat.h"
#include "log.h"
#include "nickset.h"
#include "room.h"
#include "server.h"

/* Server lines are short except relays; those are built in srv->scratch,
 * which is sized for the longest legal line plus "<nick> " and LF. */
#define ROOM_NOTICE_MAX	(CHAT_NICK_MAX * 2 + 64)

static void
room_reply(struct server *srv, struct client *c, const char *msg)
{
	client_queue(srv, c, msg, strlen(msg));
}

void
room_broadcast(struct server *srv, const struct client *skip,
    const char *msg, size_t len)
{
	size_t i;

	/* client_queue may mark a slow reader CLOSING but never frees or
	 * reorders the table, so a plain index walk is safe. */
	for (i = 0; i < srv->nclients; i++) {
		struct client *other = srv->clients[i];

		if (other != skip && other->state == CLIENT_OPEN)
			client_queue(srv, other, msg, len);
	}
}

int
room_join(struct server *srv, struct client *c)
{
	char msg[ROOM_NOTICE_MAX];
	int n;

	if (nickset_add(&srv->nicks, c->nick, strlen(c->nick), c) == -1)
		return -1;
	c->joined = true;
	n = snprintf(msg, sizeof(msg), "* welcome, you are %s\n", c->nick);
	client_queue(srv, c, msg, (size_t)n);
	n = snprintf(msg, sizeof(msg), "* %s joined\n", c->nick);
	room_broadcast(srv, c, msg, (size_t)n);
	return 0;
}

void
room_leave(struct server *srv, struct client *c)
{
	char msg[ROOM_NOTICE_MAX];
	int n;

	nickset_remove(&srv->nicks, c->nick, strlen(c->nick), c);
	c->joined = false;
	if (srv->shutting_down)
		return;		/* nobody is left to tell */
	n = snprintf(msg, sizeof(msg), "* %s left\n", c->nick);
	room_broadcast(srv, c, msg, (size_t)n);
}

static void
room_nick(struct server *srv, struct client *c, const char *nick, size_t len)
{
	char msg[ROOM_NOTICE_MAX];
	size_t oldlen = strlen(c->nick);
	void *owner;
	int n;

	if (!chat_nick_valid(nick, len)) {
		room_reply(srv, c, "! invalid nick\n");
		return;
	}
	/* guest<N> names are the server's, so automatic names never clash;
	 * a client may only "take" its own. */
	owner = nickset_find(&srv->nicks, nick, len);
	if ((owner != NULL && owner != c) || (chat_nick_reserved(nick, len) &&
	    !chat_nick_equal(nick, len, c->nick, oldlen))) {
		room_reply(srv, c, "! nick taken\n");
		return;
	}
	/* Drop the old name first: "alice" -> "Alice" is the same key. */
	nickset_remove(&srv->nicks, c->nick, oldlen, c);
	if (nickset_add(&srv->nicks, nick, len, c) == -1) {
		c->joined = false;	/* not in the set: nothing to remove */
		srv->stats.oom_closed++;
		log_limited(&srv->client_log, LOG_WARN, srv->now_ms,
		    "closing %s (fd %d): out of memory for the nick table",
		    c->nick, c->fd);
		client_close(srv, c, "out of memory");
		return;
	}
	n = snprintf(msg, sizeof(msg), "* %s is now %.*s\n", c->nick,
	    (int)len, nick);
	memcpy(c->nick, nick, len);
	c->nick[len] = '\0';
	room_broadcast(srv, NULL, msg, (size_t)n);
}

static void
room_who(struct server *srv, struct client *c)
{
	char msg[32 + CHAT_WHO_MAX * (CHAT_NICK_MAX + 1) + 8];
	size_t i, len, listed = 0;

	/* Everyone but those closing (all on the reap list) or lingering
	 * (already gone from the room): no walk over the whole table. */
	len = (size_t)snprintf(msg, sizeof(msg), "* users (%zu):",
	    srv->nclients - srv->nreap - srv->lingering_count);
	for (i = 0; i < srv->nclients; i++) {
		const struct client *other = srv->clients[i];

		if (!client_present(other))
			continue;
		if (listed == CHAT_WHO_MAX) {
			len += (size_t)snprintf(msg + len, sizeof(msg) - len,
			    " ...");
			break;
		}
		len += (size_t)snprintf(msg + len, sizeof(msg) - len, " %s",
		    other->nick);
		listed++;
	}
	msg[len++] = '\n';
	client_queue(srv, c, msg, len);
}

static void
room_relay(struct server *srv, struct client *c, const char *line,
    size_t len)
{
	size_t nick = strlen(c->nick), n = nick + len + 3;
	char *p = srv->scratch;

	/* "<nick> text\n", built once and appended to every other client. */
	p[0] = '<';
	memcpy(p + 1, c->nick, nick);
	p[nick + 1] = '>';
	p[nick + 2] = ' ';
	memcpy(p + nick + 3, line, len);
	p[n] = '\n';
	room_broadcast(srv, c, p, n + 1);
}

void
room_line(struct server *srv, struct client *c, const char *line, size_t len)
{
	struct chat_command cmd = chat_parse(line, len);

	srv->stats.lines++;
	switch (cmd.kind) {
	case CHAT_EMPTY:
		break;
	case CHAT_MESSAGE:
		room_relay(srv, c, line, len);
		break;
	case CHAT_NICK:
		room_nick(srv, c, cmd.arg, cmd.arg_len);
		break;
	case CHAT_WHO:
		room_who(srv, c);
		break;
	case CHAT_QUIT:
		room_reply(srv, c, "* bye\n");
		client_drain(srv, c, "quit");
		break;
	case CHAT_UNKNOWN:
		room_reply(srv, c, "! unknown command\n");
		break;
	}
}
