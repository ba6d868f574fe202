// SPDX-License-Identifier: GPL-2.0-only
/*
 * The per-container debugfs view of vfio-range
 * (/sys/kernel/debug/vfio_iommu_range/containers/<id>/): the directory
 * appears when the type is selected and goes when the container is
 * released; info names the type and the opener; mappings has one line per
 * mapping (RAM and BAR); clients lists notifier clients with their
 * delivery counts; the container's counters and the module-wide ones move
 * together with what was done; a file kept open across the release fails
 * its reads instead of reaching a freed container.
 *
 * Needs root, debugfs mounted, an edu device bound to vfio-pci and
 * vfio_iommu_range.ko loaded.
 */
#include "vfio_range_utils.h"

#define IOVA_RAM	0x1000000ULL
#define IOVA_BAR	0x2000000ULL
/* 4 MiB, or 4 granules if that is more (min_pgsize). */
#define BUF_SIZE	(self->buf_size)
/* The blocks of the clients test: 1 MiB, or a granule if more. */
#define BLK		(self->iommu.pgsize > SZ_1M ? self->iommu.pgsize : SZ_1M)
#define FILE_MAX	65536

/* "name value" line of a counters file; -1 if missing. */
static long long counter_in(const char *path, const char *name)
{
	char buf[4096], key[64];
	long long val;
	char *line;

	if (read_text(path, buf, sizeof(buf)) < 0)
		return -1;
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		if (sscanf(line, "%63s %lld", key, &val) == 2 &&
		    !strcmp(key, name))
			return val;
	}
	return -1;
}

FIXTURE(debugfs)
{
	int container_fd;
	int group_fd;
	struct edu_info info;
	struct edu_dev edu;
	struct iommu_info iommu;
	char dir[PATH_MAX];
	size_t buf_size;
	char *buf;
	char *text;		/* FILE_MAX bytes for file contents */
	long long base_pinned;	/* module-wide pinned_pages at setup */
};

FIXTURE_SETUP(debugfs)
{
	struct edu_info all[EDU_MAX];

	self->container_fd = -1;
	self->group_fd = -1;
	edu_init(&self->edu);
	if (access(DEBUGFS_ROOT "/counters", R_OK))
		SKIP(return, "no %s (debugfs not mounted?)", DEBUGFS_ROOT);

	ASSERT_LT(0, edu_find(all, EDU_MAX));
	self->info = all[0];
	/* Nothing of this process before the type is selected. */
	ASSERT_FALSE(own_container_dir(self->dir, sizeof(self->dir)));
	__vfio_container_setup(_metadata, self->info.group, VFIO_RANGE_IOMMU,
			       &self->container_fd, &self->group_fd);
	__edu_open(_metadata, self->group_fd, self->info.bdf, &self->edu);
	__get_iommu_info(_metadata, self->container_fd, &self->iommu);
	ASSERT_TRUE(own_container_dir(self->dir, sizeof(self->dir)));

	self->buf_size = 4 * SZ_1M > 4 * self->iommu.pgsize ?
			 4 * SZ_1M : 4 * self->iommu.pgsize;
	self->buf = test_mmap_aligned(BUF_SIZE, self->iommu.pgsize,
				      PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, self->buf);
	self->text = malloc(FILE_MAX);
	ASSERT_NE(NULL, self->text);
	self->base_pinned = counter_in(DEBUGFS_ROOT "/counters",
				       "pinned_pages");
	ASSERT_LE(0, self->base_pinned);
}

FIXTURE_TEARDOWN(debugfs)
{
	edu_close(&self->edu);
	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);
	if (self->buf)
		munmap(self->buf, BUF_SIZE);
	free(self->text);
}

/* Contents of @name in the container's directory. */
#define read_own(name)							\
	ASSERT_LE(0, read_text_in(self->dir, name, self->text, FILE_MAX))

static ssize_t read_text_in(const char *dir, const char *name, char *buf,
			    size_t size)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return read_text(path, buf, size);
}

static long long own_counter(const char *dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/counters", dir);
	return counter_in(path, name);
}

#define ASSERT_HAS(text, line)						\
	ASSERT_NE(NULL, strstr(text, line))				\
		TH_LOG("no \"%s\" in:\n%s", line, text)
