// SPDX-License-Identifier: GPL-2.0-only
/*
 * uAPI tests of the vfio-range IOMMU backend (VFIO_RANGE_IOMMU): GET_INFO,
 * VFIO_IOMMU_RANGE_MAP/UNMAP argument checking and errnos, the mapping
 * cap, locked_vm accounting, RLIMIT_MEMLOCK and module lifetime.
 *
 * Needs root, an edu device bound to vfio-pci behind an IOMMU, and
 * vfio_iommu_range.ko loaded (vfio_iommu_type1 too, for one cross-check).
 */
#include "vfio_range_utils.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

/* Scratch IOVAs well inside the first usable range. */
#define IOVA_BASE	0x1000000ULL
/*
 * 4 MiB, or 260 granules if more (many_mappings maps 128 apart); a "larger" size of 1 MiB, or two
 * granules if that is more (min_pgsize makes the granule 2 MiB).
 */
#define BUF_SIZE	(4 * SZ_1M > 260 * self->pg ? 4 * SZ_1M : 260 * self->pg)
#define BIG		(self->pg < SZ_1M ? SZ_1M : 2 * self->pg)
#define SMALL		(self->pg < SZ_64K ? SZ_64K : self->pg)

FIXTURE(vfio_range)
{
	int container_fd;
	int group_fd;
	struct iommu_info info;
	__u64 pg;		/* smallest IOMMU page size */
	__u64 top;		/* last byte of the highest usable range */
	char *buf;		/* BUF_SIZE bytes of anonymous RW memory */
	long vmlck;		/* VmLck after setup, KiB */
};

FIXTURE_SETUP(vfio_range)
{
	self->container_fd = -1;
	self->group_fd = -1;
	__vfio_container_setup(_metadata, first_edu_group(_metadata),
			       VFIO_RANGE_IOMMU, &self->container_fd,
			       &self->group_fd);
	__get_iommu_info(_metadata, self->container_fd, &self->info);
	self->pg = self->info.pgsize;
	self->top = self->info.top;
	/* RAM maps align to the granule (min_pgsize). */
	self->buf = test_mmap_aligned(BUF_SIZE, self->pg,
				      PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, self->buf);
	self->vmlck = vmlck_kb(0);
	ASSERT_LE(0, self->vmlck);
}

FIXTURE_TEARDOWN(vfio_range)
{
	if (self->buf)
		munmap(self->buf, BUF_SIZE);
	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);
}

TEST_F(vfio_range, check_extension)
{
	ASSERT_EQ(1, ioctl(self->container_fd, VFIO_CHECK_EXTENSION,
			   VFIO_RANGE_IOMMU));
}

/* argsz with no room for capabilities: the kernel asks for more. */
TEST_F(vfio_range, get_info_needs_caps)
{
	struct vfio_iommu_type1_info info = {
		.cap_offset = 0xffffffff,
	};

	ASSERT_EQ(0, _test_get_info(self->container_fd, &info, sizeof(info)));
	ASSERT_FLAG(info.flags, VFIO_IOMMU_INFO_PGSIZES);
	ASSERT_FLAG(info.iova_pgsizes, self->pg);
	ASSERT_EQ(self->info.pgsizes, info.iova_pgsizes);
	ASSERT_FLAG(info.flags, VFIO_IOMMU_INFO_CAPS);
	ASSERT_LT((__u32)sizeof(info), info.argsz);
	ASSERT_EQ(0U, info.cap_offset);
}

TEST_F(vfio_range, get_info_iova_ranges)
{
	struct iommu_info *ii = &self->info;
	bool below_msi = false, above_msi = false;
	__u32 i;

	ASSERT_LE(2U, ii->nr_ranges);
	for (i = 0; i < ii->nr_ranges; i++) {
		struct vfio_iova_range *r = &ii->ranges[i];

		TH_LOG("usable IOVA range %u: [%#llx, %#llx]", i,
		       (unsigned long long)r->start,
		       (unsigned long long)r->end);
		ASSERT_LE(r->start, r->end);
		/* In CPU pages: a larger granule need not divide them. */
		ASSERT_EQ(0ULL, r->start % getpagesize());
		ASSERT_EQ(0ULL, (r->end + 1) % getpagesize());
		if (i)
			ASSERT_LT(ii->ranges[i - 1].end + 1, r->start);
		/* Inclusive ranges: no byte of the MSI window is usable. */
		ASSERT_TRUE(r->end < MSI_IOVA_START || r->start > MSI_IOVA_LAST)
			TH_LOG("range %u overlaps the MSI window", i);
		if (r->end == MSI_IOVA_START - 1)
			below_msi = true;
		if (r->start == MSI_IOVA_LAST + 1)
			above_msi = true;
	}
	ASSERT_TRUE(below_msi);
	ASSERT_TRUE(above_msi);

	/* The top is the IOMMU aperture: 2^n - 1, above 4 GiB. */
	ASSERT_LT(0xffffffffULL, self->top);
	ASSERT_EQ(0ULL, (self->top + 1) & self->top)
		TH_LOG("top %#llx is not 2^n - 1",
		       (unsigned long long)self->top);
}

/* The argsz the kernel asks for when there is no room for the caps. */
static __u32 info_needed(struct __test_metadata *_metadata, int fd)
{
	struct vfio_iommu_type1_info info = {};

	ASSERT_EQ(0, _test_get_info(fd, &info, sizeof(info)));
	return info.argsz;
}

TEST_F(vfio_range, get_info_argsz_small)
{
	const size_t old = offsetofend(struct vfio_iommu_type1_info,
				       iova_pgsizes);
	struct vfio_iommu_type1_info info = {};

	EXPECT_ERRNO(EINVAL, _test_get_info(self->container_fd, &info, 0));
	EXPECT_ERRNO(EINVAL, _test_get_info(self->container_fd, &info, 4));
	EXPECT_ERRNO(EINVAL, _test_get_info(self->container_fd, &info,
					    old - 1));
	EXPECT_ERRNO(EFAULT, ioctl(self->container_fd, VFIO_IOMMU_GET_INFO,
				   NULL));
}

/* Nothing is ever written at or past argsz. */
TEST_F(vfio_range, get_info_argsz_partial)
{
	const size_t old = offsetofend(struct vfio_iommu_type1_info,
				       iova_pgsizes);
	struct vfio_iommu_type1_info *info;
	__u32 needed, i;
	size_t size;

	needed = info_needed(_metadata, self->container_fd);
	size = needed + 256;
	info = malloc(size);
	ASSERT_NE(NULL, info);

	/* An old binary that knows no cap_offset. */
	memset(info, 0xa5, size);
	ASSERT_EQ(0, _test_get_info(self->container_fd, info, old));
	ASSERT_FLAG(info->flags, VFIO_IOMMU_INFO_PGSIZES);
	ASSERT_EQ(self->info.pgsizes, info->iova_pgsizes);
	for (i = old; i < size; i++) {
		ASSERT_EQ(0xa5, ((unsigned char *)info)[i])
			TH_LOG("argsz %zu: byte %u was written", old, i);
	}

	/* One byte short of the caps: none of them is copied. */
	memset(info, 0xa5, size);
	ASSERT_EQ(0, _test_get_info(self->container_fd, info, needed - 1));
	ASSERT_FLAG(info->flags, VFIO_IOMMU_INFO_PGSIZES |
				 VFIO_IOMMU_INFO_CAPS);
	ASSERT_EQ(needed, info->argsz);
	ASSERT_EQ(0U, info->cap_offset);
	for (i = sizeof(*info); i < size; i++) {
		ASSERT_EQ(0xa5, ((unsigned char *)info)[i])
			TH_LOG("argsz %u: byte %u was written", needed - 1, i);
	}
	free(info);
}

