/* io_uring.c - the completion model: the ring does the recv, send and accept. */
/*
 * UNP's model 5, asynchronous I/O.  The readiness drivers say "you may
 * call recv() now"; this one has already called it.  Each client socket
 * has one multishot IORING_OP_RECV drawing from a ring of provided
 * buffers, the listener one multishot IORING_OP_ACCEPT, and output goes
 * out as IORING_OP_SEND, queued during the sweep and submitted with the
 * next wait: one io_uring_enter(2) per sweep carries every send of the
 * sweep and waits for the next completions.
 *
 * The client state machine is still the only one.  The driver offers the
 * server its own recv/send/accept/shutdown/close (the `sysio` member of
 * struct io_driver; server.c installs them in the sysio seam), and its
 * wait() reports IO_READ when bytes, an EOF or an error have arrived and
 * IO_WRITE when the fd's send slot has room, so client.c reads, frames,
 * queues and closes exactly as it does over epoll:
 *   recv     copies bytes the completions delivered; EAGAIN when none;
 *            0 after the EOF and -1 with the error once the bytes are out.
 *   send     copies into the fd's send slot (at most URING_SEND_MAX) and
 *            returns the count; EAGAIN when the slot is full.
 *   accept   pops a connection the multishot accept took; EAGAIN.
 *   shutdown SHUT_WR waits for the slot to empty first.
 *   close    waits for every operation on the fd to complete first.
 * These act on the one instance there is (a second create() is EBUSY);
 * for an fd the driver does not hold they are the plain system calls.
 *
 * Quirks, each with what the driver does about it:
 * - Completions are level-triggered here, not in the kernel: every fd the
 *   last wait reported, and every fd a completion, a recv() or a send()
 *   touched, is looked at again by the next wait, so bytes left behind by
 *   the per-sweep read budget (or a short read the server asked for) are
 *   reported again without a new completion.
 * - Provided buffers are shared by every socket.  Each completion's bytes
 *   are copied out into the fd's own queue at once and the buffer goes
 *   straight back to the ring, so a client that is not read (echo
 *   backpressure) pins no shared buffer and cannot starve the others.
 *   When the ring was empty anyway the recv ends with ENOBUFS (no
 *   IORING_CQE_F_MORE): the buffers are back by the next wait, which arms
 *   it again.  Any multishot the kernel ends (no F_MORE) is armed again
 *   while the fd still wants to read.
 * - Backpressure: an fd not registered for IO_READ (echo output at the
 *   cap), or holding URING_RECV_HIGH unread bytes, has its recv cancelled;
 *   the rest stays in the kernel's socket buffer and TCP slows the peer.
 *   What already completed before the cancel lands is kept, so one fd's
 *   queue can pass the mark by what its socket buffer held.
 * - A send may complete short: the rest goes again, in order, before any
 *   byte queued after it (one send in flight per fd).  The slot cannot be
 *   moved or grown while a send points into it, so then only its spare
 *   room takes new bytes.
 * - The kernel holds the fd's file while an operation is in flight, and
 *   an SQE names the fd by number.  SQEs are therefore made only just
 *   before the io_uring_enter that submits them, and a close() with
 *   output still in the send slot is deferred: the slot is sent (a short
 *   send needs the fd again) and only when the last completion is in is
 *   the fd really closed.  A peer that takes nothing gets URING_CLOSE_MS,
 *   then the send is cancelled.  With nothing to send, the recv's cancel
 *   (by user_data, naming no fd) is queued and the fd closed at once; the
 *   kernel lets the socket go when the cancel lands, at the next wait.  destroy() gives what is left URING_EXIT_MS to go out
 *   (the shutdown notice), then io_uring_queue_exit cancels the rest.
 * - Completions outlive registrations (an fd removed and registered again
 *   for a new connection): user_data carries the op, a generation bumped
 *   on every add, and the fd; a stale completion only gives its buffer
 *   back.  Cancels carry IOSQE_CQE_SKIP_SUCCESS; one that fails with
 *   EALREADY is sent again.
 * - Removing the listener cancels its accept at once (an extra
 *   io_uring_enter): otherwise the kernel would go on accepting for the
 *   closed listener until the next wait.  Connections taken but not yet
 *   handed to the server are closed then.  When the multishot accept ends
 *   with an error (EMFILE), accept() returns it once; while it is not
 *   armed, accept() asks the kernel directly, which is what the server's
 *   spare-fd refusal needs.
 * - An fd that is not a socket (the server's wake pipe), or one registered
 *   with IO_EXTERNAL (the bus's hiredis socket), gets a one-shot
 *   IORING_OP_POLL_ADD, armed again by every wait (and again when its
 *   interest changes), and is reported by readiness like uring-poll's;
 *   its owner makes the system calls.
 * - If io_uring, its buffer rings or multishot recv (Linux 6.0) cannot be
 *   set up, the probe says why in one line and pollserv exits 1
 *   (src/uring_ring.c does the setup).
 */
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "io.h"
#include "io_fdtab.h"
#include "log.h"
#include "sysio.h"
#include "uring_ring.h"

#define URING_SQ		1024	/* SQEs queued between submits */
#define URING_BUF_SIZE		4096	/* one provided buffer */
#define URING_BUFS_MIN		64	/* provided buffers: a power of 2 */
#define URING_BUFS_MAX		256	/* 1 MiB, touched at start-up */
#define URING_BGID		0
/* Unread bytes one fd may queue before its recv is cancelled (the read
 * budget of one sweep), and the hard cap past which it is an error. */
#define URING_RECV_HIGH		(64 * 1024)
#define URING_RECV_CAP		(16 * 1024 * 1024)
/* The send slot: bytes handed over by send() and not yet completed.  It
 * grows only while no send points into it, so a reader that stalls holds
 * at most this plus what the kernel took. */
