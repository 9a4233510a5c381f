/* client.c - the client state machine: read, frame, queue, send, close. */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "io.h"
#include "log.h"
#include "proto.h"
#include "stats.h"
#include "sysio.h"

/* An output buffer bigger than this is released once it drains, so a
 * burst (10,000 "joined" notices, a megabyte of echo) does not pin memory
 * for the rest of the connection.  Small ones are kept: a chat line or a
 * 64-byte echo refills them without a malloc/free per message. */
#define CLIENT_OUT_KEEP		512
/* Bytes of unread input thrown away before a graceful close, so that
 * close() sends FIN rather than RST and the peer gets its last lines. */
#define CLIENT_CLOSE_DISCARD	(64 * 1024)

/* The log text of each cause, and whether closing for it is graceful:
 * the peer may still read, so unread input is discarded first (an RST
 * could destroy what it has not read yet).  After a reset or a socket
 * error there is nobody to be graceful to. */
static const struct {
	const char *text;
	bool	graceful;
} client_causes[CLOSE_NCAUSES] = {
	[CLOSE_NONE] = { "closed", true },
	[CLOSE_QUIT] = { "quit", true },
	[CLOSE_EOF] = { "eof", true },
	[CLOSE_IDLE_TIMEOUT] = { "idle timeout", true },
	[CLOSE_LINE_TIMEOUT] = { "line timeout", true },
	[CLOSE_DRAIN_TIMEOUT] = { "drain timeout", true },
	[CLOSE_SHUTDOWN] = { "shutdown", true },
	[CLOSE_SHUTDOWN_TIMEOUT] = { "shutdown timeout", true },
	[CLOSE_SLOW_READER] = { "slow reader", true },
	[CLOSE_MEMORY] = { "over --max-memory", true },
	[CLOSE_FD_LIMIT] = { "over the open file limit", true },
	[CLOSE_OOM] = { "out of memory", true },
	[CLOSE_DRIVER_ERROR] = { "driver error", true },
	[CLOSE_RESET] = { "reset", false },
	[CLOSE_RECV_ERROR] = { "recv error", false },
	[CLOSE_SEND_ERROR] = { "send error", false },
};

const char *
client_cause_text(enum client_cause cause)
{
	return client_causes[cause].text;
}

static bool
client_would_block(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK;
}

/* ---- output memory (--max-memory) ------------------------------------- */

size_t
client_outbuf(const struct client *c)
{
	return c->out.size;
}

static size_t
client_mem_mark(const struct client_ctx *ctx, unsigned eighths)
{
	return ctx->max_memory / 8 * eighths;
}

/* Every change to an output buffer's allocation comes through here, so
 * stats->outbuf is the sum over all clients, and the pause follows it. */
static void
client_account(struct client *c, size_t size_before)
{
	struct client_ctx *ctx = c->ctx;
	struct stats *st = ctx->stats;

	st->outbuf += c->out.size;
	st->outbuf -= size_before;
	if (st->outbuf > st->outbuf_peak)
		st->outbuf_peak = st->outbuf;
	if (ctx->max_memory == 0)
		return;
	if (!ctx->input_paused &&
	    st->outbuf >= client_mem_mark(ctx, CLIENT_MEM_PAUSE)) {
		ctx->input_paused = true;
		ctx->paused_since_ms = ctx->now_ms;
		st->mem_paused++;
		log_limited(&ctx->log, LOG_INFO, ctx->now_ms, "pending output "
		    "%llu bytes, past 3/4 of --max-memory (%zu): not reading "
		    "input until it is under half", (unsigned long long)
		    st->outbuf, ctx->max_memory);
	} else if (ctx->input_paused &&
	    st->outbuf < client_mem_mark(ctx, CLIENT_MEM_RESUME)) {
		ctx->input_paused = false;
	}
}

/* The most pending output first; among equals the newest, which has
 * the least invested (and the order is total, so it is stable). */
static int
client_cmp_outbuf(const void *a, const void *b)
{
	const struct client *x = *(struct client *const *)a;
	const struct client *y = *(struct client *const *)b;

	if (buf_len(&x->out) != buf_len(&y->out))
		return buf_len(&x->out) < buf_len(&y->out) ? 1 : -1;
	return x->serial < y->serial ? 1 : x->serial > y->serial ? -1 : 0;
}

