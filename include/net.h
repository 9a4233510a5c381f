/* net.h - socket helpers shared by the server, the tests and the loadgen. */
#ifndef POLLSERV_NET_H
#define POLLSERV_NET_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Like Redis's anet: helpers never log or exit.  They return 0 (or an fd)
 * on success and -1 on failure, with a one-line reason in err, a buffer of
 * NET_ERR_LEN bytes that the caller owns.
 */
#define NET_ERR_LEN	256
#define NET_HOST_LEN	256
#define NET_ADDR_LEN	(NET_HOST_LEN + 16)	/* "[host]:port" */

struct net_addr {
	char	host[NET_HOST_LEN];	/* without brackets */
	int	port;			/* 0 to 65535 */
};

/* The textbook way: F_GETFL, OR in O_NONBLOCK, F_SETFL. */
int	net_set_nonblocking(int fd, char *err);
/* "HOST:PORT", "[V6]:PORT" or "PORT" (host defaults to default_host). */
int	net_parse_addr(const char *spec, const char *default_host,
	    struct net_addr *out, char *err);
/* Nonblocking listening socket with SO_REUSEADDR. */
int	net_listen(const struct net_addr *addr, int backlog, char *err);
/* The same with SO_REUSEPORT: one of several listeners on the port. */
int	net_listen_shared(const struct net_addr *addr, int backlog, char *err);
/* Bind with SO_REUSEPORT but do not listen: the port is held for
 * net_listen_shared callers (port 0 picks one: see net_local_port). */
int	net_reserve_port(const struct net_addr *addr, char *err);
/* Connected TCP socket; nonblocking (connect may be in progress) if asked. */
int	net_connect(const struct net_addr *addr, bool nonblocking, char *err);
/* "127.0.0.1:4001" or "[::1]:4001" for the socket's local address. */
int	net_local_name(int fd, char *out, size_t len, char *err);
int	net_local_port(int fd);
/* The soft RLIMIT_NOFILE: fds this process may open (2^20 if unlimited). */
long	net_fd_limit(void);
/* TCP_NODELAY on: chat lines are small and latency is what we measure. */
int	net_set_nodelay(int fd, char *err);

#endif
