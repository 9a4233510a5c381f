/* io_uring_poll.c - readiness through io_uring: one multishot poll per fd. */
/*
 * System call: io_uring_enter(2), once per wait; io_uring_setup(2) once.
 *
 * Each registered fd has one multishot IORING_OP_POLL_ADD in the ring.
 * The kernel posts a completion (CQE) carrying the poll mask each time
 * the fd's wait queue is woken, and keeps the request armed while the CQE
 * says IORING_CQE_F_MORE.  Interest changes are IORING_OP_POLL_REMOVE
 * with IORING_POLL_UPDATE_EVENTS, removal is IORING_OP_ASYNC_CANCEL; both
 * are queued in the submission ring and go to the kernel with the next
 * wait, in the same io_uring_enter() that sleeps for completions.  So a
 * sweep costs one system call however many fds changed interest, and a
 * wait is O(fds that fired), like epoll.
 *
 * Quirks, each with what the driver does about it:
 * - A multishot poll is edge-triggered: it fires on wakeups, not while an
 *   fd stays ready.  The server reads at most SERVER_READ_BUDGET per
 *   client per sweep and takes a short read for "empty", and the fault
 *   shim fakes EAGAIN, so an fd can be left ready with no wakeup to come.
 *   Every fd a wait reported is therefore re-armed by the next wait: an
 *   update with the same events, which makes the kernel look at the fd
 *   again (vfs_poll) and post a CQE at once if it is still ready.
 *   Arming, and every update, reports readiness that is already there,
 *   so bytes that came before the fd was added are not missed either.
 * - The kernel can end a multishot poll (a CQE without F_MORE): on an
 *   error, on a completion ring it could not post to, on cancel.  The
 *   driver arms a new one for the same fd, up to URING_POLL_REARMS times
 *   in a row without a good event; after that the fd is reported as
 *   ready for what it wants, so the server's recv/send meets the error.
 * - Completions outlive registrations: a CQE can come for an fd that
 *   was removed, closed, and whose number a new connection now has.
 *   user_data carries the fd and a generation bumped on every add and
 *   remove; a CQE whose generation is not the fd's current one is
 *   dropped.  Updates and removes are submitted with
 *   IOSQE_CQE_SKIP_SUCCESS, so only their failures post a CQE (flagged
 *   URING_POLL_CTRL).  ENOENT means the poll had ended (its last CQE
 *   re-arms it with the current events).  EALREADY means the poll was
 *   firing at that moment and the update was *not* applied: the kernel
 *   may still be polling for the old events (POLLIN when the server now
 *   waits for POLLOUT), so the update is sent again.
 * - The ring holds a reference to each polled file, so an fd removed and
 *   closed by the server is really released (FIN sent) when the cancel
 *   reaches the kernel: at the next wait, which the server calls straight
 *   after the sweep.  A poll that stayed armed would keep the socket open
 *   for good, which is why removal is a cancel and not POLL_REMOVE (see
 *   modify).  pollserv always removes before it closes.
 * - POLLHUP and POLLERR come whatever was asked for; they are passed on
 *   as whatever the fd is registered for, as in the epoll driver.
 * - The completion ring is sized for every fd firing at once
 *   (URING_POLL_CQ_MAX at most); past that the kernel keeps the overflow
 *   (IORING_FEAT_NODROP, required) and the driver flushes it.
 * - If io_uring cannot be set up (kernel.io_uring_disabled, a seccomp
 *   filter, an old kernel), the probe says why in one line and pollserv
 *   exits 1 (src/uring_ring.c).
 * - The IO_LISTENER hint is ignored.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "io_fdtab.h"
#include "log.h"
#include "stats.h"
#include "uring_ring.h"

#define URING_POLL_SQ		1024	/* SQEs queued between submits */
#define URING_POLL_CQ_MIN	4096
#define URING_POLL_CQ_MAX	65536	/* 1 MiB of CQEs */
/* A multishot poll that keeps ending with an error is not re-armed for
 * ever. */
#define URING_POLL_REARMS	3
/* user_data of updates and removes: their failures are not events. */
#define URING_POLL_CTRL		(UINT64_C(1) << 63)

#define URING_POLL_RW		(IO_READ | IO_WRITE)

