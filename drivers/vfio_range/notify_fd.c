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
 *
 * An operation does not visit these clients: it appends each range once to
 * the container's event log (vrange_notifier_fd_log()), and a client's
 * reader expands the entries past its cursor into its queue (clipped to
 * its window, filtered, split into aligned blocks, under the rule above)
 * before it looks at the queue: in read(), poll(), the debugfs clients file
 * and at close. Between two such catch-ups only events arrive and nothing
 * leaves the queue, so applying the rule late gives the records, the
 * overflow record and its count that applying it on arrival gave. When an
 * entry would overwrite one that some client has not expanded yet, the
 * appender first catches every lagging client up (vrange_log_make_room()):
 * a client that never reads holds its queue and no more.
 *
 * Locking: a client's lock protects its queue and its cursor; read_lock
 * serialises its readers, the only ones that take records off the queue.
 * The log needs no lock: only the task holding the container's op_lock
 * appends, into a slot no cursor still points at (@log_floor), and
 * publishes it with a release store of log_tail; a catch-up reads the
 * entries below the log_tail it loaded and then moves its cursor with a
 * release store, before which the appender does not reuse them.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/minmax.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/vfio_range.h>
#include <linux/wait.h>

#include <vfio_range/core.h>
#include <vfio_range/range.h>
#include <vfio_range/trace.h>

#define VRANGE_QUEUE_DEFAULT	256
#define VRANGE_QUEUE_MAX	65536
/* Log entries expanded per hold of a client's lock: bounds its hold time. */
#define VRANGE_CATCH_UP_BATCH	256
/* Records copied out per user-access window. */
#define VRANGE_READ_BATCH	256

/**
 * struct vrange_notifier_file - one userspace client
 * @client: the registration; @client.iommu is NULL until registered
 * @read_lock: serialises readers
 * @lock: protects the queue fields below and @cursor
 * @ring: the queue, @capacity records
 * @capacity: slots in @ring, the last one kept for an overflow record
 * @head: index of the oldest record
 * @count: records queued
 * @overflowed: an overflow record is queued and not read yet
 * @lost: events dropped since the queued overflow record was queued
 * @dropped: events dropped since the client was opened, for debugfs
 * @cursor: position in the container's event log of the first entry not
 *	expanded into the queue yet; read without the lock by the appender
 * @released: the container is gone; once the queue is empty and the log
 *	expanded, read() returns 0 and poll() EPOLLHUP
 */
struct vrange_notifier_file {
	struct vfio_range_client client;
	struct mutex read_lock;		/* see above */
	spinlock_t lock;		/* see above */
	struct vfio_range_event *ring;
	unsigned int capacity;
	unsigned int head;
	unsigned int count;
	bool overflowed;
	u64 lost;
	u64 dropped;
	u64 cursor;
	bool released;
};

static struct vrange_notifier_file *
vrange_nf(struct vfio_range_client *client)
{
	return container_of(client, struct vrange_notifier_file, client);
}

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

/* Queues one event, or counts it lost under the overflow rule; nf->lock. */
static void vrange_queue_event(struct vrange_notifier_file *nf, u32 type,
			       u64 seq, u64 start, u64 last, u64 mask)
{
	struct vfio_range_event *r;

	if (nf->overflowed || nf->count == nf->capacity - 1) {
		vrange_queue_overflow(nf, 1);
		return;
	}
	/*
	 * Field by field: the record has no padding, and a compound literal
	 * costs a string store to clear it first, once per event.
	 */
	BUILD_BUG_ON(sizeof(*r) != 2 * sizeof(u32) + 5 * sizeof(u64));
	r = vrange_queue_tail(nf);
	r->type = type;
	r->flags = 0;
	r->seq = seq;
	r->start = start;
	r->last = last;
	r->addr_mask = mask;
	r->lost = 0;
	nf->count++;
}

