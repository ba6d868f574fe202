// SPDX-License-Identifier: GPL-2.0-only
/*
 * Notification tests of the vfio-range IOMMU backend: the exact events that
 * userspace notifier fds (VFIO_IOMMU_RANGE_NOTIFIER) and in-kernel clients
 * receive for maps and unmaps (granularity, window clipping, event masks,
 * merged unmap runs, the top of the IOVA space, seq numbers), their queue
 * (overflow, poll, non-blocking and bad reads, the container's event log
 * outrun and clients leaving it), registration errors and
 * limits, unregistration under load, and emulated-IOMMU devices (pins,
 * dma_unmap, vfio_dma_rw).
 *
 * Needs root, vfio_iommu_range.ko and vfio_range_test.ko loaded. The notify
 * tests use a container holding only an emulated device, whose usable IOVA
 * space is all of [0, U64_MAX]; the edu_notify ones add an edu device behind
 * an IOMMU (and skip without one).
 */
#include "vfio_range_utils.h"

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/time.h>

#define PG			SZ_4K
#define BUF_PAGES		512
#define MAX_CLIENTS_PARAM	VFIO_RANGE_SYSFS "/parameters/max_clients"

#define EV_MAP			VFIO_RANGE_EVENT_MAP
#define EV_UNMAP		VFIO_RANGE_EVENT_UNMAP
#define EV_BOTH			(EV_MAP | EV_UNMAP)
#define EV_OVERFLOW		VFIO_RANGE_EVENT_OVERFLOW
#define ARB			VFIO_RANGE_GRANULARITY_ARBITRARY
#define ALIGNED			VFIO_RANGE_GRANULARITY_ALIGNED

#define PROT_R			1	/* emudev_pin.prot */
#define PROT_W			2
#define PROT_RW			3

/* Records a test reads back from one client at most. */
#define MAX_EVENTS		16384U
/* dma_unmap records an emulated device keeps (TEST_LOG_MAX). */
#define MAX_LOG			256U

#define EV(_type, _seq, _start, _last, _mask)				\
	{								\
		.type = (_type), .seq = (_seq), .start = (_start),	\
		.last = (_last), .addr_mask = (_mask),			\
	}
#define OVF(_start, _last, _lost)					\
	{								\
		.type = EV_OVERFLOW, .start = (_start),			\
		.last = (_last), .lost = (_lost),			\
	}

/* ---------------------------------------------------------------------- */
/* vfio_range_test.ko                                                     */
/* ---------------------------------------------------------------------- */

/* ---------------------------------------------------------------------- */
/* Notifier fds                                                           */
/* ---------------------------------------------------------------------- */

#define test_notifier_q(events, gran, start, last, queue_len)		\
	({								\
		int __fd = _test_notifier(self->container_fd, events,	\
					  gran, start, last,		\
					  queue_len);			\
									\
		ASSERT_LE(0, __fd)					\
			TH_LOG("VFIO_IOMMU_RANGE_NOTIFIER: %s",		\
			       strerror(errno));			\
		__fd;							\
	})
#define test_notifier(events, gran, start, last)			\
	test_notifier_q(events, gran, start, last, 0)
#define test_err_notifier_q(_errno, events, gran, start, last, queue_len) \
	EXPECT_ERRNO(_errno, _test_notifier(self->container_fd, events,	\
					    gran, start, last,		\
					    queue_len))
#define test_err_notifier(_errno, events, gran, start, last)		\
	test_err_notifier_q(_errno, events, gran, start, last, 0)

#define test_client_add(events, gran, start, last)			\
	({								\
		__u32 __id = 0;						\
									\
		ASSERT_EQ(0, _test_client_add(self->test_fd,		\
					      self->e.group, events,	\
					      gran, start, last,	\
					      &__id))			\
			TH_LOG("CLIENT_ADD: %s", strerror(errno));	\
		__id;							\
	})
#define test_err_client_add(_errno, events, gran, start, last)		\
	EXPECT_ERRNO(_errno, _test_client_add(self->test_fd,		\
					      self->e.group, events,	\
					      gran, start, last, NULL))
#define test_client_del(id)						\
	ASSERT_EQ(0, _test_client_del(self->test_fd, id))

#define test_emu_pin(iova, npage, prot)					\
	do {								\
		ASSERT_EQ(0, _emu_pin(self->test_fd, self->e.id, iova,	\
				      npage, prot))			\
			TH_LOG("EMUDEV_PIN %#llx: %s",			\
			       (unsigned long long)(iova),		\
			       strerror(errno));			\
	} while (0)
#define test_err_emu_pin(_errno, iova, npage, prot)			\
	EXPECT_ERRNO(_errno, _emu_pin(self->test_fd, self->e.id, iova,	\
				      npage, prot))
#define test_emu_rw(iova, data, len, write)				\
	do {								\
		ASSERT_EQ(0, _emu_rw(self->test_fd, self->e.id, iova,	\
				     data, len, write))			\
			TH_LOG("EMUDEV_RW %#llx: %s",			\
			       (unsigned long long)(iova),		\
			       strerror(errno));			\
	} while (0)
#define test_err_emu_rw(_errno, iova, data, len, write)			\
	EXPECT_ERRNO(_errno, _emu_rw(self->test_fd, self->e.id, iova,	\
				     data, len, write))

/*
 * Reads every record queued on notifier @fd (made non-blocking) into @ev,
 * at most @max of them, and returns how many.
 */
static unsigned int __read_fd(struct __test_metadata *_metadata, int fd,
			      struct vfio_range_event *ev, unsigned int max)
{
	struct vfio_range_event chunk[64];
	unsigned int n = 0, got;
	int flags;

	flags = fcntl(fd, F_GETFL);
	ASSERT_LE(0, flags);
	if (!(flags & O_NONBLOCK))
		ASSERT_EQ(0, fcntl(fd, F_SETFL, flags | O_NONBLOCK));
	for (;;) {
		ssize_t ret = read(fd, chunk, sizeof(chunk));

		if (ret < 0) {
			ASSERT_EQ(EAGAIN, errno)
				TH_LOG("read: %s", strerror(errno));
			break;
		}
		/* End of file: the container was released. */
		if (!ret)
			break;
		ASSERT_EQ(0U, ret % sizeof(chunk[0]));
		got = ret / sizeof(chunk[0]);
		ASSERT_GE(max - n, got);
		memcpy(ev + n, chunk, ret);
		n += got;
	}
	return n;
}

/* Reads every record an in-kernel client kept; none may have been lost. */
static unsigned int __read_client(struct __test_metadata *_metadata,
				  int test_fd, __u32 id,
				  struct vfio_range_event *ev, unsigned int max)
{
	unsigned int n = 0;
	__u32 count;
	__u64 lost;

	do {
		ASSERT_EQ(0, _test_client_read(test_fd, id, ev + n, max - n,
					       &count, &lost))
			TH_LOG("CLIENT_READ: %s", strerror(errno));
		ASSERT_EQ(0ULL, lost);
		n += count;
	} while (count && n < max);
	return n;
}

static void ev_format(char *buf, size_t len, const struct vfio_range_event *e)
{
	const char *type = e->type == EV_MAP ? "MAP" :
			   e->type == EV_UNMAP ? "UNMAP" :
			   e->type == EV_OVERFLOW ? "OVERFLOW" : "?";

	snprintf(buf, len,
		 "%s(%#x) flags %#x seq %llu [%#llx, %#llx] mask %#llx lost %llu",
		 type, e->type, e->flags, (unsigned long long)e->seq,
		 (unsigned long long)e->start, (unsigned long long)e->last,
		 (unsigned long long)e->addr_mask,
		 (unsigned long long)e->lost);
}

static bool ev_equal(const struct vfio_range_event *a,
		     const struct vfio_range_event *b)
{
	return a->type == b->type && a->flags == b->flags &&
	       a->seq == b->seq && a->start == b->start &&
	       a->last == b->last && a->addr_mask == b->addr_mask &&
	       a->lost == b->lost;
}

/* The records @who got must be exactly @exp, in order. */
static void __check_events(struct __test_metadata *_metadata, const char *who,
			   const struct vfio_range_event *got, unsigned int n,
			   const struct vfio_range_event *exp,
			   unsigned int nexp)
{
	char a[160], b[160];
	unsigned int i, bad = UINT_MAX;

	for (i = 0; i < n && i < nexp; i++) {
		if (!ev_equal(&got[i], &exp[i])) {
			bad = i;
			break;
		}
	}
	if (bad == UINT_MAX && n == nexp)
		return;

	TH_LOG("%s: got %u records, expected %u; first difference at %u",
	       who, n, nexp, bad == UINT_MAX ? (n < nexp ? n : nexp) : bad);
	for (i = 0; i < n || i < nexp; i++) {
		if (i >= 24) {
			TH_LOG("  ...");
			break;
		}
		if (i < n)
			ev_format(a, sizeof(a), &got[i]);
		else
			snprintf(a, sizeof(a), "-");
		if (i < nexp)
			ev_format(b, sizeof(b), &exp[i]);
		else
			snprintf(b, sizeof(b), "-");
		TH_LOG("  %2u got %s", i, a);
		TH_LOG("     exp %s", b);
	}
	ASSERT_TRUE(false);
}

#define expect_fd_list(fd, exp, nexp)					\
	({								\
		unsigned int __n = __read_fd(_metadata, fd, self->got,	\
					     MAX_EVENTS);		\
									\
		__check_events(_metadata, "fd " #fd, self->got, __n,	\
			       exp, nexp);				\
	})
#define expect_client_list(id, exp, nexp)				\
	({								\
		unsigned int __n = __read_client(_metadata,		\
						 self->test_fd, id,	\
						 self->got,		\
						 MAX_EVENTS);		\
									\
		__check_events(_metadata, "client " #id, self->got,	\
			       __n, exp, nexp);				\
	})
/* The records queued on @fd are exactly the events listed, in order. */
#define expect_fd(fd, ...)						\
	({								\
		const struct vfio_range_event __exp[] = { __VA_ARGS__ }; \
									\
		expect_fd_list(fd, __exp, ARRAY_SIZE(__exp));		\
	})
#define expect_client(id, ...)						\
	({								\
		const struct vfio_range_event __exp[] = { __VA_ARGS__ }; \
									\
		expect_client_list(id, __exp, ARRAY_SIZE(__exp));	\
	})
/* An fd and an in-kernel client of the same kind both heard exactly these. */
#define expect_fd_and_client(fd, id, ...)				\
	({								\
		const struct vfio_range_event __exp[] = { __VA_ARGS__ }; \
									\
		expect_fd_list(fd, __exp, ARRAY_SIZE(__exp));		\
		expect_client_list(id, __exp, ARRAY_SIZE(__exp));	\
	})
#define expect_fd_none(fd)	expect_fd_list(fd, NULL, 0)
#define expect_client_none(id)	expect_client_list(id, NULL, 0)

/* ---------------------------------------------------------------------- */
/* A model of what a client must receive, written apart from the kernel's */
/* ---------------------------------------------------------------------- */

struct model_client {
	__u32 events;
	__u32 gran;
	__u64 start;
	__u64 last;
};

struct model_op {
	__u32 type;
	__u64 seq;
	unsigned int nr;		/* ranges: runs of one unmap */
	struct {
		__u64 start, last;
	} r[4];
};

/*
 * The fewest naturally aligned blocks tiling [start, last]: at each point
 * the biggest block, tried from 2^63 down, that is aligned there and fits.
 */
static unsigned int model_split(__u64 start, __u64 last, __u32 type,
				__u64 seq, struct vfio_range_event *out,
				unsigned int max)
{
	unsigned int n = 0;
	__u64 pos = start;
	int k;

	if (!start && last == U64_MAX) {
		if (max)
			out[0] = (struct vfio_range_event)
				EV(type, seq, 0, U64_MAX, U64_MAX);
		return 1;
	}
	for (;;) {
		__u64 mask;

		for (k = 63; k > 0; k--) {
			mask = (1ULL << k) - 1;
			if (!(pos & mask) && last - pos >= mask)
				break;
		}
		mask = (1ULL << k) - 1;
		if (n < max)
			out[n] = (struct vfio_range_event)
				EV(type, seq, pos, pos + mask, mask);
		n++;
		if (pos + mask == last)
			return n;
		pos += mask + 1;
	}
}

/* Appends to @out what @c receives for one range of an operation. */
static unsigned int model_range(const struct model_client *c, __u32 type,
				__u64 seq, __u64 start, __u64 last,
				struct vfio_range_event *out, unsigned int max)
{
	__u64 s, l;

	if (!(c->events & type) || last < c->start || start > c->last)
		return 0;
	s = start > c->start ? start : c->start;
	l = last < c->last ? last : c->last;
	if (c->gran == ALIGNED)
		return model_split(s, l, type, seq, out, max);
	if (max)
		out[0] = (struct vfio_range_event)EV(type, seq, s, l, 0);
	return 1;
}

static unsigned int model_op(const struct model_client *c,
			     const struct model_op *op,
			     struct vfio_range_event *out, unsigned int max)
{
	unsigned int i, n = 0;

	for (i = 0; i < op->nr; i++)
		n += model_range(c, op->type, op->seq, op->r[i].start,
				 op->r[i].last, out + n, max > n ? max - n : 0);
	return n;
}

static unsigned int model_ops(const struct model_client *c,
			      const struct model_op *ops, unsigned int nr_ops,
			      struct vfio_range_event *out, unsigned int max)
{
	unsigned int i, n = 0;

	for (i = 0; i < nr_ops; i++)
		n += model_op(c, &ops[i], out + n, max > n ? max - n : 0);
	return n;
}

/*
 * A notifier fd's queue by the rule of Documentation/notifiers.rst:
 * queue_len - 1 events fit; the event that finds only the last slot free
 * becomes an overflow record there, which counts it and every later event
 * until the record is read.
 */
struct model_queue {
	struct model_client c;
	unsigned int len;		/* queue_len */
	unsigned int n;			/* records held */
	bool ovf;			/* the last one is an overflow record */
	struct vfio_range_event *q;	/* len records */
};

static void mq_push(struct model_queue *mq, const struct vfio_range_event *e)
{
	if (mq->ovf) {
		mq->q[mq->n - 1].lost++;
	} else if (mq->n == mq->len - 1) {
		mq->q[mq->n++] = (struct vfio_range_event)
			OVF(mq->c.start, mq->c.last, 1);
		mq->ovf = true;
	} else {
		mq->q[mq->n++] = *e;
	}
}

/* One range of an operation, as it reaches the queue's client. */
static void mq_range(struct model_queue *mq, __u32 type, __u64 seq,
		     __u64 start, __u64 last)
{
	struct vfio_range_event ev[128];
	unsigned int i, n;

	n = model_range(&mq->c, type, seq, start, last, ev, ARRAY_SIZE(ev));
	for (i = 0; i < n && i < ARRAY_SIZE(ev); i++)
		mq_push(mq, &ev[i]);
}

