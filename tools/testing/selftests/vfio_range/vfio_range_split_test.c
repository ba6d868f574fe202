// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit test of the aligned split of include/vfio_range/range.h, built in
 * userspace: vrange_split_aligned() must tile [start, last] with the fewest
 * naturally aligned power-of-two blocks, in ascending order.
 *
 * Checked against references written independently of it:
 *  - an exhaustive dynamic programme over every tiling of every range in
 *    small universes (at 0, across 2^63 and at the top of the space);
 *  - a greedy split that tries block orders from 64 down to 0;
 *  - a closed form of the minimal count computed in 65-bit arithmetic.
 *
 * Needs no module. VFIO_RANGE_SEED=<n> repeats a random run.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The 6.1 harness has an unused parameter of its own. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop

/*
 * TEST() wrappers leave their variant unused and are expanded here, so
 * every test below uses a fixture (with no state for most).
 */
FIXTURE(split)
{
};

FIXTURE_SETUP(split)
{
}

FIXTURE_TEARDOWN(split)
{
}

#include "range_user.h"

#define U64_MAX		UINT64_MAX
#define MAX_BLOCKS	128
/* Failures to describe in detail before giving up. */
#define MAX_REPORTS	8

struct block {
	u64 start;
	u64 mask;
};

struct split {
	unsigned int n;
	bool overrun;		/* more than MAX_BLOCKS blocks were produced */
	struct block b[MAX_BLOCKS];
};

static void split_collect(u64 start, u64 mask, void *arg)
{
	struct split *s = arg;

	if (s->n == MAX_BLOCKS) {
		s->overrun = true;
		return;
	}
	s->b[s->n].start = start;
	s->b[s->n].mask = mask;
	s->n++;
}

/* The split under test; returns its own block count. */
static unsigned int split_kernel(u64 start, u64 last, struct split *s)
{
	memset(s, 0, sizeof(*s));
	return vrange_split_aligned(start, last, split_collect, s);
}

/*
 * Whether @s tiles [start, last] exactly with naturally aligned
 * power-of-two blocks in ascending order. Writes the reason to @why.
 */
static bool split_valid(u64 start, u64 last, const struct split *s,
			unsigned int returned, char *why, size_t len)
{
	u64 pos = start;
	unsigned int i;

	if (s->overrun) {
		snprintf(why, len, "more than %d blocks", MAX_BLOCKS);
		return false;
	}
	if (returned != s->n) {
		snprintf(why, len, "returned %u, called back %u times",
			 returned, s->n);
		return false;
	}
	if (!s->n) {
		snprintf(why, len, "no block");
		return false;
	}
	for (i = 0; i < s->n; i++) {
		const struct block *b = &s->b[i];

		if (b->mask & (b->mask + 1)) {
			snprintf(why, len, "block %u: mask %#" PRIx64
				 " is not 2^k - 1", i, b->mask);
			return false;
		}
		if (b->start & b->mask) {
			snprintf(why, len, "block %u at %#" PRIx64
				 " not aligned to mask %#" PRIx64, i,
				 b->start, b->mask);
			return false;
		}
		if (b->start != pos) {
			snprintf(why, len, "block %u starts at %#" PRIx64
				 ", expected %#" PRIx64, i, b->start, pos);
			return false;
		}
		/* start | mask: no wrap, start is aligned to the block. */
		if ((b->start | b->mask) > last) {
			snprintf(why, len, "block %u ends at %#" PRIx64
				 ", past the range", i, b->start | b->mask);
			return false;
		}
		if ((b->start | b->mask) == last) {
			if (i != s->n - 1) {
				snprintf(why, len, "%u blocks after the end",
					 s->n - 1 - i);
				return false;
			}
			return true;
		}
		pos = (b->start | b->mask) + 1;
	}
	snprintf(why, len, "blocks stop at %#" PRIx64 ", short of the end",
		 pos - 1);
	return false;
}

