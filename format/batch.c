/* SPDX-License-Identifier: MIT */
/*
 * batch.c: an event chunk becomes a batch: its columns decoded (2.x) or its
 * rows turned into columns (1.x), each event's final outcome from what
 * connect(2) returned or from the outcome records that name it, cut to the
 * query's time window. And the batch as events: views, slices, selections.
 *
 * Outcome records arrive in outcome chunks, each naming its attempt by
 * event chunk and position. A stream has them before the event chunk they
 * name (the writer puts them first); a listed file loads an outcome chunk
 * just before the oldest event chunk it names. The records wait in runs,
 * one a decoded outcome chunk, in a heap by the (chunk, position) they name
 * next, and are taken as their event chunk is decoded.
 */
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "reader_int.h"

/* -------------------------------------------------------------- heap */

static int run_less(const void *a, const void *b)
{
	const struct oc_run *ra = a, *rb = b;
	const struct ct_oc_rec *x = &ra->rec[ra->pos], *y = &rb->rec[rb->pos];
	return x->seq < y->seq || (x->seq == y->seq && x->index < y->index);
}

/* The record at the top, or NULL. */
static const struct ct_oc_rec *heap_top(const struct ct_reader *r)
{
	return r->nruns ? &r->runs[0].rec[r->runs[0].pos] : NULL;
}

static void heap_pop(struct ct_reader *r)
{
	struct oc_run *t = &r->runs[0];
	r->oc_held--;
	if (++t->pos < t->n) {
		ct_heap_down(r->runs, r->nruns, sizeof(*r->runs), 0, run_less);
		return;
	}
	free(t->rec);
	r->runs[0] = r->runs[--r->nruns];
	ct_heap_down(r->runs, r->nruns, sizeof(*r->runs), 0, run_less);
}

static int heap_push(struct ct_reader *r, struct ct_oc_rec *rec, uint32_t n)
{
	if (ct_reserve(&r->runs, &r->cap_runs, (uint64_t)r->nruns + 1, sizeof(*r->runs)))
		return CT_E_NOMEM;
	r->runs[r->nruns] = (struct oc_run){.rec = rec, .n = n};
	ct_heap_up(r->runs, sizeof(*r->runs), r->nruns++, run_less);
	r->oc_held += n;
	return 0;
}

void ct_outcomes_free(struct ct_reader *r)
{
	for (uint32_t i = 0; i < r->nruns; i++)
		free(r->runs[i].rec);
	free(r->runs);
	free(r->oc_list);
	free(r->late);
	r->runs = NULL;
	r->nruns = r->cap_runs = 0;
}

/* ---------------------------------------------------------- outcomes */

int ct_outcome_chunk(struct ct_reader *r, const struct chdr *h)
{
	struct ct_oc_rec *rec = r->pre_oc;
	uint32_t cap = 0;
	const char *why = r->pre_oc_why;
	int pre = r->pre_oc_ready;

	/* Decoded ahead (prefetch.c) or not, the records are ours now. */
	r->pre_oc = NULL;
	r->pre_oc_why = NULL;
	r->pre_oc_ready = 0;
	if (r->oc_held + h->records > CT_OC_HOLD_MAX) {
		/* Beyond the budget: those attempts read "unknown". */
		r->st.outcomes_over_budget += h->records;
		free(rec);
		return 0;
	}
	if (!pre)
		why = ct_oc_decode(r->raw, h->raw, h->records, h->first_ts, &rec, &cap);
	if (!why && rec[0].seq != h->min_seq)
		why = "outcome records do not match their chunk header";
	for (uint32_t i = 0; !why && i < h->records; i++)
		if (rec[i].ts_ns < h->first_ts || rec[i].ts_ns > h->last_ts)
			why = "outcome record outside its chunk's time range";
	if (why) {
		free(rec);
		ct_damage_report(r, h->seq, r->coff, why);
		return 0;
	}
	uint32_t n = h->records, k = 0;
	/* A stream: records naming event chunks already handed out are too
	 * late to join; they go out on their own. */
	while (!r->list_mode && r->have_done && k < n && rec[k].seq <= r->done_seq)
		k++;
	if (k) {
		if (r->late_pos == r->nlate)
			r->nlate = r->late_pos = 0;
		if (ct_reserve(&r->late, &r->cap_late, (uint64_t)r->nlate + k, sizeof(*r->late))) {
			free(rec);
			return CT_E_NOMEM;
		}
		memcpy(r->late + r->nlate, rec, k * sizeof(*rec));
		r->nlate += k;
		r->st.outcomes_late += k;
	}
	if (k == n) {
		free(rec);
		return 0;
	}
	if (k)
		memmove(rec, rec + k, (n - k) * sizeof(*rec));
	int err = heap_push(r, rec, n - k);
	if (err)
		free(rec);
	return err;
}

