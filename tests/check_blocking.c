/* check_blocking.c - what only the blocking models (fork, thread) promise:
 * no zombie, no leaked thread, --idle-timeout on a blocking socket. */
#include <sys/socket.h>

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check_suites.h"
#include "testutil.h"

static struct tu_server srv;

static void
bl_teardown(void)
{
	tu_server_free(&srv);
}

static void
bl_start(const char *io, const char *const extra[])
{
	const char *args[16];
	int n = 0, k;

	args[n++] = "--io";
	args[n++] = io;
	args[n++] = "--mode";
	args[n++] = "echo";
	for (k = 0; extra != NULL && extra[k] != NULL && n < 15; k++)
		args[n++] = extra[k];
	args[n] = NULL;
	ck_assert_msg(tu_server_start(&srv, POLLSERV_BIN, args) == 0,
	    "io %s: %s", io, tu_error());
}

static void
bl_echo(int fd, const char *msg)
{
	char back[64];
	size_t n = strlen(msg);

	TU_SEND(fd, msg);
	TU_OK(tu_read_exact(fd, back, n, TU_WAIT));
	ck_assert(memcmp(back, msg, n) == 0);
}

/* The state letter of pid from /proc/PID/stat ('Z': zombie), 0 if gone. */
static char
bl_state(int pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ')
		return 0;
	return p[2];
}

/* Poll /proc until the server is back to want threads. */
static void
bl_wait_threads(long want, const char *when)
{
	int64_t deadline = tu_now_ms() + TU_WAIT;
	long n;

	while ((n = tu_proc_status(srv.pid, "Threads")) != want) {
		ck_assert_msg(tu_now_ms() < deadline, "%ld threads, want %ld, "
		    "%s", n, want, when);
		usleep(10 * 1000);	/* polling /proc */
	}
}

/*
 * fork: a child per connection while it lasts, and after the client
 * leaves neither the child nor its zombie: /proc has no children of the
 * server and no Z entry for the old pids.  Twenty connections in turn,
 * each child gone before the next connects.
 */
START_TEST(test_fork_no_zombie)
{
	int kids[64], old[20], fd, i, n;
	int64_t deadline;

	bl_start("fork", NULL);
	for (i = 0; i < 20; i++) {
		fd = tu_connect(srv.port);
		ck_assert_int_ge(fd, 0);
		bl_echo(fd, "are you a process?");
		n = tu_children(srv.pid, kids, 64);
		ck_assert_msg(n == 1, "connection %d: %d children", i, n);
		old[i] = kids[0];
		ck_assert_int_ne(bl_state(old[i]), 'Z');
		close(fd);
		/* Gone, not a zombie, soon after the client leaves. */
		deadline = tu_now_ms() + TU_WAIT;
		while (bl_state(old[i]) != 0) {
			ck_assert_msg(tu_now_ms() < deadline, "pid %d still "
			    "there in state %c", old[i], bl_state(old[i]));
			usleep(5 * 1000);	/* polling /proc */
		}
	}
	deadline = tu_now_ms() + TU_WAIT;
	while ((n = tu_children(srv.pid, kids, 64)) != 0) {
		ck_assert_msg(tu_now_ms() < deadline, "%d children (state %c) "
		    "left after every client went", n, bl_state(kids[0]));
		usleep(10 * 1000);	/* polling /proc */
	}
	for (i = 0; i < 20; i++)
		ck_assert_msg(bl_state(old[i]) == 0, "pid %d is still there "
		    "in state %c", old[i], bl_state(old[i]));
	ck_assert_int_eq(tu_server_stop(&srv, SIGTERM, TU_WAIT), 0);
	ck_assert_int_eq(tu_server_stat(&srv, "final", "closed"), 20);
	ck_assert_int_eq(tu_server_stat(&srv, "final", "bytes_in"), 20 * 18);
}
END_TEST

/*
 * thread: one thread per live client, and when they leave the process is
 * back to its one thread: none leaks (detached threads end themselves).
 */
START_TEST(test_thread_no_leak)
{
	enum { N = 50 };
	int fds[N], i;

	bl_start("thread", NULL);
	ck_assert_int_eq(tu_proc_status(srv.pid, "Threads"), 1);
	for (i = 0; i < N; i++) {
		fds[i] = tu_connect(srv.port);
		ck_assert_int_ge(fds[i], 0);
	}
	for (i = 0; i < N; i++)
		bl_echo(fds[i], "are you a thread?");
	ck_assert_int_eq(tu_proc_status(srv.pid, "Threads"), 1 + N);
	tu_close_all(fds, N);
	bl_wait_threads(1, "after every client went");
	/* And again: the slots and stacks are reused, not piled up. */
	for (i = 0; i < N; i++) {
		fds[i] = tu_connect(srv.port);
		ck_assert_int_ge(fds[i], 0);
		bl_echo(fds[i], "again");
	}
	tu_close_all(fds, N);
	bl_wait_threads(1, "after the second round");
	ck_assert_int_eq(tu_server_stop(&srv, SIGTERM, TU_WAIT), 0);
	ck_assert_int_eq(tu_server_stat(&srv, "final", "closed"), 2 * N);
}
END_TEST

/*
 * --idle-timeout on a blocking socket (SO_RCVTIMEO): a silent client is
 * closed within 2.5 s and counted; one that keeps talking stays.
 */
static const char *const bl_models[] = { "fork", "thread" };

START_TEST(test_blocking_idle_timeout)
{
	const char *io = bl_models[_i];
	int silent, talker;
	int64_t t0;

	bl_start(io, (const char *const[]){ "--idle-timeout", "1", NULL });
	silent = tu_connect(srv.port);
	talker = tu_connect(srv.port);
	ck_assert(silent >= 0 && talker >= 0);
	bl_echo(silent, "then nothing");
	t0 = tu_now_ms();
	while (tu_now_ms() - t0 < 2500) {
		bl_echo(talker, "still here");
		usleep(200 * 1000);	/* the talker's pace */
	}
	/* Closed by now (it has been 2.5 s), with no byte more. */
	ck_assert_msg(tu_expect_eof(silent, 200) == 0, "%s: %s", io,
	    tu_error());
	bl_echo(talker, "and now");
	close(silent);
	close(talker);
	ck_assert_int_eq(tu_server_stop(&srv, SIGTERM, TU_WAIT), 0);
	ck_assert_int_eq(tu_server_stat(&srv, "final", "timeouts"), 1);
}
END_TEST

Suite *
blocking_suite(void)
{
	Suite *s = suite_create("blocking");
	TCase *tc = tcase_create("models");

	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, NULL, bl_teardown);
	tcase_add_test(tc, test_fork_no_zombie);
	tcase_add_test(tc, test_thread_no_leak);
	tcase_add_loop_test(tc, test_blocking_idle_timeout, 0,
	    (int)(sizeof(bl_models) / sizeof(bl_models[0])));
	suite_add_tcase(s, tc);
	return s;
}
