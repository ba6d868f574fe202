// SPDX-License-Identifier: GPL-2.0-only
/*
 * End-to-end DMA tests of the vfio-range IOMMU backend with QEMU's "edu"
 * PCI device: data the device reads and writes through a mapping must land
 * where the mapping says, and nothing may get through once it is gone (or
 * in a direction it does not allow).
 *
 * Every test runs twice: on VFIO_RANGE_IOMMU, and on upstream type1 as a
 * reference that the device plumbing itself works. The edu2 tests need two
 * edu devices in two IOMMU groups and skip otherwise.
 */
#include "vfio_range_utils.h"

/*
 * All below 256 MiB: edu masks its DMA addresses to 28 bits. The buffers
 * are 64 KiB, or four IOMMU granules if that is more (min_pgsize), and
 * the IOVAs step by 1 MiB or by a buffer (set_sizes()).
 */
#define IOVA_A		(1 * self->step)
#define IOVA_B		(2 * self->step)
#define IOVA_C		(3 * self->step)
#define IOVA_BIG	(8 * self->step)	/* 2 MiB aligned */
#define BUF_SIZE	(self->buf_size)

/* The granule @g of the container decides the sizes. */
#define set_sizes(g)							\
	do {								\
		self->pg = (g);						\
		self->buf_size = 16 * SZ_4K > 4 * self->pg ?		\
				 16 * SZ_4K : 4 * self->pg;		\
		self->step = self->buf_size > SZ_1M ? self->buf_size :	\
						      SZ_1M;		\
	} while (0)

#define buf_mmap()	test_mmap_aligned(BUF_SIZE, self->pg,		\
					  PROT_READ | PROT_WRITE)

#define DMA_R		VFIO_RANGE_MAP_READ
#define DMA_W		VFIO_RANGE_MAP_WRITE
#define DMA_RW		(DMA_R | DMA_W)

/* Map or unmap on either backend; flags are VFIO_RANGE_MAP_* bits. */
static int _test_dma_map(__u32 type, int fd, void *buf, __u64 iova,
			 __u64 size, __u32 flags)
{
	__u32 t1 = 0;

	if (type == VFIO_RANGE_IOMMU)
		return _test_range_map(fd, (uintptr_t)buf, iova,
				       iova + size - 1, flags);
	if (flags & DMA_R)
		t1 |= VFIO_DMA_MAP_FLAG_READ;
	if (flags & DMA_W)
		t1 |= VFIO_DMA_MAP_FLAG_WRITE;
	return _test_type1_map(fd, (uintptr_t)buf, iova, size, t1);
}

static int _test_dma_unmap(__u32 type, int fd, __u64 iova, __u64 size,
			   __u64 *unmapped)
{
	if (type == VFIO_RANGE_IOMMU)
		return _test_range_unmap(fd, iova, iova + size - 1, 0,
					 unmapped);
	return _test_type1_unmap(fd, iova, size, unmapped);
}

/* Remove everything: [0, U64_MAX], or type1's UNMAP_FLAG_ALL. */
static int _test_dma_unmap_all(__u32 type, int fd, __u64 *unmapped)
{
	struct vfio_iommu_type1_dma_unmap cmd = {
		.argsz = sizeof(cmd),
		.flags = VFIO_DMA_UNMAP_FLAG_ALL,
	};
	int ret;

	if (type == VFIO_RANGE_IOMMU)
		return _test_range_unmap(fd, 0, U64_MAX, 0, unmapped);
	ret = ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &cmd);
	*unmapped = cmd.size;
	return ret;
}

#define test_dma_map(buf, iova, size, flags)				\
	ASSERT_EQ(0, _test_dma_map(variant->iommu_type,			\
				   self->container_fd, buf, iova,	\
				   size, flags))
#define test_err_dma_map(_errno, buf, iova, size, flags)		\
	EXPECT_ERRNO(_errno, _test_dma_map(variant->iommu_type,		\
					   self->container_fd, buf,	\
					   iova, size, flags))
