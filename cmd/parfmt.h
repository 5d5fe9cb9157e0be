/* SPDX-License-Identifier: MIT */
/*
 * parfmt.h: the events of a batch formatted on several threads, in order
 * (script, convert). Formatting is most of their time (the reader's
 * decoding ahead is a tenth of it), so --jobs N formats on N threads.
 *
 * A batch goes in rounds of up to PARFMT_ROUND_BLOCKS blocks of
 * PARFMT_BLOCK events; the calling thread (part 0) and the helpers
 * (parts 1..N-1) take blocks in turn until none is left, each formatting
 * into its own output. The join callback then gets the blocks' bytes as
 * spans of those outputs, in event order, on the calling thread. The
 * bytes are those of one thread for any N, as long as formatting an event
 * reads nothing another event changes.
 */
#ifndef CONNTRAIL_CMD_PARFMT_H
#define CONNTRAIL_CMD_PARFMT_H

#include <stddef.h>

#include "format/ctrace.h"

/* Taking a block costs an atomic add: 1024 events are ~0.2 ms of lines.
 * Tests make blocks smaller (CONNTRAIL_PARFMT_BLOCK=N) to cut small
 * batches too. */
#define PARFMT_BLOCK 1024u
/* Blocks in a round: a chunk of 65536 events in one round (rounds of 16
 * blocks were slower), the outputs a few MiB whatever the batch. */
#define PARFMT_ROUND_BLOCKS 64u

struct parfmt;

/* Bytes [from, to) of part's output: one block's lines. */
struct parfmt_span {
	unsigned part;
	size_t from, to;
};

/* Format event ev into part's output (part < the jobs given); <0 to stop
 * (the callback keeps why, in the part's own state). */
typedef int (*parfmt_event_fn)(void *ctx, unsigned part, const struct ct_event *ev, unsigned input);
/* The length of part's output so far. */
typedef size_t (*parfmt_len_fn)(void *ctx, unsigned part);
/* After a round, on the calling thread: the spans, in order, to put out;
 * then every part's output may start again from empty. <0 to stop. */
typedef int (*parfmt_join_fn)(void *ctx, const struct parfmt_span *spans, unsigned n);

struct parfmt_ops {
	parfmt_event_fn event;
	parfmt_len_fn len;
	parfmt_join_fn join;
};

/* jobs threads in all, the caller's among them. NULL when jobs < 2 or no
 * helper thread could start: the caller then formats alone. */
struct parfmt *parfmt_new(unsigned jobs);
/* Threads in all: the parts' outputs to keep (1 for NULL). */
unsigned parfmt_jobs(const struct parfmt *pf);
/* Events in a block. */
uint32_t parfmt_block(const struct parfmt *pf);
/* 1 when b is worth the threads: pf set and two blocks of events or more. */
int parfmt_worth(const struct parfmt *pf, const struct ct_batch *b);
/* Where it is not: b's events one by one through fn on this thread. 0, or
 * -1 when fn returned <0. */
int parfmt_each(const struct ct_batch *b, unsigned input,
		int (*fn)(void *ctx, const struct ct_event *ev, unsigned input), void *ctx);
/* Every event of b through ops, in rounds. 0, or -1 when a callback
 * returned <0 (the rest of the batch is not formatted). */
int parfmt_batch(struct parfmt *pf, const struct ct_batch *b, unsigned input,
		 const struct parfmt_ops *ops, void *ctx);
void parfmt_free(struct parfmt *pf);

#endif
