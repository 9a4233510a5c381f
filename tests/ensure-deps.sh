#!/bin/sh
# ensure-deps.sh - make sure Check and pkg-config are there before `make check`.
# As root on Debian it installs them; anyone else is told the exact command.
set -u
have() { command -v "$1" >/dev/null 2>&1; }
# Optional tools some suites use (the hardening suite injects syscall faults
# with strace and lowers fd limits with prlimit): installed as root, else
# those tests say they are skipped.  Never fatal.
if ! have strace || ! have prlimit; then
	if [ "$(id -u)" -eq 0 ] && have apt-get; then
		echo "ensure-deps: installing strace and util-linux with apt-get"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace \
		    util-linux >/dev/null 2>&1 || {
			apt-get update -qq >/dev/null 2>&1
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			    strace util-linux >/dev/null 2>&1
		} || echo "ensure-deps: could not install strace; the fault" \
		    "injection tests will be skipped" >&2
	else
		echo "ensure-deps: strace or prlimit missing; some hardening" \
		    "tests will be skipped (apt-get install strace util-linux)" >&2
	fi
fi
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
