/* SPDX-License-Identifier: MIT */
/*
 * prefetch.c: decoding ahead on worker threads (ct_reader_set_threads).
 *
 * Chunks are independent by design (FORMAT.md): each is read, checked and
 * decompressed on its own. In list mode (a file with an index, or scanned
 * at open) the chunks the reader will load, and their order, follow from
 * the chunk list and the query alone, so the reader's own thread walks that
 * order ahead of itself (the same steps as load_list and
 * ct_outcomes_before) and queues the chunks; workers read, check and
 * decompress them and decode them as far as a chunk alone decides (outcome
 * records; an event chunk's tables, columns and results from return values,
 * ct_event_decode) into slots of a ring; the reader takes the slots in order
 * and goes on exactly as if it had decoded the chunk itself. Everything that
 * depends on what came before (outcome joins, the time window's cut, process
 * records, names, merge order, the filter) stays on the reader's thread, so
 * what the reader hands out is the same for any number of threads.
 *
 * Only the plain case is done ahead: a chunk that is damaged, disagrees
 * with the index or is bigger than CT_RAW_KEEP is left to the reader's own
 * path, which reports or refuses it as it always did.
 *
 * Memory: the ring holds CT_PF_PER_THREAD chunks per worker (raw and
 * decoded), and the pool at most as many spare payload buffers, whatever
 * the file's size.
 */
#include <pthread.h>
#include <stdlib.h>

#include "reader_int.h"

#define CT_PF_PER_THREAD 2
/* Fewer event chunks to read than this: no workers (few_wanted). */
#define CT_PF_MIN_EVENTS 8
#define CT_PF_SMALL (8u << 20) /* CT_RAW_KEEP: bigger chunks go the reader's own way */

enum { SLOT_QUEUED, SLOT_BUSY, SLOT_DONE };

struct pf_slot {
	uint32_t idx; /* into r->chunks */
	int state;
	int ok; /* done: 1 decoded, 0 left to the reader's own path */
	struct chdr h;
	uint8_t *raw;
	size_t raw_cap;
	uint64_t bytes_read;
	struct ct_oc_rec *oc; /* outcome chunks: the decoded records */
	uint32_t oc_cap;
	const char *oc_why;
	/* Event chunks (2.x): decoded on their own, as ct_event_batch would. */
	struct ct_evdec dec;
	int ev_ok;
	int ev_tid; /* with the tid column */
	uint32_t ev_n;
	const char *ev_why;
};

struct ct_prefetch {
	struct ct_reader *r;
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	pthread_t *th;
	unsigned nth;
	int stop;
	/* The file has outcome or close chunks, whose joins check tids. */
	int joins;
	struct pf_slot *ring;
	uint32_t cap;			    /* slots in the ring */
	uint64_t produced, taken, consumed; /* queued, given to a worker, handed to the reader */
	/* The walk ahead: next chunk, next listed outcome chunk, and an
	 * event chunk whose outcome chunks are being queued first. */
	uint32_t feed_cur, feed_oc;
	int pending;
	uint32_t pending_idx;
	/* Payload buffers handed back by the reader, for the workers: an
	 * event chunk's slot takes one big enough instead of allocating (and
	 * the kernel zeroing) megabytes a chunk. At most cap + 1. */
	struct pf_buf {
		uint8_t *p;
		size_t cap;
	} * pool;
	uint32_t npool;
};

/* A buffer back to the pool; the smallest is freed when it is full. Under mu. */
static void pool_put(struct ct_prefetch *pf, uint8_t *p, size_t cap)
{
	if (pf->npool == pf->cap + 1) {
		uint32_t m = 0;
		for (uint32_t i = 1; i < pf->npool; i++)
			if (pf->pool[i].cap < pf->pool[m].cap)
				m = i;
		if (pf->pool[m].cap >= cap) {
			free(p);
			return;
		}
		free(pf->pool[m].p);
		pf->pool[m] = pf->pool[--pf->npool];
	}
	pf->pool[pf->npool++] = (struct pf_buf){p, cap};
}

/* The slot's buffer swapped for the pool's smallest of at least need
 * bytes, or a new one: 0, or -1 out of memory. */
