/* fdmap.h - fd -> slot map for drivers that keep a dense array of fds. */
#ifndef POLLSERV_FDMAP_H
#define POLLSERV_FDMAP_H

#include <stddef.h>

/*
 * poll's pollfd array and the busy sweep's fd list are dense (removal
 * swaps the last entry into the hole), so add, change and remove are O(1)
 * and a pass walks only what is registered.  This map finds an fd's slot.
 * It grows by doubling when a larger fd shows up.
 */
struct fdmap {
	int    *slot_of;	/* fd -> slot, -1 if none */
	size_t	len;
};

/* Room for fds below max_fds (at least 1); -1 if out of memory. */
int	fdmap_init(struct fdmap *m, int max_fds);
void	fdmap_free(struct fdmap *m);
/* The slot of fd, or -1 (also for fds past the map). */
int	fdmap_get(const struct fdmap *m, int fd);
/* Grow so that fd fits; -1 if out of memory. */
int	fdmap_reserve(struct fdmap *m, int fd);
/* fd must fit (fdmap_reserve); slot -1 forgets it. */
void	fdmap_set(struct fdmap *m, int fd, int slot);

#endif
