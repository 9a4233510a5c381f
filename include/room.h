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
struct room {
	struct client_ctx *ctx;		/* the clock, counters and log */
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
/* Send a server line to every OPEN member except skip (may be NULL). */
void	room_broadcast(struct room *r, const struct client *skip,
	    const char *msg, size_t len);

#endif
