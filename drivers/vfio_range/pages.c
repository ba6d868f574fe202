// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pinning user memory for DMA and charging it to RLIMIT_MEMLOCK.
 *
 * Pages are pinned with FOLL_LONGTERM (they stay pinned for as long as the
 * device may reach them) and FOLL_WRITE when the device may write, so a
 * read-only mapping cannot be made writable through the IOMMU.
 *
 * The charge that enforces RLIMIT_MEMLOCK goes to the user of the mapping
 * task (user_struct.locked_vm, as iommufd does), unless the task has
 * CAP_IPC_LOCK, and stays with the pin for its whole life, whichever
 * process unmaps it and whenever the mapping process exits: pins live as
 * long as the container, which a process can hand to its children, so a
 * per-process charge could be multiplied by forking. The pages are also
 * counted in the mapping process's locked_vm (VmLck in /proc/PID/status,
 * checked against its own limit as type1 does), which shows who pinned
 * what but goes with the process.
 */
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <vfio_range/core.h>
#include <vfio_range/runs.h>

/* Pages pinned per GUP call: bounds the time between cond_resched(). */
#define VRANGE_PIN_BATCH	512

/*
 * Charges @npages to the current task's user against its RLIMIT_MEMLOCK.
 * Returns the user, referenced, NULL for a task with CAP_IPC_LOCK (nothing
 * charged), or an ERR_PTR(-ENOMEM) past the limit.
 */
static struct user_struct *vrange_user_charge(unsigned long npages)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	struct user_struct *user;
	long cur, new;

	if (capable(CAP_IPC_LOCK))
		return NULL;
	user = current_user();
	cur = atomic_long_read(&user->locked_vm);
	do {
		if (check_add_overflow(cur, (long)npages, &new) ||
		    (unsigned long)new > limit)
			return ERR_PTR(-ENOMEM);
	} while (!atomic_long_try_cmpxchg(&user->locked_vm, &cur, new));
	return get_uid(user);
}

static void vrange_user_uncharge(struct user_struct *user,
				 unsigned long npages)
{
	if (!user)
		return;
	atomic_long_sub(npages, &user->locked_vm);
	free_uid(user);
}

static void vrange_mm_uncharge(struct mm_struct *mm, unsigned long npages)
{
	/* The process may be gone; its counter then went with it. */
	if (!mmget_not_zero(mm))
		return;
	account_locked_vm(mm, npages, false);
	mmput(mm);
}

/* Frees @map's record, if any, and takes its bytes off the counter. */
static void vrange_pages_free_record(struct vrange_mapping *map)
{
	vrange_stat_add(map->iommu, VRANGE_STAT_RECORD_BYTES,
			-(s64)map->record.bytes);
	vrange_runs_free(&map->record);
}

/* Unpins what @map's record lists and frees the record. */
static void vrange_pages_unpin_record(struct vrange_mapping *map)
{
	struct vrange_runs_pos pos = {};
	struct vrange_run run;

	/* The stat counted only what pinning finished; see the callers. */
	while (vrange_runs_next(&map->record, &pos, &run)) {
		unpin_user_page_range_dirty_lock(pfn_to_page(run.pfn),
						 run.npages,
						 map->iommu_prot & IOMMU_WRITE);
		cond_resched();
	}
	vrange_pages_free_record(map);
}

/*
 * Pins [vaddr, + npages) of @map into its record, in batches of
 * VRANGE_PIN_BATCH pages, contiguous ones merged into runs. On error
 * nothing stays pinned and the record is empty.
 */
