// SPDX-License-Identifier: GPL-2.0-only
/*
 * ioctl fuzzer of the vfio-range IOMMU backend: several threads throw
 * seeded random, but well-aimed, calls at one container (map, unmap,
 * GET_INFO, notifier registration, reads and polls of notifier fds, closes,
 * and pins, unpins and reads/writes of an emulated-IOMMU device in the same
 * container) with valid, edge and garbage arguments. Every call must end in one of the
 * errnos the uAPI documents for it, every record read must be well formed,
 * and afterwards nothing may be left: no mapping, no pinned page, VmLck at
 * its baseline, the module reference dropped and no kernel report.
 *
 *   VFIO_RANGE_FUZZ_SEED=<n>    seed (default: from the time; always printed)
 *   VFIO_RANGE_FUZZ_CALLS=<n>   calls in all (default FUZZ_CALLS_DEFAULT)
 *   VFIO_RANGE_FUZZ_THREADS=<n> threads (default 4)
 *
 * The seed fixes what each thread sends; how the threads interleave is up
 * to the scheduler, so replay a failure with the same seed and threads,
 * and with VFIO_RANGE_FUZZ_THREADS=1 for an exact sequence.
 *
 * Needs root, an edu device bound to vfio-pci behind an IOMMU, debugfs and
 * vfio_iommu_range.ko loaded; vfio_range_test.ko for the emulated device.
 */
#include "vfio_range_utils.h"

#include <poll.h>
#include <pthread.h>

/* About 6 s under TCG: cheap enough for every make check. */
#define FUZZ_CALLS_DEFAULT	100000UL
#define FUZZ_THREADS_MAX	16
#define FUZZ_FDS		8	/* notifier fds a thread keeps */
#define FUZZ_RECENT		64	/* ranges remembered to aim at */
#define BUF_PAGES		64
#define FUZZ_PINS		16	/* pins a thread remembers to unpin */
#define EMU_RW_MAX		8192
#define EV_SIZE			sizeof(struct vfio_range_event)
#define ARGSZ_MAX		4096	/* the kernel's limit: one page */

/* Threads share recent ranges without locks; torn values do not matter. */
#define READ_SHARED(x)	__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_SHARED(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

enum fuzz_op {
	OP_MAP,
	OP_UNMAP,
	OP_INFO,
	OP_NOTIFIER,
	OP_READ,
	OP_POLL,
	OP_CLOSE,
	OP_BAD_IOCTL,
	OP_EMU_PIN,
	OP_EMU_UNPIN,
	OP_EMU_RW,
	OP_EMU_KEEP,
	OP_NR,
};

static const char *const op_names[OP_NR] = {
	"map", "unmap", "info", "notifier", "read", "poll", "close",
	"bad_ioctl", "emu_pin", "emu_unpin", "emu_rw", "emu_keep",
};

/* Relative frequencies of the operations. */
static const unsigned int op_weight[OP_NR] = {
	[OP_MAP] = 30, [OP_UNMAP] = 25, [OP_INFO] = 4, [OP_NOTIFIER] = 10,
	[OP_READ] = 16, [OP_POLL] = 4, [OP_CLOSE] = 8, [OP_BAD_IOCTL] = 3,
	[OP_EMU_PIN] = 8, [OP_EMU_UNPIN] = 5, [OP_EMU_RW] = 5, [OP_EMU_KEEP] = 1,
};

struct fuzz_shared {
	int container_fd;
	__u64 pg;
	__u64 top;
	struct iommu_info info;
	char *buf;		/* BUF_PAGES RW pages, faulted in */
	char *ro;		/* BUF_PAGES read-only pages */
	char *none;		/* PROT_NONE pages */
	char *hole;		/* an address with nothing mapped */
	void *ro_arg;		/* a read-only page holding a valid map arg */
	/* Ranges recently mapped, so calls hit existing mappings' edges. */
	__u64 recent_start[FUZZ_RECENT];
	__u64 recent_last[FUZZ_RECENT];
	unsigned long calls_per_thread;
	/* An emulated device in the container, if vfio_range_test.ko is. */
	struct emu *emu;
	/* A device may keep its pins: unmaps can then fail (EDEADLOCK). */
	bool keep_pins_seen;
};

struct fuzz_thread {
	pthread_t thread;
	struct fuzz_shared *sh;
	__u64 rng;
	int fds[FUZZ_FDS];
	__u64 win_start[FUZZ_FDS];
	__u64 win_last[FUZZ_FDS];
	__u32 gran[FUZZ_FDS];
	__u64 pin_iova[FUZZ_PINS];
	__u32 pin_npage[FUZZ_PINS];
	char rw[EMU_RW_MAX];
	unsigned long calls[OP_NR];
	unsigned long ok[OP_NR];
	char error[256];	/* first failure; empty if none */
};

/* xorshift64*: one stream per thread, reproducible from the seed. */
static __u64 rnd(struct fuzz_thread *t)
{
	t->rng ^= t->rng >> 12;
	t->rng ^= t->rng << 25;
	t->rng ^= t->rng >> 27;
	return t->rng * 2685821657736338717ULL;
}

static __u64 rnd_below(struct fuzz_thread *t, __u64 n)
{
	return n ? rnd(t) % n : 0;
}

