/* check_client.c - the client state machine driven over socketpair(). */
#define _GNU_SOURCE		/* memmem */
#include <sys/socket.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat.h"
#include "check_suites.h"
#include "client.h"
#include "io.h"
#include "loop.h"
#include "options.h"
#include "harness.h"
#include "server.h"
#include "sysio.h"
#include "testutil.h"

/*
 * Each test runs the server core in this process (tests/harness.h) and
 * hands it one end of socketpairs; the test turns the crank itself, so
 * every reply is asserted byte for byte without any timing at all.
 * "Nothing arrives" is asserted after a fixed number of sweeps, which is
 * deterministic here, unlike over real sockets.
 */

#define SM_DEADLINE	HX_DEADLINE
#define SM_IDLE_SWEEPS	20	/* sweeps that must produce nothing */

static void
sm_start(enum server_mode mode, size_t max_line, size_t max_outbuf,
    long max_clients)
{
	struct config cfg;

	hx_config(&cfg, mode);
	cfg.max_line = max_line;
	cfg.max_outbuf = max_outbuf;
	cfg.max_clients = max_clients;
	hx_start(&cfg);
}

static void
sm_chat(void)
{
	sm_start(MODE_CHAT, 4096, 1024 * 1024, 100);
}

static void
sm_teardown(void)
{
	hx_stop();
}

static int
sm_pair(struct client **cp, int sndbuf)
{
	return hx_pair(sndbuf, cp, NULL);
}

/* Adopt a chat client and read its welcome; *nick gets "guestN". */
static int
sm_join(char *nick, size_t nicklen)
{
	struct client *c;
	int fd;

	fd = sm_pair(&c, 0);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->state, CLIENT_OPEN);
	if (nick != NULL)
		snprintf(nick, nicklen, "guest%llu",
		    (unsigned long long)c->serial);
	return fd;
}

static void
sm_sweeps(int n)
{
	hx_sweeps(n);
}

struct sm_wait {
	int	fd;
	bool	need_lf;
};

/* fd has something to judge: EOF, an error, or data (with need_lf, data
 * holding a complete line). */
static bool
sm_ready(void *arg)
{
	const struct sm_wait *w = arg;
	char peek[65536];
	ssize_t r;

	r = recv(w->fd, peek, sizeof(peek), MSG_PEEK | MSG_DONTWAIT);
	if (r == 0 || (r > 0 && (!w->need_lf ||
	    memchr(peek, '\n', (size_t)r) != NULL)))
		return true;
	return r == -1 && errno != EAGAIN && errno != EINTR;
}

static void
sm_sweep_until(int fd, bool need_lf)
{
	struct sm_wait w = { fd, need_lf };

	(void)hx_sweep_until(sm_ready, &w, HX_DEADLINE);
}

/* Sweep until fd holds a complete line (or EOF), then compare it. */
static int
sm_expect_bytes(int fd, const void *want, size_t n)
{
	sm_sweep_until(fd, true);
	return tu_expect_bytes(fd, want, n, 0);
}

static int
sm_expect(int fd, const char *want)
{
	return sm_expect_bytes(fd, want, strlen(want));
}

#define SM_EXPECT(fd, want) \
	ck_assert_msg(sm_expect((fd), (want)) == 0, "%s", tu_error())

/* Sweep until fd reaches EOF; nothing may come before it. */
static int
sm_expect_eof(int fd)
{
	sm_sweep_until(fd, false);
	return tu_expect_eof(fd, 0);
}

#define SM_EXPECT_EOF(fd) \
	ck_assert_msg(sm_expect_eof(fd) == 0, "%s", tu_error())

/* After a number of sweeps, nothing is waiting on fd. */
#define SM_QUIET(fd) do {						\
	sm_sweeps(SM_IDLE_SWEEPS);					\
	ck_assert_msg(tu_expect_silence((fd), 0) == 0, "%s", tu_error()); \
} while (0)

/* Adopt one chat client per fd pointer on a fresh server, in order: each
 * reads its welcome as guestK, and every one before it reads
 * "* guestK joined", so on return all of them are quiet. */
