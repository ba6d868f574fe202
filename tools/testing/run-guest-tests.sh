#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Runs inside the test guest (see tools/testing/vm/run.sh): loads the module
# beside vfio_iommu_type1, runs every selftest binary, and checks that the
# module unloads afterwards, which it cannot while any container still holds
# it. Every binary prints kselftest TAP ending in a "# Totals:" line; this
# script's own checks end in one too, so the host can add them all up.
#
# usage: [VRANGE_PARAMS='<parameters of vfio_iommu_range.ko>']
#        run-guest-tests.sh <directory of the built modules> <directory of
#        test binaries> [<parameter of vfio_range_test.ko>...]
#
# VRANGE_PARAMS (e.g. min_pgsize=0x200000, make check's vtd2m) is given to
# the load the selftests run under; the later loads, the compat reload and
# nested-qemu.sh's, are of the default configuration.
set -uo pipefail

moddir=$1 testdir=$2
shift 2
test_params=("$@")
read -ra module_params <<<"${VRANGE_PARAMS:-}"
module=$moddir/vfio_iommu_range.ko
test_module=$moddir/vfio_range_test.ko
pass=0 fail=0

. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

loaded() { grep -q "^$1 " /proc/modules; }

echo "# IOMMU: ${VM_IOMMU:-intel}${UNSAFE_IRQ:+ (no interrupt remapping: $UNSAFE_IRQ)}${VRANGE_PARAMS:+ (module: $VRANGE_PARAMS)}"
modprobe vfio_iommu_type1
check "vfio_iommu_type1 is loaded" loaded vfio_iommu_type1
type1_allow_unsafe
# shellcheck disable=SC2086 # empty or one word
check "insmod $(basename "$module")${VRANGE_PARAMS:+ $VRANGE_PARAMS}" \
	insmod "$module" $UNSAFE_IRQ "${module_params[@]}"
check "vfio_iommu_range is loaded beside vfio_iommu_type1" \
	loaded vfio_iommu_range
check "insmod $(basename "$test_module")${test_params[*]:+ ${test_params[*]}}" \
	insmod "$test_module" "${test_params[@]}"

for t in "$testdir"/*_test; do
	[ -x "$t" ] || continue
	echo "# ===== $(basename "$t")"
	"$t" 2>&1 | tee /tmp/selftest.out
	status=${PIPESTATUS[0]}
	# A binary that died before its summary reported nothing; count it.
	check "$(basename "$t") ran to its summary (exit status $status)" \
		grep -q '^# Totals:' /tmp/selftest.out
done

# Tests turn compat_type1 on around their own VFIO_SET_IOMMU only.
check "compat_type1 is off after the tests" \
	grep -qx N /sys/module/vfio_iommu_range/parameters/compat_type1
check "rmmod vfio_range_test" rmmod vfio_range_test
check "no container holds the module after the tests" \
	grep -qx 0 /sys/module/vfio_iommu_range/refcnt
check "rmmod vfio_iommu_range" rmmod vfio_iommu_range
check "vfio_iommu_type1 still loaded" loaded vfio_iommu_type1
check "insmod again after rmmod, with compat_type1=1" \
	insmod "$module" compat_type1=1 $UNSAFE_IRQ
check "compat_type1=1 taken at load" \
	grep -qx Y /sys/module/vfio_iommu_range/parameters/compat_type1
check "rmmod again" rmmod vfio_iommu_range

# min_pgsize: values refused at load, and one above VT-d's largest page
# (1 GiB), which leaves it none: vfio_range_pgsize_test's
# no_page_size_left (elsewhere it skips, as do its granule tests).
insmod_einval() {
	local out
	if out=$(insmod "$module" "$@" 2>&1); then
		rmmod vfio_iommu_range
		return 1
	fi
	grep -q "Invalid parameters" <<<"$out" && ! loaded vfio_iommu_range
}
check "insmod min_pgsize=0x1800 (not a power of two): EINVAL" \
	insmod_einval min_pgsize=0x1800
check "insmod min_pgsize=0x800 (below PAGE_SIZE): EINVAL" \
	insmod_einval min_pgsize=0x800
# shellcheck disable=SC2086 # empty or one word
check "insmod min_pgsize=0x80000000" \
	insmod "$module" min_pgsize=0x80000000 $UNSAFE_IRQ
check "insmod $(basename "$test_module") beside it" insmod "$test_module"
echo "# ===== vfio_range_pgsize_test (min_pgsize=0x80000000)"
"$testdir/vfio_range_pgsize_test" 2>&1 | tee /tmp/selftest.out
status=${PIPESTATUS[0]}
check "vfio_range_pgsize_test ran to its summary (exit status $status)" \
	grep -q '^# Totals:' /tmp/selftest.out
check "rmmod vfio_range_test and vfio_iommu_range" \
	rmmod vfio_range_test vfio_iommu_range

# Last: they load the module in its type1 compat mode and unload
# vfio_iommu_type1 for a while (they load it again at the end).
# nested-qemu.sh: once for each QEMU of $NESTED_QEMUS (default: the host's).
# mdev-mtty.sh: if $MTTY names an mtty.ko (make check gives both on some
# configurations only: Documentation/qemu.rst).
qemu_test() { # name script args...
	local name=$1 status
	shift
	echo "# ===== $name"
	"$@" 2>&1 | tee /tmp/selftest.out
	status=${PIPESTATUS[0]}
	check "$name ran to its summary (exit status $status)" \
		grep -q '^# Totals:' /tmp/selftest.out
	check "vfio_iommu_type1 loaded again" loaded vfio_iommu_type1
}
for qemu in ${NESTED_QEMUS:-qemu-system-x86_64}; do
	QEMU=$qemu qemu_test "nested-qemu.sh ($qemu)" \
		tools/testing/qemu/nested-qemu.sh "$module"
done
[ -z "${MTTY:-}" ] ||
	qemu_test mdev-mtty.sh tools/testing/qemu/mdev-mtty.sh "$module" "$MTTY"

echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:0 error:0"
