// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-range: a VFIO IOMMU backend with inclusive [start, last] map and
 * unmap ioctls. This file registers it with the VFIO core.
 */
#include <linux/log2.h>
#include <linux/module.h>
#include <uapi/linux/vfio_range.h>

#include <vfio_range/core.h>

unsigned int vrange_max_mappings = U16_MAX;
module_param_named(max_mappings, vrange_max_mappings, uint, 0644);
MODULE_PARM_DESC(max_mappings,
		 "Maximum number of mappings per container (default 65535)");

unsigned int vrange_max_clients = 256;
module_param_named(max_clients, vrange_max_clients, uint, 0644);
MODULE_PARM_DESC(max_clients,
		 "Maximum number of notifier clients per container (default 256)");

bool vrange_allow_unsafe_interrupts;
module_param_named(allow_unsafe_interrupts, vrange_allow_unsafe_interrupts,
		   bool, 0644);
MODULE_PARM_DESC(allow_unsafe_interrupts,
		 "Accept groups on platforms without interrupt remapping, where devices can forge MSIs (default false)");

bool vrange_compat_type1;
module_param_named(compat_type1, vrange_compat_type1, bool, 0644);
MODULE_PARM_DESC(compat_type1,
		 "Also offer VFIO_TYPE1v2_IOMMU and VFIO_TYPE1_IOMMU to new containers, with type1's MAP_DMA/UNMAP_DMA uAPI (default false)");

/* For testing: makes an IOMMU with 4 KiB pages look like one with larger. */
unsigned long vrange_min_iommu_pgsize = PAGE_SIZE;
module_param_named(min_pgsize, vrange_min_iommu_pgsize, ulong, 0444);
MODULE_PARM_DESC(min_pgsize,
		 "Testing only: use only IOMMU page sizes of at least this many bytes, a power of two >= PAGE_SIZE (default PAGE_SIZE)");

static const struct vfio_iommu_driver_ops vrange_driver_ops = {
	.name = "vfio-iommu-range",
	.owner = THIS_MODULE,
	.open = vrange_open,
	.release = vrange_release,
	.ioctl = vrange_ioctl,
	.attach_group = vrange_attach_group,
	.detach_group = vrange_detach_group,
	.pin_pages = vrange_pin_pages,
	.unpin_pages = vrange_unpin_pages,
	.register_device = vrange_register_device,
	.unregister_device = vrange_unregister_device,
	.dma_rw = vrange_dma_rw,
};

static int __init vrange_init(void)
{
	/* The interval tree keys are unsigned long and must hold any IOVA. */
	int rc;

	BUILD_BUG_ON(sizeof(unsigned long) < sizeof(u64));
	if (!is_power_of_2(vrange_min_iommu_pgsize) ||
	    vrange_min_iommu_pgsize < PAGE_SIZE) {
		pr_err("vfio-range: min_pgsize=%lu: not a power of two >= %lu\n",
		       vrange_min_iommu_pgsize, PAGE_SIZE);
		return -EINVAL;
	}
	vrange_debugfs_init();
	rc = vfio_register_iommu_driver(&vrange_driver_ops);
	if (rc)
		vrange_debugfs_exit();
	return rc;
}

static void __exit vrange_exit(void)
{
	vfio_unregister_iommu_driver(&vrange_driver_ops);
	vrange_debugfs_exit();
}

module_init(vrange_init);
module_exit(vrange_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("vfio-range developers");
MODULE_DESCRIPTION("VFIO IOMMU backend with inclusive start/last ranges");
MODULE_SOFTDEP("pre: vfio");
