/* faultshim.c - LD_PRELOAD fault injector: recv/send/accept fail at random. */
/*
 * The integration table runs a second time with this library preloaded
 * into every server it starts (TU_SERVER_PRELOAD, see testutil.c), so the
 * real binary, under every driver, meets what real networks do:
 *   recv    1/8 EAGAIN, 1/16 EINTR, else 1/4 of calls read fewer bytes;
 *   send    1/8 EAGAIN, 1/16 EINTR, else 1/4 of calls write fewer bytes.
 * (accept is left alone: glibc declares it with a transparent union that
 * ISO C cannot match; check_faults.c and the strace test cover it.)
 * A faked EAGAIN does not run the call, so nothing is lost: the data stays
 * in the kernel and every driver comes back to it (select, poll and epoll
 * are level-triggered, busy and backoff look at everything).  Unlike
 * strace --inject this keeps the server's pid (tests signal it) and can
 * shorten a write.  FAULTSHIM_SEED picks the sequence (default 1), so a
 * failure replays.  Built without sanitizers; the ASan server is told not
 * to insist on coming first (verify_asan_link_order=0).
 *
 * Calls with MSG_DONTWAIT pass untouched: the server makes those outside
 * its loop, one shot (the "! server full" notice to a refused connection,
 * the input thrown away before a close), where a real kernel with an
 * empty socket buffer never says EAGAIN.
 *
 * The completion driver (--io uring) makes no recv or send calls: the
 * ring does them.  For it the shim sits on liburing's submit calls
 * instead and shortens 1/4 of the IORING_OP_SEND requests about to be
 * submitted, so the kernel really completes them short and the driver
 * must send the rest, in order.  (Its recvs are not touched: a multishot
 * recv takes whole provided buffers.)
 */
#define _GNU_SOURCE	/* RTLD_NEXT */
#include <sys/socket.h>
#include <sys/types.h>

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>

#include <liburing.h>

static ssize_t	(*real_recv)(int, void *, size_t, int);
static ssize_t	(*real_send)(int, const void *, size_t, int);
static unsigned long shim_state = 1;

__attribute__((constructor)) static void
shim_init(void)
{
	const char *seed = getenv("FAULTSHIM_SEED");

	if (seed != NULL)
		shim_state = strtoul(seed, NULL, 10) | 1;
	*(void **)&real_recv = dlsym(RTLD_NEXT, "recv");
	*(void **)&real_send = dlsym(RTLD_NEXT, "send");
}

static unsigned long
shim_random(void)
{
	/* A fixed LCG: the same seed gives the same faults. */
	shim_state = shim_state * 6364136223846793005UL + 1442695040888963407UL;
	return shim_state >> 33;
}

/* 0: run the call (with *n maybe shortened); -1: fail it with errno. */
static int
shim_decide(size_t *n)
{
	unsigned long dice = shim_random() % 16;

	if (dice < 2) {
		errno = EAGAIN;
		return -1;
	}
	if (dice == 2) {
		errno = EINTR;
		return -1;
	}
	if (dice < 7 && *n > 1)
		*n = 1 + shim_random() % (*n - 1);
	return 0;
}

ssize_t
recv(int fd, void *p, size_t n, int flags)
{
	if (real_recv == NULL)
		shim_init();
	if (!(flags & MSG_DONTWAIT) && shim_decide(&n) == -1)
		return -1;
	return real_recv(fd, p, n, flags);
}

ssize_t
send(int fd, const void *p, size_t n, int flags)
{
	if (real_send == NULL)
		shim_init();
	if (!(flags & MSG_DONTWAIT) && shim_decide(&n) == -1)
		return -1;
	return real_send(fd, p, n, flags);
}

/* ---- the ring ------------------------------------------------------------ */

/* Shorten some of the sends queued in ring's submission queue: the SQEs
 * liburing has handed out (sqe_tail) but not yet passed to the kernel
 * (sqe_head). */
static void
shim_shorten_sends(struct io_uring *ring)
{
	struct io_uring_sqe *sqe;
	unsigned i;

	for (i = ring->sq.sqe_head; i != ring->sq.sqe_tail; i++) {
		sqe = &ring->sq.sqes[i & ring->sq.ring_mask];
		if (sqe->opcode == IORING_OP_SEND && sqe->len > 1 &&
		    shim_random() % 4 == 0)
			sqe->len = 1 + (unsigned)(shim_random() % (sqe->len - 1));
	}
}

int
io_uring_submit(struct io_uring *ring)
{
	static int (*real)(struct io_uring *);

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "io_uring_submit");
	shim_shorten_sends(ring);
	return real(ring);
}

int
io_uring_submit_and_get_events(struct io_uring *ring)
{
	static int (*real)(struct io_uring *);

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT,
		    "io_uring_submit_and_get_events");
	shim_shorten_sends(ring);
	return real(ring);
}

int
io_uring_submit_and_wait_timeout(struct io_uring *ring,
    struct io_uring_cqe **cqe, unsigned wait_nr, struct __kernel_timespec *ts,
    sigset_t *sigmask)
{
	static int (*real)(struct io_uring *, struct io_uring_cqe **, unsigned,
	    struct __kernel_timespec *, sigset_t *);

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT,
		    "io_uring_submit_and_wait_timeout");
	shim_shorten_sends(ring);
	return real(ring, cqe, wait_nr, ts, sigmask);
}
