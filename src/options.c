/* options.c - the command line: getopt_long into a struct config. */
#include <getopt.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "chat.h"
#include "io.h"
#include "log.h"
#include "options.h"
#include "parse.h"

enum {
	OPT_MAX_CLIENTS = 256,
	OPT_MAX_LINE,
	OPT_MAX_OUTBUF,
	OPT_MAX_MEMORY,
	OPT_STATS_INTERVAL,
	OPT_BACKOFF_MAX_US,
	OPT_IDLE_TIMEOUT,
	OPT_LINE_TIMEOUT,
	OPT_WORKERS,
	OPT_BUS,
	OPT_BUS_TTL,
	OPT_BUS_MAX_OUTBUF,
	OPT_SPIN_US,
	OPT_SPIN
};

static const struct option options_long[] = {
	{ "listen",		required_argument, NULL, 'l' },
	{ "mode",		required_argument, NULL, 'm' },
	{ "io",			required_argument, NULL, 'i' },
	{ "max-clients",	required_argument, NULL, OPT_MAX_CLIENTS },
	{ "max-line",		required_argument, NULL, OPT_MAX_LINE },
	{ "max-outbuf",		required_argument, NULL, OPT_MAX_OUTBUF },
	{ "max-memory",		required_argument, NULL, OPT_MAX_MEMORY },
	{ "stats-interval",	required_argument, NULL, OPT_STATS_INTERVAL },
	{ "backoff-max-us",	required_argument, NULL, OPT_BACKOFF_MAX_US },
	{ "idle-timeout",	required_argument, NULL, OPT_IDLE_TIMEOUT },
	{ "line-timeout",	required_argument, NULL, OPT_LINE_TIMEOUT },
	{ "workers",		required_argument, NULL, OPT_WORKERS },
	{ "bus",		required_argument, NULL, OPT_BUS },
	{ "bus-ttl",		required_argument, NULL, OPT_BUS_TTL },
	{ "bus-max-outbuf",	required_argument, NULL, OPT_BUS_MAX_OUTBUF },
	{ "spin-us",		required_argument, NULL, OPT_SPIN_US },
	{ "spin",		required_argument, NULL, OPT_SPIN },
	{ "verbose",		no_argument,	   NULL, 'v' },
	{ "quiet",		no_argument,	   NULL, 'q' },
	{ "help",		no_argument,	   NULL, 'h' },
	{ "version",		no_argument,	   NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

void
options_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->listen.host, "127.0.0.1");
	cfg->listen.port = 4001;	/* the seed lecture's chat port */
	cfg->mode = MODE_CHAT;
	cfg->io = io_drivers[0];
	cfg->max_clients = 10000;
	cfg->max_line = 4096;
	cfg->max_outbuf = 1024 * 1024;
	cfg->max_memory = OPTIONS_MAX_MEMORY;
	cfg->stats_interval = 0;
	cfg->backoff_max_us = 1000;
	cfg->spin_us = 25;		/* README: "Choosing --spin-us" */
	cfg->spin = IO_SPIN_EPOLL;
	cfg->idle_timeout = 0;
	cfg->line_timeout = 30;
	cfg->verbosity = LOG_INFO;
	cfg->workers = 1;
	strcpy(cfg->bus_room, "pollserv");
	cfg->bus_ttl_ms = 15000;
	cfg->bus_max_outbuf = 8 * 1024 * 1024;
}

