/* options.h - the command line, parsed into a config without side effects. */
#ifndef POLLSERV_OPTIONS_H
#define POLLSERV_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "io.h"
#include "net.h"

enum server_mode { MODE_CHAT, MODE_ECHO };

#define OPTIONS_ROOM_MAX	64	/* the bus room's name, in bytes */

struct config {
	struct net_addr listen;
	enum server_mode mode;
	const struct io_driver *io;
	long	max_clients;
	size_t	max_line;
	size_t	max_outbuf;
	size_t	max_memory;		/* all output buffers together, 0 = off */
	unsigned stats_interval;	/* seconds, 0 = off */
	unsigned backoff_max_us;
	unsigned spin_us;		/* adaptive: idle spin before sleeping */
	enum io_spin spin;		/* adaptive: how it spins */
	unsigned idle_timeout;		/* seconds, 0 = off */
	unsigned line_timeout;		/* seconds, 0 = off */
	int	verbosity;		/* enum log_level */
	unsigned workers;		/* --workers: processes on one port */
	int	worker_id;		/* 0: the only process; else 1..N */
	/* --bus redis://HOST:PORT[/ROOM]: the chat room is shared there. */
	bool	bus;
	struct net_addr bus_addr;
	char	bus_room[OPTIONS_ROOM_MAX + 1];
	unsigned bus_ttl_ms;		/* --bus-ttl, in ms */
	size_t	bus_max_outbuf;		/* --bus-max-outbuf */
};

/* --max-memory's default, unless --max-outbuf is bigger (then that). */
#define OPTIONS_MAX_MEMORY	((size_t)256 << 20)

enum options_result {
	OPTIONS_RUN,		/* cfg is filled in: start the server */
	OPTIONS_HELP,		/* -h: print usage to stdout, exit 0 */
	OPTIONS_VERSION,	/* -V */
	OPTIONS_ERROR		/* err says why: usage to stderr, exit 2 */
};

void	options_defaults(struct config *cfg);
enum options_result options_parse(int argc, char **argv, struct config *cfg,
	    char *err, size_t errlen);
void	options_usage(FILE *out);
/* "redis://HOST:PORT[/ROOM]" into cfg's bus fields; -1 with err set. */
int	options_parse_bus(const char *url, struct config *cfg, char *err,
	    size_t errlen);

#define POLLSERV_VERSION "0.1.0"

#endif
