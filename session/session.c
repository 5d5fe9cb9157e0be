/* SPDX-License-Identifier: MIT */
/*
 * session.c: opens the inputs, merges them in time order, pushes --since,
 * --until and --filter down to each reader's index, keeps the process table
 * from process records and hands matching events to the command's callbacks,
 * a batch at a time (or event by event, as views of the batch).
 *
 * Offsets ("+90s") in --since/--until and in filter ts comparisons count
 * from the earliest trace start among the inputs (the header's start time;
 * when a header lacks it, the first chunk's first timestamp).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/names.h"
#include "lib/util.h"
#include "query/filter.h"
#include "query/timespec.h"
#include "session/follow.h"
#include "session/procs.h"
#include "session/session.h"

struct chunk_ctx {
	struct ct_session *s;
	unsigned input;
};

struct ct_session {
	struct ct_input *inputs;
	struct chunk_ctx *chunk_ctx;
	struct ct_reader **readers; /* the merge keeps pointing at this array */
	unsigned n, nhosts;
	struct ct_filter *filter;
	int has_since, has_until;
	int64_t since_wall, until_wall;
	int64_t end_wall; /* latest event of the inputs, INT64_MIN unknown */
	struct ct_tz tz;
	int64_t base_wall;
	struct ct_procs *procs;
	uint64_t damaged;
	/* What the process table says of a batch's tasks, looked up once per
	 * chunk (and again when the table changes). */
	struct ct_procinfo *pinfo;
	uint64_t *pinfo_stamp; /* pinfo[j] is current when pinfo_stamp[j] == pinfo_epoch */
	uint64_t pinfo_epoch;
	size_t pinfo_cap;
	uint64_t pinfo_tables, pinfo_gen;
	unsigned pinfo_input;
	int pinfo_valid;
	/* Lost records seen, by kind (connects, outcomes, process records). */
	uint64_t lost[3], lost_reports;
	int64_t lost_first, lost_last;
	/* The events a filter keeps. */
	uint32_t *keep;
	uint32_t keep_cap;
	struct ct_batch_sel sel;
	char *own_path; /* input 0's path after a followed ring moved on */
	/* Name records by host (host_index), and the names joined to the
	 * events of the batch being handed on, by row. */
	struct ct_nametab **names;
	const char **dnames;
	uint32_t dnames_cap;
	unsigned jobs;	/* --jobs */
	int jobs_given; /* --jobs was given, not the default */
};

int ct_session_opt(struct ct_session_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'F':
		o->filter = arg;
		return 1;
	case 'S':
		o->since = arg;
		return 1;
	case 'U':
		o->until = arg;
		return 1;
	case 'q':
		o->quiet = 1;
		return 1;
	case CT_OPT_TZ:
		o->tz = arg;
		return 1;
	case CT_OPT_JOBS:
		o->jobs = arg;
		return 1;
	}
	return 0;
}

unsigned ct_session_ninputs(const struct ct_session *s)
{
	return s->n;
}

const struct ct_input *ct_session_input(const struct ct_session *s, unsigned i)
{
	return i < s->n ? &s->inputs[i] : NULL;
}

unsigned ct_session_nhosts(const struct ct_session *s)
{
	return s->nhosts;
}

const char *ct_session_host(const struct ct_session *s, unsigned input)
{
	const char *h = s->inputs[input].hdr->hostname;
	return h && h[0] ? h : NULL;
}

void ct_session_stats(const struct ct_session *s, struct ct_reader_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->index_present = 1;
	for (unsigned i = 0; i < s->n; i++) {
		struct ct_reader_stats one;
		if (!s->inputs[i].reader)
			continue;
		ct_reader_stats(s->inputs[i].reader, &one);
		st->index_present &= one.index_present;
		st->chunks += one.chunks;
		st->event_chunks += one.event_chunks;
		st->chunks_read += one.chunks_read;
		st->chunks_skipped += one.chunks_skipped;
		st->chunks_damaged += one.chunks_damaged;
		st->events += one.events;
		st->lost += one.lost;
		st->bytes_read += one.bytes_read;
		st->comp_bytes += one.comp_bytes;
		st->raw_bytes += one.raw_bytes;
		st->summaries_damaged |= one.summaries_damaged;
		st->index_rejected |= one.index_rejected;
		st->outcomes_joined += one.outcomes_joined;
		st->outcomes_late += one.outcomes_late;
		st->outcomes_unmatched += one.outcomes_unmatched;
		st->outcomes_over_budget += one.outcomes_over_budget;
	}
}

