/* check_io.c - every readiness driver, through the io.h interface alone. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check_suites.h"
#include "io.h"
#include "io_adaptive.h"
#include "io_sweep.h"
#include "log.h"
#include "stats.h"
#include "testutil.h"

/* The drivers behind wait(): io_drivers[0..NDRIVERS). */
#define NDRIVERS	9
#define MAX_FIRED	128

/* busy and backoff report every registered fd; the others only ready ones
 * (adaptive here spins with epoll_wait(0), the default --spin). */
static int
io_test_sweeps(const struct io_driver *d)
{
	return !d->blocks;
}

/* A driver instance counting into *stats, which starts zeroed. */
static void *
io_test_create_backoff(const struct io_driver *d, struct stats *stats,
    int max_fds, unsigned backoff_max_us)
{
	struct io_config cfg;
	void *st;

	memset(stats, 0, sizeof(*stats));
	memset(&cfg, 0, sizeof(cfg));
	cfg.max_fds = max_fds;
	cfg.backoff_max_us = backoff_max_us;
	cfg.stats = stats;
	st = d->create(&cfg);
	ck_assert_msg(st != NULL, "%s: create: %s", d->name, strerror(errno));
	return st;
}

static void *
io_test_create(const struct io_driver *d, struct stats *stats, int max_fds)
{
	return io_test_create_backoff(d, stats, max_fds, 1000);
}

static void
io_test_pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
}

/* The mask reported for fd, -1 if it is not there; fails on duplicates. */
static int
io_test_mask(const struct io_event *fired, int n, int fd)
{
	int i, mask = -1;

	for (i = 0; i < n; i++) {
		if (fired[i].fd != fd)
			continue;
		ck_assert_msg(mask == -1, "fd %d reported twice", fd);
		mask = fired[i].mask;
	}
	return mask;
}

/* The wait reported exactly one event: fd with mask. */
static void
io_test_expect_one(const struct io_event *fired, int n, int fd, int mask)
{
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(fired[0].fd, fd);
	ck_assert_int_eq(fired[0].mask, mask);
}

static int64_t
io_test_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
io_test_drain(int fd)
{
	char buf[256];

	while (read(fd, buf, sizeof(buf)) > 0)
		continue;
}

/* A completion driver has taken the bytes already: drain them from it. */
static void
io_test_drain_from(const struct io_driver *d, int fd)
{
	char buf[256];

	if (d->sysio == NULL)
		io_test_drain(fd);
	else
		while (d->sysio->recv(fd, buf, sizeof(buf), 0) > 0)
			continue;
}

START_TEST(test_io_table)
{
	const char *names[] = { "busy", "select", "poll", "epoll", "backoff",
	    "sigio", "uring-poll", "uring", "adaptive", "fork", "thread" };
	size_t i, all = sizeof(names) / sizeof(names[0]);

	for (i = 0; i < all; i++) {
		ck_assert_ptr_nonnull(io_drivers[i]);
		ck_assert_str_eq(io_drivers[i]->name, names[i]);
		ck_assert_ptr_eq(io_find(names[i]), io_drivers[i]);
		ck_assert_ptr_nonnull(io_drivers[i]->summary);
		ck_assert_ptr_null(strchr(io_drivers[i]->summary, '\n'));
		ck_assert_uint_lt(strlen(io_drivers[i]->summary), 100);
		/* The first NDRIVERS are readiness drivers, the loop tests'
		 * subjects; the rest run the server themselves, echo only. */
		ck_assert_int_eq(io_drivers[i]->serve == NULL, i < NDRIVERS);
		ck_assert_int_eq(io_drivers[i]->create == NULL, i >= NDRIVERS);
		ck_assert_int_eq(io_serves_chat(io_drivers[i]), i < NDRIVERS);
	}
	ck_assert_ptr_null(io_drivers[all]);
	ck_assert_str_eq(io_modes(&io_epoll), "chat and echo");
	ck_assert_str_eq(io_modes(&io_fork), "echo");
	ck_assert_ptr_null(io_find("bogus"));
	ck_assert_ptr_null(io_find(""));
	ck_assert_int_eq(io_busy.blocks, 0);
	ck_assert_int_eq(io_backoff.blocks, 0);
	ck_assert_int_eq(io_select.blocks, 1);
	ck_assert_int_eq(io_poll.blocks, 1);
	ck_assert_int_eq(io_epoll.blocks, 1);
	ck_assert_int_eq(io_sigio.blocks, 1);
	ck_assert_int_eq(io_uring_poll.blocks, 1);
	ck_assert_int_eq(io_uring_async.blocks, 1);
	ck_assert_int_eq(io_adaptive.blocks, 1);
	/* Only the completion driver does the I/O itself. */
	for (i = 0; i < NDRIVERS; i++)
		ck_assert_int_eq(io_drivers[i]->sysio != NULL,
		    io_drivers[i] == &io_uring_async);
	/* Only the io_uring drivers can be unavailable. */
	for (i = 0; i < NDRIVERS; i++)
		ck_assert_int_eq(io_drivers[i]->probe != NULL,
		    strncmp(io_drivers[i]->name, "uring", 5) == 0);
}
END_TEST

/*
 * A probe that fails where io_uring works would turn every uring test into
 * a printed skip, and the run would still pass.  So where the kernel is
 * 6.0 or later (multishot recv, the newest feature the probes ask for) and
 * io_uring_setup() itself works, both probes must succeed.  Elsewhere the
 * test says why it cannot tell.
 */
START_TEST(test_io_uring_probes_here)
{
	unsigned char params[120];	/* struct io_uring_params, zeroed */
	struct utsname u;
	int major = 0, minor = 0, fd, i;
	char why[256];

	ck_assert_int_eq(uname(&u), 0);
	if (sscanf(u.release, "%d.%d", &major, &minor) != 2 || major < 6) {
		fprintf(stderr, "skipped: test_io_uring_probes_here: kernel %s "
		    "is older than 6.0\n", u.release);
		return;
	}
	memset(params, 0, sizeof(params));
	fd = (int)syscall(SYS_io_uring_setup, 2, params);
	if (fd == -1) {
		fprintf(stderr, "skipped: test_io_uring_probes_here: "
		    "io_uring_setup: %s\n", strerror(errno));
		return;
	}
	close(fd);
	for (i = 0; i < NDRIVERS; i++) {
		if (io_drivers[i]->probe == NULL)
			continue;
		ck_assert_msg(io_drivers[i]->probe(why, sizeof(why)) == 0,
		    "--io %s: probe failed on Linux %s: %s",
		    io_drivers[i]->name, u.release, why);
	}
}
END_TEST

