/* sysio.h - the seam between the server and the socket system calls. */
#ifndef POLLSERV_SYSIO_H
#define POLLSERV_SYSIO_H

#include <sys/types.h>
#include <sys/socket.h>

/*
 * Every recv, send, accept and shutdown the server makes on a client or
 * the listener goes through these pointers, so tests can script short
 * reads, EAGAIN, EINTR, ECONNRESET and friends without a misbehaving
 * kernel, and so a driver that does the I/O itself could stand in for
 * the system calls later.  Production code never changes them.
 */
struct sysio {
	ssize_t	(*recv)(int fd, void *p, size_t n, int flags);
	ssize_t	(*send)(int fd, const void *p, size_t n, int flags);
	int	(*accept)(int fd, struct sockaddr *sa, socklen_t *len);
	int	(*shutdown)(int fd, int how);
};

extern struct sysio sysio;
void	sysio_reset(void);	/* back to the real system calls */

#endif
