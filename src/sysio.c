/* sysio.c - the real system calls behind the fault-injection seam. */
#include <sys/socket.h>

#include "sysio.h"

struct sysio sysio = { recv, send, accept, shutdown };

void
sysio_reset(void)
{
	sysio.recv = recv;
	sysio.send = send;
	sysio.accept = accept;
	sysio.shutdown = shutdown;
}
