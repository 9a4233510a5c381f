/* nickset.h - the set of nicks in use, without regard to ASCII case. */
#ifndef POLLSERV_NICKSET_H
#define POLLSERV_NICKSET_H

#include <stddef.h>
#include <stdint.h>

#include "chat.h"

/*
 * Open addressing with linear probing; each entry keeps its own copy of
 * the nick, so a rename can add the new name before it drops the old one
 * and never leaves the set half-changed.  Pure: no sockets.
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

int	nickset_init(struct nickset *ns, size_t expected);
void	nickset_free(struct nickset *ns);
/* The owner of nick, or NULL. */
void   *nickset_find(const struct nickset *ns, const char *nick, size_t len);
/* -1 with errno EEXIST if taken, ENOMEM if the table could not grow, or
 * EINVAL for a nick longer than CHAT_NICK_MAX. */
int	nickset_add(struct nickset *ns, const char *nick, size_t len,
	    void *owner);
/* Remove nick if owner holds it; -1 if not there. */
int	nickset_remove(struct nickset *ns, const char *nick, size_t len,
	    const void *owner);

#endif
