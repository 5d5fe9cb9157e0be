/* SPDX-License-Identifier: MIT */
/* timespec.c: RFC 3339 times and "+90s" offsets (see timespec.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

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
		return fail(err, errsize, "expected digits after '+'");
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
	out->is_offset = 1;
	out->ns = (int64_t)ns;
	return 0;
}

int ct_time_parse(const char *s, struct ct_time *out, char *err, size_t errsize)
{
	unsigned y, mo, d, h = 0, mi = 0, sec = 0;
	int64_t ns = 0, zone_s = 0;
	const char *p = s;

	if (!s || !*s)
		return fail(err, errsize, "empty time");
	if (*s == '+')
		return parse_offset(s, out, err, errsize);
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d))
		return fail(err, errsize,
			    "expected an RFC 3339 time (2026-11-24T13:05:00Z) or an offset (+90s)");
	if (mo < 1 || mo > 12 || d < 1 || d > 31)
		return fail(err, errsize, "month or day out of range");
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
			return fail(err, errsize, "expected HH:MM after the date");
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &sec))
				return fail(err, errsize, "expected seconds as SS");
		}
		if (h > 23 || mi > 59 || sec > 60)
			return fail(err, errsize, "hour, minute or second out of range");
		if (*p == '.' || *p == ',') {
			p++;
			int n = 0;
			if (!isdigit((unsigned char)*p))
				return fail(err, errsize,
					    "expected digits after the decimal point");
			while (isdigit((unsigned char)*p)) {
				if (n < 9) {
					ns = ns * 10 + (*p - '0');
					n++;
				}
				p++;
			}
			while (n++ < 9)
				ns *= 10;
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p++ == '-' ? -1 : 1;
			unsigned zh, zm = 0;
			if (digits(&p, 2, &zh))
				return fail(err, errsize, "expected a zone like +01:00");
			if (*p == ':')
				p++;
			if (*p && digits(&p, 2, &zm))
				return fail(err, errsize, "expected a zone like +01:00");
			if (zh > 23 || zm > 59)
				return fail(err, errsize, "zone out of range");
			zone_s = sign * (int64_t)(zh * 3600 + zm * 60);
		}
	}
	if (*p)
		return fail(err, errsize, "unexpected text after the time");
	int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - zone_s;
	/* ns since 1970 fit int64 only from 1677 to 2262. */
	if (secs >= INT64_MAX / 1000000000 || secs <= INT64_MIN / 1000000000)
		return fail(err, errsize, "time out of range (years 1678 to 2261)");
	out->is_offset = 0;
	out->ns = secs * 1000000000 + ns;
	return 0;
}