/* Read and write interest, change and removal, on every driver. */
START_TEST(test_io_read_write)
{
	const struct io_driver *d = io_drivers[_i];
	struct io_event fired[MAX_FIRED];
	struct stats stats;
	int a[2], b[2], n;
	void *st;

	TU_SKIP_UNAVAILABLE(_i);

	st = io_test_create(d, &stats, 64);
	io_test_pair(a);
	io_test_pair(b);
	ck_assert_int_eq(d->modify(st, a[0], 0, IO_READ), 0);
	ck_assert_int_eq(d->modify(st, b[0], 0, IO_READ), 0);
	ck_assert_int_eq(write(a[1], "x", 1), 1);

	n = d->wait(st, 1000, false, fired, MAX_FIRED);
	ck_assert_int_eq(io_test_mask(fired, n, a[0]), IO_READ);
	if (io_test_sweeps(d)) {
		ck_assert_int_eq(n, 2);
		ck_assert_int_eq(io_test_mask(fired, n, b[0]), IO_READ);
	} else
		ck_assert_int_eq(n, 1);

	/* Write interest: a socket with room is writable at once. */
	ck_assert_int_eq(d->modify(st, b[0], IO_READ, IO_READ | IO_WRITE), 0);
	n = d->wait(st, 1000, false, fired, MAX_FIRED);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(io_test_mask(fired, n, a[0]), IO_READ);
	ck_assert_int_eq(io_test_mask(fired, n, b[0]),
	    io_test_sweeps(d) ? IO_READ | IO_WRITE : IO_WRITE);

	/* And off again: IO_WRITE is reported only while registered. */
	ck_assert_int_eq(d->modify(st, b[0], IO_READ | IO_WRITE, IO_READ), 0);
	n = d->wait(st, 1000, false, fired, MAX_FIRED);
	ck_assert_int_eq(io_test_mask(fired, n, a[0]), IO_READ);
	if (io_test_sweeps(d))
		ck_assert_int_eq(io_test_mask(fired, n, b[0]), IO_READ);
	else
		ck_assert_int_eq(io_test_mask(fired, n, b[0]), -1);

	/* Removed, even while readable, it is never reported again. */
	ck_assert_int_eq(d->modify(st, a[0], IO_READ, 0), 0);
	ck_assert_int_eq(write(b[1], "y", 1), 1);
	n = d->wait(st, 1000, false, fired, MAX_FIRED);
	io_test_expect_one(fired, n, b[0], IO_READ);

	/* Write-only interest (echo backpressure). */
	io_test_drain(b[0]);
	ck_assert_int_eq(d->modify(st, b[0], IO_READ, IO_WRITE), 0);
	n = d->wait(st, 1000, false, fired, MAX_FIRED);
	io_test_expect_one(fired, n, b[0], IO_WRITE);

	ck_assert_int_eq(d->modify(st, b[0], IO_WRITE, 0), 0);
	ck_assert_uint_eq(stats.pollnval, 0);
	d->destroy(st);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
}
END_TEST

/* Blocking drivers honour the timeout; sweeping ones never block. */
START_TEST(test_io_timeout)
{
	const struct io_driver *d = io_drivers[_i];
	struct io_event fired[MAX_FIRED];
	struct stats stats;
	int a[2], n;
	int64_t t0, dt;
	void *st;

	TU_SKIP_UNAVAILABLE(_i);

	st = io_test_create(d, &stats, 64);
	io_test_pair(a);
	ck_assert_int_eq(d->modify(st, a[0], 0, IO_READ), 0);
	if (io_test_sweeps(d)) {
		/* -1 would block forever; the tcase timeout catches that. */
		n = d->wait(st, -1, false, fired, MAX_FIRED);
		io_test_expect_one(fired, n, a[0], IO_READ);
	} else {
		ck_assert_int_eq(d->wait(st, 0, true, fired, MAX_FIRED), 0);
		t0 = io_test_now_us();
		ck_assert_int_eq(d->wait(st, 100, true, fired, MAX_FIRED), 0);
		dt = io_test_now_us() - t0;
		ck_assert_msg(dt >= 90000, "%s: 100 ms timeout took %lld us",
		    d->name, (long long)dt);
	}
	d->destroy(st);
	close(a[0]);
	close(a[1]);
}
END_TEST

/* timeout -1 blocks until another process makes the fd readable. */
START_TEST(test_io_block_until_ready)
{
	const struct io_driver *d = io_drivers[_i];
	struct io_event fired[MAX_FIRED];
	struct stats stats;
	int a[2], n, status;
	pid_t pid;
	void *st;

	TU_SKIP_UNAVAILABLE(_i);

	if (io_test_sweeps(d))
		return;
	st = io_test_create(d, &stats, 64);
	io_test_pair(a);
	ck_assert_int_eq(d->modify(st, a[0], 0, IO_READ), 0);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		_exit(write(a[1], "z", 1) == 1 ? 0 : 1);
	}
	do
		n = d->wait(st, -1, true, fired, MAX_FIRED);
	while (n == -1 && errno == EINTR);
	io_test_expect_one(fired, n, a[0], IO_READ);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	d->destroy(st);
	close(a[0]);
	close(a[1]);
}
END_TEST

/* More ready fds than fired[] holds: the rest come next time. */
START_TEST(test_io_small_fired)
{
	const struct io_driver *d = io_drivers[_i];
	struct io_event fired[2];
	struct stats stats;
	int p[5][2], seen[5] = { 0 }, i, j, k, n, last = -1;
	void *st;

	TU_SKIP_UNAVAILABLE(_i);

	st = io_test_create(d, &stats, 64);
	for (i = 0; i < 5; i++) {
		io_test_pair(p[i]);
		ck_assert_int_eq(d->modify(st, p[i][0], 0, IO_READ), 0);
		ck_assert_int_eq(write(p[i][1], "r", 1), 1);
	}
	for (k = 0; k < 3; k++) {
		n = d->wait(st, 1000, false, fired, 2);
		ck_assert_msg(n >= 1 && n <= 2, "%s: call %d gave %d", d->name,
		    k, n);
		if (io_test_sweeps(d))
			ck_assert_int_eq(n, k < 2 ? 2 : 1);
		for (j = 0; j < n; j++) {
			for (i = 0; i < 5; i++)
				if (fired[j].fd == p[i][0])
					seen[i]++;
			/* Interest changed while events were held back. */
			if (k > 0 && fired[j].fd == last)
				ck_assert_int_eq(fired[j].mask, IO_WRITE);
			else
				ck_assert_int_eq(fired[j].mask, IO_READ);
		}
		if (k == 0) {
			for (i = 4; i >= 0; i--)
				if (io_test_mask(fired, n, p[i][0]) == -1)
					break;
			last = p[i][0];
			ck_assert_int_eq(d->modify(st, last, IO_READ,
			    IO_WRITE), 0);
		}
	}
	for (i = 0; i < 5; i++)
		ck_assert_msg(seen[i] >= 1 || p[i][0] == last,
		    "%s: fd %d never reported", d->name, p[i][0]);
	/* The sweeping drivers then start a new sweep from the top. */
	if (io_test_sweeps(d))
		ck_assert_int_eq(d->wait(st, 0, false, fired, 2), 2);
	ck_assert_int_eq(d->modify(st, last, IO_WRITE, 0), 0);
	ck_assert_int_eq(d->wait(st, 0, false, fired, 0), -1);
	d->destroy(st);
	for (i = 0; i < 5; i++) {
		close(p[i][0]);
		close(p[i][1]);
	}
}
END_TEST

static int
io_test_listener(struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ne(fd, -1);
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)sin, sizeof(*sin)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)sin, &len), 0);
	return fd;
}

/* Sweeps rotate: over three sweeps of three fds, each one leads once. */
START_TEST(test_io_sweep_rotates)
{
	const struct io_driver *d = io_drivers[_i];
	struct io_event fired[MAX_FIRED];
	struct stats stats;
	int p[3][2], led[3] = { 0 }, i, k;
	void *st;

	TU_SKIP_UNAVAILABLE(_i);

	if (!io_test_sweeps(d))
		return;
	st = io_test_create(d, &stats, 64);
	for (i = 0; i < 3; i++) {
		io_test_pair(p[i]);
		ck_assert_int_eq(d->modify(st, p[i][0], 0, IO_READ), 0);
	}
	for (k = 0; k < 3; k++) {
		ck_assert_int_eq(d->wait(st, 0, false, fired, MAX_FIRED), 3);
		for (i = 0; i < 3; i++)
			if (fired[0].fd == p[i][0])
				led[i]++;
	}
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(led[i], 1);
	d->destroy(st);
	for (i = 0; i < 3; i++) {
		close(p[i][0]);
		close(p[i][1]);
	}
}
END_TEST

