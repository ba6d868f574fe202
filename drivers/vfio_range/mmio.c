// SPDX-License-Identifier: GPL-2.0-only
/*
 * Mapping device memory (a BAR mmapped from vfio-pci, QEMU's "ram device"
 * regions) for peer-to-peer DMA.
 *
 * The user passes the address of its mapping of the BAR. The PFNs behind
 * it are looked up, not pinned: they are device memory (or reserved RAM),
 * with no page to pin and nothing to charge to locked_vm. They may lie in
 * any order (kept as runs of contiguous PFNs, one iommu_map() each), inside
 * a single VM_PFNMAP/VM_IO mapping that is shared
 * (a private mapping is copy-on-write: its PTEs are read-only and its
 * writes go to anonymous copies, not to the device), readable, and for a
 * writable IOMMU mapping writable in every page table entry: the device may
 * do what the user may do through that mapping, never more.
 *
 * The user mapping is watched with an mmu interval notifier. When the user
 * loses access through it (munmap, process exit, an mprotect() that takes
 * away a permission the request needs) or vfio-pci zaps it (memory decode
 * disabled, reset), the IOMMU mapping is revoked at once. Invalidations
 * that take no access away are ignored. A revoked mapping stays in the tree
 * until it is unmapped and is never mapped again by itself; clients hear of
 * it from a worker (they cannot be called from the notifier, which runs
 * under the mmap lock that map requests take after op_lock).
 *
 * IOMMU page tables for BARs are allocated with GFP_KERNEL_ACCOUNT, outside
 * revoke_lock, and committed with the mmu notifier sequence: if the user
 * mapping changed while the IOMMU was being written, the new translation
 * is removed again and the lookup retried.
 */
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/vfio_range.h>
#include <linux/workqueue.h>

#include <vfio_range/compat.h>
#include <vfio_range/core.h>
#include <vfio_range/trace.h>

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

/* The VMA flags a user mapping needs for a request with @iommu_prot. */
static unsigned long vrange_mmio_vm_flags(int iommu_prot)
{
	return iommu_prot & IOMMU_WRITE ? VM_READ | VM_WRITE : VM_READ;
}

/*
 * True if every VMA over [first, last] is still a device memory mapping with
 * the permissions @map needs. For an mprotect(): the notifier runs with the
 * mmap lock held and the new flags already set.
 */
static bool vrange_mmio_vmas_allow(struct mm_struct *mm,
				   const struct vrange_mapping *map,
				   unsigned long first, unsigned long last)
{
	unsigned long need = vrange_mmio_vm_flags(map->iommu_prot);
	struct vm_area_struct *vma;
	unsigned long addr = first;

	for (;;) {
		vma = vma_lookup(mm, addr);
		if (!vma || !(vma->vm_flags & (VM_IO | VM_PFNMAP)) ||
		    (vma->vm_flags & need) != need)
			return false;
		if (vma->vm_end - 1 >= last)
			return true;
		addr = vma->vm_end;
	}
}

/*
 * True if the invalidation @range leaves the user with the access @map
 * needs to the same PFNs, so the IOMMU mapping may stay.
 */
static bool vrange_mmio_access_kept(const struct vrange_mapping *map,
				    const struct mmu_notifier_range *range)
{
	unsigned long first = max_t(unsigned long, range->start, map->vaddr);
	unsigned long last = min_t(unsigned long, range->end - 1,
				   map->vaddr + map->length - 1);

	switch (range->event) {
	case MMU_NOTIFY_SOFT_DIRTY:
		/* Clearing soft-dirty bits skips VM_PFNMAP mappings. */
		return true;
	case MMU_NOTIFY_PROTECTION_VMA:
		/* Only permissions change; the PFNs stay. */
		return vrange_mmio_vmas_allow(range->mm, map, first, last);
	default:
		return false;
	}
}

/*
 * Takes @map out of the domains for good and has clients told. From the
 * notifier, @sub is set to @cur_seq (NULL for none) under revoke_lock.
 */
