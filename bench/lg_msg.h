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
 * ncat --chat framing, for --no-nick.  ncat puts "<userN> " in front of
 * what each read() from a sender returned, not in front of each line: a
 * second line in the same read has no prefix, a line split across two
 * reads gets one in its middle, and another sender's piece may even come
 * between the two halves.  Its notices are whole lines "<announce> ...\n"
 * (which may name "<userN> " inside), each written at once.  So a client
 * receives a run of pieces "<tag> bytes", and one sender's bytes only make
 * lines once its pieces are joined again.  lg_ncat does that: it keeps a
 * partial line per tag (only a line cut by a read is ever held, so a few
 * slots do; when they run out the oldest partial line is given up as bad)
 * and hands out whole lines with every prefix removed.  Bytes before any
 * prefix (a server that sends none) make lines of their own.
 *
 * The payload ("L", lowercase hex, ':' and lowercase letters) has no '<',
 * '>' or ' ', so every '<' starts a tag and no payload passes for one.  A
 * '<' that is not "<name> " (name: 1 to LG_NCAT_TAG_MAX letters, digits,
 * '_', '-') stays in the data, and the line it lands in fails to decode:
 * corruption still shows.
 */
#define LG_NCAT_SLOTS	16
#define LG_NCAT_TAG_MAX	31

enum lg_ncat_kind {
	LG_NCAT_LINE,		/* a line without prefixes and without LF */
	LG_NCAT_NOTICE,		/* an "<announce>" line (no text given) */
	LG_NCAT_BAD		/* an overlong line, or a partial one given
				 * up for want of a slot (text as far as
				 * it is kept) */
};

typedef void	lg_ncat_fn(void *arg, enum lg_ncat_kind kind, const char *line,
	    size_t len);

struct lg_ncat_slot {
	char		tag[LG_NCAT_TAG_MAX + 1];	/* "" = no prefix */
	uint32_t	len;		/* bytes of the partial line */
	bool		overlong;	/* more than cap: discarding to LF */
	uint64_t	used;		/* when last written, for eviction */
};

struct lg_ncat {
	char		*buf;		/* LG_NCAT_SLOTS lines of cap bytes */
	size_t		 cap;
	int		 cur;		/* slot of the current piece; -1 none */
	uint8_t		 state;		/* data, in a tag, after '>', notice */
	uint32_t	 tag_len;
	char		 tag[LG_NCAT_TAG_MAX + 1];
	uint64_t	 clock;
	struct lg_ncat_slot slot[LG_NCAT_SLOTS];
};

/* Lines of at most cap bytes (LF excluded); 0 or -1 (no memory). */
int	lg_ncat_init(struct lg_ncat *f, size_t cap);
void	lg_ncat_free(struct lg_ncat *f);
/* Feed n received bytes; fn gets each line as it completes. */
void	lg_ncat_input(struct lg_ncat *f, const char *p, size_t n,
	    lg_ncat_fn *fn, void *arg);

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
