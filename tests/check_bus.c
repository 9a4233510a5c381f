/* check_bus.c - the chat room over a real Redis, and --workers. */
#define _GNU_SOURCE
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat.h"
#include "check_suites.h"
#include "testutil.h"

/*
 * Every test starts its own redis-server on 127.0.0.1 (a free port, a
 * temp dir, no persistence), and stops it by PID; the kernel kills it if
 * the test process dies first (PR_SET_PDEATHSIG).  Without redis-server
 * the tests say they are skipped.  Nodes are real pollserv processes.
 */

struct redis {
	pid_t	pid;
	int	port;
	char	dir[64];
};

static struct redis rs;
static struct tu_server node[2];
static bool have_redis;

static int
free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		port = -1;
	else
		port = ntohs(sin.sin_port);
	if (fd != -1)
		close(fd);
	return port;
}

/* Start redis on r->port (0: a free one) and wait until it answers. */
static int
redis_start(struct redis *r)
{
	char port[16], logfile[96];
	char reply[16];
	int64_t deadline = tu_now_ms() + TU_WAIT;
	int fd;

	if (r->port == 0 && (r->port = free_port()) == -1)
		return tu_fail("no free port for redis");
	if (r->dir[0] == '\0') {
		snprintf(r->dir, sizeof(r->dir), "/tmp/pollserv-redis-XXXXXX");
		if (mkdtemp(r->dir) == NULL)
			return tu_fail("mkdtemp: %s", strerror(errno));
	}
	snprintf(port, sizeof(port), "%d", r->port);
	snprintf(logfile, sizeof(logfile), "%s/redis.log", r->dir);
	if ((r->pid = fork()) == -1)
		return tu_fail("fork: %s", strerror(errno));
	if (r->pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		execlp("redis-server", "redis-server", "--port", port, "--bind",
		    "127.0.0.1", "--save", "", "--appendonly", "no", "--dir",
		    r->dir, "--logfile", logfile, "--daemonize", "no",
		    (char *)NULL);
		_exit(127);
	}
	while (tu_left_ms(deadline) > 0) {
		if ((fd = tu_connect(r->port)) != -1) {
			if (tu_send_str(fd, "PING\r\n") == 0 &&
			    tu_read_line(fd, reply, sizeof(reply), 1000) > 0 &&
			    strcmp(reply, "+PONG\r\n") == 0) {
				close(fd);
				return 0;
			}
			close(fd);
		}
		usleep(20000);
	}
	return tu_fail("redis-server on port %d did not answer", r->port);
}

static void
redis_stop(struct redis *r, int sig)
{
	if (r->pid > 0) {
		kill(r->pid, SIGCONT);
		kill(r->pid, sig);
		waitpid(r->pid, NULL, 0);
	}
	r->pid = 0;
}

static void
bus_setup(void)
{
	memset(&rs, 0, sizeof(rs));
	memset(node, 0, sizeof(node));
	have_redis = system("command -v redis-server >/dev/null 2>&1") == 0;
	if (!have_redis)
		return;
	ck_assert_msg(redis_start(&rs) == 0, "%s", tu_error());
}

static void
bus_teardown(void)
{
	char cmd[128];

	if (getenv("BUS_DEBUG") != NULL)
		fprintf(stderr, "node 0:\n%s\nnode 1:\n%s\n",
		    node[0].pid ? tu_server_log(&node[0]) : "",
		    node[1].pid ? tu_server_log(&node[1]) : "");
	tu_server_free(&node[0]);
	tu_server_free(&node[1]);
	redis_stop(&rs, SIGKILL);
	if (rs.dir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rs.dir);
		(void)!system(cmd);
	}
}

#define SKIP_WITHOUT_REDIS() do {					\
	if (!have_redis) {						\
		fprintf(stderr, "bus: no redis-server, %s skipped\n",	\
		    __func__);						\
		return;							\
	}								\
} while (0)

/* Start node i on the test's Redis, plus extra options, and wait until
 * it is on the bus (so its first client gets a cluster-wide name). */
