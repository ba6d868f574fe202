// SPDX-License-Identifier: GPL-2.0-only
/*
 * DMA at the top of a 64-bit IOVA space, on this module and on upstream
 * type1 side by side, with QEMU's edu device (dma_mask=0xffffffffffffffff)
 * behind an IOMMU whose usable space reaches 2^64 (AMD-Vi, virtio-iommu).
 *
 * Each case maps the last 2 MiB below 2^64 (and, for the wide unmaps, two
 * pages across 2^63), has edu copy through the mappings both ways up to
 * the byte at U64_MAX, unmaps them, and then proves by DMA that nothing
 * reaches the memory any more and that VmLck is back at its baseline:
 *   exact  - the exact range [2^64 - 2 MiB, U64_MAX]
 *   all    - [0, U64_MAX] (type1: VFIO_DMA_UNMAP_FLAG_ALL)
 *   wide   - [2^63 - 2 MiB, U64_MAX], a range ending at U64_MAX that starts
 *            below 2^63 (type1: size 2^63 + 2 MiB)
 *
 * On this module every step is asserted. On type1 the same steps only
 * record what happens: one "# top: type1 ..." line per case gives the
 * figures (Linux before 6.18 fails at exactly this place), and the test
 * passes either way. On an IOMMU whose space ends lower (VT-d: 2^39 or
 * 2^48) every case skips and says where the space ends.
 */
#include "vfio_range_utils.h"

#define TOP_SIZE	SZ_2M
#define TOP_IOVA	(0ULL - TOP_SIZE)		/* the last 2 MiB */
#define MID_IOVA	((1ULL << 63) - SZ_4K)		/* across 2^63 */
#define MID_SIZE	(2 * SZ_4K)
#define WIDE_START	((1ULL << 63) - SZ_2M)
/* The transfers that touch the last byte of the space. */
#define LAST_DMA	(U64_MAX - EDU_DMA_LEN + 1)
#define MID_DMA		((1ULL << 63) - EDU_DMA_LEN / 2)

enum top_unmap { UNMAP_EXACT, UNMAP_ALL, UNMAP_WIDE };

static const char *const unmap_name[] = {
	[UNMAP_EXACT] = "exact", [UNMAP_ALL] = "all", [UNMAP_WIDE] = "wide",
};

FIXTURE(top)
{
	const char *skip;
	int container_fd;
	int group_fd;
	struct edu_dev edu;
	struct iommu_info info;
	char *top;		/* TOP_SIZE bytes behind TOP_IOVA */
	char *mid;		/* MID_SIZE bytes behind MID_IOVA */
	long vmlck;		/* VmLck after setup, KiB */
	char why[128];
};

FIXTURE_VARIANT(top)
{
	__u32 iommu_type;
	const char *name;
};

FIXTURE_VARIANT_ADD(top, range)
{
	.iommu_type = VFIO_RANGE_IOMMU,
	.name = "vfio-range",
};

FIXTURE_VARIANT_ADD(top, type1)
{
	.iommu_type = VFIO_TYPE1v2_IOMMU,
	.name = "type1",
};

/* Whether [start, last] lies inside one usable IOVA range. */
static bool iova_usable(const struct iommu_info *ii, __u64 start, __u64 last)
{
	__u32 i;

	for (i = 0; i < ii->nr_ranges; i++) {
		if (ii->ranges[i].start <= start && last <= ii->ranges[i].end)
			return true;
	}
	return false;
}

FIXTURE_SETUP(top)
{
	struct edu_info info;

	self->container_fd = -1;
	self->group_fd = -1;
	edu_init(&self->edu);
	if (variant->iommu_type == VFIO_TYPE1v2_IOMMU && !type1_loaded()) {
		self->skip = TYPE1_MISSING;
		return;
	}
	__first_edu(_metadata, &info);
	__vfio_container_setup(_metadata, info.group, variant->iommu_type,
			       &self->container_fd, &self->group_fd);
	__get_iommu_info(_metadata, self->container_fd, &self->info);
	if (self->info.top != U64_MAX) {
		snprintf(self->why, sizeof(self->why),
			 "needs a 64-bit IOVA space; this IOMMU's ends at %#llx",
			 (unsigned long long)self->info.top);
		self->skip = self->why;
		return;
	}
	if (!iova_usable(&self->info, TOP_IOVA, U64_MAX) ||
	    !iova_usable(&self->info, MID_IOVA, MID_IOVA + MID_SIZE - 1)) {
		self->skip = "the last 2 MiB or the pages across 2^63 are reserved";
		return;
	}
	__edu_open(_metadata, self->group_fd, info.bdf, &self->edu);

	self->top = test_mmap(TOP_SIZE, PROT_READ | PROT_WRITE);
	self->mid = test_mmap(MID_SIZE, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, self->top);
	ASSERT_NE(NULL, self->mid);
	/* Fault the pages in now: VmLck counts pins, not residency. */
	memset(self->top, 0, TOP_SIZE);
	memset(self->mid, 0, MID_SIZE);
	self->vmlck = vmlck_kb(0);
	ASSERT_LE(0, self->vmlck);
}

