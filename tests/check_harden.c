/* check_harden.c - the real binary under timeouts, fd exhaustion, failing
 * allocations, connection floods and a syscall fault injector. */
#define _GNU_SOURCE	/* prlimit, memmem */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat.h"
#include "check_suites.h"
#include "testutil.h"

/* ---- /proc readers ------------------------------------------------------ */

/* utime + stime of pid, in clock ticks; -1 if unreadable. */
static long
hd_cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces: fields count from the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) != 2)
		return -1;
	return (long)(ut + st);
}

/* Open fds of pid, -1 if unreadable. */
static int
hd_open_fds(pid_t pid)
{
	char path[64];
	struct dirent *d;
	int n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((dir = opendir(path)) == NULL)
		return -1;
	while ((d = readdir(dir)) != NULL)
		if (d->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

/* The value of key=N in the last "stats event=final" line of the log. */
static long long
hd_final_stat(struct tu_server *s, const char *key)
{
	const char *log = tu_server_log(s), *line, *p;
	char needle[64];
	long long v = -1;

	if ((line = strstr(log, "stats event=final")) == NULL)
		return -1;
	snprintf(needle, sizeof(needle), " %s=", key);
	if ((p = strstr(line, needle)) != NULL)
		v = strtoll(p + strlen(needle), NULL, 10);
	return v;
}

/* Stop with SIGTERM: must exit 0 with a final stats line. */
static void
hd_stop_clean(struct tu_server *s)
{
	int rc = tu_server_stop(s, SIGTERM, 10000);

	ck_assert_msg(rc == 0, "server exit code %d; log:\n%s", rc,
	    tu_server_log(s));
	ck_assert_msg(strstr(tu_server_log(s), "stats event=final") != NULL,
	    "no final stats line");
}

/*
 * Read lines until want arrives, skipping room notices ("* x joined",
 * "* x left") and relays that the timing makes unpredictable.  Returns
 * 0, or -1 on EOF/deadline/any other line, with tu_error() set.
 */
static int
hd_wait_line(int fd, const char *want, int timeout_ms)
{
	int64_t deadline = tu_now_ms() + timeout_ms;
	char line[512], q[600];
	ssize_t n;

	for (;;) {
		n = tu_read_line(fd, line, sizeof(line), tu_left_ms(deadline));
		if (n <= 0)
			return tu_fail("waiting for \"%s\": %s", want,
			    n == 0 ? "EOF" : tu_error());
		if (strcmp(line, want) == 0)
			return 0;
		if ((strncmp(line, "* ", 2) == 0 &&
		    (strstr(line, " joined\n") || strstr(line, " left\n"))) ||
		    line[0] == '<')
			continue;
		tu_quote(line, (size_t)n, q, sizeof(q));
		return tu_fail("waiting for \"%s\", got \"%s\"", want, q);
	}
}

/* ---- timeouts ----------------------------------------------------------- */

/*
 * One server per driver with --idle-timeout 1 --line-timeout 1, and three
 * clients at once: a silent one (idle timeout), a slowloris trickling a
 * byte every 200 ms (line timeout, which the trickle must not postpone),
 * and one finishing a line every 300 ms (never times out).  The timers
 * are checked once a second, so a timeout fires 1 to 2 s late at most;
 * the blocking drivers must wake up for it on their own.
 */
START_TEST(test_timeouts)
{
	const char *drv = tu_driver_name(_i);
	const char *args[] = { "--io", drv, "--idle-timeout", "1",
	    "--line-timeout", "1", NULL };
	struct tu_server s;
	int idle, slow, busy, fds[3];
	int64_t t0, t_line = 0, next_trickle, next_line;
	char nick[3][TU_NICK_LEN], line[4096];
	int trickled = 0, lines = 0;
	bool slow_done = false;

	TU_CHAT_ONLY(_i);
	TU_SKIP_UNAVAILABLE(_i);

	TU_OK(tu_server_start(&s, POLLSERV_BIN, args));
	TU_OK(tu_chat_join_all(s.port, fds, nick, 3));
	idle = fds[0];
	slow = fds[1];
	busy = fds[2];
	TU_OK(tu_set_nonblocking(slow, true));
	t0 = tu_now_ms();
	next_trickle = next_line = t0;
	/* Drive the trickler and the talker for 3.2 s. */
	while (tu_now_ms() - t0 < 3200) {
		int64_t now = tu_now_ms();
		ssize_t n;

		if (!slow_done && now >= next_trickle) {
			/* Never an LF: one line, growing slowly. */
			(void)!send(slow, "z", 1, MSG_NOSIGNAL);
			trickled++;
			next_trickle += 200;
		}
		if (now >= next_line) {
			/* Finish the previous partial line, start the next. */
			snprintf(line, sizeof(line), "%sx", lines > 0 ? "\n" :
			    "");
			TU_SEND(busy, line);
			lines++;
			next_line += 300;
		}
		if (!slow_done && (n = recv(slow, line, sizeof(line) - 1,
		    MSG_PEEK)) > 0) {
			line[n] = '\0';
			if (strstr(line, CHAT_LINE_TIMEOUT) != NULL) {
				t_line = tu_now_ms() - t0;
				slow_done = true;
			}
		}
		usleep(20 * 1000);	/* pacing the trickle, not a race */
	}
	/* The trickler was cut off after 1 to 2 s, despite its bytes. */
	ck_assert_msg(slow_done, "%s: no line timeout after %d trickled bytes",
	    drv, trickled);
	ck_assert_msg(t_line >= 900 && t_line <= 2600, "%s: line timeout "
	    "after %lld ms", drv, (long long)t_line);
	TU_OK(tu_set_nonblocking(slow, false));
	ck_assert_msg(hd_wait_line(slow, CHAT_LINE_TIMEOUT, TU_WAIT) == 0,
	    "%s: %s", drv, tu_error());
	TU_OK(tu_wait_closed(slow, TU_WAIT, NULL));
	/* The silent one was told and closed. */
	ck_assert_msg(hd_wait_line(idle, CHAT_IDLE_TIMEOUT, TU_WAIT) == 0,
	    "%s: %s", drv, tu_error());
	TU_OK(tu_wait_closed(idle, TU_WAIT, NULL));
	/* The talker is still here: its last partial line goes through. */
	TU_SEND(busy, "\n/who\n");
	ck_assert_msg(hd_wait_line(busy, "* users (1): guest3\n", TU_WAIT) ==
	    0, "%s: %s", drv, tu_error());
	close(idle);
	close(slow);
	close(busy);
	hd_stop_clean(&s);
	ck_assert_int_eq(hd_final_stat(&s, "timeouts"), 2);
	ck_assert_int_eq(tu_server_log_count(&s, "line timeout"), 1);
	ck_assert_int_eq(tu_server_log_count(&s, "idle timeout"), 1);
	tu_server_free(&s);
}
END_TEST

/*
 * A peer that never reads (dead, or hostile) in echo mode: its output is
 * at the cap, so the server stops reading it (backpressure), the idle
 * timeout drains it, and since it takes nothing the drain would last
 * forever, holding --max-outbuf of memory and an fd.  --line-timeout
 * bounds the flush: it is closed 1 to 2 s later.  The other client
 * echoes on throughout.
 */
START_TEST(test_drain_timeout)
{
	const char *args[] = { "--mode", "echo", "--idle-timeout", "1",
	    "--line-timeout", "1", "--io", tu_driver_name(_i), NULL };
	struct tu_server s;
	static char blob[64 * 1024];
	char back[16];
	int hog, fine;
	int64_t deadline, quiet_since = 0;

	TU_SKIP_UNAVAILABLE(_i);

	if (!tu_driver_serves_chat(_i)) {
		/* No output buffer to drain: a blocking model's peer that takes
		 * nothing is closed by --idle-timeout's SO_SNDTIMEO, tested in
		 * check_blocking.c. */
		fprintf(stderr, "skipped: test_drain_timeout with --io %s: no "
		    "drain state in a blocking model\n", tu_driver_name(_i));
		return;
	}
	TU_OK(tu_server_start(&s, POLLSERV_BIN, args));
	hog = tu_connect_rcvbuf(s.port, 4096);
	ck_assert_int_ne(hog, -1);
	TU_OK(tu_set_nonblocking(hog, true));
	memset(blob, 'h', sizeof(blob));
	/* Write until the server has stopped reading for 300 ms. */
	deadline = tu_now_ms() + 10000;
	while (tu_now_ms() < deadline) {
		ssize_t k = send(hog, blob, sizeof(blob), MSG_NOSIGNAL);

		if (k > 0) {
			quiet_since = 0;
			continue;
		}
		ck_assert_msg(k == -1 && errno == EAGAIN, "send: %s",
		    strerror(errno));
		if (quiet_since == 0)
			quiet_since = tu_now_ms();
		else if (tu_now_ms() - quiet_since >= 300)
			break;
		usleep(10 * 1000);
	}
	ck_assert_msg(quiet_since != 0, "the server never pushed back");
	/* The other client talks every 200 ms (or the idle timeout would
	 * take it too) and is served throughout. */
	fine = tu_connect(s.port);
	ck_assert_int_ne(fine, -1);
	deadline = tu_now_ms() + 8000;
	while (tu_server_log_count(&s, "output not taken within 1 s (after "
	    "idle timeout)") == 0) {
		ck_assert_msg(tu_now_ms() < deadline, "the stuck drain was "
		    "never closed; log:\n%s", tu_server_log(&s));
		TU_OK(tu_send_all(fine, "ping", 4));
		TU_OK(tu_read_exact(fine, back, 4, TU_WAIT));
		ck_assert_int_eq(memcmp(back, "ping", 4), 0);
		usleep(200 * 1000);	/* the talker's pace */
	}
	/* Gone: only the other one is left, and it still echoes. */
	ck_assert_int_eq(tu_signal_stat(&s, "clients"), 1);
	TU_OK(tu_send_all(fine, "pong", 4));
	TU_OK(tu_read_exact(fine, back, 4, TU_WAIT));
	ck_assert_int_eq(memcmp(back, "pong", 4), 0);
	close(hog);
	close(fine);
	hd_stop_clean(&s);
	ck_assert_int_ge(hd_final_stat(&s, "timeouts"), 2);
	tu_server_free(&s);
}
END_TEST

/* ---- fd exhaustion ------------------------------------------------------ */

/* prlimit --nofile=N:N at start: --max-clients is lowered to fit, said so
 * in the log, and the client past it is refused. */
START_TEST(test_nofile_at_start)
{
	const char *args[] = { "--nofile=40:40", POLLSERV_BIN, "--listen",
	    "127.0.0.1:0", "--io", tu_driver_name(_i), NULL };
	struct tu_server s;
	int fds[24], extra;

	TU_CHAT_ONLY(_i);
	TU_SKIP_UNAVAILABLE(_i);

	if (access("/usr/bin/prlimit", X_OK) != 0) {
		fprintf(stderr, "harden: no /usr/bin/prlimit, skipped\n");
		return;
	}
	TU_OK(tu_server_start_argv(&s, "/usr/bin/prlimit", args));
	TU_OK(tu_server_wait_log(&s, "--max-clients lowered from 10000 to 24",
	    TU_WAIT));
	TU_OK(tu_chat_join_all(s.port, fds, NULL, 24));
	extra = tu_connect(s.port);
	ck_assert_int_ne(extra, -1);
	TU_EXPECT_LINE(extra, CHAT_SERVER_FULL);
	TU_EXPECT_EOF(extra);
	close(extra);
	TU_SEND(fds[0], "still fine\n");
	TU_EXPECT_LINE(fds[23], "<guest1> still fine\n");
	tu_close_all(fds, 24);
	hd_stop_clean(&s);
	ck_assert_int_eq(hd_final_stat(&s, "rejected"), 1);
	tu_server_free(&s);
}
END_TEST

/*
 * The fd limit lowered under a running server (prlimit(2) on its pid), so
 * accept() itself fails with EMFILE: the reserve fd path.  Connections
 * past the limit are told `! server full`, the log says so at most once a
 * second, the clients already connected carry on, and the blocking
 * drivers do not spin on the listener.
 */
START_TEST(test_emfile)
{
	const char *drv = tu_driver_name(_i);
	const char *args[] = { "--io", drv, NULL };
	struct tu_server s;
	struct rlimit rl;
	int fds[3], more[2], i, nfds, refused = 0;
	long t0, t1, hz = sysconf(_SC_CLK_TCK);
	long long sweeps0, sweeps1, wb0, wb1, spins0 = 0, spins1 = 0;
	bool spins = strcmp(drv, "adaptive") == 0;
	int64_t start;

	TU_CHAT_ONLY(_i);
	TU_SKIP_UNAVAILABLE(_i);

	TU_OK(tu_server_start(&s, POLLSERV_BIN, args));
	TU_OK(tu_chat_join_all(s.port, fds, NULL, 3));
	nfds = hd_open_fds(s.pid);
	ck_assert_int_gt(nfds, 3);
	/* Room for exactly two more connections. */
	rl.rlim_cur = rl.rlim_max = (rlim_t)nfds + 2;
	ck_assert_msg(prlimit(s.pid, RLIMIT_NOFILE, &rl, NULL) == 0,
	    "prlimit: %s", strerror(errno));
	for (i = 0; i < 2; i++) {
		more[i] = tu_chat_connect(s.port, NULL, 0);
		ck_assert_msg(more[i] != -1, "%s", tu_error());
	}
	/* Ten more over ~1 s, each refused; measure the CPU meanwhile. */
	sweeps0 = tu_signal_stat(&s, "sweeps");
	wb0 = tu_signal_stat(&s, "wouldblock");
	if (spins)
		spins0 = tu_signal_stat(&s, "spins");
	start = tu_now_ms();
	t0 = hd_cpu_ticks(s.pid);
	for (i = 0; i < 10; i++) {
		int fd = tu_connect(s.port);

		ck_assert_int_ne(fd, -1);
		TU_EXPECT_LINE(fd, CHAT_SERVER_FULL);
		TU_EXPECT_EOF(fd);
		close(fd);
		refused++;
		usleep(100 * 1000);	/* spacing the attempts */
	}
	t1 = hd_cpu_ticks(s.pid);
	ck_assert_int_ge(t0, 0);
	sweeps1 = tu_signal_stat(&s, "sweeps");
	wb1 = tu_signal_stat(&s, "wouldblock");
	if (spins)
		spins1 = tu_signal_stat(&s, "spins");
	ck_assert(sweeps0 >= 0 && wb0 >= 0 && sweeps1 > sweeps0 && wb1 >= wb0);
	fprintf(stderr, "emfile %s: 10 refused in %lld ms: %lld sweeps, %lld "
	    "wouldblock, %.2f s CPU\n", drv, (long long)(tu_now_ms() - start),
	    sweeps1 - sweeps0, wb1 - wb0, (double)(t1 - t0) / (double)hz);
	/* No more wasted calls per sweep than a normal sweep makes: one
	 * accept and one recv per client (5 here), with a little slack for
	 * the sends and the refused connections themselves. */
	ck_assert_msg((double)(wb1 - wb0) / (double)(sweeps1 - sweeps0) <=
	    5 + 3, "%s: %lld wouldblocks in %lld sweeps while refusing", drv,
	    wb1 - wb0, sweeps1 - sweeps0);
	/* A driver that sleeps sweeps only when something happens: tens of
	 * sweeps for ten refusals, not a hot loop.  adaptive spins for
	 * --spin-us after each event by design: its sweeps that were not
	 * spins (its sleeps) count.  (The last two probes' own sweeps are
	 * between the samples too: a few more.) */
	if (strcmp(drv, "busy") != 0 && strcmp(drv, "backoff") != 0)
		ck_assert_msg(sweeps1 - sweeps0 - (spins1 - spins0) < 500,
		    "%s: %lld sweeps (%lld spins) while refusing ten "
		    "connections", drv, sweeps1 - sweeps0, spins1 - spins0);
	/* Sleeping drivers stay near idle: no hot loop on the listener. */
	if (strcmp(drv, "busy") != 0 && strcmp(drv, "backoff") != 0)
		ck_assert_msg((double)(t1 - t0) / (double)hz <
		    0.2 * (double)(tu_now_ms() - start) / 1000.0,
		    "%s: %ld ticks of CPU in %lld ms while refusing", drv,
		    t1 - t0, (long long)(tu_now_ms() - start));
	/* At most one log line per second, however many refusals. */
	ck_assert_int_ge(tu_server_log_count(&s, "refusing connections"), 1);
	ck_assert_int_le(tu_server_log_count(&s, "refusing connections"),
	    1 + (int)((tu_now_ms() - start) / 1000) + 1);
	/* Everyone connected is still served, in order. */
	TU_SEND(fds[0], "one\n");
	TU_SEND(fds[0], "two\n");
	/* (hd_wait_line skips the join notices; a lost or swapped line
	 * still fails, since the second wait would not find its line.) */
	TU_OK(hd_wait_line(fds[1], "<guest1> one\n", TU_WAIT));
	TU_OK(hd_wait_line(fds[1], "<guest1> two\n", TU_WAIT));
	TU_OK(hd_wait_line(more[1], "<guest1> one\n", TU_WAIT));
	TU_OK(hd_wait_line(more[1], "<guest1> two\n", TU_WAIT));
	/* Freeing fds lets connections in again. */
	tu_close_all(more, 2);
	{
		int fd = -1;
		int64_t deadline = tu_now_ms() + TU_WAIT;

		/* The server frees the fds when it sees the FINs; until then
		 * a new connection is still refused, so retry. */
		while (tu_now_ms() < deadline) {
			char buf[64];

			fd = tu_connect(s.port);
			ck_assert_int_ne(fd, -1);
			if (tu_read_line(fd, buf, sizeof(buf), TU_WAIT) > 0 &&
			    strncmp(buf, "* welcome", 9) == 0)
				break;
			close(fd);
			fd = -1;
			usleep(50 * 1000);
		}
		ck_assert_msg(fd != -1, "%s: never admitted again", drv);
		close(fd);
	}
	tu_close_all(fds, 3);
	hd_stop_clean(&s);
	ck_assert_int_ge(hd_final_stat(&s, "rejected"), refused);
	tu_server_free(&s);
}
END_TEST

/* ---- allocation failure ------------------------------------------------- */

/*
 * tests/failalloc.c is an LD_PRELOAD shim whose realloc() fails for any
 * size of FAILALLOC_MIN bytes or more.  The server's buffers grow by
 * doubling through realloc, so the one client whose buffer has to pass
 * that size is the one that meets ENOMEM; the others never allocate that
 * much.  Built by the Makefile next to the test binary.
 */
static const char *
hd_shim_path(void)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s", POLLSERV_BIN);
	/* .../plain/pollserv -> .../plain/tests/failalloc.so */
	*strrchr(path, '/') = '\0';
	strncat(path, "/tests/failalloc.so", sizeof(path) - strlen(path) - 1);
	return path;
}

static int
hd_start_with_shim(struct tu_server *s, const char *const args[])
{
	char preload[4200];
	int rc;

	ck_assert_msg(access(hd_shim_path(), R_OK) == 0, "%s missing: build "
	    "it with make test-binaries", hd_shim_path());
	snprintf(preload, sizeof(preload), "%s", hd_shim_path());
	setenv("LD_PRELOAD", preload, 1);
	setenv("FAILALLOC_MIN", "262144", 1);
	/* An ASan server wants its runtime first; the shim only forwards. */
	setenv("ASAN_OPTIONS", "verify_asan_link_order=0", 1);
	rc = tu_server_start(s, POLLSERV_BIN, args);
	unsetenv("LD_PRELOAD");
	unsetenv("FAILALLOC_MIN");
	unsetenv("ASAN_OPTIONS");
	return rc;
}

/* Chat: a stalled reader's output buffer cannot grow past 128 KiB. */
START_TEST(test_oom_output)
{
	const char *args[] = { "--max-outbuf", "4M", NULL };
	char line[1100], want[1200], got[1200];
	struct tu_server s;
	int fds[2], stalled, i;
	bool left = false;
	ssize_t n;

	TU_OK(hd_start_with_shim(&s, args));
	TU_OK(tu_chat_join_all(s.port, fds, NULL, 2));
	stalled = tu_connect_rcvbuf(s.port, 4096);
	ck_assert_int_ne(stalled, -1);
	TU_EXPECT_LINE(fds[0], "* guest3 joined\n");
	TU_EXPECT_LINE(fds[1], "* guest3 joined\n");
	/* Up to 8 MB for the stalled one: the kernel's socket buffers take
	 * a few MB (send buffer autotuning), then the server's output buffer
	 * must pass 128 KiB.
	 * The live reader gets every line, with the stalled one's departure
	 * somewhere between them. */
	memset(line, 'm', sizeof(line));
	for (i = 0; i < 8000 && !left; i++) {
		int k = snprintf(line, sizeof(line), "%04d ", i);

		line[k] = 'm';
		line[1000] = '\n';
		TU_OK(tu_send_all(fds[0], line, 1001));
		snprintf(want, sizeof(want), "<guest1> %.*s", 1001, line);
		for (;;) {
			n = tu_read_line(fds[1], got, sizeof(got), TU_WAIT);
			ck_assert_msg(n > 0, "line %d: %s", i, tu_error());
			if (strcmp(got, "* guest3 left\n") == 0) {
				left = true;
				continue;
			}
			break;
		}
		ck_assert_msg((size_t)n == strlen(want) &&
		    memcmp(got, want, (size_t)n) == 0, "line %d garbled", i);
	}
	ck_assert_msg(left, "the stalled reader was never closed");
	TU_OK(tu_wait_closed(stalled, TU_WAIT, NULL));
	close(stalled);
	tu_close_all(fds, 2);
	hd_stop_clean(&s);
	ck_assert_int_eq(hd_final_stat(&s, "oom_closed"), 1);
	ck_assert_int_eq(hd_final_stat(&s, "slow_closed"), 0);
	ck_assert_int_ge(tu_server_log_count(&s, "out of memory for output"),
	    1);
	tu_server_free(&s);
}
END_TEST

/* Echo: input that is read into a buffer that cannot grow. */
START_TEST(test_oom_input)
{
	const char *args[] = { "--mode", "echo", "--max-outbuf", "4M", NULL };
	struct tu_server s;
	int hog, fine;
	char *blob;
	size_t n = 16 * 1024 * 1024;

	TU_OK(hd_start_with_shim(&s, args));
	/* A small receive window, or loopback's autotuned buffers would
	 * swallow megabytes before the server's own buffer has to grow. */
	hog = tu_connect_rcvbuf(s.port, 4096);
	fine = tu_connect(s.port);
	ck_assert_int_ne(hog, -1);
	ck_assert_int_ne(fine, -1);
	blob = malloc(n);
	ck_assert_ptr_nonnull(blob);
	memset(blob, 'e', n);
	/* The hog writes without reading: once the kernel's buffers are
	 * full its echo buffer has to pass 128 KiB, which the shim refuses.
	 * The send may end with a reset. */
	TU_OK(tu_set_nonblocking(hog, true));
	{
		size_t off = 0;
		int64_t deadline = tu_now_ms() + 10000;

		while (off < n && tu_now_ms() < deadline) {
			ssize_t k = send(hog, blob + off, n - off,
			    MSG_NOSIGNAL);

			if (k > 0)
				off += (size_t)k;
			else if (k == -1 && errno != EAGAIN)
				break;
			else
				usleep(1000);
			if (tu_server_log_count(&s, "out of memory") > 0)
				break;
		}
	}
	/* Echo's input goes straight into its output buffer. */
	TU_OK(tu_server_wait_log(&s, "out of memory for output", TU_WAIT));
	TU_OK(tu_set_nonblocking(hog, false));
	TU_OK(tu_wait_closed(hog, TU_WAIT, NULL));
	/* The other client echoes on, 100 KB of it. */
	TU_OK(tu_send_all(fine, blob, 100 * 1024));
	{
		char *back = malloc(100 * 1024);

		ck_assert_ptr_nonnull(back);
		TU_OK(tu_read_exact(fine, back, 100 * 1024, TU_WAIT));
		ck_assert_int_eq(memcmp(back, blob, 100 * 1024), 0);
		free(back);
	}
	free(blob);
	close(hog);
	close(fine);
	hd_stop_clean(&s);
	ck_assert_int_eq(hd_final_stat(&s, "oom_closed"), 1);
	tu_server_free(&s);
}
END_TEST

/* ---- connection flood --------------------------------------------------- */

#ifndef HD_FLOOD_MS
#define HD_FLOOD_MS	10000
#endif

/* Send /who from fd until it lists just the two regulars (the server has
 * reaped every flood connection), skipping the notices before it. */
static void
hd_wait_regulars(int fd, const char *drv)
{
	int64_t deadline = tu_now_ms() + 10000;
	char got[256];

	TU_OK(tu_set_nonblocking(fd, false));
	for (;;) {
		TU_SEND(fd, "/who\n");
		do {
			ck_assert_msg(tu_read_line(fd, got, sizeof(got),
			    TU_WAIT) > 0, "%s: %s", drv, tu_error());
		} while (strncmp(got, "* users", 7) != 0);
		if (strcmp(got, "* users (2): guest1 guest2\n") == 0)
			return;
		ck_assert_msg(tu_now_ms() < deadline, "%s: %s", drv, got);
		usleep(20 * 1000);	/* between polls */
	}
}

/*
 * Every driver at once (five servers, one flooder, so the whole table
 * costs 10 s rather than 50): open and close connections as fast as the
 * loop can, most with a reset so the client side leaves no TIME_WAIT and
 * the ephemeral ports last, one in eight with a FIN.  Two clients per
 * server keep talking throughout, and each server's RSS must come back
 * to within 10% of what it was before the flood, or 512 kB, whichever is
 * more: on a 2 MB process 10% is some fifty pages, which the allocator's
 * arenas move by on their own, while a leak of even 100 bytes a
 * connection over the flood's tens of thousands is megabytes.
 */
#define HD_FLOOD_SLACK_KB(rss) ((rss) / 10 > 512 ? (rss) / 10 : 512)
START_TEST(test_flood)
{
	enum { MAXD = 8 };
	struct tu_server s[MAXD];
	int a[MAXD], b[MAXD], drv[MAXD], nd, d;
	long rss0[MAXD], rss1[MAXD];
	unsigned long conns = 0, lines = 0;
	int64_t start, next_talk;
	char line[64];

	/* The flood is a chat scenario: drv[] lists the drivers serving chat
	 * that can run here; the rest are skipped, and said so. */
	for (d = 0, nd = 0; d < tu_ndrivers(); d++) {
		if (tu_skip_unless_chat(d, "test_flood"))
			continue;
		if (tu_driver_unavailable(d) != NULL)
			fprintf(stderr, "skipped: flood for --io %s: %s\n",
			    tu_driver_name(d), tu_driver_unavailable(d));
		else if (nd < MAXD)
			drv[nd++] = d;
	}
	ck_assert_int_le(nd, MAXD);
	for (d = 0; d < nd; d++) {
		const char *args[] = { "--io", tu_driver_name(drv[d]), NULL };
		int fds[2];

		TU_OK(tu_server_start(&s[d], POLLSERV_BIN, args));
		TU_OK(tu_chat_join_all(s[d].port, fds, NULL, 2));
		a[d] = fds[0];
		b[d] = fds[1];
	}
	/* a only talks; what it is sent is thrown away as it comes, so no
	 * output piles up in the server for it. */
	/*
	 * Warm up: a burst of 256 connections (one accept batch) through each,
	 * so the baseline is the server's working set after it has seen a
	 * burst (driver tables and allocator arenas at working size), not
	 * its state fresh from start-up.  Then the baseline is the lowest
	 * RSS seen over 2.5 s, long enough for the post-burst trim.
	 */
	for (d = 0; d < nd; d++) {
		int burst[256], i;

		for (i = 0; i < 256; i++) {
			burst[i] = tu_connect(s[d].port);
			ck_assert_msg(burst[i] != -1, "%s", tu_error());
		}
		for (i = 0; i < 256; i++)
			tu_close_reset(burst[i]);
		hd_wait_regulars(a[d], tu_driver_name(drv[d]));
		hd_wait_regulars(b[d], tu_driver_name(drv[d]));
		rss0[d] = tu_rss_kb(s[d].pid);
		ck_assert_int_gt(rss0[d], 0);
	}
	start = tu_now_ms();
	while (tu_now_ms() - start < 2500) {
		for (d = 0; d < nd; d++) {
			long r = tu_rss_kb(s[d].pid);

			if (r > 0 && r < rss0[d])
				rss0[d] = r;
		}
		usleep(100 * 1000);	/* the sampling interval */
	}
	start = next_talk = tu_now_ms();
	while (tu_now_ms() - start < HD_FLOOD_MS) {
		for (d = 0; d < nd; d++) {
			int fd = tu_connect(s[d].port);

			ck_assert_msg(fd != -1, "%s: connect failed after %lu "
			    "connections: %s", tu_driver_name(drv[d]), conns,
			    tu_error());
			if (conns % 8 == 0)
				close(fd);
			else
				tu_close_reset(fd);
			conns++;
		}
		if (tu_now_ms() >= next_talk) {
			/* The regulars still get every line, in order. */
			snprintf(line, sizeof(line), "regular %lu\n", lines);
			for (d = 0; d < nd; d++) {
				char sink[4096];

				TU_SEND(a[d], line);
				while (recv(a[d], sink, sizeof(sink),
				    MSG_DONTWAIT) > 0)
					;
			}
			snprintf(line, sizeof(line), "<guest1> regular %lu\n",
			    lines);
			for (d = 0; d < nd; d++)
				ck_assert_msg(hd_wait_line(b[d], line, TU_WAIT)
				    == 0, "%s: %s", tu_driver_name(drv[d]),
				    tu_error());
			lines++;
			next_talk += 200;
		}
	}
	for (d = 0; d < nd; d++) {
		int64_t deadline;
		int fds[2];

		ck_assert_msg(kill(s[d].pid, 0) == 0, "%s died",
		    tu_driver_name(drv[d]));
		/* Wait until the server has seen every close. */
		hd_wait_regulars(a[d], tu_driver_name(drv[d]));
		deadline = tu_now_ms() + 5000;
		/* RSS settles back (polled, with a deadline). */
		do {
			rss1[d] = tu_rss_kb(s[d].pid);
			if (rss1[d] <= rss0[d] + HD_FLOOD_SLACK_KB(rss0[d]))
				break;
			usleep(50 * 1000);
		} while (tu_now_ms() < deadline);
		fprintf(stderr, "flood %s: %lu connections, rss %ld kB "
		    "before, %ld kB after\n", tu_driver_name(drv[d]), conns / nd,
		    rss0[d], rss1[d]);
#ifndef __SANITIZE_ADDRESS__
		/* ASan's quarantine keeps freed memory on purpose; there the
		 * numbers are reported, not judged. */
		ck_assert_msg(rss1[d] <= rss0[d] + HD_FLOOD_SLACK_KB(rss0[d]), "%s: RSS %ld "
		    "kB before the flood, %ld kB after", tu_driver_name(drv[d]),
		    rss0[d], rss1[d]);
#endif
		fds[0] = a[d];
		fds[1] = b[d];
		tu_close_all(fds, 2);
		hd_stop_clean(&s[d]);
		tu_server_free(&s[d]);
	}
	ck_assert_uint_gt(conns, 1000);
}
END_TEST

/* ---- the integration table under strace --inject ------------------------ */

/*
 * strace -e inject makes chosen system calls fail without running them:
 * recvfrom (recv), sendto (send), accept/accept4 get EAGAIN or EINTR on a
 * fixed schedule ("when=FIRST+STEP"; strace has no random mode,
 * and it cannot shorten a write, only fake its result, which would lose
 * data, so short writes are covered by check_faults.c instead).  The
 * scenario: welcome and joins, relay in order, a byte-at-a-time line, an
 * overlong line, /nick, /who, /quit, a reset peer, and a 256 KiB echo on a
 * second server.  Then SIGTERM must give exit 0.
 *
 * The steps must not divide the number of recv calls per busy sweep:
 * "every 4th recvfrom" with four clients hits the same fd every time, so
 * that client is never read at all (seen: a reset that went unnoticed).
 * The chat scenario has at most four clients, so recvfrom uses 5.
 */
static const char *
hd_strace(void)
{
	if (access("/usr/bin/strace", X_OK) == 0)
		return "/usr/bin/strace";
	return NULL;
}

/* Start pollserv under strace; s->pid is strace's, *child the server's. */
static int
hd_start_straced(struct tu_server *s, const char *drv, const char *mode,
    pid_t *child)
{
	const char *args[] = { "-f", "-qq", "-o", "/dev/null",
	    "-e", "trace=recvfrom,sendto,accept,accept4",
	    "-e", "inject=recvfrom:error=EAGAIN:when=3+5",
	    "-e", "inject=sendto:error=EINTR:when=2+3",
	    "-e", "inject=accept,accept4:error=EINTR:when=1+2",
	    POLLSERV_BIN, "--listen", "127.0.0.1:0", "--io", drv, "--mode",
	    mode, "-v", NULL };
	char path[64];
	FILE *f;
	int pid = 0;

	const char *asan = getenv("ASAN_OPTIONS");
	char *saved = asan != NULL ? strdup(asan) : NULL;
	int rc;

	/* LeakSanitizer cannot run under ptrace: in SANITIZE=1 builds the
	 * leak check is left to the runs without strace. */
	setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
	rc = tu_server_start_argv(s, hd_strace(), args);
	if (saved != NULL)
		setenv("ASAN_OPTIONS", saved, 1);
	else
		unsetenv("ASAN_OPTIONS");
	free(saved);
	if (rc == -1)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)s->pid,
	    (int)s->pid);
	if ((f = fopen(path, "r")) != NULL) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	*child = pid;
	return pid > 0 ? 0 : tu_fail("no pollserv under strace %d", s->pid);
}

