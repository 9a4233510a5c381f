/* check_integration.c - the real binary over real sockets, once per driver. */
#define _GNU_SOURCE		/* memmem */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chat.h"
#include "check_suites.h"
#include "io.h"
#include "options.h"
#include "testutil.h"

/*
 * Every test in the "drivers" case is a loop test: _i indexes io_drivers[]
 * (the table the server itself uses), so a new driver is covered as soon
 * as it is in the table.  Each test starts its own pollserv on
 * 127.0.0.1:0 and reads the port from the listening line.
 */

static struct tu_server srv;

static void
it_teardown(void)
{
	tu_server_free(&srv);
}

/* Start pollserv --io <driver i> plus extra args; check the listen line. */
static void
it_start(int i, const char *mode, const char *const extra[])
{
	const char *args[32];
	char want[256];
	int n = 0, k;

	args[n++] = "--io";
	args[n++] = tu_driver_name(i);
	if (mode != NULL) {
		args[n++] = "--mode";
		args[n++] = mode;
	}
	for (k = 0; extra != NULL && extra[k] != NULL && n < 30; k++)
		args[n++] = extra[k];
	args[n] = NULL;
	ck_assert_msg(tu_server_start(&srv, POLLSERV_BIN, args) == 0,
	    "io %s: %s", tu_driver_name(i), tu_error());
	snprintf(want, sizeof(want),
	    "pollserv: listening on 127.0.0.1:%d (mode %s, io %s)", srv.port,
	    mode != NULL ? mode : "chat", tu_driver_name(i));
	ck_assert_str_eq(srv.listen_line, want);
}

/* it_start, unless the driver cannot run here: then the test is skipped
 * with the reason printed. */
#define IT_START(i, mode, extra) do { \
	TU_SKIP_UNAVAILABLE(i); \
	it_start((i), (mode), (extra)); \
} while (0)

#define EXTRA(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* Join n clients; nicks are guest1..guestn in order on a fresh server. */
static void
it_join(int *fds, int n)
{
	char nicks[16][TU_NICK_LEN], want[32];
	int k;

	ck_assert_int_le(n, 16);
	ck_assert_msg(tu_chat_join_all(srv.port, fds, nicks, n) == 0, "%s",
	    tu_error());
	for (k = 0; k < n; k++) {
		snprintf(want, sizeof(want), "guest%d", k + 1);
		ck_assert_str_eq(nicks[k], want);
	}
}

#define EXPECT_ALL(fds, n, skip, want) \
	ck_assert_msg(tu_expect_all((fds), (n), (skip), (want), TU_WAIT) \
	    == 0, "%s", tu_error())

/* ---- chat ------------------------------------------------------------- */

START_TEST(test_it_chat_session)
{
	int fds[3];

	TU_CHAT_ONLY(_i);
	IT_START(_i, NULL, NULL);
	it_join(fds, 3);
	TU_SEND(fds[0], "hello\n");
	EXPECT_ALL(fds, 3, 0, "<guest1> hello\n");
	TU_SEND(fds[0], "/nick alice\n");
	EXPECT_ALL(fds, 3, -1, "* guest1 is now alice\n");
	TU_SEND(fds[1], "hi alice\r\n");
	EXPECT_ALL(fds, 3, 1, "<guest2> hi alice\n");
	TU_SEND(fds[1], "/nick alice\n");
	TU_EXPECT_LINE(fds[1], CHAT_NICK_TAKEN);
	TU_SEND(fds[1], "/nick no way\n");
	TU_EXPECT_LINE(fds[1], CHAT_INVALID_NICK);
	TU_SEND(fds[1], "/who\n");
	TU_EXPECT_LINE(fds[1], "* users (3): alice guest2 guest3\n");
	TU_SEND(fds[2], "/dance\n");
	TU_EXPECT_LINE(fds[2], CHAT_UNKNOWN_COMMAND);
	TU_SEND(fds[2], "/quit\n");
	TU_EXPECT_LINE(fds[2], CHAT_BYE);
	TU_EXPECT_EOF(fds[2]);
	close(fds[2]);
	fds[2] = -1;
	EXPECT_ALL(fds, 2, -1, "* guest3 left\n");
	close(fds[1]);
	fds[1] = -1;
	TU_EXPECT_LINE(fds[0], "* guest2 left\n");
	TU_EXPECT_SILENCE(fds[0]);
	tu_close_all(fds, 3);
}
END_TEST

