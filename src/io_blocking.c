/* io_blocking.c - the acceptor loop and the blocking echo shared by the
 * fork and thread models. */
/*
 * Blocking sockets are the point of these models: accepted sockets stay
 * blocking (accept() on Linux does not pass the listener's O_NONBLOCK on,
 * and nothing here sets it), and each connection's process or thread
 * sleeps in recv() or send() until the kernel has something for it.  Only
 * the listener is nonblocking, so the acceptor can take a burst of
 * connections off it and go back to ppoll().
 *
 * The acceptor sleeps in ppoll() on the listener and the tally pipe with
 * SIGTERM, SIGINT, SIGUSR1 and SIGCHLD blocked everywhere else, so a
 * signal can only arrive inside ppoll() and is never lost between looking
 * at the flags and going to sleep (the race a plain accept() loop has).
 */
#define _GNU_SOURCE		/* ppoll */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "io_blocking.h"
#include "log.h"
#include "net.h"

#define BLOCKING_LISTEN_BACKLOG	1024
/* Connections taken off the listener per wakeup. */
#define BLOCKING_ACCEPT_BATCH	256

static volatile sig_atomic_t blocking_stop_requested;
static volatile sig_atomic_t blocking_stats_requested;
static volatile sig_atomic_t blocking_child_exited;
/* SIGUSR1 stats lines at most this often (the loop's rule, loop.h). */
#define BLOCKING_SIGNAL_STATS_MS	100

static int64_t
blocking_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- one connection ----------------------------------------------------- */

/* Write all n bytes; -1 on error or when the peer took nothing for
 * idle_timeout seconds. */
static int
blocking_send_all(int fd, const char *p, size_t n, unsigned idle_timeout,
    struct blocking_tally *t)
{
	int64_t since = blocking_now_ms();
	ssize_t k;

	while (n > 0) {
		/* MSG_NOSIGNAL: a peer gone away is EPIPE, not SIGPIPE. */
		if ((k = send(fd, p, n, MSG_NOSIGNAL)) > 0) {
			p += k;
			n -= (size_t)k;
			t->bytes_out += (uint64_t)k;
			since = blocking_now_ms();
			continue;
		}
		if (k == -1 && errno == EINTR)
			continue;
		if (k == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* SO_SNDTIMEO ran out, or a fault shim said so. */
			t->wouldblock++;
			if (idle_timeout > 0 && blocking_now_ms() - since >=
			    (int64_t)idle_timeout * 1000) {
				t->timeouts++;
				errno = ETIMEDOUT;
				return -1;
			}
			continue;
		}
		return -1;
	}
	return 0;
}

const char *
blocking_echo(int fd, unsigned idle_timeout, struct blocking_tally *t)
{
	char buf[BLOCKING_CHUNK];
	int64_t last_input = blocking_now_ms();
	ssize_t n;

	if (idle_timeout > 0) {
		/* A silent peer wakes us after idle_timeout: recv says EAGAIN. */
		struct timeval tv = { (time_t)idle_timeout, 0 };

		(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0)
			break;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return errno == ECONNRESET ? "reset" :
				    "recv error";
			t->wouldblock++;
			if (idle_timeout > 0 && blocking_now_ms() - last_input >=
			    (int64_t)idle_timeout * 1000) {
				t->timeouts++;
				return "idle timeout";
			}
			continue;
		}
		last_input = blocking_now_ms();
		t->bytes_in += (uint64_t)n;
		if (blocking_send_all(fd, buf, (size_t)n, idle_timeout, t) == -1)
			return errno == ETIMEDOUT ? "output not taken" :
			    "send error";
	}
	/* The peer's FIN: everything it sent has been written back, so the
	 * FIN can follow.  It sent nothing more, so the close that follows
	 * finds no unread input and does not turn into a reset. */
	(void)shutdown(fd, SHUT_WR);
	return "peer closed";
}

void
blocking_report(int tally_fd, const struct blocking_tally *t)
{
	ssize_t n;

	do
		n = write(tally_fd, t, sizeof(*t));
	while (n == -1 && errno == EINTR);
}

/* ---- the acceptor --------------------------------------------------------- */

static void
blocking_signal(int sig)
{
	if (sig == SIGUSR1)
		blocking_stats_requested = 1;
	else if (sig == SIGCHLD)
		blocking_child_exited = 1;
	else
		blocking_stop_requested = 1;
}

/* Handlers for the acceptor's signals, which stay blocked except inside
 * ppoll(); *during_wait gets the mask ppoll() sleeps with. */
