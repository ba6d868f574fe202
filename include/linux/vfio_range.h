/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * In-kernel notifier clients of vfio-range containers.
 *
 * A kernel component that caches translations of a container's IOVAs (a
 * software IOTLB, an accelerator that walks guest memory, a vhost-like
 * backend) registers a client and is told of every map and unmap in its
 * window, synchronously, so it never uses a page after it was released.
 */
#ifndef _LINUX_VFIO_RANGE_H
#define _LINUX_VFIO_RANGE_H

#include <linux/list.h>
#include <linux/types.h>
#include <uapi/linux/vfio_range.h>

struct iommu_group;
struct vrange_iommu;

/**
 * struct vfio_range_notification - one event given to a client
 * @type: VFIO_RANGE_EVENT_MAP, VFIO_RANGE_EVENT_UNMAP or
 *	VFIO_RANGE_EVENT_REVOKED
 * @seq: sequence number of the operation in its container, from 1
 * @start: first IOVA, inside the client's window
 * @last: last IOVA, inclusive, inside the client's window
 * @addr_mask: @last - @start for an aligned client (a power of two minus
 *	one, and @start is a multiple of @addr_mask + 1); 0 for an arbitrary
 *	client
 */
struct vfio_range_notification {
	u32 type;
	u64 seq;
	u64 start;
	u64 last;
	u64 addr_mask;
};

struct vfio_range_client;

/**
 * typedef vfio_range_notify_fn - a client's event callback
 * @client: the registered client
 * @n: the event; valid only during the call
 *
 * Called in process context with the container's operation lock held and
 * the client list held for reading: it may sleep and allocate, but must
 * not map or unmap in the same container, nor register or unregister a
 * client of it (that would deadlock). For an unmap, the pages of the range
 * are still pinned and mapped while the callback runs and are released
 * only after every client returned.
 */
typedef void (*vfio_range_notify_fn)(struct vfio_range_client *client,
				     const struct vfio_range_notification *n);

/**
 * typedef vfio_range_released_fn - the container of a client went away
 * @client: the registered client
 *
 * Called once, after the UNMAP events of everything the container still
 * had mapped; no event follows. The client stays registered until it is
 * unregistered. Called with the client list held for reading, in process
 * context: it must not register or unregister a client.
 */
typedef void (*vfio_range_released_fn)(struct vfio_range_client *client);

/**
 * struct vfio_range_client - a notifier client
 * @start: first IOVA of the window
 * @last: last IOVA of the window, inclusive
 * @events: any of VFIO_RANGE_EVENT_MAP, VFIO_RANGE_EVENT_UNMAP and
 *	VFIO_RANGE_EVENT_REVOKED
 * @granularity: an &enum vfio_range_granularity value
 * @notify: the event callback
 * @released: optional: told when the container is released
 * @iommu: private: the container
 * @node: private: entry in the container's client list
 * @delivered: private: events delivered, for debugfs
 * @id: private: the client's number in trace events, unique while the
 *	module is loaded
 *
 * The caller fills in the fields above @iommu and keeps the structure
 * alive until vfio_range_client_unregister() returned.
 */
struct vfio_range_client {
	u64 start;
	u64 last;
	u32 events;
	u32 granularity;
	vfio_range_notify_fn notify;
	vfio_range_released_fn released;

	struct vrange_iommu *iommu;
	struct list_head node;
	u64 delivered;
	u32 id;
};

int vfio_range_client_register(struct iommu_group *group,
			       struct vfio_range_client *client);
void vfio_range_client_unregister(struct vfio_range_client *client);

#endif /* _LINUX_VFIO_RANGE_H */
