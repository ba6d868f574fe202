// SPDX-License-Identifier: GPL-2.0-only
/*
 * Container lifetime, groups and IOMMU domains.
 *
 * Groups share a domain wherever the IOMMU driver lets a group attach to an
 * existing one; otherwise a group gets a new domain, into which all
 * existing mappings are replayed before it becomes visible. The usable IOVA
 * space and the page sizes are recomputed whenever a group comes or goes.
 */
#include <linux/iommu.h>
#include <linux/slab.h>
#include <linux/vfio.h>
#include <uapi/linux/vfio_range.h>

#include <vfio_range/compat.h>
#include <vfio_range/core.h>
#include <vfio_range/trace.h>

/* The entry of @group in @iommu, or NULL; iommu->lock held. */
struct vrange_group *vrange_find_group(struct vrange_iommu *iommu,
				       struct iommu_group *group)
{
	struct vrange_group *grp;

	list_for_each_entry(grp, &iommu->groups, node)
		if (grp->group == group)
			return grp;
	return NULL;
}

/* Every live container, so in-kernel clients can find one by group. */
static LIST_HEAD(vrange_containers);
static DEFINE_MUTEX(vrange_containers_lock);

void *vrange_open(unsigned long type)
{
	struct vrange_iommu *iommu;

	if (type != VFIO_RANGE_IOMMU &&
	    !((type == VFIO_TYPE1v2_IOMMU || type == VFIO_TYPE1_IOMMU) &&
	      vrange_type1_offered(NULL)))
		return ERR_PTR(-EINVAL);

	iommu = kzalloc(sizeof(*iommu), GFP_KERNEL_ACCOUNT);
	if (!iommu)
		return ERR_PTR(-ENOMEM);

	mutex_init(&iommu->op_lock);
	mutex_init(&iommu->lock);
	mutex_init(&iommu->revoke_lock);
	iommu->mappings = RB_ROOT_CACHED;
	INIT_LIST_HEAD(&iommu->domains);
	INIT_LIST_HEAD(&iommu->groups);
	iommu->pgsize_bitmap = PAGE_MASK;
	xa_init(&iommu->pins);
	init_rwsem(&iommu->clients_rwsem);
	init_waitqueue_head(&iommu->log_wait);
	INIT_LIST_HEAD(&iommu->clients);
	INIT_LIST_HEAD(&iommu->devices);
	refcount_set(&iommu->users, 1);
	iommu->type = type;
	INIT_WORK(&iommu->revoke_work, vrange_mmio_report_revoked);

	/* No domain yet: the whole space is usable. */
	iommu->usable = kzalloc(sizeof(*iommu->usable), GFP_KERNEL_ACCOUNT);
	if (!iommu->usable) {
		kfree(iommu);
		return ERR_PTR(-ENOMEM);
	}
	iommu->usable->end = U64_MAX;
	iommu->nr_usable = 1;
	vrange_debugfs_add(iommu);

	mutex_lock(&vrange_containers_lock);
	list_add_tail(&iommu->node, &vrange_containers);
	mutex_unlock(&vrange_containers_lock);
	trace_vfio_range_container_open(iommu);
	return iommu;
}

/**
 * vrange_iommu_put() - drop a reference to a container
 * @iommu: the container
 *
 * The VFIO core's reference goes at release, each client's when it is
 * unregistered; the last one frees the container.
 */
void vrange_iommu_put(struct vrange_iommu *iommu)
{
	if (!refcount_dec_and_test(&iommu->users))
		return;
	WARN_ON(iommu->nr_mappings || !list_empty(&iommu->clients));
	xa_destroy(&iommu->pins);
	kfree(iommu->usable);
	mutex_destroy(&iommu->revoke_lock);
	mutex_destroy(&iommu->lock);
	mutex_destroy(&iommu->op_lock);
	kfree(iommu);
}

