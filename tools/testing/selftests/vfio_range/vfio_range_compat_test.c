// SPDX-License-Identifier: GPL-2.0-only
/*
 * Compat mode (module parameter compat_type1): a container opened as
 * VFIO_TYPE1v2_IOMMU on vfio_iommu_range speaks upstream type1's
 * MAP_DMA/UNMAP_DMA uAPI with type1 v2's errnos, over the same engine as
 * the range ioctls, which keep working on it.
 *
 * vfio_iommu_type1 is loaded too, and registered earlier: the VFIO core asks
 * the most recently registered driver first, so VFIO_SET_IOMMU(TYPE1v2)
 * lands here while compat_type1 is on, and on type1 while it is off. Each
 * fixture turns the parameter on only around its own VFIO_SET_IOMMU and
 * then checks which backend it got. The diff tests run one sequence of
 * calls on both backends and compare every result.
 *
 * Needs root, vfio_iommu_range.ko and an edu device behind an IOMMU.
 */
#include "vfio_range_utils.h"

#include <poll.h>

/* Below edu's 28-bit DMA mask, aligned to granules to 2 MiB (min_pgsize). */
#define IOVA_BASE	0x200000ULL
#define BUF_PAGES	32U

#define T1_R		VFIO_DMA_MAP_FLAG_READ
#define T1_W		VFIO_DMA_MAP_FLAG_WRITE
#define T1_RW		(T1_R | T1_W)

/* ---------------------------------------------------------------------- */
/* Helpers                                                                */
/* ---------------------------------------------------------------------- */

static int _map_dma_argsz(int fd, __u32 argsz, __u32 flags, __u64 vaddr,
			  __u64 iova, __u64 size)
{
	struct vfio_iommu_type1_dma_map cmd = {
		.argsz = argsz,
		.flags = flags,
		.vaddr = vaddr,
		.iova = iova,
		.size = size,
	};

	return ioctl(fd, VFIO_IOMMU_MAP_DMA, &cmd);
}

/* @size_out gets the size field as the kernel left it. */
static int _unmap_dma_argsz(int fd, __u32 argsz, __u32 flags, __u64 iova,
			    __u64 size, __u64 *size_out)
{
	struct vfio_iommu_type1_dma_unmap cmd = {
		.argsz = argsz,
		.flags = flags,
		.iova = iova,
		.size = size,
	};
	int ret = ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &cmd);

	if (size_out)
		*size_out = cmd.size;
	return ret;
}

#define MAP_SZ		sizeof(struct vfio_iommu_type1_dma_map)
#define UNMAP_SZ	sizeof(struct vfio_iommu_type1_dma_unmap)

#define map_dma(buf, iova, size, flags)					\
	ASSERT_EQ(0, _map_dma_argsz(self->container_fd, MAP_SZ, flags,	\
				    (uintptr_t)(buf), iova, size))	\
		TH_LOG("MAP_DMA %#llx+%#llx: %s",			\
		       (unsigned long long)(iova),			\
		       (unsigned long long)(size), strerror(errno))
#define err_map_dma_vaddr(_errno, vaddr, iova, size, flags)		\
	EXPECT_ERRNO(_errno, _map_dma_argsz(self->container_fd, MAP_SZ,	\
					    flags, vaddr, iova, size))
#define err_map_dma(_errno, buf, iova, size, flags)			\
	err_map_dma_vaddr(_errno, (uintptr_t)(buf), iova, size, flags)

#define unmap_dma_flags(iova, size, flags, bytes)			\
	({								\
		__u64 __out = OUT_POISON;				\
									\
		ASSERT_EQ(0, _unmap_dma_argsz(self->container_fd,	\
					      UNMAP_SZ, flags, iova,	\
					      size, &__out))		\
			TH_LOG("UNMAP_DMA %#llx+%#llx: %s",		\
			       (unsigned long long)(iova),		\
			       (unsigned long long)(size),		\
			       strerror(errno));			\
		ASSERT_EQ((__u64)(bytes), __out);			\
	})
#define unmap_dma(iova, size, bytes)	unmap_dma_flags(iova, size, 0, bytes)
#define unmap_dma_all(bytes)						\
	unmap_dma_flags(0, 0, VFIO_DMA_UNMAP_FLAG_ALL, bytes)
#define err_unmap_dma_flags(_errno, iova, size, flags)			\
	EXPECT_ERRNO(_errno, _unmap_dma_argsz(self->container_fd,	\
					      UNMAP_SZ, flags, iova,	\
					      size, NULL))
#define err_unmap_dma(_errno, iova, size)				\
	err_unmap_dma_flags(_errno, iova, size, 0)

/* ---------------------------------------------------------------------- */
/* A compat container with one edu group                                  */
/* ---------------------------------------------------------------------- */

FIXTURE(compat)
{
	struct edu_info info;
	int param_was;
	long max_mappings_was;	/* -1 unless a test changed the parameter */
	int container_fd;
	int group_fd;
	struct edu_dev edu;
	struct iommu_info iommu;
	__u64 pg;
	char *buf;		/* BUF_PAGES pages */
	size_t buf_len;
};

