/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the vfio-range selftests: finding the QEMU "edu" test
 * device and its IOMMU group, VFIO container setup, raw and asserting
 * wrappers of the range map/unmap ioctls (iommufd_utils.h style: _test_x()
 * returns the ioctl result, test_x() asserts success, test_err_x() asserts
 * the errno), locked_vm readers and asserting wrappers of the edu DMA
 * driver in edu.h.
 */
#ifndef __SELFTEST_VFIO_RANGE_UTILS_H
#define __SELFTEST_VFIO_RANGE_UTILS_H

/* The 6.1 harness has an unused parameter of its own. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <linux/capability.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <linux/vfio_range.h>

#include "edu.h"
#include "vfio_range_test.h"

#define U64_MAX			UINT64_MAX
#define SZ_4K			0x1000ULL
#define SZ_64K			0x10000ULL
#define SZ_1M			0x100000ULL
#define SZ_2M			0x200000ULL

#define sizeof_field(TYPE, MEMBER)	sizeof((((TYPE *)0)->MEMBER))
#define offsetofend(TYPE, MEMBER) \
	(offsetof(TYPE, MEMBER) + sizeof_field(TYPE, MEMBER))

/* x86 MSI window, a reserved region of every device behind VT-d. */
#define MSI_IOVA_START		0xfee00000ULL
#define MSI_IOVA_LAST		0xfeefffffULL

#define RANGE_RW		(VFIO_RANGE_MAP_READ | VFIO_RANGE_MAP_WRITE)

#define VFIO_RANGE_MODULE	"vfio_iommu_range"
#define VFIO_RANGE_SYSFS	"/sys/module/" VFIO_RANGE_MODULE
#define MAX_MAPPINGS_PARAM	VFIO_RANGE_SYSFS "/parameters/max_mappings"
#define MAX_MAPPINGS_DEFAULT	65535UL

/* @bit (one or more flag bits) is set in @flags. */
#define ASSERT_FLAG(flags, bit)						\
	ASSERT_EQ((__typeof__(flags))(bit), (flags) & (bit))

#define EXPECT_ERRNO(expected_errno, cmd)			\
	({							\
		ASSERT_EQ(-1, cmd);				\
		EXPECT_EQ(expected_errno, errno);		\
	})

static inline int sysfs_write_ulong(const char *path, unsigned long val)
{
	char buf[32];
	int len, fd;
	ssize_t ret;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	len = snprintf(buf, sizeof(buf), "%lu\n", val);
	ret = write(fd, buf, len);
	close(fd);
	return ret == len ? 0 : -1;
}

/*
 * Reads a whole (small) file into a NUL-terminated buffer of @size bytes;
 * its length, or -1 with errno.
 */
static inline ssize_t read_text(const char *path, char *buf, size_t size)
{
	ssize_t len, n = 0;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	len = 0;
	while ((size_t)len < size - 1 &&
	       (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += n;
	close(fd);
	buf[len] = '\0';
	return n < 0 ? -1 : len;
}

/* Numeric setting @name from the environment (seeds, counts), or @def. */
static inline unsigned long env_ulong(const char *name, unsigned long def)
{
	const char *s = getenv(name);
	unsigned long v;
	char *end;

	if (!s || !*s)
		return def;
	errno = 0;
	v = strtoul(s, &end, 0);
	return errno || *end ? def : v;
}

/* ---------------------------------------------------------------------- */
/* Container and group setup                                              */
/* ---------------------------------------------------------------------- */

/*
 * Open a container and @group, put the group in the container and select
 * @iommu_type, asserting each step. Anything that fails here is an
 * environment problem (or the module is not loaded), never a skip.
 */
static inline void __vfio_container_setup(struct __test_metadata *_metadata,
					  int group, __u32 iommu_type,
					  int *container_fd, int *group_fd)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };

	*container_fd = open("/dev/vfio/vfio", O_RDWR);
	ASSERT_LE(0, *container_fd)
		TH_LOG("open /dev/vfio/vfio: %s", strerror(errno));
	ASSERT_EQ(VFIO_API_VERSION,
		  ioctl(*container_fd, VFIO_GET_API_VERSION));

	*group_fd = vfio_group_open(group);
	ASSERT_LE(0, *group_fd)
		TH_LOG("open /dev/vfio/%d: %s", group, strerror(errno));
	ASSERT_EQ(0, ioctl(*group_fd, VFIO_GROUP_GET_STATUS, &status));
	ASSERT_FLAG(status.flags, VFIO_GROUP_FLAGS_VIABLE)
		TH_LOG("group %d is not viable (all devices on vfio-pci?)",
		       group);
	ASSERT_EQ(0, ioctl(*group_fd, VFIO_GROUP_SET_CONTAINER,
			   container_fd));

	ASSERT_EQ(1, ioctl(*container_fd, VFIO_CHECK_EXTENSION, iommu_type))
		TH_LOG("IOMMU type %#x not supported (is %s loaded?)",
		       iommu_type, iommu_type == VFIO_RANGE_IOMMU ?
		       VFIO_RANGE_MODULE ".ko" : "vfio_iommu_type1");
	ASSERT_EQ(0, ioctl(*container_fd, VFIO_SET_IOMMU, iommu_type))
		TH_LOG("VFIO_SET_IOMMU(%#x): %s", iommu_type, strerror(errno));
}