static void
sm_join_all(int *const fds[], int n)
{
	char nick[16], line[64];
	int i, j;

	for (i = 0; i < n; i++) {
		*fds[i] = sm_join(NULL, 0);
		snprintf(nick, sizeof(nick), "guest%d", i + 1);
		snprintf(line, sizeof(line), CHAT_FMT_WELCOME, nick);
		SM_EXPECT(*fds[i], line);
		snprintf(line, sizeof(line), CHAT_FMT_JOINED, nick);
		for (j = 0; j < i; j++)
			SM_EXPECT(*fds[j], line);
	}
}

/* ---- chat ------------------------------------------------------------- */

START_TEST(test_sm_welcome_and_join)
{
	int a, b;

	sm_chat();
	sm_join_all((int *[]){ &a, &b }, 2);
	/* The newcomer is not told about itself. */
	SM_QUIET(b);
	SM_QUIET(a);
	ck_assert_uint_eq(hx_srv.nclients, 2);
	close(a);
	close(b);
}
END_TEST

/* Serials count connections, not fds: a reused fd gets a new number. */
START_TEST(test_sm_serials_not_fds)
{
	int a, b, c;

	sm_chat();
	sm_join_all((int *[]){ &a, &b }, 2);
	close(b);
	SM_EXPECT(a, "* guest2 left\n");
	c = sm_join(NULL, 0);
	SM_EXPECT(c, "* welcome, you are guest3\n");
	SM_EXPECT(a, "* guest3 joined\n");
	close(a);
	close(c);
}
END_TEST

START_TEST(test_sm_relay)
{
	int a, b;

	sm_chat();
	sm_join_all((int *[]){ &a, &b }, 2);

	TU_SEND(a, "hello\n");
	SM_EXPECT(b, "<guest1> hello\n");
	SM_QUIET(a);		/* the sender does not get it back */
	TU_SEND(b, "hi there\r\n");
	SM_EXPECT(a, "<guest2> hi there\n");
	/* Empty lines are ignored; the next line proves they were seen. */
	TU_SEND(a, "\n\r\n\n");
	TU_SEND(a, "after\n");
	SM_EXPECT(b, "<guest1> after\n");
	/* Several lines in one write, and a lone CR kept. */
	TU_SEND(a, "one\ntwo\r\nthr\ree\n");
	SM_EXPECT(b, "<guest1> one\n");
	SM_EXPECT(b, "<guest1> two\n");
	SM_EXPECT(b, "<guest1> thr\ree\n");
	SM_QUIET(a);
	SM_QUIET(b);
	close(a);
	close(b);
}
END_TEST

START_TEST(test_sm_binary)
{
	static const char line[] = "x\0y\xff\x01\r\n";
	static const char want[] = "<guest1> x\0y\xff\x01\n";
	int a, b;

	sm_chat();
	sm_join_all((int *[]){ &a, &b }, 2);
	ck_assert_int_eq(tu_send_all(a, line, sizeof(line) - 1), 0);
	ck_assert_msg(sm_expect_bytes(b, want, sizeof(want) - 1) == 0, "%s",
	    tu_error());
	close(a);
	close(b);
}
END_TEST

START_TEST(test_sm_partial_lines)
{
	static const char msg[] = "split into single bytes\r\n";
	size_t i;
	int a, b;

	sm_chat();
	sm_join_all((int *[]){ &a, &b }, 2);
	for (i = 0; i < sizeof(msg) - 1; i++) {
		ck_assert_int_eq(tu_send_all(a, msg + i, 1), 0);
		sm_sweeps(2);
		if (i + 1 < sizeof(msg) - 1)
			ck_assert_int_eq(tu_expect_silence(b, 0), 0);
	}
	SM_EXPECT(b, "<guest1> split into single bytes\n");
	close(a);
	close(b);
}
END_TEST