/* SIGTERM to pollserv itself; strace exits with its exit status. */
static void
hd_stop_straced(struct tu_server *s, pid_t child)
{
	int rc;

	ck_assert_int_eq(kill(child, SIGTERM), 0);
	rc = tu_server_stop(s, 0, 15000);
	ck_assert_msg(rc == 0, "exit %d under strace; log:\n%s", rc,
	    tu_server_log(s));
}

START_TEST(test_strace_inject)
{
	const char *drv = tu_driver_name(_i);
	struct tu_server s, e;
	pid_t child, echo_child;
	int fds[3], i, rst;
	char line[128], *blob, *back;
	const size_t nblob = 256 * 1024;

	TU_SKIP_UNAVAILABLE(_i);

	if (hd_strace() == NULL || getenv("POLLSERV_NO_STRACE") != NULL) {
		fprintf(stderr, "harden: strace not available, fault "
		    "injection under strace skipped\n");
		return;
	}
	if (tu_skip_unless_chat(_i, "test_strace_inject (its chat half)"))
		goto echo;
	ck_assert_msg(hd_start_straced(&s, drv, "chat", &child) == 0, "%s",
	    tu_error());
	TU_OK(tu_chat_join_all(s.port, fds, NULL, 3));
	/* Relay, in order, to both others. */
	for (i = 0; i < 40; i++) {
		snprintf(line, sizeof(line), "line %d of forty\n", i);
		TU_SEND(fds[0], line);
	}
	for (i = 0; i < 40; i++) {
		snprintf(line, sizeof(line), "<guest1> line %d of forty\n", i);
		TU_EXPECT_LINE(fds[1], line);
		TU_EXPECT_LINE(fds[2], line);
	}
	/* A byte at a time. */
	for (i = 0; "slowly\n"[i] != '\0'; i++)
		TU_OK(tu_send_all(fds[1], "slowly\n" + i, 1));
	TU_EXPECT_LINE(fds[0], "<guest2> slowly\n");
	TU_EXPECT_LINE(fds[2], "<guest2> slowly\n");
	/* Overlong line, then the connection still works. */
	{
		char *big = malloc(5000);

		ck_assert_ptr_nonnull(big);
		memset(big, 'o', 5000);
		big[4999] = '\n';
		TU_OK(tu_send_all(fds[2], big, 5000));
		free(big);
	}
	TU_EXPECT_LINE(fds[2], "! line too long (max 4096 bytes)\n");
	TU_SEND(fds[2], "/nick carol\n");
	for (i = 0; i < 3; i++)
		TU_EXPECT_LINE(fds[i], "* guest3 is now carol\n");
	TU_SEND(fds[0], "/who\n");
	TU_EXPECT_LINE(fds[0], "* users (3): guest1 guest2 carol\n");
	/* A peer reset does not disturb the others. */
	rst = tu_chat_connect(s.port, NULL, 0);
	ck_assert_msg(rst != -1, "%s", tu_error());
	for (i = 0; i < 3; i++)
		TU_EXPECT_LINE(fds[i], "* guest4 joined\n");
	tu_close_reset(rst);
	for (i = 0; i < 3; i++)
		ck_assert_msg(tu_expect_line(fds[i], "* guest4 left\n",
		    TU_WAIT) == 0, "%s: %s; log:\n%s", drv, tu_error(),
		    tu_server_log(&s));
	/* Quit. */
	TU_SEND(fds[1], "/quit\n");
	TU_EXPECT_LINE(fds[1], CHAT_BYE);
	TU_EXPECT_EOF(fds[1]);
	TU_EXPECT_LINE(fds[0], "* guest2 left\n");
	TU_EXPECT_LINE(fds[2], "* guest2 left\n");
	tu_close_all(fds, 3);
	hd_stop_straced(&s, child);
	tu_server_free(&s);

	/* Echo of 256 KiB of binary, read while it is written. */
echo:
	ck_assert_msg(hd_start_straced(&e, drv, "echo", &echo_child) == 0,
	    "%s", tu_error());
	blob = malloc(nblob);
	back = malloc(nblob);
	ck_assert_ptr_nonnull(blob);
	ck_assert_ptr_nonnull(back);
	for (i = 0; i < (int)nblob; i++)
		blob[i] = (char)(i * 7 + (i >> 9));
	fds[0] = tu_connect(e.port);
	ck_assert_int_ne(fds[0], -1);
	{
		size_t sent = 0, got = 0;
		int64_t deadline = tu_now_ms() + 30000;

		TU_OK(tu_set_nonblocking(fds[0], true));
		while (got < nblob && tu_now_ms() < deadline) {
			ssize_t k;

			if (sent < nblob && (k = send(fds[0], blob + sent,
			    nblob - sent, MSG_NOSIGNAL)) > 0)
				sent += (size_t)k;
			if ((k = recv(fds[0], back + got, nblob - got, 0)) > 0)
				got += (size_t)k;
			else if (k == 0)
				break;
			else
				usleep(500);
		}
		ck_assert_msg(got == nblob, "%s: echoed %zu of %zu", drv, got,
		    nblob);
		ck_assert_int_eq(memcmp(blob, back, nblob), 0);
	}
	close(fds[0]);
	free(blob);
	free(back);
	hd_stop_straced(&e, echo_child);
	tu_server_free(&e);
}
END_TEST

Suite *
harden_suite(void)
{
	Suite *s = suite_create("harden");
	TCase *tc;

	tc = tcase_create("timeouts");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_timeouts, 0, tu_ndrivers());
	tcase_add_loop_test(tc, test_drain_timeout, 0, tu_ndrivers());
	suite_add_tcase(s, tc);

	tc = tcase_create("exhaustion");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_nofile_at_start, 0, tu_ndrivers());
	tcase_add_loop_test(tc, test_emfile, 0, tu_ndrivers());
	tcase_add_test(tc, test_oom_output);
	tcase_add_test(tc, test_oom_input);
	suite_add_tcase(s, tc);

	tc = tcase_create("flood");
	tcase_set_timeout(tc, HD_FLOOD_MS / 1000 + 60);
	tcase_add_test(tc, test_flood);
	suite_add_tcase(s, tc);

	tc = tcase_create("strace");
	tcase_set_timeout(tc, 90);
	tcase_add_loop_test(tc, test_strace_inject, 0, tu_ndrivers());
	suite_add_tcase(s, tc);
	return s;
}
