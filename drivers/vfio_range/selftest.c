// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio_range_test.ko: test hooks for the selftests, never for production.
 *
 * /dev/vfio-range-test takes VFIO_RANGE_TEST_CMD (vfio_range_test.h) to
 * register in-kernel notifier clients that record every event, and to
 * create emulated-IOMMU VFIO devices that pin pages, read and write
 * through vfio_dma_rw() and log the dma_unmap calls they get, checking
 * inside each call that the pages they pinned are still pinned and intact.
 *
 * An mmap of the device shows the pages of a PCI memory BAR, at the
 * physical address given as the offset, with each pair of pages swapped:
 * a device memory mapping whose PFNs are not contiguous.
 *
 * Clients belong to the open file and go with it. Devices are platform
 * devices bound to this module; they go on EMUDEV_DEL or at unload, and
 * their VFIO device fd must be closed first (the VFIO core waits for it).
 *
 * The plant= parameter (test only, default none) plants a bug at load so
 * that make check-debug can show its detectors fail a run: plant=leak
 * leaks objects for kmemleak, plant=lockdep takes two locks of its own
 * in both orders for lockdep. Neither does anything else.
 */
#include <linux/highmem.h>
#include <linux/iommu.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>
#include <linux/vfio_range.h>
#include <linux/xarray.h>

#include <vfio_range/compat.h>

#include "vfio_range_test.h"

#define TEST_LOG_MAX	256
#define TEST_RW_MAX	(64 * 1024)

struct test_client {
	struct vfio_range_client client;
	spinlock_t lock;	/* protects the records */
	struct vfio_range_event *records;
	unsigned int count;
	u64 lost;
};

struct test_ctx {
	struct mutex lock;	/* protects clients */
	struct xarray clients;
};

struct test_pin {
	struct page *page;
	u64 value;		/* first bytes of the page when pinned */
	unsigned int count;
};

struct test_emudev {
	struct vfio_device vdev;
	struct platform_device *pdev;
	struct mutex lock;	/* protects the fields below */
	bool open;
	u32 keep_pins;		/* VFIO_RANGE_TEST_KEEP_PINS* or 0 */
	struct xarray pins;	/* IOVA page number -> struct test_pin */
	struct vfio_range_test_dma_unmap log[TEST_LOG_MAX];
	unsigned int nlog;
};

static DEFINE_XARRAY_ALLOC(test_emudevs);
static DEFINE_MUTEX(test_emudevs_lock);

/* In-kernel clients */

static int test_match_group(struct device *dev, const void *data)
{
	struct iommu_group *group = iommu_group_get(dev);
	bool match = group && iommu_group_id(group) == *(const int *)data;

	iommu_group_put(group);
	return match;
}

/*
 * The IOMMU group with number @id, referenced, or NULL: looked up through
 * its devices (PCI ones and this module's), the only way both kernels
 * offer.
 */
static struct iommu_group *test_group_by_id(int id)
{
	struct iommu_group *group = NULL;
	struct device *dev;

	/* Two calls, not a loop: struct bus_type became const in 6.x. */
	dev = bus_find_device(&pci_bus_type, NULL, &id, test_match_group);
	if (!dev)
		dev = bus_find_device(&platform_bus_type, NULL, &id,
				      test_match_group);
	if (dev) {
		group = iommu_group_get(dev);
		put_device(dev);
	}
	return group;
}

static void test_client_notify(struct vfio_range_client *client,
			       const struct vfio_range_notification *n)
{
	struct test_client *tc = container_of(client, struct test_client,
					      client);

	spin_lock(&tc->lock);
	if (tc->count == VFIO_RANGE_TEST_CLIENT_RECORDS) {
		tc->lost++;
	} else {
		tc->records[tc->count++] = (struct vfio_range_event){
			.type = n->type,
			.seq = n->seq,
			.start = n->start,
			.last = n->last,
			.addr_mask = n->addr_mask,
		};
	}
	spin_unlock(&tc->lock);
}

static void test_client_free(struct test_client *tc)
{
	kvfree(tc->records);
	kfree(tc);
}

static int test_client_add(struct test_ctx *ctx,
			   struct vfio_range_test_cmd *cmd)
{
	struct iommu_group *group;
	struct test_client *tc;
	int rc;

