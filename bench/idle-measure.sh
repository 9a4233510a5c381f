#!/bin/sh
# idle-measure.sh - idle CPU, RSS and wasted calls of every driver, measured.
#
# For each driver and client count: start pollserv pinned to one CPU, hold
# N idle chat clients from another CPU (bench/idle-hold.py), wait until the
# join storm is over, then sample the server for SECS seconds:
#   cpu%      (utime + stime) from /proc/PID/stat, over the wall time
#   wait%     time runnable but not running (/proc/PID/schedstat): other
#             load on the server's CPU; a busy driver shows cpu + wait
#             near 100, and its cpu% is only meaningful when wait% is ~0
#   wb/s      the stats line's wouldblock counter (SIGUSR1 before and after)
#   sweeps/s  and sleeps/s from the same stats lines
#   rss_kb    VmRSS from /proc/PID/status at the end of the window
# Everything stays on 127.0.0.1; only the PIDs started here are killed.
#
# Environment: POLLSERV (binary, default build/plain/pollserv), SECS (5),
# SERVER_CPU (1), CLIENT_CPU (0), DRIVERS ("busy select poll epoll
# backoff"), COUNTS ("100 1000 10000"), MODE (chat; echo skips the join
# storm).  select is skipped above 1000 clients: it cannot watch fds past
# FD_SETSIZE (1024).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
POLLSERV=${POLLSERV:-build/plain/pollserv}
SECS=${SECS:-5}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
DRIVERS=${DRIVERS:-"busy select poll epoll backoff"}
COUNTS=${COUNTS:-"100 1000 10000"}
MODE=${MODE:-chat}
HOLD_LIFE=300		# the holder exits by itself after this, whatever
SETUP_LIMIT=240		# seconds allowed for connecting and the join storm

tmp=$(mktemp -d "${TMPDIR:-/tmp}/idle-measure.XXXXXX")
spid=
hpid=

cleanup() {
	if [ -n "$hpid" ]; then kill "$hpid" 2>/dev/null || :; wait "$hpid" 2>/dev/null || :; fi
	if [ -n "$spid" ]; then kill "$spid" 2>/dev/null || :; wait "$spid" 2>/dev/null || :; fi
	hpid=
	spid=
}
trap 'cleanup; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

die() {
	echo "idle-measure: $*" >&2
	exit 1
}

[ -x "$POLLSERV" ] || die "no $POLLSERV: run make first (or set POLLSERV)"
command -v taskset >/dev/null || die "taskset (util-linux) is needed"
command -v python3 >/dev/null || die "python3 is needed for idle-hold.py"
hz=$(getconf CLK_TCK)

# utime + stime of a process, in clock ticks.
ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# Nanoseconds spent waiting on a run queue.
rqwait() {
	awk '{ print $2 }' "/proc/$1/schedstat"
}

# Number of stats lines the server has written so far.
nstats() {
	grep -c '^pollserv: stats event=signal' "$tmp/err" || :
}

# Ask for a stats line and wait (at most 5 s) until it is there.
stats_now() {
	before=$(nstats)
	kill -USR1 "$spid"
	i=0
	while [ "$(nstats)" -le "$before" ]; do
		i=$((i + 1))
		[ $i -le 500 ] || die "no stats line after SIGUSR1"
		sleep 0.01
	done
}

# field NAME: the value of NAME= in the last stats line.
field() {
	grep '^pollserv: stats event=signal' "$tmp/err" | tail -n 1 |
	    tr ' ' '\n' | sed -n "s/^$1=//p"
}

measure() {
	io=$1 n=$2
	: >"$tmp/out"
	: >"$tmp/err"
	: >"$tmp/hold"
	taskset -c "$SERVER_CPU" "$POLLSERV" --listen 127.0.0.1:0 --io "$io" \
	    --mode "$MODE" --max-clients $((n + 100)) >"$tmp/out" 2>"$tmp/err" &
	spid=$!
	i=0
	while ! grep -q 'listening on' "$tmp/out"; do
		i=$((i + 1))
		[ $i -le 500 ] || die "$io: no listening line: $(cat "$tmp/err")"
		sleep 0.01
	done
	port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$tmp/out")
	holdmode=
	[ "$MODE" = echo ] && holdmode=echo
	taskset -c "$CLIENT_CPU" python3 "$here/idle-hold.py" "$port" "$n" \
	    "$HOLD_LIFE" $holdmode >"$tmp/hold" 2>&1 &
	hpid=$!
	i=0
	while ! grep -q '^ready' "$tmp/hold"; do
		kill -0 "$hpid" 2>/dev/null ||
		    die "$io $n: holder failed: $(cat "$tmp/hold")"
		i=$((i + 1))
		[ $i -le $((SETUP_LIMIT * 10)) ] || die "$io $n: set-up too slow"
		sleep 0.1
	done

	stats_now
	t0=$(ticks "$spid") q0=$(rqwait "$spid")
	wb0=$(field wouldblock) sw0=$(field sweeps) sl0=$(field sleeps)
	up0=$(field uptime)
	sleep "$SECS"
	t1=$(ticks "$spid") q1=$(rqwait "$spid")
	stats_now
	wb1=$(field wouldblock) sw1=$(field sweeps) sl1=$(field sleeps)
	up1=$(field uptime)
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$spid/status")
	clients=$(field clients)
	[ "$clients" -eq "$n" ] || die "$io: $clients clients connected, want $n"
	awk -v io="$io" -v n="$n" -v t0="$t0" -v t1="$t1" -v hz="$hz" \
	    -v q0="$q0" -v q1="$q1" \
	    -v up0="$up0" -v up1="$up1" -v wb0="$wb0" -v wb1="$wb1" \
	    -v sw0="$sw0" -v sw1="$sw1" -v sl0="$sl0" -v sl1="$sl1" \
	    -v rss="$rss" 'BEGIN {
		dt = up1 - up0
		printf "%-8s %6d %7.1f %6.1f %12.0f %11.0f %9.0f %8d %6.2f\n",
		    io, n, 100 * (t1 - t0) / hz / dt,
		    100 * (q1 - q0) / 1e9 / dt, (wb1 - wb0) / dt,
		    (sw1 - sw0) / dt, (sl1 - sl0) / dt, rss, dt
	}'
	cleanup
}

echo "# $("$POLLSERV" --version 2>/dev/null | head -n 1), mode $MODE," \
    "$(nproc) CPUs, kernel $(uname -r), server on CPU $SERVER_CPU," \
    "clients on CPU $CLIENT_CPU, ${SECS}s windows"
printf "%-8s %6s %7s %6s %12s %11s %9s %8s %6s\n" driver clients 'cpu%' \
    'wait%' wouldblock/s sweeps/s sleeps/s rss_kb secs
for n in $COUNTS; do
	for io in $DRIVERS; do
		if [ "$io" = select ] && [ "$n" -gt 1000 ]; then
			printf "%-8s %6d %7s\n" "$io" "$n" "n/a"
			continue
		fi
		measure "$io" "$n"
	done
done
