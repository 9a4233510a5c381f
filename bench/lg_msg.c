/* lg_msg.c - loadgen message encoding, verification and sequence tracking. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg_msg.h"

/* splitmix64's finaliser: every input bit reaches every output bit. */
static uint64_t
lg_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

uint32_t
lg_msg_check(uint32_t id, uint64_t seq, uint64_t ts)
{
	return (uint32_t)(lg_mix(lg_mix(seq ^ ((uint64_t)id << 40)) ^ ts) >> 16);
}

static void
lg_put_le(uint8_t *p, uint64_t v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
lg_get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* Filler byte at offset off: changes with the message and the offset, so
 * a shifted, swapped or stale chunk does not match by accident. */
static uint8_t
lg_echo_fill(uint32_t check, size_t off)
{
	return (uint8_t)((check >> 8) + (uint32_t)off * 157u + (check & 0xff) *
	    (uint32_t)(off >> 8));
}

void
lg_echo_encode(uint8_t *out, size_t size, uint32_t id, uint64_t seq,
    uint64_t ts)
{
	uint32_t check = lg_msg_check(id, seq, ts);
	size_t i;

	out[0] = 'L';
	out[1] = 'G';
	lg_put_le(out + 2, id, 4);
	lg_put_le(out + 6, seq, 8);
	lg_put_le(out + 14, ts, 8);
	lg_put_le(out + 22, check, 4);
	for (i = LG_ECHO_HDR; i < size; i++)
		out[i] = lg_echo_fill(check, i);
}

int
lg_echo_decode_header(const uint8_t *hdr, uint32_t *id, uint64_t *seq,
    uint64_t *ts)
{
	uint32_t check;

	if (hdr[0] != 'L' || hdr[1] != 'G')
		return -1;
	*id = (uint32_t)lg_get_le(hdr + 2, 4);
	*seq = lg_get_le(hdr + 6, 8);
	*ts = lg_get_le(hdr + 14, 8);
	check = (uint32_t)lg_get_le(hdr + 22, 4);
	return check == lg_msg_check(*id, *seq, *ts) ? 0 : -1;
}

bool
lg_echo_body_ok(const uint8_t *p, size_t len, size_t off, uint32_t check)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != lg_echo_fill(check, off + i))
			return false;
	return true;
}

static const char lg_hex[] = "0123456789abcdef";

static void
lg_put_hex(char *p, uint64_t v, int digits)
{
	int i;

	for (i = digits - 1; i >= 0; i--) {
		p[i] = lg_hex[v & 0xf];
		v >>= 4;
	}
}