	tc = kzalloc(sizeof(*tc), GFP_KERNEL);
	if (!tc)
		return -ENOMEM;
	tc->records = kvcalloc(VFIO_RANGE_TEST_CLIENT_RECORDS,
			       sizeof(*tc->records), GFP_KERNEL);
	if (!tc->records) {
		kfree(tc);
		return -ENOMEM;
	}
	spin_lock_init(&tc->lock);
	tc->client.start = cmd->client_add.start;
	tc->client.last = cmd->client_add.last;
	tc->client.events = cmd->client_add.events;
	tc->client.granularity = cmd->client_add.granularity;
	tc->client.notify = test_client_notify;

	group = test_group_by_id(cmd->client_add.group_id);
	if (!group) {
		rc = -ENOENT;
		goto err_free;
	}
	rc = vfio_range_client_register(group, &tc->client);
	iommu_group_put(group);
	if (rc)
		goto err_free;

	mutex_lock(&ctx->lock);
	rc = xa_alloc(&ctx->clients, &cmd->id, tc, xa_limit_32b, GFP_KERNEL);
	mutex_unlock(&ctx->lock);
	if (rc) {
		vfio_range_client_unregister(&tc->client);
		goto err_free;
	}
	return 0;

err_free:
	test_client_free(tc);
	return rc;
}

static int test_client_del(struct test_ctx *ctx, u32 id)
{
	struct test_client *tc;

	mutex_lock(&ctx->lock);
	tc = xa_erase(&ctx->clients, id);
	mutex_unlock(&ctx->lock);
	if (!tc)
		return -ENOENT;
	vfio_range_client_unregister(&tc->client);
	test_client_free(tc);
	return 0;
}

static int test_client_read(struct test_ctx *ctx,
			    struct vfio_range_test_cmd *cmd)
{
	struct vfio_range_event *out;
	struct test_client *tc;
	unsigned int n;
	int rc = 0;

	mutex_lock(&ctx->lock);
	tc = xa_load(&ctx->clients, cmd->id);
	if (!tc) {
		rc = -ENOENT;
		goto out_unlock;
	}
	n = min_t(u32, cmd->client_read.max, VFIO_RANGE_TEST_CLIENT_RECORDS);
	out = kvcalloc(max(n, 1U), sizeof(*out), GFP_KERNEL);
	if (!out) {
		rc = -ENOMEM;
		goto out_unlock;
	}

	spin_lock(&tc->lock);
	n = min(n, tc->count);
	memcpy(out, tc->records, n * sizeof(*out));
	memmove(tc->records, tc->records + n,
		(tc->count - n) * sizeof(*out));
	tc->count -= n;
	cmd->client_read.out_lost = tc->lost;
	tc->lost = 0;
	spin_unlock(&tc->lock);

	cmd->client_read.out_count = n;
	if (copy_to_user(u64_to_user_ptr(cmd->client_read.events), out,
			 n * sizeof(*out)))
		rc = -EFAULT;
	kvfree(out);
out_unlock:
	mutex_unlock(&ctx->lock);
	return rc;
}

/* Emulated-IOMMU devices */

static struct test_emudev *to_emudev(struct vfio_device *vdev)
{
	return container_of(vdev, struct test_emudev, vdev);
}

/* Drops every pin in [first, last] page numbers; tdev->lock held. */
static void test_emudev_unpin_range(struct test_emudev *tdev,
				    unsigned long first, unsigned long last)
{
	struct test_pin *pin;
	unsigned long index;

	xa_for_each_range(&tdev->pins, index, pin, first, last) {
		while (pin->count--)
			vfio_unpin_pages(&tdev->vdev, (u64)index << PAGE_SHIFT,
					 1);
		xa_erase(&tdev->pins, index);
		kfree(pin);
	}
}

static u64 test_page_value(struct page *page)
{
	u64 *kaddr = kmap_local_page(page);
	u64 value = *kaddr;

	kunmap_local(kaddr);
	return value;
}

