// SPDX-License-Identifier: GPL-2.0-only
/*
 * Stress tests of the vfio-range IOMMU backend: threads mapping and
 * unmapping overlapping ranges while notifier clients come and go, checked
 * against a model rebuilt from an observer's events; processes killed with
 * SIGKILL in the middle of large maps; BAR mappings revoked (munmap,
 * memory decode off) while threads map them; the container, group,
 * device and notifier fds closed in every order; the module held while
 * anything uses it. After each, nothing may be left pinned, charged or
 * referenced.
 *
 *   VFIO_RANGE_STRESS_MS=<n>    duration of the timed test (default 3000)
 *   VFIO_RANGE_STRESS_SEED=<n>  seed (default: from the time; printed)
 *
 * Needs root, an edu device bound to vfio-pci behind an IOMMU, debugfs and
 * vfio_iommu_range.ko loaded; vfio_range_test.ko adds in-kernel clients to
 * the churn if it is loaded.
 */
#include "vfio_range_utils.h"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

/* The granule: 4 KiB, or min_pgsize (set by the setup). */
static __u64 stress_pg = SZ_4K;
#define PG			stress_pg
#define WIN_PAGES		128	/* IOVA window the mappers share */
#define WIN_BASE		0x4000000ULL
#define WIN_LAST		(WIN_BASE + WIN_PAGES * PG - 1)
#define MAX_RUN			16	/* pages per map or unmap */
#define BUF_PAGES		(WIN_PAGES + MAX_RUN + 2)
#define CANARY_IOVA		(WIN_LAST + 1 + SZ_1M)
#define MAPPERS			3
#define CHURNERS		2
#define OBSERVER_QUEUE		65536
/* A client that reads only at the end, far behind the event log. */
#define LAGGARD_QUEUE		64
#define STRESS_MS_DEFAULT	3000UL

#define BIG_MAP			(64 * SZ_1M)	/* SIGKILL test */
#define KILL_ROUNDS		8

#define EV_BOTH		(VFIO_RANGE_EVENT_MAP | VFIO_RANGE_EVENT_UNMAP)

/* rand_r() streams: one per thread, all from the printed seed. */
static unsigned int rnd_below(unsigned int *state, unsigned int n)
{
	return n ? (unsigned int)rand_r(state) % n : 0;
}

FIXTURE(stress)
{
	int group;
	char bdf[NAME_MAX + 1];
	int container_fd;
	int group_fd;
	int test_fd;		/* vfio_range_test.ko, or -1 */
	int klog_fd;
	char *buf;		/* BUF_PAGES pages, faulted in */
	long vmlck;
	long long pinned;
	unsigned long refcnt;
	unsigned int seed;
};

FIXTURE_SETUP(stress)
{
	struct edu_info edu[EDU_MAX];

	self->container_fd = -1;
	self->group_fd = -1;
	self->klog_fd = klog_open();
	ASSERT_LT(0, edu_find(edu, EDU_MAX));
	self->group = edu[0].group;
	memcpy(self->bdf, edu[0].bdf, sizeof(self->bdf));
	self->test_fd = open(VFIO_RANGE_TEST_DEV, O_RDWR);

	ASSERT_EQ(0, vrange_counter("pinned_pages", &self->pinned))
		TH_LOG("%s: %s", VFIO_RANGE_COUNTERS, strerror(errno));
	ASSERT_EQ(0, sysfs_read_ulong(VFIO_RANGE_REFCNT, &self->refcnt));
	self->vmlck = vmlck_kb(0);
	ASSERT_LE(0, self->vmlck);
	stress_pg = module_granule();
	self->buf = test_mmap_aligned(BUF_PAGES * PG, PG,
				      PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, self->buf);
	memset(self->buf, 0x3c, BUF_PAGES * PG);
	self->seed = env_ulong("VFIO_RANGE_STRESS_SEED", time(NULL) ^ getpid());
	ksft_print_msg("stress: VFIO_RANGE_STRESS_SEED=%u\n", self->seed);
	fflush(stdout);
}

FIXTURE_TEARDOWN(stress)
{
	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);
	vfio_close(&self->test_fd);
	if (self->buf)
		munmap(self->buf, BUF_PAGES * PG);
	vfio_close(&self->klog_fd);
}

/* Nothing of any container is left: pins, charges, module references. */
#define assert_all_released()						\
	({								\
		unsigned long __refcnt;					\
									\
		ASSERT_PINNED_PAGES(self->pinned);			\
		ASSERT_VMLCK(self->vmlck, 0);				\
		ASSERT_EQ(0, sysfs_read_ulong(VFIO_RANGE_REFCNT,	\
					      &__refcnt));		\
		ASSERT_EQ(self->refcnt, __refcnt);			\
	})

/* ---------------------------------------------------------------------- */
/* Overlapping maps and unmaps, notifier churn, checked against a model   */
/* ---------------------------------------------------------------------- */

