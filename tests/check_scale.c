/* check_scale.c - crowds: thousands of clients, select's ceiling, fd limits. */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chat.h"
#include "check_suites.h"
#include "testutil.h"

#ifndef POLLSERV_FORTIFY_BIN
#define POLLSERV_FORTIFY_BIN POLLSERV_BIN
#endif

#define SCALE_CLIENTS	2000	/* per driver in the crowd test */
#define SCALE_SELECT	1100	/* more than FD_SETSIZE can watch */
#define SCALE_WAIT	30000	/* ms for a whole crowd to see something */
#define SCALE_LINE	128	/* bytes of each line kept for matching */

/*
 * The test side of a crowd.  Every client's input is read in big chunks
 * and cut into lines here, so 2,000 clients that each receive 2,000
 * "joined" lines cost a few thousand recv() calls, not millions.  Only a
 * line's first SCALE_LINE bytes are kept; that is enough to match.
 */
struct scale_client {
	int	fd;
	char	line[SCALE_LINE];
	size_t	len;		/* bytes of the current line kept */
	bool	cut;		/* the current line was longer than kept */
	char	first[SCALE_LINE]; /* the first whole line received */
	bool	has_first;
	bool	eof;
	bool	found;		/* the current wait's needle was seen */
	char	match[SCALE_LINE]; /* the line that matched */
};

/* What scale_wait() waits for, per client. */
enum scale_until { SCALE_FIRST_LINE, SCALE_NEEDLE, SCALE_PREFIX, SCALE_EOF };

static bool
scale_done(const struct scale_client *c, enum scale_until until)
{
	switch (until) {
	case SCALE_FIRST_LINE:
		return c->has_first;
	case SCALE_EOF:
		return c->eof;
	default:
		return c->found;
	}
}

static void
scale_line(struct scale_client *c, enum scale_until until,
    const char *needle)
{
	c->line[c->len] = '\0';
	if (!c->has_first) {
		memcpy(c->first, c->line, c->len + 1);
		c->has_first = true;
	}
	if (c->found || needle == NULL)
		return;
	if ((until == SCALE_NEEDLE && !c->cut && strcmp(c->line, needle) == 0)
	    || (until == SCALE_PREFIX &&
	    strncmp(c->line, needle, strlen(needle)) == 0)) {
		memcpy(c->match, c->line, c->len + 1);
		c->found = true;
	}
}

/* Read what c has, line by line; false once the peer is gone. */
static bool
scale_read(struct scale_client *c, enum scale_until until,
    const char *needle)
{
	char buf[16384];
	ssize_t n, i;

	for (;;) {
		n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n == -1 && errno != EAGAIN &&
		    errno != EWOULDBLOCK && errno != EINTR)) {
			c->eof = true;
			return false;
		}
		if (n == -1)
			return true;
		for (i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				if (c->len < SCALE_LINE - 2)
					c->line[c->len++] = '\n';
				else
					c->cut = true;
				scale_line(c, until, needle);
				c->len = 0;
				c->cut = false;
			} else if (c->len < SCALE_LINE - 2)
				c->line[c->len++] = buf[i];
			else
				c->cut = true;
		}
	}
}

/*
 * Wait until every client in cs[0..n) with fd >= 0 has seen what until
 * says (needle includes its LF), or fail naming the first one that did
 * not.  Clients that are not done are polled together.
 */
