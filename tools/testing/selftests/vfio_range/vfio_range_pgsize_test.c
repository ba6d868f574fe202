// SPDX-License-Identifier: GPL-2.0-only
/*
 * An IOMMU granule above PAGE_SIZE, as POWER's 64 KiB or Arm's 16/64 KiB
 * pages give and x86 guests cannot: the module's test-only min_pgsize
 * parameter (make check's vtd2m: 2 MiB on VT-d, with an ivshmem-plain BAR
 * of 64 MiB). GET_INFO reports the restricted sizes (checked against
 * type1's on the same IOMMU and against debugfs), a container without a
 * domain keeps PAGE_SIZE, RAM maps must be aligned to the granule, DMA
 * works through a granule of 4 KiB pages, TRIM rounds an ivshmem BAR
 * section to the granule (out_ fields, debugfs, and edu reading both edges
 * and being refused past them) and takes edu's 1 MiB BAR0 to nothing.
 *
 * Needs root, vfio_iommu_range.ko and vfio_range_test.ko loaded and an edu
 * device. The tests that need a granule above the page size, an ivshmem
 * device or a second edu group skip without them, saying which.
 */
#include "vfio_range_utils.h"

#define IVSHMEM_VENDOR	0x1af4
#define IVSHMEM_DEVICE	0x1110
#define IVSHMEM_BAR	VFIO_PCI_BAR2_REGION_INDEX

/* All below 256 MiB (edu's DMA addresses), aligned to granules to 64 MiB. */
#define SZ_64M		0x4000000ULL
#define IOVA_RAM	SZ_64M
#define IOVA_BAR	(2 * SZ_64M)	/* the ivshmem BAR, up to 64 MiB */
#define IOVA_EDU_BAR	(3 * SZ_64M)

#define DMA_R		VFIO_RANGE_MAP_READ
#define DMA_RW		(VFIO_RANGE_MAP_READ | VFIO_RANGE_MAP_WRITE)
#define TRIM		VFIO_RANGE_MAP_TRIM

#define NO_GRANULE	"the granule is PAGE_SIZE (load the module with min_pgsize=0x200000, make check IOMMUS=vtd2m)"

FIXTURE(pgsize)
{
	const char *skip;	/* set by the setup: every test skips */
	int container_fd;
	int group_fd;
	struct edu_info info;
	struct edu_dev edu;
	struct iommu_info iommu;
	__u64 granule;
	unsigned long min_pgsize;
	char *ram;		/* granule aligned */
	size_t ram_size;	/* 2 * half */
	__u64 half;		/* a granule, at least 64 KiB */
	/* The ivshmem device, once ivshmem_open() found one. */
	int ivs_group_fd;
	struct edu_info ivs_info;
	struct edu_dev ivs;	/* its fd; bar0 is its BAR2 here */
	char *ivs_bar;
	size_t ivs_bar_size;
};

/*
 * VFIO_SET_IOMMU of a new container with @group: 0, or the errno. Nothing
 * stays open.
 */
static int __set_iommu_errno(struct __test_metadata *_metadata, int group)
{
	int container_fd, group_fd, err = 0;

	container_fd = open("/dev/vfio/vfio", O_RDWR);
	ASSERT_LE(0, container_fd);
	group_fd = vfio_group_open(group);
	ASSERT_LE(0, group_fd);
	ASSERT_EQ(0, ioctl(group_fd, VFIO_GROUP_SET_CONTAINER, &container_fd));
	if (ioctl(container_fd, VFIO_SET_IOMMU, VFIO_RANGE_IOMMU))
		err = errno;
	close(group_fd);
	close(container_fd);
	return err;
}

#define NONE_LEFT	"min_pgsize leaves this IOMMU no page size (bare.no_page_size_left checks that)"