static void test_emudev_dma_unmap(struct vfio_device *vdev, u64 iova,
				  u64 length)
{
	struct test_emudev *tdev = to_emudev(vdev);
	struct vfio_range_test_dma_unmap rec = {
		.iova = iova,
		.length = length,
	};
	u64 last = iova + length - 1;
	struct test_pin *pin;
	unsigned long index;

	mutex_lock(&tdev->lock);
	xa_for_each_range(&tdev->pins, index, pin, iova >> PAGE_SHIFT,
			  last >> PAGE_SHIFT) {
		rec.pins_seen++;
		if (folio_maybe_dma_pinned(page_folio(pin->page)) &&
		    test_page_value(pin->page) == pin->value)
			rec.pins_valid++;
	}
	if (tdev->nlog < TEST_LOG_MAX)
		tdev->log[tdev->nlog++] = rec;
	if (!tdev->keep_pins)
		test_emudev_unpin_range(tdev, iova >> PAGE_SHIFT,
					last >> PAGE_SHIFT);
	mutex_unlock(&tdev->lock);
}

static int test_emudev_open(struct vfio_device *vdev)
{
	struct test_emudev *tdev = to_emudev(vdev);

	mutex_lock(&tdev->lock);
	tdev->open = true;
	mutex_unlock(&tdev->lock);
	return 0;
}

static void test_emudev_close(struct vfio_device *vdev)
{
	struct test_emudev *tdev = to_emudev(vdev);

	/* A device must let go of its pins when it is closed. */
	mutex_lock(&tdev->lock);
	if (tdev->keep_pins != VFIO_RANGE_TEST_KEEP_PINS_ALWAYS)
		test_emudev_unpin_range(tdev, 0, ULONG_MAX);
	tdev->open = false;
	mutex_unlock(&tdev->lock);
}

static void test_emudev_release(struct vfio_device *vdev)
{
	struct test_emudev *tdev = to_emudev(vdev);
	struct test_pin *pin;
	unsigned long index;

	/* Pins a broken device kept: forgotten, never unpinned. */
	xa_for_each(&tdev->pins, index, pin)
		kfree(pin);
	xa_destroy(&tdev->pins);
	mutex_destroy(&tdev->lock);
	vrange_compat_vfio_free_device(vdev);
}

static const struct vfio_device_ops test_emudev_ops = {
	.name = "vfio-range-test",
	.open_device = test_emudev_open,
	.close_device = test_emudev_close,
	.release = test_emudev_release,
	.dma_unmap = test_emudev_dma_unmap,
};

/* A device that cannot be told of unmaps, so must not pin. */
static const struct vfio_device_ops test_emudev_no_unmap_ops = {
	.name = "vfio-range-test-no-unmap",
	.open_device = test_emudev_open,
	.close_device = test_emudev_close,
	.release = test_emudev_release,
};

static int test_emudev_probe(struct platform_device *pdev)
{
	const u32 *flags = dev_get_platdata(&pdev->dev);
	struct test_emudev *tdev;
	int rc;

	tdev = vfio_alloc_device(test_emudev, vdev, &pdev->dev,
				 *flags & VFIO_RANGE_TEST_EMUDEV_NO_DMA_UNMAP ?
				 &test_emudev_no_unmap_ops : &test_emudev_ops);
	if (IS_ERR(tdev))
		return PTR_ERR(tdev);
	mutex_init(&tdev->lock);
	xa_init(&tdev->pins);
	tdev->pdev = pdev;

	rc = vfio_register_emulated_iommu_dev(&tdev->vdev);
	if (rc) {
		vfio_put_device(&tdev->vdev);
		return rc;
	}
	platform_set_drvdata(pdev, tdev);
	return 0;
}

/*
 * Devices go only through here (no .remove: its type differs between the
 * kernels, and nothing else unbinds them).
 */
static void test_emudev_destroy(struct platform_device *pdev)
{
	struct test_emudev *tdev = platform_get_drvdata(pdev);

	if (tdev) {
		vfio_unregister_group_dev(&tdev->vdev);
		vfio_put_device(&tdev->vdev);
	}
	platform_device_unregister(pdev);
}

static struct platform_driver test_emudev_driver = {
	.probe = test_emudev_probe,
	.driver = {
		.name = "vfio-range-test",
	},
};

