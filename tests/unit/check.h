/* SPDX-License-Identifier: MIT */
/* check.h: the unit tests' assertions. CHECK(cond) or CHECK(cond, fmt, ...);
 * CHECK_EQ(a, b) prints both values. A test ends with t_fails checks failed. */
#ifndef TEST_CHECK_H
#define TEST_CHECK_H

#include <stdarg.h>
#include <stdio.h>

static int t_fails;

static inline void check_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s:%d: check failed: %s", file, line, cond);
	if (fmt[0]) {
		fputs(": ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
	}
	fputc('\n', stderr);
	t_fails++;
}

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			check_fail(__FILE__, __LINE__, #cond, "" __VA_ARGS__);                     \
	} while (0)

#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		long long a_ = (long long)(a), b_ = (long long)(b);                                \
		if (a_ != b_) {                                                                    \
			fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__,      \
				__LINE__, #a, a_, #b, b_);                                         \
			t_fails++;                                                                 \
		}                                                                                  \
	} while (0)

/* The exit status of a test program, with one line either way. */
static inline int check_done(const char *name)
{
	if (t_fails) {
		fprintf(stderr, "%s: %d checks failed\n", name, t_fails);
		return 1;
	}
	printf("%s: all checks passed\n", name);
	return 0;
}

#endif