FIXTURE_SETUP(pgsize)
{
	self->container_fd = -1;
	self->group_fd = -1;
	self->ivs_group_fd = -1;
	edu_init(&self->edu);
	edu_init(&self->ivs);

	ASSERT_EQ(0, sysfs_read_ulong(MIN_PGSIZE_PARAM, &self->min_pgsize))
		TH_LOG("%s: %s", MIN_PGSIZE_PARAM, strerror(errno));
	__first_edu(_metadata, &self->info);
	if (self->min_pgsize > (unsigned long)getpagesize() &&
	    __set_iommu_errno(_metadata, self->info.group) == EINVAL) {
		self->skip = NONE_LEFT;
		return;
	}
	__vfio_container_setup(_metadata, self->info.group, VFIO_RANGE_IOMMU,
			       &self->container_fd, &self->group_fd);
	__edu_open(_metadata, self->group_fd, self->info.bdf, &self->edu);
	__get_iommu_info(_metadata, self->container_fd, &self->iommu);
	self->granule = self->iommu.pgsize;
	if (self->granule > SZ_64M) {
		self->skip = "granule above 64 MiB: edu cannot reach aligned IOVAs below 256 MiB";
		return;
	}

	/* Room for edu's copies within each half, whatever the granule. */
	self->half = self->granule > SZ_64K ? self->granule : SZ_64K;
	self->ram_size = 2 * self->half;
	self->ram = test_mmap_aligned(self->ram_size, self->granule,
				      PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, self->ram);
	/* CPU pages, not a huge page: the IOMMU gets 4 KiB runs to map. */
	madvise(self->ram, self->ram_size, MADV_NOHUGEPAGE);
}

FIXTURE_TEARDOWN(pgsize)
{
	if (self->ivs_bar)
		munmap(self->ivs_bar, self->ivs_bar_size);
	edu_close(&self->ivs);
	vfio_close(&self->ivs_group_fd);
	edu_close(&self->edu);
	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);
	if (self->ram)
		munmap(self->ram, self->ram_size);
}

/*
 * Puts the first ivshmem-plain device's group into the container and maps
 * its BAR2; false if there is no such device (run.sh --ivshmem).
 */
static bool __ivshmem_open(struct __test_metadata *_metadata,
			   FIXTURE_DATA(pgsize) *self)
{
	struct vfio_region_info reg;
	void *bar;
	int rc;

	if (pci_find(IVSHMEM_VENDOR, IVSHMEM_DEVICE, &self->ivs_info, 1) < 1)
		return false;
	self->ivs_group_fd = vfio_group_open(self->ivs_info.group);
	EXPECT_LE(0, self->ivs_group_fd)
		TH_LOG("open group %d: %s", self->ivs_info.group,
		       strerror(errno));
	if (self->ivs_group_fd < 0)
		return false;
	EXPECT_EQ(0, ioctl(self->ivs_group_fd, VFIO_GROUP_SET_CONTAINER,
			   &self->container_fd))
		TH_LOG("VFIO_GROUP_SET_CONTAINER: %s", strerror(errno));
	rc = edu_open_fd(&self->ivs, self->ivs_group_fd, self->ivs_info.bdf);
	EXPECT_EQ(0, rc)
		TH_LOG("device fd of %s: %s", self->ivs_info.bdf,
		       strerror(-rc));
	if (rc)
		return false;
	rc = edu_region_info(&self->ivs, IVSHMEM_BAR, &reg);
	EXPECT_EQ(0, rc);
	EXPECT_NE(0U, reg.flags & VFIO_REGION_INFO_FLAG_MMAP);
	if (rc || !(reg.flags & VFIO_REGION_INFO_FLAG_MMAP))
		return false;
	bar = mmap(NULL, reg.size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   self->ivs.fd, reg.offset);
	EXPECT_NE(MAP_FAILED, bar)
		TH_LOG("mmap BAR2: %s", strerror(errno));
	if (bar == MAP_FAILED)
		return false;
	self->ivs_bar = bar;
	self->ivs_bar_size = reg.size;
	return true;
}

#define ivshmem_open()	__ivshmem_open(_metadata, self)

static __u64 round_up_to(__u64 x, __u64 align)
{
	return (x + align - 1) & ~(align - 1);
}

/* The IOVA at or after @base with @vaddr's offset within a granule. */
static __u64 iova_like(__u64 base, const void *vaddr, __u64 granule)
{
	return base + ((uintptr_t)vaddr & (granule - 1));
}

