// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pinning user memory for DMA and charging it to locked_vm.
 *
 * Pages are pinned with FOLL_LONGTERM (they stay pinned for as long as the
 * device may reach them) and FOLL_WRITE when the device may write, so a
 * read-only mapping cannot be made writable through the IOMMU. The charge
 * goes to the mm of the caller and is checked against its RLIMIT_MEMLOCK
 * unless the caller has CAP_IPC_LOCK.
 */
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <vfio_range/core.h>

/* Pages pinned per GUP call: bounds the time between cond_resched(). */
#define VRANGE_PIN_BATCH	512

static void vrange_pages_uncharge(struct mm_struct *mm, unsigned long npages)
{
	/* The process may be gone; its counter then went with it. */
	if (!mmget_not_zero(mm))
		return;
	account_locked_vm(mm, npages, false);
	mmput(mm);
}

static void vrange_pages_free_array(struct vrange_mapping *map)
{
	if (map->pages != &map->single_page)
		kvfree(map->pages);
	map->pages = NULL;
}

/**
 * vrange_pages_pin() - pin the user memory behind a new mapping
 * @map: mapping with @vaddr, @npages and @iommu_prot set, in the current
 *	process; @pages and @mm are filled in
 *
 * Return: 0, or -ENOMEM (allocation or RLIMIT_MEMLOCK), -EFAULT (memory
 * that cannot be pinned or not writable for a writable mapping). On error
 * nothing stays pinned or charged.
 */
int vrange_pages_pin(struct vrange_mapping *map)
{
	unsigned int gup_flags = FOLL_LONGTERM;
	unsigned long done = 0;
	int rc;

	if (map->iommu_prot & IOMMU_WRITE)
		gup_flags |= FOLL_WRITE;

	/* Pinning cannot cover more than the machine has. */
	if (map->npages > totalram_pages())
		return -ENOMEM;
	/* Kernels differ on what GUP says here; the answer is EFAULT. */
	if (!access_ok(u64_to_user_ptr(map->vaddr), map->npages << PAGE_SHIFT))
		return -EFAULT;

	rc = account_locked_vm(current->mm, map->npages, true);
	if (rc)
		return rc;

	if (map->npages == 1)
		map->pages = &map->single_page;
	else
		map->pages = kvmalloc_array(map->npages, sizeof(*map->pages),
					    GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!map->pages) {
		rc = -ENOMEM;
		goto err_uncharge;
	}

	while (done < map->npages) {
		int batch = min_t(unsigned long, map->npages - done,
				  VRANGE_PIN_BATCH);

		rc = pin_user_pages_fast(map->vaddr + (done << PAGE_SHIFT),
					 batch, gup_flags, map->pages + done);
		if (rc <= 0) {
			rc = rc ?: -EFAULT;
			goto err_unpin;
		}
		done += rc;
		cond_resched();
	}

	mmgrab(current->mm);
	map->mm = current->mm;
	vrange_stat_add(map->iommu, VRANGE_STAT_PINNED_PAGES, map->npages);
	return 0;

err_unpin:
	unpin_user_pages(map->pages, done);
	vrange_pages_free_array(map);
err_uncharge:
	account_locked_vm(current->mm, map->npages, false);
	return rc;
}

/**
 * vrange_pages_unpin() - release what vrange_pages_pin() took
 * @map: the mapping; it must no longer be reachable through any IOMMU
 *
 * Dirties the pages a device could have written before unpinning them.
 */
void vrange_pages_unpin(struct vrange_mapping *map)
{
	bool dirty = map->iommu_prot & IOMMU_WRITE;
	unsigned long done;

	for (done = 0; done < map->npages; done += VRANGE_PIN_BATCH) {
		unsigned long batch = min_t(unsigned long, VRANGE_PIN_BATCH,
					    map->npages - done);

		unpin_user_pages_dirty_lock(map->pages + done, batch, dirty);
		cond_resched();
	}
	vrange_pages_free_array(map);
	vrange_stat_add(map->iommu, VRANGE_STAT_PINNED_PAGES,
			-(s64)map->npages);
	vrange_pages_uncharge(map->mm, map->npages);
	mmdrop(map->mm);
	map->mm = NULL;
}
