/* SPDX-License-Identifier: MIT */
/* top_stub.c: `top` where it is not built in: the offline build (which
 * needs no ncurses) and the static binary of the qemu guests. */
#include "cli/cli.h"

int cmd_top(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return ct_not_built_in("without ncurses ('make offline' or the static guest binary)",
			       "for top");
}
