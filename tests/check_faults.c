/* check_faults.c - scripted recv/send/accept faults through the sysio seam. */
#define _GNU_SOURCE	/* memmem */
/*
 * The server core runs in this process (tests/harness.c: server_init on
 * 127.0.0.1:0, the busy driver, clients adopted from socketpair() ends)
 * and every sweep is driven by the test.  sysio.recv/send/accept are replaced by wrappers that
 * follow a script of rules: fail with an errno, or cap the byte count to
 * make a short read or write, or a seeded mix of EAGAIN, EINTR and short
 * transfers ("chaos").  Each test then asserts the rule of issue 6: only
 * the client whose socket misbehaved is affected, everyone else gets every
 * byte in order, and the counters say what happened.
 */
#include <sys/socket.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat.h"
#include "check_suites.h"
#include "client.h"
#include "io.h"
#include "log.h"
#include "net.h"
#include "options.h"
#include "harness.h"
#include "loop.h"
#include "server.h"
#include "sysio.h"
#include "testutil.h"

/* ---- the fault script --------------------------------------------------- */

enum fault_op { FAULT_RECV, FAULT_SEND, FAULT_ACCEPT, FAULT_NOPS };

struct fault_rule {
	int	fd;		/* server-side fd it applies to, -1: any */
	enum fault_op op;
	int	err;		/* nonzero: fail the call with this errno */
	size_t	cap;		/* else: transfer at most cap bytes */
	bool	chaos;		/* else: seeded mix of EAGAIN, EINTR, short */
	int	count;		/* calls it still applies to, -1: forever */
};

#define FAULT_MAX_RULES	16

static struct fault_rule fault_rules[FAULT_MAX_RULES];
static int fault_nrules;
static unsigned long fault_injected[FAULT_NOPS];	/* calls altered */
static unsigned long fault_eagain[FAULT_NOPS];		/* of which EAGAIN */
static unsigned long fault_rng = 12345;

static void
fault_add(int fd, enum fault_op op, int err, size_t cap, int count)
{
	struct fault_rule *r;

	ck_assert_int_lt(fault_nrules, FAULT_MAX_RULES);
	r = &fault_rules[fault_nrules++];
	r->fd = fd;
	r->op = op;
	r->err = err;
	r->cap = cap;
	r->chaos = false;
	r->count = count;
}

/* Every call on fd: 1/4 EAGAIN, 1/8 EINTR, else at most 1..cap bytes. */
static void
fault_add_chaos(int fd, enum fault_op op, size_t cap)
{
	fault_add(fd, op, 0, cap, -1);
	fault_rules[fault_nrules - 1].chaos = true;
}

static unsigned long
fault_random(void)
{
	/* A fixed LCG: a failure replays the same way every run. */
	fault_rng = fault_rng * 6364136223846793005UL + 1442695040888963407UL;
	return fault_rng >> 33;
}

/* What to do with this call: -1 and errno set, or 0 and *n capped. */
static int
fault_apply(int fd, enum fault_op op, size_t *n)
{
	int i;

	for (i = 0; i < fault_nrules; i++) {
		struct fault_rule *r = &fault_rules[i];
		unsigned long dice;

		if (r->op != op || (r->fd != -1 && r->fd != fd) ||
		    r->count == 0)
			continue;
		if (r->count > 0)
			r->count--;
		fault_injected[op]++;
		if (r->chaos) {
			dice = fault_random() % 8;
			if (dice < 2) {
				fault_eagain[op]++;
				errno = EAGAIN;
				return -1;
			}
			if (dice == 2) {
				errno = EINTR;
				return -1;
			}
			if (*n > 1)
				*n = 1 + fault_random() % (r->cap < *n ?
				    r->cap : *n);
			return 0;
		}
		if (r->err != 0) {
			if (r->err == EAGAIN)
				fault_eagain[op]++;
			errno = r->err;
			return -1;
		}
		if (*n > r->cap)
			*n = r->cap;
		return 0;
	}
	return 0;
}

static ssize_t
fault_recv(int fd, void *p, size_t n, int flags)
{
	if (fault_apply(fd, FAULT_RECV, &n) == -1)
		return -1;
	return recv(fd, p, n, flags);
}

static ssize_t
fault_send(int fd, const void *p, size_t n, int flags)
{
	if (fault_apply(fd, FAULT_SEND, &n) == -1)
		return -1;
	return send(fd, p, n, flags);
}

static int
fault_accept(int fd, struct sockaddr *sa, socklen_t *len)
{
	size_t n = 0;

	if (fault_apply(fd, FAULT_ACCEPT, &n) == -1)
		return -1;
	return accept(fd, sa, len);
}

/* ---- the server under test and its peers -------------------------------- */

#define FX_MAX_PEERS	8
#define FX_WAIT_MS	5000

struct peer {
	int	fd;		/* the test's end, nonblocking */
	int	srv_fd;		/* the server's end, -1 until known */
	char   *rx;		/* everything received */
	size_t	rx_len, rx_cap, rx_seen;	/* rx_seen: already asserted */
	char   *tx;		/* queued to send, sent as the socket allows */
	size_t	tx_len, tx_off;
	bool	eof;
	int	err;		/* errno if it ended in an error, 0: EOF */
};

