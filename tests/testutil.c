/* testutil.c - helpers shared by the test suites: run pollserv, talk to it. */
#define _GNU_SOURCE		/* mkostemp, pipe2, memmem */

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chat.h"
#include "io.h"
#include "testutil.h"

static char tu_errbuf[8192];

/* ---- errors ----------------------------------------------------------- */

const char *
tu_error(void)
{
	return tu_errbuf;
}

int
tu_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tu_errbuf, sizeof(tu_errbuf), fmt, ap);
	va_end(ap);
	return -1;
}

void
tu_quote(const void *p, size_t n, char *out, size_t outlen)
{
	const unsigned char *s = p;
	size_t i, o = 0;
	char tmp[8];
	size_t tl;

	if (outlen == 0)
		return;
	for (i = 0; i < n; i++) {
		switch (s[i]) {
		case '\n': strcpy(tmp, "\\n"); break;
		case '\r': strcpy(tmp, "\\r"); break;
		case '\t': strcpy(tmp, "\\t"); break;
		case '\\': strcpy(tmp, "\\\\"); break;
		case '"':  strcpy(tmp, "\\\""); break;
		default:
			if (s[i] < 0x20 || s[i] >= 0x7f)
				snprintf(tmp, sizeof(tmp), "\\x%02x", s[i]);
			else {
				tmp[0] = (char)s[i];
				tmp[1] = '\0';
			}
		}
		tl = strlen(tmp);
		/* Keep room for "..." and the NUL. */
		if (o + tl + 4 > outlen) {
			/* The check above left room for this at o. */
			if (o + 4 <= outlen) {
				strcpy(out + o, "...");
				return;
			}
			break;
		}
		memcpy(out + o, tmp, tl);
		o += tl;
	}
	out[o < outlen ? o : outlen - 1] = '\0';
}

/* ---- time ------------------------------------------------------------- */

int64_t
tu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
tu_left_ms(int64_t deadline)
{
	int64_t left = deadline - tu_now_ms();

	return left < 0 ? 0 : (int)left;
}

static void
tu_nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Wait until fd has something to read (data, EOF or an error).  0 when
 * it does, -1 at the deadline. */
static int
tu_wait_readable(int fd, int64_t deadline)
{
	struct pollfd pfd;
	int r;

	for (;;) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		r = poll(&pfd, 1, tu_left_ms(deadline));
		if (r > 0)
			return 0;
		if (r == 0)
			return -1;
		if (errno != EINTR)
			return -1;
	}
}

/* ---- running the binary ----------------------------------------------- */

/* Exit code like a shell: code, 128 + signal. */
static int
tu_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

/*
 * The child side of every spawn: wire up stdin/stdout/stderr, make sure it
 * dies with the test, and drop every other inherited fd.  The last point
 * matters: a test socket leaked into the server would keep the connection
 * open after the test closes its end, and no FIN would ever arrive.
 */
static void
tu_child_exec(const char *bin, char *const argv[], int out_fd, int err_fd)
{
	int null_fd, fd;
	struct rlimit rl;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
		_exit(126);
	null_fd = open("/dev/null", O_RDWR);
	if (null_fd == -1)
		_exit(126);
	if (dup2(null_fd, 0) == -1 || dup2(out_fd, 1) == -1 ||
	    dup2(err_fd, 2) == -1)
		_exit(126);
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur > 65536)
		rl.rlim_cur = 65536;
	for (fd = 3; fd < (int)rl.rlim_cur; fd++)
		close(fd);
	/* Tests send signals on purpose; start with default dispositions. */
	signal(SIGPIPE, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	execv(bin, argv);
	_exit(127);
}

