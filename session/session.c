/* SPDX-License-Identifier: MIT */
/*
 * session.c: opens the inputs, merges them in time order, pushes --since,
 * --until and --filter down to each reader's index, keeps the process table
 * from process records and hands matching events to the command's callbacks.
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

#include "lib/util.h"
#include "query/filter.h"
#include "session/session.h"
#include "query/timespec.h"

/* Exited processes stay in the table this long (trace time), so events
 * delivered just after the exit record still find their exe. */
#define PROC_LINGER_NS (10ULL * 1000000000ULL)

struct proc_entry {
	uint32_t pid;
	unsigned host;
	int used;
	int exited;
	uint64_t exit_ts;
	uint32_t ppid, uid, gid;
	char comm[CT_COMM_LEN];
	char *exe, *cmdline, *container;
	uint64_t serial;
};

/* Open-addressing table keyed by (host, pid), linear probing, backward-
 * shift deletion so no tombstones accumulate. */
struct proc_table {
	struct proc_entry *slots;
	size_t cap, count;
	/* FIFO of exited (host, pid, exit_ts) waiting to be dropped. */
	struct exited {
		uint32_t pid;
		unsigned host;
		uint64_t ts;
	} * dead;
	size_t dead_head, dead_len, dead_cap;
	uint64_t generation; /* bumps when entries move or change */
	uint64_t layout;     /* bumps when entries move, appear or go */
	uint64_t serials;    /* last ct_proc_info.serial handed out */
};

/* The table entry of a process context, by the reader's token for it
 * (direct-mapped): valid while the table's layout is unchanged, since an
 * update in place keeps the entry where it is. Most events then cost no
 * hash lookup at all. */
#define PROC_CACHE 1024
struct proc_cache_slot {
	uint64_t token;
	uint64_t layout;
	unsigned input;
	const struct proc_entry *e;
};

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
	int64_t base_wall;
	struct proc_table procs;
	uint64_t damaged;
	struct proc_cache_slot pcache[PROC_CACHE];
	struct ct_proc_info *batch_procs; /* per process of a batch */
	size_t batch_procs_cap;
	/* The events of a batch a filter keeps (batch_filter). */
	uint64_t *fb_ts;
	uint32_t *fb_proc, *fb_dest;
	int32_t *fb_ret;
	uint16_t *fb_flags;
	uint32_t fb_cap;
};

/* ---------------------------------------------------------- proc table */

static size_t hash_key(uint32_t pid, unsigned host)
{
	uint64_t x = ((uint64_t)host << 32) | pid;
	x *= 0x9e3779b97f4a7c15ULL;
	return (size_t)(x >> 29);
}

static void entry_free(struct proc_entry *e)
{
	free(e->exe);
	free(e->cmdline);
	free(e->container);
	memset(e, 0, sizeof(*e));
}

static struct proc_entry *proc_find(struct proc_table *t, uint32_t pid, unsigned host)
{
	if (!t->cap)
		return NULL;
	size_t mask = t->cap - 1;
	for (size_t i = hash_key(pid, host) & mask;; i = (i + 1) & mask) {
		struct proc_entry *e = &t->slots[i];
		if (!e->used)
			return NULL;
		if (e->pid == pid && e->host == host)
			return e;
	}
}

static int proc_grow(struct proc_table *t)
{
	size_t cap = t->cap ? t->cap * 2 : 1024;
	struct proc_entry *slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -1;
	for (size_t i = 0; i < t->cap; i++) {
		struct proc_entry *e = &t->slots[i];
		if (!e->used)
			continue;
		size_t j = hash_key(e->pid, e->host) & (cap - 1);
		while (slots[j].used)
			j = (j + 1) & (cap - 1);
		slots[j] = *e;
	}
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
	t->generation++;
	t->layout++;
	return 0;
}

static struct proc_entry *proc_insert(struct proc_table *t, uint32_t pid, unsigned host)
{
	struct proc_entry *e = proc_find(t, pid, host);
	if (e)
		return e;
	if ((t->count + 1) * 4 > t->cap * 3 && proc_grow(t))
		return NULL;
	size_t mask = t->cap - 1;
	size_t i = hash_key(pid, host) & mask;
	while (t->slots[i].used)
		i = (i + 1) & mask;
	e = &t->slots[i];
	e->used = 1;
	e->pid = pid;
	e->host = host;
	t->count++;
	t->layout++;
	return e;
}

