// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fault injection tests of the vfio-range IOMMU backend, in the manner of
 * iommufd's fail_nth selftest: for N = 1, 2, ... the Nth fault site
 * (slab or page allocation, and user copies where the kernel can fail
 * them) of one call is made to fail, through /proc/self/task/<tid>/fail-nth,
 * until the call gets through without reaching the Nth site. Each time the
 * call must either succeed completely or fail with a clean errno and leave
 * everything as it was: the mappings, the pinned and charged pages, the
 * module's references, the file descriptors, the registered clients, and
 * the events the clients received (all of an operation's or none, seq
 * numbers without gaps). The calls: map and unmap with notifier fds and an
 * in-kernel client listening (so event delivery is covered too), notifier
 * fd and in-kernel client registration, and VFIO_SET_IOMMU.
 *
 * Needs a kernel with CONFIG_FAULT_INJECTION, CONFIG_FAILSLAB,
 * CONFIG_FAIL_PAGE_ALLOC and CONFIG_FAULT_INJECTION_DEBUG_FS (the debug
 * guest kernel); elsewhere every test skips. Also root, an edu device
 * bound to vfio-pci behind an IOMMU, debugfs, vfio_iommu_range.ko and
 * vfio_range_test.ko.
 *
 *   VFIO_RANGE_FAIL_NTH_DRY=1  without fault injection: fake one failed
 *                              call, then run it once (checks the checks)
 *   VFIO_RANGE_FAIL_NTH_VERBOSE=1  log the outcome of every try
 */
#include "vfio_range_utils.h"

#define PG			SZ_4K
#define BUF_PAGES		128
/* A mapping that is always there, so the tree is never empty. */
#define A_IOVA			0x8000000ULL
#define A_PAGES			16
/*
 * The mapping under test: odd IOVA, so aligned clients get many blocks.
 * The map sweep moves it by B_STRIDE each try, so every try needs IOMMU
 * page tables of its own (a try that succeeded leaves its tables); it
 * stays below 4 GiB and the MSI window.
 */
#define B_IOVA			0x10003000ULL
#define B_PAGES			64
#define B_STRIDE		SZ_2M
#define B_TRIES			1024
#define B_LAST(iova)		((iova) + B_PAGES * PG - 1)
/* Fault sites of one call we are prepared to sweep. */
#define NTH_MAX			2000U
#define EV_MAX			256
#define MAX_CLIENTS_PARAM	VFIO_RANGE_SYSFS "/parameters/max_clients"

#define EV_BOTH		(VFIO_RANGE_EVENT_MAP | VFIO_RANGE_EVENT_UNMAP)
#define ARB		VFIO_RANGE_GRANULARITY_ARBITRARY
#define ALIGNED		VFIO_RANGE_GRANULARITY_ALIGNED

static const char *no_fault_injection = "fault injection is not set up";
/*
 * VFIO_RANGE_FAIL_NTH_DRY: no fail-nth; the first try of each sweep fakes
 * a failed call (ENOMEM, nothing done), the second runs it unfaulted.
 */
static bool dry_run;

static int debugfs_write(const char *rel, const char *val)
{
	char path[PATH_MAX];
	ssize_t len = strlen(val);
	int fd, ok;

	snprintf(path, sizeof(path), "/sys/kernel/debug/%s", rel);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ok = write(fd, val, len) == len;
	close(fd);
	return ok ? 0 : -1;
}

/*
 * Lets fail-nth reach every allocation (by default sleeping and order-0
 * ones are left alone) and keeps the injected faults out of the kernel
 * log, which must stay free of stack dumps. Not undone: with fail-nth
 * unset and probability 0 these settings change nothing.
 */
static void __attribute__((constructor)) setup_fault_injection(void)
{
	static const char *const quiet[] = {
		"failslab/verbose", "fail_page_alloc/verbose",
		"fail_usercopy/verbose", "fail_futex/verbose",
	};
	unsigned int i;

	if (access("/proc/self/fail-nth", F_OK)) {
		no_fault_injection = "no /proc/self/fail-nth (kernel without CONFIG_FAULT_INJECTION)";
		if (env_ulong("VFIO_RANGE_FAIL_NTH_DRY", 0)) {
			dry_run = true;
			no_fault_injection = NULL;
		}
		return;
	}
	if (debugfs_write("failslab/ignore-gfp-wait", "N") ||
	    debugfs_write("fail_page_alloc/ignore-gfp-wait", "N") ||
	    debugfs_write("fail_page_alloc/ignore-gfp-highmem", "N") ||
	    debugfs_write("fail_page_alloc/min-order", "0")) {
		no_fault_injection = "no failslab/fail_page_alloc in debugfs (CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC, CONFIG_FAULT_INJECTION_DEBUG_FS)";
		return;
	}
	for (i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
		debugfs_write(quiet[i], "0");
	no_fault_injection = NULL;
}

/* The fail-nth file of the calling thread. */
static int nth_open(void)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth",
		 (long)syscall(SYS_gettid));
	return open(path, O_RDWR);
}

