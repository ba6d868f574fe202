# SPDX-License-Identifier: GPL-2.0-only
#
# Sourced by the guest scripts that run a nested QEMU on the module
# (nested-qemu.sh, mdev-mtty.sh): numbered kselftest TAP ending in
# "# Totals:" (printed at exit), bounded waits on a QEMU process ($qpid)
# that also catch a hung one, the container of ours QEMU opened, QMP, and
# the tail of QEMU's log ($qlog) and QMP transcript ($qmplog) after a
# failure.
#
# Environment: NESTED_TIMEOUT (s) bounds each wait from $t0, NESTED_STALL
# (s) fails a wait early once QEMU has used no CPU time for that long (hung,
# not slow).
# shellcheck shell=bash
# shellcheck disable=SC2034 # variables for the scripts that source this

dbg=/sys/kernel/debug/vfio_iommu_range
logdir=${VM_OUT:-/tmp}
# Nested TCG inside a TCG guest: most of QEMU's start is loading its 50 MB of
# binary and libraries over the guest's 9p root, which a busy host slows
# down: QEMU opened its container 13 to 58 s after its start on the stock
# 6.1 and 6.12 kernels here (host load 8 to 15 on 2 cores). A debug kernel
# (lockdep, KASAN, kmemleak) is slower still. The bounds are generous; a
# hung QEMU is caught by the stall check long before them.
if [ -e /proc/lockdep ] || [ -e /sys/kernel/debug/kmemleak ]; then
	limit=${NESTED_TIMEOUT:-600}
else
	limit=${NESTED_TIMEOUT:-300}
fi
stall=${NESTED_STALL:-120}
work=$(mktemp -d /tmp/qemu-lib.XXXXXX)
n=0 pass=0 fail=0 skip=0
qpid='' qlog='' qmplog=''
qstate='?' qticks=0 t0=$SECONDS
hz=$(getconf CLK_TCK)
# UNSAFE_IRQ, type1_allow_unsafe (the guest's IOMMU may not remap interrupts)
. "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"

# shellcheck disable=SC2317 # the EXIT trap
finish() {
	[ -n "$qpid" ] && kill -KILL "$qpid" 2>/dev/null
	rm -rf "$work"
	echo "# $(basename "$0") took $SECONDS s"
	echo "1..$n"
	echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
	exit $((fail ? 1 : 0))
}
trap finish EXIT

loaded() { grep -q "^$1 " /proc/modules; }
counter() { awk -v k="$2" '$1 == k { print $2 }' "$1/counters"; }

# The polls below start no program: on the guest's one CPU every exec from
# the 9p root costs about a second that QEMU, starting at the same time, would
# otherwise have had.

# Sleeps 0.5 s: a read that times out on a FIFO nobody writes to.
mkfifo "$work/tick" && exec {tick}<>"$work/tick"
nap() { read -rt 0.5 -u "$tick"; }

# Whether a line of file $2 matches the pattern $1.
has_line() {
	local l
	[ -r "$2" ] || return 1
	while IFS= read -r l; do
		# shellcheck disable=SC2254 # $1 is a pattern
		case $l in $1) return 0 ;; esac
	done <"$2"
	return 1
}

# QEMU's state letter and CPU time (user + system, clock ticks, all threads)
# into qstate and qticks, from /proc/<pid>/stat.
qemu_cpu() {
	local s
	read -r s <"/proc/$qpid/stat" 2>/dev/null || return 1
	# shellcheck disable=SC2086 # split into the fields after "(comm) "
	set -- ${s##*) }
	qstate=$1 qticks=$((${12} + ${13}))
}

# What QEMU is doing: its state, CPU time and, per thread, where it sleeps.
qemu_where() {
	local t c w st
	qemu_cpu || { echo "# QEMU (pid $qpid) is gone"; return; }
	echo "# QEMU pid $qpid: state $qstate, $((qticks / hz)) s CPU in $((SECONDS - t0)) s"
	for t in /proc/"$qpid"/task/*; do
		read -r c <"$t/comm" 2>/dev/null || continue
		read -r w <"$t/wchan" 2>/dev/null
		read -r st <"$t/stat" 2>/dev/null
		st=${st##*) }
		echo "# thread ${t##*/} $c: state ${st%% *}, wchan ${w:-?}"
	done
	sed -n 's/^/# main thread stack: /p' "/proc/$qpid/stack" 2>/dev/null
}