static int slot_buffer(struct ct_prefetch *pf, struct pf_slot *s, size_t need)
{
	pthread_mutex_lock(&pf->mu);
	if (s->raw)
		pool_put(pf, s->raw, s->raw_cap);
	s->raw = NULL;
	s->raw_cap = 0;
	uint32_t best = UINT32_MAX;
	for (uint32_t i = 0; i < pf->npool; i++)
		if (pf->pool[i].cap >= need &&
		    (best == UINT32_MAX || pf->pool[i].cap < pf->pool[best].cap))
			best = i;
	if (best != UINT32_MAX) {
		s->raw = pf->pool[best].p;
		s->raw_cap = pf->pool[best].cap;
		pf->pool[best] = pf->pool[--pf->npool];
	}
	pthread_mutex_unlock(&pf->mu);
	if (s->raw)
		return 0;
	if (!(s->raw = ct_big_alloc(&need)))
		return -1;
	s->raw_cap = need;
	return 0;
}

/* One slot's chunk: read, checked, decompressed. 1 done, 0 left to the
 * reader (damaged, unusual, or out of memory: it will say). */
static int work_one(struct ct_prefetch *pf, struct pf_slot *s, uint8_t **buf, size_t *buf_cap,
		    void **dctx)
{
	struct ct_reader *r = pf->r;
	const struct ct_chunk_info *c = &r->chunks[s->idx];
	uint64_t avail = r->size - c->offset,
		 whole = (uint64_t)CT_CHUNK_HDR_MAX + c->summary_len + c->comp_size;
	size_t len = (size_t)(whole < avail ? whole : avail);

	if (c->offset >= r->size || c->raw_size > CT_PF_SMALL || whole > CT_PF_SMALL + 65536)
		return 0;
	if (*buf_cap < len) {
		free(*buf);
		*buf_cap = len > 65536 ? len : 65536;
		if (!(*buf = ct_big_alloc(buf_cap))) {
			*buf_cap = 0;
			return 0;
		}
	}
	size_t got = 0;
	while (got < len) {
		ssize_t n = r->io.pread(r->io.ctx, *buf + got, len - got, c->offset + got);
		if (n <= 0)
			return 0;
		got += (size_t)n;
	}
	s->bytes_read = got;
	struct chdr *h = &s->h;
	if (ct_parse_chdr(*buf, got, h) != HDR_OK || h->kind != c->kind ||
	    h->comp != c->comp_size || h->raw != c->raw_size || h->seq != c->seq ||
	    h->records != c->records || h->min_seq != c->min_seq || ct_chunk_total(h) > got)
		return 0;
	const uint8_t *body = *buf + h->hsize;
	if (ct_crc32(0, body, (size_t)h->sum_len + h->comp) != h->crc || h->codec > CT_COMP_ZLIB ||
	    (uint64_t)h->raw > (uint64_t)h->comp * ct_codec_max_ratio(h->codec) + 64)
		return 0;
	size_t need = h->raw > 4096 ? h->raw : 4096;
	if (s->raw_cap < need && slot_buffer(pf, s, need))
		return 0;
	if (ct_decompress_buf(h->codec, body + h->sum_len, h->comp, s->raw, h->raw, dctx))
		return 0;
	if (h->kind == CT_CHUNK_OUTCOMES || h->kind == CT_CHUNK_CLOSES)
		s->oc_why =
		    ct_oc_decode(s->raw, h->raw, h->records, h->first_ts, &s->oc, &s->oc_cap);
	/* tid whenever the file has joins to check: whether this chunk's
	 * events are named by one is known only when the reader gets to it.
	 * Without any, decoding tid was a sixth of a worker's time on a
	 * trace of the 0.1 format. r->want and r->columnar are set before
	 * the threads start. */
	if (h->kind == CT_CHUNK_EVENTS && r->columnar) {
		uint32_t want = ct_event_want(r->want) | (pf->joins ? CT_COL_TID : 0);
		s->ev_n = ct_event_decode(&s->dec, s->raw, h, want, &s->ev_why);
		s->ev_tid = (want & CT_COL_TID) != 0;
		s->ev_ok = 1;
	}
	return 1;
}

static void *worker(void *arg)
{
	struct ct_prefetch *pf = arg;
	uint8_t *buf = NULL;
	size_t buf_cap = 0;
	void *dctx = NULL;

	pthread_mutex_lock(&pf->mu);
	for (;;) {
		while (!pf->stop && pf->taken == pf->produced)
			pthread_cond_wait(&pf->work, &pf->mu);
		if (pf->stop)
			break;
		struct pf_slot *s = &pf->ring[pf->taken++ % pf->cap];
		s->state = SLOT_BUSY;
		pthread_mutex_unlock(&pf->mu);
		int ok = work_one(pf, s, &buf, &buf_cap, &dctx);
		pthread_mutex_lock(&pf->mu);
		s->ok = ok;
		s->state = SLOT_DONE;
		pthread_cond_broadcast(&pf->done);
	}
	pthread_mutex_unlock(&pf->mu);
	free(buf);
	ct_codec_free(CT_COMP_ZSTD, dctx, 1);
	return NULL;
}

