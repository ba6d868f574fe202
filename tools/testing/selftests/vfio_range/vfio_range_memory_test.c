// SPDX-License-Identifier: GPL-2.0-only
/*
 * The module's memory does not grow with the pages it maps (issue 16):
 *
 *  - a RAM mapping in a container with an IOMMU domain keeps no page
 *    record (record_bytes does not move, Slab + VmallocUsed grow by far
 *    less than a pointer per page beyond what type1 costs in the same
 *    IOMMU, whose driver may keep state per map call) and is mapped with
 *    one iommu_map() per physically contiguous run of its pages, as
 *    /proc/self/pagemap shows them, even on deliberately fragmented
 *    memory;
 *  - a container with only an emulated device keeps a record, which an
 *    emulated device reads through, and keeps it when an IOMMU group
 *    joins; a mapping made then has none, and when that group leaves, its
 *    domain stays as that mapping's record until the mapping goes.
 *
 * Needs root, both modules loaded, debugfs and an edu device.
 */
#include "vfio_range_utils.h"

#define IOVA_BIG	0x10000000ULL
#define BIG_SIZE	(256 * SZ_1M)
/* Freed every other page, so the big buffer gets scattered pages. */
#define SCRATCH_SIZE	(2 * BIG_SIZE)
#define IOVA_EMU	0x400000ULL
#define EMU_SIZE	(4 * SZ_1M)
/* Old code kept 8 bytes a page: 512 KiB for BIG_SIZE. */
#define BIG_BUDGET_KB	128

static long long counter(struct __test_metadata *_metadata, const char *name)
{
	long long v = -1;

	ASSERT_EQ(0, vrange_counter(name, &v))
		TH_LOG("%s: %s", name, strerror(errno));
	return v;
}

/* Slab + VmallocUsed from /proc/meminfo, in KiB. */
static long long slab_vmalloc_kb(struct __test_metadata *_metadata)
{
	long long slab = -1, vmalloc = -1, v;
	char line[256], key[64];
	FILE *f = fopen("/proc/meminfo", "r");

	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %lld", key, &v) != 2)
			continue;
		if (!strcmp(key, "Slab:"))
			slab = v;
		else if (!strcmp(key, "VmallocUsed:"))
			vmalloc = v;
	}
	fclose(f);
	ASSERT_LE(0, slab);
	ASSERT_LE(0, vmalloc);
	return slab + vmalloc;
}

/*
 * What mapping [buf, + size) costs in Slab + VmallocUsed under type1 in a
 * container of its own, with @group moved there: the IOMMU driver's own
 * state (virtio-iommu keeps a node per map call), which any backend pays.
 * 0 without type1.
 */
static long long type1_map_kb(struct __test_metadata *_metadata, int group,
			      char *buf, size_t size)
{
	int container_fd = -1, group_fd = -1;
	long long mem0, mem1;
	__u64 unmapped = 0;

	if (!type1_loaded())
		return 0;
	__vfio_container_setup(_metadata, group, VFIO_TYPE1v2_IOMMU,
			       &container_fd, &group_fd);
	mem0 = slab_vmalloc_kb(_metadata);
	ASSERT_EQ(0, _test_type1_map(container_fd, (uintptr_t)buf, IOVA_BIG,
				     size, VFIO_DMA_MAP_FLAG_READ |
				     VFIO_DMA_MAP_FLAG_WRITE));
	mem1 = slab_vmalloc_kb(_metadata);
	ASSERT_EQ(0, _test_type1_unmap(container_fd, IOVA_BIG, size,
				       &unmapped));
	ASSERT_EQ(size, unmapped);
	vfio_close(&group_fd);
	vfio_close(&container_fd);
	return mem1 - mem0;
}

/* Physically contiguous runs of [buf, + size), from /proc/self/pagemap. */
static long count_runs(struct __test_metadata *_metadata, const char *buf,
		       size_t size)
{
	size_t npages = size / SZ_4K, i;
	uint64_t *pm = malloc(npages * sizeof(*pm)), prev = 0;
	long runs = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	ASSERT_NE(NULL, pm);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)(npages * sizeof(*pm)),
		  pread(fd, pm, npages * sizeof(*pm),
			(uintptr_t)buf / SZ_4K * sizeof(*pm)));
	close(fd);
	for (i = 0; i < npages; i++) {
		uint64_t pfn = pm[i] & ((1ULL << 55) - 1);

		ASSERT_TRUE(pm[i] >> 63) TH_LOG("page %zu not present", i);
		ASSERT_NE(0, pfn) TH_LOG("no PFN (not root?)");
		if (!i || pfn != prev + 1)
			runs++;
		prev = pfn;
	}
	free(pm);
	return runs;
}

