// SPDX-License-Identifier: GPL-2.0-only
/*
 * Regression tests for safety defects of the vfio-range IOMMU backend:
 *
 *  - a private (copy-on-write) user mapping of device memory (/dev/mem,
 *    /dev/hpet) is never mapped for DMA; a shared read-only one maps for
 *    device reads only;
 *  - a BAR mapping is revoked only when the user really loses access to it
 *    (not for soft-dirty clearing or an mprotect() that keeps what the
 *    request needs), and a revocation is reported to the clients that
 *    asked for VFIO_RANGE_EVENT_REVOKED, in aligned blocks to aligned
 *    clients;
 *  - VFIO_IOMMU_GET_INFO leaks no kernel bytes through the padding of its
 *    structure;
 *  - a notifier read() whose buffer faults part-way returns the records it
 *    delivered and counts only the others as lost;
 *  - an old binary's VFIO_IOMMU_RANGE_MAP (argsz without the out_ fields)
 *    in read-only memory succeeds, since nothing is written back;
 *  - a map request of all 2^64 bytes is EINVAL and maps nothing;
 *  - RLIMIT_MEMLOCK is charged per user for as long as the pages stay
 *    pinned, whichever process of that user maps or holds the container.
 *
 * Needs root, vfio_iommu_range.ko and vfio_range_test.ko loaded and an edu
 * device; the /dev/mem tests and the memory-decode revocation need a
 * second edu device and skip without one.
 */
#include "vfio_range_utils.h"

#include <grp.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

/* All below 256 MiB: edu masks its DMA addresses to 28 bits. */
#define IOVA_RAM	0x0100000ULL
#define IOVA_RAM2	0x0200000ULL
#define IOVA_BAR	0x1000000ULL	/* 1 MiB aligned, for all of BAR0 */
#define IOVA_BAR2	0x2000000ULL
#define BUF_SIZE	(16 * SZ_4K)

#define DMA_R		VFIO_RANGE_MAP_READ
#define DMA_RW		(VFIO_RANGE_MAP_READ | VFIO_RANGE_MAP_WRITE)


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
	__edu_p2p_read(_metadata, edu, (volatile __u32 *)self->ram,	\
		       IOVA_RAM, iova)
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
	const char *skip;	/* set by the setup: every test skips */
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
	SETUP_SKIP_IF_GRANULE();

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

	SETUP_SKIPPED();
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

	SETUP_SKIPPED();
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

/* ---------------------------------------------------------------------- */
/* Notifier records                                                       */
/* ---------------------------------------------------------------------- */

#define EV_MAP		VFIO_RANGE_EVENT_MAP
#define EV_UNMAP	VFIO_RANGE_EVENT_UNMAP
#define EV_OVERFLOW	VFIO_RANGE_EVENT_OVERFLOW
#define EV_REVOKED	VFIO_RANGE_EVENT_REVOKED
#define EV_ALL		(EV_MAP | EV_UNMAP | EV_REVOKED)
#define ARB		VFIO_RANGE_GRANULARITY_ARBITRARY
#define ALIGNED		VFIO_RANGE_GRANULARITY_ALIGNED

/*
 * A REVOKED record comes from a kernel worker shortly after the
 * revocation; give it a few seconds under TCG. Where no record may come,
 * wait a second for one.
 */
#define REVOKED_WAIT_MS	5000
#define QUIET_MS	1000

static const char *ev_name(__u32 type)
{
	return type == EV_MAP ? "MAP" : type == EV_UNMAP ? "UNMAP" :
	       type == EV_OVERFLOW ? "OVERFLOW" :
	       type == EV_REVOKED ? "REVOKED" : "?";
}

#define ev_log(what, ev)						\
	TH_LOG("%s: %s(%#x) flags %#x seq %llu [%#llx, %#llx] mask %#llx lost %llu", \
	       what, ev_name((ev)->type), (ev)->type, (ev)->flags,	\
	       (unsigned long long)(ev)->seq,				\
	       (unsigned long long)(ev)->start,				\
	       (unsigned long long)(ev)->last,				\
	       (unsigned long long)(ev)->addr_mask,			\
	       (unsigned long long)(ev)->lost)

/*
 * Reads one record from the non-blocking notifier @fd, waiting up to @ms
 * for it with poll(); false if none came.
 */
static bool wait_record(int fd, struct vfio_range_event *ev, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	long long deadline = now_ms() + ms, left;

	for (;;) {
		if (read(fd, ev, sizeof(*ev)) == (ssize_t)sizeof(*ev))
			return true;
		left = deadline - now_ms();
		if (left <= 0)
			return false;
		poll(&pfd, 1, (int)left);
	}
}

/* A notifier fd on the fixture's container, non-blocking. */
#define test_notifier(events, gran, start, last)			\
	({								\
		int __fd = _test_notifier(self->container_fd, events,	\
					  gran, start, last, 0);	\
									\
		ASSERT_LE(0, __fd)					\
			TH_LOG("VFIO_IOMMU_RANGE_NOTIFIER: %s",		\
			       strerror(errno));			\
		ASSERT_EQ(0, fcntl(__fd, F_SETFL, O_NONBLOCK));		\
		__fd;							\
	})

