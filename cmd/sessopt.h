/* SPDX-License-Identifier: MIT */
/* sessopt.h: the option loop of the commands that read traces. */
#ifndef CONNTRAIL_CMD_SESSOPT_H
#define CONNTRAIL_CMD_SESSOPT_H

#include <stdio.h>

#include "lib/util.h"
#include "session/session.h"

struct option;

/* ct_getopt with the session's options (-F, -S, -U, -q, --tz, --jobs: into
 * *opts) and -h/--help besides the command's own: shortopts and longopts
 * (NULL-terminated; a row with a flag pointer sets it, as getopt_long
 * does) name only the command's. On CT_OPTS_DONE opts->paths and
 * opts->npaths are the operands. */
int ct_session_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
		      void (*usage)(FILE *), ct_opt_fn on_opt, void *ctx,
		      struct ct_session_opts *opts);

#endif
