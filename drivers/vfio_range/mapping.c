// SPDX-License-Identifier: GPL-2.0-only
/*
 * The mapping engine: the interval tree of mappings and its mirror in every
 * IOMMU domain of the container.
 *
 * Invariant, under vrange_iommu.lock: every mapping in the tree is fully
 * mapped in every domain on vrange_iommu.domains (an MMIO mapping unless it
 * was revoked), and its pages stay pinned until it has been unmapped from
 * all of them and the IOTLBs were flushed. If an IOMMU driver fails to
 * unmap all of a mapping, its pages stay pinned for good.
 *
 * The locks are described, and their order given, at struct vrange_iommu.
 * Map and unmap hold op_lock from start to finish, including the delivery
 * of their events. Work on the mm (pinning, charging locked_vm, looking up
 * BAR PFNs, mmu notifiers) is done without vrange_iommu.lock. Clients and
 * emulated devices are told of an unmap without vrange_iommu.lock too:
 * they unpin, which takes it.
 */
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vfio_range.h>

#include <vfio_range/compat.h>
#include <vfio_range/core.h>
#include <vfio_range/range.h>
#include <vfio_range/runs.h>
#include <vfio_range/trace.h>

/* Pages read back between reschedule points. */
#define VRANGE_READBACK_STEP	512

static struct vrange_mapping *to_mapping(struct interval_tree_node *node)
{
	return node ? container_of(node, struct vrange_mapping, node) : NULL;
}

/* The first mapping whose extent meets [start, last], in IOVA order. */
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

/* The RAM mapping that really maps @iova and is not being removed. */
struct vrange_mapping *vrange_ram_at(struct vrange_iommu *iommu, u64 iova)
{
	struct vrange_mapping *map = vrange_mapping_first(iommu, iova, iova);

	if (!map || map->backing != VRANGE_RAM || map->removing ||
	    !map->length || iova < vrange_mapping_start(map) ||
	    iova > vrange_mapping_last(map))
		return NULL;
	return map;
}

/*
 * True if the IOMMU domains hold (or should hold) @map's translation. Read
 * without revoke_lock only where a revocation racing with it is caught
 * afterwards (see vrange_domain_add()).
 */
static bool vrange_mapping_in_domains(const struct vrange_mapping *map)
{
	if (!map->length)
		return false;
	return map->backing == VRANGE_RAM || !READ_ONCE(map->revoked);
}

/*
 * Checks what the IOMMU driver removed of [iova, iova + size) of @map. A
 * driver that removed less leaves translations to @map's pages behind, so
 * they must never be unpinned: @map is marked stuck and its pages leaked,
 * as type1 does. Only a driver bug gets here.
 */
static void vrange_unmap_check(struct vrange_mapping *map, u64 iova,
			       size_t size, size_t unmapped)
{
	if (likely(unmapped == size))
		return;
	WARN_ONCE(1, "vfio-range: the IOMMU driver unmapped %zu of %zu bytes at IOVA %#llx; leaking the pages behind it\n",
		  unmapped, size, iova);
	map->stuck = true;
}

static void vrange_iommu_unmap(struct vrange_mapping *map,
			       struct iommu_domain *domain, u64 iova,
			       size_t size)
{
	vrange_unmap_check(map, iova, size, iommu_unmap(domain, iova, size));
}

/* The domain RAM mappings without a record are read back from. */
static struct iommu_domain *vrange_readback_domain(struct vrange_iommu *iommu)
{
	struct vrange_domain *dom;

	dom = list_first_entry_or_null(&iommu->domains, struct vrange_domain,
				       node);
	return dom ? dom->domain : NULL;
}

/* Reads back the run of @map at page @off from @domain; lock held. */
static bool vrange_readback_run(struct iommu_domain *domain,
				const struct vrange_mapping *map,
				unsigned long off, unsigned long *pfn,
				unsigned long *npages)
{
	u64 iova = vrange_mapping_start(map) + ((u64)off << PAGE_SHIFT);
	phys_addr_t phys = iommu_iova_to_phys(domain, iova);
	unsigned long n = 1;

	/* Only a driver bug loses a translation: leak rather than guess. */
	if (WARN_ON_ONCE(!phys))
		return false;
	while (off + n < map->npages &&
	       iommu_iova_to_phys(domain, iova + ((u64)n << PAGE_SHIFT)) ==
	       phys + ((u64)n << PAGE_SHIFT)) {
		n++;
		if (!(n % VRANGE_READBACK_STEP))
			cond_resched();
	}
	*pfn = PHYS_PFN(phys);
	*npages = n;
	return true;
}