/*
 * The next record on @fd, within @ms, is @_type over [@_start, @_last]
 * with @_mask; returns its seq.
 */
#define test_record_wait(fd, ms, _type, _start, _last, _mask)		\
	({								\
		struct vfio_range_event __ev;				\
									\
		ASSERT_TRUE(wait_record(fd, &__ev, ms))			\
			TH_LOG("no %s record for [%#llx, %#llx] within %d ms", \
			       ev_name(_type),				\
			       (unsigned long long)(_start),		\
			       (unsigned long long)(_last), ms);	\
		if (__ev.type != (__u32)(_type) ||			\
		    __ev.start != (__u64)(_start) ||			\
		    __ev.last != (__u64)(_last))			\
			ev_log("got", &__ev);				\
		ASSERT_EQ((__u32)(_type), __ev.type);			\
		ASSERT_EQ((__u64)(_start), __ev.start);			\
		ASSERT_EQ((__u64)(_last), __ev.last);			\
		ASSERT_EQ((__u64)(_mask), __ev.addr_mask);		\
		ASSERT_EQ(0U, __ev.flags);				\
		ASSERT_EQ(0ULL, __ev.lost);				\
		ASSERT_NE(0ULL, __ev.seq);				\
		__ev.seq;						\
	})
/* Records of maps and unmaps are queued before the ioctl returns. */
#define test_record(fd, _type, _start, _last, _mask)			\
	test_record_wait(fd, 0, _type, _start, _last, _mask)

/* No record at all arrives on @fd within @ms. */
#define test_no_record(fd, ms, why)					\
	({								\
		struct vfio_range_event __ev;				\
		bool __got = wait_record(fd, &__ev, ms);		\
									\
		if (__got)						\
			ev_log(why, &__ev);				\
		ASSERT_FALSE(__got);					\
	})

/* ---------------------------------------------------------------------- */
/* Fixture: one or two edu devices in one container                       */
/* ---------------------------------------------------------------------- */

FIXTURE(safety)
{
	const char *skip;	/* set by the setup: every test skips */
	int container_fd;
	int group_fd[2];
	struct edu_info info[2];
	struct edu_dev edu[2];
	int nr_edu;
	char *ram;		/* BUF_SIZE */
	char *bar2;		/* a second mapping of edu[0]'s BAR0 */
	bool mem_off;		/* edu[0]'s memory decode is turned off */
	long vmlck_kb;
};

FIXTURE_SETUP(safety)
{
	struct iommu_info iommu;

	self->container_fd = -1;
	self->group_fd[0] = -1;
	self->group_fd[1] = -1;
	edu_init(&self->edu[0]);
	edu_init(&self->edu[1]);

	self->nr_edu = __edu_peers_setup(_metadata, &self->container_fd,
					  self->group_fd, self->info, self->edu);

	__get_iommu_info(_metadata, self->container_fd, &iommu);
	/* Most tests map edu's BAR0 or count in 4 KiB pages. */
	if (iommu.pgsize != SZ_4K)
		self->skip = GRANULE_SKIP;
	ASSERT_EQ(SZ_1M, self->edu[0].bar0_size);

	self->ram = test_mmap(BUF_SIZE, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, self->ram);
	self->vmlck_kb = vmlck_kb(0);
	ASSERT_LE(0, self->vmlck_kb);
}

FIXTURE_TEARDOWN(safety)
{
	if (self->mem_off)
		edu_set_memory_decode(&self->edu[0], true);
	if (self->bar2)
		munmap(self->bar2, SZ_1M);
	edu_close(&self->edu[0]);
	edu_close(&self->edu[1]);
	vfio_close(&self->group_fd[0]);
	vfio_close(&self->group_fd[1]);
	vfio_close(&self->container_fd);
	if (self->ram)
		munmap(self->ram, BUF_SIZE);
}

/*
 * The device that reads edu[0]'s BAR in the tests below: the second edu if
 * there is one (a peer), else edu[0] itself.
 */
#define reader()	(&self->edu[self->nr_edu - 1])

/* A second mapping of edu[0]'s BAR0, read-write and shared, in self->bar2. */
#define test_bar2_mmap()						\
	({								\
		void *__bar = mmap(NULL, SZ_1M, PROT_READ | PROT_WRITE,	\
				   MAP_SHARED, self->edu[0].fd,		\
				   self->edu[0].bar0_offset);		\
									\
		ASSERT_NE(MAP_FAILED, __bar)				\
			TH_LOG("mmap BAR0: %s", strerror(errno));	\
		self->bar2 = __bar;					\
		ASSERT_EQ(EDU_IDENT, *(volatile __u32 *)self->bar2);	\
	})

/*
 * The start of every revocation test: RAM at IOVA_RAM, a notifier fd for
 * MAP, UNMAP and REVOKED over everything, and edu[0]'s BAR0 (through
 * self->bar2) mapped at IOVA_BAR with @flags and readable by reader().
 * Returns the fd; *@seq gets the seq of the BAR map.
 */