/*
 * 1 when the query reads too few event chunks for workers to pay: starting
 * them, their buffers and the handoffs cost more than decoding a few chunks
 * (a one-minute window or an index-selective filter read one or two, and
 * were about a quarter slower with a worker). Meta chunks are small and
 * gain nothing ahead. The query is set before the threads (session.c).
 */
static int few_wanted(struct ct_reader *r)
{
	/* Tests lower the bar (CONNTRAIL_PREFETCH_MIN=0) to run the workers
	 * on small traces too. */
	const char *env = getenv("CONNTRAIL_PREFETCH_MIN");
	uint32_t min = env && *env ? (uint32_t)strtoul(env, NULL, 10) : CT_PF_MIN_EVENTS, k = 0;
	for (uint32_t i = 0; i < r->nchunks && k < min; i++)
		if (r->chunks[i].kind == CT_CHUNK_EVENTS && !ct_query_skips(r, &r->chunks[i]))
			k++;
	return k < min;
}

int ct_reader_set_threads(struct ct_reader *r, unsigned n)
{
	if (r->started)
		return CT_E_INVAL;
	if (r->pf)
		ct_prefetch_stop(r);
	/* Streams are read in order as they come; only a list is known ahead. */
	if (n < 1 || !r->list_mode || !r->io.pread || few_wanted(r))
		return 0;
	struct ct_prefetch *pf = calloc(1, sizeof(*pf));
	if (!pf)
		return CT_E_NOMEM;
	pf->r = r;
	for (uint32_t i = 0; i < r->nchunks && !pf->joins; i++)
		pf->joins =
		    r->chunks[i].kind == CT_CHUNK_OUTCOMES || r->chunks[i].kind == CT_CHUNK_CLOSES;
	pf->cap = n * CT_PF_PER_THREAD + 2;
	pf->ring = calloc(pf->cap, sizeof(*pf->ring));
	pf->th = calloc(n, sizeof(*pf->th));
	pf->pool = calloc(pf->cap + 1, sizeof(*pf->pool));
	if (!pf->ring || !pf->th || !pf->pool) {
		free(pf->ring);
		free(pf->th);
		free(pf->pool);
		free(pf);
		return CT_E_NOMEM;
	}
	pthread_mutex_init(&pf->mu, NULL);
	pthread_cond_init(&pf->work, NULL);
	pthread_cond_init(&pf->done, NULL);
	r->pf = pf;
	for (; pf->nth < n; pf->nth++)
		if (pthread_create(&pf->th[pf->nth], NULL, worker, pf))
			break;
	if (!pf->nth) { /* no thread at all: read as before */
		ct_prefetch_stop(r);
		return 0;
	}
	return 0;
}

void ct_prefetch_stop(struct ct_reader *r)
{
	struct ct_prefetch *pf = r->pf;
	if (!pf)
		return;
	pthread_mutex_lock(&pf->mu);
	pf->stop = 1;
	pthread_cond_broadcast(&pf->work);
	pthread_mutex_unlock(&pf->mu);
	for (unsigned i = 0; i < pf->nth; i++)
		pthread_join(pf->th[i], NULL);
	for (uint32_t i = 0; i < pf->cap; i++) {
		free(pf->ring[i].raw);
		free(pf->ring[i].oc);
		ct_tables_free(&pf->ring[i].dec.tab);
		ct_colbuf_free(&pf->ring[i].dec.cb);
	}
	for (uint32_t i = 0; i < pf->npool; i++)
		free(pf->pool[i].p);
	free(pf->pool);
	pthread_mutex_destroy(&pf->mu);
	pthread_cond_destroy(&pf->work);
	pthread_cond_destroy(&pf->done);
	free(pf->ring);
	free(pf->th);
	free(pf);
	r->pf = NULL;
}

/* One more chunk for the workers. The slot is free: the reader's thread
 * alone queues and consumes, and it consumed what the slot held. */
