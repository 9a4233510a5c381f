/* parse.h - strict number parsing shared by pollserv and the loadgen. */
#ifndef POLLSERV_PARSE_H
#define POLLSERV_PARSE_H

#include <stddef.h>

/* The whole string must be a decimal number in [min, max]; no sign, no
 * spaces.  0 on success, -1 otherwise (*out untouched). */
int	parse_ulong(const char *s, unsigned long min, unsigned long max,
	    unsigned long *out);
/* Like parse_ulong, with an optional k/K, m/M or g/G binary suffix. */
int	parse_size(const char *s, size_t min, size_t max, size_t *out);
/* Seconds with an optional fraction ("2", "0.5"), in [min, max]. */
int	parse_seconds(const char *s, double min, double max, double *out);

#endif
