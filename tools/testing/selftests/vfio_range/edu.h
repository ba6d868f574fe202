/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A minimal userspace driver for QEMU's "edu" educational PCI device
 * (hw/misc/edu.c) behind vfio-pci: finding the devices and their IOMMU
 * groups in sysfs, opening a group and a device, mapping BAR0, enabling
 * bus mastering, register access and DMA.
 *
 * Needs only libc and the Linux uapi headers, so that programs outside the
 * kselftest harness can use it. Functions return 0 or -errno unless they
 * say otherwise; those returning a file descriptor or a count return -1
 * with errno set on failure.
 */
#ifndef __SELFTEST_VFIO_RANGE_EDU_H
#define __SELFTEST_VFIO_RANGE_EDU_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <linux/pci_regs.h>
#include <linux/types.h>
#include <linux/vfio.h>

#define EDU_VENDOR		0x1234
#define EDU_DEVICE		0x11e8
#define EDU_MAX			4

#define EDU_REG_IDENT		0x00
#define EDU_REG_LIVENESS	0x04
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_COUNT	0x90
#define EDU_REG_DMA_CMD		0x98

#define EDU_IDENT		0x010000edU
#define EDU_DMA_START		0x1
#define EDU_DMA_FROM_DEV	0x2	/* device buffer -> RAM */

/* The device-side DMA buffer. */
#define EDU_BUF_ADDR		0x40000ULL
#define EDU_BUF_SIZE		4096
/*
 * QEMU 7.2 aborts when a transfer reaches the last byte of the device
 * buffer, so stay well below it. The device also masks DMA addresses to
 * 28 bits (every IOVA it uses must be below 256 MiB) unless it was created
 * with dma_mask=0xffffffffffffffff, as run.sh does for the IOMMUs whose
 * space reaches 2^64 (--iommu amd, --iommu virtio).
 */
#define EDU_DMA_LEN		2048
#define EDU_DMA_TIMEOUT_MS	10000

/* ---------------------------------------------------------------------- */
/* Discovery                                                              */
/* ---------------------------------------------------------------------- */

struct edu_info {
	char bdf[NAME_MAX + 1];
	int group;
};

/* Reads one number from a sysfs file; -1 with errno on failure. */
static inline int sysfs_read_ulong(const char *path, unsigned long *val)
{
	char buf[64];
	char *end;
	ssize_t len;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0) {
		if (!len)
			errno = ENODATA;
		return -1;
	}
	buf[len] = '\0';
	errno = 0;
	*val = strtoul(buf, &end, 0);
	if (errno)
		return -1;
	if (end == buf) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static inline int edu_info_cmp(const void *a, const void *b)
{
	const struct edu_info *ea = a, *eb = b;

	return strcmp(ea->bdf, eb->bdf);
}

/* The physical address of BAR @bar of @bdf, from sysfs; 0 if unknown. */
static inline unsigned long long pci_bar_phys(const char *bdf, int bar)
{
	unsigned long long start = 0, end, flags;
	char path[PATH_MAX];
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource", bdf);
	f = fopen(path, "r");
	if (!f)
		return 0;
	for (i = 0; i <= bar; i++) {
		if (fscanf(f, "%llx %llx %llx", &start, &end, &flags) != 3) {
			start = 0;
			break;
		}
	}
	fclose(f);
	return start;
}

static inline unsigned long long edu_bar0_phys(const char *bdf)
{
	return pci_bar_phys(bdf, 0);
}

/*
 * Fill @edu with up to @max PCI devices @vendor:@device, sorted by PCI
 * address, and return how many were found. Devices without an IOMMU group
 * are left out.
 */
static inline int pci_find(unsigned long want_vendor, unsigned long want_device,
			   struct edu_info *edu, int max)
{
	const char *base = "/sys/bus/pci/devices";
	char path[PATH_MAX], link[PATH_MAX];
	unsigned long vendor, device;
	struct dirent *de;
	const char *slash;
	ssize_t len;
	int n = 0;
	DIR *dir;

