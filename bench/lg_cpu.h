/* lg_cpu.h - CPU accounting: the server's from /proc, ours from getrusage. */
#ifndef LG_CPU_H
#define LG_CPU_H

#include <stdint.h>
#include <sys/types.h>

struct lg_cpu {
	double	user;		/* seconds */
	double	sys;
};

/* Parse the text of /proc/PID/stat: utime and stime (fields 14 and 15,
 * counted after the parenthesised command name, which may hold spaces
 * and parentheses itself), in clock ticks.  0 or -1. */
int	lg_cpu_parse_stat(const char *text, uint64_t *utime, uint64_t *stime);
/* Read /proc/PID/stat now; 0 or -1 (no such process). */
int	lg_cpu_read_pid(pid_t pid, struct lg_cpu *out);
/* This process, from getrusage(RUSAGE_SELF). */
int	lg_cpu_read_self(struct lg_cpu *out);

#endif
