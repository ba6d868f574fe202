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
 * fd and in-kernel client registration, VFIO_SET_IOMMU, and for device
 * memory (edu's BAR0 mmapped from the vfio-pci device fd): mapping a BAR,
 * unmapping it, revoking it (munmap() of the BAR mapping while it is
 * mapped) and unmapping it once revoked, and a second group joining a
 * container that holds RAM and BAR mappings (VFIO_GROUP_SET_CONTAINER),
 * sharing its domain or getting a new one the mappings are replayed into.
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

#include <poll.h>

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
	struct edu_info edu_info[2];	/* the devices of group and group2 */
	int container_fd;
	int group_fd;
	int nth_fd;
	int test_fd;		/* vfio_range_test.ko, or -1 */
	int fd_arb;		/* notifier fd, arbitrary, whole space, and
				 * the only one told of revocations */
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
	/* device memory: BAR map, unmap, revocation, groups joining */
	struct edu_dev edu;	/* edu_info[0], opened by the BAR tests */
	struct edu_dev edu2;	/* edu_info[1], while group2 is joined */
	char dir[PATH_MAX];	/* debugfs dir of the container under test */
	char *bar;		/* the BAR mapping of a try, or NULL */
	__u64 bar_iova;		/* where a try maps it */
	unsigned int bar_try;
	struct emu emu;		/* the emulated group of join_new_domain */
	int join_container;	/* the container group2 joins (not owned) */
	int join_group;		/* group2, open for one try */
	int join_notifier;	/* notifier fd on the emulated container */
	char *join_ram;		/* RAM mapped at join_ram_iova there */
	__u64 join_ram_iova;
	long join_nr_mappings;	/* the joined container before each try */
	long long join_pinned;
	long join_vmlck;	/* KiB */
	long join_domains;
	unsigned int join_new_domains;	/* successful joins with a new domain */
	unsigned int join_shared;	/* and with a shared one */
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
	edu_init(&self->edu);
	edu_init(&self->edu2);
	emu_init(&self->emu);
	self->join_container = -1;
	self->join_group = -1;
	self->join_notifier = -1;
	if (no_fault_injection)
		return;		/* each test skips */

	self->klog_fd = klog_open();
	n = edu_find(edu, EDU_MAX);
	ASSERT_LT(0, n);
	self->group = edu[0].group;
	self->group2 = n > 1 && edu[1].group != edu[0].group ?
		       edu[1].group : -1;
	self->edu_info[0] = edu[0];
	if (n > 1)
		self->edu_info[1] = edu[1];
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

	self->fd_arb = _test_notifier(self->container_fd,
				      EV_BOTH | VFIO_RANGE_EVENT_REVOKED, ARB,
				      0, U64_MAX, 1024);
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
	edu_close(&self->edu2);
	vfio_close(&self->join_group);
	vfio_close(&self->join_notifier);
	if (self->bar)
		munmap(self->bar, SZ_1M);
	edu_close(&self->edu);
	emu_destroy(&self->emu);
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

/*
 * The new fd, alone in the container, hears a map and an unmap of B: the
 * container's event log was allocated with it; then it goes, and the log.
 */
static void first_notifier_done(struct __test_metadata *_metadata,
				FIXTURE_DATA(fail_nth) *self)
{
	struct vfio_range_event *ev = self->ev;
	__u64 unmapped;
	unsigned int n;

	ASSERT_EQ(0, fcntl(self->new_fd, F_SETFL, O_NONBLOCK));
	ASSERT_EQ(0U, read_fd(_metadata, self->new_fd, ev));
	test_range_map(self->buf + A_PAGES * PG, B_IOVA, B_LAST(B_IOVA));
	ASSERT_EQ(0, _test_range_unmap(self->container_fd, B_IOVA,
				       B_LAST(B_IOVA), 0, &unmapped));
	ASSERT_EQ(B_PAGES * PG, unmapped);
	/* B's odd start: the same aligned blocks for MAP, then UNMAP. */
	n = read_fd(_metadata, self->new_fd, ev);
	ASSERT_LT(0U, n);
	ASSERT_EQ(0U, n % 2);
	ASSERT_EQ((__u32)VFIO_RANGE_EVENT_MAP, ev[0].type);
	ASSERT_EQ((__u32)VFIO_RANGE_EVENT_UNMAP, ev[n / 2].type);
	ASSERT_EQ(B_IOVA, ev[0].start);
	ASSERT_EQ(B_LAST(B_IOVA), ev[n / 2 - 1].last);
	ASSERT_EQ(ev[0].seq + 1, ev[n / 2].seq);
	vfio_close(&self->new_fd);
	expect_state(1, self->pinned, A_PAGES * PG);
}

static void first_notifier_unchanged(struct __test_metadata *_metadata,
				     FIXTURE_DATA(fail_nth) *self, int err)
{
	int free_fd = lowest_free_fd();

	(void)err;	/* any failure must leave the same state */
	self->new_fd = -1;
	ASSERT_EQ(0, call_notifier(self));
	ASSERT_EQ(free_fd, self->new_fd);
	first_notifier_done(_metadata, self);
}

/*
 * The first notifier fd of a container also allocates the container's
 * event log, which a failure must leave unallocated with nothing else
 * changed (no fd, no client); nothing is allocated when events are logged.
 */
TEST_F_TIMEOUT(fail_nth, notifier_register_first, 600)
{
	static const int errnos[] = { ENOMEM, EFAULT, EMFILE, 0 };
	static const struct nth_case c = {
		.name = "notifier_register_first", .call = call_notifier,
		.done = first_notifier_done,
		.unchanged = first_notifier_unchanged, .errnos = errnos,
	};

	NEED_FAULT_INJECTION();
	vfio_close(&self->fd_arb);
	vfio_close(&self->fd_aligned);
	self->nr_clients -= 2;
	/* Each fd held a module reference. */
	ASSERT_EQ(0, sysfs_read_ulong(VFIO_RANGE_REFCNT, &self->refcnt));
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

/* ---------------------------------------------------------------------- */
/* Device memory: a BAR mapped, unmapped, revoked; groups joining         */
/* ---------------------------------------------------------------------- */

#define BAR_SIZE		SZ_1M
/*
 * Where the BAR tests map edu's BAR0: below A and below 256 MiB, since edu
 * masks its DMA addresses to 28 bits and the tests DMA through the maps.
 * The map sweep moves it by B_STRIDE each try, like B, over BAR_SLOTS.
 */
#define BAR_IOVA		0x1000000ULL
#define BAR_SLOTS		48
#define BAR_LAST(iova)		((iova) + BAR_SIZE - 1)
/* The mappings of the containers the second group joins. */
#define JOIN_RAM_IOVA		0x2000000ULL
#define JOIN_BAR_IOVA		0x4000000ULL
#define DMA_R			VFIO_RANGE_MAP_READ
/* What RAM and edu's buffer hold before a peer-to-peer read. */
#define CONTAINERS_DIR		"/sys/kernel/debug/vfio_iommu_range/containers"
#define TEXT_MAX		8192

/*
 * The debugfs directory of the container that holds group @group of kind
 * @kind ("iommu" or "emulated"), in @dir; false if there is none.
 */
static bool container_dir(int group, const char *kind, char *dir,
			  size_t size)
{
	char path[PATH_MAX], text[TEXT_MAX], want[64];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(want, sizeof(want), "\ngroup %d %s\n", group, kind);
	d = opendir(CONTAINERS_DIR);
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), CONTAINERS_DIR "/%s/info",
			 de->d_name);
		if (read_text(path, text, sizeof(text)) > 0 &&
		    strstr(text, want)) {
			snprintf(dir, size, CONTAINERS_DIR "/%s", de->d_name);
			found = true;
		}
	}
	closedir(d);
	return found;
}

