/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Sorted lists of disjoint inclusive IOVA ranges, as the usable IOVA space
 * is computed and checked (iova_space.c). Shared with the KUnit tests.
 */
#ifndef _VFIO_RANGE_SPAN_LIST_H
#define _VFIO_RANGE_SPAN_LIST_H

#include <linux/types.h>
#include <linux/vfio.h>

/* A sorted list of disjoint inclusive ranges that only ever shrinks. */
struct vrange_span_list {
	struct vfio_iova_range *ranges;
	unsigned int nr;
	unsigned int capacity;
};

int vrange_span_list_init(struct vrange_span_list *list);
int vrange_span_list_cut(struct vrange_span_list *list, u64 start, u64 last);
bool vrange_iova_ranges_contain(const struct vfio_iova_range *ranges,
				unsigned int nr, u64 start, u64 last);

#endif /* _VFIO_RANGE_SPAN_LIST_H */
