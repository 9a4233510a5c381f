/* frame.h - LF line framing over a byte stream: pure, no sockets. */
#ifndef POLLSERV_FRAME_H
#define POLLSERV_FRAME_H

#include <stdbool.h>
#include <stddef.h>

/*
 * A framer remembers one thing across reads: whether it is throwing away the
 * tail of an overlong line.  Everything else lives in the caller's buffer,
 * so the same bytes split into any chunks frame the same way.
 */
struct framer {
	size_t	max_line;	/* longest line, without CR/LF */
	bool	discarding;	/* inside an overlong line, waiting for LF */
};

enum frame_status {
	FRAME_NEED_MORE,	/* no complete line yet; consumed is 0 */
	FRAME_LINE,		/* line/len is a complete line, CR/LF stripped */
	FRAME_TOO_LONG,		/* a line passed max_line: report it once */
	FRAME_DISCARDED		/* bytes of an overlong line were dropped */
};

struct frame {
	const char *line;	/* FRAME_LINE: points into the caller's data */
	size_t	len;
	size_t	consumed;	/* bytes the caller must drop from its buffer */
};

void	frame_init(struct framer *f, size_t max_line);
/* Look at data[0, len) and report the first thing found there. */
enum frame_status frame_next(struct framer *f, const char *data, size_t len,
	    struct frame *out);
/* At EOF: an unterminated tail still counts as a line (FRAME_LINE), unless
 * it belongs to an overlong line being discarded.  FRAME_NEED_MORE if there
 * is nothing to deliver. */
enum frame_status frame_finish(struct framer *f, const char *data, size_t len,
	    struct frame *out);
/* Smallest input buffer that can hold any legal line plus its CR and LF. */
size_t	frame_buffer_size(size_t max_line);

#endif
