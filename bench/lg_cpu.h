/* lg_cpu.h - CPU and memory accounting: the server's process tree from /proc,
 * ours from getrusage, the whole machine's from /proc/stat. */
#ifndef LG_CPU_H
#define LG_CPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct lg_cpu {
	double	user;		/* seconds */
	double	sys;
};

/*
 * One sample of a process and everything below it: its threads
 * (/proc/PID/task/ *) and its child processes, found recursively through
 * /proc/PID/task/TID/children (a process per client, as in the fork
 * model, or socat).
 *
 *  cpu_ns	run time in ns: every live thread's /proc/.../schedstat
 *		(the scheduler's own ns clock), plus every live process's
 *		cutime + cstime from /proc/PID/stat, which hold the children
 *		it has already reaped (in clock ticks, 10 ms).  A child that
 *		exits between two samples moves from the first sum to the
 *		second, so it is neither lost nor counted twice; only its
 *		last partial tick is.  Threads that exit between the samples
 *		are not counted (their time is only in their process's
 *		tick-rounded total).
 *  wait_ns	the live threads' time spent runnable but waiting for a CPU
 *		(schedstat's second field): another process had the
 *		server's CPU, the most direct sign of a noisy run.
 *  user, sys	utime + cutime and stime + cstime summed over the
 *		processes, in seconds of whole ticks: the user/sys split.
 *  ctx_*	voluntary / nonvoluntary context switches summed over the
 *		live threads (/proc/.../status); those of exited children
 *		are not counted.
 *  procs, threads  how many live processes and threads the tree holds.
 */
struct lg_tree {
	uint64_t	cpu_ns;
	uint64_t	wait_ns;	/* runnable but waiting for a CPU */
	double		user;
	double		sys;
	uint64_t	ctx_vol;
	uint64_t	ctx_invol;
	uint32_t	procs;
	uint32_t	threads;
};

#define LG_TREE_MAX	200000	/* processes walked at most */

/* Parse the text of /proc/PID/stat: utime, stime, cutime, cstime (fields
 * 14-17, counted after the parenthesised command name, which may hold
 * spaces and parentheses itself), in clock ticks.  0 or -1.  The first
 * form returns just utime and stime. */
int	lg_cpu_parse_stat(const char *text, uint64_t *utime, uint64_t *stime);
int	lg_cpu_parse_stat4(const char *text, uint64_t t[4]);
/* The first two numbers of /proc/.../schedstat: run time and run-queue
 * wait in ns.  0 or -1. */
int	lg_cpu_parse_schedstat(const char *text, uint64_t *ns, uint64_t *wait);
/* The number after "key:" at the start of a line in a /proc text
 * (status, smaps_rollup), e.g. "voluntary_ctxt_switches" or "Pss".
 * 0 or -1 if there is no such line. */
int	lg_cpu_parse_field(const char *text, const char *key, uint64_t *val);

/* Read /proc/PID/stat now; 0 or -1 (no such process). */
int	lg_cpu_read_pid(pid_t pid, struct lg_cpu *out);
/* This process, from getrusage(RUSAGE_SELF). */
int	lg_cpu_read_self(struct lg_cpu *out);
/* Add one sample of the tree under root to *out (which the caller
 * zeroes, so several roots sum).  0, or -1 if root does not exist. */
int	lg_tree_sample(pid_t root, struct lg_tree *out);
/* Add the tree's memory to *rss_kb (VmRSS summed over its processes:
 * pages shared after fork count once per process) and *pss_kb
 * (smaps_rollup's Pss: each shared page split between its sharers, the
 * honest figure for a forked tree).  0 or -1. */
int	lg_tree_memory(pid_t root, uint64_t *rss_kb, uint64_t *pss_kb);
/* The machine: CPU-seconds busy (user, nice, system, irq, softirq and
 * steal, all CPUs) since boot, from /proc/stat.  0 or -1. */
int	lg_machine_busy(double *busy_s);
/* Same, parsed from the text of /proc/stat. */
int	lg_machine_parse(const char *text, double hz, double *busy_s);

#endif