/*
 * Larger than needed, with the tail zeroed and (as userspace that reallocs
 * the buffer does) full of garbage: for GET_INFO the bytes after the fixed
 * struct are output space for the capabilities, as in type1.
 */
TEST_F(vfio_range, get_info_argsz_big)
{
	const size_t fixed = sizeof(struct vfio_iommu_type1_info);
	struct vfio_iommu_type1_info_cap_iova_range *cap;
	struct vfio_iommu_type1_info *info;
	struct vfio_info_cap_header *hdr;
	__u32 needed, i;
	size_t size;
	int fill;

	needed = info_needed(_metadata, self->container_fd);
	size = needed + 256;
	info = malloc(size);
	ASSERT_NE(NULL, info);

	for (fill = 0; fill <= 0xff; fill += 0xff) {
		memset(info, fill, size);
		ASSERT_EQ(0, _test_get_info(self->container_fd, info, size))
			TH_LOG("argsz %zu, tail filled with %#x: %s", size,
			       fill, strerror(errno));
		ASSERT_FLAG(info->flags, VFIO_IOMMU_INFO_CAPS);
		/* After the whole struct, 8-byte aligned, as type1 does. */
		ASSERT_LE((__u32)fixed, info->cap_offset);
		ASSERT_EQ(0U, info->cap_offset % 8);
		hdr = vfio_info_find_cap(info, size, info->cap_offset,
					 VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
		ASSERT_NE(NULL, hdr);
		ASSERT_EQ(1, hdr->version);
		cap = (void *)hdr;
		ASSERT_EQ(self->info.nr_ranges, cap->nr_iovas);
		for (i = 0; i < cap->nr_iovas; i++) {
			ASSERT_EQ(self->info.ranges[i].start,
				  cap->iova_ranges[i].start);
			ASSERT_EQ(self->info.ranges[i].end,
				  cap->iova_ranges[i].end);
		}
	}
	free(info);
}

TEST_F(vfio_range, map_unmap)
{
	__u64 pg = self->pg;

	test_range_map(self->buf, IOVA_BASE, IOVA_BASE + pg - 1);
	test_range_map(self->buf + pg, IOVA_BASE + BIG,
		       IOVA_BASE + BIG + 16 * pg - 1);
	ASSERT_VMLCK(self->vmlck, 17 * pg);

	test_range_unmap(IOVA_BASE, IOVA_BASE + pg - 1, pg);
	test_range_unmap(IOVA_BASE, IOVA_BASE + pg - 1, 0);
	test_range_unmap(IOVA_BASE + BIG, IOVA_BASE + BIG + 16 * pg - 1,
			 16 * pg);
	ASSERT_VMLCK(self->vmlck, 0);
	test_range_empty();

	/* The same IOVA can be mapped again once it is free. */
	test_range_map(self->buf, IOVA_BASE, IOVA_BASE + pg - 1);
	test_range_unmap(IOVA_BASE, IOVA_BASE + pg - 1, pg);
}

TEST_F(vfio_range, map_start_after_last)
{
	__u64 pg = self->pg;

	test_err_range_map(EINVAL, self->buf, IOVA_BASE + pg, IOVA_BASE + pg - 1);
	test_err_range_map(EINVAL, self->buf, IOVA_BASE + 2 * pg,
			   IOVA_BASE + pg - 1);
	test_err_range_map(EINVAL, self->buf, IOVA_BASE + BIG,
			   IOVA_BASE - 1);
	test_range_empty();
	ASSERT_VMLCK(self->vmlck, 0);
}

TEST_F(vfio_range, map_unaligned)
{
	__u64 pg = self->pg, half = pg / 2;

	/* start */
	test_err_range_map(EINVAL, self->buf, IOVA_BASE + half,
			   IOVA_BASE + 2 * pg - 1);
	test_err_range_map(EINVAL, self->buf, IOVA_BASE + 1,
			   IOVA_BASE + 2 * pg - 1);
	/* last + 1 */
	test_err_range_map(EINVAL, self->buf, IOVA_BASE,
			   IOVA_BASE + pg + half - 1);
	test_err_range_map(EINVAL, self->buf, IOVA_BASE, IOVA_BASE + pg - 2);
	test_err_range_map(EINVAL, self->buf, IOVA_BASE, IOVA_BASE + pg);
	test_err_range_map(EINVAL, self->buf, IOVA_BASE, IOVA_BASE);
	/* vaddr */
	test_err_range_map(EINVAL, self->buf + half, IOVA_BASE,
			   IOVA_BASE + pg - 1);
	test_err_range_map(EINVAL, self->buf + 1, IOVA_BASE,
			   IOVA_BASE + pg - 1);
	test_err_range_map(EINVAL, self->buf + pg - 1, IOVA_BASE,
			   IOVA_BASE + 2 * pg - 1);

	test_range_empty();
	ASSERT_VMLCK(self->vmlck, 0);
}

TEST_F(vfio_range, map_flags)
{
	__u64 pg = self->pg;

	test_err_range_map_flags(EINVAL, self->buf, IOVA_BASE,
				 IOVA_BASE + pg - 1, 0);
	test_err_range_map_flags(EINVAL, self->buf, IOVA_BASE,
				 IOVA_BASE + pg - 1, RANGE_RW | 1 << 2);
	test_err_range_map_flags(EINVAL, self->buf, IOVA_BASE,
				 IOVA_BASE + pg - 1, VFIO_RANGE_MAP_READ | 1 << 2);
	test_err_range_map_flags(EINVAL, self->buf, IOVA_BASE,
				 IOVA_BASE + pg - 1, RANGE_RW | 1U << 31);
	test_err_range_map_flags(EINVAL, self->buf, IOVA_BASE,
				 IOVA_BASE + pg - 1, 1 << 2);
	test_err_range_map_flags(EINVAL, self->buf, IOVA_BASE,
				 IOVA_BASE + pg - 1, ~0U);
	test_range_empty();
	ASSERT_VMLCK(self->vmlck, 0);

	test_range_map_flags(self->buf, IOVA_BASE, IOVA_BASE + pg - 1,
			     VFIO_RANGE_MAP_READ);
	test_range_map_flags(self->buf + pg, IOVA_BASE + pg,
			     IOVA_BASE + 2 * pg - 1, VFIO_RANGE_MAP_WRITE);
	test_range_map_flags(self->buf + 2 * pg, IOVA_BASE + 2 * pg,
			     IOVA_BASE + 3 * pg - 1, RANGE_RW);
	test_range_unmap(0, U64_MAX, 3 * pg);
}

TEST_F(vfio_range, map_vaddr_overflow)
{
	__u64 pg = self->pg;
	__u64 high = U64_MAX & ~(pg - 1);

	/* [vaddr, vaddr + (last - start)] wraps past 2^64. */
	EXPECT_ERRNO(EOVERFLOW, _test_range_map(self->container_fd, high,
						IOVA_BASE,
						IOVA_BASE + 2 * pg - 1,
						RANGE_RW));
	EXPECT_ERRNO(EOVERFLOW, _test_range_map(self->container_fd,
						high - pg, IOVA_BASE,
						IOVA_BASE + 4 * pg - 1,
						RANGE_RW));
	/* Ends exactly at the top: no wrap, just not user memory. */
	EXPECT_ERRNO(EFAULT, _test_range_map(self->container_fd, high,
					     IOVA_BASE, IOVA_BASE + pg - 1,
					     RANGE_RW));
	test_range_empty();
	ASSERT_VMLCK(self->vmlck, 0);
}

/*
 * The tests at the edges of the usable ranges: with min_pgsize they are
 * not on granules (the MSI window ends 1 MiB into a 2 MiB page).
 */
#define EDGE_SKIP	"min_pgsize: the usable ranges' edges are not on granules"

TEST_F(vfio_range, map_outside_ranges)
{
	struct iommu_info *ii = &self->info;
	__u64 pg = self->pg, top = self->top;
	__u32 i;

	if (granule_restricted())
		SKIP(return, EDGE_SKIP);
	/* Inside the MSI window, its first and last page. */
	test_err_range_map(ERANGE, self->buf, MSI_IOVA_START,
			   MSI_IOVA_START + pg - 1);
	test_err_range_map(ERANGE, self->buf, MSI_IOVA_LAST - pg + 1,
			   MSI_IOVA_LAST);
	test_err_range_map(ERANGE, self->buf, MSI_IOVA_START,
			   MSI_IOVA_LAST);
	/* Crossing into it, out of it, and across it. */
	test_err_range_map(ERANGE, self->buf, MSI_IOVA_START - pg,
			   MSI_IOVA_START + pg - 1);
	test_err_range_map(ERANGE, self->buf, MSI_IOVA_LAST - pg + 1,
			   MSI_IOVA_LAST + pg);
	test_err_range_map(ERANGE, self->buf, MSI_IOVA_START - pg,
			   MSI_IOVA_LAST + pg);
	/* Any other hole between usable ranges. */
	for (i = 1; i < ii->nr_ranges; i++) {
		__u64 hole = ii->ranges[i - 1].end + 1;

		test_err_range_map(ERANGE, self->buf, hole, hole + pg - 1);
		test_err_range_map(ERANGE, self->buf, hole - pg,
				   hole + pg - 1);
	}
	/*
	 * Above the aperture and crossing its top, and the very last page
	 * of the 64-bit space: where the space ends below 2^64 (VT-d).
	 * AMD-Vi and virtio-iommu have no such place; vfio_range_top_test
	 * maps there.
	 */
	if (top != U64_MAX) {
		ASSERT_GT(U64_MAX - BIG, top);
		test_err_range_map(ERANGE, self->buf, top + 1, top + pg);
		test_err_range_map(ERANGE, self->buf, top - pg + 1, top + pg);
		test_err_range_map(ERANGE, self->buf, top + 1 + BIG,
				   top + BIG + pg);
		test_err_range_map(ERANGE, self->buf, U64_MAX - pg + 1,
				   U64_MAX);
	}
	/*
	 * The whole space, with vaddr 0 so that the user range does not
	 * wrap: nothing can back 2^64 bytes, which is EINVAL before any
	 * other check.
	 */
	EXPECT_ERRNO(EINVAL, _test_range_map(self->container_fd, 0, 0,
					     U64_MAX, RANGE_RW));

	test_range_empty();
	ASSERT_VMLCK(self->vmlck, 0);
}

TEST_F(vfio_range, map_overlap)
{
	__u64 pg = self->pg;
	__u64 b = IOVA_BASE + 16 * pg;
	char *other = self->buf + 64 * pg;
	const struct {
		const char *what;
		__u64 start, last;
	} cases[] = {
		{ "same", b, b + 4 * pg - 1 },
		{ "head", b - pg, b + pg - 1 },
		{ "tail", b + 3 * pg, b + 5 * pg - 1 },
		{ "contained", b + pg, b + 3 * pg - 1 },
		{ "containing", b - pg, b + 5 * pg - 1 },
		{ "first page", b, b + pg - 1 },
		{ "last page", b + 3 * pg, b + 4 * pg - 1 },
		{ "far containing", b - 16 * pg, b + 32 * pg - 1 },
	};
	unsigned int i;

	test_range_map(self->buf, b, b + 4 * pg - 1);
	ASSERT_VMLCK(self->vmlck, 4 * pg);

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		errno = 0;
		EXPECT_EQ(-1, _test_range_map(self->container_fd,
					      (uintptr_t)other,
					      cases[i].start, cases[i].last,
					      RANGE_RW))
			TH_LOG("overlap case '%s' was mapped", cases[i].what);
		EXPECT_EQ(EEXIST, errno)
			TH_LOG("overlap case '%s': %s", cases[i].what,
			       strerror(errno));
	}
	ASSERT_VMLCK(self->vmlck, 4 * pg);

	/* Touching without overlapping is fine. */
	test_range_map(other, b - pg, b - 1);
	test_range_map(other + pg, b + 4 * pg, b + 5 * pg - 1);

	/* The first mapping is intact and exactly where it was. */
	test_range_unmap(b, b + 4 * pg - 1, 4 * pg);
	test_range_unmap(0, U64_MAX, 2 * pg);
	ASSERT_VMLCK(self->vmlck, 0);
}