/* compat_type1 as 0 or 1; -1 if the module has no such parameter. */
#define COMPAT_PARAM		VFIO_RANGE_SYSFS "/parameters/compat_type1"

static inline int compat_param_get(void)
{
	char c = 0;
	int fd = open(COMPAT_PARAM, O_RDONLY);

	if (fd < 0)
		return -1;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c == 'Y' ? 1 : c == 'N' ? 0 : -1;
}

/* type1 answers 0 for an extension it does not know. */
static inline bool is_range_backend(int container_fd)
{
	return ioctl(container_fd, VFIO_CHECK_EXTENSION, VFIO_RANGE_IOMMU) == 1;
}

/*
 * __vfio_container_setup() for VFIO_TYPE1v2_IOMMU with compat_type1 set to
 * @compat for just the VFIO_SET_IOMMU, then restored. The VFIO core asks
 * the most recently registered backend first, so the container must end
 * up on vfio_iommu_range with @compat and on vfio_iommu_type1 without.
 */
/* A container of type1 @type (v1 or v2), on this module if @compat. */
static inline void __vfio_container_setup_type1(
	struct __test_metadata *_metadata, int group, int type, bool compat,
	int *container_fd, int *group_fd)
{
	int was = compat_param_get();

	ASSERT_LE(0, was)
		TH_LOG("%s: %s", COMPAT_PARAM, strerror(errno));
	ASSERT_EQ(0, sysfs_write_ulong(COMPAT_PARAM, compat));
	__vfio_container_setup(_metadata, group, type, container_fd,
			       group_fd);
	ASSERT_EQ(0, sysfs_write_ulong(COMPAT_PARAM, was));
	ASSERT_EQ(compat, is_range_backend(*container_fd))
		TH_LOG("compat_type1=%d, yet type1 type %d went to %s",
		       compat, type,
		       compat ? "vfio_iommu_type1" : VFIO_RANGE_MODULE);
}

static inline void __vfio_container_setup_type1v2(
	struct __test_metadata *_metadata, int group, bool compat,
	int *container_fd, int *group_fd)
{
	__vfio_container_setup_type1(_metadata, group, VFIO_TYPE1v2_IOMMU,
				     compat, container_fd, group_fd);
}

/* The first edu device in @out; none is an environment error. */
static inline void __first_edu(struct __test_metadata *_metadata,
			       struct edu_info *out)
{
	struct edu_info edu[EDU_MAX];

	ASSERT_LT(0, edu_find(edu, EDU_MAX))
		TH_LOG("no edu device (%04x:%04x) with an IOMMU group",
		       EDU_VENDOR, EDU_DEVICE);
	*out = edu[0];
}

/* The IOMMU group of the first edu device. */
static inline int first_edu_group(struct __test_metadata *_metadata)
{
	struct edu_info edu;

	__first_edu(_metadata, &edu);
	return edu.group;
}

/*
 * type1 is only a reference for some tests; they skip without it. The
 * range backend is what is under test: its absence is always a failure.
 */
#define TYPE1_MISSING	"vfio_iommu_type1 not loaded (modprobe it)"

static inline bool type1_loaded(void)
{
	return !access("/sys/module/vfio_iommu_type1", F_OK);
}

static inline void vfio_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---------------------------------------------------------------------- */
/* VFIO_IOMMU_GET_INFO                                                    */
/* ---------------------------------------------------------------------- */

#define IOVA_RANGES_MAX		16U

struct iommu_info {
	__u64 pgsizes;
	__u64 pgsize;		/* smallest page size */
	__u32 nr_ranges;
	struct vfio_iova_range ranges[IOVA_RANGES_MAX];
	__u64 top;		/* last byte of the highest usable range */
};

static inline int _test_get_info(int fd, void *buf, __u32 argsz)
{
	struct vfio_iommu_type1_info *info = buf;

	info->argsz = argsz;
	return ioctl(fd, VFIO_IOMMU_GET_INFO, buf);
}

/* The capability with @id in a VFIO info buffer of @size bytes, or NULL. */
static inline struct vfio_info_cap_header *
vfio_info_find_cap(void *buf, size_t size, __u32 offset, __u16 id)
{
	struct vfio_info_cap_header *hdr;
	int hops = 0;

	while (offset && hops++ < 64) {
		if (offset + sizeof(*hdr) > size)
			return NULL;
		hdr = (struct vfio_info_cap_header *)((char *)buf + offset);
		if (hdr->id == id)
			return hdr;
		offset = hdr->next;
	}
	return NULL;
}

/* Query the page sizes and the usable IOVA ranges of a container. */
static inline void __get_iommu_info(struct __test_metadata *_metadata, int fd,
				    struct iommu_info *out)
{
	struct vfio_iommu_type1_info_cap_iova_range *cap;
	struct vfio_iommu_type1_info *info;
	struct vfio_info_cap_header *hdr;
	__u32 argsz, i;

