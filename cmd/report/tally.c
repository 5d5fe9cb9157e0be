/* SPDX-License-Identifier: MIT */
/*
 * tally.c: counting batches of events into a tally. Per event the loop
 * takes the program of the chunk's process entry (looked up once per entry
 * and batch), bumps dense counters of the chunk's destination with the
 * program inline in the same cache line, and counts the outcome and the
 * rate; the chunk's destinations and pairs then go to the tally's tables
 * once. A tally is one thread's: tallies are added up at the end.
 */
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "cmd/report/report.h"
#include "lib/util.h"

const char *const rp_outcome_names[O_N] = {"success", "refused", "timeout",   "unreachable",
					   "denied",  "other",	 "abandoned", "unknown"};

/* ------------------------------------------------------------ outcomes */

static enum outcome classify_errno(int e)
{
	switch (e) {
	case 0:
		return O_OK;
	case 111:
		return O_REFUSED;
	case 110:
		return O_TIMEOUT;
	case 13:
	case 1:
		return O_DENIED;
	case 101:
	case 113:
		return O_UNREACH;
	default:
		return O_OTHER;
	}
}

/* rp_classify for the hot loop: a table over the small errnos (filled once,
 * before any thread, by rp_tallies_new). */
static uint8_t outcome_of_errno[128];

enum outcome rp_classify(uint16_t flags, int32_t result)
{
	if (flags & CT_EV_ABANDONED)
		return O_ABANDONED;
	if (!(flags & CT_EV_RESULT))
		return O_UNKNOWN;
	uint64_t e = (uint64_t)(-(int64_t)result);
	return e < 128 ? (enum outcome)outcome_of_errno[e] : O_OTHER;
}

/* A failure: an outcome known and not a success. */
static inline int is_failure(enum outcome o)
{
	/* bit o set: a failure (one test in the hot loop) */
	enum { FAILING = 0xff & ~(1u << O_OK | 1u << O_ABANDONED | 1u << O_UNKNOWN) };
	_Static_assert(O_N <= 8, "outcomes fit the mask");
	return (FAILING >> o) & 1;
}

/* ------------------------------------------------------------ rate */

/* Bucket of wall: unsigned arithmetic, so spans of any size do not
 * overflow (a hostile file's times reach both ends of int64). */
static inline uint64_t rate_bucket(int64_t origin, unsigned shift, int64_t wall)
{
	return ((uint64_t)wall - (uint64_t)origin) >> shift;
}

/* The histogram moved to a later scale of the report's (origin further
 * back by whole buckets, shift as large or larger): each bucket falls
 * into one of the new scale's, as it would have had every event been
 * counted at once at that scale. */
static void rate_adopt(struct tally *t, int64_t origin, unsigned shift)
{
	if (!t->rate_started) {
		t->origin = origin;
		t->shift = shift;
		t->rate_started = 1;
		return;
	}
	if (t->origin == origin && t->shift == shift)
		return;
	uint64_t old[RATE_BUCKETS];
	memcpy(old, t->rate, sizeof(old));
	memset(t->rate, 0, sizeof(t->rate));
	for (unsigned i = 0; i < RATE_BUCKETS; i++) {
		if (!old[i])
			continue;
		int64_t w = (int64_t)((uint64_t)t->origin + ((uint64_t)i << t->shift));
		uint64_t b = rate_bucket(origin, shift, w);
		t->rate[b < RATE_BUCKETS ? b : RATE_BUCKETS - 1] += old[i];
	}
	t->origin = origin;
	t->shift = shift;
}

/* ------------------------------------------------------------ setup */

struct tally *rp_tallies_new(unsigned n)
{
	for (int e = 0; e < 128; e++)
		outcome_of_errno[e] = (uint8_t)classify_errno(e);
	struct tally *t = ct_xcalloc(n, sizeof(*t));
	for (unsigned i = 0; i < n; i++)
		rp_table_init(&t[i].dests, sizeof(struct dest), sizeof(struct dest_key));
	return t;
}