TEST_F(vfio_range, map_readonly_memory)
{
	__u64 pg = self->pg;
	char *ro;

	ro = test_mmap(4 * pg, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, ro);
	memset(ro, 0x3c, 4 * pg);
	ASSERT_EQ(0, mprotect(ro, 4 * pg, PROT_READ));

	test_err_range_map_flags(EFAULT, ro, IOVA_BASE,
				 IOVA_BASE + 4 * pg - 1, RANGE_RW);
	test_err_range_map_flags(EFAULT, ro, IOVA_BASE,
				 IOVA_BASE + 4 * pg - 1, VFIO_RANGE_MAP_WRITE);
	/* Only the last page is read-only. */
	ASSERT_EQ(0, mprotect(ro, 3 * pg, PROT_READ | PROT_WRITE));
	test_err_range_map_flags(EFAULT, ro, IOVA_BASE,
				 IOVA_BASE + 4 * pg - 1, RANGE_RW);
	ASSERT_EQ(0, mprotect(ro, 3 * pg, PROT_READ));
	test_range_empty();
	ASSERT_VMLCK(self->vmlck, 0);

	test_range_map_flags(ro, IOVA_BASE, IOVA_BASE + 4 * pg - 1,
			     VFIO_RANGE_MAP_READ);
	test_range_unmap(IOVA_BASE, IOVA_BASE + 4 * pg - 1, 4 * pg);
	ASSERT_VMLCK(self->vmlck, 0);
	munmap(ro, 4 * pg);
}

