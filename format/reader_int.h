/* SPDX-License-Identifier: MIT */
/*
 * reader_int.h: the reader's state, shared by its parts: reader.c (open,
 * header, records, next), chunkio.c (reads, chunk headers, resync), index.c
 * (trailer, index, scan) and batch.c (event chunks to batches, outcomes).
 */
#ifndef CONNTRAIL_READER_INT_H
#define CONNTRAIL_READER_INT_H

#include "ct_internal.h"

/* A parsed chunk header. */
struct chdr {
	uint8_t kind, codec;
	uint16_t hsize;
	uint32_t seq, records;
	uint64_t first_ts, last_ts;
	uint32_t raw, comp, sum_len, crc;
	uint32_t min_seq; /* outcome chunks */
};

/* An event chunk decoded on its own: its tables and columns. */
struct ct_evdec {
	struct ct_tables tab;
	struct ct_cols cols;
	struct ct_colbuf cb;
};

/* One decoded outcome chunk's records, consumed in (seq, index) order. */
struct oc_run {
	struct ct_oc_rec *rec;
	uint32_t n, pos;
};

/* Most outcome records held for joining at once: about 224 MiB. */
#define CT_OC_HOLD_MAX (4u << 20)

struct ct_reader {
	struct ct_reader_io io;
	struct ct_reader_opts opts;
	char *name;
	int seekable;
	uint64_t size;

	struct ct_header hdr;
	char *hstr[7];
	int columnar; /* 2.x event chunks */

	/* Read window [buf_off, buf_off + buf_len) over the file. */
	uint8_t *buf;
	size_t buf_cap, buf_len;
	uint64_t buf_off;
	int eof;

	/* Chunk list: from the index, a scan at open, or as streamed. */
	struct ct_chunk_info *chunks;
	uint32_t nchunks, cap_chunks;
	uint8_t *index_sums; /* one block when from the index */
	int own_sums;	     /* else each summary was malloc'd */
	/* The index's summaries, when its head has section checksums: read
	 * only once something asks for them (a time window needs none). */
	int sums_pending;
	uint64_t sums_off;
	size_t sums_len;
	uint32_t sums_crc;
	int list_mode; /* 1: walk chunks[]; 0: stream from pos */
	uint32_t cur;
	uint64_t pos;
	int resyncing;
	int ended;
	uint32_t last_seq;

	int has_totals;
	uint64_t tot_events, tot_lost, tot_procs;

	struct ct_query q;
	uint32_t want; /* CT_COL_* */
	int started;

	/* The chunk being handed out. */
	uint8_t *raw;
	size_t raw_cap;
	const uint8_t *rp, *rend; /* meta records left */
	uint32_t cseq;
	uint64_t coff;
	void *dctx;

	/* Event chunks as batches. */
	struct ct_evdec dec;
	struct ct_rows *rows;
	struct ct_batch batch;
	uint64_t chunk_loads; /* event chunks decoded: the batches' tables_id */
	int batch_ready;      /* batch not handed out yet */

	/* Outcomes: runs in a heap by their next record's (seq, index). */
	struct oc_run *runs;
	uint32_t nruns, cap_runs;
	uint64_t oc_held;
	uint32_t *oc_list; /* listed outcome chunks by min_seq */
	uint32_t noc, oc_next;
	int oc_listed;
	uint32_t done_seq; /* stream: event chunks up to here handed out */
	int have_done;
	struct ct_oc_rec *late; /* stream: outcomes too late to join */
	uint32_t nlate, late_pos, cap_late;

	/* ct_reader_next_event: the batch being walked. */
	const struct ct_batch *ev_batch;
	uint32_t ev_i;

	struct ct_record rec;
	char *strs;
	size_t strs_cap;
	struct ct_name_addr name_addrs[CT_NAME_ADDRS_MAX];
	char name_buf[CT_NAME_MAX + 1];

	struct ct_reader_stats st;

	/* Decoding ahead on worker threads (prefetch.c), NULL without. */
	struct ct_prefetch *pf;
	/* An outcome chunk's records decoded ahead, for ct_outcome_chunk. */
	struct ct_oc_rec *pre_oc;
	const char *pre_oc_why;
	int pre_oc_ready;
	/* An event chunk decoded ahead into r->dec, for ct_event_batch. */
	int pre_ev_ready, pre_ev_tid;
	uint32_t pre_ev_n;
	const char *pre_ev_why;
};