/* The value of the "@key N" line of the info file in @dir, or -1. */
static long info_value(const char *dir, const char *key)
{
	char path[PATH_MAX], text[TEXT_MAX], want[64];
	char *line;
	long val;

	snprintf(path, sizeof(path), "%s/info", dir);
	if (read_text(path, text, sizeof(text)) < 0)
		return -1;
	snprintf(want, sizeof(want), "%s %%ld", key);
	for (line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
		if (sscanf(line, want, &val) == 1)
			return val;
	return -1;
}

/*
 * What the mappings file in @dir says of the BAR request with the extent
 * [@iova, BAR_LAST(@iova)]: "live" or "revoked"; "none" if there is no
 * such request, "?" if the file cannot be read or the line has neither.
 */
static const char *bar_state(const char *dir, __u64 iova)
{
	char path[PATH_MAX], text[TEXT_MAX], want[64];
	char *line;

	snprintf(path, sizeof(path), "%s/mappings", dir);
	if (read_text(path, text, sizeof(text)) < 0)
		return "?";
	snprintf(want, sizeof(want), "%#llx-%#llx mapped ",
		 (unsigned long long)iova,
		 (unsigned long long)BAR_LAST(iova));
	for (line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, want, strlen(want)))
			continue;
		if (strstr(line, " mmio ") && strstr(line, " revoked"))
			return "revoked";
		if (strstr(line, " mmio ") && strstr(line, " live"))
			return "live";
		return "?";
	}
	return "none";
}