#define test_bar_setup(flags, seq)					\
	({								\
		int __fd;						\
									\
		test_range_map(self->ram, IOVA_RAM,			\
			       IOVA_RAM + BUF_SIZE - 1);		\
		test_bar2_mmap();					\
		__fd = test_notifier(EV_ALL, ARB, 0, U64_MAX);		\
		test_range_map_flags(self->bar2, IOVA_BAR,		\
				     IOVA_BAR + SZ_1M - 1, flags);	\
		*(seq) = test_record(__fd, EV_MAP, IOVA_BAR,		\
				     IOVA_BAR + SZ_1M - 1, 0);		\
		ASSERT_EQ(EDU_IDENT, p2p_read(reader(), IOVA_BAR));	\
		__fd;							\
	})

/*
 * The BAR mapping survived what the test did to the user mapping: no
 * record comes, and the device still reads the BAR through the IOMMU.
 */
#define test_bar_live(fd, what)						\
	({								\
		test_no_record(fd, QUIET_MS,				\
			       what " revoked the BAR mapping");	\
		ASSERT_EQ(EDU_IDENT, p2p_read(reader(), IOVA_BAR))	\
			TH_LOG(what ": the BAR mapping was revoked");	\
	})

/*
 * The BAR mapping at IOVA_BAR was revoked: DMA to it is blocked at once
 * and a REVOKED record for exactly its range follows, with a seq of its
 * own after @map_seq; nothing else comes.
 */
#define test_bar_revoked(fd, map_seq, what)				\
	({								\
		__u64 __seq;						\
									\
		ASSERT_NE(EDU_IDENT, p2p_read(reader(), IOVA_BAR))	\
			TH_LOG(what ": the BAR is still reachable by DMA"); \
		__seq = test_record_wait(fd, REVOKED_WAIT_MS, EV_REVOKED, \
					 IOVA_BAR, IOVA_BAR + SZ_1M - 1, 0); \
		ASSERT_LT((__u64)(map_seq), __seq);			\
		test_no_record(fd, 0, "after the REVOKED record");	\
		ASSERT_NE(EDU_IDENT, p2p_read(reader(), IOVA_BAR));	\
	})

/* Everything unmapped, the revoked BAR request with what it had mapped. */
#define test_bar_cleanup()						\
	({								\
		test_range_unmap(0, U64_MAX, BUF_SIZE + SZ_1M);		\
		test_range_empty();					\
		test_vmlck(0);						\
	})

/* ---------------------------------------------------------------------- */
/* Revocation only when access is really lost                             */
/* ---------------------------------------------------------------------- */

/*
 * Clearing the soft-dirty bits (write "4" to /proc/self/clear_refs)
 * invalidates the whole address space, yet takes no access away.
 */
TEST_F(safety, revoke_not_soft_dirty)
{
	__u64 seq;
	int fd, cfd;

	SETUP_SKIPPED();
	fd = test_bar_setup(DMA_R, &seq);

	cfd = open("/proc/self/clear_refs", O_WRONLY);
	if (cfd < 0)
		SKIP(goto out, "/proc/self/clear_refs: %s", strerror(errno));
	if (write(cfd, "4", 1) != 1) {
		close(cfd);
		SKIP(goto out, "clearing soft-dirty bits: %s (no CONFIG_MEM_SOFT_DIRTY?)",
		     strerror(errno));
	}
	close(cfd);
	test_bar_live(fd, "clearing soft-dirty bits");
out:
	close(fd);
	test_bar_cleanup();
}

/* An mprotect() that adds PROT_EXEC takes nothing away. */
TEST_F(safety, revoke_not_mprotect_exec)
{
	__u64 seq;
	int fd;

	SETUP_SKIPPED();
	fd = test_bar_setup(DMA_R, &seq);

	if (mprotect(self->bar2, SZ_1M, PROT_READ | PROT_WRITE | PROT_EXEC)) {
		/* Newer kernels mount the anon inodes of VFIO noexec. */
		ASSERT_EQ(EACCES, errno)
			TH_LOG("mprotect +PROT_EXEC: %s", strerror(errno));
		SKIP(goto out, "mprotect(PROT_EXEC) of a vfio-pci BAR mapping refused (EACCES)");
	}
	test_bar_live(fd, "mprotect +PROT_EXEC");
out:
	close(fd);
	test_bar_cleanup();
}

/* RW -> R keeps all that a READ request needs. */
TEST_F(safety, revoke_not_mprotect_ro_read)
{
	__u64 seq;
	int fd;

	SETUP_SKIPPED();
	fd = test_bar_setup(DMA_R, &seq);
	ASSERT_EQ(0, mprotect(self->bar2, SZ_1M, PROT_READ));
	test_bar_live(fd, "mprotect RW -> R of a READ request");
	close(fd);
	test_bar_cleanup();
}

