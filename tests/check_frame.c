/* check_frame.c - unit tests for LF line framing (frame.h). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_suites.h"
#include "frame.h"

/*
 * A model caller, the way the server uses the framer: an input buffer of
 * frame_buffer_size(max_line) bytes, chunks appended as they "arrive",
 * frame_next() until it needs more, frame_finish() at EOF.  What it saw is
 * written to a transcript: "L<len>:<bytes>|" for a line, "T|" for a
 * too-long report, "F<len>:<bytes>|" for a line delivered at EOF.
 * DISCARDED is not written, since how many of those there are depends on
 * the chunking; everything else must not.
 */
struct model {
	struct framer f;
	char   *buf;
	size_t	len, cap;
	char	out[65536];
	size_t	outlen;
	int	stalled;	/* buffer full and the framer wants more */
	int	bad;		/* consumed past the data, or looped */
};

static void
model_init(struct model *m, size_t max_line)
{
	memset(m, 0, sizeof(*m));
	frame_init(&m->f, max_line);
	m->cap = frame_buffer_size(max_line);
	m->buf = malloc(m->cap);
	if (m->buf == NULL)
		ck_abort_msg("out of memory");
}

static void
model_log(struct model *m, char tag, const char *p, size_t n, int with_data)
{
	int w;

	if (with_data)
		w = snprintf(m->out + m->outlen, sizeof(m->out) - m->outlen,
		    "%c%zu:", tag, n);
	else
		w = snprintf(m->out + m->outlen, sizeof(m->out) - m->outlen,
		    "%c", tag);
	/* Plain ifs: a passing ck_assert costs a message to Check's parent
	 * process, and this runs thousands of times. */
	if (w <= 0 || m->outlen + (size_t)w + n + 2 >= sizeof(m->out))
		ck_abort_msg("transcript overflow");
	m->outlen += (size_t)w;
	if (with_data) {
		memcpy(m->out + m->outlen, p, n);
		m->outlen += n;
	}
	m->out[m->outlen++] = '|';
	m->out[m->outlen] = '\0';
}

/* Run the framer over what is buffered until it needs more. */
static void
model_drain(struct model *m)
{
	struct frame fr;
	enum frame_status st;
	int guard = 0;

	for (;;) {
		memset(&fr, 0, sizeof(fr));
		st = frame_next(&m->f, m->buf, m->len, &fr);
		if (st == FRAME_NEED_MORE) {
			if (fr.consumed != 0)
				m->bad = 1;
			if (m->len == m->cap)
				m->stalled = 1;
			return;
		}
		if (fr.consumed > m->len || ++guard > 100000) {
			m->bad = 1;
			return;
		}
		if (st == FRAME_LINE) {
			/* The line points into the caller's data. */
			if (fr.line < m->buf || fr.line + fr.len > m->buf + m->len)
				m->bad = 1;
			else
				model_log(m, 'L', fr.line, fr.len, 1);
		} else if (st == FRAME_TOO_LONG)
			model_log(m, 'T', NULL, 0, 0);
		memmove(m->buf, m->buf + fr.consumed, m->len - fr.consumed);
		m->len -= fr.consumed;
	}
}

static void
model_feed(struct model *m, const char *p, size_t n)
{
	size_t take;

	while (n > 0 && !m->stalled && !m->bad) {
		take = m->cap - m->len < n ? m->cap - m->len : n;
		memcpy(m->buf + m->len, p, take);
		m->len += take;
		p += take;
		n -= take;
		model_drain(m);
	}
}

static void
model_finish(struct model *m)
{
	struct frame fr;
	enum frame_status st;

	memset(&fr, 0, sizeof(fr));
	st = frame_finish(&m->f, m->buf, m->len, &fr);
	if (st == FRAME_LINE)
		model_log(m, 'F', fr.line, fr.len, 1);
	else if (st == FRAME_TOO_LONG)
		model_log(m, 'T', NULL, 0, 0);
	free(m->buf);
	m->buf = NULL;
}

/* Frame data in one piece and compare the transcript. */
static void
check_frames(size_t max_line, const char *data, size_t n, const char *want,
    size_t wantlen)
{
	struct model m;

	model_init(&m, max_line);
	model_feed(&m, data, n);
	ck_assert_msg(!m.stalled, "framer stalled with a full buffer");
	ck_assert_msg(!m.bad, "framer consumed badly");
	model_finish(&m);
	ck_assert_msg(m.outlen == wantlen && memcmp(m.out, want, wantlen) == 0,
	    "max_line %zu: want \"%.*s\", got \"%s\"", max_line, (int)wantlen,
	    want, m.out);
}

#define CHECK_FRAMES(max, data, want) \
	check_frames((max), (data), sizeof(data) - 1, (want), sizeof(want) - 1)

