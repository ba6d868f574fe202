// SPDX-License-Identifier: GPL-2.0-only
/*
 * Regression tests for safety defects of the vfio-range IOMMU backend:
 *
 *  - a private (copy-on-write) user mapping of device memory (/dev/mem,
 *    /dev/hpet) is never mapped for DMA; a shared read-only one maps for
 *    device reads only.
 *
 * Needs root, vfio_iommu_range.ko loaded and two edu devices (the
 * tests skip without the second one).
 */
#include "vfio_range_utils.h"

/* All below 256 MiB: edu masks its DMA addresses to 28 bits. */
#define IOVA_RAM	0x0100000ULL
#define IOVA_RAM2	0x0200000ULL
#define IOVA_BAR	0x1000000ULL	/* 1 MiB aligned, for all of BAR0 */
#define IOVA_BAR2	0x2000000ULL
#define BUF_SIZE	(16 * SZ_4K)

#define DMA_R		VFIO_RANGE_MAP_READ
#define DMA_RW		(VFIO_RANGE_MAP_READ | VFIO_RANGE_MAP_WRITE)

/* What the device buffer and RAM hold before a peer-to-peer read. */
#define P2P_SEED	0x5eed5eedU
#define P2P_POISON	0xccccccccU

/*
 * Have @edu read 4 bytes at @iova (a BAR register, through the IOMMU) into
 * its buffer and write them back to @ram, mapped at IOVA_RAM; returns the
 * word that arrived. The device buffer is seeded first, so a read that is
 * blocked cannot pass off an ident left from an earlier read.
 */
static __u32 __p2p_read(struct __test_metadata *_metadata,
			struct edu_dev *edu, volatile __u32 *ram, __u64 iova)
{
	ram[0] = P2P_SEED;
	ASSERT_EQ(0, edu_dma(edu, IOVA_RAM, EDU_BUF_ADDR, 4, false));
	ram[0] = P2P_POISON;
	ASSERT_EQ(0, edu_dma(edu, iova, EDU_BUF_ADDR, 4, false));
	ASSERT_EQ(0, edu_dma(edu, EDU_BUF_ADDR, IOVA_RAM, 4, true));
	return ram[0];
}

/* Have @edu write @val to @iova through the IOMMU (from RAM at IOVA_RAM). */
static void __p2p_write(struct __test_metadata *_metadata,
			struct edu_dev *edu, volatile __u32 *ram, __u64 iova,
			__u32 val)
{
	ram[0] = val;
	ASSERT_EQ(0, edu_dma(edu, IOVA_RAM, EDU_BUF_ADDR, 4, false));
	ASSERT_EQ(0, edu_dma(edu, EDU_BUF_ADDR, iova, 4, true));
}

#define p2p_read(edu, iova)						\
	__p2p_read(_metadata, edu, (volatile __u32 *)self->ram, iova)
#define p2p_write(edu, iova, val)					\
	__p2p_write(_metadata, edu, (volatile __u32 *)self->ram, iova, val)

/* VmLck is what it was at setup, plus @bytes pinned since. */
#define test_vmlck(bytes)	ASSERT_VMLCK(self->vmlck_kb, bytes)

/* ---------------------------------------------------------------------- */
/* Device memory behind a private (copy-on-write) or /dev/mem mapping     */
/* ---------------------------------------------------------------------- */

#define IOVA_HPET	0x3000000ULL
/* Written to a liveness register by DMA; it answers the complement. */
#define LIVENESS_PROBE	0x5afe7e57U

/* linux/ioport.h is not uapi. */
#ifndef IORESOURCE_MEM
#define IORESOURCE_MEM	0x00000200
#endif

/*
 * edu[0] in a container; the peer, a second edu, is left alone by VFIO so
 * that /dev/mem may map its BAR0 (with CONFIG_IO_STRICT_DEVMEM it may not
 * once a driver claimed it).
 */
FIXTURE(devmem)
{
	int container_fd;
	int group_fd;
	struct edu_dev edu;
	char peer[NAME_MAX + 1];
	__u64 peer_phys, peer_size;
	int mem_fd;
	void *map[2];		/* /dev/mem or /dev/hpet mappings */
	size_t map_size[2];
	char *ram;
	long vmlck_kb;
};

