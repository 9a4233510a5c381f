#!/bin/sh
# run-tests.sh - run the Check suites and leave Check's summary visible.
# CK_VERBOSITY=normal prints the "N%: Checks: ..." line per suite runner.
set -u
bin=${1:?usage: run-tests.sh TEST_BINARY}
CK_VERBOSITY=${CK_VERBOSITY:-normal}
export CK_VERBOSITY
"$bin"