/**
 * vrange_mapping_next_run() - the next physically contiguous run of what
 *	a mapping maps
 * @iommu: the container, its lock held (or op_lock, for a mapping not in
 *	the tree yet, which has its record)
 * @map: the mapping
 * @it: the walk, zeroed to start at @map's first page; or, for RAM without
 *	a record, with @it->off set to start there
 * @pfn: output: first PFN of the run
 * @npages: output: its pages
 *
 * In IOVA order: for a BAR as looked up; for RAM from its record if it has
 * one, else read back from the container's first IOMMU domain, which holds
 * it like every domain does (as type1 does at unmap). This is the one
 * place that knows where a mapping's PFNs are.
 *
 * Return: false after the last run.
 */
bool vrange_mapping_next_run(struct vrange_iommu *iommu,
			     struct vrange_mapping *map,
			     struct vrange_run_iter *it, unsigned long *pfn,
			     unsigned long *npages)
{
	struct iommu_domain *domain;
	struct vrange_run run;

	if (map->backing == VRANGE_MMIO) {
		if (it->idx >= map->nr_runs)
			return false;
		*pfn = map->runs[it->idx].pfn;
		*npages = map->runs[it->idx].npages;
		it->idx++;
		return true;
	}
	if (it->off >= map->npages)
		return false;
	if (map->record.npages) {
		if (!vrange_runs_next(&map->record, &it->pos, &run))
			return false;
		*pfn = run.pfn;
		*npages = run.npages;
	} else {
		lockdep_assert_held(&iommu->lock);
		domain = vrange_readback_domain(iommu);
		if (WARN_ON_ONCE(!domain) ||
		    !vrange_readback_run(domain, map, it->off, pfn, npages))
			return false;
	}
	it->off += *npages;
	return true;
}

/**
 * vrange_ram_page() - the page a RAM mapping maps at an IOVA
 * @iommu: the container, locked
 * @map: a RAM mapping in the tree
 * @iova: an IOVA it maps
 *
 * Return: the page (pinned by the mapping), or NULL if none is found.
 */
struct page *vrange_ram_page(struct vrange_iommu *iommu,
			     struct vrange_mapping *map, u64 iova)
{
	unsigned long pgoff = (iova - vrange_mapping_start(map)) >> PAGE_SHIFT;
	struct iommu_domain *domain;
	unsigned long pfn;
	phys_addr_t phys;

	lockdep_assert_held(&iommu->lock);
	if (map->record.npages)
		return vrange_runs_pfn_at(&map->record, pgoff, &pfn) ?
		       pfn_to_page(pfn) : NULL;
	domain = vrange_readback_domain(iommu);
	if (WARN_ON_ONCE(!domain))
		return NULL;
	phys = iommu_iova_to_phys(domain, iova & PAGE_MASK);
	return phys ? pfn_to_page(PHYS_PFN(phys)) : NULL;
}

/*
 * Maps @map into @dom with one iommu_map() per physically contiguous run,
 * so the IOMMU driver can use its large pages. On failure nothing of @map
 * stays in @dom.
 */
static int vrange_domain_map(struct vrange_domain *dom,
			     struct vrange_mapping *map, gfp_t gfp)
{
	int prot = map->iommu_prot |
		   (map->backing == VRANGE_MMIO ? IOMMU_MMIO : IOMMU_CACHE);
	u64 start = vrange_mapping_start(map), iova = start;
	struct vrange_run_iter it = {};
	unsigned long pfn, npages;
	int rc;

	if (!vrange_mapping_in_domains(map))
		return 0;
	while (vrange_mapping_next_run(map->iommu, map, &it, &pfn, &npages)) {
		size_t size = npages << PAGE_SHIFT;

		vrange_stat_add(map->iommu, VRANGE_STAT_IOMMU_MAP_CALLS, 1);
		vrange_stat_add(map->iommu, VRANGE_STAT_IOMMU_MAPPED_BYTES,
				size);
		rc = vrange_compat_iommu_map(dom->domain, iova, PFN_PHYS(pfn),
					     size, prot, gfp);
		if (rc) {
			if (iova > start)
				vrange_iommu_unmap(map, dom->domain, start,
						   iova - start);
			return rc;
		}
		iova += size;
	}
	return 0;
}

/* Removes @map from every domain before @stop (NULL: all of them). */
static void vrange_domains_unmap(struct vrange_iommu *iommu,
				 struct vrange_mapping *map,
				 struct vrange_domain *stop)
{
	struct vrange_domain *dom;

	if (!vrange_mapping_in_domains(map))
		return;
	list_for_each_entry(dom, &iommu->domains, node) {
		if (dom == stop)
			break;
		vrange_stat_add(iommu, VRANGE_STAT_IOTLB_SYNCS, 1);
		vrange_iommu_unmap(map, dom->domain, vrange_mapping_start(map),
				   vrange_mapping_length(map));
	}
}

/**
 * vrange_domain_unmap_one() - take one mapping out of every domain
 * @iommu: the container, its revoke_lock held
 * @map: a mapping in the tree
 *
 * For revoking a BAR mapping; iommu_unmap() flushes the IOTLB.
 */
