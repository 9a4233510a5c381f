# report.awk - bench/compare's report: reads floor.txt and runs.csv, prints
# the Markdown table and the targets, and writes results.csv, results.json
# and the gnuplot data files into `out`.
#
# Plain POSIX awk (Debian's default is mawk): no asort, no gensub.
# Called as: awk -f report.awk -v out=DIR -v date=... -v cpu_model=...
#   -v ncpu=N -v pin=... -v load0=... -v load1=... -v reps=N -v creps=N -v dur=S -v warm=S -v scenarios="a b"
#   -v drivers="x y" floor.txt runs.csv

BEGIN {
	FS = ","
	nscen = split(scenarios, SCEN, " ")
	ndrv = split(drivers, DRV, " ")
	PEERS = "socat ncat"
	npeer = split(PEERS, PEER, " ")
	ncurve = 0
}

# --- input ----------------------------------------------------------------

FILENAME ~ /floor\.txt$/ {
	p = index($0, "=")
	if (p) FLOOR[substr($0, 1, p - 1)] = substr($0, p + 1)
	next
}

FNR == 1 { ncol = split($0, COL, ","); next }

{
	nrun++
	RUN[nrun] = $0
	kind = $1; scen = $2; drv = $3; bo = $4
	key = (kind == "curve") ? scen SUBSEP "backoff" SUBSEP bo : scen SUBSEP drv SUBSEP ""
	if (!(key in NRUNS)) {
		NCELL++
		CELL[NCELL] = key
		CKIND[key] = kind
	}
	NRUNS[key]++
	if ($30 != "ok") FAILED[key]++
	add(key, "cpu", $18); add(key, "msgs", $9); add(key, "p50", $10)
	add(key, "p99", $11); add(key, "wb", $24); add(key, "per", $21)
	add(key, "wcpu", $26); add(key, "wsw", $27); add(key, "lgcpu", $22)
	add(key, "wwb", $31)
	SUM[key, "lost"] += $13; SUM[key, "dup"] += $14
	SUM[key, "corrupt"] += $15; SUM[key, "reorder"] += $16
	if ($23 == "true") LIMITED[key] = 1
	if (kind == "curve" && !((bo) in SEENBO)) { SEENBO[bo] = 1; CURVE[++ncurve] = bo }
	# The default (1000 us) point may come from the main matrix instead.
	if (kind == "driver" && drv == "backoff" && (scen == "idle-1000" || scen == "echo-sparse"))
		HAVEDEF = 1
}

function add(key, m, v) {
	if (v == "") return
	N[key, m]++
	V[key, m, N[key, m]] = v + 0
}

# --- statistics -----------------------------------------------------------

# Sort the samples of (key, m) into S[1..n]; return n.
function sorted(key, m,    n, i, j, x) {
	n = N[key, m] + 0
	for (i = 1; i <= n; i++) {
		x = V[key, m, i]
		for (j = i - 1; j >= 1 && S[j] > x; j--) S[j + 1] = S[j]
		S[j + 1] = x
	}
	return n
}
function median(key, m,    n) {
	n = sorted(key, m)
	if (n == 0) return ""
	return n % 2 ? S[(n + 1) / 2] : (S[n / 2] + S[n / 2 + 1]) / 2
}
function minof(key, m) { return sorted(key, m) ? S[1] : "" }
function maxof(key, m,    n) { n = sorted(key, m); return n ? S[n] : "" }
function cell(scen, drv) { return scen SUBSEP drv SUBSEP "" }
function has(key) { return (key in NRUNS) }
function med(scen, drv, m) { return has(cell(scen, drv)) ? median(cell(scen, drv), m) : "" }

# --- formatting -----------------------------------------------------------

