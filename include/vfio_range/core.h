/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internal interfaces of vfio-range.
 *
 * In this module "last" is the inclusive end of a range: [0, 0] is one byte
 * and [0, U64_MAX] the whole space. An IOVA may be U64_MAX, so last + 1 can
 * wrap; lengths are only formed where the range is known to be smaller than
 * 2^64 (anything backed by pinned memory or a BAR is).
 */
#ifndef _VFIO_RANGE_CORE_H
#define _VFIO_RANGE_CORE_H

#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/interval_tree.h>
#include <linux/list.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/rwsem.h>
#include <linux/sched.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include <vfio_range/runs.h>
#include <vfio_range/vfio_core.h>

struct dentry;
struct iommu_domain;
struct iommu_group;
struct mm_struct;
struct page;
struct seq_file;
struct user_struct;
struct vfio_device;
struct vfio_iova_range;
struct vfio_range_client;
struct vfio_range_notifier;

/**
 * enum vrange_stat - work counters, module-wide and per container
 * @VRANGE_STAT_IOMMU_MAP_CALLS: iommu_map() calls
 * @VRANGE_STAT_IOMMU_MAPPED_BYTES: bytes those calls mapped
 * @VRANGE_STAT_IOTLB_SYNCS: IOTLB flushes asked for (iommu_iotlb_sync(),
 *	iommu_unmap())
 * @VRANGE_STAT_NOTIFY_EVENTS: events handed to in-kernel clients and
 *	expanded into userspace clients' queues
 * @VRANGE_STAT_PINNED_PAGES: pages pinned for mappings now
 * @VRANGE_STAT_MAPS: mappings made (successful map requests)
 * @VRANGE_STAT_UNMAPS: mappings removed, by unmap requests or at release
 * @VRANGE_STAT_DEVICE_UNMAPS: dma_unmap calls to emulated devices
 * @VRANGE_STAT_REVOCATIONS: BAR mappings revoked because the user mapping
 *	lost access
 * @VRANGE_STAT_RECORD_BYTES: bytes of page records (&vrange_mapping.record)
 *	allocated now: the module's only memory that grows with the pages
 *	mapped, kept only by mappings of containers without an IOMMU domain
 * @VRANGE_NR_STATS: number of counters
 */
enum vrange_stat {
	VRANGE_STAT_IOMMU_MAP_CALLS,
	VRANGE_STAT_IOMMU_MAPPED_BYTES,
	VRANGE_STAT_IOTLB_SYNCS,
	VRANGE_STAT_NOTIFY_EVENTS,
	VRANGE_STAT_PINNED_PAGES,
	VRANGE_STAT_MAPS,
	VRANGE_STAT_UNMAPS,
	VRANGE_STAT_DEVICE_UNMAPS,
	VRANGE_STAT_REVOCATIONS,
	VRANGE_STAT_RECORD_BYTES,
	VRANGE_NR_STATS
};

/**
 * struct vrange_stats - a set of work counters, shown in debugfs
 * @v: the counters, indexed by &enum vrange_stat
 */
struct vrange_stats {
	atomic64_t v[VRANGE_NR_STATS];
};

/* Entries of the event log of a container with userspace clients. */
#define VRANGE_LOG_LEN	4096

/**
 * struct vrange_log_entry - one range of an operation, for userspace clients
 * @seq: sequence number of the operation
 * @start: first IOVA
 * @last: last IOVA, inclusive
 * @type: VFIO_RANGE_EVENT_MAP, VFIO_RANGE_EVENT_UNMAP or
 *	VFIO_RANGE_EVENT_REVOKED
 */
struct vrange_log_entry {
	u64 seq;
	u64 start;
	u64 last;
	u32 type;
};

