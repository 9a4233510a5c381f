/* io_sigio.c - signal-driven I/O: O_ASYNC sockets, one realtime signal per event. */
/*
 * System calls: fcntl(2) F_SETOWN, F_SETSIG and O_ASYNC on every fd;
 * sigprocmask(2), signalfd(2), sigtimedwait(2); ppoll(2) with timeout 0.
 *
 * The model (Stevens, UNP 6.2 and 25): the kernel tells the process that
 * something happened on a socket by sending it a signal.  With F_SETSIG
 * set to a realtime signal, each event is queued on its own with the fd
 * in si_fd and the poll bits in si_band, so the process learns *which*
 * socket changed, not only that one did.  Here the signal is blocked, so
 * no handler ever runs: wait() takes the queued signals synchronously,
 * in batches of up to 64 through a signalfd, and sleeps in sigtimedwait()
 * when there are none.  The driver keeps a candidate list of fds to look
 * at; one poll(2) with timeout 0 over just those fds says what each is
 * ready for *now*, and that is what wait() reports.  So a wait costs
 * O(fds that changed or were busy last sweep), like epoll, and an idle
 * server sleeps in the kernel with no timer.
 *
 * Quirks, each with what the driver does about it:
 * - Signals are edges: one per change (a segment arrived, room appeared),
 *   none while a socket simply stays readable.  The server reads at most
 *   SERVER_READ_BUDGET per client per sweep, a short read is taken to
 *   mean "empty", and the fault shim fakes EAGAIN without touching the
 *   kernel, so an fd can be left ready with no signal to come.  Every fd
 *   reported by a wait is therefore a candidate again in the next one,
 *   and the poll(2) there says whether it still has data or room.  It
 *   drops out of the list only when the kernel says it is not ready;
 *   after that, its next change raises a signal again.  No wakeup is lost.
 * - A signal is only a hint by the time it is read: the data may have
 *   been read already, the fd closed and its number reused.  si_fd makes
 *   the fd a candidate if it is still registered; the poll(2) decides.
 *   si_band is not trusted to filter either: a pipe whose reader goes
 *   away raises POLL_OUT on the write end, and what is true is POLLERR.
 * - O_ASYNC only raises a signal for changes after it is set, and Linux
 *   does not pass O_ASYNC or the owner from a listener to accepted
 *   sockets.  So each fd is set up in modify() (F_SETOWN, F_SETSIG, then
 *   O_ASYNC the textbook way: F_GETFL, OR in the flag, F_SETFL), and
 *   becomes a candidate at once, for the bytes that came before.  Turning
 *   interest on later (write interest after a send said EAGAIN, read
 *   interest when echo backpressure ends) also makes it a candidate.
 * - TCP raises the signal for many conditions: connection established,
 *   data arrived (once per segment), room in the send buffer (only after
 *   a send found it full), FIN, reset, an error.  All of them just make
 *   the fd a candidate.  The listener gets POLL_IN for each completed
 *   connection; more than SERVER_ACCEPT_BATCH waiting keeps it a
 *   candidate until the backlog is empty.
 * - RLIMIT_SIGPENDING bounds the queue (per user, not per process).  When
 *   the kernel cannot queue the realtime signal it sends plain SIGIO,
 *   which carries no fd.  Then some events are lost: the driver counts
 *   the overflow (stats sigio_overflows), drains the queue, and makes
 *   every registered fd a candidate: one full sweep, as busy does, but
 *   through poll(2) instead of a failed recv() per idle client.
 * - The signal is blocked, so it must never be delivered: the default
 *   action of SIGIO and of realtime signals is to kill the process.
 *   destroy() clears O_ASYNC on every fd still registered, drains the
 *   queue, and only then restores the signal mask.  One instance per
 *   process (a second create() fails with EBUSY): two would steal each
 *   other's signals.
 * - F_SETOWN names the process, so any thread that does not block the
 *   signal could take it.  pollserv runs the loop in one thread; a
 *   threaded model would need F_SETOWN_EX with F_OWNER_TID per thread.
 * - SIGINT, SIGTERM and SIGUSR1 keep their handlers: one that arrives
 *   while the driver sleeps in sigtimedwait() interrupts it (EINTR), and
 *   one that arrives just before writes the wake pipe, whose read end is
 *   registered here like any socket and raises a signal of its own.
 *   A pipe signals every write, so the loop writes it only when it is
 *   empty (loop.c, loop_wake_armed): a SIGUSR1 storm would otherwise
 *   queue one realtime signal per handler run.  And a handled signal
 *   pending on entry fails even a zero-timeout poll(2) with EINTR, so
 *   report() uses ppoll() with every signal blocked for the call.
 * - The wake pipe, the listener and the clients are all the same to the
 *   driver; the IO_LISTENER hint is ignored.
 */