/* IO_LISTENER: every BUSY_ACCEPT_EVERY sweeps, or when a peer waits. */
START_TEST(test_io_listener)
{
	const struct io_driver *d = io_drivers[_i];
	struct io_event fired[MAX_FIRED];
	struct sockaddr_in sin;
	struct stats stats;
	int lfd, cfd, a[2], i, n, mask, reported = 0;
	void *st;

	TU_SKIP_UNAVAILABLE(_i);

	st = io_test_create(d, &stats, 64);
	lfd = io_test_listener(&sin);
	io_test_pair(a);
	ck_assert_int_eq(d->modify(st, lfd, 0, IO_READ | IO_LISTENER), 0);
	ck_assert_int_eq(d->modify(st, a[0], 0, IO_READ), 0);
	if (io_test_sweeps(d)) {
		for (i = 0; i < 3 * BUSY_ACCEPT_EVERY; i++) {
			n = d->wait(st, 0, false, fired, MAX_FIRED);
			ck_assert_int_eq(io_test_mask(fired, n, a[0]), IO_READ);
			mask = io_test_mask(fired, n, lfd);
			if (mask == -1)
				continue;
			ck_assert_int_eq(mask, IO_READ);
			reported++;
		}
		ck_assert_int_eq(reported, 3);
	} else {
		ck_assert_int_eq(d->wait(st, 0, false, fired, MAX_FIRED), 0);
		cfd = socket(AF_INET, SOCK_STREAM, 0);
		ck_assert_int_ne(cfd, -1);
		ck_assert_int_eq(connect(cfd, (struct sockaddr *)&sin,
		    sizeof(sin)), 0);
		/* "Idle": adaptive (spin budget 0 here) then sleeps, so the
		 * timeout covers a handshake still on its way. */
		n = d->wait(st, 1000, true, fired, MAX_FIRED);
		io_test_expect_one(fired, n, lfd, IO_READ);
		close(cfd);
	}
	ck_assert_int_eq(d->modify(st, lfd, IO_READ | IO_LISTENER, 0), 0);
	d->destroy(st);
	close(lfd);
	close(a[0]);
	close(a[1]);
}
END_TEST

/* A peer that goes away shows up as readable (EOF) or writable. */
START_TEST(test_io_hangup)
{
	const struct io_driver *d = io_drivers[_i];
	struct io_event fired[MAX_FIRED];
	struct stats stats;
	int a[2], b[2], n;
	void *st;

	TU_SKIP_UNAVAILABLE(_i);

	st = io_test_create(d, &stats, 64);
	io_test_pair(a);
	io_test_pair(b);
	ck_assert_int_eq(d->modify(st, a[0], 0, IO_READ), 0);
	ck_assert_int_eq(d->modify(st, b[0], 0, IO_WRITE), 0);
	/* Fill b so it is not writable: only the hangup can report it.  (A
	 * completion driver says IO_WRITE while its own send slot has room,
	 * whatever the socket's state: it meets the hangup in a send.) */
	while (write(b[0], "fill fill fill fill", 19) > 0)
		continue;
	if (!io_test_sweeps(d) && d->sysio == NULL)
		ck_assert_int_eq(d->wait(st, 0, false, fired, MAX_FIRED), 0);
	close(a[1]);
	close(b[1]);
	n = d->wait(st, 1000, false, fired, MAX_FIRED);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(io_test_mask(fired, n, a[0]), IO_READ);
	ck_assert_int_eq(io_test_mask(fired, n, b[0]), IO_WRITE);
	if (d->sysio != NULL) {
		char c;

		/* The EOF is a 0 from recv, the hangup an error from send. */
		ck_assert_int_eq(d->sysio->recv(a[0], &c, 1, 0), 0);
		ck_assert_int_eq(d->sysio->send(b[0], "x", 1, 0), 1);
		do
			n = d->wait(st, 1000, false, fired, MAX_FIRED);
		while (io_test_mask(fired, n, b[0]) == IO_WRITE &&
		    d->sysio->send(b[0], "x", 1, 0) == 1);
		ck_assert_int_eq(d->sysio->send(b[0], "x", 1, 0), -1);
		ck_assert(errno == EPIPE || errno == ECONNRESET);
	}
	ck_assert_int_eq(d->modify(st, a[0], IO_READ, 0), 0);
	ck_assert_int_eq(d->modify(st, b[0], IO_WRITE, 0), 0);
	ck_assert_uint_eq(stats.pollnval, 0);
	d->destroy(st);
	close(a[0]);
	close(b[0]);
}
END_TEST

/*
 * An error with no readiness at all: the write end of a pipe whose reader
 * is gone reports only POLLERR/EPOLLERR.  Registered for reading, it must
 * still come out as IO_READ, or a level-triggered driver would spin on it
 * unseen.
 */
START_TEST(test_io_error_only)
{
	const struct io_driver *d = io_drivers[_i];
	struct io_event fired[MAX_FIRED];
	struct stats stats;
	int p[2], n;
	void *st;

	TU_SKIP_UNAVAILABLE(_i);

	st = io_test_create(d, &stats, 64);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(d->modify(st, p[1], 0, IO_READ), 0);
	if (!io_test_sweeps(d))
		ck_assert_int_eq(d->wait(st, 0, false, fired, MAX_FIRED), 0);
	close(p[0]);
	n = d->wait(st, 1000, false, fired, MAX_FIRED);
	io_test_expect_one(fired, n, p[1], IO_READ);
	ck_assert_int_eq(d->modify(st, p[1], IO_READ, 0), 0);
	ck_assert_uint_eq(stats.pollnval, 0);
	d->destroy(st);
	close(p[1]);
}
END_TEST

/* Raise the soft fd limit so fd FD_SETSIZE + 5 exists; 0 if not allowed. */
static int
io_test_high_fd_allowed(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 0;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < FD_SETSIZE + 64) {
		if (rl.rlim_max != RLIM_INFINITY &&
		    rl.rlim_max < FD_SETSIZE + 64)
			return 0;
		rl.rlim_cur = FD_SETSIZE + 64;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			return 0;
	}
	return 1;
}