static void
node_start(int i, const char *const extra[])
{
	char url[64], ttl[] = "2000";
	const char *args[16];
	int n = 0, k;

	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/test", rs.port);
	args[n++] = "--io";
	args[n++] = i == 0 ? "epoll" : "poll";
	args[n++] = "--bus";
	args[n++] = url;
	args[n++] = "--bus-ttl";
	args[n++] = ttl;
	if (getenv("BUS_DEBUG") != NULL)
		args[n++] = "-v";
	for (k = 0; extra != NULL && extra[k] != NULL && n < 14; k++)
		args[n++] = extra[k];
	args[n] = NULL;
	TU_OK(tu_server_start(&node[i], POLLSERV_BIN, args));
	TU_OK(tu_server_wait_log(&node[i], "bus: connected", TU_WAIT));
}

/* Both nodes up, and each has heard of the other (its "S" was answered
 * or seen), so rosters are complete. */
static void
nodes_start(void)
{
	node_start(0, NULL);
	node_start(1, NULL);
	TU_OK(tu_server_wait_log(&node[0], "is in the room", TU_WAIT));
	TU_OK(tu_server_wait_log(&node[1], "is in the room", TU_WAIT));
}

static int
chat_connect(int i, const char *want_nick)
{
	char nick[TU_NICK_LEN];
	int fd = tu_chat_connect(node[i].port, nick, sizeof(nick));

	ck_assert_msg(fd != -1, "%s", tu_error());
	if (want_nick != NULL)
		ck_assert_str_eq(nick, want_nick);
	return fd;
}

/* ---- the protocol across nodes ------------------------------------------- */

/* A /who reply: head (the count and the local users, in order) then the
 * remote users, sorted, must be remote ("a b c", sorted). */
static void
expect_who(int fd, const char *head, const char *remote)
{
	char line[512], *words[16], *p, sorted[512] = "";
	int n = 0, i, j;

	ck_assert_msg(tu_read_line(fd, line, sizeof(line), TU_WAIT) > 0, "%s",
	    tu_error());
	ck_assert_msg(strncmp(line, head, strlen(head)) == 0 &&
	    line[strlen(head)] == ' ', "want %s..., got %s", head, line);
	line[strcspn(line, "\n")] = '\0';
	for (p = strtok(line + strlen(head), " "); p != NULL && n < 16;
	    p = strtok(NULL, " "))
		words[n++] = p;
	for (i = 0; i < n; i++)		/* a few words: insertion sort */
		for (j = i; j > 0 && strcmp(words[j - 1], words[j]) > 0; j--) {
			p = words[j];
			words[j] = words[j - 1];
			words[j - 1] = p;
		}
	for (i = 0; i < n; i++)
		snprintf(sorted + strlen(sorted), sizeof(sorted) -
		    strlen(sorted), "%s%s", i ? " " : "", words[i]);
	ck_assert_str_eq(sorted, remote);
}

/* guest1 and guest3 on node 0 (a, a2), guest2 on node 1 (b), each told
 * of those who came after it. */
static void
three_clients(int *a, int *a2, int *b)
{
	*a = chat_connect(0, "guest1");
	*b = chat_connect(1, "guest2");
	TU_EXPECT_LINE(*a, "* guest2 joined\n");
	*a2 = chat_connect(0, "guest3");
	TU_EXPECT_LINE(*a, "* guest3 joined\n");
	TU_EXPECT_LINE(*b, "* guest3 joined\n");
}

/* Welcome, join, relay, rename, who, leave: byte for byte what one node
 * sends, for peers on the other node. */
START_TEST(test_bus_protocol_across_nodes)
{
	int a, a2, b;

	SKIP_WITHOUT_REDIS();
	nodes_start();
	three_clients(&a, &a2, &b);

	TU_SEND(b, "hello from two\n");
	TU_EXPECT_LINE(a, "<guest2> hello from two\n");
	TU_EXPECT_LINE(a2, "<guest2> hello from two\n");
	TU_SEND(a, "and back\n");
	TU_EXPECT_LINE(b, "<guest1> and back\n");
	TU_EXPECT_LINE(a2, "<guest1> and back\n");
	TU_EXPECT_SILENCE(a);

	TU_SEND(a, "/nick alice\n");
	TU_EXPECT_LINE(a, "* guest1 is now alice\n");
	TU_EXPECT_LINE(a2, "* guest1 is now alice\n");
	TU_EXPECT_LINE(b, "* guest1 is now alice\n");
	/* This node's users in order, then the other node's (any order). */
	TU_SEND(b, "/who\n");
	expect_who(b, "* users (3): guest2", "alice guest3");
	TU_SEND(a, "/who\n");
	TU_EXPECT_LINE(a, "* users (3): alice guest3 guest2\n");

	TU_SEND(b, "/quit\n");
	TU_EXPECT_LINE(b, CHAT_BYE);
	TU_EXPECT_EOF(b);
	TU_EXPECT_LINE(a, "* guest2 left\n");
	TU_EXPECT_LINE(a2, "* guest2 left\n");
	close(a2);
	TU_EXPECT_LINE(a, "* guest3 left\n");
	TU_SEND(a, "/who\n");
	TU_EXPECT_LINE(a, "* users (1): alice\n");
	close(a);
	/* Stats carry the bus counters. */
	kill(node[0].pid, SIGUSR1);
	TU_OK(tu_server_wait_log(&node[0], "bus_published=", TU_WAIT));
	ck_assert(strstr(tu_server_log(&node[0]), "bus_received=0 ") == NULL);
}
END_TEST

