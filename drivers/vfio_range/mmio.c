// SPDX-License-Identifier: GPL-2.0-only
/*
 * Mapping device memory (a BAR mmapped from vfio-pci, QEMU's "ram device"
 * regions) for peer-to-peer DMA.
 *
 * The user passes the address of its mapping of the BAR. The PFNs behind
 * it are looked up, not pinned: they are device memory, with no struct page
 * to pin and nothing to charge to locked_vm. They must be one contiguous
 * run inside a single VM_PFNMAP/VM_IO mapping.
 *
 * The user mapping is watched with an mmu interval notifier. When it goes
 * away (munmap, process exit) or vfio-pci zaps it (memory decode disabled,
 * reset), the IOMMU mapping is revoked at once, so no DMA can reach a PFN
 * after the user lost access to it. The mapping stays in the tree, marked
 * revoked, until it is unmapped; it is not mapped again.
 */
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>

#include <vfio_range/compat.h>
#include <vfio_range/core.h>

/* True if @vaddr lies in a mapping of device memory. */
bool vrange_vaddr_is_mmio(u64 vaddr)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	bool mmio;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, vaddr);
	mmio = vma && (vma->vm_flags & (VM_IO | VM_PFNMAP));
	mmap_read_unlock(mm);
	return mmio;
}

static bool vrange_mmio_invalidate(struct mmu_interval_notifier *sub,
				   const struct mmu_notifier_range *range,
				   unsigned long cur_seq)
{
	struct vrange_mapping *map =
		container_of(sub, struct vrange_mapping, mmu_sub);
	struct vrange_iommu *iommu = map->iommu;

	if (!mmu_notifier_range_blockable(range))
		return false;

	/* Not iommu->lock: that is held while allocating, which may reclaim. */
	mutex_lock(&iommu->revoke_lock);
	mmu_interval_set_seq(sub, cur_seq);
	if (map->mapped && !map->revoked) {
		vrange_domain_unmap_one(iommu, map);
		WRITE_ONCE(map->revoked, true);
	}
	mutex_unlock(&iommu->revoke_lock);
	return true;
}

static const struct mmu_interval_notifier_ops vrange_mmio_ops = {
	.invalidate = vrange_mmio_invalidate,
};

/* Tries of a walk that had to fault pages in with the lock dropped. */
#define VRANGE_MMIO_WALKS	4

/*
 * Looks up the PFNs behind [map->vaddr, + length). Returns 0 with map->pfn
 * set, -EAGAIN to walk again because the mmap lock was dropped, or an
 * error.
 */
static int vrange_mmio_walk(struct mm_struct *mm, struct vrange_mapping *map)
{
	bool write = map->iommu_prot & IOMMU_WRITE;
	unsigned long first = 0, pfn, off;
	struct vm_area_struct *vma;
	bool unlocked = false;
	int rc = 0;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, map->vaddr);
	if (!vma || !(vma->vm_flags & (VM_IO | VM_PFNMAP))) {
		rc = -EFAULT;
		goto out_unlock;
	}
	/* The whole range must stay inside the one BAR mapping. */
	if (map->length - 1 > vma->vm_end - 1 - map->vaddr) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (write && !(vma->vm_flags & VM_WRITE)) {
		rc = -EFAULT;
		goto out_unlock;
	}

	for (off = 0; off < map->length; off += PAGE_SIZE) {
		if (vrange_compat_follow_pfn(vma, map->vaddr + off, &pfn)) {
			/* Not faulted in: let the BAR's fault handler do it. */
			rc = fixup_user_fault(mm, map->vaddr + off,
					      write ? FAULT_FLAG_WRITE : 0,
					      &unlocked);
			if (rc || unlocked) {
				rc = rc ?: -EAGAIN;
				goto out_unlock;
			}
			if (vrange_compat_follow_pfn(vma, map->vaddr + off,
						     &pfn)) {
				rc = -EFAULT;
				goto out_unlock;
			}
		}
		/* A page of RAM would need pinning, which PFNs skip. */
		if (pfn_valid(pfn) && !PageReserved(pfn_to_page(pfn))) {
			rc = -EFAULT;
			goto out_unlock;
		}
		if (!off) {
			first = pfn;
		} else if (pfn != first + (off >> PAGE_SHIFT)) {
			rc = -EINVAL;
			goto out_unlock;
		}
	}
	map->pfn = first;
out_unlock:
	mmap_read_unlock(mm);
	return rc;
}

/**
 * vrange_mmio_resolve() - find the PFNs behind a BAR mapping and watch it
 * @iommu: the container
 * @map: mapping with @vaddr, @length and @iommu_prot set, in the current
 *	process
 *
 * Context: op_lock held, vrange_iommu.lock not held.
 * Return: 0, -EFAULT (no device memory there, not writable for a writable
 * mapping, RAM behind the PFNs), -EINVAL (the range leaves the BAR mapping
 * or its PFNs are not contiguous), -EAGAIN, or -ENOMEM. On error nothing is
 * left registered.
 */
int vrange_mmio_resolve(struct vrange_iommu *iommu, struct vrange_mapping *map)
{
	struct mm_struct *mm = current->mm;
	int rc, walk;

	rc = mmu_interval_notifier_insert(&map->mmu_sub, mm, map->vaddr,
					  map->length, &vrange_mmio_ops);
	if (rc)
		return rc;

	for (walk = 0; walk < VRANGE_MMIO_WALKS; walk++) {
		map->mmu_seq = mmu_interval_read_begin(&map->mmu_sub);
		rc = vrange_mmio_walk(mm, map);
		if (rc != -EAGAIN)
			break;
	}
	if (rc)
		mmu_interval_notifier_remove(&map->mmu_sub);
	return rc;
}

/**
 * vrange_mmio_install() - map a resolved BAR mapping into every domain
 * @iommu: the container, locked
 * @map: the mapping, resolved by vrange_mmio_resolve()
 *
 * Under revoke_lock, which orders it against the invalidation callback:
 * either the PFNs are still those of the user mapping and the callback
 * will see @map mapped, or nothing is mapped.
 *
 * Return: 0; -EAGAIN if the user mapping changed since the PFNs were
 * looked up, so they may be stale; or an error from the IOMMU driver.
 */
int vrange_mmio_install(struct vrange_iommu *iommu, struct vrange_mapping *map)
{
	int rc = 0;

	lockdep_assert_held(&iommu->lock);
	mutex_lock(&iommu->revoke_lock);
	if (map->length &&
	    mmu_interval_read_retry(&map->mmu_sub, map->mmu_seq))
		rc = -EAGAIN;
	if (!rc)
		rc = vrange_domains_map(iommu, map, GFP_ATOMIC);
	if (!rc)
		map->mapped = true;
	mutex_unlock(&iommu->revoke_lock);
	return rc;
}

/* Stops watching the BAR mapping; no lock held, the mapping is unmapped. */
void vrange_mmio_release(struct vrange_mapping *map)
{
	if (map->length)
		mmu_interval_notifier_remove(&map->mmu_sub);
}
