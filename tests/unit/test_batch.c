/* SPDX-License-Identifier: MIT */
/*
 * test_batch: the reader hands event chunks over as batches, and a caller
 * may ask for fewer columns (report reads four). Read with any set of
 * columns, a trace must give the same events, in the same order, with the
 * same values in every column it asked for (absent ones NULL), the same
 * process and lost records, and the same cuts at time windows; events
 * viewed with ct_batch_event, slices and selections of a batch must agree
 * with it column by column.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "tests/unit/test_format_common.h"

#define NEV 23456

static void write_mixed(struct membuf *m)
{
	struct ct_writer_io io = mem_writer_io(m);
	struct ct_writer_opts o = {.compress = CT_COMP_ZSTD, .chunk_events = 4000};
	struct ct_writer *w;
	char exe[64], cmd[64];
	CHECK_EQ(ct_writer_open(&w, &io, &test_hdr, &o), 0);
	for (uint64_t i = 0; i < NEV; i++) {
		struct tev ev;
		make_event(&ev, i);
		CHECK_EQ(ct_writer_event(w, tev_event(&ev)), 0);
		if (i % 3001 == 0) {
			struct ct_proc p;
			make_proc(&p, i, exe, cmd);
			CHECK_EQ(ct_writer_proc(w, &p), 0);
			struct ct_lost l = {.ts_ns = ev.ts_ns, .count = 1 + i % 7, .cpu = 1};
			CHECK_EQ(ct_writer_lost(w, &l), 0);
		}
	}
	CHECK_EQ(ct_writer_close(w), 0);
}

/* Everything a full read sees, flat: events then the meta records' times. */
struct seen {
	struct tev *ev;
	size_t n;
	uint64_t *meta;
	size_t nmeta;
};

static void read_full(struct membuf *m, int seekable, uint64_t since, uint64_t until,
		      struct seen *s)
{
	struct ct_reader_io io = mem_reader_io(m, seekable);
	struct ct_reader *r;
	memset(s, 0, sizeof(*s));
	s->ev = calloc(NEV, sizeof(*s->ev));
	s->meta = calloc(NEV, sizeof(*s->meta));
	CHECK_EQ(ct_reader_open(&r, &io, NULL), 0);
	struct ct_query q = {.since_ns = since, .until_ns = until};
	CHECK_EQ(ct_reader_set_query(r, &q), 0);
	const struct ct_record *rec;
	while (ct_reader_next_event(r, &rec) == 1) {
		if (rec->type == CT_REC_EVENT) {
			struct tev *t = &s->ev[s->n++];
			tev_from(t, &rec->ev);
			t->flags = rec->ev.flags; /* the outcome bits too */
			t->result = rec->ev.result;
			t->result_ns = rec->ev.result_ns;
		} else {
			s->meta[s->nmeta++] =
			    rec->type == CT_REC_PROC ? rec->proc.ts_ns : rec->lost.ts_ns;
		}
	}
	ct_reader_close(r);
}