#define test_dma_unmap(iova, size)					\
	({								\
		__u64 __unmapped = 0;					\
									\
		ASSERT_EQ(0, _test_dma_unmap(variant->iommu_type,	\
					     self->container_fd, iova,	\
					     size, &__unmapped));	\
		ASSERT_EQ((__u64)(size), __unmapped);			\
	})
#define test_dma_unmap_all(bytes)					\
	({								\
		__u64 __unmapped = 0;					\
									\
		ASSERT_EQ(0, _test_dma_unmap_all(variant->iommu_type,	\
						 self->container_fd,	\
						 &__unmapped));		\
		ASSERT_EQ((__u64)(bytes), __unmapped);			\
	})

/*
 * Setup that cannot run (type1 not loaded, no second device) leaves a
 * reason in self->skip and returns; each test then skips. (The 6.1 harness
 * would still run the test body after a SKIP() in setup.)
 */

/* ---------------------------------------------------------------------- */
/* One edu device                                                         */
/* ---------------------------------------------------------------------- */

FIXTURE(edu)
{
	const char *skip;
	int container_fd;
	int group_fd;
	struct edu_dev edu;
	__u64 pg;		/* the IOMMU granule */
	__u64 buf_size, step;
	char *a, *b, *c;	/* BUF_SIZE each */
};

FIXTURE_VARIANT(edu)
{
	__u32 iommu_type;
};

FIXTURE_VARIANT_ADD(edu, range)
{
	.iommu_type = VFIO_RANGE_IOMMU,
};

FIXTURE_VARIANT_ADD(edu, type1)
{
	.iommu_type = VFIO_TYPE1v2_IOMMU,
};

FIXTURE_SETUP(edu)
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
	__edu_open(_metadata, self->group_fd, info.bdf, &self->edu);
	set_sizes(__granule(_metadata, self->container_fd));

	self->a = buf_mmap();
	self->b = buf_mmap();
	self->c = buf_mmap();
	ASSERT_NE(NULL, self->a);
	ASSERT_NE(NULL, self->b);
	ASSERT_NE(NULL, self->c);
}

FIXTURE_TEARDOWN(edu)
{
	edu_close(&self->edu);
	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);
	if (self->a)
		munmap(self->a, BUF_SIZE);
	if (self->b)
		munmap(self->b, BUF_SIZE);
	if (self->c)
		munmap(self->c, BUF_SIZE);
}

TEST_F(edu, registers)
{
	if (self->skip)
		SKIP(return, "%s", self->skip);
	ASSERT_EQ(EDU_IDENT, edu_read32(&self->edu, EDU_REG_IDENT));
	edu_write32(&self->edu, EDU_REG_LIVENESS, 0x12345678);
	ASSERT_EQ(~0x12345678U, edu_read32(&self->edu, EDU_REG_LIVENESS));
	ASSERT_EQ(0U, edu_read32(&self->edu, EDU_REG_DMA_CMD) &
		      EDU_DMA_START);
}

/*
 * RAM -> device -> RAM through two mappings; then the IOMMU must block a
 * write to an unmapped IOVA, and let it through again once remapped.
 */
TEST_F(edu, dma_roundtrip)
{
	if (self->skip)
		SKIP(return, "%s", self->skip);
	fill_pattern(self->a, BUF_SIZE, 1);
	memset(self->b, 0x5a, BUF_SIZE);
	test_dma_map(self->a, IOVA_A, BUF_SIZE, DMA_RW);
	test_dma_map(self->b, IOVA_B, BUF_SIZE, DMA_RW);

	edu_dma_to_dev(&self->edu, IOVA_A);
	edu_dma_from_dev(&self->edu, IOVA_B);
	ASSERT_EQ(0, memcmp(self->a, self->b, EDU_DMA_LEN));
	ASSERT_TRUE(mem_is(self->b + EDU_DMA_LEN, 0x5a,
			   BUF_SIZE - EDU_DMA_LEN));

	test_dma_unmap(IOVA_B, BUF_SIZE);
	memset(self->b, 0, BUF_SIZE);
	edu_dma_from_dev(&self->edu, IOVA_B);
	ASSERT_TRUE(mem_is(self->b, 0, BUF_SIZE))
		TH_LOG("the device wrote through an unmapped IOVA");

	test_dma_map(self->b, IOVA_B, BUF_SIZE, DMA_RW);
	edu_dma_from_dev(&self->edu, IOVA_B);
	ASSERT_EQ(0, memcmp(self->a, self->b, EDU_DMA_LEN));
}

