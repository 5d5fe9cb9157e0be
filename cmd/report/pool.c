/* SPDX-License-Identifier: MIT */
/*
 * pool.c: handing batches on to counting threads. The session calls
 * rp_on_batch in order on its thread; what depends on that order stays
 * here: the program each process runs as the process table says at the
 * time (groups.c), the names, the span and the rate's scale. What is only
 * summed - destinations, pairs, outcomes, errnos, families, the rate's
 * buckets - is counted by the threads, each into a tally of its own, from
 * a copy of the batch's columns (the session's batch is valid during the
 * call only); the tallies are added up at the end. With one or two jobs
 * the batch is counted here, into tl[0], as it comes.
 *
 * Memory: 2 jobs a counting thread plus one in flight, each a batch's columns (at
 * most a chunk's events), and the destination tables of the chunks those
 * came from, shared by the slices of one chunk.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/report/report.h"
#include "lib/util.h"

/* More counting threads than this gain nothing: a tally each, summed. */
#define RP_MAX_COUNTERS 8

/* A chunk's destination table, copied once for its batches in flight. */
struct dtab {
	struct ct_dest *d;
	unsigned refs; /* under the pool's mu */
};

struct rp_job {
	struct tjob j;
	struct dtab *dt;
	uint64_t *ts, *tx, *rx;
	uint32_t *task, *dest, *pgroup, *ptouched;
	uint16_t *flags;
	int32_t *result;
	size_t cap, pcap;
};

struct rp_pool {
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	pthread_t *th;
	unsigned nth;
	int stop;
	struct rp_job *jobs;
	unsigned njobs;
	unsigned *ready, rhead, rcount; /* a ring of job indexes, in order */
	unsigned *free_jobs, nfree;
	struct counter {
		struct rp_pool *pool;
		struct tally *t;
	} * counters;
	/* The destination table the jobs made now share, by its chunk. */
	struct dtab *cur;
	unsigned cur_input;
	uint64_t cur_tables;
	const struct ct_dest *cur_dests;
};

/* ------------------------------------------------------------ the scale */

static inline uint64_t bucket_of(const struct report *r, int64_t wall)
{
	return ((uint64_t)wall - (uint64_t)r->origin) >> r->shift;
}

/*
 * The rate's scale with a batch of times lo .. hi counted: what counting
 * its events one by one in order would leave (tally.c's histogram then
 * only follows). The first time sets the origin; a time before it moves
 * the origin back by whole buckets, halving the resolution (shift + 1)
 * until what was counted still fits; a time past the last bucket halves it
 * until it fits. A batch's times are sorted, so its first time is the one
 * that may move the origin and its last the one that may halve it.
 */
static void rate_plan(struct report *r, int64_t lo, int64_t hi)
{
	int counted = r->rate_started;
	if (!r->rate_started) {
		r->origin = lo;
		r->shift = 20; /* ~1 ms buckets to start */
		r->rate_started = 1;
	}
	while (lo < r->origin) {
		uint64_t back = (uint64_t)r->origin - (uint64_t)lo;
		uint64_t k = (back >> r->shift) + !!(back & ((1ull << r->shift) - 1));
		uint64_t used = counted ? bucket_of(r, r->rate_max) + 1 : 0;
		if (k <= RATE_BUCKETS - used) {
			r->origin = (int64_t)((uint64_t)r->origin - (k << r->shift));
			break;
		}
		r->shift++;
	}
	while (bucket_of(r, hi) >= RATE_BUCKETS)
		r->shift++;
	if (!counted || hi > r->rate_max)
		r->rate_max = hi;
}

/* ------------------------------------------------------------ threads */

/* A reference to a destination table given back (under mu): 1 when it
 * was the last, and the caller frees it (dtab_free, outside mu). */
static int dtab_put(struct dtab *dt)
{
	return dt && !--dt->refs;
}

static void dtab_free(struct dtab *dt)
{
	free(dt->d);
	free(dt);
}

