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
 * load time where the CPU has it. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VEC_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define VEC_CLONES
#endif

/* ---------------------------------------------------------------- encode */

static int same_proc(const struct ct_event *a, const struct ct_event *b)
{
	return a->pid == b->pid && a->ppid == b->ppid && a->uid == b->uid && a->gid == b->gid &&
	       a->cgroup_id == b->cgroup_id && !memcmp(a->comm, b->comm, CT_COMM_LEN);
}

static int same_dest(const struct ct_event *a, const struct ct_event *b)
{
	return a->family == b->family && a->type == b->type && a->proto == b->proto &&
	       a->dport == b->dport && a->scope_id == b->scope_id && a->path_len == b->path_len &&
	       !memcmp(a->daddr, b->daddr, 16) && !memcmp(a->path, b->path, a->path_len);
}

static uint8_t *put_proc(uint8_t *p, const struct ct_pctx *c)
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

/* u8 width, varint base = the smallest value, width planes of n bytes. */
static int put_column(struct ct_bytes *out, const uint64_t *v, uint32_t n)
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

int ct_cols_encode(struct ct_evtab *t, struct ct_sumbuild *sb, const struct ct_event *evs,
		   const uint32_t *order, uint32_t n, struct ct_bytes *scratch,
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

	ct_evtab_reset(t);
	const struct ct_event *prev = NULL;
	uint64_t prev_ts = evs[order[0]].ts_ns;
	long pi = 0, di = 0;
	size_t saddr_bytes = 0;
	for (uint32_t k = 0; k < n; k++) {
		const struct ct_event *ev = &evs[order[k]];
		int added;
		/* Neighbours often share a process or a destination: no lookup. */
		if (!prev || !same_proc(prev, ev)) {
			struct ct_pctx c;
			pctx_of(&c, ev);
			if ((pi = ct_evtab_intern_proc(t, &c, &added)) < 0)
				return CT_E_NOMEM;
			/* A table entry's keys go into the summary once. */
			if (added && (err = ct_sum_add_event(sb, ev, CT_F_PROC)))
				return err;
		}
		if (!prev || !same_dest(prev, ev)) {
			struct ct_dest d;
			dest_of(&d, ev);
			if ((di = ct_evtab_intern_dest(t, &d, ev->path, &added)) < 0)
				return CT_E_NOMEM;
			if (added && (err = ct_sum_add_event(sb, ev, CT_F_DEST)))
				return err;
		}
		col[CT_COL_TS][k] = ev->ts_ns - prev_ts;
		col[CT_COL_PROC][k] = (uint64_t)pi;
		col[CT_COL_DEST][k] = (uint64_t)di;
		col[CT_COL_TID][k] = zigzag((int64_t)ev->tid - (int64_t)ev->pid);
		col[CT_COL_SOCKFD][k] = zigzag(ev->sockfd);
		col[CT_COL_RET][k] = zigzag(ev->ret);
		col[CT_COL_LATENCY][k] = ev->latency_ns;
		col[CT_COL_FLAGS][k] = ev->flags;
		col[CT_COL_SPORT][k] = ev->sport;
		if (ev->flags & CT_EV_SADDR)
			saddr_bytes += addr_len(ev->family);
		prev_ts = ev->ts_ns;
		prev = ev;
	}

	/* Tables: the biggest entry is 5 varints + 17 bytes of comm, or 3
	 * varints + 16 + 2 + 109 + a varint. */
	if ((err = ct_bytes_reserve(out, 30 + (size_t)t->nproc * 70 + (size_t)t->ndest * 170)))
		return err;
	uint8_t *p = put_varint(out->p + out->len, n);
	p = put_varint(p, t->nproc);
	for (uint32_t i = 0; i < t->nproc; i++)
		p = put_proc(p, &t->procs[i]);
	p = put_varint(p, t->ndest);
	for (uint32_t i = 0; i < t->ndest; i++)
		p = put_dest(p, &t->dests[i], t->paths + t->dests[i].path_off);
	out->len = (size_t)(p - out->p);
	for (int k = 0; k < CT_NCOLS; k++)
		if ((err = put_column(out, col[k], n)))
			return err;
	if ((err = ct_bytes_reserve(out, saddr_bytes)))
		return err;
	for (uint32_t k = 0; k < n; k++) {
		const struct ct_event *ev = &evs[order[k]];
		if (ev->flags & CT_EV_SADDR) {
			size_t a = addr_len(ev->family);
			memcpy(out->p + out->len, ev->saddr, a);
			out->len += a;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- decode */

void ct_cols_free(struct ct_cols *c)
{
	free(c->flags);
	memset(c, 0, sizeof(*c));
}

/* wmax: the widest column the field can take (4 for 32-bit fields...):
 * value - base of a wider one cannot fit. */
static const char *col_head(const uint8_t **pp, const uint8_t *end, uint32_t n, unsigned wmax,
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
	if ((size_t)(end - p) / n < h->w)
		return "truncated column";
	h->planes = p;
	*pp = p + (size_t)h->w * n;
	return NULL;
}

/*
 * Byte planes to values, one loop per column width so each is a single
 * pass the compiler vectorises: m values from p (planes stride bytes
 * apart), d = plane bytes, bad when d > lim, out = base + d (zigzag-decoded
 * when zz).
 */
#define PLANE(k, T) ((T)p[(size_t)(k)*stride + i] << (8 * (k)))

static inline __attribute__((always_inline)) uint32_t unpack32_w(uint32_t *out, const uint8_t *p,
								 size_t stride, uint32_t m,
								 unsigned w, uint32_t base,
								 uint32_t lim, int zz)
{
	uint32_t bad = 0;

	for (uint32_t i = 0; i < m; i++) {
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

/* Values start .. start + m - 1 of a 32-bit column, each at most max. */
static inline __attribute__((always_inline)) int unpack32(uint32_t *out, const struct ct_colhead *h,
							  uint32_t n, uint32_t start, uint32_t m,
							  uint32_t max, int zz)
{
	if (h->base > max)
		return 1;
	uint32_t base = (uint32_t)h->base, lim = max - base;
	const uint8_t *p = h->planes + start;

	switch (h->w) {
	case 0:
		return unpack32_w(out, p, n, m, 0, base, lim, zz) != 0;
	case 1:
		return unpack32_w(out, p, n, m, 1, base, lim, zz) != 0;
	case 2:
		return unpack32_w(out, p, n, m, 2, base, lim, zz) != 0;
	case 3:
		return unpack32_w(out, p, n, m, 3, base, lim, zz) != 0;
	default:
		return unpack32_w(out, p, n, m, 4, base, lim, zz) != 0;
	}
}

static inline __attribute__((always_inline)) uint32_t unpack16_w(uint16_t *out, const uint8_t *p,
								 size_t stride, uint32_t m,
								 unsigned w, uint16_t base,
								 uint16_t lim)
{
	uint32_t bad = 0;

	for (uint32_t i = 0; i < m; i++) {
		uint16_t d = w ? PLANE(0, uint16_t) : 0;
		if (w > 1)
			d |= PLANE(1, uint16_t);
		bad |= d > lim;
		out[i] = (uint16_t)(d + base);
	}
	return bad;
}

static inline __attribute__((always_inline)) int unpack16(uint16_t *out, const struct ct_colhead *h,
							  uint32_t n, uint32_t start, uint32_t m)
{
	if (h->base > UINT16_MAX)
		return 1;
	uint16_t base = (uint16_t)h->base, lim = (uint16_t)(UINT16_MAX - base);
	const uint8_t *p = h->planes + start;

	switch (h->w) {
	case 0:
		return unpack16_w(out, p, n, m, 0, base, lim) != 0;
	case 1:
		return unpack16_w(out, p, n, m, 1, base, lim) != 0;
	default:
		return unpack16_w(out, p, n, m, 2, base, lim) != 0;
	}
}

static inline __attribute__((always_inline)) uint64_t
unpack64_w(uint64_t *out, const uint8_t *p, size_t stride, uint32_t m, unsigned w, uint64_t base)
{
	uint64_t bad = 0;

	for (uint32_t i = 0; i < m; i++) {
		uint64_t d = 0;
		for (unsigned k = 0; k < w; k++)
			d |= PLANE(k, uint64_t);
		uint64_t v = base + d;
		bad |= v < base;
		out[i] = v;
	}
	return bad;
}

/* Values of a 64-bit column; base + planes must not wrap. Up to 4 planes
 * go through 32-bit lanes (tmp32), twice as many per vector. */
static inline __attribute__((always_inline)) int unpack64(uint64_t *out, uint32_t *tmp32,
							  const struct ct_colhead *h, uint32_t n,
							  uint32_t start, uint32_t m)
{
	const uint8_t *p = h->planes + start;
	uint64_t b = h->base;

	if (h->w <= 4) {
		struct ct_colhead d = *h;
		d.base = 0;
		unpack32(tmp32, &d, n, start, m, UINT32_MAX, 0);
		uint64_t bad = 0;
		if (b > UINT64_MAX - UINT32_MAX)
			for (uint32_t i = 0; i < m; i++)
				bad |= b + tmp32[i] < b;
		for (uint32_t i = 0; i < m; i++)
			out[i] = b + tmp32[i];
		return bad != 0;
	}
	switch (h->w) {
	case 5:
		return unpack64_w(out, p, n, m, 5, b) != 0;
	case 6:
		return unpack64_w(out, p, n, m, 6, b) != 0;
	case 7:
		return unpack64_w(out, p, n, m, 7, b) != 0;
	default:
		return unpack64_w(out, p, n, m, 8, b) != 0;
	}
}
#undef PLANE

static const uint8_t *get_proc(const uint8_t *p, const uint8_t *end, struct ct_pctx *c)
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

static const uint8_t *get_dest(const uint8_t *p, const uint8_t *end, struct ct_dest *d,
			       const uint8_t **path)
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
	*path = p;
	p += n;
	uint64_t scope;
	if (!(p = get_varint(p, end, &scope)) || scope > UINT32_MAX)
		return NULL;
	d->scope_id = (uint32_t)scope;
	return p;
}

VEC_CLONES const char *ct_cols_open(struct ct_cols *c, struct ct_evtab *t, const uint8_t *p,
				    size_t len, uint32_t records, uint64_t first_ts)
{
	const uint8_t *end = p + len;
	uint64_t v;
	const char *why;

	c->n = c->next = c->bn = 0;
	ct_evtab_reset(t);
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
	if (t->cap_proc < np) {
		struct ct_pctx *e = realloc(t->procs, np * sizeof(*e));
		if (!e)
			return "out of memory";
		t->procs = e;
		t->cap_proc = (uint32_t)np;
	}
	/* Straight into the table: an entry is at least 6 bytes, checked. */
	for (uint64_t i = 0; i < np; i++)
		if (!(p = get_proc(p, end, &t->procs[i])))
			return "bad process table";
	t->nproc = (uint32_t)np;
	if (!(p = get_varint(p, end, &nd)) || nd == 0 || nd > n || nd > (size_t)(end - p) / 11)
		return "bad destination table";
	if (t->cap_dest < nd) {
		struct ct_dest *e = realloc(t->dests, nd * sizeof(*e));
		if (!e)
			return "out of memory";
		t->dests = e;
		t->cap_dest = (uint32_t)nd;
	}
	for (uint64_t i = 0; i < nd; i++) {
		struct ct_dest *e = &t->dests[i];
		const uint8_t *path;
		if (!(p = get_dest(p, end, e, &path)))
			return "bad destination table";
		/* Paths zero-padded to 16 bytes, as ct_evtab_push_dest keeps them. */
		size_t padded = ((size_t)e->path_len + 15) & ~(size_t)15;
		if (t->cap_paths - t->npaths < padded) {
			size_t cap = t->cap_paths ? t->cap_paths * 2 : 4096;
			char *q = realloc(t->paths, cap);
			if (!q)
				return "out of memory";
			t->paths = q;
			t->cap_paths = cap;
		}
		e->path_off = (uint32_t)t->npaths;
		if (padded) {
			memset(t->paths + t->npaths + padded - 16, 0, 16);
			memcpy(t->paths + t->npaths, path, e->path_len);
		}
		t->npaths += padded;
	}
	t->ndest = (uint32_t)nd;
	for (int k = 0; k < CT_NCOLS; k++) {
		static const unsigned wmax[CT_NCOLS] = {8, 4, 4, 8, 4, 4, 8, 2, 2};
		if ((why = col_head(&p, end, n, wmax[k], &c->h[k])))
			return why;
	}
	c->pid_min = UINT32_MAX;
	c->pid_max = 0;
	for (uint32_t i = 0; i < t->nproc; i++) {
		int64_t pid = t->procs[i].pid;
		c->pid_min = pid < c->pid_min ? pid : c->pid_min;
		c->pid_max = pid > c->pid_max ? pid : c->pid_max;
	}

	/* flags whole (the saddr bytes depend on them), the rest block by
	 * block as events are read. */
	if (c->flags_cap < n) {
		uint16_t *f = realloc(c->flags, (size_t)n * sizeof(*f));
		if (!f)
			return "out of memory";
		c->flags = f;
		c->flags_cap = n;
	}
	if (unpack16(c->flags, &c->h[CT_COL_FLAGS], n, 0, n))
		return "bad flags";
	/* saddr bytes: exactly those of the events with CT_EV_SADDR. */
	size_t need = 0;
	uint16_t any = 0;
	for (uint32_t i = 0; i < n; i++) /* vectorised: most chunks have none */
		any |= c->flags[i];
	for (uint32_t i = 0; (any & CT_EV_SADDR) && i < n; i++) {
		if (!(c->flags[i] & CT_EV_SADDR))
			continue;
		uint32_t di;
		if (unpack32(&di, &c->h[CT_COL_DEST], n, i, 1, (uint32_t)nd - 1, 0))
			return "destination index out of range";
		need += addr_len(t->dests[di].family);
	}
	if (need != (size_t)(end - p))
		return "bad saddr bytes";
	c->saddr = p;
	c->n = n;
	c->ts = first_ts;
	return NULL;
}

/*
 * Times of events s .. s + m - 1 (m <= CT_COL_BLOCK) into out, and c->ts
 * to the last. ts is stored as deltas from the previous event, the first
 * from first_ts. When the deltas fit 32 bits and m of the largest cannot
 * carry the sum past 2^64, the running sum goes straight from the planes
 * without a check per event.
 */
static inline __attribute__((always_inline)) const char *ts_run(struct ct_cols *c, uint32_t s,
								uint32_t m, uint64_t *out)
{
	const struct ct_colhead *th = &c->h[CT_COL_TS];
	uint32_t n = c->n;
	uint64_t ts = c->ts, step, total, bad = 0;
	if (th->w <= 4 && !__builtin_add_overflow(th->base, (uint64_t)UINT32_MAX, &step) &&
	    !__builtin_mul_overflow(step, (uint64_t)m, &total) &&
	    !__builtin_add_overflow(ts, total, &total)) {
		struct ct_colhead d = *th;
		d.base = 0;
		unpack32(c->b_tmp32, &d, n, s, m, UINT32_MAX, 0);
		for (uint32_t i = 0; i < m; i++) {
			ts += th->base + c->b_tmp32[i];
			out[i] = ts;
		}
	} else {
		if (unpack64(out, c->b_tmp32, th, n, s, m))
			return "bad timestamps";
		for (uint32_t i = 0; i < m; i++) {
			uint64_t next = ts + out[i];
			bad |= (uint64_t)(next < ts);
			out[i] = ts = next;
		}
		if (bad)
			return "bad timestamps";
	}
	c->ts = ts;
	return NULL;
}

/* tid - pid of events s .. s + m - 1 into c->b_tdelta, kept mod 2^32 once
 * tid = pid + it is known to be in 0 .. UINT32_MAX: checked against the
 * table's smallest and largest pid, and event by event (pidx: the events'
 * process indexes) only when that is not enough. */
static inline __attribute__((always_inline)) const char *
tid_run(struct ct_cols *c, const struct ct_evtab *t, uint32_t s, uint32_t m, const uint32_t *pidx)
{
	if (unpack64(c->b_tmp, c->b_tmp32, &c->h[CT_COL_TID], c->n, s, m))
		return "bad tid";
	int64_t omin = INT64_MAX, omax = INT64_MIN;
	for (uint32_t i = 0; i < m; i++) {
		int64_t off = unzigzag(c->b_tmp[i]);
		omin = off < omin ? off : omin;
		omax = off > omax ? off : omax;
		c->b_tdelta[i] = (uint32_t)off;
	}
	if (omin < -c->pid_min || omax > (int64_t)UINT32_MAX - c->pid_max) {
		for (uint32_t i = 0; i < m; i++) {
			int64_t off = unzigzag(c->b_tmp[i]);
			int64_t pid = t->procs[pidx[i]].pid;
			if (off < -pid || off > (int64_t)UINT32_MAX - pid)
				return "bad tid";
		}
	}
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

VEC_CLONES const char *ct_cols_block(struct ct_cols *c, const struct ct_evtab *t)
{
	uint32_t n = c->n, s = c->next, m = n - s < CT_COL_BLOCK ? n - s : CT_COL_BLOCK;
	const char *why;

	if ((why = ts_run(c, s, m, c->b_ts)))
		return why;
	if (unpack32(c->b_pidx, &c->h[CT_COL_PROC], n, s, m, t->nproc - 1, 0))
		return "process index out of range";
	if (unpack32(c->b_didx, &c->h[CT_COL_DEST], n, s, m, t->ndest - 1, 0))
		return "destination index out of range";
	if ((why = tid_run(c, t, s, m, c->b_pidx)))
		return why;
	if (unpack32((uint32_t *)c->b_sockfd, &c->h[CT_COL_SOCKFD], n, s, m, UINT32_MAX, 1))
		return "bad sockfd";
	if (unpack32((uint32_t *)c->b_ret, &c->h[CT_COL_RET], n, s, m, UINT32_MAX, 1))
		return "bad return value";
	if (unpack64(c->b_latency, c->b_tmp32, &c->h[CT_COL_LATENCY], n, s, m))
		return "bad latency";
	if (unpack16(c->b_sport, &c->h[CT_COL_SPORT], n, s, m))
		return "bad sport";
	c->next = s + m;
	c->bn = m;
	return NULL;
}

/* ct_cols_batch's checks and decoding; the wrapper puts the cursor back
 * when one fails. */
static inline __attribute__((always_inline)) const char *cols_batch(struct ct_cols *c,
								    const struct ct_evtab *t,
								    uint64_t *ts, uint32_t *pidx,
								    uint32_t *didx, int32_t *ret)
{
	uint32_t n = c->n;
	const char *why;

	for (uint32_t s = 0; s < n; s += CT_COL_BLOCK)
		if ((why = ts_run(c, s, n - s < CT_COL_BLOCK ? n - s : CT_COL_BLOCK, ts + s)))
			return why;
	if (unpack32(pidx, &c->h[CT_COL_PROC], n, 0, n, t->nproc - 1, 0))
		return "process index out of range";
	if (unpack32(didx, &c->h[CT_COL_DEST], n, 0, n, t->ndest - 1, 0))
		return "destination index out of range";
	if (unpack32((uint32_t *)ret, &c->h[CT_COL_RET], n, 0, n, UINT32_MAX, 1))
		return "bad return value";
	/* The columns left out are checked as ct_cols_block checks them:
	 * from their heads when the planes leave no room for a bad value (the
	 * usual case), tid event by event otherwise, and the rest by the
	 * caller's going block by block. */
	if (!head_fits(&c->h[CT_COL_SOCKFD], UINT32_MAX) ||
	    !head_fits(&c->h[CT_COL_LATENCY], UINT64_MAX) ||
	    !head_fits(&c->h[CT_COL_SPORT], UINT16_MAX))
		return "check block by block";
	const struct ct_colhead *th = &c->h[CT_COL_TID];
	uint64_t hi = th->base + head_span(th);
	/* unzigzag(v) for v <= hi lies in -(hi + 1) / 2 .. hi / 2 */
	if (!head_fits(th, UINT64_MAX) || hi >= (1ULL << 40) ||
	    (int64_t)(hi + 1) / 2 > c->pid_min ||
	    (int64_t)(hi / 2) > (int64_t)UINT32_MAX - c->pid_max)
		for (uint32_t s = 0; s < n; s += CT_COL_BLOCK)
			if ((why = tid_run(c, t, s, n - s < CT_COL_BLOCK ? n - s : CT_COL_BLOCK,
					   pidx + s)))
				return why;
	return NULL;
}

VEC_CLONES const char *ct_cols_batch(struct ct_cols *c, const struct ct_evtab *t, uint64_t *ts,
				     uint32_t *pidx, uint32_t *didx, int32_t *ret)
{
	uint64_t ts0 = c->ts;
	const char *why = cols_batch(c, t, ts, pidx, didx, ret);

	if (why) {
		c->ts = ts0; /* as opened: block by block from the start */
		return why;
	}
	c->next = c->n;
	c->bn = 0;
	return NULL;
}
