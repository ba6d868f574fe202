/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The vfio_range trace system: what containers, their clients and their
 * emulated devices do, for trace-cmd, perf and bpftrace. The events and
 * their fields are described in Documentation/tracing.rst.
 *
 * Every field is a number, so every field filters. A tracepoint costs a
 * static branch while it is disabled; what an event needs beyond its
 * arguments (a group's number, the time a callback took) is worked out in
 * TP_fast_assign() or behind trace_*_enabled(), never before the call.
 * Durations (the *_ns fields) are ktime_get_ns() differences, taken only
 * while the event is enabled (0 otherwise).
 *
 * drivers/vfio_range/trace.c defines the tracepoints (CREATE_TRACE_POINTS).
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM vfio_range

/* Read once: the rest of this file is read again by define_trace.h. */
#ifndef _VFIO_RANGE_TRACE_HELPERS
#define _VFIO_RANGE_TRACE_HELPERS

#include <linux/ktime.h>
#include <linux/types.h>

/* The map event's backing for a request refused before it was looked up */
#define VRANGE_TRACE_BACKING_NONE	(-1)

/* Nanoseconds since @t0, or 0 if @t0 was not taken (event disabled). */
static inline u64 vrange_trace_since(u64 t0)
{
	return t0 ? ktime_get_ns() - t0 : 0;
}

/* A start time for an event's duration field, only while it is enabled. */
#define vrange_trace_clock(event)					\
	(trace_##event##_enabled() ? ktime_get_ns() : 0)

#endif /* _VFIO_RANGE_TRACE_HELPERS */

#if !defined(_VFIO_RANGE_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _VFIO_RANGE_TRACE_H

#include <linux/iommu.h>
#include <linux/mmu_notifier.h>
#include <linux/tracepoint.h>
#include <linux/vfio.h>
#include <linux/vfio_range.h>

#include <vfio_range/core.h>

/* Enum names in print formats, resolved for userspace (trace-cmd, perf). */
TRACE_DEFINE_ENUM(VFIO_RANGE_EVENT_MAP);
TRACE_DEFINE_ENUM(VFIO_RANGE_EVENT_UNMAP);
TRACE_DEFINE_ENUM(VFIO_RANGE_EVENT_REVOKED);
TRACE_DEFINE_ENUM(VRANGE_RAM);
TRACE_DEFINE_ENUM(VRANGE_MMIO);
TRACE_DEFINE_ENUM(MMU_NOTIFY_UNMAP);
TRACE_DEFINE_ENUM(MMU_NOTIFY_CLEAR);
TRACE_DEFINE_ENUM(MMU_NOTIFY_PROTECTION_VMA);
TRACE_DEFINE_ENUM(MMU_NOTIFY_PROTECTION_PAGE);
TRACE_DEFINE_ENUM(MMU_NOTIFY_RELEASE);

#define vrange_trace_kind(kind)						\
	__print_symbolic(kind,						\
			 { VFIO_RANGE_EVENT_MAP, "MAP" },		\
			 { VFIO_RANGE_EVENT_UNMAP, "UNMAP" },		\
			 { VFIO_RANGE_EVENT_REVOKED, "REVOKED" })

#define vrange_trace_backing(backing)					\
	__print_symbolic(backing,					\
			 { VRANGE_RAM, "ram" },				\
			 { VRANGE_MMIO, "bar" },			\
			 { VRANGE_TRACE_BACKING_NONE, "none" })

#define vrange_trace_reason(reason)					\
	__print_symbolic(reason,					\
			 { MMU_NOTIFY_UNMAP, "unmap" },			\
			 { MMU_NOTIFY_CLEAR, "clear" },			\
			 { MMU_NOTIFY_PROTECTION_VMA, "protection" },	\
			 { MMU_NOTIFY_PROTECTION_PAGE, "protection_page" }, \
			 { MMU_NOTIFY_RELEASE, "release" })

DECLARE_EVENT_CLASS(vfio_range_container,
		    TP_PROTO(const struct vrange_iommu *iommu),
		    TP_ARGS(iommu),
		    TP_STRUCT__entry(__field(u32, container)
				     __field(unsigned long, type)
				     __field(pid_t, pid)),
		    TP_fast_assign(__entry->container = iommu->id;
				   __entry->type = iommu->type;
				   __entry->pid = iommu->opener_pid;),
		    TP_printk("container=%u type=%#lx pid=%d",
			      __entry->container, __entry->type, __entry->pid)
);

/* VFIO_SET_IOMMU made a container; pid is the opener's thread group. */
DEFINE_EVENT(vfio_range_container, vfio_range_container_open,
	     TP_PROTO(const struct vrange_iommu *iommu),
	     TP_ARGS(iommu)
);

/* The VFIO core let go of the container; its teardown follows. */
DEFINE_EVENT(vfio_range_container, vfio_range_container_release,
	     TP_PROTO(const struct vrange_iommu *iommu),
	     TP_ARGS(iommu)
);

TRACE_EVENT(vfio_range_group_attach,
	    TP_PROTO(const struct vrange_iommu *iommu,
		     struct iommu_group *group, bool emulated, int err),
	    TP_ARGS(iommu, group, emulated, err),
	    TP_STRUCT__entry(__field(u32, container)
			     __field(int, group)
			     __field(bool, emulated)
			     __field(int, err)),
	    TP_fast_assign(__entry->container = iommu->id;
			   __entry->group = iommu_group_id(group);
			   __entry->emulated = emulated;
			   __entry->err = err;),
	    TP_printk("container=%u group=%d emulated=%d err=%d",
		      __entry->container, __entry->group, __entry->emulated,
		      __entry->err)
);

TRACE_EVENT(vfio_range_group_detach,
	    TP_PROTO(const struct vrange_iommu *iommu,
		     const struct vrange_group *grp),
	    TP_ARGS(iommu, grp),
	    TP_STRUCT__entry(__field(u32, container)
			     __field(int, group)
			     __field(bool, emulated)),
	    TP_fast_assign(__entry->container = iommu->id;
			   __entry->group = iommu_group_id(grp->group);
			   __entry->emulated = !grp->domain;),
	    TP_printk("container=%u group=%d emulated=%d",
		      __entry->container, __entry->group, __entry->emulated)
);

/*
 * One map request, successful or not: the range it named, what it mapped
 * (iova, length: the aligned interior of a trimmed BAR request; length 0
 * if nothing), the pages behind it (pinned RAM pages or BAR pages), the
 * iommu_map() calls it made in all domains, its seq (0 if it made no
 * event) and errno.
 */
TRACE_EVENT(vfio_range_map,
	    TP_PROTO(const struct vrange_iommu *iommu,
		     const struct vrange_map_req *req,
		     const struct vrange_map_trace *mt, int err),
	    TP_ARGS(iommu, req, mt, err),
	    TP_STRUCT__entry(__field(u32, container)
			     __field(u64, seq)
			     __field(u64, start)
			     __field(u64, last)
			     __field(u64, vaddr)
			     __field(u64, iova)
			     __field(u64, length)
			     __field(int, prot)
			     __field(int, backing)
			     __field(u64, pages)
			     __field(u32, map_calls)
			     __field(int, err)
			     __field(u64, ns)),
	    TP_fast_assign(__entry->container = iommu->id;
			   __entry->seq = mt->seq;
			   __entry->start = req->start;
			   __entry->last = req->last;
			   __entry->vaddr = req->vaddr;
			   __entry->iova = mt->length ? req->out_start : 0;
			   __entry->length = mt->length;
			   __entry->prot = req->iommu_prot;
			   __entry->backing = mt->backing;
			   __entry->pages = mt->pages;
			   __entry->map_calls = mt->map_calls;
			   __entry->err = err;
			   __entry->ns = vrange_trace_since(mt->t0);),
	    TP_printk("container=%u seq=%llu start=%#llx last=%#llx vaddr=%#llx iova=%#llx length=%#llx prot=%#x backing=%s pages=%llu map_calls=%u err=%d ns=%llu",
		      __entry->container, __entry->seq, __entry->start,
		      __entry->last, __entry->vaddr, __entry->iova,
		      __entry->length, __entry->prot,
		      vrange_trace_backing(__entry->backing), __entry->pages,
		      __entry->map_calls, __entry->err, __entry->ns)
);

/*
 * One unmap, successful or not, including the unmap of everything at
 * release: the range asked for, the bytes and mappings removed, the IOTLB
 * syncs, its seq (0 if it made no event), errno, and how long it took,
 * of which wait_ns waiting for another operation of the container.
 */
TRACE_EVENT(vfio_range_unmap,
	    TP_PROTO(const struct vrange_iommu *iommu, u64 start, u64 last,
		     const struct vrange_unmap_trace *ut, int err),
	    TP_ARGS(iommu, start, last, ut, err),
	    TP_STRUCT__entry(__field(u32, container)
			     __field(u64, seq)
			     __field(u64, start)
			     __field(u64, last)
			     __field(u64, unmapped)
			     __field(u32, mappings)
			     __field(u32, iotlb_syncs)
			     __field(int, err)
			     __field(u64, ns)
			     __field(u64, wait_ns)),
	    TP_fast_assign(__entry->container = iommu->id;
			   __entry->seq = ut->seq;
			   __entry->start = start;
			   __entry->last = last;
			   __entry->unmapped = ut->unmapped;
			   __entry->mappings = ut->mappings;
			   __entry->iotlb_syncs = ut->iotlb_syncs;
			   __entry->err = err;
			   __entry->ns = vrange_trace_since(ut->t0);
			   __entry->wait_ns = ut->wait_ns;),
	    TP_printk("container=%u seq=%llu start=%#llx last=%#llx unmapped=%#llx mappings=%u iotlb_syncs=%u err=%d ns=%llu wait_ns=%llu",
		      __entry->container, __entry->seq, __entry->start,
		      __entry->last, __entry->unmapped, __entry->mappings,
		      __entry->iotlb_syncs, __entry->err, __entry->ns,
		      __entry->wait_ns)
);

/* A client registration; client is 0 if it was refused. */
TRACE_EVENT(vfio_range_client_add,
	    TP_PROTO(const struct vrange_iommu *iommu,
		     const struct vfio_range_client *client, int err),
	    TP_ARGS(iommu, client, err),
	    TP_STRUCT__entry(__field(u32, container)
			     __field(u32, client)
			     __field(bool, fd)
			     __field(u32, events)
			     __field(u32, granularity)
			     __field(u64, start)
			     __field(u64, last)
			     __field(int, err)),
	    TP_fast_assign(__entry->container = iommu->id;
			   __entry->client = err ? 0 : client->id;
			   __entry->fd = vrange_client_is_fd(client);
			   __entry->events = client->events;
			   __entry->granularity = client->granularity;
			   __entry->start = client->start;
			   __entry->last = client->last;
			   __entry->err = err;),
	    TP_printk("container=%u client=%u fd=%d events=%#x granularity=%u start=%#llx last=%#llx err=%d",
		      __entry->container, __entry->client, __entry->fd,
		      __entry->events, __entry->granularity, __entry->start,
		      __entry->last, __entry->err)
);

/* A client unregistered, with the events it was handed in all. */
TRACE_EVENT(vfio_range_client_remove,
	    TP_PROTO(const struct vrange_iommu *iommu,
		     const struct vfio_range_client *client),
	    TP_ARGS(iommu, client),
	    TP_STRUCT__entry(__field(u32, container)
			     __field(u32, client)
			     __field(bool, fd)
			     __field(u64, delivered)),
	    TP_fast_assign(__entry->container = iommu->id;
			   __entry->client = client->id;
			   __entry->fd = vrange_client_is_fd(client);
			   __entry->delivered = client->delivered;),
	    TP_printk("container=%u client=%u fd=%d delivered=%llu",
		      __entry->container, __entry->client, __entry->fd,
		      __entry->delivered)
);

/*
 * One range of an operation delivered to one client, after its callback
 * returned: the range clipped to the client's window, the events it was
 * handed for it (blocks: 1 for an arbitrary client) and the time it took.
 */
TRACE_EVENT(vfio_range_notify,
	    TP_PROTO(const struct vrange_iommu *iommu,
		     const struct vfio_range_client *client, u32 kind, u64 seq,
		     u64 start, u64 last, u32 blocks, u64 t0),
	    TP_ARGS(iommu, client, kind, seq, start, last, blocks, t0),
	    TP_STRUCT__entry(__field(u32, container)
			     __field(u32, client)
			     __field(u32, kind)
			     __field(u64, seq)
			     __field(u64, start)
			     __field(u64, last)
			     __field(u32, blocks)
			     __field(u64, ns)),
	    TP_fast_assign(__entry->container = iommu->id;
			   __entry->client = client->id;
			   __entry->kind = kind;
			   __entry->seq = seq;
			   __entry->start = start;
			   __entry->last = last;
			   __entry->blocks = blocks;
			   __entry->ns = vrange_trace_since(t0);),
	    TP_printk("container=%u client=%u kind=%s seq=%llu start=%#llx last=%#llx blocks=%u ns=%llu",
		      __entry->container, __entry->client,
		      vrange_trace_kind(__entry->kind), __entry->seq,
		      __entry->start, __entry->last, __entry->blocks,
		      __entry->ns)
);

/*
 * A userspace client's queue had no room for some events of one range:
 * lost of them were dropped (dropped: since the client was opened); queued
 * records wait to be read, the overflow record among them.
 */
TRACE_EVENT(vfio_range_overflow,
	    TP_PROTO(const struct vrange_iommu *iommu,
		     const struct vfio_range_client *client, u64 seq, u64 lost,
		     u64 dropped, u64 queued),
	    TP_ARGS(iommu, client, seq, lost, dropped, queued),
	    TP_STRUCT__entry(__field(u32, container)
			     __field(u32, client)
			     __field(u64, seq)
			     __field(u64, lost)
			     __field(u64, dropped)
			     __field(u64, queued)),
	    TP_fast_assign(__entry->container = iommu->id;
			   __entry->client = client->id;
			   __entry->seq = seq;
			   __entry->lost = lost;
			   __entry->dropped = dropped;
			   __entry->queued = queued;),
	    TP_printk("container=%u client=%u seq=%llu lost=%llu dropped=%llu queued=%llu",
		      __entry->container, __entry->client, __entry->seq,
		      __entry->lost, __entry->dropped, __entry->queued)
);

/*
 * A BAR mapping left the IOMMU because its user mapping lost access; the
 * reason is the mmu notifier's event. Clients hear of it later, from a
 * worker (a vfio_range_notify record of kind REVOKED).
 */
TRACE_EVENT(vfio_range_revoke,
	    TP_PROTO(const struct vrange_iommu *iommu,
		     const struct vrange_mapping *map, int reason),
	    TP_ARGS(iommu, map, reason),
	    TP_STRUCT__entry(__field(u32, container)
			     __field(u64, start)
			     __field(u64, last)
			     __field(u64, vaddr)
			     __field(u64, pfn)
			     __field(int, reason)),
	    TP_fast_assign(__entry->container = iommu->id;
			   __entry->start = vrange_mapping_start(map);
			   __entry->last = vrange_mapping_last(map);
			   __entry->vaddr = map->vaddr;
			   __entry->pfn = map->runs[0].pfn;
			   __entry->reason = reason;),
	    TP_printk("container=%u start=%#llx last=%#llx vaddr=%#llx pfn=%#llx reason=%s",
		      __entry->container, __entry->start, __entry->last,
		      __entry->vaddr, __entry->pfn,
		      vrange_trace_reason(__entry->reason))
);

/* vfio_pin_pages() of an emulated device's group. */
TRACE_EVENT(vfio_range_pin,
	    TP_PROTO(const struct vrange_iommu *iommu,
		     struct iommu_group *group, u64 iova, int npage, int prot,
		     int err),
	    TP_ARGS(iommu, group, iova, npage, prot, err),
	    TP_STRUCT__entry(__field(u32, container)
			     __field(int, group)
			     __field(u64, iova)
			     __field(int, npage)
			     __field(int, prot)
			     __field(int, err)),
	    TP_fast_assign(__entry->container = iommu->id;
			   __entry->group = iommu_group_id(group);
			   __entry->iova = iova;
			   __entry->npage = npage;
			   __entry->prot = prot;
			   __entry->err = err;),
	    TP_printk("container=%u group=%d iova=%#llx npage=%d prot=%#x err=%d",
		      __entry->container, __entry->group, __entry->iova,
		      __entry->npage, __entry->prot, __entry->err)
);

/* vfio_unpin_pages() of an emulated device. */
TRACE_EVENT(vfio_range_unpin,
	    TP_PROTO(const struct vrange_iommu *iommu, u64 iova, int npage),
	    TP_ARGS(iommu, iova, npage),
	    TP_STRUCT__entry(__field(u32, container)
			     __field(u64, iova)
			     __field(int, npage)),
	    TP_fast_assign(__entry->container = iommu->id;
			   __entry->iova = iova;
			   __entry->npage = npage;),
	    TP_printk("container=%u iova=%#llx npage=%d",
		      __entry->container, __entry->iova, __entry->npage)
);

/*
 * An emulated device's dma_unmap callback returned (the pins it dropped in
 * it were traced before): the range as the callback got it, and how long
 * it took.
 */
TRACE_EVENT(vfio_range_dma_unmap,
	    TP_PROTO(const struct vrange_iommu *iommu,
		     struct iommu_group *group, u64 iova, u64 length, u64 t0),
	    TP_ARGS(iommu, group, iova, length, t0),
	    TP_STRUCT__entry(__field(u32, container)
			     __field(int, group)
			     __field(u64, iova)
			     __field(u64, length)
			     __field(u64, ns)),
	    TP_fast_assign(__entry->container = iommu->id;
			   __entry->group = iommu_group_id(group);
			   __entry->iova = iova;
			   __entry->length = length;
			   __entry->ns = vrange_trace_since(t0);),
	    TP_printk("container=%u group=%d iova=%#llx length=%#llx ns=%llu",
		      __entry->container, __entry->group, __entry->iova,
		      __entry->length, __entry->ns)
);

#endif /* _VFIO_RANGE_TRACE_H */

/* Out of the kernel tree: found through Kbuild's -I$(src)/include. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH vfio_range
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
