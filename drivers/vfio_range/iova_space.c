// SPDX-License-Identifier: GPL-2.0-only
/*
 * The usable IOVA space of a container: [0, U64_MAX] cut down to the
 * aperture of every domain, minus the reserved regions of every group
 * (the MSI window, RMRRs, ...). Mappings must lie inside it.
 */
#include <linux/iommu.h>
#include <linux/slab.h>
#include <linux/vfio.h>

#include <vfio_range/core.h>
#include <vfio_range/range.h>
#include <vfio_range/span_list.h>

static int span_list_cut_aperture(struct vrange_span_list *list,
				  struct iommu_domain *domain)
{
	const struct iommu_domain_geometry *geo = &domain->geometry;
	int rc;

	if (!geo->force_aperture)
		return 0;
	if (geo->aperture_start) {
		rc = vrange_span_list_cut(list, 0, geo->aperture_start - 1);
		if (rc)
			return rc;
	}
	if (geo->aperture_end < U64_MAX)
		return vrange_span_list_cut(list, (u64)geo->aperture_end + 1,
					    U64_MAX);
	return 0;
}

typedef int (*vrange_resv_fn)(const struct iommu_resv_region *resv,
			      void *arg);

/* Calls @fn on each reserved region of @group until it returns not 0. */
static int vrange_group_resv_walk(struct iommu_group *group,
				  vrange_resv_fn fn, void *arg)
{
	struct iommu_resv_region *resv, *tmp;
	LIST_HEAD(regions);
	int rc;

	rc = iommu_get_group_resv_regions(group, &regions);
	if (!rc) {
		list_for_each_entry(resv, &regions, list) {
			rc = fn(resv, arg);
			if (rc)
				break;
		}
	}
	list_for_each_entry_safe(resv, tmp, &regions, list)
		kfree(resv);
	return rc;
}

static int span_list_cut_one(const struct iommu_resv_region *resv, void *arg)
{
	u64 last;

	/* Relaxable direct regions may be reused once isolated. */
	if (resv->type == IOMMU_RESV_DIRECT_RELAXABLE || !resv->length)
		return 0;
	if (check_add_overflow((u64)resv->start, (u64)resv->length - 1, &last))
		last = U64_MAX;
	return vrange_span_list_cut(arg, resv->start, last);
}

static int span_list_cut_reserved(struct vrange_span_list *list,
				  struct iommu_group *group)
{
	return vrange_group_resv_walk(group, span_list_cut_one, list);
}

static int vrange_msi_cookie_one(const struct iommu_resv_region *resv,
				 void *domain)
{
	int rc;

	if (resv->type != IOMMU_RESV_SW_MSI)
		return 0;
	rc = iommu_get_msi_cookie(domain, resv->start);
	/* The domain has one already (a shared domain), or needs none. */
	if (rc == -EEXIST || rc == -ENODEV)
		rc = 0;
	return rc ?: 1;
}

/**
 * vrange_iova_msi_cookie() - set up a software MSI window in a domain
 * @domain: a domain @group is attached to
 * @group: the group
 *
 * Where the platform gives MSIs no fixed translation (IOMMU_RESV_SW_MSI,
 * Arm), the IOMMU layer maps the doorbells at the window the group
 * reserves, which the usable IOVA space leaves out; without this cookie a
 * device's MSIs would fault. A no-op where no such window is reserved.
 *
 * Return: 0 or a negative errno.
 */
int vrange_iova_msi_cookie(struct iommu_domain *domain,
			   struct iommu_group *group)
{
	/* The walk stops with 1 once a window got its cookie. */
	return min(vrange_group_resv_walk(group, vrange_msi_cookie_one,
					  domain), 0);
}

/**
 * vrange_iova_space_compute() - compute the usable IOVA ranges
 * @iommu: the container, locked
 * @extra_group: a group about to be attached, or NULL
 * @extra_domain: the domain @extra_group is attached to, or NULL
 * @ranges: output: kmalloc'ed array, owned by the caller
 * @nr_ranges: output: number of entries (may be 0)
 *
 * Return: 0 or -ENOMEM.
 */
int vrange_iova_space_compute(struct vrange_iommu *iommu,
			      struct iommu_group *extra_group,
			      struct iommu_domain *extra_domain,
			      struct vfio_iova_range **ranges,
			      unsigned int *nr_ranges)
{
	struct vrange_span_list list;
	struct vrange_domain *dom;
	struct vrange_group *grp;
	int rc;

	lockdep_assert_held(&iommu->lock);

	rc = vrange_span_list_init(&list);
	if (rc)
		return rc;

	list_for_each_entry(dom, &iommu->domains, node) {
		rc = span_list_cut_aperture(&list, dom->domain);
		if (rc)
			goto err_free;
	}
	if (extra_domain) {
		rc = span_list_cut_aperture(&list, extra_domain);
		if (rc)
			goto err_free;
	}
	list_for_each_entry(grp, &iommu->groups, node) {
		if (!grp->domain)
			continue;
		rc = span_list_cut_reserved(&list, grp->group);
		if (rc)
			goto err_free;
	}
	if (extra_group) {
		rc = span_list_cut_reserved(&list, extra_group);
		if (rc)
			goto err_free;
	}

	*ranges = list.ranges;
	*nr_ranges = list.nr;
	return 0;

err_free:
	kfree(list.ranges);
	return rc;
}

/**
 * vrange_iova_space_set() - install ranges from vrange_iova_space_compute()
 * @iommu: the container, locked
 * @ranges: the new ranges; the container takes ownership
 * @nr: number of entries
 */
void vrange_iova_space_set(struct vrange_iommu *iommu,
			   struct vfio_iova_range *ranges, unsigned int nr)
{
	lockdep_assert_held(&iommu->lock);
	kfree(iommu->usable);
	iommu->usable = ranges;
	iommu->nr_usable = nr;
}

bool vrange_iova_usable(const struct vrange_iommu *iommu, u64 start, u64 last)
{
	return vrange_iova_ranges_contain(iommu->usable, iommu->nr_usable,
					  start, last);
}

/*
 * True if every mapping of @iommu lies inside @ranges and is aligned to
 * @pgsize, the smallest page size once a new domain has joined.
 */
bool vrange_mappings_fit(struct vrange_iommu *iommu,
			 const struct vfio_iova_range *ranges,
			 unsigned int nr_ranges, u64 pgsize)
{
	struct vrange_mapping *map;

	/* A request that mapped nothing occupies no IOVA. */
	vrange_for_each_mapping(map, iommu, 0, U64_MAX)
		if (map->length &&
		    (!vrange_range_aligned(vrange_mapping_start(map),
					   vrange_mapping_last(map), pgsize) ||
		     !vrange_iova_ranges_contain(ranges, nr_ranges,
						 vrange_mapping_start(map),
						 vrange_mapping_last(map))))
			return false;
	return true;
}
