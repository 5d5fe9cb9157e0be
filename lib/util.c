/* SPDX-License-Identifier: MIT */
/* util.c: errors, argument parsing and allocation shared by every command. */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/text.h"
#include "lib/util.h"

const char *ct_progname = "conntrail";
static const char *cmd_name;

void ct_set_cmd(const char *name)
{
	cmd_name = name;
}

void ct_err(const char *fmt, ...)
{
	va_list ap;

	if (cmd_name)
		fprintf(stderr, "%s %s: ", ct_progname, cmd_name);
	else
		fprintf(stderr, "%s: ", ct_progname);
	/* Messages quote file names, arguments and strings from traces: the
	 * whole line goes through the terminal escape, so none of them can
	 * reach the terminal raw or break the line. */
	char msg[4096], esc[CT_TERM_MAX(sizeof(msg))];
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	size_t len = n < 0 ? 0 : (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1;
	size_t e = ct_term_escape(esc, msg, len, 0);
	esc[e++] = '\n';
	fwrite(esc, 1, e, stderr);
}

int ct_parse_long(const char *s, long long min, long long max, long long *out)
{
	char *end;

	if (!s || !*s)
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int ct_parse_duration(const char *s, uint64_t *ns)
{
	static const struct {
		const char *unit;
		double scale;
	} units[] = {{"", 1e9}, {"s", 1e9}, {"ms", 1e6}, {"us", 1e3}, {"ns", 1}, {"m", 60e9}};
	char *end;

	if (!s || ((*s < '0' || *s > '9') && *s != '.'))
		return -1;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit))
			continue;
		double t = v * units[i].scale;
		if (!(t >= 0) || t > 86400e9)
			return -1;
		*ns = (uint64_t)t;
		return 0;
	}
	return -1;
}

int ct_parse_size(const char *s, uint64_t *out)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	unsigned shift = 0;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 't':
	case 'T':
		shift = 40;
		break;
	default:
		return -1;
	}
	if (*end && end[1] && !(end[1] == 'B' || end[1] == 'b' || (end[1] == 'i' && end[2] == 'B')))
		return -1;
	if (shift && v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

int ct_bad_option(char *const *argv)
{
	/* getopt's own message is off (opterr = 0): one line of ours instead. */
	if (optind > 0 && !strncmp(argv[optind - 1], "--", 2))
		ct_err("%s: unknown option or missing argument", argv[optind - 1]);
	else
		ct_err("-%c: unknown option or missing argument", optopt);
	return CT_EXIT_USAGE;
}

int ct_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
	      void (*usage)(FILE *), ct_opt_fn on_opt, void *ctx)
{
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (c == '?' || c == ':')
			return ct_bad_option(argv);
		if (c == 0) /* a long option with a flag: getopt_long set it */
			continue;
		if (c == 'h') {
			usage(stdout);
			return CT_EXIT_OK;
		}
		if ((rc = on_opt(ctx, c, optarg)))
			return rc;
	}
	return CT_OPTS_DONE;
}

uint64_t ct_now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int ct_grow(void *arrp, size_t *cap, size_t size, size_t first)
{
	size_t c = *cap ? *cap * 2 : first;
	void *old, *p;
	memcpy(&old, arrp, sizeof(old));
	if (c < *cap || c > SIZE_MAX / size || !(p = realloc(old, c * size)))
		return -1;
	memcpy(arrp, &p, sizeof(p));
	*cap = c;
	return 0;
}

void *ct_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		ct_err("out of memory");
		exit(CT_EXIT_ERROR);
	}
	return p;
}

void *ct_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p) {
		ct_err("out of memory");
		exit(CT_EXIT_ERROR);
	}
	return p;
}

unsigned ct_cpus_available(void)
{
	cpu_set_t set;
	if (!sched_getaffinity(0, sizeof(set), &set) && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}
