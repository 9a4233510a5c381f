/* client.h - the one client state machine every driver runs. */
#ifndef POLLSERV_CLIENT_H
#define POLLSERV_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "chat.h"
#include "frame.h"

struct server;

/*
 * OPEN -> DRAINING -> LINGERING -> CLOSING; any state may go straight to
 * CLOSING.
 *
 * DRAINING: no more input is processed (the peer quit, sent FIN, timed
 * out, or the server is shutting down); the connection stays until its
 * output is flushed.
 * LINGERING: output is flushed and our FIN sent (shutdown SHUT_WR), but the
 * peer may still have bytes in flight.  Closing now, with unread input,
 * would make the kernel send RST, and an RST can destroy the "* bye" the
 * peer has not read yet.  So input is read and thrown away until the
 * peer's FIN or a short deadline.  The peer has left the room by then.
 * CLOSING: marked; the fd is untouched until the server reaps it after
 * the sweep, so nothing that is iterating ever sees freed memory.
 */
enum client_state {
	CLIENT_OPEN,
	CLIENT_DRAINING,
	CLIENT_LINGERING,
	CLIENT_CLOSING
};

struct client {
	int	fd;
	enum client_state state;
	int	interest;		/* IO_READ|IO_WRITE registered now */
	uint64_t serial;		/* connection number, from 1 */
	size_t	slot;			/* index in server.clients */
	bool	joined;			/* chat: others were told it joined */
	bool	queued_flush;		/* in server.flush this sweep */
	bool	queued_reap;		/* in server.reap */
	bool	peer_eof;		/* recv() returned 0: no need to linger */
	const char *close_reason;	/* why it is CLOSING, for the log */
	char	nick[CHAT_NICK_MAX + 1];
	struct framer framer;
	struct buf in;			/* chat: bytes not yet framed */
	struct buf out;			/* bytes not yet sent */
	int64_t	last_input_ms;		/* monotonic: for --idle-timeout */
	int64_t	partial_since_ms;	/* start of the unfinished line, or 0 */
	int64_t	drain_since_ms;		/* became DRAINING or LINGERING: both
					   are bounded in time */
};

/* Still in the room: counted by /who, holding its nick. */
bool	client_present(const struct client *c);

/* Readiness callbacks: the driver says when, these say what. */
void	client_on_readable(struct server *srv, struct client *c);
void	client_on_writable(struct server *srv, struct client *c);

/* Queue bytes for the client; on overflow the client is marked closing
 * (chat) and -1 is returned.  Never truncates. */
int	client_queue(struct server *srv, struct client *c, const void *p,
	    size_t n);
/* The one close path: mark, remember why, queue for reaping. */
void	client_close(struct server *srv, struct client *c, const char *reason);
/* Stop reading; close once pending output is flushed.  reason is kept
 * for the log line when it finally closes. */
void	client_drain(struct server *srv, struct client *c, const char *reason);

#endif