/* select refuses fds >= FD_SETSIZE; the others take them and grow. */
START_TEST(test_io_high_fd)
{
	const struct io_driver *d = io_drivers[_i];
	struct io_event fired[MAX_FIRED];
	struct stats stats;
	int a[2], b[2], hi = FD_SETSIZE + 5, n;
	void *st;

	TU_SKIP_UNAVAILABLE(_i);

	if (!io_test_high_fd_allowed()) {
		fprintf(stderr, "check_io: skipped %s high-fd test: "
		    "RLIMIT_NOFILE hard limit below %d\n", d->name,
		    FD_SETSIZE + 64);
		return;
	}
	st = io_test_create(d, &stats, 16);
	io_test_pair(a);
	io_test_pair(b);
	/* Its own socket: a completion driver would split one socket's
	 * bytes between two fds of it. */
	ck_assert_int_eq(dup2(b[0], hi), hi);
	close(b[0]);
	ck_assert_int_eq(d->modify(st, a[0], 0, IO_READ), 0);
	if (strcmp(d->name, "select") == 0) {
		errno = 0;
		ck_assert_int_eq(d->modify(st, hi, 0, IO_READ), -1);
		ck_assert_int_eq(errno, EINVAL);
		ck_assert_int_eq(d->modify(st, hi, 0, IO_READ | IO_WRITE), -1);
		ck_assert_int_eq(d->modify(st, hi, IO_READ, 0), 0);
		/* The fds it holds are still served. */
		ck_assert_int_eq(write(a[1], "h", 1), 1);
		n = d->wait(st, 1000, false, fired, MAX_FIRED);
		ck_assert_int_eq(n, 1);
		ck_assert_int_eq(fired[0].fd, a[0]);
	} else {
		ck_assert_int_eq(d->modify(st, hi, 0, IO_READ), 0);
		ck_assert_int_eq(write(a[1], "h", 1), 1);
		ck_assert_int_eq(write(b[1], "h", 1), 1);
		n = d->wait(st, 1000, false, fired, MAX_FIRED);
		ck_assert_int_eq(n, 2);
		ck_assert_int_eq(io_test_mask(fired, n, hi), IO_READ);
		ck_assert_int_eq(io_test_mask(fired, n, a[0]), IO_READ);
		ck_assert_int_eq(d->modify(st, hi, IO_READ, 0), 0);
	}
	ck_assert_int_eq(d->modify(st, a[0], IO_READ, 0), 0);
	close(hi);
	close(b[1]);
	ck_assert_uint_eq(stats.pollnval, 0);
	d->destroy(st);
	close(a[0]);
	close(a[1]);
}
END_TEST

/*
 * Churn: add, change, remove-then-close and fd reuse at random, checked
 * against a model after every wait.  Swap-remove bookkeeping errors show
 * up as wrong reports, and for poll as POLLNVAL.
 */
#define CHURN_FDS	40
#define CHURN_ROUNDS	300

struct io_churn {
	int	fd[2];		/* fd[0] registered, -1 if the slot is empty */
	int	mask;
	int	has_data;
};

static unsigned
io_test_rand(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return (*seed >> 16) & 0x7fff;
}

START_TEST(test_io_churn)
{
	const struct io_driver *d = io_drivers[_i];
	struct io_event fired[MAX_FIRED];
	struct io_churn c[CHURN_FDS];
	struct stats stats;
	unsigned seed = 12345u + (unsigned)_i;
	int i, r, n, round, want, mask, expected;
	void *st;

	TU_SKIP_UNAVAILABLE(_i);

	st = io_test_create(d, &stats, 8);
	for (i = 0; i < CHURN_FDS; i++) {
		c[i].fd[0] = c[i].fd[1] = -1;
		c[i].mask = c[i].has_data = 0;
	}
	for (round = 0; round < CHURN_ROUNDS; round++) {
		for (i = 0; i < CHURN_FDS; i++) {
			r = (int)(io_test_rand(&seed) % 8);
			if (c[i].fd[0] == -1) {
				if (r < 4)
					continue;
				io_test_pair(c[i].fd);
				c[i].mask = r == 7 ? IO_READ | IO_WRITE : IO_READ;
				c[i].has_data = 0;
				ck_assert_int_eq(d->modify(st, c[i].fd[0], 0,
				    c[i].mask), 0);
			} else if (r == 0) {
				/* The server's order: remove, then close. */
				ck_assert_int_eq(d->modify(st, c[i].fd[0],
				    c[i].mask, 0), 0);
				close(c[i].fd[0]);
				close(c[i].fd[1]);
				c[i].fd[0] = c[i].fd[1] = -1;
			} else if (r == 1) {
				want = c[i].mask ^ IO_WRITE;
				if (want == 0)
					want = IO_READ;
				ck_assert_int_eq(d->modify(st, c[i].fd[0],
				    c[i].mask, want), 0);
				c[i].mask = want;
			} else if (r == 2 && !c[i].has_data) {
				ck_assert_int_eq(write(c[i].fd[1], "d", 1), 1);
				c[i].has_data = 1;
			}
		}
		n = d->wait(st, 0, false, fired, MAX_FIRED);
		ck_assert_int_ge(n, 0);
		expected = 0;
		for (i = 0; i < CHURN_FDS; i++) {
			if (c[i].fd[0] == -1)
				continue;
			if (io_test_sweeps(d))
				want = c[i].mask;
			else {
				want = c[i].mask & IO_WRITE;
				if (c[i].has_data && (c[i].mask & IO_READ))
					want |= IO_READ;
			}
			mask = io_test_mask(fired, n, c[i].fd[0]);
			ck_assert_msg(mask == (want ? want : -1),
			    "%s round %d: fd %d reported %d, want %d",
			    d->name, round, c[i].fd[0], mask, want);
			expected += want != 0;
			if (c[i].has_data && (mask & IO_READ) && mask != -1) {
				io_test_drain_from(d, c[i].fd[0]);
				c[i].has_data = 0;
			}
		}
		ck_assert_int_eq(n, expected);
	}
	for (i = 0; i < CHURN_FDS; i++) {
		if (c[i].fd[0] == -1)
			continue;
		ck_assert_int_eq(d->modify(st, c[i].fd[0], c[i].mask, 0), 0);
		close(c[i].fd[0]);
		close(c[i].fd[1]);
	}
	ck_assert_uint_eq(stats.pollnval, 0);
	d->destroy(st);
}
END_TEST

/* The detector works: an fd closed without removal is counted once. */
START_TEST(test_io_poll_nval_counted)
{
	const struct io_driver *d = io_find("poll");
	struct io_event fired[MAX_FIRED];
	enum log_level level;
	struct stats stats;
	int a[2], b[2], n;
	void *st;

	ck_assert_ptr_nonnull(d);
	st = io_test_create(d, &stats, 64);
	io_test_pair(a);
	io_test_pair(b);
	ck_assert_int_eq(d->modify(st, a[0], 0, IO_READ), 0);
	ck_assert_int_eq(d->modify(st, b[0], 0, IO_READ), 0);
	ck_assert_int_eq(write(b[1], "q", 1), 1);
	close(a[0]);		/* the bug: no modify(a[0], IO_READ, 0) */
	level = log_get_level();
	log_set_level(LOG_QUIET);	/* the warning is expected here */
	n = d->wait(st, 1000, false, fired, MAX_FIRED);
	log_set_level(level);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(fired[0].fd, b[0]);
	ck_assert_uint_eq(stats.pollnval, 1);
	/* Dropped, so poll() does not spin on it: counted once. */
	io_test_drain(b[0]);
	ck_assert_int_eq(d->wait(st, 0, false, fired, MAX_FIRED), 0);
	ck_assert_uint_eq(stats.pollnval, 1);
	d->destroy(st);
	close(a[1]);
	close(b[0]);
	close(b[1]);
}
END_TEST

/* One idle wait of the backoff driver, in microseconds. */
static int64_t
io_test_idle_wait(void *st, struct io_event *fired)
{
	int64_t t0;

	t0 = io_test_now_us();
	ck_assert_int_ge(io_backoff.wait(st, -1, true, fired, MAX_FIRED), 0);
	return io_test_now_us() - t0;
}