FIXTURE_TEARDOWN(top)
{
	edu_close(&self->edu);
	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);
	if (self->top)
		munmap(self->top, TOP_SIZE);
	if (self->mid)
		munmap(self->mid, MID_SIZE);
}

static int top_map(__u32 type, int fd, void *buf, __u64 iova, __u64 size)
{
	if (type == VFIO_RANGE_IOMMU)
		return _test_range_map(fd, (uintptr_t)buf, iova,
				       iova + size - 1, RANGE_RW);
	return _test_type1_map(fd, (uintptr_t)buf, iova, size,
			       VFIO_DMA_MAP_FLAG_READ |
			       VFIO_DMA_MAP_FLAG_WRITE);
}

/* Unmaps as @how says; @unmapped gets the bytes the kernel reported. */
static int top_unmap(__u32 type, int fd, enum top_unmap how, __u64 *unmapped)
{
	struct vfio_iommu_type1_dma_unmap all = {
		.argsz = sizeof(all),
		.flags = VFIO_DMA_UNMAP_FLAG_ALL,
	};
	__u64 start = how == UNMAP_EXACT ? TOP_IOVA :
		      how == UNMAP_WIDE ? WIDE_START : 0;
	int ret;

	*unmapped = 0;
	if (type == VFIO_RANGE_IOMMU)
		return _test_range_unmap(fd, start, U64_MAX, 0, unmapped);
	if (how == UNMAP_ALL) {
		ret = ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &all);
		*unmapped = all.size;
		return ret;
	}
	/* The size of [start, U64_MAX], which is not 0 for these starts. */
	return _test_type1_unmap(fd, start, 0 - start, unmapped);
}

/*
 * Both directions through the mapping at the top, each transfer touching
 * the byte at U64_MAX, and (with @mid) through the pages across 2^63.
 * Returns whether every copy arrived.
 */
static bool top_dma_works(FIXTURE_DATA(top) *self, bool mid)
{
	char *last = self->top + TOP_SIZE - EDU_DMA_LEN;
	bool ok;

	/* The last 2 KiB below 2^64 -> device -> the first 2 KiB. */
	fill_pattern(self->top, TOP_SIZE, 1);
	if (edu_dma(&self->edu, LAST_DMA, EDU_BUF_ADDR, EDU_DMA_LEN, false) ||
	    edu_dma(&self->edu, EDU_BUF_ADDR, TOP_IOVA, EDU_DMA_LEN, true))
		return false;
	ok = !memcmp(self->top, last, EDU_DMA_LEN);

	/* The first 2 KiB (new data) -> device -> the last 2 KiB. */
	fill_pattern(self->top, EDU_DMA_LEN, 2);
	memset(last, 0, EDU_DMA_LEN);
	if (edu_dma(&self->edu, TOP_IOVA, EDU_BUF_ADDR, EDU_DMA_LEN, false) ||
	    edu_dma(&self->edu, EDU_BUF_ADDR, LAST_DMA, EDU_DMA_LEN, true))
		return false;
	ok = ok && !memcmp(self->top, last, EDU_DMA_LEN);
	if (!mid)
		return ok;

	/* Across 2^63, both ways: mid -> device -> top, top -> device -> mid. */
	fill_pattern(self->mid, MID_SIZE, 3);
	if (edu_dma(&self->edu, MID_DMA, EDU_BUF_ADDR, EDU_DMA_LEN, false) ||
	    edu_dma(&self->edu, EDU_BUF_ADDR, LAST_DMA, EDU_DMA_LEN, true))
		return false;
	ok = ok && !memcmp(self->mid + SZ_4K - EDU_DMA_LEN / 2, last,
			   EDU_DMA_LEN);
	fill_pattern(self->top, EDU_DMA_LEN, 4);
	if (edu_dma(&self->edu, TOP_IOVA, EDU_BUF_ADDR, EDU_DMA_LEN, false) ||
	    edu_dma(&self->edu, EDU_BUF_ADDR, MID_DMA, EDU_DMA_LEN, true))
		return false;
	return ok && !memcmp(self->mid + SZ_4K - EDU_DMA_LEN / 2, self->top,
			     EDU_DMA_LEN);
}