static struct peer peers[FX_MAX_PEERS];
static int npeers;
static FILE *fx_log;	/* the server's stderr, for counting log lines */
static int fx_saved_stderr = -1;

static void
fx_setup(void)
{
	memset(fault_rules, 0, sizeof(fault_rules));
	fault_nrules = 0;
	memset(fault_injected, 0, sizeof(fault_injected));
	memset(fault_eagain, 0, sizeof(fault_eagain));
	fault_rng = 12345;
	npeers = 0;
	/* Route the core's log into a file this test can read back. */
	fx_log = tmpfile();
	ck_assert_ptr_nonnull(fx_log);
	fflush(stderr);
	fx_saved_stderr = dup(2);
	ck_assert_int_ne(dup2(fileno(fx_log), 2), -1);
	log_set_level(LOG_WARN);
	sysio.recv = fault_recv;
	sysio.send = fault_send;
	sysio.accept = fault_accept;
}

static void
fx_teardown(void)
{
	int i;

	hx_stop();
	for (i = 0; i < npeers; i++) {
		if (peers[i].fd != -1)
			close(peers[i].fd);
		free(peers[i].rx);
		free(peers[i].tx);
	}
	npeers = 0;
	/* Give stderr back: with CK_FORK=no the next test shares it. */
	fflush(stderr);
	if (fx_saved_stderr != -1) {
		dup2(fx_saved_stderr, 2);
		close(fx_saved_stderr);
		fx_saved_stderr = -1;
	}
	if (fx_log != NULL)
		fclose(fx_log);
	fx_log = NULL;
}

static void
fx_start(enum server_mode mode, size_t max_outbuf)
{
	struct config cfg;

	hx_config(&cfg, mode);
	cfg.max_outbuf = max_outbuf;
	cfg.max_clients = 32;
	cfg.verbosity = LOG_WARN;
	hx_start(&cfg);
}

static struct peer *
fx_new_peer(int fd, int srv_fd)
{
	struct peer *p;

	ck_assert_int_lt(npeers, FX_MAX_PEERS);
	p = &peers[npeers++];
	memset(p, 0, sizeof(*p));
	p->fd = fd;
	p->srv_fd = srv_fd;
	ck_assert_int_eq(tu_set_nonblocking(fd, true), 0);
	return p;
}

/* A client over socketpair(), adopted as if accepted. */
static struct peer *
fx_adopt(void)
{
	struct client *c;
	int fd, srv_fd;

	fd = hx_pair(0, &c, &srv_fd);
	ck_assert_ptr_nonnull(c);
	return fx_new_peer(fd, srv_fd);
}

/* Move bytes between the test's peers and their sockets, both ways. */
static void
fx_io(void)
{
	char chunk[65536];
	ssize_t n;
	int i;

	for (i = 0; i < npeers; i++) {
		struct peer *p = &peers[i];

		while (p->tx_off < p->tx_len) {
			n = send(p->fd, p->tx + p->tx_off,
			    p->tx_len - p->tx_off, MSG_NOSIGNAL);
			if (n <= 0)
				break;
			p->tx_off += (size_t)n;
		}
		while (!p->eof) {
			n = recv(p->fd, chunk, sizeof(chunk), 0);
			if (n > 0) {
				if (p->rx_len + (size_t)n > p->rx_cap) {
					p->rx_cap = (p->rx_len + (size_t)n) * 2;
					p->rx = realloc(p->rx, p->rx_cap);
					ck_assert_ptr_nonnull(p->rx);
				}
				memcpy(p->rx + p->rx_len, chunk, (size_t)n);
				p->rx_len += (size_t)n;
				continue;
			}
			if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				p->eof = true;	/* EOF or reset */
				p->err = n == 0 ? 0 : errno;
			}
			break;
		}
	}
}

static void
fx_send(struct peer *p, const void *data, size_t n)
{
	if (p->tx_off == p->tx_len)
		p->tx_len = p->tx_off = 0;
	p->tx = realloc(p->tx, p->tx_len + n);
	ck_assert_ptr_nonnull(p->tx);
	memcpy(p->tx + p->tx_len, data, n);
	p->tx_len += n;
	fx_io();
}

static void
fx_send_str(struct peer *p, const char *s)
{
	fx_send(p, s, strlen(s));
}

static void
fx_pump(void)
{
	loop_sweep(&hx_srv, 0);
	fx_io();
}

struct fx_wait {
	struct peer *p;
	size_t	n;		/* unasserted bytes wanted, 0: wait for EOF */
};

static bool
fx_arrived(void *arg)
{
	const struct fx_wait *w = arg;

	fx_io();
	return w->p->eof || (w->n > 0 && w->p->rx_len - w->p->rx_seen >= w->n);
}

/* Sweep until p has received n more bytes (or closed), then compare. */
static void
fx_expect_bytes(struct peer *p, const void *want, size_t n)
{
	struct fx_wait w = { p, n };
	char got[256], exp[256];

	if (!fx_arrived(&w))
		(void)hx_sweep_until(fx_arrived, &w, HX_DEADLINE);
	fx_io();
	if (p->rx_len - p->rx_seen < n || memcmp(p->rx + p->rx_seen, want,
	    n) != 0) {
		size_t have = p->rx_len - p->rx_seen;

		tu_quote(p->rx + p->rx_seen, have < n ? have : n, got,
		    sizeof(got));
		tu_quote(want, n, exp, sizeof(exp));
		ck_abort_msg("peer %d: want \"%s\", got \"%s\"%s",
		    (int)(p - peers), exp, got, p->eof ? " then EOF" : "");
	}
	p->rx_seen += n;
}