static bool one_in(struct fuzz_thread *t, unsigned int n)
{
	return !rnd_below(t, n);
}

/* An IOVA worth trying: an edge of something, or anywhere. */
static __u64 pick_iova(struct fuzz_thread *t)
{
	struct fuzz_shared *sh = t->sh;
	struct vfio_iova_range *r;
	unsigned int i;
	__u64 base;

	switch (rnd_below(t, 12)) {
	case 0:
		base = 0;
		break;
	case 1:
		base = U64_MAX - rnd_below(t, 8) * sh->pg;
		break;
	case 2:
		base = sh->top - rnd_below(t, 8) * sh->pg;
		break;
	case 3:
		base = MSI_IOVA_START - rnd_below(t, 4) * sh->pg;
		break;
	case 4:
		r = &sh->info.ranges[rnd_below(t, sh->info.nr_ranges)];
		base = one_in(t, 2) ? r->start : r->end + 1;
		break;
	case 5:
	case 6:
	case 7:
		/* Around a recent mapping (racy reads are fine). */
		i = rnd_below(t, FUZZ_RECENT);
		base = one_in(t, 2) ? READ_SHARED(sh->recent_start[i]) :
				      READ_SHARED(sh->recent_last[i]) + 1;
		break;
	default:
		/* A small window, so threads collide on purpose. */
		base = SZ_1M + rnd_below(t, 256) * sh->pg;
		break;
	}
	base += (rnd_below(t, 5) - 2) * sh->pg;
	if (one_in(t, 16))
		base += rnd_below(t, sh->pg);	/* unaligned */
	if (one_in(t, 64))
		base = rnd(t);
	return base;
}

/* A last for @start: a few pages, sometimes odd, empty, huge or wrapping. */
static __u64 pick_last(struct fuzz_thread *t, __u64 start)
{
	__u64 len = (1 + rnd_below(t, BUF_PAGES)) * t->sh->pg;

	switch (rnd_below(t, 16)) {
	case 0:
		return start - 1 - rnd_below(t, 2);	/* start > last */
	case 1:
		return start;				/* one byte */
	case 2:
		return U64_MAX;
	case 3:
		len += one_in(t, 2) ? 1 : -1;		/* unaligned end */
		break;
	case 4:
		len *= 1024;				/* beyond the buffer */
		break;
	default:
		break;
	}
	return start + len - 1;
}

static __u64 pick_vaddr(struct fuzz_thread *t, __u64 len)
{
	struct fuzz_shared *sh = t->sh;
	__u64 off = rnd_below(t, BUF_PAGES) * sh->pg;

	if (len <= BUF_PAGES * sh->pg && off + len > BUF_PAGES * sh->pg)
		off = BUF_PAGES * sh->pg - len;
	switch (rnd_below(t, 14)) {
	case 0:
		return (uintptr_t)sh->ro + off;
	case 1:
		return (uintptr_t)sh->none;
	case 2:
		return (uintptr_t)sh->hole;
	case 3:
		return 0;
	case 4:
		return 0xffff888000000000ULL;		/* kernel address */
	case 5:
		return U64_MAX - sh->pg + 1;		/* wraps */
	case 6:
		return (uintptr_t)sh->buf + off + 1 + rnd_below(t, sh->pg - 1);
	default:
		return (uintptr_t)sh->buf + off;
	}
}

/* argsz: mostly right, sometimes short, long, or absurd. */
static __u32 pick_argsz(struct fuzz_thread *t, __u32 size, __u32 minsz)
{
	switch (rnd_below(t, 12)) {
	case 0:
		return rnd_below(t, minsz);
	case 1:
		return minsz;
	case 2:
		return size + 8 * (1 + rnd_below(t, 8));
	case 3:
		return one_in(t, 2) ? 4097 : UINT32_MAX;
	default:
		return size;
	}
}

/*
 * The argument buffer: a zeroed page whose tail, past the structure, may
 * hold garbage (E2BIG when argsz reaches it).
 */
struct fuzz_arg {
	union {
		struct vfio_range_map map;
		struct vfio_range_unmap unmap;
		struct vfio_range_notifier notifier;
		struct vfio_iommu_type1_info info;
		unsigned char raw[8192];
	};
};

static void *pick_argp(struct fuzz_thread *t, struct fuzz_arg *arg,
		       size_t size)
{
	if (one_in(t, 40))
		return NULL;
	if (one_in(t, 40))
		return t->sh->none;
	if (one_in(t, 8))
		arg->raw[size + rnd_below(t, 64)] = 1 + rnd_below(t, 255);
	return arg;
}

static bool errno_in(int err, const int *set, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (set[i] == err)
			return true;
	return false;
}

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

