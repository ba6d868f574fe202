#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Adds up the "# Totals:" lines of kselftest TAP output and prints the
# project's closing line "N passed, N failed, N skipped". A guest that did
# not finish cleanly (run.sh exit status, no totals at all) counts as one
# failure, so a crash can never look like success.
#
# usage: summarize.sh <output.txt> <exit status of run.sh>
set -uo pipefail

out=$1 status=$2
read -r pass fail skip runs < <(
	sed -n 's/.*# Totals: pass:\([0-9]*\) fail:\([0-9]*\) xfail:\([0-9]*\) xpass:\([0-9]*\) skip:\([0-9]*\) error:\([0-9]*\).*/\1 \2 \3 \4 \5 \6/p' \
		"$out" 2>/dev/null |
	awk '{ p += $1 + $3; f += $2 + $4 + $6; s += $5; n++ }
	     END { print p + 0, f + 0, s + 0, n + 0 }')

if [ "$status" -ne 0 ]; then
	echo "# the guest run failed (exit status $status): see $(dirname "$out")"
	fail=$((fail + 1))
elif [ "$runs" -eq 0 ]; then
	echo "# no test reported any result"
	fail=$((fail + 1))
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
