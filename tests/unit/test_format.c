/* SPDX-License-Identifier: MIT */
/* test_format: round trips of the trace file (every codec, every family,
 * proc and lost records, header), index, time seek, Bloom summaries, pipes,
 * merge order. Damage and hostile input: test_format_damage. */
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_format_common.h"
#include "../../format/ct_internal.h"

/* Writes n events (with a proc record every 97 and a lost record every 1001)
 * into m; chunk_events small so there are many chunks. */
static void write_trace(struct membuf *m, enum ct_compress c, uint64_t n, uint32_t chunk_events)
{
	struct ct_writer_io io = mem_writer_io(m);
	struct ct_writer_opts o = {.compress = c, .chunk_events = chunk_events};
	struct ct_writer *w;
	char exe[64], cmd[64];

	CHECK_EQ(ct_writer_open(&w, &io, &test_hdr, &o), 0);
	for (uint64_t i = 0; i < n; i++) {
		struct tev ev;
		if (i % 97 == 0) {
			struct ct_proc p;
			make_proc(&p, i, exe, cmd);
			CHECK_EQ(ct_writer_proc(w, &p), 0);
		}
		if (i % 1001 == 500) {
			struct ct_lost l = {.ts_ns = 1000000 + i * 1500, .count = i, .cpu = 1};
			CHECK_EQ(ct_writer_lost(w, &l), 0);
		}
		make_event(&ev, i);
		CHECK_EQ(ct_writer_event(w, tev_event(&ev)), 0);
	}
	CHECK_EQ(ct_writer_events(w), n);
	CHECK_EQ(ct_writer_close(w), 0);
}

/* Read everything back and compare every field of every record. */
static void read_back(struct membuf *m, int seekable, uint64_t n)
{
	struct ct_reader_io io = mem_reader_io(m, seekable);
	struct ct_reader *r;
	struct ct_reader_opts ro = {.on_damage = count_damage};
	const struct ct_record *rec;
	uint64_t events = 0, procs = 0, lost = 0;
	char exe[64], cmd[64];

	quiet_damage_count = 0;
	CHECK_EQ(ct_reader_open(&r, &io, &ro), 0);
	if (!r)
		return;
	const struct ct_header *h = ct_reader_header(r);
	CHECK_EQ(h->version_major, CT_FORMAT_MAJOR);
	CHECK(h->hostname && !strcmp(h->hostname, "testhost"));
	CHECK(h->kernel && !strcmp(h->kernel, "6.18.0-test"));
	CHECK(h->arch && !strcmp(h->arch, "x86_64"));
	CHECK(h->backend && !strcmp(h->backend, "generated"));
	CHECK(h->cmdline && !strcmp(h->cmdline, "test_format --flag"));
	CHECK(h->filters && !strcmp(h->filters, ""));
	CHECK(h->recorder && !strcmp(h->recorder, "conntrail test"));
	CHECK_EQ(h->wall_offset_ns, test_hdr.wall_offset_ns);
	CHECK_EQ(h->start_ts_ns, 1000);
	CHECK_EQ(h->clock_id, 1);

	int rc;
	while ((rc = ct_reader_next_event(r, &rec)) == 1) {
		if (rec->type == CT_REC_EVENT) {
			struct tev want;
			make_event(&want, events);
			if (!read_eq(&rec->ev, &want)) {
				fprintf(stderr, "event %llu differs\n", (unsigned long long)events);
				t_fails++;
			}
			events++;
		} else if (rec->type == CT_REC_PROC) {
			struct ct_proc want;
			make_proc(&want, procs * 97, exe, cmd);
			const struct ct_proc *p = &rec->proc;
			CHECK_EQ(p->ts_ns, want.ts_ns);
			CHECK_EQ(p->task.pid, want.task.pid);
			CHECK_EQ(p->kind, want.kind);
			CHECK_EQ(p->exit_code, want.exit_code);
			CHECK_EQ(p->task.cgroup_id, want.task.cgroup_id);
			CHECK(!strncmp(p->task.comm, want.task.comm, CT_COMM_LEN));
			CHECK(p->exe && !strcmp(p->exe, want.exe));
			CHECK((!p->cmdline && !want.cmdline) ||
			      (p->cmdline && want.cmdline && !strcmp(p->cmdline, want.cmdline)));
			CHECK((!p->container && !want.container) ||
			      (p->container && want.container &&
			       !strcmp(p->container, want.container)));
			procs++;
		} else if (rec->type == CT_REC_LOST) {
			CHECK_EQ(rec->lost.cpu, 1);
			CHECK_EQ(rec->lost.ts_ns, 1000000 + rec->lost.count * 1500);
			lost += rec->lost.count;
		} else {
			CHECK(!"unknown record type");
		}
	}
	CHECK_EQ(rc, 0);
	CHECK_EQ(events, n);
	CHECK_EQ(procs, (n + 96) / 97);
	uint64_t want_lost = 0;
	for (uint64_t i = 0; i < n; i++)
		if (i % 1001 == 500)
			want_lost += i;
	CHECK_EQ(lost, want_lost);
	struct ct_reader_stats st;
	ct_reader_stats(r, &st);
	CHECK_EQ(st.events, n);
	CHECK_EQ(st.lost, want_lost);
	CHECK_EQ(st.chunks_damaged, 0);
	CHECK_EQ(quiet_damage_count, 0);
	CHECK_EQ(st.index_present, seekable ? 1 : 0);
	struct ct_totals tot;
	CHECK_EQ(ct_reader_totals(r, &tot), seekable ? 1 : 0);
	if (seekable) {
		CHECK_EQ(tot.events, n);
		CHECK_EQ(tot.lost, want_lost);
		CHECK_EQ(tot.procs, (n + 96) / 97);
	}
	ct_reader_close(r);
}