/**
 * struct vrange_iommu - one container's backend state
 *
 * Lock order (the one place it is written down):
 * @op_lock -> mmap_lock -> @lock -> @revoke_lock, and @op_lock ->
 * @clients_rwsem -> @lock, and @clients_rwsem -> a userspace client's
 * queue lock, which its reader takes inside its read_lock (notify_fd.c).
 * The mmu notifier that revokes
 * BAR mappings runs under mmap_lock, possibly from memory reclaim, and
 * takes @revoke_lock alone. The event log (@log) has no lock of its own:
 * only the task holding @op_lock writes it, and each reader holds its
 * client's queue lock.
 *
 * @op_lock: serialises map and unmap operations and the reports of revoked
 *	BAR mappings with the delivery of their events, so clients see events
 *	in the order operations completed. Taken before @lock and
 *	@clients_rwsem. Pinning and looking up BAR PFNs run under it alone.
 * @lock: protects the fields below it except where noted. Taken by the
 *	ioctls, by the VFIO core's attach/detach callbacks and by emulated
 *	devices pinning pages. IOMMU page-table work runs under it.
 * @revoke_lock: protects &vrange_mapping.mapped and &vrange_mapping.revoked
 *	of BAR mappings, and @domains together with @lock. Taken inside @lock
 *	wherever a BAR mapping is committed to or leaves the domains and
 *	wherever @domains changes, and alone by the revoking notifier. Since
 *	that notifier can run from reclaim, nothing under @revoke_lock
 *	allocates: BAR page tables are allocated before it is taken, and
 *	committed under it with the notifier's sequence count.
 * @mappings: interval tree of &struct vrange_mapping by IOVA. Changed only
 *	with both @op_lock and @lock held, so holding either is enough to
 *	walk it.
 * @nr_mappings: number of nodes in @mappings
 * @domains: list of &struct vrange_domain; changed under @revoke_lock too.
 *	The first one is where the PFNs of RAM mappings without a record are
 *	read back from (every domain holds every mapping).
 * @nr_unrecorded: RAM mappings in @mappings without a page record (their
 *	PFNs are only in the domains): while it is not 0, the last domain is
 *	kept when its last group detaches (container.c)
 * @groups: list of &struct vrange_group, with and without a domain
 * @pgsize_bitmap: IOMMU page sizes every domain supports (PAGE_SIZE, or the
 *	min_pgsize parameter, and up; PAGE_SIZE and up with no domain)
 * @usable: sorted, disjoint, inclusive usable IOVA ranges
 * @nr_usable: number of entries in @usable
 * @pins: pages pinned by emulated devices: IOVA page number to
 *	&struct vrange_pin
 * @group_ids: allocator of &vrange_group.bit
 * @seq: sequence number of the last operation; under @op_lock
 * @nr_vaddr_invalid: mappings whose vaddr was invalidated
 *	(VFIO_DMA_UNMAP_FLAG_VADDR) and not yet updated; changed under both
 *	@op_lock and @lock
 * @clients_rwsem: protects @clients, @nr_clients, @devices and @dead.
 *	Held for reading while events are delivered.
 * @clients: list of &struct vfio_range_client
 * @nr_clients: number of entries in @clients
 * @devices: emulated devices with a dma_unmap callback, linked through
 *	&vfio_device.iommu_entry; changed under both @clients_rwsem and
 *	@lock, so either is enough to walk it
 * @nr_devices: entries in @devices; changed under both @clients_rwsem and
 *	@lock
 * @dead: the VFIO core released the container; it takes no new clients
 * @nr_fd_clients: userspace clients among @clients; under @clients_rwsem
 * @log: the events of the container's operations, each recorded once for
 *	all userspace clients, which expand them into their queues when they
 *	read (VRANGE_LOG_LEN entries, allocated while @nr_fd_clients is not
 *	0; allocated and freed under @clients_rwsem held for writing)
 * @log_tail: entries ever appended: the next one goes to
 *	@log[@log_tail % VRANGE_LOG_LEN]. Written under @op_lock and
 *	published with a release store, read with an acquire load.
 * @log_floor: no userspace client's cursor is below it; under @op_lock
 * @log_events: the union of the userspace clients' event masks
 * @log_start: the lowest first IOVA of their windows
 * @log_last: the highest last IOVA of their windows; the three under
 *	@clients_rwsem: only what meets them is logged
 * @log_armed: a reader found nothing to read and may wait: the next
 *	appended entry wakes @log_wait
 * @log_wait: readers and pollers of the userspace clients
 * @users: references: one from the VFIO core, one per client
 * @node: entry in the list of all containers, for in-kernel clients
 * @type: the IOMMU type VFIO_SET_IOMMU opened the container with:
 *	VFIO_RANGE_IOMMU, or VFIO_TYPE1v2_IOMMU or VFIO_TYPE1_IOMMU in compat
 *	mode
 * @id: number of the container in debugfs, unique while the module is loaded
 * @opener_pid: thread group of the task that selected the type
 * @opener_comm: its command name
 * @stats: the container's work counters (atomics, no lock)
 * @debugfs: its directory in debugfs; removed before the container is freed
 * @revoke_work: reports revoked BAR mappings to clients; flushed at release
 * @stale_pins_warned: a device left pins at release once; under @lock
 */