static void client_send_some(struct client *c, size_t budget);

void
client_shed_output(struct client_ctx *ctx, size_t target)
{
	struct stats *st = ctx->stats;
	size_t i, n = 0, size;

	if (ctx->table == NULL || st->outbuf <= target)
		return;
	for (i = 0; i < *ctx->table_len; i++) {
		struct client *c = ctx->table[i];

		if (c->state == CLIENT_CLOSING || c->out.size == 0)
			continue;
		/* First the chance the end-of-sweep flush would give it (in
		 * the middle of a broadcast everyone's output is still
		 * unsent): what a reader takes now is not held against it.
		 * One whose socket was full already is not asked again. */
		if (buf_len(&c->out) > 0 && !(c->interest & IO_WRITE))
			client_send_some(c, CLIENT_SEND_BUDGET);
		if (c->state == CLIENT_CLOSING)
			continue;
		if (buf_len(&c->out) == 0) {
			size = c->out.size;
			buf_shrink(&c->out, CLIENT_OUT_KEEP);
			client_account(c, size);
		}
		ctx->scratch[n++] = c;
	}
	qsort(ctx->scratch, n, sizeof(*ctx->scratch), client_cmp_outbuf);
	for (i = 0; i < n && st->outbuf > target; i++) {
		struct client *c = ctx->scratch[i];

		if (c->state == CLIENT_CLOSING || buf_len(&c->out) == 0)
			continue;
		st->mem_closed++;
		log_limited(&ctx->log, LOG_INFO, ctx->now_ms,
		    "closing %s (fd %d): it holds the most output (%zu bytes) "
		    "while all clients' output passed --max-memory (%zu)",
		    c->nick, c->fd, buf_len(&c->out), ctx->max_memory);
		client_close(c, CLOSE_MEMORY);
	}
}

void
client_memory_tick(struct client_ctx *ctx)
{
	/* Stopping the senders did not bring it down in time: the
	 * receivers are not reading.  Those holding the most go. */
	if (ctx->input_paused &&
	    ctx->now_ms - ctx->paused_since_ms >= CLIENT_MEM_GRACE_MS)
		client_shed_output(ctx, client_mem_mark(ctx, CLIENT_MEM_RESUME));
}

/* ---- lifecycle ---------------------------------------------------------- */

struct client *
client_new(struct client_ctx *ctx, int fd, uint64_t serial,
    const struct proto *proto, void *proto_self)
{
	struct client *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->fd = fd;
	c->state = CLIENT_OPEN;
	c->serial = serial;
	c->ctx = ctx;
	c->proto = proto;
	c->proto_self = proto_self;
	c->last_input_ms = ctx->now_ms;
	snprintf(c->nick, sizeof(c->nick), "guest%llu",
	    (unsigned long long)serial);
	frame_init(&c->framer, ctx->max_line);
	/* An unfinished line, plus one recv() worth of lines a turn had no
	 * budget for, or that waited while the client was held (allocated
	 * only when used). */
	buf_init(&c->in, frame_buffer_size(ctx->max_line) + CLIENT_RECV_CHUNK);
	buf_init(&c->out, ctx->max_outbuf);
	return c;
}

/* Before a graceful close, swallow input the peer sent after its last
 * processed line: closing with unread data makes the kernel send RST, and
 * an RST can destroy output the peer has not read yet ("* bye"). */
static void
client_discard_unread(struct client *c)
{
	size_t total = 0;
	ssize_t n;

	while (total < CLIENT_CLOSE_DISCARD) {
		n = sysio.recv(c->fd, c->ctx->rxbuf, CLIENT_RECV_CHUNK,
		    MSG_DONTWAIT);
		if (n > 0)
			total += (size_t)n;
		else if (!(n == -1 && errno == EINTR))
			break;
	}
	c->ctx->discarded += total;
}

void
client_free(struct client *c)
{
	size_t size = c->out.size;

	if (c->state == CLIENT_CLOSING && client_causes[c->cause].graceful)
		client_discard_unread(c);
	sysio.close(c->fd);
	if (c->partial_since_ms != 0)
		c->ctx->partial_count--;
	buf_free(&c->in);
	buf_free(&c->out);
	client_account(c, size);
	free(c);
}

bool
client_present(const struct client *c)
{
	return c->state == CLIENT_OPEN || c->state == CLIENT_DRAINING;
}

