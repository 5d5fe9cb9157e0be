/* SPDX-License-Identifier: MIT */
/* test_format_damage: the reader on truncated, bit-flipped and hostile
 * files (no crash, damage reported, the rest read, allocation bounded);
 * header errors; the writer on a full disk; file creation rules. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "test_format_common.h"

extern uint32_t ct_crc32(uint32_t crc, const void *buf, size_t len);

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A small trace: 300 events in chunks of 50 plus proc and lost records. */
static void small_trace(struct membuf *m, enum ct_compress c)
{
	struct ct_writer_io io = mem_writer_io(m);
	struct ct_writer_opts o = {.compress = c, .chunk_events = 50};
	struct ct_writer *w;
	char exe[64], cmd[64];
	CHECK_EQ(ct_writer_open(&w, &io, &test_hdr, &o), 0);
	for (uint64_t i = 0; i < 300; i++) {
		struct tev ev;
		if (i % 60 == 0) {
			struct ct_proc p;
			make_proc(&p, i, exe, cmd);
			ct_writer_proc(w, &p);
		}
		make_event(&ev, i);
		ct_writer_event(w, tev_event(&ev));
	}
	struct ct_lost l = {.ts_ns = 5, .count = 3, .cpu = 0};
	ct_writer_lost(w, &l);
	CHECK_EQ(ct_writer_close(w), 0);
}

/* Read all; returns events, -1 when open failed; every event must be one
 * of the generated ones (same fields as make_event at its position). */
static long read_all(const uint8_t *p, size_t len, int seekable, int *open_err, long *bad)
{
	struct membuf m = {.p = (uint8_t *)p, .len = len};
	struct ct_reader_io io = mem_reader_io(&m, seekable);
	struct ct_reader_opts ro = {.on_damage = count_damage, .quiet = 1};
	struct ct_reader *r;
	int err = ct_reader_open(&r, &io, &ro);
	if (open_err)
		*open_err = err;
	if (err)
		return -1;
	const struct ct_record *rec;
	long events = 0;
	int rc;
	while ((rc = ct_reader_next_event(r, &rec)) == 1) {
		if (rec->type != CT_REC_EVENT)
			continue;
		events++;
		if (bad) {
			/* Recover i from the timestamp: ts = 1e6 + i*1500 + (i%7)*3 */
			uint64_t i = (rec->ev.ts_ns - 1000000) / 1500;
			struct tev want;
			make_event(&want, i);
			*bad += !read_eq(&rec->ev, &want);
		}
	}
	if (rc < 0)
		events = -2;
	ct_reader_close(r);
	return events;
}

/* Cut the file at every byte: never a crash; once the header is whole,
 * open succeeds and every chunk that ends before the cut is read. */
static void test_truncation(void)
{
	struct membuf m = {0};
	small_trace(&m, CT_COMP_ZSTD);
	/* Where each event chunk ends and how many events it completes. */
	size_t ends[64];
	long counts[64];
	int nends = 0;
	long total = 0;
	for (size_t i = 0; i + 56 <= m.len; i++) {
		if (memcmp(m.p + i, "CTCK", 4))
			continue;
		uint32_t hs = m.p[i + 6] | m.p[i + 7] << 8;
		uint32_t sum = m.p[i + 40] | m.p[i + 41] << 8 | m.p[i + 42] << 16;
		uint32_t comp = m.p[i + 36] | m.p[i + 37] << 8 | m.p[i + 38] << 16;
		if (m.p[i + 4] == CT_CHUNK_EVENTS && nends < 64) {
			uint32_t recs = m.p[i + 12] | m.p[i + 13] << 8;
			total += recs;
			ends[nends] = i + hs + sum + comp;
			counts[nends++] = total;
		}
	}
	CHECK_EQ(nends, 6);
	CHECK_EQ(total, 300);
	for (int seekable = 0; seekable < 2; seekable++) {
		for (size_t cut = 0; cut <= m.len; cut++) {
			int err;
			long bad = 0;
			quiet_damage_count = 0;
			long n = read_all(m.p, cut, seekable, &err, &bad);
			CHECK_EQ(bad, 0);
			if (n == -1) {
				CHECK(err == CT_E_MAGIC || err == CT_E_TRUNCATED);
				if (cut > 200)
					CHECK(!"open failed after the header");
				continue;
			}
			CHECK(n >= 0);
			long want = 0;
			for (int k = 0; k < nends; k++)
				if (ends[k] <= cut)
					want = counts[k];
			if (cut < m.len && n < want) {
				fprintf(stderr, "cut %zu (seekable %d): %ld events, want >= %ld\n",
					cut, seekable, n, want);
				t_fails++;
			}
			if (cut == m.len)
				CHECK_EQ(n, 300);
		}
	}
	free(m.p);
}

