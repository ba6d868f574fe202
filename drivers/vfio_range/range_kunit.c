// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests of the range arithmetic in include/vfio_range/range.h, built
 * against the kernel's own bitops (fls64, __ffs64, min) rather than the
 * userspace stand-ins of the selftests, and of the span lists the usable
 * IOVA space is cut from (span_list.c). Built only for kernels with KUnit
 * (make check-debug), and of the PFN run lists of pinned memory (runs.c).
 * The cases sit at the edges of the 64-bit space.
 */
#include <kunit/test.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/sizes.h>

#include <vfio_range/range.h>
#include <vfio_range/runs.h>
#include <vfio_range/span_list.h>

#define BIT63		BIT_ULL(63)
/* The most blocks any split may take (see vrange_aligned_block_mask()). */
#define MAX_BLOCKS	128

struct aligned_case {
	u64 start, last, align;
	bool aligned;
};

static const struct aligned_case aligned_cases[] = {
	{ 0, U64_MAX, SZ_4K, true },		/* last + 1 wraps to 0 */
	{ 0, U64_MAX, BIT63, true },
	{ BIT63, U64_MAX, BIT63, true },
	{ U64_MAX - SZ_4K + 1, U64_MAX, SZ_4K, true },
	{ U64_MAX - SZ_4K, U64_MAX, SZ_4K, false },	/* start off by one */
	{ 0, U64_MAX - 1, SZ_4K, false },	/* end off by one */
	{ 0, SZ_4K - 1, SZ_4K, true },
	{ 0, SZ_4K - 2, SZ_4K, false },
	{ 0, SZ_4K, SZ_4K, false },
	{ 1, SZ_4K, SZ_4K, false },
	{ SZ_4K, 2 * SZ_4K - 1, SZ_4K, true },
	{ U64_MAX, U64_MAX, 1, true },		/* any byte is 1-aligned */
	{ U64_MAX, U64_MAX, 2, false },
	{ 0, 0, 1, true },
	{ 0, 0, 2, false },
};

static void range_aligned_test(struct kunit *test)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(aligned_cases); i++) {
		const struct aligned_case *c = &aligned_cases[i];

		KUNIT_EXPECT_EQ_MSG(test, c->aligned,
				    vrange_range_aligned(c->start, c->last,
							 c->align),
				    "[%#llx, %#llx] align %#llx", c->start,
				    c->last, c->align);
	}
}

struct pair_case {
	u64 a_start, a_last, b_start, b_last;
	bool overlap, a_within_b;
};

static const struct pair_case pair_cases[] = {
	{ 0, U64_MAX, 0, U64_MAX, true, true },
	{ 0, U64_MAX, 1, U64_MAX, true, false },
	{ 0, U64_MAX, 0, U64_MAX - 1, true, false },
	{ 1, U64_MAX - 1, 0, U64_MAX, true, true },
	{ U64_MAX, U64_MAX, 0, U64_MAX, true, true },
	{ U64_MAX, U64_MAX, 0, U64_MAX - 1, false, false },
	{ 0, 0, 1, U64_MAX, false, false },
	{ 0, 0, 0, 0, true, true },
	{ 0, 9, 10, 19, false, false },		/* adjacent: no shared byte */
	{ 10, 19, 0, 9, false, false },
	{ 0, 10, 10, 19, true, false },		/* one shared byte */
	{ 19, 30, 10, 19, true, false },
	{ 12, 15, 10, 19, true, true },
	{ 10, 19, 12, 15, true, false },
	{ BIT63 - 1, BIT63, BIT63, U64_MAX, true, false },
};

static void range_overlap_test(struct kunit *test)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pair_cases); i++) {
		const struct pair_case *c = &pair_cases[i];

		/* Overlap is symmetric: check both orders. */
		bool ab = vrange_ranges_overlap(c->a_start, c->a_last,
						c->b_start, c->b_last);
		bool ba = vrange_ranges_overlap(c->b_start, c->b_last,
						c->a_start, c->a_last);

		KUNIT_EXPECT_EQ_MSG(test, c->overlap, ab, "case %u", i);
		KUNIT_EXPECT_EQ_MSG(test, c->overlap, ba, "case %u swapped", i);
	}
}

static void range_within_test(struct kunit *test)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pair_cases); i++) {
		const struct pair_case *c = &pair_cases[i];

		KUNIT_EXPECT_EQ_MSG(test, c->a_within_b,
				    vrange_range_within(c->a_start, c->a_last,
							c->b_start, c->b_last),
				    "case %u", i);
	}
}