static int cmp_min_seq(const void *a, const void *b, void *arg)
{
	const struct ct_chunk_info *cs = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	if (cs[x].min_seq != cs[y].min_seq)
		return cs[x].min_seq < cs[y].min_seq ? -1 : 1;
	return x < y ? -1 : x > y;
}

int ct_outcomes_list(struct ct_reader *r)
{
	if (!r->oc_listed) {
		r->oc_listed = 1;
		/* Closes only for a caller that reads byte counts. */
		int closes = (r->want & CT_COL_CLOSE) != 0;
		for (uint32_t i = 0; i < r->nchunks; i++)
			r->noc += r->chunks[i].kind == CT_CHUNK_OUTCOMES ||
				  (closes && r->chunks[i].kind == CT_CHUNK_CLOSES);
		if (!r->noc)
			return 0;
		r->oc_list = malloc(r->noc * sizeof(*r->oc_list));
		if (!r->oc_list)
			return CT_E_NOMEM;
		uint32_t k = 0;
		for (uint32_t i = 0; i < r->nchunks; i++)
			if (r->chunks[i].kind == CT_CHUNK_OUTCOMES ||
			    (closes && r->chunks[i].kind == CT_CHUNK_CLOSES))
				r->oc_list[k++] = i;
		qsort_r(r->oc_list, r->noc, sizeof(*r->oc_list), cmp_min_seq, r->chunks);
	}
	return 0;
}

int ct_outcome_wanted(const struct ct_reader *r, const struct ct_chunk_info *c, uint32_t seq)
{
	/* Records name event chunks up to the one of their own flush, at
	 * most two chunks after them (FORMAT.md): a chunk that ends before
	 * this one names only chunks the query skipped. */
	if ((uint64_t)c->seq + 2 < seq)
		return 0;
	/* Records name attempts in [first_ts, last_ts]: none in the window? */
	return !((r->q.since_ns && c->last_ts < r->q.since_ns) ||
		 (r->q.until_ns && c->first_ts > r->q.until_ns));
}

int ct_outcomes_before(struct ct_reader *r, uint32_t seq)
{
	int lerr = ct_outcomes_list(r);
	if (lerr < 0)
		return lerr;
	while (r->oc_next < r->noc && r->chunks[r->oc_list[r->oc_next]].min_seq <= seq) {
		const struct ct_chunk_info *c = &r->chunks[r->oc_list[r->oc_next++]];
		if (!ct_outcome_wanted(r, c, seq))
			continue;
		int err = ct_use_listed(r, c, ct_outcome_chunk);
		if (err)
			return err;
	}
	return 0;
}

/* Records for this chunk's events (seq): each joined to the event at its
 * position when the event's ts and tid agree. */
static void join(struct ct_reader *r, uint32_t seq, uint32_t n, int have_tid, uint32_t want)
{
	struct ct_colbuf *o = &r->dec.cb;
	const struct ct_oc_rec *x;

	while ((x = heap_top(r)) && x->seq < seq) {
		r->st.outcomes_unmatched++; /* its chunk was skipped or damaged */
		heap_pop(r);
	}
	while ((x = heap_top(r)) && x->seq == seq) {
		uint32_t k = x->index;
		if (k >= n || o->ts[k] != x->ts_ns || (have_tid && o->tid[k] != x->tid)) {
			r->st.outcomes_unmatched++;
			heap_pop(r);
			continue;
		}
		r->st.outcomes_joined++;
		if (want & CT_COL_RESULT) {
			if (x->flags & CT_OC_RESULT) {
				o->flags[k] =
				    (uint16_t)((o->flags[k] & ~CT_EV_ABANDONED) | CT_EV_RESULT);
				o->result[k] = x->result;
				if (want & CT_COL_RESULT_NS)
					o->result_ns[k] = x->result_ns;
			} else if (x->flags & CT_OC_ABANDONED) {
				o->flags[k] =
				    (uint16_t)((o->flags[k] & ~CT_EV_RESULT) | CT_EV_ABANDONED);
				o->result[k] = 0;
				if (want & CT_COL_RESULT_NS)
					o->result_ns[k] = x->result_ns;
			}
		}
		if (want & CT_COL_CLOSE) {
			if (x->flags & CT_OC_CLOSED) {
				o->flags[k] =
				    (uint16_t)((o->flags[k] & ~CT_EV_OPEN) | CT_EV_CLOSED);
				o->closed_ns[k] = x->closed_ns;
				o->tx[k] = x->tx_bytes;
				o->rx[k] = x->rx_bytes;
			} else if ((x->flags & CT_OC_OPEN) && !(o->flags[k] & CT_EV_CLOSED)) {
				o->flags[k] |= CT_EV_OPEN;
			}
		}
		heap_pop(r);
	}
}