/*
 * Has @edu read the word at @iova through the IOMMU (a BAR register) into
 * its buffer and write it back to the first word of @ram, mapped at
 * @ram_iova; returns the word that arrived. The device buffer is seeded
 * from RAM first, so a blocked read cannot pass off an earlier one.
 */
static __u32 __p2p_read(struct __test_metadata *_metadata,
			struct edu_dev *edu, char *ram, __u64 ram_iova,
			__u64 iova)
{
	volatile __u32 *word = (volatile __u32 *)ram;

	*word = P2P_SEED;
	ASSERT_EQ(0, edu_dma(edu, ram_iova, EDU_BUF_ADDR, 4, false));
	*word = P2P_POISON;
	ASSERT_EQ(0, edu_dma(edu, iova, EDU_BUF_ADDR, 4, false));
	ASSERT_EQ(0, edu_dma(edu, EDU_BUF_ADDR, ram_iova, 4, true));
	return *word;
}

/* edu[0] reads its own ident register at @iova, through A. */
#define p2p_read_a(iova)						\
	__p2p_read(_metadata, &self->edu, self->buf, A_IOVA, iova)

/*
 * The first edu's device fd, with BAR0 mmapped and bus mastering on, and
 * the fixture container's debugfs directory: what the BAR tests need.
 * The module reference count is taken again (a device fd may hold one).
 */
static void __bar_setup(struct __test_metadata *_metadata,
			FIXTURE_DATA(fail_nth) *self)
{
	__edu_open(_metadata, self->group_fd, self->edu_info[0].bdf,
		   &self->edu);
	ASSERT_EQ(BAR_SIZE, self->edu.bar0_size);
	ASSERT_TRUE(container_dir(self->group, "iommu", self->dir,
				  sizeof(self->dir)));
	ASSERT_EQ(0, sysfs_read_ulong(VFIO_RANGE_REFCNT, &self->refcnt));
	self->bar_iova = BAR_IOVA;
}

/* A mapping of the first edu's BAR0 of its own, not faulted in yet. */
static void __bar_mmap(struct __test_metadata *_metadata,
		       FIXTURE_DATA(fail_nth) *self)
{
	void *bar = mmap(NULL, BAR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->edu.fd, self->edu.bar0_offset);

	ASSERT_NE(MAP_FAILED, bar)
		TH_LOG("mmap BAR0: %s", strerror(errno));
	self->bar = bar;
}

static void __bar_munmap(struct __test_metadata *_metadata,
			 FIXTURE_DATA(fail_nth) *self)
{
	ASSERT_EQ(0, munmap(self->bar, BAR_SIZE));
	self->bar = NULL;
}

static int call_map_bar(FIXTURE_DATA(fail_nth) *self)
{
	return _test_range_map(self->container_fd, (uintptr_t)self->bar,
			       self->bar_iova, BAR_LAST(self->bar_iova), DMA_R);
}

static int call_unmap_bar(FIXTURE_DATA(fail_nth) *self)
{
	return _test_range_unmap(self->container_fd, self->bar_iova,
				 BAR_LAST(self->bar_iova), 0, &self->unmapped);
}