struct units_case {
	u64 start, last;
	unsigned int shift;
	u64 units;
};

static const struct units_case units_cases[] = {
	{ 0, U64_MAX, 12, 1ULL << 52 },		/* 2^64 bytes, never formed */
	{ 0, U64_MAX, 63, 2 },
	{ 0, U64_MAX - 1, 0, U64_MAX },
	{ 1, U64_MAX, 0, U64_MAX },
	{ U64_MAX, U64_MAX, 0, 1 },
	{ U64_MAX - SZ_4K + 1, U64_MAX, 12, 1 },
	{ 0, 0, 0, 1 },
	{ 0, SZ_4K - 1, 12, 1 },
	{ 0, 2 * SZ_4K - 1, 12, 2 },
	{ SZ_4K, 3 * SZ_4K - 1, 12, 2 },
};

static void range_units_test(struct kunit *test)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(units_cases); i++) {
		const struct units_case *c = &units_cases[i];

		KUNIT_EXPECT_EQ_MSG(test, c->units,
				    vrange_range_units(c->start, c->last,
						       c->shift),
				    "[%#llx, %#llx] shift %u", c->start,
				    c->last, c->shift);
	}
}

struct mask_case {
	u64 start, last, mask;
};

static const struct mask_case mask_cases[] = {
	{ 0, U64_MAX, U64_MAX },		/* the whole space: one block */
	{ 0, U64_MAX - 1, BIT63 - 1 },
	{ 1, U64_MAX, 0 },
	{ BIT63, U64_MAX, BIT63 - 1 },
	{ BIT63, U64_MAX - 1, (BIT63 >> 1) - 1 },
	{ U64_MAX, U64_MAX, 0 },
	{ 0, 0, 0 },
	{ 0, BIT63 - 1, BIT63 - 1 },
	{ 0, BIT63, BIT63 - 1 },
	{ SZ_4K, SZ_4K + SZ_2M - 1, SZ_4K - 1 },	/* alignment limits */
	{ SZ_2M, 2 * SZ_2M - 1, SZ_2M - 1 },
	{ SZ_2M, 4 * SZ_2M - 1, SZ_2M - 1 },	/* 2M-aligned, not 4M */
	{ 4 * SZ_2M, 8 * SZ_2M - 2, 2 * SZ_2M - 1 },	/* length limits */
};

static void aligned_block_mask_test(struct kunit *test)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(mask_cases); i++) {
		const struct mask_case *c = &mask_cases[i];

		u64 mask = vrange_aligned_block_mask(c->start, c->last);

		KUNIT_EXPECT_EQ_MSG(test, c->mask, mask, "[%#llx, %#llx]",
				    c->start, c->last);
	}
}

struct split_blocks {
	unsigned int n;
	u64 start[MAX_BLOCKS];
	u64 mask[MAX_BLOCKS];
};

static void split_collect(u64 start, u64 mask, void *arg)
{
	struct split_blocks *s = arg;

	/* An overrun is counted but not stored; the caller checks n. */
	if (s->n < MAX_BLOCKS) {
		s->start[s->n] = start;
		s->mask[s->n] = mask;
	}
	s->n++;
}

/*
 * Checks that the split of [start, last] is the greedy one, independently
 * of how range.h computes it: blocks tile the range in ascending order with
 * no gap, each is a power of two aligned to its size, and none could be
 * doubled in place (aligned to twice its size and still inside the range).
 * Returns the number of blocks.
 */
