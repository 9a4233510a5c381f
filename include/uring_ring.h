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

/* Completion slots for a driver that may see max_fds fds fire at once:
 * between 4096 and 65536 (1 MiB of CQEs); past that the kernel keeps the
 * overflow (IORING_FEAT_NODROP, which uring_ring_open requires). */
unsigned uring_ring_cq_size(int max_fds);
/* A free SQE, submitting what is queued if the ring is full; NULL with
 * errno set if even that fails. */
struct io_uring_sqe *uring_ring_sqe(struct io_uring *ring);
/* timeout_ms as io_uring wants it in *ts; NULL for -1 (no timeout). */
struct __kernel_timespec *uring_ring_timeout(int timeout_ms,
	    struct __kernel_timespec *ts);
/* Hand every CQE the ring holds to one(arg, cqe), and those the kernel
 * kept in overflow too. */
void	uring_ring_reap(struct io_uring *ring,
	    void (*one)(void *arg, const struct io_uring_cqe *cqe), void *arg);

#endif
