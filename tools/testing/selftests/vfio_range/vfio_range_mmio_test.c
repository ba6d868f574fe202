// SPDX-License-Identifier: GPL-2.0-only
/*
 * Device memory tests of the vfio-range IOMMU backend: mapping edu's BAR0
 * (mmapped from the vfio-pci device fd) for peer-to-peer DMA, with edu
 * reading its ident register through the IOMMU; trimming of unaligned BAR
 * sections (VFIO_RANGE_MAP_TRIM) and its out_ fields; the errors of BAR
 * requests that leave the BAR mapping; unmapping BARs and RAM together; and
 * the revocation of a BAR mapping when its user mapping goes away.
 *
 * Needs root, vfio_iommu_range.ko loaded and an edu device; the peer tests
 * need a second edu device in another IOMMU group and skip otherwise.
 */
#include "vfio_range_utils.h"

/* All below 256 MiB: edu masks its DMA addresses to 28 bits. */
#define IOVA_RAM	0x0100000ULL
#define IOVA_RAM2	0x0200000ULL
#define IOVA_BAR	0x1000000ULL	/* 1 MiB aligned, for all of BAR0 */
#define IOVA_BAR2	0x2000000ULL
#define IOVA_T		0x4000000ULL	/* trimmed BAR sections */
#define IOVA_T2		0x5000000ULL
#define BUF_SIZE	(16 * SZ_4K)

#define DMA_R		VFIO_RANGE_MAP_READ
#define DMA_RW		(VFIO_RANGE_MAP_READ | VFIO_RANGE_MAP_WRITE)
#define TRIM		VFIO_RANGE_MAP_TRIM
#define OUT_EMPTY	VFIO_RANGE_MAP_OUT_EMPTY

/* A TRIM map of a BAR section that must map [@ostart, @olast], @oflags. */
#define test_trim_map(vaddr, start, last, ostart, olast, oflags)	\
	({								\
		struct vfio_range_map __out;				\
									\
		ASSERT_EQ(0, _test_range_map_out(self->container_fd,		\
					   (uintptr_t)(vaddr), start,	\
					   last, DMA_R | TRIM,		\
					   &__out));			\
		EXPECT_EQ((__u64)(ostart), __out.out_start);		\
		EXPECT_EQ((__u64)(olast), __out.out_last);		\
		EXPECT_EQ((__u32)(oflags), __out.out_flags);		\
	})

#define p2p_read(edu, iova)						\
	__edu_p2p_read(_metadata, edu, (volatile __u32 *)self->ram,	\
		       IOVA_RAM, iova)

/* VmLck is what it was at setup, plus @bytes pinned since. */
#define test_vmlck(bytes)	ASSERT_VMLCK(self->vmlck_kb, bytes)

/* ---------------------------------------------------------------------- */
/* Fixture: one or two edu devices in one container                       */
/* ---------------------------------------------------------------------- */

FIXTURE(mmio)
{
	const char *skip;	/* set by the setup: every test skips */
	int container_fd;
	int group_fd[2];
	struct edu_info info[2];
	struct edu_dev edu[2];
	int nr_edu;
	char *bar;		/* edu[0]'s BAR0 */
	size_t bar_size;
	char *ram, *ram2;	/* BUF_SIZE each */
	long vmlck_kb;
};

FIXTURE_SETUP(mmio)
{
	struct iommu_info iommu;

	self->container_fd = -1;
	self->group_fd[0] = -1;
	self->group_fd[1] = -1;
	edu_init(&self->edu[0]);
	edu_init(&self->edu[1]);
	SETUP_SKIP_IF_GRANULE();

	self->nr_edu = __edu_peers_setup(_metadata, &self->container_fd,
					  self->group_fd, self->info, self->edu);

	/* The trimming tests count in 4 KiB IOMMU pages. */
	__get_iommu_info(_metadata, self->container_fd, &iommu);
	ASSERT_EQ(SZ_4K, iommu.pgsize);
	self->bar = self->edu[0].bar0;
	self->bar_size = self->edu[0].bar0_size;
	ASSERT_EQ(SZ_1M, self->bar_size);

	self->ram = test_mmap(BUF_SIZE, PROT_READ | PROT_WRITE);
	self->ram2 = test_mmap(BUF_SIZE, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, self->ram);
	ASSERT_NE(NULL, self->ram2);
	self->vmlck_kb = vmlck_kb(0);
	ASSERT_LE(0, self->vmlck_kb);
}

FIXTURE_TEARDOWN(mmio)
{
	edu_close(&self->edu[0]);
	edu_close(&self->edu[1]);
	vfio_close(&self->group_fd[0]);
	vfio_close(&self->group_fd[1]);
	vfio_close(&self->container_fd);
	if (self->ram)
		munmap(self->ram, BUF_SIZE);
	if (self->ram2)
		munmap(self->ram2, BUF_SIZE);
}

/*
 * The device that reads edu[0]'s BAR in the tests below: the second edu if
 * there is one (a peer), else edu[0] itself.
 */
#define reader()	(&self->edu[self->nr_edu - 1])

/* A second mapping of @edu's BAR0, with @prot. */
static void *bar_mmap(struct edu_dev *edu, int prot)
{
	void *bar = mmap(NULL, edu->bar0_size, prot, MAP_SHARED, edu->fd,
			 edu->bar0_offset);

	return bar == MAP_FAILED ? NULL : bar;
}

