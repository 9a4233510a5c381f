/* echo.c - the echo protocol: input goes straight back out. */
#include "client.h"
#include "echo.h"
#include "proto.h"

/*
 * The client reads no more than the output buffer can take (backpressure),
 * so the append only fails for want of memory, never for the cap (and
 * --max-memory may shed the client, as it may any other).  The send waits
 * for the end-of-sweep flush, which also settles the interest once for
 * everything read in this sweep.
 */
static void
echo_on_data(void *self, struct client *c, const char *p, size_t n)
{
	(void)self;
	(void)client_queue(c, p, n);
}

const struct proto echo_proto = {
	.name = "echo",
	.backpressure = true,
	.refusal = NULL,
	.on_data = echo_on_data,
};