int64_t ct_session_wall_ns(const struct ct_session *s, unsigned input, uint64_t ts_ns)
{
	return ct_wall_ns(ts_ns, s->inputs[input].hdr->wall_offset_ns);
}

unsigned ct_session_jobs(const struct ct_session *s)
{
	return s->jobs ? s->jobs : 1;
}

int64_t ct_session_start_wall(const struct ct_session *s)
{
	return s->base_wall;
}

static int chunk_filter(void *ctx, const struct ct_chunk_info *c)
{
	struct chunk_ctx *cc = ctx;
	const struct ct_session *s = cc->s;
	ct_filter_set_host(s->filter, ct_session_host(s, cc->input));
	return ct_filter_chunk(s->filter, c, s->inputs[cc->input].hdr->wall_offset_ns) !=
	       CT_TRI_NONE;
}

/* Earliest wall-clock start among the inputs: the base of "+90s". */
static int64_t trace_start_wall(const struct ct_input *in)
{
	const struct ct_header *h = in->hdr;
	uint64_t start = h->start_ts_ns;
	if (!start && ct_reader_chunk_count(in->reader) > 0)
		start = ct_reader_chunk(in->reader, 0)->first_ts;
	return ct_wall_ns(start, h->wall_offset_ns);
}

/* A wall-clock time in one input's own clock, clamped to the clock's range. */
static uint64_t to_file_clock(int64_t wall, int64_t offset)
{
	int64_t t;
	if (__builtin_sub_overflow(wall, offset, &t))
		return offset > 0 ? 1 : UINT64_MAX;
	return t < 1 ? 1 : (uint64_t)t;
}

struct progress {
	int on;
	uint64_t total;
	int last_pct;
};

static void progress_show(struct progress *pg, const struct ct_session *s)
{
	struct ct_reader_stats st;
	ct_session_stats(s, &st);
	int pct = pg->total ? (int)(st.bytes_read * 100 / pg->total) : 0;
	if (pct > 100)
		pct = 100;
	if (pct == pg->last_pct)
		return;
	pg->last_pct = pct;
	char bar[41];
	int fill = pct * 40 / 100;
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, '.', (size_t)(40 - fill));
	bar[40] = '\0';
	fprintf(stderr, "\r[%s] %3d%% %llu events", bar, pct, (unsigned long long)st.events);
	fflush(stderr);
}

static void progress_end(struct progress *pg)
{
	if (pg->on && pg->last_pct >= 0)
		fprintf(stderr, "\r%60s\r", "");
}

static void count_damage(void *ctx, const struct ct_damage *d)
{
	(void)d;
	(*(uint64_t *)ctx)++;
}

