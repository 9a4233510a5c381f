/* check_buf.c - unit tests for the capped byte buffer (buf.h). */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check_suites.h"

START_TEST(test_buf_init_is_lazy)
{
	struct buf b;

	buf_init(&b, 100);
	/* An idle client must cost no buffer memory. */
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.size, 0);
	ck_assert_uint_eq(buf_len(&b), 0);
	ck_assert_uint_eq(b.cap, 100);
	buf_free(&b);
	buf_free(&b);		/* freeing twice is harmless */
	ck_assert_ptr_null(b.data);
}
END_TEST

START_TEST(test_buf_append_consume)
{
	struct buf b;

	buf_init(&b, 100);
	ck_assert_int_eq(buf_append(&b, "hello", 5), 0);
	ck_assert_ptr_nonnull(b.data);
	ck_assert_uint_eq(buf_len(&b), 5);
	ck_assert_mem_eq(buf_head(&b), "hello", 5);
	ck_assert_int_eq(buf_append(&b, " world", 6), 0);
	ck_assert_uint_eq(buf_len(&b), 11);
	ck_assert_mem_eq(buf_head(&b), "hello world", 11);
	buf_consume(&b, 6);
	ck_assert_uint_eq(buf_len(&b), 5);
	ck_assert_mem_eq(buf_head(&b), "world", 5);
	ck_assert_uint_eq(b.end - b.start, 5);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_offsets_snap_to_zero)
{
	struct buf b;
	int i;

	buf_init(&b, 64);
	/* A steady trickle must never walk off the end. */
	for (i = 0; i < 1000; i++) {
		ck_assert_int_eq(buf_append(&b, "abcdefgh", 8), 0);
		buf_consume(&b, 3);
		ck_assert_uint_eq(b.start, 3);
		buf_consume(&b, 5);
		ck_assert_uint_eq(buf_len(&b), 0);
		ck_assert_uint_eq(b.start, 0);
		ck_assert_uint_eq(b.end, 0);
	}
	ck_assert_uint_le(b.size, 64);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_cap_enforced)
{
	struct buf b;
	char big[200];

	memset(big, 'x', sizeof(big));
	buf_init(&b, 10);
	ck_assert_int_eq(buf_append(&b, big, 11), -1);
	ck_assert_uint_eq(buf_len(&b), 0);
	ck_assert_int_eq(buf_append(&b, "0123456", 7), 0);
	/* Nothing at all is appended when it would pass the cap. */
	ck_assert_int_eq(buf_append(&b, "abcd", 4), -1);
	ck_assert_uint_eq(buf_len(&b), 7);
	ck_assert_mem_eq(buf_head(&b), "0123456", 7);
	ck_assert_int_eq(buf_append(&b, "789", 3), 0);
	ck_assert_uint_eq(buf_len(&b), 10);
	ck_assert_int_eq(buf_append(&b, "z", 1), -1);
	ck_assert_mem_eq(buf_head(&b), "0123456789", 10);
	/* Consuming makes room again, even with start > 0. */
	buf_consume(&b, 4);
	ck_assert_int_eq(buf_append(&b, "abcd", 4), 0);
	ck_assert_uint_eq(buf_len(&b), 10);
	ck_assert_mem_eq(buf_head(&b), "456789abcd", 10);
	ck_assert_int_eq(buf_append(&b, "z", 1), -1);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_reserve_commit)
{
	struct buf b;
	size_t room;
	char *p;

	buf_init(&b, 1000);
	p = buf_reserve(&b, 10, &room);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_ge(room, 10);
	ck_assert_uint_le(room, 1000);
	memcpy(p, "abc", 3);
	buf_commit(&b, 3);
	ck_assert_uint_eq(buf_len(&b), 3);
	ck_assert_mem_eq(buf_head(&b), "abc", 3);
	p = buf_reserve(&b, 5, &room);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_ge(room, 5);
	ck_assert_uint_le(room, 997);
	memcpy(p, "defgh", 5);
	buf_commit(&b, 5);
	ck_assert_mem_eq(buf_head(&b), "abcdefgh", 8);
	/* Asking for more than the cap allows gives exactly what is left. */
	p = buf_reserve(&b, 5000, &room);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(room, 992);
	memset(p, 'z', room);
	buf_commit(&b, room);
	ck_assert_uint_eq(buf_len(&b), 1000);
	ck_assert_mem_eq(buf_head(&b), "abcdefghzz", 10);
	/* Full: NULL with *room == 0. */
	room = 12345;
	ck_assert_ptr_null(buf_reserve(&b, 1, &room));
	ck_assert_uint_eq(room, 0);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_reserve_after_consume_keeps_data)
{
	struct buf b;
	size_t room;
	char *p;
	int i;

	buf_init(&b, 16);
	ck_assert_int_eq(buf_append(&b, "0123456789abcdef", 16), 0);
	buf_consume(&b, 10);
	/* 6 bytes left at the tail of the storage: the buffer may move them
	 * to make room, but must keep them. */
	p = buf_reserve(&b, 10, &room);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(room, 10);
	for (i = 0; i < 10; i++)
		p[i] = (char)('A' + i);
	buf_commit(&b, 10);
	ck_assert_uint_eq(buf_len(&b), 16);
	ck_assert_mem_eq(buf_head(&b), "abcdefABCDEFGHIJ", 16);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_partial_commit)
{
	struct buf b;
	size_t room;
	char *p;

	/* recv() usually fills less than was reserved. */
	buf_init(&b, 4096);
	p = buf_reserve(&b, 4096, &room);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(room, 4096);
	memcpy(p, "xy", 2);
	buf_commit(&b, 2);
	buf_commit(&b, 0);
	ck_assert_uint_eq(buf_len(&b), 2);
	p = buf_reserve(&b, 4096, &room);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(room, 4094);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_large)
{
	struct buf b;
	unsigned char *src;
	size_t n = 3 * 1024 * 1024 + 17, i, done = 0, chunk;

	src = malloc(n);
	ck_assert_ptr_nonnull(src);
	for (i = 0; i < n; i++)
		src[i] = (unsigned char)(i * 7 + i / 251);
	buf_init(&b, n);
	while (done < n) {
		chunk = n - done < 100003 ? n - done : 100003;
		ck_assert_int_eq(buf_append(&b, src + done, chunk), 0);
		done += chunk;
	}
	ck_assert_uint_eq(buf_len(&b), n);
	ck_assert_int_eq(memcmp(buf_head(&b), src, n), 0);
	ck_assert_int_eq(buf_append(&b, "x", 1), -1);
	buf_consume(&b, n - 5);
	ck_assert_mem_eq(buf_head(&b), src + n - 5, 5);
	buf_consume(&b, 5);
	ck_assert_uint_eq(b.start, 0);
	ck_assert_uint_eq(b.end, 0);
	buf_free(&b);
	free(src);
}
END_TEST

