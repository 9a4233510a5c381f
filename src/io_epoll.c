/* io_epoll.c - the epoll(7) driver, level-triggered. */
/*
 * System call: epoll_create1(2), epoll_ctl(2), epoll_wait(2).
 *
 * Why level-triggered: the server reads at most SERVER_READ_BUDGET bytes
 * from one client per sweep, so that a flooder cannot starve the others.
 * With edge-triggered epoll a client left with unread data after its
 * budget would never be reported again (no new edge), and the server
 * would have to keep its own "still readable" list to make up for it.
 * Level-triggered reports it again on the next epoll_wait(), which is
 * exactly the busy and poll drivers' behaviour, so the state machine stays
 * the same for every driver.  The cost, re-reporting an fd whose data has
 * not been read yet, only arises when the budget was hit, i.e. under load.
 *
 * Quirks:
 * - The interest list lives in the kernel, so one epoll_wait() is
 *   O(ready fds), not O(registered fds): idle clients cost nothing per
 *   call.  The price is one epoll_ctl() system call per interest change,
 *   so EPOLLOUT is switched on and off only when the want-write state
 *   really changes (modify() compares the masks before calling the kernel).
 * - epoll registers the open file description, not the fd number.  An fd
 *   that is closed while a dup() of it lives on keeps firing under its old
 *   number; the server therefore removes (EPOLL_CTL_DEL) before close().
 * - EPOLLHUP and EPOLLERR are always reported, whatever was asked for.
 *   They are passed on as whatever the fd is registered for (IO_READ so
 *   recv() sees the EOF or error, IO_WRITE if output is pending), and as
 *   IO_READ if it is registered for neither.
 * - epoll_wait() with maxevents smaller than the ready list returns the
 *   first ones and, being level-triggered, requeues them at the tail, so
 *   the rest are reported first next time: a small fired[] is fair.
 * - The registered mask rides in epoll_data next to the fd, so no fd map
 *   is needed.  EPOLL_CLOEXEC keeps the epoll fd out of exec'd children.
 * - The listener hint IO_LISTENER is ignored.
 *
 * The interest set itself lives in io_epollset.c, which the adaptive
 * driver shares: it sleeps in the same kind of epoll_wait().
 */
#include <stdlib.h>

#include "io.h"
#include "io_epollset.h"

static void *
io_epoll_create(const struct io_config *cfg)
{
	struct io_epollset *es;

	(void)cfg;
	if ((es = malloc(sizeof(*es))) == NULL)
		return NULL;
	if (io_epollset_init(es, "epoll") == -1) {
		free(es);
		return NULL;
	}
	return es;
}

static void
io_epoll_destroy(void *state)
{
	if (state == NULL)
		return;
	io_epollset_free(state);
	free(state);
}

static int
io_epoll_modify(void *state, int fd, int old_mask, int new_mask)
{
	return io_epollset_modify(state, fd, old_mask, new_mask);
}

static int
io_epoll_wait(void *state, int timeout_ms, bool last_sweep_idle,
    struct io_event *fired, int max_fired)
{
	(void)last_sweep_idle;
	return io_epollset_wait(state, timeout_ms < 0 ? -1 : timeout_ms, fired,
	    max_fired);
}

const struct io_driver io_epoll = {
	.name = "epoll",
	.summary = "epoll(7), level-triggered: a wait costs O(ready fds)",
	.blocks = true,
	.create = io_epoll_create,
	.destroy = io_epoll_destroy,
	.modify = io_epoll_modify,
	.wait = io_epoll_wait,
};