START_TEST(test_sm_nick)
{
	char n32[64], line[128];
	int a, b;

	sm_chat();
	sm_join_all((int *[]){ &a, &b }, 2);

	TU_SEND(a, "/nick alice\n");
	SM_EXPECT(a, "* guest1 is now alice\n");
	SM_EXPECT(b, "* guest1 is now alice\n");
	TU_SEND(a, "hi\n");
	SM_EXPECT(b, "<alice> hi\n");

	TU_SEND(b, "/nick alice\n");
	SM_EXPECT(b, CHAT_NICK_TAKEN);
	TU_SEND(b, "/nick ALICE\n");		/* case-insensitive */
	SM_EXPECT(b, CHAT_NICK_TAKEN);
	TU_SEND(b, "/nick guest1\n");		/* guestN is reserved */
	SM_EXPECT(b, CHAT_NICK_TAKEN);
	TU_SEND(b, "/nick guest77\n");
	SM_EXPECT(b, CHAT_NICK_TAKEN);
	TU_SEND(b, "/nick bad name\n");
	SM_EXPECT(b, CHAT_INVALID_NICK);
	TU_SEND(b, "/nick\n");
	SM_EXPECT(b, CHAT_INVALID_NICK);
	TU_SEND(b, "/nick \n");
	SM_EXPECT(b, CHAT_INVALID_NICK);
	TU_SEND(b, "/nick a.b\n");
	SM_EXPECT(b, CHAT_INVALID_NICK);
	memset(n32, 'n', 33);
	n32[33] = '\0';
	snprintf(line, sizeof(line), "/nick %s\n", n32);
	TU_SEND(b, line);
	SM_EXPECT(b, CHAT_INVALID_NICK);
	/* Failures are private. */
	SM_QUIET(a);

	n32[32] = '\0';
	snprintf(line, sizeof(line), "/nick %s\n", n32);
	TU_SEND(b, line);
	snprintf(line, sizeof(line), "* guest2 is now %s\n", n32);
	SM_EXPECT(b, line);
	SM_EXPECT(a, line);

	/* The old name is free again. */
	TU_SEND(a, "/nick Bob-_9\n");
	SM_EXPECT(a, "* alice is now Bob-_9\n");
	SM_EXPECT(b, "* alice is now Bob-_9\n");
	TU_SEND(b, "/nick alice\n");
	snprintf(line, sizeof(line), "* %s is now alice\n", n32);
	SM_EXPECT(b, line);
	SM_EXPECT(a, line);
	TU_SEND(b, "yo\n");
	SM_EXPECT(a, "<alice> yo\n");
	close(a);
	close(b);
}
END_TEST

START_TEST(test_sm_who)
{
	int a, b, c;

	sm_chat();
	sm_join_all((int *[]){ &a, &b, &c }, 3);
	TU_SEND(a, "/nick alice\n");
	SM_EXPECT(a, "* guest1 is now alice\n");
	SM_EXPECT(b, "* guest1 is now alice\n");
	SM_EXPECT(c, "* guest1 is now alice\n");

	TU_SEND(b, "/who\n");
	SM_EXPECT(b, "* users (3): alice guest2 guest3\n");
	SM_QUIET(a);
	SM_QUIET(c);
	close(c);
	SM_EXPECT(a, "* guest3 left\n");
	SM_EXPECT(b, "* guest3 left\n");
	TU_SEND(b, "/who\n");
	SM_EXPECT(b, "* users (2): alice guest2\n");
	close(a);
	close(b);
}
END_TEST

START_TEST(test_sm_who_limit)
{
	enum { N = 102 };
	int fds[N], i;
	char *want, *p;

	sm_start(MODE_CHAT, 4096, 1024 * 1024, N + 5);
	for (i = 0; i < N; i++)
		fds[i] = sm_join(NULL, 0);
	/* The last one has seen only its welcome. */
	SM_EXPECT(fds[N - 1], "* welcome, you are guest102\n");
	TU_SEND(fds[N - 1], "/who\n");
	want = malloc(4096);
	ck_assert_ptr_nonnull(want);
	p = want + sprintf(want, "* users (%d):", N);
	for (i = 1; i <= 100; i++)
		p += sprintf(p, " guest%d", i);
	sprintf(p, " ...\n");
	SM_EXPECT(fds[N - 1], want);
	free(want);
	for (i = 0; i < N; i++)
		close(fds[i]);
}
END_TEST