/* After "/nick X" and "/who" from fd: read until the rename and the /who
 * reply were both seen; the rename goes to rename.  1 if fd was told the
 * nick was taken, 0 if not, -1 on a stray line. */
static int
race_outcome(int fd, char *rename, size_t len)
{
	char line[128];
	bool renamed = false, listed = false;
	int taken = 0;

	rename[0] = '\0';
	while (!renamed || !listed) {
		ck_assert_msg(tu_read_line(fd, line, sizeof(line), TU_WAIT) > 0,
		    "%s", tu_error());
		if (strcmp(line, CHAT_NICK_TAKEN) == 0)
			taken++;
		else if (strncmp(line, "* users (", 9) == 0)
			listed = true;
		else if (strstr(line, " is now ") != NULL && !renamed) {
			snprintf(rename, len, "%s", line);
			renamed = true;
		} else
			ck_abort_msg("stray line %s", line);
	}
	return taken;
}

/* Nicks are unique across nodes and case-blind, also when both nodes
 * claim one in the same instant: exactly one wins each time. */
START_TEST(test_bus_nick_unique)
{
	char line[128], want[64];
	int a, b, k;

	SKIP_WITHOUT_REDIS();
	nodes_start();
	a = chat_connect(0, NULL);
	b = chat_connect(1, NULL);
	TU_OK(tu_read_line(a, line, sizeof(line), TU_WAIT) > 0 ? 0 : -1);
	TU_SEND(a, "/nick Dave\n");
	TU_OK(tu_read_line(a, line, sizeof(line), TU_WAIT) > 0 ? 0 : -1);
	ck_assert_msg(strstr(line, " is now Dave\n") != NULL, "%s", line);
	TU_OK(tu_read_line(b, line, sizeof(line), TU_WAIT) > 0 ? 0 : -1);
	TU_SEND(b, "/nick dave\n");
	TU_EXPECT_LINE(b, CHAT_NICK_TAKEN);
	/* A guest name belongs to the server: nobody can take another's. */
	TU_SEND(b, "/nick guest1\n");
	TU_EXPECT_LINE(b, CHAT_NICK_TAKEN);

	for (k = 0; k < 10; k++) {
		char ra[128], rb[128];
		int taken_a, taken_b;

		snprintf(want, sizeof(want), "/nick Race%d\n/who\n", k);
		TU_SEND(a, want);
		snprintf(want, sizeof(want), "/nick race%d\n/who\n", k);
		TU_SEND(b, want);
		/* Each sees the winner's rename; the loser its "taken" too. */
		taken_a = race_outcome(a, ra, sizeof(ra));
		taken_b = race_outcome(b, rb, sizeof(rb));
		ck_assert_msg(taken_a + taken_b == 1, "round %d: %s / %s", k,
		    ra, rb);
		ck_assert_str_eq(ra, rb);	/* the same rename, once */
		ck_assert(strcasestr(ra, " is now race") != NULL);
	}
	TU_EXPECT_SILENCE(a);
	TU_EXPECT_SILENCE(b);
	close(a);
	close(b);
}
END_TEST

/* A node killed with SIGKILL says nothing; within the TTL the other
 * node's clients are told its users left, and their nicks are free. */
