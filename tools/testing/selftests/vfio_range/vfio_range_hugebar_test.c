// SPDX-License-Identifier: GPL-2.0-only
/*
 * A large BAR: ivshmem-plain's BAR2 (run.sh --ivshmem 1G), mmapped at an
 * address aligned to its size up to 1 GiB, so that vfio-pci on 6.12 maps
 * it with PUD or PMD entries (6.1 uses 4 KiB PTEs). The module maps the
 * whole BAR with one iommu_map() (debugfs counters), with the PFNs of the
 * BAR (debugfs "pfn", checked against sysfs), also from inside a huge
 * entry for a TRIM request with unaligned edges, and revokes it when the
 * user loses access (munmap, mprotect, memory decode disabled).
 *
 * Needs root, vfio_iommu_range.ko loaded and debugfs; skips without an
 * ivshmem-plain device, or with min_pgsize above PAGE_SIZE (offsets are in
 * 4 KiB pages).
 */
#include "vfio_range_utils.h"

#define IVSHMEM_VENDOR	0x1af4
#define IVSHMEM_DEVICE	0x1110
#define IVSHMEM_BAR	VFIO_PCI_BAR2_REGION_INDEX

#define SZ_1G		0x40000000ULL
#define IOVA_BAR	SZ_1G		/* 1 GiB aligned: IOMMU superpages */

#define DMA_R		VFIO_RANGE_MAP_READ
#define DMA_RW		(VFIO_RANGE_MAP_READ | VFIO_RANGE_MAP_WRITE)

FIXTURE(hugebar)
{
	const char *skip;	/* set by the setup: every test skips */
	int container_fd;
	int group_fd;
	struct edu_info info;
	struct edu_dev ivs;
	struct vfio_region_info reg;
	unsigned long long phys;	/* BAR2's bus address */
	char *resv;			/* the PROT_NONE reservation */
	size_t resv_size;
	char *bar;			/* BAR2, aligned inside resv */
	char dir[PATH_MAX];		/* the container's debugfs dir */
};

/* The largest power of two that divides @size, at most 1 GiB. */
static __u64 bar_align(__u64 size)
{
	__u64 a = size & -size;

	return a > SZ_1G ? SZ_1G : a;
}

FIXTURE_SETUP(hugebar)
{
	__u64 align;
	size_t off;
	int rc;

	self->container_fd = -1;
	self->group_fd = -1;
	edu_init(&self->ivs);
	SETUP_SKIP_IF_GRANULE();

	if (pci_find(IVSHMEM_VENDOR, IVSHMEM_DEVICE, &self->info, 1) < 1) {
		self->skip = "no ivshmem-plain device (1af4:1110; run.sh --ivshmem 1G)";
		return;
	}
	__vfio_container_setup(_metadata, self->info.group, VFIO_RANGE_IOMMU,
			       &self->container_fd, &self->group_fd);
	rc = edu_open_fd(&self->ivs, self->group_fd, self->info.bdf);
	ASSERT_EQ(0, rc) TH_LOG("device fd of %s: %s", self->info.bdf,
				strerror(-rc));
	ASSERT_EQ(0, edu_region_info(&self->ivs, IVSHMEM_BAR, &self->reg));
	ASSERT_NE(0U, self->reg.flags & VFIO_REGION_INFO_FLAG_MMAP);
	ASSERT_EQ(0, edu_enable_master(&self->ivs));
	self->phys = pci_bar_phys(self->info.bdf, IVSHMEM_BAR);
	ASSERT_NE(0ULL, self->phys);
	ASSERT_TRUE(own_container_dir(self->dir, sizeof(self->dir)));

	/* Reserve twice the size, put the BAR at an aligned address in it. */
	align = bar_align(self->reg.size);
	self->resv_size = self->reg.size + align;
	self->resv = mmap(NULL, self->resv_size, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->resv);
	off = (align - ((uintptr_t)self->resv & (align - 1))) & (align - 1);
	self->bar = mmap(self->resv + off, self->reg.size,
			 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			 self->ivs.fd, self->reg.offset);
	ASSERT_EQ(self->resv + off, self->bar)
		TH_LOG("mmap BAR2: %s", strerror(errno));
	/* Prefault: one touch per 2 MiB (a PUD fault maps 1 GiB at once). */
	for (off = 0; off < self->reg.size; off += SZ_2M)
		(void)*(volatile char *)(self->bar + off);
}

