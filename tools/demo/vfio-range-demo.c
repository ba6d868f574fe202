// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-range demo (make run): the same edu PCI device, the same two IOVA
 * ranges, once through upstream's vfio_iommu_type1 and once through this
 * module, and a table of what each did.
 *
 * The ranges are an ordinary one and the last 2 MiB below 2^64, which
 * only an IOMMU whose space reaches 2^64 has (make run boots AMD-Vi, and
 * edu with dma_mask=0xffffffffffffffff). For each: map 2 MiB of memory,
 * let the device copy through it both ways (the second copy ends on the
 * range's last byte), unmap exactly that range, let the device write to
 * it again, and read VmLck. Then the MMIO trim: a BAR0 section whose edges
 * are not on IOMMU pages, which type1 refuses and this module maps by its
 * aligned interior. vfio-range's container is emptied with [0, U64_MAX]
 * in one call at the end.
 *
 * Exits 0 when vfio-range did everything right, whatever type1 did.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/vfio.h>
#include <linux/vfio_range.h>

#include "edu.h"

#define SZ_2M		0x200000ULL
#define LOW_IOVA	0x100000000ULL		/* 4 GiB: ordinary */
#define TOP_IOVA	(0ULL - SZ_2M)		/* the last 2 MiB below 2^64 */
#define TRIM_IOVA	0x200000000ULL		/* 8 GiB */
#define TRIM_OFF	0x800ULL		/* BAR0 section [0x800, 0x47ff] */
#define TRIM_LEN	0x4000ULL

struct row {
	const char *map;	/* "yes" or the errno text */
	const char *dma;	/* "ok", "WRONG" or "-" */
	long long unmapped;	/* bytes the unmap reported, -1: failed */
	const char *after;	/* DMA after unmap */
	long locked_kb;		/* VmLck after unmap, over the baseline */
	int ok;			/* what vfio-range must do */
};

struct backend {
	const char *name;
	__u32 type;
	int container, group;
	struct edu_dev edu;
	__u64 top;		/* last usable IOVA (GET_INFO) */
	__u64 pgsize;
};

static long vmlck_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* The last byte of the usable space and the smallest page (GET_INFO). */
static void get_info(struct backend *b)
{
	struct vfio_iommu_type1_info_cap_iova_range *cap;
	struct vfio_iommu_type1_info *info;
	struct vfio_info_cap_header *hdr;
	char buf[4096] = { 0 };
	__u32 off;

	info = (void *)buf;
	info->argsz = sizeof(buf);
	b->top = 0;
	b->pgsize = 4096;
	if (ioctl(b->container, VFIO_IOMMU_GET_INFO, info))
		return;
	b->pgsize = info->iova_pgsizes & -info->iova_pgsizes;
	for (off = info->cap_offset; off && off < sizeof(buf) - sizeof(*hdr);
	     off = hdr->next) {
		hdr = (void *)(buf + off);
		if (hdr->id != VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE)
			continue;
		cap = (void *)hdr;
		if (cap->nr_iovas)
			b->top = cap->iova_ranges[cap->nr_iovas - 1].end;
		break;
	}
}

static int map(struct backend *b, void *buf, __u64 iova, __u64 size,
	       __u32 trim, struct vfio_range_map *out)
{
	struct vfio_iommu_type1_dma_map t1 = {
		.argsz = sizeof(t1),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)buf, .iova = iova, .size = size,
	};
	struct vfio_range_map r = {
		.argsz = sizeof(r),
		.flags = trim ? VFIO_RANGE_MAP_READ | trim :
			 VFIO_RANGE_MAP_READ | VFIO_RANGE_MAP_WRITE,
		.vaddr = (uintptr_t)buf, .start = iova, .last = iova + size - 1,
	};
	int ret;

	if (b->type != VFIO_RANGE_IOMMU) {
		if (trim)
			t1.flags = VFIO_DMA_MAP_FLAG_READ;
		return ioctl(b->container, VFIO_IOMMU_MAP_DMA, &t1);
	}
	ret = ioctl(b->container, VFIO_IOMMU_RANGE_MAP, &r);
	if (out)
		*out = r;
	return ret;
}

