/* io_select.c - the select(2) driver: fd_set bitmaps, copied every call. */
/*
 * System call: select(2), the multiplexing model of the course (Stevens
 * 6.3, 6.6).
 *
 * Quirks:
 * - select() overwrites the sets it is given, so the driver keeps master
 *   sets of what it wants and copies them into working sets before every
 *   call.  That copy, and the kernel's walk over every fd below maxfd + 1,
 *   make one call O(highest fd), however few fds are ready.
 * - An fd_set is a fixed bitmap of FD_SETSIZE (1024) bits.  FD_SET on a
 *   higher fd writes past its end; glibc's _FORTIFY_SOURCE turns that into
 *   an abort.  modify() therefore refuses such an fd with EINVAL and the
 *   server turns the client away with "! server full".  No FD_* macro is
 *   ever used on an fd >= FD_SETSIZE, not even FD_ISSET.
 * - maxfd is kept as we go; only removing the highest fd forces a scan
 *   down to the next registered one.
 * - A timeout of -1 passes a NULL timeval: block until something is
 *   ready.  select() may modify the timeval on Linux; it is rebuilt on
 *   every call.
 * - If more fds are ready than fired[] holds, the rest of the working sets
 *   is reported by the next call without calling select() again.
 * - The listener hint IO_LISTENER is ignored: readiness says when to
 *   accept.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

#include "io.h"

struct io_select_state {
	fd_set	rd, wr;		/* master sets: what the server wants */
	fd_set	rd_ready, wr_ready; /* working sets from the last select() */
	int	maxfd;		/* highest registered fd, -1 if none */
	int	next_fd;	/* first unreported fd of the working sets */
	int	left;		/* bits still set in them from next_fd up */
	int	pending;	/* working sets still hold unreported fds */
};

static void *
io_select_create(const struct io_config *cfg)
{
	struct io_select_state *st;

	(void)cfg;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	FD_ZERO(&st->rd);
	FD_ZERO(&st->wr);
	FD_ZERO(&st->rd_ready);
	FD_ZERO(&st->wr_ready);
	st->maxfd = -1;
	return st;
}

static void
io_select_destroy(void *state)
{
	free(state);
}

static int
io_select_modify(void *state, int fd, int old_mask, int new_mask)
{
	struct io_select_state *st = state;

	(void)old_mask;
	if (fd < 0 || fd >= FD_SETSIZE) {
		/* Never registered, so there is nothing to remove. */
		if (new_mask == 0)
			return 0;
		errno = EINVAL;
		return -1;
	}
	if (new_mask & IO_READ)
		FD_SET(fd, &st->rd);
	else
		FD_CLR(fd, &st->rd);
	if (new_mask & IO_WRITE)
		FD_SET(fd, &st->wr);
	else
		FD_CLR(fd, &st->wr);

	if ((new_mask & (IO_READ | IO_WRITE)) && fd > st->maxfd)
		st->maxfd = fd;
	else if (fd == st->maxfd && !(new_mask & (IO_READ | IO_WRITE))) {
		while (st->maxfd >= 0 && !FD_ISSET(st->maxfd, &st->rd) &&
		    !FD_ISSET(st->maxfd, &st->wr))
			st->maxfd--;
	}
	return 0;
}

/* Report what the working sets still hold, from next_fd up. */
static int
io_select_collect(struct io_select_state *st, struct io_event *fired,
    int max_fired)
{
	int fd, r, w, mask, n = 0;

	/* select() said how many bits are set: stop after the last one. */
	for (fd = st->next_fd; fd <= st->maxfd && st->left > 0; fd++) {
		r = FD_ISSET(fd, &st->rd_ready) != 0;
		w = FD_ISSET(fd, &st->wr_ready) != 0;
		if (!r && !w)
			continue;
		if (n == max_fired) {
			st->next_fd = fd;
			st->pending = 1;
			return n;
		}
		st->left -= r + w;
		/* Drop what was removed or is no longer wanted since select(). */
		mask = 0;
		if (r && FD_ISSET(fd, &st->rd))
			mask |= IO_READ;
		if (w && FD_ISSET(fd, &st->wr))
			mask |= IO_WRITE;
		if (mask == 0)
			continue;
		fired[n].fd = fd;
		fired[n].mask = mask;
		n++;
	}
	st->pending = 0;
	st->next_fd = 0;
	return n;
}

static int
io_select_wait(void *state, int timeout_ms, bool last_sweep_idle,
    struct io_event *fired, int max_fired)
{
	struct io_select_state *st = state;
	struct timeval tv, *tvp = NULL;
	int n;

	(void)last_sweep_idle;
	if (max_fired <= 0) {
		errno = EINVAL;
		return -1;
	}
	/* Leftovers first; if they all went stale, ask the kernel anew. */
	if (st->pending && (n = io_select_collect(st, fired, max_fired)) > 0)
		return n;

	st->rd_ready = st->rd;
	st->wr_ready = st->wr;
	if (timeout_ms >= 0) {
		tv.tv_sec = timeout_ms / 1000;
		tv.tv_usec = (timeout_ms % 1000) * 1000;
		tvp = &tv;
	}
	n = select(st->maxfd + 1, &st->rd_ready, &st->wr_ready, NULL, tvp);
	if (n <= 0)
		return n;
	st->next_fd = 0;
	st->left = n;
	return io_select_collect(st, fired, max_fired);
}

const struct io_driver io_select = {
	.name = "select",
	.summary = "select(2) over fd_sets copied each call, fd < FD_SETSIZE",
	.blocks = true,
	.create = io_select_create,
	.destroy = io_select_destroy,
	.modify = io_select_modify,
	.wait = io_select_wait,
};
