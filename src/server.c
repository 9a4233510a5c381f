/* server.c - the listener, the client table, the sweep loop and shutdown. */
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "room.h"
#include "server.h"
#include "sysio.h"

/* Connections taken off the listener per sweep, so a connect storm cannot
 * starve the clients already here. */
#define SERVER_ACCEPT_BATCH	256
#define SERVER_LISTEN_BACKLOG	1024
/* Bytes of unread input thrown away before a graceful close, so that
 * close() sends FIN rather than RST and the peer gets its last lines. */
#define SERVER_CLOSE_DRAIN	(64 * 1024)
/* How long the listener is ignored when fds ran out and no spare fd was
 * left to refuse the connection with. */
#define SERVER_ACCEPT_PAUSE_MS	100
/* How long a lingering close waits for the peer's FIN. */
#define SERVER_LINGER_MS	2000
/* How long a closing connection may take to flush when --line-timeout is
 * off (otherwise --line-timeout bounds it). */
#define SERVER_DRAIN_MS		30000

volatile sig_atomic_t server_stop_requested;
volatile sig_atomic_t server_stats_requested;
static int server_wake_fd = -1;

int64_t
server_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
server_signal(int sig)
{
	int saved = errno;

	if (sig == SIGUSR1)
		server_stats_requested = 1;
	else
		server_stop_requested = 1;
	/* Wake a driver blocked in select/poll/epoll even if the signal came
	 * just before it went to sleep. */
	if (server_wake_fd != -1)
		(void)!write(server_wake_fd, "x", 1);
	errno = saved;
}