static void test_round_trips(void)
{
	const enum ct_compress codecs[] = {CT_COMP_ZSTD, CT_COMP_ZLIB, CT_COMP_NONE};
	const uint64_t sizes[] = {0, 1, 2, 1000, 20000};
	for (size_t c = 0; c < 3; c++) {
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			struct membuf m = {0};
			write_trace(&m, codecs[c], sizes[s], 777);
			read_back(&m, 1, sizes[s]);
			read_back(&m, 0, sizes[s]);
			free(m.p);
		}
	}
}

/* Out-of-order input within a chunk comes back sorted (stable). */
static void test_sorting(void)
{
	struct membuf m = {0};
	struct ct_writer_io io = mem_writer_io(&m);
	struct ct_writer *w;
	CHECK_EQ(ct_writer_open(&w, &io, &test_hdr, NULL), 0);
	uint64_t ts[] = {50, 10, 30, 10, 20};
	for (int i = 0; i < 5; i++) {
		struct tev ev = {.ts_ns = ts[i], .pid = (uint32_t)i, .family = AF_INET};
		CHECK_EQ(ct_writer_event(w, tev_event(&ev)), 0);
	}
	CHECK_EQ(ct_writer_close(w), 0);
	struct ct_reader_io rio = mem_reader_io(&m, 1);
	struct ct_reader *r;
	CHECK_EQ(ct_reader_open(&r, &rio, NULL), 0);
	const struct ct_record *rec;
	uint32_t want_pid[] = {1, 3, 4, 2, 0};
	for (int i = 0; i < 5; i++) {
		CHECK_EQ(ct_reader_next_event(r, &rec), 1);
		CHECK_EQ(rec->ev.task->pid, want_pid[i]);
	}
	CHECK_EQ(ct_reader_next_event(r, &rec), 0);
	ct_reader_close(r);
	free(m.p);
}

/* Sets r's query to the times of made events a (since) and b (until);
 * ct_reader_set_query's answer. */
static int query_made(struct ct_reader *r, uint64_t a, uint64_t b, struct ct_query *q)
{
	struct tev ea, eb;
	make_event(&ea, a);
	make_event(&eb, b);
	*q = (struct ct_query){.since_ns = ea.ts_ns, .until_ns = eb.ts_ns};
	return ct_reader_set_query(r, q);
}

/* Index, time windows at chunk edges, chunk skipping. */
static void test_time_query(void)
{
	struct membuf m = {0};
	uint64_t n = 10000;
	write_trace(&m, CT_COMP_ZSTD, n, 1000);
	for (int seekable = 1; seekable >= 0; seekable--) {
		struct ct_reader_io io = mem_reader_io(&m, seekable);
		struct ct_reader *r;
		CHECK_EQ(ct_reader_open(&r, &io, NULL), 0);
		if (seekable) {
			uint32_t ev_chunks = 0;
			for (uint32_t i = 0; i < ct_reader_chunk_count(r); i++)
				ev_chunks += ct_reader_chunk(r, i)->kind == CT_CHUNK_EVENTS;
			CHECK_EQ(ev_chunks, 10);
		}
		/* What a query reads, known ahead from the chunk list only. */
		uint64_t all_bytes = 0;
		for (uint32_t i = 0; seekable && i < ct_reader_chunk_count(r); i++) {
			const struct ct_chunk_info *c = ct_reader_chunk(r, i);
			all_bytes += c->kind == CT_CHUNK_EVENTS ? c->comp_size : 0;
		}
		CHECK_EQ(ct_reader_query_bytes(r), seekable ? all_bytes : UINT64_MAX);
		/* Event 3000 starts chunk 3; event 3999 ends it. */
		struct ct_query q;
		CHECK_EQ(query_made(r, 3000, 3999, &q), 0);
		uint64_t window_bytes = 0;
		for (uint32_t i = 0; seekable && i < ct_reader_chunk_count(r); i++) {
			const struct ct_chunk_info *c = ct_reader_chunk(r, i);
			if (c->kind == CT_CHUNK_EVENTS && c->last_ts >= q.since_ns &&
			    c->first_ts <= q.until_ns)
				window_bytes += c->comp_size;
		}
		if (seekable) {
			CHECK(window_bytes > 0 && window_bytes < all_bytes / 5);
			CHECK_EQ(ct_reader_query_bytes(r), window_bytes);
		}
		const struct ct_record *rec;
		uint64_t events = 0, min = UINT64_MAX, max = 0;
		while (ct_reader_next_event(r, &rec) == 1) {
			if (rec->type != CT_REC_EVENT)
				continue;
			events++;
			min = rec->ev.ts_ns < min ? rec->ev.ts_ns : min;
			max = rec->ev.ts_ns > max ? rec->ev.ts_ns : max;
		}
		CHECK_EQ(events, 1000);
		CHECK_EQ(min, q.since_ns);
		CHECK_EQ(max, q.until_ns);
		struct ct_reader_stats st;
		ct_reader_stats(r, &st);
		CHECK_EQ(st.chunks_read, 1);
		CHECK_EQ(st.chunks_skipped, 9);
		CHECK(ct_reader_set_query(r, &q) == CT_E_INVAL);
		ct_reader_close(r);
	}
	/* One nanosecond over the edge pulls in the next chunk. */
	struct ct_reader_io io = mem_reader_io(&m, 1);
	struct ct_reader *r;
	CHECK_EQ(ct_reader_open(&r, &io, NULL), 0);
	struct ct_query q;
	query_made(r, 3999, 4000, &q);
	const struct ct_record *rec;
	uint64_t events = 0;
	while (ct_reader_next_event(r, &rec) == 1)
		events += rec->type == CT_REC_EVENT;
	CHECK_EQ(events, 2);
	struct ct_reader_stats st;
	ct_reader_stats(r, &st);
	CHECK_EQ(st.chunks_read, 2);
	ct_reader_close(r);
	/* since after until: no events, the process records still. */
	for (int seekable = 1; seekable >= 0; seekable--) {
		io = mem_reader_io(&m, seekable);
		CHECK_EQ(ct_reader_open(&r, &io, NULL), 0);
		/* Inside one chunk, so the chunk is read and its events checked. */
		query_made(r, 3500, 3400, &q);
		uint64_t evs = 0, procs = 0;
		while (ct_reader_next_event(r, &rec) == 1) {
			evs += rec->type == CT_REC_EVENT;
			procs += rec->type == CT_REC_PROC;
		}
		CHECK_EQ(evs, 0);
		CHECK_EQ(procs, (n + 96) / 97);
		ct_reader_close(r);
	}
	free(m.p);
}

