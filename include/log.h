/* log.h - leveled logging to stderr; stdout carries only the listen line. */
#ifndef POLLSERV_LOG_H
#define POLLSERV_LOG_H

enum log_level { LOG_QUIET = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

void	log_set_level(enum log_level level);
enum log_level log_get_level(void);
void	log_warn(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
/*
 * Per-client events (a slow reader dropped, a timeout) are logged through
 * a limiter: at most LOG_BURST lines a second, the rest counted and
 * reported with the next line that gets through.  Any client can cause
 * such a line, and a server that writes unbounded logs to a stderr nobody
 * reads would block in write(2): a client must not be able to do that.
 */
#define LOG_BURST	10

struct log_limit {
	long long window_ms;	/* start of the current one-second window */
	unsigned printed;	/* lines printed in it */
	unsigned long suppressed; /* lines dropped since the last printed */
};

void	log_limited(struct log_limit *lim, enum log_level level,
	    long long now_ms, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

/* The one stdout line, flushed: tests and the bench read the port from it:
 * `pollserv: listening on ADDR (mode MODE, io DRIVER)`. */
void	log_listening(const char *addr, const char *mode, const char *io);

/* Always printed, whatever the level: stats lines. */
void	log_always(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

#endif