struct uring_poll_fd {
	int	mask;		/* registered IO_* mask, 0 if not registered */
	int	ready;		/* IO_* seen in CQEs, not yet reported */
	uint32_t gen;		/* bumped on add and remove */
	unsigned rearms;	/* re-arms in a row without a good CQE */
	bool	queued;		/* in pending[] */
};

struct uring_poll_state {
	struct io_uring ring;
	struct uring_poll_fd *fds;
	size_t	fds_len;
	int    *pending;		/* fds with ready bits, oldest first */
	size_t	npending;
	int    *carry;			/* fds the last wait reported */
	size_t	ncarry;
	struct stats *stats;
};

/* user_data: bit 63 URING_POLL_CTRL, 62-32 the generation, 31-0 the fd. */
static uint64_t
uring_poll_data(const struct uring_poll_state *st, int fd)
{
	return (uint64_t)(st->fds[fd].gen & 0x7fffffff) << 32 | (uint32_t)fd;
}

static unsigned
uring_poll_events(int mask)
{
	return (mask & IO_READ ? POLLIN : 0) | (mask & IO_WRITE ? POLLOUT : 0);
}

static int
uring_poll_grow(struct uring_poll_state *st, int fd)
{
	struct uring_poll_fd *p;
	size_t len = st->fds_len, lists = st->fds_len;
	int *a, *b;

	/* At most one entry per fd number in either list. */
	if ((a = io_fdtab_grow(st->pending, &lists, sizeof(*a), fd)) == NULL)
		return -1;
	st->pending = a;
	lists = len;
	if ((b = io_fdtab_grow(st->carry, &lists, sizeof(*b), fd)) == NULL)
		return -1;
	st->carry = b;
	if ((p = io_fdtab_grow(st->fds, &st->fds_len, sizeof(*p), fd)) == NULL)
		return -1;
	st->fds = p;
	return 0;
}

static void *
uring_poll_create(const struct io_config *cfg)
{
	struct uring_poll_state *st;
	char why[URING_WHY_LEN];
	unsigned cq;
	int saved;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	st->stats = cfg->stats;
	cq = cfg->max_fds > URING_POLL_CQ_MAX ? URING_POLL_CQ_MAX :
	    (unsigned)(cfg->max_fds > 0 ? cfg->max_fds : 1);
	if (cq < URING_POLL_CQ_MIN)
		cq = URING_POLL_CQ_MIN;
	if (uring_poll_grow(st, 63) == -1)
		goto fail;
	if (uring_ring_open(&st->ring, URING_POLL_SQ, cq, why,
	    sizeof(why)) == -1) {
		saved = errno;
		log_warn("io uring-poll: %s", why);
		errno = saved;
		goto fail;
	}
	return st;
fail:
	saved = errno;
	free(st->fds);
	free(st->pending);
	free(st->carry);
	free(st);
	errno = saved;
	return NULL;
}

static void
uring_poll_destroy(void *state)
{
	struct uring_poll_state *st = state;

	if (st == NULL)
		return;
	/* Cancels every poll and drops the ring's file references. */
	io_uring_queue_exit(&st->ring);
	free(st->fds);
	free(st->pending);
	free(st->carry);
	free(st);
}

/* A free SQE, submitting what is queued if the ring is full. */
static struct io_uring_sqe *
uring_poll_sqe(struct uring_poll_state *st)
{
	struct io_uring_sqe *sqe;
	int rc;

	if ((sqe = io_uring_get_sqe(&st->ring)) != NULL)
		return sqe;
	if ((rc = io_uring_submit(&st->ring)) < 0) {
		errno = -rc;
		return NULL;
	}
	if ((sqe = io_uring_get_sqe(&st->ring)) == NULL)
		errno = EBUSY;
	return sqe;
}

static int
uring_poll_arm(struct uring_poll_state *st, int fd)
{
	struct io_uring_sqe *sqe;

	if ((sqe = uring_poll_sqe(st)) == NULL)
		return -1;
	io_uring_prep_poll_multishot(sqe, fd,
	    uring_poll_events(st->fds[fd].mask));
	io_uring_sqe_set_data64(sqe, uring_poll_data(st, fd));
	return 0;
}

/* New events for the fd's poll; the kernel checks readiness again. */
static int
uring_poll_update(struct uring_poll_state *st, int fd)
{
	struct io_uring_sqe *sqe;
	uint64_t data = uring_poll_data(st, fd);

	if ((sqe = uring_poll_sqe(st)) == NULL)
		return -1;
	io_uring_prep_poll_update(sqe, data, 0,
	    uring_poll_events(st->fds[fd].mask),
	    IORING_POLL_UPDATE_EVENTS | IORING_POLL_ADD_MULTI);
	io_uring_sqe_set_data64(sqe, URING_POLL_CTRL | data);
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	return 0;
}

