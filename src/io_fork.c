/* io_fork.c - the fork model: a process per client (seed 001's echo_mpserv
 * done properly), echo mode only. */
/*
 * Blocking sockets are the point of this model: the accepted socket stays
 * blocking (no O_NONBLOCK is ever set on it) and its process sleeps in
 * recv() or send() until the kernel has something for it.  The kernel's
 * scheduler is the multiplexer; a blocked send() stops that client's
 * reads, which is this model's backpressure.
 *
 * The parent accepts and forks; the child closes the listener and echoes
 * (blocking_echo, shared with the thread model), then writes its counters
 * down the tally pipe and exits.  The parent closes its copy of the
 * connected socket at once, or the connection would outlive the child.
 *
 * Reaping: SIGCHLD is caught with sigaction() and, as the seed does,
 * waitpid(-1, &status, WNOHANG) runs in a loop until it finds no more
 * exited children: one SIGCHLD can stand for many exits, since signals do
 * not queue.  The loop runs in the acceptor, right after ppoll() returns,
 * not in the handler, because it also updates the table of live children.
 *
 * SIGTERM reaches every child because the parent forwards it to each pid
 * in that table (a process-group kill would also hit whoever started us
 * when we share their group).  The child's handler shuts its socket down,
 * which wakes a recv() or send() blocked on it; the parent waits for the
 * children at most BLOCKING_SHUTDOWN_MS, SIGKILLs whatever is left and
 * reaps it.  PR_SET_PDEATHSIG makes a child go too if the parent dies
 * without the chance to forward anything (SIGKILL).
 *
 * Counters: accepted, rejected, sweeps and closed (children reaped) are
 * the parent's own, so clients + closed + rejected = accepted at any time;
 * bytes_in, bytes_out, wouldblock and timeouts are summed from the tallies
 * of the children that have finished (a child writes its tally before it
 * exits, so a reaped child's is always in; a live child's bytes are
 * counted when it ends); cpu_user/cpu_sys are the parent's plus its reaped
 * children's (getrusage RUSAGE_CHILDREN).
 */
#define _GNU_SOURCE		/* prctl's PR_SET_PDEATHSIG */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "io_blocking.h"
#include "log.h"

struct fork_state {
	pid_t  *pids;		/* live children, dense, swap-remove */
	size_t	npids;
	pid_t	parent;
};

/* The child's connection, for its signal handler. */
static volatile sig_atomic_t fork_conn_fd = -1;

static void
fork_child_signal(int sig)
{
	int saved = errno;

	(void)sig;
	/* Wakes the recv() or send() the child is blocked in: the echo then
	 * sees EOF or EPIPE and ends.  shutdown() is async-signal-safe. */
	if (fork_conn_fd != -1)
		(void)shutdown(fork_conn_fd, SHUT_RDWR);
	errno = saved;
}

static void __attribute__((noreturn))
fork_child(struct blocking_server *bs, int fd)
{
	struct fork_state *st = bs->state;
	struct blocking_tally t;
	struct sigaction sa;
	sigset_t none;
	const char *why;

	close(bs->listen_fd);
	close(bs->tally_rd);
	memset(&t, 0, sizeof(t));
	fork_conn_fd = fd;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = fork_child_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;	/* stats are the parent's business */
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	/* A SIGTERM that came before this point is still pending (it was
	 * blocked): unblocking delivers it to the handler above. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (getppid() != st->parent)	/* the parent died before prctl */
		(void)shutdown(fd, SHUT_RDWR);
	why = blocking_echo(fd, bs->cfg.idle_timeout, &t);
	log_debug("connection closed (pid %d): %s", (int)getpid(), why);
	close(fd);
	blocking_report(bs->tally_wr, &t);
	_exit(0);
}

static int
fork_start(struct blocking_server *bs, int fd)
{
	struct fork_state *st = bs->state;
	pid_t pid;

	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0)
		fork_child(bs, fd);
	close(fd);
	st->pids[st->npids++] = pid;
	return 0;
}

static size_t
fork_live(struct blocking_server *bs)
{
	return ((struct fork_state *)bs->state)->npids;
}

static void
fork_forget(struct fork_state *st, pid_t pid)
{
	size_t i;

	for (i = 0; i < st->npids; i++)
		if (st->pids[i] == pid) {
			st->pids[i] = st->pids[--st->npids];
			return;
		}
}

static void
fork_reap(struct blocking_server *bs)
{
	struct fork_state *st = bs->state;
	pid_t pid;
	int status;

	if (!bs->child_exited)
		return;
	bs->child_exited = false;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		fork_forget(st, pid);
		bs->stats.closed++;
		if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
			log_warn("process %d of a connection died of signal %d",
			    (int)pid, WTERMSIG(status));
	}
}

static void
fork_stop(struct blocking_server *bs, bool force)
{
	struct fork_state *st = bs->state;
	size_t i;

	for (i = 0; i < st->npids; i++)
		(void)kill(st->pids[i], force ? SIGKILL : SIGTERM);
	if (!force)
		return;
	/* SIGKILL cannot be caught: they are gone in a moment.  Reap them
	 * here so none outlives us as a zombie. */
	for (i = 0; i < st->npids; i++)
		(void)waitpid(st->pids[i], NULL, 0);
	bs->stats.closed += st->npids;
	st->npids = 0;
}

static const struct blocking_model fork_model = {
	.unit = "process",
	.start = fork_start,
	.live = fork_live,
	.reap = fork_reap,
	.stop = fork_stop,
	.closed_by_reap = true,
	.cpu_children = true,
};

static int
fork_serve(const struct config *cfg)
{
	struct fork_state st;
	int rc;

	memset(&st, 0, sizeof(st));
	st.parent = getpid();
	if ((st.pids = calloc((size_t)cfg->max_clients, sizeof(*st.pids)))
	    == NULL) {
		log_warn("out of memory for %ld clients", cfg->max_clients);
		return 1;
	}
	rc = blocking_serve(cfg, &fork_model, &st);
	free(st.pids);
	return rc;
}

const struct io_driver io_fork = {
	.name = "fork",
	.summary = "a process per client, blocking sockets (echo mode only)",
	.serve = fork_serve,
};