static int nth_arm(int fd, unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	if (dry_run)
		return 0;
	return pwrite(fd, buf, len, 0) == len ? 0 : -1;
}

/*
 * Disarms fail-nth and tells whether the armed fault was injected: the
 * file reads 0 once it was. Reading and disarming are fault sites too
 * (user copies) if the armed one is still pending; a read that fails
 * means it was pending, a write that fails consumed it and is repeated.
 */
static bool nth_disarm(int fd)
{
	char buf[16] = "";
	ssize_t n;
	int tries;

	if (dry_run)
		return false;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	for (tries = 0; tries < 3; tries++)
		if (pwrite(fd, "0", 1, 0) == 1)
			break;
	return n > 0 && atoi(buf) == 0;
}

FIXTURE(fail_nth)
{
	int group;
	int group2;		/* a second edu group, or -1 */
	int container_fd;
	int group_fd;
	int nth_fd;
	int test_fd;		/* vfio_range_test.ko, or -1 */
	int fd_arb;		/* notifier fd, arbitrary, whole space */
	int fd_aligned;		/* notifier fd, aligned, whole space */
	__u32 client;		/* in-kernel client, if test_fd >= 0 */
	int nr_clients;
	char *buf;
	__u64 seq;		/* seq of the last operation */
	__u64 b_iova;		/* where B is mapped */
	unsigned int b_try;
	long vmlck;
	long long pinned;
	unsigned long refcnt;	/* module references with the fixture set up */
	long saved_max_clients;	/* to restore, or -1 */
	int klog_fd;
	/* outputs of the call under test */
	__u64 unmapped;
	int new_fd;
	__u32 new_client;
	int si_container;	/* set_iommu: container and group of a try */
	int si_group;
	struct vfio_range_event ev[EV_MAX];
};

#define NEED_FAULT_INJECTION()						\
	do {								\
		if (no_fault_injection)					\
			SKIP(return, "%s", no_fault_injection);		\
	} while (0)

/* Grows the stack to what the tests need, before it is locked. */
static void __attribute__((noinline)) prefault_stack(void)
{
	volatile char pad[256 * 1024];
	size_t i;

	for (i = 0; i < sizeof(pad); i += 4096)
		pad[i] = 0;
}