#define ASSERT_HAS_NOT(text, line)					\
	ASSERT_EQ(NULL, strstr(text, line))				\
		TH_LOG("unexpected \"%s\" in:\n%s", line, text)

TEST_F(debugfs, info)
{
	char line[128], comm[32] = "";
	FILE *f;

	read_own("info");
	ASSERT_HAS(self->text, "\ntype VFIO_RANGE_IOMMU 0x5652\n");
	f = fopen("/proc/self/comm", "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(comm, sizeof(comm), f));
	fclose(f);
	snprintf(line, sizeof(line), "\nopener %d %s", getpid(), comm);
	ASSERT_HAS(self->text, line);
	ASSERT_HAS(self->text, "\ngroups 1\n");
	snprintf(line, sizeof(line), "\ngroup %d iommu\n", self->info.group);
	ASSERT_HAS(self->text, line);
	ASSERT_HAS(self->text, "\ndomains 1\n");
	snprintf(line, sizeof(line), "\npgsize_bitmap %#llx\n",
		 (unsigned long long)self->iommu.pgsizes);
	ASSERT_HAS(self->text, line);
	snprintf(line, sizeof(line), "\nusable 0x%llx-0x%llx\n",
		 (unsigned long long)self->iommu.ranges[0].start,
		 (unsigned long long)self->iommu.ranges[0].end);
	ASSERT_HAS(self->text, line);
	ASSERT_HAS(self->text, "\nmappings 0\n");
}

TEST_F(debugfs, ram_mapping_and_counters)
{
	const __u64 last = IOVA_RAM + BUF_SIZE - 1;
	const long long pages = BUF_SIZE / getpagesize();
	const __u64 pg = self->iommu.pgsize;
	char line[256];

	read_own("mappings");
	ASSERT_STREQ("", self->text);
	ASSERT_EQ(0, own_counter(self->dir, "maps"));
	ASSERT_EQ(0, own_counter(self->dir, "pinned_pages"));

	test_range_map(self->buf, IOVA_RAM, last);
	read_own("mappings");
	snprintf(line, sizeof(line), "%#llx-%#llx mapped %#llx-%#llx ram rw pinned %lld\n",
		 IOVA_RAM, last, IOVA_RAM, last, pages);
	ASSERT_STREQ(line, self->text);
	ASSERT_EQ(1, own_counter(self->dir, "maps"));
	ASSERT_EQ(0, own_counter(self->dir, "unmaps"));
	ASSERT_EQ(pages, own_counter(self->dir, "pinned_pages"));
	ASSERT_LE(1, own_counter(self->dir, "iommu_map_calls"));
	ASSERT_EQ((long long)BUF_SIZE,
		  own_counter(self->dir, "iommu_mapped_bytes"));
	ASSERT_EQ(self->base_pinned + pages,
		  counter_in(DEBUGFS_ROOT "/counters", "pinned_pages"));
	read_own("info");
	ASSERT_HAS(self->text, "\nmappings 1\n");

	/* A read-only mapping says so. */
	test_range_map_flags(self->buf, IOVA_BAR, IOVA_BAR + pg - 1,
			     VFIO_RANGE_MAP_READ);
	read_own("mappings");
	snprintf(line, sizeof(line), "%#llx-%#llx mapped %#llx-%#llx ram r- pinned %lld\n",
		 IOVA_BAR, IOVA_BAR + pg - 1, IOVA_BAR, IOVA_BAR + pg - 1,
		 (long long)(pg / getpagesize()));
	ASSERT_HAS(self->text, line);

	test_range_unmap(0, U64_MAX, BUF_SIZE + pg);
	read_own("mappings");
	ASSERT_STREQ("", self->text);
	ASSERT_EQ(2, own_counter(self->dir, "maps"));
	ASSERT_EQ(2, own_counter(self->dir, "unmaps"));
	ASSERT_EQ(0, own_counter(self->dir, "pinned_pages"));
	ASSERT_LE(1, own_counter(self->dir, "iotlb_syncs"));
	ASSERT_EQ(self->base_pinned,
		  counter_in(DEBUGFS_ROOT "/counters", "pinned_pages"));
}

TEST_F(debugfs, bar_mapping)
{
	const __u64 last = IOVA_BAR + self->edu.bar0_size - 1;
	unsigned long long pfn = edu_bar0_phys(self->info.bdf) / getpagesize();
	char line[256];

	if (self->iommu.pgsize > self->edu.bar0_size)
		SKIP(return, "granule %#llx above edu's BAR0 (min_pgsize; vfio_range_pgsize_test covers that)",
		     (unsigned long long)self->iommu.pgsize);
	ASSERT_NE(0ULL, pfn);
	test_range_map(self->edu.bar0, IOVA_BAR, last);
	read_own("mappings");
	snprintf(line, sizeof(line), "%#llx-%#llx mapped %#llx-%#llx mmio rw pfn %#llx live\n",
		 IOVA_BAR, last, IOVA_BAR, last, pfn);
	ASSERT_STREQ(line, self->text);
	/* Device memory is neither pinned nor charged. */
	ASSERT_EQ(0, own_counter(self->dir, "pinned_pages"));
	ASSERT_EQ(1, own_counter(self->dir, "iommu_map_calls"));

	/* The user mapping goes: the IOMMU mapping is revoked. */
	munmap(self->edu.bar0, self->edu.bar0_size);
	self->edu.bar0 = NULL;
	read_own("mappings");
	snprintf(line, sizeof(line), "pfn %#llx revoked\n", pfn);
	ASSERT_HAS(self->text, line);
	test_range_unmap(IOVA_BAR, last, self->edu.bar0_size);
	read_own("mappings");
	ASSERT_STREQ("", self->text);
}

TEST_F(debugfs, clients)
{
	struct vfio_range_notifier cmd = {
		.argsz = sizeof(cmd),
		.events = VFIO_RANGE_EVENT_MAP | VFIO_RANGE_EVENT_UNMAP,
		.granularity = VFIO_RANGE_GRANULARITY_ALIGNED,
		.start = IOVA_RAM,
		.last = U64_MAX,
		.queue_len = 2,
	};
	char line[256];
	int fd;

	read_own("clients");
	ASSERT_STREQ("", self->text);
	fd = ioctl(self->container_fd, VFIO_IOMMU_RANGE_NOTIFIER, &cmd);
	ASSERT_LE(0, fd);
	snprintf(line, sizeof(line), "fd window %#llx-%#llx events map,unmap granularity aligned delivered 0 dropped 0 queued 0\n",
		 IOVA_RAM, (unsigned long long)U64_MAX);
	read_own("clients");
	ASSERT_STREQ(line, self->text);
	read_own("info");
	ASSERT_HAS(self->text, "\nclients 1\n");

	/* One aligned block each; the queue holds one, then overflows. */
	test_range_map(self->buf, IOVA_RAM, IOVA_RAM + BLK - 1);
	test_range_map(self->buf + BLK, IOVA_RAM + BLK,
		       IOVA_RAM + 2 * BLK - 1);
	test_range_map(self->buf + 2 * BLK, IOVA_RAM + 2 * BLK,
		       IOVA_RAM + 3 * BLK - 1);
	snprintf(line, sizeof(line), "fd window %#llx-%#llx events map,unmap granularity aligned delivered 3 dropped 2 queued 2\n",
		 IOVA_RAM, (unsigned long long)U64_MAX);
	read_own("clients");
	ASSERT_STREQ(line, self->text);
	ASSERT_EQ(3, own_counter(self->dir, "notify_events"));

	close(fd);
	read_own("clients");
	ASSERT_STREQ("", self->text);
}

/*
 * Closing everything releases the container: its directory goes, a file
 * still open reads -EIO instead of a freed container, and the pages are
 * released.
 */
TEST_F(debugfs, release)
{
	char path[PATH_MAX + 16];
	char c;
	int fd;

	test_range_map(self->buf, IOVA_RAM, IOVA_RAM + BUF_SIZE - 1);
	snprintf(path, sizeof(path), "%s/mappings", self->dir);
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);

	edu_close(&self->edu);
	vfio_close(&self->group_fd);
	vfio_close(&self->container_fd);

	EXPECT_ERRNO(EIO, read(fd, &c, 1));
	close(fd);
	ASSERT_NE(0, access(self->dir, F_OK));
	ASSERT_FALSE(own_container_dir(path, sizeof(path)));
	ASSERT_EQ(self->base_pinned,
		  counter_in(DEBUGFS_ROOT "/counters", "pinned_pages"));
}

TEST_HARNESS_MAIN
