// SPDX-License-Identifier: GPL-2.0-only
/*
 * Sorted lists of disjoint inclusive ranges that only ever shrink: the
 * usable IOVA space is [0, U64_MAX] with the apertures and reserved regions
 * cut out (iova_space.c).
 */
#include <linux/slab.h>
#include <linux/string.h>

#include <vfio_range/range.h>
#include <vfio_range/span_list.h>

/**
 * vrange_span_list_init() - start a list as the whole space [0, U64_MAX]
 * @list: the list; list->ranges is kmalloc'ed, the caller frees it
 *
 * Return: 0 or -ENOMEM.
 */
int vrange_span_list_init(struct vrange_span_list *list)
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

/**
 * vrange_span_list_cut() - take [start, last] out of every range of a list
 * @list: the list
 * @start: first byte to remove
 * @last: last byte to remove, inclusive (@start <= @last)
 *
 * Return: 0, or -ENOMEM when a range had to be split and the list could not
 * grow (the list is then still sorted and disjoint, but not fully cut).
 */
int vrange_span_list_cut(struct vrange_span_list *list, u64 start, u64 last)
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

/**
 * vrange_iova_ranges_contain() - whether a range lies inside one of a list's
 * @ranges: sorted, disjoint, never adjacent ranges (a span list's)
 * @nr: number of entries
 * @start: first byte
 * @last: last byte, inclusive
 *
 * Return: true if one entry of @ranges holds all of [start, last].
 */
bool vrange_iova_ranges_contain(const struct vfio_iova_range *ranges,
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