/* Takes up to @max records off the front, as one read() does. */
static unsigned int mq_pop(struct model_queue *mq, struct vfio_range_event *out,
			   unsigned int max)
{
	unsigned int k = mq->n < max ? mq->n : max;

	memcpy(out, mq->q, k * sizeof(*out));
	memmove(mq->q, mq->q + k, (mq->n - k) * sizeof(*out));
	mq->n -= k;
	mq->ovf = mq->ovf && mq->n;
	return k;
}

/* ---------------------------------------------------------------------- */
/* The fixture: an emulated device alone in a container                   */
/* ---------------------------------------------------------------------- */

FIXTURE(notify)
{
	int test_fd;			/* /dev/vfio-range-test */
	struct emu e;
	struct emu e2;			/* a second device, if a test needs it */
	int container_fd;		/* e.container_fd */
	char *buf;			/* BUF_PAGES pages with a pattern */
	__u64 seq;			/* seq of the last successful op */
	struct vfio_range_event *got;	/* MAX_EVENTS records */
	struct vfio_range_event *exp;	/* MAX_EVENTS records */
	long saved_max_clients;		/* to restore, or -1 */
};

FIXTURE_SETUP(notify)
{
	self->test_fd = -1;
	self->container_fd = -1;
	self->saved_max_clients = -1;
	emu_init(&self->e);
	emu_init(&self->e2);

	self->got = calloc(MAX_EVENTS, sizeof(*self->got));
	ASSERT_NE(NULL, self->got);
	self->exp = calloc(MAX_EVENTS, sizeof(*self->exp));
	ASSERT_NE(NULL, self->exp);
	self->buf = test_mmap(BUF_PAGES * PG, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, self->buf);
	fill_pattern(self->buf, BUF_PAGES * PG, 0x5eed);

	self->test_fd = open(VFIO_RANGE_TEST_DEV, O_RDWR);
	ASSERT_LE(0, self->test_fd)
		TH_LOG("open %s: %s (is vfio_range_test.ko loaded?)",
		       VFIO_RANGE_TEST_DEV, strerror(errno));
	__emu_create(_metadata, self->test_fd, &self->e);
	self->container_fd = self->e.container_fd;
}

FIXTURE_TEARDOWN(notify)
{
	if (self->saved_max_clients >= 0)
		sysfs_write_ulong(MAX_CLIENTS_PARAM, self->saved_max_clients);
	emu_destroy(&self->e2);
	emu_destroy(&self->e);
	self->container_fd = -1;
	vfio_close(&self->test_fd);
	if (self->buf)
		munmap(self->buf, BUF_PAGES * PG);
	free(self->got);
	free(self->exp);
}

/* Sets max_clients; the teardown restores the value found first. */
#define set_max_clients(val)						\
	({								\
		unsigned long __old;					\
									\
		if (self->saved_max_clients < 0) {			\
			ASSERT_EQ(0, sysfs_read_ulong(MAX_CLIENTS_PARAM,\
						      &__old));		\
			self->saved_max_clients = __old;		\
		}							\
		ASSERT_EQ(0, sysfs_write_ulong(MAX_CLIENTS_PARAM, val)); \
	})

/* Map buffer pages from @page at [start, last]: one more op. */
#define do_map_flags(page, start, last, flags)				\
	({								\
		test_range_map_flags(self->buf + (page) * PG, start,	\
				     last, flags);			\
		++self->seq;						\
	})
#define do_map(page, start, last)					\
	do_map_flags(page, start, last, RANGE_RW)
/* Unmap [start, last], which held @bytes: one more op unless 0. */
#define do_unmap(start, last, bytes)					\
	({								\
		test_range_unmap(start, last, bytes);			\
		if (bytes)						\
			++self->seq;					\
		self->seq;						\
	})

/* The model's events for @c over @ops must be what @fd / @id got. */
#define expect_fd_model(fd, c, ops, nr)					\
	({								\
		unsigned int __m = model_ops(c, ops, nr, self->exp,	\
					     MAX_EVENTS);		\
									\
		ASSERT_GE(MAX_EVENTS, __m);				\
		expect_fd_list(fd, self->exp, __m);			\
	})
#define expect_client_model(id, c, ops, nr)				\
	({								\
		unsigned int __m = model_ops(c, ops, nr, self->exp,	\
					     MAX_EVENTS);		\
									\
		ASSERT_GE(MAX_EVENTS, __m);				\
		expect_client_list(id, self->exp, __m);			\
	})

/* ---------------------------------------------------------------------- */
/* What clients receive                                                   */
/* ---------------------------------------------------------------------- */

/* One range, as one event and as its fewest aligned blocks. */
TEST_F(notify, granularity)
{
	const __u64 s = 0x43000, l = 0x4cfff;
	int arb, ali;
	__u32 karb, kali;

	arb = test_notifier(EV_BOTH, ARB, 0, U64_MAX);
	ali = test_notifier(EV_BOTH, ALIGNED, 0, U64_MAX);
	karb = test_client_add(EV_BOTH, ARB, 0, U64_MAX);
	kali = test_client_add(EV_BOTH, ALIGNED, 0, U64_MAX);

	do_map(0, s, l);
	do_unmap(s, l, l - s + 1);
	ASSERT_EQ(2ULL, self->seq);

	expect_fd_and_client(arb, karb, EV(EV_MAP, 1, s, l, 0),
			     EV(EV_UNMAP, 2, s, l, 0));
	expect_fd_and_client(ali, kali,
			     EV(EV_MAP, 1, 0x43000, 0x43fff, 0xfff),
			     EV(EV_MAP, 1, 0x44000, 0x47fff, 0x3fff),
			     EV(EV_MAP, 1, 0x48000, 0x4bfff, 0x3fff),
			     EV(EV_MAP, 1, 0x4c000, 0x4cfff, 0xfff),
			     EV(EV_UNMAP, 2, 0x43000, 0x43fff, 0xfff),
			     EV(EV_UNMAP, 2, 0x44000, 0x47fff, 0x3fff),
			     EV(EV_UNMAP, 2, 0x48000, 0x4bfff, 0x3fff),
			     EV(EV_UNMAP, 2, 0x4c000, 0x4cfff, 0xfff));
	/* Nothing more is queued. */
	expect_fd_none(arb);
	expect_fd_none(ali);
	close(arb);
	close(ali);
}

/* Events are clipped to the window; windows the range misses get none. */
TEST_F(notify, window_clipping)
{
	const __u64 s = 0x40000, l = 0x4ffff;
	const struct {
		__u64 start, last;
		__u64 es, el;		/* the clipped range, if es <= el */
		unsigned int blocks;	/* its aligned split */
	} win[] = {
		/* inside */
		{ 0x42000, 0x43fff, 0x42000, 0x43fff, 1 },
		{ 0x40001, 0x4fffe, 0x40001, 0x4fffe, 30 },
		{ 0x47fff, 0x48000, 0x47fff, 0x48000, 2 },
		{ 0x4ffff, 0x4ffff, 0x4ffff, 0x4ffff, 1 },
		{ 0x40000, 0x40000, 0x40000, 0x40000, 1 },
		/* over the head, over the tail, over both */
		{ 0x30000, 0x40fff, 0x40000, 0x40fff, 1 },
		{ 0x3ffff, 0x40000, 0x40000, 0x40000, 1 },
		{ 0x4f000, 0x5ffff, 0x4f000, 0x4ffff, 1 },
		{ 0x4ffff, U64_MAX, 0x4ffff, 0x4ffff, 1 },
		{ 0x4c800, U64_MAX, 0x4c800, 0x4ffff, 3 },
		{ 0, U64_MAX, s, l, 1 },
		{ 0, 0x47fff, 0x40000, 0x47fff, 1 },
		/* disjoint: just below, just above, far */
		{ 0x30000, 0x3ffff, 1, 0, 0 },
		{ 0, 0x3ffff, 1, 0, 0 },
		{ 0x50000, 0x5ffff, 1, 0, 0 },
		{ 0x50000, U64_MAX, 1, 0, 0 },
		{ 0x1000000, U64_MAX, 1, 0, 0 },
		{ 0, 0, 1, 0, 0 },
	};
	int fd[ARRAY_SIZE(win)][2];
	__u32 id[ARRAY_SIZE(win)];
	struct model_op ops[2] = {
		{ EV_MAP, 1, 1, { { s, l } } },
		{ EV_UNMAP, 2, 1, { { s, l } } },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(win); i++) {
		fd[i][0] = test_notifier(EV_BOTH, ARB, win[i].start,
					 win[i].last);
		fd[i][1] = test_notifier(EV_BOTH, ALIGNED, win[i].start,
					 win[i].last);
		id[i] = test_client_add(EV_BOTH, i % 2 ? ALIGNED : ARB,
					win[i].start, win[i].last);
	}

	do_map(0, s, l);
	do_unmap(s, l, l - s + 1);

	for (i = 0; i < ARRAY_SIZE(win); i++) {
		struct model_client ali = {
			EV_BOTH, ALIGNED, win[i].start, win[i].last,
		};
		struct model_client kc = {
			EV_BOTH, i % 2 ? ALIGNED : ARB, win[i].start,
			win[i].last,
		};

		TH_LOG("window [%#llx, %#llx]",
		       (unsigned long long)win[i].start,
		       (unsigned long long)win[i].last);
		if (win[i].es > win[i].el) {
			expect_fd_none(fd[i][0]);
			expect_fd_none(fd[i][1]);
			expect_client_none(id[i]);
			continue;
		}
		expect_fd(fd[i][0],
			  EV(EV_MAP, 1, win[i].es, win[i].el, 0),
			  EV(EV_UNMAP, 2, win[i].es, win[i].el, 0));
		/* The model's split, checked against the count above. */
		ASSERT_EQ(2 * win[i].blocks,
			  model_ops(&ali, ops, 2, self->exp, MAX_EVENTS));
		expect_fd_model(fd[i][1], &ali, ops, 2);
		expect_client_model(id[i], &kc, ops, 2);
		close(fd[i][0]);
		close(fd[i][1]);
	}
}

/* Clients hear only of the events they asked for. */
TEST_F(notify, event_masks)
{
	const __u64 a = 0x10000, b = 0x20000;
	int map_arb, unmap_arb, map_ali;
	__u32 kunmap_ali, kboth;

	map_arb = test_notifier(EV_MAP, ARB, 0, U64_MAX);
	unmap_arb = test_notifier(EV_UNMAP, ARB, 0, U64_MAX);
	map_ali = test_notifier(EV_MAP, ALIGNED, 0, U64_MAX);
	kunmap_ali = test_client_add(EV_UNMAP, ALIGNED, 0, U64_MAX);
	kboth = test_client_add(EV_BOTH, ARB, 0, U64_MAX);

	do_map(0, a, a + PG - 1);
	do_map(1, b, b + 3 * PG - 1);
	do_unmap(a, a + PG - 1, PG);
	do_unmap(b, b + 3 * PG - 1, 3 * PG);

	expect_fd(map_arb, EV(EV_MAP, 1, a, a + PG - 1, 0),
		  EV(EV_MAP, 2, b, b + 3 * PG - 1, 0));
	expect_fd(unmap_arb, EV(EV_UNMAP, 3, a, a + PG - 1, 0),
		  EV(EV_UNMAP, 4, b, b + 3 * PG - 1, 0));
	expect_fd(map_ali, EV(EV_MAP, 1, a, a + PG - 1, 0xfff),
		  EV(EV_MAP, 2, b, b + 2 * PG - 1, 0x1fff),
		  EV(EV_MAP, 2, b + 2 * PG, b + 3 * PG - 1, 0xfff));
	expect_client(kunmap_ali, EV(EV_UNMAP, 3, a, a + PG - 1, 0xfff),
		      EV(EV_UNMAP, 4, b, b + 2 * PG - 1, 0x1fff),
		      EV(EV_UNMAP, 4, b + 2 * PG, b + 3 * PG - 1, 0xfff));
	expect_client(kboth, EV(EV_MAP, 1, a, a + PG - 1, 0),
		      EV(EV_MAP, 2, b, b + 3 * PG - 1, 0),
		      EV(EV_UNMAP, 3, a, a + PG - 1, 0),
		      EV(EV_UNMAP, 4, b, b + 3 * PG - 1, 0));
	close(map_arb);
	close(unmap_arb);
	close(map_ali);
}

/*
 * Mappings removed by one unmap that touch in IOVA are one range, also
 * for aligned clients, whose blocks then straddle mapping boundaries.
 * Mappings left in place, or removed by another call, are not merged.
 */
TEST_F(notify, unmap_merges_adjacent)
{
	const __u64 a = 0x11000, b = 0x13000, c = 0x18000, d = 0x30000;
	const __u64 end = 0x1dfff;
	int arb, ali, win;
	__u32 kali;

	do_map(0, a, b - 1);		/* 2 pages */
	do_map(2, b, c - 1);		/* 5 pages */
	do_map(7, c, end);		/* 6 pages */
	do_map(13, d, d + PG - 1);
	do_map(14, end + 1, end + PG);	/* after c: stays */

	arb = test_notifier(EV_UNMAP, ARB, 0, U64_MAX);
	ali = test_notifier(EV_UNMAP, ALIGNED, 0, U64_MAX);
	win = test_notifier(EV_UNMAP, ALIGNED, 0x12800, 0x18fff);
	kali = test_client_add(EV_UNMAP, ALIGNED, 0, U64_MAX);

	/* a, b, c and d go; end + 1 stays though adjacent to c. */
	do_unmap(0x10000, end, end + 1 - a);
	do_unmap(0x1f000, 0x3ffff, PG);
	do_unmap(0, U64_MAX, PG);
	ASSERT_EQ(8ULL, self->seq);

	expect_fd(arb, EV(EV_UNMAP, 6, a, end, 0),
		  EV(EV_UNMAP, 7, d, d + PG - 1, 0),
		  EV(EV_UNMAP, 8, end + 1, end + PG, 0));
	expect_fd_and_client(ali, kali,
			     EV(EV_UNMAP, 6, 0x11000, 0x11fff, 0xfff),
			     EV(EV_UNMAP, 6, 0x12000, 0x13fff, 0x1fff),
			     EV(EV_UNMAP, 6, 0x14000, 0x17fff, 0x3fff),
			     EV(EV_UNMAP, 6, 0x18000, 0x1bfff, 0x3fff),
			     EV(EV_UNMAP, 6, 0x1c000, 0x1dfff, 0x1fff),
			     EV(EV_UNMAP, 7, d, d + PG - 1, 0xfff),
			     EV(EV_UNMAP, 8, 0x1e000, 0x1efff, 0xfff));
	/* The merged run clipped to [0x12800, 0x18fff]. */
	expect_fd(win,
		  EV(EV_UNMAP, 6, 0x12800, 0x12fff, 0x7ff),
		  EV(EV_UNMAP, 6, 0x13000, 0x13fff, 0xfff),
		  EV(EV_UNMAP, 6, 0x14000, 0x17fff, 0x3fff),
		  EV(EV_UNMAP, 6, 0x18000, 0x18fff, 0xfff));

	/* Separate calls over adjacent mappings: separate events. */
	do_map(0, a, a + PG - 1);
	do_map(1, a + PG, a + 2 * PG - 1);
	do_unmap(a, a + PG - 1, PG);
	do_unmap(a + PG, a + 2 * PG - 1, PG);
	expect_fd(arb, EV(EV_UNMAP, 11, a, a + PG - 1, 0),
		  EV(EV_UNMAP, 12, a + PG, a + 2 * PG - 1, 0));
	close(arb);
	close(ali);
	close(win);
}

