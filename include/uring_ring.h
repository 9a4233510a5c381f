/* uring_ring.h - setting up an io_uring, or saying in one line why not. */
#ifndef POLLSERV_URING_RING_H
#define POLLSERV_URING_RING_H

#include <stddef.h>

#include <liburing.h>

/* Room for the one-line reason uring_ring_open() and the probe give. */
#define URING_WHY_LEN	256

/*
 * Set up ring with sq_entries submission slots and at least cq_entries
 * completion slots, with the cheapest task-work flags this kernel takes.
 * 0 on success; else -1 with errno set and, if why is not NULL, one line
 * (no newline) saying why: the io_uring_disabled sysctl, a seccomp filter,
 * a kernel too old, the memory limit.  Shared by every io_uring driver.
 */
int	uring_ring_open(struct io_uring *ring, unsigned sq_entries,
	    unsigned cq_entries, char *why, size_t len);
/*
 * Can this process use io_uring the way the drivers do?  Sets up a small
 * ring and arms a multishot poll on a pipe (kernel 5.13 and later) to
 * find out.  0 if so; -1 with errno and one line in why if not.
 */
int	uring_ring_probe(char *why, size_t len);

#endif
