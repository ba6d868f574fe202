/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Lists of physically contiguous PFN runs, kept in chunks that grow to a
 * page each, so no allocation is proportional to the memory they describe.
 * What pinning gathers, what a mapping without an IOMMU domain keeps, and
 * what an unmap reads back before it unpins (pages.c, mapping.c). Shared
 * with the KUnit tests.
 */
#ifndef _VFIO_RANGE_RUNS_H
#define _VFIO_RANGE_RUNS_H

#include <linux/gfp.h>
#include <linux/list.h>
#include <linux/types.h>

/**
 * struct vrange_run - physically contiguous pages
 * @pfn: first PFN
 * @npages: number of pages
 */
struct vrange_run {
	unsigned long pfn;
	unsigned long npages;
};

/**
 * struct vrange_run_chunk - one allocation of runs
 * @node: entry in &vrange_runs.chunks
 * @npages: pages its runs cover
 * @nr: runs used
 * @cap: room in @runs
 * @runs: the runs, in order
 */
struct vrange_run_chunk {
	struct list_head node;
	unsigned long npages;
	unsigned int nr;
	unsigned int cap;
	struct vrange_run runs[];
};

/* Runs in a page-sized chunk: the most a chunk holds. */
#define VRANGE_RUN_CHUNK_MAX						\
	((PAGE_SIZE - sizeof(struct vrange_run_chunk)) /		\
	 sizeof(struct vrange_run))

/**
 * struct vrange_runs - a list of runs in chunks
 * @chunks: list of &struct vrange_run_chunk, in order
 * @npages: pages all runs cover
 * @bytes: bytes allocated for the chunks
 * @sealed: the next run starts a new entry even if it is contiguous with
 *	the last one (it belongs to something else)
 */
struct vrange_runs {
	struct list_head chunks;
	unsigned long npages;
	size_t bytes;
	bool sealed;
};

/**
 * struct vrange_runs_pos - a position in a &struct vrange_runs
 * @chunk: the chunk, or NULL before the first
 * @idx: the next run in @chunk
 */
struct vrange_runs_pos {
	struct vrange_run_chunk *chunk;
	unsigned int idx;
};

void vrange_runs_init(struct vrange_runs *runs);
int vrange_runs_add(struct vrange_runs *runs, unsigned long pfn,
		    unsigned long npages, gfp_t gfp);
void vrange_runs_seal(struct vrange_runs *runs);
void vrange_runs_free(struct vrange_runs *runs);
bool vrange_runs_next(struct vrange_runs *runs,
		      struct vrange_runs_pos *pos, struct vrange_run *run);
bool vrange_runs_pfn_at(struct vrange_runs *runs, unsigned long pgoff,
			unsigned long *pfn);

#endif /* _VFIO_RANGE_RUNS_H */