static int test_emudev_add(struct vfio_range_test_cmd *cmd)
{
	u32 flags = cmd->emudev_add.flags;
	struct platform_device *pdev;
	struct iommu_group *group;
	struct test_emudev *tdev;
	int rc;

	if (flags & ~VFIO_RANGE_TEST_EMUDEV_NO_DMA_UNMAP)
		return -EINVAL;
	/* The probe, run from here, reads the flags. */
	pdev = platform_device_register_data(NULL, "vfio-range-test",
					     PLATFORM_DEVID_AUTO, &flags,
					     sizeof(flags));
	if (IS_ERR(pdev))
		return PTR_ERR(pdev);
	tdev = platform_get_drvdata(pdev);
	if (!tdev) {
		rc = -ENODEV;	/* probe failed */
		goto err_unregister;
	}
	group = iommu_group_get(&pdev->dev);
	if (!group) {
		rc = -ENODEV;
		goto err_unregister;
	}
	cmd->emudev_add.out_group_id = iommu_group_id(group);
	iommu_group_put(group);
	strscpy(cmd->emudev_add.out_name, dev_name(&pdev->dev),
		sizeof(cmd->emudev_add.out_name));

	mutex_lock(&test_emudevs_lock);
	rc = xa_alloc(&test_emudevs, &cmd->id, pdev, xa_limit_32b, GFP_KERNEL);
	mutex_unlock(&test_emudevs_lock);
	if (rc)
		goto err_unregister;
	return 0;

err_unregister:
	test_emudev_destroy(pdev);
	return rc;
}

static int test_emudev_del(u32 id)
{
	struct platform_device *pdev;

	mutex_lock(&test_emudevs_lock);
	pdev = xa_erase(&test_emudevs, id);
	mutex_unlock(&test_emudevs_lock);
	if (!pdev)
		return -ENOENT;
	test_emudev_destroy(pdev);
	return 0;
}

/* Runs @fn on device @id with its lock held, if the device is open. */
static int test_emudev_call(struct vfio_range_test_cmd *cmd,
			    int (*fn)(struct test_emudev *tdev,
				      struct vfio_range_test_cmd *cmd))
{
	struct platform_device *pdev;
	struct test_emudev *tdev;
	int rc;

	mutex_lock(&test_emudevs_lock);
	pdev = xa_load(&test_emudevs, cmd->id);
	if (!pdev) {
		mutex_unlock(&test_emudevs_lock);
		return -ENOENT;
	}
	tdev = platform_get_drvdata(pdev);
	mutex_lock(&tdev->lock);
	rc = fn(tdev, cmd);
	mutex_unlock(&tdev->lock);
	mutex_unlock(&test_emudevs_lock);
	return rc;
}

static int test_prot(u32 prot)
{
	return (prot & 1 ? IOMMU_READ : 0) | (prot & 2 ? IOMMU_WRITE : 0);
}

static int test_emudev_pin(struct test_emudev *tdev,
			   struct vfio_range_test_cmd *cmd)
{
	u64 iova = cmd->emudev_pin.iova;
	u32 npage = cmd->emudev_pin.npage;
	struct page **pages;
	u32 i;
	int rc;

	/* The VFIO core WARNs on pins by a closed device. */
	if (!tdev->open)
		return -EBADFD;
	if (!npage || npage > 512)
		return -EINVAL;
	pages = kcalloc(npage, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;

	rc = vfio_pin_pages(&tdev->vdev, iova, npage,
			    test_prot(cmd->emudev_pin.prot), pages);
	if (rc < 0)
		goto out_free;

	for (i = 0; i < npage; i++) {
		unsigned long index = (iova >> PAGE_SHIFT) + i;
		struct test_pin *pin = xa_load(&tdev->pins, index);

		if (!pin) {
			pin = kzalloc(sizeof(*pin), GFP_KERNEL);
			if (!pin || xa_err(xa_store(&tdev->pins, index, pin,
						    GFP_KERNEL))) {
				kfree(pin);
				vfio_unpin_pages(&tdev->vdev,
						 (u64)index << PAGE_SHIFT,
						 npage - i);
				rc = -ENOMEM;
				goto out_free;
			}
			pin->page = pages[i];
			pin->value = test_page_value(pages[i]);
		}
		pin->count++;
	}
	rc = 0;
out_free:
	kfree(pages);
	return rc;
}

static int test_emudev_unpin(struct test_emudev *tdev,
			     struct vfio_range_test_cmd *cmd)
{
	unsigned long first = cmd->emudev_pin.iova >> PAGE_SHIFT;
	u32 i;

