/* SPDX-License-Identifier: MIT */
/*
 * writer_int.h: the writer's state, shared by its two parts: writer.c (the
 * file: header, meta, event and index chunks, trailer) and placement.c (the
 * outcomes: which attempt each names, the pending set of attempts written
 * and still waiting for theirs, and the outcome and close chunks).
 */
#ifndef CONNTRAIL_WRITER_INT_H
#define CONNTRAIL_WRITER_INT_H

#include "ct_internal.h"
#include "oatab.h"

struct pending; /* placement.c */
struct wout;

struct ct_writer {
	struct ct_writer_io io;
	struct ct_writer_opts opts;
	int err; /* sticky: after a failed write nothing more is written */
	uint64_t bytes, events, lost, procs, outcomes_dropped;
	uint32_t seq;
	uint64_t open_since; /* CLOCK_MONOTONIC ns of the oldest unflushed record; 0 none */

	/* The events of the chunk being filled; order sorts them by ts. */
	struct ct_wevent *evs;
	uint32_t nev, cap_ev;
	uint32_t *order;
	char *paths; /* path bytes of the buffered events */
	size_t npaths, cap_paths;

	/* Outcomes told since the last flush, and the records they make. */
	struct wout *outs;
	uint32_t nouts, cap_outs;
	struct ct_oc_rec *recs, *part;
	uint32_t nrecs, cap_recs, cap_part;
	struct ct_oatab pend; /* of struct pending */

	struct ct_bytes meta;
	uint32_t meta_records;
	uint64_t meta_first, meta_last;

	struct ct_bytes raw, out, sum, scratch;
	struct ct_sumbuild sb;
	struct ct_tables tab;
	void *cctx;

	struct ct_nametab *names; /* name records written: for CT_KEY_DNAME */

	struct ct_bytes idx_entries, idx_sums;
	uint32_t idx_count;
};

/* writer.c */
/* A record is waiting: ct_writer_tick flushes within flush_interval_ns. */
void ct_note_open(struct ct_writer *w);
/* Write one chunk (header, summary, payload compressed as its kind is) and
 * note it for the index. min_seq: of an outcome or close chunk, the oldest
 * event chunk its records name (else 0). */
int ct_emit_chunk(struct ct_writer *w, uint8_t kind, uint32_t records, uint64_t first_ts,
		  uint64_t last_ts, uint32_t min_seq, const struct ct_bytes *summary,
		  const uint8_t *raw, size_t raw_len);

/* placement.c, in the order a flush calls them. */
/* The outcomes told since the last flush as records (w->recs, sorted by
 * (seq, index), one an attempt): on an event of the chunk being flushed or
 * on a pending attempt of an earlier chunk; one naming neither waits one
 * flush, then is dropped. *ev_seq: the seq the flush's event chunk will
 * have, after its meta, outcome and close chunks. */
int ct_place_outcomes(struct ct_writer *w, uint32_t *ev_seq);
/* Each event's final outcome as known now, as a CT_KEY_RESULT summary key. */
int ct_add_result_keys(struct ct_writer *w, uint32_t ev_seq);
/* The records as an outcome chunk (kind 4: handshakes) and a close chunk
 * (kind 5), each when it has any. */
int ct_write_outcome_chunks(struct ct_writer *w);
/* Placed records settle their attempts or mark them established; the
 * flushed chunk's tracked attempts still waiting join the pending set. */
int ct_update_pending(struct ct_writer *w, uint32_t ev_seq);
/* At close: a close chunk saying "still open" for every attempt that was
 * established and not closed. */
int ct_write_still_open(struct ct_writer *w);
void ct_placement_free(struct ct_writer *w);

#endif
