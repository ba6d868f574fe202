#!/bin/bash
# Prepare this machine for building and testing vfio-range in a QEMU guest.
#
#   setup.sh [SERIES...]      install what is missing (for each kernel series,
#                             default 6.1), extract kernel bits, then print
#                             the guest kernel versions, one per line
#   setup.sh --kver [SERIES]  only print the version of one series (default
#                             6.1; installs nothing)
#
# Series 6.1 is Debian 12's own kernel; 6.12 comes from bookworm-backports,
# whose apt source this script adds if it is missing. A series' version is
# $VM_KVER if set (for 6.1), else the newest /boot/vmlinuz-SERIES.*.
# Idempotent: a second run only checks and returns. All chatter goes to stderr
# so that `KVER := $(shell tools/testing/vm/setup.sh)` gets just the version.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
BUILD=$REPO/build
SRC_TARBALL=/usr/src/linux-source-6.1.tar.xz
SRC_DIR=$BUILD/src-6.1

PACKAGES=(build-essential linux-image-amd64 linux-headers-amd64 linux-source-6.1
	qemu-system-x86 busybox-static dwarves bpftool cpio kmod xz-utils zstd
	sparse coccinelle python3 dkms dpdk-dev)

# Only the parts of the kernel tree the project uses (tarball is ~140 MB).
SRC_PATHS=(tools/testing/selftests/kselftest_harness.h
	tools/testing/selftests/kselftest.h
	scripts/checkpatch.pl scripts/spelling.txt scripts/const_structs.checkpatch
	scripts/kernel-doc scripts/extract-vmlinux scripts/coccinelle scripts/coccicheck
	drivers/vfio)

