/* bus.c - the Redis link: hiredis's async API on pollserv's own loop. */
/*
 * hiredis wants an event library to tell "watch my fd for reading/writing"
 * (ev.addRead and friends) and to call redisAsyncHandleRead/Write when the
 * fd is ready.  Here that library is the server's driver: the adapter
 * keeps each connection's interest mask and passes every change to the
 * driver's modify(); the loop hands readiness on a bus fd to
 * bus_dispatch().  hiredis may free a context inside its own callbacks
 * (a reset, a refused connect), so the callbacks only mark the link
 * failed, and the teardown and the retry happen after hiredis returns
 * (bus_settle).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis.h>
#include <async.h>
#include <sds.h>

#include "bus.h"
#include "io.h"
#include "log.h"

/* The final flush at exit waits at most this long for Redis to take the
 * last notices (this node's users leaving). */
#define BUS_FINAL_FLUSH_MS	200
/* Reaching the output cap is logged at most this often. */
#define BUS_CAP_LOG_MS		10000

struct bus_conn {
	struct bus *bus;
	redisAsyncContext *ac;		/* NULL when not connected */
	int	fd;
	int	mask;			/* IO_READ|IO_WRITE registered now */
};

struct bus {
	struct bus_config cfg;
	const struct io_driver *io;
	void   *io_state;
	struct bus_events ev;
	struct bus_conn pub, sub;
	bool	pub_ready;		/* PING answered */
	bool	subscribed;		/* SUBSCRIBE answered */
	bool	up;			/* both: the owner was told */
	bool	ever_up;		/* a later up is a reconnect */
	bool	failed;			/* a callback saw the link die */
	bool	capped;			/* output is at the cap: dropping */
	int64_t	cap_logged_ms;		/* when that was last logged */
	int64_t	connect_started_ms;	/* 0: not connecting */
	int64_t	retry_at_ms;		/* 0: no retry scheduled */
	int64_t	backoff_ms;
	struct bus_stats stats;
};

static int64_t
bus_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the event-library adapter ------------------------------------------ */

static void
bus_conn_watch(struct bus_conn *conn, int mask)
{
	struct bus *b = conn->bus;

	if (mask == conn->mask)
		return;
	if (b->io->modify(b->io_state, conn->fd, conn->mask, mask) == -1) {
		/* select cannot watch a high fd: treat it as a lost link. */
		log_warn("bus: the %s driver cannot watch fd %d: %s",
		    b->io->name, conn->fd, strerror(errno));
		b->failed = true;
		return;
	}
	conn->mask = mask;
}

static void
bus_add_read(void *privdata)
{
	struct bus_conn *conn = privdata;

	bus_conn_watch(conn, conn->mask | IO_READ);
}

static void
bus_del_read(void *privdata)
{
	struct bus_conn *conn = privdata;

	bus_conn_watch(conn, conn->mask & ~IO_READ);
}

static void
bus_add_write(void *privdata)
{
	struct bus_conn *conn = privdata;

	bus_conn_watch(conn, conn->mask | IO_WRITE);
}

static void
bus_del_write(void *privdata)
{
	struct bus_conn *conn = privdata;

	bus_conn_watch(conn, conn->mask & ~IO_WRITE);
}

/* hiredis is about to free the context. */
static void
bus_cleanup(void *privdata)
{
	struct bus_conn *conn = privdata;

	bus_conn_watch(conn, 0);
	conn->ac = NULL;
	conn->fd = -1;
}

/* ---- connection lifecycle ------------------------------------------------ */

static void
bus_check_up(struct bus *b)
{
	if (b->up || !b->pub_ready || !b->subscribed || b->failed)
		return;
	b->up = true;
	b->connect_started_ms = 0;
	b->backoff_ms = BUS_BACKOFF_FIRST_MS;
	if (b->ever_up)
		b->stats.reconnects++;
	b->ever_up = true;
	log_info("bus: connected to redis %s:%d, room %s", b->cfg.addr.host,
	    b->cfg.addr.port, b->cfg.room);
	b->ev.up(b->ev.self);
}

static void
bus_on_connect(const redisAsyncContext *ac, int status)
{
	struct bus_conn *conn = ac->data;

	if (status != REDIS_OK) {
		conn->ac = NULL;	/* hiredis frees it after we return */
		conn->bus->failed = true;
	}
}

static void
bus_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct bus_conn *conn = ac->data;

	(void)status;
	conn->ac = NULL;
	conn->bus->failed = true;
}

static void
bus_on_ping(redisAsyncContext *ac, void *r, void *privdata)
{
	struct bus *b = privdata;
	redisReply *reply = r;

	(void)ac;
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
		b->failed = true;
		return;
	}
	b->pub_ready = true;
	bus_check_up(b);
}

