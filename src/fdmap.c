/* fdmap.c - fd -> slot map shared by the poll driver and the busy sweep. */
#include <stdlib.h>
#include <string.h>

#include "fdmap.h"

int
fdmap_reserve(struct fdmap *m, int fd)
{
	size_t len, i;
	int *p;

	if ((size_t)fd < m->len)
		return 0;
	len = m->len ? m->len : 64;
	while (len <= (size_t)fd)
		len *= 2;
	if ((p = realloc(m->slot_of, len * sizeof(*p))) == NULL)
		return -1;
	for (i = m->len; i < len; i++)
		p[i] = -1;
	m->slot_of = p;
	m->len = len;
	return 0;
}

int
fdmap_init(struct fdmap *m, int max_fds)
{
	memset(m, 0, sizeof(*m));
	return fdmap_reserve(m, max_fds > 0 ? max_fds - 1 : 0);
}

void
fdmap_free(struct fdmap *m)
{
	free(m->slot_of);
	memset(m, 0, sizeof(*m));
}

int
fdmap_get(const struct fdmap *m, int fd)
{
	return fd >= 0 && (size_t)fd < m->len ? m->slot_of[fd] : -1;
}

void
fdmap_set(struct fdmap *m, int fd, int slot)
{
	m->slot_of[fd] = slot;
}