/* Transfers at the first byte, across page boundaries, at the last byte. */
TEST_F(edu, dma_offsets)
{
	const __u64 offs[] = {
		0,
		SZ_4K - 1024,
		5 * SZ_4K + 512,
		BUF_SIZE - EDU_DMA_LEN,	/* ends on the mapping's last byte */
	};
	unsigned int i;

	if (self->skip)
		SKIP(return, "%s", self->skip);
	fill_pattern(self->a, BUF_SIZE, 2);
	test_dma_map(self->a, IOVA_A, BUF_SIZE, DMA_RW);
	test_dma_map(self->b, IOVA_B, BUF_SIZE, DMA_RW);

	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		__u64 from = offs[i];
		__u64 to = offs[ARRAY_SIZE(offs) - 1 - i];

		memset(self->b, 0, BUF_SIZE);
		edu_dma_to_dev(&self->edu, IOVA_A + from);
		edu_dma_from_dev(&self->edu, IOVA_B + to);
		ASSERT_EQ(0, memcmp(self->a + from, self->b + to,
				    EDU_DMA_LEN))
			TH_LOG("IOVA_A + %#llx -> IOVA_B + %#llx",
			       (unsigned long long)from,
			       (unsigned long long)to);
		ASSERT_TRUE(mem_is(self->b, 0, to));
		ASSERT_TRUE(mem_is(self->b + to + EDU_DMA_LEN, 0,
				   BUF_SIZE - to - EDU_DMA_LEN));
	}
}

/* A 2 MiB mapping (maybe backed by a huge page), both directions. */
TEST_F(edu, dma_large_mapping)
{
	const __u64 offs[] = { 0, SZ_1M + SZ_4K - 1024, SZ_2M - EDU_DMA_LEN };
	char *raw, *big;
	unsigned int i;

	if (self->skip)
		SKIP(return, "%s", self->skip);
	raw = test_mmap(2 * SZ_2M, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, raw);
	big = (char *)(((uintptr_t)raw + SZ_2M - 1) & ~(uintptr_t)(SZ_2M - 1));
	madvise(big, SZ_2M, MADV_HUGEPAGE);
	fill_pattern(big, SZ_2M, 3);
	test_dma_map(big, IOVA_BIG, SZ_2M, DMA_RW);
	test_dma_map(self->b, IOVA_B, BUF_SIZE, DMA_RW);
	fill_pattern(self->c, BUF_SIZE, 4);
	test_dma_map(self->c, IOVA_C, BUF_SIZE, DMA_RW);

	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		/* big -> device -> b */
		memset(self->b, 0, BUF_SIZE);
		edu_dma_to_dev(&self->edu, IOVA_BIG + offs[i]);
		edu_dma_from_dev(&self->edu, IOVA_B);
		ASSERT_EQ(0, memcmp(big + offs[i], self->b, EDU_DMA_LEN))
			TH_LOG("read at offset %#llx",
			       (unsigned long long)offs[i]);

		/* c -> device -> big */
		edu_dma_to_dev(&self->edu, IOVA_C + i * SZ_4K);
		edu_dma_from_dev(&self->edu, IOVA_BIG + offs[i]);
		ASSERT_EQ(0, memcmp(self->c + i * SZ_4K, big + offs[i],
				    EDU_DMA_LEN))
			TH_LOG("write at offset %#llx",
			       (unsigned long long)offs[i]);
	}
	test_dma_unmap(IOVA_BIG, SZ_2M);
	munmap(raw, 2 * SZ_2M);
}