struct churn_state {
	int container_fd;
	int group;
	int test_fd;
	char *buf;
	long long deadline;
	unsigned int seed;
	int observer_fd;
	int laggard_fd;		/* the observer's twin, read at the end */
	/* The observer's first records: what the laggard must have kept. */
	struct vfio_range_event first[LAGGARD_QUEUE];
	unsigned int nr_first;
	volatile bool mappers_done;
	/* The observer's model: which window pages are mapped. */
	bool mapped[WIN_PAGES];
	unsigned long events;
	unsigned long overflows;
	__u64 last_seq;
	/* Per-thread results, the first failure of each. */
	unsigned long maps[MAPPERS], unmaps[MAPPERS], registrations[CHURNERS];
	char error[MAPPERS + CHURNERS + 1][256];
};

#define churn_fail(st, idx, fmt, ...)					\
	do {								\
		if (!(st)->error[idx][0])				\
			snprintf((st)->error[idx],			\
				 sizeof((st)->error[idx]), fmt,		\
				 ##__VA_ARGS__);			\
	} while (0)

struct bar_state;

struct churn_arg {
	struct churn_state *st;
	struct bar_state *st_bar;
	int idx;
};

static void *mapper_fn(void *arg)
{
	struct churn_state *st = ((struct churn_arg *)arg)->st;
	int idx = ((struct churn_arg *)arg)->idx;
	unsigned int r = st->seed + idx;
	__u64 start, last, unmapped;
	unsigned int first, n;
	int ret;

	while (now_ms() < st->deadline) {
		first = rnd_below(&r, WIN_PAGES);
		n = 1 + rnd_below(&r, MAX_RUN);
		if (first + n > WIN_PAGES)
			n = WIN_PAGES - first;
		start = WIN_BASE + first * PG;
		last = start + n * PG - 1;
		if (rnd_below(&r, 2)) {
			ret = _test_range_map(st->container_fd,
					      (uintptr_t)st->buf + first * PG,
					      start, last, RANGE_RW);
			if (ret && errno != EEXIST)
				churn_fail(st, idx, "map [%#llx, %#llx]: %s",
					   (unsigned long long)start,
					   (unsigned long long)last,
					   strerror(errno));
			st->maps[idx] += !ret;
			continue;
		}
		if (!rnd_below(&r, 32)) {
			start = WIN_BASE;
			last = WIN_LAST;
		}
		ret = _test_range_unmap(st->container_fd, start, last, 0,
					&unmapped);
		/* EINVAL: the range cut through a request. */
		if (ret && errno != EINVAL)
			churn_fail(st, idx, "unmap [%#llx, %#llx]: %s",
				   (unsigned long long)start,
				   (unsigned long long)last, strerror(errno));
		if (!ret && (unmapped % PG || unmapped > last - start + 1))
			churn_fail(st, idx, "unmap [%#llx, %#llx]: %llu bytes",
				   (unsigned long long)start,
				   (unsigned long long)last,
				   (unsigned long long)unmapped);
		st->unmaps[idx] += !ret;
	}
	return NULL;
}

/* Window of a churning client: the mappers' window, part of it or all. */
static void churn_window(unsigned int *r, __u64 *start, __u64 *last)
{
	unsigned int first, n;

	switch (rnd_below(r, 3)) {
	case 0:
		*start = 0;
		*last = U64_MAX;
		break;
	default:
		first = rnd_below(r, WIN_PAGES);
		n = 1 + rnd_below(r, WIN_PAGES - first);
		*start = WIN_BASE + first * PG + rnd_below(r, PG);
		*last = WIN_BASE + (first + n) * PG - 1 - rnd_below(r, PG);
		if (*last < *start)
			*last = *start;
		break;
	}
}

static bool record_ok(const struct vfio_range_event *e, __u32 gran,
		      __u64 ws, __u64 wl)
{
	if (e->type == VFIO_RANGE_EVENT_OVERFLOW)
		return e->lost && e->start == ws && e->last == wl;
	if ((e->type != VFIO_RANGE_EVENT_MAP &&
	     e->type != VFIO_RANGE_EVENT_UNMAP) || !e->seq ||
	    e->start > e->last || e->start < ws || e->last > wl ||
	    e->start < WIN_BASE || e->last > WIN_LAST)
		return false;
	if (gran == VFIO_RANGE_GRANULARITY_ALIGNED)
		return e->addr_mask == e->last - e->start &&
		       !(e->addr_mask & (e->addr_mask + 1)) &&
		       !(e->start & e->addr_mask);
	return !e->addr_mask;
}

/* Registers, reads and unregisters clients until the mappers stop. */
static void *churner_fn(void *arg)
{
	struct churn_state *st = ((struct churn_arg *)arg)->st;
	int idx = ((struct churn_arg *)arg)->idx;
	unsigned int r = st->seed + 100 + idx;
	struct vfio_range_event ev[16];
	__u64 ws, wl, lost;
	__u32 gran, id, count;
	int fd, i, j;
	ssize_t n;

	while (!st->mappers_done) {
		churn_window(&r, &ws, &wl);
		gran = rnd_below(&r, 2);
		if (st->test_fd >= 0 && !rnd_below(&r, 3)) {
			/* An in-kernel client of vfio_range_test.ko. */
			if (_test_client_add(st->test_fd, st->group, EV_BOTH,
					     gran, ws, wl, &id)) {
				churn_fail(st, MAPPERS + idx, "CLIENT_ADD: %s",
					   strerror(errno));
				break;
			}
			for (i = 0; i < 4; i++) {
				sched_yield();
				if (_test_client_read(st->test_fd, id, ev, 16,
						      &count, &lost))
					churn_fail(st, MAPPERS + idx,
						   "CLIENT_READ: %s",
						   strerror(errno));
				for (j = 0; j < (int)count; j++)
					if (!record_ok(&ev[j], gran, ws, wl))
						churn_fail(st, MAPPERS + idx,
							   "in-kernel client: bad record");
			}
			if (_test_client_del(st->test_fd, id))
				churn_fail(st, MAPPERS + idx, "CLIENT_DEL: %s",
					   strerror(errno));
			st->registrations[idx]++;
			continue;
		}
		fd = _test_notifier(st->container_fd, 1 + rnd_below(&r, 3),
				    gran, ws, wl, 2 + rnd_below(&r, 64));
		if (fd < 0) {
			churn_fail(st, MAPPERS + idx, "notifier: %s",
				   strerror(errno));
			break;
		}
		fcntl(fd, F_SETFL, O_NONBLOCK);
		for (i = 0; i < 4; i++) {
			sched_yield();
			n = read(fd, ev, (1 + rnd_below(&r, 16)) * sizeof(ev[0]));
			if (n < 0 && errno != EAGAIN)
				churn_fail(st, MAPPERS + idx, "read: %s",
					   strerror(errno));
			if (n > 0 && n % sizeof(ev[0]))
				churn_fail(st, MAPPERS + idx, "read: %zd", n);
			for (j = 0; n > 0 && j < n / (int)sizeof(ev[0]); j++)
				if (!record_ok(&ev[j], gran, ws, wl))
					churn_fail(st, MAPPERS + idx,
						   "notifier: bad record type %u [%#llx, %#llx]",
						   ev[j].type,
						   (unsigned long long)ev[j].start,
						   (unsigned long long)ev[j].last);
		}
		close(fd);
		st->registrations[idx]++;
	}
	return NULL;
}

/* Applies one observer record to the model. */
static void observe(struct churn_state *st, const struct vfio_range_event *e)
{
	const int idx = MAPPERS + CHURNERS;
	__u64 p, first, last;
	bool map = e->type == VFIO_RANGE_EVENT_MAP;

	st->events++;
	if (e->type == VFIO_RANGE_EVENT_OVERFLOW) {
		st->overflows++;
		return;
	}
	if (!record_ok(e, VFIO_RANGE_GRANULARITY_ARBITRARY, 0, U64_MAX) ||
	    e->seq < st->last_seq || (e->start | (e->last + 1)) % PG) {
		churn_fail(st, idx, "observer: bad record type %u seq %llu (after %llu) [%#llx, %#llx]",
			   e->type, (unsigned long long)e->seq,
			   (unsigned long long)st->last_seq,
			   (unsigned long long)e->start,
			   (unsigned long long)e->last);
		return;
	}
	st->last_seq = e->seq;
	if (st->nr_first < LAGGARD_QUEUE)
		st->first[st->nr_first++] = *e;
	first = (e->start - WIN_BASE) / PG;
	last = (e->last - WIN_BASE) / PG;
	for (p = first; p <= last; p++) {
		/* A map covers unmapped pages only, an unmap mapped ones. */
		if (st->mapped[p] == map && !st->overflows)
			churn_fail(st, idx, "observer: seq %llu %s [%#llx, %#llx]: page %#llx already %s",
				   (unsigned long long)e->seq,
				   map ? "map" : "unmap",
				   (unsigned long long)e->start,
				   (unsigned long long)e->last,
				   (unsigned long long)(WIN_BASE + p * PG),
				   map ? "mapped" : "unmapped");
		st->mapped[p] = map;
	}
}

/* Reads what the observer has queued; returns the records read. */
static unsigned int observer_drain(struct churn_state *st)
{
	struct vfio_range_event ev[64];
	unsigned int total = 0;
	ssize_t n;
	int i;

	while ((n = read(st->observer_fd, ev, sizeof(ev))) > 0) {
		for (i = 0; i < n / (int)sizeof(ev[0]); i++)
			observe(st, &ev[i]);
		total += n / sizeof(ev[0]);
	}
	return total;
}

static void *observer_fn(void *arg)
{
	struct churn_state *st = arg;

	while (!st->mappers_done) {
		if (!observer_drain(st))
			usleep(1000);
	}
	return NULL;
}

/*
 * The laggard read nothing while every operation was logged, thousands of
 * them, far more than the event log holds: by the overflow rule it kept
 * the observer's first LAGGARD_QUEUE - 1 records, then an overflow record
 * counting all the others.
 */
static void __check_laggard(struct __test_metadata *_metadata,
			    struct churn_state *st)
{
	const unsigned long total = st->events - st->overflows;
	const unsigned int keep = LAGGARD_QUEUE - 1;
	struct vfio_range_event ev[LAGGARD_QUEUE + 1];
	unsigned int i, n;
	ssize_t len;

	ksft_print_msg("stress: laggard client %lu events behind\n", total);
	fflush(stdout);
	len = read(st->laggard_fd, ev, sizeof(ev));
	ASSERT_LT(0, len) TH_LOG("laggard read: %s", strerror(errno));
	ASSERT_EQ(0U, len % sizeof(ev[0]));
	n = len / sizeof(ev[0]);
	ASSERT_EQ(total > keep ? keep + 1 : total, n);
	for (i = 0; i < n && i < keep; i++) {
		ASSERT_EQ(0, memcmp(&st->first[i], &ev[i], sizeof(ev[i])))
			TH_LOG("laggard record %u: seq %llu, observer's %llu", i,
			       (unsigned long long)ev[i].seq,
			       (unsigned long long)st->first[i].seq);
	}
	if (total > keep) {
		ASSERT_EQ((__u32)VFIO_RANGE_EVENT_OVERFLOW, ev[keep].type);
		ASSERT_EQ(total - keep, ev[keep].lost);
	}
	ASSERT_EQ(-1, read(st->laggard_fd, ev, sizeof(ev)));
	ASSERT_EQ(EAGAIN, errno);
}

struct churn {
	struct churn_state *st;
	struct churn_arg args[MAPPERS + CHURNERS];
	pthread_t threads[MAPPERS + CHURNERS];
	pthread_t observer;
	unsigned long ms;
};

/*
 * Starts the mappers, churners and observer on the fixture's container
 * for VFIO_RANGE_STRESS_MS.
 */
static void __churn_begin(struct __test_metadata *_metadata,
			  FIXTURE_DATA(stress) *self, struct churn *c)
{
	struct churn_state *st;
	int i;

	c->ms = env_ulong("VFIO_RANGE_STRESS_MS", STRESS_MS_DEFAULT);
	c->st = st = calloc(1, sizeof(*st));
	ASSERT_NE(NULL, st);
	st->container_fd = self->container_fd;
	st->group = self->group;
	st->test_fd = self->test_fd;
	st->buf = self->buf;
	st->seed = self->seed;
	st->observer_fd = _test_notifier(self->container_fd, EV_BOTH,
					 VFIO_RANGE_GRANULARITY_ARBITRARY, 0,
					 U64_MAX, OBSERVER_QUEUE);
	ASSERT_LE(0, st->observer_fd);
	ASSERT_EQ(0, fcntl(st->observer_fd, F_SETFL, O_NONBLOCK));
	/* Registered before any operation: it hears what the observer does. */
	st->laggard_fd = _test_notifier(self->container_fd, EV_BOTH,
					VFIO_RANGE_GRANULARITY_ARBITRARY, 0,
					U64_MAX, LAGGARD_QUEUE);
	ASSERT_LE(0, st->laggard_fd);
	ASSERT_EQ(0, fcntl(st->laggard_fd, F_SETFL, O_NONBLOCK));

	st->deadline = now_ms() + c->ms;
	ASSERT_EQ(0, pthread_create(&c->observer, NULL, observer_fn, st));
	for (i = 0; i < MAPPERS + CHURNERS; i++) {
		/* Each kind of thread counts from 0. */
		c->args[i] = (struct churn_arg){
			.st = st,
			.idx = i < MAPPERS ? i : i - MAPPERS,
		};
		ASSERT_EQ(0, pthread_create(&c->threads[i], NULL,
					    i < MAPPERS ? mapper_fn :
							  churner_fn,
					    &c->args[i]));
	}
}

/*
 * Waits for the threads, checks what they saw, then empties the container
 * and checks that what the observer saw mapped was exactly what is left.
 */
static void __churn_end(struct __test_metadata *_metadata,
			FIXTURE_DATA(stress) *self, struct churn *c)
{
	unsigned long maps = 0, unmaps = 0, regs = 0;
	struct churn_state *st = c->st;
	__u64 unmapped, model = 0;
	int i;

	for (i = 0; i < MAPPERS; i++)
		ASSERT_EQ(0, pthread_join(c->threads[i], NULL));
	st->mappers_done = true;
	for (i = MAPPERS; i < MAPPERS + CHURNERS; i++)
		ASSERT_EQ(0, pthread_join(c->threads[i], NULL));
	ASSERT_EQ(0, pthread_join(c->observer, NULL));
	observer_drain(st);

	for (i = 0; i < MAPPERS; i++) {
		maps += st->maps[i];
		unmaps += st->unmaps[i];
	}
	for (i = 0; i < CHURNERS; i++)
		regs += st->registrations[i];
	ksft_print_msg("stress: %lu ms: %lu maps, %lu unmaps, %lu client registrations, %lu observer records, %lu overflows\n",
		       c->ms, maps, unmaps, regs, st->events, st->overflows);
	fflush(stdout);
	/* Braces: EXPECT_EQ() and its TH_LOG() are two statements. */
	for (i = 0; i < MAPPERS + CHURNERS + 1; i++) {
		EXPECT_EQ('\0', st->error[i][0])
			TH_LOG("%s", st->error[i]);
	}
	ASSERT_TRUE(_metadata->passed);
	/* Without enough work the test proves nothing. */
	ASSERT_LT(0UL, maps);
	ASSERT_LT(0UL, unmaps);
	ASSERT_LT(0UL, regs);

	for (i = 0; i < WIN_PAGES; i++)
		model += st->mapped[i] ? PG : 0;
	ASSERT_EQ(0, _test_range_unmap(self->container_fd, WIN_BASE,
				       WIN_LAST, 0, &unmapped));
	if (st->overflows) {
		TH_LOG("observer overflowed: model not compared");
	} else {
		ASSERT_EQ(model, unmapped);
	}
	observer_drain(st);
	for (i = 0; i < WIN_PAGES; i++)
		ASSERT_FALSE(st->mapped[i] && !st->overflows);
	if (!st->overflows)
		__check_laggard(_metadata, st);
	close(st->laggard_fd);
	close(st->observer_fd);
	free(st);
	c->st = NULL;
}

TEST_F_TIMEOUT(stress, overlapping_maps_with_notifier_churn, 300)
{
	struct churn c;

	__vfio_container_setup(_metadata, self->group, VFIO_RANGE_IOMMU,
			       &self->container_fd, &self->group_fd);
	__churn_begin(_metadata, self, &c);
	__churn_end(_metadata, self, &c);
	ASSERT_EQ(0L, vrange_nr_mappings(self->container_fd));
	ASSERT_PINNED_PAGES(self->pinned);
	ASSERT_VMLCK(self->vmlck, 0);

	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);
	assert_all_released();
	if (self->klog_fd >= 0)
		ASSERT_KLOG_CLEAN(self->klog_fd);
}