/* SUBSCRIBE's callback stays for every message on the channel. */
static void
bus_on_channel(redisAsyncContext *ac, void *r, void *privdata)
{
	struct bus *b = privdata;
	redisReply *reply = r, *kind, *payload;

	(void)ac;
	if (reply == NULL)
		return;
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3 ||
	    (kind = reply->element[0])->type != REDIS_REPLY_STRING)
		return;
	if (strcmp(kind->str, "subscribe") == 0) {
		b->subscribed = true;
		bus_check_up(b);
		return;
	}
	payload = reply->element[2];
	if (strcmp(kind->str, "message") == 0 && b->up &&
	    payload->type == REDIS_REPLY_STRING &&
	    b->ev.message(b->ev.self, payload->str, payload->len))
		b->stats.received++;
}

static int
bus_conn_open(struct bus *b, struct bus_conn *conn)
{
	redisAsyncContext *ac;

	conn->bus = b;
	conn->mask = 0;
	ac = redisAsyncConnect(b->cfg.addr.host, b->cfg.addr.port);
	if (ac == NULL)
		return -1;
	if (ac->err) {
		log_debug("bus: connect: %s", ac->errstr);
		redisAsyncFree(ac);
		return -1;
	}
	conn->ac = ac;
	conn->fd = ac->c.fd;
	ac->data = conn;
	ac->ev.data = conn;
	ac->ev.addRead = bus_add_read;
	ac->ev.delRead = bus_del_read;
	ac->ev.addWrite = bus_add_write;
	ac->ev.delWrite = bus_del_write;
	ac->ev.cleanup = bus_cleanup;
	redisAsyncSetConnectCallback(ac, bus_on_connect);
	redisAsyncSetDisconnectCallback(ac, bus_on_disconnect);
	return 0;
}

static void
bus_conn_close(struct bus_conn *conn)
{
	if (conn->ac != NULL)
		redisAsyncFree(conn->ac);	/* cleanup clears conn */
	conn->ac = NULL;
}

static void
bus_connect(struct bus *b)
{
	b->retry_at_ms = 0;
	b->connect_started_ms = bus_now_ms();
	b->failed = false;
	if (bus_conn_open(b, &b->sub) == -1 || bus_conn_open(b, &b->pub) == -1 ||
	    redisAsyncCommand(b->sub.ac, bus_on_channel, b, "SUBSCRIBE %b",
	    b->cfg.room, strlen(b->cfg.room)) != REDIS_OK ||
	    redisAsyncCommand(b->pub.ac, bus_on_ping, b, "PING") != REDIS_OK)
		b->failed = true;
}

/* After hiredis returned: if a callback saw the link die, close what is
 * left of it, tell the owner, and schedule the next attempt. */
static void
bus_settle(struct bus *b)
{
	bool was_up = b->up;

	if (!b->failed)
		return;
	b->up = b->pub_ready = b->subscribed = false;
	bus_conn_close(&b->sub);
	bus_conn_close(&b->pub);
	b->failed = false;
	b->connect_started_ms = 0;
	b->retry_at_ms = bus_now_ms() + b->backoff_ms;
	if (was_up)
		log_warn("bus: lost redis %s:%d; retrying in %" PRId64 " ms",
		    b->cfg.addr.host, b->cfg.addr.port, b->backoff_ms);
	else
		log_debug("bus: redis %s:%d not reachable; retrying in %" PRId64
		    " ms", b->cfg.addr.host, b->cfg.addr.port, b->backoff_ms);
	b->backoff_ms *= 2;
	if (b->backoff_ms > BUS_BACKOFF_MAX_MS)
		b->backoff_ms = BUS_BACKOFF_MAX_MS;
	if (was_up)
		b->ev.down(b->ev.self);
}

struct bus *
bus_new(const struct bus_config *cfg, const struct io_driver *io,
    void *io_state, const struct bus_events *ev)
{
	struct bus *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->cfg = *cfg;
	b->io = io;
	b->io_state = io_state;
	b->ev = *ev;
	b->pub.fd = b->sub.fd = -1;
	b->backoff_ms = BUS_BACKOFF_FIRST_MS;
	bus_connect(b);
	bus_settle(b);
	return b;
}

/* Give Redis what is still queued (the last "left" notices), briefly. */
static void
bus_final_flush(struct bus_conn *conn)
{
	int64_t deadline = bus_now_ms() + BUS_FINAL_FLUSH_MS;
	struct pollfd pfd;
	int done = 0;

	if (conn->ac == NULL || !(conn->ac->c.flags & REDIS_CONNECTED))
		return;
	while (redisBufferWrite(&conn->ac->c, &done) == REDIS_OK && !done &&
	    bus_now_ms() < deadline) {
		pfd.fd = conn->fd;
		pfd.events = POLLOUT;
		(void)poll(&pfd, 1, 10);
	}
}

void
bus_free(struct bus *b)
{
	if (b == NULL)
		return;
	if (b->up)
		bus_final_flush(&b->pub);
	b->up = false;
	b->failed = true;	/* refuse whatever the last callbacks ask */
	bus_conn_close(&b->sub);
	bus_conn_close(&b->pub);
	free(b);
}