static void proc_delete(struct proc_table *t, struct proc_entry *e)
{
	size_t mask = t->cap - 1;
	size_t i = (size_t)(e - t->slots);
	entry_free(e);
	t->count--;
	/* Backward shift: move later members of the probe run into the hole. */
	for (size_t j = (i + 1) & mask; t->slots[j].used; j = (j + 1) & mask) {
		size_t home = hash_key(t->slots[j].pid, t->slots[j].host) & mask;
		int movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
		if (movable) {
			t->slots[i] = t->slots[j];
			memset(&t->slots[j], 0, sizeof(t->slots[j]));
			i = j;
		}
	}
	t->generation++;
	t->layout++;
}

static void proc_table_free(struct proc_table *t)
{
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i].used)
			entry_free(&t->slots[i]);
	free(t->slots);
	free(t->dead);
	memset(t, 0, sizeof(*t));
}

static int set_str(char **dst, const char *src)
{
	if (!src)
		return 0;
	char *c = strdup(src);
	if (!c)
		return -1;
	free(*dst);
	*dst = c;
	return 0;
}

static int dead_push(struct proc_table *t, uint32_t pid, unsigned host, uint64_t ts)
{
	if (t->dead_len == t->dead_cap) {
		size_t cap = t->dead_cap ? t->dead_cap * 2 : 256;
		struct exited *d = malloc(cap * sizeof(*d));
		if (!d)
			return -1;
		for (size_t i = 0; i < t->dead_len; i++)
			d[i] = t->dead[(t->dead_head + i) % t->dead_cap];
		free(t->dead);
		t->dead = d;
		t->dead_cap = cap;
		t->dead_head = 0;
	}
	t->dead[(t->dead_head + t->dead_len) % t->dead_cap] =
	    (struct exited){.pid = pid, .host = host, .ts = ts};
	t->dead_len++;
	return 0;
}

/* Drop processes that exited more than PROC_LINGER_NS before now, so memory
 * follows the live processes, not every process the trace ever saw. Clocks
 * of different inputs are not comparable, but each host's exits are queued
 * in its own time order and a late drop only costs memory for a while. */
static void proc_expire(struct proc_table *t, uint64_t now)
{
	while (t->dead_len) {
		struct exited *d = &t->dead[t->dead_head];
		if (d->ts + PROC_LINGER_NS > now)
			break;
		struct proc_entry *e = proc_find(t, d->pid, d->host);
		if (e && e->exited && e->exit_ts == d->ts)
			proc_delete(t, e);
		t->dead_head = (t->dead_head + 1) % t->dead_cap;
		t->dead_len--;
	}
}

static int proc_update(struct proc_table *t, const struct ct_proc *p, unsigned host)
{
	proc_expire(t, p->ts_ns);
	struct proc_entry *e = proc_insert(t, p->pid, host);
	if (!e)
		return -1;
	if (p->kind == CT_PROC_EXIT) {
		e->exited = 1;
		e->exit_ts = p->ts_ns;
		return dead_push(t, p->pid, host, p->ts_ns);
	}
	if (e->exited || p->kind == CT_PROC_FORK) {
		/* A reused pid, or a new child: start from a clean entry. */
		char *exe = NULL, *cmdline = NULL, *container = NULL;
		if (p->kind == CT_PROC_FORK) {
			/* A child runs its parent's program until it execs. */
			struct proc_entry *parent = proc_find(t, p->ppid, host);
			if (parent) {
				exe = parent->exe ? strdup(parent->exe) : NULL;
				cmdline = parent->cmdline ? strdup(parent->cmdline) : NULL;
				container = parent->container ? strdup(parent->container) : NULL;
			}
			e = proc_find(t, p->pid, host); /* strdup does not move slots */
		}
		free(e->exe);
		free(e->cmdline);
		free(e->container);
		e->exe = exe;
		e->cmdline = cmdline;
		e->container = container;
		e->exited = 0;
	}
	e->ppid = p->ppid;
	e->uid = p->uid;
	e->gid = p->gid;
	if (p->comm[0])
		memcpy(e->comm, p->comm, CT_COMM_LEN);
	if (set_str(&e->exe, p->exe) || set_str(&e->cmdline, p->cmdline) ||
	    set_str(&e->container, p->container))
		return -1;
	e->serial = ++t->serials;
	t->generation++;
	return 0;
}

/* ------------------------------------------------------------- session */

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
	}
}

int64_t ct_session_wall_ns(const struct ct_session *s, unsigned input, uint64_t ts_ns)
{
	return (int64_t)ts_ns + s->inputs[input].hdr->wall_offset_ns;
}

int64_t ct_session_start_wall(const struct ct_session *s)
{
	return s->base_wall;
}

