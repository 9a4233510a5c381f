/* harness.h - the server core in this process, swept by the test itself. */
#ifndef POLLSERV_HARNESS_H
#define POLLSERV_HARNESS_H

#include <stdbool.h>

#include "client.h"
#include "options.h"
#include "server.h"

/*
 * The state-machine tests (check_client.c), the fault tests
 * (check_faults.c) and the room tests (check_room.c) all run a real server
 * core here: server_init on 127.0.0.1:0 (nobody connects there unless a
 * test does) with the busy driver, clients adopted from socketpair() ends,
 * and every sweep turned by the test with loop_sweep(&hx_srv, 0).  So a
 * reply can be asserted byte for byte with no timing at all, and "nothing
 * arrives" after a fixed number of sweeps is deterministic.
 */

#define HX_DEADLINE	5000	/* ms of sweeping before giving up */

extern struct server hx_srv;

/* The defaults of the command line, plus 127.0.0.1:0 and the busy driver. */
void	hx_config(struct config *cfg, enum server_mode mode);
/* server_init(cfg), asserted.  One server at a time. */
void	hx_start(const struct config *cfg);
/* Back to the real system calls, and free the server if one is up. */
void	hx_stop(void);
/* A socketpair; the server adopts one end as if accepted, the test keeps
 * the other (returned).  sndbuf > 0 shrinks the server end's send buffer
 * (a small pipe towards a reader that stalls).  *cp (may be NULL) gets the
 * client, NULL if the server refused it; *srv_fd (may be NULL) the fd the
 * server holds. */
int	hx_pair(int sndbuf, struct client **cp, int *srv_fd);
void	hx_sweeps(int n);
/* Sweep until done(arg) says so or timeout_ms passes; done is asked after
 * every sweep.  Returns what done said last. */
bool	hx_sweep_until(bool (*done)(void *arg), void *arg, int timeout_ms);

#endif
