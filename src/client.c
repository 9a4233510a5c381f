/* client.c - the client state machine: read, frame, queue, send, close. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "log.h"
#include "room.h"
#include "server.h"
#include "sysio.h"

/* An output buffer bigger than this is released once it drains, so a
 * burst (10,000 "joined" notices, a megabyte of echo) does not pin memory
 * for the rest of the connection.  Small ones are kept: a chat line or a
 * 64-byte echo refills them without a malloc/free per message. */
#define CLIENT_OUT_KEEP		512

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

/* A buffer could not grow: this client goes, nobody else notices. */
static void
client_oom(struct server *srv, struct client *c, const char *what)
{
	srv->stats.oom_closed++;
	log_limited(&srv->client_log, LOG_WARN, srv->now_ms,
	    "closing %s (fd %d): out of memory for %s", c->nick, c->fd, what);
	client_close(srv, c, "out of memory");
}

bool
client_present(const struct client *c)
{
	return c->state == CLIENT_OPEN || c->state == CLIENT_DRAINING;
}

void
client_close(struct server *srv, struct client *c, const char *reason)
{
	if (c->state == CLIENT_CLOSING)
		return;
	if (c->state == CLIENT_DRAINING || c->state == CLIENT_LINGERING)
		srv->draining_count--;
	if (c->state == CLIENT_LINGERING)
		srv->lingering_count--;
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

/* Output is flushed: close, or linger if the peer may still be sending. */
static void
client_finish(struct server *srv, struct client *c)
{
	if (c->peer_eof || srv->shutting_down ||
	    shutdown(c->fd, SHUT_WR) == -1) {
		client_close(srv, c, c->close_reason);
		return;
	}
	c->state = CLIENT_LINGERING;
	c->drain_since_ms = srv->now_ms;
	srv->lingering_count++;
	/* Gone from the room as far as everyone else can tell. */
	if (c->joined)
		room_leave(srv, c);
	server_update_interest(srv, c);
}

void
client_drain(struct server *srv, struct client *c, const char *reason)
{
	if (c->state != CLIENT_OPEN)
		return;
	c->state = CLIENT_DRAINING;
	c->close_reason = reason;
	c->drain_since_ms = srv->now_ms;
	srv->draining_count++;
	/* Whatever came after the last processed line is ignored. */
	buf_consume(&c->in, buf_len(&c->in));
	if (buf_len(&c->out) == 0)
		client_finish(srv, c);
	else
		server_update_interest(srv, c);
}

/* send() pending output until it is gone or the socket is full.  Only
 * ever marks the client, so it is safe in the middle of a broadcast. */
static void
client_send(struct server *srv, struct client *c)
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
}

