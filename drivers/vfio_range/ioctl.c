// SPDX-License-Identifier: GPL-2.0-only
/*
 * The container ioctls: copy the user structure in, check the fields that
 * need no container state, call the engine, copy the answer out.
 */
#include <linux/iommu.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>
#include <uapi/linux/vfio_range.h>

#include <vfio_range/core.h>

/*
 * Reads a structure that begins with __u32 argsz. Fields past argsz read
 * as zero; bytes past the known structure must be zero (E2BIG otherwise),
 * and a structure larger than a page is refused outright rather than
 * scanned.
 */
static int vrange_copy_struct_in(void *dst, size_t ksize, size_t minsz,
				 void __user *uptr, u32 *argsz)
{
	if (get_user(*argsz, (u32 __user *)uptr))
		return -EFAULT;
	if (*argsz < minsz)
		return -EINVAL;
	if (*argsz > PAGE_SIZE)
		return -E2BIG;
	return copy_struct_from_user(dst, ksize, uptr, *argsz);
}

/*
 * Writes back the output fields [@from, @to) of a structure, as far as
 * argsz covers them; input fields are never written, so a structure in
 * read-only memory works for a caller that asks for no outputs.
 */
static int vrange_copy_outputs_out(void __user *uptr, const void *src,
				   size_t from, size_t to, u32 argsz)
{
	to = min_t(size_t, to, argsz);
	if (to <= from)
		return 0;
	return copy_to_user(uptr + from, src + from, to - from) ? -EFAULT : 0;
}

static long vrange_check_extension(struct vrange_iommu *iommu,
				   unsigned long ext)
{
	switch (ext) {
	case VFIO_RANGE_IOMMU:
		return 1;
	case VFIO_DMA_CC_IOMMU:
		return iommu ? vrange_coherent(iommu) : 0;
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_UNMAP_ALL:
		return vrange_type1_offered(iommu);
	case VFIO_UPDATE_VADDR:
		return vrange_vaddr_offered(iommu);
	default:
		return 0;
	}
}

static int vrange_info_add_iova_ranges(struct vrange_iommu *iommu,
				       struct vfio_info_cap *caps)
{
	struct vfio_iommu_type1_info_cap_iova_range *cap;
	struct vfio_info_cap_header *header;
	size_t size;

	size = struct_size(cap, iova_ranges, iommu->nr_usable);
	header = vfio_info_cap_add(caps, size,
				   VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1);
	if (IS_ERR(header))
		return PTR_ERR(header);

	cap = container_of(header, struct vfio_iommu_type1_info_cap_iova_range,
			   header);
	cap->nr_iovas = iommu->nr_usable;
	memcpy(cap->iova_ranges, iommu->usable,
	       iommu->nr_usable * sizeof(*iommu->usable));
	return 0;
}

static int vrange_info_add_dma_avail(struct vrange_iommu *iommu,
				     struct vfio_info_cap *caps)
{
	struct vfio_iommu_type1_info_dma_avail *cap;
	struct vfio_info_cap_header *header;
	unsigned int max = READ_ONCE(vrange_max_mappings);

	header = vfio_info_cap_add(caps, sizeof(*cap),
				   VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, 1);
	if (IS_ERR(header))
		return PTR_ERR(header);

	cap = container_of(header, struct vfio_iommu_type1_info_dma_avail,
			   header);
	cap->avail = max > iommu->nr_mappings ? max - iommu->nr_mappings : 0;
	return 0;
}

/*
 * VFIO_IOMMU_GET_INFO, with the standard type1 structure and the VFIO
 * capability-chain protocol: the chain follows the structure; if argsz
 * cannot hold it, the answer sets VFIO_IOMMU_INFO_CAPS and the argsz
 * needed, without the chain. Nothing is written past the caller's argsz.
 */
static int vrange_get_info(struct vrange_iommu *iommu, void __user *uptr)
{
	const size_t minsz = offsetofend(struct vfio_iommu_type1_info,
					 iova_pgsizes);
	struct vfio_info_cap caps = {};
	struct vfio_iommu_type1_info info;
	u32 argsz;
	int rc;

	/* Padding (6.1) and pad (6.12) go to the user too. */
	memset(&info, 0, sizeof(info));
	if (copy_from_user(&info, uptr, minsz))
		return -EFAULT;
	argsz = info.argsz;
	if (argsz < minsz)
		return -EINVAL;

	mutex_lock(&iommu->lock);
	info.flags = VFIO_IOMMU_INFO_PGSIZES;
	info.iova_pgsizes = iommu->pgsize_bitmap;
	info.cap_offset = 0;
	rc = vrange_info_add_iova_ranges(iommu, &caps);
	if (!rc)
		rc = vrange_info_add_dma_avail(iommu, &caps);
	mutex_unlock(&iommu->lock);
	if (rc)
		goto out_free;

	info.flags |= VFIO_IOMMU_INFO_CAPS;
	info.argsz = sizeof(info) + caps.size;
	if (argsz >= info.argsz) {
		vfio_info_cap_shift(&caps, sizeof(info));
		if (copy_to_user(uptr + sizeof(info), caps.buf, caps.size)) {
			rc = -EFAULT;
			goto out_free;
		}
		info.cap_offset = sizeof(info);
	}
	rc = copy_to_user(uptr, &info, min_t(size_t, argsz, sizeof(info))) ?
		-EFAULT : 0;
out_free:
	kfree(caps.buf);
	return rc;
}