struct vrange_iommu {
	struct mutex op_lock;		/* see above */
	struct mutex lock;		/* see above */
	struct mutex revoke_lock;	/* see above */
	struct rb_root_cached mappings;
	unsigned int nr_mappings;
	struct list_head domains;
	unsigned int nr_unrecorded;
	struct list_head groups;
	u64 pgsize_bitmap;
	struct vfio_iova_range *usable;
	unsigned int nr_usable;
	struct xarray pins;
	u64 group_ids;
	u64 seq;
	unsigned int nr_vaddr_invalid;

	struct rw_semaphore clients_rwsem;
	struct list_head clients;
	unsigned int nr_clients;
	struct list_head devices;
	unsigned int nr_devices;
	bool dead;

	unsigned int nr_fd_clients;
	struct vrange_log_entry *log;
	u64 log_tail;
	u64 log_floor;
	u32 log_events;
	u64 log_start;
	u64 log_last;
	bool log_armed;
	wait_queue_head_t log_wait;

	refcount_t users;
	struct list_head node;
	unsigned long type;

	unsigned int id;
	pid_t opener_pid;
	char opener_comm[TASK_COMM_LEN];
	struct vrange_stats stats;
	struct dentry *debugfs;
	struct work_struct revoke_work;
	bool stale_pins_warned;
};

/**
 * struct vrange_domain - an IOMMU domain shared by one or more groups
 * @node: entry in &vrange_iommu.domains
 * @domain: the IOMMU domain; every mapping of the container is in it
 * @nr_groups: groups attached to @domain; 0 for the last domain of a
 *	container kept as the only record of its mappings' PFNs
 * @coherent: the domain enforces cache coherency (IOMMU_CACHE is honoured)
 */
struct vrange_domain {
	struct list_head node;
	struct iommu_domain *domain;
	unsigned int nr_groups;
	bool coherent;
};

/**
 * struct vrange_group - an IOMMU group attached to the container
 * @node: entry in &vrange_iommu.groups
 * @group: the IOMMU group
 * @domain: the domain the group is attached to; NULL for a group of
 *	emulated-IOMMU devices, which do no DMA of their own
 * @bit: a bit of its own in &vrange_iommu.group_ids, to record its pins
 */
struct vrange_group {
	struct list_head node;
	struct iommu_group *group;
	struct vrange_domain *domain;
	u64 bit;
};

/**
 * struct vrange_pin - a page pinned through vfio_pin_pages()
 * @page: the page handed out; one page reference is held per pin, so the
 *	page outlives its mapping while a device may still use it
 * @count: outstanding pins of the page
 * @groups: &vrange_group.bit of every group that pinned it
 */
struct vrange_pin {
	struct page *page;
	unsigned int count;
	u64 groups;
};

/**
 * enum vrange_backing - what a mapping points the IOMMU at
 * @VRANGE_RAM: ordinary memory, pinned and unpinned by physically
 *	contiguous runs
 * @VRANGE_MMIO: a VM_PFNMAP/VM_IO range (a device BAR): PFNs, neither
 *	pinned nor charged
 */
enum vrange_backing {
	VRANGE_RAM,
	VRANGE_MMIO,
};