	info = calloc(1, sizeof(*info));
	ASSERT_NE(NULL, info);
	ASSERT_EQ(0, _test_get_info(fd, info, sizeof(*info)));
	argsz = info->argsz;
	ASSERT_LE(sizeof(*info), argsz);
	ASSERT_GE(SZ_64K, argsz);
	free(info);

	info = calloc(1, argsz);
	ASSERT_NE(NULL, info);
	ASSERT_EQ(0, _test_get_info(fd, info, argsz));
	ASSERT_FLAG(info->flags, VFIO_IOMMU_INFO_PGSIZES);
	ASSERT_NE(0ULL, info->iova_pgsizes);
	out->pgsizes = info->iova_pgsizes;
	out->pgsize = info->iova_pgsizes & -info->iova_pgsizes;

	ASSERT_FLAG(info->flags, VFIO_IOMMU_INFO_CAPS);
	hdr = vfio_info_find_cap(info, argsz, info->cap_offset,
				 VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
	ASSERT_NE(NULL, hdr);
	cap = (void *)hdr;
	ASSERT_LT(0U, cap->nr_iovas);
	ASSERT_GE(IOVA_RANGES_MAX, cap->nr_iovas);
	ASSERT_GE(argsz, (__u32)((char *)&cap->iova_ranges[cap->nr_iovas] -
				 (char *)info));
	out->nr_ranges = cap->nr_iovas;
	for (i = 0; i < cap->nr_iovas; i++)
		out->ranges[i] = cap->iova_ranges[i];
	out->top = out->ranges[out->nr_ranges - 1].end;
	free(info);
}

/*
 * The granule of container @fd: its smallest IOMMU page size, which RAM
 * maps must be aligned to (above the page size with min_pgsize).
 */
static inline __u64 __granule(struct __test_metadata *_metadata, int fd)
{
	struct iommu_info info;

	__get_iommu_info(_metadata, fd, &info);
	return info.pgsize;
}

#define MIN_PGSIZE_PARAM	VFIO_RANGE_SYSFS "/parameters/min_pgsize"

/*
 * Whether the module was loaded with a granule above the page size
 * (min_pgsize, make check's vtd2m): tests that count in CPU pages skip.
 */
static inline bool granule_restricted(void)
{
	unsigned long val;

	return !sysfs_read_ulong(MIN_PGSIZE_PARAM, &val) &&
	       val > (unsigned long)getpagesize();
}

/*
 * The granule a container of this module will have on an IOMMU with
 * PAGE_SIZE pages, for buffers made before it has a domain: the page
 * size, or min_pgsize if larger.
 */
static inline __u64 module_granule(void)
{
	unsigned long val;

	if (sysfs_read_ulong(MIN_PGSIZE_PARAM, &val) ||
	    val < (unsigned long)getpagesize())
		return getpagesize();
	return val;
}

#define GRANULE_SKIP	"counts in 4 KiB pages or maps edu's 1 MiB BAR0, and the module has min_pgsize above PAGE_SIZE (vfio_range_pgsize_test covers that)"

/*
 * For a fixture whose setup found it cannot run: it sets self->skip, and
 * each test starts with this, as the 6.1 harness runs a test's body even
 * after a SKIP() in its setup.
 */
#define SETUP_SKIPPED()							\
	do {								\
		if (self->skip)						\
			SKIP(return, "%s", self->skip);			\
	} while (0)

/* Sets self->skip and returns, in a setup, if min_pgsize is restricting. */
#define SETUP_SKIP_IF_GRANULE()						\
	do {								\
		if (granule_restricted()) {				\
			self->skip = GRANULE_SKIP;			\
			return;						\
		}							\
	} while (0)

/* ---------------------------------------------------------------------- */
/* VFIO_IOMMU_RANGE_MAP / VFIO_IOMMU_RANGE_UNMAP                          */
/* ---------------------------------------------------------------------- */

/* Poison of the output fields, to see which ones the kernel wrote. */
#define OUT_POISON	0xa5a5a5a5a5a5a5a5ULL

/*
 * Map with the whole structure and return the ioctl result; @out, if not
 * NULL, gets the structure as the kernel left it.
 */
static inline int _test_range_map_out(int fd, __u64 vaddr, __u64 start,
				      __u64 last, __u32 flags,
				      struct vfio_range_map *out)
{
	struct vfio_range_map cmd = {
		.argsz = sizeof(cmd),
		.flags = flags,
		.vaddr = vaddr,
		.start = start,
		.last = last,
		.out_start = OUT_POISON,
		.out_last = OUT_POISON,
		.out_flags = (__u32)OUT_POISON,
	};
	int ret;