/* RW -> R takes away the write a READ|WRITE request needs: revoked. */
TEST_F(safety, revoke_mprotect_ro_write)
{
	__u64 seq;
	int fd;

	SETUP_SKIPPED();
	fd = test_bar_setup(DMA_RW, &seq);
	ASSERT_EQ(0, mprotect(self->bar2, SZ_1M, PROT_READ));
	test_bar_revoked(fd, seq, "mprotect RW -> R of a READ|WRITE request");
	close(fd);
	test_bar_cleanup();
}

/*
 * vfio-pci revokes the user's BAR mappings itself when memory decode is
 * turned off (PCI_COMMAND_MEMORY cleared in the config space). The IOMMU
 * mapping goes with them and stays gone when decode is back on. To
 * re-establish it, userspace unmaps exactly the request's range (which
 * reports the bytes it had mapped) and maps it again.
 */
TEST_F(safety, revoke_memory_decode)
{
	struct vfio_range_event ev;
	__u64 seq, seq2;
	int fd;

	SETUP_SKIPPED();
	/* edu[0] stops answering, so another device must do the reading. */
	if (self->nr_edu < 2)
		SKIP(return, "needs two edu devices in two IOMMU groups");
	fd = test_bar_setup(DMA_R, &seq);

	self->mem_off = true;
	ASSERT_EQ(0, edu_set_memory_decode(&self->edu[0], false))
		TH_LOG("clearing PCI_COMMAND_MEMORY: %s", strerror(errno));
	test_bar_revoked(fd, seq, "memory decode off");

	ASSERT_EQ(0, edu_set_memory_decode(&self->edu[0], true));
	self->mem_off = false;
	ASSERT_EQ(EDU_IDENT, edu_read32(&self->edu[0], EDU_REG_IDENT));
	/* Never mapped again by itself. */
	ASSERT_NE(EDU_IDENT, p2p_read(reader(), IOVA_BAR));
	test_no_record(fd, 0, "memory decode on");

	/* Re-establish: unmap + map. */
	test_range_unmap(IOVA_BAR, IOVA_BAR + SZ_1M - 1, SZ_1M);
	/* Whether the revoked request makes an UNMAP record is not asked. */
	if (wait_record(fd, &ev, 0)) {
		ASSERT_EQ((__u32)EV_UNMAP, ev.type);
		ASSERT_EQ(IOVA_BAR, ev.start);
		ASSERT_EQ(IOVA_BAR + SZ_1M - 1, ev.last);
	}
	test_range_map_flags(self->bar2, IOVA_BAR, IOVA_BAR + SZ_1M - 1,
			     DMA_R);
	seq2 = test_record(fd, EV_MAP, IOVA_BAR, IOVA_BAR + SZ_1M - 1, 0);
	ASSERT_LT(seq, seq2);
	ASSERT_EQ(EDU_IDENT, p2p_read(reader(), IOVA_BAR));
	close(fd);
	test_bar_cleanup();
}

/*
 * REVOKED reaches the clients that asked for it, split into aligned blocks
 * for aligned ones like their MAP records, and no other client. The
 * request maps the BAR's first 3 pages at IOVA_BAR + [0x1000, 0x3fff]:
 * blocks [+0x1000, +0x1fff] and [+0x2000, +0x3fff]. munmap() revokes it.
 */
TEST_F(safety, revoke_record_clients)
{
	const __u64 start = IOVA_BAR + 0x1000, last = IOVA_BAR + 0x3fff;
	int arb, aligned, revoked_only, blind;
	__u64 seq, rseq, s;

	SETUP_SKIPPED();
	test_range_map(self->ram, IOVA_RAM, IOVA_RAM + BUF_SIZE - 1);
	test_bar2_mmap();
	arb = test_notifier(EV_ALL, ARB, 0, U64_MAX);
	aligned = test_notifier(EV_MAP | EV_REVOKED, ALIGNED, 0, U64_MAX);
	revoked_only = test_notifier(EV_REVOKED, ALIGNED, 0, U64_MAX);
	blind = test_notifier(EV_MAP | EV_UNMAP, ARB, 0, U64_MAX);

	test_range_map_flags(self->bar2, start, last, DMA_R);
	seq = test_record(arb, EV_MAP, start, last, 0);
	s = test_record(aligned, EV_MAP, start, start + 0xfff, 0xfff);
	ASSERT_EQ(seq, s);
	s = test_record(aligned, EV_MAP, start + 0x1000, last, 0x1fff);
	ASSERT_EQ(seq, s);
	s = test_record(blind, EV_MAP, start, last, 0);
	ASSERT_EQ(seq, s);
	test_no_record(revoked_only, 0, "REVOKED-only client after a map");
	ASSERT_EQ(EDU_IDENT, p2p_read(reader(), start));

	ASSERT_EQ(0, munmap(self->bar2, SZ_1M));
	self->bar2 = NULL;
	ASSERT_NE(EDU_IDENT, p2p_read(reader(), start));

	rseq = test_record_wait(arb, REVOKED_WAIT_MS, EV_REVOKED, start,
				last, 0);
	ASSERT_LT(seq, rseq);
	/* Aligned clients: the blocks of their MAP records, one seq. */
	s = test_record_wait(aligned, REVOKED_WAIT_MS, EV_REVOKED, start,
			     start + 0xfff, 0xfff);
	ASSERT_EQ(rseq, s);
	s = test_record_wait(aligned, REVOKED_WAIT_MS, EV_REVOKED,
			     start + 0x1000, last, 0x1fff);
	ASSERT_EQ(rseq, s);
	s = test_record_wait(revoked_only, REVOKED_WAIT_MS, EV_REVOKED, start,
			     start + 0xfff, 0xfff);
	ASSERT_EQ(rseq, s);
	s = test_record_wait(revoked_only, REVOKED_WAIT_MS, EV_REVOKED,
			     start + 0x1000, last, 0x1fff);
	ASSERT_EQ(rseq, s);
	/* By now every client heard of it: the blind one did not. */
	test_no_record(blind, QUIET_MS, "a client without REVOKED");
	test_no_record(arb, 0, "after the REVOKED record");
	test_no_record(aligned, 0, "after the REVOKED records");
	test_no_record(revoked_only, 0, "after the REVOKED records");

	test_range_unmap(start, last, 0x3000);
	test_range_unmap(0, U64_MAX, BUF_SIZE);
	test_range_empty();
	test_vmlck(0);
	close(arb);
	close(aligned);
	close(revoked_only);
	close(blind);
}

