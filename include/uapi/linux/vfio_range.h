/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vfio-range: a VFIO IOMMU backend whose map and unmap calls take inclusive
 * [start, last] IOVA ranges, so the whole 64-bit space is one call.
 */
#ifndef _UAPI_LINUX_VFIO_RANGE_H
#define _UAPI_LINUX_VFIO_RANGE_H

#include <linux/types.h>
#include <linux/vfio.h>

/**
 * DOC: General ioctl format
 *
 * The ioctls below are issued on a VFIO container file descriptor
 * (``/dev/vfio/vfio``) after ``VFIO_SET_IOMMU`` selected
 * %VFIO_RANGE_IOMMU. ``VFIO_CHECK_EXTENSION(VFIO_RANGE_IOMMU)`` returns 1
 * when the module is loaded.
 *
 * In compat mode (module parameter ``compat_type1``) the module also takes
 * containers opened as ``VFIO_TYPE1v2_IOMMU`` or ``VFIO_TYPE1_IOMMU`` and
 * serves type1's ``VFIO_IOMMU_MAP_DMA``/``VFIO_IOMMU_UNMAP_DMA`` on them
 * with the semantics of that version, over the same mappings; the ioctls
 * below work on such a container too (Documentation/type1-compat.rst).
 *
 * Every structure begins with ``argsz``, the size userspace passes. The
 * kernel reads the fields it knows, requires any bytes past them to be
 * zero, and writes outputs back only up to ``argsz``, so old binaries keep
 * working when a structure grows.
 *
 * Ranges are inclusive: ``last`` is the last byte of the range, never one
 * past it, so [0, U64_MAX] describes the whole IOVA space and no length
 * ever has to hold 2^64.
 *
 * Errors mean the same in every ioctl:
 *
 *  - ENOTTY: the ioctl is not one of this backend's.
 *  - EINVAL: ``argsz`` is smaller than the fields the ioctl needs, a flag
 *    bit is unknown, a reserved field is not zero, ``start > last``, a map
 *    request covers all 2^64 bytes, a map address is not aligned to the
 *    smallest IOMMU page size, or an unmap range cuts through the range of
 *    a map request.
 *  - E2BIG: ``argsz`` is larger than the structure the kernel knows and
 *    the extra bytes are not zero (or exceed one page).
 *  - EFAULT: the argument or the user memory to map cannot be accessed
 *    (or pinned, or is read-only for a writable mapping, or is a private
 *    mapping of device memory).
 *  - EOVERFLOW: the user virtual range would wrap past the top of the
 *    address space.
 *  - ERANGE: the IOVA range is not inside the usable IOVA ranges reported
 *    by ``VFIO_IOMMU_GET_INFO``.
 *  - EEXIST: the IOVA range overlaps an existing mapping.
 *  - ENOSPC: the container holds the maximum number of mappings.
 *  - ENOMEM: out of memory, or the pinned pages would take the caller's
 *    user (all its processes together) or the caller itself past
 *    ``RLIMIT_MEMLOCK``, for a caller without ``CAP_IPC_LOCK``.
 *  - EDEADLOCK: an emulated-IOMMU device did not release the pages it
 *    pinned in a range being unmapped.
 *  - EAGAIN: the user mapping of a BAR kept changing while it was looked up.
 *  - EMFILE: no file descriptor is left for a notifier.
 *  - ENOENT, EBUSY: see "Live update".
 *
 * A call that fails changes nothing, except that a map or unmap done before
 * its outputs could not be written back (EFAULT) stays done, as in VFIO.
 * Only output fields are written back, so a caller whose ``argsz`` covers
 * none may pass a structure in read-only memory.
 */

