// SPDX-License-Identifier: GPL-2.0-only
/*
 * Userspace notifier clients: a file descriptor per client, read() returns
 * struct vfio_range_event records from a bounded queue.
 *
 * The queue keeps its last slot for an overflow record: when an event
 * finds only that slot free, the overflow record takes it and the event is
 * dropped, as is every later one until the reader has consumed the
 * overflow record, which then carries the number of events lost. So a
 * reader always learns that it lost events, at the point it lost them.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/vfio_range.h>
#include <linux/wait.h>

#include <vfio_range/core.h>

#define VRANGE_QUEUE_DEFAULT	256
#define VRANGE_QUEUE_MAX	65536
/* Records moved to userspace per copy: bounds the on-stack bounce buffer. */
#define VRANGE_READ_BATCH	8

/**
 * struct vrange_notifier_file - one userspace client
 * @client: the registration; @client.iommu is NULL until registered
 * @read_lock: serialises readers
 * @lock: protects the queue fields below
 * @wait: readers and pollers waiting for records
 * @ring: the queue, @capacity records
 * @capacity: slots in @ring, the last one kept for an overflow record
 * @head: index of the oldest record
 * @count: records queued
 * @overflowed: an overflow record is queued and not read yet
 * @lost: events dropped since the queued overflow record was queued
 * @dropped: events dropped since the client was opened, for debugfs
 * @released: the container is gone; once the queue is empty, read()
 *	returns 0 and poll() EPOLLHUP
 */
struct vrange_notifier_file {
	struct vfio_range_client client;
	struct mutex read_lock;		/* see above */
	spinlock_t lock;		/* see above */
	wait_queue_head_t wait;
	struct vfio_range_event *ring;
	unsigned int capacity;
	unsigned int head;
	unsigned int count;
	bool overflowed;
	u64 lost;
	u64 dropped;
	bool released;
};

static struct vfio_range_event *
vrange_queue_tail(struct vrange_notifier_file *nf)
{
	unsigned int tail = nf->head + nf->count;

	/* head and count are below capacity: one wrap at most. */
	if (tail >= nf->capacity)
		tail -= nf->capacity;
	return &nf->ring[tail];
}

/* Queues an overflow record for @lost events; nf->lock held. */
static void vrange_queue_overflow(struct vrange_notifier_file *nf, u64 lost)
{
	nf->dropped += lost;
	if (nf->overflowed) {
		nf->lost += lost;
		return;
	}
	*vrange_queue_tail(nf) = (struct vfio_range_event){
		.type = VFIO_RANGE_EVENT_OVERFLOW,
		.start = nf->client.start,
		.last = nf->client.last,
	};
	nf->count++;
	nf->overflowed = true;
	nf->lost = lost;
}

static void vrange_notifier_fd_event(struct vfio_range_client *client,
				     const struct vfio_range_notification *n)
{
	struct vrange_notifier_file *nf =
		container_of(client, struct vrange_notifier_file, client);
	bool was_empty;

	spin_lock(&nf->lock);
	was_empty = !nf->count;
	if (nf->overflowed || nf->count == nf->capacity - 1) {
		vrange_queue_overflow(nf, 1);
	} else {
		*vrange_queue_tail(nf) = (struct vfio_range_event){
			.type = n->type,
			.seq = n->seq,
			.start = n->start,
			.last = n->last,
			.addr_mask = n->addr_mask,
		};
		nf->count++;
	}
	spin_unlock(&nf->lock);
	/*
	 * Only a reader or poller that found the queue empty waits, so only
	 * the first record needs a wakeup: an unmap queues thousands.
	 */
	if (was_empty)
		wake_up_interruptible_poll(&nf->wait, EPOLLIN | EPOLLRDNORM);
}

/* Takes up to @max records off the queue into @out. */
static unsigned int vrange_queue_pop(struct vrange_notifier_file *nf,
				     struct vfio_range_event *out,
				     unsigned int max)
{
	unsigned int n = 0;

	spin_lock(&nf->lock);
	while (n < max && nf->count) {
		out[n] = nf->ring[nf->head];
		if (out[n].type == VFIO_RANGE_EVENT_OVERFLOW) {
			out[n].lost = nf->lost;
			nf->overflowed = false;
			nf->lost = 0;
		}
		nf->head = (nf->head + 1) % nf->capacity;
		nf->count--;
		n++;
	}
	spin_unlock(&nf->lock);
	return n;
}

