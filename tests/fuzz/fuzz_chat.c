/* fuzz_chat.c - libFuzzer harness: arbitrary client bytes, in arbitrary
 * chunks, through the server core's framing, commands and output. */
/*
 * Each input is a small script.  Its first three bytes configure a server
 * (chat or echo, a tiny or normal --max-line and --max-outbuf, caps on
 * recv/send sizes and spurious EAGAINs through the sysio seam); the rest
 * are operations on up to four clients adopted from socketpair() ends:
 * send the next N bytes, run sweeps, read what the server sent, half-close,
 * close, or connect one more.  So the same bytes reach the state machine
 * split in whatever chunks the fuzzer finds interesting.  No traffic goes
 * over the network (the listener exists but nobody connects to it).
 *
 * Besides ASan/UBSan, the harness checks what the server promises:
 * - buffers never pass their caps (input: one line, output: --max-outbuf);
 * - chat: every line a client receives starts with "* ", "! " or "<", and
 *   a relayed line is never longer than --max-line plus "<nick> " and LF;
 * - echo: a client receives exactly a prefix of what it sent;
 * - the partial-line count matches the clients holding a partial line;
 * - once every peer has gone, every client is reaped within a bounded
 *   number of sweeps (nothing gets stuck).
 * A violated promise calls abort(), which libFuzzer reports as a crash.
 *
 * Built two ways: with clang -fsanitize=fuzzer for `make fuzz`, and
 * included by tests/check_fuzz.c, which replays the seed corpus and
 * tests/fuzz/regressions/ under `make check`.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "net.h"
#include "options.h"
#include "listen.h"
#include "loop.h"
#include "server.h"
#include "sysio.h"

#define FZ_MAX_CLIENTS	4
#define FZ_FINAL_SWEEPS	2000

struct fz_peer {
	int	fd;		/* the harness's end, -1 once closed */
	int	srv_fd;
	unsigned char *sent;	/* echo: bytes the socket accepted */
	size_t	sent_len;
	unsigned char *got;	/* everything received */
	size_t	got_len;
	size_t	checked;	/* chat: complete lines already checked */
	int	shut;		/* write side shut down */
};

static struct fz_peer fz_peers[FZ_MAX_CLIENTS];
static int fz_npeers;
static struct server fz_srv;
static size_t fz_recv_cap, fz_send_cap;
static int fz_eagain;		/* inject EAGAIN on every other call */
static unsigned long fz_calls;

static void
fz_fail(const char *why)
{
	/* One line for the humans, then a crash for libFuzzer or Check. */
	(void)!write(2, "fuzz_chat: ", 11);
	(void)!write(2, why, strlen(why));
	(void)!write(2, "\n", 1);
	abort();
}

static ssize_t
fz_recv(int fd, void *p, size_t n, int flags)
{
	if (fz_eagain && (++fz_calls & 1)) {
		errno = EAGAIN;
		return -1;
	}
	if (fz_recv_cap > 0 && n > fz_recv_cap)
		n = fz_recv_cap;
	return recv(fd, p, n, flags);
}

static ssize_t
fz_send(int fd, const void *p, size_t n, int flags)
{
	if (fz_eagain && (++fz_calls & 1)) {
		errno = EAGAIN;
		return -1;
	}
	if (fz_send_cap > 0 && n > fz_send_cap)
		n = fz_send_cap;
	return send(fd, p, n, flags);
}

static void
fz_append(unsigned char **buf, size_t *len, const void *p, size_t n)
{
	unsigned char *nb = realloc(*buf, *len + n);

	if (nb == NULL)
		fz_fail("harness out of memory");
	memcpy(nb + *len, p, n);
	*buf = nb;
	*len += n;
}

static void
fz_adopt(void)
{
	int sv[2];

	if (fz_npeers == FZ_MAX_CLIENTS)
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == -1)
		fz_fail("socketpair");
	if (listen_adopt(&fz_srv, sv[0]) == NULL) {
		close(sv[1]);
		return;
	}
	memset(&fz_peers[fz_npeers], 0, sizeof(fz_peers[0]));
	fz_peers[fz_npeers].fd = sv[1];
	fz_peers[fz_npeers].srv_fd = sv[0];
	fz_npeers++;
}

/* Check the complete lines a chat client got since the last look. */
static void
fz_check_chat_lines(struct fz_peer *p)
{
	size_t longest = 1 + CHAT_NICK_MAX + 2 + fz_srv.cfg.max_line + 1;
	const unsigned char *s, *end, *lf;

	if (p->got == NULL)
		return;
	s = p->got + p->checked;
	end = p->got + p->got_len;
	while (s < end && (lf = memchr(s, '\n', (size_t)(end - s))) != NULL) {
		size_t len = (size_t)(lf - s) + 1;

		if (!(len >= 2 && ((s[0] == '*' && s[1] == ' ') ||
		    (s[0] == '!' && s[1] == ' ') || s[0] == '<')))
			fz_fail("chat line without a *, ! or < prefix");
		if (s[0] == '<' && len > longest)
			fz_fail("relayed line longer than --max-line allows");
		s = lf + 1;
		p->checked += len;
	}
}

