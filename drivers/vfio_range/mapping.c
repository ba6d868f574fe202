// SPDX-License-Identifier: GPL-2.0-only
/*
 * The mapping engine: the interval tree of mappings and its mirror in every
 * IOMMU domain of the container.
 *
 * Invariant, under vrange_iommu.lock: every mapping in the tree is fully
 * mapped in every domain on vrange_iommu.domains, and its pages stay pinned
 * until it has been unmapped from all of them and the IOTLBs were flushed.
 *
 * Map and unmap hold vrange_iommu.op_lock from start to finish, including
 * the delivery of their events, and drop vrange_iommu.lock while clients
 * and emulated devices are told of an unmap: those call back into
 * vfio_unpin_pages(), which takes it.
 */
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vfio_range.h>

#include <vfio_range/compat.h>
#include <vfio_range/core.h>
#include <vfio_range/range.h>

static struct vrange_mapping *to_mapping(struct interval_tree_node *node)
{
	return node ? container_of(node, struct vrange_mapping, node) : NULL;
}

struct vrange_mapping *vrange_mapping_first(struct vrange_iommu *iommu,
					    u64 start, u64 last)
{
	lockdep_assert(lockdep_is_held(&iommu->lock) ||
		       lockdep_is_held(&iommu->op_lock));
	return to_mapping(interval_tree_iter_first(&iommu->mappings, start,
						   last));
}

struct vrange_mapping *vrange_mapping_next(struct vrange_mapping *map,
					   u64 start, u64 last)
{
	return to_mapping(interval_tree_iter_next(&map->node, start, last));
}

/* The mapping holding @iova, or NULL. */
struct vrange_mapping *vrange_mapping_at(struct vrange_iommu *iommu, u64 iova)
{
	return vrange_mapping_first(iommu, iova, iova);
}

/*
 * Maps @map into @dom, one iommu_map() per physically contiguous run so the
 * IOMMU driver can use its large pages. On failure nothing of @map stays in
 * @dom.
 */
static int vrange_domain_map(struct vrange_domain *dom,
			     struct vrange_mapping *map)
{
	u64 start = vrange_mapping_start(map);
	unsigned long i = 0;
	int rc;

	while (i < map->npages) {
		unsigned long pfn = page_to_pfn(map->pages[i]);
		unsigned long run = 1;

		while (i + run < map->npages &&
		       page_to_pfn(map->pages[i + run]) == pfn + run)
			run++;

		rc = vrange_compat_iommu_map(dom->domain,
					     start + (i << PAGE_SHIFT),
					     PFN_PHYS(pfn), run << PAGE_SHIFT,
					     map->iommu_prot | IOMMU_CACHE);
		if (rc) {
			if (i)
				iommu_unmap(dom->domain, start, i << PAGE_SHIFT);
			return rc;
		}
		i += run;
	}
	return 0;
}

/* Removes @map from every domain in @iommu except @skip (may be NULL). */
static void vrange_domains_unmap(struct vrange_iommu *iommu,
				 struct vrange_mapping *map,
				 struct vrange_domain *skip)
{
	struct vrange_domain *dom;

	list_for_each_entry(dom, &iommu->domains, node) {
		if (dom == skip)
			break;
		iommu_unmap(dom->domain, vrange_mapping_start(map),
			    vrange_mapping_length(map));
	}
}

static void vrange_mapping_free(struct vrange_mapping *map)
{
	vrange_pages_unpin(map);
	kfree(map);
}

/**
 * vrange_map_user() - pin user memory and map it at [start, last]
 * @iommu: the container
 * @vaddr: user address of the first byte, in the current process
 * @start: first IOVA
 * @last: last IOVA, inclusive
 * @iommu_prot: IOMMU_READ and/or IOMMU_WRITE
 *
 * The caller checked the flags. Alignment, the usable ranges, overlap and
 * the mapping limit are checked here, under the lock, because they depend
 * on the domains and mappings of the moment.
 *
 * Return: 0 or a negative errno; on error the container is unchanged.
 */
