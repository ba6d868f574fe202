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

/* A sorted list of disjoint inclusive ranges that only ever shrinks. */
struct vrange_span_list {
	struct vfio_iova_range *ranges;
	unsigned int nr;
	unsigned int capacity;
};

static int span_list_init(struct vrange_span_list *list)
{
	list->capacity = 4;
	list->ranges = kmalloc_array(list->capacity, sizeof(*list->ranges),
				     GFP_KERNEL);
	if (!list->ranges)
		return -ENOMEM;
	list->ranges[0].start = 0;
	list->ranges[0].end = U64_MAX;
	list->nr = 1;
	return 0;
}

/* Makes room for one more range after index @at. */
static int span_list_insert_after(struct vrange_span_list *list,
				  unsigned int at)
{
	if (list->nr == list->capacity) {
		struct vfio_iova_range *bigger;

		bigger = krealloc_array(list->ranges, list->capacity * 2,
					sizeof(*list->ranges), GFP_KERNEL);
		if (!bigger)
			return -ENOMEM;
		list->ranges = bigger;
		list->capacity *= 2;
	}
	memmove(&list->ranges[at + 2], &list->ranges[at + 1],
		(list->nr - at - 1) * sizeof(*list->ranges));
	list->nr++;
	return 0;
}

static void span_list_delete(struct vrange_span_list *list, unsigned int at)
{
	memmove(&list->ranges[at], &list->ranges[at + 1],
		(list->nr - at - 1) * sizeof(*list->ranges));
	list->nr--;
}

/* Takes [start, last] out of every range of @list. */
static int span_list_cut(struct vrange_span_list *list, u64 start, u64 last)
{
	unsigned int i = 0;

	while (i < list->nr) {
		struct vfio_iova_range *r = &list->ranges[i];

		if (!vrange_ranges_overlap(r->start, r->end, start, last)) {
			i++;
			continue;
		}
		if (vrange_range_within(r->start, r->end, start, last)) {
			span_list_delete(list, i);
			continue;
		}
		if (r->start < start && r->end > last) {
			/* The cut falls strictly inside: split in two. */
			u64 end = r->end;

			if (span_list_insert_after(list, i))
				return -ENOMEM;
			r = &list->ranges[i];
			r->end = start - 1;
			list->ranges[i + 1].start = last + 1;
			list->ranges[i + 1].end = end;
			i += 2;
			continue;
		}
		/* r->start < start implies start > 0; likewise for last. */
		if (r->start < start)
			r->end = start - 1;
		else
			r->start = last + 1;
		i++;
	}
	return 0;
}

static int span_list_cut_aperture(struct vrange_span_list *list,
				  struct iommu_domain *domain)
{
	const struct iommu_domain_geometry *geo = &domain->geometry;
	int rc;

	if (!geo->force_aperture)
		return 0;
	if (geo->aperture_start) {
		rc = span_list_cut(list, 0, geo->aperture_start - 1);
		if (rc)
			return rc;
	}
	if (geo->aperture_end < U64_MAX)
		return span_list_cut(list, (u64)geo->aperture_end + 1,
				     U64_MAX);
	return 0;
}

static int span_list_cut_reserved(struct vrange_span_list *list,
				  struct iommu_group *group)
{
	struct iommu_resv_region *resv, *tmp;
	LIST_HEAD(regions);
	int rc;

	rc = iommu_get_group_resv_regions(group, &regions);
	if (rc)
		goto out_free;

	list_for_each_entry(resv, &regions, list) {
		u64 last;

		/* Relaxable direct regions may be reused once isolated. */
		if (resv->type == IOMMU_RESV_DIRECT_RELAXABLE || !resv->length)
			continue;
		if (check_add_overflow((u64)resv->start, (u64)resv->length - 1,
				       &last))
			last = U64_MAX;
		rc = span_list_cut(list, resv->start, last);
		if (rc)
			break;
	}
out_free:
	list_for_each_entry_safe(resv, tmp, &regions, list)
		kfree(resv);
	return rc;
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

	rc = span_list_init(&list);
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

static bool ranges_contain(const struct vfio_iova_range *ranges,
			   unsigned int nr, u64 start, u64 last)
{
	unsigned int i;

	/* The ranges are disjoint and never adjacent: one must hold it all. */
	for (i = 0; i < nr; i++)
		if (vrange_range_within(start, last, ranges[i].start,
					ranges[i].end))
			return true;
	return false;
}

bool vrange_iova_usable(const struct vrange_iommu *iommu, u64 start, u64 last)
{
	return ranges_contain(iommu->usable, iommu->nr_usable, start, last);
}

/* True if every mapping of @iommu lies inside @ranges. */
bool vrange_mappings_fit(struct vrange_iommu *iommu,
			 const struct vfio_iova_range *ranges,
			 unsigned int nr_ranges)
{
	struct vrange_mapping *map;

	/* A request that mapped nothing occupies no IOVA. */
	vrange_for_each_mapping(map, iommu, 0, U64_MAX)
		if (map->length &&
		    !ranges_contain(ranges, nr_ranges,
				    vrange_mapping_start(map),
				    vrange_mapping_last(map)))
			return false;
	return true;
}
