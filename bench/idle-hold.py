#!/usr/bin/env python3
# idle-hold.py - hold N idle connections to a pollserv on 127.0.0.1.
#
# Usage: idle-hold.py PORT N [MAX_SECONDS [echo]]
# Connects N chat clients (loopback only), reads everything the server sends
# (welcome and "joined" lines) until every client has its welcome and the
# line has been quiet for a moment, then prints "ready N" on stdout and
# keeps the connections open, reading whatever arrives, until SIGTERM or
# MAX_SECONDS (default 600) pass.  It never sends a byte: idle clients.
# With "echo" (an echo-mode server says nothing) quiet alone means ready.
import resource
import selectors
import signal
import socket
import sys
import time


def main():
    port = int(sys.argv[1])
    n = int(sys.argv[2])
    life = float(sys.argv[3]) if len(sys.argv) > 3 else 600.0
    echo = len(sys.argv) > 4 and sys.argv[4] == "echo"
    deadline = time.monotonic() + life
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 64
    if soft != resource.RLIM_INFINITY and soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            sys.exit("idle-hold: RLIMIT_NOFILE hard limit %d < %d" % (hard, want))
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    sel = selectors.DefaultSelector()
    welcomed = set()
    socks = []
    last_data = time.monotonic()

    def drain(sock):
        nonlocal last_data
        while True:
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                return
            except OSError as e:
                sys.exit("idle-hold: recv: %s" % e)
            if not data:
                sys.exit("idle-hold: server closed a connection")
            last_data = time.monotonic()
            if b"* welcome, you are " in data:
                welcomed.add(sock.fileno())

    def pump(timeout):
        for key, _ in sel.select(timeout):
            drain(key.fileobj)

    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.connect(("127.0.0.1", port))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        socks.append(s)
        if i % 100 == 99:
            pump(0)
    # Wait for every welcome and the end of the join storm.
    while time.monotonic() < deadline:
        pump(0.2)
        if (echo or len(welcomed) == n) and \
                time.monotonic() - last_data > 1.0:
            break
    else:
        sys.exit("idle-hold: only %d of %d welcomed" % (len(welcomed), n))
    print("ready %d" % n, flush=True)
    while time.monotonic() < deadline:
        pump(1.0)


if __name__ == "__main__":
    main()