FIXTURE_TEARDOWN(hugebar)
{
	if (self->resv)
		munmap(self->resv, self->resv_size);
	edu_close(&self->ivs);
	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);
}

static long long counter(struct __test_metadata *_metadata, const char *name)
{
	long long v = -1;

	ASSERT_EQ(0, vrange_counter(name, &v))
		TH_LOG("%s %s: %s", VFIO_RANGE_COUNTERS, name, strerror(errno));
	return v;
}

#define COUNTER(name)	counter(_metadata, name)

/* The container's only mapping line, from debugfs, in @text. */
static void __mappings(struct __test_metadata *_metadata,
		       FIXTURE_DATA(hugebar) *self, char *text, size_t size)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/mappings", self->dir);
	ASSERT_LT(0, read_text(path, text, size));
}

#define mappings(text)	__mappings(_metadata, self, text, sizeof(text))

/*
 * Maps [IOVA_BAR + @off, + @len) from the BAR with @flags, checks it took
 * one iommu_map() of @len bytes with the BAR's PFNs, one run, live.
 */
static void __map_checked(struct __test_metadata *_metadata,
			  FIXTURE_DATA(hugebar) *self, __u64 off, __u64 len,
			  __u32 flags)
{
	long long calls = COUNTER("iommu_map_calls");
	long long bytes = COUNTER("iommu_mapped_bytes");
	char text[512], line[256];
	__u64 start = IOVA_BAR + off, last = start + len - 1;

	test_range_map_flags(self->bar + off, start, last, flags);
	ASSERT_EQ(calls + 1, COUNTER("iommu_map_calls"));
	ASSERT_EQ(bytes + (long long)len, COUNTER("iommu_mapped_bytes"));
	mappings(text);
	snprintf(line, sizeof(line),
		 "%#llx-%#llx mapped %#llx-%#llx mmio %s pfn %#llx live\n",
		 (unsigned long long)start, (unsigned long long)last,
		 (unsigned long long)start, (unsigned long long)last,
		 flags & VFIO_RANGE_MAP_WRITE ? "rw" : "r-",
		 (self->phys + off) / SZ_4K);
	ASSERT_STREQ(line, text);
}

#define map_checked(off, len, flags) \
	__map_checked(_metadata, self, off, len, flags)

/* The whole BAR: one iommu_map(), one unmap that removes all of it. */
TEST_F(hugebar, whole_bar)
{
	__u64 size = self->reg.size;

	SETUP_SKIPPED();
	map_checked(0, size, DMA_RW);
	/* Its extent is taken, at every offset. */
	test_err_range_map_flags(EEXIST, self->bar, IOVA_BAR,
				 IOVA_BAR + SZ_4K - 1, DMA_R);
	test_err_range_map_flags(EEXIST, self->bar + size - SZ_4K,
				 IOVA_BAR + size - SZ_4K,
				 IOVA_BAR + size - 1, DMA_R);
	/* Unmapping a part is a straddle, and removes nothing. */
	test_err_range_unmap(EINVAL, IOVA_BAR + SZ_2M, IOVA_BAR + size - 1);
	ASSERT_EQ(1, vrange_nr_mappings(self->container_fd));
	test_range_unmap(IOVA_BAR, IOVA_BAR + size - 1, size);
	test_range_empty();
}