TEST_F(vfio_range, map_bad_vaddr)
{
	__u64 pg = self->pg;
	char *mem;

	/* Entirely unmapped. */
	mem = test_mmap(4 * pg, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, mem);
	ASSERT_EQ(0, munmap(mem, 4 * pg));
	test_err_range_map(EFAULT, mem, IOVA_BASE, IOVA_BASE + 4 * pg - 1);

	/* A hole in the third page: the first two must not stay pinned. */
	mem = test_mmap(4 * pg, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, mem);
	memset(mem, 0x11, 4 * pg);
	ASSERT_EQ(0, munmap(mem + 2 * pg, pg));
	test_err_range_map(EFAULT, mem, IOVA_BASE, IOVA_BASE + 4 * pg - 1);
	ASSERT_VMLCK(self->vmlck, 0);
	test_range_empty();

	/* Page 0 and kernel addresses. */
	EXPECT_ERRNO(EFAULT, _test_range_map(self->container_fd, 0, IOVA_BASE,
					     IOVA_BASE + pg - 1, RANGE_RW));
	EXPECT_ERRNO(EFAULT, _test_range_map(self->container_fd,
					     0xffff888000000000ULL,
					     IOVA_BASE, IOVA_BASE + pg - 1,
					     RANGE_RW));
	test_range_empty();
	ASSERT_VMLCK(self->vmlck, 0);

	/* The good part of the buffer still maps. */
	test_range_map(mem, IOVA_BASE, IOVA_BASE + 2 * pg - 1);
	ASSERT_VMLCK(self->vmlck, 2 * pg);
	test_range_unmap(0, U64_MAX, 2 * pg);
	ASSERT_VMLCK(self->vmlck, 0);
	munmap(mem, 2 * pg);
	munmap(mem + 3 * pg, pg);
}

TEST_F(vfio_range, map_argsz)
{
	struct {
		struct vfio_range_map cmd;
		__u8 tail[32];
	} big;
	struct vfio_range_map *cmd = &big.cmd;
	__u64 pg = self->pg;
	long page = getpagesize();
	char *two;

	memset(&big, 0, sizeof(big));
	cmd->flags = RANGE_RW;
	cmd->vaddr = (uintptr_t)self->buf;
	cmd->start = IOVA_BASE;
	cmd->last = IOVA_BASE + pg - 1;

	/* Too small. */
	cmd->argsz = 0;
	EXPECT_ERRNO(EINVAL, ioctl(self->container_fd, VFIO_IOMMU_RANGE_MAP,
				   cmd));
	cmd->argsz = offsetof(struct vfio_range_map, last);
	EXPECT_ERRNO(EINVAL, ioctl(self->container_fd, VFIO_IOMMU_RANGE_MAP,
				   cmd));
	cmd->argsz = offsetof(struct vfio_range_map, last) +
		      sizeof(cmd->last) - 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->container_fd, VFIO_IOMMU_RANGE_MAP,
				   cmd));
	test_range_empty();

	/* Bigger, with a non-zero byte in the tail. */
	cmd->argsz = sizeof(big);
	big.tail[0] = 1;
	EXPECT_ERRNO(E2BIG, ioctl(self->container_fd, VFIO_IOMMU_RANGE_MAP,
				  cmd));
	big.tail[0] = 0;
	big.tail[sizeof(big.tail) - 1] = 0x80;
	EXPECT_ERRNO(E2BIG, ioctl(self->container_fd, VFIO_IOMMU_RANGE_MAP,
				  cmd));
	big.tail[sizeof(big.tail) - 1] = 0;
	test_range_empty();
	ASSERT_VMLCK(self->vmlck, 0);

	/* Bigger with a zero tail works normally. */
	ASSERT_EQ(0, ioctl(self->container_fd, VFIO_IOMMU_RANGE_MAP, cmd));
	test_range_unmap(IOVA_BASE, IOVA_BASE + pg - 1, pg);

	/* Bigger than a page is refused even when zero... */
	two = test_mmap(3 * page, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, two);
	memcpy(two, cmd, sizeof(*cmd));
	((struct vfio_range_map *)two)->argsz = page + 8;
	EXPECT_ERRNO(E2BIG, ioctl(self->container_fd, VFIO_IOMMU_RANGE_MAP,
				  two));
	test_range_empty();
	/* ...while exactly one page is still fine. */
	((struct vfio_range_map *)two)->argsz = page;
	ASSERT_EQ(0, ioctl(self->container_fd, VFIO_IOMMU_RANGE_MAP, two));
	test_range_unmap(IOVA_BASE, IOVA_BASE + pg - 1, pg);

	/* A tail that runs into an unmapped page cannot be read. */
	ASSERT_EQ(0, munmap(two + 2 * page, page));
	memcpy(two + 2 * page - sizeof(*cmd), cmd, sizeof(*cmd));
	((struct vfio_range_map *)(two + 2 * page - sizeof(*cmd)))->argsz =
		sizeof(*cmd) + 8;
	EXPECT_ERRNO(EFAULT, ioctl(self->container_fd, VFIO_IOMMU_RANGE_MAP,
				   two + 2 * page - sizeof(*cmd)));
	munmap(two, 2 * page);

	/* The argument itself is not readable. */
	EXPECT_ERRNO(EFAULT, ioctl(self->container_fd, VFIO_IOMMU_RANGE_MAP,
				   NULL));
	test_range_empty();
	ASSERT_VMLCK(self->vmlck, 0);
}

TEST_F(vfio_range, unmap_argsz)
{
	struct {
		struct vfio_range_unmap cmd;
		__u8 tail[32];
	} big;
	struct vfio_range_unmap *cmd = &big.cmd;
	__u64 pg = self->pg;
	long page = getpagesize();
	char *two;

	test_range_map(self->buf, IOVA_BASE, IOVA_BASE + pg - 1);

	memset(&big, 0, sizeof(big));
	cmd->start = IOVA_BASE;
	cmd->last = IOVA_BASE + pg - 1;

	cmd->argsz = 0;
	EXPECT_ERRNO(EINVAL, ioctl(self->container_fd, VFIO_IOMMU_RANGE_UNMAP,
				   cmd));
	cmd->argsz = offsetof(struct vfio_range_unmap, last);
	EXPECT_ERRNO(EINVAL, ioctl(self->container_fd, VFIO_IOMMU_RANGE_UNMAP,
				   cmd));
	cmd->argsz = sizeof(*cmd) - 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->container_fd, VFIO_IOMMU_RANGE_UNMAP,
				   cmd));

	cmd->argsz = sizeof(big);
	big.tail[0] = 1;
	EXPECT_ERRNO(E2BIG, ioctl(self->container_fd, VFIO_IOMMU_RANGE_UNMAP,
				  cmd));
	big.tail[0] = 0;
	big.tail[sizeof(big.tail) - 1] = 0x80;
	EXPECT_ERRNO(E2BIG, ioctl(self->container_fd, VFIO_IOMMU_RANGE_UNMAP,
				  cmd));
	big.tail[sizeof(big.tail) - 1] = 0;

	two = test_mmap(2 * page, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, two);
	memcpy(two, cmd, sizeof(*cmd));
	((struct vfio_range_unmap *)two)->argsz = page + 8;
	EXPECT_ERRNO(E2BIG, ioctl(self->container_fd, VFIO_IOMMU_RANGE_UNMAP,
				  two));
	munmap(two, 2 * page);

	EXPECT_ERRNO(EFAULT, ioctl(self->container_fd, VFIO_IOMMU_RANGE_UNMAP,
				   NULL));
	ASSERT_VMLCK(self->vmlck, pg);

	/* Bigger with a zero tail works, and the tail stays untouched. */
	cmd->unmapped = 0;
	ASSERT_EQ(0, ioctl(self->container_fd, VFIO_IOMMU_RANGE_UNMAP, cmd));
	ASSERT_EQ(pg, cmd->unmapped);
	ASSERT_TRUE(mem_is(big.tail, 0, sizeof(big.tail)));
	ASSERT_VMLCK(self->vmlck, 0);
	test_range_empty();
}