START_TEST(test_bus_node_killed)
{
	int a, b;
	int64_t t0;

	SKIP_WITHOUT_REDIS();
	nodes_start();
	a = chat_connect(0, "guest1");
	b = chat_connect(1, "guest2");
	TU_EXPECT_LINE(a, "* guest2 joined\n");
	TU_SEND(b, "/nick zed\n");
	TU_EXPECT_LINE(b, "* guest2 is now zed\n");
	TU_EXPECT_LINE(a, "* guest2 is now zed\n");
	kill(node[1].pid, SIGKILL);
	t0 = tu_now_ms();
	/* TTL 2 s, checked once a second. */
	ck_assert_msg(tu_expect_line(a, "* zed left\n", 4000) == 0, "%s",
	    tu_error());
	ck_assert_int_lt(tu_now_ms() - t0, 4000);
	TU_SEND(a, "/who\n");
	TU_EXPECT_LINE(a, "* users (1): guest1\n");
	TU_SEND(a, "/nick zed\n");
	TU_EXPECT_LINE(a, "* guest1 is now zed\n");
	close(a);
	close(b);
}
END_TEST

/* Redis killed mid-chat, then restarted on its port: local chat goes on,
 * "* bus lost" and "* bus restored" come once each, lines cross again and
 * nicks are held again. */
START_TEST(test_bus_redis_restart)
{
	int a, a2, b, b2;
	char line[128];
	int64_t deadline;

	SKIP_WITHOUT_REDIS();
	nodes_start();
	three_clients(&a, &a2, &b);
	TU_SEND(a, "/nick alice\n");
	TU_EXPECT_LINE(a, "* guest1 is now alice\n");
	TU_EXPECT_LINE(a2, "* guest1 is now alice\n");
	TU_EXPECT_LINE(b, "* guest1 is now alice\n");

	redis_stop(&rs, SIGKILL);
	TU_EXPECT_LINE(a, CHAT_BUS_LOST);
	TU_EXPECT_LINE(a2, CHAT_BUS_LOST);
	TU_EXPECT_LINE(b, CHAT_BUS_LOST);
	TU_SEND(a, "still here\n");
	TU_EXPECT_LINE(a2, "<alice> still here\n");
	TU_EXPECT_SILENCE(b);		/* nothing crosses, nothing repeats */
	TU_EXPECT_SILENCE(a);

	TU_OK(redis_start(&rs));	/* the same port */
	TU_EXPECT_LINE(a, CHAT_BUS_RESTORED);
	TU_EXPECT_LINE(a2, CHAT_BUS_RESTORED);
	TU_EXPECT_LINE(b, CHAT_BUS_RESTORED);
	/* The other node may not have subscribed again yet: say it until it
	 * arrives. */
	deadline = tu_now_ms() + TU_WAIT;
	for (;;) {
		ssize_t n;

		TU_SEND(b, "across again\n");
		n = tu_read_line(a, line, sizeof(line), 300);
		if (n > 0) {
			ck_assert_str_eq(line, "<guest2> across again\n");
			break;
		}
		ck_assert_msg(tu_left_ms(deadline) > 0, "no line crossed");
	}
	/* alice was claimed again: nobody on the other node may take it. */
	b2 = chat_connect(1, NULL);
	TU_SEND(b2, "/nick Alice\n");
	TU_EXPECT_LINE(b2, CHAT_NICK_TAKEN);
	ck_assert_int_eq(tu_server_log_count(&node[0], "bus: lost"), 1);
	close(a);
	close(a2);
	close(b);
	close(b2);
	/* A clean exit (the ASan build would fail it on a leak). */
	ck_assert_int_eq(tu_server_stop(&node[0], SIGTERM, TU_WAIT), 0);
	ck_assert_int_eq(tu_server_stop(&node[1], SIGTERM, TU_WAIT), 0);
}
END_TEST

/* Redis stopped (SIGSTOP): the node's output to it stops at the cap, its
 * memory stays bounded, local chat goes on; after SIGCONT lines cross
 * again. */