/* A range past the end of the BAR mapping: EINVAL, nothing mapped. */
TEST_F(hugebar, past_the_bar)
{
	long long calls = COUNTER("iommu_map_calls");

	SETUP_SKIPPED();
	test_err_range_map_flags(EINVAL, self->bar + SZ_2M, IOVA_BAR,
				 IOVA_BAR + self->reg.size - 1, DMA_R);
	ASSERT_EQ(0, vrange_nr_mappings(self->container_fd));
	ASSERT_EQ(calls, COUNTER("iommu_map_calls"));
}

/*
 * Sub-ranges that start and end inside huge entries: the PFNs are those at
 * their offsets in the BAR, still one run.
 */
TEST_F(hugebar, sub_ranges)
{
	__u64 size = self->reg.size;

	SETUP_SKIPPED();
	if (size < 8 * SZ_2M)
		SKIP(return, "BAR2 of %#llx: want 16 MiB",
		     (unsigned long long)size);
	/* Across a 2 MiB edge, from the middle of one entry. */
	map_checked(SZ_1M + SZ_4K, 2 * SZ_2M, DMA_R);
	test_range_unmap(IOVA_BAR + SZ_1M + SZ_4K,
			 IOVA_BAR + SZ_1M + SZ_4K + 2 * SZ_2M - 1, 2 * SZ_2M);
	/* The last 4 KiB page alone. */
	map_checked(size - SZ_4K, SZ_4K, DMA_RW);
	test_range_unmap(IOVA_BAR + size - SZ_4K, IOVA_BAR + size - 1, SZ_4K);
	test_range_empty();
}

/*
 * TRIM of a section with unaligned edges (device-memory.rst): the aligned
 * interior is mapped, from the matching PFN, with one iommu_map().
 */
TEST_F(hugebar, trim_unaligned)
{
	__u64 size = self->reg.size;
	__u64 start = IOVA_BAR + 0x1800, last = IOVA_BAR + size - 0x800 - 1;
	__u64 exp_start = IOVA_BAR + 0x2000, exp_last = last - 0x800;
	long long calls = COUNTER("iommu_map_calls");
	struct vfio_range_map out;
	char text[512], line[256];

	SETUP_SKIPPED();
	ASSERT_EQ(0, _test_range_map_out(self->container_fd,
					 (uintptr_t)self->bar + 0x1800, start,
					 last, DMA_R | VFIO_RANGE_MAP_TRIM,
					 &out))
		TH_LOG("TRIM map: %s", strerror(errno));
	ASSERT_EQ(0U, out.out_flags);
	ASSERT_EQ(exp_start, out.out_start);
	ASSERT_EQ(exp_last, out.out_last);
	ASSERT_EQ(calls + 1, COUNTER("iommu_map_calls"));
	mappings(text);
	snprintf(line, sizeof(line),
		 "%#llx-%#llx mapped %#llx-%#llx mmio r- pfn %#llx live\n",
		 (unsigned long long)start, (unsigned long long)last,
		 (unsigned long long)exp_start, (unsigned long long)exp_last,
		 (self->phys + 0x2000) / SZ_4K);
	ASSERT_STREQ(line, text);
	/* The interior alone is a straddle; the section's range unmaps it. */
	test_err_range_unmap(EINVAL, exp_start, exp_last);
	test_range_unmap(start, last, exp_last - exp_start + 1);
	test_range_empty();
}

/* The state word at the end of the container's only mapping line. */
static bool __revoked(struct __test_metadata *_metadata,
		      FIXTURE_DATA(hugebar) *self)
{
	char text[512];

	mappings(text);
	return strstr(text, " revoked\n");
}

#define revoked()	__revoked(_metadata, self)

/*
 * munmap of the whole BAR mapping revokes the request; the BAR mmapped
 * again maps anew. (Not a munmap of part of it: splitting a PUD-mapped
 * PFN map VMA oopses 6.12 in __split_huge_pmd(), without this module.)
 */
