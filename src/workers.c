/* workers.c - the supervisor of --workers: fork, watch, restart, signal. */
/*
 * Each worker is a whole server with its own listener on the shared port
 * (SO_REUSEPORT: the kernel spreads new connections over the listeners)
 * and its own loop; they share nothing, so echo scales with no locks, and
 * a chat room is shared only through --bus.  The parent holds the port
 * with a bound socket that never listens (it takes no connections), so
 * `--listen :0` picks one port for all and a restarted worker binds it
 * again.  The parent waits for signals synchronously (sigtimedwait), so
 * it has no handlers and nothing to race with.
 */
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "net.h"
#include "options.h"
#include "workers.h"

struct worker {
	pid_t	pid;			/* 0: not running */
	int64_t	started_ms;
	int64_t	restart_at_ms;		/* 0: none due */
	int64_t	delay_ms;		/* the next quick death's wait */
};

struct workers {
	struct config *cfg;
	workers_body_fn *body;
	int	port_fd;		/* bound, not listening */
	sigset_t signals;		/* blocked here, waited for */
	struct worker *w;
	unsigned n;
	bool	stopping;
};

static int64_t
workers_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for the worker's "listening" byte; false if it exited first or
 * took too long. */
static bool
workers_wait_ready(int fd)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	char byte;
	int rc;

	while ((rc = poll(&pfd, 1, WORKERS_READY_MS)) == -1 && errno == EINTR)
		;
	return rc == 1 && read(fd, &byte, 1) == 1;
}

/* Fork worker i (from 0); true once it listens. */
static bool
workers_start(struct workers *ws, unsigned i)
{
	struct worker *w = &ws->w[i];
	pid_t parent = getpid();
	int ready[2];
	bool ok;

	if (pipe(ready) == -1) {
		log_warn("worker %u: pipe: %s", i + 1, strerror(errno));
		return false;
	}
	if ((w->pid = fork()) == -1) {
		log_warn("worker %u: fork: %s", i + 1, strerror(errno));
		w->pid = 0;
		close(ready[0]);
		close(ready[1]);
		return false;
	}
	if (w->pid == 0) {
		close(ready[0]);
		close(ws->port_fd);
		/* A worker must not outlive a parent that was killed. */
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		sigprocmask(SIG_UNBLOCK, &ws->signals, NULL);
		ws->cfg->worker_id = (int)i + 1;
		_exit(ws->body(ws->cfg, ready[1]));
	}
	close(ready[1]);
	w->started_ms = workers_now_ms();
	w->restart_at_ms = 0;
	ok = workers_wait_ready(ready[0]);
	close(ready[0]);
	if (ok)
		log_debug("worker %u (pid %d) is listening", i + 1, (int)w->pid);
	return ok;
}

static void
workers_signal_all(struct workers *ws, int sig)
{
	unsigned i;

	for (i = 0; i < ws->n; i++)
		if (ws->w[i].pid > 0)
			kill(ws->w[i].pid, sig);
}

static unsigned
workers_alive(const struct workers *ws)
{
	unsigned i, alive = 0;

	for (i = 0; i < ws->n; i++)
		alive += ws->w[i].pid > 0;
	return alive;
}

/* A worker exited: say why, and when it comes back. */
static void
workers_exited(struct workers *ws, pid_t pid, int status)
{
	int64_t now = workers_now_ms(), lived;
	struct worker *w = NULL;
	char why[64];
	unsigned i;

	for (i = 0; i < ws->n && w == NULL; i++)
		if (ws->w[i].pid == pid)
			w = &ws->w[i];
	if (w == NULL)
		return;
	i--;
	w->pid = 0;
	if (WIFSIGNALED(status))
		snprintf(why, sizeof(why), "was killed by signal %d (%s)",
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(why, sizeof(why), "exited with status %d",
		    WEXITSTATUS(status));
	if (ws->stopping) {
		log_info("worker %u (pid %d) %s", i + 1, (int)pid, why);
		return;
	}
	/* One that keeps dying at once waits longer each time. */
	lived = now - w->started_ms;
	if (lived >= WORKERS_STABLE_MS)
		w->delay_ms = 0;
	else
		w->delay_ms = w->delay_ms == 0 ? 100 : w->delay_ms * 2;
	if (w->delay_ms > WORKERS_RESTART_MAX_MS)
		w->delay_ms = WORKERS_RESTART_MAX_MS;
	w->restart_at_ms = now + w->delay_ms;
	log_warn("worker %u (pid %d) %s; restarting it in %lld ms", i + 1,
	    (int)pid, why, (long long)w->delay_ms);
}

static void
workers_reap(struct workers *ws)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		workers_exited(ws, pid, status);
}

