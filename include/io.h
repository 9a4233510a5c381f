/* io.h - the readiness driver interface: one file per driver behind it. */
#ifndef POLLSERV_IO_H
#define POLLSERV_IO_H

#include <stdbool.h>
#include <stddef.h>

struct config;
struct stats;

/* Interest and readiness bits. */
#define IO_READ		0x1
#define IO_WRITE	0x2
/* Registration-only hint: this fd is the listener.  Drivers that report
 * every fd every sweep (busy, backoff) use it to check the listener less
 * often than the clients; readiness drivers ignore it. */
#define IO_LISTENER	0x4

struct io_event {
	int	fd;
	int	mask;		/* IO_READ and/or IO_WRITE */
};

struct io_config {
	int	max_fds;	/* highest fd + 1 the server will register */
	unsigned backoff_max_us; /* backoff: longest sleep after idle sweeps */
	struct stats *stats;	/* counters the driver may bump */
};

/*
 * A driver only decides *when* the server looks at a socket.  What happens
 * then is the client state machine's business, the same for every driver,
 * which is what makes the CPU comparison fair.
 *
 * modify() covers add (old_mask 0), change and remove (new_mask 0), like
 * libev's backend_modify; the fd is still open when it is removed.
 * wait() fills fired[] with at most max_fired events and returns how many,
 * or -1 with errno set (EINTR is not an error to the caller).  timeout_ms
 * is -1 for "until something happens"; drivers that never block ignore it.
 * last_sweep_idle tells a sleeping driver that the previous sweep did no
 * work.
 */
struct io_driver {
	const char *name;
	const char *summary;		/* one line for --help */
	bool	blocks;			/* sleeps in the kernel: needs a wake fd */
	void   *(*create)(const struct io_config *cfg);
	void	(*destroy)(void *state);
	int	(*modify)(void *state, int fd, int old_mask, int new_mask);
	int	(*wait)(void *state, int timeout_ms, bool last_sweep_idle,
		    struct io_event *fired, int max_fired);
	/* NULL: always usable.  Else 0 if this process can use the driver
	 * (io_uring may be switched off, or forbidden by seccomp), or -1
	 * with one line, no newline, in why: main prints it and exits 1. */
	int	(*probe)(char *why, size_t len);
	/*
	 * A model that runs the whole server itself (a process or a thread
	 * per client, blocking sockets) does not fit the four calls above:
	 * it sets serve and leaves them NULL.  serve listens, prints the
	 * listening line, runs until SIGTERM/SIGINT and returns the exit
	 * code.  NULL for readiness drivers.
	 */
	int	(*serve)(const struct config *cfg);
};

extern const struct io_driver io_busy, io_select, io_poll, io_epoll,
    io_backoff, io_sigio, io_uring_poll, io_fork, io_thread;
/* NULL-terminated, in the order --help lists them. */
extern const struct io_driver *const io_drivers[];
const struct io_driver *io_find(const char *name);
/* Whether the driver serves chat mode: readiness drivers run the shared
 * client state machine and serve both modes; models with serve() echo
 * only.  io_modes() says which, for messages and --help. */
bool	io_serves_chat(const struct io_driver *d);
const char *io_modes(const struct io_driver *d);

#endif
