#!/usr/bin/env python3
"""attack.py - measure, from outside, how one client can stall pollserv's room
or pin its memory (issue 9).  Python 3, standard library only.

How to reproduce (a 2-core machine; the server is pinned to CPU 1 and this
tool to CPU 0 when there are two CPUs):

    make
    bench/attack.py --case all --io epoll,busy          # the seven cases
    bench/attack.py --case sigstorm --io all           # every chat driver
    bench/attack.py --case fdlimit --io poll
    bench/attack.py --case burst --reps 2 --json out.json -- --max-outbuf 2M

Everything after "--" is passed to the server as it is.  Every case starts
a fresh server (`--listen 127.0.0.1:0`, it reads the port the server
prints), talks to it over loopback only, is bounded in count and time
(--timeout), stops by itself, and kills only the server and helper
processes it started, by PID.  One human-readable line per case goes to
stdout; --json FILE ("-" for stdout) writes every result as JSON.  Exit
status 0 when every case ran (whatever it measured), 1 if one could not
run (server did not start, crashed, the room never filled), 2 for bad
options.

Terms used in the results:
  probe    a well-behaved client that sends `/who` every --interval (10 ms,
           open loop: requests are not held back while the server is stuck)
           and reads every reply.  max_gap is the longest time between two
           replies (or between the start/end of the measured window and the
           nearest reply), stall the sum of all gaps longer than 100 ms,
           lat_max the slowest single request.  Unresponsiveness at rest is
           about one interval.
  relay    two well-behaved clients; A sends `p SEQ` every --interval, B
           times how long each takes to come back as `<A> p SEQ`.
  stalled  a chat client with a tiny SO_RCVBUF that never reads.
  reader   a chat client that reads and drops everything.
  rss      VmRSS of the server before the attack, VmHWM (peak over the
           server's life) and VmRSS after, from /proc/PID/status, in MiB.
           tcp_mem_mib is the kernel's TCP buffer memory at the end of the
           attack and tcp_mem_peak_mib its peak over the case (system-wide,
           /proc/net/sockstat, sampled every 100 ms): output the server
           handed to the kernel, which its RSS does not show.  On loopback
           each stalled socket's send queue can grow to about 1 MiB.
           tcp_pressure says the peak passed the kernel's pressure
           threshold (/proc/sys/net/ipv4/tcp_mem): then every TCP socket
           on the machine was squeezed for a moment.  broadcast (2 GiB)
           and churn (1.5 GiB) do that on a 24 GiB machine; mind others
           sharing it.
  server_cpu_pct, server_cpu_s  the server's CPU (utime+stime, % of one
           core, and seconds) from the start of the attack until it was
           absorbed (all delivered, the room settled, the storm over).  A
           stall with the server near 100% is work the attack caused; far
           below 100% the server was starved by other load on its CPU,
           which is noise.  server_cpu_s is the steadier number on a
           loaded machine.
  srv_*    fields of the server's own stats line, fetched with SIGUSR1 at
           the end of the case (srv_clients: clients still connected).

Cases (N = --clients, 1000 by default):
  burst        N stalled listeners; one client writes 32,768 lines of "a\\n"
               in a single 64 KiB send().  Probe gap until the probe has
               received all 32,768 lines, plus a 1 s tail; rss.
  flood        N readers; one client keeps the server's socket full of 2-byte
               lines for --flood-seconds (8).  Relay latency p50/p99/max of
               the lines A sent during the flood (and at rest before it).
  quit         2N clients: N stay (readers, or stalled with --stayers
               stalled), N readers send `/quit` at the same moment.  Probe
               gap from that moment until the room shows N+1 users, plus 1 s.
  linetimeout  the same, but the N leavers each send an unfinished line and
               the server runs with --line-timeout 1: the timers fire together.
  idletimeout  --idle-timeout 1 (--idle-timeout) and 2N+1 idle readers,
               connected as fast as possible; only the probe talks.  Gap
               from the first connection until all are gone, and whether
               the probe itself was timed out because the server did not
               read it for that long (its window then ends there).
  fin, rst     the same N leave by shutdown(SHUT_WR) (FIN), or by close()
               with SO_LINGER 0 (RST): the cost leaving should have.
  broadcast    --mem-clients (2000) stalled readers; one client sends
               --mem-bytes (1,000,000) as one line (--max-line raised to
               fit) or as lines of --mem-line bytes.  rss and how many the
               server disconnected (slow_closed).
  churn        N stalled listeners and --churn (27,000) clients that connect
               and close at once, paced so at most 256 are ahead of the
               server's "left" notices.  rss: every join and leave notice is
               queued to every stalled listener.
  lineclock    --line-timeout T (--lineclock-timeout, 4), --max-line 64.
               A sends an overlong line without its LF and gets
               `! line too long`; at T-1 s it sends the LF and the start of
               a normal line; at T+1.5 s the rest.  PASS if B gets the line
               relayed, FAIL if A gets `! line timeout` (the overlong line's
               clock was not restarted).
  fdlimit      N readers and a relay pair (connected first); the server's
               soft RLIMIT_NOFILE is lowered to N/2 at run time (the same as
               `prlimit --pid PID --nofile=SOFT:HARD`).  Server CPU and
               stderr bytes over 2 s, relay lines delivered meanwhile; then
               the limit is restored and the relay must work again within
               5 s.  Meant for --io poll (poll() fails with EINVAL when nfds
               passes the limit); other drivers show what they do.
  sigstorm     N readers; --storm-procs (2) helper processes on this tool's
               CPU send SIGUSR1 to the server in a tight loop for
               --storm-seconds (5), at most --storm-max signals in all.
               Probe gap during the storm, the server's sweeps per second
               (from two stats lines) and stderr bytes written.
Groups: leave = quit,linetimeout,idletimeout,fin,rst; memory =
broadcast,churn; all = every case.  --io takes a comma list: each case
runs once per driver.
"""
import argparse
import collections
import json
import math
import os
import re
import resource
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time

