#!/bin/sh
# check-manpage.sh - the man page SYNOPSIS must name exactly the options that
# `pollserv --help` names in its usage lines.  Prints a Check-style verdict.
set -u
bin=${1:?usage: check-manpage.sh POLLSERV_BINARY MANPAGE}
man=${2:?usage: check-manpage.sh POLLSERV_BINARY MANPAGE}

# Usage lines: everything before the first blank line of --help.
from_help=$("$bin" --help | sed '/^$/q' | grep -o -- '-[-a-zA-Z]*' | sort -u)
# SYNOPSIS: "Fl -max-line" is --max-line, "Fl l" is -l, "Fl v | q" is -v -q.
from_man=$(sed -n '/^\.Sh SYNOPSIS/,/^\.Sh /p' "$man" |
	sed -n 's/.*Fl \(.*\)/\1/p' | sed 's/ Ar .*//; s/ Cm .*//' |
	tr '|' '\n' | tr -d ' ' | sed 's/^/-/' | sort -u)
if [ "$from_help" = "$from_man" ]; then
	echo "check-manpage: 1 passed, 0 failed"
	exit 0
fi
echo "check-manpage: SYNOPSIS and --help differ" >&2
echo "--help: $(echo $from_help)" >&2
echo "man:    $(echo $from_man)" >&2
echo "check-manpage: 0 passed, 1 failed"
exit 1