# Polls every 0.5 s until the command succeeds, up to $1 s after t0; QEMU must
# stay alive and keep using CPU time (no $stall s without). Says why it gave up.
wait_for() {
	local max=$1 ticks=-1 since=$SECONDS
	shift
	while ! "$@"; do
		if ! kill -0 "$qpid" 2>/dev/null; then
			# It may have exited just after the check did not
			# hold yet: waiting for its exit ("gone") is one.
			"$@" && return 0
			echo "# $*: QEMU exited after $((SECONDS - t0)) s"
			return 1
		fi
		qemu_cpu
		if [ "$qticks" != "$ticks" ]; then
			ticks=$qticks since=$SECONDS
		elif [ $((SECONDS - since)) -ge "$stall" ]; then
			echo "# $*: QEMU used no CPU time for $stall s: hung"
			qemu_where
			return 1
		fi
		if [ $((SECONDS - t0)) -ge "$max" ]; then
			echo "# $*: not done after $((SECONDS - t0)) s (limit $max s)"
			qemu_where
			return 1
		fi
		nap
	done
	return 0
}

# The container QEMU opened: the directory whose info names its pid.
find_dir() {
	local d
	for d in "$dbg"/containers/*; do
		has_line "opener $qpid *" "$d/info" || continue
		cdir=$d
		return 0
	done
	return 1
}
gone() { ! kill -0 "$qpid" 2>/dev/null; }

# Kills QEMU if it still runs and reaps it.
reap() {
	[ -n "$qpid" ] || return 0
	kill -KILL "$qpid" 2>/dev/null
	wait "$qpid" 2>/dev/null
	qpid=
}

# QMP "quit", then everything QEMU had is released: its container ($cdir),
# the pages it pinned and the mappings it made (against the module-wide
# counters before QEMU started), and the module's references.
quit_and_check_released() { # tag base_pinned base_maps base_unmaps
	local tag=$1 base_pinned=$2 base_maps=$3 base_unmaps=$4

	qmp quit >/dev/null || kill -TERM "$qpid"
	t0=$SECONDS
	ok "$tag: QEMU quit" wait_for "$limit" gone
	reap
	echo "# $tag: QEMU exited after $((SECONDS - t0)) s"
	ok "$tag: the container's directory is gone" test ! -e "$cdir"
	ok "$tag: module-wide pinned_pages back to $base_pinned" \
		test "$(counter "$dbg" pinned_pages)" -eq "$base_pinned"
	ok "$tag: every mapping QEMU made was unmapped" \
		test $(($(counter "$dbg" maps) - base_maps)) -eq \
		$(($(counter "$dbg" unmaps) - base_unmaps))
	ok "$tag: nothing holds vfio_iommu_range" \
		grep -qx 0 /sys/module/vfio_iommu_range/refcnt
}

# After a failed check: the end of QEMU's log and of the QMP transcript.
show_logs() {
	local f
	for f in "$qlog" "$qmplog"; do
		if [ ! -s "$f" ]; then
			echo "# nothing in $f"
			continue
		fi
		echo "# last lines of $f:"
		tail -n 40 "$f" | sed 's/^/# | /'
	done
}

# Runs QMP commands (names, no arguments) on QEMU's socket $work/qmp.sock,
# after qmp_capabilities; prints each command's reply (one JSON line) and
# logs the exchange, timestamped, to $qmplog. Events are logged and skipped.
qmp() {
	/usr/bin/python3 - "$work/qmp.sock" "$qmplog" "$@" <<'EOF'
import json, socket, sys, time
log = open(sys.argv[2], 'a')
def note(what, line):
    log.write('%.3f %s %s\n' % (time.time(), what, line.rstrip()))
    log.flush()
s = socket.socket(socket.AF_UNIX)
s.settimeout(60)
s.connect(sys.argv[1])
f = s.makefile('rw')
note('<', f.readline())         # greeting
for cmd in ['qmp_capabilities'] + sys.argv[3:]:
    line = '{"execute": "%s"}' % cmd
    note('>', line)
    f.write(line + '\n')
    f.flush()
    while True:
        line = f.readline()
        if not line:
            sys.exit('QMP: connection closed before the reply to ' + cmd)
        note('<', line)
        if 'event' not in json.loads(line):
            break
    if cmd != 'qmp_capabilities':
        print(line.rstrip())
EOF
}
