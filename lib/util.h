/* SPDX-License-Identifier: MIT */
/*
 * util.h: what every layer of the offline side and record share: the exit
 * statuses of the CLI contract, one-line errors, and argument parsing.
 */
#ifndef CONNTRAIL_LIB_UTIL_H
#define CONNTRAIL_LIB_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define CONNTRAIL_VERSION "0.2.1"

/* Exit statuses of the CLI contract. */
enum { CT_EXIT_OK = 0, CT_EXIT_ERROR = 1, CT_EXIT_USAGE = 2 };

/* "conntrail" */
extern const char *ct_progname;

/* One line on stderr, "conntrail <cmd>: ..." style, newline added. */
void ct_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Sets the command name used by ct_err. */
void ct_set_cmd(const char *name);

/* After getopt_long returned '?' or ':': one line naming the bad option;
 * returns CT_EXIT_USAGE. */
int ct_bad_option(char *const *argv);

/* One command's option loop. Resets getopt; -h/--help prints usage on
 * stdout; an unknown option or a missing argument gets ct_bad_option's line.
 * A long option with a flag pointer is getopt_long's to set (a flag needs
 * no case). Every other option goes to on_opt, which returns 0 to go on or the exit
 * status to stop with. Returns CT_OPTS_DONE when the operands start at
 * optind, else the exit status (CT_EXIT_OK after --help). */
#define CT_OPTS_DONE (-1)
struct option;
typedef int (*ct_opt_fn)(void *ctx, int c, const char *arg);
int ct_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
	      void (*usage)(FILE *), ct_opt_fn on_opt, void *ctx);

/* "64M", "1G", "4096", "10k" -> bytes. 0 on success, -1 on a bad string. */
int ct_parse_size(const char *s, uint64_t *out);
/* "100ms", "1s", "1.5s", "2m", "500us", "2" (seconds) -> ns. 0 on
 * success, -1 on a bad string or one beyond a day. */
int ct_parse_duration(const char *s, uint64_t *ns);
/* Decimal integer within [min, max]. 0 on success, -1 otherwise. */
int ct_parse_long(const char *s, long long min, long long max, long long *out);
/* Clock clk (CLOCK_MONOTONIC, CLOCK_REALTIME, ...) now, in ns. */
uint64_t ct_now_ns(clockid_t clk);
/* CPUs this process may run on (its affinity mask), at least 1. */
unsigned ct_cpus_available(void);

/* For an array at *(T **)arrp of *cap elements of size bytes, all used:
 * grown to twice *cap (first when empty). 0, or -1 out of memory with the
 * array as it was. */
int ct_grow(void *arrp, size_t *cap, size_t size, size_t first);

/* Out of memory is fatal: one line, exit 1. */
void *ct_xrealloc(void *p, size_t n);
void *ct_xcalloc(size_t n, size_t size);

#endif