/*
 * Reference 1: the greedy split, written differently from range.h. At each
 * position, try block orders from 64 down to 0 and take the first that is
 * aligned at the position and fits in what is left. Block order 64 is the
 * whole space, which only [0, U64_MAX] can hold.
 */
static unsigned int split_greedy(u64 start, u64 last, struct block *out,
				 unsigned int max)
{
	unsigned int n = 0;
	u64 pos = start;

	if (!start && last == U64_MAX) {
		out[0].start = 0;
		out[0].mask = U64_MAX;
		return 1;
	}
	for (;;) {
		int k;

		for (k = 63; k >= 0; k--) {
			u64 mask = (1ULL << k) - 1;

			/* Aligned, and pos + 2^k - 1 <= last without wrap. */
			if (!(pos & mask) && last - pos >= mask)
				break;
		}
		/* k = 0 always fits, so k >= 0 here. */
		if (n < max) {
			out[n].start = pos;
			out[n].mask = (1ULL << k) - 1;
		}
		n++;
		if (pos + ((1ULL << k) - 1) == last)
			return n;
		pos += 1ULL << k;
	}
}

/*
 * Reference 2: the minimal count in closed form, in 65-bit arithmetic so
 * that last + 1 = 2^64 needs no special case. With end = last + 1, let m
 * be the highest bit in which start and end differ and P = end with its
 * bits below m cleared: [start, P) takes popcount(P - start) blocks (each
 * set bit one block, smallest first) and [P, end) popcount(end - P).
 */
static unsigned int split_count_formula(u64 start, u64 last)
{
	typedef unsigned __int128 u128;
	u128 s = start, e = (u128)last + 1, p, diff = s ^ e;
	unsigned int m = 0, count = 0;
	u128 left, right;

	while (diff >> (m + 1))
		m++;
	p = e & ~(((u128)1 << m) - 1);
	left = p - s;
	right = e - p;
	while (left) {
		count += left & 1;
		left >>= 1;
	}
	while (right) {
		count += right & 1;
		right >>= 1;
	}
	return count;
}

/*
 * Checks the split of [start, last] against both references. Returns true
 * if it is right; logs the first MAX_REPORTS failures.
 */
static bool check_range(struct __test_metadata *_metadata, u64 start,
			u64 last, unsigned int *reports)
{
	struct block ref[MAX_BLOCKS + 1];
	unsigned int n, nref, count, i;
	struct split s;
	char why[128];

	n = split_kernel(start, last, &s);
	if (!split_valid(start, last, &s, n, why, sizeof(why))) {
		if ((*reports)++ < MAX_REPORTS)
			TH_LOG("[%#" PRIx64 ", %#" PRIx64 "]: %s", start, last,
			       why);
		return false;
	}
	nref = split_greedy(start, last, ref, MAX_BLOCKS + 1);
	count = split_count_formula(start, last);
	if (nref != count || n != count || nref > MAX_BLOCKS) {
		if ((*reports)++ < MAX_REPORTS)
			TH_LOG("[%#" PRIx64 ", %#" PRIx64 "]: %u blocks, greedy %u, formula %u",
			       start, last, n, nref, count);
		return false;
	}
	for (i = 0; i < n; i++) {
		if (s.b[i].start != ref[i].start ||
		    s.b[i].mask != ref[i].mask) {
			if ((*reports)++ < MAX_REPORTS)
				TH_LOG("[%#" PRIx64 ", %#" PRIx64 "]: block %u"
				       " is %#" PRIx64 "/%#" PRIx64
				       ", greedy %#" PRIx64 "/%#" PRIx64,
				       start, last, i, s.b[i].start,
				       s.b[i].mask, ref[i].start, ref[i].mask);
			return false;
		}
	}
	if (vrange_aligned_block_mask(start, last) != s.b[0].mask) {
		if ((*reports)++ < MAX_REPORTS)
			TH_LOG("[%#" PRIx64 ", %#" PRIx64 "]: block mask"
			       " %#" PRIx64 " != first block %#" PRIx64,
			       start, last,
			       vrange_aligned_block_mask(start, last),
			       s.b[0].mask);
		return false;
	}
	return true;
}

