#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Proves that the module's copy of the VFIO core's private types matches
# the target kernel before the module can be loaded there: the layout
# (names, offsets, sizes, function prototypes) of each type in the module's
# DWARF must equal the one in the BTF of the kernel's vfio.ko. A mismatch
# would make the VFIO core call through the wrong pointer.
#
# usage: check-vfio-layout.sh <module object with DWARF> <vfio.ko> <vmlinux>
set -euo pipefail

obj=$1 vfio_ko=$2 vmlinux=$3
types=(vfio_iommu_driver_ops vfio_group_type)

for f in "$obj" "$vfio_ko" "$vmlinux"; do
	[ -r "$f" ] || { echo "check-vfio-layout: cannot read $f" >&2; exit 1; }
done

# Newer Debian kernels ship compressed modules; pahole reads plain ELF.
case $vfio_ko in
*.xz | *.zst | *.gz)
	tmp=$(mktemp)
	trap 'rm -f "$tmp"' EXIT
	case $vfio_ko in
	*.xz) xz -dc "$vfio_ko" >"$tmp" ;;
	*.zst) zstd -qdc "$vfio_ko" >"$tmp" ;;
	*.gz) gzip -dc "$vfio_ko" >"$tmp" ;;
	esac
	vfio_ko=$tmp
	;;
esac

# The notify callback exists only where the kernel has it; compare its enum
# too when the kernel has one.
if pahole -F btf --btf_base "$vmlinux" -C vfio_iommu_notify_type "$vfio_ko" \
	2>/dev/null | grep -q .; then
	types+=(vfio_iommu_notify_type)
fi

status=0
for t in "${types[@]}"; do
	kernel=$(pahole -F btf --btf_base "$vmlinux" -C "$t" "$vfio_ko")
	ours=$(pahole -F dwarf -C "$t" "$obj")
	if [ -z "$kernel" ]; then
		echo "check-vfio-layout: $t not found in $vfio_ko" >&2
		status=1
	elif [ "$kernel" != "$ours" ]; then
		echo "check-vfio-layout: $t differs from the kernel's:" >&2
		diff <(echo "$kernel") <(echo "$ours") >&2 || true
		status=1
	fi
done
[ $status -eq 0 ] && echo "check-vfio-layout: ${types[*]} match $vfio_ko"
exit $status
