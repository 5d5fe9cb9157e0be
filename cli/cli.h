/* SPDX-License-Identifier: MIT */
/* cli.h: the subcommand table: one cmd_<name> per command (perf, git). */
#ifndef CONNTRAIL_CLI_H
#define CONNTRAIL_CLI_H

#include "lib/util.h"

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
int cmd_top(int argc, char **argv);

/* The answer of a command this build leaves out (the *_stub.c files): how
 * the binary was made and what `make` would give. */
static inline int ct_not_built_in(const char *made, const char *todo)
{
	ct_err("not built in: this binary was made %s; build with 'make' %s", made, todo);
	return CT_EXIT_ERROR;
}

#endif
