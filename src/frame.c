/* frame.c - LF line framing: finds lines, strips CR, polices the length. */
#include <string.h>

#include "frame.h"

void
frame_init(struct framer *f, size_t max_line)
{
	f->max_line = max_line;
	f->discarding = false;
}

size_t
frame_buffer_size(size_t max_line)
{
	return max_line + 2;	/* the line, a CR and the LF */
}

/* Length of the line without a CR directly before where the LF was. */
static size_t
frame_strip_cr(const char *data, size_t len)
{
	if (len > 0 && data[len - 1] == '\r')
		return len - 1;
	return len;
}

enum frame_status
frame_next(struct framer *f, const char *data, size_t len, struct frame *out)
{
	const char *lf = len > 0 ? memchr(data, '\n', len) : NULL;

	out->line = NULL;
	out->len = 0;
	out->consumed = 0;

	if (f->discarding) {
		/* Drop the rest of an overlong line, up to and with its LF. */
		if (len == 0)
			return FRAME_NEED_MORE;
		out->consumed = lf ? (size_t)(lf - data) + 1 : len;
		if (lf)
			f->discarding = false;
		return FRAME_DISCARDED;
	}
	if (lf != NULL) {
		size_t raw = (size_t)(lf - data);

		out->consumed = raw + 1;
		out->len = frame_strip_cr(data, raw);
		if (out->len > f->max_line) {
			out->len = 0;
			return FRAME_TOO_LONG;
		}
		out->line = data;
		return FRAME_LINE;
	}
	/* No LF yet.  max_line bytes plus a CR may still be a legal line
	 * whose LF is in flight; anything longer cannot be. */
	if (len > f->max_line + 1 ||
	    (len == f->max_line + 1 && data[f->max_line] != '\r')) {
		out->consumed = len;
		f->discarding = true;
		return FRAME_TOO_LONG;
	}
	return FRAME_NEED_MORE;
}

enum frame_status
frame_finish(struct framer *f, const char *data, size_t len, struct frame *out)
{
	out->line = NULL;
	out->len = 0;
	out->consumed = len;
	if (f->discarding || len == 0) {
		f->discarding = false;
		return FRAME_NEED_MORE;
	}
	out->len = frame_strip_cr(data, len);
	if (out->len > f->max_line) {
		out->len = 0;
		return FRAME_TOO_LONG;
	}
	out->line = data;
	return FRAME_LINE;
}