	if (!cmd->emudev_pin.npage || cmd->emudev_pin.npage > 512)
		return -EINVAL;
	for (i = 0; i < cmd->emudev_pin.npage; i++) {
		struct test_pin *pin = xa_load(&tdev->pins, first + i);

		if (!pin)
			return -ENOENT;
		vfio_unpin_pages(&tdev->vdev, (u64)(first + i) << PAGE_SHIFT,
				 1);
		if (!--pin->count) {
			xa_erase(&tdev->pins, first + i);
			kfree(pin);
		}
	}
	return 0;
}

static int test_emudev_rw(struct test_emudev *tdev,
			  struct vfio_range_test_cmd *cmd)
{
	void __user *uptr = u64_to_user_ptr(cmd->emudev_rw.uptr);
	u32 len = cmd->emudev_rw.len;
	void *buf;
	int rc;

	if (!tdev->open)
		return -EBADFD;
	if (!len || len > TEST_RW_MAX)
		return -EINVAL;
	buf = kvmalloc(len, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;

	if (cmd->emudev_rw.write) {
		rc = copy_from_user(buf, uptr, len) ? -EFAULT : 0;
		if (!rc)
			rc = vfio_dma_rw(&tdev->vdev, cmd->emudev_rw.iova, buf,
					 len, true);
	} else {
		rc = vfio_dma_rw(&tdev->vdev, cmd->emudev_rw.iova, buf, len,
				 false);
		if (!rc && copy_to_user(uptr, buf, len))
			rc = -EFAULT;
	}
	kvfree(buf);
	return rc;
}

static int test_emudev_keep_pins(struct test_emudev *tdev,
				 struct vfio_range_test_cmd *cmd)
{
	if (cmd->emudev_keep_pins.keep > VFIO_RANGE_TEST_KEEP_PINS_ALWAYS)
		return -EINVAL;
	tdev->keep_pins = cmd->emudev_keep_pins.keep;
	return 0;
}

/*
 * Whether the pages the device pinned are still its own, even after the
 * container went: allocated (vfio-range holds a reference per pin) and
 * unchanged. The reference count is the folio's: that of a tail page of
 * a transparent huge page is always 0.
 */
static int test_emudev_check_pins(struct test_emudev *tdev,
				  struct vfio_range_test_cmd *cmd)
{
	struct test_pin *pin;
	unsigned long index;

	cmd->emudev_check_pins.out_seen = 0;
	cmd->emudev_check_pins.out_valid = 0;
	xa_for_each(&tdev->pins, index, pin) {
		cmd->emudev_check_pins.out_seen++;
		/* A tail page has no count of its own: its folio's. */
		if (folio_ref_count(page_folio(pin->page)) > 0 &&
		    test_page_value(pin->page) == pin->value)
			cmd->emudev_check_pins.out_valid++;
	}
	return 0;
}

static int test_emudev_read_log(struct test_emudev *tdev,
				struct vfio_range_test_cmd *cmd)
{
	u32 n = min(cmd->emudev_read_log.max, tdev->nlog);