/* ---------------------------------------------------------------------- */
/* Peer-to-peer DMA                                                       */
/* ---------------------------------------------------------------------- */

/* edu reads its own ident register through the IOMMU. */
TEST_F(mmio, p2p_self)
{
	SETUP_SKIPPED();
	test_range_map(self->ram, IOVA_RAM, IOVA_RAM + BUF_SIZE - 1);
	test_vmlck(BUF_SIZE);

	/* Nothing mapped there yet: the read is blocked. */
	ASSERT_NE(EDU_IDENT, p2p_read(&self->edu[0], IOVA_BAR));

	test_range_map_flags(self->bar, IOVA_BAR, IOVA_BAR + SZ_1M - 1,
			     DMA_R);
	test_vmlck(BUF_SIZE);
	ASSERT_EQ(EDU_IDENT, p2p_read(&self->edu[0], IOVA_BAR));
	test_vmlck(BUF_SIZE);

	test_range_unmap(IOVA_BAR, IOVA_BAR + SZ_1M - 1, SZ_1M);
	ASSERT_NE(EDU_IDENT, p2p_read(&self->edu[0], IOVA_BAR));
	test_vmlck(BUF_SIZE);
	test_range_unmap(0, U64_MAX, BUF_SIZE);
	test_vmlck(0);
}

/* Each edu reads the other's ident register; both share the container. */
TEST_F(mmio, p2p_peer)
{
	char *bar1;

	SETUP_SKIPPED();
	if (self->nr_edu < 2)
		SKIP(return, "needs two edu devices in two IOMMU groups");
	bar1 = self->edu[1].bar0;

	test_range_map(self->ram, IOVA_RAM, IOVA_RAM + BUF_SIZE - 1);
	test_range_map_flags(self->bar, IOVA_BAR, IOVA_BAR + SZ_1M - 1,
			     DMA_R);
	test_range_map_flags(bar1, IOVA_BAR2, IOVA_BAR2 + SZ_1M - 1, DMA_R);
	test_vmlck(BUF_SIZE);

	ASSERT_EQ(EDU_IDENT, p2p_read(&self->edu[1], IOVA_BAR));
	ASSERT_EQ(EDU_IDENT, p2p_read(&self->edu[0], IOVA_BAR2));
	/* The liveness register answers the complement of what it got. */
	edu_write32(&self->edu[0], EDU_REG_LIVENESS, 0x12345678);
	ASSERT_EQ(~0x12345678U,
		  p2p_read(&self->edu[1], IOVA_BAR + EDU_REG_LIVENESS));

	test_range_unmap(IOVA_BAR, IOVA_BAR + SZ_1M - 1, SZ_1M);
	ASSERT_NE(EDU_IDENT, p2p_read(&self->edu[1], IOVA_BAR));
	ASSERT_EQ(EDU_IDENT, p2p_read(&self->edu[0], IOVA_BAR2));
	test_range_unmap(0, U64_MAX, BUF_SIZE + SZ_1M);
	test_vmlck(0);
}

/* ---------------------------------------------------------------------- */
/* VFIO_RANGE_MAP_TRIM                                                    */
/* ---------------------------------------------------------------------- */

TEST_F(mmio, trim)
{
	char *bar = self->bar;

	SETUP_SKIPPED();
	/* Head and tail trimmed. */
	test_trim_map(bar + 0x800, IOVA_T + 0x800, IOVA_T + 0x47ff,
		      IOVA_T + 0x1000, IOVA_T + 0x3fff, 0);
	/* Smaller than a page, inside one page and across two. */
	test_trim_map(bar + 0x10800, IOVA_T + 0x10800, IOVA_T + 0x10fff,
		      0, 0, OUT_EMPTY);
	test_trim_map(bar + 0x21800, IOVA_T + 0x21800, IOVA_T + 0x227ff,
		      0, 0, OUT_EMPTY);
	/* Aligned: unchanged. */
	test_trim_map(bar + 0x30000, IOVA_T + 0x30000, IOVA_T + 0x31fff,
		      IOVA_T + 0x30000, IOVA_T + 0x31fff, 0);
	/* Only the head, only the tail. */
	test_trim_map(bar + 0x40800, IOVA_T + 0x40800, IOVA_T + 0x41fff,
		      IOVA_T + 0x41000, IOVA_T + 0x41fff, 0);
	test_trim_map(bar + 0x50000, IOVA_T + 0x50000, IOVA_T + 0x517ff,
		      IOVA_T + 0x50000, IOVA_T + 0x50fff, 0);
	test_vmlck(0);

	/* The request ranges, not what they mapped, must not overlap. */
	test_err_range_map_flags(EEXIST, bar, IOVA_T, IOVA_T + 0xfff,
				 DMA_R | TRIM);
	test_err_range_map_flags(EEXIST, bar + 0x4000, IOVA_T + 0x4000,
				 IOVA_T + 0x4fff, DMA_R | TRIM);
	test_err_range_map_flags(EEXIST, bar + 0x2000, IOVA_T + 0x2000,
				 IOVA_T + 0x2fff, DMA_R);
	/* Also the range of a request that mapped nothing. */
	test_err_range_map_flags(EEXIST, bar + 0x10000, IOVA_T + 0x10000,
				 IOVA_T + 0x10fff, DMA_R);
	test_err_range_map_flags(EEXIST, bar + 0x10c00, IOVA_T + 0x10c00,
				 IOVA_T + 0x10cff, DMA_R | TRIM);
	test_err_range_map_flags(EEXIST, bar + 0x22000, IOVA_T + 0x22000,
				 IOVA_T + 0x22fff, DMA_R | TRIM);
	test_err_range_map(EEXIST, self->ram, IOVA_T + 0x20000,
			   IOVA_T + 0x20000 + BUF_SIZE - 1);
	/* Right next to a request is fine. */
	test_trim_map(bar + 0x4800, IOVA_T + 0x4800, IOVA_T + 0x4fff,
		      0, 0, OUT_EMPTY);
	test_trim_map(bar + 0x10000, IOVA_T + 0x10000, IOVA_T + 0x107ff,
		      0, 0, OUT_EMPTY);

	/* Only a request's exact range removes it. */
	test_err_range_unmap(EINVAL, IOVA_T + 0x1000, IOVA_T + 0x3fff);
	test_err_range_unmap(EINVAL, IOVA_T + 0x10900, IOVA_T + 0x10fff);
	test_range_unmap(IOVA_T + 0x800, IOVA_T + 0x47ff, 0x3000);
	test_range_unmap(IOVA_T + 0x4800, IOVA_T + 0x4fff, 0);
	test_range_unmap(IOVA_T + 0x10000, IOVA_T + 0x107ff, 0);
	test_range_unmap(IOVA_T + 0x10800, IOVA_T + 0x10fff, 0);
	test_range_unmap(IOVA_T + 0x21800, IOVA_T + 0x227ff, 0);
	test_range_unmap(IOVA_T + 0x30000, IOVA_T + 0x31fff, 0x2000);
	test_range_unmap(IOVA_T + 0x40800, IOVA_T + 0x41fff, 0x1000);
	test_range_unmap(IOVA_T + 0x50000, IOVA_T + 0x517ff, 0x1000);
	test_range_empty();

	/* A freed range can be mapped again, now aligned. */
	test_trim_map(bar, IOVA_T, IOVA_T + 0xfff, IOVA_T, IOVA_T + 0xfff, 0);
	test_range_unmap(IOVA_T, IOVA_T + 0xfff, 0x1000);
	test_range_empty();
	test_vmlck(0);
}