/* Random bit flips: never a crash, each damaged chunk reported, all other
 * events intact. */
static void test_bit_flips(void)
{
	const enum ct_compress codecs[] = {CT_COMP_ZSTD, CT_COMP_ZLIB, CT_COMP_NONE};
	for (int c = 0; c < 3; c++) {
		struct membuf m = {0};
		small_trace(&m, codecs[c]);
		uint8_t *copy = malloc(m.len);
		for (int trial = 0; trial < 400; trial++) {
			memcpy(copy, m.p, m.len);
			int flips = 1 + (int)(rnd() % 3);
			for (int f = 0; f < flips; f++) {
				/* Past the header, so open succeeds. */
				size_t at = 200 + rnd() % (m.len - 200);
				copy[at] ^= (uint8_t)(1u << (rnd() % 8));
			}
			for (int seekable = 0; seekable < 2; seekable++) {
				long bad = 0;
				int err;
				quiet_damage_count = 0;
				long n = read_all(copy, m.len, seekable, &err, &bad);
				CHECK_EQ(bad, 0);
				CHECK(n >= 0);
				/* Flips in an event chunk's payload lose <= 50 events each. */
				CHECK(n >= 300 - 50 * flips);
				if (n < 300)
					CHECK(quiet_damage_count > 0);
			}
		}
		free(copy);
		free(m.p);
	}
}

/* Header errors are clear. */
static void test_header_errors(void)
{
	struct membuf m = {0};
	small_trace(&m, CT_COMP_ZSTD);
	int err;
	uint8_t *c = malloc(m.len);

	memcpy(c, m.p, m.len);
	c[1] = 'X';
	CHECK_EQ(read_all(c, m.len, 1, &err, NULL), -1);
	CHECK_EQ(err, CT_E_MAGIC);
	memcpy(c, m.p, m.len);
	c[8] = CT_FORMAT_MAJOR + 1; /* a newer major */
	read_all(c, m.len, 0, &err, NULL);
	CHECK_EQ(err, CT_E_VERSION);
	read_all(m.p, 12, 1, &err, NULL);
	CHECK_EQ(err, CT_E_TRUNCATED);
	read_all(m.p, 40, 0, &err, NULL);
	CHECK_EQ(err, CT_E_TRUNCATED);
	read_all(m.p, 0, 0, &err, NULL);
	CHECK_EQ(err, CT_E_MAGIC);
	memcpy(c, m.p, m.len);
	c[20] ^= 1; /* inside the TLVs: header crc */
	read_all(c, m.len, 1, &err, NULL);
	CHECK_EQ(err, CT_E_CORRUPT);
	/* A newer minor version with an unknown TLV still reads. */
	struct membuf n = {0};
	uint32_t tlv_len = m.p[12] | m.p[13] << 8 | m.p[14] << 16;
	size_t hdr = 16 + tlv_len + 4;
	mem_write(&n, m.p, 16 + tlv_len);
	mem_write(&n, "\x63\x00\x03\x00\x00\x00xyz", 9);
	mem_write(&n, "\0\0\0\0", 4);
	n.p[10] = 7; /* minor 7 */
	put32(n.p + 12, tlv_len + 9);
	put32(n.p + n.len - 4, ct_crc32(0, n.p, n.len - 4));
	mem_write(&n, m.p + hdr, m.len - hdr);
	/* The index offsets moved, so the reader scans; all events are there. */
	CHECK_EQ(read_all(n.p, n.len, 1, &err, NULL), 300);
	CHECK_EQ(read_all(n.p, n.len, 0, &err, NULL), 300);
	free(n.p);
	free(c);
	free(m.p);
}