#define fx_expect(p, s)	fx_expect_bytes((p), (s), strlen(s))

/* Sweep until p is closed, with nothing unasserted before the EOF. */
static void
fx_expect_eof(struct peer *p)
{
	struct fx_wait w = { p, 0 };
	char got[256];

	if (!fx_arrived(&w))
		(void)hx_sweep_until(fx_arrived, &w, HX_DEADLINE);
	ck_assert_msg(p->eof, "peer %d: not closed", (int)(p - peers));
	tu_quote(p->rx + p->rx_seen, p->rx_len - p->rx_seen, got, sizeof(got));
	ck_assert_msg(p->rx_len == p->rx_seen, "peer %d: \"%s\" before EOF",
	    (int)(p - peers), got);
}

/* A few hundred sweeps bring nothing new: only for asserting absence. */
static void
fx_expect_quiet(struct peer *p)
{
	char got[256];
	int i;

	for (i = 0; i < 300; i++)
		fx_pump();
	tu_quote(p->rx + p->rx_seen, p->rx_len - p->rx_seen, got, sizeof(got));
	ck_assert_msg(p->rx_len == p->rx_seen && !p->eof,
	    "peer %d: unexpected \"%s\"%s", (int)(p - peers), got,
	    p->eof ? " EOF" : "");
}

/* n chat clients, every welcome and join notice read: all quiet. */
static void
fx_join(struct peer **out, int n)
{
	char nick[16], line[64];
	int i, j;

	for (i = 0; i < n; i++) {
		out[i] = fx_adopt();
		snprintf(nick, sizeof(nick), "guest%d", i + 1);
		snprintf(line, sizeof(line), CHAT_FMT_WELCOME, nick);
		fx_expect(out[i], line);
		snprintf(line, sizeof(line), CHAT_FMT_JOINED, nick);
		for (j = 0; j < i; j++)
			fx_expect(out[j], line);
	}
}

/* The usual set-up: a chat server with a roomy output cap, n joined. */
static void
fx_chat(struct peer **out, int n)
{
	fx_start(MODE_CHAT, 1 << 20);
	fx_join(out, n);
}

static struct client *
fx_client(const struct peer *p)
{
	ck_assert_int_ge(p->srv_fd, 0);
	return hx_srv.by_fd[p->srv_fd];
}

static size_t
fx_log_count(const char *needle)
{
	char line[1024];
	size_t count = 0;

	fflush(stderr);
	rewind(fx_log);
	while (fgets(line, sizeof(line), fx_log) != NULL)
		if (strstr(line, needle) != NULL)
			count++;
	fseek(fx_log, 0, SEEK_END);
	return count;
}

/* ---- read path ---------------------------------------------------------- */

START_TEST(test_read_short)
{
	struct peer *p[3];

	fx_chat(p, 3);
	/* Every recv of guest1 gets one byte: framing must not care. */
	fault_add(p[0]->srv_fd, FAULT_RECV, 0, 1, -1);
	fx_send_str(p[0], "hello world\r\n/nick alice\n/who\n");
	fx_expect(p[1], "<guest1> hello world\n");
	fx_expect(p[2], "<guest1> hello world\n");
	fx_expect(p[0], "* guest1 is now alice\n");
	fx_expect(p[1], "* guest1 is now alice\n");
	fx_expect(p[2], "* guest1 is now alice\n");
	fx_expect(p[0], "* users (3): alice guest2 guest3\n");
	ck_assert_uint_ge(fault_injected[FAULT_RECV], 30);
	ck_assert_uint_eq(hx_srv.stats.lines, 3);
	ck_assert_uint_eq(hx_srv.stats.closed, 0);
}
END_TEST

START_TEST(test_read_eagain_eintr)
{
	struct peer *p[2];
	uint64_t wb;

	fx_chat(p, 2);
	wb = hx_srv.stats.wouldblock;
	/* Spurious EAGAIN and EINTR before the bytes, then short reads. */
	fault_add(p[0]->srv_fd, FAULT_RECV, EINTR, 0, 3);
	fault_add(p[0]->srv_fd, FAULT_RECV, EAGAIN, 0, 5);
	fault_add(p[0]->srv_fd, FAULT_RECV, EINTR, 0, 2);
	fault_add(p[0]->srv_fd, FAULT_RECV, 0, 3, 10);
	fx_send_str(p[0], "one\ntwo\nthree\n");
	fx_expect(p[1], "<guest1> one\n<guest1> two\n<guest1> three\n");
	/* Every scripted error was delivered (the short reads run out with
	 * the data). */
	ck_assert_int_eq(fault_rules[0].count + fault_rules[1].count +
	    fault_rules[2].count, 0);
	ck_assert_uint_ge(fault_injected[FAULT_RECV], 15);
	/* The injected EAGAINs were counted as wasted calls. */
	ck_assert_uint_ge(hx_srv.stats.wouldblock - wb, 5);
	ck_assert_uint_eq(hx_srv.stats.closed, 0);
	ck_assert_int_eq(fx_client(p[0])->state, CLIENT_OPEN);
}
END_TEST

