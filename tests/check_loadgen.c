/* check_loadgen.c - bench/loadgen end to end: against pollserv, and a liar. */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <poll.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lg_run.h"
#include "testutil.h"

#define LG_RUN_MS	30000	/* a 2 s run, with set-up and drain */

/* ---- running the loadgen and reading its JSON --------------------------- */

struct lg_test_run {
	int	code;
	char	json[4096];
	char   *out;
	char   *err;
};

/* Create an empty temp file from the template path, for --json. */
static void
lg_test_tmpfile(char *path)
{
	int fd;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
}

/* Read the --json file at path into r->json and remove it; false if it
 * cannot be opened. */
static bool
lg_test_read_json(struct lg_test_run *r, const char *path)
{
	FILE *fp;
	size_t len;

	fp = fopen(path, "r");
	unlink(path);
	if (fp == NULL)
		return false;
	len = fread(r->json, 1, sizeof(r->json) - 1, fp);
	r->json[len] = '\0';
	fclose(fp);
	return true;
}

/* Run the loadgen with args (NULL-terminated, --json is added). */
static void
lg_test_run(struct lg_test_run *r, const char *const *args)
{
	const char *argv[40];
	char path[] = "/tmp/lg-test-XXXXXX";
	size_t n = 0;

	memset(r, 0, sizeof(*r));
	lg_test_tmpfile(path);
	while (args[n] != NULL && n < 36) {
		argv[n] = args[n];
		n++;
	}
	argv[n++] = "--json";
	argv[n++] = path;
	argv[n++] = "-q";
	argv[n] = NULL;
	r->code = tu_run(LOADGEN_BIN, argv, &r->out, &r->err, LG_RUN_MS);
	/* No file: every lookup in r->json then fails with the output. */
	(void)lg_test_read_json(r, path);
}

static void
lg_test_free(struct lg_test_run *r)
{
	free(r->out);
	free(r->err);
}

/* The raw value of "key" in the flat JSON object, as text. */
static const char *
lg_test_value(const struct lg_test_run *r, const char *key)
{
	static char val[64];
	char pat[80];
	const char *p;
	size_t n;

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	p = strstr(r->json, pat);
	ck_assert_msg(p != NULL, "no \"%s\" in JSON: %s\nstdout: %s\n"
	    "stderr: %s", key, r->json, r->out ? r->out : "",
	    r->err ? r->err : "");
	p += strlen(pat);
	n = strcspn(p, ",}");
	if (n >= sizeof(val))
		n = sizeof(val) - 1;
	memcpy(val, p, n);
	val[n] = '\0';
	return val;
}

static double
lg_test_num(const struct lg_test_run *r, const char *key)
{
	const char *v = lg_test_value(r, key);

	ck_assert_msg(strcmp(v, "null") != 0, "%s is null", key);
	return strtod(v, NULL);
}

#define LG_EXPECT_CLEAN(r) do {						\
	ck_assert_msg((r)->code == 0, "loadgen exit %d\nstdout: %s\n"	\
	    "stderr: %s", (r)->code, (r)->out ? (r)->out : "",		\
	    (r)->err ? (r)->err : "");					\
	ck_assert_str_eq(lg_test_value((r), "ok"), "true");		\
	ck_assert_double_eq(lg_test_num((r), "lost"), 0);		\
	ck_assert_double_eq(lg_test_num((r), "duplicated"), 0);		\
	ck_assert_double_eq(lg_test_num((r), "corrupted"), 0);		\
	ck_assert_double_eq(lg_test_num((r), "reordered"), 0);		\
	ck_assert_double_eq(lg_test_num((r), "closed_by_server"), 0);	\
	ck_assert_double_eq(lg_test_num((r), "connections_failed"), 0);	\
} while (0)

/* ---- against the real pollserv ------------------------------------------ */

