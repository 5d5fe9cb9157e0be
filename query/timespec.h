/* SPDX-License-Identifier: MIT */
/*
 * timespec.h: the T of --since/--until and of "ts" in filters.
 *
 *   RFC 3339: 2026-11-24T13:05:00Z, 2026-11-24T13:05:00.123456789+01:00,
 *             2026-11-24 13:05:00 (no zone = UTC), 2026-11-24 (midnight UTC)
 *   offsets:  +90 (seconds), +90s, +250ms, +10us, +5ns, +5m, +1h, +2d, +1.5s
 *             counted from the earliest trace start among the inputs.
 */
#ifndef CONNTRAIL_TIMESPEC_H
#define CONNTRAIL_TIMESPEC_H

#include <stddef.h>
#include <stdint.h>

struct ct_time {
	int is_offset; /* 1: ns is an offset from the trace start */
	int64_t ns;    /* wall-clock ns since the epoch, or the offset */
};

/* 0 on success; -1 with a short reason in err. */
int ct_time_parse(const char *s, struct ct_time *out, char *err, size_t errsize);

/* Wall-clock ns of t given the trace start. */
static inline int64_t ct_time_resolve(const struct ct_time *t, int64_t base_wall_ns)
{
	int64_t w;
	if (!t->is_offset)
		return t->ns;
	/* saturating: +106751d from a late start is "after everything" */
	if (__builtin_add_overflow(base_wall_ns, t->ns, &w))
		return t->ns > 0 ? INT64_MAX : INT64_MIN;
	return w;
}

#endif
