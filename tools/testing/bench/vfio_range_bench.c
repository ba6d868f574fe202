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
 * Kernel memory is the growth of Slab + VmallocUsed + PageTables in
 * /proc/meminfo across a map (IOMMU page tables, SecPageTables, apart:
 * both backends build the same ones), after dropping caches.
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
#define GIB		(1024 * MIB)
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT	26
#endif
#define MAP_HUGE_2M	(21 << MAP_HUGE_SHIFT)
#define MAP_HUGE_1G	(30 << MAP_HUGE_SHIFT)
/* Mapping counts of the cost curves (workload 3). */
#define MAX_CURVE	4
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
	unsigned long thp_mib;
	unsigned long gig_pages;	/* 1 GiB hugetlb pages mapped */
	unsigned long maps[MAX_CURVE];	/* workload 3 cost curve */
	unsigned int nr_maps;
	unsigned long notify_maps;	/* workload 4 */
	unsigned long clients;		/* workload 4, half of each kind */
	unsigned long reps;
	const char *bar_dev;	/* workload 6: ivshmem BDF, "" none */
};

static struct opts opt = {
	.anon_mib = 1024,
	.huge_mib = 1024,
	.thp_mib = 1024,
	.gig_pages = 1,
	.maps = { 1000, 10000, 65535 },
	.nr_maps = 3,
	.notify_maps = 10000,
	.clients = 64,
	.reps = 5,
};

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [--quick] [--anon-mib N] [--thp-mib N] [--huge-mib N]\n"
		"          [--gig-pages N] [--maps K[,K...]] [--notify-maps N]\n"
		"          [--clients N] [--reps N] [--bar-dev BDF|none]\n"
		"defaults: --anon-mib 1024 --thp-mib 1024 --huge-mib 1024\n"
		"          --gig-pages 1 (0 skips these three) --maps 1000,10000,65535\n"
		"          --notify-maps 10000 --clients 64 --reps 5\n"
		"          --bar-dev: the first ivshmem-plain device (1af4:1110)\n"
		"--quick:  --anon-mib 16 --thp-mib 8 --huge-mib 8 --gig-pages 0\n"
		"          --maps 64,512 --notify-maps 200 --clients 8 --reps 2\n"
		"          (options after it still apply)\n",
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

/* "K[,K...]": at most MAX_CURVE counts, increasing. */
static void parse_maps(char *s)
{
	char *tok, *save = NULL;

	opt.nr_maps = 0;
	for (tok = strtok_r(s, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (opt.nr_maps == MAX_CURVE)
			die("--maps: at most %d counts", MAX_CURVE);
		opt.maps[opt.nr_maps] = parse_num(tok, 1, 65535);
		if (opt.nr_maps && opt.maps[opt.nr_maps] <=
				   opt.maps[opt.nr_maps - 1])
			die("--maps: counts must increase");
		opt.nr_maps++;
	}
	if (!opt.nr_maps)
		die("--maps: no count");
}

static unsigned long max_maps(void)
{
	return opt.maps[opt.nr_maps - 1];
}

static void parse_opts(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "anon-mib", required_argument, NULL, 'a' },
		{ "huge-mib", required_argument, NULL, 'H' },
		{ "thp-mib", required_argument, NULL, 't' },
		{ "gig-pages", required_argument, NULL, 'g' },
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
			opt.thp_mib = 8;
			opt.gig_pages = 0;
			opt.maps[0] = 64;
			opt.maps[1] = 512;
			opt.nr_maps = 2;
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
		case 't':
			opt.thp_mib = parse_num(optarg, 0, 1024);
			if (opt.thp_mib & 1)
				die("--thp-mib must be a multiple of 2");
			break;
		case 'g':
			opt.gig_pages = parse_num(optarg, 0, 4);
			break;
		case 'k':
			parse_maps(optarg);
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
	/* Times shown in microseconds per operation, if set. */
	unsigned long per_op;
	/*
	 * Kernel memory grown by the operation, per GiB (KiB) or per mapping
	 * (bytes) as mem_unit says; NULL: not measured. iopt: the same for
	 * SecPageTables (IOMMU page tables from 6.11 on), if present.
	 */
	const char *mem_unit;
	double mem_per;		/* GiB or mappings the delta is divided by */
	double mem[NR_BACKENDS][MAX_SAMPLES];
	double iopt[NR_BACKENDS][MAX_SAMPLES];
	unsigned int nm[NR_BACKENDS];
	bool have_iopt;
	/*
	 * Where wl_one() maps (0: IOVA_BASE): apart for each buffer, so
	 * that the IOMMU page tables one workload leaves behind are not
	 * freed or reused in another's measurement.
	 */
	u64 iova;
};

