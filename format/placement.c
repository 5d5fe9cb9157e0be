/* SPDX-License-Identifier: MIT */
/*
 * placement.c: the writer's outcomes (format 2.1). An outcome names its
 * attempt by (ts, tid); the file names it by event chunk and position
 * there (FORMAT.md, "Outcome and close chunks"). At each flush the
 * outcomes told since the last one are placed on an event of the chunk
 * being flushed or on a pending attempt: one of an earlier chunk, tracked
 * (CT_EV_TRACKED) and still waiting for its handshake or its close. The
 * records go out as an outcome chunk (handshakes) and a close chunk, just
 * before the event chunk, so a stream's reader has them first.
 */
#include <stdlib.h>

#include "writer_int.h"

/* A tracked attempt already written, waiting for its outcome or close. */
struct pending {
	uint64_t ts; /* 0: empty slot */
	uint32_t tid;
	uint32_t seq;	/* its event chunk */
	uint32_t index; /* its position there */
	uint32_t established;
};

/* An outcome waiting for the flush that places it. */
struct wout {
	struct ct_outcome o;
	int carried; /* its attempt was not found at one flush already */
};

int ct_writer_outcome(struct ct_writer *w, const struct ct_outcome *o)
{
	if (w->err)
		return w->err;
	if (!o->ts_ns ||
	    (o->flags & ~(uint32_t)(CT_OC_RESULT | CT_OC_ABANDONED | CT_OC_CLOSED | CT_OC_OPEN)))
		return CT_E_INVAL;
	if (ct_reserve(&w->outs, &w->cap_outs, (uint64_t)w->nouts + 1, sizeof(*w->outs)))
		return CT_E_NOMEM;
	w->outs[w->nouts++] = (struct wout){.o = *o};
	ct_note_open(w);
	return 0;
}

uint64_t ct_writer_outcomes_dropped(const struct ct_writer *w)
{
	return w->outcomes_dropped;
}

/* ---------------------------------------------------------- pending set */

