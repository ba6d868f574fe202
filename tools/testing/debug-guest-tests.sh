#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Runs inside the debug-kernel guest (make check-debug): the selftest suite
# of run-guest-tests.sh, then the module's KUnit suite, then a kmemleak scan,
# then a positive control of that scan (a leak planted on purpose must be
# reported). KASAN, lockdep and WARN reports are caught by run.sh's kernel
# log check; kmemleak only reports when asked, so that is done here. Ends in
# a "# Totals:" line of its own, like every test binary.
#
# usage: debug-guest-tests.sh <directory of the built modules> <directory of
#        test binaries> [<plant>]
#   plant: none (default), leak or lockdep: the suite runs with
#        vfio_range_test.ko loaded with plant=<plant> (make check-debug
#        PLANT=...), a bug planted to show that the run then fails
set -uo pipefail

moddir=$1 testdir=$2 plant=${3:-none}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
kmemleak=/sys/kernel/debug/kmemleak
suite=vfio_range
pass=0 fail=0 skip=0

. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

# Whatever the kernel leaked while booting is not ours: scan once and set it
# aside, so that the scan at the end reports only what the tests leaked.
if echo scan >$kmemleak; then
	echo "# kmemleak: $(grep -c '^unreferenced object' $kmemleak) suspect(s) from boot set aside"
	echo clear >$kmemleak
fi

[ "$plant" = none ] || echo "# plant=$plant: this run must fail"
"$here/run-guest-tests.sh" "$moddir" "$testdir" "plant=$plant"

# The suite runs when the module loads; debugfs keeps its KTAP results: one
# "    ok N name" line (4 spaces: a case of the suite) per case.
echo "# ===== KUnit $suite"
results=/sys/kernel/debug/kunit/$suite/results
check "insmod vfio_range_kunit.ko" insmod "$moddir/vfio_range_kunit.ko"
if [ -r "$results" ]; then
	cat "$results"
	planned=$(sed -n 's/^    1\.\.\([0-9]*\)$/\1/p' "$results")
	ran=$(grep -cE '^    (not )?ok [0-9]+ ' "$results")
	skipped=$(grep -cE '^    (not )?ok [0-9]+ .* # SKIP' "$results")
	failed=$(grep -cE '^    not ok [0-9]+ ' "$results")
	failed=$((failed - $(grep -cE '^    not ok [0-9]+ .* # SKIP' "$results")))
	pass=$((pass + ran - skipped - failed))
	fail=$((fail + failed))
	skip=$((skip + skipped))
	check "KUnit $suite reported all ${planned:-?} cases" \
		test "${planned:-x}" = "$ran"
	check "rmmod vfio_range_kunit" rmmod vfio_range_kunit
else
	check "KUnit results in $results" false
fi

# An object must stay unreferenced for a few seconds (and two scans) before
# kmemleak reports it. A scan fails if kmemleak turned itself off (e.g. its
# pool ran out): that must not pass as "no leak".
scan() { echo scan >$kmemleak; }
echo "# ===== kmemleak"
check "kmemleak scan" scan
sleep 6
check "kmemleak scan again" scan
leaks=$(cat $kmemleak)
[ -z "$leaks" ] || printf '%s\n' "$leaks" | tee "${VM_OUT:-/tmp}/kmemleak.txt"
check "kmemleak found no leak" test -z "$leaks"

# Positive control: a leak planted now must be reported, with
# test_plant_leak() of vfio_range_test in its backtrace (read while the
# module is still loaded: its symbols go with it). After the verdict above,
# since the "clear" that takes the planted leak out of later scans would
# take any other reported leak with it.
loaded() { grep -q "^$1 " /proc/modules; }
planted_leak_reported() {
	grep -q 'test_plant_leak+.*\[vfio_range_test\]' $kmemleak
}
echo "# ===== kmemleak positive control"
loaded vfio_iommu_range || insmod "$moddir/vfio_iommu_range.ko"
check "insmod vfio_range_test.ko plant=leak" \
	insmod "$moddir/vfio_range_test.ko" plant=leak
check "kmemleak scan" scan
sleep 6
check "kmemleak scan again" scan
# The planted record, as a TAP comment.
awk '/^unreferenced object/ { if (r ~ /test_plant_leak/) printf "%s", r; r = "" }
     { r = r "# " $0 "\n" }
     END { if (r ~ /test_plant_leak/) printf "%s", r }' $kmemleak
check "kmemleak reports the planted leak, in vfio_range_test" \
	planted_leak_reported
echo clear >$kmemleak
check "rmmod vfio_range_test" rmmod vfio_range_test
check "rmmod vfio_iommu_range" rmmod vfio_iommu_range

echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