START_TEST(test_sm_quit)
{
	int a, b;

	sm_chat();
	sm_join_all((int *[]){ &a, &b }, 2);
	/* The line after the quit, in the same write, is never processed. */
	TU_SEND(a, "/quit\nnot relayed\n");
	SM_EXPECT(a, CHAT_BYE);
	SM_EXPECT_EOF(a);
	SM_EXPECT(b, "* guest1 left\n");
	SM_QUIET(b);
	/* The server lingers for the quitter's FIN before it lets go. */
	ck_assert_int_eq(hx_srv.clients[0]->state == CLIENT_LINGERING ||
	    hx_srv.clients[1]->state == CLIENT_LINGERING, 1);
	close(a);
	sm_sweeps(SM_IDLE_SWEEPS);
	ck_assert_uint_eq(hx_srv.nclients, 1);
	ck_assert_uint_eq(hx_srv.stats.closed, 1);
	close(b);
}
END_TEST

START_TEST(test_sm_exit)
{
	int a, b;

	sm_chat();
	sm_join_all((int *[]){ &a, &b }, 2);
	/* Only exactly "exit" quits. */
	TU_SEND(b, "exit \nExit\n");
	SM_EXPECT(a, "<guest2> exit \n");
	SM_EXPECT(a, "<guest2> Exit\n");
	TU_SEND(b, "exit\r\n/who\n");
	SM_EXPECT(b, CHAT_BYE);
	SM_EXPECT_EOF(b);
	SM_EXPECT(a, "* guest2 left\n");
	SM_QUIET(a);
	close(a);
	close(b);
}
END_TEST

START_TEST(test_sm_unknown_command)
{
	int a, b;

	sm_chat();
	sm_join_all((int *[]){ &a, &b }, 2);
	TU_SEND(a, "/foo\n/\n/nickname x\n");
	SM_EXPECT(a, CHAT_UNKNOWN_COMMAND);
	SM_EXPECT(a, CHAT_UNKNOWN_COMMAND);
	SM_EXPECT(a, CHAT_UNKNOWN_COMMAND);
	SM_QUIET(b);
	close(a);
	close(b);
}
END_TEST

START_TEST(test_sm_overlong)
{
	char line[128];
	int a, b, i;

	sm_start(MODE_CHAT, 16, 1024 * 1024, 10);
	sm_join_all((int *[]){ &a, &b }, 2);

	TU_SEND(a, "0123456789abcdefX\n");
	SM_EXPECT(a, "! line too long (max 16 bytes)\n");
	SM_QUIET(b);
	/* Exactly the limit is fine, with or without CR. */
	TU_SEND(a, "0123456789abcdef\n0123456789abcdef\r\n");
	SM_EXPECT(b, "<guest1> 0123456789abcdef\n");
	SM_EXPECT(b, "<guest1> 0123456789abcdef\n");
	/* A long line in pieces: one error, the rest dropped to its LF. */
	for (i = 0; i < 8; i++) {
		TU_SEND(a, "0123456789");
		sm_sweeps(3);
	}
	TU_SEND(a, "tail\nok\n");
	SM_EXPECT(a, "! line too long (max 16 bytes)\n");
	SM_EXPECT(b, "<guest1> ok\n");
	SM_QUIET(a);
	SM_QUIET(b);
	/* Still usable both ways. */
	snprintf(line, sizeof(line), "back\n");
	TU_SEND(b, line);
	SM_EXPECT(a, "<guest2> back\n");
	close(a);
	close(b);
}
END_TEST

START_TEST(test_sm_disconnect_notice)
{
	int a, b, c;

	sm_chat();
	sm_join_all((int *[]){ &a, &b, &c }, 3);
	close(b);
	SM_EXPECT(a, "* guest2 left\n");
	SM_EXPECT(c, "* guest2 left\n");
	TU_SEND(c, "still here\n");
	SM_EXPECT(a, "<guest3> still here\n");
	ck_assert_uint_eq(hx_srv.nclients, 2);
	close(a);
	close(c);
}
END_TEST

