/* loop.h - the event loop: sweep, flush, reap, timers, signals. */
#ifndef POLLSERV_LOOP_H
#define POLLSERV_LOOP_H

#include <signal.h>

struct server;

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