/*
 * Records taken off the queue that did not reach the reader: they are gone,
 * so say so with an overflow record, never lose them silently.
 */
static void vrange_queue_lost(struct vrange_notifier_file *nf,
			      const struct vfio_range_event *recs,
			      unsigned int n)
{
	u64 lost = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		lost += recs[i].type == VFIO_RANGE_EVENT_OVERFLOW ?
			recs[i].lost : 1;
	spin_lock(&nf->lock);
	vrange_queue_overflow(nf, lost);
	spin_unlock(&nf->lock);
}

static ssize_t vrange_notifier_fd_read(struct file *file, char __user *buf,
				       size_t len, loff_t *ppos)
{
	struct vrange_notifier_file *nf = file->private_data;
	struct vfio_range_event batch[VRANGE_READ_BATCH];
	const size_t rec = sizeof(batch[0]);
	size_t done = 0, left;
	unsigned int copied;
	int rc = 0;

	if (len < rec)
		return -EINVAL;

	if (mutex_lock_interruptible(&nf->read_lock))
		return -ERESTARTSYS;
	while (!READ_ONCE(nf->count)) {
		mutex_unlock(&nf->read_lock);
		/* Pairs with vrange_notifier_fd_released(): all queued. */
		if (smp_load_acquire(&nf->released)) {
			if (!READ_ONCE(nf->count))
				return 0;
		} else {
			if (file->f_flags & O_NONBLOCK)
				return -EAGAIN;
			rc = wait_event_interruptible(nf->wait,
						      READ_ONCE(nf->count) ||
						      READ_ONCE(nf->released));
			if (rc)
				return rc;
		}
		if (mutex_lock_interruptible(&nf->read_lock))
			return -ERESTARTSYS;
	}

	while (len - done >= rec) {
		unsigned int n = vrange_queue_pop(nf, batch,
				min_t(size_t, VRANGE_READ_BATCH,
				      (len - done) / rec));

		if (!n)
			break;
		left = copy_to_user(buf + done, batch, n * rec);
		/* Whole records that arrived count as read, as for read(2). */
		copied = (n * rec - left) / rec;
		done += copied * rec;
		if (left) {
			vrange_queue_lost(nf, batch + copied, n - copied);
			rc = -EFAULT;
			break;
		}
	}
	mutex_unlock(&nf->read_lock);
	return done ? done : rc;
}

static __poll_t vrange_notifier_fd_poll(struct file *file, poll_table *wait)
{
	struct vrange_notifier_file *nf = file->private_data;
	__poll_t mask = 0;

	poll_wait(file, &nf->wait, wait);
	/* Pairs with vrange_notifier_fd_released(): all queued. */
	if (smp_load_acquire(&nf->released))
		mask |= EPOLLHUP;
	if (READ_ONCE(nf->count))
		mask |= EPOLLIN | EPOLLRDNORM;
	return mask;
}

/* Its last events are queued: wake readers to read them, then EOF. */
static void vrange_notifier_fd_released(struct vfio_range_client *client)
{
	struct vrange_notifier_file *nf =
		container_of(client, struct vrange_notifier_file, client);

	/* Orders the last records before the flag for lockless readers. */
	smp_store_release(&nf->released, true);
	wake_up_interruptible_poll(&nf->wait, EPOLLHUP);
}

static void vrange_notifier_file_free(struct vrange_notifier_file *nf)
{
	kvfree(nf->ring);
	mutex_destroy(&nf->read_lock);
	kfree(nf);
}

static int vrange_notifier_fd_release(struct inode *inode, struct file *file)
{
	struct vrange_notifier_file *nf = file->private_data;

	if (nf->client.iommu)
		vrange_client_remove(&nf->client);
	vrange_notifier_file_free(nf);
	return 0;
}

