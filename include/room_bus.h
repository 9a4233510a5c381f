/* room_bus.h - a chat room shared by several servers over a Redis bus. */
#ifndef POLLSERV_ROOM_BUS_H
#define POLLSERV_ROOM_BUS_H

#include <stdbool.h>
#include <stddef.h>

#include "bus.h"
#include "client.h"
#include "proto.h"
#include "room.h"

/*
 * The second kind of room (docs/architecture.md): the server's own
 * struct room does the chat protocol as before, and this links it to the
 * other nodes.  What the room does locally is published (line, join,
 * leave, rename); what other nodes publish is delivered to the local
 * members in the same bytes; nicks are claimed in Redis, so they are
 * unique across nodes; each node's heartbeat keeps its nick keys alive
 * and tells the others it is there, so a node that dies has its users
 * announced gone within the TTL.  room_bus_proto is room_proto with the
 * asynchronous steps (a guest number, a nick claim) in front.
 */
struct room_bus;

struct room_bus_config {
	struct bus_config bus;
	unsigned ttl_ms;		/* nick keys, and how long a silent node
					   is believed */
};

extern const struct proto room_bus_proto;

/* Link room to the bus; NULL if out of memory.  Connects in the
 * background: until Redis answers, the room works on its own. */
struct room_bus *room_bus_new(struct room *room, struct client_ctx *ctx,
	    const struct room_bus_config *cfg, const struct io_driver *io,
	    void *io_state);
void	room_bus_free(struct room_bus *rb);
/* fd is a bus socket: handle it and return true. */
bool	room_bus_dispatch(struct room_bus *rb, int fd, int mask);
/* Send what was published this sweep (end of loop_settle). */
void	room_bus_flush(struct room_bus *rb);
/* Once a second: heartbeat, silent nodes, answers overdue, reconnect. */
void	room_bus_tick(struct room_bus *rb);
void	room_bus_format_stats(const struct room_bus *rb, char *out,
	    size_t len);

#endif