/*
 * The BAR is mapped and reachable: A and the BAR are the mappings, nothing
 * more is pinned or charged (a BAR pins nothing), and edu reads its ident
 * register through the IOMMU.
 */
static void __expect_bar_live(struct __test_metadata *_metadata,
			      FIXTURE_DATA(fail_nth) *self)
{
	expect_state(2, self->pinned, A_PAGES * PG);
	ASSERT_STREQ("live", bar_state(self->dir, self->bar_iova));
	ASSERT_EQ(EDU_IDENT, p2p_read_a(self->bar_iova));
}

/* Revoked: still recorded, but no DMA gets through. */
static void __expect_bar_revoked(struct __test_metadata *_metadata,
				 FIXTURE_DATA(fail_nth) *self)
{
	expect_state(2, self->pinned, A_PAGES * PG);
	ASSERT_STREQ("revoked", bar_state(self->dir, self->bar_iova));
	ASSERT_NE(EDU_IDENT, p2p_read_a(self->bar_iova));
}

/*
 * A revocation is reported by a worker, with a seq of its own: wait
 * (bounded) for the arbitrary client's REVOKED record, so that the seq of
 * the operations after it is known.
 */
static void __expect_revoked_report(struct __test_metadata *_metadata,
				    FIXTURE_DATA(fail_nth) *self)
{
	struct pollfd pfd = { .fd = self->fd_arb, .events = POLLIN };
	struct vfio_range_event *e = self->ev;

	ASSERT_EQ(1, poll(&pfd, 1, 10000))
		TH_LOG("no REVOKED record within 10 s");
	ASSERT_EQ(1U, read_fd(_metadata, self->fd_arb, e));
	ASSERT_EQ((__u32)VFIO_RANGE_EVENT_REVOKED, e[0].type);
	ASSERT_EQ(self->seq + 1, e[0].seq);
	ASSERT_EQ(self->bar_iova, e[0].start);
	ASSERT_EQ(BAR_LAST(self->bar_iova), e[0].last);
	self->seq = e[0].seq;
}

/* Only A is left; the debugfs view has no trace of the BAR request. */
static void __expect_no_bar(struct __test_metadata *_metadata,
			    FIXTURE_DATA(fail_nth) *self)
{
	expect_state(1, self->pinned, A_PAGES * PG);
	ASSERT_STREQ("none", bar_state(self->dir, self->bar_iova));
}

/* The BAR request was unmapped, with its length and an UNMAP event. */
static void __expect_bar_unmapped(struct __test_metadata *_metadata,
				  FIXTURE_DATA(fail_nth) *self)
{
	ASSERT_EQ(BAR_SIZE, self->unmapped);
	__expect_no_bar(_metadata, self);
	expect_op(VFIO_RANGE_EVENT_UNMAP, self->bar_iova,
		  BAR_LAST(self->bar_iova));
}

/* Maps the try's BAR mapping without faults; every client is told. */
static void __bar_map(struct __test_metadata *_metadata,
		      FIXTURE_DATA(fail_nth) *self)
{
	ASSERT_EQ(0, call_map_bar(self));
	expect_op(VFIO_RANGE_EVENT_MAP, self->bar_iova,
		  BAR_LAST(self->bar_iova));
}

static void __bar_unmap(struct __test_metadata *_metadata,
			FIXTURE_DATA(fail_nth) *self)
{
	ASSERT_EQ(0, call_unmap_bar(self));
	__expect_bar_unmapped(_metadata, self);
}

/* Map: a fresh, unfaulted BAR mapping each try, at IOVA of its own. */
/*
 * Faulted in before the call: a failure injected into vfio-pci's own fault
 * handler (remap_pfn_range()) makes 6.1 warn in untrack_pfn(), a kernel
 * bug outside this module, and the module allocates nothing of its own
 * there. The mmio tests cover the module's faulting in of a BAR.
 */
static void map_bar_prepare(struct __test_metadata *_metadata,
			    FIXTURE_DATA(fail_nth) *self)
{
	size_t off;

	self->bar_iova = BAR_IOVA + (self->bar_try++ % BAR_SLOTS) * B_STRIDE;
	__bar_mmap(_metadata, self);
	/* Every page: 6.12's vfio-pci faults in a page (or block) at a time. */
	for (off = 0; off < BAR_SIZE; off += getpagesize())
		(void)*(volatile __u32 *)((char *)self->bar + off);
}