#define URING_SEND_MAX		(64 * 1024)
#define URING_SEND_KEEP		512	/* kept allocated once drained */
/* Connections taken and not yet handed over, before the accept stops. */
#define URING_ACCEPT_HIGH	64
#define URING_CLOSE_MS		2000
#define URING_EXIT_MS		1000

/* user_data: bit 63 a cancel, 62-60 the op, 59-32 the generation, 31-0
 * the fd. */
enum uring_op { URING_OP_RECV = 1, URING_OP_SEND, URING_OP_ACCEPT,
    URING_OP_POLL };
#define URING_CANCEL		(UINT64_C(1) << 63)
#define URING_GEN_MASK		0x0fffffffu

enum uring_kind { URING_NONE, URING_SOCKET, URING_LISTENER, URING_POLLED };

/* Where a multishot (recv, accept) or one-shot (poll) request stands. */
enum uring_req { URING_IDLE, URING_ARMED, URING_CANCELLING };

struct uring_accepts {
	int    *fds;			/* taken, not yet handed over */
	size_t	head, len, size;
	int	err;			/* the error that ended the accept */
	bool	polling;		/* out of fds: readiness, real accept() */
	int	over;			/* taken past a lowered fd limit, or -1 */
};

/* What a socket or the listener has beyond its entry in the fd table,
 * allocated while it is registered: the table is indexed by fd number and
 * so sized by the highest fd ever seen, and must stay small. */
struct uring_io {
	struct buf in;			/* delivered, not yet recv()d */
	struct buf out;			/* the send slot */
	size_t	inflight;		/* bytes of the send in the kernel */
	int	rerr, werr;		/* recv/send errors to hand over */
	int64_t	close_by_ms;
	ino_t	ino;			/* which socket: the number is reused */
	struct uring_accepts acc;	/* the listener's */
};

struct uring_fd {
	uint8_t	kind;			/* enum uring_kind */
	uint8_t	req;			/* enum uring_req: recv, accept or poll */
	uint8_t	armed;			/* enum uring_op: which, for its cancel */
	uint8_t	mask;			/* registered IO_* interest */
	uint8_t	pmask;			/* poll: the interest it was armed for */
	bool	recancel;		/* a cancel said EALREADY: again */
	bool	touched;		/* in st->touched */
	bool	closing;		/* close() deferred */
	bool	eof;			/* the recv said 0 */
	bool	shut_wr;		/* shutdown(SHUT_WR) once drained */
	bool	send_cancelled;
	int16_t	pready;			/* poll: revents not yet reported */
	uint32_t gen;
	uint32_t closing_slot;		/* index in st->closing */
	struct uring_io *io;		/* sockets and the listener */
};

struct uring_state {
	struct io_uring ring;
	struct io_uring_buf_ring *br;
	size_t	br_len;			/* bytes mapped for br */
	char   *pool;
	unsigned nbufs;
	int	nrecycled;		/* buffers added since the last advance */
	struct uring_fd *fds;
	size_t	fds_len;
	int    *touched;		/* fds to look at in the next wait */
	size_t	ntouched;
	int    *carry;			/* fds the last wait reported */
	size_t	ncarry;
	int    *closing;		/* fds whose close is deferred */
	size_t	nclosing;
};

/* The sysio functions have no state argument: the one instance. */
static struct uring_state *uring_the;

static int64_t
uring_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t
uring_data(const struct uring_state *st, enum uring_op op, int fd)
{
	return (uint64_t)op << 60 |
	    (uint64_t)(st->fds[fd].gen & URING_GEN_MASK) << 32 | (uint32_t)fd;
}

/* The fd's entry if the driver holds that fd, else NULL. */
static struct uring_fd *
uring_get(struct uring_state *st, int fd)
{
	if (st == NULL || fd < 0 || (size_t)fd >= st->fds_len ||
	    st->fds[fd].kind == URING_NONE)
		return NULL;
	return &st->fds[fd];
}

static int
uring_grow(struct uring_state *st, int fd)
{
	size_t len = st->fds_len, n;
	void *p;
	int **lists[] = { &st->touched, &st->carry, &st->closing };
	size_t i;

	/* Each list holds an fd at most once, so fds_len entries do. */
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		n = len;
		if ((p = io_fdtab_grow(*lists[i], &n, sizeof(int), fd)) == NULL)
			return -1;
		*lists[i] = p;
	}
	if ((p = io_fdtab_grow(st->fds, &st->fds_len, sizeof(*st->fds),
	    fd)) == NULL)
		return -1;
	st->fds = p;
	return 0;
}

static void
uring_touch(struct uring_state *st, int fd)
{
	struct uring_fd *f = &st->fds[fd];

	if (!f->touched) {
		f->touched = true;
		st->touched[st->ntouched++] = fd;
	}
}

/* ---- the ring ------------------------------------------------------------ */

static void
uring_cancel(struct uring_state *st, int fd, enum uring_op op)
{
	struct io_uring_sqe *sqe;
	uint64_t target = uring_data(st, op, fd);

	if ((sqe = uring_ring_sqe(&st->ring)) == NULL)
		return;
	io_uring_prep_cancel64(sqe, target, 0);
	io_uring_sqe_set_data64(sqe, URING_CANCEL | target);
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
}

/* Give a provided buffer back; the kernel sees it at the next advance. */
static void
uring_recycle(struct uring_state *st, unsigned bid)
{
	io_uring_buf_ring_add(st->br, st->pool + (size_t)bid * URING_BUF_SIZE,
	    URING_BUF_SIZE, (unsigned short)bid,
	    io_uring_buf_ring_mask(st->nbufs), st->nrecycled++);
}

static void
uring_recycle_flush(struct uring_state *st)
{
	if (st->nrecycled > 0)
		io_uring_buf_ring_advance(st->br, st->nrecycled);
	st->nrecycled = 0;
}

