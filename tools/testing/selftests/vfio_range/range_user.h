/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * include/vfio_range/range.h in userspace: the few kernel helpers it uses,
 * so the selftests and the benchmark count blocks with the module's own
 * aligned split.
 */
#ifndef _VFIO_RANGE_RANGE_USER_H
#define _VFIO_RANGE_RANGE_USER_H

#include <stdbool.h>
#include <stdint.h>

typedef uint64_t u64;

static inline unsigned int fls64(u64 x)
{
	return x ? 64 - __builtin_clzll(x) : 0;
}

static inline unsigned int __ffs64(u64 x)
{
	return __builtin_ctzll(x);
}

#ifndef min
#define min(a, b)	((a) < (b) ? (a) : (b))
#endif

#include <vfio_range/range.h>

#endif /* _VFIO_RANGE_RANGE_USER_H */
