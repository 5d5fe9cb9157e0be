/* SPDX-License-Identifier: MIT */
/*
 * test_parfmt.c: a batch formatted on several threads (cmd/parfmt.c) comes
 * out whole and in order: every event once, the spans in event order, at
 * 2 to 5 threads, for batches shorter than a block, of whole blocks and
 * longer than a round; the threads really share the blocks; a callback's
 * failure stops the batch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cmd/parfmt.h"
#include "lib/strbuf.h"

#define MAXJOBS 5

struct fixture {
	struct ct_buf out[MAXJOBS]; /* a part's lines */
	struct ct_buf all;	    /* what the joins put out */
	uint32_t by_part[MAXJOBS];  /* events each part formatted */
	int64_t fail_at;	    /* the event whose callback fails, or -1 */
	int wait_for_helper;	    /* part 0 waits until part 1 formatted one */
	unsigned joins;
};

/* An event's "line": its time, which the test batch sets to its index. */
static int put_event(void *ctx, unsigned part, const struct ct_event *ev, unsigned input)
{
	struct fixture *f = ctx;
	if ((int64_t)ev->ts_ns == f->fail_at)
		return -1;
	char line[32];
	int n = snprintf(line, sizeof(line), "%llu/%u\n", (unsigned long long)ev->ts_ns, input);
	ct_buf_put(&f->out[part], line, (size_t)n);
	__atomic_fetch_add(&f->by_part[part], 1, __ATOMIC_RELAXED);
	/* Part 0 holds on to its first block: the rest must go to part 1. */
	for (int i = 0; f->wait_for_helper && part == 0 && i < 10000 &&
			!__atomic_load_n(&f->by_part[1], __ATOMIC_RELAXED);
	     i++)
		usleep(1000);
	return 0;
}

static size_t part_len(void *ctx, unsigned part)
{
	return ((struct fixture *)ctx)->out[part].len;
}

static int join(void *ctx, const struct parfmt_span *sp, unsigned n)
{
	struct fixture *f = ctx;
	for (unsigned i = 0; i < n; i++) {
		int ok = sp[i].part < MAXJOBS && sp[i].from <= sp[i].to &&
			 sp[i].to <= f->out[sp[i].part].len;
		CHECK(ok, "span %u of %u", i, n);
		if (!ok)
			return -1;
		ct_buf_put(&f->all, f->out[sp[i].part].p + sp[i].from, sp[i].to - sp[i].from);
	}
	for (unsigned k = 0; k < MAXJOBS; k++)
		f->out[k].len = 0;
	f->joins++;
	return 0;
}

static const struct parfmt_ops ops = {put_event, part_len, join};

/* A batch of n events whose times are 0..n-1. */
struct tbatch {
	struct ct_batch b;
	uint64_t *ts;
	uint32_t *zero32;
	uint16_t *zero16;
	struct ct_task task;
	struct ct_dest dest;
};

static void tbatch_make(struct tbatch *t, uint32_t n)
{
	memset(t, 0, sizeof(*t));
	t->ts = calloc(n + 1, sizeof(*t->ts));
	t->zero32 = calloc(n + 1, sizeof(*t->zero32));
	t->zero16 = calloc(n + 1, sizeof(*t->zero16));
	for (uint32_t i = 0; i < n; i++)
		t->ts[i] = i;
	t->b.n = n;
	t->b.ts_ns = t->ts;
	t->b.task = t->zero32;
	t->b.dest = t->zero32;
	t->b.flags = t->zero16;
	t->b.ntasks = t->b.ndests = 1;
	t->b.tasks = &t->task;
	t->b.dests = &t->dest;
}

static void tbatch_free(struct tbatch *t)
{
	free(t->ts);
	free(t->zero32);
	free(t->zero16);
}

static void fixture_free(struct fixture *f)
{
	for (unsigned k = 0; k < MAXJOBS; k++)
		ct_buf_free(&f->out[k]);
	ct_buf_free(&f->all);
}

