// SPDX-License-Identifier: GPL-2.0-only
/*
 * Live update (VFIO_UPDATE_VADDR, QEMU's CPR) on the range uAPI:
 * VFIO_RANGE_UNMAP_VADDR invalidates the vaddr of mappings that stay
 * mapped, VFIO_RANGE_MAP_VADDR gives each its new vaddr, which must show
 * the same pages. Errnos of both, inclusive ranges up to [0, U64_MAX],
 * locked_vm moving to the updating process, no group attach and no
 * emulated devices meanwhile, and edu DMA going on while the container is
 * handed over a unix socket to a second process that has the memory at
 * another address (native and compat front doors).
 *
 * Needs root, vfio_iommu_range.ko and vfio_range_test.ko loaded, an edu
 * device; the attach test needs a second one.
 */
#include "vfio_range_utils.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define IOVA_BASE	0x100000ULL	/* below edu's 28-bit DMA mask */
#define BUF_PAGES	16U

#define INVAL		VFIO_RANGE_UNMAP_VADDR
#define UPDATE		VFIO_RANGE_MAP_VADDR

#define invalidate(start, last, bytes)					\
	({								\
		__u64 __b = OUT_POISON;					\
									\
		ASSERT_EQ(0, _test_range_unmap(self->container_fd,	\
					       start, last, INVAL,	\
					       &__b))			\
			TH_LOG("invalidate [%#llx, %#llx]: %s",		\
			       (unsigned long long)(start),		\
			       (unsigned long long)(last),		\
			       strerror(errno));			\
		ASSERT_EQ((__u64)(bytes), __b);				\
	})
#define err_invalidate(_errno, start, last)				\
	test_err_range_unmap_flags(_errno, start, last, INVAL)
#define update(buf, start, last)					\
	test_range_map_flags(buf, start, last, UPDATE)
#define err_update(_errno, buf, start, last)				\
	test_err_range_map_flags(_errno, buf, start, last, UPDATE)
/* An invalid vaddr cannot be invalidated again. */
#define assert_invalid(start, last)	err_invalidate(EINVAL, start, last)
/* A valid one cannot be updated. */
#define assert_valid(buf, start, last)	err_update(EINVAL, buf, start, last)

FIXTURE(vaddr)
{
	int container_fd;
	int group_fd;
	struct iommu_info info;
	__u64 pg;
	size_t len;		/* BUF_PAGES pages */
	int memfd;
	char *a, *b;		/* the memfd's pages, at two addresses */
	char *other;		/* other memory */
	long vmlck;
	const char *skip;	/* set by the setup: every test skips */
};

FIXTURE_SETUP(vaddr)
{
	self->container_fd = -1;
	self->group_fd = -1;
	self->memfd = -1;
	/* Its memfd mappings are not aligned to a granule above a page. */
	SETUP_SKIP_IF_GRANULE();
	__vfio_container_setup(_metadata, first_edu_group(_metadata),
			       VFIO_RANGE_IOMMU, &self->container_fd,
			       &self->group_fd);
	__get_iommu_info(_metadata, self->container_fd, &self->info);
	self->pg = self->info.pgsize;
	ASSERT_EQ((__u64)getpagesize(), self->pg);
	self->len = BUF_PAGES * self->pg;
	self->memfd = test_mmap_twice(self->len, &self->a, &self->b);
	ASSERT_LE(0, self->memfd);
	ASSERT_NE(self->a, self->b);
	self->other = test_mmap(self->len, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, self->other);
	self->vmlck = vmlck_kb(0);
	ASSERT_LE(0, self->vmlck);
}

FIXTURE_TEARDOWN(vaddr)
{
	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);
	if (self->memfd >= 0) {
		munmap(self->a, self->len);
		munmap(self->b, self->len);
		close(self->memfd);
	}
	if (self->other)
		munmap(self->other, self->len);
}

TEST_F(vaddr, extension)
{
	SETUP_SKIPPED();

	ASSERT_EQ(1, ioctl(self->container_fd, VFIO_CHECK_EXTENSION,
			   VFIO_UPDATE_VADDR));
}