/* ---------------------------------------------------------------------- */
/* VFIO_IOMMU_GET_INFO: no kernel bytes in the padding                    */
/* ---------------------------------------------------------------------- */

/*
 * Container ioctls that copy a structure of 0xa5 bytes onto the kernel
 * stack and then fail (an unknown flag): run just before GET_INFO, they
 * leave there what a leak through its padding would show.
 */
static void stack_prime(int fd, int which)
{
	union {
		struct vfio_range_map map;
		struct vfio_range_unmap unmap;
		struct vfio_range_notifier notifier;
	} u;

	memset(&u, 0xa5, sizeof(u));
	switch (which) {
	case 0:
		u.map.argsz = sizeof(u.map);
		ioctl(fd, VFIO_IOMMU_RANGE_MAP, &u);
		break;
	case 1:
		u.unmap.argsz = sizeof(u.unmap);
		ioctl(fd, VFIO_IOMMU_RANGE_UNMAP, &u);
		break;
	case 2:
		u.notifier.argsz = sizeof(u.notifier);
		ioctl(fd, VFIO_IOMMU_RANGE_NOTIFIER, &u);
		break;
	}
}

#define STACK_PRIMES	4	/* the three above, and none */

/*
 * The 4 bytes after cap_offset (padding in 6.1's header, "pad" in 6.12's)
 * have no meaning: they must come back zero, not as kernel stack. With
 * argsz = sizeof(struct) the caps do not fit; with room they do.
 */
TEST_F(safety, get_info_pad_zero)
{
	const size_t fixed = sizeof(struct vfio_iommu_type1_info);
	const size_t pad = offsetofend(struct vfio_iommu_type1_info,
				       cap_offset);
	struct vfio_iommu_type1_info *info;
	size_t size = 4096, i;
	unsigned char *p;
	int round;

	info = malloc(size);
	ASSERT_NE(NULL, info);
	p = (unsigned char *)info;
	for (round = 0; round < 4 * STACK_PRIMES; round++) {
		memset(info, 0xa5, size);
		stack_prime(self->container_fd, round % STACK_PRIMES);
		ASSERT_EQ(0, _test_get_info(self->container_fd, info, fixed));
		ASSERT_FLAG(info->flags, VFIO_IOMMU_INFO_PGSIZES |
					 VFIO_IOMMU_INFO_CAPS);
		ASSERT_LT(fixed, info->argsz);
		ASSERT_NE(0ULL, info->iova_pgsizes);
		ASSERT_EQ(0U, info->cap_offset);
		for (i = pad; i < fixed; i++) {
			ASSERT_EQ(0, p[i])
				TH_LOG("argsz %zu, round %d: padding byte %zu is %#x (kernel stack)",
				       fixed, round, i, p[i]);
		}

		memset(info, 0xa5, size);
		stack_prime(self->container_fd, round % STACK_PRIMES);
		ASSERT_EQ(0, _test_get_info(self->container_fd, info, size));
		ASSERT_EQ((__u32)fixed, info->cap_offset);
		for (i = pad; i < fixed; i++) {
			ASSERT_EQ(0, p[i])
				TH_LOG("argsz %zu, round %d: padding byte %zu is %#x (kernel stack)",
				       size, round, i, p[i]);
		}
	}
	free(info);
	test_range_empty();
	test_vmlck(0);
}

/* ---------------------------------------------------------------------- */
/* Notifier read() into a buffer that faults part-way                     */
/* ---------------------------------------------------------------------- */

/*
 * Three records are queued; the buffer has room for three, but only the
 * first one (and, in the second case, part of the next) lies before a
 * PROT_NONE page. read() returns that one record; the next read() gets an
 * overflow record counting the two that were not delivered.
 */
