/* loadgen.c - pollserv's load generator: options, then one run, then a report. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "parse.h"
#include "lg_msg.h"
#include "lg_report.h"
#include "lg_run.h"

#define LG_EXIT_FAIL	1
#define LG_EXIT_USAGE	2

static const char lg_usage_text[] =
"usage: loadgen [--mode echo|chat|idle] [--addr HOST:PORT] [-c N] [-d S]\n"
"               [--warmup S] [--rate R] [--pipeline P] [--size N]\n"
"               [--connect-rate R] [--drain S] [--pid PID]... [--json FILE]\n"
"               [--ready connect|greeting|ping] [--no-nick] [-q] [-h]\n";

/* One string per paragraph: ISO C only promises 4095-byte literals. */
static const char *const lg_help_text[] = {
"\n"
"Drive a pollserv (or any echo/chat server) on the loopback interface from\n"
"one process (nonblocking sockets, epoll) and measure throughput, latency,\n"
"loss and the server's CPU use.\n",
"\n"
"Modes:\n"
"  echo   each connection sends messages of --size bytes, each carrying its\n"
"         connection id, a sequence number and a send timestamp; every echoed\n"
"         byte is checked against what was sent.\n"
"           --rate R > 0: open loop, R messages/s per connection, sent on\n"
"                         schedule whether or not replies have come back;\n"
"           --rate 0:     closed loop (the default), --pipeline P messages\n"
"                         outstanding per connection, a new one per reply.\n"
"  chat   N clients of a chat-mode server.  Each sets its nick to lgN with\n"
"         /nick and waits for the '* old is now lgN' confirmation before the\n"
"         run starts; then each sends --size byte lines (LF included) at\n"
"         --rate lines/s (default 10).  Every client checks that it gets\n"
"         every other client's lines exactly once and in each sender's\n"
"         order.  Latency is from send to each receipt; the rate reported\n"
"         is deliveries/s (the fan-out).  '* ' notices are ignored.\n"
"  idle   open N connections, send nothing for the duration, close.  For\n"
"         measuring the server's idle CPU, or as the idle crowd beside an\n"
"         active loadgen.  Once every connection is up (and served, see\n"
"         --ready) it prints 'loadgen: ready, holding N connections' on\n"
"         stdout, then holds them for --duration or until SIGTERM.\n",
"\n"
"Options:\n"
"  -m, --mode MODE        echo, chat or idle (default echo)\n"
"  -a, --addr HOST:PORT   server address, loopback only: 127.0.0.0/8, ::1\n"
"                         or localhost (default 127.0.0.1:4001).  Give it\n"
"                         up to 16 times to spread the connections over\n"
"                         several servers (connection i goes to address\n"
"                         i mod N), e.g. chat nodes sharing one room: every\n"
"                         delivery is still checked at every client\n"
"  -c, --connections N    connections / chat clients (default 10; chat at\n"
"                         most 1000); RLIMIT_NOFILE is raised to fit\n"
"  -d, --duration S       measured window in seconds (default 10)\n"
"  -w, --warmup S         run this long first, excluded from every figure\n"
"                         (default 0)\n"
"  -r, --rate R           messages (lines) per second per connection;\n"
"                         0 = closed loop, echo only (default: echo 0,\n"
"                         chat 10)\n"
"  -p, --pipeline P       closed loop: messages in flight per connection\n"
"                         (default 1, at most 4096)\n"
"  -s, --size N           bytes per message (echo, at least 26) or per line\n"
"                         with its LF (chat, at least 54); default 64\n"
"      --connect-rate R   open at most R connections per second\n"
"                         (default 0 = all at once)\n"
"      --drain S          after the window, wait at most S seconds for\n"
"                         replies still in flight (default 2)\n"
"      --pid PID          account this process and its threads and\n"
"                         descendants as the server (CPU, context\n"
"                         switches, memory); up to 8 times, summed (a\n"
"                         server and its Redis)\n"
"      --ready MODE       idle: before the window, check that the server\n"
"                         has taken every connection in: connect (the\n"
"                         handshake is enough, the default), greeting\n"
"                         (wait for its first bytes, a chat welcome) or\n"
"                         ping (send one byte, wait for its echo)\n"
"      --json FILE        also write the figures as one JSON object\n"
"      --no-nick          chat: skip /nick and identify senders by the id in\n"
"                         each line (for servers without /nick, e.g.\n"
"                         ncat --chat: its <announce> lines are ignored and\n"
"                         its per-read <userN> prefixes removed wherever\n"
"                         they fall); the run starts once every client has\n"
"                         received a first line, or after 2 s if none has\n"
"                         (10 s if some have)\n"
"  -q, --quiet            no progress line\n"
"  -h, --help             this text\n",
"\n"
"Run: connect all (paced by --connect-rate), chat set-up, --warmup, then the\n"
"measured window of --duration, then a drain of at most --drain seconds in\n"
"which nothing new is scheduled (open-loop sends already due still go\n"
"out).  SIGINT or SIGTERM ends the window early (a\n"
"second one ends the drain) and the figures so far are reported.\n",
"\n"
"Arrival pattern: open-loop sends are evenly spaced per connection, every\n"
"1/R s, and the connections are staggered by 1/(R*N) s, so N connections\n"
"fire at N evenly spaced instants per period instead of together.  When a\n"
"connection falls behind, the overdue messages go out together in one\n"
"send().  The timer slack is set to 1 ns (PR_SET_TIMERSLACK).\n",
"\n"
"Latency: CLOCK_MONOTONIC, into a log-linear histogram (error under 0.4%\n"
"from 1 us up, constant memory); p50, p90, p99, p99.9 and max.  In open\n"
"loop it is measured from the time a message was *scheduled* to be sent,\n"
"so a generator or server that falls behind shows up as latency instead\n"
"of being hidden (the coordinated-omission correction).  In closed loop\n"
"it is from the actual send.  Only messages sent in the window count.\n",
"\n"
"Integrity: lost = sent in the window, but no reply by the end of the\n"
"drain (messages still in the loadgen's own buffer then were never sent\n"
"and are not lost).  Losses among warm-up messages are reported apart and\n"
"fail the run too.  duplicated, corrupted (any byte differs) and\n"
"reordered are counted over the whole run: any one is a server bug.\n",
"\n"
"CPU: with --pid, sampled at the start and end of the window over the\n"
"process, all its threads (/proc/PID/task/ *) and all its descendants\n"
"(/proc/PID/task/TID/children, recursively: a process per client): the\n"
"scheduler's run time in ns from each thread's schedstat, plus each\n"
"process's cutime+cstime, which holds the children it has reaped (whole\n"
"10 ms ticks).  A child that exits in the window moves from the first sum\n"
"to the second; threads that exit in it are not counted.  The user/sys\n"
"split is from /proc/PID/stat ticks.  Context switches (voluntary and\n"
"not) are summed over the live threads; RSS (VmRSS) and PSS (smaps_rollup)\n"
"over the processes at the window's end.  The loadgen's own use comes\n"
"from getrusage; above 90% of a core it warns that the results may be\n"
"limited by the load generator.  The machine's busy time (/proc/stat,\n"
"steal included) less the server's and the loadgen's is what everything\n"
"else used: others_cpu_pct, the bench's noise gauge; server_wait_pct is\n"
"the time the server's threads were runnable but waited for a CPU\n"
"(schedstat's second field): someone else had its CPU.\n",
"\n"
"Output: a summary on stdout; a progress line once a second on stderr when\n"
"it is a terminal (not with -q).  --json writes one flat object with the\n"
"stable keys mode, addresses, connections, connections_ok,\n"
"connections_failed,\n"
"closed_by_server, duration_s, warmup_s, rate, pipeline, size, sent,\n"
"received, msgs_per_s, mb_per_s, lat_p50_us, lat_p90_us, lat_p99_us,\n"
"lat_p999_us, lat_max_us, lost, duplicated, corrupted, reordered,\n"
"server_cpu_pct, server_user_pct, server_sys_pct, server_wait_pct,\n"
"server_cpu_s_per_1k,\n"
"server_cpu_us_per_msg, server_ctx_switches, server_ctx_voluntary,\n"
"server_ctx_per_msg, server_procs, server_threads, server_rss_kb,\n"
"server_pss_kb (null without --pid), loadgen_cpu_pct, machine_cpu_pct,\n"
"others_cpu_pct, loadgen_limited and ok.  In chat mode sent counts lines\n"
"and received counts deliveries.\n",
"\n"
"Exit status: 0 when every connection succeeded and stayed up and nothing\n"
"was lost, duplicated, corrupted or reordered; 1 otherwise, or when no\n"
"connection could be made; 2 for a bad option.\n",
	NULL
};

