/* SPDX-License-Identifier: MIT */
/*
 * outcodec.c: outcome and close chunks (format 2.1, kinds 4 and 5): how
 * attempts ended, each record naming its attempt by event chunk and
 * position there, stored as columns like an event chunk's. Layout:
 * format/FORMAT.md, "Outcome and close chunks".
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ct_internal.h"

#define CT_OC_MAX (1u << 20) /* records in one outcome chunk */
#define OC_BLOCK 512u	     /* records decoded together */

/* The columns in their stored order, each with the record field it
 * decodes into and that field's type: the one list of them. */
#define OC_COLUMNS(X)                                                                              \
	X(OC_SEQ, seq, uint32_t)                                                                   \
	X(OC_INDEX, index, uint32_t)                                                               \
	X(OC_TS, ts_ns, uint64_t)                                                                  \
	X(OC_TID, tid, uint32_t)                                                                   \
	X(OC_FLAGS, flags, uint32_t)                                                               \
	X(OC_RESULT, result, int32_t)                                                              \
	X(OC_RESULT_NS, result_ns, uint64_t)                                                       \
	X(OC_CLOSED_NS, closed_ns, uint64_t)                                                       \
	X(OC_TX, tx_bytes, uint64_t)                                                               \
	X(OC_RX, rx_bytes, uint64_t)

#define OC_ENUM(col, field, T) col,
enum { OC_COLUMNS(OC_ENUM) OC_NCOLS };
#undef OC_ENUM

int ct_oc_encode(const struct ct_oc_rec *r, uint32_t n, uint64_t first_ts, struct ct_bytes *scratch,
		 struct ct_bytes *out)
{
	int err;

	if (!n || n > CT_OC_MAX)
		return CT_E_INVAL;
	scratch->len = 0;
	if ((err = ct_bytes_reserve(scratch, (size_t)n * sizeof(uint64_t))) ||
	    (err = ct_bytes_reserve(out, 10)))
		return err;
	out->len = (size_t)(put_varint(out->p + out->len, n) - out->p);
	uint64_t *v = (uint64_t *)(void *)scratch->p;
	for (int k = 0; k < OC_NCOLS; k++) {
		for (uint32_t i = 0; i < n; i++) {
			const struct ct_oc_rec *x = &r[i];
			/* times as steps from the previous record's, the first
			 * from the chunk's first_ts: small within an event chunk */
			uint64_t prev = i ? r[i - 1].ts_ns : first_ts;
			uint64_t vals[OC_NCOLS] = {
			    x->seq,	  x->index,	zigzag((int64_t)(x->ts_ns - prev)),
			    x->tid,	  x->flags,	zigzag(x->result),
			    x->result_ns, x->closed_ns, x->tx_bytes,
			    x->rx_bytes};
			v[i] = vals[k];
		}
		if ((err = ct_put_column(out, v, n)))
			return err;
	}
	return 0;
}

/* Column k's values into the records: one typed pass a column (a loop
 * through offsets and widths was the slow one). */
static void oc_store(struct ct_oc_rec *r, uint32_t n, int k, const uint64_t *v)
{
	switch (k) {
#define OC_CASE(col, field, T)                                                                     \
	case col:                                                                                  \
		for (uint32_t i = 0; i < n; i++)                                                   \
			r[i].field = (T)v[i];                                                      \
		break;
		OC_COLUMNS(OC_CASE)
#undef OC_CASE
	}
}

const char *ct_oc_decode(const uint8_t *p, size_t len, uint32_t records, uint64_t first_ts,
			 struct ct_oc_rec **out, uint32_t *cap)
{
	static const unsigned wmax[OC_NCOLS] = {4, 4, 8, 4, 1, 4, 8, 8, 8, 8};
	const uint8_t *end = p + len;
	struct ct_colhead h[OC_NCOLS];
	uint64_t n;
	const char *why;

	if (!(p = get_varint(p, end, &n)))
		return "truncated record count";
	if (n != records || n == 0 || n > CT_OC_MAX)
		return "bad record count";
	for (int k = 0; k < OC_NCOLS; k++)
		if ((why = ct_col_head(&p, end, (uint32_t)n, wmax[k], &h[k])))
			return why;
	if (p != end)
		return "bytes after the columns";
	if (*cap < n) {
		struct ct_oc_rec *r = realloc(*out, n * sizeof(*r));
		if (!r)
			return "out of memory";
		*out = r;
		*cap = (uint32_t)n;
	}
	static const uint64_t max[OC_NCOLS] = {UINT32_MAX, CT_CHUNK_EVENTS_MAX - 1,
					       UINT64_MAX, UINT32_MAX,
					       0x0f,	   UINT32_MAX,
					       UINT64_MAX, UINT64_MAX,
					       UINT64_MAX, UINT64_MAX};
	/* Stored zigzag-coded: the time steps and the result. */
	static const uint8_t zz[OC_NCOLS] = {[OC_TS] = 1, [OC_RESULT] = 1};
	/* Block by block, every column of a block while its records are in
	 * the cache: a pass a column over the whole chunk wrote each record's
	 * cache line ten times (6% of a report's CPU). */
	uint64_t v[OC_BLOCK];
	uint32_t tmp[OC_BLOCK];
	uint64_t prev = first_ts;
	why = NULL;
	for (uint64_t i0 = 0; i0 < n && !why; i0 += OC_BLOCK) {
		uint32_t cnt = (uint32_t)(n - i0 < OC_BLOCK ? n - i0 : OC_BLOCK);
		struct ct_oc_rec *r = *out + i0;
		for (int k = 0; k < OC_NCOLS; k++) {
			struct ct_colhead part = h[k];
			part.planes += i0;
			if (ct_col_unpack64(v, tmp, &part, cnt, max[k]) < cnt) {
				why = "value out of range";
				break;
			}
			if (zz[k])
				for (uint32_t i = 0; i < cnt; i++)
					v[i] = (uint64_t)unzigzag(v[i]);
			oc_store(r, cnt, k, v);
		}
		/* Times were stored as steps from the record before. Sorted by
		 * (seq, index), one record an attempt (the first of a block
		 * against the last of the one before). */
		struct ct_oc_rec *x = *out;
		for (uint64_t j = i0; j < i0 + cnt && !why; j++) {
			prev = x[j].ts_ns += prev;
			if (j && (x[j].seq < x[j - 1].seq ||
				  (x[j].seq == x[j - 1].seq && x[j].index <= x[j - 1].index)))
				why = "records out of order";
		}
	}
	return why;
}