static int
scale_wait(struct scale_client *cs, int n, enum scale_until until,
    const char *needle, int timeout_ms)
{
	struct pollfd *pfd;
	int64_t deadline;
	int i, k, left, rc = 0;

	pfd = calloc((size_t)n, sizeof(*pfd));
	ck_assert_ptr_nonnull(pfd);
	for (i = 0; i < n; i++)
		cs[i].found = false;
	deadline = tu_now_ms() + timeout_ms;
	for (;;) {
		left = 0;
		for (i = 0; i < n; i++) {
			if (cs[i].fd < 0 || scale_done(&cs[i], until))
				continue;
			if (cs[i].eof) {
				rc = tu_fail("client %d closed before %s%s", i,
				    needle ? "seeing " : "its first line",
				    needle ? needle : "");
				goto out;
			}
			pfd[left].fd = cs[i].fd;
			pfd[left].events = POLLIN;
			left++;
		}
		if (left == 0)
			break;
		if (tu_left_ms(deadline) == 0) {
			for (i = 0; i < n; i++)
				if (cs[i].fd >= 0 && !scale_done(&cs[i], until))
					break;
			rc = tu_fail("%d clients still waiting for %s, e.g. "
			    "client %d", left, needle ? needle : "a line", i);
			goto out;
		}
		if (poll(pfd, (nfds_t)left, tu_left_ms(deadline)) == -1 &&
		    errno != EINTR) {
			rc = tu_fail("poll: %s", strerror(errno));
			goto out;
		}
		for (k = 0, i = 0; i < n && k < left; i++) {
			if (cs[i].fd < 0 || scale_done(&cs[i], until))
				continue;
			/* pfd[] was filled in the same order. */
			if (pfd[k++].revents != 0)
				scale_read(&cs[i], until, needle);
		}
	}
out:
	free(pfd);
	return rc;
}

static void
scale_close_all(struct scale_client *cs, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (cs[i].fd >= 0) {
			close(cs[i].fd);
			cs[i].fd = -1;
		}
}

/* The test process holds every client fd: raise its soft limit. */
static void
scale_raise_nofile(rlim_t want)
{
	struct rlimit rl;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		ck_assert_msg(rl.rlim_max == RLIM_INFINITY ||
		    rl.rlim_max >= want, "RLIMIT_NOFILE hard limit %llu is "
		    "below the %llu this test needs",
		    (unsigned long long)rl.rlim_max, (unsigned long long)want);
		rl.rlim_cur = want;
		ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
}

/* Connect n clients one after another; no reading yet. */
static void
scale_connect(struct scale_client *cs, int n, int port)
{
	int i;

	for (i = 0; i < n; i++) {
		memset(&cs[i], 0, sizeof(cs[i]));
		cs[i].fd = tu_connect(port);
		ck_assert_msg(cs[i].fd >= 0, "client %d: %s", i, tu_error());
		ck_assert_int_eq(tu_set_nonblocking(cs[i].fd, true), 0);
	}
}

/* Send a line from one client of the crowd (small: never blocks long). */
static void
scale_send(struct scale_client *c, const char *line)
{
	ck_assert_int_eq(tu_set_nonblocking(c->fd, false), 0);
	TU_OK(tu_send_str(c->fd, line));
	ck_assert_int_eq(tu_set_nonblocking(c->fd, true), 0);
}

/* Ask c for /who until it counts want users; the server may still be
 * reaping resets, so this polls with a deadline. */
static int
scale_who_until(struct scale_client *c, int want)
{
	int64_t deadline = tu_now_ms() + SCALE_WAIT;
	int users = -1;

	do {
		scale_send(c, "/who\n");
		if (scale_wait(c, 1, SCALE_PREFIX, "* users (", SCALE_WAIT)
		    == -1)
			return -1;
		if (sscanf(c->match, "* users (%d)", &users) != 1)
			return tu_fail("bad /who reply %s", c->match);
		if (users == want)
			return 0;
	} while (tu_left_ms(deadline) > 0);
	return tu_fail("/who says %d users, want %d", users, want);
}

/* The crowd runs on every driver in io_drivers[] but select, which
 * cannot watch 2,000 fds (test_scale_select_ceiling is its test). */
static int
scale_crowd_driver(int k)
{
	int i;

	for (i = 0; i < tu_ndrivers(); i++)
		if (strcmp(tu_driver_name(i), "select") != 0 && k-- == 0)
			return i;
	return -1;
}

/*
 * 2,000 chat clients on one server: a broadcast reaches every one; then
 * half of them reset their connection (SO_LINGER 0) and the rest are
 * still served.
 */
