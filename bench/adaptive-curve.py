#!/usr/bin/env python3
"""adaptive-curve.py - the adaptive driver against busy and epoll, and its --spin-us curve.

Measures the four targets of issue 11 and the --spin-us trade-off:

  idle-1000    1,000 idle chat clients: server CPU over 5 s
  echo-1       1 echo connection, closed loop: p50 latency
  echo-10      10 echo connections, closed loop: server CPU per message
  echo-sparse  100 echo connections at 10 msg/s each: server CPU and p50
  echo-1+idle  echo-1 next to 1,000 idle echo connections (a second
               loadgen): what a spin costs when it is O(clients)

Every run starts its own pollserv on 127.0.0.1 port 0 pinned to one CPU
(taskset -c 1) and drives it with bench/loadgen pinned to the other
(taskset -c 0).  Server CPU is read from /proc/PID/schedstat (nanoseconds
on the CPU, finer than the 10 ms ticks of /proc/PID/stat) over a window
inside loadgen's measured one.  Reps are interleaved (every driver once,
then again), so a noisy spell on the shared machine hits all of them; the
tables show medians and the ratios are of medians from the same run.
Every process it starts is stopped by its PID; every load is bounded in
count and time.  Results: a Markdown report on stdout, every run in
OUT/adaptive-runs.csv.
"""
import argparse
import csv
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER_CPU = "1"
LOADGEN_CPU = "0"

# scenario -> (server mode, loadgen args, measured seconds, warm-up seconds)
SCENARIOS = {
    "idle-1000": ("chat", ["--mode", "idle", "-c", "1000"], 5.0, 2.5),
    "echo-1": ("echo", ["--mode", "echo", "-c", "1", "--rate", "0"], 3.0, 0.5),
    "echo-10": ("echo", ["--mode", "echo", "-c", "10", "--rate", "0"], 3.0,
                0.5),
    "echo-sparse": ("echo", ["--mode", "echo", "-c", "100", "--rate", "10"],
                    5.0, 0.5),
    "echo-1+idle": ("echo", ["--mode", "echo", "-c", "1", "--rate", "0"], 3.0,
                    1.5),
}
# scenario -> a second loadgen run next to the measured one
BACKGROUND = {
    "echo-1+idle": ["--mode", "idle", "-c", "1000"],
}

DRIVERS = {
    "busy": ["--io", "busy"],
    "epoll": ["--io", "epoll"],
    "adaptive": ["--io", "adaptive"],
    "adaptive-busyspin": ["--io", "adaptive", "--spin", "busy"],
}


def cpu_ns(pid):
    with open("/proc/%d/schedstat" % pid) as f:
        return int(f.read().split()[0])


def last_stats(text):
    lines = [l for l in text.splitlines() if "stats event=" in l]
    if not lines:
        return {}
    return dict(re.findall(r"(\w+)=([0-9.]+)", lines[-1]))


