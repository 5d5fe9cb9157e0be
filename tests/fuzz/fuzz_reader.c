/* SPDX-License-Identifier: MIT */
/*
 * fuzz_reader: libFuzzer harness for the trace reader. The input is a trace
 * file in memory; it is read through pread (index, scan) and as a stream,
 * with a time window and a Bloom-summary chunk filter, and merged with
 * itself. Any crash, leak or sanitizer report is a bug.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/ctrace.h"
#include "tests/helpers/memio.h"

static void ignore_damage(void *ctx, const struct ct_damage *d)
{
	(void)ctx;
	(void)d;
}

static int filter(void *ctx, const struct ct_chunk_info *c)
{
	const uint8_t *key = ctx;
	uint32_t pid;
	memcpy(&pid, key, 4);
	return ct_chunk_may_contain(c, CT_KEY_PID, &pid, 4) ||
	       ct_chunk_may_contain(c, CT_KEY_DADDR, key, 4) ||
	       ct_chunk_may_contain(c, CT_KEY_COMM, key, 16);
}

static struct ct_reader *open_mem(struct membuf *m, int seekable)
{
	struct ct_reader_io io = mem_reader_io(m, seekable);
	struct ct_reader_opts o = {.on_damage = ignore_damage, .quiet = 1};
	struct ct_reader *r;
	return ct_reader_open(&r, &io, &o) ? NULL : r;
}

static volatile uint64_t sink;

static void drain(struct ct_reader *r)
{
	const struct ct_record *rec;
	while (ct_reader_next_event(r, &rec) == 1) {
		sink += rec->type;
		if (rec->type == CT_REC_PROC) {
			/* Strings must be NUL-terminated and readable. */
			if (rec->proc.exe)
				sink += strlen(rec->proc.exe);
			if (rec->proc.cmdline)
				sink += strlen(rec->proc.cmdline);
			if (rec->proc.container)
				sink += strlen(rec->proc.container);
		} else if (rec->type == CT_REC_EVENT) {
			const struct ct_dest *d = rec->ev.dest;
			sink += d->path_len + rec->ev.ts_ns + rec->ev.task->pid + rec->ev.result_ns;
			if (d->path_len)
				sink += (uint8_t)d->path[d->path_len - 1];
		} else if (rec->type == CT_REC_OUTCOME) {
			sink += rec->outcome.ts_ns + rec->outcome.tx_bytes;
		}
	}
	struct ct_reader_stats st;
	ct_reader_stats(r, &st);
	for (uint32_t i = 0; i < ct_reader_chunk_count(r); i++)
		sink += ct_reader_chunk(r, i)->records;
	const struct ct_header *h = ct_reader_header(r);
	if (h->hostname)
		sink += strlen(h->hostname);
}

/* The same as batches: every index of a batch must name an entry of its
 * tables and every path must be readable; every column asked for there. */
static void drain_batches(struct ct_reader *r)
{
	const struct ct_record *rec;
	while (ct_reader_next(r, &rec) > 0) {
		sink += rec->type;
		if (rec->type != CT_REC_BATCH)
			continue;
		const struct ct_batch *b = rec->batch;
		for (uint32_t i = 0; i < b->n; i++) {
			if (b->task[i] >= b->ntasks || b->dest[i] >= b->ndests)
				abort();
			const struct ct_task *t = &b->tasks[b->task[i]];
			const struct ct_dest *d = &b->dests[b->dest[i]];
			sink += t->pid + (uint8_t)t->comm[15] + d->dport + b->ts_ns[i] +
				(uint32_t)b->ret[i] + b->flags[i] + (uint32_t)b->result[i] +
				b->closed_ns[i];
			if (d->path_len)
				sink += (uint8_t)d->path[d->path_len - 1];
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t key[16] = {0};
	memcpy(key, data, size < 16 ? size : 16);

	/* Events, batches, and events under a query made of the input's own
	 * bytes (a time window from its last 16, the chunk filter's key from
	 * its first 16, the columns from key[1]); each indexed and streamed. */
	for (int pass = 0; pass < 6; pass++) {
		int seekable = pass & 1, how = pass >> 1;
		struct membuf m = {
		    .p = (uint8_t *)data, .len = size, .max_read = 777}; /* only read */
		struct ct_reader *r = open_mem(&m, seekable);
		if (!r)
			continue;
		if (how == 2) {
			uint64_t since = 0, until = 0;
			if (size >= 32) {
				memcpy(&since, data + size - 16, 8);
				memcpy(&until, data + size - 8, 8);
				since >>= 20;
			}
			struct ct_query q = {.since_ns = since,
					     .until_ns = until,
					     .chunk_filter = filter,
					     .ctx = key};
			ct_reader_set_query(r, &q);
			ct_reader_set_columns(r, key[1] & CT_COL_ALL);
		}
		if (how == 1)
			drain_batches(r);
		else
			drain(r);
		ct_reader_close(r);
	}

	/* Merge the file with itself (one seekable, one stream). */
	struct membuf a = {.p = (uint8_t *)data, .len = size, .max_read = 777},
		      b = {.p = (uint8_t *)data, .len = size, .max_read = 777}; /* only read */
	struct ct_reader *rs[2] = {open_mem(&a, 1), open_mem(&b, 0)};
	if (rs[0] && rs[1]) {
		struct ct_merge *mg;
		if (!ct_merge_open(&mg, rs, 2)) {
			const struct ct_record *rec;
			unsigned in;
			while (ct_merge_next(mg, &rec, &in) == 1)
				sink += in;
			ct_merge_close(mg);
		}
	}
	ct_reader_close(rs[0]);
	ct_reader_close(rs[1]);
	return 0;
}