struct filter_ctx {
	uint32_t pid;
	uint8_t addr[4];
};
static int pid_filter(void *ctx, const struct ct_chunk_info *c)
{
	struct filter_ctx *f = ctx;
	return ct_chunk_may_contain(c, CT_KEY_PID, &f->pid, 4);
}
static int addr_filter(void *ctx, const struct ct_chunk_info *c)
{
	struct filter_ctx *f = ctx;
	return ct_chunk_may_contain(c, CT_KEY_DADDR, f->addr, 4);
}

/* Every key of every event is in its chunk's summary (no false negatives),
 * and a rare key skips most chunks. */
static void test_bloom(void)
{
	struct membuf m = {0};
	struct ct_writer_io io = mem_writer_io(&m);
	struct ct_writer_opts o = {.chunk_events = 500};
	struct ct_writer *w;
	uint64_t n = 50000;
	CHECK_EQ(ct_writer_open(&w, &io, &test_hdr, &o), 0);
	for (uint64_t i = 0; i < n; i++) {
		struct tev ev;
		make_event(&ev, i);
		/* A unique pid and address once in a while: rare keys. */
		if (i % 10007 == 5) {
			ev.pid = 999999;
			ev.family = AF_INET;
			memcpy(ev.daddr, "\xc0\x00\x02\x01", 4);
		}
		ct_writer_event(w, tev_event(&ev));
	}
	CHECK_EQ(ct_writer_close(w), 0);

	for (int seekable = 1; seekable >= 0; seekable--) {
		struct ct_reader_io rio = mem_reader_io(&m, seekable);
		struct ct_reader *r;
		CHECK_EQ(ct_reader_open(&r, &rio, NULL), 0);
		const struct ct_record *rec;
		uint64_t misses = 0, i = 0;
		uint32_t last_chunk = UINT32_MAX;
		const struct ct_chunk_info *c = NULL;
		while (ct_reader_next_event(r, &rec) == 1) {
			/* The chunk being read is the last event chunk known. */
			uint32_t cnt = ct_reader_chunk_count(r);
			if (cnt != last_chunk || seekable) {
				c = NULL;
				for (uint32_t k = 0; k < cnt; k++) {
					const struct ct_chunk_info *ck = ct_reader_chunk(r, k);
					if (ck->kind == CT_CHUNK_EVENTS &&
					    ck->first_ts <= rec->ev.ts_ns &&
					    rec->ev.ts_ns <= ck->last_ts)
						c = ck;
				}
				last_chunk = cnt;
			}
			const struct ct_task *t = rec->ev.task;
			const struct ct_dest *d = rec->ev.dest;
			int ok = c && ct_chunk_may_contain(c, CT_KEY_PID, &t->pid, 4) &&
				 ct_chunk_may_contain(c, CT_KEY_UID, &t->uid, 4) &&
				 ct_chunk_may_contain(c, CT_KEY_DPORT, &d->dport, 2) &&
				 ct_chunk_may_contain(c, CT_KEY_FAMILY, &d->family, 2) &&
				 ct_chunk_may_contain(c, CT_KEY_COMM, t->comm, CT_COMM_LEN);
			if (d->family == AF_INET || d->family == AF_INET6)
				ok = ok && ct_chunk_may_contain(c, CT_KEY_DADDR, d->daddr,
								d->family == AF_INET ? 4 : 16);
			if (d->path_len)
				ok = ok &&
				     ct_chunk_may_contain(c, CT_KEY_PATH, d->path, d->path_len);
			misses += !ok;
			i++;
		}
		CHECK_EQ(i, n);
		CHECK_EQ(misses, 0);
		ct_reader_close(r);
	}

	/* Query by the rare pid / address: few chunks read, all hits found. */
	for (int which = 0; which < 2; which++) {
		struct ct_reader_io rio = mem_reader_io(&m, 1);
		struct ct_reader *r;
		CHECK_EQ(ct_reader_open(&r, &rio, NULL), 0);
		struct filter_ctx f = {.pid = 999999, .addr = {192, 0, 2, 1}};
		struct ct_query q = {.chunk_filter = which ? addr_filter : pid_filter, .ctx = &f};
		ct_reader_set_query(r, &q);
		const struct ct_record *rec;
		uint64_t hits = 0;
		while (ct_reader_next_event(r, &rec) == 1)
			hits += rec->type == CT_REC_EVENT && rec->ev.task->pid == 999999;
		struct ct_reader_stats st;
		ct_reader_stats(r, &st);
		CHECK_EQ(hits, (n + 10007 - 6) / 10007);
		CHECK_EQ(st.event_chunks, 100);
		/* 5 chunks hold the key; false positives stay near 1%. */
		CHECK(st.chunks_read >= 5 && st.chunks_read <= 8);
		ct_reader_close(r);
	}
	free(m.p);
}

