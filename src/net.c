/* net.c - socket helpers: address parsing, listen, connect, nonblocking. */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "parse.h"

static int net_error(char *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Fill the caller's error buffer (if any) and return -1. */
static int
net_error(char *err, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		va_start(ap, fmt);
		vsnprintf(err, NET_ERR_LEN, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int
net_set_nonblocking(int fd, char *err)
{
	int flags;

	/* Read-modify-write: setting O_NONBLOCK alone would clear every other
	 * status flag (Stevens 7.8 shows the wrong way). */
	if ((flags = fcntl(fd, F_GETFL, 0)) == -1)
		return net_error(err, "fcntl(F_GETFL): %s", strerror(errno));
	if (fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		return net_error(err, "fcntl(F_SETFL): %s", strerror(errno));
	return 0;
}

int
net_set_nodelay(int fd, char *err)
{
	int on = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == -1)
		return net_error(err, "setsockopt(TCP_NODELAY): %s",
		    strerror(errno));
	return 0;
}

int
net_parse_addr(const char *spec, const char *default_host,
    struct net_addr *out, char *err)
{
	const char *host, *port, *colon;
	size_t hostlen;
	unsigned long p;

	if (spec == NULL || *spec == '\0')
		return net_error(err, "empty address");
	if (spec[0] == '[') {
		/* [V6]:PORT */
		const char *close = strchr(spec, ']');

		if (close == NULL || close[1] != ':')
			return net_error(err, "bad address '%s': want [V6]:PORT",
			    spec);
		host = spec + 1;
		hostlen = (size_t)(close - host);
		port = close + 2;
	} else if ((colon = strrchr(spec, ':')) != NULL) {
		if (strchr(spec, ':') != colon)
			return net_error(err, "bad address '%s': put IPv6 hosts in "
			    "brackets, [V6]:PORT", spec);
		host = spec;
		hostlen = (size_t)(colon - spec);
		port = colon + 1;
	} else {
		host = default_host;
		hostlen = strlen(default_host);
		port = spec;
	}
	if (hostlen == 0 || hostlen >= sizeof(out->host))
		return net_error(err, "bad address '%s': missing or long host",
		    spec);
	if (parse_ulong(port, 0, 65535, &p) == -1)
		return net_error(err, "bad port in '%s': want 0 to 65535",
		    spec);
	memcpy(out->host, host, hostlen);
	out->host[hostlen] = '\0';
	out->port = (int)p;
	return 0;
}

/* Resolve numerically or by name; the caller frees the list. */
static struct addrinfo *
net_resolve(const struct net_addr *addr, int passive, char *err)
{
	struct addrinfo hints, *res;
	char port[8];
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = passive ? AI_PASSIVE : 0;
	snprintf(port, sizeof(port), "%d", addr->port);
	if ((rc = getaddrinfo(addr->host, port, &hints, &res)) != 0) {
		net_error(err, "cannot resolve %.100s: %s", addr->host,
		    gai_strerror(rc));
		return NULL;
	}
	return res;
}

static void
net_describe(const struct net_addr *addr, char *out, size_t len)
{
	if (strchr(addr->host, ':') != NULL)
		snprintf(out, len, "[%s]:%d", addr->host, addr->port);
	else
		snprintf(out, len, "%s:%d", addr->host, addr->port);
}

/* What net_listen and net_connect do with a fresh socket for one address:
 * 0 if it is ready, -1 with errno set to try the next address. */
typedef int (*net_setup_fn)(int fd, const struct addrinfo *ai, int arg);

static int
net_setup_listen(int fd, const struct addrinfo *ai, int backlog)
{
	int on = 1;

	/* Restarting the server must not wait out TIME_WAIT. */
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(fd, backlog) == -1)
		return -1;
	return net_set_nonblocking(fd, NULL);
}

/* Several processes listen on one port (--workers): the kernel spreads
 * the connections over their listeners. */
static int
net_setup_listen_shared(int fd, const struct addrinfo *ai, int backlog)
{
	int on = 1;

	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1)
		return -1;
	return net_setup_listen(fd, ai, backlog);
}

/* Bound, not listening: holds the port (port 0 picks it) for the workers'
 * shared listeners, and takes no connections itself. */
static int
net_setup_reserve(int fd, const struct addrinfo *ai, int unused)
{
	int on = 1;

	(void)unused;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1)
		return -1;
	return bind(fd, ai->ai_addr, ai->ai_addrlen);
}

static int
net_setup_connect(int fd, const struct addrinfo *ai, int nonblocking)
{
	if (nonblocking && net_set_nonblocking(fd, NULL) == -1)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
	    (nonblocking && errno == EINPROGRESS))
		return 0;
	return -1;
}

/* Try each address addr resolves to until setup succeeds on one. */
static int
net_open(const struct net_addr *addr, int passive, net_setup_fn setup,
    int arg, const char *verb, char *err)
{
	struct addrinfo *res, *ai;
	char name[NET_ADDR_LEN];
	int fd = -1, saved = 0;

	if ((res = net_resolve(addr, passive, err)) == NULL)
		return -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1) {
			saved = errno;
			continue;
		}
		if (setup(fd, ai, arg) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		net_describe(addr, name, sizeof(name));
		return net_error(err, "cannot %s %.120s: %s", verb, name,
		    strerror(saved));
	}
	return fd;
}

int
net_listen(const struct net_addr *addr, int backlog, char *err)
{
	return net_open(addr, 1, net_setup_listen, backlog,
	    "listen on", err);
}

int
net_listen_shared(const struct net_addr *addr, int backlog, char *err)
{
	return net_open(addr, 1, net_setup_listen_shared, backlog,
	    "listen on", err);
}

int
net_reserve_port(const struct net_addr *addr, char *err)
{
	return net_open(addr, 1, net_setup_reserve, 0, "listen on", err);
}

int
net_connect(const struct net_addr *addr, bool nonblocking, char *err)
{
	return net_open(addr, 0, net_setup_connect, nonblocking,
	    "connect to", err);
}

int
net_local_name(int fd, char *out, size_t len, char *err)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char host[INET6_ADDRSTRLEN];
	int port;

	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1)
		return net_error(err, "getsockname: %s", strerror(errno));
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		port = ntohs(sin6->sin6_port);
		snprintf(out, len, "[%s]:%d", host, port);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		port = ntohs(sin->sin_port);
		snprintf(out, len, "%s:%d", host, port);
	}
	return 0;
}

int
net_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1)
		return -1;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

long
net_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 1024;
	return rl.rlim_cur == RLIM_INFINITY ? 1L << 20 : (long)rl.rlim_cur;
}