FIXTURE_SETUP(compat)
{
	struct edu_info info[EDU_MAX];

	self->container_fd = -1;
	self->group_fd = -1;
	self->max_mappings_was = -1;
	edu_init(&self->edu);
	self->param_was = compat_param_get();
	ASSERT_LE(0, self->param_was)
		TH_LOG("%s missing: module too old?", COMPAT_PARAM);
	ASSERT_LT(0, edu_find(info, EDU_MAX))
		TH_LOG("no edu device (%04x:%04x) with an IOMMU group",
		       EDU_VENDOR, EDU_DEVICE);
	self->info = info[0];

	__vfio_container_setup_type1v2(_metadata, self->info.group, true,
				       &self->container_fd, &self->group_fd);
	__get_iommu_info(_metadata, self->container_fd, &self->iommu);
	self->pg = self->iommu.pgsize;
	ASSERT_LE((__u64)getpagesize(), self->pg);

	self->buf_len = BUF_PAGES * self->pg;
	self->buf = test_mmap_aligned(self->buf_len, self->pg,
				      PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(compat)
{
	edu_close(&self->edu);
	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);
	if (self->buf)
		munmap(self->buf, self->buf_len);
	if (self->param_was >= 0)
		sysfs_write_ulong(COMPAT_PARAM, self->param_was);
	/* Restored here too, so a failed assertion cannot leave it at 2. */
	if (self->max_mappings_was >= 0)
		sysfs_write_ulong(MAX_MAPPINGS_PARAM, self->max_mappings_was);
}

/* What the container answers, before and after turning the parameter off. */
TEST_F(compat, extensions)
{
	int fd = self->container_fd;

	ASSERT_EQ(1, ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(1, ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL));
	ASSERT_EQ(1, ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_RANGE_IOMMU));
	ASSERT_EQ(1, ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU));
	/* Offered without emulated devices, as type1; nesting is not. */
	ASSERT_EQ(1, ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR));
	ASSERT_EQ(0, ioctl(fd, VFIO_CHECK_EXTENSION,
			   VFIO_TYPE1_NESTING_IOMMU));

	/* The container keeps its front door when the parameter changes. */
	ASSERT_EQ(0, sysfs_write_ulong(COMPAT_PARAM, 0));
	ASSERT_EQ(1, ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU));
	map_dma(self->buf, IOVA_BASE, self->pg, T1_RW);
	unmap_dma(IOVA_BASE, self->pg, self->pg);
}