/*
 * A second group joins and leaves the container over and over while the
 * mappers and churners run. Each time it joins, its device must reach a
 * mapping made before (the new group sees every existing mapping, shared
 * domain or replayed) and copy data through it.
 */
TEST_F_TIMEOUT(stress, group_attach_detach_during_maps, 300)
{
	struct edu_info edu[EDU_MAX];
	unsigned int rounds = 0;
	char *src, *dst;
	struct edu_dev dev;
	struct churn c;
	int n, g2;

	n = edu_find(edu, EDU_MAX);
	if (n < 2 || edu[1].group == self->group)
		SKIP(return, "needs a second edu device in its own group");
	if (granule_restricted())
		SKIP(return, "min_pgsize: its DMA canary would lie above edu's 28-bit reach");
	__vfio_container_setup(_metadata, self->group, VFIO_RANGE_IOMMU,
			       &self->container_fd, &self->group_fd);
	/* The canary: two pages past the window, mapped throughout. */
	src = self->buf + (BUF_PAGES - 2) * PG;
	dst = src + PG;
	test_range_map(src, CANARY_IOVA, CANARY_IOVA + 2 * PG - 1);

	__churn_begin(_metadata, self, &c);
	while (now_ms() < c.st->deadline) {
		g2 = vfio_group_open(edu[1].group);
		ASSERT_LE(0, g2);
		ASSERT_EQ(0, ioctl(g2, VFIO_GROUP_SET_CONTAINER,
				   &self->container_fd))
			TH_LOG("round %u: SET_CONTAINER: %s", rounds,
			       strerror(errno));
		edu_init(&dev);
		__edu_open(_metadata, g2, edu[1].bdf, &dev);
		fill_pattern(src, EDU_DMA_LEN, rounds);
		memset(dst, 0, EDU_DMA_LEN);
		edu_dma_to_dev(&dev, CANARY_IOVA);
		edu_dma_from_dev(&dev, CANARY_IOVA + PG);
		ASSERT_EQ(0, memcmp(src, dst, EDU_DMA_LEN))
			TH_LOG("round %u: DMA through the new group failed",
			       rounds);
		edu_close(&dev);
		ASSERT_EQ(0, ioctl(g2, VFIO_GROUP_UNSET_CONTAINER));
		close(g2);
		rounds++;
	}
	ksft_print_msg("stress: group attached and detached %u times\n",
		       rounds);
	fflush(stdout);
	__churn_end(_metadata, self, &c);
	ASSERT_LT(0U, rounds);

	test_range_unmap(CANARY_IOVA, CANARY_IOVA + 2 * PG - 1, 2 * PG);
	ASSERT_EQ(0L, vrange_nr_mappings(self->container_fd));
	ASSERT_PINNED_PAGES(self->pinned);
	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);
	assert_all_released();
	if (self->klog_fd >= 0)
		ASSERT_KLOG_CLEAN(self->klog_fd);
}