TEST_F(vaddr, invalidate_errnos)
{
	const __u64 pg = self->pg, b = IOVA_BASE;

	SETUP_SKIPPED();

	test_range_map(self->a, b, b + 4 * pg - 1);
	test_range_map(self->a + 4 * pg, b + 4 * pg, b + 6 * pg - 1);

	test_err_range_unmap_flags(EINVAL, b, b + 4 * pg - 1, INVAL | 1U << 1);
	err_invalidate(EINVAL, b + pg, b);		/* start > last */
	err_invalidate(EINVAL, b + pg, b + 4 * pg - 1);	/* straddles start */
	err_invalidate(EINVAL, b, b + 5 * pg - 1);	/* straddles last */
	invalidate(b + 100 * pg, b + 200 * pg, 0);	/* nothing there */

	invalidate(b, b + 4 * pg - 1, 4 * pg);
	assert_invalid(b, b + 4 * pg - 1);
	/* One invalid already: the other is not marked either. */
	err_invalidate(EINVAL, b, b + 6 * pg - 1);
	err_invalidate(EINVAL, 0, U64_MAX);
	assert_valid(self->b + 4 * pg, b + 4 * pg, b + 6 * pg - 1);
	ASSERT_VMLCK(self->vmlck, 6 * pg);

	/* Unmap takes invalid mappings as any other. */
	test_range_unmap(0, U64_MAX, 6 * pg);
	ASSERT_VMLCK(self->vmlck, 0);
	err_update(ENOENT, self->b, b, b + 4 * pg - 1);
}

TEST_F(vaddr, update_errnos)
{
	const __u64 pg = self->pg, b = IOVA_BASE, l = b + 4 * pg - 1;
	char *none = test_mmap(4 * pg, PROT_NONE);
	char *gone = test_mmap(4 * pg, PROT_READ | PROT_WRITE);
	char *ro = mmap(NULL, 4 * pg, PROT_READ, MAP_SHARED, self->memfd, 0);

	SETUP_SKIPPED();

	ASSERT_NE(NULL, none);
	ASSERT_NE(NULL, gone);
	ASSERT_NE(MAP_FAILED, ro);
	ASSERT_EQ(0, munmap(gone, 4 * pg));

	test_range_map(self->a, b, l);
	assert_valid(self->b, b, l);
	invalidate(b, l, 4 * pg);

	test_err_range_map_flags(EINVAL, self->b, b, l,
				 UPDATE | VFIO_RANGE_MAP_READ);
	test_err_range_map_flags(EINVAL, self->b, b, l,
				 UPDATE | VFIO_RANGE_MAP_TRIM);
	err_update(EINVAL, self->b, l, b);			/* start > last */
	err_update(ENOENT, self->b, b + 100 * pg, b + 104 * pg - 1);
	err_update(EINVAL, self->b, b, b + 2 * pg - 1);		/* not A's */
	err_update(EINVAL, self->b, b + pg, l);
	err_update(EINVAL, self->b, b, b + 8 * pg - 1);
	err_update(EINVAL, self->b + 1, b, l);			/* offset */
	EXPECT_ERRNO(EOVERFLOW, _test_range_map(self->container_fd,
						0ULL - pg, b, l, UPDATE));
	err_update(EFAULT, none, b, l);
	err_update(EFAULT, gone, b, l);
	err_update(EFAULT, ro, b, l);		/* the request writes */
	err_update(EINVAL, self->other, b, l);	/* other pages */
	err_update(EINVAL, self->b + pg, b, l);	/* the same, shifted */
	assert_invalid(b, l);
	ASSERT_VMLCK(self->vmlck, 4 * pg);

	update(self->b, b, l);
	assert_valid(self->b, b, l);
	ASSERT_VMLCK(self->vmlck, 4 * pg);

	/* A read-only request takes a read-only new address. */
	test_range_map_flags(self->a + 8 * pg, b + 8 * pg, b + 12 * pg - 1,
			     VFIO_RANGE_MAP_READ);
	invalidate(b + 8 * pg, b + 12 * pg - 1, 4 * pg);
	err_update(EINVAL, ro, b + 8 * pg, b + 12 * pg - 1);	/* page 0 */
	munmap(ro, 4 * pg);
	ro = mmap(NULL, 4 * pg, PROT_READ, MAP_SHARED, self->memfd, 8 * pg);
	ASSERT_NE(MAP_FAILED, ro);
	update(ro, b + 8 * pg, b + 12 * pg - 1);

	test_range_unmap(0, U64_MAX, 8 * pg);
	ASSERT_VMLCK(self->vmlck, 0);
	munmap(ro, 4 * pg);
	munmap(none, 4 * pg);
}