TEST_F(compat, map_errnos)
{
	const __u64 pg = self->pg;
	const __u64 b = IOVA_BASE;
	const __u64 minsz = offsetofend(struct vfio_iommu_type1_dma_map, size);
	char *prot_none;
	__u64 vaddr = (uintptr_t)self->buf;

	/* The structure and its flags. */
	EXPECT_ERRNO(EINVAL, _map_dma_argsz(self->container_fd, minsz - 1,
					    T1_RW, vaddr, b, pg));
	EXPECT_ERRNO(EFAULT, ioctl(self->container_fd, VFIO_IOMMU_MAP_DMA,
				   NULL));
	err_map_dma(EINVAL, self->buf, b, pg, 0);
	err_map_dma(EINVAL, self->buf, b, pg, T1_RW | (1U << 3));
	err_map_dma(EINVAL, self->buf, b, pg, T1_RW | (1U << 31));
	err_map_dma(ENOENT, self->buf, b, pg, VFIO_DMA_MAP_FLAG_VADDR);
	err_map_dma(EINVAL, self->buf, b, pg, T1_RW | VFIO_DMA_MAP_FLAG_VADDR);

	/* Sizes, alignment, wrapping. */
	err_map_dma(EINVAL, self->buf, b, 0, T1_RW);
	err_map_dma(EINVAL, self->buf, b + 1, pg, T1_RW);
	err_map_dma(EINVAL, self->buf, b, pg + 1, T1_RW);
	err_map_dma(EINVAL, self->buf, b, pg - 1, T1_RW);
	err_map_dma(EINVAL, self->buf + 1, b, pg, T1_RW);
	/* Wrapping past 2^64: EOVERFLOW, as mainline type1 since 6.18. */
	err_map_dma(EOVERFLOW, self->buf, U64_MAX - pg + 1, 2 * pg, T1_RW);
	err_map_dma_vaddr(EOVERFLOW, U64_MAX - pg + 1, b, 2 * pg, T1_RW);
	err_map_dma(EOVERFLOW, self->buf, b, U64_MAX - pg + 1, T1_RW);
	/* Alignment is checked first, as there. */
	err_map_dma(EINVAL, self->buf, U64_MAX - pg + 2, 2 * pg, T1_RW);
	err_map_dma_vaddr(EINVAL, U64_MAX - pg + 2, b, 2 * pg, T1_RW);

	/*
	 * IOVA that is not usable: the MSI window, above the aperture (none
	 * where the space reaches 2^64: AMD-Vi, virtio-iommu).
	 */
	err_map_dma(EINVAL, self->buf, MSI_IOVA_START, pg, T1_RW);
	err_map_dma(EINVAL, self->buf, MSI_IOVA_START - pg, 2 * pg, T1_RW);
	if (self->iommu.top != U64_MAX) {
		err_map_dma(EINVAL, self->buf, self->iommu.top + 1, pg, T1_RW);
		err_map_dma(EINVAL, self->buf, U64_MAX - pg + 1, pg, T1_RW);
	}

	/* Memory that cannot be pinned. */
	prot_none = mmap(NULL, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	ASSERT_NE(MAP_FAILED, prot_none);
	err_map_dma(EFAULT, prot_none, b, pg, T1_RW);
	munmap(prot_none, pg);

	/* Overlap: EEXIST, also before "not usable" as in type1. */
	map_dma(self->buf, b + 2 * pg, 4 * pg, T1_RW);
	err_map_dma(EEXIST, self->buf, b + 2 * pg, 4 * pg, T1_RW);
	err_map_dma(EEXIST, self->buf, b + pg, 2 * pg, T1_RW);
	err_map_dma(EEXIST, self->buf, b + 5 * pg, 2 * pg, T1_RW);
	err_map_dma(EEXIST, self->buf, b + 3 * pg, pg, T1_RW);
	err_map_dma(EEXIST, self->buf, b, 8 * pg, T1_RW);
	map_dma(self->buf, MSI_IOVA_START - pg, pg, T1_RW);
	err_map_dma(EEXIST, self->buf, MSI_IOVA_START - pg, 2 * pg, T1_RW);

	/* Nothing above changed the container. */
	unmap_dma_all(5 * pg);
}

/* ENOSPC at the mapping limit: max_mappings, which DMA_AVAIL reports. */
TEST_F(compat, map_enospc)
{
	const __u64 pg = self->pg;
	unsigned long was;

	ASSERT_EQ(0, sysfs_read_ulong(MAX_MAPPINGS_PARAM, &was));
	self->max_mappings_was = was;
	ASSERT_EQ(0, sysfs_write_ulong(MAX_MAPPINGS_PARAM, 2));
	map_dma(self->buf, IOVA_BASE, pg, T1_RW);
	map_dma(self->buf, IOVA_BASE + pg, pg, T1_RW);
	err_map_dma(ENOSPC, self->buf, IOVA_BASE + 2 * pg, pg, T1_RW);
	/* EEXIST comes first, as in type1. */
	err_map_dma(EEXIST, self->buf, IOVA_BASE, pg, T1_RW);
	unmap_dma(IOVA_BASE, pg, pg);
	map_dma(self->buf, IOVA_BASE + 2 * pg, pg, T1_RW);
	ASSERT_EQ(0, sysfs_write_ulong(MAX_MAPPINGS_PARAM, was));
	unmap_dma_all(2 * pg);
}

TEST_F(compat, unmap_errnos)
{
	const __u64 pg = self->pg;
	const __u64 b = IOVA_BASE;
	const __u64 minsz = offsetofend(struct vfio_iommu_type1_dma_unmap,
					size);
	__u64 out = OUT_POISON;

	map_dma(self->buf, b, 4 * pg, T1_RW);
	map_dma(self->buf, b + 4 * pg, 2 * pg, T1_R);

	EXPECT_ERRNO(EINVAL, _unmap_dma_argsz(self->container_fd, minsz - 1,
					      0, b, 4 * pg, NULL));
	EXPECT_ERRNO(EFAULT, ioctl(self->container_fd, VFIO_IOMMU_UNMAP_DMA,
				   NULL));
	err_unmap_dma_flags(EINVAL, b, 4 * pg, 1U << 3);
	err_unmap_dma_flags(EINVAL, b, 4 * pg, 1U << 31);
	err_unmap_dma_flags(EINVAL, b, 4 * pg,
			    VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP);
	err_unmap_dma_flags(EINVAL, b, pg, VFIO_DMA_UNMAP_FLAG_VADDR);
	err_unmap_dma_flags(EINVAL, b, 4 * pg,
			    VFIO_DMA_UNMAP_FLAG_VADDR |
			    VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP);
	err_unmap_dma_flags(EINVAL, pg, 0,
			    VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR);

	/* Alignment, sizes, wrapping. */
	err_unmap_dma(EINVAL, b + 1, 4 * pg);
	err_unmap_dma(EINVAL, b, 4 * pg + 1);
	err_unmap_dma(EINVAL, b, 4 * pg - 1);
	err_unmap_dma(EINVAL, b, 0);
	err_unmap_dma(EOVERFLOW, U64_MAX - pg + 1, 2 * pg);
	err_unmap_dma(EINVAL, U64_MAX - pg + 1, 2 * pg - 1);
	err_unmap_dma_flags(EINVAL, b, 0, VFIO_DMA_UNMAP_FLAG_ALL);
	err_unmap_dma_flags(EINVAL, 0, pg, VFIO_DMA_UNMAP_FLAG_ALL);
	err_unmap_dma_flags(EINVAL, b, 4 * pg, VFIO_DMA_UNMAP_FLAG_ALL);

	/* v2: a range that bisects a mapping. */
	err_unmap_dma(EINVAL, b, pg);
	err_unmap_dma(EINVAL, b + pg, 3 * pg);
	err_unmap_dma(EINVAL, b, 5 * pg);
	err_unmap_dma(EINVAL, b + 2 * pg, 4 * pg);
	err_unmap_dma(EINVAL, b + 5 * pg, 2 * pg);

	/* Nothing mapped in the range: success, size 0. */
	ASSERT_EQ(0, _unmap_dma_argsz(self->container_fd, UNMAP_SZ, 0,
				      b + 16 * pg, 4 * pg, &out));
	ASSERT_EQ(0ULL, out);

	/* Nothing above changed the container. */
	unmap_dma_all(6 * pg);
}

/* Unmap removes whole mappings, across gaps, and reports their size. */
TEST_F(compat, map_unmap_sizes)
{
	const __u64 pg = self->pg;
	const __u64 b = IOVA_BASE;

	map_dma(self->buf, b, 4 * pg, T1_RW);
	map_dma(self->buf + 4 * pg, b + 4 * pg, 2 * pg, T1_RW);
	map_dma(self->buf, b + 8 * pg, pg, T1_R);
	map_dma(self->buf, b + 12 * pg, 3 * pg, T1_W);

	unmap_dma(b, 6 * pg, 6 * pg);
	unmap_dma(b, 6 * pg, 0);
	/* From a gap to a gap. */
	unmap_dma(b + 7 * pg, 9 * pg, 4 * pg);
	unmap_dma_all(0);

	/* A larger argsz is accepted; the size is written back. */
	map_dma(self->buf, b, 2 * pg, T1_RW);
	ASSERT_EQ(0, _map_dma_argsz(self->container_fd, MAP_SZ + 64, T1_RW,
				    (uintptr_t)self->buf, b + 2 * pg, pg));
	{
		__u64 out = 0;

		ASSERT_EQ(0, _unmap_dma_argsz(self->container_fd,
					      UNMAP_SZ + 64, 0, b, 3 * pg,
					      &out));
		ASSERT_EQ(3 * pg, out);
	}
}

/* UNMAP_FLAG_ALL removes everything, up to the top of the space. */
TEST_F(compat, unmap_all)
{
	const __u64 pg = self->pg;
	unsigned int i;

	for (i = 0; i < 8; i++)
		map_dma(self->buf + i * pg, IOVA_BASE + 2 * i * pg, pg,
			T1_RW);
	map_dma(self->buf, self->iommu.top + 1 - 4 * pg, 4 * pg, T1_RW);
	unmap_dma_all(12 * pg);
	unmap_dma_all(0);
	test_range_empty();

	/* Unlike type1 in 6.1/6.12, a range ending at 2^64 - 1 works. */
	map_dma(self->buf, self->iommu.top + 1 - 4 * pg, 4 * pg, T1_RW);
	unmap_dma(self->iommu.top + 1 - 4 * pg,
		  0 - (self->iommu.top + 1 - 4 * pg), 4 * pg);
}

/* GET_INFO has what QEMU reads, and no migration capability. */
TEST_F(compat, get_info)
{
	struct vfio_iommu_type1_info_dma_avail *avail;
	struct vfio_iommu_type1_info *info;
	struct vfio_info_cap_header *hdr;
	__u32 argsz, before;
	struct vfio_iommu_type1_dirty_bitmap dirty = {
		.argsz = sizeof(dirty),
		.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START,
	};

	info = calloc(1, SZ_4K);
	ASSERT_NE(NULL, info);
	ASSERT_EQ(0, _test_get_info(self->container_fd, info, SZ_4K));
	argsz = info->argsz;
	ASSERT_GE(SZ_4K, argsz);
	ASSERT_FLAG(info->flags, VFIO_IOMMU_INFO_PGSIZES);
	ASSERT_FLAG(info->flags, VFIO_IOMMU_INFO_CAPS);
	ASSERT_NE(0ULL, info->iova_pgsizes & self->pg);
	ASSERT_NE(NULL, vfio_info_find_cap(info, argsz, info->cap_offset,
				VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE));
	ASSERT_EQ(NULL, vfio_info_find_cap(info, argsz, info->cap_offset,
				VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION));
	hdr = vfio_info_find_cap(info, argsz, info->cap_offset,
				 VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
	ASSERT_NE(NULL, hdr);
	avail = (void *)hdr;
	before = avail->avail;
	ASSERT_LT(0U, before);

	map_dma(self->buf, IOVA_BASE, self->pg, T1_RW);
	ASSERT_EQ(0, _test_get_info(self->container_fd, info, SZ_4K));
	avail = (void *)vfio_info_find_cap(info, argsz, info->cap_offset,
					   VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
	ASSERT_NE(NULL, avail);
	ASSERT_EQ(before - 1, avail->avail);
	free(info);

	/* Dirty tracking is not offered; the ioctl is unknown. */
	EXPECT_ERRNO(ENOTTY, ioctl(self->container_fd, VFIO_IOMMU_DIRTY_PAGES,
				   &dirty));
	unmap_dma_all(self->pg);
}

/* One engine, two front doors: each removes what the other mapped. */
TEST_F(compat, range_ioctls)
{
	const __u64 pg = self->pg;
	const __u64 b = IOVA_BASE;

	test_range_map(self->buf, b, b + 4 * pg - 1);
	err_map_dma(EEXIST, self->buf, b, pg, T1_RW);
	err_unmap_dma(EINVAL, b, pg);
	unmap_dma(b, 4 * pg, 4 * pg);

	map_dma(self->buf, b, 2 * pg, T1_RW);
	map_dma(self->buf, b + 2 * pg, 2 * pg, T1_RW);
	test_err_range_map(EEXIST, self->buf, b + pg, b + 2 * pg - 1);
	test_err_range_unmap(EINVAL, b, b + pg);
	test_range_unmap(b, b + 4 * pg - 1, 4 * pg);
	test_range_empty();
}

static int read_event(int fd, struct vfio_range_event *ev)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (poll(&pfd, 1, 0) != 1)
		return -1;
	return read(fd, ev, sizeof(*ev)) == sizeof(*ev) ? 0 : -1;
}

#define expect_event(fd, _type, _start, _last)				\
	({								\
		struct vfio_range_event __ev;				\
									\
		ASSERT_EQ(0, read_event(fd, &__ev));			\
		ASSERT_EQ((__u32)(_type), __ev.type);			\
		ASSERT_EQ((__u64)(_start), __ev.start);			\
		ASSERT_EQ((__u64)(_last), __ev.last);			\
	})

/* Notifier clients hear of MAP_DMA and UNMAP_DMA like of the range ones. */
TEST_F(compat, notifier_events)
{
	const __u64 pg = self->pg;
	const __u64 b = IOVA_BASE;
	struct vfio_range_notifier cmd = {
		.argsz = sizeof(cmd),
		.events = VFIO_RANGE_EVENT_MAP | VFIO_RANGE_EVENT_UNMAP,
		.granularity = VFIO_RANGE_GRANULARITY_ARBITRARY,
		.start = 0,
		.last = U64_MAX,
	};
	struct vfio_range_event ev;
	int nfd;

	nfd = ioctl(self->container_fd, VFIO_IOMMU_RANGE_NOTIFIER, &cmd);
	ASSERT_LE(0, nfd);

	map_dma(self->buf, b, 2 * pg, T1_RW);
	map_dma(self->buf, b + 2 * pg, pg, T1_RW);
	map_dma(self->buf, b + 8 * pg, pg, T1_RW);
	expect_event(nfd, VFIO_RANGE_EVENT_MAP, b, b + 2 * pg - 1);
	expect_event(nfd, VFIO_RANGE_EVENT_MAP, b + 2 * pg, b + 3 * pg - 1);
	expect_event(nfd, VFIO_RANGE_EVENT_MAP, b + 8 * pg, b + 9 * pg - 1);

	/* Failed calls tell nobody. */
	err_map_dma(EEXIST, self->buf, b, pg, T1_RW);
	err_unmap_dma(EINVAL, b, pg);
	ASSERT_NE(0, read_event(nfd, &ev));

	unmap_dma(b, 3 * pg, 3 * pg);
	expect_event(nfd, VFIO_RANGE_EVENT_UNMAP, b, b + 3 * pg - 1);
	unmap_dma_all(pg);
	expect_event(nfd, VFIO_RANGE_EVENT_UNMAP, b + 8 * pg, b + 9 * pg - 1);
	ASSERT_NE(0, read_event(nfd, &ev));
	close(nfd);
}

/*
 * Unlike type1, an update checks the new address: it must show the pages
 * the mapping pinned, or the mapping stays invalid.
 */
TEST_F(compat, vaddr_checks_new_address)
{
	const __u64 pg = self->pg, b = IOVA_BASE;
	const __u32 vaddr = VFIO_DMA_MAP_FLAG_VADDR;
	char *none = test_mmap_aligned(4 * pg, pg, PROT_NONE);

	ASSERT_NE(NULL, none);
	map_dma(self->buf, b, 4 * pg, T1_RW);
	unmap_dma_flags(0, 0, VFIO_DMA_UNMAP_FLAG_VADDR |
		       VFIO_DMA_UNMAP_FLAG_ALL, 4 * pg);
	err_map_dma(EFAULT, none, b, 4 * pg, vaddr);
	err_map_dma(EINVAL, self->buf + 4 * pg, b, 4 * pg, vaddr);
	/* Still invalid: it cannot be invalidated again. */
	err_unmap_dma_flags(EINVAL, b, 4 * pg, VFIO_DMA_UNMAP_FLAG_VADDR);
	map_dma(self->buf, b, 4 * pg, vaddr);
	err_map_dma(EINVAL, self->buf, b, 4 * pg, vaddr);
	unmap_dma_all(4 * pg);
	munmap(none, 4 * pg);
}

/* The edu device's DMA goes through MAP_DMA mappings, and only them. */
TEST_F(compat, edu_dma)
{
	const __u64 len = 4 * self->pg;
	const __u64 a = IOVA_BASE, b = IOVA_BASE + (len > SZ_1M ? len : SZ_1M);
	char *src = self->buf, *dst = self->buf + len;

	__edu_open(_metadata, self->group_fd, self->info.bdf, &self->edu);
	fill_pattern(src, len, 11);
	memset(dst, 0x5a, len);
	map_dma(src, a, len, T1_R);
	map_dma(dst, b, len, T1_W);

	edu_dma_to_dev(&self->edu, a);
	edu_dma_from_dev(&self->edu, b);
	ASSERT_EQ(0, memcmp(src, dst, EDU_DMA_LEN));
	ASSERT_TRUE(mem_is(dst + EDU_DMA_LEN, 0x5a, len - EDU_DMA_LEN));

	unmap_dma(b, len, len);
	memset(dst, 0, len);
	edu_dma_from_dev(&self->edu, b);
	ASSERT_TRUE(mem_is(dst, 0, len))
		TH_LOG("the device wrote through an unmapped IOVA");

	map_dma(dst, b, len, T1_RW);
	edu_dma_from_dev(&self->edu, b);
	ASSERT_EQ(0, memcmp(src, dst, EDU_DMA_LEN));
	unmap_dma_all(2 * len);
}

/* ---------------------------------------------------------------------- */
/* Who gets the container, and differential runs against type1            */
/* ---------------------------------------------------------------------- */

FIXTURE(front_door)
{
	struct edu_info info;
	int param_was;
	int container_fd;
	int group_fd;
	char *buf;
	size_t buf_len;
	char *prot_none;
	__u64 pg;
	int memfd;		/* shared and alias: its pages, twice */
	char *shared;
	char *alias;
};

FIXTURE_SETUP(front_door)
{
	struct edu_info info[EDU_MAX];

	self->container_fd = -1;
	self->group_fd = -1;
	self->memfd = -1;
	self->param_was = compat_param_get();
	ASSERT_LE(0, self->param_was);
	ASSERT_LT(0, edu_find(info, EDU_MAX));
	self->info = info[0];
	self->pg = getpagesize();
	self->buf_len = BUF_PAGES * self->pg;
	self->buf = test_mmap(self->buf_len, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, self->buf);
	self->prot_none = test_mmap(self->pg, PROT_NONE);
	ASSERT_NE(NULL, self->prot_none);
	self->memfd = test_mmap_twice(self->buf_len, &self->shared,
				      &self->alias);
	ASSERT_LE(0, self->memfd);
}

FIXTURE_TEARDOWN(front_door)
{
	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);
	if (self->buf)
		munmap(self->buf, self->buf_len);
	if (self->prot_none)
		munmap(self->prot_none, self->pg);
	if (self->memfd >= 0) {
		munmap(self->shared, self->buf_len);
		munmap(self->alias, self->buf_len);
		close(self->memfd);
	}
	if (self->param_was >= 0)
		sysfs_write_ulong(COMPAT_PARAM, self->param_was);
}

/* Without the parameter this module never offers or takes type1. */
TEST_F(front_door, off_by_default)
{
	int fd;

	ASSERT_EQ(0, sysfs_write_ulong(COMPAT_PARAM, 0));
	__vfio_container_setup(_metadata, self->info.group, VFIO_RANGE_IOMMU,
			       &self->container_fd, &self->group_fd);
	fd = self->container_fd;
	ASSERT_EQ(0, ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL));
	EXPECT_ERRNO(ENOTTY, _map_dma_argsz(fd, MAP_SZ, T1_RW,
					    (uintptr_t)self->buf, IOVA_BASE,
					    self->pg));
	EXPECT_ERRNO(ENOTTY, _unmap_dma_argsz(fd, UNMAP_SZ,
					      VFIO_DMA_UNMAP_FLAG_ALL, 0, 0,
					      NULL));
}