void
options_usage(FILE *out)
{
	const struct io_driver *const *d;

	fprintf(out,
	    "usage: pollserv [-l addr] [-m chat|echo] [-i driver] [--max-clients n]\n"
	    "                [--max-line bytes] [--max-outbuf bytes]\n"
	    "                [--max-memory bytes]\n"
	    "                [--stats-interval s] [--backoff-max-us us]\n"
	    "                [--idle-timeout s] [--line-timeout s]\n"
	    "                [--spin-us us] [--spin epoll|busy] [--workers n]\n"
	    "                [--bus redis://host:port[/room]] [--bus-ttl ms]\n"
	    "                [--bus-max-outbuf bytes] [-v | -q]\n"
	    "       pollserv -h | -V\n"
	    "\n"
	    "  -l, --listen ADDR       HOST:PORT, [V6]:PORT or PORT; port 0 picks one\n"
	    "                          (default 127.0.0.1:4001)\n"
	    "  -m, --mode MODE         chat (relay lines) or echo (default chat)\n"
	    "  -i, --io DRIVER         I/O driver or model (default busy):\n");
	for (d = io_drivers; *d != NULL; d++)
		fprintf(out, "      %-10s %s\n", (*d)->name, (*d)->summary);
	fprintf(out,
	    "      --max-clients N     connected clients at most (default 10000)\n"
	    "      --max-line N        longest chat line, without LF (default 4096)\n"
	    "      --max-outbuf N      pending output per client (default 1M)\n"
	    "      --max-memory N      pending output of all clients together,\n"
	    "                          0 = off (default 256M, or --max-outbuf if more)\n"
	    "      --stats-interval S  stats line every S seconds, 0 = off (default 0)\n"
	    "      --backoff-max-us N  backoff driver's longest idle sleep (default 1000)\n"
	    "      --idle-timeout S    close clients silent for S seconds, 0 = off\n"
	    "                          (default 0)\n"
	    "      --line-timeout S    close clients whose partial line is older than\n"
	    "                          S seconds, 0 = off (default 30)\n"
	    "      --spin-us N         adaptive driver: idle time it spins before\n"
	    "                          sleeping in epoll_wait (default 25)\n"
	    "      --spin HOW          adaptive driver: spin with epoll_wait(0) or\n"
	    "                          the busy recv sweep (default epoll)\n"
	    "      --workers N         N processes share the port (SO_REUSEPORT),\n"
	    "                          restarted if they die (default 1); chat\n"
	    "                          needs --bus for N > 1\n"
	    "      --bus URL           share the chat room through Redis:\n"
	    "                          redis://HOST:PORT[/ROOM] (room pollserv)\n"
	    "      --bus-ttl MS        nick keys' TTL, refreshed by the heartbeat;\n"
	    "                          a node silent this long is gone (default 15000)\n"
	    "      --bus-max-outbuf N  output queued for Redis at most; past it\n"
	    "                          nothing is relayed to the bus (default 8M)\n"
	    "  -v, --verbose           log every connection\n"
	    "  -q, --quiet             log warnings only\n"
	    "  -h, --help              this text\n"
	    "  -V, --version           print the version\n"
	    "Sizes take a k or M suffix.  Signals: TERM/INT shut down cleanly,\n"
	    "USR1 prints a stats line.\n");
}

int
options_parse_bus(const char *url, struct config *cfg, char *err,
    size_t errlen)
{
	static const char scheme[] = "redis://";
	char neterr[NET_ERR_LEN], hostport[NET_ADDR_LEN];
	const char *rest, *slash;
	size_t len, i;

	if (strncmp(url, scheme, sizeof(scheme) - 1) != 0) {
		snprintf(err, errlen, "--bus: '%s' is not redis://HOST:PORT[/ROOM]",
		    url);
		return -1;
	}
	rest = url + sizeof(scheme) - 1;
	slash = strchr(rest, '/');
	len = slash ? (size_t)(slash - rest) : strlen(rest);
	if (len == 0 || len >= sizeof(hostport)) {
		snprintf(err, errlen, "--bus: no HOST:PORT in '%s'", url);
		return -1;
	}
	memcpy(hostport, rest, len);
	hostport[len] = '\0';
	if (strchr(hostport, ':') == NULL ||
	    net_parse_addr(hostport, "127.0.0.1", &cfg->bus_addr,
	    neterr) == -1 || cfg->bus_addr.port == 0) {
		snprintf(err, errlen, "--bus: bad HOST:PORT in '%s'", url);
		return -1;
	}
	if (slash != NULL) {
		const char *room = slash + 1;

		len = strlen(room);
		for (i = 0; i < len; i++)
			if (!(room[i] == '-' || room[i] == '_' || room[i] == '.' ||
			    (room[i] >= '0' && room[i] <= '9') ||
			    (room[i] >= 'a' && room[i] <= 'z') ||
			    (room[i] >= 'A' && room[i] <= 'Z')))
				break;
		if (len == 0 || len > OPTIONS_ROOM_MAX || i < len) {
			snprintf(err, errlen, "--bus: the room must be 1 to %d "
			    "of A-Z a-z 0-9 . _ -", OPTIONS_ROOM_MAX);
			return -1;
		}
		memcpy(cfg->bus_room, room, len + 1);
	}
	cfg->bus = true;
	return 0;
}