TEST_F(hugebar, revoke_munmap)
{
	__u64 size = self->reg.size;
	long long revs = COUNTER("revocations");
	char *bar;

	SETUP_SKIPPED();
	map_checked(0, size, DMA_RW);
	ASSERT_FALSE(revoked());
	ASSERT_EQ(0, munmap(self->bar, size));
	ASSERT_TRUE(revoked());
	ASSERT_EQ(revs + 1, COUNTER("revocations"));
	/* Still recorded: its extent is taken, unmap reports it whole. */
	test_err_range_map_flags(EEXIST, self->resv, IOVA_BAR,
				 IOVA_BAR + SZ_4K - 1, DMA_R);
	/* Nothing but the reservation there now. */
	test_err_range_map_flags(EFAULT, self->bar, IOVA_BAR + size,
				 IOVA_BAR + size + SZ_4K - 1, DMA_R);
	test_range_unmap(0, U64_MAX, size);

	bar = mmap(self->bar, size, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_FIXED, self->ivs.fd, self->reg.offset);
	ASSERT_EQ(self->bar, bar);
	map_checked(0, size, DMA_RW);
	test_range_unmap(0, U64_MAX, size);
}

/*
 * mprotect(PROT_READ) of the whole BAR mapping revokes a READ|WRITE
 * request, not a READ one.
 */
TEST_F(hugebar, revoke_mprotect)
{
	__u64 size = self->reg.size;
	long long revs = COUNTER("revocations");

	SETUP_SKIPPED();
	map_checked(0, size, DMA_R);
	ASSERT_EQ(0, mprotect(self->bar, size, PROT_READ));
	ASSERT_FALSE(revoked());
	ASSERT_EQ(revs, COUNTER("revocations"));
	test_range_unmap(0, U64_MAX, size);
	/* Read-only now: a WRITE request is refused, nothing mapped. */
	test_err_range_map_flags(EFAULT, self->bar, IOVA_BAR,
				 IOVA_BAR + size - 1, DMA_RW);
	ASSERT_EQ(0, vrange_nr_mappings(self->container_fd));

	ASSERT_EQ(0, mprotect(self->bar, size, PROT_READ | PROT_WRITE));
	map_checked(0, size, DMA_RW);
	ASSERT_EQ(0, mprotect(self->bar, size, PROT_READ));
	ASSERT_TRUE(revoked());
	ASSERT_EQ(revs + 1, COUNTER("revocations"));
	test_range_unmap(0, U64_MAX, size);
}

/* vfio-pci zaps its huge mappings when memory decode goes: revoked. */
TEST_F(hugebar, revoke_decode_off)
{
	__u64 size = self->reg.size;
	off_t off = self->ivs.config_offset + PCI_COMMAND;
	long long revs = COUNTER("revocations");
	__u16 cmd;

	SETUP_SKIPPED();
	map_checked(0, size, DMA_R);
	ASSERT_EQ(2, pread(self->ivs.fd, &cmd, 2, off));
	cmd &= ~PCI_COMMAND_MEMORY;
	ASSERT_EQ(2, pwrite(self->ivs.fd, &cmd, 2, off));
	ASSERT_TRUE(revoked());
	ASSERT_EQ(revs + 1, COUNTER("revocations"));
	/* Decode off: the pages cannot be faulted in, EFAULT. */
	test_err_range_map_flags(EFAULT, self->bar, IOVA_BAR + size,
				 IOVA_BAR + 2 * size - 1, DMA_R);
	cmd |= PCI_COMMAND_MEMORY;
	ASSERT_EQ(2, pwrite(self->ivs.fd, &cmd, 2, off));
	/* Back on: unmap the old request, a new one maps (faulting in). */
	test_range_unmap(0, U64_MAX, size);
	map_checked(0, size, DMA_R);
	test_range_unmap(0, U64_MAX, size);
}

TEST_HARNESS_MAIN