/* Unmaps exactly [iova, iova + size - 1]; the bytes reported, or -1. */
static long long unmap(struct backend *b, __u64 iova, __u64 size)
{
	struct vfio_iommu_type1_dma_unmap t1 = {
		.argsz = sizeof(t1), .iova = iova, .size = size,
	};
	struct vfio_range_unmap r = {
		.argsz = sizeof(r), .start = iova, .last = iova + size - 1,
	};

	if (b->type != VFIO_RANGE_IOMMU)
		return ioctl(b->container, VFIO_IOMMU_UNMAP_DMA, &t1) ?
		       -1 : (long long)t1.size;
	return ioctl(b->container, VFIO_IOMMU_RANGE_UNMAP, &r) ?
	       -1 : (long long)r.unmapped;
}

static int dma(struct backend *b, __u64 src, __u64 dst, bool from_dev)
{
	return edu_dma(&b->edu, src, dst, EDU_DMA_LEN, from_dev);
}

/* One range through one backend: the row of the table. */
static void run_range(struct backend *b, char *buf, __u64 iova,
		      struct row *row)
{
	__u64 last = iova + SZ_2M - EDU_DMA_LEN;	/* ends on the last byte */
	long base = vmlck_kb();

	memset(row, 0, sizeof(*row));
	row->dma = row->after = "-";
	row->unmapped = -1;
	memset(buf, 0, SZ_2M);
	if (b->top < iova + SZ_2M - 1) {
		row->map = "outside";
		row->locked_kb = vmlck_kb() - base;
		return;
	}
	if (map(b, buf, iova, SZ_2M, 0, NULL)) {
		row->map = strerror(errno);
		row->locked_kb = vmlck_kb() - base;
		return;
	}
	row->map = "yes";

	/* first 2 KiB -> device -> last 2 KiB, and back to the middle */
	for (size_t i = 0; i < EDU_DMA_LEN; i++)
		buf[i] = (char)(i * 7 + 1);
	if (dma(b, iova, EDU_BUF_ADDR, false) ||
	    dma(b, EDU_BUF_ADDR, last, true) ||
	    dma(b, last, EDU_BUF_ADDR, false) ||
	    dma(b, EDU_BUF_ADDR, iova + SZ_2M / 2, true))
		row->dma = "timeout";
	else
		row->dma = !memcmp(buf, buf + SZ_2M - EDU_DMA_LEN, EDU_DMA_LEN) &&
			   !memcmp(buf, buf + SZ_2M / 2, EDU_DMA_LEN) ?
			   "ok" : "WRONG";

	row->unmapped = unmap(b, iova, SZ_2M);

	memset(buf, 0, SZ_2M);
	dma(b, EDU_BUF_ADDR, iova, true);
	dma(b, EDU_BUF_ADDR, last, true);
	row->after = buf[0] || buf[SZ_2M - 1] ? "REACHED MEMORY" : "blocked";
	row->locked_kb = vmlck_kb() - base;
	row->ok = !strcmp(row->dma, "ok") && row->unmapped == (long long)SZ_2M &&
		  !strcmp(row->after, "blocked") && !row->locked_kb;
}

/*
 * BAR0 section [TRIM_OFF, TRIM_OFF + TRIM_LEN - 1]: neither edge is on a
 * page. Fills @what with the outcome; returns whether vfio-range trimmed.
 */
static int run_trim(struct backend *b, char *what, size_t len)
{
	struct vfio_range_map out;
	__u64 iova = TRIM_IOVA + TRIM_OFF;

	if (map(b, (char *)b->edu.bar0 + TRIM_OFF, iova, TRIM_LEN,
		b->type == VFIO_RANGE_IOMMU ? VFIO_RANGE_MAP_TRIM : 0, &out)) {
		snprintf(what, len, "refused: %s", strerror(errno));
		return 0;
	}
	if (b->type != VFIO_RANGE_IOMMU) {
		snprintf(what, len, "mapped as is");
		return 0;
	}
	snprintf(what, len, "maps the aligned interior [%#llx, %#llx]",
		 (unsigned long long)out.out_start,
		 (unsigned long long)out.out_last);
	return out.out_start == TRIM_IOVA + b->pgsize;
}