/* A trimmed section really maps the BAR page it keeps. */
TEST_F(mmio, trim_dma)
{
	SETUP_SKIPPED();
	test_range_map(self->ram, IOVA_RAM, IOVA_RAM + BUF_SIZE - 1);
	/* [IOVA_T, + 0x17ff] maps the BAR's first page at IOVA_T. */
	test_trim_map(self->bar, IOVA_T, IOVA_T + 0x17ff, IOVA_T,
		      IOVA_T + 0xfff, 0);
	ASSERT_EQ(EDU_IDENT, p2p_read(reader(), IOVA_T));
	test_range_unmap(IOVA_T, IOVA_T + 0x17ff, 0x1000);
	ASSERT_NE(EDU_IDENT, p2p_read(reader(), IOVA_T));

	/* A head-trimmed one: BAR offset 0x1000 lands at IOVA_BAR2 + 0x1000. */
	test_trim_map(self->bar + 0xc00, IOVA_BAR2 + 0xc00, IOVA_BAR2 + 0x1fff,
		      IOVA_BAR2 + 0x1000, IOVA_BAR2 + 0x1fff, 0);
	/* edu answers ~0 for registers it does not have. */
	ASSERT_EQ(~0U, p2p_read(reader(), IOVA_BAR2 + 0x1000));
	ASSERT_NE(EDU_IDENT, p2p_read(reader(), IOVA_BAR2));
	test_range_unmap(0, U64_MAX, BUF_SIZE + 0x1000);
	test_vmlck(0);
}

TEST_F(mmio, trim_errors)
{
	char *bar = self->bar;

	SETUP_SKIPPED();
	/* Without TRIM a BAR request must be aligned like any other. */
	test_err_range_map_flags(EINVAL, bar + 0x800, IOVA_T + 0x800,
				 IOVA_T + 0x47ff, DMA_R);
	test_err_range_map_flags(EINVAL, bar, IOVA_T, IOVA_T + 0x7ff, DMA_R);
	test_err_range_map_flags(EINVAL, bar + 0x800, IOVA_T, IOVA_T + 0xfff,
				 DMA_R);
	/* TRIM is for device memory only, even when aligned. */
	test_err_range_map_flags(EINVAL, self->ram + 0x800, IOVA_RAM + 0x800,
				 IOVA_RAM + 0x47ff, DMA_RW | TRIM);
	test_err_range_map_flags(EINVAL, self->ram, IOVA_RAM,
				 IOVA_RAM + BUF_SIZE - 1, DMA_RW | TRIM);
	test_err_range_map_flags(EINVAL, self->ram, IOVA_RAM,
				 IOVA_RAM + BUF_SIZE - 1, DMA_R | TRIM);
	/* IOVA and address must share their offset in the page. */
	test_err_range_map_flags(EINVAL, bar + 0x400, IOVA_T + 0x800,
				 IOVA_T + 0x47ff, DMA_R | TRIM);
	test_err_range_map_flags(EINVAL, bar + 0x1c00, IOVA_T + 0x800,
				 IOVA_T + 0x47ff, DMA_R | TRIM);
	test_err_range_map_flags(EINVAL, bar, IOVA_T + 0x800,
				 IOVA_T + 0x10ff, DMA_R | TRIM);
	/* Neither READ nor WRITE, an unknown flag. */
	test_err_range_map_flags(EINVAL, bar, IOVA_T, IOVA_T + 0xfff, TRIM);
	test_err_range_map_flags(EINVAL, bar, IOVA_T, IOVA_T + 0xfff,
				 DMA_R | (TRIM << 1));
	test_range_empty();
	test_vmlck(0);
}