/* ---------------------------------------------------------------------- */
/* BAR mappings revoked (munmap, memory decode off) while being mapped     */
/* ---------------------------------------------------------------------- */

#define BAR_SLOTS		4
#define BAR_IOVA		0x40000000ULL	/* slot i at + i * BAR size */
#define BAR_MAPPERS		2

struct bar_state {
	int container_fd;
	struct edu_dev *edu;
	__u64 bar_size;
	long long deadline;
	unsigned int seed;
	/* Current user mapping of each slot; swapped by the revoker. */
	char *slot[BAR_SLOTS];
	unsigned long maps, revokes, decode_toggles;
	char error[BAR_MAPPERS + 1][256];
};

static void *bar_mapper_fn(void *arg)
{
	struct bar_state *st = ((struct churn_arg *)arg)->st_bar;
	int idx = ((struct churn_arg *)arg)->idx;
	unsigned int r = st->seed + 200 + idx;
	__u64 off, len, start, unmapped;
	unsigned int slot;
	__u32 flags;
	char *bar;
	int ret;

	while (now_ms() < st->deadline) {
		slot = rnd_below(&r, BAR_SLOTS);
		bar = __atomic_load_n(&st->slot[slot], __ATOMIC_ACQUIRE);
		off = rnd_below(&r, st->bar_size / PG) * PG;
		len = (1 + rnd_below(&r, 16)) * PG;
		flags = VFIO_RANGE_MAP_READ;
		if (!rnd_below(&r, 3)) {
			/* An unaligned section, trimmed. */
			off += rnd_below(&r, PG);
			len -= rnd_below(&r, PG);
			flags |= VFIO_RANGE_MAP_TRIM;
		}
		if (off + len > st->bar_size)
			len = st->bar_size - off;
		start = BAR_IOVA + slot * st->bar_size + off;
		if (rnd_below(&r, 3)) {
			ret = _test_range_map(st->container_fd,
					      (uintptr_t)bar + off, start,
					      start + len - 1, flags);
			/*
			 * The slot may be gone or changing under us (EFAULT,
			 * EINVAL, EAGAIN) or overlap a request (EEXIST).
			 */
			if (ret && errno != EEXIST && errno != EFAULT &&
			    errno != EINVAL && errno != EAGAIN)
				churn_fail(st, idx, "BAR map [%#llx, +%#llx]: %s",
					   (unsigned long long)start,
					   (unsigned long long)len,
					   strerror(errno));
			st->maps += !ret;
			continue;
		}
		start = BAR_IOVA + slot * st->bar_size;
		ret = _test_range_unmap(st->container_fd, start,
					start + st->bar_size - 1, 0,
					&unmapped);
		if (ret)
			churn_fail(st, idx, "BAR unmap slot %u: %s", slot,
				   strerror(errno));
	}
	return NULL;
}