MONO = time.monotonic
CLK_TCK = os.sysconf("SC_CLK_TCK")
STALL_RCVBUF = 1024          # the kernel clamps it to its minimum (~2.3 KiB)
STALL_GAP = 0.100            # a probe gap longer than this counts as stall
LEAVE_GROUP = ["quit", "linetimeout", "idletimeout", "fin", "rst"]
MEMORY_GROUP = ["broadcast", "churn"]
ALL_CASES = ["burst", "flood"] + LEAVE_GROUP + MEMORY_GROUP + \
    ["lineclock", "fdlimit", "sigstorm"]


def chat_drivers(pollserv):
    """The drivers `pollserv --help` lists under --io, without the ones that
    serve echo mode only: every case here is a chat room."""
    try:
        text = subprocess.run([pollserv, "--help"], capture_output=True,
                              text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    names, inside = [], False
    for line in text.splitlines():
        if re.match(r"\s*-i, --io\b", line):
            inside = True
        elif inside:
            m = re.match(r"      ([a-z][a-z0-9-]*) +\S", line)
            if m is None:
                break
            if "echo mode only" not in line:
                names.append(m.group(1))
    return names

RXBUF = bytearray(256 * 1024)   # every reader recv()s into this one buffer
RXVIEW = memoryview(RXBUF)


class CaseError(Exception):
    """A case could not run (as opposed to: it measured something bad)."""


def progress(msg):
    print("attack: " + msg, file=sys.stderr, flush=True)


def percentile(values, q):
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, math.ceil(q / 100.0 * len(v)) - 1))
    return v[k]


def rnd(x, nd=3):
    return None if x is None else round(x, nd)


# ---------------------------------------------------------------- the loop

class Loop:
    """One selector for every socket; tickers run on every pass (<= 2 ms)."""

    def __init__(self):
        self.sel = selectors.DefaultSelector()
        self.tickers = []
        self.first = set()      # probe sockets: handled before the crowd

    def add(self, sock, handler, events=selectors.EVENT_READ):
        self.sel.register(sock, events, handler)

    def modify(self, sock, events, handler):
        self.sel.modify(sock, events, handler)

    def remove(self, sock):
        try:
            self.sel.unregister(sock)
        except (KeyError, ValueError):
            pass

    def _pass(self, wait):
        # Probes are served first in every pass, so their time stamps do
        # not include the time spent reading a thousand other sockets.
        events = self.sel.select(wait)
        if self.first:
            for key, mask in events:
                if key.fileobj in self.first:
                    key.data(mask)
            for key, mask in events:
                if key.fileobj not in self.first:
                    key.data(mask)
        else:
            for key, mask in events:
                key.data(mask)

    def pump(self):
        now = MONO()
        for tick in self.tickers:
            tick(now)
        self._pass(0)

    def run(self, until=None, timeout=1.0):
        """Serve sockets until until() is true (True) or timeout (False)."""
        deadline = MONO() + timeout
        while True:
            now = MONO()
            for tick in self.tickers:
                tick(now)
            if until is not None and until():
                return True
            if now >= deadline:
                return False
            self._pass(min(0.002, deadline - now))

    def sleep(self, seconds):
        self.run(None, seconds)

    def sleep_until(self, when):
        self.run(None, max(0.0, when - MONO()))