static enum options_result options_error(char *err, size_t errlen,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static enum options_result
options_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return OPTIONS_ERROR;
}

enum options_result
options_parse(int argc, char **argv, struct config *cfg, char *err,
    size_t errlen)
{
	char neterr[NET_ERR_LEN];
	unsigned long n;
	size_t size;
	int ch, verbosity = LOG_INFO;
	bool memory_set = false;

	options_defaults(cfg);
	optind = 0;		/* GNU: full reset, so tests can parse again */
	opterr = 0;		/* we word the errors ourselves */
	while ((ch = getopt_long(argc, argv, ":l:m:i:vqhV", options_long,
	    NULL)) != -1) {
		switch (ch) {
		case 'l':
			if (net_parse_addr(optarg, "127.0.0.1", &cfg->listen,
			    neterr) == -1)
				return options_error(err, errlen, "--listen: %s",
				    neterr);
			break;
		case 'm':
			if (strcmp(optarg, "chat") == 0)
				cfg->mode = MODE_CHAT;
			else if (strcmp(optarg, "echo") == 0)
				cfg->mode = MODE_ECHO;
			else
				return options_error(err, errlen,
				    "--mode: '%s' is not chat or echo", optarg);
			break;
		case 'i':
			if ((cfg->io = io_find(optarg)) == NULL)
				return options_error(err, errlen,
				    "--io: no driver named '%s'", optarg);
			break;
		case OPT_MAX_CLIENTS:
			if (parse_ulong(optarg, 1, 1000000, &n) == -1)
				return options_error(err, errlen,
				    "--max-clients: '%s' is not 1 to 1000000",
				    optarg);
			cfg->max_clients = (long)n;
			break;
		case OPT_MAX_LINE:
			if (parse_size(optarg, 1, 16 << 20, &size) == -1)
				return options_error(err, errlen,
				    "--max-line: '%s' is not 1 to 16M", optarg);
			cfg->max_line = size;
			break;
		case OPT_MAX_OUTBUF:
			if (parse_size(optarg, 1, (size_t)1 << 30, &size) == -1)
				return options_error(err, errlen,
				    "--max-outbuf: '%s' is not 1 to 1G", optarg);
			cfg->max_outbuf = size;
			break;
		case OPT_MAX_MEMORY:
			if (parse_size(optarg, 0, (size_t)1 << 40, &size) == -1)
				return options_error(err, errlen,
				    "--max-memory: '%s' is not 0 to 1T", optarg);
			cfg->max_memory = size;
			memory_set = true;
			break;
		case OPT_STATS_INTERVAL:
			if (parse_ulong(optarg, 0, 86400, &n) == -1)
				return options_error(err, errlen,
				    "--stats-interval: '%s' is not 0 to 86400",
				    optarg);
			cfg->stats_interval = (unsigned)n;
			break;
		case OPT_BACKOFF_MAX_US:
			if (parse_ulong(optarg, 0, 1000000, &n) == -1)
				return options_error(err, errlen,
				    "--backoff-max-us: '%s' is not 0 to 1000000",
				    optarg);
			cfg->backoff_max_us = (unsigned)n;
			break;
		case OPT_SPIN_US:
			if (parse_ulong(optarg, 0, 1000000, &n) == -1)
				return options_error(err, errlen,
				    "--spin-us: '%s' is not 0 to 1000000",
				    optarg);
			cfg->spin_us = (unsigned)n;
			break;
		case OPT_SPIN:
			if (strcmp(optarg, "epoll") == 0)
				cfg->spin = IO_SPIN_EPOLL;
			else if (strcmp(optarg, "busy") == 0)
				cfg->spin = IO_SPIN_BUSY;
			else
				return options_error(err, errlen,
				    "--spin: '%s' is not epoll or busy", optarg);
			break;
		case OPT_IDLE_TIMEOUT:
		case OPT_LINE_TIMEOUT:
			if (parse_ulong(optarg, 0, 86400, &n) == -1)
				return options_error(err, errlen,
				    "--%s: '%s' is not 0 to 86400",
				    ch == OPT_IDLE_TIMEOUT ? "idle-timeout" :
				    "line-timeout", optarg);
			if (ch == OPT_IDLE_TIMEOUT)
				cfg->idle_timeout = (unsigned)n;
			else
				cfg->line_timeout = (unsigned)n;
			break;
		case OPT_WORKERS:
			if (parse_ulong(optarg, 1, 256, &n) == -1)
				return options_error(err, errlen,
				    "--workers: '%s' is not 1 to 256", optarg);
			cfg->workers = (unsigned)n;
			break;
		case OPT_BUS:
			if (options_parse_bus(optarg, cfg, err, errlen) == -1)
				return OPTIONS_ERROR;
			break;
		case OPT_BUS_TTL:
			if (parse_ulong(optarg, 1000, 3600000, &n) == -1)
				return options_error(err, errlen,
				    "--bus-ttl: '%s' is not 1000 to 3600000 ms",
				    optarg);
			cfg->bus_ttl_ms = (unsigned)n;
			break;
		case OPT_BUS_MAX_OUTBUF:
			if (parse_size(optarg, 1024, (size_t)1 << 30, &size) == -1)
				return options_error(err, errlen,
				    "--bus-max-outbuf: '%s' is not 1k to 1G",
				    optarg);
			cfg->bus_max_outbuf = size;
			break;
		case 'v':
			verbosity = LOG_DEBUG;
			break;
		case 'q':
			verbosity = LOG_WARN;
			break;
		case 'h':
			return OPTIONS_HELP;
		case 'V':
			return OPTIONS_VERSION;
		case ':':
			return options_error(err, errlen,
			    "option '%s' needs a value", argv[optind - 1]);
		default:
			return options_error(err, errlen, "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return options_error(err, errlen, "unexpected argument '%s'",
		    argv[optind]);
	/* Every relayed line and every reply must fit in an empty output
	 * buffer, or a client would be dropped as a slow reader for a long
	 * line or a /who it did nothing wrong to receive. */
	if (cfg->mode == MODE_CHAT &&
	    (cfg->max_outbuf < cfg->max_line + CHAT_RELAY_EXTRA ||
	    cfg->max_outbuf < CHAT_REPLY_MAX))
		return options_error(err, errlen,
		    "--max-outbuf (%zu) must be at least %d and at least "
		    "--max-line + %d in chat mode", cfg->max_outbuf,
		    CHAT_REPLY_MAX, CHAT_RELAY_EXTRA);
	/* One client must be able to fill its own buffer. */
	if (!memory_set && cfg->max_memory < cfg->max_outbuf)
		cfg->max_memory = cfg->max_outbuf;
	if (cfg->max_memory != 0 && cfg->max_memory < cfg->max_outbuf)
		return options_error(err, errlen,
		    "--max-memory (%zu) must be 0 or at least --max-outbuf "
		    "(%zu)", cfg->max_memory, cfg->max_outbuf);
	/* Separate chat processes would be separate rooms. */
	if (cfg->mode == MODE_CHAT && cfg->workers > 1 && !cfg->bus)
		return options_error(err, errlen, "--workers %u in chat mode "
		    "needs --bus, or the workers would be %u separate rooms",
		    cfg->workers, cfg->workers);
	if (cfg->workers > 1 && cfg->io->serve != NULL)
		return options_error(err, errlen, "--workers needs a readiness "
		    "driver; --io %s runs the whole server itself",
		    cfg->io->name);
	if (cfg->mode == MODE_ECHO && cfg->bus)
		return options_error(err, errlen, "--bus shares a chat room; "
		    "echo mode has none");
	cfg->verbosity = verbosity;
	return OPTIONS_RUN;
}