TEST_F_TIMEOUT(stress, bar_revoked_while_mapped, 300)
{
	unsigned long ms = env_ulong("VFIO_RANGE_STRESS_MS", STRESS_MS_DEFAULT);
	struct churn_arg args[BAR_MAPPERS];
	pthread_t threads[BAR_MAPPERS];
	unsigned int r = self->seed, slot, i;
	struct bar_state *st;
	struct edu_dev edu;
	char *old, *bar;

	if (granule_restricted())
		SKIP(return, GRANULE_SKIP);
	__vfio_container_setup(_metadata, self->group, VFIO_RANGE_IOMMU,
			       &self->container_fd, &self->group_fd);
	edu_init(&edu);
	__edu_open(_metadata, self->group_fd, self->bdf, &edu);
	st = calloc(1, sizeof(*st));
	ASSERT_NE(NULL, st);
	st->container_fd = self->container_fd;
	st->edu = &edu;
	st->bar_size = edu.bar0_size;
	st->seed = self->seed;
	for (i = 0; i < BAR_SLOTS; i++) {
		st->slot[i] = mmap(NULL, st->bar_size, PROT_READ | PROT_WRITE,
				   MAP_SHARED, edu.fd, edu.bar0_offset);
		ASSERT_NE(MAP_FAILED, st->slot[i]);
	}

	st->deadline = now_ms() + ms;
	for (i = 0; i < BAR_MAPPERS; i++) {
		args[i] = (struct churn_arg){ .st_bar = st, .idx = i };
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, bar_mapper_fn,
					    &args[i]));
	}
	/* The revoker: replace a slot's mapping, or flip memory decode. */
	while (now_ms() < st->deadline) {
		usleep(rnd_below(&r, 2000));
		if (!rnd_below(&r, 4)) {
			ASSERT_EQ(0, edu_set_memory_decode(&edu, false));
			usleep(rnd_below(&r, 1000));
			ASSERT_EQ(0, edu_set_memory_decode(&edu, true));
			st->decode_toggles++;
			continue;
		}
		slot = rnd_below(&r, BAR_SLOTS);
		bar = mmap(NULL, st->bar_size, PROT_READ | PROT_WRITE,
			   MAP_SHARED, edu.fd, edu.bar0_offset);
		ASSERT_NE(MAP_FAILED, bar);
		old = __atomic_exchange_n(&st->slot[slot], bar,
					  __ATOMIC_ACQ_REL);
		/* Whole, or the last page first (a partial revocation). */
		if (rnd_below(&r, 2))
			ASSERT_EQ(0, munmap(old + st->bar_size - PG, PG));
		ASSERT_EQ(0, munmap(old, st->bar_size));
		st->revokes++;
	}
	for (i = 0; i < BAR_MAPPERS; i++)
		ASSERT_EQ(0, pthread_join(threads[i], NULL));
	ksft_print_msg("stress: %lu ms: %lu BAR maps, %lu mappings revoked, memory decode off %lu times\n",
		       ms, st->maps, st->revokes, st->decode_toggles);
	fflush(stdout);
	for (i = 0; i < BAR_MAPPERS; i++) {
		EXPECT_EQ('\0', st->error[i][0])
			TH_LOG("%s", st->error[i]);
	}
	ASSERT_LT(0UL, st->maps);
	ASSERT_LT(0UL, st->revokes);

	/* The device still works through a fresh request. */
	ASSERT_EQ(0, _test_range_unmap(self->container_fd, 0, U64_MAX, 0,
				       NULL));
	ASSERT_EQ(0L, vrange_nr_mappings(self->container_fd));
	test_range_map(self->buf, WIN_BASE, WIN_BASE + PG - 1);
	fill_pattern(self->buf, EDU_DMA_LEN, r);
	memset(self->buf + PG, 0, EDU_DMA_LEN);
	test_range_map(self->buf + PG, WIN_BASE + PG, WIN_BASE + 2 * PG - 1);
	edu_dma_to_dev(&edu, WIN_BASE);
	edu_dma_from_dev(&edu, WIN_BASE + PG);
	ASSERT_EQ(0, memcmp(self->buf, self->buf + PG, EDU_DMA_LEN));
	test_range_unmap(0, U64_MAX, 2 * PG);

	for (i = 0; i < BAR_SLOTS; i++)
		munmap(st->slot[i], st->bar_size);
	free(st);
	edu_close(&edu);
	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);
	assert_all_released();
	if (self->klog_fd >= 0)
		ASSERT_KLOG_CLEAN(self->klog_fd);
}