/* Start pollserv in mode; addr gets "127.0.0.1:PORT", pid its PID. */
static void
lg_test_server(struct tu_server *s, const char *mode, char *addr,
    size_t addrlen, char *pid, size_t pidlen)
{
	const char *args[] = { "--mode", mode, NULL };

	memset(s, 0, sizeof(*s));
	ck_assert_msg(tu_server_start(s, POLLSERV_BIN, args) == 0, "%s",
	    tu_error());
	snprintf(addr, addrlen, "127.0.0.1:%d", s->port);
	snprintf(pid, pidlen, "%ld", (long)s->pid);
}

/* Two servers in mode, as above. */
struct lg_test_pair {
	struct tu_server s[2];
	char		 addr[2][64];
	char		 pid[2][32];
};

static void
lg_test_pair_start(struct lg_test_pair *p, const char *mode)
{
	int i;

	for (i = 0; i < 2; i++)
		lg_test_server(&p->s[i], mode, p->addr[i], sizeof(p->addr[i]),
		    p->pid[i], sizeof(p->pid[i]));
}

static void
lg_test_server_stop(struct tu_server *s)
{
	ck_assert_int_eq(tu_server_stop(s, SIGTERM, 5000), 0);
	tu_server_free(s);
}

START_TEST(test_echo_closed_loop)
{
	struct tu_server s;
	struct lg_test_run r;
	char addr[64], pid[32];

	lg_test_server(&s, "echo", addr, sizeof(addr), pid, sizeof(pid));
	{
		const char *args[] = { "--addr", addr, "-c", "20", "-d", "2",
		    "--pipeline", "4", "--warmup", "0.2", "--pid", pid, NULL };

		lg_test_run(&r, args);
	}
	lg_test_server_stop(&s);
	LG_EXPECT_CLEAN(&r);
	ck_assert_str_eq(lg_test_value(&r, "mode"), "\"echo\"");
	ck_assert_double_eq(lg_test_num(&r, "connections_ok"), 20);
	ck_assert_double_gt(lg_test_num(&r, "received"), 1000);
	ck_assert_double_eq(lg_test_num(&r, "sent"),
	    lg_test_num(&r, "received"));
	ck_assert_double_gt(lg_test_num(&r, "lat_p50_us"), 0);
	ck_assert_double_le(lg_test_num(&r, "lat_p50_us"),
	    lg_test_num(&r, "lat_p99_us"));
	ck_assert_double_le(lg_test_num(&r, "lat_p99_us"),
	    lg_test_num(&r, "lat_max_us"));
	/* --pid was given: the server's CPU is a number. */
	ck_assert_double_ge(lg_test_num(&r, "server_cpu_pct"), 0);
	ck_assert_ptr_nonnull(strstr(r.out, "result       OK"));
	lg_test_free(&r);
}
END_TEST

START_TEST(test_echo_open_loop)
{
	struct tu_server s;
	struct lg_test_run r;
	char addr[64], pid[32];
	double sent;

	lg_test_server(&s, "echo", addr, sizeof(addr), pid, sizeof(pid));
	{
		const char *args[] = { "--addr", addr, "-c", "50", "-r", "100",
		    "-d", "2", "--size", "200", NULL };

		lg_test_run(&r, args);
	}
	lg_test_server_stop(&s);
	LG_EXPECT_CLEAN(&r);
	/* 50 connections x 100/s x 2 s, on schedule. */
	sent = lg_test_num(&r, "sent");
	ck_assert_msg(sent >= 9900 && sent <= 10100, "sent %g", sent);
	ck_assert_double_eq(lg_test_num(&r, "received"), sent);
	ck_assert_str_eq(lg_test_value(&r, "server_cpu_pct"), "null");
	lg_test_free(&r);
}
END_TEST

START_TEST(test_chat)
{
	struct tu_server s;
	struct lg_test_run r;
	char addr[64], pid[32];
	double sent;

	lg_test_server(&s, "chat", addr, sizeof(addr), pid, sizeof(pid));
	{
		const char *args[] = { "--mode", "chat", "--addr", addr, "-c",
		    "10", "-r", "20", "-d", "2", "--warmup", "0.5", "--pid",
		    pid, NULL };

		lg_test_run(&r, args);
	}
	lg_test_server_stop(&s);
	LG_EXPECT_CLEAN(&r);
	/* 10 clients x 20 lines/s x 2 s, each delivered to 9 others. */
	sent = lg_test_num(&r, "sent");
	ck_assert_msg(sent >= 395 && sent <= 405, "sent %g", sent);
	ck_assert_double_eq(lg_test_num(&r, "received"), sent * 9);
	ck_assert_double_gt(lg_test_num(&r, "lat_p50_us"), 0);
	lg_test_free(&r);
}
END_TEST