/* argv for execv: bin, prefix..., args..., NULL.  free() the result. */
static char **
tu_make_argv(const char *bin, const char *const prefix[],
    const char *const args[])
{
	size_t n = 1, i, k = 0;
	char **argv;

	for (i = 0; prefix != NULL && prefix[i] != NULL; i++)
		n++;
	for (i = 0; args != NULL && args[i] != NULL; i++)
		n++;
	argv = calloc(n + 1, sizeof(*argv));
	if (argv == NULL)
		return NULL;
	argv[k++] = (char *)bin;
	for (i = 0; prefix != NULL && prefix[i] != NULL; i++)
		argv[k++] = (char *)prefix[i];
	for (i = 0; args != NULL && args[i] != NULL; i++)
		argv[k++] = (char *)args[i];
	argv[k] = NULL;
	return argv;
}

/*
 * TU_SERVER_PRELOAD=lib.so preloads lib.so into every server the tests
 * start (run-tests.sh runs the integration table again that way with the
 * fault injector, tests/faultshim.c).  Set in the child only, so the test
 * process itself is never affected.
 */
static void
tu_child_preload(void)
{
	const char *lib = getenv("TU_SERVER_PRELOAD");

	if (lib == NULL || *lib == '\0')
		return;
	setenv("LD_PRELOAD", lib, 1);
	/* An ASan server would refuse a library loaded before its runtime. */
	setenv("ASAN_OPTIONS", "verify_asan_link_order=0", 1);
}

static int
tu_server_spawn(struct tu_server *s, const char *bin,
    const char *const prefix[], const char *const args[])
{
	char tmpl[] = "/tmp/pollserv-test-XXXXXX";
	int pipefd[2];
	char **argv;
	pid_t pid;

	memset(s, 0, sizeof(*s));
	s->out_fd = -1;
	s->err_fd = mkostemp(tmpl, O_CLOEXEC);
	if (s->err_fd == -1)
		return tu_fail("mkostemp: %s", strerror(errno));
	unlink(tmpl);
	if (pipe2(pipefd, O_CLOEXEC) == -1) {
		close(s->err_fd);
		s->err_fd = -1;
		return tu_fail("pipe2: %s", strerror(errno));
	}
	argv = tu_make_argv(bin, prefix, args);
	if (argv == NULL) {
		close(pipefd[0]);
		close(pipefd[1]);
		return tu_fail("out of memory");
	}
	pid = fork();
	if (pid == -1) {
		free(argv);
		close(pipefd[0]);
		close(pipefd[1]);
		return tu_fail("fork: %s", strerror(errno));
	}
	if (pid == 0) {
		tu_child_preload();
		tu_child_exec(bin, argv, pipefd[1], s->err_fd);
	}
	free(argv);
	close(pipefd[1]);
	s->pid = pid;
	s->out_fd = pipefd[0];
	return 0;
}

