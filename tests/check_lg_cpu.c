/* check_lg_cpu.c - parsing /proc/PID/stat for the server's CPU time. */
#include <check.h>
#include <stdint.h>
#include <unistd.h>

#include "lg_cpu.h"

START_TEST(test_cpu_parse_stat)
{
	uint64_t ut, st;

	ck_assert_int_eq(lg_cpu_parse_stat("1234 (pollserv) R 1 1234 1234 0 -1 "
	    "4194304 100 0 0 0 517 31 0 0 20 0 1 0 12345 1000 100 "
	    "18446744073709551615", &ut, &st), 0);
	ck_assert_uint_eq(ut, 517);
	ck_assert_uint_eq(st, 31);
	/* A command name with spaces and parentheses of its own. */
	ck_assert_int_eq(lg_cpu_parse_stat("99 (a) b (c)) S 1 2 3 4 5 6 7 8 9 "
	    "10 42 43 0 0", &ut, &st), 0);
	ck_assert_uint_eq(ut, 42);
	ck_assert_uint_eq(st, 43);
	/* Truncated text fails instead of reading garbage. */
	ck_assert_int_eq(lg_cpu_parse_stat("99 (x) S 1 2 3", &ut, &st), -1);
	ck_assert_int_eq(lg_cpu_parse_stat("no parens", &ut, &st), -1);
}
END_TEST

START_TEST(test_cpu_read)
{
	struct lg_cpu a, b;
	volatile unsigned long spin = 0;
	unsigned long i;

	ck_assert_int_eq(lg_cpu_read_pid(getpid(), &a), 0);
	ck_assert_int_eq(lg_cpu_read_self(&b), 0);
	ck_assert(a.user >= 0 && a.sys >= 0);
	/* Burn some CPU: our own counter must not go backwards. */
	for (i = 0; i < 20000000UL; i++)
		spin += i;
	ck_assert_int_eq(lg_cpu_read_self(&a), 0);
	ck_assert(a.user + a.sys >= b.user + b.sys);
	/* pid 0 has no /proc entry of its own. */
	ck_assert_int_eq(lg_cpu_read_pid(0, &a), -1);
}
END_TEST

Suite *
lg_cpu_suite(void)
{
	Suite *s = suite_create("lg_cpu");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_cpu_parse_stat);
	tcase_add_test(tc, test_cpu_read);
	suite_add_tcase(s, tc);
	return s;
}