static int vrange_ioctl_map(struct vrange_iommu *iommu, void __user *uptr)
{
	const u32 known = VFIO_RANGE_MAP_READ | VFIO_RANGE_MAP_WRITE |
			  VFIO_RANGE_MAP_TRIM | VFIO_RANGE_MAP_VADDR;
	struct vrange_map_req req = {};
	struct vfio_range_map cmd;
	u32 argsz;
	int rc;

	rc = vrange_copy_struct_in(&cmd, sizeof(cmd),
				   offsetofend(struct vfio_range_map, last),
				   uptr, &argsz);
	if (rc)
		return rc;
	if (cmd.flags & ~known || cmd.__reserved)
		return -EINVAL;
	if (cmd.flags & VFIO_RANGE_MAP_VADDR) {
		if (cmd.flags != VFIO_RANGE_MAP_VADDR)
			return -EINVAL;
		return vrange_vaddr_update(iommu, cmd.start, cmd.last,
					   cmd.vaddr);
	}

	if (cmd.flags & VFIO_RANGE_MAP_READ)
		req.iommu_prot |= IOMMU_READ;
	if (cmd.flags & VFIO_RANGE_MAP_WRITE)
		req.iommu_prot |= IOMMU_WRITE;
	if (!req.iommu_prot)
		return -EINVAL;
	req.trim = cmd.flags & VFIO_RANGE_MAP_TRIM;
	req.vaddr = cmd.vaddr;
	req.start = cmd.start;
	req.last = cmd.last;

	rc = vrange_map(iommu, &req);
	if (rc)
		return rc;
	cmd.out_start = req.out_start;
	cmd.out_last = req.out_last;
	cmd.out_flags = req.out_empty ? VFIO_RANGE_MAP_OUT_EMPTY : 0;
	return vrange_copy_outputs_out(uptr, &cmd,
				       offsetof(struct vfio_range_map,
						out_start),
				       offsetofend(struct vfio_range_map,
						   out_flags), argsz);
}

static int vrange_ioctl_unmap(struct vrange_iommu *iommu, void __user *uptr)
{
	struct vfio_range_unmap cmd;
	u32 argsz;
	int rc;

	rc = vrange_copy_struct_in(&cmd, sizeof(cmd),
				   offsetofend(struct vfio_range_unmap,
					       unmapped),
				   uptr, &argsz);
	if (rc)
		return rc;
	if (cmd.flags & ~VFIO_RANGE_UNMAP_VADDR)
		return -EINVAL;

	if (cmd.flags & VFIO_RANGE_UNMAP_VADDR)
		rc = vrange_vaddr_invalidate(iommu, cmd.start, cmd.last,
					     VRANGE_UNMAP_EXACT, &cmd.unmapped);
	else
		rc = vrange_unmap_range(iommu, cmd.start, cmd.last,
					VRANGE_UNMAP_EXACT, &cmd.unmapped);
	if (rc)
		return rc;
	return vrange_copy_outputs_out(uptr, &cmd,
				       offsetof(struct vfio_range_unmap,
						unmapped),
				       offsetofend(struct vfio_range_unmap,
						   unmapped), argsz);
}

static int vrange_ioctl_notifier(struct vrange_iommu *iommu, void __user *uptr)
{
	struct vfio_range_notifier cmd;
	u32 argsz;
	int rc;

	rc = vrange_copy_struct_in(&cmd, sizeof(cmd),
				   offsetofend(struct vfio_range_notifier,
					       __reserved),
				   uptr, &argsz);
	if (rc)
		return rc;
	return vrange_notifier_fd_open(iommu, &cmd);
}

long vrange_ioctl(void *iommu_data, unsigned int cmd, unsigned long arg)
{
	struct vrange_iommu *iommu = iommu_data;
	void __user *uptr = (void __user *)arg;

	if (cmd == VFIO_CHECK_EXTENSION)
		return vrange_check_extension(iommu, arg);
	/* The core only passes other ioctls once the container is set up. */
	if (!iommu)
		return -EINVAL;

	switch (cmd) {
	case VFIO_IOMMU_GET_INFO:
		return vrange_get_info(iommu, uptr);
	case VFIO_IOMMU_RANGE_MAP:
		return vrange_ioctl_map(iommu, uptr);
	case VFIO_IOMMU_RANGE_UNMAP:
		return vrange_ioctl_unmap(iommu, uptr);
	case VFIO_IOMMU_RANGE_NOTIFIER:
		return vrange_ioctl_notifier(iommu, uptr);
	/* type1's own: only on a container opened as type1 (compat mode) */
	case VFIO_IOMMU_MAP_DMA:
		if (!vrange_type1_offered(iommu))
			return -ENOTTY;
		return vrange_type1_map_dma(iommu, uptr);
	case VFIO_IOMMU_UNMAP_DMA:
		if (!vrange_type1_offered(iommu))
			return -ENOTTY;
		return vrange_type1_unmap_dma(iommu, uptr);
	/*
	 * VFIO_IOMMU_DIRTY_PAGES too: GET_INFO offers no migration
	 * capability, so type1 users such as QEMU never ask for it.
	 */
	default:
		return -ENOTTY;
	}
}