def connect(port, rcvbuf=None, sndbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if sndbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    s.settimeout(5.0)
    try:
        s.connect(("127.0.0.1", port))
    except OSError as e:
        s.close()
        raise CaseError("connect to 127.0.0.1:%d: %s" % (port, e))
    s.setblocking(False)
    return s


# ---------------------------------------------------------------- clients

class Stalled:
    """Connected with a tiny receive buffer; never reads a byte."""

    def __init__(self, run):
        self.sock = connect(run.port, rcvbuf=STALL_RCVBUF)
        self.closed = False

    def close(self, loop):
        if not self.closed:
            self.closed = True
            self.sock.close()


class Reader:
    """Reads and drops everything; notes EOF; can queue output."""

    def __init__(self, run, rcvbuf=None, sndbuf=None):
        self.loop = run.loop
        self.sock = connect(run.port, rcvbuf, sndbuf)
        self.closed = False
        self.eof_at = None
        self.bytes_in = 0
        self.out = bytearray()
        self.loop.add(self.sock, self.on_event)

    def on_event(self, mask):
        if mask & selectors.EVENT_READ:
            self.on_readable()
        if mask & selectors.EVENT_WRITE and not self.closed:
            self.on_writable()

    def on_readable(self):
        for _ in range(16):
            try:
                n = self.sock.recv_into(RXBUF)
            except BlockingIOError:
                return
            except OSError:
                self.finish()
                return
            if n == 0:
                self.finish()
                return
            self.bytes_in += n
            self.data(RXVIEW[:n])
            if n < len(RXBUF):
                return

    def data(self, view):
        pass

    def send(self, data):
        """One nonblocking send(); bytes sent, 0 if full, -1 if dead."""
        if self.closed:
            return -1
        try:
            return self.sock.send(data)
        except BlockingIOError:
            return 0
        except OSError:
            return -1

    def queue(self, data):
        """Send data as the socket takes it, without blocking the loop."""
        self.out += data
        self.loop.modify(self.sock, selectors.EVENT_READ |
                         selectors.EVENT_WRITE, self.on_event)

    def on_writable(self):
        while self.out:
            n = self.send(self.out[:1 << 20])
            if n <= 0:
                break
            del self.out[:n]
        if not self.out and not self.closed:
            self.loop.modify(self.sock, selectors.EVENT_READ, self.on_event)

    def finish(self):
        if not self.closed:
            self.closed = True
            self.eof_at = MONO()
            self.loop.remove(self.sock)
            self.sock.close()

    def close(self, loop):
        self.finish()


class LineClient(Reader):
    """A reader that splits what it gets into lines and looks at them.

    on(prefix, fn) calls fn(line, now) for every line starting with
    prefix; count(needle) counts occurrences of needle (which should end
    in LF, so it never spans two reads); keep=True keeps every line."""

    def __init__(self, run, keep=False, **kw):
        self.buf = bytearray()
        self.watch = {}
        self.counts = {}
        self.lines = [] if keep else None
        self.nick = None
        super().__init__(run, **kw)
        self.on(b"* welcome, you are ", self._welcome)

    def _welcome(self, line, now):
        self.nick = line[len(b"* welcome, you are "):]

    def on(self, prefix, fn):
        self.watch[prefix] = fn

    def count(self, needle):
        self.counts.setdefault(needle, 0)

    def data(self, view):
        now = MONO()
        buf = self.buf
        buf += view
        end = buf.rfind(b"\n")
        if end < 0:
            return
        chunk = bytes(buf[:end + 1])
        del buf[:end + 1]
        for needle in self.counts:
            self.counts[needle] += chunk.count(needle)
        if self.lines is not None:
            self.lines.extend(chunk.split(b"\n")[:-1])
        s = b"\n" + chunk
        for prefix, fn in list(self.watch.items()):
            pat = b"\n" + prefix
            i = s.find(pat)
            while i >= 0:
                j = s.index(b"\n", i + 1)
                fn(s[i + 1:j], now)
                i = s.find(pat, j)

    def saw(self, prefix):
        return any(line.startswith(prefix) for line in self.lines or [])


class Flooder(Reader):
    """Keeps its socket full of 2-byte lines while active."""
    CHUNK = b"a\n" * 32768

    def __init__(self, run):
        super().__init__(run, sndbuf=1 << 20)
        self.active = False
        self.sent = 0
        self.view = memoryview(self.CHUNK)

    def set_active(self, on):
        self.active = on
        ev = selectors.EVENT_READ | (selectors.EVENT_WRITE if on else 0)
        self.loop.modify(self.sock, ev, self.on_event)

    def on_writable(self):
        for _ in range(8):
            if not self.active:
                return
            n = self.send(self.view[self.sent % 2:])  # stay on "a\n" pairs
            if n <= 0:
                return
            self.sent += n


# ---------------------------------------------------------------- probes

class Probe:
    """Send times and reply times of one probe; window statistics."""

    def __init__(self, run, interval):
        self.interval = interval
        self.active = False
        self.next = 0.0
        self.sent = []          # send time of request i
        self.got = {}           # i -> reply time
        self.arrivals = []      # reply times, in order
        run.loop.tickers.append(self.tick)

    def tick(self, now):
        if not self.active or now < self.next:
            return
        # Open loop on a fixed schedule; after a hiccup of the tool
        # itself, resume instead of sending a burst of catch-up requests.
        self.next = self.next + self.interval if now - self.next < \
            self.interval else now + self.interval
        if self.request(len(self.sent)):
            self.sent.append(now)

    def answered(self, i, now):
        if i not in self.got:
            self.got[i] = now
            self.arrivals.append(now)

    def all_answered(self, t0, t1):
        return all(i in self.got for i, ts in enumerate(self.sent)
                   if t0 <= ts <= t1)

    def window(self, t0, t1, now=None):
        """Gaps between replies in [t0, t1] and latency of the requests
        sent in it (an unanswered one counts as now - sent)."""
        now = MONO() if now is None else now
        lat, lost = [], 0
        for i, ts in enumerate(self.sent):
            if t0 <= ts <= t1:
                r = self.got.get(i)
                if r is None:
                    lost += 1
                    r = now
                lat.append(r - ts)
        pts = [t0] + [a for a in self.arrivals if t0 <= a <= t1] + [t1]
        gaps = [b - a for a, b in zip(pts, pts[1:])]
        return {
            "max_gap_s": rnd(max(gaps)),
            "stall_s": rnd(sum(g for g in gaps if g > STALL_GAP)),
            "lat_p50_s": rnd(percentile(lat, 50), 4),
            "lat_p99_s": rnd(percentile(lat, 99), 4),
            "lat_max_s": rnd(max(lat) if lat else None, 4),
            "probes": len(lat),
            "unanswered": lost,
        }


class WhoProbe(Probe):
    """`/who` round trips; also tracks the room size the server reports."""

    def __init__(self, run, interval):
        super().__init__(run, interval)
        self.c = run.add(LineClient(run))
        run.loop.first.add(self.c.sock)
        self.c.on(b"* users (", self._reply)
        self.pending = collections.deque()
        self.count = None

    def request(self, i):
        if self.c.send(b"/who\n") != 5:
            return False
        self.pending.append(i)
        return True

    def _reply(self, line, now):
        if self.pending:
            self.answered(self.pending.popleft(), now)
        self.count = int(line[9:line.index(b")")])


class RelayProbe(Probe):
    """A sends `p SEQ`; B times its arrival as `<A> p SEQ`."""

    def __init__(self, run, interval):
        super().__init__(run, interval)
        self.a = run.add(LineClient(run))
        self.b = run.add(LineClient(run))
        run.loop.first.update((self.a.sock, self.b.sock))
        if not run.loop.run(lambda: self.a.nick and self.b.nick, 10):
            raise CaseError("relay probe got no welcome")
        self.b.on(b"<" + self.a.nick + b"> p ", self._got)

    def request(self, i):
        msg = b"p %d\n" % i
        return self.a.send(msg) == len(msg)

    def _got(self, line, now):
        self.answered(int(line.rsplit(b" ", 1)[1]), now)


# ---------------------------------------------------------------- server

def proc_status(pid):
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    out[k] = int(v.split()[0]) / 1024.0
    except OSError:
        pass
    return out


def tcp_mem_mib():
    """Kernel memory of all TCP sockets (system-wide), /proc/net/sockstat."""
    try:
        with open("/proc/net/sockstat") as f:
            for line in f:
                if line.startswith("TCP:"):
                    w = line.split()
                    return rnd(int(w[w.index("mem") + 1]) *
                               os.sysconf("SC_PAGE_SIZE") / 1048576.0, 1)
    except (OSError, ValueError):
        pass
    return None


def proc_cpu(pid):
    """utime + stime of pid, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class Run:
    """One fresh server for one case, plus every socket the case opened."""

    def __init__(self, ctx, io, extra):
        self.ctx = ctx
        self.loop = Loop()
        self.conns = []
        self.err_path = os.path.join(ctx.tmp, "stderr-%d.log" % ctx.serial)
        ctx.serial += 1
        cmd = [ctx.binary, "--listen", "127.0.0.1:0", "--io", io] + \
            ctx.server_args + extra
        if ctx.pin:
            cmd = ["taskset", "-c", "1"] + cmd
        self.cmd = cmd
        self.err = open(self.err_path, "wb")
        # taskset execs the server, so the PID is the server's.
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=self.err)
        self.pid = self.proc.pid
        self.port = self._read_port()

    def _read_port(self):
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        line = b""
        deadline = MONO() + 10
        while not line.endswith(b"\n") and MONO() < deadline:
            if sel.select(0.1):
                ch = os.read(self.proc.stdout.fileno(), 1)
                if not ch:
                    break
                line += ch
        sel.close()
        m = re.search(rb"listening on \S+:(\d+)", line)
        if not m:
            self.stop()
            raise CaseError("server did not start: %r; stderr: %s" %
                            (line, self.stderr_tail()))
        return int(m.group(1))

    def stderr_tail(self):
        try:
            with open(self.err_path, "rb") as f:
                f.seek(max(0, os.path.getsize(self.err_path) - 300))
                return f.read().decode(errors="replace").strip()
        except OSError:
            return ""

    def mark(self):
        """The attack starts now: remember the server's CPU time."""
        self.mark_at, self.mark_cpu = MONO(), proc_cpu(self.pid)
        return self.mark_at

    def server_cpu(self):
        """Server CPU since mark(): % of one core and seconds.  Far below
        100% while the probe saw a stall means the server was starved by
        other load, not busy with the attack; the seconds are what the
        attack cost it, whatever the load."""
        used = proc_cpu(self.pid) - self.mark_cpu
        return {"server_cpu_pct": rnd(100.0 * used / max(1e-9, MONO() -
                                                          self.mark_at), 1),
                "server_cpu_s": rnd(used, 2)}

    def stderr_size(self):
        return os.path.getsize(self.err_path)

    def alive(self):
        return self.proc.poll() is None

    def add(self, conn):
        self.conns.append(conn)
        return conn

    def crowd(self, n, kind):
        """n clients of class kind, connected as fast as the server takes
        them; the loop is served between them so nothing backs up."""
        out = []
        for i in range(n):
            out.append(self.add(kind(self)))
            if i % 64 == 63:
                self.loop.pump()
        return out

    def ready(self, probe, expected, timeout=30):
        """Wait until the room holds expected clients and the join storm
        is over (the probe answers at rest speed)."""
        probe.active = True
        if not self.loop.run(lambda: probe.count == expected, timeout):
            raise CaseError("the room has %s of %d clients after %d s" %
                            (probe.count, expected, timeout))
        self.loop.sleep(0.5)

    def stats(self, timeout=5.0):
        """Ask for a stats line with SIGUSR1 and parse it."""
        if not self.alive():
            return {}
        off = self.stderr_size()
        found = {}

        def check():
            with open(self.err_path, "rb") as f:
                f.seek(off)
                text = f.read()
            for line in text.splitlines():
                if b"stats event=signal" in line:
                    for k, v in re.findall(rb"(\w+)=(\S+)", line):
                        found[k.decode()] = v.decode()
                    return True
            return False
        os.kill(self.pid, signal.SIGUSR1)
        self.loop.run(check, timeout)
        return found

    def stop(self):
        """SIGTERM the server, close every socket, wait; SIGKILL after 10 s.
        Returns the server's exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        for c in self.conns:
            c.close(self.loop)
        self.conns = []
        try:
            rc = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc.stdout.close()
        self.err.close()
        return rc


def tcp_mem_limits_mib():
    """The kernel's tcp_mem thresholds (pressure, max), in MiB."""
    try:
        with open("/proc/sys/net/ipv4/tcp_mem") as f:
            low, pressure, high = (int(x) for x in f.read().split())
        page = os.sysconf("SC_PAGE_SIZE") / 1048576.0
        return pressure * page, high * page
    except (OSError, ValueError):
        return None, None


class TcpMemPeak:
    """Samples the kernel's TCP memory every 100 ms while a case runs."""

    def __init__(self, loop):
        self.next = 0.0
        self.peak = 0.0
        loop.tickers.append(self.tick)

    def tick(self, now):
        if now >= self.next:
            self.next = now + 0.1
            self.peak = max(self.peak, tcp_mem_mib() or 0.0)


def measure(ctx, io, case, extra, body):
    """Run body(run) against a fresh server; add the common fields."""
    t0 = MONO()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    run = Run(ctx, io, extra)
    tcp = TcpMemPeak(run.loop)
    res = {"case": case, "io": io, "clients": ctx.clients}
    try:
        res.update(body(run))
        if not run.alive():
            raise CaseError("the server died: exit %s; stderr: %s" %
                            (run.proc.returncode, run.stderr_tail()))
    finally:
        rc = run.stop()
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        res["server_exit"] = rc
        res["tcp_mem_peak_mib"] = rnd(tcp.peak, 1)
        pressure, _ = tcp_mem_limits_mib()
        res["tcp_pressure"] = bool(pressure and tcp.peak >= pressure)
        res["server_cmd"] = " ".join(run.cmd)
        res["elapsed_s"] = rnd(MONO() - t0, 1)
        res["tool_cpu_pct"] = rnd(100.0 * (cpu1.ru_utime + cpu1.ru_stime -
                                          cpu0.ru_utime - cpu0.ru_stime) /
                                  max(1e-9, MONO() - t0), 1)
        os.unlink(run.err_path)
    return res


def memory_fields(run, before):
    """RSS before, peak and now; kernel TCP memory; slow_closed."""
    after = proc_status(run.pid)
    res = {
        "rss_before_mib": rnd(before.get("VmRSS"), 1),
        "rss_peak_mib": rnd(after.get("VmHWM"), 1),
        "rss_after_mib": rnd(after.get("VmRSS"), 1),
        "tcp_mem_mib": tcp_mem_mib(),
    }
    res.update(stat_fields(run.stats(), ["slow_closed", "clients"]))
    return res


def stat_fields(st, keys):
    """Fields of the server's stats line, named srv_FIELD."""
    return {"srv_" + k: int(st[k]) if k in st and st[k].isdigit()
            else st.get(k) for k in keys}


# ---------------------------------------------------------------- cases

def probe_after(run, probe, t0, tail):
    """The attack is absorbed: the server's CPU since t0, then a quiet
    tail, then the probe's window over both."""
    cpu = run.server_cpu()
    run.loop.sleep(tail)
    res = probe.window(t0, MONO())
    res.update(cpu)
    return res


def stalled_room(ctx, run, n, text):
    """A probe, a sender and n stalled listeners, settled.  Returns them,
    the relayed form of the sender's lines (which the probe counts) and
    the server's memory before anything is sent."""
    probe = WhoProbe(run, ctx.interval)
    sender = run.add(LineClient(run, sndbuf=1 << 20))
    run.crowd(n, Stalled)
    run.ready(probe, n + 2)
    marker = b"<" + sender.nick + b"> " + text
    probe.c.count(marker)
    return probe, sender, marker, proc_status(run.pid)


def case_burst(ctx, io):
    def body(run):
        probe, sender, marker, before = stalled_room(ctx, run, ctx.clients,
                                                     b"a\n")
        payload = b"a\n" * 32768
        t0 = run.mark()
        n = sender.send(payload)        # one send() of 64 KiB
        if n < len(payload):
            sender.queue(payload[max(n, 0):])
        done = run.loop.run(lambda: probe.c.counts[marker] >= 32768,
                            ctx.timeout)
        t_all = MONO()
        res = probe_after(run, probe, t0, 1.0)
        res.update({
            "first_send_bytes": n,
            "delivered_lines": probe.c.counts[marker],
            "delivered_s": rnd(t_all - t0) if done else None,
        })
        res.update(memory_fields(run, before))
        return res
    return measure(ctx, io, "burst", [], body)


def case_flood(ctx, io):
    def body(run):
        who = WhoProbe(run, ctx.interval)
        relay = RelayProbe(run, ctx.interval)
        flooder = run.add(Flooder(run))
        run.crowd(ctx.clients, Reader)
        run.ready(who, ctx.clients + 4)
        run.loop.run(lambda: flooder.bytes_in > 0, 5)
        relay.active = True
        r0 = MONO()
        run.loop.sleep(1.0)
        r1 = t0 = run.mark()
        flooder.set_active(True)
        run.loop.sleep(ctx.flood_seconds)
        flooder.set_active(False)
        t1 = MONO()
        run.loop.run(lambda: relay.all_answered(t0, t1), ctx.timeout)
        t2 = MONO()
        rest = relay.window(r0, r1)
        res = relay.window(t0, t1)
        gaps = who.window(t0, t2)
        cpu = run.server_cpu()
        res = {
            "rest_p50_s": rest["lat_p50_s"],
            "lat_p50_s": res["lat_p50_s"], "lat_p99_s": res["lat_p99_s"],
            "lat_max_s": res["lat_max_s"], "probes": res["probes"],
            "unanswered": res["unanswered"],
            "who_max_gap_s": gaps["max_gap_s"],
            "flood_bytes": flooder.sent,
            "drain_s": rnd(t2 - t1),
            "rss_peak_mib": rnd(proc_status(run.pid).get("VmHWM"), 1),
        }
        res.update(cpu)
        res.update(stat_fields(run.stats(), ["slow_closed", "lines",
                                             "clients"]))
        return res
    return measure(ctx, io, "flood", [], body)


def case_leave(ctx, io, how):
    """N stayers (--stayers) and N readers who leave together by how."""
    extra = ["--line-timeout", "1"] if how == "linetimeout" else []

    def body(run):
        n = ctx.clients
        probe = WhoProbe(run, ctx.interval)
        run.crowd(n, Stalled if ctx.stayers == "stalled" else Reader)
        leavers = run.crowd(n, Reader)
        run.ready(probe, 2 * n + 1)
        t0 = run.mark()
        for c in leavers:
            if how == "quit":
                c.send(b"/quit\n")
            elif how == "linetimeout":
                c.send(b"unfinished")
            elif how == "fin":
                c.sock.shutdown(socket.SHUT_WR)
            elif how == "rst":
                c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                  b"\x01\x00\x00\x00\x00\x00\x00\x00")
                c.finish()
        settled = [None]

        def done():
            if settled[0] is None and probe.count == n + 1:
                settled[0] = MONO()
            return settled[0] is not None and all(c.closed for c in leavers)
        ok = run.loop.run(done, ctx.timeout + (2 if how == "linetimeout"
                                               else 0))
        res = probe_after(run, probe, t0, 1.0)
        res.update({
            "stayers": ctx.stayers,
            "settled_s": rnd(settled[0] - t0) if settled[0] else None,
            "all_gone": ok,
            "leavers_closed": sum(c.closed for c in leavers),
        })
        res.update(stat_fields(run.stats(), ["clients", "timeouts",
                                             "slow_closed"]))
        return res
    return measure(ctx, io, how, extra, body)