	ret = ioctl(fd, VFIO_IOMMU_RANGE_MAP, &cmd);
	if (out)
		*out = cmd;
	return ret;
}

static inline int _test_range_map(int fd, __u64 vaddr, __u64 start, __u64 last,
				  __u32 flags)
{
	return _test_range_map_out(fd, vaddr, start, last, flags, NULL);
}

#define test_range_map_flags(buf, start, last, flags)			\
	ASSERT_EQ(0, _test_range_map(self->container_fd,		\
				     (uintptr_t)(buf), start, last,	\
				     flags))
#define test_range_map(buf, start, last)				\
	test_range_map_flags(buf, start, last, RANGE_RW)
#define test_err_range_map_flags(_errno, buf, start, last, flags)	\
	EXPECT_ERRNO(_errno, _test_range_map(self->container_fd,	\
					     (uintptr_t)(buf), start,	\
					     last, flags))
#define test_err_range_map(_errno, buf, start, last)			\
	test_err_range_map_flags(_errno, buf, start, last, RANGE_RW)

/* @unmapped gets the byte count; it starts as a poison value. */
static inline int _test_range_unmap(int fd, __u64 start, __u64 last,
				    __u32 flags, __u64 *unmapped)
{
	struct vfio_range_unmap cmd = {
		.argsz = sizeof(cmd),
		.flags = flags,
		.start = start,
		.last = last,
		.unmapped = 0xdeadbeefdeadbeefULL,
	};
	int ret;

	ret = ioctl(fd, VFIO_IOMMU_RANGE_UNMAP, &cmd);
	if (unmapped)
		*unmapped = cmd.unmapped;
	return ret;
}

#define test_range_unmap(start, last, bytes)				\
	({								\
		__u64 __unmapped;					\
									\
		ASSERT_EQ(0, _test_range_unmap(self->container_fd,	\
					       start, last, 0,		\
					       &__unmapped));		\
		ASSERT_EQ((__u64)(bytes), __unmapped);			\
	})
#define test_err_range_unmap_flags(_errno, start, last, flags)		\
	EXPECT_ERRNO(_errno, _test_range_unmap(self->container_fd,	\
					       start, last, flags, NULL))
#define test_err_range_unmap(_errno, start, last)			\
	test_err_range_unmap_flags(_errno, start, last, 0)

/* Nothing at all is mapped in the container. */
#define test_range_empty()	test_range_unmap(0, U64_MAX, 0)

/* ---------------------------------------------------------------------- */
/* Notifier clients: userspace fds and vfio_range_test.ko in-kernel ones  */
/* ---------------------------------------------------------------------- */

static inline int _test_notifier(int fd, __u32 events, __u32 gran,
				 __u64 start, __u64 last, __u32 queue_len)
{
	struct vfio_range_notifier cmd = {
		.argsz = sizeof(cmd),
		.events = events,
		.granularity = gran,
		.start = start,
		.last = last,
		.queue_len = queue_len,
	};

	return ioctl(fd, VFIO_IOMMU_RANGE_NOTIFIER, &cmd);
}

static inline int test_cmd(int fd, __u32 op, struct vfio_range_test_cmd *cmd)
{
	cmd->size = sizeof(*cmd);
	cmd->op = op;
	return ioctl(fd, VFIO_RANGE_TEST_CMD, cmd);
}

static inline int _test_client_add(int fd, int group, __u32 events,
				   __u32 gran, __u64 start, __u64 last,
				   __u32 *id)
{
	struct vfio_range_test_cmd cmd = {
		.client_add = {
			.group_id = group,
			.events = events,
			.granularity = gran,
			.start = start,
			.last = last,
		},
	};
	int ret = test_cmd(fd, VFIO_RANGE_TEST_CLIENT_ADD, &cmd);

	if (!ret && id)
		*id = cmd.id;
	return ret;
}

static inline int _test_client_del(int fd, __u32 id)
{
	struct vfio_range_test_cmd cmd = { .id = id };

	return test_cmd(fd, VFIO_RANGE_TEST_CLIENT_DEL, &cmd);
}

static inline int _test_client_read(int fd, __u32 id,
				    struct vfio_range_event *ev, __u32 max,
				    __u32 *count, __u64 *lost)
{
	struct vfio_range_test_cmd cmd = {
		.id = id,
		.client_read = {
			.events = (uintptr_t)ev,
			.max = max,
		},
	};
	int ret = test_cmd(fd, VFIO_RANGE_TEST_CLIENT_READ, &cmd);

	*count = cmd.client_read.out_count;
	*lost = cmd.client_read.out_lost;
	return ret;
}

/* ---------------------------------------------------------------------- */
/* Emulated-IOMMU devices of vfio_range_test.ko                           */
/* ---------------------------------------------------------------------- */

static inline int _emu_pin(int fd, __u32 id, __u64 iova, __u32 npage,
			   __u32 prot)
{
	struct vfio_range_test_cmd cmd = {
		.id = id,
		.emudev_pin = { .iova = iova, .npage = npage, .prot = prot },
	};

	return test_cmd(fd, VFIO_RANGE_TEST_EMUDEV_PIN, &cmd);
}

static inline int _emu_unpin(int fd, __u32 id, __u64 iova, __u32 npage)
{
	struct vfio_range_test_cmd cmd = {
		.id = id,
		.emudev_pin = { .iova = iova, .npage = npage },
	};

	return test_cmd(fd, VFIO_RANGE_TEST_EMUDEV_UNPIN, &cmd);
}

static inline int _emu_rw(int fd, __u32 id, __u64 iova, void *data,
			  __u32 len, bool write)
{
	struct vfio_range_test_cmd cmd = {
		.id = id,
		.emudev_rw = {
			.iova = iova,
			.uptr = (uintptr_t)data,
			.len = len,
			.write = write,
		},
	};

	return test_cmd(fd, VFIO_RANGE_TEST_EMUDEV_RW, &cmd);
}

static inline int _emu_check_pins(int fd, __u32 id, __u32 *seen,
				  __u32 *valid)
{
	struct vfio_range_test_cmd cmd = { .id = id };
	int ret = test_cmd(fd, VFIO_RANGE_TEST_EMUDEV_CHECK_PINS, &cmd);

	*seen = cmd.emudev_check_pins.out_seen;
	*valid = cmd.emudev_check_pins.out_valid;
	return ret;
}

/* @keep: 0, VFIO_RANGE_TEST_KEEP_PINS or VFIO_RANGE_TEST_KEEP_PINS_ALWAYS */
static inline int _emu_keep_pins(int fd, __u32 id, __u32 keep)
{
	struct vfio_range_test_cmd cmd = {
		.id = id,
		.emudev_keep_pins = { .keep = keep },
	};

	return test_cmd(fd, VFIO_RANGE_TEST_EMUDEV_KEEP_PINS, &cmd);
}

static inline int _emu_read_log(int fd, __u32 id,
				struct vfio_range_test_dma_unmap *log,
				__u32 max, __u32 *count)
{
	struct vfio_range_test_cmd cmd = {
		.id = id,
		.emudev_read_log = { .uptr = (uintptr_t)log, .max = max },
	};
	int ret = test_cmd(fd, VFIO_RANGE_TEST_EMUDEV_READ_LOG, &cmd);

	*count = cmd.emudev_read_log.out_count;
	return ret;
}

/* ---------------------------------------------------------------------- */
/* Emulated devices and their containers                                  */
/* ---------------------------------------------------------------------- */

struct emu {
	int test_fd;		/* not owned */
	bool added;
	__u32 id;
	int group;
	char name[32];
	int container_fd;
	int group_fd;
	int dev_fd;
};

static inline void emu_init(struct emu *e)
{
	memset(e, 0, sizeof(*e));
	e->container_fd = -1;
	e->group_fd = -1;
	e->dev_fd = -1;
}

/* Creates an emulated device (VFIO_RANGE_TEST_EMUDEV_* @flags), its group. */
static inline void __emu_add_flags(struct __test_metadata *_metadata,
				   int test_fd, struct emu *e, __u32 flags)
{
	struct vfio_range_test_cmd cmd = { .emudev_add = { .flags = flags } };

	e->test_fd = test_fd;
	ASSERT_EQ(0, test_cmd(test_fd, VFIO_RANGE_TEST_EMUDEV_ADD, &cmd))
		TH_LOG("EMUDEV_ADD: %s", strerror(errno));
	e->added = true;
	e->id = cmd.id;
	e->group = cmd.emudev_add.out_group_id;
	memcpy(e->name, cmd.emudev_add.out_name, sizeof(e->name));
	e->name[sizeof(e->name) - 1] = '\0';
}

static inline void __emu_add(struct __test_metadata *_metadata,
			     int test_fd, struct emu *e)
{
	__emu_add_flags(_metadata, test_fd, e, 0);
}

static inline void __emu_open_device(struct __test_metadata *_metadata,
				     struct emu *e)
{
	e->dev_fd = ioctl(e->group_fd, VFIO_GROUP_GET_DEVICE_FD, e->name);
	ASSERT_LE(0, e->dev_fd)
		TH_LOG("VFIO_GROUP_GET_DEVICE_FD(%s): %s", e->name,
		       strerror(errno));
}

/*
 * An emulated device alone in a new VFIO_RANGE_IOMMU container, its device
 * fd open (it may only pin and read/write while open).
 */
/*
 * An emulated device alone in a new VFIO_RANGE_IOMMU container (with
 * @compat: a VFIO_TYPE1v2_IOMMU one in compat mode), its device fd open
 * (it may only pin and read/write while open).
 */
static inline void __emu_create_type(struct __test_metadata *_metadata,
				     int test_fd, struct emu *e, bool compat)
{
	__emu_add(_metadata, test_fd, e);
	if (compat)
		__vfio_container_setup_type1v2(_metadata, e->group, true,
					       &e->container_fd, &e->group_fd);
	else
		__vfio_container_setup(_metadata, e->group, VFIO_RANGE_IOMMU,
				       &e->container_fd, &e->group_fd);
	__emu_open_device(_metadata, e);
}

static inline void __emu_create(struct __test_metadata *_metadata,
				int test_fd, struct emu *e)
{
	__emu_create_type(_metadata, test_fd, e, false);
}

/*
 * Adds the group of device @e (added) to the set-up container @container_fd
 * and opens its device fd; @e does not own the container.
 */
static inline void __emu_join(struct __test_metadata *_metadata,
			      struct emu *e, int container_fd)
{
	e->group_fd = vfio_group_open(e->group);
	ASSERT_LE(0, e->group_fd);
	ASSERT_EQ(0, ioctl(e->group_fd, VFIO_GROUP_SET_CONTAINER,
			   &container_fd))
		TH_LOG("VFIO_GROUP_SET_CONTAINER: %s", strerror(errno));
	__emu_open_device(_metadata, e);
}

/* No asserts: also called from teardowns. */
static inline void emu_destroy(struct emu *e)
{
	struct vfio_range_test_cmd cmd = { .id = e->id };

	vfio_close(&e->dev_fd);
	vfio_close(&e->group_fd);
	vfio_close(&e->container_fd);
	if (e->added)
		test_cmd(e->test_fd, VFIO_RANGE_TEST_EMUDEV_DEL, &cmd);
	e->added = false;
}

/* ---------------------------------------------------------------------- */
/* Upstream type1 (reference backend for the DMA plumbing)                */
/* ---------------------------------------------------------------------- */

static inline int _test_type1_map(int fd, __u64 vaddr, __u64 iova, __u64 size,
				  __u32 flags)
{
	struct vfio_iommu_type1_dma_map cmd = {
		.argsz = sizeof(cmd),
		.flags = flags,
		.vaddr = vaddr,
		.iova = iova,
		.size = size,
	};

	return ioctl(fd, VFIO_IOMMU_MAP_DMA, &cmd);
}

static inline int _test_type1_unmap(int fd, __u64 iova, __u64 size,
				    __u64 *unmapped)
{
	struct vfio_iommu_type1_dma_unmap cmd = {
		.argsz = sizeof(cmd),
		.iova = iova,
		.size = size,
	};
	int ret;

	ret = ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &cmd);
	if (unmapped)
		*unmapped = cmd.size;
	return ret;
}