/* ---------------------------------------------------------------------- */
/* SIGKILL in the middle of large maps                                    */
/* ---------------------------------------------------------------------- */

static void *blocked_reader_fn(void *arg)
{
	struct vfio_range_event ev;
	int fd = *(int *)arg;

	/* Blocks between events, so SIGKILL often finds it asleep. */
	while (read(fd, &ev, sizeof(ev)) > 0)
		;
	return NULL;
}

/*
 * The child maps and unmaps BIG_MAP bytes over and over, with a notifier
 * reader blocked beside it, until it is killed.
 */
static void big_map_child(struct __test_metadata *_metadata, int group,
			  int ready_fd)
{
	int container_fd = -1, group_fd = -1, nfd;
	pthread_t reader;
	char *big;

	__vfio_container_setup(_metadata, group, VFIO_RANGE_IOMMU,
			       &container_fd, &group_fd);
	big = mmap(NULL, BIG_MAP, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, big);
	nfd = _test_notifier(container_fd, EV_BOTH,
			     VFIO_RANGE_GRANULARITY_ALIGNED, 0, U64_MAX, 4);
	ASSERT_LE(0, nfd);
	ASSERT_EQ(0, pthread_create(&reader, NULL, blocked_reader_fn, &nfd));
	ASSERT_EQ(1, write(ready_fd, "r", 1));
	for (;;) {
		ASSERT_EQ(0, _test_range_map(container_fd, (uintptr_t)big,
					     WIN_BASE,
					     WIN_BASE + BIG_MAP - 1,
					     RANGE_RW));
		ASSERT_EQ(0, _test_range_unmap(container_fd, 0, U64_MAX, 0,
					       NULL));
	}
}