/* Read the listening line from the server's stdout and take the port. */
static int
tu_server_read_listen(struct tu_server *s)
{
	static const char prefix[] = "pollserv: listening on ";
	int64_t deadline = tu_now_ms() + TU_WAIT;
	size_t got = 0;
	char *lf, *sp, *colon;
	ssize_t n;
	long port;

	for (;;) {
		if (tu_wait_readable(s->out_fd, deadline) == -1)
			return tu_fail("no listening line within %d ms; "
			    "stdout so far \"%.*s\"; stderr: %s", TU_WAIT,
			    (int)got, s->listen_line, tu_server_log(s));
		n = read(s->out_fd, s->listen_line + got,
		    sizeof(s->listen_line) - 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return tu_fail("server closed stdout before the "
			    "listening line; stdout \"%.*s\"; stderr: %s",
			    (int)got, s->listen_line, tu_server_log(s));
		got += (size_t)n;
		s->listen_line[got] = '\0';
		if ((lf = strchr(s->listen_line, '\n')) != NULL)
			break;
		if (got == sizeof(s->listen_line) - 1)
			return tu_fail("listening line too long");
	}
	if (lf[1] != '\0')
		return tu_fail("more than one line on stdout: \"%s\"",
		    s->listen_line);
	*lf = '\0';
	if (strncmp(s->listen_line, prefix, sizeof(prefix) - 1) != 0)
		return tu_fail("unexpected stdout line \"%s\"",
		    s->listen_line);
	sp = strchr(s->listen_line + sizeof(prefix) - 1, ' ');
	if (sp == NULL || strncmp(sp, " (mode ", 7) != 0)
		return tu_fail("no \" (mode \" in \"%s\"", s->listen_line);
	*sp = '\0';
	colon = strrchr(s->listen_line, ':');
	port = colon != NULL ? strtol(colon + 1, NULL, 10) : 0;
	*sp = ' ';
	if (port <= 0 || port > 65535)
		return tu_fail("no port in \"%s\"", s->listen_line);
	s->port = (int)port;
	return 0;
}

/* Spawn and read the listening line; on failure kill the child, keeping
 * the reason (tu_server_stop may overwrite tu_errbuf). */
static int
tu_server_launch(struct tu_server *s, const char *bin,
    const char *const pre[], const char *const args[])
{
	char why[sizeof(tu_errbuf)];

	if (tu_server_spawn(s, bin, pre, args) == -1)
		return -1;
	if (tu_server_read_listen(s) == 0)
		return 0;
	snprintf(why, sizeof(why), "%s", tu_errbuf);
	tu_server_stop(s, SIGKILL, TU_WAIT);
	return tu_fail("%s", why);
}

int
tu_server_start_argv(struct tu_server *s, const char *bin,
    const char *const args[])
{
	return tu_server_launch(s, bin, NULL, args);
}

int
tu_server_start(struct tu_server *s, const char *bin,
    const char *const args[])
{
	static const char *const listen_args[] = {
		"--listen", "127.0.0.1:0", NULL
	};

	return tu_server_launch(s, bin, listen_args, args);
}

/* waitpid with a deadline; the child exits asynchronously, so poll
 * WNOHANG in short naps.  Returns the exit code or -1 at the deadline. */
static int
tu_wait_child(pid_t pid, int timeout_ms)
{
	int64_t deadline = tu_now_ms() + timeout_ms;
	int status;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return tu_exit_code(status);
		if (r == -1 && errno != EINTR)
			return -1;
		if (tu_left_ms(deadline) == 0)
			return -1;
		tu_nap_ms(2);
	}
}

int
tu_server_stop(struct tu_server *s, int sig, int timeout_ms)
{
	int code = -1;

	if (s->pid > 0) {
		if (sig != 0)
			kill(s->pid, sig);
		code = tu_wait_child(s->pid, timeout_ms);
		if (code == -1) {
			/* Only our own child, by its pid. */
			kill(s->pid, SIGKILL);
			while (waitpid(s->pid, NULL, 0) == -1 &&
			    errno == EINTR)
				;
			tu_fail("server pid %d did not exit within %d ms",
			    (int)s->pid, timeout_ms);
		}
		s->pid = 0;
	}
	if (s->out_fd != -1) {
		close(s->out_fd);
		s->out_fd = -1;
	}
	return code;
}

