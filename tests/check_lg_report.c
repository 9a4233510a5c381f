/* check_lg_report.c - the loadgen's verdict and its JSON object. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg_report.h"

static const char *const lg_test_keys[] = {
	"mode", "addresses", "connections", "connections_ok", "connections_failed",
	"closed_by_server", "duration_s", "warmup_s", "rate", "pipeline",
	"size", "sent", "received", "msgs_per_s", "mb_per_s", "lat_p50_us",
	"lat_p90_us", "lat_p99_us", "lat_p999_us", "lat_max_us", "lost",
	"duplicated", "corrupted", "reordered", "server_cpu_pct",
	"server_user_pct", "server_sys_pct", "server_wait_pct",
	"server_cpu_s_per_1k",
	"server_cpu_us_per_msg", "server_ctx_switches", "server_ctx_voluntary",
	"server_ctx_per_msg", "server_procs", "server_threads",
	"server_rss_kb", "server_pss_kb", "loadgen_cpu_pct",
	"machine_cpu_pct", "others_cpu_pct", "loadgen_limited", "ok", NULL
};

static void
lg_test_setup(struct lg_config *cfg, struct lg_result *res)
{
	int i;

	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = LG_MODE_ECHO;
	cfg->conns = 2;
	cfg->size = 64;
	cfg->pipeline = 1;
	cfg->duration = 2;
	memset(res, 0, sizeof(*res));
	lg_hist_init(&res->latency);
	res->connections_ok = 2;
	res->duration = 2.0;
	res->sent = res->received = 1000;
	res->bytes = 64000;
	for (i = 0; i < 1000; i++)
		lg_hist_record(&res->latency, 10000 + (uint64_t)i * 10);
	res->self_user = 0.1;
	res->self_sys = 0.1;
}

/* Render the JSON into a string (caller frees). */
static char *
lg_test_json(const struct lg_config *cfg, const struct lg_result *res,
    struct lg_report *rep)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(fp);
	lg_report_compute(cfg, res, rep);
	ck_assert_int_eq(lg_report_json(fp, cfg, res, rep), 0);
	fclose(fp);
	return buf;
}

START_TEST(test_report_json_keys)
{
	struct lg_config cfg;
	struct lg_result *res = malloc(sizeof(*res));
	struct lg_report rep;
	char key[64], *json;
	int i, nkeys = 0;
	const char *p;

	ck_assert_ptr_nonnull(res);
	lg_test_setup(&cfg, res);
	json = lg_test_json(&cfg, res, &rep);
	/* One flat object on one line. */
	ck_assert_int_eq(json[0], '{');
	ck_assert_ptr_eq(strchr(json, '\n'), json + strlen(json) - 1);
	ck_assert_ptr_null(strchr(json + 1, '{'));
	for (i = 0; lg_test_keys[i] != NULL; i++) {
		snprintf(key, sizeof(key), "\"%s\": ", lg_test_keys[i]);
		ck_assert_msg(strstr(json, key) != NULL, "no key %s in %s",
		    lg_test_keys[i], json);
	}
	for (p = json; (p = strstr(p, "\": ")) != NULL; p++)
		nkeys++;
	ck_assert_int_eq(nkeys, i);
	ck_assert_ptr_nonnull(strstr(json, "\"mode\": \"echo\""));
	ck_assert_ptr_nonnull(strstr(json, "\"msgs_per_s\": 500,"));
	ck_assert_ptr_nonnull(strstr(json, "\"mb_per_s\": 0.032,"));
	ck_assert_ptr_nonnull(strstr(json, "\"ok\": true}"));
	/* No --pid: the server's figures are null, not zero. */
	ck_assert_ptr_nonnull(strstr(json, "\"server_cpu_pct\": null"));
	ck_assert_ptr_nonnull(strstr(json, "\"server_cpu_s_per_1k\": null"));
	ck_assert_ptr_nonnull(strstr(json, "\"loadgen_limited\": false"));
	free(json);

	cfg.pids[0] = 1;
	cfg.npids = 1;
	res->server_cpu_ok = true;
	/* The total is the scheduler's ns; the split is from ticks. */
	res->server.cpu_ns = 2000000000ULL;
	res->server.wait_ns = 100000000ULL;
	res->server.user = 0.5;
	res->server.sys = 1.5;
	res->server.ctx_vol = 1500;
	res->server.ctx_invol = 500;
	res->server.procs = 3;
	res->server.threads = 4;
	res->server_mem_ok = true;
	res->server_rss_kb = 12345678;
	res->server_pss_kb = 2048;
	/* Machine: 3 CPU-s busy in 2 s = 150% of a core; the server took
	 * 100%, the loadgen 10%: 40% was someone else. */
	res->machine_ok = true;
	res->machine_busy = 3.0;
	json = lg_test_json(&cfg, res, &rep);
	ck_assert_ptr_nonnull(strstr(json, "\"server_cpu_pct\": 100,"));
	ck_assert_ptr_nonnull(strstr(json, "\"server_user_pct\": 25,"));
	ck_assert_ptr_nonnull(strstr(json, "\"server_wait_pct\": 5,"));
	ck_assert_ptr_nonnull(strstr(json, "\"server_cpu_s_per_1k\": 2,"));
	ck_assert_ptr_nonnull(strstr(json, "\"server_cpu_us_per_msg\": 2000,"));
	ck_assert_ptr_nonnull(strstr(json, "\"server_ctx_switches\": 2000,"));
	ck_assert_ptr_nonnull(strstr(json, "\"server_ctx_per_msg\": 2,"));
	ck_assert_ptr_nonnull(strstr(json, "\"server_procs\": 3,"));
	ck_assert_ptr_nonnull(strstr(json, "\"server_threads\": 4,"));
	/* Counts are exact integers, not %g. */
	ck_assert_ptr_nonnull(strstr(json, "\"server_rss_kb\": 12345678,"));
	ck_assert_ptr_nonnull(strstr(json, "\"machine_cpu_pct\": 150,"));
	ck_assert_ptr_nonnull(strstr(json, "\"others_cpu_pct\": 40,"));
	free(json);
	free(res);
}
END_TEST

START_TEST(test_report_verdict)
{
	struct lg_config cfg;
	struct lg_result *res = malloc(sizeof(*res));
	struct lg_report rep;

	ck_assert_ptr_nonnull(res);
	lg_test_setup(&cfg, res);
	lg_report_compute(&cfg, res, &rep);
	ck_assert(rep.ok);
	ck_assert_double_eq_tol(rep.lat_us[0], 15.0, 0.15);
	ck_assert_double_eq_tol(rep.lat_us[4], 19.99, 0.001);
	res->integrity.lost = 1;
	lg_report_compute(&cfg, res, &rep);
	ck_assert(!rep.ok);
	lg_test_setup(&cfg, res);
	res->closed_by_server = 1;
	lg_report_compute(&cfg, res, &rep);
	ck_assert(!rep.ok);
	lg_test_setup(&cfg, res);
	res->connections_ok = 1;
	res->connections_failed = 1;
	lg_report_compute(&cfg, res, &rep);
	ck_assert(!rep.ok);
	/* A busy loadgen is flagged. */
	lg_test_setup(&cfg, res);
	res->self_user = 1.0;
	res->self_sys = 0.9;
	lg_report_compute(&cfg, res, &rep);
	ck_assert(rep.loadgen_limited);
	ck_assert(rep.ok);
	free(res);
}
END_TEST

Suite *
lg_report_suite(void)
{
	Suite *s = suite_create("lg_report");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_report_json_keys);
	tcase_add_test(tc, test_report_verdict);
	suite_add_tcase(s, tc);
	return s;
}