TEST_F(safety, read_partial_fault)
{
	const size_t rec = sizeof(struct vfio_range_event);
	const size_t tails[] = { rec, rec + rec / 2 };
	struct vfio_range_event got[4], *buf;
	__u64 iova, seq = 0, next;
	unsigned int c, i;
	char *pages;
	ssize_t ret;
	int fd;

	SETUP_SKIPPED();
	pages = test_mmap(2 * SZ_4K, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, pages);
	ASSERT_EQ(0, mprotect(pages + SZ_4K, SZ_4K, PROT_NONE));
	fd = test_notifier(EV_MAP, ARB, 0, U64_MAX);

	for (c = 0; c < ARRAY_SIZE(tails); c++) {
		iova = IOVA_RAM + c * 4 * SZ_4K;
		for (i = 0; i < 3; i++) {
			test_range_map(self->ram + (c * 4 + i) * SZ_4K,
				       iova + i * SZ_4K,
				       iova + i * SZ_4K + SZ_4K - 1);
		}
		buf = (void *)(pages + SZ_4K - tails[c]);
		memset(buf, 0xa5, tails[c]);
		ret = read(fd, buf, 3 * rec);
		ASSERT_EQ((ssize_t)rec, ret)
			TH_LOG("read of 3 records, %zu bytes before a PROT_NONE page: %zd (%s)",
			       tails[c], ret, ret < 0 ? strerror(errno) : "");
		ASSERT_EQ((__u32)EV_MAP, buf->type);
		ASSERT_EQ(iova, buf->start);
		ASSERT_EQ(iova + SZ_4K - 1, buf->last);
		seq = buf->seq;
		ASSERT_NE(0ULL, seq);

		/* The other two are lost, and counted. */
		ret = read(fd, got, sizeof(got));
		ASSERT_EQ((ssize_t)rec, ret)
			TH_LOG("read after the fault: %zd (%s)", ret,
			       ret < 0 ? strerror(errno) : "");
		if (got[0].type != EV_OVERFLOW || got[0].lost != 2)
			ev_log("got", &got[0]);
		ASSERT_EQ((__u32)EV_OVERFLOW, got[0].type);
		ASSERT_EQ(2ULL, got[0].lost);
		ASSERT_EQ(0ULL, got[0].seq);
		ASSERT_EQ(0ULL, got[0].start);
		ASSERT_EQ(U64_MAX, got[0].last);
		EXPECT_ERRNO(EAGAIN, read(fd, got, sizeof(got)));
	}

	/* Delivery goes on. */
	test_range_map(self->ram + 15 * SZ_4K, IOVA_RAM2, IOVA_RAM2 + SZ_4K - 1);
	next = test_record(fd, EV_MAP, IOVA_RAM2, IOVA_RAM2 + SZ_4K - 1, 0);
	ASSERT_LT(seq, next);
	close(fd);
	munmap(pages, 2 * SZ_4K);
	test_range_unmap(0, U64_MAX, 7 * SZ_4K);
	test_vmlck(0);
}

/* ---------------------------------------------------------------------- */
/* An old binary's map in read-only memory                                */
/* ---------------------------------------------------------------------- */

/*
 * With argsz = offsetofend(last), 32 bytes, there are no out_ fields to
 * write back: the structure may be read-only, as a const one of an old
 * binary can be.
 */
TEST_F(safety, map_argsz_old_readonly)
{
	struct vfio_range_map *cmd;
	char *page;
	int ret;

	SETUP_SKIPPED();
	page = test_mmap(SZ_4K, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, page);
	cmd = (void *)page;
	memset(page, 0, SZ_4K);
	cmd->argsz = offsetofend(struct vfio_range_map, last);
	ASSERT_EQ(32U, cmd->argsz);
	cmd->flags = DMA_RW;
	cmd->vaddr = (uintptr_t)self->ram;
	cmd->start = IOVA_RAM;
	cmd->last = IOVA_RAM + BUF_SIZE - 1;
	ASSERT_EQ(0, mprotect(page, SZ_4K, PROT_READ));

	ret = ioctl(self->container_fd, VFIO_IOMMU_RANGE_MAP, cmd);
	ASSERT_EQ(0, ret)
		TH_LOG("VFIO_IOMMU_RANGE_MAP, argsz 32, read-only: %s",
		       strerror(errno));
	test_vmlck(BUF_SIZE);
	test_range_unmap(IOVA_RAM, IOVA_RAM + BUF_SIZE - 1, BUF_SIZE);
	test_range_empty();
	test_vmlck(0);
	munmap(page, SZ_4K);
}

/* ---------------------------------------------------------------------- */
/* A map request of all 2^64 bytes                                        */
/* ---------------------------------------------------------------------- */

/* No length holds 2^64: [0, U64_MAX] cannot be mapped, whatever backs it. */
#define test_map_all_refused()						\
	({								\
		test_err_range_map_flags(EINVAL, 0, 0, U64_MAX, DMA_RW); \
		test_err_range_map_flags(EINVAL, 0, 0, U64_MAX, DMA_R);	\
		test_err_range_map_flags(EINVAL, self->ram, 0, U64_MAX,	\
					 DMA_RW);			\
		test_err_range_map_flags(EINVAL, self->ram, 0, U64_MAX,	\
					 DMA_R);			\
		test_range_empty();					\
		test_vmlck(0);						\
	})

