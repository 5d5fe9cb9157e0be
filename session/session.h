/* SPDX-License-Identifier: MIT */
/*
 * session.h: the layer between trace files and the offline commands
 * (report, script, convert). It opens the inputs, merges them in time order,
 * applies --since/--until and --filter (pushing both down to the index so
 * chunks that cannot match are never decompressed), keeps the process table
 * built from process records, and hands the matching events to callbacks:
 * as batches, or one by one as views of those batches.
 */
#ifndef CONNTRAIL_SESSION_H
#define CONNTRAIL_SESSION_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "format/ctrace.h"

/* One opened input file. */
struct ct_input {
	const char *path;
	struct ct_reader *reader;
	const struct ct_header *hdr;
	unsigned host_index; /* inputs with the same hostname share one index */
	int live;	     /* a pipe or a followed file: records come as written */
};

struct ct_session;

struct ct_session_opts {
	const char *const *paths; /* "-" is stdin; no paths means "conntrail.data" */
	unsigned npaths;
	const char *filter; /* --filter EXPR or NULL */
	const char *since;  /* --since T or NULL */
	const char *until;  /* --until T or NULL */
	const char *tz;	    /* --tz local|UTC|+HH:MM or NULL (UTC) */
	int quiet;	    /* no progress bar, no damage chatter */
	int progress;	    /* 1: show a progress bar when stderr is a terminal */
	uint32_t columns;   /* CT_COL_* the command reads (0: all) */
	/* Follow the one input as it is written (script --follow, top FILE):
	 * see ct_reader_open_follow; a file of a --rotate ring is followed on
	 * to the next file of the ring (session/follow.c). stop (optional)
	 * ends the wait for more (Ctrl-C). */
	int follow;
	int (*stop)(void *ctx, int caught_up);
	void *stop_ctx;
	int warn_lost; /* 1: one line at the end on stderr when records were lost */
	/* --jobs N: threads that read (NULL: the CPUs this process may run
	 * on). 1 reads on the calling thread alone; more decode chunks ahead
	 * in parallel, with the same output. */
	const char *jobs;
};

/* The options every reading command takes, for its getopt_long tables:
 * -F/--filter, -S/--since, -U/--until, -q/--quiet, --tz, --jobs. */
#define CT_SESSION_SHORTOPTS "F:S:U:q"
#define CT_OPT_TZ 0x7a01   /* --tz: no short option */
#define CT_OPT_JOBS 0x7a02 /* --jobs: no short option (-j is --json) */
#define CT_SESSION_LONGOPTS                                                                        \
	{"filter", required_argument, NULL, 'F'}, {"since", required_argument, NULL, 'S'},         \
	    {"until", required_argument, NULL, 'U'}, {"tz", required_argument, NULL, CT_OPT_TZ},   \
	    {"jobs", required_argument, NULL, CT_OPT_JOBS},                                        \
	{                                                                                          \
		"quiet", no_argument, NULL, 'q'                                                    \
	}
/* 1 when getopt's c was one of those (and o now holds it), else 0. */
int ct_session_opt(struct ct_session_opts *o, int c, const char *arg);

struct ct_session_ops {
	/* All inputs are open: headers may be read with ct_session_input(). */
	int (*begin)(void *ctx, struct ct_session *s);
	/* Events that passed the time window and the filter, in time order,
	 * as a batch whose procinfo is set (a slice or a selection of a
	 * reader's batch, valid during the call). input indexes
	 * ct_session_input(). Every callback may return <0 to stop the run,
	 * which then ends with status 1: the callback has said why. */
	int (*batch)(void *ctx, const struct ct_batch *b, unsigned input);
	/* Instead of batch (when batch is NULL): the same events one at a
	 * time, as views of the batch (ev->proc set). */
	int (*event)(void *ctx, const struct ct_event *ev, unsigned input);
	/* Lost-record records (never filtered out). Optional. */
	int (*lost)(void *ctx, const struct ct_lost *l, unsigned input);
	/* Process records, after they updated the table. Optional. */
	int (*proc)(void *ctx, const struct ct_proc *p, unsigned input);
	/* Name records (DNS answers), after they joined the host's name
	 * table that gives events their dname. Optional. */
	int (*name)(void *ctx, const struct ct_name *n, unsigned input);
	/* Read from a stream: the outcome of an attempt handed out earlier.
	 * Optional. */
	int (*outcome)(void *ctx, const struct ct_outcome *o, unsigned input);
	/* After the last record. */
	int (*end)(void *ctx, struct ct_session *s);
	/* Reading a live input (a pipe, a followed file): after each chunk's
	 * records, as more may not come for a while, so output buffered so
	 * far should go out now. Optional. */
	int (*flush)(void *ctx);
};

/*
 * Run a whole session. Returns the process exit status the command should
 * use: 0 done, 1 runtime error, 2 usage error (bad filter/time/argument);
 * the one-line error has already been printed on stderr, naming the file or
 * argument at fault.
 */
int ct_session_run(const struct ct_session_opts *opts, const struct ct_session_ops *ops, void *ctx);

unsigned ct_session_ninputs(const struct ct_session *s);
const struct ct_input *ct_session_input(const struct ct_session *s, unsigned i);
/* Number of distinct hosts among the inputs. */
unsigned ct_session_nhosts(const struct ct_session *s);
/* The host an event of input i came from: the header's hostname, NULL when
 * it has none. */
const char *ct_session_host(const struct ct_session *s, unsigned input);
/* Reader stats summed over the inputs (chunks read/skipped, lost, ...). */
void ct_session_stats(const struct ct_session *s, struct ct_reader_stats *st);
/* Wall-clock ns of an event of input i: ts_ns + that header's offset. */
int64_t ct_session_wall_ns(const struct ct_session *s, unsigned input, uint64_t ts_ns);
/* The --since/--until window in wall-clock ns (INT64_MIN/INT64_MAX for an
 * open end); 1 when one was given. */
int ct_session_window(const struct ct_session *s, int64_t *since, int64_t *until);
/* --jobs: the threads the command may use (at least 1). */
unsigned ct_session_jobs(const struct ct_session *s);
/* Earliest trace start among the inputs (wall-clock ns): what "+90s" in
 * --since/--until and in filters counts from. */
int64_t ct_session_start_wall(const struct ct_session *s);

#endif
