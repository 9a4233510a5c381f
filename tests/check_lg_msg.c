/* check_lg_msg.c - loadgen message encoding, corruption detection, sequences. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "lg_msg.h"

/* Would the receiver accept buf as message (id, seq, ts)? */
static bool
lg_test_echo_ok(const uint8_t *buf, size_t size, uint32_t id, uint64_t seq,
    uint64_t ts)
{
	uint32_t gid;
	uint64_t gseq, gts;

	if (lg_echo_decode_header(buf, &gid, &gseq, &gts) == -1)
		return false;
	if (gid != id || gseq != seq || gts != ts)
		return false;
	return lg_echo_body_ok(buf + LG_ECHO_HDR, size - LG_ECHO_HDR,
	    LG_ECHO_HDR, lg_msg_check(id, seq, ts));
}

START_TEST(test_echo_roundtrip)
{
	static const size_t sizes[] = { LG_ECHO_MIN, 64, 1000, 70000 };
	static uint8_t buf[70000];
	uint32_t id;
	uint64_t seq, ts;
	size_t i, off;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		lg_echo_encode(buf, sizes[i], 4242, 123456789012ULL,
		    987654321098765ULL);
		ck_assert_int_eq(lg_echo_decode_header(buf, &id, &seq, &ts), 0);
		ck_assert_uint_eq(id, 4242);
		ck_assert_uint_eq(seq, 123456789012ULL);
		ck_assert_uint_eq(ts, 987654321098765ULL);
		ck_assert(lg_test_echo_ok(buf, sizes[i], 4242, 123456789012ULL,
		    987654321098765ULL));
		/* Checking in pieces, as bytes arrive, gives the same. */
		for (off = LG_ECHO_HDR; off < sizes[i]; off += 7)
			ck_assert(lg_echo_body_ok(buf + off, sizes[i] - off < 7 ?
			    sizes[i] - off : 7, off,
			    lg_msg_check(4242, 123456789012ULL,
			    987654321098765ULL)));
	}
}
END_TEST

START_TEST(test_echo_corruption)
{
	uint8_t good[64], bad[64];
	size_t i;
	int bit;

	/* Every single-bit flip at every position is caught. */
	lg_echo_encode(good, sizeof(good), 7, 99, 5000000);
	for (i = 0; i < sizeof(good); i++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(bad, good, sizeof(good));
			bad[i] ^= (uint8_t)(1u << bit);
			ck_assert_msg(!lg_test_echo_ok(bad, sizeof(bad), 7, 99,
			    5000000), "flip of byte %zu bit %d missed", i, bit);
		}
	}
	/* A zeroed body, or the neighbour's body, is caught too. */
	memcpy(bad, good, sizeof(good));
	memset(bad + LG_ECHO_HDR, 0, sizeof(bad) - LG_ECHO_HDR);
	ck_assert(!lg_test_echo_ok(bad, sizeof(bad), 7, 99, 5000000));
	lg_echo_encode(bad, sizeof(bad), 7, 100, 5000000);
	memcpy(bad, good, LG_ECHO_HDR);
	ck_assert(!lg_test_echo_ok(bad, sizeof(bad), 7, 99, 5000000));
	/* Another connection's message does not pass as ours. */
	lg_echo_encode(bad, sizeof(bad), 8, 99, 5000000);
	ck_assert(!lg_test_echo_ok(bad, sizeof(bad), 7, 99, 5000000));
}
END_TEST

START_TEST(test_chat_roundtrip)
{
	char line[200];
	uint32_t id;
	uint64_t seq, ts;
	size_t i;

	lg_chat_encode(line, 64, 19, 77, 1234567890123ULL);
	ck_assert_int_eq(line[63], '\n');
	for (i = 0; i < 63; i++)
		ck_assert_msg(line[i] >= 0x21 && line[i] < 0x7f,
		    "byte %zu (0x%02x) is not printable", i, line[i]);
	ck_assert_int_ne(line[0], '/');
	ck_assert_int_eq(lg_chat_decode(line, 63, 64, &id, &seq, &ts), 0);
	ck_assert_uint_eq(id, 19);
	ck_assert_uint_eq(seq, 77);
	ck_assert_uint_eq(ts, 1234567890123ULL);
	/* The smallest line and a long one. */
	lg_chat_encode(line, LG_CHAT_MIN, UINT32_MAX, UINT64_MAX, 0);
	ck_assert_int_eq(lg_chat_decode(line, LG_CHAT_MIN - 1, LG_CHAT_MIN,
	    &id, &seq, &ts), 0);
	ck_assert_uint_eq(id, UINT32_MAX);
	ck_assert_uint_eq(seq, UINT64_MAX);
	lg_chat_encode(line, 200, 1, 2, 3);
	ck_assert_ptr_null(memchr(line, '\n', 199));
	ck_assert_int_eq(lg_chat_decode(line, 199, 200, &id, &seq, &ts), 0);
}
END_TEST

START_TEST(test_chat_corruption)
{
	char good[64], bad[64];
	uint32_t id;
	uint64_t seq, ts;
	size_t i;

	lg_chat_encode(good, 64, 3, 4, 5);
	for (i = 0; i < 63; i++) {
		memcpy(bad, good, sizeof(good));
		bad[i] = bad[i] == 'x' ? 'y' : 'x';
		ck_assert_msg(lg_chat_decode(bad, 63, 64, &id, &seq, &ts) == -1,
		    "change at byte %zu missed", i);
	}
	/* Truncated, too long, or uppercase hex. */
	ck_assert_int_eq(lg_chat_decode(good, 62, 64, &id, &seq, &ts), -1);
	ck_assert_int_eq(lg_chat_decode(good, 63, 65, &id, &seq, &ts), -1);
	memcpy(bad, good, sizeof(good));
	lg_chat_encode(bad, 64, 0xab, 4, 5);
	ck_assert_int_eq(lg_chat_decode(bad, 63, 64, &id, &seq, &ts), 0);
	bad[8] = 'B';
	ck_assert_int_eq(lg_chat_decode(bad, 63, 64, &id, &seq, &ts), -1);
}
END_TEST