/* ---- interest ----------------------------------------------------------- */

int
client_interest(const struct client *c)
{
	int want = 0;

	/* Backpressure: a client whose output is at the cap is not read
	 * until it drains, so its memory stays bounded. */
	if (c->state == CLIENT_OPEN && !c->held && !c->ctx->input_paused &&
	    !(c->proto->backpressure && buf_len(&c->out) >= c->out.cap))
		want |= IO_READ;
	if (c->state == CLIENT_LINGERING)
		want |= IO_READ;	/* to see the peer's FIN */
	if (c->state != CLIENT_CLOSING && buf_len(&c->out) > 0)
		want |= IO_WRITE;
	return want;
}

void
client_sync_interest(struct client *c)
{
	struct client_ctx *ctx = c->ctx;
	int want;

	if (c->state == CLIENT_CLOSING)
		return;		/* the reaper removes it */
	if ((want = client_interest(c)) == c->interest)
		return;
	if (ctx->io->modify(ctx->io_state, c->fd, c->interest, want) == -1) {
		log_limited(&ctx->log, LOG_WARN, ctx->now_ms,
		    "closing %s (fd %d): the %s driver refused it: %s",
		    c->nick, c->fd, ctx->io->name, strerror(errno));
		client_close(c, CLOSE_DRIVER_ERROR);
		return;
	}
	c->interest = want;
}

/* ---- closing ------------------------------------------------------------ */

void
client_out_of_memory(struct client *c, const char *what)
{
	c->ctx->stats->oom_closed++;
	log_limited(&c->ctx->log, LOG_WARN, c->ctx->now_ms,
	    "closing %s (fd %d): out of memory for %s", c->nick, c->fd, what);
	client_close(c, CLOSE_OOM);
}

static void
client_push(struct client_list *l, struct client *c)
{
	l->items[l->len++] = c;
}

void
client_close(struct client *c, enum client_cause cause)
{
	if (c->state == CLIENT_CLOSING)
		return;
	if (c->state == CLIENT_DRAINING || c->state == CLIENT_LINGERING)
		c->ctx->draining_count--;
	c->state = CLIENT_CLOSING;
	c->cause = cause;
	/* Nothing is sent after this: give its output memory back now, so
	 * shedding for --max-memory takes effect in the middle of a
	 * broadcast. */
	if (c->out.size > 0) {
		size_t size = c->out.size;

		buf_free(&c->out);
		client_account(c, size);
	}
	if (c->member && c->proto->on_closing != NULL)
		c->proto->on_closing(c->proto_self, c);
	if (!c->queued_reap) {
		c->queued_reap = true;
		client_push(&c->ctx->reap, c);
	}
}

/* Output is flushed: close, or linger if the peer may still be sending. */
static void
client_finish(struct client *c)
{
	if (c->peer_eof || c->ctx->shutting_down ||
	    sysio.shutdown(c->fd, SHUT_WR) == -1) {
		client_close(c, c->cause);
		return;
	}
	c->state = CLIENT_LINGERING;
	c->drain_since_ms = c->ctx->now_ms;
	/* Gone from the room as far as everyone else can tell. */
	if (c->member && c->proto->on_leave != NULL)
		c->proto->on_leave(c->proto_self, c);
	client_sync_interest(c);
}

void
client_drain(struct client *c, enum client_cause cause)
{
	if (c->state != CLIENT_OPEN)
		return;
	c->state = CLIENT_DRAINING;
	c->cause = cause;
	c->drain_since_ms = c->ctx->now_ms;
	c->ctx->draining_count++;
	/* Whatever came after the last processed line is ignored. */
	buf_consume(&c->in, buf_len(&c->in));
	if (buf_len(&c->out) == 0)
		client_finish(c);
	else
		client_sync_interest(c);
}

void
client_farewell(struct client *c, enum client_cause why)
{
	if (c->state != CLIENT_OPEN)
		return;
	if (c->proto->on_farewell != NULL)
		c->proto->on_farewell(c->proto_self, c, why);
	client_drain(c, why);
}

/* ---- output ------------------------------------------------------------- */

/* send() pending output until it is gone, the socket is full, or budget
 * bytes went (the rest waits for the next sweep: see CLIENT_SEND_BUDGET).
 * Only ever marks the client, so it is safe in the middle of a broadcast. */