FIXTURE_SETUP(devmem)
{
	unsigned long long start = 0, end = 0, flags = 0;
	struct edu_info all[EDU_MAX];
	char path[PATH_MAX], line[256];
	FILE *f;
	int n;

	self->container_fd = -1;
	self->group_fd = -1;
	self->mem_fd = -1;
	edu_init(&self->edu);

	n = edu_find(all, EDU_MAX);
	ASSERT_LT(0, n)
		TH_LOG("no edu device (%04x:%04x) with an IOMMU group",
		       EDU_VENDOR, EDU_DEVICE);
	if (n < 2)
		SKIP(return, "needs a second edu device for its BAR0");
	snprintf(self->peer, sizeof(self->peer), "%s", all[1].bdf);

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource",
		 self->peer);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f)
		TH_LOG("%s: %s", path, strerror(errno));
	ASSERT_NE(NULL, fgets(line, sizeof(line), f));
	fclose(f);
	ASSERT_EQ(3, sscanf(line, "%llx %llx %llx", &start, &end, &flags));
	ASSERT_FLAG(flags, IORESOURCE_MEM);
	ASSERT_LT(start, end);
	self->peer_phys = start;
	self->peer_size = end - start + 1;
	ASSERT_EQ(SZ_1M, self->peer_size);

	__vfio_container_setup(_metadata, all[0].group, VFIO_RANGE_IOMMU,
			       &self->container_fd, &self->group_fd);
	__edu_open(_metadata, self->group_fd, all[0].bdf, &self->edu);

	self->ram = test_mmap(BUF_SIZE, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, self->ram);
	self->vmlck_kb = vmlck_kb(0);
	ASSERT_LE(0, self->vmlck_kb);
}

FIXTURE_TEARDOWN(devmem)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (self->map[i])
			munmap(self->map[i], self->map_size[i]);
	}
	vfio_close(&self->mem_fd);
	edu_close(&self->edu);
	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);
	if (self->ram)
		munmap(self->ram, BUF_SIZE);
}

/*
 * Map the peer's BAR0 from /dev/mem (opened O_RDONLY, as the reviewer
 * did) into self->map[@i] with @prot and @flags; skips if the kernel has
 * no /dev/mem or refuses the mapping.
 */
#define test_devmem_mmap(i, prot, flags)				\
	({								\
		void *__p;						\
									\
		if (self->mem_fd < 0)					\
			self->mem_fd = open("/dev/mem", O_RDONLY);	\
		if (self->mem_fd < 0)					\
			SKIP(return, "/dev/mem: %s", strerror(errno));	\
		__p = mmap(NULL, self->peer_size, prot, flags,		\
			   self->mem_fd, self->peer_phys);		\
		if (__p == MAP_FAILED)					\
			SKIP(return, "mmap of /dev/mem at %#llx (%s BAR0) refused: %s", \
			     (unsigned long long)self->peer_phys,	\
			     self->peer, strerror(errno));		\
		self->map[i] = __p;					\
		self->map_size[i] = self->peer_size;			\
		/* The peer answers: its memory decode is on. */	\
		ASSERT_EQ(EDU_IDENT, *(volatile __u32 *)__p);		\
		(char *)__p;						\
	})

/*
 * The copy-on-write mapping @cow must not be mapped for DMA with @flags:
 * EFAULT. Should it be mapped, show what that allows before failing: edu
 * writes the peer's liveness register through the IOMMU, which the user
 * could only ever have written into a private copy.
 */
static void __cow_map_refused(struct __test_metadata *_metadata,
			      FIXTURE_DATA(devmem) *self, char *cow,
			      __u32 flags)
{
	volatile __u32 *peer = (volatile __u32 *)self->map[0];
	volatile __u32 *ram = (volatile __u32 *)self->ram;
	int ret, err;

	ret = _test_range_map(self->container_fd, (uintptr_t)cow, IOVA_BAR,
			      IOVA_BAR + self->peer_size - 1, flags);
	err = errno;
	if (!ret) {
		TH_LOG("a MAP_PRIVATE mapping of device memory was mapped %s",
		       flags & VFIO_RANGE_MAP_WRITE ? "READ|WRITE" : "READ");
		ram[0] = P2P_POISON;
		ASSERT_EQ(0, edu_dma(&self->edu, IOVA_BAR, EDU_BUF_ADDR, 4,
				     false));
		ASSERT_EQ(0, edu_dma(&self->edu, EDU_BUF_ADDR, IOVA_RAM, 4,
				     true));
		TH_LOG("edu read the peer's ident through it: %#x", ram[0]);
		if (flags & VFIO_RANGE_MAP_WRITE) {
			p2p_write(&self->edu, IOVA_BAR + EDU_REG_LIVENESS,
				  LIVENESS_PROBE);
			TH_LOG("edu wrote %#x to the peer's liveness register through it; it answers %#x (%s)",
			       LIVENESS_PROBE, peer[EDU_REG_LIVENESS / 4],
			       peer[EDU_REG_LIVENESS / 4] == ~LIVENESS_PROBE ?
			       "the write reached the device" : "?");
		}
		_test_range_unmap(self->container_fd, IOVA_BAR,
				  IOVA_BAR + self->peer_size - 1, 0, NULL);
	}
	ASSERT_EQ(-1, ret);
	ASSERT_EQ(EFAULT, err)
		TH_LOG("map of a MAP_PRIVATE mapping: %s", strerror(err));
}

