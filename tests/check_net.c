/* check_net.c - unit tests for the socket helpers (net.h). */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check_suites.h"
#include "net.h"
#include "testutil.h"

START_TEST(test_net_parse_addr_forms)
{
	struct net_addr a;
	char err[NET_ERR_LEN];

	ck_assert_int_eq(net_parse_addr("127.0.0.1:4001", "0.0.0.0", &a, err),
	    0);
	ck_assert_str_eq(a.host, "127.0.0.1");
	ck_assert_int_eq(a.port, 4001);
	ck_assert_int_eq(net_parse_addr("4002", "127.0.0.1", &a, err), 0);
	ck_assert_str_eq(a.host, "127.0.0.1");
	ck_assert_int_eq(a.port, 4002);
	ck_assert_int_eq(net_parse_addr("0", "10.1.2.3", &a, err), 0);
	ck_assert_str_eq(a.host, "10.1.2.3");
	ck_assert_int_eq(a.port, 0);
	ck_assert_int_eq(net_parse_addr("[::1]:80", "127.0.0.1", &a, err), 0);
	ck_assert_str_eq(a.host, "::1");
	ck_assert_int_eq(a.port, 80);
	ck_assert_int_eq(net_parse_addr("[fe80::1:2]:65535", "x", &a, err),
	    0);
	ck_assert_str_eq(a.host, "fe80::1:2");
	ck_assert_int_eq(a.port, 65535);
	ck_assert_int_eq(net_parse_addr("localhost:9", "x", &a, err), 0);
	ck_assert_str_eq(a.host, "localhost");
	ck_assert_int_eq(a.port, 9);
}
END_TEST

START_TEST(test_net_parse_addr_errors)
{
	static const char *const bad[] = {
		"", ":", "127.0.0.1:", "127.0.0.1:70000", "70000", "65536",
		"127.0.0.1:-1", "-1", "127.0.0.1:abc", "abc", "127.0.0.1:80x",
		"[::1", "[::1]", "[::1]80", "[::1]:", "[]:80",
		"99999999999999999999", "127.0.0.1: 80", NULL
	};
	struct net_addr a;
	char err[NET_ERR_LEN];
	int i;

	for (i = 0; bad[i] != NULL; i++) {
		err[0] = '\0';
		ck_assert_msg(net_parse_addr(bad[i], "127.0.0.1", &a, err) ==
		    -1, "\"%s\" accepted", bad[i]);
		ck_assert_msg(err[0] != '\0', "\"%s\": no reason", bad[i]);
	}
}
END_TEST

START_TEST(test_net_listen_local_port)
{
	struct net_addr a;
	char err[NET_ERR_LEN], name[NET_ADDR_LEN], want[64];
	int fd, fl, on = 0, port, c;
	socklen_t olen = sizeof(on);

	ck_assert_int_eq(net_parse_addr("127.0.0.1:0", "", &a, err), 0);
	fd = net_listen(&a, 16, err);
	ck_assert_msg(fd >= 0, "net_listen: %s", err);
	port = net_local_port(fd);
	ck_assert_int_gt(port, 0);
	ck_assert_int_le(port, 65535);
	fl = fcntl(fd, F_GETFL);
	ck_assert_int_ne(fl, -1);
	ck_assert_msg(fl & O_NONBLOCK, "listener is not nonblocking");
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, &olen),
	    0);
	ck_assert_msg(on != 0, "SO_REUSEADDR not set");
	ck_assert_int_eq(net_local_name(fd, name, sizeof(name), err), 0);
	snprintf(want, sizeof(want), "127.0.0.1:%d", port);
	ck_assert_str_eq(name, want);

	/* It really listens: a client connects, accept works. */
	c = tu_connect(port);
	ck_assert_msg(c >= 0, "%s", tu_error());
	{
		struct pollfd pfd = { fd, POLLIN, 0 };
		int s;

		ck_assert_int_eq(poll(&pfd, 1, TU_WAIT), 1);
		s = accept(fd, NULL, NULL);
		ck_assert_int_ge(s, 0);
		close(s);
	}
	close(c);
	close(fd);
}
END_TEST

START_TEST(test_net_listen_busy)
{
	struct net_addr a;
	char err[NET_ERR_LEN];
	int fd, fd2;

	ck_assert_int_eq(net_parse_addr("127.0.0.1:0", "", &a, err), 0);
	fd = net_listen(&a, 16, err);
	ck_assert_msg(fd >= 0, "net_listen: %s", err);
	a.port = net_local_port(fd);
	err[0] = '\0';
	fd2 = net_listen(&a, 16, err);
	ck_assert_int_eq(fd2, -1);
	ck_assert_msg(strstr(err, strerror(EADDRINUSE)) != NULL,
	    "reason \"%s\" lacks the strerror text", err);
	close(fd);
}
END_TEST

