/* stats.c - the logfmt stats line. */
#include <sys/resource.h>
#include <sys/time.h>

#include <inttypes.h>
#include <stdio.h>

#include "stats.h"

static double
stats_seconds(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

void
stats_format(const struct stats *s, size_t clients, char *out, size_t len)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1) {
		ru.ru_utime.tv_sec = ru.ru_stime.tv_sec = 0;
		ru.ru_utime.tv_usec = ru.ru_stime.tv_usec = 0;
	}
	stats_format_usage(s, clients, &ru, out, len);
}

void
stats_format_usage(const struct stats *s, size_t clients,
    const struct rusage *ru, char *out, size_t len)
{
	snprintf(out, len,
	    "clients=%zu accepted=%" PRIu64 " rejected=%" PRIu64
	    " closed=%" PRIu64 " slow_closed=%" PRIu64 " bytes_in=%" PRIu64
	    " bytes_out=%" PRIu64 " lines=%" PRIu64 " sweeps=%" PRIu64
	    " wouldblock=%" PRIu64 " sleeps=%" PRIu64 " pollnval=%" PRIu64
	    " timeouts=%" PRIu64 " oom_closed=%" PRIu64 " sends=%" PRIu64
	    " turns_cut=%" PRIu64 " outbuf=%" PRIu64 " outbuf_peak=%" PRIu64
	    " mem_paused=%" PRIu64 " mem_closed=%" PRIu64 " fd_closed=%" PRIu64
	    " wait_errors=%" PRIu64 " sigio_overflows=%" PRIu64
	    " spins=%" PRIu64 " wakeups=%" PRIu64
	    " cpu_user=%.3f cpu_sys=%.3f",
	    clients, s->accepted, s->rejected, s->closed, s->slow_closed,
	    s->bytes_in, s->bytes_out, s->lines, s->sweeps, s->wouldblock,
	    s->sleeps, s->pollnval, s->timeouts, s->oom_closed, s->sends,
	    s->turns_cut, s->outbuf, s->outbuf_peak, s->mem_paused,
	    s->mem_closed, s->fd_closed, s->wait_errors, s->sigio_overflows,
	    s->spins, s->wakeups,
	    stats_seconds(ru->ru_utime), stats_seconds(ru->ru_stime));
}