/*
 * [0, U64_MAX] over two separate mappings: two ranges, not the whole
 * space. Failed calls and unmaps of empty ranges report nothing and take
 * no seq.
 */
TEST_F(notify, unmap_all_two_ranges)
{
	const __u64 a = 0x100000, b = 0x7000000000ULL;
	int arb, ali;
	__u32 karb;

	arb = test_notifier(EV_BOTH, ARB, 0, U64_MAX);
	ali = test_notifier(EV_BOTH, ALIGNED, 0, U64_MAX);
	karb = test_client_add(EV_BOTH, ARB, 0, U64_MAX);

	do_map(0, a, a + PG - 1);
	do_map(1, b, b + 2 * PG - 1);

	/* Failures and no-ops. */
	test_err_range_map(EEXIST, self->buf + 4 * PG, a, a + PG - 1);
	test_err_range_map(EEXIST, self->buf + 4 * PG, b + PG, b + 2 * PG - 1);
	test_err_range_map(EINVAL, self->buf + 4 * PG, a + 1, a + PG);
	test_err_range_unmap(EINVAL, a, b + PG - 1);
	test_err_range_unmap(EINVAL, a + PG, b + PG - 1);
	test_err_range_unmap(EINVAL, b + 1, a);
	do_unmap(a + PG, b - 1, 0);
	do_unmap(b + 2 * PG, U64_MAX, 0);
	ASSERT_EQ(2ULL, self->seq);

	do_unmap(0, U64_MAX, 3 * PG);
	do_unmap(0, U64_MAX, 0);
	do_map(2, a, a + PG - 1);
	ASSERT_EQ(4ULL, self->seq);
	do_unmap(0, U64_MAX, PG);

	expect_fd_and_client(arb, karb, EV(EV_MAP, 1, a, a + PG - 1, 0),
			     EV(EV_MAP, 2, b, b + 2 * PG - 1, 0),
			     EV(EV_UNMAP, 3, a, a + PG - 1, 0),
			     EV(EV_UNMAP, 3, b, b + 2 * PG - 1, 0),
			     EV(EV_MAP, 4, a, a + PG - 1, 0),
			     EV(EV_UNMAP, 5, a, a + PG - 1, 0));
	expect_fd(ali, EV(EV_MAP, 1, a, a + PG - 1, 0xfff),
		  EV(EV_MAP, 2, b, b + 2 * PG - 1, 0x1fff),
		  EV(EV_UNMAP, 3, a, a + PG - 1, 0xfff),
		  EV(EV_UNMAP, 3, b, b + 2 * PG - 1, 0x1fff),
		  EV(EV_MAP, 4, a, a + PG - 1, 0xfff),
		  EV(EV_UNMAP, 5, a, a + PG - 1, 0xfff));
	close(arb);
	close(ali);
}

/* A mapping that ends at U64_MAX, and windows that clip it oddly. */
TEST_F(notify, top_of_space)
{
	const __u64 t8 = U64_MAX - 0x1fff, t16 = U64_MAX - 0x3fff;
	const struct model_client mc[] = {
		{ EV_BOTH, ARB, 0, U64_MAX },
		{ EV_BOTH, ALIGNED, 0, U64_MAX },
		{ EV_BOTH, ALIGNED, 0, U64_MAX - 1 },
		{ EV_BOTH, ALIGNED, U64_MAX - 0x1ffe, U64_MAX },
		{ EV_BOTH, ARB, U64_MAX, U64_MAX },
		{ EV_BOTH, ALIGNED, U64_MAX, U64_MAX },
		{ EV_UNMAP, ALIGNED, t16 + 1, U64_MAX - 1 },
	};
	const struct model_op ops[] = {
		{ EV_MAP, 1, 1, { { t8, U64_MAX } } },
		{ EV_MAP, 2, 1, { { t16, t8 - 1 } } },
		{ EV_UNMAP, 3, 1, { { t16, U64_MAX } } },
		{ EV_MAP, 4, 1, { { t8, U64_MAX } } },
		{ EV_UNMAP, 5, 1, { { t8, U64_MAX } } },
	};
	int fd[ARRAY_SIZE(mc)];
	__u32 kali;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(mc); i++)
		fd[i] = test_notifier(mc[i].events, mc[i].gran, mc[i].start,
				      mc[i].last);
	kali = test_client_add(EV_BOTH, ALIGNED, 0, U64_MAX);

	do_map(0, t8, U64_MAX);
	do_map(2, t16, t8 - 1);
	do_unmap(t16, U64_MAX, 4 * PG);
	do_map(0, t8, U64_MAX);
	do_unmap(0, U64_MAX, 2 * PG);

	/* The literal answers for the plain clients... */
	expect_fd(fd[0], EV(EV_MAP, 1, t8, U64_MAX, 0),
		  EV(EV_MAP, 2, t16, t8 - 1, 0),
		  EV(EV_UNMAP, 3, t16, U64_MAX, 0),
		  EV(EV_MAP, 4, t8, U64_MAX, 0),
		  EV(EV_UNMAP, 5, t8, U64_MAX, 0));
	expect_fd(fd[1], EV(EV_MAP, 1, t8, U64_MAX, 0x1fff),
		  EV(EV_MAP, 2, t16, t8 - 1, 0x1fff),
		  EV(EV_UNMAP, 3, t16, U64_MAX, 0x3fff),
		  EV(EV_MAP, 4, t8, U64_MAX, 0x1fff),
		  EV(EV_UNMAP, 5, t8, U64_MAX, 0x1fff));
	expect_client(kali, EV(EV_MAP, 1, t8, U64_MAX, 0x1fff),
		      EV(EV_MAP, 2, t16, t8 - 1, 0x1fff),
		      EV(EV_UNMAP, 3, t16, U64_MAX, 0x3fff),
		      EV(EV_MAP, 4, t8, U64_MAX, 0x1fff),
		      EV(EV_UNMAP, 5, t8, U64_MAX, 0x1fff));
	expect_fd(fd[4], EV(EV_MAP, 1, U64_MAX, U64_MAX, 0),
		  EV(EV_UNMAP, 3, U64_MAX, U64_MAX, 0),
		  EV(EV_MAP, 4, U64_MAX, U64_MAX, 0),
		  EV(EV_UNMAP, 5, U64_MAX, U64_MAX, 0));
	/* ...the block counts of the odd windows... */
	ASSERT_EQ(13U, model_op(&mc[2], &ops[0], self->exp, MAX_EVENTS));
	ASSERT_EQ(13U, model_op(&mc[3], &ops[0], self->exp, MAX_EVENTS));
	ASSERT_EQ(13U + 13U, model_op(&mc[6], &ops[2], self->exp,
				      MAX_EVENTS));
	/* ...and the model for the others. */
	for (i = 0; i < ARRAY_SIZE(mc); i++) {
		if (i != 0 && i != 1 && i != 4)
			expect_fd_model(fd[i], &mc[i], ops, ARRAY_SIZE(ops));
		close(fd[i]);
	}
}

/* 64 clients at once, userspace and in-kernel, each gets its own events. */
TEST_F(notify, many_clients)
{
	const __u64 top = U64_MAX - 0x1fff;
	const struct {
		__u64 start, last;
	} win[] = {
		{ 0, U64_MAX },
		{ 0x12001, 0x22fff },
		{ 0x14000, 0x14fff },
		{ 0, 0xffff },
		{ 0x2e000, U64_MAX - 1 },
		{ U64_MAX, U64_MAX },
		{ 0x13fff, 0x14000 },
		{ 0x21800, 0x2e7ff },
	};
	const __u32 masks[] = { EV_BOTH, EV_MAP, EV_UNMAP };
	const struct model_op ops[] = {
		{ EV_MAP, 1, 1, { { 0x10000, 0x13fff } } },
		{ EV_MAP, 2, 1, { { 0x14000, 0x14fff } } },
		{ EV_MAP, 3, 1, { { 0x21000, 0x2efff } } },
		{ EV_MAP, 4, 1, { { top, U64_MAX } } },
		{ EV_UNMAP, 5, 1, { { 0x10000, 0x14fff } } },
		{ EV_UNMAP, 6, 2, { { 0x21000, 0x2efff },
				    { top, U64_MAX } } },
	};
	struct model_client mc[64];
	bool kernel[64];
	int handle[64];
	unsigned int i, nr_fd = 0, nr_aligned = 0;

	for (i = 0; i < 64; i++) {
		mc[i].start = win[i % 8].start;
		mc[i].last = win[i % 8].last;
		mc[i].gran = (i / 8) % 2 ? ALIGNED : ARB;
		mc[i].events = masks[(i / 16 + i) % 3];
		kernel[i] = (i / 4) % 2;
		if (kernel[i])
			handle[i] = test_client_add(mc[i].events, mc[i].gran,
						    mc[i].start, mc[i].last);
		else
			handle[i] = test_notifier(mc[i].events, mc[i].gran,
						  mc[i].start, mc[i].last);
		nr_fd += !kernel[i];
		nr_aligned += mc[i].gran == ALIGNED;
	}
	ASSERT_EQ(32U, nr_fd);
	ASSERT_EQ(32U, nr_aligned);

	do_map(0, 0x10000, 0x13fff);
	do_map(4, 0x14000, 0x14fff);
	do_map(5, 0x21000, 0x2efff);
	do_map(19, top, U64_MAX);
	do_unmap(0x10000, 0x14fff, 5 * PG);
	do_unmap(0, U64_MAX, 16 * PG);

	for (i = 0; i < 64; i++) {
		TH_LOG("client %u: %s %s events %#x [%#llx, %#llx]", i,
		       kernel[i] ? "kernel" : "fd",
		       mc[i].gran == ALIGNED ? "aligned" : "arbitrary",
		       mc[i].events, (unsigned long long)mc[i].start,
		       (unsigned long long)mc[i].last);
		if (kernel[i]) {
			expect_client_model(handle[i], &mc[i], ops,
					    ARRAY_SIZE(ops));
		} else {
			expect_fd_model(handle[i], &mc[i], ops,
					ARRAY_SIZE(ops));
			close(handle[i]);
		}
	}
}

/*
 * Clients that go mid-stream get nothing after; clients that come hear of
 * later operations only; a dup'd fd keeps its client registered.
 */
TEST_F(notify, unregister_midstream)
{
	const __u64 x = 0x100000, y = 0x300000;
	int fa, fb, fb2, fc, fd;
	__u32 ka, kb, kc;
	__u32 count;
	__u64 lost;

	fa = test_notifier(EV_BOTH, ARB, 0, U64_MAX);
	fb = test_notifier(EV_BOTH, ARB, 0, U64_MAX);
	ka = test_client_add(EV_BOTH, ARB, 0, U64_MAX);
	kb = test_client_add(EV_BOTH, ARB, 0, U64_MAX);
	fb2 = dup(fb);
	ASSERT_LE(0, fb2);

	do_map(0, x, x + PG - 1);

	ASSERT_EQ(0, close(fa));
	test_client_del(ka);
	EXPECT_ERRNO(ENOENT, _test_client_del(self->test_fd, ka));
	EXPECT_ERRNO(ENOENT, _test_client_read(self->test_fd, ka, self->got,
					       MAX_EVENTS, &count, &lost));
	/* The dup still holds the file: the client stays. */
	ASSERT_EQ(0, close(fb));
	fc = test_notifier(EV_BOTH, ARB, 0, U64_MAX);
	kc = test_client_add(EV_BOTH, ARB, 0, U64_MAX);

	do_map(1, y, y + PG - 1);
	do_unmap(0, U64_MAX, 2 * PG);

	expect_fd(fb2, EV(EV_MAP, 1, x, x + PG - 1, 0),
		  EV(EV_MAP, 2, y, y + PG - 1, 0),
		  EV(EV_UNMAP, 3, x, x + PG - 1, 0),
		  EV(EV_UNMAP, 3, y, y + PG - 1, 0));
	expect_client(kb, EV(EV_MAP, 1, x, x + PG - 1, 0),
		      EV(EV_MAP, 2, y, y + PG - 1, 0),
		      EV(EV_UNMAP, 3, x, x + PG - 1, 0),
		      EV(EV_UNMAP, 3, y, y + PG - 1, 0));
	expect_fd(fc, EV(EV_MAP, 2, y, y + PG - 1, 0),
		  EV(EV_UNMAP, 3, x, x + PG - 1, 0),
		  EV(EV_UNMAP, 3, y, y + PG - 1, 0));
	expect_client(kc, EV(EV_MAP, 2, y, y + PG - 1, 0),
		      EV(EV_UNMAP, 3, x, x + PG - 1, 0),
		      EV(EV_UNMAP, 3, y, y + PG - 1, 0));

	/*
	 * fa and ka really left the container's list: with fb2, kb, fc and
	 * kc registered, a limit of 5 takes exactly one more.
	 */
	set_max_clients(5);
	fd = test_notifier(EV_BOTH, ARB, 0, U64_MAX);
	test_err_notifier(ENOSPC, EV_BOTH, ARB, 0, U64_MAX);
	test_err_client_add(ENOSPC, EV_BOTH, ARB, 0, U64_MAX);
	/* Closing the last copy of fb does free its slot. */
	ASSERT_EQ(0, close(fb2));
	close(test_notifier(EV_BOTH, ARB, 0, U64_MAX));
	close(fd);
	close(fc);
}

/* ---------------------------------------------------------------------- */
/* Registration churn under load                                          */
/* ---------------------------------------------------------------------- */

#define CHURN_ROUNDS	200
#define CHURN_MAX_OPS	8000
#define CHURN_QUEUE	4096

