#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Writes the ELF vmlinux inside a compressed kernel image (bzImage), whose
# .BTF section is the base that a module's split BTF refers to. Looks for
# each xz or zstd stream in the image and keeps the first that decompresses
# to an ELF file. Written for this project; the kernel's own
# scripts/extract-vmlinux does the same for more formats.
#
# usage: vmlinux-elf.sh <kernel image> <output file>
set -euo pipefail

img=$1 out=$2
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

# Byte offsets of a magic number in the image.
offsets() {
	python3 -c '
import sys
data = open(sys.argv[1], "rb").read()
magic = bytes.fromhex(sys.argv[2])
pos = data.find(magic)
while pos >= 0:
	print(pos + 1)
	pos = data.find(magic, pos + 1)
' "$img" "$1"
}

for format in "fd377a585a00 xz" "28b52ffd zstd"; do
	set -- $format
	command -v "$2" >/dev/null || continue
	for pos in $(offsets "$1"); do
		tail -c "+$pos" "$img" | "$2" -dc >"$tmp" 2>/dev/null || true
		if readelf -h "$tmp" >/dev/null 2>&1; then
			mv "$tmp" "$out"
			trap - EXIT
			exit 0
		fi
	done
done
echo "vmlinux-elf.sh: no ELF kernel found in $img" >&2
exit 1