START_TEST(test_bus_redis_stalled)
{
	static char chunk[64 * 1024], sink[64 * 1024];
	const char *const extra[] = { "--bus-max-outbuf", "64k", NULL };
	size_t sent = 0, got = 0, total = 25000000, off, i;
	char line[256];
	long before, after;
	int a, a2, b;
	int64_t deadline;

	SKIP_WITHOUT_REDIS();
	node_start(0, extra);
	node_start(1, NULL);
	TU_OK(tu_server_wait_log(&node[1], "is in the room", TU_WAIT));
	three_clients(&a, &a2, &b);
	before = tu_rss_kb(node[0].pid);
	kill(rs.pid, SIGSTOP);

	/* 25 MB of 1000-byte lines from a, read by a2 as they come. */
	for (i = 0; i < sizeof(chunk); i++)
		chunk[i] = (i + 1) % 1000 == 0 ? '\n' : 'x';
	TU_OK(tu_set_nonblocking(a, true));
	deadline = tu_now_ms() + 20000;
	while ((sent < total || got < total / 1000 * 1009) &&
	    tu_left_ms(deadline) > 0) {
		ssize_t n;

		off = sent % 64000;	/* the pattern repeats every 1000 */
		if (sent < total && (n = send(a, chunk + off, 64000 - off <
		    total - sent ? 64000 - off : total - sent,
		    MSG_DONTWAIT)) > 0)
			sent += (size_t)n;
		while ((n = recv(a2, sink, sizeof(sink), MSG_DONTWAIT)) > 0)
			got += (size_t)n;
		if (n == 0)
			break;
		usleep(200);
	}
	/* Every line reached the local reader ("<guest1> " + 999 + LF). */
	ck_assert_msg(got == total / 1000 * 1009, "local reader got %zu of %zu",
	    got, total / 1000 * 1009);
	after = tu_rss_kb(node[0].pid);
#ifdef __SANITIZE_ADDRESS__
	/* ASan keeps freed blocks in quarantine: RSS says nothing here. */
	fprintf(stderr, "bus: RSS bound not checked under ASan (%ld -> %ld "
	    "kB)\n", before, after);
#else
	ck_assert_msg(after - before < 8 * 1024, "RSS grew from %ld to %ld kB",
	    before, after);
#endif
	TU_OK(tu_server_wait_log(&node[0], "(the cap)", TU_WAIT));
	ck_assert_int_eq(tu_server_log_count(&node[0], "(the cap)"), 1);

	kill(rs.pid, SIGCONT);
	TU_OK(tu_set_nonblocking(a, false));
	/* b drains the backlog Redis got before the cap, then a fresh line
	 * crosses. */
	deadline = tu_now_ms() + 10000;
	for (;;) {
		ssize_t n;

		TU_SEND(a, "after the stall\n");
		while ((n = tu_read_line(b, line, sizeof(line), 200)) > 0 &&
		    strcmp(line, "<guest1> after the stall\n") != 0)
			;
		if (n > 0)
			break;
		ck_assert_msg(tu_left_ms(deadline) > 0, "no line crossed");
	}
	kill(node[0].pid, SIGUSR1);
	TU_OK(tu_server_wait_log(&node[0], "stats event=signal", TU_WAIT));
	ck_assert(strstr(tu_server_log(&node[0]), " bus_dropped=0 ") == NULL);
	close(a);
	close(a2);
	close(b);
}
END_TEST

/* ---- --workers ------------------------------------------------------------- */