/**
 * vrange_iommu_get_by_group() - find the container a group is attached to
 * @group: an IOMMU group
 *
 * Return: the container with a reference held, or NULL.
 */
struct vrange_iommu *vrange_iommu_get_by_group(struct iommu_group *group)
{
	struct vrange_iommu *iommu, *found = NULL;

	mutex_lock(&vrange_containers_lock);
	list_for_each_entry(iommu, &vrange_containers, node) {
		mutex_lock(&iommu->lock);
		if (vrange_find_group(iommu, group)) {
			refcount_inc(&iommu->users);
			found = iommu;
		}
		mutex_unlock(&iommu->lock);
		if (found)
			break;
	}
	mutex_unlock(&vrange_containers_lock);
	return found;
}

/*
 * The page sizes of @domain the module uses: pinning works in CPU pages,
 * so none below PAGE_SIZE, nor below min_pgsize (a test setting).
 */
static u64 vrange_domain_pgsizes(struct iommu_domain *domain)
{
	return domain->pgsize_bitmap & PAGE_MASK &
	       ~((u64)vrange_min_iommu_pgsize - 1);
}

/* Page sizes all domains support; with no domain, PAGE_SIZE and up. */
static void vrange_update_pgsizes(struct vrange_iommu *iommu)
{
	struct vrange_domain *dom;
	u64 bitmap = PAGE_MASK;

	/* A domain without any size in common was refused at attach. */
	list_for_each_entry(dom, &iommu->domains, node)
		bitmap &= vrange_domain_pgsizes(dom->domain);
	iommu->pgsize_bitmap = bitmap;
}

static void vrange_domain_free(struct vrange_domain *dom)
{
	iommu_domain_free(dom->domain);
	kfree(dom);
}

/**
 * vrange_domains_prune() - free the domains no group uses any more
 * @iommu: the container, locked
 *
 * A domain without groups is freed, unless it is the last one and RAM
 * mappings without a page record remain: their PFNs are only in the
 * domains, so the last one stays, detached, until those mappings are gone
 * or the container is released. The pages stay pinned for the other
 * domains.
 */
void vrange_domains_prune(struct vrange_iommu *iommu)
{
	struct vrange_domain *dom, *next;

	lockdep_assert_held(&iommu->lock);
	list_for_each_entry_safe(dom, next, &iommu->domains, node) {
		if (dom->nr_groups ||
		    (iommu->nr_unrecorded && list_is_singular(&iommu->domains)))
			continue;
		mutex_lock(&iommu->revoke_lock);
		list_del(&dom->node);
		mutex_unlock(&iommu->revoke_lock);
		vrange_domain_free(dom);
		vrange_update_pgsizes(iommu);
	}
}

static int vrange_first_dev(struct device *dev, void *data)
{
	*(struct device **)data = dev;
	return 1;
}

/* Allocates a new domain for @group's devices and attaches @group to it. */
static struct vrange_domain *vrange_domain_create(struct vrange_iommu *iommu,
						  struct iommu_group *group)
{
	struct device *dev = NULL;
	struct vrange_domain *dom;
	int rc;

	iommu_group_for_each_dev(group, &dev, vrange_first_dev);
	if (!dev)
		return ERR_PTR(-ENODEV);

	dom = kzalloc(sizeof(*dom), GFP_KERNEL_ACCOUNT);
	if (!dom)
		return ERR_PTR(-ENOMEM);

	dom->domain = vrange_compat_domain_alloc(dev);
	if (IS_ERR(dom->domain)) {
		rc = PTR_ERR(dom->domain);
		goto err_free;
	}
	rc = iommu_attach_group(dom->domain, group);
	if (rc)
		goto err_domain;
	/*
	 * No page size in common with the container's. Checked once
	 * attached: VT-d on 6.12 adds its large pages at the first attach.
	 */
	if (!(vrange_domain_pgsizes(dom->domain) & iommu->pgsize_bitmap)) {
		rc = -EINVAL;
		goto err_detach;
	}
	rc = vrange_iova_msi_cookie(dom->domain, group);
	if (rc)
		goto err_detach;