#define fuzz_fail(t, fmt, ...)						\
	do {								\
		if (!(t)->error[0])					\
			snprintf((t)->error, sizeof((t)->error),	\
				 fmt, ##__VA_ARGS__);			\
	} while (0)

static void remember(struct fuzz_shared *sh, struct fuzz_thread *t,
		     __u64 start, __u64 last)
{
	unsigned int i = rnd_below(t, FUZZ_RECENT);

	WRITE_SHARED(sh->recent_start[i], start);
	WRITE_SHARED(sh->recent_last[i], last);
}

static void do_map(struct fuzz_thread *t)
{
	static const int ok_errnos[] = {
		EINVAL, E2BIG, EFAULT, EOVERFLOW, ERANGE, EEXIST, ENOSPC,
		ENOMEM,
		ENOENT,		/* a lone VADDR flag: no request there */
	};
	struct fuzz_shared *sh = t->sh;
	struct fuzz_arg arg = {};
	struct vfio_range_map *cmd = &arg.map, *ro;
	__u32 minsz = offsetofend(struct vfio_range_map, last);
	bool plain;
	void *argp;
	int ret;

	cmd->start = pick_iova(t);
	cmd->last = pick_last(t, cmd->start);
	cmd->vaddr = pick_vaddr(t, cmd->last - cmd->start + 1);
	cmd->flags = RANGE_RW;
	if (one_in(t, 6))
		cmd->flags = rnd_below(t, 8);
	if (one_in(t, 40))
		cmd->flags = 1U << rnd_below(t, 32);
	if (one_in(t, 40))
		cmd->__reserved = rnd(t);
	cmd->out_start = OUT_POISON;
	cmd->out_last = OUT_POISON;
	cmd->argsz = pick_argsz(t, sizeof(*cmd), minsz);
	plain = cmd->argsz == sizeof(*cmd);
	argp = pick_argp(t, &arg, sizeof(*cmd));

	if (argp == (void *)&arg && one_in(t, 50)) {
		/* Valid, but the outputs cannot be written back. */
		ro = sh->ro_arg;
		ret = ioctl(sh->container_fd, VFIO_IOMMU_RANGE_MAP, ro);
		if (!ret)
			fuzz_fail(t, "map with a read-only argument succeeded");
		else if (errno != EFAULT && errno != EEXIST)
			fuzz_fail(t, "map with a read-only argument: %s",
				  strerror(errno));
		t->calls[OP_MAP]++;
		return;
	}

	ret = ioctl(sh->container_fd, VFIO_IOMMU_RANGE_MAP, argp);
	t->calls[OP_MAP]++;
	if (ret) {
		if (ret != -1 || !errno_in(errno, ok_errnos,
					   ARRAY_LEN(ok_errnos)))
			fuzz_fail(t, "map [%#llx, %#llx] vaddr %#llx flags %#x argsz %u: ret %d, %s",
				  (unsigned long long)cmd->start,
				  (unsigned long long)cmd->last,
				  (unsigned long long)cmd->vaddr, cmd->flags,
				  cmd->argsz, ret, strerror(errno));
		return;
	}
	t->ok[OP_MAP]++;
	/* What can never succeed. */
	if (cmd->start > cmd->last || !(cmd->flags & RANGE_RW) ||
	    cmd->flags & ~RANGE_RW || cmd->argsz < minsz ||
	    cmd->argsz > ARGSZ_MAX || argp != &arg ||
	    (cmd->start | cmd->vaddr | (cmd->last + 1)) & (sh->pg - 1))
		fuzz_fail(t, "map [%#llx, %#llx] vaddr %#llx flags %#x argsz %u succeeded",
			  (unsigned long long)cmd->start,
			  (unsigned long long)cmd->last,
			  (unsigned long long)cmd->vaddr, cmd->flags,
			  cmd->argsz);
	if (plain && (cmd->out_start != cmd->start ||
		      cmd->out_last != cmd->last || cmd->out_flags))
		fuzz_fail(t, "map [%#llx, %#llx]: out [%#llx, %#llx] flags %#x",
			  (unsigned long long)cmd->start,
			  (unsigned long long)cmd->last,
			  (unsigned long long)cmd->out_start,
			  (unsigned long long)cmd->out_last, cmd->out_flags);
	remember(sh, t, cmd->start, cmd->last);
}

static void do_unmap(struct fuzz_thread *t)
{
	static const int ok_errnos[] = { EINVAL, E2BIG, EFAULT, EDEADLOCK };
	struct fuzz_shared *sh = t->sh;
	struct fuzz_arg arg = {};
	struct vfio_range_unmap *cmd = &arg.unmap;
	unsigned int i;
	void *argp;
	int ret;

	switch (rnd_below(t, 8)) {
	case 0:
		cmd->start = 0;
		cmd->last = U64_MAX;
		break;
	case 1:
	case 2:
	case 3:
		/* Exactly, or around, a recent mapping. */
		i = rnd_below(t, FUZZ_RECENT);
		cmd->start = READ_SHARED(sh->recent_start[i]);
		cmd->last = READ_SHARED(sh->recent_last[i]);
		if (one_in(t, 3))
			cmd->start += (rnd_below(t, 3) - 1) * sh->pg;
		if (one_in(t, 3))
			cmd->last += (rnd_below(t, 3) - 1) * sh->pg;
		break;
	default:
		cmd->start = pick_iova(t);
		cmd->last = pick_last(t, cmd->start);
		break;
	}
	if (one_in(t, 30))
		cmd->flags = rnd(t);
	cmd->unmapped = OUT_POISON;
	cmd->argsz = pick_argsz(t, sizeof(*cmd),
				offsetofend(struct vfio_range_unmap, unmapped));
	argp = pick_argp(t, &arg, sizeof(*cmd));

	ret = ioctl(sh->container_fd, VFIO_IOMMU_RANGE_UNMAP, argp);
	t->calls[OP_UNMAP]++;
	if (ret) {
		if (ret != -1 || !errno_in(errno, ok_errnos,
					   ARRAY_LEN(ok_errnos)) ||
		    (errno == EDEADLOCK &&
		     !READ_SHARED(sh->keep_pins_seen)))
			fuzz_fail(t, "unmap [%#llx, %#llx] flags %#x argsz %u: ret %d, %s",
				  (unsigned long long)cmd->start,
				  (unsigned long long)cmd->last, cmd->flags,
				  cmd->argsz, ret, strerror(errno));
		return;
	}
	t->ok[OP_UNMAP]++;
	if (cmd->start > cmd->last || cmd->flags || argp != &arg ||
	    cmd->argsz < sizeof(*cmd) || cmd->argsz > ARGSZ_MAX)
		fuzz_fail(t, "unmap [%#llx, %#llx] flags %#x succeeded",
			  (unsigned long long)cmd->start,
			  (unsigned long long)cmd->last, cmd->flags);
	/* Unmapped bytes lie in the range, in whole pages. */
	if (cmd->argsz >= sizeof(*cmd) &&
	    (cmd->unmapped % sh->pg ||
	     (cmd->unmapped && cmd->unmapped - 1 > cmd->last - cmd->start)))
		fuzz_fail(t, "unmap [%#llx, %#llx]: unmapped %#llx",
			  (unsigned long long)cmd->start,
			  (unsigned long long)cmd->last,
			  (unsigned long long)cmd->unmapped);
}

static void do_info(struct fuzz_thread *t)
{
	static const int ok_errnos[] = { EINVAL, EFAULT };
	struct fuzz_arg arg = {};
	struct vfio_iommu_type1_info *info = &arg.info;
	void *argp;
	int ret;

	info->argsz = one_in(t, 3) ? rnd_below(t, 512) :
				     pick_argsz(t, sizeof(*info), 16);
	if (info->argsz > sizeof(arg))
		info->argsz = sizeof(arg);	/* the kernel writes up to it */
	argp = one_in(t, 20) ? (void *)t->sh->ro : (void *)&arg;
	if (one_in(t, 20))
		argp = NULL;

	ret = ioctl(t->sh->container_fd, VFIO_IOMMU_GET_INFO, argp);
	t->calls[OP_INFO]++;
	if (ret) {
		if (ret != -1 || !errno_in(errno, ok_errnos,
					   ARRAY_LEN(ok_errnos)))
			fuzz_fail(t, "GET_INFO argsz %u: ret %d, %s",
				  info->argsz, ret, strerror(errno));
		return;
	}
	t->ok[OP_INFO]++;
	if (info->iova_pgsizes != t->sh->info.pgsizes)
		fuzz_fail(t, "GET_INFO: page sizes %#llx, not %#llx",
			  (unsigned long long)info->iova_pgsizes,
			  (unsigned long long)t->sh->info.pgsizes);
}

static int free_slot(struct fuzz_thread *t)
{
	int i;

	for (i = 0; i < FUZZ_FDS; i++)
		if (t->fds[i] < 0)
			return i;
	return -1;
}

static int used_slot(struct fuzz_thread *t)
{
	int i, start = rnd_below(t, FUZZ_FDS);

	for (i = 0; i < FUZZ_FDS; i++)
		if (t->fds[(start + i) % FUZZ_FDS] >= 0)
			return (start + i) % FUZZ_FDS;
	return -1;
}

static void do_close(struct fuzz_thread *t)
{
	int slot = used_slot(t);

	t->calls[OP_CLOSE]++;
	if (slot < 0)
		return;
	if (close(t->fds[slot]))
		fuzz_fail(t, "close notifier fd: %s", strerror(errno));
	else
		t->ok[OP_CLOSE]++;
	t->fds[slot] = -1;
}

static void do_notifier(struct fuzz_thread *t)
{
	static const int ok_errnos[] = { EINVAL, E2BIG, EFAULT, ENOSPC, EMFILE };
	struct fuzz_arg arg = {};
	struct vfio_range_notifier *cmd = &arg.notifier;
	bool valid, valid_argsz;
	void *argp;
	int slot, fd, flags;

	slot = free_slot(t);
	if (slot < 0) {
		do_close(t);
		slot = free_slot(t);
	}

	cmd->events = 1 + rnd_below(t, 3);
	if (one_in(t, 10))
		cmd->events |= VFIO_RANGE_EVENT_REVOKED;
	if (one_in(t, 20))
		cmd->events = rnd_below(t, 32);
	cmd->granularity = rnd_below(t, 2);
	if (one_in(t, 20))
		cmd->granularity = rnd(t);
	switch (rnd_below(t, 4)) {
	case 0:
		cmd->start = 0;
		cmd->last = U64_MAX;
		break;
	default:
		cmd->start = pick_iova(t);
		cmd->last = pick_last(t, cmd->start);
		break;
	}
	cmd->queue_len = one_in(t, 2) ? 0 : rnd_below(t, 70);
	if (one_in(t, 20))
		cmd->queue_len = one_in(t, 2) ? 65536 + rnd_below(t, 2) :
						rnd(t);
	if (one_in(t, 30))
		cmd->flags = rnd(t);
	if (one_in(t, 30))
		cmd->__reserved = rnd(t);
	cmd->argsz = pick_argsz(t, sizeof(*cmd),
				offsetofend(struct vfio_range_notifier,
					    __reserved));
	argp = pick_argp(t, &arg, sizeof(*cmd));
	/* Fields that make the registration fail whatever the argsz. */
	valid = !cmd->flags && !cmd->__reserved && cmd->events &&
		!(cmd->events & ~(VFIO_RANGE_EVENT_MAP | VFIO_RANGE_EVENT_UNMAP |
				  VFIO_RANGE_EVENT_REVOKED)) &&
		cmd->granularity <= 1 &&
		cmd->start <= cmd->last && cmd->queue_len != 1 &&
		cmd->queue_len <= 65536;
	/* A longer argsz must be all zero past the structure. */
	valid_argsz = cmd->argsz == sizeof(*cmd) ||
		      (cmd->argsz > sizeof(*cmd) && cmd->argsz <= ARGSZ_MAX);

	fd = ioctl(t->sh->container_fd, VFIO_IOMMU_RANGE_NOTIFIER, argp);
	t->calls[OP_NOTIFIER]++;
	if (fd < 0) {
		if (fd != -1 || !errno_in(errno, ok_errnos,
					  ARRAY_LEN(ok_errnos)) ||
		    (valid && argp == &arg && cmd->argsz == sizeof(*cmd) &&
		     errno != ENOSPC && errno != EMFILE))
			fuzz_fail(t, "notifier events %#x gran %u [%#llx, %#llx] q %u argsz %u: %s",
				  cmd->events, cmd->granularity,
				  (unsigned long long)cmd->start,
				  (unsigned long long)cmd->last,
				  cmd->queue_len, cmd->argsz, strerror(errno));
		return;
	}
	t->ok[OP_NOTIFIER]++;
	if (!valid || !valid_argsz || argp != &arg)
		fuzz_fail(t, "notifier events %#x gran %u [%#llx, %#llx] q %u flags %#x argsz %u succeeded",
			  cmd->events, cmd->granularity,
			  (unsigned long long)cmd->start,
			  (unsigned long long)cmd->last, cmd->queue_len,
			  cmd->flags, cmd->argsz);
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK))
		fuzz_fail(t, "fcntl notifier fd: %s", strerror(errno));
	if (slot < 0) {
		close(fd);
		return;
	}
	t->fds[slot] = fd;
	t->win_start[slot] = cmd->start;
	t->win_last[slot] = cmd->last;
	t->gran[slot] = cmd->granularity;
}