void vrange_domain_unmap_one(struct vrange_iommu *iommu,
			     struct vrange_mapping *map)
{
	lockdep_assert_held(&iommu->revoke_lock);
	vrange_domains_unmap(iommu, map, NULL);
}

/* Releases what a mapping holds; no lock may be held (mm work). */
static void vrange_mapping_free(struct vrange_mapping *map)
{
	if (map->backing == VRANGE_MMIO)
		vrange_mmio_release(map);
	else if (map->length && map->stuck)
		vrange_pages_abandon(map);
	else if (map->length)
		vrange_pages_unpin(map);
	kfree(map);
}

/*
 * Unpins the runs an unmap read back for @map, the next ones of @unpin
 * from @pos (runs never straddle two mappings), unless @map is stuck.
 */
static void vrange_unpin_gathered(struct vrange_mapping *map,
				  struct vrange_runs *unpin,
				  struct vrange_runs_pos *pos)
{
	unsigned long left = map->gathered;
	struct vrange_run run;

	while (left && vrange_runs_next(unpin, pos, &run)) {
		left -= run.npages;
		if (!map->stuck)
			vrange_pages_unpin_run(map, run.pfn, run.npages);
		cond_resched();
	}
	map->gathered = 0;
}

/*
 * Frees the mappings an unmap removed, in the order it read their runs
 * back into @unpin, and then @unpin.
 */
static void vrange_mapping_free_list(struct list_head *dead,
				     struct vrange_runs *unpin)
{
	struct vrange_mapping *map, *next;
	struct vrange_runs_pos pos = {};

	list_for_each_entry_safe(map, next, dead, free_node) {
		vrange_unpin_gathered(map, unpin, &pos);
		vrange_mapping_free(map);
		cond_resched();
	}
	vrange_runs_free(unpin);
}

/*
 * Works out what to map for @req with the container's current page size
 * and checks it can go in. Called before the mm work and again after it,
 * since a group attached meanwhile may have changed the page sizes or the
 * usable ranges; if the two disagree on what to map, the mm work is done
 * again (vrange_map()).
 */
static int vrange_map_check(struct vrange_iommu *iommu,
			    struct vrange_map_req *req)
{
	u64 pgsize, mask, head, tail;

	lockdep_assert_held(&iommu->lock);

	pgsize = vrange_min_pgsize(iommu);
	mask = pgsize - 1;
	if (!req->trim) {
		if (!vrange_range_aligned(req->start, req->last, pgsize) ||
		    (req->vaddr & mask))
			return -EINVAL;
		req->out_start = req->start;
		req->out_last = req->last;
		req->out_empty = false;
	} else {
		/* An IOMMU page maps one page: IOVA and address must agree. */
		if ((req->start ^ req->vaddr) & mask)
			return -EINVAL;
		head = (pgsize - (req->start & mask)) & mask;
		/* last + 1 wraps to 0 at U64_MAX, which is aligned. */
		tail = (req->last + 1) & mask;
		req->out_empty = req->last - req->start < head + tail;
		req->out_start = req->out_empty ? 0 : req->start + head;
		req->out_last = req->out_empty ? 0 : req->last - tail;
	}

	/* In type1's order, so its compat front door gives type1's errno. */
	if (vrange_mapping_first(iommu, req->start, req->last))
		return -EEXIST;
	if (iommu->nr_mappings >= READ_ONCE(vrange_max_mappings))
		return -ENOSPC;
	if (!req->out_empty &&
	    !vrange_iova_usable(iommu, req->out_start, req->out_last))
		return -ERANGE;
	return 0;
}

/* True if @now would map other IOVA than what @then acquired. */
static bool vrange_map_req_changed(const struct vrange_map_req *then,
				   const struct vrange_map_req *now)
{
	return then->out_empty != now->out_empty ||
	       then->out_start != now->out_start ||
	       then->out_last != now->out_last;
}

static struct vrange_mapping *vrange_mapping_alloc(struct vrange_iommu *iommu,
						   struct vrange_map_req *req)
{
	struct vrange_mapping *map;

	map = kzalloc(sizeof(*map), GFP_KERNEL_ACCOUNT);
	if (!map)
		return NULL;
	map->node.start = req->start;
	map->node.last = req->last;
	map->iommu_prot = req->iommu_prot;
	map->iommu = iommu;
	map->backing = vrange_vaddr_is_mmio(req->vaddr) ? VRANGE_MMIO :
							  VRANGE_RAM;
	vrange_runs_init(&map->record);
	return map;
}