static const struct file_operations vrange_notifier_fops = {
	.owner = THIS_MODULE,
	.read = vrange_notifier_fd_read,
	.poll = vrange_notifier_fd_poll,
	.release = vrange_notifier_fd_release,
	.llseek = noop_llseek,
};

static struct vrange_notifier_file *
vrange_notifier_file_alloc(const struct vfio_range_notifier *cmd)
{
	unsigned int capacity = cmd->queue_len ?: VRANGE_QUEUE_DEFAULT;
	const struct vfio_range_client wanted = {
		.start = cmd->start,
		.last = cmd->last,
		.events = cmd->events,
		.granularity = cmd->granularity,
		.notify = vrange_notifier_fd_event,
	};
	struct vrange_notifier_file *nf;

	/* Every bad field is EINVAL before anything is allocated. */
	if (capacity < 2 || capacity > VRANGE_QUEUE_MAX ||
	    !vrange_client_valid(&wanted))
		return ERR_PTR(-EINVAL);

	nf = kzalloc(sizeof(*nf), GFP_KERNEL_ACCOUNT);
	if (!nf)
		return ERR_PTR(-ENOMEM);
	nf->ring = kvcalloc(capacity, sizeof(*nf->ring), GFP_KERNEL_ACCOUNT);
	if (!nf->ring) {
		kfree(nf);
		return ERR_PTR(-ENOMEM);
	}
	nf->capacity = capacity;
	mutex_init(&nf->read_lock);
	spin_lock_init(&nf->lock);
	init_waitqueue_head(&nf->wait);
	nf->client = wanted;
	nf->client.released = vrange_notifier_fd_released;
	return nf;
}

/**
 * vrange_client_is_fd() - whether a client is a userspace client
 * @client: a client
 *
 * Return: true if @client belongs to a VFIO_IOMMU_RANGE_NOTIFIER file.
 */
bool vrange_client_is_fd(const struct vfio_range_client *client)
{
	return client->notify == vrange_notifier_fd_event;
}

/**
 * vrange_notifier_fd_overflows() - queue state of a userspace client
 * @client: a registered client
 * @dropped: output: events dropped because its queue was full
 * @queued: output: records waiting to be read
 *
 * Return: true if @client is a userspace client (the outputs are set).
 */
bool vrange_notifier_fd_overflows(const struct vfio_range_client *client,
				  u64 *dropped, u64 *queued)
{
	struct vrange_notifier_file *nf;

	if (!vrange_client_is_fd(client))
		return false;
	nf = container_of(client, struct vrange_notifier_file, client);
	spin_lock(&nf->lock);
	*dropped = nf->dropped;
	*queued = nf->count;
	spin_unlock(&nf->lock);
	return true;
}

/**
 * vrange_notifier_fd_open() - VFIO_IOMMU_RANGE_NOTIFIER
 * @iommu: the container
 * @cmd: the request, copied in and checked for unknown bits
 *
 * Return: a new file descriptor, or a negative errno with nothing
 * registered.
 */
int vrange_notifier_fd_open(struct vrange_iommu *iommu,
			    const struct vfio_range_notifier *cmd)
{
	struct vrange_notifier_file *nf;
	struct file *file;
	int fd, rc;

	if (cmd->flags || cmd->__reserved)
		return -EINVAL;

	nf = vrange_notifier_file_alloc(cmd);
	if (IS_ERR(nf))
		return PTR_ERR(nf);

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		vrange_notifier_file_free(nf);
		return fd;
	}
	file = anon_inode_getfile("[vfio-range-notifier]",
				  &vrange_notifier_fops, nf, O_RDONLY);
	if (IS_ERR(file)) {
		rc = PTR_ERR(file);
		goto err_fd;
	}

	/* Registered last: from here on the client may receive events. */
	rc = vrange_client_add(iommu, &nf->client);
	if (rc) {
		fput(file);	/* frees nf through release */
		put_unused_fd(fd);
		return rc;
	}
	fd_install(fd, file);
	return fd;

err_fd:
	put_unused_fd(fd);
	vrange_notifier_file_free(nf);
	return rc;
}
