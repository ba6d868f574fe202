// SPDX-License-Identifier: GPL-2.0-only
/*
 * Lists of physically contiguous PFN runs (include/vfio_range/runs.h).
 *
 * A chunk holds twice as many runs as the one before it, from one up to a
 * page's worth: a mapping of one run costs a small allocation, one of many
 * runs a page per VRANGE_RUN_CHUNK_MAX of them.
 */
#include <linux/gfp.h>
#include <linux/overflow.h>
#include <linux/slab.h>

#include <vfio_range/runs.h>

void vrange_runs_init(struct vrange_runs *runs)
{
	INIT_LIST_HEAD(&runs->chunks);
	runs->npages = 0;
	runs->bytes = 0;
	runs->sealed = false;
}

static struct vrange_run_chunk *vrange_runs_last(struct vrange_runs *runs)
{
	if (list_empty(&runs->chunks))
		return NULL;
	return list_last_entry(&runs->chunks, struct vrange_run_chunk, node);
}

/*
 * Full-sized chunks come from the page allocator, not the slab: an unmap
 * or a map frees them at once, and freed slab pages would linger in the
 * kmalloc cache, counted as the module's memory.
 */
static struct vrange_run_chunk *vrange_run_chunk_alloc(unsigned int cap,
						       gfp_t gfp)
{
	if (cap == VRANGE_RUN_CHUNK_MAX)
		return (void *)__get_free_page(gfp);
	return kmalloc(struct_size_t(struct vrange_run_chunk, runs, cap), gfp);
}

/**
 * vrange_runs_add() - append pages to a run list
 * @runs: the list
 * @pfn: first PFN
 * @npages: number of pages, at least 1
 * @gfp: how to allocate a new chunk
 *
 * Pages that continue the last run extend it, unless the list was sealed
 * since.
 *
 * Return: 0, -ENOMEM (a chunk could not be allocated) or -EOVERFLOW (the
 * page count would wrap); on error the list is unchanged.
 */
int vrange_runs_add(struct vrange_runs *runs, unsigned long pfn,
		    unsigned long npages, gfp_t gfp)
{
	struct vrange_run_chunk *chunk = vrange_runs_last(runs);
	unsigned long total;
	unsigned int cap;

	if (check_add_overflow(runs->npages, npages, &total))
		return -EOVERFLOW;
	if (chunk && chunk->nr && !runs->sealed) {
		struct vrange_run *last = &chunk->runs[chunk->nr - 1];

		if (last->pfn + last->npages == pfn &&
		    last->pfn + last->npages > last->pfn) {
			last->npages += npages;
			chunk->npages += npages;
			runs->npages = total;
			return 0;
		}
	}
	if (!chunk || chunk->nr == chunk->cap) {
		cap = chunk ? min_t(unsigned int, chunk->cap * 2,
				    VRANGE_RUN_CHUNK_MAX) : 1;
		chunk = vrange_run_chunk_alloc(cap, gfp);
		if (!chunk)
			return -ENOMEM;
		chunk->npages = 0;
		chunk->nr = 0;
		chunk->cap = cap;
		list_add_tail(&chunk->node, &runs->chunks);
		runs->bytes += cap == VRANGE_RUN_CHUNK_MAX ? PAGE_SIZE :
			       struct_size(chunk, runs, cap);
	}
	chunk->runs[chunk->nr].pfn = pfn;
	chunk->runs[chunk->nr].npages = npages;
	chunk->nr++;
	chunk->npages += npages;
	runs->npages = total;
	runs->sealed = false;
	return 0;
}

/* What is added next belongs to something else: never merge it. */
void vrange_runs_seal(struct vrange_runs *runs)
{
	runs->sealed = true;
}

/* Frees every chunk; the list is then empty and can be used again. */
void vrange_runs_free(struct vrange_runs *runs)
{
	struct vrange_run_chunk *chunk, *next;

	list_for_each_entry_safe(chunk, next, &runs->chunks, node) {
		if (chunk->cap == VRANGE_RUN_CHUNK_MAX)
			free_page((unsigned long)chunk);
		else
			kfree(chunk);
	}
	vrange_runs_init(runs);
}

/**
 * vrange_runs_next() - the next run of a list
 * @runs: the list
 * @pos: the position, zeroed to start; advanced
 * @run: output: the run
 *
 * Return: false after the last run.
 */
bool vrange_runs_next(struct vrange_runs *runs,
		      struct vrange_runs_pos *pos, struct vrange_run *run)
{
	struct vrange_run_chunk *chunk = pos->chunk;

	if (!chunk)
		chunk = list_first_entry_or_null(&runs->chunks,
						 struct vrange_run_chunk, node);
	while (chunk && pos->idx == chunk->nr) {
		chunk = list_is_last(&chunk->node, &runs->chunks) ? NULL :
			list_next_entry(chunk, node);
		pos->idx = 0;
	}
	pos->chunk = chunk;
	if (!chunk)
		return false;
	*run = chunk->runs[pos->idx++];
	return true;
}

/**
 * vrange_runs_pfn_at() - the PFN of one page of a list
 * @runs: the list
 * @pgoff: the page's index among all pages of the list
 * @pfn: output: its PFN
 *
 * Walks the chunks (each covers up to VRANGE_RUN_CHUNK_MAX runs), then the
 * runs of one.
 *
 * Return: false if @pgoff is past the last page.
 */
bool vrange_runs_pfn_at(struct vrange_runs *runs, unsigned long pgoff,
			unsigned long *pfn)
{
	struct vrange_run_chunk *chunk;
	unsigned int i;

	list_for_each_entry(chunk, &runs->chunks, node) {
		if (pgoff >= chunk->npages) {
			pgoff -= chunk->npages;
			continue;
		}
		for (i = 0; i < chunk->nr; i++) {
			if (pgoff < chunk->runs[i].npages) {
				*pfn = chunk->runs[i].pfn + pgoff;
				return true;
			}
			pgoff -= chunk->runs[i].npages;
		}
	}
	return false;
}