/*
 * Whether task @pid is inside the backend (its kernel stack holds a vrange_
 * function): 1 or 0, or -1 if the kernel does not show stacks.
 */
static int in_backend(pid_t pid)
{
	char path[64], buf[8192];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stack", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return !!strstr(buf, "vrange_");
}

TEST_F_TIMEOUT(stress, sigkill_during_big_maps, 300)
{
	unsigned int r = self->seed, round, delay_us, inside = 0;
	bool stacks = true;
	int pipefd[2], status, fd;
	pid_t pid;
	char c;

	for (round = 0; round < KILL_ROUNDS; round++) {
		ASSERT_EQ(0, pipe(pipefd));
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			close(pipefd[0]);
			big_map_child(_metadata, self->group, pipefd[1]);
			_exit(1);
		}
		close(pipefd[1]);
		ASSERT_EQ(1, read(pipefd[0], &c, 1));
		close(pipefd[0]);
		/* Spread over a few map+unmap cycles of 64 MiB. */
		delay_us = rnd_below(&r, 200000);
		usleep(delay_us);
		switch (in_backend(pid)) {
		case 1:
			inside++;
			break;
		case -1:
			stacks = false;
			break;
		}
		ASSERT_EQ(0, kill(pid, SIGKILL));
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFSIGNALED(status))
			TH_LOG("round %u: the child ended by itself (status %#x)",
			       round, status);
		ASSERT_EQ(SIGKILL, WTERMSIG(status));

		/* All released with the child: the group opens again. */
		assert_all_released();
		fd = vfio_group_open(self->group);
		ASSERT_LE(0, fd)
			TH_LOG("round %u (killed after %u us): group: %s",
			       round, delay_us, strerror(errno));
		close(fd);
	}
	if (stacks) {
		ksft_print_msg("stress: %u of %u children killed inside the backend\n",
			       inside, KILL_ROUNDS);
		fflush(stdout);
		/* Killing them elsewhere only would prove little. */
		ASSERT_LT(0U, inside);
	}
	if (self->klog_fd >= 0)
		ASSERT_KLOG_CLEAN(self->klog_fd);
}

/* ---------------------------------------------------------------------- */
/* Container, group, device and notifier fds closed in every order        */
/* ---------------------------------------------------------------------- */

enum { FD_CONTAINER, FD_GROUP, FD_DEVICE, FD_NOTIFIER, NR_FDS };

static const char *const fd_names[NR_FDS] = {
	"container", "group", "device", "notifier",
};

