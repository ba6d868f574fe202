#!/bin/sh
# /init of the test guest's initramfs (busybox sh, PID 1); run.sh builds it in.
#
# Mounts the host root (9p, read-only) at /host and the writable out share at
# /out, and again over $VM_OUT inside /host; binds edu, ivshmem-plain
# (run.sh --ivshmem) and the NICs of run.sh --nics to vfio-pci; runs
# $VM_OUT/cmd.sh in `chroot /host` from $VM_CWD, tee-ing to /out/output.txt;
# saves dmesg; writes /out/status last; powers off. PID 1 must never exit
# (that panics), so every path ends in finish().
# shellcheck shell=dash
export PATH=/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin
SETUP_FAILED=126

say() { echo "vm-init: $*"; }

finish() {
	sync
	poweroff -f
	sleep 60 # poweroff -f does not return; never let PID 1 exit
}

# Setup problems are reported like a command status so the host shows why.
fail() {
	say "error: $*"
	if [ -n "${OUT_MOUNTED:-}" ]; then
		say "error: $*" >>/out/output.txt
		dmesg >/out/dmesg.txt
		echo "$SETUP_FAILED" >/out/status
	fi
	finish
}

mount_9p() { # tag dir [extra options]; the virtio channel may show up late
	i=0
	until mount -t 9p -o "trans=virtio,version=9p2000.L,msize=512000${3:+,$3}" "$1" "$2"; do
		i=$((i + 1))
		[ "$i" -lt 50 ] || return 1
		sleep 0.1
	done
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

# Full kernel log, live, on the second serial port (host: kmsg.log), so a hang
# or crash is diagnosable even though the console is quiet during the command.
cat /proc/kmsg >/dev/ttyS1 &

while read -r m; do
	insmod "/modules/$m" || fail "insmod $m"
done </modules/order

mkdir -p /host /out
mount_9p hostroot /host ro || fail "cannot mount host root"
mount_9p out /out || fail "cannot mount out share"
OUT_MOUNTED=1
[ -f /out/vm.conf ] || fail "no vm.conf in out share"
# shellcheck source=/dev/null
. /out/vm.conf # VM_OUT, VM_CWD, VM_MODDIR, VM_IOMMU, VM_NIC_IDS (run.sh)

# The share is read-only: mount everything the command may need to write.
H=/host
mount -t proc proc $H/proc || fail "mount proc"
mount -t sysfs sysfs $H/sys || fail "mount sysfs"
mount -t devtmpfs devtmpfs $H/dev || fail "mount devtmpfs"
mkdir -p $H/dev/pts $H/dev/shm
mount -t devpts devpts $H/dev/pts
mount -t tmpfs tmpfs $H/dev/shm
mount -t tmpfs tmpfs $H/tmp || fail "mount /tmp"
mount -t tmpfs tmpfs $H/run || fail "mount /run"
mount -t tmpfs tmpfs $H/var/tmp
# The repo has a share of its own, so it is there even where a tmpfs above
# hides the host's copy (a clone under /tmp); then the writable out share.
mkdir -p "$H$VM_CWD"
mount_9p repo "$H$VM_CWD" ro || fail "cannot mount the repo share"
mount -o bind /out "$H$VM_OUT" || fail "cannot bind out share to $VM_OUT"
# Optional ones: tests may want debugfs, tracing, bpffs.
mount -t debugfs debugfs $H/sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs $H/sys/kernel/tracing 2>/dev/null
mount -t bpf bpf $H/sys/fs/bpf 2>/dev/null

# A kernel built elsewhere (run.sh --moddir) brings its own modules.
if [ -n "$VM_MODDIR" ]; then
	mount -o bind "$H$VM_MODDIR" $H/lib/modules || fail "cannot bind $VM_MODDIR"
fi
chroot $H modprobe vfio-pci ids=1234:11e8,1af4:1110 || fail "modprobe vfio-pci"
# The NICs by driver_override: virtio_pci (in the initramfs, for 9p) has
# already taken a virtio-net device, which must be unbound first.
for d in /sys/bus/pci/devices/*; do
	[ -n "${VM_NIC_IDS:-}" ] || break
	id=$(cat "$d/vendor" "$d/device" | sed 's/^0x//' | tr '\n' ':')
	[ "${id%:}" = "$VM_NIC_IDS" ] || continue
	[ -e "$d/driver" ] && echo "${d##*/}" >"$d/driver/unbind"
	echo vfio-pci >"$d/driver_override"
	echo "${d##*/}" >/sys/bus/pci/drivers_probe
	[ -e /sys/bus/pci/drivers/vfio-pci/"${d##*/}" ] ||
		fail "cannot bind NIC ${d##*/} ($VM_NIC_IDS) to vfio-pci"
done
has_group() {
	for g in "$H"/dev/vfio/[0-9]*; do
		[ -e "$g" ] && return 0
	done
	return 1
}
i=0
until has_group; do
	i=$((i + 1))
	[ "$i" -lt 50 ] || fail "no IOMMU group in /dev/vfio (edu not bound to vfio-pci?)"
	sleep 0.1
done

say "running command"
dmesg -n 1 # keep printk off the console; dmesg and kmsg.log stay complete
{
	# shellcheck disable=SC2016 # $1/$2 are expanded by the inner bash
	chroot $H /usr/bin/env -i \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/tmp TERM=dumb LANG=C.UTF-8 VM_OUT="$VM_OUT" VM_KVER="$(uname -r)" \
		VM_IOMMU="${VM_IOMMU:-intel}" \
		/bin/bash -c 'cd "$1" || exit 126; exec /bin/bash "$2"' vm-cmd \
		"$VM_CWD" "$VM_OUT/cmd.sh" </dev/null
	echo $? >/cmd-status
} 2>&1 | tee /out/output.txt
dmesg -n 7

rc=$(cat /cmd-status 2>/dev/null || echo "$SETUP_FAILED")
say "command exited with status $rc"
dmesg >/out/dmesg.txt
echo "$rc" >/out/status
finish
