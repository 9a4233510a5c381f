/* client.h - the one client state machine every driver and protocol runs. */
#ifndef POLLSERV_CLIENT_H
#define POLLSERV_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "chat.h"
#include "frame.h"
#include "log.h"

struct io_driver;
struct proto;
struct stats;

/* Work one client may do in one sweep, so a flooder cannot starve the
 * rest: bytes read per client per sweep... */
#define CLIENT_READ_BUDGET	(64 * 1024)
/*
 * ...and, because reading is cheap and what a line makes the server do is
 * not, the work its lines cause: every byte queued to anyone (the fan-out:
 * a relayed line costs its length times the room) plus CLIENT_LINE_COST
 * per line framed, whatever it does.  The first line of a turn is always
 * handled; once the sum reaches CLIENT_TURN_BUDGET the turn ends and the
 * rest of the input waits, framed, for the client's next turn (and what
 * is still in the kernel stays there: TCP slows the sender down).  So a
 * flooder is slowed in proportion to its fan-out and everyone else gets a
 * turn every sweep.  Measured with bench/attack.py (burst and flood into
 * 1,000 listeners; README, "Limits"): 256 KiB keeps every sweep within a
 * few ms (probe gaps <= 0.03 s) at the fewest send() calls per relayed
 * byte; 64 KiB and 16 KiB were no fairer but cost the burst 3x and 8x the
 * server CPU (one send() per receiver per sweep, for fewer bytes each).
 */
#ifndef CLIENT_TURN_BUDGET	/* -D for bench/attack.py's comparisons */
#define CLIENT_TURN_BUDGET	(256 * 1024)
#endif
#define CLIENT_LINE_COST	64
/* Bytes sent to one client per sweep.  Copying into socket buffers is the
 * flush's real work: one 1 MB broadcast to 2,000 clients whose kernel
 * buffers take most of it is 2 GB of copying, seconds in one sweep.  In
 * slices of this size the others get their turn in between. */
#define CLIENT_SEND_BUDGET	(64 * 1024)
/* Bytes asked of one recv(): big enough to empty a loopback burst in a
 * few calls, small enough that the per-sweep budget is honoured.  Also the
 * size of the shared receive buffer. */
#define CLIENT_RECV_CHUNK	(16 * 1024)
/* How long a lingering close waits for the peer's FIN. */
#define CLIENT_LINGER_MS	2000

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
 * CLOSING: marked; the fd is untouched until the owner reaps it after
 * the sweep (client_free), so nothing that is iterating ever sees freed
 * memory.
 */
enum client_state {
	CLIENT_OPEN,
	CLIENT_DRAINING,
	CLIENT_LINGERING,
	CLIENT_CLOSING
};

/* Why a client drains or closes.  client_cause_text() is the log text. */
enum client_cause {
	CLOSE_NONE,
	CLOSE_QUIT,		/* /quit or exit */
	CLOSE_EOF,		/* the peer half-closed */
	CLOSE_IDLE_TIMEOUT,
	CLOSE_LINE_TIMEOUT,
	CLOSE_DRAIN_TIMEOUT,	/* closing, but its output was never taken */
	CLOSE_SHUTDOWN,		/* SIGINT/SIGTERM */
	CLOSE_SHUTDOWN_TIMEOUT,	/* still there when the shutdown flush ended */
	CLOSE_SLOW_READER,	/* output passed --max-outbuf */
	CLOSE_MEMORY,		/* the most output while all passed --max-memory */
	CLOSE_FD_LIMIT,		/* newest past a lowered open file limit */
	CLOSE_OOM,		/* a buffer or table could not grow */
	CLOSE_DRIVER_ERROR,	/* the driver refused an interest change */
	CLOSE_RESET,		/* ECONNRESET / EPIPE */
	CLOSE_RECV_ERROR,
	CLOSE_SEND_ERROR,
	CLOSE_NCAUSES
};

/* The queues a client puts itself on; sized for every client at once by
 * the owner, so queueing never allocates. */
struct client_list {
	struct client **items;
	size_t	len;
};

/*
 * What a client needs from whoever runs it, instead of the whole server:
 * the clock, the counters, the log limiter, the shared receive buffer,
 * the driver to tell about interest changes, the flush and reap queues,
 * and the limits.  The owner (server.c) fills it in; the loop reads it.
 */
struct client_ctx {
	const struct io_driver *io;
	void   *io_state;
	struct stats *stats;
	struct log_limit log;		/* per-client events: rate-limited */
	int64_t	now_ms;			/* monotonic, read once per sweep */
	char   *rxbuf;			/* CLIENT_RECV_CHUNK: every recv lands
					   here first */
	struct client_list flush;	/* got output this sweep: try to send */
	struct client_list reap;	/* CLOSING: free after the sweep */
	struct client_list backlog;	/* input framed but not yet handled:
					   turn again next sweep */
	/* The owner's table of every client, for client_shed_output(), and
	 * scratch room to sort it in. */
	struct client **table;
	const size_t *table_len;
	struct client **scratch;
	/* A sweep gives every client one turn, and the end-of-sweep flush
	 * sends to each at most once: both are stamped with `round`, which
	 * the loop bumps once per sweep (and once per tick). */
	uint64_t round;
	uint64_t queued;		/* bytes ever queued to anyone */
	uint64_t turn_queued;		/* `queued` when this turn began */
	size_t	turn_lines;		/* lines framed in this turn */
	/* --max-memory: every output buffer's allocation, together (the
	 * current value and peak are in stats).  See client_shed_output. */
	size_t	max_memory;
	bool	input_paused;		/* past the pause mark: nobody is read */
	int64_t	paused_since_ms;	/* when input_paused was set */
	size_t	partial_count;		/* clients holding an unfinished line */
	size_t	draining_count;		/* DRAINING or LINGERING: timers armed */
	uint64_t discarded;		/* input bytes dropped while lingering */
	bool	shutting_down;		/* no lingering, no drain timeout */
	size_t	max_line;
	size_t	max_outbuf;
	int64_t	idle_ms, line_ms;	/* --idle-timeout, --line-timeout; 0 off */
	int64_t	drain_ms;		/* how long a closing client may flush */
};