/* ---------------------------------------------------------------------- */
/* Memory, locked_vm, capabilities                                        */
/* ---------------------------------------------------------------------- */

static inline void *test_mmap(size_t size, int prot)
{
	void *buf = mmap(NULL, size, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return buf == MAP_FAILED ? NULL : buf;
}

/*
 * @size bytes of a memfd mapped shared twice, at *@a and *@b: the same
 * pages at two addresses, as a process and its successor see them in a
 * live update. Returns the memfd, or -1.
 */
static inline int test_mmap_twice(size_t size, char **a, char **b)
{
	int fd = memfd_create("vfio-range-test", 0);

	*a = *b = NULL;
	if (fd < 0)
		return -1;
	if (ftruncate(fd, size))
		goto err;
	*a = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	*b = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (*a != MAP_FAILED && *b != MAP_FAILED)
		return fd;
	if (*a != MAP_FAILED)
		munmap(*a, size);
	if (*b != MAP_FAILED)
		munmap(*b, size);
	*a = *b = NULL;
err:
	close(fd);
	return -1;
}

/*
 * @size bytes of anonymous memory at an address aligned to @align (a power
 * of two), as an IOMMU granule above the page size needs for RAM maps: the
 * over-allocation is trimmed off, so munmap(buf, @size) frees it all.
 */
static inline void *test_mmap_aligned(size_t size, size_t align, int prot)
{
	char *raw, *buf;

	if (align <= (size_t)getpagesize())
		return test_mmap(size, prot);
	raw = test_mmap(size + align, prot);
	if (!raw)
		return NULL;
	buf = (char *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
	if (buf > raw)
		munmap(raw, buf - raw);
	munmap(buf + size, raw + align - buf);
	return buf;
}

/* VmLck of @pid (0: this process) in KiB, or -1. */
static inline long vmlck_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/status", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/status");
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmLck: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

#define ASSERT_VMLCK(base_kb, bytes)					\
	ASSERT_EQ((long)(base_kb) + (long)((bytes) / 1024), vmlck_kb(0))

/* Remove CAP_IPC_LOCK from the effective and permitted sets. */
static inline int drop_cap_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	int idx = CAP_TO_INDEX(CAP_IPC_LOCK);

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[idx].effective &= ~CAP_TO_MASK(CAP_IPC_LOCK);
	data[idx].permitted &= ~CAP_TO_MASK(CAP_IPC_LOCK);
	data[idx].inheritable &= ~CAP_TO_MASK(CAP_IPC_LOCK);
	return syscall(SYS_capset, &hdr, data);
}