/* ------------------------------------------------------------- events */

/* Events a results_plain call covers: a rare EINTR or ERESTART* costs a
 * second look at its block alone. */
#define RESULT_BLOCK 256

/* Each event's final result from what connect(2) returned, for every
 * return value whose meaning does not depend on the protocol, without a
 * branch (it runs on every event read). Nonzero when some event returned
 * EINTR or ERESTART*, which are final except over TCP (ct_ret_is_final). */
/* -O2 vectorises only loops that need no scalar remainder, and AVX2 has
 * twice the lanes: as colcodec.c's decoding loops (not under TSan). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
__attribute__((optimize("vect-cost-model=dynamic"), target_clones("avx2", "default")))
#elif defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("vect-cost-model=dynamic")))
#endif
static uint32_t
results_plain(const int32_t *restrict ret, uint16_t *restrict flags, int32_t *restrict result,
	      uint32_t n)
{
	uint32_t odd = 0;
	for (uint32_t i = 0; i < n; i++) {
		int32_t v = ret[i];
		uint32_t has = flags[i] & CT_EV_RET;
		uint32_t restart = ct_ret_interrupted(v);
		uint32_t known = has & (v != -115) & !restart;
		odd |= has & restart;
		result[i] = known ? v : 0;
		flags[i] = (uint16_t)(flags[i] | (known ? CT_EV_RESULT : 0));
	}
	return odd;
}

/* Each event's final result from what connect(2) returned (want: the
 * columns decoded), and the close columns zeroed for the joins. */
static void results_fix(const struct ct_tables *tab, struct ct_colbuf *o, uint32_t n, uint32_t want)
{
	if (want & CT_COL_RESULT) {
		for (uint32_t s = 0; s < n; s += RESULT_BLOCK) {
			uint32_t m = n - s < RESULT_BLOCK ? n - s : RESULT_BLOCK;
			if (!results_plain(o->ret + s, o->flags + s, o->result + s, m))
				continue;
			for (uint32_t i = s; i < s + m; i++) {
				int32_t ret = o->ret[i];
				if ((o->flags[i] & CT_EV_RET) && ct_ret_interrupted(ret) &&
				    ct_ret_is_final(ret, tab->dests[o->dest[i]].proto)) {
					o->result[i] = ret;
					o->flags[i] |= CT_EV_RESULT;
				}
			}
		}
		if (want & CT_COL_RESULT_NS)
			for (uint32_t i = 0; i < n; i++)
				o->result_ns[i] =
				    (o->flags[i] & CT_EV_RESULT) && (o->flags[i] & CT_EV_LATENCY)
					? o->latency[i]
					: 0;
	}
	if (want & CT_COL_CLOSE) {
		memset(o->closed_ns, 0, n * sizeof(*o->closed_ns));
		memset(o->tx, 0, n * sizeof(*o->tx));
		memset(o->rx, 0, n * sizeof(*o->rx));
	}
}

uint32_t ct_event_want(uint32_t want)
{
	if (want & CT_COL_RESULT_NS)
		want |= CT_COL_RESULT | CT_COL_LATENCY;
	if (want & CT_COL_RESULT)
		want |= CT_COL_RET;
	return want;
}

uint32_t ct_event_decode(struct ct_evdec *d, const uint8_t *raw, const struct chdr *h,
			 uint32_t want, const char **why)
{
	*why = ct_cols_open(&d->cols, &d->tab, raw, h->raw, h->records, h->first_ts);
	if (*why)
		return 0;
	if (ct_colbuf_reserve(&d->cb, d->cols.n)) {
		*why = "out of memory";
		return 0;
	}
	uint32_t n = ct_cols_decode(&d->cols, &d->tab, want, &d->cb, why);
	results_fix(&d->tab, &d->cb, n, want);
	return n;
}