/**
 * DOC: Device memory
 *
 * A map request whose ``vaddr`` lies in a ``VM_PFNMAP``/``VM_IO`` mapping,
 * such as a BAR mmapped from a vfio-pci device fd, maps the PFNs behind it
 * for peer-to-peer DMA: nothing is pinned or charged, and the IOMMU maps
 * them as MMIO. The whole range must lie in that one mapping (EINVAL if it
 * leaves it); its PFNs may lie in any order (each contiguous run is one
 * IOMMU mapping); RAM mapped with ``VM_PFNMAP`` is refused (EFAULT).
 *
 * QEMU hands over BAR sections whose edges need not fall on IOMMU pages.
 * With %VFIO_RANGE_MAP_TRIM the request maps the largest aligned interior
 * of [start, last] instead of failing: the start is rounded up and the end
 * rounded down to the smallest IOMMU page size. ``start`` and ``vaddr``
 * must share their offset within that page (EINVAL otherwise: no trimming
 * can make them agree). With 4 KiB pages: [0x1000, 0x1fff] maps as is;
 * [0x1800, 0x47ff] maps [0x2000, 0x3fff]; [0x1800, 0x27ff] maps nothing and
 * reports %VFIO_RANGE_MAP_OUT_EMPTY. Either way the request is remembered:
 * unmapping [start, last] removes exactly what it mapped.
 *
 * The user mapping must be shared (a private, copy-on-write mapping of
 * device memory is refused with EFAULT), readable, and writable with
 * writable page table entries for a %VFIO_RANGE_MAP_WRITE request
 * (EFAULT otherwise), so a device can never write what the user cannot.
 *
 * When the user loses access to the BAR through that mapping (munmap,
 * process exit, an mprotect() that takes away a permission the request
 * needs) or vfio-pci revokes it (memory decode disabled, reset), the IOMMU
 * mapping is removed at once, so no DMA reaches the BAR after the user lost
 * it. Invalidations that take no access away (clearing soft-dirty bits,
 * an mprotect() that keeps the permissions the request needs) leave the
 * mapping alone. A revoked request stays recorded until it is unmapped and
 * is never mapped again by itself: clients that asked for
 * %VFIO_RANGE_EVENT_REVOKED receive a record for it, and the kernel log
 * says so. To map the BAR again, unmap the request's range and map it anew
 * once the user mapping is back (for vfio-pci: memory decode enabled).
 */

/**
 * define VFIO_RANGE_IOMMU - IOMMU type number for ``VFIO_SET_IOMMU``
 *
 * Chosen far from the small numbers upstream VFIO allocates in sequence.
 */
#define VFIO_RANGE_IOMMU		0x5652

/* Container ioctl numbers, above those of VFIO (+0..+21) and iommufd. */
#define VFIO_RANGE_BASE			(VFIO_BASE + 60)

/**
 * enum vfio_range_map_flags - flags for &struct vfio_range_map
 * @VFIO_RANGE_MAP_READ: the device may read the memory
 * @VFIO_RANGE_MAP_WRITE: the device may write the memory; the pages are
 *	pinned for write, so read-only memory cannot be mapped with it
 * @VFIO_RANGE_MAP_TRIM: for device memory only (a BAR mmap, see
 *	"Device memory"): map the largest interior of the request that is
 *	aligned to the smallest IOMMU page size instead of refusing an
 *	unaligned request; the out_ fields say what was mapped
 * @VFIO_RANGE_MAP_VADDR: live update (see "Live update"): give the
 *	mapping made by the request [start, last] its new @vaddr; alone,
 *	without any other flag
 */
enum vfio_range_map_flags {
	VFIO_RANGE_MAP_READ = 1 << 0,
	VFIO_RANGE_MAP_WRITE = 1 << 1,
	VFIO_RANGE_MAP_TRIM = 1 << 2,
	VFIO_RANGE_MAP_VADDR = 1 << 3,
};

/**
 * enum vfio_range_map_out_flags - what a &struct vfio_range_map produced
 * @VFIO_RANGE_MAP_OUT_EMPTY: nothing was mapped: the request held no whole
 *	aligned IOMMU page. The request is still recorded, so unmapping its
 *	range succeeds with ``unmapped`` = 0.
 */
enum vfio_range_map_out_flags {
	VFIO_RANGE_MAP_OUT_EMPTY = 1 << 0,
};