START_TEST(test_net_listen_v6)
{
	struct net_addr a;
	char err[NET_ERR_LEN], name[NET_ADDR_LEN], want[64];
	int fd, probe;

	/* Skip quietly where the box has no IPv6 loopback. */
	probe = socket(AF_INET6, SOCK_STREAM, 0);
	if (probe == -1)
		return;
	{
		struct sockaddr_in6 s6;

		memset(&s6, 0, sizeof(s6));
		s6.sin6_family = AF_INET6;
		s6.sin6_addr = in6addr_loopback;
		if (bind(probe, (struct sockaddr *)&s6, sizeof(s6)) == -1) {
			close(probe);
			return;
		}
		close(probe);
	}
	ck_assert_int_eq(net_parse_addr("[::1]:0", "", &a, err), 0);
	fd = net_listen(&a, 16, err);
	ck_assert_msg(fd >= 0, "net_listen [::1]:0: %s", err);
	ck_assert_int_eq(net_local_name(fd, name, sizeof(name), err), 0);
	snprintf(want, sizeof(want), "[::1]:%d", net_local_port(fd));
	ck_assert_str_eq(name, want);
	close(fd);
}
END_TEST

START_TEST(test_net_connect)
{
	struct net_addr a;
	char err[NET_ERR_LEN];
	int lfd, c, c2, fl, nd = 0;
	socklen_t olen = sizeof(nd);

	ck_assert_int_eq(net_parse_addr("127.0.0.1:0", "", &a, err), 0);
	lfd = net_listen(&a, 16, err);
	ck_assert_int_ge(lfd, 0);
	a.port = net_local_port(lfd);
	c = net_connect(&a, false, err);
	ck_assert_msg(c >= 0, "net_connect: %s", err);
	fl = fcntl(c, F_GETFL);
	ck_assert_msg(!(fl & O_NONBLOCK), "blocking connect gave O_NONBLOCK");
	c2 = net_connect(&a, true, err);
	ck_assert_msg(c2 >= 0, "net_connect nonblocking: %s", err);
	fl = fcntl(c2, F_GETFL);
	ck_assert_msg(fl & O_NONBLOCK, "nonblocking connect without "
	    "O_NONBLOCK");
	ck_assert_int_eq(net_set_nodelay(c, err), 0);
	ck_assert_int_eq(getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &nd, &olen),
	    0);
	ck_assert_int_ne(nd, 0);
	close(c);
	close(c2);
	close(lfd);

	/* Nobody listens on the port any more: refused, with a reason. */
	err[0] = '\0';
	c = net_connect(&a, false, err);
	ck_assert_int_eq(c, -1);
	ck_assert_msg(err[0] != '\0', "no reason for a failed connect");
}
END_TEST

START_TEST(test_net_set_nonblocking)
{
	char err[NET_ERR_LEN];
	int sv[2], fl;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* Other flags survive: the textbook F_GETFL | O_NONBLOCK. */
	ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_APPEND), 0);
	ck_assert_int_eq(net_set_nonblocking(sv[0], err), 0);
	fl = fcntl(sv[0], F_GETFL);
	ck_assert_msg(fl & O_NONBLOCK, "O_NONBLOCK not set");
	ck_assert_msg(fl & O_APPEND, "O_APPEND lost: F_SETFL without F_GETFL?");
	ck_assert_int_eq(net_set_nonblocking(sv[0], err), 0);
	ck_assert(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
	/* It really does not block now. */
	{
		char c;

		errno = 0;
		ck_assert_int_eq(recv(sv[0], &c, 1, 0), -1);
		ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
	}
	close(sv[0]);
	close(sv[1]);
	err[0] = '\0';
	ck_assert_int_eq(net_set_nonblocking(-1, err), -1);
	ck_assert(err[0] != '\0');
}
END_TEST

Suite *
net_suite(void)
{
	Suite *s = suite_create("net");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_net_parse_addr_forms);
	tcase_add_test(tc, test_net_parse_addr_errors);
	tcase_add_test(tc, test_net_listen_local_port);
	tcase_add_test(tc, test_net_listen_busy);
	tcase_add_test(tc, test_net_listen_v6);
	tcase_add_test(tc, test_net_connect);
	tcase_add_test(tc, test_net_set_nonblocking);
	suite_add_tcase(s, tc);
	return s;
}
