#!/bin/sh
# run-tests.sh - run the Check suites, the integration table again under the
# fault injector, then the doc checks; fail if any of them fails.
# CK_VERBOSITY=normal keeps Check's "N%: Checks: ..." summary lines visible.
set -u
bin=${1:?usage: run-tests.sh TEST_BINARY POLLSERV_BINARY FAULTSHIM}
server=${2:?usage: run-tests.sh TEST_BINARY POLLSERV_BINARY FAULTSHIM}
shim=${3:?usage: run-tests.sh TEST_BINARY POLLSERV_BINARY FAULTSHIM}
here=$(dirname "$0")
CK_VERBOSITY=${CK_VERBOSITY:-normal}
export CK_VERBOSITY
status=0
"$bin" || status=1
# Every server of the integration table, every driver, now meets random
# EAGAIN, EINTR and short reads and writes (tests/faultshim.c); the
# assertions are the same: every byte, in order, no crash.
echo "run-tests: the integration table again, under tests/faultshim.c"
CK_RUN_SUITE=integration TU_SERVER_PRELOAD=$(cd "$(dirname "$shim")" && pwd)/$(basename "$shim") \
	"$bin" || status=1
sh "$here/check-manpage.sh" "$server" "$here/../docs/pollserv.1" || status=1
exit $status