/* ---------------------------------------------------------------------- */
/* PFNs in any order                                                      */
/* ---------------------------------------------------------------------- */

/*
 * A device memory mapping whose PFNs are not contiguous: the test hook's
 * mmap of edu[0]'s BAR0 with each pair of pages swapped. It is mapped as
 * one request, run by run, and each IOVA page reaches the BAR page the
 * user mapping shows there.
 */
TEST_F(mmio, scattered_pfns)
{
	const size_t len = 4 * SZ_4K;
	unsigned long long phys = edu_bar0_phys(self->info[0].bdf);
	volatile __u32 *scat;
	int fd;

	SETUP_SKIPPED();
	ASSERT_NE(0ULL, phys);
	fd = open(VFIO_RANGE_TEST_DEV, O_RDWR);
	ASSERT_LE(0, fd) TH_LOG("open %s: %s (is vfio_range_test.ko loaded?)",
				VFIO_RANGE_TEST_DEV, strerror(errno));
	scat = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, phys);
	ASSERT_NE(MAP_FAILED, scat) TH_LOG("mmap: %s", strerror(errno));
	/* The CPU sees BAR page 1 first, then page 0 (the ident register). */
	ASSERT_EQ(~0U, scat[0]);
	ASSERT_EQ(EDU_IDENT, scat[SZ_4K / 4]);

	test_range_map(self->ram, IOVA_RAM, IOVA_RAM + BUF_SIZE - 1);
	test_range_map_flags((void *)scat, IOVA_T, IOVA_T + len - 1, DMA_R);
	ASSERT_EQ(EDU_IDENT, p2p_read(reader(), IOVA_T + SZ_4K));
	/* Other BAR pages answer ~0: mapped, unlike a blocked read. */
	ASSERT_EQ(~0U, p2p_read(reader(), IOVA_T));
	ASSERT_EQ(~0U, p2p_read(reader(), IOVA_T + 3 * SZ_4K));
	/* A writable mapping needs a writable user mapping. */
	test_err_range_map_flags(EFAULT, (void *)scat, IOVA_BAR,
				 IOVA_BAR + len - 1, DMA_RW);
	test_vmlck(BUF_SIZE);

	test_range_unmap(IOVA_T, IOVA_T + len - 1, len);
	ASSERT_NE(EDU_IDENT, p2p_read(reader(), IOVA_T + SZ_4K));
	test_range_unmap(0, U64_MAX, BUF_SIZE);
	test_vmlck(0);
	munmap((void *)scat, len);
	close(fd);
}

/* ---------------------------------------------------------------------- */
/* Requests that leave the BAR mapping                                    */
/* ---------------------------------------------------------------------- */

TEST_F(mmio, leave_bar)
{
	const size_t sz = SZ_1M;
	char *base, *bar_mid, *end;

	SETUP_SKIPPED();
	/* Longer than the mmap, from its start or from inside it. */
	test_err_range_map_flags(EINVAL, self->bar, IOVA_BAR,
				 IOVA_BAR + 2 * sz - 1, DMA_R);
	test_err_range_map_flags(EINVAL, self->bar + 0x80000, IOVA_BAR,
				 IOVA_BAR + sz - 1, DMA_R);
	/* Trimmed to [+0x1000, + sz + 0xfff], still one page too long. */
	test_err_range_map_flags(EINVAL, self->bar + 0x800, IOVA_BAR + 0x800,
				 IOVA_BAR + sz + 0x17ff, DMA_R | TRIM);
	test_err_range_map_flags(EINVAL, self->bar + sz - SZ_4K,
				 IOVA_BAR, IOVA_BAR + 2 * SZ_4K - 1, DMA_R);

	/* [RAM][BAR][RAM]: the BAR is a second mmap of edu[0]'s BAR0. */
	base = test_mmap(3 * sz, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, base);
	memset(base, 0x11, 3 * sz);
	bar_mid = mmap(base + sz, sz, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_FIXED, self->edu[0].fd,
		       self->edu[0].bar0_offset);
	ASSERT_EQ(base + sz, bar_mid);
	ASSERT_EQ(EDU_IDENT, *(volatile __u32 *)bar_mid);
	end = bar_mid + sz;

	/* A BAR request whose address range runs into the RAM after it. */
	test_err_range_map_flags(EINVAL, bar_mid, IOVA_BAR,
				 IOVA_BAR + 2 * sz - 1, DMA_R);
	test_err_range_map_flags(EINVAL, end - SZ_4K, IOVA_BAR,
				 IOVA_BAR + 2 * SZ_4K - 1, DMA_RW);
	test_err_range_map_flags(EINVAL, end - 0x1800, IOVA_BAR + 0x800,
				 IOVA_BAR + 0x37ff, DMA_R | TRIM);
	/* A RAM request whose range runs into the BAR: pinning fails. */
	test_err_range_map(EFAULT, base, IOVA_RAM, IOVA_RAM + 2 * sz - 1);
	test_err_range_map_flags(EFAULT, bar_mid - SZ_4K, IOVA_RAM,
				 IOVA_RAM + 2 * SZ_4K - 1, DMA_R);
	test_vmlck(0);
	/* Both halves alone are fine. */
	test_range_map(base, IOVA_RAM, IOVA_RAM + sz - 1);
	test_range_map_flags(bar_mid, IOVA_BAR, IOVA_BAR + sz - 1, DMA_RW);
	test_range_map(end, IOVA_BAR2, IOVA_BAR2 + sz - 1);
	test_vmlck(2 * sz);
	test_range_unmap(0, U64_MAX, 3 * sz);
	test_vmlck(0);

	/* A BAR mmapped read-only cannot be mapped for device writes. */
	ASSERT_EQ(bar_mid, mmap(bar_mid, sz, PROT_READ, MAP_SHARED | MAP_FIXED,
				self->edu[0].fd, self->edu[0].bar0_offset));
	test_err_range_map_flags(EFAULT, bar_mid, IOVA_BAR,
				 IOVA_BAR + sz - 1, DMA_RW);
	test_range_map_flags(bar_mid, IOVA_BAR, IOVA_BAR + sz - 1, DMA_R);
	test_range_unmap(0, U64_MAX, sz);

	/* [BAR][hole]. */
	ASSERT_EQ(0, munmap(end, sz));
	test_err_range_map_flags(EINVAL, bar_mid, IOVA_BAR,
				 IOVA_BAR + 2 * sz - 1, DMA_R);
	ASSERT_EQ(0, munmap(base, 2 * sz));
	test_range_empty();
	test_vmlck(0);
}

