/* loop.h - the event loop: sweep, flush, reap, timers, signals. */
#ifndef POLLSERV_LOOP_H
#define POLLSERV_LOOP_H

#include <signal.h>

struct server;

/* SIGUSR1 stats lines at most this often; requests in between are
 * answered together, when the time comes. */
#define LOOP_SIGNAL_STATS_MS	100
/* Longest sleep between two failing wait() calls. */
#define LOOP_WAIT_ERROR_MAX_MS	100
/* Timeouts fired per pass: LOOP_TIMER_FANOUT / clients, at least
 * LOOP_TIMERS_MIN (see loop_run_timers). */
#define LOOP_TIMER_FANOUT	(512 * 1024)
#define LOOP_TIMERS_MIN		16

extern volatile sig_atomic_t loop_stop_requested;
extern volatile sig_atomic_t loop_stats_requested;

/* SIGINT/SIGTERM stop, SIGUSR1 prints stats; both wake a blocked driver
 * through the server's wake pipe.  SIGPIPE is ignored. */
void	loop_install_signals(struct server *srv);
/* Run until SIGINT/SIGTERM and a clean shutdown; 0 on success. */
int	loop_run(struct server *srv);
/* One pass: wait, dispatch, flush, reap.  Exposed for in-process tests. */
int	loop_sweep(struct server *srv, int timeout_ms);
/* Send what was queued and free what was closed, until neither is left. */
void	loop_settle(struct server *srv);
/* Once a second: every client's timers, then the heap trim. */
void	loop_tick(struct server *srv);
void	loop_print_stats(struct server *srv, const char *event);

#endif
