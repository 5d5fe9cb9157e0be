/* SPDX-License-Identifier: MIT */
/*
 * cmd_report.c: `conntrail report`, one screen a responder can read: who
 * connected where, when, how often and how it ended. The command: its
 * options, and the session that feeds report.h's parts.
 */
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cmd/report/report.h"
#include "cmd/sessopt.h"

static int on_end(void *ctx, struct ct_session *s)
{
	struct report *r = ctx;
	struct derived d = {0};
	(void)s;
	rp_tally_finish(r);
	rp_derive(r, &d);
	if (r->json)
		rp_print_json(r, &d, stdout);
	else
		rp_print_text(r, &d, stdout);
	rp_derived_free(&d);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		ct_err("writing output failed");
		return -1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: conntrail report [FILE..] [--filter EXPR] [--since T] [--until T]\n"
	    "                        [--top N] [--by dest|process|pid|exe|cmdline|uid|host|\n"
	    "                                        container|name|port|family|result]\n"
	    "                        [--sort connects|failed|bytes] [--json] [--jobs N]\n"
	    "\n"
	    "Summarise one or more traces (merged): span, hosts, events, lost events, chunks\n"
	    "read; top destinations, top processes (with their command lines, how they exited\n"
	    "and their destinations), ports, families, outcomes and a rate sparkline.\n"
	    "Outcomes are final: a TCP connect that returned\n"
	    "EINPROGRESS counts as what its handshake came to (refused, timed out, ...).\n"
	    "FILE defaults to conntrail.data; '-' reads stdin.\n"
	    "\n"
	    "  -F, --filter EXPR  only events matching EXPR, e.g.\n"
	    "                       comm == \"curl\" and dport == 443\n"
	    "                       daddr in 10.0.0.0/8 or daddr in fe80::/10\n"
	    "                       family == unix and path ~ \"/run/*\"\n"
	    "                       result == ECONNREFUSED or result == unknown\n"
	    "                       dport in {53, 80, 443} and latency > 10ms\n"
	    "                       cmdline ~ '*burst.py*' and ret == ECONNREFUSED\n"
	    "                     fields: ts pid tid ppid uid gid comm exe cmdline cgroup "
	    "container\n"
	    "                     host family type proto daddr dport saddr sport path sockfd ret\n"
	    "                     result latency\n"
	    "  -S, --since T      from T: RFC 3339 (2026-11-24T13:05:00Z), a time of day on\n"
	    "                     the trace's day (17:05), an offset from the trace start\n"
	    "                     (+90s, +5m) or back from its end (-10m: the last ten minutes);\n"
	    "                     a time without a zone is UTC unless --tz says otherwise\n"
	    "  -U, --until T      up to T (inclusive)\n"
	    "      --tz ZONE      zone of times without one: UTC (default), local, +01:00\n"
	    "  -n, --top N        rows per section (default 10; 0 = all)\n"
	    "  -b, --by KEY       only one section, longer: dest, process, port, family, result,\n "
	    "                    name (DNS names: connects, and those resolved only);\n"
	    "                     or process rows by pid, exe, cmdline, uid, host or container\n"
	    "  -s, --sort KEY     destinations by connects (default), failed, or bytes (sent and\n"
	    "                     received by their closed TCP connections, shown as TX/RX)\n"
	    "  -j, --json         the same content as one JSON document\n"
	    "      --jobs N       threads that read and count (default: the CPUs available, one\n"
	    "                     when the query reads under 32 MiB); the output is the\n"
	    "                     same for any N, --jobs 1 reads on one thread\n"
	    "  -q, --quiet        no progress bar, no damage messages\n"
	    "\n"
	    "Examples:\n"
	    "  conntrail report incident.ctr\n"
	    "  conntrail report --by process --top 20 incident.ctr\n"
	    "  conntrail report --by cmdline --filter 'comm == python3' incident.ctr\n"
	    "  conntrail report --since 2026-11-24T13:05:00Z --until +10m incident.ctr\n"
	    "  conntrail report --filter 'not result == ok' --by dest host1.ctr host2.ctr\n"
	    "  conntrail report --by dest --sort bytes incident.ctr\n"
	    "  conntrail report --json incident.ctr | jq '.destinations[0]'\n");
}