/* Pins or resolves what backs the mapping; no lock but op_lock held. */
static int vrange_mapping_acquire(struct vrange_iommu *iommu,
				  struct vrange_mapping *map,
				  const struct vrange_map_req *req)
{
	if (req->out_empty)
		return 0;
	map->iova = req->out_start;
	/* Below 2^64: the range is backed by memory or a BAR. */
	map->length = req->out_last - req->out_start + 1;
	map->vaddr = req->vaddr + (req->out_start - req->start);
	if (map->backing == VRANGE_MMIO)
		return vrange_mmio_resolve(iommu, map);
	map->npages = vrange_range_units(req->out_start, req->out_last,
					 PAGE_SHIFT);
	return vrange_pages_pin(map);
}

/**
 * vrange_domains_map() - map @map into every domain of the container
 * @iommu: the container, locked
 * @map: the mapping
 * @gfp: how the IOMMU driver may allocate page tables
 *
 * Return: 0, or a negative errno with @map in no domain.
 */
int vrange_domains_map(struct vrange_iommu *iommu, struct vrange_mapping *map,
		       gfp_t gfp)
{
	struct vrange_domain *dom;
	int rc;

	lockdep_assert_held(&iommu->lock);
	list_for_each_entry(dom, &iommu->domains, node) {
		rc = vrange_domain_map(dom, map, gfp);
		if (rc) {
			vrange_domains_unmap(iommu, map, dom);
			return rc;
		}
	}
	return 0;
}

/*
 * Puts @map in every domain and the tree; iommu->lock held. -EAGAIN if
 * the PFNs of a BAR went stale since they were looked up.
 */
static int vrange_mapping_install(struct vrange_iommu *iommu,
				  struct vrange_mapping *map)
{
	int rc;

	if (map->backing == VRANGE_MMIO)
		rc = vrange_mmio_install(iommu, map);
	else
		rc = vrange_domains_map(iommu, map, GFP_KERNEL_ACCOUNT);
	if (rc)
		return rc;
	/* The domains hold the PFNs now: no per-page state stays. */
	if (map->backing == VRANGE_RAM && !list_empty(&iommu->domains)) {
		vrange_pages_drop_record(map);
		iommu->nr_unrecorded++;
	}
	interval_tree_insert(&map->node, &iommu->mappings);
	iommu->nr_mappings++;
	vrange_stat_add(iommu, VRANGE_STAT_MAPS, 1);
	return 0;
}

/* Tries to resolve a BAR again if its user mapping changed meanwhile. */
#define VRANGE_MAP_RETRIES	4

/* The map itself; @mt gathers what its trace event reports. */
static int __vrange_map(struct vrange_iommu *iommu, struct vrange_map_req *req,
			struct vrange_map_trace *mt)
{
	struct vrange_map_req acquired;
	struct vrange_mapping *map;
	u64 vaddr_last, seq = 0;
	int rc, tries = 0;

	if (req->start > req->last)
		return -EINVAL;
	/* Nothing can back all 2^64 bytes, nor can a length hold it. */
	if (req->last - req->start == U64_MAX)
		return -EINVAL;
	if (check_add_overflow(req->vaddr, req->last - req->start, &vaddr_last))
		return -EOVERFLOW;

	map = vrange_mapping_alloc(iommu, req);
	if (!map)
		return -ENOMEM;
	mt->backing = map->backing;
	/* Trimming is for BARs; memory keeps the strict rule. */
	if (req->trim && map->backing != VRANGE_MMIO) {
		kfree(map);
		return -EINVAL;
	}

	mutex_lock(&iommu->op_lock);
	mutex_lock(&iommu->lock);
	rc = vrange_map_check(iommu, req);
	mutex_unlock(&iommu->lock);
	if (rc)
		goto err_free;

again:
	rc = vrange_mapping_acquire(iommu, map, req);
	if (rc)
		goto err_free;

	mutex_lock(&iommu->lock);
	acquired = *req;
	rc = vrange_map_check(iommu, req);
	/* A group attached meanwhile may have changed what to map. */
	if (!rc && vrange_map_req_changed(&acquired, req))
		rc = -EAGAIN;
	if (!rc) {
		/* Under lock: no replay into a new domain counts meanwhile. */
		u64 calls = vrange_stat_read(iommu,
					     VRANGE_STAT_IOMMU_MAP_CALLS);

		rc = vrange_mapping_install(iommu, map);
		mt->map_calls += vrange_stat_read(iommu,
						  VRANGE_STAT_IOMMU_MAP_CALLS) -
				 calls;
	}
	if (rc == -EAGAIN) {
		mutex_unlock(&iommu->lock);
		vrange_mapping_free(map);
		if (++tries == VRANGE_MAP_RETRIES) {
			mutex_unlock(&iommu->op_lock);
			return -EAGAIN;
		}
		map = vrange_mapping_alloc(iommu, req);
		if (!map) {
			mutex_unlock(&iommu->op_lock);
			return -ENOMEM;
		}
		goto again;
	}
	if (!rc && map->length)
		seq = ++iommu->seq;
	mutex_unlock(&iommu->lock);
	if (rc)
		goto err_release;