START_TEST(test_idle)
{
	struct tu_server s;
	struct lg_test_run r;
	char addr[64], pid[32];

	lg_test_server(&s, "chat", addr, sizeof(addr), pid, sizeof(pid));
	{
		const char *args[] = { "--mode", "idle", "--addr", addr, "-c",
		    "50", "-d", "1", "--pid", pid, NULL };

		lg_test_run(&r, args);
	}
	lg_test_server_stop(&s);
	LG_EXPECT_CLEAN(&r);
	ck_assert_double_eq(lg_test_num(&r, "connections_ok"), 50);
	ck_assert_double_eq(lg_test_num(&r, "sent"), 0);
	lg_test_free(&r);
}
END_TEST

/* ---- bad input ---------------------------------------------------------- */

/* A TCP socket bound to a free port on 127.0.0.1, listening if backlog > 0;
 * addr gets "127.0.0.1:PORT". */
static int
lg_test_bind(char *addr, size_t addrlen, int backlog)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	if (backlog > 0)
		ck_assert_int_eq(listen(fd, backlog), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	snprintf(addr, addrlen, "127.0.0.1:%d", ntohs(sin.sin_port));
	return fd;
}

START_TEST(test_refused)
{
	struct lg_test_run r;
	char addr[64];

	/* A port that was free a moment ago and has no listener now. */
	close(lg_test_bind(addr, sizeof(addr), 0));
	{
		const char *args[] = { "--addr", addr, "-c", "3", "-d", "1",
		    NULL };

		lg_test_run(&r, args);
	}
	ck_assert_int_eq(r.code, 1);
	ck_assert_msg(strstr(r.err, "Connection refused") != NULL, "%s",
	    r.err);
	/* One line. */
	ck_assert_ptr_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1);
	lg_test_free(&r);
}
END_TEST

START_TEST(test_bad_options)
{
	static const char *const bad[][4] = {
		{ "--mode", "bogus", NULL },
		{ "--addr", "10.1.2.3:4001", NULL },
		{ "--addr", "[2001:db8::1]:4001", NULL },
		{ "-c", "0", NULL },
		{ "--size", "10", NULL },
		{ "--mode", "chat", "-c", "1" },
		{ "--rate", "-5", NULL },
		{ "--bogus", NULL },
		{ "extra", NULL },
	};
	struct lg_test_run r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *args[6] = { NULL };

		memcpy(args, bad[i], sizeof(bad[i]));
		lg_test_run(&r, args);
		ck_assert_msg(r.code == 2, "case %zu: exit %d", i, r.code);
		ck_assert_msg(strncmp(r.err, "loadgen: ", 9) == 0 &&
		    strstr(r.err, "usage: loadgen") != NULL, "case %zu: %s", i,
		    r.err);
		lg_test_free(&r);
	}
	ck_assert(lg_is_loopback("127.0.0.1"));
	ck_assert(lg_is_loopback("127.45.0.9"));
	ck_assert(lg_is_loopback("::1"));
	ck_assert(lg_is_loopback("localhost"));
	ck_assert(!lg_is_loopback("128.0.0.1"));
	ck_assert(!lg_is_loopback("0.0.0.0"));
	ck_assert(!lg_is_loopback("example.com"));
}
END_TEST

