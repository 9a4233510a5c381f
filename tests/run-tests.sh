#!/bin/sh
# run-tests.sh - run the Check suites, then the doc checks; fail if any fails.
# CK_VERBOSITY=normal keeps Check's "N%: Checks: ..." summary line visible.
set -u
bin=${1:?usage: run-tests.sh TEST_BINARY POLLSERV_BINARY}
server=${2:?usage: run-tests.sh TEST_BINARY POLLSERV_BINARY}
here=$(dirname "$0")
CK_VERBOSITY=${CK_VERBOSITY:-normal}
export CK_VERBOSITY
status=0
"$bin" || status=1
sh "$here/check-manpage.sh" "$server" "$here/../docs/pollserv.1" || status=1
exit $status
