/* lg_msg.c - loadgen message encoding, verification and sequence tracking. */
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