/* ---- readiness ----------------------------------------------------------- */

static size_t
uring_send_room(const struct uring_fd *f)
{
	size_t len = buf_len(&f->io->out), room = URING_SEND_MAX - len;

	/* A send points into the slot: no moving, no growing. */
	if (f->io->inflight > 0 && f->io->out.size - f->io->out.end < room)
		room = f->io->out.size - f->io->out.end;
	return room;
}

/* What the server would find now, as IO_* bits, before its interest. */
static int
uring_ready(const struct uring_fd *f)
{
	int r = 0;

	switch (f->kind) {
	case URING_SOCKET:
		if (buf_len(&f->io->in) > 0 || f->eof || f->io->rerr != 0)
			r |= IO_READ;
		if (f->io->werr != 0 || uring_send_room(f) > 0)
			r |= IO_WRITE;
		break;
	case URING_LISTENER:
		if (f->io->acc.len > 0 || f->io->acc.err != 0 || f->pready != 0)
			r |= IO_READ;
		break;
	case URING_POLLED:
		if (f->pready & (POLLIN | POLLPRI))
			r |= IO_READ;
		if (f->pready & POLLOUT)
			r |= IO_WRITE;
		if (f->pready & (POLLHUP | POLLERR))
			r |= f->mask ? f->mask : IO_READ;
		break;
	case URING_NONE:
		break;
	}
	return r & (IO_READ | IO_WRITE);
}

/* ---- bringing each fd's requests up to date ------------------------------ */

/* Release what the fd holds beyond its table entry; connections taken
 * for the listener and not handed over are closed. */
static void
uring_io_free(struct uring_fd *f)
{
	struct uring_accepts *a;
	size_t j;

	if (f->io == NULL)
		return;
	a = &f->io->acc;
	for (j = 0; j < a->len; j++)
		close(a->fds[a->head + j]);
	if (a->over != -1)
		close(a->over);
	free(a->fds);
	buf_free(&f->io->in);
	buf_free(&f->io->out);
	free(f->io);
	f->io = NULL;
}

static void
uring_close_now(struct uring_state *st, int fd)
{
	struct uring_fd *f = &st->fds[fd];
	int last;

	if (f->closing) {
		last = st->closing[--st->nclosing];
		st->closing[f->closing_slot] = last;
		st->fds[last].closing_slot = f->closing_slot;
	}
	close(fd);
	uring_io_free(f);
	f->kind = URING_NONE;
	f->closing = f->eof = f->shut_wr = f->send_cancelled = false;
	f->pready = 0;
	f->mask = 0;
}

static void
uring_service_socket(struct uring_state *st, int fd)
{
	struct uring_fd *f = &st->fds[fd];
	struct io_uring_sqe *sqe;
	bool want;

	want = (f->mask & IO_READ) && !f->closing && !f->eof && f->io->rerr == 0 &&
	    buf_len(&f->io->in) < URING_RECV_HIGH;
	if (want && f->req == URING_IDLE && (sqe = uring_ring_sqe(&st->ring)) != NULL) {
		io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = URING_BGID;
		io_uring_sqe_set_data64(sqe, uring_data(st, URING_OP_RECV, fd));
		f->req = URING_ARMED;
		f->armed = URING_OP_RECV;
	} else if (!want && (f->req == URING_ARMED || (f->recancel &&
	    f->req == URING_CANCELLING))) {
		uring_cancel(st, fd, f->armed);
		f->req = URING_CANCELLING;
		f->recancel = false;
	}
	if (f->io->werr != 0)
		buf_consume(&f->io->out, buf_len(&f->io->out));
	if (buf_len(&f->io->out) > 0 && f->io->inflight == 0 &&
	    (sqe = uring_ring_sqe(&st->ring)) != NULL) {
		f->io->inflight = buf_len(&f->io->out);
		io_uring_prep_send(sqe, fd, buf_head(&f->io->out), f->io->inflight,
		    MSG_NOSIGNAL);
		io_uring_sqe_set_data64(sqe, uring_data(st, URING_OP_SEND, fd));
	}
	if (f->shut_wr && buf_len(&f->io->out) == 0 && f->io->inflight == 0) {
		f->shut_wr = false;
		if (!f->closing)
			(void)shutdown(fd, SHUT_WR);
	}
	if (f->closing && f->req == URING_IDLE && f->io->inflight == 0 &&
	    buf_len(&f->io->out) == 0)
		uring_close_now(st, fd);
}

static void
uring_service_listener(struct uring_state *st, int fd)
{
	struct uring_fd *f = &st->fds[fd];
	struct uring_accepts *a = &f->io->acc;
	struct io_uring_sqe *sqe;
	bool want;

	/* A multishot accept turns the whole backlog into fds at once; past
	 * one accept batch waiting, it is stopped until the server has taken
	 * them, so a connect storm stays in the kernel's backlog as it does
	 * with the other drivers.  Out of fds, readiness instead. */
	want = f->mask != 0 && a->err == 0 && a->over == -1 &&
	    (a->polling ? f->pready == 0 : a->len < URING_ACCEPT_HIGH);
	if (want && f->req == URING_IDLE && (sqe = uring_ring_sqe(&st->ring)) != NULL) {
		f->armed = a->polling ? URING_OP_POLL : URING_OP_ACCEPT;
		if (a->polling)
			io_uring_prep_poll_add(sqe, fd, POLLIN);
		else
			io_uring_prep_multishot_accept(sqe, fd, NULL, NULL,
			    SOCK_NONBLOCK | SOCK_CLOEXEC);
		io_uring_sqe_set_data64(sqe, uring_data(st, f->armed, fd));
		f->req = URING_ARMED;
	} else if ((f->mask == 0 || (a->polling ? f->armed == URING_OP_ACCEPT :
	    a->len >= URING_ACCEPT_HIGH)) && (f->req == URING_ARMED ||
	    (f->recancel && f->req == URING_CANCELLING))) {
		uring_cancel(st, fd, f->armed);
		f->req = URING_CANCELLING;
		f->recancel = false;
	}
}

