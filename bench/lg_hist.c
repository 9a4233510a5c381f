/* lg_hist.c - log-linear latency histogram (see lg_hist.h for the layout). */
#include <math.h>
#include <string.h>

#include "lg_hist.h"

size_t
lg_hist_index(uint64_t value)
{
	unsigned exp, sub;

	if (value < LG_HIST_LINEAR)
		return (size_t)value;
	/* exp >= 8: the position of the leading one bit.  The next 7 bits
	 * pick the sub-bucket, the lower ones are what we give up. */
	exp = 63u - (unsigned)__builtin_clzll(value);
	sub = (unsigned)(value >> (exp - LG_HIST_SUB_BITS)) - LG_HIST_SUB;
	return LG_HIST_LINEAR + (size_t)(exp - 8u) * LG_HIST_SUB + sub;
}

uint64_t
lg_hist_lowest(size_t index)
{
	size_t exp, sub;

	if (index < LG_HIST_LINEAR)
		return (uint64_t)index;
	exp = 8 + (index - LG_HIST_LINEAR) / LG_HIST_SUB;
	sub = (index - LG_HIST_LINEAR) % LG_HIST_SUB;
	return (uint64_t)(LG_HIST_SUB + sub) << (exp - LG_HIST_SUB_BITS);
}

uint64_t
lg_hist_width(size_t index)
{
	if (index < LG_HIST_LINEAR)
		return 1;
	return (uint64_t)1 << (8 + (index - LG_HIST_LINEAR) / LG_HIST_SUB -
	    LG_HIST_SUB_BITS);
}

void
lg_hist_init(struct lg_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

void
lg_hist_record(struct lg_hist *h, uint64_t value)
{
	h->bucket[lg_hist_index(value)]++;
	h->count++;
	if (value < h->min)
		h->min = value;
	if (value > h->max)
		h->max = value;
}

void
lg_hist_merge(struct lg_hist *dst, const struct lg_hist *src)
{
	size_t i;

	if (src->count == 0)
		return;
	for (i = 0; i < LG_HIST_BUCKETS; i++)
		dst->bucket[i] += src->bucket[i];
	dst->count += src->count;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t
lg_hist_percentile(const struct lg_hist *h, double p)
{
	uint64_t rank, seen = 0, mid;
	size_t i;

	if (h->count == 0)
		return 0;
	if (p >= 100.0)
		return h->max;
	if (p <= 0.0)
		return h->min;
	rank = (uint64_t)ceil(p / 100.0 * (double)h->count);
	if (rank < 1)
		rank = 1;
	if (rank > h->count)
		rank = h->count;
	for (i = 0; i < LG_HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= rank)
			break;
	}
	if (i == LG_HIST_BUCKETS)
		return h->max;
	/* The midpoint halves the worst-case error against either edge; the
	 * clamp makes single-valued data exact. */
	mid = lg_hist_lowest(i) + (lg_hist_width(i) - 1) / 2;
	if (mid < h->min)
		mid = h->min;
	if (mid > h->max)
		mid = h->max;
	return mid;
}
