/* io_table.c - every I/O driver, compiled in, chosen by name. */
#include <stddef.h>
#include <string.h>

#include "io.h"

/* The order --help lists them: the default first, then by system call. */
const struct io_driver *const io_drivers[] = {
	&io_busy,
	&io_select,
	&io_poll,
	&io_epoll,
	&io_backoff,
	&io_sigio,
	&io_uring_poll,
	&io_fork,
	&io_thread,
	NULL
};

const struct io_driver *
io_find(const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; io_drivers[i] != NULL; i++)
		if (strcmp(io_drivers[i]->name, name) == 0)
			return io_drivers[i];
	return NULL;
}

bool
io_serves_chat(const struct io_driver *d)
{
	/* The chat room lives in the readiness server; a blocking model would
	 * need a second copy of it. */
	return d->serve == NULL;
}

const char *
io_modes(const struct io_driver *d)
{
	return io_serves_chat(d) ? "chat and echo" : "echo";
}