static int chunk_filter(void *ctx, const struct ct_chunk_info *c)
{
	struct chunk_ctx *cc = ctx;
	const struct ct_session *s = cc->s;
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
	return (int64_t)start + h->wall_offset_ns;
}

/* A wall-clock time in one input's own clock, clamped to the clock's range. */
static uint64_t to_file_clock(int64_t wall, int64_t offset)
{
	int64_t t = wall - offset;
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
		int rc = ct_reader_open_file(&in->reader, paths[i], &ro);
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
	free(s->batch_procs);
	free(s->fb_ts); /* the block of all five columns */
	for (unsigned i = 0; i < s->n; i++)
		if (s->inputs[i].reader)
			ct_reader_close(s->inputs[i].reader);
	free(s->inputs);
	free(s->chunk_ctx);
	free(s->readers);
	ct_filter_free(s->filter);
	proc_table_free(&s->procs);
}

static int parse_time_arg(const char *name, const char *val, struct ct_time *t)
{
	char why[128];
	if (ct_time_parse(val, t, why, sizeof(why))) {
		ct_err("bad %s '%s': %s", name, val, why);
		return -1;
	}
	return 0;
}

/* Fill pi from a process context (ids, comm) and its table entry. */
static inline void fill_proc(struct ct_proc_info *pi, uint32_t pid, uint32_t ppid, uint32_t uid,
			     uint32_t gid, const char *comm, const struct proc_entry *e)
{
	pi->pid = pid;
	pi->ppid = ppid;
	pi->uid = uid;
	pi->gid = gid;
	memcpy(pi->comm, comm, CT_COMM_LEN);
	pi->exe = e ? e->exe : NULL;
	pi->cmdline = e ? e->cmdline : NULL;
	pi->container = e ? e->container : NULL;
	pi->serial = e ? e->serial : 0;
}

/* The events of a batch that the filter keeps, as a batch of their own;
 * each tested as the event ct_batch_event builds (a batchable filter
 * reads nothing it leaves out). */
static int batch_filter(struct ct_session *s, const struct ct_batch *b, unsigned input,
			struct ct_batch *out)
{
	if (b->n > s->fb_cap) {
		/* One block for the five columns (fb_ts first, the one freed). */
		size_t per = sizeof(*s->fb_ts) + sizeof(*s->fb_proc) + sizeof(*s->fb_dest) +
			     sizeof(*s->fb_ret) + sizeof(*s->fb_flags);
		uint8_t *block = malloc((size_t)b->n * per);
		if (!block) {
			ct_err("out of memory");
			return -1;
		}
		free(s->fb_ts);
		s->fb_ts = (uint64_t *)block;
		s->fb_proc = (uint32_t *)(s->fb_ts + b->n);
		s->fb_dest = s->fb_proc + b->n;
		s->fb_ret = (int32_t *)(s->fb_dest + b->n);
		s->fb_flags = (uint16_t *)(s->fb_ret + b->n);
		s->fb_cap = b->n;
	}
	int64_t off = s->inputs[input].hdr->wall_offset_ns;
	struct ct_event ev;
	uint32_t k = 0;
	for (uint32_t i = 0; i < b->n; i++) {
		ct_batch_event(b, i, i - 1, &ev); /* i - 1 wraps past n for the first */
		if (!ct_filter_match(s->filter, &ev, &s->batch_procs[b->proc[i]],
				     (int64_t)ev.ts_ns + off))
			continue;
		s->fb_ts[k] = ev.ts_ns;
		s->fb_proc[k] = b->proc[i];
		s->fb_dest[k] = b->dest[i];
		s->fb_ret[k] = ev.ret;
		s->fb_flags[k] = ev.flags;
		k++;
	}
	*out = *b;
	out->n = k;
	out->ts_ns = s->fb_ts;
	out->proc = s->fb_proc;
	out->dest = s->fb_dest;
	out->ret = s->fb_ret;
	out->flags = s->fb_flags;
	return 0;
}