/* READ only: the device may read the memory but not write it. */
TEST_F(edu, dma_readonly)
{
	char saved[EDU_DMA_LEN];

	if (self->skip)
		SKIP(return, "%s", self->skip);
	fill_pattern(self->a, BUF_SIZE, 5);
	memcpy(saved, self->a, sizeof(saved));
	memset(self->b, 0x5a, BUF_SIZE);
	fill_pattern(self->c, BUF_SIZE, 6);
	test_dma_map(self->a, IOVA_A, BUF_SIZE, DMA_R);
	test_dma_map(self->b, IOVA_B, BUF_SIZE, DMA_RW);
	test_dma_map(self->c, IOVA_C, BUF_SIZE, DMA_RW);

	/* Reading through the read-only mapping works. */
	edu_dma_to_dev(&self->edu, IOVA_A);
	edu_dma_from_dev(&self->edu, IOVA_B);
	ASSERT_EQ(0, memcmp(saved, self->b, EDU_DMA_LEN));

	/* Writing through it does not. */
	edu_dma_to_dev(&self->edu, IOVA_C);
	edu_dma_from_dev(&self->edu, IOVA_A);
	ASSERT_EQ(0, memcmp(saved, self->a, EDU_DMA_LEN))
		TH_LOG("the device wrote through a read-only mapping");

	/* The device did hold c's data when it tried. */
	edu_dma_from_dev(&self->edu, IOVA_B);
	ASSERT_EQ(0, memcmp(self->c, self->b, EDU_DMA_LEN));
}

/*
 * WRITE only: the device may write the memory. That it cannot read it is
 * not checked: Linux 6.1's intel-iommu sets bit 0 of every PTE it writes
 * (DMA_FL_PTE_PRESENT, which is DMA_PTE_READ in the second-level format),
 * so on VT-d every mapping is readable, with type1 as well.
 */
TEST_F(edu, dma_writeonly)
{
	if (self->skip)
		SKIP(return, "%s", self->skip);
	fill_pattern(self->a, BUF_SIZE, 7);
	fill_pattern(self->b, BUF_SIZE, 8);
	test_dma_map(self->a, IOVA_A, BUF_SIZE, DMA_RW);
	test_dma_map(self->b, IOVA_B, BUF_SIZE, DMA_W);

	edu_dma_to_dev(&self->edu, IOVA_A + SZ_4K);
	edu_dma_from_dev(&self->edu, IOVA_B + 2 * SZ_4K);
	ASSERT_EQ(0, memcmp(self->a + SZ_4K, self->b + 2 * SZ_4K,
			    EDU_DMA_LEN));
}

TEST_F(edu, dma_unmap_all)
{
	if (self->skip)
		SKIP(return, "%s", self->skip);
	fill_pattern(self->a, BUF_SIZE, 10);
	test_dma_map(self->a, IOVA_A, BUF_SIZE, DMA_RW);
	test_dma_map(self->b, IOVA_B, BUF_SIZE, DMA_RW);
	test_dma_map(self->c, IOVA_C, BUF_SIZE, DMA_RW);
	edu_dma_to_dev(&self->edu, IOVA_A);

	test_dma_unmap_all(3 * BUF_SIZE);
	memset(self->a, 0, BUF_SIZE);
	memset(self->b, 0, BUF_SIZE);
	memset(self->c, 0, BUF_SIZE);
	edu_dma_from_dev(&self->edu, IOVA_A);
	edu_dma_from_dev(&self->edu, IOVA_B + SZ_4K);
	edu_dma_from_dev(&self->edu, IOVA_C + BUF_SIZE - EDU_DMA_LEN);
	ASSERT_TRUE(mem_is(self->a, 0, BUF_SIZE));
	ASSERT_TRUE(mem_is(self->b, 0, BUF_SIZE));
	ASSERT_TRUE(mem_is(self->c, 0, BUF_SIZE));
}

/*
 * A map that fails half way (a hole in the user memory) must leave no
 * IOMMU entry behind for the part it could pin.
 */