START_TEST(test_help)
{
	static const char *const want[] = {
		"--mode", "--addr", "--connections", "--duration", "--warmup",
		"--rate", "--pipeline", "--size", "--connect-rate", "--drain",
		"--pid", "--json", "--quiet", "--help", "echo", "chat", "idle",
		"--ready", "schedstat", "children", "others_cpu_pct",
		"evenly spaced", "staggered", "scheduled", "Exit status", NULL
	};
	const char *args[] = { "--help", NULL };
	char *out = NULL;
	int i;

	ck_assert_int_eq(tu_run(LOADGEN_BIN, args, &out, NULL, 5000), 0);
	for (i = 0; want[i] != NULL; i++)
		ck_assert_msg(strstr(out, want[i]) != NULL, "--help lacks %s",
		    want[i]);
	free(out);
}
END_TEST

/* ---- several addresses -------------------------------------------------- */

/* Stop a server and check its final stats line counted n connections. */
static void
lg_test_server_stop_accepted(struct tu_server *s, int n)
{
	char want[64];
	const char *log;

	ck_assert_int_eq(tu_server_stop(s, SIGTERM, 5000), 0);
	log = tu_server_log(s);
	snprintf(want, sizeof(want), " accepted=%d ", n);
	ck_assert_msg(strstr(log, "event=final") != NULL &&
	    strstr(strstr(log, "event=final"), want) != NULL,
	    "want%s in: %s", want, log);
	tu_server_free(s);
}

START_TEST(test_echo_two_addrs)
{
	struct lg_test_pair p;
	struct lg_test_run r;

	lg_test_pair_start(&p, "echo");
	{
		const char *args[] = { "--addr", p.addr[0], "--addr",
		    p.addr[1], "-c", "10", "-d", "1", "--pid", p.pid[0],
		    "--pid", p.pid[1], NULL };

		lg_test_run(&r, args);
	}
	/* Connection i went to address i mod 2: five each. */
	lg_test_server_stop_accepted(&p.s[0], 5);
	lg_test_server_stop_accepted(&p.s[1], 5);
	LG_EXPECT_CLEAN(&r);
	ck_assert_double_eq(lg_test_num(&r, "addresses"), 2);
	/* Both --pid trees are accounted, summed. */
	ck_assert_double_eq(lg_test_num(&r, "server_procs"), 2);
	ck_assert_double_gt(lg_test_num(&r, "server_rss_kb"), 0);
	ck_assert_ptr_nonnull(strstr(r.out, p.addr[0]));
	ck_assert_ptr_nonnull(strstr(r.out, p.addr[1]));
	lg_test_free(&r);
}
END_TEST

/* Two chat servers that do not share a room: every client still expects
 * every other client's lines, so the ones from the other server are
 * missing, and the run says so. */
START_TEST(test_chat_two_rooms_lose)
{
	struct lg_test_pair p;
	struct lg_test_run r;

	lg_test_pair_start(&p, "chat");
	{
		const char *args[] = { "--mode", "chat", "--addr", p.addr[0],
		    "--addr", p.addr[1], "-c", "4", "-r", "20", "-d", "1",
		    "--drain", "0.5", NULL };

		lg_test_run(&r, args);
	}
	lg_test_server_stop_accepted(&p.s[0], 2);
	lg_test_server_stop_accepted(&p.s[1], 2);
	ck_assert_msg(r.code == 1, "exit %d: %s", r.code, r.out);
	ck_assert_str_eq(lg_test_value(&r, "ok"), "false");
	/* Each line reaches its sender's one room-mate, not the two
	 * clients of the other server. */
	ck_assert_double_gt(lg_test_num(&r, "sent"), 0);
	ck_assert_double_eq(lg_test_num(&r, "received"),
	    lg_test_num(&r, "sent"));
	ck_assert_double_eq(lg_test_num(&r, "lost"),
	    lg_test_num(&r, "sent") * 2);
	lg_test_free(&r);
}
END_TEST

/*
 * A second way into the same room: a relay process that accepts on its
 * own port and copies bytes both ways to the server, connection by
 * connection.  To the loadgen it is a second node of one chat room.
 */
#define LG_RELAY_MAX	16

