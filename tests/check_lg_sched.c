/* check_lg_sched.c - the open-loop schedule: even spacing and stagger. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "lg_sched.h"

START_TEST(test_sched_interval)
{
	struct lg_sched s;

	lg_sched_init(&s, 0, 1, 10);
	ck_assert_uint_eq(s.interval, 100000000);
	lg_sched_init(&s, 0, 1, 3);
	ck_assert_uint_eq(s.interval, 333333333);
	lg_sched_init(&s, 0, 1, 0.5);
	ck_assert_uint_eq(s.interval, 2000000000);
	/* Absurd rates still make progress. */
	lg_sched_init(&s, 0, 1, 1e12);
	ck_assert_uint_eq(s.interval, 1);
}
END_TEST

START_TEST(test_sched_stagger)
{
	struct lg_sched s;
	uint32_t c;

	/* 4 connections at 10/s: 100 ms period, offsets 0, 25, 50, 75 ms. */
	lg_sched_init(&s, 1000, 4, 10);
	for (c = 0; c < 4; c++) {
		ck_assert_uint_eq(lg_sched_time(&s, c, 0), 1000 + c * 25000000ULL);
		ck_assert_uint_eq(lg_sched_time(&s, c, 7),
		    1000 + 700000000ULL + c * 25000000ULL);
	}
}
END_TEST

START_TEST(test_sched_order)
{
	struct lg_sched s;
	uint64_t *last_seq, prev = 0, t, seq, gap, lo, hi;
	uint32_t n = 7, c;
	int i;

	/* 7 connections at 1000/s: interval 1 ms, ticks 142857 or
	 * 142858 ns apart, in round-robin order, never out of time order. */
	lg_sched_init(&s, 5000, n, 1000);
	lo = s.interval / n;
	hi = (s.interval + n - 1) / n;
	last_seq = calloc(n, sizeof(*last_seq));
	ck_assert_ptr_nonnull(last_seq);
	for (i = 0; i < 70000; i++) {
		t = lg_sched_next_time(&s);
		lg_sched_take(&s, &c, &seq);
		ck_assert_uint_eq(c, (uint32_t)(i % n));
		ck_assert_uint_eq(seq, (uint64_t)i / n);
		ck_assert_uint_eq(t, lg_sched_time(&s, c, seq));
		if (i > 0) {
			gap = t - prev;
			ck_assert_msg(gap >= lo && gap <= hi,
			    "tick %d: gap %llu not in [%llu, %llu]", i,
			    (unsigned long long)gap, (unsigned long long)lo,
			    (unsigned long long)hi);
		}
		/* One connection's sends are exactly one interval apart. */
		if (seq > 0)
			ck_assert_uint_eq(t - lg_sched_time(&s, c, seq - 1),
			    s.interval);
		last_seq[c] = seq;
		prev = t;
	}
	free(last_seq);
}
END_TEST

START_TEST(test_sched_count_in_window)
{
	struct lg_sched s;
	uint64_t end, count = 0, seq;
	uint32_t c, n = 100;

	/* 100 connections at 10/s for 2.5 s: 2,500 sends. */
	lg_sched_init(&s, 1000000, n, 10);
	end = 1000000 + 2500000000ULL;
	while (lg_sched_next_time(&s) < end) {
		lg_sched_take(&s, &c, &seq);
		count++;
	}
	ck_assert_uint_eq(count, 2500);
	/* No drift after a long run: message 36,000,000 of connection 0
	 * (an hour at 10,000/s) is due exactly an hour later. */
	lg_sched_init(&s, 0, 1, 10000);
	ck_assert_uint_eq(lg_sched_time(&s, 0, 36000000), 3600000000000ULL);
}
END_TEST

Suite *
lg_sched_suite(void)
{
	Suite *s = suite_create("lg_sched");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_sched_interval);
	tcase_add_test(tc, test_sched_stagger);
	tcase_add_test(tc, test_sched_order);
	tcase_add_test(tc, test_sched_count_in_window);
	suite_add_tcase(s, tc);
	return s;
}