void rp_tally_free(struct tally *t)
{
	rp_table_free(&t->dests);
	free(t->b.pfailed);
	rp_table_release(t->b.dst, t->b.dcap * sizeof(*t->b.dst));
	rp_table_release(t->b.pairs, t->b.pairs_cap * sizeof(*t->b.pairs));
	free(t->b.dbytes);
	free(t->b.dflags);
	free(t->b.gdest);
	free(t->b.dhash);
	free(t->b.dtouched);
	free(t->b.ops);
	rp_table_release(t->iids, t->iid_cap * sizeof(*t->iids));
	rp_table_release(t->dstat, t->dstat_cap * sizeof(*t->dstat));
	rp_table_release(t->dbytes, t->dstat_cap * sizeof(*t->dbytes));
	free(t->gstat);
	rp_table_release(t->pairs, t->pairs_cap * sizeof(*t->pairs));
	/* Not zeroed after: the tallies are freed next, and zeroing their
	 * families (512 KiB a tally, mostly never touched) faulted it all in. */
}

/* ------------------------------------------------------ destinations */

void rp_dest_key(struct dest_key *k, uint16_t host, const struct ct_dest *d, uint16_t flags)
{
	memset(k, 0, sizeof(*k));
	k->host = host;
	k->family = d->family;
	if (d->family == 2 || d->family == 10) {
		k->proto = d->proto;
		k->dport = d->dport;
		memcpy(k->addr, d->daddr, 16);
	} else if (d->family == 1) {
		size_t n = d->path_len < CT_UNIX_PATH_MAX ? d->path_len : CT_UNIX_PATH_MAX;
		k->abstract = (flags & CT_EV_ABSTRACT) && n && d->path[0] == '\0';
		if (!k->abstract)
			n = strnlen(d->path, n);
		k->path_len = (uint8_t)n;
		if (n)
			memcpy(k->addr, d->path, n);
	}
}

static uint32_t new_dest(struct tally *r, const struct dest_key *k)
{
	uint32_t id = (uint32_t)rp_table_get(&r->dests, k, NULL);
	if (id >= r->dstat_cap) {
		size_t cap = r->dstat_cap ? r->dstat_cap * 2 : 1024;
		r->dstat = rp_table_grow(r->dstat, r->dstat_cap * sizeof(*r->dstat),
					 cap * sizeof(*r->dstat));
		r->dbytes = rp_table_grow(r->dbytes, r->dstat_cap * sizeof(*r->dbytes),
					  cap * sizeof(*r->dbytes));
		r->dstat_cap = cap;
	}
	return id;
}

static inline void dstat_merge(struct dstat *ds, const struct dstat *add)
{
	if (!ds->count || add->first < ds->first)
		ds->first = add->first;
	if (!ds->count || add->last > ds->last)
		ds->last = add->last;
	ds->count += add->count;
	ds->failed += add->failed;
}

static inline void inet_id_words(uint64_t w[3], uint16_t host, const struct ct_dest *cd)
{
	w[0] = (uint64_t)host | (uint64_t)cd->family << 16 | (uint64_t)cd->proto << 32 |
	       (uint64_t)cd->dport << 48;
	memcpy(&w[1], cd->daddr, 8);
	memcpy(&w[2], cd->daddr + 8, 8);
}

static inline uint64_t inet_id_hash(uint16_t host, const struct ct_dest *cd)
{
	uint64_t w[3];
	inet_id_words(w, host, cd);
	return rp_hash_words(w[0], w[1], w[2], 0);
}

