/* io_blocking.h - what the process-per-client and thread-per-client models
 * share: the acceptor loop, the stats line and the blocking echo. */
#ifndef POLLSERV_IO_BLOCKING_H
#define POLLSERV_IO_BLOCKING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "options.h"
#include "stats.h"

/* Bytes asked of one recv(), the same as the readiness server's. */
#define BLOCKING_CHUNK		(16 * 1024)
/* How long shutdown waits for the connections to finish, in ms. */
#define BLOCKING_SHUTDOWN_MS	2000

/*
 * What one connection did, sent over the tally pipe to the acceptor when
 * it ends (a pipe write of this size is atomic, so records from many
 * processes or threads never interleave).
 */
struct blocking_tally {
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t wouldblock;	/* recv/send said EAGAIN (or a fault shim did) */
	uint64_t timeouts;	/* closed by --idle-timeout */
};

/*
 * Echo on a blocking, connected socket until the peer's FIN, an error or
 * --idle-timeout: every chunk read is written back whole before the next
 * read, so a peer that stops reading stops its own input (the kernel's
 * backpressure).  At the FIN nothing is pending any more: it shuts the
 * write side so the peer reads EOF after the last byte.  The fd stays
 * open for the caller to close.  Returns why it stopped, for the log.
 */
const char *blocking_echo(int fd, unsigned idle_timeout,
	    struct blocking_tally *t);
/* Send the tally to the acceptor (blocking write of one record). */
void	blocking_report(int tally_fd, const struct blocking_tally *t);

struct blocking_server;

/* What a model plugs into the acceptor loop. */
struct blocking_model {
	const char *unit;	/* "process" or "thread", for the log */
	/* Serve fd on its own from now on, reporting on bs->tally_wr when
	 * done.  0, or -1 with errno set (fd is still the caller's). */
	int	(*start)(struct blocking_server *bs, int fd);
	/* Connections still being served (not yet reaped). */
	size_t	(*live)(struct blocking_server *bs);
	/* After every wakeup: collect what finished (fork: waitpid). */
	void	(*reap)(struct blocking_server *bs);
	/* Shut every connection down: !force at SIGTERM, force when the
	 * shutdown deadline has passed. */
	void	(*stop)(struct blocking_server *bs, bool force);
	bool	closed_by_reap;	/* reap() counts stats.closed (fork: a child
				 * counts as closed once it is reaped) */
	bool	cpu_children;	/* add reaped children's CPU to the stats */
};

struct blocking_server {
	struct config cfg;	/* main has fitted max_clients to the fd limit */
	const struct blocking_model *model;
	void   *state;		/* the model's */
	int	listen_fd;
	int	tally_rd, tally_wr;
	struct stats stats;
	int64_t	start_ms;
	uint64_t tallies;	/* records read from the tally pipe */
	int64_t	last_refuse_log_ms;
	bool	child_exited;	/* SIGCHLD seen: the model should reap */
};

/* Listen, print the listening line, accept until SIGTERM/SIGINT, shut
 * down; returns the exit code.  state is the model's, in bs->state. */
int	blocking_serve(const struct config *cfg,
	    const struct blocking_model *model, void *state);

#endif
