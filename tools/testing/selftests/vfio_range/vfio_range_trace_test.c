// SPDX-License-Identifier: GPL-2.0-only
/*
 * The vfio_range trace system (include/vfio_range/trace.h,
 * Documentation/tracing.rst): its events are in tracefs once the module is
 * loaded, with the documented fields; a map, failed calls, an unmap that
 * reaches an emulated device and two clients, one of which overflows, and
 * the container's end give exactly the documented records, in order; a
 * map and an unmap in an IOMMU domain count their iommu_map() calls and
 * IOTLB syncs; and the fields filter.
 *
 * The records go to a tracefs instance of this process's own
 * (instances/vfio_range_test.<pid>), so a trace someone is taking of the
 * top-level buffer is left alone; its events/vfio_range/ files are the
 * same as those of /sys/kernel/tracing/events/vfio_range/, and a filter on
 * common_pid keeps other processes out. Everything is disabled and the
 * instance removed at the end.
 *
 * Needs root, tracefs at /sys/kernel/tracing (skips without it),
 * vfio_iommu_range.ko and vfio_range_test.ko loaded; iommu_domain also an
 * edu device (skips without one).
 */
#include "vfio_range_utils.h"

#include <sys/stat.h>

#define TRACEFS			"/sys/kernel/tracing"
#define EVENTS_DIR		TRACEFS "/events/vfio_range"
#define PG			SZ_4K
#define BUF_PAGES		16
#define TRACE_MAX		(1 << 20)
#define RECORDS_MAX		64U
#define RECORD_LEN		512U

#define EV_BOTH		(VFIO_RANGE_EVENT_MAP | VFIO_RANGE_EVENT_UNMAP)

/* Every event of the system and its fields, as documented, in order. */
static const struct {
	const char *name;
	const char *fields;
} trace_events[] = {
	{ "vfio_range_container_open", "container type pid" },
	{ "vfio_range_container_release", "container type pid" },
	{ "vfio_range_group_attach", "container group emulated err" },
	{ "vfio_range_group_detach", "container group emulated" },
	{ "vfio_range_map",
	  "container seq start last vaddr iova length prot backing pages map_calls err ns" },
	{ "vfio_range_unmap",
	  "container seq start last unmapped mappings iotlb_syncs err ns wait_ns" },
	{ "vfio_range_client_add",
	  "container client fd events granularity start last err" },
	{ "vfio_range_client_remove", "container client fd delivered" },
	{ "vfio_range_notify",
	  "container client kind seq start last blocks ns" },
	{ "vfio_range_overflow",
	  "container client seq lost dropped queued" },
	{ "vfio_range_revoke", "container start last vaddr pfn reason" },
	{ "vfio_range_pin", "container group iova npage prot err" },
	{ "vfio_range_unpin", "container iova npage" },
	{ "vfio_range_dma_unmap", "container group iova length ns" },
};

/* Writes @val to tracefs file @path; 0 or -1 with errno. */
static int write_file(const char *path, const char *val)
{
	ssize_t len = strlen(val), ret;
	int fd = open(path, O_WRONLY | O_TRUNC);

	if (fd < 0)
		return -1;
	ret = write(fd, val, len);
	close(fd);
	return ret == len ? 0 : -1;
}

/*
 * The names of the non-common fields of an event's format file, space
 * separated, in order, into @out.
 */
static int format_fields(const char *event, char *out, size_t size)
{
	char path[PATH_MAX], *text, *line, *save;
	size_t used = 0;

	snprintf(path, sizeof(path), EVENTS_DIR "/%s/format", event);
	text = malloc(16384);
	if (!text || read_text(path, text, 16384) < 0) {
		free(text);
		return -1;
	}
	out[0] = '\0';
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *f = strstr(line, "field:"), *semi, *name;

		if (!f || strstr(line, " common_"))
			continue;
		semi = strchr(f, ';');
		if (!semi)
			continue;
		*semi = '\0';
		name = strrchr(f, ' ');
		name = name ? name + 1 : f;
		used += snprintf(out + used, size - used, "%s%s",
				 used ? " " : "", name);
		if (used >= size)
			break;
	}
	free(text);
	return 0;
}

