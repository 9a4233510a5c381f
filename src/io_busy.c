/* io_busy.c - the busy-polling driver: every socket, every sweep, no sleep. */
/*
 * System call: none.  This driver never asks the kernel what is ready; it
 * reports every registered fd as ready for everything it is registered
 * for, and the server finds out the truth by calling recv(), send() and
 * accept() on nonblocking sockets, treating EWOULDBLOCK as "move on".
 * That is the polling model of the course (Stevens 6.1), and its cost is
 * what the benchmark measures: one failed system call per idle client per
 * sweep, and a core kept at 100% even when nobody talks.
 *
 * Quirks:
 * - The timeout is ignored: the driver never blocks, so a signal is seen
 *   by the loop at the next sweep, and no wake fd is needed.
 * - The listener (registered with IO_LISTENER) is reported only every
 *   BUSY_ACCEPT_EVERY sweeps (io_sweep.h), because a failed accept() costs
 *   about ten failed recv() calls.
 * - A sweep is O(registered fds) whatever happens on the wire.
 */
#include <errno.h>
#include <stdlib.h>

#include "io.h"
#include "io_sweep.h"

static void *
io_busy_create(const struct io_config *cfg)
{
	struct io_sweep *sw;

	if ((sw = malloc(sizeof(*sw))) == NULL)
		return NULL;
	if (io_sweep_init(sw, cfg->max_fds) == -1) {
		free(sw);
		return NULL;
	}
	return sw;
}

static void
io_busy_destroy(void *state)
{
	struct io_sweep *sw = state;

	if (sw == NULL)
		return;
	io_sweep_free(sw);
	free(sw);
}

static int
io_busy_modify(void *state, int fd, int old_mask, int new_mask)
{
	(void)old_mask;
	return io_sweep_modify(state, fd, new_mask);
}

static int
io_busy_wait(void *state, int timeout_ms, bool last_sweep_idle,
    struct io_event *fired, int max_fired)
{
	(void)timeout_ms;
	(void)last_sweep_idle;
	return io_sweep_fill(state, fired, max_fired);
}

const struct io_driver io_busy = {
	.name = "busy",
	.summary = "recv/send on every socket every sweep, never sleeps",
	.blocks = false,
	.create = io_busy_create,
	.destroy = io_busy_destroy,
	.modify = io_busy_modify,
	.wait = io_busy_wait,
};