static void
lg_relay(int lfd, const char *server_addr)
{
	struct pollfd pfd[1 + 2 * LG_RELAY_MAX];
	struct sockaddr_in sin;
	char buf[4096];
	int fds[2 * LG_RELAY_MAX], n = 0, i, fd, up;
	ssize_t k;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)atoi(strchr(server_addr, ':') + 1));
	for (;;) {
		pfd[0].fd = lfd;
		pfd[0].events = n < 2 * LG_RELAY_MAX ? POLLIN : 0;
		for (i = 0; i < n; i++) {
			pfd[1 + i].fd = fds[i];
			pfd[1 + i].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)(1 + n), -1) == -1)
			_exit(1);
		if (pfd[0].revents & POLLIN) {
			if ((fd = accept(lfd, NULL, NULL)) == -1)
				_exit(1);
			up = socket(AF_INET, SOCK_STREAM, 0);
			if (up == -1 || connect(up, (struct sockaddr *)&sin,
			    sizeof(sin)) == -1)
				_exit(1);
			fds[n++] = fd;
			fds[n++] = up;
			continue;	/* the arrays changed */
		}
		for (i = 0; i < n; i++) {
			if (!(pfd[1 + i].revents & (POLLIN | POLLHUP)))
				continue;
			/* fds[i ^ 1] is the other end of the pair. */
			if ((k = read(fds[i], buf, sizeof(buf))) <= 0) {
				shutdown(fds[i ^ 1], SHUT_WR);
				continue;
			}
			if (write(fds[i ^ 1], buf, (size_t)k) != k)
				_exit(1);
		}
	}
}

START_TEST(test_chat_two_addrs_one_room)
{
	struct tu_server a;
	struct lg_test_run r;
	char addr_a[64], addr_b[64], pid_a[32];
	double sent;
	pid_t relay;
	int lfd, status;

	lg_test_server(&a, "chat", addr_a, sizeof(addr_a), pid_a,
	    sizeof(pid_a));
	lfd = lg_test_bind(addr_b, sizeof(addr_b), 16);
	relay = fork();
	ck_assert_int_ge(relay, 0);
	if (relay == 0)
		lg_relay(lfd, addr_a);
	close(lfd);
	{
		const char *args[] = { "--mode", "chat", "--addr", addr_a,
		    "--addr", addr_b, "-c", "6", "-r", "20", "-d", "1",
		    "--warmup", "0.2", NULL };

		lg_test_run(&r, args);
	}
	kill(relay, SIGKILL);
	ck_assert_int_eq(waitpid(relay, &status, 0), relay);
	/* All six reached the one room, three of them through the relay. */
	lg_test_server_stop_accepted(&a, 6);
	LG_EXPECT_CLEAN(&r);
	sent = lg_test_num(&r, "sent");
	ck_assert_msg(sent >= 115 && sent <= 125, "sent %g", sent);
	ck_assert_double_eq(lg_test_num(&r, "received"), sent * 5);
	lg_test_free(&r);
}
END_TEST

/* Idle mode's ready line, once the server has served every connection:
 * a chat server greets, an echo server returns the ping. */
START_TEST(test_idle_ready)
{
	static const char *const modes[2][2] = {
		{ "chat", "greeting" }, { "echo", "ping" }
	};
	struct tu_server s;
	struct lg_test_run r;
	char addr[64], pid[32];
	int m;

	for (m = 0; m < 2; m++) {
		lg_test_server(&s, modes[m][0], addr, sizeof(addr), pid,
		    sizeof(pid));
		{
			const char *args[] = { "--mode", "idle", "--ready",
			    modes[m][1], "--addr", addr, "-c", "30", "-d",
			    "0.5", "--pid", pid, NULL };

			lg_test_run(&r, args);
		}
		lg_test_server_stop(&s);
		LG_EXPECT_CLEAN(&r);
		ck_assert_msg(strncmp(r.out, "loadgen: ready, holding 30 "
		    "connections\n", 39) == 0, "%s: %s", modes[m][1], r.out);
		lg_test_free(&r);
	}
}
END_TEST

/* ---- a deliberately faulty echo peer ------------------------------------ */

/* What the peer does to message number k of the one connection. */
struct lg_fault {
	long	drop;		/* never echoed */
	long	corrupt;	/* one bit flipped in its body */
	long	dup;		/* echoed twice */
	long	swap;		/* echoed after the next one */
	long	close_at;	/* connection closed instead */
};