	mt->seq = seq;
	mt->length = map->length;
	mt->pages = map->backing == VRANGE_RAM ? map->npages :
						 map->length >> PAGE_SHIFT;

	if (seq) {
		down_read(&iommu->clients_rwsem);
		vrange_notify(iommu, VFIO_RANGE_EVENT_MAP, seq,
			      vrange_mapping_start(map),
			      vrange_mapping_last(map));
		up_read(&iommu->clients_rwsem);
	}
	mutex_unlock(&iommu->op_lock);
	return 0;

err_release:
	vrange_mapping_free(map);
	mutex_unlock(&iommu->op_lock);
	return rc;
err_free:
	mutex_unlock(&iommu->op_lock);
	kfree(map);
	return rc;
}

/**
 * vrange_map() - map user memory or a BAR at the IOVA range of a request
 * @iommu: the container
 * @req: the request; the caller checked the flags. The out_ fields say
 *	what was mapped.
 *
 * Return: 0 or a negative errno; on error the container is unchanged.
 */
int vrange_map(struct vrange_iommu *iommu, struct vrange_map_req *req)
{
	struct vrange_map_trace mt = {
		.t0 = vrange_trace_clock(vfio_range_map),
		.backing = VRANGE_TRACE_BACKING_NONE,
	};
	int rc = __vrange_map(iommu, req, &mt);

	trace_vfio_range_map(iommu, req, &mt, rc);
	return rc;
}

/* True if @map's PFNs are only in the IOMMU domains. */
static bool vrange_mapping_unrecorded(const struct vrange_mapping *map)
{
	return map->backing == VRANGE_RAM && map->length &&
	       !map->record.npages;
}

/*
 * Unmaps @map from page @off on from every domain and unpins it, a few
 * runs at a time with a flush each: how an unmap goes on once the list of
 * runs to unpin after its one flush cannot grow. Never fails; a mapping an
 * IOMMU driver does not fully unmap is left stuck.
 */
static void vrange_drain_runs(struct vrange_iommu *iommu,
			      struct vrange_mapping *map, unsigned long off,
			      struct vrange_unmap_trace *ut)
{
	struct vrange_run_iter it = { .off = off };
	struct vrange_run runs[8];
	struct vrange_domain *dom;
	unsigned int nr, i;
	size_t size;
	u64 iova;

	while (!map->stuck && it.off < map->npages) {
		iova = vrange_mapping_start(map) + ((u64)it.off << PAGE_SHIFT);
		/* Read back before the first domain forgets the PFNs. */
		for (nr = 0, size = 0; nr < ARRAY_SIZE(runs); nr++) {
			if (!vrange_mapping_next_run(iommu, map, &it,
						     &runs[nr].pfn,
						     &runs[nr].npages))
				break;
			size += runs[nr].npages << PAGE_SHIFT;
		}
		if (!nr) {
			/* A lost translation (warned): leak the rest. */
			map->stuck = true;
			break;
		}
		list_for_each_entry(dom, &iommu->domains, node) {
			vrange_stat_add(iommu, VRANGE_STAT_IOTLB_SYNCS, 1);
			ut->iotlb_syncs++;
			vrange_iommu_unmap(map, dom->domain, iova, size);
		}
		if (map->stuck)
			break;
		for (i = 0; i < nr; i++)
			vrange_pages_unpin_run(map, runs[i].pfn,
					       runs[i].npages);
		cond_resched();
	}
}

/*
 * Reads back the runs of @map into @unpin; &vrange_mapping.gathered counts
 * their pages. Returns false if @unpin could not grow.
 */
static bool vrange_gather_runs(struct vrange_iommu *iommu,
			       struct vrange_mapping *map,
			       struct vrange_runs *unpin)
{
	struct vrange_run_iter it = {};
	unsigned long pfn, npages;

	map->gathered = 0;
	vrange_runs_seal(unpin);
	while (vrange_mapping_next_run(iommu, map, &it, &pfn, &npages)) {
		if (vrange_runs_add(unpin, pfn, npages,
				    GFP_KERNEL_ACCOUNT | __GFP_NOWARN))
			return false;
		map->gathered += npages;
		cond_resched();
	}
	/* A lost translation (warned): leak the pages, as if stuck. */
	if (map->gathered < map->npages)
		map->stuck = true;
	return true;
}

/*
 * What the one-flush pass of an unmap takes out of the domains for @map:
 * all of it, except for RAM whose tail was drained already.
 */
static size_t vrange_unmap_size(const struct vrange_mapping *map)
{
	if (!vrange_mapping_in_domains(map))
		return 0;
	if (!vrange_mapping_unrecorded(map) || map->stuck ||
	    map->gathered == map->npages)
		return vrange_mapping_length(map);
	return (size_t)map->gathered << PAGE_SHIFT;
}

