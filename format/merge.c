/* SPDX-License-Identifier: MIT */
/*
 * merge.c: records of several readers in time order, through a binary heap
 * keyed by (timestamp, input) so ties go to the lower input. A file stores
 * the process and lost records of a flush before its events, so a reader
 * may return them up to one flush interval early; the merge hands them out
 * as soon as they reach the head of their input (key 0) so they never hold
 * that input's events back out of order. Events come out in time order.
 */
#include <stdlib.h>

#include "ct_internal.h"

struct head {
	uint64_t ts;
	unsigned input;
	const struct ct_record *rec;
};

struct ct_merge {
	struct ct_reader *const *readers;
	unsigned n, nheap;
	int primed;
	unsigned pending; /* input whose record was handed out last; advance it next */
	int has_pending;
	struct head heap[];
};

static uint64_t rec_ts(const struct ct_record *r)
{
	return r->ev.ts_ns;
}

/* Inputs from different hosts have different clocks: order by wall-clock
 * time (ts + the header's offset), mapped to unsigned order-preservingly. */
static uint64_t wall_key(const struct ct_reader *r, uint64_t ts)
{
	int64_t w = (int64_t)ts + ct_reader_header(r)->wall_offset_ns;
	return (uint64_t)w ^ (1ULL << 63);
}

static int less(const struct head *a, const struct head *b)
{
	return a->ts < b->ts || (a->ts == b->ts && a->input < b->input);
}

static void sift_down(struct ct_merge *m, unsigned i)
{
	for (;;) {
		unsigned l = 2 * i + 1, r = l + 1, s = i;
		if (l < m->nheap && less(&m->heap[l], &m->heap[s]))
			s = l;
		if (r < m->nheap && less(&m->heap[r], &m->heap[s]))
			s = r;
		if (s == i)
			return;
		struct head t = m->heap[i];
		m->heap[i] = m->heap[s];
		m->heap[s] = t;
		i = s;
	}
}

static void sift_up(struct ct_merge *m, unsigned i)
{
	while (i) {
		unsigned p = (i - 1) / 2;
		if (!less(&m->heap[i], &m->heap[p]))
			return;
		struct head t = m->heap[i];
		m->heap[i] = m->heap[p];
		m->heap[p] = t;
		i = p;
	}
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

/* Pull the next record of input i into the heap (at the top when top). */
static int refill(struct ct_merge *m, unsigned i, int top)
{
	const struct ct_record *rec;
	int rc = ct_reader_next(m->readers[i], &rec);

	if (rc < 0)
		return rc;
	if (rc == 0) {
		if (top) {
			m->heap[0] = m->heap[--m->nheap];
			sift_down(m, 0);
		}
		return 0;
	}
	struct head h = {.ts = rec->type == CT_REC_EVENT ? wall_key(m->readers[i], rec_ts(rec)) : 0,
			 .input = i,
			 .rec = rec};
	if (top) {
		m->heap[0] = h;
		sift_down(m, 0);
	} else {
		m->heap[m->nheap] = h;
		sift_up(m, m->nheap++);
	}
	return 0;
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
	*rec = m->heap[0].rec;
	if (input)
		*input = m->heap[0].input;
	m->pending = m->heap[0].input;
	m->has_pending = 1;
	return 1;
}

void ct_merge_close(struct ct_merge *m)
{
	free(m);
}