enum {
	R_IDLE,
	R_ANON_MAP,
	R_ANON_UNMAP,
	R_THP_MAP,
	R_THP_UNMAP,
	R_HUGE_MAP,
	R_HUGE_UNMAP,
	R_GIG_MAP,
	R_GIG_UNMAP,
	/* workload 3: map, unmap each, unmap all, per count of opt.maps */
	R_CURVE,
	R_CURVE_END = R_CURVE + 3 * MAX_CURVE - 1,
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

/*
 * Of the 2 MiB blocks of [buf, buf + size) (buf 2 MiB aligned), how many
 * are one physically contiguous, 2 MiB aligned run: a huge page, THP or
 * hugetlb. -1 if the PFNs are not visible.
 */
static long long huge_blocks(const void *buf, size_t size)
{
	uint64_t ent[HUGE_SZ / PAGE_SZ];
	size_t nr = HUGE_SZ / PAGE_SZ, blk, j;
	long long huge = 0;
	off_t off;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return -1;
	off = (uintptr_t)buf / PAGE_SZ * sizeof(uint64_t);
	for (blk = 0; blk < size / HUGE_SZ; blk++) {
		uint64_t pfn0;

		if (pread(fd, ent, sizeof(ent), off + blk * sizeof(ent)) !=
		    (ssize_t)sizeof(ent)) {
			close(fd);
			return -1;
		}
		pfn0 = ent[0] & ((1ULL << 55) - 1);
		if (!pfn0) {
			close(fd);
			return -1;
		}
		if (pfn0 % nr)
			continue;
		for (j = 1; j < nr; j++)
			if ((ent[j] & ((1ULL << 55) - 1)) != pfn0 + j)
				break;
		huge += j == nr;
	}
	close(fd);
	return huge;
}

/* Populated anonymous memory; @hflags: 0 or MAP_HUGETLB | MAP_HUGE_*. */
static void *alloc_buf(size_t size, int hflags)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | hflags;
	void *p;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* Not collapsed into THPs behind the benchmark's back. */
	if (!hflags)
		madvise(p, size, MADV_NOHUGEPAGE);
	/* Touch every page: MAP_POPULATE does not fail on a shortage. */
	memset(p, 0x5a, size);
	return p;
}

/*
 * 4 KiB pages that are not physically contiguous: populate twice @size,
 * free every other page and populate the buffer into the holes, which the
 * page allocator hands out first (order 0, their buddies still in use).
 * The other half stays allocated so the holes cannot merge.
 */
static void *alloc_fragmented(size_t size)
{
	size_t i, fsize = 2 * size;
	char *frag;

	frag = alloc_buf(fsize, 0);
	if (!frag)
		return NULL;
	for (i = 0; i < fsize; i += 2 * PAGE_SZ)
		if (madvise(frag + i, PAGE_SZ, MADV_DONTNEED))
			die("madvise(MADV_DONTNEED): %s", strerror(errno));
	return alloc_buf(size, 0);
}

