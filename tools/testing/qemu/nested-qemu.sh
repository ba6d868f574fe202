#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The proof with a real QEMU: runs in the test guest (tools/testing/vm/run.sh)
# and starts the host's unmodified qemu-system-x86_64 (Debian's 7.2; the
# guest sees the host root) with -device vfio-pci,host=<an edu device>.
# QEMU only knows type1, so the module is loaded in its type1 compat mode.
# For each of two set-ups, beside vfio_iommu_type1 (the module registered
# last, so the VFIO core offers it the container first) and as the only
# backend (vfio_iommu_type1 unloaded), it checks through the module's
# debugfs (vfio_iommu_range/containers/<id>/) that QEMU
#   - opened a container of ours with the type1v2 type,
#   - mapped its guest RAM through the module (RAM lines in mappings,
#     counters, QEMU's VmLck equal to the pinned pages),
#   - once SeaBIOS enabled memory decoding of edu's BAR, mapped the BAR as
#     a ram-device region (an mmio line, neither pinned nor charged),
# and that after a QMP "quit" the container is gone, the module-wide
# pinned pages and mappings are back to their baseline and nothing holds
# the module. vfio_iommu_type1 is loaded again at the end.
#
# Prints kselftest TAP ending in "# Totals:". Every wait is bounded.
# QEMU's output (with timestamps and its VFIO trace events) and the QMP
# transcript are kept in $VM_OUT (the run's out directory; else /tmp) as
# nested-qemu-<set-up>.log and .qmp; after a failed check their tail is
# printed.
#
# usage: nested-qemu.sh <vfio_iommu_range.ko> [compat module parameter]
#
# Environment: NESTED_TIMEOUT (s) bounds each QEMU run from its start to its
# BAR mapping, and its exit from the "quit"; NESTED_STALL (s) fails a wait
# early once QEMU has used no CPU time for that long (hung, not slow).
set -uo pipefail

module=$1
compat_param=${2:-compat_type1=1}
dbg=/sys/kernel/debug/vfio_iommu_range
qemu=${QEMU:-qemu-system-x86_64}
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
work=$(mktemp -d /tmp/nested-qemu.XXXXXX)
n=0 pass=0 fail=0 skip=0
qpid=
qstate='?' qticks=0
# UNSAFE_IRQ, type1_allow_unsafe (the guest's IOMMU may not remap interrupts)
. "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"

ok() { # what condition...
	local what=$1
	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n $what"
		pass=$((pass + 1))
	else
		echo "not ok $n $what"
		fail=$((fail + 1))
	fi
}

skip() {
	n=$((n + 1))
	echo "ok $n # SKIP $1"
	skip=$((skip + 1))
}

finish() {
	[ -n "$qpid" ] && kill -KILL "$qpid" 2>/dev/null
	rm -rf "$work"
	echo "# nested-qemu.sh took $SECONDS s"
	echo "1..$n"
	echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
	exit $((fail ? 1 : 0))
}

loaded() { grep -q "^$1 " /proc/modules; }
counter() { awk -v k="$2" '$1 == k { print $2 }' "$1/counters"; }

# The polls below start no program: on the guest's one CPU every exec from
# the 9p root costs about a second that QEMU, starting at the same time, would
# otherwise have had.

# Sleeps 0.5 s: a read that times out on a FIFO nobody writes to.
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
has_ram() { has_line '* ram rw pinned [1-9]*' "$cdir/mappings"; }
has_bar() { has_line "* mmio rw pfn $bar_pfn live" "$cdir/mappings"; }
gone() { ! kill -0 "$qpid" 2>/dev/null; }

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

vmlck_kb() { awk '/^VmLck:/ { print $2 }' "/proc/$qpid/status"; }

# QEMU's VmLck is what the module charged: its pinned pages, 4 KiB each.
vmlck_matches() {
	local kb pages
	kb=$(vmlck_kb) pages=$(counter "$cdir" pinned_pages)
	echo "# VmLck ${kb} kB, container pinned_pages $pages"
	[ -n "$kb" ] && [ "$kb" -eq $((pages * $(getconf PAGESIZE) / 1024)) ]
}

# Asks QEMU to quit over QMP; the exchange goes to $qmplog, timestamped.
qmp_quit() {
	/usr/bin/python3 - "$work/qmp.sock" "$qmplog" <<'EOF'
import socket, sys, time
log = open(sys.argv[2], 'a')
def note(what, line):
    log.write('%.3f %s %s\n' % (time.time(), what, line.rstrip()))
    log.flush()
s = socket.socket(socket.AF_UNIX)
s.settimeout(60)
s.connect(sys.argv[1])
f = s.makefile('rw')
note('<', f.readline())         # greeting
for cmd in ('qmp_capabilities', 'quit'):
    line = '{"execute": "%s"}' % cmd
    note('>', line)
    f.write(line + '\n')
    f.flush()
    note('<', f.readline())
EOF
}