START_TEST(test_sm_half_close)
{
	enum { NWHO = 1000 };
	static const char who[] = "* users (2): guest1 guest2\n";
	struct client *ca;
	char *burst;
	size_t k;
	int a, b;

	sm_chat();
	/* A small pipe towards a, so its replies are still queued in the
	 * server when the FIN is seen. */
	a = sm_pair(&ca, 4096);
	ck_assert_ptr_nonnull(ca);
	SM_EXPECT(a, "* welcome, you are guest1\n");
	b = sm_join(NULL, 0);
	SM_EXPECT(b, "* welcome, you are guest2\n");
	SM_EXPECT(a, "* guest2 joined\n");
	/* Lines before the FIN count, the unterminated tail too, and output
	 * queued for the half-closed client reaches it before the close. */
	burst = malloc(NWHO * 5 + 32);
	ck_assert_ptr_nonnull(burst);
	strcpy(burst, "one\n");
	for (k = 0; k < NWHO; k++)
		strcat(burst, "/who\n");
	strcat(burst, "two");
	TU_SEND(a, burst);
	free(burst);
	ck_assert_int_eq(shutdown(a, SHUT_WR), 0);
	for (k = 0; k < NWHO; k++)
		if (sm_expect(a, who) != 0)
			ck_abort_msg("reply %zu: %s", k, tu_error());
	SM_EXPECT_EOF(a);
	SM_EXPECT(b, "<guest1> one\n");
	SM_EXPECT(b, "<guest1> two\n");
	SM_EXPECT(b, "* guest1 left\n");
	SM_QUIET(b);
	close(a);
	close(b);
}
END_TEST

START_TEST(test_sm_max_clients)
{
	struct client *c;
	int a, b;

	sm_start(MODE_CHAT, 4096, 1024 * 1024, 1);
	sm_join_all((int *[]){ &a }, 1);
	b = sm_pair(&c, 0);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(tu_expect_line(b, CHAT_SERVER_FULL, 0), 0);
	ck_assert_int_eq(tu_expect_eof(b, 0), 0);
	SM_QUIET(a);
	ck_assert_uint_eq(hx_srv.stats.rejected, 1);
	ck_assert_uint_eq(hx_srv.nclients, 1);
	close(a);
	close(b);
}
END_TEST

/* Read whatever is waiting on fd into a growing buffer. */
static void
sm_collect(int fd, char **buf, size_t *len, size_t *cap)
{
	ssize_t n;

	for (;;) {
		if (*cap - *len < 65536) {
			*cap = *cap * 2 + 65536;
			*buf = realloc(*buf, *cap);
			ck_assert_ptr_nonnull(*buf);
		}
		n = recv(fd, *buf + *len, *cap - *len, MSG_DONTWAIT);
		if (n <= 0)
			return;
		*len += (size_t)n;
	}
}

