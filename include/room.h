/* room.h - a chat room: its members, their nicks, and what each line means. */
#ifndef POLLSERV_ROOM_H
#define POLLSERV_ROOM_H

#include <stddef.h>

#include "client.h"
#include "nickset.h"
#include "proto.h"

/*
 * A room is a value: it owns its member list, its nick table, its member
 * count and the scratch buffer relays are built in, and reaches its
 * members only through the client API.  The server holds one; the chat
 * protocol (room_proto) is this table with the room as `self`.  A room
 * shared over a message bus would be a second struct and table beside
 * this one, with the same client-facing behaviour.
 */
/*
 * A room shared with other servers (room_bus.c) is this room plus a link:
 * the room does everything it does alone, and tells the link what
 * happened so it can be published; /nick asks the link first, since a nick
 * must be free on every node; /who adds the users on the other nodes.
 */
struct room_link {
	void   *self;
	/* After the room did it locally: */
	void	(*joined)(void *self, const struct client *c);
	void	(*left)(void *self, const struct client *c);
	void	(*renamed)(void *self, const struct client *c, const char *old);
	void	(*said)(void *self, const struct client *c, const char *line,
		    size_t len);
	/* "/nick NAME" passed the local checks.  true: the link claims it
	 * and holds c until the answer (then room_rename, or
	 * CHAT_NICK_TAKEN); false: rename now. */
	bool	(*claim)(void *self, struct client *c, const char *nick,
		    size_t len);
	const struct nickset *remote;	/* the other nodes' users */
};

struct room {
	struct client_ctx *ctx;
	const struct room_link *link;	/* NULL: a room on its own */		/* the clock, counters and log */
	struct client **members;	/* dense, swap-remove on leave */
	size_t	nmembers, cap;
	size_t	present;		/* members not CLOSING: /who's count */
	struct nickset nicks;		/* every member's nick */
	char   *scratch;		/* one relayed line is built here */
	size_t	scratch_size;
};

extern const struct proto room_proto;

/* Room for max_members, relaying lines of up to max_line bytes; -1 if out
 * of memory (nothing to free then). */
int	room_init(struct room *r, struct client_ctx *ctx, size_t max_members,
	    size_t max_line);
void	room_free(struct room *r);
/* c was admitted: give it its guest nick, welcome it and tell the others.
 * -1 if the nick table could not grow (nothing was sent). */
int	room_join(struct room *r, struct client *c);
/* One complete line from c (CR/LF stripped). */
void	room_line(struct room *r, struct client *c, const char *line,
	    size_t len);
/* c leaves (lingering or reaped): free its nick and, unless the server is
 * shutting down, tell the others. */
void	room_leave(struct room *r, struct client *c);
/* Rename c to nick (checked and, with a link, claimed): the others are
 * told "* old is now new". */
void	room_rename(struct room *r, struct client *c, const char *nick,
	    size_t len);
/* What the room sends for another node's member: its line, its arrival,
 * its departure, its new name.  The same bytes as for a local member. */
void	room_relay_as(struct room *r, const struct client *skip,
	    const char *nick, const char *line, size_t len);
void	room_tell_joined(struct room *r, const struct client *skip,
	    const char *nick);
void	room_tell_left(struct room *r, const struct client *skip,
	    const char *nick);
void	room_tell_renamed(struct room *r, const char *old, const char *nick,
	    size_t len);
/* Send a server line to every OPEN member except skip (may be NULL). */
void	room_broadcast(struct room *r, const struct client *skip,
	    const char *msg, size_t len);

#endif
