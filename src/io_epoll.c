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
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "io.h"
#include "log.h"

struct io_epoll_state {
	int	epfd;
	struct epoll_event *events;	/* epoll_wait() output buffer */
	int	cap;
};

#define IO_EPOLL_RW	(IO_READ | IO_WRITE)

static void *
io_epoll_create(const struct io_config *cfg)
{
	struct io_epoll_state *st;
	int saved;

	(void)cfg;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	if ((st->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		saved = errno;
		log_warn("io epoll: epoll_create1: %s", strerror(saved));
		free(st);
		errno = saved;
		return NULL;
	}
	return st;
}

static void
io_epoll_destroy(void *state)
{
	struct io_epoll_state *st = state;

	if (st == NULL)
		return;
	close(st->epfd);
	free(st->events);
	free(st);
}

static int
io_epoll_ctl(struct io_epoll_state *st, int op, int fd, int mask)
{
	struct epoll_event ev;

	ev.events = 0;
	if (mask & IO_READ)
		ev.events |= EPOLLIN;
	if (mask & IO_WRITE)
		ev.events |= EPOLLOUT;
	ev.data.u64 = (uint64_t)(uint32_t)fd | (uint64_t)(uint32_t)mask << 32;
	return epoll_ctl(st->epfd, op, fd, &ev);
}

static int
io_epoll_modify(void *state, int fd, int old_mask, int new_mask)
{
	struct io_epoll_state *st = state;

	if (new_mask == 0) {
		if (old_mask == 0)
			return 0;
		return epoll_ctl(st->epfd, EPOLL_CTL_DEL, fd, NULL);
	}
	if (old_mask == 0) {
		if (io_epoll_ctl(st, EPOLL_CTL_ADD, fd, new_mask) == 0)
			return 0;
		/* Already there after all: take the caller's word for now. */
		if (errno != EEXIST)
			return -1;
		return io_epoll_ctl(st, EPOLL_CTL_MOD, fd, new_mask);
	}
	/* Nothing the kernel needs to know: no system call. */
	if ((old_mask & IO_EPOLL_RW) == (new_mask & IO_EPOLL_RW))
		return 0;
	if (io_epoll_ctl(st, EPOLL_CTL_MOD, fd, new_mask) == 0)
		return 0;
	if (errno != ENOENT)
		return -1;
	return io_epoll_ctl(st, EPOLL_CTL_ADD, fd, new_mask);
}

static int
io_epoll_wait(void *state, int timeout_ms, bool last_sweep_idle,
    struct io_event *fired, int max_fired)
{
	struct io_epoll_state *st = state;
	struct epoll_event *p;
	uint32_t ev;
	int i, n, fd, want, mask, out = 0;

	(void)last_sweep_idle;
	if (max_fired <= 0) {
		errno = EINVAL;
		return -1;
	}
	if (max_fired > st->cap) {
		p = realloc(st->events, (size_t)max_fired * sizeof(*p));
		if (p != NULL) {
			st->events = p;
			st->cap = max_fired;
		} else if (st->cap == 0)
			return -1;
	}
	n = epoll_wait(st->epfd, st->events,
	    max_fired < st->cap ? max_fired : st->cap,
	    timeout_ms < 0 ? -1 : timeout_ms);
	for (i = 0; i < n; i++) {
		ev = st->events[i].events;
		fd = (int)(uint32_t)(st->events[i].data.u64 & 0xffffffffu);
		want = (int)(st->events[i].data.u64 >> 32) & IO_EPOLL_RW;
		mask = 0;
		if (ev & (EPOLLIN | EPOLLPRI))
			mask |= IO_READ;
		if (ev & EPOLLOUT)
			mask |= IO_WRITE;
		if (ev & (EPOLLHUP | EPOLLERR))
			mask |= want ? want : IO_READ;
		if (want)
			mask &= want;
		if (mask == 0)
			continue;
		fired[out].fd = fd;
		fired[out].mask = mask;
		out++;
	}
	return n < 0 ? -1 : out;
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
