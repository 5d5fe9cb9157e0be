/* SPDX-License-Identifier: MIT */
/*
 * outcodec.c: outcome and close chunks (format 2.1, kinds 4 and 5): how
 * attempts ended, each record naming its attempt by event chunk and
 * position there, stored as columns like an event chunk's. Layout:
 * format/FORMAT.md, "Outcome and close chunks".
 */
#include <stdlib.h>

#include "ct_internal.h"

#define CT_OC_MAX (1u << 20) /* records in one outcome chunk */

enum {
	OC_SEQ,
	OC_INDEX,
	OC_TS,
	OC_TID,
	OC_FLAGS,
	OC_RESULT,
	OC_RESULT_NS,
	OC_CLOSED_NS,
	OC_TX,
	OC_RX,
	OC_NCOLS,
};

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
	uint64_t *v = malloc(n * sizeof(*v));
	uint32_t *tmp = malloc(n * sizeof(*tmp));
	if (!v || !tmp) {
		free(v);
		free(tmp);
		return "out of memory";
	}
	static const uint64_t max[OC_NCOLS] = {UINT32_MAX, CT_CHUNK_EVENTS_MAX - 1,
					       UINT64_MAX, UINT32_MAX,
					       0x0f,	   UINT32_MAX,
					       UINT64_MAX, UINT64_MAX,
					       UINT64_MAX, UINT64_MAX};
	struct ct_oc_rec *r = *out;
	why = NULL;
	for (int k = 0; k < OC_NCOLS && !why; k++) {
		if (ct_col_unpack64(v, tmp, &h[k], (uint32_t)n, max[k]) < n) {
			why = "value out of range";
			break;
		}
		for (uint64_t i = 0; i < n; i++) {
			switch (k) {
			case OC_SEQ:
				r[i].seq = (uint32_t)v[i];
				break;
			case OC_INDEX:
				r[i].index = (uint32_t)v[i];
				break;
			case OC_TS:
				r[i].ts_ns =
				    (i ? r[i - 1].ts_ns : first_ts) + (uint64_t)unzigzag(v[i]);
				break;
			case OC_TID:
				r[i].tid = (uint32_t)v[i];
				break;
			case OC_FLAGS:
				r[i].flags = (uint32_t)v[i];
				break;
			case OC_RESULT:
				r[i].result = (int32_t)unzigzag(v[i]);
				break;
			case OC_RESULT_NS:
				r[i].result_ns = v[i];
				break;
			case OC_CLOSED_NS:
				r[i].closed_ns = v[i];
				break;
			case OC_TX:
				r[i].tx_bytes = v[i];
				break;
			case OC_RX:
				r[i].rx_bytes = v[i];
				break;
			}
		}
	}
	/* Sorted by (seq, index), one record an attempt. */
	for (uint64_t i = 1; i < n && !why; i++)
		if (r[i].seq < r[i - 1].seq ||
		    (r[i].seq == r[i - 1].seq && r[i].index <= r[i - 1].index))
			why = "records out of order";
	free(v);
	free(tmp);
	return why;
}