/**
 * struct vrange_pfn_run - physically contiguous PFNs of a BAR mapping
 * @pfn: first PFN
 * @npages: number of pages
 */
struct vrange_pfn_run {
	unsigned long pfn;
	unsigned long npages;
};

/**
 * struct vrange_mapping - one successful VFIO_IOMMU_RANGE_MAP
 * @node: the extent: the IOVA range the request named. Extents never
 *	overlap; unmap works on them.
 * @iova: first IOVA really mapped
 * @length: bytes really mapped; 0 for a trimmed request that left nothing
 * @vaddr: user address behind @iova
 * @iommu_prot: IOMMU_READ and/or IOMMU_WRITE
 * @backing: what is mapped
 * @removing: an unmap is telling clients about it; no new pins
 * @vaddr_invalid: the user invalidated @vaddr for a live update; DMA
 *	goes on, the mapping waits for its new vaddr. Changed under both
 *	vrange_iommu.op_lock and vrange_iommu.lock
 * @stuck: an IOMMU driver did not remove all of it, so a device may still
 *	reach its pages: they are never unpinned (leaked, not freed)
 * @npages: RAM: number of pages pinned
 * @record: RAM: the pinned PFNs as physically contiguous runs, in IOVA
 *	order, while no IOMMU domain holds them: from pinning until the
 *	mapping is in the container's domains, and for good in a container
 *	that had none then (see vrange_mapping_next_run()). Empty otherwise.
 *	Changed under vrange_iommu.lock once the mapping is in the tree.
 * @gathered: RAM without @record, during an unmap under vrange_iommu.lock:
 *	pages whose runs were read back into the unmap's list before the
 *	domains were unmapped; the rest (after a failed allocation) was
 *	unmapped and unpinned piece by piece already
 * @mm: RAM: the mm whose locked_vm shows the pages (held with mmgrab())
 * @user: RAM: the user charged for the pages against RLIMIT_MEMLOCK (held
 *	with get_uid()), or NULL if the mapping task had CAP_IPC_LOCK
 * @runs: MMIO: the PFNs in IOVA order, as few runs as they allow;
 *	@single_run for a BAR that is one run, as a BAR mapping usually is
 * @nr_runs: MMIO: entries in @runs
 * @max_runs: MMIO: room in @runs
 * @single_run: MMIO: storage for @runs of one run
 * @iommu: MMIO: the container, for @mmu_sub's callback
 * @mmu_sub: MMIO: watches the user mapping of the BAR
 * @mmu_seq: MMIO: @mmu_sub's sequence when the PFNs were looked up
 * @mapped: MMIO: in the domains; under vrange_iommu.revoke_lock
 * @revoked: MMIO: the BAR mapping went away and the IOMMU mapping was
 *	removed with it; under vrange_iommu.revoke_lock
 * @revoke_reported: MMIO: clients were told of the revocation; under
 *	vrange_iommu.op_lock
 * @replayed: MMIO: mapped into a domain being added, not listed yet; under
 *	vrange_iommu.lock
 * @free_node: on the list of mappings to free once no lock is held
 */
struct vrange_mapping {
	struct interval_tree_node node;
	u64 iova;
	u64 length;
	u64 vaddr;
	int iommu_prot;
	enum vrange_backing backing;
	bool removing;
	bool vaddr_invalid;
	bool stuck;

	unsigned long npages;
	struct vrange_runs record;
	unsigned long gathered;
	struct mm_struct *mm;
	struct user_struct *user;

	struct vrange_pfn_run *runs;
	unsigned long nr_runs;
	unsigned long max_runs;
	struct vrange_pfn_run single_run;
	struct vrange_iommu *iommu;
	struct mmu_interval_notifier mmu_sub;
	unsigned long mmu_seq;
	bool mapped;
	bool revoked;
	bool revoke_reported;
	bool replayed;

	struct list_head free_node;
};

/* The smallest IOMMU page size of @iommu, locked: what maps align to. */
static inline u64 vrange_min_pgsize(const struct vrange_iommu *iommu)
{
	return 1ULL << __ffs64(iommu->pgsize_bitmap);
}