/* A record must be well formed and inside the client's window. */
static void check_record(struct fuzz_thread *t, int slot,
			 const struct vfio_range_event *e)
{
	__u64 ws = t->win_start[slot], wl = t->win_last[slot];
	bool bad;

	switch (e->type) {
	case VFIO_RANGE_EVENT_MAP:
	case VFIO_RANGE_EVENT_UNMAP:
		bad = !e->seq || e->start > e->last || e->start < ws ||
		      e->last > wl || e->lost || e->flags;
		if (t->gran[slot] == VFIO_RANGE_GRANULARITY_ALIGNED)
			bad |= e->addr_mask != e->last - e->start ||
			       (e->addr_mask & (e->addr_mask + 1)) ||
			       (e->start & e->addr_mask);
		else
			bad |= e->addr_mask != 0;
		break;
	case VFIO_RANGE_EVENT_OVERFLOW:
		bad = e->seq || !e->lost || e->start != ws || e->last != wl;
		break;
	default:
		bad = true;
		break;
	}
	if (bad)
		fuzz_fail(t, "bad record: type %u flags %#x seq %llu [%#llx, %#llx] mask %#llx lost %llu (window [%#llx, %#llx], gran %u)",
			  e->type, e->flags, (unsigned long long)e->seq,
			  (unsigned long long)e->start,
			  (unsigned long long)e->last,
			  (unsigned long long)e->addr_mask,
			  (unsigned long long)e->lost,
			  (unsigned long long)ws, (unsigned long long)wl,
			  t->gran[slot]);
}