START_TEST(test_read_reset)
{
	struct peer *p[3];

	fx_chat(p, 3);
	/* A partial line, then the connection is reset: nothing of it is
	 * relayed, the others hear it left and go on talking. */
	fx_send_str(p[0], "half a li");
	fx_pump();
	fault_add(p[0]->srv_fd, FAULT_RECV, ECONNRESET, 0, 1);
	fx_send_str(p[0], "ne\n");
	fx_expect(p[1], "* guest1 left\n");
	fx_expect(p[2], "* guest1 left\n");
	fx_expect_eof(p[0]);
	ck_assert_uint_eq(hx_srv.stats.closed, 1);
	ck_assert_uint_eq(hx_srv.nclients, 2);
	ck_assert_uint_eq(hx_srv.ctx.partial_count, 0);
	fx_send_str(p[1], "still here\n");
	fx_expect(p[2], "<guest2> still here\n");
	fx_expect_quiet(p[1]);
}
END_TEST

START_TEST(test_read_error_other)
{
	struct peer *p[2];

	fx_chat(p, 2);
	fault_add(p[1]->srv_fd, FAULT_RECV, ETIMEDOUT, 0, 1);
	fx_send_str(p[1], "x\n");
	fx_expect(p[0], "* guest2 left\n");
	fx_expect_eof(p[1]);
	ck_assert_uint_eq(hx_srv.stats.closed, 1);
}
END_TEST

/* ---- write and flush paths ---------------------------------------------- */

START_TEST(test_write_short)
{
	struct peer *p[3];
	char line[64];
	int i;

	fx_chat(p, 3);
	/* guest2 can take three bytes per send, guest3 is normal. */
	fault_add(p[1]->srv_fd, FAULT_SEND, 0, 3, -1);
	for (i = 0; i < 50; i++) {
		snprintf(line, sizeof(line), "line %d\n", i);
		fx_send_str(p[0], line);
	}
	for (i = 0; i < 50; i++) {
		snprintf(line, sizeof(line), "<guest1> line %d\n", i);
		fx_expect(p[1], line);
		fx_expect(p[2], line);
	}
	ck_assert_uint_ge(fault_injected[FAULT_SEND], 50 * 15 / 3);
	ck_assert_uint_eq(hx_srv.stats.closed, 0);
}
END_TEST

START_TEST(test_write_eagain)
{
	struct peer *p[3];
	struct client *c;
	uint64_t wb;

	fx_chat(p, 3);
	wb = hx_srv.stats.wouldblock;
	/* guest2's socket "fills up" for 40 send attempts. */
	fault_add(p[1]->srv_fd, FAULT_SEND, EAGAIN, 0, 40);
	fx_send_str(p[0], "first\n");
	fx_expect(p[2], "<guest1> first\n");
	c = fx_client(p[1]);
	/* The state machine now waits for writability. */
	ck_assert_int_ne(c->interest & IO_WRITE, 0);
	ck_assert_uint_gt(buf_len(&c->out), 0);
	fx_send_str(p[0], "second\n");
	fx_send_str(p[2], "third\n");
	fx_expect(p[1], "<guest1> first\n<guest1> second\n<guest3> third\n");
	fx_expect(p[2], "<guest1> second\n");
	ck_assert_uint_eq(fault_injected[FAULT_SEND], 40);
	ck_assert_uint_ge(hx_srv.stats.wouldblock - wb, 40);
	/* Drained: no longer asks for writability. */
	ck_assert_int_eq(fx_client(p[1])->interest & IO_WRITE, 0);
	ck_assert_uint_eq(hx_srv.stats.closed, 0);
}
END_TEST

START_TEST(test_write_eintr)
{
	struct peer *p[2];

	fx_chat(p, 2);
	fault_add(p[1]->srv_fd, FAULT_SEND, EINTR, 0, 7);
	fx_send_str(p[0], "through the signal\n");
	fx_expect(p[1], "<guest1> through the signal\n");
	ck_assert_uint_eq(fault_injected[FAULT_SEND], 7);
	ck_assert_uint_eq(hx_srv.stats.closed, 0);
}
END_TEST

/* EPIPE on the send right after the relay: loop_flush's path. */
START_TEST(test_flush_epipe)
{
	struct peer *p[3];

	fx_chat(p, 3);
	fault_add(p[1]->srv_fd, FAULT_SEND, EPIPE, 0, 1);
	fx_send_str(p[0], "anyone?\n");
	fx_expect(p[2], "<guest1> anyone?\n");
	fx_expect(p[0], "* guest2 left\n");
	fx_expect(p[2], "* guest2 left\n");
	fx_expect_eof(p[1]);
	ck_assert_uint_eq(hx_srv.stats.closed, 1);
	ck_assert_uint_eq(hx_srv.stats.slow_closed, 0);
	fx_send_str(p[2], "yes\n");
	fx_expect(p[0], "<guest3> yes\n");
}
END_TEST

/* EAGAIN first, then a reset once the socket is "writable" again: the
 * writable-event path. */