/* Inclusive ranges: the top of the usable space, and [0, U64_MAX]. */
TEST_F(vaddr, whole_space)
{
	const __u64 pg = self->pg, top = self->info.top;
	const __u64 hi = top - 4 * pg + 1;

	SETUP_SKIPPED();

	test_range_map(self->a, IOVA_BASE, IOVA_BASE + 4 * pg - 1);
	test_range_map(self->a + 4 * pg, hi, top);
	invalidate(0, U64_MAX, 8 * pg);
	err_invalidate(EINVAL, hi, top);
	err_update(EINVAL, self->b + 4 * pg, hi, top - pg);
	update(self->b + 4 * pg, hi, top);
	assert_invalid(IOVA_BASE, IOVA_BASE + 4 * pg - 1);
	update(self->b, IOVA_BASE, IOVA_BASE + 4 * pg - 1);
	/* Both valid again: all of them can be invalidated once more. */
	invalidate(0, U64_MAX, 8 * pg);
	test_range_unmap(0, U64_MAX, 8 * pg);
	ASSERT_VMLCK(self->vmlck, 0);
}

/* Runs @fn in a child process and returns its exit status, or -1. */
static int in_child(int (*fn)(FIXTURE_DATA(vaddr) *self),
		    FIXTURE_DATA(vaddr) *self)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid)
		_exit(fn(self));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* The child's update takes the locked_vm into its own mm. */
static int child_update(FIXTURE_DATA(vaddr) *self)
{
	long before = vmlck_kb(0);

	if (_test_range_map(self->container_fd, (uintptr_t)self->b, IOVA_BASE,
			    IOVA_BASE + self->len - 1, UPDATE))
		return 1;
	if (vmlck_kb(0) != before + (long)(self->len / 1024))
		return 2;
	return 0;
}

/* Past its RLIMIT_MEMLOCK the child's update fails, changing nothing. */
static int child_update_limited(FIXTURE_DATA(vaddr) *self)
{
	struct rlimit rl = { 0, 0 };

	if (drop_cap_ipc_lock() || setrlimit(RLIMIT_MEMLOCK, &rl))
		return 10;
	if (!_test_range_map(self->container_fd, (uintptr_t)self->b,
			     IOVA_BASE, IOVA_BASE + self->len - 1, UPDATE))
		return 11;
	if (errno != ENOMEM)
		return 12;
	/* Still invalid. */
	if (!_test_range_unmap(self->container_fd, IOVA_BASE,
			       IOVA_BASE + self->len - 1, INVAL, NULL) ||
	    errno != EINVAL)
		return 13;
	return vmlck_kb(0) ? 14 : 0;
}

TEST_F(vaddr, locked_vm_moves)
{
	const __u64 l = IOVA_BASE + self->len - 1;

	SETUP_SKIPPED();

	test_range_map(self->a, IOVA_BASE, l);
	ASSERT_VMLCK(self->vmlck, self->len);
	invalidate(IOVA_BASE, l, self->len);
	ASSERT_EQ(0, in_child(child_update_limited, self));
	ASSERT_VMLCK(self->vmlck, self->len);
	ASSERT_EQ(0, in_child(child_update, self));
	/* It went with the child, which exited. */
	ASSERT_VMLCK(self->vmlck, 0);
	assert_valid(self->b, IOVA_BASE, l);
	test_range_unmap(0, U64_MAX, self->len);
	ASSERT_VMLCK(self->vmlck, 0);
}

/* Closing the container with invalid vaddrs releases everything. */
TEST_F(vaddr, close_while_invalid)
{
	SETUP_SKIPPED();

	test_range_map(self->a, IOVA_BASE, IOVA_BASE + self->len - 1);
	invalidate(0, U64_MAX, self->len);
	ASSERT_VMLCK(self->vmlck, self->len);
	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);
	ASSERT_VMLCK(self->vmlck, 0);
}