#define _GNU_SOURCE		/* F_SETSIG, signalfd */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "io_fdtab.h"
#include "log.h"
#include "stats.h"

/* The realtime signal the sockets raise.  glibc keeps the first two or
 * three for its threads; SIGRTMIN is already past them. */
#define IO_SIGIO_SIGNAL		(SIGRTMIN + 1)
/* siginfo records taken from the signalfd per read(). */
#define IO_SIGIO_BATCH		64

#define IO_SIGIO_RW		(IO_READ | IO_WRITE)

struct io_sigio_fd {
	int	mask;		/* registered IO_* mask, 0 if not registered */
	bool	listed;		/* in cand[] (possibly stale: mask 0) */
};

struct io_sigio_state {
	int	signo;
	int	sigfd;			/* signalfd over the two signals */
	sigset_t set;			/* IO_SIGIO_SIGNAL and SIGIO */
	sigset_t old_mask;		/* restored by destroy() */
	sigset_t all;			/* every signal: ppoll's mask in report() */
	struct io_sigio_fd *fds;	/* indexed by fd */
	size_t	fds_len;
	int	max_fd;			/* highest fd ever registered */
	int    *cand;			/* fds to poll in the next wait */
	size_t	ncand, cand_cap;
	int    *next;			/* scratch: the candidate list being built */
	struct pollfd *pfds;		/* scratch for poll(2) */
	struct stats *stats;
};

static bool io_sigio_live;		/* one instance per process */

static int
io_sigio_grow_fds(struct io_sigio_state *st, int fd)
{
	struct io_sigio_fd *p;

	if ((p = io_fdtab_grow(st->fds, &st->fds_len, sizeof(*p), fd)) == NULL)
		return -1;
	st->fds = p;
	return 0;
}

/* cand[], next[] and pfds[] hold at most one entry per fd number up to
 * max_fd; make sure they can. */
static int
io_sigio_grow_lists(struct io_sigio_state *st, size_t need)
{
	size_t cap;
	void *p;

	if (need <= st->cand_cap)
		return 0;
	cap = st->cand_cap ? st->cand_cap : 64;
	while (cap < need)
		cap *= 2;
	if ((p = realloc(st->cand, cap * sizeof(*st->cand))) == NULL)
		return -1;
	st->cand = p;
	if ((p = realloc(st->next, cap * sizeof(*st->next))) == NULL)
		return -1;
	st->next = p;
	if ((p = realloc(st->pfds, cap * sizeof(*st->pfds))) == NULL)
		return -1;
	st->pfds = p;
	st->cand_cap = cap;
	return 0;
}

/* Put fd on the candidate list (once). */
static void
io_sigio_candidate(struct io_sigio_state *st, int fd)
{
	if (st->fds[fd].listed)
		return;
	st->fds[fd].listed = true;
	st->cand[st->ncand++] = fd;
}