	dir = opendir(base);
	if (!dir)
		return 0;
	while ((de = readdir(dir)) && n < max) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/vendor", base, de->d_name);
		if (sysfs_read_ulong(path, &vendor) || vendor != want_vendor)
			continue;
		snprintf(path, sizeof(path), "%s/%s/device", base, de->d_name);
		if (sysfs_read_ulong(path, &device) || device != want_device)
			continue;
		snprintf(path, sizeof(path), "%s/%s/iommu_group", base,
			 de->d_name);
		len = readlink(path, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = '\0';
		slash = strrchr(link, '/');
		snprintf(edu[n].bdf, sizeof(edu[n].bdf), "%s", de->d_name);
		edu[n].group = atoi(slash ? slash + 1 : link);
		n++;
	}
	closedir(dir);
	qsort(edu, n, sizeof(*edu), edu_info_cmp);
	return n;
}

/* The edu devices (pci_find()). */
static inline int edu_find(struct edu_info *edu, int max)
{
	return pci_find(EDU_VENDOR, EDU_DEVICE, edu, max);
}

/* Opens /dev/vfio/@group; the fd, or -1 with errno. */
static inline int vfio_group_open(int group)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/vfio/%d", group);
	return open(path, O_RDWR);
}

/* ---------------------------------------------------------------------- */
/* Device                                                                 */
/* ---------------------------------------------------------------------- */

struct edu_dev {
	int fd;
	void *bar0;
	size_t bar0_size;
	__u64 bar0_offset;	/* of BAR0 in the device fd, for mmap */
	__u64 config_offset;
};

static inline __u32 edu_read32(struct edu_dev *edu, unsigned int reg)
{
	return *(volatile __u32 *)((char *)edu->bar0 + reg);
}

static inline void edu_write32(struct edu_dev *edu, unsigned int reg, __u32 val)
{
	*(volatile __u32 *)((char *)edu->bar0 + reg) = val;
}

static inline void edu_write64(struct edu_dev *edu, unsigned int reg, __u64 val)
{
	*(volatile __u64 *)((char *)edu->bar0 + reg) = val;
}

static inline void edu_init(struct edu_dev *edu)
{
	edu->fd = -1;
	edu->bar0 = NULL;
	edu->bar0_size = 0;
	edu->bar0_offset = 0;
	edu->config_offset = 0;
}

static inline void edu_close(struct edu_dev *edu)
{
	if (edu->bar0)
		munmap(edu->bar0, edu->bar0_size);
	edu->bar0 = NULL;
	if (edu->fd >= 0)
		close(edu->fd);
	edu->fd = -1;
}

/*
 * Gets the device fd of @bdf from @group_fd (its group must already be in
 * a container with an IOMMU set) into @edu->fd and checks it is a PCI
 * device with a config region.
 */
static inline int edu_open_fd(struct edu_dev *edu, int group_fd,
			      const char *bdf)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };

	edu->fd = ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (edu->fd < 0) {
		edu->fd = -1;
		return -errno;
	}
	if (ioctl(edu->fd, VFIO_DEVICE_GET_INFO, &info))
		return -errno;
	if (!(info.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX)
		return -ENODEV;
	return 0;
}

/* Region @index of the device: its offset in the fd, size and flags. */
static inline int edu_region_info(struct edu_dev *edu, __u32 index,
				  struct vfio_region_info *reg)
{
	memset(reg, 0, sizeof(*reg));
	reg->argsz = sizeof(*reg);
	reg->index = index;
	return ioctl(edu->fd, VFIO_DEVICE_GET_REGION_INFO, reg) ? -errno : 0;
}

/*
 * Maps BAR0 read-write into @edu->bar0. -ENOTSUP if vfio-pci does not
 * allow mmap of it, -ENODEV if it is too small to be an edu BAR.
 */
static inline int edu_map_bar0(struct edu_dev *edu)
{
	struct vfio_region_info reg;
	void *bar;
	int rc;

	rc = edu_region_info(edu, VFIO_PCI_BAR0_REGION_INDEX, &reg);
	if (rc)
		return rc;
	if (!(reg.flags & VFIO_REGION_INFO_FLAG_MMAP))
		return -ENOTSUP;
	if (reg.size < EDU_REG_DMA_CMD + 8ULL)
		return -ENODEV;
	bar = mmap(NULL, reg.size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   edu->fd, reg.offset);
	if (bar == MAP_FAILED)
		return -errno;
	edu->bar0 = bar;
	edu->bar0_size = reg.size;
	edu->bar0_offset = reg.offset;
	return 0;
}

