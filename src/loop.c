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
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "listen.h"
#include "log.h"
#include "loop.h"
#include "proto.h"
#include "room_bus.h"
#include "server.h"
#include "stats.h"

volatile sig_atomic_t loop_stop_requested;
volatile sig_atomic_t loop_stats_requested;
static int loop_wake_fd = -1;
/*
 * 1 while the wake pipe is empty and the next signal must write to it.
 * One byte per drain is enough to wake the driver, and it keeps a storm
 * cheap: without this every handler ran a write(2), the pipe filled, and
 * on the sigio driver every write raised a queued realtime signal of its
 * own (a pipe with O_ASYNC signals each write), so one SIGUSR1 storm
 * became a storm of tens of thousands of queued signals that wait() had
 * to read before it could look at a client: relays took seconds.
 */
static volatile sig_atomic_t loop_wake_armed = 1;
/* The signals the loop handles, held back during a non-blocking driver's
 * sweep (loop_sweep). */
static sigset_t loop_signals;

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
	if (loop_wake_fd != -1 && loop_wake_armed) {
		loop_wake_armed = 0;
		(void)!write(loop_wake_fd, "x", 1);
	}
	errno = saved;
}

void
loop_install_signals(struct server *srv)
{
	struct sigaction sa;

	loop_wake_fd = srv->wake_wr;
	sigemptyset(&loop_signals);
	sigaddset(&loop_signals, SIGINT);
	sigaddset(&loop_signals, SIGTERM);
	sigaddset(&loop_signals, SIGUSR1);
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
	/* Emptied first, armed second: a signal in between sets only its
	 * flag, and loop_run() looks at the flags before it sleeps again
	 * (loop_next_timeout() does not sleep on a pending one). */
	loop_wake_armed = 1;
}

/* ---- flush and reap ----------------------------------------------------- */

/*
 * Send what this sweep queued, instead of waiting a whole sweep (or a
 * writability event) for it: the same for every driver, so latency
 * compares fairly.
 *
 * In order, first queued first, and each client at most once per round
 * (client_queue_flush): when a thousand clients leave in one sweep, each
 * leaver's "* nick left" lands in the others' buffers while the leavers
 * are still being flushed, and every other client then gets all of them
 * in one send() at the end of the walk, not one send() per notice.
 * Output that arrives after a client's send waits for the next sweep.
 * The walk is by index because flushing queues more (a client that
 * finishes lingers and its notice goes to the others); a client is on
 * the list at most once per round, so it never outgrows its slots.
 */
static void
loop_flush(struct server *srv)
{
	struct client_list *flush = &srv->ctx.flush;
	size_t i;

	for (i = 0; i < flush->len; i++) {
		struct client *c = flush->items[i];

		c->queued_flush = false;
		/* A client with write interest is waiting for the driver to
		 * say its socket has room (its last send() stopped short):
		 * trying now would only fail again.  A thousand stalled
		 * readers would otherwise cost a thousand failed send()
		 * calls every sweep. */
		if (c->state != CLIENT_CLOSING && buf_len(&c->out) > 0 &&
		    c->sent_round != srv->ctx.round &&
		    !(c->interest & IO_WRITE))
			client_on_writable(c);
		else
			client_sync_interest(c);
		c->sent_round = srv->ctx.round;
	}
	flush->len = 0;
}

/* Take c off a list it may be on (swap-remove). */
static void
loop_unlist(struct client_list *l, const struct client *c)
{
	size_t j;

	for (j = 0; j < l->len; j++)
		if (l->items[j] == c) {
			l->items[j] = l->items[--l->len];
			return;
		}
}

/* Take c out of every table: the driver, the client table (swap-remove:
 * order is not part of the protocol), the fd map, the flush and backlog
 * lists. */
