/* peers.c - the other nodes of a shared room, and the users each holds. */
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "log.h"
#include "nickset.h"
#include "peers.h"

int
peers_init(struct peers *ps)
{
	memset(ps, 0, sizeof(*ps));
	return nickset_init(&ps->users, 64);
}

void
peers_free(struct peers *ps)
{
	peers_clear(ps);
	free(ps->list);
	nickset_free(&ps->users);
	memset(ps, 0, sizeof(*ps));
}

struct peer *
peers_heard(struct peers *ps, const char *id, int64_t now_ms)
{
	struct peer *peer = NULL, **grown;
	size_t i;

	for (i = 0; i < ps->n && peer == NULL; i++)
		if (memcmp(ps->list[i]->id, id, PEERS_ID_LEN) == 0)
			peer = ps->list[i];
	if (peer == NULL) {
		if ((peer = calloc(1, sizeof(*peer))) == NULL ||
		    (grown = realloc(ps->list, (ps->n + 1) *
		    sizeof(*grown))) == NULL) {
			free(peer);
			return NULL;
		}
		memcpy(peer->id, id, PEERS_ID_LEN);
		ps->list = grown;
		ps->list[ps->n++] = peer;
		log_info("bus: node %s is in the room", peer->id);
	}
	peer->last_heard_ms = now_ms;
	return peer;
}

bool
peers_add_user(struct peers *ps, const char *nick, struct peer *peer)
{
	size_t len = strlen(nick);
	void *owner = nickset_find(&ps->users, nick, len);

	/* A nick that changed hands (its node was silent, then another
	 * claimed it) belongs to the last to say so. */
	if (owner != NULL)
		nickset_remove(&ps->users, nick, len, owner);
	if (nickset_add(&ps->users, nick, len, peer) == -1) {
		log_warn("bus: out of memory for the other nodes' nicks");
		return false;
	}
	return owner == NULL;
}

bool
peers_remove_user(struct peers *ps, const char *nick, const struct peer *peer)
{
	return nickset_remove(&ps->users, nick, strlen(nick), peer) == 0;
}

/* Forget peer i and its users. */
static void
peers_drop(struct peers *ps, size_t i, peers_gone_fn *gone, void *arg)
{
	struct peer *peer = ps->list[i];
	const struct nickset_entry *e;
	char nick[CHAT_NICK_MAX + 1];
	size_t pos = 0;

	while ((e = nickset_next(&ps->users, &pos)) != NULL) {
		if (e->owner != peer)
			continue;
		memcpy(nick, e->nick, e->len);
		nick[e->len] = '\0';
		nickset_remove(&ps->users, nick, e->len, peer);
		if (gone != NULL)
			gone(arg, nick);
	}
	ps->list[i] = ps->list[--ps->n];
	free(peer);
}

void
peers_expire(struct peers *ps, int64_t now_ms, int64_t ttl_ms,
    peers_gone_fn *gone, void *arg)
{
	size_t i;

	for (i = ps->n; i-- > 0;)
		if (now_ms - ps->list[i]->last_heard_ms > ttl_ms) {
			log_info("bus: node %s went silent: its users left",
			    ps->list[i]->id);
			peers_drop(ps, i, gone, arg);
		}
}

void
peers_clear(struct peers *ps)
{
	while (ps->n > 0)
		peers_drop(ps, ps->n - 1, NULL, NULL);
}