/*
 * Unmaps every mapping whose extent lies in [start, last] from all domains
 * with one IOTLB flush per domain (as far as the IOMMU driver can gather)
 * and moves them to @dead, to be released once no lock is held: pages go
 * only after the flush, so no stale IOTLB entry can reach a freed page.
 * The PFNs of RAM mappings without a record are read back into @unpin
 * first, while the domains still hold them. If @unpin cannot grow, the
 * rest is unmapped, flushed and unpinned a few runs at a time instead.
 */
static void vrange_remove_range(struct vrange_iommu *iommu, u64 start,
				u64 last, struct list_head *dead,
				struct vrange_runs *unpin,
				struct vrange_unmap_trace *ut)
{
	struct vrange_mapping *map, *next;
	struct vrange_domain *dom;
	bool short_of_memory = false;

	lockdep_assert_held(&iommu->lock);

	/* This allocates, so it runs before revoke_lock is taken. */
	vrange_for_each_mapping(map, iommu, start, last) {
		if (!vrange_mapping_unrecorded(map))
			continue;
		if (!short_of_memory &&
		    vrange_gather_runs(iommu, map, unpin))
			continue;
		if (!short_of_memory)
			short_of_memory = true;
		else
			map->gathered = 0;
		vrange_drain_runs(iommu, map, map->gathered, ut);
	}

	/* BAR mappings in the range leave the domains only once. */
	mutex_lock(&iommu->revoke_lock);
	list_for_each_entry(dom, &iommu->domains, node) {
		struct iommu_iotlb_gather gather;

		iommu_iotlb_gather_init(&gather);
		vrange_for_each_mapping(map, iommu, start, last) {
			u64 iova = vrange_mapping_start(map);
			size_t size = vrange_unmap_size(map);

			if (!size)
				continue;
			vrange_unmap_check(map, iova, size,
					   iommu_unmap_fast(dom->domain, iova,
							    size, &gather));
			cond_resched();
		}
		vrange_stat_add(iommu, VRANGE_STAT_IOTLB_SYNCS, 1);
		ut->iotlb_syncs++;
		iommu_iotlb_sync(dom->domain, &gather);
	}

	for (map = vrange_mapping_first(iommu, start, last); map; map = next) {
		next = vrange_mapping_next(map, start, last);
		interval_tree_remove(&map->node, &iommu->mappings);
		iommu->nr_mappings--;
		if (vrange_mapping_unrecorded(map))
			iommu->nr_unrecorded--;
		if (map->vaddr_invalid)
			iommu->nr_vaddr_invalid--;
		vrange_stat_add(iommu, VRANGE_STAT_UNMAPS, 1);
		ut->mappings++;
		map->mapped = false;
		/* The mappings are disjoint and backed by memory: no wrap. */
		ut->unmapped += vrange_mapping_length(map);
		list_add_tail(&map->free_node, dead);
	}
	mutex_unlock(&iommu->revoke_lock);
	/* A domain kept only for the PFNs of these may go now. */
	vrange_domains_prune(iommu);
}

/*
 * Calls @fn once for each run of adjacent mapped ranges whose extents lie
 * in [start, last]: what an unmap of that range really removes, as few
 * ranges as possible.
 */
typedef void (*vrange_run_fn)(struct vrange_iommu *iommu, u64 start,
			      u64 last, u64 seq);

