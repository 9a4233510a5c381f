/* testutil.h - helpers shared by the test suites: run pollserv, talk to it. */
#ifndef POLLSERV_TESTUTIL_H
#define POLLSERV_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <stdio.h>

/*
 * Conventions, so every suite reads the same way:
 *
 * - Every wait has a deadline in milliseconds.  A helper that waits for
 *   something never sleeps for a fixed time to "let it happen": it polls
 *   until the thing happens or the deadline passes.  tu_expect_silence()
 *   is the one exception and only asserts absence.
 * - Helpers return 0 (or a length/fd) on success and -1 on failure.  On
 *   failure they leave a readable description in tu_error(), so a test
 *   writes
 *	ck_assert_msg(tu_expect_line(fd, "* bye\n", TU_WAIT) == 0, "%s",
 *	    tu_error());
 *   or simply TU_EXPECT_LINE(fd, "* bye\n").
 * - Everything talks to 127.0.0.1 only.  A server started here is killed
 *   by the kernel if the test process dies first (PR_SET_PDEATHSIG), so a
 *   test that times out does not leave a stray pollserv behind.
 */

#define TU_WAIT		5000	/* default deadline for a reply, ms */
#define TU_QUIET	150	/* how long "nothing arrives" is watched, ms */

/* ---- errors ----------------------------------------------------------- */

/* The last helper failure, e.g. `want "* bye\n", got "<x> hi\n"`. */
const char *tu_error(void);
/* printf into tu_error(); returns -1 so callers can `return tu_fail(..)`. */
int	tu_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Quote n bytes C-style ("a\n\x00") into out (always NUL-terminated,
 * truncated with "..." when it does not fit). */
void	tu_quote(const void *p, size_t n, char *out, size_t outlen);

/* ---- time ------------------------------------------------------------- */

int64_t	tu_now_ms(void);		/* CLOCK_MONOTONIC */
/* ms left until deadline, never negative. */
int	tu_left_ms(int64_t deadline);

/* ---- running the binary ----------------------------------------------- */

struct tu_server {
	pid_t	pid;		/* 0 when not running */
	int	port;		/* from the listening line */
	int	out_fd;		/* read end of its stdout */
	int	err_fd;		/* unlinked temp file holding its stderr */
	char	listen_line[512]; /* the stdout line, without its LF */
	char   *log;		/* last tu_server_log() result */
};

/*
 * Start bin with `--listen 127.0.0.1:0` followed by args (NULL-terminated,
 * may be NULL), wait up to TU_WAIT ms for the one stdout line
 * `pollserv: listening on 127.0.0.1:PORT (mode M, io N)` and fill in
 * s->port.  Returns 0, or -1 (the child is killed and reaped) with
 * tu_error() saying why, including its stderr.
 */
int	tu_server_start(struct tu_server *s, const char *bin,
	    const char *const args[]);
/* Same, without the implied --listen: argv is passed as is after bin. */
int	tu_server_start_argv(struct tu_server *s, const char *bin,
	    const char *const args[]);
/*
 * Send sig (0: none) and wait up to timeout_ms for the process to exit.
 * Returns its exit code, 128 + N if signal N killed it, or -1 if it had
 * not exited by the deadline (it is then SIGKILLed and reaped).  Safe to
 * call on a server that already stopped (returns -1 with pid 0).  Always
 * releases the fds; the log stays readable until tu_server_free().
 */
int	tu_server_stop(struct tu_server *s, int sig, int timeout_ms);
/* Everything the server wrote to stderr so far, NUL-terminated (owned by
 * s, valid until the next call). */
const char *tu_server_log(struct tu_server *s);
/* Wait until needle appears in the stderr log; 0 or -1 on deadline. */
int	tu_server_wait_log(struct tu_server *s, const char *needle,
	    int timeout_ms);
/* Count the occurrences of needle in the stderr log. */
int	tu_server_log_count(struct tu_server *s, const char *needle);
/* SIGUSR1, wait for the new "stats event=signal" line and return key=N
 * from it; -1 if it never came or has no such key. */
long long tu_signal_stat(struct tu_server *s, const char *key);
/* A "Key: N kB" line of /proc/PID/status (VmRSS, VmHWM), in KiB; -1 if
 * unreadable. */
long	tu_proc_kb(pid_t pid, const char *key);
/* key=N from the last "stats event=EVENT " line of the log; -1 if none. */
long long tu_server_stat(struct tu_server *s, const char *event,
	    const char *key);
/* Stop (SIGKILL) if still running and free everything. */
void	tu_server_free(struct tu_server *s);

/*
 * Run bin with args (NULL-terminated, may be NULL) to completion with
 * stdin from /dev/null, collecting stdout and stderr into malloc'ed
 * NUL-terminated strings (out or err may be NULL to discard).  Returns the
 * exit code as tu_server_stop() does, -1 after a timeout (killed).
 */
int	tu_run(const char *bin, const char *const args[], char **out,
	    char **err, int timeout_ms);

/* ---- /proc ------------------------------------------------------------ */

/* The pids of pid's children as /proc lists them (at most max); how many,
 * -1 if unreadable. */
int	tu_children(pid_t pid, int *out, int max);
/* The number after "key:" in /proc/PID/status (e.g. "Threads"), -1 if
 * unreadable. */
long	tu_proc_status(pid_t pid, const char *key);

/* VmRSS of pid in KiB, -1 if unreadable. */
long	tu_rss_kb(pid_t pid);

/* ---- sockets ---------------------------------------------------------- */