FIXTURE(trace)
{
	const char *skip;
	char inst[256];		/* the instance, once made */
	int test_fd;
	struct emu e;
	int container_fd;	/* an edu device's container */
	int group_fd;
	char *buf;
	char *text;		/* TRACE_MAX bytes */
	char (*rec)[RECORD_LEN];	/* records read back */
	unsigned int nr;
	char (*exp)[RECORD_LEN];	/* records expected */
	unsigned int nexp;
	unsigned int container;	/* this test's container */
};

/* A file of the instance. */
#define inst_path(path, name)						\
	snprintf(path, sizeof(path), "%s/%s", self->inst, name)

static int inst_write(FIXTURE_DATA(trace) *self, const char *name,
		      const char *val)
{
	char path[PATH_MAX];

	inst_path(path, name);
	return write_file(path, val);
}

#define test_inst_write(name, val)					\
	ASSERT_EQ(0, inst_write(self, name, val))			\
		TH_LOG("%s/%s <- %s: %s", self->inst, name, val,	\
		       strerror(errno))

FIXTURE_SETUP(trace)
{
	char filter[64];

	self->test_fd = -1;
	self->container_fd = -1;
	self->group_fd = -1;
	self->inst[0] = '\0';
	emu_init(&self->e);
	/* (The 6.1 harness runs the test after a SKIP() here: see skip.) */
	if (access(TRACEFS "/instances", W_OK)) {
		self->skip = "tracefs not mounted at " TRACEFS;
		return;
	}
	ASSERT_EQ(0, access(EVENTS_DIR, F_OK))
		TH_LOG("%s: %s (is %s.ko loaded?)", EVENTS_DIR,
		       strerror(errno), VFIO_RANGE_MODULE);

	snprintf(self->inst, sizeof(self->inst),
		 TRACEFS "/instances/vfio_range_test.%d", getpid());
	ASSERT_EQ(0, mkdir(self->inst, 0700))
		TH_LOG("mkdir %s: %s", self->inst, strerror(errno));
	snprintf(filter, sizeof(filter), "common_pid == %d", getpid());
	test_inst_write("events/vfio_range/filter", filter);

	self->text = malloc(TRACE_MAX);
	ASSERT_NE(NULL, self->text);
	self->rec = calloc(RECORDS_MAX, RECORD_LEN);
	ASSERT_NE(NULL, self->rec);
	self->exp = calloc(RECORDS_MAX, RECORD_LEN);
	ASSERT_NE(NULL, self->exp);
	self->buf = test_mmap(BUF_PAGES * PG, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, self->buf);
	memset(self->buf, 0x5a, BUF_PAGES * PG);
	self->test_fd = open(VFIO_RANGE_TEST_DEV, O_RDWR);
	ASSERT_LE(0, self->test_fd)
		TH_LOG("open %s: %s (is vfio_range_test.ko loaded?)",
		       VFIO_RANGE_TEST_DEV, strerror(errno));
}

FIXTURE_TEARDOWN(trace)
{
	emu_destroy(&self->e);
	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);
	vfio_close(&self->test_fd);
	if (self->inst[0]) {
		inst_write(self, "events/vfio_range/enable", "0");
		rmdir(self->inst);
	}
	if (self->buf)
		munmap(self->buf, BUF_PAGES * PG);
	free(self->text);
	free(self->rec);
	free(self->exp);
}

/*
 * Reads the instance's records into self->rec as "event: fields" (the
 * kernel prints %#llx of 0 as 0x0, unlike printf(3)), without
 * the durations (ns=, wait_ns=), which are checked to be numbers and
 * wait_ns <= ns; returns how many there are.
 */
