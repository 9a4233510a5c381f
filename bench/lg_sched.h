/* lg_sched.h - the open-loop send schedule: evenly spaced, staggered. */
#ifndef LG_SCHED_H
#define LG_SCHED_H

#include <stdint.h>

/*
 * Every connection sends every `interval` ns; connection c is offset by
 * c * interval / nconn, so the N connections together fire at N evenly
 * spaced instants per interval instead of N at once.  Because every
 * connection has the same period, the global order of sends is fixed:
 * tick j is connection j % N, message j / N.  So the "sorted schedule" is
 * a counter, and finding the next send is O(1) with no heap or wheel.
 * All times are integer ns; nothing drifts however long the run.
 */
struct lg_sched {
	uint64_t	t0;		/* first send of connection 0 */
	uint64_t	interval;	/* ns between sends of one connection */
	uint32_t	nconn;
	uint64_t	tick;		/* next global tick */
};

/* rate is messages per second per connection, > 0. */
void	 lg_sched_init(struct lg_sched *s, uint64_t t0, uint32_t nconn,
	    double rate);
/* When message seq of connection conn is due. */
uint64_t lg_sched_time(const struct lg_sched *s, uint32_t conn, uint64_t seq);
/* When the next tick is due. */
uint64_t lg_sched_next_time(const struct lg_sched *s);
/* Take the next tick: its connection and message number. */
void	 lg_sched_take(struct lg_sched *s, uint32_t *conn, uint64_t *seq);

#endif