/* A batch's processes, each looked up once in the table. */
static int batch_run(struct ct_session *s, const struct ct_session_ops *ops, void *ctx,
		     const struct ct_batch *b, unsigned input)
{
	const struct ct_input *in = &s->inputs[input];
	if (b->nprocs > s->batch_procs_cap) {
		size_t cap = b->nprocs + 256;
		struct ct_proc_info *pi = realloc(s->batch_procs, cap * sizeof(*pi));
		if (!pi) {
			ct_err("out of memory");
			return -1;
		}
		s->batch_procs = pi;
		s->batch_procs_cap = cap;
	}
	for (uint32_t j = 0; j < b->nprocs; j++) {
		const struct ct_batch_proc *bp = &b->procs[j];
		const struct proc_entry *e = proc_find(&s->procs, bp->pid, in->host_index);
		fill_proc(&s->batch_procs[j], bp->pid, bp->ppid, bp->uid, bp->gid, bp->comm, e);
	}
	/* The reader hands over only chunks inside its window, which is this
	 * one in the file's clock; cut to the wall-clock window all the same,
	 * so both ways of counting see exactly the same events. */
	struct ct_batch cut;
	uint32_t lo = 0, hi = b->n;
	int64_t off = in->hdr->wall_offset_ns;
	while (s->has_since && lo < hi && (int64_t)b->ts_ns[lo] + off < s->since_wall)
		lo++;
	while (s->has_until && hi > lo && (int64_t)b->ts_ns[hi - 1] + off > s->until_wall)
		hi--;
	if (lo == hi)
		return 0;
	if (lo || hi < b->n) {
		cut = *b;
		cut.n = hi - lo;
		cut.ts_ns += lo;
		cut.proc += lo;
		cut.dest += lo;
		cut.ret += lo;
		cut.flags += lo;
		b = &cut;
	}
	struct ct_batch kept;
	if (s->filter) {
		if (batch_filter(s, b, input, &kept) < 0)
			return -1;
		if (!kept.n)
			return 0;
		b = &kept;
	}
	return ops->batch(ctx, b, s->batch_procs, input);
}

