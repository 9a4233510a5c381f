/* buf.c - growable byte buffer with offsets and a hard cap. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* First allocation: big enough for a typical chat line or a small echo
 * burst, small enough that 10,000 clients that each said hello stay cheap. */
#define BUF_MIN_SIZE	512

void
buf_init(struct buf *b, size_t cap)
{
	b->data = NULL;
	b->start = b->end = b->size = 0;
	b->cap = cap;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b, b->cap);
}

size_t
buf_len(const struct buf *b)
{
	return b->end - b->start;
}

const char *
buf_head(const struct buf *b)
{
	/* An unallocated buffer has no head: NULL + 0 is undefined in C
	 * (clang's UBSan flags it; found by tests/fuzz). */
	if (b->data == NULL)
		return NULL;
	return b->data + b->start;
}

/* The block size buf_make_room() grows to for want live bytes. */
static size_t
buf_grow_size(const struct buf *b, size_t want)
{
	size_t size = b->size ? b->size : BUF_MIN_SIZE;

	while (size < want)
		size *= 2;
	if (size > b->cap && want <= b->cap)
		size = b->cap;
	return size;
}

size_t
buf_size_after(const struct buf *b, size_t n)
{
	size_t len = buf_len(b);

	if (n == 0 || n > b->cap - len || b->size - len >= n)
		return b->size;
	return buf_grow_size(b, len + n);
}

/* Ensure room for n more bytes at the tail, moving or growing storage. */
static int
buf_make_room(struct buf *b, size_t n)
{
	size_t len = buf_len(b), want, size;
	char *p;

	if (n > b->cap - len) {
		errno = ENOBUFS;
		return -1;
	}
	if (b->size - b->end >= n)
		return 0;
	/* Slide the live bytes to the front before paying for a bigger
	 * block: a half-consumed buffer often has room at the head. */
	if (b->start > 0 && b->size - len >= n) {
		memmove(b->data, b->data + b->start, len);
		b->start = 0;
		b->end = len;
		return 0;
	}
	want = len + n;
	size = buf_grow_size(b, want);
	if (b->start > 0) {
		memmove(b->data, b->data + b->start, len);
		b->start = 0;
		b->end = len;
	}
	if ((p = realloc(b->data, size)) == NULL)
		return -1;	/* errno is ENOMEM */
	b->data = p;
	b->size = size;
	return 0;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (buf_make_room(b, n) == -1)
		return -1;
	memcpy(b->data + b->end, p, n);
	b->end += n;
	return 0;
}

char *
buf_reserve(struct buf *b, size_t want, size_t *room)
{
	size_t free_cap = b->cap - buf_len(b);

	if (want > free_cap)
		want = free_cap;
	if (want == 0) {
		*room = 0;
		return NULL;
	}
	if (buf_make_room(b, want) == -1) {
		*room = want;
		return NULL;
	}
	*room = b->size - b->end;
	if (*room > free_cap)
		*room = free_cap;
	return b->data + b->end;
}

void
buf_commit(struct buf *b, size_t n)
{
	b->end += n;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n >= buf_len(b))
		b->start = b->end = 0;	/* drained: snap back to the front */
	else
		b->start += n;
}

void
buf_shrink(struct buf *b, size_t keep)
{
	if (buf_len(b) == 0 && b->size > keep) {
		free(b->data);
		b->data = NULL;
		b->size = b->start = b->end = 0;
	}
}
