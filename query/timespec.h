/* SPDX-License-Identifier: MIT */
/*
 * timespec.h: the T of --since/--until and of "ts" in filters.
 *
 *   RFC 3339: 2026-11-24T13:05:00Z, 2026-11-24T13:05:00.123456789+01:00,
 *             2026-11-24 13:05:00 (no zone = UTC), 2026-11-24 (midnight UTC)
 *   offsets:  +90 (seconds), +90s, +250ms, +10us, +5ns, +5m, +1h, +2d, +1.5s
 *             counted from the earliest trace start among the inputs;
 *             -10m, -1h: back from the latest trace end (--since/--until)
 *   time of day: 17:05, 17:05:30, 17:05:30.25, 17:05Z, 17:05+01:00, on the
 *             day the trace starts (--since/--until)
 *   A time without a zone is UTC unless --tz says otherwise.
 */
#ifndef CONNTRAIL_TIMESPEC_H
#define CONNTRAIL_TIMESPEC_H

#include <stddef.h>
#include <stdint.h>

struct ct_time {
	int is_offset; /* 1: ns counts from the trace start; -1: back from its end */
	int64_t ns;    /* wall-clock ns since the epoch, or the offset */
	int tod;       /* 1: ns is a time of day, on the day the trace starts */
	int zoned;     /* the text named its zone (Z, +01:00): --tz does not apply */
};

/* --tz: how a time without a zone is read. UTC by default. */
struct ct_tz {
	int local;     /* the machine's zone (TZ), daylight saving included */
	int64_t off_s; /* else this fixed offset east of UTC */
};

/* 0 on success; -1 with a short reason in err. Times of day ("17:05",
 * "17:05:30.5Z") and offsets back from the end ("-10m") are accepted only
 * when flexible (--since/--until; the filter's ts takes the other forms). */
int ct_time_parse_ext(const char *s, struct ct_time *out, int flexible, char *err, size_t errsize);
int ct_time_parse(const char *s, struct ct_time *out, char *err, size_t errsize);

/* "UTC", "local", "+01:00", "-0530", "+2". 0, or -1 with a reason. */
int ct_tz_parse(const char *s, struct ct_tz *tz, char *err, size_t errsize);

/* Wall-clock ns of t given the trace start (base) and end (end_wall, or
 * INT64_MIN when unknown: a time back from the end then resolves to the
 * start) and the zone of zone-less times. */
int64_t ct_time_resolve_in(const struct ct_time *t, int64_t base_wall_ns, int64_t end_wall_ns,
			   const struct ct_tz *tz);

/* Wall-clock ns of t given the trace start (UTC, no end: the filter's ts). */
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