static inline u64 vrange_mapping_start(const struct vrange_mapping *map)
{
	return map->iova;
}

/* Only for a mapping with a non-zero length. */
static inline u64 vrange_mapping_last(const struct vrange_mapping *map)
{
	return map->iova + map->length - 1;
}

/* What is mapped is backed by memory or a BAR: never 2^64 bytes. */
static inline u64 vrange_mapping_length(const struct vrange_mapping *map)
{
	return map->length;
}

static inline u64 vrange_extent_start(const struct vrange_mapping *map)
{
	return map->node.start;
}

static inline u64 vrange_extent_last(const struct vrange_mapping *map)
{
	return map->node.last;
}

/**
 * struct vrange_map_req - a map request and what it produced
 * @vaddr: user address of @start
 * @start: first IOVA requested
 * @last: last IOVA requested, inclusive
 * @iommu_prot: IOMMU_READ and/or IOMMU_WRITE
 * @trim: map the largest aligned interior (MMIO only) instead of refusing
 *	an unaligned request
 * @out_start: first IOVA mapped
 * @out_last: last IOVA mapped
 * @out_empty: nothing was mapped (the request was smaller than a page)
 */
struct vrange_map_req {
	u64 vaddr;
	u64 start;
	u64 last;
	int iommu_prot;
	bool trim;
	u64 out_start;
	u64 out_last;
	bool out_empty;
};

/**
 * struct vrange_map_trace - what a map request did, for its trace event
 * @t0: ktime_get_ns() at the start, if the event is enabled, else 0
 * @seq: the operation's sequence number; 0 if it made no event
 * @length: bytes mapped; 0 for an error or an empty trimmed request
 * @backing: &enum vrange_backing, or VRANGE_TRACE_BACKING_NONE (-1) for a
 *	request refused before its memory was looked up
 * @pages: pages pinned (RAM) or looked up (BAR) for a successful request
 * @map_calls: iommu_map() calls made, over all domains and retries
 */
struct vrange_map_trace {
	u64 t0;
	u64 seq;
	u64 length;
	int backing;
	u64 pages;
	unsigned int map_calls;
};

/**
 * struct vrange_unmap_trace - what an unmap did, for its trace event
 * @t0: ktime_get_ns() at the start, if the event is enabled, else 0
 * @wait_ns: time spent waiting for the container's op_lock
 * @seq: the operation's sequence number; 0 if it made no event
 * @unmapped: bytes that were mapped and are removed
 * @mappings: mappings removed
 * @iotlb_syncs: IOTLB flushes asked for
 */
struct vrange_unmap_trace {
	u64 t0;
	u64 wait_ns;
	u64 seq;
	u64 unmapped;
	unsigned int mappings;
	unsigned int iotlb_syncs;
};

#define vrange_for_each_mapping(map, iommu, start, last)                      \
	for (map = vrange_mapping_first(iommu, start, last); map;             \
	     map = vrange_mapping_next(map, start, last))

/* stats.c: work counters */
extern struct vrange_stats vrange_stats;
void vrange_stat_add(struct vrange_iommu *iommu, enum vrange_stat stat,
		     s64 n);
void vrange_stats_show(struct seq_file *s, const struct vrange_stats *stats);

/* A counter of @iommu, read without a lock. */
static inline s64 vrange_stat_read(const struct vrange_iommu *iommu,
				   enum vrange_stat stat)
{
	return atomic64_read(&iommu->stats.v[stat]);
}

/* debugfs.c: the module's directory and one per container */
void vrange_debugfs_init(void);
void vrange_debugfs_exit(void);
void vrange_debugfs_add(struct vrange_iommu *iommu);
void vrange_debugfs_remove(struct vrange_iommu *iommu);

/* module.c */
extern unsigned int vrange_max_mappings;
extern unsigned int vrange_max_clients;
extern bool vrange_allow_unsafe_interrupts;
extern bool vrange_compat_type1;
extern unsigned long vrange_min_iommu_pgsize;

/* pages.c: pinning and locked_vm accounting */
int vrange_pages_pin(struct vrange_mapping *map);
void vrange_pages_unpin_run(struct vrange_mapping *map, unsigned long pfn,
			    unsigned long npages);