static int vrange_pages_pin_runs(struct vrange_mapping *map,
				 unsigned int gup_flags)
{
	struct page *small[16], **batch = small;
	unsigned long done = 0, pfn;
	int rc = 0, got, i, n;

	/* The most common mapping, one page, allocates nothing here. */
	if (map->npages > ARRAY_SIZE(small)) {
		batch = kmalloc_array(VRANGE_PIN_BATCH, sizeof(*batch),
				      GFP_KERNEL_ACCOUNT);
		if (!batch)
			return -ENOMEM;
	}
	while (done < map->npages) {
		got = min_t(unsigned long, map->npages - done,
			    batch == small ? ARRAY_SIZE(small) :
					     VRANGE_PIN_BATCH);
		got = pin_user_pages_fast(map->vaddr + (done << PAGE_SHIFT),
					  got, gup_flags, batch);
		if (got <= 0) {
			rc = got ?: -EFAULT;
			break;
		}
		/* One call per contiguous stretch of the batch. */
		for (i = 0; i < got; i += n) {
			pfn = page_to_pfn(batch[i]);
			for (n = 1; i + n < got; n++)
				if (page_to_pfn(batch[i + n]) != pfn + n)
					break;
			rc = vrange_runs_add(&map->record, pfn, n,
					     GFP_KERNEL_ACCOUNT);
			if (rc)
				break;
		}
		if (rc) {
			/* Pages from batch[i] on are not in the record. */
			unpin_user_pages(batch + i, got - i);
			break;
		}
		done += got;
		cond_resched();
	}
	if (batch != small)
		kfree(batch);
	vrange_stat_add(map->iommu, VRANGE_STAT_RECORD_BYTES,
			map->record.bytes);
	if (rc)
		vrange_pages_unpin_record(map);
	return rc;
}

/**
 * vrange_pages_pin() - pin the user memory behind a new mapping
 * @map: mapping with @vaddr, @npages and @iommu_prot set, in the current
 *	process; @record, @mm and @user are filled in
 *
 * The record lists the pinned pages as physically contiguous runs, so a
 * large folio or a huge page is one run the IOMMU can map with its large
 * pages. It is dropped once the mapping is in an IOMMU domain, which then
 * holds the PFNs (vrange_mapping_install()).
 *
 * Return: 0, or -ENOMEM (allocation, or RLIMIT_MEMLOCK of the user or of
 * the process), -EFAULT (memory that cannot be pinned or not writable for
 * a writable mapping). On error nothing stays pinned or charged.
 */
int vrange_pages_pin(struct vrange_mapping *map)
{
	unsigned int gup_flags = FOLL_LONGTERM;
	struct user_struct *user;
	int rc;

	if (map->iommu_prot & IOMMU_WRITE)
		gup_flags |= FOLL_WRITE;

	/* Pinning cannot cover more than the machine has. */
	if (map->npages > totalram_pages())
		return -ENOMEM;
	/* Kernels differ on what GUP says here; the answer is EFAULT. */
	if (!access_ok(u64_to_user_ptr(map->vaddr), map->npages << PAGE_SHIFT))
		return -EFAULT;

	user = vrange_user_charge(map->npages);
	if (IS_ERR(user))
		return PTR_ERR(user);
	rc = account_locked_vm(current->mm, map->npages, true);
	if (rc)
		goto err_user;
	rc = vrange_pages_pin_runs(map, gup_flags);
	if (rc)
		goto err_mm;

	mmgrab(current->mm);
	map->mm = current->mm;
	map->user = user;
	vrange_stat_add(map->iommu, VRANGE_STAT_PINNED_PAGES, map->npages);
	return 0;

err_mm:
	account_locked_vm(current->mm, map->npages, false);
err_user:
	vrange_user_uncharge(user, map->npages);
	return rc;
}

/**
 * vrange_pages_unpin_run() - unpin one physically contiguous run of a
 *	mapping
 * @map: the mapping; the run must no longer be reachable through any IOMMU
 * @pfn: first PFN of the run
 * @npages: pages in the run
 *
 * Unpins folio by folio, dirtying the pages a device could have written.
 */
void vrange_pages_unpin_run(struct vrange_mapping *map, unsigned long pfn,
			    unsigned long npages)
{
	unpin_user_page_range_dirty_lock(pfn_to_page(pfn), npages,
					 map->iommu_prot & IOMMU_WRITE);
	vrange_stat_add(map->iommu, VRANGE_STAT_PINNED_PAGES, -(s64)npages);
}

/**
 * vrange_pages_unpin() - release what vrange_pages_pin() took
 * @map: the mapping; it must no longer be reachable through any IOMMU
 *
 * Unpins the pages of @map's record, if it has one; a mapping without
 * one had its pages unpinned run by run as they were read back from the
 * IOMMU (vrange_pages_unpin_run()). Then uncharges all of them.
 */