/* Synthetic records and chunks from a "newer writer": skipped, rest read. */
static void test_unknown_skipped(void)
{
	struct membuf m = {0};
	write_trace(&m, CT_COMP_NONE, 10, 1000);
	/* Find the meta chunk (kind 2, codec none; 2.0 event chunks hold
	 * columns, not records) and insert an unknown record (type 9, 3 bytes)
	 * in front of its payload; then append an unknown chunk kind 7 after
	 * it. Rebuild crcs by hand. */
	extern uint32_t ct_crc32(uint32_t crc, const void *buf, size_t len);
	size_t off = 0;
	for (size_t i = 0; i + 4 <= m.len; i++)
		if (!memcmp(m.p + i, "CTCK", 4) && m.p[i + 4] == CT_CHUNK_META) {
			off = i;
			break;
		}
	CHECK(off != 0);
	if (!off) {
		free(m.p);
		return;
	}
	uint32_t sum_len = m.p[off + 40] | m.p[off + 41] << 8;
	uint32_t comp = m.p[off + 36] | m.p[off + 37] << 8 | m.p[off + 38] << 16;
	uint8_t extra[5] = {(9 << 1) | 1, 3, 0xaa, 0xbb, 0xcc};
	uint8_t unk_chunk[56 + 4] = "CTCK";
	size_t chunk_end = off + 56 + sum_len + comp;
	struct membuf n2 = {0};
	mem_write(&n2, m.p, off + 56 + sum_len);
	mem_write(&n2, extra, 5);
	mem_write(&n2, m.p + off + 56 + sum_len, comp);
	/* Unknown chunk kind 7 with a 4-byte payload. */
	unk_chunk[4] = 7;
	unk_chunk[5] = CT_COMP_NONE;
	unk_chunk[6] = 56;
	unk_chunk[32] = 4;
	unk_chunk[36] = 4;
	memcpy(unk_chunk + 56, "junk", 4);
	uint32_t pc = ct_crc32(0, unk_chunk + 56, 4);
	for (int k = 0; k < 4; k++)
		unk_chunk[44 + k] = (uint8_t)(pc >> (8 * k));
	uint32_t hc = ct_crc32(0, unk_chunk, 52);
	for (int k = 0; k < 4; k++)
		unk_chunk[52 + k] = (uint8_t)(hc >> (8 * k));
	mem_write(&n2, unk_chunk, sizeof(unk_chunk));
	mem_write(&n2, m.p + chunk_end, m.len - chunk_end);
	/* Patch the meta chunk: raw and comp sizes + 5, both crcs. */
	uint8_t *h = n2.p + off;
	uint32_t raw = (h[32] | h[33] << 8 | h[34] << 16) + 5;
	comp += 5;
	for (int k = 0; k < 4; k++) {
		h[32 + k] = (uint8_t)(raw >> (8 * k));
		h[36 + k] = (uint8_t)(comp >> (8 * k));
	}
	pc = ct_crc32(0, h + 56, sum_len + comp);
	for (int k = 0; k < 4; k++)
		h[44 + k] = (uint8_t)(pc >> (8 * k));
	hc = ct_crc32(0, h, 52);
	for (int k = 0; k < 4; k++)
		h[52 + k] = (uint8_t)(hc >> (8 * k));
	/* The index no longer matches (offsets moved): the seekable reader
	 * notices, scans, and still reads everything. */
	for (int seekable = 0; seekable < 2; seekable++) {
		struct ct_reader_io io = mem_reader_io(&n2, seekable);
		struct ct_reader *r;
		struct ct_reader_opts ro = {.on_damage = count_damage, .quiet = 1};
		quiet_damage_count = 0;
		CHECK_EQ(ct_reader_open(&r, &io, &ro), 0);
		if (!r)
			continue;
		const struct ct_record *rec;
		uint64_t events = 0;
		int rc;
		while ((rc = ct_reader_next_event(r, &rec)) == 1)
			events += rec->type == CT_REC_EVENT;
		CHECK_EQ(rc, 0);
		CHECK_EQ(events, 10);
		CHECK_EQ(quiet_damage_count, 0);
		ct_reader_close(r);
	}
	free(m.p);
	free(n2.p);
}