TEST_F(vfio_range, unmap_bad_args)
{
	__u64 pg = self->pg, b = IOVA_BASE;

	test_range_map(self->buf, b, b + 4 * pg - 1);

	test_err_range_unmap(EINVAL, b + pg, b + pg - 1);
	test_err_range_unmap(EINVAL, b + 4 * pg, b - 1);
	test_err_range_unmap(EINVAL, U64_MAX - pg + 1, 0);
	test_err_range_unmap(EINVAL, b + pg / 2, b + 4 * pg - 1);
	test_err_range_unmap(EINVAL, b + 1, b + 4 * pg - 1);
	test_err_range_unmap(EINVAL, b, b + 4 * pg - 2);
	test_err_range_unmap(EINVAL, b, b);
	test_err_range_unmap_flags(EINVAL, b, b + 4 * pg - 1, 1U << 1);
	test_err_range_unmap_flags(EINVAL, b, b + 4 * pg - 1, 1U << 31);
	test_err_range_unmap_flags(EINVAL, 0, U64_MAX, ~0U);
	ASSERT_VMLCK(self->vmlck, 4 * pg);

	test_range_unmap(b, b + 4 * pg - 1, 4 * pg);
	ASSERT_VMLCK(self->vmlck, 0);
}

/*
 * Unmap works on the ranges of map requests, not on pages: an unaligned
 * range that covers whole requests removes them.
 */
TEST_F(vfio_range, unmap_unaligned_covering)
{
	__u64 pg = self->pg, b = IOVA_BASE;

	test_range_map(self->buf, b, b + 4 * pg - 1);
	test_range_unmap(b, b + 4 * pg, 4 * pg);
	test_range_map(self->buf, b, b + 4 * pg - 1);
	test_range_unmap(1, U64_MAX, 4 * pg);
	test_range_map(self->buf, b, b + 4 * pg - 1);
	test_range_unmap(0, U64_MAX - 1, 4 * pg);
	test_range_unmap(b + 1, b + 2, 0);
	ASSERT_VMLCK(self->vmlck, 0);
}

/* Three mappings with gaps: [b, +1pg) [b+2pg, +3pg) [b+8pg, +16pg) */
static __u64 map_three(struct __test_metadata *_metadata,
		       FIXTURE_DATA(vfio_range) *self, __u64 b)
{
	__u64 pg = self->pg;

	test_range_map(self->buf, b, b + pg - 1);
	test_range_map(self->buf + pg, b + 2 * pg, b + 5 * pg - 1);
	test_range_map(self->buf + 4 * pg, b + 8 * pg, b + 24 * pg - 1);
	return 20 * pg;
}

TEST_F(vfio_range, unmap_spans_gaps)
{
	__u64 pg = self->pg, b = IOVA_BASE, total;

	/* Exactly from the first byte of the first to the last of the last. */
	total = map_three(_metadata, self, b);
	ASSERT_VMLCK(self->vmlck, total);
	test_range_unmap(b, b + 24 * pg - 1, total);
	ASSERT_VMLCK(self->vmlck, 0);
	test_range_empty();

	/* With gaps around them too. */
	total = map_three(_metadata, self, b);
	test_range_unmap(b - 4 * pg, b + 64 * pg - 1, total);
	ASSERT_VMLCK(self->vmlck, 0);

	/* Only the middle one. */
	total = map_three(_metadata, self, b);
	test_range_unmap(b + pg, b + 8 * pg - 1, 3 * pg);
	test_range_unmap(0, U64_MAX, total - 3 * pg);
	ASSERT_VMLCK(self->vmlck, 0);
}

TEST_F(vfio_range, unmap_straddle)
{
	__u64 pg = self->pg, b = IOVA_BASE, total;
	const struct {
		const char *what;
		__u64 start, last;
	} cases[] = {
		/* the middle mapping [b+2pg, b+5pg) sticks out ... */
		{ "head outside", b + 3 * pg, b + 24 * pg - 1 },
		{ "tail outside", b, b + 3 * pg - 1 },
		{ "both outside", b + 3 * pg, b + 4 * pg - 1 },
		{ "one page in", b - pg, b + 3 * pg - 1 },
		/* ... or the last one [b+8pg, b+24pg) does */
		{ "last, tail outside", 0, b + 23 * pg - 1 },
		{ "last, head outside", b + 9 * pg, U64_MAX },
	};
	unsigned int i;

	total = map_three(_metadata, self, b);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		__u64 unmapped = 0;

		errno = 0;
		EXPECT_EQ(-1, _test_range_unmap(self->container_fd,
						cases[i].start, cases[i].last,
						0, &unmapped))
			TH_LOG("straddle case '%s' unmapped %llu bytes",
			       cases[i].what, (unsigned long long)unmapped);
		EXPECT_EQ(EINVAL, errno)
			TH_LOG("straddle case '%s': %s", cases[i].what,
			       strerror(errno));
	}
	ASSERT_VMLCK(self->vmlck, total);

	/* Nothing changed: every mapping is still there, whole. */
	test_err_range_map(EEXIST, self->buf + 64 * pg, b, b + pg - 1);
	test_range_unmap(b, b + pg - 1, pg);
	test_range_unmap(b + 2 * pg, b + 5 * pg - 1, 3 * pg);
	test_range_unmap(b + 8 * pg, b + 24 * pg - 1, 16 * pg);
	ASSERT_VMLCK(self->vmlck, 0);
	test_range_empty();
}

TEST_F(vfio_range, unmap_empty)
{
	__u64 pg = self->pg, b = IOVA_BASE, top = self->top;

	test_range_unmap(0, U64_MAX, 0);
	test_range_unmap(b, b + pg - 1, 0);

	test_range_map(self->buf, b, b + pg - 1);
	test_range_unmap(b + pg, b + 2 * pg - 1, 0);
	test_range_unmap(b - pg, b - 1, 0);
	test_range_unmap(0, b - 1, 0);
	test_range_unmap(b + pg, U64_MAX, 0);
	test_range_unmap(MSI_IOVA_START, MSI_IOVA_LAST, 0);
	test_range_unmap(top - pg + 1, U64_MAX, 0);
	if (top != U64_MAX)	/* else top + 1 is 0: [0, U64_MAX] */
		test_range_unmap(top + 1, U64_MAX, 0);
	test_range_unmap(U64_MAX - pg + 1, U64_MAX, 0);
	ASSERT_VMLCK(self->vmlck, pg);

	test_range_unmap(b, b + pg - 1, pg);
	ASSERT_VMLCK(self->vmlck, 0);
}