	if (copy_to_user(u64_to_user_ptr(cmd->emudev_read_log.uptr), tdev->log,
			 n * sizeof(tdev->log[0])))
		return -EFAULT;
	memmove(tdev->log, tdev->log + n,
		(tdev->nlog - n) * sizeof(tdev->log[0]));
	tdev->nlog -= n;
	cmd->emudev_read_log.out_count = n;
	return 0;
}

/* The character device */

static int test_dispatch(struct test_ctx *ctx, struct vfio_range_test_cmd *cmd)
{
	switch (cmd->op) {
	case VFIO_RANGE_TEST_CLIENT_ADD:
		return test_client_add(ctx, cmd);
	case VFIO_RANGE_TEST_CLIENT_DEL:
		return test_client_del(ctx, cmd->id);
	case VFIO_RANGE_TEST_CLIENT_READ:
		return test_client_read(ctx, cmd);
	case VFIO_RANGE_TEST_EMUDEV_ADD:
		return test_emudev_add(cmd);
	case VFIO_RANGE_TEST_EMUDEV_DEL:
		return test_emudev_del(cmd->id);
	case VFIO_RANGE_TEST_EMUDEV_PIN:
		return test_emudev_call(cmd, test_emudev_pin);
	case VFIO_RANGE_TEST_EMUDEV_UNPIN:
		return test_emudev_call(cmd, test_emudev_unpin);
	case VFIO_RANGE_TEST_EMUDEV_RW:
		return test_emudev_call(cmd, test_emudev_rw);
	case VFIO_RANGE_TEST_EMUDEV_KEEP_PINS:
		return test_emudev_call(cmd, test_emudev_keep_pins);
	case VFIO_RANGE_TEST_EMUDEV_READ_LOG:
		return test_emudev_call(cmd, test_emudev_read_log);
	case VFIO_RANGE_TEST_EMUDEV_CHECK_PINS:
		return test_emudev_call(cmd, test_emudev_check_pins);
	default:
		/* An op of a newer test binary: asserted by notifier_errors. */
		return -EOPNOTSUPP;
	}
}

static long test_ioctl(struct file *file, unsigned int op, unsigned long arg)
{
	struct vfio_range_test_cmd __user *ucmd = (void __user *)arg;
	struct vfio_range_test_cmd cmd;
	int rc;

	if (op != VFIO_RANGE_TEST_CMD)
		return -ENOTTY;
	if (copy_from_user(&cmd, ucmd, sizeof(cmd)))
		return -EFAULT;
	if (cmd.size != sizeof(cmd) || cmd.__reserved)
		return -EINVAL;

	rc = test_dispatch(file->private_data, &cmd);
	if (rc)
		return rc;
	return copy_to_user(ucmd, &cmd, sizeof(cmd)) ? -EFAULT : 0;
}

static int test_open(struct inode *inode, struct file *file)
{
	struct test_ctx *ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);

	if (!ctx)
		return -ENOMEM;
	mutex_init(&ctx->lock);
	xa_init_flags(&ctx->clients, XA_FLAGS_ALLOC);
	file->private_data = ctx;
	return 0;
}

static int test_release(struct inode *inode, struct file *file)
{
	struct test_ctx *ctx = file->private_data;
	struct test_client *tc;
	unsigned long id;

	xa_for_each(&ctx->clients, id, tc) {
		vfio_range_client_unregister(&tc->client);
		test_client_free(tc);
	}
	xa_destroy(&ctx->clients);
	mutex_destroy(&ctx->lock);
	kfree(ctx);
	return 0;
}

/* True if [start, start + len) lies inside one memory BAR of a PCI device. */
static bool test_in_pci_bar(phys_addr_t start, size_t len)
{
	struct pci_dev *pdev = NULL;
	int bar;

	for_each_pci_dev(pdev) {
		for (bar = 0; bar < PCI_STD_NUM_BARS; bar++) {
			const struct resource *res = &pdev->resource[bar];

			if ((res->flags & IORESOURCE_MEM) &&
			    start >= res->start && len &&
			    start + len - 1 <= res->end) {
				pci_dev_put(pdev);
				return true;
			}
		}
	}
	return false;
}

static int test_mmap(struct file *file, struct vm_area_struct *vma)
{
	phys_addr_t base = (phys_addr_t)vma->vm_pgoff << PAGE_SHIFT;
	unsigned long i, npages = vma_pages(vma);
	int rc;

	/* Shared only: device memory is never copy-on-write. */
	if (!(vma->vm_flags & VM_SHARED) || npages % 2 ||
	    !test_in_pci_bar(base, npages << PAGE_SHIFT))
		return -EINVAL;
	vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
	for (i = 0; i < npages; i++) {
		rc = remap_pfn_range(vma, vma->vm_start + (i << PAGE_SHIFT),
				     PHYS_PFN(base) + (i ^ 1), PAGE_SIZE,
				     vma->vm_page_prot);
		if (rc)
			return rc;
	}
	return 0;
}

static const struct file_operations test_fops = {
	.owner = THIS_MODULE,
	.open = test_open,
	.release = test_release,
	.unlocked_ioctl = test_ioctl,
	.mmap = test_mmap,
};

static struct miscdevice test_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vfio-range-test",
	.fops = &test_fops,
};