const char *
tu_server_log(struct tu_server *s)
{
	struct stat st;
	size_t size, got = 0;
	ssize_t n;
	char *p;

	if (s->err_fd == -1 || fstat(s->err_fd, &st) == -1)
		return s->log != NULL ? s->log : "";
	size = (size_t)st.st_size;
	p = realloc(s->log, size + 1);
	if (p == NULL)
		return s->log != NULL ? s->log : "";
	s->log = p;
	while (got < size) {
		n = pread(s->err_fd, p + got, size - got, (off_t)got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	p[got] = '\0';
	return p;
}

int
tu_server_wait_log(struct tu_server *s, const char *needle, int timeout_ms)
{
	int64_t deadline = tu_now_ms() + timeout_ms;

	for (;;) {
		if (strstr(tu_server_log(s), needle) != NULL)
			return 0;
		if (tu_left_ms(deadline) == 0)
			return tu_fail("\"%s\" not in the server log after "
			    "%d ms; log: %s", needle, timeout_ms,
			    tu_server_log(s));
		tu_nap_ms(5);
	}
}

int
tu_server_log_count(struct tu_server *s, const char *needle)
{
	const char *p = tu_server_log(s);
	size_t nl = strlen(needle);
	int count = 0;

	if (nl == 0)
		return 0;
	while ((p = strstr(p, needle)) != NULL) {
		count++;
		p += nl;
	}
	return count;
}

long long
tu_server_stat(struct tu_server *s, const char *event, const char *key)
{
	const char *log = tu_server_log(s), *line = NULL, *p;
	char needle[64];
	size_t len;

	snprintf(needle, sizeof(needle), "stats event=%s ", event);
	for (p = log; (p = strstr(p, needle)) != NULL; p++)
		line = p;
	if (line == NULL)
		return -1;
	len = strcspn(line, "\n");
	snprintf(needle, sizeof(needle), " %s=", key);
	if ((p = strstr(line, needle)) == NULL || p > line + len)
		return -1;
	return strtoll(p + strlen(needle), NULL, 10);
}

void
tu_server_free(struct tu_server *s)
{
	if (s->pid > 0)
		tu_server_stop(s, SIGKILL, TU_WAIT);
	if (s->out_fd != -1)
		close(s->out_fd);
	if (s->err_fd != -1)
		close(s->err_fd);
	free(s->log);
	memset(s, 0, sizeof(*s));
	s->out_fd = s->err_fd = -1;
}

/* Append what fd has now to a growing string; 0 at EOF, 1 if more may
 * come, -1 on error. */
static int
tu_slurp(int fd, char **s, size_t *len)
{
	char chunk[4096], *p;
	ssize_t n;

	n = read(fd, chunk, sizeof(chunk));
	if (n == -1)
		return errno == EINTR || errno == EAGAIN ? 1 : -1;
	if (n == 0)
		return 0;
	p = realloc(*s, *len + (size_t)n + 1);
	if (p == NULL)
		return -1;
	memcpy(p + *len, chunk, (size_t)n);
	*len += (size_t)n;
	p[*len] = '\0';
	*s = p;
	return 1;
}

int
tu_run(const char *bin, const char *const args[], char **out, char **err,
    int timeout_ms)
{
	int64_t deadline = tu_now_ms() + timeout_ms;
	int opipe[2], epipe[2], code, r;
	char *obuf = NULL, *ebuf = NULL;
	size_t olen = 0, elen = 0;
	struct pollfd pfd[2];
	char **argv;
	pid_t pid;

	if (out != NULL)
		*out = NULL;
	if (err != NULL)
		*err = NULL;
	if (pipe2(opipe, O_CLOEXEC) == -1)
		return tu_fail("pipe2: %s", strerror(errno));
	if (pipe2(epipe, O_CLOEXEC) == -1) {
		close(opipe[0]);
		close(opipe[1]);
		return tu_fail("pipe2: %s", strerror(errno));
	}
	argv = tu_make_argv(bin, NULL, args);
	pid = argv != NULL ? fork() : -1;
	if (pid == 0)
		tu_child_exec(bin, argv, opipe[1], epipe[1]);
	free(argv);
	close(opipe[1]);
	close(epipe[1]);
	if (pid == -1) {
		close(opipe[0]);
		close(epipe[0]);
		return tu_fail("fork failed");
	}
	pfd[0].fd = opipe[0];
	pfd[1].fd = epipe[0];
	while (pfd[0].fd != -1 || pfd[1].fd != -1) {
		pfd[0].events = pfd[1].events = POLLIN;
		r = poll(pfd, 2, tu_left_ms(deadline));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (pfd[0].revents != 0 &&
		    tu_slurp(pfd[0].fd, &obuf, &olen) <= 0) {
			close(pfd[0].fd);
			pfd[0].fd = -1;
		}
		if (pfd[1].revents != 0 &&
		    tu_slurp(pfd[1].fd, &ebuf, &elen) <= 0) {
			close(pfd[1].fd);
			pfd[1].fd = -1;
		}
	}
	if (pfd[0].fd != -1)
		close(pfd[0].fd);
	if (pfd[1].fd != -1)
		close(pfd[1].fd);
	code = tu_wait_child(pid, tu_left_ms(deadline));
	if (code == -1) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
		tu_fail("%s did not exit within %d ms", bin, timeout_ms);
	}
	if (obuf == NULL)
		obuf = calloc(1, 1);
	if (ebuf == NULL)
		ebuf = calloc(1, 1);
	if (out != NULL)
		*out = obuf;
	else
		free(obuf);
	if (err != NULL)
		*err = ebuf;
	else
		free(ebuf);
	return code;
}

/* ---- sockets ---------------------------------------------------------- */

int
tu_connect_rcvbuf(int port, int rcvbuf)
{
	struct sockaddr_in sin;
	struct timeval tv = { 10, 0 };
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return tu_fail("socket: %s", strerror(errno));
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		    sizeof(rcvbuf));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	while (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		if (errno == EINTR)
			continue;
		tu_fail("connect 127.0.0.1:%d: %s", port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
tu_connect(int port)
{
	return tu_connect_rcvbuf(port, 0);
}

int
tu_send_all(int fd, const void *p, size_t n)
{
	const char *s = p;
	ssize_t w;

	while (n > 0) {
		w = send(fd, s, n, MSG_NOSIGNAL);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return tu_fail("send on fd %d: %s", fd,
			    strerror(errno));
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

int
tu_send_str(int fd, const char *s)
{
	return tu_send_all(fd, s, strlen(s));
}

void
tu_close_reset(int fd)
{
	struct linger lg = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

int
tu_set_nonblocking(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1)
		return tu_fail("F_GETFL: %s", strerror(errno));
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	if (fcntl(fd, F_SETFL, fl) == -1)
		return tu_fail("F_SETFL: %s", strerror(errno));
	return 0;
}

ssize_t
tu_read_line(int fd, char *buf, size_t len, int timeout_ms)
{
	int64_t deadline = tu_now_ms() + timeout_ms;
	char q[512];
	size_t got = 0, take;
	ssize_t n, m;
	char *lf;

	if (len < 2)
		return tu_fail("tu_read_line: buffer too small");
	for (;;) {
		buf[got] = '\0';
		if (got == len - 1)
			return (ssize_t)got;	/* cut short by the buffer */
		if (tu_wait_readable(fd, deadline) == -1) {
			tu_quote(buf, got, q, sizeof(q));
			return tu_fail("timeout after %d ms waiting for a "
			    "line on fd %d; got \"%s\"", timeout_ms, fd, q);
		}
		/* Peek first so only the line's own bytes are taken. */
		n = recv(fd, buf + got, len - 1 - got, MSG_PEEK | MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (errno == ECONNRESET)
				return (ssize_t)got;	/* closed */
			return tu_fail("recv on fd %d: %s", fd,
			    strerror(errno));
		}
		if (n == 0)
			return (ssize_t)got;		/* EOF */
		lf = memchr(buf + got, '\n', (size_t)n);
		take = lf != NULL ? (size_t)(lf - (buf + got)) + 1 : (size_t)n;
		m = recv(fd, buf + got, take, MSG_DONTWAIT);
		if (m == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return tu_fail("recv on fd %d: %s", fd,
			    strerror(errno));
		}
		got += (size_t)m;
		if (lf != NULL && (size_t)m == take) {
			buf[got] = '\0';
			return (ssize_t)got;
		}
	}
}

int
tu_read_exact(int fd, void *p, size_t n, int timeout_ms)
{
	int64_t deadline = tu_now_ms() + timeout_ms;
	char *s = p;
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		if (tu_wait_readable(fd, deadline) == -1)
			return tu_fail("timeout: %zu of %zu bytes in %d ms",
			    got, n, timeout_ms);
		r = recv(fd, s + got, n - got, MSG_DONTWAIT);
		if (r == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			return tu_fail("%s after %zu of %zu bytes",
			    r == 0 ? "EOF" : strerror(errno), got, n);
		got += (size_t)r;
	}
	return 0;
}

int
tu_expect_bytes(int fd, const void *want, size_t n, int timeout_ms)
{
	char qw[1024], qg[sizeof(tu_errbuf)];
	size_t len = n + 4098;
	ssize_t got;
	char *buf;

	buf = malloc(len);
	if (buf == NULL)
		return tu_fail("out of memory");
	got = tu_read_line(fd, buf, len, timeout_ms);
	if (got == -1) {
		tu_quote(want, n, qw, sizeof(qw));
		snprintf(qg, sizeof(qg), "%s", tu_errbuf);
		free(buf);
		return tu_fail("want \"%s\": %s", qw, qg);
	}
	if ((size_t)got != n || memcmp(buf, want, n) != 0) {
		tu_quote(want, n, qw, sizeof(qw));
		tu_quote(buf, (size_t)got, qg, sizeof(qg));
		free(buf);
		return tu_fail("fd %d: want \"%s\", got \"%s\"%s", fd, qw, qg,
		    got == 0 ? " (EOF)" : "");
	}
	free(buf);
	return 0;
}

int
tu_expect_line(int fd, const char *want, int timeout_ms)
{
	return tu_expect_bytes(fd, want, strlen(want), timeout_ms);
}

int
tu_expect_eof(int fd, int timeout_ms)
{
	int64_t deadline = tu_now_ms() + timeout_ms;
	char buf[256], q[600];
	ssize_t n;

	for (;;) {
		if (tu_wait_readable(fd, deadline) == -1)
			return tu_fail("fd %d: no EOF within %d ms", fd,
			    timeout_ms);
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0)
			return 0;
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (errno == ECONNRESET)
				return 0;
			return tu_fail("fd %d: recv: %s", fd, strerror(errno));
		}
		tu_quote(buf, (size_t)n, q, sizeof(q));
		return tu_fail("fd %d: want EOF, got \"%s\"", fd, q);
	}
}

int
tu_wait_closed(int fd, int timeout_ms, size_t *nread)
{
	int64_t deadline = tu_now_ms() + timeout_ms;
	char buf[65536];
	size_t total = 0;
	ssize_t n;

	if (nread != NULL)
		*nread = 0;
	for (;;) {
		if (tu_wait_readable(fd, deadline) == -1)
			return tu_fail("fd %d: not closed within %d ms (%zu "
			    "bytes read)", fd, timeout_ms, total);
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n == -1 && errno == ECONNRESET))
			break;
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return tu_fail("fd %d: recv: %s", fd, strerror(errno));
		}
		total += (size_t)n;
	}
	if (nread != NULL)
		*nread = total;
	return 0;
}

