// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio_range_bench: compare the vfio-range IOMMU backend with upstream
 * vfio_iommu_type1 (v2) in the same boot, on the same buffers.
 *
 * Each repetition opens a container with type1, runs every workload, closes
 * everything, then does the same with vfio-range. Times are medians over the
 * repetitions; the debugfs counters of vfio-range (module-wide) are read
 * around each measured operation and compared with the least IOMMU work the
 * operation needs:
 *  - iommu_map calls: one per physically contiguous run of the buffer
 *    (from /proc/self/pagemap) per map request;
 *  - IOTLB syncs: one per unmap call;
 *  - notifier events: one per merged IOVA run for an arbitrary client, the
 *    fewest naturally aligned blocks of each run for an aligned client.
 *
 * Run as root in the test guest, with both modules loaded; see README.
 * The table goes to stdout, progress and notes to stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>

#include <linux/vfio.h>
#include <linux/vfio_range.h>

#include "edu.h"

#include "range_user.h"

#define PAGE_SZ		4096ULL
#define MIB		(1024ULL * 1024)
#define HUGE_SZ		(2 * MIB)
/* Far from the MSI window and below the 39-bit guest IOMMU limit. */
#define IOVA_BASE	(4ULL << 30)
#define MAX_REPS	64
/* A BAR map takes microseconds: sample it several times per repetition. */
#define BAR_ITERS	16
#define MAX_SAMPLES	(MAX_REPS * BAR_ITERS)
#define COUNTERS	"/sys/kernel/debug/vfio_iommu_range/counters"

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "vfio_range_bench: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "# ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------------- */
/* Options                                                                */
/* ---------------------------------------------------------------------- */

struct opts {
	unsigned long anon_mib;
	unsigned long huge_mib;
	unsigned long maps;		/* K, workload 3 */
	unsigned long notify_maps;	/* workload 4 */
	unsigned long clients;		/* workload 4, half of each kind */
	unsigned long reps;
	const char *bar_dev;	/* workload 6: ivshmem BDF, "" none */
};

static struct opts opt = {
	.anon_mib = 1024,
	.huge_mib = 1024,
	.maps = 65535,
	.notify_maps = 10000,
	.clients = 64,
	.reps = 5,
};

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [--quick] [--anon-mib N] [--huge-mib N] [--maps K]\n"
		"          [--notify-maps N] [--clients N] [--reps N]\n"
		"          [--bar-dev BDF|none]\n"
		"defaults: --anon-mib 1024 --huge-mib 1024 (0 skips) --maps 65535\n"
		"          --notify-maps 10000 --clients 64 --reps 5\n"
		"          --bar-dev: the first ivshmem-plain device (1af4:1110)\n"
		"--quick:  --anon-mib 16 --huge-mib 8 --maps 512 --notify-maps 200\n"
		"          --clients 8 --reps 2 (options after it still apply)\n",
		prog);
	exit(2);
}

static unsigned long parse_num(const char *s, unsigned long lo,
			       unsigned long hi)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || v < lo || v > hi)
		die("bad number '%s' (want %lu..%lu)", s, lo, hi);
	return v;
}

static void parse_opts(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "anon-mib", required_argument, NULL, 'a' },
		{ "huge-mib", required_argument, NULL, 'H' },
		{ "maps", required_argument, NULL, 'k' },
		{ "notify-maps", required_argument, NULL, 'n' },
		{ "clients", required_argument, NULL, 'c' },
		{ "reps", required_argument, NULL, 'r' },
		{ "bar-dev", required_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case 'q':
			opt.anon_mib = 16;
			opt.huge_mib = 8;
			opt.maps = 512;
			opt.notify_maps = 200;
			opt.clients = 8;
			opt.reps = 2;
			break;
		case 'a':
			opt.anon_mib = parse_num(optarg, 1, 1024);
			break;
		case 'H':
			opt.huge_mib = parse_num(optarg, 0, 1024);
			if (opt.huge_mib & 1)
				die("--huge-mib must be a multiple of 2");
			break;
		case 'k':
			opt.maps = parse_num(optarg, 1, 65535);
			break;
		case 'n':
			opt.notify_maps = parse_num(optarg, 1, 65535);
			break;
		case 'c':
			opt.clients = parse_num(optarg, 2, 256);
			break;
		case 'r':
			opt.reps = parse_num(optarg, 1, MAX_REPS);
			break;
		case 'B':
			opt.bar_dev = strcmp(optarg, "none") ? optarg : "";
			break;
		default:
			usage(argv[0]);
		}
	}
	if (optind != argc)
		usage(argv[0]);
}

/* ---------------------------------------------------------------------- */
/* Counters                                                               */
/* ---------------------------------------------------------------------- */

