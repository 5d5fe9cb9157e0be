/* SPDX-License-Identifier: MIT */
/* sessopt.c: one option loop for report, script and convert. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/sessopt.h"

static const struct option session_longopts[] = {CT_SESSION_LONGOPTS};
#define NSESSION (sizeof(session_longopts) / sizeof(session_longopts[0]))

struct both {
	struct ct_session_opts *opts;
	ct_opt_fn on_opt;
	void *ctx;
};

/* The session's options first, then the command's. */
static int session_first(void *ctx, int c, const char *arg)
{
	struct both *b = ctx;

	return ct_session_opt(b->opts, c, arg) ? 0 : b->on_opt(b->ctx, c, arg);
}

int ct_session_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
		      void (*usage)(FILE *), ct_opt_fn on_opt, void *ctx,
		      struct ct_session_opts *opts)
{
	size_t n = 0;
	while (longopts[n].name)
		n++;
	struct option *all = calloc(NSESSION + n + 2, sizeof(*all));
	char *shorts = malloc(sizeof(CT_SESSION_SHORTOPTS) + strlen(shortopts) + 1);
	if (!all || !shorts) {
		free(all);
		free(shorts);
		ct_err("out of memory");
		return CT_EXIT_ERROR;
	}
	memcpy(all, session_longopts, sizeof(session_longopts));
	memcpy(all + NSESSION, longopts, n * sizeof(*all));
	all[NSESSION + n] = (struct option){"help", no_argument, NULL, 'h'};
	strcpy(shorts, CT_SESSION_SHORTOPTS);
	strcat(shorts, shortopts);
	strcat(shorts, "h");

	struct both b = {opts, on_opt, ctx};
	int rc = ct_getopt(argc, argv, shorts, all, usage, session_first, &b);
	free(all);
	free(shorts);
	if (rc == CT_OPTS_DONE) {
		opts->paths = (const char *const *)argv + optind;
		opts->npaths = (unsigned)(argc - optind);
	}
	return rc;
}