/* A range container ignores the parameter: no type1 ioctls on it. */
TEST_F(front_door, range_container_in_compat_mode)
{
	int fd;

	ASSERT_EQ(0, sysfs_write_ulong(COMPAT_PARAM, 1));
	__vfio_container_setup(_metadata, self->info.group, VFIO_RANGE_IOMMU,
			       &self->container_fd, &self->group_fd);
	fd = self->container_fd;
	ASSERT_EQ(0, ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU));
	EXPECT_ERRNO(ENOTTY, _map_dma_argsz(fd, MAP_SZ, T1_RW,
					    (uintptr_t)self->buf, IOVA_BASE,
					    self->pg));
}

/*
 * One step of the differential sequence: @vaddr is in pages into the
 * buffer, or one of the VA_ values; @iova and @size are in pages from
 * IOVA_BASE unless @abs.
 */
enum { OP_MAP, OP_UNMAP };

#define VA_PROT_NONE	(~0ULL)
#define VA_UNALIGNED	(~1ULL)
#define VA_SHARED(n)	(0x100000ULL + (n))	/* pages into shared */
#define VA_ALIAS(n)	(0x200000ULL + (n))	/* the same pages, at alias */

struct diff_op {
	int op;
	__u32 argsz;		/* 0: the whole structure */
	__u32 flags;
	bool abs;
	__u64 vaddr;
	__u64 iova;
	__u64 size;
	/*
	 * Not 0 where compat mode follows mainline type1 (6.18 and later)
	 * rather than the type1 of the guest: compat must give this errno,
	 * type1 this one or that of its older kernels, EINVAL.
	 */
	int mainline_errno;
};

