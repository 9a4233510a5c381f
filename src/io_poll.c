/* io_poll.c - the poll(2) driver: a dense pollfd array with swap-remove. */
/*
 * System call: poll(2).
 *
 * Quirks:
 * - No FD_SETSIZE ceiling, but the kernel still walks the whole array on
 *   every call and the driver walks it again for revents: one call is
 *   O(registered fds), however few are ready.  The array is kept dense
 *   (removal swaps the last entry into the hole, with an fd -> slot map
 *   to find it) so that "registered" is all it walks.
 * - POLLOUT is asked for only while IO_WRITE is set: a connected socket is
 *   almost always writable, and asking for it all the time would make
 *   every call return at once.
 * - POLLHUP and POLLERR are reported whatever was asked for, and level-
 *   triggered: if they were dropped, poll() would return at once forever.
 *   They are passed on as whatever the fd is registered for (IO_READ so
 *   recv() sees the EOF or error, IO_WRITE if output is pending), and as
 *   IO_READ if it is registered for neither.
 * - POLLNVAL means an fd in the array is not open: the server closed it
 *   without removing it first.  That is a bookkeeping bug, never normal.
 *   It is logged, counted in stats.pollnval and the fd is dropped from the
 *   array, since leaving it would make poll() return at once forever.
 * - If more fds are ready than fired[] holds, the rest of the revents is
 *   reported by the next call without calling poll() again.
 * - The listener hint IO_LISTENER is ignored.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>

#include "fdmap.h"
#include "io.h"
#include "log.h"
#include "stats.h"

struct io_poll_state {
	struct pollfd *pfds;	/* dense: entries [0, count) are live */
	int    *masks;		/* registered IO_* mask, parallel to pfds */
	size_t	count, cap;
	struct fdmap map;	/* fd -> index in pfds */
	size_t	next;		/* first unreported slot after poll() */
	int	pending;	/* revents still hold unreported events */
	struct stats *stats;
};

static int
io_poll_grow_array(struct io_poll_state *st)
{
	struct pollfd *p;
	int *m;
	size_t cap;

	cap = st->cap ? st->cap * 2 : 64;
	if ((p = realloc(st->pfds, cap * sizeof(*p))) == NULL)
		return -1;
	st->pfds = p;
	if ((m = realloc(st->masks, cap * sizeof(*m))) == NULL)
		return -1;
	st->masks = m;
	st->cap = cap;
	return 0;
}

static void *
io_poll_create(const struct io_config *cfg)
{
	struct io_poll_state *st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	st->stats = cfg->stats;
	if (fdmap_init(&st->map, cfg->max_fds) == -1) {
		free(st);
		return NULL;
	}
	return st;
}

static void
io_poll_destroy(void *state)
{
	struct io_poll_state *st = state;

	if (st == NULL)
		return;
	free(st->pfds);
	free(st->masks);
	fdmap_free(&st->map);
	free(st);
}

static short
io_poll_events(int mask)
{
	short ev = 0;

	if (mask & IO_READ)
		ev |= POLLIN;
	if (mask & IO_WRITE)
		ev |= POLLOUT;
	return ev;
}

static void
io_poll_remove_slot(struct io_poll_state *st, size_t slot)
{
	size_t last;

	fdmap_set(&st->map, st->pfds[slot].fd, -1);
	last = --st->count;
	if (slot != last) {
		/* revents moves too: an unreported event stays with its fd. */
		st->pfds[slot] = st->pfds[last];
		st->masks[slot] = st->masks[last];
		fdmap_set(&st->map, st->pfds[slot].fd, (int)slot);
	}
}

/* The caller's old mask is not trusted: the slot map says what is there. */
static int
io_poll_modify(void *state, int fd, int old_mask, int new_mask)
{
	struct io_poll_state *st = state;
	int slot;

	(void)old_mask;
	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	slot = fdmap_get(&st->map, fd);
	if (new_mask == 0) {
		if (slot != -1)
			io_poll_remove_slot(st, (size_t)slot);
		return 0;
	}
	if (slot == -1) {
		if (fdmap_reserve(&st->map, fd) == -1)
			return -1;
		if (st->count == st->cap && io_poll_grow_array(st) == -1)
			return -1;
		slot = (int)st->count++;
		st->pfds[slot].fd = fd;
		st->pfds[slot].revents = 0;
		fdmap_set(&st->map, fd, slot);
	}
	st->pfds[slot].events = io_poll_events(new_mask);
	st->masks[slot] = new_mask;
	return 0;
}

/* Turn revents into events, from slot next on, at most max_fired. */
static int
io_poll_collect(struct io_poll_state *st, struct io_event *fired,
    int max_fired)
{
	struct pollfd *p;
	size_t i;
	int n = 0, mask, want;

	i = st->next;
	while (i < st->count) {
		p = &st->pfds[i];
		if (p->revents == 0) {
			i++;
			continue;
		}
		if (p->revents & POLLNVAL) {
			log_warn("io poll: POLLNVAL on fd %d: closed without "
			    "being removed (bug), dropping it", p->fd);
			if (st->stats != NULL)
				st->stats->pollnval++;
			/* The last slot moves into i: look at i again. */
			io_poll_remove_slot(st, i);
			continue;
		}
		if (n == max_fired) {
			st->next = i;
			st->pending = 1;
			return n;
		}
		want = st->masks[i] & (IO_READ | IO_WRITE);
		mask = 0;
		if (p->revents & (POLLIN | POLLPRI))
			mask |= IO_READ;
		if (p->revents & POLLOUT)
			mask |= IO_WRITE;
		if (p->revents & (POLLHUP | POLLERR))
			mask |= want ? want : IO_READ;
		/* Interest may have shrunk since poll() returned. */
		if (want)
			mask &= want;
		p->revents = 0;
		i++;
		if (mask == 0)
			continue;
		fired[n].fd = p->fd;
		fired[n].mask = mask;
		n++;
	}
	st->next = 0;
	st->pending = 0;
	return n;
}

static int
io_poll_wait(void *state, int timeout_ms, bool last_sweep_idle,
    struct io_event *fired, int max_fired)
{
	struct io_poll_state *st = state;
	size_t i;
	int n;

	(void)last_sweep_idle;
	if (max_fired <= 0) {
		errno = EINVAL;
		return -1;
	}
	/* Leftovers first; if they all went stale, ask the kernel anew. */
	if (st->pending && (n = io_poll_collect(st, fired, max_fired)) > 0)
		return n;
	n = poll(st->pfds, (nfds_t)st->count, timeout_ms < 0 ? -1 : timeout_ms);
	if (n <= 0) {
		if (n == 0)
			return 0;
		/* Leave no stale revents behind a failed call. */
		for (i = 0; i < st->count; i++)
			st->pfds[i].revents = 0;
		return -1;
	}
	st->next = 0;
	return io_poll_collect(st, fired, max_fired);
}

const struct io_driver io_poll = {
	.name = "poll",
	.summary = "poll(2) over a dense pollfd array, POLLOUT only when needed",
	.blocks = true,
	.create = io_poll_create,
	.destroy = io_poll_destroy,
	.modify = io_poll_modify,
	.wait = io_poll_wait,
};