/* reader.c */
void ct_damage_report(struct ct_reader *r, uint32_t seq, uint64_t off, const char *what);
void ct_note(struct ct_reader *r, const char *what);

/* chunkio.c */
enum { HDR_OK = 1, HDR_END = 0, HDR_BAD = -100, HDR_SHORT = -101 };
ssize_t ct_pread_full(struct ct_reader *r, uint8_t *buf, size_t len, uint64_t off);
ssize_t ct_fetch(struct ct_reader *r, uint64_t off, size_t len, const uint8_t **p);
int ct_parse_chdr(const uint8_t *p, size_t avail, struct chdr *h);
uint64_t ct_chunk_total(const struct chdr *h);
int ct_next_header(struct ct_reader *r, struct chdr *h);
int ct_add_chunk(struct ct_reader *r, const struct chdr *h, uint64_t off, const uint8_t *sum);
/* Give r->raw back (always, or only when above the size a reader keeps);
 * disown: r->raw was handed to another owner. */
void ct_raw_release(struct ct_reader *r, int always);
void ct_raw_disown(struct ct_reader *r);
/* Take buf (cap bytes, from ct_big_alloc) as r->raw, counted in the
 * budget; the old r->raw is the caller's now, no longer counted. */
void ct_raw_adopt(struct ct_reader *r, uint8_t *buf, size_t cap);
/* Check payload crc and decompress into r->raw; NULL, or a damage reason. */
const char *ct_unpack(struct ct_reader *r, const struct chdr *h, const uint8_t *chunk);

/* reader.c: 1 when the query skips this chunk without reading it. */
int ct_query_skips(struct ct_reader *r, const struct ct_chunk_info *c);

/* prefetch.c */
#define CT_PF_MISS 2
/* Chunk c as decoded ahead (like ct_use_listed's load: 0 with r->raw and *h set),
 * or CT_PF_MISS: the reader loads it itself. */
int ct_prefetch_take(struct ct_reader *r, const struct ct_chunk_info *c, struct chdr *h);
void ct_prefetch_stop(struct ct_reader *r);

/* index.c */
int ct_read_index(struct ct_reader *r);
int ct_scan_headers(struct ct_reader *r);
void ct_load_summaries(struct ct_reader *r);

/* batch.c */
/* The unpacked event chunk h (in r->raw) as r->batch: 1 when it holds
 * events of the query, 0 when none, <0 fatal. */
int ct_event_batch(struct ct_reader *r, const struct chdr *h);
/* The columns an event chunk decodes for a reader asking for want. */
uint32_t ct_event_want(uint32_t want);
/* What a 2.x event chunk (raw, unpacked) decodes to on its own, into d:
 * tables, columns (want, from ct_event_want) and each event's result from
 * its return value. The events decoded, fewer when damaged from a block on,
 * 0 when malformed; *why says why, else NULL. */
uint32_t ct_event_decode(struct ct_evdec *d, const uint8_t *raw, const struct chdr *h,
			 uint32_t want, const char **why);
/* An unpacked outcome chunk (in r->raw): held for joining, or (a stream)
 * what is too late queued in r->late. */
int ct_outcome_chunk(struct ct_reader *r, const struct chdr *h);
/* List mode, before event chunk seq: the outcome chunks that may name it. */
int ct_outcomes_before(struct ct_reader *r, uint32_t seq);
/* The outcome (and close) chunks listed by min_seq in r->oc_list, once. */
int ct_outcomes_list(struct ct_reader *r);
/* 1 when outcome chunk c, reached before event chunk seq, is loaded. */
int ct_outcome_wanted(const struct ct_reader *r, const struct ct_chunk_info *c, uint32_t seq);
/* Loads listed chunk c (payload unpacked into r) and hands it to use: what
 * use returned, 0 when c is damaged (reported, skipped), or < 0 on an I/O
 * error. */
int ct_use_listed(struct ct_reader *r, const struct ct_chunk_info *c,
		  int (*use)(struct ct_reader *r, const struct chdr *h));
void ct_outcomes_free(struct ct_reader *r);

#endif
