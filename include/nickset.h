/* nickset.h - the set of nicks in use, without regard to ASCII case. */
#ifndef POLLSERV_NICKSET_H
#define POLLSERV_NICKSET_H

#include <stddef.h>
#include <stdint.h>

#include "chat.h"

/*
 * Open addressing with linear probing over a power-of-two table, kept at
 * most half full counting deleted slots (tombstones), which are dropped
 * when the table is rebuilt.  Each entry keeps its own copy of the nick,
 * so the set never points into a client that changed its name.  Lookups
 * fold ASCII case.  Pure: no sockets.
 */
enum nickset_slot { NICKSET_EMPTY, NICKSET_LIVE, NICKSET_DELETED };

struct nickset_entry {
	uint32_t hash;
	unsigned char state;	/* enum nickset_slot */
	unsigned char len;
	char	nick[CHAT_NICK_MAX];
	void   *owner;
};

struct nickset {
	struct nickset_entry *slots;
	size_t	cap;		/* a power of two */
	size_t	used;		/* live entries */
	size_t	deleted;	/* deleted entries still in probe chains */
};

/* The table's allocator: calloc, or a test's failing one.  The nick
 * table grows by calloc and a rehash, which neither the sysio seam nor
 * tests/failalloc.so (realloc only, whole process) can make fail for one
 * /nick in-process; check_room.c swaps this in for that. */
extern void *(*nickset_calloc)(size_t n, size_t size);

/* A table that takes expected nicks before it must grow; -1 if out of
 * memory. */
int	nickset_init(struct nickset *ns, size_t expected);
void	nickset_free(struct nickset *ns);
/* The owner of nick, or NULL. */
void   *nickset_find(const struct nickset *ns, const char *nick, size_t len);
/* -1 with errno EEXIST if taken, ENOMEM if the table could not grow, or
 * EINVAL for an empty nick or one longer than CHAT_NICK_MAX.  The set is
 * unchanged on failure. */
int	nickset_add(struct nickset *ns, const char *nick, size_t len,
	    void *owner);
/* Remove nick if owner holds it; -1 (nothing changed) if it is not
 * there or someone else holds it. */
int	nickset_remove(struct nickset *ns, const char *nick, size_t len,
	    const void *owner);

/* The live entry at or after *pos, advancing *pos past it; NULL at the end.
 * Walk with pos = 0; removing entries meanwhile is safe, adding is not. */
const struct nickset_entry *nickset_next(const struct nickset *ns,
	    size_t *pos);

#endif