/* Room for n more ids without growing (the prefetches stay valid). */
static void inet_id_reserve(struct tally *r, size_t n)
{
	if ((r->iid_count + n) * 2 <= r->iid_cap)
		return;
	size_t cap = r->iid_cap ? r->iid_cap : 4096;
	while ((r->iid_count + n) * 2 > cap)
		cap *= 2;
	struct inet_id *t = rp_table_alloc(cap * sizeof(*t));
	for (size_t i = 0; i < r->iid_cap; i++) {
		const struct inet_id *e = &r->iids[i];
		if (!e->id1)
			continue;
		size_t j = rp_hash_words(e->w[0], e->w[1], e->w[2], 0) & (cap - 1);
		while (t[j].id1)
			j = (j + 1) & (cap - 1);
		t[j] = *e;
	}
	rp_table_release(r->iids, r->iid_cap * sizeof(*r->iids));
	r->iids = t;
	r->iid_cap = cap;
}

/* The report's id of the chunk's destination d (its key made and looked
 * up in the destination table only the first time it is seen). */
static uint32_t chunk_dest_id(struct tally *r, const struct tjob *b, uint32_t d, uint16_t host)
{
	const struct ct_dest *cd = &b->dests[d];
	struct dest_key dk;
	if (cd->family != 2 && cd->family != 10) {
		rp_dest_key(&dk, host, cd, r->b.dflags[d]);
		return new_dest(r, &dk);
	}
	uint64_t w[3];
	inet_id_words(w, host, cd);
	size_t mask = r->iid_cap - 1;
	for (size_t j = r->b.dhash[d] & mask;; j = (j + 1) & mask) {
		struct inet_id *e = &r->iids[j];
		if (!e->id1) {
			rp_dest_key(&dk, host, cd, 0);
			uint32_t id = new_dest(r, &dk);
			e->w[0] = w[0];
			e->w[1] = w[1];
			e->w[2] = w[2];
			e->id1 = id + 1;
			r->iid_count++;
			return id;
		}
		if (e->w[0] == w[0] && e->w[1] == w[1] && e->w[2] == w[2])
			return e->id1 - 1;
	}
}

/* ------------------------------------------------------------ batches */

/* Bit j set where group1[j] is g1, else (no match) where group1[j] is free:
 * the slot to count g1 in is the lowest set bit; 0 when all four hold
 * other programs. */
static inline unsigned group_match(const uint32_t *group1, uint32_t g1)
{
#ifdef __SSE2__
	__m128i v = _mm_loadu_si128((const __m128i *)group1);
	unsigned eq = (unsigned)_mm_movemask_ps(
	    _mm_castsi128_ps(_mm_cmpeq_epi32(v, _mm_set1_epi32((int)g1))));
	unsigned fr =
	    (unsigned)_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(v, _mm_setzero_si128())));
	return eq ? eq : fr;
#else
	unsigned eq = 0, fr = 0;
	for (unsigned j = 0; j < 4; j++) {
		eq |= (unsigned)(group1[j] == g1) << j;
		fr |= (unsigned)(group1[j] == 0) << j;
	}
	return eq ? eq : fr;
#endif
}

/* Room for a batch's tables and its programs' counters. */
static void batch_reserve(struct tally *t, const struct tjob *j)
{
	struct batch_scratch *bs = &t->b;
	if (j->ntasks > bs->pcap) {
		size_t cap = j->ntasks + 1024;
		free(bs->pfailed);
		bs->pfailed = ct_xcalloc(cap, sizeof(*bs->pfailed));
		bs->pcap = cap;
	}
	if (j->ndests > bs->dcap) {
		size_t cap = j->ndests + 4096;
		rp_table_release(bs->dst, bs->dcap * sizeof(*bs->dst));
		bs->dst = rp_table_alloc(cap * sizeof(*bs->dst));
		free(bs->dbytes);
		bs->dbytes = ct_xcalloc(cap, sizeof(*bs->dbytes));
		bs->dflags = ct_xrealloc(bs->dflags, cap * sizeof(*bs->dflags));
		bs->gdest = ct_xrealloc(bs->gdest, cap * sizeof(*bs->gdest));
		bs->dhash = ct_xrealloc(bs->dhash, cap * sizeof(*bs->dhash));
		bs->dtouched = ct_xrealloc(bs->dtouched, cap * sizeof(*bs->dtouched));
		bs->dcap = cap;
	}
	if (!bs->pairs)
		rp_pairs_grow(&bs->pairs, &bs->pairs_cap);
}