void vrange_pages_unpin(struct vrange_mapping *map);
void vrange_pages_drop_record(struct vrange_mapping *map);
void vrange_pages_abandon(struct vrange_mapping *map);
int vrange_pages_rebind(struct vrange_iommu *iommu, struct vrange_mapping *map,
			u64 vaddr);

/* mmio.c: BARs mapped through their user mapping */
bool vrange_vaddr_is_mmio(u64 vaddr);
int vrange_mmio_resolve(struct vrange_iommu *iommu, struct vrange_mapping *map);
int vrange_mmio_install(struct vrange_iommu *iommu, struct vrange_mapping *map);
void vrange_mmio_release(struct vrange_mapping *map);
void vrange_mmio_report_revoked(struct work_struct *work);
int vrange_mmio_rebind(struct vrange_iommu *iommu, struct vrange_mapping *map,
		       u64 vaddr);

/* mapping.c: the IOVA -> pages engine */
struct vrange_mapping *vrange_mapping_first(struct vrange_iommu *iommu,
					    u64 start, u64 last);
struct vrange_mapping *vrange_mapping_next(struct vrange_mapping *map,
					   u64 start, u64 last);
int vrange_map(struct vrange_iommu *iommu, struct vrange_map_req *req);
/**
 * enum vrange_unmap_mode - which extents an unmap removes
 * @VRANGE_UNMAP_EXACT: those inside the range; one that straddles an edge
 *	fails the call (the range uAPI, type1 v2)
 * @VRANGE_UNMAP_V1: type1 v1's rule: none if the first extent meeting the
 *	range begins before it, else all that meet it, whole
 * @VRANGE_UNMAP_RELEASE: everything, at release, whatever devices pin
 */
enum vrange_unmap_mode {
	VRANGE_UNMAP_EXACT,
	VRANGE_UNMAP_V1,
	VRANGE_UNMAP_RELEASE,
};

int vrange_unmap_range(struct vrange_iommu *iommu, u64 start, u64 last,
		       enum vrange_unmap_mode mode, u64 *unmapped);
int vrange_unmap_bounds(struct vrange_iommu *iommu, u64 start, u64 *last,
			enum vrange_unmap_mode mode);
void vrange_unmap_all(struct vrange_iommu *iommu);
struct vrange_mapping *vrange_ram_at(struct vrange_iommu *iommu, u64 iova);

/**
 * struct vrange_run_iter - a walk over the physically contiguous runs of a
 *	mapping (vrange_mapping_next_run()); zeroed to start
 * @pos: RAM with a record: the position in it
 * @off: pages walked
 * @idx: MMIO: the next entry of &vrange_mapping.runs
 */
struct vrange_run_iter {
	struct vrange_runs_pos pos;
	unsigned long off;
	unsigned long idx;
};

bool vrange_mapping_next_run(struct vrange_iommu *iommu,
			     struct vrange_mapping *map,
			     struct vrange_run_iter *it, unsigned long *pfn,
			     unsigned long *npages);
struct page *vrange_ram_page(struct vrange_iommu *iommu,
			     struct vrange_mapping *map, u64 iova);
void vrange_domain_unmap_one(struct vrange_iommu *iommu,
			     struct vrange_mapping *map);
int vrange_domain_add(struct vrange_iommu *iommu, struct vrange_domain *dom);
int vrange_domains_map(struct vrange_iommu *iommu, struct vrange_mapping *map,
		       gfp_t gfp);

/* vaddr.c: live update, a new vaddr for mappings that stay */
bool vrange_vaddr_offered(struct vrange_iommu *iommu);
int vrange_vaddr_invalidate(struct vrange_iommu *iommu, u64 start, u64 last,
			    enum vrange_unmap_mode mode, u64 *bytes);
int vrange_vaddr_update(struct vrange_iommu *iommu, u64 start, u64 last,
			u64 vaddr);