static void
lg_fault_peer(int lfd, size_t size, const struct lg_fault *f)
{
	unsigned char msg[256], held[256], buf[4096];
	size_t have = 0, i;
	ssize_t n;
	long k = 0;
	int fd;

	if ((fd = accept(lfd, NULL, NULL)) == -1)
		_exit(1);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (i = 0; i < (size_t)n; i++) {
			msg[have++] = buf[i];
			if (have < size)
				continue;
			have = 0;
			if (k == f->close_at)
				_exit(0);
			if (k == f->corrupt)
				msg[size - 3] ^= 0x10;
			if (k == f->swap) {
				memcpy(held, msg, size);
			} else if (k != f->drop) {
				if (write(fd, msg, size) != (ssize_t)size)
					_exit(1);
				if (k == f->dup &&
				    write(fd, msg, size) != (ssize_t)size)
					_exit(1);
				if (f->swap >= 0 && k == f->swap + 1 &&
				    write(fd, held, size) != (ssize_t)size)
					_exit(1);
			}
			k++;
		}
	}
	_exit(0);
}

/* Run the loadgen (one connection, open loop, 200/s for 1 s after
 * warmup s) against a faulty peer. */
static void
lg_fault_run(struct lg_test_run *r, const struct lg_fault *f,
    const char *warmup)
{
	char addr[64];
	pid_t pid;
	int lfd, status;

	lfd = lg_test_bind(addr, sizeof(addr), 4);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		lg_fault_peer(lfd, 64, f);
	close(lfd);
	{
		const char *args[] = { "--addr", addr, "-c", "1", "-r", "200",
		    "-d", "1", "--drain", "0.5", "--warmup", warmup, NULL };

		lg_test_run(r, args);
	}
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
}

START_TEST(test_fault_drop_corrupt)
{
	struct lg_fault f = { 5, 10, -1, -1, -1 };
	struct lg_test_run r;

	lg_fault_run(&r, &f, "0");
	ck_assert_msg(r.code == 1, "exit %d: %s", r.code, r.out);
	ck_assert_str_eq(lg_test_value(&r, "ok"), "false");
	ck_assert_double_eq(lg_test_num(&r, "lost"), 1);
	ck_assert_double_eq(lg_test_num(&r, "corrupted"), 1);
	ck_assert_double_eq(lg_test_num(&r, "duplicated"), 0);
	ck_assert_double_eq(lg_test_num(&r, "reordered"), 0);
	/* Everything else came back: 200 sent, 198 good. */
	ck_assert_double_eq(lg_test_num(&r, "received"),
	    lg_test_num(&r, "sent") - 2);
	lg_test_free(&r);
}
END_TEST

START_TEST(test_fault_dup_reorder)
{
	struct lg_fault f = { -1, -1, 3, 7, -1 };
	struct lg_test_run r;

	lg_fault_run(&r, &f, "0");
	ck_assert_msg(r.code == 1, "exit %d: %s", r.code, r.out);
	ck_assert_double_eq(lg_test_num(&r, "lost"), 0);
	ck_assert_double_eq(lg_test_num(&r, "corrupted"), 0);
	ck_assert_double_eq(lg_test_num(&r, "duplicated"), 1);
	ck_assert_double_eq(lg_test_num(&r, "reordered"), 1);
	lg_test_free(&r);
}
END_TEST

START_TEST(test_fault_warmup_loss)
{
	struct lg_fault f = { 5, -1, -1, -1, -1 };
	struct lg_test_run r;

	/* Message 5 goes at 25 ms, inside the 0.5 s warm-up: not in the
	 * window's figures, but still a failed run, and said so. */
	lg_fault_run(&r, &f, "0.5");
	ck_assert_msg(r.code == 1, "exit %d: %s", r.code, r.out);
	ck_assert_double_eq(lg_test_num(&r, "lost"), 0);
	ck_assert_str_eq(lg_test_value(&r, "ok"), "false");
	ck_assert_ptr_nonnull(strstr(r.out, "1 more sent during the warm-up"));
	ck_assert_double_eq(lg_test_num(&r, "received"),
	    lg_test_num(&r, "sent"));
	lg_test_free(&r);
}
END_TEST

