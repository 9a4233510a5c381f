/* echo_libuv.c - the echo server a C programmer would write with libuv:
 * a peer row for the bench, not part of pollserv.
 *
 * usage: echo_libuv [PORT]   (127.0.0.1 only; 0 or nothing picks a port)
 *
 * One uv_tcp_t per client; every read buffer is handed to uv_write as it
 * is and freed when the write completes.  Like pollserv's echo mode it sets
 * TCP_NODELAY and stops reading a client whose queued output reaches
 * 1 MiB, until it drains; at EOF it finishes the writes, then shuts down
 * and closes.  Prints "echo_libuv: listening on 127.0.0.1:PORT" on stdout;
 * SIGTERM or SIGINT ends it with status 0.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#define ECHO_OUT_MAX	(1024 * 1024)
#define ECHO_READ_BUF	(64 * 1024)

struct echo_client {
	uv_tcp_t	tcp;
	int		reading;
};

struct echo_write {
	uv_write_t	req;
	uv_buf_t	buf;
};

static void echo_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static void
echo_alloc(uv_handle_t *h, size_t want, uv_buf_t *buf)
{
	(void)h;
	(void)want;
	buf->base = malloc(ECHO_READ_BUF);
	buf->len = buf->base != NULL ? ECHO_READ_BUF : 0;
}

static void
echo_closed(uv_handle_t *h)
{
	free(h->data);
}

static void
echo_written(uv_write_t *req, int status)
{
	struct echo_write *w = (struct echo_write *)req;
	struct echo_client *c = req->handle->data;

	free(w->buf.base);
	free(w);
	if (status < 0 || uv_is_closing((uv_handle_t *)&c->tcp))
		return;
	/* Drained below the cap: read again (backpressure released). */
	if (!c->reading && c->tcp.write_queue_size < ECHO_OUT_MAX / 2) {
		c->reading = 1;
		uv_read_start((uv_stream_t *)&c->tcp, echo_alloc, echo_read);
	}
}

static void
echo_shut(uv_shutdown_t *req, int status)
{
	(void)status;
	uv_close((uv_handle_t *)req->handle, echo_closed);
	free(req);
}

static void
echo_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct echo_client *c = s->data;
	struct echo_write *w;
	uv_shutdown_t *sh;

	if (n > 0 && (w = malloc(sizeof(*w))) != NULL) {
		w->buf = uv_buf_init(buf->base, (unsigned int)n);
		if (uv_write(&w->req, s, &w->buf, 1, echo_written) == 0) {
			if (c->tcp.write_queue_size >= ECHO_OUT_MAX) {
				uv_read_stop(s);
				c->reading = 0;
			}
			return;
		}
		free(w);
	}
	free(buf->base);
	if (n == 0)
		return;		/* EAGAIN */
	if (n == UV_EOF && (sh = malloc(sizeof(*sh))) != NULL &&
	    uv_shutdown(sh, s, echo_shut) == 0)
		return;		/* the writes queued before it finish first */
	if (!uv_is_closing((uv_handle_t *)s))
		uv_close((uv_handle_t *)s, echo_closed);
}

static void
echo_accept(uv_stream_t *server, int status)
{
	struct echo_client *c;

	if (status < 0 || (c = calloc(1, sizeof(*c))) == NULL)
		return;
	uv_tcp_init(server->loop, &c->tcp);
	c->tcp.data = c;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
		uv_close((uv_handle_t *)&c->tcp, echo_closed);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	c->reading = 1;
	uv_read_start((uv_stream_t *)&c->tcp, echo_alloc, echo_read);
}

static void
echo_stop(uv_signal_t *h, int sig)
{
	(void)sig;
	uv_stop(h->loop);
}

int
main(int argc, char **argv)
{
	uv_loop_t *loop = uv_default_loop();
	struct sockaddr_in sin;
	int len = sizeof(sin), rc;
	uv_signal_t term, intr;
	uv_tcp_t server;

	signal(SIGPIPE, SIG_IGN);
	uv_ip4_addr("127.0.0.1", argc > 1 ? atoi(argv[1]) : 0, &sin);
	uv_tcp_init(loop, &server);
	if ((rc = uv_tcp_bind(&server, (const struct sockaddr *)&sin, 0)) != 0 ||
	    (rc = uv_listen((uv_stream_t *)&server, 1024, echo_accept)) != 0) {
		fprintf(stderr, "echo_libuv: listen: %s\n", uv_strerror(rc));
		return 1;
	}
	uv_tcp_getsockname(&server, (struct sockaddr *)&sin, &len);
	printf("echo_libuv: listening on 127.0.0.1:%d\n", ntohs(sin.sin_port));
	fflush(stdout);
	uv_signal_init(loop, &term);
	uv_signal_init(loop, &intr);
	uv_signal_start(&term, echo_stop, SIGTERM);
	uv_signal_start(&intr, echo_stop, SIGINT);
	uv_run(loop, UV_RUN_DEFAULT);
	/* Stopped by a signal: the kernel closes the sockets on exit. */
	return 0;
}
