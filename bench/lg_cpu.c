/* lg_cpu.c - CPU and memory accounting: the server's process tree from /proc,
 * ours from getrusage, the whole machine's from /proc/stat. */
#include <sys/resource.h>
#include <sys/time.h>

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lg_cpu.h"

/* Big enough for a status file, or the children list of 20,000 PIDs; a
 * longer children list is cut short. */
#define LG_WALK_BUF	(256 * 1024)

/* ---- parsing (pure) ------------------------------------------------------ */

int
lg_cpu_parse_stat4(const char *text, uint64_t t[4])
{
	const char *p;
	char *end;
	int field, i;

	/* comm is "(...)" and may contain ") (": the last ')' ends it. */
	if ((p = strrchr(text, ')')) == NULL)
		return -1;
	p++;
	/* p now points before field 3 (state); utime is field 14. */
	for (field = 3; field < 14; field++) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			return -1;
		while (*p != ' ' && *p != '\0')
			p++;
	}
	for (i = 0; i < 4; i++) {
		t[i] = strtoull(p, &end, 10);
		if (end == p)
			return -1;
		p = end;
	}
	return 0;
}

int
lg_cpu_parse_stat(const char *text, uint64_t *utime, uint64_t *stime)
{
	uint64_t t[4];

	if (lg_cpu_parse_stat4(text, t) == -1)
		return -1;
	*utime = t[0];
	*stime = t[1];
	return 0;
}

int
lg_cpu_parse_schedstat(const char *text, uint64_t *ns, uint64_t *wait)
{
	const char *p;
	char *end;

	if (!isdigit((unsigned char)text[0]))
		return -1;
	*ns = strtoull(text, &end, 10);
	p = end;
	*wait = strtoull(p, &end, 10);
	return end == p ? -1 : 0;
}

int
lg_cpu_parse_field(const char *text, const char *key, uint64_t *val)
{
	size_t klen = strlen(key);
	const char *p = text;
	char *end;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
			p += klen + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			*val = strtoull(p, &end, 10);
			return end == p ? -1 : 0;
		}
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return -1;
}

int
lg_machine_parse(const char *text, double hz, double *busy_s)
{
	uint64_t v[8] = { 0 };
	const char *p = text;
	char *end;
	int i;

	if (strncmp(p, "cpu ", 4) != 0)
		return -1;
	p += 4;
	/* user nice system idle iowait irq softirq steal (guest is already
	 * in user). */
	for (i = 0; i < 8; i++) {
		v[i] = strtoull(p, &end, 10);
		if (end == p)
			return i >= 7 ? 0 : -1;
		p = end;
	}
	*busy_s = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / hz;
	return 0;
}

/* ---- reading /proc -------------------------------------------------------- */

/* Read a small /proc file into buf (NUL-terminated); its length or -1. */
static ssize_t
lg_read_file(const char *path, char *buf, size_t len)
{
	ssize_t n, got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while ((size_t)got < len - 1 &&
	    (n = read(fd, buf + got, len - 1 - (size_t)got)) > 0)
		got += n;
	close(fd);
	buf[got] = '\0';
	return got;
}

static double
lg_hz(void)
{
	long hz = sysconf(_SC_CLK_TCK);

	return hz > 0 ? (double)hz : 100.0;
}

int
lg_cpu_read_pid(pid_t pid, struct lg_cpu *out)
{
	char path[64], text[1024];
	uint64_t ut, st;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (lg_read_file(path, text, sizeof(text)) <= 0 ||
	    lg_cpu_parse_stat(text, &ut, &st) == -1)
		return -1;
	out->user = (double)ut / lg_hz();
	out->sys = (double)st / lg_hz();
	return 0;
}

int
lg_cpu_read_self(struct lg_cpu *out)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return -1;
	out->user = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	out->sys = (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	return 0;
}

int
lg_machine_busy(double *busy_s)
{
	char text[512];

	if (lg_read_file("/proc/stat", text, sizeof(text)) <= 0)
		return -1;
	return lg_machine_parse(text, lg_hz(), busy_s);
}

/* A growing list of PIDs: the walk's work queue. */
struct lg_pids {
	pid_t	*v;
	size_t	 n, cap;
};

static int
lg_pids_add(struct lg_pids *l, pid_t pid)
{
	pid_t *v;

	if (l->n == l->cap) {
		if (l->cap >= LG_TREE_MAX)
			return -1;
		l->cap = l->cap ? l->cap * 2 : 64;
		if ((v = realloc(l->v, l->cap * sizeof(*v))) == NULL)
			return -1;
		l->v = v;
	}
	l->v[l->n++] = pid;
	return 0;
}

/* Append the PIDs listed in a children file (space separated). */
static void
lg_pids_add_text(struct lg_pids *l, const char *p)
{
	char *end;
	long v;

	for (;;) {
		while (*p == ' ' || *p == '\n')
			p++;
		if (*p == '\0')
			return;
		v = strtol(p, &end, 10);
		if (end == p || v <= 0)
			return;
		if (lg_pids_add(l, (pid_t)v) == -1)
			return;
		p = end;
	}
}

