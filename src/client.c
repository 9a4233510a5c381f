/* client.c - the client state machine: read, frame, queue, send, close. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "log.h"
#include "room.h"
#include "server.h"
#include "sysio.h"

/* Bytes asked of one recv(): big enough to empty a loopback burst in a
 * few calls, small enough that the per-sweep budget is honoured. */
#define CLIENT_RECV_CHUNK	(16 * 1024)
/* An output buffer that grew past this during a burst is released once it
 * drains, so idle clients go back to costing no buffer memory. */
#define CLIENT_OUT_KEEP		(16 * 1024)

static bool
client_echo(const struct server *srv)
{
	return srv->cfg.mode == MODE_ECHO;
}

static bool
client_would_block(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK;
}

void
client_close(struct server *srv, struct client *c, const char *reason)
{
	if (c->state == CLIENT_CLOSING)
		return;
	c->state = CLIENT_CLOSING;
	c->close_reason = reason;
	/* The reap list is sized for every client at once, so this never
	 * needs to allocate. */
	if (!c->queued_reap) {
		c->queued_reap = true;
		srv->reap[srv->nreap++] = c;
	}
	srv->sweep_did_work = true;
}

void
client_drain(struct server *srv, struct client *c, const char *reason)
{
	if (c->state != CLIENT_OPEN)
		return;
	c->state = CLIENT_DRAINING;
	c->close_reason = reason;
	/* Whatever came after the last processed line is ignored. */
	buf_consume(&c->in, buf_len(&c->in));
	if (buf_len(&c->out) == 0)
		client_close(srv, c, reason);
	else
		server_update_interest(srv, c);
}

int
client_queue(struct server *srv, struct client *c, const void *p, size_t n)
{
	if (c->state == CLIENT_CLOSING)
		return -1;
	if (buf_append(&c->out, p, n) == -1) {
		/* Never truncate, never drop silently: a client that cannot
		 * keep up is disconnected instead. */
		if (errno == ENOBUFS) {
			srv->stats.slow_closed++;
			log_info("closing %s (fd %d): pending output passed "
			    "--max-outbuf (%zu bytes)", c->nick, c->fd,
			    srv->cfg.max_outbuf);
			client_close(srv, c, "slow reader");
		} else {
			srv->stats.oom_closed++;
			log_warn("closing %s (fd %d): out of memory for output",
			    c->nick, c->fd);
			client_close(srv, c, "out of memory");
		}
		return -1;
	}
	server_queue_flush(srv, c);
	return 0;
}

/* Track when the current unfinished line began, for --line-timeout.  A
 * trickle of bytes does not move the start: that is the slowloris defence. */
static void
client_track_partial(struct server *srv, struct client *c, bool line_done)
{
	bool partial = buf_len(&c->in) > 0 || c->framer.discarding;

	if (!partial) {
		if (c->partial_since_ms != 0)
			srv->partial_count--;
		c->partial_since_ms = 0;
	} else if (c->partial_since_ms == 0) {
		srv->partial_count++;
		c->partial_since_ms = srv->now_ms;
	} else if (line_done) {
		c->partial_since_ms = srv->now_ms;
	}
}

/* Frame and handle every complete line in the input buffer. */
static void
client_consume_lines(struct server *srv, struct client *c)
{
	struct frame fr;
	enum frame_status st;
	bool line_done = false;
	char msg[64];
	int n;

	while (c->state == CLIENT_OPEN) {
		st = frame_next(&c->framer, buf_head(&c->in), buf_len(&c->in),
		    &fr);
		if (st == FRAME_NEED_MORE)
			break;
		if (st == FRAME_LINE) {
			room_line(srv, c, fr.line, fr.len);
			line_done = true;
		} else if (st == FRAME_TOO_LONG) {
			n = snprintf(msg, sizeof(msg),
			    "! line too long (max %zu bytes)\n",
			    srv->cfg.max_line);
			client_queue(srv, c, msg, (size_t)n);
		}
		/* A quit drained the buffer already; consuming is harmless. */
		buf_consume(&c->in, fr.consumed);
	}
	client_track_partial(srv, c, line_done);
}

/* The peer sent FIN: finish what it said, then flush and close. */
static void
client_on_eof(struct server *srv, struct client *c)
{
	struct frame fr;

	if (!client_echo(srv) && c->state == CLIENT_OPEN &&
	    frame_finish(&c->framer, buf_head(&c->in), buf_len(&c->in), &fr) ==
	    FRAME_LINE)
		room_line(srv, c, fr.line, fr.len);
	buf_consume(&c->in, buf_len(&c->in));
	client_track_partial(srv, c, false);
	client_drain(srv, c, "eof");
}

void
client_on_readable(struct server *srv, struct client *c)
{
	size_t budget = SERVER_READ_BUDGET, room, want;
	struct buf *dst;
	ssize_t n;
	char *p;

	/* Echo reads straight into the output buffer: no copy, and its cap is
	 * the backpressure limit. */
	dst = client_echo(srv) ? &c->out : &c->in;
	while (budget > 0 && c->state == CLIENT_OPEN) {
		want = budget < CLIENT_RECV_CHUNK ? budget : CLIENT_RECV_CHUNK;
		if ((p = buf_reserve(dst, want, &room)) == NULL) {
			if (room == 0)
				break;		/* echo: output at the cap */
			srv->stats.oom_closed++;
			log_warn("closing %s (fd %d): out of memory for input",
			    c->nick, c->fd);
			client_close(srv, c, "out of memory");
			return;
		}
		n = sysio.recv(c->fd, p, room, 0);
		if (n > 0) {
			buf_commit(dst, (size_t)n);
			budget -= (size_t)n;
			srv->stats.bytes_in += (uint64_t)n;
			srv->sweep_did_work = true;
			c->last_input_ms = srv->now_ms;
			if (client_echo(srv))
				server_queue_flush(srv, c);
			else
				client_consume_lines(srv, c);
			/* A short read means the socket buffer is empty: the
			 * recv() that would say EWOULDBLOCK is pure waste, and
			 * every driver comes back when more arrives. */
			if ((size_t)n < room)
				break;
			continue;
		}
		if (n == 0) {
			srv->sweep_did_work = true;
			client_on_eof(srv, c);
			return;
		}
		if (client_would_block(errno)) {
			srv->stats.wouldblock++;
			break;
		}
		if (errno == EINTR)
			continue;
		client_close(srv, c, errno == ECONNRESET ? "reset" :
		    "recv error");
		return;
	}
	server_update_interest(srv, c);
}

void
client_on_writable(struct server *srv, struct client *c)
{
	ssize_t n;

	while (c->state != CLIENT_CLOSING && buf_len(&c->out) > 0) {
		n = sysio.send(c->fd, buf_head(&c->out), buf_len(&c->out),
		    MSG_NOSIGNAL);
		if (n > 0) {
			buf_consume(&c->out, (size_t)n);
			srv->stats.bytes_out += (uint64_t)n;
			srv->sweep_did_work = true;
			continue;
		}
		if (n == -1 && client_would_block(errno)) {
			srv->stats.wouldblock++;
			break;
		}
		if (n == -1 && errno == EINTR)
			continue;
		client_close(srv, c, errno == EPIPE || errno == ECONNRESET ?
		    "reset" : "send error");
		return;
	}
	if (buf_len(&c->out) == 0) {
		buf_shrink(&c->out, CLIENT_OUT_KEEP);
		if (c->state == CLIENT_DRAINING) {
			client_close(srv, c, c->close_reason);
			return;
		}
	}
	server_update_interest(srv, c);
}