struct client {
	int	fd;
	enum client_state state;
	enum client_cause cause;	/* why it drains or closes */
	int	interest;		/* IO_READ|IO_WRITE registered now */
	uint64_t serial;		/* connection number, from 1 */
	size_t	slot;			/* index in the owner's client table */
	size_t	member_slot;		/* index in its protocol's member list */
	bool	member;			/* in that list: others were told it
					   joined and will be told it left */
	bool	queued_flush;		/* in ctx->flush this sweep */
	bool	queued_reap;		/* in ctx->reap */
	bool	peer_eof;		/* recv() returned 0: no need to linger */
	bool	backlogged;		/* c->in holds lines its turn ran out
					   before */
	bool	queued_backlog;		/* in ctx->backlog */
	uint64_t turn_round;		/* ctx->round of its last turn */
	uint64_t sent_round;		/* ctx->round of its last flush */
	bool	held;			/* its protocol awaits an answer for it
					   (a nick claim on the bus): no more
					   input is read or handled until
					   client_resume() */
	struct client_ctx *ctx;
	const struct proto *proto;
	void   *proto_self;		/* the protocol instance: its room */
	void   *proto_data;		/* the protocol's own per-client state */
	char	nick[CHAT_NICK_MAX + 1];
	struct framer framer;
	struct buf in;			/* framed protocols: an unfinished line */
	struct buf out;			/* bytes not yet sent */
	int64_t	last_input_ms;		/* monotonic: for --idle-timeout */
	int64_t	partial_since_ms;	/* start of the unfinished line, or 0 */
	int64_t	drain_since_ms;		/* became DRAINING or LINGERING: both
					   are bounded in time */
};

/* A client on fd, OPEN, named guest<serial>, speaking proto; NULL if out
 * of memory (the fd is left alone then). */
struct client *client_new(struct client_ctx *ctx, int fd, uint64_t serial,
	    const struct proto *proto, void *proto_self);
/* The one free path, after the owner took it out of its tables: a
 * graceful close first reads away unread input, then the fd is closed. */
void	client_free(struct client *c);

/* Still in the room: counted by /who, holding its nick. */
bool	client_present(const struct client *c);
/* What the driver should watch, from state and buffers alone. */
int	client_interest(const struct client *c);
/* Tell the driver if client_interest() changed. */
void	client_sync_interest(struct client *c);
const char *client_cause_text(enum client_cause cause);

/* Readiness callbacks: the driver says when, these say what. */
void	client_on_readable(struct client *c);
void	client_on_writable(struct client *c);
/* Once a second: lingering, drain, line and idle deadlines.  true if one
 * fired (the client drains or closes now). */
bool	client_tick(struct client *c);
/* The loop's pass over ctx->backlog: each client there takes its turn,
 * unless it had one in this round already. */
void	client_run_backlog(struct client_ctx *ctx);

/* Stop handling c's input until client_resume (c->held): what was read
 * already waits in its input buffer. */
void	client_hold(struct client *c);
/* The answer came: the input that waited is handled in its next turn
 * (the backlog), then it is read again. */
void	client_resume(struct client *c);

/* Queue bytes for the client; on overflow the client is marked closing
 * (slow reader) and -1 is returned.  Never truncates. */
int	client_queue(struct client *c, const void *p, size_t n);
/* Remember a client whose output grew, to try a send after this sweep. */
void	client_queue_flush(struct client *c);
/* The one close path: mark, remember why, queue for reaping. */
void	client_close(struct client *c, enum client_cause cause);
/* Stop reading; close once pending output is flushed. */
void	client_drain(struct client *c, enum client_cause cause);
/* The server drains c for why: its protocol says goodbye first. */
void	client_farewell(struct client *c, enum client_cause why);
/* Something could not grow for c: log it, count it, close it. */
void	client_out_of_memory(struct client *c, const char *what);

/*
 * --max-memory, the bound on every client's output buffers together
 * (stats outbuf=, outbuf_peak=):
 *  - at CLIENT_MEM_PAUSE of it nobody is read any more (input_paused):
 *    the sources of fan-out stop, and the receivers drain;
 *  - reading resumes below CLIENT_MEM_RESUME of it;
 *  - an append that would pass the bound itself, or a pause that still
 *    holds CLIENT_MEM_GRACE_MS later (the receivers are not draining),
 *    disconnects the clients holding the most pending output, biggest
 *    first, until the total is under the resume mark (CLOSE_MEMORY,
 *    stats mem_closed).
 * Fractions of max_memory, as numerator / 8.
 */
#define CLIENT_MEM_PAUSE	6	/* 3/4 */
#define CLIENT_MEM_RESUME	4	/* 1/2 */
/* How long a pause may last before the biggest holders go: long enough
 * for readers to drain a burst, short enough that the room (nobody is
 * read meanwhile) barely notices. */
#define CLIENT_MEM_GRACE_MS	250
void	client_shed_output(struct client_ctx *ctx, size_t target);
/* After every sweep: the grace half of the rule above. */
void	client_memory_tick(struct client_ctx *ctx);
/* Bytes of output c holds (allocated), what the shedding sorts by. */
size_t	client_outbuf(const struct client *c);

#endif