FIXTURE_SETUP(fail_nth)
{
	struct edu_info edu[EDU_MAX];
	int n;

	self->container_fd = -1;
	self->group_fd = -1;
	self->nth_fd = -1;
	self->test_fd = -1;
	self->fd_arb = -1;
	self->fd_aligned = -1;
	self->new_fd = -1;
	self->si_container = -1;
	self->si_group = -1;
	self->klog_fd = -1;
	self->saved_max_clients = -1;
	if (no_fault_injection)
		return;		/* each test skips */

	self->klog_fd = klog_open();
	n = edu_find(edu, EDU_MAX);
	ASSERT_LT(0, n);
	self->group = edu[0].group;
	self->group2 = n > 1 && edu[1].group != edu[0].group ?
		       edu[1].group : -1;
	self->nth_fd = dry_run ? -1 : nth_open();
	ASSERT_TRUE(dry_run || self->nth_fd >= 0);
	ASSERT_EQ(0, vrange_counter("pinned_pages", &self->pinned));

	__vfio_container_setup(_metadata, self->group, VFIO_RANGE_IOMMU,
			       &self->container_fd, &self->group_fd);
	self->buf = test_mmap(BUF_PAGES * PG, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, self->buf);
	memset(self->buf, 0x6b, BUF_PAGES * PG);
	/*
	 * Everything mapped now is faulted in and stays: a fault armed for a
	 * call must not be spent on a page fault of the test itself (code
	 * read in on first use, say), which the kernel only retries, logging
	 * "Huh VM_FAULT_OOM leaked out". The stack grows first: growing a
	 * locked stack would change VmLck.
	 */
	prefault_stack();
	ASSERT_EQ(0, mlockall(MCL_CURRENT));
	self->vmlck = vmlck_kb(0);	/* without A */
	test_range_map(self->buf, A_IOVA, A_IOVA + A_PAGES * PG - 1);
	self->seq = 1;
	self->pinned += A_PAGES;	/* with A */
	self->b_iova = B_IOVA;

	self->fd_arb = _test_notifier(self->container_fd, EV_BOTH, ARB, 0,
				      U64_MAX, 1024);
	ASSERT_LE(0, self->fd_arb);
	self->fd_aligned = _test_notifier(self->container_fd, EV_BOTH,
					  ALIGNED, 0, U64_MAX, 1024);
	ASSERT_LE(0, self->fd_aligned);
	ASSERT_EQ(0, fcntl(self->fd_arb, F_SETFL, O_NONBLOCK));
	ASSERT_EQ(0, fcntl(self->fd_aligned, F_SETFL, O_NONBLOCK));
	self->nr_clients = 2;
	self->test_fd = open(VFIO_RANGE_TEST_DEV, O_RDWR);
	if (self->test_fd >= 0) {
		ASSERT_EQ(0, _test_client_add(self->test_fd, self->group,
					      EV_BOTH, ARB, 0, U64_MAX,
					      &self->client));
		self->nr_clients++;
	}
	ASSERT_EQ(0, sysfs_read_ulong(VFIO_RANGE_REFCNT, &self->refcnt));
}

FIXTURE_TEARDOWN(fail_nth)
{
	if (self->saved_max_clients >= 0)
		sysfs_write_ulong(MAX_CLIENTS_PARAM, self->saved_max_clients);
	vfio_close(&self->new_fd);
	vfio_close(&self->si_group);
	vfio_close(&self->si_container);
	vfio_close(&self->fd_arb);
	vfio_close(&self->fd_aligned);
	if (self->test_fd >= 0 && self->client)
		_test_client_del(self->test_fd, self->client);
	vfio_close(&self->test_fd);
	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);
	vfio_close(&self->nth_fd);
	vfio_close(&self->klog_fd);
	if (self->buf)
		munmap(self->buf, BUF_PAGES * PG);
}

/* ---------------------------------------------------------------------- */
/* What the clients heard                                                 */
/* ---------------------------------------------------------------------- */

static unsigned int read_fd(struct __test_metadata *_metadata, int fd,
			    struct vfio_range_event *ev)
{
	ssize_t n;

	n = read(fd, ev, EV_MAX * sizeof(*ev));
	if (n < 0) {
		EXPECT_EQ(EAGAIN, errno);
		return 0;
	}
	EXPECT_EQ(0U, n % sizeof(*ev));
	return n / sizeof(*ev);
}

/* Every client heard nothing. */
static void __expect_no_events(struct __test_metadata *_metadata,
			       FIXTURE_DATA(fail_nth) *self)
{
	__u32 count = 0;
	__u64 lost = 0;

	ASSERT_EQ(0U, read_fd(_metadata, self->fd_arb, self->ev));
	ASSERT_EQ(0U, read_fd(_metadata, self->fd_aligned, self->ev));
	if (self->test_fd >= 0) {
		ASSERT_EQ(0, _test_client_read(self->test_fd, self->client,
					       self->ev, EV_MAX, &count,
					       &lost));
		ASSERT_EQ(0U, count);
		ASSERT_EQ(0ULL, lost);
	}
}

/*
 * Every client heard one operation, the next seq, of @type on [start,
 * last]: one record for arbitrary clients, aligned blocks tiling the
 * range for the aligned one.
 */