struct vrange_expansion {
	struct vrange_notifier_file *nf;
	const struct vrange_log_entry *e;
};

static void vrange_expand_block(u64 start, u64 mask, void *arg)
{
	struct vrange_expansion *x = arg;

	vrange_queue_event(x->nf, x->e->type, x->e->seq, start, start | mask,
			   mask);
}

/*
 * Puts the events one log entry makes for @nf into its queue, as their
 * delivery did before the log existed; nf->lock held. Returns them.
 */
static unsigned int vrange_expand(struct vrange_notifier_file *nf,
				  const struct vrange_log_entry *e)
{
	struct vfio_range_client *client = &nf->client;
	struct vrange_expansion x = { .nf = nf, .e = e };
	u64 t0, s, l, dropped = nf->dropped;
	unsigned int count;

	if (!(client->events & e->type) ||
	    !vrange_ranges_overlap(e->start, e->last, client->start,
				   client->last))
		return 0;

	s = max(e->start, client->start);
	l = min(e->last, client->last);
	t0 = vrange_trace_clock(vfio_range_notify);
	if (client->granularity == VFIO_RANGE_GRANULARITY_ALIGNED) {
		count = vrange_split_aligned(s, l, vrange_expand_block, &x);
	} else {
		vrange_queue_event(nf, e->type, e->seq, s, l, 0);
		count = 1;
	}
	trace_vfio_range_notify(client->iommu, client, e->type, e->seq, s, l,
				count, t0);
	if (nf->dropped != dropped)
		trace_vfio_range_overflow(client->iommu, client, e->seq,
					  nf->dropped - dropped, nf->dropped,
					  nf->count);
	return count;
}

/* Expands up to @max log entries past @nf's cursor; nf->lock held. */
static void vrange_catch_up(struct vrange_notifier_file *nf, u64 max)
{
	struct vrange_iommu *iommu = nf->client.iommu;
	/* Pairs with vrange_notifier_fd_log(): the entries are written. */
	u64 tail = smp_load_acquire(&iommu->log_tail);
	u64 pos, end, events = 0;

	lockdep_assert_held(&nf->lock);
	end = tail - nf->cursor > max ? nf->cursor + max : tail;
	for (pos = nf->cursor; pos != end; pos++)
		events += vrange_expand(nf,
					&iommu->log[pos % VRANGE_LOG_LEN]);
	/* Pairs with vrange_log_make_room(): read before they are reused. */
	smp_store_release(&nf->cursor, end);
	if (events) {
		WRITE_ONCE(nf->client.delivered,
			   nf->client.delivered + events);
		vrange_stat_add(iommu, VRANGE_STAT_NOTIFY_EVENTS, events);
	}
}

/*
 * Catches @nf up with what the log holds now, a batch per hold of its
 * lock: operations logging meanwhile cannot keep it going. May sleep.
 */
static void vrange_nf_sync(struct vrange_notifier_file *nf)
{
	/* Pairs with vrange_notifier_fd_log(): the entries are written. */
	u64 target = smp_load_acquire(&nf->client.iommu->log_tail);
	bool done;

	for (;;) {
		spin_lock(&nf->lock);
		vrange_catch_up(nf, VRANGE_CATCH_UP_BATCH);
		done = (s64)(nf->cursor - target) >= 0;
		spin_unlock(&nf->lock);
		if (done)
			return;
		cond_resched();
	}
}

/* A reader may find records: wake it, or let it look again and sleep. */
static bool vrange_nf_woken(struct vrange_notifier_file *nf)
{
	struct vrange_iommu *iommu = nf->client.iommu;

	/* Pairs with vrange_notifier_fd_log(): it wakes us or we see it. */
	smp_store_mb(iommu->log_armed, true);
	if (READ_ONCE(nf->count) || READ_ONCE(nf->released))
		return true;
	/* Pairs with vrange_notifier_fd_log(): the entries are written. */
	return READ_ONCE(nf->cursor) != smp_load_acquire(&iommu->log_tail);
}