static void vrange_mmio_revoke(struct vrange_mapping *map,
			       struct mmu_interval_notifier *sub,
			       unsigned long cur_seq, int reason)
{
	struct vrange_iommu *iommu = map->iommu;
	bool revoked = false;

	/* Not iommu->lock: that is held while allocating, which may reclaim. */
	mutex_lock(&iommu->revoke_lock);
	if (sub)
		mmu_interval_set_seq(sub, cur_seq);
	if (map->mapped && !map->revoked) {
		vrange_domain_unmap_one(iommu, map);
		WRITE_ONCE(map->revoked, true);
		revoked = true;
	}
	mutex_unlock(&iommu->revoke_lock);
	if (revoked) {
		trace_vfio_range_revoke(iommu, map, reason);
		vrange_stat_add(iommu, VRANGE_STAT_REVOCATIONS, 1);
		schedule_work(&iommu->revoke_work);
	}
}

static bool vrange_mmio_invalidate(struct mmu_interval_notifier *sub,
				   const struct mmu_notifier_range *range,
				   unsigned long cur_seq)
{
	struct vrange_mapping *map =
		container_of(sub, struct vrange_mapping, mmu_sub);

	if (!mmu_notifier_range_blockable(range))
		return false;
	/* Not counted as a change: a map under way may commit. */
	if (vrange_mmio_access_kept(map, range))
		return true;

	vrange_mmio_revoke(map, sub, cur_seq, range->event);
	return true;
}

static const struct mmu_interval_notifier_ops vrange_mmio_ops = {
	.invalidate = vrange_mmio_invalidate,
};

/**
 * vrange_mmio_report_revoked() - tell clients of revoked BAR mappings
 * @work: &vrange_iommu.revoke_work
 *
 * Each revoked mapping still in the tree is reported once, with a sequence
 * number of its own, to the clients that asked for VFIO_RANGE_EVENT_REVOKED,
 * and logged. A mapping unmapped before this runs is not reported: its
 * UNMAP event said it is gone.
 */
void vrange_mmio_report_revoked(struct work_struct *work)
{
	struct vrange_iommu *iommu =
		container_of(work, struct vrange_iommu, revoke_work);
	struct vrange_mapping *map;
	u64 seq;

	mutex_lock(&iommu->op_lock);
	vrange_for_each_mapping(map, iommu, 0, U64_MAX) {
		cond_resched();
		if (map->backing != VRANGE_MMIO || map->revoke_reported ||
		    !READ_ONCE(map->revoked))
			continue;
		map->revoke_reported = true;
		mutex_lock(&iommu->lock);
		seq = ++iommu->seq;
		mutex_unlock(&iommu->lock);
		pr_info_ratelimited("vfio-range: container %u (%s[%d]): BAR mapping [%#llx, %#llx] revoked: the user mapping lost access\n",
				    iommu->id, iommu->opener_comm,
				    iommu->opener_pid,
				    vrange_mapping_start(map),
				    vrange_mapping_last(map));
		down_read(&iommu->clients_rwsem);
		vrange_notify(iommu, VFIO_RANGE_EVENT_REVOKED, seq,
			      vrange_mapping_start(map),
			      vrange_mapping_last(map));
		up_read(&iommu->clients_rwsem);
	}
	mutex_unlock(&iommu->op_lock);
}

/*
 * @n PFNs from @pfn taken from one leaf entry of @size bytes that maps
 * @addr: those from @addr to the end of the entry or to @end.
 */
static unsigned long vrange_mmio_leaf(unsigned long leaf_pfn,
				      unsigned long size, unsigned long addr,
				      unsigned long end, unsigned long *pfn)
{
	unsigned long next = (addr | (size - 1)) + 1;

	*pfn = leaf_pfn + ((addr & (size - 1)) >> PAGE_SHIFT);
	return (min(next, end) - addr) >> PAGE_SHIFT;
}

/*
 * The PFNs mapped from @addr towards @end (exclusive) as far as they are
 * contiguous within one PUD or PMD leaf entry or one PTE table, and
 * writable if @write: the first in @pfn, their number as the return value,
 * 0 if nothing (usable) is mapped at @addr. A huge entry is one step, so a
 * BAR that vfio-pci maps with huge entries costs one step per 1 GiB or
 * 2 MiB, and one of 4 KiB PTEs one step per table.
 *
 * No page table lock is taken (the PTE table lock helpers are not exported
 * on 6.12): with the mmap read lock held the tables of a PFN map are not
 * freed, each entry is read once, and the result is used only if the mmu
 * interval notifier saw no invalidation since the walk began
 * (vrange_mmio_install()).
 */