int ct_event_batch(struct ct_reader *r, const struct chdr *h)
{
	struct ct_colbuf *o = &r->dec.cb;
	uint32_t want = ct_event_want(r->want), n;
	const char *why = NULL;
	const struct ct_oc_rec *x = heap_top(r);
	/* tid checks a join even when the caller does not read it */
	int have_tid = (want & CT_COL_TID) || (x && x->seq == h->seq);

	r->chunk_loads++;
	if (r->pre_ev_ready && (r->pre_ev_tid || !have_tid)) { /* decoded ahead (prefetch.c) */
		n = r->pre_ev_n;
		why = r->pre_ev_why;
		r->pre_ev_ready = 0;
	} else if (r->columnar) {
		r->pre_ev_ready = 0;
		n = ct_event_decode(&r->dec, r->raw, h, want | (have_tid ? CT_COL_TID : 0), &why);
	} else {
		n = ct_rows_decode(&r->rows, &r->dec.tab, r->raw, r->raw + h->raw, h->first_ts,
				   h->records, o, &why);
		want = CT_COL_ALL; /* rows fill every stored column */
		results_fix(&r->dec.tab, o, n, want);
	}
	if (why)
		ct_damage_report(r, h->seq, r->coff, why);
	if (!n)
		return 0;
	join(r, h->seq, n, have_tid, want);

	/* Only the events inside the query's window (times are sorted). */
	uint64_t until = r->q.until_ns ? r->q.until_ns : UINT64_MAX;
	uint32_t lo = 0, hi = n;
	while (lo < hi && o->ts[lo] < r->q.since_ns)
		lo++;
	while (hi > lo && o->ts[hi - 1] > until)
		hi--;
	if (lo == hi)
		return 0;
	r->st.events += hi - lo;
	uint32_t cols = want & CT_COL_ALL;
	if (have_tid)
		cols |= CT_COL_TID;
	struct ct_batch *b = &r->batch;
	*b = (struct ct_batch){
	    .n = n,
	    .columns = cols,
	    .ts_ns = o->ts,
	    .task = o->task,
	    .dest = o->dest,
	    .flags = o->flags,
	    .tid = cols & CT_COL_TID ? o->tid : NULL,
	    .sockfd = cols & CT_COL_SOCKFD ? o->sockfd : NULL,
	    .ret = cols & CT_COL_RET ? o->ret : NULL,
	    .latency_ns = cols & CT_COL_LATENCY ? o->latency : NULL,
	    .sport = cols & CT_COL_LOCAL ? o->sport : NULL,
	    .saddr = cols & CT_COL_LOCAL ? (const uint8_t(*)[16])o->saddr : NULL,
	    .result = cols & CT_COL_RESULT ? o->result : NULL,
	    .result_ns = cols & CT_COL_RESULT_NS ? o->result_ns : NULL,
	    .closed_ns = cols & CT_COL_CLOSE ? o->closed_ns : NULL,
	    .tx_bytes = cols & CT_COL_CLOSE ? o->tx : NULL,
	    .rx_bytes = cols & CT_COL_CLOSE ? o->rx : NULL,
	    .ntasks = r->dec.tab.ntasks,
	    .ndests = r->dec.tab.ndests,
	    .tasks = r->dec.tab.tasks,
	    .dests = r->dec.tab.dests,
	    .tables_id = r->chunk_loads,
	};
	if (lo || hi < n)
		ct_batch_slice(b, lo, hi, b);
	return 1;
}

/* -------------------------------------------------------------- views */