/* ---------------------------------------------------------------------- */
/* argsz and the out_ fields                                              */
/* ---------------------------------------------------------------------- */

static int _test_map_argsz(int fd, __u32 argsz, __u64 vaddr, __u64 start,
			   __u64 last, struct vfio_range_map *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->argsz = argsz;
	cmd->flags = DMA_R | TRIM;
	cmd->vaddr = vaddr;
	cmd->start = start;
	cmd->last = last;
	/* Poison past argsz: the kernel must neither read nor write it. */
	memset((char *)cmd + argsz, 0xa5, sizeof(*cmd) - argsz);
	return ioctl(fd, VFIO_IOMMU_RANGE_MAP, cmd);
}

TEST_F(mmio, out_argsz)
{
	const __u32 min = offsetofend(struct vfio_range_map, last);
	struct vfio_range_map cmd;
	char *bar = self->bar;

	SETUP_SKIPPED();
	/* argsz without the out_ fields: they are left alone. */
	ASSERT_EQ(0, _test_map_argsz(self->container_fd, min,
				     (uintptr_t)bar + 0x800, IOVA_T + 0x800,
				     IOVA_T + 0x47ff, &cmd));
	EXPECT_EQ(OUT_POISON, cmd.out_start);
	EXPECT_EQ(OUT_POISON, cmd.out_last);
	EXPECT_EQ((__u32)OUT_POISON, cmd.out_flags);
	EXPECT_EQ((__u32)OUT_POISON, cmd.__reserved);
	EXPECT_EQ(min, cmd.argsz);
	test_range_unmap(IOVA_T + 0x800, IOVA_T + 0x47ff, 0x3000);

	/* Up to out_start: only that one. */
	ASSERT_EQ(0, _test_map_argsz(self->container_fd,
				     offsetofend(struct vfio_range_map,
						 out_start),
				     (uintptr_t)bar + 0x800, IOVA_T + 0x800,
				     IOVA_T + 0x47ff, &cmd));
	EXPECT_EQ(IOVA_T + 0x1000, cmd.out_start);
	EXPECT_EQ(OUT_POISON, cmd.out_last);
	EXPECT_EQ((__u32)OUT_POISON, cmd.out_flags);
	test_range_unmap(IOVA_T + 0x800, IOVA_T + 0x47ff, 0x3000);

	/* Up to out_flags, without __reserved. */
	ASSERT_EQ(0, _test_map_argsz(self->container_fd,
				     offsetofend(struct vfio_range_map,
						 out_flags),
				     (uintptr_t)bar + 0x10800,
				     IOVA_T + 0x10800, IOVA_T + 0x10fff,
				     &cmd));
	EXPECT_EQ(0ULL, cmd.out_start);
	EXPECT_EQ(0ULL, cmd.out_last);
	EXPECT_EQ((__u32)OUT_EMPTY, cmd.out_flags);
	EXPECT_EQ((__u32)OUT_POISON, cmd.__reserved);
	test_range_unmap(IOVA_T + 0x10800, IOVA_T + 0x10fff, 0);

	/* The whole structure. */
	ASSERT_EQ(0, _test_map_argsz(self->container_fd, sizeof(cmd),
				     (uintptr_t)bar + 0x800, IOVA_T + 0x800,
				     IOVA_T + 0x47ff, &cmd));
	EXPECT_EQ(IOVA_T + 0x1000, cmd.out_start);
	EXPECT_EQ(IOVA_T + 0x3fff, cmd.out_last);
	EXPECT_EQ(0U, cmd.out_flags);
	EXPECT_EQ(0U, cmd.__reserved);

	/* A failed request writes nothing back. */
	ASSERT_EQ(-1, _test_map_argsz(self->container_fd, sizeof(cmd),
				      (uintptr_t)bar + 0x800, IOVA_T + 0x800,
				      IOVA_T + 0x47ff, &cmd));
	EXPECT_EQ(EEXIST, errno);
	EXPECT_EQ(0ULL, cmd.out_start);
	EXPECT_EQ(0ULL, cmd.out_last);
	test_range_unmap(IOVA_T + 0x800, IOVA_T + 0x47ff, 0x3000);

	/* Too short for last. */
	EXPECT_ERRNO(EINVAL, _test_map_argsz(self->container_fd, min - 1,
					     (uintptr_t)bar, IOVA_T,
					     IOVA_T + 0xfff, &cmd));
	test_range_empty();
}

