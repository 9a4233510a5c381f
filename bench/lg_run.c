/* lg_run.c - the loadgen engine: one process, epoll, nonblocking sockets. */
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lg_cpu.h"
#include "lg_run.h"
#include "lg_sched.h"

/*
 * One run goes through fixed phases:
 *
 *	CONNECT	open the connections (paced by --connect-rate)
 *	SETUP	chat only: /nick lgN on every client, wait for each
 *		"* old is now lgN" confirmation
 *	RUN	send: warm-up first, then the measured window
 *	DRAIN	nothing new is scheduled (open-loop sends already due still
 *		go out); wait (at most --drain s) for the replies to
 *		everything sent
 *	DONE	count what never came back as lost
 *
 * Everything is driven by one epoll loop.  Each wait ends at the next
 * deadline of any kind (next open-loop send, phase end, progress line),
 * given to epoll_pwait2 in ns, or on kernels before 5.11 (or with
 * LG_NO_PWAIT2 set in the environment) to a timerfd armed with the
 * absolute CLOCK_MONOTONIC time; with the timer slack at 1 ns the kernel
 * does not round either.  Sockets are level
 * triggered: EPOLLIN always, EPOLLOUT only while a connection has unsent
 * bytes.  A connection turns "dirty" when it may send (a timer tick or a
 * reply in closed loop); dirty connections are flushed once per loop
 * pass, so several due messages go out in one send().
 */

enum lg_phase { PH_CONNECT, PH_SETUP, PH_RUN, PH_DRAIN, PH_DONE };
enum lg_cstate { CS_NEW, CS_CONNECTING, CS_OPEN, CS_CLOSED, CS_FAILED };

#define LG_TIMER_KEY	UINT64_MAX
#define LG_SIGNAL_KEY	(UINT64_MAX - 1)
#define LG_MAX_EVENTS	1024
#define LG_RX_BUF	(64 * 1024)
#define LG_TX_TARGET	4096	/* bytes of messages per send, roughly */
#define LG_NS		1000000000ULL

struct lg_conn {
	int		 fd;
	uint32_t	 id;
	uint8_t		 state;		/* enum lg_cstate */
	bool		 want_out;	/* EPOLLOUT is in the mask */
	bool		 dirty;		/* on the flush list */
	bool		 nick_ok;	/* chat: our rename was confirmed */
	bool		 line_skip;	/* chat: discarding an overlong line */

	uint64_t	 credit;	/* messages it may encode now */
	uint64_t	 tx_seq;	/* next sequence number to encode */
	uint64_t	 first_window_seq; /* first one in the window */
	uint8_t		*tx;		/* encoded, not yet sent: [off, len) */
	uint32_t	 tx_len;
	uint32_t	 tx_off;

	/* echo: where we are in the reply stream */
	struct lg_seq	 seq;
	uint32_t	 rx_off;	/* bytes of the current message */
	bool		 rx_hdr_ok;
	bool		 rx_bad;
	uint32_t	 rx_check;
	uint64_t	 rx_seq;
	uint64_t	 rx_ts;
	uint8_t		 rx_hdr[LG_ECHO_HDR];

	/* chat: a partial line (--no-nick: ncat's pieces rejoined), and one
	 * tracker per sender */
	char		*line;
	uint32_t	 line_len;
	struct lg_ncat	*ncat;
	struct lg_seq	*from;
	uint64_t	 accounted;	/* sum of from[].expect */
};

struct lg_engine {
	const struct lg_config *cfg;
	struct lg_result *res;
	struct lg_conn	*conns;
	uint32_t	 n;
	int		 ep;
	int		 tfd;
	int		 sfd;
	enum lg_phase	 phase;
	bool		 open_loop;
	bool		 stop;		/* a signal arrived */
	bool		 measuring;	/* CPU sampled at the window start */
	bool		 pwait2;	/* epoll_pwait2 works: no timerfd */

	uint64_t	 now;
	uint64_t	 armed;		/* timerfd expiry, 0 = not armed */
	uint64_t	 t_connect;	/* connect phase start */
	uint64_t	 t_setup_end;
	uint64_t	 t0;		/* run start (warm-up start) */
	uint64_t	 t_measure;	/* window start */
	uint64_t	 t_end;		/* window end: stop sending */
	uint64_t	 t_drain_end;
	uint64_t	 t_progress;
	uint64_t	 t_check;	/* next drain completion check */

	struct lg_sched	 sched;
	size_t		 tx_cap;
	size_t		 line_cap;
	uint32_t	 next_open;	/* connections opened so far */
	uint32_t	 settled;	/* connected or failed */
	uint32_t	 nick_pending;
	uint32_t	 greeted;	/* --no-nick: clients with a line */
	uint64_t	 t_greet;	/* --no-nick: the last one's arrival */
	bool		 barrier_long;	/* --no-nick: waiting past the short
					 * barrier timeout */
	uint64_t	 lines_total;	/* chat: sum of tx_seq */
	uint32_t	*dirty;
	uint32_t	 ndirty;

	struct lg_tree	 srv0;
	struct lg_cpu	 self0;
	double		 machine0;
	uint64_t	 prog_received;
	uint64_t	 prog_time;
	uint32_t	 ready_pending;	/* idle --ready: not yet confirmed */
	char		 addr_name[LG_MAX_ADDRS][NET_ADDR_LEN];
	uint8_t		 rxbuf[LG_RX_BUF];
};

static uint64_t
lg_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * LG_NS + (uint64_t)ts.tv_nsec;
}

/* Keep the first error only: it is the cause, the rest its echoes. */
static void lg_error(struct lg_engine *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
lg_error(struct lg_engine *e, const char *fmt, ...)
{
	va_list ap;

	if (e->res->first_error[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(e->res->first_error, sizeof(e->res->first_error), fmt, ap);
	va_end(ap);
}

/* ---- small helpers, exported -------------------------------------------- */

int
lg_raise_nofile(uint32_t n, char *err, size_t errlen)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)n + 32;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		snprintf(err, errlen, "getrlimit: %s", strerror(errno));
		return -1;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		snprintf(err, errlen, "%u connections need %llu file "
		    "descriptors, but RLIMIT_NOFILE's hard limit is %llu", n,
		    (unsigned long long)need, (unsigned long long)rl.rlim_max);
		return -1;
	}
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
		snprintf(err, errlen, "setrlimit(RLIMIT_NOFILE, %llu): %s",
		    (unsigned long long)need, strerror(errno));
		return -1;
	}
	return 0;
}