/* Populated THP-backed memory, 2 MiB aligned. */
static void *alloc_thp(size_t size)
{
	char *p;
	uintptr_t a;

	p = mmap(NULL, size + HUGE_SZ, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = ((uintptr_t)p + HUGE_SZ - 1) & ~(HUGE_SZ - 1);
	if (madvise((void *)a, size, MADV_HUGEPAGE))
		die("madvise(MADV_HUGEPAGE): %s", strerror(errno));
	memset((void *)a, 0x5a, size);
	return (void *)a;
}

/* /proc/meminfo fields counted as the backends' kernel memory. */
enum mi { MI_SLAB, MI_VMALLOC, MI_PAGETABLES, MI_SECPAGETABLES, NR_MI };

static const char * const mi_names[NR_MI] = {
	[MI_SLAB] = "Slab:",
	[MI_VMALLOC] = "VmallocUsed:",
	[MI_PAGETABLES] = "PageTables:",
	[MI_SECPAGETABLES] = "SecPageTables:",
};

struct meminfo {
	bool have[NR_MI];
	long long kib[NR_MI];
};

/* Kept open: a seq_file keeps its buffer, so reading allocates nothing. */
static int meminfo_fd = -1;
static int stat_refresh_fd = -2;

static void meminfo_read(struct meminfo *m)
{
	char buf[8192], *line, *save = NULL;
	char name[64];
	long long v;
	ssize_t len;
	int i;

	memset(m, 0, sizeof(*m));
	/*
	 * /proc/meminfo shows the global counters only: each CPU holds back
	 * changes below a threshold (tens of pages) until vmstat folds them
	 * in, once a second. stat_refresh folds them now.
	 */
	if (stat_refresh_fd == -2) {
		stat_refresh_fd = open("/proc/sys/vm/stat_refresh", O_WRONLY);
		if (stat_refresh_fd < 0)
			note("no /proc/sys/vm/stat_refresh: memory is off by up to a per-CPU threshold");
	}
	if (stat_refresh_fd >= 0 && write(stat_refresh_fd, "1", 1) < 0 &&
	    errno != EINVAL)
		die("stat_refresh: %s", strerror(errno));
	if (meminfo_fd < 0)
		meminfo_fd = open("/proc/meminfo", O_RDONLY);
	len = meminfo_fd < 0 ? -1 :
	      pread(meminfo_fd, buf, sizeof(buf) - 1, 0);
	if (len <= 0)
		die("/proc/meminfo: %s", strerror(errno));
	buf[len] = 0;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%63s %lld", name, &v) != 2)
			continue;
		for (i = 0; i < NR_MI; i++) {
			if (!strcmp(name, mi_names[i])) {
				m->have[i] = true;
				m->kib[i] = v;
			}
		}
	}
}

static long long mem_sum(const struct meminfo *m)
{
	long long d = 0;
	int i;

	for (i = MI_SLAB; i <= MI_PAGETABLES; i++)
		d += m->kib[i];
	return d;
}

/*
 * Before a measured map: write back and drop the page cache and the
 * reclaimable slab caches, then wait (up to 2 s) until the counted memory
 * holds still for 100 ms, as objects freed after an RCU grace period
 * return their slabs late. What the kernel frees or grows on its own is
 * then small against the map's own allocations.
 */
static void mem_settle(void)
{
	struct meminfo m;
	long long prev = -1;
	int fd, i;

	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "3\n", 2) != 2)
			note("drop_caches: %s", strerror(errno));
		close(fd);
	}
	for (i = 0; i < 20; i++) {
		meminfo_read(&m);
		if (mem_sum(&m) == prev)
			return;
		prev = mem_sum(&m);
		usleep(100000);
	}
}

