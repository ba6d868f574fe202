/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * The interface of vfio_range_test.ko, a module for the selftests only: it
 * registers in-kernel notifier clients and emulated-IOMMU VFIO devices on
 * demand and records what they receive, so that tests can assert exact
 * event sequences without hardware. Shared with the selftests by path.
 */
#ifndef _VFIO_RANGE_TEST_H
#define _VFIO_RANGE_TEST_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define VFIO_RANGE_TEST_DEV	"/dev/vfio-range-test"

enum vfio_range_test_op {
	/* in-kernel clients (include/linux/vfio_range.h) */
	VFIO_RANGE_TEST_CLIENT_ADD = 1,
	VFIO_RANGE_TEST_CLIENT_DEL,
	VFIO_RANGE_TEST_CLIENT_READ,
	/* emulated-IOMMU VFIO devices */
	VFIO_RANGE_TEST_EMUDEV_ADD,
	VFIO_RANGE_TEST_EMUDEV_DEL,
	VFIO_RANGE_TEST_EMUDEV_PIN,
	VFIO_RANGE_TEST_EMUDEV_UNPIN,
	VFIO_RANGE_TEST_EMUDEV_RW,
	VFIO_RANGE_TEST_EMUDEV_KEEP_PINS,
	VFIO_RANGE_TEST_EMUDEV_READ_LOG,
	VFIO_RANGE_TEST_EMUDEV_CHECK_PINS,
};

/* emudev_add.flags: a device without a dma_unmap callback */
#define VFIO_RANGE_TEST_EMUDEV_NO_DMA_UNMAP	1U

/* emudev_keep_pins.keep: keep pins on dma_unmap (1), and even when closed */
#define VFIO_RANGE_TEST_KEEP_PINS		1U
#define VFIO_RANGE_TEST_KEEP_PINS_ALWAYS	2U

/* Records one client keeps; more are counted in client_read.out_lost. */
#define VFIO_RANGE_TEST_CLIENT_RECORDS	4096

/**
 * struct vfio_range_test_dma_unmap - one dma_unmap call an emulated device got
 * @iova: first IOVA of the call
 * @length: length of the call
 * @pins_seen: pins of the device inside the range when the call came
 * @pins_valid: of those, how many pages were still pinned by vfio-range
 *	and still held the bytes recorded when they were pinned
 */
struct vfio_range_test_dma_unmap {
	__aligned_u64 iova;
	__aligned_u64 length;
	__u32 pins_seen;
	__u32 pins_valid;
};

/**
 * struct vfio_range_test_cmd - ioctl(VFIO_RANGE_TEST_CMD)
 * @size: sizeof(struct vfio_range_test_cmd)
 * @op: an &enum vfio_range_test_op value
 * @id: the client or device the op acts on; output of the _ADD ops
 * @__reserved: must be 0
 * @client_add: a client on the container of IOMMU group @group_id
 * @client_read: copy up to @max recorded events (struct vfio_range_event)
 *	to @events and forget them; @out_count copied, @out_lost dropped
 * @emudev_add: @flags (VFIO_RANGE_TEST_EMUDEV_*); output: the new
 *	device's IOMMU group and VFIO device name
 * @emudev_pin: vfio_pin_pages() of [@iova, @iova + @npage pages)
 * @emudev_unpin: vfio_unpin_pages() of the same
 * @emudev_rw: vfio_dma_rw() of @len bytes between @iova and @uptr
 * @emudev_keep_pins: @keep VFIO_RANGE_TEST_KEEP_PINS: dma_unmap logs but
 *	does not unpin; VFIO_RANGE_TEST_KEEP_PINS_ALWAYS: not even on close,
 *	as a broken driver would; 0: unpin as it should
 * @emudev_read_log: copy up to @max dma_unmap records to @uptr and forget
 *	them; @out_count copied
 * @emudev_check_pins: @out_seen pins the device holds, @out_valid of them
 *	whose page is still allocated and holds the bytes it had when pinned
 */
struct vfio_range_test_cmd {
	__u32 size;
	__u32 op;
	__u32 id;
	__u32 __reserved;
	union {
		struct {
			__u32 group_id;
			__u32 events;
			__u32 granularity;
			__u32 __pad;
			__aligned_u64 start;
			__aligned_u64 last;
		} client_add;
		struct {
			__aligned_u64 events;
			__u32 max;
			__u32 out_count;
			__aligned_u64 out_lost;
		} client_read;
		struct {
			__u32 out_group_id;
			__u32 flags;
			char out_name[32];
		} emudev_add;
		struct {
			__aligned_u64 iova;
			__u32 npage;
			__u32 prot;	/* 1 read, 2 write */
		} emudev_pin;
		struct {
			__aligned_u64 iova;
			__aligned_u64 uptr;
			__u32 len;
			__u32 write;
		} emudev_rw;
		struct {
			__u32 keep;
		} emudev_keep_pins;
		struct {
			__aligned_u64 uptr;
			__u32 max;
			__u32 out_count;
		} emudev_read_log;
		struct {
			__u32 out_seen;
			__u32 out_valid;
		} emudev_check_pins;
	};
};

#define VFIO_RANGE_TEST_CMD	_IOWR('v', 0xa0, struct vfio_range_test_cmd)

#endif /* _VFIO_RANGE_TEST_H */