/* One mapping at both ends of every usable range. */
static __u64 map_range_ends(struct __test_metadata *_metadata,
			    FIXTURE_DATA(vfio_range) *self)
{
	struct iommu_info *ii = &self->info;
	__u64 pg = self->pg, total = 0;
	char *va = self->buf;
	__u32 i;

	for (i = 0; i < ii->nr_ranges; i++) {
		struct vfio_iova_range *r = &ii->ranges[i];

		test_range_map(va, r->start, r->start + pg - 1);
		va += pg;
		total += pg;
		if (r->end - r->start + 1 < 4 * pg)
			continue;
		test_range_map(va, r->end - 2 * pg + 1, r->end);
		va += 2 * pg;
		total += 2 * pg;
	}
	return total;
}

TEST_F(vfio_range, unmap_all)
{
	__u64 total;

	if (granule_restricted())
		SKIP(return, EDGE_SKIP);
	total = map_range_ends(_metadata, self);
	ASSERT_VMLCK(self->vmlck, total);
	test_range_unmap(0, U64_MAX, total);
	ASSERT_VMLCK(self->vmlck, 0);
	test_range_unmap(0, U64_MAX, 0);

	/* Nothing was left behind: the same mappings work again. */
	ASSERT_EQ(total, map_range_ends(_metadata, self));
	test_range_unmap(0, U64_MAX, total);
	ASSERT_VMLCK(self->vmlck, 0);
}

TEST_F(vfio_range, map_range_edges)
{
	struct iommu_info *ii = &self->info;
	__u64 pg = self->pg, top = self->top;
	__u32 i;

	if (granule_restricted())
		SKIP(return, EDGE_SKIP);
	/* First and last page of every usable range, one by one. */
	for (i = 0; i < ii->nr_ranges; i++) {
		struct vfio_iova_range *r = &ii->ranges[i];

		test_range_map(self->buf, r->start, r->start + pg - 1);
		test_range_map(self->buf + pg, r->end - pg + 1, r->end);
		test_range_unmap(r->start, r->start + pg - 1, pg);
		test_range_unmap(r->end - pg + 1, r->end, pg);
	}

	/* The last page of the aperture, removed with [start, U64_MAX]. */
	test_range_map(self->buf, top - pg + 1, top);
	ASSERT_VMLCK(self->vmlck, pg);
	test_range_unmap(top - pg + 1, U64_MAX, pg);
	ASSERT_VMLCK(self->vmlck, 0);

	/* Two pages at the top: half of it is a straddle. */
	test_range_map(self->buf, top - 2 * pg + 1, top);
	test_err_range_unmap(EINVAL, top - pg + 1, U64_MAX);
	test_err_range_unmap(EINVAL, top - pg + 1, top);
	test_err_range_map(EEXIST, self->buf + 2 * pg, top - pg + 1, top);
	test_range_unmap(top - 2 * pg + 1, U64_MAX, 2 * pg);

	/* A larger mapping ending at the top, removed with [0, U64_MAX]. */
	test_range_map(self->buf, top - BIG + 1, top);
	ASSERT_VMLCK(self->vmlck, BIG);
	test_range_unmap(0, U64_MAX, BIG);
	ASSERT_VMLCK(self->vmlck, 0);
	test_range_empty();
}

TEST_F(vfio_range, many_mappings)
{
	const unsigned int n = 128;
	__u64 pg = self->pg, b = IOVA_BASE;
	unsigned int i;

	/* n one-page mappings, each followed by a one-page gap. */
	for (i = 0; i < n; i++)
		test_range_map(self->buf + i * pg, b + 2 * i * pg,
			       b + (2 * i + 1) * pg - 1);
	ASSERT_VMLCK(self->vmlck, n * pg);
	for (i = 0; i < n; i++)
		test_err_range_map(EEXIST, self->buf + n * pg,
				   b + 2 * i * pg, b + (2 * i + 1) * pg - 1);

	/* 32 in the middle, from a gap to a gap. */
	test_range_unmap(b + 2 * 40 * pg - pg, b + 2 * 72 * pg - 1, 32 * pg);
	ASSERT_VMLCK(self->vmlck, (n - 32) * pg);
	/* The 65 pages freed can be mapped as one now. */
	test_range_map(self->buf + n * pg, b + 2 * 40 * pg - pg,
		       b + 2 * 72 * pg - 1);
	test_range_unmap(0, U64_MAX, (n - 32) * pg + 65 * pg);
	ASSERT_VMLCK(self->vmlck, 0);
}

TEST_F(vfio_range, locked_vm)
{
	char *other = self->buf + 2 * BIG;

	test_range_map(self->buf, IOVA_BASE, IOVA_BASE + BIG - 1);
	ASSERT_VMLCK(self->vmlck, BIG);
	test_range_map(self->buf + BIG, IOVA_BASE + 2 * BIG,
		       IOVA_BASE + 2 * BIG + SMALL - 1);
	ASSERT_VMLCK(self->vmlck, BIG + SMALL);

	/* Failed maps charge nothing. */
	test_err_range_map(EEXIST, other, IOVA_BASE + BIG - SMALL,
			   IOVA_BASE + 2 * BIG - 1);
	test_err_range_map(ERANGE, other, MSI_IOVA_START - SMALL,
			   MSI_IOVA_START + BIG - SMALL - 1);
	ASSERT_VMLCK(self->vmlck, BIG + SMALL);

	test_range_unmap(IOVA_BASE, IOVA_BASE + BIG - 1, BIG);
	ASSERT_VMLCK(self->vmlck, SMALL);
	test_range_unmap(0, U64_MAX, SMALL);
	ASSERT_VMLCK(self->vmlck, 0);
}

TEST_F(vfio_range, locked_vm_close)
{
	test_range_map(self->buf, IOVA_BASE, IOVA_BASE + BIG - 1);
	test_range_map(self->buf + BIG, self->top - BIG + 1, self->top);
	ASSERT_VMLCK(self->vmlck, 2 * BIG);

	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);
	ASSERT_VMLCK(self->vmlck, 0);
}

TEST_F(vfio_range, locked_vm_unset_container)
{
	test_range_map(self->buf, IOVA_BASE, IOVA_BASE + BIG - 1);
	ASSERT_VMLCK(self->vmlck, BIG);

	/* Removing the last group releases the IOMMU backend. */
	ASSERT_EQ(0, ioctl(self->group_fd, VFIO_GROUP_UNSET_CONTAINER));
	ASSERT_VMLCK(self->vmlck, 0);

	/* A new backend instance starts empty. */
	ASSERT_EQ(0, ioctl(self->group_fd, VFIO_GROUP_SET_CONTAINER,
			   &self->container_fd));
	ASSERT_EQ(0, ioctl(self->container_fd, VFIO_SET_IOMMU,
			   VFIO_RANGE_IOMMU));
	test_range_empty();
	test_range_map(self->buf, IOVA_BASE, IOVA_BASE + BIG - 1);
	ASSERT_VMLCK(self->vmlck, BIG);
	test_range_unmap(0, U64_MAX, BIG);
	ASSERT_VMLCK(self->vmlck, 0);
}

/* ---------------------------------------------------------------------- */
/* The max_mappings module parameter                                      */
/* ---------------------------------------------------------------------- */

FIXTURE(max_mappings)
{
	int container_fd;
	int group_fd;
	unsigned long orig;
	bool saved;
	__u64 pg;
	char *buf;
	long vmlck;
};