static void __expect_op(struct __test_metadata *_metadata,
			FIXTURE_DATA(fail_nth) *self, __u32 type,
			__u64 start, __u64 last)
{
	struct vfio_range_event *e = self->ev;
	__u64 next = start, seq = self->seq + 1;
	unsigned int n, i;
	__u32 count = 0;
	__u64 lost = 0;

	n = read_fd(_metadata, self->fd_arb, e);
	ASSERT_EQ(1U, n);
	ASSERT_EQ(type, e[0].type);
	ASSERT_EQ(seq, e[0].seq);
	ASSERT_EQ(start, e[0].start);
	ASSERT_EQ(last, e[0].last);

	n = read_fd(_metadata, self->fd_aligned, e);
	ASSERT_LT(0U, n);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(type, e[i].type);
		ASSERT_EQ(seq, e[i].seq);
		ASSERT_EQ(next, e[i].start);
		ASSERT_EQ(e[i].last - e[i].start, e[i].addr_mask);
		ASSERT_EQ(0ULL, e[i].start & e[i].addr_mask);
		next = e[i].last + 1;
	}
	ASSERT_EQ(last + 1, next);

	if (self->test_fd >= 0) {
		ASSERT_EQ(0, _test_client_read(self->test_fd, self->client,
					       e, EV_MAX, &count, &lost));
		ASSERT_EQ(1U, count);
		ASSERT_EQ(0ULL, lost);
		ASSERT_EQ(type, e[0].type);
		ASSERT_EQ(seq, e[0].seq);
		ASSERT_EQ(start, e[0].start);
		ASSERT_EQ(last, e[0].last);
	}
	self->seq = seq;
}

#define expect_no_events()	__expect_no_events(_metadata, self)
#define expect_op(type, start, last) \
	__expect_op(_metadata, self, type, start, last)

/* Mappings, pins, charges and module references are as expected. */
#define expect_state(nr_mappings, pinned_pages, locked_bytes)		\
	({								\
		unsigned long __refcnt;					\
									\
		ASSERT_EQ((long)(nr_mappings),				\
			  vrange_nr_mappings(self->container_fd));	\
		ASSERT_PINNED_PAGES(pinned_pages);			\
		ASSERT_VMLCK(self->vmlck, locked_bytes);		\
		ASSERT_EQ(0, sysfs_read_ulong(VFIO_RANGE_REFCNT,	\
					      &__refcnt));		\
		ASSERT_EQ(self->refcnt, __refcnt);			\
	})

/* ---------------------------------------------------------------------- */
/* The sweep                                                              */
/* ---------------------------------------------------------------------- */

/**
 * struct nth_case - one call swept with fail-nth
 * @name: for the log
 * @prepare: if not NULL, sets up what each try needs (without faults)
 * @call: the call; returns 0 or -1 with errno; must not assert (it runs
 *	with the fault armed)
 * @done: asserts the state after a successful call, then returns to the
 *	state before it (without faults)
 * @unchanged: asserts the state after a failed call (errno @err)
 * @errnos: the errnos a failure may have, 0-terminated
 */
struct nth_case {
	const char *name;
	void (*prepare)(struct __test_metadata *_metadata,
			FIXTURE_DATA(fail_nth) *self);
	int (*call)(FIXTURE_DATA(fail_nth) *self);
	void (*done)(struct __test_metadata *_metadata,
		     FIXTURE_DATA(fail_nth) *self);
	void (*unchanged)(struct __test_metadata *_metadata,
			  FIXTURE_DATA(fail_nth) *self, int err);
	const int *errnos;
};

static bool errno_allowed(const int *errnos, int err)
{
	for (; *errnos; errnos++)
		if (*errnos == err)
			return true;
	return false;
}

static void __sweep(struct __test_metadata *_metadata,
		    FIXTURE_DATA(fail_nth) *self, const struct nth_case *c)
{
	unsigned int n, failed = 0;
	bool fired;
	int ret, err;

	for (n = 1; n <= NTH_MAX; n++) {
		if (c->prepare)
			c->prepare(_metadata, self);
		errno = 0;	/* its page is written before the fault is armed */
		ASSERT_EQ(0, nth_arm(self->nth_fd, n));
		if (dry_run && n == 1) {
			ret = -1;
			errno = ENOMEM;
		} else {
			ret = c->call(self);
		}
		err = errno;
		fired = nth_disarm(self->nth_fd) || (dry_run && n == 1);
		if (env_ulong("VFIO_RANGE_FAIL_NTH_VERBOSE", 0))
			ksft_print_msg("%s: fault %u %s: %s\n", c->name, n,
				       fired ? "injected" : "not reached",
				       ret ? strerror(err) : "succeeded");
		if (ret) {
			ASSERT_TRUE(fired)
				TH_LOG("%s: failed with no fault injected: %s",
				       c->name, strerror(err));
			ASSERT_TRUE(errno_allowed(c->errnos, err))
				TH_LOG("%s: fault %u: %s", c->name, n,
				       strerror(err));
			failed++;
			c->unchanged(_metadata, self, err);
		} else {
			c->done(_metadata, self);
		}
		if (!fired)
			break;
	}
	ASSERT_GE(NTH_MAX, n)
		TH_LOG("%s: still reaching fault sites after %u", c->name,
		       NTH_MAX);
	ksft_print_msg("%s: %u fault sites, %u of them failed the call\n",
		       c->name, n - 1, failed);
	fflush(stdout);
	if (self->klog_fd >= 0)
		ASSERT_KLOG_CLEAN(self->klog_fd);
}

