/* parse.c - strict number parsing: whole string, in range, or an error. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

#include "parse.h"

int
parse_ulong(const char *s, unsigned long min, unsigned long max,
    unsigned long *out)
{
	unsigned long v;
	char *end;

	/* strtoul accepts leading space and a minus sign; we do not. */
	if (s == NULL || !isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
parse_size(const char *s, size_t min, size_t max, size_t *out)
{
	unsigned long v, shift = 0;
	char *end;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	default:
		return -1;
	}
	if (shift != 0) {
		if (end[1] != '\0' || v > (~0UL >> shift))
			return -1;
		v <<= shift;
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
parse_seconds(const char *s, double min, double max, double *out)
{
	double v;
	char *end;

	if (s == NULL || !(isdigit((unsigned char)s[0]) || s[0] == '.'))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || end == s || !(v >= min && v <= max))
		return -1;
	*out = v;
	return 0;
}