	if (dom->domain->ops->enforce_cache_coherency)
		dom->coherent =
			dom->domain->ops->enforce_cache_coherency(dom->domain);
	return dom;

err_detach:
	iommu_detach_group(dom->domain, group);
err_domain:
	iommu_domain_free(dom->domain);
err_free:
	kfree(dom);
	return ERR_PTR(rc);
}

/* Attaches @group to an existing domain if the IOMMU driver allows it. */
static struct vrange_domain *vrange_domain_share(struct vrange_iommu *iommu,
						 struct iommu_group *group)
{
	struct vrange_domain *dom;

	list_for_each_entry(dom, &iommu->domains, node) {
		if (iommu_attach_group(dom->domain, group))
			continue;
		if (!vrange_iova_msi_cookie(dom->domain, group))
			return dom;
		iommu_detach_group(dom->domain, group);
	}
	return NULL;
}

static int vrange_attach_iommu_group(struct vrange_iommu *iommu,
				     struct vrange_group *grp)
{
	struct vfio_iova_range *ranges;
	struct vrange_domain *dom;
	unsigned int nr_ranges;
	bool created = false;
	u64 pgsizes;
	int rc;

	if (!vrange_allow_unsafe_interrupts &&
	    !vrange_compat_group_msi_isolated(grp->group)) {
		pr_warn("vfio-range: group %d: no interrupt remapping, refusing (see allow_unsafe_interrupts)\n",
			iommu_group_id(grp->group));
		return -EPERM;
	}

	dom = vrange_domain_share(iommu, grp->group);
	if (!dom) {
		dom = vrange_domain_create(iommu, grp->group);
		if (IS_ERR(dom))
			return PTR_ERR(dom);
		created = true;
	}

	rc = vrange_iova_space_compute(iommu, grp->group,
				       created ? dom->domain : NULL,
				       &ranges, &nr_ranges);
	if (rc)
		goto err_detach;
	/*
	 * The new group must not take away IOVA that is already mapped, nor
	 * leave a mapping smaller than a page of the new domain.
	 */
	pgsizes = iommu->pgsize_bitmap;
	if (created)
		pgsizes &= vrange_domain_pgsizes(dom->domain);
	if (!vrange_mappings_fit(iommu, ranges, nr_ranges,
				 1ULL << __ffs64(pgsizes))) {
		rc = -EINVAL;
		goto err_ranges;
	}
	if (created) {
		rc = vrange_domain_add(iommu, dom);
		if (rc)
			goto err_ranges;
		vrange_update_pgsizes(iommu);
	}

	dom->nr_groups++;
	grp->domain = dom;
	vrange_iova_space_set(iommu, ranges, nr_ranges);
	/* A domain kept for its PFNs is not needed once another holds them. */
	vrange_domains_prune(iommu);
	return 0;

err_ranges:
	kfree(ranges);
err_detach:
	iommu_detach_group(dom->domain, grp->group);
	if (created)
		vrange_domain_free(dom);
	return rc;
}

int vrange_attach_group(void *iommu_data, struct iommu_group *group,
			enum vfio_group_type type)
{
	struct vrange_iommu *iommu = iommu_data;
	struct vrange_group *grp;
	int rc = 0;

	/* Devices that can DMA without an IOMMU are never ours to manage. */
	if (type != VFIO_IOMMU && type != VFIO_EMULATED_IOMMU) {
		rc = -EINVAL;
		goto out;
	}

	grp = kzalloc(sizeof(*grp), GFP_KERNEL_ACCOUNT);
	if (!grp) {
		rc = -ENOMEM;
		goto out;
	}
	grp->group = group;

