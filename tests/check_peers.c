/* check_peers.c - the other nodes of a shared room, without sockets. */
#include <check.h>
#include <string.h>

#include "check_suites.h"
#include "peers.h"

static char gone[8][40];
static int ngone;

static void
record_gone(void *arg, const char *nick)
{
	(void)arg;
	if (ngone < 8)
		strcpy(gone[ngone++], nick);
}

START_TEST(test_peers_users_and_expiry)
{
	struct peers ps;
	struct peer *a, *b;

	ck_assert_int_eq(peers_init(&ps), 0);
	a = peers_heard(&ps, "aaaaaaaaaaaaaaaa", 1000);
	b = peers_heard(&ps, "bbbbbbbbbbbbbbbb", 1000);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_eq(peers_heard(&ps, "aaaaaaaaaaaaaaaa", 1500), a);
	ck_assert_uint_eq(ps.n, 2);
	ck_assert(peers_add_user(&ps, "alice", a));
	ck_assert(!peers_add_user(&ps, "Alice", a));	/* case-blind */
	ck_assert(peers_add_user(&ps, "bob", b));
	ck_assert(peers_add_user(&ps, "carol", a));
	/* Only its holder can say a nick is gone. */
	ck_assert(!peers_remove_user(&ps, "bob", a));
	ck_assert(peers_remove_user(&ps, "carol", a));
	ck_assert_uint_eq(ps.users.used, 2);

	/* b silent since 1000, a heard at 1500: at 3100 with a 2000 ms TTL
	 * only b is gone, and its users with it. */
	ngone = 0;
	peers_expire(&ps, 3100, 2000, record_gone, NULL);
	ck_assert_int_eq(ngone, 1);
	ck_assert_str_eq(gone[0], "bob");
	ck_assert_uint_eq(ps.n, 1);
	ck_assert_ptr_null(nickset_find(&ps.users, "bob", 3));
	ck_assert_ptr_eq(nickset_find(&ps.users, "ALICE", 5), a);

	peers_clear(&ps);
	ck_assert_uint_eq(ps.n, 0);
	ck_assert_uint_eq(ps.users.used, 0);
	peers_free(&ps);
}
END_TEST

Suite *
peers_suite(void)
{
	Suite *s = suite_create("peers");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_peers_users_and_expiry);
	suite_add_tcase(s, tc);
	return s;
}
