/* echo.c - the echo protocol: input goes straight back out. */
#include "buf.h"
#include "client.h"
#include "echo.h"
#include "proto.h"

/*
 * The client reads no more than the output buffer can take (backpressure),
 * so the append only fails for want of memory, never for the cap.  The
 * send waits for the end-of-sweep flush, which also settles the interest
 * once for everything read in this sweep.
 */
static void
echo_on_data(void *self, struct client *c, const char *p, size_t n)
{
	(void)self;
	if (buf_append(&c->out, p, n) == -1) {
		client_out_of_memory(c, "input");
		return;
	}
	client_queue_flush(c);
}

const struct proto echo_proto = {
	.name = "echo",
	.backpressure = true,
	.refusal = NULL,
	.on_data = echo_on_data,
};
