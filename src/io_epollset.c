/* io_epollset.c - the epoll interest set behind the epoll and adaptive drivers. */
/* The quirks of epoll(7) and why it is level-triggered: see io_epoll.c. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "io.h"
#include "io_epollset.h"
#include "log.h"

#define IO_EPOLLSET_RW	(IO_READ | IO_WRITE)

int
io_epollset_init(struct io_epollset *es, const char *driver)
{
	int saved;

	memset(es, 0, sizeof(*es));
	if ((es->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		saved = errno;
		log_warn("io %s: epoll_create1: %s", driver, strerror(saved));
		errno = saved;
		return -1;
	}
	return 0;
}

void
io_epollset_free(struct io_epollset *es)
{
	if (es->epfd != -1)
		close(es->epfd);
	free(es->events);
	memset(es, 0, sizeof(*es));
	es->epfd = -1;
}

static int
io_epollset_ctl(struct io_epollset *es, int op, int fd, int mask)
{
	struct epoll_event ev;

	ev.events = 0;
	if (mask & IO_READ)
		ev.events |= EPOLLIN;
	if (mask & IO_WRITE)
		ev.events |= EPOLLOUT;
	ev.data.u64 = (uint64_t)(uint32_t)fd | (uint64_t)(uint32_t)mask << 32;
	return epoll_ctl(es->epfd, op, fd, &ev);
}

int
io_epollset_modify(struct io_epollset *es, int fd, int old_mask,
    int new_mask)
{
	if (new_mask == 0) {
		if (old_mask == 0)
			return 0;
		return epoll_ctl(es->epfd, EPOLL_CTL_DEL, fd, NULL);
	}
	if (old_mask == 0) {
		if (io_epollset_ctl(es, EPOLL_CTL_ADD, fd, new_mask) == 0)
			return 0;
		/* Already there after all: take the caller's word for now. */
		if (errno != EEXIST)
			return -1;
		return io_epollset_ctl(es, EPOLL_CTL_MOD, fd, new_mask);
	}
	/* Nothing the kernel needs to know: no system call. */
	if ((old_mask & IO_EPOLLSET_RW) == (new_mask & IO_EPOLLSET_RW))
		return 0;
	if (io_epollset_ctl(es, EPOLL_CTL_MOD, fd, new_mask) == 0)
		return 0;
	if (errno != ENOENT)
		return -1;
	return io_epollset_ctl(es, EPOLL_CTL_ADD, fd, new_mask);
}

int
io_epollset_wait(struct io_epollset *es, int timeout_ms,
    struct io_event *fired, int max_fired)
{
	struct epoll_event *p;
	uint32_t ev;
	int i, n, fd, want, mask, out = 0;

	if (max_fired <= 0) {
		errno = EINVAL;
		return -1;
	}
	if (max_fired > es->cap) {
		p = realloc(es->events, (size_t)max_fired * sizeof(*p));
		if (p != NULL) {
			es->events = p;
			es->cap = max_fired;
		} else if (es->cap == 0)
			return -1;
	}
	n = epoll_wait(es->epfd, es->events,
	    max_fired < es->cap ? max_fired : es->cap, timeout_ms);
	for (i = 0; i < n; i++) {
		ev = es->events[i].events;
		fd = (int)(uint32_t)(es->events[i].data.u64 & 0xffffffffu);
		want = (int)(es->events[i].data.u64 >> 32) & IO_EPOLLSET_RW;
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