/* Counters for groups [0, n). */
static void gstat_reserve(struct tally *t, size_t n)
{
	if (n <= t->gstat_cap)
		return;
	size_t cap = t->gstat_cap ? t->gstat_cap : 256;
	while (cap < n)
		cap *= 2;
	t->gstat = ct_xrealloc(t->gstat, cap * sizeof(*t->gstat));
	memset(t->gstat + t->gstat_cap, 0, (cap - t->gstat_cap) * sizeof(*t->gstat));
	t->gstat_cap = cap;
}

static inline void batch_pair_add(struct batch_scratch *bs, uint64_t key)
{
	size_t mask = bs->pairs_cap - 1;
	for (size_t j = rp_pair_hash(key) & mask;; j = (j + 1) & mask) {
		if (bs->pairs[j].key == key) {
			bs->pairs[j].count++;
			return;
		}
		if (!bs->pairs[j].key) {
			bs->pairs[j].key = key;
			bs->pairs[j].count = 1;
			if (++bs->npairs * 2 > bs->pairs_cap)
				rp_pairs_grow(&bs->pairs, &bs->pairs_cap);
			return;
		}
	}
}

/* Counting on the report's thread: a process's first event of the batch
 * looks its program up. */
static __attribute__((noinline)) uint32_t batch_group(struct tjob *j, uint32_t p)
{
	return rp_batch_group(j->r, j->b, p, j->host);
}

/* A pair count for the tally's pair table, queued; the program's total
 * connects counted now. */
static inline void batch_op(struct tally *t, size_t *nops, uint64_t key, uint64_t count)
{
	struct batch_scratch *bs = &t->b;
	t->gstat[(key >> 32) - 1].count += count;
	if (*nops == bs->ops_cap) {
		bs->ops_cap = bs->ops_cap ? bs->ops_cap * 2 : 4096;
		bs->ops = ct_xrealloc(bs->ops, bs->ops_cap * sizeof(*bs->ops));
	}
	bs->ops[(*nops)++] = (struct pair){.key = key, .count = count};
}

/* The batch's destinations: their ids in the tally, fetched LAG ahead. */
static void batch_dest_ids(struct tally *r, const struct tjob *b)
{
	struct batch_scratch *bs = &r->b;
	enum { LAG = 64 };
	uint32_t nd = bs->ndtouched;
	const uint32_t *dt = bs->dtouched;
	for (uint32_t k = 0; k < nd; k++) {
		const struct ct_dest *cd = &b->dests[dt[k]];
		if (cd->family == 2 || cd->family == 10)
			bs->dhash[dt[k]] = inet_id_hash(b->host, cd);
	}
	inet_id_reserve(r, nd);
	for (uint32_t k = 0; k < nd; k++) {
		if (k + LAG < nd) {
			const struct ct_dest *ca = &b->dests[dt[k + LAG]];
			if (ca->family == 2 || ca->family == 10)
				__builtin_prefetch(
				    &r->iids[bs->dhash[dt[k + LAG]] & (r->iid_cap - 1)]);
		}
		bs->gdest[dt[k]] = chunk_dest_id(r, b, dt[k], b->host);
	}
}

/* What a batch counted per process and destination of its chunk, into the
 * tally's tables; the scratch cleared for the next batch. The tables are
 * far bigger than a cache on a long trace: every pass fetches the slot it
 * will need LAG entries ahead. */