/* Lengths from the file are never trusted: a chunk that claims 64 MiB raw
 * from a few bytes, or a huge count, does not make the reader allocate. */
static void test_hostile_lengths(void)
{
	struct membuf m = {0};
	small_trace(&m, CT_COMP_ZSTD);
	uint32_t tlv_len = m.p[12] | m.p[13] << 8 | m.p[14] << 16;
	size_t hdr = 16 + tlv_len + 4;
	struct membuf h = {0};
	mem_write(&h, m.p, hdr);
	/* Chunk claims raw 64 MiB from 16 bytes of "zstd" and 256 KiB summary
	 * that is not there; crcs are valid so only the bounds protect us. */
	uint8_t ch[56 + 16] = "CTCK";
	ch[4] = CT_CHUNK_EVENTS;
	ch[5] = CT_COMP_ZSTD;
	ch[6] = 56;
	put32(ch + 12, 0xffffffff); /* records */
	put32(ch + 32, 64u << 20);  /* raw */
	put32(ch + 36, 16);	    /* comp */
	put32(ch + 44, ct_crc32(0, ch + 56, 16));
	put32(ch + 52, ct_crc32(0, ch, 52));
	mem_write(&h, ch, sizeof(ch));
	/* Then a chunk whose comp_size runs past the end of the file. */
	put32(ch + 32, 100);
	put32(ch + 36, 60u << 20);
	put32(ch + 52, ct_crc32(0, ch, 52));
	mem_write(&h, ch, sizeof(ch));
	struct mallinfo2 before = mallinfo2();
	for (int seekable = 0; seekable < 2; seekable++) {
		quiet_damage_count = 0;
		long n = read_all(h.p, h.len, seekable, NULL, NULL);
		CHECK_EQ(n, 0);
		CHECK(quiet_damage_count >= 1);
	}
	struct mallinfo2 after = mallinfo2();
	CHECK(after.uordblks < before.uordblks + (8u << 20));
	free(h.p);

	/* The index claims 2^31 entries: rejected, the file is scanned. */
	struct membuf x = {0};
	mem_write(&x, m.p, m.len);
	uint8_t *t = x.p + x.len - 32;
	put32(t + 20, 0x7fffffff);
	put32(t + 4, ct_crc32(0, t + 8, 16));
	CHECK_EQ(read_all(x.p, x.len, 1, NULL, NULL), 300);
	/* Trailer pointing before the header / past the end. */
	memcpy(x.p, m.p, m.len);
	put32(t + 8, 3);
	put32(t + 4, ct_crc32(0, t + 8, 16));
	CHECK_EQ(read_all(x.p, x.len, 1, NULL, NULL), 300);
	memcpy(x.p, m.p, m.len);
	put32(t + 12, 0x100);
	put32(t + 4, ct_crc32(0, t + 8, 16));
	CHECK_EQ(read_all(x.p, x.len, 1, NULL, NULL), 300);
	free(x.p);
	free(m.p);
}

/* ---- hand-made format 2.0 event payloads */

static void put_v(struct membuf *m, uint64_t v)
{
	uint8_t t[10], *p = t;
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	mem_write(m, t, (size_t)(p - t));
}

static void put_b(struct membuf *m, const void *b, size_t n)
{
	mem_write(m, b, n);
}

/* A column: width w, base, then w planes of d[0..n). */
static void put_col(struct membuf *m, unsigned w, uint64_t base, const uint64_t *d, uint32_t n)
{
	uint8_t wb = (uint8_t)w;
	put_b(m, &wb, 1);
	put_v(m, base);
	for (unsigned k = 0; k < w && k < 8; k++)
		for (uint32_t i = 0; i < n; i++) {
			uint8_t b = (uint8_t)(d[i] >> (8 * k));
			put_b(m, &b, 1);
		}
}

