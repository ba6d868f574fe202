#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Builds the debug guest kernel for make check-debug from Debian's
# linux-source-6.1: x86_64_defconfig + kvm_guest.config + debug.config (this
# directory). The build lives outside the tree, keyed by the fragment and the
# source package version, so it runs once and again only when either changes.
#
# Prints shell assignments for the Makefile:
#   DEBUG_KVER   kernel release
#   DEBUG_KDIR   build tree (O= directory; external modules build against it)
#   DEBUG_IMAGE  bzImage to boot
#   DEBUG_MODDIR directory holding lib/modules/$DEBUG_KVER (modules_install)
#
# usage: build-debug-kernel.sh [--print]   (--print: fail if not built yet)
# Cache root: $VFIO_RANGE_CACHE (default ~/.cache/vfio-range).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
FRAGMENT=$HERE/debug.config
TARBALL=/usr/src/linux-source-6.1.tar.xz
CACHE=${VFIO_RANGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vfio-range}/debug-kernel
# Host tools the kernel build needs beyond setup.sh's packages.
PACKAGES=(flex bison bc libelf-dev libssl-dev dwarves)

log() { echo "build-debug-kernel: $*" >&2; }
die() { log "error: $*"; exit 1; }

install_packages() {
	local p missing=()
	for p in "${PACKAGES[@]}" linux-source-6.1; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	log "installing ${missing[*]}"
	apt-get update >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		"${missing[@]}" >&2
}

print_vars() {
	local dir=$1
	[[ -f $dir/done ]] || return 1
	local kver
	kver=$(cat "$dir/kernelrelease")
	echo "DEBUG_KVER=$kver"
	echo "DEBUG_KDIR=$dir/obj"
	echo "DEBUG_IMAGE=$dir/obj/arch/x86/boot/bzImage"
	echo "DEBUG_MODDIR=$dir/mod"
}

build() {
	local dir=$1 src=$2
	local obj=$dir/obj start=$SECONDS fresh=1
	if [[ ! -f $src/.extracted ]]; then
		log "extracting $TARBALL to $src"
		rm -rf "$src" "$src.tmp"
		mkdir -p "$src.tmp"
		tar -xJf "$TARBALL" -C "$src.tmp" --strip-components=1
		touch "$src.tmp/.extracted"
		mv "$src.tmp" "$src"
	fi
	# The directory is named by the fragment and the source, so a build
	# that was interrupted after configuring goes on where it stopped.
	if [[ -f $dir/configured ]]; then
		log "resuming the build in $obj"
		fresh=
	else
		rm -rf "$dir"
	fi
	mkdir -p "$obj"
	[[ -z $fresh ]] || configure "$obj" "$src"
	log "building in $obj ($(nproc) jobs; takes a while: see README)"
	# The machine is usually shared: stay out of interactive work's way.
	nice -n 10 make -s -C "$src" O="$obj" -j"$(nproc)" bzImage modules >&2
	make -s -C "$src" O="$obj" INSTALL_MOD_PATH="$dir/mod" modules_install >&2
	make -s -C "$src" O="$obj" kernelrelease >"$dir/kernelrelease"
	touch "$dir/done"
	log "built $(cat "$dir/kernelrelease") in $((SECONDS - start))s"
	# Builds for an older fragment or source are a few GB each: drop them.
	local old
	for old in "$CACHE"/*/; do
		old=${old%/}
		[[ $old == "$dir" || $old == "$src" ]] || rm -rf "$old"
	done
}

# Writes the debug configuration into @obj and checks that it took.
configure() {
	local obj=$1 src=$2
	make -s -C "$src" O="$obj" x86_64_defconfig
	"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" \
		"$src/kernel/configs/kvm_guest.config" "$FRAGMENT" >/dev/null
	make -s -C "$src" O="$obj" olddefconfig
	# Kconfig drops what it cannot satisfy without a word: insist.
	local opt bad=0
	while read -r opt; do
		grep -qx "$opt" "$obj/.config" || { log "not in .config: $opt"; bad=1; }
	done < <(grep -E '^CONFIG_[A-Z0-9_]+=' "$FRAGMENT")
	while read -r opt; do
		! grep -q "^$opt=" "$obj/.config" || { log "still set: $opt"; bad=1; }
	done < <(sed -n 's/^# \(CONFIG_[A-Z0-9_]*\) is not set$/\1/p' "$FRAGMENT")
	((!bad)) || die "the fragment does not apply to this source"
	touch "$obj/../configured"
}

main() {
	local print_only=
	[[ ${1:-} == --print ]] && print_only=1
	[[ -r $TARBALL ]] || install_packages
	local version key
	version=$(dpkg-query -W -f '${Version}' linux-source-6.1) ||
		die "linux-source-6.1 is not installed"
	key=$({ echo "$version"; cat "$FRAGMENT"; } | sha256sum | cut -c1-16)
	local dir=$CACHE/$key src=$CACHE/src-$version
	if print_vars "$dir" 2>/dev/null; then
		return 0
	fi
	[[ -z $print_only ]] || die "no debug kernel built for this configuration"
	install_packages
	mkdir -p "$CACHE"
	exec 9>"$CACHE/.lock"
	flock 9
	print_vars "$dir" 2>/dev/null && return 0
	build "$dir" "$src"
	print_vars "$dir"
}

main "$@"
