/* SPDX-License-Identifier: MIT */
/*
 * merge.c: records of several readers in time order, through a binary heap
 * keyed by (wall-clock time, input) so ties go to the lower input. Batches
 * are handed out in slices: from an input's next event up to the time
 * where another input's next event comes first. A rotated set (inputs one
 * after another) comes out in whole batches, interleaved hosts in runs.
 * A file stores the process and lost records of a flush before its events,
 * so a reader may return them up to one flush interval early; the merge
 * hands them out as soon as they reach the head of their input (key 0) so
 * they never hold that input's events back out of order.
 */
#include <stdlib.h>

#include "ct_internal.h"
#include "heap.h"

struct head {
	uint64_t key;
	unsigned input;
	const struct ct_record *rec;
	uint32_t pos; /* a batch: its next event */
};

struct ct_merge {
	struct ct_reader *const *readers;
	unsigned n, nheap;
	int primed;
	unsigned pending; /* input whose record was handed out last; advance it next */
	int has_pending;
	struct ct_record out;
	struct ct_batch slice;
	struct head heap[];
};

/* Inputs from different hosts have different clocks: order by wall-clock
 * time (ts + the header's offset), mapped to unsigned order-preservingly. */
static uint64_t wall_key(const struct ct_reader *r, uint64_t ts)
{
	return (uint64_t)ct_wall_ns(ts, ct_reader_header(r)->wall_offset_ns) ^ (1ULL << 63);
}

static int less(const void *x, const void *y)
{
	const struct head *a = x, *b = y;
	return a->key < b->key || (a->key == b->key && a->input < b->input);
}

static void sift_down(struct ct_merge *m, unsigned i)
{
	ct_heap_down(m->heap, m->nheap, sizeof(*m->heap), i, less);
}

static void sift_up(struct ct_merge *m, unsigned i)
{
	ct_heap_up(m->heap, sizeof(*m->heap), i, less);
}

int ct_merge_open(struct ct_merge **out, struct ct_reader *const *readers, unsigned n)
{
	*out = NULL;
	if (!readers && n)
		return CT_E_INVAL;
	struct ct_merge *m = calloc(1, sizeof(*m) + (size_t)n * sizeof(struct head));
	if (!m)
		return CT_E_NOMEM;
	m->readers = readers;
	m->n = n;
	*out = m;
	return 0;
}

static uint64_t head_key(const struct ct_merge *m, const struct head *h)
{
	if (h->rec->type != CT_REC_BATCH)
		return 0;
	return wall_key(m->readers[h->input], h->rec->batch->ts_ns[h->pos]);
}

/* Pull the next record of input i into the heap (at the top when top). */
static int refill(struct ct_merge *m, unsigned i, int top)
{
	const struct ct_record *rec;
	int rc;

	do
		rc = ct_reader_next(m->readers[i], &rec);
	while (rc > 0 && rec->type == CT_REC_BATCH && !rec->batch->n);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		if (top) {
			m->heap[0] = m->heap[--m->nheap];
			sift_down(m, 0);
		}
		return 0;
	}
	struct head h = {.input = i, .rec = rec};
	h.key = head_key(m, &h);
	if (top) {
		m->heap[0] = h;
		sift_down(m, 0);
	} else {
		m->heap[m->nheap] = h;
		sift_up(m, m->nheap++);
	}
	return 0;
}

/* The runner-up of the heap's top, or NULL. */
static const struct head *second(const struct ct_merge *m)
{
	const struct head *a = m->nheap > 1 ? &m->heap[1] : NULL;
	const struct head *b = m->nheap > 2 ? &m->heap[2] : NULL;
	return !b || (a && less(a, b)) ? a : b;
}

int ct_merge_next(struct ct_merge *m, const struct ct_record **rec, unsigned *input)
{
	int rc;

	if (!m->primed) {
		m->primed = 1;
		for (unsigned i = 0; i < m->n; i++) {
			if ((rc = refill(m, i, 0)) < 0) {
				if (input)
					*input = i;
				return rc;
			}
		}
	} else if (m->has_pending) {
		/* The record handed out last stays valid until now. */
		m->has_pending = 0;
		if ((rc = refill(m, m->pending, 1)) < 0) {
			if (input)
				*input = m->pending;
			return rc;
		}
	}
	if (!m->nheap)
		return 0;
	struct head *t = &m->heap[0];
	if (input)
		*input = t->input;
	if (t->rec->type != CT_REC_BATCH) {
		*rec = t->rec;
		m->pending = t->input;
		m->has_pending = 1;
		return 1;
	}
	/* Events of the top's batch while they still come first. */
	const struct ct_batch *b = t->rec->batch;
	const struct head *s = second(m);
	uint32_t end = b->n;
	if (s) {
		/* ties go to the lower input */
		uint64_t limit = s->key;
		int take_tie = t->input < s->input;
		uint32_t lo = t->pos + 1, hi = b->n;
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			uint64_t k = wall_key(m->readers[t->input], b->ts_ns[mid]);
			if (k < limit || (k == limit && take_tie))
				lo = mid + 1;
			else
				hi = mid;
		}
		end = lo;
	}
	ct_batch_slice(b, t->pos, end, &m->slice);
	m->out.type = CT_REC_BATCH;
	m->out.batch = &m->slice;
	*rec = &m->out;
	if (end == b->n) {
		m->pending = t->input;
		m->has_pending = 1;
	} else {
		t->pos = end;
		t->key = head_key(m, t);
		sift_down(m, 0);
	}
	return 1;
}

void ct_merge_close(struct ct_merge *m)
{
	free(m);
}