static void add_mem(struct row *r, enum backend b, const struct meminfo *m0,
		    const struct meminfo *m1)
{
	if (r->nm[b] >= MAX_SAMPLES)
		return;
	r->mem[b][r->nm[b]] = (mem_sum(m1) - mem_sum(m0)) / r->mem_per;
	r->have_iopt = m0->have[MI_SECPAGETABLES];
	r->iopt[b][r->nm[b]] = (m1->kib[MI_SECPAGETABLES] -
				m0->kib[MI_SECPAGETABLES]) / r->mem_per;
	r->nm[b]++;
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

/*
 * Workloads 1, 2 and 5: one buffer mapped and unmapped in one call each;
 * the kernel memory the map grows too if @rmap has a mem_unit.
 */
static void wl_one(struct session *s, struct row *rmap, struct row *runmap,
		   const void *buf, u64 size)
{
	u64 iova = rmap->iova ? rmap->iova : IOVA_BASE;
	struct meminfo m0, m1;
	struct ctrs c0, c1, c2;
	double t0, t1, t2;

	if (rmap->mem_unit) {
		mem_settle();
		meminfo_read(&m0);
	}
	ctrs_read(&c0);
	t0 = now_s();
	do_map(s, buf, iova, size);
	t1 = now_s();
	ctrs_read(&c1);
	if (rmap->mem_unit) {
		meminfo_read(&m1);
		add_mem(rmap, s->b, &m0, &m1);
	}
	t2 = now_s();
	do_unmap(s, iova, size, false, size);
	t2 = now_s() - t2;
	ctrs_read(&c2);
	add_time(rmap, s->b, t1 - t0);
	add_time(runmap, s->b, t2);
	if (s->b == B_RANGE) {
		add_ctrs(rmap, &c0, &c1);
		add_ctrs(runmap, &c1, &c2);
	}
}

/*
 * What the kernel grows by with nothing mapped, over about as long as a
 * large map takes: the noise of the memory column.
 */
static void wl_idle(struct session *s)
{
	struct meminfo m0, m1;

	mem_settle();
	meminfo_read(&m0);
	usleep(500000);
	meminfo_read(&m1);
	add_mem(&rows[R_IDLE], s->b, &m0, &m1);
}

/*
 * Workload 3, cost curve point @k: opt.maps[k] separate 4 KiB maps at
 * adjacent IOVAs, each unmapped on its own; then mapped again and all
 * unmapped in one call. Times are per mapping; the map also measures the
 * kernel memory per mapping.
 */
static void wl_curve(struct session *s, const char *buf, unsigned int k)
{
	struct row *rmap = &rows[R_CURVE + 3 * k], *reach = rmap + 1,
		   *rall = rmap + 2;
	unsigned long i, n = opt.maps[k];
	struct ctrs c0, c1, c2;
	struct meminfo m0, m1;
	double t0, t1, t2;

	mem_settle();
	meminfo_read(&m0);
	ctrs_read(&c0);
	t0 = now_s();
	for (i = 0; i < n; i++)
		do_map(s, buf + i * PAGE_SZ, IOVA_BASE + i * PAGE_SZ, PAGE_SZ);
	t1 = now_s();
	ctrs_read(&c1);
	meminfo_read(&m1);
	for (i = 0; i < n; i++)
		do_unmap(s, IOVA_BASE + i * PAGE_SZ, PAGE_SZ, false, PAGE_SZ);
	t2 = now_s();
	ctrs_read(&c2);
	add_time(rmap, s->b, t1 - t0);
	add_time(reach, s->b, t2 - t1);
	add_mem(rmap, s->b, &m0, &m1);
	if (s->b == B_RANGE) {
		add_ctrs(rmap, &c0, &c1);
		add_ctrs(reach, &c1, &c2);
	}

	for (i = 0; i < n; i++)
		do_map(s, buf + i * PAGE_SZ, IOVA_BASE + i * PAGE_SZ, PAGE_SZ);
	ctrs_read(&c0);
	t0 = now_s();
	do_unmap(s, 0, 0, true, n * PAGE_SZ);
	t1 = now_s();
	ctrs_read(&c1);
	add_time(rall, s->b, t1 - t0);
	if (s->b == B_RANGE)
		add_ctrs(rall, &c0, &c1);
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
	/*
	 * With transparent hugepages in madvise mode (run-bench.sh), 6.12
	 * calls vfio-pci's huge_fault only for a VMA with VM_HUGEPAGE; 6.1
	 * has none and maps 4 KiB PTEs whatever the advice.
	 */
	if (madvise(hbar.bar, reg.size, MADV_HUGEPAGE))
		fprintf(stderr, "madvise(MADV_HUGEPAGE) on BAR2: %s\n",
			strerror(errno));
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

/* Milliseconds, or microseconds per operation for a per_op row. */
static void fmt_ms(char *out, size_t len, const struct row *r, enum backend b)
{
	double t;

	if (!r->nt[b]) {
		snprintf(out, len, "-");
		return;
	}
	t = median_d(r->t[b], r->nt[b]);
	if (r->per_op)
		snprintf(out, len, "%.2f us", t * 1e6 / r->per_op);
	else
		snprintf(out, len, "%.3f", t * 1e3);
}

/* "type1 / range unit" of the medians of @v (mem or iopt). */
static void fmt_mem(char *out, size_t len, const struct row *r,
		    const double (*v)[MAX_SAMPLES], bool show)
{
	char b[NR_BACKENDS][24];
	unsigned int i;

	if (!r->mem_unit || !show) {
		snprintf(out, len, "-");
		return;
	}
	for (i = 0; i < NR_BACKENDS; i++) {
		if (r->nm[i])
			snprintf(b[i], sizeof(b[i]), "%.0f",
				 median_d(v[i], r->nm[i]));
		else
			snprintf(b[i], sizeof(b[i]), "-");
	}
	snprintf(out, len, "%s / %s %s", b[B_TYPE1], b[B_RANGE], r->mem_unit);
}

#define ROW_FMT	"%-36s | %10s | %10s | %5s | %-22s | %-20s | %-17s | " \
		"%-13s | %s\n"

static void print_table(FILE *f)
{
	char t1[32], tr[32], ratio[32], calls[64], syncs[64], events[64];
	char mem[64], iopt[64];
	unsigned int i;

	fprintf(f, ROW_FMT, "workload", "type1 ms", "range ms", "ratio",
		"kmem type1 / range", "iommu pt type1 / rng",
		"map calls / min", "syncs / min", "events read / min");
	for (i = 0; i < 170; i++)
		fputc('-', f);
	fputc('\n', f);
	for (i = 0; i < NR_ROWS; i++) {
		const struct row *r = &rows[i];

		if (!r->name[0])
			continue;
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
		if (!r->nc && !r->nt[B_TYPE1] && !r->nt[B_RANGE]) {
			snprintf(calls, sizeof(calls), "-");
			snprintf(syncs, sizeof(syncs), "-");
		}
		if (r->has_events)
			fmt_vs(events, sizeof(events),
			       median_ll(r->read_events, r->nc), r->min_events);
		else
			snprintf(events, sizeof(events), "-");
		fmt_mem(mem, sizeof(mem), r, r->mem, true);
		fmt_mem(iopt, sizeof(iopt), r, r->iopt, r->have_iopt);
		fprintf(f, ROW_FMT, r->name, t1, tr, ratio, mem, iopt, calls,
			syncs, events);
	}
}

/* Prints vfio-range's median of @v (mem or time) for @r against @limit. */
static void print_target(FILE *f, const struct row *r, bool time,
			 double limit, const char *unit)
{
	double v;

	if (r->skip || (time ? !r->nt[B_RANGE] || !r->nt[B_TYPE1] :
			       !r->nm[B_RANGE])) {
		fprintf(f, "  %-36s not measured\n", r->name);
		return;
	}
	if (time)
		v = median_d(r->t[B_RANGE], r->nt[B_RANGE]) /
		    median_d(r->t[B_TYPE1], r->nt[B_TYPE1]);
	else
		v = median_d(r->mem[B_RANGE], r->nm[B_RANGE]);
	fprintf(f, "  %-36s %8.2f %-12s at most %6.2f: %s\n", r->name, v,
		unit, limit, v <= limit ? "met" : "NOT met");
}

/*
 * Issue 16's targets, from the table: kernel memory per GiB mapped (64 KiB
 * for any backing, 4 KiB for hugetlb) and the 1 GiB hugetlb map time
 * against type1's.
 */
static void print_targets(FILE *f)
{
	fprintf(f, "\ntargets (vfio-range):\n");
	print_target(f, &rows[R_ANON_MAP], false, 64, "KiB/GiB");
	print_target(f, &rows[R_THP_MAP], false, 64, "KiB/GiB");
	print_target(f, &rows[R_HUGE_MAP], false, 4, "KiB/GiB");
	print_target(f, &rows[R_GIG_MAP], false, 4, "KiB/GiB");
	print_target(f, &rows[R_GIG_MAP], true, 0.25, "x type1 time");
}

/* ---------------------------------------------------------------------- */

/* The buffers mapped by workloads 1 and 2 (NULL: skipped). */
struct buf {
	char *p;
	u64 size;
	long long runs;		/* physically contiguous */
	long long huge;		/* 2 MiB blocks that are huge pages */
	const char *skip;
};

enum { BUF_ANON, BUF_THP, BUF_HUGE, BUF_GIG, NR_BUFS };

static struct buf bufs[NR_BUFS];

static void name_row(unsigned int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(row_names[r], sizeof(row_names[r]), fmt, ap);
	va_end(ap);
}

/* A map and an unmap row of one buffer, the map measuring memory. */
static void init_buf_rows(unsigned int r, const char *label,
			  const struct buf *b)
{
	rows[r].iova = IOVA_BASE + (b - bufs) * 16 * GIB;
	name_row(r, "%s %llu MiB: map", label,
		 (unsigned long long)(b->size / MIB));
	name_row(r + 1, "%s %llu MiB: unmap", label,
		 (unsigned long long)(b->size / MIB));
	rows[r].min_calls = b->runs;
	rows[r].mem_unit = "KiB/GiB";
	rows[r].mem_per = (double)b->size / GIB;
	rows[r + 1].min_calls = 0;
	rows[r + 1].min_syncs = 1;
	rows[r].skip = b->skip;
	rows[r + 1].skip = b->skip;
}

static void init_rows(u64 bar_size)
{
	unsigned int i, r;

	for (i = 0; i < NR_ROWS; i++) {
		rows[i].name = row_names[i];
		rows[i].min_calls = -1;
		rows[i].min_syncs = -1;
		rows[i].min_events = -1;
	}
	name_row(R_IDLE, "0 idle 0.5 s (memory noise)");
	rows[R_IDLE].mem_unit = "KiB";
	rows[R_IDLE].mem_per = 1;
	init_buf_rows(R_ANON_MAP, "1 anon 4K fragmented", &bufs[BUF_ANON]);
	init_buf_rows(R_THP_MAP, "1 anon THP", &bufs[BUF_THP]);
	init_buf_rows(R_HUGE_MAP, "2 hugetlb 2M", &bufs[BUF_HUGE]);
	init_buf_rows(R_GIG_MAP, "2 hugetlb 1G", &bufs[BUF_GIG]);

	for (i = 0; i < opt.nr_maps; i++) {
		r = R_CURVE + 3 * i;
		name_row(r, "3 %lu x 4K: map, per map", opt.maps[i]);
		name_row(r + 1, "3 %lu x 4K: unmap each", opt.maps[i]);
		name_row(r + 2, "3 %lu x 4K: unmap all", opt.maps[i]);
		rows[r].per_op = opt.maps[i];
		rows[r + 1].per_op = opt.maps[i];
		rows[r + 2].per_op = opt.maps[i];
		/* Separate requests: at least one call each. */
		rows[r].min_calls = opt.maps[i];
		rows[r].mem_unit = "B/map";
		rows[r].mem_per = opt.maps[i] / 1024.0;
		rows[r + 1].min_calls = 0;
		rows[r + 1].min_syncs = opt.maps[i];
		rows[r + 2].min_calls = 0;
		rows[r + 2].min_syncs = 1;
	}

	name_row(R_NOTIFY_BARE, "4 unmap %lu maps, no clients",
		 opt.notify_maps);
	name_row(R_NOTIFY_UNMAP, "4 ... with %lu clients", opt.clients);
	name_row(R_NOTIFY_READ, "4 ... + read all events");
	name_row(R_BAR_MAP, "5 edu BAR0 %llu KiB: map",
		 (unsigned long long)bar_size / 1024);
	name_row(R_BAR_UNMAP, "5 edu BAR0 %llu KiB: unmap",
		 (unsigned long long)bar_size / 1024);

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

/*
 * Allocates the buffers of workloads 1 and 2; the THP buffer first, while
 * free memory still has 2 MiB blocks, the fragmented one last.
 */
static void alloc_bufs(void)
{
	struct buf *b;

	b = &bufs[BUF_THP];
	b->size = opt.thp_mib * MIB;
	if (b->size)
		b->p = alloc_thp(b->size);
	if (!b->p)
		b->skip = b->size ? "mmap failed" : "--thp-mib 0";

	b = &bufs[BUF_HUGE];
	b->size = opt.huge_mib * MIB;
	if (b->size)
		b->p = alloc_buf(b->size, MAP_HUGETLB | MAP_HUGE_2M);
	if (!b->p)
		b->skip = b->size ? "no 2 MiB hugepages (hugepages=N)" :
				    "--huge-mib 0";

	b = &bufs[BUF_GIG];
	b->size = opt.gig_pages * GIB;	/* at most 4: 16 GiB apart */
	if (b->size)
		b->p = alloc_buf(b->size, MAP_HUGETLB | MAP_HUGE_1G);
	if (!b->p)
		b->skip = b->size ? "no 1 GiB page (hugepagesz=1G hugepages=1)"
				  : "--gig-pages 0";

	b = &bufs[BUF_ANON];
	b->size = opt.anon_mib * MIB;
	if (b->size < max_maps() * PAGE_SZ)
		b->size = max_maps() * PAGE_SZ;
	if (b->size < opt.notify_maps * PAGE_SZ)
		b->size = opt.notify_maps * PAGE_SZ;
	b->p = alloc_fragmented(b->size);
	if (!b->p)
		die("mmap %llu bytes: %s", (unsigned long long)b->size,
		    strerror(errno));
	/* Workloads 3 and 4 map its pages one at a time. */
	b->size = opt.anon_mib * MIB;

	for (b = bufs; b < bufs + NR_BUFS; b++) {
		if (!b->p)
			continue;
		b->runs = pfn_runs(b->p, b->size);
		b->huge = huge_blocks(b->p, b->size);
	}
}

static void print_bufs(FILE *f)
{
	static const char * const names[NR_BUFS] = {
		[BUF_ANON] = "anon 4K fragmented",
		[BUF_THP] = "anon THP",
		[BUF_HUGE] = "hugetlb 2M",
		[BUF_GIG] = "hugetlb 1G",
	};
	const struct buf *b;

	for (b = bufs; b < bufs + NR_BUFS; b++) {
		if (!b->p)
			continue;
		fprintf(f, "buffer %s: %llu MiB, %lld physically contiguous "
			"runs (%.1f pages each), %lld of %llu 2 MiB blocks huge\n",
			names[b - bufs], (unsigned long long)(b->size / MIB),
			b->runs, b->runs > 0 ?
			(double)b->size / PAGE_SZ / b->runs : 0.0, b->huge,
			(unsigned long long)(b->size / HUGE_SZ));
	}
}

int main(int argc, char **argv)
{
	struct edu_info info[EDU_MAX];
	long long anon_runs_end;
	u64 bar_size = 0;
	struct session s;
	struct utsname uts;
	struct ctrs c;
	unsigned int rep, b, i;

	parse_opts(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (edu_find(info, EDU_MAX) < 1)
		die("no edu device with an IOMMU group");

	alloc_bufs();
	notify_layout();

	/* The BAR size, for the row names. */
	session_open(&s, B_TYPE1, &info[0]);
	if (s.have_edu)
		bar_size = s.edu.bar0_size;
	session_close(&s);

	init_rows(bar_size);
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
			unsigned int k;

			fprintf(stderr, "# rep %u/%lu: %s\n", rep + 1,
				opt.reps, backend_names[b]);
			session_open(&s, b, &info[0]);
			wl_idle(&s);
			wl_one(&s, &rows[R_ANON_MAP], &rows[R_ANON_UNMAP],
			       bufs[BUF_ANON].p, bufs[BUF_ANON].size);
			if (bufs[BUF_THP].p)
				wl_one(&s, &rows[R_THP_MAP],
				       &rows[R_THP_UNMAP], bufs[BUF_THP].p,
				       bufs[BUF_THP].size);
			if (bufs[BUF_HUGE].p)
				wl_one(&s, &rows[R_HUGE_MAP],
				       &rows[R_HUGE_UNMAP], bufs[BUF_HUGE].p,
				       bufs[BUF_HUGE].size);
			if (bufs[BUF_GIG].p)
				wl_one(&s, &rows[R_GIG_MAP],
				       &rows[R_GIG_UNMAP], bufs[BUF_GIG].p,
				       bufs[BUF_GIG].size);
			for (k = 0; k < opt.nr_maps; k++)
				wl_curve(&s, bufs[BUF_ANON].p, k);
			wl_notify(&s, bufs[BUF_ANON].p, 0);
			if (b == B_RANGE)
				wl_notify(&s, bufs[BUF_ANON].p, opt.clients);
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
	/* The pages must not have been migrated into longer runs meanwhile. */
	anon_runs_end = pfn_runs(bufs[BUF_ANON].p, bufs[BUF_ANON].size);

	uname(&uts);
	printf("vfio_range_bench: kernel %s, edu %s (group %d), %lu reps, "
	       "medians\n", uts.release, info[0].bdf, info[0].group,
	       opt.reps);
	print_bufs(stdout);
	printf("anon 4K fragmented: %lld runs after the last repetition\n",
	       anon_runs_end);
	printf("workload 4: %lu maps in %lu IOVA runs, %u arbitrary + %u "
	       "aligned clients, %lld + %lld events per client at least\n",
	       opt.notify_maps, nr_nruns, n_arb_clients(),
	       n_aligned_clients(), n_arb_events, n_aligned_events);
	printf("counters (vfio-range only, %s): measured / minimum; "
	       "ratio = range / type1 time\n",
	       i == NR_CTRS ? "n/a: debugfs file absent" : COUNTERS);
	printf("kmem: growth of Slab + VmallocUsed + PageTables across the "
	       "map; iommu pt: of SecPageTables (IOMMU page tables, 6.11 on); "
	       "\"us\": microseconds per mapping\n\n");
	print_table(stdout);
	print_targets(stdout);
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
