/* io_thread.c - the thread model: a thread per client, echo mode only. */
/*
 * Blocking sockets are the point of this model: the accepted socket stays
 * blocking (no O_NONBLOCK is ever set on it) and its thread sleeps in
 * recv() or send() until the kernel has something for it.  A blocked
 * send() stops that client's reads: the kernel's backpressure.
 *
 * Each connection gets a detached pthread with a 64 KiB stack
 * (pthread_attr_setstacksize; glibc's default is 8 MiB of address space,
 * which 10,000 clients would turn into 80 GB of mappings).  The echo
 * buffer, 16 KiB, lives on that stack.  Detached threads free themselves
 * when they return, so none is left to join and none leaks.
 *
 * The acceptor's signals are blocked before the first thread starts and
 * threads inherit the mask, so only the acceptor (inside ppoll) takes
 * them.  SIGTERM cannot interrupt a thread blocked in recv(), so the
 * acceptor wakes each one with shutdown(fd, SHUT_RDWR) on its connection:
 * the recv() returns 0, the send() fails, the echo ends.  The slot table
 * that makes this possible is guarded by one mutex, and a thread clears
 * its slot under it before it closes the fd, so shutdown() never lands on
 * an fd number that was closed and reused.
 *
 * Counters: as for fork.  Every thread sends its tally down the same pipe
 * as its last act, and a connection counts as live until its tally has
 * been read, so clients=, closed= and the byte counts always agree; CPU
 * is the process's (every thread's).
 */
#include <sys/socket.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "io_blocking.h"
#include "log.h"

#define THREAD_STACK_SIZE	(64 * 1024)

struct thread_conn {
	struct blocking_server *bs;
	int	fd;			/* -1: slot free */
};

struct thread_state {
	pthread_mutex_t lock;		/* guards conns[].fd and free_slots */
	pthread_attr_t attr;
	struct thread_conn *conns;	/* --max-clients slots */
	size_t *free_slots;		/* a stack of free slot numbers */
	size_t	nslots, nfree;
	uint64_t started;		/* the acceptor's alone */
};

static void *
thread_main(void *arg)
{
	struct thread_conn *conn = arg;
	struct blocking_server *bs = conn->bs;
	struct thread_state *st = bs->state;
	struct blocking_tally t;
	int fd = conn->fd, tally_fd = bs->tally_wr;
	const char *why;

	memset(&t, 0, sizeof(t));
	why = blocking_echo(fd, bs->cfg.idle_timeout, &t);
	log_debug("connection closed (fd %d): %s", fd, why);
	pthread_mutex_lock(&st->lock);
	conn->fd = -1;
	st->free_slots[st->nfree++] = (size_t)(conn - st->conns);
	pthread_mutex_unlock(&st->lock);
	close(fd);
	/* Last: once the tally is read the acceptor may exit and free all
	 * of the above. */
	blocking_report(tally_fd, &t);
	return NULL;
}

static int
thread_start(struct blocking_server *bs, int fd)
{
	struct thread_state *st = bs->state;
	struct thread_conn *conn;
	pthread_t tid;
	size_t slot;
	int rc;

	pthread_mutex_lock(&st->lock);
	/* live() < --max-clients, and a slot is freed before its tally is
	 * sent, so there is always one; checked all the same. */
	if (st->nfree == 0) {
		pthread_mutex_unlock(&st->lock);
		errno = EAGAIN;
		return -1;
	}
	slot = st->free_slots[--st->nfree];
	conn = &st->conns[slot];
	conn->bs = bs;
	conn->fd = fd;
	pthread_mutex_unlock(&st->lock);
	if ((rc = pthread_create(&tid, &st->attr, thread_main, conn)) != 0) {
		pthread_mutex_lock(&st->lock);
		conn->fd = -1;
		st->free_slots[st->nfree++] = slot;
		pthread_mutex_unlock(&st->lock);
		errno = rc;
		return -1;
	}
	st->started++;
	return 0;
}

static size_t
thread_live(struct blocking_server *bs)
{
	struct thread_state *st = bs->state;

	return (size_t)(st->started - bs->tallies);
}

static void
thread_reap(struct blocking_server *bs)
{
	(void)bs;	/* detached: nothing to join; tallies do the counting */
}

static void
thread_stop(struct blocking_server *bs, bool force)
{
	struct thread_state *st = bs->state;
	size_t i;

	/* There is nothing harder than shutdown() to do to a thread: a
	 * second round (force) only catches one that was just starting. */
	(void)force;
	pthread_mutex_lock(&st->lock);
	for (i = 0; i < st->nslots; i++)
		if (st->conns[i].fd != -1)
			(void)shutdown(st->conns[i].fd, SHUT_RDWR);
	pthread_mutex_unlock(&st->lock);
}

static const struct blocking_model thread_model = {
	.unit = "thread",
	.start = thread_start,
	.live = thread_live,
	.reap = thread_reap,
	.stop = thread_stop,
	.cpu_children = false,
};

static int
thread_serve(const struct config *cfg)
{
	struct thread_state st;
	size_t n = (size_t)cfg->max_clients, i;
	int rc = 1;

	memset(&st, 0, sizeof(st));
	pthread_mutex_init(&st.lock, NULL);
	pthread_attr_init(&st.attr);
	pthread_attr_setdetachstate(&st.attr, PTHREAD_CREATE_DETACHED);
	if ((rc = pthread_attr_setstacksize(&st.attr, THREAD_STACK_SIZE)) != 0)
		log_warn("thread stack of %d bytes: %s", THREAD_STACK_SIZE,
		    strerror(rc));
	st.conns = calloc(n, sizeof(*st.conns));
	st.free_slots = calloc(n, sizeof(*st.free_slots));
	if (st.conns == NULL || st.free_slots == NULL) {
		log_warn("out of memory for %ld clients", cfg->max_clients);
		rc = 1;
		goto out;
	}
	/* Pushed in reverse so slot 0 is used first. */
	for (i = 0; i < n; i++) {
		st.conns[i].fd = -1;
		st.free_slots[i] = n - 1 - i;
	}
	st.nslots = st.nfree = n;
	rc = blocking_serve(cfg, &thread_model, &st);
out:
	free(st.conns);
	free(st.free_slots);
	pthread_attr_destroy(&st.attr);
	return rc;
}

const struct io_driver io_thread = {
	.name = "thread",
	.summary = "a thread per client, blocking sockets (echo mode only)",
	.serve = thread_serve,
};