TEST_F(edu, dma_failed_map)
{
	char *holed;

	if (self->skip)
		SKIP(return, "%s", self->skip);
	holed = test_mmap_aligned(4 * self->pg, self->pg,
				  PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, holed);
	memset(holed, 0, 4 * self->pg);
	ASSERT_EQ(0, munmap(holed + 2 * self->pg, self->pg));
	test_err_dma_map(EFAULT, holed, IOVA_C, 4 * self->pg, DMA_RW);

	fill_pattern(self->a, BUF_SIZE, 11);
	test_dma_map(self->a, IOVA_A, BUF_SIZE, DMA_RW);
	edu_dma_to_dev(&self->edu, IOVA_A);
	edu_dma_from_dev(&self->edu, IOVA_C);
	edu_dma_from_dev(&self->edu, IOVA_C + self->pg);
	ASSERT_TRUE(mem_is(holed, 0, 2 * self->pg))
		TH_LOG("a failed map left an IOMMU mapping behind");
	munmap(holed, 2 * self->pg);
	munmap(holed + 3 * self->pg, self->pg);
}

/*
 * Failed calls change nothing in the IOMMU either: after a refused
 * straddling unmap and a refused overlapping map, every page of the
 * mappings still reaches the memory it did.
 */
TEST_F(edu, dma_failed_unmap)
{
	__u64 pg = self->pg;
	unsigned int i;

	if (self->skip)
		SKIP(return, "%s", self->skip);
	if (variant->iommu_type != VFIO_RANGE_IOMMU)
		SKIP(return, "range backend semantics only");
	fill_pattern(self->a, BUF_SIZE, 12);
	test_dma_map(self->a, IOVA_A, BUF_SIZE, DMA_RW);
	test_dma_map(self->b, IOVA_B, BUF_SIZE, DMA_RW);

	test_err_range_unmap(EINVAL, IOVA_B + pg, IOVA_B + 2 * BUF_SIZE - 1);
	test_err_range_unmap(EINVAL, IOVA_A, IOVA_B + pg - 1);
	test_err_range_map(EEXIST, self->c, IOVA_B + pg, IOVA_B + 2 * pg - 1);

	edu_dma_to_dev(&self->edu, IOVA_A);
	for (i = 0; i < 4; i++) {
		__u64 off = i * (BUF_SIZE / 4) + pg / 2;

		memset(self->b, 0, BUF_SIZE);
		edu_dma_from_dev(&self->edu, IOVA_B + off);
		ASSERT_EQ(0, memcmp(self->a, self->b + off, EDU_DMA_LEN))
			TH_LOG("IOVA_B + %#llx no longer reaches b",
			       (unsigned long long)off);
	}
}

/* ---------------------------------------------------------------------- */
/* Two edu devices in two IOMMU groups, one container                     */
/* ---------------------------------------------------------------------- */

FIXTURE(edu2)
{
	const char *skip;
	int container_fd;
	int group_fd[2];
	struct edu_info info[2];
	struct edu_dev edu[2];
	__u64 pg;		/* the IOMMU granule the container will have */
	__u64 buf_size, step;
	char *a, *b, *c;	/* BUF_SIZE each */
};

FIXTURE_VARIANT(edu2)
{
	__u32 iommu_type;
};

FIXTURE_VARIANT_ADD(edu2, range)
{
	.iommu_type = VFIO_RANGE_IOMMU,
};

FIXTURE_VARIANT_ADD(edu2, type1)
{
	.iommu_type = VFIO_TYPE1v2_IOMMU,
};