/* The caller's old mask is not trusted: the fd table says what is there. */
static int
uring_poll_modify(void *state, int fd, int old_mask, int new_mask)
{
	struct uring_poll_state *st = state;
	struct io_uring_sqe *sqe;
	struct uring_poll_fd *f;
	int cur;

	(void)old_mask;
	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	if ((size_t)fd >= st->fds_len && uring_poll_grow(st, fd) == -1)
		return -1;
	f = &st->fds[fd];
	cur = f->mask;
	if (new_mask == 0) {
		if (cur == 0)
			return 0;
		if ((sqe = uring_poll_sqe(st)) == NULL)
			return -1;
		/* Not POLL_REMOVE: that fails with EALREADY while the poll
		 * is firing, and a poll left armed would keep the closed
		 * socket alive.  A cancel marks it and always lands. */
		io_uring_prep_cancel64(sqe, uring_poll_data(st, fd), 0);
		io_uring_sqe_set_data64(sqe, URING_POLL_CTRL |
		    uring_poll_data(st, fd));
		sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
		f->mask = 0;
		f->ready = 0;
		f->gen = (f->gen + 1) & 0x7fffffff;	/* the rest is stale */
		return 0;
	}
	if (cur == 0) {
		f->gen = (f->gen + 1) & 0x7fffffff;
		f->mask = new_mask;
		f->ready = 0;
		f->rearms = 0;
		if (uring_poll_arm(st, fd) == -1) {
			f->mask = 0;
			return -1;
		}
		return 0;
	}
	f->mask = new_mask;
	if ((cur & URING_POLL_RW) == (new_mask & URING_POLL_RW))
		return 0;
	f->ready &= new_mask;
	if (uring_poll_update(st, fd) == -1) {
		f->mask = cur;
		return -1;
	}
	return 0;
}

static void
uring_poll_mark(struct uring_poll_state *st, int fd, int mask)
{
	struct uring_poll_fd *f = &st->fds[fd];

	f->ready |= mask;
	if (!f->queued) {
		f->queued = true;
		st->pending[st->npending++] = fd;
	}
}

/* One completion: a poll event, a poll that ended, or a failed update. */
static void
uring_poll_complete(struct uring_poll_state *st,
    const struct io_uring_cqe *cqe)
{
	uint64_t data = io_uring_cqe_get_data64(cqe);
	struct uring_poll_fd *f;
	int fd, want, mask = 0;

	fd = (int)(uint32_t)data;
	if (fd < 0 || (size_t)fd >= st->fds_len)
		return;
	f = &st->fds[fd];
	if (f->mask == 0 || f->gen != (uint32_t)(data >> 32 & 0x7fffffff))
		return;		/* removed, or a previous registration */
	if (data & URING_POLL_CTRL) {
		/* EALREADY: the poll was firing and the update did not
		 * happen; the events may be the old ones: again.  ENOENT:
		 * the poll ended, and its last CQE re-arms it. */
		if (cqe->res == -EALREADY && uring_poll_update(st, fd) == -1)
			uring_poll_mark(st, fd, f->mask & URING_POLL_RW);
		else if (cqe->res != -ENOENT && cqe->res != -EALREADY)
			log_debug("io uring-poll: poll update on fd %d: %s",
			    fd, strerror(-cqe->res));
		return;
	}
	want = f->mask & URING_POLL_RW;
	if (cqe->res > 0) {
		f->rearms = 0;
		if (cqe->res & (POLLIN | POLLPRI))
			mask |= IO_READ;
		if (cqe->res & POLLOUT)
			mask |= IO_WRITE;
		if (cqe->res & (POLLHUP | POLLERR))
			mask |= want ? want : IO_READ;
	}
	if (!(cqe->flags & IORING_CQE_F_MORE)) {
		/* The kernel ended it: arm a fresh one, within reason. */
		if (f->rearms++ < URING_POLL_REARMS) {
			if (uring_poll_arm(st, fd) == -1)
				log_warn("io uring-poll: cannot re-arm fd %d: "
				    "%s", fd, strerror(errno));
		} else if (f->rearms == URING_POLL_REARMS + 1) {
			log_warn("io uring-poll: poll on fd %d keeps ending "
			    "(%s); reporting it ready", fd, cqe->res < 0 ?
			    strerror(-cqe->res) : "no error");
		}
		/* Let the state machine meet whatever went wrong. */
		if (cqe->res < 0)
			mask |= want ? want : IO_READ;
	}
	if (want)
		mask &= want;
	if (mask != 0)
		uring_poll_mark(st, fd, mask);
}