/**
 * struct vfio_range_map - ioctl(VFIO_IOMMU_RANGE_MAP)
 * @argsz: sizeof(struct vfio_range_map); the out_ fields are written only
 *	if @argsz covers them
 * @flags: a combination of &enum vfio_range_map_flags; at least one of
 *	READ and WRITE, or %VFIO_RANGE_MAP_VADDR alone
 * @vaddr: user virtual address of the first byte to map
 * @start: first IOVA of the mapping
 * @last: last IOVA of the mapping, inclusive
 * @out_start: output: first IOVA mapped (0 if nothing was)
 * @out_last: output: last IOVA mapped, inclusive (0 if nothing was)
 * @out_flags: output: &enum vfio_range_map_out_flags
 * @__reserved: must be 0
 *
 * Maps the user memory [@vaddr, @vaddr + (@last - @start)] at IOVA
 * [@start, @last] in every IOMMU domain of the container. Ordinary memory
 * is pinned; device memory is mapped by its PFNs (see "Device memory").
 *
 * @start, @last + 1 (modulo 2^64) and @vaddr must be aligned to the
 * smallest page size in ``iova_pgsizes`` (EINVAL), unless
 * %VFIO_RANGE_MAP_TRIM is given for device memory. The request must not
 * overlap the range of an earlier request (EEXIST) and what is mapped must
 * lie inside one usable IOVA range (ERANGE). Pinned pages are charged
 * against ``RLIMIT_MEMLOCK`` to the caller's user, for as long as they stay
 * pinned, and counted in the caller's ``locked_vm`` (ENOMEM past the limit
 * unless the caller has ``CAP_IPC_LOCK``). Each request counts against the
 * module parameter ``max_mappings`` (ENOSPC past it).
 */
struct vfio_range_map {
	__u32 argsz;
	__u32 flags;
	__aligned_u64 vaddr;
	__aligned_u64 start;
	__aligned_u64 last;
	__aligned_u64 out_start;
	__aligned_u64 out_last;
	__u32 out_flags;
	__u32 __reserved;
};

#define VFIO_IOMMU_RANGE_MAP		_IO(VFIO_TYPE, VFIO_RANGE_BASE + 0)

/**
 * DOC: Live update
 *
 * A process can hand its container to another one (over a unix socket,
 * or across exec) while the devices keep doing DMA, the same memory being
 * mapped at other addresses in the new process, as QEMU's CPR does.
 * ``VFIO_CHECK_EXTENSION(VFIO_UPDATE_VADDR)`` on the container returns 1
 * when it can (0 before ``VFIO_SET_IOMMU``, and while an emulated-IOMMU
 * group is attached).
 *
 * 1. The old process unmaps with %VFIO_RANGE_UNMAP_VADDR: the vaddr of the
 *    mappings of [start, last] becomes invalid. Nothing is unmapped or
 *    unpinned and clients hear nothing; ``unmapped`` says how many bytes
 *    those mappings map. The extents are those a plain unmap would take
 *    (EINVAL if one straddles an edge), and one of them being invalid
 *    already fails the call (EINVAL) with nothing marked. [0, U64_MAX]
 *    takes all. EBUSY while an emulated-IOMMU group is attached.
 * 2. The new process maps with %VFIO_RANGE_MAP_VADDR alone, giving each
 *    invalid mapping its new ``vaddr``: [start, last] must be exactly the
 *    range of its map request (ENOENT if no request meets it, EINVAL if the
 *    one there has another range or a valid vaddr). ``vaddr`` and ``start``
 *    must share their offset in a page (EINVAL), and the new address must
 *    show the very pages the mapping pinned, or for device memory the same
 *    PFNs in a mapping allowing the same access: EINVAL for other memory,
 *    EFAULT for memory that cannot be read (or written, for a writable
 *    mapping), and the mapping stays invalid. The pages' ``locked_vm``
 *    then moves to the new process (ENOMEM past its ``RLIMIT_MEMLOCK``);
 *    the charge to the user stays with the pin. The out_ fields are not
 *    written.
 *
 * While a vaddr is invalid, DMA goes on through the mapping, an unmap
 * removes it as usual, closing the container removes it, and no group may
 * be attached (EBUSY). A BAR mapping stays watched through the old
 * process's mapping until its update: if that process loses access first
 * (munmap, exit), it is revoked as always, and stays revoked after the
 * update.
 */

