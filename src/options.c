/* options.c - the command line: getopt_long into a struct config. */
#include <getopt.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
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

/*
 * The numeric options, as data: each takes a whole number in a range,
 * written into one field of struct config.  The range text is what the
 * error says ("--max-line: 'x' is not 1 to 16M").
 */
enum number_kind { NUMBER_LONG, NUMBER_UNSIGNED, NUMBER_SIZE };

struct number_option {
	int	id;
	const char *name;
	enum number_kind kind;	/* NUMBER_SIZE takes a k/M/G suffix */
	unsigned long long min, max;
	const char *range;
	size_t	offset;		/* of the field in struct config */
};

#define NUMBER(id, name, kind, min, max, range, field) \
	{ id, name, kind, min, max, range, offsetof(struct config, field) }

static const struct number_option number_options[] = {
	NUMBER(OPT_MAX_CLIENTS, "max-clients", NUMBER_LONG, 1, 1000000,
	    "1 to 1000000", max_clients),
	NUMBER(OPT_MAX_LINE, "max-line", NUMBER_SIZE, 1, 16 << 20,
	    "1 to 16M", max_line),
	NUMBER(OPT_MAX_OUTBUF, "max-outbuf", NUMBER_SIZE, 1, 1ULL << 30,
	    "1 to 1G", max_outbuf),
	NUMBER(OPT_MAX_MEMORY, "max-memory", NUMBER_SIZE, 0, 1ULL << 40,
	    "0 to 1T", max_memory),
	NUMBER(OPT_STATS_INTERVAL, "stats-interval", NUMBER_UNSIGNED, 0,
	    86400, "0 to 86400", stats_interval),
	NUMBER(OPT_BACKOFF_MAX_US, "backoff-max-us", NUMBER_UNSIGNED, 0,
	    1000000, "0 to 1000000", backoff_max_us),
	NUMBER(OPT_SPIN_US, "spin-us", NUMBER_UNSIGNED, 0, 1000000,
	    "0 to 1000000", spin_us),
	NUMBER(OPT_IDLE_TIMEOUT, "idle-timeout", NUMBER_UNSIGNED, 0, 86400,
	    "0 to 86400", idle_timeout),
	NUMBER(OPT_LINE_TIMEOUT, "line-timeout", NUMBER_UNSIGNED, 0, 86400,
	    "0 to 86400", line_timeout),
	NUMBER(OPT_WORKERS, "workers", NUMBER_UNSIGNED, 1, 256, "1 to 256",
	    workers),
	NUMBER(OPT_BUS_TTL, "bus-ttl", NUMBER_UNSIGNED, 1000, 3600000,
	    "1000 to 3600000 ms", bus_ttl_ms),
	NUMBER(OPT_BUS_MAX_OUTBUF, "bus-max-outbuf", NUMBER_SIZE, 1024,
	    1ULL << 30, "1k to 1G", bus_max_outbuf),
};

static const struct number_option *
options_number(int id)
{
	size_t i;

	for (i = 0; i < sizeof(number_options) / sizeof(number_options[0]); i++)
		if (number_options[i].id == id)
			return &number_options[i];
	return NULL;
}

/* Parse arg for o into its field of cfg. */
static enum options_result
options_set_number(const struct number_option *o, const char *arg,
    struct config *cfg, char *err, size_t errlen)
{
	char *field = (char *)cfg + o->offset;
	unsigned long n = 0;
	size_t size = 0;
	int rc;

	if (o->kind == NUMBER_SIZE)
		rc = parse_size(arg, (size_t)o->min, (size_t)o->max, &size);
	else
		rc = parse_ulong(arg, (unsigned long)o->min,
		    (unsigned long)o->max, &n);
	if (rc == -1)
		return options_error(err, errlen, "--%s: '%s' is not %s",
		    o->name, arg, o->range);
	if (o->kind == NUMBER_SIZE)
		memcpy(field, &size, sizeof(size));
	else if (o->kind == NUMBER_LONG)
		*(long *)(void *)field = (long)n;
	else
		*(unsigned *)(void *)field = (unsigned)n;
	return OPTIONS_RUN;
}

/* The rules between options, once all are read. */
static enum options_result
options_check(struct config *cfg, bool memory_set, char *err, size_t errlen)
{
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
	return OPTIONS_RUN;
}

enum options_result
options_parse(int argc, char **argv, struct config *cfg, char *err,
    size_t errlen)
{
	const struct number_option *num;
	char neterr[NET_ERR_LEN];
	int ch, verbosity = LOG_INFO;
	bool memory_set = false;

	options_defaults(cfg);
	optind = 0;		/* GNU: full reset, so tests can parse again */
	opterr = 0;		/* we word the errors ourselves */
	while ((ch = getopt_long(argc, argv, ":l:m:i:vqhV", options_long,
	    NULL)) != -1) {
		if ((num = options_number(ch)) != NULL) {
			if (options_set_number(num, optarg, cfg, err, errlen)
			    != OPTIONS_RUN)
				return OPTIONS_ERROR;
			memory_set |= ch == OPT_MAX_MEMORY;
			continue;
		}
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
		case OPT_SPIN:
			if (strcmp(optarg, "epoll") == 0)
				cfg->spin = IO_SPIN_EPOLL;
			else if (strcmp(optarg, "busy") == 0)
				cfg->spin = IO_SPIN_BUSY;
			else
				return options_error(err, errlen,
				    "--spin: '%s' is not epoll or busy", optarg);
			break;
		case OPT_BUS:
			if (options_parse_bus(optarg, cfg, err, errlen) == -1)
				return OPTIONS_ERROR;
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
	if (options_check(cfg, memory_set, err, errlen) != OPTIONS_RUN)
		return OPTIONS_ERROR;
	cfg->verbosity = verbosity;
	return OPTIONS_RUN;
}
