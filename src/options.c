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
	OPT_LINE_TIMEOUT
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
	cfg->idle_timeout = 0;
	cfg->line_timeout = 30;
	cfg->verbosity = LOG_INFO;
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
	    "                [--idle-timeout s] [--line-timeout s] [-v | -q]\n"
	    "       pollserv -h | -V\n"
	    "\n"
	    "  -l, --listen ADDR       HOST:PORT, [V6]:PORT or PORT; port 0 picks one\n"
	    "                          (default 127.0.0.1:4001)\n"
	    "  -m, --mode MODE         chat (relay lines) or echo (default chat)\n"
	    "  -i, --io DRIVER         readiness driver (default busy):\n");
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
	    "  -v, --verbose           log every connection\n"
	    "  -q, --quiet             log warnings only\n"
	    "  -h, --help              this text\n"
	    "  -V, --version           print the version\n"
	    "Sizes take a k or M suffix.  Signals: TERM/INT shut down cleanly,\n"
	    "USR1 prints a stats line.\n");
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
	cfg->verbosity = verbosity;
	return OPTIONS_RUN;
}
