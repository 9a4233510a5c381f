/* lg_msg.h - loadgen message encoding, verification and sequence tracking. */
#ifndef LG_MSG_H
#define LG_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Echo messages are binary (echo mode is 8-bit clean) and exactly --size
 * bytes:
 *
 *	0   'L' 'G'
 *	2   connection id	u32, little endian
 *	6   sequence number	u64
 *	14  timestamp, ns	u64 (CLOCK_MONOTONIC; the scheduled send time
 *				in open loop, the actual one in closed loop)
 *	22  check		u32, a hash of id, sequence and timestamp
 *	26  filler		bytes derived from the check, to the end
 *
 * Every byte is a function of (id, sequence, timestamp), so the receiver
 * checks the echo byte for byte without keeping a copy of what it sent.
 *
 * Chat lines must be printable and free of LF, so they carry the same
 * fields in fixed-width hex:
 *
 *	"L" id(8) ":" seq(16) ":" ts(16) ":" check(8) ":" filler "\n"
 *
 * with lowercase filler letters up to --size bytes, the LF included.
 */
#define LG_ECHO_HDR	26
#define LG_CHAT_HDR	53
#define LG_ECHO_MIN	LG_ECHO_HDR
#define LG_CHAT_MIN	(LG_CHAT_HDR + 1)

uint32_t lg_msg_check(uint32_t id, uint64_t seq, uint64_t ts);

/* Write one message of size bytes (>= LG_ECHO_MIN) into out. */
void	lg_echo_encode(uint8_t *out, size_t size, uint32_t id, uint64_t seq,
	    uint64_t ts);
/* Decode the LG_ECHO_HDR header bytes; 0 if magic and check agree. */
int	lg_echo_decode_header(const uint8_t *hdr, uint32_t *id, uint64_t *seq,
	    uint64_t *ts);
/* Do len bytes p, found at offset off (>= LG_ECHO_HDR) of a message
 * whose header carried check, match the filler? */
bool	lg_echo_body_ok(const uint8_t *p, size_t len, size_t off,
	    uint32_t check);

/* Write one line of size bytes (>= LG_CHAT_MIN), LF included. */
void	lg_chat_encode(char *out, size_t size, uint32_t id, uint64_t seq,
	    uint64_t ts);
/* Check one received line of len bytes (without its LF) against the
 * format for --size bytes; 0 and the fields when every byte is right. */
int	lg_chat_decode(const char *line, size_t len, size_t size, uint32_t *id,
	    uint64_t *seq, uint64_t *ts);

/*
 * Per-stream sequence tracking: messages of one sender on one stream must
 * arrive as 0, 1, 2, ...  A gap is remembered as skipped (lost unless the
 * missing ones turn up later, which is then a reorder); a number below the
 * next expected one with nothing skipped is a duplicate.  Whatever was
 * sent but never arrived is lost: lg_seq_lost() at the end.
 *
 * wstart is the sender's first sequence number in the measured window
 * (UINT64_MAX while it is still warming up), so losses can be split into
 * the window's and the warm-up's.
 */
struct lg_seq {
	uint64_t	expect;		/* next sequence number wanted */
	uint64_t	skipped;	/* gaps not (yet) filled */
	uint64_t	skipped_window;	/* the part of those >= wstart */
};

enum lg_seq_verdict {
	LG_SEQ_OK,		/* the expected one */
	LG_SEQ_GAP,		/* later than expected: some were skipped */
	LG_SEQ_LATE,		/* fills an earlier gap: reordered */
	LG_SEQ_DUP		/* seen before: duplicated */
};

struct lg_integrity {
	uint64_t	lost;
	uint64_t	duplicated;
	uint64_t	corrupted;
	uint64_t	reordered;
};

/* Classify seq, update the tracker and the counters (not lost: gaps are
 * settled at the end).  *newly gets how many sequence numbers this
 * arrival accounts for (1 + the gap; 0 for late or duplicate ones). */
enum lg_seq_verdict lg_seq_accept(struct lg_seq *t, uint64_t seq,
	    uint64_t wstart, struct lg_integrity *in, uint64_t *newly);
/* A message that arrived but could not be read: assume it held the
 * expected number, so the ones after it still line up. */
void	lg_seq_corrupt(struct lg_seq *t, struct lg_integrity *in);
/* Messages 0 .. sent-1 were sent: how many never arrived. */
uint64_t lg_seq_lost(const struct lg_seq *t, uint64_t sent);
/* The same, counting only those numbered wstart and up. */
uint64_t lg_seq_lost_window(const struct lg_seq *t, uint64_t sent,
	    uint64_t wstart);

#endif