#define cow_map_refused(cow, flags)					\
	__cow_map_refused(_metadata, self, cow, flags)

/*
 * A private mapping of /dev/mem, writable in the process (into copies),
 * must not let a device read or write the BAR behind it. A shared
 * read-only one is device memory the user may read: READ maps it, and edu
 * reads the peer's ident register through it; READ|WRITE is refused.
 */
TEST_F(devmem, cow_refused)
{
	char *shared, *cow;

	test_range_map(self->ram, IOVA_RAM, IOVA_RAM + BUF_SIZE - 1);
	/* Also how the test reads the peer's registers. */
	shared = test_devmem_mmap(0, PROT_READ, MAP_SHARED);
	cow = test_devmem_mmap(1, PROT_READ | PROT_WRITE, MAP_PRIVATE);

	cow_map_refused(cow, DMA_RW);
	cow_map_refused(cow, DMA_R);
	/* Nothing of the refused maps is left. */
	test_range_unmap(IOVA_BAR, IOVA_BAR + self->peer_size - 1, 0);
	test_vmlck(BUF_SIZE);

	test_err_range_map_flags(EFAULT, shared, IOVA_BAR2,
				 IOVA_BAR2 + self->peer_size - 1, DMA_RW);
	test_range_map_flags(shared, IOVA_BAR, IOVA_BAR + self->peer_size - 1,
			     DMA_R);
	test_vmlck(BUF_SIZE);
	ASSERT_EQ(EDU_IDENT, p2p_read(&self->edu, IOVA_BAR));
	test_range_unmap(IOVA_BAR, IOVA_BAR + self->peer_size - 1,
			 self->peer_size);
	ASSERT_NE(EDU_IDENT, p2p_read(&self->edu, IOVA_BAR));
	test_range_unmap(0, U64_MAX, BUF_SIZE);
	test_range_empty();
	test_vmlck(0);
}

/*
 * The same rule for another kind of device memory: a private mapping of
 * the HPET's registers. Nothing ever DMAs to it.
 */
TEST_F(devmem, hpet_cow_refused)
{
	void *cow;
	int fd, ret, err;
	__u32 flags[] = { DMA_RW, DMA_R };
	unsigned int i;

	fd = open("/dev/hpet", O_RDONLY);
	if (fd < 0)
		SKIP(return, "/dev/hpet: %s", strerror(errno));
	cow = mmap(NULL, SZ_4K, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	err = errno;
	close(fd);
	if (cow == MAP_FAILED)
		SKIP(return, "mmap of /dev/hpet refused: %s (no HPET_MMAP?)",
		     strerror(err));
	self->map[0] = cow;
	self->map_size[0] = SZ_4K;

	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		ret = _test_range_map(self->container_fd, (uintptr_t)cow,
				      IOVA_HPET, IOVA_HPET + SZ_4K - 1,
				      flags[i]);
		err = errno;
		if (!ret) {
			TH_LOG("a MAP_PRIVATE mapping of the HPET was mapped %s",
			       flags[i] & VFIO_RANGE_MAP_WRITE ?
			       "READ|WRITE" : "READ");
			test_range_unmap(IOVA_HPET, IOVA_HPET + SZ_4K - 1,
					 SZ_4K);
		}
		ASSERT_EQ(-1, ret);
		ASSERT_EQ(EFAULT, err)
			TH_LOG("map of /dev/hpet: %s", strerror(err));
	}
	test_range_empty();
	test_vmlck(0);
}

TEST_HARNESS_MAIN
