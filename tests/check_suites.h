/* check_suites.h - one constructor per check_<module>.c, for the runner. */
#ifndef CHECK_SUITES_H
#define CHECK_SUITES_H

#include <check.h>

Suite	*io_suite(void);
Suite	*nickset_suite(void);
Suite	*log_suite(void);
Suite	*scale_suite(void);
Suite	*faults_suite(void);
Suite	*harden_suite(void);
Suite	*fair_suite(void);
Suite	*fuzz_suite(void);
Suite	*buf_suite(void);
Suite	*frame_suite(void);
Suite	*chat_suite(void);
Suite	*parse_suite(void);
Suite	*options_suite(void);
Suite	*net_suite(void);
Suite	*client_suite(void);
Suite	*room_suite(void);
Suite	*integration_suite(void);
Suite	*blocking_suite(void);
Suite	*lg_hist_suite(void);
Suite	*lg_msg_suite(void);
Suite	*lg_sched_suite(void);
Suite	*lg_cpu_suite(void);
Suite	*lg_report_suite(void);
Suite	*loadgen_suite(void);
Suite	*bus_suite(void);
Suite	*peers_suite(void);

#endif
