/* room.c - the chat protocol: welcome, relay, /nick, /who, /quit, leave. */
#include <stdio.h>
#include <string.h>

#include "chat.h"
#include "log.h"
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

void
room_join(struct server *srv, struct client *c)
{
	char msg[ROOM_NOTICE_MAX];
	int n;

	n = snprintf(msg, sizeof(msg), "* welcome, you are %s\n", c->nick);
	client_queue(srv, c, msg, (size_t)n);
	n = snprintf(msg, sizeof(msg), "* %s joined\n", c->nick);
	room_broadcast(srv, c, msg, (size_t)n);
	c->joined = true;
}

void
room_leave(struct server *srv, struct client *c)
{
	char msg[ROOM_NOTICE_MAX];
	int n;

	n = snprintf(msg, sizeof(msg), "* %s left\n", c->nick);
	room_broadcast(srv, c, msg, (size_t)n);
}

static bool
room_nick_taken(struct server *srv, const struct client *self,
    const char *nick, size_t len)
{
	size_t i;

	/* Reserved names keep the automatic guest<N> names unique. */
	if (chat_nick_reserved(nick, len))
		return !chat_nick_equal(nick, len, self->nick,
		    strlen(self->nick));
	/* Linear: /nick is rare next to relaying, and a hash would have to
	 * be kept in step on every join and leave. */
	for (i = 0; i < srv->nclients; i++) {
		const struct client *other = srv->clients[i];

		if (other != self && client_present(other) &&
		    chat_nick_equal(nick, len, other->nick, strlen(other->nick)))
			return true;
	}
	return false;
}

static void
room_nick(struct server *srv, struct client *c, const char *nick, size_t len)
{
	char msg[ROOM_NOTICE_MAX];
	int n;

	if (!chat_nick_valid(nick, len)) {
		room_reply(srv, c, "! invalid nick\n");
		return;
	}
	if (room_nick_taken(srv, c, nick, len)) {
		room_reply(srv, c, "! nick taken\n");
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
	size_t i, len, listed = 0, present = 0;

	for (i = 0; i < srv->nclients; i++)
		if (client_present(srv->clients[i]))
			present++;
	len = (size_t)snprintf(msg, sizeof(msg), "* users (%zu):", present);
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