START_TEST(test_sm_slow_reader)
{
	enum { MAXLINES = 20000 };
	char *got = NULL, *want = NULL, *slow = NULL, line[128];
	size_t glen = 0, gcap = 0, wlen = 0, slen = 0, scap = 0, i, nlines;
	static const char left[] = "* guest1 left\n";
	struct client *sc;
	char *hit;
	int a, b, c;

	sm_start(MODE_CHAT, 4096, 4096, 10);
	a = sm_pair(&sc, 4096);		/* never reads, small pipe */
	ck_assert_ptr_nonnull(sc);
	b = sm_join(NULL, 0);
	c = sm_join(NULL, 0);
	SM_EXPECT(b, "* welcome, you are guest2\n");
	SM_EXPECT(b, "* guest3 joined\n");
	SM_EXPECT(c, "* welcome, you are guest3\n");

	want = malloc((size_t)MAXLINES * 100);
	ck_assert_ptr_nonnull(want);
	for (nlines = 0; nlines < MAXLINES; nlines++) {
		snprintf(line, sizeof(line), "line %06zu with some padding to "
		    "make it longer .........................\n", nlines);
		TU_SEND(b, line);
		wlen += (size_t)sprintf(want + wlen, "<guest2> %s", line);
		loop_sweep(&hx_srv, 0);
		sm_collect(c, &got, &glen, &gcap);
		if (hx_srv.stats.slow_closed > 0)
			break;
	}
	ck_assert_msg(hx_srv.stats.slow_closed == 1, "slow reader never closed "
	    "after %zu lines", nlines);
	/* A few more after the close still reach the live reader. */
	for (i = 0; i < 10; i++) {
		snprintf(line, sizeof(line), "after %zu\n", i);
		TU_SEND(b, line);
		wlen += (size_t)sprintf(want + wlen, "<guest2> %s", line);
	}
	{
		int64_t deadline = tu_now_ms() + SM_DEADLINE;

		while (glen < wlen + sizeof(left) - 1 &&
		    tu_now_ms() < deadline) {
			loop_sweep(&hx_srv, 0);
			sm_collect(c, &got, &glen, &gcap);
		}
	}
	/* Every line, in order, with the left notice once among them. */
	ck_assert_uint_eq(glen, wlen + sizeof(left) - 1);
	hit = memmem(got, glen, left, sizeof(left) - 1);
	ck_assert_ptr_nonnull(hit);
	ck_assert_msg(hit == got || hit[-1] == '\n', "notice inside a line");
	memmove(hit, hit + sizeof(left) - 1,
	    glen - (size_t)(hit - got) - (sizeof(left) - 1));
	glen -= sizeof(left) - 1;
	ck_assert_int_eq(memcmp(got, want, wlen), 0);

	/* The slow one gets what was already in its pipe, then EOF; what it
	 * got is a prefix of its stream. */
	{
		int64_t deadline = tu_now_ms() + SM_DEADLINE;
		char *exp = malloc(wlen + 256);
		size_t elen;
		ssize_t n;

		ck_assert_ptr_nonnull(exp);
		elen = (size_t)sprintf(exp, "* welcome, you are guest1\n"
		    "* guest2 joined\n* guest3 joined\n");
		memcpy(exp + elen, want, wlen);
		elen += wlen;
		for (;;) {
			if (scap - slen < 65536) {
				scap = scap * 2 + 65536;
				slow = realloc(slow, scap);
				ck_assert_ptr_nonnull(slow);
			}
			n = recv(a, slow + slen, scap - slen, MSG_DONTWAIT);
			if (n == 0)
				break;
			if (n > 0) {
				slen += (size_t)n;
				continue;
			}
			ck_assert_msg(errno == EAGAIN, "recv: %s",
			    strerror(errno));
			loop_sweep(&hx_srv, 0);
			ck_assert_msg(tu_now_ms() < deadline, "slow reader's "
			    "connection not closed");
		}
		ck_assert_uint_gt(slen, 0);
		ck_assert_uint_le(slen, elen);
		ck_assert_int_eq(memcmp(slow, exp, slen), 0);
		free(exp);
	}
	ck_assert_uint_eq(hx_srv.nclients, 2);
	free(got);
	free(want);
	free(slow);
	close(a);
	close(b);
	close(c);
}
END_TEST

/* ---- echo ------------------------------------------------------------- */

START_TEST(test_sm_echo_backpressure)
{
	const size_t total = 2 * 1024 * 1024, cap = 8192;
	unsigned char *data, *back;
	size_t sent = 0, rcvd = 0;
	uint64_t in_before;
	struct client *c;
	int64_t deadline;
	ssize_t n;
	int a, i, blocked = 0;

	sm_start(MODE_ECHO, 4096, cap, 10);
	a = sm_pair(&c, 0);
	ck_assert_ptr_nonnull(c);
	SM_QUIET(a);			/* no welcome in echo mode */
	data = malloc(total);
	back = malloc(total);
	ck_assert(data != NULL && back != NULL);
	srandom(7);
	for (i = 0; (size_t)i < total; i++)
		data[i] = (unsigned char)random();
	ck_assert_int_eq(tu_set_nonblocking(a, true), 0);

	/* Write without reading until the server stops taking input. */
	deadline = tu_now_ms() + SM_DEADLINE;
	while (blocked < 50 && tu_now_ms() < deadline) {
		n = send(a, data + sent, total - sent, MSG_DONTWAIT);
		if (n > 0)
			sent += (size_t)n, blocked = 0;
		else
			blocked++;
		loop_sweep(&hx_srv, 0);
	}
	ck_assert_msg(blocked >= 50, "writes never blocked");
	ck_assert_uint_lt(sent, total);
	/* Backpressure, not disconnection. */
	ck_assert_int_eq(c->state, CLIENT_OPEN);
	ck_assert_uint_eq(hx_srv.stats.closed, 0);
	ck_assert_uint_le(buf_len(&c->out), cap + CLIENT_READ_BUDGET);
	in_before = hx_srv.stats.bytes_in;
	sm_sweeps(100);
	ck_assert_msg(hx_srv.stats.bytes_in == in_before, "server kept reading "
	    "with output over the cap");
	ck_assert_uint_le(buf_len(&c->out), cap + CLIENT_READ_BUDGET);

	/* Read and write alternately: everything comes back in order. */
	deadline = tu_now_ms() + 20000;
	while (rcvd < total && tu_now_ms() < deadline) {
		n = recv(a, back + rcvd, total - rcvd, MSG_DONTWAIT);
		if (n > 0)
			rcvd += (size_t)n;
		if (sent < total) {
			n = send(a, data + sent, total - sent, MSG_DONTWAIT);
			if (n > 0)
				sent += (size_t)n;
		}
		loop_sweep(&hx_srv, 0);
	}
	ck_assert_uint_eq(rcvd, total);
	ck_assert_int_eq(memcmp(back, data, total), 0);
	ck_assert_uint_eq(hx_srv.stats.closed, 0);
	free(data);
	free(back);
	close(a);
}
END_TEST

