/* uring_ring.c - io_uring setup shared by the ring drivers, with reasons. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "uring_ring.h"

/* The sysctl that can switch io_uring off (Linux 6.6 and later). */
#define URING_DISABLED_SYSCTL	"/proc/sys/kernel/io_uring_disabled"

/* kernel.io_uring_disabled: 0, 1 (only its group), 2 (off); -1 unknown. */
static int
uring_disabled_sysctl(void)
{
	FILE *f;
	int v = -1;

	if ((f = fopen(URING_DISABLED_SYSCTL, "r")) == NULL)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* One line on why io_uring_setup(2) said err. */
static void
uring_explain(int err, char *why, size_t len)
{
	int disabled;
	const char *hint = "";

	if (why == NULL || len == 0)
		return;
	disabled = uring_disabled_sysctl();
	switch (err) {
	case EPERM:
	case EACCES:
		if (disabled == 2)
			hint = " (kernel.io_uring_disabled=2: io_uring is "
			    "switched off for everyone)";
		else if (disabled == 1)
			hint = " (kernel.io_uring_disabled=1: only "
			    "kernel.io_uring_group may use it)";
		else
			hint = " (a seccomp filter or security module forbids "
			    "it)";
		break;
	case ENOSYS:
		hint = " (the kernel has no io_uring, or a seccomp filter "
		    "hides it)";
		break;
	case ENOMEM:
		hint = " (the locked-memory limit or the memory cgroup is "
		    "too small for the rings)";
		break;
	case EINVAL:
		hint = " (the kernel is too old for the flags used)";
		break;
	}
	snprintf(why, len, "io_uring unavailable: io_uring_setup: %s%s",
	    strerror(err), hint);
}

int
uring_ring_open(struct io_uring *ring, unsigned sq_entries,
    unsigned cq_entries, char *why, size_t len)
{
	/* Most wanted first: COOP_TASKRUN (5.19) saves an interrupt per
	 * wakeup while the server runs, SUBMIT_ALL (5.18) keeps one bad SQE
	 * from holding back the rest; plain CQSIZE goes back to 5.5. */
	static const unsigned tries[] = {
		IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN |
		    IORING_SETUP_SUBMIT_ALL,
		IORING_SETUP_CQSIZE,
	};
	struct io_uring_params p;
	size_t i;
	int rc = -EINVAL;

	for (i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		memset(&p, 0, sizeof(p));
		p.flags = tries[i];
		p.cq_entries = cq_entries > sq_entries ? cq_entries :
		    2 * sq_entries;
		rc = io_uring_queue_init_params(sq_entries, ring, &p);
		if (rc != -EINVAL)
			break;
	}
	if (rc == 0 && !(p.features & IORING_FEAT_NODROP)) {
		/* Before 5.5 a full completion ring dropped events. */
		io_uring_queue_exit(ring);
		if (why != NULL)
			snprintf(why, len, "io_uring unavailable: the kernel "
			    "drops completions when the ring is full (no "
			    "IORING_FEAT_NODROP, Linux 5.5)");
		errno = EOPNOTSUPP;
		return -1;
	}
	if (rc < 0) {
		uring_explain(-rc, why, len);
		errno = -rc;
		return -1;
	}
	return 0;
}

int
uring_ring_probe(char *why, size_t len)
{
	struct __kernel_timespec ts = { 1, 0 };
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	int p[2], rc, saved;

	if (uring_ring_open(&ring, 4, 8, why, len) == -1)
		return -1;
	if (pipe(p) == -1) {
		saved = errno;
		io_uring_queue_exit(&ring);
		if (why != NULL)
			snprintf(why, len, "io_uring probe: pipe: %s",
			    strerror(saved));
		errno = saved;
		return -1;
	}
	/* A multishot poll on a pipe with a byte in it must fire and stay. */
	(void)!write(p[1], "p", 1);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_poll_multishot(sqe, p[0], POLLIN);
	io_uring_sqe_set_data64(sqe, 1);
	/* It returns how many SQEs it submitted (liburing 2.3; older ones
	 * returned 0), or -errno. */
	rc = io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, NULL);
	if (rc >= 0 && (cqe->res < 0 || !(cqe->flags & IORING_CQE_F_MORE)))
		rc = cqe->res < 0 ? cqe->res : -EOPNOTSUPP;
	close(p[0]);
	close(p[1]);
	io_uring_queue_exit(&ring);
	if (rc < 0) {
		if (why != NULL)
			snprintf(why, len, "io_uring unavailable: no multishot "
			    "poll (Linux 5.13 and later): %s", strerror(-rc));
		errno = -rc;
		return -1;
	}
	return 0;
}

unsigned
uring_ring_cq_size(int max_fds)
{
	unsigned cq = max_fds > 65536 ? 65536 :
	    (unsigned)(max_fds > 0 ? max_fds : 1);

	return cq < 4096 ? 4096 : cq;
}

struct io_uring_sqe *
uring_ring_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe;
	int rc;

	if ((sqe = io_uring_get_sqe(ring)) != NULL)
		return sqe;
	if ((rc = io_uring_submit(ring)) < 0) {
		errno = -rc;
		return NULL;
	}
	if ((sqe = io_uring_get_sqe(ring)) == NULL)
		errno = EBUSY;
	return sqe;
}

struct __kernel_timespec *
uring_ring_timeout(int timeout_ms, struct __kernel_timespec *ts)
{
	if (timeout_ms < 0)
		return NULL;
	ts->tv_sec = timeout_ms / 1000;
	ts->tv_nsec = (long long)(timeout_ms % 1000) * 1000000;
	return ts;
}

void
uring_ring_reap(struct io_uring *ring,
    void (*one)(void *arg, const struct io_uring_cqe *cqe), void *arg)
{
	struct io_uring_cqe *cqe;
	unsigned head, n;

	for (;;) {
		n = 0;
		io_uring_for_each_cqe(ring, head, cqe) {
			one(arg, cqe);
			n++;
		}
		io_uring_cq_advance(ring, n);
		if (!io_uring_cq_has_overflow(ring))
			break;
		if (io_uring_get_events(ring) < 0)
			break;
	}
}
