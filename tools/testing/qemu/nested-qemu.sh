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
#
# usage: nested-qemu.sh <vfio_iommu_range.ko> [compat module parameter]
set -uo pipefail

module=$1
compat_param=${2:-compat_type1=1}
dbg=/sys/kernel/debug/vfio_iommu_range
qemu=${QEMU:-qemu-system-x86_64}
# Nested TCG inside a TCG guest: QEMU maps its RAM after about 20 s here.
wait_ram=${NESTED_WAIT_RAM:-150}
wait_bar=${NESTED_WAIT_BAR:-150}
wait_exit=${NESTED_WAIT_EXIT:-60}
work=$(mktemp -d /tmp/nested-qemu.XXXXXX)
n=0 pass=0 fail=0 skip=0
qpid=
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
elapsed() { echo $(($(date +%s) - t0)); }

# Waits up to $1 seconds for the command to succeed; QEMU must stay alive.
wait_for() {
	local limit=$1
	shift
	while ! "$@"; do
		kill -0 "$qpid" 2>/dev/null || return 1
		[ "$(elapsed)" -lt "$limit" ] || return 1
		sleep 1
	done
}

# The container QEMU opened: the directory whose info names its pid.
find_dir() {
	local d
	for d in "$dbg"/containers/*; do
		grep -qx "opener $qpid .*" "$d/info" 2>/dev/null || continue
		cdir=$d
		return 0
	done
	return 1
}
has_ram() { grep -q ' ram rw pinned [1-9]' "$cdir/mappings"; }
has_bar() { grep -q " mmio rw pfn $bar_pfn live$" "$cdir/mappings"; }
gone() { ! kill -0 "$qpid" 2>/dev/null; }

vmlck_kb() { awk '/^VmLck:/ { print $2 }' "/proc/$qpid/status"; }

# QEMU's VmLck is what the module charged: its pinned pages, 4 KiB each.
vmlck_matches() {
	local kb pages
	kb=$(vmlck_kb) pages=$(counter "$cdir" pinned_pages)
	echo "# VmLck ${kb} kB, container pinned_pages $pages"
	[ -n "$kb" ] && [ "$kb" -eq $((pages * $(getconf PAGESIZE) / 1024)) ]
}

qmp_quit() {
	/usr/bin/python3 - "$work/qmp.sock" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(30)
s.connect(sys.argv[1])
f = s.makefile('rw')
f.readline()                    # greeting
for cmd in ('qmp_capabilities', 'quit'):
    f.write('{"execute": "%s"}\n' % cmd)
    f.flush()
    f.readline()
EOF
}

# One QEMU run against the module; $1 names the set-up.
run_qemu() {
	local tag=$1 base_pinned base_maps base_unmaps
	cdir=

	base_pinned=$(counter "$dbg" pinned_pages)
	base_maps=$(counter "$dbg" maps)
	base_unmaps=$(counter "$dbg" unmaps)
	t0=$(date +%s)
	# Small RAM, so pinning is quick; no -S: SeaBIOS must run and enable
	# edu's memory decoding, which makes QEMU map the BAR.
	"$qemu" -accel tcg -m 128M -nodefaults -display none \
		-device "vfio-pci,host=$bdf" \
		-qmp "unix:$work/qmp.sock,server=on,wait=off" \
		>"$work/qemu-$tag.log" 2>&1 &
	qpid=$!

	ok "$tag: QEMU opened a container of ours" wait_for "$wait_ram" find_dir
	if [ -z "$cdir" ]; then
		sed 's/^/# qemu: /' "$work/qemu-$tag.log"
		kill -KILL "$qpid" 2>/dev/null
		wait "$qpid" 2>/dev/null
		qpid=
		return
	fi
	echo "# $tag: container $(basename "$cdir") after $(elapsed) s"
	sed 's/^/# info: /' "$cdir/info"
	ok "$tag: QEMU selected type1v2" \
		grep -qx 'type VFIO_TYPE1v2_IOMMU 0x3' "$cdir/info"
	ok "$tag: guest RAM mapped through the module" \
		wait_for "$wait_ram" has_ram
	echo "# $tag: RAM mapped after $(elapsed) s"
	ok "$tag: edu's BAR mapped as a ram-device region" \
		wait_for "$wait_bar" has_bar
	echo "# $tag: BAR mapped after $(elapsed) s"
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
	t0=$(date +%s)
	ok "$tag: QEMU quit" wait_for "$wait_exit" gone
	wait "$qpid" 2>/dev/null
	qpid=
	echo "# $tag: QEMU exited after $(elapsed) s"
	ok "$tag: the container's directory is gone" test ! -e "$cdir"
	ok "$tag: module-wide pinned_pages back to $base_pinned" \
		test "$(counter "$dbg" pinned_pages)" -eq "$base_pinned"
	ok "$tag: every mapping QEMU made was unmapped" \
		test $(($(counter "$dbg" maps) - base_maps)) -eq \
		$(($(counter "$dbg" unmaps) - base_unmaps))
	ok "$tag: nothing holds vfio_iommu_range" \
		grep -qx 0 /sys/module/vfio_iommu_range/refcnt
}

trap finish EXIT

command -v "$qemu" >/dev/null || { skip "no $qemu"; exit; }
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
