/* workers.h - --workers N: N server processes on one port, supervised. */
#ifndef POLLSERV_WORKERS_H
#define POLLSERV_WORKERS_H

#include "options.h"

/* How long a starting worker may take to say it is listening. */
#define WORKERS_READY_MS	10000
/* A worker that dies sooner than this after its start is restarted after
 * a growing delay (up to WORKERS_RESTART_MAX_MS), not at once. */
#define WORKERS_STABLE_MS	1000
#define WORKERS_RESTART_MAX_MS	5000

/*
 * One worker: run a server on cfg (cfg->worker_id is its number, from 1)
 * until it is told to stop, and write one byte to ready_fd as soon as it
 * listens (before that, an exit is a failure to start).  Returns the exit
 * code.
 */
typedef int workers_body_fn(struct config *cfg, int ready_fd);

/*
 * The parent: hold the port (so port 0 gives all workers the same one and
 * a restarted worker gets it back), start cfg->workers processes running
 * body, print the one `listening on` line once they all listen, then
 * supervise: restart a worker that dies (logging why), pass SIGTERM, SIGINT
 * and SIGUSR1 on, and return 0 once every worker has exited after a stop
 * signal.  1 if the port or a first worker fails.
 */
int	workers_run(struct config *cfg, workers_body_fn *body);

#endif