/* A real pipe: the writer in a child process, the reader here. */
static void test_pipe(void)
{
	int fds[2];
	CHECK_EQ(pipe(fds), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], 1);
		struct ct_writer *w;
		if (ct_writer_open_file(&w, "-", &test_hdr, NULL))
			_exit(1);
		for (uint64_t i = 0; i < 30000; i++) {
			struct tev ev;
			make_event(&ev, i);
			if (ct_writer_event(w, tev_event(&ev)))
				_exit(1);
			if (i % 5000 == 0 && ct_writer_flush(w))
				_exit(1);
		}
		_exit(ct_writer_close(w) ? 1 : 0);
	}
	close(fds[1]);
	int saved = dup(0);
	dup2(fds[0], 0);
	close(fds[0]);
	struct ct_reader *r;
	struct ct_reader_opts ro = {.name = "pipe"};
	CHECK_EQ(ct_reader_open_file(&r, "-", &ro), 0);
	const struct ct_record *rec;
	uint64_t i = 0, bad = 0;
	int rc;
	while ((rc = ct_reader_next_event(r, &rec)) == 1) {
		struct tev want;
		make_event(&want, i++);
		bad += !read_eq(&rec->ev, &want);
	}
	CHECK_EQ(rc, 0);
	CHECK_EQ(i, 30000);
	CHECK_EQ(bad, 0);
	ct_reader_close(r);
	dup2(saved, 0);
	close(saved);
	int status;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Three inputs with interleaved and equal timestamps. */
static void test_merge(void)
{
	struct membuf m[3] = {{0}};
	for (int k = 0; k < 3; k++) {
		struct ct_writer_io io = mem_writer_io(&m[k]);
		struct ct_writer_opts o = {.chunk_events = 7};
		struct ct_writer *w;
		CHECK_EQ(ct_writer_open(&w, &io, &test_hdr, &o), 0);
		for (uint64_t i = 0; i < 100; i++) {
			struct tev ev = {.ts_ns = i * 3 + (uint64_t)(k == 2 ? 0 : k),
					 .pid = (uint32_t)k,
					 .family = AF_INET};
			ct_writer_event(w, tev_event(&ev));
			if (i % 30 == 0) {
				struct ct_lost l = {
				    .ts_ns = ev.ts_ns, .count = 1, .cpu = (uint32_t)k};
				ct_writer_lost(w, &l);
			}
		}
		CHECK_EQ(ct_writer_close(w), 0);
	}
	struct ct_reader *rs[3];
	for (int k = 0; k < 3; k++) {
		struct ct_reader_io io = mem_reader_io(&m[k], k != 1);
		CHECK_EQ(ct_reader_open(&rs[k], &io, NULL), 0);
	}
	struct ct_merge *mg;
	CHECK_EQ(ct_merge_open(&mg, rs, 3), 0);
	const struct ct_record *rec;
	unsigned in, prev_in = 0;
	uint64_t prev_ts = 0, count = 0, lost = 0;
	int rc;
	uint64_t slices = 0;
	while ((rc = ct_merge_next(mg, &rec, &in)) == 1) {
		/* Meta records of a flush come before its events (FORMAT.md),
		 * so time order is asserted over events. */
		if (rec->type != CT_REC_BATCH) {
			lost++;
			continue;
		}
		const struct ct_batch *b = rec->batch;
		slices++;
		for (uint32_t i = 0; i < b->n; i++) {
			count++;
			uint64_t ts = b->ts_ns[i];
			CHECK(ts >= prev_ts);
			if (ts == prev_ts && count > 1)
				CHECK(in >= prev_in);
			CHECK_EQ(b->tasks[b->task[i]].pid, in);
			prev_ts = ts;
			prev_in = in;
		}
	}
	CHECK_EQ(rc, 0);
	CHECK_EQ(count, 300);
	CHECK_EQ(lost, 12);
	/* Interleaved inputs come out in slices of their batches. */
	CHECK(slices > 43 && slices <= 300);
	ct_merge_close(mg);
	for (int k = 0; k < 3; k++) {
		ct_reader_close(rs[k]);
		free(m[k].p);
	}
}

/* ct_writer_tick: nothing before the interval, a flush once it passed.
 * Both checks hold however slow the machine is. */
static void test_tick(void)
{
	struct membuf m = {0};
	struct ct_writer_io io = mem_writer_io(&m);
	struct ct_writer_opts o = {.compress = CT_COMP_ZSTD, .flush_interval_ns = 3600000000000ULL};
	struct ct_writer *w;
	CHECK_EQ(ct_writer_open(&w, &io, &test_hdr, &o), 0);
	struct tev ev;
	make_event(&ev, 0);
	ct_writer_event(w, tev_event(&ev));
	size_t hdr = m.len;
	CHECK_EQ(ct_writer_tick(w), 0);
	CHECK_EQ(m.len, hdr); /* an hour has not passed */
	CHECK_EQ(ct_writer_bytes(w), hdr);
	ct_writer_abort(w);
	free(m.p);

	memset(&m, 0, sizeof(m));
	io = mem_writer_io(&m);
	o.flush_interval_ns = 1000000; /* 1 ms */
	CHECK_EQ(ct_writer_open(&w, &io, &test_hdr, &o), 0);
	ct_writer_event(w, tev_event(&ev));
	hdr = m.len;
	struct timespec ts = {0, 5000000};
	nanosleep(&ts, NULL);
	CHECK_EQ(ct_writer_tick(w), 0);
	CHECK(m.len > hdr);
	CHECK_EQ(ct_writer_bytes(w), m.len);
	/* The flushed chunk reads back before the writer is closed. */
	struct ct_reader_io rio = mem_reader_io(&m, 0);
	struct ct_reader *r;
	CHECK_EQ(ct_reader_open(&r, &rio, NULL), 0);
	const struct ct_record *rec;
	CHECK_EQ(ct_reader_next_event(r, &rec), 1);
	CHECK(r && read_eq(&rec->ev, &ev));
	ct_reader_close(r);
	CHECK_EQ(ct_writer_close(w), 0);
	free(m.p);
}