/* As type1: no group joins while a vaddr is invalid. */
TEST_F(vaddr, no_attach_while_invalid)
{
	struct edu_info info[EDU_MAX];
	int fd, n = edu_find(info, EDU_MAX);

	SETUP_SKIPPED();

	if (n < 2 || info[0].group == info[1].group)
		SKIP(return, "needs a second edu device in its own group");
	test_range_map(self->a, IOVA_BASE, IOVA_BASE + self->len - 1);
	invalidate(0, U64_MAX, self->len);
	fd = vfio_group_open(info[1].group);
	ASSERT_LE(0, fd);
	EXPECT_ERRNO(EBUSY, ioctl(fd, VFIO_GROUP_SET_CONTAINER,
				  &self->container_fd));
	update(self->b, IOVA_BASE, IOVA_BASE + self->len - 1);
	ASSERT_EQ(0, ioctl(fd, VFIO_GROUP_SET_CONTAINER,
			   &self->container_fd));
	test_range_unmap(0, U64_MAX, self->len);
	close(fd);
}

/* As type1: a container with an emulated-IOMMU device refuses it. */
TEST_F(vaddr, emulated_devices)
{
	int test_fd = open(VFIO_RANGE_TEST_DEV, O_RDWR);
	struct emu e;
	int fd;

	SETUP_SKIPPED();

	ASSERT_LE(0, test_fd)
		TH_LOG("%s: %s (vfio_range_test.ko loaded?)",
		       VFIO_RANGE_TEST_DEV, strerror(errno));
	emu_init(&e);
	test_range_map(self->a, IOVA_BASE, IOVA_BASE + self->len - 1);
	__emu_add(_metadata, test_fd, &e);

	/* Joining while invalid is refused. */
	invalidate(0, U64_MAX, self->len);
	fd = vfio_group_open(e.group);
	ASSERT_LE(0, fd);
	EXPECT_ERRNO(EBUSY, ioctl(fd, VFIO_GROUP_SET_CONTAINER,
				  &self->container_fd));
	close(fd);
	update(self->b, IOVA_BASE, IOVA_BASE + self->len - 1);

	/* Once in, no invalidation, and the extension says so. */
	__emu_join(_metadata, &e, self->container_fd);
	ASSERT_EQ(0, ioctl(self->container_fd, VFIO_CHECK_EXTENSION,
			   VFIO_UPDATE_VADDR));
	err_invalidate(EBUSY, 0, U64_MAX);
	err_invalidate(EBUSY, 1, 0);	/* before any check of the range */
	assert_valid(self->b, IOVA_BASE, IOVA_BASE + self->len - 1);
	emu_destroy(&e);
	ASSERT_EQ(1, ioctl(self->container_fd, VFIO_CHECK_EXTENSION,
			   VFIO_UPDATE_VADDR));
	invalidate(0, U64_MAX, self->len);
	test_range_unmap(0, U64_MAX, self->len);
	close(test_fd);
}

/* ---------------------------------------------------------------------- */
/* CPR: DMA goes on while the container moves to another process          */
/* ---------------------------------------------------------------------- */

enum { FD_CONTAINER, FD_MEMFD, FD_DEVICE, NR_FDS };

struct cpr_msg {
	__u64 old_vaddr;	/* where the first process had the memory */
};

static int send_fds(int sock, const int *fds, const struct cpr_msg *msg)
{
	char ctl[CMSG_SPACE(NR_FDS * sizeof(int))] = {};
	struct iovec iov = { (void *)msg, sizeof(*msg) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl, .msg_controllen = sizeof(ctl),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(NR_FDS * sizeof(int));
	memcpy(CMSG_DATA(c), fds, NR_FDS * sizeof(int));
	return sendmsg(sock, &mh, 0) == sizeof(*msg) ? 0 : -1;
}

static int recv_fds(int sock, int *fds, struct cpr_msg *msg)
{
	char ctl[CMSG_SPACE(NR_FDS * sizeof(int))] = {};
	struct iovec iov = { msg, sizeof(*msg) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl, .msg_controllen = sizeof(ctl),
	};
	struct cmsghdr *c;

	if (recvmsg(sock, &mh, 0) != sizeof(*msg))
		return -1;
	c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(NR_FDS * sizeof(int)))
		return -1;
	memcpy(fds, CMSG_DATA(c), NR_FDS * sizeof(int));
	return 0;
}