static int open_inputs(struct ct_session *s, const struct ct_session_opts *opts,
		       const char *const *paths, uint64_t *total_bytes)
{
	int failed = 0, stdin_used = 0;

	*total_bytes = 0;
	for (unsigned i = 0; i < s->n; i++) {
		struct ct_input *in = &s->inputs[i];
		in->path = paths[i];
		if (!strcmp(paths[i], "-")) {
			if (stdin_used++) {
				ct_err("-: standard input given more than once");
				failed = 1;
				continue;
			}
		}
		struct ct_reader_opts ro = {.name = paths[i], .quiet = opts->quiet};
		if (opts->quiet) {
			ro.on_damage = count_damage;
			ro.damage_ctx = &s->damaged;
		}
		errno = 0;
		struct ct_follow_opts fo = {.stop = opts->stop, .ctx = opts->stop_ctx};
		int rc = opts->follow ? ct_reader_open_follow(&in->reader, paths[i], &ro, &fo)
				      : ct_reader_open_file(&in->reader, paths[i], &ro);
		if (rc < 0) {
			/* An I/O error on open is mostly ENOENT/EACCES: say which. */
			ct_err("%s: %s", paths[i],
			       rc == CT_E_IO && errno ? strerror(errno) : ct_strerror(rc));
			in->reader = NULL;
			failed = 1;
			continue;
		}
		in->hdr = ct_reader_header(in->reader);
		struct stat sb;
		if (strcmp(paths[i], "-") && !stat(paths[i], &sb))
			*total_bytes += (uint64_t)sb.st_size;
		in->live = opts->follow || !strcmp(paths[i], "-") ||
			   (!stat(paths[i], &sb) && !S_ISREG(sb.st_mode));
	}
	if (failed)
		return -1;
	/* Inputs with the same host name share a host index. */
	for (unsigned i = 0; i < s->n; i++) {
		const char *h = s->inputs[i].hdr->hostname ? s->inputs[i].hdr->hostname : "";
		unsigned j;
		for (j = 0; j < i; j++) {
			const char *o =
			    s->inputs[j].hdr->hostname ? s->inputs[j].hdr->hostname : "";
			if (!strcmp(h, o))
				break;
		}
		s->inputs[i].host_index = j < i ? s->inputs[j].host_index : s->nhosts++;
	}
	return 0;
}

static void session_free(struct ct_session *s)
{
	for (unsigned i = 0; i < s->n; i++)
		if (s->inputs[i].reader)
			ct_reader_close(s->inputs[i].reader);
	free(s->inputs);
	free(s->chunk_ctx);
	free(s->readers);
	free(s->pinfo);
	free(s->pinfo_stamp);
	free(s->keep);
	ct_batch_sel_free(&s->sel);
	ct_filter_free(s->filter);
	ct_procs_free(s->procs);
	free(s->own_path);
	for (unsigned i = 0; s->names && i < s->nhosts; i++)
		ct_nametab_free(s->names[i]);
	free(s->names);
	free(s->dnames);
}

static int parse_time_arg(const char *name, const char *val, struct ct_time *t)
{
	char why[128];
	if (ct_time_parse_ext(val, t, 1, why, sizeof(why))) {
		ct_err("bad %s '%s': %s", name, val, why);
		return -1;
	}
	return 0;
}

/*
 * The process table's view of the tasks of b[lo, hi). Filled lazily, task
 * by task, for the events handed on: a merge of inputs whose times
 * interleave hands a batch on in slices of an event or two, and filling
 * all of a batch's tasks (up to 131072) for each slice made a merge of
 * such files quadratic (16 crafted inputs: 15 minutes).
 */
static int fill_procinfo(struct ct_session *s, const struct ct_batch *b, unsigned input,
			 uint32_t lo, uint32_t hi)
{
	uint64_t gen = ct_procs_generation(s->procs);
	if (!s->pinfo_valid || s->pinfo_tables != b->tables_id || s->pinfo_input != input ||
	    s->pinfo_gen != gen) {
		s->pinfo_epoch++; /* every entry stale, none rewritten */
		s->pinfo_valid = 1;
		s->pinfo_tables = b->tables_id;
		s->pinfo_input = input;
		s->pinfo_gen = gen;
	}
	if (b->ntasks > s->pinfo_cap) {
		size_t cap = b->ntasks + 256;
		struct ct_procinfo *p = realloc(s->pinfo, cap * sizeof(*p));
		if (!p)
			return -1;
		s->pinfo = p;
		uint64_t *st = realloc(s->pinfo_stamp, cap * sizeof(*st));
		if (!st)
			return -1;
		memset(st + s->pinfo_cap, 0, (cap - s->pinfo_cap) * sizeof(*st));
		s->pinfo_stamp = st;
		s->pinfo_cap = cap;
	}
	unsigned host = s->inputs[input].host_index;
	/* A slice at least as long as the task table (a whole chunk, most
	 * often: 65536 events, a few hundred tasks) is filled task by task:
	 * the check per event was 8 instructions an event of a full scan. */
	int by_task = hi - lo >= b->ntasks;
	uint32_t n = by_task ? b->ntasks : hi - lo;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t j = by_task ? i : b->task[lo + i];
		if (s->pinfo_stamp[j] != s->pinfo_epoch) {
			ct_procs_lookup(s->procs, b->tasks[j].pid, host, b->tasks[j].comm,
					&s->pinfo[j]);
			s->pinfo_stamp[j] = s->pinfo_epoch;
		}
	}
	return 0;
}