FIXTURE(domain) {
	int container_fd;
	int group_fd;
	char *big;
	const char *skip;
};

FIXTURE_SETUP(domain)
{
	char *scratch;
	size_t off;

	self->container_fd = -1;
	self->group_fd = -1;
	SETUP_SKIP_IF_GRANULE();
	__vfio_container_setup(_metadata, first_edu_group(_metadata),
			       VFIO_RANGE_IOMMU, &self->container_fd,
			       &self->group_fd);

	scratch = test_mmap(SCRATCH_SIZE, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, scratch);
	ASSERT_EQ(0, madvise(scratch, SCRATCH_SIZE, MADV_NOHUGEPAGE));
	memset(scratch, 1, SCRATCH_SIZE);
	for (off = 0; off < SCRATCH_SIZE; off += 2 * SZ_4K)
		ASSERT_EQ(0, madvise(scratch + off, SZ_4K, MADV_DONTNEED));
	self->big = test_mmap(BIG_SIZE, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, self->big);
	ASSERT_EQ(0, madvise(self->big, BIG_SIZE, MADV_NOHUGEPAGE));
	memset(self->big, 2, BIG_SIZE);
	ASSERT_EQ(0, munmap(scratch, SCRATCH_SIZE));
}

FIXTURE_TEARDOWN(domain)
{
	if (self->big)
		munmap(self->big, BIG_SIZE);
	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);
}

/* 256 MiB of scattered 4 KiB pages: no per-page state, a map call a run. */
TEST_F(domain, no_record_and_a_map_call_per_run)
{
	long long rec0, calls0, pinned0, mem0, mem1, t1;
	long runs;

	SETUP_SKIPPED();
	rec0 = counter(_metadata, "record_bytes");
	calls0 = counter(_metadata, "iommu_map_calls");
	pinned0 = counter(_metadata, "pinned_pages");
	mem0 = slab_vmalloc_kb(_metadata);
	test_range_map(self->big, IOVA_BIG, IOVA_BIG + BIG_SIZE - 1);
	mem1 = slab_vmalloc_kb(_metadata);
	/* Pinned pages stay where they are: count their runs now. */
	runs = count_runs(_metadata, self->big, BIG_SIZE);
	/* Fragmented indeed: far more runs than 2 MiB blocks. */
	ASSERT_LT((long)(BIG_SIZE / SZ_2M), runs);

	EXPECT_EQ(rec0, counter(_metadata, "record_bytes"));
	EXPECT_EQ(calls0 + runs, counter(_metadata, "iommu_map_calls"));
	EXPECT_EQ(pinned0 + (long long)(BIG_SIZE / SZ_4K),
		  counter(_metadata, "pinned_pages"));

	test_range_unmap(IOVA_BIG, IOVA_BIG + BIG_SIZE - 1, BIG_SIZE);
	EXPECT_EQ(pinned0, counter(_metadata, "pinned_pages"));
	EXPECT_EQ(rec0, counter(_metadata, "record_bytes"));

	/* The budget is for this module's state, over the IOMMU driver's. */
	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);
	t1 = type1_map_kb(_metadata, first_edu_group(_metadata), self->big,
			  BIG_SIZE);
	EXPECT_GT(BIG_BUDGET_KB, mem1 - mem0 - t1)
		TH_LOG("Slab + VmallocUsed grew by %lld KiB, under type1 by %lld",
		       mem1 - mem0, t1);
	TH_LOG("%ld runs; Slab + VmallocUsed %+lld KiB, under type1 %+lld",
	       runs, mem1 - mem0, t1);
}

FIXTURE(emu_record) {
	int test_fd;
	struct emu e;
	int container_fd;
	int edu_fd;
	char *buf;
	const char *skip;
};

FIXTURE_SETUP(emu_record)
{
	size_t i;

	self->edu_fd = -1;
	self->test_fd = -1;
	emu_init(&self->e);
	SETUP_SKIP_IF_GRANULE();
	self->test_fd = open(VFIO_RANGE_TEST_DEV, O_RDWR);
	ASSERT_LE(0, self->test_fd)
		TH_LOG("open %s: %s", VFIO_RANGE_TEST_DEV, strerror(errno));
	__emu_create(_metadata, self->test_fd, &self->e);
	self->container_fd = self->e.container_fd;
	self->buf = test_mmap(2 * EMU_SIZE, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, self->buf);
	for (i = 0; i < 2 * EMU_SIZE; i++)
		self->buf[i] = (char)(i * 7 + i / SZ_4K);
}