FIXTURE(cpr)
{
	struct edu_info info;
	int param_was;
	int container_fd;
	int group_fd;
	struct edu_dev edu;
	int memfd;
	char *mem;
	size_t len;
	int sock[2];
	pid_t child;
	const char *skip;	/* set by the setup: every test skips */
};

FIXTURE_VARIANT(cpr)
{
	bool compat;	/* type1's MAP_DMA/UNMAP_DMA in compat mode */
};

FIXTURE_VARIANT_ADD(cpr, range)
{
	.compat = false,
};

FIXTURE_VARIANT_ADD(cpr, type1_compat)
{
	.compat = true,
};

/* The second process's update, through the variant's front door. */
static int cpr_update(int fd, bool compat, char *mem, __u64 len)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map), .flags = VFIO_DMA_MAP_FLAG_VADDR,
		.vaddr = (uintptr_t)mem, .iova = IOVA_BASE, .size = len,
	};

	if (compat)
		return ioctl(fd, VFIO_IOMMU_MAP_DMA, &map);
	return _test_range_map(fd, (uintptr_t)mem, IOVA_BASE,
			       IOVA_BASE + len - 1, UPDATE);
}

/* Waits for one byte from the other process; false on EOF or error. */
static bool cpr_wait(int sock)
{
	char c;

	return read(sock, &c, 1) == 1;
}

static bool cpr_signal(int sock)
{
	return write(sock, "x", 1) == 1;
}

/*
 * The second process: it had no container until it gets the fds, and maps
 * the memory at another address. Returns an exit code, 0 for success.
 */
static int cpr_second(int sock, bool compat, size_t len)
{
	struct edu_dev edu;
	struct cpr_msg msg;
	int fds[NR_FDS];
	char *spacer, *mem, *wrong;
	long before;
	__u64 unmapped;

	edu_init(&edu);
	if (recv_fds(sock, fds, &msg))
		return 20;
	/* Not where the first process had it. */
	spacer = mmap((void *)(uintptr_t)msg.old_vaddr, len, PROT_NONE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
		   fds[FD_MEMFD], 0);
	wrong = test_mmap(len, PROT_READ | PROT_WRITE);
	if (spacer == MAP_FAILED || mem == MAP_FAILED || !wrong)
		return 21;
	if ((uintptr_t)mem == msg.old_vaddr)
		return 22;

	/* Other memory is refused and the vaddr stays invalid. */
	if (!cpr_update(fds[FD_CONTAINER], compat, wrong, len) ||
	    errno != EINVAL)
		return 23;
	before = vmlck_kb(0);
	if (cpr_update(fds[FD_CONTAINER], compat, mem, len))
		return 24;
	if (vmlck_kb(0) != before + (long)(len / 1024))
		return 25;
	edu.fd = fds[FD_DEVICE];
	if (edu_map_bar0(&edu))
		return 26;
	if (!cpr_signal(sock) || !cpr_wait(sock))
		return 27;

	/* The first process is gone from it all: DMA through the new one. */
	fill_pattern(mem, EDU_DMA_LEN, 77);
	memset(mem + len / 2, 0, EDU_DMA_LEN);
	if (edu_dma(&edu, IOVA_BASE, EDU_BUF_ADDR, EDU_DMA_LEN, false) ||
	    edu_dma(&edu, EDU_BUF_ADDR, IOVA_BASE + len / 2, EDU_DMA_LEN,
		    true))
		return 28;
	if (memcmp(mem, mem + len / 2, EDU_DMA_LEN))
		return 29;
	if (_test_range_unmap(fds[FD_CONTAINER], 0, U64_MAX, 0, &unmapped) ||
	    unmapped != len)
		return 30;
	if (vmlck_kb(0) != before)
		return 31;
	edu_close(&edu);
	return 0;
}