static int open_backend(struct backend *b, const struct edu_info *info)
{
	b->container = open("/dev/vfio/vfio", O_RDWR);
	if (b->container < 0)
		return -1;
	if (ioctl(b->container, VFIO_CHECK_EXTENSION, b->type) != 1) {
		errno = ENODEV;
		return -1;
	}
	b->group = vfio_group_open(info->group);
	if (b->group < 0 ||
	    ioctl(b->group, VFIO_GROUP_SET_CONTAINER, &b->container) ||
	    ioctl(b->container, VFIO_SET_IOMMU, b->type))
		return -1;
	get_info(b);
	return edu_open(&b->edu, b->group, info->bdf) ? -1 : 0;
}

static void close_backend(struct backend *b)
{
	edu_close(&b->edu);
	if (b->group >= 0)
		close(b->group);
	if (b->container >= 0)
		close(b->container);
}

static void print_row(const char *range, const char *name, const struct row *r)
{
	char bytes[32];

	if (r->unmapped < 0)
		snprintf(bytes, sizeof(bytes), "%s", "-");
	else
		snprintf(bytes, sizeof(bytes), "%lld", r->unmapped);
	printf("%-30s %-10s %-7s %-7s %-9s %-15s %ld KiB\n", range, name,
	       r->map, r->dma, bytes, r->after, r->locked_kb);
}

int main(void)
{
	struct backend b[2] = {
		{ .name = "type1", .type = VFIO_TYPE1v2_IOMMU },
		{ .name = "vfio-range", .type = VFIO_RANGE_IOMMU },
	};
	struct vfio_range_unmap all = {
		.argsz = sizeof(all), .start = 0, .last = UINT64_MAX,
	};
	struct row low[2], top[2];
	char trim[2][96], *buf;
	struct edu_info info;
	int i, ok = 1, trimmed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (edu_find(&info, 1) != 1) {
		fprintf(stderr, "demo: no edu device bound to vfio-pci\n");
		return 1;
	}
	buf = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return 1;

	for (i = 0; i < 2; i++) {
		b[i].container = b[i].group = -1;
		edu_init(&b[i].edu);
		if (open_backend(&b[i], &info)) {
			fprintf(stderr, "demo: %s on edu %s: %s%s\n", b[i].name,
				info.bdf, strerror(errno), i ?
				" (load vfio_iommu_range.ko)" : "");
			return 1;
		}
		run_range(&b[i], buf, LOW_IOVA, &low[i]);
		run_range(&b[i], buf, TOP_IOVA, &top[i]);
		trimmed = run_trim(&b[i], trim[i], sizeof(trim[i]));
		if (i) {
			/* Everything left (the trimmed BAR section) at once. */
			ok = !ioctl(b[i].container, VFIO_IOMMU_RANGE_UNMAP, &all);
		}
		close_backend(&b[i]);
	}

	printf("edu %s, IOMMU group %d; usable IOVA space up to %#llx\n",
	       info.bdf, info.group, (unsigned long long)b[1].top);
	printf("%-30s %-10s %-7s %-7s %-9s %-15s %s\n", "2 MiB at IOVA", "backend",
	       "mapped", "DMA", "unmapped", "DMA after", "locked after");
	for (i = 0; i < 2; i++)
		print_row(i ? "" : "[0x100000000, 0x1001fffff]", b[i].name,
			  &low[i]);
	for (i = 0; i < 2; i++)
		print_row(i ? "" : "[2^64 - 2 MiB, U64_MAX]", b[i].name,
			  &top[i]);
	printf("MMIO trim, BAR0 [0x800, 0x47ff]: type1 %s; vfio-range %s\n",
	       trim[0], trim[1]);
	printf("vfio-range: [0, U64_MAX] unmapped the rest in one call (%llu bytes)\n",
	       (unsigned long long)all.unmapped);

	ok = ok && low[1].ok && trimmed &&
	     (top[1].ok || !strcmp(top[1].map, "outside"));
	if (!strcmp(top[1].map, "outside"))
		printf("(this IOMMU's space ends below 2^64: boot AMD-Vi or virtio-iommu for the second range)\n");
	printf("%s\n", ok ? "done" : "vfio-range did NOT behave as it should");
	munmap(buf, SZ_2M);
	return ok ? 0 : 1;
}
