/* lg_report.c - the loadgen's verdict, human summary and JSON object. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lg_report.h"

static const double lg_pcts[5] = { 50.0, 90.0, 99.0, 99.9, 100.0 };

const char *
lg_mode_name(enum lg_mode mode)
{
	switch (mode) {
	case LG_MODE_ECHO:
		return "echo";
	case LG_MODE_CHAT:
		return "chat";
	case LG_MODE_IDLE:
		return "idle";
	}
	return "?";
}

void
lg_report_compute(const struct lg_config *cfg, const struct lg_result *res,
    struct lg_report *rep)
{
	const struct lg_integrity *in = &res->integrity;
	double d = res->duration > 0 ? res->duration : 1e-9;
	int i;

	memset(rep, 0, sizeof(*rep));
	rep->msgs_per_s = (double)res->received / d;
	rep->mb_per_s = (double)res->bytes / d / 1e6;
	for (i = 0; i < 5; i++)
		rep->lat_us[i] = (double)lg_hist_percentile(&res->latency,
		    lg_pcts[i]) / 1e3;
	rep->server_cpu_s_per_1k = rep->server_cpu_us_per_msg =
	    rep->server_ctx_per_msg = -1.0;
	if (res->server_cpu_ok) {
		double cpu_s = (double)res->server.cpu_ns / 1e9;

		rep->server_cpu_pct = 100.0 * cpu_s / d;
		rep->server_user_pct = 100.0 * res->server.user / d;
		rep->server_sys_pct = 100.0 * res->server.sys / d;
		rep->server_wait_pct = 100.0 *
		    ((double)res->server.wait_ns / 1e9) / d;
		if (res->received > 0) {
			rep->server_cpu_s_per_1k = cpu_s * 1000.0 /
			    (double)res->received;
			rep->server_cpu_us_per_msg = cpu_s * 1e6 /
			    (double)res->received;
			rep->server_ctx_per_msg = (double)(res->server.ctx_vol +
			    res->server.ctx_invol) / (double)res->received;
		}
	}
	rep->loadgen_cpu_pct = 100.0 * (res->self_user + res->self_sys) / d;
	if (res->machine_ok) {
		rep->machine_cpu_pct = 100.0 * res->machine_busy / d;
		rep->others_cpu_pct = rep->machine_cpu_pct -
		    rep->loadgen_cpu_pct - (res->server_cpu_ok ?
		    rep->server_cpu_pct : 0.0);
		if (rep->others_cpu_pct < 0)
			rep->others_cpu_pct = 0;
	}
	rep->loadgen_limited = rep->loadgen_cpu_pct > LG_LIMITED_PCT;
	rep->ok = res->connections_failed == 0 && res->closed_by_server == 0 &&
	    !res->setup_failed && res->connections_ok == cfg->conns &&
	    in->lost == 0 && in->duplicated == 0 && in->corrupted == 0 &&
	    in->reordered == 0 && res->warmup_lost == 0;
}

void
lg_report_print(FILE *fp, const struct lg_config *cfg,
    const struct lg_result *res, const struct lg_report *rep)
{
	const struct lg_integrity *in = &res->integrity;
	const char *unit = cfg->mode == LG_MODE_CHAT ? "deliveries" : "msgs";
	char addr[NET_ADDR_LEN];
	uint32_t i;

	fprintf(fp, "loadgen: mode %s against ", lg_mode_name(cfg->mode));
	for (i = 0; i < cfg->naddrs; i++) {
		lg_addr_name(&cfg->addrs[i], addr, sizeof(addr));
		fprintf(fp, "%s%s", i > 0 ? ", " : "", addr);
	}
	fprintf(fp, ", %u connections", cfg->conns);
	if (cfg->mode == LG_MODE_ECHO && cfg->rate == 0)
		fprintf(fp, ", closed loop, pipeline %u", cfg->pipeline);
	else if (cfg->mode != LG_MODE_IDLE)
		fprintf(fp, ", open loop at %g msgs/s each", cfg->rate);
	if (cfg->mode != LG_MODE_IDLE)
		fprintf(fp, ", %zu B", cfg->size);
	fprintf(fp, "\n");
	fprintf(fp, "  connections  %u ok, %u failed, %u closed by server\n",
	    res->connections_ok, res->connections_failed,
	    res->closed_by_server);
	fprintf(fp, "  window       %.3f s measured (warm-up %.3f s excluded)%s\n",
	    res->duration, cfg->warmup,
	    res->interrupted ? ", stopped early by a signal" : "");
	if (cfg->mode != LG_MODE_IDLE) {
		fprintf(fp, "  messages     %llu sent, %llu %s received\n",
		    (unsigned long long)res->sent,
		    (unsigned long long)res->received, unit);
		fprintf(fp, "  throughput   %.1f %s/s, %.3f MB/s\n",
		    rep->msgs_per_s, unit, rep->mb_per_s);
		if (res->latency.count > 0)
			fprintf(fp, "  latency us   p50 %.1f  p90 %.1f  p99 %.1f"
			    "  p99.9 %.1f  max %.1f  (%s)\n", rep->lat_us[0],
			    rep->lat_us[1], rep->lat_us[2], rep->lat_us[3],
			    rep->lat_us[4], cfg->rate > 0 ?
			    "from scheduled send time" : "from actual send time");
		else
			fprintf(fp, "  latency us   no samples\n");
		fprintf(fp, "  integrity    lost %llu, duplicated %llu, "
		    "corrupted %llu, reordered %llu\n",
		    (unsigned long long)in->lost,
		    (unsigned long long)in->duplicated,
		    (unsigned long long)in->corrupted,
		    (unsigned long long)in->reordered);
		if (res->warmup_lost > 0)
			fprintf(fp, "  warning: %llu more sent during the warm-up "
			    "were lost too\n",
			    (unsigned long long)res->warmup_lost);
	}
	if (res->server_cpu_ok) {
		fprintf(fp, "  server cpu   %.2f%% of a core (ticks: user %.1f%%, "
		    "sys %.1f%%), pid", rep->server_cpu_pct,
		    rep->server_user_pct, rep->server_sys_pct);
		for (i = 0; i < cfg->npids; i++)
			fprintf(fp, " %ld", (long)cfg->pids[i]);
		fprintf(fp, " and descendants, waited for a CPU %.2f%%",
		    rep->server_wait_pct);
		if (rep->server_cpu_us_per_msg >= 0)
			fprintf(fp, ", %.3f us per %s",
			    rep->server_cpu_us_per_msg,
			    cfg->mode == LG_MODE_CHAT ? "delivery" : "msg");
		fprintf(fp, "\n");
		fprintf(fp, "  server       %u processes, %u threads, "
		    "%llu context switches (%llu voluntary)",
		    res->server.procs, res->server.threads,
		    (unsigned long long)(res->server.ctx_vol +
		    res->server.ctx_invol),
		    (unsigned long long)res->server.ctx_vol);
		if (res->server_mem_ok)
			fprintf(fp, ", RSS %llu KiB, PSS %llu KiB",
			    (unsigned long long)res->server_rss_kb,
			    (unsigned long long)res->server_pss_kb);
		fprintf(fp, "\n");
	} else if (cfg->npids > 0) {
		fprintf(fp, "  server cpu   unavailable (pid %ld gone?)\n",
		    (long)cfg->pids[0]);
	} else {
		fprintf(fp, "  server cpu   not measured (no --pid)\n");
	}
	fprintf(fp, "  loadgen cpu  %.1f%% of a core (user %.1f%%, sys %.1f%%)\n",
	    rep->loadgen_cpu_pct, 100.0 * res->self_user /
	    (res->duration > 0 ? res->duration : 1e-9),
	    100.0 * res->self_sys / (res->duration > 0 ? res->duration : 1e-9));
	if (res->machine_ok)
		fprintf(fp, "  machine      %.1f%% of a core busy, %.1f%% of it "
		    "neither the server nor the loadgen\n",
		    rep->machine_cpu_pct, rep->others_cpu_pct);
	if (rep->loadgen_limited)
		fprintf(fp, "  warning: the loadgen used more than %.0f%% of a "
		    "core; results may be limited by the load generator\n",
		    LG_LIMITED_PCT);
	if (res->setup_failed)
		fprintf(fp, "  error: chat setup failed (nicks not confirmed)\n");
	if (res->first_error[0] != '\0')
		fprintf(fp, "  first error  %s\n", res->first_error);
	fprintf(fp, "  result       %s\n", rep->ok ? "OK" : "FAIL");
}

/* JSON has no inf or nan; any non-finite figure becomes null. */
static void
lg_json_num(FILE *fp, const char *key, double v, bool valid)
{
	if (valid && isfinite(v))
		fprintf(fp, ", \"%s\": %.6g", key, v);
	else
		fprintf(fp, ", \"%s\": null", key);
}