enum ctr {
	CTR_MAP_CALLS,
	CTR_MAPPED_BYTES,
	CTR_SYNCS,
	CTR_EVENTS,
	CTR_PINNED,
	NR_CTRS,
};

static const char * const ctr_names[NR_CTRS] = {
	[CTR_MAP_CALLS] = "iommu_map_calls",
	[CTR_MAPPED_BYTES] = "iommu_mapped_bytes",
	[CTR_SYNCS] = "iotlb_syncs",
	[CTR_EVENTS] = "notify_events",
	[CTR_PINNED] = "pinned_pages",
};

struct ctrs {
	bool have[NR_CTRS];
	long long v[NR_CTRS];
};

static void ctrs_read(struct ctrs *c)
{
	char line[256], name[128];
	long long val;
	FILE *f;
	int i;

	memset(c, 0, sizeof(*c));
	f = fopen(COUNTERS, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%127s %lld", name, &val) != 2)
			continue;
		for (i = 0; i < NR_CTRS; i++) {
			if (!strcmp(name, ctr_names[i])) {
				c->have[i] = true;
				c->v[i] = val;
			}
		}
	}
	fclose(f);
}

/* after - before, or -1 if the counter is missing. */
static long long ctr_delta(const struct ctrs *before, const struct ctrs *after,
			   enum ctr i)
{
	if (!before->have[i] || !after->have[i])
		return -1;
	return after->v[i] - before->v[i];
}

/* ---------------------------------------------------------------------- */
/* Results                                                                */
/* ---------------------------------------------------------------------- */

enum backend { B_TYPE1, B_RANGE, NR_BACKENDS };

struct row {
	const char *name;
	bool range_only;	/* no type1 column */
	double t[NR_BACKENDS][MAX_SAMPLES];
	unsigned int nt[NR_BACKENDS];
	/* vfio-range counter deltas per sample, -1 if unavailable */
	long long calls[MAX_SAMPLES], syncs[MAX_SAMPLES], events[MAX_SAMPLES];
	unsigned int nc;
	long long min_calls, min_syncs;	/* -1: no minimum stated */
	/* workload 4: events read by the clients and their minimum */
	bool has_events;
	long long read_events[MAX_SAMPLES];
	long long min_events;
	const char *skip;	/* why the workload did not run */
};

enum {
	R_ANON_MAP,
	R_ANON_UNMAP,
	R_HUGE_MAP,
	R_HUGE_UNMAP,
	R_MANY_MAP,
	R_MANY_UNMAP,
	R_NOTIFY_BARE,
	R_NOTIFY_UNMAP,
	R_NOTIFY_READ,
	R_BAR_MAP,
	R_BAR_UNMAP,
	R_HBAR_MAP,
	R_HBAR_UNMAP,
	NR_ROWS,
};

static struct row rows[NR_ROWS];
static char row_names[NR_ROWS][64];

static void add_time(struct row *r, enum backend b, double t)
{
	if (r->nt[b] < MAX_SAMPLES)
		r->t[b][r->nt[b]++] = t;
}

static void add_ctrs(struct row *r, const struct ctrs *before,
		     const struct ctrs *after)
{
	if (r->nc >= MAX_SAMPLES)
		return;
	r->calls[r->nc] = ctr_delta(before, after, CTR_MAP_CALLS);
	r->syncs[r->nc] = ctr_delta(before, after, CTR_SYNCS);
	r->events[r->nc] = ctr_delta(before, after, CTR_EVENTS);
	r->nc++;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* Median; the mean of the middle two for an even count. */
static double median_d(const double *v, unsigned int n)
{
	double s[MAX_SAMPLES];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n & 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* Median (lower middle), or -1 if any value is unavailable. */
static long long median_ll(const long long *v, unsigned int n)
{
	long long s[MAX_SAMPLES];
	unsigned int i;

	if (!n)
		return -1;
	for (i = 0; i < n; i++)
		if (v[i] < 0)
			return -1;
	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_ll);
	return s[(n - 1) / 2];
}

/* ---------------------------------------------------------------------- */
/* Memory                                                                 */
/* ---------------------------------------------------------------------- */

/*
 * Physically contiguous runs of [buf, buf + size) from /proc/self/pagemap,
 * or -1 if a PFN is not visible (not root, page not present).
 */
static long long pfn_runs(const void *buf, size_t size)
{
	uint64_t ent[512], prev = 0;
	size_t pages = size / PAGE_SZ, i = 0, j, n;
	long long runs = 0;
	off_t off;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return -1;
	off = (uintptr_t)buf / PAGE_SZ * sizeof(uint64_t);
	while (i < pages) {
		n = pages - i < 512 ? pages - i : 512;
		if (pread(fd, ent, n * sizeof(*ent), off + i * sizeof(*ent)) !=
		    (ssize_t)(n * sizeof(*ent))) {
			runs = -1;
			break;
		}
		for (j = 0; j < n; j++) {
			uint64_t pfn = ent[j] & ((1ULL << 55) - 1);

			if (!(ent[j] >> 63) || !pfn) {
				close(fd);
				return -1;
			}
			if (!(i + j) || pfn != prev + 1)
				runs++;
			prev = pfn;
		}
		i += n;
	}
	close(fd);
	return runs;
}

static void *alloc_buf(size_t size, bool huge)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE;
	void *p;

	if (huge)
		flags |= MAP_HUGETLB;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* Touch every page: MAP_POPULATE does not fail on a shortage. */
	memset(p, 0x5a, size);
	return p;
}

