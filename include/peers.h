/* peers.h - the other nodes of a shared room, and the users each holds. */
#ifndef POLLSERV_PEERS_H
#define POLLSERV_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nickset.h"

/* A node's id: 16 hex digits, random per process. */
#define PEERS_ID_LEN	16

struct peer {
	char	id[PEERS_ID_LEN + 1];
	int64_t	last_heard_ms;
};

/*
 * What this node knows of the others, from what they publish: who they
 * are, when each was last heard, and which users each holds (the nick
 * table maps nick -> struct peer).  Pure: no sockets, no clock of its own.
 */
struct peers {
	struct nickset users;
	struct peer **list;
	size_t	n;
};

/* Told the nick of each user a dropped peer held. */
typedef void peers_gone_fn(void *arg, const char *nick);

int	peers_init(struct peers *ps);
void	peers_free(struct peers *ps);
/* The peer with this id (PEERS_ID_LEN bytes), added if new, heard now;
 * NULL if out of memory. */
struct peer *peers_heard(struct peers *ps, const char *id, int64_t now_ms);
/* nick is held by peer now; true if it was not known before. */
bool	peers_add_user(struct peers *ps, const char *nick, struct peer *peer);
/* peer's nick is gone; true if peer held it. */
bool	peers_remove_user(struct peers *ps, const char *nick,
	    const struct peer *peer);
/* Forget every peer not heard for ttl_ms, and its users (each to gone). */
void	peers_expire(struct peers *ps, int64_t now_ms, int64_t ttl_ms,
	    peers_gone_fn *gone, void *arg);
/* Forget them all, silently (the picture is being rebuilt). */
void	peers_clear(struct peers *ps);

#endif
