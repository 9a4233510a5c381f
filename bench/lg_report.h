/* lg_report.h - the loadgen's verdict, human summary and JSON object. */
#ifndef LG_REPORT_H
#define LG_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "lg_run.h"

/* Derived figures, computed once so the summary and the JSON agree. */
struct lg_report {
	double	msgs_per_s;
	double	mb_per_s;
	double	lat_us[5];		/* p50, p90, p99, p99.9, max */
	double	server_cpu_pct;		/* valid when server_cpu_ok */
	double	server_user_pct;
	double	server_sys_pct;
	double	server_wait_pct;	/* runnable, waiting for a CPU */
	double	server_cpu_s_per_1k;	/* -1 when nothing was received */
	double	server_cpu_us_per_msg;	/* -1 when nothing was received */
	double	server_ctx_per_msg;	/* -1 when nothing was received */
	double	machine_cpu_pct;	/* every CPU, as % of one core */
	double	others_cpu_pct;		/* machine - server - loadgen, >= 0 */
	double	loadgen_cpu_pct;
	bool	loadgen_limited;	/* > LG_LIMITED_PCT of a core */
	bool	ok;			/* the exit status is 0 */
};

#define LG_LIMITED_PCT	90.0

const char *lg_mode_name(enum lg_mode mode);
void	lg_report_compute(const struct lg_config *cfg,
	    const struct lg_result *res, struct lg_report *rep);
void	lg_report_print(FILE *fp, const struct lg_config *cfg,
	    const struct lg_result *res, const struct lg_report *rep);
/* One flat JSON object and a newline; -1 on a write error. */
int	lg_report_json(FILE *fp, const struct lg_config *cfg,
	    const struct lg_result *res, const struct lg_report *rep);

#endif
