/* check_parse.c - unit tests for strict number parsing (parse.h). */
#include <check.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "check_suites.h"
#include "parse.h"

#define SENTINEL	424242UL

START_TEST(test_parse_ulong_good)
{
	unsigned long v = SENTINEL;
	char s[64];

	ck_assert_int_eq(parse_ulong("0", 0, 10, &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(parse_ulong("10", 0, 10, &v), 0);
	ck_assert_uint_eq(v, 10);
	ck_assert_int_eq(parse_ulong("5", 5, 5, &v), 0);
	ck_assert_uint_eq(v, 5);
	ck_assert_int_eq(parse_ulong("007", 0, 10, &v), 0);
	ck_assert_uint_eq(v, 7);
	ck_assert_int_eq(parse_ulong("65535", 0, 65535, &v), 0);
	ck_assert_uint_eq(v, 65535);
	snprintf(s, sizeof(s), "%lu", ULONG_MAX);
	ck_assert_int_eq(parse_ulong(s, 0, ULONG_MAX, &v), 0);
	ck_assert_uint_eq(v, ULONG_MAX);
}
END_TEST

START_TEST(test_parse_ulong_bad)
{
	static const char *const bad[] = {
		"", " ", "-1", "+1", " 1", "1 ", "1x", "x1", "0x10", "1.5",
		"1e3", "11", "65536", "99999999999999999999999999",
		"18446744073709551616", "1k", "\t1", NULL
	};
	unsigned long v;
	int i;

	for (i = 0; bad[i] != NULL; i++) {
		v = SENTINEL;
		ck_assert_msg(parse_ulong(bad[i], 0, 10, &v) == -1,
		    "\"%s\" accepted", bad[i]);
		ck_assert_msg(v == SENTINEL, "\"%s\" changed *out", bad[i]);
	}
	v = SENTINEL;
	ck_assert_int_eq(parse_ulong("4", 5, 10, &v), -1);
	ck_assert_uint_eq(v, SENTINEL);
	/* Past ULONG_MAX, even when max is ULONG_MAX. */
	ck_assert_int_eq(parse_ulong("18446744073709551616", 0, ULONG_MAX,
	    &v), -1);
	ck_assert_int_eq(parse_ulong("-0", 0, 10, &v), -1);
	ck_assert_uint_eq(v, SENTINEL);
}
END_TEST

START_TEST(test_parse_size)
{
	size_t v = SENTINEL;

	ck_assert_int_eq(parse_size("0", 0, SIZE_MAX, &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(parse_size("4096", 0, SIZE_MAX, &v), 0);
	ck_assert_uint_eq(v, 4096);
	ck_assert_int_eq(parse_size("1k", 0, SIZE_MAX, &v), 0);
	ck_assert_uint_eq(v, 1024);
	ck_assert_int_eq(parse_size("64K", 0, SIZE_MAX, &v), 0);
	ck_assert_uint_eq(v, 65536);
	ck_assert_int_eq(parse_size("1m", 0, SIZE_MAX, &v), 0);
	ck_assert_uint_eq(v, 1048576);
	ck_assert_int_eq(parse_size("3M", 0, SIZE_MAX, &v), 0);
	ck_assert_uint_eq(v, 3 * 1048576);
	ck_assert_int_eq(parse_size("2g", 0, SIZE_MAX, &v), 0);
	ck_assert_uint_eq(v, (size_t)2 << 30);
	ck_assert_int_eq(parse_size("1G", 0, SIZE_MAX, &v), 0);
	ck_assert_uint_eq(v, (size_t)1 << 30);
	ck_assert_int_eq(parse_size("0k", 0, SIZE_MAX, &v), 0);
	ck_assert_uint_eq(v, 0);
}
END_TEST

START_TEST(test_parse_size_bad)
{
	static const char *const bad[] = {
		"", "k", "-1", "-1k", "+1k", "1kb", "1 k", " 1k", "1k ", "1t",
		"1.5k", "kk", "1kk", "0x1k", "99999999999999999999999k",
		"17179869184g", "18014398509481984k", NULL
	};
	size_t v;
	int i;

	for (i = 0; bad[i] != NULL; i++) {
		v = SENTINEL;
		ck_assert_msg(parse_size(bad[i], 0, SIZE_MAX, &v) == -1,
		    "\"%s\" accepted", bad[i]);
		ck_assert_msg(v == SENTINEL, "\"%s\" changed *out", bad[i]);
	}
	/* The range applies after the suffix. */
	v = SENTINEL;
	ck_assert_int_eq(parse_size("2k", 0, 2047, &v), -1);
	ck_assert_int_eq(parse_size("1k", 1025, 4096, &v), -1);
	ck_assert_uint_eq(v, SENTINEL);
	ck_assert_int_eq(parse_size("2k", 0, 2048, &v), 0);
	ck_assert_uint_eq(v, 2048);
}
END_TEST

START_TEST(test_parse_seconds)
{
	double v = -7;

	ck_assert_int_eq(parse_seconds("2", 0, 100, &v), 0);
	ck_assert(v == 2.0);
	ck_assert_int_eq(parse_seconds("0.5", 0, 100, &v), 0);
	ck_assert(v == 0.5);
	ck_assert_int_eq(parse_seconds("1.25", 0, 100, &v), 0);
	ck_assert(v == 1.25);
	ck_assert_int_eq(parse_seconds("0", 0, 100, &v), 0);
	ck_assert(v == 0.0);
	ck_assert_int_eq(parse_seconds("100", 0, 100, &v), 0);
	ck_assert(v == 100.0);
}
END_TEST

START_TEST(test_parse_seconds_bad)
{
	static const char *const bad[] = {
		"", "-1", "abc", "1.5x", "x1", "nan", "inf", "infinity",
		"101", "1s", "1..5", NULL
	};
	double v;
	int i;

	for (i = 0; bad[i] != NULL; i++) {
		v = -7;
		ck_assert_msg(parse_seconds(bad[i], 0, 100, &v) == -1,
		    "\"%s\" accepted", bad[i]);
		ck_assert_msg(v == -7, "\"%s\" changed *out", bad[i]);
	}
	v = -7;
	ck_assert_int_eq(parse_seconds("0.5", 1, 100, &v), -1);
	ck_assert(v == -7);
}
END_TEST

Suite *
parse_suite(void)
{
	Suite *s = suite_create("parse");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_parse_ulong_good);
	tcase_add_test(tc, test_parse_ulong_bad);
	tcase_add_test(tc, test_parse_size);
	tcase_add_test(tc, test_parse_size_bad);
	tcase_add_test(tc, test_parse_seconds);
	tcase_add_test(tc, test_parse_seconds_bad);
	suite_add_tcase(s, tc);
	return s;
}