static void map_bar_done(struct __test_metadata *_metadata,
			 FIXTURE_DATA(fail_nth) *self)
{
	expect_op(VFIO_RANGE_EVENT_MAP, self->bar_iova,
		  BAR_LAST(self->bar_iova));
	__expect_bar_live(_metadata, self);
	__bar_unmap(_metadata, self);
	/* A notifier a failed map left on the BAR mapping would fire now. */
	__bar_munmap(_metadata, self);
}

static void map_bar_unchanged(struct __test_metadata *_metadata,
			      FIXTURE_DATA(fail_nth) *self, int err)
{
	/* EFAULT writing the outputs back leaves the map done (uapi). */
	if (err == EFAULT && vrange_nr_mappings(self->container_fd) == 2) {
		map_bar_done(_metadata, self);
		return;
	}
	__expect_no_bar(_metadata, self);
	expect_no_events();
	/* Nothing of it is recorded: unmapping it finds nothing. */
	ASSERT_EQ(0, call_unmap_bar(self));
	ASSERT_EQ(0ULL, self->unmapped);
	expect_no_events();
	/*
	 * Nor left in the IOMMU (mapping it again would make the IOMMU
	 * driver complain of entries already set, which the log check sees).
	 */
	ASSERT_EQ(0, call_map_bar(self));
	map_bar_done(_metadata, self);
}

TEST_F_TIMEOUT(fail_nth, map_bar, 600)
{
	static const struct nth_case c = {
		.name = "map_bar", .prepare = map_bar_prepare,
		.call = call_map_bar, .done = map_bar_done,
		.unchanged = map_bar_unchanged, .errnos = alloc_errnos,
	};

	NEED_FAULT_INJECTION();
	__bar_setup(_metadata, self);
	sweep(&c);
}

/* Unmap of a live BAR mapping, mapped anew (unfaulted) each try. */
static void bar_mapped_prepare(struct __test_metadata *_metadata,
			       FIXTURE_DATA(fail_nth) *self)
{
	__bar_mmap(_metadata, self);
	__bar_map(_metadata, self);
}

static void unmap_bar_done(struct __test_metadata *_metadata,
			   FIXTURE_DATA(fail_nth) *self)
{
	__expect_bar_unmapped(_metadata, self);
	__bar_munmap(_metadata, self);
}

static void unmap_bar_unchanged(struct __test_metadata *_metadata,
				FIXTURE_DATA(fail_nth) *self, int err)
{
	if (err == EFAULT && vrange_nr_mappings(self->container_fd) == 1) {
		self->unmapped = BAR_SIZE;	/* not written back */
		unmap_bar_done(_metadata, self);
		return;
	}
	__expect_bar_live(_metadata, self);
	expect_no_events();
	__bar_unmap(_metadata, self);
	__bar_munmap(_metadata, self);
}

TEST_F_TIMEOUT(fail_nth, unmap_bar, 600)
{
	static const struct nth_case c = {
		.name = "unmap_bar", .prepare = bar_mapped_prepare,
		.call = call_unmap_bar, .done = unmap_bar_done,
		.unchanged = unmap_bar_unchanged, .errnos = alloc_errnos,
	};

	NEED_FAULT_INJECTION();
	__bar_setup(_metadata, self);
	sweep(&c);
}

/*
 * Revocation: munmap() of the BAR mapping while it is mapped. munmap()
 * itself can fail (ENOMEM) before it touches anything; the BAR must then
 * still be live. Once it succeeded, the request is revoked: recorded, no
 * event, no DMA; unmapping it then reports its length and an UNMAP event.
 */
static int call_munmap_bar(FIXTURE_DATA(fail_nth) *self)
{
	return munmap(self->bar, BAR_SIZE);
}

static void revoke_done(struct __test_metadata *_metadata,
			FIXTURE_DATA(fail_nth) *self)
{
	self->bar = NULL;
	__expect_revoked_report(_metadata, self);
	__expect_bar_revoked(_metadata, self);
	expect_no_events();
	__bar_unmap(_metadata, self);
}