void
server_install_signals(struct server *srv)
{
	struct sigaction sa;

	server_wake_fd = srv->wake_wr;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocking wait should return and look at the flags. */
	sa.sa_handler = server_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	/* MSG_NOSIGNAL covers send(); this covers everything else. */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* Raise the soft fd limit to the hard one, then make --max-clients fit. */
static void
server_fit_fd_limit(struct server *srv)
{
	struct rlimit rl;
	long limit;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t want = rl.rlim_max;

		if (want == RLIM_INFINITY)
			want = 1 << 20;
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	limit = rl.rlim_cur == RLIM_INFINITY ? 1L << 20 : (long)rl.rlim_cur;
	srv->by_fd_len = (size_t)limit;
	if (srv->cfg.max_clients > limit - SERVER_FD_RESERVE) {
		long fit = limit - SERVER_FD_RESERVE;

		if (fit < 1)
			fit = 1;
		log_info("--max-clients lowered from %ld to %ld: the open file "
		    "limit is %ld and %d fds are kept in reserve",
		    srv->cfg.max_clients, fit, limit, SERVER_FD_RESERVE);
		srv->cfg.max_clients = fit;
	}
}

int
server_init(struct server *srv, const struct config *cfg, char *err,
    size_t errlen)
{
	struct io_config iocfg;
	char neterr[NET_ERR_LEN];
	int pipefd[2];
	size_t n;

	memset(srv, 0, sizeof(*srv));
	srv->cfg = *cfg;
	srv->io = cfg->io;
	srv->listen_fd = srv->wake_rd = srv->wake_wr = srv->reserve_fd = -1;
	srv->start_ms = srv->now_ms = server_now_ms();
	server_fit_fd_limit(srv);

	if ((srv->listen_fd = net_listen(&cfg->listen, SERVER_LISTEN_BACKLOG,
	    neterr)) == -1) {
		snprintf(err, errlen, "%s", neterr);
		goto fail;
	}
	net_local_name(srv->listen_fd, srv->listen_name,
	    sizeof(srv->listen_name), neterr);

	n = (size_t)srv->cfg.max_clients + 1;
	srv->clients = calloc(n, sizeof(*srv->clients));
	srv->flush = calloc(n, sizeof(*srv->flush));
	srv->reap = calloc(n, sizeof(*srv->reap));
	srv->by_fd = calloc(srv->by_fd_len, sizeof(*srv->by_fd));
	srv->max_fired = srv->cfg.max_clients + SERVER_FD_RESERVE;
	srv->fired = calloc((size_t)srv->max_fired, sizeof(*srv->fired));
	srv->scratch_size = cfg->max_line + CHAT_NICK_MAX + 8;
	srv->scratch = malloc(srv->scratch_size);
	srv->rxbuf = malloc(SERVER_RECV_CHUNK);
	if (nickset_init(&srv->nicks, 64) == -1) {
		snprintf(err, errlen, "out of memory for the nick table");
		goto fail;
	}
	if (!srv->clients || !srv->flush || !srv->reap || !srv->by_fd ||
	    !srv->fired || !srv->scratch || !srv->rxbuf) {
		snprintf(err, errlen, "out of memory for %ld clients",
		    srv->cfg.max_clients);
		goto fail;
	}
	srv->clients_cap = srv->flush_cap = srv->reap_cap = n;

	iocfg.max_fds = (int)srv->by_fd_len;
	iocfg.backoff_max_us = cfg->backoff_max_us;
	iocfg.spin_us = cfg->spin_us;
	iocfg.spin = cfg->spin;
	iocfg.stats = &srv->stats;
	if ((srv->io_state = srv->io->create(&iocfg)) == NULL) {
		snprintf(err, errlen, "cannot start the %s driver: %s",
		    srv->io->name, strerror(errno));
		goto fail;
	}
	if (srv->io->modify(srv->io_state, srv->listen_fd, 0,
	    IO_READ | IO_LISTENER) == -1) {
		snprintf(err, errlen, "the %s driver cannot watch the listener",
		    srv->io->name);
		goto fail;
	}
	/* Only drivers that sleep in the kernel need waking by signals; the
	 * others look at the flags every sweep anyway. */
	if (srv->io->blocks) {
		if (pipe(pipefd) == -1 ||
		    net_set_nonblocking(pipefd[0], neterr) == -1 ||
		    net_set_nonblocking(pipefd[1], neterr) == -1) {
			snprintf(err, errlen, "wake pipe: %s", strerror(errno));
			goto fail;
		}
		srv->wake_rd = pipefd[0];
		srv->wake_wr = pipefd[1];
		fcntl(srv->wake_rd, F_SETFD, FD_CLOEXEC);
		fcntl(srv->wake_wr, F_SETFD, FD_CLOEXEC);
		if (srv->io->modify(srv->io_state, srv->wake_rd, 0, IO_READ)
		    == -1) {
			snprintf(err, errlen, "the %s driver cannot watch the "
			    "wake pipe", srv->io->name);
			goto fail;
		}
	}
	/* A spare fd to give up when accept() hits EMFILE, so the connection
	 * can be told it was refused instead of left in the backlog. */
	srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (cfg->stats_interval > 0)
		srv->next_stats_ms = srv->start_ms +
		    (int64_t)cfg->stats_interval * 1000;
	return 0;
fail:
	server_free(srv);
	return -1;
}

void
server_free(struct server *srv)
{
	size_t i;

	for (i = 0; i < srv->nclients; i++) {
		struct client *c = srv->clients[i];

		close(c->fd);
		buf_free(&c->in);
		buf_free(&c->out);
		free(c);
	}
	srv->nclients = 0;
	if (srv->io_state != NULL)
		srv->io->destroy(srv->io_state);
	srv->io_state = NULL;
	if (srv->listen_fd != -1)
		close(srv->listen_fd);
	if (srv->wake_rd != -1)
		close(srv->wake_rd);
	if (srv->wake_wr != -1)
		close(srv->wake_wr);
	if (srv->reserve_fd != -1)
		close(srv->reserve_fd);
	if (server_wake_fd == srv->wake_wr)
		server_wake_fd = -1;
	srv->listen_fd = srv->wake_rd = srv->wake_wr = srv->reserve_fd = -1;
	free(srv->clients);
	free(srv->flush);
	free(srv->reap);
	free(srv->by_fd);
	free(srv->fired);
	free(srv->scratch);
	free(srv->rxbuf);
	srv->rxbuf = NULL;
	nickset_free(&srv->nicks);
	srv->clients = srv->flush = srv->reap = srv->by_fd = NULL;
	srv->fired = NULL;
	srv->scratch = NULL;
}

void
server_queue_flush(struct server *srv, struct client *c)
{
	if (!c->queued_flush) {
		c->queued_flush = true;
		srv->flush[srv->nflush++] = c;
	}
}

void
server_update_interest(struct server *srv, struct client *c)
{
	int want = 0;

	if (c->state == CLIENT_CLOSING)
		return;		/* the reaper removes it */
	/* Echo backpressure: a client whose output is at the cap is not read
	 * until it drains, so its memory stays bounded. */
	if (c->state == CLIENT_OPEN && !(srv->cfg.mode == MODE_ECHO &&
	    buf_len(&c->out) >= srv->cfg.max_outbuf))
		want |= IO_READ;
	if (c->state == CLIENT_LINGERING)
		want |= IO_READ;	/* to see the peer's FIN */
	if (buf_len(&c->out) > 0)
		want |= IO_WRITE;
	if (want == c->interest)
		return;
	if (srv->io->modify(srv->io_state, c->fd, c->interest, want) == -1) {
		log_limited(&srv->client_log, LOG_WARN, srv->now_ms,
		    "closing %s (fd %d): the %s driver refused it: %s",
		    c->nick, c->fd, srv->io->name, strerror(errno));
		client_close(srv, c, "driver error");
		return;
	}
	c->interest = want;
}

/* Tell a connection we cannot take that it was refused, then drop it.
 * why (NULL: the caller logged already) goes to the log at most once a
 * second, sharing the accept warnings' clock: a connect storm against a
 * full server must not turn into a log storm. */
static void
server_refuse(struct server *srv, int fd, const char *why)
{
	static const char full[] = "! server full\n";

	if (why != NULL && srv->now_ms - srv->last_accept_warn_ms >= 1000) {
		log_warn("refusing connections: %s (%llu refused so far)", why,
		    (unsigned long long)srv->stats.rejected + 1);
		srv->last_accept_warn_ms = srv->now_ms;
	}
	srv->stats.rejected++;
	if (srv->cfg.mode == MODE_CHAT)
		(void)!send(fd, full, sizeof(full) - 1,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

struct client *
server_adopt(struct server *srv, int fd)
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
	else if ((c = calloc(1, sizeof(*c))) == NULL)
		why = "out of memory for a client";
	if (why != NULL) {
		server_refuse(srv, fd, why);
		return NULL;
	}
	/* The driver may refuse too: select cannot watch fd >= FD_SETSIZE. */
	if (srv->io->modify(srv->io_state, fd, 0, IO_READ) == -1) {
		free(c);
		server_refuse(srv, fd, "the driver cannot watch this fd");
		return NULL;
	}
	(void)net_set_nodelay(fd, err);	/* fails harmlessly on socketpairs */
	c->fd = fd;
	c->state = CLIENT_OPEN;
	c->interest = IO_READ;
	c->serial = ++srv->next_serial;
	c->last_input_ms = srv->now_ms;
	snprintf(c->nick, sizeof(c->nick), "guest%llu",
	    (unsigned long long)c->serial);
	frame_init(&c->framer, srv->cfg.max_line);
	buf_init(&c->in, frame_buffer_size(srv->cfg.max_line));
	buf_init(&c->out, srv->cfg.max_outbuf);
	c->slot = srv->nclients;
	srv->clients[srv->nclients++] = c;
	srv->by_fd[fd] = c;
	srv->sweep_did_work = true;
	log_debug("%s connected on fd %d", c->nick, fd);
	if (srv->cfg.mode == MODE_CHAT)
		if (room_join(srv, c) == -1) {
			srv->stats.oom_closed++;
			client_close(srv, c, "out of memory");
		}
	return c;
}

/* accept() failed for want of fds.  Give up the reserve fd for a moment so
 * the waiting connection can be told and closed; otherwise it would stay
 * in the backlog and the listener would be "ready" forever, turning every
 * driver into a hot loop of failing accepts. */
static void
server_accept_exhausted(struct server *srv, int err)
{
	int fd;

	if (srv->now_ms - srv->last_accept_warn_ms >= 1000) {
		log_warn("accept: %s: refusing connections until fds free up",
		    strerror(err));
		srv->last_accept_warn_ms = srv->now_ms;
	}
	if (srv->reserve_fd != -1) {
		close(srv->reserve_fd);
		srv->reserve_fd = -1;
		if ((fd = sysio.accept(srv->listen_fd, NULL, NULL)) != -1)
			server_refuse(srv, fd, NULL);
		srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	/* Without a spare fd the waiting connection cannot be taken off the
	 * backlog, and the listener would stay "ready": stop watching it for
	 * a moment instead of spinning, as relayd does. */
	if (srv->reserve_fd == -1 && srv->accept_resume_ms == 0 &&
	    srv->io->modify(srv->io_state, srv->listen_fd,
	    IO_READ | IO_LISTENER, 0) == 0)
		srv->accept_resume_ms = srv->now_ms + SERVER_ACCEPT_PAUSE_MS;
}

/* The pause after fd exhaustion is over: watch the listener again. */
static void
server_resume_accept(struct server *srv)
{
	srv->accept_resume_ms = 0;
	if (srv->reserve_fd == -1)
		srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (srv->io->modify(srv->io_state, srv->listen_fd, 0,
	    IO_READ | IO_LISTENER) == -1) {
		log_warn("cannot watch the listener again: %s", strerror(errno));
		srv->accept_resume_ms = srv->now_ms + SERVER_ACCEPT_PAUSE_MS;
	}
}

static void
server_accept(struct server *srv)
{
	int fd, i;

	for (i = 0; i < SERVER_ACCEPT_BATCH; i++) {
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
				server_accept_exhausted(srv, errno);
				return;
			}
			if (srv->now_ms - srv->last_accept_warn_ms >= 1000) {
				log_warn("accept: %s", strerror(errno));
				srv->last_accept_warn_ms = srv->now_ms;
			}
			return;
		}
		srv->stats.accepted++;
		server_adopt(srv, fd);
	}
}

/* Before a graceful close, swallow input the peer sent after its last
 * processed line: closing with unread data makes the kernel send RST,
 * and an RST can destroy output the peer has not read yet ("* bye"). */
static void
server_discard_input(struct client *c)
{
	char sink[4096];
	size_t total = 0;
	ssize_t n;

	while (total < SERVER_CLOSE_DRAIN &&
	    (n = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT)) > 0)
		total += (size_t)n;
}