static void
fz_read(struct fz_peer *p)
{
	unsigned char chunk[8192];
	ssize_t n;

	if (p->fd == -1)
		return;
	while ((n = recv(p->fd, chunk, sizeof(chunk), 0)) > 0)
		fz_append(&p->got, &p->got_len, chunk, (size_t)n);
	if (fz_srv.cfg.mode == MODE_ECHO) {
		if (p->got_len > p->sent_len || (p->got_len > 0 &&
		    memcmp(p->got, p->sent, p->got_len) != 0))
			fz_fail("echo returned bytes that were not sent");
	} else {
		fz_check_chat_lines(p);
	}
}

static void
fz_send_bytes(struct fz_peer *p, const uint8_t *data, size_t n)
{
	ssize_t k;

	if (p->fd == -1 || p->shut || n == 0)
		return;
	k = send(p->fd, data, n, MSG_NOSIGNAL);
	if (k > 0)
		fz_append(&p->sent, &p->sent_len, data, (size_t)k);
}

/* The promises that hold between sweeps. */
static void
fz_check_server(void)
{
	size_t i, partial = 0;

	for (i = 0; i < fz_srv.nclients; i++) {
		const struct client *c = fz_srv.clients[i];

		if (buf_len(&c->out) > fz_srv.cfg.max_outbuf)
			fz_fail("output buffer past --max-outbuf");
		if (buf_len(&c->in) > frame_buffer_size(fz_srv.cfg.max_line))
			fz_fail("input buffer past one line");
		if (c->partial_since_ms != 0)
			partial++;
	}
	if (partial != fz_srv.ctx.partial_count)
		fz_fail("partial_count out of step");
}

static void
fz_sweep(int n)
{
	while (n-- > 0) {
		loop_sweep(&fz_srv, 0);
		fz_check_server();
	}
}

static void
fz_free_peers(void)
{
	int i;

	for (i = 0; i < fz_npeers; i++) {
		if (fz_peers[i].fd != -1)
			close(fz_peers[i].fd);
		free(fz_peers[i].sent);
		free(fz_peers[i].got);
	}
	fz_npeers = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t max_lines[8] = { 1, 2, 3, 5, 8, 16, 64, 4096 };
	static const size_t max_outs[8] = { 1, 16, 64, 100, 256, 1024, 4096,
	    1 << 20 };
	struct config cfg;
	char err[NET_ERR_LEN];
	enum log_level saved = log_get_level();
	size_t pos = 3, i;
	int sweeps;

	if (size < 3)
		return 0;
	options_defaults(&cfg);
	if (net_parse_addr("127.0.0.1:0", "127.0.0.1", &cfg.listen, err) == -1)
		fz_fail(err);
	cfg.io = &io_busy;
	cfg.mode = data[0] & 1 ? MODE_ECHO : MODE_CHAT;
	cfg.max_line = max_lines[(data[0] >> 1) & 7];
	cfg.max_outbuf = max_outs[(data[0] >> 4) & 7];
	cfg.max_clients = FZ_MAX_CLIENTS;
	fz_eagain = data[0] >> 7;
	fz_recv_cap = data[1] % 17;	/* 0: no cap */
	fz_send_cap = data[2] % 17;
	fz_calls = 0;
	log_set_level(LOG_QUIET);
	if (server_init(&fz_srv, &cfg, err, sizeof(err)) == -1)
		fz_fail(err);
	sysio.recv = fz_recv;
	sysio.send = fz_send;
	fz_adopt();
	fz_adopt();

	while (pos < size) {
		uint8_t op = data[pos++];
		struct fz_peer *p = &fz_peers[(op & 3) % fz_npeers];
		size_t n;

		switch ((op >> 2) & 7) {
		case 0:
		case 1:
		case 2:
			/* Send a chunk: its length is the next byte. */
			n = pos < size ? data[pos++] : 0;
			if (n > size - pos)
				n = size - pos;
			fz_send_bytes(p, data + pos, n);
			pos += n;
			fz_sweep(1);
			break;
		case 3:
			fz_sweep(1 + (op >> 5));
			break;
		case 4:
			fz_read(p);
			break;
		case 5:
			if (p->fd != -1 && !p->shut) {
				shutdown(p->fd, SHUT_WR);
				p->shut = 1;
			}
			fz_sweep(1);
			break;
		case 6:
			if (p->fd != -1) {
				fz_read(p);
				close(p->fd);
				p->fd = -1;
			}
			fz_sweep(1);
			break;
		case 7:
			fz_adopt();
			fz_sweep(1);
			break;
		}
	}

	/* Everyone reads what is left, then leaves: every client must be
	 * flushed, closed and reaped in a bounded number of sweeps. */
	fz_sweep(4);
	for (i = 0; i < (size_t)fz_npeers; i++)
		fz_read(&fz_peers[i]);
	for (i = 0; i < (size_t)fz_npeers; i++)
		if (fz_peers[i].fd != -1) {
			close(fz_peers[i].fd);
			fz_peers[i].fd = -1;
		}
	for (sweeps = 0; fz_srv.nclients > 0 && sweeps < FZ_FINAL_SWEEPS;
	    sweeps++)
		fz_sweep(1);
	if (fz_srv.nclients > 0)
		fz_fail("clients left behind after every peer closed");
	if (fz_srv.ctx.partial_count != 0)
		fz_fail("partial_count not back to 0");

	server_free(&fz_srv);
	sysio_reset();
	fz_free_peers();
	log_set_level(saved);
	return 0;
}
