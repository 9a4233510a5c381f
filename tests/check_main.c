/* check_main.c - the one runner: every suite of every module, in one go. */
#include <check.h>
#include <stdlib.h>

#include "check_suites.h"

/* Add a line here for each new check_<module>.c. */
static Suite *(*const all_suites[])(void) = {
	buf_suite,
	frame_suite,
	chat_suite,
	nickset_suite,
	log_suite,
	parse_suite,
	options_suite,
	net_suite,
	client_suite,
	room_suite,
	integration_suite,
	blocking_suite,
	io_suite,
	faults_suite,
	harden_suite,
	fair_suite,
	fuzz_suite,
	scale_suite,
	lg_hist_suite,
	lg_msg_suite,
	lg_sched_suite,
	lg_cpu_suite,
	lg_report_suite,
	loadgen_suite,
	peers_suite,
	bus_suite,
	NULL
};

int
main(void)
{
	SRunner *runner;
	int failed;
	size_t i;

	runner = srunner_create(NULL);
	for (i = 0; all_suites[i] != NULL; i++)
		srunner_add_suite(runner, all_suites[i]());
	srunner_run_all(runner, CK_ENV);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
