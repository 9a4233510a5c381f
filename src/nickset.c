/* nickset.c - case-blind nick set: /nick checks in O(1), not O(clients). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "nickset.h"

void *(*nickset_calloc)(size_t, size_t) = calloc;

static uint32_t
nickset_hash(const char *nick, size_t len)
{
	uint32_t h = 2166136261u;	/* FNV-1a over the case-folded bytes */
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)nick[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (unsigned char)(ch - 'A' + 'a');
		h = (h ^ ch) * 16777619u;
	}
	return h;
}

int
nickset_init(struct nickset *ns, size_t expected)
{
	size_t cap = 16;

	/* Keep the load at most a half so probe chains stay short. */
	while (cap < expected * 2)
		cap *= 2;
	ns->slots = nickset_calloc(cap, sizeof(*ns->slots));
	ns->cap = ns->slots ? cap : 0;
	ns->used = ns->deleted = 0;
	return ns->slots ? 0 : -1;
}

void
nickset_free(struct nickset *ns)
{
	free(ns->slots);
	ns->slots = NULL;
	ns->cap = ns->used = ns->deleted = 0;
}

/* The live slot holding nick, or NULL. */
static struct nickset_entry *
nickset_lookup(const struct nickset *ns, const char *nick, size_t len,
    uint32_t hash)
{
	size_t mask = ns->cap - 1, i;

	if (ns->cap == 0)
		return NULL;
	for (i = hash & mask;; i = (i + 1) & mask) {
		struct nickset_entry *e = &ns->slots[i];

		if (e->state == NICKSET_EMPTY)
			return NULL;
		if (e->state == NICKSET_LIVE && e->hash == hash &&
		    chat_nick_equal(e->nick, e->len, nick, len))
			return e;
	}
}

void *
nickset_find(const struct nickset *ns, const char *nick, size_t len)
{
	struct nickset_entry *e;

	e = nickset_lookup(ns, nick, len, nickset_hash(nick, len));
	return e ? e->owner : NULL;
}

/* The first slot that is not live on hash's probe chain: empty or a
 * tombstone, which the caller may reuse. */
static struct nickset_entry *
nickset_free_slot(struct nickset_entry *slots, size_t cap, uint32_t hash)
{
	size_t i;

	for (i = hash & (cap - 1); slots[i].state == NICKSET_LIVE;
	    i = (i + 1) & (cap - 1))
		;
	return &slots[i];
}

/* Make sure one more entry keeps the table at most half full, counting
 * deleted slots, which lengthen probe chains just like live ones.  When
 * it is not, rebuild it without tombstones, doubling the size only as far
 * as the live entries need: a table full of tombstones from renames is
 * rebuilt at the same size. */
static int
nickset_make_room(struct nickset *ns)
{
	struct nickset_entry *slots, *dst;
	size_t cap = ns->cap ? ns->cap : 16, i;

	if ((ns->used + ns->deleted + 1) * 2 <= ns->cap)
		return 0;
	while ((ns->used + 1) * 2 > cap)
		cap *= 2;
	if ((slots = nickset_calloc(cap, sizeof(*slots))) == NULL)
		return -1;
	for (i = 0; i < ns->cap; i++) {
		if (ns->slots[i].state != NICKSET_LIVE)
			continue;
		dst = nickset_free_slot(slots, cap, ns->slots[i].hash);
		*dst = ns->slots[i];
	}
	free(ns->slots);
	ns->slots = slots;
	ns->cap = cap;
	ns->deleted = 0;
	return 0;
}

int
nickset_add(struct nickset *ns, const char *nick, size_t len, void *owner)
{
	struct nickset_entry *e;
	uint32_t hash;

	if (len == 0 || len > CHAT_NICK_MAX) {
		errno = EINVAL;
		return -1;
	}
	hash = nickset_hash(nick, len);
	if (nickset_lookup(ns, nick, len, hash) != NULL) {
		errno = EEXIST;
		return -1;
	}
	if (nickset_make_room(ns) == -1) {
		errno = ENOMEM;
		return -1;
	}
	e = nickset_free_slot(ns->slots, ns->cap, hash);
	if (e->state == NICKSET_DELETED)
		ns->deleted--;
	e->state = NICKSET_LIVE;
	e->hash = hash;
	e->len = (unsigned char)len;
	memcpy(e->nick, nick, len);
	e->owner = owner;
	ns->used++;
	return 0;
}

int
nickset_remove(struct nickset *ns, const char *nick, size_t len,
    const void *owner)
{
	struct nickset_entry *e;

	e = nickset_lookup(ns, nick, len, nickset_hash(nick, len));
	if (e == NULL || e->owner != owner)
		return -1;
	e->state = NICKSET_DELETED;
	e->owner = NULL;
	ns->used--;
	ns->deleted++;
	return 0;
}

const struct nickset_entry *
nickset_next(const struct nickset *ns, size_t *pos)
{
	while (*pos < ns->cap) {
		const struct nickset_entry *e = &ns->slots[(*pos)++];

		if (e->state == NICKSET_LIVE)
			return e;
	}
	return NULL;
}