int vrange_map_user(struct vrange_iommu *iommu, u64 vaddr, u64 start, u64 last,
		    int iommu_prot)
{
	struct vrange_mapping *map;
	struct vrange_domain *dom;
	u64 pgsize, vaddr_last, seq;
	int rc;

	if (start > last)
		return -EINVAL;

	mutex_lock(&iommu->op_lock);
	mutex_lock(&iommu->lock);
	pgsize = 1ULL << __ffs64(iommu->pgsize_bitmap);
	if (!vrange_range_aligned(start, last, pgsize) ||
	    !IS_ALIGNED(vaddr, pgsize)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (check_add_overflow(vaddr, last - start, &vaddr_last)) {
		rc = -EOVERFLOW;
		goto out_unlock;
	}
	if (!vrange_iova_usable(iommu, start, last)) {
		rc = -ERANGE;
		goto out_unlock;
	}
	if (vrange_mapping_first(iommu, start, last)) {
		rc = -EEXIST;
		goto out_unlock;
	}
	if (iommu->nr_mappings >= READ_ONCE(vrange_max_mappings)) {
		rc = -ENOSPC;
		goto out_unlock;
	}
	if (!access_ok(u64_to_user_ptr(vaddr), last - start)) {
		rc = -EFAULT;
		goto out_unlock;
	}

	map = kzalloc(sizeof(*map), GFP_KERNEL_ACCOUNT);
	if (!map) {
		rc = -ENOMEM;
		goto out_unlock;
	}
	map->node.start = start;
	map->node.last = last;
	map->vaddr = vaddr;
	map->iommu_prot = iommu_prot;
	map->npages = vrange_range_units(start, last, PAGE_SHIFT);

	rc = vrange_pages_pin(map, vaddr);
	if (rc)
		goto out_free;

	list_for_each_entry(dom, &iommu->domains, node) {
		rc = vrange_domain_map(dom, map);
		if (rc) {
			vrange_domains_unmap(iommu, map, dom);
			vrange_pages_unpin(map);
			goto out_free;
		}
	}

	interval_tree_insert(&map->node, &iommu->mappings);
	iommu->nr_mappings++;
	seq = ++iommu->seq;
	mutex_unlock(&iommu->lock);

	vrange_notify(iommu, VFIO_RANGE_EVENT_MAP, seq, start, last);
	mutex_unlock(&iommu->op_lock);
	return 0;

out_free:
	kfree(map);
out_unlock:
	mutex_unlock(&iommu->lock);
	mutex_unlock(&iommu->op_lock);
	return rc;
}

/*
 * Unmaps every mapping inside [start, last] from all domains with one
 * IOTLB flush per domain (as far as the IOMMU driver can gather), then
 * unpins and frees them. Pages are released only after the flush, so no
 * stale IOTLB entry can reach a freed page.
 */
static u64 vrange_remove_range(struct vrange_iommu *iommu, u64 start, u64 last)
{
	struct vrange_mapping *map, *next;
	struct vrange_domain *dom;
	u64 unmapped = 0;

	lockdep_assert_held(&iommu->lock);

	list_for_each_entry(dom, &iommu->domains, node) {
		struct iommu_iotlb_gather gather;

		iommu_iotlb_gather_init(&gather);
		vrange_for_each_mapping(map, iommu, start, last) {
			iommu_unmap_fast(dom->domain, vrange_mapping_start(map),
					 vrange_mapping_length(map), &gather);
			cond_resched();
		}
		iommu_iotlb_sync(dom->domain, &gather);
	}

	for (map = vrange_mapping_first(iommu, start, last); map; map = next) {
		next = vrange_mapping_next(map, start, last);
		interval_tree_remove(&map->node, &iommu->mappings);
		iommu->nr_mappings--;
		/* The mappings are disjoint and backed by memory: no wrap. */
		unmapped += vrange_mapping_length(map);
		vrange_mapping_free(map);
		cond_resched();
	}
	return unmapped;
}

/*
 * Calls @fn once for each run of adjacent mappings inside [start, last]:
 * what an unmap of that range really removes, as few ranges as possible.
 */
static void vrange_for_each_run(struct vrange_iommu *iommu, u64 start,
				u64 last,
				void (*fn)(struct vrange_iommu *iommu, u64 start,
					   u64 last, u64 seq),
				u64 seq)
{
	struct vrange_mapping *map;
	u64 run_start = 0, run_last = 0;
	bool in_run = false;

	vrange_for_each_mapping(map, iommu, start, last) {
		/* run_last + 1 cannot wrap: a mapping follows it. */
		if (in_run && vrange_mapping_start(map) == run_last + 1) {
			run_last = vrange_mapping_last(map);
			continue;
		}
		if (in_run)
			fn(iommu, run_start, run_last, seq);
		run_start = vrange_mapping_start(map);
		run_last = vrange_mapping_last(map);
		in_run = true;
	}
	if (in_run)
		fn(iommu, run_start, run_last, seq);
}

static void vrange_notify_unmap_run(struct vrange_iommu *iommu, u64 start,
				    u64 last, u64 seq)
{
	vrange_notify(iommu, VFIO_RANGE_EVENT_UNMAP, seq, start, last);
}

static void vrange_notify_devices_run(struct vrange_iommu *iommu, u64 start,
				      u64 last, u64 seq)
{
	vrange_notify_devices(iommu, start, last);
}

/* Rounds of dma_unmap calls before a device that keeps pins is given up. */
#define VRANGE_UNPIN_ROUNDS	4

/*
 * Tells emulated devices holding pins in [start, last] to drop them and
 * waits for them to do it. Returns true once no pin is left.
 */
static bool vrange_wait_unpinned(struct vrange_iommu *iommu, u64 start,
				 u64 last)
{
	int round;

	for (round = 0; round < VRANGE_UNPIN_ROUNDS; round++) {
		bool pinned;

		mutex_lock(&iommu->lock);
		pinned = vrange_pins_in_range(iommu, start, last, U64_MAX);
		mutex_unlock(&iommu->lock);
		if (!pinned)
			return true;
		vrange_for_each_run(iommu, start, last,
				    vrange_notify_devices_run, 0);
	}
	return false;
}

static void vrange_mark_removing(struct vrange_iommu *iommu, u64 start,
				 u64 last, bool removing)
{
	struct vrange_mapping *map;

	vrange_for_each_mapping(map, iommu, start, last)
		map->removing = removing;
}

/*
 * The unmap itself. @force is for the container's release: pins that
 * emulated devices failed to drop are then discarded instead of failing.
 */
static int __vrange_unmap(struct vrange_iommu *iommu, u64 start, u64 last,
			  bool force, u64 *unmapped)
{
	struct vrange_mapping *map;
	u64 pgsize, seq;
	int rc = 0;

	*unmapped = 0;
	if (start > last)
		return -EINVAL;

	mutex_lock(&iommu->op_lock);
	mutex_lock(&iommu->lock);
	pgsize = 1ULL << __ffs64(iommu->pgsize_bitmap);
	if (!vrange_range_aligned(start, last, pgsize)) {
		rc = -EINVAL;
		goto out_unlock;
	}

	/*
	 * Only the mappings holding start and last can straddle an edge;
	 * check both before touching anything.
	 */
	map = vrange_mapping_at(iommu, start);
	if (map && vrange_mapping_start(map) < start) {
		rc = -EINVAL;
		goto out_unlock;
	}
	map = vrange_mapping_at(iommu, last);
	if (map && vrange_mapping_last(map) > last) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (!vrange_mapping_first(iommu, start, last))
		goto out_unlock;

	vrange_mark_removing(iommu, start, last, true);
	seq = ++iommu->seq;
	mutex_unlock(&iommu->lock);

	/* Everyone hears of it while the pages are still mapped and pinned. */
	vrange_for_each_run(iommu, start, last, vrange_notify_unmap_run, seq);
	if (!vrange_wait_unpinned(iommu, start, last) && !force) {
		pr_warn_ratelimited("vfio-range: an emulated device keeps pages pinned in [%#llx, %#llx]; unmap refused\n",
				    start, last);
		mutex_lock(&iommu->lock);
		vrange_mark_removing(iommu, start, last, false);
		rc = -EDEADLOCK;
		goto out_unlock;
	}

	mutex_lock(&iommu->lock);
	/* Pins left now are stale ones of devices gone at release. */
	vrange_pins_drop_range(iommu, start, last);
	*unmapped = vrange_remove_range(iommu, start, last);
out_unlock:
	mutex_unlock(&iommu->lock);
	mutex_unlock(&iommu->op_lock);
	return rc;
}

/**
 * vrange_unmap_range() - remove every mapping inside [start, last]
 * @iommu: the container
 * @start: first IOVA of the range
 * @last: last IOVA of the range, inclusive
 * @unmapped: output: the bytes removed
 *
 * Clients and emulated devices are told before anything is released.
 *
 * Return: 0; -EINVAL if the range is malformed or a mapping straddles one
 * of its edges; -EDEADLOCK if an emulated device would not unpin pages in
 * the range. On error nothing is removed.
 */
int vrange_unmap_range(struct vrange_iommu *iommu, u64 start, u64 last,
		       u64 *unmapped)
{
	return __vrange_unmap(iommu, start, last, false, unmapped);
}

/**
 * vrange_unmap_all() - remove every mapping of a container being released
 * @iommu: the container
 */
void vrange_unmap_all(struct vrange_iommu *iommu)
{
	u64 unmapped;

	__vrange_unmap(iommu, 0, U64_MAX, true, &unmapped);
}

/**
 * vrange_domain_replay() - map every existing mapping into a new domain
 * @iommu: the container, locked
 * @dom: the new domain, not yet on &vrange_iommu.domains
 *
 * Return: 0, or a negative errno with nothing left mapped in @dom.
 */
int vrange_domain_replay(struct vrange_iommu *iommu, struct vrange_domain *dom)
{
	struct vrange_mapping *map, *done;
	int rc;

	lockdep_assert_held(&iommu->lock);

	vrange_for_each_mapping(map, iommu, 0, U64_MAX) {
		rc = vrange_domain_map(dom, map);
		if (rc)
			goto err_unwind;
		cond_resched();
	}
	return 0;

err_unwind:
	vrange_for_each_mapping(done, iommu, 0, U64_MAX) {
		if (done == map)
			break;
		iommu_unmap(dom->domain, vrange_mapping_start(done),
			    vrange_mapping_length(done));
	}
	return rc;
}