# One QEMU run against the module; $1 names the set-up.
run_qemu() {
	local tag=$1 base_pinned base_maps base_unmaps fail0=$fail
	cdir=
	qlog=$logdir/nested-qemu-$tag.log qmplog=$logdir/nested-qemu-$tag.qmp
	rm -f "$qlog" "$qmplog"

	base_pinned=$(counter "$dbg" pinned_pages)
	base_maps=$(counter "$dbg" maps)
	base_unmaps=$(counter "$dbg" unmaps)
	t0=$SECONDS
	# Small RAM, so pinning is quick; no -S: SeaBIOS must run and enable
	# edu's memory decoding, which makes QEMU map the BAR. The trace events
	# log, timestamped, how far QEMU got with the device.
	"$qemu" -accel tcg -m 128M -nodefaults -display none \
		-device "vfio-pci,host=$bdf" \
		-qmp "unix:$work/qmp.sock,server=on,wait=off" \
		-msg timestamp=on -trace vfio_realize \
		-trace vfio_listener_region_add_ram -trace vfio_region_mmap \
		-trace vfio_disconnect_container -trace vfio_put_group \
		>"$qlog" 2>&1 &
	qpid=$!
	echo "# $tag: QEMU pid $qpid, log $qlog"

	ok "$tag: QEMU opened a container of ours" \
		wait_for "$limit" find_dir
	if [ -z "$cdir" ]; then
		kill -KILL "$qpid" 2>/dev/null
		wait "$qpid" 2>/dev/null
		qpid=
		show_logs
		return
	fi
	echo "# $tag: container $(basename "$cdir") after $((SECONDS - t0)) s"
	sed 's/^/# info: /' "$cdir/info"
	ok "$tag: QEMU selected type1v2" \
		grep -qx 'type VFIO_TYPE1v2_IOMMU 0x3' "$cdir/info"
	ok "$tag: guest RAM mapped through the module" \
		wait_for "$limit" has_ram
	echo "# $tag: RAM mapped after $((SECONDS - t0)) s"
	ok "$tag: edu's BAR mapped as a ram-device region" \
		wait_for "$limit" has_bar
	echo "# $tag: BAR mapped after $((SECONDS - t0)) s"
	sed 's/^/# mappings: /' "$cdir/mappings"
	sed 's/^/# counters: /' "$cdir/counters"
	ok "$tag: counters: maps, iommu_map calls and pinned pages" \
		test "$(counter "$cdir" maps)" -gt 0 -a \
		"$(counter "$cdir" iommu_map_calls)" -gt 0 -a \
		"$(counter "$cdir" pinned_pages)" -gt 0
	ok "$tag: QEMU's locked memory is the module's pinned pages" \
		vmlck_matches
	if loaded vfio_iommu_type1; then
		ok "$tag: vfio_iommu_type1 has no user" \
			grep -qx 0 /sys/module/vfio_iommu_type1/refcnt
	fi

	qmp_quit || kill -TERM "$qpid"
	t0=$SECONDS
	ok "$tag: QEMU quit" wait_for "$limit" gone
	kill -KILL "$qpid" 2>/dev/null
	wait "$qpid" 2>/dev/null
	qpid=
	echo "# $tag: QEMU exited after $((SECONDS - t0)) s"
	ok "$tag: the container's directory is gone" test ! -e "$cdir"
	ok "$tag: module-wide pinned_pages back to $base_pinned" \
		test "$(counter "$dbg" pinned_pages)" -eq "$base_pinned"
	ok "$tag: every mapping QEMU made was unmapped" \
		test $(($(counter "$dbg" maps) - base_maps)) -eq \
		$(($(counter "$dbg" unmaps) - base_unmaps))
	ok "$tag: nothing holds vfio_iommu_range" \
		grep -qx 0 /sys/module/vfio_iommu_range/refcnt
	[ "$fail" -eq "$fail0" ] || show_logs
}

trap finish EXIT

command -v "$qemu" >/dev/null || { skip "no $qemu"; exit; }
hz=$(getconf CLK_TCK)
mkfifo "$work/tick" && exec {tick}<>"$work/tick"
echo "# waits: $limit s per QEMU run, $stall s without QEMU CPU time"
bdf=
for d in /sys/bus/pci/drivers/vfio-pci/0000:*; do
	[ "$(cat "$d/vendor" "$d/device" 2>/dev/null | tr '\n' ' ')" = \
		"0x1234 0x11e8 " ] || continue
	bdf=$(basename "$d")
	break
done
[ -n "$bdf" ] || { skip "no edu device bound to vfio-pci"; exit; }
bar_pfn=$(printf '%#x' $(($(awk 'NR == 1 { print $1 }' \
	"/sys/bus/pci/devices/$bdf/resource") / $(getconf PAGESIZE))))
echo "# edu $bdf, BAR0 pfn $bar_pfn"

if ! modinfo -p "$module" | grep -q "^${compat_param%%=*}:"; then
	skip "the module has no ${compat_param%%=*} parameter (no type1 compat mode)"
	exit
fi
! loaded vfio_iommu_range || rmmod vfio_iommu_range
modprobe vfio_iommu_type1 && type1_allow_unsafe
# shellcheck disable=SC2086 # empty or one word
ok "insmod with $compat_param beside vfio_iommu_type1" \
	insmod "$module" "$compat_param" $UNSAFE_IRQ
if loaded vfio_iommu_range; then
	run_qemu beside-type1
	ok "rmmod vfio_iommu_type1" rmmod vfio_iommu_type1
	loaded vfio_iommu_type1 || run_qemu only-backend
	ok "rmmod vfio_iommu_range" rmmod vfio_iommu_range
fi
ok "modprobe vfio_iommu_type1 again" modprobe vfio_iommu_type1
type1_allow_unsafe