enum craft {
	C_OK,
	C_N_TOO_LARGE,
	C_N_MISMATCH,
	C_WIDTH9,
	C_WIDE32,
	C_PIDX_RANGE,
	C_DIDX_RANGE,
	C_SADDR_SHORT,
	C_SADDR_LONG,
	C_TRUNC_PLANES,
	C_TID,
	C_SOCKFD,
	C_TS_OVERFLOW,
	C_ZERO_WIDTH_MAX,
	C_LATE_PIDX,
	C_COUNT,
};

static const char *craft_why[C_COUNT] = {
    [C_N_TOO_LARGE] = "bad event count",
    [C_N_MISMATCH] = "bad event count",
    [C_WIDTH9] = "bad column width",
    [C_WIDE32] = "column too wide for its field",
    [C_PIDX_RANGE] = "process index out of range",
    [C_DIDX_RANGE] = "destination index out of range",
    [C_SADDR_SHORT] = "bad saddr bytes",
    [C_SADDR_LONG] = "bad saddr bytes",
    [C_TRUNC_PLANES] = "truncated column",
    [C_TID] = "bad tid",
    [C_SOCKFD] = "bad sockfd",
    [C_TS_OVERFLOW] = "bad timestamps",
    [C_LATE_PIDX] = "process index out of range",
};

/* Four events (one process; an IPv4 and an IPv6 destination; the IPv6
 * ones with a source address), damaged as variant v says. *records gets
 * what the chunk header should claim. */