static void batch_flush(struct tally *r, const struct tjob *b)
{
	struct batch_scratch *bs = &r->b;
	enum { LAG = 64 };

	gstat_reserve(r, b->r ? b->r->groups.count : b->ngroups);
	/* Failures per program from its processes; its connects are summed
	 * from its pairs below. */
	for (uint32_t k = 0; k < b->nptouched; k++) {
		uint32_t p = b->ptouched[k];
		r->gstat[b->pgroup[p]].failed += bs->pfailed[p];
		bs->pfailed[p] = 0;
	}
	batch_dest_ids(r, b);
	uint32_t nd = bs->ndtouched;
	const uint32_t *dt = bs->dtouched;
	size_t nops = 0;
	for (uint32_t k = 0; k < nd; k++) {
		uint32_t d = dt[k];
		struct bdest *bd = &bs->dst[d];
		if (k + LAG < nd)
			__builtin_prefetch(&r->dstat[bs->gdest[dt[k + LAG]]], 1);
		uint32_t id = bs->gdest[d];
		uint16_t fam = b->dests[d].family;
		r->families[fam] += bd->st.count;
		r->family_seen[fam >> 6] |= 1ull << (fam & 63);
		dstat_merge(&r->dstat[id], &bd->st);
		if (b->c.tx) {
			r->dbytes[id][0] += bs->dbytes[d][0];
			r->dbytes[id][1] += bs->dbytes[d][1];
			bs->dbytes[d][0] = bs->dbytes[d][1] = 0;
		}
		for (unsigned j = 0; j < BDEST_GROUPS && bd->group1[j]; j++)
			batch_op(r, &nops, (uint64_t)bd->group1[j] << 32 | id, bd->count[j]);
		memset(bd, 0, sizeof(*bd));
	}
	bs->ndtouched = 0;
	for (size_t i = 0; bs->npairs && i < bs->pairs_cap; i++) {
		struct pair *pr = &bs->pairs[i];
		if (!pr->key)
			continue;
		uint64_t key = pr->key - 1;
		batch_op(r, &nops, ((key >> 32) + 1) << 32 | bs->gdest[(uint32_t)key], pr->count);
		pr->key = 0;
	}
	bs->npairs = 0;
	while ((r->npairs + nops + 1) * 4 > r->pairs_cap * 3)
		rp_pairs_grow(&r->pairs, &r->pairs_cap);
	for (size_t i = 0; i < nops; i++) {
		if (i + LAG < nops)
			__builtin_prefetch(
			    &r->pairs[rp_pair_hash(bs->ops[i + LAG].key) & (r->pairs_cap - 1)], 1);
		rp_pairs_add(&r->pairs, &r->pairs_cap, &r->npairs, bs->ops[i].key,
			     bs->ops[i].count);
	}
}

