#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A real DPDK application on the module: runs in the test guest
# (tools/testing/vm/run.sh --nics e1000|virtio, with 2 MiB hugepages on the
# kernel command line) and starts Debian's unmodified dpdk-testpmd (DPDK
# 22.11, whose EAL selects VFIO_TYPE1_IOMMU, type1 v1) on the two NICs
# bound to vfio-pci, which sit on one QEMU hub: what one port sends, the
# other receives by DMA into its RX ring. io forwarding with tx_first keeps
# packets going round in both directions (port 0 -> port 1 -> port 0 ...).
#
# Two runs in one boot, the same commands each:
#   type1   vfio_iommu_type1 alone (the module not loaded);
#   module  vfio_iommu_type1 unloaded, the module with compat_type1=1.
# Each run checks that EAL opened a type1 container, that every port sent
# and received packets, that no IOMMU fault was logged and that nothing
# holds the backend afterwards; the module run also checks through debugfs
# (vfio_iommu_range/containers/<id>/) that the container was ours, type1 v1,
# opened by testpmd, with its hugepages mapped and pinned, and after exit
# that the module-wide pinned pages and mappings are back to their
# baseline. The module's packet counts must be within a factor of
# $DPDK_TOLERANCE of type1's: the mappings are made once at start, so the
# rate is the guest's forwarding loop under TCG in both, and what varies
# is the host's load.
#
# Prints kselftest TAP ending in "# Totals:". Every wait is bounded.
# testpmd's output is kept in $VM_OUT (else /tmp) as testpmd-<run>.log.
#
# usage: testpmd.sh <vfio_iommu_range.ko>
#
# Environment: DPDK_FWD_SECONDS (default 10) of forwarding per run;
# DPDK_TOLERANCE (default 3).
set -uo pipefail

module=$1
dbg=/sys/kernel/debug/vfio_iommu_range
logdir=${VM_OUT:-/tmp}
fwd_seconds=${DPDK_FWD_SECONDS:-10}
tolerance=${DPDK_TOLERANCE:-3}
# From its start to its prompt testpmd loads DPDK's hundred or so shared
# objects over the guest's 9p root and waits up to 9 s for the links: 40 to
# 130 s here (host load 5 to 10 on 2 cores). Its exit takes a few seconds.
start_limit=300
exit_limit=60
work=$(mktemp -d /tmp/testpmd.XXXXXX)
n=0 pass=0 fail=0 skip=0
tpid=
# Packets per run, direction and port: count[<run>,TX|RX,<port>].
declare -A count
. "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"

finish() {
	[ -n "$tpid" ] && kill -KILL "$tpid" 2>/dev/null
	rm -rf "$work"
	echo "# testpmd.sh took $SECONDS s"
	echo "1..$n"
	echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
	exit $((fail ? 1 : 0))
}

loaded() { grep -q "^$1 " /proc/modules; }
counter() { awk -v k="$2" '$1 == k { print $2 }' "$1/counters"; }

# Polls every 0.5 s until the command succeeds, up to $1 s; testpmd must
# stay alive meanwhile.
wait_for() {
	local max=$1 t0=$SECONDS
	shift
	while ! "$@"; do
		if ! kill -0 "$tpid" 2>/dev/null; then
			echo "# $*: testpmd exited after $((SECONDS - t0)) s"
			return 1
		fi
		if [ $((SECONDS - t0)) -ge "$max" ]; then
			echo "# $*: not done after $max s"
			return 1
		fi
		sleep 0.5
	done
}

in_log() { grep -q "$1" "$tlog"; }
gone() { ! kill -0 "$tpid" 2>/dev/null; }

# IOMMU faults of every driver the guest can have (VT-d, AMD-Vi,
# virtio-iommu), counted over the whole kernel log.
faults() {
	dmesg | grep -cE 'DMAR: \[DMA|DRHD: handling fault|IO_PAGE_FAULT|viommu.*fault|virtio_iommu.*fault'
}

# "RX-packets: N ... " of testpmd's forward statistics of port $2 (0 or 1)
# for direction $1 (RX or TX): the NIC's own counters over the forwarding.
fwd_count() {
	awk -v port="$2" -v what="$1-packets:" '
		/Forward statistics for port/ { p = $(NF - 1); next }
		p == port && $1 == what { print $2; exit }' "$tlog"
}