static void
blocking_install_signals(sigset_t *during_wait)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGUSR1, SIGCHLD };
	struct sigaction sa;
	sigset_t block;
	size_t i;

	sigemptyset(&block);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&block, sigs[i]);
	/* Blocked first, so one that comes before ppoll() waits for it;
	 * threads started later inherit the mask and never take them. */
	sigprocmask(SIG_BLOCK, &block, during_wait);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigdelset(during_wait, sigs[i]);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = blocking_signal;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	/* MSG_NOSIGNAL covers send(); this covers everything else, in every
	 * child and thread too. */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* Drop a connection we cannot serve.  Echo mode is 8-bit clean, so, as in
 * the readiness server, it is closed without a word. */
static void
blocking_refuse(struct blocking_server *bs, int fd, const char *why)
{
	int64_t now = blocking_now_ms();

	if (now - bs->last_refuse_log_ms >= 1000) {
		log_warn("refusing connections: %s (%llu refused so far)", why,
		    (unsigned long long)bs->stats.rejected + 1);
		bs->last_refuse_log_ms = now;
	}
	bs->stats.rejected++;
	close(fd);
}

static void
blocking_accept(struct blocking_server *bs)
{
	char why[128];
	int fd, i;

	for (i = 0; i < BLOCKING_ACCEPT_BATCH; i++) {
		/* Plain accept(): the new socket is blocking. */
		if ((fd = accept(bs->listen_fd, NULL, NULL)) == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				bs->stats.wouldblock++;
				return;
			}
			if (errno == ECONNABORTED || errno == EPROTO ||
			    errno == EINTR)
				continue;
			/* EMFILE and the like: the listener stays ready, so
			 * nap instead of spinning (a thread may free an fd). */
			log_warn("accept: %s", strerror(errno));
			poll(NULL, 0, 100);
			return;
		}
		bs->stats.accepted++;
		if (bs->model->live(bs) >= (size_t)bs->cfg.max_clients) {
			blocking_refuse(bs, fd, "--max-clients reached");
			continue;
		}
		(void)net_set_nodelay(fd, NULL);
		if (bs->model->start(bs, fd) == -1) {
			snprintf(why, sizeof(why), "cannot start a %s: %s",
			    bs->model->unit, strerror(errno));
			blocking_refuse(bs, fd, why);
		}
	}
}

/* Fold every tally that has arrived into the stats. */
static void
blocking_read_tallies(struct blocking_server *bs)
{
	struct blocking_tally t;

	while (read(bs->tally_rd, &t, sizeof(t)) == (ssize_t)sizeof(t)) {
		bs->tallies++;
		if (!bs->model->closed_by_reap)
			bs->stats.closed++;
		bs->stats.bytes_in += t.bytes_in;
		bs->stats.bytes_out += t.bytes_out;
		bs->stats.wouldblock += t.wouldblock;
		bs->stats.timeouts += t.timeouts;
	}
}

static void
blocking_print_stats(struct blocking_server *bs, const char *event)
{
	struct rusage self, kids;
	char line[768];

	if (getrusage(RUSAGE_SELF, &self) == -1)
		memset(&self, 0, sizeof(self));
	if (bs->model->cpu_children && getrusage(RUSAGE_CHILDREN, &kids) == 0) {
		timeradd(&self.ru_utime, &kids.ru_utime, &self.ru_utime);
		timeradd(&self.ru_stime, &kids.ru_stime, &self.ru_stime);
	}
	stats_format_usage(&bs->stats, bs->model->live(bs), &self, line,
	    sizeof(line));
	log_always("stats event=%s %s uptime=%.3f", event, line,
	    (double)(blocking_now_ms() - bs->start_ms) / 1000.0);
}

/* Sleep until the listener or the tally pipe is ready, a signal comes, or
 * timeout_ms (-1: forever) passes; then act on what happened. */
static void
blocking_wait(struct blocking_server *bs, const sigset_t *during_wait,
    int timeout_ms)
{
	struct pollfd pfd[2];
	struct timespec ts, *tsp = NULL;
	nfds_t n = 0;

	if (bs->listen_fd != -1)
		pfd[n++] = (struct pollfd){ bs->listen_fd, POLLIN, 0 };
	pfd[n++] = (struct pollfd){ bs->tally_rd, POLLIN, 0 };
	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000;
		tsp = &ts;
	}
	bs->stats.sweeps++;
	if (ppoll(pfd, n, tsp, during_wait) == -1) {
		if (errno != EINTR)
			log_warn("ppoll: %s", strerror(errno));
		pfd[0].revents = pfd[n - 1].revents = 0;
	}
	if (blocking_child_exited) {
		blocking_child_exited = 0;
		bs->child_exited = true;
	}
	/* Reap first: a child writes its tally before it exits, so every
	 * child reaped now has its tally in the pipe already. */
	bs->model->reap(bs);
	blocking_read_tallies(bs);
	if (bs->listen_fd != -1 && (pfd[0].revents & POLLIN) &&
	    !blocking_stop_requested)
		blocking_accept(bs);
}

