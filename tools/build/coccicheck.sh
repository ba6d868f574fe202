#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Runs every coccinelle script of the kernel (scripts/coccinelle, from
# Debian's linux-source) over the module's sources in report mode, as
# `make coccicheck MODE=report` does in-tree. Scripts without a report mode
# are skipped. Exits non-zero if any script reports anything.
#
# usage: coccicheck.sh <kernel source dir> <source dir>...
set -uo pipefail

ksrc=$1
shift
reports=0 ran=0
top=$(cd "$(dirname "$0")/../.." && pwd)

for cocci in $(find "$ksrc/scripts/coccinelle" -name '*.cocci' | sort); do
	grep -q 'virtual report' "$cocci" || continue
	for dir in "$@"; do
		out=$(spatch -D report --very-quiet --no-show-diff \
			--cocci-file "$cocci" --dir "$dir" \
			-I "$top/include" -I "$top/include/uapi" 2>/dev/null)
		ran=$((ran + 1))
		if [ -n "$out" ]; then
			echo "${cocci#"$ksrc"/}:"
			echo "$out"
			reports=$((reports + 1))
		fi
	done
done
echo "coccicheck: $ran script runs, $reports with reports"
[ "$reports" -eq 0 ]
