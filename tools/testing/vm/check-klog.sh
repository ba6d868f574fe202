#!/bin/bash
# Scan kernel logs for signs of kernel bugs.
#
#   check-klog.sh FILE...    (or the log on stdin)
#
# Prints each offending line once (prefixed by the file it came from) and exits
# 1 if any is found, 0 if the logs are clean. Only feed it kernel output: dmesg,
# /proc/kmsg captures, or console logs filtered to printk lines (run.sh keeps
# only lines starting with a "[  12.345678]" timestamp from the console).
set -euo pipefail

# Extended regexps. DMAR faults are not in here: tests provoke them on purpose.
PATTERNS=(
	'Oops'
	'BUG:'                              # BUG: KASAN/KFENCE/sleeping/soft lockup...
	'WARNING:'                          # WARN_ON, lockdep "WARNING: possible ..."
	'kernel BUG'
	'general protection fault'
	'KFENCE:'
	'KASAN:'
	'UBSAN:'
	'(^|\] )BUG [^ ]+ \(' # slub_debug report: "BUG kmalloc-64 (Tainted: ...)"
	'INFO: possible (circular|recursive) locking'
	'INFO: task .* blocked for more than'
	'Call Trace:'
	'unreferenced object'               # kmemleak
	'Kernel panic'
	'RCU stall'
	'detected stalls'                   # rcu: INFO: rcu_sched detected stalls
	'soft lockup|hard LOCKUP'
)

re=$(IFS='|'; echo "${PATTERNS[*]}")
found=0
# Dedupe: the same record usually shows up in several captures of one boot.
# Strip a syslog "<6>" prefix and CRs so identical records compare equal.
if out=$(awk -v re="$re" '
	{ sub(/\r$/, ""); line = $0; sub(/^<[0-9]+>/, "", line) }
	line ~ re && !seen[line]++ { print FILENAME ": " line }
' "${@:--}") && [[ -n $out ]]; then
	found=1
	printf '%s\n' "$out"
fi
exit "$found"
