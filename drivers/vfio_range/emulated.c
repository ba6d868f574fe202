// SPDX-License-Identifier: GPL-2.0-only
/*
 * Emulated-IOMMU (mediated) devices: they reach guest memory through
 * vfio_pin_pages() and vfio_dma_rw() instead of DMA, and are told of
 * unmaps through their dma_unmap callback.
 *
 * Every mapping is pinned when it is made; a pin here takes a reference of
 * its own on the page, so the page lives as long as the device may use it,
 * and records who holds it: struct vrange_pin per IOVA page, in
 * vrange_iommu.pins, under vrange_iommu.lock. An unmap that touches a
 * group's pins calls dma_unmap on that group's devices and waits until the
 * pins are gone before it releases anything. Pins a device failed to drop
 * when the container goes keep their page references: a misbehaving
 * driver leaks pages, it never gets a freed one.
 *
 * Only a group with a device that can be told of unmaps (a dma_unmap
 * callback) may pin: pins nobody could be asked to drop would block unmap
 * forever. The VFIO core names the group, not the device, of a pin; an
 * emulated-IOMMU group holds one device.
 */
#include <linux/highmem.h>
#include <linux/iommu.h>
#include <linux/slab.h>
#include <linux/vfio.h>

#include <vfio_range/core.h>
#include <vfio_range/trace.h>

void vrange_register_device(void *iommu_data, struct vfio_device *vdev)
{
	struct vrange_iommu *iommu = iommu_data;

	/* A device that cannot be told of unmaps may not pin (see below). */
	if (!vdev->ops->dma_unmap)
		return;

	down_write(&iommu->clients_rwsem);
	mutex_lock(&iommu->lock);
	list_add_tail(&vdev->iommu_entry, &iommu->devices);
	iommu->nr_devices++;
	mutex_unlock(&iommu->lock);
	up_write(&iommu->clients_rwsem);
}

void vrange_unregister_device(void *iommu_data, struct vfio_device *vdev)
{
	struct vrange_iommu *iommu = iommu_data;

	if (!vdev->ops->dma_unmap)
		return;

	down_write(&iommu->clients_rwsem);
	mutex_lock(&iommu->lock);
	list_del(&vdev->iommu_entry);
	iommu->nr_devices--;
	mutex_unlock(&iommu->lock);
	up_write(&iommu->clients_rwsem);
}

/* A device unpinning what it did not pin is ignored; drivers can err. */
static void vrange_unpin_one(struct vrange_iommu *iommu, u64 iova)
{
	struct vrange_pin *pin = xa_load(&iommu->pins, iova >> PAGE_SHIFT);

	if (!pin) {
		pr_warn_ratelimited("vfio-range: unpin of IOVA %#llx, which no device pinned\n",
				    iova);
		return;
	}
	put_page(pin->page);
	if (!--pin->count) {
		xa_erase(&iommu->pins, iova >> PAGE_SHIFT);
		kfree(pin);
	}
}

static int vrange_pin_one(struct vrange_iommu *iommu, struct vrange_group *grp,
			  u64 iova, int prot, struct page **page)
{
	struct vrange_mapping *map = vrange_ram_at(iommu, iova);
	struct vrange_pin *pin;
	int rc;

	if (!map)
		return -EINVAL;
	if ((map->iommu_prot & prot) != prot)
		return -EPERM;

	pin = xa_load(&iommu->pins, iova >> PAGE_SHIFT);
	if (!pin) {
		pin = kzalloc(sizeof(*pin), GFP_KERNEL_ACCOUNT);
		if (!pin)
			return -ENOMEM;
		pin->page = vrange_ram_page(iommu, map, iova);
		if (!pin->page) {
			kfree(pin);
			return -EFAULT;
		}
		rc = xa_err(xa_store(&iommu->pins, iova >> PAGE_SHIFT, pin,
				     GFP_KERNEL_ACCOUNT));
		if (rc) {
			kfree(pin);
			return rc;
		}
	}
	get_page(pin->page);
	pin->count++;
	pin->groups |= grp->bit;
	*page = pin->page;
	return 0;
}