void ct_batch_event(const struct ct_batch *b, uint32_t i, struct ct_event *ev)
{
	uint32_t t = b->task[i];
	uint16_t fl = b->flags[i];

	ev->ts_ns = b->ts_ns[i];
	ev->task = &b->tasks[t];
	ev->dest = &b->dests[b->dest[i]];
	ev->proc = b->procinfo ? &b->procinfo[t] : NULL;
	ev->dname = b->dname ? b->dname[i] : NULL;
	ev->flags = fl;
	ev->tid = b->tid ? b->tid[i] : 0;
	ev->sockfd = b->sockfd ? b->sockfd[i] : 0;
	ev->ret = b->ret ? b->ret[i] : 0;
	ev->latency_ns = b->latency_ns ? b->latency_ns[i] : 0;
	ev->result = b->result ? b->result[i] : 0;
	ev->result_ns = b->result_ns ? b->result_ns[i] : 0;
	if (b->closed_ns) {
		ev->closed_ns = b->closed_ns[i];
		ev->tx_bytes = b->tx_bytes[i];
		ev->rx_bytes = b->rx_bytes[i];
	} else {
		ev->closed_ns = ev->tx_bytes = ev->rx_bytes = 0;
	}
	if (b->sport && (fl & CT_EV_SADDR)) {
		ev->sport = b->sport[i];
		memcpy(ev->saddr, b->saddr[i], 16);
	} else {
		ev->sport = 0;
		memset(ev->saddr, 0, 16);
	}
}

void ct_batch_slice(const struct ct_batch *b, uint32_t from, uint32_t to, struct ct_batch *out)
{
	struct ct_batch s = *b;

	s.n = to - from;
	s.ts_ns += from;
	s.task += from;
	s.dest += from;
	s.flags += from;
#define MOVE(f)                                                                                    \
	if (s.f)                                                                                   \
	s.f += from
	MOVE(tid);
	MOVE(sockfd);
	MOVE(ret);
	MOVE(latency_ns);
	MOVE(sport);
	MOVE(saddr);
	MOVE(result);
	MOVE(result_ns);
	MOVE(closed_ns);
	MOVE(tx_bytes);
	MOVE(rx_bytes);
	MOVE(dname);
#undef MOVE
	*out = s;
}

int ct_batch_select(const struct ct_batch *b, const uint32_t *keep, uint32_t k,
		    struct ct_batch_sel *sel, struct ct_batch *out)
{
	/* Bytes an event takes in the columns b has: ts, task, dest, flags,
	 * then those a caller may leave out. */
	const struct {
		const void *col;
		size_t bytes;
	} optional[] = {{b->tid, 4},	    {b->sockfd, 4},	   {b->ret, 4},
			{b->latency_ns, 8}, {b->sport, 2 + 16},	   {b->result, 4},
			{b->result_ns, 8},  {b->closed_ns, 3 * 8}, {b->dname, sizeof(char *)}};
	size_t per = 8 + 4 + 4 + 2;
	for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); i++)
		per += optional[i].col ? optional[i].bytes : 0;
	size_t need = (size_t)k * per + 64;
	if (sel->cap < need) {
		void *m = malloc(need);
		if (!m)
			return CT_E_NOMEM;
		free(sel->mem);
		sel->mem = m;
		sel->cap = need;
	}
	struct ct_batch s = *b;
	uint8_t *m = sel->mem;
	s.n = k;
/* Widest columns first, so each stays aligned. */
#define TAKE(f, T)                                                                                 \
	do {                                                                                       \
		if (b->f) {                                                                        \
			T *d = (T *)(void *)m;                                                     \
			for (uint32_t i = 0; i < k; i++)                                           \
				d[i] = b->f[keep[i]];                                              \
			s.f = d;                                                                   \
			m += (size_t)k * sizeof(T);                                                \
		}                                                                                  \
	} while (0)
	TAKE(ts_ns, uint64_t);
	TAKE(latency_ns, uint64_t);
	TAKE(result_ns, uint64_t);
	TAKE(closed_ns, uint64_t);
	TAKE(tx_bytes, uint64_t);
	TAKE(rx_bytes, uint64_t);
	TAKE(dname, const char *);
	TAKE(task, uint32_t);
	TAKE(dest, uint32_t);
	TAKE(tid, uint32_t);
	TAKE(sockfd, int32_t);
	TAKE(ret, int32_t);
	TAKE(result, int32_t);
	TAKE(flags, uint16_t);
	TAKE(sport, uint16_t);
#undef TAKE
	if (b->saddr) {
		uint8_t(*d)[16] = (uint8_t(*)[16])m;
		for (uint32_t i = 0; i < k; i++)
			memcpy(d[i], b->saddr[keep[i]], 16);
		s.saddr = (const uint8_t(*)[16])d;
	}
	*out = s;
	return 0;
}

void ct_batch_sel_free(struct ct_batch_sel *sel)
{
	free(sel->mem);
	sel->mem = NULL;
	sel->cap = 0;
}