static unsigned long vrange_mmio_follow(struct mm_struct *mm,
					unsigned long addr, unsigned long end,
					bool write, unsigned long *pfn)
{
	unsigned long n = 0, stop;
	pgd_t *pgdp, pgd;
	p4d_t *p4dp, p4d;
	pud_t *pudp, pud;
	pmd_t *pmdp, pmd;
	pte_t *ptep, pte;

	pgdp = pgd_offset(mm, addr);
	pgd = READ_ONCE(*pgdp);
	if (pgd_none(pgd) || pgd_bad(pgd))
		return 0;
	p4dp = p4d_offset(pgdp, addr);
	p4d = READ_ONCE(*p4dp);
	if (p4d_none(p4d) || p4d_bad(p4d))
		return 0;
	pudp = pud_offset(p4dp, addr);
	pud = READ_ONCE(*pudp);
	if (pud_leaf(pud)) {
		if (!pud_present(pud) || (write && !pud_write(pud)))
			return 0;
		return vrange_mmio_leaf(pud_pfn(pud), PUD_SIZE, addr, end, pfn);
	}
	if (pud_none(pud) || pud_bad(pud))
		return 0;
	pmdp = pmd_offset(&pud, addr);
	pmd = READ_ONCE(*pmdp);
	if (pmd_leaf(pmd)) {
		if (!pmd_present(pmd) || (write && !pmd_write(pmd)))
			return 0;
		return vrange_mmio_leaf(pmd_pfn(pmd), PMD_SIZE, addr, end, pfn);
	}
	if (pmd_none(pmd) || pmd_bad(pmd))
		return 0;

	/* 64-bit: PTE tables are in the direct map, never in highmem. */
	ptep = pte_offset_kernel(&pmd, addr);
	stop = pmd_addr_end(addr, end);
	for (; addr < stop; addr += PAGE_SIZE, ptep++, n++) {
		pte = ptep_get(ptep);
		if (!pte_present(pte) || (write && !pte_write(pte)))
			break;
		if (!n)
			*pfn = pte_pfn(pte);
		else if (pte_pfn(pte) != *pfn + n)
			break;
	}
	return n;
}

#ifndef PAGES_PER_SUBSECTION
#define PAGES_PER_SUBSECTION	1	/* pfn_valid() decides each PFN */
#endif

/*
 * True if a PFN of [pfn, pfn + n) is ordinary RAM (a valid, non-reserved
 * page), which would need pinning. pfn_valid() holds for whole memory
 * subsections, so device memory costs one test per subsection.
 */
static bool vrange_mmio_any_ram(unsigned long pfn, unsigned long n)
{
	unsigned long end = pfn + n, next;

	for (; pfn < end; pfn = next) {
		next = min(ALIGN(pfn + 1, PAGES_PER_SUBSECTION), end);
		if (!pfn_valid(pfn))
			continue;
		for (; pfn < next; pfn++)
			if (!PageReserved(pfn_to_page(pfn)))
				return true;
		cond_resched();
	}
	return false;
}

/*
 * Adds @n PFNs from @pfn, the next pages of @map, to its runs: they extend
 * the last run if they follow it. Allocating under the mmap lock is fine,
 * as GUP does.
 */
static int vrange_mmio_add_pfns(struct vrange_mapping *map, unsigned long pfn,
				unsigned long n)
{
	struct vrange_pfn_run *runs, *last;

	last = map->nr_runs ? &map->runs[map->nr_runs - 1] : NULL;
	if (last && pfn == last->pfn + last->npages) {
		last->npages += n;
		return 0;
	}
	if (map->nr_runs == map->max_runs) {
		if (map->runs == &map->single_run) {
			runs = kmalloc_array(2, sizeof(*runs),
					     GFP_KERNEL_ACCOUNT);
			if (runs)
				runs[0] = map->single_run;
		} else {
			runs = krealloc_array(map->runs, 2 * map->max_runs,
					      sizeof(*runs),
					      GFP_KERNEL_ACCOUNT);
		}
		if (!runs)
			return -ENOMEM;
		map->runs = runs;
		map->max_runs *= 2;
	}
	map->runs[map->nr_runs++] = (struct vrange_pfn_run){
		.pfn = pfn,
		.npages = n,
	};
	return 0;
}

static void vrange_mmio_free_runs(struct vrange_mapping *map)
{
	if (map->runs != &map->single_run)
		kfree(map->runs);
	map->runs = NULL;
	map->nr_runs = 0;
}

