// SPDX-License-Identifier: GPL-2.0-only
/*
 * debugfs: vfio_iommu_range/counters (module-wide work counters) and a
 * directory per container, vfio_iommu_range/containers/<id>/, with its
 * type and opener (info), its mappings, its notifier clients and its
 * counters, so an operator can see what a process such as QEMU did.
 *
 * Each file is read under the container's own locks (see struct
 * vrange_iommu), in their usual order: clients_rwsem, then lock. The
 * directory is created when userspace selects the IOMMU type and removed
 * at the start of the release, before the container can be freed: debugfs
 * files made with debugfs_create_file() are removed only once no read is
 * running in them, and fail any later read with -EIO, so a reader racing
 * with the release never sees a freed container.
 */
#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/seq_file.h>
#include <linux/vfio.h>
#include <linux/vfio_range.h>

#include <vfio_range/core.h>

static struct dentry *vrange_debugfs_dir;
static struct dentry *vrange_debugfs_containers;
static atomic_t vrange_next_id;

static int vrange_counters_show(struct seq_file *s, void *unused)
{
	vrange_stats_show(s, &vrange_stats);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vrange_counters);

static const char *vrange_type_name(unsigned long type)
{
	switch (type) {
	case VFIO_RANGE_IOMMU:
		return "VFIO_RANGE_IOMMU";
	case VFIO_TYPE1v2_IOMMU:
		return "VFIO_TYPE1v2_IOMMU";
	case VFIO_TYPE1_IOMMU:
		return "VFIO_TYPE1_IOMMU";
	default:
		return "unknown";
	}
}

static int vrange_info_show(struct seq_file *s, void *unused)
{
	struct vrange_iommu *iommu = s->private;
	unsigned int nr_groups = 0, nr_domains = 0, i;
	struct vrange_domain *dom;
	struct vrange_group *grp;

	seq_printf(s, "id %u\n", iommu->id);
	seq_printf(s, "type %s %#lx\n", vrange_type_name(iommu->type),
		   iommu->type);
	seq_printf(s, "opener %d %s\n", iommu->opener_pid, iommu->opener_comm);

	down_read(&iommu->clients_rwsem);
	mutex_lock(&iommu->lock);
	list_for_each_entry(grp, &iommu->groups, node)
		nr_groups++;
	list_for_each_entry(dom, &iommu->domains, node)
		nr_domains++;
	seq_printf(s, "groups %u\n", nr_groups);
	list_for_each_entry(grp, &iommu->groups, node)
		seq_printf(s, "group %d %s\n", iommu_group_id(grp->group),
			   grp->domain ? "iommu" : "emulated");
	seq_printf(s, "domains %u\n", nr_domains);
	seq_printf(s, "pgsize_bitmap %#llx\n", iommu->pgsize_bitmap);
	for (i = 0; i < iommu->nr_usable; i++)
		seq_printf(s, "usable %#llx-%#llx\n", iommu->usable[i].start,
			   iommu->usable[i].end);
	seq_printf(s, "mappings %u\n", iommu->nr_mappings);
	seq_printf(s, "clients %u\n", iommu->nr_clients);
	seq_printf(s, "emulated_devices %u\n", iommu->nr_devices);
	mutex_unlock(&iommu->lock);
	up_read(&iommu->clients_rwsem);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vrange_info);

static const char *vrange_prot_name(int prot)
{
	switch (prot & (IOMMU_READ | IOMMU_WRITE)) {
	case IOMMU_READ | IOMMU_WRITE:
		return "rw";
	case IOMMU_READ:
		return "r-";
	case IOMMU_WRITE:
		return "-w";
	default:
		return "--";
	}
}

/*
 * One line per mapping: "<extent> mapped <range>|none ram|mmio <prot>"
 * then "pinned <pages>" for RAM or "pfn <pfn>" and the state for a BAR.
 */
/* A BAR's first PFN, its number of runs if it has more than one, state. */
static void vrange_mappings_show_pfns(struct seq_file *s,
				      const struct vrange_mapping *map)
{
	seq_printf(s, " pfn %#lx", map->runs[0].pfn);
	if (map->nr_runs > 1)
		seq_printf(s, " runs %lu", map->nr_runs);
	seq_printf(s, " %s", READ_ONCE(map->revoked) ? "revoked" : "live");
}