def case_idletimeout(ctx, io):
    def body(run):
        n = 2 * ctx.clients + 1
        probe = WhoProbe(run, ctx.interval)
        probe.active = True         # it talks, so it should never go idle
        run.loop.run(lambda: probe.count == 1, 5)
        # The window starts with the first connection: the first idle
        # clients may time out while the last are still connecting.
        t0 = run.mark()
        idle = run.crowd(n, Reader)
        t_conn = MONO()
        gone = [None]

        def done():
            if gone[0] is None and all(c.closed for c in idle) and \
                    (probe.count == 1 or probe.c.closed):
                gone[0] = MONO()
            return gone[0] is not None
        run.loop.run(done, ctx.timeout + 2)
        cpu = run.server_cpu()
        run.loop.sleep(1.0)
        # A probe that was itself timed out ends its window there.
        t1 = probe.c.eof_at if probe.c.closed else MONO()
        res = probe.window(t0, t1)
        res.update(cpu)
        eofs = [c.eof_at - t0 for c in idle if c.eof_at]
        res.update({
            "connect_s": rnd(t_conn - t0),
            "settled_s": rnd(gone[0] - t0) if gone[0] else None,
            "idle_closed": len(eofs),
            "first_eof_s": rnd(min(eofs)) if eofs else None,
            "last_eof_s": rnd(max(eofs)) if eofs else None,
            "probe_timed_out": probe.c.closed,
        })
        res.update(stat_fields(run.stats(), ["clients", "timeouts"]))
        return res
    res = measure(ctx, io, "idletimeout",
                  ["--idle-timeout", str(ctx.idle_timeout)], body)
    res["clients"] = 2 * ctx.clients + 1
    return res