struct diff_result {
	int ret;
	int err;
	__u64 size;
};

#define P(n)		(n)
#define MAP(fl, va, io, sz)	{ OP_MAP, 0, fl, false, va, io, sz, 0 }
#define UNMAP(fl, io, sz)	{ OP_UNMAP, 0, fl, false, 0, io, sz, 0 }

/* Calls both backends must answer alike (offsets and sizes in pages). */
static const struct diff_op diff_ops[] = {
	MAP(T1_RW, 0, P(0), P(4)),
	MAP(T1_RW, 0, P(0), P(4)),		/* EEXIST */
	MAP(T1_RW, 0, P(3), P(2)),		/* EEXIST, tail */
	MAP(T1_RW, 4, P(4), P(2)),
	MAP(T1_R, 8, P(8), P(1)),
	MAP(0, 0, P(16), P(1)),			/* no READ/WRITE */
	MAP(T1_RW | (1U << 3), 0, P(16), P(1)),
	MAP(T1_RW | VFIO_DMA_MAP_FLAG_VADDR, 0, P(16), P(1)),
	MAP(T1_RW, 0, P(16), P(0)),		/* size 0 */
	MAP(T1_RW, VA_UNALIGNED, P(16), P(1)),
	MAP(T1_RW, VA_PROT_NONE, P(16), P(1)),	/* cannot pin */
	{ OP_MAP, 0, T1_RW, true, 0, IOVA_BASE + 1, SZ_4K, 0 },
	{ OP_MAP, 0, T1_RW, true, 0, IOVA_BASE, SZ_4K + 1, 0 },
	{ OP_MAP, 0, T1_RW, true, 0, 0ULL - SZ_4K, 2 * SZ_4K, EOVERFLOW },
	{ OP_MAP, 0, T1_RW, true, 0, MSI_IOVA_START, SZ_4K, 0 },
	{ OP_MAP, 0, T1_RW, true, 0, 1ULL << 60, SZ_4K, 0 },
	{ OP_MAP, 0, T1_RW, true, 0, MSI_IOVA_START - SZ_4K, SZ_4K, 0 },
	{ OP_MAP, 0, T1_RW, true, 0, MSI_IOVA_START - SZ_4K, 2 * SZ_4K, 0 },
	{ OP_MAP, 8, T1_RW, false, 0, P(16), P(1), 0 },	/* argsz */
	UNMAP(0, P(1), P(1)),			/* bisects */
	UNMAP(0, P(0), P(5)),			/* bisects the second */
	UNMAP(0, P(3), P(3)),
	UNMAP(0, P(0), P(0)),			/* size 0 */
	UNMAP(1U << 3, P(0), P(4)),
	UNMAP(VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, P(0), P(4)),
	UNMAP(VFIO_DMA_UNMAP_FLAG_ALL, P(0), P(1)),
	UNMAP(0, P(20), P(4)),			/* nothing there */
	{ OP_UNMAP, 0, 0, true, 0, IOVA_BASE + 1, SZ_4K, 0 },
	{ OP_UNMAP, 0, 0, true, 0, IOVA_BASE, SZ_4K - 1, 0 },
	{ OP_UNMAP, 0, 0, true, 0, 0ULL - SZ_4K, 2 * SZ_4K, EOVERFLOW },
	{ OP_UNMAP, 0, VFIO_DMA_UNMAP_FLAG_ALL, true, 0, SZ_4K, 0, 0 },
	{ OP_UNMAP, 8, 0, false, 0, P(0), P(4), 0 },	/* argsz */
	UNMAP(0, P(0), P(6)),			/* two mappings */
	UNMAP(0, P(0), P(6)),			/* again: 0 */
	MAP(T1_W, 0, P(0), P(2)),
	UNMAP(0, P(6), P(4)),			/* gap to gap */
	UNMAP(VFIO_DMA_UNMAP_FLAG_ALL, P(0), P(0)),
	UNMAP(VFIO_DMA_UNMAP_FLAG_ALL, P(0), P(0)),
};

