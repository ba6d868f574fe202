# SPDX-License-Identifier: GPL-2.0-only
#
# Sourced by the guest-side test scripts: kselftest-style TAP lines, counted
# into $pass and $fail for the "# Totals:" line the host adds up.

pass=${pass:-0} fail=${fail:-0}

# check WHAT COMMAND...: one "ok"/"not ok" line for COMMAND's status.
check() {
	local what=$1
	shift
	if "$@"; then
		echo "ok - $what"
		pass=$((pass + 1))
	else
		echo "not ok - $what"
		fail=$((fail + 1))
	fi
}

# For scripts that print a plan ("1..$n") at the end: numbered lines, and
# skips counted into $skip.
# ok WHAT COMMAND...: "ok N"/"not ok N" for COMMAND's status.
ok() {
	local what=$1
	shift
	n=$((${n:-0} + 1))
	if "$@"; then
		echo "ok $n $what"
		pass=$((pass + 1))
	else
		echo "not ok $n $what"
		fail=$((fail + 1))
	fi
}

# skip WHY: a numbered skip.
skip() {
	n=$((${n:-0} + 1))
	echo "ok $n # SKIP $1"
	skip=$((${skip:-0} + 1))
}

# The guest's IOMMU (run.sh --iommu: intel, amd or virtio). virtio-iommu has
# no interrupt remapping, so there type1 and this module refuse
# VFIO_SET_IOMMU (EPERM) unless allowed: $UNSAFE_IRQ is the module option
# to load vfio_iommu_range with, type1_allow_unsafe() sets type1's after
# each load.
UNSAFE_IRQ=
[ "${VM_IOMMU:-intel}" != virtio ] || UNSAFE_IRQ=allow_unsafe_interrupts=1
type1_allow_unsafe() {
	[ -z "$UNSAFE_IRQ" ] ||
		echo 1 >/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts
}