static unsigned int __read_records(struct __test_metadata *_metadata,
				   FIXTURE_DATA(trace) *self)
{
	char path[PATH_MAX], *line, *save;

	inst_path(path, "trace");
	ASSERT_LE(0, read_text(path, self->text, TRACE_MAX))
		TH_LOG("%s: %s", path, strerror(errno));
	self->nr = 0;
	for (line = strtok_r(self->text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long long ns = ULLONG_MAX, wait_ns = 0, v;
		char *ev = strstr(line, ": vfio_range_"), *tok, *tsave;
		char *out;
		size_t used;

		if (line[0] == '#' || !ev)
			continue;
		ASSERT_GT(RECORDS_MAX, self->nr);
		out = self->rec[self->nr++];
		used = 0;
		for (tok = strtok_r(ev + 2, " ", &tsave); tok;
		     tok = strtok_r(NULL, " ", &tsave)) {
			if (sscanf(tok, "ns=%llu", &v) == 1) {
				ns = v;
				continue;
			}
			if (sscanf(tok, "wait_ns=%llu", &v) == 1) {
				wait_ns = v;
				continue;
			}
			used += snprintf(out + used, RECORD_LEN - used, "%s%s",
					 used ? " " : "", tok);
			ASSERT_GT((size_t)RECORD_LEN, used);
		}
		if (strstr(out, "vfio_range_map:") == out ||
		    strstr(out, "vfio_range_unmap:") == out ||
		    strstr(out, "vfio_range_notify:") == out ||
		    strstr(out, "vfio_range_dma_unmap:") == out)
			ASSERT_NE(ULLONG_MAX, ns) TH_LOG("no ns in %s", out);
		if (strstr(out, "vfio_range_unmap:") == out)
			ASSERT_LE(wait_ns, ns) TH_LOG("%s", out);
	}
	return self->nr;
}

/* The records read must be exactly those expected, in order. */
static void __check_records(struct __test_metadata *_metadata,
			    FIXTURE_DATA(trace) *self)
{
	char (*exp)[RECORD_LEN] = self->exp;
	unsigned int i, bad = UINT_MAX, nexp = self->nexp;

	for (i = 0; i < self->nr && i < nexp; i++) {
		if (strcmp(self->rec[i], exp[i])) {
			bad = i;
			break;
		}
	}
	if (bad == UINT_MAX && self->nr == nexp)
		return;
	TH_LOG("got %u records, expected %u; first difference at %u",
	       self->nr, nexp, bad);
	for (i = 0; i < self->nr || i < nexp; i++) {
		TH_LOG("  %2u got %s", i, i < self->nr ? self->rec[i] : "-");
		TH_LOG("     exp %s", i < nexp ? exp[i] : "-");
	}
	ASSERT_TRUE(false);
}

/* Appends an expected record, printf-style. */
#define exp_rec(fmt, ...)						\
	({								\
		ASSERT_GT(RECORDS_MAX, self->nexp);			\
		snprintf(self->exp[self->nexp++], RECORD_LEN, fmt,	\
			 ##__VA_ARGS__);				\
	})

/* The value of "@key=" in record @rec, which must have it. */
static unsigned long long __rec_field(struct __test_metadata *_metadata,
				      const char *rec, const char *key)
{
	char want[64];
	const char *p;

	snprintf(want, sizeof(want), " %s=", key);
	p = strstr(rec, want);
	ASSERT_NE(NULL, p) TH_LOG("no %s in %s", key, rec);
	return strtoull(p + strlen(want), NULL, 0);
}

#define rec_field(i, key)	__rec_field(_metadata, self->rec[i], key)

/*
 * Reads the records, of which the first must be the open of this test's
 * container, expects that one and returns the container's number.
 */
#define read_records_opened()						\
	({								\
		unsigned int __c;					\
									\
		ASSERT_LE(1U, __read_records(_metadata, self));		\
		__c = rec_field(0, "container");			\
		exp_rec("vfio_range_container_open: container=%u type=%#x pid=%d", \
			__c, VFIO_RANGE_IOMMU, getpid());		\
		__c;							\
	})

/* Every documented event is in tracefs, with its documented fields. */
TEST_F(trace, events_registered)
{
	char fields[512];
	unsigned int i;

	if (self->skip)
		SKIP(return, "%s", self->skip);
	for (i = 0; i < ARRAY_SIZE(trace_events); i++) {
		ASSERT_EQ(0, format_fields(trace_events[i].name, fields,
					   sizeof(fields)))
			TH_LOG("%s/%s/format: %s", EVENTS_DIR,
			       trace_events[i].name, strerror(errno));
		EXPECT_STREQ(trace_events[i].fields, fields)
			TH_LOG("fields of %s", trace_events[i].name);
	}
}

/*
 * A container with an emulated device (it has no IOMMU domain: no
 * iommu_map() calls, no IOTLB syncs), an in-kernel client and an aligned
 * fd client with a queue of 8; a map, a map and an unmap that fail, a pin,
 * an unmap that makes the device unpin and overflows the fd, the clients'
 * removal and the container's end.
 */
TEST_F(trace, map_unmap_overflow)
{
	struct vfio_range_event ev[16];
	const __u64 s = 0x43000, l = 0x4cfff;
	unsigned int c, grp;
	__u32 kid, fid, kclient;
	unsigned long long vaddr;
	__u64 unmapped;
	ssize_t n;
	int fd;

	if (self->skip)
		SKIP(return, "%s", self->skip);
	test_inst_write("events/vfio_range/enable", "1");

	__emu_create(_metadata, self->test_fd, &self->e);
	grp = self->e.group;
	ASSERT_EQ(0, _test_client_add(self->test_fd, grp, EV_BOTH,
				      VFIO_RANGE_GRANULARITY_ARBITRARY, 0,
				      U64_MAX, &kclient));
	fd = _test_notifier(self->e.container_fd, EV_BOTH,
			    VFIO_RANGE_GRANULARITY_ALIGNED, 0, U64_MAX, 8);
	ASSERT_LE(0, fd) TH_LOG("NOTIFIER: %s", strerror(errno));

	vaddr = (uintptr_t)self->buf;
	ASSERT_EQ(0, _test_range_map(self->e.container_fd, vaddr, s, l,
				     RANGE_RW));
	EXPECT_ERRNO(EEXIST, _test_range_map(self->e.container_fd, vaddr,
					     s, l, RANGE_RW));
	ASSERT_EQ(0, _emu_pin(self->test_fd, self->e.id, 0x44000, 1, 3));
	/* The extent [s, l] straddles the end of the range. */
	EXPECT_ERRNO(EINVAL, _test_range_unmap(self->e.container_fd, s,
					       0x43fff, 0, NULL));
	ASSERT_EQ(0, _test_range_unmap(self->e.container_fd, 0x40000, 0x4ffff,
				       0, &unmapped));
	ASSERT_EQ(l - s + 1, unmapped);

	/* 4 MAP and 3 UNMAP blocks fit, then the overflow record. */
	n = read(fd, ev, sizeof(ev));
	ASSERT_EQ(8 * (ssize_t)sizeof(ev[0]), n);
	ASSERT_EQ((__u32)VFIO_RANGE_EVENT_OVERFLOW, ev[7].type);
	ASSERT_EQ(1ULL, ev[7].lost);
	close(fd);
	ASSERT_EQ(0, _test_client_del(self->test_fd, kclient));
	emu_destroy(&self->e);
	test_inst_write("events/vfio_range/enable", "0");

	/* The numbers the module gave: the container's and the clients'. */
	c = read_records_opened();
	ASSERT_LE(4U, self->nr);
	kid = rec_field(2, "client");
	fid = rec_field(3, "client");
	ASSERT_NE(0U, kid);
	ASSERT_NE(kid, fid);

	exp_rec("vfio_range_group_attach: container=%u group=%u emulated=1 err=0",
		c, grp);
	exp_rec("vfio_range_client_add: container=%u client=%u fd=0 events=0x3 granularity=0 start=0x0 last=0xffffffffffffffff err=0",
		c, kid);
	exp_rec("vfio_range_client_add: container=%u client=%u fd=1 events=0x3 granularity=1 start=0x0 last=0xffffffffffffffff err=0",
		c, fid);
	/* In-kernel clients hear of a map before its call returns. */
	exp_rec("vfio_range_notify: container=%u client=%u kind=MAP seq=1 start=0x43000 last=0x4cfff blocks=1",
		c, kid);
	exp_rec("vfio_range_map: container=%u seq=1 start=0x43000 last=0x4cfff vaddr=%#llx iova=0x43000 length=0xa000 prot=0x3 backing=ram pages=10 map_calls=0 err=0",
		c, vaddr);
	exp_rec("vfio_range_map: container=%u seq=0 start=0x43000 last=0x4cfff vaddr=%#llx iova=0x0 length=0x0 prot=0x3 backing=ram pages=0 map_calls=0 err=%d",
		c, vaddr, -EEXIST);
	exp_rec("vfio_range_pin: container=%u group=%u iova=0x44000 npage=1 prot=0x3 err=0",
		c, grp);
	exp_rec("vfio_range_unmap: container=%u seq=0 start=0x43000 last=0x43fff unmapped=0x0 mappings=0 iotlb_syncs=0 err=%d",
		c, -EINVAL);
	/* The device unpins inside its dma_unmap callback. */
	exp_rec("vfio_range_unpin: container=%u iova=0x44000 npage=1", c);
	exp_rec("vfio_range_dma_unmap: container=%u group=%u iova=0x43000 length=0xa000",
		c, grp);
	exp_rec("vfio_range_notify: container=%u client=%u kind=UNMAP seq=2 start=0x43000 last=0x4cfff blocks=1",
		c, kid);
	exp_rec("vfio_range_unmap: container=%u seq=2 start=0x40000 last=0x4ffff unmapped=0xa000 mappings=1 iotlb_syncs=0 err=0",
		c);
	/* The fd client's records come from its read(), in log order. */
	exp_rec("vfio_range_notify: container=%u client=%u kind=MAP seq=1 start=0x43000 last=0x4cfff blocks=4",
		c, fid);
	exp_rec("vfio_range_notify: container=%u client=%u kind=UNMAP seq=2 start=0x43000 last=0x4cfff blocks=4",
		c, fid);
	exp_rec("vfio_range_overflow: container=%u client=%u seq=2 lost=1 dropped=1 queued=8",
		c, fid);
	exp_rec("vfio_range_client_remove: container=%u client=%u fd=1 delivered=8",
		c, fid);
	exp_rec("vfio_range_client_remove: container=%u client=%u fd=0 delivered=2",
		c, kid);
	/* The last group leaves: the container goes, unmapping nothing. */
	exp_rec("vfio_range_group_detach: container=%u group=%u emulated=1",
		c, grp);
	exp_rec("vfio_range_container_release: container=%u type=%#x pid=%d",
		c, VFIO_RANGE_IOMMU, getpid());
	exp_rec("vfio_range_unmap: container=%u seq=0 start=0x0 last=0xffffffffffffffff unmapped=0x0 mappings=0 iotlb_syncs=0 err=0",
		c);
	__check_records(_metadata, self);
}

/* The example: a filter on a field keeps only the maps it names. */
TEST_F(trace, filter)
{
	const __u64 high = 0xffffffff00000000ULL;
	unsigned int c;
	unsigned long long vaddr;
	char filter[128];

	if (self->skip)
		SKIP(return, "%s", self->skip);
	snprintf(filter, sizeof(filter),
		 "common_pid == %d && start >= 0xffffffff00000000", getpid());
	test_inst_write("events/vfio_range/vfio_range_map/filter", filter);
	test_inst_write("events/vfio_range/vfio_range_container_open/enable",
			"1");
	test_inst_write("events/vfio_range/vfio_range_map/enable", "1");

	__emu_create(_metadata, self->test_fd, &self->e);
	vaddr = (uintptr_t)self->buf;
	ASSERT_EQ(0, _test_range_map(self->e.container_fd, vaddr, 0x40000,
				     0x40fff, RANGE_RW));
	ASSERT_EQ(0, _test_range_map(self->e.container_fd, vaddr + PG, high,
				     high + 2 * PG - 1, RANGE_RW));
	ASSERT_EQ(0, _test_range_map(self->e.container_fd, vaddr + 3 * PG,
				     0x50000, 0x50fff, RANGE_RW));
	test_inst_write("events/vfio_range/enable", "0");
	test_inst_write("events/vfio_range/vfio_range_map/filter", "0");

	c = read_records_opened();
	exp_rec("vfio_range_map: container=%u seq=2 start=0xffffffff00000000 last=0xffffffff00001fff vaddr=%#llx iova=0xffffffff00000000 length=0x2000 prot=0x3 backing=ram pages=2 map_calls=0 err=0",
		c, vaddr + PG);
	__check_records(_metadata, self);
}

/*
 * With an IOMMU domain (an edu device's group): one iommu_map() call for a
 * page, one IOTLB sync for its unmap.
 */
TEST_F(trace, iommu_domain)
{
	struct edu_info edu[EDU_MAX];
	const __u64 iova = 0x100000;
	unsigned long long vaddr;
	unsigned int c;
	__u64 unmapped;

	if (self->skip)
		SKIP(return, "%s", self->skip);
	if (edu_find(edu, EDU_MAX) < 1)
		SKIP(return, "no edu device (%04x:%04x) with an IOMMU group",
		     EDU_VENDOR, EDU_DEVICE);
	if (granule_restricted())
		SKIP(return, "its records are of a one-page map (length=0x1000 pages=1 map_calls=1); min_pgsize is above that");
	test_inst_write("events/vfio_range/vfio_range_container_open/enable",
			"1");
	test_inst_write("events/vfio_range/vfio_range_group_attach/enable",
			"1");
	test_inst_write("events/vfio_range/vfio_range_map/enable", "1");
	test_inst_write("events/vfio_range/vfio_range_unmap/enable", "1");

	__vfio_container_setup(_metadata, edu[0].group, VFIO_RANGE_IOMMU,
			       &self->container_fd, &self->group_fd);
	vaddr = (uintptr_t)self->buf;
	ASSERT_EQ(0, _test_range_map(self->container_fd, vaddr, iova,
				     iova + PG - 1, RANGE_RW));
	ASSERT_EQ(0, _test_range_unmap(self->container_fd, 0, U64_MAX, 0,
				       &unmapped));
	ASSERT_EQ(PG, unmapped);
	test_inst_write("events/vfio_range/enable", "0");

	c = read_records_opened();
	exp_rec("vfio_range_group_attach: container=%u group=%d emulated=0 err=0",
		c, edu[0].group);
	exp_rec("vfio_range_map: container=%u seq=1 start=%#llx last=%#llx vaddr=%#llx iova=%#llx length=0x1000 prot=0x3 backing=ram pages=1 map_calls=1 err=0",
		c, iova, iova + PG - 1, vaddr, iova);
	exp_rec("vfio_range_unmap: container=%u seq=2 start=0x0 last=0xffffffffffffffff unmapped=0x1000 mappings=1 iotlb_syncs=1 err=0",
		c);
	__check_records(_metadata, self);
}

TEST_HARNESS_MAIN
