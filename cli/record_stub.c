/* SPDX-License-Identifier: MIT */
/* record_stub.c: `record` in the offline build, which has no BPF loader. */
#include "cli/cli.h"

int cmd_record(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return ct_not_built_in("with 'make offline' (no libbpf)", "to record");
}