TEST_F(safety, map_all_2_64)
{
	test_map_all_refused();
}

/*
 * The same in a container whose usable IOVA space is all of [0, U64_MAX]
 * (an emulated-IOMMU device of vfio_range_test.ko), where no ERANGE check
 * comes first.
 */
FIXTURE(emu_space)
{
	int test_fd;
	struct emu e;
	int container_fd;
	char *ram;
	long vmlck_kb;
};

FIXTURE_SETUP(emu_space)
{
	self->container_fd = -1;
	emu_init(&self->e);
	self->test_fd = open(VFIO_RANGE_TEST_DEV, O_RDWR);
	ASSERT_LE(0, self->test_fd)
		TH_LOG("open %s: %s (is vfio_range_test.ko loaded?)",
		       VFIO_RANGE_TEST_DEV, strerror(errno));
	__emu_create(_metadata, self->test_fd, &self->e);
	self->container_fd = self->e.container_fd;
	self->ram = test_mmap(BUF_SIZE, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, self->ram);
	self->vmlck_kb = vmlck_kb(0);
	ASSERT_LE(0, self->vmlck_kb);
}

FIXTURE_TEARDOWN(emu_space)
{
	emu_destroy(&self->e);
	self->container_fd = -1;
	vfio_close(&self->test_fd);
	if (self->ram)
		munmap(self->ram, BUF_SIZE);
}

TEST_F(emu_space, map_all_2_64)
{
	struct iommu_info iommu;

	__get_iommu_info(_metadata, self->container_fd, &iommu);
	ASSERT_EQ(1U, iommu.nr_ranges);
	ASSERT_EQ(0ULL, iommu.ranges[0].start);
	ASSERT_EQ(U64_MAX, iommu.ranges[0].end);
	test_map_all_refused();
	/* The top of the space alone maps fine. */
	test_range_map(self->ram, U64_MAX - BUF_SIZE + 1, U64_MAX);
	test_vmlck(BUF_SIZE);
	test_range_unmap(0, U64_MAX, BUF_SIZE);
	test_vmlck(0);
}

/* ---------------------------------------------------------------------- */
/* RLIMIT_MEMLOCK per user, for as long as the pages stay pinned          */
/* ---------------------------------------------------------------------- */

FIXTURE(memlock)
{
	const char *skip;	/* set by the setup: every test skips */
	int group;
	int container_fd;
	int group_fd;
};

FIXTURE_SETUP(memlock)
{
	self->container_fd = -1;
	self->group_fd = -1;
	SETUP_SKIP_IF_GRANULE();
	self->group = first_edu_group(_metadata);
}

FIXTURE_TEARDOWN(memlock)
{
	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);
}

/* The uid and gid of the test, used by nothing else. */
#define MEMLOCK_ID		4242
#define MEMLOCK_GENERATIONS	4
#define IOVA_PINNED	0x1000000ULL
#define IOVA_MORE(gen)	(0x2000000ULL + (gen) * SZ_64K)

/* Waits until the parent of this process is no longer @parent. */
static void wait_orphaned(pid_t parent)
{
	while (getppid() == parent)
		usleep(1000);
}

/*
 * Generations 1 and later of the processes of user MEMLOCK_ID sharing one
 * container, each the child of the one before: generation 0 pinned
 * 64 KiB, all of RLIMIT_MEMLOCK. Each starts with a fresh mm (locked_vm
 * 0), yet finds the limit used up, also once the process that pinned is
 * gone. Generation 1 checks once while generation 0 is alive, tells it on
 * @go to exit, waits for that and checks again; each later one starts once
 * its parent exited. Each writes its generation number to @report when
 * its checks passed, the last one "E" after it unmapped everything and
 * found the limit back.
 */
static void memlock_descendants(struct __test_metadata *_metadata,
				FIXTURE_DATA(memlock) *self, char *buf,
				int report, int go)
{
	pid_t parent, pid;
	int gen;
	char tag;
	long base;

	/* Generation 0 waits on @go for generation 1. */
	parent = getppid();
	for (gen = 1; ; gen++) {
		if (gen > 1)
			wait_orphaned(parent);
		test_err_range_map(ENOMEM, buf + SZ_64K, IOVA_MORE(gen),
				   IOVA_MORE(gen) + SZ_4K - 1);
		if (gen == 1) {
			ASSERT_EQ(1, write(go, "g", 1));
			close(go);
			wait_orphaned(parent);
			test_err_range_map(ENOMEM, buf + SZ_64K,
					   IOVA_MORE(gen),
					   IOVA_MORE(gen) + SZ_4K - 1);
		}
		tag = '0' + gen;
		ASSERT_EQ(1, write(report, &tag, 1));
		if (gen + 1 == MEMLOCK_GENERATIONS)
			break;

		/* Taken before fork(): this one may be gone by then. */
		parent = getpid();
		pid = fork();
		ASSERT_LE(0, pid);
		/* Exits first, with the container held by the next one. */
		if (pid)
			_exit(_metadata->passed ? 0 : 1);
	}

	/* The last one: unpinning gives the user its limit back. */
	base = vmlck_kb(0);
	ASSERT_LE(0, base);
	test_range_unmap(0, U64_MAX, SZ_64K);
	test_range_map(buf, IOVA_PINNED, IOVA_PINNED + SZ_64K - 1);
	ASSERT_VMLCK(base, SZ_64K);
	test_err_range_map(ENOMEM, buf + SZ_64K, IOVA_MORE(gen),
			   IOVA_MORE(gen) + SZ_4K - 1);
	test_range_unmap(0, U64_MAX, SZ_64K);
	ASSERT_VMLCK(base, 0);
	test_range_empty();
	ASSERT_EQ(1, write(report, "E", 1));
	_exit(_metadata->passed ? 0 : 1);
}