static void revoke_unchanged(struct __test_metadata *_metadata,
			     FIXTURE_DATA(fail_nth) *self, int err)
{
	(void)err;	/* any failure must leave the same state */
	/* The user mapping is still there, and the IOMMU mapping too. */
	ASSERT_EQ(EDU_IDENT, *(volatile __u32 *)self->bar);
	__expect_bar_live(_metadata, self);
	expect_no_events();
	ASSERT_EQ(0, call_munmap_bar(self));
	revoke_done(_metadata, self);
}

/* Each try maps a fresh BAR mapping, faulted in by the map. */
static void revoke_prepare(struct __test_metadata *_metadata,
			   FIXTURE_DATA(fail_nth) *self)
{
	bar_mapped_prepare(_metadata, self);
	__expect_bar_live(_metadata, self);
}

TEST_F_TIMEOUT(fail_nth, revoke, 600)
{
	static const struct nth_case c = {
		.name = "revoke", .prepare = revoke_prepare,
		.call = call_munmap_bar, .done = revoke_done,
		.unchanged = revoke_unchanged, .errnos = alloc_errnos,
	};

	NEED_FAULT_INJECTION();
	__bar_setup(_metadata, self);
	sweep(&c);
}

/* Unmap of a revoked BAR request. */
static void revoked_prepare(struct __test_metadata *_metadata,
			    FIXTURE_DATA(fail_nth) *self)
{
	bar_mapped_prepare(_metadata, self);
	__bar_munmap(_metadata, self);
	__expect_revoked_report(_metadata, self);
	__expect_bar_revoked(_metadata, self);
	expect_no_events();
}

static void unmap_revoked_done(struct __test_metadata *_metadata,
			       FIXTURE_DATA(fail_nth) *self)
{
	__expect_bar_unmapped(_metadata, self);
}

static void unmap_revoked_unchanged(struct __test_metadata *_metadata,
				    FIXTURE_DATA(fail_nth) *self, int err)
{
	if (err == EFAULT && vrange_nr_mappings(self->container_fd) == 1) {
		self->unmapped = BAR_SIZE;	/* not written back */
		unmap_revoked_done(_metadata, self);
		return;
	}
	__expect_bar_revoked(_metadata, self);
	expect_no_events();
	__bar_unmap(_metadata, self);
}

TEST_F_TIMEOUT(fail_nth, unmap_revoked, 600)
{
	static const struct nth_case c = {
		.name = "unmap_revoked", .prepare = revoked_prepare,
		.call = call_unmap_bar, .done = unmap_revoked_done,
		.unchanged = unmap_revoked_unchanged, .errnos = alloc_errnos,
	};

	NEED_FAULT_INJECTION();
	__bar_setup(_metadata, self);
	sweep(&c);
}

/*
 * A second group joins a container holding RAM and a live BAR mapping
 * (VFIO_GROUP_SET_CONTAINER). It shares an existing IOMMU domain if the
 * IOMMU driver lets it, otherwise it gets a new domain and every mapping
 * is replayed into it. A failed join leaves the container as it was: the
 * same mappings, pins, charges and module references, no group more, no
 * domain more, the BAR live; a join is never an event. A join that
 * worked lets the group's device reach the mappings: edu reads the BAR's
 * ident register through the IOMMU into its buffer and writes it to RAM.
 */
static int call_join(FIXTURE_DATA(fail_nth) *self)
{
	return ioctl(self->join_group, VFIO_GROUP_SET_CONTAINER,
		     &self->join_container);
}

/* What the container holds before each try; taken once. */
static void __join_baseline(struct __test_metadata *_metadata,
			    FIXTURE_DATA(fail_nth) *self)
{
	self->join_nr_mappings = vrange_nr_mappings(self->join_container);
	ASSERT_EQ(2L, self->join_nr_mappings);
	ASSERT_EQ(0, vrange_counter("pinned_pages", &self->join_pinned));
	self->join_vmlck = vmlck_kb(0);
	ASSERT_LE(0, self->join_vmlck);
	self->join_domains = info_value(self->dir, "domains");
	ASSERT_LE(0, self->join_domains);
	ASSERT_EQ(1L, info_value(self->dir, "groups"));
	ASSERT_EQ(0, sysfs_read_ulong(VFIO_RANGE_REFCNT, &self->refcnt));
	ASSERT_STREQ("live", bar_state(self->dir, JOIN_BAR_IOVA));
}