static int vrange_mappings_show(struct seq_file *s, void *unused)
{
	struct vrange_iommu *iommu = s->private;
	struct vrange_mapping *map;

	mutex_lock(&iommu->lock);
	vrange_for_each_mapping(map, iommu, 0, U64_MAX) {
		seq_printf(s, "%#llx-%#llx mapped ", vrange_extent_start(map),
			   vrange_extent_last(map));
		if (map->length)
			seq_printf(s, "%#llx-%#llx", vrange_mapping_start(map),
				   vrange_mapping_last(map));
		else
			seq_puts(s, "none");
		seq_printf(s, " %s %s",
			   map->backing == VRANGE_RAM ? "ram" : "mmio",
			   vrange_prot_name(map->iommu_prot));
		if (map->backing == VRANGE_RAM)
			seq_printf(s, " pinned %lu", map->npages);
		else if (map->length)
			vrange_mappings_show_pfns(s, map);
		seq_printf(s, "%s\n", map->removing ? " removing" : "");
	}
	mutex_unlock(&iommu->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vrange_mappings);

static const char *vrange_events_name(u32 events)
{
	switch (events) {
	case VFIO_RANGE_EVENT_MAP:
		return "map";
	case VFIO_RANGE_EVENT_UNMAP:
		return "unmap";
	default:
		return "map,unmap";
	}
}

/*
 * One line per client: "fd" (a VFIO_IOMMU_RANGE_NOTIFIER file), "kernel"
 * (vfio_range_client_register()) or "emulated" (a device's dma_unmap).
 */
static int vrange_clients_show(struct seq_file *s, void *unused)
{
	struct vrange_iommu *iommu = s->private;
	struct vfio_range_client *client;
	struct vfio_device *vdev;
	u64 dropped, queued;
	bool is_fd;

	down_read(&iommu->clients_rwsem);
	list_for_each_entry(client, &iommu->clients, node) {
		is_fd = vrange_notifier_fd_overflows(client, &dropped, &queued);
		seq_printf(s, "%s window %#llx-%#llx events %s granularity %s delivered %llu",
			   is_fd ? "fd" : "kernel", client->start,
			   client->last, vrange_events_name(client->events),
			   client->granularity ==
			   VFIO_RANGE_GRANULARITY_ALIGNED ?
			   "aligned" : "arbitrary",
			   READ_ONCE(client->delivered));
		if (is_fd)
			seq_printf(s, " dropped %llu queued %llu", dropped,
				   queued);
		seq_putc(s, '\n');
	}
	list_for_each_entry(vdev, &iommu->devices, iommu_entry)
		seq_printf(s, "emulated device %s\n", dev_name(vdev->dev));
	up_read(&iommu->clients_rwsem);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vrange_clients);

static int vrange_container_counters_show(struct seq_file *s, void *unused)
{
	struct vrange_iommu *iommu = s->private;

	vrange_stats_show(s, &iommu->stats);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vrange_container_counters);

/**
 * vrange_debugfs_add() - give a new container its debugfs directory
 * @iommu: the container, with @type set; called in the opener's context
 *
 * debugfs is a diagnostic: if it fails the container works without it.
 */
void vrange_debugfs_add(struct vrange_iommu *iommu)
{
	char name[16];

	iommu->id = atomic_inc_return(&vrange_next_id);
	iommu->opener_pid = task_tgid_nr(current);
	get_task_comm(iommu->opener_comm, current);

	snprintf(name, sizeof(name), "%u", iommu->id);
	iommu->debugfs = debugfs_create_dir(name, vrange_debugfs_containers);
	debugfs_create_file("info", 0444, iommu->debugfs, iommu,
			    &vrange_info_fops);
	debugfs_create_file("mappings", 0444, iommu->debugfs, iommu,
			    &vrange_mappings_fops);
	debugfs_create_file("clients", 0444, iommu->debugfs, iommu,
			    &vrange_clients_fops);
	debugfs_create_file("counters", 0444, iommu->debugfs, iommu,
			    &vrange_container_counters_fops);
}

/**
 * vrange_debugfs_remove() - remove a container's debugfs directory
 * @iommu: the container; no lock of it may be held, since this waits for
 *	the reads under way, which take them
 */
void vrange_debugfs_remove(struct vrange_iommu *iommu)
{
	debugfs_remove(iommu->debugfs);
	iommu->debugfs = NULL;
}

void vrange_debugfs_init(void)
{
	vrange_debugfs_dir = debugfs_create_dir("vfio_iommu_range", NULL);
	debugfs_create_file("counters", 0444, vrange_debugfs_dir, NULL,
			    &vrange_counters_fops);
	vrange_debugfs_containers = debugfs_create_dir("containers",
						       vrange_debugfs_dir);
}

void vrange_debugfs_exit(void)
{
	debugfs_remove(vrange_debugfs_dir);
}