/* The names of b[lo, hi)'s destinations (b->dname set, by row); 0, or -1
 * out of memory. Nothing when the host has no name records. */
static int fill_dnames(struct ct_session *s, struct ct_batch *b, unsigned input, uint32_t lo,
		       uint32_t hi)
{
	const struct ct_nametab *t = s->names ? s->names[s->inputs[input].host_index] : NULL;
	if (!ct_nametab_count(t))
		return 0;
	if (b->n > s->dnames_cap) {
		const char **d = realloc(s->dnames, (size_t)b->n * sizeof(*d));
		if (!d)
			return -1;
		s->dnames = d;
		s->dnames_cap = b->n;
	}
	for (uint32_t i = lo; i < hi; i++) {
		const struct ct_dest *d = &b->dests[b->dest[i]];
		s->dnames[i] = ct_nametab_join(t, b->ts_ns[i], d->family, d->daddr,
					       b->tasks[b->task[i]].cgroup_id);
	}
	b->dname = s->dnames;
	return 0;
}

/* A name record into its host's table. */
static int add_name(struct ct_session *s, const struct ct_name *n, unsigned input)
{
	unsigned h = s->inputs[input].host_index;
	if (!s->names && !(s->names = calloc(s->nhosts ? s->nhosts : 1, sizeof(*s->names))))
		return -1;
	if (!s->names[h] && !(s->names[h] = ct_nametab_new()))
		return -1;
	return ct_nametab_add(s->names[h], n) ? -1 : 0;
}

/* A batch through the wall-clock window and the filter to the command. */
static int run_batch(struct ct_session *s, const struct ct_session_ops *ops, void *ctx,
		     const struct ct_batch *in, unsigned input)
{
	struct ct_batch b = *in, kept;
	int64_t off = s->inputs[input].hdr->wall_offset_ns;

	/* The reader cut to its window in the file's clock; cut to the
	 * wall-clock window all the same, so every input sees the same one. */
	uint32_t lo = 0, hi = b.n;
	while (s->has_since && lo < hi && ct_wall_ns(b.ts_ns[lo], off) < s->since_wall)
		lo++;
	while (s->has_until && hi > lo && ct_wall_ns(b.ts_ns[hi - 1], off) > s->until_wall)
		hi--;
	if (lo == hi)
		return 0;
	if (fill_procinfo(s, &b, input, lo, hi)) {
		ct_err("out of memory");
		return -1;
	}
	b.procinfo = s->pinfo;
	if (fill_dnames(s, &b, input, lo, hi)) {
		ct_err("out of memory");
		return -1;
	}
	if (lo || hi < b.n)
		ct_batch_slice(&b, lo, hi, &b);
	if (s->filter) {
		if (b.n > s->keep_cap) {
			uint32_t *k = realloc(s->keep, (size_t)b.n * sizeof(*k));
			if (!k) {
				ct_err("out of memory");
				return -1;
			}
			s->keep = k;
			s->keep_cap = b.n;
		}
		struct ct_event ev;
		uint32_t k = 0;
		ct_filter_set_host(s->filter, ct_session_host(s, input));
		for (uint32_t i = 0; i < b.n; i++) {
			ct_batch_event(&b, i, &ev);
			if (ct_filter_match(s->filter, &ev, ct_wall_ns(ev.ts_ns, off)))
				s->keep[k++] = i;
		}
		if (!k)
			return 0;
		if (k < b.n) {
			if (ct_batch_select(&b, s->keep, k, &s->sel, &kept) < 0) {
				ct_err("out of memory");
				return -1;
			}
			b = kept;
		}
	}
	if (ops->batch)
		return ops->batch(ctx, &b, input);
	struct ct_event ev;
	for (uint32_t i = 0; i < b.n; i++) {
		ct_batch_event(&b, i, &ev);
		if (ops->event(ctx, &ev, input) < 0)
			return -1;
	}
	return 0;
}