	mutex_lock(&iommu->lock);
	/* As type1: no group joins while a live update is under way. */
	if (iommu->nr_vaddr_invalid) {
		rc = -EBUSY;
		goto out_unlock;
	}
	if (vrange_find_group(iommu, group)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	/* Each group needs a bit of its own to record its pins. */
	if (iommu->group_ids == U64_MAX) {
		rc = -ENOSPC;
		goto out_unlock;
	}
	grp->bit = BIT_ULL(__ffs64(~iommu->group_ids));
	if (type == VFIO_IOMMU)
		rc = vrange_attach_iommu_group(iommu, grp);
	if (!rc) {
		iommu->group_ids |= grp->bit;
		list_add_tail(&grp->node, &iommu->groups);
	}
out_unlock:
	mutex_unlock(&iommu->lock);
	if (rc)
		kfree(grp);
out:
	trace_vfio_range_group_attach(iommu, group, type == VFIO_EMULATED_IOMMU,
				      rc);
	return rc;
}

/* Recomputes the usable space after a group left; it can only grow. */
static void vrange_iova_space_refresh(struct vrange_iommu *iommu)
{
	struct vfio_iova_range *ranges;
	unsigned int nr_ranges;

	/* On failure keep the old, narrower ranges: still correct. */
	if (!vrange_iova_space_compute(iommu, NULL, NULL, &ranges, &nr_ranges))
		vrange_iova_space_set(iommu, ranges, nr_ranges);
}

void vrange_detach_group(void *iommu_data, struct iommu_group *group)
{
	struct vrange_iommu *iommu = iommu_data;
	struct vrange_domain *dom;
	struct vrange_group *grp;

	mutex_lock(&iommu->lock);
	grp = vrange_find_group(iommu, group);
	if (WARN_ON(!grp))
		goto out_unlock;

	trace_vfio_range_group_detach(iommu, grp);
	list_del(&grp->node);
	iommu->group_ids &= ~grp->bit;
	vrange_pins_forget_group(iommu, grp->bit);
	dom = grp->domain;
	if (dom) {
		iommu_detach_group(dom->domain, group);
		/* No device reaches it any more: freed unless it is needed. */
		dom->nr_groups--;
		vrange_domains_prune(iommu);
		vrange_iova_space_refresh(iommu);
	}
	kfree(grp);
out_unlock:
	mutex_unlock(&iommu->lock);
}

void vrange_release(void *iommu_data)
{
	struct vrange_iommu *iommu = iommu_data;
	struct vrange_group *grp, *tmp;

	trace_vfio_range_container_release(iommu);
	/* First, while nothing is torn down: it waits for readers. */
	vrange_debugfs_remove(iommu);

	mutex_lock(&vrange_containers_lock);
	list_del(&iommu->node);
	mutex_unlock(&vrange_containers_lock);

	/* The VFIO core detached every group first; be safe if it did not. */
	list_for_each_entry_safe(grp, tmp, &iommu->groups, node)
		vrange_detach_group(iommu, grp->group);

	vrange_unmap_all(iommu);
	/* The last mapping took any domain kept for its PFNs with it. */
	mutex_lock(&iommu->lock);
	WARN_ON_ONCE(iommu->nr_unrecorded);
	iommu->nr_unrecorded = 0;
	vrange_domains_prune(iommu);
	mutex_unlock(&iommu->lock);
	/* No BAR is watched any more: the last reports of revocations. */
	flush_work(&iommu->revoke_work);
	vrange_clients_release(iommu);
	vrange_iommu_put(iommu);
}

/* True if every domain enforces cache-coherent DMA (VFIO_DMA_CC_IOMMU). */
bool vrange_coherent(struct vrange_iommu *iommu)
{
	struct vrange_domain *dom;
	bool coherent = true;

	mutex_lock(&iommu->lock);
	list_for_each_entry(dom, &iommu->domains, node)
		coherent &= dom->coherent;
	mutex_unlock(&iommu->lock);
	return coherent;
}