static inline bool has_cap_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[CAP_TO_INDEX(CAP_IPC_LOCK)].effective &
	       CAP_TO_MASK(CAP_IPC_LOCK);
}

/* ---------------------------------------------------------------------- */
/* Leak checks: module counters, references, containers in use            */
/* ---------------------------------------------------------------------- */

#define DEBUGFS_ROOT		"/sys/kernel/debug/vfio_iommu_range"
#define CONTAINERS		DEBUGFS_ROOT "/containers"
#define VFIO_RANGE_COUNTERS	DEBUGFS_ROOT "/counters"
#define VFIO_RANGE_REFCNT	VFIO_RANGE_SYSFS "/refcnt"

/*
 * Reads counter @name of the module's debugfs counters (stats.c); -1 with
 * errno if there is no such file or counter.
 */
static inline int vrange_counter(const char *name, long long *val)
{
	char line[128], key[64];
	long long v;
	FILE *f;
	int ret = -1;

	f = fopen(VFIO_RANGE_COUNTERS, "r");
	if (!f)
		return -1;
	errno = ENOENT;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %lld", key, &v) == 2 &&
		    !strcmp(key, name)) {
			*val = v;
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

/* Pages pinned by every container of the module together. */
#define ASSERT_PINNED_PAGES(expected)					\
	({								\
		long long __pinned = -1;				\
									\
		ASSERT_EQ(0, vrange_counter("pinned_pages", &__pinned))	\
			TH_LOG("%s: %s (debugfs mounted?)",		\
			       VFIO_RANGE_COUNTERS, strerror(errno));	\
		ASSERT_EQ((long long)(expected), __pinned);		\
	})

/*
 * The directory of the container this process opened (its info file says
 * "opener <pid> ..."), in @dir; false if there is none.
 */
static inline bool own_container_dir(char *dir, size_t size)
{
	char path[PATH_MAX], buf[4096], want[32];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(want, sizeof(want), "\nopener %d ", getpid());
	d = opendir(CONTAINERS);
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), CONTAINERS "/%s/info", de->d_name);
		if (read_text(path, buf, sizeof(buf)) > 0 && strstr(buf, want)) {
			snprintf(dir, size, CONTAINERS "/%s", de->d_name);
			found = true;
		}
	}
	closedir(d);
	return found;
}