/* True if a device of @group can be told to drop its pins; lock held. */
static bool vrange_group_can_unpin(struct vrange_iommu *iommu,
				   struct iommu_group *group)
{
	struct vfio_device *vdev;
	bool found = false;

	lockdep_assert_held(&iommu->lock);
	list_for_each_entry(vdev, &iommu->devices, iommu_entry) {
		struct iommu_group *dev_group = iommu_group_get(vdev->dev);

		found = dev_group == group;
		iommu_group_put(dev_group);
		if (found)
			break;
	}
	return found;
}

/*
 * vfio_pin_pages(): the pages stay valid until the device unpins them,
 * which it must do when its dma_unmap callback covers them.
 */
int vrange_pin_pages(void *iommu_data, struct iommu_group *group,
		     dma_addr_t user_iova, int npage, int prot,
		     struct page **pages)
{
	struct vrange_iommu *iommu = iommu_data;
	struct vrange_group *grp;
	u64 last;
	int i, rc = 0;

	if (npage <= 0 || !PAGE_ALIGNED(user_iova) ||
	    check_add_overflow((u64)user_iova, ((u64)npage << PAGE_SHIFT) - 1,
			       &last))
		return -EINVAL;

	/* As in type1: v1 containers do not pin for devices. */
	if (vrange_type1_v1(iommu))
		return -EACCES;