# The container testpmd opened: the directory whose info names its pid.
find_dir() {
	local d
	for d in "$dbg"/containers/*; do
		grep -q "^opener $tpid " "$d/info" 2>/dev/null || continue
		cdir=$d
		return 0
	done
	return 1
}
has_ram() { grep -q ' ram rw pinned [1-9]' "$cdir/mappings"; }

# One testpmd run on the NICs; $1 names it. The module run ($1 = module)
# also inspects its container while testpmd runs.
run_testpmd() {
	local tag=$1 fault0 p c v status t0
	tlog=$logdir/testpmd-$tag.log cdir=
	rm -f "$tlog"
	fault0=$(faults)
	rm -f "$work/cmd"
	mkfifo "$work/cmd"
	# Two lcores on the guest's one CPU: the main one reads the commands,
	# the other forwards. --in-memory: the guest's root is read-only.
	# stdbuf: the log is read while testpmd runs. No hugetlbfs mount is
	# needed: in memory, EAL takes its hugepages from memfd.
	stdbuf -oL dpdk-testpmd --lcores='0@0,1@0' "${allow[@]}" --in-memory -m 128 \
		-- -i --total-num-mbufs=2048 --forward-mode=io \
		<"$work/cmd" >"$tlog" 2>&1 &
	tpid=$! t0=$SECONDS
	exec {cmd}>"$work/cmd"
	echo "# $tag: testpmd pid $tpid, log $tlog"
	ok "$tag: testpmd started its ports" \
		wait_for "$start_limit" in_log '^testpmd>'
	echo "# $tag: prompt after $((SECONDS - t0)) s"
	ok "$tag: EAL used the type1 IOMMU" \
		in_log '^EAL: Using IOMMU type 1 (Type 1)'
	if [ "$tag" = module ]; then
		ok "$tag: testpmd opened a container of ours" \
			wait_for 10 find_dir
		if [ -n "$cdir" ]; then
			sed 's/^/# info: /' "$cdir/info"
			sed 's/^/# mappings: /' "$cdir/mappings"
			sed 's/^/# counters: /' "$cdir/counters"
			ok "$tag: a type1 v1 container" \
				grep -qx 'type VFIO_TYPE1_IOMMU 0x1' "$cdir/info"
			ok "$tag: with both NICs' groups" \
				grep -qx 'groups 2' "$cdir/info"
			ok "$tag: its hugepages mapped and pinned" has_ram
		fi
	fi

	echo "start tx_first 4" >&"$cmd"
	sleep "$fwd_seconds"
	echo "stop" >&"$cmd"
	ok "$tag: forwarding stopped with statistics" \
		wait_for 60 in_log 'Accumulated forward statistics'
	echo "show port stats all" >&"$cmd"
	echo "quit" >&"$cmd"
	exec {cmd}>&-
	t0=$SECONDS
	ok "$tag: testpmd quit" wait_for "$exit_limit" gone
	echo "# $tag: testpmd exited after $((SECONDS - t0)) s"
	kill -KILL "$tpid" 2>/dev/null
	wait "$tpid"
	status=$?
	tpid=
	ok "$tag: testpmd exit status 0 ($status)" test "$status" -eq 0

	for p in 0 1; do
		for c in TX RX; do
			v=$(fwd_count "$c" "$p")
			count[$tag,$c,$p]=${v:-0}
		done
		echo "# $tag: port $p TX ${count[$tag,TX,$p]} RX ${count[$tag,RX,$p]}"
		ok "$tag: port $p sent packets" test "${count[$tag,TX,$p]}" -gt 0
		ok "$tag: port $p received packets (DMA into its RX ring)" \
			test "${count[$tag,RX,$p]}" -gt 0
	done
	ok "$tag: no IOMMU fault in the kernel log" test "$(faults)" -eq "$fault0"
}

# Whether the module's count $1 is within a factor of $tolerance of
# type1's $2.
comparable() {
	[ "$1" -gt 0 ] && [ "$2" -gt 0 ] &&
		[ "$(($1 * tolerance))" -ge "$2" ] &&
		[ "$(($2 * tolerance))" -ge "$1" ]
}

trap finish EXIT
# A testpmd that died early must fail its checks, not kill this script.
trap '' PIPE

command -v dpdk-testpmd >/dev/null ||
	{ skip "no dpdk-testpmd (Debian package dpdk-dev)"; exit; }
# The NICs (PCI class 02: network) bound to vfio-pci, as EAL allow-list
# options.
allow=()
for d in /sys/bus/pci/drivers/vfio-pci/0000:*; do
	case $(cat "$d/class") in
	0x02*) allow+=(-a "${d##*/}") ;;
	esac
done
[ "${#allow[@]}" -eq 4 ] ||
	{ skip "$((${#allow[@]} / 2)) NICs bound to vfio-pci, want 2 (run.sh --nics)"; exit; }
echo "# NICs: ${allow[*]}; $(grep HugePages_Total /proc/meminfo)"

! loaded vfio_iommu_range || rmmod vfio_iommu_range
modprobe vfio_iommu_type1 && type1_allow_unsafe
run_testpmd type1
ok "type1: nothing holds vfio_iommu_type1 after testpmd" \
	grep -qx 0 /sys/module/vfio_iommu_type1/refcnt

ok "rmmod vfio_iommu_type1" rmmod vfio_iommu_type1
# shellcheck disable=SC2086 # empty or one word
ok "insmod with compat_type1=1, vfio_iommu_type1 unloaded" \
	insmod "$module" compat_type1=1 $UNSAFE_IRQ
if loaded vfio_iommu_range && ! loaded vfio_iommu_type1; then
	base_pinned=$(counter "$dbg" pinned_pages)
	base_maps=$(counter "$dbg" maps)
	base_unmaps=$(counter "$dbg" unmaps)
	run_testpmd module
	ok "module: the container's directory is gone" \
		test -n "$cdir" -a ! -e "$cdir"
	sed 's/^/# module-wide counters: /' "$dbg/counters"
	ok "module: module-wide pinned_pages back to $base_pinned" \
		test "$(counter "$dbg" pinned_pages)" -eq "$base_pinned"
	ok "module: every mapping testpmd made was unmapped" \
		test $(($(counter "$dbg" maps) - base_maps)) -eq \
		$(($(counter "$dbg" unmaps) - base_unmaps))
	ok "module: nothing holds vfio_iommu_range" \
		grep -qx 0 /sys/module/vfio_iommu_range/refcnt
	for p in 0 1; do
		for c in TX RX; do
			ok "port $p $c: module ${count[module,$c,$p]} within x$tolerance of type1 ${count[type1,$c,$p]}" \
				comparable "${count[module,$c,$p]}" "${count[type1,$c,$p]}"
		done
	done
	ok "rmmod vfio_iommu_range" rmmod vfio_iommu_range
fi
ok "modprobe vfio_iommu_type1 again" modprobe vfio_iommu_type1
type1_allow_unsafe
