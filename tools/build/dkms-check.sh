#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Builds and installs the module through Debian's dkms for each kernel
# given, checks that modinfo finds the installed module, then removes it
# again. The source goes to /usr/src/vfio-range-<version> as dkms expects.
#
# usage: dkms-check.sh <kernel release>...
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
name=vfio-range
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")
src=/usr/src/$name-$version

cleanup() {
	dkms remove -m "$name" -v "$version" --all >/dev/null 2>&1 || true
	# A run killed half way can leave an entry dkms will not remove.
	rm -rf "$src" "/var/lib/dkms/$name/$version"
	rmdir "/var/lib/dkms/$name" 2>/dev/null || true
}
trap cleanup EXIT
cleanup

mkdir -p "$src"
# Only what the build needs, as a package would ship it.
(cd "$top" && git ls-files -z -co --exclude-standard -- Kbuild Makefile dkms.conf drivers include \
	tools/build tools/testing/vm/setup.sh | xargs -0 cp --parents -t "$src")
dkms add -m "$name" -v "$version" >/dev/null

status=0
for kver in "$@"; do
	if dkms install -m "$name" -v "$version" -k "$kver" >/dev/null 2>&1 &&
	   modinfo -k "$kver" vfio_iommu_range | grep -q "^filename:.*dkms"; then
		echo "ok - dkms build and install for $kver"
	else
		echo "not ok - dkms build and install for $kver"
		tail -20 "/var/lib/dkms/$name/$version/build/make.log" 2>/dev/null
		status=1
	fi
done
exit $status