def case_broadcast(ctx, io):
    size = ctx.mem_bytes
    line = ctx.mem_line or size
    nlines = max(1, size // line)
    extra = ["--max-line", str(max(4096, line))]

    def body(run):
        probe, sender, marker, before = stalled_room(ctx, run,
                                                     ctx.mem_clients, b"x")
        t0 = run.mark()
        sender.queue((b"x" * (line - 1) + b"\n") * nlines)
        done = run.loop.run(lambda: probe.c.counts[marker] >= nlines,
                            ctx.timeout)
        t_all = MONO()
        res = probe_after(run, probe, t0, 2.0)
        res.update({
            "lines": nlines, "line_bytes": line,
            "delivered_s": rnd(t_all - t0) if done else None,
        })
        res.update(memory_fields(run, before))
        return res
    res = measure(ctx, io, "broadcast", extra, body)
    res["clients"] = ctx.mem_clients
    return res


def case_churn(ctx, io):
    def body(run):
        probe = WhoProbe(run, ctx.interval)
        probe.c.count(b" left\n")
        run.crowd(ctx.clients, Stalled)
        run.ready(probe, ctx.clients + 1)
        before = proc_status(run.pid)
        left = probe.c.counts
        base = left[b" left\n"]
        t0 = MONO()
        made = errors = 0
        while made < ctx.churn and MONO() - t0 < ctx.churn_timeout:
            if made - (left[b" left\n"] - base) > 256:
                run.loop.run(lambda: made - (left[b" left\n"] - base) <= 128,
                             5)
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(5.0)
            try:
                s.connect(("127.0.0.1", run.port))
                made += 1
            except OSError:
                errors += 1
            s.close()
            if made % 32 == 0:
                run.loop.pump()
        run.loop.run(lambda: left[b" left\n"] - base >= made, ctx.timeout)
        t1 = MONO()
        run.loop.sleep(1.0)
        res = {
            "churned": made, "connect_errors": errors,
            "left_seen": left[b" left\n"] - base,
            "churn_s": rnd(t1 - t0, 2),
        }
        res.update(memory_fields(run, before))
        return res
    return measure(ctx, io, "churn", [], body)


def case_lineclock(ctx, io):
    t = ctx.lineclock_timeout

    def body(run):
        a = run.add(LineClient(run, keep=True))
        b = run.add(LineClient(run, keep=True))
        if not run.loop.run(lambda: a.nick and b.nick, 10):
            raise CaseError("no welcome")
        relayed = b"<" + a.nick + b"> hello world"
        t0 = MONO()
        a.send(b"X" * 200)                      # past --max-line 64, no LF
        too_long = run.loop.run(lambda: a.saw(b"! line too long"), 3)
        run.loop.sleep_until(t0 + t - 1)
        a.send(b"\nhel")                        # ends it; a new line begins
        run.loop.sleep_until(t0 + t + 1.5)
        a.send(b"lo world\n")
        run.loop.run(lambda: b.saw(relayed) or a.saw(b"! line timeout"),
                     t + 2)
        ok = b.saw(relayed) and not a.saw(b"! line timeout")
        return {
            "result": "PASS" if ok else "FAIL",
            "line_too_long_seen": too_long,
            "relayed": b.saw(relayed),
            "line_timeout_seen": a.saw(b"! line timeout"),
            "line_timeout_s": t,
        }
    return measure(ctx, io, "lineclock",
                   ["--line-timeout", str(t), "--max-line", "64"], body)


def case_fdlimit(ctx, io):
    def body(run):
        relay = RelayProbe(run, ctx.interval)   # the oldest connections
        who = WhoProbe(run, ctx.interval)
        run.crowd(ctx.clients, Reader)
        run.ready(who, ctx.clients + 3)
        who.active = False
        relay.active = True
        run.mark()
        run.loop.sleep(1.0)
        rest_cpu = run.server_cpu()["server_cpu_pct"]
        soft, hard = resource.prlimit(run.pid, resource.RLIMIT_NOFILE)
        low = max(16, ctx.clients // 2)
        cpu0, err0, t0 = proc_cpu(run.pid), run.stderr_size(), MONO()
        resource.prlimit(run.pid, resource.RLIMIT_NOFILE, (low, hard))
        run.loop.sleep(2.0)
        cpu1, err1, t1 = proc_cpu(run.pid), run.stderr_size(), MONO()
        low_win = relay.window(t0, t1)
        resource.prlimit(run.pid, resource.RLIMIT_NOFILE, (soft, hard))
        t2 = MONO()
        first = len(relay.sent)
        back = run.loop.run(lambda: any(i in relay.got for i in
                                        range(first, len(relay.sent))), 5)
        t3 = MONO()
        run.loop.sleep(0.5)
        res = {
            "nofile_soft": soft, "nofile_low": low,
            "cpu_pct_rest": rest_cpu,
            "cpu_pct_low": rnd(100.0 * (cpu1 - cpu0) / (t1 - t0), 1),
            "stderr_bytes_low": err1 - err0,
            "relayed_low": low_win["probes"] - low_win["unanswered"],
            "sent_low": low_win["probes"],
            "recovered": back,
            "recover_s": rnd(t3 - t2) if back else None,
        }
        res.update(stat_fields(run.stats(), ["clients", "rejected"]))
        return res
    return measure(ctx, io, "fdlimit", [], body)


KILLER = r"""
import os, signal, sys, time
pid, secs, cap = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
end = time.monotonic() + secs
n = 0
try:
    while n < cap and time.monotonic() < end:
        for _ in range(min(1000, cap - n)):
            os.kill(pid, signal.SIGUSR1)
        n += min(1000, cap - n)
except ProcessLookupError:
    pass
print(n)
"""


def case_sigstorm(ctx, io):
    def body(run):
        probe = WhoProbe(run, ctx.interval)
        run.crowd(ctx.clients, Reader)
        run.ready(probe, ctx.clients + 1)
        rest0 = MONO()
        run.loop.sleep(1.0)
        rest = probe.window(rest0, MONO())
        sweeps0 = int(run.stats().get("sweeps", 0))
        err0 = run.stderr_size()
        t0 = run.mark()
        # Several senders (on this tool's CPU) so that a signal is always
        # in flight, whatever one sender's scheduling.
        share = max(1, ctx.storm_max // ctx.storm_procs)
        killers = [subprocess.Popen(
            [sys.executable, "-c", KILLER, str(run.pid),
             str(ctx.storm_seconds), str(share)],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
            for _ in range(ctx.storm_procs)]
        sent = 0
        try:
            run.loop.run(lambda: all(k.poll() is not None for k in killers),
                         ctx.storm_seconds + 10)
        finally:
            for k in killers:
                if k.poll() is None:
                    k.kill()
                out = k.communicate()[0]
                sent += int(out.strip() or 0)
        t1 = MONO()
        cpu = run.server_cpu()
        err1 = run.stderr_size()
        sweeps1 = int(run.stats().get("sweeps", 0))
        run.loop.sleep(0.5)
        res = probe.window(t0, MONO())
        res.update(cpu)
        res.update({
            "rest_max_gap_s": rest["max_gap_s"],
            "signals": sent, "senders": ctx.storm_procs,
            "storm_s": rnd(t1 - t0),
            "sweeps_per_s": int((sweeps1 - sweeps0) / (t1 - t0)),
            "stderr_bytes": err1 - err0,
        })
        return res
    return measure(ctx, io, "sigstorm", [], body)


CASES = {
    "burst": case_burst,
    "flood": case_flood,
    "quit": lambda ctx, io: case_leave(ctx, io, "quit"),
    "linetimeout": lambda ctx, io: case_leave(ctx, io, "linetimeout"),
    "idletimeout": case_idletimeout,
    "fin": lambda ctx, io: case_leave(ctx, io, "fin"),
    "rst": lambda ctx, io: case_leave(ctx, io, "rst"),
    "broadcast": case_broadcast,
    "churn": case_churn,
    "lineclock": case_lineclock,
    "fdlimit": case_fdlimit,
    "sigstorm": case_sigstorm,
}

# What the human-readable line shows for each case, in order.
SUMMARY = {
    "burst": ["max_gap_s", "stall_s", "lat_max_s", "delivered_s",
              "server_cpu_pct", "server_cpu_s", "rss_before_mib",
              "rss_peak_mib", "rss_after_mib", "tcp_mem_mib",
              "srv_slow_closed"],
    "flood": ["rest_p50_s", "lat_p50_s", "lat_p99_s", "lat_max_s",
              "unanswered", "who_max_gap_s", "flood_bytes", "server_cpu_pct",
              "server_cpu_s", "rss_peak_mib", "srv_slow_closed"],
    "leave": ["stayers", "max_gap_s", "stall_s", "settled_s",
              "server_cpu_pct", "server_cpu_s", "leavers_closed",
              "srv_timeouts", "srv_clients"],
    "idletimeout": ["max_gap_s", "stall_s", "connect_s", "first_eof_s",
                    "last_eof_s", "server_cpu_pct", "server_cpu_s",
                    "idle_closed", "probe_timed_out", "srv_timeouts"],
    "broadcast": ["rss_before_mib", "rss_peak_mib", "rss_after_mib",
                  "tcp_mem_mib", "srv_slow_closed", "srv_clients",
                  "delivered_s", "max_gap_s", "server_cpu_s"],
    "churn": ["churned", "left_seen", "churn_s", "rss_before_mib",
              "rss_peak_mib", "rss_after_mib", "tcp_mem_mib",
              "srv_slow_closed"],
    "lineclock": ["result", "line_too_long_seen", "relayed",
                  "line_timeout_seen"],
    "fdlimit": ["nofile_low", "cpu_pct_rest", "cpu_pct_low",
                "stderr_bytes_low", "relayed_low", "sent_low", "recovered",
                "recover_s", "srv_clients"],
    "sigstorm": ["signals", "max_gap_s", "stall_s", "lat_p99_s",
                 "lat_max_s", "rest_max_gap_s", "sweeps_per_s",
                 "server_cpu_pct", "server_cpu_s", "stderr_bytes"],
}


def summary_line(res):
    case = res["case"]
    keys = list(SUMMARY.get(case) or SUMMARY["leave"])
    if res.get("tcp_pressure"):
        keys += ["tcp_mem_peak_mib", "tcp_pressure"]
    head = "%-11s io=%-7s n=%-5s" % (case, res["io"], res["clients"])
    if "error" in res:
        return head + " ERROR " + res["error"]
    body = " ".join("%s=%s" % (k, res.get(k)) for k in keys)
    return "%s %s server_exit=%s tool_cpu=%s%%" % (
        head, body, res.get("server_exit"), res.get("tool_cpu_pct"))


# ---------------------------------------------------------------- main

def expand(names, groups, valid, what):
    out = []
    for name in names.split(","):
        name = name.strip()
        for n in groups.get(name, [name]):
            if n not in valid:
                raise argparse.ArgumentTypeError("unknown %s %r" % (what, n))
            if n not in out:
                out.append(n)
    return out


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= want:
        return
    new = want if hard == resource.RLIM_INFINITY else min(want, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    if new < want:
        progress("warning: RLIMIT_NOFILE hard limit %d < %d wanted" %
                 (hard, want))


def parse_args(argv):
    server_args = []
    if "--" in argv:
        i = argv.index("--")
        argv, server_args = argv[:i], argv[i + 1:]
    p = argparse.ArgumentParser(
        prog="attack.py", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="%(prog)s [options] [-- SERVER_ARGS...]")
    p.add_argument("--pollserv", default="./pollserv", metavar="PATH",
                   help="server binary (default ./pollserv)")
    p.add_argument("--io", default="epoll", metavar="DRIVER[,DRIVER...]",
                   help="driver(s) from the server's --help that serve "
                   "chat, or all (default epoll)")
    p.add_argument("--case", default="all", metavar="NAME[,NAME...]",
                   help="case(s): %s, leave, memory or all (default all)" %
                   ",".join(ALL_CASES))
    p.add_argument("--clients", "-n", type=int, default=1000, metavar="N",
                   help="listeners/readers per case (default 1000)")
    p.add_argument("--reps", type=int, default=1,
                   help="run every case this many times (default 1)")
    p.add_argument("--interval", type=float, default=0.010, metavar="S",
                   help="probe period in seconds (default 0.010)")
    p.add_argument("--timeout", type=float, default=30.0, metavar="S",
                   help="longest wait for a case to settle (default 30)")
    p.add_argument("--flood-seconds", type=float, default=8.0, metavar="S")
    p.add_argument("--stayers", choices=["readers", "stalled"],
                   default="readers",
                   help="the N who stay in the leave cases (default readers)")
    p.add_argument("--idle-timeout", type=int, default=1, metavar="S",
                   help="server's --idle-timeout in idletimeout (default 1)")
    p.add_argument("--mem-clients", type=int, default=2000, metavar="N")
    p.add_argument("--mem-bytes", type=int, default=1000000, metavar="B")
    p.add_argument("--mem-line", type=int, default=0, metavar="B",
                   help="broadcast in lines of B bytes (default: one line)")
    p.add_argument("--churn", type=int, default=27000, metavar="N")
    p.add_argument("--churn-timeout", type=float, default=120.0,
                   metavar="S")
    p.add_argument("--lineclock-timeout", type=int, default=4, metavar="S")
    p.add_argument("--storm-seconds", type=float, default=5.0, metavar="S")
    p.add_argument("--storm-max", type=int, default=40000000, metavar="N",
                   help="at most this many signals (default 40,000,000)")
    p.add_argument("--storm-procs", type=int, default=2, metavar="K",
                   help="processes sending signals (default 2)")
    p.add_argument("--no-pin", action="store_true",
                   help="do not pin the server to CPU 1 and this tool to 0")
    p.add_argument("--json", metavar="FILE",
                   help="write every result as JSON to FILE (- = stdout)")
    a = p.parse_args(argv)
    try:
        drivers = chat_drivers(a.pollserv)
        if not drivers:
            raise argparse.ArgumentTypeError(
                "%s --help lists no --io drivers" % a.pollserv)
        a.ios = expand(a.io, {"all": drivers}, drivers, "driver")
        a.cases = expand(a.case, {"all": ALL_CASES, "leave": LEAVE_GROUP,
                                  "memory": MEMORY_GROUP}, CASES, "case")
    except argparse.ArgumentTypeError as e:
        p.error(str(e))
    if a.clients < 1 or a.reps < 1 or a.interval <= 0 or a.mem_bytes < 2 \
            or a.mem_line < 0 or a.lineclock_timeout < 3 or a.storm_procs < 1:
        p.error("counts must be positive; --lineclock-timeout at least 3")
    if not (os.path.isfile(a.pollserv) and os.access(a.pollserv, os.X_OK)):
        p.error("%s is not an executable (run make first)" % a.pollserv)
    a.server_args = server_args
    return a


def interrupted(sig, frame):
    raise KeyboardInterrupt("signal %d" % sig)


def main(argv):
    ctx = parse_args(argv)
    ctx.binary = os.path.abspath(ctx.pollserv)
    ctx.serial = 0
    ctx.pin = not ctx.no_pin and (os.cpu_count() or 1) >= 2 and \
        subprocess.call(["sh", "-c", "command -v taskset"],
                        stdout=subprocess.DEVNULL) == 0
    if ctx.pin:
        os.sched_setaffinity(0, {0})
    # Started in the background, SIGINT may be ignored and SIGTERM would
    # end the tool without stopping its servers: both become an exception,
    # so every case's cleanup runs.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupted)
    raise_nofile(2 * max(ctx.clients, ctx.mem_clients) + 256)
    load = os.getloadavg()
    progress("load average %.2f %.2f %.2f; server %s" % (
        load[0], load[1], load[2],
        "on CPU 1, tool on CPU 0" if ctx.pin else "not pinned"))
    results, failed = [], False
    out = sys.stderr if ctx.json == "-" else sys.stdout
    with tempfile.TemporaryDirectory(prefix="attack-") as tmp:
        ctx.tmp = tmp
        for rep in range(ctx.reps):
            for io in ctx.ios:
                for case in ctx.cases:
                    try:
                        res = CASES[case](ctx, io)
                    except (CaseError, OSError, ValueError) as e:
                        res = {"case": case, "io": io,
                               "clients": ctx.clients,
                               "error": "%s: %s" % (type(e).__name__, e)}
                        failed = True
                    res["rep"] = rep + 1
                    results.append(res)
                    print(summary_line(res), file=out, flush=True)
                    if ctx.json and ctx.json != "-":
                        write_json(ctx, load, results)  # partial results
    if ctx.json:
        write_json(ctx, load, results)
    return 1 if failed else 0


def write_json(ctx, load, results):
    doc = {"load_before": load, "load_after": os.getloadavg(),
           "pinned": ctx.pin, "server_args": ctx.server_args,
           "results": results}
    if ctx.json == "-":
        json.dump(doc, sys.stdout, indent=1)
        print()
        return
    with open(ctx.json + ".tmp", "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    os.replace(ctx.json + ".tmp", ctx.json)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        progress("interrupted; the servers it started are stopped")
        sys.exit(130)
