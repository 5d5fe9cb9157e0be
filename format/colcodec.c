/* SPDX-License-Identifier: MIT */
/*
 * colcodec.c: format 2.0 event chunks. A chunk's events are stored as a
 * process table, a destination table and one column per remaining field,
 * each column as byte planes of (value - base), so the reader decodes them
 * with one short loop per plane (vectorised) instead of a branch per field
 * per event. Layout: format/FORMAT.md, "Event chunk payload".
 */
#include <stdlib.h>
#include <sys/socket.h>

#include "ct_internal.h"

/* GCC's -O2 vectorises only loops that need no scalar remainder; the
 * plane loops below are worth the remainder. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("vect-cost-model=dynamic")
#endif

/* The decoding loops are also built for AVX2 (twice the lanes), chosen at
 * load time where the CPU has it. Not under ThreadSanitizer: the ifunc
 * resolver runs before its runtime is up and crashes. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
#define VEC_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define VEC_CLONES
#endif

/* ---------------------------------------------------------------- encode */

static int same_task(const struct ct_wevent *a, const struct ct_wevent *b)
{
	return !memcmp(&a->task, &b->task, sizeof(a->task));
}

static int same_dest(const struct ct_wevent *a, const struct ct_wevent *b, const char *paths)
{
	const struct ct_dest *x = &a->dest, *y = &b->dest;
	return x->family == y->family && x->type == y->type && x->proto == y->proto &&
	       x->dport == y->dport && x->scope_id == y->scope_id && x->path_len == y->path_len &&
	       !memcmp(x->daddr, y->daddr, 16) &&
	       (!x->path_len || !memcmp(paths + a->path_off, paths + b->path_off, x->path_len));
}

static uint8_t *put_task(uint8_t *p, const struct ct_task *c)
{
	size_t n = strnlen(c->comm, CT_COMM_LEN);

	p = put_varint(p, c->pid);
	p = put_varint(p, c->ppid);
	p = put_varint(p, c->uid);
	p = put_varint(p, c->gid);
	p = put_varint(p, c->cgroup_id);
	*p++ = (uint8_t)n;
	memcpy(p, c->comm, n);
	return p + n;
}

static uint8_t *put_dest(uint8_t *p, const struct ct_dest *d, const char *path)
{
	size_t n = addr_len(d->family);

	p = put_varint(p, d->family);
	p = put_varint(p, d->type);
	p = put_varint(p, d->proto);
	memcpy(p, d->daddr, n);
	p += n;
	put_le16(p, d->dport);
	p += 2;
	*p++ = d->path_len;
	if (d->path_len)
		memcpy(p, path, d->path_len);
	p += d->path_len;
	return put_varint(p, d->scope_id);
}

int ct_put_column(struct ct_bytes *out, const uint64_t *v, uint32_t n)
{
	uint64_t min = UINT64_MAX, max = 0;

	for (uint32_t i = 0; i < n; i++) {
		min = v[i] < min ? v[i] : min;
		max = v[i] > max ? v[i] : max;
	}
	uint64_t range = max - min;
	unsigned w = 0;
	while (w < 8 && (range >> (8 * w)))
		w++;
	int err = ct_bytes_reserve(out, 11 + (size_t)w * n);
	if (err)
		return err;
	uint8_t *p = out->p + out->len;
	*p++ = (uint8_t)w;
	p = put_varint(p, min);
	for (unsigned k = 0; k < w; k++, p += n)
		for (uint32_t i = 0; i < n; i++)
			p[i] = (uint8_t)((v[i] - min) >> (8 * k));
	out->len = (size_t)(p - out->p);
	return 0;
}

int ct_cols_encode(struct ct_tables *t, struct ct_sumbuild *sb, const struct ct_wevent *evs,
		   const char *paths, const uint32_t *order, uint32_t n, struct ct_bytes *scratch,
		   struct ct_bytes *out)
{
	int err;

