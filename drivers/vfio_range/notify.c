// SPDX-License-Identifier: GPL-2.0-only
/*
 * Event fan-out: every map and unmap, clipped to each in-kernel client's
 * window and split the way the client asked, delivered synchronously, and
 * recorded once in the container's event log for all userspace clients,
 * which expand it when they read (notify_fd.c).
 *
 * Delivery holds vrange_iommu.clients_rwsem for reading across all events of
 * an operation, so a client being unregistered waits for the delivery under
 * way and gets nothing after vfio_range_client_unregister() returns.
 * Callers of vrange_notify() hold vrange_iommu.op_lock, which orders the
 * events of successive operations.
 */
#include <linux/export.h>
#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/vfio_range.h>

#include <vfio_range/core.h>
#include <vfio_range/range.h>
#include <vfio_range/trace.h>

/* Numbers of clients in trace events; 0 is a refused registration. */
static atomic_t vrange_next_client_id;

/* True if @client's public fields make a client. */
bool vrange_client_valid(const struct vfio_range_client *client)
{
	const u32 events = VFIO_RANGE_EVENT_MAP | VFIO_RANGE_EVENT_UNMAP |
			   VFIO_RANGE_EVENT_REVOKED;

	return client->notify && client->events &&
	       !(client->events & ~events) && client->start <= client->last &&
	       (client->granularity == VFIO_RANGE_GRANULARITY_ARBITRARY ||
		client->granularity == VFIO_RANGE_GRANULARITY_ALIGNED);
}

/**
 * vrange_client_add() - register a client on a container
 * @iommu: the container; the client takes a reference to it
 * @client: the client, its public fields filled in
 *
 * Return: 0; -EINVAL for a malformed client; -ENOSPC past max_clients;
 * -ENODEV if the container was released.
 */
int vrange_client_add(struct vrange_iommu *iommu,
		      struct vfio_range_client *client)
{
	int rc = 0;

	if (!vrange_client_valid(client)) {
		rc = -EINVAL;
		goto out;
	}

	down_write(&iommu->clients_rwsem);
	if (iommu->dead)
		rc = -ENODEV;
	else if (iommu->nr_clients >= READ_ONCE(vrange_max_clients))
		rc = -ENOSPC;
	if (!rc && vrange_client_is_fd(client))
		rc = vrange_notifier_fd_attach(iommu, client);
	if (!rc) {
		refcount_inc(&iommu->users);
		client->iommu = iommu;
		client->id = atomic_inc_return(&vrange_next_client_id);
		list_add_tail(&client->node, &iommu->clients);
		iommu->nr_clients++;
	}
	up_write(&iommu->clients_rwsem);
out:
	trace_vfio_range_client_add(iommu, client, rc);
	return rc;
}

/**
 * vrange_clients_release() - the container is gone: tell its clients
 * @iommu: the container, after its last operation
 *
 * From here on it takes no new clients; the registered ones are told once.
 */
void vrange_clients_release(struct vrange_iommu *iommu)
{
	struct vfio_range_client *client;

	down_write(&iommu->clients_rwsem);
	iommu->dead = true;
	downgrade_write(&iommu->clients_rwsem);
	list_for_each_entry(client, &iommu->clients, node)
		if (client->released)
			client->released(client);
	up_read(&iommu->clients_rwsem);
}

/**
 * vrange_client_remove() - unregister a client
 * @client: a client added with vrange_client_add()
 *
 * Waits for a delivery under way; no event reaches @client afterwards.
 */
void vrange_client_remove(struct vfio_range_client *client)
{
	struct vrange_iommu *iommu = client->iommu;

	down_write(&iommu->clients_rwsem);
	if (vrange_client_is_fd(client))
		vrange_notifier_fd_detach(iommu, client);
	list_del(&client->node);
	iommu->nr_clients--;
	up_write(&iommu->clients_rwsem);
	/* No delivery runs any more: delivered is final. */
	trace_vfio_range_client_remove(iommu, client);

	client->iommu = NULL;
	vrange_iommu_put(iommu);
}

struct vrange_delivery {
	struct vfio_range_client *client;
	struct vfio_range_notification n;
};