FIXTURE_SETUP(max_mappings)
{
	self->container_fd = -1;
	self->group_fd = -1;
	__vfio_container_setup(_metadata, first_edu_group(_metadata),
			       VFIO_RANGE_IOMMU, &self->container_fd,
			       &self->group_fd);
	ASSERT_EQ(0, sysfs_read_ulong(MAX_MAPPINGS_PARAM, &self->orig))
		TH_LOG("cannot read %s", MAX_MAPPINGS_PARAM);
	self->saved = true;
	self->pg = __granule(_metadata, self->container_fd);
	self->buf = test_mmap_aligned(64 * self->pg, self->pg,
				      PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, self->buf);
	self->vmlck = vmlck_kb(0);
}

FIXTURE_TEARDOWN(max_mappings)
{
	if (self->saved &&
	    sysfs_write_ulong(MAX_MAPPINGS_PARAM, self->orig))
		TH_LOG("cannot restore %s to %lu", MAX_MAPPINGS_PARAM,
		       self->orig);
	if (self->buf)
		munmap(self->buf, 64 * self->pg);
	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);
}

#define set_max_mappings(n)						\
	ASSERT_EQ(0, sysfs_write_ulong(MAX_MAPPINGS_PARAM, n))

/* Mapping @i: one page at an IOVA of its own, with a gap after it. */
#define map_nth(i)							\
	test_range_map(self->buf + (i) * self->pg,			\
		       IOVA_BASE + 2 * (i) * self->pg,			\
		       IOVA_BASE + (2 * (i) + 1) * self->pg - 1)
#define err_map_nth(_errno, i)						\
	test_err_range_map(_errno, self->buf + (i) * self->pg,		\
			   IOVA_BASE + 2 * (i) * self->pg,		\
			   IOVA_BASE + (2 * (i) + 1) * self->pg - 1)
#define unmap_nth(i)							\
	test_range_unmap(IOVA_BASE + 2 * (i) * self->pg,		\
			 IOVA_BASE + (2 * (i) + 1) * self->pg - 1,	\
			 self->pg)

TEST_F(max_mappings, default_value)
{
	ASSERT_EQ(MAX_MAPPINGS_DEFAULT, self->orig);
}

TEST_F(max_mappings, enospc)
{
	unsigned long val;
	int i;

	set_max_mappings(4);
	ASSERT_EQ(0, sysfs_read_ulong(MAX_MAPPINGS_PARAM, &val));
	ASSERT_EQ(4UL, val);

	for (i = 0; i < 4; i++)
		map_nth(i);
	err_map_nth(ENOSPC, 4);
	err_map_nth(ENOSPC, 5);
	ASSERT_VMLCK(self->vmlck, 4 * self->pg);

	unmap_nth(2);
	map_nth(4);
	err_map_nth(ENOSPC, 5);
	ASSERT_VMLCK(self->vmlck, 4 * self->pg);

	test_range_unmap(0, U64_MAX, 4 * self->pg);
	for (i = 10; i < 14; i++)
		map_nth(i);
	err_map_nth(ENOSPC, 14);
	test_range_unmap(0, U64_MAX, 4 * self->pg);
	ASSERT_VMLCK(self->vmlck, 0);
}

TEST_F(max_mappings, change_at_runtime)
{
	int i;

	set_max_mappings(2);
	map_nth(0);
	map_nth(1);
	err_map_nth(ENOSPC, 2);

	set_max_mappings(3);
	map_nth(2);
	err_map_nth(ENOSPC, 3);

	/* Lowered below what the container holds: no new mapping. */
	set_max_mappings(8);
	for (i = 3; i < 6; i++)
		map_nth(i);
	set_max_mappings(4);
	err_map_nth(ENOSPC, 6);
	unmap_nth(0);
	unmap_nth(1);
	err_map_nth(ENOSPC, 6);
	unmap_nth(2);
	map_nth(6);
	test_range_unmap(0, U64_MAX, 4 * self->pg);
	ASSERT_VMLCK(self->vmlck, 0);
}

/* ---------------------------------------------------------------------- */
/* Other processes, rlimits, comparison with type1: no group held         */
/* ---------------------------------------------------------------------- */

FIXTURE(vfio_range_proc)
{
	int group;
	int container_fd;
	int group_fd;
};

FIXTURE_SETUP(vfio_range_proc)
{
	self->container_fd = -1;
	self->group_fd = -1;
	self->group = first_edu_group(_metadata);
}

FIXTURE_TEARDOWN(vfio_range_proc)
{
	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);
}

/* The range backend reports the same usable IOVA space as type1. */
TEST_F(vfio_range_proc, info_matches_type1)
{
	struct iommu_info type1, range;
	__u32 i;

	if (!type1_loaded())
		SKIP(return, TYPE1_MISSING);
	__vfio_container_setup(_metadata, self->group, VFIO_TYPE1v2_IOMMU,
			       &self->container_fd, &self->group_fd);
	__get_iommu_info(_metadata, self->container_fd, &type1);
	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);

	__vfio_container_setup(_metadata, self->group, VFIO_RANGE_IOMMU,
			       &self->container_fd, &self->group_fd);
	__get_iommu_info(_metadata, self->container_fd, &range);

	/* type1's sizes, less those below min_pgsize. */
	ASSERT_EQ(type1.pgsizes & ~(module_granule() - 1), range.pgsizes);
	ASSERT_FLAG(range.pgsizes, module_granule());
	ASSERT_EQ(type1.nr_ranges, range.nr_ranges);
	for (i = 0; i < range.nr_ranges; i++) {
		ASSERT_EQ(type1.ranges[i].start, range.ranges[i].start);
		ASSERT_EQ(type1.ranges[i].end, range.ranges[i].end);
	}
}

static void write_all(struct __test_metadata *_metadata, int fd,
		      const void *buf, size_t len)
{
	ASSERT_EQ((ssize_t)len, write(fd, buf, len));
}

static void read_all(struct __test_metadata *_metadata, int fd, void *buf,
		     size_t len)
{
	ASSERT_EQ((ssize_t)len, read(fd, buf, len));
}

/* 1 MiB, or a granule if that is more (min_pgsize). */
#define PROC_SIZE	(module_granule() > SZ_1M ? module_granule() : SZ_1M)

/*
 * A child maps 1 MiB in a container of its own and then dies with the
 * mapping in place (exit or SIGKILL). Its pins must be released with it:
 * the parent can then open the group again, which VFIO allows only once
 * it has been fully released, and set up a working container.
 */