/* Nobody heard of anything. */
static void __expect_join_quiet(struct __test_metadata *_metadata,
				FIXTURE_DATA(fail_nth) *self)
{
	expect_no_events();
	if (self->join_notifier >= 0)
		ASSERT_EQ(0U, read_fd(_metadata, self->join_notifier,
				      self->ev));
}

/* The container is as before, with @groups groups in it. */
static void __expect_join_state(struct __test_metadata *_metadata,
				FIXTURE_DATA(fail_nth) *self, long groups)
{
	unsigned long refcnt;

	ASSERT_EQ(self->join_nr_mappings,
		  vrange_nr_mappings(self->join_container));
	ASSERT_PINNED_PAGES(self->join_pinned);
	ASSERT_EQ(self->join_vmlck, vmlck_kb(0));
	ASSERT_EQ(0, sysfs_read_ulong(VFIO_RANGE_REFCNT, &refcnt));
	ASSERT_EQ(self->refcnt, refcnt);
	ASSERT_EQ(groups, info_value(self->dir, "groups"));
	ASSERT_STREQ("live", bar_state(self->dir, JOIN_BAR_IOVA));
	__expect_join_quiet(_metadata, self);
	/* The device already there still reaches the BAR and RAM. */
	if (self->join_container == self->container_fd)
		ASSERT_EQ(EDU_IDENT, p2p_read_a(JOIN_BAR_IOVA));
}

static bool __group_in_container(struct __test_metadata *_metadata, int fd)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };

	EXPECT_EQ(0, ioctl(fd, VFIO_GROUP_GET_STATUS, &status));
	return status.flags & VFIO_GROUP_FLAGS_CONTAINER_SET;
}

static void join_prepare(struct __test_metadata *_metadata,
			 FIXTURE_DATA(fail_nth) *self)
{
	/* EBUSY here: the last try left the group held. */
	self->join_group = vfio_group_open(self->group2);
	ASSERT_LE(0, self->join_group)
		TH_LOG("group %d: %s", self->group2, strerror(errno));
}

static void join_done(struct __test_metadata *_metadata,
		      FIXTURE_DATA(fail_nth) *self)
{
	long domains = info_value(self->dir, "domains");

	ASSERT_TRUE(__group_in_container(_metadata, self->join_group));
	__expect_join_state(_metadata, self, 2);
	/* One domain more (replayed into) or the same ones (shared). */
	ASSERT_LE(self->join_domains, domains);
	ASSERT_GE(self->join_domains + 1, domains);
	if (domains > self->join_domains)
		self->join_new_domains++;
	else
		self->join_shared++;

	/* The joined device reaches the RAM and the BAR mapping. */
	__edu_open(_metadata, self->join_group, self->edu_info[1].bdf,
		   &self->edu2);
	ASSERT_EQ(EDU_IDENT, __p2p_read(_metadata, &self->edu2,
					self->join_ram, self->join_ram_iova,
					JOIN_BAR_IOVA));
	edu_close(&self->edu2);

	/* And it leaves again, with its domain if it had one of its own. */
	ASSERT_EQ(0, ioctl(self->join_group, VFIO_GROUP_UNSET_CONTAINER));
	vfio_close(&self->join_group);
	__expect_join_state(_metadata, self, 1);
	ASSERT_EQ(self->join_domains, info_value(self->dir, "domains"));
}

static void join_unchanged(struct __test_metadata *_metadata,
			   FIXTURE_DATA(fail_nth) *self, int err)
{
	(void)err;	/* any failure must leave the same state */
	ASSERT_FALSE(__group_in_container(_metadata, self->join_group));
	__expect_join_state(_metadata, self, 1);
	ASSERT_EQ(self->join_domains, info_value(self->dir, "domains"));
	vfio_close(&self->join_group);
}