/* ---------------------------------------------------------------------- */
/* Container sessions                                                     */
/* ---------------------------------------------------------------------- */

struct session {
	enum backend b;
	int container;
	int group;
	struct edu_dev edu;
	bool have_edu;
};

static const char * const backend_names[NR_BACKENDS] = {
	[B_TYPE1] = "type1v2",
	[B_RANGE] = "vfio-range",
};

static void session_open(struct session *s, enum backend b,
			 const struct edu_info *info)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	int type = b == B_TYPE1 ? VFIO_TYPE1v2_IOMMU : VFIO_RANGE_IOMMU;
	int rc;

	s->b = b;
	s->have_edu = false;
	s->container = open("/dev/vfio/vfio", O_RDWR);
	if (s->container < 0)
		die("open /dev/vfio/vfio: %s", strerror(errno));
	if (ioctl(s->container, VFIO_CHECK_EXTENSION, type) != 1)
		die("%s is not available (module loaded?)", backend_names[b]);
	s->group = vfio_group_open(info->group);
	if (s->group < 0)
		die("open group %d: %s", info->group, strerror(errno));
	if (ioctl(s->group, VFIO_GROUP_GET_STATUS, &st))
		die("VFIO_GROUP_GET_STATUS: %s", strerror(errno));
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE))
		die("group %d is not viable", info->group);
	if (ioctl(s->group, VFIO_GROUP_SET_CONTAINER, &s->container))
		die("VFIO_GROUP_SET_CONTAINER: %s", strerror(errno));
	if (ioctl(s->container, VFIO_SET_IOMMU, type))
		die("VFIO_SET_IOMMU(%s): %s", backend_names[b],
		    strerror(errno));
	rc = edu_open(&s->edu, s->group, info->bdf);
	if (rc)
		note("%s: edu %s: %s, BAR workload skipped", backend_names[b],
		     info->bdf, strerror(-rc));
	else
		s->have_edu = true;
}

static void session_close(struct session *s)
{
	if (s->have_edu)
		edu_close(&s->edu);
	close(s->group);
	close(s->container);
}

static void do_map(struct session *s, const void *vaddr, u64 iova, u64 size)
{
	if (s->b == B_TYPE1) {
		struct vfio_iommu_type1_dma_map m = {
			.argsz = sizeof(m),
			.flags = VFIO_DMA_MAP_FLAG_READ |
				 VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)vaddr,
			.iova = iova,
			.size = size,
		};

		if (ioctl(s->container, VFIO_IOMMU_MAP_DMA, &m))
			die("type1 map iova 0x%llx size 0x%llx: %s",
			    (unsigned long long)iova,
			    (unsigned long long)size, strerror(errno));
	} else {
		struct vfio_range_map m = {
			.argsz = sizeof(m),
			.flags = VFIO_RANGE_MAP_READ | VFIO_RANGE_MAP_WRITE,
			.vaddr = (uintptr_t)vaddr,
			.start = iova,
			.last = iova + size - 1,
		};

		if (ioctl(s->container, VFIO_IOMMU_RANGE_MAP, &m))
			die("range map [0x%llx, 0x%llx]: %s",
			    (unsigned long long)m.start,
			    (unsigned long long)m.last, strerror(errno));
	}
}

/*
 * Unmaps [iova, iova + size), or everything with @all, and checks that
 * @expect bytes went away.
 */
static void do_unmap(struct session *s, u64 iova, u64 size, bool all,
		     u64 expect)
{
	u64 got;

	if (s->b == B_TYPE1) {
		struct vfio_iommu_type1_dma_unmap u = {
			.argsz = sizeof(u),
			.flags = all ? VFIO_DMA_UNMAP_FLAG_ALL : 0,
			.iova = all ? 0 : iova,
			.size = all ? 0 : size,
		};

		if (ioctl(s->container, VFIO_IOMMU_UNMAP_DMA, &u))
			die("type1 unmap: %s", strerror(errno));
		got = u.size;
	} else {
		struct vfio_range_unmap u = {
			.argsz = sizeof(u),
			.start = all ? 0 : iova,
			.last = all ? UINT64_MAX : iova + size - 1,
		};

		if (ioctl(s->container, VFIO_IOMMU_RANGE_UNMAP, &u))
			die("range unmap: %s", strerror(errno));
		got = u.unmapped;
	}
	if (got != expect)
		die("%s unmapped 0x%llx bytes, expected 0x%llx",
		    backend_names[s->b], (unsigned long long)got,
		    (unsigned long long)expect);
}

