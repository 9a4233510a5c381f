#!/bin/sh
# ensure-deps.sh - make sure what `make check` builds with and runs against is
# there: Check and pkg-config, liburing (the io_uring drivers), hiredis and
# redis-server (the chat bus), strace and prlimit (the hardening suite).
# As root on Debian it installs what is missing with apt-get; anyone else is
# told the exact command.
set -u
have() { command -v "$1" >/dev/null 2>&1; }
pc() { have pkg-config && pkg-config --exists "$1" 2>/dev/null; }

# Required: the build or a test cannot go without them.
need=""
pc check || need="$need check"
have pkg-config || need="$need pkg-config"
pc liburing || need="$need liburing-dev"
pc hiredis || need="$need libhiredis-dev"
have redis-server || need="$need redis-server"
# Optional: the suites that use them say they are skipped without them.
want=""
have strace || want="$want strace"
have prlimit || want="$want util-linux"

[ -z "$need$want" ] && exit 0

cmd="apt-get install -y$need$want"
if [ "$(id -u)" -ne 0 ] || ! have apt-get; then
	[ -z "$need" ] && {
		echo "ensure-deps: missing$want; some hardening tests will be" \
		    "skipped ($cmd)" >&2
		exit 0
	}
	echo "ensure-deps: missing$need. Install with:" >&2
	echo "    sudo apt-get update && sudo $cmd" >&2
	exit 1
fi

echo "ensure-deps: installing$need$want with apt-get"
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
apt-get install -y -qq $need $want >/dev/null 2>&1 || {
	# The package lists may be missing or stale on a fresh machine.
	apt-get update -qq >/dev/null 2>&1 || true
	# shellcheck disable=SC2086
	apt-get install -y -qq $need $want >/dev/null
} || true

missing=""
pc check || missing="$missing check"
pc liburing || missing="$missing liburing-dev"
pc hiredis || missing="$missing libhiredis-dev"
have redis-server || missing="$missing redis-server"
if [ -n "$missing" ]; then
	echo "ensure-deps: apt-get could not install$missing; run: $cmd" >&2
	exit 1
fi
have strace || echo "ensure-deps: no strace; the fault injection tests" \
    "will be skipped" >&2
exit 0