bool
bus_up(const struct bus *b)
{
	return b->up && !b->failed;
}

bool
bus_dispatch(struct bus *b, int fd, int mask)
{
	struct bus_conn *conn;

	if (fd == b->pub.fd && b->pub.ac != NULL)
		conn = &b->pub;
	else if (fd == b->sub.fd && b->sub.ac != NULL)
		conn = &b->sub;
	else
		return false;
	/* Each call may free the context (a reset): look again after. */
	if ((mask & IO_READ) && conn->ac != NULL)
		redisAsyncHandleRead(conn->ac);
	if ((mask & IO_WRITE) && conn->ac != NULL)
		redisAsyncHandleWrite(conn->ac);
	bus_settle(b);
	return true;
}

void
bus_flush(struct bus *b)
{
	if (b->pub.ac == NULL || !(b->pub.ac->c.flags & REDIS_CONNECTED) ||
	    sdslen(b->pub.ac->c.obuf) == 0)
		return;
	redisAsyncHandleWrite(b->pub.ac);
	bus_settle(b);
}

void
bus_tick(struct bus *b, int64_t now_ms)
{
	if (!b->up && b->connect_started_ms > 0 &&
	    now_ms - b->connect_started_ms >= BUS_CONNECT_TIMEOUT_MS)
		b->failed = true;	/* a connect or handshake that hangs */
	bus_settle(b);
	if (b->retry_at_ms > 0 && now_ms >= b->retry_at_ms) {
		bus_connect(b);
		bus_settle(b);
	}
}

/* Room for one more command: the link is up and Redis is keeping up.
 * The cap is what makes a stalled Redis cost bounded memory; the log says
 * so once per episode, and again when it is over. */
static bool
bus_may_send(struct bus *b)
{
	size_t queued;

	if (!bus_up(b) || b->pub.ac == NULL)
		return false;
	queued = sdslen(b->pub.ac->c.obuf);
	if (queued >= b->cfg.max_outbuf) {
		/* The kernel takes a little now and then from a stalled
		 * Redis, so the cap comes and goes: say it once a while. */
		if (!b->capped && (b->cap_logged_ms == 0 ||
		    bus_now_ms() - b->cap_logged_ms >= BUS_CAP_LOG_MS)) {
			log_warn("bus: %zu bytes queued for redis (the cap): "
			    "not relaying to the bus until it catches up "
			    "(%" PRIu64 " dropped so far)", queued,
			    b->stats.dropped);
			b->cap_logged_ms = bus_now_ms();
		}
		b->capped = true;
		return false;
	}
	if (b->capped && queued <= b->cfg.max_outbuf / 2)
		b->capped = false;
	return true;
}

int
bus_publish(struct bus *b, const char *msg, size_t len)
{
	if (!bus_may_send(b) ||
	    redisAsyncCommand(b->pub.ac, NULL, NULL, "PUBLISH %b %b",
	    b->cfg.room, strlen(b->cfg.room), msg, len) != REDIS_OK) {
		b->stats.dropped++;
		return -1;
	}
	b->stats.published++;
	return 0;
}

/* A command in flight: whom to tell about its reply. */
struct bus_call {
	bus_reply_fn *cb;
	void   *privdata;
};

static void
bus_on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct bus_call call = *(struct bus_call *)privdata;

	(void)ac;
	free(privdata);
	call.cb(call.privdata, reply);
}

int
bus_command(struct bus *b, bus_reply_fn *cb, void *privdata, int argc,
    const char **argv, const size_t *argvlen)
{
	struct bus_call *call;

	if (!bus_may_send(b))
		return -1;
	if (cb == NULL)		/* nobody wants the reply */
		return redisAsyncCommandArgv(b->pub.ac, NULL, NULL, argc, argv,
		    argvlen) == REDIS_OK ? 0 : -1;
	if ((call = malloc(sizeof(*call))) == NULL)
		return -1;
	call->cb = cb;
	call->privdata = privdata;
	if (redisAsyncCommandArgv(b->pub.ac, bus_on_reply, call, argc, argv,
	    argvlen) != REDIS_OK) {
		free(call);
		return -1;
	}
	return 0;
}

const struct bus_stats *
bus_stats(const struct bus *b)
{
	return &b->stats;
}

void
bus_format_stats(const struct bus *b, char *out, size_t len)
{
	snprintf(out, len, " bus_published=%" PRIu64 " bus_received=%" PRIu64
	    " bus_dropped=%" PRIu64 " bus_reconnects=%" PRIu64
	    " bus_up=%d", b->stats.published, b->stats.received,
	    b->stats.dropped, b->stats.reconnects, bus_up(b) ? 1 : 0);
}

const char *
bus_room_name(const struct bus *b)
{
	return b->cfg.room;
}