/* Planted bugs: proof that the debug kernel's detectors fail a run */

static char *plant = "none";
module_param(plant, charp, 0444);
MODULE_PARM_DESC(plant,
		 "test only: a bug to plant at load: none (default), leak (for kmemleak), lockdep (a lock order cycle)");

enum test_plant {
	TEST_PLANT_NONE,
	TEST_PLANT_LEAK,
	TEST_PLANT_LOCKDEP,
};

static const char * const test_plant_names[] = {
	[TEST_PLANT_NONE] = "none",
	[TEST_PLANT_LEAK] = "leak",
	[TEST_PLANT_LOCKDEP] = "lockdep",
};

/* What the leaked objects hold, so their hex dumps in the report say so. */
#define TEST_PLANT_MARK	"vfio_range_test planted leak"
/*
 * Objects leaked: more than one, as a stale copy of the last pointer may
 * stay in a freed stack that kmemleak still scans, hiding that one.
 */
#define TEST_PLANT_LEAKS	4

/* Taken in both orders by test_plant_lockdep(), never anywhere else. */
static DEFINE_MUTEX(test_plant_a);
static DEFINE_MUTEX(test_plant_b);

/*
 * Objects that nothing points to once this returns: kmemleak reports
 * them, with this function in their backtraces.
 */
static noinline int test_plant_leak(void)
{
	char *leak;
	int i;

	for (i = 0; i < TEST_PLANT_LEAKS; i++) {
		leak = kmalloc(sizeof(TEST_PLANT_MARK), GFP_KERNEL);
		if (!leak)
			return -ENOMEM;
		strscpy(leak, TEST_PLANT_MARK, sizeof(TEST_PLANT_MARK));
	}
	return 0;
}

/*
 * a then b, later b then a, in this one thread: lockdep reports a possible
 * circular locking dependency (and turns itself off for the rest of the
 * boot). Nothing can deadlock: no one else ever takes these locks.
 */
static noinline void test_plant_lockdep(void)
{
	mutex_lock(&test_plant_a);
	mutex_lock(&test_plant_b);
	mutex_unlock(&test_plant_b);
	mutex_unlock(&test_plant_a);

	mutex_lock(&test_plant_b);
	mutex_lock(&test_plant_a);
	mutex_unlock(&test_plant_a);
	mutex_unlock(&test_plant_b);
}

static int test_plant_bug(void)
{
	int which = match_string(test_plant_names,
				 ARRAY_SIZE(test_plant_names), plant);

	switch (which) {
	case TEST_PLANT_NONE:
		return 0;
	case TEST_PLANT_LEAK:
		pr_notice("vfio_range_test: plant=leak: leaking objects for kmemleak\n");
		return test_plant_leak();
	case TEST_PLANT_LOCKDEP:
		pr_notice("vfio_range_test: plant=lockdep: taking two locks in both orders\n");
		test_plant_lockdep();
		return 0;
	default:
		pr_err("vfio_range_test: unknown plant=%s\n", plant);
		return -EINVAL;
	}
}

static int __init test_init(void)
{
	int rc;

	rc = test_plant_bug();
	if (rc)
		return rc;
	rc = platform_driver_register(&test_emudev_driver);
	if (rc)
		return rc;
	rc = misc_register(&test_misc);
	if (rc)
		platform_driver_unregister(&test_emudev_driver);
	return rc;
}

static void __exit test_exit(void)
{
	struct platform_device *pdev;
	unsigned long id;

	misc_deregister(&test_misc);
	xa_for_each(&test_emudevs, id, pdev)
		test_emudev_destroy(pdev);
	xa_destroy(&test_emudevs);
	platform_driver_unregister(&test_emudev_driver);
}

module_init(test_init);
module_exit(test_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vfio-range selftest hooks: recording clients and emulated devices");
