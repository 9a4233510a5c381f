#!/bin/sh
# bench-deps.sh - install what `make bench` uses but does not need: gnuplot
# for the charts, ncat and socat as peer rows, libevent and libuv for the
# library echo peers (bench/peers/), taskset.  As root on Debian it installs
# them; anyone else is told the command, and compare skips the parts that
# need them.
set -u
have() { command -v "$1" >/dev/null 2>&1; }
lib() { pkg-config --exists "$1" 2>/dev/null; }
missing=
have python3 || missing="$missing python3"
have gnuplot || missing="$missing gnuplot-nox"
have ncat || missing="$missing ncat"
have socat || missing="$missing socat"
have taskset || missing="$missing util-linux"
have pkg-config || missing="$missing pkg-config"
lib libevent || missing="$missing libevent-dev"
lib libuv || missing="$missing libuv1-dev"
[ -z "$missing" ] && exit 0
cmd="apt-get install -y$missing"
if [ "$(id -u)" -eq 0 ] && have apt-get; then
	echo "bench-deps: installing$missing with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	# The package lists may be missing or stale on a fresh machine.
	apt-get update -qq >/dev/null 2>&1 || true
	# shellcheck disable=SC2086
	if apt-get install -y -qq --no-install-recommends $missing >/dev/null; then
		exit 0
	fi
	echo "bench-deps: apt-get failed; the bench skips what is missing" >&2
	exit 0
fi
echo "bench-deps: not installed:$missing (charts or peer rows will be skipped)." >&2
echo "bench-deps: to install them run:  sudo $cmd" >&2
exit 0
