/* lg_run.h - the loadgen engine: configuration, one run, its results. */
#ifndef LG_RUN_H
#define LG_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "net.h"
#include "lg_cpu.h"
#include "lg_hist.h"
#include "lg_msg.h"

enum lg_mode { LG_MODE_ECHO, LG_MODE_CHAT, LG_MODE_IDLE };
/* Idle mode: how to know the server has taken a connection in. */
enum lg_ready { LG_READY_CONNECT, LG_READY_GREETING, LG_READY_PING };

#define LG_MAX_CONNS		100000
#define LG_MAX_CHAT_CONNS	1000	/* N^2 sequence trackers */
#define LG_MAX_PIPELINE		4096
#define LG_MAX_SIZE		(1024 * 1024)
#define LG_CONNECT_TIMEOUT	10.0	/* s, on top of --connect-rate pacing */
#define LG_SETUP_TIMEOUT	10.0	/* s, for the chat nicks */
#define LG_READY_TIMEOUT	120.0	/* s, idle --ready: 10,000 clients of
					 * a process-per-client server */
#define LG_MAX_ADDRS		16	/* --addr given several times */
#define LG_MAX_PIDS		8	/* --pid given several times */
#define LG_BARRIER_TIMEOUT	2.0	/* s, --no-nick: for a first line */
#define LG_GREET_WINDOW		8	/* --no-nick: connections waiting for
					 * a first line at once (ncat's listen
					 * backlog is 10) */

struct lg_config {
	enum lg_mode	mode;
	struct net_addr	addrs[LG_MAX_ADDRS];	/* connection i goes to
						 * addrs[i % naddrs] */
	uint32_t	naddrs;
	uint32_t	conns;
	double		duration;	/* measured window, s */
	double		warmup;		/* before it, s */
	double		drain;		/* after it, at most, s */
	double		rate;		/* per connection per s; 0 = closed loop */
	uint32_t	pipeline;	/* closed loop: outstanding per conn */
	size_t		size;		/* bytes per message / line */
	double		connect_rate;	/* per s; 0 = unlimited */
	pid_t		pids[LG_MAX_PIDS];	/* process trees to account
						 * as "the server" */
	uint32_t	npids;
	enum lg_ready	ready;		/* idle: the ready barrier */
	bool		no_nick;	/* chat: skip /nick, trust the payload
					 * ids (for servers like ncat --chat) */
	bool		progress;	/* once-a-second line on stderr */
};

struct lg_result {
	uint32_t	connections_ok;
	uint32_t	connections_failed;
	uint32_t	closed_by_server;
	char		first_error[NET_ERR_LEN + 64];	/* "" if none */
	bool		setup_failed;	/* chat nicks not confirmed */
	bool		interrupted;	/* SIGINT/SIGTERM */

	double		duration;	/* measured window actually run, s */
	uint64_t	sent;		/* in the window (chat: lines) */
	uint64_t	received;	/* of those (chat: deliveries) */
	uint64_t	bytes;		/* payload bytes received, of those */
	struct lg_integrity integrity;	/* lost: sent in the window; the
					 * others: whole run */
	uint64_t	warmup_lost;	/* sent in the warm-up, never back */
	struct lg_hist	latency;	/* ns, window only */

	bool		server_cpu_ok;	/* --pid given and readable */
	struct lg_tree	server;		/* in the window: cpu_ns, user, sys
					 * and ctx_* are differences, procs
					 * and threads the count at its end */
	bool		server_mem_ok;
	uint64_t	server_rss_kb;	/* at the window's end */
	uint64_t	server_pss_kb;
	double		self_user;	/* CPU seconds in the window */
	double		self_sys;
	bool		machine_ok;	/* /proc/stat readable */
	double		machine_busy;	/* CPU-seconds, every CPU, window */
};

/* Raise RLIMIT_NOFILE's soft limit for n connections; 0 or -1 with err. */
int	lg_raise_nofile(uint32_t n, char *err, size_t errlen);
/* "host:port", or "[v6]:port". */
void	lg_addr_name(const struct net_addr *a, char *out, size_t len);
/* Is the host a loopback address (127.0.0.0/8, ::1, "localhost")? */
bool	lg_is_loopback(const char *host);
/* The whole run.  Returns 0 when it ran (look at res for the verdict),
 * -1 when it could not (err says why: no connection at all, epoll). */
int	lg_run(const struct lg_config *cfg, struct lg_result *res, char *err,
	    size_t errlen);

#endif