static void
lg_usage(FILE *fp, bool full)
{
	size_t i;

	fputs(lg_usage_text, fp);
	for (i = 0; full && lg_help_text[i] != NULL; i++)
		fputs(lg_help_text[i], fp);
}

static void lg_bad(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* A bad command line: the reason, the short usage, exit 2. */
static void
lg_bad(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "loadgen: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	lg_usage(stderr, false);
	exit(LG_EXIT_USAGE);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mode",	  required_argument, NULL, 'm' },
		{ "addr",	  required_argument, NULL, 'a' },
		{ "connections",  required_argument, NULL, 'c' },
		{ "duration",	  required_argument, NULL, 'd' },
		{ "warmup",	  required_argument, NULL, 'w' },
		{ "rate",	  required_argument, NULL, 'r' },
		{ "pipeline",	  required_argument, NULL, 'p' },
		{ "size",	  required_argument, NULL, 's' },
		{ "connect-rate", required_argument, NULL, 'C' },
		{ "drain",	  required_argument, NULL, 'D' },
		{ "pid",	  required_argument, NULL, 'P' },
		{ "json",	  required_argument, NULL, 'j' },
		{ "no-nick",	  no_argument,	     NULL, 'N' },
		{ "ready",	  required_argument, NULL, 'R' },
		{ "quiet",	  no_argument,	     NULL, 'q' },
		{ "help",	  no_argument,	     NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct lg_config cfg;
	struct lg_result *res;
	struct lg_report rep;
	const char *addrs[LG_MAX_ADDRS] = { "127.0.0.1:4001" }, *json = NULL;
	uint32_t naddrs = 0, i;
	char err[NET_ERR_LEN + 128];
	unsigned long ul;
	bool quiet = false, rate_set = false;
	FILE *fp;
	int ch;

	memset(&cfg, 0, sizeof(cfg));
	cfg.mode = LG_MODE_ECHO;
	cfg.conns = 10;
	cfg.duration = 10.0;
	cfg.drain = 2.0;
	cfg.pipeline = 1;
	cfg.size = 64;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":m:a:c:d:w:r:p:s:qh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'm':
			if (strcmp(optarg, "echo") == 0)
				cfg.mode = LG_MODE_ECHO;
			else if (strcmp(optarg, "chat") == 0)
				cfg.mode = LG_MODE_CHAT;
			else if (strcmp(optarg, "idle") == 0)
				cfg.mode = LG_MODE_IDLE;
			else
				lg_bad("bad --mode '%s': want echo, chat or "
				    "idle%s", optarg, "");
			break;
		case 'a':
			if (naddrs == LG_MAX_ADDRS)
				lg_bad("--addr given more than %s times%s",
				    "16", "");
			addrs[naddrs++] = optarg;
			break;
		case 'c':
			if (parse_ulong(optarg, 1, LG_MAX_CONNS, &ul) == -1)
				lg_bad("bad --connections '%s': want 1 to "
				    "100000%s", optarg, "");
			cfg.conns = (uint32_t)ul;
			break;
		case 'd':
			if (parse_seconds(optarg, 0.001, 86400, &cfg.duration)
			    == -1)
				lg_bad("bad --duration '%s': want seconds, "
				    "0.001 to 86400%s", optarg, "");
			break;
		case 'w':
			if (parse_seconds(optarg, 0, 3600, &cfg.warmup) == -1)
				lg_bad("bad --warmup '%s': want seconds, 0 to "
				    "3600%s", optarg, "");
			break;
		case 'r':
			if (parse_seconds(optarg, 0, 1e7, &cfg.rate) == -1)
				lg_bad("bad --rate '%s': want a number, 0 to "
				    "10000000%s", optarg, "");
			rate_set = true;
			break;
		case 'p':
			if (parse_ulong(optarg, 1, LG_MAX_PIPELINE, &ul) == -1)
				lg_bad("bad --pipeline '%s': want 1 to 4096%s",
				    optarg, "");
			cfg.pipeline = (uint32_t)ul;
			break;
		case 's':
			if (parse_size(optarg, 1, LG_MAX_SIZE, &cfg.size) == -1)
				lg_bad("bad --size '%s': want bytes, up to "
				    "1M%s", optarg, "");
			break;
		case 'C':
			if (parse_seconds(optarg, 0, 1e7, &cfg.connect_rate)
			    == -1)
				lg_bad("bad --connect-rate '%s': want a "
				    "number, 0 to 10000000%s", optarg, "");
			break;
		case 'D':
			if (parse_seconds(optarg, 0, 600, &cfg.drain) == -1)
				lg_bad("bad --drain '%s': want seconds, 0 to "
				    "600%s", optarg, "");
			break;
		case 'P':
			if (parse_ulong(optarg, 1, 4194304, &ul) == -1)
				lg_bad("bad --pid '%s': want a process id%s",
				    optarg, "");
			if (cfg.npids == LG_MAX_PIDS)
				lg_bad("--pid given more than %s times%s", "8",
				    "");
			cfg.pids[cfg.npids++] = (pid_t)ul;
			break;
		case 'R':
			if (strcmp(optarg, "connect") == 0)
				cfg.ready = LG_READY_CONNECT;
			else if (strcmp(optarg, "greeting") == 0)
				cfg.ready = LG_READY_GREETING;
			else if (strcmp(optarg, "ping") == 0)
				cfg.ready = LG_READY_PING;
			else
				lg_bad("bad --ready '%s': want connect, "
				    "greeting or ping%s", optarg, "");
			break;
		case 'j':
			json = optarg;
			break;
		case 'N':
			cfg.no_nick = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			lg_usage(stdout, true);
			return 0;
		case ':':
			lg_bad("option '%s' needs a value%s", argv[optind - 1],
			    "");
			break;
		default:
			lg_bad("unknown option '%s'%s", argv[optind - 1], "");
			break;
		}
	}
	if (optind < argc)
		lg_bad("unexpected argument '%s'%s", argv[optind], "");

	if (naddrs == 0)
		naddrs = 1;
	for (i = 0; i < naddrs; i++) {
		struct net_addr *a = &cfg.addrs[i];

		if (net_parse_addr(addrs[i], "127.0.0.1", a, err) == -1)
			lg_bad("bad --addr: %s%s", err, "");
		if (!lg_is_loopback(a->host))
			lg_bad("--addr %s is not a loopback address "
			    "(127.0.0.0/8 or ::1)%s", a->host, "");
		if (strcmp(a->host, "localhost") == 0)
			strcpy(a->host, "127.0.0.1");
		if (a->port == 0)
			lg_bad("bad --addr '%s': port 0%s", addrs[i], "");
	}
	cfg.naddrs = naddrs;
	if (cfg.mode == LG_MODE_CHAT) {
		if (!rate_set)
			cfg.rate = 10.0;
		if (cfg.rate <= 0)
			lg_bad("chat mode needs --rate above 0%s%s", "", "");
		if (cfg.conns < 2)
			lg_bad("chat mode needs at least 2 clients%s%s", "",
			    "");
		if (cfg.conns > LG_MAX_CHAT_CONNS)
			lg_bad("chat mode takes at most 1000 clients%s%s", "",
			    "");
		if (cfg.size < LG_CHAT_MIN)
			lg_bad("chat lines need --size 54 or more%s%s", "",
			    "");
	}
	if (cfg.mode == LG_MODE_ECHO && cfg.size < LG_ECHO_MIN)
		lg_bad("echo messages need --size 26 or more%s%s", "", "");
	if (cfg.mode == LG_MODE_IDLE)
		cfg.rate = 0;
	cfg.progress = !quiet && isatty(STDERR_FILENO);

	if (lg_raise_nofile(cfg.conns, err, sizeof(err)) == -1) {
		fprintf(stderr, "loadgen: %s\n", err);
		return LG_EXIT_FAIL;
	}
	if ((res = malloc(sizeof(*res))) == NULL) {
		fprintf(stderr, "loadgen: out of memory\n");
		return LG_EXIT_FAIL;
	}
	if (lg_run(&cfg, res, err, sizeof(err)) == -1) {
		fprintf(stderr, "loadgen: %s\n", err);
		free(res);
		return LG_EXIT_FAIL;
	}
	lg_report_compute(&cfg, res, &rep);
	lg_report_print(stdout, &cfg, res, &rep);
	fflush(stdout);
	if (json != NULL) {
		if ((fp = fopen(json, "w")) == NULL ||
		    lg_report_json(fp, &cfg, res, &rep) == -1 ||
		    fclose(fp) == EOF) {
			fprintf(stderr, "loadgen: cannot write %s: %s\n", json,
			    strerror(errno));
			free(res);
			return LG_EXIT_FAIL;
		}
	}
	free(res);
	return rep.ok ? 0 : LG_EXIT_FAIL;
}