/* ---------------------------------------------------------------------- */
/* Workloads                                                              */
/* ---------------------------------------------------------------------- */

/* Workloads 1, 2 and 5: one buffer mapped and unmapped in one call each. */
static void wl_one(struct session *s, struct row *rmap, struct row *runmap,
		   const void *buf, u64 size)
{
	struct ctrs c0, c1, c2;
	double t0, t1, t2;

	ctrs_read(&c0);
	t0 = now_s();
	do_map(s, buf, IOVA_BASE, size);
	t1 = now_s();
	ctrs_read(&c1);
	t2 = now_s();
	do_unmap(s, IOVA_BASE, size, false, size);
	t2 = now_s() - t2;
	ctrs_read(&c2);
	add_time(rmap, s->b, t1 - t0);
	add_time(runmap, s->b, t2);
	if (s->b == B_RANGE) {
		add_ctrs(rmap, &c0, &c1);
		add_ctrs(runmap, &c1, &c2);
	}
}

/* Workload 3: K separate 4 KiB mappings, then one unmap of everything. */
static void wl_many(struct session *s, const char *buf)
{
	struct ctrs c0, c1, c2;
	double t0, t1, t2;
	unsigned long i;

	ctrs_read(&c0);
	t0 = now_s();
	for (i = 0; i < opt.maps; i++)
		do_map(s, buf + i * PAGE_SZ, IOVA_BASE + i * PAGE_SZ, PAGE_SZ);
	t1 = now_s();
	ctrs_read(&c1);
	t2 = now_s();
	do_unmap(s, 0, 0, true, opt.maps * PAGE_SZ);
	t2 = now_s() - t2;
	ctrs_read(&c2);
	add_time(&rows[R_MANY_MAP], s->b, t1 - t0);
	add_time(&rows[R_MANY_UNMAP], s->b, t2);
	if (s->b == B_RANGE) {
		add_ctrs(&rows[R_MANY_MAP], &c0, &c1);
		add_ctrs(&rows[R_MANY_UNMAP], &c1, &c2);
	}
}

/*
 * Workload 4 layout: opt.notify_maps 4 KiB mappings starting three pages
 * past IOVA_BASE (so runs are not aligned), in runs of 1, 2, ... 7
 * adjacent mappings separated by one-page holes.
 */
struct nrun {
	u64 start, last;
};

static struct nrun *nruns;
static unsigned long nr_nruns;
static u64 *nmap_iova;
static u64 nspan_start, nspan_last;
static long long n_arb_events, n_aligned_events;	/* per client */

static void count_block(u64 start, u64 mask, void *arg)
{
	(void)start;
	(void)mask;
	(void)arg;
}

static void notify_layout(void)
{
	u64 pos = IOVA_BASE + 3 * PAGE_SZ;
	unsigned long i, in_run = 0, run_len = 1;

	nmap_iova = calloc(opt.notify_maps, sizeof(*nmap_iova));
	nruns = calloc(opt.notify_maps, sizeof(*nruns));
	if (!nmap_iova || !nruns)
		die("out of memory");
	for (i = 0; i < opt.notify_maps; i++) {
		if (!in_run) {
			nruns[nr_nruns].start = pos;
			nr_nruns++;
		}
		nmap_iova[i] = pos;
		nruns[nr_nruns - 1].last = pos + PAGE_SZ - 1;
		pos += PAGE_SZ;
		if (++in_run == run_len) {
			in_run = 0;
			run_len = run_len % 7 + 1;
			pos += PAGE_SZ;		/* the hole */
		}
	}
	nspan_start = nmap_iova[0];
	nspan_last = nruns[nr_nruns - 1].last;
	n_arb_events = nr_nruns;
	n_aligned_events = 0;
	for (i = 0; i < nr_nruns; i++)
		n_aligned_events += vrange_split_aligned(nruns[i].start,
							 nruns[i].last,
							 count_block, NULL);
}

static unsigned int n_arb_clients(void)
{
	return opt.clients / 2;
}

static unsigned int n_aligned_clients(void)
{
	return opt.clients - opt.clients / 2;
}