static unsigned int check_split(struct kunit *test, u64 start, u64 last)
{
	struct split_blocks *s;
	unsigned int i, n;
	u64 pos = start;

	s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, s);
	n = vrange_split_aligned(start, last, split_collect, s);
	KUNIT_EXPECT_EQ_MSG(test, n, s->n, "[%#llx, %#llx] count", start, last);
	KUNIT_ASSERT_LE_MSG(test, s->n, MAX_BLOCKS, "[%#llx, %#llx] overrun",
			    start, last);
	for (i = 0; i < s->n; i++) {
		u64 b = s->start[i], m = s->mask[i];

		KUNIT_EXPECT_EQ_MSG(test, b, pos, "[%#llx, %#llx] block %u",
				    start, last, i);
		KUNIT_EXPECT_EQ_MSG(test, m & (m + 1), 0ULL,
				    "mask %#llx is not 2^k - 1", m);
		KUNIT_EXPECT_EQ_MSG(test, b & m, 0ULL,
				    "block %#llx not aligned to %#llx",
				    b, m + 1);
		KUNIT_EXPECT_LE_MSG(test, b | m, last,
				    "block %#llx/%#llx past %#llx",
				    b, m, last);
		/* Maximal: twice the block is unaligned or leaves the range. */
		if (m != U64_MAX)
			KUNIT_EXPECT_TRUE_MSG(test, (b & (2 * m + 1)) ||
					      (b | (2 * m + 1)) > last,
					      "block %#llx/%#llx could double",
					      b, m);
		if ((b | m) == last) {
			KUNIT_EXPECT_EQ_MSG(test, i + 1, s->n,
					    "blocks after the end %#llx", last);
			break;
		}
		pos = (b | m) + 1;
	}
	return s->n;
}

static void split_edges_test(struct kunit *test)
{
	/* [0, U64_MAX] is one 2^64 block; pos must not wrap after it. */
	KUNIT_EXPECT_EQ(test, check_split(test, 0, U64_MAX), 1U);
	KUNIT_EXPECT_EQ(test, check_split(test, 0, 0), 1U);
	KUNIT_EXPECT_EQ(test, check_split(test, U64_MAX, U64_MAX), 1U);
	KUNIT_EXPECT_EQ(test, check_split(test, BIT63, U64_MAX), 1U);
	KUNIT_EXPECT_EQ(test, check_split(test, 0, BIT63 - 1), 1U);
	/* 2^0, 2^1, ..., 2^63 up to the top of the space */
	KUNIT_EXPECT_EQ(test, check_split(test, 1, U64_MAX), 64U);
	/* 2^63, 2^62, ..., 2^0 from the bottom */
	KUNIT_EXPECT_EQ(test, check_split(test, 0, U64_MAX - 1), 64U);
	/* both at once: the longest split there is */
	KUNIT_EXPECT_EQ(test, check_split(test, 1, U64_MAX - 1), 126U);
	/* across 2^63: one byte on each side */
	KUNIT_EXPECT_EQ(test, check_split(test, BIT63 - 1, BIT63), 2U);
	KUNIT_EXPECT_EQ(test, check_split(test, SZ_4K, SZ_4K + SZ_2M - 1),
			10U);
}

static void split_exact_test(struct kunit *test)
{
	static const u64 starts[] = { 0x1000, 0x2000, 0x4000, 0x8000, 0x10000,
				      0x18000 };
	static const u64 masks[] = { 0xfff, 0x1fff, 0x3fff, 0x7fff, 0x7fff,
				     0x0fff };
	struct split_blocks *s;
	unsigned int i;

	s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, s);
	KUNIT_ASSERT_EQ(test, vrange_split_aligned(0x1000, 0x18fff,
						   split_collect, s),
			(unsigned int)ARRAY_SIZE(starts));
	for (i = 0; i < ARRAY_SIZE(starts); i++) {
		KUNIT_EXPECT_EQ_MSG(test, s->start[i], starts[i], "block %u",
				    i);
		KUNIT_EXPECT_EQ_MSG(test, s->mask[i], masks[i], "block %u",
				    i);
	}
}

/* Ranges around every power of two, reaching both ends of the space. */
static void split_powers_test(struct kunit *test)
{
	unsigned int k;

	for (k = 0; k < 64; k++) {
		u64 p = 1ULL << k;

		check_split(test, p - 1, p);
		check_split(test, p, U64_MAX);
		check_split(test, p - 1, U64_MAX);
		check_split(test, 0, p - 1);
		check_split(test, 0, p);
		if (k < 63)
			check_split(test, p + 1, U64_MAX - p);
		check_split(test, U64_MAX - p + 1, U64_MAX);
	}
}

/* A list made by vrange_span_list_init(); vfio_range_exit() frees it. */
static struct vrange_span_list *span_list_new(struct kunit *test)
{
	struct vrange_span_list *list;

	list = kunit_kzalloc(test, sizeof(*list), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, list);
	KUNIT_ASSERT_EQ(test, vrange_span_list_init(list), 0);
	test->priv = list;
	return list;
}

/* After each case: cuts may have reallocated the ranges. */
static void vfio_range_exit(struct kunit *test)
{
	struct vrange_span_list *list = test->priv;

	if (list)
		kfree(list->ranges);
}

