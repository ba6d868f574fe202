// SPDX-License-Identifier: GPL-2.0-only
/*
 * Compat mode: upstream type1's VFIO_IOMMU_MAP_DMA and VFIO_IOMMU_UNMAP_DMA
 * as a second front door to the mapping engine, for userspace that only
 * knows type1: QEMU (VFIO_TYPE1v2_IOMMU) and DPDK (VFIO_TYPE1_IOMMU, v1,
 * whose unmap removes whole mappings from the first one that begins in the
 * range, and nothing if the range begins inside one).
 *
 * This file only turns {iova, size} into [start, last] and checks what the
 * engine does not, in type1's order: the fields and flags of type1's
 * structures, sizes of 0, alignment, and ranges that wrap past 2^64, which
 * are EOVERFLOW as in mainline type1 since 6.18 (EINVAL before). Everything
 * else is the engine's, with ERANGE, which type1 does not have, mapped back
 * to EINVAL. The VADDR flags of both go to the live update of vaddr.c.
 * See Documentation/type1-compat.rst.
 */
#include <linux/iommu.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>

#include <vfio_range/core.h>
#include <vfio_range/range.h>

/**
 * vrange_type1_offered() - whether to speak type1's uAPI
 * @iommu: a container, or NULL when the VFIO core asks before opening one
 *
 * A container keeps the front door it was opened with; a new one gets
 * type1's only while the compat_type1 parameter is on.
 *
 * Return: true for a container opened as VFIO_TYPE1v2_IOMMU or
 * VFIO_TYPE1_IOMMU, or for none while compat mode is on.
 */
bool vrange_type1_offered(const struct vrange_iommu *iommu)
{
	if (iommu)
		return iommu->type == VFIO_TYPE1v2_IOMMU ||
		       iommu->type == VFIO_TYPE1_IOMMU;
	return READ_ONCE(vrange_compat_type1);
}

/* True for a container opened as type1 v1 (VFIO_TYPE1_IOMMU). */
bool vrange_type1_v1(const struct vrange_iommu *iommu)
{
	return iommu->type == VFIO_TYPE1_IOMMU;
}

/* The smallest IOMMU page size, which type1 checks before wrapping. */
static u64 vrange_type1_pgsize(struct vrange_iommu *iommu)
{
	u64 pgsize;

	mutex_lock(&iommu->lock);
	pgsize = vrange_min_pgsize(iommu);
	mutex_unlock(&iommu->lock);
	return pgsize;
}

/**
 * vrange_type1_map_dma() - VFIO_IOMMU_MAP_DMA
 * @iommu: a container opened as VFIO_TYPE1v2_IOMMU
 * @uptr: the user's &struct vfio_iommu_type1_dma_map
 *
 * Return: 0 or a negative errno, as type1 gives it.
 */
int vrange_type1_map_dma(struct vrange_iommu *iommu, void __user *uptr)
{
	const size_t minsz = offsetofend(struct vfio_iommu_type1_dma_map, size);
	const u32 known = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE |
			  VFIO_DMA_MAP_FLAG_VADDR;
	struct vfio_iommu_type1_dma_map map;
	struct vrange_map_req req = {};
	u64 pgsize, vaddr_last;
	bool set_vaddr;
	int rc;

	/* Like type1: only minsz is read; bytes past it are ignored. */
	if (copy_from_user(&map, uptr, minsz))
		return -EFAULT;
	if (map.argsz < minsz || map.flags & ~known)
		return -EINVAL;

	if (map.flags & VFIO_DMA_MAP_FLAG_READ)
		req.iommu_prot |= IOMMU_READ;
	if (map.flags & VFIO_DMA_MAP_FLAG_WRITE)
		req.iommu_prot |= IOMMU_WRITE;
	set_vaddr = map.flags & VFIO_DMA_MAP_FLAG_VADDR;
	/* A new vaddr comes alone; a mapping needs a permission. */
	if (!req.iommu_prot == !set_vaddr)
		return -EINVAL;
	pgsize = vrange_type1_pgsize(iommu);
	if (!map.size || (map.size | map.iova | map.vaddr) & (pgsize - 1))
		return -EINVAL;
	req.vaddr = map.vaddr;
	req.start = map.iova;
	if (check_add_overflow(map.iova, map.size - 1, &req.last) ||
	    check_add_overflow(map.vaddr, map.size - 1, &vaddr_last))
		return -EOVERFLOW;

	if (set_vaddr)
		return vrange_vaddr_update(iommu, req.start, req.last,
					   req.vaddr);
	rc = vrange_map(iommu, &req);
	/* type1 has one errno for an unusable IOVA and a bad alignment. */
	return rc == -ERANGE ? -EINVAL : rc;
}

/**
 * vrange_type1_unmap_dma() - VFIO_IOMMU_UNMAP_DMA
 * @iommu: a container opened as VFIO_TYPE1v2_IOMMU
 * @uptr: the user's &struct vfio_iommu_type1_dma_unmap; its size field
 *	gets the bytes unmapped
 *
 * Return: 0 or a negative errno, as type1 (v2 or v1, as opened) gives it.
 */
int vrange_type1_unmap_dma(struct vrange_iommu *iommu, void __user *uptr)
{
	const size_t minsz = offsetofend(struct vfio_iommu_type1_dma_unmap,
					 size);
	const u32 known = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP |
			  VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR;
	struct vfio_iommu_type1_dma_unmap unmap;
	enum vrange_unmap_mode mode;
	u64 pgsize, last;
	bool invalidate;
	int rc;

	if (copy_from_user(&unmap, uptr, minsz))
		return -EFAULT;
	if (unmap.argsz < minsz || unmap.flags & ~known)
		return -EINVAL;
	/*
	 * No dirty tracking can be started (GET_INFO has no migration
	 * capability), and type1 refuses a bitmap without it.
	 */
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP)
		return -EINVAL;
	invalidate = unmap.flags & VFIO_DMA_UNMAP_FLAG_VADDR;
	/* type1 says EBUSY first; the engine checks again under its lock. */
	if (invalidate && !vrange_vaddr_offered(iommu))
		return -EBUSY;

	pgsize = vrange_type1_pgsize(iommu);
	if (unmap.iova & (pgsize - 1))
		return -EINVAL;
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL) {
		if (unmap.iova || unmap.size)
			return -EINVAL;
		last = U64_MAX;
	} else {
		if (!unmap.size || unmap.size & (pgsize - 1))
			return -EINVAL;
		if (check_add_overflow(unmap.iova, unmap.size - 1, &last))
			return -EOVERFLOW;
	}

	mode = vrange_type1_v1(iommu) ? VRANGE_UNMAP_V1 : VRANGE_UNMAP_EXACT;
	if (invalidate)
		rc = vrange_vaddr_invalidate(iommu, unmap.iova, last, mode,
					     &unmap.size);
	else
		rc = vrange_unmap_range(iommu, unmap.iova, last, mode,
					&unmap.size);
	if (rc)
		return rc;
	return copy_to_user(uptr, &unmap, minsz) ? -EFAULT : 0;
}
