/* listen.h - admitting connections: accept, adopt, refuse, fd exhaustion. */
#ifndef POLLSERV_LISTEN_H
#define POLLSERV_LISTEN_H

#include "options.h"

struct server;
struct client;

/* Connections taken off the listener per sweep, so a connect storm cannot
 * starve the clients already here. */
#define LISTEN_ACCEPT_BATCH	256
/* How long the listener is ignored when fds ran out and no spare fd was
 * left to refuse the connection with. */
#define LISTEN_PAUSE_MS		100

/* Raise the soft fd limit to the hard one, then lower cfg->max_clients
 * (with a log line) until it fits under it with SERVER_FD_RESERVE fds to
 * spare.  Before server_init. */
void	listen_fit_fd_limit(struct config *cfg);
/*
 * The soft fd limit may be lowered while the server runs (prlimit --pid),
 * under the number of fds the driver watches: poll() then fails with
 * EINVAL on every call.  The newest clients past the limit (less
 * SERVER_FD_RESERVE) are told "! server full" and closed, so the driver
 * works again.  Admission needs no such cap: accept() fails with EMFILE,
 * and listen_accept refuses, until fds free up or the limit returns.
 */
void	listen_shed_past_fd_limit(struct server *srv);
/* The listener is readable: take up to LISTEN_ACCEPT_BATCH connections. */
void	listen_accept(struct server *srv);
/* Take over an already connected fd, as if accepted (tests use this with
 * socketpair()).  NULL if refused; the fd is closed then. */
struct client *listen_adopt(struct server *srv, int fd);
/* The pause after fd exhaustion is over: watch the listener again. */
void	listen_resume(struct server *srv);

#endif
