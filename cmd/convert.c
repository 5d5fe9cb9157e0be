/* SPDX-License-Identifier: MIT */
/*
 * cmd_convert.c: `conntrail convert`, a trace (or several, merged in time
 * order) to pcapng, pcap, CSV, JSON lines, Tracee JSON or ClickHouse
 * RowBinary. The formats live in export/ behind the sink interface of
 * export.h; this file picks one,
 * runs the session into it and publishes the result atomically: the output
 * is written to a temporary file next to OUT (mode 0600: it says who talked
 * to whom) and renamed over OUT only when everything succeeded.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "export/eventfmt.h"
#include "export/export.h"
#include "lib/outfile.h"
#include "lib/text.h"
#include "cmd/parfmt.h"
#include "cmd/sessopt.h"
#include "session/session.h"

struct convert {
	const struct ct_export_format *fmt;
	struct ct_session_opts *opts; /* while parsing options */
	const char *to;		      /* --to */
	const char *out_path;	      /* "-" is stdout */
	const char *cmdline;
	int fd;
	int replies;
	int process_info;
	int csv_raw;
	int quiet;
	struct ct_session *s;
	struct ct_out out;
	int out_ready;
	struct ct_export_input *inputs;
	struct ct_export_info info;
	struct ct_exporter *x;
	/* --jobs > 1 and a parallel format: events formatted on that many
	 * threads (cmd/parfmt.h), part k by its own sink into its own buffer. */
	struct parfmt *pf;
	struct cv_part {
		struct ct_out out;
		struct ct_exporter *x;
	} * parts;
	uint64_t events;
	int failed; /* a write error was reported */
	int epipe;  /* stdout reader went away: stop quietly */
};

/* The output, for the signal handler to remove its temporary file. */
static struct ct_outfile outfile;
static volatile sig_atomic_t tmp_live;

static void on_fatal_signal(int sig)
{
	if (tmp_live && ct_outfile_tmp(&outfile))
		unlink(ct_outfile_tmp(&outfile));
	signal(sig, SIG_DFL);
	raise(sig);
}

static int write_failed(struct convert *cv)
{
	if (cv->out.err == EPIPE && cv->fd == STDOUT_FILENO) {
		cv->epipe = 1;
	} else if (!cv->failed) {
		ct_err("%s: %s", cv->fd == STDOUT_FILENO ? "standard output" : cv->out_path,
		       strerror(cv->out.err ? cv->out.err : EIO));
	}
	cv->failed = 1;
	return -1;
}

static void parts_free(struct convert *cv)
{
	unsigned n = parfmt_jobs(cv->pf);
	parfmt_free(cv->pf);
	cv->pf = NULL;
	for (unsigned k = 0; cv->parts && k < n; k++) {
		ct_export_drop(cv->fmt, cv->parts[k].x);
		ct_out_free(&cv->parts[k].out);
	}
	free(cv->parts);
	cv->parts = NULL;
}

/* Formatting threads and a sink each; without them (one job, or no
 * memory or thread for them) events are formatted here, as before. */
static void parts_start(struct convert *cv, unsigned jobs)
{
	if (!(cv->pf = parfmt_new(jobs)))
		return;
	unsigned n = parfmt_jobs(cv->pf);
	cv->parts = calloc(n, sizeof(*cv->parts));
	for (unsigned k = 0; cv->parts && k < n; k++) {
		struct cv_part *pt = &cv->parts[k];
		if (ct_out_init(&pt->out, CT_OUT_MEMORY, 0) < 0 ||
		    ct_export_open_part(cv->fmt, &pt->x, &pt->out, &cv->info) < 0) {
			pt->x = NULL;
			parts_free(cv);
			return;
		}
	}
	if (!cv->parts)
		parts_free(cv);
}