static void cut(struct kunit *test, struct vrange_span_list *list, u64 start,
		u64 last)
{
	KUNIT_ASSERT_EQ(test, vrange_span_list_cut(list, start, last), 0);
}

/* @want: @nr (start, end) pairs */
static void expect_spans(struct kunit *test,
			 const struct vrange_span_list *list,
			 const u64 *want, unsigned int nr)
{
	unsigned int i;

	KUNIT_ASSERT_EQ(test, list->nr, nr);
	for (i = 0; i < nr; i++) {
		KUNIT_EXPECT_EQ_MSG(test, list->ranges[i].start, want[2 * i],
				    "range %u", i);
		KUNIT_EXPECT_EQ_MSG(test, list->ranges[i].end, want[2 * i + 1],
				    "range %u", i);
	}
}

static void span_list_edges_test(struct kunit *test)
{
	struct vrange_span_list *list = span_list_new(test);
	static const u64 whole[] = { 0, U64_MAX };
	static const u64 ends[] = { 1, U64_MAX - 1 };

	expect_spans(test, list, whole, 1);
	cut(test, list, 0, 0);
	cut(test, list, U64_MAX, U64_MAX);
	expect_spans(test, list, ends, 1);
	/* Cuts that only touch removed bytes change nothing. */
	cut(test, list, 0, 0);
	cut(test, list, U64_MAX, U64_MAX);
	expect_spans(test, list, ends, 1);
	cut(test, list, 0, U64_MAX);
	expect_spans(test, list, NULL, 0);
	/* Cutting an empty list is fine too. */
	cut(test, list, 5, 5);
	expect_spans(test, list, NULL, 0);
}

#define HOLES	20

static void span_list_split_test(struct kunit *test)
{
	struct vrange_span_list *list = span_list_new(test);
	static const u64 merged[] = {
		0, 0x7ff, HOLES * 0x2000, BIT63 - 0x1001,
	};
	unsigned int i;

	/*
	 * A page-sized hole at every odd page below HOLES * 8K, so the list
	 * outgrows its first allocation (4 entries) twice, then one at 2^63.
	 */
	for (i = 0; i < HOLES; i++)
		cut(test, list, 0x1000 + i * 0x2000, 0x1fff + i * 0x2000);
	cut(test, list, BIT63, BIT63);
	KUNIT_ASSERT_EQ(test, list->nr, HOLES + 2);
	for (i = 0; i < HOLES; i++) {
		u64 base = i * 0x2000ULL;

		KUNIT_EXPECT_EQ(test, list->ranges[i].start, base);
		KUNIT_EXPECT_EQ(test, list->ranges[i].end, base + 0xfff);
	}
	KUNIT_EXPECT_EQ(test, list->ranges[HOLES].start, HOLES * 0x2000ULL);
	KUNIT_EXPECT_EQ(test, list->ranges[HOLES].end, BIT63 - 1);
	KUNIT_EXPECT_EQ(test, list->ranges[HOLES + 1].start, BIT63 + 1);
	KUNIT_EXPECT_EQ(test, list->ranges[HOLES + 1].end, U64_MAX);

	/* Cuts over several ranges: trim the outer ones, drop the others. */
	cut(test, list, 0x800, HOLES * 0x2000 - 1);
	cut(test, list, BIT63 - 0x1000, U64_MAX);
	expect_spans(test, list, merged, ARRAY_SIZE(merged) / 2);
}

static void span_list_trim_test(struct kunit *test)
{
	struct vrange_span_list *list = span_list_new(test);
	static const u64 want[] = { 0x1000, 0x1fff, 0x4000, U64_MAX - 0x1000 };

	cut(test, list, 0, 0xfff);			/* trims the start */
	cut(test, list, U64_MAX - 0xfff, U64_MAX);	/* trims the end */
	cut(test, list, 0x2000, 0x3fff);		/* splits */
	cut(test, list, 0x2000, 0x2fff);		/* in the gap: no-op */
	expect_spans(test, list, want, ARRAY_SIZE(want) / 2);
}

