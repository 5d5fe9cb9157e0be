/* SPDX-License-Identifier: MIT */
/* timespec.c: RFC 3339 times and "+90s" offsets (see timespec.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "query/timespec.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (no timegm: not POSIX). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* Exactly n digits at *p into *v. */
static int digits(const char **p, int n, unsigned *v)
{
	unsigned x = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		x = x * 10 + (unsigned)((*p)[i] - '0');
	}
	*p += n;
	*v = x;
	return 0;
}

static int fail(char *err, size_t errsize, const char *why)
{
	snprintf(err, errsize, "%s", why);
	return -1;
}

static int parse_offset(const char *s, struct ct_time *out, char *err, size_t errsize)
{
	char sign = s[0];
	const char *p = s + 1;
	uint64_t whole = 0, frac = 0, frac_scale = 1;
	int any = 0;

	while (isdigit((unsigned char)*p)) {
		if (whole > UINT64_MAX / 10 - 10)
			return fail(err, errsize, "offset too large");
		whole = whole * 10 + (uint64_t)(*p++ - '0');
		any = 1;
	}
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p)) {
			if (frac_scale < 1000000000000000000ULL) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				frac_scale *= 10;
			}
			p++;
			any = 1;
		}
	}
	if (!any)
		return fail(err, errsize,
			    sign == '+' ? "expected digits after '+'"
					: "expected digits after '-'");
	uint64_t unit;
	if (!*p || !strcmp(p, "s"))
		unit = 1000000000ULL;
	else if (!strcmp(p, "ms"))
		unit = 1000000ULL;
	else if (!strcmp(p, "us"))
		unit = 1000ULL;
	else if (!strcmp(p, "ns"))
		unit = 1;
	else if (!strcmp(p, "m"))
		unit = 60000000000ULL;
	else if (!strcmp(p, "h"))
		unit = 3600000000000ULL;
	else if (!strcmp(p, "d"))
		unit = 86400000000000ULL;
	else
		return fail(err, errsize, "unknown unit (use ns, us, ms, s, m, h or d)");
	if (whole > (uint64_t)INT64_MAX / unit)
		return fail(err, errsize, "offset too large");
	uint64_t ns = whole * unit;
	/* frac < frac_scale <= 1e18 and unit <= 8.64e13: scale in two steps to
	 * stay inside 64 bits. */
	long double f = (long double)frac / (long double)frac_scale * (long double)unit;
	ns += (uint64_t)(f + 0.5L);
	if (ns > (uint64_t)INT64_MAX)
		return fail(err, errsize, "offset too large");
	*out = (struct ct_time){.is_offset = sign == '-' ? -1 : 1, .ns = (int64_t)ns};
	return 0;
}

/* An optional zone at *p: Z, +HH:MM, +HHMM, +HH, -... into *zone_s. 0,
 * or -1 with the reason. */
static int parse_zone(const char **p, int64_t *zone_s, int *zoned, char *err, size_t errsize)
{
	const char *q = *p;
	*zoned = 0;
	if (*q == 'Z' || *q == 'z') {
		*p = q + 1;
		*zone_s = 0;
		*zoned = 1;
	} else if (*q == '+' || *q == '-') {
		int sign = *q++ == '-' ? -1 : 1;
		unsigned zh, zm = 0;
		if (digits(&q, 2, &zh))
			return fail(err, errsize, "expected a zone like +01:00");
		if (*q == ':')
			q++;
		if (*q && digits(&q, 2, &zm))
			return fail(err, errsize, "expected a zone like +01:00");
		if (zh > 23 || zm > 59)
			return fail(err, errsize, "zone out of range");
		*zone_s = sign * (int64_t)(zh * 3600 + zm * 60);
		*zoned = 1;
		*p = q;
	}
	return 0;
}

/* HH:MM[:SS[.frac]] at *p into h, mi, sec, ns. */
static int parse_clock(const char **p, unsigned *h, unsigned *mi, unsigned *sec, int64_t *ns,
		       char *err, size_t errsize)
{
	*sec = 0;
	*ns = 0;
	if (digits(p, 2, h) || *(*p)++ != ':' || digits(p, 2, mi))
		return fail(err, errsize, "expected HH:MM after the date");
	if (**p == ':') {
		(*p)++;
		if (digits(p, 2, sec))
			return fail(err, errsize, "expected seconds as SS");
	}
	if (*h > 23 || *mi > 59 || *sec > 60)
		return fail(err, errsize, "hour, minute or second out of range");
	if (**p == '.' || **p == ',') {
		(*p)++;
		int n = 0;
		if (!isdigit((unsigned char)**p))
			return fail(err, errsize, "expected digits after the decimal point");
		while (isdigit((unsigned char)**p)) {
			if (n < 9) {
				*ns = *ns * 10 + (**p - '0');
				n++;
			}
			(*p)++;
		}
		while (n++ < 9)
			*ns *= 10;
	}
	return 0;
}

