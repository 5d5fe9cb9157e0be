/* SPDX-License-Identifier: MIT */
/*
 * session.h: the layer between trace files and the offline commands
 * (report, script, convert). It opens the inputs, merges them in time order,
 * applies --since/--until and --filter (pushing both down to the index so
 * chunks that cannot match are never decompressed), keeps the process table
 * built from process records, and hands each matching event to callbacks.
 */
#ifndef CONNTRAIL_SESSION_H
#define CONNTRAIL_SESSION_H

#include <stdint.h>
#include <stdio.h>

#include "format/ctrace.h"

/* One opened input file. */
struct ct_input {
	const char *path;
	struct ct_reader *reader;
	const struct ct_header *hdr;
	unsigned host_index; /* inputs with the same hostname share one index */
};

struct ct_session;

struct ct_session_opts {
	const char *const *paths; /* "-" is stdin; no paths means "conntrail.data" */
	unsigned npaths;
	const char *filter; /* --filter EXPR or NULL */
	const char *since;  /* --since T or NULL */
	const char *until;  /* --until T or NULL */
	int quiet;	    /* no progress bar, no damage chatter */
	int progress;	    /* 1: show a progress bar when stderr is a terminal */
};

struct ct_session_ops {
	/* All inputs are open: headers may be read with ct_session_input(). */
	int (*begin)(void *ctx, struct ct_session *s);
	/* A connect event that passed the time window and the filter. proc is
	 * never NULL (fields unknown to the table are NULL/0). input indexes
	 * ct_session_input(). Return <0 to stop with that error. */
	int (*event)(void *ctx, const struct ct_event *ev, const struct ct_proc_info *proc,
		     unsigned input);
	/* Optional: a whole chunk of events at once, in time order, instead of
	 * event() for each (used when there is one input and no --filter, for
	 * chunks the reader can hand over as columns: those inside the time
	 * window).
	 * procs[j] is the process of b->procs[j]. */
	int (*batch)(void *ctx, const struct ct_batch *b, const struct ct_proc_info *procs,
		     unsigned input);
	/* Lost-event records (never filtered out). */
	int (*lost)(void *ctx, const struct ct_lost *l, unsigned input);
	/* Process records, after they updated the table. Optional. */
	int (*proc)(void *ctx, const struct ct_proc *p, unsigned input);
	/* After the last record. */
	int (*end)(void *ctx, struct ct_session *s);
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
/* Reader stats summed over the inputs (chunks read/skipped, lost, ...). */
void ct_session_stats(const struct ct_session *s, struct ct_reader_stats *st);
/* Wall-clock ns of an event of input i: ts_ns + that header's offset. */
int64_t ct_session_wall_ns(const struct ct_session *s, unsigned input, uint64_t ts_ns);
/* Earliest trace start among the inputs (wall-clock ns): what "+90s" in
 * --since/--until and in filters counts from. */
int64_t ct_session_start_wall(const struct ct_session *s);

#endif