/* The IOMMU driver's own errors for a failed attach, too. */
static const int join_errnos[] = {
	ENOMEM, EFAULT, EINVAL, ENODEV, EBUSY, ENOSPC, 0,
};

static void __join_sweep(struct __test_metadata *_metadata,
			 FIXTURE_DATA(fail_nth) *self, const char *name)
{
	const struct nth_case c = {
		.name = name, .prepare = join_prepare, .call = call_join,
		.done = join_done, .unchanged = join_unchanged,
		.errnos = join_errnos,
	};

	__join_baseline(_metadata, self);
	sweep(&c);
	ksft_print_msg("%s: %u joins got a new domain (replay), %u shared one\n",
		       name, self->join_new_domains, self->join_shared);
	fflush(stdout);
	/* The sweep always ends with a successful join. */
	ASSERT_LT(0U, self->join_new_domains + self->join_shared);
}

/*
 * The second edu's group joins the fixture's container, where the first
 * edu's group is: RAM (A) and the first edu's BAR are mapped. The IOMMU
 * driver decides whether the group shares the domain (as VT-d does) or
 * gets a new one; a fault that fails the share makes it a new one.
 */
TEST_F_TIMEOUT(fail_nth, join, 600)
{
	NEED_FAULT_INJECTION();
	if (self->group2 < 0)
		SKIP(return, "needs a second edu device in its own group");
	__bar_setup(_metadata, self);
	self->join_container = self->container_fd;
	self->join_ram = self->buf;
	self->join_ram_iova = A_IOVA;
	ASSERT_EQ(0, _test_range_map(self->container_fd,
				     (uintptr_t)self->edu.bar0, JOIN_BAR_IOVA,
				     BAR_LAST(JOIN_BAR_IOVA), DMA_R));
	expect_op(VFIO_RANGE_EVENT_MAP, JOIN_BAR_IOVA, BAR_LAST(JOIN_BAR_IOVA));
	__join_sweep(_metadata, self, "join");
}

/*
 * The same with a container that has no IOMMU domain yet (its only group
 * is an emulated one of vfio_range_test.ko), so every join that works
 * creates a domain and replays the RAM and BAR mappings into it, and the
 * sweep reaches the faults of the replay itself.
 */
TEST_F_TIMEOUT(fail_nth, join_new_domain, 600)
{
	NEED_FAULT_INJECTION();
	if (self->group2 < 0)
		SKIP(return, "needs a second edu device in its own group");
	if (self->test_fd < 0)
		SKIP(return, "vfio_range_test.ko not loaded");
	__bar_setup(_metadata, self);
	__emu_add(_metadata, self->test_fd, &self->emu);
	__vfio_container_setup(_metadata, self->emu.group, VFIO_RANGE_IOMMU,
			       &self->emu.container_fd, &self->emu.group_fd);
	ASSERT_TRUE(container_dir(self->emu.group, "emulated", self->dir,
				  sizeof(self->dir)));
	self->join_container = self->emu.container_fd;
	self->join_notifier = _test_notifier(self->join_container, EV_BOTH,
					     ARB, 0, U64_MAX, 1024);
	ASSERT_LE(0, self->join_notifier);
	ASSERT_EQ(0, fcntl(self->join_notifier, F_SETFL, O_NONBLOCK));
	/* B's pages: pinned and charged a second time, by this container. */
	self->join_ram = self->buf + A_PAGES * PG;
	self->join_ram_iova = JOIN_RAM_IOVA;
	ASSERT_EQ(0, _test_range_map(self->join_container,
				     (uintptr_t)self->join_ram, JOIN_RAM_IOVA,
				     JOIN_RAM_IOVA + B_PAGES * PG - 1,
				     RANGE_RW));
	ASSERT_EQ(0, _test_range_map(self->join_container,
				     (uintptr_t)self->edu.bar0, JOIN_BAR_IOVA,
				     BAR_LAST(JOIN_BAR_IOVA), DMA_R));
	ASSERT_EQ(2U, read_fd(_metadata, self->join_notifier, self->ev));
	ASSERT_EQ(0L, info_value(self->dir, "domains"));
	__join_sweep(_metadata, self, "join_new_domain");
	ASSERT_EQ(0U, self->join_shared);
}

TEST_HARNESS_MAIN