FIXTURE_TEARDOWN(emu_record)
{
	vfio_close(&self->edu_fd);
	emu_destroy(&self->e);
	if (self->buf)
		munmap(self->buf, 2 * EMU_SIZE);
	if (self->test_fd >= 0)
		close(self->test_fd);
}

/* The emulated device reads [iova, + 64) and compares it with the buffer. */
#define ASSERT_EMU_READS(iova)						\
	do {								\
		char __got[64];						\
		ASSERT_EQ(0, _emu_rw(self->test_fd, self->e.id, (iova),	\
				     __got, sizeof(__got), false))	\
			TH_LOG("EMUDEV_RW: %s", strerror(errno));	\
		ASSERT_EQ(0, memcmp(__got,				\
				    self->buf + ((iova) - IOVA_EMU),	\
				    sizeof(__got)));			\
	} while (0)

/* The emulated device pins and unpins the page at @iova. */
#define ASSERT_EMU_PINS(iova)						\
	do {								\
		ASSERT_EQ(0, _emu_pin(self->test_fd, self->e.id, (iova), 1, \
				      RANGE_RW))			\
			TH_LOG("EMUDEV_PIN: %s", strerror(errno));	\
		ASSERT_EQ(0, _emu_unpin(self->test_fd, self->e.id, (iova), \
					1));				\
	} while (0)

TEST_F(emu_record, record_kept_then_kept_domain)
{
	int fd = self->container_fd, edu_group;
	__u64 iova = IOVA_EMU + 37 * SZ_4K + 100;
	long long rec0, rec1, pinned0;

	SETUP_SKIPPED();
	rec0 = counter(_metadata, "record_bytes");
	pinned0 = counter(_metadata, "pinned_pages");
	test_range_map(self->buf, IOVA_EMU, IOVA_EMU + EMU_SIZE - 1);
	/* No domain: the PFNs are kept, in chunks. */
	EXPECT_LT(rec0, counter(_metadata, "record_bytes"));
	ASSERT_EMU_READS(iova);
	ASSERT_EMU_PINS(IOVA_EMU + SZ_1M);

	/* An IOMMU group joins: the record stays, the second half has none. */
	rec1 = counter(_metadata, "record_bytes");
	edu_group = first_edu_group(_metadata);
	self->edu_fd = vfio_group_open(edu_group);
	ASSERT_LE(0, self->edu_fd);
	ASSERT_EQ(0, ioctl(self->edu_fd, VFIO_GROUP_SET_CONTAINER, &fd))
		TH_LOG("VFIO_GROUP_SET_CONTAINER: %s", strerror(errno));
	EXPECT_EQ(rec1, counter(_metadata, "record_bytes"));
	test_range_map(self->buf + EMU_SIZE, IOVA_EMU + EMU_SIZE,
		       IOVA_EMU + 2 * EMU_SIZE - 1);
	EXPECT_EQ(rec1, counter(_metadata, "record_bytes"));
	ASSERT_EMU_READS(iova);
	ASSERT_EMU_READS(iova + EMU_SIZE);
	ASSERT_EMU_PINS(IOVA_EMU + EMU_SIZE + SZ_1M);

	/* It leaves: its domain stays, detached, as the second half's record. */
	ASSERT_EQ(0, ioctl(self->edu_fd, VFIO_GROUP_UNSET_CONTAINER));
	vfio_close(&self->edu_fd);
	EXPECT_EQ(rec1, counter(_metadata, "record_bytes"));
	ASSERT_EMU_READS(iova);
	ASSERT_EMU_READS(iova + EMU_SIZE);
	ASSERT_EMU_READS(IOVA_EMU + 2 * EMU_SIZE - 64);
	ASSERT_EMU_PINS(IOVA_EMU + EMU_SIZE + 3 * SZ_1M);

	test_range_unmap(IOVA_EMU, IOVA_EMU + 2 * EMU_SIZE - 1,
			 2 * EMU_SIZE);
	EXPECT_EQ(pinned0, counter(_metadata, "pinned_pages"));
	EXPECT_EQ(rec0, counter(_metadata, "record_bytes"));
	EXPECT_ERRNO(EINVAL, _emu_rw(self->test_fd, self->e.id, iova,
				     self->buf, 64, false));
}

TEST_HARNESS_MAIN