/* Enables memory decoding and bus mastering in the command register. */
static inline int edu_enable_master(struct edu_dev *edu)
{
	struct vfio_region_info reg;
	__u16 cmd;
	off_t off;
	int rc;

	rc = edu_region_info(edu, VFIO_PCI_CONFIG_REGION_INDEX, &reg);
	if (rc)
		return rc;
	edu->config_offset = reg.offset;
	off = edu->config_offset + PCI_COMMAND;
	if (pread(edu->fd, &cmd, sizeof(cmd), off) != (ssize_t)sizeof(cmd))
		return -EIO;
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	if (pwrite(edu->fd, &cmd, sizeof(cmd), off) != (ssize_t)sizeof(cmd))
		return -EIO;
	if (pread(edu->fd, &cmd, sizeof(cmd), off) != (ssize_t)sizeof(cmd))
		return -EIO;
	return cmd & PCI_COMMAND_MASTER ? 0 : -EIO;
}

/*
 * edu_open_fd(), edu_map_bar0() and edu_enable_master() in one, then a
 * check of the ident register (-ENODEV if it is wrong). On failure @edu is
 * closed again.
 */
/*
 * Sets or clears memory decode (PCI_COMMAND_MEMORY) through the device fd's
 * config region, and reads it back; vfio-pci zaps every user mapping of
 * the BARs when it goes off. 0, or -1 if it did not take.
 */
static inline int edu_set_memory_decode(struct edu_dev *edu, bool on)
{
	off_t off = edu->config_offset + PCI_COMMAND;
	__u16 cmd;

	if (pread(edu->fd, &cmd, sizeof(cmd), off) != (ssize_t)sizeof(cmd))
		return -1;
	cmd = on ? cmd | PCI_COMMAND_MEMORY : cmd & ~PCI_COMMAND_MEMORY;
	if (pwrite(edu->fd, &cmd, sizeof(cmd), off) != (ssize_t)sizeof(cmd) ||
	    pread(edu->fd, &cmd, sizeof(cmd), off) != (ssize_t)sizeof(cmd))
		return -1;
	return !!(cmd & PCI_COMMAND_MEMORY) == on ? 0 : -1;
}

static inline int edu_open(struct edu_dev *edu, int group_fd, const char *bdf)
{
	int rc;

	edu_init(edu);
	rc = edu_open_fd(edu, group_fd, bdf);
	if (!rc)
		rc = edu_map_bar0(edu);
	if (!rc)
		rc = edu_enable_master(edu);
	if (!rc && edu_read32(edu, EDU_REG_IDENT) != EDU_IDENT)
		rc = -ENODEV;
	if (rc)
		edu_close(edu);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* DMA                                                                    */
/* ---------------------------------------------------------------------- */

static inline long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static inline bool edu_dma_busy(struct edu_dev *edu)
{
	return edu_read32(edu, EDU_REG_DMA_CMD) & EDU_DMA_START;
}

/*
 * Starts one transfer of @count bytes from @src to @dst: with @from_dev,
 * from the device buffer to memory, else from memory to the device buffer.
 * -EBUSY if a transfer is still running.
 */
static inline int edu_dma_start(struct edu_dev *edu, __u64 src, __u64 dst,
				__u32 count, bool from_dev)
{
	__u32 cmd = EDU_DMA_START | (from_dev ? EDU_DMA_FROM_DEV : 0);

	if (edu_dma_busy(edu))
		return -EBUSY;
	edu_write64(edu, EDU_REG_DMA_SRC, src);
	edu_write64(edu, EDU_REG_DMA_DST, dst);
	edu_write64(edu, EDU_REG_DMA_COUNT, count);
	edu_write64(edu, EDU_REG_DMA_CMD, cmd);
	return 0;
}

/* Polls for the end of a transfer; -ETIMEDOUT after @timeout_ms. */
static inline int edu_dma_wait(struct edu_dev *edu, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;

	while (edu_dma_busy(edu)) {
		if (now_ms() > deadline)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}

/*
 * Run one edu DMA transfer and wait for it. Returns 0, or -1 with errno
 * EBUSY or ETIMEDOUT if the device stayed busy. A transfer the IOMMU blocks
 * still completes from the device's point of view (the data just goes
 * nowhere).
 */
static inline int edu_dma(struct edu_dev *edu, __u64 src, __u64 dst,
			  __u32 count, bool from_dev)
{
	int rc;

	rc = edu_dma_start(edu, src, dst, count, from_dev);
	if (!rc)
		rc = edu_dma_wait(edu, EDU_DMA_TIMEOUT_MS);
	if (rc) {
		errno = -rc;
		return -1;
	}
	return 0;
}

#endif /* __SELFTEST_VFIO_RANGE_EDU_H */
