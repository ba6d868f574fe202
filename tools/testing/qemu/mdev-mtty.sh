#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The emulated-IOMMU path with code nobody here wrote: runs in the test guest
# (tools/testing/vm/run.sh), loads mtty (the kernel's own sample mdev driver,
# samples/vfio-mdev/mtty.c of the guest kernel's linux-source, built by the
# Makefile), creates an mdev and opens it with an unmodified QEMU ($QEMU,
# default the host's) with -device vfio-pci,sysfsdev=<the mdev>, the module
# in its type1 compat mode. For each of two set-ups, beside vfio_iommu_type1
# and as the only backend, it checks through the module's debugfs
# (vfio_iommu_range/containers/<id>/) that QEMU's container is ours, of type
# type1v2, holds the mdev's group as an emulated one and has no IOMMU domain
# (QEMU's RAM is pinned for it, with no IOMMU page-table work), and over QMP
# (query-pci) that QEMU's guest has the device; then after a QMP "quit" that
# the container is gone, its mappings are undone and unpinned and nothing
# holds the module.
# At the end the mdev is removed and mtty unloaded; vfio_iommu_type1 is
# loaded again.
#
# Prints kselftest TAP ending in "# Totals:". Every wait is bounded. QEMU's
# output and the QMP transcript are kept in $VM_OUT (else /tmp) as
# mdev-mtty-<set-up>.log and .qmp; after a failed check their tail is
# printed.
#
# usage: mdev-mtty.sh <vfio_iommu_range.ko> <mtty.ko>
set -uo pipefail

module=$1 mtty=$2
qemu=${QEMU:-qemu-system-x86_64}
# mtty's PCI IDs (its mtty_create_config_space()), as QMP prints them.
mtty_vendor=$((0x4348)) mtty_device=$((0x3253))
parent=/sys/class/mdev_bus/mtty
# ok, skip, wait_for, find_dir, qmp, show_logs...; prints the totals at exit.
. "$(dirname "${BASH_SOURCE[0]}")/qemu-lib.sh"

# Writes $2 to the sysfs file $1.
put() { echo "$2" >"$1"; }

# Up to 10 s for a path to appear (udev-less devtmpfs is quick).
appears() {
	local i
	for ((i = 0; i < 20; i++)); do
		[ -e "$1" ] && return 0
		nap
	done
	return 1
}

has_ram() { has_line '* ram rw pinned [1-9]*' "$cdir/mappings"; }

# The reply to query-pci (in $qmplog) has mtty's vendor and device IDs,
# which no other device of the machine has.
sees_mtty() {
	local reply
	reply=$(qmp query-pci) || return 1
	[[ $reply == *"\"vendor\": $mtty_vendor"[,\}]* &&
		$reply == *"\"device\": $mtty_device"[,\}]* ]]
}

# One QEMU run on the mdev; $1 names the set-up.
run_qemu() {
	local tag=$1 base_pinned base_maps base_unmaps fail0=$fail
	cdir=
	qlog=$logdir/mdev-mtty-$tag.log qmplog=$logdir/mdev-mtty-$tag.qmp
	rm -f "$qlog" "$qmplog"

	base_pinned=$(counter "$dbg" pinned_pages)
	base_maps=$(counter "$dbg" maps)
	base_unmaps=$(counter "$dbg" unmaps)
	t0=$SECONDS
	# -S: the container, its RAM mappings and the device are all set up
	# before the guest's first instruction; nothing needs the guest to run.
	"$qemu" -accel tcg -m 64M -nodefaults -display none -S \
		-device "vfio-pci,sysfsdev=$mdev" \
		-qmp "unix:$work/qmp.sock,server=on,wait=off" \
		-msg timestamp=on -trace vfio_realize \
		-trace vfio_listener_region_add_ram \
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
	ok "$tag: guest RAM mapped through the module" \
		wait_for "$limit" has_ram
	echo "# $tag: RAM mapped after $((SECONDS - t0)) s"
	sed 's/^/# info: /' "$cdir/info"
	sed 's/^/# mappings: /' "$cdir/mappings"
	sed 's/^/# counters: /' "$cdir/counters"
	ok "$tag: QEMU selected type1v2" \
		grep -qx 'type VFIO_TYPE1v2_IOMMU 0x3' "$cdir/info"
	ok "$tag: the mdev's group $group is in it, emulated" \
		grep -qx "group $group emulated" "$cdir/info"
	ok "$tag: the container has no IOMMU domain" \
		grep -qx 'domains 0' "$cdir/info"
	ok "$tag: RAM pinned with no IOMMU page-table work" \
		test "$(counter "$cdir" pinned_pages)" -gt 0 -a \
		"$(counter "$cdir" iommu_map_calls)" -eq 0
	ok "$tag: QEMU's guest has the mtty device (query-pci)" sees_mtty
	if loaded vfio_iommu_type1; then
		ok "$tag: vfio_iommu_type1 has no user" \
			grep -qx 0 /sys/module/vfio_iommu_type1/refcnt
	fi

	quit_and_check_released "$tag" "$base_pinned" "$base_maps" \
		"$base_unmaps"
	[ "$fail" -eq "$fail0" ] || show_logs
}

command -v "$qemu" >/dev/null || { skip "no $qemu"; exit; }
echo "# waits: $limit s per QEMU run, $stall s without QEMU CPU time"
if ! modinfo -p "$module" | grep -q '^compat_type1:'; then
	skip "the module has no compat_type1 parameter (no type1 compat mode)"
	exit
fi
vermagic=$(modinfo -F vermagic "$mtty" 2>/dev/null)
ok "mtty.ko was built for $(uname -r)" test "${vermagic%% *}" = "$(uname -r)"
ok "modprobe mdev" modprobe mdev
ok "insmod mtty.ko" insmod "$mtty"
types=("$parent"/mdev_supported_types/*)
ok "mtty registered its mdev types (${types[*]##*/})" test -d "${types[0]}"
[ -d "${types[0]}" ] || exit
uuid=$(cat /proc/sys/kernel/random/uuid)
mdev=/sys/bus/mdev/devices/$uuid
ok "create mdev $uuid of type ${types[0]##*/}" put "${types[0]}/create" "$uuid"
ok "the mdev is on the mdev bus" appears "$mdev"
group=$(basename "$(readlink "$mdev/iommu_group")")
ok "the mdev has an IOMMU group ($group) and its /dev/vfio file" \
	appears "/dev/vfio/$group"

! loaded vfio_iommu_range || rmmod vfio_iommu_range
modprobe vfio_iommu_type1 && type1_allow_unsafe
# shellcheck disable=SC2086 # empty or one word
ok "insmod with compat_type1=1 beside vfio_iommu_type1" \
	insmod "$module" compat_type1=1 $UNSAFE_IRQ
if loaded vfio_iommu_range && [ -e "/dev/vfio/$group" ]; then
	run_qemu beside-type1
	ok "rmmod vfio_iommu_type1" rmmod vfio_iommu_type1
	loaded vfio_iommu_type1 || run_qemu only-backend
	ok "rmmod vfio_iommu_range" rmmod vfio_iommu_range
fi
ok "remove the mdev" put "$mdev/remove" 1
ok "the mdev is gone" test ! -e "$mdev"
ok "rmmod mtty" rmmod mtty
ok "modprobe vfio_iommu_type1 again" modprobe vfio_iommu_type1
type1_allow_unsafe
