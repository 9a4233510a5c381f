/* io_sweep.c - the dense fd list and the full sweep behind busy and backoff. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "io_sweep.h"

int
io_sweep_init(struct io_sweep *sw, int max_fds)
{
	memset(sw, 0, sizeof(*sw));
	return fdmap_init(&sw->map, max_fds);
}

void
io_sweep_free(struct io_sweep *sw)
{
	free(sw->entries);
	fdmap_free(&sw->map);
	memset(sw, 0, sizeof(*sw));
}

static int
io_sweep_add(struct io_sweep *sw, int fd, int mask)
{
	struct io_sweep_entry *p;
	size_t cap;

	if (fdmap_reserve(&sw->map, fd) == -1)
		return -1;
	if (sw->count == sw->cap) {
		cap = sw->cap ? sw->cap * 2 : 64;
		p = realloc(sw->entries, cap * sizeof(*p));
		if (p == NULL)
			return -1;
		sw->entries = p;
		sw->cap = cap;
	}
	sw->entries[sw->count].fd = fd;
	sw->entries[sw->count].mask = mask;
	fdmap_set(&sw->map, fd, (int)sw->count);
	sw->count++;
	return 0;
}

static void
io_sweep_remove(struct io_sweep *sw, int slot)
{
	struct io_sweep_entry *last;

	fdmap_set(&sw->map, sw->entries[slot].fd, -1);
	sw->count--;
	if ((size_t)slot != sw->count) {
		last = &sw->entries[sw->count];
		sw->entries[slot] = *last;
		fdmap_set(&sw->map, last->fd, slot);
	}
	/*
	 * A sweep cut short resumes at cursor.  Moving an entry (or
	 * shrinking the count under the rotating start) may make it miss the
	 * rest of this sweep or come twice; it is seen again in the next one,
	 * which costs one sweep of latency or one wasted call, nothing more.
	 */
	if (sw->cursor > sw->count)
		sw->cursor = sw->count;
}

/*
 * The caller's old mask is not trusted: what counts is whether the fd is
 * in the list.  That keeps the list right even if the server and the
 * driver ever disagree.
 */
int
io_sweep_modify(struct io_sweep *sw, int fd, int new_mask)
{
	int slot;

	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	slot = fdmap_get(&sw->map, fd);
	if (new_mask == 0) {
		if (slot != -1)
			io_sweep_remove(sw, slot);
		return 0;
	}
	if (slot != -1) {
		sw->entries[slot].mask = new_mask;
		return 0;
	}
	return io_sweep_add(sw, fd, new_mask);
}

int
io_sweep_has(const struct io_sweep *sw, int fd)
{
	return fdmap_get(&sw->map, fd) != -1;
}

int
io_sweep_pending(const struct io_sweep *sw)
{
	return sw->cursor > 0 && sw->cursor < sw->count;
}

/*
 * One sweep reports every registered fd as ready for what it is
 * registered for: the server tries recv() on every reader and send() on
 * every writer, and EWOULDBLOCK sorts out the rest.  The listener is only
 * reported every BUSY_ACCEPT_EVERY sweeps, as IO_READ.  If fired[] is too
 * small, the sweep stops there and the next call carries on from the same
 * place, so every fd is reported once per sweep whatever max_fired is.
 *
 * Each sweep starts one entry further along the array.  No client is
 * always served first, and nothing periodic (a fault injector failing
 * every Nth recv, a client that sends every Nth sweep) can line up with
 * the sweep order and keep hitting the same client.
 */
int
io_sweep_fill(struct io_sweep *sw, struct io_event *fired, int max_fired)
{
	struct io_sweep_entry *e;
	int n = 0, mask;

	if (max_fired <= 0) {
		errno = EINVAL;
		return -1;
	}
	if (sw->cursor == 0 || sw->cursor >= sw->count) {
		sw->cursor = 0;
		sw->first = sw->sweeps;
		sw->accept_now = sw->sweeps % BUSY_ACCEPT_EVERY == 0;
		sw->sweeps++;
	}
	while (sw->cursor < sw->count) {
		if (n == max_fired)
			return n;
		e = &sw->entries[(sw->first + sw->cursor++) % sw->count];
		if (e->mask & IO_LISTENER) {
			if (!sw->accept_now)
				continue;
			mask = IO_READ;
		} else
			mask = e->mask & (IO_READ | IO_WRITE);
		if (mask == 0)
			continue;
		fired[n].fd = e->fd;
		fired[n].mask = mask;
		n++;
	}
	sw->cursor = 0;
	return n;
}