static void *counter_main(void *arg)
{
	struct counter *c = arg;
	struct rp_pool *pl = c->pool;

	pthread_mutex_lock(&pl->mu);
	for (;;) {
		while (!pl->stop && !pl->rcount)
			pthread_cond_wait(&pl->work, &pl->mu);
		if (pl->stop)
			break;
		unsigned i = pl->ready[pl->rhead];
		pl->rhead = (pl->rhead + 1) % pl->njobs;
		pl->rcount--;
		pthread_mutex_unlock(&pl->mu);
		struct rp_job *job = &pl->jobs[i];
		rp_tally_batch(c->t, &job->j);
		pthread_mutex_lock(&pl->mu);
		struct dtab *dt = job->dt;
		job->dt = NULL;
		pl->free_jobs[pl->nfree++] = i;
		pthread_cond_signal(&pl->done);
		if (dtab_put(dt)) {
			pthread_mutex_unlock(&pl->mu);
			dtab_free(dt);
			pthread_mutex_lock(&pl->mu);
		}
	}
	pthread_mutex_unlock(&pl->mu);
	return NULL;
}

int rp_pool_start(struct report *r, unsigned jobs)
{
	/* Up to two jobs, this thread counts, as it comes: at --jobs 2 the
	 * reader's worker decodes and this thread follows the trace in order
	 * and counts, the two of them about even (decoding 48% of the CPU,
	 * counting 40%, following 12%). A counting thread there made three
	 * threads on two cores and copied every batch for it: 8% slower
	 * (wall, paired runs) and 4% more CPU. From three jobs on, jobs - 2
	 * threads count. */
	if (jobs < 3)
		return 0;
	unsigned n = jobs - 2 < RP_MAX_COUNTERS ? jobs - 2 : RP_MAX_COUNTERS;
	struct rp_pool *pl = ct_xcalloc(1, sizeof(*pl));
	pl->njobs = 2 * n + 1;
	pl->jobs = ct_xcalloc(pl->njobs, sizeof(*pl->jobs));
	pl->ready = ct_xcalloc(pl->njobs, sizeof(*pl->ready));
	pl->free_jobs = ct_xcalloc(pl->njobs, sizeof(*pl->free_jobs));
	pl->th = ct_xcalloc(n, sizeof(*pl->th));
	pl->counters = ct_xcalloc(n, sizeof(*pl->counters));
	for (unsigned i = 0; i < pl->njobs; i++)
		pl->free_jobs[pl->nfree++] = i;
	rp_tally_free(&r->tl[0]);
	free(r->tl);
	r->tl = rp_tallies_new(n);
	r->ntl = n;
	pthread_mutex_init(&pl->mu, NULL);
	pthread_cond_init(&pl->work, NULL);
	pthread_cond_init(&pl->done, NULL);
	r->pool = pl;
	for (; pl->nth < n; pl->nth++) {
		pl->counters[pl->nth] = (struct counter){.pool = pl, .t = &r->tl[pl->nth]};
		if (pthread_create(&pl->th[pl->nth], NULL, counter_main, &pl->counters[pl->nth])) {
			ct_err("starting a counting thread failed");
			return -1;
		}
	}
	return 0;
}

static void pool_join(struct rp_pool *pl)
{
	pthread_mutex_lock(&pl->mu);
	pl->stop = 1;
	pthread_cond_broadcast(&pl->work);
	pthread_mutex_unlock(&pl->mu);
	while (pl->nth)
		pthread_join(pl->th[--pl->nth], NULL);
}

void rp_pool_stop(struct report *r)
{
	struct rp_pool *pl = r->pool;
	if (!pl)
		return;
	pool_join(pl);
	/* Jobs never counted (a run stopped by an error) still hold tables. */
	for (unsigned i = 0; i < pl->njobs; i++) {
		struct rp_job *job = &pl->jobs[i];
		if (dtab_put(job->dt))
			dtab_free(job->dt);
		free(job->ts); /* job_reserve's two blocks */
		free(job->pgroup);
	}
	if (dtab_put(pl->cur))
		dtab_free(pl->cur);
	pthread_mutex_destroy(&pl->mu);
	pthread_cond_destroy(&pl->work);
	pthread_cond_destroy(&pl->done);
	free(pl->jobs);
	free(pl->ready);
	free(pl->free_jobs);
	free(pl->th);
	free(pl->counters);
	free(pl);
	r->pool = NULL;
}