int
tu_expect_silence(int fd, int ms)
{
	char buf[256], q[600];
	struct pollfd pfd;
	ssize_t n;
	int r;

	pfd.fd = fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	do
		r = poll(&pfd, 1, ms);
	while (r == -1 && errno == EINTR);
	if (r == 0)
		return 0;
	if (r == -1)
		return tu_fail("poll: %s", strerror(errno));
	n = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	if (n == 0 || (n == -1 && errno == ECONNRESET))
		return tu_fail("fd %d: want silence, got EOF", fd);
	if (n < 0)
		return tu_fail("fd %d: want silence, recv: %s", fd,
		    strerror(errno));
	tu_quote(buf, (size_t)n, q, sizeof(q));
	return tu_fail("fd %d: want silence, got \"%s\"", fd, q);
}

/* ---- chat ------------------------------------------------------------- */

int
tu_chat_connect(int port, char *nick, size_t nicklen)
{
	static const char prefix[] = "* welcome, you are ";
	char line[256], q[600];
	size_t plen = sizeof(prefix) - 1, nl;
	ssize_t n;
	int fd;

	fd = tu_connect(port);
	if (fd == -1)
		return -1;
	n = tu_read_line(fd, line, sizeof(line), TU_WAIT);
	if (n == -1) {
		close(fd);
		return tu_fail("no welcome: %s", tu_errbuf);
	}
	if ((size_t)n <= plen + 1 || strncmp(line, prefix, plen) != 0 ||
	    line[n - 1] != '\n') {
		tu_quote(line, (size_t)n, q, sizeof(q));
		close(fd);
		return tu_fail("bad welcome \"%s\"", q);
	}
	nl = (size_t)n - plen - 1;
	if (nick != NULL) {
		if (nl >= nicklen) {
			close(fd);
			return tu_fail("nick too long for the buffer");
		}
		memcpy(nick, line + plen, nl);
		nick[nl] = '\0';
	}
	return fd;
}

