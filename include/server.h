/* server.h - the server's state: listener, client table, protocol, timers. */
#ifndef POLLSERV_SERVER_H
#define POLLSERV_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "io.h"
#include "net.h"
#include "options.h"
#include "proto.h"
#include "room.h"
#include "room_bus.h"
#include "stats.h"

/* fds kept back from --max-clients for the listener, the wake pipe, the
 * log and the EMFILE reserve. */
#define SERVER_FD_RESERVE	16
/* How long shutdown waits for output to drain, in ms. */
#define SERVER_SHUTDOWN_MS	2000
/* How long a closing connection may take to flush when --line-timeout is
 * off (otherwise --line-timeout bounds it). */
#define SERVER_DRAIN_MS		30000

/*
 * Three files work on this struct, along its seams: server.c builds and
 * frees it and starts the shutdown; listen.c admits connections
 * (accept, adopt, refuse, fd exhaustion); loop.c runs it (sweep, flush,
 * reap, timers, signals).  Clients reach none of it: they get `ctx`.
 */
struct server {
	struct config cfg;
	const struct io_driver *io;
	void   *io_state;
	int	listen_fd;
	int	wake_rd, wake_wr;	/* self-pipe: signals wake blocking drivers */
	int	reserve_fd;		/* spare fd given up on EMFILE */
	char	listen_name[NET_ADDR_LEN];

	struct client **clients;	/* dense: every client not yet reaped */
	size_t	nclients;
	struct client **by_fd;		/* fd -> client, NULL if none */
	size_t	by_fd_len;
	struct io_event *fired;
	int	max_fired;

	struct client_ctx ctx;		/* what the clients see of the server */
	const struct proto *proto;	/* given to every adopted client */
	void   *proto_self;		/* &room in chat mode, NULL for echo */
	struct room room;		/* chat: the one room */
	struct room_bus *bus_room;	/* --bus: the room's link, or NULL */

	struct stats stats;
	uint64_t next_serial;
	uint64_t work_seen;		/* loop: work counters at the last wait */
	int64_t	shutdown_deadline_ms;
	int64_t	next_stats_ms;
	int64_t	next_tick_ms;		/* timeouts are checked once a second */
	int64_t	start_ms;
	int64_t	last_accept_warn_ms;
	int64_t	accept_resume_ms;	/* listener paused after EMFILE, or 0 */
	struct log_limit error_log;	/* the loop's and listener's errors */
	unsigned wait_failures;		/* wait() failures in a row */
	int64_t	signal_stats_ms;	/* the last SIGUSR1 stats line */
	size_t	timer_next;		/* loop_run_timers: where it resumes */
	bool	timers_pending;		/* ... and that it has to */
	bool	paused_seen;		/* ctx.input_paused, as last synced */
	uint64_t pauses_seen;		/* stats.mem_paused, as last synced */
	/* Memory handed back after a burst of connections (loop.c). */
	uint64_t churn_seen;		/* accepted + closed at the last tick */
	uint64_t churn_trimmed;		/* accepted + closed at the last trim */
};

/* Listen, start the driver, allocate every table for cfg->max_clients.
 * Call listen_fit_fd_limit() on cfg first to size it to the fd limit. */
int	server_init(struct server *srv, const struct config *cfg, char *err,
	    size_t errlen);
void	server_free(struct server *srv);
/* SIGINT/SIGTERM: stop listening, tell every client and start draining
 * them.  The loop flushes and reaps, and ends at SERVER_SHUTDOWN_MS. */
void	server_begin_shutdown(struct server *srv);
int64_t	server_now_ms(void);

#endif