/* ---------------------------------------------------------------------- */
/* Exhaustive: every range of a small universe against a DP over tilings  */
/* ---------------------------------------------------------------------- */

#define UNIVERSE	256

FIXTURE(universe)
{
	/* best[i]: fewest blocks tiling [base + i, base + l] for one l */
	unsigned int best[UNIVERSE + 1];
};

FIXTURE_VARIANT(universe)
{
	u64 base;	/* the first address of the universe */
};

FIXTURE_VARIANT_ADD(universe, zero)
{
	.base = 0,
};

FIXTURE_VARIANT_ADD(universe, below_4g)
{
	.base = 0x100000000ULL - UNIVERSE / 2,
};

FIXTURE_VARIANT_ADD(universe, across_2_63)
{
	.base = (1ULL << 63) - UNIVERSE / 2,
};

FIXTURE_VARIANT_ADD(universe, top)
{
	.base = 0ULL - UNIVERSE,
};

FIXTURE_SETUP(universe)
{
}

FIXTURE_TEARDOWN(universe)
{
}

/*
 * For every l, a dynamic programme over positions from l + 1 down to the
 * base: best[i] = 1 + min(best[i + 2^k]) over every block of 2^k bytes
 * that is naturally aligned at base + i (the real address, so the
 * alignment of the base counts) and ends at or before l. Every tiling is a
 * left-to-right sequence of such blocks, so best[i] is the true minimum,
 * found without any greedy argument.
 */
TEST_F(universe, exhaustive_vs_dp)
{
	unsigned int reports = 0, bad = 0, checked = 0;
	u64 base = variant->base;
	unsigned int s, l, i, k;

	for (l = 0; l < UNIVERSE; l++) {
		self->best[l + 1] = 0;
		for (i = l + 1; i-- > 0;) {
			unsigned int best = UINT32_MAX;

			for (k = 0; (1U << k) <= l + 1 - i; k++) {
				u64 addr = base + i;

				if (addr & ((1ULL << k) - 1))
					break;	/* larger k not aligned either */
				if (self->best[i + (1U << k)] + 1 < best)
					best = self->best[i + (1U << k)] + 1;
			}
			self->best[i] = best;
		}
		for (s = 0; s <= l; s++) {
			u64 start = base + s, last = base + l;
			struct split sp;
			unsigned int n;
			char why[128];

			checked++;
			n = split_kernel(start, last, &sp);
			if (!split_valid(start, last, &sp, n, why,
					 sizeof(why))) {
				if (reports++ < MAX_REPORTS)
					TH_LOG("[%#" PRIx64 ", %#" PRIx64 "]: %s",
					       start, last, why);
				bad++;
				continue;
			}
			if (n != self->best[s]) {
				if (reports++ < MAX_REPORTS)
					TH_LOG("[%#" PRIx64 ", %#" PRIx64 "]: %u blocks, minimum %u",
					       start, last, n, self->best[s]);
				bad++;
				continue;
			}
			if (!check_range(_metadata, start, last, &reports))
				bad++;
		}
	}
	ASSERT_EQ((unsigned int)(UNIVERSE * (UNIVERSE + 1) / 2), checked);
	ASSERT_EQ(0U, bad);
}

/* ---------------------------------------------------------------------- */
/* Edge ranges with known answers                                         */
/* ---------------------------------------------------------------------- */