log() { echo "setup.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Newest installed kernel of a series, unless the caller pinned one.
pick_kver() {
	local series=${1:-6.1}

	if [[ -n ${VM_KVER:-} && $series == 6.1 ]]; then
		echo "$VM_KVER"
		return
	fi
	local f v=
	for f in /boot/vmlinuz-"$series".*; do
		[[ -e $f ]] && v+="${f#/boot/vmlinuz-}"$'\n'
	done
	[[ -n $v ]] || return 1
	printf '%s' "$v" | sort -V | tail -n 1
}

install_packages() {
	local p missing=()
	for p in "${PACKAGES[@]}"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	[[ $(id -u) -eq 0 ]] || die "missing packages (${missing[*]}), run as root"
	log "installing: ${missing[*]}"
	# A fresh machine may have no package lists at all.
	apt-get update >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		"${missing[@]}" >&2
}

# Re-extract when the tarball changes (a linux-source update), keyed on its stat.
extract_sources() {
	[[ -f $SRC_TARBALL ]] || die "$SRC_TARBALL not found"
	local key
	key=$(stat -c '%s %Y' "$SRC_TARBALL")
	if [[ -f $SRC_DIR/.stamp && $(cat "$SRC_DIR/.stamp") == "$key" ]]; then
		return 0
	fi
	log "extracting kernel source bits to $SRC_DIR"
	local tmp=$SRC_DIR.tmp.$$
	rm -rf "$tmp"
	mkdir -p "$tmp"
	tar -xJf "$SRC_TARBALL" -C "$tmp" --strip-components=1 \
		"${SRC_PATHS[@]/#/linux-source-6.1/}"
	echo "$key" >"$tmp/.stamp"
	rm -rf "$SRC_DIR"
	mv "$tmp" "$SRC_DIR"
}

# pahole needs the guest kernel's vmlinux as BTF base for module BTF.
extract_vmlinux() {
	local kver=$1 img=/boot/vmlinuz-$1 out=$BUILD/vmlinux-$1
	[[ -f $img ]] || die "$img not found"
	[[ -s $out && $out -nt $img ]] && return 0
	log "extracting $out"
	"$REPO/tools/build/vmlinux-elf.sh" "$img" "$out" >&2 ||
		die "no vmlinux found in $img"
}

BACKPORTS_SOURCE=/etc/apt/sources.list.d/vfio-range-bookworm-backports.sources

# Adds the bookworm-backports apt source unless there is one.
add_backports_source() {
	grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d &&
		return 0
	[[ $(id -u) -eq 0 ]] || die "no bookworm-backports apt source, run as root"
	log "adding the bookworm-backports apt source"
	cat >"$BACKPORTS_SOURCE" <<-EOF2
	Types: deb
	URIs: http://deb.debian.org/debian
	Suites: bookworm-backports
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF2
}

# mtty.c, the kernel's sample mdev driver, of the series' own linux-source
# (the version of its headers if the archive still has it, else the newest:
# the sample hardly changes within a series) into build/mtty-SERIES/,
# re-extracted when the tarball changes. The Makefile builds it for the
# guest against the headers.
extract_mtty() {
	local series=$1 kver=$2 tarball=/usr/src/linux-source-$1.tar.xz
	local out=$BUILD/mtty-$1 key ver
	if [[ ! -f $tarball ]]; then
		[[ $(id -u) -eq 0 ]] || die "no $tarball, run as root"
		ver=$(dpkg-query -W -f '${Version}' "linux-headers-$kver" 2>/dev/null) ||
			die "no linux-headers-$kver, whose version linux-source-$series must have"
		log "installing linux-source-$series=$ver"
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
			"linux-source-$series=$ver" >&2 ||
			DEBIAN_FRONTEND=noninteractive apt-get install -y \
				--no-install-recommends "linux-source-$series" >&2
	fi
	key=$(stat -c '%s %Y' "$tarball")
	[[ -f $out/.stamp && $(cat "$out/.stamp") == "$key" ]] && return 0
	log "extracting mtty.c from $tarball to $out"
	rm -rf "$out"
	mkdir -p "$out"
	tar -xJf "$tarball" -C "$out" --strip-components=3 \
		"linux-source-$series/samples/vfio-mdev/mtty.c"
	echo "$key" >"$out/.stamp"
}

# Installs the newest backports kernel of a series (image and headers) by
# its exact package name, leaving Debian's own kernel the default.
install_backports_kernel() {
	local series=$1 image

	pick_kver "$series" >/dev/null && return 0
	[[ $(id -u) -eq 0 ]] || die "kernel $series missing, run as root"
	add_backports_source
	apt-get update >&2
	image=$(apt-cache show -o APT::Default-Release=bookworm-backports \
		"linux-image-amd64" 2>/dev/null |
		sed -n "s/^Depends: .*\(linux-image-$series\.[^ ,]*-amd64\).*/\1/p" |
		sort -V | tail -n 1)
	[[ -n $image ]] || die "no linux-image-$series.* in bookworm-backports"
	log "installing ${image} and its headers"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		-t bookworm-backports "$image" "${image/image/headers}" >&2
}

main() {
	local series kver
	case ${1:-} in
	--kver)
		pick_kver "${2:-6.1}" || die "no /boot/vmlinuz-${2:-6.1}.* (run setup.sh first)"
		return
		;;
	-*) die "usage: setup.sh [--kver] [SERIES...]" ;;
	esac

	install_packages
	mkdir -p "$BUILD"
	extract_sources
	for series in "${@:-6.1}"; do
		[[ $series == 6.1 ]] || install_backports_kernel "$series"
		kver=$(pick_kver "$series") || die "no /boot/vmlinuz-$series.* after installing it"
		[[ -d /lib/modules/$kver/kernel ]] || die "no modules for $kver in /lib/modules"
		[[ -e /lib/modules/$kver/build ]] || log "warning: no headers for $kver (linux-headers-$kver)"
		extract_vmlinux "$kver"
		extract_mtty "$series" "$kver"
		echo "$kver"
	done
	# QEMU 10 for the nested-QEMU test, beside the host's own (7.2).
	add_backports_source
	"$REPO/tools/testing/qemu/fetch-qemu.sh" "$BUILD/qemu-10"
}

main "$@"
