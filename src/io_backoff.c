/* io_backoff.c - busy polling that naps after sweeps that found no work. */
/*
 * System call: nanosleep(2), and otherwise the same sweep as the busy
 * driver (io_sweep.c): every registered fd is reported every sweep and
 * EWOULDBLOCK sorts it out.  When the server says the last sweep did no
 * work, the driver sleeps before the next one.  The first sleep asks for
 * BACKOFF_START_US; each further idle sweep doubles it up to
 * --backoff-max-us; any work resets it, so a busy server never sleeps and
 * an idle one wakes about 1000 times a second instead of spinning.  That
 * is the "polling, but not wasteful at idle" point on the CPU/latency
 * curve: the price is up to --backoff-max-us of extra latency for the
 * first message after a quiet spell.
 *
 * Quirks:
 * - Linux rounds every sleep up by the thread's timer slack (50 us by
 *   default), which would turn the first steps (1, 2, 4 ... 32 us) into
 *   50-60 us each and put a floor under the latency after a quiet spell.
 *   create() sets the slack to 1 ns (PR_SET_TIMERSLACK), so the naps are
 *   as long as asked; the loadgen does the same for its send schedule.
 * - nanosleep() is cut short by any signal (EINTR).  wait() then sweeps
 *   at once, as if the nap had ended, so SIGTERM and SIGUSR1 are handled
 *   within one sweep and the remaining sleep is dropped, not resumed.  It
 *   must not return EINTR without sweeping: under a signal storm every
 *   call would nap, be cut short and return, and no sweep would ever run.
 * - No wake fd is needed: a sleep never exceeds --backoff-max-us.
 * - --backoff-max-us 0 turns the sleep off: the driver is then busy.
 */
#define _GNU_SOURCE		/* PR_SET_TIMERSLACK */
#include <sys/prctl.h>

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "io.h"
#include "io_sweep.h"
#include "stats.h"

/* The first nap after work stops, in microseconds. */
#define BACKOFF_START_US	1

struct io_backoff_state {
	struct io_sweep sweep;
	unsigned sleep_us;	/* the last nap; 0 after work */
	unsigned max_us;
	struct stats *stats;
};

static void *
io_backoff_create(const struct io_config *cfg)
{
	struct io_backoff_state *st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	if (io_sweep_init(&st->sweep, cfg->max_fds) == -1) {
		free(st);
		return NULL;
	}
	st->max_us = cfg->backoff_max_us;
	st->stats = cfg->stats;
	/* Best effort: without it the naps are only coarser. */
	(void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	return st;
}

static void
io_backoff_destroy(void *state)
{
	struct io_backoff_state *st = state;

	if (st == NULL)
		return;
	io_sweep_free(&st->sweep);
	free(st);
}

static int
io_backoff_modify(void *state, int fd, int old_mask, int new_mask)
{
	struct io_backoff_state *st = state;

	(void)old_mask;
	return io_sweep_modify(&st->sweep, fd, new_mask);
}

/* Sleep the next step of the ladder; -1 (EINTR) if a signal cut it. */
static int
io_backoff_nap(struct io_backoff_state *st)
{
	struct timespec ts;

	if (st->sleep_us == 0)
		st->sleep_us = BACKOFF_START_US;
	else if (st->sleep_us <= st->max_us / 2)
		st->sleep_us *= 2;
	else
		st->sleep_us = st->max_us;
	if (st->sleep_us > st->max_us)
		st->sleep_us = st->max_us;
	ts.tv_sec = st->sleep_us / 1000000;
	ts.tv_nsec = (long)(st->sleep_us % 1000000) * 1000;
	if (st->stats != NULL)
		st->stats->sleeps++;
	return nanosleep(&ts, NULL);
}

static int
io_backoff_wait(void *state, int timeout_ms, bool last_sweep_idle,
    struct io_event *fired, int max_fired)
{
	struct io_backoff_state *st = state;

	(void)timeout_ms;
	/* Only nap between whole sweeps, never in the middle of one. */
	if (!last_sweep_idle)
		st->sleep_us = 0;
	else if (st->max_us > 0 && !io_sweep_pending(&st->sweep))
		(void)io_backoff_nap(st);
	/* Sweep whether or not a signal cut the nap short: returning EINTR
	 * instead would let a signal storm keep every sweep from happening
	 * (the next call naps again).  The loop looks at the signal flags
	 * after every sweep anyway. */
	return io_sweep_fill(&st->sweep, fired, max_fired);
}

const struct io_driver io_backoff = {
	.name = "backoff",
	.summary = "busy polling, napping after idle sweeps (--backoff-max-us)",
	.blocks = false,
	.create = io_backoff_create,
	.destroy = io_backoff_destroy,
	.modify = io_backoff_modify,
	.wait = io_backoff_wait,
};
