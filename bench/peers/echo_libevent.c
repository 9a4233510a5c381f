/* echo_libevent.c - the echo server a C programmer would write with libevent:
 * a peer row for the bench, not part of pollserv.
 *
 * usage: echo_libevent [PORT]   (127.0.0.1 only; 0 or nothing picks a port)
 *
 * evconnlistener accepts, one bufferevent per client moves its input buffer
 * to its output buffer (no copy: evbuffer_add_buffer hands the chain over).
 * Like pollserv's echo mode it sets TCP_NODELAY and stops reading a client
 * whose unsent output reaches 1 MiB, until that drains.  Prints
 * "echo_libevent: listening on 127.0.0.1:PORT" on stdout; SIGTERM or SIGINT
 * ends it with status 0.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#define ECHO_OUT_MAX	(1024 * 1024)

static void
echo_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *out = bufferevent_get_output(bev);

	(void)arg;
	evbuffer_add_buffer(out, bufferevent_get_input(bev));
	if (evbuffer_get_length(out) >= ECHO_OUT_MAX)
		bufferevent_disable(bev, EV_READ);	/* backpressure */
}

/* Called once the output is down to the low watermark (0): drained. */
static void
echo_write(struct bufferevent *bev, void *arg)
{
	(void)arg;
	bufferevent_enable(bev, EV_READ);
}

static void
echo_event(struct bufferevent *bev, short what, void *arg)
{
	(void)arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		bufferevent_free(bev);
}

static void
echo_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct event_base *base = evconnlistener_get_base(l);
	struct bufferevent *bev;
	int one = 1;

	(void)sa;
	(void)salen;
	(void)arg;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		evutil_closesocket(fd);
		return;
	}
	bufferevent_setcb(bev, echo_read, echo_write, echo_event, NULL);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void
echo_stop(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopexit(arg, NULL);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct event_base *base;
	struct evconnlistener *l;
	struct event *term, *intr;

	signal(SIGPIPE, SIG_IGN);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)(argc > 1 ? atoi(argv[1]) : 0));
	if ((base = event_base_new()) == NULL) {
		fprintf(stderr, "echo_libevent: event_base_new failed\n");
		return 1;
	}
	l = evconnlistener_new_bind(base, echo_accept, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 1024,
	    (struct sockaddr *)&sin, sizeof(sin));
	if (l == NULL) {
		perror("echo_libevent: listen");
		return 1;
	}
	getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&sin, &len);
	printf("echo_libevent: listening on 127.0.0.1:%d\n", ntohs(sin.sin_port));
	fflush(stdout);
	term = evsignal_new(base, SIGTERM, echo_stop, base);
	intr = evsignal_new(base, SIGINT, echo_stop, base);
	event_add(term, NULL);
	event_add(intr, NULL);
	event_base_dispatch(base);
	event_free(term);
	event_free(intr);
	evconnlistener_free(l);
	event_base_free(base);
	return 0;
}