/* The pids of a process's children, from /proc. */
static int
children(pid_t pid, pid_t *out, int max)
{
	char path[96];
	int n = 0, child;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
	    (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (n < max && fscanf(f, "%d", &child) == 1)
		out[n++] = child;
	fclose(f);
	return n;
}

static void
echo_check(int port, int nconn)
{
	char buf[32], want[32];
	int k, fd;

	for (k = 0; k < nconn; k++) {
		fd = tu_connect(port);
		ck_assert_msg(fd != -1, "connect %d", k);
		snprintf(want, sizeof(want), "ping %d\n", k);
		TU_SEND(fd, want);
		TU_OK(tu_read_exact(fd, buf, strlen(want), TU_WAIT));
		ck_assert(memcmp(buf, want, strlen(want)) == 0);
		close(fd);
	}
}

/* Echo on two workers: connections land on both, a worker killed with
 * SIGKILL is restarted, SIGTERM stops all and the parent exits 0. */
START_TEST(test_workers_echo)
{
	const char *const args[] = { "--mode", "echo", "--workers", "2", NULL };
	struct tu_server s;
	pid_t kids[4];
	int64_t deadline;

	TU_OK(tu_server_start(&s, POLLSERV_BIN, args));
	echo_check(s.port, 32);
	kill(s.pid, SIGUSR1);
	TU_OK(tu_server_wait_log(&s, " worker=1 ", TU_WAIT));
	TU_OK(tu_server_wait_log(&s, " worker=2 ", TU_WAIT));
	/* Both took connections: neither stats line says accepted=0. */
	ck_assert_msg(strstr(tu_server_log(&s), "accepted=0 ") == NULL, "%s",
	    tu_server_log(&s));

	ck_assert_int_eq(children(s.pid, kids, 4), 2);
	kill(kids[0], SIGKILL);
	TU_OK(tu_server_wait_log(&s, "was killed by signal 9", TU_WAIT));
	TU_OK(tu_server_wait_log(&s, "restarted (pid", TU_WAIT));
	deadline = tu_now_ms() + TU_WAIT;
	while (children(s.pid, kids, 4) != 2 && tu_left_ms(deadline) > 0)
		usleep(10000);
	ck_assert_int_eq(children(s.pid, kids, 4), 2);
	echo_check(s.port, 32);
	ck_assert_int_eq(tu_server_stop(&s, SIGTERM, TU_WAIT), 0);
	tu_server_free(&s);
}
END_TEST

/* Chat on several workers without a bus would be several rooms: refused. */
START_TEST(test_workers_chat_needs_bus)
{
	const char *const args[] = { "--workers", "2", NULL };
	const char *const bad[] = { "--bus", "http://x:1", NULL };
	char *err = NULL;

	ck_assert_int_eq(tu_run(POLLSERV_BIN, args, NULL, &err, TU_WAIT), 2);
	ck_assert_msg(strstr(err, "needs --bus") != NULL, "%s", err);
	free(err);
	err = NULL;
	ck_assert_int_eq(tu_run(POLLSERV_BIN, bad, NULL, &err, TU_WAIT), 2);
	ck_assert_msg(strstr(err, "redis://HOST:PORT") != NULL, "%s", err);
	free(err);
}
END_TEST

/* Two chat workers on one bus are one room. */
START_TEST(test_workers_chat_on_bus)
{
	char url[64], nick[TU_NICK_LEN], line[128];
	const char *args[8];
	struct tu_server s;
	int fds[6], k, n = 0;

	SKIP_WITHOUT_REDIS();
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/w", rs.port);
	args[n++] = "--workers";
	args[n++] = "2";
	args[n++] = "--bus";
	args[n++] = url;
	args[n] = NULL;
	TU_OK(tu_server_start(&s, POLLSERV_BIN, args));
	TU_OK(tu_server_wait_log(&s, "is in the room", TU_WAIT));
	for (k = 0; k < 6; k++) {
		fds[k] = tu_chat_connect(s.port, nick, sizeof(nick));
		ck_assert_msg(fds[k] != -1, "%s", tu_error());
		if (k > 0)
			TU_OK(tu_expect_all(fds, k, -1, (snprintf(line,
			    sizeof(line), "* %s joined\n", nick), line),
			    TU_WAIT));
	}
	TU_SEND(fds[5], "one room\n");
	snprintf(line, sizeof(line), "<%s> one room\n", nick);
	TU_OK(tu_expect_all(fds, 5, -1, line, TU_WAIT));
	tu_close_all(fds, 6);
	ck_assert_int_eq(tu_server_stop(&s, SIGTERM, TU_WAIT), 0);
	tu_server_free(&s);
}
END_TEST

Suite *
bus_suite(void)
{
	Suite *s = suite_create("bus");
	TCase *tc = tcase_create("redis");
	TCase *wk = tcase_create("workers");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, bus_setup, bus_teardown);
	tcase_add_test(tc, test_bus_protocol_across_nodes);
	tcase_add_test(tc, test_bus_nick_unique);
	tcase_add_test(tc, test_bus_node_killed);
	tcase_add_test(tc, test_bus_redis_restart);
	tcase_add_test(tc, test_bus_redis_stalled);
	tcase_add_test(tc, test_workers_chat_on_bus);
	suite_add_tcase(s, tc);
	tcase_set_timeout(wk, 60);
	tcase_add_test(wk, test_workers_echo);
	tcase_add_test(wk, test_workers_chat_needs_bus);
	suite_add_tcase(s, wk);
	return s;
}
