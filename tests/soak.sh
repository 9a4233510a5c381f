#!/bin/sh
# soak.sh - long runs outside CI: each driver under ASan, the loadgen's chat
# and echo scenarios, the server's RSS sampled over time.  `make soak`.
#
# usage: tests/soak.sh [POLLSERV [LOADGEN]]   (default: the ASan build)
#   SOAK_SECONDS  per driver, split between chat and echo (600)
#   SOAK_SAMPLE   seconds between RSS samples (10)
#   SOAK_DRIVERS  drivers to run (busy select poll epoll backoff)
# Prints "soak DRIVER MODE T_SECONDS RSS_KB" lines, then a summary per run:
# the RSS after the first sample and at the end.  Fails if a server dies,
# does not exit 0 on SIGTERM (ASan's leak check runs at exit), or the
# loadgen reports a lost, duplicated or corrupted message.
set -u
cd "$(dirname "$0")/.."
bin=${1:-build/san/pollserv}
lg=${2:-$(dirname "$bin")/bench/loadgen}
secs=${SOAK_SECONDS:-600}
step=${SOAK_SAMPLE:-10}
drivers=${SOAK_DRIVERS:-busy select poll epoll backoff}
half=$((secs / 2))
[ "$half" -ge 1 ] || half=1
for f in "$bin" "$lg"; do
	[ -x "$f" ] || { echo "soak: $f not built" >&2; exit 1; }
done
dir=$(mktemp -d /tmp/pollserv-soak.XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail=0

rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" 2>/dev/null; }

soak_one() {
	io=$1
	mode=$2
	shift 2
	# Files per run: the redirections happen in the background child, so
	# a reused name could still show the previous server's port.
	out=$dir/out-$io-$mode
	err=$dir/err-$io-$mode
	"$bin" --listen 127.0.0.1:0 --mode "$mode" --io "$io" \
	    >"$out" 2>"$err" &
	spid=$!
	port=
	i=0
	while [ $i -lt 100 ] && [ -z "$port" ]; do
		port=$(sed -n 's/^pollserv: listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$out")
		sleep 0.1
		i=$((i + 1))
	done
	if [ -z "$port" ]; then
		echo "soak: $io $mode: server did not start" >&2
		kill -9 $spid 2>/dev/null
		fail=1
		return
	fi
	"$lg" --mode "$mode" --addr "127.0.0.1:$port" -d "$half" -q \
	    --pid $spid "$@" >"$dir/lg" 2>&1 &
	lpid=$!
	t=0
	first=
	last=
	while kill -0 $lpid 2>/dev/null; do
		r=$(rss $spid)
		if [ -z "$r" ]; then
			echo "soak: $io $mode: server gone at ${t}s" >&2
			fail=1
			break
		fi
		echo "soak $io $mode $t $r"
		[ -n "$first" ] || first=$r
		last=$r
		sleep "$step"
		t=$((t + step))
	done
	if ! wait $lpid; then
		echo "soak: $io $mode: loadgen failed:" >&2
		cat "$dir/lg" >&2
		fail=1
	fi
	kill -TERM $spid 2>/dev/null
	if ! wait $spid; then
		echo "soak: $io $mode: server did not exit 0:" >&2
		tail -n 30 "$err" >&2
		fail=1
	fi
	echo "soak summary: io=$io mode=$mode seconds=$half rss_first_kb=${first:-?} rss_last_kb=${last:-?}"
	grep '^pollserv: stats event=final' "$err"
}

for io in $drivers; do
	soak_one "$io" chat -c 50 --rate 10
	soak_one "$io" echo -c 50 --rate 200
done
[ $fail -eq 0 ] || { echo "soak: FAILED" >&2; exit 1; }
echo "soak: OK"