static void
client_send_some(struct client *c, size_t budget)
{
	struct stats *stats = c->ctx->stats;
	size_t want;
	ssize_t n;

	c->sent_round = c->ctx->round;
	while (c->state != CLIENT_CLOSING && buf_len(&c->out) > 0 &&
	    budget > 0) {
		want = buf_len(&c->out) < budget ? buf_len(&c->out) : budget;
		stats->sends++;
		n = sysio.send(c->fd, buf_head(&c->out), want, MSG_NOSIGNAL);
		if (n > 0) {
			buf_consume(&c->out, (size_t)n);
			stats->bytes_out += (uint64_t)n;
			budget -= (size_t)n;
			continue;
		}
		if (n == -1 && client_would_block(errno)) {
			stats->wouldblock++;
			break;
		}
		if (n == -1 && errno == EINTR)
			continue;
		client_close(c, errno == EPIPE || errno == ECONNRESET ?
		    CLOSE_RESET : CLOSE_SEND_ERROR);
		return;
	}
}

/*
 * The end-of-sweep flush sends to each client at most once per round:
 * output queued after its send (a "* nick left" from the next of a
 * thousand leavers) waits for the next sweep, where the driver reports it
 * writable, instead of costing one send() per notice per receiver.  So
 * such a client only gets its write interest now.
 */
void
client_queue_flush(struct client *c)
{
	if (c->queued_flush)
		return;
	if (c->sent_round == c->ctx->round) {
		client_sync_interest(c);
		return;
	}
	c->queued_flush = true;
	client_push(&c->ctx->flush, c);
}

/* Appending n bytes would take everyone's output past --max-memory: the
 * biggest holders go first (c among them, if it is one). */
static void
client_check_memory(struct client *c, size_t n)
{
	struct client_ctx *ctx = c->ctx;
	size_t grow = buf_size_after(&c->out, n) - c->out.size;

	if (ctx->max_memory == 0 || grow == 0 ||
	    ctx->stats->outbuf + grow <= ctx->max_memory)
		return;
	client_shed_output(ctx, client_mem_mark(ctx, CLIENT_MEM_RESUME));
}

int
client_queue(struct client *c, const void *p, size_t n)
{
	struct client_ctx *ctx = c->ctx;

	size_t size;

	if (c->state == CLIENT_CLOSING)
		return -1;
	client_check_memory(c, n);
	if (c->state == CLIENT_CLOSING)
		return -1;
	ctx->queued += n;
	size = c->out.size;
	if (buf_append(&c->out, p, n) == 0)
		goto queued;
	/* The cap is on what the peer has not taken, not on what this sweep
	 * has not offered it yet: one sender's 64 KiB of short lines fans out
	 * to more than a MiB per reader before the end-of-sweep flush.  So
	 * send what is pending before calling anyone slow. */
	if (errno == ENOBUFS) {
		client_send_some(c, SIZE_MAX);
		if (c->state == CLIENT_CLOSING)
			return -1;
		if (buf_append(&c->out, p, n) == 0)
			goto queued;
	}
	client_account(c, size);
	/* Never truncate, never drop silently: a client that cannot keep up
	 * is disconnected instead. */
	if (errno == ENOBUFS) {
		ctx->stats->slow_closed++;
		log_limited(&ctx->log, LOG_INFO, ctx->now_ms,
		    "closing %s (fd %d): pending output passed "
		    "--max-outbuf (%zu bytes)", c->nick, c->fd, ctx->max_outbuf);
		client_close(c, CLOSE_SLOW_READER);
	} else {
		client_out_of_memory(c, "output");
	}
	return -1;
queued:
	client_account(c, size);
	client_queue_flush(c);
	return 0;
}

void
client_on_writable(struct client *c)
{
	client_send_some(c, CLIENT_SEND_BUDGET);
	if (c->state == CLIENT_CLOSING)
		return;
	if (buf_len(&c->out) == 0) {
		size_t size = c->out.size;

		buf_shrink(&c->out, CLIENT_OUT_KEEP);
		client_account(c, size);
		if (c->state == CLIENT_DRAINING) {
			client_finish(c);
			return;
		}
	}
	client_sync_interest(c);
}

/* ---- input -------------------------------------------------------------- */

