/* loop.c - the event loop: sweep, flush, reap, timers, signals. */
/*
 * The whole loop, like Redis's ae.c, in one screen (loop_run):
 *
 *	for (;;) {
 *		shutdown?  stats?  once-a-second tick (timeouts, trim)?
 *		loop_sweep(srv, loop_next_timeout(srv));
 *	}
 *
 * and one sweep (loop_sweep): the driver's wait() fills fired[] with
 * (fd, mask) pairs; each goes to listen_accept() or to the client's
 * on_readable/on_writable; then loop_settle() sends what the sweep queued
 * (the flush list) and frees what it closed (the reap list).  Clients are
 * only ever freed there, after every walk over them is done.
 */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "listen.h"
#include "log.h"
#include "loop.h"
#include "proto.h"
#include "server.h"
#include "stats.h"

volatile sig_atomic_t loop_stop_requested;
volatile sig_atomic_t loop_stats_requested;
static int loop_wake_fd = -1;

/* ---- signals ------------------------------------------------------------ */

static void
loop_signal(int sig)
{
	int saved = errno;

	if (sig == SIGUSR1)
		loop_stats_requested = 1;
	else
		loop_stop_requested = 1;
	/* Wake a driver blocked in select/poll/epoll even if the signal came
	 * just before it went to sleep. */
	if (loop_wake_fd != -1)
		(void)!write(loop_wake_fd, "x", 1);
	errno = saved;
}

