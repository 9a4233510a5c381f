/* room.h - the chat protocol: what each line means and who hears it. */
#ifndef POLLSERV_ROOM_H
#define POLLSERV_ROOM_H

#include <stddef.h>

struct server;
struct client;

/* A client was admitted: take its guest nick, welcome it and tell the
 * others.  -1 if the nick table could not grow (nothing was sent). */
int	room_join(struct server *srv, struct client *c);
/* One complete line from c (CR/LF stripped). */
void	room_line(struct server *srv, struct client *c, const char *line,
	    size_t len);
/* c leaves (lingering or reaped): free its nick and, unless the server is
 * shutting down, tell the others. */
void	room_leave(struct server *srv, struct client *c);
/* Send a server line to every OPEN client except skip (may be NULL). */
void	room_broadcast(struct server *srv, const struct client *skip,
	    const char *msg, size_t len);

#endif