TEST_F(split, edge_ranges)
{
	const struct {
		u64 start, last;
		unsigned int blocks;
	} cases[] = {
		{ 0, U64_MAX, 1 },
		{ 1, U64_MAX, 64 },
		{ 0, U64_MAX - 1, 64 },
		{ 1, U64_MAX - 1, 126 },
		{ 2, U64_MAX - 2, 124 },
		{ (1ULL << 63) - 1, 1ULL << 63, 2 },
		{ 1ULL << 63, U64_MAX, 1 },
		{ 0, (1ULL << 63) - 1, 1 },
		{ (1ULL << 63) + 1, U64_MAX, 63 },
		{ 0, 0, 1 },
		{ 1, 1, 1 },
		{ U64_MAX, U64_MAX, 1 },
		{ 1ULL << 63, 1ULL << 63, 1 },
		{ U64_MAX - 1, U64_MAX, 1 },
		{ U64_MAX - 2, U64_MAX, 2 },
		{ U64_MAX - 0x1fff, U64_MAX, 1 },		/* top 8 KiB */
		{ U64_MAX - 0x1fff, U64_MAX - 1, 13 },
		{ U64_MAX - 0x1ffe, U64_MAX, 13 },
		{ U64_MAX - 0x2fff, U64_MAX, 2 },		/* top 12 KiB */
		{ 0x1000, 0x1fff, 1 },
		{ 0x1000, 0x2fff, 2 },
		{ 0x11000, 0x1dfff, 5 },
		{ 0x40001, 0x4fffe, 30 },
		{ 0x1000, U64_MAX - 0x1000, 2 * (63 - 12) },
	};
	unsigned int i, reports = 0;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct split s;
		unsigned int n;

		n = split_kernel(cases[i].start, cases[i].last, &s);
		EXPECT_EQ(cases[i].blocks, n)
			TH_LOG("[%#" PRIx64 ", %#" PRIx64 "]", cases[i].start,
			       cases[i].last);
		EXPECT_TRUE(check_range(_metadata, cases[i].start,
					cases[i].last, &reports));
	}

	/* The whole space is one block whose mask is all ones. */
	{
		struct split s;

		ASSERT_EQ(1U, split_kernel(0, U64_MAX, &s));
		ASSERT_EQ(0ULL, s.b[0].start);
		ASSERT_EQ(U64_MAX, s.b[0].mask);
		ASSERT_EQ(U64_MAX, vrange_aligned_block_mask(0, U64_MAX));
	}

	/* [1, U64_MAX]: 1, 2, 4, ... 2^63 bytes. */
	{
		struct split s;

		ASSERT_EQ(64U, split_kernel(1, U64_MAX, &s));
		for (i = 0; i < 64; i++) {
			ASSERT_EQ(1ULL << i, s.b[i].start);
			ASSERT_EQ((1ULL << i) - 1, s.b[i].mask);
		}
	}

	/* [1, U64_MAX - 1]: up to 2^62 and back down, 2^63 twice. */
	{
		struct split s;

		ASSERT_EQ(126U, split_kernel(1, U64_MAX - 1, &s));
		for (i = 0; i < 63; i++) {
			ASSERT_EQ(1ULL << i, s.b[i].start);
			ASSERT_EQ((1ULL << i) - 1, s.b[i].mask);
		}
		for (i = 0; i < 63; i++) {
			ASSERT_EQ((1ULL << (62 - i)) - 1, s.b[63 + i].mask);
			ASSERT_EQ(0ULL - (2ULL << (62 - i)),
				  s.b[63 + i].start);
		}
	}

	/* Every 2^k-aligned single block, including those at the top. */
	for (i = 0; i < 64; i++) {
		u64 mask = (1ULL << i) - 1;
		struct split s;

		ASSERT_EQ(1U, split_kernel(0, mask, &s));
		ASSERT_EQ(mask, s.b[0].mask);
		ASSERT_EQ(1U, split_kernel(U64_MAX - mask, U64_MAX, &s));
		ASSERT_EQ(U64_MAX - mask, s.b[0].start);
		ASSERT_EQ(mask, s.b[0].mask);
		ASSERT_EQ(1U, split_kernel(1ULL << 63, (1ULL << 63) | mask,
					   &s));
		ASSERT_EQ(mask, s.b[0].mask);
	}
	ASSERT_EQ(0U, reports);
}

/* ---------------------------------------------------------------------- */
/* Random 64-bit ranges                                                   */
/* ---------------------------------------------------------------------- */

/* xorshift64*: reproducible from the printed seed on any libc. */
static u64 rng_state;

