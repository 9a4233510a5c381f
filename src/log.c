/* log.c - leveled logging to stderr, one line per call. */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static enum log_level log_level = LOG_INFO;

void
log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

static void
log_vprint(const char *tag, const char *fmt, va_list ap)
{
	char line[1024];

	/* Format first and write once, so concurrent writers on the same
	 * stderr (tests, the bench) never see half lines. */
	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "pollserv: %s%s\n", tag, line);
}

#define LOG_BODY(min, tag) do {				\
	va_list ap;					\
	if (log_level < (min))				\
		return;					\
	va_start(ap, fmt);				\
	log_vprint(tag, fmt, ap);			\
	va_end(ap);					\
} while (0)

void
log_warn(const char *fmt, ...)
{
	LOG_BODY(LOG_WARN, "warning: ");
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_INFO, "");
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_DEBUG, "debug: ");
}

void
log_listening(const char *addr, const char *mode, const char *io)
{
	printf("pollserv: listening on %s (mode %s, io %s)\n", addr, mode, io);
	fflush(stdout);
}

void
log_always(const char *fmt, ...)
{
	LOG_BODY(LOG_QUIET, "");
}

void
log_limited(struct log_limit *lim, enum log_level level, long long now_ms,
    const char *fmt, ...)
{
	va_list ap;

	if (log_level < level)
		return;
	if (now_ms - lim->window_ms >= 1000) {
		lim->window_ms = now_ms;
		lim->printed = 0;
	}
	if (lim->printed >= LOG_BURST) {
		lim->suppressed++;
		return;
	}
	lim->printed++;
	if (lim->suppressed > 0) {
		fprintf(stderr, "pollserv: (%lu similar lines suppressed)\n",
		    lim->suppressed);
		lim->suppressed = 0;
	}
	va_start(ap, fmt);
	log_vprint(level == LOG_WARN ? "warning: " : "", fmt, ap);
	va_end(ap);
}