START_TEST(test_frame_buffer_size)
{
	ck_assert_uint_eq(frame_buffer_size(4096), 4098);
	ck_assert_uint_eq(frame_buffer_size(1), 3);
}
END_TEST

START_TEST(test_frame_need_more)
{
	struct framer f;
	struct frame fr;

	frame_init(&f, 100);
	fr.consumed = 99;
	ck_assert_int_eq(frame_next(&f, "abc", 3, &fr), FRAME_NEED_MORE);
	ck_assert_uint_eq(fr.consumed, 0);
	fr.consumed = 99;
	ck_assert_int_eq(frame_next(&f, "", 0, &fr), FRAME_NEED_MORE);
	ck_assert_uint_eq(fr.consumed, 0);
	/* A CR might be the start of CRLF: wait. */
	ck_assert_int_eq(frame_next(&f, "abc\r", 4, &fr), FRAME_NEED_MORE);
}
END_TEST

START_TEST(test_frame_one_line)
{
	const char data[] = "hello\nwor";
	struct framer f;
	struct frame fr;

	frame_init(&f, 100);
	ck_assert_int_eq(frame_next(&f, data, 9, &fr), FRAME_LINE);
	ck_assert_ptr_eq(fr.line, data);
	ck_assert_uint_eq(fr.len, 5);
	ck_assert_uint_eq(fr.consumed, 6);
	ck_assert_int_eq(frame_next(&f, data + 6, 3, &fr), FRAME_NEED_MORE);
}
END_TEST

START_TEST(test_frame_crlf)
{
	struct framer f;
	struct frame fr;

	frame_init(&f, 100);
	ck_assert_int_eq(frame_next(&f, "hi\r\n", 4, &fr), FRAME_LINE);
	ck_assert_uint_eq(fr.len, 2);
	ck_assert_uint_eq(fr.consumed, 4);
	ck_assert_mem_eq(fr.line, "hi", 2);
	ck_assert_int_eq(frame_next(&f, "\r\n", 2, &fr), FRAME_LINE);
	ck_assert_uint_eq(fr.len, 0);
	ck_assert_uint_eq(fr.consumed, 2);
}
END_TEST

START_TEST(test_frame_transcripts)
{
	/* Several lines in one read. */
	CHECK_FRAMES(100, "a\nbb\nccc\n", "L1:a|L2:bb|L3:ccc|");
	/* Empty lines are lines; the chat layer ignores them. */
	CHECK_FRAMES(100, "\n\r\n\n", "L0:|L0:|L0:|");
	/* Only a CR directly before the LF goes. */
	CHECK_FRAMES(100, "a\rb\n", "L3:a\rb|");
	CHECK_FRAMES(100, "\rab\n", "L3:\rab|");
	CHECK_FRAMES(100, "ab\r\r\n", "L3:ab\r|");
	CHECK_FRAMES(100, "ab\n\r\n", "L2:ab|L0:|");
	/* 8-bit clean: NUL and high bytes stay. */
	CHECK_FRAMES(100, "a\0b\n\xff\xfe\0\n", "L3:a\0b|L3:\xff\xfe\0|");
	/* Exactly max_line is fine, with or without its CR. */
	CHECK_FRAMES(4, "abcd\n", "L4:abcd|");
	CHECK_FRAMES(4, "abcd\r\n", "L4:abcd|");
	/* One more is too long, reported once, the rest dropped to LF. */
	CHECK_FRAMES(4, "abcde\nok\n", "T|L2:ok|");
	CHECK_FRAMES(4, "abcde\r\nok\n", "T|L2:ok|");
	CHECK_FRAMES(4, "abcd\r\r\nok\n", "T|L2:ok|");
	CHECK_FRAMES(4, "abcd\rx\nok\n", "T|L2:ok|");
	CHECK_FRAMES(4, "0123456789012345678901234567890123456789\nok\n",
	    "T|L2:ok|");
	CHECK_FRAMES(4, "0123456789\n\nx\n", "T|L0:|L1:x|");
	CHECK_FRAMES(4, "0123456789\n0123456789\n", "T|T|");
	CHECK_FRAMES(4, "ab\n0123456789\ncd\n", "L2:ab|T|L2:cd|");
	/* EOF: an unterminated tail is a final line... */
	CHECK_FRAMES(100, "a\nlast", "L1:a|F4:last|");
	CHECK_FRAMES(4, "abcd", "F4:abcd|");
	CHECK_FRAMES(100, "a\0", "F2:a\0|");
	/* ...unless it is an overlong line, which is reported just once. */
	CHECK_FRAMES(4, "0123456789", "T|");
	CHECK_FRAMES(4, "ab\nabcde", "L2:ab|T|");
	CHECK_FRAMES(4, "0123456789\nab", "T|F2:ab|");
	/* Nothing at all, or only complete lines: nothing at EOF. */
	CHECK_FRAMES(100, "", "");
	CHECK_FRAMES(100, "x\n", "L1:x|");
}
END_TEST

