/* bus.h - the link to a Redis server: two connections, driven by our loop. */
#ifndef POLLSERV_BUS_H
#define POLLSERV_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net.h"

struct io_driver;
struct redisReply;

/*
 * hiredis's async API does the protocol; this file is its event-library
 * adapter and its lifecycle.  The two Redis sockets (one subscribed to the
 * room's channel, one for PUBLISH and the nick commands: a subscribed
 * connection may send nothing else) are two more nonblocking fds the
 * server's own driver watches through modify(); no second event library,
 * no threads.  Nothing here ever blocks the loop, save a bounded final
 * flush at exit: a lost or stalled Redis is the owner's news (up/down
 * callbacks, commands that are refused) and is retried with capped
 * exponential backoff.
 */

#define BUS_ROOM_MAX		64
#define BUS_BACKOFF_FIRST_MS	250
#define BUS_BACKOFF_MAX_MS	4000
/* A connection that is not up (connected and subscribed) by then is
 * given up and retried. */
#define BUS_CONNECT_TIMEOUT_MS	3000

struct bus_config {
	struct net_addr addr;
	char	room[BUS_ROOM_MAX + 1];	/* the channel; keys are prefixed */
	size_t	max_outbuf;		/* bytes queued for Redis, at most */
};

struct bus_stats {
	uint64_t published;	/* messages handed to Redis */
	uint64_t received;	/* other nodes' messages */
	uint64_t dropped;	/* not published: the link was down or full */
	uint64_t reconnects;	/* times the link came back */
};

/* What the owner (the bus room) hears. */
struct bus_events {
	void   *self;
	/* The link is up: connected twice and subscribed. */
	void	(*up)(void *self);
	/* It was up and is not any more (commands in flight get their
	 * callbacks with a NULL reply first). */
	void	(*down)(void *self);
	/* A message on the channel; true if it was another node's (counted
	 * as received), false for this node's own, which it ignores. */
	bool	(*message)(void *self, const char *msg, size_t len);
};

/* A command's reply, or NULL: the link went down or the bus is freed. */
typedef void bus_reply_fn(void *privdata, struct redisReply *reply);

struct bus;

/* Start connecting; NULL if out of memory. */
struct bus *bus_new(const struct bus_config *cfg, const struct io_driver *io,
	    void *io_state, const struct bus_events *ev);
/* Flush what is queued for at most a moment, then close both links; every
 * pending callback gets NULL. */
void	bus_free(struct bus *b);
bool	bus_up(const struct bus *b);
/* fd is one of the bus's sockets: handle its readiness and return true. */
bool	bus_dispatch(struct bus *b, int fd, int mask);
/* Write what is queued for Redis now, as far as the socket takes it,
 * instead of at the next writability event. */
void	bus_flush(struct bus *b);
/* Reconnect when the backoff is over; give up a connect that hangs. */
void	bus_tick(struct bus *b, int64_t now_ms);
/* Publish len bytes to the room's channel; -1 (counted as dropped) if the
 * link is down or its output is at the cap. */
int	bus_publish(struct bus *b, const char *msg, size_t len);
/* A command (argv, argc, with lengths); cb (may be NULL) gets the reply.  -1 if it could
 * not be queued (down or full): cb is not called then. */
int	bus_command(struct bus *b, bus_reply_fn *cb, void *privdata, int argc,
	    const char **argv, const size_t *argvlen);
const struct bus_stats *bus_stats(const struct bus *b);
/* " bus_published=N ..." for the stats line. */
void	bus_format_stats(const struct bus *b, char *out, size_t len);
const char *bus_room_name(const struct bus *b);

#endif