static void
server_remove(struct server *srv, struct client *c)
{
	struct client *last = srv->clients[--srv->nclients];

	/* Swap-remove keeps the table dense; order is not part of the
	 * protocol. */
	srv->clients[c->slot] = last;
	last->slot = c->slot;
	srv->by_fd[c->fd] = NULL;
}

/* A client is freed here and only here, after the sweep, so nothing that
 * was iterating can hold a dangling pointer. */
static void
server_reap(struct server *srv)
{
	size_t i, j;

	/* room_leave can overflow another slow reader, which lands on the
	 * list behind us: walk by index until it is empty. */
	for (i = 0; i < srv->nreap; i++) {
		struct client *c = srv->reap[i];

		if (c->interest != 0)
			(void)srv->io->modify(srv->io_state, c->fd, c->interest,
			    0);
		if (c->close_reason == NULL ||
		    (strcmp(c->close_reason, "reset") != 0 &&
		    strcmp(c->close_reason, "recv error") != 0 &&
		    strcmp(c->close_reason, "send error") != 0))
			server_discard_input(c);
		close(c->fd);
		server_remove(srv, c);
		if (c->queued_flush) {
			for (j = 0; j < srv->nflush; j++)
				if (srv->flush[j] == c) {
					srv->flush[j] = srv->flush[--srv->nflush];
					break;
				}
		}
		if (c->partial_since_ms != 0)
			srv->partial_count--;
		srv->stats.closed++;
		log_debug("%s closed (fd %d): %s", c->nick, c->fd,
		    c->close_reason ? c->close_reason : "closed");
		if (c->joined)
			room_leave(srv, c);
		buf_free(&c->in);
		buf_free(&c->out);
		free(c);
	}
	srv->nreap = 0;
}