void
lg_addr_name(const struct net_addr *a, char *out, size_t len)
{
	if (strchr(a->host, ':') != NULL)
		snprintf(out, len, "[%s]:%d", a->host, a->port);
	else
		snprintf(out, len, "%s:%d", a->host, a->port);
}

bool
lg_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1) {
		if (IN6_IS_ADDR_LOOPBACK(&a6))
			return true;
		/* ::ffff:127.x.y.z is IPv4 loopback too. */
		return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
	}
	return false;
}

/* ---- timer and epoll ---------------------------------------------------- */

static void
lg_arm(struct lg_engine *e, uint64_t when)
{
	struct itimerspec its;

	if (when == e->armed)
		return;
	if (when <= e->now)
		when = e->now + 1;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(when / LG_NS);
	its.it_value.tv_nsec = (long)(when % LG_NS);
	if (timerfd_settime(e->tfd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		e->armed = when;
}

static void
lg_watch(struct lg_engine *e, struct lg_conn *c, int op, bool out)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = out ? EPOLLOUT : 0;
	if (c->state == CS_OPEN)
		ev.events |= EPOLLIN;
	ev.data.u64 = c->id;
	(void)epoll_ctl(e->ep, op, c->fd, &ev);
	c->want_out = out;
}

static void
lg_mark_dirty(struct lg_engine *e, struct lg_conn *c)
{
	if (!c->dirty) {
		c->dirty = true;
		e->dirty[e->ndirty++] = c->id;
	}
}

/* The one close path.  by_server: the peer closed or reset it. */
static void
lg_close(struct lg_engine *e, struct lg_conn *c, bool by_server, int errnum)
{
	if (c->state != CS_OPEN)
		return;
	close(c->fd);		/* also drops it from the epoll set */
	c->fd = -1;
	c->state = CS_CLOSED;
	if (by_server && e->phase != PH_DONE) {
		e->res->closed_by_server++;
		if (errnum != 0)
			lg_error(e, "connection closed by server: %s",
			    strerror(errnum));
		else
			lg_error(e, "connection closed by server");
		if (e->phase == PH_SETUP && !c->nick_ok)
			e->res->setup_failed = true;
	}
}

/* ---- sending ------------------------------------------------------------ */

static int
lg_alloc_tx(struct lg_engine *e, struct lg_conn *c)
{
	if (c->tx == NULL && (c->tx = malloc(e->tx_cap)) == NULL)
		return -1;
	return 0;
}

/* Encode as many allowed messages as fit behind the unsent bytes. */
static void
lg_encode(struct lg_engine *e, struct lg_conn *c)
{
	const struct lg_config *cfg = e->cfg;
	uint64_t ts;

	if (c->tx_off > 0 && c->tx_len + cfg->size > e->tx_cap) {
		memmove(c->tx, c->tx + c->tx_off, c->tx_len - c->tx_off);
		c->tx_len -= c->tx_off;
		c->tx_off = 0;
	}
	while (c->credit > 0 && c->tx_len + cfg->size <= e->tx_cap) {
		/* Open loop stamps the scheduled time, so a late send shows
		 * up as latency (the coordinated-omission correction). */
		ts = e->open_loop ? lg_sched_time(&e->sched, c->id, c->tx_seq) :
		    e->now;
		if (ts >= e->t_measure && c->first_window_seq == UINT64_MAX)
			c->first_window_seq = c->tx_seq;
		if (cfg->mode == LG_MODE_CHAT)
			lg_chat_encode((char *)c->tx + c->tx_len, cfg->size,
			    c->id, c->tx_seq, ts);
		else
			lg_echo_encode(c->tx + c->tx_len, cfg->size, c->id,
			    c->tx_seq, ts);
		c->tx_len += (uint32_t)cfg->size;
		c->tx_seq++;
		c->credit--;
		if (cfg->mode == LG_MODE_CHAT)
			e->lines_total++;
	}
}

/* Send what is pending; encode more first while the run allows it. */
static void
lg_flush(struct lg_engine *e, struct lg_conn *c)
{
	ssize_t n;
	int round;

	for (round = 0; round < 4 && c->state == CS_OPEN; round++) {
		if ((e->phase == PH_RUN || e->phase == PH_DRAIN) &&
		    c->credit > 0 && c->tx != NULL)
			lg_encode(e, c);
		if (c->tx_off == c->tx_len)
			break;
		n = send(c->fd, c->tx + c->tx_off, c->tx_len - c->tx_off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			lg_close(e, c, true, errno);
			return;
		}
		c->tx_off += (uint32_t)n;
		if (c->tx_off < c->tx_len)
			break;	/* a short send: the socket buffer is full */
		c->tx_off = c->tx_len = 0;
	}
	if (c->state != CS_OPEN)
		return;
	if ((c->tx_off < c->tx_len) != c->want_out)
		lg_watch(e, c, EPOLL_CTL_MOD, c->tx_off < c->tx_len);
	/* Credit left with the socket writable: go round again next pass
	 * rather than hog this one.  Otherwise EPOLLOUT brings us back. */
	if (!c->want_out && c->credit > 0 &&
	    (e->phase == PH_RUN || e->phase == PH_DRAIN))
		lg_mark_dirty(e, c);
}

/* Queue raw bytes (the /nick command) and send them. */
static void
lg_queue(struct lg_engine *e, struct lg_conn *c, const char *p, size_t len)
{
	if (lg_alloc_tx(e, c) == -1 || c->tx_len + len > e->tx_cap)
		return;
	memcpy(c->tx + c->tx_len, p, len);
	c->tx_len += (uint32_t)len;
	lg_flush(e, c);
}

/* ---- receiving: echo ---------------------------------------------------- */

static void
lg_record(struct lg_engine *e, uint64_t ts, uint64_t bytes)
{
	if (ts < e->t_measure)
		return;		/* sent during warm-up */
	e->res->received++;
	e->res->bytes += bytes;
	lg_hist_record(&e->res->latency, e->now > ts ? e->now - ts : 0);
}

static void
lg_echo_done(struct lg_engine *e, struct lg_conn *c)
{
	struct lg_integrity *in = &e->res->integrity;
	enum lg_seq_verdict v;
	uint64_t newly = 1;

	if (!c->rx_hdr_ok) {
		lg_seq_corrupt(&c->seq, in);
		lg_error(e, "echo reply with a bad header (not our message, or "
		    "bytes lost or changed)");
	} else {
		v = lg_seq_accept(&c->seq, c->rx_seq, c->first_window_seq, in,
		    &newly);
		if (c->rx_bad) {
			in->corrupted++;
			lg_error(e, "echo reply differs from what was sent");
		} else if (v != LG_SEQ_DUP) {
			lg_record(e, c->rx_ts, e->cfg->size);
		}
	}
	/* Closed loop: every reply accounted for frees a slot. */
	if (!e->open_loop && newly > 0 && e->phase == PH_RUN) {
		c->credit += newly;
		lg_mark_dirty(e, c);
	}
}

static void
lg_echo_input(struct lg_engine *e, struct lg_conn *c, const uint8_t *p,
    size_t n)
{
	size_t size = e->cfg->size, k;
	uint32_t id;

	while (n > 0) {
		if (c->rx_off < LG_ECHO_HDR) {
			k = LG_ECHO_HDR - c->rx_off;
			if (k > n)
				k = n;
			memcpy(c->rx_hdr + c->rx_off, p, k);
			c->rx_off += (uint32_t)k;
			if (c->rx_off == LG_ECHO_HDR) {
				c->rx_hdr_ok = lg_echo_decode_header(c->rx_hdr,
				    &id, &c->rx_seq, &c->rx_ts) == 0 &&
				    id == c->id;
				/* Open loop: the stamp must be the schedule. */
				if (c->rx_hdr_ok && e->open_loop &&
				    c->rx_ts != lg_sched_time(&e->sched, id,
				    c->rx_seq))
					c->rx_hdr_ok = false;
				c->rx_bad = !c->rx_hdr_ok;
				if (c->rx_hdr_ok)
					c->rx_check = lg_msg_check(id,
					    c->rx_seq, c->rx_ts);
			}
		} else {
			k = size - c->rx_off;
			if (k > n)
				k = n;
			if (!c->rx_bad && !lg_echo_body_ok(p, k, c->rx_off,
			    c->rx_check))
				c->rx_bad = true;
			c->rx_off += (uint32_t)k;
		}
		p += k;
		n -= k;
		if (c->rx_off == size) {
			lg_echo_done(e, c);
			c->rx_off = 0;
		}
	}
}

/* ---- receiving: chat ---------------------------------------------------- */

/* Remember (the first) bad line for the summary; count it if asked. */
static void
lg_chat_bad(struct lg_engine *e, const char *line, size_t len, bool count)
{
	char shown[80];
	size_t i;

	if (count)
		e->res->integrity.corrupted++;
	for (i = 0; i < len && i < sizeof(shown) - 1; i++)
		shown[i] = (line[i] >= 0x20 && line[i] < 0x7f) ? line[i] : '?';
	shown[i] = '\0';
	lg_error(e, "line from server: \"%s\"", shown);
}

/* "lg123" -> 123; -1 if it is not one of ours. */
static long
lg_chat_nick_id(const char *p, size_t len)
{
	long v = 0;
	size_t i;

	if (len < 3 || len > 12 || p[0] != 'l' || p[1] != 'g')
		return -1;
	for (i = 2; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* A relayed line that decoded: account it to its sender. */
static void
lg_chat_accept(struct lg_engine *e, struct lg_conn *c, uint32_t id,
    uint64_t seq, uint64_t ts)
{
	uint64_t newly;
	enum lg_seq_verdict v;

	v = lg_seq_accept(&c->from[id], seq, e->conns[id].first_window_seq,
	    &e->res->integrity, &newly);
	c->accounted += newly;
	if (v != LG_SEQ_DUP)
		lg_record(e, ts, e->cfg->size);
}

static void
lg_chat_relay(struct lg_engine *e, struct lg_conn *c, const char *l,
    size_t len)
{
	const struct lg_config *cfg = e->cfg;
	const char *gt, *body;
	uint64_t seq, ts;
	uint32_t id;
	long nick;
	size_t blen;

	gt = memchr(l, '>', len < 48 ? len : 48);
	if (gt == NULL || (size_t)(gt - l) + 1 >= len || gt[1] != ' ') {
		lg_chat_bad(e, l, len, true);
		return;
	}
	body = gt + 2;
	blen = len - (size_t)(body - l);
	nick = lg_chat_nick_id(l + 1, (size_t)(gt - l - 1));
	if (nick < 0)
		return;		/* someone else on the server: not ours */
	if (lg_chat_decode(body, blen, cfg->size, &id, &seq, &ts) == -1 ||
	    id >= e->n || id == c->id || nick != id ||
	    (e->open_loop && ts != lg_sched_time(&e->sched, id, seq))) {
		/* If the nick says who sent it, the line still used up
		 * that sender's next number. */
		if ((uint32_t)nick < e->n && (uint32_t)nick != c->id) {
			lg_seq_corrupt(&c->from[nick], &e->res->integrity);
			c->accounted++;
			lg_chat_bad(e, l, len, false);
		} else {
			lg_chat_bad(e, l, len, true);
		}
		return;
	}
	lg_chat_accept(e, c, id, seq, ts);
}

/* --no-nick: a line with ncat's prefixes gone is only the payload, and
 * the payload alone says who sent it. */
static void
lg_chat_payload(struct lg_engine *e, struct lg_conn *c, const char *l,
    size_t len)
{
	uint64_t seq, ts;
	uint32_t id;

	if (lg_chat_decode(l, len, e->cfg->size, &id, &seq, &ts) == -1 ||
	    id >= e->n || id == c->id ||
	    (e->open_loop && ts != lg_sched_time(&e->sched, id, seq))) {
		lg_chat_bad(e, l, len, true);
		return;
	}
	lg_chat_accept(e, c, id, seq, ts);
}

static void
lg_chat_line(struct lg_engine *e, struct lg_conn *c, const char *l,
    size_t len)
{
	char want[32];
	int wlen;

	if (len >= 2 && l[0] == '*' && l[1] == ' ') {
		/* Notices are ignored, except our own rename. */
		if (c->nick_ok || e->phase != PH_SETUP)
			return;
		wlen = snprintf(want, sizeof(want), " is now lg%u", c->id);
		if (len >= (size_t)wlen &&
		    memcmp(l + len - (size_t)wlen, want, (size_t)wlen) == 0) {
			c->nick_ok = true;
			e->nick_pending--;
		}
		return;
	}
	if (len >= 1 && l[0] == '<') {
		if (e->phase == PH_SETUP)
			return;	/* nobody sends before the run */
		lg_chat_relay(e, c, l, len);
		return;
	}
	if (len >= 2 && l[0] == '!' && l[1] == ' ') {
		/* An error for us ("! nick taken", "! server full"): not a
		 * corrupted relay, but it sinks the set-up, and a rejected
		 * line of ours shows up as lost at the others. */
		if (e->phase == PH_SETUP)
			e->res->setup_failed = true;
		lg_chat_bad(e, l, len, false);
		return;
	}
	lg_chat_bad(e, l, len, true);
}

struct lg_chat_ctx {
	struct lg_engine *e;
	struct lg_conn	 *c;
};

/* --no-nick: one line (or notice) out of ncat's pieces. */
static void
lg_chat_ncat_line(void *arg, enum lg_ncat_kind kind, const char *l, size_t len)
{
	struct lg_engine *e = ((struct lg_chat_ctx *)arg)->e;
	struct lg_conn *c = ((struct lg_chat_ctx *)arg)->c;

	/* Any first line (a welcome, ncat's "<announce>") shows the server
	 * has taken this client in. */
	if (e->phase <= PH_SETUP && !c->nick_ok) {
		c->nick_ok = true;
		e->greeted++;
		e->t_greet = e->now;
		if (e->phase == PH_SETUP)
			e->nick_pending--;
	}
	switch (kind) {
	case LG_NCAT_NOTICE:
		return;
	case LG_NCAT_BAD:
		if (len == 0)	/* overlong from its first piece */
			lg_chat_bad(e, "(overlong line)", 15, true);
		else
			lg_chat_bad(e, l, len, true);
		return;
	case LG_NCAT_LINE:
		break;
	}
	if (len >= 2 && l[0] == '*' && l[1] == ' ')
		return;		/* another server's notice */
	if (len >= 2 && l[0] == '!' && l[1] == ' ') {
		/* As in lg_chat_line. */
		if (e->phase == PH_SETUP)
			e->res->setup_failed = true;
		lg_chat_bad(e, l, len, false);
		return;
	}
	lg_chat_payload(e, c, l, len);
}

static void
lg_chat_input(struct lg_engine *e, struct lg_conn *c, const uint8_t *p,
    size_t n)
{
	const char *s = (const char *)p, *nl;
	size_t seg;
	struct lg_chat_ctx ctx;

	if (c->ncat != NULL) {
		ctx.e = e;
		ctx.c = c;
		lg_ncat_input(c->ncat, s, n, lg_chat_ncat_line, &ctx);
		return;
	}
	while (n > 0) {
		if ((nl = memchr(s, '\n', n)) == NULL) {
			if (!c->line_skip && c->line_len + n <= e->line_cap) {
				memcpy(c->line + c->line_len, s, n);
				c->line_len += (uint32_t)n;
			} else {
				c->line_skip = true;
			}
			return;
		}
		seg = (size_t)(nl - s);
		if (c->line_skip || c->line_len + seg > e->line_cap) {
			/* No line of ours is this long. */
			lg_chat_bad(e, "(overlong line)", 15, true);
		} else if (c->line_len == 0) {
			lg_chat_line(e, c, s, seg);
		} else {
			memcpy(c->line + c->line_len, s, seg);
			lg_chat_line(e, c, c->line, c->line_len + seg);
		}
		c->line_len = 0;
		c->line_skip = false;
		s = nl + 1;
		n -= seg + 1;
	}
}

/* ---- events ------------------------------------------------------------- */

static void
lg_readable(struct lg_engine *e, struct lg_conn *c)
{
	ssize_t n;
	int round;

	for (round = 0; round < 4 && c->state == CS_OPEN; round++) {
		n = recv(c->fd, e->rxbuf, sizeof(e->rxbuf), MSG_DONTWAIT);
		if (n > 0) {
			e->now = lg_now();
			if (e->cfg->mode == LG_MODE_IDLE &&
			    e->phase == PH_SETUP && !c->nick_ok) {
				c->nick_ok = true;	/* served: ready */
				e->ready_pending--;
			}
			if (e->cfg->mode == LG_MODE_ECHO)
				lg_echo_input(e, c, e->rxbuf, (size_t)n);
			else if (e->cfg->mode == LG_MODE_CHAT)
				lg_chat_input(e, c, e->rxbuf, (size_t)n);
			/* A short read means the socket is empty: another
			 * recv() would only say EAGAIN. */
			if ((size_t)n < sizeof(e->rxbuf))
				return;
			continue;
		}
		if (n == 0) {
			lg_close(e, c, true, 0);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			lg_close(e, c, true, errno);
		return;
	}
}

static void
lg_connected(struct lg_engine *e, struct lg_conn *c)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		soerr = errno;
	e->settled++;
	if (soerr != 0) {
		close(c->fd);
		c->fd = -1;
		c->state = CS_FAILED;
		e->res->connections_failed++;
		lg_error(e, "cannot connect to %s: %s",
		    e->addr_name[c->id % e->cfg->naddrs], strerror(soerr));
		return;
	}
	c->state = CS_OPEN;
	e->res->connections_ok++;
	(void)net_set_nodelay(c->fd, NULL);
	lg_watch(e, c, EPOLL_CTL_MOD, false);
}

static void
lg_event(struct lg_engine *e, const struct epoll_event *ev)
{
	struct signalfd_siginfo si;
	struct lg_conn *c;
	uint64_t expirations;

	if (ev->data.u64 == LG_TIMER_KEY) {
		if (read(e->tfd, &expirations, sizeof(expirations)) < 0)
			return;
		e->armed = 0;
		return;
	}
	if (ev->data.u64 == LG_SIGNAL_KEY) {
		while (read(e->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			e->stop = true;
		return;
	}
	c = &e->conns[ev->data.u64];
	if (c->state == CS_CONNECTING) {
		lg_connected(e, c);
		return;
	}
	if (c->state != CS_OPEN)
		return;
	if (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		lg_readable(e, c);
	if ((ev->events & EPOLLOUT) && c->state == CS_OPEN)
		lg_flush(e, c);
}

/* ---- phases ------------------------------------------------------------- */

static void
lg_open_one(struct lg_engine *e, struct lg_conn *c)
{
	char err[NET_ERR_LEN];

	if ((c->fd = net_connect(&e->cfg->addrs[c->id % e->cfg->naddrs], true,
	    err)) == -1) {
		c->state = CS_FAILED;
		e->settled++;
		e->res->connections_failed++;
		lg_error(e, "%s", err);
		return;
	}
	c->state = CS_CONNECTING;
	lg_watch(e, c, EPOLL_CTL_ADD, true);
}

/*
 * Idle --ready: a connect() that returned only means the kernel finished
 * the handshake; the server may not have accepted the connection yet (a
 * busy sweep of 10,000 sockets, a fork per client).  So before the
 * window, every connection must have been served once: its first bytes
 * (a chat welcome) or the echo of one byte sent now.
 */
static void
lg_ready_begin(struct lg_engine *e)
{
	uint32_t i;

	e->phase = PH_SETUP;
	e->t_setup_end = e->now + (uint64_t)(LG_READY_TIMEOUT * 1e9);
	for (i = 0; i < e->n; i++) {
		struct lg_conn *c = &e->conns[i];

		if (c->state != CS_OPEN)
			continue;
		if (e->cfg->ready == LG_READY_PING &&
		    send(c->fd, "\n", 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1) {
			lg_close(e, c, true, errno);
			continue;
		}
		e->ready_pending++;
	}
}

static void
lg_begin_run(struct lg_engine *e)
{
	const struct lg_config *cfg = e->cfg;
	uint32_t i;

	/* Idle mode holds its connections for the harness: say so on
	 * stdout, once every one is up (and served, with --ready). */
	if (cfg->mode == LG_MODE_IDLE) {
		printf("loadgen: ready, holding %u connections\n",
		    e->res->connections_ok - e->res->closed_by_server);
		fflush(stdout);
	}
	e->phase = PH_RUN;
	e->t0 = e->now;
	e->t_measure = e->t0 + (uint64_t)(cfg->warmup * 1e9);
	e->t_end = e->t_measure + (uint64_t)(cfg->duration * 1e9);
	e->t_progress = e->t0 + LG_NS;
	e->prog_time = e->t0;
	if (e->open_loop)
		lg_sched_init(&e->sched, e->t0, e->n, cfg->rate);
	if (cfg->mode == LG_MODE_ECHO && !e->open_loop)
		for (i = 0; i < e->n; i++)
			if (e->conns[i].state == CS_OPEN) {
				e->conns[i].credit = cfg->pipeline;
				lg_mark_dirty(e, &e->conns[i]);
			}
}

/* Every --pid tree, summed; false if one of them is gone. */
static bool
lg_sample_servers(const struct lg_config *cfg, struct lg_tree *t)
{
	uint32_t i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < cfg->npids; i++)
		if (lg_tree_sample(cfg->pids[i], t) == -1)
			return false;
	return cfg->npids > 0;
}

static void
lg_sample(struct lg_engine *e, bool end)
{
	const struct lg_config *cfg = e->cfg;
	struct lg_result *res = e->res;
	struct lg_tree srv;
	struct lg_cpu self;
	double busy;
	uint32_t i;

	if (!end) {
		e->measuring = true;
		res->machine_ok = lg_machine_busy(&e->machine0) == 0;
		(void)lg_cpu_read_self(&e->self0);
		res->server_cpu_ok = lg_sample_servers(cfg, &e->srv0);
		return;
	}
	/* The reverse order, so the window of each figure covers the
	 * others'. */
	if (res->server_cpu_ok) {
		if (lg_sample_servers(cfg, &srv)) {
			res->server.cpu_ns = srv.cpu_ns > e->srv0.cpu_ns ?
			    srv.cpu_ns - e->srv0.cpu_ns : 0;
			res->server.wait_ns = srv.wait_ns > e->srv0.wait_ns ?
			    srv.wait_ns - e->srv0.wait_ns : 0;
			res->server.user = srv.user - e->srv0.user;
			res->server.sys = srv.sys - e->srv0.sys;
			res->server.ctx_vol = srv.ctx_vol > e->srv0.ctx_vol ?
			    srv.ctx_vol - e->srv0.ctx_vol : 0;
			res->server.ctx_invol = srv.ctx_invol >
			    e->srv0.ctx_invol ? srv.ctx_invol -
			    e->srv0.ctx_invol : 0;
			res->server.procs = srv.procs;
			res->server.threads = srv.threads;
		} else {
			res->server_cpu_ok = false;
		}
	}
	if (lg_cpu_read_self(&self) == 0) {
		res->self_user = self.user - e->self0.user;
		res->self_sys = self.sys - e->self0.sys;
	}
	if (res->machine_ok && lg_machine_busy(&busy) == 0)
		res->machine_busy = busy - e->machine0;
	else
		res->machine_ok = false;
	res->duration = (double)(e->now - e->t_measure) / 1e9;
	/* Memory last: reading smaps_rollup of 10,000 processes takes a
	 * while, and it is no part of the CPU window. */
	res->server_mem_ok = res->server_cpu_ok;
	for (i = 0; res->server_mem_ok && i < cfg->npids; i++)
		if (lg_tree_memory(cfg->pids[i], &res->server_rss_kb,
		    &res->server_pss_kb) == -1)
			res->server_mem_ok = false;
}

static void
lg_progress(struct lg_engine *e)
{
	const struct lg_integrity *in = &e->res->integrity;
	double dt = (double)(e->now - e->prog_time) / 1e9;
	unsigned long long errors;

	errors = in->duplicated + in->corrupted + in->reordered +
	    e->res->closed_by_server + e->res->connections_failed;
	fprintf(stderr, "\rloadgen: %6.1f s %s  %10.0f %s/s  p99 %9.1f us"
	    "  errors %llu\033[K", (double)(e->now - e->t0) / 1e9,
	    e->now < e->t_measure ? "warm-up" : (e->phase == PH_DRAIN ?
	    "drain  " : "run    "),
	    dt > 0 ? (double)(e->res->received - e->prog_received) / dt : 0.0,
	    e->cfg->mode == LG_MODE_CHAT ? "deliveries" : "msgs",
	    (double)lg_hist_percentile(&e->res->latency, 99.0) / 1e3, errors);
	fflush(stderr);
	e->prog_received = e->res->received;
	e->prog_time = e->now;
	e->t_progress += LG_NS;
	if (e->t_progress <= e->now)
		e->t_progress = e->now + LG_NS;
}

/* Has every reply to what was sent arrived? */
static bool
lg_drained(struct lg_engine *e)
{
	struct lg_conn *c;
	uint32_t i;

	for (i = 0; i < e->n; i++) {
		c = &e->conns[i];
		if (c->state != CS_OPEN)
			continue;
		if (c->tx_off != c->tx_len || c->credit > 0)
			return false;
		if (e->cfg->mode == LG_MODE_ECHO &&
		    (c->seq.expect < c->tx_seq || c->rx_off != 0))
			return false;
		if (e->cfg->mode == LG_MODE_CHAT &&
		    c->accounted < e->lines_total - c->tx_seq)
			return false;
	}
	return true;
}

/*
 * --no-nick: hold back the next connect()?  ncat listens with a backlog
 * of 10.  Past it the kernel drops handshakes (or, with SYN cookies,
 * completes them on our side only): such a client is taken in seconds
 * later, after a retry, or never (ncat has no socket for it, and our
 * first line draws a reset).  Lines relayed before then never reach it,
 * which would read as loss.  So at most LG_GREET_WINDOW connections may
 * wait for their first line (ncat's "<announce>") at a time.  A server
 * that greets nobody gets everything at once after LG_BARRIER_TIMEOUT
 * without a greeting.
 */
static bool
lg_greet_wait(struct lg_engine *e)
{
	uint64_t done;

	if (!e->cfg->no_nick || e->cfg->mode != LG_MODE_CHAT ||
	    e->now >= e->t_greet +
	    (uint64_t)(LG_BARRIER_TIMEOUT * 1e9))
		return false;
	done = (uint64_t)e->greeted + e->res->connections_failed +
	    e->res->closed_by_server;
	return e->next_open >= done + LG_GREET_WINDOW;
}

/* Phase changes and timer work; returns the next deadline. */
static uint64_t
lg_advance(struct lg_engine *e)
{
	const struct lg_config *cfg = e->cfg;
	uint64_t next = UINT64_MAX, t, seq;
	uint32_t id;
	uint32_t i;

	switch (e->phase) {
	case PH_CONNECT:
		if (e->stop) {
			e->phase = PH_DONE;
			return 0;
		}
		if (e->t_greet == 0)
			e->t_greet = e->t_connect;
		while (e->next_open < e->n) {
			t = cfg->connect_rate > 0 ? e->t_connect +
			    (uint64_t)((double)e->next_open * 1e9 /
			    cfg->connect_rate) : 0;
			if (t > e->now) {
				next = t;
				break;
			}
			if (lg_greet_wait(e)) {
				t = e->t_greet + (uint64_t)(LG_BARRIER_TIMEOUT *
				    1e9);
				next = t < next ? t : next;
				break;
			}
			lg_open_one(e, &e->conns[e->next_open++]);
		}
		t = e->t_connect + (uint64_t)(LG_CONNECT_TIMEOUT * 1e9) +
		    (cfg->connect_rate > 0 ? (uint64_t)((double)e->n * 1e9 /
		    cfg->connect_rate) : 0);
		/* Held back by lg_greet_wait(): give the last ones the same
		 * time, counted from the last greeting. */
		if (cfg->no_nick && e->t_greet + (uint64_t)(LG_CONNECT_TIMEOUT *
		    1e9) > t)
			t = e->t_greet + (uint64_t)(LG_CONNECT_TIMEOUT * 1e9);
		if (e->settled < e->n && e->now < t)
			return next < t ? next : t;
		for (i = 0; i < e->n; i++)
			if (e->conns[i].state == CS_CONNECTING) {
				close(e->conns[i].fd);
				e->conns[i].fd = -1;
				e->conns[i].state = CS_FAILED;
				e->res->connections_failed++;
				lg_error(e, "cannot connect to %s: %s",
				    e->addr_name[i % cfg->naddrs], strerror(ETIMEDOUT));
			}
		if (e->res->connections_ok == 0) {
			e->phase = PH_DONE;
			return 0;
		}
		if (cfg->mode == LG_MODE_CHAT) {
			char cmd[32];
			int len;

			/* Lines sent before the server has taken every client
			 * in would be "lost" at the late ones: the set-up is
			 * also a barrier. */
			e->phase = PH_SETUP;
			e->t_setup_end = e->now + (uint64_t)((cfg->no_nick ?
			    LG_BARRIER_TIMEOUT : LG_SETUP_TIMEOUT) * 1e9);
			for (i = 0; i < e->n; i++) {
				if (e->conns[i].state != CS_OPEN ||
				    e->conns[i].nick_ok)
					continue;
				e->nick_pending++;
				if (cfg->no_nick)
					continue;
				len = snprintf(cmd, sizeof(cmd),
				    "/nick lg%u\n", i);
				lg_queue(e, &e->conns[i], cmd, (size_t)len);
			}
			return e->now;
		}
		if (cfg->mode == LG_MODE_IDLE && cfg->ready != LG_READY_CONNECT) {
			lg_ready_begin(e);
			return e->now;
		}
		lg_begin_run(e);
		return e->now;
	case PH_SETUP:
		if (e->stop || e->res->setup_failed) {
			e->phase = PH_DONE;
			return 0;
		}
		if (cfg->mode == LG_MODE_IDLE) {
			if (e->ready_pending == 0) {
				lg_begin_run(e);
				return e->now;
			}
			if (e->now < e->t_setup_end)
				return e->t_setup_end;
			e->res->setup_failed = true;
			lg_error(e, "--ready: %s connections were never served "
			    "within 120 s", "some");
			e->phase = PH_DONE;
			return 0;
		}
		if (e->nick_pending == 0) {
			lg_begin_run(e);
			return e->now;
		}
		if (e->now >= e->t_setup_end && cfg->no_nick) {
			/*
			 * A server that greets nobody: go on regardless.  One
			 * that greeted some (ncat's "<announce>") is still
			 * taking the others in; despite lg_greet_wait() a
			 * handshake it held back is only accepted after a
			 * SYN-ACK retry, 3 s or more after connect()
			 * returned, and lines sent before then never reach
			 * it.  Wait up to the set-up timeout for those.
			 */
			if (e->greeted > 0 && !e->barrier_long) {
				e->barrier_long = true;
				e->t_setup_end += (uint64_t)((LG_SETUP_TIMEOUT -
				    LG_BARRIER_TIMEOUT) * 1e9);
				return e->t_setup_end;
			}
			if (e->greeted > 0)
				lg_error(e, "--no-nick: %s clients without a "
				    "first line after 10 s, going on",
				    "some");
			lg_begin_run(e);
			return e->now;
		}
		if (e->now >= e->t_setup_end) {
			e->res->setup_failed = true;
			lg_error(e, "chat setup: %s nick confirmations missing "
			    "after 10 s", "some");
			e->phase = PH_DONE;
			return 0;
		}
		return e->t_setup_end;
	case PH_RUN:
		if (!e->measuring && e->now >= e->t_measure)
			lg_sample(e, false);
		/* Every send scheduled before the window ends is made, even
		 * when the loop woke up late: lateness is latency, not a
		 * smaller load. */
		if (e->open_loop) {
			while ((t = lg_sched_next_time(&e->sched)) <= e->now &&
			    (t < e->t_end || e->stop)) {
				lg_sched_take(&e->sched, &id, &seq);
				if (e->conns[id].state != CS_OPEN)
					continue;
				e->conns[id].credit++;
				lg_mark_dirty(e, &e->conns[id]);
			}
			next = t;
		}
		if (e->stop || e->now >= e->t_end) {
			if (!e->measuring) {
				/* Stopped during warm-up: an empty window. */
				e->t_measure = e->now;
				lg_sample(e, false);
			}
			if (e->stop) {
				e->res->interrupted = true;
				e->stop = false;
			}
			lg_sample(e, true);
			/* Open-loop credit is for sends scheduled in the
			 * window: they still go out during the drain.  A
			 * closed loop just stops. */
			if (!e->open_loop)
				for (i = 0; i < e->n; i++)
					e->conns[i].credit = 0;
			e->phase = PH_DRAIN;
			e->t_drain_end = e->now + (uint64_t)(cfg->drain * 1e9);
			e->t_check = e->now;
			return e->now;
		}
		if (!e->measuring && e->t_measure < next)
			next = e->t_measure;
		if (e->t_end < next)
			next = e->t_end;
		if (cfg->progress && e->now >= e->t_progress)
			lg_progress(e);
		if (cfg->progress && e->t_progress < next)
			next = e->t_progress;
		return next;
	case PH_DRAIN:
		if (cfg->progress && e->now >= e->t_progress)
			lg_progress(e);
		if (e->stop || e->now >= e->t_drain_end ||
		    cfg->mode == LG_MODE_IDLE) {
			e->phase = PH_DONE;
			return 0;
		}
		/* Checking is O(connections): at most once a millisecond. */
		if (e->now >= e->t_check) {
			if (lg_drained(e)) {
				e->phase = PH_DONE;
				return 0;
			}
			e->t_check = e->now + 1000000;
		}
		next = e->t_drain_end;
		if (e->t_check < next)
			next = e->t_check;
		if (cfg->progress && e->t_progress < next)
			next = e->t_progress;
		return next;
	case PH_DONE:
		break;
	}
	return 0;
}

/* Count sends and losses once everything has settled. */
static void
lg_account(struct lg_engine *e)
{
	const struct lg_config *cfg = e->cfg;
	struct lg_integrity *in = &e->res->integrity;
	struct lg_conn *c;
	uint64_t *sent, unsent, win;
	uint32_t i, s;

	if (cfg->mode == LG_MODE_IDLE)
		return;
	if ((sent = calloc(e->n, sizeof(*sent))) == NULL)
		return;
	for (i = 0; i < e->n; i++) {
		c = &e->conns[i];
		/* Messages still in our buffer never reached the server:
		 * they were not sent and cannot be lost. */
		unsent = (c->tx_len - c->tx_off + cfg->size - 1) / cfg->size;
		sent[i] = c->tx_seq > unsent ? c->tx_seq - unsent : 0;
		if (c->first_window_seq != UINT64_MAX &&
		    sent[i] > c->first_window_seq)
			e->res->sent += sent[i] - c->first_window_seq;
	}
	/* lost is the window's; the warm-up's are kept apart, and fail the
	 * run as well. */
	for (i = 0; i < e->n; i++) {
		c = &e->conns[i];
		if (c->state != CS_OPEN)
			continue;	/* counted as closed instead */
		for (s = 0; s < e->n; s++) {
			const struct lg_seq *t;
			uint64_t fws;

			if (cfg->mode == LG_MODE_ECHO) {
				if (s != i)
					continue;
				t = &c->seq;
			} else {
				if (s == i)
					continue;
				t = &c->from[s];
			}
			fws = e->conns[s].first_window_seq;
			win = lg_seq_lost_window(t, sent[s], fws);
			in->lost += win;
			e->res->warmup_lost += lg_seq_lost(t, sent[s]) - win;
		}
	}
	free(sent);
}

static int
lg_setup(struct lg_engine *e, char *err, size_t errlen)
{
	const struct lg_config *cfg = e->cfg;
	struct epoll_event ev;
	sigset_t mask;
	uint32_t i;
	size_t k;

	e->ep = e->tfd = e->sfd = -1;
	if ((e->conns = calloc(e->n, sizeof(*e->conns))) == NULL ||
	    (e->dirty = calloc(e->n, sizeof(*e->dirty))) == NULL)
		goto nomem;
	/* Enough whole messages per send() to batch, not so many that
	 * 10,000 connections eat memory. */
	k = LG_TX_TARGET / cfg->size;
	if (k < 1)
		k = 1;
	e->tx_cap = k * cfg->size;
	if (e->tx_cap < 64)
		e->tx_cap = 64;		/* the /nick command */
	e->line_cap = cfg->size + 256;
	for (i = 0; i < e->n; i++) {
		e->conns[i].fd = -1;
		e->conns[i].id = i;
		e->conns[i].first_window_seq = UINT64_MAX;
	}
	if (cfg->mode == LG_MODE_CHAT) {
		for (i = 0; i < e->n; i++) {
			e->conns[i].from = calloc(e->n, sizeof(struct lg_seq));
			e->conns[i].line = malloc(e->line_cap);
			if (e->conns[i].from == NULL || e->conns[i].line == NULL)
				goto nomem;
			if (!cfg->no_nick)
				continue;
			e->conns[i].ncat = malloc(sizeof(struct lg_ncat));
			if (e->conns[i].ncat == NULL)
				goto nomem;
			if (lg_ncat_init(e->conns[i].ncat, e->line_cap) == -1) {
				free(e->conns[i].ncat);
				e->conns[i].ncat = NULL;
				goto nomem;
			}
		}
	}
	if (cfg->mode != LG_MODE_IDLE)
		for (i = 0; i < e->n; i++)
			if (lg_alloc_tx(e, &e->conns[i]) == -1)
				goto nomem;

	if ((e->ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (e->tfd = timerfd_create(CLOCK_MONOTONIC,
	    TFD_NONBLOCK | TFD_CLOEXEC)) == -1) {
		snprintf(err, errlen, "epoll/timerfd: %s", strerror(errno));
		return -1;
	}
	/* SIGINT and SIGTERM arrive as events, so a signal between two
	 * checks of a flag cannot be missed. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1 ||
	    (e->sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1) {
		snprintf(err, errlen, "signalfd: %s", strerror(errno));
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = LG_TIMER_KEY;
	if (epoll_ctl(e->ep, EPOLL_CTL_ADD, e->tfd, &ev) == -1)
		goto epoll;
	ev.data.u64 = LG_SIGNAL_KEY;
	if (epoll_ctl(e->ep, EPOLL_CTL_ADD, e->sfd, &ev) == -1)
		goto epoll;
	return 0;
epoll:
	snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
	return -1;
nomem:
	snprintf(err, errlen, "out of memory for %u connections", e->n);
	return -1;
}

static void
lg_teardown(struct lg_engine *e)
{
	sigset_t mask;
	uint32_t i;

	if (e->conns != NULL) {
		for (i = 0; i < e->n; i++) {
			if (e->conns[i].fd >= 0)
				close(e->conns[i].fd);
			free(e->conns[i].tx);
			free(e->conns[i].line);
			free(e->conns[i].from);
			if (e->conns[i].ncat != NULL) {
				lg_ncat_free(e->conns[i].ncat);
				free(e->conns[i].ncat);
			}
		}
	}
	free(e->conns);
	free(e->dirty);
	if (e->ep >= 0)
		close(e->ep);
	if (e->tfd >= 0)
		close(e->tfd);
	if (e->sfd >= 0) {
		close(e->sfd);
		sigemptyset(&mask);
		sigaddset(&mask, SIGINT);
		sigaddset(&mask, SIGTERM);
		(void)sigprocmask(SIG_UNBLOCK, &mask, NULL);
	}
}

/*
 * Wait for events until the deadline `next` (absolute ns).  epoll_pwait2
 * (Linux 5.11) takes a timeout in ns, which saves the timerfd's
 * settime and read: two system calls per open-loop tick.  Older kernels
 * get the timerfd, which is as precise.
 */
static int
lg_wait(struct lg_engine *e, struct epoll_event *evs, uint64_t next)
{
	struct timespec ts;
	uint64_t d;
	int n;

	if (e->pwait2) {
		d = next > e->now ? next - e->now : 0;
		ts.tv_sec = (time_t)(d / LG_NS);
		ts.tv_nsec = (long)(d % LG_NS);
		n = epoll_pwait2(e->ep, evs, LG_MAX_EVENTS,
		    next == UINT64_MAX ? NULL : &ts, NULL);
		if (n != -1 || errno != ENOSYS)
			return n;
		e->pwait2 = false;
	}
	/* Work already due: just poll, do not go through the timer. */
	if (next > e->now)
		lg_arm(e, next);
	return epoll_wait(e->ep, evs, LG_MAX_EVENTS, next > e->now ? -1 : 0);
}

int
lg_run(const struct lg_config *cfg, struct lg_result *res, char *err,
    size_t errlen)
{
	struct epoll_event evs[LG_MAX_EVENTS];
	struct lg_engine *e;
	uint64_t next;
	uint32_t i, nd;
	int n, k, rc = -1;

	memset(res, 0, sizeof(*res));
	lg_hist_init(&res->latency);
	/* The sleeps between sends must not be stretched by the default
	 * 50 us slack. */
	(void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	signal(SIGPIPE, SIG_IGN);
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	e->cfg = cfg;
	e->res = res;
	e->n = cfg->conns;
	e->open_loop = cfg->mode != LG_MODE_IDLE && cfg->rate > 0;
	e->pwait2 = getenv("LG_NO_PWAIT2") == NULL;
	e->t_measure = UINT64_MAX;
	for (i = 0; i < cfg->naddrs; i++)
		lg_addr_name(&cfg->addrs[i], e->addr_name[i],
		    sizeof(e->addr_name[i]));
	if (lg_setup(e, err, errlen) == -1)
		goto out;

	e->now = e->t_connect = lg_now();
	e->phase = PH_CONNECT;
	next = lg_advance(e);
	while (e->phase != PH_DONE) {
		n = lg_wait(e, evs, next);
		if (n == -1 && errno != EINTR) {
			snprintf(err, errlen, "epoll_wait: %s", strerror(errno));
			goto out;
		}
		e->now = lg_now();
		for (k = 0; k < n; k++)
			lg_event(e, &evs[k]);
		e->now = lg_now();
		next = lg_advance(e);
		/* Flush after the scheduler so a tick and a reply that land
		 * together go out in one send(). */
		nd = e->ndirty;
		e->ndirty = 0;
		for (i = 0; i < nd; i++) {
			struct lg_conn *c = &e->conns[e->dirty[i]];

			c->dirty = false;
			if (c->state == CS_OPEN)
				lg_flush(e, c);
		}
		/* Closed loop: replies may have freed credit in this pass;
		 * the next pass sends it (the list is refilled above). */
		if (e->ndirty > 0)
			next = e->now;
	}
	if (cfg->progress && e->t0 != 0)
		fprintf(stderr, "\r\033[K");
	if (e->res->connections_ok == 0) {
		snprintf(err, errlen, "%s", res->first_error[0] != '\0' ?
		    res->first_error : "no connection could be made");
		goto out;
	}
	lg_account(e);
	rc = 0;
out:
	lg_teardown(e);
	free(e);
	return rc;
}
