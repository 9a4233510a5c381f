/* buf.h - growable byte buffer with read/write offsets and a hard cap. */
#ifndef POLLSERV_BUF_H
#define POLLSERV_BUF_H

#include <stddef.h>

/*
 * Bytes live in data[start, end).  Consumers advance start, producers advance
 * end; when the buffer drains both offsets snap back to 0 so that a steady
 * trickle never walks off the end.  Storage is allocated lazily on first use
 * so an idle client costs no buffer memory at all.
 */
struct buf {
	char   *data;
	size_t  start;		/* first unconsumed byte */
	size_t  end;		/* one past the last byte */
	size_t  size;		/* bytes allocated */
	size_t  cap;		/* hard limit on buffered bytes (end - start) */
};

void	 buf_init(struct buf *b, size_t cap);
void	 buf_free(struct buf *b);
size_t	 buf_len(const struct buf *b);
const char *buf_head(const struct buf *b);
/* Append n bytes; -1 (nothing appended) if that would pass the cap or
 * allocation fails. */
int	 buf_append(struct buf *b, const void *p, size_t n);
/* Make room for at least want (at most cap - len) bytes of writable space
 * at the tail and return a pointer to it; *room gets its size.  NULL with
 * *room == 0 when the buffer is full, NULL with *room != 0 on ENOMEM. */
char	*buf_reserve(struct buf *b, size_t want, size_t *room);
/* Record that n bytes were written into the space buf_reserve returned. */
void	 buf_commit(struct buf *b, size_t n);
/* What b->size would be after appending n bytes (b->size if no realloc is
 * needed), without touching b: lets a caller that bounds the memory of
 * many buffers together look before it grows one. */
size_t	 buf_size_after(const struct buf *b, size_t n);
/* Drop n bytes from the head. */
void	 buf_consume(struct buf *b, size_t n);
/* Release storage beyond keep bytes when the buffer is empty, so a burst
 * does not pin memory for the rest of the connection. */
void	 buf_shrink(struct buf *b, size_t keep);

#endif
