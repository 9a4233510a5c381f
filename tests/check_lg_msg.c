/* check_lg_msg.c - loadgen message encoding, corruption detection, sequences. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
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

/* ---- ncat --chat framing ------------------------------------------------ */

#define LG_T_LINES	64

struct lg_t_sink {
	char	 line[LG_T_LINES][256];
	size_t	 len[LG_T_LINES];
	int	 kind[LG_T_LINES];
	int	 n;
};

static void
lg_t_collect(void *arg, enum lg_ncat_kind kind, const char *line, size_t len)
{
	struct lg_t_sink *k = arg;

	ck_assert_int_lt(k->n, LG_T_LINES);
	ck_assert_uint_lt(len, sizeof(k->line[0]));
	if (len > 0)
		memcpy(k->line[k->n], line, len);
	k->len[k->n] = len;
	k->kind[k->n] = (int)kind;
	k->n++;
}

/* Feed s to a fresh deframer in pieces of step bytes (0: all at once). */
static void
lg_t_feed(struct lg_t_sink *k, const char *s, size_t step)
{
	struct lg_ncat f;
	size_t len = strlen(s), off, n;

	memset(k, 0, sizeof(*k));
	ck_assert_int_eq(lg_ncat_init(&f, 128), 0);
	for (off = 0; off < len; off += n) {
		n = step == 0 || len - off < step ? len - off : step;
		lg_ncat_input(&f, s + off, n, lg_t_collect, k);
	}
	lg_ncat_free(&f);
}

/* Is line i of the sink the intact payload of (id, seq)? */
static bool
lg_t_is(const struct lg_t_sink *k, int i, uint32_t id, uint64_t seq)
{
	uint32_t gid;
	uint64_t gseq, gts;

	return i < k->n && k->kind[i] == LG_NCAT_LINE &&
	    lg_chat_decode(k->line[i], k->len[i], 64, &gid, &gseq, &gts) == 0 &&
	    gid == id && gseq == seq && gts == 1000 + seq;
}

/* The 64-byte line of (id, seq) without its LF, as a string. */
static void
lg_t_payload(char out[64], uint32_t id, uint64_t seq)
{
	lg_chat_encode(out, 64, id, seq, 1000 + seq);
	out[63] = '\0';
}

static const size_t lg_t_steps[] = { 0, 1, 2, 3, 7, 64, 1000 };
#define LG_T_NSTEPS	(sizeof(lg_t_steps) / sizeof(lg_t_steps[0]))

START_TEST(test_ncat_prefixes)
{
	char a0[64], a1[64], b0[64], b1[64], in[1024];
	struct lg_t_sink k;
	size_t i;

	lg_t_payload(a0, 1, 0);
	lg_t_payload(a1, 1, 1);
	lg_t_payload(b0, 2, 0);
	lg_t_payload(b1, 2, 1);
	/* What ncat --chat sends: a prefix per read(), not per line. */
	snprintf(in, sizeof(in),
	    "<announce> 127.0.0.1 is connected as <user5>.\n"
	    "<user4> %s\n%s\n"			/* two lines, one prefix */
	    "<user5> %.20s"			/* b0 cut by a read ... */
	    "<user4> %.30s"			/* ... and b1, in between */
	    "<user5> %s\n"			/* b0's rest: prefix mid-line */
	    "<user4> %.10s<user4> %s\n"		/* b1: three prefixes in all */
	    "<announce> <user6> is disconnected.\n",
	    a0, a1, b0, b1, b0 + 20, b1 + 30, b1 + 40);
	for (i = 0; i < LG_T_NSTEPS; i++) {
		lg_t_feed(&k, in, lg_t_steps[i]);
		ck_assert_msg(k.n == 6, "step %zu: %d lines", lg_t_steps[i],
		    k.n);
		ck_assert_int_eq(k.kind[0], LG_NCAT_NOTICE);
		ck_assert(lg_t_is(&k, 1, 1, 0));
		ck_assert(lg_t_is(&k, 2, 1, 1));
		ck_assert_msg(lg_t_is(&k, 3, 2, 0), "step %zu: \"%.*s\"",
		    lg_t_steps[i], (int)k.len[3], k.line[3]);
		ck_assert(lg_t_is(&k, 4, 2, 1));
		ck_assert_int_eq(k.kind[5], LG_NCAT_NOTICE);
	}
}
END_TEST

START_TEST(test_ncat_no_prefix)
{
	char a0[64], a1[64], a2[64], in[512];
	struct lg_t_sink k;
	size_t i;

	/* Lines with no prefix before any prefix, and after a notice (a
	 * server that sends none), between prefixed ones. */
	lg_t_payload(a0, 7, 0);
	lg_t_payload(a1, 7, 1);
	lg_t_payload(a2, 7, 2);
	snprintf(in, sizeof(in), "%s\n<x_9-Z> %s\n<announce> <user4> x\n"
	    "%s\n", a0, a1, a2);
	for (i = 0; i < LG_T_NSTEPS; i++) {
		lg_t_feed(&k, in, lg_t_steps[i]);
		ck_assert_int_eq(k.n, 4);
		ck_assert(lg_t_is(&k, 0, 7, 0));
		ck_assert(lg_t_is(&k, 1, 7, 1));
		ck_assert_int_eq(k.kind[2], LG_NCAT_NOTICE);
		ck_assert(lg_t_is(&k, 3, 7, 2));
	}
	/* A line that is empty once its prefix is gone is passed on. */
	lg_t_feed(&k, "<user4> \n", 0);
	ck_assert_int_eq(k.n, 1);
	ck_assert_int_eq(k.kind[0], LG_NCAT_LINE);
	ck_assert_uint_eq(k.len[0], 0);
}
END_TEST