static u64 rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

/* A value with a random number of low bits cleared or set. */
static u64 rng_shaped(void)
{
	u64 v = rng_next();
	unsigned int bits = rng_next() % 65;

	switch (rng_next() % 4) {
	case 0:
		return v;
	case 1:		/* aligned to 2^bits */
		return bits == 64 ? 0 : v & ~((1ULL << bits) - 1);
	case 2:		/* just below a 2^bits boundary */
		return bits == 64 ? U64_MAX : v | ((1ULL << bits) - 1);
	default:	/* below 2^bits */
		return bits == 64 ? v : v & ((1ULL << bits) - 1);
	}
}

static u64 seed_from_env(void)
{
	const char *env = getenv("VFIO_RANGE_SEED");
	struct timespec ts;

	if (env && *env)
		return strtoull(env, NULL, 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((u64)ts.tv_sec << 20) ^ (u64)ts.tv_nsec ^ (u64)getpid();
}

#define RANDOM_RANGES	200000

TEST_F(split, random_ranges)
{
	unsigned int i, reports = 0, bad = 0, max_blocks = 0;
	u64 seed = seed_from_env();

	TH_LOG("seed %#" PRIx64 " (VFIO_RANGE_SEED=%#" PRIx64 " repeats it)",
	       seed, seed);
	rng_state = seed ? seed : 1;

	for (i = 0; i < RANDOM_RANGES; i++) {
		u64 a = rng_shaped(), b, start, last;
		struct split s;

		switch (i % 5) {
		case 0:		/* anywhere */
			b = rng_shaped();
			break;
		case 1:		/* short */
			b = a + (rng_next() & 0xffff);
			if (b < a)
				b = U64_MAX;
			break;
		case 2:		/* ending at the top */
			b = U64_MAX;
			break;
		case 3:		/* starting at 0 */
			b = a;
			a = 0;
			break;
		default:	/* around 2^63 */
			a = (1ULL << 63) - (rng_next() >> (rng_next() % 64));
			b = (1ULL << 63) + (rng_next() >> (rng_next() % 64));
			break;
		}
		start = a < b ? a : b;
		last = a < b ? b : a;
		if (!check_range(_metadata, start, last, &reports))
			bad++;
		else if (split_kernel(start, last, &s) > max_blocks)
			max_blocks = s.n;
	}
	TH_LOG("%u ranges, at most %u blocks", RANDOM_RANGES, max_blocks);
	ASSERT_EQ(0U, bad)
		TH_LOG("seed %#" PRIx64, seed);
	ASSERT_GE(126U, max_blocks);
}

/*
 * Ranges whose ends sit next to powers of two, where the block sizes climb
 * and fall the furthest. No range needs more than 126 blocks (63 rising,
 * 63 falling), within the documented bound of 128.
 */
TEST_F(split, power_of_two_edges)
{
	unsigned int a, b, n, most = 0, reports = 0, bad = 0;
	struct split s;

	for (a = 0; a < 64; a++) {
		for (b = 0; b < 64; b++) {
			const u64 starts[] = {
				1ULL << a, (1ULL << a) - 1, (1ULL << a) + 1,
			};
			const u64 lasts[] = {
				U64_MAX - (1ULL << b),
				(1ULL << 63) + (1ULL << b) - 1,
				(1ULL << 63) + (1ULL << b),
			};
			unsigned int i, j;

			for (i = 0; i < 3; i++) {
				for (j = 0; j < 3; j++) {
					if (starts[i] > lasts[j])
						continue;
					if (!check_range(_metadata, starts[i],
							 lasts[j], &reports)) {
						bad++;
						continue;
					}
					n = split_kernel(starts[i], lasts[j],
							 &s);
					if (n > most)
						most = n;
				}
			}
		}
	}
	ASSERT_EQ(0U, bad);
	ASSERT_EQ(126U, most);
	ASSERT_EQ(126U, split_kernel(1, U64_MAX - 1, &s));
}

TEST_HARNESS_MAIN