static void do_read(struct fuzz_thread *t)
{
	struct vfio_range_event ev[40];
	size_t len;
	void *p = ev;
	ssize_t n;
	int slot = used_slot(t);
	unsigned int i;

	t->calls[OP_READ]++;
	if (slot < 0)
		return;
	switch (rnd_below(t, 8)) {
	case 0:
		len = rnd_below(t, EV_SIZE);		/* too small */
		break;
	case 1:
		len = EV_SIZE + 1 + rnd_below(t, EV_SIZE - 1);
		break;
	case 2:
		len = sizeof(ev);
		break;
	default:
		len = EV_SIZE * (1 + rnd_below(t, 4));
		break;
	}
	if (one_in(t, 40))
		p = one_in(t, 2) ? NULL : (void *)t->sh->ro;

	n = read(t->fds[slot], p, len);
	if (n < 0) {
		if (len < EV_SIZE ? errno != EINVAL :
		    !(errno == EAGAIN || (errno == EFAULT && p != ev)))
			fuzz_fail(t, "read %zu from notifier fd: %s", len,
				  strerror(errno));
		return;
	}
	t->ok[OP_READ]++;
	if (p != ev || !n || n % EV_SIZE || (size_t)n > len) {
		fuzz_fail(t, "read %zu from notifier fd: %zd", len, n);
		return;
	}
	for (i = 0; i < n / EV_SIZE; i++)
		check_record(t, slot, &ev[i]);
}