START_TEST(test_ncat_corruption)
{
	static const char *bad_tags[] = {
		"<user4>",		/* no space after it */
		"<user 4> ",		/* not a name */
		"<> ",			/* empty */
		"<",			/* a lone '<' */
		">",			/* a lone '>' */
		"<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa> "	/* too long */
	};
	char a0[64], bad[64], in[512];
	struct lg_t_sink k;
	size_t i, j, pos;

	lg_t_payload(a0, 3, 9);
	/* Something that is not a whole "<name> " inside a line is data,
	 * so the line does not decode: corruption is not hidden. */
	for (i = 0; i < sizeof(bad_tags) / sizeof(bad_tags[0]); i++) {
		for (pos = 0; pos < 63; pos += 9) {
			snprintf(in, sizeof(in), "<user4> %.*s%s%s\n",
			    (int)pos, a0, bad_tags[i], a0 + pos);
			for (j = 0; j < LG_T_NSTEPS; j++) {
				lg_t_feed(&k, in, lg_t_steps[j]);
				ck_assert_int_eq(k.n, 1);
				ck_assert_msg(!lg_t_is(&k, 0, 3, 9),
				    "\"%s\" at %zu passed", bad_tags[i], pos);
			}
		}
	}
	/* A changed byte of the payload still shows after rejoining. */
	memcpy(bad, a0, sizeof(bad));
	bad[40] = bad[40] == '0' ? '1' : '0';
	snprintf(in, sizeof(in), "<user4> %.30s<user5> x<user4> %s\n", bad,
	    bad + 30);
	lg_t_feed(&k, in, 0);
	ck_assert_int_eq(k.n, 1);
	ck_assert(!lg_t_is(&k, 0, 3, 9));
	/* Two halves of different senders are not glued together. */
	snprintf(in, sizeof(in), "<user4> %.30s\n<user5> %s\n", a0, a0 + 30);
	lg_t_feed(&k, in, 0);
	ck_assert_int_eq(k.n, 2);
	ck_assert(!lg_t_is(&k, 0, 3, 9) && !lg_t_is(&k, 1, 3, 9));
	/* An overlong line is one bad line, and the next is fine. */
	memset(in, 'a', 300);
	snprintf(in + 300, sizeof(in) - 300, "\n<user4> %s\n", a0);
	lg_t_feed(&k, in, 0);
	ck_assert_int_eq(k.n, 2);
	ck_assert_int_eq(k.kind[0], LG_NCAT_BAD);
	ck_assert(lg_t_is(&k, 1, 3, 9));
}
END_TEST

START_TEST(test_ncat_slots)
{
	struct lg_ncat f;
	struct lg_t_sink k;
	char a[LG_NCAT_SLOTS + 1][64], in[128];
	int i, bad = 0, good = 0;

	/* One more sender with half a line open than there are slots: the
	 * oldest half is given up as bad, the others are rejoined. */
	memset(&k, 0, sizeof(k));
	ck_assert_int_eq(lg_ncat_init(&f, 128), 0);
	for (i = 0; i <= LG_NCAT_SLOTS; i++) {
		lg_t_payload(a[i], (uint32_t)i, 0);
		snprintf(in, sizeof(in), "<user%d> %.20s", i, a[i]);
		lg_ncat_input(&f, in, strlen(in), lg_t_collect, &k);
	}
	ck_assert_int_eq(k.n, 1);
	ck_assert_int_eq(k.kind[0], LG_NCAT_BAD);
	ck_assert_uint_eq(k.len[0], 20);
	ck_assert_mem_eq(k.line[0], a[0], 20);
	for (i = 1; i <= LG_NCAT_SLOTS; i++) {
		snprintf(in, sizeof(in), "<user%d> %s\n", i, a[i] + 20);
		lg_ncat_input(&f, in, strlen(in), lg_t_collect, &k);
	}
	lg_ncat_free(&f);
	for (i = 1; i < k.n; i++) {
		if (lg_t_is(&k, i, (uint32_t)i, 0))
			good++;
		else
			bad++;
	}
	ck_assert_int_eq(good, LG_NCAT_SLOTS);
	ck_assert_int_eq(bad, 0);
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
	tcase_add_test(tc, test_ncat_prefixes);
	tcase_add_test(tc, test_ncat_no_prefix);
	tcase_add_test(tc, test_ncat_corruption);
	tcase_add_test(tc, test_ncat_slots);
	suite_add_tcase(s, tc);
	return s;
}