/* Track when the current unfinished line began, for --line-timeout.  A
 * trickle of bytes does not move the start: that is the slowloris defence.
 * line_done: a line ended (an overlong one too), so whatever is buffered now
 * began after it. */
static void
client_track_partial(struct client *c, bool line_done)
{
	bool partial = buf_len(&c->in) > 0 || c->framer.discarding;

	if (!partial) {
		if (c->partial_since_ms != 0)
			c->ctx->partial_count--;
		c->partial_since_ms = 0;
	} else if (c->partial_since_ms == 0) {
		c->ctx->partial_count++;
		c->partial_since_ms = c->ctx->now_ms;
	} else if (line_done) {
		c->partial_since_ms = c->ctx->now_ms;
	}
}

/* This turn has done its share (CLIENT_TURN_BUDGET), or nobody may be
 * read at all (--max-memory).  The first line of a turn always goes. */
static bool
client_turn_spent(const struct client *c)
{
	const struct client_ctx *ctx = c->ctx;

	if (ctx->input_paused)
		return true;
	return ctx->turn_lines > 0 && (ctx->queued - ctx->turn_queued) +
	    ctx->turn_lines * CLIENT_LINE_COST >= CLIENT_TURN_BUDGET;
}

/* Handle complete lines in data[0, len) while the turn lasts; returns the
 * bytes used.  Stops early if a line ends the conversation (quit), and
 * sets c->backlogged if the turn ran out first. */
static size_t
client_frame(struct client *c, const char *data, size_t len, bool *line_done)
{
	struct frame fr;
	enum frame_status st;
	size_t used = 0;

	while (c->state == CLIENT_OPEN && !c->held) {
		if (used < len && client_turn_spent(c)) {
			c->backlogged = true;
			break;
		}
		st = frame_next(&c->framer, data + used, len - used, &fr);
		if (st == FRAME_NEED_MORE)
			break;
		c->ctx->turn_lines++;
		if (st == FRAME_LINE)
			c->proto->on_line(c->proto_self, c, fr.line, fr.len);
		else if (st == FRAME_TOO_LONG && c->proto->on_overlong)
			c->proto->on_overlong(c->proto_self, c);
		used += fr.consumed;
		/* Once the LF of an overlong line has gone by, the next
		 * line's clock starts afresh, as after any line. */
		if (!c->framer.discarding)
			*line_done = true;
	}
	return used;
}

static void
client_backlog_push(struct client *c)
{
	if (!c->queued_backlog) {
		c->queued_backlog = true;
		client_push(&c->ctx->backlog, c);
	}
}

/* Frame what c->in holds, as far as the turn allows. */
static void
client_frame_buffered(struct client *c, bool *line_done)
{
	size_t used;

	c->backlogged = false;
	used = client_frame(c, buf_head(&c->in), buf_len(&c->in), line_done);
	buf_consume(&c->in, used);
}

/* After framing: release an empty input buffer, restart the line clock,
 * and if the turn ran out, come back next sweep. */
static void
client_after_frame(struct client *c, bool line_done)
{
	if (c->state != CLIENT_OPEN)
		c->backlogged = false;
	if (buf_len(&c->in) == 0) {
		c->backlogged = false;
		buf_shrink(&c->in, 0);
	}
	if (c->backlogged) {
		c->ctx->stats->turns_cut++;
		client_backlog_push(c);
	}
	client_track_partial(c, line_done);
}

/*
 * Input arrives in the shared receive buffer.  Whole lines are handled
 * straight from there; only what is left (an unfinished tail, or lines the
 * turn had no budget for) is copied into the client's own input buffer,
 * which is released again once it is empty.  So a client that sends whole
 * lines, or nothing, holds no input memory at all: what keeps 10,000 idle
 * clients cheap.  The input buffer holds at most an unfinished line plus
 * one recv() (its cap): nothing is read while it holds a backlog.
 */
static void
client_feed_lines(struct client *c, const char *p, size_t n)
{
	bool line_done = false;
	size_t used;

	if (buf_len(&c->in) == 0) {
		used = client_frame(c, p, n, &line_done);
		p += used;
		n -= used;
		if (n > 0 && c->state == CLIENT_OPEN &&
		    buf_append(&c->in, p, n) == -1)
			goto oom;
	} else {
		/* An unfinished line is buffered: finish it in place. */
		if (buf_append(&c->in, p, n) == -1)
			goto oom;
		client_frame_buffered(c, &line_done);
	}
	client_after_frame(c, line_done);
	return;
oom:
	client_out_of_memory(c, "input");
}

