/* floor.c - the physical limit the drivers are measured against: the
 * fewest system calls an echo server can make per message. */

/*
 * One thread owns both ends of a loopback TCP connection and plays client
 * and server in turn: the client sends a message, the "server" recv()s it
 * and send()s it back, the client recv()s the echo.  Nothing ever blocks,
 * because every recv() is made after the matching send() returned, and on
 * loopback the kernel has already delivered the bytes by then.  So the
 * server's share of the work is exactly one recv() and one send(): no
 * readiness call, no wasted recv(), no protocol.  No real server can do
 * less per message; the bench reports every driver as a multiple of it.
 *
 * Two more numbers price the busy driver's wasted work:
 *  - a recv() that fails with EAGAIN, what a busy sweep pays per idle
 *    client;
 *  - an accept() that fails with EAGAIN, what it pays each time it checks
 *    an empty listener (the kernel allocates and frees a file for it).
 *
 * Output is one "key=value" per line, so sh and awk can read it:
 *   floor_cpu_us     process CPU (user+sys) per message for the whole round
 *                    trip, halved: the server's recv+send.  The ratio unit.
 *   floor_us         wall time of the server's recv+send alone, from
 *                    CLOCK_MONOTONIC stamps around those two calls.
 *   loop_us          wall time per round trip (four calls).
 *   loop_cpu_us      CPU per round trip.
 *   recv_eagain_us   one failed recv(), wall (CPU agrees: nothing blocks).
 *   accept_eagain_us one failed accept(), wall.
 * `floor --free-port` instead prints a loopback TCP port that was free a
 * moment ago, for the peers (ncat, socat) that cannot listen on port 0.
 */

#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#define FLOOR_SIZE_MAX	65536

static void
floor_die(const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int64_t
floor_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* User plus system CPU of this process, in ns. */
static int64_t
floor_cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
	    ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

static void
floor_nonblocking(int fd)
{
	int flags;

	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		floor_die("fcntl");
}

/* A listener on 127.0.0.1, port 0; its port is written to *port. */
static int
floor_listener(int *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		floor_die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		floor_die("bind");
	if (listen(fd, 16) == -1)
		floor_die("listen");
	if (getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		floor_die("getsockname");
	*port = ntohs(sin.sin_port);
	return fd;
}

/* A connected loopback pair, both ends nonblocking with TCP_NODELAY, as a
 * real server and the loadgen have them. */
static void
floor_pair(int *client, int *server, int *listener)
{
	struct sockaddr_in sin;
	int port, one = 1;

	*listener = floor_listener(&port);
	if ((*client = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		floor_die("socket");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	if (connect(*client, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		floor_die("connect");
	if ((*server = accept(*listener, NULL, NULL)) == -1)
		floor_die("accept");
	floor_nonblocking(*client);
	floor_nonblocking(*server);
	floor_nonblocking(*listener);
	setsockopt(*client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(*server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Move exactly len bytes; on loopback they are always there already, so a
 * short transfer or EAGAIN means the measurement is not what it claims. */
static void
floor_xfer(int fd, char *buf, size_t len, int sending)
{
	ssize_t n;

	n = sending ? send(fd, buf, len, MSG_NOSIGNAL) : recv(fd, buf, len, 0);
	if (n < 0)
		floor_die(sending ? "send" : "recv");
	if ((size_t)n != len) {
		fprintf(stderr, "floor: short %s (%zd of %zu bytes)\n",
		    sending ? "send" : "recv", n, len);
		exit(1);
	}
}

static void
floor_usage(FILE *out)
{
	fprintf(out,
	    "usage: floor [-n MESSAGES] [-s SIZE] [-e CALLS]\n"
	    "       floor --free-port\n"
	    "Measures one echo server's minimum cost per message (one recv and\n"
	    "one send over loopback TCP, one thread) and the cost of a failed\n"
	    "recv() and accept().  Prints key=value lines.\n"
	    "  -n MESSAGES  round trips to time (default 200000)\n"
	    "  -s SIZE      message size in bytes (default 64)\n"
	    "  -e CALLS     failed recv()/accept() calls to time (default 200000)\n");
}

static long
floor_arg(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "floor: bad number: %s\n", s);
		floor_usage(stderr);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	static char buf[FLOOR_SIZE_MAX];
	long messages = 200000, size = 64, calls = 200000, i;
	int client, server, listener, port, c;
	int64_t t0, t1, c0, c1, half_ns = 0, a, b;

	if (argc == 2 && strcmp(argv[1], "--free-port") == 0) {
		listener = floor_listener(&port);
		close(listener);
		printf("%d\n", port);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		floor_usage(stdout);
		return 0;
	}
	while ((c = getopt(argc, argv, "n:s:e:h")) != -1) {
		switch (c) {
		case 'n':
			messages = floor_arg(optarg, 1000, 100000000);
			break;
		case 's':
			size = floor_arg(optarg, 1, FLOOR_SIZE_MAX);
			break;
		case 'e':
			calls = floor_arg(optarg, 1000, 100000000);
			break;
		case 'h':
			floor_usage(stdout);
			return 0;
		default:
			floor_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		floor_usage(stderr);
		return 2;
	}
	memset(buf, 'x', sizeof(buf));
	floor_pair(&client, &server, &listener);

	/* Warm the caches and the socket buffers first. */
	for (i = 0; i < messages / 10; i++) {
		floor_xfer(client, buf, size, 1);
		floor_xfer(server, buf, size, 0);
		floor_xfer(server, buf, size, 1);
		floor_xfer(client, buf, size, 0);
	}

	t0 = floor_now_ns();
	c0 = floor_cpu_ns();
	for (i = 0; i < messages; i++) {
		floor_xfer(client, buf, size, 1);
		a = floor_now_ns();
		floor_xfer(server, buf, size, 0);
		floor_xfer(server, buf, size, 1);
		b = floor_now_ns();
		half_ns += b - a;
		floor_xfer(client, buf, size, 0);
	}
	c1 = floor_cpu_ns();
	t1 = floor_now_ns();

	printf("messages=%ld\n", messages);
	printf("size=%ld\n", size);
	printf("floor_cpu_us=%.3f\n", (double)(c1 - c0) / messages / 2000.0);
	printf("floor_us=%.3f\n", (double)half_ns / messages / 1000.0);
	printf("loop_us=%.3f\n", (double)(t1 - t0) / messages / 1000.0);
	printf("loop_cpu_us=%.3f\n", (double)(c1 - c0) / messages / 1000.0);

	/* The server's socket is drained now: every recv() says EAGAIN. */
	t0 = floor_now_ns();
	for (i = 0; i < calls; i++)
		if (recv(server, buf, size, 0) != -1 ||
		    (errno != EAGAIN && errno != EWOULDBLOCK))
			floor_die("recv on an empty socket");
	t1 = floor_now_ns();
	printf("recv_eagain_us=%.3f\n", (double)(t1 - t0) / calls / 1000.0);

	/* Nobody is connecting: every accept() says EAGAIN. */
	t0 = floor_now_ns();
	for (i = 0; i < calls; i++)
		if (accept(listener, NULL, NULL) != -1 ||
		    (errno != EAGAIN && errno != EWOULDBLOCK))
			floor_die("accept on an empty listener");
	t1 = floor_now_ns();
	printf("accept_eagain_us=%.3f\n", (double)(t1 - t0) / calls / 1000.0);

	close(client);
	close(server);
	close(listener);
	return 0;
}