static int on_begin(void *ctx, struct ct_session *s)
{
	struct convert *cv = ctx;
	unsigned n = ct_session_ninputs(s);

	cv->s = s;
	cv->inputs = calloc(n ? n : 1, sizeof(*cv->inputs));
	if (!cv->inputs) {
		ct_err("out of memory");
		cv->failed = 1;
		return -1;
	}
	for (unsigned i = 0; i < n; i++) {
		const struct ct_input *in = ct_session_input(s, i);
		cv->inputs[i].path = in->path;
		cv->inputs[i].hdr = in->hdr;
		cv->inputs[i].host_index = in->host_index;
	}
	cv->info.ninputs = n;
	cv->info.inputs = cv->inputs;
	cv->info.nhosts = ct_session_nhosts(s);
	cv->info.cmdline = cv->cmdline;
	cv->info.replies = cv->replies;
	cv->info.process_info = cv->process_info;
	cv->info.csv_raw = cv->csv_raw;

	if (ct_out_init(&cv->out, cv->fd, 0) < 0) {
		ct_err("out of memory");
		cv->failed = 1;
		return -1;
	}
	cv->out_ready = 1;
	/* Our own temporary file: past 64 MiB, bypass the page cache (see
	 * ct_out_direct). Not stdout, whose open file may be shared with the
	 * shell, nor a device or FIFO written in place. */
	if (cv->fd != STDOUT_FILENO && outfile.kind == CT_OUTF_TEMP)
		ct_out_direct_after(&cv->out, 64u << 20);
	if (ct_export_open(cv->fmt, &cv->x, &cv->out, &cv->info) < 0) {
		cv->x = NULL;
		return write_failed(cv);
	}
	if (cv->fmt->ops->parallel)
		parts_start(cv, ct_session_jobs(s));
	return 0;
}

/* A sink's answer: 0, or the write failure reported. */
static inline int sunk(struct convert *cv, int rc)
{
	return rc < 0 ? write_failed(cv) : 0;
}

static int on_event(void *ctx, const struct ct_event *ev, unsigned input)
{
	struct convert *cv = ctx;

	cv->events++;
	return sunk(
	    cv, cv->fmt->ops->event(cv->x, ev, input, ct_session_wall_ns(cv->s, input, ev->ts_ns)));
}

static int part_event(void *ctx, unsigned k, const struct ct_event *ev, unsigned input)
{
	struct convert *cv = ctx;
	return cv->fmt->ops->event(cv->parts[k].x, ev, input,
				   ct_session_wall_ns(cv->s, input, ev->ts_ns));
}

static size_t part_len(void *ctx, unsigned k)
{
	return ((struct convert *)ctx)->parts[k].out.len;
}

/* The round's bytes into the output, in order. */
static int parts_join(void *ctx, const struct parfmt_span *sp, unsigned n)
{
	struct convert *cv = ctx;
	for (unsigned i = 0; i < n; i++)
		if (ct_out_write(&cv->out, cv->parts[sp[i].part].out.buf + sp[i].from,
				 sp[i].to - sp[i].from) < 0)
			return write_failed(cv);
	for (unsigned k = 0; k < parfmt_jobs(cv->pf); k++)
		cv->parts[k].out.len = 0;
	return 0;
}

static int on_batch(void *ctx, const struct ct_batch *b, unsigned input)
{
	static const struct parfmt_ops ops = {part_event, part_len, parts_join};
	struct convert *cv = ctx;

	if (!parfmt_worth(cv->pf, b))
		return parfmt_each(b, input, on_event, cv);
	cv->events += b->n;
	if (parfmt_batch(cv->pf, b, input, &ops, cv) == 0)
		return 0;
	if (!cv->failed) { /* a part's sink failed: only memory can */
		ct_err("out of memory");
		cv->failed = 1;
	}
	return -1;
}

static int on_lost(void *ctx, const struct ct_lost *l, unsigned input)
{
	struct convert *cv = ctx;
	int64_t wall = ct_session_wall_ns(cv->s, input, l->ts_ns);

	return cv->fmt->ops->lost ? sunk(cv, cv->fmt->ops->lost(cv->x, l, input, wall)) : 0;
}