/* A batch names each event's process context and destination by index
 * into its two tables: every index in range, the tables' entries distinct
 * (interned, 1.x chunks too), and each event's view pointing at them.
 * Returns the number of events read. */
static uint64_t check_tables(struct ct_reader *r)
{
	const struct ct_record *rec;
	uint64_t events = 0, bad = 0, dup = 0;
	while (ct_reader_next(r, &rec) == 1) {
		if (rec->type != CT_REC_BATCH)
			continue;
		const struct ct_batch *b = rec->batch;
		for (uint32_t i = 0; i < b->n; i++) {
			struct ct_event ev;
			ct_batch_event(b, i, &ev);
			bad += b->task[i] >= b->ntasks || b->dest[i] >= b->ndests ||
			       ev.task != &b->tasks[b->task[i]] || ev.dest != &b->dests[b->dest[i]];
		}
		for (uint32_t j = 1; j < b->ntasks && j < 200; j++)
			for (uint32_t k = 0; k < j; k++)
				dup += !memcmp(&b->tasks[j], &b->tasks[k], sizeof(b->tasks[k]));
		for (uint32_t j = 1; j < b->ndests && j < 200; j++)
			for (uint32_t k = 0; k < j; k++) {
				const struct ct_dest *x = &b->dests[j], *y = &b->dests[k];
				dup += x->family == y->family && x->type == y->type &&
				       x->proto == y->proto && x->dport == y->dport &&
				       x->scope_id == y->scope_id && x->path_len == y->path_len &&
				       !memcmp(x->daddr, y->daddr, 16) &&
				       (!x->path_len || !memcmp(x->path, y->path, x->path_len));
			}
		events += b->n;
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(dup, 0);
	return events;
}

static void test_tables(void)
{
	struct membuf m = {0};
	write_trace(&m, CT_COMP_ZSTD, 20000, 3000);
	for (int seekable = 1; seekable >= 0; seekable--) {
		struct ct_reader_io io = mem_reader_io(&m, seekable);
		struct ct_reader *r;
		CHECK_EQ(ct_reader_open(&r, &io, NULL), 0);
		CHECK_EQ(check_tables(r), 20000);
		ct_reader_close(r);
	}
	free(m.p);
	/* Format 1.0 files (row-encoded event chunks) from the repository. */
	const char *samples[] = {"samples/small.ctr", "samples/storm.ctr"};
	for (int i = 0; i < 2; i++) {
		struct ct_reader *r;
		CHECK_EQ(ct_reader_open_file(&r, samples[i], NULL), 0);
		if (!r)
			continue;
		CHECK_EQ(ct_reader_header(r)->version_major, 1);
		CHECK(check_tables(r) > 1000);
		ct_reader_close(r);
	}
}

/* Write evs (already normalised: what the reader must give back) as one
 * uncompressed chunk and read them back field by field, stream and index. */
static void cols_round_trip(struct tev *evs, uint32_t n, struct membuf *m)
{
	struct ct_writer_io io = mem_writer_io(m);
	struct ct_writer_opts o = {.compress = CT_COMP_NONE, .chunk_events = n};
	struct ct_writer *w;
	CHECK_EQ(ct_writer_open(&w, &io, &test_hdr, &o), 0);
	for (uint32_t i = 0; i < n; i++)
		CHECK_EQ(ct_writer_event(w, tev_event(&evs[i])), 0);
	CHECK_EQ(ct_writer_close(w), 0);
	for (int seekable = 0; seekable < 2; seekable++) {
		struct ct_reader_io rio = mem_reader_io(m, seekable);
		struct ct_reader_opts ro = {.on_damage = count_damage};
		struct ct_reader *r;
		quiet_damage_count = 0;
		CHECK_EQ(ct_reader_open(&r, &rio, &ro), 0);
		if (!r)
			return;
		CHECK_EQ(ct_reader_header(r)->version_major, 2);
		const struct ct_record *rec;
		uint32_t i = 0, bad = 0;
		while (ct_reader_next_event(r, &rec) == 1)
			if (rec->type == CT_REC_EVENT)
				bad += i >= n || !read_eq(&rec->ev, &evs[i++]);
		CHECK_EQ(i, n);
		CHECK_EQ(bad, 0);
		CHECK_EQ(quiet_damage_count, 0);
		ct_reader_close(r);
	}
}

/* The widths of the columns of the first event chunk in m (codec none). */
static void col_widths(const struct membuf *m, unsigned *w)
{
	for (int k = 0; k < CT_NCOLS; k++)
		w[k] = 99;
	for (size_t off = 0; off + 56 <= m->len; off++) {
		if (memcmp(m->p + off, "CTCK", 4) || m->p[off + 4] != CT_CHUNK_EVENTS)
			continue;
		uint32_t sum = get_le32(m->p + off + 40), raw = get_le32(m->p + off + 32);
		const uint8_t *p = m->p + off + 56 + sum, *end = p + raw;
		uint64_t n = 0, np = 0, nd = 0, v;
		p = get_varint(p, end, &n);
		p = get_varint(p, end, &np);
		for (uint64_t i = 0; p && i < np; i++) {
			for (int k = 0; k < 5 && p; k++)
				p = get_varint(p, end, &v);
			p = p ? p + 1 + *p : NULL;
		}
		p = p ? get_varint(p, end, &nd) : NULL;
		for (uint64_t i = 0; p && i < nd; i++) {
			uint64_t fam;
			p = get_varint(p, end, &fam);
			p = p ? get_varint(p, end, &v) : NULL;
			p = p ? get_varint(p, end, &v) : NULL;
			p = p ? p + (fam == AF_INET ? 4 : 16) + 2 : NULL;
			p = p ? p + 1 + *p : NULL;
			p = p ? get_varint(p, end, &v) : NULL;
		}
		for (int k = 0; p && k < CT_NCOLS; k++) {
			w[k] = *p;
			p = get_varint(p + 1, end, &v);
			p = p ? p + w[k] * n : NULL;
		}
		CHECK(p != NULL);
		return;
	}
	CHECK(!"no event chunk");
}

/* Format 2.0 columns: every width 0..8 of a 64-bit column, extreme values
 * of every field, chunks of one event and of CT_CHUNK_EVENTS_MAX. */
static void test_columns(void)
{
	struct tev evs[4];
	struct membuf m = {0};
	unsigned w[CT_NCOLS];

	/* latency spans exactly k bytes: its column has width k. */
	for (unsigned k = 0; k <= 8; k++) {
		for (int i = 0; i < 4; i++) {
			make_event(&evs[i], 7); /* same process and destination */
			evs[i].ts_ns = 5000 + (uint64_t)i;
			evs[i].latency_ns = 12345;
		}
		if (k == 8) {
			evs[0].latency_ns = 0;
			evs[2].latency_ns = UINT64_MAX;
		} else if (k) {
			evs[1].latency_ns = 12345 + ((1ULL << (8 * k)) - 1);
			evs[3].latency_ns = 12345 + ((1ULL << (8 * (k - 1))));
		}
		for (int i = 0; i < 4; i++)
			tev_normalise(&evs[i]);
		m.len = 0;
		cols_round_trip(evs, 4, &m);
		col_widths(&m, w);
		CHECK_EQ(w[CT_COLP_LATENCY], k);
		CHECK_EQ(w[CT_COLP_TASK], 0);
		CHECK_EQ(w[CT_COLP_DEST], 0);
		CHECK_EQ(w[CT_COLP_TS], 1);
	}

	/* Extremes: u32/u64 limits, the widest tid offsets, int32 limits,
	 * every flag bit, an "other" family with a path, no NUL in comm. */
	memset(evs, 0, sizeof(evs));
	evs[0].ts_ns = 0;
	evs[0].pid = UINT32_MAX;
	evs[0].tid = 0;
	evs[0].sockfd = INT32_MIN;
	evs[0].ret = INT32_MAX;
	evs[0].flags = 0xffff; /* a writer keeps CT_EV_STORED of them */
	evs[0].sport = 65535;
	evs[0].cgroup_id = UINT64_MAX;
	evs[0].latency_ns = UINT64_MAX;
	evs[0].family = 0xffff;
	evs[0].type = 0xffff;
	evs[0].proto = 0xffff;
	evs[0].dport = 65535;
	evs[0].scope_id = UINT32_MAX;
	evs[0].ppid = evs[0].uid = evs[0].gid = UINT32_MAX;
	memset(evs[0].daddr, 0xff, 16);
	memset(evs[0].saddr, 0xee, 16);
	memcpy(evs[0].comm, "0123456789abcdef", 16);
	evs[0].path_len = CT_UNIX_PATH_MAX;
	memset(evs[0].path, 'p', CT_UNIX_PATH_MAX);
	evs[1] = evs[0];
	evs[1].ts_ns = UINT64_MAX; /* a delta of 8 bytes */
	evs[1].pid = 0;
	evs[1].tid = UINT32_MAX;
	evs[1].sockfd = INT32_MAX;
	evs[1].ret = INT32_MIN;
	evs[1].flags = CT_EV_SADDR;
	evs[1].family = AF_INET;
	evs[1].latency_ns = 0;
	evs[1].path_len = 0;
	memset(evs[1].path, 0, CT_UNIX_PATH_MAX);
	evs[2] = evs[1];
	evs[2].flags = 0;  /* saddr and sport are dropped without the flag */
	evs[2].tid = 0;	   /* zigzag(tid - pid) 0 .. 2^33 - 3: 5 bytes */
	evs[2].sockfd = 0; /* zigzag 0 .. 2^32 - 1: 4 bytes */
	for (int i = 0; i < 3; i++)
		tev_normalise(&evs[i]);
	CHECK_EQ(evs[2].sport, 0);
	CHECK(evs[1].saddr[0] == 0xee && evs[1].saddr[4] == 0);
	m.len = 0;
	cols_round_trip(evs, 3, &m);
	col_widths(&m, w);
	CHECK_EQ(w[CT_COLP_TS], 8);
	CHECK_EQ(w[CT_COLP_TID], 5);
	CHECK_EQ(w[CT_COLP_SOCKFD], 4);
	CHECK_EQ(w[CT_COLP_FLAGS], 1); /* the stored bits only */
	CHECK_EQ(w[CT_COLP_SPORT], 2);
	CHECK_EQ(w[CT_COLP_TASK], 1);

	/* One event; CT_CHUNK_EVENTS_MAX events in one chunk. */
	make_event(&evs[0], 3);
	tev_normalise(&evs[0]);
	m.len = 0;
	cols_round_trip(evs, 1, &m);
	uint32_t n = CT_CHUNK_EVENTS_MAX;
	struct tev *big = malloc(n * sizeof(*big));
	for (uint32_t i = 0; big && i < n; i++) {
		make_event(&big[i], i);
		big[i].pid = 1000 + i; /* a table entry per event */
		big[i].tid = big[i].pid + i % 3;
		tev_normalise(&big[i]);
	}
	if (big) {
		m.len = 0;
		cols_round_trip(big, n, &m);
		col_widths(&m, w);
		CHECK_EQ(w[CT_COLP_TASK], 3);
	}
	free(big);
	free(m.p);
}

/* Outcome records through their codec: every field of every record back,
 * over more records than one decoding block (outcodec.c decodes 512 at a
 * time), and a bad record in a later block still rejects the chunk. */
static struct ct_oc_rec oc_make(uint32_t i)
{
	struct ct_oc_rec r = {.seq = 3 + i / 700,
			      .index = i % 700,
			      .ts_ns = 1000000 + (uint64_t)i * 37 - (i % 5) * 3,
			      .tid = 4000 + i % 9,
			      .flags = i % 3 ? CT_OC_RESULT : CT_OC_RESULT | CT_OC_CLOSED,
			      .result = i % 4 ? 0 : -111 - (int32_t)(i % 7),
			      .result_ns = 50000 + i,
			      .closed_ns = i % 3 ? 0 : 90000 + (uint64_t)i * 1000,
			      .tx_bytes = i % 3 ? 0 : (uint64_t)i << 33,
			      .rx_bytes = i % 3 ? 0 : i};
	return r;
}

static const char *oc_round_trip(const struct ct_oc_rec *in, uint32_t n, struct ct_oc_rec **out,
				 uint32_t *cap)
{
	struct ct_bytes scratch = {0}, enc = {0};
	uint64_t first = UINT64_MAX;
	for (uint32_t i = 0; i < n; i++)
		first = in[i].ts_ns < first ? in[i].ts_ns : first;
	CHECK_EQ(ct_oc_encode(in, n, first, &scratch, &enc), 0);
	const char *why = ct_oc_decode(enc.p, enc.len, n, first, out, cap);
	free(scratch.p);
	free(enc.p);
	return why;
}

static void test_outcome_codec(void)
{
	uint32_t n = 1300, cap = 0;
	struct ct_oc_rec *in = calloc(n, sizeof(*in)), *out = NULL;
	if (!in)
		return;
	for (uint32_t i = 0; i < n; i++)
		in[i] = oc_make(i);
	const char *why = oc_round_trip(in, n, &out, &cap);
	CHECK(!why, "%s", why);
	for (uint32_t i = 0; !why && i < n; i++) {
		const struct ct_oc_rec *a = &in[i], *b = &out[i];
		CHECK(a->seq == b->seq && a->index == b->index && a->ts_ns == b->ts_ns &&
			  a->tid == b->tid && a->flags == b->flags && a->result == b->result &&
			  a->result_ns == b->result_ns && a->closed_ns == b->closed_ns &&
			  a->tx_bytes == b->tx_bytes && a->rx_bytes == b->rx_bytes,
		      "record %u", i);
	}
	/* Handshakes only: the close columns are stored without bytes. */
	for (uint32_t i = 0; i < n; i++) {
		in[i].flags = CT_OC_RESULT;
		in[i].closed_ns = in[i].tx_bytes = in[i].rx_bytes = 0;
	}
	why = oc_round_trip(in, n, &out, &cap);
	CHECK(!why && out[1299].result == in[1299].result && out[1299].rx_bytes == 0 &&
	      out[600].ts_ns == in[600].ts_ns);
	/* Out of order at the boundary of two blocks, and inside the last. */
	for (uint32_t at = 512; at <= 1200; at += 688) {
		for (uint32_t i = 0; i < n; i++)
			in[i] = oc_make(i);
		in[at].seq = in[at - 1].seq;
		in[at].index = in[at - 1].index;
		why = oc_round_trip(in, n, &out, &cap);
		CHECK(why && !strcmp(why, "records out of order"), "at %u: %s", at,
		      why ? why : "ok");
	}
	/* A flag value past the stored bits, in the third block only. */
	for (uint32_t i = 0; i < n; i++)
		in[i] = oc_make(i);
	in[1100].flags = 0x10;
	why = oc_round_trip(in, n, &out, &cap);
	CHECK(why && !strcmp(why, "value out of range"), "%s", why ? why : "ok");
	free(in);
	free(out);
}

static void test_strerror(void)
{
	for (int e = CT_E_NOSPC; e <= 0; e++)
		CHECK(strcmp(ct_strerror(e), "unknown error") != 0);
	CHECK(!strcmp(ct_strerror(-1000), "unknown error"));
}

int main(void)
{
	test_round_trips();
	test_sorting();
	test_time_query();
	test_bloom();
	test_unknown_skipped();
	test_pipe();
	test_merge();
	test_tick();
	test_tables();
	test_columns();
	test_outcome_codec();
	test_strerror();
	return check_done("test_format");
}