START_TEST(test_scale_crowd)
{
	const int d = scale_crowd_driver(_i);
	const char *io = tu_driver_name(d);
	const char *args[] = { "--io", io, "--max-clients", "2500", NULL };
	struct scale_client *cs;
	struct tu_server srv;
	char want[128], nick[TU_NICK_LEN];
	int i, n = SCALE_CLIENTS;

	TU_CHAT_ONLY(d);
	TU_SKIP_UNAVAILABLE(d);

	scale_raise_nofile(n + 64);
	cs = calloc((size_t)n, sizeof(*cs));
	ck_assert_ptr_nonnull(cs);
	TU_OK(tu_server_start(&srv, POLLSERV_BIN, args));

	scale_connect(cs, n, srv.port);
	/* Everyone is in the room once they have their welcome. */
	TU_OK(scale_wait(cs, n, SCALE_FIRST_LINE, NULL, SCALE_WAIT));
	for (i = 0; i < n; i++)
		ck_assert_msg(strncmp(cs[i].first, "* welcome, you are guest",
		    24) == 0, "%s: client %d got %s", io, i, cs[i].first);
	ck_assert_int_eq(sscanf(cs[0].first, "* welcome, you are %39s",
	    nick), 1);

	/* One broadcast reaches all: a rename goes to the sender too. */
	scale_send(&cs[0], "/nick scale0\n");
	snprintf(want, sizeof(want), "* %s is now scale0\n", nick);
	TU_OK(scale_wait(cs, n, SCALE_NEEDLE, want, SCALE_WAIT));

	/* Reset every odd client: the server sees ECONNRESET, not EOF. */
	for (i = 1; i < n; i += 2) {
		tu_close_reset(cs[i].fd);
		cs[i].fd = -1;
	}
	/* The survivors are still served, all of them. */
	scale_send(&cs[0], "still here\n");
	TU_OK(scale_wait(cs + 1, n - 1, SCALE_NEEDLE,
	    "<scale0> still here\n", SCALE_WAIT));
	TU_OK(scale_who_until(&cs[0], n / 2));
	scale_send(&cs[n - 2], "last word\n");
	snprintf(want, sizeof(want), "<guest%d> last word\n", n - 1);
	TU_OK(scale_wait(cs, 1, SCALE_NEEDLE, want, SCALE_WAIT));

	scale_close_all(cs, n);
	ck_assert_int_eq(tu_server_stop(&srv, SIGTERM, 10000), 0);
	ck_assert_msg(strstr(tu_server_log(&srv), "pollnval=0") != NULL,
	    "%s", tu_server_log(&srv));
	tu_server_free(&srv);
	free(cs);
}
END_TEST

static const char *const scale_select_bins[] = {
	POLLSERV_BIN, POLLSERV_FORTIFY_BIN
};

/*
 * select past FD_SETSIZE: the clients it cannot watch get "! server full"
 * and are closed; it does not crash (an FD_SET overflow aborts the
 * _FORTIFY_SOURCE build) and keeps serving the clients it has.
 */
START_TEST(test_scale_select_ceiling)
{
	const char *bin = scale_select_bins[_i];
	const char *args[] = { "--io", "select", NULL };
	struct scale_client *cs;
	struct tu_server srv;
	char want[128], nick[TU_NICK_LEN];
	int i, n = SCALE_SELECT, welcomed = 0, full = 0;

	scale_raise_nofile(n + 64);
	cs = calloc((size_t)n, sizeof(*cs));
	ck_assert_ptr_nonnull(cs);
	TU_OK(tu_server_start(&srv, bin, args));
	scale_connect(cs, n, srv.port);
	TU_OK(scale_wait(cs, n, SCALE_FIRST_LINE, NULL, SCALE_WAIT));
	for (i = 0; i < n; i++) {
		if (strcmp(cs[i].first, CHAT_SERVER_FULL) == 0) {
			full++;
			continue;
		}
		ck_assert_msg(strncmp(cs[i].first, "* welcome, you are guest",
		    24) == 0, "%s: client %d got %s", bin, i, cs[i].first);
		/* Nobody is welcomed after the first refusal: fds only go up. */
		ck_assert_msg(full == 0, "client %d welcomed after a refusal",
		    i);
		welcomed++;
	}
	/* The server holds a few fds of its own below FD_SETSIZE. */
	ck_assert_int_le(welcomed, FD_SETSIZE);
	ck_assert_int_ge(welcomed, FD_SETSIZE - 32);
	ck_assert_int_eq(welcomed + full, n);

	/* The refused ones are closed; the rest are served. */
	for (i = welcomed; i < n; i++)
		ck_assert_msg(tu_wait_closed(cs[i].fd, TU_WAIT, NULL) == 0,
		    "client %d: %s", i, tu_error());
	scale_close_all(cs + welcomed, n - welcomed);
	ck_assert_int_eq(sscanf(cs[0].first, "* welcome, you are %39s",
	    nick), 1);
	scale_send(&cs[0], "/nick first\n");
	snprintf(want, sizeof(want), "* %s is now first\n", nick);
	TU_OK(scale_wait(cs, welcomed, SCALE_NEEDLE, want, SCALE_WAIT));
	TU_OK(scale_who_until(&cs[0], welcomed));

	scale_close_all(cs, n);
	ck_assert_int_eq(tu_server_stop(&srv, SIGTERM, 10000), 0);
	snprintf(want, sizeof(want), "rejected=%d ", full);
	ck_assert_msg(strstr(tu_server_log(&srv), want) != NULL,
	    "want %s in %s", want, tu_server_log(&srv));
	tu_server_free(&srv);
	free(cs);
}
END_TEST