function f1(x) { return x == "" ? "-" : sprintf("%.1f", x) }
function f2(x) { return x == "" ? "-" : sprintf("%.2f", x) }
function f0(x) { return x == "" ? "-" : sprintf("%.0f", x) }
function lat(x) { return x == "" ? "-" : (x < 100 ? sprintf("%.1f", x) : sprintf("%.0f", x)) }
function ratio(a, b) { return (a == "" || b == "" || b <= 0) ? "" : a / b }
function jnum(x) { return x == "" ? "null" : x }
function jstr(x) { gsub(/\\/, "\\\\", x); gsub(/"/, "\\\"", x); return "\"" x "\"" }

# A target row: text, what was measured, MET / NOT MET / n/a.
function target(name, measured, ok) {
	NT++
	TNAME[NT] = name
	TMEAS[NT] = measured
	TVERD[NT] = ok == "" ? "n/a (not run)" : (ok ? "MET" : "NOT MET")
}

# --- output ---------------------------------------------------------------

END {
	fl = FLOOR["floor_cpu_us"]
	if (fl == "") fl = FLOOR["floor_us"]

	printf "## pollserv bench, %s\n\n", date
	printf "Machine: %s, %s CPUs; %s.  \n", cpu_model, ncpu, pin
	printf "Load average before / after the run: %s / %s.  \n", load0, load1
	printf "%s run(s) per cell, %s s measured after %s s warm-up; medians shown.\n\n", reps, dur, warm
	print "| scenario | driver | server CPU % | vs select | msgs/s | p50 µs | p99 µs | lost | wouldblock/s |"
	print "|---|---|--:|--:|--:|--:|--:|--:|--:|"
	for (i = 1; i <= nscen; i++) {
		s = SCEN[i]
		sel = med(s, "select", "cpu")
		for (j = 1; j <= ndrv + npeer; j++) {
			d = j <= ndrv ? DRV[j] : PEER[j - ndrv]
			k = cell(s, d)
			if (!has(k)) continue
			c = median(k, "cpu")
			# Below 1 % select's figure is a tick or two of /proc's
			# 10 ms: a ratio against it would be noise.
			r = sel != "" && sel >= 1 ? ratio(c, sel) : ""
			m = median(k, "msgs")
			mark = ""
			if (k in LIMITED) { mark = " ‡"; anylimited = 1 }
			if (FAILED[k]) { mark = mark " ✗"; anyfailed = 1 }
			lost = SUM[k, "lost"]
			if (SUM[k, "dup"] + SUM[k, "corrupt"] + SUM[k, "reorder"] > 0) {
				lost = lost " (+" SUM[k, "dup"] + SUM[k, "corrupt"] + SUM[k, "reorder"] " bad)"
			}
			printf "| %s | %s | %s | %s | %s%s | %s | %s | %s | %s |\n", s, d, f1(c),
			    r == "" ? "-" : sprintf("%.2fx", r), s ~ /^idle/ ? "-" : f0(m), mark,
			    s ~ /^idle/ ? "-" : lat(median(k, "p50")),
			    s ~ /^idle/ ? "-" : lat(median(k, "p99")), lost,
			    d == "socat" || d == "ncat" ? "-" : f0(median(k, "wb"))
		}
	}
	print ""
	print "CPU % is one core, user+sys, over loadgen's measured window.  msgs/s is"
	print "echoes/s in echo scenarios and deliveries/s (the fan-out rate) in chat ones."
	print "wouldblock/s is from the server's final stats line (wouldblock / uptime)."
	print "vs select is \"-\" where select used under 1 %, below /proc's 10 ms resolution."
	if (anylimited) print "‡ loadgen used more than 90% of its core: the rate may be the loadgen's limit."
	if (anyfailed) print "✗ at least one run of this cell failed a correctness check (see runs.csv)."
	print ""

	if (ncurve > 0 && HAVEDEF && !("1000" in SEENBO)) { SEENBO["1000"] = 1; CURVE[++ncurve] = "1000" }
	if (ncurve > 0) {
		print "### Backoff: idle CPU against latency"
		print ""
		printf "Median of %s run(s) per point; the 1000 µs point (the default) is the main table's backoff rows when they ran.\n", creps
		print ""
		print "| --backoff-max-us | idle-1000 CPU % | echo-sparse p50 µs | echo-sparse p99 µs | echo-sparse CPU % |"
		print "|--:|--:|--:|--:|--:|"
		# Sort the values numerically for the table and the curve.
		for (i = 1; i <= ncurve; i++)
			for (j = i; j > 1 && CURVE[j - 1] + 0 > CURVE[j] + 0; j--) {
				t = CURVE[j]; CURVE[j] = CURVE[j - 1]; CURVE[j - 1] = t
			}
		printf "# max_us idle_cpu_pct p50_us p99_us sparse_cpu_pct\n" >(out "/curve.dat")
		for (i = 1; i <= ncurve; i++) {
			b = CURVE[i]
			ki = "idle-1000" SUBSEP "backoff" SUBSEP b
			ke = "echo-sparse" SUBSEP "backoff" SUBSEP b
			if (b == 1000 && !has(ki)) ki = cell("idle-1000", "backoff")
			if (b == 1000 && !has(ke)) ke = cell("echo-sparse", "backoff")
			ic = has(ki) ? median(ki, "cpu") : ""
			p50 = has(ke) ? median(ke, "p50") : ""
			p99 = has(ke) ? median(ke, "p99") : ""
			ec = has(ke) ? median(ke, "cpu") : ""
			printf "| %s | %s | %s | %s | %s |\n", b, f1(ic), lat(p50), lat(p99), f1(ec)
			printf "%s %s %s %s %s\n", b, ic == "" ? "-" : ic, p50 == "" ? "-" : p50,
			    p99 == "" ? "-" : p99, ec == "" ? "-" : ec >(out "/curve.dat")
		}
		close(out "/curve.dat")
		print ""
	}

	# --- targets ---
	if (fl != "") {
		for (j = 1; j <= ndrv + 1; j++) {
			d = j <= ndrv ? DRV[j] : "socat"
			PER[d] = med("echo-even", d, "per")
		}
		limit["busy"] = 1.4; limit["select"] = limit["poll"] = limit["epoll"] = 1.6
		split("busy select poll epoll", tl, " ")
		for (i = 1; i <= 4; i++) {
			d = tl[i]
			x = ratio(PER[d], fl)
			target(sprintf("echo-even: %s CPU per message <= %.1fx floor", d, limit[d]),
			    x == "" ? "-" : sprintf("%.2fx (%.2f µs/msg)", x, PER[d]),
			    x == "" ? "" : x <= limit[d])
		}
		worst = ""; wd = ""
		for (j = 1; j <= ndrv; j++)
			if (PER[DRV[j]] != "" && (worst == "" || PER[DRV[j]] > worst)) {
				worst = PER[DRV[j]]; wd = DRV[j]
			}
		meas = "-"; ok = ""
		if (worst != "" && PER["socat"] != "") {
			meas = sprintf("worst %s %.2fx floor vs socat %.2fx", wd, worst / fl, PER["socat"] / fl)
			ok = worst < PER["socat"]
		}
		target("echo-even: every driver's CPU per message below socat's", meas, ok)
	}
	e = med("echo-sparse", "epoll", "cpu"); s = med("echo-sparse", "select", "cpu")
	x = ratio(e, s)
	target("echo-sparse: epoll CPU <= 60% of select's",
	    x == "" ? "-" : sprintf("%.0f%% (%.1f%% vs %.1f%%)", x * 100, e, s), x == "" ? "" : x <= 0.6)
	# Idle CPU is judged on the server's own getrusage between the two
	# SIGUSR1 stats lines (1 ms resolution, 0.09 % over the window)
	# rather than loadgen's /proc figure, which moves in 10 ms ticks
	# (0.7 %) and so reads 0.0 or 0.7 by luck.
	split("select poll epoll", tl, " ")
	for (i = 1; i <= 3; i++) {
		a = med("idle-100", tl[i], "wcpu"); b = med("idle-1000", tl[i], "wcpu")
		if (a == "") a = med("idle-100", tl[i], "cpu")
		if (b == "") b = med("idle-1000", tl[i], "cpu")
		meas = "-"
		if (a != "" || b != "")
			meas = sprintf("%s%% / %s%% (getrusage; /proc ticks: %s%% / %s%%)",
			    f2(a), f2(b), f1(med("idle-100", tl[i], "cpu")), f1(med("idle-1000", tl[i], "cpu")))
		target(sprintf("idle: %s 0.0%% CPU (100 and 1000 clients)", tl[i]), meas,
		    a == "" && b == "" ? "" : (a == "" || a < 0.05) && (b == "" || b < 0.05))
	}
	b = med("idle-1000", "backoff", "cpu")
	target("idle-1000: backoff <= 2% CPU", b == "" ? "-" : sprintf("%.1f%%", b),
	    b == "" ? "" : b <= 2)
	a = med("echo-sparse", "backoff", "p50"); b = med("echo-sparse", "busy", "p50")
	x = ratio(a, b)
	target("echo-sparse: backoff p50 within 2x of busy's",
	    x == "" ? "-" : sprintf("%.2fx (%s vs %s µs)", x, lat(a), lat(b)), x == "" ? "" : x <= 2)

	# The busy sweep: CPU per sweep per idle client, from the two SIGUSR1
	# stats lines inside the window (server getrusage, µs resolution).
	sweep = ""; sweepat = ""
	split("idle-1000 idle-100", tl, " ")
	for (i = 1; i <= 2 && sweep == ""; i++) {
		k = cell(tl[i], "busy")
		if (!has(k)) continue
		c = median(k, "wcpu"); w = median(k, "wsw")
		if (c == "" || w == "") { c = median(k, "cpu") }
		if (w == "" || w <= 0 || c == "") continue
		sweep = c / 100 * 1e6 / (w * (tl[i] == "idle-1000" ? 1000 : 100))
		sweepat = tl[i]
		SWEEPS = w
		# wouldblock per sweep = the idle clients + the listener checks
		# that said EAGAIN: how often a sweep looks at the listener.
		x = median(k, "wwb")
		if (x != "") LISTEN = x - (tl[i] == "idle-1000" ? 1000 : 100)
	}
	rv = FLOOR["recv_eagain_us"]; av = FLOOR["accept_eagain_us"]
	x = ratio(sweep, rv)
	meas = "-"
	if (x != "")
		meas = sprintf("%.3f µs/client (%s, %.0f sweeps/s) vs recv EAGAIN %.3f µs = %.2fx; accept EAGAIN %.2f µs", sweep, sweepat, SWEEPS, rv, x, av)
	target("busy sweep: cost per idle client near one failed recv (<= 2x)",
	    meas, x == "" ? "" : x <= 2)
	if (LISTEN != "") {
		NT++
		TNAME[NT] = "busy sweep: how often it looks at the listener (info)"
		TMEAS[NT] = LISTEN > 0.0005 ? sprintf("%.3f failed accept() per sweep = every %.0f sweeps; %.3f µs per sweep", LISTEN, 1 / LISTEN, LISTEN * av) : "never while idle"
		TVERD[NT] = "-"
	}
	a = med("chat-heavy", "ncat", "msgs"); b = med("chat-heavy", "busy", "msgs")
	worst = ""; wd = ""
	for (j = 1; j <= ndrv; j++) {
		m = med("chat-heavy", DRV[j], "msgs")
		if (m != "" && (worst == "" || m < worst)) { worst = m; wd = DRV[j] }
	}
	target("chat-heavy: every driver's deliveries/s >= ncat's",
	    worst == "" || a == "" ? "-" : sprintf("lowest %s %.0f/s vs ncat %.0f/s", wd, worst, a),
	    worst == "" || a == "" || a <= 0 ? "" : worst >= a * 0.999)
	a = med("chat-heavy", "ncat", "per")
	worst = ""; wd = ""
	for (j = 1; j <= ndrv; j++) {
		m = med("chat-heavy", DRV[j], "per")
		if (m != "" && (worst == "" || m > worst)) { worst = m; wd = DRV[j] }
	}
	x = ratio(worst, a)
	target("chat-heavy: every driver's CPU per delivery <= 0.8x ncat's",
	    x == "" ? "-" : sprintf("worst %s %.2fx (%.2f vs %.2f µs)", wd, x, worst, a),
	    x == "" ? "" : x <= 0.8)

	print "### Targets"
	print ""
	if (fl != "")
		printf "Floor (one recv + one send per message, one thread, loopback): %.2f µs CPU; failed recv() %.3f µs; failed accept() %.2f µs.\n\n", fl, rv, av
	print "| target | measured | verdict |"
	print "|---|---|---|"
	for (i = 1; i <= NT; i++)
		printf "| %s | %s | %s |\n", TNAME[i], TMEAS[i], TVERD[i]
	print ""

	# --- results.csv: one row per cell ---
	rc = out "/results.csv"
	print "scenario,driver,kind,backoff_max_us,runs,failed_runs,cpu_pct_median,cpu_pct_min,cpu_pct_max,cpu_vs_select,msgs_per_s_median,msgs_per_s_min,msgs_per_s_max,p50_us_median,p50_us_min,p50_us_max,p99_us_median,p99_us_min,p99_us_max,lost,duplicated,corrupted,reordered,wouldblock_per_s_median,wouldblock_per_s_min,wouldblock_per_s_max,cpu_us_per_msg_median,cpu_us_per_msg_min,cpu_us_per_msg_max,cpu_per_msg_vs_floor,window_sweeps_per_s,loadgen_cpu_pct_median,loadgen_limited" >rc
	for (i = 1; i <= NCELL; i++) {
		k = CELL[i]
		split(k, kk, SUBSEP)
		sel = med(kk[1], "select", "cpu")
		c = median(k, "cpu")
		line = kk[1] "," kk[2] "," CKIND[k] "," kk[3] "," NRUNS[k] "," (FAILED[k] + 0)
		line = line "," c "," minof(k, "cpu") "," maxof(k, "cpu") "," (CKIND[k] == "curve" ? "" : ratio(c, sel))
		split("msgs p50 p99", mm, " ")
		for (j = 1; j <= 3; j++)
			line = line "," median(k, mm[j]) "," minof(k, mm[j]) "," maxof(k, mm[j])
		line = line "," (SUM[k, "lost"] + 0) "," (SUM[k, "dup"] + 0) "," (SUM[k, "corrupt"] + 0) "," (SUM[k, "reorder"] + 0)
		line = line "," median(k, "wb") "," minof(k, "wb") "," maxof(k, "wb")
		p = median(k, "per")
		line = line "," p "," minof(k, "per") "," maxof(k, "per") "," (fl == "" ? "" : ratio(p, fl))
		line = line "," median(k, "wsw") "," median(k, "lgcpu") "," ((k in LIMITED) ? "true" : "false")
		print line >rc
		RESLINE[i] = line
	}
	close(rc)

	# --- gnuplot data: one row per scenario, one column per driver ---
	hdr = "scenario"
	for (j = 1; j <= ndrv + npeer; j++) {
		d = j <= ndrv ? DRV[j] : PEER[j - ndrv]
		used = 0
		for (i = 1; i <= nscen; i++) if (has(cell(SCEN[i], d))) used = 1
		if (used) { hdr = hdr " " d; COLS[++ncols] = d }
	}
	print hdr >(out "/cpu.dat")
	print hdr >(out "/p99.dat")
	for (i = 1; i <= nscen; i++) {
		s = SCEN[i]
		lc = s; lp = s
		for (j = 1; j <= ncols; j++) {
			c = med(s, COLS[j], "cpu"); p = med(s, COLS[j], "p99")
			lc = lc " " (c == "" ? "-" : c)
			lp = lp " " (p == "" ? "-" : p)
		}
		print lc >(out "/cpu.dat")
		if (s !~ /^idle/) print lp >(out "/p99.dat")
	}
	close(out "/cpu.dat"); close(out "/p99.dat")

	# --- results.json: everything ---
	js = out "/results.json"
	printf "{\n  \"date\": %s,\n  \"machine\": {\"cpu\": %s, \"cpus\": %s, \"pinning\": %s, \"loadavg_before\": %s, \"loadavg_after\": %s},\n",
	    jstr(date), jstr(cpu_model), jnum(ncpu), jstr(pin), jstr(load0), jstr(load1) >js
	printf "  \"settings\": {\"reps\": %s, \"duration_s\": %s, \"warmup_s\": %s},\n",
	    jnum(reps), jnum(dur), jnum(warm) >js
	printf "  \"floor\": {" >js
	split("floor_cpu_us floor_us loop_us loop_cpu_us recv_eagain_us accept_eagain_us messages size", fk, " ")
	for (i = 1; i <= 8; i++)
		printf "%s\"%s\": %s", (i > 1 ? ", " : ""), fk[i], jnum(FLOOR[fk[i]]) >js
	printf "},\n  \"targets\": [\n" >js
	for (i = 1; i <= NT; i++)
		printf "    {\"target\": %s, \"measured\": %s, \"verdict\": %s}%s\n", jstr(TNAME[i]),
		    jstr(TMEAS[i]), jstr(TVERD[i]), (i < NT ? "," : "") >js
	printf "  ],\n  \"cells\": [\n" >js
	nh = split("scenario,driver,kind,backoff_max_us,runs,failed_runs,cpu_pct_median,cpu_pct_min,cpu_pct_max,cpu_vs_select,msgs_per_s_median,msgs_per_s_min,msgs_per_s_max,p50_us_median,p50_us_min,p50_us_max,p99_us_median,p99_us_min,p99_us_max,lost,duplicated,corrupted,reordered,wouldblock_per_s_median,wouldblock_per_s_min,wouldblock_per_s_max,cpu_us_per_msg_median,cpu_us_per_msg_min,cpu_us_per_msg_max,cpu_per_msg_vs_floor,window_sweeps_per_s,loadgen_cpu_pct_median,loadgen_limited", H, ",")
	for (i = 1; i <= NCELL; i++) {
		n = split(RESLINE[i], F, ",")
		printf "    {" >js
		for (j = 1; j <= nh; j++)
			printf "%s\"%s\": %s", (j > 1 ? ", " : ""), H[j],
			    j <= 3 ? jstr(F[j]) : (H[j] == "loadgen_limited" ? F[j] : jnum(F[j])) >js
		printf "}%s\n", (i < NCELL ? "," : "") >js
	}
	printf "  ],\n  \"runs\": [\n" >js
	for (i = 1; i <= nrun; i++) {
		n = split(RUN[i], F, ",")
		printf "    {" >js
		for (j = 1; j <= ncol; j++) {
			v = F[j]
			if (j <= 3 || COL[j] == "status") v = jstr(v)
			else if (COL[j] == "loadgen_limited") v = (v == "true" || v == "false") ? v : "null"
			else v = jnum(v)
			printf "%s\"%s\": %s", (j > 1 ? ", " : ""), COL[j], v >js
		}
		printf "}%s\n", (i < nrun ? "," : "") >js
	}
	printf "  ]\n}\n" >js
	close(js)
}