	if (!n || n > CT_CHUNK_EVENTS_MAX)
		return CT_E_INVAL;
	scratch->len = 0;
	if ((err = ct_bytes_reserve(scratch, (size_t)CT_NCOLS * n * sizeof(uint64_t))))
		return err;
	uint64_t *col[CT_NCOLS];
	for (int k = 0; k < CT_NCOLS; k++)
		col[k] = (uint64_t *)(void *)scratch->p + (size_t)k * n;

	ct_tables_reset(t);
	const struct ct_wevent *prev = NULL;
	uint64_t prev_ts = evs[order[0]].ts_ns;
	long ti = 0, di = 0;
	size_t saddr_bytes = 0;
	for (uint32_t k = 0; k < n; k++) {
		const struct ct_wevent *ev = &evs[order[k]];
		int added;
		/* Neighbours often share a process or a destination: no lookup. */
		if (!prev || !same_task(prev, ev)) {
			if ((ti = ct_tables_intern_task(t, &ev->task, &added)) < 0)
				return CT_E_NOMEM;
			/* A table entry's keys go into the summary once. */
			if (added && (err = ct_sum_add_task(sb, &ev->task)))
				return err;
		}
		if (!prev || !same_dest(prev, ev, paths)) {
			struct ct_dest d = ev->dest;
			d.path = paths + ev->path_off;
			if ((di = ct_tables_intern_dest(t, &d, &added)) < 0)
				return CT_E_NOMEM;
			if (added && (err = ct_sum_add_dest(sb, &d)))
				return err;
		}
		col[CT_COLP_TS][k] = ev->ts_ns - prev_ts;
		col[CT_COLP_TASK][k] = (uint64_t)ti;
		col[CT_COLP_DEST][k] = (uint64_t)di;
		col[CT_COLP_TID][k] = zigzag((int64_t)ev->tid - (int64_t)ev->task.pid);
		col[CT_COLP_SOCKFD][k] = zigzag(ev->sockfd);
		col[CT_COLP_RET][k] = zigzag(ev->ret);
		col[CT_COLP_LATENCY][k] = ev->latency_ns;
		col[CT_COLP_FLAGS][k] = ev->flags;
		col[CT_COLP_SPORT][k] = ev->sport;
		if (ev->flags & CT_EV_SADDR)
			saddr_bytes += addr_len(ev->dest.family);
		prev_ts = ev->ts_ns;
		prev = ev;
	}