/*
 * The same on a type1 v1 container (VFIO_TYPE1_IOMMU, as DPDK opens it):
 * an unmap that begins inside a mapping removes nothing and reports 0; one
 * that covers a mapping's first page removes all of it, also past the end
 * of the range; ranges that span gaps, straddle and cover everything.
 */
static const struct diff_op diff_ops_v1[] = {
	MAP(T1_RW, 0, P(0), P(4)),		/* A [0, 4) */
	MAP(T1_RW, 4, P(4), P(2)),		/* B [4, 6) */
	MAP(T1_R, 8, P(8), P(1)),		/* C [8, 9) */
	MAP(T1_RW, 0, P(12), P(4)),		/* D [12, 16) */
	MAP(T1_RW, 0, P(20), P(2)),		/* E [20, 22) */
	MAP(T1_RW, 0, P(24), P(8)),		/* F [24, 32) */
	MAP(T1_RW, 0, P(3), P(2)),		/* EEXIST */
	UNMAP(0, P(1), P(1)),			/* inside A: 0 */
	UNMAP(0, P(1), P(4)),			/* from inside A into B: 0 */
	UNMAP(0, P(0), P(1)),			/* A's first page: all of A */
	UNMAP(0, P(0), P(1)),			/* again: 0 */
	UNMAP(0, P(5), P(1)),			/* inside B: 0 */
	UNMAP(0, P(3), P(2)),			/* gap, then B whole */
	MAP(T1_RW, 0, P(0), P(4)),		/* A again */
	MAP(T1_RW, 4, P(4), P(2)),		/* B again */
	UNMAP(0, P(2), P(10)),			/* inside A, over B and C: 0 */
	UNMAP(0, P(4), P(9)),			/* B, C, and D past the end */
	UNMAP(0, P(40), P(8)),			/* nothing there */
	UNMAP(0, P(17), P(2)),			/* a gap only */
	UNMAP(0, P(16), P(5)),			/* gap, then E whole */
	UNMAP(0, P(0), P(0)),			/* size 0 */
	UNMAP(0, P(0), P(1) + 1),		/* size not aligned */
	{ OP_UNMAP, 0, 0, true, 0, IOVA_BASE + 1, SZ_4K, 0 },
	{ OP_UNMAP, 0, 0, true, 0, 0ULL - SZ_4K, 2 * SZ_4K, EOVERFLOW },
	UNMAP(1U << 3, P(0), P(4)),		/* unknown flag */
	UNMAP(VFIO_DMA_UNMAP_FLAG_ALL, P(1), P(0)),	/* ALL with iova */
	UNMAP(0, P(25), P(1)),			/* inside F: 0 */
	UNMAP(0, P(0), P(64)),			/* A and F */
	MAP(T1_RW, 0, P(0), P(2)),
	MAP(T1_RW, 2, P(2), P(2)),
	MAP(T1_W, 4, P(6), P(2)),
	UNMAP(0, P(1), P(6)),			/* inside the first: 0 */
	UNMAP(0, P(2), P(1)),			/* the second, whole */
	{ OP_MAP, 0, T1_RW, true, 0, 0ULL - SZ_4K, 2 * SZ_4K, EOVERFLOW },
	UNMAP(VFIO_DMA_UNMAP_FLAG_ALL, P(0), P(0)),	/* the rest */
	UNMAP(VFIO_DMA_UNMAP_FLAG_ALL, P(0), P(0)),	/* nothing: 0 */
};

