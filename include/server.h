/* server.h - the listener, the client table and the sweep loop. */
#ifndef POLLSERV_SERVER_H
#define POLLSERV_SERVER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "io.h"
#include "log.h"
#include "net.h"
#include "nickset.h"
#include "options.h"
#include "stats.h"

/* Work one client may do in one sweep, so a flooder cannot starve the
 * rest: bytes read per client per sweep. */
#define SERVER_READ_BUDGET	(64 * 1024)
/* Bytes asked of one recv(): big enough to empty a loopback burst in a
 * few calls, small enough that the per-sweep budget is honoured. */
#define SERVER_RECV_CHUNK	(16 * 1024)
/* fds kept back from --max-clients for the listener, the wake pipe, the
 * log and the EMFILE reserve. */
#define SERVER_FD_RESERVE	16
/* How long shutdown waits for output to drain, in ms. */
#define SERVER_SHUTDOWN_MS	2000

struct server {
	struct config cfg;
	const struct io_driver *io;
	void   *io_state;
	int	listen_fd;
	int	wake_rd, wake_wr;	/* self-pipe: signals wake blocking drivers */
	int	reserve_fd;		/* spare fd given up on EMFILE */
	char	listen_name[NET_ADDR_LEN];

	struct client **clients;	/* dense: every client not yet reaped */
	size_t	nclients, clients_cap;
	struct client **by_fd;		/* fd -> client, NULL if none */
	size_t	by_fd_len;
	struct client **flush;		/* got output this sweep: try to send */
	size_t	nflush, flush_cap;
	struct client **reap;		/* marked CLOSING: free after the sweep */
	size_t	nreap, reap_cap;
	struct io_event *fired;
	int	max_fired;

	struct stats stats;
	uint64_t next_serial;
	bool	sweep_did_work;		/* for the backoff driver */
	bool	shutting_down;
	int64_t	shutdown_deadline_ms;
	int64_t	next_stats_ms;
	int64_t	next_tick_ms;		/* timeouts are checked once a second */
	int64_t	start_ms;
	int64_t	now_ms;			/* monotonic, read once per sweep */
	size_t	partial_count;		/* clients holding an unfinished line */
	int64_t	last_accept_warn_ms;
	int64_t	accept_resume_ms;	/* listener paused after EMFILE, or 0 */
	char   *scratch;		/* one formatted chat line */
	size_t	scratch_size;
	char   *rxbuf;			/* chat: every recv lands here first */
	/* Memory handed back after a burst of connections (server_trim). */
	uint64_t churn_seen;		/* accepted + closed at the last tick */
	uint64_t churn_trimmed;		/* accepted + closed at the last trim */
	size_t	draining_count;		/* DRAINING or LINGERING, for the tick */
	size_t	lingering_count;	/* LINGERING: out of the room already */
	struct nickset nicks;		/* chat: every nick in the room */
	struct log_limit client_log;	/* per-client events: rate-limited */
};

extern volatile sig_atomic_t server_stop_requested;
extern volatile sig_atomic_t server_stats_requested;

int	server_init(struct server *srv, const struct config *cfg, char *err,
	    size_t errlen);
/* Run until SIGINT/SIGTERM and a clean shutdown; 0 on success. */
int	server_run(struct server *srv);
/* One pass: wait, dispatch, flush, reap.  Exposed for state-machine tests. */
int	server_sweep(struct server *srv, int timeout_ms);
void	server_free(struct server *srv);
/* Take over an already connected fd, as if accepted (tests use this with
 * socketpair()).  NULL if refused; the fd is closed then. */
struct client *server_adopt(struct server *srv, int fd);
/* Recompute what the client wants from the driver and tell it if changed. */
void	server_update_interest(struct server *srv, struct client *c);
/* Remember a client whose output grew, to try a send after this sweep. */
void	server_queue_flush(struct server *srv, struct client *c);
void	server_print_stats(struct server *srv, const char *event);
int64_t	server_now_ms(void);
void	server_install_signals(struct server *srv);

#endif