void vrange_pages_unpin(struct vrange_mapping *map)
{
	if (map->record.npages) {
		vrange_stat_add(map->iommu, VRANGE_STAT_PINNED_PAGES,
				-(s64)map->record.npages);
		vrange_pages_unpin_record(map);
	}
	vrange_user_uncharge(map->user, map->npages);
	map->user = NULL;
	vrange_mm_uncharge(map->mm, map->npages);
	mmdrop(map->mm);
	map->mm = NULL;
}

/**
 * vrange_pages_drop_record() - forget the record of a mapping the IOMMU
 *	domains now hold
 * @map: a pinned mapping in every domain of its container
 */
void vrange_pages_drop_record(struct vrange_mapping *map)
{
	vrange_pages_free_record(map);
}

/**
 * vrange_pages_abandon() - give up a mapping whose pages a device may
 *	still reach
 * @map: a stuck mapping (the IOMMU driver did not unmap all of it)
 *
 * The pages stay pinned and charged to the user for good: a leak, never a
 * page freed under DMA. Only the bookkeeping goes.
 */
void vrange_pages_abandon(struct vrange_mapping *map)
{
	vrange_pages_free_record(map);
	mmdrop(map->mm);
	map->mm = NULL;
}

/*
 * Pins [vaddr, + npages) of the current process and checks it shows the
 * pages @map holds, read back under the container's lock batch by batch.
 */
static int vrange_pages_same(struct vrange_iommu *iommu,
			     struct vrange_mapping *map, u64 vaddr,
			     unsigned int gup_flags)
{
	struct vrange_run_iter it = {};
	struct page *batch[64];
	unsigned long done = 0, pfn = 0, left = 0;
	int rc = 0, got, i;

	while (done < map->npages && !rc) {
		got = min_t(unsigned long, map->npages - done,
			    ARRAY_SIZE(batch));
		got = pin_user_pages_fast(vaddr + (done << PAGE_SHIFT), got,
					  gup_flags, batch);
		if (got <= 0)
			return got ?: -EFAULT;
		mutex_lock(&iommu->lock);
		for (i = 0; i < got && !rc; i++) {
			if (!left && !vrange_mapping_next_run(iommu, map, &it,
							      &pfn, &left)) {
				rc = -EINVAL;
				break;
			}
			if (page_to_pfn(batch[i]) != pfn)
				rc = -EINVAL;
			pfn++;
			left--;
		}
		mutex_unlock(&iommu->lock);
		unpin_user_pages(batch, got);
		done += got;
		cond_resched();
	}
	return rc;
}

/**
 * vrange_pages_rebind() - move a pinned mapping to a new user address
 * @iommu: the container; op_lock held, lock not held
 * @map: a RAM mapping whose vaddr was invalidated
 * @vaddr: its new address in the current process
 *
 * The pages stay pinned as they are; @vaddr must show exactly them
 * (writable ones for a writable mapping), else nothing changes. Their
 * locked_vm then moves from the mapping's mm (if it still exists) to the
 * current one; the charge to the user stays with the pin.
 *
 * Return: 0; -EINVAL if @vaddr shows other pages; -EFAULT if it cannot be
 * pinned; -ENOMEM past the current process's RLIMIT_MEMLOCK.
 */
int vrange_pages_rebind(struct vrange_iommu *iommu, struct vrange_mapping *map,
			u64 vaddr)
{
	unsigned int gup_flags = map->iommu_prot & IOMMU_WRITE ? FOLL_WRITE : 0;
	int rc;

	if (!access_ok(u64_to_user_ptr(vaddr), map->npages << PAGE_SHIFT))
		return -EFAULT;
	rc = vrange_pages_same(iommu, map, vaddr, gup_flags);
	if (rc)
		return rc;
	if (map->mm == current->mm)
		return 0;
	rc = account_locked_vm(current->mm, map->npages, true);
	if (rc)
		return rc;
	vrange_mm_uncharge(map->mm, map->npages);
	mmdrop(map->mm);
	mmgrab(current->mm);
	map->mm = current->mm;
	return 0;
}
