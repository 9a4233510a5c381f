/* listen.c - admitting connections: accept, adopt, refuse, fd exhaustion. */
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "listen.h"
#include "log.h"
#include "net.h"
#include "proto.h"
#include "server.h"
#include "sysio.h"

void
listen_fit_fd_limit(struct config *cfg)
{
	struct rlimit rl;
	long limit, fit;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? 1 << 20 :
		    rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	limit = net_fd_limit();
	if (cfg->max_clients <= limit - SERVER_FD_RESERVE)
		return;
	fit = limit - SERVER_FD_RESERVE;
	if (fit < 1)
		fit = 1;
	log_info("--max-clients lowered from %ld to %ld: the open file "
	    "limit is %ld and %d fds are kept in reserve", cfg->max_clients,
	    fit, limit, SERVER_FD_RESERVE);
	cfg->max_clients = fit;
}

/* Newest first. */
static int
listen_cmp_newest(const void *a, const void *b)
{
	const struct client *x = *(struct client *const *)a;
	const struct client *y = *(struct client *const *)b;

	return x->serial < y->serial ? 1 : x->serial > y->serial ? -1 : 0;
}

/* Tell the newest clients past cap that the server is full and close
 * them: their fds must go now, not after a flush. */
static void
listen_shed_newest(struct server *srv, long cap)
{
	const char *refusal = srv->proto->refusal;
	struct client **v = srv->ctx.scratch;
	size_t i, n = 0, open = 0;

	for (i = 0; i < srv->nclients; i++)
		if (srv->clients[i]->state != CLIENT_CLOSING)
			v[n++] = srv->clients[i];
	if (n <= (size_t)cap)
		return;
	qsort(v, n, sizeof(*v), listen_cmp_newest);
	for (i = 0; i < n && n - open > (size_t)cap; i++, open++) {
		if (refusal != NULL)
			(void)!sysio.send(v[i]->fd, refusal, strlen(refusal),
			    MSG_NOSIGNAL | MSG_DONTWAIT);
		srv->stats.fd_closed++;
		client_close(v[i], CLOSE_FD_LIMIT);
	}
	log_limited(&srv->error_log, LOG_WARN, srv->ctx.now_ms,
	    "the open file limit was lowered under what the %s driver "
	    "watches: closed the %zu newest clients, %ld stay",
	    srv->io->name, open, cap);
}

void
listen_shed_past_fd_limit(struct server *srv)
{
	struct rlimit rl;
	long cap;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > LONG_MAX)
		return;
	cap = (long)rl.rlim_cur - SERVER_FD_RESERVE;
	if (cap < 1)
		cap = 1;
	listen_shed_newest(srv, cap);
}

/* At most once a second, sharing one clock: a connect storm against a full
 * server must not turn into a log storm. */
static bool
listen_may_warn(struct server *srv)
{
	if (srv->ctx.now_ms - srv->last_accept_warn_ms < 1000)
		return false;
	srv->last_accept_warn_ms = srv->ctx.now_ms;
	return true;
}

/* Tell a connection we cannot take that it was refused, then drop it.
 * why (NULL: the caller logged already) goes to the log. */
