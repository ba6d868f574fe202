#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs the vfio-range benchmark inside the test guest (tools/testing/vm/run.sh):
# loads vfio_iommu_type1 and vfio_iommu_range, runs vfio_range_bench with the
# given options, and writes its table to $VM_OUT/bench.txt and stdout.
#
#   run-bench.sh [--module KO] [--bench BIN] [-- ] [vfio_range_bench options]
#
# KO defaults to build/$(uname -r)/vfio_iommu_range.ko, BIN to
# build/bench/vfio_range_bench, both relative to the repository.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd -P)
KO=$REPO/build/$(uname -r)/vfio_iommu_range.ko
BIN=$REPO/build/bench/vfio_range_bench
OUTDIR=${VM_OUT:-/tmp}

while (($#)); do
	case $1 in
	--module) KO=${2:?}; shift 2 ;;
	--bench) BIN=${2:?}; shift 2 ;;
	--) shift; break ;;
	*) break ;;
	esac
done

[[ -x $BIN ]] || { echo "run-bench.sh: no $BIN (make -C tools/testing/bench)" >&2; exit 1; }

mountpoint -q /sys/kernel/debug 2>/dev/null ||
	mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || true

modprobe vfio_iommu_type1
if ! grep -q '^vfio_iommu_range ' /proc/modules; then
	[[ -f $KO ]] || { echo "run-bench.sh: no $KO (make modules)" >&2; exit 1; }
	insmod "$KO"
fi

# THP only where the benchmark asks (its THP buffer), so that khugepaged
# does not collapse the fragmented 4 KiB buffer; no proactive compaction,
# which would migrate that buffer's pages into longer runs.
thp=/sys/kernel/mm/transparent_hugepage
if [[ -w $thp/enabled ]]; then
	echo madvise >"$thp/enabled"
	echo madvise >"$thp/defrag"
fi
[[ ! -e /proc/sys/vm/compaction_proactiveness ]] ||
	echo 0 >/proc/sys/vm/compaction_proactiveness
hp=/sys/kernel/mm/hugepages
for sz in 2048 1048576; do
	[[ -e $hp/hugepages-${sz}kB ]] &&
		echo "# hugepages: $(cat "$hp/hugepages-${sz}kB/nr_hugepages") x ${sz} KiB" >&2
done
rc=0
"$BIN" "$@" >"$OUTDIR/bench.txt" || rc=$?
cat "$OUTDIR/bench.txt"
exit $rc