START_TEST(test_io_backoff_sleeps)
{
	struct io_event fired[MAX_FIRED];
	struct stats stats;
	int64_t dt, best;
	int a[2], i;
	void *st;

	st = io_test_create(&io_backoff, &stats, 64);
	io_test_pair(a);
	ck_assert_int_eq(io_backoff.modify(st, a[0], 0, IO_READ), 0);

	/* Work: no sleep. */
	ck_assert_int_eq(io_backoff.wait(st, -1, false, fired, MAX_FIRED), 1);
	ck_assert_uint_eq(stats.sleeps, 0);
	/* 1, 2, 4 ... 512, then the 1000 us cap: eleven idle sweeps. */
	for (i = 0; i < 11; i++) {
		io_test_idle_wait(st, fired);
		ck_assert_uint_eq(stats.sleeps, (uint64_t)i + 1);
	}
	dt = io_test_idle_wait(st, fired);
	ck_assert_msg(dt >= 1000, "capped sleep took only %lld us",
	    (long long)dt);
	ck_assert_uint_eq(stats.sleeps, 12);
	/*
	 * Any work resets the ladder: the first idle sleep after it is
	 * short again.  The best of five runs, so one scheduling hiccup on a
	 * loaded machine does not decide the result.
	 */
	best = INT64_MAX;
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(io_backoff.wait(st, -1, false, fired,
		    MAX_FIRED), 1);
		ck_assert_uint_eq(stats.sleeps, 12 + (uint64_t)i);
		dt = io_test_idle_wait(st, fired);
		if (dt < best)
			best = dt;
	}
	ck_assert_uint_eq(stats.sleeps, 17);
	ck_assert_msg(best < 500, "sleep after reset took %lld us",
	    (long long)best);
	io_backoff.destroy(st);

	/* backoff_max_us 0: never sleeps, however idle. */
	st = io_test_create_backoff(&io_backoff, &stats, 64, 0);
	ck_assert_int_eq(io_backoff.modify(st, a[0], 0, IO_READ), 0);
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(io_backoff.wait(st, -1, true, fired,
		    MAX_FIRED), 1);
	ck_assert_uint_eq(stats.sleeps, 0);
	io_backoff.destroy(st);
	close(a[0]);
	close(a[1]);
}
END_TEST

static volatile sig_atomic_t io_test_alarmed;

static void
io_test_on_alarm(int sig)
{
	(void)sig;
	io_test_alarmed = 1;
}

/* SIGALRM, caught, in usec microseconds (under a second). */
static void
io_test_alarm_in(long usec)
{
	struct sigaction sa;
	struct itimerval it;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = io_test_on_alarm;
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	memset(&it, 0, sizeof(it));
	it.it_value.tv_usec = usec;
	ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
}

/*
 * A signal cuts the nap short, and wait() sweeps at once: it reports the
 * registered fd instead of returning EINTR (which, under a signal storm,
 * would let no sweep ever happen: every call would nap and be cut).
 */