/*
 * Mapping requests the container holds, from the DMA-avail capability of
 * VFIO_IOMMU_GET_INFO and the max_mappings parameter; -1 on error.
 */
static inline long vrange_nr_mappings(int fd)
{
	struct vfio_iommu_type1_info_dma_avail *avail;
	struct vfio_iommu_type1_info *info;
	struct vfio_info_cap_header *hdr;
	unsigned long max;
	char buf[1024];
	long ret = -1;

	info = (void *)buf;
	memset(buf, 0, sizeof(buf));
	if (sysfs_read_ulong(MAX_MAPPINGS_PARAM, &max) ||
	    _test_get_info(fd, info, sizeof(buf)) ||
	    info->argsz > sizeof(buf))
		return -1;
	hdr = vfio_info_find_cap(info, sizeof(buf), info->cap_offset,
				 VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
	if (hdr) {
		avail = (void *)hdr;
		ret = (long)max - (long)avail->avail;
	}
	return ret;
}

/* ---------------------------------------------------------------------- */
/* Kernel log                                                             */
/* ---------------------------------------------------------------------- */

/*
 * What tools/testing/vm/check-klog.sh treats as a kernel bug report, for
 * tests that check the log of their own run; DMAR faults are not in it.
 */
static const char *const klog_bug_patterns[] = {
	"Oops", "BUG:", "WARNING:", "kernel BUG", "general protection fault",
	"KFENCE:", "KASAN:", "UBSAN:", "Call Trace:", "unreferenced object",
	"Kernel panic", "RCU stall", "detected stalls", "soft lockup",
	"hard LOCKUP", "INFO: possible circular locking",
	"INFO: possible recursive locking", "blocked for more than",
};

/* Opens /dev/kmsg positioned at its end: klog_scan() sees what follows. */
static inline int klog_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/*
 * Reads the records logged since klog_open() and copies the first one
 * that looks like a kernel bug report to @found. Returns true if there is
 * one.
 */
static inline bool klog_scan(int fd, char *found, size_t len)
{
	char rec[2048];
	unsigned int i;
	ssize_t n;

	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)	/* overwritten: skip ahead */
			continue;
		if (n <= 0)
			return false;
		rec[n] = '\0';
		for (i = 0; i < sizeof(klog_bug_patterns) /
				sizeof(klog_bug_patterns[0]); i++) {
			if (strstr(rec, klog_bug_patterns[i])) {
				n = strnlen(rec, len - 1);
				memcpy(found, rec, n);
				found[n] = '\0';
				return true;
			}
		}
	}
}

#define ASSERT_KLOG_CLEAN(fd)						\
	({								\
		char __rec[512];					\
									\
		ASSERT_FALSE(klog_scan(fd, __rec, sizeof(__rec)))	\
			TH_LOG("kernel log: %s", __rec);		\
	})

/* ---------------------------------------------------------------------- */
/* edu: asserting wrappers of the driver in edu.h                         */
/* ---------------------------------------------------------------------- */

/*
 * Get the device fd of @bdf from @group_fd (its group must already be in a
 * container with an IOMMU set), map BAR0 and enable bus mastering.
 */