/* ---------------------------------------------------------------------- */
/* Unmapping BARs and RAM together                                        */
/* ---------------------------------------------------------------------- */

TEST_F(mmio, unmap_all_mixed)
{
	char *bar = self->bar;

	SETUP_SKIPPED();
	test_range_map(self->ram, IOVA_RAM, IOVA_RAM + BUF_SIZE - 1);
	test_range_map(self->ram2, IOVA_RAM2, IOVA_RAM2 + BUF_SIZE - 1);
	test_range_map_flags(bar, IOVA_BAR, IOVA_BAR + SZ_1M - 1, DMA_RW);
	test_trim_map(bar + 0x800, IOVA_T + 0x800, IOVA_T + 0x47ff,
		      IOVA_T + 0x1000, IOVA_T + 0x3fff, 0);
	test_trim_map(bar + 0x10800, IOVA_T + 0x10800, IOVA_T + 0x10fff,
		      0, 0, OUT_EMPTY);
	/* RAM among the BAR sections, in IOVA. */
	test_range_map(self->ram2 + SZ_4K, IOVA_T + 0x5000, IOVA_T + 0x5fff);
	test_vmlck(2 * BUF_SIZE + SZ_4K);
	ASSERT_EQ(EDU_IDENT, p2p_read(reader(), IOVA_BAR));
	/* edu answers ~0 for registers it does not have. */
	ASSERT_EQ(~0U, p2p_read(reader(), IOVA_T + 0x1000));
	test_vmlck(2 * BUF_SIZE + SZ_4K);

	test_range_unmap(0, U64_MAX, 2 * BUF_SIZE + SZ_4K + SZ_1M + 0x3000);
	test_vmlck(0);

	/* Nothing reaches RAM, not even the (blocked) BAR read. */
	memset(self->ram, 0xcc, BUF_SIZE);
	ASSERT_EQ(0, edu_dma(reader(), IOVA_BAR, EDU_BUF_ADDR, 4, false));
	ASSERT_EQ(0, edu_dma(reader(), EDU_BUF_ADDR, IOVA_RAM, 4, true));
	ASSERT_TRUE(mem_is(self->ram, 0xcc, BUF_SIZE));
	/* With RAM mapped again, the BAR read is still blocked. */
	test_range_map(self->ram, IOVA_RAM, IOVA_RAM + BUF_SIZE - 1);
	ASSERT_NE(EDU_IDENT, p2p_read(reader(), IOVA_BAR));
	ASSERT_NE(EDU_IDENT, p2p_read(reader(), IOVA_T + 0x1000));
	test_range_unmap(0, U64_MAX, BUF_SIZE);
	test_vmlck(0);
}

/* ---------------------------------------------------------------------- */
/* Revocation                                                             */
/* ---------------------------------------------------------------------- */

/* munmap of the BAR mapping removes its IOMMU mapping at once. */
TEST_F(mmio, revoke_munmap)
{
	char *bar2;

	SETUP_SKIPPED();
	test_range_map(self->ram, IOVA_RAM, IOVA_RAM + BUF_SIZE - 1);
	bar2 = bar_mmap(&self->edu[0], PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, bar2);
	test_range_map_flags(bar2, IOVA_BAR, IOVA_BAR + SZ_1M - 1, DMA_R);
	test_trim_map(bar2 + 0x800, IOVA_T + 0x800, IOVA_T + 0x17ff,
		      0, 0, OUT_EMPTY);
	ASSERT_EQ(EDU_IDENT, p2p_read(reader(), IOVA_BAR));

	ASSERT_EQ(0, munmap(bar2, SZ_1M));
	ASSERT_NE(EDU_IDENT, p2p_read(reader(), IOVA_BAR));
	test_vmlck(BUF_SIZE);

	/* The requests are still there, and report what they had mapped. */
	test_err_range_map_flags(EEXIST, self->bar, IOVA_BAR,
				 IOVA_BAR + SZ_1M - 1, DMA_R);
	test_range_unmap(IOVA_BAR, IOVA_BAR + SZ_1M - 1, SZ_1M);
	test_range_unmap(IOVA_T + 0x800, IOVA_T + 0x17ff, 0);

	/* A new BAR mapping at the same IOVA works. */
	test_range_map_flags(self->bar, IOVA_BAR, IOVA_BAR + SZ_1M - 1, DMA_R);
	ASSERT_EQ(EDU_IDENT, p2p_read(reader(), IOVA_BAR));
	test_range_unmap(0, U64_MAX, BUF_SIZE + SZ_1M);
	test_vmlck(0);
}