/* SIGTERM: stop listening, shut every connection down, wait for them at
 * most BLOCKING_SHUTDOWN_MS, then cut off whatever is left. */
static void
blocking_shutdown(struct blocking_server *bs, const sigset_t *during_wait)
{
	int64_t deadline = blocking_now_ms() + BLOCKING_SHUTDOWN_MS, left;

	log_info("shutting down: closing %zu connections, waiting at most %d "
	    "ms", bs->model->live(bs), BLOCKING_SHUTDOWN_MS);
	close(bs->listen_fd);
	bs->listen_fd = -1;
	bs->model->stop(bs, false);
	while (bs->model->live(bs) > 0 &&
	    (left = deadline - blocking_now_ms()) > 0)
		blocking_wait(bs, during_wait, (int)left);
	if (bs->model->live(bs) > 0) {
		log_warn("%zu connections still open after %d ms: cut off",
		    bs->model->live(bs), BLOCKING_SHUTDOWN_MS);
		bs->model->stop(bs, true);
	}
	blocking_read_tallies(bs);
}

static int
blocking_setup(struct blocking_server *bs, char *err)
{
	int pipefd[2];

	if ((bs->listen_fd = net_listen(&bs->cfg.listen,
	    BLOCKING_LISTEN_BACKLOG, err)) == -1)
		return -1;
	/* The acceptor reads tallies without blocking; the writers block
	 * (one record, at their very end) if the pipe is ever full. */
	if (pipe(pipefd) == -1) {
		snprintf(err, NET_ERR_LEN, "tally pipe: %s", strerror(errno));
		return -1;
	}
	bs->tally_rd = pipefd[0];
	bs->tally_wr = pipefd[1];
	return net_set_nonblocking(bs->tally_rd, err);
}

int
blocking_serve(const struct config *cfg, const struct blocking_model *model,
    void *state)
{
	struct blocking_server bs;
	char err[NET_ERR_LEN], name[NET_ADDR_LEN];
	sigset_t during_wait;
	int64_t next_stats = 0, now, last_signal_stats = 0;
	int timeout;

	memset(&bs, 0, sizeof(bs));
	bs.cfg = *cfg;
	bs.model = model;
	bs.state = state;
	bs.listen_fd = bs.tally_rd = bs.tally_wr = -1;
	bs.start_ms = blocking_now_ms();
	if (blocking_setup(&bs, err) == -1) {
		fprintf(stderr, "pollserv: %s\n", err);
		return 1;
	}
	blocking_install_signals(&during_wait);
	net_local_name(bs.listen_fd, name, sizeof(name), NULL);
	log_listening(name, "echo", cfg->io->name);
	if (cfg->stats_interval > 0)
		next_stats = bs.start_ms + (int64_t)cfg->stats_interval * 1000;
	while (!blocking_stop_requested) {
		now = blocking_now_ms();
		/* At most one SIGUSR1 line per BLOCKING_SIGNAL_STATS_MS: a
		 * storm of them must not flood stderr.  The last request is
		 * answered when the time comes. */
		if (blocking_stats_requested &&
		    now - last_signal_stats >= BLOCKING_SIGNAL_STATS_MS) {
			blocking_stats_requested = 0;
			last_signal_stats = now;
			blocking_print_stats(&bs, "signal");
		}
		if (next_stats > 0 && now >= next_stats) {
			blocking_print_stats(&bs, "periodic");
			next_stats += (int64_t)cfg->stats_interval * 1000;
			if (next_stats <= now)
				next_stats = now +
				    (int64_t)cfg->stats_interval * 1000;
		}
		timeout = next_stats > 0 ? (int)(next_stats - now) : -1;
		if (blocking_stats_requested && (timeout < 0 ||
		    timeout > BLOCKING_SIGNAL_STATS_MS))
			timeout = BLOCKING_SIGNAL_STATS_MS;
		blocking_wait(&bs, &during_wait, timeout);
	}
	blocking_shutdown(&bs, &during_wait);
	blocking_print_stats(&bs, "final");
	/* A thread cut off at the deadline may still write its tally. */
	if (model->live(&bs) == 0) {
		close(bs.tally_rd);
		close(bs.tally_wr);
	}
	return 0;
}