START_TEST(test_fault_closed)
{
	struct lg_fault f = { -1, -1, -1, -1, 20 };
	struct lg_test_run r;

	lg_fault_run(&r, &f, "0");
	ck_assert_msg(r.code == 1, "exit %d: %s", r.code, r.out);
	ck_assert_double_eq(lg_test_num(&r, "closed_by_server"), 1);
	ck_assert_ptr_nonnull(strstr(r.out, "1 closed by server"));
	lg_test_free(&r);
}
END_TEST

/* ---- SIGINT ------------------------------------------------------------- */

/*
 * The test is the echo peer.  Once a few messages have come back it sends
 * the loadgen SIGINT, keeps echoing until the loadgen hangs up, and then
 * expects a clean report of a window far shorter than the 30 s asked for.
 */
START_TEST(test_sigint)
{
	struct timeval tv = { 10, 0 };
	struct lg_test_run r;
	char addr[64], path[] = "/tmp/lg-test-XXXXXX", buf[4096];
	size_t total = 0;
	ssize_t n;
	pid_t pid;
	int lfd, fd, status, devnull;

	memset(&r, 0, sizeof(r));
	lfd = lg_test_bind(addr, sizeof(addr), 4);
	lg_test_tmpfile(path);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, STDOUT_FILENO);
		execl(LOADGEN_BIN, LOADGEN_BIN, "--addr", addr, "-c", "1",
		    "-r", "100", "-d", "30", "--json", path, "-q",
		    (char *)NULL);
		_exit(127);
	}
	(void)setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	fd = accept(lfd, NULL, NULL);
	close(lfd);
	ck_assert_int_ge(fd, 0);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		ck_assert_int_eq(write(fd, buf, (size_t)n), n);
		if (total < 5 * 64 && total + (size_t)n >= 5 * 64)
			kill(pid, SIGINT);
		total += (size_t)n;
	}
	/* EOF from the loadgen, not a timeout. */
	ck_assert_int_eq(n, 0);
	close(fd);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_msg(lg_test_read_json(&r, path), "no JSON in %s", path);
	ck_assert_msg(WEXITSTATUS(status) == 0, "exit %d: %s",
	    WEXITSTATUS(status), r.json);
	ck_assert_double_lt(lg_test_num(&r, "duration_s"), 10);
	ck_assert_double_ge(lg_test_num(&r, "sent"), 5);
	ck_assert_double_eq(lg_test_num(&r, "lost"), 0);
	ck_assert_double_eq(lg_test_num(&r, "received"),
	    lg_test_num(&r, "sent"));
}
END_TEST

Suite *
loadgen_suite(void)
{
	Suite *s = suite_create("loadgen");
	TCase *tc = tcase_create("pollserv");
	TCase *bad = tcase_create("input");
	TCase *fault = tcase_create("faults");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_echo_closed_loop);
	tcase_add_test(tc, test_echo_open_loop);
	tcase_add_test(tc, test_chat);
	tcase_add_test(tc, test_idle);
	tcase_add_test(tc, test_idle_ready);
	tcase_add_test(tc, test_echo_two_addrs);
	tcase_add_test(tc, test_chat_two_rooms_lose);
	tcase_add_test(tc, test_chat_two_addrs_one_room);
	suite_add_tcase(s, tc);
	tcase_set_timeout(bad, 30);
	tcase_add_test(bad, test_refused);
	tcase_add_test(bad, test_bad_options);
	tcase_add_test(bad, test_help);
	suite_add_tcase(s, bad);
	tcase_set_timeout(fault, 30);
	tcase_add_test(fault, test_fault_drop_corrupt);
	tcase_add_test(fault, test_fault_dup_reorder);
	tcase_add_test(fault, test_fault_warmup_loss);
	tcase_add_test(fault, test_fault_closed);
	tcase_add_test(fault, test_sigint);
	suite_add_tcase(s, fault);
	return s;
}