void rp_tally_finish(struct report *r)
{
	struct rp_pool *pl = r->pool;
	if (pl) {
		pthread_mutex_lock(&pl->mu);
		while (pl->nfree < pl->njobs)
			pthread_cond_wait(&pl->done, &pl->mu);
		pthread_mutex_unlock(&pl->mu);
		pool_join(pl);
		for (unsigned i = 1; i < r->ntl; i++)
			rp_tally_merge(&r->tl[0], &r->tl[i], r->origin, r->shift);
		rp_pool_stop(r);
	}
	struct tally *t = &r->tl[0];
	for (size_t g = 0; g < r->groups.count && g < t->gstat_cap; g++) {
		struct proc_group *pg = rp_table_item(&r->groups, g);
		pg->count += t->gstat[g].count;
		pg->failed += t->gstat[g].failed;
	}
}

/* ------------------------------------------------------------ batches */

/* Room for the processes of a batch; new slots hold no group (~0). */
static void pgroup_reserve(struct report *r, uint32_t ntasks)
{
	if (ntasks <= r->pgroup_cap)
		return;
	size_t cap = ntasks + 1024;
	r->pgroup = ct_xrealloc(r->pgroup, cap * sizeof(*r->pgroup));
	r->ptouched = ct_xrealloc(r->ptouched, cap * sizeof(*r->ptouched));
	memset(r->pgroup, 0xff, cap * sizeof(*r->pgroup));
	r->pgroup_cap = cap;
}

/* Room in a job for n events and ntasks processes: the columns in one
 * block (8-byte ones first, so each stays aligned), the two process
 * arrays in another. */
static void job_reserve(struct rp_job *job, size_t n, size_t ntasks)
{
	if (n > job->cap) {
		job->cap = n;
		free(job->ts);
		job->ts = ct_xrealloc(
		    NULL, n * (3 * sizeof(uint64_t) + 3 * sizeof(uint32_t) + sizeof(uint16_t)));
		job->tx = job->ts + n;
		job->rx = job->tx + n;
		job->task = (uint32_t *)(job->rx + n);
		job->dest = job->task + n;
		job->result = (int32_t *)(job->dest + n);
		job->flags = (uint16_t *)(job->result + n);
	}
	if (ntasks > job->pcap) {
		job->pcap = ntasks;
		free(job->pgroup);
		job->pgroup = ct_xrealloc(NULL, 2 * ntasks * sizeof(*job->pgroup));
		job->ptouched = job->pgroup + ntasks;
	}
}

/* The job's copy of b's destination table: the one of b's chunk. */
static struct dtab *job_dests(struct rp_pool *pl, const struct ct_batch *b, unsigned input)
{
	if (pl->cur && pl->cur_input == input && pl->cur_tables == b->tables_id &&
	    pl->cur_dests == b->dests)
		return pl->cur;
	/* The unix paths too (they point into the reader's buffers), after
	 * the table in the same allocation. */
	size_t paths = 0, at = ((size_t)b->ndests + 1) * sizeof(struct ct_dest);
	for (uint32_t i = 0; i < b->ndests; i++)
		paths += b->dests[i].path ? b->dests[i].path_len : 0;
	struct dtab *dt = ct_xrealloc(NULL, sizeof(*dt));
	dt->d = ct_xrealloc(NULL, at + paths);
	memcpy(dt->d, b->dests, (size_t)b->ndests * sizeof(*dt->d));
	for (uint32_t i = 0; paths && i < b->ndests; i++) {
		if (!b->dests[i].path)
			continue;
		char *to = (char *)dt->d + at;
		memcpy(to, b->dests[i].path, b->dests[i].path_len);
		dt->d[i].path = to;
		at += b->dests[i].path_len;
	}
	dt->refs = 1; /* the pool's, while it is the current one */
	pthread_mutex_lock(&pl->mu);
	struct dtab *old = pl->cur;
	int drop = dtab_put(old);
	pthread_mutex_unlock(&pl->mu);
	if (drop)
		dtab_free(old);
	pl->cur = dt;
	pl->cur_input = input;
	pl->cur_tables = b->tables_id;
	pl->cur_dests = b->dests;
	return dt;
}

#define COPY(dst, src, n) memcpy(dst, src, (size_t)(n) * sizeof(*(src)))

/* A job of b's columns for the threads; its processes' groups looked up
 * here first, in the order of their first events. */