static void *
io_sigio_create(const struct io_config *cfg)
{
	struct io_sigio_state *st;
	int saved;

	if (io_sigio_live) {
		errno = EBUSY;
		return NULL;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	st->stats = cfg->stats;
	st->signo = IO_SIGIO_SIGNAL;
	st->max_fd = -1;
	sigemptyset(&st->set);
	sigaddset(&st->set, st->signo);
	sigaddset(&st->set, SIGIO);
	sigfillset(&st->all);
	if (io_sigio_grow_fds(st, 63) == -1 ||
	    io_sigio_grow_lists(st, 64) == -1)
		goto fail;
	/* Blocked before any fd can raise it: queued, never delivered. */
	if (sigprocmask(SIG_BLOCK, &st->set, &st->old_mask) == -1)
		goto fail;
	st->sigfd = signalfd(-1, &st->set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (st->sigfd == -1) {
		saved = errno;
		log_warn("io sigio: signalfd: %s", strerror(saved));
		sigprocmask(SIG_SETMASK, &st->old_mask, NULL);
		errno = saved;
		goto fail;
	}
	io_sigio_live = true;
	return st;
fail:
	saved = errno;
	free(st->fds);
	free(st->cand);
	free(st->next);
	free(st->pfds);
	free(st);
	errno = saved;
	return NULL;
}

/* O_ASYNC on or off, read-modify-write like O_NONBLOCK in net.c. */
static int
io_sigio_set_async(int fd, bool on)
{
	int flags;

	if ((flags = fcntl(fd, F_GETFL, 0)) == -1)
		return -1;
	flags = on ? flags | O_ASYNC : flags & ~O_ASYNC;
	return fcntl(fd, F_SETFL, flags);
}

/* Take every queued signal off; true if one of them was SIGIO. */
static bool
io_sigio_drain(struct io_sigio_state *st, bool keep)
{
	struct signalfd_siginfo si[IO_SIGIO_BATCH];
	bool overflow = false;
	ssize_t n;
	size_t i, k;
	int fd;

	for (;;) {
		n = read(st->sigfd, si, sizeof(si));
		if (n <= 0)
			break;
		k = (size_t)n / sizeof(si[0]);
		for (i = 0; i < k; i++) {
			if (si[i].ssi_signo == SIGIO) {
				overflow = true;
				continue;
			}
			if (!keep || (int)si[i].ssi_signo != st->signo ||
			    si[i].ssi_code < POLL_IN ||
			    si[i].ssi_code > POLL_HUP)
				continue;	/* not from a socket of ours */
			fd = si[i].ssi_fd;
			if (fd < 0 || fd > st->max_fd ||
			    st->fds[fd].mask == 0)
				continue;	/* closed or removed since */
			io_sigio_candidate(st, fd);
		}
		if (k < IO_SIGIO_BATCH)
			break;
	}
	return overflow;
}

static void
io_sigio_destroy(void *state)
{
	struct io_sigio_state *st = state;
	int fd;

	if (st == NULL)
		return;
	/* Nothing may raise the signal once it is unblocked. */
	for (fd = 0; fd <= st->max_fd; fd++)
		if (st->fds[fd].mask != 0)
			(void)io_sigio_set_async(fd, false);
	(void)io_sigio_drain(st, false);
	close(st->sigfd);
	sigprocmask(SIG_SETMASK, &st->old_mask, NULL);
	io_sigio_live = false;
	free(st->fds);
	free(st->cand);
	free(st->next);
	free(st->pfds);
	free(st);
}

/* The caller's old mask is not trusted: the fd table says what is there. */
static int
io_sigio_modify(void *state, int fd, int old_mask, int new_mask)
{
	struct io_sigio_state *st = state;
	int cur;

	(void)old_mask;
	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	if ((size_t)fd >= st->fds_len && io_sigio_grow_fds(st, fd) == -1)
		return -1;
	cur = st->fds[fd].mask;
	if (new_mask == 0) {
		/* Still open: stop its signals.  A queued one is ignored
		 * now that the fd is not registered. */
		if (cur != 0)
			(void)io_sigio_set_async(fd, false);
		st->fds[fd].mask = 0;
		return 0;
	}
	if (cur == 0) {
		if (io_sigio_grow_lists(st, (size_t)fd + 1) == -1)
			return -1;
		/* Owner and signal first, so the first event already
		 * carries si_fd; then O_ASYNC. */
		if (fcntl(fd, F_SETOWN, getpid()) == -1 ||
		    fcntl(fd, F_SETSIG, st->signo) == -1 ||
		    io_sigio_set_async(fd, true) == -1)
			return -1;
		if (fd > st->max_fd)
			st->max_fd = fd;
	}
	st->fds[fd].mask = new_mask;
	/* New interest: what is already there raised no signal for it. */
	if ((new_mask & ~cur) & IO_SIGIO_RW)
		io_sigio_candidate(st, fd);
	return 0;
}

/*
 * One poll(2), timeout 0, over the candidates: report the ready ones (at
 * most max_fired), keep them as candidates for the next wait (they may
 * still be ready then), drop the rest.  Ready fds that did not fit go
 * first next time, then the reported ones, so a small fired[] is fair.
 */
static int
io_sigio_report(struct io_sigio_state *st, struct io_event *fired,
    int max_fired)
{
	static const struct timespec zero = { 0, 0 };
	size_t i, n = 0, nnext = 0;
	int fd, want, mask, out = 0, rc;
	short re;

	for (i = 0; i < st->ncand; i++) {
		fd = st->cand[i];
		if ((want = st->fds[fd].mask & IO_SIGIO_RW) == 0) {
			st->fds[fd].listed = false;	/* removed since */
			continue;
		}
		st->pfds[n].fd = fd;
		st->pfds[n].events = (short)((want & IO_READ ? POLLIN : 0) |
		    (want & IO_WRITE ? POLLOUT : 0));
		st->pfds[n].revents = 0;
		n++;
	}
	st->ncand = 0;
	if (n == 0)
		return 0;
	/*
	 * Every signal held back for the length of the call: a handled one
	 * (SIGUSR1) pending on entry would make even a zero-timeout poll(2)
	 * fail with EINTR, and under a storm of them a retry loop here spun
	 * for a tenth of a second at a time.  It is handled on the way out.
	 */
	rc = ppoll(st->pfds, (nfds_t)n, &zero, &st->all);
	if (rc == -1) {
		/* Keep them all for the next try. */
		for (i = 0; i < n; i++)
			st->cand[st->ncand++] = st->pfds[i].fd;
		return -1;
	}
	for (i = 0; i < n; i++) {
		fd = st->pfds[i].fd;
		re = st->pfds[i].revents;
		want = st->fds[fd].mask & IO_SIGIO_RW;
		if (re & POLLNVAL) {
			log_warn("io sigio: fd %d closed without being "
			    "removed (bug), dropping it", fd);
			if (st->stats != NULL)
				st->stats->pollnval++;
			st->fds[fd].mask = 0;
			st->fds[fd].listed = false;
			continue;
		}
		mask = 0;
		if (re & (POLLIN | POLLPRI))
			mask |= IO_READ;
		if (re & POLLOUT)
			mask |= IO_WRITE;
		if (re & (POLLHUP | POLLERR))
			mask |= want;
		mask &= want;
		if (mask == 0) {
			st->fds[fd].listed = false;	/* next change signals */
			continue;
		}
		if (out < max_fired) {
			fired[out].fd = fd;
			fired[out].mask = mask;
			out++;
			st->next[nnext++] = fd;	/* look again next time */
		} else
			st->cand[st->ncand++] = fd;	/* did not fit */
	}
	for (i = 0; i < nnext; i++)
		st->cand[st->ncand++] = st->next[i];
	return out;
}

/* Everything registered becomes a candidate: after an overflow, any fd
 * may have lost its signal. */
static void
io_sigio_sweep_all(struct io_sigio_state *st)
{
	int fd;

	for (fd = 0; fd <= st->max_fd; fd++)
		if (st->fds[fd].mask != 0)
			io_sigio_candidate(st, fd);
}

/* Take the queued signals; on overflow, count it and sweep everything. */
static void
io_sigio_collect(struct io_sigio_state *st)
{
	if (!io_sigio_drain(st, true))
		return;
	/* The queue is empty now; the SIGIO said some signals never made
	 * it, so nothing short of looking at every fd is safe. */
	if (st->stats != NULL)
		st->stats->sigio_overflows++;
	io_sigio_sweep_all(st);
}

static int
io_sigio_wait(void *state, int timeout_ms, bool last_sweep_idle,
    struct io_event *fired, int max_fired)
{
	struct io_sigio_state *st = state;
	struct timespec ts, now, deadline;
	siginfo_t info;
	int64_t left_ns;
	int n, fd;

	(void)last_sweep_idle;
	if (max_fired <= 0) {
		errno = EINVAL;
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	if (timeout_ms > 0) {
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
		if (deadline.tv_nsec >= 1000000000) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000;
		}
	}
	for (;;) {
		io_sigio_collect(st);
		if ((n = io_sigio_report(st, fired, max_fired)) != 0)
			return n;
		/* Nothing ready: sleep until a signal, a handled signal
		 * (EINTR), or the timeout. */
		if (timeout_ms == 0)
			return 0;
		if (timeout_ms > 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			left_ns = (int64_t)(deadline.tv_sec - now.tv_sec) *
			    1000000000 + (deadline.tv_nsec - now.tv_nsec);
			if (left_ns <= 0)
				return 0;
			ts.tv_sec = (time_t)(left_ns / 1000000000);
			ts.tv_nsec = (long)(left_ns % 1000000000);
		}
		if (sigtimedwait(&st->set, &info, timeout_ms < 0 ? NULL : &ts)
		    == -1)
			return errno == EAGAIN ? 0 : -1;
		if (info.si_signo == SIGIO) {
			if (st->stats != NULL)
				st->stats->sigio_overflows++;
			(void)io_sigio_drain(st, false);
			io_sigio_sweep_all(st);
			continue;
		}
		fd = info.si_fd;
		if (info.si_code >= POLL_IN && info.si_code <= POLL_HUP &&
		    fd >= 0 && fd <= st->max_fd && st->fds[fd].mask != 0)
			io_sigio_candidate(st, fd);
	}
}

const struct io_driver io_sigio = {
	.name = "sigio",
	.summary = "O_ASYNC sockets, realtime signals (F_SETSIG), sigtimedwait(2)",
	.blocks = true,
	.create = io_sigio_create,
	.destroy = io_sigio_destroy,
	.modify = io_sigio_modify,
	.wait = io_sigio_wait,
};