static void child_dies_holding_map(struct __test_metadata *_metadata,
				   FIXTURE_DATA(vfio_range_proc) *self,
				   bool kill_it)
{
	int to_child[2], to_parent[2];
	long child_base, parent_base;
	int status;
	char *buf;
	pid_t pid;

	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));
	parent_base = vmlck_kb(0);
	ASSERT_LE(0, parent_base);

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		char go;

		close(to_child[1]);
		close(to_parent[0]);
		__vfio_container_setup(_metadata, self->group,
				       VFIO_RANGE_IOMMU, &self->container_fd,
				       &self->group_fd);
		buf = test_mmap_aligned(PROC_SIZE, module_granule(),
					 PROT_READ | PROT_WRITE);
		ASSERT_NE(NULL, buf);
		child_base = vmlck_kb(0);
		test_range_map(buf, IOVA_BASE, IOVA_BASE + PROC_SIZE - 1);
		ASSERT_VMLCK(child_base, PROC_SIZE);
		write_all(_metadata, to_parent[1], &child_base,
			  sizeof(child_base));
		/* Wait for the parent: "go" to exit, or SIGKILL. */
		if (read(to_child[0], &go, 1) != 1)
			_exit(2);
		_exit(_metadata->passed ? 0 : 1);
	}
	close(to_child[0]);
	close(to_parent[1]);

	read_all(_metadata, to_parent[0], &child_base, sizeof(child_base));
	ASSERT_EQ(child_base + (long)(PROC_SIZE / 1024), vmlck_kb(pid));
	/* The group is busy while the child has it. */
	EXPECT_ERRNO(EBUSY, vfio_group_open(self->group));

	/* How the child ended is checked below. */
	if (kill_it)
		kill(pid, SIGKILL);
	else
		write_all(_metadata, to_child[1], "g", 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	if (kill_it) {
		ASSERT_TRUE(WIFSIGNALED(status));
		ASSERT_EQ(SIGKILL, WTERMSIG(status));
	} else {
		ASSERT_TRUE(WIFEXITED(status));
		ASSERT_EQ(0, WEXITSTATUS(status));
	}
	close(to_child[1]);
	close(to_parent[0]);

	/* Released: the group opens again and a new container works. */
	__vfio_container_setup(_metadata, self->group, VFIO_RANGE_IOMMU,
			       &self->container_fd, &self->group_fd);
	buf = test_mmap_aligned(PROC_SIZE, module_granule(),
					 PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, buf);
	test_range_empty();
	test_range_map(buf, IOVA_BASE, IOVA_BASE + PROC_SIZE - 1);
	ASSERT_VMLCK(parent_base, PROC_SIZE);
	test_range_unmap(0, U64_MAX, PROC_SIZE);
	ASSERT_VMLCK(parent_base, 0);
	munmap(buf, PROC_SIZE);
}

TEST_F(vfio_range_proc, child_exit_releases)
{
	child_dies_holding_map(_metadata, self, false);
}

TEST_F(vfio_range_proc, child_sigkill_releases)
{
	child_dies_holding_map(_metadata, self, true);
}

/*
 * In a child with RLIMIT_MEMLOCK = 64 KiB, with or without CAP_IPC_LOCK,
 * map 1 MiB.
 */
static void rlimit_child(struct __test_metadata *_metadata,
			 FIXTURE_DATA(vfio_range_proc) *self, bool keep_cap)
{
	struct rlimit rl = { .rlim_cur = SZ_64K, .rlim_max = SZ_64K };
	int status;
	long base;
	char *buf;
	pid_t pid;

	if (granule_restricted())
		SKIP(return, GRANULE_SKIP);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid) {
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFEXITED(status));
		ASSERT_EQ(0, WEXITSTATUS(status));
		return;
	}

	ASSERT_TRUE(has_cap_ipc_lock())
		TH_LOG("the test needs CAP_IPC_LOCK to begin with (root)");
	if (!keep_cap) {
		ASSERT_EQ(0, drop_cap_ipc_lock());
		ASSERT_FALSE(has_cap_ipc_lock());
	}
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));

	buf = test_mmap_aligned(PROC_SIZE, module_granule(),
					 PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, buf);
	memset(buf, 0x77, PROC_SIZE);
	if (!keep_cap) {
		/* Sanity: the kernel sees the limit and the missing cap. */
		EXPECT_ERRNO(ENOMEM, mlock(buf, PROC_SIZE));
	}

	__vfio_container_setup(_metadata, self->group, VFIO_RANGE_IOMMU,
			       &self->container_fd, &self->group_fd);
	base = vmlck_kb(0);
	ASSERT_LE(0, base);

	if (keep_cap) {
		test_range_map(buf, IOVA_BASE, IOVA_BASE + PROC_SIZE - 1);
		ASSERT_VMLCK(base, PROC_SIZE);
		test_range_unmap(0, U64_MAX, PROC_SIZE);
		ASSERT_VMLCK(base, 0);
	} else {
		test_err_range_map(ENOMEM, buf, IOVA_BASE,
				   IOVA_BASE + PROC_SIZE - 1);
		ASSERT_VMLCK(base, 0);
		test_range_empty();

		/* Under the limit is fine, up to the limit. */
		test_range_map(buf, IOVA_BASE, IOVA_BASE + 16 * 1024 - 1);
		ASSERT_VMLCK(base, 16 * 1024);
		test_err_range_map(ENOMEM, buf + SZ_64K, IOVA_BASE + PROC_SIZE,
				   IOVA_BASE + PROC_SIZE + SZ_64K - 1);
		ASSERT_VMLCK(base, 16 * 1024);
		test_range_map(buf + SZ_64K, IOVA_BASE + PROC_SIZE,
			       IOVA_BASE + PROC_SIZE + 48 * 1024 - 1);
		ASSERT_VMLCK(base, SZ_64K);
		test_range_unmap(0, U64_MAX, SZ_64K);
		ASSERT_VMLCK(base, 0);
	}
	_exit(_metadata->passed ? 0 : 1);
}

TEST_F(vfio_range_proc, rlimit_memlock)
{
	rlimit_child(_metadata, self, false);
}

TEST_F(vfio_range_proc, rlimit_memlock_cap_ipc_lock)
{
	rlimit_child(_metadata, self, true);
}

/*
 * Module lifetime: the module cannot go while a container uses it. Last in
 * the file, so that if it goes wrong nothing else runs without the module.
 */
TEST_F(vfio_range_proc, module_busy)
{
	unsigned long refs_idle, refs, refs_after;
	char *buf;
	int ret;

	ASSERT_EQ(0, sysfs_read_ulong(VFIO_RANGE_SYSFS "/refcnt",
				      &refs_idle));
	__vfio_container_setup(_metadata, self->group, VFIO_RANGE_IOMMU,
			       &self->container_fd, &self->group_fd);
	ASSERT_EQ(0, sysfs_read_ulong(VFIO_RANGE_SYSFS "/refcnt", &refs));
	/* Do not even try to unload a module that nobody holds. */
	ASSERT_LT(refs_idle, refs);

	buf = test_mmap_aligned(PROC_SIZE, module_granule(),
				PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, buf);
	test_range_map(buf, IOVA_BASE, IOVA_BASE + PROC_SIZE - 1);
	ret = syscall(SYS_delete_module, VFIO_RANGE_MODULE, O_NONBLOCK);
	ASSERT_EQ(-1, ret);
	ASSERT_TRUE(errno == EWOULDBLOCK || errno == EBUSY)
		TH_LOG("delete_module: %s", strerror(errno));
	ASSERT_EQ(0, access(VFIO_RANGE_SYSFS, F_OK));

	/* Still fully working. */
	test_range_unmap(0, U64_MAX, PROC_SIZE);
	test_range_map(buf, IOVA_BASE, IOVA_BASE + PROC_SIZE - 1);

	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);
	ASSERT_EQ(0, sysfs_read_ulong(VFIO_RANGE_SYSFS "/refcnt",
				      &refs_after));
	ASSERT_EQ(refs_idle, refs_after);
	munmap(buf, PROC_SIZE);
}

TEST_HARNESS_MAIN
