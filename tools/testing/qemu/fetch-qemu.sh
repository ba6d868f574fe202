#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Fetches bookworm-backports' QEMU (10.0) for the nested-QEMU test without
# installing it: the host's own QEMU (7.2) runs the outer guest and must stay.
# Downloads qemu-system-x86, -common and -data with apt-get download, unpacks
# them with dpkg -x into <dir>/root and writes <dir>/qemu-system-x86_64, a
# wrapper that runs that binary on its own data, modules and bookworm's
# SeaBIOS. The guest sees <dir> (it is under build/, in the repository).
#
# usage: fetch-qemu.sh <dir>
#
# Idempotent: once <dir>/.version names what was unpacked, it returns without
# asking apt anything. Needs root and the bookworm-backports apt source
# (setup.sh adds it) only on the first run. Chatter goes to stderr.
set -euo pipefail

dir=$1
suite=bookworm-backports
pkgs=(qemu-system-x86 qemu-system-common qemu-system-data)
wrapper=$dir/qemu-system-x86_64

log() { echo "fetch-qemu.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

bin=usr/bin/qemu-system-x86_64
[[ -s $dir/.version && -x $wrapper && -x $dir/root/$bin ]] && exit 0

# The newest version the suite offers; a fresh machine may have no lists yet.
version() {
	apt-cache madison qemu-system-x86 2>/dev/null |
		awk -F' *[|] *' -v s="$suite" '$3 ~ s { print $2; exit }'
}
ver=$(version)
if [[ -z $ver ]]; then
	[[ $(id -u) -eq 0 ]] || die "no qemu-system-x86 of $suite known, run as root"
	apt-get update >&2
	ver=$(version)
fi
[[ -n $ver ]] || die "no qemu-system-x86 in $suite (is its apt source there?)"

log "fetching QEMU $ver from $suite into $dir"
tmp=$dir.tmp.$$
rm -rf "$tmp"
mkdir -p "$tmp/debs"
# apt-get download writes to the current directory and drops privileges to
# the _apt user where it can: let that user write there.
chmod 777 "$tmp/debs"
(cd "$tmp/debs" && apt-get download "${pkgs[@]/%/=$ver}" >&2) ||
	die "apt-get download ${pkgs[*]} ($ver) failed"
for deb in "$tmp"/debs/*.deb; do
	dpkg -x "$deb" "$tmp/root"
done
rm -rf "$tmp/debs"
[[ -x $tmp/root/$bin ]] || die "no $bin in the packages"

# -L: its own data first (the option ROMs, keymaps), then SeaBIOS, whose
# bios-256k.bin the data package only links to. QEMU_MODULE_DIR: its own
# modules, not the host's 7.2 ones.
cat >"$tmp/qemu-system-x86_64" <<'EOF'
#!/bin/sh
# Written by tools/testing/qemu/fetch-qemu.sh: the unpacked QEMU.
d=$(dirname "$0")/root
QEMU_MODULE_DIR=$d/usr/lib/x86_64-linux-gnu/qemu \
	exec "$d/usr/bin/qemu-system-x86_64" \
	-L "$d/usr/share/qemu" -L /usr/share/seabios "$@"
EOF
chmod 755 "$tmp/qemu-system-x86_64"
"$tmp/qemu-system-x86_64" --version | head -n 1 >&2 ||
	die "the unpacked QEMU does not run"
echo "$ver" >"$tmp/.version"
rm -rf "$dir"
mv "$tmp" "$dir"