FIXTURE_SETUP(edu2)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	struct edu_info all[EDU_MAX];
	int n, i, found = 0;

	self->container_fd = -1;
	self->group_fd[0] = -1;
	self->group_fd[1] = -1;
	edu_init(&self->edu[0]);
	edu_init(&self->edu[1]);
	if (variant->iommu_type == VFIO_TYPE1v2_IOMMU && !type1_loaded()) {
		self->skip = TYPE1_MISSING;
		return;
	}

	n = edu_find(all, EDU_MAX);
	for (i = 0; i < n && found < 2; i++) {
		if (found && all[i].group == self->info[0].group)
			continue;
		self->info[found++] = all[i];
	}
	if (found < 2) {
		self->skip = "needs two edu devices in two IOMMU groups";
		return;
	}

	self->container_fd = open("/dev/vfio/vfio", O_RDWR);
	ASSERT_LE(0, self->container_fd);
	ASSERT_EQ(VFIO_API_VERSION,
		  ioctl(self->container_fd, VFIO_GET_API_VERSION));
	for (i = 0; i < 2; i++) {
		self->group_fd[i] = vfio_group_open(self->info[i].group);
		ASSERT_LE(0, self->group_fd[i]);
		ASSERT_EQ(0, ioctl(self->group_fd[i], VFIO_GROUP_GET_STATUS,
				   &status));
		ASSERT_FLAG(status.flags, VFIO_GROUP_FLAGS_VIABLE);
	}

	set_sizes(variant->iommu_type == VFIO_RANGE_IOMMU ? module_granule() :
		  (__u64)getpagesize());
	self->a = buf_mmap();
	self->b = buf_mmap();
	self->c = buf_mmap();
	ASSERT_NE(NULL, self->a);
	ASSERT_NE(NULL, self->b);
	ASSERT_NE(NULL, self->c);
}

FIXTURE_TEARDOWN(edu2)
{
	edu_close(&self->edu[0]);
	edu_close(&self->edu[1]);
	vfio_close(&self->group_fd[0]);
	vfio_close(&self->group_fd[1]);
	vfio_close(&self->container_fd);
	if (self->a)
		munmap(self->a, BUF_SIZE);
	if (self->b)
		munmap(self->b, BUF_SIZE);
	if (self->c)
		munmap(self->c, BUF_SIZE);
}

#define edu2_attach(i)							\
	ASSERT_EQ(0, ioctl(self->group_fd[i], VFIO_GROUP_SET_CONTAINER,	\
			   &self->container_fd))
#define edu2_set_iommu()						\
	do {								\
		ASSERT_EQ(1, ioctl(self->container_fd,			\
				   VFIO_CHECK_EXTENSION,		\
				   variant->iommu_type));		\
		ASSERT_EQ(0, ioctl(self->container_fd, VFIO_SET_IOMMU,	\
				   variant->iommu_type));		\
	} while (0)
#define edu2_open(i)							\
	__edu_open(_metadata, self->group_fd[i], self->info[i].bdf,	\
		   &self->edu[i])

TEST_F(edu2, both_groups)
{
	int i;

	if (self->skip)
		SKIP(return, "%s", self->skip);
	edu2_attach(0);
	edu2_attach(1);
	edu2_set_iommu();
	edu2_open(0);
	edu2_open(1);

	fill_pattern(self->a, BUF_SIZE, 20);
	test_dma_map(self->a, IOVA_A, BUF_SIZE, DMA_RW);
	test_dma_map(self->b, IOVA_B, BUF_SIZE, DMA_RW);
	for (i = 0; i < 2; i++) {
		memset(self->b, 0, BUF_SIZE);
		edu_dma_to_dev(&self->edu[i], IOVA_A + i * SZ_4K);
		edu_dma_from_dev(&self->edu[i], IOVA_B);
		ASSERT_EQ(0, memcmp(self->a + i * SZ_4K, self->b,
				    EDU_DMA_LEN))
			TH_LOG("DMA through device %s", self->info[i].bdf);
	}

	/* An unmap reaches both devices' IOMMU domains. */
	test_dma_unmap(IOVA_B, BUF_SIZE);
	memset(self->b, 0, BUF_SIZE);
	edu_dma_from_dev(&self->edu[0], IOVA_B);
	edu_dma_from_dev(&self->edu[1], IOVA_B);
	ASSERT_TRUE(mem_is(self->b, 0, BUF_SIZE));
}