/*
 * Checks the VMA at map->vaddr, with the mmap lock held: 0 if it is a
 * shared device memory mapping with the access @map needs that holds the
 * whole range, else the error of the rules.
 */
static int vrange_mmio_check_vma(struct mm_struct *mm,
				 const struct vrange_mapping *map)
{
	unsigned long need = vrange_mmio_vm_flags(map->iommu_prot);
	struct vm_area_struct *vma = vma_lookup(mm, map->vaddr);

	if (!vma || !(vma->vm_flags & (VM_IO | VM_PFNMAP)))
		return -EFAULT;
	/* The whole range must stay inside the one BAR mapping. */
	if (map->length - 1 > vma->vm_end - 1 - map->vaddr)
		return -EINVAL;
	if (is_cow_mapping(vma->vm_flags) || (vma->vm_flags & need) != need)
		return -EFAULT;
	return 0;
}

/*
 * Faults @addr in (for write if @write) through the BAR's fault handler, as
 * GUP would, and checks the VMA again if that dropped the mmap lock.
 */
static int vrange_mmio_fault(struct mm_struct *mm,
			     const struct vrange_mapping *map,
			     unsigned long addr, bool write)
{
	bool unlocked = false;
	int rc;

	rc = fixup_user_fault(mm, addr, write ? FAULT_FLAG_WRITE : 0,
			      &unlocked);
	if (rc || !unlocked)
		return rc;
	return vrange_mmio_check_vma(mm, map);
}

/*
 * Looks up the PFNs behind [map->vaddr, + length) into map->runs. The mmap
 * lock is held for one step at a time when others wait for it or the CPU
 * is wanted: it is dropped between steps and the VMA checked again when it
 * is back. Whatever changed meanwhile, the sequence check of the commit
 * sees.
 */
