// SPDX-License-Identifier: GPL-2.0-only
/*
 * Work counters of IOMMU and notifier work, module-wide and per container,
 * so benchmarks can compare the work done with the minimum possible (which
 * does not depend on machine load) and an operator can see what a process
 * did with its container. debugfs.c shows them.
 */
#include <linux/seq_file.h>

#include <vfio_range/core.h>

struct vrange_stats vrange_stats;

/* Names in debugfs; the benchmark reads the module-wide file by name. */
static const char * const vrange_stat_names[VRANGE_NR_STATS] = {
	[VRANGE_STAT_IOMMU_MAP_CALLS] = "iommu_map_calls",
	[VRANGE_STAT_IOMMU_MAPPED_BYTES] = "iommu_mapped_bytes",
	[VRANGE_STAT_IOTLB_SYNCS] = "iotlb_syncs",
	[VRANGE_STAT_NOTIFY_EVENTS] = "notify_events",
	[VRANGE_STAT_PINNED_PAGES] = "pinned_pages",
	[VRANGE_STAT_MAPS] = "maps",
	[VRANGE_STAT_UNMAPS] = "unmaps",
	[VRANGE_STAT_DEVICE_UNMAPS] = "device_unmap_calls",
	[VRANGE_STAT_REVOCATIONS] = "revocations",
	[VRANGE_STAT_RECORD_BYTES] = "record_bytes",
};

/**
 * vrange_stat_add() - count work done for a container
 * @iommu: the container
 * @stat: the counter
 * @n: amount to add (negative for pinned_pages going down)
 *
 * Every counter is bumped here only, so the module-wide sum and the
 * containers' counters cannot disagree.
 */
void vrange_stat_add(struct vrange_iommu *iommu, enum vrange_stat stat, s64 n)
{
	atomic64_add(n, &vrange_stats.v[stat]);
	atomic64_add(n, &iommu->stats.v[stat]);
}

/* One "name value" line per counter. */
void vrange_stats_show(struct seq_file *s, const struct vrange_stats *stats)
{
	int i;

	for (i = 0; i < VRANGE_NR_STATS; i++)
		seq_printf(s, "%s %lld\n", vrange_stat_names[i],
			   atomic64_read(&stats->v[i]));
}
