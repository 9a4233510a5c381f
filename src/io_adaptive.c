/* io_adaptive.c - spin while work comes, sleep in epoll_wait() once it stops. */
/*
 * System call: epoll_wait(2), twice over: with a timeout of 0 to spin
 * (or, with --spin busy, no readiness call at all: the busy sweep), and
 * with the server's timeout to sleep.  The idea is Seastar's reactor
 * (--idle-poll-time-us), DPDK's power-aware l3fwd and io_uring's
 * sq_thread_idle: while sweeps keep finding work, never give the CPU
 * away, so a message is picked up without the cost of a wakeup; once no
 * work has come for --spin-us, block in the kernel like the epoll driver,
 * so an idle server costs nothing; on the first readiness, go straight
 * back to spinning with a fresh budget.
 *
 * Quirks:
 * - Every fd is in the epoll set from the moment it is registered, in
 *   both spin modes, so going to sleep is one epoll_wait() and waking
 *   costs O(ready fds), never a walk over the clients.  The price is the
 *   epoll driver's: an epoll_ctl() per change of write interest.
 * - The budget is time, not a count of sweeps: a sweep of 10,000 idle
 *   sockets takes milliseconds, an epoll_wait(..., 0) well under one
 *   microsecond.  The clock is CLOCK_MONOTONIC through the vDSO (no
 *   system call with the TSC clocksource); the decision itself is the pure
 *   io_spin_policy below, so tests drive it with a fake clock.
 * - "Work" is what the server says: last_sweep_idle is false when the
 *   last sweep read, wrote, accepted or closed something.  A wakeup by
 *   the wake pipe alone (a signal) does not count as work.
 * - --spin busy keeps a second list (io_sweep.c) of the sockets only, so
 *   the spin reports every client every time, exactly like the busy
 *   driver, and a sweep costs O(clients).  Registrations that are not
 *   sockets (the server's wake pipe) stay out of it: a read() on the pipe
 *   every sweep would only fail, and signals are seen by the server loop
 *   at every spin anyway.  The pipe's byte is drained at the next sleep,
 *   whose epoll_wait() then returns at once.
 * - Signals: while spinning, the server looks at its flags every sweep;
 *   while asleep, epoll_wait() returns EINTR (no SA_RESTART), and a
 *   signal that lands just before the sleep left a byte in the wake pipe,
 *   which is in the epoll set, so the sleep ends at once.
 * - A timeout of 0 from the server (a timer is due) is a look, not a
 *   sleep: it is counted as a spin and does not reset the budget.
 * - Counters: spins (waits that did not block), sleeps (waits that
 *   blocked in epoll_wait) and wakeups (sleeps ended by a ready fd rather
 *   than a timer or a signal).
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io.h"
#include "io_adaptive.h"
#include "io_epollset.h"
#include "io_sweep.h"
#include "stats.h"

void
io_spin_policy_init(struct io_spin_policy *p, unsigned spin_us)
{
	p->budget_ns = (int64_t)spin_us * 1000;
	p->idle_since_ns = -1;
}

bool
io_spin_policy_sleep_now(struct io_spin_policy *p, int64_t now_ns,
    bool last_sweep_idle)
{
	if (!last_sweep_idle || p->idle_since_ns < 0) {
		p->idle_since_ns = now_ns;
		if (!last_sweep_idle)
			return false;
	}
	return now_ns - p->idle_since_ns >= p->budget_ns;
}

void
io_spin_policy_woke(struct io_spin_policy *p, int64_t now_ns)
{
	p->idle_since_ns = now_ns;
}

struct io_adaptive_state {
	struct io_epollset set;		/* every fd: what the sleep waits on */
	struct io_sweep sweep;		/* --spin busy: the sockets */
	enum io_spin spin;
	struct io_spin_policy policy;
	struct stats *stats;
	struct stats dummy;		/* counted into when cfg->stats is NULL */
};

static int64_t
io_adaptive_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *
io_adaptive_create(const struct io_config *cfg)
{
	struct io_adaptive_state *st;
	int saved;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	if (io_epollset_init(&st->set, "adaptive") == -1) {
		saved = errno;
		free(st);
		errno = saved;
		return NULL;
	}
	st->spin = cfg->spin;
	if (st->spin == IO_SPIN_BUSY &&
	    io_sweep_init(&st->sweep, cfg->max_fds) == -1) {
		saved = errno;
		io_epollset_free(&st->set);
		free(st);
		errno = saved;
		return NULL;
	}
	io_spin_policy_init(&st->policy, cfg->spin_us);
	st->stats = cfg->stats != NULL ? cfg->stats : &st->dummy;
	return st;
}

static void
io_adaptive_destroy(void *state)
{
	struct io_adaptive_state *st = state;

	if (st == NULL)
		return;
	io_epollset_free(&st->set);
	if (st->spin == IO_SPIN_BUSY)
		io_sweep_free(&st->sweep);
	free(st);
}

/* --spin busy: does this registration belong in the sweep? */
static bool
io_adaptive_sweeps_fd(struct io_adaptive_state *st, int fd, int old_mask)
{
	struct stat sb;

	if (old_mask != 0)
		return io_sweep_has(&st->sweep, fd);
	/* One fstat() per new fd, not per sweep.  If it fails, sweeping the
	 * fd is the safe side: recv() sorts it out. */
	return fstat(fd, &sb) == -1 || S_ISSOCK(sb.st_mode);
}

static int
io_adaptive_modify(void *state, int fd, int old_mask, int new_mask)
{
	struct io_adaptive_state *st = state;
	int saved;

	if (io_epollset_modify(&st->set, fd, old_mask, new_mask) == -1)
		return -1;
	if (st->spin != IO_SPIN_BUSY ||
	    (new_mask != 0 && !io_adaptive_sweeps_fd(st, fd, old_mask)))
		return 0;
	if (io_sweep_modify(&st->sweep, fd, new_mask) == 0)
		return 0;
	/* Out of memory for the sweep list: undo, so both agree. */
	saved = errno;
	(void)io_epollset_modify(&st->set, fd, new_mask, old_mask);
	errno = saved;
	return -1;
}

static int
io_adaptive_wait(void *state, int timeout_ms, bool last_sweep_idle,
    struct io_event *fired, int max_fired)
{
	struct io_adaptive_state *st = state;
	int n;

	/* A busy sweep cut short by max_fired is finished first. */
	if (st->spin == IO_SPIN_BUSY && io_sweep_pending(&st->sweep)) {
		st->stats->spins++;
		return io_sweep_fill(&st->sweep, fired, max_fired);
	}
	if (timeout_ms == 0 || !io_spin_policy_sleep_now(&st->policy,
	    io_adaptive_now_ns(), last_sweep_idle)) {
		st->stats->spins++;
		if (st->spin == IO_SPIN_BUSY)
			return io_sweep_fill(&st->sweep, fired, max_fired);
		return io_epollset_wait(&st->set, 0, fired, max_fired);
	}
	st->stats->sleeps++;
	n = io_epollset_wait(&st->set, timeout_ms < 0 ? -1 : timeout_ms, fired,
	    max_fired);
	io_spin_policy_woke(&st->policy, io_adaptive_now_ns());
	if (n > 0)
		st->stats->wakeups++;
	return n;
}

const struct io_driver io_adaptive = {
	.name = "adaptive",
	.summary = "spins while work comes, then sleeps in epoll_wait (--spin-us)",
	.blocks = true,
	.create = io_adaptive_create,
	.destroy = io_adaptive_destroy,
	.modify = io_adaptive_modify,
	.wait = io_adaptive_wait,
};