/* The peer sent FIN: finish what it said, then flush and close.  Lines a
 * turn had no budget for are handled first, over as many turns as they
 * take; the EOF is seen again then (recv() keeps returning 0). */
static void
client_on_eof(struct client *c)
{
	struct frame fr;

	c->peer_eof = true;
	if (c->backlogged)
		return;
	if (c->proto->on_line != NULL && c->state == CLIENT_OPEN &&
	    frame_finish(&c->framer, buf_head(&c->in), buf_len(&c->in), &fr) ==
	    FRAME_LINE)
		c->proto->on_line(c->proto_self, c, fr.line, fr.len);
	buf_consume(&c->in, buf_len(&c->in));
	client_track_partial(c, false);
	client_drain(c, CLOSE_EOF);
}

/* LINGERING: read and drop whatever the peer still sends, until its FIN. */
static void
client_linger_read(struct client *c)
{
	size_t budget = CLIENT_READ_BUDGET;
	ssize_t n;

	while (budget > 0) {
		n = sysio.recv(c->fd, c->ctx->rxbuf, CLIENT_RECV_CHUNK, 0);
		if (n > 0) {
			budget -= (size_t)n < budget ? (size_t)n : budget;
			c->ctx->discarded += (uint64_t)n;
			continue;
		}
		if (n == -1 && client_would_block(errno)) {
			c->ctx->stats->wouldblock++;
			return;
		}
		if (n == -1 && errno == EINTR)
			continue;
		/* FIN (or an error): the peer has everything it will read. */
		client_close(c, c->cause);
		return;
	}
}

/* Bytes received: to the framer or straight to the protocol.  false if
 * the client could not take them (it is closing then). */
static bool
client_take(struct client *c, const char *p, size_t n)
{
	c->ctx->stats->bytes_in += (uint64_t)n;
	c->last_input_ms = c->ctx->now_ms;
	if (c->proto->on_line != NULL)
		client_feed_lines(c, p, n);
	else
		c->proto->on_data(c->proto_self, c, p, n);
	return c->state != CLIENT_CLOSING;
}

/* Read up to the read budget, while the turn lasts. */
static void
client_read(struct client *c)
{
	size_t budget = CLIENT_READ_BUDGET, room, want;
	ssize_t n;

	while (budget > 0 && c->state == CLIENT_OPEN && !c->backlogged &&
	    !c->held && !c->ctx->input_paused) {
		/* Every recv lands in the shared receive buffer, so a client
		 * that is polled but says nothing costs no buffer at all.  With
		 * backpressure no more is read than the output buffer can
		 * still take. */
		want = budget < CLIENT_RECV_CHUNK ? budget : CLIENT_RECV_CHUNK;
		room = c->proto->backpressure ? c->out.cap - buf_len(&c->out) :
		    want;
		if (room == 0)
			break;			/* output at the cap */
		if (room > want)
			room = want;
		n = sysio.recv(c->fd, c->ctx->rxbuf, room, 0);
		if (n > 0) {
			budget -= (size_t)n;
			if (!client_take(c, c->ctx->rxbuf, (size_t)n))
				return;
			/* A short read means the socket buffer is empty: the
			 * recv() that would say EWOULDBLOCK is pure waste, and
			 * every driver comes back when more arrives. */
			if ((size_t)n < room)
				break;
			continue;
		}
		if (n == 0) {
			client_on_eof(c);
			return;
		}
		if (client_would_block(errno)) {
			c->ctx->stats->wouldblock++;
			break;
		}
		if (errno == EINTR)
			continue;
		client_close(c, errno == ECONNRESET ? CLOSE_RESET :
		    CLOSE_RECV_ERROR);
		return;
	}
}