START_TEST(test_sm_echo_half_close)
{
	char buf[64];
	int a;

	sm_start(MODE_ECHO, 4096, 65536, 10);
	a = sm_pair(NULL, 0);
	ck_assert_int_eq(tu_send_all(a, "no framing\0at all", 17), 0);
	ck_assert_int_eq(shutdown(a, SHUT_WR), 0);
	sm_sweeps(10);
	ck_assert_int_eq(tu_read_exact(a, buf, 17, 0), 0);
	ck_assert_mem_eq(buf, "no framing", 10);
	SM_EXPECT_EOF(a);
	close(a);
}
END_TEST

/* ---- the sysio seam: short and interrupted calls ---------------------- */

static int sm_call;

static ssize_t
sm_choppy_send(int fd, const void *p, size_t n, int flags)
{
	/* EAGAIN, then EINTR, then a short write of at most 3 bytes. */
	switch (sm_call++ % 3) {
	case 0:
		errno = EAGAIN;
		return -1;
	case 1:
		errno = EINTR;
		return -1;
	default:
		return send(fd, p, n < 3 ? n : 3, flags);
	}
}

static ssize_t
sm_choppy_recv(int fd, void *p, size_t n, int flags)
{
	if (sm_call++ % 2 == 0) {
		errno = EINTR;
		return -1;
	}
	return recv(fd, p, n < 2 ? n : 2, flags);
}

START_TEST(test_sm_short_io)
{
	int a, b;

	sm_chat();
	sysio.send = sm_choppy_send;
	sysio.recv = sm_choppy_recv;
	sm_join_all((int *[]){ &a, &b }, 2);
	TU_SEND(a, "through a keyhole\r\n/who\n");
	SM_EXPECT(b, "<guest1> through a keyhole\n");
	SM_EXPECT(a, "* users (2): guest1 guest2\n");
	sysio_reset();
	TU_SEND(b, "normal again\n");
	SM_EXPECT(a, "<guest2> normal again\n");
	ck_assert_uint_eq(hx_srv.stats.closed, 0);
	close(a);
	close(b);
}
END_TEST

Suite *
client_suite(void)
{
	Suite *s = suite_create("client");
	TCase *tc = tcase_create("socketpair");

	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, NULL, sm_teardown);
	tcase_add_test(tc, test_sm_welcome_and_join);
	tcase_add_test(tc, test_sm_serials_not_fds);
	tcase_add_test(tc, test_sm_relay);
	tcase_add_test(tc, test_sm_binary);
	tcase_add_test(tc, test_sm_partial_lines);
	tcase_add_test(tc, test_sm_nick);
	tcase_add_test(tc, test_sm_who);
	tcase_add_test(tc, test_sm_who_limit);
	tcase_add_test(tc, test_sm_quit);
	tcase_add_test(tc, test_sm_exit);
	tcase_add_test(tc, test_sm_unknown_command);
	tcase_add_test(tc, test_sm_overlong);
	tcase_add_test(tc, test_sm_disconnect_notice);
	tcase_add_test(tc, test_sm_half_close);
	tcase_add_test(tc, test_sm_max_clients);
	tcase_add_test(tc, test_sm_slow_reader);
	tcase_add_test(tc, test_sm_echo_backpressure);
	tcase_add_test(tc, test_sm_echo_half_close);
	tcase_add_test(tc, test_sm_short_io);
	suite_add_tcase(s, tc);
	return s;
}