/* Take every CQE the ring holds, and any the kernel kept in overflow. */
static void
uring_poll_reap(struct uring_poll_state *st)
{
	struct io_uring_cqe *cqe;
	unsigned head, n;

	for (;;) {
		n = 0;
		io_uring_for_each_cqe(&st->ring, head, cqe) {
			uring_poll_complete(st, cqe);
			n++;
		}
		io_uring_cq_advance(&st->ring, n);
		if (!io_uring_cq_has_overflow(&st->ring))
			break;
		if (io_uring_get_events(&st->ring) < 0)
			break;
	}
}

/* Move up to max_fired ready fds into fired[], oldest first. */
static int
uring_poll_fill(struct uring_poll_state *st, struct io_event *fired,
    int max_fired)
{
	size_t i, keep = 0;
	int fd, mask, out = 0;

	for (i = 0; i < st->npending; i++) {
		fd = st->pending[i];
		mask = st->fds[fd].ready & st->fds[fd].mask & URING_POLL_RW;
		if (mask == 0) {
			st->fds[fd].queued = false;
			st->fds[fd].ready = 0;
			continue;
		}
		if (out == max_fired) {
			st->pending[keep++] = fd;	/* next time, first */
			continue;
		}
		st->fds[fd].queued = false;
		st->fds[fd].ready = 0;
		fired[out].fd = fd;
		fired[out].mask = mask;
		out++;
		st->carry[st->ncarry++] = fd;
	}
	st->npending = keep;
	return out;
}

static int
uring_poll_wait(void *state, int timeout_ms, bool last_sweep_idle,
    struct io_event *fired, int max_fired)
{
	struct uring_poll_state *st = state;
	struct __kernel_timespec ts, *tsp;
	struct io_uring_cqe *cqe;
	size_t i;
	int rc, n, fd;

	(void)last_sweep_idle;
	if (max_fired <= 0) {
		errno = EINVAL;
		return -1;
	}
	/* What was reported last time may still be ready: look again. */
	for (i = 0; i < st->ncarry; i++) {
		fd = st->carry[i];
		if (st->fds[fd].mask != 0 && !st->fds[fd].queued &&
		    uring_poll_update(st, fd) == -1)
			uring_poll_mark(st, fd, st->fds[fd].mask &
			    URING_POLL_RW);	/* cannot ask: assume ready */
	}
	st->ncarry = 0;
	for (;;) {
		/* Leftovers from a full fired[] mean no sleeping. */
		if (st->npending > 0 || timeout_ms == 0) {
			ts.tv_sec = 0;
			ts.tv_nsec = 0;
			tsp = &ts;
		} else if (timeout_ms > 0) {
			ts.tv_sec = timeout_ms / 1000;
			ts.tv_nsec = (long long)(timeout_ms % 1000) * 1000000;
			tsp = &ts;
		} else
			tsp = NULL;
		rc = io_uring_submit_and_wait_timeout(&st->ring, &cqe, 1, tsp,
		    NULL);
		uring_poll_reap(st);
		n = uring_poll_fill(st, fired, max_fired);
		if (n > 0)
			return n;
		if (rc == -EINTR) {
			errno = EINTR;
			return -1;
		}
		if (rc < 0 && rc != -ETIME) {
			errno = -rc;
			return -1;
		}
		/* Only stale completions: sleep again, unless time is up.
		 * (The time left is not tracked: a stale CQE restarts the
		 * server's timeout, which only delays a timer tick.) */
		if (rc == -ETIME || tsp == &ts)
			return 0;
	}
}

const struct io_driver io_uring_poll = {
	.name = "uring-poll",
	.summary = "io_uring multishot POLL_ADD per fd, one syscall per wait",
	.blocks = true,
	.create = uring_poll_create,
	.destroy = uring_poll_destroy,
	.modify = uring_poll_modify,
	.wait = uring_poll_wait,
	.probe = uring_ring_probe,
};
