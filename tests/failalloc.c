/* failalloc.c - LD_PRELOAD shim: realloc() of FAILALLOC_MIN bytes or more
 * fails with ENOMEM, so tests can make one client's buffer unable to grow. */
/*
 * pollserv grows every per-client buffer with realloc (buf.c), doubling,
 * so a client whose buffer must reach FAILALLOC_MIN bytes is the one that
 * meets the failure, while everything that stays smaller works.  Only
 * realloc is wrapped: the server allocates its tables with calloc and
 * malloc at start-up, which must keep working.  Built as a shared object
 * by the Makefile (tests/failalloc.so next to the test binary) and used
 * by check_harden.c; without FAILALLOC_MIN it changes nothing.
 */
#define _GNU_SOURCE	/* RTLD_NEXT */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>

static void *(*failalloc_next)(void *, size_t);
static size_t failalloc_min;

__attribute__((constructor)) static void
failalloc_init(void)
{
	const char *s = getenv("FAILALLOC_MIN");

	failalloc_min = s != NULL ? strtoul(s, NULL, 10) : 0;
	/* The POSIX way to turn dlsym's object pointer into a function. */
	*(void **)&failalloc_next = dlsym(RTLD_NEXT, "realloc");
}

void *
realloc(void *p, size_t n)
{
	if (failalloc_min > 0 && n >= failalloc_min) {
		errno = ENOMEM;
		return NULL;
	}
	if (failalloc_next == NULL)
		failalloc_init();
	return failalloc_next(p, n);
}
