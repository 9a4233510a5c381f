/* io_fdtab.c - growing an array indexed by fd number, for the drivers. */
#include <stdlib.h>
#include <string.h>

#include "io_fdtab.h"

void *
io_fdtab_grow(void *tab, size_t *len, size_t elem, int fd)
{
	size_t n = *len ? *len : 64;
	char *p;

	while (n <= (size_t)fd)
		n *= 2;
	if (n == *len)
		return tab;
	if ((p = realloc(tab, n * elem)) == NULL)
		return NULL;
	memset(p + *len * elem, 0, (n - *len) * elem);
	*len = n;
	return p;
}