static void do_poll(struct fuzz_thread *t)
{
	struct pollfd pfd = { .events = POLLIN };
	int slot = used_slot(t), ret;

	t->calls[OP_POLL]++;
	pfd.fd = slot < 0 ? t->sh->container_fd : t->fds[slot];
	ret = poll(&pfd, 1, 0);
	if (ret < 0)
		fuzz_fail(t, "poll: %s", strerror(errno));
	else
		t->ok[OP_POLL]++;
}

/* Ioctls the backend does not know, on the container and a notifier fd. */
static void do_bad_ioctl(struct fuzz_thread *t)
{
	struct fuzz_arg arg = {};
	unsigned long cmd;
	int slot = used_slot(t), ret;

	t->calls[OP_BAD_IOCTL]++;
	if (slot >= 0 && one_in(t, 2)) {
		ret = ioctl(t->fds[slot], VFIO_IOMMU_RANGE_MAP, &arg);
		if (ret != -1 || errno != ENOTTY)
			fuzz_fail(t, "MAP on a notifier fd: ret %d, %s", ret,
				  strerror(errno));
		return;
	}
	/* Well clear of numbers the backend may add next. */
	cmd = _IO(VFIO_TYPE, VFIO_RANGE_BASE + 32 + rnd_below(t, 8));
	ret = ioctl(t->sh->container_fd, cmd, &arg);
	if (ret != -1 || errno != ENOTTY)
		fuzz_fail(t, "ioctl %#lx on the container: ret %d, %s", cmd,
			  ret, strerror(errno));
}

/* An IOVA for the emulated device: in a recent mapping, or anywhere. */
static __u64 pick_emu_iova(struct fuzz_thread *t)
{
	unsigned int i = rnd_below(t, FUZZ_RECENT);

	if (one_in(t, 4))
		return pick_iova(t);
	return READ_SHARED(t->sh->recent_start[i]) +
	       rnd_below(t, 4) * t->sh->pg;
}

static void do_emu_pin(struct fuzz_thread *t)
{
	static const int ok_errnos[] = { EINVAL, EPERM, ENOMEM };
	struct emu *e = t->sh->emu;
	__u32 npage = 1 + rnd_below(t, 8), prot = 1 + rnd_below(t, 3);
	__u64 iova = pick_emu_iova(t);
	unsigned int slot;
	int ret;

	if (one_in(t, 30))
		npage = one_in(t, 2) ? 0 : 513;
	if (one_in(t, 30))
		prot = rnd_below(t, 8);
	ret = _emu_pin(e->test_fd, e->id, iova, npage, prot);
	t->calls[OP_EMU_PIN]++;
	if (ret) {
		if (!errno_in(errno, ok_errnos, ARRAY_LEN(ok_errnos)))
			fuzz_fail(t, "pin %#llx x%u prot %u: %s",
				  (unsigned long long)iova, npage, prot,
				  strerror(errno));
		return;
	}
	t->ok[OP_EMU_PIN]++;
	if (!npage || npage > 512 || iova & (t->sh->pg - 1))
		fuzz_fail(t, "pin %#llx x%u succeeded",
			  (unsigned long long)iova, npage);
	/* Forget the oldest: a dma_unmap will drop it. */
	slot = rnd_below(t, FUZZ_PINS);
	t->pin_iova[slot] = iova;
	t->pin_npage[slot] = npage;
}

static void do_emu_unpin(struct fuzz_thread *t)
{
	struct emu *e = t->sh->emu;
	unsigned int slot = rnd_below(t, FUZZ_PINS);
	int ret;

	t->calls[OP_EMU_UNPIN]++;
	if (!t->pin_npage[slot])
		return;
	/* ENOENT: dma_unmap, or another thread, unpinned it first. */
	ret = _emu_unpin(e->test_fd, e->id, t->pin_iova[slot],
			 t->pin_npage[slot]);
	if (ret && errno != ENOENT)
		fuzz_fail(t, "unpin %#llx x%u: %s",
			  (unsigned long long)t->pin_iova[slot],
			  t->pin_npage[slot], strerror(errno));
	t->ok[OP_EMU_UNPIN] += !ret;
	t->pin_npage[slot] = 0;
}

static void do_emu_rw(struct fuzz_thread *t)
{
	static const int ok_errnos[] = { EINVAL, EPERM, ENOMEM };
	struct emu *e = t->sh->emu;
	__u32 len = 1 + rnd_below(t, EMU_RW_MAX);
	__u64 iova = pick_emu_iova(t) + rnd_below(t, t->sh->pg);
	bool write = one_in(t, 2);
	int ret;

	if (one_in(t, 30))
		len = 0;
	ret = _emu_rw(e->test_fd, e->id, iova, t->rw, len, write);
	t->calls[OP_EMU_RW]++;
	if (ret) {
		if (!errno_in(errno, ok_errnos, ARRAY_LEN(ok_errnos)))
			fuzz_fail(t, "dma_rw %#llx len %u %s: %s",
				  (unsigned long long)iova, len,
				  write ? "write" : "read", strerror(errno));
		return;
	}
	t->ok[OP_EMU_RW]++;
	if (!len)
		fuzz_fail(t, "dma_rw of 0 bytes succeeded");
}