/**
 * enum vfio_range_unmap_flags - flags for &struct vfio_range_unmap
 * @VFIO_RANGE_UNMAP_VADDR: live update: invalidate the vaddr of the
 *	mappings in the range instead of removing them (see "Live update")
 */
enum vfio_range_unmap_flags {
	VFIO_RANGE_UNMAP_VADDR = 1 << 0,
};

/**
 * struct vfio_range_unmap - ioctl(VFIO_IOMMU_RANGE_UNMAP)
 * @argsz: sizeof(struct vfio_range_unmap)
 * @flags: 0, or %VFIO_RANGE_UNMAP_VADDR
 * @start: first IOVA of the range to clear
 * @last: last IOVA of the range to clear, inclusive
 * @unmapped: output: the number of bytes that were mapped and are now
 *	unmapped (with %VFIO_RANGE_UNMAP_VADDR: whose vaddr is invalidated)
 *
 * Removes every map request whose range lies inside [@start, @last],
 * unmaps what it mapped, unpins its pages and uncharges them. The range
 * may span gaps and any number of requests; a range that holds none
 * succeeds with @unmapped = 0. A request whose range lies partly inside
 * and partly outside makes the whole call fail with EINVAL, and nothing is
 * removed. Unmapping exactly the range of an earlier request removes just
 * what that request mapped, aligned or not. [0, U64_MAX] removes
 * everything.
 */
struct vfio_range_unmap {
	__u32 argsz;
	__u32 flags;
	__aligned_u64 start;
	__aligned_u64 last;
	__aligned_u64 unmapped;
};

#define VFIO_IOMMU_RANGE_UNMAP		_IO(VFIO_TYPE, VFIO_RANGE_BASE + 1)

/**
 * DOC: Notifications
 *
 * Every successful map and unmap is reported to the notifier clients of the
 * container: in-kernel clients (see ``include/linux/vfio_range.h``),
 * emulated-IOMMU VFIO devices (through their ``dma_unmap`` callback) and
 * userspace clients, each bound to a file descriptor returned by
 * ``VFIO_IOMMU_RANGE_NOTIFIER``.
 *
 * A client has a window [start, last]; it hears only of IOVA that falls in
 * it, clipped to it. It chooses the events it wants (map, unmap or both) and
 * a granularity: *arbitrary* clients receive one event per affected range;
 * *aligned* clients receive the same range split into the fewest naturally
 * aligned power-of-two blocks (each block's ``start`` is a multiple of its
 * size, ``addr_mask`` = size - 1), at most 128 blocks per range.
 *
 * An unmap event covers what was really mapped and removed, not the range
 * the caller asked for: unmapping [0, U64_MAX] over two separate mappings
 * yields two events. Mappings removed by one call that are adjacent in IOVA
 * are reported as one range. Events arrive in the order the operations
 * completed, all events of one operation share its ``seq``, and they are
 * delivered before the ioctl returns (for unmaps: before the pages are
 * released).
 */

/**
 * enum vfio_range_event_type - what a &struct vfio_range_event reports
 * @VFIO_RANGE_EVENT_MAP: [start, last] was mapped
 * @VFIO_RANGE_EVENT_UNMAP: [start, last] was unmapped
 * @VFIO_RANGE_EVENT_OVERFLOW: the queue was full and @lost events were
 *	dropped after the previous record; the client must resynchronise its
 *	view of [start, last] (its window). Later events keep flowing.
 * @VFIO_RANGE_EVENT_REVOKED: the IOMMU mapping of device memory at
 *	[start, last] was revoked because the user mapping of the BAR went
 *	away or lost a permission the request needs (see "Device memory").
 *	The request stays recorded; DMA to it is blocked until it is unmapped
 *	and mapped again. Delivered shortly after the revocation, from a
 *	worker, with a sequence number of its own.
 *
 * MAP, UNMAP and REVOKED are also the bits of
 * &struct vfio_range_notifier.events: a client hears only of the kinds it
 * asked for (an overflow record can reach any userspace client).
 */
