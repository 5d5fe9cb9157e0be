/* SPDX-License-Identifier: MIT */
/*
 * tally.c: counting batches of events into the report. Per event the loop
 * finds the program behind the chunk's process entry (once per entry and
 * batch), bumps dense counters of the chunk's destination with the program
 * inline in the same cache line, and counts the outcome and the rate; the
 * chunk's destinations and pairs then go to the report's tables once.
 */
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "cmd/report/report.h"
#include "lib/util.h"

/* Intern exe strings: groups point at one copy each. */
struct str_item {
	uint64_t h;
	char *s;
};

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

/* rp_classify for the hot loop: a table over the small errnos. */
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
static inline uint64_t rate_bucket(const struct report *r, int64_t wall)
{
	return ((uint64_t)wall - (uint64_t)r->origin) >> r->shift;
}

/* Halve the resolution: pairs of buckets from the origin become one. */
static void rate_halve(struct report *r)
{
	for (unsigned i = 0; i < RATE_BUCKETS / 2; i++)
		r->rate[i] = r->rate[2 * i] + r->rate[2 * i + 1];
	memset(r->rate + RATE_BUCKETS / 2, 0, sizeof(r->rate) / 2);
	r->shift++;
}

/* A time past the last bucket: halve the resolution until it fits. */
static __attribute__((noinline)) void rate_rescale(struct report *r, int64_t wall)
{
	while (rate_bucket(r, wall) >= RATE_BUCKETS)
		rate_halve(r);
}

/* A time before the origin (chunks out of time order, several inputs):
 * move the origin back by whole buckets, halving the resolution until
 * what was counted still fits, so every event is counted where it was. */
static __attribute__((noinline)) void rate_extend_back(struct report *r, int64_t wall)
{
	for (;;) {
		uint64_t back = (uint64_t)r->origin - (uint64_t)wall;
		uint64_t k = (back >> r->shift) + !!(back & ((1ull << r->shift) - 1));
		unsigned used = RATE_BUCKETS;
		while (used && !r->rate[used - 1])
			used--;
		if (k <= RATE_BUCKETS - used) {
			memmove(r->rate + k, r->rate, used * sizeof(r->rate[0]));
			memset(r->rate, 0, (size_t)k * sizeof(r->rate[0]));
			r->origin = (int64_t)((uint64_t)r->origin - (k << r->shift));
			return;
		}
		rate_halve(r);
	}
}

static inline void rate_add(struct report *r, int64_t wall)
{
	if (__builtin_expect(wall < r->origin, 0))
		rate_extend_back(r, wall);
	uint64_t b = rate_bucket(r, wall);
	if (__builtin_expect(b >= RATE_BUCKETS, 0)) {
		rate_rescale(r, wall);
		b = rate_bucket(r, wall);
	}
	r->rate[b]++;
}

/* ------------------------------------------------------------ setup */

void rp_init(struct report *r)
{
	for (int e = 0; e < 128; e++)
		outcome_of_errno[e] = (uint8_t)classify_errno(e);
	rp_table_init(&r->dests, sizeof(struct dest), sizeof(struct dest_key));
	rp_table_init(&r->strings, sizeof(struct str_item), sizeof(uint64_t));
	rp_table_init(&r->groups, sizeof(struct proc_group), sizeof(struct group_key));
	rp_table_init(&r->pids, sizeof(struct pid_key), sizeof(struct pid_key));
	rp_table_init(&r->cmds, sizeof(struct cmd_item), sizeof(struct cmd_key));
	rp_exits_init(r);
}

void rp_free(struct report *r)
{
	for (size_t i = 0; i < r->strings.count; i++)
		free(((struct str_item *)rp_table_item(&r->strings, i))->s);
	rp_table_free(&r->dests);
	free(r->b.pgroup);
	free(r->b.pfailed);
	free(r->b.ptouched);
	rp_table_release(r->b.dst, r->b.dcap * sizeof(*r->b.dst));
	rp_table_release(r->b.pairs, r->b.pairs_cap * sizeof(*r->b.pairs));
	free(r->b.dbytes);
	free(r->b.dflags);
	free(r->b.gdest);
	free(r->b.dhash);
	free(r->b.dtouched);
	free(r->b.ops);
	rp_table_release(r->iids, r->iid_cap * sizeof(*r->iids));
	free(r->dstat);
	free(r->dbytes);
	rp_table_release(r->pairs, r->pairs_cap * sizeof(*r->pairs));
	rp_table_free(&r->strings);
	rp_table_free(&r->groups);
	rp_table_free(&r->pids);
	rp_table_free(&r->cmds);
	rp_exits_free(r);
	free(r->serials);
	free(r->wall_off);
	free(r->host_of);
}