/* A partial munmap revokes the whole request. */
TEST_F(mmio, revoke_partial)
{
	char *bar2;

	SETUP_SKIPPED();
	test_range_map(self->ram, IOVA_RAM, IOVA_RAM + BUF_SIZE - 1);
	bar2 = bar_mmap(&self->edu[0], PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, bar2);
	test_range_map_flags(bar2, IOVA_BAR, IOVA_BAR + SZ_1M - 1, DMA_R);
	ASSERT_EQ(EDU_IDENT, p2p_read(reader(), IOVA_BAR));

	ASSERT_EQ(0, munmap(bar2 + SZ_1M - SZ_4K, SZ_4K));
	ASSERT_NE(EDU_IDENT, p2p_read(reader(), IOVA_BAR));
	test_range_unmap(0, U64_MAX, BUF_SIZE + SZ_1M);
	ASSERT_EQ(0, munmap(bar2, SZ_1M - SZ_4K));
	test_vmlck(0);
}

/*
 * Live update of a BAR mapping: until its update it is watched through the
 * old user mapping, afterwards through the new one, which must show the
 * same PFNs with the access the request needs.
 */
TEST_F(mmio, vaddr_update)
{
	const __u64 half = SZ_1M / 2;
	char *bar2, *bar3, *ro;
	__u64 bytes;

	SETUP_SKIPPED();
	test_range_map(self->ram, IOVA_RAM, IOVA_RAM + BUF_SIZE - 1);
	bar2 = bar_mmap(&self->edu[0], PROT_READ | PROT_WRITE);
	bar3 = bar_mmap(&self->edu[0], PROT_READ | PROT_WRITE);
	ro = bar_mmap(&self->edu[0], PROT_READ);
	ASSERT_NE(NULL, bar2);
	ASSERT_NE(NULL, bar3);
	ASSERT_NE(NULL, ro);
	test_range_map_flags(bar2, IOVA_BAR, IOVA_BAR + half - 1, DMA_RW);
	ASSERT_EQ(0, _test_range_unmap(self->container_fd, 0, U64_MAX,
				       VFIO_RANGE_UNMAP_VADDR, &bytes));
	ASSERT_EQ(BUF_SIZE + half, bytes);
	/* DMA goes on while the vaddr is invalid. */
	ASSERT_EQ(EDU_IDENT, p2p_read(reader(), IOVA_BAR));

	/* Other PFNs, RAM, too little access, leaving the mapping. */
	test_err_range_map_flags(EINVAL, bar3 + SZ_4K, IOVA_BAR,
				 IOVA_BAR + half - 1, VFIO_RANGE_MAP_VADDR);
	test_err_range_map_flags(EFAULT, self->ram2, IOVA_BAR,
				 IOVA_BAR + half - 1, VFIO_RANGE_MAP_VADDR);
	test_err_range_map_flags(EFAULT, ro, IOVA_BAR, IOVA_BAR + half - 1,
				 VFIO_RANGE_MAP_VADDR);
	test_err_range_map_flags(EINVAL, bar3 + half + SZ_4K, IOVA_BAR,
				 IOVA_BAR + half - 1, VFIO_RANGE_MAP_VADDR);
	ASSERT_EQ(EDU_IDENT, p2p_read(reader(), IOVA_BAR));

	test_range_map_flags(bar3, IOVA_BAR, IOVA_BAR + half - 1,
			     VFIO_RANGE_MAP_VADDR);
	test_range_map_flags(self->ram, IOVA_RAM, IOVA_RAM + BUF_SIZE - 1,
			     VFIO_RANGE_MAP_VADDR);
	/* The old mapping no longer matters; the new one does. */
	ASSERT_EQ(0, munmap(bar2, SZ_1M));
	ASSERT_EQ(EDU_IDENT, p2p_read(reader(), IOVA_BAR));
	ASSERT_EQ(0, munmap(bar3, SZ_1M));
	ASSERT_NE(EDU_IDENT, p2p_read(reader(), IOVA_BAR));
	test_range_unmap(0, U64_MAX, BUF_SIZE + half);
	ASSERT_EQ(0, munmap(ro, SZ_1M));
	test_vmlck(0);
}

/* Trimmed requests: the update names the request, vaddr its start. */
TEST_F(mmio, vaddr_update_trimmed)
{
	long long before, after;
	char *bar2, *bar3;
	__u64 bytes;

	SETUP_SKIPPED();
	bar2 = bar_mmap(&self->edu[0], PROT_READ | PROT_WRITE);
	bar3 = bar_mmap(&self->edu[0], PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, bar2);
	ASSERT_NE(NULL, bar3);
	test_trim_map(bar2 + 0x800, IOVA_T + 0x800, IOVA_T + 0x47ff,
		      IOVA_T + 0x1000, IOVA_T + 0x3fff, 0);
	test_trim_map(bar2 + 0x800, IOVA_T2 + 0x800, IOVA_T2 + 0x17ff,
		      0, 0, OUT_EMPTY);
	ASSERT_EQ(0, _test_range_unmap(self->container_fd, 0, U64_MAX,
				       VFIO_RANGE_UNMAP_VADDR, &bytes));
	ASSERT_EQ(0x3000ULL, bytes);
	/* Other PFNs, and an offset that no longer matches. */
	test_err_range_map_flags(EINVAL, bar3 + 0x1800, IOVA_T + 0x800,
				 IOVA_T + 0x47ff, VFIO_RANGE_MAP_VADDR);
	test_err_range_map_flags(EINVAL, bar3 + 0x1000, IOVA_T + 0x800,
				 IOVA_T + 0x47ff, VFIO_RANGE_MAP_VADDR);
	test_range_map_flags(bar3 + 0x800, IOVA_T + 0x800, IOVA_T + 0x47ff,
			     VFIO_RANGE_MAP_VADDR);
	test_range_map_flags(bar3 + 0x800, IOVA_T2 + 0x800, IOVA_T2 + 0x17ff,
			     VFIO_RANGE_MAP_VADDR);
	/* Watched through bar3 now: only its munmap revokes. */
	ASSERT_EQ(0, vrange_counter("revocations", &before));
	ASSERT_EQ(0, munmap(bar2, SZ_1M));
	ASSERT_EQ(0, vrange_counter("revocations", &after));
	ASSERT_EQ(before, after);
	ASSERT_EQ(0, munmap(bar3, SZ_1M));
	ASSERT_EQ(0, vrange_counter("revocations", &after));
	ASSERT_EQ(before + 1, after);
	test_range_unmap(0, U64_MAX, 0x3000);
	test_vmlck(0);
}

