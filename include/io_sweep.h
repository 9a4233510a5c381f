/* io_sweep.h - the "every fd, every time" sweep shared by busy and backoff. */
#ifndef POLLSERV_IO_SWEEP_H
#define POLLSERV_IO_SWEEP_H

#include <stddef.h>

#include "fdmap.h"
#include "io.h"

/*
 * The listener is reported once every BUSY_ACCEPT_EVERY sweeps: a failed
 * accept() costs about as much as ten failed recv() calls (3.3 us against
 * 0.33 us measured by bench/floor), so with 100 idle clients checking it
 * every sweep is ~9% of the sweep; every 8th sweep makes it ~1%, at the
 * price of up to 7 sweeps of extra connect latency (0.25 ms at 100
 * clients, 25 ms at 10,000).  One line to change.
 */
#define BUSY_ACCEPT_EVERY	8

struct io_sweep_entry {
	int	fd;
	int	mask;		/* IO_READ, IO_WRITE, IO_LISTENER as registered */
};

/*
 * A dense array of registered fds plus an fd -> slot map, so add, change
 * and remove are O(1) (remove swaps the last entry into the hole) and a
 * sweep walks only what is registered, not every possible fd number.
 */
struct io_sweep {
	struct io_sweep_entry *entries;
	size_t	count, cap;
	struct fdmap map;	/* fd -> index in entries */
	size_t	first;		/* the sweep starts here (mod count): rotates */
	size_t	cursor;		/* entries done in this sweep; a sweep cut
				 * short by max_fired resumes from here */
	unsigned long sweeps;	/* sweeps begun, for BUSY_ACCEPT_EVERY */
	int	accept_now;	/* this sweep reports the listener */
};

int	io_sweep_init(struct io_sweep *sw, int max_fds);
void	io_sweep_free(struct io_sweep *sw);
/* Add (old 0), change or remove (new 0); -1 with errno on failure. */
int	io_sweep_modify(struct io_sweep *sw, int fd, int new_mask);
/* Nonzero if fd is in the list. */
int	io_sweep_has(const struct io_sweep *sw, int fd);
/* Report every registered fd with its interest; see io_sweep.c. */
int	io_sweep_fill(struct io_sweep *sw, struct io_event *fired,
	    int max_fired);
/* Nonzero while a sweep was cut short and has fds left to report. */
int	io_sweep_pending(const struct io_sweep *sw);

#endif
