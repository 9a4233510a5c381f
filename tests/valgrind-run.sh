#!/bin/sh
# valgrind-run.sh - the server under valgrind --leak-check=full for 30 s,
# driven by the loadgen (chat, then echo), then SIGTERM: it must exit 0.
#
# usage: tests/valgrind-run.sh [POLLSERV [LOADGEN]]
#   VALGRIND_SECONDS  total run time, split between chat and echo (30)
#   VALGRIND_IO       driver (epoll: a busy loop under valgrind is slow)
# Runs standalone from the top of the tree; .ci/run calls it too.  Exit 0
# when valgrind found no error or leak, the server exited 0 on SIGTERM and
# the loadgen saw no lost, duplicated or corrupted message.
set -u
cd "$(dirname "$0")/.."
bin=${1:-build/plain/pollserv}
lg=${2:-$(dirname "$bin")/bench/loadgen}
secs=${VALGRIND_SECONDS:-30}
io=${VALGRIND_IO:-epoll}
half=$((secs / 2))

if ! command -v valgrind >/dev/null 2>&1; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind \
		    >/dev/null
	fi
	if ! command -v valgrind >/dev/null 2>&1; then
		echo "valgrind-run: valgrind missing: apt-get install valgrind" >&2
		exit 1
	fi
fi
for f in "$bin" "$lg"; do
	[ -x "$f" ] || { echo "valgrind-run: $f not built (make)" >&2; exit 1; }
done
dir=$(mktemp -d /tmp/pollserv-vg.XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail=0

# run_one MODE LOADGEN-ARGS...: one server, one loadgen run, one verdict.
run_one() {
	mode=$1
	shift
	valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible \
	    --errors-for-leak-kinds=definite,indirect,possible \
	    --error-exitcode=1 --log-file="$dir/vg-$mode.log" \
	    "$bin" --listen 127.0.0.1:0 --mode "$mode" --io "$io" \
	    >"$dir/out-$mode" 2>"$dir/err-$mode" &
	vpid=$!
	# valgrind starts slowly: wait up to 30 s for the listening line.
	port=
	i=0
	while [ $i -lt 300 ]; do
		port=$(sed -n 's/^pollserv: listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' \
		    "$dir/out-$mode")
		[ -n "$port" ] && break
		kill -0 $vpid 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	if [ -z "$port" ]; then
		echo "valgrind-run: $mode server did not start" >&2
		cat "$dir/err-$mode" "$dir/vg-$mode.log" >&2
		kill -9 $vpid 2>/dev/null
		fail=1
		return
	fi
	echo "valgrind-run: $mode server on port $port (io $io), ${half}s of load"
	# Five idle clients stay connected through SIGTERM, so the shutdown
	# path (notice, flush, close everything) runs under valgrind too.
	"$lg" --mode idle --addr "127.0.0.1:$port" -c 5 -d $((half + 30)) -q \
	    >/dev/null 2>&1 &
	ipid=$!
	if ! "$lg" --mode "$mode" --addr "127.0.0.1:$port" -d "$half" \
	    --drain 10 -q "$@" >"$dir/lg-$mode" 2>&1; then
		echo "valgrind-run: loadgen $mode failed:" >&2
		cat "$dir/lg-$mode" >&2
		fail=1
	fi
	kill -TERM $vpid
	wait $vpid
	rc=$?
	kill $ipid 2>/dev/null
	wait $ipid 2>/dev/null
	if [ $rc -ne 0 ]; then
		echo "valgrind-run: $mode server exited $rc under valgrind:" >&2
		cat "$dir/vg-$mode.log" >&2
		tail -n 5 "$dir/err-$mode" >&2
		fail=1
	else
		grep '^pollserv: stats event=final' "$dir/err-$mode"
	fi
}

run_one chat -c 10 --rate 5
run_one echo -c 10 --rate 50
if [ $fail -ne 0 ]; then
	echo "valgrind-run: FAILED" >&2
	exit 1
fi
echo "valgrind-run: OK (no errors, no leaks, exit 0)"