static int on_name(void *ctx, const struct ct_name *n, unsigned input)
{
	struct convert *cv = ctx;
	int64_t wall = ct_session_wall_ns(cv->s, input, n->ts_ns);

	return cv->fmt->ops->on_name ? sunk(cv, cv->fmt->ops->on_name(cv->x, n, input, wall)) : 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: conntrail convert [FILE..] -o OUT [--to %s]\n"
		"                         [--filter EXPR] [--since T] [--until T] [--replies] "
		"[--process-info]\n"
		"                         [--csv-raw] [-q]"
		" [--jobs N]\n"
		"\n"
		"Export the connect events of one or more traces (merged in time order).\n"
		"FILE defaults to conntrail.data; '-' reads standard input. The format comes from\n"
		"--to, else from OUT's name (",
		ct_export_names());
	for (size_t i = 0; ct_export_formats[i].name; i++)
		for (const char *const *x = ct_export_formats[i].suffixes; x && *x; x++)
			fprintf(f, "%s%s", i || x != ct_export_formats[i].suffixes ? " " : "", *x);
	fprintf(f, ").\n"
		   "OUT is written to a temporary file and renamed when complete; '-o -' writes\n"
		   "standard output (then --to is required).\n"
		   "\n"
		   "  -o, --output OUT   where to write ('-' = standard output)\n"
		   "  -t, --to FORMAT\n");
	for (size_t i = 0; ct_export_formats[i].name; i++)
		fprintf(f, "      %-14s %s\n", ct_export_formats[i].name,
			ct_export_formats[i].help);
	fprintf(
	    f,
	    "  -F, --filter EXPR  only events matching EXPR (see conntrail-report(1))\n"
	    "  -S, --since T      from T: RFC 3339, a time of day (17:05), an offset from the\n"
	    "                     trace start (+90s) or back from its end (-10m)\n"
	    "  -U, --until T      up to T (inclusive)\n"
	    "      --tz ZONE      zone of times without one: UTC (default), local, +01:00\n"
	    "  -r, --replies      pcapng/pcap: add the reply each outcome implies (SYN/ACK,\n"
	    "                     RST/ACK, ICMP unreachable), stamped when it came\n"
	    "      --process-info pcapng: also each process's Process Information Block, as\n"
	    "                     Wireshark 4.7's own capture writes it (name, path,\n"
	    "                     arguments per packet); Wireshark before 4.7 lists each\n"
	    "                     block as a frame of its own\n"
	    "      --csv-raw      csv: text cells as they are; by default a cell that starts\n"
	    "                     with = + - @ tab or CR gets a leading ' so that a\n"
	    "                     spreadsheet shows it as text, not a formula\n"
	    "      --jobs N       threads that read and format (default: the CPUs available,\n"
	    "                     one when the query reads under 32 MiB); the output is\n"
	    "                     the same for any N, --jobs 1 works on one thread\n"
	    "  -q, --quiet        no progress bar, no notes on stderr\n"
	    "\n"
	    "Examples:\n"
	    "  conntrail convert incident.ctr -o incident.pcapng && wireshark incident.pcapng\n"
	    "  conntrail convert incident.ctr -o curl.csv --filter 'comm == \"curl\"'\n"
	    "  conntrail convert host1.ctr host2.ctr -o both.pcapng --since +5m --until +10m\n"
	    "  conntrail convert incident.ctr -o - --to jsonl | jq -r .daddr | sort | uniq -c\n"
	    "  conntrail convert incident.ctr -o events.tracee.json\n"
	    "  conntrail convert web1.ctr* -o - --to clickhouse |\n"
	    "      clickhouse-client --query 'INSERT INTO conntrail.connects FORMAT RowBinary'\n");
}

/* "conntrail convert ..." as a shell would need it, for the file's comment. */
static char *convert_cmdline(int argc, char **argv)
{
	char *tail = ct_shell_join(argc, argv), *s = NULL;
	if (tail && asprintf(&s, "%s %s", ct_progname, tail) < 0)
		s = NULL;
	free(tail);
	return s;
}

/* The output format from --to or the output name, and the options that
 * only some formats take. 0, or -1 after the usage error. */
