#!/bin/bash
# Run a shell command as root in a throwaway QEMU (TCG) guest that sees the
# host's root read-only, with edu PCI devices bound to vfio-pci behind an
# emulated IOMMU (Intel VT-d by default, AMD-Vi or virtio-iommu). See README
# in this directory.
#
# Exit status: the command's own; 123 if the kernel log shows a bug (even when
# the command passed); 124 on timeout; 125 if the guest never reported a status
# (crash, boot failure); 126 if guest setup failed; 2 on bad usage.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$HERE/../../.." && pwd -P)
VMDIR=$REPO/build/vm

KVER=${VM_KVER:-}
KERNEL=
MODROOT=/lib/modules
GUEST_MODDIR=
TIMEOUT=${VM_TIMEOUT:-900}
MEM=2G
EXTRA_APPEND=
EDU_DEVICES=2
IOMMU=intel
AW_BITS=
EDU_DMA_MASK=
NICS=
IVSHMEM=
OUT=$VMDIR/out

# Top-level modules the initramfs needs to mount the 9p shares; their
# dependencies come from modules.dep (and may differ between kernel versions).
INITRAMFS_MODULES="9p 9pnet_virtio virtio_pci"
INITRAMFS_SUFFIX=

log() { echo "run.sh: $*" >&2; }
die() { log "error: $*"; exit "${2:-1}"; }

usage() {
	cat >&2 <<-EOF
	usage: $0 [--kver VER] [--timeout SEC] [--mem SIZE] [--append 'ARGS'] [--edu N]
	          [--iommu intel|amd|virtio] [--aw-bits 39|48] [--edu-dma-mask MASK]
	          [--nics e1000|virtio] [--ivshmem SIZE]
	          [--out DIR] [--kernel IMAGE --moddir DIR] -- 'shell command'
	EOF
	exit 2
}

parse_args() {
	while (($#)); do
		case $1 in
		--kver) KVER=${2:?}; shift 2 ;;
		--timeout) TIMEOUT=${2:?}; shift 2 ;;
		--mem) MEM=${2:?}; shift 2 ;;
		--append) EXTRA_APPEND=${2?}; shift 2 ;;
		--edu) EDU_DEVICES=${2:?}; shift 2 ;;
		--iommu) IOMMU=${2:?}; shift 2 ;;
		--aw-bits) AW_BITS=${2:?}; shift 2 ;;
		--edu-dma-mask) EDU_DMA_MASK=${2:?}; shift 2 ;;
		--nics) NICS=${2:?}; shift 2 ;;
		--ivshmem) IVSHMEM=${2:?}; shift 2 ;;
		--out) OUT=${2:?}; shift 2 ;;
		--kernel) KERNEL=${2:?}; shift 2 ;;
		--moddir) MODROOT=${2:?}; shift 2 ;;
		--) shift; break ;;
		-h | --help) usage ;;
		-*) log "unknown option $1"; usage ;;
		*) break ;;
		esac
	done
	(($#)) || usage
	CMD="$*"
	[[ $TIMEOUT =~ ^[0-9]+$ ]] || die "--timeout wants seconds" 2
	case $IOMMU in
	intel | amd | virtio) ;;
	*) die "--iommu wants intel, amd or virtio" 2 ;;
	esac
	[[ -z $AW_BITS || ($IOMMU == intel && $AW_BITS =~ ^(39|48)$) ]] ||
		die "--aw-bits wants 39 or 48, with --iommu intel" 2
	# AMD-Vi and virtio-iommu reach 2^64: let edu address all of it.
	[[ -n $EDU_DMA_MASK || $IOMMU == intel ]] ||
		EDU_DMA_MASK=0xffffffffffffffff
	[[ -z $EDU_DMA_MASK || $EDU_DMA_MASK =~ ^0x[0-9a-fA-F]{1,16}$ ]] ||
		die "--edu-dma-mask wants a hex mask (0x...)" 2
	[[ -z $NICS || $NICS =~ ^(e1000|virtio)$ ]] ||
		die "--nics wants e1000 or virtio" 2
	# ivshmem-plain's BAR2 is its memory backend, whose size must be a
	# power of two.
	[[ -z $IVSHMEM || $IVSHMEM =~ ^[1-9][0-9]*[MG]$ ]] ||
		die "--ivshmem wants a size in M or G (64M)" 2
	# The firmware (ACPI VIOT) puts the 9p devices behind virtio-iommu
	# too: their probe waits for its driver, which must come after
	# virtio_pci (it is a virtio device) and before the 9p mounts.
	if [[ $IOMMU == virtio ]]; then
		INITRAMFS_MODULES+=" virtio_iommu"
		INITRAMFS_SUFFIX=-virtio
	fi
}

