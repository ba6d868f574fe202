// SPDX-License-Identifier: GPL-2.0-only
/*
 * Module-wide counters of IOMMU and notifier work, in debugfs
 * (vfio_iommu_range/counters), so benchmarks can compare the work done
 * with the minimum possible, which does not depend on machine load.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include <vfio_range/core.h>

struct vrange_stats vrange_stats;

static struct dentry *vrange_debugfs_dir;

static int vrange_counters_show(struct seq_file *s, void *unused)
{
	seq_printf(s, "iommu_map_calls %lld\n",
		   atomic64_read(&vrange_stats.iommu_map_calls));
	seq_printf(s, "iommu_mapped_bytes %lld\n",
		   atomic64_read(&vrange_stats.iommu_mapped_bytes));
	seq_printf(s, "iotlb_syncs %lld\n",
		   atomic64_read(&vrange_stats.iotlb_syncs));
	seq_printf(s, "notify_events %lld\n",
		   atomic64_read(&vrange_stats.notify_events));
	seq_printf(s, "pinned_pages %lld\n",
		   atomic64_read(&vrange_stats.pinned_pages));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vrange_counters);

void vrange_debugfs_init(void)
{
	/* Counters are a diagnostic: failing to create them is not fatal. */
	vrange_debugfs_dir = debugfs_create_dir("vfio_iommu_range", NULL);
	debugfs_create_file("counters", 0444, vrange_debugfs_dir, NULL,
			    &vrange_counters_fops);
}

void vrange_debugfs_exit(void)
{
	debugfs_remove_recursive(vrange_debugfs_dir);
}
