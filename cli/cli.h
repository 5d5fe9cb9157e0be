/* SPDX-License-Identifier: MIT */
/* cli.h: the subcommand table and the few helpers every command shares. */
#ifndef CONNTRAIL_CLI_H
#define CONNTRAIL_CLI_H

#include <stdint.h>

#define CONNTRAIL_VERSION "0.2.1"

/* Exit statuses of the CLI contract. */
enum { CT_EXIT_OK = 0, CT_EXIT_ERROR = 1, CT_EXIT_USAGE = 2 };

struct ct_cmd {
	const char *name;
	int (*fn)(int argc, char **argv); /* argv[0] is the subcommand name */
	const char *summary;
};

int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_script(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_info(int argc, char **argv);

/* "conntrail" */
extern const char *ct_progname;

/* One line on stderr, "conntrail <cmd>: ..." style, newline added. */
void ct_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Sets the command name used by ct_err. */
void ct_set_cmd(const char *name);

/* After getopt_long returned '?' or ':': one line naming the bad option;
 * returns CT_EXIT_USAGE. */
int ct_bad_option(char *const *argv);

/* "64M", "1G", "4096", "10k" -> bytes. 0 on success, -1 on a bad string. */
int ct_parse_size(const char *s, uint64_t *out);
/* Decimal integer within [min, max]. 0 on success, -1 otherwise. */
int ct_parse_long(const char *s, long long min, long long max, long long *out);

#endif