# The -device option of the IOMMU and the kernel parameters it needs. With
# AMD-Vi the IOMMU takes PCI slot 00:03.0, so the edu devices move up one.
# virtio-iommu has no interrupt remapping and needs 6.12 (6.1 has no
# virtio_iommu); its driver is in the initramfs.
iommu_device() {
	case $IOMMU in
	intel) echo "intel-iommu,intremap=on,caching-mode=on${AW_BITS:+,aw-bits=$AW_BITS}" ;;
	amd) echo "amd-iommu,intremap=on" ;;
	virtio) echo "virtio-iommu-pci" ;;
	esac
}

iommu_append() {
	case $IOMMU in
	intel) echo "intel_iommu=on" ;;
	amd | virtio) ;;
	esac
}

# Two NICs of model $NICS on one QEMU hub, so what one sends the other
# receives, with the PCI vendor:device the guest binds to vfio-pci. A
# virtio-net device must go through the IOMMU (iommu_platform) like any
# other: without it QEMU would take the IOVAs for guest-physical
# addresses.
nic_devices() {
	local i model
	case $NICS in
	e1000) model=e1000 NIC_IDS=8086:100e ;;
	virtio) model=virtio-net-pci,disable-legacy=on,iommu_platform=on NIC_IDS=1af4:1041 ;;
	*) return 0 ;;
	esac
	for i in 0 1; do
		NIC_ARGS+=(-netdev "hubport,id=nic$i,hubid=0"
			-device "$model,netdev=nic$i,mac=52:54:00:00:00:1$i")
	done
}

# Print module paths (relative to /lib/modules/$KVER) in load order:
# dependencies first, each once. Built-in modules are skipped.
resolve_modules() {
	local mdir=$MODROOT/$KVER
	awk -v want="$INITRAMFS_MODULES" '
	function norm(p) { sub(/.*\//, "", p); sub(/\.ko(\.[a-z0-9]+)?$/, "", p); gsub(/-/, "_", p); return p }
	function visit(p,   n, i, d) {
		if (p in seen) return
		seen[p] = 1
		n = split(deps[p], d, " ")
		for (i = n; i >= 1; i--) visit(d[i]) # modules.dep lists the deepest last
		print p
	}
	FILENAME ~ /modules\.builtin$/ { builtin[norm($0)] = 1; next }
	{ p = $1; sub(/:$/, "", p); $1 = ""; deps[p] = $0; byname[norm(p)] = p }
	END {
		n = split(want, w, " ")
		for (i = 1; i <= n; i++) {
			m = w[i]; gsub(/-/, "_", m)
			if (m in byname) visit(byname[m])
			else if (!(m in builtin)) { print "missing module " m > "/dev/stderr"; exit 1 }
		}
	}' "$mdir/modules.builtin" "$mdir/modules.dep"
}

# Build build/vm/initramfs-$KVER[-virtio].cpio unless one built from the same inputs
# (init script, busybox, module files) is already there.
build_initramfs() {
	local mdir=$MODROOT/$KVER busybox=/bin/busybox
	[[ -x $busybox ]] || die "no $busybox (apt-get install busybox-static; see setup.sh)"
	readelf -l "$busybox" | grep -q 'interpreter' && die "$busybox is not static (install busybox-static)"
	local mods
	mods=$(resolve_modules) || die "cannot resolve initramfs modules for $KVER"
	INITRAMFS=$VMDIR/initramfs-$KVER$INITRAMFS_SUFFIX.cpio
	local key
	key=$({
		echo "$KVER"
		(cd "$mdir" && printf '%s\n' "$mods" | xargs sha256sum)
		sha256sum "$busybox" "$HERE/guest-init.sh" "${BASH_SOURCE[0]}"
	} | sha256sum | cut -d' ' -f1)
	if [[ -f $INITRAMFS && $(cat "$INITRAMFS.key" 2>/dev/null) == "$key" ]]; then
		log "using cached $INITRAMFS"
		return
	fi
	log "building $INITRAMFS"
	local stage=$VMDIR/initramfs-$KVER$INITRAMFS_SUFFIX.stage.$$
	rm -rf "$stage"
	mkdir -p "$stage"/{bin,dev,proc,sys,modules,tmp}
	cp "$busybox" "$stage/bin/busybox"
	local a m base
	for a in $("$busybox" --list); do
		[[ $a == busybox ]] || ln -s busybox "$stage/bin/$a"
	done
	install -m 0755 "$HERE/guest-init.sh" "$stage/init"
	: >"$stage/modules/order" # none when 9p and virtio are built in
	# busybox insmod may lack decompression: store modules uncompressed.
	while read -r m; do
		[[ -n $m ]] || continue
		base=$(basename "$m")
		case $m in
		*.ko) cp "$mdir/$m" "$stage/modules/$base" ;;
		*.ko.xz) xz -dc "$mdir/$m" >"$stage/modules/${base%.xz}" ;;
		*.ko.zst) zstd -qdc "$mdir/$m" >"$stage/modules/${base%.zst}" ;;
		*.ko.gz) gzip -dc "$mdir/$m" >"$stage/modules/${base%.gz}" ;;
		*) die "unknown module format: $m" ;;
		esac
		echo "${base%.ko*}.ko" >>"$stage/modules/order"
	done <<<"$mods"
	# Uncompressed cpio: small (a few MB), and the kernel skips decompressing.
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0 --reproducible) >"$INITRAMFS.tmp.$$"
	mv "$INITRAMFS.tmp.$$" "$INITRAMFS"
	echo "$key" >"$INITRAMFS.key"
	rm -rf "$stage"
}

