/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The VFIO core's interface to IOMMU backends.
 *
 * The VFIO core keeps these declarations in a private header
 * (drivers/vfio/vfio.h) that kernel header packages do not ship, so they are
 * declared here. A wrong layout would make the core call the wrong function
 * pointer, so the build compares this struct against the target kernel's
 * BTF (tools/build/check-vfio-layout.sh) and refuses to produce a module
 * that does not match.
 */
#ifndef _VFIO_RANGE_VFIO_CORE_H
#define _VFIO_RANGE_VFIO_CORE_H

#include <linux/types.h>
#include <linux/version.h>

struct iommu_domain;
struct iommu_group;
struct module;
struct page;
struct vfio_device;

enum vfio_group_type {
	VFIO_IOMMU,		/* a physical device behind an IOMMU */
	VFIO_EMULATED_IOMMU,	/* a mediated device: no DMA of its own */
	VFIO_NO_IOMMU,		/* unprotected DMA: never accepted here */
};

/* Only the kernels before 6.2 tell the backend that the container closed. */
#define VFIO_CORE_HAS_NOTIFY (LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0))

#if VFIO_CORE_HAS_NOTIFY
enum vfio_iommu_notify_type {
	VFIO_IOMMU_CONTAINER_CLOSE = 0,
};
#endif

struct vfio_iommu_driver_ops {
	char *name;
	struct module *owner;
	void *(*open)(unsigned long arg);
	void (*release)(void *iommu_data);
	long (*ioctl)(void *iommu_data, unsigned int cmd, unsigned long arg);
	int (*attach_group)(void *iommu_data, struct iommu_group *group,
			    enum vfio_group_type type);
	void (*detach_group)(void *iommu_data, struct iommu_group *group);
	int (*pin_pages)(void *iommu_data, struct iommu_group *group,
			 dma_addr_t user_iova, int npage, int prot,
			 struct page **pages);
	void (*unpin_pages)(void *iommu_data, dma_addr_t user_iova, int npage);
	void (*register_device)(void *iommu_data, struct vfio_device *vdev);
	void (*unregister_device)(void *iommu_data, struct vfio_device *vdev);
	int (*dma_rw)(void *iommu_data, dma_addr_t user_iova, void *data,
		      size_t count, bool write);
	struct iommu_domain *(*group_iommu_domain)(void *iommu_data,
						   struct iommu_group *group);
#if VFIO_CORE_HAS_NOTIFY
	void (*notify)(void *iommu_data, enum vfio_iommu_notify_type event);
#endif
};

int vfio_register_iommu_driver(const struct vfio_iommu_driver_ops *ops);
void vfio_unregister_iommu_driver(const struct vfio_iommu_driver_ops *ops);

#endif /* _VFIO_RANGE_VFIO_CORE_H */