START_TEST(test_buf_shrink)
{
	struct buf b;
	char big[8192];

	memset(big, 'q', sizeof(big));
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(buf_append(&b, big, sizeof(big)), 0);
	ck_assert_uint_ge(b.size, sizeof(big));
	/* Not empty: shrinking must not lose anything. */
	buf_shrink(&b, 0);
	ck_assert_uint_eq(buf_len(&b), sizeof(big));
	ck_assert_int_eq(memcmp(buf_head(&b), big, sizeof(big)), 0);
	buf_consume(&b, sizeof(big));
	buf_shrink(&b, 1024);
	ck_assert_uint_le(b.size, 1024);
	ck_assert_uint_eq(buf_len(&b), 0);
	/* Still usable afterwards. */
	ck_assert_int_eq(buf_append(&b, "after", 5), 0);
	ck_assert_mem_eq(buf_head(&b), "after", 5);
	buf_consume(&b, 5);
	buf_shrink(&b, 0);
	ck_assert_uint_eq(b.size, 0);
	ck_assert_int_eq(buf_append(&b, big, 3000), 0);
	ck_assert_uint_eq(buf_len(&b), 3000);
	buf_free(&b);
	ck_assert_ptr_null(b.data);
}
END_TEST

Suite *
buf_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_buf_init_is_lazy);
	tcase_add_test(tc, test_buf_append_consume);
	tcase_add_test(tc, test_buf_offsets_snap_to_zero);
	tcase_add_test(tc, test_buf_cap_enforced);
	tcase_add_test(tc, test_buf_reserve_commit);
	tcase_add_test(tc, test_buf_reserve_after_consume_keeps_data);
	tcase_add_test(tc, test_buf_partial_commit);
	tcase_add_test(tc, test_buf_large);
	tcase_add_test(tc, test_buf_shrink);
	suite_add_tcase(s, tc);
	return s;
}