run_guest() {
	local f
	for f in output.txt status dmesg.txt console.log kmsg.log cmd.sh vm.conf; do
		rm -f "$OUT/$f"
	done
	printf '%s\n' "$CMD" >"$OUT/cmd.sh"
	# Sourced by the guest init: single quotes are safe (paths checked in main).
	NIC_ARGS=() NIC_IDS=
	nic_devices
	printf "VM_OUT='%s'\nVM_CWD='%s'\nVM_MODDIR='%s'\nVM_IOMMU='%s'\nVM_NIC_IDS='%s'\n" \
		"$OUT" "$REPO" "$GUEST_MODDIR" "$IOMMU" "$NIC_IDS" >"$OUT/vm.conf"

	# no_timer_check: on a busy host TCG can be too slow for the boot-time
	# check of the timer through the remapped IO-APIC, which then panics.
	local append="console=ttyS0 $(iommu_append) slub_debug=FZPU kfence.sample_interval=100 no_timer_check"
	# Big log buffer so dmesg.txt stays complete; let tests write markers to
	# /dev/kmsg without rate limiting.
	append+=" panic=-1 log_buf_len=8M printk.devkmsg=on ${EXTRA_APPEND}"

	local qemu=(qemu-system-x86_64
		-machine "q35,kernel-irqchip=split" -accel tcg -cpu max -smp 1 -m "$MEM"
		-device "$(iommu_device)"
		-nodefaults -display none -no-reboot
		-kernel "$KERNEL" -initrd "$INITRAMFS" -append "$append"
		# ttyS0: console and the command's output; ttyS1: full kernel log.
		-serial "file:$OUT/console.log" -serial "file:$OUT/kmsg.log"
		-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
		-virtfs "local,path=$REPO,mount_tag=repo,security_model=none,readonly=on,multidevs=remap"
		-virtfs "local,path=$OUT,mount_tag=out,security_model=none")
	# Each edu device gets an IOMMU group of its own: two let the tests
	# share a container between groups.
	local i
	for ((i = 0; i < EDU_DEVICES; i++)); do
		qemu+=(-device "edu${EDU_DMA_MASK:+,dma_mask=$EDU_DMA_MASK}")
	done
	qemu+=("${NIC_ARGS[@]}")
	# After the edu devices, so their slots stay those of a run without
	# it: a prefetchable 64-bit BAR2 of device memory (guest-init.sh binds
	# it to vfio-pci too).
	if [[ -n $IVSHMEM ]]; then
		qemu+=(-object "memory-backend-ram,id=ivshmem0,size=$IVSHMEM,share=on"
			-device "ivshmem-plain,memdev=ivshmem0")
	fi

	log "booting $KVER, IOMMU $(iommu_device)${IVSHMEM:+, ivshmem $IVSHMEM} (timeout ${TIMEOUT}s, console: $OUT/console.log)"
	local start=$SECONDS
	# No stdin anywhere: CI has none.
	timeout -k 10 "$TIMEOUT" "${qemu[@]}" </dev/null >&2 &
	QPID=$!
	# Show the command's output live as the guest writes it over 9p.
	tail -n +1 -s 0.2 -F --pid="$QPID" "$OUT/output.txt" 2>/dev/null &
	TPID=$!
	QEMU_RC=0
	wait "$QPID" || QEMU_RC=$?
	QPID=
	wait "$TPID" || true
	TPID=
	ELAPSED=$((SECONDS - start))
	sed -i 's/\r$//' "$OUT/console.log" "$OUT/kmsg.log" 2>/dev/null || true
}

# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	[[ -n ${QPID:-} ]] && kill "$QPID" 2>/dev/null
	[[ -n ${TPID:-} ]] && kill "$TPID" 2>/dev/null
	return 0
}

# Kernel lines only: dmesg, the kmsg stream, and timestamped console lines
# (the command's own output on the console must not trigger false alarms).
scan_kernel_log() {
	local logs=("$OUT/kmsg.log") klines=$OUT/.console-kernel.log
	[[ -f $OUT/dmesg.txt ]] && logs+=("$OUT/dmesg.txt")
	grep -aE '^\[ *[0-9]+\.[0-9]+\]' "$OUT/console.log" >"$klines" 2>/dev/null || true
	logs+=("$klines")
	local rc=0
	"$HERE/check-klog.sh" "${logs[@]}" >&2 || rc=$?
	rm -f "$klines"
	return "$rc"
}

main() {
	parse_args "$@"
	command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing: run tools/testing/vm/setup.sh"
	if [[ -z $KVER ]]; then
		KVER=$("$HERE/setup.sh" --kver) || die "no guest kernel: run tools/testing/vm/setup.sh"
	fi
	KERNEL=${KERNEL:-/boot/vmlinuz-$KVER}
	[[ -f $KERNEL ]] || die "no $KERNEL"
	[[ -d $MODROOT/$KVER ]] || die "no $MODROOT/$KVER"
	# The guest sees the host's /lib/modules; another tree is bound over it.
	if [[ $MODROOT != /lib/modules ]]; then
		MODROOT=$(cd "$MODROOT" && pwd -P)
		GUEST_MODDIR=$MODROOT
	fi
	mkdir -p "$VMDIR" "$OUT"
	OUT=$(cd "$OUT" && pwd -P)
	# These paths go into a QEMU option list (commas) and a sourced file (quotes).
	[[ $OUT$REPO$MODROOT$KERNEL != *[,\'[:space:]]* ]] ||
		die "no commas, quotes or spaces in $OUT, $REPO, $MODROOT or $KERNEL" 2

	# Concurrent runs may share the cache; one builder at a time.
	exec 9>"$VMDIR/.lock"
	flock 9
	build_initramfs
	flock -u 9

	trap cleanup EXIT
	run_guest

	local status
	status=$(cat "$OUT/status" 2>/dev/null || true)
	local rc guest_ok=1
	if [[ $QEMU_RC -eq 124 || $QEMU_RC -eq 137 ]]; then
		log "TIMEOUT after ${TIMEOUT}s: guest killed"
		rc=124 guest_ok=
	elif [[ ! $status =~ ^[0-9]+$ ]]; then
		log "guest reported no status (qemu exit $QEMU_RC): crash or boot failure"
		rc=125 guest_ok=
	else
		rc=$status
	fi
	if [[ -z $guest_ok || $rc -eq 126 ]]; then
		log "last console lines:"
		tail -n 30 "$OUT/console.log" >&2 || true
	fi
	if ! scan_kernel_log; then
		log "KERNEL PROBLEM (lines above); logs: $OUT/dmesg.txt $OUT/kmsg.log $OUT/console.log"
		# A timeout or crash says more; otherwise flag it even if the command passed.
		[[ -z $guest_ok ]] || rc=123
	fi
	log "exit $rc (command status ${status:-none}, ${ELAPSED}s in guest), logs in $OUT"
	exit "$rc"
}

main "$@"