/*
 * In a forked child, with RLIMIT_MEMLOCK at 64 KiB: set the container up
 * as root, become user MEMLOCK_ID (which drops every capability, so also
 * CAP_IPC_LOCK), pin the 64 KiB and find 4 KiB more refused. Then a chain
 * of descendants sharing the container (memlock_generation()), the first
 * process exiting while later ones hold the container: the pins stay
 * charged to the user, so none of them can pin 4 KiB more; once the last
 * one unmapped everything, the user can pin 64 KiB again. The test
 * process is the subreaper of them all and checks how each one ended.
 */
TEST_F(memlock, per_user_charge)
{
	struct rlimit rl = { .rlim_cur = SZ_64K, .rlim_max = SZ_64K };
	char got[MEMLOCK_GENERATIONS + 2] = "";
	const char *expect = "0123E";
	int report[2], go[2], status, ended = 0;
	long vmlck_base, base;
	size_t len = 0;
	char *buf, c;
	pid_t pid;

	SETUP_SKIPPED();
	ASSERT_EQ(MEMLOCK_GENERATIONS + 1, (int)strlen(expect));
	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1));
	ASSERT_EQ(0, pipe(report));
	vmlck_base = vmlck_kb(0);
	ASSERT_LE(0, vmlck_base);

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(report[0]);
		ASSERT_TRUE(has_cap_ipc_lock())
			TH_LOG("the test needs CAP_IPC_LOCK to begin with (root)");
		ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
		__vfio_container_setup(_metadata, self->group,
				       VFIO_RANGE_IOMMU, &self->container_fd,
				       &self->group_fd);
		buf = test_mmap(2 * SZ_64K, PROT_READ | PROT_WRITE);
		ASSERT_NE(NULL, buf);
		memset(buf, 0x77, 2 * SZ_64K);

		ASSERT_EQ(0, setgroups(0, NULL));
		ASSERT_EQ(0, setresgid(MEMLOCK_ID, MEMLOCK_ID, MEMLOCK_ID));
		ASSERT_EQ(0, setresuid(MEMLOCK_ID, MEMLOCK_ID, MEMLOCK_ID));
		ASSERT_EQ((uid_t)MEMLOCK_ID, geteuid());
		ASSERT_FALSE(has_cap_ipc_lock());
		/* Sanity: the kernel sees the limit and the missing cap. */
		EXPECT_ERRNO(ENOMEM, mlock(buf, SZ_64K + SZ_4K));

		base = vmlck_kb(0);
		ASSERT_LE(0, base);
		test_range_map(buf, IOVA_PINNED, IOVA_PINNED + SZ_64K - 1);
		ASSERT_VMLCK(base, SZ_64K);
		test_err_range_map(ENOMEM, buf + SZ_64K, IOVA_MORE(0),
				   IOVA_MORE(0) + SZ_4K - 1);
		ASSERT_VMLCK(base, SZ_64K);
		ASSERT_EQ(1, write(report[1], "0", 1));

		ASSERT_EQ(0, pipe(go));
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			close(go[0]);
			memlock_descendants(_metadata, self, buf, report[1],
					    go[1]);
		}
		close(go[1]);
		/* Generation 1 checked with this one alive: go first. */
		ASSERT_EQ(1, read(go[0], &c, 1));
		_exit(_metadata->passed ? 0 : 1);
	}
	close(report[1]);

	/* One tag per generation, in order, then "E" from the last. */
	while (len < sizeof(got) - 1 && read(report[0], &c, 1) == 1)
		got[len++] = c;
	close(report[0]);
	while ((pid = waitpid(-1, &status, 0)) > 0) {
		ended++;
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
			TH_LOG("descendant %d: %s %d", pid,
			       WIFEXITED(status) ? "exit status" : "signal",
			       WIFEXITED(status) ? WEXITSTATUS(status) :
			       WTERMSIG(status));
	}
	ASSERT_EQ(MEMLOCK_GENERATIONS, ended);
	ASSERT_STREQ(expect, got)
		TH_LOG("the generations stopped after \"%s\"", got);
	ASSERT_VMLCK(vmlck_base, 0);
}

TEST_HARNESS_MAIN