static int choose_format(struct convert *cv)
{
	const char *to = cv->to;

	if (to) {
		cv->fmt = ct_export_by_name(to);
		if (!cv->fmt) {
			ct_err("--to %s: unknown format; one of %s", to, ct_export_names());
			return -1;
		}
	} else if (!strcmp(cv->out_path, "-")) {
		ct_err("-o -: give the format with --to (%s)", ct_export_names());
		return -1;
	} else {
		cv->fmt = ct_export_by_path(cv->out_path);
		if (!cv->fmt) {
			ct_err("%s: cannot tell the format from the name; use --to (%s)",
			       cv->out_path, ct_export_names());
			return -1;
		}
	}
	if (cv->csv_raw && strcmp(cv->fmt->name, "csv")) {
		ct_err("--csv-raw: only for csv, not %s", cv->fmt->name);
		return -1;
	}
	if (cv->process_info && strcmp(cv->fmt->name, "pcapng")) {
		ct_err("--process-info: only for pcapng, not %s", cv->fmt->name);
		return -1;
	}
	if (cv->replies && !cv->fmt->replies) {
		ct_err("--replies: only for pcapng and pcap, not %s", cv->fmt->name);
		return -1;
	}
	return 0;
}

static int convert_opt(void *ctx, int c, const char *arg)
{
	struct convert *cv = ctx;

	switch (c) {
	case 'o':
		cv->out_path = arg;
		break;
	case 't':
		cv->to = arg;
		break;
	case 'r':
		cv->replies = 1;
		break;
	}
	return 0;
}

int cmd_convert(int argc, char **argv)
{
	struct ct_session_opts opts = {.progress = 1, .warn_lost = 1};
	struct convert cv = {.fd = -1, .opts = &opts};
	const struct option longopts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"to", required_argument, NULL, 't'},
	    {"replies", no_argument, NULL, 'r'},
	    {"csv-raw", no_argument, &cv.csv_raw, 1},
	    {"process-info", no_argument, &cv.process_info, 1},
	    {NULL, 0, NULL, 0},
	};
	int rc = ct_session_getopt(argc, argv, "o:t:r", longopts, usage, convert_opt, &cv, &opts);

	if (rc != CT_OPTS_DONE)
		return rc;
	cv.quiet = opts.quiet;
	if (!cv.out_path || !*cv.out_path) {
		ct_err("-o OUT is required (a file name, or '-' with --to)");
		return CT_EXIT_USAGE;
	}
	if (choose_format(&cv))
		return CT_EXIT_USAGE;

	char *cmdline = convert_cmdline(argc, argv);
	cv.cmdline = cmdline;
	if (!opts.npaths) {
		static const char *const def[] = {"conntrail.data"};
		opts.paths = def;
		opts.npaths = 1;
	}
	if (ct_outfile_open(&outfile, cv.out_path, opts.paths, opts.npaths) < 0) {
		free(cmdline);
		return CT_EXIT_ERROR;
	}
	cv.fd = outfile.fd;
	int to_stdout = outfile.kind == CT_OUTF_STDOUT;
	if (to_stdout) {
		signal(SIGPIPE, SIG_IGN); /* EPIPE ends the output quietly */
	} else {
		tmp_live = outfile.kind == CT_OUTF_TEMP;
		signal(SIGINT, on_fatal_signal);
		signal(SIGTERM, on_fatal_signal);
		signal(SIGHUP, on_fatal_signal);
	}

	static const struct ct_session_ops ops = {
	    .begin = on_begin,
	    .batch = on_batch,
	    .lost = on_lost,
	    .name = on_name,
	};
	int status = ct_session_run(&opts, &ops, &cv);

	parts_free(&cv);
	if (cv.x) {
		if (ct_export_close(cv.fmt, cv.x) < 0 && status == CT_EXIT_OK) {
			write_failed(&cv);
			status = CT_EXIT_ERROR;
		}
		cv.x = NULL;
	}
	if (cv.out_ready)
		ct_out_free(&cv.out);
	if (cv.epipe)
		status = CT_EXIT_OK;
	else if (cv.failed && status == CT_EXIT_OK)
		status = CT_EXIT_ERROR;

	if (!to_stdout) {
		if (status == CT_EXIT_OK) {
			if (ct_outfile_commit(&outfile) < 0)
				status = CT_EXIT_ERROR;
		} else {
			ct_outfile_discard(&outfile);
		}
		tmp_live = 0;
	}
	free(cv.inputs);
	free(cmdline);
	return status;
}