/* --filter, --since and --until compiled and parsed: usage errors come
 * first, as they do not depend on the files. 0, or CT_EXIT_USAGE. */
static int parse_query(struct ct_session *s, const struct ct_session_opts *opts,
		       struct ct_time *since, struct ct_time *until)
{
	if (opts->filter) {
		struct ct_filter_error fe;
		if (ct_filter_compile(opts->filter, &s->filter, &fe)) {
			ct_err("bad --filter: %s", fe.msg);
			ct_filter_print_caret(opts->filter, &fe);
			return CT_EXIT_USAGE;
		}
	}
	char why[128];
	if (opts->tz && ct_tz_parse(opts->tz, &s->tz, why, sizeof(why))) {
		ct_err("bad --tz '%s': %s", opts->tz, why);
		return CT_EXIT_USAGE;
	}
	if ((opts->since && parse_time_arg("--since", opts->since, since)) ||
	    (opts->until && parse_time_arg("--until", opts->until, until)))
		return CT_EXIT_USAGE;
	s->has_since = opts->since != NULL;
	s->has_until = opts->until != NULL;
	long long jobs;
	if (opts->jobs && ct_parse_long(opts->jobs, 1, 1024, &jobs)) {
		ct_err("bad --jobs '%s': expected a number of threads from 1 to 1024", opts->jobs);
		return CT_EXIT_USAGE;
	}
	s->jobs = opts->jobs ? (unsigned)jobs : ct_cpus_available();
	s->jobs_given = opts->jobs != NULL;
	return 0;
}

/* Latest event time of an input (index or scan), INT64_MIN when unknown
 * (a stream). */
static int64_t trace_end_wall(const struct ct_input *in)
{
	uint64_t last = ct_reader_last_event_ts(in->reader);
	return last ? ct_wall_ns(last, in->hdr->wall_offset_ns) : INT64_MIN;
}

/* A window that misses every event is most often a zone mix-up: say so,
 * with the trace's span, instead of printing nothing. */
static void warn_window_miss(const struct ct_session *s)
{
	char a[40], b[40], c[40], d[40];
	if (s->end_wall == INT64_MIN || (!s->has_since && !s->has_until))
		return;
	if (!(s->has_since && s->since_wall > s->end_wall) &&
	    !(s->has_until && s->until_wall < s->base_wall))
		return;
	ct_fmt_utc_sec(a, sizeof(a), s->has_since ? s->since_wall / 1000000000 : 0);
	ct_fmt_utc_sec(b, sizeof(b), s->has_until ? s->until_wall / 1000000000 : 0);
	ct_fmt_utc_sec(c, sizeof(c), s->base_wall / 1000000000);
	ct_fmt_utc_sec(d, sizeof(d), s->end_wall / 1000000000);
	ct_err("warning: the window %sZ .. %sZ misses the trace, which spans %sZ .. %sZ (times "
	       "without a zone are %s; see --tz)",
	       s->has_since ? a : "start", s->has_until ? b : "end", c, d,
	       s->tz.local   ? "local"
	       : s->tz.off_s ? "in the --tz offset"
			     : "UTC");
}

int ct_session_window(const struct ct_session *s, int64_t *since, int64_t *until)
{
	*since = s->has_since ? s->since_wall : INT64_MIN;
	*until = s->has_until ? s->until_wall : INT64_MAX;
	return s->has_since || s->has_until;
}

/* The window in wall-clock time, from the earliest trace start. 0, or
 * CT_EXIT_USAGE. */
