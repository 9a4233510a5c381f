#!/bin/sh
# ensure-deps.sh - make sure Check and pkg-config are there before `make check`.
# As root on Debian it installs them; anyone else is told the exact command.
set -u
have() { command -v "$1" >/dev/null 2>&1; }
if have pkg-config && pkg-config --exists check 2>/dev/null; then
	exit 0
fi
cmd="apt-get install -y check pkg-config"
if [ "$(id -u)" -eq 0 ] && have apt-get; then
	echo "ensure-deps: installing check and pkg-config with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	# The package lists may be missing or stale on a fresh machine.
	apt-get update -qq || true
	if apt-get install -y -qq check pkg-config >/dev/null; then
		pkg-config --exists check && exit 0
	fi
	echo "ensure-deps: apt-get could not install check; run: $cmd" >&2
	exit 1
fi
echo "ensure-deps: Check is missing. Install it with:" >&2
echo "    sudo apt-get update && sudo $cmd" >&2
exit 1