enum vfio_range_event_type {
	VFIO_RANGE_EVENT_MAP = 1 << 0,
	VFIO_RANGE_EVENT_UNMAP = 1 << 1,
	VFIO_RANGE_EVENT_OVERFLOW = 1 << 2,
	VFIO_RANGE_EVENT_REVOKED = 1 << 3,
};

/**
 * enum vfio_range_granularity - how a client wants ranges delivered
 * @VFIO_RANGE_GRANULARITY_ARBITRARY: one event per range, any alignment
 * @VFIO_RANGE_GRANULARITY_ALIGNED: naturally aligned power-of-two blocks
 */
enum vfio_range_granularity {
	VFIO_RANGE_GRANULARITY_ARBITRARY = 0,
	VFIO_RANGE_GRANULARITY_ALIGNED = 1,
};

/**
 * struct vfio_range_event - one record read from a notifier fd
 * @type: an &enum vfio_range_event_type value
 * @flags: 0
 * @seq: sequence number of the operation, counted per container from 1;
 *	0 for an overflow record
 * @start: first IOVA of the range
 * @last: last IOVA of the range, inclusive
 * @addr_mask: for an aligned client, @last - @start (a block is
 *	@start..@start | @addr_mask); 0 for an arbitrary client and in an
 *	overflow record (its window need not be a block)
 * @lost: for an overflow record, the number of events dropped; else 0
 *
 * read() returns whole records only; a buffer smaller than one record is
 * EINVAL. read() blocks while the queue is empty unless the fd is
 * non-blocking (EAGAIN). poll() reports EPOLLIN while records are queued;
 * waiters are woken when the queue turns non-empty, so an edge-triggered
 * epoll user reads until EAGAIN, as epoll(7) asks. When the container is
 * released, its last UNMAP events are queued, poll() adds EPOLLHUP, and
 * read() returns 0 once the queue is empty.
 */
struct vfio_range_event {
	__u32 type;
	__u32 flags;
	__aligned_u64 seq;
	__aligned_u64 start;
	__aligned_u64 last;
	__aligned_u64 addr_mask;
	__aligned_u64 lost;
};

/**
 * struct vfio_range_notifier - ioctl(VFIO_IOMMU_RANGE_NOTIFIER)
 * @argsz: sizeof(struct vfio_range_notifier)
 * @flags: 0
 * @events: the events to report: any of VFIO_RANGE_EVENT_MAP,
 *	VFIO_RANGE_EVENT_UNMAP and VFIO_RANGE_EVENT_REVOKED
 * @granularity: an &enum vfio_range_granularity value
 * @start: first IOVA of the window
 * @last: last IOVA of the window, inclusive; [0, U64_MAX] is allowed
 * @queue_len: records the queue holds, including the one kept for an
 *	overflow record: 2 to 65536, or 0 for the default (256)
 * @__reserved: must be 0
 *
 * Registers a userspace client and returns a new file descriptor
 * (O_CLOEXEC) bound to it; closing it unregisters the client. The client
 * hears only of operations that complete after this call returns.
 * ENOSPC past the module parameter ``max_clients`` per container; EINVAL
 * for an empty @events, unknown bits, @start > @last or a bad @queue_len.
 */
struct vfio_range_notifier {
	__u32 argsz;
	__u32 flags;
	__u32 events;
	__u32 granularity;
	__aligned_u64 start;
	__aligned_u64 last;
	__u32 queue_len;
	__u32 __reserved;
};

#define VFIO_IOMMU_RANGE_NOTIFIER	_IO(VFIO_TYPE, VFIO_RANGE_BASE + 2)

#endif /* _UAPI_LINUX_VFIO_RANGE_H */
