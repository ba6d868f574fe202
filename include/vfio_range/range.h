/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Overflow-proof arithmetic on inclusive [start, last] ranges. Pure
 * functions, shared by the module and its unit tests (which build this
 * header in userspace, providing u64, bool, fls64() and __ffs64()).
 */
#ifndef _VFIO_RANGE_RANGE_H
#define _VFIO_RANGE_RANGE_H

#ifdef __KERNEL__
#include <linux/bitops.h>
#include <linux/minmax.h>
#include <linux/types.h>
#endif

/*
 * True if [start, last] begins and ends on @align boundaries (@align is a
 * power of two). last + 1 wraps to 0 for a range that ends at U64_MAX,
 * which is aligned, as it should be.
 */
static inline bool vrange_range_aligned(u64 start, u64 last, u64 align)
{
	return !(start & (align - 1)) && !((last + 1) & (align - 1));
}

/* True if [a_start, a_last] and [b_start, b_last] share a byte. */
static inline bool vrange_ranges_overlap(u64 a_start, u64 a_last,
					 u64 b_start, u64 b_last)
{
	return a_start <= b_last && b_start <= a_last;
}

/* True if [in_start, in_last] lies inside [out_start, out_last]. */
static inline bool vrange_range_within(u64 in_start, u64 in_last,
				       u64 out_start, u64 out_last)
{
	return out_start <= in_start && in_last <= out_last;
}

/*
 * Number of @shift-sized units in [start, last]. Computed from last - start,
 * which cannot overflow, so [0, U64_MAX] yields 2^(64 - shift) without ever
 * forming the length 2^64.
 */
static inline u64 vrange_range_units(u64 start, u64 last, unsigned int shift)
{
	return ((last - start) >> shift) + 1;
}

/**
 * vrange_aligned_block_mask() - first block of the aligned split of a range
 * @start: first byte of the range
 * @last: last byte of the range, inclusive (@start <= @last)
 *
 * The fewest naturally aligned power-of-two blocks that tile [start, last]
 * are found greedily: each block is the largest one that starts at the
 * current position, is aligned to its own size and stays inside the range.
 * Block sizes grow and then shrink, so no more than 128 blocks are ever
 * needed, and [0, U64_MAX] is a single one.
 *
 * Return: the address mask (size - 1) of the block that begins at @start.
 */
static inline u64 vrange_aligned_block_mask(u64 start, u64 last)
{
	u64 span = last - start;	/* the length minus one */
	unsigned int size_order, align_order;

	if (span == ~0ULL)
		return ~0ULL;		/* [0, U64_MAX]: the 2^64 block */
	/* span + 1 no longer wraps: the largest 2^k not above the length */
	size_order = fls64(span + 1) - 1;
	align_order = start ? __ffs64(start) : 63;
	return (1ULL << min(size_order, align_order)) - 1;
}

/**
 * vrange_split_aligned() - the aligned split of a range, block by block
 * @start: first byte of the range
 * @last: last byte of the range, inclusive (@start <= @last)
 * @fn: called for each block, in ascending order, with its start and mask
 * @arg: passed to @fn
 *
 * Return: the number of blocks (at most 128).
 */
static inline unsigned int vrange_split_aligned(u64 start, u64 last,
						void (*fn)(u64 start, u64 mask,
							   void *arg),
						void *arg)
{
	unsigned int blocks = 0;
	u64 pos = start;

	for (;;) {
		u64 mask = vrange_aligned_block_mask(pos, last);

		fn(pos, mask, arg);
		blocks++;
		/* Stop on the last block, before pos could wrap past 2^64. */
		if ((pos | mask) == last)
			return blocks;
		pos = (pos | mask) + 1;
	}
}

#endif /* _VFIO_RANGE_RANGE_H */