void rp_tally_batch(struct tally *t, struct tjob *j)
{
	struct batch_scratch *bs = &t->b;
	int64_t off = j->off;
	uint32_t n = j->n;

	batch_reserve(t, j);
	rate_adopt(t, j->origin, j->shift);
	/* The destinations' slots outgrow L1: the one of the event AHEAD on is
	 * fetched while this one is counted. */
	enum { AHEAD = 16 };
	for (uint32_t i = 0; i < n; i++) {
		if (i + AHEAD < n) {
			uint32_t da = j->c.dest[i + AHEAD];
			uint64_t ka = ((uint64_t)j->pgroup[j->c.task[i + AHEAD]] << 32 | da) + 1;
			__builtin_prefetch(&bs->dst[da], 1);
			/* in case its four inline programs are taken */
			__builtin_prefetch(&bs->pairs[rp_pair_hash(ka) & (bs->pairs_cap - 1)]);
		}
		int64_t wall = ct_wall_ns(j->c.ts[i], off);
		uint16_t fl = j->c.flags[i];
		int32_t res = j->c.result[i];
		/* In range: the scale was planned from the batch's first and
		 * last times, and a batch's times are sorted. */
		uint64_t rb = rate_bucket(t->origin, t->shift, wall);
		t->rate[rb < RATE_BUCKETS ? rb : RATE_BUCKETS - 1]++;
		enum outcome o = rp_classify(fl, res);
		t->outcome[o]++;
		if ((fl & CT_EV_RESULT) && res < 0 && res > -4096)
			t->errnos[-res]++;
		uint32_t failed = (uint32_t)is_failure(o);
		uint32_t p = j->c.task[i], d = j->c.dest[i];
		uint32_t g1 = j->pgroup[p] + 1;
		if (__builtin_expect(!g1, 0))
			g1 = batch_group(j, p) + 1;
		bs->pfailed[p] += failed;
		struct bdest *bd = &bs->dst[d];
		if (!bd->st.count) {
			bd->st.first = wall;
			bs->dflags[d] = fl;
			bs->dtouched[bs->ndtouched++] = d;
		}
		bd->st.last = wall;
		bd->st.count++;
		bd->st.failed += failed;
		/* This program's place among the inline ones, or the first free
		 * one: one compare of all four. */
		unsigned hit = group_match(bd->group1, g1);
		if (hit) {
			unsigned k = (unsigned)__builtin_ctz(hit);
			bd->group1[k] = g1;
			bd->count[k]++;
		} else {
			batch_pair_add(bs, ((uint64_t)(g1 - 1) << 32 | d) + 1);
		}
	}
	if (j->c.tx)
		for (uint32_t i = 0; i < n; i++)
			if (j->c.flags[i] & CT_EV_CLOSED) {
				bs->dbytes[j->c.dest[i]][0] += j->c.tx[i];
				bs->dbytes[j->c.dest[i]][1] += j->c.rx[i];
			}
	if (j->r) { /* the processes looked up while counting */
		j->ptouched = j->r->ptouched;
		j->nptouched = j->r->nptouched;
	}
	batch_flush(t, j);
}

/* ------------------------------------------------------------ merging */

void rp_tally_merge(struct tally *dst, struct tally *src, int64_t origin, unsigned shift)
{
	rate_adopt(dst, origin, shift);
	if (src->rate_started) {
		rate_adopt(src, origin, shift);
		for (unsigned i = 0; i < RATE_BUCKETS; i++)
			dst->rate[i] += src->rate[i];
	}
	for (unsigned o = 0; o < O_N; o++)
		dst->outcome[o] += src->outcome[o];
	for (unsigned e = 0; e < 4096; e++)
		dst->errnos[e] += src->errnos[e];
	for (unsigned w = 0; w < 65536 / 64; w++) {
		for (uint64_t bits = src->family_seen[w]; bits; bits &= bits - 1) {
			unsigned fam = w * 64 + (unsigned)__builtin_ctzll(bits);
			dst->families[fam] += src->families[fam];
		}
		dst->family_seen[w] |= src->family_seen[w];
	}
	gstat_reserve(dst, src->gstat_cap);
	for (size_t g = 0; g < src->gstat_cap; g++) {
		dst->gstat[g].count += src->gstat[g].count;
		dst->gstat[g].failed += src->gstat[g].failed;
	}
	/* Destinations by key: src's id -> dst's. */
	uint32_t *map = ct_xrealloc(NULL, (src->dests.count + 1) * sizeof(*map));
	for (size_t i = 0; i < src->dests.count; i++) {
		uint32_t id = map[i] = new_dest(dst, rp_table_item(&src->dests, i));
		dstat_merge(&dst->dstat[id], &src->dstat[i]);
		dst->dbytes[id][0] += src->dbytes[i][0];
		dst->dbytes[id][1] += src->dbytes[i][1];
	}
	for (size_t i = 0; i < src->pairs_cap; i++) {
		const struct pair *p = &src->pairs[i];
		if (p->key)
			rp_pairs_add(&dst->pairs, &dst->pairs_cap, &dst->npairs,
				     (p->key >> 32) << 32 | map[(uint32_t)p->key], p->count);
	}
	free(map);
}
