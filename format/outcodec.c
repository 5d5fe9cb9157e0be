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

/* Where each column goes in a decoded record. */
static const struct {
	uint16_t at;	/* offsetof in struct ct_oc_rec */
	uint8_t wide;	/* a 64-bit field, else 32 */
	uint8_t zigzag; /* stored zigzag-coded (signed) */
} oc_field[OC_NCOLS] = {
    [OC_SEQ] = {offsetof(struct ct_oc_rec, seq), 0, 0},
    [OC_INDEX] = {offsetof(struct ct_oc_rec, index), 0, 0},
    [OC_TS] = {offsetof(struct ct_oc_rec, ts_ns), 1, 1},
    [OC_TID] = {offsetof(struct ct_oc_rec, tid), 0, 0},
    [OC_FLAGS] = {offsetof(struct ct_oc_rec, flags), 0, 0},
    [OC_RESULT] = {offsetof(struct ct_oc_rec, result), 0, 1},
    [OC_RESULT_NS] = {offsetof(struct ct_oc_rec, result_ns), 1, 0},
    [OC_CLOSED_NS] = {offsetof(struct ct_oc_rec, closed_ns), 1, 0},
    [OC_TX] = {offsetof(struct ct_oc_rec, tx_bytes), 1, 0},
    [OC_RX] = {offsetof(struct ct_oc_rec, rx_bytes), 1, 0},
};

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
	for (int k = 0; k < OC_NCOLS; k++) {
		if (ct_col_unpack64(v, tmp, &h[k], (uint32_t)n, max[k]) < n) {
			why = "value out of range";
			break;
		}
		if (oc_field[k].zigzag)
			for (uint64_t i = 0; i < n; i++)
				v[i] = (uint64_t)unzigzag(v[i]);
		uint8_t *f = (uint8_t *)r + oc_field[k].at;
		for (uint64_t i = 0; i < n; i++, f += sizeof(*r)) {
			uint32_t x32 = (uint32_t)v[i];
			if (oc_field[k].wide)
				memcpy(f, &v[i], sizeof(v[i]));
			else
				memcpy(f, &x32, sizeof(x32));
		}
	}
	/* Times were stored as steps from the record before. */
	uint64_t prev = first_ts;
	for (uint64_t i = 0; !why && i < n; i++)
		prev = r[i].ts_ns += prev;
	/* Sorted by (seq, index), one record an attempt. */
	for (uint64_t i = 1; i < n && !why; i++)
		if (r[i].seq < r[i - 1].seq ||
		    (r[i].seq == r[i - 1].seq && r[i].index <= r[i - 1].index))
			why = "records out of order";
	free(v);
	free(tmp);
	return why;
}