/* What one thread writes for events [0, n) of input 3. */
static char *expected(uint32_t n)
{
	struct ct_buf b = {0};
	char line[32];
	for (uint32_t i = 0; i < n; i++) {
		int k = snprintf(line, sizeof(line), "%u/3\n", i);
		ct_buf_put(&b, line, (size_t)k);
	}
	ct_buf_put(&b, "", 1);
	return b.p;
}

static void test_order(void)
{
	/* under a block, one block, blocks and a tail, a round and more */
	const uint32_t sizes[] = {1, 5, 7, 64, 1000, 64 * 7 + 3, 64 * 64 * 7 + 5};
	for (unsigned jobs = 2; jobs <= MAXJOBS; jobs++) {
		struct parfmt *pf = parfmt_new(jobs);
		CHECK(pf != NULL, "threads for %u jobs", jobs);
		if (!pf)
			continue;
		CHECK_EQ(parfmt_jobs(pf), jobs);
		CHECK_EQ(parfmt_block(pf), 7); /* CONNTRAIL_PARFMT_BLOCK, set by main */
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			struct tbatch t;
			struct fixture f = {.fail_at = -1};
			tbatch_make(&t, sizes[s]);
			CHECK_EQ(parfmt_batch(pf, &t.b, 3, &ops, &f), 0);
			char *want = expected(sizes[s]);
			CHECK(f.all.len == strlen(want) && !memcmp(f.all.p, want, f.all.len),
			      "%u events at %u jobs: the lines in order", sizes[s], jobs);
			uint32_t sum = 0;
			for (unsigned k = 0; k < MAXJOBS; k++)
				sum += f.by_part[k];
			CHECK_EQ(sum, sizes[s]);
			/* rounds of 64 blocks of 7 */
			CHECK_EQ(f.joins, (sizes[s] + 64 * 7 - 1) / (64 * 7));
			free(want);
			fixture_free(&f);
			tbatch_free(&t);
		}
		parfmt_free(pf);
	}
}

/* The helper takes blocks: while the calling thread holds on to its first
 * one (up to 10 s), the helper formats the others. */
static void test_shared(void)
{
	struct parfmt *pf = parfmt_new(2);
	struct tbatch t;
	struct fixture f = {.fail_at = -1, .wait_for_helper = 1};
	tbatch_make(&t, 200000);
	CHECK_EQ(parfmt_batch(pf, &t.b, 3, &ops, &f), 0);
	CHECK(f.by_part[0] > 0 && f.by_part[1] > 0, "part 0 %u, part 1 %u events", f.by_part[0],
	      f.by_part[1]);
	CHECK_EQ(f.by_part[0] + f.by_part[1], 200000);
	fixture_free(&f);
	tbatch_free(&t);
	parfmt_free(pf);
}

/* A callback that fails stops the batch: -1, and no join of that round. */
static void test_failure(void)
{
	struct parfmt *pf = parfmt_new(3);
	struct tbatch t;
	struct fixture f = {.fail_at = 64 * 7 + 100}; /* in the second round */
	tbatch_make(&t, 64 * 7 * 3);
	CHECK_EQ(parfmt_batch(pf, &t.b, 3, &ops, &f), -1);
	CHECK_EQ(f.joins, 1);
	char *want = expected(64 * 7);
	CHECK(f.all.len == strlen(want) && !memcmp(f.all.p, want, f.all.len),
	      "the first round out, whole");
	free(want);
	fixture_free(&f);
	tbatch_free(&t);
	/* and the threads are still there for the next batch */
	struct fixture g = {.fail_at = -1};
	tbatch_make(&t, 1000);
	CHECK_EQ(parfmt_batch(pf, &t.b, 3, &ops, &g), 0);
	CHECK_EQ(g.by_part[0] + g.by_part[1] + g.by_part[2], 1000);
	fixture_free(&g);
	tbatch_free(&t);
	parfmt_free(pf);
}

int main(void)
{
	setenv("CONNTRAIL_PARFMT_BLOCK", "7", 1);
	CHECK(parfmt_new(1) == NULL, "one job: no threads");
	CHECK_EQ(parfmt_jobs(NULL), 1);
	test_order();
	test_shared();
	test_failure();
	return check_done("test_parfmt");
}
