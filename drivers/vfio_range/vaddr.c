// SPDX-License-Identifier: GPL-2.0-only
/*
 * Live update (QEMU's CPR): the process that owns the container hands it
 * to a new one, where the same memory sits at other addresses, while the
 * devices keep doing DMA.
 *
 * An invalidation marks the mappings in a range as waiting for a new user
 * address; nothing is unmapped or unpinned, and clients hear nothing, as
 * the IOVA space does not change. An update gives exactly one such mapping
 * its new address, after checking in the calling process that the address
 * is backed by the very pages (or BAR PFNs) the mapping holds: only then
 * is anything changed. The mapping's locked_vm then moves to the calling
 * process. Unmapping or closing the container removes invalid mappings
 * like any other.
 *
 * As in type1, a container with emulated-IOMMU groups refuses it (they pin
 * and read through addresses type1 cannot trust meanwhile), and no group
 * may join while a vaddr is invalid; so no emulated device ever pins or
 * reads while one is.
 */
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/overflow.h>

#include <vfio_range/core.h>

/* True if a group without an IOMMU domain (emulated) is attached. */
static bool vrange_has_emulated(struct vrange_iommu *iommu)
{
	struct vrange_group *grp;

	lockdep_assert_held(&iommu->lock);
	list_for_each_entry(grp, &iommu->groups, node)
		if (!grp->domain)
			return true;
	return false;
}

/**
 * vrange_vaddr_offered() - VFIO_CHECK_EXTENSION(VFIO_UPDATE_VADDR)
 * @iommu: the container, or NULL before VFIO_SET_IOMMU
 *
 * Return: true for a container without emulated-IOMMU groups; false
 * before the type is set, as type1 answers.
 */
bool vrange_vaddr_offered(struct vrange_iommu *iommu)
{
	bool offered;

	if (!iommu)
		return false;
	mutex_lock(&iommu->lock);
	offered = !vrange_has_emulated(iommu);
	mutex_unlock(&iommu->lock);
	return offered;
}

/**
 * vrange_vaddr_invalidate() - mark the vaddr of mappings invalid
 * @iommu: the container
 * @start: first IOVA of the range
 * @last: last IOVA of the range, inclusive
 * @mode: VRANGE_UNMAP_EXACT or VRANGE_UNMAP_V1: the extents an unmap of
 *	the range would take
 * @bytes: output: bytes mapped by the mappings marked
 *
 * Return: 0; -EBUSY with emulated-IOMMU groups attached; -EINVAL if
 * @start > @last, an extent straddles an edge, or a mapping in the range
 * is invalid already. On error nothing is marked.
 */
int vrange_vaddr_invalidate(struct vrange_iommu *iommu, u64 start, u64 last,
			    enum vrange_unmap_mode mode, u64 *bytes)
{
	struct vrange_mapping *map;
	int rc;

	*bytes = 0;
	mutex_lock(&iommu->op_lock);
	mutex_lock(&iommu->lock);
	/* type1's order: EBUSY before any check of the range. */
	if (vrange_has_emulated(iommu)) {
		rc = -EBUSY;
		goto out_unlock;
	}
	if (start > last) {
		rc = -EINVAL;
		goto out_unlock;
	}
	rc = vrange_unmap_bounds(iommu, start, &last, mode);
	if (rc <= 0)
		goto out_unlock;
	rc = 0;
	vrange_for_each_mapping(map, iommu, start, last) {
		if (map->vaddr_invalid) {
			rc = -EINVAL;
			goto out_unlock;
		}
	}
	vrange_for_each_mapping(map, iommu, start, last) {
		map->vaddr_invalid = true;
		iommu->nr_vaddr_invalid++;
		*bytes += vrange_mapping_length(map);
	}
out_unlock:
	mutex_unlock(&iommu->lock);
	mutex_unlock(&iommu->op_lock);
	if (rc)
		*bytes = 0;
	return rc;
}

/**
 * vrange_vaddr_update() - give an invalidated mapping its new vaddr
 * @iommu: the container
 * @start: first IOVA of the mapping's extent (its map request's range)
 * @last: last IOVA of that extent, inclusive
 * @vaddr: user address of @start in the calling process
 *
 * The new address must show, in the calling process, the pages (or BAR
 * PFNs) the mapping holds; their locked_vm moves to that process.
 *
 * Return: 0; -ENOENT if no mapping meets [@start, @last]; -EINVAL if the
 * one there has another extent or a valid vaddr, @vaddr and @start differ
 * in their offset in a page, or the new address shows other memory;
 * -EOVERFLOW if the new user range wraps; -EFAULT if it cannot be read
 * (or written, for a writable mapping); -ENOMEM past the process's
 * RLIMIT_MEMLOCK. On error the mapping stays invalid and unchanged.
 */
int vrange_vaddr_update(struct vrange_iommu *iommu, u64 start, u64 last,
			u64 vaddr)
{
	struct vrange_mapping *map;
	u64 map_vaddr;
	int rc = 0;

	if (start > last || (vaddr ^ start) & ~PAGE_MASK)
		return -EINVAL;
	if (check_add_overflow(vaddr, last - start, &map_vaddr))
		return -EOVERFLOW;
	mutex_lock(&iommu->op_lock);
	mutex_lock(&iommu->lock);
	map = vrange_mapping_first(iommu, start, last);
	if (!map)
		rc = -ENOENT;
	else if (!map->vaddr_invalid || vrange_extent_start(map) != start ||
		 vrange_extent_last(map) != last)
		rc = -EINVAL;
	mutex_unlock(&iommu->lock);
	if (rc)
		goto out;

	/* op_lock keeps the mapping in the tree during the mm work. */
	map_vaddr = vaddr;
	if (map->length) {
		/* A trimmed BAR request maps from map->iova on. */
		map_vaddr += map->iova - start;
		if (map->backing == VRANGE_MMIO)
			rc = vrange_mmio_rebind(iommu, map, map_vaddr);
		else
			rc = vrange_pages_rebind(iommu, map, map_vaddr);
		if (rc)
			goto out;
	}

	mutex_lock(&iommu->lock);
	map->vaddr = map_vaddr;
	map->vaddr_invalid = false;
	iommu->nr_vaddr_invalid--;
	mutex_unlock(&iommu->lock);
out:
	mutex_unlock(&iommu->op_lock);
	return rc;
}
