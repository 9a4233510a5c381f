/* lg_sched.c - the open-loop send schedule (see lg_sched.h). */
#include <math.h>

#include "lg_sched.h"

void
lg_sched_init(struct lg_sched *s, uint64_t t0, uint32_t nconn, double rate)
{
	double ns = 1e9 / rate;

	s->t0 = t0;
	s->nconn = nconn > 0 ? nconn : 1;
	s->interval = ns < 1.0 ? 1 : (uint64_t)llround(ns);
	s->tick = 0;
}

uint64_t
lg_sched_time(const struct lg_sched *s, uint32_t conn, uint64_t seq)
{
	/* conn * interval < nconn * interval: no overflow for any sane
	 * rate (10^5 connections at 1 msg/hour is 3.6e17). */
	return s->t0 + seq * s->interval +
	    (uint64_t)conn * s->interval / s->nconn;
}

uint64_t
lg_sched_next_time(const struct lg_sched *s)
{
	return lg_sched_time(s, (uint32_t)(s->tick % s->nconn),
	    s->tick / s->nconn);
}

void
lg_sched_take(struct lg_sched *s, uint32_t *conn, uint64_t *seq)
{
	*conn = (uint32_t)(s->tick % s->nconn);
	*seq = s->tick / s->nconn;
	s->tick++;
}
