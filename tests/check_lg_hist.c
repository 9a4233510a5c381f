/* check_lg_hist.c - the loadgen's latency histogram against known data. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "lg_hist.h"

static const double lg_test_pcts[] = { 1, 10, 25, 50, 75, 90, 99, 99.9, 100 };
#define NPCTS	(sizeof(lg_test_pcts) / sizeof(lg_test_pcts[0]))

/* xorshift64*: deterministic, so a failure reproduces. */
static uint64_t lg_test_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
lg_test_rand(void)
{
	lg_test_state ^= lg_test_state >> 12;
	lg_test_state ^= lg_test_state << 25;
	lg_test_state ^= lg_test_state >> 27;
	return lg_test_state * 2685821657736338717ULL;
}

/* Uniform in (0, 1). */
static double
lg_test_unit(void)
{
	return ((double)(lg_test_rand() >> 11) + 0.5) / 9007199254740992.0;
}

static int
lg_test_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Same rank rule as the histogram: the ceil(p/100 * n)-th smallest. */
static uint64_t
lg_test_exact(const uint64_t *sorted, size_t n, double p)
{
	size_t rank = (size_t)ceil(p / 100.0 * (double)n);

	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

/* Record v[0..n), then every percentile must be within 1% of the truth. */
static void
lg_test_against(uint64_t *v, size_t n, const char *what)
{
	struct lg_hist *h = malloc(sizeof(*h));
	uint64_t want, got;
	double err;
	size_t i;

	ck_assert_ptr_nonnull(h);
	lg_hist_init(h);
	for (i = 0; i < n; i++)
		lg_hist_record(h, v[i]);
	qsort(v, n, sizeof(*v), lg_test_cmp);
	ck_assert_uint_eq(h->count, n);
	ck_assert_uint_eq(h->min, v[0]);
	ck_assert_uint_eq(h->max, v[n - 1]);
	for (i = 0; i < NPCTS; i++) {
		want = lg_test_exact(v, n, lg_test_pcts[i]);
		got = lg_hist_percentile(h, lg_test_pcts[i]);
		err = fabs((double)got - (double)want) / (double)want;
		ck_assert_msg(err <= 0.01, "%s p%g: got %llu want %llu (%.3f%%)",
		    what, lg_test_pcts[i], (unsigned long long)got,
		    (unsigned long long)want, err * 100);
	}
	free(h);
}

START_TEST(test_hist_layout)
{
	uint64_t low, width;
	size_t i;

	/* Every bucket holds exactly [low, low + width), buckets tile the
	 * line, and no bucket is wider than 1/128 of its values. */
	for (i = 0; i < LG_HIST_BUCKETS; i++) {
		low = lg_hist_lowest(i);
		width = lg_hist_width(i);
		ck_assert_uint_eq(lg_hist_index(low), i);
		ck_assert_uint_eq(lg_hist_index(low + width - 1), i);
		if (i + 1 < LG_HIST_BUCKETS)
			ck_assert_uint_eq(lg_hist_lowest(i + 1), low + width);
		if (i >= LG_HIST_LINEAR)
			ck_assert_uint_le(width * 128, low);
		else
			ck_assert_uint_eq(width, 1);
	}
	ck_assert_uint_eq(lg_hist_index(UINT64_MAX), LG_HIST_BUCKETS - 1);
	/* Constant memory: a fixed struct, whatever is recorded. */
	ck_assert_uint_lt(sizeof(struct lg_hist), 64 * 1024);
}
END_TEST

START_TEST(test_hist_exact_values)
{
	struct lg_hist h;
	uint64_t v;
	int i;

	lg_hist_init(&h);
	ck_assert_uint_eq(lg_hist_percentile(&h, 50), 0);
	for (i = 0; i < 1000; i++)
		lg_hist_record(&h, 123457);
	ck_assert_uint_eq(lg_hist_percentile(&h, 0), 123457);
	ck_assert_uint_eq(lg_hist_percentile(&h, 50), 123457);
	ck_assert_uint_eq(lg_hist_percentile(&h, 99.9), 123457);
	ck_assert_uint_eq(lg_hist_percentile(&h, 100), 123457);

	/* Small values are kept exactly: 0..255 once each. */
	lg_hist_init(&h);
	for (v = 0; v < 256; v++)
		lg_hist_record(&h, v);
	ck_assert_uint_eq(lg_hist_percentile(&h, 50), 127);
	ck_assert_uint_eq(lg_hist_percentile(&h, 25), 63);
	ck_assert_uint_eq(lg_hist_percentile(&h, 100), 255);

	/* Two values far apart: the percentile picks the right one, and
	 * the maximum (60 s) is exact. */
	lg_hist_init(&h);
	for (i = 0; i < 99; i++)
		lg_hist_record(&h, 1000);
	lg_hist_record(&h, 60000000000ULL);
	/* 1000 shares a 4 ns wide bucket: within 1%, not exact. */
	ck_assert_uint_ge(lg_hist_percentile(&h, 99), 1000);
	ck_assert_uint_le(lg_hist_percentile(&h, 99), 1010);
	ck_assert_uint_ge(lg_hist_percentile(&h, 99.5), 59400000000ULL);
	ck_assert_uint_le(lg_hist_percentile(&h, 99.5), 60000000000ULL);
	ck_assert_uint_eq(lg_hist_percentile(&h, 100), 60000000000ULL);
}
END_TEST

#define NSAMPLES 200000

START_TEST(test_hist_uniform)
{
	uint64_t *v = malloc(NSAMPLES * sizeof(*v));
	size_t i;

	ck_assert_ptr_nonnull(v);
	/* 1 us to 10 ms, uniform. */
	for (i = 0; i < NSAMPLES; i++)
		v[i] = 1000 + lg_test_rand() % 9999000;
	lg_test_against(v, NSAMPLES, "uniform");
	free(v);
}
END_TEST

START_TEST(test_hist_exponential)
{
	uint64_t *v = malloc(NSAMPLES * sizeof(*v));
	size_t i;

	ck_assert_ptr_nonnull(v);
	/* Mean 50 us, plus a 1 us floor: a long tail like real latency. */
	for (i = 0; i < NSAMPLES; i++)
		v[i] = 1000 + (uint64_t)(-50000.0 * log(lg_test_unit()));
	lg_test_against(v, NSAMPLES, "exponential");
	free(v);
}
END_TEST

START_TEST(test_hist_log_uniform)
{
	uint64_t *v = malloc(NSAMPLES * sizeof(*v));
	size_t i;

	ck_assert_ptr_nonnull(v);
	/* Spread evenly over every decade from 1 us to 60 s. */
	for (i = 0; i < NSAMPLES; i++)
		v[i] = (uint64_t)(1000.0 * pow(6e7, lg_test_unit()));
	lg_test_against(v, NSAMPLES, "log-uniform");
	free(v);
}
END_TEST

START_TEST(test_hist_merge)
{
	struct lg_hist *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b)),
	    *all = malloc(sizeof(*all));
	uint64_t x;
	int i;

	ck_assert(a != NULL && b != NULL && all != NULL);
	lg_hist_init(a);
	lg_hist_init(b);
	lg_hist_init(all);
	for (i = 0; i < 10000; i++) {
		x = 500 + lg_test_rand() % 5000000;
		lg_hist_record(i % 3 ? a : b, x);
		lg_hist_record(all, x);
	}
	lg_hist_merge(a, b);
	ck_assert_uint_eq(a->count, all->count);
	ck_assert_uint_eq(a->min, all->min);
	ck_assert_uint_eq(a->max, all->max);
	for (i = 0; i < (int)NPCTS; i++)
		ck_assert_uint_eq(lg_hist_percentile(a, lg_test_pcts[i]),
		    lg_hist_percentile(all, lg_test_pcts[i]));
	free(a);
	free(b);
	free(all);
}
END_TEST

Suite *
lg_hist_suite(void)
{
	Suite *s = suite_create("lg_hist");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_hist_layout);
	tcase_add_test(tc, test_hist_exact_values);
	tcase_add_test(tc, test_hist_uniform);
	tcase_add_test(tc, test_hist_exponential);
	tcase_add_test(tc, test_hist_log_uniform);
	tcase_add_test(tc, test_hist_merge);
	suite_add_tcase(s, tc);
	return s;
}