/* ---------------------------------------------------------------------- */
/* GET_INFO                                                               */
/* ---------------------------------------------------------------------- */

/*
 * The page sizes are those of the IOMMU (type1's, on a second edu group)
 * without the ones below min_pgsize; debugfs says the same.
 */
TEST_F(pgsize, get_info)
{
	struct edu_info all[EDU_MAX];
	struct iommu_info t1;
	int t1_container = -1, t1_group = -1;
	char dir[PATH_MAX], text[4096], line[64];
	int n, i;

	SETUP_SKIPPED();
	ASSERT_EQ(0UL, self->min_pgsize & (self->min_pgsize - 1));
	ASSERT_LE((unsigned long)getpagesize(), self->min_pgsize);
	ASSERT_EQ(0ULL, self->iommu.pgsizes & (self->min_pgsize - 1));
	ASSERT_LE(self->min_pgsize, self->granule);

	if (own_container_dir(dir, sizeof(dir))) {
		snprintf(line, sizeof(line), "\npgsize_bitmap %#llx\n",
			 (unsigned long long)self->iommu.pgsizes);
		strcat(dir, "/info");
		ASSERT_LT(0, read_text(dir, text, sizeof(text)));
		ASSERT_NE(NULL, strstr(text, line))
			TH_LOG("no \"%s\" in:\n%s", line + 1, text);
	}

	if (!type1_loaded())
		SKIP(return, TYPE1_MISSING);
	n = edu_find(all, EDU_MAX);
	for (i = 1; i < n && all[i].group == self->info.group; i++)
		;
	if (i >= n)
		SKIP(return, "no second edu group for the type1 reference");
	__vfio_container_setup(_metadata, all[i].group, VFIO_TYPE1v2_IOMMU,
			       &t1_container, &t1_group);
	__get_iommu_info(_metadata, t1_container, &t1);
	vfio_close(&t1_group);
	vfio_close(&t1_container);
	EXPECT_EQ(t1.pgsizes & ~((__u64)self->min_pgsize - 1),
		  self->iommu.pgsizes)
		TH_LOG("type1 %#llx, min_pgsize %#lx",
		       (unsigned long long)t1.pgsizes, self->min_pgsize);
}

/* Without a domain (an emulated device alone) nothing is restricted. */
TEST_F(pgsize, emulated_keeps_page_size)
{
	struct iommu_info info;
	struct emu e;
	int test_fd;

	SETUP_SKIPPED();
	emu_init(&e);
	test_fd = open(VFIO_RANGE_TEST_DEV, O_RDWR);
	ASSERT_LE(0, test_fd)
		TH_LOG("open %s: %s", VFIO_RANGE_TEST_DEV, strerror(errno));
	__emu_create(_metadata, test_fd, &e);
	__get_iommu_info(_metadata, e.container_fd, &info);
	EXPECT_EQ((__u64)getpagesize(), info.pgsize);
	/* A page-aligned map goes in, whatever min_pgsize is. */
	EXPECT_EQ(0, _test_range_map(e.container_fd, (uintptr_t)self->ram,
				     IOVA_RAM + getpagesize(),
				     IOVA_RAM + 2 * getpagesize() - 1, DMA_RW))
		TH_LOG("map one page: %s", strerror(errno));
	emu_destroy(&e);
	close(test_fd);
}

/*
 * A mapping smaller than the granule stops a group with an IOMMU from
 * joining: EINVAL, and the container keeps what it had.
 */