static void enqueue(struct ct_prefetch *pf, uint32_t idx)
{
	pthread_mutex_lock(&pf->mu);
	struct pf_slot *s = &pf->ring[pf->produced % pf->cap];
	s->idx = idx;
	s->state = SLOT_QUEUED;
	s->ok = 0;
	s->oc_why = NULL;
	s->ev_ok = 0;
	pf->produced++;
	pthread_cond_signal(&pf->work);
	pthread_mutex_unlock(&pf->mu);
}

/* The walk ahead, until the ring is full: the chunks load_list and
 * ct_outcomes_before will ask for, in the order they will. */
static void feed(struct ct_reader *r)
{
	struct ct_prefetch *pf = r->pf;
	if (ct_outcomes_list(r) < 0)
		return; /* out of memory: the reader's own path will say */
	/* produced and consumed change on this thread only: read unlocked. */
	while (pf->produced - pf->consumed < pf->cap) {
		if (pf->pending) {
			const struct ct_chunk_info *e = &r->chunks[pf->pending_idx];
			if (pf->feed_oc < r->noc &&
			    r->chunks[r->oc_list[pf->feed_oc]].min_seq <= e->seq) {
				uint32_t oi = r->oc_list[pf->feed_oc++];
				if (ct_outcome_wanted(r, &r->chunks[oi], e->seq))
					enqueue(pf, oi);
				continue;
			}
			enqueue(pf, pf->pending_idx);
			pf->pending = 0;
			continue;
		}
		if (pf->feed_cur >= r->nchunks)
			break;
		uint32_t i = pf->feed_cur++;
		const struct ct_chunk_info *c = &r->chunks[i];
		if (c->kind == CT_CHUNK_META) {
			enqueue(pf, i);
		} else if (c->kind == CT_CHUNK_EVENTS && !ct_query_skips(r, c)) {
			pf->pending = 1;
			pf->pending_idx = i;
		}
	}
}

int ct_prefetch_take(struct ct_reader *r, const struct ct_chunk_info *c, struct chdr *h)
{
	struct ct_prefetch *pf = r->pf;
	uint32_t idx = (uint32_t)(c - r->chunks);

	feed(r);
	pthread_mutex_lock(&pf->mu);
	if (pf->consumed == pf->produced || pf->ring[pf->consumed % pf->cap].idx != idx) {
		/* Not the chunk the walk ahead expected: it cannot be trusted
		 * any further, so the reader goes on alone. */
		pthread_mutex_unlock(&pf->mu);
		ct_prefetch_stop(r);
		return CT_PF_MISS;
	}
	struct pf_slot *s = &pf->ring[pf->consumed % pf->cap];
	while (s->state != SLOT_DONE)
		pthread_cond_wait(&pf->done, &pf->mu);
	pf->consumed++;
	pthread_mutex_unlock(&pf->mu);
	if (!s->ok)
		return CT_PF_MISS;
	/* The slot's buffer becomes the reader's and the reader's goes to the
	 * pool: what the reader holds stays counted in the shared budget. */
	uint8_t *raw = r->raw;
	size_t raw_cap = r->raw_cap;
	ct_raw_adopt(r, s->raw, s->raw_cap);
	s->raw = NULL;
	s->raw_cap = 0;
	if (raw) {
		pthread_mutex_lock(&pf->mu);
		pool_put(pf, raw, raw_cap);
		pthread_mutex_unlock(&pf->mu);
	}
	*h = s->h;
	r->coff = c->offset;
	r->cseq = h->seq;
	r->st.bytes_read += s->bytes_read;
	r->st.comp_bytes += h->comp;
	r->st.raw_bytes += h->raw;
	if (h->kind == CT_CHUNK_EVENTS)
		r->st.chunks_read++;
	if (h->kind == CT_CHUNK_OUTCOMES || h->kind == CT_CHUNK_CLOSES) {
		/* Handed over with the chunk: ct_outcome_chunk takes them. */
		r->pre_oc = s->oc;
		r->pre_oc_why = s->oc_why;
		r->pre_oc_ready = 1;
		s->oc = NULL;
		s->oc_cap = 0;
	}
	if (s->ev_ok) { /* the decoded chunk for the reader, its old buffers for the slot */
		struct ct_evdec d = r->dec;
		r->dec = s->dec;
		s->dec = d;
		r->pre_ev_ready = 1;
		r->pre_ev_n = s->ev_n;
		r->pre_ev_tid = s->ev_tid;
		r->pre_ev_why = s->ev_why;
	}
	return 0;
}