static void
listen_refuse(struct server *srv, int fd, const char *why)
{
	const char *refusal = srv->proto->refusal;

	if (why != NULL && listen_may_warn(srv))
		log_warn("refusing connections: %s (%llu refused so far)", why,
		    (unsigned long long)srv->stats.rejected + 1);
	srv->stats.rejected++;
	if (refusal != NULL)
		(void)!send(fd, refusal, strlen(refusal),
		    MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

struct client *
listen_adopt(struct server *srv, int fd)
{
	char err[NET_ERR_LEN];
	struct client *c = NULL;
	const char *why = NULL;

	if (net_set_nonblocking(fd, err) == -1) {
		log_warn("fd %d: %s", fd, err);
		close(fd);
		return NULL;
	}
	if (srv->nclients >= (size_t)srv->cfg.max_clients)
		why = "--max-clients reached";
	else if ((size_t)fd >= srv->by_fd_len)
		why = "fd past the open file limit";
	/* The driver may refuse too: select cannot watch fd >= FD_SETSIZE. */
	else if (srv->io->modify(srv->io_state, fd, 0, IO_READ) == -1)
		why = "the driver cannot watch this fd";
	else if ((c = client_new(&srv->ctx, fd, srv->next_serial + 1,
	    srv->proto, srv->proto_self)) == NULL) {
		(void)srv->io->modify(srv->io_state, fd, IO_READ, 0);
		why = "out of memory for a client";
	}
	if (why != NULL) {
		listen_refuse(srv, fd, why);
		return NULL;
	}
	(void)net_set_nodelay(fd, err);	/* fails harmlessly on socketpairs */
	srv->next_serial++;
	c->interest = IO_READ;
	c->slot = srv->nclients;
	srv->clients[srv->nclients++] = c;
	srv->by_fd[fd] = c;
	log_debug("%s connected on fd %d", c->nick, fd);
	if (srv->proto->on_join != NULL &&
	    srv->proto->on_join(srv->proto_self, c) == -1) {
		srv->stats.oom_closed++;
		client_close(c, CLOSE_OOM);
	}
	return c;
}

/* accept() failed for want of fds.  Give up the reserve fd for a moment so
 * the waiting connection can be told and closed; otherwise it would stay
 * in the backlog and the listener would be "ready" forever, turning every
 * driver into a hot loop of failing accepts. */
static void
listen_exhausted(struct server *srv, int err)
{
	int fd;

	if (listen_may_warn(srv))
		log_warn("accept: %s: refusing connections until fds free up",
		    strerror(err));
	if (srv->reserve_fd != -1) {
		close(srv->reserve_fd);
		srv->reserve_fd = -1;
		if ((fd = sysio.accept(srv->listen_fd, NULL, NULL)) != -1)
			listen_refuse(srv, fd, NULL);
		srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	/* Without a spare fd the waiting connection cannot be taken off the
	 * backlog, and the listener would stay "ready": stop watching it for
	 * a moment instead of spinning, as relayd does. */
	if (srv->reserve_fd == -1 && srv->accept_resume_ms == 0 &&
	    srv->io->modify(srv->io_state, srv->listen_fd,
	    IO_READ | IO_LISTENER, 0) == 0)
		srv->accept_resume_ms = srv->ctx.now_ms + LISTEN_PAUSE_MS;
}

void
listen_resume(struct server *srv)
{
	srv->accept_resume_ms = 0;
	if (srv->reserve_fd == -1)
		srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (srv->io->modify(srv->io_state, srv->listen_fd, 0,
	    IO_READ | IO_LISTENER) == -1) {
		log_limited(&srv->error_log, LOG_WARN, srv->ctx.now_ms,
		    "cannot watch the listener again: %s", strerror(errno));
		srv->accept_resume_ms = srv->ctx.now_ms + LISTEN_PAUSE_MS;
	}
}

void
listen_accept(struct server *srv)
{
	int fd, i;

	for (i = 0; i < LISTEN_ACCEPT_BATCH; i++) {
		if ((fd = sysio.accept(srv->listen_fd, NULL, NULL)) == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				srv->stats.wouldblock++;
				return;
			}
			/* The connection died in the backlog, or a signal:
			 * nothing wrong with the listener. */
			if (errno == ECONNABORTED || errno == EPROTO ||
			    errno == EINTR)
				continue;
			if (errno == EMFILE || errno == ENFILE) {
				listen_exhausted(srv, errno);
				return;
			}
			if (listen_may_warn(srv))
				log_warn("accept: %s", strerror(errno));
			return;
		}
		srv->stats.accepted++;
		listen_adopt(srv, fd);
	}
}
