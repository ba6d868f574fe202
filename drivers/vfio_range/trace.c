// SPDX-License-Identifier: GPL-2.0-only
/*
 * The tracepoints of the vfio_range trace system, declared in
 * include/vfio_range/trace.h and defined here once.
 */
#define CREATE_TRACE_POINTS
#include <vfio_range/trace.h>