/* "17:05[:SS[.frac]][zone]": ns of the day, zone applied when given. */
static int parse_tod(const char *s, struct ct_time *out, char *err, size_t errsize)
{
	const char *p = s;
	unsigned h, mi, sec;
	int64_t ns, zone_s = 0;
	int zoned;
	if (parse_clock(&p, &h, &mi, &sec, &ns, err, errsize) ||
	    parse_zone(&p, &zone_s, &zoned, err, errsize))
		return -1;
	if (*p)
		return fail(err, errsize, "unexpected text after the time of day");
	*out =
	    (struct ct_time){.tod = 1,
			     .zoned = zoned,
			     .ns = ((int64_t)h * 3600 + mi * 60 + sec - zone_s) * 1000000000 + ns};
	return 0;
}

int ct_time_parse(const char *s, struct ct_time *out, char *err, size_t errsize)
{
	return ct_time_parse_ext(s, out, 0, err, errsize);
}

int ct_time_parse_ext(const char *s, struct ct_time *out, int flexible, char *err, size_t errsize)
{
	unsigned y, mo, d, h = 0, mi = 0, sec = 0;
	int64_t ns = 0, zone_s = 0;
	int zoned = 0;
	const char *p = s;

	if (!s || !*s)
		return fail(err, errsize, "empty time");
	if (*s == '+' || (flexible && *s == '-'))
		return parse_offset(s, out, err, errsize);
	if (flexible && isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) && s[2] == ':')
		return parse_tod(s, out, err, errsize);
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d))
		return fail(err, errsize,
			    flexible ? "expected an RFC 3339 time (2026-11-24T13:05:00Z), a time "
				       "of day (17:05) or an offset (+90s, -10m)"
				     : "expected an RFC 3339 time (2026-11-24T13:05:00Z) or an "
				       "offset (+90s)");
	if (mo < 1 || mo > 12 || d < 1 || d > 31)
		return fail(err, errsize, "month or day out of range");
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (parse_clock(&p, &h, &mi, &sec, &ns, err, errsize) ||
		    parse_zone(&p, &zone_s, &zoned, err, errsize))
			return -1;
	}
	if (*p)
		return fail(err, errsize, "unexpected text after the time");
	int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - zone_s;
	/* ns since 1970 fit int64 only from 1677 to 2262. */
	if (secs >= INT64_MAX / 1000000000 || secs <= INT64_MIN / 1000000000)
		return fail(err, errsize, "time out of range (years 1678 to 2261)");
	*out = (struct ct_time){.zoned = zoned, .ns = secs * 1000000000 + ns};
	return 0;
}

int ct_tz_parse(const char *s, struct ct_tz *tz, char *err, size_t errsize)
{
	const char *p = s;
	int zoned;
	*tz = (struct ct_tz){0};
	if (!strcasecmp(s, "UTC") || !strcasecmp(s, "Z") || !strcasecmp(s, "GMT"))
		return 0;
	if (!strcasecmp(s, "local")) {
		tz->local = 1;
		return 0;
	}
	if ((*p != '+' && *p != '-') || parse_zone(&p, &tz->off_s, &zoned, err, errsize) || *p)
		return fail(err, errsize, "expected local, UTC or an offset such as +01:00");
	return 0;
}

/* The UTC instant of a local wall time given as ns since the epoch read
 * as if it were UTC. */
static int64_t local_to_utc(const struct ct_tz *tz, int64_t naive)
{
	if (!tz || (!tz->local && !tz->off_s))
		return naive;
	if (!tz->local)
		return naive - tz->off_s * 1000000000;
	int64_t sec = naive / 1000000000, ns = naive % 1000000000;
	if (ns < 0) {
		ns += 1000000000;
		sec--;
	}
	time_t t = (time_t)sec;
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		return naive;
	tm.tm_isdst = -1;
	time_t u = mktime(&tm);
	return u == (time_t)-1 ? naive : (int64_t)u * 1000000000 + ns;
}

/* The naive (as-if-UTC) local time of a UTC instant. */
static int64_t utc_to_local(const struct ct_tz *tz, int64_t wall)
{
	if (!tz || (!tz->local && !tz->off_s))
		return wall;
	if (!tz->local)
		return wall + tz->off_s * 1000000000;
	time_t t = (time_t)(wall / 1000000000);
	struct tm tm;
	if (!localtime_r(&t, &tm))
		return wall;
	return wall + (int64_t)tm.tm_gmtoff * 1000000000;
}

int64_t ct_time_resolve_in(const struct ct_time *t, int64_t base_wall_ns, int64_t end_wall_ns,
			   const struct ct_tz *tz)
{
	int64_t w;
	if (t->is_offset < 0) {
		int64_t end = end_wall_ns == INT64_MIN ? base_wall_ns : end_wall_ns;
		if (__builtin_sub_overflow(end, t->ns, &w))
			return INT64_MIN;
		return w;
	}
	if (t->is_offset)
		return ct_time_resolve(t, base_wall_ns);
	if (t->tod) {
		/* The day the trace starts, in the zone the time is read in. */
		const int64_t day = 86400LL * 1000000000;
		int64_t local = t->zoned ? base_wall_ns : utc_to_local(tz, base_wall_ns);
		int64_t midnight = (local / day - (local % day < 0)) * day;
		return t->zoned ? midnight + t->ns : local_to_utc(tz, midnight + t->ns);
	}
	return t->zoned ? t->ns : local_to_utc(tz, t->ns);
}