FIXTURE_SETUP(cpr)
{
	struct edu_info info[EDU_MAX];

	self->container_fd = -1;
	self->group_fd = -1;
	self->memfd = -1;
	self->child = -1;
	self->sock[0] = -1;
	self->param_was = -1;
	edu_init(&self->edu);
	/* Its 16 pages at IOVA_BASE are not a multiple of such a granule. */
	SETUP_SKIP_IF_GRANULE();
	self->param_was = compat_param_get();
	ASSERT_LE(0, self->param_was);
	ASSERT_LT(0, edu_find(info, EDU_MAX));
	self->info = info[0];
	self->len = 16 * SZ_4K;
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, self->sock));

	/* Forked first: the second process inherits nothing of VFIO. */
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (!self->child) {
		close(self->sock[0]);
		_exit(cpr_second(self->sock[1], variant->compat, self->len));
	}
	close(self->sock[1]);

	if (variant->compat)
		__vfio_container_setup_type1v2(_metadata, self->info.group,
					       true, &self->container_fd,
					       &self->group_fd);
	else
		__vfio_container_setup(_metadata, self->info.group,
				       VFIO_RANGE_IOMMU, &self->container_fd,
				       &self->group_fd);
	ASSERT_TRUE(is_range_backend(self->container_fd));
	__edu_open(_metadata, self->group_fd, self->info.bdf, &self->edu);
	self->memfd = memfd_create("vfio-range-cpr", 0);
	ASSERT_LE(0, self->memfd);
	ASSERT_EQ(0, ftruncate(self->memfd, self->len));
	self->mem = mmap(NULL, self->len, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->memfd, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
}

FIXTURE_TEARDOWN(cpr)
{
	close(self->sock[0]);
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
	edu_close(&self->edu);
	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);
	if (self->mem && self->mem != MAP_FAILED)
		munmap(self->mem, self->len);
	if (self->memfd >= 0)
		close(self->memfd);
	if (self->param_was >= 0)
		sysfs_write_ulong(COMPAT_PARAM, self->param_was);
}

/* The first process's DMA round trip through its own mapping. */
#define cpr_dma_check(seed)						\
	({								\
		fill_pattern(self->mem, EDU_DMA_LEN, seed);		\
		memset(self->mem + self->len / 2, 0, EDU_DMA_LEN);	\
		edu_dma_to_dev(&self->edu, IOVA_BASE);			\
		edu_dma_from_dev(&self->edu, IOVA_BASE + self->len / 2); \
		ASSERT_EQ(0, memcmp(self->mem, self->mem + self->len / 2, \
				    EDU_DMA_LEN));			\
	})

TEST_F(cpr, handover)
{
	int fd = self->container_fd, status;
	int fds[NR_FDS] = { fd, self->memfd, self->edu.fd };
	struct cpr_msg msg = { .old_vaddr = (uintptr_t)self->mem };
	__u64 bytes = OUT_POISON;
	long base = vmlck_kb(0);

	SETUP_SKIPPED();

	if (variant->compat) {
		ASSERT_EQ(0, _test_type1_map(fd, (uintptr_t)self->mem,
					     IOVA_BASE, self->len,
					     VFIO_DMA_MAP_FLAG_READ |
					     VFIO_DMA_MAP_FLAG_WRITE));
	} else {
		test_range_map(self->mem, IOVA_BASE,
			       IOVA_BASE + self->len - 1);
	}
	ASSERT_EQ(base + (long)(self->len / 1024), vmlck_kb(0));
	cpr_dma_check(1);

	if (variant->compat) {
		struct vfio_iommu_type1_dma_unmap unmap = {
			.argsz = sizeof(unmap),
			.flags = VFIO_DMA_UNMAP_FLAG_VADDR |
				 VFIO_DMA_UNMAP_FLAG_ALL,
		};

		ASSERT_EQ(0, ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &unmap));
		bytes = unmap.size;
	} else {
		ASSERT_EQ(0, _test_range_unmap(fd, 0, U64_MAX, INVAL, &bytes));
	}
	ASSERT_EQ(self->len, bytes);
	/* DMA keeps working on the pinned pages while the vaddr is invalid. */
	cpr_dma_check(2);

	ASSERT_EQ(0, send_fds(self->sock[0], fds, &msg));
	ASSERT_TRUE(cpr_wait(self->sock[0]))
		TH_LOG("the second process did not update the vaddr");
	/* Its locked_vm went to the second process. */
	ASSERT_EQ(base, vmlck_kb(0));

	/* The first process lets go of everything. */
	munmap(self->mem, self->len);
	self->mem = NULL;
	edu_close(&self->edu);
	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);
	ASSERT_TRUE(cpr_signal(self->sock[0]));

	ASSERT_EQ(self->child, waitpid(self->child, &status, 0));
	self->child = -1;
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status))
		TH_LOG("the second process failed at step %d",
		       WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