START_TEST(test_frame_exact_default_max)
{
	size_t n = 4096;
	char *data = malloc(2 * n + 10);
	char want[64];
	struct model m;

	ck_assert_ptr_nonnull(data);
	memset(data, 'x', n);
	data[n] = '\n';
	model_init(&m, n);
	model_feed(&m, data, n + 1);
	ck_assert(!m.stalled && !m.bad);
	snprintf(want, sizeof(want), "L%zu:", n);
	ck_assert_int_eq(strncmp(m.out, want, strlen(want)), 0);
	ck_assert_uint_eq(m.outlen, strlen(want) + n + 1);
	model_finish(&m);

	memset(data, 'y', n + 1);
	data[n + 1] = '\n';
	memcpy(data + n + 2, "z\n", 2);
	model_init(&m, n);
	model_feed(&m, data, n + 4);
	ck_assert(!m.stalled && !m.bad);
	model_finish(&m);
	ck_assert_str_eq(m.out, "T|L1:z|");
	free(data);
}
END_TEST

START_TEST(test_frame_too_long_once_across_chunks)
{
	struct model m;
	int i;

	model_init(&m, 8);
	for (i = 0; i < 1000; i++)
		model_feed(&m, "q", 1);
	ck_assert(!m.stalled && !m.bad);
	ck_assert_str_eq(m.out, "T|");
	model_feed(&m, "tail\r\nnext\n", 11);
	model_finish(&m);
	ck_assert_str_eq(m.out, "T|L4:next|");
}
END_TEST

/* The same bytes split at every possible point (and into single bytes)
 * must frame the same way as in one piece. */
START_TEST(test_frame_split_everywhere)
{
	static const char data[] =
	    "one\r\ntwo\n\nthree\rx\n0123456789abcdef\r\nok\r\r\n"
	    "a\0b\nabcdefgh\r\nabcdefg\r\nabcdefghi\nend";
	size_t n = sizeof(data) - 1, i, j;
	struct model whole, part;

	model_init(&whole, 8);
	model_feed(&whole, data, n);
	model_finish(&whole);
	ck_assert(!whole.stalled && !whole.bad);
	ck_assert_mem_eq(whole.out,
	    "L3:one|L3:two|L0:|L7:three\rx|T|L3:ok\r|L3:a\0b|L8:abcdefgh|"
	    "L7:abcdefg|T|F3:end|", whole.outlen);

	for (i = 0; i <= n; i++) {
		for (j = i; j <= n; j++) {
			model_init(&part, 8);
			model_feed(&part, data, i);
			model_feed(&part, data + i, j - i);
			model_feed(&part, data + j, n - j);
			model_finish(&part);
			if (part.stalled || part.bad)
				ck_abort_msg("split at %zu,%zu: stalled or bad "
				    "consume", i, j);
			if (part.outlen != whole.outlen ||
			    memcmp(part.out, whole.out, whole.outlen) != 0)
				ck_abort_msg("split at %zu,%zu: got \"%s\"", i,
				    j, part.out);
		}
	}
	model_init(&part, 8);
	for (i = 0; i < n; i++)
		model_feed(&part, data + i, 1);
	model_finish(&part);
	ck_assert_msg(part.outlen == whole.outlen &&
	    memcmp(part.out, whole.out, whole.outlen) == 0,
	    "byte at a time: got \"%s\"", part.out);
}
END_TEST

START_TEST(test_frame_finish_nothing)
{
	struct framer f;
	struct frame fr;

	frame_init(&f, 10);
	ck_assert_int_eq(frame_finish(&f, "", 0, &fr), FRAME_NEED_MORE);
	ck_assert_int_eq(frame_finish(&f, "abc", 3, &fr), FRAME_LINE);
	ck_assert_uint_eq(fr.len, 3);
	ck_assert_mem_eq(fr.line, "abc", 3);
}
END_TEST

Suite *
frame_suite(void)
{
	Suite *s = suite_create("frame");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_frame_buffer_size);
	tcase_add_test(tc, test_frame_need_more);
	tcase_add_test(tc, test_frame_one_line);
	tcase_add_test(tc, test_frame_crlf);
	tcase_add_test(tc, test_frame_transcripts);
	tcase_add_test(tc, test_frame_exact_default_max);
	tcase_add_test(tc, test_frame_too_long_once_across_chunks);
	tcase_add_test(tc, test_frame_split_everywhere);
	tcase_add_test(tc, test_frame_finish_nothing);
	suite_add_tcase(s, tc);
	return s;
}