static unsigned
uring_poll_events(int mask)
{
	return (mask & IO_READ ? POLLIN : 0) | (mask & IO_WRITE ? POLLOUT : 0);
}

static void
uring_service_polled(struct uring_state *st, int fd)
{
	struct uring_fd *f = &st->fds[fd];
	struct io_uring_sqe *sqe;

	/* What it fired for and no longer wants is never reported. */
	if (f->pready != 0 && !(uring_ready(f) & f->mask))
		f->pready = 0;
	/* One shot, armed again each wait once reported: level-triggered. */
	if (f->mask != 0 && f->req == URING_IDLE && f->pready == 0 &&
	    (sqe = uring_ring_sqe(&st->ring)) != NULL) {
		io_uring_prep_poll_add(sqe, fd, uring_poll_events(f->mask));
		io_uring_sqe_set_data64(sqe, uring_data(st, URING_OP_POLL, fd));
		f->req = URING_ARMED;
		f->armed = URING_OP_POLL;
		f->pmask = f->mask & (IO_READ | IO_WRITE);
	} else if ((f->mask & (IO_READ | IO_WRITE)) != f->pmask &&
	    (f->req == URING_ARMED || (f->recancel &&
	    f->req == URING_CANCELLING))) {
		/* Removed, or armed for other events: again once cancelled. */
		uring_cancel(st, fd, URING_OP_POLL);
		f->req = URING_CANCELLING;
		f->recancel = false;
	}
}

static void
uring_service(struct uring_state *st, int fd)
{
	switch (st->fds[fd].kind) {
	case URING_SOCKET:
		uring_service_socket(st, fd);
		break;
	case URING_LISTENER:
		uring_service_listener(st, fd);
		break;
	case URING_POLLED:
		uring_service_polled(st, fd);
		break;
	case URING_NONE:
		break;
	}
}

/* Deferred closes past their time: cancel the send they wait for.
 * Returns the ms until the next one is due, -1 if none. */
static int
uring_close_deadlines(struct uring_state *st)
{
	int64_t now, left, next = -1;
	struct uring_fd *f;
	size_t i;

	if (st->nclosing == 0)
		return -1;
	now = uring_now_ms();
	for (i = 0; i < st->nclosing; i++) {
		f = &st->fds[st->closing[i]];
		if (f->io->inflight == 0 || f->send_cancelled)
			continue;
		if ((left = f->io->close_by_ms - now) <= 0) {
			f->send_cancelled = true;
			uring_cancel(st, st->closing[i], URING_OP_SEND);
		} else if (next == -1 || left < next)
			next = left;
	}
	return next > INT32_MAX ? INT32_MAX : (int)next;
}

/* ---- completions --------------------------------------------------------- */

static void
uring_complete_recv(struct uring_state *st, struct uring_fd *f,
    const struct io_uring_cqe *cqe)
{
	const char *p;

	if (cqe->res > 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
		p = st->pool + (size_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT) *
		    URING_BUF_SIZE;
		if (f->io->rerr == 0 && buf_append(&f->io->in, p, (size_t)cqe->res) == -1)
			f->io->rerr = errno;	/* past URING_RECV_CAP, or ENOMEM */
	}
	if (cqe->flags & IORING_CQE_F_MORE)
		return;
	f->req = URING_IDLE;
	if (cqe->res == 0)
		f->eof = true;
	else if (cqe->res < 0 && cqe->res != -ENOBUFS &&
	    cqe->res != -ECANCELED && f->io->rerr == 0)
		f->io->rerr = -cqe->res;
}

static void
uring_complete_send(struct uring_fd *f, const struct io_uring_cqe *cqe)
{
	f->io->inflight = 0;
	if (cqe->res > 0) {
		buf_consume(&f->io->out, (size_t)cqe->res);	/* short: the rest
							   goes again */
		if (buf_len(&f->io->out) == 0)
			buf_shrink(&f->io->out, URING_SEND_KEEP);
	} else if (cqe->res == -ECANCELED) {
		buf_consume(&f->io->out, buf_len(&f->io->out));	/* close timed out */
	} else if (cqe->res < 0 && cqe->res != -EAGAIN && cqe->res != -EINTR) {
		f->io->werr = -cqe->res;
		buf_consume(&f->io->out, buf_len(&f->io->out));
	}
}

/* Is fd at or past the soft fd limit as it is now? */
static bool
uring_past_fd_limit(int fd)
{
	struct rlimit rl;

	return getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY && (rlim_t)fd >= rl.rlim_cur;
}

static void
uring_complete_accept(struct uring_fd *f, const struct io_uring_cqe *cqe)
{
	struct uring_accepts *a = &f->io->acc;
	int *p;

	if (cqe->res >= 0 && uring_past_fd_limit(cqe->res)) {
		/* The request took the fd limit when it was armed; it was
		 * lowered since.  This connection is for the server to refuse,
		 * and the accept is armed again under the new limit. */
		if (a->over == -1)
			a->over = cqe->res;
		else
			close(cqe->res);
		a->err = EMFILE;
		a->polling = true;
	} else if (cqe->res >= 0) {
		if (a->head + a->len == a->size && a->head > 0) {
			memmove(a->fds, a->fds + a->head, a->len * sizeof(int));
			a->head = 0;
		}
		if (a->len == a->size) {
			if ((p = realloc(a->fds, (a->size ? 2 * a->size : 64) *
			    sizeof(int))) == NULL) {
				close(cqe->res);	/* dropped, like a full
							   backlog */
				goto more;
			}
			a->fds = p;
			a->size = a->size ? 2 * a->size : 64;
		}
		a->fds[a->head + a->len++] = cqe->res;
	}
more:
	if (cqe->flags & IORING_CQE_F_MORE)
		return;
	f->req = URING_IDLE;
	if (cqe->res < 0 && cqe->res != -ECANCELED)
		a->err = -cqe->res;
}