/* Restart whoever is due; the wait until the next one, or -1. */
static int64_t
workers_restart_due(struct workers *ws)
{
	int64_t now = workers_now_ms(), next = -1;
	unsigned i;

	for (i = 0; i < ws->n; i++) {
		struct worker *w = &ws->w[i];

		if (w->pid != 0 || w->restart_at_ms == 0 || ws->stopping)
			continue;
		if (now >= w->restart_at_ms) {
			if (workers_start(ws, i))
				log_info("worker %u restarted (pid %d)", i + 1,
				    (int)w->pid);
			continue;	/* a failed start exits: SIGCHLD */
		}
		if (next == -1 || w->restart_at_ms - now < next)
			next = w->restart_at_ms - now;
	}
	return next;
}

static int
workers_supervise(struct workers *ws)
{
	struct timespec ts;
	int64_t wait_ms;
	int sig;

	for (;;) {
		workers_reap(ws);
		if (ws->stopping && workers_alive(ws) == 0)
			return 0;
		wait_ms = workers_restart_due(ws);
		if (wait_ms < 0 || wait_ms > 1000)
			wait_ms = 1000;
		ts.tv_sec = (time_t)(wait_ms / 1000);
		ts.tv_nsec = (long)(wait_ms % 1000) * 1000000;
		if ((sig = sigtimedwait(&ws->signals, NULL, &ts)) == -1)
			continue;	/* timeout or EINTR */
		if (sig == SIGTERM || sig == SIGINT) {
			if (!ws->stopping)
				log_info("stopping %u workers", workers_alive(ws));
			ws->stopping = true;
			workers_signal_all(ws, SIGTERM);
		} else if (sig == SIGUSR1) {
			workers_signal_all(ws, SIGUSR1);
		}
	}
}

int
workers_run(struct config *cfg, workers_body_fn *body)
{
	struct workers ws;
	char err[NET_ERR_LEN], name[NET_ADDR_LEN];
	unsigned i;
	int rc;

	memset(&ws, 0, sizeof(ws));
	ws.cfg = cfg;
	ws.body = body;
	ws.n = cfg->workers;
	if ((ws.port_fd = net_reserve_port(&cfg->listen, err)) == -1) {
		fprintf(stderr, "pollserv: %s\n", err);
		return 1;
	}
	cfg->listen.port = net_local_port(ws.port_fd);
	net_local_name(ws.port_fd, name, sizeof(name), err);
	if ((ws.w = calloc(ws.n, sizeof(*ws.w))) == NULL) {
		fprintf(stderr, "pollserv: out of memory for %u workers\n", ws.n);
		close(ws.port_fd);
		return 1;
	}
	sigemptyset(&ws.signals);
	sigaddset(&ws.signals, SIGCHLD);
	sigaddset(&ws.signals, SIGTERM);
	sigaddset(&ws.signals, SIGINT);
	sigaddset(&ws.signals, SIGUSR1);
	sigprocmask(SIG_BLOCK, &ws.signals, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < ws.n; i++)
		if (!workers_start(&ws, i)) {
			/* It said why on stderr; the others stop too. */
			ws.stopping = true;
			workers_signal_all(&ws, SIGTERM);
			while (wait(NULL) > 0)
				;
			free(ws.w);
			close(ws.port_fd);
			return 1;
		}
	log_listening(name, cfg->mode == MODE_CHAT ? "chat" : "echo",
	    cfg->io->name);
	log_info("%u workers on %s", ws.n, name);
	rc = workers_supervise(&ws);
	free(ws.w);
	close(ws.port_fd);
	return rc;
}