#define sweep(c)	__sweep(_metadata, self, c)

/* Faults the backend can meet, and user copies when they can fail. */
static const int alloc_errnos[] = { ENOMEM, EFAULT, 0 };

/* ---------------------------------------------------------------------- */
/* Map and unmap, with clients listening                                  */
/* ---------------------------------------------------------------------- */

static int call_map_b(FIXTURE_DATA(fail_nth) *self)
{
	return _test_range_map(self->container_fd,
			       (uintptr_t)self->buf + A_PAGES * PG,
			       self->b_iova, B_LAST(self->b_iova), RANGE_RW);
}

static int call_unmap_b(FIXTURE_DATA(fail_nth) *self)
{
	return _test_range_unmap(self->container_fd, self->b_iova,
				 B_LAST(self->b_iova), 0,
				 &self->unmapped);
}

/* The state with B mapped, and every client told so. */
static void __expect_b_mapped(struct __test_metadata *_metadata,
			      FIXTURE_DATA(fail_nth) *self)
{
	expect_state(2, self->pinned + B_PAGES, (A_PAGES + B_PAGES) * PG);
	expect_op(VFIO_RANGE_EVENT_MAP, self->b_iova, B_LAST(self->b_iova));
}

static void __expect_b_unmapped(struct __test_metadata *_metadata,
				FIXTURE_DATA(fail_nth) *self)
{
	ASSERT_EQ(B_PAGES * PG, self->unmapped);
	expect_state(1, self->pinned, A_PAGES * PG);
	expect_op(VFIO_RANGE_EVENT_UNMAP, self->b_iova,
		  B_LAST(self->b_iova));
}

static void map_done(struct __test_metadata *_metadata,
		     FIXTURE_DATA(fail_nth) *self)
{
	__expect_b_mapped(_metadata, self);
	ASSERT_EQ(0, call_unmap_b(self));
	__expect_b_unmapped(_metadata, self);
}

static void map_unchanged(struct __test_metadata *_metadata,
			  FIXTURE_DATA(fail_nth) *self, int err)
{
	/* EFAULT writing the outputs back leaves the map done (uapi). */
	if (err == EFAULT && vrange_nr_mappings(self->container_fd) == 2) {
		map_done(_metadata, self);
		return;
	}
	expect_state(1, self->pinned, A_PAGES * PG);
	expect_no_events();
	/* Nothing of B is recorded: unmapping it finds nothing. */
	ASSERT_EQ(0, call_unmap_b(self));
	ASSERT_EQ(0ULL, self->unmapped);
	expect_no_events();
	/*
	 * Nor left in the IOMMU: mapping it again works (the IOMMU driver
	 * complains about entries already set, which the log check sees).
	 */
	ASSERT_EQ(0, call_map_b(self));
	map_done(_metadata, self);
}

/* B moves on, to IOVA no try has had page tables for yet. */
static void map_prepare(struct __test_metadata *_metadata,
			FIXTURE_DATA(fail_nth) *self)
{
	(void)_metadata;
	self->b_iova = B_IOVA + (self->b_try++ % B_TRIES) * B_STRIDE;
}

TEST_F_TIMEOUT(fail_nth, map, 600)
{
	static const struct nth_case c = {
		.name = "map", .prepare = map_prepare, .call = call_map_b,
		.done = map_done, .unchanged = map_unchanged,
		.errnos = alloc_errnos,
	};

	NEED_FAULT_INJECTION();
	sweep(&c);
}

static void unmap_done(struct __test_metadata *_metadata,
		       FIXTURE_DATA(fail_nth) *self)
{
	__expect_b_unmapped(_metadata, self);
	ASSERT_EQ(0, call_map_b(self));
	__expect_b_mapped(_metadata, self);
}