static int add_client(struct session *s, bool aligned, long long expect)
{
	long long qlen = expect * 2 + 16;
	struct vfio_range_notifier n = {
		.argsz = sizeof(n),
		.events = VFIO_RANGE_EVENT_UNMAP,
		.granularity = aligned ? VFIO_RANGE_GRANULARITY_ALIGNED :
					 VFIO_RANGE_GRANULARITY_ARBITRARY,
		.start = 0,
		.last = UINT64_MAX,
		.queue_len = qlen > 65536 ? 65536 : qlen,
	};
	int fd;

	fd = ioctl(s->container, VFIO_IOMMU_RANGE_NOTIFIER, &n);
	if (fd < 0)
		die("VFIO_IOMMU_RANGE_NOTIFIER: %s", strerror(errno));
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK))
		die("fcntl: %s", strerror(errno));
	return fd;
}

/* Reads every queued record of @fd; counts UNMAP records, dies on loss. */
static long long drain(int fd)
{
	static struct vfio_range_event ev[512];
	long long count = 0;
	ssize_t len;
	size_t i;

	for (;;) {
		len = read(fd, ev, sizeof(ev));
		if (len < 0 && errno == EAGAIN)
			return count;
		if (len <= 0)
			die("notifier read: %s", len ? strerror(errno) : "EOF");
		for (i = 0; i < (size_t)len / sizeof(*ev); i++) {
			if (ev[i].type == VFIO_RANGE_EVENT_OVERFLOW)
				die("notifier overflow: %llu events lost",
				    (unsigned long long)ev[i].lost);
			if (ev[i].type == VFIO_RANGE_EVENT_UNMAP)
				count++;
		}
	}
}

/*
 * Workload 4: unmap of a range holding opt.notify_maps mappings, with
 * @nclients notifier clients listening. type1 has no notifier clients, so
 * it only runs the bare unmap, which both backends run for the ratio.
 */
static void wl_notify(struct session *s, const char *buf,
		      unsigned int nclients)
{
	unsigned int i;
	u64 size = nspan_last - nspan_start + 1;
	long long events = 0;
	struct ctrs c0, c1;
	double t0, t1, t2;
	int fds[256];

	for (i = 0; i < nclients; i++) {
		bool aligned = i >= n_arb_clients();

		fds[i] = add_client(s, aligned, aligned ? n_aligned_events :
							  n_arb_events);
	}
	for (i = 0; i < opt.notify_maps; i++)
		do_map(s, buf + i * PAGE_SZ, nmap_iova[i], PAGE_SZ);
	ctrs_read(&c0);
	t0 = now_s();
	do_unmap(s, nspan_start, size, false, opt.notify_maps * PAGE_SZ);
	t1 = now_s();
	for (i = 0; i < nclients; i++)
		events += drain(fds[i]);
	t2 = now_s();
	ctrs_read(&c1);
	for (i = 0; i < nclients; i++)
		close(fds[i]);
	if (!nclients) {
		add_time(&rows[R_NOTIFY_BARE], s->b, t1 - t0);
		if (s->b == B_RANGE)
			add_ctrs(&rows[R_NOTIFY_BARE], &c0, &c1);
	} else {
		struct row *r = &rows[R_NOTIFY_READ];

		add_time(&rows[R_NOTIFY_UNMAP], s->b, t1 - t0);
		add_time(r, s->b, t2 - t0);
		add_ctrs(&rows[R_NOTIFY_UNMAP], &c0, &c1);
		add_ctrs(r, &c0, &c1);
		if (r->nc <= MAX_SAMPLES)
			r->read_events[r->nc - 1] = events;
	}
}

/*
 * Workload 6: a large BAR, ivshmem-plain's BAR2 (run.sh --ivshmem 1G), in a
 * container of its own per backend, mmapped at an address aligned to its
 * size (up to 1 GiB) so that vfio-pci can map it with PUD or PMD entries
 * (6.12), prefaulted, then mapped and unmapped once per repetition.
 */
#define IVSHMEM_VENDOR	0x1af4
#define IVSHMEM_DEVICE	0x1110
#define GIB		(1024 * MIB)

struct hbar {
	struct edu_info info;
	int container;
	int group;
	struct edu_dev dev;
	char *resv;		/* PROT_NONE reservation around the BAR */
	size_t resv_size;
	char *bar;
	u64 size;
};

static struct hbar hbar;

/* Finds the device of --bar-dev (or the first ivshmem); NULL or why not. */
static const char *hbar_find(void)
{
	struct edu_info all[EDU_MAX];
	int n, i;

	if (opt.bar_dev && !*opt.bar_dev)
		return "--bar-dev none";
	n = pci_find(IVSHMEM_VENDOR, IVSHMEM_DEVICE, all, EDU_MAX);
	for (i = 0; i < n; i++) {
		if (!opt.bar_dev || !strcmp(opt.bar_dev, all[i].bdf)) {
			hbar.info = all[i];
			return NULL;
		}
	}
	return opt.bar_dev ? "--bar-dev is no ivshmem-plain device in a group" :
	       "no ivshmem-plain device (run.sh --ivshmem 1G)";
}

