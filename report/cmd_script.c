/* SPDX-License-Identifier: MIT */
/* Placeholder until the script command lands; replaced by its real implementation. */
#include "../cli/cli.h"

int cmd_script(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ct_err("not implemented yet");
	return CT_EXIT_ERROR;
}