/* Blocking TCP connection to 127.0.0.1:port with 10 s SO_RCVTIMEO and
 * SO_SNDTIMEO as a safety net.  -1 on failure. */
int	tu_connect(int port);
/* The same with SO_RCVBUF set before connect (a small receive window
 * makes a stalled reader fill up fast). */
int	tu_connect_rcvbuf(int port, int rcvbuf);
/* Write all n bytes (blocking), -1 on error. */
int	tu_send_all(int fd, const void *p, size_t n);
int	tu_send_str(int fd, const char *s);
/* Close with SO_LINGER 0, so the peer sees a reset instead of a FIN. */
void	tu_close_reset(int fd);
/* Make fd (non)blocking; -1 on failure. */
int	tu_set_nonblocking(int fd, bool on);

/*
 * Read one line, up to and including its LF, into buf (NUL-terminated
 * after the returned length, so at most len - 1 bytes are read).  Only the
 * line's bytes are taken off the socket (MSG_PEEK finds the LF), so no
 * per-fd leftover exists and the caller may mix this with plain recv().
 * Returns the length (binary-safe; the last byte is '\n' unless EOF or
 * the buffer cut the line short), 0 at EOF with nothing read, -1 on
 * timeout or error.
 */
ssize_t	tu_read_line(int fd, char *buf, size_t len, int timeout_ms);
/* Read exactly n bytes, -1 on EOF, error or timeout. */
int	tu_read_exact(int fd, void *p, size_t n, int timeout_ms);
/* The next line must be exactly want (strlen(want) bytes, LF included). */
int	tu_expect_line(int fd, const char *want, int timeout_ms);
/* The same for binary lines: exactly n bytes, the last being the LF. */
int	tu_expect_bytes(int fd, const void *want, size_t n, int timeout_ms);
/* The peer must close (EOF or reset) with no more data before it. */
int	tu_expect_eof(int fd, int timeout_ms);
/* Discard any data until the peer closes; *nread (may be NULL) gets the
 * number of bytes thrown away. */
int	tu_wait_closed(int fd, int timeout_ms, size_t *nread);
/* Nothing (no data, no EOF) arrives within ms.  Only for asserting
 * absence; never use it to wait out a race. */
int	tu_expect_silence(int fd, int ms);

/* ---- chat ------------------------------------------------------------- */

/*
 * Connect and read `* welcome, you are NICK\n`; the nick goes to nick
 * (at least 33 bytes; may be NULL).  Returns the fd or -1.
 */
int	tu_chat_connect(int port, char *nick, size_t nicklen);
/*
 * Connect n clients one after another.  Each one reads its welcome, and
 * every client already connected reads `* NICK joined\n` for it, so on
 * return all fds are quiet.  nicks may be NULL, else it holds n arrays of
 * TU_NICK_LEN bytes.  Returns 0, or -1 with every fd opened so far closed
 * and set to -1.
 */
#define TU_NICK_LEN	40
int	tu_chat_join_all(int port, int *fds, char (*nicks)[TU_NICK_LEN],
	    int n);
/* Every fd in fds[0..n) except skip (-1: none) reads want. */
int	tu_expect_all(const int *fds, int n, int skip, const char *want,
	    int timeout_ms);
/* Close every fd >= 0 in fds and set it to -1. */
void	tu_close_all(int *fds, int n);

/* ---- drivers ---------------------------------------------------------- */

/* Number of entries in io_drivers[] (the table the server links). */
int	tu_ndrivers(void);
/* Name of io_drivers[i]. */
const char *tu_driver_name(int i);
/* NULL if io_drivers[i] can run here, else the one-line reason its probe
 * gave (io_uring switched off by sysctl or seccomp, an old kernel). */
const char *tu_driver_unavailable(int i);
/* A test for a driver that cannot run here says so and ends: skipped,
 * with the reason printed, never silently passed. */
#define TU_SKIP_UNAVAILABLE(i) do { \
	const char *tu_why_ = tu_driver_unavailable(i); \
	if (tu_why_ != NULL) { \
		fprintf(stderr, "skipped: %s for --io %s: %s\n", __func__, \
		    tu_driver_name(i), tu_why_); \
		return; \
	} \
} while (0)

/* Whether io_drivers[i] serves chat mode (fork and thread echo only). */
bool	tu_driver_serves_chat(int i);
/* A chat test meets a driver that serves echo only: say so on stderr and
 * return true, so the test can return; the run shows every skip. */
bool	tu_skip_unless_chat(int i, const char *test);

/* Start of a chat-only loop test: skip (printed) for echo-only drivers. */
#define TU_CHAT_ONLY(i) do { \
	if (tu_skip_unless_chat((i), __func__)) \
		return; \
} while (0)

/* ---- check conveniences ----------------------------------------------- */

#define TU_EXPECT_LINE(fd, want) \
	ck_assert_msg(tu_expect_line((fd), (want), TU_WAIT) == 0, "%s", \
	    tu_error())
#define TU_EXPECT_EOF(fd) \
	ck_assert_msg(tu_expect_eof((fd), TU_WAIT) == 0, "%s", tu_error())
#define TU_EXPECT_SILENCE(fd) \
	ck_assert_msg(tu_expect_silence((fd), TU_QUIET) == 0, "%s", \
	    tu_error())
#define TU_SEND(fd, s) \
	ck_assert_msg(tu_send_str((fd), (s)) == 0, "%s", tu_error())
#define TU_OK(expr) \
	ck_assert_msg((expr) == 0, "%s: %s", #expr, tu_error())

#endif