static void vrange_visit_runs(struct vrange_iommu *iommu, u64 start,
			      u64 last, vrange_run_fn fn, u64 seq)
{
	struct vrange_mapping *map;
	u64 run_start = 0, run_last = 0;
	bool in_run = false;

	vrange_for_each_mapping(map, iommu, start, last) {
		cond_resched();
		if (!map->length)
			continue;
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

	for (round = 0; ; round++) {
		bool pinned;

		mutex_lock(&iommu->lock);
		pinned = vrange_pins_in_range(iommu, start, last, U64_MAX);
		mutex_unlock(&iommu->lock);
		if (!pinned)
			return true;
		if (round == VRANGE_UNPIN_ROUNDS)
			return false;
		vrange_visit_runs(iommu, start, last,
				  vrange_notify_devices_run, 0);
	}
}

/* True if a mapping whose extent meets [start, last] maps something. */
static bool vrange_range_mapped(struct vrange_iommu *iommu, u64 start,
				u64 last)
{
	struct vrange_mapping *map;

	vrange_for_each_mapping(map, iommu, start, last)
		if (map->length)
			return true;
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
 * type1 v1's unmap rule, applied to extents in IOVA order: if the first
 * extent that meets [start, last] begins before @start, nothing is
 * removed; else every extent that meets the range is removed whole, so the
 * range grows to the end of the one holding @last. Returns false for
 * "nothing", else true with *@last moved. iommu->lock held.
 */
static bool vrange_unmap_v1_range(struct vrange_iommu *iommu, u64 start,
				  u64 *last)
{
	struct vrange_mapping *map = vrange_mapping_first(iommu, start, *last);

	if (!map || vrange_extent_start(map) < start)
		return false;
	map = vrange_mapping_first(iommu, *last, *last);
	if (map)
		*last = vrange_extent_last(map);
	return true;
}

/**
 * vrange_unmap_bounds() - which extents an unmap of [start, last] takes
 * @iommu: the container, locked
 * @start: first IOVA of the range
 * @last: last IOVA of the range, inclusive; type1 v1's rule may move it
 *	to the end of the extent holding it
 * @mode: the unmap rule
 *
 * Shared by unmap and the vaddr invalidation, which take the same extents.
 *
 * Return: 1 if extents lie in the range, 0 if none does (nothing to do),
 * -EINVAL if one straddles an edge of it (VRANGE_UNMAP_EXACT).
 */
int vrange_unmap_bounds(struct vrange_iommu *iommu, u64 start, u64 *last,
			enum vrange_unmap_mode mode)
{
	struct vrange_mapping *map;

	lockdep_assert_held(&iommu->lock);
	if (mode == VRANGE_UNMAP_V1 &&
	    !vrange_unmap_v1_range(iommu, start, last))
		return 0;
	/*
	 * Only the extents holding start and last can straddle an edge;
	 * check both before touching anything.
	 */
	map = vrange_mapping_first(iommu, start, start);
	if (map && vrange_extent_start(map) < start)
		return -EINVAL;
	map = vrange_mapping_first(iommu, *last, *last);
	if (map && vrange_extent_last(map) > *last)
		return -EINVAL;
	return vrange_mapping_first(iommu, start, *last) ? 1 : 0;
}

/*
 * The unmap itself. VRANGE_UNMAP_RELEASE is for the container's release:
 * pins that emulated devices failed to drop are then discarded instead of
 * failing. @ut gathers what its trace event reports, the bytes removed
 * among it.
 */
static int __vrange_unmap(struct vrange_iommu *iommu, u64 start, u64 last,
			  enum vrange_unmap_mode mode,
			  struct vrange_unmap_trace *ut)
{
	bool force = mode == VRANGE_UNMAP_RELEASE;
	struct vrange_runs unpin;
	LIST_HEAD(dead);
	u64 seq;
	int rc = 0;

	if (start > last)
		return -EINVAL;

	vrange_runs_init(&unpin);
	mutex_lock(&iommu->op_lock);
	ut->wait_ns = vrange_trace_since(ut->t0);
	mutex_lock(&iommu->lock);
	rc = vrange_unmap_bounds(iommu, start, &last, mode);
	if (rc <= 0)
		goto out_unlock;
	rc = 0;

	vrange_mark_removing(iommu, start, last, true);
	mutex_unlock(&iommu->lock);

	/* Devices first: if one keeps its pins, nothing happened at all. */
	if (!vrange_wait_unpinned(iommu, start, last) && !force) {
		pr_warn_ratelimited("vfio-range: an emulated device keeps pages pinned in [%#llx, %#llx]; unmap refused\n",
				    start, last);
		mutex_lock(&iommu->lock);
		vrange_mark_removing(iommu, start, last, false);
		rc = -EDEADLOCK;
		goto out_unlock;
	}

	/*
	 * Clients hear of it while the pages are still mapped and pinned.
	 * Requests that mapped nothing make no event and take no seq.
	 */
	if (vrange_range_mapped(iommu, start, last)) {
		mutex_lock(&iommu->lock);
		seq = ++iommu->seq;
		mutex_unlock(&iommu->lock);
		ut->seq = seq;
		down_read(&iommu->clients_rwsem);
		vrange_visit_runs(iommu, start, last, vrange_notify_unmap_run,
				  seq);
		up_read(&iommu->clients_rwsem);
	}

	mutex_lock(&iommu->lock);
	/* Pins left now are stale ones of devices gone at release. */
	vrange_pins_drop_range(iommu, start, last);
	vrange_remove_range(iommu, start, last, &dead, &unpin, ut);
out_unlock:
	mutex_unlock(&iommu->lock);
	vrange_mapping_free_list(&dead, &unpin);
	mutex_unlock(&iommu->op_lock);
	return rc;
}

/* __vrange_unmap() and its trace event. */
static int vrange_unmap_traced(struct vrange_iommu *iommu, u64 start, u64 last,
			       enum vrange_unmap_mode mode, u64 *unmapped)
{
	struct vrange_unmap_trace ut = {
		.t0 = vrange_trace_clock(vfio_range_unmap),
	};
	int rc = __vrange_unmap(iommu, start, last, mode, &ut);

	trace_vfio_range_unmap(iommu, start, last, &ut, rc);
	*unmapped = ut.unmapped;
	return rc;
}

/**
 * vrange_unmap_range() - remove every mapping inside [start, last]
 * @iommu: the container
 * @start: first IOVA of the range
 * @last: last IOVA of the range, inclusive
 * @mode: VRANGE_UNMAP_EXACT, or VRANGE_UNMAP_V1 for type1 v1's rule
 * @unmapped: output: the bytes that were mapped and are removed
 *
 * Exact: removes the mappings whose extent (the range their map request
 * named) lies inside the range. V1: if the first extent meeting the range
 * begins before @start, removes nothing; else removes every extent meeting
 * it, whole. Clients and emulated devices are told before anything is
 * released.
 *
 * Return: 0; -EINVAL if @start > @last or (exact) an extent straddles an
 * edge of the range; -EDEADLOCK if an emulated device would not unpin pages
 * in the range. On error nothing is removed.
 */
int vrange_unmap_range(struct vrange_iommu *iommu, u64 start, u64 last,
		       enum vrange_unmap_mode mode, u64 *unmapped)
{
	if (WARN_ON_ONCE(mode == VRANGE_UNMAP_RELEASE))
		return -EINVAL;
	return vrange_unmap_traced(iommu, start, last, mode, unmapped);
}

/**
 * vrange_unmap_all() - remove every mapping of a container being released
 * @iommu: the container
 */
void vrange_unmap_all(struct vrange_iommu *iommu)
{
	u64 unmapped;

	vrange_unmap_traced(iommu, 0, U64_MAX, VRANGE_UNMAP_RELEASE, &unmapped);
}

/*
 * True if vrange_domain_replay() put @map into the domain being added: all
 * RAM mappings that map something, the BARs it marked.
 */
static bool vrange_mapping_replayed(const struct vrange_mapping *map)
{
	if (map->backing == VRANGE_MMIO)
		return map->replayed;
	return map->length;
}

/* Removes from @dom what vrange_domain_replay() put there before @stop. */
static void vrange_domain_unwind(struct vrange_iommu *iommu,
				 struct vrange_domain *dom,
				 struct vrange_mapping *stop)
{
	struct vrange_mapping *map;

	vrange_for_each_mapping(map, iommu, 0, U64_MAX) {
		if (map == stop)
			break;
		if (vrange_mapping_replayed(map))
			vrange_iommu_unmap(map, dom->domain,
					   vrange_mapping_start(map),
					   vrange_mapping_length(map));
		map->replayed = false;
	}
}

/*
 * Maps every mapping into a new domain, with page tables charged like any
 * other. A BAR revoked before it is reached is skipped; one revoked after
 * is caught by vrange_domain_add(). On failure nothing is left in @dom.
 */
static int vrange_domain_replay(struct vrange_iommu *iommu,
				struct vrange_domain *dom)
{
	struct vrange_mapping *map;
	int rc;

	vrange_for_each_mapping(map, iommu, 0, U64_MAX) {
		if (!vrange_mapping_in_domains(map))
			continue;
		rc = vrange_domain_map(dom, map, GFP_KERNEL_ACCOUNT);
		if (rc) {
			vrange_domain_unwind(iommu, dom, map);
			return rc;
		}
		map->replayed = map->backing == VRANGE_MMIO;
		cond_resched();
	}
	return 0;
}

/**
 * vrange_domain_add() - map every existing mapping into a new domain and
 *	put it on the container's list
 * @iommu: the container, locked
 * @dom: the new domain, not yet on &vrange_iommu.domains
 *
 * The replay allocates, so it runs without revoke_lock. A BAR mapping the
 * notifier revokes meanwhile is taken out of the listed domains only, so
 * under revoke_lock, which also covers adding @dom to the list, it is
 * taken out of @dom too before @dom becomes visible.
 *
 * Mappings made while the container had no domain keep their page
 * records, so this domain can still go with its last group.
 *
 * Return: 0, or a negative errno with nothing left mapped in @dom.
 */
int vrange_domain_add(struct vrange_iommu *iommu, struct vrange_domain *dom)
{
	struct vrange_mapping *map;
	int rc;

	lockdep_assert_held(&iommu->lock);

	rc = vrange_domain_replay(iommu, dom);
	if (rc)
		return rc;
	mutex_lock(&iommu->revoke_lock);
	vrange_for_each_mapping(map, iommu, 0, U64_MAX) {
		if (map->replayed && map->revoked)
			vrange_iommu_unmap(map, dom->domain,
					   vrange_mapping_start(map),
					   vrange_mapping_length(map));
		map->replayed = false;
	}
	list_add_tail(&dom->node, &iommu->domains);
	mutex_unlock(&iommu->revoke_lock);
	return 0;
}