START_TEST(test_seq_in_order)
{
	struct lg_seq t = { 0 };
	struct lg_integrity in;
	uint64_t newly, i;

	memset(&in, 0, sizeof(in));
	for (i = 0; i < 10; i++) {
		ck_assert_int_eq(lg_seq_accept(&t, i, 0, &in, &newly), LG_SEQ_OK);
		ck_assert_uint_eq(newly, 1);
	}
	ck_assert_uint_eq(lg_seq_lost(&t, 10), 0);
	/* Two sent that never came. */
	ck_assert_uint_eq(lg_seq_lost(&t, 12), 2);
	ck_assert_uint_eq(lg_seq_lost_window(&t, 12, 0), 2);
	ck_assert_uint_eq(in.duplicated + in.reordered + in.corrupted, 0);
}
END_TEST

START_TEST(test_seq_faults)
{
	struct lg_seq t = { 0 };
	struct lg_integrity in;
	uint64_t newly;

	memset(&in, 0, sizeof(in));
	/* 0 1 3: a gap at 2. */
	lg_seq_accept(&t, 0, 0, &in, &newly);
	lg_seq_accept(&t, 1, 0, &in, &newly);
	ck_assert_int_eq(lg_seq_accept(&t, 3, 0, &in, &newly), LG_SEQ_GAP);
	ck_assert_uint_eq(newly, 2);
	ck_assert_uint_eq(lg_seq_lost(&t, 4), 1);
	/* 2 turns up late: reordered, not lost. */
	ck_assert_int_eq(lg_seq_accept(&t, 2, 0, &in, &newly), LG_SEQ_LATE);
	ck_assert_uint_eq(newly, 0);
	ck_assert_uint_eq(in.reordered, 1);
	ck_assert_uint_eq(lg_seq_lost(&t, 4), 0);
	/* 3 again: a duplicate. */
	ck_assert_int_eq(lg_seq_accept(&t, 3, 0, &in, &newly), LG_SEQ_DUP);
	ck_assert_uint_eq(in.duplicated, 1);
	/* An unreadable message takes the next number (4); 5 follows. */
	lg_seq_corrupt(&t, &in);
	ck_assert_uint_eq(in.corrupted, 1);
	ck_assert_int_eq(lg_seq_accept(&t, 5, 0, &in, &newly), LG_SEQ_OK);
	/* 6 and 8 skipped, 9 sent but not back: 3 lost. */
	lg_seq_accept(&t, 7, 0, &in, &newly);
	ck_assert_int_eq(lg_seq_accept(&t, 9, 0, &in, &newly), LG_SEQ_GAP);
	ck_assert_uint_eq(lg_seq_lost(&t, 11), 3);
	ck_assert_uint_eq(in.duplicated, 1);
	ck_assert_uint_eq(in.reordered, 1);
}
END_TEST

START_TEST(test_seq_window)
{
	struct lg_seq t = { 0 };
	struct lg_integrity in;
	uint64_t newly, w = 5;

	/* The window starts at 5.  2 is lost in the warm-up; the gap 4..6
	 * straddles the start; 5 turns up late; 8 and 10 are lost. */
	memset(&in, 0, sizeof(in));
	lg_seq_accept(&t, 0, w, &in, &newly);
	lg_seq_accept(&t, 1, w, &in, &newly);
	lg_seq_accept(&t, 3, w, &in, &newly);
	ck_assert_uint_eq(t.skipped_window, 0);
	ck_assert_int_eq(lg_seq_accept(&t, 7, w, &in, &newly), LG_SEQ_GAP);
	ck_assert_uint_eq(t.skipped, 4);
	ck_assert_uint_eq(t.skipped_window, 2);
	ck_assert_int_eq(lg_seq_accept(&t, 5, w, &in, &newly), LG_SEQ_LATE);
	ck_assert_uint_eq(t.skipped_window, 1);
	lg_seq_accept(&t, 9, w, &in, &newly);
	/* Sent 0..10: lost 2, 4, 6, 8, 10; of those 6, 8, 10 in the window. */
	ck_assert_uint_eq(lg_seq_lost(&t, 11), 5);
	ck_assert_uint_eq(lg_seq_lost_window(&t, 11, w), 3);
	/* A sender still warming up has nothing in the window. */
	memset(&t, 0, sizeof(t));
	lg_seq_accept(&t, 0, UINT64_MAX, &in, &newly);
	lg_seq_accept(&t, 2, UINT64_MAX, &in, &newly);
	ck_assert_uint_eq(lg_seq_lost(&t, 4), 2);
	ck_assert_uint_eq(lg_seq_lost_window(&t, 4, UINT64_MAX), 0);
}
END_TEST

Suite *
lg_msg_suite(void)
{
	Suite *s = suite_create("lg_msg");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_echo_roundtrip);
	tcase_add_test(tc, test_echo_corruption);
	tcase_add_test(tc, test_chat_roundtrip);
	tcase_add_test(tc, test_chat_corruption);
	tcase_add_test(tc, test_seq_in_order);
	tcase_add_test(tc, test_seq_faults);
	tcase_add_test(tc, test_seq_window);
	suite_add_tcase(s, tc);
	return s;
}