START_TEST(test_it_byte_at_a_time)
{
	static const char msg[] = "one byte at a time\r\n/who\n";
	int fds[2], one = 1;
	size_t k;

	TU_CHAT_ONLY(_i);
	IT_START(_i, NULL, NULL);
	it_join(fds, 2);
	setsockopt(fds[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (k = 0; k < sizeof(msg) - 1; k++) {
		ck_assert_int_eq(tu_send_all(fds[0], msg + k, 1), 0);
		if (k == 8)
			TU_EXPECT_SILENCE(fds[1]);
	}
	TU_EXPECT_LINE(fds[1], "<guest1> one byte at a time\n");
	TU_EXPECT_LINE(fds[0], "* users (2): guest1 guest2\n");
	tu_close_all(fds, 2);
}
END_TEST

START_TEST(test_it_overlong)
{
	char big[300];
	int fds[2];

	TU_CHAT_ONLY(_i);
	IT_START(_i, NULL, EXTRA("--max-line", "16"));
	it_join(fds, 2);
	memset(big, 'x', 200);
	memcpy(big + 200, "\nok\n", 5);
	TU_SEND(fds[0], big);
	TU_EXPECT_LINE(fds[0], "! line too long (max 16 bytes)\n");
	TU_EXPECT_LINE(fds[1], "<guest1> ok\n");
	TU_SEND(fds[0], "0123456789abcdef\r\n");
	TU_EXPECT_LINE(fds[1], "<guest1> 0123456789abcdef\n");
	TU_SEND(fds[0], "0123456789abcdefg\n");
	TU_EXPECT_LINE(fds[0], "! line too long (max 16 bytes)\n");
	TU_SEND(fds[1], "fine\n");
	TU_EXPECT_LINE(fds[0], "<guest2> fine\n");
	TU_EXPECT_SILENCE(fds[1]);
	tu_close_all(fds, 2);
}
END_TEST

START_TEST(test_it_binary)
{
	char line[300], want[320];
	size_t n = 0, w;
	int fds[2], c;

	TU_CHAT_ONLY(_i);
	IT_START(_i, NULL, NULL);
	it_join(fds, 2);
	/* Every byte but LF, NUL first, a CR in the middle. */
	for (c = 0; c < 256; c++)
		if (c != '\n')
			line[n++] = (char)c;
	line[n++] = '\n';
	ck_assert_int_eq(tu_send_all(fds[0], line, n), 0);
	w = (size_t)sprintf(want, "<guest1> ");
	memcpy(want + w, line, n);
	w += n;
	ck_assert_msg(tu_expect_bytes(fds[1], want, w, TU_WAIT) == 0, "%s",
	    tu_error());
	tu_close_all(fds, 2);
}
END_TEST

START_TEST(test_it_quit_and_exit)
{
	int fds[3];

	TU_CHAT_ONLY(_i);
	IT_START(_i, NULL, NULL);
	it_join(fds, 3);
	TU_SEND(fds[2], "/quit\nnever relayed\n");
	TU_EXPECT_LINE(fds[2], CHAT_BYE);
	TU_EXPECT_EOF(fds[2]);
	EXPECT_ALL(fds, 2, -1, "* guest3 left\n");
	TU_SEND(fds[1], "exit\nnor this\n");
	TU_EXPECT_LINE(fds[1], CHAT_BYE);
	TU_EXPECT_EOF(fds[1]);
	TU_EXPECT_LINE(fds[0], "* guest2 left\n");
	TU_EXPECT_SILENCE(fds[0]);
	tu_close_all(fds, 3);
}
END_TEST

/* "* bye" must survive input that follows the quit: closing with unread
 * bytes would send RST, and an RST can wipe the peer's unread "* bye". */
START_TEST(test_it_quit_then_junk)
{
	/* More than loopback's socket buffers hold, so the send can only
	 * finish if the server keeps reading after the quit. */
	size_t junk = 16 * 1024 * 1024;
	char *buf;
	int fds[2];

	TU_CHAT_ONLY(_i);
	IT_START(_i, NULL, NULL);
	it_join(fds, 2);
	buf = malloc(junk + 6);
	ck_assert_ptr_nonnull(buf);
	memcpy(buf, "/quit\n", 6);
	memset(buf + 6, 'j', junk);
	/* The junk is no line (no LF): nothing of it may be relayed. */
	TU_OK(tu_send_all(fds[1], buf, junk + 6));
	TU_EXPECT_LINE(fds[1], CHAT_BYE);
	TU_EXPECT_EOF(fds[1]);
	TU_EXPECT_LINE(fds[0], "* guest2 left\n");
	TU_EXPECT_SILENCE(fds[0]);
	free(buf);
	tu_close_all(fds, 2);
}
END_TEST

START_TEST(test_it_peer_reset)
{
	int fds[3], d;

	TU_CHAT_ONLY(_i);
	IT_START(_i, NULL, NULL);
	it_join(fds, 3);
	TU_SEND(fds[0], "before\n");
	EXPECT_ALL(fds, 3, 0, "<guest1> before\n");
	tu_close_reset(fds[0]);
	fds[0] = -1;
	EXPECT_ALL(fds, 3, -1, "* guest1 left\n");
	/* Still serving. */
	d = tu_chat_connect(srv.port, NULL, 0);
	ck_assert_msg(d >= 0, "%s", tu_error());
	EXPECT_ALL(fds, 3, -1, "* guest4 joined\n");
	TU_SEND(d, "after\n");
	EXPECT_ALL(fds, 3, -1, "<guest4> after\n");
	close(d);
	tu_close_all(fds, 3);
}
END_TEST

START_TEST(test_it_half_close)
{
	/* 8 MB of replies: more than the kernel buffers can hold while the
	 * client is not reading, so most of it is still queued in the server
	 * when the FIN arrives. */
	enum { NWHO = 300000 };
	static const char who[] = "* users (2): guest1 guest2\n";
	const size_t wl = sizeof(who) - 1;
	char *burst, chunk[65536];
	size_t k, got = 0, blen;
	int64_t deadline;
	int fds[2];
	ssize_t n;

	TU_CHAT_ONLY(_i);
	IT_START(_i, NULL, EXTRA("--max-outbuf", "16m"));
	it_join(fds, 2);
	burst = malloc(NWHO * 5 + 32);
	ck_assert_ptr_nonnull(burst);
	blen = (size_t)sprintf(burst, "one\n");
	for (k = 0; k < NWHO; k++, blen += 5)
		memcpy(burst + blen, "/who\n", 5);
	blen += (size_t)sprintf(burst + blen, "two\n");
	ck_assert_int_eq(tu_send_all(fds[0], burst, blen), 0);
	free(burst);
	ck_assert_int_eq(shutdown(fds[0], SHUT_WR), 0);
	TU_EXPECT_LINE(fds[1], "<guest1> one\n");
	TU_EXPECT_LINE(fds[1], "<guest1> two\n");
	/* Every reply, then EOF. */
	deadline = tu_now_ms() + 20000;
	for (;;) {
		struct pollfd pfd = { fds[0], POLLIN, 0 };

		ck_assert_msg(poll(&pfd, 1, tu_left_ms(deadline)) == 1,
		    "timeout after %zu of %zu bytes", got, NWHO * wl);
		n = recv(fds[0], chunk, sizeof(chunk), 0);
		ck_assert_msg(n >= 0, "recv: %s", strerror(errno));
		if (n == 0)
			break;
		/* One assertion per chunk: Check reports every assertion to
		 * its parent process, which is far too slow per byte. */
		for (k = 0; k < (size_t)n && chunk[k] == who[got % wl]; k++)
			got++;
		ck_assert_msg(k == (size_t)n, "byte %zu differs", got);
	}
	ck_assert_uint_eq(got, NWHO * wl);
	TU_EXPECT_LINE(fds[1], "* guest1 left\n");
	TU_EXPECT_SILENCE(fds[1]);
	tu_close_all(fds, 2);
}
END_TEST

START_TEST(test_it_max_clients)
{
	char nick[TU_NICK_LEN], want[64];
	int fds[2], c;

	TU_CHAT_ONLY(_i);
	IT_START(_i, NULL, EXTRA("--max-clients", "2"));
	it_join(fds, 2);
	c = tu_connect(srv.port);
	ck_assert_int_ge(c, 0);
	TU_EXPECT_LINE(c, CHAT_SERVER_FULL);
	TU_EXPECT_EOF(c);
	close(c);
	TU_EXPECT_SILENCE(fds[0]);
	TU_EXPECT_SILENCE(fds[1]);
	/* A slot frees up: the next one gets in. */
	close(fds[1]);
	fds[1] = -1;
	TU_EXPECT_LINE(fds[0], "* guest2 left\n");
	c = tu_chat_connect(srv.port, nick, sizeof(nick));
	ck_assert_msg(c >= 0, "%s", tu_error());
	snprintf(want, sizeof(want), CHAT_FMT_JOINED, nick);
	TU_EXPECT_LINE(fds[0], want);
	close(c);
	tu_close_all(fds, 2);
}
END_TEST

/* One write of 32,768 one-byte lines from a talker with a 32-byte nick
 * fans out to 1.2 MB per reader, more than --max-outbuf (1 MiB), before
 * the end-of-sweep flush.  A reader that keeps reading must not be taken
 * for a slow one. */
START_TEST(test_it_burst_not_slow)
{
	enum { LINES = 32768 };
	static const char nick[] = "abcdefghijklmnopqrstuvwxyz012345";
	char *burst, *got, *want, cmd[64];
	size_t rlen = sizeof(nick) - 1 + 5, i;	/* "<nick> x\n" */
	int fds[2];

	TU_CHAT_ONLY(_i);
	IT_START(_i, NULL, NULL);
	it_join(fds, 2);
	snprintf(cmd, sizeof(cmd), "/nick %s\n", nick);
	TU_SEND(fds[0], cmd);
	snprintf(cmd, sizeof(cmd), "* guest1 is now %s\n", nick);
	EXPECT_ALL(fds, 2, -1, cmd);
	burst = malloc(LINES * 2);
	want = malloc(LINES * rlen);
	got = malloc(LINES * rlen);
	ck_assert(burst && want && got);
	for (i = 0; i < LINES; i++) {
		char *w = want + i * rlen;

		memcpy(burst + 2 * i, "x\n", 2);
		/* No sprintf: its NUL would land past the last line. */
		w[0] = '<';
		memcpy(w + 1, nick, sizeof(nick) - 1);
		memcpy(w + sizeof(nick), "> x\n", 4);
	}
	TU_OK(tu_send_all(fds[0], burst, LINES * 2));
	TU_OK(tu_read_exact(fds[1], got, LINES * rlen, TU_WAIT));
	ck_assert_msg(memcmp(got, want, LINES * rlen) == 0,
	    "relayed burst differs");
	TU_EXPECT_SILENCE(fds[1]);
	free(burst);
	free(want);
	free(got);
	tu_close_all(fds, 2);
}
END_TEST

START_TEST(test_it_stalled_reader)
{
	enum { BATCH = 50, MAXLINES = 200000 };
	char batch[BATCH * 128], line[256], want[256];
	char snick[TU_NICK_LEN], left[64];
	size_t blen, k, next = 0, after = 0;
	int s, t, l;
	bool seen_left = false;
	ssize_t n;

	TU_CHAT_ONLY(_i);
	IT_START(_i, NULL, EXTRA("--max-outbuf", "65536"));
	/* The stalled one: tiny receive window, reads its welcome only. */
	s = tu_connect_rcvbuf(srv.port, 4096);
	ck_assert_int_ge(s, 0);
	TU_EXPECT_LINE(s, "* welcome, you are guest1\n");
	snprintf(snick, sizeof(snick), "guest1");
	snprintf(left, sizeof(left), "* %s left\n", snick);
	t = tu_chat_connect(srv.port, NULL, 0);
	l = tu_chat_connect(srv.port, NULL, 0);
	ck_assert(t >= 0 && l >= 0);
	TU_EXPECT_LINE(t, "* guest3 joined\n");

	/* The talker sends batches; the live reader must get every line in
	 * order, with the stalled one's left notice somewhere among them. */
	while (next < MAXLINES && after < 10 * BATCH) {
		size_t first = next;

		blen = 0;
		for (k = 0; k < BATCH; k++, next++)
			blen += (size_t)sprintf(batch + blen, "line %07zu "
			    "................................................"
			    "................\n", next);
		ck_assert_int_eq(tu_send_all(t, batch, blen), 0);
		for (k = first; k < next; k++) {
			snprintf(want, sizeof(want), "<guest2> line %07zu "
			    "................................................"
			    "................\n", k);
			/* if + ck_abort_msg: a passing ck_assert costs a
			 * message to Check's parent, too much per line. */
			n = tu_read_line(l, line, sizeof(line), TU_WAIT);
			if (n <= 0)
				ck_abort_msg("live reader, line %zu: %s", k,
				    n == 0 ? "EOF" : tu_error());
			if (!seen_left && strcmp(line, left) == 0) {
				seen_left = true;
				k--;
				continue;
			}
			if (strcmp(line, want) != 0)
				ck_abort_msg("live reader: want \"%s\", got "
				    "\"%s\"", want, line);
			if (seen_left)
				after++;
		}
	}
	ck_assert_msg(seen_left, "stalled reader still connected after %zu "
	    "lines", next);
	/* It was disconnected: whatever sat in its window, then EOF. */
	ck_assert_msg(tu_wait_closed(s, TU_WAIT, NULL) == 0, "%s", tu_error());
	TU_EXPECT_LINE(t, left);
	TU_EXPECT_SILENCE(t);
	close(s);
	close(t);
	close(l);
	ck_assert_int_eq(tu_server_stop(&srv, SIGTERM, TU_WAIT), 0);
	ck_assert_msg(strstr(tu_server_log(&srv), "slow_closed=1") != NULL,
	    "final stats do not count the slow close: %s",
	    tu_server_log(&srv));
}
END_TEST

/* ---- echo ------------------------------------------------------------- */

START_TEST(test_it_echo_random)
{
	const size_t total = 4 * 1024 * 1024 + 123;
	unsigned char *data, *back;
	size_t sent = 0, rcvd = 0, k;
	struct pollfd pfd;
	int64_t deadline;
	bool shut = false;
	ssize_t n;
	int fd;

	IT_START(_i, "echo", EXTRA("--max-outbuf", "65536"));
	data = malloc(total);
	back = malloc(total + 1);
	ck_assert(data != NULL && back != NULL);
	srandom((unsigned)(_i + 1) * 7919u);
	for (k = 0; k < total; k++)
		data[k] = (unsigned char)random();
	fd = tu_connect(srv.port);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(tu_set_nonblocking(fd, true), 0);
	deadline = tu_now_ms() + 20000;
	/* Write and read alternately on one fd, as poll says. */
	for (;;) {
		pfd.fd = fd;
		pfd.events = POLLIN | (sent < total ? POLLOUT : 0);
		pfd.revents = 0;
		ck_assert_msg(tu_now_ms() < deadline, "echo stuck: sent %zu, "
		    "received %zu of %zu", sent, rcvd, total);
		if (poll(&pfd, 1, tu_left_ms(deadline)) <= 0)
			continue;
		if (pfd.revents & POLLOUT) {
			size_t chunk = total - sent < 65536 ? total - sent :
			    65536;

			n = send(fd, data + sent, chunk, MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
			else
				ck_assert_msg(errno == EAGAIN, "send: %s",
				    strerror(errno));
		}
		if (sent == total && !shut) {
			/* Half-close: everything still comes back. */
			ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
			shut = true;
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = recv(fd, back + rcvd, total + 1 - rcvd, 0);
			if (n == 0)
				break;
			if (n > 0)
				rcvd += (size_t)n;
			else
				ck_assert_msg(errno == EAGAIN, "recv: %s",
				    strerror(errno));
			ck_assert_uint_le(rcvd, total);
		}
	}
	ck_assert_uint_eq(rcvd, total);
	ck_assert_msg(memcmp(back, data, total) == 0, "echo differs");
	free(data);
	free(back);
	close(fd);
}
END_TEST

/* One burst of 1 MB, sent before reading a byte: every byte comes back.
 * The server reads 64 KiB per sweep, so the edge-triggered drivers (sigio,
 * uring-poll) must come back to the socket with no new event to tell
 * them: a lost wakeup stalls this test. */
START_TEST(test_it_echo_burst)
{
	const size_t total = 1024 * 1024;
	unsigned char *data, *back;
	size_t k;
	int fd;

	IT_START(_i, "echo", NULL);
	data = malloc(total);
	back = malloc(total);
	ck_assert(data != NULL && back != NULL);
	for (k = 0; k < total; k++)
		data[k] = (unsigned char)(k * 2654435761u >> 13);
	fd = tu_connect(srv.port);
	ck_assert_int_ge(fd, 0);
	/* Fits: the server's --max-outbuf (1 MiB) holds it all. */
	TU_OK(tu_send_all(fd, data, total));
	TU_OK(tu_read_exact(fd, back, total, TU_WAIT));
	ck_assert_msg(memcmp(back, data, total) == 0, "echo differs");
	TU_EXPECT_SILENCE(fd);
	free(data);
	free(back);
	close(fd);
}
END_TEST

/* SIGUSR1 until the stats line says key=want (the server may not have
 * seen a close yet); 0, or -1 with the last value in tu_error(). */
static int
it_wait_stat(const char *key, long long want)
{
	int64_t deadline = tu_now_ms() + TU_WAIT;
	long long v = -1;
	int before;

	while (tu_left_ms(deadline) > 0) {
		before = tu_server_log_count(&srv, "stats event=signal ");
		if (kill(srv.pid, SIGUSR1) == -1)
			break;
		while (tu_server_log_count(&srv, "stats event=signal ") ==
		    before && tu_left_ms(deadline) > 0)
			usleep(5 * 1000);	/* polling the log */
		if ((v = tu_server_stat(&srv, "signal", key)) == want)
			return 0;
		usleep(20 * 1000);		/* between polls */
	}
	return tu_fail("%s=%lld, want %lld; log: %s", key, v, want,
	    tu_server_log(&srv));
}

/* One echo round trip of n bytes on fd. */
static void
it_echo_once(int fd, const char *msg)
{
	char back[256];
	size_t n = strlen(msg);

	ck_assert_uint_lt(n, sizeof(back));
	TU_SEND(fd, msg);
	TU_OK(tu_read_exact(fd, back, n, TU_WAIT));
	ck_assert_msg(memcmp(back, msg, n) == 0, "echo differs");
}

/* Echo: the client past --max-clients is refused as in every driver (echo
 * is 8-bit clean: a close, no text), the others never notice, and a slot
 * that frees up admits the next one. */
START_TEST(test_it_echo_max_clients)
{
	int fds[2], c = -1, attempts = 0;
	int64_t deadline;

	IT_START(_i, "echo", EXTRA("--max-clients", "2"));
	fds[0] = tu_connect(srv.port);
	fds[1] = tu_connect(srv.port);
	ck_assert(fds[0] >= 0 && fds[1] >= 0);
	it_echo_once(fds[0], "one");
	it_echo_once(fds[1], "two");
	c = tu_connect(srv.port);
	ck_assert_int_ge(c, 0);
	TU_EXPECT_EOF(c);
	close(c);
	it_echo_once(fds[0], "still one");
	it_echo_once(fds[1], "still two");
	TU_OK(it_wait_stat("rejected", 1));
	/* A slot frees up: the next one gets in.  When is the server's
	 * business (fork: once the child is reaped), so retry until then. */
	close(fds[1]);
	fds[1] = -1;
	TU_OK(it_wait_stat("closed", 1));
	deadline = tu_now_ms() + TU_WAIT;
	for (;;) {
		char back[5];

		c = tu_connect(srv.port);
		ck_assert_int_ge(c, 0);
		attempts++;
		/* A refused one may fail either call. */
		if (tu_send_str(c, "three") == 0 &&
		    tu_read_exact(c, back, 5, TU_WAIT) == 0) {
			ck_assert(memcmp(back, "three", 5) == 0);
			break;
		}
		close(c);
		ck_assert_msg(tu_now_ms() < deadline, "never admitted again");
		usleep(20 * 1000);	/* between attempts */
	}
	close(c);
	tu_close_all(fds, 2);
	ck_assert_int_eq(tu_server_stop(&srv, SIGTERM, TU_WAIT), 0);
	ck_assert_int_eq(tu_server_stat(&srv, "final", "rejected"),
	    attempts);
	ck_assert_int_eq(tu_server_stat(&srv, "final", "accepted"),
	    3 + attempts);
}
END_TEST

/* SIGTERM with live echo clients: one idle, one mid-echo, one that sends
 * without reading (the server blocked in send() or holding its output).
 * All are closed, the server exits 0 within its 2 s shutdown deadline
 * plus slack with one final stats line, and no process it started
 * survives it. */
START_TEST(test_it_echo_sigterm_live)
{
	static char blob[256 * 1024];
	int fds[3], kids[8], nkids, k;
	int64_t t0;
	char path[64];

	IT_START(_i, "echo", NULL);
	for (k = 0; k < 3; k++) {
		fds[k] = k == 2 ? tu_connect_rcvbuf(srv.port, 4096) :
		    tu_connect(srv.port);
		ck_assert_int_ge(fds[k], 0);
	}
	it_echo_once(fds[0], "idle from now on");
	it_echo_once(fds[1], "busy");
	memset(blob, 'h', sizeof(blob));
	TU_OK(tu_set_nonblocking(fds[2], true));
	(void)!send(fds[2], blob, sizeof(blob), MSG_NOSIGNAL);
	TU_SEND(fds[1], "half of a");
	nkids = tu_children(srv.pid, kids, 8);
	t0 = tu_now_ms();
	ck_assert_int_eq(tu_server_stop(&srv, SIGTERM, 5000), 0);
	ck_assert_msg(tu_now_ms() - t0 < 4000, "exit took %lld ms",
	    (long long)(tu_now_ms() - t0));
	ck_assert_int_eq(tu_server_log_count(&srv, "stats event=final "), 1);
	TU_OK(tu_set_nonblocking(fds[2], false));
	for (k = 0; k < 3; k++)
		ck_assert_msg(tu_wait_closed(fds[k], TU_WAIT, NULL) == 0,
		    "client %d: %s", k, tu_error());
	for (k = 0; k < nkids; k++) {
		snprintf(path, sizeof(path), "/proc/%d", kids[k]);
		ck_assert_msg(access(path, F_OK) == -1, "%s: child %d "
		    "outlived the server", tu_driver_name(_i), kids[k]);
	}
	tu_close_all(fds, 3);
}
END_TEST

/* SIGUSR1 in echo mode: the counters of a finished connection are in. */
START_TEST(test_it_echo_stats)
{
	int fd;

	IT_START(_i, "echo", NULL);
	fd = tu_connect(srv.port);
	ck_assert_int_ge(fd, 0);
	it_echo_once(fd, "ping");
	TU_OK(it_wait_stat("clients", 1));
	close(fd);
	TU_OK(it_wait_stat("closed", 1));
	ck_assert_int_eq(tu_server_stat(&srv, "signal", "clients"), 0);
	ck_assert_int_eq(tu_server_stat(&srv, "signal", "accepted"), 1);
	ck_assert_int_eq(tu_server_stat(&srv, "signal", "bytes_in"), 4);
	ck_assert_int_eq(tu_server_stat(&srv, "signal", "bytes_out"), 4);
	ck_assert_int_eq(tu_server_stop(&srv, SIGTERM, TU_WAIT), 0);
	ck_assert_int_eq(tu_server_stat(&srv, "final", "bytes_out"), 4);
}
END_TEST

/* ---- signals ---------------------------------------------------------- */

START_TEST(test_it_sigterm)
{
	int fds[2];

	TU_CHAT_ONLY(_i);
	IT_START(_i, NULL, NULL);
	it_join(fds, 2);
	TU_SEND(fds[0], "last words\n");
	TU_EXPECT_LINE(fds[1], "<guest1> last words\n");
	ck_assert_int_eq(kill(srv.pid, SIGTERM), 0);
	TU_EXPECT_LINE(fds[0], CHAT_SHUTTING_DOWN);
	TU_EXPECT_LINE(fds[1], CHAT_SHUTTING_DOWN);
	TU_EXPECT_EOF(fds[0]);
	TU_EXPECT_EOF(fds[1]);
	ck_assert_int_eq(tu_server_stop(&srv, 0, TU_WAIT), 0);
	ck_assert_int_eq(tu_server_log_count(&srv, "stats event=final "), 1);
	tu_close_all(fds, 2);
}
END_TEST

START_TEST(test_it_sigint_echo)
{
	int fd;

	/* Echo clients are just closed; the exit is still clean. */
	IT_START(_i, "echo", NULL);
	fd = tu_connect(srv.port);
	ck_assert_int_ge(fd, 0);
	TU_SEND(fd, "ping");
	ck_assert_int_eq(tu_read_exact(fd, (char[4]){ 0 }, 4, TU_WAIT), 0);
	ck_assert_int_eq(tu_server_stop(&srv, SIGINT, TU_WAIT), 0);
	ck_assert_msg(tu_wait_closed(fd, TU_WAIT, NULL) == 0, "%s",
	    tu_error());
	ck_assert_int_eq(tu_server_log_count(&srv, "stats event=final "), 1);
	close(fd);
}
END_TEST

START_TEST(test_it_sigusr1_stats)
{
	static const char *const fields[] = {
		" clients=1 ", " accepted=1 ", " rejected=0 ", " closed=0 ",
		" bytes_in=", " bytes_out=", " lines=", " sweeps=",
		" wouldblock=", " cpu_user=", " cpu_sys=", NULL
	};
	const char *log, *p;
	char statline[1024];
	size_t len;
	int fd, k;

	TU_CHAT_ONLY(_i);
	IT_START(_i, NULL, NULL);
	fd = tu_chat_connect(srv.port, NULL, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(kill(srv.pid, SIGUSR1), 0);
	ck_assert_msg(tu_server_wait_log(&srv, "stats event=signal ",
	    TU_WAIT) == 0, "%s", tu_error());
	ck_assert_msg(tu_server_wait_log(&srv, "cpu_sys=", TU_WAIT) == 0,
	    "%s", tu_error());
	log = tu_server_log(&srv);
	p = strstr(log, "stats event=signal ");
	len = strcspn(p, "\n");
	ck_assert_uint_lt(len, sizeof(statline) - 1);
	memcpy(statline, p, len);
	statline[len] = ' ';
	statline[len + 1] = '\0';
	for (k = 0; fields[k] != NULL; k++)
		ck_assert_msg(strstr(statline, fields[k]) != NULL,
		    "stats line lacks \"%s\": %s", fields[k], statline);
	/* It keeps serving afterwards. */
	TU_SEND(fd, "/who\n");
	TU_EXPECT_LINE(fd, "* users (1): guest1\n");
	close(fd);
}
END_TEST

/*
 * A storm of SIGUSR1 (each one asks for a stats line) while two chat
 * clients talk: every line still arrives, in order, the server prints
 * stats and stops promptly on SIGTERM afterwards.  Signal-driven I/O
 * shares the process's signal machinery with these handlers.
 */
#define STORM_SIGNALS	3000
#define STORM_LINES	200

START_TEST(test_it_signal_storm)
{
	char line[64], want[80];
	int fds[2], k, status;
	pid_t child;
	int64_t t0;

	TU_CHAT_ONLY(_i);
	IT_START(_i, NULL, NULL);
	it_join(fds, 2);
	child = fork();
	ck_assert_int_ne(child, -1);
	if (child == 0) {
		for (k = 0; k < STORM_SIGNALS; k++)
			if (kill(srv.pid, SIGUSR1) == -1)
				_exit(1);
		_exit(0);
	}
	for (k = 0; k < STORM_LINES; k++) {
		snprintf(line, sizeof(line), "storm %d\n", k);
		snprintf(want, sizeof(want), "<guest1> storm %d\n", k);
		TU_SEND(fds[0], line);
		TU_EXPECT_LINE(fds[1], want);
	}
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	TU_SEND(fds[1], "/who\n");
	TU_EXPECT_LINE(fds[1], "* users (2): guest1 guest2\n");
	ck_assert_msg(tu_server_wait_log(&srv, "stats event=signal ",
	    TU_WAIT) == 0, "%s", tu_error());
	t0 = tu_now_ms();
	ck_assert_int_eq(tu_server_stop(&srv, SIGTERM, TU_WAIT), 0);
	ck_assert_msg(tu_now_ms() - t0 < 3000, "SIGTERM took %lld ms",
	    (long long)(tu_now_ms() - t0));
	tu_close_all(fds, 2);
}
END_TEST

/* ---- the command line (driver independent) ---------------------------- */

static int
count_lines(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		if (*s == '\n')
			n++;
	return n;
}

static void
cli_expect_usage_error(const char *const args[], const char *mention)
{
	char *out = NULL, *err = NULL;
	int code;

	code = tu_run(POLLSERV_BIN, args, &out, &err, TU_WAIT);
	ck_assert_msg(code == 2, "%s: exit %d, want 2; stderr: %s", args[0],
	    code, err != NULL ? err : "");
	ck_assert_str_eq(out, "");
	/* A one-line reason, then the usage. */
	ck_assert_msg(count_lines(err) >= 2, "stderr: %s", err);
	ck_assert_msg(strstr(err, "--listen") != NULL &&
	    strstr(err, "--max-outbuf") != NULL, "no usage on stderr: %s",
	    err);
	if (mention != NULL) {
		size_t first = strcspn(err, "\n");

		ck_assert_msg(memmem(err, first, mention, strlen(mention))
		    != NULL, "first line does not mention %s: %s", mention,
		    err);
	}
	free(out);
	free(err);
}

START_TEST(test_cli_bad_options)
{
	cli_expect_usage_error(EXTRA("--bogus"), NULL);
	cli_expect_usage_error(EXTRA("--io", "bogus"), "bogus");
	cli_expect_usage_error(EXTRA("--mode", "bogus"), "bogus");
	cli_expect_usage_error(EXTRA("--listen", "127.0.0.1:70000"), NULL);
	cli_expect_usage_error(EXTRA("--max-outbuf", "-1"), NULL);
	cli_expect_usage_error(EXTRA("--max-line", "-5"), NULL);
	cli_expect_usage_error(EXTRA("extra"), NULL);
}
END_TEST

START_TEST(test_cli_help_version)
{
	char *out = NULL, *err = NULL;

	ck_assert_int_eq(tu_run(POLLSERV_BIN, EXTRA("--help"), &out, &err,
	    TU_WAIT), 0);
	ck_assert_msg(strstr(out, "--listen") != NULL, "usage: %s", out);
	ck_assert_msg(strstr(out, "--io") != NULL, "usage: %s", out);
	ck_assert_str_eq(err, "");
	free(out);
	free(err);
	ck_assert_int_eq(tu_run(POLLSERV_BIN, EXTRA("-h"), &out, &err,
	    TU_WAIT), 0);
	ck_assert_msg(strstr(out, "--listen") != NULL, "usage: %s", out);
	free(out);
	free(err);
	ck_assert_int_eq(tu_run(POLLSERV_BIN, EXTRA("--version"), &out, &err,
	    TU_WAIT), 0);
	ck_assert_msg(strstr(out, POLLSERV_VERSION) != NULL, "version: %s",
	    out);
	free(out);
	free(err);
}
END_TEST

START_TEST(test_cli_busy_port)
{
	char addr[64], *out = NULL, *err = NULL;
	int code;

	ck_assert_msg(tu_server_start(&srv, POLLSERV_BIN, NULL) == 0, "%s",
	    tu_error());
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", srv.port);
	code = tu_run(POLLSERV_BIN, EXTRA("--listen", addr), &out, &err,
	    TU_WAIT);
	ck_assert_msg(code == 1, "exit %d, want 1; stderr: %s", code, err);
	ck_assert_str_eq(out, "");
	ck_assert_msg(count_lines(err) == 1, "want one line: %s", err);
	ck_assert_msg(strstr(err, addr) != NULL, "address missing: %s", err);
	ck_assert_msg(strstr(err, strerror(EADDRINUSE)) != NULL,
	    "strerror missing: %s", err);
	free(out);
	free(err);
	ck_assert_int_eq(tu_server_stop(&srv, SIGTERM, TU_WAIT), 0);
}
END_TEST

START_TEST(test_cli_stats_interval)
{
	ck_assert_msg(tu_server_start(&srv, POLLSERV_BIN,
	    EXTRA("--stats-interval", "1")) == 0, "%s", tu_error());
	ck_assert_msg(tu_server_wait_log(&srv, "stats event=periodic ",
	    3000) == 0, "%s", tu_error());
	ck_assert_int_eq(tu_server_stop(&srv, SIGTERM, TU_WAIT), 0);
}
END_TEST

/* io_uring refused by seccomp (as container runtimes do): one line that
 * says why, exit 1, nothing on stdout; for EPERM and for ENOSYS. */
START_TEST(test_cli_uring_unavailable)
{
	static const char *const errnos[] = { "1", "38" };
	char *out = NULL, *err = NULL;
	int d, k, code;

	for (d = 0; d < tu_ndrivers(); d++) {
		if (io_find(tu_driver_name(d))->probe == NULL)
			continue;
		for (k = 0; k < 2; k++) {
			code = tu_run(NOIOURING_BIN, EXTRA(errnos[k],
			    POLLSERV_BIN, "--io", tu_driver_name(d), "--listen",
			    "127.0.0.1:0"), &out, &err, TU_WAIT);
			ck_assert_msg(code == 1, "%s: exit %d, want 1: %s",
			    tu_driver_name(d), code, err);
			ck_assert_str_eq(out, "");
			ck_assert_msg(count_lines(err) == 1, "want one line: %s",
			    err);
			ck_assert_msg(strstr(err, "io_uring unavailable") &&
			    strstr(err, "seccomp") && strstr(err,
			    tu_driver_name(d)), "reason missing: %s", err);
			free(out);
			free(err);
		}
	}
}
END_TEST

/*
 * sigio past its signal queue: with RLIMIT_SIGPENDING at 4, 40 echo
 * clients sending 20 KB each at once overflow the realtime queue, the
 * kernel falls back to plain SIGIO, and the driver sweeps every fd.
 * Every byte still comes back, and the stats line counts the overflows.
 */
#define OVERFLOW_CLIENTS	40
#define OVERFLOW_BYTES		(20 * 1024)

START_TEST(test_sigio_overflow)
{
	const char *args[] = { "--sigpending=4", POLLSERV_BIN, "--listen",
	    "127.0.0.1:0", "--io", "sigio", "--mode", "echo", NULL };
	static unsigned char data[OVERFLOW_BYTES], back[OVERFLOW_BYTES];
	int fds[OVERFLOW_CLIENTS], i, round;
	unsigned long long overflows = 0;
	const char *p;

	if (access("/usr/bin/prlimit", X_OK) != 0) {
		fprintf(stderr, "skipped: sigio overflow: no /usr/bin/prlimit\n");
		return;
	}
	for (i = 0; i < OVERFLOW_BYTES; i++)
		data[i] = (unsigned char)(i * 7 + 3);
	TU_OK(tu_server_start_argv(&srv, "/usr/bin/prlimit", args));
	for (i = 0; i < OVERFLOW_CLIENTS; i++) {
		fds[i] = tu_connect(srv.port);
		ck_assert_int_ge(fds[i], 0);
	}
	for (round = 0; round < 3; round++) {
		/* 800 KB in flight at once: far more events than 4. */
		for (i = 0; i < OVERFLOW_CLIENTS; i++)
			TU_OK(tu_send_all(fds[i], data, sizeof(data)));
		for (i = 0; i < OVERFLOW_CLIENTS; i++) {
			TU_OK(tu_read_exact(fds[i], back, sizeof(back),
			    TU_WAIT));
			ck_assert_msg(memcmp(back, data, sizeof(data)) == 0,
			    "client %d: echo differs", i);
		}
	}
	tu_close_all(fds, OVERFLOW_CLIENTS);
	ck_assert_int_eq(tu_server_stop(&srv, SIGTERM, TU_WAIT), 0);
	p = strstr(tu_server_log(&srv), "event=final ");
	ck_assert_ptr_nonnull(p);
	p = strstr(p, " sigio_overflows=");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(sscanf(p, " sigio_overflows=%llu", &overflows), 1);
	ck_assert_msg(overflows > 0, "no overflow counted: %s",
	    tu_server_log(&srv));
}
END_TEST

/* A driver that serves echo only refuses chat at start-up: one line that
 * says which modes it serves, exit 2.  Every driver is looked at; the
 * ones serving chat must start in it (the table's chat rows cover them). */
START_TEST(test_cli_chat_refused)
{
	char *out = NULL, *err = NULL;
	int i, code, refused = 0;

	for (i = 0; i < tu_ndrivers(); i++) {
		if (tu_driver_serves_chat(i))
			continue;
		code = tu_run(POLLSERV_BIN, EXTRA("--listen", "127.0.0.1:0",
		    "--io", tu_driver_name(i)), &out, &err, TU_WAIT);
		ck_assert_msg(code == 2, "%s: exit %d, want 2; stderr: %s",
		    tu_driver_name(i), code, err);
		ck_assert_str_eq(out, "");
		ck_assert_msg(count_lines(err) == 1 && strstr(err, "echo") &&
		    strstr(err, tu_driver_name(i)), "%s: %s",
		    tu_driver_name(i), err);
		free(out);
		free(err);
		refused++;
	}
	if (refused == 0)
		fprintf(stderr, "skipped: test_cli_chat_refused: every driver "
		    "serves chat\n");
}
END_TEST

Suite *
integration_suite(void)
{
	Suite *s = suite_create("integration");
	TCase *tc = tcase_create("drivers");
	TCase *cli = tcase_create("command line");
	int n = tu_ndrivers();

	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, NULL, it_teardown);
	tcase_add_loop_test(tc, test_it_chat_session, 0, n);
	tcase_add_loop_test(tc, test_it_byte_at_a_time, 0, n);
	tcase_add_loop_test(tc, test_it_overlong, 0, n);
	tcase_add_loop_test(tc, test_it_binary, 0, n);
	tcase_add_loop_test(tc, test_it_quit_and_exit, 0, n);
	tcase_add_loop_test(tc, test_it_quit_then_junk, 0, n);
	tcase_add_loop_test(tc, test_it_burst_not_slow, 0, n);
	tcase_add_loop_test(tc, test_it_peer_reset, 0, n);
	tcase_add_loop_test(tc, test_it_half_close, 0, n);
	tcase_add_loop_test(tc, test_it_max_clients, 0, n);
	tcase_add_loop_test(tc, test_it_stalled_reader, 0, n);
	tcase_add_loop_test(tc, test_it_echo_random, 0, n);
	tcase_add_loop_test(tc, test_it_echo_burst, 0, n);
	tcase_add_loop_test(tc, test_it_echo_max_clients, 0, n);
	tcase_add_loop_test(tc, test_it_echo_sigterm_live, 0, n);
	tcase_add_loop_test(tc, test_it_echo_stats, 0, n);
	tcase_add_loop_test(tc, test_it_sigterm, 0, n);
	tcase_add_loop_test(tc, test_it_sigint_echo, 0, n);
	tcase_add_loop_test(tc, test_it_sigusr1_stats, 0, n);
	tcase_add_loop_test(tc, test_it_signal_storm, 0, n);
	suite_add_tcase(s, tc);

	tcase_set_timeout(cli, 30);
	tcase_add_checked_fixture(cli, NULL, it_teardown);
	tcase_add_test(cli, test_cli_bad_options);
	tcase_add_test(cli, test_cli_help_version);
	tcase_add_test(cli, test_cli_busy_port);
	tcase_add_test(cli, test_cli_stats_interval);
	tcase_add_test(cli, test_cli_uring_unavailable);
	tcase_add_test(cli, test_sigio_overflow);
	tcase_add_test(cli, test_cli_chat_refused);
	suite_add_tcase(s, cli);
	return s;
}