	/* Tables: the biggest entry is 5 varints + 17 bytes of comm, or 3
	 * varints + 16 + 2 + 109 + a varint. */
	if ((err = ct_bytes_reserve(out, 30 + (size_t)t->ntasks * 70 + (size_t)t->ndests * 170)))
		return err;
	uint8_t *p = put_varint(out->p + out->len, n);
	p = put_varint(p, t->ntasks);
	for (uint32_t i = 0; i < t->ntasks; i++)
		p = put_task(p, &t->tasks[i]);
	p = put_varint(p, t->ndests);
	for (uint32_t i = 0; i < t->ndests; i++)
		p = put_dest(p, &t->dests[i], t->paths + t->path_off[i]);
	out->len = (size_t)(p - out->p);
	for (int k = 0; k < CT_NCOLS; k++)
		if ((err = ct_put_column(out, col[k], n)))
			return err;
	if ((err = ct_bytes_reserve(out, saddr_bytes)))
		return err;
	for (uint32_t k = 0; k < n; k++) {
		const struct ct_wevent *ev = &evs[order[k]];
		if (ev->flags & CT_EV_SADDR) {
			size_t a = addr_len(ev->dest.family);
			memcpy(out->p + out->len, ev->saddr, a);
			out->len += a;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- decode */

/* wmax: the widest column the field can take (4 for 32-bit fields...):
 * value - base of a wider one cannot fit. */
const char *ct_col_head(const uint8_t **pp, const uint8_t *end, uint32_t n, unsigned wmax,
			struct ct_colhead *h)
{
	const uint8_t *p = *pp;

	if (p >= end)
		return "truncated column";
	h->w = *p++;
	if (h->w > 8)
		return "bad column width";
	if (h->w > wmax)
		return "column too wide for its field";
	if (!(p = get_varint(p, end, &h->base)))
		return "truncated column";
	if (n && (size_t)(end - p) / n < h->w)
		return "truncated column";
	h->planes = p;
	h->stride = n;
	*pp = p + (size_t)h->w * n;
	return NULL;
}

/*
 * Byte planes to values, one loop per column width so each is a single
 * pass the compiler vectorises: n values from p (planes st bytes apart),
 * d = plane bytes, bad when d > lim, out = base + d (zigzag-decoded when
 * zz). A bad column is rare: only then is it walked again to find where.
 */
#define PLANE(k, T) ((T)p[(size_t)(k)*st + i] << (8 * (k)))

static inline __attribute__((always_inline)) uint32_t unpack32_w(uint32_t *out, const uint8_t *p,
								 uint32_t n, size_t st, unsigned w,
								 uint32_t base, uint32_t lim,
								 int zz)
{
	uint32_t bad = 0;

	for (uint32_t i = 0; i < n; i++) {
		uint32_t d = w ? PLANE(0, uint32_t) : 0;
		if (w > 1)
			d |= PLANE(1, uint32_t);
		if (w > 2)
			d |= PLANE(2, uint32_t);
		if (w > 3)
			d |= PLANE(3, uint32_t);
		bad |= d > lim;
		uint32_t v = d + base;
		out[i] = zz ? (v >> 1) ^ -(v & 1) : v;
	}
	return bad;
}

/* The first value of a decoded 32-bit column past max (its planes' value
 * past lim), or n. */
static uint32_t first_bad32(const struct ct_colhead *h, uint32_t n, uint32_t lim)
{
	const uint8_t *p = h->planes;
	size_t st = h->stride;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t d = 0;
		for (unsigned k = 0; k < h->w; k++)
			d |= (uint64_t)p[(size_t)k * st + i] << (8 * k);
		if (d > lim)
			return i;
	}
	return n;
}

/* A 32-bit column whose values are at most max; the index of the first
 * that is not, or n. */
static inline __attribute__((always_inline)) uint32_t
unpack32(uint32_t *out, const struct ct_colhead *h, uint32_t n, uint32_t max, int zz)
{
	if (h->base > max)
		return 0;
	uint32_t base = (uint32_t)h->base, lim = max - base, bad;
	const uint8_t *p = h->planes;
	size_t st = h->stride;

	switch (h->w) {
	case 0:
		bad = unpack32_w(out, p, n, st, 0, base, lim, zz);
		break;
	case 1:
		bad = unpack32_w(out, p, n, st, 1, base, lim, zz);
		break;
	case 2:
		bad = unpack32_w(out, p, n, st, 2, base, lim, zz);
		break;
	case 3:
		bad = unpack32_w(out, p, n, st, 3, base, lim, zz);
		break;
	default:
		bad = unpack32_w(out, p, n, st, 4, base, lim, zz);
		break;
	}
	return bad ? first_bad32(h, n, lim) : n;
}

static inline __attribute__((always_inline)) uint32_t unpack16_w(uint16_t *out, const uint8_t *p,
								 uint32_t n, size_t st, unsigned w,
								 uint16_t base, uint16_t lim)
{
	uint32_t bad = 0;

	for (uint32_t i = 0; i < n; i++) {
		uint16_t d = w ? PLANE(0, uint16_t) : 0;
		if (w > 1)
			d |= PLANE(1, uint16_t);
		bad |= d > lim;
		out[i] = (uint16_t)(d + base);
	}
	return bad;
}

static inline __attribute__((always_inline)) uint32_t
unpack16(uint16_t *out, const struct ct_colhead *h, uint32_t n)
{
	if (h->base > UINT16_MAX)
		return 0;
	uint16_t base = (uint16_t)h->base, lim = (uint16_t)(UINT16_MAX - base);
	const uint8_t *p = h->planes;
	size_t st = h->stride;
	uint32_t bad;

	switch (h->w) {
	case 0:
		bad = unpack16_w(out, p, n, st, 0, base, lim);
		break;
	case 1:
		bad = unpack16_w(out, p, n, st, 1, base, lim);
		break;
	default:
		bad = unpack16_w(out, p, n, st, 2, base, lim);
		break;
	}
	return bad ? first_bad32(h, n, lim) : n;
}

static inline __attribute__((always_inline)) uint64_t
unpack64_w(uint64_t *out, const uint8_t *p, uint32_t n, size_t st, unsigned w, uint64_t base)
{
	uint64_t bad = 0;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t d = 0;
		for (unsigned k = 0; k < w; k++)
			d |= PLANE(k, uint64_t);
		uint64_t v = base + d;
		bad |= v < base;
		out[i] = v;
	}
	return bad;
}
#undef PLANE

/* Values of a 64-bit column; base + planes must not wrap past max. Up to 4
 * planes go through 32-bit lanes (tmp32), twice as many per vector.
 * Returns the index of the first bad value, or n. */
uint32_t ct_col_unpack64(uint64_t *out, uint32_t *tmp32, const struct ct_colhead *h, uint32_t n,
			 uint64_t max)
{
	const uint8_t *p = h->planes;
	size_t st = h->stride;
	uint64_t b = h->base;
	uint64_t bad;

	if (b > max)
		return 0;
	if (h->w <= 4) {
		struct ct_colhead d = *h;
		d.base = 0;
		unpack32(tmp32, &d, n, UINT32_MAX, 0);
		for (uint32_t i = 0; i < n; i++)
			out[i] = b + tmp32[i];
		if (max - b >= UINT32_MAX)
			return n;
		for (uint32_t i = 0; i < n; i++)
			if (tmp32[i] > max - b)
				return i;
		return n;
	}
	switch (h->w) {
	case 5:
		bad = unpack64_w(out, p, n, st, 5, b);
		break;
	case 6:
		bad = unpack64_w(out, p, n, st, 6, b);
		break;
	case 7:
		bad = unpack64_w(out, p, n, st, 7, b);
		break;
	default:
		bad = unpack64_w(out, p, n, st, 8, b);
		break;
	}
	for (uint32_t i = 0; i < n && (bad || max != UINT64_MAX); i++)
		if (out[i] < b || out[i] > max)
			return i;
	return n;
}

static const uint8_t *get_task(const uint8_t *p, const uint8_t *end, struct ct_task *c)
{
	uint64_t v[5];

	memset(c, 0, sizeof(*c));
	for (int i = 0; i < 5; i++)
		if (!(p = get_varint(p, end, &v[i])))
			return NULL;
	if (v[0] > UINT32_MAX || v[1] > UINT32_MAX || v[2] > UINT32_MAX || v[3] > UINT32_MAX)
		return NULL;
	c->pid = (uint32_t)v[0];
	c->ppid = (uint32_t)v[1];
	c->uid = (uint32_t)v[2];
	c->gid = (uint32_t)v[3];
	c->cgroup_id = v[4];
	if (p >= end || *p > CT_COMM_LEN || (size_t)(end - p - 1) < *p)
		return NULL;
	size_t n = *p++;
	memcpy(c->comm, p, n);
	return p + n;
}

static const uint8_t *get_dest(const uint8_t *p, const uint8_t *end, struct ct_dest *d)
{
	uint64_t v[3];

	memset(d, 0, sizeof(*d));
	for (int i = 0; i < 3; i++)
		if (!(p = get_varint(p, end, &v[i])) || v[i] > UINT16_MAX)
			return NULL;
	d->family = (uint16_t)v[0];
	d->type = (uint16_t)v[1];
	d->proto = (uint16_t)v[2];
	size_t a = addr_len(d->family);
	if ((size_t)(end - p) < a + 3)
		return NULL;
	memcpy(d->daddr, p, a);
	p += a;
	d->dport = get_le16(p);
	p += 2;
	size_t n = *p++;
	if (n > CT_UNIX_PATH_MAX || (size_t)(end - p) < n)
		return NULL;
	d->path_len = (uint8_t)n;
	d->path = n ? (const char *)p : NULL;
	p += n;
	uint64_t scope;
	if (!(p = get_varint(p, end, &scope)) || scope > UINT32_MAX)
		return NULL;
	d->scope_id = (uint32_t)scope;
	return p;
}

const char *ct_cols_open(struct ct_cols *c, struct ct_tables *t, const uint8_t *p, size_t len,
			 uint32_t records, uint64_t first_ts)
{
	const uint8_t *end = p + len;
	uint64_t v;
	const char *why;

	c->n = 0;
	ct_tables_reset(t);
	if (!(p = get_varint(p, end, &v)))
		return "truncated event count";
	if (v != records || v == 0 || v > CT_CHUNK_EVENTS_MAX)
		return "bad event count";
	uint32_t n = (uint32_t)v;

	/* Tables: each entry takes bytes, so their sizes are bounded by the
	 * payload as well as by n. */
	uint64_t np, nd;
	if (!(p = get_varint(p, end, &np)) || np == 0 || np > n || np > (size_t)(end - p) / 6)
		return "bad process table";
	if (ct_reserve(&t->tasks, &t->cap_tasks, np, sizeof(*t->tasks)))
		return "out of memory";
	/* Straight into the table: an entry is at least 6 bytes, checked. */
	for (uint64_t i = 0; i < np; i++)
		if (!(p = get_task(p, end, &t->tasks[i])))
			return "bad process table";
	t->ntasks = (uint32_t)np;
	if (!(p = get_varint(p, end, &nd)) || nd == 0 || nd > n || nd > (size_t)(end - p) / 11)
		return "bad destination table";
	if (ct_reserve(&t->dests, &t->cap_dests, nd, sizeof(*t->dests)))
		return "out of memory";
	/* Paths stay where they are in the payload. */
	for (uint64_t i = 0; i < nd; i++)
		if (!(p = get_dest(p, end, &t->dests[i])))
			return "bad destination table";
	t->ndests = (uint32_t)nd;
	for (int k = 0; k < CT_NCOLS; k++) {
		static const unsigned wmax[CT_NCOLS] = {8, 4, 4, 8, 4, 4, 8, 2, 2};
		if ((why = ct_col_head(&p, end, n, wmax[k], &c->h[k])))
			return why;
	}
	c->pid_min = UINT32_MAX;
	c->pid_max = 0;
	for (uint32_t i = 0; i < t->ntasks; i++) {
		int64_t pid = t->tasks[i].pid;
		c->pid_min = pid < c->pid_min ? pid : c->pid_min;
		c->pid_max = pid > c->pid_max ? pid : c->pid_max;
	}
	c->saddr = p;
	c->saddr_len = (size_t)(end - p);
	c->n = n;
	c->first_ts = first_ts;
	return NULL;
}

/* The largest value a column's planes can add to its base. */
static uint64_t head_span(const struct ct_colhead *h)
{
	return h->w >= 8 ? UINT64_MAX : (1ULL << (8 * h->w)) - 1;
}

/* 1 when no value the head's planes can hold takes the column past max. */
static int head_fits(const struct ct_colhead *h, uint64_t max)
{
	return h->base <= max && head_span(h) <= max - h->base;
}

/* Times from their deltas (the first from first_ts); the first event whose
 * running sum wraps, or n. When the deltas fit 32 bits and n of the
 * largest cannot carry the sum past 2^64, the sum goes straight from the
 * planes without a check per event. */
static uint32_t ts_decode(const struct ct_cols *c, uint64_t *out, uint32_t *tmp32)
{
	const struct ct_colhead *th = &c->h[CT_COLP_TS];
	uint32_t n = c->n;
	uint64_t ts = c->first_ts, step, total;

	if (th->w <= 4 && !__builtin_add_overflow(th->base, (uint64_t)UINT32_MAX, &step) &&
	    !__builtin_mul_overflow(step, (uint64_t)n, &total) &&
	    !__builtin_add_overflow(ts, total, &total)) {
		struct ct_colhead d = *th;
		d.base = 0;
		unpack32(tmp32, &d, n, UINT32_MAX, 0);
		for (uint32_t i = 0; i < n; i++) {
			ts += th->base + tmp32[i];
			out[i] = ts;
		}
		return n;
	}
	uint32_t ok = ct_col_unpack64(out, tmp32, th, n, UINT64_MAX);
	for (uint32_t i = 0; i < ok; i++) {
		uint64_t next = ts + out[i];
		if (next < ts)
			return i;
		out[i] = ts = next;
	}
	return ok;
}

/* tid = pid + zigzag'd offset must lie in 0 .. UINT32_MAX: checked against
 * the table's smallest and largest pid, and event by event only when that
 * is not enough. out may be NULL (checked, not kept). */
static uint32_t tid_decode(const struct ct_cols *c, const struct ct_tables *t, const uint32_t *task,
			   uint32_t m, uint32_t *out, uint64_t *tmp64, uint32_t *tmp32)
{
	const struct ct_colhead *th = &c->h[CT_COLP_TID];
	uint32_t n = c->n;
	uint64_t hi = th->base + head_span(th);
	/* unzigzag(v) for v <= hi lies in -(hi + 1) / 2 .. hi / 2 */
	int by_head = head_fits(th, UINT64_MAX) && hi < (1ULL << 40) &&
		      (int64_t)(hi + 1) / 2 <= c->pid_min &&
		      (int64_t)(hi / 2) <= (int64_t)UINT32_MAX - c->pid_max;
	if (by_head && !out)
		return n;
	uint32_t ok = ct_col_unpack64(tmp64, tmp32, th, n, UINT64_MAX);
	if (ok > m)
		ok = m; /* events past m have no valid process index */
	int64_t omin = INT64_MAX, omax = INT64_MIN;
	for (uint32_t i = 0; i < ok; i++) {
		int64_t off = unzigzag(tmp64[i]);
		omin = off < omin ? off : omin;
		omax = off > omax ? off : omax;
		if (out)
			out[i] = t->tasks[task[i]].pid + (uint32_t)off;
	}
	if (omin < -c->pid_min || omax > (int64_t)UINT32_MAX - c->pid_max) {
		for (uint32_t i = 0; i < ok; i++) {
			int64_t off = unzigzag(tmp64[i]);
			int64_t pid = t->tasks[task[i]].pid;
			if (off < -pid || off > (int64_t)UINT32_MAX - pid)
				return i;
		}
	}
	return ok;
}

static inline uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

VEC_CLONES uint32_t ct_cols_decode(const struct ct_cols *c, const struct ct_tables *t,
				   uint32_t want, struct ct_colbuf *o, const char **why)
{
	uint32_t n = c->n, ok = n, k;
	const char *bad = NULL;

	if (want & CT_COL_RESULT_NS)
		want |= CT_COL_RESULT | CT_COL_LATENCY;
	if (want & CT_COL_RESULT)
		want |= CT_COL_RET;
/* The first failing check sets why; every later one only lowers ok. */
#define FAIL_AT(k, msg)                                                                            \
	do {                                                                                       \
		if ((k) < ok) {                                                                    \
			ok = (k);                                                                  \
			bad = (msg);                                                               \
		}                                                                                  \
	} while (0)
	if ((k = ts_decode(c, o->ts, o->tmp32)) < n)
		FAIL_AT(k, "bad timestamps");
	if ((k = unpack32(o->task, &c->h[CT_COLP_TASK], n, t->ntasks - 1, 0)) < n)
		FAIL_AT(k, "process index out of range");
	if ((k = unpack32(o->dest, &c->h[CT_COLP_DEST], n, t->ndests - 1, 0)) < n)
		FAIL_AT(k, "destination index out of range");
	if ((k = unpack16(o->flags, &c->h[CT_COLP_FLAGS], n)) < n)
		FAIL_AT(k, "bad flags");
	/* The saddr bytes are those of the events with CT_EV_SADDR, exactly:
	 * checked whole (the chunk is malformed, not cut, when they differ;
	 * after a bad index they cannot be told apart, and none are read). */
	uint16_t any = 0;
	for (uint32_t i = 0; i < n; i++) {   /* vectorised: most chunks have none */
		o->flags[i] &= CT_EV_STORED; /* the high byte comes from outcome records */
		any |= o->flags[i];
	}
	size_t need = 0;
	for (uint32_t i = 0; (any & CT_EV_SADDR) && i < ok; i++)
		if (o->flags[i] & CT_EV_SADDR)
			need += addr_len(t->dests[o->dest[i]].family);
	if (ok == n && need != c->saddr_len) {
		*why = "bad saddr bytes";
		return 0;
	}
	if (ok < n)
		any &= (uint16_t)~CT_EV_SADDR;

	if ((k = tid_decode(c, t, o->task, ok, want & CT_COL_TID ? o->tid : NULL, o->tmp64,
			    o->tmp32)) < ok)
		FAIL_AT(k, "bad tid");
	/* The other columns: decoded when read, else checked from their heads
	 * when the planes leave no room for a bad value (the usual case), else
	 * decoded into scratch to find the bad one. */
	if ((want & CT_COL_SOCKFD) || !head_fits(&c->h[CT_COLP_SOCKFD], UINT32_MAX))
		if ((k = unpack32(want & CT_COL_SOCKFD ? (uint32_t *)o->sockfd : o->tmp32,
				  &c->h[CT_COLP_SOCKFD], n, UINT32_MAX, 1)) < n)
			FAIL_AT(k, "bad sockfd");
	if ((want & CT_COL_RET) || !head_fits(&c->h[CT_COLP_RET], UINT32_MAX))
		if ((k = unpack32(want & CT_COL_RET ? (uint32_t *)o->ret : o->tmp32,
				  &c->h[CT_COLP_RET], n, UINT32_MAX, 1)) < n)
			FAIL_AT(k, "bad return value");
	if ((want & CT_COL_LATENCY) || !head_fits(&c->h[CT_COLP_LATENCY], UINT64_MAX))
		if ((k = ct_col_unpack64(want & CT_COL_LATENCY ? o->latency : o->tmp64, o->tmp32,
					 &c->h[CT_COLP_LATENCY], n, UINT64_MAX)) < n)
			FAIL_AT(k, "bad latency");
	if ((want & CT_COL_LOCAL) || !head_fits(&c->h[CT_COLP_SPORT], UINT16_MAX))
		if ((k = unpack16(want & CT_COL_LOCAL ? o->sport : (uint16_t *)o->tmp32,
				  &c->h[CT_COLP_SPORT], n)) < n)
			FAIL_AT(k, "bad sport");
	if (want & CT_COL_LOCAL) {
		const uint8_t *s = c->saddr;
		memset(o->saddr, 0, (size_t)n * sizeof(*o->saddr));
		for (uint32_t i = 0; (any & CT_EV_SADDR) && i < ok; i++) {
			if (!(o->flags[i] & CT_EV_SADDR))
				continue;
			size_t a = addr_len(t->dests[o->dest[i]].family);
			memcpy(o->saddr[i], s, a);
			s += a;
		}
	}
#undef FAIL_AT
	if (ok < n) {
		*why = bad;
		return ok / CT_COL_BLOCK * CT_COL_BLOCK;
	}
	*why = NULL;
	return n;
}