/* Read with `columns` only and compare with the full read. */
static void read_subset(struct membuf *m, int seekable, uint64_t since, uint64_t until,
			uint32_t columns, const struct seen *full)
{
	struct ct_reader_io io = mem_reader_io(m, seekable);
	struct ct_reader *r;
	CHECK_EQ(ct_reader_open(&r, &io, NULL), 0);
	struct ct_query q = {.since_ns = since, .until_ns = until};
	CHECK_EQ(ct_reader_set_query(r, &q), 0);
	CHECK_EQ(ct_reader_set_columns(r, columns), 0);
	const struct ct_record *rec;
	size_t k = 0, nmeta = 0, bad = 0, missing = 0;
	struct ct_batch_sel sel = {0};
	uint32_t *keep = malloc(140000 * sizeof(*keep));
	while (ct_reader_next(r, &rec) == 1) {
		if (rec->type != CT_REC_BATCH) {
			uint64_t ts = rec->type == CT_REC_PROC ? rec->proc.ts_ns : rec->lost.ts_ns;
			bad += nmeta >= full->nmeta || full->meta[nmeta] != ts;
			nmeta++;
			continue;
		}
		const struct ct_batch *b = rec->batch;
		/* The columns asked for are there; others may be, as they like. */
		missing += ((columns & CT_COL_TID) && !b->tid) ||
			   ((columns & CT_COL_SOCKFD) && !b->sockfd) ||
			   ((columns & CT_COL_RET) && !b->ret) ||
			   ((columns & CT_COL_LATENCY) && !b->latency_ns) ||
			   ((columns & CT_COL_LOCAL) && (!b->sport || !b->saddr)) ||
			   ((columns & CT_COL_RESULT) && !b->result) ||
			   ((columns & CT_COL_RESULT_NS) && !b->result_ns) ||
			   ((columns & CT_COL_CLOSE) && !b->closed_ns);
		/* Every other event kept: a selection agrees with its source. */
		uint32_t nk = 0;
		for (uint32_t i = 0; i < b->n; i += 2)
			keep[nk++] = i;
		struct ct_batch half;
		CHECK_EQ(ct_batch_select(b, keep, nk, &sel, &half), 0);
		for (uint32_t i = 0; i < b->n; i++, k++) {
			if (k >= full->n) {
				bad++;
				continue;
			}
			const struct tev *f = &full->ev[k];
			struct ct_event ev;
			ct_batch_event(b, i, &ev);
			struct tev got;
			tev_from(&got, &ev);
			/* what this read has equals the full read */
			bad += ev.ts_ns != f->ts_ns || got.pid != f->pid || got.ppid != f->ppid ||
			       got.uid != f->uid || memcmp(got.comm, f->comm, CT_COMM_LEN) ||
			       got.family != f->family || got.dport != f->dport ||
			       memcmp(got.daddr, f->daddr, 16) || got.path_len != f->path_len ||
			       memcmp(got.path, f->path, got.path_len) ||
			       (ev.flags & CT_EV_STORED) != (f->flags & CT_EV_STORED);
			if (b->tid)
				bad += ev.tid != f->tid;
			if (b->sockfd)
				bad += ev.sockfd != f->sockfd;
			if (b->ret)
				bad += ev.ret != f->ret;
			if (b->latency_ns)
				bad += ev.latency_ns != f->latency_ns;
			if (b->sport)
				bad += got.sport != f->sport || memcmp(got.saddr, f->saddr, 16);
			if (b->result)
				bad += ev.result != f->result ||
				       (ev.flags & CT_EV_RESULT) != (f->flags & CT_EV_RESULT);
			if (b->result_ns)
				bad += ev.result_ns != f->result_ns;
			/* the selection and a one-event slice show the same */
			if (!(i & 1)) {
				struct ct_event sv;
				ct_batch_event(&half, i / 2, &sv);
				bad += sv.ts_ns != ev.ts_ns || sv.task != ev.task ||
				       sv.dest != ev.dest || sv.flags != ev.flags ||
				       sv.ret != ev.ret || sv.tid != ev.tid;
			}
			struct ct_batch one;
			ct_batch_slice(b, i, i + 1, &one);
			struct ct_event ov;
			ct_batch_event(&one, 0, &ov);
			bad += one.n != 1 || ov.ts_ns != ev.ts_ns || ov.task != ev.task ||
			       ov.dest != ev.dest || ov.latency_ns != ev.latency_ns;
		}
	}
	CHECK_EQ(k, full->n);
	CHECK_EQ(nmeta, full->nmeta);
	CHECK_EQ(bad, 0);
	CHECK_EQ(missing, 0);
	ct_batch_sel_free(&sel);
	free(keep);
	ct_reader_close(r);
}

/*
 * Each event's result from what connect(2) returned, as the reader works it
 * out block by block: EINPROGRESS is never final, EINTR and ERESTART* are
 * final except over TCP, everything else is. Odd return values sit in some
 * blocks of 256 events and not in others, next to their edges (-511, -517).
 */