static uint64_t pend_hash(uint64_t ts, uint32_t tid)
{
	uint64_t h = (ts ^ ((uint64_t)tid << 32 | tid)) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

static uint64_t pend_slot_hash(const void *slot)
{
	const struct pending *p = slot;
	return pend_hash(p->ts, p->tid);
}

static int pend_used(const void *slot)
{
	return ((const struct pending *)slot)->ts != 0;
}

static int pend_eq(const void *slot, const void *key)
{
	const struct pending *p = slot, *k = key;
	return p->ts == k->ts && p->tid == k->tid;
}

static const struct ct_oatab_ops pend_ops = {
    .size = sizeof(struct pending), .hash = pend_slot_hash, .used = pend_used, .eq = pend_eq};

static struct pending *pend_find(struct ct_writer *w, uint64_t ts, uint32_t tid)
{
	struct pending key = {.ts = ts, .tid = tid};
	return ct_oatab_find(&w->pend, &pend_ops, pend_hash(ts, tid), &key);
}

static int pend_add(struct ct_writer *w, const struct pending *e)
{
	if (w->pend.count >= w->opts.pending_max || !e->ts)
		return 0; /* its outcome will be dropped, never misplaced */
	if (ct_oatab_reserve(&w->pend, &pend_ops, 1, 2))
		return CT_E_NOMEM;
	struct pending *p = ct_oatab_probe(&w->pend, &pend_ops, pend_hash(e->ts, e->tid), e);
	if (!p->ts)
		w->pend.count++;
	*p = *e;
	return 0;
}

/* ------------------------------------------------------------ outcomes */

/* What an outcome settles: the handshake (result or abandoned) and, once
 * established, the close. An attempt stays pending until both are known. */
static int settles(uint32_t flags, int32_t result)
{
	return (flags & (CT_OC_ABANDONED | CT_OC_CLOSED | CT_OC_OPEN)) ||
	       ((flags & CT_OC_RESULT) && result != 0);
}

/* Position of the attempt (ts, tid) among the sorted events of the chunk
 * being flushed, or -1. */
static long find_event(const struct ct_writer *w, uint64_t ts, uint32_t tid)
{
	uint32_t lo = 0, hi = w->nev;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (w->evs[w->order[mid]].ts_ns < ts)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (uint32_t k = lo; k < w->nev && w->evs[w->order[k]].ts_ns == ts; k++)
		if (w->evs[w->order[k]].tid == tid)
			return (long)k;
	return -1;
}

static void rec_merge(struct ct_oc_rec *r, const struct ct_outcome *o)
{
	if (o->flags & CT_OC_RESULT) {
		r->result = o->result;
		r->result_ns = o->result_ns;
	}
	if ((o->flags & CT_OC_ABANDONED) && !(r->flags & CT_OC_RESULT))
		r->result_ns = o->result_ns;
	if (o->flags & CT_OC_CLOSED) {
		r->closed_ns = o->closed_ns;
		r->tx_bytes = o->tx_bytes;
		r->rx_bytes = o->rx_bytes;
		r->flags &= ~(uint32_t)CT_OC_OPEN;
	}
	r->flags |= o->flags;
	if (r->flags & CT_OC_CLOSED)
		r->flags &= ~(uint32_t)CT_OC_OPEN;
}

static int cmp_rec(const void *a, const void *b)
{
	const struct ct_oc_rec *x = a, *y = b;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int rec_push(struct ct_writer *w, uint32_t seq, uint32_t index, const struct ct_outcome *o)
{
	if (ct_reserve(&w->recs, &w->cap_recs, (uint64_t)w->nrecs + 1, sizeof(*w->recs)))
		return CT_E_NOMEM;
	struct ct_oc_rec *r = &w->recs[w->nrecs++];
	memset(r, 0, sizeof(*r));
	r->seq = seq;
	r->index = index;
	r->ts_ns = o->ts_ns;
	r->tid = o->tid;
	rec_merge(r, o);
	return 0;
}

/* The outcomes told since the last flush, placed: on the event chunk
 * being flushed (seq ev_seq) or on a pending attempt of an earlier one.
 * One whose attempt is not found waits one flush (the event may still be
 * on its way), then is dropped. Sorted by (seq, index), one record an
 * attempt. */
static int place_outcomes(struct ct_writer *w, uint32_t ev_seq)
{
	uint32_t keep = 0;
	int err;

	w->nrecs = 0;
	for (uint32_t i = 0; i < w->nouts; i++) {
		struct wout *wo = &w->outs[i];
		long k = w->nev ? find_event(w, wo->o.ts_ns, wo->o.tid) : -1;
		struct pending *p = k < 0 ? pend_find(w, wo->o.ts_ns, wo->o.tid) : NULL;
		if (k >= 0)
			err = rec_push(w, ev_seq, (uint32_t)k, &wo->o);
		else if (p)
			err = rec_push(w, p->seq, p->index, &wo->o);
		else if (!wo->carried) {
			wo->carried = 1;
			w->outs[keep++] = *wo;
			continue;
		} else {
			w->outcomes_dropped++;
			continue;
		}
		if (err)
			return err;
	}
	w->nouts = keep;
	if (!w->nrecs)
		return 0;
	qsort(w->recs, w->nrecs, sizeof(*w->recs), cmp_rec);
	uint32_t n = 0;
	for (uint32_t i = 0; i < w->nrecs; i++) {
		struct ct_oc_rec *r = &w->recs[i];
		if (n && w->recs[n - 1].seq == r->seq && w->recs[n - 1].index == r->index) {
			struct ct_outcome o = {.flags = r->flags,
					       .result = r->result,
					       .result_ns = r->result_ns,
					       .closed_ns = r->closed_ns,
					       .tx_bytes = r->tx_bytes,
					       .rx_bytes = r->rx_bytes};
			rec_merge(&w->recs[n - 1], &o);
			continue;
		}
		w->recs[n++] = *r;
	}
	w->nrecs = n;
	return 0;
}

#define OC_HANDSHAKE (CT_OC_RESULT | CT_OC_ABANDONED)
#define OC_CLOSE (CT_OC_CLOSED | CT_OC_OPEN)

int ct_place_outcomes(struct ct_writer *w, uint32_t *ev_seq)
{
	/* Records on the chunk being flushed name it by a stand-in until its
	 * seq is known (it sorts last, as the seq will): the seq comes after
	 * the meta, outcome and close chunks this flush writes first. */
	int err = place_outcomes(w, UINT32_MAX);
	if (err)
		return err;
	uint32_t handshakes = 0, closes = 0;
	for (uint32_t i = 0; i < w->nrecs; i++) {
		handshakes |= (w->recs[i].flags & OC_HANDSHAKE) != 0;
		closes |= (w->recs[i].flags & OC_CLOSE) != 0;
	}
	*ev_seq = w->seq + (w->meta_records ? 1 : 0) + handshakes + closes;
	for (uint32_t i = 0; i < w->nrecs; i++)
		if (w->recs[i].seq == UINT32_MAX)
			w->recs[i].seq = *ev_seq;
	return 0;
}

/* The records of the flushed event chunk, walked alongside its events. */
struct rec_walk {
	const struct ct_oc_rec *rec;
	uint32_t n, j, seq;
};

static void walk_start(struct rec_walk *it, const struct ct_writer *w, uint32_t ev_seq)
{
	*it = (struct rec_walk){.rec = w->recs, .n = w->nrecs, .seq = ev_seq};
	while (it->j < it->n && it->rec[it->j].seq != ev_seq)
		it->j++;
}

/* The record of event k (k increasing from call to call), or NULL. */
static const struct ct_oc_rec *walk_at(struct rec_walk *it, uint32_t k)
{
	while (it->j < it->n && it->rec[it->j].seq == it->seq && it->rec[it->j].index < k)
		it->j++;
	if (it->j < it->n && it->rec[it->j].seq == it->seq && it->rec[it->j].index == k)
		return &it->rec[it->j];
	return NULL;
}

int ct_update_pending(struct ct_writer *w, uint32_t ev_seq)
{
	for (uint32_t i = 0; i < w->nrecs; i++) {
		const struct ct_oc_rec *r = &w->recs[i];
		if (r->seq == ev_seq && w->nev)
			continue;
		struct pending *p = pend_find(w, r->ts_ns, r->tid);
		if (!p)
			continue;
		if (settles(r->flags, r->result))
			ct_oatab_delete(&w->pend, &pend_ops, p);
		else if (r->flags & CT_OC_RESULT)
			p->established = 1;
	}
	struct rec_walk it;
	walk_start(&it, w, ev_seq);
	for (uint32_t k = 0; k < w->nev; k++) {
		const struct ct_wevent *ev = &w->evs[w->order[k]];
		const struct ct_oc_rec *r = walk_at(&it, k);
		if (!(ev->flags & CT_EV_TRACKED) || (r && settles(r->flags, r->result)))
			continue;
		struct pending p = {.ts = ev->ts_ns,
				    .tid = ev->tid,
				    .seq = ev_seq,
				    .index = k,
				    /* a blocking connect that returned 0 is established */
				    .established = r ? (r->flags & CT_OC_RESULT) != 0
						     : (ev->flags & CT_EV_RET) && ev->ret == 0};
		int err = pend_add(w, &p);
		if (err)
			return err;
	}
	return 0;
}

/* The final outcome of each event as known now: what its record says,
 * else what connect(2) returned unless the handshake went on (then it is
 * unknown, or pending when the recorder follows it: it may come later). */
int ct_add_result_keys(struct ct_writer *w, uint32_t ev_seq)
{
	struct rec_walk it;
	int err = 0;

	walk_start(&it, w, ev_seq);
	for (uint32_t k = 0; k < w->nev && !err; k++) {
		const struct ct_wevent *ev = &w->evs[w->order[k]];
		const struct ct_oc_rec *r = walk_at(&it, k);
		int32_t key;
		if (r && (r->flags & CT_OC_RESULT))
			key = r->result;
		else if (r && (r->flags & CT_OC_ABANDONED))
			key = CT_RESULT_KEY_ABANDONED;
		else if (ev->flags & CT_EV_TRACKED)
			key = CT_RESULT_KEY_PENDING;
		else if ((ev->flags & CT_EV_RET) && ct_ret_is_final(ev->ret, ev->dest.proto))
			key = ev->ret;
		else
			key = CT_RESULT_KEY_UNKNOWN;
		err = ct_sum_add_result(&w->sb, key);
	}
	return err;
}

/* The records' part of one kind, as a chunk: handshakes (kind 4) go apart
 * from closes (kind 5), so a reader that wants no byte counts reads none. */
static int write_part(struct ct_writer *w, uint8_t kind)
{
	uint32_t want = kind == CT_CHUNK_OUTCOMES ? OC_HANDSHAKE : OC_CLOSE, n = 0;
	uint64_t lo = UINT64_MAX, hi = 0;
	uint32_t min_seq = UINT32_MAX;

	if (ct_reserve(&w->part, &w->cap_part, w->nrecs, sizeof(*w->part)))
		return CT_E_NOMEM;
	for (uint32_t i = 0; i < w->nrecs; i++) {
		const struct ct_oc_rec *r = &w->recs[i];
		if (!(r->flags & want))
			continue;
		struct ct_oc_rec *x = &w->part[n++];
		*x = (struct ct_oc_rec){.seq = r->seq,
					.index = r->index,
					.ts_ns = r->ts_ns,
					.tid = r->tid,
					.flags = r->flags & want};
		if (kind == CT_CHUNK_OUTCOMES) {
			x->result = r->result;
			x->result_ns = r->result_ns;
		} else {
			x->closed_ns = r->closed_ns;
			x->tx_bytes = r->tx_bytes;
			x->rx_bytes = r->rx_bytes;
		}
		lo = r->ts_ns < lo ? r->ts_ns : lo;
		hi = r->ts_ns > hi ? r->ts_ns : hi;
		min_seq = r->seq < min_seq ? r->seq : min_seq;
	}
	if (!n)
		return 0;
	w->raw.len = 0;
	int err = ct_oc_encode(w->part, n, lo, &w->scratch, &w->raw);
	if (!err)
		err = ct_emit_chunk(w, kind, n, lo, hi, min_seq, NULL, w->raw.p, w->raw.len);
	return err;
}

int ct_write_outcome_chunks(struct ct_writer *w)
{
	int err = write_part(w, CT_CHUNK_OUTCOMES);
	return err ? err : write_part(w, CT_CHUNK_CLOSES);
}

int ct_write_still_open(struct ct_writer *w)
{
	int err = 0;

	w->outcomes_dropped += w->nouts; /* still naming no attempt */
	w->nouts = 0;
	w->nrecs = 0;
	for (size_t i = 0; i < w->pend.cap && !err; i++) {
		const struct pending *p = ct_oatab_at(&w->pend, &pend_ops, i);
		if (!p->ts || !p->established)
			continue;
		struct ct_outcome o = {.ts_ns = p->ts, .tid = p->tid, .flags = CT_OC_OPEN};
		err = rec_push(w, p->seq, p->index, &o);
	}
	if (err || !w->nrecs)
		return err;
	qsort(w->recs, w->nrecs, sizeof(*w->recs), cmp_rec);
	err = write_part(w, CT_CHUNK_CLOSES);
	w->nrecs = 0;
	return err;
}

void ct_placement_free(struct ct_writer *w)
{
	free(w->outs);
	free(w->recs);
	free(w->part);
	ct_oatab_free(&w->pend);
}