void
client_on_readable(struct client *c)
{
	struct client_ctx *ctx = c->ctx;
	bool line_done = false;

	if (c->state == CLIENT_LINGERING) {
		client_linger_read(c);
		return;
	}
	/* One turn per round: the backlog pass and a readiness event in the
	 * same sweep must not make it two. */
	if (c->state != CLIENT_OPEN || c->held ||
	    c->turn_round == ctx->round || ctx->input_paused)
		return;
	c->turn_round = ctx->round;
	ctx->turn_queued = ctx->queued;
	ctx->turn_lines = 0;
	/* Lines held from the last turn go first; nothing new is read until
	 * they are done, so what the sender has not been served yet stays
	 * in the kernel, and TCP makes it wait. */
	if (c->backlogged) {
		client_frame_buffered(c, &line_done);
		client_after_frame(c, line_done);
		if (c->state == CLIENT_OPEN && !c->backlogged && c->peer_eof)
			client_on_eof(c);
	}
	client_read(c);
	/* A client with fresh output is looked at again by the end-of-sweep
	 * flush, which settles its interest once: turning write interest on
	 * here and off again there would cost epoll two epoll_ctl calls per
	 * echoed message. */
	if (!c->queued_flush && c->state != CLIENT_CLOSING)
		client_sync_interest(c);
}

void
client_hold(struct client *c)
{
	c->held = true;
	client_sync_interest(c);
}

void
client_resume(struct client *c)
{
	if (!c->held)
		return;
	c->held = false;
	if (c->state != CLIENT_OPEN)
		return;
	/* What waited is framed in its next turn, under the budget like
	 * any other backlog (this may run inside someone else's turn). */
	if (buf_len(&c->in) > 0) {
		c->backlogged = true;
		client_backlog_push(c);
	}
	if (!c->queued_flush)
		client_sync_interest(c);
}

void
client_run_backlog(struct client_ctx *ctx)
{
	struct client_list *bl = &ctx->backlog;
	size_t i, n = bl->len, kept = 0;

	/* Those queued while this pass runs (by their own turn) land behind
	 * n; they and anyone who already had a turn wait for the next one. */
	for (i = 0; i < n; i++) {
		struct client *c = bl->items[i];

		c->queued_backlog = false;
		if (c->state != CLIENT_OPEN || !c->backlogged)
			continue;
		if (c->turn_round == ctx->round || ctx->input_paused) {
			bl->items[kept++] = c;
			c->queued_backlog = true;
			continue;
		}
		client_on_readable(c);
	}
	memmove(bl->items + kept, bl->items + n,
	    (bl->len - n) * sizeof(*bl->items));
	bl->len = kept + (bl->len - n);
}

/* ---- timers ------------------------------------------------------------- */

bool
client_tick(struct client *c)
{
	struct client_ctx *ctx = c->ctx;
	int64_t now = ctx->now_ms;
	enum client_cause why;

	switch (c->state) {
	case CLIENT_LINGERING:
		/* A lingering peer that never sends its FIN is cut off. */
		if (now - c->drain_since_ms < CLIENT_LINGER_MS)
			return false;
		client_close(c, c->cause);
		return true;
	case CLIENT_DRAINING:
		/* A closing connection whose peer takes nothing (dead, or
		 * never reads) would keep its output and its fd forever,
		 * even after an idle or line timeout drained it: the flush is
		 * bounded too.  Shutdown has its own deadline. */
		if (ctx->shutting_down || now - c->drain_since_ms < ctx->drain_ms)
			return false;
		ctx->stats->timeouts++;
		log_limited(&ctx->log, LOG_INFO, now, "closing %s (fd %d): "
		    "output not taken within %lld s (after %s)", c->nick, c->fd,
		    (long long)(ctx->drain_ms / 1000),
		    client_cause_text(c->cause));
		client_close(c, CLOSE_DRAIN_TIMEOUT);
		return true;
	case CLIENT_OPEN:
		break;
	case CLIENT_CLOSING:
		return false;
	}
	/* Input the server has not got round to (a backlog, or nobody is
	 * read because of --max-memory) is not the client's silence. */
	if (c->backlogged || c->held || ctx->input_paused)
		return false;
	if (ctx->line_ms > 0 && c->partial_since_ms != 0 &&
	    now - c->partial_since_ms >= ctx->line_ms)
		why = CLOSE_LINE_TIMEOUT;
	else if (ctx->idle_ms > 0 && now - c->last_input_ms >= ctx->idle_ms)
		why = CLOSE_IDLE_TIMEOUT;
	else
		return false;
	ctx->stats->timeouts++;
	log_limited(&ctx->log, LOG_INFO, now, "closing %s (fd %d): %s",
	    c->nick, c->fd, client_cause_text(why));
	client_farewell(c, why);
	return true;
}
