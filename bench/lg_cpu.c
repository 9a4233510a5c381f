/* lg_cpu.c - CPU accounting: the server's from /proc, ours from getrusage. */
#include <sys/resource.h>
#include <sys/time.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lg_cpu.h"

int
lg_cpu_parse_stat(const char *text, uint64_t *utime, uint64_t *stime)
{
	const char *p;
	char *end;
	int field;

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
	*utime = strtoull(p, &end, 10);
	if (end == p)
		return -1;
	p = end;
	*stime = strtoull(p, &end, 10);
	if (end == p)
		return -1;
	return 0;
}

int
lg_cpu_read_pid(pid_t pid, struct lg_cpu *out)
{
	char path[64], text[1024];
	uint64_t ut, st;
	ssize_t n;
	long hz;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	text[n] = '\0';
	if (lg_cpu_parse_stat(text, &ut, &st) == -1)
		return -1;
	if ((hz = sysconf(_SC_CLK_TCK)) <= 0)
		hz = 100;
	out->user = (double)ut / (double)hz;
	out->sys = (double)st / (double)hz;
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