static void ranges_contain_test(struct kunit *test)
{
	struct vrange_span_list *list = span_list_new(test);
	const struct vfio_iova_range *r;

	KUNIT_EXPECT_TRUE(test, vrange_iova_ranges_contain(list->ranges,
							   list->nr, 0,
							   U64_MAX));
	cut(test, list, 0x1000, 0x1fff);
	r = list->ranges;
	KUNIT_EXPECT_TRUE(test, vrange_iova_ranges_contain(r, 2, 0, 0xfff));
	KUNIT_EXPECT_TRUE(test, vrange_iova_ranges_contain(r, 2, 0x2000,
							   U64_MAX));
	KUNIT_EXPECT_TRUE(test, vrange_iova_ranges_contain(r, 2, U64_MAX,
							   U64_MAX));
	/* Each piece alone, but not across the hole or into it. */
	KUNIT_EXPECT_FALSE(test, vrange_iova_ranges_contain(r, 2, 0, U64_MAX));
	KUNIT_EXPECT_FALSE(test, vrange_iova_ranges_contain(r, 2, 0, 0x1000));
	KUNIT_EXPECT_FALSE(test, vrange_iova_ranges_contain(r, 2, 0x1fff,
							    0x2000));
	KUNIT_EXPECT_FALSE(test, vrange_iova_ranges_contain(r, 2, 0x1000,
							    0x1000));
	KUNIT_EXPECT_FALSE(test, vrange_iova_ranges_contain(r, 0, 0, 0));
}

/* Contiguous pages merge into one run, others start a run, a seal too. */
static void runs_merge_test(struct kunit *test)
{
	struct vrange_runs_pos pos = {};
	struct vrange_runs runs;
	struct vrange_run run;
	unsigned long pfn;

	vrange_runs_init(&runs);
	KUNIT_ASSERT_EQ(test, 0, vrange_runs_add(&runs, 10, 1, GFP_KERNEL));
	KUNIT_ASSERT_EQ(test, 0, vrange_runs_add(&runs, 11, 2, GFP_KERNEL));
	KUNIT_ASSERT_EQ(test, 0, vrange_runs_add(&runs, 14, 1, GFP_KERNEL));
	vrange_runs_seal(&runs);
	KUNIT_ASSERT_EQ(test, 0, vrange_runs_add(&runs, 15, 1, GFP_KERNEL));
	KUNIT_EXPECT_EQ(test, 5UL, runs.npages);

	KUNIT_ASSERT_TRUE(test, vrange_runs_next(&runs, &pos, &run));
	KUNIT_EXPECT_EQ(test, 10UL, run.pfn);
	KUNIT_EXPECT_EQ(test, 3UL, run.npages);
	KUNIT_ASSERT_TRUE(test, vrange_runs_next(&runs, &pos, &run));
	KUNIT_EXPECT_EQ(test, 14UL, run.pfn);
	KUNIT_EXPECT_EQ(test, 1UL, run.npages);
	/* Sealed: 15 follows 14 but is a run of its own. */
	KUNIT_ASSERT_TRUE(test, vrange_runs_next(&runs, &pos, &run));
	KUNIT_EXPECT_EQ(test, 15UL, run.pfn);
	KUNIT_EXPECT_FALSE(test, vrange_runs_next(&runs, &pos, &run));

	KUNIT_ASSERT_TRUE(test, vrange_runs_pfn_at(&runs, 0, &pfn));
	KUNIT_EXPECT_EQ(test, 10UL, pfn);
	KUNIT_ASSERT_TRUE(test, vrange_runs_pfn_at(&runs, 2, &pfn));
	KUNIT_EXPECT_EQ(test, 12UL, pfn);
	KUNIT_ASSERT_TRUE(test, vrange_runs_pfn_at(&runs, 3, &pfn));
	KUNIT_EXPECT_EQ(test, 14UL, pfn);
	KUNIT_ASSERT_TRUE(test, vrange_runs_pfn_at(&runs, 4, &pfn));
	KUNIT_EXPECT_EQ(test, 15UL, pfn);
	KUNIT_EXPECT_FALSE(test, vrange_runs_pfn_at(&runs, 5, &pfn));
	vrange_runs_free(&runs);
	KUNIT_EXPECT_EQ(test, 0UL, runs.npages);
	KUNIT_EXPECT_EQ(test, (size_t)0, runs.bytes);
}