static void submit(struct report *r, const struct tjob *in, const struct ct_batch *b,
		   unsigned input)
{
	struct rp_pool *pl = r->pool;
	uint32_t n = b->n;

	r->nptouched = 0;
	for (uint32_t i = 0; i < n; i++)
		if (r->pgroup[b->task[i]] == UINT32_MAX)
			rp_batch_group(r, b, b->task[i], in->host);
	struct dtab *dt = job_dests(pl, b, input);
	pthread_mutex_lock(&pl->mu);
	while (!pl->nfree)
		pthread_cond_wait(&pl->done, &pl->mu);
	unsigned idx = pl->free_jobs[--pl->nfree];
	pthread_mutex_unlock(&pl->mu);

	struct rp_job *job = &pl->jobs[idx];
	job_reserve(job, n, b->ntasks);
	COPY(job->ts, b->ts_ns, n);
	COPY(job->task, b->task, n);
	COPY(job->dest, b->dest, n);
	COPY(job->flags, b->flags, n);
	COPY(job->result, b->result, n);
	if (in->c.tx) {
		COPY(job->tx, b->tx_bytes, n);
		COPY(job->rx, b->rx_bytes, n);
	}
	/* Only the batch's processes: a slice of a few events of a chunk of
	 * many processes costs what its events do. */
	for (uint32_t k = 0; k < r->nptouched; k++) {
		uint32_t p = r->ptouched[k];
		job->pgroup[p] = r->pgroup[p];
		job->ptouched[k] = p;
		r->pgroup[p] = UINT32_MAX;
	}
	job->j = *in;
	job->j.c = (struct tcols){.ts = job->ts,
				  .task = job->task,
				  .dest = job->dest,
				  .flags = job->flags,
				  .result = job->result,
				  .tx = in->c.tx ? job->tx : NULL,
				  .rx = in->c.tx ? job->rx : NULL};
	job->j.dests = dt->d;
	job->j.pgroup = job->pgroup;
	job->j.ptouched = job->ptouched;
	job->j.nptouched = r->nptouched;
	job->j.ngroups = (uint32_t)r->groups.count;
	job->j.r = NULL;
	job->j.b = NULL;

	pthread_mutex_lock(&pl->mu);
	job->dt = dt;
	dt->refs++;
	pl->ready[(pl->rhead + pl->rcount) % pl->njobs] = idx;
	pl->rcount++;
	pthread_cond_signal(&pl->work);
	pthread_mutex_unlock(&pl->mu);
}

int rp_on_batch(void *ctx, const struct ct_batch *b, unsigned input)
{
	struct report *r = ctx;
	int64_t off = r->wall_off[input];
	uint16_t host = r->host_of[input];
	uint32_t n = b->n;

	if (!n)
		return 0;
	rp_names_batch(b, host);
	pgroup_reserve(r, b->ntasks);
	/* Events are in time order within a batch; batches may overlap. */
	int64_t w0 = ct_wall_ns(b->ts_ns[0], off), w1 = ct_wall_ns(b->ts_ns[n - 1], off);
	if (!r->events || w0 < r->first_wall)
		r->first_wall = w0;
	if (!r->events || w1 > r->last_wall)
		r->last_wall = w1;
	rate_plan(r, w0, w1);
	r->events += n;
	/* The batch's own columns when counted here; submit() copies them. */
	struct tjob j = {.n = n,
			 .ntasks = b->ntasks,
			 .ndests = b->ndests,
			 .c = {.ts = b->ts_ns,
			       .task = b->task,
			       .dest = b->dest,
			       .flags = b->flags,
			       .result = b->result,
			       .tx = b->closed_ns ? b->tx_bytes : NULL,
			       .rx = b->closed_ns ? b->rx_bytes : NULL},
			 .dests = b->dests,
			 .pgroup = r->pgroup,
			 .ptouched = r->ptouched,
			 .off = off,
			 .host = host,
			 .origin = r->origin,
			 .shift = r->shift,
			 .r = r,
			 .b = b};
	if (r->pool) {
		submit(r, &j, b, input);
		return 0;
	}
	r->nptouched = 0;
	rp_tally_batch(&r->tl[0], &j);
	for (uint32_t k = 0; k < r->nptouched; k++)
		r->pgroup[r->ptouched[k]] = UINT32_MAX;
	return 0;
}