void
loop_install_signals(struct server *srv)
{
	struct sigaction sa;

	loop_wake_fd = srv->wake_wr;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocking wait should return and look at the flags. */
	sa.sa_handler = loop_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	/* MSG_NOSIGNAL covers send(); this covers everything else. */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

static void
loop_drain_wake_pipe(struct server *srv)
{
	char sink[64];

	while (read(srv->wake_rd, sink, sizeof(sink)) > 0)
		;
}

/* ---- flush and reap ----------------------------------------------------- */

/* Send what this sweep queued, instead of waiting a whole sweep (or a
 * writability event) for it: the same for every driver, so latency
 * compares fairly. */
static void
loop_flush(struct server *srv)
{
	struct client_list *flush = &srv->ctx.flush;

	/* A stack, not a walk by index: flushing can queue more output (a
	 * client that finishes lingers, and its "left" notice goes to the
	 * others), and a client already flushed may come back.  Popping
	 * first means each client is on the list at most once, so it never
	 * outgrows its max_clients slots. */
	while (flush->len > 0) {
		struct client *c = flush->items[--flush->len];

		c->queued_flush = false;
		if (c->state != CLIENT_CLOSING && buf_len(&c->out) > 0)
			client_on_writable(c);
		else
			client_sync_interest(c);
	}
}

/* Take c out of every table: the driver, the client table (swap-remove:
 * order is not part of the protocol), the fd map, the flush list. */
static void
loop_forget(struct server *srv, struct client *c)
{
	struct client_list *flush = &srv->ctx.flush;
	struct client *last = srv->clients[--srv->nclients];
	size_t j;

	if (c->interest != 0)
		(void)srv->io->modify(srv->io_state, c->fd, c->interest, 0);
	srv->clients[c->slot] = last;
	last->slot = c->slot;
	srv->by_fd[c->fd] = NULL;
	if (!c->queued_flush)
		return;
	for (j = 0; j < flush->len; j++)
		if (flush->items[j] == c) {
			flush->items[j] = flush->items[--flush->len];
			break;
		}
}

/* A client is freed here and only here, after the sweep, so nothing that
 * was iterating can hold a dangling pointer. */
static void
loop_reap(struct server *srv)
{
	struct client_list *reap = &srv->ctx.reap;
	size_t i;

	/* on_leave can overflow another slow reader, which lands on the list
	 * behind us: walk by index until it is empty. */
	for (i = 0; i < reap->len; i++) {
		struct client *c = reap->items[i];

		loop_forget(srv, c);
		srv->stats.closed++;
		log_debug("%s closed (fd %d): %s", c->nick, c->fd,
		    client_cause_text(c->cause));
		if (c->member && c->proto->on_leave != NULL)
			c->proto->on_leave(c->proto_self, c);
		client_free(c);
	}
	reap->len = 0;
}

void
loop_settle(struct server *srv)
{
	/* Flushing can close clients and reaping can queue output (left
	 * notices), so go until both lists are empty. */
	while (srv->ctx.flush.len > 0 || srv->ctx.reap.len > 0) {
		loop_flush(srv);
		loop_reap(srv);
	}
}

/* ---- one sweep ---------------------------------------------------------- */

/* Everything that counts as progress, summed: a sweep that moved none of
 * it was idle, and a sleeping driver may nap after it. */
static uint64_t
loop_work_done(const struct server *srv)
{
	const struct stats *s = &srv->stats;

	return s->accepted + s->closed + s->bytes_in + s->bytes_out +
	    srv->ctx.discarded;
}

static void
loop_dispatch(struct server *srv, const struct io_event *ev)
{
	struct client *c;

	if (ev->fd == srv->listen_fd) {
		if (!srv->ctx.shutting_down)
			listen_accept(srv);
		return;
	}
	if (ev->fd == srv->wake_rd) {
		loop_drain_wake_pipe(srv);
		return;
	}
	if (ev->fd < 0 || (size_t)ev->fd >= srv->by_fd_len ||
	    (c = srv->by_fd[ev->fd]) == NULL || c->state == CLIENT_CLOSING)
		return;
	if (ev->mask & IO_READ)
		client_on_readable(c);
	if ((ev->mask & IO_WRITE) && c->state != CLIENT_CLOSING)
		client_on_writable(c);
}

int
loop_sweep(struct server *srv, int timeout_ms)
{
	uint64_t work = loop_work_done(srv);
	int i, n;

	n = srv->io->wait(srv->io_state, timeout_ms, work == srv->work_seen,
	    srv->fired, srv->max_fired);
	srv->work_seen = work;
	srv->stats.sweeps++;
	srv->ctx.now_ms = server_now_ms();
	if (srv->accept_resume_ms > 0 && !srv->ctx.shutting_down &&
	    srv->ctx.now_ms >= srv->accept_resume_ms)
		listen_resume(srv);
	if (n == -1) {
		if (errno != EINTR)
			log_warn("%s wait: %s", srv->io->name, strerror(errno));
		n = 0;
	}
	for (i = 0; i < n; i++)
		loop_dispatch(srv, &srv->fired[i]);
	loop_settle(srv);
	return n;
}

/* ---- timers ------------------------------------------------------------- */

/*
 * After a burst of connections has ended, give the freed heap back to the
 * system.  A flood of short connections, or a crowd joining (every
 * arrival's notice grows everyone's output buffer for a moment), leaves
 * glibc's heap fragmented: the long-lived clients' buffers sit above the
 * freed ones, so its own trimming never triggers and RSS stays up by
 * megabytes for good (10,000 idle chat clients: 25-40 MB instead of 7).
 * malloc_trim() also releases free pages in the middle of the heap.  It
 * waits for a quiet tick (no arrivals or closes since the last one) so a
 * steady churn does not pay for it on every tick.
 */
static void
loop_trim(struct server *srv)
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

/* Some client has a deadline the tick must look at. */
static bool
loop_timers_armed(const struct server *srv)
{
	return srv->cfg.idle_timeout > 0 || srv->ctx.draining_count > 0 ||
	    (srv->cfg.line_timeout > 0 && srv->ctx.partial_count > 0);
}

void
loop_tick(struct server *srv)
{
	size_t i;

	if (srv->cfg.idle_timeout > 0 || srv->ctx.partial_count > 0 ||
	    srv->ctx.draining_count > 0) {
		for (i = 0; i < srv->nclients; i++)
			client_tick(srv->clients[i]);
		loop_settle(srv);
	}
	loop_trim(srv);
}

/* How long the driver may sleep: until the next timer, or forever. */
static int
loop_next_timeout(struct server *srv)
{
	int64_t next = -1, wait;

	if (srv->ctx.shutting_down)
		next = srv->shutdown_deadline_ms;
	if (srv->next_stats_ms > 0 && (next == -1 || srv->next_stats_ms < next))
		next = srv->next_stats_ms;
	if (srv->accept_resume_ms > 0 &&
	    (next == -1 || srv->accept_resume_ms < next))
		next = srv->accept_resume_ms;
	/* A blocking driver wakes for the tick while timeouts are armed or
	 * a trim is still due (loop_trim). */
	if (((srv->nclients > 0 && loop_timers_armed(srv)) ||
	    srv->churn_trimmed != srv->stats.accepted + srv->stats.closed) &&
	    (next == -1 || srv->next_tick_ms < next))
		next = srv->next_tick_ms;
	if (next == -1)
		return -1;
	wait = next - srv->ctx.now_ms;
	if (wait < 0)
		wait = 0;
	return wait > 60000 ? 60000 : (int)wait;
}

void
loop_print_stats(struct server *srv, const char *event)
{
	char line[768];

	stats_format(&srv->stats, srv->nclients, line, sizeof(line));
	log_always("stats event=%s %s uptime=%.3f", event, line,
	    (double)(server_now_ms() - srv->start_ms) / 1000.0);
}

/* The periodic stats line; a late one does not bunch up the next. */
static void
loop_periodic_stats(struct server *srv)
{
	int64_t every = (int64_t)srv->cfg.stats_interval * 1000;

	loop_print_stats(srv, "periodic");
	srv->next_stats_ms += every;
	if (srv->next_stats_ms <= srv->ctx.now_ms)
		srv->next_stats_ms = srv->ctx.now_ms + every;
}

/* ---- the loop ----------------------------------------------------------- */

int
loop_run(struct server *srv)
{
	size_t i;

	srv->next_tick_ms = srv->ctx.now_ms + 1000;
	for (;;) {
		if (loop_stop_requested && !srv->ctx.shutting_down) {
			server_begin_shutdown(srv);
			loop_settle(srv);
		}
		if (srv->ctx.shutting_down && (srv->nclients == 0 ||
		    srv->ctx.now_ms >= srv->shutdown_deadline_ms))
			break;
		if (loop_stats_requested) {
			loop_stats_requested = 0;
			loop_print_stats(srv, "signal");
		}
		if (srv->next_stats_ms > 0 && srv->ctx.now_ms >= srv->next_stats_ms)
			loop_periodic_stats(srv);
		if (srv->ctx.now_ms >= srv->next_tick_ms) {
			srv->next_tick_ms = srv->ctx.now_ms + 1000;
			loop_tick(srv);
		}
		loop_sweep(srv, loop_next_timeout(srv));
	}
	/* Whoever did not drain in time is cut off now. */
	for (i = 0; i < srv->nclients; i++)
		client_close(srv->clients[i], CLOSE_SHUTDOWN_TIMEOUT);
	loop_reap(srv);
	loop_print_stats(srv, "final");
	return 0;
}