/* Whether read() would return records now. */
static bool vrange_nf_pending(struct vrange_notifier_file *nf)
{
	vrange_nf_sync(nf);
	if (READ_ONCE(nf->count))
		return true;
	/* None: ask for a wakeup by the next entry, then look again. */
	smp_store_mb(nf->client.iommu->log_armed, true);
	vrange_nf_sync(nf);
	return READ_ONCE(nf->count);
}

/*
 * Points @src at up to @max records at the head of the queue that read()
 * copies out without the lock; an overflow record is taken off the queue
 * at once, into @ovf, with its count. nf->lock held. Returns how many.
 */
static unsigned int vrange_queue_peek(struct vrange_notifier_file *nf,
				      unsigned int max,
				      struct vfio_range_event *ovf,
				      const struct vfio_range_event **src)
{
	unsigned int n;

	if (!nf->count)
		return 0;
	if (nf->ring[nf->head].type == VFIO_RANGE_EVENT_OVERFLOW) {
		*ovf = nf->ring[nf->head];
		ovf->lost = nf->lost;
		nf->overflowed = false;
		nf->lost = 0;
		nf->head = (nf->head + 1) % nf->capacity;
		nf->count--;
		*src = ovf;
		return 1;
	}
	/* The overflow record, if any, is the last one: it waits its turn. */
	n = min3(max, nf->count - nf->overflowed, nf->capacity - nf->head);
	*src = &nf->ring[nf->head];
	return n;
}

/*
 * Copies @n records to @dst one at a time, so that after a fault it knows
 * how many arrived whole. Returns that number.
 */
static unsigned int vrange_copy_records(char __user *dst,
					const struct vfio_range_event *src,
					unsigned int n)
{
	const size_t rec = sizeof(*src);
	unsigned int i = 0;

	if (!user_access_begin(dst, n * rec))
		return 0;
	for (; i < n; i++)
		unsafe_copy_to_user(dst + i * rec, (const char *)&src[i], rec,
				    out);
out:
	user_access_end();
	return i;
}