TEST_F(pgsize, attach_needs_aligned_mappings)
{
	struct edu_info all[EDU_MAX];
	struct iommu_info info;
	int group_fd, test_fd, n, i;
	struct emu e;

	SETUP_SKIPPED();
	if (self->granule == (__u64)getpagesize())
		SKIP(return, NO_GRANULE);
	n = edu_find(all, EDU_MAX);
	for (i = 1; i < n && all[i].group == self->info.group; i++)
		;
	if (i >= n)
		SKIP(return, "no second edu group");

	emu_init(&e);
	test_fd = open(VFIO_RANGE_TEST_DEV, O_RDWR);
	ASSERT_LE(0, test_fd);
	__emu_create(_metadata, test_fd, &e);
	ASSERT_EQ(0, _test_range_map(e.container_fd, (uintptr_t)self->ram,
				     IOVA_RAM, IOVA_RAM + getpagesize() - 1,
				     DMA_RW));
	group_fd = vfio_group_open(all[i].group);
	ASSERT_LE(0, group_fd);
	EXPECT_EQ(-1, ioctl(group_fd, VFIO_GROUP_SET_CONTAINER,
			    &e.container_fd));
	EXPECT_EQ(EINVAL, errno);
	__get_iommu_info(_metadata, e.container_fd, &info);
	EXPECT_EQ((__u64)getpagesize(), info.pgsize);
	EXPECT_EQ(1, vrange_nr_mappings(e.container_fd));

	/* Once the small mapping is gone, the group joins. */
	EXPECT_EQ(0, _test_range_unmap(e.container_fd, IOVA_RAM,
				       IOVA_RAM + getpagesize() - 1, 0, NULL));
	EXPECT_EQ(0, ioctl(group_fd, VFIO_GROUP_SET_CONTAINER,
			   &e.container_fd))
		TH_LOG("VFIO_GROUP_SET_CONTAINER: %s", strerror(errno));
	__get_iommu_info(_metadata, e.container_fd, &info);
	EXPECT_EQ(self->granule, info.pgsize);
	close(group_fd);
	emu_destroy(&e);
	close(test_fd);
}

/* ---------------------------------------------------------------------- */
/* RAM                                                                    */
/* ---------------------------------------------------------------------- */

/* Aligned to CPU pages but not to the granule: EINVAL, nothing mapped. */
TEST_F(pgsize, ram_misaligned)
{
	const __u64 g = self->granule, pg = getpagesize();
	char *ram = self->ram;

	SETUP_SKIPPED();
	if (g == pg)
		SKIP(return, NO_GRANULE);
	test_err_range_map(EINVAL, ram + pg, IOVA_RAM, IOVA_RAM + g - 1);
	test_err_range_map(EINVAL, ram, IOVA_RAM + pg, IOVA_RAM + g + pg - 1);
	test_err_range_map(EINVAL, ram, IOVA_RAM, IOVA_RAM + g - pg - 1);
	test_err_range_map(EINVAL, ram, IOVA_RAM, IOVA_RAM + g + pg - 1);
	/* Same offset in IOVA and memory: still not a granule. */
	test_err_range_map(EINVAL, ram + pg, IOVA_RAM + pg,
			   IOVA_RAM + 2 * g - 1);
	/* TRIM is for device memory only. */
	test_err_range_map_flags(EINVAL, ram + pg, IOVA_RAM + pg,
				 IOVA_RAM + 2 * g - 1, DMA_RW | TRIM);
	ASSERT_EQ(0, vrange_nr_mappings(self->container_fd));
	ASSERT_PINNED_PAGES(0);

	test_range_map(ram, IOVA_RAM, IOVA_RAM + 2 * g - 1);
	ASSERT_PINNED_PAGES(2 * g / pg);
	test_range_unmap(IOVA_RAM, IOVA_RAM + 2 * g - 1, 2 * g);
}

/*
 * edu copies through a mapping of two granules (or 64 KiB halves) made of
 * CPU pages that need not be contiguous: from the first half to the
 * second, at the start, across the middle and at the end of a half.
 */
TEST_F(pgsize, dma_through_granule)
{
	const __u64 half = self->half;
	const __u64 offs[] = { 0, half / 2 + 8, half - EDU_DMA_LEN };
	char *ram = self->ram;
	unsigned int i;

	SETUP_SKIPPED();
	fill_pattern(ram, half, 0x9a5);
	memset(ram + half, 0, half);
	test_range_map(ram, IOVA_RAM, IOVA_RAM + 2 * half - 1);
	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		edu_dma_to_dev(&self->edu, IOVA_RAM + offs[i]);
		edu_dma_from_dev(&self->edu, IOVA_RAM + half + offs[i]);
		ASSERT_EQ(0, memcmp(ram + offs[i], ram + half + offs[i],
				    EDU_DMA_LEN))
			TH_LOG("copy at offset %#llx",
			       (unsigned long long)offs[i]);
	}
	test_range_unmap(IOVA_RAM, IOVA_RAM + 2 * half - 1, 2 * half);
}

