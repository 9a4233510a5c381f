/* check_nickset.c - the case-blind nick set behind /nick. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check_suites.h"
#include "nickset.h"

static struct nickset ns;
static int owner_a, owner_b;

static void
ns_setup(void)
{
	ck_assert_int_eq(nickset_init(&ns, 4), 0);
}

static void
ns_teardown(void)
{
	nickset_free(&ns);
}

START_TEST(test_nickset_add_find_case_blind)
{
	ck_assert_int_eq(nickset_add(&ns, "Alice", 5, &owner_a), 0);
	ck_assert_ptr_eq(nickset_find(&ns, "alice", 5), &owner_a);
	ck_assert_ptr_eq(nickset_find(&ns, "ALICE", 5), &owner_a);
	ck_assert_ptr_null(nickset_find(&ns, "alic", 4));
	ck_assert_ptr_null(nickset_find(&ns, "alicex", 6));
	/* Taken whatever the case, by anyone. */
	errno = 0;
	ck_assert_int_eq(nickset_add(&ns, "aLiCe", 5, &owner_b), -1);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_uint_eq(ns.used, 1);
}
END_TEST

START_TEST(test_nickset_remove_only_by_owner)
{
	ck_assert_int_eq(nickset_add(&ns, "bob", 3, &owner_a), 0);
	ck_assert_int_eq(nickset_remove(&ns, "BOB", 3, &owner_b), -1);
	ck_assert_ptr_eq(nickset_find(&ns, "bob", 3), &owner_a);
	ck_assert_int_eq(nickset_remove(&ns, "BOB", 3, &owner_a), 0);
	ck_assert_ptr_null(nickset_find(&ns, "bob", 3));
	ck_assert_int_eq(nickset_remove(&ns, "bob", 3, &owner_a), -1);
	/* Free again for anyone. */
	ck_assert_int_eq(nickset_add(&ns, "bob", 3, &owner_b), 0);
	ck_assert_ptr_eq(nickset_find(&ns, "bob", 3), &owner_b);
}
END_TEST

START_TEST(test_nickset_bad_length)
{
	char longest[CHAT_NICK_MAX + 1];

	memset(longest, 'n', sizeof(longest));
	ck_assert_int_eq(nickset_add(&ns, "", 0, &owner_a), -1);
	ck_assert_int_eq(nickset_add(&ns, longest, CHAT_NICK_MAX + 1,
	    &owner_a), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(nickset_add(&ns, longest, CHAT_NICK_MAX, &owner_a), 0);
	ck_assert_ptr_eq(nickset_find(&ns, longest, CHAT_NICK_MAX), &owner_a);
}
END_TEST

/* Thousands of joins and leaves: every live nick found, every gone one
 * not, and deleted slots do not pile up past the load limit. */
START_TEST(test_nickset_churn)
{
	static int owners[10000];
	char nick[32];
	int i, len, round;

	for (round = 0; round < 3; round++) {
		for (i = 0; i < 10000; i++) {
			len = snprintf(nick, sizeof(nick), "user%d", i);
			ck_assert_int_eq(nickset_add(&ns, nick, (size_t)len,
			    &owners[i]), 0);
		}
		for (i = 0; i < 10000; i += 2) {
			len = snprintf(nick, sizeof(nick), "USER%d", i);
			ck_assert_int_eq(nickset_remove(&ns, nick, (size_t)len,
			    &owners[i]), 0);
		}
		for (i = 0; i < 10000; i++) {
			void *want = i % 2 ? &owners[i] : NULL;

			len = snprintf(nick, sizeof(nick), "user%d", i);
			if (nickset_find(&ns, nick, (size_t)len) != want)
				ck_abort_msg("round %d: %s wrong", round, nick);
		}
		ck_assert_uint_eq(ns.used, 5000);
		ck_assert_uint_le((ns.used + ns.deleted) * 2, ns.cap);
		for (i = 1; i < 10000; i += 2) {
			len = snprintf(nick, sizeof(nick), "user%d", i);
			ck_assert_int_eq(nickset_remove(&ns, nick, (size_t)len,
			    &owners[i]), 0);
		}
		ck_assert_uint_eq(ns.used, 0);
	}
}
END_TEST

Suite *
nickset_suite(void)
{
	Suite *s = suite_create("nickset");
	TCase *tc = tcase_create("nickset");

	tcase_add_checked_fixture(tc, ns_setup, ns_teardown);
	tcase_add_test(tc, test_nickset_add_find_case_blind);
	tcase_add_test(tc, test_nickset_remove_only_by_owner);
	tcase_add_test(tc, test_nickset_bad_length);
	tcase_add_test(tc, test_nickset_churn);
	suite_add_tcase(s, tc);
	return s;
}
