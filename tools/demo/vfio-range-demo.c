// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-range demo (make run): drive an edu PCI device through the
 * VFIO_RANGE_IOMMU backend and print what happens at each step.
 *
 * Select the type, map two buffers with [start, last] ranges, let the
 * device copy bytes from one into its own memory and back into the other,
 * unmap [0, U64_MAX] in one call, and show that a DMA to the old IOVA is
 * blocked by the IOMMU.
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

#define SRC_IOVA	0x100000ULL
#define DST_IOVA	0x200000ULL
#define BUF_SIZE	0x1000ULL
#define MESSAGE		"vfio-range: copied by the edu device through the IOMMU"

static int fail(const char *what)
{
	fprintf(stderr, "demo: %s: %s\n", what, strerror(errno));
	return 1;
}

static int map(int container, void *buf, __u64 start, __u64 last)
{
	struct vfio_range_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_RANGE_MAP_READ | VFIO_RANGE_MAP_WRITE,
		.vaddr = (uintptr_t)buf,
		.start = start,
		.last = last,
	};

	if (ioctl(container, VFIO_IOMMU_RANGE_MAP, &map))
		return -1;
	printf("mapped   [%#llx, %#llx] -> %p\n", (unsigned long long)start,
	       (unsigned long long)last, buf);
	return 0;
}

int main(void)
{
	struct vfio_range_unmap unmap = {
		.argsz = sizeof(unmap), .start = 0, .last = UINT64_MAX,
	};
	int container, group;
	struct edu_info info;
	struct edu_dev edu;
	char *src, *dst;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (edu_find(&info, 1) != 1) {
		fprintf(stderr, "demo: no edu device bound to vfio-pci\n");
		return 1;
	}
	printf("device   edu %s, IOMMU group %d\n", info.bdf, info.group);

	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		return fail("open /dev/vfio/vfio");
	if (ioctl(container, VFIO_CHECK_EXTENSION, VFIO_RANGE_IOMMU) != 1) {
		fprintf(stderr, "demo: VFIO_RANGE_IOMMU not offered: load vfio_iommu_range.ko\n");
		return 1;
	}
	group = vfio_group_open(info.group);
	if (group < 0)
		return fail("open the group");
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container))
		return fail("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_RANGE_IOMMU))
		return fail("VFIO_SET_IOMMU");
	printf("selected VFIO_RANGE_IOMMU (%#x)\n", VFIO_RANGE_IOMMU);
	if (edu_open(&edu, group, info.bdf))
		return fail("open the edu device");

	src = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	dst = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED || dst == MAP_FAILED)
		return fail("mmap");
	strcpy(src, MESSAGE);

	if (map(container, src, SRC_IOVA, SRC_IOVA + BUF_SIZE - 1) ||
	    map(container, dst, DST_IOVA, DST_IOVA + BUF_SIZE - 1))
		return fail("VFIO_IOMMU_RANGE_MAP");

	if (edu_dma(&edu, SRC_IOVA, EDU_BUF_ADDR, sizeof(MESSAGE), false) ||
	    edu_dma(&edu, EDU_BUF_ADDR, DST_IOVA, sizeof(MESSAGE), true))
		return fail("edu DMA");
	printf("dma      %#llx -> device -> %#llx: \"%s\"\n", SRC_IOVA, DST_IOVA,
	       dst);
	if (strcmp(dst, MESSAGE)) {
		fprintf(stderr, "demo: the copy did not arrive\n");
		return 1;
	}

	if (ioctl(container, VFIO_IOMMU_RANGE_UNMAP, &unmap))
		return fail("VFIO_IOMMU_RANGE_UNMAP");
	printf("unmapped [0, 0xffffffffffffffff] in one call: %llu bytes\n",
	       (unsigned long long)unmap.unmapped);

	memset(dst, 0, BUF_SIZE);
	if (edu_dma(&edu, EDU_BUF_ADDR, DST_IOVA, sizeof(MESSAGE), true))
		return fail("edu DMA");
	printf("dma      device -> %#llx after unmap: %s\n", DST_IOVA,
	       dst[0] ? "REACHED MEMORY" : "blocked by the IOMMU");
	if (dst[0])
		return 1;

	edu_close(&edu);
	close(group);
	close(container);
	printf("done\n");
	return 0;
}
