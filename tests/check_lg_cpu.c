/* check_lg_cpu.c - the loadgen's accounting: /proc parsing and process trees. */
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lg_cpu.h"

START_TEST(test_cpu_parse_stat)
{
	uint64_t ut, st, t[4];

	ck_assert_int_eq(lg_cpu_parse_stat("1234 (pollserv) R 1 1234 1234 0 -1 "
	    "4194304 100 0 0 0 517 31 7 9 20 0 1 0 12345 1000 100 "
	    "18446744073709551615", &ut, &st), 0);
	ck_assert_uint_eq(ut, 517);
	ck_assert_uint_eq(st, 31);
	ck_assert_int_eq(lg_cpu_parse_stat4("1234 (pollserv) R 1 1234 1234 0 -1 "
	    "4194304 100 0 0 0 517 31 7 9 20 0", t), 0);
	ck_assert_uint_eq(t[2], 7);	/* cutime: reaped children */
	ck_assert_uint_eq(t[3], 9);
	/* A command name with spaces and parentheses of its own. */
	ck_assert_int_eq(lg_cpu_parse_stat("99 (a) b (c)) S 1 2 3 4 5 6 7 8 9 "
	    "10 42 43 0 0", &ut, &st), 0);
	ck_assert_uint_eq(ut, 42);
	ck_assert_uint_eq(st, 43);
	/* Truncated text fails instead of reading garbage. */
	ck_assert_int_eq(lg_cpu_parse_stat("99 (x) S 1 2 3", &ut, &st), -1);
	ck_assert_int_eq(lg_cpu_parse_stat("no parens", &ut, &st), -1);
	ck_assert_int_eq(lg_cpu_parse_stat4("99 (x) S 1 2 3 4 5 6 7 8 9 10 42 "
	    "43", t), -1);
}
END_TEST

START_TEST(test_cpu_parse_fields)
{
	uint64_t v, w;
	double busy;

	ck_assert_int_eq(lg_cpu_parse_schedstat("123456789 2000 17\n", &v,
	    &w), 0);
	ck_assert_uint_eq(v, 123456789);
	ck_assert_uint_eq(w, 2000);
	ck_assert_int_eq(lg_cpu_parse_schedstat("", &v, &w), -1);
	ck_assert_int_eq(lg_cpu_parse_schedstat("12", &v, &w), -1);
	ck_assert_int_eq(lg_cpu_parse_field("Name:\tx\nvoluntary_ctxt_switches:"
	    "\t17\nnonvoluntary_ctxt_switches:\t4\n", "voluntary_ctxt_switches",
	    &v), 0);
	ck_assert_uint_eq(v, 17);
	/* The key must start a line: "nonvoluntary_..." is not "voluntary_". */
	ck_assert_int_eq(lg_cpu_parse_field("nonvoluntary_ctxt_switches:\t4\n"
	    "voluntary_ctxt_switches:\t9\n", "voluntary_ctxt_switches", &v), 0);
	ck_assert_uint_eq(v, 9);
	ck_assert_int_eq(lg_cpu_parse_field("Rss:  100 kB\nPss:   42 kB\n",
	    "Pss", &v), 0);
	ck_assert_uint_eq(v, 42);
	ck_assert_int_eq(lg_cpu_parse_field("Rss: 1 kB\n", "Pss", &v), -1);
	/* user nice system idle iowait irq softirq steal: all but idle and
	 * iowait are busy. */
	ck_assert_int_eq(lg_machine_parse("cpu  100 1 50 9000 20 2 3 4 0 0\n"
	    "cpu0 1 2 3\n", 100.0, &busy), 0);
	ck_assert_double_eq_tol(busy, 1.60, 1e-9);
	ck_assert_int_eq(lg_machine_parse("intr 1 2", 100.0, &busy), -1);
	ck_assert_int_eq(lg_machine_busy(&busy), 0);
	ck_assert(busy > 0);
}
END_TEST

START_TEST(test_cpu_read)
{
	struct lg_cpu a, b;
	volatile unsigned long spin = 0;
	unsigned long i;

	ck_assert_int_eq(lg_cpu_read_pid(getpid(), &a), 0);
	ck_assert_int_eq(lg_cpu_read_self(&b), 0);
	ck_assert(a.user >= 0 && a.sys >= 0);
	/* Burn some CPU: our own counter must not go backwards. */
	for (i = 0; i < 20000000UL; i++)
		spin += i;
	ck_assert_int_eq(lg_cpu_read_self(&a), 0);
	ck_assert(a.user + a.sys >= b.user + b.sys);
	/* pid 0 has no /proc entry of its own. */
	ck_assert_int_eq(lg_cpu_read_pid(0, &a), -1);
}
END_TEST