static int on_name(void *ctx, const struct ct_name *n, unsigned input)
{
	(void)ctx;
	(void)input;
	rp_names_answer(n->name);
	return 0;
}

static const char *const bys[] = {"dest", "process", "port", "family", "result",    "pid",
				  "exe",  "cmdline", "uid",  "host",   "container", "name"};
static const char *const sorts[] = {"connects", "failed", "bytes"};

static int report_opt(void *ctx, int c, const char *arg)
{
	struct report *r = ctx;
	long long v;
	size_t k;

	switch (c) {
	case 'n':
		if (ct_parse_long(arg, 0, 1000000000, &v)) {
			ct_err("bad --top '%s': expected a number >= 0", arg);
			return CT_EXIT_USAGE;
		}
		r->top = (int)v;
		r->top_given = 1;
		break;
	case 'b':
		for (k = 0; k < sizeof(bys) / sizeof(bys[0]) && strcmp(arg, bys[k]); k++)
			;
		if (k == sizeof(bys) / sizeof(bys[0])) {
			ct_err("bad --by '%s': expected dest, process, pid, exe, cmdline, "
			       "uid, host, container, name, port, family or result",
			       arg);
			return CT_EXIT_USAGE;
		}
		r->by = bys[k];
		if (k >= 5 && k <= 10) { /* process rows by another key */
			r->group_by = (enum group_by)(k - 4);
			r->by_name = bys[k];
			r->by = "process";
		}
		break;
	case 's':
		for (k = 0; k < sizeof(sorts) / sizeof(sorts[0]) && strcmp(arg, sorts[k]); k++)
			;
		if (k == sizeof(sorts) / sizeof(sorts[0])) {
			ct_err("bad --sort '%s': expected connects, failed or bytes", arg);
			return CT_EXIT_USAGE;
		}
		r->sort = (enum sort_by)k;
		break;
	case 'j':
		r->json = 1;
		break;
	}
	return 0;
}

int cmd_report(int argc, char **argv)
{
	struct ct_session_opts opts = {.progress = 1};
	struct report *r = calloc(1, sizeof(*r));
	int status;

	if (!r) {
		ct_err("out of memory");
		return CT_EXIT_ERROR;
	}
	const struct option longopts[] = {
	    {"top", required_argument, NULL, 'n'},
	    {"by", required_argument, NULL, 'b'},
	    {"sort", required_argument, NULL, 's'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	r->top = 10;
	r->opts = &opts;
	status = ct_session_getopt(argc, argv, "n:b:s:j", longopts, usage, report_opt, r, &opts);
	if (status != CT_OPTS_DONE)
		goto out;
	if (r->by && !r->top_given)
		r->top = 50;
	/* Counting needs the final outcome of each event, and bytes only to
	 * sort by them. */
	opts.columns = CT_COL_RESULT | (r->sort == SORT_BYTES ? CT_COL_CLOSE : 0);

	/* Block characters only on a UTF-8 terminal locale (LC_ALL=C: ASCII). */
	setlocale(LC_CTYPE, "");
	const char *cs = nl_langinfo(CODESET);
	r->utf8 = cs && !strcmp(cs, "UTF-8");
	setlocale(LC_CTYPE, "C");

	rp_init(r);
	static const struct ct_session_ops ops = {
	    .begin = rp_on_begin,
	    .batch = rp_on_batch,
	    .lost = rp_on_lost,
	    .proc = rp_on_proc,
	    .name = on_name,
	    .end = on_end,
	};
	status = ct_session_run(&opts, &ops, r);
	rp_free(r);
	rp_names_free();
out:
	free(r);
	return status;
}