/* Mostly lets the device unpin on dma_unmap; now and then it refuses. */
static void do_emu_keep(struct fuzz_thread *t)
{
	struct emu *e = t->sh->emu;
	bool keep = one_in(t, 4);

	t->calls[OP_EMU_KEEP]++;
	if (keep)
		WRITE_SHARED(t->sh->keep_pins_seen, true);
	if (_emu_keep_pins(e->test_fd, e->id, keep))
		fuzz_fail(t, "keep_pins: %s", strerror(errno));
	else
		t->ok[OP_EMU_KEEP]++;
}

static void *fuzz_thread_fn(void *arg)
{
	struct fuzz_thread *t = arg;
	unsigned long i;
	unsigned int total = 0, op, w;

	for (op = 0; op < OP_NR; op++)
		total += op_weight[op];
	for (i = 0; i < t->sh->calls_per_thread && !t->error[0]; i++) {
		w = rnd_below(t, total);
		for (op = 0; w >= op_weight[op]; op++)
			w -= op_weight[op];
		if (op >= OP_EMU_PIN && !t->sh->emu)
			op = OP_INFO;
		switch (op) {
		case OP_MAP:
			do_map(t);
			break;
		case OP_UNMAP:
			do_unmap(t);
			break;
		case OP_INFO:
			do_info(t);
			break;
		case OP_NOTIFIER:
			do_notifier(t);
			break;
		case OP_READ:
			do_read(t);
			break;
		case OP_POLL:
			do_poll(t);
			break;
		case OP_CLOSE:
			do_close(t);
			break;
		case OP_BAD_IOCTL:
			do_bad_ioctl(t);
			break;
		case OP_EMU_PIN:
			do_emu_pin(t);
			break;
		case OP_EMU_UNPIN:
			do_emu_unpin(t);
			break;
		case OP_EMU_RW:
			do_emu_rw(t);
			break;
		default:
			do_emu_keep(t);
			break;
		}
	}
	return NULL;
}

FIXTURE(fuzz)
{
	const char *skip;	/* set by the setup: every test skips */
	int container_fd;
	int group_fd;
	int klog_fd;
	int test_fd;
	struct emu emu;
	struct fuzz_shared sh;
	size_t map_len;
	char *map;		/* all the memory of sh */
	long vmlck;
	long long pinned;
	unsigned long refcnt;
};

FIXTURE_SETUP(fuzz)
{
	struct vfio_range_map *ro;
	size_t pg = getpagesize(), buf_len = BUF_PAGES * pg;

	self->container_fd = -1;
	self->group_fd = -1;
	emu_init(&self->emu);
	self->test_fd = -1;
	self->klog_fd = -1;
	/* Its model of alignment is of emulated pins and maps alike. */
	SETUP_SKIP_IF_GRANULE();
	self->klog_fd = klog_open();
	ASSERT_LE(0, vrange_counter("pinned_pages", &self->pinned))
		TH_LOG("%s: %s", VFIO_RANGE_COUNTERS, strerror(errno));
	ASSERT_EQ(0, sysfs_read_ulong(VFIO_RANGE_REFCNT, &self->refcnt));
	self->vmlck = vmlck_kb(0);
	ASSERT_LE(0, self->vmlck);

	__vfio_container_setup(_metadata, first_edu_group(_metadata),
			       VFIO_RANGE_IOMMU, &self->container_fd,
			       &self->group_fd);
	__get_iommu_info(_metadata, self->container_fd, &self->sh.info);
	ASSERT_EQ(pg, self->sh.info.pgsize);

	/* buf | ro | none | hole | ro_arg, one reservation. */
	self->map_len = 3 * buf_len + 2 * pg;
	self->map = test_mmap(self->map_len, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, self->map);
	memset(self->map, 0x5a, self->map_len);
	self->sh.container_fd = self->container_fd;
	self->sh.pg = pg;
	self->sh.top = self->sh.info.top;
	self->sh.buf = self->map;
	self->sh.ro = self->map + buf_len;
	self->sh.none = self->map + 2 * buf_len;
	self->sh.hole = self->map + 3 * buf_len;
	self->sh.ro_arg = self->sh.hole + pg;
	ro = self->sh.ro_arg;
	*ro = (struct vfio_range_map){
		.argsz = sizeof(*ro),
		.flags = RANGE_RW,
		.vaddr = (uintptr_t)self->sh.buf,
		.start = 0x7000000,
		.last = 0x7000000 + pg - 1,
	};
	ASSERT_EQ(0, mprotect(self->sh.ro, buf_len, PROT_READ));
	ASSERT_EQ(0, mprotect(self->sh.none, buf_len, PROT_NONE));
	ASSERT_EQ(0, munmap(self->sh.hole, pg));
	ASSERT_EQ(0, mprotect(self->sh.ro_arg, pg, PROT_READ));

	/* An emulated device joins the container, if it can be had. */
	self->test_fd = open(VFIO_RANGE_TEST_DEV, O_RDWR);
	if (self->test_fd < 0)
		return;
	__emu_add(_metadata, self->test_fd, &self->emu);
	self->emu.group_fd = vfio_group_open(self->emu.group);
	ASSERT_LE(0, self->emu.group_fd);
	ASSERT_EQ(0, ioctl(self->emu.group_fd, VFIO_GROUP_SET_CONTAINER,
			   &self->container_fd));
	__emu_open_device(_metadata, &self->emu);
	self->sh.emu = &self->emu;
}

