/* proto.h - what a client's bytes mean: the table chat and echo fill in. */
#ifndef POLLSERV_PROTO_H
#define POLLSERV_PROTO_H

#include <stdbool.h>
#include <stddef.h>

struct client;
enum client_cause;

/*
 * The client state machine reads, frames, queues, sends and closes; what
 * the bytes mean is the protocol's business.  A client is given its
 * protocol (the table and the instance it belongs to, `self`: a chat room,
 * or nothing for echo) when it is adopted, and calls upward only through
 * it.  A second kind of chat room (one shared over a message bus) is one
 * more table like this, beside room.c's.
 *
 * A protocol either frames lines (on_line set: the client splits its input
 * at LF and calls on_line per line, on_overlong once per line that passed
 * --max-line) or takes raw bytes (on_data).  Hooks a protocol does not
 * need are NULL.
 */
struct proto {
	const char *name;
	/* Input is read only while the output buffer has room for it, and
	 * no further (echo: what comes in goes out, so the output cap is the
	 * backpressure limit). */
	bool	backpressure;
	/* Sent to a connection refused at the door, or NULL: say nothing. */
	const char *refusal;
	/* A new client: welcome it and tell the others.  -1 if it could not
	 * be admitted (out of memory; nothing was sent). */
	int	(*on_join)(void *self, struct client *c);
	void	(*on_line)(void *self, struct client *c, const char *line,
		    size_t len);
	void	(*on_overlong)(void *self, struct client *c);
	void	(*on_data)(void *self, struct client *c, const char *p,
		    size_t n);
	/* The server is about to stop reading c for this cause (a timeout,
	 * shutdown): the last words it queues before the drain. */
	void	(*on_farewell)(void *self, struct client *c,
		    enum client_cause why);
	/* A member became CLOSING: it no longer counts as present, but it
	 * stays a member (others are told it left) until on_leave. */
	void	(*on_closing)(void *self, struct client *c);
	/* A member leaves: when it lingers, or when it is reaped. */
	void	(*on_leave)(void *self, struct client *c);
};

#endif