/* A BAR mapping whose old user mapping goes while invalid is revoked. */
TEST_F(mmio, vaddr_revoked_while_invalid)
{
	char *bar2, *bar3;
	__u64 bytes;

	SETUP_SKIPPED();
	test_range_map(self->ram, IOVA_RAM, IOVA_RAM + BUF_SIZE - 1);
	bar2 = bar_mmap(&self->edu[0], PROT_READ | PROT_WRITE);
	bar3 = bar_mmap(&self->edu[0], PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, bar2);
	ASSERT_NE(NULL, bar3);
	test_range_map_flags(bar2, IOVA_BAR, IOVA_BAR + SZ_1M - 1, DMA_R);
	ASSERT_EQ(0, _test_range_unmap(self->container_fd, IOVA_BAR,
				       IOVA_BAR + SZ_1M - 1,
				       VFIO_RANGE_UNMAP_VADDR, &bytes));
	ASSERT_EQ(SZ_1M, bytes);
	ASSERT_EQ(0, munmap(bar2, SZ_1M));
	ASSERT_NE(EDU_IDENT, p2p_read(reader(), IOVA_BAR));
	/* The update takes, the mapping stays revoked. */
	test_range_map_flags(bar3, IOVA_BAR, IOVA_BAR + SZ_1M - 1,
			     VFIO_RANGE_MAP_VADDR);
	ASSERT_NE(EDU_IDENT, p2p_read(reader(), IOVA_BAR));
	test_range_unmap(0, U64_MAX, BUF_SIZE + SZ_1M);
	ASSERT_EQ(0, munmap(bar3, SZ_1M));
	test_vmlck(0);
}

/* ---------------------------------------------------------------------- */
/* Notifications                                                          */
/* ---------------------------------------------------------------------- */

/* Reads one event, or returns false if none is queued. */
static bool read_event(int fd, struct vfio_range_event *ev)
{
	return read(fd, ev, sizeof(*ev)) == (ssize_t)sizeof(*ev);
}

#define test_event(fd, _type, _start, _last)				\
	({								\
		struct vfio_range_event __ev;				\
									\
		ASSERT_TRUE(read_event(fd, &__ev));			\
		EXPECT_EQ((__u32)(_type), __ev.type);			\
		EXPECT_EQ((__u64)(_start), __ev.start);			\
		EXPECT_EQ((__u64)(_last), __ev.last);			\
	})

/* BAR maps are reported like RAM ones, with what they mapped. */
TEST_F(mmio, notify)
{
	struct vfio_range_notifier n = {
		.argsz = sizeof(n),
		.events = VFIO_RANGE_EVENT_MAP | VFIO_RANGE_EVENT_UNMAP,
		.granularity = VFIO_RANGE_GRANULARITY_ARBITRARY,
		.start = 0,
		.last = U64_MAX,
	};
	struct vfio_range_event ev;
	int fd;

	SETUP_SKIPPED();
	fd = ioctl(self->container_fd, VFIO_IOMMU_RANGE_NOTIFIER, &n);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fcntl(fd, F_SETFL, O_NONBLOCK));

	test_range_map_flags(self->bar, IOVA_BAR, IOVA_BAR + SZ_1M - 1, DMA_R);
	test_event(fd, VFIO_RANGE_EVENT_MAP, IOVA_BAR, IOVA_BAR + SZ_1M - 1);
	test_trim_map(self->bar + 0x800, IOVA_T + 0x800, IOVA_T + 0x47ff,
		      IOVA_T + 0x1000, IOVA_T + 0x3fff, 0);
	test_event(fd, VFIO_RANGE_EVENT_MAP, IOVA_T + 0x1000, IOVA_T + 0x3fff);
	/* Mapping nothing and unmapping it makes no event. */
	test_trim_map(self->bar + 0x10800, IOVA_T + 0x10800, IOVA_T + 0x10fff,
		      0, 0, OUT_EMPTY);
	test_range_unmap(IOVA_T + 0x10800, IOVA_T + 0x10fff, 0);
	EXPECT_ERRNO(EAGAIN, read(fd, &ev, sizeof(ev)));

	test_range_unmap(IOVA_T + 0x800, IOVA_T + 0x47ff, 0x3000);
	test_event(fd, VFIO_RANGE_EVENT_UNMAP, IOVA_T + 0x1000,
		   IOVA_T + 0x3fff);
	test_range_unmap(0, U64_MAX, SZ_1M);
	test_event(fd, VFIO_RANGE_EVENT_UNMAP, IOVA_BAR, IOVA_BAR + SZ_1M - 1);
	EXPECT_ERRNO(EAGAIN, read(fd, &ev, sizeof(ev)));
	close(fd);
}

TEST_HARNESS_MAIN
