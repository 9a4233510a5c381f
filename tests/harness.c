/* harness.c - the server core in this process, swept by the test itself. */
#include <sys/socket.h>

#include <check.h>
#include <stdio.h>

#include "harness.h"
#include "io.h"
#include "listen.h"
#include "loop.h"
#include "sysio.h"
#include "testutil.h"

struct server hx_srv;
static bool hx_up;

void
hx_config(struct config *cfg, enum server_mode mode)
{
	options_defaults(cfg);
	snprintf(cfg->listen.host, sizeof(cfg->listen.host), "127.0.0.1");
	cfg->listen.port = 0;
	cfg->io = &io_busy;
	cfg->mode = mode;
}

void
hx_start(const struct config *cfg)
{
	struct config fit = *cfg;
	char err[256];

	ck_assert_msg(!hx_up, "hx_start: a server is already up");
	listen_fit_fd_limit(&fit);
	ck_assert_msg(server_init(&hx_srv, &fit, err, sizeof(err)) == 0,
	    "server_init: %s", err);
	hx_up = true;
}

void
hx_stop(void)
{
	sysio_reset();
	if (hx_up)
		server_free(&hx_srv);
	hx_up = false;
}

int
hx_pair(int sndbuf, struct client **cp, int *srv_fd)
{
	struct client *c;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	if (sndbuf > 0)
		ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF,
		    &sndbuf, sizeof(sndbuf)), 0);
	if (srv_fd != NULL)
		*srv_fd = sv[1];
	c = listen_adopt(&hx_srv, sv[1]);
	if (cp != NULL)
		*cp = c;
	return sv[0];
}

void
hx_sweeps(int n)
{
	while (n-- > 0)
		loop_sweep(&hx_srv, 0);
}

bool
hx_sweep_until(bool (*done)(void *arg), void *arg, int timeout_ms)
{
	int64_t deadline = tu_now_ms() + timeout_ms;

	for (;;) {
		loop_sweep(&hx_srv, 0);
		if (done(arg))
			return true;
		if (tu_now_ms() > deadline)
			return false;
	}
}