int rp_on_begin(void *ctx, struct ct_session *s)
{
	struct report *r = ctx;
	unsigned n = ct_session_ninputs(s);
	r->s = s;
	r->multi_host = ct_session_nhosts(s) > 1;
	/* The per-batch lookups of an input's clock offset and host index. */
	r->wall_off = ct_xrealloc(NULL, (n + 1) * sizeof(*r->wall_off));
	r->host_of = ct_xrealloc(NULL, (n + 1) * sizeof(*r->host_of));
	for (unsigned i = 0; i < n; i++) {
		r->wall_off[i] = ct_session_input(s, i)->hdr->wall_offset_ns;
		r->host_of[i] = r->multi_host ? (uint16_t)ct_session_input(s, i)->host_index : 0;
	}
	return 0;
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

uint32_t rp_new_dest(struct report *r, const struct dest_key *k)
{
	uint32_t id = (uint32_t)rp_table_get(&r->dests, k, NULL);
	if (id >= r->dstat_cap) {
		size_t cap = r->dstat_cap ? r->dstat_cap * 2 : 1024;
		r->dstat = ct_xrealloc(r->dstat, cap * sizeof(*r->dstat));
		memset(r->dstat + r->dstat_cap, 0, (cap - r->dstat_cap) * sizeof(*r->dstat));
		r->dbytes = ct_xrealloc(r->dbytes, cap * sizeof(*r->dbytes));
		memset(r->dbytes + r->dstat_cap, 0, (cap - r->dstat_cap) * sizeof(*r->dbytes));
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
static void inet_id_reserve(struct report *r, size_t n)
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
static uint32_t chunk_dest_id(struct report *r, const struct ct_batch *b, uint32_t d, uint16_t host)
{
	const struct ct_dest *cd = &b->dests[d];
	struct dest_key dk;
	if (cd->family != 2 && cd->family != 10) {
		rp_dest_key(&dk, host, cd, r->b.dflags[d]);
		return rp_new_dest(r, &dk);
	}
	uint64_t w[3];
	inet_id_words(w, host, cd);
	size_t mask = r->iid_cap - 1;
	for (size_t j = r->b.dhash[d] & mask;; j = (j + 1) & mask) {
		struct inet_id *e = &r->iids[j];
		if (!e->id1) {
			rp_dest_key(&dk, host, cd, 0);
			uint32_t id = rp_new_dest(r, &dk);
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

/* ---------------------------------------------------------- programs */

static const char *intern(struct report *r, const char *s)
{
	if (!s)
		return NULL;
	/* Key: the hash; a collision check compares the text. */
	uint64_t h = rp_hash_bytes(s, strlen(s));
	for (;;) {
		int created = 0;
		size_t i = rp_table_get(&r->strings, &h, &created);
		struct str_item *it = rp_table_item(&r->strings, i);
		if (created) {
			it->s = strdup(s);
			if (!it->s) {
				ct_err("out of memory");
				exit(CT_EXIT_ERROR);
			}
			return it->s;
		}
		if (!strcmp(it->s, s))
			return it->s;
		h++; /* a true collision: probe the next hash value */
	}
}

/* The group of a process (task t, what the table knows of it) by --by. */
static uint32_t intern_group(struct report *r, uint16_t host, const struct ct_task *t,
			     const struct ct_procinfo *proc)
{
	struct group_key gk;
	memset(&gk, 0, sizeof(gk));
	gk.host = host;
	switch (r->group_by) {
	case G_PID: /* a pid row names its program too */
	case G_PROCESS:
		gk.id = r->group_by == G_PID ? t->pid : 0;
		memcpy(gk.comm, t->comm, CT_COMM_LEN);
		gk.exe = intern(r, proc->exe);
		break;
	case G_EXE:
		gk.exe = intern(r, proc->exe);
		break;
	case G_CMDLINE:
		gk.exe = intern(r, proc->cmdline);
		break;
	case G_UID:
		gk.id = t->uid;
		break;
	case G_CONTAINER:
		gk.exe = intern(r, proc->container);
		break;
	case G_HOST:
		break;
	}
	size_t i = rp_table_get(&r->groups, &gk, NULL);
	if (r->group_by == G_CONTAINER) {
		/* The row shows the names the first process that had them gave. */
		struct proc_group *g = rp_table_item(&r->groups, i);
		for (int k = 0; k < CT_CTR_N; k++)
			if (!g->ctr[k])
				g->ctr[k] = intern(r, proc->ctr[k]);
	}
	return (uint32_t)i;
}

static void cmd_tally(struct report *r, uint32_t group, const char *cmdline)
{
	if (!cmdline)
		return;
	struct cmd_key k = {.group = group, .cmdline = cmdline};
	struct cmd_item *it = rp_table_item(&r->cmds, rp_table_get(&r->cmds, &k, NULL));
	it->procs++;
}

/* First event of a process state (or of a process the table does not
 * know): intern its program, note its pid, remember it by serial. */
static uint32_t slow_group(struct report *r, const struct ct_task *t,
			   const struct ct_procinfo *proc, uint16_t host)
{
	uint32_t group = intern_group(r, host, t, proc);
	struct pid_key pk;
	memset(&pk, 0, sizeof(pk));
	pk.pid = t->pid;
	pk.host = host;
	pk.group = group;
	rp_table_get(&r->pids, &pk, NULL);
	uint64_t sn = proc->serial;
	if (sn && sn < (1ULL << 32)) {
		if (sn >= r->serials_cap) {
			size_t cap = r->serials_cap ? r->serials_cap : 1024;
			while (cap <= sn)
				cap *= 2;
			r->serials = ct_xrealloc(r->serials, cap * sizeof(*r->serials));
			memset(r->serials + r->serials_cap, 0,
			       (cap - r->serials_cap) * sizeof(*r->serials));
			r->serials_cap = cap;
		}
		struct serial_slot *ss = &r->serials[sn];
		/* A state seen again under another comm is not counted twice. */
		if (ss->group1 != group + 1)
			cmd_tally(r, group, intern(r, proc->cmdline));
		ss->group1 = group + 1;
		ss->uid = t->uid;
		memcpy(ss->comm, t->comm, CT_COMM_LEN);
	}
	return group;
}

/* Which program (comm, exe) the process table names at this moment: exe
 * learnt late, exec, pid reuse and expiry all change the serial. */
static uint32_t group_lookup(struct report *r, const struct ct_task *t,
			     const struct ct_procinfo *proc, uint16_t host)
{
	uint64_t sn = proc->serial;
	if (sn) {
		if (sn < r->serials_cap && r->serials[sn].group1 && r->serials[sn].uid == t->uid &&
		    !memcmp(r->serials[sn].comm, t->comm, CT_COMM_LEN))
			return r->serials[sn].group1 - 1;
		return slow_group(r, t, proc, host);
	}
	struct unknown_slot *u = &r->unknown[(t->pid * 0x9e3779b1u) >> 22];
	if (u->used && u->pid == t->pid && u->host == host && u->uid == t->uid &&
	    !memcmp(u->comm, t->comm, CT_COMM_LEN))
		return u->group;
	uint32_t group = slow_group(r, t, proc, host);
	*u = (struct unknown_slot){
	    .pid = t->pid, .host = host, .used = 1, .group = group, .uid = t->uid};
	memcpy(u->comm, t->comm, CT_COMM_LEN);
	return group;
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

/* Room for a batch's tables; new process slots hold no group (~0). */
static void batch_reserve(struct report *r, const struct ct_batch *b)
{
	struct batch_scratch *bs = &r->b;
	if (b->ntasks > bs->pcap) {
		size_t cap = b->ntasks + 1024;
		bs->pgroup = ct_xrealloc(bs->pgroup, cap * sizeof(*bs->pgroup));
		bs->pfailed = ct_xrealloc(bs->pfailed, cap * sizeof(*bs->pfailed));
		bs->ptouched = ct_xrealloc(bs->ptouched, cap * sizeof(*bs->ptouched));
		memset(bs->pgroup, 0xff, cap * sizeof(*bs->pgroup));
		memset(bs->pfailed, 0, cap * sizeof(*bs->pfailed));
		bs->pcap = cap;
	}
	if (b->ndests > bs->dcap) {
		size_t cap = b->ndests + 4096;
		rp_table_release(bs->dst, bs->dcap * sizeof(*bs->dst));
		bs->dst = rp_table_alloc(cap * sizeof(*bs->dst));
		free(bs->dbytes);
		bs->dbytes = calloc(cap, sizeof(*bs->dbytes));
		if (!bs->dbytes) {
			ct_err("out of memory");
			exit(CT_EXIT_ERROR);
		}
		bs->dflags = ct_xrealloc(bs->dflags, cap * sizeof(*bs->dflags));
		bs->gdest = ct_xrealloc(bs->gdest, cap * sizeof(*bs->gdest));
		bs->dhash = ct_xrealloc(bs->dhash, cap * sizeof(*bs->dhash));
		bs->dtouched = ct_xrealloc(bs->dtouched, cap * sizeof(*bs->dtouched));
		bs->dcap = cap;
	}
	if (!bs->pairs)
		rp_pairs_grow(&bs->pairs, &bs->pairs_cap);
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

static __attribute__((noinline)) uint32_t batch_group(struct report *r, const struct ct_batch *b,
						      uint32_t p, uint16_t host)
{
	static const struct ct_procinfo none;
	struct batch_scratch *bs = &r->b;
	bs->ptouched[bs->nptouched++] = p;
	return bs->pgroup[p] =
		   group_lookup(r, &b->tasks[p], b->procinfo ? &b->procinfo[p] : &none, host);
}

/* A pair count for the report's pair table, queued; the program's total
 * connects counted now. */
static inline void batch_op(struct report *r, size_t *nops, uint64_t key, uint64_t count)
{
	struct batch_scratch *bs = &r->b;
	((struct proc_group *)rp_table_item(&r->groups, (key >> 32) - 1))->count += count;
	if (*nops == bs->ops_cap) {
		bs->ops_cap = bs->ops_cap ? bs->ops_cap * 2 : 4096;
		bs->ops = ct_xrealloc(bs->ops, bs->ops_cap * sizeof(*bs->ops));
	}
	bs->ops[(*nops)++] = (struct pair){.key = key, .count = count};
}

/* What a batch counted per process and destination of its chunk, into the
 * report's tables; the scratch cleared for the next batch. The tables are
 * far bigger than a cache on a long trace: every pass fetches the slot it
 * will need LAG entries ahead. */
static void batch_flush(struct report *r, const struct ct_batch *b, uint16_t host)
{
	struct batch_scratch *bs = &r->b;
	enum { LAG = 64 };

	/* Failures per program from its processes; its connects are summed
	 * from its pairs below. */
	for (uint32_t k = 0; k < bs->nptouched; k++) {
		uint32_t p = bs->ptouched[k];
		if (bs->pfailed[p]) {
			struct proc_group *g = rp_table_item(&r->groups, bs->pgroup[p]);
			g->failed += bs->pfailed[p];
			bs->pfailed[p] = 0;
		}
		bs->pgroup[p] = UINT32_MAX;
	}
	bs->nptouched = 0;
	uint32_t nd = bs->ndtouched;
	const uint32_t *dt = bs->dtouched;
	for (uint32_t k = 0; k < nd; k++) {
		const struct ct_dest *cd = &b->dests[dt[k]];
		if (cd->family == 2 || cd->family == 10)
			bs->dhash[dt[k]] = inet_id_hash(host, cd);
	}
	inet_id_reserve(r, nd);
	for (uint32_t k = 0; k < nd; k++) {
		if (k + LAG < nd) {
			const struct ct_dest *ca = &b->dests[dt[k + LAG]];
			if (ca->family == 2 || ca->family == 10)
				__builtin_prefetch(
				    &r->iids[bs->dhash[dt[k + LAG]] & (r->iid_cap - 1)]);
		}
		bs->gdest[dt[k]] = chunk_dest_id(r, b, dt[k], host);
	}
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
		if (b->closed_ns) {
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

int rp_on_batch(void *ctx, const struct ct_batch *b, unsigned input)
{
	struct report *r = ctx;
	struct batch_scratch *bs = &r->b;
	int64_t off = r->wall_off[input];
	uint16_t host = r->host_of[input];
	uint32_t n = b->n;

	if (!n)
		return 0;
	rp_names_batch(b, host);
	batch_reserve(r, b);
	/* Events are in time order within a batch; batches may overlap. */
	int64_t w0 = ct_wall_ns(b->ts_ns[0], off), w1 = ct_wall_ns(b->ts_ns[n - 1], off);
	if (!r->events || w0 < r->first_wall)
		r->first_wall = w0;
	if (!r->events || w1 > r->last_wall)
		r->last_wall = w1;
	if (!r->rate_started) {
		r->origin = w0;
		r->shift = 20; /* ~1 ms buckets to start */
		r->rate_started = 1;
	}
	/* The destinations' slots outgrow L1: the one of the event AHEAD on is
	 * fetched while this one is counted. */
	enum { AHEAD = 16 };
	for (uint32_t i = 0; i < n; i++) {
		if (i + AHEAD < n) {
			uint32_t da = b->dest[i + AHEAD];
			uint64_t ka = ((uint64_t)bs->pgroup[b->task[i + AHEAD]] << 32 | da) + 1;
			__builtin_prefetch(&bs->dst[da], 1);
			/* in case its four inline programs are taken */
			__builtin_prefetch(&bs->pairs[rp_pair_hash(ka) & (bs->pairs_cap - 1)]);
		}
		int64_t wall = ct_wall_ns(b->ts_ns[i], off);
		uint16_t fl = b->flags[i];
		int32_t res = b->result[i];
		rate_add(r, wall);
		enum outcome o = rp_classify(fl, res);
		r->outcome[o]++;
		if ((fl & CT_EV_RESULT) && res < 0 && res > -4096)
			r->errnos[-res]++;
		uint32_t failed = (uint32_t)is_failure(o);
		uint32_t p = b->task[i], d = b->dest[i];
		uint32_t g1 = bs->pgroup[p] + 1;
		if (__builtin_expect(!g1, 0))
			g1 = batch_group(r, b, p, host) + 1;
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
			unsigned j = (unsigned)__builtin_ctz(hit);
			bd->group1[j] = g1;
			bd->count[j]++;
		} else {
			batch_pair_add(bs, ((uint64_t)(g1 - 1) << 32 | d) + 1);
		}
	}
	if (b->closed_ns)
		for (uint32_t i = 0; i < n; i++)
			if (b->flags[i] & CT_EV_CLOSED) {
				bs->dbytes[b->dest[i]][0] += b->tx_bytes[i];
				bs->dbytes[b->dest[i]][1] += b->rx_bytes[i];
			}
	r->events += n;
	batch_flush(r, b, host);
	return 0;
}

/* Exit records: the last status of each (host, pid), given to the groups
 * of the pids that connected at the end (derive.c). */
int rp_on_proc(void *ctx, const struct ct_proc *p, unsigned input)
{
	struct report *r = ctx;
	if (p->kind != CT_PROC_EXIT)
		return 0;
	rp_exits_add(r, p->task.pid, (uint16_t)r->host_of[input], p->exit_code, p->task.comm);
	return 0;
}

int rp_on_lost(void *ctx, const struct ct_lost *l, unsigned input)
{
	struct report *r = ctx;
	if (l->kind == CT_LOST_NAMES) {
		r->lost_names += l->count;
		return 0;
	}
	if (l->kind == CT_LOST_OUTCOMES || l->kind == CT_LOST_PROCS) {
		*(l->kind == CT_LOST_PROCS ? &r->lost_procs : &r->lost_outcomes) += l->count;
		return 0;
	}
	int64_t wall = ct_session_wall_ns(r->s, input, l->ts_ns);
	if (!r->lost_records || wall < r->lost_first)
		r->lost_first = wall;
	if (!r->lost_records || wall > r->lost_last)
		r->lost_last = wall;
	r->lost_records++;
	r->lost += l->count;
	return 0;
}