static void
loop_forget(struct server *srv, struct client *c)
{
	struct client *last = srv->clients[--srv->nclients];

	if (c->interest != 0)
		(void)srv->io->modify(srv->io_state, c->fd, c->interest, 0);
	srv->clients[c->slot] = last;
	last->slot = c->slot;
	srv->by_fd[c->fd] = NULL;
	if (c->queued_flush)
		loop_unlist(&srv->ctx.flush, c);
	if (c->queued_backlog)
		loop_unlist(&srv->ctx.backlog, c);
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

/* --max-memory paused or resumed input: every client's read interest
 * changes at once (rare: the pause and resume marks are far apart).  A
 * pause that began and ended since the last look counts too: clients
 * whose interest was settled meanwhile lost their read interest. */
static void
loop_sync_pause(struct server *srv)
{
	size_t i;

	if (srv->ctx.input_paused == srv->paused_seen &&
	    srv->stats.mem_paused == srv->pauses_seen)
		return;
	srv->paused_seen = srv->ctx.input_paused;
	srv->pauses_seen = srv->stats.mem_paused;
	for (i = 0; i < srv->nclients; i++)
		client_sync_interest(srv->clients[i]);
}

/* What the sweep published goes to Redis now, not a sweep later, and
 * before the local clients' output: no node's client sees a line (or a
 * welcome) before the other nodes could. */
static void
loop_flush_bus(struct server *srv)
{
	if (srv->bus_room != NULL)
		room_bus_flush(srv->bus_room);
}

void
loop_settle(struct server *srv)
{
	/* One round: each client is sent to at most once (loop_flush). */
	srv->ctx.round++;
	/* Flushing can close clients and reaping can queue output (left
	 * notices), so go until both lists are empty. */
	while (srv->ctx.flush.len > 0 || srv->ctx.reap.len > 0) {
		loop_flush_bus(srv);
		loop_flush(srv);
		loop_reap(srv);
	}
	loop_flush_bus(srv);
	loop_sync_pause(srv);
}

/* ---- one sweep ---------------------------------------------------------- */

/* Everything that counts as progress, summed: a sweep that moved none of
 * it was idle, and a sleeping driver may nap after it. */
static uint64_t
loop_work_done(const struct server *srv)
{
	const struct stats *s = &srv->stats;

	return s->accepted + s->closed + s->bytes_in + s->bytes_out +
	    s->lines + srv->ctx.discarded;
}

/*
 * The driver's wait() failed with something other than EINTR.  Such an
 * error tends to repeat on every call (poll() says EINVAL on every call
 * once the fd limit was lowered under the number of fds it watches), so:
 * the log line is rate-limited, connections past the fd limit are shed
 * (listen_shed_past_fd_limit), and a second failure in a row makes the
 * loop sleep before it tries again, doubling up to LOOP_WAIT_ERROR_MAX_MS,
 * so that no error turns into a hot loop.
 */
static void
loop_wait_failed(struct server *srv, int err)
{
	struct timespec ts;
	unsigned ms;

	srv->stats.wait_errors++;
	log_limited(&srv->error_log, LOG_WARN, srv->ctx.now_ms,
	    "%s wait: %s", srv->io->name, strerror(err));
	listen_shed_past_fd_limit(srv);
	if (srv->wait_failures++ == 0)
		return;
	ms = srv->wait_failures < 8 ? 1u << srv->wait_failures :
	    LOOP_WAIT_ERROR_MAX_MS;
	if (ms > LOOP_WAIT_ERROR_MAX_MS)
		ms = LOOP_WAIT_ERROR_MAX_MS;
	ts.tv_sec = 0;
	ts.tv_nsec = (long)ms * 1000000L;
	(void)nanosleep(&ts, NULL);
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
	if (srv->bus_room != NULL &&
	    room_bus_dispatch(srv->bus_room, ev->fd, ev->mask))
		return;
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
			loop_wait_failed(srv, errno);
		n = 0;
	} else
		srv->wait_failures = 0;
	/*
	 * A driver that never sleeps makes a system call per client per
	 * sweep, and a signal handler runs on the way out of any of them
	 * when a signal is pending: under a SIGUSR1 storm that is one
	 * handler per system call, and the sweep crawls.  So its sweeps run
	 * with the loop's signals held back, and whatever arrived meanwhile
	 * is handled once, when they are let through.  (A driver that sleeps
	 * needs its signals to cut the sleep short, and makes few calls.)
	 */
	if (!srv->io->blocks)
		(void)sigprocmask(SIG_BLOCK, &loop_signals, NULL);
	for (i = 0; i < n; i++)
		loop_dispatch(srv, &srv->fired[i]);
	/* Clients whose last turn ran out of budget take the next one now,
	 * whether or not the kernel has more for them. */
	client_run_backlog(&srv->ctx);
	loop_settle(srv);
	if (!srv->io->blocks)
		(void)sigprocmask(SIG_UNBLOCK, &loop_signals, NULL);
	client_memory_tick(&srv->ctx);
	if (srv->ctx.input_paused != srv->paused_seen ||
	    srv->stats.mem_paused != srv->pauses_seen)
		loop_settle(srv);	/* settles the interests */
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

/*
 * Every client's deadlines, from where the last pass stopped.  A pass
 * fires at most LOOP_TIMER_FANOUT / clients timeouts (at least
 * LOOP_TIMERS_MIN): each one that fires makes its client say goodbye and
 * leave, and its "* nick left" goes to everyone, so a thousand timers
 * firing in one tick are spread over a few sweeps, each flushed once per
 * receiver.  The walk resumes at the next sweep; clients reaped meanwhile
 * move in the table (swap-remove), so one may be looked at twice or
 * missed until the next tick, a second later.
 */
static void
loop_run_timers(struct server *srv)
{
	size_t fired = 0, limit = LOOP_TIMER_FANOUT / (srv->nclients + 1);

	if (limit < LOOP_TIMERS_MIN)
		limit = LOOP_TIMERS_MIN;
	while (srv->timer_next < srv->nclients)
		if (client_tick(srv->clients[srv->timer_next++]) &&
		    ++fired >= limit)
			break;
	srv->timers_pending = srv->timer_next < srv->nclients;
	loop_settle(srv);
}

void
loop_tick(struct server *srv)
{
	if (srv->cfg.idle_timeout > 0 || srv->ctx.partial_count > 0 ||
	    srv->ctx.draining_count > 0) {
		srv->timer_next = 0;
		loop_run_timers(srv);
	} else
		loop_settle(srv);
	if (srv->bus_room != NULL) {	/* heartbeat, silent nodes, retries */
		room_bus_tick(srv->bus_room);
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
	/* A stats request held back by the rate limit. */
	if (loop_stats_requested) {
		int64_t at = srv->signal_stats_ms + LOOP_SIGNAL_STATS_MS;

		if (next == -1 || at < next)
			next = at;
	}
	/* A --max-memory pause ends, one way or the other, after its
	 * grace (client_memory_tick). */
	if (srv->ctx.input_paused) {
		int64_t at = srv->ctx.paused_since_ms + CLIENT_MEM_GRACE_MS;

		if (next == -1 || at < next)
			next = at;
	}
	/* Work left over for the next sweep, or a stop that came after
	 * loop_run() last looked: do not sleep on it. */
	if (srv->timers_pending ||
	    (loop_stop_requested && !srv->ctx.shutting_down) ||
	    (srv->ctx.backlog.len > 0 && !srv->ctx.input_paused))
		next = srv->ctx.now_ms;
	/* A blocking driver wakes for the tick while timeouts are armed or
	 * a trim is still due (loop_trim). */
	if (((srv->nclients > 0 && loop_timers_armed(srv)) ||
	    srv->bus_room != NULL ||
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

	char bus[160] = "", worker[24] = "";

	stats_format(&srv->stats, srv->nclients, line, sizeof(line));
	if (srv->bus_room != NULL)
		room_bus_format_stats(srv->bus_room, bus, sizeof(bus));
	if (srv->cfg.worker_id > 0)
		snprintf(worker, sizeof(worker), " worker=%d",
		    srv->cfg.worker_id);
	log_always("stats event=%s %s%s%s uptime=%.3f", event, line, bus,
	    worker, (double)(server_now_ms() - srv->start_ms) / 1000.0);
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
	srv->signal_stats_ms = srv->ctx.now_ms - LOOP_SIGNAL_STATS_MS;
	for (;;) {
		if (loop_stop_requested && !srv->ctx.shutting_down) {
			server_begin_shutdown(srv);
			loop_settle(srv);
		}
		if (srv->ctx.shutting_down && (srv->nclients == 0 ||
		    srv->ctx.now_ms >= srv->shutdown_deadline_ms))
			break;
		/* SIGUSR1: at most one line per LOOP_SIGNAL_STATS_MS, so a
		 * storm of them cannot flood stderr; the last request is
		 * always answered. */
		if (loop_stats_requested && srv->ctx.now_ms -
		    srv->signal_stats_ms >= LOOP_SIGNAL_STATS_MS) {
			loop_stats_requested = 0;
			srv->signal_stats_ms = srv->ctx.now_ms;
			loop_print_stats(srv, "signal");
		}
		if (srv->next_stats_ms > 0 && srv->ctx.now_ms >= srv->next_stats_ms)
			loop_periodic_stats(srv);
		if (srv->ctx.now_ms >= srv->next_tick_ms) {
			/* Input first, then timers: after a stall, whatever
			 * the clients sent meanwhile is read before anyone is
			 * timed out for silence. */
			loop_sweep(srv, 0);
			srv->next_tick_ms = srv->ctx.now_ms + 1000;
			loop_tick(srv);
		} else if (srv->timers_pending)
			loop_run_timers(srv);
		loop_sweep(srv, loop_next_timeout(srv));
	}
	/* Whoever did not drain in time is cut off now. */
	for (i = 0; i < srv->nclients; i++)
		client_close(srv->clients[i], CLOSE_SHUTDOWN_TIMEOUT);
	loop_reap(srv);
	loop_print_stats(srv, "final");
	return 0;
}