TEST_F(edu2, detach_one)
{
	int container2 = -1;

	if (self->skip)
		SKIP(return, "%s", self->skip);
	edu2_attach(0);
	edu2_attach(1);
	edu2_set_iommu();
	edu2_open(0);
	edu2_open(1);
	fill_pattern(self->a, BUF_SIZE, 21);
	test_dma_map(self->a, IOVA_A, BUF_SIZE, DMA_RW);
	test_dma_map(self->b, IOVA_B, BUF_SIZE, DMA_RW);

	edu_close(&self->edu[1]);
	ASSERT_EQ(0, ioctl(self->group_fd[1], VFIO_GROUP_UNSET_CONTAINER));

	/* The remaining device still works, with old and new mappings. */
	edu_dma_to_dev(&self->edu[0], IOVA_A);
	edu_dma_from_dev(&self->edu[0], IOVA_B);
	ASSERT_EQ(0, memcmp(self->a, self->b, EDU_DMA_LEN));
	memset(self->c, 0, BUF_SIZE);
	test_dma_map(self->c, IOVA_C, BUF_SIZE, DMA_RW);
	edu_dma_from_dev(&self->edu[0], IOVA_C);
	ASSERT_EQ(0, memcmp(self->a, self->c, EDU_DMA_LEN));

	/*
	 * The detached group is free for a container of its own, which
	 * does not see the first container's mappings.
	 */
	container2 = open("/dev/vfio/vfio", O_RDWR);
	ASSERT_LE(0, container2);
	ASSERT_EQ(0, ioctl(self->group_fd[1], VFIO_GROUP_SET_CONTAINER,
			   &container2));
	ASSERT_EQ(0, ioctl(container2, VFIO_SET_IOMMU, variant->iommu_type));
	edu2_open(1);
	memset(self->b, 0, BUF_SIZE);
	edu_dma_from_dev(&self->edu[1], IOVA_B);
	ASSERT_TRUE(mem_is(self->b, 0, BUF_SIZE));
	edu_close(&self->edu[1]);
	close(container2);
}

/* A mapping made before a group joins is replayed into its domain. */
TEST_F(edu2, replay)
{
	if (self->skip)
		SKIP(return, "%s", self->skip);
	edu2_attach(0);
	edu2_set_iommu();
	edu2_open(0);
	fill_pattern(self->a, BUF_SIZE, 22);
	test_dma_map(self->a, IOVA_A, BUF_SIZE, DMA_RW);
	test_dma_map(self->b, IOVA_B, BUF_SIZE, DMA_RW);
	test_dma_map(self->c, IOVA_C, BUF_SIZE, DMA_R);

	edu2_attach(1);
	edu2_open(1);
	memset(self->b, 0, BUF_SIZE);
	edu_dma_to_dev(&self->edu[1], IOVA_A + SZ_4K);
	edu_dma_from_dev(&self->edu[1], IOVA_B);
	ASSERT_EQ(0, memcmp(self->a + SZ_4K, self->b, EDU_DMA_LEN));

	/* Permissions are replayed too: c stays read-only. */
	memset(self->c, 0x33, BUF_SIZE);
	edu_dma_from_dev(&self->edu[1], IOVA_C);
	ASSERT_TRUE(mem_is(self->c, 0x33, BUF_SIZE));

	/* And later unmaps reach the new domain. */
	test_dma_unmap(IOVA_B, BUF_SIZE);
	memset(self->b, 0, BUF_SIZE);
	edu_dma_from_dev(&self->edu[1], IOVA_B);
	ASSERT_TRUE(mem_is(self->b, 0, BUF_SIZE));

	/* The first device is unaffected by all this. */
	edu_dma_to_dev(&self->edu[0], IOVA_A + SZ_4K);
	edu_dma_from_dev(&self->edu[0], IOVA_A + 2 * SZ_4K);
	ASSERT_EQ(0, memcmp(self->a + SZ_4K, self->a + 2 * SZ_4K,
			    EDU_DMA_LEN));
}

TEST_HARNESS_MAIN