def run_one(args, scen, server_args):
    smode, lg_args, dur, warm = SCENARIOS[scen]
    tmp = tempfile.mkdtemp(prefix="adaptive-curve.")
    err_path = os.path.join(tmp, "server.err")
    js = os.path.join(tmp, "lg.json")
    with open(err_path, "w") as err:
        srv = subprocess.Popen(
            ["taskset", "-c", SERVER_CPU, args.pollserv, "-l", "127.0.0.1:0",
             "-m", smode] + server_args,
            stdout=subprocess.PIPE, stderr=err, text=True)
    row = {"scenario": scen, "server_args": " ".join(server_args)}
    try:
        line = srv.stdout.readline()
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not m:
            raise RuntimeError("server did not start: %r" % line)
        port = m.group(1)
        bg = None
        if scen in BACKGROUND:
            bg = subprocess.Popen(
                ["taskset", "-c", LOADGEN_CPU, args.loadgen, "-q", "--addr",
                 "127.0.0.1:" + port, "-d", str(dur + warm + 3)] +
                BACKGROUND[scen],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)         # its connections are in first
        lg = subprocess.Popen(
            ["taskset", "-c", LOADGEN_CPU, args.loadgen, "-q", "--addr",
             "127.0.0.1:" + port, "-d", str(dur), "--warmup", str(warm),
             "--pid", str(srv.pid), "--json", js, "--drain", "5"] + lg_args,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Our own window: 0.3 s after loadgen's starts (connections take a
        # moment), 0.3 s before it ends.
        t_start = time.monotonic()
        time.sleep(warm + 0.3)
        c0, t0 = cpu_ns(srv.pid), time.monotonic()
        time.sleep(dur - 0.6)
        c1, t1 = cpu_ns(srv.pid), time.monotonic()
        rc = lg.wait(timeout=dur + warm + 40)
        if bg is not None:
            bg.send_signal(signal.SIGTERM)
            bg.wait(timeout=20)
        row["lg_exit"] = rc
        row["win_cpu_pct"] = 100.0 * (c1 - c0) / 1e9 / (t1 - t0)
        row["wall_s"] = time.monotonic() - t_start
        if os.path.exists(js):
            with open(js) as f:
                j = json.load(f)
            for k in ("msgs_per_s", "lat_p50_us", "lat_p99_us", "lost",
                      "server_cpu_pct", "loadgen_cpu_pct"):
                row[k] = j.get(k)
    finally:
        srv.send_signal(signal.SIGTERM)
        try:
            srv.wait(timeout=10)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait()
        with open(err_path) as f:
            st = last_stats(f.read())
        for k in ("sweeps", "spins", "sleeps", "wakeups"):
            row[k] = float(st[k]) if k in st else None
        row["server_exit"] = srv.returncode
        for p in (err_path, js):
            if os.path.exists(p):
                os.unlink(p)
        os.rmdir(tmp)
    msgs = row.get("msgs_per_s") or 0
    row["cpu_us_per_msg"] = (row["win_cpu_pct"] * 1e4 / msgs) if msgs else None
    return row


def med(rows, key):
    vals = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def fmt(x, f="%.1f"):
    return "-" if x is None else f % x


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--drivers", default=",".join(DRIVERS))
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--curve", default="0,10,20,25,30,50,100,200,1000",
                    help="--spin-us values for the curve ('' = none)")
    ap.add_argument("--curve-scenarios", default="idle-1000,echo-sparse,echo-1",
                    help="scenarios each curve point runs")
    ap.add_argument("--out", default=os.path.join(TOP, "bench", "out"))
    ap.add_argument("--pollserv", default=os.path.join(TOP, "pollserv"))
    ap.add_argument("--loadgen", default=os.path.join(TOP, "bench",
                                                      "loadgen"))
    args = ap.parse_args()
    drivers = [d for d in args.drivers.split(",") if d]
    scens = [s for s in args.scenarios.split(",") if s]
    curve = [int(v) for v in args.curve.split(",") if v]
    curve_scens = [s for s in args.curve_scenarios.split(",") if s]
    os.makedirs(args.out, exist_ok=True)
    with open("/proc/loadavg") as f:
        print("load average before: %s" % " ".join(f.read().split()[:3]))
    rows = []
    bad = 0
    for rep in range(args.reps):
        for scen in scens:
            for d in drivers:
                r = run_one(args, scen, DRIVERS[d])
                r.update(kind="driver", driver=d, rep=rep)
                rows.append(r)
                bad += r["lg_exit"] != 0 or r["server_exit"] != 0
                print("rep %d %-11s %-17s cpu %6.2f%% p50 %s msgs/s %s" % (
                    rep, scen, d, r["win_cpu_pct"], r.get("lat_p50_us"),
                    r.get("msgs_per_s")), file=sys.stderr)
        for v in curve:
            for scen in curve_scens:
                r = run_one(args, scen, ["--io", "adaptive", "--spin-us",
                                         str(v)])
                r.update(kind="curve", driver="adaptive", spin_us=v, rep=rep)
                rows.append(r)
                bad += r["lg_exit"] != 0 or r["server_exit"] != 0
                print("rep %d curve %-5d %-11s cpu %6.2f%% p50 %s" % (
                    rep, v, scen, r["win_cpu_pct"], r.get("lat_p50_us")),
                    file=sys.stderr)
    keys = sorted({k for r in rows for k in r})
    with open(os.path.join(args.out, "adaptive-runs.csv"), "w",
              newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    with open("/proc/loadavg") as f:
        print("load average after: %s" % " ".join(f.read().split()[:3]))

    def cell(scen, d):
        return [r for r in rows if r["kind"] == "driver" and
                r["scenario"] == scen and r["driver"] == d]

    print("\n| scenario | driver | server CPU % | CPU µs/msg | msgs/s | "
          "p50 µs | p99 µs | spins | sleeps | wakeups |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for scen in scens:
        for d in drivers:
            c = cell(scen, d)
            print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                scen, d, fmt(med(c, "win_cpu_pct"), "%.2f"),
                fmt(med(c, "cpu_us_per_msg"), "%.2f"),
                fmt(med(c, "msgs_per_s"), "%.0f"),
                fmt(med(c, "lat_p50_us")), fmt(med(c, "lat_p99_us")),
                *[fmt(med(c, k), "%.0f")
                  for k in ("spins", "sleeps", "wakeups")]))

    def m(scen, d, k):
        return med(cell(scen, d), k)

    def ratio(a, b):
        return None if a is None or not b else a / b

    print("\n| target (adaptive, default options) | measured | verdict |")
    print("|---|---|---|")
    if "adaptive" in drivers:
        def verdict(ok):
            return "-" if ok is None else ("MET" if ok else "NOT MET")
        if "idle-1000" in scens:
            a = m("idle-1000", "adaptive", "win_cpu_pct")
            e = m("idle-1000", "epoll", "win_cpu_pct")
            print("| idle-1000: <= 0.5%% of a core over 5 s | %s%% (epoll "
                  "%s%%) | %s |" % (fmt(a, "%.3f"), fmt(e, "%.3f"),
                                    verdict(None if a is None else a <= 0.5)))
        if "echo-1" in scens:
            a = m("echo-1", "adaptive", "lat_p50_us")
            b = m("echo-1", "busy", "lat_p50_us")
            r = ratio(a, b)
            print("| echo-1: p50 <= 1.2x busy's | %s (%s vs %s µs) | %s |" % (
                fmt(r, "%.2fx"), fmt(a), fmt(b),
                verdict(None if r is None else r <= 1.2)))
        if "echo-10" in scens:
            a = m("echo-10", "adaptive", "cpu_us_per_msg")
            b = m("echo-10", "busy", "cpu_us_per_msg")
            e = m("echo-10", "epoll", "cpu_us_per_msg")
            best = min(x for x in (b, e) if x is not None) \
                if (b or e) else None
            r = ratio(a, best)
            print("| echo-10: CPU/msg <= 1.05x the better of busy, epoll | "
                  "%s (%s vs busy %s, epoll %s µs) | %s |" % (
                      fmt(r, "%.2fx"), fmt(a, "%.2f"), fmt(b, "%.2f"),
                      fmt(e, "%.2f"),
                      verdict(None if r is None else r <= 1.05)))
        if "echo-sparse" in scens:
            a = m("echo-sparse", "adaptive", "win_cpu_pct")
            e = m("echo-sparse", "epoll", "win_cpu_pct")
            r = ratio(a, e)
            print("| echo-sparse: CPU <= 2x epoll's | %s (%s%% vs %s%%) | %s"
                  " |" % (fmt(r, "%.2fx"), fmt(a, "%.2f"), fmt(e, "%.2f"),
                          verdict(None if r is None else r <= 2)))
            a = m("echo-sparse", "adaptive", "lat_p50_us")
            e = m("echo-sparse", "epoll", "lat_p50_us")
            r = ratio(a, e)
            print("| echo-sparse: p50 no worse than epoll's | %s (%s vs %s "
                  "µs) | %s |" % (fmt(r, "%.2fx"), fmt(a), fmt(e),
                                  verdict(None if r is None else r <= 1.0)))
    if curve:
        print("\n| --spin-us | idle-1000 CPU % | echo-sparse CPU % | "
              "echo-sparse p50 µs | echo-sparse p99 µs | echo-1 p50 µs |")
        print("|--:|--:|--:|--:|--:|--:|")
        for v in curve:
            def cv(scen, k):
                return med([r for r in rows if r["kind"] == "curve" and
                            r["spin_us"] == v and r["scenario"] == scen], k)
            print("| %d | %s | %s | %s | %s | %s |" % (
                v, fmt(cv("idle-1000", "win_cpu_pct"), "%.3f"),
                fmt(cv("echo-sparse", "win_cpu_pct"), "%.2f"),
                fmt(cv("echo-sparse", "lat_p50_us")),
                fmt(cv("echo-sparse", "lat_p99_us")),
                fmt(cv("echo-1", "lat_p50_us"))))
    if bad:
        print("\n%d runs were not correct (loadgen or server exit status)"
              % bad)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