static void hbar_open(enum backend b)
{
	int type = b == B_TYPE1 ? VFIO_TYPE1v2_IOMMU : VFIO_RANGE_IOMMU;
	struct vfio_region_info reg;
	u64 align, off;
	int rc;

	hbar.container = open("/dev/vfio/vfio", O_RDWR);
	if (hbar.container < 0)
		die("open /dev/vfio/vfio: %s", strerror(errno));
	hbar.group = vfio_group_open(hbar.info.group);
	if (hbar.group < 0 ||
	    ioctl(hbar.group, VFIO_GROUP_SET_CONTAINER, &hbar.container) ||
	    ioctl(hbar.container, VFIO_SET_IOMMU, type))
		die("%s: container with group %d: %s", backend_names[b],
		    hbar.info.group, strerror(errno));
	edu_init(&hbar.dev);
	rc = edu_open_fd(&hbar.dev, hbar.group, hbar.info.bdf);
	if (!rc)
		rc = edu_region_info(&hbar.dev, VFIO_PCI_BAR2_REGION_INDEX,
				     &reg);
	if (!rc)
		rc = edu_enable_master(&hbar.dev);
	if (rc)
		die("ivshmem %s: %s", hbar.info.bdf, strerror(-rc));
	hbar.size = reg.size;
	align = reg.size & -reg.size;
	if (align > GIB)
		align = GIB;
	hbar.resv_size = reg.size + align;
	hbar.resv = mmap(NULL, hbar.resv_size, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (hbar.resv == MAP_FAILED)
		die("mmap %zu bytes: %s", hbar.resv_size, strerror(errno));
	off = (align - ((uintptr_t)hbar.resv & (align - 1))) & (align - 1);
	hbar.bar = mmap(hbar.resv + off, reg.size, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_FIXED, hbar.dev.fd, reg.offset);
	if (hbar.bar == MAP_FAILED)
		die("mmap BAR2 of %s: %s", hbar.info.bdf, strerror(errno));
	/* Prefault: a touch per 2 MiB (a PUD fault maps 1 GiB at once). */
	for (off = 0; off < reg.size; off += HUGE_SZ)
		(void)*(volatile char *)(hbar.bar + off);
}

static void hbar_close(void)
{
	munmap(hbar.resv, hbar.resv_size);
	edu_close(&hbar.dev);
	close(hbar.group);
	close(hbar.container);
}

static void wl_hugebar(enum backend b)
{
	struct session s = { .b = b };

	hbar_open(b);
	s.container = hbar.container;
	wl_one(&s, &rows[R_HBAR_MAP], &rows[R_HBAR_UNMAP], hbar.bar,
	       hbar.size);
	hbar_close();
}

/* Its rows: named after the BAR's size; one contiguous range. */
static void hbar_init_rows(void)
{
	const char *skip = hbar_find();
	u64 mib = 0;

	if (!skip) {
		hbar_open(B_TYPE1);
		mib = hbar.size / MIB;
		hbar_close();
	}
	snprintf(row_names[R_HBAR_MAP], 64, "6 ivshmem BAR2 %llu MiB: map",
		 (unsigned long long)mib);
	snprintf(row_names[R_HBAR_UNMAP], 64, "6 ivshmem BAR2 %llu MiB: unmap",
		 (unsigned long long)mib);
	rows[R_HBAR_MAP].min_calls = 1;
	rows[R_HBAR_UNMAP].min_calls = 0;
	rows[R_HBAR_UNMAP].min_syncs = 1;
	rows[R_HBAR_MAP].skip = rows[R_HBAR_UNMAP].skip = skip;
}

/* ---------------------------------------------------------------------- */
/* Table                                                                  */
/* ---------------------------------------------------------------------- */

static void fmt_vs(char *out, size_t len, long long val, long long minimum)
{
	char v[24], m[24];

	if (val < 0)
		snprintf(v, sizeof(v), "n/a");
	else
		snprintf(v, sizeof(v), "%lld", val);
	if (minimum < 0)
		snprintf(m, sizeof(m), "-");
	else
		snprintf(m, sizeof(m), "%lld", minimum);
	snprintf(out, len, "%s / %s", v, m);
}

static void fmt_ms(char *out, size_t len, const struct row *r, enum backend b)
{
	if (!r->nt[b])
		snprintf(out, len, "-");
	else
		snprintf(out, len, "%.3f", median_d(r->t[b], r->nt[b]) * 1e3);
}

static void print_table(FILE *f)
{
	char t1[32], tr[32], ratio[32], calls[64], syncs[64], events[64];
	unsigned int i;

	fprintf(f, "%-36s | %10s | %10s | %7s | %-17s | %-13s | %s\n",
		"workload", "type1 ms", "range ms", "ratio",
		"map calls / min", "syncs / min", "events read / min");
	for (i = 0; i < 130; i++)
		fputc('-', f);
	fputc('\n', f);
	for (i = 0; i < NR_ROWS; i++) {
		const struct row *r = &rows[i];

		if (r->skip) {
			fprintf(f, "%-36s | skipped: %s\n", r->name, r->skip);
			continue;
		}
		fmt_ms(t1, sizeof(t1), r, B_TYPE1);
		fmt_ms(tr, sizeof(tr), r, B_RANGE);
		if (r->nt[B_TYPE1] && r->nt[B_RANGE] && !r->range_only)
			snprintf(ratio, sizeof(ratio), "%.2f",
				 median_d(r->t[B_RANGE], r->nt[B_RANGE]) /
				 median_d(r->t[B_TYPE1], r->nt[B_TYPE1]));
		else
			snprintf(ratio, sizeof(ratio), "-");
		fmt_vs(calls, sizeof(calls), median_ll(r->calls, r->nc),
		       r->min_calls);
		fmt_vs(syncs, sizeof(syncs), median_ll(r->syncs, r->nc),
		       r->min_syncs);
		if (r->has_events)
			fmt_vs(events, sizeof(events),
			       median_ll(r->read_events, r->nc), r->min_events);
		else
			snprintf(events, sizeof(events), "-");
		fprintf(f, "%-36s | %10s | %10s | %7s | %-17s | %-13s | %s\n",
			r->name, t1, tr, ratio, calls, syncs, events);
	}
}

/* ---------------------------------------------------------------------- */

static void init_rows(long long anon_runs, long long huge_runs, u64 bar_size)
{
	unsigned int i;

	for (i = 0; i < NR_ROWS; i++) {
		rows[i].name = row_names[i];
		rows[i].min_calls = -1;
		rows[i].min_syncs = -1;
		rows[i].min_events = -1;
	}
	snprintf(row_names[R_ANON_MAP], 64, "1 anon 4K %lu MiB: map",
		 opt.anon_mib);
	snprintf(row_names[R_ANON_UNMAP], 64, "1 anon 4K %lu MiB: unmap",
		 opt.anon_mib);
	snprintf(row_names[R_HUGE_MAP], 64, "2 hugetlb 2M %lu MiB: map",
		 opt.huge_mib);
	snprintf(row_names[R_HUGE_UNMAP], 64, "2 hugetlb 2M %lu MiB: unmap",
		 opt.huge_mib);
	snprintf(row_names[R_MANY_MAP], 64, "3 %lu x 4K maps", opt.maps);
	snprintf(row_names[R_MANY_UNMAP], 64, "3 %lu x 4K: unmap all",
		 opt.maps);
	snprintf(row_names[R_NOTIFY_BARE], 64, "4 unmap %lu maps, no clients",
		 opt.notify_maps);
	snprintf(row_names[R_NOTIFY_UNMAP], 64, "4 ... with %lu clients",
		 opt.clients);
	snprintf(row_names[R_NOTIFY_READ], 64, "4 ... + read all events");
	snprintf(row_names[R_BAR_MAP], 64, "5 edu BAR0 %llu KiB: map",
		 (unsigned long long)bar_size / 1024);
	snprintf(row_names[R_BAR_UNMAP], 64, "5 edu BAR0 %llu KiB: unmap",
		 (unsigned long long)bar_size / 1024);

	rows[R_ANON_MAP].min_calls = anon_runs;
	rows[R_ANON_UNMAP].min_calls = 0;
	rows[R_ANON_UNMAP].min_syncs = 1;
	rows[R_HUGE_MAP].min_calls = huge_runs;
	rows[R_HUGE_UNMAP].min_calls = 0;
	rows[R_HUGE_UNMAP].min_syncs = 1;
	/* Separate requests: at least one call each. */
	rows[R_MANY_MAP].min_calls = opt.maps;
	rows[R_MANY_UNMAP].min_calls = 0;
	rows[R_MANY_UNMAP].min_syncs = 1;
	rows[R_NOTIFY_BARE].min_calls = 0;
	rows[R_NOTIFY_BARE].min_syncs = 1;
	rows[R_NOTIFY_UNMAP].range_only = true;
	rows[R_NOTIFY_UNMAP].min_calls = 0;
	rows[R_NOTIFY_UNMAP].min_syncs = 1;
	rows[R_NOTIFY_READ].range_only = true;
	rows[R_NOTIFY_READ].min_calls = 0;
	rows[R_NOTIFY_READ].min_syncs = 1;
	rows[R_NOTIFY_READ].has_events = true;
	rows[R_NOTIFY_READ].min_events =
		n_arb_clients() * n_arb_events +
		n_aligned_clients() * n_aligned_events;
	/* A BAR is one physically contiguous range. */
	rows[R_BAR_MAP].min_calls = 1;
	rows[R_BAR_UNMAP].min_calls = 0;
	rows[R_BAR_UNMAP].min_syncs = 1;
}

int main(int argc, char **argv)
{
	struct edu_info info[EDU_MAX];
	u64 anon_size, huge_size, bar_size = 0;
	long long anon_runs, huge_runs = -1;
	char *anon, *huge = NULL;
	struct session s;
	struct utsname uts;
	struct ctrs c;
	unsigned int rep, b, i;
	size_t need;

	parse_opts(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (edu_find(info, EDU_MAX) < 1)
		die("no edu device with an IOMMU group");

	anon_size = opt.anon_mib * MIB;
	huge_size = opt.huge_mib * MIB;
	need = anon_size;
	if (need < opt.maps * PAGE_SZ)
		need = opt.maps * PAGE_SZ;
	if (need < opt.notify_maps * PAGE_SZ)
		need = opt.notify_maps * PAGE_SZ;
	anon = alloc_buf(need, false);
	if (!anon)
		die("mmap %zu bytes: %s", need, strerror(errno));
	anon_runs = pfn_runs(anon, anon_size);
	if (huge_size) {
		huge = alloc_buf(huge_size, true);
		if (huge)
			huge_runs = pfn_runs(huge, huge_size);
	}
	notify_layout();

	/* The BAR size, for the row names. */
	session_open(&s, B_TYPE1, &info[0]);
	if (s.have_edu)
		bar_size = s.edu.bar0_size;
	session_close(&s);

	init_rows(anon_runs, huge_runs, bar_size);
	if (!huge_size)
		rows[R_HUGE_MAP].skip = rows[R_HUGE_UNMAP].skip =
			"--huge-mib 0";
	else if (!huge)
		rows[R_HUGE_MAP].skip = rows[R_HUGE_UNMAP].skip =
			"no hugepages (boot with hugepages=N)";
	if (!bar_size)
		rows[R_BAR_MAP].skip = rows[R_BAR_UNMAP].skip =
			"edu BAR0 not mappable";
	hbar_init_rows();

	ctrs_read(&c);
	for (i = 0; i < NR_CTRS && !c.have[i]; i++)
		;
	if (i == NR_CTRS)
		note("no counters at %s: counter columns are n/a", COUNTERS);

	for (rep = 0; rep < opt.reps; rep++) {
		for (b = 0; b < NR_BACKENDS; b++) {
			fprintf(stderr, "# rep %u/%lu: %s\n", rep + 1,
				opt.reps, backend_names[b]);
			session_open(&s, b, &info[0]);
			wl_one(&s, &rows[R_ANON_MAP], &rows[R_ANON_UNMAP],
			       anon, anon_size);
			if (huge)
				wl_one(&s, &rows[R_HUGE_MAP],
				       &rows[R_HUGE_UNMAP], huge, huge_size);
			wl_many(&s, anon);
			wl_notify(&s, anon, 0);
			if (b == B_RANGE)
				wl_notify(&s, anon, opt.clients);
			for (i = 0; s.have_edu && bar_size && i < BAR_ITERS;
			     i++)
				wl_one(&s, &rows[R_BAR_MAP],
				       &rows[R_BAR_UNMAP], s.edu.bar0,
				       bar_size);
			session_close(&s);
			if (!rows[R_HBAR_MAP].skip)
				wl_hugebar(b);
		}
	}

	uname(&uts);
	printf("vfio_range_bench: kernel %s, edu %s (group %d), %lu reps, "
	       "medians\n", uts.release, info[0].bdf, info[0].group,
	       opt.reps);
	printf("buffers: anon %lu MiB in %lld physically contiguous runs, "
	       "hugetlb %lu MiB in %lld runs; workload 4: %lu maps in %lu "
	       "IOVA runs, %u arbitrary + %u aligned clients, %lld + %lld "
	       "events per client at least\n",
	       opt.anon_mib, anon_runs, opt.huge_mib,
	       huge_runs, opt.notify_maps, nr_nruns, n_arb_clients(),
	       n_aligned_clients(), n_arb_events, n_aligned_events);
	printf("counters (vfio-range only, %s): measured / minimum; "
	       "ratio = range / type1 time\n\n",
	       i == NR_CTRS ? "n/a: debugfs file absent" : COUNTERS);
	print_table(stdout);
	printf("\nworkload 4: type1 has no notifier clients; the rows with "
	       "clients are vfio-range only.\n");
	{
		long long ev = median_ll(rows[R_NOTIFY_READ].events,
					 rows[R_NOTIFY_READ].nc);

		if (ev >= 0)
			printf("workload 4: notify_events counter delta %lld\n",
			       ev);
	}
	free(nmap_iova);
	free(nruns);
	return 0;
}
