/* stats.h - server counters and the logfmt stats line. */
#ifndef POLLSERV_STATS_H
#define POLLSERV_STATS_H

#include <stddef.h>
#include <stdint.h>

struct stats {
	uint64_t accepted;	/* connections taken off the listener */
	uint64_t rejected;	/* refused: server full or fd unwatchable */
	uint64_t closed;	/* connections closed, any reason */
	uint64_t slow_closed;	/* closed because output passed --max-outbuf */
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t lines;		/* chat lines processed */
	uint64_t sweeps;	/* loop iterations */
	uint64_t wouldblock;	/* recv/send/accept calls that said EAGAIN */
	uint64_t sleeps;	/* backoff, adaptive: sleeps after idle sweeps */
	uint64_t pollnval;	/* poll driver: POLLNVAL seen (a bug) */
	uint64_t timeouts;	/* idle or line timeouts fired */
	uint64_t oom_closed;	/* closed because a buffer could not grow */
	uint64_t sends;		/* send() calls to clients, EAGAIN included */
	uint64_t turns_cut;	/* turns that ended with input left over */
	uint64_t outbuf;	/* bytes all output buffers hold (allocated) */
	uint64_t outbuf_peak;	/* its high-water mark */
	uint64_t mem_paused;	/* times input stopped for --max-memory */
	uint64_t mem_closed;	/* closed, biggest first, for --max-memory */
	uint64_t fd_closed;	/* closed, newest first, for a lowered fd limit */
	uint64_t wait_errors;	/* driver wait() failures other than EINTR */
	uint64_t sigio_overflows; /* sigio: realtime queue overflowed (SIGIO) */
	uint64_t spins;		/* adaptive: waits that did not sleep */
	uint64_t wakeups;	/* adaptive: sleeps ended by a ready fd */
};

struct rusage;

/* One logfmt line, no newline. cpu_user/cpu_sys come from getrusage. */
void	stats_format(const struct stats *s, size_t clients, char *out,
	    size_t len);
/* The same with the CPU times given (fork: the parent's plus its reaped
 * children's). */
void	stats_format_usage(const struct stats *s, size_t clients,
	    const struct rusage *ru, char *out, size_t len);

#endif