static void unmap_unchanged(struct __test_metadata *_metadata,
			    FIXTURE_DATA(fail_nth) *self, int err)
{
	if (err == EFAULT && vrange_nr_mappings(self->container_fd) == 1) {
		self->unmapped = B_PAGES * PG;	/* not written back */
		unmap_done(_metadata, self);
		return;
	}
	expect_state(2, self->pinned + B_PAGES, (A_PAGES + B_PAGES) * PG);
	expect_no_events();
}

TEST_F_TIMEOUT(fail_nth, unmap, 600)
{
	static const struct nth_case c = {
		.name = "unmap", .call = call_unmap_b, .done = unmap_done,
		.unchanged = unmap_unchanged, .errnos = alloc_errnos,
	};

	NEED_FAULT_INJECTION();
	ASSERT_EQ(0, call_map_b(self));
	__expect_b_mapped(_metadata, self);
	sweep(&c);
}

/* ---------------------------------------------------------------------- */
/* Registration                                                           */
/* ---------------------------------------------------------------------- */

/* Room for exactly one more client, so a leaked one shows as ENOSPC. */
static void __one_more_client(struct __test_metadata *_metadata,
			      FIXTURE_DATA(fail_nth) *self)
{
	unsigned long old;

	ASSERT_EQ(0, sysfs_read_ulong(MAX_CLIENTS_PARAM, &old));
	self->saved_max_clients = old;
	ASSERT_EQ(0, sysfs_write_ulong(MAX_CLIENTS_PARAM,
				       self->nr_clients + 1));
}

/* The lowest free fd number: a leaked fd would take it. */
static int lowest_free_fd(void)
{
	int fd = open("/dev/null", O_RDONLY);

	if (fd >= 0)
		close(fd);
	return fd;
}

static int call_notifier(FIXTURE_DATA(fail_nth) *self)
{
	self->new_fd = _test_notifier(self->container_fd, EV_BOTH, ALIGNED,
				      B_IOVA, U64_MAX, 0);
	return self->new_fd < 0 ? -1 : 0;
}

/* One more client is registered: the limit is reached, not passed. */
static void __expect_limit_reached(struct __test_metadata *_metadata,
				   FIXTURE_DATA(fail_nth) *self)
{
	int fd = _test_notifier(self->container_fd, VFIO_RANGE_EVENT_MAP, ARB, 0,
				U64_MAX,
				0);

	if (fd >= 0)
		close(fd);
	ASSERT_EQ(-1, fd);
	ASSERT_EQ(ENOSPC, errno);
}

static void notifier_done(struct __test_metadata *_metadata,
			  FIXTURE_DATA(fail_nth) *self)
{
	int free_fd;

	__expect_limit_reached(_metadata, self);
	vfio_close(&self->new_fd);
	free_fd = lowest_free_fd();
	/* And it is gone again with its fd. */
	ASSERT_EQ(0, call_notifier(self));
	ASSERT_EQ(free_fd, self->new_fd);
	vfio_close(&self->new_fd);
	expect_state(1, self->pinned, A_PAGES * PG);
}

static void notifier_unchanged(struct __test_metadata *_metadata,
			       FIXTURE_DATA(fail_nth) *self, int err)
{
	int free_fd = lowest_free_fd();

	(void)err;	/* any failure must leave the same state */
	self->new_fd = -1;
	/* No fd and no client slot leaked: one registration still fits. */
	ASSERT_EQ(0, call_notifier(self));
	ASSERT_EQ(free_fd, self->new_fd);
	__expect_limit_reached(_metadata, self);
	vfio_close(&self->new_fd);
	expect_state(1, self->pinned, A_PAGES * PG);
	expect_no_events();
}

TEST_F_TIMEOUT(fail_nth, notifier_register, 600)
{
	static const int errnos[] = { ENOMEM, EFAULT, EMFILE, 0 };
	static const struct nth_case c = {
		.name = "notifier_register", .call = call_notifier,
		.done = notifier_done, .unchanged = notifier_unchanged,
		.errnos = errnos,
	};

	NEED_FAULT_INJECTION();
	__one_more_client(_metadata, self);
	sweep(&c);
}

static int call_client_add(FIXTURE_DATA(fail_nth) *self)
{
	return _test_client_add(self->test_fd, self->group, EV_BOTH, ALIGNED,
				0, B_LAST(B_IOVA), &self->new_client);
}