/* Send what this sweep queued, instead of waiting a whole sweep (or a
 * writability event) for it: the same for every driver, so latency
 * compares fairly. */
static void
server_flush(struct server *srv)
{
	/* A stack, not a walk by index: flushing can queue more output (a
	 * client that finishes lingers, and its "left" notice goes to the
	 * others), and a client already flushed may come back.  Popping
	 * first means each client is on the list at most once, so it never
	 * outgrows its max_clients slots. */
	while (srv->nflush > 0) {
		struct client *c = srv->flush[--srv->nflush];

		c->queued_flush = false;
		if (c->state != CLIENT_CLOSING && buf_len(&c->out) > 0)
			client_on_writable(srv, c);
		else
			server_update_interest(srv, c);
	}
}

static void
server_drain_wake_pipe(struct server *srv)
{
	char sink[64];

	while (read(srv->wake_rd, sink, sizeof(sink)) > 0)
		;
}

int
server_sweep(struct server *srv, int timeout_ms)
{
	int i, n;

	n = srv->io->wait(srv->io_state, timeout_ms, !srv->sweep_did_work,
	    srv->fired, srv->max_fired);
	srv->stats.sweeps++;
	srv->sweep_did_work = false;
	srv->now_ms = server_now_ms();
	if (srv->accept_resume_ms > 0 && !srv->shutting_down &&
	    srv->now_ms >= srv->accept_resume_ms)
		server_resume_accept(srv);
	if (n == -1) {
		if (errno != EINTR)
			log_warn("%s wait: %s", srv->io->name, strerror(errno));
		n = 0;
	}
	for (i = 0; i < n; i++) {
		int fd = srv->fired[i].fd, mask = srv->fired[i].mask;
		struct client *c;

		if (fd == srv->listen_fd) {
			if (!srv->shutting_down)
				server_accept(srv);
			continue;
		}
		if (fd == srv->wake_rd) {
			server_drain_wake_pipe(srv);
			continue;
		}
		if (fd < 0 || (size_t)fd >= srv->by_fd_len ||
		    (c = srv->by_fd[fd]) == NULL || c->state == CLIENT_CLOSING)
			continue;
		if (mask & IO_READ)
			client_on_readable(srv, c);
		if ((mask & IO_WRITE) && c->state != CLIENT_CLOSING)
			client_on_writable(srv, c);
	}
	/* Flushing can close clients and reaping can queue output (left
	 * notices), so go until both lists are empty. */
	while (srv->nflush > 0 || srv->nreap > 0) {
		server_flush(srv);
		server_reap(srv);
	}
	return n;
}

