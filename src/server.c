/* server.c - build the server, free it, and begin its shutdown. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "echo.h"
#include "log.h"
#include "net.h"
#include "room.h"
#include "server.h"
#include "sysio.h"

#define SERVER_LISTEN_BACKLOG	1024

int64_t
server_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Only drivers that sleep in the kernel need waking by signals; the
 * others look at the flags every sweep anyway. */
static int
server_open_wake_pipe(struct server *srv, char *err, size_t errlen)
{
	char neterr[NET_ERR_LEN];
	int pipefd[2];

	if (pipe(pipefd) == -1 ||
	    net_set_nonblocking(pipefd[0], neterr) == -1 ||
	    net_set_nonblocking(pipefd[1], neterr) == -1) {
		snprintf(err, errlen, "wake pipe: %s", strerror(errno));
		return -1;
	}
	srv->wake_rd = pipefd[0];
	srv->wake_wr = pipefd[1];
	fcntl(srv->wake_rd, F_SETFD, FD_CLOEXEC);
	fcntl(srv->wake_wr, F_SETFD, FD_CLOEXEC);
	if (srv->io->modify(srv->io_state, srv->wake_rd, 0, IO_READ) == -1) {
		snprintf(err, errlen, "the %s driver cannot watch the wake pipe",
		    srv->io->name);
		return -1;
	}
	return 0;
}

/* What the clients see of the server: see struct client_ctx. */
static void
server_init_ctx(struct server *srv, size_t n)
{
	struct client_ctx *ctx = &srv->ctx;
	int64_t line = (int64_t)srv->cfg.line_timeout * 1000;

	ctx->io = srv->io;
	ctx->stats = &srv->stats;
	ctx->now_ms = srv->start_ms;
	ctx->rxbuf = malloc(CLIENT_RECV_CHUNK);
	ctx->flush.items = calloc(n, sizeof(*ctx->flush.items));
	ctx->reap.items = calloc(n, sizeof(*ctx->reap.items));
	ctx->backlog.items = calloc(n, sizeof(*ctx->backlog.items));
	ctx->scratch = calloc(n, sizeof(*ctx->scratch));
	ctx->table = srv->clients;
	ctx->table_len = &srv->nclients;
	ctx->max_memory = srv->cfg.max_memory;
	/* Round 0 is "never": a new client has had no turn and no send. */
	ctx->round = 1;
	ctx->max_line = srv->cfg.max_line;
	ctx->max_outbuf = srv->cfg.max_outbuf;
	ctx->idle_ms = (int64_t)srv->cfg.idle_timeout * 1000;
	ctx->line_ms = line;
	ctx->drain_ms = line > 0 ? line : SERVER_DRAIN_MS;
}

/* --bus: the room is shared; the bus connects in the background. */
static int
server_link_bus(struct server *srv, char *err, size_t errlen)
{
	struct room_bus_config bc;

	memset(&bc, 0, sizeof(bc));
	bc.bus.addr = srv->cfg.bus_addr;
	snprintf(bc.bus.room, sizeof(bc.bus.room), "%s", srv->cfg.bus_room);
	bc.bus.max_outbuf = srv->cfg.bus_max_outbuf;
	bc.ttl_ms = srv->cfg.bus_ttl_ms;
	if ((srv->bus_room = room_bus_new(&srv->room, &srv->ctx, &bc, srv->io,
	    srv->io_state)) == NULL) {
		snprintf(err, errlen, "out of memory for the bus");
		return -1;
	}
	srv->proto = &room_bus_proto;
	srv->proto_self = srv->bus_room;
	return 0;
}