int
client_queue(struct server *srv, struct client *c, const void *p, size_t n)
{
	if (c->state == CLIENT_CLOSING)
		return -1;
	if (buf_append(&c->out, p, n) == 0)
		goto queued;
	/* The cap is on what the peer has not taken, not on what this sweep
	 * has not offered it yet: one sender's 64 KiB of short lines fans out
	 * to more than a MiB per reader before the end-of-sweep flush.  So
	 * send what is pending before calling anyone slow. */
	if (errno == ENOBUFS) {
		client_send(srv, c);
		if (c->state == CLIENT_CLOSING)
			return -1;
		if (buf_append(&c->out, p, n) == 0)
			goto queued;
	}
	/* Never truncate, never drop silently: a client that cannot keep up
	 * is disconnected instead. */
	if (errno == ENOBUFS) {
		srv->stats.slow_closed++;
		log_limited(&srv->client_log, LOG_INFO, srv->now_ms,
		    "closing %s (fd %d): pending output passed "
		    "--max-outbuf (%zu bytes)", c->nick, c->fd,
		    srv->cfg.max_outbuf);
		client_close(srv, c, "slow reader");
	} else {
		client_oom(srv, c, "output");
	}
	return -1;
queued:
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

/* Handle every complete line in data[0, len); returns the bytes used.
 * Stops early if a line ends the conversation (quit). */
static size_t
client_frame(struct server *srv, struct client *c, const char *data,
    size_t len, bool *line_done)
{
	struct frame fr;
	enum frame_status st;
	size_t used = 0;
	char msg[64];
	int n;

	while (c->state == CLIENT_OPEN) {
		st = frame_next(&c->framer, data + used, len - used, &fr);
		if (st == FRAME_NEED_MORE)
			break;
		if (st == FRAME_LINE) {
			room_line(srv, c, fr.line, fr.len);
			*line_done = true;
		} else if (st == FRAME_TOO_LONG) {
			n = snprintf(msg, sizeof(msg),
			    "! line too long (max %zu bytes)\n",
			    srv->cfg.max_line);
			client_queue(srv, c, msg, (size_t)n);
		}
		used += fr.consumed;
	}
	return used;
}

/*
 * Chat input arrives in the server's shared receive buffer.  Whole lines
 * are handled straight from there; only an unfinished tail is copied into
 * the client's own input buffer, which is released again once the line is
 * complete.  So a client that sends whole lines, or nothing, holds no
 * input memory at all: what keeps 10,000 idle clients cheap.
 */
static void
client_feed_lines(struct server *srv, struct client *c, const char *p,
    size_t n)
{
	bool line_done = false;
	size_t used, take;

	while (n > 0 && c->state == CLIENT_OPEN) {
		if (buf_len(&c->in) == 0) {
			used = client_frame(srv, c, p, n, &line_done);
			p += used;
			n -= used;
			/* What is left cannot be a whole line, and framing
			 * guarantees it fits the buffer's cap. */
			if (n > 0 && c->state == CLIENT_OPEN &&
			    buf_append(&c->in, p, n) == -1)
				goto oom;
			break;
		}
		/* Finish the line already begun, as far as the cap allows. */
		take = c->in.cap - buf_len(&c->in);
		if (take > n)
			take = n;
		if (buf_append(&c->in, p, take) == -1)
			goto oom;
		p += take;
		n -= take;
		used = client_frame(srv, c, buf_head(&c->in), buf_len(&c->in),
		    &line_done);
		buf_consume(&c->in, used);
	}
	if (buf_len(&c->in) == 0)
		buf_shrink(&c->in, 0);
	client_track_partial(srv, c, line_done);
	return;
oom:
	client_oom(srv, c, "input");
}

/* The peer sent FIN: finish what it said, then flush and close. */
static void
client_on_eof(struct server *srv, struct client *c)
{
	struct frame fr;

	c->peer_eof = true;
	if (!client_echo(srv) && c->state == CLIENT_OPEN &&
	    frame_finish(&c->framer, buf_head(&c->in), buf_len(&c->in), &fr) ==
	    FRAME_LINE)
		room_line(srv, c, fr.line, fr.len);
	buf_consume(&c->in, buf_len(&c->in));
	client_track_partial(srv, c, false);
	client_drain(srv, c, "eof");
}

/* LINGERING: read and drop whatever the peer still sends, until its FIN. */
static void
client_discard(struct server *srv, struct client *c)
{
	size_t budget = SERVER_READ_BUDGET;
	ssize_t n;

	while (budget > 0) {
		n = sysio.recv(c->fd, srv->rxbuf, SERVER_RECV_CHUNK, 0);
		if (n > 0) {
			budget -= (size_t)n < budget ? (size_t)n : budget;
			srv->sweep_did_work = true;
			continue;
		}
		if (n == -1 && client_would_block(errno)) {
			srv->stats.wouldblock++;
			return;
		}
		if (n == -1 && errno == EINTR)
			continue;
		/* FIN (or an error): the peer has everything it will read. */
		srv->sweep_did_work = true;
		client_close(srv, c, c->close_reason);
		return;
	}
}

void
client_on_readable(struct server *srv, struct client *c)
{
	size_t budget = SERVER_READ_BUDGET, room, want;
	bool echo = client_echo(srv);
	ssize_t n;
	char *p;

	if (c->state == CLIENT_LINGERING) {
		client_discard(srv, c);
		return;
	}
	while (budget > 0 && c->state == CLIENT_OPEN) {
		/* Every recv lands in the shared receive buffer, so a client
		 * that is polled but says nothing costs no buffer at all.  Echo
		 * reads no more than its output buffer can still take: that cap
		 * is the backpressure limit. */
		want = budget < SERVER_RECV_CHUNK ? budget : SERVER_RECV_CHUNK;
		room = echo ? c->out.cap - buf_len(&c->out) : want;
		if (room == 0)
			break;			/* echo: output at the cap */
		if (room > want)
			room = want;
		p = srv->rxbuf;
		n = sysio.recv(c->fd, p, room, 0);
		if (n > 0) {
			budget -= (size_t)n;
			srv->stats.bytes_in += (uint64_t)n;
			srv->sweep_did_work = true;
			c->last_input_ms = srv->now_ms;
			if (echo) {
				if (buf_append(&c->out, p, (size_t)n) == -1) {
					client_oom(srv, c, "input");
					return;
				}
				server_queue_flush(srv, c);
			} else {
				client_feed_lines(srv, c, p, (size_t)n);
			}
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
	/* A client with fresh output is looked at again by the end-of-sweep
	 * flush, which settles its interest once: turning write interest on
	 * here and off again there would cost epoll two epoll_ctl calls per
	 * echoed message. */
	if (!c->queued_flush)
		server_update_interest(srv, c);
}

void
client_on_writable(struct server *srv, struct client *c)
{
	client_send(srv, c);
	if (c->state == CLIENT_CLOSING)
		return;
	if (buf_len(&c->out) == 0) {
		buf_shrink(&c->out, CLIENT_OUT_KEEP);
		if (c->state == CLIENT_DRAINING) {
			client_finish(srv, c);
			return;
		}
	}
	server_update_interest(srv, c);
}