static ssize_t vrange_notifier_fd_read(struct file *file, char __user *buf,
				       size_t len, loff_t *ppos)
{
	struct vrange_notifier_file *nf = file->private_data;
	struct vrange_iommu *iommu = nf->client.iommu;
	const size_t rec = sizeof(struct vfio_range_event);
	const struct vfio_range_event *src;
	struct vfio_range_event ovf;
	unsigned int n, copied;
	size_t done = 0;
	int rc = 0;

	if (len < rec)
		return -EINVAL;

	if (mutex_lock_interruptible(&nf->read_lock))
		return -ERESTARTSYS;
	while (!vrange_nf_pending(nf)) {
		mutex_unlock(&nf->read_lock);
		/* Pairs with vrange_notifier_fd_released(): all logged. */
		if (smp_load_acquire(&nf->released)) {
			if (!vrange_nf_pending(nf))
				return 0;
		} else {
			if (file->f_flags & O_NONBLOCK)
				return -EAGAIN;
			rc = wait_event_interruptible(iommu->log_wait,
						      vrange_nf_woken(nf));
			if (rc)
				return rc;
		}
		if (mutex_lock_interruptible(&nf->read_lock))
			return -ERESTARTSYS;
	}

	while (len - done >= rec) {
		spin_lock(&nf->lock);
		vrange_catch_up(nf, U64_MAX);
		n = vrange_queue_peek(nf, min_t(size_t, VRANGE_READ_BATCH,
						(len - done) / rec),
				      &ovf, &src);
		spin_unlock(&nf->lock);
		if (!n)
			break;
		/* Only this reader takes records off: they stay put. */
		copied = vrange_copy_records(buf + done, src, n);
		/* Whole records that arrived count as read, as for read(2). */
		done += copied * rec;
		spin_lock(&nf->lock);
		if (src != &ovf) {
			nf->head = (nf->head + n) % nf->capacity;
			nf->count -= n;
		}
		/*
		 * Records that did not reach the reader are gone: say so with
		 * an overflow record, never lose them silently.
		 */
		if (copied < n) {
			vrange_catch_up(nf, U64_MAX);
			vrange_queue_overflow(nf, src == &ovf ? ovf.lost :
					      n - copied);
		}
		spin_unlock(&nf->lock);
		if (copied < n) {
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

	poll_wait(file, &nf->client.iommu->log_wait, wait);
	/* Pairs with vrange_notifier_fd_released(): all logged. */
	if (smp_load_acquire(&nf->released))
		mask |= EPOLLHUP;
	if (vrange_nf_pending(nf))
		mask |= EPOLLIN | EPOLLRDNORM;
	return mask;
}

/* Its last events are logged: wake readers to read them, then EOF. */
static void vrange_notifier_fd_released(struct vfio_range_client *client)
{
	struct vrange_notifier_file *nf = vrange_nf(client);

	/* Orders the last entries before the flag for lockless readers. */
	smp_store_release(&nf->released, true);
	wake_up_interruptible_poll(&client->iommu->log_wait, EPOLLHUP);
}

/*
 * Never called: vrange_notify() logs events for userspace clients instead.
 * It makes them valid clients and tells them apart.
 */
static void vrange_notifier_fd_event(struct vfio_range_client *client,
				     const struct vfio_range_notification *n)
{
	WARN_ON_ONCE(1);
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
 * Catches the client up with the event log first, so the outputs and
 * &vfio_range_client.delivered count every event logged so far.
 *
 * Context: process context; may sleep.
 * Return: true if @client is a userspace client (the outputs are set).
 */
bool vrange_notifier_fd_overflows(struct vfio_range_client *client,
				  u64 *dropped, u64 *queued)
{
	struct vrange_notifier_file *nf;

	if (!vrange_client_is_fd(client))
		return false;
	nf = vrange_nf(client);
	vrange_nf_sync(nf);
	spin_lock(&nf->lock);
	*dropped = nf->dropped;
	*queued = nf->count;
	spin_unlock(&nf->lock);
	return true;
}

/*
 * The log keeps what the userspace clients listen to: the union of their
 * event masks and the hull of their windows. Entries outside it concern
 * none of them and are not logged. This adds @client to it.
 */
static void vrange_log_widen(struct vrange_iommu *iommu,
			     const struct vfio_range_client *client)
{
	iommu->log_events |= client->events;
	iommu->log_start = min(iommu->log_start, client->start);
	iommu->log_last = max(iommu->log_last, client->last);
}

/* Recomputes the log's scope from the userspace clients but @except. */
static void vrange_log_scope(struct vrange_iommu *iommu,
			     const struct vfio_range_client *except)
{
	struct vfio_range_client *client;

	iommu->log_events = 0;
	iommu->log_start = U64_MAX;
	iommu->log_last = 0;
	list_for_each_entry(client, &iommu->clients, node)
		if (client != except && vrange_client_is_fd(client))
			vrange_log_widen(iommu, client);
}

/**
 * vrange_notifier_fd_attach() - a userspace client is being registered
 * @iommu: its container, clients_rwsem held for writing
 * @client: the client
 *
 * The first one allocates the container's event log. The client starts at
 * the end of the log: it hears of later operations only.
 *
 * Return: 0, or -ENOMEM with nothing changed.
 */
int vrange_notifier_fd_attach(struct vrange_iommu *iommu,
			      struct vfio_range_client *client)
{
	lockdep_assert_held_write(&iommu->clients_rwsem);
	if (!iommu->nr_fd_clients) {
		iommu->log = kvcalloc(VRANGE_LOG_LEN, sizeof(*iommu->log),
				      GFP_KERNEL_ACCOUNT);
		if (!iommu->log)
			return -ENOMEM;
		iommu->log_floor = iommu->log_tail;
	}
	if (!iommu->nr_fd_clients++)
		vrange_log_scope(iommu, client);
	vrange_log_widen(iommu, client);
	/* No operation runs: log_tail is stable under clients_rwsem. */
	vrange_nf(client)->cursor = iommu->log_tail;
	return 0;
}

/**
 * vrange_notifier_fd_detach() - a userspace client is being unregistered
 * @iommu: its container, clients_rwsem held for writing
 * @client: the client
 *
 * The client takes in what the log holds for it, so what it was handed
 * is final; the last one frees the log.
 */
void vrange_notifier_fd_detach(struct vrange_iommu *iommu,
			       struct vfio_range_client *client)
{
	lockdep_assert_held_write(&iommu->clients_rwsem);
	vrange_nf_sync(vrange_nf(client));
	if (!--iommu->nr_fd_clients) {
		kvfree(iommu->log);
		iommu->log = NULL;
	}
	vrange_log_scope(iommu, client);
}

/*
 * The log is full up to the oldest cursor: find the real oldest, and if a
 * client lags by the whole log, expand its entries into its queue now, as
 * delivery on arrival would have, so the slots can be reused.
 */
static void vrange_log_make_room(struct vrange_iommu *iommu)
{
	struct vfio_range_client *client;
	u64 floor = iommu->log_tail, cursor;

	list_for_each_entry(client, &iommu->clients, node) {
		if (!vrange_client_is_fd(client))
			continue;
		/* Pairs with vrange_catch_up(): done with the entries below. */
		cursor = smp_load_acquire(&vrange_nf(client)->cursor);
		floor = min(floor, cursor);
	}
	if (iommu->log_tail - floor == VRANGE_LOG_LEN) {
		list_for_each_entry(client, &iommu->clients, node)
			if (vrange_client_is_fd(client))
				vrange_nf_sync(vrange_nf(client));
		floor = iommu->log_tail;
	}
	iommu->log_floor = floor;
}

/**
 * vrange_notifier_fd_log() - record one range of an operation for the
 *	userspace clients
 * @iommu: the container; op_lock held, and clients_rwsem for reading
 * @type: VFIO_RANGE_EVENT_MAP, VFIO_RANGE_EVENT_UNMAP or
 *	VFIO_RANGE_EVENT_REVOKED
 * @seq: sequence number of the operation
 * @start: first IOVA
 * @last: last IOVA, inclusive
 *
 * Recorded once whatever the number of clients, if one of them can want
 * it; each expands it when it reads. Nothing is allocated: no event is
 * ever lost for memory.
 */
void vrange_notifier_fd_log(struct vrange_iommu *iommu, u32 type, u64 seq,
			    u64 start, u64 last)
{
	struct vrange_log_entry *e;

	lockdep_assert_held(&iommu->op_lock);
	lockdep_assert_held_read(&iommu->clients_rwsem);
	if (!(iommu->log_events & type) ||
	    !vrange_ranges_overlap(start, last, iommu->log_start,
				   iommu->log_last))
		return;
	if (iommu->log_tail - iommu->log_floor == VRANGE_LOG_LEN)
		vrange_log_make_room(iommu);
	e = &iommu->log[iommu->log_tail % VRANGE_LOG_LEN];
	e->seq = seq;
	e->start = start;
	e->last = last;
	e->type = type;
	/* Pairs with vrange_catch_up(): the entry is written first. */
	smp_store_release(&iommu->log_tail, iommu->log_tail + 1);
	/* Pairs with vrange_nf_woken(): a waiter sees the entry or is woken. */
	smp_mb();
	if (READ_ONCE(iommu->log_armed)) {
		WRITE_ONCE(iommu->log_armed, false);
		wake_up_interruptible_poll(&iommu->log_wait,
					   EPOLLIN | EPOLLRDNORM);
	}
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