/* iova_space.c: usable IOVA ranges */
bool vrange_iova_usable(const struct vrange_iommu *iommu, u64 start, u64 last);
int vrange_iova_space_compute(struct vrange_iommu *iommu,
			      struct iommu_group *extra_group,
			      struct iommu_domain *extra_domain,
			      struct vfio_iova_range **ranges,
			      unsigned int *nr_ranges);
int vrange_iova_msi_cookie(struct iommu_domain *domain,
			   struct iommu_group *group);
void vrange_iova_space_set(struct vrange_iommu *iommu,
			   struct vfio_iova_range *ranges, unsigned int nr);
bool vrange_mappings_fit(struct vrange_iommu *iommu,
			 const struct vfio_iova_range *ranges,
			 unsigned int nr_ranges, u64 pgsize);

/* container.c: container lifetime, groups and domains */
void *vrange_open(unsigned long type);
void vrange_release(void *iommu_data);
int vrange_attach_group(void *iommu_data, struct iommu_group *group,
			enum vfio_group_type type);
void vrange_detach_group(void *iommu_data, struct iommu_group *group);
bool vrange_coherent(struct vrange_iommu *iommu);
void vrange_domains_prune(struct vrange_iommu *iommu);
void vrange_iommu_put(struct vrange_iommu *iommu);
struct vrange_group *vrange_find_group(struct vrange_iommu *iommu,
				       struct iommu_group *group);
struct vrange_iommu *vrange_iommu_get_by_group(struct iommu_group *group);

/* notify.c: event fan-out to clients */
bool vrange_client_valid(const struct vfio_range_client *client);
int vrange_client_add(struct vrange_iommu *iommu,
		      struct vfio_range_client *client);
void vrange_client_remove(struct vfio_range_client *client);
void vrange_clients_release(struct vrange_iommu *iommu);
void vrange_notify(struct vrange_iommu *iommu, u32 type, u64 seq, u64 start,
		   u64 last);

/* notify_fd.c: userspace clients */
int vrange_notifier_fd_open(struct vrange_iommu *iommu,
			    const struct vfio_range_notifier *cmd);
bool vrange_client_is_fd(const struct vfio_range_client *client);
bool vrange_notifier_fd_overflows(struct vfio_range_client *client,
				  u64 *dropped, u64 *queued);
int vrange_notifier_fd_attach(struct vrange_iommu *iommu,
			      struct vfio_range_client *client);
void vrange_notifier_fd_detach(struct vrange_iommu *iommu,
			       struct vfio_range_client *client);
void vrange_notifier_fd_log(struct vrange_iommu *iommu, u32 type, u64 seq,
			    u64 start, u64 last);

/* emulated.c: emulated-IOMMU devices */
void vrange_register_device(void *iommu_data, struct vfio_device *vdev);
void vrange_unregister_device(void *iommu_data, struct vfio_device *vdev);
int vrange_pin_pages(void *iommu_data, struct iommu_group *group,
		     dma_addr_t user_iova, int npage, int prot,
		     struct page **pages);
void vrange_unpin_pages(void *iommu_data, dma_addr_t user_iova, int npage);
int vrange_dma_rw(void *iommu_data, dma_addr_t user_iova, void *data,
		  size_t count, bool write);
bool vrange_pins_in_range(struct vrange_iommu *iommu, u64 start, u64 last,
			  u64 groups);
void vrange_notify_devices(struct vrange_iommu *iommu, u64 start, u64 last);
void vrange_pins_drop_range(struct vrange_iommu *iommu, u64 start, u64 last);
void vrange_pins_forget_group(struct vrange_iommu *iommu, u64 bit);

/* type1_compat.c: the upstream type1 uAPI over the same engine */
bool vrange_type1_offered(const struct vrange_iommu *iommu);
bool vrange_type1_v1(const struct vrange_iommu *iommu);
int vrange_type1_map_dma(struct vrange_iommu *iommu, void __user *uptr);
int vrange_type1_unmap_dma(struct vrange_iommu *iommu, void __user *uptr);

/* ioctl.c: the uAPI */
long vrange_ioctl(void *iommu_data, unsigned int cmd, unsigned long arg);

#endif /* _VFIO_RANGE_CORE_H */