int
server_init(struct server *srv, const struct config *cfg, char *err,
    size_t errlen)
{
	struct io_config iocfg;
	char neterr[NET_ERR_LEN];
	size_t n;

	memset(srv, 0, sizeof(*srv));
	srv->cfg = *cfg;
	srv->io = cfg->io;
	srv->listen_fd = srv->wake_rd = srv->wake_wr = srv->reserve_fd = -1;
	srv->start_ms = server_now_ms();
	srv->by_fd_len = (size_t)net_fd_limit();

	/* --workers: each worker has its own listener on the port. */
	if ((srv->listen_fd = (cfg->workers > 1 ? net_listen_shared :
	    net_listen)(&cfg->listen, SERVER_LISTEN_BACKLOG, neterr)) == -1) {
		snprintf(err, errlen, "%s", neterr);
		goto fail;
	}
	net_local_name(srv->listen_fd, srv->listen_name,
	    sizeof(srv->listen_name), neterr);

	n = (size_t)srv->cfg.max_clients + 1;
	srv->clients = calloc(n, sizeof(*srv->clients));
	srv->by_fd = calloc(srv->by_fd_len, sizeof(*srv->by_fd));
	srv->max_fired = srv->cfg.max_clients + SERVER_FD_RESERVE;
	srv->fired = calloc((size_t)srv->max_fired, sizeof(*srv->fired));
	server_init_ctx(srv, n);
	if (cfg->mode == MODE_CHAT) {
		if (room_init(&srv->room, &srv->ctx, n, cfg->max_line) == -1) {
			snprintf(err, errlen, "out of memory for the room");
			goto fail;
		}
		srv->proto = &room_proto;
		srv->proto_self = &srv->room;
	} else {
		srv->proto = &echo_proto;
	}
	if (!srv->clients || !srv->by_fd || !srv->fired || !srv->ctx.rxbuf ||
	    !srv->ctx.flush.items || !srv->ctx.reap.items ||
	    !srv->ctx.backlog.items || !srv->ctx.scratch) {
		snprintf(err, errlen, "out of memory for %ld clients",
		    srv->cfg.max_clients);
		goto fail;
	}

	iocfg.max_fds = (int)srv->by_fd_len;
	iocfg.backoff_max_us = cfg->backoff_max_us;
	iocfg.spin_us = cfg->spin_us;
	iocfg.spin = cfg->spin;
	iocfg.stats = &srv->stats;
	if ((srv->io_state = srv->io->create(&iocfg)) == NULL) {
		snprintf(err, errlen, "cannot start the %s driver: %s",
		    srv->io->name, strerror(errno));
		goto fail;
	}
	srv->ctx.io_state = srv->io_state;
	/* The completion model: the driver makes the socket calls. */
	if (srv->io->sysio != NULL)
		sysio = *srv->io->sysio;
	if (srv->io->modify(srv->io_state, srv->listen_fd, 0,
	    IO_READ | IO_LISTENER) == -1) {
		snprintf(err, errlen, "the %s driver cannot watch the listener",
		    srv->io->name);
		goto fail;
	}
	if (srv->io->blocks && server_open_wake_pipe(srv, err, errlen) == -1)
		goto fail;
	if (cfg->mode == MODE_CHAT && cfg->bus &&
	    server_link_bus(srv, err, errlen) == -1)
		goto fail;
	/* A spare fd to give up when accept() hits EMFILE, so the connection
	 * can be told it was refused instead of left in the backlog. */
	srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (cfg->stats_interval > 0)
		srv->next_stats_ms = srv->start_ms +
		    (int64_t)cfg->stats_interval * 1000;
	return 0;
fail:
	server_free(srv);
	return -1;
}

static void
server_close_fd(int *fd)
{
	if (*fd != -1)
		close(*fd);
	*fd = -1;
}

void
server_free(struct server *srv)
{
	size_t i;

	for (i = 0; i < srv->nclients; i++)
		client_free(srv->clients[i]);
	srv->nclients = 0;
	/* Before the driver: the bus's sockets are registered with it. */
	room_bus_free(srv->bus_room);
	srv->bus_room = NULL;
	if (srv->io_state != NULL) {
		srv->io->destroy(srv->io_state);
		if (srv->io->sysio != NULL)
			sysio_reset();
	}
	srv->io_state = srv->ctx.io_state = NULL;
	server_close_fd(&srv->listen_fd);
	server_close_fd(&srv->wake_rd);
	server_close_fd(&srv->wake_wr);
	server_close_fd(&srv->reserve_fd);
	free(srv->clients);
	free(srv->by_fd);
	free(srv->fired);
	free(srv->ctx.rxbuf);
	free(srv->ctx.flush.items);
	free(srv->ctx.reap.items);
	free(srv->ctx.backlog.items);
	free(srv->ctx.scratch);
	if (srv->proto == &room_proto || srv->proto == &room_bus_proto)
		room_free(&srv->room);
	srv->clients = srv->by_fd = NULL;
	srv->fired = NULL;
	srv->ctx.rxbuf = NULL;
	srv->ctx.flush.items = srv->ctx.reap.items = NULL;
	srv->ctx.backlog.items = srv->ctx.scratch = NULL;
	srv->ctx.table = NULL;
	srv->proto_self = NULL;
}

void
server_begin_shutdown(struct server *srv)
{
	size_t i;

	log_info("shutting down: flushing %zu clients for at most %d ms",
	    srv->nclients, SERVER_SHUTDOWN_MS);
	srv->ctx.shutting_down = true;
	srv->shutdown_deadline_ms = srv->ctx.now_ms + SERVER_SHUTDOWN_MS;
	if (srv->accept_resume_ms == 0)
		(void)srv->io->modify(srv->io_state, srv->listen_fd,
		    IO_READ | IO_LISTENER, 0);
	server_close_fd(&srv->listen_fd);
	for (i = 0; i < srv->nclients; i++) {
		struct client *c = srv->clients[i];

		if (c->state == CLIENT_LINGERING)
			client_close(c, c->cause);
		else
			client_farewell(c, CLOSE_SHUTDOWN);	/* OPEN only */
	}
}