FIXTURE_TEARDOWN(fuzz)
{
	emu_destroy(&self->emu);	/* its container_fd is -1: ours */
	vfio_close(&self->test_fd);
	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);
	if (self->map)
		munmap(self->map, self->map_len);
	vfio_close(&self->klog_fd);
}

TEST_F_TIMEOUT(fuzz, ioctls, 1800)
{
	struct fuzz_thread *threads;
	unsigned long calls, nthreads, total[OP_NR] = {}, ok[OP_NR] = {};
	unsigned long refcnt, seed, i, op;
	long long t0 = now_ms();
	__u64 unmapped;
	int j;

	SETUP_SKIPPED();
	seed = env_ulong("VFIO_RANGE_FUZZ_SEED", time(NULL) ^ getpid());
	calls = env_ulong("VFIO_RANGE_FUZZ_CALLS", FUZZ_CALLS_DEFAULT);
	nthreads = env_ulong("VFIO_RANGE_FUZZ_THREADS", 4);
	if (!nthreads || nthreads > FUZZ_THREADS_MAX)
		nthreads = 4;
	/* Printed first, so any failure can be replayed. */
	ksft_print_msg("fuzz: VFIO_RANGE_FUZZ_SEED=%lu VFIO_RANGE_FUZZ_CALLS=%lu VFIO_RANGE_FUZZ_THREADS=%lu\n",
		       seed, calls, nthreads);
	fflush(stdout);
	self->sh.calls_per_thread = (calls + nthreads - 1) / nthreads;
	for (i = 0; i < FUZZ_RECENT; i++) {
		self->sh.recent_start[i] = SZ_1M + i * self->sh.pg;
		self->sh.recent_last[i] = SZ_1M + (i + 1) * self->sh.pg - 1;
	}

	threads = calloc(nthreads, sizeof(*threads));
	ASSERT_NE(NULL, threads);
	for (i = 0; i < nthreads; i++) {
		threads[i].sh = &self->sh;
		/* Never 0: xorshift would stay there. */
		threads[i].rng = (seed + 1) * 0x9e3779b97f4a7c15ULL + i * 2 + 1;
		for (j = 0; j < FUZZ_FDS; j++)
			threads[i].fds[j] = -1;
		ASSERT_EQ(0, pthread_create(&threads[i].thread, NULL,
					    fuzz_thread_fn, &threads[i]));
	}
	for (i = 0; i < nthreads; i++)
		ASSERT_EQ(0, pthread_join(threads[i].thread, NULL));

	for (i = 0; i < nthreads; i++) {
		EXPECT_EQ('\0', threads[i].error[0])
			TH_LOG("thread %lu: %s", i, threads[i].error);
		for (op = 0; op < OP_NR; op++) {
			total[op] += threads[i].calls[op];
			ok[op] += threads[i].ok[op];
		}
		for (j = 0; j < FUZZ_FDS; j++)
			if (threads[i].fds[j] >= 0)
				close(threads[i].fds[j]);
	}
	for (op = 0; op < OP_NR; op++)
		ksft_print_msg("fuzz: %-9s %7lu calls, %7lu succeeded\n",
			       op_names[op], total[op], ok[op]);
	for (op = 0, i = 0; op < OP_NR; op++)
		i += total[op];
	ksft_print_msg("fuzz: %lu calls in %lld ms%s\n", i, now_ms() - t0,
		       self->sh.emu ? "" : " (no emulated device)");
	fflush(stdout);
	free(threads);
	ASSERT_TRUE(_metadata->passed);

	/* The container still works, and empties in one call. */
	if (self->sh.emu)
		ASSERT_EQ(0, _emu_keep_pins(self->test_fd, self->emu.id,
					    false));
	ASSERT_EQ(0, _test_range_unmap(self->container_fd, 0, U64_MAX, 0,
				       &unmapped));
	ASSERT_EQ(0L, vrange_nr_mappings(self->container_fd));
	ASSERT_PINNED_PAGES(self->pinned);
	ASSERT_VMLCK(self->vmlck, 0);
	test_range_map(self->sh.buf, SZ_1M, SZ_1M + self->sh.pg - 1);
	ASSERT_PINNED_PAGES(self->pinned + 1);

	/* Closing the container with a mapping in place releases all. */
	emu_destroy(&self->emu);
	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);
	ASSERT_PINNED_PAGES(self->pinned);
	ASSERT_VMLCK(self->vmlck, 0);
	ASSERT_EQ(0, sysfs_read_ulong(VFIO_RANGE_REFCNT, &refcnt));
	ASSERT_EQ(self->refcnt, refcnt);
	if (self->klog_fd >= 0)
		ASSERT_KLOG_CLEAN(self->klog_fd);
}

TEST_HARNESS_MAIN
