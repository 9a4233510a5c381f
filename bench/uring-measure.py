#!/usr/bin/env python3
"""uring-measure.py - the completion driver against epoll (and uring-poll).

For each run and scenario, starts one pollserv per driver in a rotated
order (server on CPU 1, bench/loadgen on CPU 0, both with taskset), and
prints server CPU per message from loadgen's --pid accounting, with the
ratio to epoll within the same run.  With --syscalls it also counts the
server's system calls over a second window with
`perf stat -e 'syscalls:sys_enter_*'` and divides them by the messages
loadgen saw in that window, and reads the sweeps from the stats line, so
io_uring_enter calls per sweep come out too.

usage: bench/uring-measure.py [--runs N] [--duration S] [--syscalls]
           [--drivers a,b,c] [--scenarios echo-even,chat-heavy,idle-1000]
Run from the top of the tree after `make`.
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

SCENARIOS = {
    # name: (server mode, loadgen arguments)
    "echo-even": ("echo", ["--mode", "echo", "-c", "50", "--rate", "0"]),
    "chat-heavy": ("chat", ["--mode", "chat", "-c", "50", "--rate", "100"]),
    "idle-1000": ("chat", ["--mode", "idle", "-c", "1000"]),
}


def start_server(driver, mode):
    proc = subprocess.Popen(
        ["taskset", "-c", "1", "./pollserv", "--io", driver, "-m", mode,
         "-l", "127.0.0.1:0", "-q", "--max-clients", "2000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.search(r"127\.0\.0\.1:(\d+)", line)
    if not m:
        proc.kill()
        sys.exit("pollserv did not start: " + line + proc.stderr.read())
    return proc, int(m.group(1))


def stop_server(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err


def loadgen(port, pid, args, duration, warmup):
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        subprocess.run(
            ["taskset", "-c", "0", "bench/loadgen", "-a",
             "127.0.0.1:%d" % port, "-d", str(duration), "--warmup",
             str(warmup), "--pid", str(pid), "--json", f.name, "-q"] + args,
            check=True, stdout=subprocess.DEVNULL)
        return json.load(open(f.name))


def count_syscalls(pid, seconds):
    """{syscall: count} over seconds, from perf's tracepoints."""
    out = subprocess.run(
        ["perf", "stat", "-x,", "-e", "syscalls:sys_enter_*", "-p",
         str(pid), "--", "sleep", str(seconds)],
        capture_output=True, text=True).stderr
    counts = {}
    for line in out.splitlines():
        f = line.split(",")
        if len(f) > 2 and f[2].startswith("syscalls:sys_enter_"):
            try:
                n = int(f[0])
            except ValueError:
                continue
            if n:
                counts[f[2][len("syscalls:sys_enter_"):]] = n
    return counts


def one(driver, scen, duration, warmup, syscalls):
    mode, args = SCENARIOS[scen]
    proc, port = start_server(driver, mode)
    res = {"driver": driver}
    try:
        lg = loadgen(port, proc.pid, args, duration, warmup)
        res["cpu_pct"] = lg["server_cpu_pct"]
        res["us_per_msg"] = (lg["server_cpu_s_per_1k"] or 0) * 1000
        res["p50_us"] = lg["lat_p50_us"]
        res["ok"] = lg["ok"]
        if syscalls and scen != "idle-1000":
            # A second window: load in the background, perf meanwhile.
            os.kill(proc.pid, signal.SIGUSR1)
            with tempfile.NamedTemporaryFile(suffix=".json") as f:
                bg = subprocess.Popen(
                    ["taskset", "-c", "0", "bench/loadgen", "-a",
                     "127.0.0.1:%d" % port, "-d", str(duration + 2),
                     "--json", f.name, "-q"] + args,
                    stdout=subprocess.DEVNULL)
                time.sleep(1)
                os.kill(proc.pid, signal.SIGUSR1)
                counts = count_syscalls(proc.pid, duration)
                os.kill(proc.pid, signal.SIGUSR1)
                bg.wait()
                total = json.load(open(f.name))
            # Messages in the perf window: scale the run's rate.
            rate = total["msgs_per_s"]
            res["syscalls"] = counts
            res["syscall_msgs"] = rate * duration
    finally:
        err = stop_server(proc)
    if syscalls and scen != "idle-1000":
        sw = [int(m) for m in re.findall(r"event=signal .*?sweeps=(\d+)",
                                         err)]
        if len(sw) >= 3:
            res["sweeps_in_window"] = sw[2] - sw[1]
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--syscalls", action="store_true")
    ap.add_argument("--drivers", default="epoll,uring-poll,uring")
    ap.add_argument("--scenarios", default="echo-even,chat-heavy")
    a = ap.parse_args()
    drivers = a.drivers.split(",")
    for scen in a.scenarios.split(","):
        print("## %s" % scen)
        for run in range(a.runs):
            order = drivers[run % len(drivers):] + drivers[:run % len(drivers)]
            got = {d: one(d, scen, a.duration, a.warmup, a.syscalls)
                   for d in order}
            base = got.get("epoll", {}).get("us_per_msg")
            for d in drivers:
                r = got[d]
                line = "run %d %-10s cpu %5.1f%%  %.3f us/msg" % (
                    run, d, r["cpu_pct"], r["us_per_msg"])
                if base:
                    line += "  x%.2f vs epoll" % (r["us_per_msg"] / base)
                line += "  p50 %.0f us  %s" % (r["p50_us"],
                                                 "ok" if r["ok"] else "FAIL")
                if "syscalls" in r and r["syscall_msgs"]:
                    per = {k: v / r["syscall_msgs"]
                           for k, v in r["syscalls"].items()}
                    line += "\n      syscalls/msg %.3f: %s" % (
                        sum(per.values()), ", ".join(
                            "%s %.3f" % kv for kv in sorted(
                                per.items(), key=lambda kv: -kv[1])[:5]))
                    if "io_uring_enter" in r["syscalls"] and \
                            r.get("sweeps_in_window"):
                        line += "\n      io_uring_enter/sweep %.3f " \
                            "(%d sweeps)" % (
                                r["syscalls"]["io_uring_enter"] /
                                r["sweeps_in_window"],
                                r["sweeps_in_window"])
                print(line, flush=True)


if __name__ == "__main__":
    main()