static void
uring_complete_one(struct uring_state *st, const struct io_uring_cqe *cqe)
{
	uint64_t data = io_uring_cqe_get_data64(cqe);
	enum uring_op op = (enum uring_op)(data >> 60 & 7);
	int fd = (int)(uint32_t)data;
	struct uring_fd *f = NULL;

	if (fd >= 0 && (size_t)fd < st->fds_len &&
	    st->fds[fd].kind != URING_NONE &&
	    (st->fds[fd].gen & URING_GEN_MASK) ==
	    (uint32_t)(data >> 32 & URING_GEN_MASK))
		f = &st->fds[fd];
	if (data & URING_CANCEL) {
		/* EALREADY: the request was running and may go on. */
		if (f != NULL && cqe->res == -EALREADY) {
			f->recancel = true;
			uring_touch(st, fd);
		}
		return;
	}
	if (f == NULL) {
		/* A registration gone: give back what it holds. */
		if (op == URING_OP_ACCEPT && cqe->res >= 0)
			close(cqe->res);
		return;
	}
	switch (op) {
	case URING_OP_RECV:
		uring_complete_recv(st, f, cqe);
		break;
	case URING_OP_SEND:
		uring_complete_send(f, cqe);
		break;
	case URING_OP_ACCEPT:
		uring_complete_accept(f, cqe);
		break;
	case URING_OP_POLL:
		f->req = URING_IDLE;
		if (cqe->res > 0)
			f->pready |= cqe->res;
		else if (cqe->res < 0 && cqe->res != -ECANCELED)
			f->pready |= POLLERR;
		break;
	}
	uring_touch(st, fd);
}

/* One CQE; the buffer it used (stale or not) goes back to the ring. */
static void
uring_complete(void *arg, const struct io_uring_cqe *cqe)
{
	struct uring_state *st = arg;

	uring_complete_one(st, cqe);
	if (cqe->flags & IORING_CQE_F_BUFFER)
		uring_recycle(st, cqe->flags >> IORING_CQE_BUFFER_SHIFT);
}

/* Take every CQE; the buffers they used go back to the ring. */
static void
uring_reap(struct uring_state *st)
{
	uring_ring_reap(&st->ring, uring_complete, st);
	uring_recycle_flush(st);
}

/* ---- the driver interface ------------------------------------------------ */

static void uring_destroy(void *state);

static int
uring_setup_buffers(struct uring_state *st, int max_fds)
{
	struct io_uring_buf_reg reg;
	unsigned i;
	int rc;

	st->nbufs = URING_BUFS_MIN;
	while (st->nbufs < URING_BUFS_MAX && st->nbufs < (unsigned)max_fds)
		st->nbufs *= 2;
	st->br_len = st->nbufs * sizeof(struct io_uring_buf);
	st->br = mmap(NULL, st->br_len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (st->br == MAP_FAILED) {
		st->br = NULL;
		return -1;
	}
	if ((st->pool = malloc((size_t)st->nbufs * URING_BUF_SIZE)) == NULL)
		return -1;
	/* The ring hands buffers out in turn, so under load every one is
	 * touched sooner or later: pay for it now, and RSS does not creep. */
	memset(st->pool, 0, (size_t)st->nbufs * URING_BUF_SIZE);
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)st->br;
	reg.ring_entries = st->nbufs;
	reg.bgid = URING_BGID;
	if ((rc = io_uring_register_buf_ring(&st->ring, &reg, 0)) < 0) {
		log_warn("io uring: provided buffer ring (Linux 5.19): %s",
		    strerror(-rc));
		errno = -rc;
		return -1;
	}
	io_uring_buf_ring_init(st->br);
	for (i = 0; i < st->nbufs; i++)
		uring_recycle(st, i);
	uring_recycle_flush(st);
	return 0;
}