void
server_print_stats(struct server *srv, const char *event)
{
	char line[768];

	stats_format(&srv->stats, srv->nclients, line, sizeof(line));
	log_always("stats event=%s %s uptime=%.3f", event, line,
	    (double)(server_now_ms() - srv->start_ms) / 1000.0);
}

/* Once a second: idle and partial-line timeouts. */
static void
server_check_timeouts(struct server *srv)
{
	int64_t idle = (int64_t)srv->cfg.idle_timeout * 1000;
	int64_t line = (int64_t)srv->cfg.line_timeout * 1000;
	int64_t drain = line > 0 ? line : SERVER_DRAIN_MS;
	size_t i;

	for (i = 0; i < srv->nclients; i++) {
		struct client *c = srv->clients[i];
		const char *msg = NULL, *reason = NULL;

		/* A lingering peer that never sends its FIN is cut off. */
		if (c->state == CLIENT_LINGERING &&
		    srv->now_ms - c->drain_since_ms >= SERVER_LINGER_MS) {
			client_close(srv, c, c->close_reason);
			continue;
		}
		/* A closing connection whose peer takes nothing (dead, or
		 * never reads) would keep its output and its fd forever,
		 * even after an idle or line timeout drained it: the flush
		 * gets --line-timeout too (SERVER_DRAIN_MS when that is off).
		 * Shutdown has its own deadline. */
		if (c->state == CLIENT_DRAINING && !srv->shutting_down &&
		    srv->now_ms - c->drain_since_ms >= drain) {
			srv->stats.timeouts++;
			log_limited(&srv->client_log, LOG_INFO, srv->now_ms,
			    "closing %s (fd %d): output not taken within "
			    "%lld s (after %s)", c->nick, c->fd,
			    (long long)(drain / 1000), c->close_reason ?
			    c->close_reason : "drain");
			client_close(srv, c, "drain timeout");
			continue;
		}
		if (c->state != CLIENT_OPEN)
			continue;
		if (line > 0 && c->partial_since_ms != 0 &&
		    srv->now_ms - c->partial_since_ms >= line) {
			msg = "! line timeout\n";
			reason = "line timeout";
		} else if (idle > 0 && srv->now_ms - c->last_input_ms >= idle) {
			msg = "! idle timeout\n";
			reason = "idle timeout";
		}
		if (msg == NULL)
			continue;
		srv->stats.timeouts++;
		log_limited(&srv->client_log, LOG_INFO, srv->now_ms,
		    "closing %s (fd %d): %s", c->nick, c->fd, reason);
		/* Echo mode is 8-bit clean: no protocol text in its stream. */
		if (srv->cfg.mode == MODE_CHAT)
			client_queue(srv, c, msg, strlen(msg));
		client_drain(srv, c, reason);
	}
	while (srv->nflush > 0 || srv->nreap > 0) {
		server_flush(srv);
		server_reap(srv);
	}
}