static int resolve_window(struct ct_session *s, const struct ct_time *since,
			  const struct ct_time *until)
{
	s->base_wall = INT64_MAX;
	for (unsigned i = 0; i < s->n; i++) {
		int64_t w = trace_start_wall(&s->inputs[i]);
		if (w < s->base_wall)
			s->base_wall = w;
	}
	s->end_wall = INT64_MIN;
	/* The end only matters to a window (-T counts back from it). */
	for (unsigned i = 0; i < s->n && (s->has_since || s->has_until); i++) {
		int64_t w = trace_end_wall(&s->inputs[i]);
		if (w > s->end_wall)
			s->end_wall = w;
	}
	if (s->end_wall == INT64_MIN &&
	    ((s->has_since && since->is_offset < 0) || (s->has_until && until->is_offset < 0))) {
		ct_err("--since/--until -T counts back from the trace's end, which a stream does "
		       "not tell before it ends; use +T or a time");
		return CT_EXIT_USAGE;
	}
	s->since_wall = ct_time_resolve_in(since, s->base_wall, s->end_wall, &s->tz);
	s->until_wall = ct_time_resolve_in(until, s->base_wall, s->end_wall, &s->tz);
	if (s->has_since && s->has_until && s->until_wall < s->since_wall) {
		ct_err("--until is before --since");
		return CT_EXIT_USAGE;
	}
	warn_window_miss(s);
	if (s->filter)
		ct_filter_set_base(s->filter, s->base_wall);
	return 0;
}

/* One reader's query (window in its own clock, the filter's chunk test)
 * and columns (what the command reads and what the filter does). */
int ct_session_set_query(struct ct_session *s, const struct ct_session_opts *opts, unsigned i)
{
	uint32_t columns = opts->columns ? opts->columns : CT_COL_ALL;
	if (s->filter)
		columns |= ct_filter_columns(s->filter);
	struct ct_input *in = &s->inputs[i];
	struct ct_query q = {0};
	int64_t off = in->hdr->wall_offset_ns;
	if (s->has_since)
		q.since_ns = to_file_clock(s->since_wall, off);
	if (s->has_until)
		q.until_ns = to_file_clock(s->until_wall, off);
	s->chunk_ctx[i] = (struct chunk_ctx){.s = s, .input = i};
	if (s->filter) {
		q.chunk_filter = chunk_filter;
		q.ctx = &s->chunk_ctx[i];
	}
	int rc = ct_reader_set_query(in->reader, &q);
	if (rc >= 0)
		rc = ct_reader_set_columns(in->reader, columns);
	if (rc < 0) {
		ct_err("%s: %s", in->path, ct_strerror(rc));
		return -1;
	}
	return 0;
}

int ct_session_swap_input(struct ct_session *s, const struct ct_session_opts *opts, unsigned i,
			  struct ct_reader *r, char *path)
{
	struct ct_input *in = &s->inputs[i];
	ct_reader_close(in->reader);
	free(s->own_path);
	s->own_path = path;
	in->reader = r;
	in->path = path;
	in->hdr = ct_reader_header(r);
	s->pinfo_valid = 0; /* another reader's tables */
	return ct_session_set_query(s, opts, i);
}

/*
 * Threads pay for themselves only with enough to decompress: below this
 * many stored bytes of event chunks to read (a small trace, a window, an
 * address the index rules out of most chunks) the default is one job,
 * which was up to twice as fast there (wall and CPU). A --jobs given is
 * kept.
 */
#define CT_JOBS_MIN_BYTES (32ull << 20)

static uint64_t query_bytes(struct ct_session *s)
{
	uint64_t sum = 0;
	for (unsigned i = 0; i < s->n; i++) {
		uint64_t b =
		    s->inputs[i].live ? UINT64_MAX : ct_reader_query_bytes(s->inputs[i].reader);
		sum = b > UINT64_MAX - sum ? UINT64_MAX : sum + b;
	}
	return sum;
}

/*
 * More than one job: each input's reader decodes ahead on its share of
 * jobs - 1 worker threads (at least one), while this thread merges,
 * filters and hands events on in order as before: the output cannot
 * depend on the number of jobs. Streams are read as they come.
 */
