/* lg_hist.h - log-linear latency histogram: constant memory, < 0.4% error. */
#ifndef LG_HIST_H
#define LG_HIST_H

#include <stddef.h>
#include <stdint.h>

/*
 * Values (nanoseconds) below LG_HIST_LINEAR get a bucket each, so they are
 * exact.  Above that every power of two is split into LG_HIST_SUB equal
 * buckets: a bucket is at most 1/128 of its lower bound wide, and the
 * midpoint we report is within 1/256 (0.39%) of any value in it.  That
 * covers the whole uint64_t range (1 ns to 584 years) in 7,424 counters,
 * 58 KiB, however long the run.
 */
#define LG_HIST_SUB_BITS	7
#define LG_HIST_SUB		(1u << LG_HIST_SUB_BITS)
#define LG_HIST_LINEAR		(2u * LG_HIST_SUB)
#define LG_HIST_BUCKETS		(LG_HIST_LINEAR + (64u - 8u) * LG_HIST_SUB)

struct lg_hist {
	uint64_t	count;
	uint64_t	min;
	uint64_t	max;
	uint64_t	bucket[LG_HIST_BUCKETS];
};

void	 lg_hist_init(struct lg_hist *h);
void	 lg_hist_record(struct lg_hist *h, uint64_t value);
void	 lg_hist_merge(struct lg_hist *dst, const struct lg_hist *src);
/* p in [0, 100]: the value at rank ceil(p/100 * count), as the midpoint of
 * its bucket clamped to [min, max]; p = 100 gives max exactly.  0 when the
 * histogram is empty. */
uint64_t lg_hist_percentile(const struct lg_hist *h, double p);

/* The bucket layout, exported for the unit tests. */
size_t	 lg_hist_index(uint64_t value);
uint64_t lg_hist_lowest(size_t index);	/* smallest value in the bucket */
uint64_t lg_hist_width(size_t index);	/* number of values in it */

#endif