/* The next permutation of @p in lexicographic order; false after the last. */
static bool next_perm(int *p, int n)
{
	int i = n - 2, j, tmp;

	while (i >= 0 && p[i] >= p[i + 1])
		i--;
	if (i < 0)
		return false;
	for (j = n - 1; p[j] <= p[i]; j--)
		;
	tmp = p[i];
	p[i] = p[j];
	p[j] = tmp;
	for (i++, j = n - 1; i < j; i++, j--) {
		tmp = p[i];
		p[i] = p[j];
		p[j] = tmp;
	}
	return true;
}

TEST_F_TIMEOUT(stress, close_in_every_order, 300)
{
	int order[NR_FDS] = { 0, 1, 2, 3 }, fds[NR_FDS];
	struct vfio_range_event ev;
	struct edu_dev edu;
	unsigned int perms = 0;
	unsigned long refcnt;
	bool held, released;
	ssize_t n;
	int i;

	do {
		__vfio_container_setup(_metadata, self->group,
				       VFIO_RANGE_IOMMU, &self->container_fd,
				       &self->group_fd);
		edu_init(&edu);
		ASSERT_EQ(0, edu_open_fd(&edu, self->group_fd, self->bdf));
		fds[FD_CONTAINER] = self->container_fd;
		fds[FD_GROUP] = self->group_fd;
		fds[FD_DEVICE] = edu.fd;
		fds[FD_NOTIFIER] = _test_notifier(self->container_fd, EV_BOTH,
						  0, 0, U64_MAX, 0);
		ASSERT_LE(0, fds[FD_NOTIFIER]);
		ASSERT_EQ(0, fcntl(fds[FD_NOTIFIER], F_SETFL, O_NONBLOCK));
		test_range_map(self->buf, WIN_BASE, WIN_BASE + 16 * PG - 1);
		ASSERT_PINNED_PAGES(self->pinned + 16 * PG / getpagesize());
		ASSERT_EQ(0, sysfs_read_ulong(VFIO_RANGE_REFCNT, &refcnt));
		ASSERT_LT(self->refcnt, refcnt);

		for (i = 0; i < NR_FDS; i++) {
			ASSERT_EQ(0, close(fds[order[i]]))
				TH_LOG("close %s: %s", fd_names[order[i]],
				       strerror(errno));
			fds[order[i]] = -1;
			/*
			 * The notifier outlives the rest: readable, quiet,
			 * and at end of file once the container is released
			 * (its last group gone; the device fd holds it).
			 */
			if (fds[FD_NOTIFIER] >= 0) {
				released = fds[FD_GROUP] < 0 &&
					   fds[FD_DEVICE] < 0;
				while ((n = read(fds[FD_NOTIFIER], &ev,
						 sizeof(ev))) > 0)
					ASSERT_EQ((ssize_t)sizeof(ev), n);
				if (released) {
					ASSERT_EQ(0, n);
				} else {
					ASSERT_EQ(-1, n);
					ASSERT_EQ(EAGAIN, errno);
				}
			}
			/*
			 * The module is held by a container with a group in
			 * it (the device fd holds its group) and by a
			 * notifier fd; an empty container lets it go.
			 */
			held = fds[FD_GROUP] >= 0 || fds[FD_DEVICE] >= 0 ||
			       fds[FD_NOTIFIER] >= 0;
			ASSERT_EQ(0, sysfs_read_ulong(VFIO_RANGE_REFCNT,
						      &refcnt));
			ASSERT_EQ(held, refcnt > self->refcnt)
				TH_LOG("closed %s, %s, %s: refcnt %lu, idle %lu",
				       fd_names[order[0]],
				       i > 0 ? fd_names[order[1]] : "-",
				       i > 1 ? fd_names[order[2]] : "-",
				       refcnt, self->refcnt);
		}
		self->container_fd = -1;
		self->group_fd = -1;
		assert_all_released();
		perms++;
	} while (next_perm(order, NR_FDS));
	ASSERT_EQ(24U, perms);
	if (self->klog_fd >= 0)
		ASSERT_KLOG_CLEAN(self->klog_fd);
}

/*
 * The module cannot be removed while a container or a notifier fd that
 * outlived its container uses it.
 */
TEST_F(stress, module_held_by_notifier_fd)
{
	unsigned long refcnt;
	int nfd, ret;

	__vfio_container_setup(_metadata, self->group, VFIO_RANGE_IOMMU,
			       &self->container_fd, &self->group_fd);
	nfd = _test_notifier(self->container_fd, EV_BOTH, 0, 0, U64_MAX, 0);
	ASSERT_LE(0, nfd);
	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);

	ASSERT_EQ(0, sysfs_read_ulong(VFIO_RANGE_REFCNT, &refcnt));
	ASSERT_LT(self->refcnt, refcnt);
	ret = syscall(SYS_delete_module, VFIO_RANGE_MODULE, O_NONBLOCK);
	ASSERT_EQ(-1, ret);
	ASSERT_TRUE(errno == EWOULDBLOCK || errno == EBUSY)
		TH_LOG("delete_module: %s", strerror(errno));
	ASSERT_EQ(0, access(VFIO_RANGE_SYSFS, F_OK));

	close(nfd);
	assert_all_released();
}

TEST_HARNESS_MAIN
