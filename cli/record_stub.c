/* SPDX-License-Identifier: MIT */
/* record_stub.c: `record` in the offline build, which has no BPF loader. */
#include "cli/cli.h"

int cmd_record(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ct_err("not built in: this binary was made with 'make offline' (no libbpf); "
	       "build with 'make' to record");
	return CT_EXIT_ERROR;
}