/* ---------------------------------------------------------------------- */
/* Device memory: TRIM rounds to the granule                              */
/* ---------------------------------------------------------------------- */

/* edu's 1 MiB BAR0 holds no whole granule of 2 MiB or more. */
TEST_F(pgsize, edu_bar_below_granule)
{
	const __u64 start = iova_like(IOVA_EDU_BAR, self->edu.bar0,
				      self->granule);
	const __u64 last = start + self->edu.bar0_size - 1;
	struct vfio_range_map out;

	SETUP_SKIPPED();
	if (self->granule <= self->edu.bar0_size)
		SKIP(return, "granule %#llx not above edu's BAR0 (%#zx): " NO_GRANULE,
		     (unsigned long long)self->granule, self->edu.bar0_size);

	test_err_range_map_flags(EINVAL, self->edu.bar0, start, last, DMA_R);
	ASSERT_EQ(0, vrange_nr_mappings(self->container_fd));

	ASSERT_EQ(0, _test_range_map_out(self->container_fd,
					 (uintptr_t)self->edu.bar0, start,
					 last, DMA_R | TRIM, &out))
		TH_LOG("TRIM map of BAR0: %s", strerror(errno));
	EXPECT_EQ((__u32)VFIO_RANGE_MAP_OUT_EMPTY, out.out_flags);
	EXPECT_EQ(0ULL, out.out_start);
	EXPECT_EQ(0ULL, out.out_last);
	/* Held, though nothing is mapped; unmapping it unmaps 0 bytes. */
	ASSERT_EQ(1, vrange_nr_mappings(self->container_fd));
	test_range_unmap(start, last, 0);
	ASSERT_EQ(0, vrange_nr_mappings(self->container_fd));
}

/*
 * A section of the ivshmem BAR with unaligned edges maps the granules
 * inside it, exactly: the out_ fields, the debugfs line (range and first
 * PFN) and edu, which reads the first and last word mapped and is refused
 * just outside.
 */
/*
 * Writes @val into the BAR word at IOVA @iova of the section (user address
 * vaddr for IOVA start) and has edu read that IOVA; the word it got.
 */
#define plant_and_read(iova, val)					\
	({								\
		*(volatile __u32 *)(vaddr + ((iova) - start)) = (val);	\
		__edu_p2p_read(_metadata, &self->edu,			\
			       (volatile __u32 *)self->ram, IOVA_RAM,	\
			       iova);					\
	})