static int vrange_mmio_walk(struct mm_struct *mm, struct vrange_mapping *map)
{
	unsigned long end = map->vaddr + map->length, addr, pfn, n;
	bool write = map->iommu_prot & IOMMU_WRITE;
	int rc;

	map->nr_runs = 0;
	mmap_read_lock(mm);
	rc = vrange_mmio_check_vma(mm, map);
	for (addr = map->vaddr; !rc && addr < end; addr += n << PAGE_SHIFT) {
		n = vrange_mmio_follow(mm, addr, end, write, &pfn);
		if (!n) {
			rc = vrange_mmio_fault(mm, map, addr, write);
			if (rc)
				break;
			n = vrange_mmio_follow(mm, addr, end, write, &pfn);
			if (!n) {
				rc = -EFAULT;
				break;
			}
		}
		/* A page of RAM would need pinning, which PFNs skip. */
		if (vrange_mmio_any_ram(pfn, n)) {
			rc = -EFAULT;
			break;
		}
		rc = vrange_mmio_add_pfns(map, pfn, n);
		if (!rc && (need_resched() || mmap_lock_is_contended(mm))) {
			mmap_read_unlock(mm);
			cond_resched();
			mmap_read_lock(mm);
			rc = vrange_mmio_check_vma(mm, map);
		}
	}
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
 * Return: 0, -EFAULT (no device memory there; a private mapping; not
 * readable, or not writable for a writable mapping; RAM behind the PFNs),
 * -EINVAL (the range leaves the BAR mapping), another errno of the fault
 * handler, or -ENOMEM. On error nothing is left registered or allocated.
 */
int vrange_mmio_resolve(struct vrange_iommu *iommu, struct vrange_mapping *map)
{
	struct mm_struct *mm = current->mm;
	int rc;

	rc = mmu_interval_notifier_insert(&map->mmu_sub, mm, map->vaddr,
					  map->length, &vrange_mmio_ops);
	if (rc)
		return rc;
	map->runs = &map->single_run;
	map->max_runs = 1;

	map->mmu_seq = mmu_interval_read_begin(&map->mmu_sub);
	rc = vrange_mmio_walk(mm, map);
	if (rc) {
		mmu_interval_notifier_remove(&map->mmu_sub);
		vrange_mmio_free_runs(map);
	}
	return rc;
}

/**
 * vrange_mmio_install() - map a resolved BAR mapping into every domain
 * @iommu: the container, locked
 * @map: the mapping, resolved by vrange_mmio_resolve()
 *
 * The page tables are allocated and charged like any other (the notifier
 * must not wait for that), then the mapping is committed under
 * revoke_lock, which orders it against the notifier: if the user mapping
 * changed since the PFNs were looked up, they may be stale, and what was
 * just mapped is removed again.
 *
 * Return: 0; -EAGAIN if the user mapping changed meanwhile; or an error
 * from the IOMMU driver. On error @map is in no domain.
 */
int vrange_mmio_install(struct vrange_iommu *iommu, struct vrange_mapping *map)
{
	int rc;

	lockdep_assert_held(&iommu->lock);
	rc = vrange_domains_map(iommu, map, GFP_KERNEL_ACCOUNT);
	if (rc)
		return rc;

	mutex_lock(&iommu->revoke_lock);
	if (map->length &&
	    mmu_interval_read_retry(&map->mmu_sub, map->mmu_seq)) {
		vrange_domain_unmap_one(iommu, map);
		rc = -EAGAIN;
	} else {
		map->mapped = true;
	}
	mutex_unlock(&iommu->revoke_lock);
	return rc;
}

/* Stops watching the BAR mapping; no lock held, the mapping is unmapped. */
void vrange_mmio_release(struct vrange_mapping *map)
{
	if (!map->length)
		return;
	/* Not registered: a live update failed to move it (and revoked). */
	if (map->mmu_sub.mm)
		mmu_interval_notifier_remove(&map->mmu_sub);
	vrange_mmio_free_runs(map);
}

/* True if @a and @b map the same PFNs in the same order. */
static bool vrange_mmio_same_runs(const struct vrange_mapping *a,
				  const struct vrange_mapping *b)
{
	unsigned long i;

	if (a->nr_runs != b->nr_runs)
		return false;
	for (i = 0; i < a->nr_runs; i++)
		if (a->runs[i].pfn != b->runs[i].pfn ||
		    a->runs[i].npages != b->runs[i].npages)
			return false;
	return true;
}

/**
 * vrange_mmio_rebind() - watch a BAR mapping through a new user address
 * @iommu: the container
 * @map: a BAR mapping whose vaddr was invalidated; until now it was
 *	watched through the old address, which revoked it if that lost
 *	access
 * @vaddr: the new address of its first page in the current process
 *
 * @vaddr must show the same PFNs, with the access @map needs, else nothing
 * changes. Then the notifier moves to the current process's mapping. If
 * that changed between the lookup and the move, the mapping is revoked, as
 * it would have been a moment later. A revoked mapping stays revoked.
 *
 * Context: op_lock held, vrange_iommu.lock not held.
 * Return: 0; -EINVAL if @vaddr shows other PFNs or leaves its BAR mapping;
 * -EFAULT or -ENOMEM as for a map request. On error @map is unchanged.
 */
int vrange_mmio_rebind(struct vrange_iommu *iommu, struct vrange_mapping *map,
		       u64 vaddr)
{
	struct vrange_mapping *probe;
	int rc;

	probe = kzalloc(sizeof(*probe), GFP_KERNEL_ACCOUNT);
	if (!probe)
		return -ENOMEM;
	probe->iommu = iommu;
	probe->backing = VRANGE_MMIO;
	probe->iommu_prot = map->iommu_prot;
	probe->vaddr = vaddr;
	probe->length = map->length;
	/* The probe's notifier is never mapped: it only counts changes. */
	rc = vrange_mmio_resolve(iommu, probe);
	if (rc)
		goto out_free;
	if (!vrange_mmio_same_runs(map, probe)) {
		rc = -EINVAL;
		goto out_release;
	}

	mmu_interval_notifier_remove(&map->mmu_sub);
	/* Unregistered until the insert below succeeds (see release). */
	memset(&map->mmu_sub, 0, sizeof(map->mmu_sub));
	map->vaddr = vaddr;
	/* The probe registered the mm's notifiers: this should not fail. */
	if (mmu_interval_notifier_insert(&map->mmu_sub, current->mm, vaddr,
					 map->length, &vrange_mmio_ops) ||
	    mmu_interval_read_retry(&probe->mmu_sub, probe->mmu_seq))
		vrange_mmio_revoke(map, NULL, 0, MMU_NOTIFY_UNMAP);
out_release:
	vrange_mmio_release(probe);
out_free:
	kfree(probe);
	return rc;
}