/*
 * A low fd limit: pollserv lowers --max-clients to fit, and "! server
 * full" turns clients away before accept() ever fails with EMFILE.
 */
#define SCALE_LOW_NOFILE	64
#define SCALE_LOW_CLIENTS	60

START_TEST(test_scale_fd_limit)
{
	const char *io = tu_driver_name(_i);
	const char *prlimit = "/usr/bin/prlimit";
	const char *args[] = { "--nofile=64:64", POLLSERV_BIN, "-v",
	    "--listen", "127.0.0.1:0", "--io", io, NULL };
	struct scale_client cs[SCALE_LOW_CLIENTS];
	struct tu_server srv;
	char want[160];
	int i, max, welcomed = 0, full = 0;

	TU_CHAT_ONLY(_i);
	TU_SKIP_UNAVAILABLE(_i);
	if (access(prlimit, X_OK) == -1) {
		fprintf(stderr, "check_scale: skipped fd-limit test for %s: "
		    "no %s\n", io, prlimit);
		return;
	}
	TU_OK(tu_server_start_argv(&srv, prlimit, args));
	max = SCALE_LOW_NOFILE - 16;	/* SERVER_FD_RESERVE */
	snprintf(want, sizeof(want), "--max-clients lowered from 10000 to %d",
	    max);
	TU_OK(tu_server_wait_log(&srv, want, TU_WAIT));

	scale_connect(cs, SCALE_LOW_CLIENTS, srv.port);
	TU_OK(scale_wait(cs, SCALE_LOW_CLIENTS, SCALE_FIRST_LINE, NULL,
	    SCALE_WAIT));
	for (i = 0; i < SCALE_LOW_CLIENTS; i++) {
		if (strcmp(cs[i].first, CHAT_SERVER_FULL) == 0)
			full++;
		else if (strncmp(cs[i].first, "* welcome, you are ", 19) == 0)
			welcomed++;
		else
			ck_abort_msg("%s: client %d got %s", io, i,
			    cs[i].first);
	}
	ck_assert_int_eq(welcomed, max);
	ck_assert_int_eq(full, SCALE_LOW_CLIENTS - max);
	/* Refused by the limit, never by the kernel. */
	ck_assert_msg(strstr(tu_server_log(&srv), "open files") == NULL,
	    "%s: %s", io, tu_server_log(&srv));
	scale_close_all(cs, SCALE_LOW_CLIENTS);
	ck_assert_int_eq(tu_server_stop(&srv, SIGTERM, 10000), 0);
	ck_assert_msg(strstr(tu_server_log(&srv), "open files") == NULL,
	    "%s: %s", io, tu_server_log(&srv));
	tu_server_free(&srv);
}
END_TEST

Suite *
scale_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("scale");
	tc = tcase_create("crowds");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_scale_crowd, 0, tu_ndrivers() - 1);
	tcase_add_loop_test(tc, test_scale_select_ceiling, 0,
	    (int)(sizeof(scale_select_bins) / sizeof(scale_select_bins[0])));
	suite_add_tcase(s, tc);
	tc = tcase_create("fd_limit");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_scale_fd_limit, 0, tu_ndrivers());
	suite_add_tcase(s, tc);
	return s;
}
