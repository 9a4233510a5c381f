/* io_fdtab.h - growing an array indexed by fd number, for the drivers. */
#ifndef POLLSERV_IO_FDTAB_H
#define POLLSERV_IO_FDTAB_H

#include <stddef.h>

/*
 * Make tab (*len elements of elem bytes) hold index fd: the length
 * doubles from 64 until it does, and the new elements are zeroed.
 * Returns the new array (*len updated), or NULL with tab and *len left
 * as they were.
 */
void	*io_fdtab_grow(void *tab, size_t *len, size_t elem, int fd);

#endif
