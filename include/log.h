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
/* Always printed, whatever the level: stats lines. */
void	log_always(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

#endif