int
tu_chat_join_all(int port, int *fds, char (*nicks)[TU_NICK_LEN], int n)
{
	char nick[TU_NICK_LEN], want[TU_NICK_LEN + 16];
	int i;

	for (i = 0; i < n; i++)
		fds[i] = -1;
	for (i = 0; i < n; i++) {
		fds[i] = tu_chat_connect(port, nick, sizeof(nick));
		if (fds[i] == -1)
			goto fail;
		if (nicks != NULL)
			memcpy(nicks[i], nick, sizeof(nick));
		snprintf(want, sizeof(want), CHAT_FMT_JOINED, nick);
		if (tu_expect_all(fds, i, -1, want, TU_WAIT) == -1)
			goto fail;
	}
	return 0;
fail:
	tu_close_all(fds, n);
	return -1;
}

int
tu_expect_all(const int *fds, int n, int skip, const char *want,
    int timeout_ms)
{
	int i;

	for (i = 0; i < n; i++) {
		if (i == skip || fds[i] < 0)
			continue;
		if (tu_expect_line(fds[i], want, timeout_ms) == -1)
			return -1;
	}
	return 0;
}

void
tu_close_all(int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

/* ---- /proc ------------------------------------------------------------ */

int
tu_children(pid_t pid, int *out, int max)
{
	char path[64];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
	    (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (n < max && fscanf(f, "%d", &out[n]) == 1)
		n++;
	fclose(f);
	return n;
}

long
tu_proc_status(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			v = strtol(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* ---- drivers ---------------------------------------------------------- */

int
tu_ndrivers(void)
{
	int n = 0;

	while (io_drivers[n] != NULL)
		n++;
	return n;
}

const char *
tu_driver_name(int i)
{
	return io_drivers[i]->name;
}

/* ---- stats and /proc ---------------------------------------------------- */

long long
tu_signal_stat(struct tu_server *s, const char *key)
{
	int before = tu_server_log_count(s, "stats event=signal");
	int64_t deadline = tu_now_ms() + TU_WAIT;

	if (kill(s->pid, SIGUSR1) == -1)
		return -1;
	while (tu_server_log_count(s, "stats event=signal") == before) {
		if (tu_now_ms() >= deadline)
			return -1;
		usleep(10 * 1000);
	}
	return tu_server_stat(s, "signal", key);
}

long
tu_proc_kb(pid_t pid, const char *key)
{
	char path[64], line[256], want[64];
	long kb = -1;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	snprintf(want, sizeof(want), "%s:", key);
	n = strlen(want);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, want, n) == 0) {
			kb = strtol(line + n, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

const char *
tu_driver_unavailable(int i)
{
	static char why[256];

	if (io_drivers[i]->probe == NULL ||
	    io_drivers[i]->probe(why, sizeof(why)) == 0)
		return NULL;
	return why;
}

bool
tu_driver_serves_chat(int i)
{
	return io_serves_chat(io_drivers[i]);
}

bool
tu_skip_unless_chat(int i, const char *test)
{
	if (tu_driver_serves_chat(i))
		return false;
	fprintf(stderr, "skipped: %s with --io %s: the driver serves %s mode "
	    "only\n", test, tu_driver_name(i), io_modes(io_drivers[i]));
	return true;
}

long
tu_rss_kb(pid_t pid)
{
	return tu_proc_kb(pid, "VmRSS");
}