struct churn {
	int container_fd;
	char *buf;
	/* ops[seq]: what operation seq did, published before its ioctl */
	struct model_op ops[CHURN_MAX_OPS + 1];
	__u64 published;	/* highest seq in ops[] */
	__u64 done;		/* highest seq whose ioctl returned */
	bool stop;		/* set by the registrar */
	bool finished;		/* set by the mapper */
	char fail[256];		/* the mapper's first failure */
};

static void churn_publish(struct churn *ch, __u64 seq, __u32 type,
			  __u64 s0, __u64 l0, __u64 s1, __u64 l1)
{
	struct model_op *op = &ch->ops[seq];

	op->type = type;
	op->seq = seq;
	op->nr = s1 <= l1 ? 2 : 1;
	op->r[0].start = s0;
	op->r[0].last = l0;
	op->r[1].start = s1;
	op->r[1].last = l1;
	__atomic_store_n(&ch->published, seq, __ATOMIC_RELEASE);
}

/*
 * Maps three mappings, two of them adjacent and at an odd alignment, and
 * unmaps them in one call that removes two runs; again and again.
 */
static void *churn_mapper(void *arg)
{
	struct churn *ch = arg;
	__u64 seq = 0, unmapped;
	unsigned int i;

	for (i = 0; seq + 4 <= CHURN_MAX_OPS &&
		    !__atomic_load_n(&ch->stop, __ATOMIC_ACQUIRE); i++) {
		__u64 b0 = 0x100000 + (i % 7) * 0x10000 + 0x1000;
		__u64 b1 = b0 + 0x8000;
		const struct {
			__u64 start, last;
			unsigned int page;
		} m[3] = {
			{ b0, b0 + PG - 1, 0 },
			{ b0 + PG, b0 + 3 * PG - 1, 1 },
			{ b1, b1 + PG - 1, 3 },
		};
		unsigned int j;

		for (j = 0; j < 3; j++) {
			churn_publish(ch, ++seq, EV_MAP, m[j].start,
				      m[j].last, 1, 0);
			if (_test_range_map(ch->container_fd,
					    (uintptr_t)ch->buf +
					    m[j].page * PG, m[j].start,
					    m[j].last, RANGE_RW)) {
				snprintf(ch->fail, sizeof(ch->fail),
					 "map %#llx: %s",
					 (unsigned long long)m[j].start,
					 strerror(errno));
				goto out;
			}
			__atomic_store_n(&ch->done, seq, __ATOMIC_RELEASE);
		}
		churn_publish(ch, ++seq, EV_UNMAP, b0, b0 + 3 * PG - 1, b1,
			      b1 + PG - 1);
		if (_test_range_unmap(ch->container_fd, b0, b1 + PG - 1, 0,
				      &unmapped) || unmapped != 4 * PG) {
			snprintf(ch->fail, sizeof(ch->fail),
				 "unmap %#llx: %s, %llu bytes",
				 (unsigned long long)b0, strerror(errno),
				 (unsigned long long)unmapped);
			goto out;
		}
		__atomic_store_n(&ch->done, seq, __ATOMIC_RELEASE);
		if (!(i % 4))
			sched_yield();
	}
out:
	__atomic_store_n(&ch->finished, true, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Checks what one short-lived client received: well-formed records in its
 * window, seqs of operations that completed after it registered
 * (> @s0) and not after it left (<= @s1), never decreasing. The events of
 * every operation it heard of are the model's, exactly, except that the
 * first and last may be cut short (the client came or went, or the reader
 * stopped, between two runs); an operation between them that it did not
 * hear of must give it nothing. An overflow record must name the window
 * and a loss; what follows it is not checked.
 */
static const char *churn_validate(struct churn *ch,
				  const struct model_client *c, __u64 s0,
				  __u64 s1, const struct vfio_range_event *ev,
				  unsigned int n, struct vfio_range_event *exp,
				  char *msg, size_t len)
{
	__u64 first, last, q;
	unsigned int i, j, m;
	char f[160];

	for (i = 0; i < n; i++) {
		const struct vfio_range_event *e = &ev[i];

		ev_format(f, sizeof(f), e);
		if (e->type == EV_OVERFLOW) {
			if (e->flags || e->seq || e->addr_mask || !e->lost ||
			    e->start != c->start || e->last != c->last) {
				snprintf(msg, len, "record %u malformed: %s",
					 i, f);
				return msg;
			}
			n = i;	/* check what came before */
			break;
		}
		if ((e->type != EV_MAP && e->type != EV_UNMAP) || e->flags ||
		    e->lost || !(e->type & c->events) || e->start > e->last ||
		    e->start < c->start || e->last > c->last) {
			snprintf(msg, len, "record %u malformed: %s", i, f);
			return msg;
		}
		if (c->gran == ALIGNED ?
		    (e->addr_mask & (e->addr_mask + 1)) ||
		    (e->start & e->addr_mask) ||
		    e->last != (e->start | e->addr_mask) :
		    e->addr_mask) {
			snprintf(msg, len, "record %u: bad mask: %s", i, f);
			return msg;
		}
		if (e->seq <= s0 || e->seq > s1 ||
		    (i && e->seq < ev[i - 1].seq)) {
			snprintf(msg, len,
				 "record %u: seq out of (%llu, %llu] or going back: %s",
				 i, (unsigned long long)s0,
				 (unsigned long long)s1, f);
			return msg;
		}
	}
	if (!n)
		return NULL;

	/* Pairs with churn_publish(): ops[] up to s1 are visible. */
	if (__atomic_load_n(&ch->published, __ATOMIC_ACQUIRE) < s1)
		return "published went back";
	first = ev[0].seq;
	last = ev[n - 1].seq;
	i = 0;
	for (q = first; q <= last; q++) {
		unsigned int start = i, k = 0;

		while (i < n && ev[i].seq == q)
			i++;
		m = model_op(c, &ch->ops[q], exp, MAX_EVENTS);
		if (q != first && q != last) {
			if (i - start != m) {
				snprintf(msg, len,
					 "op %llu: %u records, expected %u",
					 (unsigned long long)q, i - start, m);
				return msg;
			}
		} else {
			/* A contiguous part of the model's list. */
			while (k < m && !ev_equal(&ev[start], &exp[k]))
				k++;
			if (k == m || m - k < i - start) {
				ev_format(f, sizeof(f), &ev[start]);
				snprintf(msg, len,
					 "op %llu: %s not in the model",
					 (unsigned long long)q, f);
				return msg;
			}
		}
		for (j = start; j < i; j++, k++) {
			if (!ev_equal(&ev[j], &exp[k])) {
				ev_format(f, sizeof(f), &ev[j]);
				snprintf(msg, len, "op %llu: unexpected %s",
					 (unsigned long long)q, f);
				return msg;
			}
		}
	}
	return NULL;
}

/*
 * One thread maps and unmaps while this one registers fds and in-kernel
 * clients with random settings, reads them for a while and unregisters
 * them, over and over: no crash, and each checks out (churn_validate()).
 */
TEST_F(notify, register_churn)
{
	const struct {
		__u64 start, last;
	} win[] = {
		{ 0, U64_MAX },
		{ 0x101800, 0x1427ff },
		{ 0, 0x120fff },
		{ 0x130000, U64_MAX },
		{ 0x108000, 0x108000 },
		{ 0x109000, 0x10afff },
	};
	const __u32 masks[] = { EV_BOTH, EV_MAP, EV_UNMAP };
	unsigned int rounds = 0, records = 0, overflows = 0, n, r;
	__u64 rng = 0x9e3779b97f4a7c15ULL;
	struct vfio_range_event *kev;
	char msg[320] = "";
	struct churn *ch;
	pthread_t thread;

	ch = calloc(1, sizeof(*ch));
	ASSERT_NE(NULL, ch);
	kev = calloc(MAX_EVENTS, sizeof(*kev));
	ASSERT_NE(NULL, kev);
	ch->container_fd = self->container_fd;
	ch->buf = self->buf;
	ASSERT_EQ(0, pthread_create(&thread, NULL, churn_mapper, ch));

	while (rounds < CHURN_ROUNDS && !*msg &&
	       !__atomic_load_n(&ch->finished, __ATOMIC_ACQUIRE)) {
		struct model_client c;
		__u32 kid, count;
		__u64 s0, s1, lost;
		int fd;

		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		c.start = win[(rng >> 33) % ARRAY_SIZE(win)].start;
		c.last = win[(rng >> 33) % ARRAY_SIZE(win)].last;
		c.events = masks[(rng >> 40) % 3];
		c.gran = (rng >> 45) & 1 ? ALIGNED : ARB;

		/* An fd and an in-kernel client that is never read. */
		s0 = __atomic_load_n(&ch->done, __ATOMIC_ACQUIRE);
		fd = _test_notifier(self->container_fd, c.events, c.gran,
				    c.start, c.last, CHURN_QUEUE);
		if (fd < 0) {
			snprintf(msg, sizeof(msg), "NOTIFIER: %s",
				 strerror(errno));
			break;
		}
		if (_test_client_add(self->test_fd, self->e.group, c.events,
				     c.gran, c.start, c.last, &kid)) {
			snprintf(msg, sizeof(msg), "CLIENT_ADD: %s",
				 strerror(errno));
			close(fd);
			break;
		}
		fcntl(fd, F_SETFL, O_NONBLOCK);
		n = 0;
		for (r = 0; r < 1 + (rng >> 50) % 4 && !*msg; r++) {
			ssize_t ret;

			sched_yield();
			ret = read(fd, self->got + n,
				   (MAX_EVENTS - n) * sizeof(*self->got));
			if (ret < 0 && errno != EAGAIN)
				snprintf(msg, sizeof(msg), "read: %s",
					 strerror(errno));
			else if (ret > 0)
				n += ret / sizeof(*self->got);
		}
		close(fd);
		if (_test_client_del(self->test_fd, kid) && !*msg)
			snprintf(msg, sizeof(msg), "CLIENT_DEL: %s",
				 strerror(errno));
		s1 = __atomic_load_n(&ch->published, __ATOMIC_ACQUIRE);
		if (*msg || churn_validate(ch, &c, s0, s1, self->got, n,
					   self->exp, msg, sizeof(msg)))
			break;
		for (r = 0; r < n; r++)
			overflows += self->got[r].type == EV_OVERFLOW;
		records += n;

		/* An in-kernel client, read before it is deleted. */
		s0 = __atomic_load_n(&ch->done, __ATOMIC_ACQUIRE);
		if (_test_client_add(self->test_fd, self->e.group, c.events,
				     c.gran, c.start, c.last, &kid)) {
			snprintf(msg, sizeof(msg), "CLIENT_ADD: %s",
				 strerror(errno));
			break;
		}
		sched_yield();
		if (_test_client_read(self->test_fd, kid, kev, MAX_EVENTS,
				      &count, &lost))
			snprintf(msg, sizeof(msg), "CLIENT_READ: %s",
				 strerror(errno));
		/* Taken after the read: it saw nothing later. */
		s1 = __atomic_load_n(&ch->published, __ATOMIC_ACQUIRE);
		if (_test_client_del(self->test_fd, kid) && !*msg)
			snprintf(msg, sizeof(msg), "CLIENT_DEL: %s",
				 strerror(errno));
		if (*msg || churn_validate(ch, &c, s0, s1, kev, count,
					   self->exp, msg, sizeof(msg)))
			break;
		records += count;
		rounds++;
	}
	__atomic_store_n(&ch->stop, true, __ATOMIC_RELEASE);
	pthread_join(thread, NULL);
	free(kev);
	TH_LOG("%u rounds, %u records checked (%u overflows), %llu ops",
	       rounds, records, overflows, (unsigned long long)ch->done);
	ASSERT_STREQ("", ch->fail);
	ASSERT_STREQ("", msg);
	ASSERT_EQ(0ULL, ch->done % 4);
	ASSERT_LE(40ULL, ch->done);
	ASSERT_LE(20U, rounds);
	ASSERT_LT(0U, records);
	free(ch);
	/* Everything was unmapped. */
	test_range_empty();
}

/* ---------------------------------------------------------------------- */
/* The queue of a notifier fd                                             */
/* ---------------------------------------------------------------------- */

/*
 * queue_len 4: three events, then an overflow record that counts what was
 * dropped until it was read; then events flow again.
 */
TEST_F(notify, overflow)
{
	const __u64 w0 = 0x100000, w1 = 0x1fffff;
	struct vfio_range_event two[2];
	unsigned int i;
	int fd;
	__u32 kid;

	fd = test_notifier_q(EV_MAP, ARB, w0, w1, 4);
	kid = test_client_add(EV_MAP, ARB, w0, w1);

	/* 10 maps: 3 queued, 7 dropped. */
	for (i = 0; i < 10; i++)
		do_map(i, w0 + 2 * i * PG, w0 + (2 * i + 1) * PG - 1);
	expect_fd(fd, EV(EV_MAP, 1, w0, w0 + PG - 1, 0),
		  EV(EV_MAP, 2, w0 + 2 * PG, w0 + 3 * PG - 1, 0),
		  EV(EV_MAP, 3, w0 + 4 * PG, w0 + 5 * PG - 1, 0),
		  OVF(w0, w1, 7));

	/* Flowing again. */
	do_map(10, w0 + 20 * PG, w0 + 21 * PG - 1);
	expect_fd(fd, EV(EV_MAP, 11, w0 + 20 * PG, w0 + 21 * PG - 1, 0));

	/*
	 * Five more: 12, 13, 14 queued, 15 and 16 dropped. Reading two
	 * records frees room, but while the overflow record is unread 17
	 * and 18 are dropped too and counted in it.
	 */
	for (i = 11; i < 16; i++)
		do_map(i, w0 + 2 * i * PG, w0 + (2 * i + 1) * PG - 1);
	ASSERT_EQ((ssize_t)sizeof(two), read(fd, two, sizeof(two)));
	__check_events(_metadata, "first two", two, 2,
		       (const struct vfio_range_event[]){
				EV(EV_MAP, 12, w0 + 22 * PG,
				   w0 + 23 * PG - 1, 0),
				EV(EV_MAP, 13, w0 + 24 * PG,
				   w0 + 25 * PG - 1, 0),
		       }, 2);
	for (i = 16; i < 18; i++)
		do_map(i, w0 + 2 * i * PG, w0 + (2 * i + 1) * PG - 1);
	expect_fd(fd, EV(EV_MAP, 14, w0 + 26 * PG, w0 + 27 * PG - 1, 0),
		  OVF(w0, w1, 4));
	do_map(18, w0 + 36 * PG, w0 + 37 * PG - 1);
	expect_fd(fd, EV(EV_MAP, 19, w0 + 36 * PG, w0 + 37 * PG - 1, 0));
	expect_fd_none(fd);

	/* Outside the window: not an event, so nothing is lost either. */
	for (i = 0; i < 4; i++)
		do_map(20 + i, 0x200000 + i * PG, 0x200000 + (i + 1) * PG - 1);
	expect_fd_none(fd);

	/* The in-kernel client kept all 19 in-window events. */
	ASSERT_EQ(19U, __read_client(_metadata, self->test_fd, kid, self->got,
				     MAX_EVENTS));
	for (i = 0; i < 19; i++)
		ASSERT_EQ(i + 1ULL, self->got[i].seq);
	close(fd);
}

/* The smallest queue, and one operation that overflows it on its own. */
TEST_F(notify, overflow_aligned)
{
	const __u64 s = 0x43000, l = 0x4cfff;	/* 4 aligned blocks */
	int fd;

	fd = test_notifier_q(EV_BOTH, ALIGNED, 0, U64_MAX, 2);
	do_map(0, s, l);
	expect_fd(fd, EV(EV_MAP, 1, 0x43000, 0x43fff, 0xfff),
		  OVF(0, U64_MAX, 3));
	do_map(10, 0x100000, 0x100fff);
	expect_fd(fd, EV(EV_MAP, 2, 0x100000, 0x100fff, 0xfff));
	do_unmap(0, U64_MAX, 11 * PG);
	expect_fd(fd, EV(EV_UNMAP, 3, 0x43000, 0x43fff, 0xfff),
		  OVF(0, U64_MAX, 4));
	expect_fd_none(fd);
	close(fd);
}

/*
 * Operations log one entry per range for the notifier fds of a container,
 * and the log holds 4096 (VRANGE_LOG_LEN): here 6000 entries go by. Fds
 * that read nothing meanwhile, one read every 500 maps and one registered
 * after 1000 maps get what the queue rule gives when each event is queued
 * as it happens (struct model_queue), overflow records and counts included.
 */
#define LAG_MAPS	3000	/* and 3000 unmap runs: 6000 entries */
#define LAG_LATE	1000	/* maps before the late client registers */
#define LAG_READ_EVERY	500
#define LAG_READ	300

TEST_F(notify, log_lag)
{
	const __u64 base = 0x10000000;
	struct model_queue mq[] = {
		/* Room for all: the exact sequence. */
		{ .c = { EV_BOTH, ARB, 0, U64_MAX }, .len = 16384 },
		/* A window that cuts mapping 1500; overflows. */
		{ .c = { EV_BOTH, ALIGNED, base + 4501 * PG, U64_MAX },
		  .len = 512 },
		/* Read as it goes; overflows between reads. */
		{ .c = { EV_BOTH, ALIGNED, 0, U64_MAX }, .len = 1024 },
		/* Registered late. */
		{ .c = { EV_BOTH, ARB, 0, U64_MAX }, .len = 256 },
	};
	const unsigned int late = 3, reader = 2;
	struct vfio_range_event chunk[LAG_READ];
	int fd[ARRAY_SIZE(mq)];
	unsigned int c, i, n;
	ssize_t len;

	for (c = 0; c < ARRAY_SIZE(mq); c++) {
		mq[c].q = calloc(mq[c].len, sizeof(*mq[c].q));
		ASSERT_NE(NULL, mq[c].q);
		if (c != late)
			fd[c] = test_notifier_q(mq[c].c.events, mq[c].c.gran,
						mq[c].c.start, mq[c].c.last,
						mq[c].len);
	}
	/* Two pages every three: every other one is 2-page aligned. */
	for (i = 0; i < LAG_MAPS; i++) {
		__u64 s = base + 3 * i * PG, l = s + 2 * PG - 1;

		if (i == LAG_LATE)
			fd[late] = test_notifier_q(mq[late].c.events,
						   mq[late].c.gran,
						   mq[late].c.start,
						   mq[late].c.last,
						   mq[late].len);
		do_map(i % (BUF_PAGES - 1), s, l);
		for (c = 0; c < ARRAY_SIZE(mq); c++)
			if (c != late || i >= LAG_LATE)
				mq_range(&mq[c], EV_MAP, self->seq, s, l);
		if (i % LAG_READ_EVERY != LAG_READ_EVERY - 1)
			continue;
		len = read(fd[reader], chunk, sizeof(chunk));
		n = mq_pop(&mq[reader], self->exp, LAG_READ);
		ASSERT_EQ((ssize_t)(n * sizeof(chunk[0])), len)
			TH_LOG("read after map %u: %s", i, strerror(errno));
		__check_events(_metadata, "reader midway", chunk, n,
			       self->exp, n);
	}
	/* The one-page holes keep every mapping a run of its own. */
	do_unmap(base, base + 3 * LAG_MAPS * PG - 1, 2 * LAG_MAPS * PG);
	for (i = 0; i < LAG_MAPS; i++)
		for (c = 0; c < ARRAY_SIZE(mq); c++)
			mq_range(&mq[c], EV_UNMAP, self->seq,
				 base + 3 * i * PG, base + (3 * i + 2) * PG - 1);
	for (c = 0; c < ARRAY_SIZE(mq); c++) {
		/* The model says who overflowed: the rule is what is tested. */
		ASSERT_EQ(c != 0, mq[c].ovf) TH_LOG("client %u", c);
		expect_fd_list(fd[c], mq[c].q, mq[c].n);
		close(fd[c]);
		free(mq[c].q);
	}
}

/*
 * Fds closed while the log holds entries they have not read: the others
 * still get theirs; the last one frees the log, and the fds opened after
 * that get a new one and only the operations that follow.
 */
TEST_F(notify, log_close_unread)
{
	const __u64 x = 0x200000;
	int fa, fb, fc;

	fa = test_notifier(EV_BOTH, ARB, 0, U64_MAX);
	fb = test_notifier(EV_BOTH, ALIGNED, 0, U64_MAX);
	do_map(0, x, x + 3 * PG - 1);
	ASSERT_EQ(0, close(fb));
	do_map(4, x + 4 * PG, x + 5 * PG - 1);
	/* Nothing of the second map was lost by fb's going. */
	expect_fd(fa, EV(EV_MAP, 1, x, x + 3 * PG - 1, 0),
		  EV(EV_MAP, 2, x + 4 * PG, x + 5 * PG - 1, 0));
	do_map(6, x + 8 * PG, x + 9 * PG - 1);
	/* The last fd goes with seq 3 unread, and the log with it. */
	ASSERT_EQ(0, close(fa));
	do_map(8, x + 12 * PG, x + 13 * PG - 1);

	fc = test_notifier(EV_BOTH, ALIGNED, 0, U64_MAX);
	fa = test_notifier(EV_UNMAP, ARB, 0, U64_MAX);
	do_unmap(0, U64_MAX, 6 * PG);
	expect_fd(fc, EV(EV_UNMAP, 5, x, x + 2 * PG - 1, 2 * PG - 1),
		  EV(EV_UNMAP, 5, x + 2 * PG, x + 3 * PG - 1, PG - 1),
		  EV(EV_UNMAP, 5, x + 4 * PG, x + 5 * PG - 1, PG - 1),
		  EV(EV_UNMAP, 5, x + 8 * PG, x + 9 * PG - 1, PG - 1),
		  EV(EV_UNMAP, 5, x + 12 * PG, x + 13 * PG - 1, PG - 1));
	expect_fd(fa, EV(EV_UNMAP, 5, x, x + 3 * PG - 1, 0),
		  EV(EV_UNMAP, 5, x + 4 * PG, x + 5 * PG - 1, 0),
		  EV(EV_UNMAP, 5, x + 8 * PG, x + 9 * PG - 1, 0),
		  EV(EV_UNMAP, 5, x + 12 * PG, x + 13 * PG - 1, 0));
	close(fa);
	close(fc);
}

/*
 * The log keeps only what some fd listens to (the union of their masks,
 * the span of their windows): as fds come and go, each still gets every
 * event it asked for, and none it did not.
 */
TEST_F(notify, log_scope)
{
	const __u64 x = 0x400000, y = 0x800000;
	int fu, fm, fw;

	/* UNMAP only, around x: maps are not logged. */
	fu = test_notifier(EV_UNMAP, ARB, x, x + 0xfffff);
	do_map(0, x, x + PG - 1);
	do_map(1, y, y + PG - 1);
	/* MAP, whole space: from now on maps are. */
	fm = test_notifier(EV_MAP, ARB, 0, U64_MAX);
	do_map(2, x + PG, x + 2 * PG - 1);
	do_map(3, y + PG, y + 2 * PG - 1);
	expect_fd(fm, EV(EV_MAP, 3, x + PG, x + 2 * PG - 1, 0),
		  EV(EV_MAP, 4, y + PG, y + 2 * PG - 1, 0));
	ASSERT_EQ(0, close(fm));
	/* Both masks around y, from a new fd. */
	fw = test_notifier(EV_BOTH, ALIGNED, y, y + 0xfffff);
	do_map(4, y + 2 * PG, y + 3 * PG - 1);
	do_unmap(0, U64_MAX, 5 * PG);
	expect_fd(fu, EV(EV_UNMAP, 6, x, x + 2 * PG - 1, 0));
	expect_fd(fw, EV(EV_MAP, 5, y + 2 * PG, y + 3 * PG - 1, PG - 1),
		  EV(EV_UNMAP, 6, y, y + 2 * PG - 1, 2 * PG - 1),
		  EV(EV_UNMAP, 6, y + 2 * PG, y + 3 * PG - 1, PG - 1));
	close(fu);
	close(fw);
}

/* queue_len 0 is 256 slots: 255 events and the overflow record. */
TEST_F(notify, queue_default)
{
	const __u64 base = 0x1000000;
	unsigned int i, n;
	int fd;

	fd = test_notifier(EV_MAP, ARB, 0, U64_MAX);
	for (i = 0; i < 257; i++)
		do_map(i, base + i * PG, base + (i + 1) * PG - 1);
	n = __read_fd(_metadata, fd, self->got, MAX_EVENTS);
	ASSERT_EQ(256U, n);
	for (i = 0; i < 255; i++) {
		struct vfio_range_event e = EV(EV_MAP, i + 1, base + i * PG,
					       base + (i + 1) * PG - 1, 0);

		ASSERT_TRUE(ev_equal(&e, &self->got[i]))
			TH_LOG("record %u", i);
	}
	__check_events(_metadata, "overflow", self->got + 255, 1,
		       (const struct vfio_range_event[]){
				OVF(0, U64_MAX, 2),
		       }, 1);
	/* One unmap, one merged run. */
	do_unmap(0, U64_MAX, 257 * PG);
	expect_fd_none(fd);
	close(fd);

	/* The bounds are accepted. */
	close(test_notifier_q(EV_MAP, ARB, 0, U64_MAX, 2));
	close(test_notifier_q(EV_MAP, ARB, 0, U64_MAX, 65536));
}

/*
 * A read whose buffer faults loses the records it took; the reader is
 * told by an overflow record counting them, plus any events an overflow
 * record it took had counted, and delivery goes on after it. In the
 * second case 3 events and an overflow of 7 are lost: the record counts 10.
 */
TEST_F(notify, read_fault)
{
	const struct {
		unsigned int queue_len, maps;
		__u64 iova;
	} cases[] = {
		{ .queue_len = 8, .maps = 3, .iova = 0x100000 },
		{ .queue_len = 4, .maps = 10, .iova = 0x400000 },
	};
	struct vfio_range_event *bad = test_mmap(PG, PROT_NONE);
	unsigned int c, i, page = 0;
	__u64 iova;
	int fd;

	ASSERT_NE(NULL, bad);
	for (c = 0; c < ARRAY_SIZE(cases); c++) {
		fd = test_notifier_q(EV_MAP, ARB, 0, U64_MAX,
				     cases[c].queue_len);
		ASSERT_EQ(0, fcntl(fd, F_SETFL, O_NONBLOCK));
		for (i = 0, iova = cases[c].iova; i < cases[c].maps;
		     i++, iova += PG)
			do_map(page++, iova, iova + PG - 1);
		EXPECT_ERRNO(EFAULT, read(fd, bad, 4 * sizeof(*bad)));
		expect_fd(fd, OVF(0, U64_MAX, cases[c].maps));
		do_map(page++, iova, iova + PG - 1);
		expect_fd(fd, EV(EV_MAP, self->seq, iova, iova + PG - 1, 0));
		close(fd);
	}
}

static void sig_noop(int sig)
{
	(void)sig;
}

struct blocked_read {
	int fd;
	ssize_t ret;
	int err;
	struct vfio_range_event ev[4];
};

static void *blocked_reader(void *arg)
{
	struct blocked_read *br = arg;

	br->ret = read(br->fd, br->ev, sizeof(br->ev));
	br->err = errno;
	return NULL;
}

/* read() and poll() semantics of a notifier fd. */
TEST_F(notify, read_poll)
{
	struct vfio_range_event ev[2];
	struct sigaction sa = { .sa_handler = sig_noop };
	struct itimerval it = { .it_value = { .tv_usec = 100000 } };
	struct blocked_read br = {};
	struct pollfd pfd;
	pthread_t thread;
	int fd, flags;

	fd = test_notifier(EV_BOTH, ARB, 0, U64_MAX);
	flags = fcntl(fd, F_GETFD);
	ASSERT_LE(0, flags);
	ASSERT_TRUE(flags & FD_CLOEXEC);
	flags = fcntl(fd, F_GETFL);
	ASSERT_LE(0, flags);
	ASSERT_FALSE(flags & O_NONBLOCK);

	pfd.fd = fd;
	pfd.events = POLLIN;
	ASSERT_EQ(0, poll(&pfd, 1, 0));

	/* A blocking read is woken by an event. */
	br.fd = fd;
	ASSERT_EQ(0, pthread_create(&thread, NULL, blocked_reader, &br));
	usleep(100000);
	do_map(0, 0x100000, 0x100fff);
	ASSERT_EQ(0, pthread_join(thread, NULL));
	ASSERT_EQ((ssize_t)sizeof(ev[0]), br.ret)
		TH_LOG("read: %s", strerror(br.err));
	__check_events(_metadata, "woken read", br.ev, 1,
		       (const struct vfio_range_event[]){
				EV(EV_MAP, 1, 0x100000, 0x100fff, 0),
		       }, 1);

	/* A blocking read is interrupted by a signal (no SA_RESTART). */
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	EXPECT_ERRNO(EINTR, read(fd, ev, sizeof(ev)));
	signal(SIGALRM, SIG_DFL);

	do_map(1, 0x200000, 0x200fff);
	do_unmap(0x200000, 0x200fff, PG);
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	ASSERT_EQ(POLLIN, pfd.revents & (POLLIN | POLLERR | POLLHUP));

	/* Shorter than a record, or empty: EINVAL, and nothing consumed. */
	EXPECT_ERRNO(EINVAL, read(fd, ev, sizeof(ev[0]) - 1));
	EXPECT_ERRNO(EINVAL, read(fd, ev, 1));
	EXPECT_ERRNO(EINVAL, read(fd, ev, 0));
	/* Whole records only: 1.5 records read one. */
	ASSERT_EQ((ssize_t)sizeof(ev[0]),
		  read(fd, ev, sizeof(ev[0]) + sizeof(ev[0]) / 2));
	__check_events(_metadata, "partial", ev, 1,
		       (const struct vfio_range_event[]){
				EV(EV_MAP, 2, 0x200000, 0x200fff, 0),
		       }, 1);
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	ASSERT_EQ((ssize_t)sizeof(ev[0]), read(fd, ev, sizeof(ev)));
	__check_events(_metadata, "last", ev, 1,
		       (const struct vfio_range_event[]){
				EV(EV_UNMAP, 3, 0x200000, 0x200fff, 0),
		       }, 1);

	/* Empty again. */
	ASSERT_EQ(0, poll(&pfd, 1, 0));
	ASSERT_EQ(0, fcntl(fd, F_SETFL, flags | O_NONBLOCK));
	EXPECT_ERRNO(EAGAIN, read(fd, ev, sizeof(ev)));
	EXPECT_ERRNO(EINVAL, read(fd, ev, sizeof(ev[0]) - 1));
	close(fd);
}

/* ---------------------------------------------------------------------- */
/* Registration errors and limits                                         */
/* ---------------------------------------------------------------------- */

static int notifier_raw(int fd, void *cmd)
{
	return ioctl(fd, VFIO_IOMMU_RANGE_NOTIFIER, cmd);
}

TEST_F(notify, notifier_errors)
{
	const size_t sz = sizeof(struct vfio_range_notifier);
	struct vfio_range_notifier good = {
		.argsz = sz,
		.events = EV_BOTH,
		.granularity = ARB,
		.last = U64_MAX,
	}, cmd;
	__u64 big64[(2 * 4096 + 64) / 8];
	unsigned char *big = (void *)big64;
	struct vfio_range_notifier *bc = (void *)big64;
	int fd, fd2;

	/* flags, __reserved */
	cmd = good;
	cmd.flags = 1;
	EXPECT_ERRNO(EINVAL, notifier_raw(self->container_fd, &cmd));
	cmd.flags = 1U << 31;
	EXPECT_ERRNO(EINVAL, notifier_raw(self->container_fd, &cmd));
	cmd = good;
	cmd.__reserved = 1;
	EXPECT_ERRNO(EINVAL, notifier_raw(self->container_fd, &cmd));

	/* events */
	test_err_notifier(EINVAL, 0, ARB, 0, U64_MAX);
	test_err_notifier(EINVAL, EV_OVERFLOW, ARB, 0, U64_MAX);
	test_err_notifier(EINVAL, EV_BOTH | EV_OVERFLOW, ARB, 0, U64_MAX);
	test_err_notifier(EINVAL, EV_MAP | 1U << 4, ARB, 0, U64_MAX);
	test_err_notifier(EINVAL, EV_UNMAP | 1U << 31, ARB, 0, U64_MAX);
	test_err_notifier(EINVAL, ~0U, ARB, 0, U64_MAX);

	/* granularity */
	test_err_notifier(EINVAL, EV_BOTH, 2, 0, U64_MAX);
	test_err_notifier(EINVAL, EV_BOTH, ~0U, 0, U64_MAX);

	/* window */
	test_err_notifier(EINVAL, EV_BOTH, ARB, 1, 0);
	test_err_notifier(EINVAL, EV_BOTH, ALIGNED, U64_MAX, U64_MAX - 1);
	test_err_notifier(EINVAL, EV_BOTH, ARB, U64_MAX, 0);

	/* queue_len */
	test_err_notifier_q(EINVAL, EV_BOTH, ARB, 0, U64_MAX, 1);
	test_err_notifier_q(EINVAL, EV_BOTH, ARB, 0, U64_MAX, 65537);
	test_err_notifier_q(EINVAL, EV_BOTH, ARB, 0, U64_MAX, ~0U);

	/* argsz: short */
	cmd = good;
	cmd.argsz = 0;
	EXPECT_ERRNO(EINVAL, notifier_raw(self->container_fd, &cmd));
	cmd.argsz = 4;
	EXPECT_ERRNO(EINVAL, notifier_raw(self->container_fd, &cmd));
	cmd.argsz = sz - 1;
	EXPECT_ERRNO(EINVAL, notifier_raw(self->container_fd, &cmd));
	cmd.argsz = offsetof(struct vfio_range_notifier, queue_len);
	EXPECT_ERRNO(EINVAL, notifier_raw(self->container_fd, &cmd));

	/* argsz: long, with a zero tail (fine) or not */
	memset(big, 0, sizeof(big64));
	memcpy(big, &good, sz);
	bc->argsz = sz + 8;
	fd = notifier_raw(self->container_fd, bc);
	ASSERT_LE(0, fd) TH_LOG("zero tail: %s", strerror(errno));
	bc->argsz = 4096;
	fd2 = notifier_raw(self->container_fd, bc);
	ASSERT_LE(0, fd2) TH_LOG("zero tail to 4096: %s", strerror(errno));
	close(fd2);
	big[sz + 7] = 1;
	bc->argsz = sz + 8;
	EXPECT_ERRNO(E2BIG, notifier_raw(self->container_fd, bc));
	big[sz + 7] = 0;
	big[4095] = 0x80;
	bc->argsz = 4096;
	EXPECT_ERRNO(E2BIG, notifier_raw(self->container_fd, bc));
	big[4095] = 0;
	bc->argsz = 4097;
	EXPECT_ERRNO(E2BIG, notifier_raw(self->container_fd, bc));
	bc->argsz = sizeof(big64);
	EXPECT_ERRNO(E2BIG, notifier_raw(self->container_fd, bc));

	/* Unreadable argument. */
	EXPECT_ERRNO(EFAULT, notifier_raw(self->container_fd, NULL));

	/* The extremes that are valid. */
	close(test_notifier(EV_MAP, ALIGNED, U64_MAX, U64_MAX));
	close(test_notifier(EV_UNMAP, ARB, 0, 0));
	close(test_notifier(EV_BOTH, ALIGNED, 0, U64_MAX));

	/*
	 * None of the failures left a client behind: fd (argsz + 8) is the
	 * only one, so a limit of 2 takes exactly one more.
	 */
	set_max_clients(2);
	fd2 = test_notifier(EV_BOTH, ARB, 0, U64_MAX);
	test_err_notifier(ENOSPC, EV_BOTH, ARB, 0, U64_MAX);
	close(fd2);

	/* The client registered with the long argsz works. */
	do_map(0, 0x100000, 0x100fff);
	do_unmap(0x100000, 0x100fff, PG);
	expect_fd(fd, EV(EV_MAP, 1, 0x100000, 0x100fff, 0),
		  EV(EV_UNMAP, 2, 0x100000, 0x100fff, 0));
	close(fd);
}

/* max_clients counts fds and in-kernel clients, per container. */
TEST_F(notify, client_limit)
{
	struct emu *e2 = &self->e2;
	int fd[3], f2[3];
	__u32 k, k2;
	unsigned int i;

	set_max_clients(3);
	fd[0] = test_notifier(EV_BOTH, ARB, 0, U64_MAX);
	fd[1] = test_notifier(EV_MAP, ALIGNED, 0, 0xffff);
	k = test_client_add(EV_UNMAP, ARB, 0x1000, 0x1fff);
	test_err_notifier(ENOSPC, EV_BOTH, ARB, 0, U64_MAX);
	test_err_notifier_q(ENOSPC, EV_UNMAP, ALIGNED, 5, 6, 2);
	test_err_client_add(ENOSPC, EV_BOTH, ARB, 0, U64_MAX);

	/* Leaving frees a slot, for either kind. */
	close(fd[1]);
	k2 = test_client_add(EV_BOTH, ALIGNED, 0, U64_MAX);
	test_err_notifier(ENOSPC, EV_BOTH, ARB, 0, U64_MAX);
	test_client_del(k2);
	fd[1] = test_notifier(EV_BOTH, ARB, 0, U64_MAX);
	test_err_client_add(ENOSPC, EV_BOTH, ARB, 0, U64_MAX);

	/* Another container has its own count. */
	__emu_create(_metadata, self->test_fd, e2);
	for (i = 0; i < 3; i++) {
		f2[i] = _test_notifier(e2->container_fd, EV_BOTH, ARB, 0,
				       U64_MAX, 0);
		ASSERT_LE(0, f2[i]) TH_LOG("container 2: %s", strerror(errno));
	}
	EXPECT_ERRNO(ENOSPC, _test_notifier(e2->container_fd, EV_BOTH, ARB,
					    0, U64_MAX, 0));
	EXPECT_ERRNO(ENOSPC, _test_client_add(self->test_fd, e2->group,
					      EV_BOTH, ARB, 0, U64_MAX,
					      NULL));

	/* Lowering the limit keeps those registered, refuses new ones. */
	set_max_clients(1);
	test_err_notifier(ENOSPC, EV_BOTH, ARB, 0, U64_MAX);
	close(fd[1]);
	test_err_notifier(ENOSPC, EV_BOTH, ARB, 0, U64_MAX);
	do_map(0, 0x1000, 0x1fff);
	do_unmap(0x1000, 0x1fff, PG);
	expect_fd(fd[0], EV(EV_MAP, 1, 0x1000, 0x1fff, 0),
		  EV(EV_UNMAP, 2, 0x1000, 0x1fff, 0));
	expect_client(k, EV(EV_UNMAP, 2, 0x1000, 0x1fff, 0));

	/* Raising it lets more in. */
	set_max_clients(4);
	fd[1] = test_notifier(EV_BOTH, ARB, 0, U64_MAX);
	fd[2] = test_notifier(EV_BOTH, ARB, 0, U64_MAX);
	test_err_notifier(ENOSPC, EV_BOTH, ARB, 0, U64_MAX);

	for (i = 0; i < 3; i++) {
		close(fd[i]);
		close(f2[i]);
	}
}

/* vfio_range_client_register() as an in-kernel user sees it. */
TEST_F(notify, kernel_client_errors)
{
	struct vfio_range_test_cmd cmd = {};
	__u32 count, id;
	__u64 lost;

	test_err_client_add(EINVAL, 0, ARB, 0, U64_MAX);
	test_err_client_add(EINVAL, EV_OVERFLOW, ARB, 0, U64_MAX);
	test_err_client_add(EINVAL, EV_BOTH | 1U << 4, ARB, 0, U64_MAX);
	test_err_client_add(EINVAL, EV_BOTH, 2, 0, U64_MAX);
	test_err_client_add(EINVAL, EV_BOTH, ARB, 1, 0);

	/* A group in no container, and no group at all. */
	__emu_add(_metadata, self->test_fd, &self->e2);
	EXPECT_ERRNO(ENOENT, _test_client_add(self->test_fd, self->e2.group,
					      EV_BOTH, ARB, 0, U64_MAX,
					      NULL));
	emu_destroy(&self->e2);
	EXPECT_ERRNO(ENOENT, _test_client_add(self->test_fd, 999999, EV_BOTH,
					      ARB, 0, U64_MAX, NULL));

	EXPECT_ERRNO(ENOENT, _test_client_del(self->test_fd, 12345));
	EXPECT_ERRNO(ENOENT, _test_client_read(self->test_fd, 12345,
					       self->got, 1, &count, &lost));
	/* The test module checks its own argument. */
	cmd.size = sizeof(cmd) - 1;
	cmd.op = VFIO_RANGE_TEST_CLIENT_ADD;
	EXPECT_ERRNO(EINVAL, ioctl(self->test_fd, VFIO_RANGE_TEST_CMD, &cmd));
	EXPECT_ERRNO(EOPNOTSUPP, test_cmd(self->test_fd, 0, &cmd));

	/* After all that, one client works. */
	id = test_client_add(EV_BOTH, ALIGNED, 0, U64_MAX);
	do_map(0, 0x3000, 0x4fff);
	expect_client(id, EV(EV_MAP, 1, 0x3000, 0x3fff, 0xfff),
		      EV(EV_MAP, 1, 0x4000, 0x4fff, 0xfff));
}

/*
 * The last group leaving releases the container: what is still mapped is
 * unmapped, and the clients hear of it before they are left alone.
 */
TEST_F(notify, container_release)
{
	const __u64 a = 0x100000, b = 0x300000;
	struct pollfd pfd;
	int fd;
	__u32 k;

	fd = test_notifier(EV_BOTH, ARB, 0, U64_MAX);
	k = test_client_add(EV_BOTH, ALIGNED, 0, U64_MAX);
	do_map(0, a, a + PG - 1);
	do_map(1, b, b + 2 * PG - 1);

	vfio_close(&self->e.dev_fd);
	vfio_close(&self->e.group_fd);
	expect_fd(fd, EV(EV_MAP, 1, a, a + PG - 1, 0),
		  EV(EV_MAP, 2, b, b + 2 * PG - 1, 0),
		  EV(EV_UNMAP, 3, a, a + PG - 1, 0),
		  EV(EV_UNMAP, 3, b, b + 2 * PG - 1, 0));
	expect_client(k, EV(EV_MAP, 1, a, a + PG - 1, 0xfff),
		      EV(EV_MAP, 2, b, b + 2 * PG - 1, 0x1fff),
		      EV(EV_UNMAP, 3, a, a + PG - 1, 0xfff),
		      EV(EV_UNMAP, 3, b, b + 2 * PG - 1, 0x1fff));

	/* The group is in no container now. */
	test_err_client_add(ENOENT, EV_BOTH, ARB, 0, U64_MAX);
	vfio_close(&self->e.container_fd);
	self->container_fd = -1;

	/* The clients outlive it, quiet; the fd says it hung up. */
	pfd.fd = fd;
	pfd.events = POLLIN;
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	ASSERT_EQ(POLLHUP, pfd.revents);
	ASSERT_EQ(0, fcntl(fd, F_SETFL, 0));
	ASSERT_EQ(0, read(fd, self->got, sizeof(self->got[0])));
	expect_fd_none(fd);
	expect_client_none(k);
	test_client_del(k);
	close(fd);
}

/* A reader blocked on an empty queue wakes with EOF at release. */
TEST_F(notify, release_wakes_reader)
{
	struct blocked_read br = {};
	pthread_t thread;
	int fd;

	fd = test_notifier(EV_BOTH, ARB, 0, U64_MAX);
	br.fd = fd;
	ASSERT_EQ(0, pthread_create(&thread, NULL, blocked_reader, &br));
	usleep(100000);

	vfio_close(&self->e.dev_fd);
	vfio_close(&self->e.group_fd);
	vfio_close(&self->e.container_fd);
	self->container_fd = -1;
	/* Hangs, and the harness times out, if nothing wakes the reader. */
	ASSERT_EQ(0, pthread_join(thread, NULL));
	ASSERT_EQ(0, br.ret) TH_LOG("read: %s", strerror(br.err));
	close(fd);
}

/* ---------------------------------------------------------------------- */
/* Emulated-IOMMU devices                                                 */
/* ---------------------------------------------------------------------- */

#define read_log(log)							\
	({								\
		__u32 __count;						\
									\
		ASSERT_EQ(0, _emu_read_log(self->test_fd, self->e.id,	\
					   log, MAX_LOG, &__count));	\
		__count;						\
	})

#define expect_log(log, i, _iova, _length, _pins)			\
	({								\
		EXPECT_EQ((__u64)(_iova), (log)[i].iova);		\
		EXPECT_EQ((__u64)(_length), (log)[i].length);		\
		EXPECT_EQ((__u32)(_pins), (log)[i].pins_seen);		\
		EXPECT_EQ((log)[i].pins_seen, (log)[i].pins_valid);	\
	})

/*
 * Pins are dropped through dma_unmap before the unmap releases anything:
 * inside the callback the pages are still pinned and intact.
 */
TEST_F(notify, emu_pin_unmap)
{
	struct vfio_range_test_dma_unmap log[MAX_LOG];
	const __u64 x = 0x200000;
	int fd;

	do_map(0, x, x + 4 * PG - 1);
	test_emu_pin(x + PG, 2, PROT_RW);
	test_emu_pin(x + PG, 1, PROT_R);
	ASSERT_EQ(0U, read_log(log));
	fd = test_notifier(EV_UNMAP, ARB, 0, U64_MAX);

	do_unmap(x, x + 4 * PG - 1, 4 * PG);
	ASSERT_EQ(1U, read_log(log));
	expect_log(log, 0, x, 4 * PG, 2);
	/* The device dropped every pin it had there. */
	EXPECT_ERRNO(ENOENT, _emu_unpin(self->test_fd, self->e.id, x + PG, 1));
	EXPECT_ERRNO(ENOENT, _emu_unpin(self->test_fd, self->e.id,
					x + 2 * PG, 1));
	expect_fd(fd, EV(EV_UNMAP, 2, x, x + 4 * PG - 1, 0));

	/* Without pins in the range, the device is not called. */
	do_map(4, x, x + 4 * PG - 1);
	do_unmap(x, x + 4 * PG - 1, 4 * PG);
	ASSERT_EQ(0U, read_log(log));

	/* Pins the device dropped itself are not its business either. */
	do_map(8, x, x + 4 * PG - 1);
	test_emu_pin(x, 4, PROT_RW);
	ASSERT_EQ(0, _emu_unpin(self->test_fd, self->e.id, x, 4));
	do_unmap(x, x + 4 * PG - 1, 4 * PG);
	ASSERT_EQ(0U, read_log(log));
	close(fd);
}

/*
 * dma_unmap comes once per unmapped run that holds pins: not for runs
 * without, never for the whole space, and ranges end at U64_MAX fine.
 */
TEST_F(notify, emu_unmap_runs)
{
	struct vfio_range_test_dma_unmap log[MAX_LOG];
	const __u64 x = 0x200000, top = U64_MAX - PG + 1;
	int fd;

	do_map(0, x, x + PG - 1);
	do_map(1, x + PG, x + 2 * PG - 1);
	do_map(2, x + 0x10000, x + 0x10000 + PG - 1);
	do_map(3, x + 0x20000, x + 0x20000 + PG - 1);
	do_map(4, top, U64_MAX);
	test_emu_pin(x, 2, PROT_RW);
	test_emu_pin(x + 0x10000, 1, PROT_R);
	test_emu_pin(top, 1, PROT_RW);
	fd = test_notifier(EV_UNMAP, ARB, 0, U64_MAX);

	do_unmap(0, U64_MAX, 5 * PG);
	ASSERT_EQ(3U, read_log(log));
	expect_log(log, 0, x, 2 * PG, 2);
	expect_log(log, 1, x + 0x10000, PG, 1);
	expect_log(log, 2, top, PG, 1);
	expect_fd(fd, EV(EV_UNMAP, 6, x, x + 2 * PG - 1, 0),
		  EV(EV_UNMAP, 6, x + 0x10000, x + 0x10000 + PG - 1, 0),
		  EV(EV_UNMAP, 6, x + 0x20000, x + 0x20000 + PG - 1, 0),
		  EV(EV_UNMAP, 6, top, U64_MAX, 0));
	test_range_empty();
	close(fd);
}

/* vfio_dma_rw() reads and writes the mapped user memory itself. */
TEST_F(notify, emu_dma_rw)
{
	const __u64 x = 0x200000, r = 0x300000, w = 0x400000;
	const __u64 t8 = U64_MAX - 0x1fff;
	char data[2 * 4096 + 64], back[sizeof(data)];

	do_map(0, x, x + 3 * PG - 1);
	do_map_flags(3, r, r + PG - 1, VFIO_RANGE_MAP_READ);
	do_map_flags(4, w, w + PG - 1, VFIO_RANGE_MAP_WRITE);
	do_map(5, t8, U64_MAX);

	/* Reads see what userspace wrote, across pages. */
	memset(self->buf + 100, 0x3c, 10);
	test_emu_rw(x + 100, data, 2 * PG, false);
	ASSERT_EQ(0, memcmp(data, self->buf + 100, 2 * PG));
	/* Writes land in the buffer, across a page boundary. */
	fill_pattern(data, 300, 77);
	test_emu_rw(x + PG - 150, data, 300, true);
	ASSERT_EQ(0, memcmp(self->buf + PG - 150, data, 300));
	test_emu_rw(x + PG - 150, back, 300, false);
	ASSERT_EQ(0, memcmp(back, data, 300));

	/* Read-only and write-only mappings. */
	test_emu_rw(r, data, 64, false);
	ASSERT_EQ(0, memcmp(data, self->buf + 3 * PG, 64));
	test_err_emu_rw(EPERM, r, data, 64, true);
	test_err_emu_rw(EPERM, r + PG - 8, data, 8, true);
	test_emu_rw(w + 8, data, 64, true);
	ASSERT_EQ(0, memcmp(self->buf + 4 * PG + 8, data, 64));
	test_err_emu_rw(EPERM, w, data, 64, false);

	/* Unmapped, partly unmapped, wrapping past U64_MAX. */
	test_err_emu_rw(EINVAL, 0x500000, data, 64, false);
	test_err_emu_rw(EINVAL, 0x500000, data, 64, true);
	test_err_emu_rw(EINVAL, x - 8, data, 16, false);
	test_err_emu_rw(EINVAL, x + 3 * PG - 8, data, 16, false);
	test_err_emu_rw(EINVAL, U64_MAX - 7, data, 16, false);

	/* The last bytes of the IOVA space. */
	test_emu_rw(U64_MAX - 15, data, 16, false);
	ASSERT_EQ(0, memcmp(data, self->buf + 7 * PG - 16, 16));
	fill_pattern(data, 8, 99);
	test_emu_rw(U64_MAX - 7, data, 8, true);
	ASSERT_EQ(0, memcmp(self->buf + 7 * PG - 8, data, 8));

	/* Gone once unmapped. */
	do_unmap(x, x + 3 * PG - 1, 3 * PG);
	test_err_emu_rw(EINVAL, x, data, 64, false);
	test_err_emu_rw(EINVAL, x, data, 64, true);
}

TEST_F(notify, emu_pin_errors)
{
	struct vfio_range_test_dma_unmap log[MAX_LOG];
	const __u64 x = 0x200000, r = 0x300000, w = 0x400000;
	const __u64 top = U64_MAX - PG + 1;

	do_map(0, x, x + 2 * PG - 1);
	do_map_flags(2, r, r + PG - 1, VFIO_RANGE_MAP_READ);
	do_map_flags(3, w, w + PG - 1, VFIO_RANGE_MAP_WRITE);
	do_map(4, top, U64_MAX);

	test_err_emu_pin(EINVAL, 0x500000, 1, PROT_R);
	test_err_emu_pin(EINVAL, x - PG, 1, PROT_R);
	/* Partly mapped: nothing stays pinned. */
	test_err_emu_pin(EINVAL, x + PG, 2, PROT_RW);
	test_err_emu_pin(EINVAL, x - PG, 2, PROT_RW);
	test_err_emu_pin(EPERM, r, 1, PROT_W);
	test_err_emu_pin(EPERM, r, 1, PROT_RW);
	test_err_emu_pin(EPERM, w, 1, PROT_R);
	/* Past U64_MAX. */
	test_err_emu_pin(EINVAL, top, 2, PROT_R);
	/* Not page aligned. */
	test_err_emu_pin(EINVAL, x + 8, 1, PROT_R);

	do_unmap(0, U64_MAX, 5 * PG);
	ASSERT_EQ(0U, read_log(log));

	/* The allowed ones. */
	do_map(0, x, x + 2 * PG - 1);
	do_map_flags(2, r, r + PG - 1, VFIO_RANGE_MAP_READ);
	do_map_flags(3, w, w + PG - 1, VFIO_RANGE_MAP_WRITE);
	do_map(4, top, U64_MAX);
	test_emu_pin(r, 1, PROT_R);
	test_emu_pin(w, 1, PROT_W);
	test_emu_pin(top, 1, PROT_RW);
	test_emu_pin(x, 2, PROT_RW);
	do_unmap(0, U64_MAX, 5 * PG);
	ASSERT_EQ(4U, read_log(log));
	expect_log(log, 0, x, 2 * PG, 2);
	expect_log(log, 1, r, PG, 1);
	expect_log(log, 2, w, PG, 1);
	expect_log(log, 3, top, PG, 1);
}

/*
 * A device that keeps its pins makes the unmap fail with EDEADLOCK after
 * a few rounds of dma_unmap; nothing is removed, and once it lets go the
 * unmap goes through.
 */
TEST_F(notify, emu_keep_pins)
{
	struct vfio_range_test_dma_unmap log[MAX_LOG];
	const __u64 x = 0x200000;
	char data[64];
	unsigned int n, i;

	do_map(0, x, x + 2 * PG - 1);
	test_emu_pin(x + PG, 1, PROT_RW);
	ASSERT_EQ(0, _emu_keep_pins(self->test_fd, self->e.id,
				    VFIO_RANGE_TEST_KEEP_PINS));

	test_err_range_unmap(EDEADLOCK, x, x + 2 * PG - 1);
	test_err_range_unmap(EDEADLOCK, 0, U64_MAX);
	n = read_log(log);
	ASSERT_LE(2U, n);
	ASSERT_GE(32U, n);
	for (i = 0; i < n; i++)
		expect_log(log, i, x, 2 * PG, 1);

	/* Still mapped and usable. */
	test_err_range_map(EEXIST, self->buf + 4 * PG, x, x + PG - 1);
	test_emu_rw(x, data, sizeof(data), false);
	ASSERT_EQ(0, memcmp(data, self->buf, sizeof(data)));
	test_emu_pin(x, 1, PROT_R);

	ASSERT_EQ(0, _emu_keep_pins(self->test_fd, self->e.id, false));
	test_range_unmap(x, x + 2 * PG - 1, 2 * PG);
	ASSERT_EQ(1U, read_log(log));
	expect_log(log, 0, x, 2 * PG, 2);
	test_range_empty();
}

/*
 * Memory of its own for a test that frees it under a device's pins: small
 * pages, so that unmapping them frees them (part of a transparent huge
 * page would stay allocated with the rest of it).
 */
static char *small_pages(size_t len)
{
	char *buf = test_mmap(len, PROT_READ | PROT_WRITE);

	if (!buf)
		return NULL;
	if (madvise(buf, len, MADV_NOHUGEPAGE)) {
		munmap(buf, len);
		return NULL;
	}
	fill_pattern(buf, len, 0x1eaf);
	return buf;
}

/*
 * A broken driver that never unpins, not even when closed, keeps the pages
 * it pinned: once its group has left the container, the unmap goes through
 * (no device can be asked any more) but the pages stay allocated and
 * intact rather than being freed under the driver.
 */
TEST_F(notify, emu_pins_outlive_group)
{
	struct emu *keeper = &self->e2;
	const __u64 x = 0x200000;
	__u32 seen, valid;
	char *mem;

	mem = small_pages(2 * PG);
	ASSERT_NE(NULL, mem);
	/* e keeps the container alive once the keeper's group left. */
	__emu_add(_metadata, self->test_fd, keeper);
	__emu_join(_metadata, keeper, self->container_fd);
	test_range_map(mem, x, x + 2 * PG - 1);
	ASSERT_EQ(0, _emu_pin(self->test_fd, keeper->id, x, 2, PROT_RW));
	ASSERT_EQ(0, _emu_keep_pins(self->test_fd, keeper->id,
				    VFIO_RANGE_TEST_KEEP_PINS_ALWAYS));
	vfio_close(&keeper->dev_fd);
	vfio_close(&keeper->group_fd);

	test_range_unmap(0, U64_MAX, 2 * PG);
	test_range_empty();
	/* Now only the keeper's pins can hold the pages. */
	ASSERT_EQ(0, munmap(mem, 2 * PG));
	ASSERT_EQ(0, _emu_check_pins(self->test_fd, keeper->id, &seen,
				     &valid));
	EXPECT_EQ(2U, seen);
	EXPECT_EQ(2U, valid);
}

/* The same when the whole container goes with the pins still held. */
TEST_F(notify, emu_pins_outlive_container)
{
	const __u64 x = 0x200000;
	__u32 seen, valid;
	char *mem;

	mem = small_pages(3 * PG);
	ASSERT_NE(NULL, mem);
	test_range_map(mem, x, x + 3 * PG - 1);
	test_emu_pin(x + PG, 2, PROT_RW);
	ASSERT_EQ(0, _emu_keep_pins(self->test_fd, self->e.id,
				    VFIO_RANGE_TEST_KEEP_PINS_ALWAYS));
	vfio_close(&self->e.dev_fd);
	vfio_close(&self->e.group_fd);
	vfio_close(&self->e.container_fd);
	self->container_fd = -1;

	/* Now only the device's pins can hold the pages. */
	ASSERT_EQ(0, munmap(mem, 3 * PG));
	ASSERT_EQ(0, _emu_check_pins(self->test_fd, self->e.id, &seen,
				     &valid));
	EXPECT_EQ(2U, seen);
	EXPECT_EQ(2U, valid);
}

/*
 * Only a device that can be told of unmaps may pin, even when another
 * device of the container could: its pins would block unmap for good.
 */
TEST_F(notify, emu_pin_needs_dma_unmap)
{
	struct emu *mute = &self->e2;
	const __u64 x = 0x200000;
	char data[16];

	__emu_add_flags(_metadata, self->test_fd, mute,
			VFIO_RANGE_TEST_EMUDEV_NO_DMA_UNMAP);
	__emu_join(_metadata, mute, self->container_fd);
	do_map(0, x, x + PG - 1);

	EXPECT_ERRNO(EINVAL, _emu_pin(self->test_fd, mute->id, x, 1,
				      PROT_R));
	/* It may still copy through vfio_dma_rw(), which pins nothing. */
	ASSERT_EQ(0, _emu_rw(self->test_fd, mute->id, x, data, sizeof(data),
			     false));
	ASSERT_EQ(0, memcmp(data, self->buf, sizeof(data)));
	/* The device that can unpin still may. */
	test_emu_pin(x, 1, PROT_R);
	do_unmap(0, U64_MAX, PG);
	test_range_empty();
}

/*
 * A failed unmap reports nothing and takes no seq: a call that fails
 * changes nothing, and seq counts successful operations.
 */
TEST_F(notify, emu_keep_pins_events)
{
	const __u64 x = 0x200000;
	int fd;
	__u32 k;

	fd = test_notifier(EV_BOTH, ARB, 0, U64_MAX);
	k = test_client_add(EV_UNMAP, ALIGNED, 0, U64_MAX);
	do_map(0, x, x + 2 * PG - 1);
	test_emu_pin(x, 1, PROT_RW);
	ASSERT_EQ(0, _emu_keep_pins(self->test_fd, self->e.id,
				    VFIO_RANGE_TEST_KEEP_PINS));
	test_err_range_unmap(EDEADLOCK, x, x + 2 * PG - 1);

	ASSERT_EQ(0, _emu_keep_pins(self->test_fd, self->e.id, false));
	ASSERT_EQ(0, _emu_unpin(self->test_fd, self->e.id, x, 1));
	do_unmap(x, x + 2 * PG - 1, 2 * PG);
	expect_fd(fd, EV(EV_MAP, 1, x, x + 2 * PG - 1, 0),
		  EV(EV_UNMAP, 2, x, x + 2 * PG - 1, 0));
	expect_client(k, EV(EV_UNMAP, 2, x, x + 2 * PG - 1, 0x1fff));
	close(fd);
}

/* As in type1, a v1 container (VFIO_TYPE1_IOMMU) pins for no device. */
TEST_F(notify, emu_v1_no_pins)
{
	struct emu *e = &self->e2;
	const __u32 rw = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	const __u64 x = 0x200000;
	char data[16];

	__emu_add(_metadata, self->test_fd, e);
	__vfio_container_setup_type1(_metadata, e->group, VFIO_TYPE1_IOMMU,
				     true, &e->container_fd, &e->group_fd);
	__emu_open_device(_metadata, e);
	ASSERT_EQ(0, _test_type1_map(e->container_fd, (uintptr_t)self->buf, x,
				     PG, rw));
	EXPECT_ERRNO(EACCES, _emu_pin(self->test_fd, e->id, x, 1, PROT_R));
	/* vfio_dma_rw() pins nothing and works, as in type1. */
	ASSERT_EQ(0, _emu_rw(self->test_fd, e->id, x, data, sizeof(data),
			     false));
	ASSERT_EQ(0, memcmp(data, self->buf, sizeof(data)));
	emu_destroy(e);
}

/*
 * Compat mode: type1's UNMAP_DMA on a VFIO_TYPE1v2_IOMMU container goes
 * through the same engine, so emulated devices, fd clients and in-kernel
 * clients hear of it exactly as of a range unmap.
 */
TEST_F(notify, emu_compat_unmap_dma)
{
	struct vfio_range_test_dma_unmap log[MAX_LOG];
	struct vfio_iommu_type1_dma_unmap all = {
		.argsz = sizeof(all),
		.flags = VFIO_DMA_UNMAP_FLAG_ALL,
	};
	const __u32 rw = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	const __u64 x = 0x200000;
	__u64 unmapped = 0;
	int fd;
	__u32 k;

	emu_destroy(&self->e);
	emu_init(&self->e);
	__emu_create_type(_metadata, self->test_fd, &self->e, true);
	self->container_fd = self->e.container_fd;

	fd = test_notifier(EV_BOTH, ARB, 0, U64_MAX);
	k = test_client_add(EV_UNMAP, ARB, 0, U64_MAX);
	ASSERT_EQ(0, _test_type1_map(self->container_fd, (uintptr_t)self->buf,
				     x, 4 * PG, rw));
	ASSERT_EQ(0, _test_type1_map(self->container_fd,
				     (uintptr_t)self->buf + 4 * PG,
				     x + 0x10000, PG, rw));
	test_emu_pin(x + PG, 2, PROT_RW);

	/* A device that keeps its pins fails UNMAP_DMA too; nothing moves. */
	ASSERT_EQ(0, _emu_keep_pins(self->test_fd, self->e.id,
				    VFIO_RANGE_TEST_KEEP_PINS));
	EXPECT_ERRNO(EDEADLOCK, _test_type1_unmap(self->container_fd, x,
						  4 * PG, NULL));
	ASSERT_LE(2U, read_log(log));
	ASSERT_EQ(0, _emu_keep_pins(self->test_fd, self->e.id, false));

	ASSERT_EQ(0, _test_type1_unmap(self->container_fd, x, 4 * PG,
				       &unmapped));
	ASSERT_EQ(4 * PG, unmapped);
	ASSERT_EQ(1U, read_log(log));
	expect_log(log, 0, x, 4 * PG, 2);
	EXPECT_ERRNO(ENOENT, _emu_unpin(self->test_fd, self->e.id, x + PG, 1));

	ASSERT_EQ(0, ioctl(self->container_fd, VFIO_IOMMU_UNMAP_DMA, &all));
	ASSERT_EQ(PG, all.size);
	expect_fd(fd, EV(EV_MAP, 1, x, x + 4 * PG - 1, 0),
		  EV(EV_MAP, 2, x + 0x10000, x + 0x10000 + PG - 1, 0),
		  EV(EV_UNMAP, 3, x, x + 4 * PG - 1, 0),
		  EV(EV_UNMAP, 4, x + 0x10000, x + 0x10000 + PG - 1, 0));
	expect_client(k, EV(EV_UNMAP, 3, x, x + 4 * PG - 1, 0),
		      EV(EV_UNMAP, 4, x + 0x10000, x + 0x10000 + PG - 1, 0));
	test_range_empty();
	close(fd);
}

/* ---------------------------------------------------------------------- */
/* A container with a real IOMMU group (edu) and an emulated device        */
/* ---------------------------------------------------------------------- */

FIXTURE(edu_notify)
{
	int test_fd;
	int container_fd;
	int group_fd;
	int group;
	char bdf[NAME_MAX + 1];
	struct emu e;		/* joins the edu container */
	char *buf;
	__u64 seq;
	struct vfio_range_event *got;
};

FIXTURE_SETUP(edu_notify)
{
	struct edu_info edu[EDU_MAX];

	self->test_fd = -1;
	self->container_fd = -1;
	self->group_fd = -1;
	emu_init(&self->e);
	self->got = calloc(MAX_EVENTS, sizeof(*self->got));
	ASSERT_NE(NULL, self->got);
	self->buf = test_mmap(16 * PG, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, self->buf);
	fill_pattern(self->buf, 16 * PG, 0xed0);

	if (edu_find(edu, EDU_MAX) < 1)
		SKIP(return, "no edu device with an IOMMU group");
	self->group = edu[0].group;
	memcpy(self->bdf, edu[0].bdf, sizeof(self->bdf));
	__vfio_container_setup(_metadata, self->group, VFIO_RANGE_IOMMU,
			       &self->container_fd, &self->group_fd);

	self->test_fd = open(VFIO_RANGE_TEST_DEV, O_RDWR);
	ASSERT_LE(0, self->test_fd)
		TH_LOG("open %s: %s", VFIO_RANGE_TEST_DEV, strerror(errno));
	__emu_add(_metadata, self->test_fd, &self->e);
	self->e.group_fd = vfio_group_open(self->e.group);
	ASSERT_LE(0, self->e.group_fd);
	ASSERT_EQ(0, ioctl(self->e.group_fd, VFIO_GROUP_SET_CONTAINER,
			   &self->container_fd))
		TH_LOG("emulated group into the edu container: %s",
		       strerror(errno));
	__emu_open_device(_metadata, &self->e);
}

FIXTURE_TEARDOWN(edu_notify)
{
	emu_destroy(&self->e);
	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);
	vfio_close(&self->test_fd);
	if (self->buf)
		munmap(self->buf, 16 * PG);
	free(self->got);
}

/*
 * With an IOMMU domain: the same events, in-kernel clients found through
 * either group, maps the domain refuses report nothing, and the emulated
 * device pins and is told of unmaps as before.
 */
TEST_F(edu_notify, mixed_container)
{
	struct vfio_range_test_dma_unmap log[MAX_LOG];
	struct iommu_info info;
	const __u64 x = 0x1000000;
	__u32 kedu, kemu, count;
	int fd;

	if (self->container_fd < 0)
		SKIP(return, "no edu device with an IOMMU group");
	if (granule_restricted())
		SKIP(return, GRANULE_SKIP);
	__get_iommu_info(_metadata, self->container_fd, &info);
	fd = test_notifier(EV_BOTH, ALIGNED, 0, U64_MAX);
	ASSERT_EQ(0, _test_client_add(self->test_fd, self->group, EV_BOTH,
				      ARB, 0, U64_MAX, &kedu));
	ASSERT_EQ(0, _test_client_add(self->test_fd, self->e.group,
				      EV_UNMAP, ARB, x + PG, U64_MAX, &kemu));

	do_map(0, x, x + 3 * PG - 1);
	/*
	 * Outside the usable space: refused, unreported, no seq. Above the
	 * top only where there is room above it (not on AMD-Vi or
	 * virtio-iommu, whose space reaches 2^64).
	 */
	if (info.top != U64_MAX) {
		test_err_range_map(ERANGE, self->buf + 4 * PG, info.top + 1,
				   info.top + PG);
		test_err_range_map(ERANGE, self->buf + 4 * PG,
				   U64_MAX - PG + 1, U64_MAX);
	}
	test_err_range_map(ERANGE, self->buf + 4 * PG, MSI_IOVA_START,
			   MSI_IOVA_START + PG - 1);
	do_map(4, info.top - PG + 1, info.top);

	test_emu_pin(x, 2, PROT_RW);
	do_unmap(0, U64_MAX, 4 * PG);
	ASSERT_EQ(0, _emu_read_log(self->test_fd, self->e.id, log, MAX_LOG,
				   &count));
	ASSERT_EQ(1U, count);
	EXPECT_EQ(x, log[0].iova);
	EXPECT_EQ(3 * PG, log[0].length);
	EXPECT_EQ(2U, log[0].pins_seen);
	EXPECT_EQ(2U, log[0].pins_valid);

	expect_fd(fd, EV(EV_MAP, 1, x, x + 2 * PG - 1, 0x1fff),
		  EV(EV_MAP, 1, x + 2 * PG, x + 3 * PG - 1, 0xfff),
		  EV(EV_MAP, 2, info.top - PG + 1, info.top, 0xfff),
		  EV(EV_UNMAP, 3, x, x + 2 * PG - 1, 0x1fff),
		  EV(EV_UNMAP, 3, x + 2 * PG, x + 3 * PG - 1, 0xfff),
		  EV(EV_UNMAP, 3, info.top - PG + 1, info.top, 0xfff));
	expect_client(kedu, EV(EV_MAP, 1, x, x + 3 * PG - 1, 0),
		      EV(EV_MAP, 2, info.top - PG + 1, info.top, 0),
		      EV(EV_UNMAP, 3, x, x + 3 * PG - 1, 0),
		      EV(EV_UNMAP, 3, info.top - PG + 1, info.top, 0));
	expect_client(kemu, EV(EV_UNMAP, 3, x + PG, x + 3 * PG - 1, 0),
		      EV(EV_UNMAP, 3, info.top - PG + 1, info.top, 0));
	close(fd);
}

/*
 * Device memory mapped with VFIO_RANGE_MAP_TRIM: the events cover what was
 * really mapped, the trimmed interior; a request trimmed to nothing maps
 * nothing, so it reports nothing and takes no seq.
 */
TEST_F(edu_notify, bar_trim_events)
{
	const __u64 x = 0x2000000, y = 0x3000000;
	struct vfio_range_map map = {
		.argsz = sizeof(map),
		.flags = RANGE_RW | VFIO_RANGE_MAP_TRIM,
	};
	struct edu_dev edu;
	int fd;

	if (self->container_fd < 0)
		SKIP(return, "no edu device with an IOMMU group");
	if (granule_restricted())
		SKIP(return, GRANULE_SKIP);
	edu_init(&edu);
	__edu_open(_metadata, self->group_fd, self->bdf, &edu);
	fd = test_notifier(EV_BOTH, ALIGNED, 0, U64_MAX);

	map.vaddr = (uintptr_t)edu.bar0 + 0x800;
	map.start = x + 0x800;
	map.last = x + 0x27ff;
	ASSERT_EQ(0, ioctl(self->container_fd, VFIO_IOMMU_RANGE_MAP, &map))
		TH_LOG("BAR map: %s", strerror(errno));
	ASSERT_EQ(x + 0x1000, map.out_start);
	ASSERT_EQ(x + 0x1fff, map.out_last);
	ASSERT_EQ(0U, map.out_flags);
	self->seq++;

	map.start = y + 0x800;
	map.last = y + 0xfff;
	ASSERT_EQ(0, ioctl(self->container_fd, VFIO_IOMMU_RANGE_MAP, &map))
		TH_LOG("empty BAR map: %s", strerror(errno));
	ASSERT_EQ((__u32)VFIO_RANGE_MAP_OUT_EMPTY, map.out_flags);

	do_map(0, x + 0x10000, x + 0x10fff);
	do_unmap(x + 0x800, x + 0x27ff, PG);
	/* Takes the empty request too; only the RAM page is reported. */
	do_unmap(0, U64_MAX, PG);
	expect_fd(fd, EV(EV_MAP, 1, x + 0x1000, x + 0x1fff, 0xfff),
		  EV(EV_MAP, 2, x + 0x10000, x + 0x10fff, 0xfff),
		  EV(EV_UNMAP, 3, x + 0x1000, x + 0x1fff, 0xfff),
		  EV(EV_UNMAP, 4, x + 0x10000, x + 0x10fff, 0xfff));
	test_range_empty();
	close(fd);
	edu_close(&edu);
}

TEST_HARNESS_MAIN