/*
 * Device -> every IOVA that was mapped, into zeroed memory. Returns
 * whether any byte arrived (it must not once the unmap is done).
 */
static bool top_dma_reaches(FIXTURE_DATA(top) *self, bool mid)
{
	memset(self->top, 0, TOP_SIZE);
	memset(self->mid, 0, MID_SIZE);
	edu_dma(&self->edu, EDU_BUF_ADDR, TOP_IOVA, EDU_DMA_LEN, true);
	edu_dma(&self->edu, EDU_BUF_ADDR, LAST_DMA, EDU_DMA_LEN, true);
	if (mid)
		edu_dma(&self->edu, EDU_BUF_ADDR, MID_DMA, EDU_DMA_LEN, true);
	return !mem_is(self->top, 0, TOP_SIZE) ||
	       !mem_is(self->mid, 0, MID_SIZE);
}

static void top_case(struct __test_metadata *_metadata,
		     FIXTURE_DATA(top) *self,
		     const FIXTURE_VARIANT(top) *variant, enum top_unmap how)
{
	const bool range = variant->iommu_type == VFIO_RANGE_IOMMU;
	const bool mid = how != UNMAP_EXACT;
	const __u64 bytes = TOP_SIZE + (mid ? MID_SIZE : 0);
	int fd = self->container_fd, map_ret, unmap_ret = -1, unmap_errno = 0;
	long lck_mapped, lck_unmapped, lck_closed;
	bool dma_ok = false, reached = false;
	__u64 unmapped = 0;

	if (self->skip)
		SKIP(return, "%s", self->skip);

	map_ret = top_map(variant->iommu_type, fd, self->top, TOP_IOVA,
			  TOP_SIZE);
	if (!map_ret && mid)
		map_ret = top_map(variant->iommu_type, fd, self->mid, MID_IOVA,
				  MID_SIZE);
	if (range) {
		ASSERT_EQ(0, map_ret)
			TH_LOG("map at the top: %s", strerror(errno));
	}
	lck_mapped = vmlck_kb(0) - self->vmlck;
	if (!map_ret) {
		dma_ok = top_dma_works(self, mid);
		unmap_ret = top_unmap(variant->iommu_type, fd, how, &unmapped);
		unmap_errno = unmap_ret ? errno : 0;
		reached = top_dma_reaches(self, mid);
	}
	lck_unmapped = vmlck_kb(0) - self->vmlck;

	/* What stays pinned is only released with the container. */
	edu_close(&self->edu);
	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);
	lck_closed = vmlck_kb(0) - self->vmlck;

	printf("# top: %-10s %-5s map %s, DMA %s, unmap %s %llu bytes, DMA after unmap %s, VmLck +%ld KiB mapped, +%ld after unmap, +%ld after close\n",
	       variant->name, unmap_name[how],
	       map_ret ? strerror(errno) : "ok",
	       map_ret ? "-" : dma_ok ? "ok" : "FAILED",
	       unmap_ret ? strerror(unmap_errno) : "ok",
	       (unsigned long long)unmapped,
	       map_ret ? "-" : reached ? "REACHED MEMORY" : "blocked",
	       lck_mapped, lck_unmapped, lck_closed);
	fflush(stdout);
	if (!range)
		return;		/* type1 is on record, not under test */

	ASSERT_EQ((long)(bytes / 1024), lck_mapped);
	ASSERT_TRUE(dma_ok)
		TH_LOG("a copy through the top of the space did not arrive");
	ASSERT_EQ(0, unmap_ret)
		TH_LOG("unmap: %s", strerror(unmap_errno));
	ASSERT_EQ(bytes, unmapped);
	ASSERT_FALSE(reached)
		TH_LOG("the device wrote through an unmapped IOVA");
	ASSERT_EQ(0, lck_unmapped);
	ASSERT_EQ(0, lck_closed);
}

TEST_F(top, unmap_exact)
{
	top_case(_metadata, self, variant, UNMAP_EXACT);
}

TEST_F(top, unmap_all)
{
	top_case(_metadata, self, variant, UNMAP_ALL);
}

TEST_F(top, unmap_wide)
{
	top_case(_metadata, self, variant, UNMAP_WIDE);
}

TEST_HARNESS_MAIN