/*
 * Live update: what both backends must answer alike. The update's new
 * address shows the same pages (a memfd mapped twice), since type1 does not
 * check it and this module does (vfio_range_test's live update tests).
 */
#define MAP_VADDR(va, io, sz)	MAP(VFIO_DMA_MAP_FLAG_VADDR, va, io, sz)
#define UNMAP_VADDR(io, sz)	UNMAP(VFIO_DMA_UNMAP_FLAG_VADDR, io, sz)

static const struct diff_op diff_ops_vaddr[] = {
	MAP(T1_RW, VA_SHARED(0), P(0), P(4)),	/* A [0, 4) */
	MAP(T1_RW, VA_SHARED(4), P(4), P(2)),	/* B [4, 6) */
	MAP(T1_R, VA_SHARED(8), P(8), P(1)),	/* C [8, 9) */
	MAP_VADDR(VA_ALIAS(0), P(0), P(4)),	/* A's vaddr is valid */
	MAP_VADDR(VA_ALIAS(0), P(20), P(2)),	/* ENOENT */
	UNMAP_VADDR(P(1), P(1)),		/* bisects A */
	UNMAP_VADDR(P(0), P(5)),		/* bisects B */
	UNMAP(VFIO_DMA_UNMAP_FLAG_VADDR | VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
	      P(0), P(4)),
	UNMAP(VFIO_DMA_UNMAP_FLAG_VADDR | VFIO_DMA_UNMAP_FLAG_ALL,
	      P(1), P(0)),			/* ALL with iova */
	UNMAP_VADDR(P(0), P(0)),		/* size 0 */
	UNMAP_VADDR(P(0), P(4)),		/* A: 4 pages */
	UNMAP_VADDR(P(0), P(6)),		/* A again: nothing marked */
	UNMAP_VADDR(P(20), P(4)),		/* nothing there: 0 */
	MAP(VFIO_DMA_MAP_FLAG_VADDR | T1_R, VA_ALIAS(0), P(0), P(4)),
	MAP_VADDR(VA_ALIAS(0), P(0), P(2)),	/* not A's size */
	MAP_VADDR(VA_ALIAS(0), P(1), P(3)),	/* not A's iova */
	MAP_VADDR(VA_ALIAS(0), P(0), P(8)),	/* A and B */
	MAP_VADDR(VA_UNALIGNED, P(0), P(4)),
	MAP_VADDR(VA_ALIAS(0), P(0), P(0)),	/* size 0 */
	{ OP_MAP, 8, VFIO_DMA_MAP_FLAG_VADDR, false, VA_ALIAS(0), P(0), P(4),
	  0 },					/* argsz */
	MAP(T1_RW, VA_SHARED(12), P(12), P(1)),	/* D: maps go on */
	MAP_VADDR(VA_ALIAS(0), P(0), P(4)),	/* A at its new address */
	MAP_VADDR(VA_ALIAS(0), P(0), P(4)),	/* valid again */
	UNMAP(VFIO_DMA_UNMAP_FLAG_VADDR | VFIO_DMA_UNMAP_FLAG_ALL,
	      P(0), P(0)),			/* A, B, C, D */
	UNMAP_VADDR(P(0), P(16)),		/* all invalid already */
	MAP_VADDR(VA_ALIAS(4), P(4), P(2)),	/* B */
	UNMAP(0, P(8), P(1)),			/* C, invalid: unmapped */
	MAP_VADDR(VA_ALIAS(8), P(8), P(1)),	/* C is gone: ENOENT */
	UNMAP_VADDR(P(0), P(16)),		/* A, D invalid: refused */
	MAP_VADDR(VA_ALIAS(0), P(0), P(4)),	/* A */
	MAP_VADDR(VA_ALIAS(12), P(12), P(1)),	/* D */
	UNMAP_VADDR(P(0), P(16)),		/* A, B, D: 7 pages */
	UNMAP(VFIO_DMA_UNMAP_FLAG_ALL, P(0), P(0)),	/* invalid ones go */
	MAP_VADDR(VA_ALIAS(0), P(0), P(4)),	/* ENOENT */
	UNMAP(VFIO_DMA_UNMAP_FLAG_ALL, P(0), P(0)),	/* nothing: 0 */
};

/* The same on v1, whose unmap rule picks the mappings invalidated. */
static const struct diff_op diff_ops_vaddr_v1[] = {
	MAP(T1_RW, VA_SHARED(0), P(0), P(4)),	/* A [0, 4) */
	MAP(T1_RW, VA_SHARED(4), P(4), P(2)),	/* B [4, 6) */
	MAP(T1_R, VA_SHARED(8), P(8), P(1)),	/* C [8, 9) */
	UNMAP_VADDR(P(1), P(4)),		/* from inside A: 0 */
	UNMAP_VADDR(P(4), P(1)),		/* B's first page: all of B */
	UNMAP_VADDR(P(3), P(2)),		/* gap-less: inside A, 0 */
	UNMAP_VADDR(P(0), P(9)),		/* A, then B invalid: refused */
	MAP_VADDR(VA_ALIAS(4), P(4), P(1)),	/* not B's size */
	MAP_VADDR(VA_ALIAS(4), P(4), P(2)),
	UNMAP_VADDR(P(0), P(9)),		/* A, B, C */
	UNMAP(0, P(4), P(1)),			/* B, whole, invalid */
	MAP_VADDR(VA_ALIAS(0), P(0), P(4)),
	MAP_VADDR(VA_ALIAS(8), P(8), P(1)),
	UNMAP(VFIO_DMA_UNMAP_FLAG_VADDR | VFIO_DMA_UNMAP_FLAG_ALL,
	      P(0), P(0)),			/* A and C */
	UNMAP(VFIO_DMA_UNMAP_FLAG_ALL, P(0), P(0)),
};