static inline void __edu_open(struct __test_metadata *_metadata, int group_fd,
			      const char *bdf, struct edu_dev *edu)
{
	int rc;

	rc = edu_open_fd(edu, group_fd, bdf);
	ASSERT_EQ(0, rc)
		TH_LOG("VFIO_GROUP_GET_DEVICE_FD(%s): %s", bdf, strerror(-rc));
	rc = edu_map_bar0(edu);
	ASSERT_EQ(0, rc)
		TH_LOG("mmap BAR0: %s", strerror(-rc));
	rc = edu_enable_master(edu);
	ASSERT_EQ(0, rc)
		TH_LOG("enable bus mastering: %s", strerror(-rc));
	ASSERT_EQ(EDU_IDENT, edu_read32(edu, EDU_REG_IDENT));
}

/*
 * The first edu device and, if there is one, an edu device in another IOMMU
 * group, in a new VFIO_RANGE_IOMMU container, their device fds open:
 * @info[i], @group_fd[i] and @edu[i] for each; returns how many (1 or 2).
 * The caller closes everything, also after a failed assertion.
 */
static inline int __edu_peers_setup(struct __test_metadata *_metadata,
				    int *container_fd, int group_fd[2],
				    struct edu_info info[2],
				    struct edu_dev edu[2])
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	struct edu_info all[EDU_MAX];
	int n, i, nr = 1;

	n = edu_find(all, EDU_MAX);
	ASSERT_LT(0, n)
		TH_LOG("no edu device (%04x:%04x) with an IOMMU group",
		       EDU_VENDOR, EDU_DEVICE);
	info[0] = all[0];
	for (i = 1; i < n; i++) {
		if (all[i].group != all[0].group) {
			info[nr++] = all[i];
			break;
		}
	}

	*container_fd = open("/dev/vfio/vfio", O_RDWR);
	ASSERT_LE(0, *container_fd);
	ASSERT_EQ(VFIO_API_VERSION, ioctl(*container_fd, VFIO_GET_API_VERSION));
	for (i = 0; i < nr; i++) {
		group_fd[i] = vfio_group_open(info[i].group);
		ASSERT_LE(0, group_fd[i]);
		ASSERT_EQ(0, ioctl(group_fd[i], VFIO_GROUP_GET_STATUS, &status));
		ASSERT_FLAG(status.flags, VFIO_GROUP_FLAGS_VIABLE);
		ASSERT_EQ(0, ioctl(group_fd[i], VFIO_GROUP_SET_CONTAINER,
				   container_fd));
	}
	ASSERT_EQ(1, ioctl(*container_fd, VFIO_CHECK_EXTENSION,
			   VFIO_RANGE_IOMMU));
	ASSERT_EQ(0, ioctl(*container_fd, VFIO_SET_IOMMU, VFIO_RANGE_IOMMU));
	for (i = 0; i < nr; i++)
		__edu_open(_metadata, group_fd[i], info[i].bdf, &edu[i]);
	return nr;
}

/* What the device buffer and RAM hold before a peer-to-peer read. */
#define P2P_SEED	0x5eed5eedU
#define P2P_POISON	0xccccccccU

/*
 * Have @edu read 4 bytes at @iova (a BAR register, through the IOMMU) into
 * its buffer and write them back to @ram, mapped at @ram_iova; returns the
 * word that arrived. The device buffer is seeded first, so a read that is
 * blocked cannot pass off an ident left from an earlier read.
 */
static inline __u32 __edu_p2p_read(struct __test_metadata *_metadata,
				   struct edu_dev *edu, volatile __u32 *ram,
				   __u64 ram_iova, __u64 iova)
{
	ram[0] = P2P_SEED;
	ASSERT_EQ(0, edu_dma(edu, ram_iova, EDU_BUF_ADDR, 4, false));
	ram[0] = P2P_POISON;
	ASSERT_EQ(0, edu_dma(edu, iova, EDU_BUF_ADDR, 4, false));
	ASSERT_EQ(0, edu_dma(edu, EDU_BUF_ADDR, ram_iova, 4, true));
	return ram[0];
}

/* IOVA -> device buffer (the device reads memory). */
#define edu_dma_to_dev(edu, iova)					\
	ASSERT_EQ(0, edu_dma(edu, iova, EDU_BUF_ADDR, EDU_DMA_LEN, false))
/* Device buffer -> IOVA (the device writes memory). */
#define edu_dma_from_dev(edu, iova)					\
	ASSERT_EQ(0, edu_dma(edu, EDU_BUF_ADDR, iova, EDU_DMA_LEN, true))

/* A byte pattern that differs between tests, runs and positions. */
static inline void fill_pattern(void *buf, size_t len, unsigned int seed)
{
	unsigned char *p = buf;
	size_t i;

	seed = seed * 2654435761U + (unsigned int)getpid();
	for (i = 0; i < len; i++)
		p[i] = (unsigned char)((seed >> 8) + i * 7 + (i >> 8));
}

/* Whether all @len bytes at @buf equal @c. */
static inline bool mem_is(const void *buf, int c, size_t len)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] != (unsigned char)c)
			return false;
	}
	return true;
}

#endif /* __SELFTEST_VFIO_RANGE_UTILS_H */
