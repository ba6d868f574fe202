/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel interfaces that differ between the supported kernels (6.1 and
 * 6.12). Every version test of the module lives in this file, but for the
 * layout of the VFIO core's own types in vfio_core.h.
 */
#ifndef _VFIO_RANGE_COMPAT_H
#define _VFIO_RANGE_COMPAT_H

#include <linux/err.h>
#include <linux/iommu.h>
#include <linux/irqdomain.h>
#include <linux/mm.h>
#include <linux/version.h>
#include <linux/vfio.h>

/* iommu_map() takes a gfp argument since 6.3. */
static inline int vrange_compat_iommu_map(struct iommu_domain *domain,
					  unsigned long iova, phys_addr_t paddr,
					  size_t size, int prot, gfp_t gfp)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	return iommu_map(domain, iova, paddr, size, prot, gfp);
#else
	if (!gfpflags_allow_blocking(gfp))
		return iommu_map_atomic(domain, iova, paddr, size, prot);
	return iommu_map(domain, iova, paddr, size, prot);
#endif
}

/* Returns a paging domain for @dev or an ERR_PTR. */
static inline struct iommu_domain *
vrange_compat_domain_alloc(struct device *dev)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
	return iommu_paging_domain_alloc(dev);
#else
	struct iommu_domain *domain = iommu_domain_alloc(dev->bus);

	/*
	 * Our groups have an IOMMU, so NULL means the driver's allocation
	 * failed: ENOMEM, as iommu_paging_domain_alloc() says it since 6.11.
	 */
	return domain ? domain : ERR_PTR(-ENOMEM);
#endif
}

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static inline int vrange_compat_dev_msi_isolated(struct device *dev,
						 void *unused)
{
	return device_iommu_capable(dev, IOMMU_CAP_INTR_REMAP);
}
#endif

/* True if devices in @group cannot forge MSIs to other devices' vectors. */
static inline bool vrange_compat_group_msi_isolated(struct iommu_group *group)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	return iommu_group_has_isolated_msi(group);
#else
	return irq_domain_check_msi_remap() ||
	       iommu_group_for_each_dev(group, NULL,
					vrange_compat_dev_msi_isolated) > 0;
#endif
}

/* Since 6.2 the VFIO core frees a device itself after its release op. */
static inline void vrange_compat_vfio_free_device(struct vfio_device *vdev)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
	vfio_free_device(vdev);
#endif
}

#endif /* _VFIO_RANGE_COMPAT_H */