/* Lowercase hex only: "ABC" or "+1" must not pass. */
static int
lg_get_hex(const char *p, int digits, uint64_t *out)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < digits; i++) {
		if (p[i] >= '0' && p[i] <= '9')
			v = (v << 4) | (uint64_t)(p[i] - '0');
		else if (p[i] >= 'a' && p[i] <= 'f')
			v = (v << 4) | (uint64_t)(p[i] - 'a' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static char
lg_chat_fill(uint32_t check, size_t off)
{
	return (char)('a' + ((check >> 8) + (uint32_t)off * 7u) % 26u);
}

void
lg_chat_encode(char *out, size_t size, uint32_t id, uint64_t seq, uint64_t ts)
{
	uint32_t check = lg_msg_check(id, seq, ts);
	size_t i;

	out[0] = 'L';
	lg_put_hex(out + 1, id, 8);
	out[9] = ':';
	lg_put_hex(out + 10, seq, 16);
	out[26] = ':';
	lg_put_hex(out + 27, ts, 16);
	out[43] = ':';
	lg_put_hex(out + 44, check, 8);
	out[52] = ':';
	for (i = LG_CHAT_HDR; i < size - 1; i++)
		out[i] = lg_chat_fill(check, i);
	out[size - 1] = '\n';
}

int
lg_chat_decode(const char *line, size_t len, size_t size, uint32_t *id,
    uint64_t *seq, uint64_t *ts)
{
	uint64_t v, check;
	size_t i;

	if (len != size - 1 || len < LG_CHAT_HDR)
		return -1;
	if (line[0] != 'L' || line[9] != ':' || line[26] != ':' ||
	    line[43] != ':' || line[52] != ':')
		return -1;
	if (lg_get_hex(line + 1, 8, &v) == -1 ||
	    lg_get_hex(line + 10, 16, seq) == -1 ||
	    lg_get_hex(line + 27, 16, ts) == -1 ||
	    lg_get_hex(line + 44, 8, &check) == -1)
		return -1;
	*id = (uint32_t)v;
	if ((uint32_t)check != lg_msg_check(*id, *seq, *ts))
		return -1;
	for (i = LG_CHAT_HDR; i < len; i++)
		if (line[i] != lg_chat_fill((uint32_t)check, i))
			return -1;
	return 0;
}

/* ---- ncat --chat framing ------------------------------------------------ */

enum lg_ncat_state {
	LG_NCAT_DATA,		/* bytes of the current piece */
	LG_NCAT_TAG,		/* after '<': collecting the name */
	LG_NCAT_TAG_END,	/* after '>': a space must follow */
	LG_NCAT_NOTICE_TEXT	/* inside an "<announce> " line */
};

int
lg_ncat_init(struct lg_ncat *f, size_t cap)
{
	int i;

	memset(f, 0, sizeof(*f));
	f->cur = -1;
	f->cap = cap;
	/* Not a name anything is tagged with, not even "" (no prefix). */
	for (i = 0; i < LG_NCAT_SLOTS; i++)
		strcpy(f->slot[i].tag, "<");
	if ((f->buf = malloc(LG_NCAT_SLOTS * cap)) == NULL)
		return -1;
	return 0;
}

void
lg_ncat_free(struct lg_ncat *f)
{
	free(f->buf);
	f->buf = NULL;
}

static bool
lg_ncat_name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
}

/* The slot for pieces tagged tag: its own, else a free one, else the one
 * written longest ago, whose partial line is then lost. */
static int
lg_ncat_slot(struct lg_ncat *f, const char *tag, lg_ncat_fn *fn, void *arg)
{
	struct lg_ncat_slot *s;
	int i, free_slot = -1, oldest = 0;

	for (i = 0; i < LG_NCAT_SLOTS; i++) {
		s = &f->slot[i];
		if (strcmp(s->tag, tag) == 0)
			return i;
		if (free_slot < 0 && s->len == 0 && !s->overlong)
			free_slot = i;
		if (s->used < f->slot[oldest].used)
			oldest = i;
	}
	if (free_slot < 0) {
		free_slot = oldest;
		s = &f->slot[oldest];
		fn(arg, LG_NCAT_BAD, f->buf + (size_t)oldest * f->cap, s->len);
	}
	s = &f->slot[free_slot];
	s->len = 0;
	s->overlong = false;
	snprintf(s->tag, sizeof(s->tag), "%s", tag);
	return free_slot;
}

/* Append data (no LF in it) to the current piece's partial line. */
static void
lg_ncat_append(struct lg_ncat *f, const char *p, size_t n, lg_ncat_fn *fn,
    void *arg)
{
	struct lg_ncat_slot *s;

	if (n == 0)
		return;
	if (f->cur < 0)
		f->cur = lg_ncat_slot(f, "", fn, arg);
	s = &f->slot[f->cur];
	s->used = ++f->clock;
	if (s->overlong || s->len + n > f->cap) {
		s->overlong = true;
		return;
	}
	memcpy(f->buf + (size_t)f->cur * f->cap + s->len, p, n);
	s->len += (uint32_t)n;
}

/* An LF in the current piece: its sender's line is complete. */
static void
lg_ncat_end_line(struct lg_ncat *f, lg_ncat_fn *fn, void *arg)
{
	struct lg_ncat_slot *s;
	const char *line;

	if (f->cur < 0)
		f->cur = lg_ncat_slot(f, "", fn, arg);
	s = &f->slot[f->cur];
	line = f->buf + (size_t)f->cur * f->cap;
	if (s->overlong)
		fn(arg, LG_NCAT_BAD, line, s->len);
	else
		fn(arg, LG_NCAT_LINE, line, s->len);
	s->len = 0;
	s->overlong = false;
}

/* What looked like the start of a tag was not one: it is data. */
static void
lg_ncat_not_tag(struct lg_ncat *f, bool gt, lg_ncat_fn *fn, void *arg)
{
	lg_ncat_append(f, "<", 1, fn, arg);
	lg_ncat_append(f, f->tag, f->tag_len, fn, arg);
	if (gt)
		lg_ncat_append(f, ">", 1, fn, arg);
	f->state = LG_NCAT_DATA;
}

void
lg_ncat_input(struct lg_ncat *f, const char *p, size_t n, lg_ncat_fn *fn,
    void *arg)
{
	size_t i, run;
	char ch;

	i = 0;
	while (i < n) {
		ch = p[i];
		switch (f->state) {
		case LG_NCAT_DATA:
			/* The longest run of plain bytes goes in at once. */
			for (run = i; run < n && p[run] != '<' &&
			    p[run] != '\n'; run++)
				;
			lg_ncat_append(f, p + i, run - i, fn, arg);
			if (run == n)
				return;
			if (p[run] == '\n') {
				lg_ncat_end_line(f, fn, arg);
			} else {
				f->state = LG_NCAT_TAG;
				f->tag_len = 0;
			}
			i = run + 1;
			continue;
		case LG_NCAT_TAG:
			if (ch == '>' && f->tag_len > 0) {
				f->state = LG_NCAT_TAG_END;
				i++;
			} else if (lg_ncat_name_char(ch) &&
			    f->tag_len < LG_NCAT_TAG_MAX) {
				f->tag[f->tag_len++] = ch;
				i++;
			} else {
				/* ch is looked at again as data. */
				lg_ncat_not_tag(f, false, fn, arg);
			}
			continue;
		case LG_NCAT_TAG_END:
			if (ch != ' ') {
				lg_ncat_not_tag(f, true, fn, arg);
				continue;
			}
			i++;
			f->tag[f->tag_len] = '\0';
			if (strcmp(f->tag, "announce") == 0) {
				f->state = LG_NCAT_NOTICE_TEXT;
				continue;
			}
			f->cur = lg_ncat_slot(f, f->tag, fn, arg);
			f->state = LG_NCAT_DATA;
			continue;
		case LG_NCAT_NOTICE_TEXT:
			/* Its text may hold "<userN> ": skip it whole. */
			while (i < n && p[i] != '\n')
				i++;
			if (i == n)
				return;
			i++;
			fn(arg, LG_NCAT_NOTICE, NULL, 0);
			/* What follows is a new piece, with its own prefix. */
			f->cur = -1;
			f->state = LG_NCAT_DATA;
			continue;
		}
	}
}

enum lg_seq_verdict
lg_seq_accept(struct lg_seq *t, uint64_t seq, uint64_t wstart,
    struct lg_integrity *in, uint64_t *newly)
{
	uint64_t from;

	if (seq == t->expect) {
		t->expect++;
		*newly = 1;
		return LG_SEQ_OK;
	}
	if (seq > t->expect) {
		*newly = seq - t->expect + 1;
		t->skipped += seq - t->expect;
		/* The skipped numbers are [expect, seq). */
		from = t->expect > wstart ? t->expect : wstart;
		if (seq > from)
			t->skipped_window += seq - from;
		t->expect = seq + 1;
		return LG_SEQ_GAP;
	}
	*newly = 0;
	/* Without a per-message record we cannot tell which earlier number
	 * this is; an open gap makes a late arrival the likely story. */
	if (t->skipped > 0) {
		t->skipped--;
		if (seq >= wstart && t->skipped_window > 0)
			t->skipped_window--;
		in->reordered++;
		return LG_SEQ_LATE;
	}
	in->duplicated++;
	return LG_SEQ_DUP;
}

void
lg_seq_corrupt(struct lg_seq *t, struct lg_integrity *in)
{
	t->expect++;
	in->corrupted++;
}

uint64_t
lg_seq_lost(const struct lg_seq *t, uint64_t sent)
{
	return t->skipped + (sent > t->expect ? sent - t->expect : 0);
}

uint64_t
lg_seq_lost_window(const struct lg_seq *t, uint64_t sent, uint64_t wstart)
{
	uint64_t from = t->expect > wstart ? t->expect : wstart;

	return t->skipped_window + (sent > from ? sent - from : 0);
}