static void
server_begin_shutdown(struct server *srv)
{
	static const char notice[] = "* server shutting down\n";
	size_t i;

	log_info("shutting down: flushing %zu clients for at most %d ms",
	    srv->nclients, SERVER_SHUTDOWN_MS);
	srv->shutting_down = true;
	srv->shutdown_deadline_ms = srv->now_ms + SERVER_SHUTDOWN_MS;
	if (srv->accept_resume_ms == 0)
		(void)srv->io->modify(srv->io_state, srv->listen_fd,
		    IO_READ | IO_LISTENER, 0);
	close(srv->listen_fd);
	srv->listen_fd = -1;
	for (i = 0; i < srv->nclients; i++) {
		struct client *c = srv->clients[i];

		if (c->state == CLIENT_LINGERING) {
			client_close(srv, c, c->close_reason);
			continue;
		}
		if (c->state != CLIENT_OPEN)
			continue;	/* already saying goodbye */
		if (srv->cfg.mode == MODE_CHAT)
			client_queue(srv, c, notice, sizeof(notice) - 1);
		client_drain(srv, c, "shutdown");
	}
	while (srv->nflush > 0 || srv->nreap > 0) {
		server_flush(srv);
		server_reap(srv);
	}
}

/*
 * Once a second: after a burst of connections has ended, give the freed
 * heap back to the system.  A flood of short connections, or a crowd
 * joining (every arrival's notice grows everyone's output buffer for a
 * moment), leaves glibc's heap fragmented: the long-lived clients'
 * buffers sit above the freed ones, so its own trimming never triggers
 * and RSS stays up by megabytes for good (10,000 idle chat clients: 25-40
 * MB instead of 7).  malloc_trim() also releases free pages in the middle
 * of the heap.  It waits for a quiet tick (no arrivals or closes since the
 * last one) so a steady churn does not pay for it on every tick.
 */
static void
server_trim(struct server *srv)
{
	uint64_t churn = srv->stats.accepted + srv->stats.closed;

	if (churn != srv->churn_seen) {
		srv->churn_seen = churn;	/* still churning */
		return;
	}
	if (srv->churn_trimmed == churn)
		return;
	srv->churn_trimmed = churn;
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

/* How long the driver may sleep: until the next timer, or forever. */
static int
server_next_timeout(struct server *srv)
{
	int64_t next = -1, wait;

	if (srv->shutting_down)
		next = srv->shutdown_deadline_ms;
	if (srv->next_stats_ms > 0 && (next == -1 || srv->next_stats_ms < next))
		next = srv->next_stats_ms;
	if (srv->accept_resume_ms > 0 &&
	    (next == -1 || srv->accept_resume_ms < next))
		next = srv->accept_resume_ms;
	/* A blocking driver wakes for the tick while timeouts are armed or
	 * a trim is still due (server_trim). */
	if (((srv->nclients > 0 && (srv->cfg.idle_timeout > 0 ||
	    srv->draining_count > 0 ||
	    (srv->cfg.line_timeout > 0 && srv->partial_count > 0))) ||
	    srv->churn_trimmed != srv->stats.accepted + srv->stats.closed) &&
	    (next == -1 || srv->next_tick_ms < next))
		next = srv->next_tick_ms;
	if (next == -1)
		return -1;
	wait = next - srv->now_ms;
	if (wait < 0)
		wait = 0;
	return wait > 60000 ? 60000 : (int)wait;
}

int
server_run(struct server *srv)
{
	size_t i;

	srv->next_tick_ms = srv->now_ms + 1000;
	for (;;) {
		if (server_stop_requested && !srv->shutting_down)
			server_begin_shutdown(srv);
		if (srv->shutting_down && (srv->nclients == 0 ||
		    srv->now_ms >= srv->shutdown_deadline_ms))
			break;
		if (server_stats_requested) {
			server_stats_requested = 0;
			server_print_stats(srv, "signal");
		}
		if (srv->next_stats_ms > 0 && srv->now_ms >= srv->next_stats_ms) {
			server_print_stats(srv, "periodic");
			srv->next_stats_ms += (int64_t)srv->cfg.stats_interval *
			    1000;
			if (srv->next_stats_ms <= srv->now_ms)
				srv->next_stats_ms = srv->now_ms +
				    (int64_t)srv->cfg.stats_interval * 1000;
		}
		if (srv->now_ms >= srv->next_tick_ms) {
			srv->next_tick_ms = srv->now_ms + 1000;
			if (srv->cfg.idle_timeout > 0 || srv->partial_count > 0 ||
			    srv->draining_count > 0)
				server_check_timeouts(srv);
			server_trim(srv);
		}
		server_sweep(srv, server_next_timeout(srv));
	}
	/* Whoever did not drain in time is cut off now. */
	for (i = 0; i < srv->nclients; i++)
		client_close(srv, srv->clients[i], "shutdown timeout");
	server_reap(srv);
	server_print_stats(srv, "final");
	return 0;
}