static void test_results(void)
{
	static const int32_t odd[] = {-115, -4, -512, -513, -516, -517, -511, -3, -5, 0, -111};
	enum { N = 5000 };
	struct membuf m = {0};
	struct ct_writer_io wio = mem_writer_io(&m);
	struct ct_writer_opts o = {.compress = CT_COMP_ZSTD, .chunk_events = 1777};
	struct ct_writer *w;
	static struct tev evs[N];
	CHECK_EQ(ct_writer_open(&w, &wio, &test_hdr, &o), 0);
	for (uint32_t i = 0; i < N; i++) {
		struct tev *ev = &evs[i];
		make_event(ev, i);
		int tcp = i / 3 % 2;
		ev->family = AF_INET;
		ev->type = tcp ? SOCK_STREAM : SOCK_DGRAM;
		ev->proto = tcp ? IPPROTO_TCP : IPPROTO_UDP;
		ev->daddr[0] = 10;
		ev->daddr[3] = (uint8_t)(i % 7);
		ev->dport = 53;
		if (i % 600 < 40) /* blocks with odd values, the rest plain */
			ev->ret = odd[i % (sizeof(odd) / sizeof(odd[0]))];
		CHECK_EQ(ct_writer_event(w, tev_event(ev)), 0);
	}
	CHECK_EQ(ct_writer_close(w), 0);

	struct ct_reader_io io = mem_reader_io(&m, 1);
	struct ct_reader *r;
	CHECK_EQ(ct_reader_open(&r, &io, NULL), 0);
	const struct ct_record *rec;
	uint32_t i = 0, finals = 0, pending = 0;
	while (ct_reader_next_event(r, &rec) == 1) {
		if (rec->type != CT_REC_EVENT)
			continue;
		CHECK(i < N);
		if (i >= N)
			break;
		const struct tev *ev = &evs[i++];
		int32_t v = ev->ret;
		int restart = v == -4 || (v <= -512 && v >= -516);
		int known =
		    (ev->flags & CT_EV_RET) && v != -115 && !(restart && ev->proto == IPPROTO_TCP);
		CHECK_EQ(!!(rec->ev.flags & CT_EV_RESULT), known);
		CHECK_EQ(rec->ev.result, known ? v : 0);
		CHECK_EQ(rec->ev.result_ns,
			 known && (ev->flags & CT_EV_LATENCY) ? ev->latency_ns : 0);
		finals += known && restart;
		pending += (ev->flags & CT_EV_RET) && !known;
	}
	CHECK_EQ(i, N);
	CHECK(finals > 0 && pending > 0); /* both ways taken */
	ct_reader_close(r);
	free(m.p);
}

int main(void)
{
	struct membuf m = {0};
	write_mixed(&m);
	static const uint32_t subsets[] = {
	    0,
	    CT_COL_RESULT,
	    CT_COL_TID | CT_COL_LOCAL,
	    CT_COL_SOCKFD | CT_COL_LATENCY,
	    CT_COL_RESULT_NS | CT_COL_CLOSE,
	    CT_COL_ALL,
	};
	/* The whole trace, and windows that cut chunks in their middle. */
	uint64_t t0 = 1000000;
	static const uint64_t windows[][2] = {{0, 0},
					      {1000000 + 5000 * 1500ull, 0},
					      {0, 1000000 + 9000 * 1500ull},
					      {1000000 + 3999 * 1500ull, 1000000 + 4001 * 1500ull}};
	(void)t0;
	for (int seekable = 0; seekable < 2; seekable++)
		for (size_t w = 0; w < sizeof(windows) / sizeof(windows[0]); w++) {
			struct seen full;
			read_full(&m, seekable, windows[w][0], windows[w][1], &full);
			CHECK(full.n >= 2);
			for (size_t s = 0; s < sizeof(subsets) / sizeof(subsets[0]); s++)
				read_subset(&m, seekable, windows[w][0], windows[w][1], subsets[s],
					    &full);
			free(full.ev);
			free(full.meta);
		}
	free(m.p);
	test_results();
	return check_done("test_batch");
}