static void client_done(struct __test_metadata *_metadata,
			FIXTURE_DATA(fail_nth) *self)
{
	__expect_limit_reached(_metadata, self);
	ASSERT_EQ(0, _test_client_del(self->test_fd, self->new_client));
	expect_state(1, self->pinned, A_PAGES * PG);
}

static void client_unchanged(struct __test_metadata *_metadata,
			     FIXTURE_DATA(fail_nth) *self, int err)
{
	(void)err;	/* any failure must leave the same state */
	ASSERT_EQ(0, call_client_add(self));
	__expect_limit_reached(_metadata, self);
	ASSERT_EQ(0, _test_client_del(self->test_fd, self->new_client));
	expect_state(1, self->pinned, A_PAGES * PG);
	expect_no_events();
}

/* vfio_range_client_register() through vfio_range_test.ko. */
TEST_F_TIMEOUT(fail_nth, client_register, 600)
{
	static const struct nth_case c = {
		.name = "client_register", .call = call_client_add,
		.done = client_done, .unchanged = client_unchanged,
		.errnos = alloc_errnos,
	};

	NEED_FAULT_INJECTION();
	if (self->test_fd < 0)
		SKIP(return, "vfio_range_test.ko not loaded");
	__one_more_client(_metadata, self);
	sweep(&c);
}

/* ---------------------------------------------------------------------- */
/* VFIO_SET_IOMMU: container open, group attach, domain and IOVA space    */
/* ---------------------------------------------------------------------- */

static int call_set_iommu(FIXTURE_DATA(fail_nth) *self)
{
	return ioctl(self->si_container, VFIO_SET_IOMMU, VFIO_RANGE_IOMMU);
}

static void __set_iommu_close(struct __test_metadata *_metadata,
			      FIXTURE_DATA(fail_nth) *self)
{
	vfio_close(&self->si_group);
	vfio_close(&self->si_container);
	/* Only the fixture's container holds the module again. */
	expect_state(1, self->pinned, A_PAGES * PG);
}

static void set_iommu_done(struct __test_metadata *_metadata,
			   FIXTURE_DATA(fail_nth) *self)
{
	/* A working container: map, unmap. */
	ASSERT_EQ(0, _test_range_map(self->si_container,
				     (uintptr_t)self->buf, A_IOVA,
				     A_IOVA + PG - 1, RANGE_RW));
	ASSERT_PINNED_PAGES(self->pinned + 1);
	ASSERT_EQ(0, _test_range_unmap(self->si_container, 0, U64_MAX, 0,
				       NULL));
	__set_iommu_close(_metadata, self);
}

static void set_iommu_unchanged(struct __test_metadata *_metadata,
				FIXTURE_DATA(fail_nth) *self, int err)
{
	(void)err;	/* any failure must leave the same state */
	/* No IOMMU set: the container takes no map. */
	ASSERT_EQ(-1, _test_range_map(self->si_container,
				      (uintptr_t)self->buf, A_IOVA,
				      A_IOVA + PG - 1, RANGE_RW));
	__set_iommu_close(_metadata, self);
}

/* Each try needs a fresh container with the group in it, no IOMMU yet. */
static void set_iommu_prepare(struct __test_metadata *_metadata,
			      FIXTURE_DATA(fail_nth) *self)
{
	self->si_container = open("/dev/vfio/vfio", O_RDWR);
	ASSERT_LE(0, self->si_container);
	/* EBUSY here: the last try left the group held. */
	self->si_group = vfio_group_open(self->group2);
	ASSERT_LE(0, self->si_group)
		TH_LOG("group %d: %s", self->group2, strerror(errno));
	ASSERT_EQ(0, ioctl(self->si_group, VFIO_GROUP_SET_CONTAINER,
			   &self->si_container));
}

TEST_F_TIMEOUT(fail_nth, set_iommu, 600)
{
	/* The IOMMU driver's own errors for a failed attach, too. */
	static const int errnos[] = {
		ENOMEM, EFAULT, EINVAL, ENODEV, EBUSY, ENOSPC, 0,
	};
	static const struct nth_case c = {
		.name = "set_iommu", .prepare = set_iommu_prepare,
		.call = call_set_iommu, .done = set_iommu_done,
		.unchanged = set_iommu_unchanged, .errnos = errnos,
	};

	NEED_FAULT_INJECTION();
	if (self->group2 < 0)
		SKIP(return, "needs a second edu device in its own group");
	sweep(&c);
}

TEST_HARNESS_MAIN