START_TEST(test_writable_reset)
{
	struct peer *p[3];

	fx_chat(p, 3);
	fault_add(p[1]->srv_fd, FAULT_SEND, EAGAIN, 0, 3);
	fault_add(p[1]->srv_fd, FAULT_SEND, ECONNRESET, 0, 1);
	fx_send_str(p[0], "one\n");
	fx_send_str(p[0], "two\n");
	fx_expect(p[2], "<guest1> one\n<guest1> two\n");
	fx_expect(p[0], "* guest2 left\n");
	fx_expect(p[2], "* guest2 left\n");
	fx_expect_eof(p[1]);
	ck_assert_uint_eq(fault_injected[FAULT_SEND], 4);
	ck_assert_uint_eq(hx_srv.stats.closed, 1);
}
END_TEST

/* A socket that never drains is a slow reader: disconnected at the cap,
 * and nobody else loses a line. */
START_TEST(test_write_stalled)
{
	struct peer *p[3];
	char line[128];
	int i;

	fx_start(MODE_CHAT, 4096);
	fx_join(p, 3);
	fault_add(p[1]->srv_fd, FAULT_SEND, EAGAIN, 0, -1);
	/* Paced: the cap is on pending output, and a reader that keeps up
	 * must never come near it. */
	for (i = 0; i < 100; i++) {
		snprintf(line, sizeof(line), "%03d the quick brown fox jumps "
		    "over the lazy dog\n", i);
		fx_send_str(p[0], line);
		fx_pump();
		fx_pump();
	}
	/* guest3 gets all 100 lines in order, with guest2's departure
	 * somewhere between them. */
	{
		static const char left[] = "* guest2 left\n";
		char *want = calloc(100, sizeof(line)), *got, *hole;
		size_t wlen = 0, n;
		int64_t deadline;

		ck_assert_ptr_nonnull(want);
		for (i = 0; i < 100; i++)
			wlen += (size_t)snprintf(want + wlen, sizeof(line),
			    "<guest1> %03d the quick brown fox jumps over the "
			    "lazy dog\n", i);
		n = wlen + sizeof(left) - 1;
		deadline = tu_now_ms() + FX_WAIT_MS;
		while (p[2]->rx_len - p[2]->rx_seen < n && !p[2]->eof &&
		    tu_now_ms() < deadline)
			fx_pump();
		ck_assert_uint_eq(p[2]->rx_len - p[2]->rx_seen, n);
		got = p[2]->rx + p[2]->rx_seen;
		hole = memmem(got, n, left, sizeof(left) - 1);
		ck_assert_ptr_nonnull(hole);
		ck_assert_int_eq(memcmp(got, want, (size_t)(hole - got)), 0);
		ck_assert_int_eq(memcmp(hole + sizeof(left) - 1,
		    want + (hole - got), wlen - (size_t)(hole - got)), 0);
		p[2]->rx_seen += n;
		free(want);
	}
	fx_expect(p[0], "* guest2 left\n");
	ck_assert_uint_eq(hx_srv.stats.slow_closed, 1);
	ck_assert_uint_eq(hx_srv.stats.closed, 1);
	ck_assert_uint_eq(hx_srv.nclients, 2);
}
END_TEST

/* ---- drain and quit ----------------------------------------------------- */

START_TEST(test_quit_short_writes)
{
	struct peer *p[2];

	fx_chat(p, 2);
	fault_add_chaos(p[0]->srv_fd, FAULT_SEND, 1);
	/* Lines after the quit, even in the same packet, are not seen. */
	fx_send_str(p[0], "bye all\n/quit\nafter the quit\n");
	fx_expect(p[0], CHAT_BYE);
	fx_expect_eof(p[0]);
	fx_expect(p[1], "<guest1> bye all\n* guest1 left\n");
	fx_expect_quiet(p[1]);
	/* Lingering until the quitter's FIN, then gone. */
	ck_assert_uint_eq(hx_srv.stats.closed, 0);
	shutdown(p[0]->fd, SHUT_WR);
	fx_expect_quiet(p[1]);
	ck_assert_uint_eq(hx_srv.stats.closed, 1);
	ck_assert_uint_eq(hx_srv.stats.lines, 2);
}
END_TEST

START_TEST(test_quit_epipe)
{
	struct peer *p[2];

	fx_chat(p, 2);
	fault_add(p[0]->srv_fd, FAULT_SEND, EPIPE, 0, 1);
	fx_send_str(p[0], "exit\n");
	fx_expect(p[1], "* guest1 left\n");
	fx_expect_eof(p[0]);	/* "* bye" was lost with the pipe */
	ck_assert_uint_eq(hx_srv.stats.closed, 1);
	fx_expect_quiet(p[1]);
}
END_TEST

/* Half-close with the output side stuttering: the tail line is still
 * relayed and the pending output still flushed before the close. */
START_TEST(test_halfclose_eagain)
{
	struct peer *p[2];

	fx_chat(p, 2);
	fault_add(p[0]->srv_fd, FAULT_SEND, EAGAIN, 0, 5);
	fault_add(p[0]->srv_fd, FAULT_SEND, 0, 2, -1);
	fx_send_str(p[0], "/who\nunterminated tail");
	ck_assert_int_eq(shutdown(p[0]->fd, SHUT_WR), 0);
	fx_expect(p[0], "* users (2): guest1 guest2\n");
	fx_expect_eof(p[0]);
	fx_expect(p[1], "<guest1> unterminated tail\n* guest1 left\n");
	ck_assert_uint_eq(hx_srv.stats.closed, 1);
}
END_TEST