static void
lg_json_u64(FILE *fp, const char *key, unsigned long long v)
{
	fprintf(fp, ", \"%s\": %llu", key, v);
}

/* A count, or null when it was not measured. */
static void
lg_json_count(FILE *fp, const char *key, unsigned long long v, bool valid)
{
	if (valid)
		lg_json_u64(fp, key, v);
	else
		fprintf(fp, ", \"%s\": null", key);
}

int
lg_report_json(FILE *fp, const struct lg_config *cfg,
    const struct lg_result *res, const struct lg_report *rep)
{
	const struct lg_integrity *in = &res->integrity;
	bool cpu = res->server_cpu_ok;

	fprintf(fp, "{\"mode\": \"%s\"", lg_mode_name(cfg->mode));
	lg_json_u64(fp, "addresses", cfg->naddrs);
	lg_json_u64(fp, "connections", cfg->conns);
	lg_json_u64(fp, "connections_ok", res->connections_ok);
	lg_json_u64(fp, "connections_failed", res->connections_failed);
	lg_json_u64(fp, "closed_by_server", res->closed_by_server);
	lg_json_num(fp, "duration_s", res->duration, true);
	lg_json_num(fp, "warmup_s", cfg->warmup, true);
	lg_json_num(fp, "rate", cfg->rate, true);
	lg_json_u64(fp, "pipeline", cfg->pipeline);
	lg_json_u64(fp, "size", cfg->size);
	lg_json_u64(fp, "sent", res->sent);
	lg_json_u64(fp, "received", res->received);
	lg_json_num(fp, "msgs_per_s", rep->msgs_per_s, true);
	lg_json_num(fp, "mb_per_s", rep->mb_per_s, true);
	lg_json_num(fp, "lat_p50_us", rep->lat_us[0], true);
	lg_json_num(fp, "lat_p90_us", rep->lat_us[1], true);
	lg_json_num(fp, "lat_p99_us", rep->lat_us[2], true);
	lg_json_num(fp, "lat_p999_us", rep->lat_us[3], true);
	lg_json_num(fp, "lat_max_us", rep->lat_us[4], true);
	lg_json_u64(fp, "lost", in->lost);
	lg_json_u64(fp, "duplicated", in->duplicated);
	lg_json_u64(fp, "corrupted", in->corrupted);
	lg_json_u64(fp, "reordered", in->reordered);
	lg_json_num(fp, "server_cpu_pct", rep->server_cpu_pct, cpu);
	lg_json_num(fp, "server_user_pct", rep->server_user_pct, cpu);
	lg_json_num(fp, "server_sys_pct", rep->server_sys_pct, cpu);
	lg_json_num(fp, "server_cpu_s_per_1k", rep->server_cpu_s_per_1k,
	    cpu && rep->server_cpu_s_per_1k >= 0);
	lg_json_num(fp, "server_wait_pct", rep->server_wait_pct, cpu);
	lg_json_num(fp, "server_cpu_us_per_msg", rep->server_cpu_us_per_msg,
	    cpu && rep->server_cpu_us_per_msg >= 0);
	lg_json_count(fp, "server_ctx_switches", res->server.ctx_vol +
	    res->server.ctx_invol, cpu);
	lg_json_count(fp, "server_ctx_voluntary", res->server.ctx_vol,
	    cpu);
	lg_json_num(fp, "server_ctx_per_msg", rep->server_ctx_per_msg,
	    cpu && rep->server_ctx_per_msg >= 0);
	lg_json_count(fp, "server_procs", res->server.procs, cpu);
	lg_json_count(fp, "server_threads", res->server.threads, cpu);
	lg_json_count(fp, "server_rss_kb", res->server_rss_kb,
	    res->server_mem_ok);
	lg_json_count(fp, "server_pss_kb", res->server_pss_kb,
	    res->server_mem_ok);
	lg_json_num(fp, "loadgen_cpu_pct", rep->loadgen_cpu_pct, true);
	lg_json_num(fp, "machine_cpu_pct", rep->machine_cpu_pct,
	    res->machine_ok);
	lg_json_num(fp, "others_cpu_pct", rep->others_cpu_pct,
	    res->machine_ok);
	fprintf(fp, ", \"loadgen_limited\": %s",
	    rep->loadgen_limited ? "true" : "false");
	fprintf(fp, ", \"ok\": %s}\n", rep->ok ? "true" : "false");
	return ferror(fp) ? -1 : 0;
}
