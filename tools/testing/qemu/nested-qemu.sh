#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The proof with a real QEMU: runs in the test guest (tools/testing/vm/run.sh)
# and starts an unmodified qemu-system-x86_64 ($QEMU, default the host's:
# Debian's 7.2; the guest sees the host root) with -device
# vfio-pci,host=<an edu device>.
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
# Prints kselftest TAP ending in "# Totals:"; every test is named after the
# QEMU version and the set-up ("QEMU 7.2.19 beside-type1: ..."). Every wait
# is bounded. QEMU's output (with timestamps and its VFIO trace events) and
# the QMP transcript are kept in $VM_OUT (the run's out directory; else
# /tmp) as nested-qemu-<version>-<set-up>.log and .qmp; after a failed check
# their tail is printed.
#
# usage: nested-qemu.sh <vfio_iommu_range.ko> [compat module parameter]
#
# Environment: QEMU (the qemu-system-x86_64 to run); NESTED_TIMEOUT (s)
# bounds each QEMU run from its start to its BAR mapping, and its exit from
# the "quit"; NESTED_STALL (s) fails a wait early once QEMU has used no CPU
# time for that long (hung, not slow).
set -uo pipefail

module=$1
compat_param=${2:-compat_type1=1}
qemu=${QEMU:-qemu-system-x86_64}
# ok, skip, wait_for, find_dir, qmp, show_logs...; prints the totals at exit.
. "$(dirname "${BASH_SOURCE[0]}")/qemu-lib.sh"

has_ram() { has_line '* ram rw pinned [1-9]*' "$cdir/mappings"; }
has_bar() { has_line "* mmio rw pfn $bar_pfn live" "$cdir/mappings"; }
vmlck_kb() { awk '/^VmLck:/ { print $2 }' "/proc/$qpid/status"; }

# QEMU's VmLck is what the module charged: its pinned pages, 4 KiB each.
vmlck_matches() {
	local kb pages
	kb=$(vmlck_kb) pages=$(counter "$cdir" pinned_pages)
	echo "# VmLck ${kb} kB, container pinned_pages $pages"
	[ -n "$kb" ] && [ "$kb" -eq $((pages * $(getconf PAGESIZE) / 1024)) ]
}

# One QEMU run against the module; $1 names the set-up.
run_qemu() {
	local tag="QEMU $qver $1" base_pinned base_maps base_unmaps fail0=$fail
	cdir=
	qlog=$logdir/nested-qemu-$qver-$1.log qmplog=$logdir/nested-qemu-$qver-$1.qmp
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
		reap
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

	quit_and_check_released "$tag" "$base_pinned" "$base_maps" \
		"$base_unmaps"
	[ "$fail" -eq "$fail0" ] || show_logs
}

command -v "$qemu" >/dev/null || { skip "no $qemu"; exit; }
qver=$("$qemu" --version | sed -n '1s/^QEMU emulator version \([^ ]*\).*/\1/p')
echo "# $qemu: QEMU ${qver:=unknown}"
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