/* ---- everything at once ------------------------------------------------- */

/* Every server-side socket gets random EAGAIN, EINTR and short reads and
 * writes; four clients talk at once.  Each receiver must see every other
 * client's lines, all of them, in each sender's order. */
START_TEST(test_chat_chaos)
{
	enum { NCLIENTS = 4, NLINES = 150 };
	struct peer *p[NCLIENTS];
	char line[64];
	int i, k, next[NCLIENTS];
	int64_t deadline;

	fx_chat(p, NCLIENTS);
	fault_add_chaos(-1, FAULT_RECV, 5);
	fault_add_chaos(-1, FAULT_SEND, 7);
	for (i = 0; i < NLINES; i++)
		for (k = 0; k < NCLIENTS; k++) {
			snprintf(line, sizeof(line), "from %d number %d\n", k,
			    i);
			fx_send_str(p[k], line);
		}
	/* Each receiver's stream: parse, check per-sender order. */
	for (k = 0; k < NCLIENTS; k++) {
		size_t want = 0;

		for (i = 0; i < NCLIENTS; i++)
			if (i != k)
				want += NLINES;
		deadline = tu_now_ms() + 20000;
		for (;;) {
			size_t lines = 0, j;

			for (j = p[k]->rx_seen; j < p[k]->rx_len; j++)
				lines += p[k]->rx[j] == '\n';
			if (lines >= want || tu_now_ms() >= deadline)
				break;
			fx_pump();
		}
		memset(next, 0, sizeof(next));
		{
			char *s = p[k]->rx + p[k]->rx_seen, *lf;
			char *end = p[k]->rx + p[k]->rx_len;
			size_t got = 0;

			while (s < end && (lf = memchr(s, '\n', (size_t)(end -
			    s))) != NULL) {
				int who, sender, num;
				char copy[64];
				size_t len = (size_t)(lf - s);

				ck_assert_uint_lt(len, sizeof(copy));
				memcpy(copy, s, len);
				copy[len] = '\0';
				ck_assert_msg(sscanf(copy, "<guest%d> from %d "
				    "number %d", &who, &sender, &num) == 3,
				    "client %d got \"%s\"", k, copy);
				ck_assert_int_eq(who, sender + 1);
				ck_assert_int_ne(sender, k);
				ck_assert_msg(num == next[sender], "client %d: "
				    "from %d got %d, want %d", k, sender, num,
				    next[sender]);
				next[sender]++;
				got++;
				s = lf + 1;
			}
			ck_assert_uint_eq(got, want);
			ck_assert_ptr_eq(s, end);
		}
	}
	ck_assert_uint_gt(fault_eagain[FAULT_RECV], 0);
	ck_assert_uint_gt(fault_eagain[FAULT_SEND], 0);
	ck_assert_uint_eq(hx_srv.stats.closed, 0);
	ck_assert_uint_eq(hx_srv.stats.lines, NCLIENTS * NLINES);
}
END_TEST

/* ---- echo mode ---------------------------------------------------------- */

static void
fx_random_bytes(char *p, size_t n, unsigned long seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		seed = seed * 6364136223846793005UL + 1442695040888963407UL;
		p[i] = (char)(seed >> 56);
	}
}

START_TEST(test_echo_chaos)
{
	enum { BIG = 300 * 1024, SMALL = 64 * 1024 };
	struct peer *a, *b, *c;
	char *big = malloc(BIG), *small = malloc(SMALL);

	ck_assert_ptr_nonnull(big);
	ck_assert_ptr_nonnull(small);
	fx_random_bytes(big, BIG, 1);
	fx_random_bytes(small, SMALL, 2);
	/* A small cap makes backpressure kick in while faults fly. */
	fx_start(MODE_ECHO, 16 * 1024);
	a = fx_adopt();
	b = fx_adopt();
	c = fx_adopt();
	fault_add_chaos(a->srv_fd, FAULT_RECV, 4000);
	fault_add_chaos(a->srv_fd, FAULT_SEND, 3000);
	/* c is reset on its first send; a and b must not notice. */
	fault_add(c->srv_fd, FAULT_SEND, ECONNRESET, 0, 1);
	fx_send(a, big, BIG);
	fx_send(b, small, SMALL);
	fx_send_str(c, "doomed");
	fx_expect_bytes(b, small, SMALL);
	fx_expect_bytes(a, big, BIG);
	fx_expect_eof(c);
	ck_assert_uint_eq(hx_srv.stats.closed, 1);
	ck_assert_uint_eq(hx_srv.nclients, 2);
	ck_assert_uint_gt(fault_eagain[FAULT_SEND], 0);
	/* Half-close after the chaos: everything echoed, then closed. */
	fx_send_str(a, "tail");
	ck_assert_int_eq(shutdown(a->fd, SHUT_WR), 0);
	fx_expect(a, "tail");
	fx_expect_eof(a);
	fx_send_str(b, "b lives");
	fx_expect(b, "b lives");
	free(big);
	free(small);
}
END_TEST