/* What a walk of the tree carries from process to process. */
struct lg_walk {
	struct lg_pids	 queue;		/* processes found, in BFS order */
	char		*buf;		/* LG_WALK_BUF bytes for /proc texts */
	void		*out;		/* what the visitor adds to */
};

/* Call fn for each thread (task) of a process. */
static void
lg_each_task(pid_t pid, struct lg_walk *w,
    void (*fn)(pid_t, const char *, struct lg_walk *))
{
	struct dirent *de;
	char path[64];
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
	if ((dir = opendir(path)) == NULL)
		return;		/* it exited just now */
	while ((de = readdir(dir)) != NULL)
		if (isdigit((unsigned char)de->d_name[0]))
			fn(pid, de->d_name, w);
	closedir(dir);
}

/* A thread's children are processes of the tree too. */
static void
lg_task_children(pid_t pid, const char *tid, struct lg_walk *w)
{
	char path[96];

	snprintf(path, sizeof(path), "/proc/%ld/task/%.20s/children",
	    (long)pid, tid);
	if (lg_read_file(path, w->buf, LG_WALK_BUF) > 0)
		lg_pids_add_text(&w->queue, w->buf);
}

/* A thread's run time and context switches. */
static void
lg_task_cpu(pid_t pid, const char *tid, struct lg_walk *w)
{
	struct lg_tree *out = w->out;
	char path[96];
	uint64_t v, wait;

	snprintf(path, sizeof(path), "/proc/%ld/task/%.20s/schedstat",
	    (long)pid, tid);
	if (lg_read_file(path, w->buf, LG_WALK_BUF) <= 0 ||
	    lg_cpu_parse_schedstat(w->buf, &v, &wait) == -1)
		return;		/* the thread is gone */
	out->threads++;
	out->cpu_ns += v;
	out->wait_ns += wait;
	snprintf(path, sizeof(path), "/proc/%ld/task/%.20s/status", (long)pid,
	    tid);
	if (lg_read_file(path, w->buf, LG_WALK_BUF) > 0) {
		if (lg_cpu_parse_field(w->buf, "voluntary_ctxt_switches",
		    &v) == 0)
			out->ctx_vol += v;
		if (lg_cpu_parse_field(w->buf, "nonvoluntary_ctxt_switches",
		    &v) == 0)
			out->ctx_invol += v;
	}
	lg_task_children(pid, tid, w);
}

/* One process: its stat (with its reaped children's time), its threads. */
static int
lg_visit_cpu(pid_t pid, struct lg_walk *w)
{
	struct lg_tree *out = w->out;
	double hz = lg_hz();
	char path[64];
	uint64_t t[4];

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (lg_read_file(path, w->buf, LG_WALK_BUF) <= 0 ||
	    lg_cpu_parse_stat4(w->buf, t) == -1)
		return -1;
	out->procs++;
	out->user += (double)(t[0] + t[2]) / hz;
	out->sys += (double)(t[1] + t[3]) / hz;
	out->cpu_ns += (t[2] + t[3]) * (uint64_t)(1e9 / hz);
	lg_each_task(pid, w, lg_task_cpu);
	return 0;
}

/* Walk the tree under root breadth first, calling visit() on every
 * process (which queues its children).  -1 if the root is gone. */
static int
lg_tree_walk(pid_t root, int (*visit)(pid_t, struct lg_walk *), void *out)
{
	struct lg_walk w = { { NULL, 0, 0 }, NULL, out };
	size_t i;
	int rc = -1;

	if ((w.buf = malloc(LG_WALK_BUF)) == NULL)
		return -1;
	if (lg_pids_add(&w.queue, root) == -1)
		goto out;
	for (i = 0; i < w.queue.n; i++)
		if (visit(w.queue.v[i], &w) == -1 && i == 0)
			goto out;
	rc = 0;
out:
	free(w.queue.v);
	free(w.buf);
	return rc;
}

int
lg_tree_sample(pid_t root, struct lg_tree *out)
{
	return lg_tree_walk(root, lg_visit_cpu, out);
}

struct lg_mem {
	uint64_t	rss_kb;
	uint64_t	pss_kb;
};

static int
lg_visit_mem(pid_t pid, struct lg_walk *w)
{
	struct lg_mem *m = w->out;
	char path[64];
	uint64_t v;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if (lg_read_file(path, w->buf, LG_WALK_BUF) <= 0)
		return -1;
	if (lg_cpu_parse_field(w->buf, "VmRSS", &v) == 0)
		m->rss_kb += v;
	snprintf(path, sizeof(path), "/proc/%ld/smaps_rollup", (long)pid);
	if (lg_read_file(path, w->buf, LG_WALK_BUF) > 0 &&
	    lg_cpu_parse_field(w->buf, "Pss", &v) == 0)
		m->pss_kb += v;
	lg_each_task(pid, w, lg_task_children);
	return 0;
}

int
lg_tree_memory(pid_t root, uint64_t *rss_kb, uint64_t *pss_kb)
{
	struct lg_mem m = { 0, 0 };

	if (lg_tree_walk(root, lg_visit_mem, &m) == -1)
		return -1;
	*rss_kb += m.rss_kb;
	*pss_kb += m.pss_kb;
	return 0;
}