int ct_session_run(const struct ct_session_opts *opts, const struct ct_session_ops *ops, void *ctx)
{
	static const char *const default_path[] = {"conntrail.data"};
	const char *const *paths = opts->npaths ? opts->paths : default_path;
	struct ct_session s = {0};
	struct ct_time since = {0}, until = {0};
	struct ct_merge *merge = NULL;
	int status = CT_EXIT_ERROR;

	/* Usage errors first: they do not depend on the files. */
	if (opts->filter) {
		struct ct_filter_error fe;
		if (ct_filter_compile(opts->filter, &s.filter, &fe)) {
			ct_err("bad --filter: %s", fe.msg);
			ct_filter_print_caret(opts->filter, &fe);
			return CT_EXIT_USAGE;
		}
	}
	if ((opts->since && parse_time_arg("--since", opts->since, &since)) ||
	    (opts->until && parse_time_arg("--until", opts->until, &until))) {
		ct_filter_free(s.filter);
		return CT_EXIT_USAGE;
	}
	s.has_since = opts->since != NULL;
	s.has_until = opts->until != NULL;

	s.n = opts->npaths ? opts->npaths : 1;
	s.inputs = calloc(s.n, sizeof(*s.inputs));
	s.chunk_ctx = calloc(s.n, sizeof(*s.chunk_ctx));
	if (!s.inputs || !s.chunk_ctx) {
		ct_err("out of memory");
		goto out;
	}
	uint64_t total_bytes;
	if (open_inputs(&s, opts, paths, &total_bytes))
		goto out;

	s.base_wall = INT64_MAX;
	for (unsigned i = 0; i < s.n; i++) {
		int64_t w = trace_start_wall(&s.inputs[i]);
		if (w < s.base_wall)
			s.base_wall = w;
	}
	s.since_wall = ct_time_resolve(&since, s.base_wall);
	s.until_wall = ct_time_resolve(&until, s.base_wall);
	if (s.has_since && s.has_until && s.until_wall < s.since_wall) {
		ct_err("--until is before --since");
		status = CT_EXIT_USAGE;
		goto out;
	}
	if (s.filter)
		ct_filter_set_base(s.filter, s.base_wall);

	for (unsigned i = 0; i < s.n; i++) {
		struct ct_input *in = &s.inputs[i];
		struct ct_query q = {0};
		int64_t off = in->hdr->wall_offset_ns;
		if (s.has_since)
			q.since_ns = to_file_clock(s.since_wall, off);
		if (s.has_until)
			q.until_ns = to_file_clock(s.until_wall, off);
		s.chunk_ctx[i] = (struct chunk_ctx){.s = &s, .input = i};
		if (s.filter) {
			q.chunk_filter = chunk_filter;
			q.ctx = &s.chunk_ctx[i];
		}
		int rc = ct_reader_set_query(in->reader, &q);
		if (rc < 0) {
			ct_err("%s: %s", in->path, ct_strerror(rc));
			goto out;
		}
	}

	if (s.n > 1) {
		s.readers = calloc(s.n, sizeof(*s.readers));
		if (!s.readers) {
			ct_err("out of memory");
			goto out;
		}
		for (unsigned i = 0; i < s.n; i++)
			s.readers[i] = s.inputs[i].reader;
		int rc = ct_merge_open(&merge, s.readers, s.n);
		if (rc < 0) {
			ct_err("merging inputs: %s", ct_strerror(rc));
			goto out;
		}
	}

	if (ops->begin && ops->begin(ctx, &s) < 0)
		goto out;

	struct progress pg = {.on = opts->progress && !opts->quiet && isatty(2) &&
				    total_bytes >= (64u << 20),
			      .total = total_bytes,
			      .last_pct = -1};
	struct ct_proc_info pi;
	const struct proc_entry *cached = NULL;
	uint32_t cached_pid = 0;
	unsigned cached_host = ~0u;
	uint64_t cached_gen = ~0ULL;
	uint64_t nrec = 0;
	/* One input, and a filter (if any) that reads only what a batch
	 * carries: chunks as columns. */
	int batches = ops->batch && !merge && (!s.filter || ct_filter_batchable(s.filter));
	for (;;) {
		const struct ct_record *rec;
		const struct ct_batch *batch;
		unsigned input = 0;
		int rc = merge	   ? ct_merge_next(merge, &rec, &input)
			 : batches ? ct_reader_next_batch(s.inputs[0].reader, &rec, &batch)
				   : ct_reader_next(s.inputs[0].reader, &rec);
		if (rc == 2) {
			uint64_t before = nrec;
			nrec += batch->n;
			if (pg.on && (before >> 16) != (nrec >> 16))
				progress_show(&pg, &s);
			if (batch_run(&s, ops, ctx, batch, 0) < 0)
				goto out_end;
			continue;
		}
		if (rc == 0)
			break;
		if (rc < 0) {
			ct_err("%s: %s", s.inputs[input].path, ct_strerror(rc));
			goto out;
		}
		if (pg.on && (++nrec & 0xffff) == 0)
			progress_show(&pg, &s);
		const struct ct_input *in = &s.inputs[input];
		switch (rec->type) {
		case CT_REC_EVENT: {
			const struct ct_event *ev = &rec->ev;
			int64_t wall = (int64_t)ev->ts_ns + in->hdr->wall_offset_ns;
			if ((s.has_since && wall < s.since_wall) ||
			    (s.has_until && wall > s.until_wall))
				break;
			/* The last pid's lookup until the table changes, else by
			 * the reader's token of the process context, else a
			 * lookup. */
			if (ev->pid != cached_pid || in->host_index != cached_host ||
			    s.procs.generation != cached_gen) {
				uint64_t tok = ct_reader_event_proc_token(in->reader);
				struct proc_cache_slot *pc = &s.pcache[tok % PROC_CACHE];
				if (tok && pc->token == tok && pc->input == input &&
				    pc->layout == s.procs.layout) {
					cached = pc->e;
				} else {
					cached = proc_find(&s.procs, ev->pid, in->host_index);
					if (tok)
						*pc = (struct proc_cache_slot){.token = tok,
									       .layout =
										   s.procs.layout,
									       .input = input,
									       .e = cached};
				}
				cached_pid = ev->pid;
				cached_host = in->host_index;
				cached_gen = s.procs.generation;
			}
			fill_proc(&pi, ev->pid, ev->ppid, ev->uid, ev->gid, ev->comm, cached);
			if (s.filter && !ct_filter_match(s.filter, ev, &pi, wall))
				break;
			if (ops->event && ops->event(ctx, ev, &pi, input) < 0)
				goto out_end;
			break;
		}
		case CT_REC_PROC:
			if (proc_update(&s.procs, &rec->proc, in->host_index)) {
				ct_err("out of memory");
				goto out;
			}
			if (ops->proc && ops->proc(ctx, &rec->proc, input) < 0)
				goto out_end;
			break;
		case CT_REC_LOST:
			if (ops->lost && ops->lost(ctx, &rec->lost, input) < 0)
				goto out_end;
			break;
		default:
			break; /* newer record kinds: not ours to interpret */
		}
	}
	progress_end(&pg);
	if (ops->end && ops->end(ctx, &s) < 0)
		goto out;

	struct ct_reader_stats st;
	ct_session_stats(&s, &st);
	if (st.chunks_damaged || s.damaged) {
		uint64_t n = st.chunks_damaged > s.damaged ? st.chunks_damaged : s.damaged;
		ct_err("warning: %llu damaged chunk%s skipped; the rest was read",
		       (unsigned long long)n, n == 1 ? "" : "s");
	}
	status = CT_EXIT_OK;
	goto out;
out_end:
	progress_end(&pg);
out:
	if (merge)
		ct_merge_close(merge);
	session_free(&s);
	return status;
}