TEST_F(pgsize, ivshmem_trim)
{
	const __u64 g = self->granule, pg = getpagesize();
	__u64 start, last, exp_start, exp_last;
	unsigned long long phys;
	struct vfio_range_map out;
	char dir[PATH_MAX], text[4096], line[256];
	char *vaddr;

	SETUP_SKIPPED();
	if (!ivshmem_open())
		SKIP(return, "no ivshmem-plain device (%04x:%04x; run.sh --ivshmem 64M)",
		     IVSHMEM_VENDOR, IVSHMEM_DEVICE);
	if (self->ivs_bar_size < 3 * g || self->ivs_bar_size > SZ_64M)
		SKIP(return, "ivshmem BAR of %#zx: want 3 granules to 64 MiB",
		     self->ivs_bar_size);
	phys = pci_bar_phys(self->ivs_info.bdf, IVSHMEM_BAR);
	ASSERT_NE(0ULL, phys);

	/* Three pages in, five pages short of the end. */
	vaddr = self->ivs_bar + 3 * pg;
	start = iova_like(IOVA_BAR, vaddr, g);
	last = start + self->ivs_bar_size - 8 * pg - 1;
	exp_start = round_up_to(start, g);
	exp_last = ((last + 1) & ~(g - 1)) - 1;

	/* IOVA and address at different offsets in a granule: EINVAL. */
	if (g > pg) {
		test_err_range_map_flags(EINVAL, vaddr, start + pg,
					 last + pg, DMA_R | TRIM);
		ASSERT_EQ(0, vrange_nr_mappings(self->container_fd));
	}
	/* Without TRIM the unaligned section is refused. */
	test_err_range_map_flags(EINVAL, vaddr, start, last, DMA_R);
	ASSERT_EQ(0, vrange_nr_mappings(self->container_fd));

	ASSERT_EQ(0, _test_range_map_out(self->container_fd, (uintptr_t)vaddr,
					 start, last, DMA_R | TRIM, &out))
		TH_LOG("TRIM map: %s", strerror(errno));
	ASSERT_EQ(0U, out.out_flags);
	ASSERT_EQ(exp_start, out.out_start);
	ASSERT_EQ(exp_last, out.out_last);

	if (own_container_dir(dir, sizeof(dir))) {
		strcat(dir, "/mappings");
		ASSERT_LT(0, read_text(dir, text, sizeof(text)));
		snprintf(line, sizeof(line),
			 "%#llx-%#llx mapped %#llx-%#llx mmio r- pfn %#llx live\n",
			 (unsigned long long)start, (unsigned long long)last,
			 (unsigned long long)exp_start,
			 (unsigned long long)exp_last,
			 (phys + 3 * pg + (exp_start - start)) / pg);
		ASSERT_STREQ(line, text);
	}

	/* edu reads the BAR through the IOMMU: RAM takes its result. */
	test_range_map(self->ram, IOVA_RAM, IOVA_RAM + g - 1);
	ASSERT_EQ(0x5a5a0001U, plant_and_read(exp_start, 0x5a5a0001U));
	ASSERT_EQ(0x5a5a0002U, plant_and_read(exp_last - 3, 0x5a5a0002U));
	/* The trimmed-off edges are not mapped: edu does not get there. */
	ASSERT_NE(0x5a5a0003U, plant_and_read(exp_start - 4, 0x5a5a0003U));
	ASSERT_NE(0x5a5a0004U, plant_and_read(exp_last + 1, 0x5a5a0004U));

	test_range_unmap(IOVA_RAM, IOVA_RAM + g - 1, g);
	test_range_unmap(start, last, exp_last - exp_start + 1);
	ASSERT_EQ(0, vrange_nr_mappings(self->container_fd));
}

/*
 * A min_pgsize above every page size of the IOMMU (type1's, which it does
 * not restrict): VFIO_SET_IOMMU fails with EINVAL, and the group is free
 * again for type1 afterwards.
 */
/* No fixture: the container must not be set up beforehand. */
FIXTURE(bare)
{
};

FIXTURE_SETUP(bare)
{
}

FIXTURE_TEARDOWN(bare)
{
}

TEST_F(bare, no_page_size_left)
{
	struct iommu_info t1;
	struct edu_info info;
	unsigned long min_pgsize;
	int container_fd = -1, group_fd = -1;

	ASSERT_EQ(0, sysfs_read_ulong(MIN_PGSIZE_PARAM, &min_pgsize));
	if (!type1_loaded())
		SKIP(return, TYPE1_MISSING);
	__first_edu(_metadata, &info);
	__vfio_container_setup(_metadata, info.group, VFIO_TYPE1v2_IOMMU,
			       &container_fd, &group_fd);
	__get_iommu_info(_metadata, container_fd, &t1);
	vfio_close(&group_fd);
	vfio_close(&container_fd);
	if (t1.pgsizes & ~((__u64)min_pgsize - 1))
		SKIP(return, "min_pgsize %#lx leaves page sizes of %#llx (load with min_pgsize=0x80000000 on VT-d)",
		     min_pgsize, (unsigned long long)t1.pgsizes);

	ASSERT_EQ(EINVAL, __set_iommu_errno(_metadata, info.group));
	/* Nothing of the failed attach is left: type1 takes the group. */
	__vfio_container_setup(_metadata, info.group, VFIO_TYPE1v2_IOMMU,
			       &container_fd, &group_fd);
	vfio_close(&group_fd);
	vfio_close(&container_fd);
}

TEST_HARNESS_MAIN