static int set_threads(struct ct_session *s)
{
	if (!s->jobs_given && s->jobs > 1 && query_bytes(s) < CT_JOBS_MIN_BYTES)
		s->jobs = 1;
	if (s->jobs <= 1)
		return 0;
	unsigned per = (s->jobs - 1) / s->n;
	for (unsigned i = 0; i < s->n; i++) {
		if (s->inputs[i].live)
			continue;
		int rc = ct_reader_set_threads(s->inputs[i].reader, per ? per : 1);
		if (rc < 0) {
			ct_err("%s: %s", s->inputs[i].path, ct_strerror(rc));
			return -1;
		}
	}
	return 0;
}

static int set_queries(struct ct_session *s, const struct ct_session_opts *opts)
{
	for (unsigned i = 0; i < s->n; i++)
		if (ct_session_set_query(s, opts, i))
			return -1;
	return set_threads(s);
}

/* Several inputs: one merge over their readers. */
static int open_merge(struct ct_session *s, struct ct_merge **merge)
{
	s->readers = calloc(s->n, sizeof(*s->readers));
	if (!s->readers) {
		ct_err("out of memory");
		return -1;
	}
	for (unsigned i = 0; i < s->n; i++)
		s->readers[i] = s->inputs[i].reader;
	int rc = ct_merge_open(merge, s->readers, s->n);
	if (rc < 0) {
		ct_err("merging inputs: %s", ct_strerror(rc));
		return -1;
	}
	return 0;
}

static void count_lost(struct ct_session *s, const struct ct_lost *l, unsigned input)
{
	int64_t wall = ct_session_wall_ns(s, input, l->ts_ns);
	if (l->kind >= sizeof(s->lost) / sizeof(s->lost[0]) || !l->count)
		return;
	s->lost[l->kind] += l->count;
	if (!s->lost_reports || wall < s->lost_first)
		s->lost_first = wall;
	if (!s->lost_reports || wall > s->lost_last)
		s->lost_last = wall;
	s->lost_reports++;
}

/* One record to the command: 0, 1 when a callback stopped the run, -1 on
 * an error of ours. */
static int dispatch(struct ct_session *s, const struct ct_session_ops *ops, void *ctx,
		    const struct ct_record *rec, unsigned input)
{
	switch (rec->type) {
	case CT_REC_BATCH:
		return run_batch(s, ops, ctx, rec->batch, input) < 0;
	case CT_REC_PROC:
		if (ct_procs_update(s->procs, &rec->proc, s->inputs[input].host_index)) {
			ct_err("out of memory");
			return -1;
		}
		return ops->proc && ops->proc(ctx, &rec->proc, input) < 0;
	case CT_REC_LOST:
		count_lost(s, &rec->lost, input);
		return ops->lost && ops->lost(ctx, &rec->lost, input) < 0;
	case CT_REC_OUTCOME:
		return ops->outcome && ops->outcome(ctx, &rec->outcome, input) < 0;
	case CT_REC_NAME:
		if (add_name(s, &rec->name, input)) {
			ct_err("out of memory");
			return -1;
		}
		return ops->name && ops->name(ctx, &rec->name, input) < 0;
	}
	return 0; /* newer record kinds: not ours to interpret */
}

/* Every record of the inputs in time order: 0, or -1 (said). */
static int read_all(struct ct_session *s, const struct ct_session_opts *opts,
		    const struct ct_session_ops *ops, void *ctx, struct ct_merge *merge,
		    struct progress *pg)
{
	uint64_t nrec = 0;
	for (;;) {
		const struct ct_record *rec;
		unsigned input = 0;
		int rc = merge ? ct_merge_next(merge, &rec, &input)
			       : ct_reader_next(s->inputs[0].reader, &rec);
		if (rc == 0 && !merge && opts->follow) {
			rc = ct_follow_next_file(s, opts);
			if (rc > 0)
				continue;
			if (rc < 0)
				return -1; /* said */
		}
		if (rc == 0)
			return 0;
		if (rc < 0) {
			ct_err("%s: %s", s->inputs[input].path, ct_strerror(rc));
			return -1;
		}
		if (rec->type == CT_REC_BATCH) {
			uint64_t before = nrec;
			nrec += rec->batch->n;
			if (pg->on && (before >> 16) != (nrec >> 16))
				progress_show(pg, s);
		}
		if (dispatch(s, ops, ctx, rec, input))
			return -1;
		if (ops->flush && s->inputs[input].live && rec->type != CT_REC_PROC &&
		    ops->flush(ctx) < 0)
			return -1;
	}
}