START_TEST(test_echo_recv_reset)
{
	struct peer *a, *b;

	fx_start(MODE_ECHO, 1 << 20);
	a = fx_adopt();
	b = fx_adopt();
	fault_add(a->srv_fd, FAULT_RECV, ECONNRESET, 0, 1);
	fx_send_str(a, "lost");
	fx_send_str(b, "kept");
	fx_expect(b, "kept");
	fx_expect_eof(a);
	ck_assert_uint_eq(hx_srv.stats.closed, 1);
	ck_assert_uint_eq(hx_srv.stats.bytes_in, 4);
}
END_TEST

/* ---- graceful close ----------------------------------------------------- */

/*
 * A graceful close first reads away input the server never processed:
 * closing a socket with unread input makes the peer's side fail with a
 * reset (ECONNRESET; over TCP an RST that can destroy the "* bye" it has
 * not read yet).  That read goes through the seam like every other, so a
 * fault in it is seen and survived: here an EINTR, retried.
 */
/* 0 if p's connection ended in a clean EOF, else -errno (a reset). */
static int
fx_closed_how(struct peer *p)
{
	int64_t deadline = tu_now_ms() + FX_WAIT_MS;

	while (!p->eof && tu_now_ms() < deadline)
		fx_pump();
	ck_assert_msg(p->eof, "peer %d: not closed", (int)(p - peers));
	return -p->err;
}

START_TEST(test_close_discards_unread)
{
	struct peer *p[3];
	unsigned long before;

	fx_chat(p, 3);
	/* The server reads nothing from guest1 or guest2 while this holds. */
	fault_add(p[0]->srv_fd, FAULT_RECV, EAGAIN, 0, -1);
	fault_add(p[1]->srv_fd, FAULT_RECV, EAGAIN, 0, -1);
	fx_send_str(p[0], "never read\n");
	fx_send_str(p[1], "never read\n");
	fx_pump();
	/* guest1 is closed with its line unread; the discard meets EINTR,
	 * retries, and takes the line: the peer sees a clean EOF. */
	fault_rules[0].count = 0;
	fault_add(p[0]->srv_fd, FAULT_RECV, EINTR, 0, 1);
	before = fault_injected[FAULT_RECV];
	client_close(fx_client(p[0]), CLOSE_QUIT);
	fx_pump();
	ck_assert_uint_ge(fault_injected[FAULT_RECV] - before, 2);
	ck_assert_int_eq(fx_closed_how(p[0]), 0);
	/* guest2's discard meets EAGAIN (the rule still holds), so its line
	 * stays unread and its peer sees the reset: the discard matters. */
	client_close(fx_client(p[1]), CLOSE_QUIT);
	fx_pump();
	ck_assert_int_eq(fx_closed_how(p[1]), -ECONNRESET);
	fx_expect(p[2], "* guest1 left\n* guest2 left\n");
	ck_assert_uint_eq(hx_srv.stats.lines, 0);
}
END_TEST

/* ---- accept path -------------------------------------------------------- */

/* A real TCP connection to the in-process listener. */
static struct peer *
fx_connect(void)
{
	int fd = tu_connect(net_local_port(hx_srv.listen_fd));

	ck_assert_msg(fd != -1, "%s", tu_error());
	return fx_new_peer(fd, -1);
}

START_TEST(test_accept_transient)
{
	struct peer *p[1], *q;
	uint64_t wb;

	fx_chat(p, 1);
	wb = hx_srv.stats.wouldblock;
	fault_add(hx_srv.listen_fd, FAULT_ACCEPT, ECONNABORTED, 0, 2);
	fault_add(hx_srv.listen_fd, FAULT_ACCEPT, EPROTO, 0, 1);
	fault_add(hx_srv.listen_fd, FAULT_ACCEPT, EINTR, 0, 2);
	fault_add(hx_srv.listen_fd, FAULT_ACCEPT, EAGAIN, 0, 3);
	q = fx_connect();
	fx_expect(q, "* welcome, you are guest2\n");
	fx_expect(p[0], "* guest2 joined\n");
	ck_assert_uint_eq(fault_injected[FAULT_ACCEPT], 8);
	ck_assert_uint_ge(hx_srv.stats.wouldblock - wb, 3);
	ck_assert_uint_eq(hx_srv.stats.accepted, 1);
	ck_assert_uint_eq(hx_srv.stats.rejected, 0);
	/* Transient errors are not worth a log line. */
	ck_assert_uint_eq(fx_log_count("accept"), 0);
	fx_send_str(q, "hi\n");
	fx_expect(p[0], "<guest2> hi\n");
}
END_TEST