static void *
uring_create(const struct io_config *cfg)
{
	struct uring_state *st;
	char why[URING_WHY_LEN];
	unsigned cq;
	int saved;

	if (uring_the != NULL) {
		errno = EBUSY;		/* the sysio functions need the one */
		return NULL;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	cq = uring_ring_cq_size(cfg->max_fds);
	if (uring_grow(st, 63) == -1)
		goto fail;
	if (uring_ring_open(&st->ring, URING_SQ, cq, why, sizeof(why)) == -1) {
		saved = errno;
		log_warn("io uring: %s", why);
		errno = saved;
		goto fail;
	}
	uring_the = st;
	if (uring_setup_buffers(st, cfg->max_fds) == -1) {
		saved = errno;
		uring_destroy(st);
		errno = saved;
		return NULL;
	}
	return st;
fail:
	saved = errno;
	free(st->fds);
	free(st->touched);
	free(st->carry);
	free(st->closing);
	free(st);
	errno = saved;
	return NULL;
}

/* Give deferred closes (the last words of a shutdown) a moment to go. */
static void
uring_flush_closing(struct uring_state *st)
{
	int64_t end = uring_now_ms() + URING_EXIT_MS, left;
	struct __kernel_timespec ts;
	struct io_uring_cqe *cqe;
	size_t i;

	while (st->nclosing > 0 && (left = end - uring_now_ms()) > 0) {
		for (i = 0; i < st->nclosing; i++)
			uring_touch(st, st->closing[i]);
		while (st->ntouched > 0) {
			int fd = st->touched[--st->ntouched];

			st->fds[fd].touched = false;
			uring_service(st, fd);
		}
		if (st->nclosing == 0)
			break;
		(void)io_uring_submit_and_wait_timeout(&st->ring, &cqe, 1,
		    uring_ring_timeout((int)left, &ts), NULL);
		uring_reap(st);
	}
}

static void
uring_destroy(void *state)
{
	struct uring_state *st = state;
	struct uring_fd *f;
	size_t i;

	if (st == NULL)
		return;
	uring_flush_closing(st);
	/* Cancels every request and drops the ring's file references. */
	io_uring_queue_exit(&st->ring);
	for (i = 0; i < st->fds_len; i++) {
		f = &st->fds[i];
		if (f->closing)
			close((int)i);
		uring_io_free(f);
	}
	if (st->br != NULL)
		munmap(st->br, st->br_len);
	free(st->pool);
	free(st->fds);
	free(st->touched);
	free(st->carry);
	free(st->closing);
	free(st);
	if (uring_the == st)
		uring_the = NULL;
}

static enum uring_kind
uring_kind_of(int mask, const struct stat *sb)
{
	if (mask & IO_LISTENER)
		return URING_LISTENER;
	if (mask & IO_EXTERNAL)
		return URING_POLLED;	/* its owner does the I/O */
	if (S_ISSOCK(sb->st_mode))
		return URING_SOCKET;
	return URING_POLLED;
}

static void
uring_drop_accepts(struct uring_fd *f)
{
	while (f->io->acc.len > 0) {
		close(f->io->acc.fds[f->io->acc.head++]);
		f->io->acc.len--;
	}
	if (f->io->acc.over != -1)
		close(f->io->acc.over);
	f->io->acc.over = -1;
	f->io->acc.head = 0;
	f->io->acc.err = 0;
}

static int
uring_add(struct uring_state *st, int fd, int new_mask)
{
	struct uring_fd *f = &st->fds[fd];
	bool touched = f->touched;		/* it may be in the list */
	struct stat sb;
	uint32_t gen;

	if (f->kind != URING_NONE && f->closing) {
		errno = EBUSY;		/* still closing: cannot be reused */
		return -1;
	}
	if (f->kind == URING_LISTENER && (new_mask & IO_LISTENER)) {
		f->mask = (uint8_t)new_mask;	/* watched again after a pause */
		uring_touch(st, fd);
		return 0;
	}
	if (fstat(fd, &sb) == -1)
		return -1;
	/* The same socket, its interest back from 0 (a client the bus room
	 * held): what it has queued either way is still its own. */
	if (f->kind == URING_SOCKET && f->io->ino == sb.st_ino &&
	    uring_kind_of(new_mask, &sb) == URING_SOCKET) {
		f->mask = (uint8_t)new_mask;
		uring_touch(st, fd);
		return 0;
	}
	gen = (f->gen + 1) & URING_GEN_MASK;	/* the rest is stale */
	uring_io_free(f);
	memset(f, 0, sizeof(*f));
	f->gen = gen;
	f->touched = touched;
	f->kind = uring_kind_of(new_mask, &sb);
	if (f->kind != URING_POLLED) {
		if ((f->io = calloc(1, sizeof(*f->io))) == NULL) {
			f->kind = URING_NONE;
			return -1;
		}
		buf_init(&f->io->in, URING_RECV_CAP);
		buf_init(&f->io->out, URING_SEND_MAX);
		f->io->acc.over = -1;
		f->io->ino = sb.st_ino;
	}
	f->mask = (uint8_t)new_mask;
	uring_touch(st, fd);
	return 0;
}

static int
uring_modify(void *state, int fd, int old_mask, int new_mask)
{
	struct uring_state *st = state;
	struct uring_fd *f;

	(void)old_mask;
	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	if ((size_t)fd >= st->fds_len && uring_grow(st, fd) == -1)
		return -1;
	f = &st->fds[fd];
	/* A removed fd added again is a new registration (the listener
	 * after a pause keeps its queue). */
	if (new_mask != 0 && (f->kind == URING_NONE || f->mask == 0))
		return uring_add(st, fd, new_mask);
	if (f->kind == URING_NONE)
		return 0;
	f->mask = new_mask;
	if (new_mask == 0 && f->kind == URING_LISTENER) {
		/* Stop the kernel accepting for it now, not next wait. */
		uring_service(st, fd);
		(void)io_uring_submit(&st->ring);
		uring_drop_accepts(f);
		return 0;
	}
	if (new_mask == 0 && f->kind == URING_POLLED)
		f->pready = 0;
	uring_touch(st, fd);
	return 0;
}

/*
 * SQEs are made here and only here, just before the io_uring_enter that
 * submits them: an SQE names its fd by number, and one left queued while
 * the caller runs could reach the kernel after that number was closed and
 * reused.  Brings every touched fd's requests up to date and keeps only
 * those ready for what they are registered for; true if there are any
 * (the wait must not sleep then).
 */
static bool
uring_service_touched(struct uring_state *st)
{
	size_t i, keep = 0;
	struct uring_fd *f;
	int fd;

	for (i = 0; i < st->ntouched; i++) {
		fd = st->touched[i];
		f = &st->fds[fd];
		uring_service(st, fd);
		if (f->kind != URING_NONE && (uring_ready(f) & f->mask))
			st->touched[keep++] = fd;
		else
			f->touched = false;
	}
	st->ntouched = keep;
	return keep > 0;
}

/* Report every touched fd that is ready, oldest first.  The others stay
 * touched for the next wait to service; so do those fired[] has no room
 * for, first in line. */
static int
uring_fill(struct uring_state *st, struct io_event *fired, int max_fired)
{
	size_t i, keep = 0;
	int fd, mask, out = 0;
	struct uring_fd *f;

	for (i = 0; i < st->ntouched; i++) {
		fd = st->touched[i];
		f = &st->fds[fd];
		mask = f->kind == URING_NONE ? 0 : uring_ready(f) & f->mask;
		if (mask == 0 || out == max_fired) {
			st->touched[keep++] = fd;
			continue;
		}
		f->touched = false;
		if (f->kind != URING_SOCKET)
			f->pready = 0;	/* armed again by the next wait */
		fired[out].fd = fd;
		fired[out].mask = mask;
		out++;
		st->carry[st->ncarry++] = fd;
	}
	st->ntouched = keep;
	return out;
}

static int
uring_wait(void *state, int timeout_ms, bool last_sweep_idle,
    struct io_event *fired, int max_fired)
{
	struct uring_state *st = state;
	struct __kernel_timespec ts, *tsp;
	struct io_uring_cqe *cqe;
	bool hot;
	size_t i;
	int rc, n, due;

	(void)last_sweep_idle;
	if (max_fired <= 0) {
		errno = EINVAL;
		return -1;
	}
	/* What was reported last time may still be ready: look again. */
	for (i = 0; i < st->ncarry; i++)
		uring_touch(st, st->carry[i]);
	st->ncarry = 0;
	for (;;) {
		hot = uring_service_touched(st);
		due = uring_close_deadlines(st);
		if (due != -1 && (timeout_ms < 0 || due < timeout_ms))
			timeout_ms = due + 1;
		tsp = uring_ring_timeout(hot ? 0 : timeout_ms, &ts);
		/* The sweep's sends go out and the next completions come in,
		 * in one io_uring_enter.  Not sleeping, enter anyway: liburing
		 * skips the call when a CQE is waiting, and the kernel would
		 * not run the completions it has queued for us. */
		if (tsp != NULL && ts.tv_sec == 0 && ts.tv_nsec == 0)
			rc = io_uring_submit_and_get_events(&st->ring);
		else
			rc = io_uring_submit_and_wait_timeout(&st->ring, &cqe, 1,
			    tsp, NULL);
		uring_reap(st);
		if ((n = uring_fill(st, fired, max_fired)) > 0)
			return n;
		if (rc == -EINTR) {
			errno = EINTR;
			return -1;
		}
		if (rc < 0 && rc != -ETIME) {
			errno = -rc;
			return -1;
		}
		/* Only the driver's own completions: sleep again, unless a
		 * timeout was given (a timer may be due). */
		if (tsp != NULL)
			return 0;
	}
}

/* ---- the server's system calls, done by the ring ------------------------- */

static ssize_t
uring_recv(int fd, void *p, size_t n, int flags)
{
	struct uring_fd *f = uring_get(uring_the, fd);
	size_t k;

	if (f == NULL || f->kind != URING_SOCKET)
		return recv(fd, p, n, flags);
	if ((k = buf_len(&f->io->in)) > 0) {
		if (k > n)
			k = n;
		memcpy(p, buf_head(&f->io->in), k);
		buf_consume(&f->io->in, k);
		if (buf_len(&f->io->in) == 0)
			buf_shrink(&f->io->in, 0);
		uring_touch(uring_the, fd);	/* below the mark: read on */
		return (ssize_t)k;
	}
	if (f->io->rerr != 0) {
		errno = f->io->rerr;
		return -1;
	}
	if (f->eof)
		return 0;
	/* One shot outside the loop (the read-away before a close): what
	 * the recv has not taken is still in the kernel. */
	if (flags & MSG_DONTWAIT)
		return recv(fd, p, n, flags);
	errno = EAGAIN;
	return -1;
}

static void
uring_send_now(int fd, struct uring_fd *f)
{
	ssize_t n;

	while (buf_len(&f->io->out) > 0) {
		n = send(fd, buf_head(&f->io->out), buf_len(&f->io->out),
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0)
			buf_consume(&f->io->out, (size_t)n);
		else if (n == -1 && errno == EINTR)
			continue;
		else {
			if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
				f->io->werr = errno;
			return;
		}
	}
}

static ssize_t
uring_send(int fd, const void *p, size_t n, int flags)
{
	struct uring_fd *f = uring_get(uring_the, fd);
	size_t room;

	if (f == NULL || f->kind != URING_SOCKET)
		return send(fd, p, n, flags);
	if (f->io->werr != 0) {
		errno = f->io->werr;
		return -1;
	}
	if (f->closing || f->shut_wr) {
		errno = EPIPE;
		return -1;
	}
	/* Full before the sweep's end has submitted it: one sweep of chat
	 * can fan out more than --max-outbuf to a reader that keeps up, and
	 * client_queue() sends before it calls anyone slow.  Hand the slot
	 * to the kernel's send buffer directly, as the other drivers' send()
	 * would (nothing of it is in flight, so the order holds). */
	if ((room = uring_send_room(f)) == 0 && f->io->inflight == 0)
		uring_send_now(fd, f);
	if ((room = uring_send_room(f)) == 0) {
		errno = f->io->werr != 0 ? f->io->werr : EAGAIN;
		return -1;
	}
	if (n > room)
		n = room;
	if (buf_append(&f->io->out, p, n) == -1)
		return -1;		/* ENOMEM */
	uring_touch(uring_the, fd);	/* the next wait submits it */
	return (ssize_t)n;
}

static int
uring_accept(int fd, struct sockaddr *sa, socklen_t *len)
{
	struct uring_fd *f = uring_get(uring_the, fd);
	struct uring_accepts *a;
	int cfd;

	if (f == NULL || f->kind != URING_LISTENER)
		return accept(fd, sa, len);
	a = &f->io->acc;
	if (a->len > 0) {
		cfd = a->fds[a->head++];
		if (--a->len == 0)
			a->head = 0;
		uring_touch(uring_the, fd);	/* below the mark: accept on */
		if (sa != NULL && len != NULL &&
		    getpeername(cfd, sa, len) == -1)
			*len = 0;
		return cfd;
	}
	if (a->err != 0) {
		/* Once.  Out of fds, the kernel must not accept on its own
		 * while the server gives up its spare fd to refuse someone:
		 * readiness and real accept() calls until the backlog is
		 * empty, then the multishot again. */
		errno = a->err;
		a->polling = a->polling || a->err == EMFILE || a->err == ENFILE;
		a->err = 0;
		uring_touch(uring_the, fd);
		return -1;
	}
	if (a->over != -1) {
		cfd = a->over;		/* the one to refuse with the spare fd */
		a->over = -1;
		return cfd;
	}
	if (a->polling || f->req != URING_ARMED) {
		if ((cfd = accept(fd, sa, len)) == -1 && errno == EAGAIN &&
		    a->polling) {
			a->polling = false;
			uring_touch(uring_the, fd);
		}
		return cfd;
	}
	errno = EAGAIN;
	return -1;
}

static int
uring_shutdown(int fd, int how)
{
	struct uring_fd *f = uring_get(uring_the, fd);

	if (f == NULL || f->kind != URING_SOCKET || how != SHUT_WR ||
	    (buf_len(&f->io->out) == 0 && f->io->inflight == 0))
		return shutdown(fd, how);
	f->shut_wr = true;		/* after the last byte of the slot */
	return 0;
}

static int
uring_close(int fd)
{
	struct uring_state *st = uring_the;
	struct uring_fd *f = uring_get(st, fd);

	if (f == NULL || f->closing)
		return f == NULL ? close(fd) : 0;
	if (f->kind == URING_LISTENER) {
		f->mask = 0;
		uring_service(st, fd);
		(void)io_uring_submit(&st->ring);
		uring_drop_accepts(f);
	}
	f->mask = 0;
	f->pready = 0;
	if (f->kind == URING_POLLED) {
		uring_service(st, fd);	/* its poll is cancelled */
		uring_close_now(st, fd);
		return 0;
	}
	if (f->io->inflight == 0 && buf_len(&f->io->out) == 0) {
		/* Nothing to send: the recv (or accept) is cancelled by
		 * user_data, which names no fd, so the number may go now.
		 * The kernel lets the socket go when the cancel lands, at the
		 * next wait; its late completions are stale. */
		if (f->req == URING_ARMED)
			uring_cancel(st, fd, f->armed);
		uring_close_now(st, fd);
		return 0;
	}
	f->closing = true;
	f->closing_slot = st->nclosing;
	st->closing[st->nclosing++] = fd;
	f->io->close_by_ms = uring_now_ms() + URING_CLOSE_MS;
	uring_touch(st, fd);
	return 0;
}

static const struct sysio uring_sysio = {
	uring_recv, uring_send, uring_accept, uring_shutdown, uring_close
};

/*
 * With the buffer ring registered: one byte through a socketpair must come
 * back from a multishot recv that picked its buffer from the ring and
 * stays armed.  Multishot recv is Linux 6.0; on 5.19 the buffer ring
 * registers but the recv fails with EINVAL, and without this check the
 * driver would start and then fail every client.  Returns 0 or -errno.
 */
static int
uring_probe_recv(struct io_uring *ring, struct io_uring_buf_ring *br)
{
	static char buf[64];
	struct __kernel_timespec ts = { 1, 0 };
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	int sv[2], rc;

	io_uring_buf_ring_init(br);
	io_uring_buf_ring_add(br, buf, sizeof(buf), 0,
	    io_uring_buf_ring_mask(4), 0);
	io_uring_buf_ring_advance(br, 1);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return -errno;
	(void)!write(sv[1], "p", 1);
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_recv_multishot(sqe, sv[0], NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = URING_BGID;
	/* Submitted count (or 0 from an older liburing), else -errno. */
	rc = io_uring_submit_and_wait_timeout(ring, &cqe, 1, &ts, NULL);
	if (rc >= 0) {
		if (cqe->res < 0)
			rc = cqe->res;
		else if (cqe->res != 1 || !(cqe->flags & IORING_CQE_F_BUFFER) ||
		    !(cqe->flags & IORING_CQE_F_MORE))
			rc = -EOPNOTSUPP;
	}
	close(sv[0]);
	close(sv[1]);
	return rc < 0 ? rc : 0;
}

/* uring_ring_probe (multishot poll, 5.13), then a provided buffer ring
 * (5.19), then multishot recv from it (6.0). */
static int
uring_probe(char *why, size_t len)
{
	struct io_uring_buf_reg reg;
	struct io_uring ring;
	const char *what;
	void *br;
	int rc;

	if (uring_ring_probe(why, len) == -1)
		return -1;
	if (uring_ring_open(&ring, 4, 8, why, len) == -1)
		return -1;
	br = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)br;
	reg.ring_entries = 4;
	reg.bgid = URING_BGID;
	what = "no provided buffer rings (Linux 5.19 and later)";
	rc = br == MAP_FAILED ? -ENOMEM :
	    io_uring_register_buf_ring(&ring, &reg, 0);
	if (rc == 0) {
		what = "no multishot recv (Linux 6.0 and later)";
		rc = uring_probe_recv(&ring, br);
	}
	io_uring_queue_exit(&ring);
	if (br != MAP_FAILED)
		munmap(br, 4096);
	if (rc < 0) {
		if (why != NULL)
			snprintf(why, len, "io_uring unavailable: %s: %s", what,
			    strerror(-rc));
		errno = -rc;
		return -1;
	}
	return 0;
}

const struct io_driver io_uring_async = {
	.name = "uring",
	.summary = "io_uring completions: multishot recv/accept, batched sends",
	.blocks = true,
	.create = uring_create,
	.destroy = uring_destroy,
	.modify = uring_modify,
	.wait = uring_wait,
	.probe = uring_probe,
	.sysio = &uring_sysio,
};