START_TEST(test_io_backoff_eintr)
{
	struct io_event fired[MAX_FIRED];
	struct stats stats;
	int64_t t0, dt;
	int i, n = 0, sv[2];
	void *st;

	/* A 4 s cap: the naps reach seconds. */
	st = io_test_create_backoff(&io_backoff, &stats, 64, 4000000);
	io_test_pair(sv);
	ck_assert_int_eq(io_backoff.modify(st, sv[0], 0, IO_READ), 0);
	io_test_alarmed = 0;
	/* 1 + 2 + ... + 2^20 us is about 2 s: the alarm lands in a nap. */
	io_test_alarm_in(300 * 1000);
	t0 = io_test_now_us();
	for (i = 0; i < 40 && !io_test_alarmed; i++)
		n = io_backoff.wait(st, -1, true, fired, MAX_FIRED);
	dt = io_test_now_us() - t0;
	ck_assert_msg(io_test_alarmed, "no alarm within 40 naps");
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(fired[0].fd, sv[0]);
	ck_assert_msg(dt < 1000000, "the sweep came %lld us after the start",
	    (long long)dt);
	signal(SIGALRM, SIG_DFL);
	io_backoff.destroy(st);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/*
 * sigio: a realtime signal queue that overflows.  With RLIMIT_SIGPENDING
 * at 1 the kernel can queue one signal at most, so 24 sockets turning
 * readable at once overflow it and it sends plain SIGIO.  The driver
 * must count that and sweep everything: all 24 are reported.
 */
#define SIGIO_TEST_FDS	24

START_TEST(test_io_sigio_overflow)
{
	struct io_event fired[MAX_FIRED];
	int p[SIGIO_TEST_FDS][2], i, n;
	struct rlimit rl, saved;
	struct stats stats;
	void *st;

	ck_assert_int_eq(getrlimit(RLIMIT_SIGPENDING, &saved), 0);
	rl = saved;
	rl.rlim_cur = 1;
	ck_assert_int_eq(setrlimit(RLIMIT_SIGPENDING, &rl), 0);
	st = io_test_create(&io_sigio, &stats, 64);
	for (i = 0; i < SIGIO_TEST_FDS; i++) {
		io_test_pair(p[i]);
		ck_assert_int_eq(io_sigio.modify(st, p[i][0], 0, IO_READ), 0);
	}
	/* The fresh fds are looked at once (bytes may predate O_ASYNC). */
	ck_assert_int_eq(io_sigio.wait(st, 0, false, fired, MAX_FIRED), 0);
	for (i = 0; i < SIGIO_TEST_FDS; i++)
		ck_assert_int_eq(write(p[i][1], "o", 1), 1);
	n = io_sigio.wait(st, 1000, false, fired, MAX_FIRED);
	ck_assert_int_eq(n, SIGIO_TEST_FDS);
	for (i = 0; i < SIGIO_TEST_FDS; i++)
		ck_assert_int_eq(io_test_mask(fired, n, p[i][0]), IO_READ);
	ck_assert_uint_ge(stats.sigio_overflows, 1);
	/* Drained, they go quiet; the next byte is a signal again. */
	for (i = 0; i < SIGIO_TEST_FDS; i++)
		io_test_drain(p[i][0]);
	ck_assert_int_eq(io_sigio.wait(st, 0, false, fired, MAX_FIRED), 0);
	ck_assert_int_eq(write(p[3][1], "o", 1), 1);
	n = io_sigio.wait(st, 1000, false, fired, MAX_FIRED);
	io_test_expect_one(fired, n, p[3][0], IO_READ);
	for (i = 0; i < SIGIO_TEST_FDS; i++) {
		ck_assert_int_eq(io_sigio.modify(st, p[i][0], IO_READ, 0), 0);
		close(p[i][0]);
		close(p[i][1]);
	}
	io_sigio.destroy(st);
	ck_assert_int_eq(setrlimit(RLIMIT_SIGPENDING, &saved), 0);
}
END_TEST

/*
 * sigio owns its signals: they are blocked while it lives (a delivered
 * one would kill the process), a second instance is refused, and the
 * mask is back as it was after destroy, with nothing left pending.
 */
START_TEST(test_io_sigio_signal_mask)
{
	struct io_event fired[MAX_FIRED];
	sigset_t before, during, after, pending;
	struct stats stats;
	int a[2];
	void *st;

	ck_assert_int_eq(sigprocmask(SIG_SETMASK, NULL, &before), 0);
	st = io_test_create(&io_sigio, &stats, 64);
	ck_assert_int_eq(sigprocmask(SIG_SETMASK, NULL, &during), 0);
	ck_assert(sigismember(&during, SIGIO));
	ck_assert_ptr_null(io_sigio.create(&(struct io_config){ .max_fds = 64,
	    .stats = &stats }));
	ck_assert_int_eq(errno, EBUSY);
	io_test_pair(a);
	ck_assert_int_eq(io_sigio.modify(st, a[0], 0, IO_READ), 0);
	ck_assert_int_eq(write(a[1], "s", 1), 1);
	/* Left registered and readable with a signal queued: destroy
	 * must still leave nothing behind. */
	ck_assert_int_eq(write(a[1], "t", 1), 1);
	io_sigio.destroy(st);
	ck_assert_int_eq(sigprocmask(SIG_SETMASK, NULL, &after), 0);
	ck_assert(sigismember(&after, SIGIO) == sigismember(&before, SIGIO));
	ck_assert_int_eq(sigpending(&pending), 0);
	ck_assert(!sigismember(&pending, SIGIO));
	ck_assert(!sigismember(&pending, SIGRTMIN + 1));
	/* No O_ASYNC left behind: more data raises nothing. */
	ck_assert_int_eq(write(a[1], "u", 1), 1);
	ck_assert_int_eq(sigpending(&pending), 0);
	ck_assert(!sigismember(&pending, SIGRTMIN + 1));
	/* And a new instance works. */
	st = io_test_create(&io_sigio, &stats, 64);
	ck_assert_int_eq(io_sigio.modify(st, a[0], 0, IO_READ), 0);
	ck_assert_int_eq(io_sigio.wait(st, 1000, false, fired, MAX_FIRED), 1);
	ck_assert_int_eq(io_sigio.modify(st, a[0], IO_READ, 0), 0);
	io_sigio.destroy(st);
	close(a[0]);
	close(a[1]);
}
END_TEST


/* ---- the completion driver ------------------------------------------------ */

/* d's index in io_drivers[], for TU_SKIP_UNAVAILABLE. */
static int
io_test_index(const struct io_driver *d)
{
	int i;

	for (i = 0; io_drivers[i] != d; i++)
		ck_assert_ptr_nonnull(io_drivers[i]);
	return i;
}

/* Byte i of the test streams. */
static char
io_test_byte(size_t i, int stream)
{
	return (char)((i * 7 + (size_t)stream * 13 + i / 251) & 0xff);
}

/*
 * More bytes arrive than the provided buffer ring holds (a 64-fd driver
 * gets 64 buffers of 4 KiB), before the driver has given any back: the
 * multishot recvs end with ENOBUFS and must be armed again, and every
 * byte still comes out of recv(), in order.
 */
START_TEST(test_io_uring_nobufs)
{
	enum { NPAIRS = 4, TOTAL = 256 * 1024 };
	const struct io_driver *d = &io_uring_async;
	struct io_event fired[MAX_FIRED];
	size_t sent[NPAIRS] = { 0 }, got[NPAIRS] = { 0 }, j;
	char chunk[8192], in[8192];
	struct stats stats;
	int p[NPAIRS][2], i, k, n, done;
	int64_t deadline;
	ssize_t r, w;
	void *st;

	TU_SKIP_UNAVAILABLE(io_test_index(d));
	st = io_test_create(d, &stats, 64);
	for (i = 0; i < NPAIRS; i++) {
		io_test_pair(p[i]);
		ck_assert_int_eq(d->modify(st, p[i][0], 0, IO_READ), 0);
	}
	ck_assert_int_eq(d->wait(st, 0, false, fired, MAX_FIRED), 0);
	deadline = tu_now_ms() + 10000;
	do {
		/* Write what the sockets take, all of it before any wait. */
		for (i = 0; i < NPAIRS; i++)
			while (sent[i] < TOTAL) {
				for (j = 0; j < sizeof(chunk); j++)
					chunk[j] = io_test_byte(sent[i] + j, i);
				w = write(p[i][1], chunk, sizeof(chunk) <
				    TOTAL - sent[i] ? sizeof(chunk) :
				    TOTAL - sent[i]);
				if (w <= 0)
					break;
				sent[i] += (size_t)w;
			}
		n = d->wait(st, 100, false, fired, MAX_FIRED);
		for (k = 0; k < n; k++) {
			for (i = 0; i < NPAIRS; i++)
				if (fired[k].fd == p[i][0])
					break;
			ck_assert_int_lt(i, NPAIRS);
			ck_assert_int_eq(fired[k].mask, IO_READ);
			while ((r = d->sysio->recv(p[i][0], in, sizeof(in),
			    0)) > 0) {
				for (j = 0; j < (size_t)r; j++)
					ck_assert_msg(in[j] == io_test_byte(got[i] +
					    j, i), "stream %d: byte %zu differs",
					    i, got[i] + j);
				got[i] += (size_t)r;
			}
			ck_assert_int_eq(errno, EAGAIN);
		}
		for (done = 0, i = 0; i < NPAIRS; i++)
			done += got[i] == TOTAL;
	} while (done < NPAIRS && tu_now_ms() < deadline);
	for (i = 0; i < NPAIRS; i++)
		ck_assert_msg(got[i] == TOTAL, "stream %d: %zu of %d bytes", i,
		    got[i], TOTAL);
	for (i = 0; i < NPAIRS; i++) {
		ck_assert_int_eq(d->modify(st, p[i][0], IO_READ, 0), 0);
		ck_assert_int_eq(d->sysio->close(p[i][0]), 0);
		close(p[i][1]);
	}
	d->destroy(st);
}
END_TEST

/* Read what fd has until want bytes came or EOF; checks the stream. */
static size_t
io_test_read_stream(int fd, size_t have, size_t want, int stream)
{
	char in[65536];
	size_t j;
	ssize_t n;

	while (have < want && (n = read(fd, in, sizeof(in))) > 0) {
		for (j = 0; j < (size_t)n; j++)
			ck_assert_msg(in[j] == io_test_byte(have + j, stream),
			    "byte %zu differs", have + j);
		have += (size_t)n;
	}
	return have;
}

/*
 * Output larger than the send slot to a socket with a small buffer: send()
 * takes what the slot holds and says EAGAIN, IO_WRITE comes back as the
 * sends complete (short ones go again first), and the peer gets every
 * byte in order.  Then send, shutdown and close at once: the close waits
 * for the slot to go out, the fd stays open until it has, and the peer
 * sees the bytes and then its EOF.
 */
START_TEST(test_io_uring_send_close)
{
	enum { TOTAL = 3 * 1024 * 1024, TAIL = 100 * 1024 };
	const struct io_driver *d = &io_uring_async;
	struct io_event fired[MAX_FIRED];
	size_t sent = 0, got = 0, j;
	char chunk[65536];
	struct stats stats;
	int a[2], n, k, sndbuf = 4096, eagain = 0;
	int64_t deadline;
	ssize_t w;
	void *st;

	TU_SKIP_UNAVAILABLE(io_test_index(d));
	st = io_test_create(d, &stats, 64);
	io_test_pair(a);
	ck_assert_int_eq(setsockopt(a[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
	    sizeof(sndbuf)), 0);
	ck_assert_int_eq(d->modify(st, a[0], 0, IO_WRITE), 0);
	deadline = tu_now_ms() + 20000;
	while (got < TOTAL && tu_now_ms() < deadline) {
		n = d->wait(st, 10, false, fired, MAX_FIRED);
		for (k = 0; k < n; k++) {
			ck_assert_int_eq(fired[k].fd, a[0]);
			ck_assert_int_eq(fired[k].mask, IO_WRITE);
			while (sent < TOTAL) {
				for (j = 0; j < sizeof(chunk); j++)
					chunk[j] = io_test_byte(sent + j, 0);
				w = d->sysio->send(a[0], chunk, sizeof(chunk) <
				    TOTAL - sent ? sizeof(chunk) : TOTAL - sent,
				    MSG_NOSIGNAL);
				if (w == -1) {
					ck_assert_int_eq(errno, EAGAIN);
					eagain++;
					break;
				}
				sent += (size_t)w;
			}
		}
		got = io_test_read_stream(a[1], got, TOTAL, 0);
	}
	ck_assert_uint_eq(got, TOTAL);
	ck_assert_int_gt(eagain, 0);	/* the slot did fill up */

	/* Send what the slot (and, once it is full, the socket) takes,
	 * shut down and close in one go, before any wait. */
	ck_assert_int_eq(d->modify(st, a[0], IO_WRITE, 0), 0);
	for (sent = 0; sent < TAIL; sent += (size_t)w) {
		for (j = 0; j < sizeof(chunk); j++)
			chunk[j] = io_test_byte(sent + j, 1);
		w = d->sysio->send(a[0], chunk, sizeof(chunk) < TAIL - sent ?
		    sizeof(chunk) : TAIL - sent, MSG_NOSIGNAL);
		if (w == -1 && errno == EAGAIN)
			break;
		ck_assert_int_gt(w, 0);
	}
	ck_assert_uint_ge(sent, 32 * 1024);
	ck_assert_int_eq(d->sysio->shutdown(a[0], SHUT_WR), 0);
	ck_assert_int_eq(d->sysio->close(a[0]), 0);
	ck_assert_int_ne(fcntl(a[0], F_GETFD), -1);	/* deferred */
	for (got = 0; got < sent && tu_now_ms() < deadline;) {
		(void)d->wait(st, 10, false, fired, MAX_FIRED);
		got = io_test_read_stream(a[1], got, sent, 1);
	}
	ck_assert_uint_eq(got, sent);
	while (fcntl(a[0], F_GETFD) != -1 && tu_now_ms() < deadline)
		(void)d->wait(st, 10, false, fired, MAX_FIRED);
	ck_assert_int_eq(fcntl(a[0], F_GETFD), -1);
	ck_assert_int_eq(read(a[1], chunk, 1), 0);	/* then the EOF */
	d->destroy(st);
	close(a[1]);
}
END_TEST

/* ---- adaptive ---------------------------------------------------------- */

/* The spin/sleep decision alone, on a fake clock (ns). */
START_TEST(test_io_spin_policy)
{
	struct io_spin_policy p;
	const int64_t us = 1000;

	io_spin_policy_init(&p, 100);
	/* Work: spin, however long ago the last sleep was. */
	ck_assert(!io_spin_policy_sleep_now(&p, 0, false));
	ck_assert(!io_spin_policy_sleep_now(&p, 10000 * us, false));
	/* Idle sweeps spin until the spell has lasted the budget. */
	ck_assert(!io_spin_policy_sleep_now(&p, 10001 * us, true));
	ck_assert(!io_spin_policy_sleep_now(&p, 10099 * us, true));
	ck_assert(!io_spin_policy_sleep_now(&p, 10100 * us - 1, true));
	ck_assert(io_spin_policy_sleep_now(&p, 10100 * us, true));
	ck_assert(io_spin_policy_sleep_now(&p, 10500 * us, true));
	/* Any work resets it: the budget counts from the last work. */
	ck_assert(!io_spin_policy_sleep_now(&p, 10600 * us, false));
	ck_assert(!io_spin_policy_sleep_now(&p, 10650 * us, true));
	ck_assert(!io_spin_policy_sleep_now(&p, 10699 * us, true));
	ck_assert(!io_spin_policy_sleep_now(&p, 10699 * us, false));
	ck_assert(!io_spin_policy_sleep_now(&p, 10790 * us, true));
	ck_assert(io_spin_policy_sleep_now(&p, 10799 * us, true));
	/* After a sleep, straight back to spinning with a whole budget. */
	io_spin_policy_woke(&p, 20000 * us);
	ck_assert(!io_spin_policy_sleep_now(&p, 20000 * us, true));
	ck_assert(!io_spin_policy_sleep_now(&p, 20099 * us, true));
	ck_assert(io_spin_policy_sleep_now(&p, 20100 * us, true));

	/* The first call of all starts an idle spell if it is idle. */
	io_spin_policy_init(&p, 100);
	ck_assert(!io_spin_policy_sleep_now(&p, 5000 * us, true));
	ck_assert(io_spin_policy_sleep_now(&p, 5100 * us, true));

	/* Budget 0: sleep at the first idle sweep, never after work. */
	io_spin_policy_init(&p, 0);
	ck_assert(io_spin_policy_sleep_now(&p, 1, true));
	ck_assert(!io_spin_policy_sleep_now(&p, 2, false));
	ck_assert(io_spin_policy_sleep_now(&p, 2, true));
	io_spin_policy_woke(&p, 3);
	ck_assert(io_spin_policy_sleep_now(&p, 3, true));
}
END_TEST

static void *
io_test_create_adaptive(struct stats *stats, unsigned spin_us,
    enum io_spin spin)
{
	struct io_config cfg;
	void *st;

	memset(stats, 0, sizeof(*stats));
	memset(&cfg, 0, sizeof(cfg));
	cfg.max_fds = 64;
	cfg.spin_us = spin_us;
	cfg.spin = spin;
	cfg.stats = stats;
	st = io_adaptive.create(&cfg);
	ck_assert_msg(st != NULL, "adaptive: create: %s", strerror(errno));
	return st;
}

/*
 * The real driver, both spin modes (_i: IO_SPIN_EPOLL, IO_SPIN_BUSY):
 * spins without sleeping while the server reports work, however long
 * that lasts; spins for the budget once it reports idle sweeps, then
 * sleeps with the server's timeout; spins again after the sleep.  The
 * clock checks are lower bounds only.  A spin that blocked would hang on
 * timeout -1, which the tcase timeout catches.
 */
START_TEST(test_io_adaptive_spin_then_sleep)
{
	enum io_spin spin = _i == 0 ? IO_SPIN_EPOLL : IO_SPIN_BUSY;
	const unsigned budget_us = 20000;
	struct io_event fired[MAX_FIRED];
	struct stats stats;
	int64_t t0, first_idle, last_work = 0;
	uint64_t calls = 0;
	int a[2], n;
	void *st;

	st = io_test_create_adaptive(&stats, budget_us, spin);
	io_test_pair(a);
	ck_assert_int_eq(io_adaptive.modify(st, a[0], 0, IO_READ), 0);

	/* Work for twice the budget: never a sleep. */
	t0 = io_test_now_us();
	while (io_test_now_us() - t0 < 2 * (int64_t)budget_us) {
		last_work = io_test_now_us();
		n = io_adaptive.wait(st, -1, false, fired, MAX_FIRED);
		/* busy spin: every socket, every time; epoll: only ready. */
		if (spin == IO_SPIN_BUSY)
			io_test_expect_one(fired, n, a[0], IO_READ);
		else
			ck_assert_int_eq(n, 0);
		calls++;
	}
	ck_assert_uint_eq(stats.sleeps, 0);
	ck_assert_uint_eq(stats.spins, calls);

	/*
	 * Idle: spins for the budget, then one sleep of the timeout.  The
	 * budget runs from inside the last work call; 2 ms of slack covers a
	 * preemption between a call's start and its clock read.
	 */
	first_idle = io_test_now_us();
	while (stats.sleeps == 0) {
		t0 = io_test_now_us();
		n = io_adaptive.wait(st, 50, true, fired, MAX_FIRED);
		ck_assert_int_ge(n, 0);
	}
	ck_assert_msg(t0 - last_work + 2000 >= budget_us, "slept after %lld us "
	    "of idle spinning, budget %u", (long long)(t0 - last_work),
	    budget_us);
	ck_assert_msg(io_test_now_us() - t0 >= 45000, "the sleep took %lld "
	    "us, timeout 50 ms", (long long)(io_test_now_us() - t0));
	ck_assert_int_eq(n, 0);
	ck_assert_uint_eq(stats.wakeups, 0);		/* a timeout */
	/* It spun through the rest of its budget first, unless this test was
	 * preempted past the budget before its first idle call. */
	if (first_idle - last_work + 2000 < (int64_t)budget_us)
		ck_assert_uint_gt(stats.spins, calls);

	/* Straight back to spinning: timeout -1 returns at once. */
	calls = stats.spins;
	n = io_adaptive.wait(st, -1, true, fired, MAX_FIRED);
	ck_assert_uint_eq(stats.spins, calls + 1);
	ck_assert_uint_eq(stats.sleeps, 1);
	ck_assert_int_eq(n, spin == IO_SPIN_BUSY ? 1 : 0);

	ck_assert_int_eq(io_adaptive.modify(st, a[0], IO_READ, 0), 0);
	io_adaptive.destroy(st);
	close(a[0]);
	close(a[1]);
}
END_TEST

/*
 * A sleep is one epoll_wait over every registered fd: it reports only
 * the ready ones, counts a wakeup, and includes fds the busy spin leaves
 * out (a pipe: the server's wake pipe).
 */
START_TEST(test_io_adaptive_wakeup)
{
	enum io_spin spin = _i == 0 ? IO_SPIN_EPOLL : IO_SPIN_BUSY;
	struct io_event fired[MAX_FIRED];
	struct stats stats;
	int a[2], b[2], p[2], n, status;
	pid_t pid;
	void *st;

	st = io_test_create_adaptive(&stats, 0, spin);
	io_test_pair(a);
	io_test_pair(b);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(io_adaptive.modify(st, a[0], 0, IO_READ), 0);
	ck_assert_int_eq(io_adaptive.modify(st, b[0], 0, IO_READ), 0);
	ck_assert_int_eq(io_adaptive.modify(st, p[0], 0, IO_READ), 0);

	/* A spin: the busy sweep reports both sockets but not the pipe. */
	n = io_adaptive.wait(st, -1, false, fired, MAX_FIRED);
	if (spin == IO_SPIN_BUSY) {
		ck_assert_int_eq(n, 2);
		ck_assert_int_eq(io_test_mask(fired, n, a[0]), IO_READ);
		ck_assert_int_eq(io_test_mask(fired, n, b[0]), IO_READ);
	} else
		ck_assert_int_eq(n, 0);

	/* Asleep until another process writes b: only b is reported. */
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		_exit(write(b[1], "w", 1) == 1 ? 0 : 1);
	}
	do
		n = io_adaptive.wait(st, -1, true, fired, MAX_FIRED);
	while (n == -1 && errno == EINTR);
	io_test_expect_one(fired, n, b[0], IO_READ);
	ck_assert_uint_eq(stats.sleeps, 1);
	ck_assert_uint_eq(stats.wakeups, 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	io_test_drain(b[0]);

	/* The pipe wakes a sleep too, in both modes. */
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	n = io_adaptive.wait(st, -1, true, fired, MAX_FIRED);
	io_test_expect_one(fired, n, p[0], IO_READ);
	ck_assert_uint_eq(stats.sleeps, 2);
	ck_assert_uint_eq(stats.wakeups, 2);
	/* Write interest changes reach the pipe's registration and the
	 * sweep alike; removal takes it out of both. */
	ck_assert_int_eq(io_adaptive.modify(st, p[0], IO_READ, 0), 0);
	ck_assert_int_eq(io_adaptive.modify(st, b[0], IO_READ,
	    IO_READ | IO_WRITE), 0);
	n = io_adaptive.wait(st, -1, false, fired, MAX_FIRED);
	ck_assert_int_eq(io_test_mask(fired, n, b[0]),
	    spin == IO_SPIN_BUSY ? IO_READ | IO_WRITE : IO_WRITE);
	ck_assert_int_eq(io_test_mask(fired, n, p[0]), -1);
	ck_assert_int_eq(io_adaptive.modify(st, a[0], IO_READ, 0), 0);
	ck_assert_int_eq(io_adaptive.modify(st, b[0], IO_READ | IO_WRITE, 0),
	    0);
	/* Nothing registered is ready: a sleep with a timeout ends empty. */
	ck_assert_int_eq(io_adaptive.wait(st, 20, true, fired, MAX_FIRED), 0);
	ck_assert_uint_eq(stats.sleeps, 3);
	ck_assert_uint_eq(stats.wakeups, 2);
	io_adaptive.destroy(st);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* A signal ends the sleep at once: -1 with EINTR, as for epoll. */
START_TEST(test_io_adaptive_eintr)
{
	struct io_event fired[MAX_FIRED];
	struct stats stats;
	int64_t t0, dt;
	int a[2], n;
	void *st;

	st = io_test_create_adaptive(&stats, 0, IO_SPIN_EPOLL);
	io_test_pair(a);
	ck_assert_int_eq(io_adaptive.modify(st, a[0], 0, IO_READ), 0);
	io_test_alarm_in(100 * 1000);
	t0 = io_test_now_us();
	n = io_adaptive.wait(st, 5000, true, fired, MAX_FIRED);
	dt = io_test_now_us() - t0;
	ck_assert_int_eq(n, -1);
	ck_assert_int_eq(errno, EINTR);
	ck_assert_msg(dt < 2000000, "EINTR came after %lld us", (long long)dt);
	ck_assert_uint_eq(stats.sleeps, 1);
	ck_assert_uint_eq(stats.wakeups, 0);
	signal(SIGALRM, SIG_DFL);
	io_adaptive.destroy(st);
	close(a[0]);
	close(a[1]);
}
END_TEST

Suite *
io_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("io");
	tc = tcase_create("drivers");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_io_table);
	tcase_add_test(tc, test_io_uring_probes_here);
	tcase_add_loop_test(tc, test_io_read_write, 0, NDRIVERS);
	tcase_add_loop_test(tc, test_io_timeout, 0, NDRIVERS);
	tcase_add_loop_test(tc, test_io_block_until_ready, 0, NDRIVERS);
	tcase_add_loop_test(tc, test_io_small_fired, 0, NDRIVERS);
	tcase_add_loop_test(tc, test_io_sweep_rotates, 0, NDRIVERS);
	tcase_add_loop_test(tc, test_io_listener, 0, NDRIVERS);
	tcase_add_loop_test(tc, test_io_hangup, 0, NDRIVERS);
	tcase_add_loop_test(tc, test_io_error_only, 0, NDRIVERS);
	tcase_add_loop_test(tc, test_io_high_fd, 0, NDRIVERS);
	tcase_add_loop_test(tc, test_io_churn, 0, NDRIVERS);
	tcase_add_test(tc, test_io_poll_nval_counted);
	tcase_add_test(tc, test_io_backoff_sleeps);
	tcase_add_test(tc, test_io_backoff_eintr);
	tcase_add_test(tc, test_io_spin_policy);
	tcase_add_loop_test(tc, test_io_adaptive_spin_then_sleep, 0, 2);
	tcase_add_loop_test(tc, test_io_adaptive_wakeup, 0, 2);
	tcase_add_test(tc, test_io_adaptive_eintr);
	tcase_add_test(tc, test_io_sigio_overflow);
	tcase_add_test(tc, test_io_sigio_signal_mask);
	tcase_add_test(tc, test_io_uring_nobufs);
	tcase_add_test(tc, test_io_uring_send_close);
	suite_add_tcase(s, tc);
	return s;
}