/* A run never wraps past the last PFN, nor a count past ULONG_MAX. */
static void runs_edges_test(struct kunit *test)
{
	struct vrange_runs_pos pos = {};
	struct vrange_runs runs;
	struct vrange_run run;

	vrange_runs_init(&runs);
	KUNIT_ASSERT_EQ(test, 0, vrange_runs_add(&runs, ULONG_MAX - 1, 2,
						 GFP_KERNEL));
	/* ULONG_MAX - 1 + 2 wraps to 0: not a continuation. */
	KUNIT_ASSERT_EQ(test, 0, vrange_runs_add(&runs, 0, 1, GFP_KERNEL));
	KUNIT_ASSERT_TRUE(test, vrange_runs_next(&runs, &pos, &run));
	KUNIT_EXPECT_EQ(test, 2UL, run.npages);
	KUNIT_ASSERT_TRUE(test, vrange_runs_next(&runs, &pos, &run));
	KUNIT_EXPECT_EQ(test, 0UL, run.pfn);
	KUNIT_EXPECT_EQ(test, -EOVERFLOW,
			vrange_runs_add(&runs, 5, ULONG_MAX, GFP_KERNEL));
	KUNIT_EXPECT_EQ(test, 3UL, runs.npages);
	vrange_runs_free(&runs);
	/* An empty list has no runs and no pages. */
	pos = (struct vrange_runs_pos){};
	KUNIT_EXPECT_FALSE(test, vrange_runs_next(&runs, &pos, &run));
}

/* Chunks grow to a page and no further; lookups cross their edges. */
static void runs_chunks_test(struct kunit *test)
{
	unsigned long i, n = 2 * VRANGE_RUN_CHUNK_MAX + 3, pfn;
	struct vrange_runs_pos pos = {};
	struct vrange_run_chunk *chunk;
	struct vrange_runs runs;
	struct vrange_run run;

	vrange_runs_init(&runs);
	for (i = 0; i < n; i++)
		KUNIT_ASSERT_EQ(test, 0, vrange_runs_add(&runs, 2 * i, 1,
							 GFP_KERNEL));
	list_for_each_entry(chunk, &runs.chunks, node)
		KUNIT_EXPECT_LE(test, struct_size(chunk, runs, chunk->cap),
				PAGE_SIZE);
	chunk = list_last_entry(&runs.chunks, struct vrange_run_chunk, node);
	KUNIT_EXPECT_EQ(test, (unsigned int)VRANGE_RUN_CHUNK_MAX, chunk->cap);
	for (i = 0; i < n; i++) {
		KUNIT_ASSERT_TRUE(test, vrange_runs_next(&runs, &pos, &run));
		KUNIT_EXPECT_EQ(test, 2 * i, run.pfn);
	}
	KUNIT_EXPECT_FALSE(test, vrange_runs_next(&runs, &pos, &run));
	KUNIT_ASSERT_TRUE(test, vrange_runs_pfn_at(&runs, n - 1, &pfn));
	KUNIT_EXPECT_EQ(test, 2 * (n - 1), pfn);
	KUNIT_ASSERT_TRUE(test, vrange_runs_pfn_at(&runs,
						   VRANGE_RUN_CHUNK_MAX, &pfn));
	KUNIT_EXPECT_EQ(test, 2UL * VRANGE_RUN_CHUNK_MAX, pfn);
	KUNIT_EXPECT_FALSE(test, vrange_runs_pfn_at(&runs, n, &pfn));
	vrange_runs_free(&runs);
}

static struct kunit_case vfio_range_cases[] = {
	KUNIT_CASE(range_aligned_test),
	KUNIT_CASE(range_overlap_test),
	KUNIT_CASE(range_within_test),
	KUNIT_CASE(range_units_test),
	KUNIT_CASE(aligned_block_mask_test),
	KUNIT_CASE(split_edges_test),
	KUNIT_CASE(split_exact_test),
	KUNIT_CASE(split_powers_test),
	KUNIT_CASE(span_list_edges_test),
	KUNIT_CASE(span_list_split_test),
	KUNIT_CASE(span_list_trim_test),
	KUNIT_CASE(ranges_contain_test),
	KUNIT_CASE(runs_merge_test),
	KUNIT_CASE(runs_edges_test),
	KUNIT_CASE(runs_chunks_test),
	{}
};

static struct kunit_suite vfio_range_suite = {
	.name = "vfio_range",
	.exit = vfio_range_exit,
	.test_cases = vfio_range_cases,
};

kunit_test_suite(vfio_range_suite);

MODULE_DESCRIPTION("KUnit tests of the vfio-range range arithmetic");
MODULE_LICENSE("GPL");