	mutex_lock(&iommu->lock);
	grp = vrange_find_group(iommu, group);
	if (!grp || !vrange_group_can_unpin(iommu, group)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	for (i = 0; i < npage; i++) {
		u64 iova = user_iova + ((u64)i << PAGE_SHIFT);

		rc = vrange_pin_one(iommu, grp, iova, prot, &pages[i]);
		if (rc)
			break;
	}
	if (rc) {
		while (i--)
			vrange_unpin_one(iommu,
					 user_iova + ((u64)i << PAGE_SHIFT));
	}
out_unlock:
	mutex_unlock(&iommu->lock);
	trace_vfio_range_pin(iommu, group, user_iova, npage, prot, rc);
	return rc ? rc : npage;
}

void vrange_unpin_pages(void *iommu_data, dma_addr_t user_iova, int npage)
{
	struct vrange_iommu *iommu = iommu_data;
	int i;

	mutex_lock(&iommu->lock);
	for (i = 0; i < npage; i++)
		vrange_unpin_one(iommu, user_iova + ((u64)i << PAGE_SHIFT));
	mutex_unlock(&iommu->lock);
	trace_vfio_range_unpin(iommu, user_iova, npage);
}

/* vfio_dma_rw(): @write moves @data into the IOVA range. */
int vrange_dma_rw(void *iommu_data, dma_addr_t user_iova, void *data,
		  size_t count, bool write)
{
	struct vrange_iommu *iommu = iommu_data;
	int need = write ? IOMMU_WRITE : IOMMU_READ;
	u64 iova = user_iova, last;
	int rc = 0;

	if (!count || check_add_overflow(iova, (u64)count - 1, &last))
		return -EINVAL;

	mutex_lock(&iommu->lock);
	while (count) {
		struct vrange_mapping *map = vrange_ram_at(iommu, iova);
		size_t offset = offset_in_page(iova);
		size_t chunk = min_t(size_t, count, PAGE_SIZE - offset);
		struct page *page;
		void *kaddr;

		if (!map) {
			rc = -EINVAL;
			break;
		}
		if (!(map->iommu_prot & need)) {
			rc = -EPERM;
			break;
		}
		page = vrange_ram_page(iommu, map, iova);
		if (!page) {
			rc = -EFAULT;
			break;
		}
		kaddr = kmap_local_page(page);
		if (write)
			memcpy(kaddr + offset, data, chunk);
		else
			memcpy(data, kaddr + offset, chunk);
		kunmap_local(kaddr);

		data += chunk;
		count -= chunk;
		/* Cannot wrap: iova + count - 1 was checked above. */
		iova += chunk;
	}
	mutex_unlock(&iommu->lock);
	return rc;
}

/* True if a group in @groups holds a pin inside [start, last]. */
bool vrange_pins_in_range(struct vrange_iommu *iommu, u64 start, u64 last,
			  u64 groups)
{
	struct vrange_pin *pin;
	unsigned long index;

	lockdep_assert_held(&iommu->lock);
	xa_for_each_range(&iommu->pins, index, pin, start >> PAGE_SHIFT,
			  last >> PAGE_SHIFT)
		if (pin->groups & groups)
			return true;
	return false;
}

/* One dma_unmap call of a device in @group, and its trace event. */
static void vrange_device_dma_unmap_call(struct vrange_iommu *iommu,
					 struct iommu_group *group,
					 struct vfio_device *vdev, u64 iova,
					 u64 length)
{
	u64 t0 = vrange_trace_clock(vfio_range_dma_unmap);

	vdev->ops->dma_unmap(vdev, iova, length);
	trace_vfio_range_dma_unmap(iommu, group, iova, length, t0);
}

/* dma_unmap() takes a length: split the one range whose length is 2^64. */
static void vrange_device_dma_unmap(struct vrange_iommu *iommu,
				    struct iommu_group *group,
				    struct vfio_device *vdev, u64 start,
				    u64 last)
{
	vrange_stat_add(iommu, VRANGE_STAT_DEVICE_UNMAPS, 1);
	if (last - start == U64_MAX) {
		vrange_device_dma_unmap_call(iommu, group, vdev, 0, 1ULL << 63);
		vrange_device_dma_unmap_call(iommu, group, vdev, 1ULL << 63,
					     1ULL << 63);
		return;
	}
	vrange_device_dma_unmap_call(iommu, group, vdev, start,
				     last - start + 1);
}

/**
 * vrange_notify_devices() - call dma_unmap on devices with pins in a range
 * @iommu: the container; op_lock held, lock not held
 * @start: first IOVA being removed
 * @last: last IOVA being removed, inclusive
 *
 * The callbacks run without vrange_iommu.lock: they unpin, which takes it.
 */
void vrange_notify_devices(struct vrange_iommu *iommu, u64 start, u64 last)
{
	struct vfio_device *vdev;

	lockdep_assert_held(&iommu->op_lock);

	down_read(&iommu->clients_rwsem);
	list_for_each_entry(vdev, &iommu->devices, iommu_entry) {
		struct iommu_group *group = iommu_group_get(vdev->dev);
		struct vrange_group *grp;
		bool touched;

		mutex_lock(&iommu->lock);
		grp = group ? vrange_find_group(iommu, group) : NULL;
		touched = grp && vrange_pins_in_range(iommu, start, last,
						      grp->bit);
		mutex_unlock(&iommu->lock);

		if (touched)
			vrange_device_dma_unmap(iommu, group, vdev, start,
						last);
		iommu_group_put(group);
	}
	up_read(&iommu->clients_rwsem);
}

/*
 * Forgets every pin inside [start, last]. Only pins no device can be asked
 * to drop (their group left, or the container is being released) can be
 * left when an unmap gets here: their page references are kept (the pages
 * leak), since a driver may still use the pages.
 */
void vrange_pins_drop_range(struct vrange_iommu *iommu, u64 start, u64 last)
{
	struct vrange_pin *pin;
	unsigned long index;

	lockdep_assert_held(&iommu->lock);
	xa_for_each_range(&iommu->pins, index, pin, start >> PAGE_SHIFT,
			  last >> PAGE_SHIFT) {
		if (!iommu->stale_pins_warned) {
			pr_warn("vfio-range: container %u: an emulated device left pages pinned (first at IOVA %#llx); they are leaked, not freed\n",
				iommu->id, (u64)index << PAGE_SHIFT);
			iommu->stale_pins_warned = true;
		}
		xa_erase(&iommu->pins, index);
		kfree(pin);
	}
}

/* A group left: its bit may be reused, so take it off every pin. */
void vrange_pins_forget_group(struct vrange_iommu *iommu, u64 bit)
{
	struct vrange_pin *pin;
	unsigned long index;

	lockdep_assert_held(&iommu->lock);
	xa_for_each(&iommu->pins, index, pin)
		pin->groups &= ~bit;
}