static void craft_payload(struct membuf *m, enum craft v, uint32_t *records)
{
	uint32_t n = 4;
	if (v == C_N_TOO_LARGE)
		n = 131072 + 1;
	if (v == C_ZERO_WIDTH_MAX)
		n = 131072;
	if (v == C_LATE_PIDX) /* a bad process index in the second block */
		n = 1000;
	*records = n + (v == C_N_MISMATCH);
	put_v(m, n);
	/* process table: pid 100, ppid 1, uid 0, gid 0, cgroup 7, comm "x" */
	put_v(m, 1);
	put_v(m, 100);
	put_v(m, 1);
	put_v(m, 0);
	put_v(m, 0);
	put_v(m, 7);
	put_b(m, "\x01x", 2);
	/* destinations: 10.0.0.1:443 tcp, [2001:db8::1]:53 udp */
	put_v(m, 2);
	put_v(m, AF_INET);
	put_v(m, SOCK_STREAM);
	put_v(m, IPPROTO_TCP);
	put_b(m, "\x0a\x00\x00\x01\xbb\x01\x00", 7);
	put_v(m, 0);
	put_v(m, AF_INET6);
	put_v(m, SOCK_DGRAM);
	put_v(m, IPPROTO_UDP);
	put_b(m, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01\x35\x00\x00", 19);
	put_v(m, 0);
	if (n > 4) {
		/* every column width 0: no bytes, however many events; or all
		 * but the process index, which is 1 (past the table) at 900 */
		uint64_t *pidx = calloc(n, sizeof(*pidx));
		pidx[n > 900 ? 900 : 0] = v == C_LATE_PIDX;
		for (int k = 0; k < 9; k++)
			put_col(m, k == 1 && v == C_LATE_PIDX, k == 4 ? 6 : 0, pidx,
				n); /* sockfd 3 */
		free(pidx);
		return;
	}
	uint64_t ts[4] = {0, 1, 2, 3}, dest[4] = {0, 1, 0, 1}, flags[4] = {0, 4, 0, 4};
	size_t cut_at = 0;
	if (v == C_DIDX_RANGE)
		dest[3] = 2;
	put_col(m, v == C_WIDTH9 ? 9 : 1, v == C_TS_OVERFLOW ? UINT64_MAX : 0, ts, n);
	put_col(m, v == C_WIDE32 ? 5 : 0, v == C_PIDX_RANGE ? 1 : 0, ts, n);
	cut_at = m->len + 3;
	put_col(m, 1, 0, dest, n);
	put_col(m, 0, v == C_TID ? 2 * (uint64_t)UINT32_MAX : 0, NULL, n);
	put_col(m, 0, v == C_SOCKFD ? 1ULL << 32 : 6, NULL, n);
	put_col(m, 0, 0, NULL, n);
	put_col(m, 0, 0, NULL, n);
	put_col(m, 1, 0, flags, n);
	put_col(m, 0, 0, NULL, n);
	uint8_t saddr[33];
	memset(saddr, 0x5a, sizeof(saddr));
	put_b(m, saddr, v == C_SADDR_SHORT ? 31 : v == C_SADDR_LONG ? 33 : 32);
	if (v == C_TRUNC_PLANES)
		m->len = cut_at;
}

static char last_why[64];
static void note_damage(void *ctx, const struct ct_damage *d)
{
	(void)ctx;
	quiet_damage_count++;
	snprintf(last_why, sizeof(last_why), "%s", d->what);
}

/* Hostile payloads in a chunk whose sizes and checksums are right: each is
 * reported with its reason and skipped; nothing is allocated for events
 * the payload does not hold. */
static void test_hostile_columns(void)
{
	struct membuf m = {0};
	small_trace(&m, CT_COMP_NONE);
	uint32_t tlv_len = m.p[12] | m.p[13] << 8 | m.p[14] << 16;
	size_t hdr = 16 + tlv_len + 4;

	for (int v = 0; v < C_COUNT; v++) {
		struct membuf pl = {0}, f = {0};
		uint32_t records;
		craft_payload(&pl, (enum craft)v, &records);
		mem_write(&f, m.p, hdr);
		uint8_t ch[56] = "CTCK";
		ch[4] = CT_CHUNK_EVENTS;
		ch[5] = CT_COMP_NONE;
		ch[6] = 56;
		put32(ch + 12, records);
		ch[16] = 10; /* first_ts */
		ch[24] = 13; /* last_ts */
		put32(ch + 32, (uint32_t)pl.len);
		put32(ch + 36, (uint32_t)pl.len);
		put32(ch + 44, ct_crc32(0, pl.p, pl.len));
		put32(ch + 52, ct_crc32(0, ch, 52));
		mem_write(&f, ch, 56);
		mem_write(&f, pl.p, pl.len);
		struct mallinfo2 before = mallinfo2();
		for (int seekable = 0; seekable < 2; seekable++) {
			struct membuf in = {.p = f.p, .len = f.len};
			struct ct_reader_io io = mem_reader_io(&in, seekable);
			struct ct_reader_opts ro = {.on_damage = note_damage, .quiet = 1};
			struct ct_reader *r;
			quiet_damage_count = 0;
			last_why[0] = 0;
			CHECK_EQ(ct_reader_open(&r, &io, &ro), 0);
			if (!r)
				continue;
			const struct ct_record *rec;
			long events = 0, wrong = 0;
			int rc;
			while ((rc = ct_reader_next_event(r, &rec)) == 1) {
				events++;
				/* pid 100, tid = pid, sockfd 3 in every good event */
				wrong += rec->ev.task->pid != 100 || rec->ev.tid != 100 ||
					 rec->ev.sockfd != 3;
			}
			CHECK_EQ(rc, 0);
			CHECK_EQ(wrong, 0);
			if (v == C_OK || v == C_ZERO_WIDTH_MAX) {
				CHECK_EQ(events, v == C_OK ? 4 : 131072);
				CHECK_EQ(quiet_damage_count, 0);
			} else {
				/* the blocks before the bad one are kept */
				CHECK_EQ(events, v == C_LATE_PIDX ? 512 : 0);
				CHECK_EQ(quiet_damage_count, 1);
				if (strcmp(last_why, craft_why[v])) {
					fprintf(stderr, "variant %d: damage '%s', want '%s'\n", v,
						last_why, craft_why[v]);
					t_fails++;
				}
			}
			ct_reader_close(r);
			/* Reading fewer columns (report's way) keeps and reports
			 * exactly the same: columns it does not read are checked. */
			char why1[64];
			int damage1 = quiet_damage_count;
			snprintf(why1, sizeof(why1), "%s", last_why);
			in = (struct membuf){.p = f.p, .len = f.len};
			io = mem_reader_io(&in, seekable);
			quiet_damage_count = 0;
			last_why[0] = 0;
			CHECK_EQ(ct_reader_open(&r, &io, &ro), 0);
			if (!r)
				continue;
			long bevents = 0;
			CHECK_EQ(ct_reader_set_columns(r, CT_COL_RESULT), 0);
			while ((rc = ct_reader_next(r, &rec)) > 0)
				bevents += rec->type == CT_REC_BATCH ? (long)rec->batch->n : 0;
			CHECK_EQ(rc, 0);
			CHECK_EQ(bevents, events);
			CHECK_EQ(quiet_damage_count, damage1);
			CHECK(!strcmp(last_why, why1));
			ct_reader_close(r);
		}
		struct mallinfo2 after = mallinfo2();
		CHECK(after.uordblks < before.uordblks + (8u << 20));
		free(pl.p);
		free(f.p);
	}
	free(m.p);
}

static int want_addr50(void *ctx, const struct ct_chunk_info *c)
{
	static const uint8_t a[4] = {10, 0, 0, 50};
	(void)ctx;
	return ct_chunk_may_contain(c, CT_KEY_DADDR, a, 4);
}

/* Events of a query on a file (filtered: to daddr 10.0.0.50, which only
 * event 50 has, through chunk summaries and per event); its stats in st. */
static long query_file(const uint8_t *p, size_t len, int filtered, uint64_t since, uint64_t until,
		       struct ct_reader_stats *st)
{
	struct membuf m = {.p = (uint8_t *)p, .len = len};
	struct ct_reader_io io = mem_reader_io(&m, 1);
	struct ct_reader_opts ro = {.quiet = 1};
	struct ct_reader *r;
	if (ct_reader_open(&r, &io, &ro))
		return -1;
	struct ct_query q = {.since_ns = since, .until_ns = until};
	if (filtered)
		q.chunk_filter = want_addr50;
	CHECK_EQ(ct_reader_set_query(r, &q), 0);
	const struct ct_record *rec;
	long events = 0;
	while (ct_reader_next_event(r, &rec) == 1)
		events +=
		    rec->type == CT_REC_EVENT &&
		    (!filtered || (rec->ev.dest->family == AF_INET &&
				   rec->ev.dest->daddr[3] == 50 && rec->ev.dest->daddr[0] == 10));
	ct_reader_stats(r, st);
	ct_reader_close(r);
	return events;
}

static uint32_t le32_at(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The index's section checksums: a time window reads no summary; damaged
 * summaries cost the skipping (stats say so), never an event; a damaged
 * entry makes the reader scan; an index without section checksums (as
 * conntrail 0.2.0 wrote it) is read whole and used as before. */
static void test_index_sections(void)
{
	struct membuf m = {0};
	small_trace(&m, CT_COMP_ZSTD);
	const uint8_t *t = m.p + m.len - 32;
	uint64_t ioff = le32_at(t + 8) | (uint64_t)le32_at(t + 12) << 32;
	uint8_t *ix = m.p + ioff;
	size_t hsize = ix[6] | ix[7] << 8;
	uint8_t *x = ix + hsize;
	uint32_t nent = le32_at(x + 24), esize = le32_at(x + 28), raw = le32_at(ix + 32);
	size_t ents_end = 40 + (size_t)nent * esize, sums_len = raw - ents_end;
	CHECK_EQ(ix[5], CT_COMP_NONE);
	CHECK(le32_at(x + 32) != 0 && le32_at(x + 36) != 0);
	CHECK(sums_len > 0);
	CHECK_EQ(ct_crc32(0, x + ents_end, sums_len), le32_at(x + 36));
	uint64_t since = 1000000 + 100 * 1500 + (100 % 7) * 3,
		 until = 1000000 + 149 * 1500 + (149 % 7) * 3;

	enum { INTACT, SUMS_FLIP, ENTRY_FLIP, NO_SECTIONS, NVAR };
	for (int v = 0; v < NVAR; v++) {
		uint8_t *f = malloc(m.len);
		memcpy(f, m.p, m.len);
		uint8_t *fx = f + ioff + hsize;
		if (v == SUMS_FLIP)
			fx[ents_end + sums_len / 2] ^= 0x10;
		if (v == ENTRY_FLIP)
			fx[40 + 9] ^= 0x01; /* entry 0's first_ts */
		if (v == NO_SECTIONS) {
			memset(fx + 32, 0, 8);
			put32(f + ioff + 44, ct_crc32(0, fx, raw));
			put32(f + ioff + 52, ct_crc32(0, f + ioff, 52));
		}
		struct ct_reader_stats st;
		CHECK_EQ(query_file(f, m.len, 0, since, until, &st), 50);
		CHECK_EQ(st.index_present, v != ENTRY_FLIP);
		CHECK_EQ(st.summaries_damaged, 0);
		CHECK_EQ(st.chunks_read, 1);
		/* (SUMS_FLIP: the window never read the summaries, so found
		 * nothing wrong with them) */

		CHECK_EQ(query_file(f, m.len, 1, 0, 0, &st), 1);
		CHECK_EQ(st.summaries_damaged, v == SUMS_FLIP);
		CHECK_EQ(st.event_chunks, 6);
		if (v == SUMS_FLIP)
			CHECK_EQ(st.chunks_read, 6);
		else
			CHECK(st.chunks_read <= 2); /* chunk 1, and a false positive at most */
		free(f);
	}
	free(m.p);
}

/* Format 1.0 files (row-encoded events) from the repository, bit-flipped:
 * never a crash; lost events are reported. */
static void test_flips_v1(void)
{
	FILE *fp = fopen("samples/small.ctr", "rb");
	CHECK(fp != NULL);
	if (!fp)
		return;
	struct membuf m = {0};
	uint8_t buf[65536];
	size_t got;
	while ((got = fread(buf, 1, sizeof(buf), fp)) > 0)
		mem_write(&m, buf, got);
	fclose(fp);
	CHECK_EQ(m.p[8], 1); /* major 1 */
	long total = read_all(m.p, m.len, 1, NULL, NULL);
	CHECK(total > 1000);
	CHECK_EQ(read_all(m.p, m.len, 0, NULL, NULL), total);
	uint8_t *copy = malloc(m.len);
	size_t hdr = 16 + (m.p[12] | m.p[13] << 8 | m.p[14] << 16) + 4;
	for (int trial = 0; trial < 200; trial++) {
		memcpy(copy, m.p, m.len);
		/* Past the header, so open succeeds. */
		size_t at = hdr + rnd() % (m.len - hdr);
		copy[at] ^= (uint8_t)(1u << (rnd() % 8));
		for (int seekable = 0; seekable < 2; seekable++) {
			quiet_damage_count = 0;
			long n = read_all(copy, m.len, seekable, NULL, NULL);
			CHECK(n >= 0 && n <= total);
			if (n < total)
				CHECK(quiet_damage_count > 0);
		}
	}
	free(copy);
	free(m.p);
}

/* ct_crc32 (carry-less multiply where the CPU has it) equals zlib's
 * crc32 for every length, alignment and split. */
static void test_crc(void)
{
	size_t cap = 70000;
	uint8_t *b = malloc(cap);
	for (size_t i = 0; i < cap; i++)
		b[i] = (uint8_t)rnd();
	long bad = 0;
	for (size_t len = 0; len < 600; len++)
		for (size_t off = 0; off < 3; off++)
			bad += ct_crc32(0, b + off, len) != crc32(0, b + off, (uInt)len);
	for (int trial = 0; trial < 300; trial++) {
		size_t off = rnd() % 64, len = rnd() % (cap - 64), cut = len ? rnd() % len : 0;
		uint32_t c = ct_crc32(0, b + off, cut);
		c = ct_crc32(c, b + off + cut, len - cut);
		bad += c != crc32(0, b + off, (uInt)len);
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(ct_crc32(0, "123456789", 9), 0xcbf43926u);
	free(b);
}

/* Disk full: the error comes back, and what was flushed before reads. */
static void test_nospc(void)
{
	struct membuf m = {0};
	m.fail_after = 6000;
	struct ct_writer_io io = mem_writer_io(&m);
	struct ct_writer_opts o = {.compress = CT_COMP_ZSTD, .chunk_events = 100};
	struct ct_writer *w;
	CHECK_EQ(ct_writer_open(&w, &io, &test_hdr, &o), 0);
	int err = 0;
	uint64_t i;
	for (i = 0; i < 100000 && !err; i++) {
		struct tev ev;
		make_event(&ev, i);
		err = ct_writer_event(w, tev_event(&ev));
	}
	CHECK_EQ(err, CT_E_NOSPC);
	struct tev zero = {0};
	CHECK_EQ(ct_writer_event(w, tev_event(&zero)), CT_E_NOSPC);
	CHECK_EQ(ct_writer_close(w), CT_E_NOSPC);
	long bad = 0;
	long n = read_all(m.p, m.len, 1, NULL, &bad);
	CHECK(n > 0 && n % 100 == 0);
	CHECK_EQ(bad, 0);
	free(m.p);
}

/* Files: 0600, existing files replaced, symlinks refused. */
static void test_files(void)
{
	char dir[] = "/tmp/ct-fmt-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[256], link[256], target[256];
	snprintf(path, sizeof(path), "%s/t.ctr", dir);
	snprintf(link, sizeof(link), "%s/l.ctr", dir);
	snprintf(target, sizeof(target), "%s/target", dir);
	mode_t old = umask(0);
	struct ct_writer *w;
	CHECK_EQ(ct_writer_open_file(&w, path, &test_hdr, NULL), 0);
	struct tev ev;
	make_event(&ev, 1);
	ct_writer_event(w, tev_event(&ev));
	CHECK_EQ(ct_writer_close(w), 0);
	struct stat st;
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_mode & 0777, 0600);
	/* An existing world-readable file is replaced by a fresh 0600 one. */
	chmod(path, 0644);
	CHECK_EQ(ct_writer_open_file(&w, path, &test_hdr, NULL), 0);
	CHECK_EQ(ct_writer_close(w), 0);
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_mode & 0777, 0600);
	struct ct_reader *r;
	CHECK_EQ(ct_reader_open_file(&r, path, NULL), 0);
	const struct ct_record *rec;
	CHECK_EQ(ct_reader_next_event(r, &rec), 0);
	ct_reader_close(r);
	/* A symlink is refused and its target untouched. */
	int fd = open(target, O_CREAT | O_WRONLY, 0644);
	CHECK(write(fd, "keep", 4) == 4);
	close(fd);
	CHECK_EQ(symlink(target, link), 0);
	CHECK_EQ(ct_writer_open_file(&w, link, &test_hdr, NULL), CT_E_IO);
	CHECK_EQ(errno, ELOOP);
	CHECK_EQ(stat(target, &st), 0);
	CHECK_EQ(st.st_size, 4);
	/* Reading a missing file is CT_E_IO with errno. */
	char missing[300];
	snprintf(missing, sizeof(missing), "%s/none", dir);
	CHECK_EQ(ct_reader_open_file(&r, missing, NULL), CT_E_IO);
	CHECK_EQ(errno, ENOENT);
	umask(old);
	unlink(path);
	unlink(link);
	unlink(target);
	rmdir(dir);
}

int main(void)
{
	test_truncation();
	test_bit_flips();
	test_header_errors();
	test_hostile_lengths();
	test_hostile_columns();
	test_flips_v1();
	test_index_sections();
	test_crc();
	test_nospc();
	test_files();
	return check_done("test_format_damage");
}