static void vrange_deliver_block(u64 start, u64 mask, void *arg)
{
	struct vrange_delivery *d = arg;

	d->n.start = start;
	d->n.last = start | mask;
	d->n.addr_mask = mask;
	d->client->notify(d->client, &d->n);
}

/**
 * vrange_notify() - tell every interested client of an operation
 * @iommu: the container; the caller holds its op_lock, and its
 *	clients_rwsem for reading across all the events of one operation, so
 *	a client registered or removed meanwhile sees all of them or none
 * @type: VFIO_RANGE_EVENT_MAP, VFIO_RANGE_EVENT_UNMAP or
 *	VFIO_RANGE_EVENT_REVOKED
 * @seq: sequence number of the operation
 * @start: first IOVA that was mapped or removed
 * @last: last IOVA, inclusive
 */
void vrange_notify(struct vrange_iommu *iommu, u32 type, u64 seq, u64 start,
		   u64 last)
{
	struct vfio_range_client *client;
	u64 events = 0;

	lockdep_assert_held(&iommu->op_lock);
	lockdep_assert_held_read(&iommu->clients_rwsem);

	vrange_notifier_fd_log(iommu, type, seq, start, last);
	if (iommu->nr_clients == iommu->nr_fd_clients)
		return;
	list_for_each_entry(client, &iommu->clients, node) {
		struct vrange_delivery d = {
			.client = client,
			.n = { .type = type, .seq = seq },
		};
		unsigned int count;
		u64 t0, s, l;

		if (vrange_client_is_fd(client) || !(client->events & type) ||
		    !vrange_ranges_overlap(start, last, client->start,
					   client->last))
			continue;

		s = max(start, client->start);
		l = min(last, client->last);
		d.n.start = s;
		d.n.last = l;
		t0 = vrange_trace_clock(vfio_range_notify);
		if (client->granularity == VFIO_RANGE_GRANULARITY_ALIGNED) {
			count = vrange_split_aligned(s, l, vrange_deliver_block,
						     &d);
		} else {
			client->notify(client, &d.n);
			count = 1;
		}
		trace_vfio_range_notify(iommu, client, type, seq, s, l, count,
					t0);
		/* Deliveries are serialised by the container's op_lock. */
		WRITE_ONCE(client->delivered, client->delivered + count);
		events += count;
		/* Bounds the time between reschedules, however many clients. */
		cond_resched();
	}
	/* Counted once per range: an unmap can make thousands of events. */
	if (events)
		vrange_stat_add(iommu, VRANGE_STAT_NOTIFY_EVENTS, events);
}

/**
 * vfio_range_client_register() - register an in-kernel notifier client
 * @group: an IOMMU group attached to a vfio-range container
 * @client: the client; @start, @last, @events, @granularity and @notify
 *	filled in, and kept alive until vfio_range_client_unregister()
 *
 * The client hears of every operation on the container of @group that
 * completes after this returns, until it is unregistered, even if @group
 * leaves the container meanwhile. The callback's context is described at
 * &vfio_range_notify_fn.
 *
 * Context: process context; may sleep.
 * Return: 0; -ENOENT if @group is in no vfio-range container; -EINVAL for
 * a malformed client; -ENOSPC past the container's client limit.
 */
int vfio_range_client_register(struct iommu_group *group,
			       struct vfio_range_client *client)
{
	struct vrange_iommu *iommu;
	int rc;

	iommu = vrange_iommu_get_by_group(group);
	if (!iommu)
		return -ENOENT;
	rc = vrange_client_add(iommu, client);
	vrange_iommu_put(iommu);
	return rc;
}
EXPORT_SYMBOL_GPL(vfio_range_client_register);

/**
 * vfio_range_client_unregister() - unregister an in-kernel client
 * @client: a client registered with vfio_range_client_register()
 *
 * Waits for a callback under way to return; afterwards @client receives
 * nothing and may be freed. Must not be called from the callback.
 *
 * Context: process context; may sleep.
 */
void vfio_range_client_unregister(struct vfio_range_client *client)
{
	vrange_client_remove(client);
}
EXPORT_SYMBOL_GPL(vfio_range_client_unregister);