static __u64 diff_vaddr(const struct diff_op *op,
			FIXTURE_DATA(front_door) *self)
{
	if (op->vaddr == VA_PROT_NONE)
		return (uintptr_t)self->prot_none;
	if (op->vaddr == VA_UNALIGNED)
		return (uintptr_t)self->buf + 1;
	if (op->vaddr >= VA_ALIAS(0))
		return (uintptr_t)self->alias +
		       (op->vaddr - VA_ALIAS(0)) * self->pg;
	if (op->vaddr >= VA_SHARED(0))
		return (uintptr_t)self->shared +
		       (op->vaddr - VA_SHARED(0)) * self->pg;
	return (uintptr_t)self->buf + op->vaddr * self->pg;
}

static void run_diff_ops(FIXTURE_DATA(front_door) *self,
			 const struct diff_op *ops, unsigned int n,
			 struct diff_result *res)
{
	const __u64 pg = self->pg;
	int fd = self->container_fd;
	unsigned int i;

	for (i = 0; i < n; i++) {
		const struct diff_op *op = &ops[i];
		__u64 iova = op->abs ? op->iova : IOVA_BASE + op->iova * pg;
		__u64 size = op->abs ? op->size : op->size * pg;
		__u64 vaddr = diff_vaddr(op, self);

		res[i].size = OUT_POISON;
		errno = 0;
		if (op->op == OP_MAP)
			res[i].ret = _map_dma_argsz(fd, op->argsz ?: MAP_SZ,
						    op->flags, vaddr, iova,
						    size);
		else
			res[i].ret = _unmap_dma_argsz(fd,
						      op->argsz ?: UNMAP_SZ,
						      op->flags, iova, size,
						      &res[i].size);
		res[i].err = res[i].ret ? errno : 0;
		if (res[i].ret)
			res[i].size = OUT_POISON;
	}
}

/*
 * The same calls on upstream type1 and on compat mode, both opened as
 * @type: every return value, errno and unmapped size must agree, except
 * where compat mode follows mainline type1 (mainline_errno).
 */
static void diff_type1(struct __test_metadata *_metadata,
		       FIXTURE_DATA(front_door) *self, int type,
		       const struct diff_op *ops, unsigned int n)
{
	struct diff_result *t1 = calloc(n, sizeof(*t1));
	struct diff_result *compat = calloc(n, sizeof(*compat));
	unsigned int i, errors = 0;

	ASSERT_NE(NULL, t1);
	ASSERT_NE(NULL, compat);
	ASSERT_EQ(SZ_4K, self->pg);	/* the sequence assumes 4 KiB pages */

	__vfio_container_setup_type1(_metadata, self->info.group, type, false,
				     &self->container_fd, &self->group_fd);
	run_diff_ops(self, ops, n, t1);
	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);

	__vfio_container_setup_type1(_metadata, self->info.group, type, true,
				     &self->container_fd, &self->group_fd);
	run_diff_ops(self, ops, n, compat);

	for (i = 0; i < n; i++) {
		int want = ops[i].mainline_errno;

		if (want && compat[i].ret == -1 && compat[i].err == want &&
		    t1[i].ret == -1 &&
		    (t1[i].err == want || t1[i].err == EINVAL))
			continue;
		if (!want && t1[i].ret == compat[i].ret &&
		    t1[i].err == compat[i].err && t1[i].size == compat[i].size)
			continue;
		TH_LOG("step %u: type1 %d/%s/%#llx, compat %d/%s/%#llx", i,
		       t1[i].ret, strerror(t1[i].err),
		       (unsigned long long)t1[i].size, compat[i].ret,
		       strerror(compat[i].err),
		       (unsigned long long)compat[i].size);
		errors++;
	}
	EXPECT_EQ(0U, errors);
	/* The sequence is not trivial: both succeeded and failed. */
	for (i = 0, errors = 0; i < n; i++)
		errors += !!t1[i].ret;
	EXPECT_LT(0U, errors);
	EXPECT_GT(n, errors);
	free(t1);
	free(compat);
}

#define DIFF_GRANULE_SKIP	"type1 has the IOMMU's 4 KiB pages, the module min_pgsize: their errnos differ by design"

/* A comparison needs type1, and the same page size on both sides. */
#define DIFF_SKIP_UNLESS_COMPARABLE()					\
	do {								\
		if (!type1_loaded())					\
			SKIP(return, TYPE1_MISSING);			\
		if (granule_restricted())				\
			SKIP(return, DIFF_GRANULE_SKIP);		\
	} while (0)

TEST_F(front_door, diff_type1)
{
	DIFF_SKIP_UNLESS_COMPARABLE();
	diff_type1(_metadata, self, VFIO_TYPE1v2_IOMMU, diff_ops,
		   ARRAY_SIZE(diff_ops));
}

TEST_F(front_door, diff_type1_v1)
{
	DIFF_SKIP_UNLESS_COMPARABLE();
	diff_type1(_metadata, self, VFIO_TYPE1_IOMMU, diff_ops_v1,
		   ARRAY_SIZE(diff_ops_v1));
}

TEST_F(front_door, diff_type1_vaddr)
{
	DIFF_SKIP_UNLESS_COMPARABLE();
	diff_type1(_metadata, self, VFIO_TYPE1v2_IOMMU, diff_ops_vaddr,
		   ARRAY_SIZE(diff_ops_vaddr));
}

TEST_F(front_door, diff_type1_vaddr_v1)
{
	DIFF_SKIP_UNLESS_COMPARABLE();
	diff_type1(_metadata, self, VFIO_TYPE1_IOMMU, diff_ops_vaddr_v1,
		   ARRAY_SIZE(diff_ops_vaddr_v1));
}

TEST_HARNESS_MAIN