/* Spin until this thread has used ms milliseconds of CPU. */
static void
lg_test_burn(int ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	do
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000
	    < ms);
}

static pthread_mutex_t lg_test_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t lg_test_cv = PTHREAD_COND_INITIALIZER;
static int lg_test_burnt, lg_test_stop;

static void *
lg_test_thread(void *arg)
{
	(void)arg;
	lg_test_burn(150);
	pthread_mutex_lock(&lg_test_mu);
	lg_test_burnt++;
	pthread_cond_broadcast(&lg_test_cv);
	while (!lg_test_stop)
		pthread_cond_wait(&lg_test_cv, &lg_test_mu);
	pthread_mutex_unlock(&lg_test_mu);
	return NULL;
}

/*
 * A tree: this process, 2 extra threads, a child and a grandchild.  The
 * children burn 150 ms each and then wait, so a sample must see all 3
 * processes and their CPU; one more child burns and exits before the
 * second sample, and must still be counted (through cutime once reaped).
 */
START_TEST(test_tree_sample)
{
	struct lg_tree t0, t1;
	pthread_t th[2];
	pid_t kid, late;
	uint64_t rss = 0, pss = 0;
	int p[2], i, status;
	char c;

	ck_assert_int_eq(pipe(p), 0);
	memset(&t0, 0, sizeof(t0));
	ck_assert_int_eq(lg_tree_sample(getpid(), &t0), 0);
	kid = fork();
	ck_assert_int_ge(kid, 0);
	if (kid == 0) {
		pid_t gk = fork();

		if (gk == 0)	/* the grandchild goes when the child does */
			(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		lg_test_burn(150);
		if (gk != 0) {
			/* the child: tell the parent both have burnt */
			(void)write(p[1], "x", 1);
			pause();
		}
		(void)write(p[1], "y", 1);
		pause();
		_exit(0);
	}
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, lg_test_thread,
		    NULL), 0);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	late = fork();
	ck_assert_int_ge(late, 0);
	if (late == 0) {
		lg_test_burn(150);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(late, &status, 0), late);
	lg_test_burn(50);
	pthread_mutex_lock(&lg_test_mu);
	while (lg_test_burnt < 2)
		pthread_cond_wait(&lg_test_cv, &lg_test_mu);
	pthread_mutex_unlock(&lg_test_mu);
	memset(&t1, 0, sizeof(t1));
	ck_assert_int_eq(lg_tree_sample(getpid(), &t1), 0);
	ck_assert_msg(t1.procs >= t0.procs + 2, "procs %u -> %u", t0.procs,
	    t1.procs);
	ck_assert_uint_ge(t1.threads, t0.threads + 4);
	/* 2 threads + child + grandchild + the reaped child burnt 150 ms
	 * each, plus our own 50: at least 0.7 s, whatever the CPUs did
	 * (a sample cannot miss any of them). */
	ck_assert_msg(t1.cpu_ns - t0.cpu_ns >= 700000000ULL, "tree cpu %llu ns",
	    (unsigned long long)(t1.cpu_ns - t0.cpu_ns));
	ck_assert(t1.ctx_vol > t0.ctx_vol);
	ck_assert_int_eq(lg_tree_memory(getpid(), &rss, &pss), 0);
	ck_assert(rss > 0 && pss > 0 && pss <= rss);

	pthread_mutex_lock(&lg_test_mu);
	lg_test_stop = 1;
	pthread_cond_broadcast(&lg_test_cv);
	pthread_mutex_unlock(&lg_test_mu);
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	kill(kid, SIGKILL);
	waitpid(kid, &status, 0);
	close(p[0]);
	close(p[1]);
	memset(&t1, 0, sizeof(t1));
	ck_assert_int_eq(lg_tree_sample(0x3fffff, &t1), -1);
}
END_TEST

Suite *
lg_cpu_suite(void)
{
	Suite *s = suite_create("lg_cpu");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_cpu_parse_stat);
	tcase_add_test(tc, test_cpu_parse_fields);
	tcase_add_test(tc, test_cpu_read);
	tcase_add_test(tc, test_tree_sample);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);
	return s;
}