static void
fx_accept_exhausted(int err)
{
	struct peer *p[2], *q1, *q2, *q3;

	fx_chat(p, 2);
	ck_assert_int_ne(hx_srv.reserve_fd, -1);
	/* The fd table is "full" twice: the reserve fd is given up, the
	 * waiting connection told and closed, the reserve taken back. */
	fault_add(hx_srv.listen_fd, FAULT_ACCEPT, err, 0, 1);
	q1 = fx_connect();
	fx_expect(q1, CHAT_SERVER_FULL);
	fx_expect_eof(q1);
	fault_add(hx_srv.listen_fd, FAULT_ACCEPT, err, 0, 1);
	q2 = fx_connect();
	fx_expect(q2, CHAT_SERVER_FULL);
	fx_expect_eof(q2);
	ck_assert_uint_eq(hx_srv.stats.rejected, 2);
	ck_assert_uint_eq(hx_srv.stats.accepted, 0);
	ck_assert_int_ne(hx_srv.reserve_fd, -1);
	/* Two refusals within a second: one log line. */
	ck_assert_uint_eq(fx_log_count("refusing connections"), 1);
	/* Nobody else noticed, and the next connection is served. */
	fx_expect_quiet(p[0]);
	fx_send_str(p[0], "after\n");
	fx_expect(p[1], "<guest1> after\n");
	q3 = fx_connect();
	fx_expect(q3, "* welcome, you are guest3\n");
	fx_expect(p[0], "* guest3 joined\n");
	fx_expect(p[1], "* guest3 joined\n");
}

START_TEST(test_accept_emfile)
{
	fx_accept_exhausted(EMFILE);
}
END_TEST

START_TEST(test_accept_enfile)
{
	fx_accept_exhausted(ENFILE);
}
END_TEST

/* No spare fd to refuse with: the listener is left alone for a moment
 * instead of being retried every sweep, then watched again. */
START_TEST(test_accept_pause_without_reserve)
{
	struct peer *p[2], *q;
	unsigned long tried;
	int i;

	fx_chat(p, 2);
	close(hx_srv.reserve_fd);
	hx_srv.reserve_fd = -1;
	fault_add(hx_srv.listen_fd, FAULT_ACCEPT, EMFILE, 0, -1);
	q = fx_connect();
	for (i = 0; i < 1000 && fault_injected[FAULT_ACCEPT] == 0; i++)
		loop_sweep(&hx_srv, 0);
	ck_assert_uint_ge(fault_injected[FAULT_ACCEPT], 1);
	ck_assert_int_gt(hx_srv.accept_resume_ms, 0);
	/* Paused: a hundred busy sweeps do not touch the listener. */
	tried = fault_injected[FAULT_ACCEPT];
	for (i = 0; i < 100; i++)
		loop_sweep(&hx_srv, 0);
	ck_assert_uint_eq(fault_injected[FAULT_ACCEPT], tried);
	/* Everyone else is served meanwhile. */
	fx_send_str(p[0], "still here\n");
	fx_expect(p[1], "<guest1> still here\n");
	/* fds are back: after the pause the waiting connection gets in. */
	fault_rules[fault_nrules - 1].count = 0;
	fx_expect(q, "* welcome, you are guest3\n");
	ck_assert_int_eq(hx_srv.accept_resume_ms, 0);
	ck_assert_int_ne(hx_srv.reserve_fd, -1);
}
END_TEST

/* Some other accept error: logged (rate-limited), nothing else happens. */
START_TEST(test_accept_other_error)
{
	struct peer *p[1], *q;
	int i;

	fx_chat(p, 1);
	fault_add(hx_srv.listen_fd, FAULT_ACCEPT, ENOBUFS, 0, 20);
	q = fx_connect();
	for (i = 0; i < 20; i++)
		loop_sweep(&hx_srv, 0);
	fx_expect(q, "* welcome, you are guest2\n");
	ck_assert_uint_eq(fault_injected[FAULT_ACCEPT], 20);
	ck_assert_uint_le(fx_log_count("accept:"), 1);
	ck_assert_uint_eq(hx_srv.stats.accepted, 1);
}
END_TEST

/* A test case with the fault fixture: every test starts unscripted. */
static TCase *
fx_tcase(Suite *s, const char *name, int timeout)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, timeout);
	suite_add_tcase(s, tc);
	return tc;
}

Suite *
faults_suite(void)
{
	Suite *s = suite_create("faults");
	TCase *tc;

	tc = fx_tcase(s, "read", 30);
	tcase_add_test(tc, test_read_short);
	tcase_add_test(tc, test_read_eagain_eintr);
	tcase_add_test(tc, test_read_reset);
	tcase_add_test(tc, test_read_error_other);

	tc = fx_tcase(s, "write", 30);
	tcase_add_test(tc, test_write_short);
	tcase_add_test(tc, test_write_eagain);
	tcase_add_test(tc, test_write_eintr);
	tcase_add_test(tc, test_flush_epipe);
	tcase_add_test(tc, test_writable_reset);
	tcase_add_test(tc, test_write_stalled);

	tc = fx_tcase(s, "drain", 30);
	tcase_add_test(tc, test_quit_short_writes);
	tcase_add_test(tc, test_quit_epipe);
	tcase_add_test(tc, test_halfclose_eagain);
	tcase_add_test(tc, test_close_discards_unread);

	tc = fx_tcase(s, "chaos", 60);
	tcase_add_test(tc, test_chat_chaos);
	tcase_add_test(tc, test_echo_chaos);
	tcase_add_test(tc, test_echo_recv_reset);

	tc = fx_tcase(s, "accept", 30);
	tcase_add_test(tc, test_accept_transient);
	tcase_add_test(tc, test_accept_emfile);
	tcase_add_test(tc, test_accept_enfile);
	tcase_add_test(tc, test_accept_pause_without_reserve);
	tcase_add_test(tc, test_accept_other_error);
	return s;
}
