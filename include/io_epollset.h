/* io_epollset.h - an epoll interest set, shared by the epoll and adaptive drivers. */
#ifndef POLLSERV_IO_EPOLLSET_H
#define POLLSERV_IO_EPOLLSET_H

#include "io.h"

struct epoll_event;

/*
 * One epoll fd, level-triggered, with the registered mask riding in
 * epoll_data next to the fd (so no fd map is needed), and the output
 * buffer epoll_wait() fills.  src/io_epoll.c explains the quirks.
 */
struct io_epollset {
	int	epfd;
	struct epoll_event *events;
	int	cap;
};

/* 0, or -1 with errno set (logged). */
int	io_epollset_init(struct io_epollset *es, const char *driver);
void	io_epollset_free(struct io_epollset *es);
/* The io_driver modify() contract: add, change, remove; no system call
 * when the read/write interest does not change. */
int	io_epollset_modify(struct io_epollset *es, int fd, int old_mask,
	    int new_mask);
/* One epoll_wait(); timeout_ms -1 blocks, 0 only looks.  Fills fired[]
 * like io_driver wait(); -1 with errno (EINTR after a signal). */
int	io_epollset_wait(struct io_epollset *es, int timeout_ms,
	    struct io_event *fired, int max_fired);

#endif