/* What the reading skipped or could not join, said once at the end. */
static void warn_losses(const struct ct_session *s, const struct ct_session_opts *opts)
{
	struct ct_reader_stats st;
	ct_session_stats(s, &st);
	if (st.chunks_damaged || s->damaged) {
		uint64_t n = st.chunks_damaged > s->damaged ? st.chunks_damaged : s->damaged;
		ct_err("warning: %llu damaged chunk%s skipped; the rest was read",
		       (unsigned long long)n, n == 1 ? "" : "s");
	}
	if (st.outcomes_over_budget && !opts->quiet)
		ct_err("warning: the outcomes of %llu connects were not joined (more than %u held "
		       "at once); they read as unknown",
		       (unsigned long long)st.outcomes_over_budget, 4u << 20);
	if (opts->warn_lost && s->lost_reports) {
		char a[40], b[40];
		ct_fmt_utc_sec(a, sizeof(a), s->lost_first / 1000000000);
		ct_fmt_utc_sec(b, sizeof(b), s->lost_last / 1000000000);
		ct_err(
		    "warning: lost while recording: %llu connect events, %llu outcomes, %llu "
		    "process records (%llu reports, %sZ .. %sZ); the output has no trace of them",
		    (unsigned long long)s->lost[CT_LOST_CONNECTS],
		    (unsigned long long)s->lost[CT_LOST_OUTCOMES],
		    (unsigned long long)s->lost[CT_LOST_PROCS], (unsigned long long)s->lost_reports,
		    a, b);
	}
	if (ct_procs_dropped(s->procs) && !opts->quiet)
		ct_err("warning: %llu process strings cut or not kept (the process table's memory "
		       "budget: 4 KiB a string, 64 MiB in all, 1M processes)",
		       (unsigned long long)ct_procs_dropped(s->procs));
}

int ct_session_run(const struct ct_session_opts *opts, const struct ct_session_ops *ops, void *ctx)
{
	static const char *const default_path[] = {"conntrail.data"};
	const char *const *paths = opts->npaths ? opts->paths : default_path;
	struct ct_session s = {0};
	struct ct_time since = {0}, until = {0};
	struct ct_merge *merge = NULL;
	uint64_t total_bytes;
	int status = parse_query(&s, opts, &since, &until);

	if (status) {
		ct_filter_free(s.filter);
		return status;
	}
	status = CT_EXIT_ERROR;
	s.n = opts->npaths ? opts->npaths : 1;
	s.inputs = calloc(s.n, sizeof(*s.inputs));
	s.chunk_ctx = calloc(s.n, sizeof(*s.chunk_ctx));
	s.procs = ct_procs_new();
	if (!s.inputs || !s.chunk_ctx || !s.procs) {
		ct_err("out of memory");
		goto out;
	}
	if (open_inputs(&s, opts, paths, &total_bytes))
		goto out;
	if (resolve_window(&s, &since, &until)) {
		status = CT_EXIT_USAGE;
		goto out;
	}
	if (set_queries(&s, opts) || (s.n > 1 && open_merge(&s, &merge)))
		goto out;
	if (ops->begin && ops->begin(ctx, &s) < 0)
		goto out;
	struct progress pg = {.on = opts->progress && !opts->quiet && isatty(2) &&
				    total_bytes >= (64u << 20),
			      .total = total_bytes,
			      .last_pct = -1};
	int rc = read_all(&s, opts, ops, ctx, merge, &pg);
	progress_end(&pg);
	if (rc || (ops->end && ops->end(ctx, &s) < 0))
		goto out;
	warn_losses(&s, opts);
	status = CT_EXIT_OK;
out:
	if (merge)
		ct_merge_close(merge);
	session_free(&s);
	return status;
}
