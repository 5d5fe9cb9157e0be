/* SPDX-License-Identifier: MIT */
/*
 * reader.c: reads a trace sequentially (pipes) or through pread + the index
 * at the end (files). Without an index a seekable file is scanned chunk
 * header by chunk header at open. Every length read from the file is checked
 * against what remains before use; a damaged chunk is reported and skipped
 * and the reader resynchronises on the next chunk magic.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ct_internal.h"

/* A parsed chunk header. */
struct chdr {
	uint8_t kind, codec;
	uint16_t hsize;
	uint32_t seq, records;
	uint64_t first_ts, last_ts;
	uint32_t raw, comp, sum_len, crc;
};

struct ct_reader {
	struct ct_reader_io io;
	struct ct_reader_opts opts;
	char *name;
	int seekable;
	uint64_t size;

	struct ct_header hdr;
	char *hstr[7];

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
	int started;

	/* The chunk being decoded. */
	uint8_t *raw;
	size_t raw_cap;
	const uint8_t *rp, *rend;
	uint8_t ckind;
	uint32_t cseq;
	uint64_t coff;
	uint64_t prev_ts;
	uint64_t chunk_loads; /* chunks unpacked so far: part of proc tokens */
	struct ct_evtab tab;
	/* Format 2.0 event chunks: the columns of the chunk (cols_live while
	 * it has events left), decoded a block at a time; events bi .. bn - 1
	 * of the block are still to return. */
	int columnar, cols_live;
	struct ct_cols cols;
	uint32_t bi, bn, fbase; /* fbase: the block's first event in the chunk */
	const uint8_t *saddr_p;
	/* The query's window as ts - since_ns <= win (unsigned: one compare);
	 * win is UINT64_MAX - since_ns without an until. */
	uint64_t win;
	/* ct_reader_next_batch: a whole chunk's columns (report's). */
	struct ct_batch batch;
	uint64_t *bt_ts;
	uint32_t *bt_proc, *bt_dest;
	int32_t *bt_ret;
	uint32_t bt_cap;
	void *dctx;

	struct ct_record evrec, metarec;
	char *strs;
	size_t strs_cap;

	struct ct_reader_stats st;
};

const char *ct_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case CT_E_IO:
		return "read or write failed";
	case CT_E_NOMEM:
		return "out of memory";
	case CT_E_MAGIC:
		return "not a conntrail trace file";
	case CT_E_VERSION:
		return "written by a newer, incompatible format version";
	case CT_E_TRUNCATED:
		return "file ends inside its header";
	case CT_E_CORRUPT:
		return "damaged beyond repair";
	case CT_E_INVAL:
		return "invalid argument";
	case CT_E_CODEC:
		return "unknown compression or codec failure";
	case CT_E_NOSPC:
		return "no space left on device";
	}
	return "unknown error";
}

static void damage(struct ct_reader *r, uint32_t seq, uint64_t off, const char *what)
{
	struct ct_damage d = {.seq = seq, .offset = off, .what = what};

	r->st.chunks_damaged++;
	if (r->opts.on_damage)
		r->opts.on_damage(r->opts.damage_ctx, &d);
	else if (!r->opts.quiet)
		fprintf(stderr, "%s: chunk %u at offset %llu damaged (%s), skipped\n", r->name,
			(unsigned)seq, (unsigned long long)off, what);
}

static void note(struct ct_reader *r, const char *what)
{
	if (!r->opts.quiet)
		fprintf(stderr, "%s: %s\n", r->name, what);
}

/* ------------------------------------------------------------- raw reads */

/*
 * Memory for a buffer that may grow to megabytes (the index of a long
 * trace, a large chunk): from 512 KiB on in transparent huge pages where the
 * kernel allows (madvise mode), so filling it costs one page fault per
 * 2 MiB instead of 512. Page faults were two thirds of a one-minute query
 * on a 100M-event trace. Freed with free().
 */
static void *big_alloc(size_t size)
{
	const size_t huge = 2u << 20;
	void *p;

	if (size < huge / 4) /* up to 128 faulted pages: cheaper than zeroing 2 MiB */
		return malloc(size);
	size = (size + huge - 1) / huge * huge;
	if (posix_memalign(&p, huge, size))
		return NULL;
	madvise(p, size, MADV_HUGEPAGE);
	return p;
}

static int buf_reserve(struct ct_reader *r, size_t need)
{
	if (r->buf_cap >= need)
		return 0;
	size_t cap = r->buf_cap ? r->buf_cap : 65536;
	while (cap < need)
		cap *= 2;
	uint8_t *p = big_alloc(cap);
	if (!p)
		return CT_E_NOMEM;
	if (r->buf_len) /* a stream's unread bytes are at the front */
		memcpy(p, r->buf, r->buf_len);
	free(r->buf);
	r->buf = p;
	r->buf_cap = cap;
	return 0;
}

/* Up to len bytes at off into buf, fewer only at the end of the file:
 * how many, or a negative error. */
static ssize_t pread_full(struct ct_reader *r, uint8_t *buf, size_t len, uint64_t off)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = r->io.pread(r->io.ctx, buf + got, len - got, off + got);
		if (n < 0)
			return n;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	r->st.bytes_read += got;
	return (ssize_t)got;
}

/*
 * Make [off, off + len) available; *p points at it. Returns how many of the
 * len bytes exist (fewer at the end of the file) or a negative error.
 * Streams only move forward: off must not be before the window.
 */
static ssize_t fetch(struct ct_reader *r, uint64_t off, size_t len, const uint8_t **p)
{
	int err;

	if (off >= r->buf_off && off - r->buf_off <= r->buf_len &&
	    r->buf_len - (off - r->buf_off) >= len) {
		*p = r->buf + (off - r->buf_off);
		return (ssize_t)len;
	}
	if (r->seekable) {
		if (off >= r->size) {
			*p = r->buf;
			return 0;
		}
		if (len > r->size - off)
			len = (size_t)(r->size - off);
		size_t want = len < 4096 && r->size - off >= 4096 ? 4096 : len;
		if ((err = buf_reserve(r, want)))
			return err;
		ssize_t n = pread_full(r, r->buf, want, off);
		if (n < 0)
			return n;
		size_t got = (size_t)n;
		r->buf_off = off;
		r->buf_len = got;
		*p = r->buf;
		return (ssize_t)(got < len ? got : len);
	}
	if (off < r->buf_off)
		return CT_E_INVAL;
	/* Drop what is before off (reading and discarding a gap). */
	if (off - r->buf_off >= r->buf_len) {
		uint64_t gap = off - r->buf_off - r->buf_len;
		r->buf_off += r->buf_len;
		r->buf_len = 0;
		while (gap && !r->eof) {
			if ((err = buf_reserve(r, 65536)))
				return err;
			size_t want = gap < r->buf_cap ? (size_t)gap : r->buf_cap;
			ssize_t n = r->io.read(r->io.ctx, r->buf, want);
			if (n < 0)
				return n;
			if (n == 0)
				r->eof = 1;
			r->st.bytes_read += (size_t)n;
			gap -= (size_t)n;
			r->buf_off += (size_t)n;
		}
		if (gap) {
			*p = r->buf;
			return 0;
		}
	} else {
		size_t drop = (size_t)(off - r->buf_off);
		memmove(r->buf, r->buf + drop, r->buf_len - drop);
		r->buf_len -= drop;
		r->buf_off = off;
	}
	if ((err = buf_reserve(r, len)))
		return err;
	while (r->buf_len < len && !r->eof) {
		size_t room = r->buf_cap - r->buf_len;
		ssize_t n = r->io.read(r->io.ctx, r->buf + r->buf_len, room);
		if (n < 0)
			return n;
		if (n == 0)
			r->eof = 1;
		r->st.bytes_read += (size_t)n;
		r->buf_len += (size_t)n;
	}
	*p = r->buf;
	return (ssize_t)(r->buf_len < len ? r->buf_len : len);
}

/* ---------------------------------------------------------------- header */

static int parse_header(struct ct_reader *r)
{
	const uint8_t *p;
	ssize_t n = fetch(r, 0, CT_FILE_FIXED, &p);

	if (n < 0)
		return (int)n;
	if (n == 0)
		return CT_E_MAGIC; /* empty: nothing says it is a trace */
	size_t cmp = (size_t)n < CT_FILE_MAGIC_LEN ? (size_t)n : CT_FILE_MAGIC_LEN;
	if (memcmp(p, CT_FILE_MAGIC, cmp))
		return CT_E_MAGIC;
	if (n < CT_FILE_FIXED)
		return CT_E_TRUNCATED;
	r->hdr.version_major = get_le16(p + 8);
	r->hdr.version_minor = get_le16(p + 10);
	if (r->hdr.version_major < 1 || r->hdr.version_major > CT_FORMAT_MAJOR)
		return CT_E_VERSION;
	r->columnar = r->hdr.version_major >= 2;
	uint32_t tlv_len = get_le32(p + 12);
	if (tlv_len > CT_HEADER_MAX)
		return CT_E_CORRUPT;
	size_t total = CT_FILE_FIXED + tlv_len + 4;
	n = fetch(r, 0, total, &p);
	if (n < 0)
		return (int)n;
	if ((size_t)n < total)
		return CT_E_TRUNCATED;
	if (ct_crc32(0, p, total - 4) != get_le32(p + total - 4))
		return CT_E_CORRUPT;
	const uint8_t *t = p + CT_FILE_FIXED, *end = t + tlv_len;
	while (t < end) {
		if (end - t < 6)
			return CT_E_CORRUPT;
		uint16_t key = get_le16(t);
		uint32_t len = get_le32(t + 2);
		t += 6;
		if (len > (size_t)(end - t))
			return CT_E_CORRUPT;
		if (key >= CT_HK_HOSTNAME && key <= CT_HK_FILTERS) {
			char *s = malloc((size_t)len + 1);
			if (!s)
				return CT_E_NOMEM;
			memcpy(s, t, len);
			s[len] = 0;
			free(r->hstr[key - 1]);
			r->hstr[key - 1] = s;
		} else if (len == 8) {
			uint64_t v = get_le64(t);
			switch (key) {
			case CT_HK_CLOCK_ID:
				r->hdr.clock_id = (uint32_t)v;
				break;
			case CT_HK_WALL_OFFSET:
				r->hdr.wall_offset_ns = (int64_t)v;
				break;
			case CT_HK_START_TS:
				r->hdr.start_ts_ns = v;
				break;
			case CT_HK_PID_FILTER_COUNT:
				r->hdr.pid_filter_count = (uint32_t)v;
				break;
			}
		}
		t += len; /* unknown keys are skipped */
	}
	r->hdr.hostname = r->hstr[0];
	r->hdr.kernel = r->hstr[1];
	r->hdr.arch = r->hstr[2];
	r->hdr.recorder = r->hstr[3];
	r->hdr.backend = r->hstr[4];
	r->hdr.cmdline = r->hstr[5];
	r->hdr.filters = r->hstr[6];
	r->pos = total;
	return 0;
}

/* ---------------------------------------------------------------- chunks */

enum { HDR_OK = 1, HDR_END = 0, HDR_BAD = -100, HDR_SHORT = -101 };

/* Parse and check the chunk header at p (avail bytes there). */
static int parse_chdr(const uint8_t *p, size_t avail, struct chdr *h)
{
	if (avail < CT_CHUNK_HDR)
		return HDR_SHORT;
	if (memcmp(p, CT_CHUNK_MAGIC, 4))
		return HDR_BAD;
	h->hsize = get_le16(p + 6);
	if (h->hsize < CT_CHUNK_HDR || h->hsize > CT_CHUNK_HDR_MAX)
		return HDR_BAD;
	if (avail < h->hsize)
		return HDR_SHORT;
	if (ct_crc32(0, p, h->hsize - 4u) != get_le32(p + h->hsize - 4))
		return HDR_BAD;
	h->kind = p[4];
	h->codec = p[5];
	h->seq = get_le32(p + 8);
	h->records = get_le32(p + 12);
	h->first_ts = get_le64(p + 16);
	h->last_ts = get_le64(p + 24);
	h->raw = get_le32(p + 32);
	h->comp = get_le32(p + 36);
	h->sum_len = get_le32(p + 40);
	h->crc = get_le32(p + 44);
	if (h->comp > CT_CHUNK_COMP_MAX || h->sum_len > CT_SUMMARY_MAX || h->raw > CT_CHUNK_RAW_MAX)
		return HDR_BAD;
	return HDR_OK;
}

static uint64_t chunk_total(const struct chdr *h)
{
	return (uint64_t)h->hsize + h->sum_len + h->comp;
}

/* Scan forward from off for something that looks like a chunk or trailer. */
static int resync(struct ct_reader *r, uint64_t off, uint64_t *found)
{
	for (;;) {
		const uint8_t *p;
		ssize_t n = fetch(r, off, 65536, &p);
		if (n < 0)
			return (int)n;
		if (n < 4)
			return 0;
		for (ssize_t i = 0; i + 4 <= n; i++) {
			if (p[i] == 'C' && p[i + 1] == 'T' &&
			    (!memcmp(p + i, CT_CHUNK_MAGIC, 4) ||
			     !memcmp(p + i, CT_TRAILER_MAGIC4, 4))) {
				*found = off + (uint64_t)i;
				return 1;
			}
		}
		off += (uint64_t)n - 3;
	}
}

/*
 * The next valid chunk header at or after r->pos (moved onto it). Returns
 * HDR_OK, HDR_END (end of data or trailer) or a negative CT_E_*.
 */
static int next_header(struct ct_reader *r, struct chdr *h)
{
	for (;;) {
		const uint8_t *p;
		/* Ask for no more than a chunk header: on a live pipe more may
		 * not come for a while. */
		ssize_t n = fetch(r, r->pos, CT_CHUNK_HDR, &p);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return HDR_END;
		if (n >= CT_TRAILER_SIZE && !memcmp(p, CT_TRAILER_MAGIC4, 4) &&
		    !memcmp(p + 24, CT_TRAILER_MAGIC, 8))
			return HDR_END;
		if (n == CT_CHUNK_HDR && !memcmp(p, CT_CHUNK_MAGIC, 4)) {
			uint16_t hs = get_le16(p + 6);
			if (hs > CT_CHUNK_HDR && hs <= CT_CHUNK_HDR_MAX &&
			    (n = fetch(r, r->pos, hs, &p)) < 0)
				return (int)n;
		}
		int rc = parse_chdr(p, (size_t)n, h);
		if (rc == HDR_OK) {
			r->resyncing = 0;
			return HDR_OK;
		}
		if (rc == HDR_SHORT && !r->resyncing) {
			damage(r, r->last_seq, r->pos, "truncated chunk header");
			return HDR_END;
		}
		if (!r->resyncing)
			damage(r, r->last_seq, r->pos, "bad chunk header");
		r->resyncing = 1;
		uint64_t found = 0;
		int f = resync(r, r->pos + 1, &found);
		if (f < 0)
			return f;
		if (f == 0)
			return HDR_END;
		r->pos = found;
	}
}

static int add_chunk(struct ct_reader *r, const struct chdr *h, uint64_t off, const uint8_t *sum)
{
	if (r->nchunks == r->cap_chunks) {
		uint32_t cap = r->cap_chunks ? r->cap_chunks * 2 : 64;
		struct ct_chunk_info *c = realloc(r->chunks, cap * sizeof(*c));
		if (!c)
			return CT_E_NOMEM;
		r->chunks = c;
		r->cap_chunks = cap;
	}
	struct ct_chunk_info *c = &r->chunks[r->nchunks];
	memset(c, 0, sizeof(*c));
	c->seq = h->seq;
	c->kind = h->kind;
	c->compress = h->codec;
	c->offset = off;
	c->first_ts = h->first_ts;
	c->last_ts = h->last_ts;
	c->records = h->records;
	c->comp_size = h->comp;
	c->raw_size = h->raw;
	if (sum && h->sum_len) {
		uint8_t *s = malloc(h->sum_len);
		if (!s)
			return CT_E_NOMEM;
		memcpy(s, sum, h->sum_len);
		c->summary = s;
		c->summary_len = h->sum_len;
	}
	r->nchunks++;
	if (h->kind == CT_CHUNK_EVENTS)
		r->st.event_chunks++;
	return 0;
}

/* Check payload crc and decompress into r->raw; 0, or a damage reason. */
static const char *unpack(struct ct_reader *r, const struct chdr *h, const uint8_t *chunk)
{
	const uint8_t *body = chunk + h->hsize;

	if (ct_crc32(0, body, (size_t)h->sum_len + h->comp) != h->crc)
		return "checksum mismatch";
	if (h->codec > CT_COMP_ZLIB)
		return "unknown compression";
	if ((uint64_t)h->raw > (uint64_t)h->comp * ct_codec_max_ratio(h->codec) + 64)
		return "bad length";
	if (r->raw_cap < h->raw || !r->raw) {
		size_t cap = h->raw > 4096 ? h->raw : 4096;
		uint8_t *p = big_alloc(cap);
		if (!p)
			return "out of memory";
		free(r->raw);
		r->raw = p;
		r->raw_cap = cap;
	}
	r->bi = r->bn = 0;
	r->cols_live = 0;
	if (ct_decompress_buf(h->codec, body + h->sum_len, h->comp, r->raw, h->raw, &r->dctx))
		return "decompression failed";
	r->rp = r->raw;
	r->rend = r->raw + h->raw;
	r->ckind = h->kind;
	r->cseq = h->seq;
	r->prev_ts = h->first_ts;
	memset(&r->evrec.ev, 0, sizeof(r->evrec.ev));
	ct_evtab_reset(&r->tab);
	r->chunk_loads++;
	if (h->kind == CT_CHUNK_EVENTS || h->kind == CT_CHUNK_META) {
		r->st.comp_bytes += h->comp;
		r->st.raw_bytes += h->raw;
	}
	if (h->kind == CT_CHUNK_EVENTS)
		r->st.chunks_read++;
	if (h->kind == CT_CHUNK_EVENTS && r->columnar) {
		r->rp = r->rend = NULL;
		const char *why =
		    ct_cols_open(&r->cols, &r->tab, r->raw, h->raw, h->records, h->first_ts);
		if (why)
			return why;
		r->cols_live = 1;
		r->saddr_p = r->cols.saddr;
	}
	return NULL;
}

static int query_skips(struct ct_reader *r, const struct ct_chunk_info *c)
{
	if (c->kind != CT_CHUNK_EVENTS)
		return 0;
	if (r->q.since_ns && c->last_ts < r->q.since_ns)
		return 1;
	if (r->q.until_ns && c->first_ts > r->q.until_ns)
		return 1;
	if (r->q.chunk_filter && !r->q.chunk_filter(r->q.ctx, c))
		return 1;
	return 0;
}

/* ----------------------------------------------------------------- index */

/* The index head at x (len payload bytes): its entry count (as the
 * trailer says) and entry size. 0, or 1 when it does not hold. */
static int index_head(const uint8_t *x, size_t len, uint32_t count, uint32_t *nent, uint32_t *esize)
{
	if (len < CT_INDEX_HEAD)
		return 1;
	*nent = get_le32(x + 24);
	*esize = get_le32(x + 28);
	return *nent != count || *esize < CT_INDEX_ENTRY || *esize > 4096 ||
	       (uint64_t)*nent * *esize > len - CT_INDEX_HEAD;
}

/* Each chunk's summary, in order, from the summaries area at sums. */
static void point_summaries(struct ct_reader *r, const uint8_t *sums)
{
	size_t so = 0;
	for (uint32_t i = 0; i < r->nchunks; i++) {
		struct ct_chunk_info *c = &r->chunks[i];
		c->summary = c->summary_len ? sums + so : NULL;
		so += c->summary_len;
	}
}

/* Fill chunks[] from the index entries at x (n of esize bytes each, the
 * summaries area of sums_len bytes after them); summaries point into sums
 * (NULL: left for later). 0, 1 when an entry is out of bounds, or <0. */
static int parse_entries(struct ct_reader *r, const uint8_t *x, uint32_t nent, uint32_t esize,
			 uint64_t ioff, const uint8_t *sums, size_t sums_len)
{
	struct ct_chunk_info *cs = nent ? calloc(nent, sizeof(*cs)) : NULL;
	if (nent && !cs)
		return CT_E_NOMEM;
	size_t so = 0;
	uint32_t evc = 0;
	for (uint32_t i = 0; i < nent; i++) {
		const uint8_t *e = x + CT_INDEX_HEAD + (size_t)i * esize;
		struct ct_chunk_info *c = &cs[i];
		c->offset = get_le64(e);
		c->first_ts = get_le64(e + 8);
		c->last_ts = get_le64(e + 16);
		c->seq = get_le32(e + 24);
		c->records = get_le32(e + 28);
		c->comp_size = get_le32(e + 32);
		c->raw_size = get_le32(e + 36);
		c->summary_len = get_le32(e + 40);
		c->kind = e[44];
		c->compress = e[45];
		if (c->summary_len > sums_len - so || c->offset < r->pos || c->offset >= ioff ||
		    c->comp_size > ioff - c->offset) {
			free(cs);
			return 1;
		}
		so += c->summary_len;
		if (c->kind == CT_CHUNK_EVENTS)
			evc++;
	}
	r->chunks = cs;
	r->nchunks = r->cap_chunks = nent;
	if (sums)
		point_summaries(r, sums);
	r->own_sums = 0;
	r->st.event_chunks = evc;
	r->tot_events = get_le64(x);
	r->tot_lost = get_le64(x + 8);
	r->tot_procs = get_le64(x + 16);
	r->has_totals = 1;
	r->st.index_present = 1;
	return 0;
}

/* A stored index whose head carries section checksums (x: its payload,
 * the head at least in memory): read and check the head and entries only,
 * the summaries later (load_summaries). 0 done, 1 unusable, 2 no section
 * checksums (read it whole), <0 error. */
static int read_index_sections(struct ct_reader *r, const struct chdr *h, uint64_t ioff,
			       uint32_t count, const uint8_t *x)
{
	uint32_t crc_e = get_le32(x + 32), crc_s = get_le32(x + 36), nent, esize;
	if (!crc_e && !crc_s)
		return 2;
	if (index_head(x, h->raw, count, &nent, &esize))
		return 1;
	size_t ents = (size_t)nent * esize;
	const uint8_t *p;
	ssize_t n = fetch(r, ioff, (size_t)h->hsize + CT_INDEX_HEAD + ents, &p);
	if (n < 0)
		return (int)n;
	if ((size_t)n != (size_t)h->hsize + CT_INDEX_HEAD + ents)
		return 1;
	x = p + h->hsize;
	if (ct_crc32(ct_crc32(0, x, 32), x + CT_INDEX_HEAD, ents) != crc_e)
		return 1;
	r->sums_len = h->raw - CT_INDEX_HEAD - ents;
	r->sums_off = ioff + h->hsize + CT_INDEX_HEAD + ents;
	r->sums_crc = crc_s;
	int rc = parse_entries(r, x, nent, esize, ioff, NULL, r->sums_len);
	r->sums_pending = rc == 0 && r->sums_len;
	return rc;
}

/* The summaries of a sectioned index, when first asked for. If they
 * cannot be read or fail their checksum, chunks keep no summary: nothing
 * is skipped by filter (never an event lost), and a note says so. */
static void load_summaries(struct ct_reader *r)
{
	if (!r->sums_pending)
		return;
	r->sums_pending = 0;
	uint8_t *sums = big_alloc(r->sums_len);
	if (!sums || pread_full(r, sums, r->sums_len, r->sums_off) != (ssize_t)r->sums_len ||
	    ct_crc32(0, sums, r->sums_len) != r->sums_crc) {
		free(sums);
		r->st.summaries_damaged = 1;
		note(r, "index summaries damaged or unreadable: no chunk is skipped by filter");
		return;
	}
	r->index_sums = sums;
	point_summaries(r, sums);
}

/* 0: index read; 1: none usable (scan instead); <0: I/O error. */
static int read_index(struct ct_reader *r)
{
	const uint8_t *p;
	if (r->size < CT_FILE_FIXED + CT_TRAILER_SIZE)
		return 1;
	uint64_t toff = r->size - CT_TRAILER_SIZE;
	ssize_t n = fetch(r, toff, CT_TRAILER_SIZE, &p);
	if (n != CT_TRAILER_SIZE)
		return n < 0 ? (int)n : 1;
	if (memcmp(p, CT_TRAILER_MAGIC4, 4) || memcmp(p + 24, CT_TRAILER_MAGIC, 8) ||
	    ct_crc32(0, p + 8, 16) != get_le32(p + 4))
		return 1;
	uint64_t ioff = get_le64(p + 8);
	uint32_t isize = get_le32(p + 16), count = get_le32(p + 20);
	if (ioff < r->pos || ioff > toff || isize != toff - ioff)
		return 1;
	/* First the chunk header and the index head: with section checksums
	 * (stored index, 0.2.1 on) the entries are read and checked alone. */
	size_t first =
	    isize < CT_CHUNK_HDR_MAX + CT_INDEX_HEAD ? isize : CT_CHUNK_HDR_MAX + CT_INDEX_HEAD;
	n = fetch(r, ioff, first, &p);
	if (n < 0)
		return (int)n;
	struct chdr h;
	if ((size_t)n != first || parse_chdr(p, first, &h) != HDR_OK || h.kind != CT_CHUNK_INDEX ||
	    chunk_total(&h) != isize)
		return 1;
	if (h.codec == CT_COMP_NONE && !h.sum_len && h.comp == h.raw && h.raw >= CT_INDEX_HEAD &&
	    first >= (size_t)h.hsize + CT_INDEX_HEAD) {
		int rc = read_index_sections(r, &h, ioff, count, p + h.hsize);
		if (rc != 2) /* 2: no section checksums, read it whole below */
			return rc;
	}
	n = fetch(r, ioff, isize, &p);
	if (n < 0)
		return (int)n;
	if ((size_t)n != isize)
		return 1;
	/* The index's payload becomes the block its summaries point into:
	 * kept where it was read (stored as it is) or where it was
	 * decompressed, rather than copied out (it is megabytes on a long
	 * trace, and every indexed query reads it). */
	const uint8_t *x;
	if (h.codec == CT_COMP_NONE) {
		const uint8_t *body = p + h.hsize;
		if (h.comp != h.raw || ct_crc32(0, body, (size_t)h.sum_len + h.comp) != h.crc)
			return 1;
		x = body + h.sum_len;
		r->index_sums = r->buf;
		r->buf = NULL;
		r->buf_cap = r->buf_len = 0;
		r->buf_off = 0;
	} else {
		if (unpack(r, &h, p))
			return 1;
		r->rp = r->rend = NULL;
		x = r->raw;
		r->index_sums = r->raw;
		r->raw = NULL;
		r->raw_cap = 0;
	}
	uint32_t nent, esize;
	int rc = index_head(x, h.raw, count, &nent, &esize);
	if (!rc) {
		size_t sums_off = CT_INDEX_HEAD + (size_t)nent * esize;
		rc = parse_entries(r, x, nent, esize, ioff, x + sums_off, h.raw - sums_off);
	}
	if (rc) {
		free(r->index_sums);
		r->index_sums = NULL;
	}
	return rc;
}

/* No index: walk the chunk headers (payloads are not read). */
static int scan_headers(struct ct_reader *r)
{
	r->own_sums = 1;
	for (;;) {
		struct chdr h;
		int rc = next_header(r, &h);
		if (rc < 0)
			return rc;
		if (rc == HDR_END)
			break;
		uint64_t off = r->pos, total = chunk_total(&h);
		if (total > r->size - off) {
			damage(r, h.seq, off, "truncated chunk");
			break;
		}
		if (h.kind != CT_CHUNK_INDEX) {
			const uint8_t *p = NULL;
			if (h.kind == CT_CHUNK_EVENTS && h.sum_len) {
				ssize_t n = fetch(r, off, (size_t)h.hsize + h.sum_len, &p);
				if (n < 0)
					return (int)n;
				p += h.hsize;
			}
			int err = add_chunk(r, &h, off, p);
			if (err)
				return err;
		}
		r->last_seq = h.seq + 1;
		r->pos = off + total;
	}
	return 0;
}

/* ------------------------------------------------------------------ open */

static void reader_free(struct ct_reader *r)
{
	if (r->own_sums)
		for (uint32_t i = 0; i < r->nchunks; i++)
			free((void *)r->chunks[i].summary);
	free(r->index_sums);
	free(r->chunks);
	for (int i = 0; i < 7; i++)
		free(r->hstr[i]);
	free(r->buf);
	free(r->raw);
	free(r->bt_ts); /* the block of all four columns */
	free(r->strs);
	free(r->name);
	ct_codec_free(CT_COMP_ZSTD, r->dctx, 1);
	ct_evtab_free(&r->tab);
	ct_cols_free(&r->cols);
	free(r);
}

int ct_reader_open(struct ct_reader **out, const struct ct_reader_io *io,
		   const struct ct_reader_opts *opts)
{
	*out = NULL;
	if (!io || (!io->read && !io->pread))
		return CT_E_INVAL;
	struct ct_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return CT_E_NOMEM;
	r->io = *io;
	if (opts)
		r->opts = *opts;
	r->name = strdup(r->opts.name ? r->opts.name : "trace");
	r->seekable = io->pread && io->size >= 0;
	r->size = r->seekable ? (uint64_t)io->size : 0;
	r->evrec.type = CT_REC_EVENT;
	r->own_sums = 1; /* until an index provides them in one block */
	if (!r->seekable && !io->read) {
		free(r->name);
		free(r);
		return CT_E_INVAL;
	}
	int err = r->name ? parse_header(r) : CT_E_NOMEM;
	if (!err && r->seekable) {
		int rc = read_index(r); /* 1: no usable index */
		if (rc < 0) {
			err = rc;
		} else if (rc) {
			note(r, "no index (writer was killed?), scanning");
			err = scan_headers(r);
		}
		r->list_mode = 1;
	}
	if (err) {
		r->io.close = NULL; /* the caller keeps its io on failure */
		reader_free(r);
		return err;
	}
	*out = r;
	return 0;
}

const struct ct_header *ct_reader_header(const struct ct_reader *r)
{
	return &r->hdr;
}

int ct_reader_scan(struct ct_reader *r)
{
	/* A seekable file has its full chunk list from open; a stream cannot
	 * be rewound, so its list grows as it is read. */
	return r->seekable ? 0 : CT_E_INVAL;
}

uint32_t ct_reader_chunk_count(const struct ct_reader *r)
{
	return r->nchunks;
}

const struct ct_chunk_info *ct_reader_chunk(struct ct_reader *r, uint32_t i)
{
	load_summaries(r);
	return i < r->nchunks ? &r->chunks[i] : NULL;
}

int ct_reader_set_query(struct ct_reader *r, const struct ct_query *q)
{
	if (r->started)
		return CT_E_INVAL;
	if (q)
		r->q = *q;
	else
		memset(&r->q, 0, sizeof(r->q));
	if (r->q.chunk_filter)
		load_summaries(r);
	return 0;
}

/* ------------------------------------------------------------------ next */

/* Load the next chunk to decode: 1, 0 at the end, <0 fatal. */
static int load_list(struct ct_reader *r)
{
	while (r->cur < r->nchunks) {
		const struct ct_chunk_info *c = &r->chunks[r->cur++];
		if (c->kind != CT_CHUNK_EVENTS && c->kind != CT_CHUNK_META)
			continue;
		if (query_skips(r, c)) {
			r->st.chunks_skipped++;
			continue;
		}
		/* One read for header and payload: the index gives their size
		 * (a query reads every meta chunk; two preads each were a fifth
		 * of a one-minute window on 100M events). */
		const uint8_t *p;
		uint64_t avail = r->size - c->offset,
			 whole = (uint64_t)CT_CHUNK_HDR_MAX + c->summary_len + c->comp_size;
		size_t want = (size_t)(whole < avail ? whole : avail);
		ssize_t n = fetch(r, c->offset, want, &p);
		if (n < 0)
			return (int)n;
		struct chdr h;
		if (parse_chdr(p, (size_t)n, &h) != HDR_OK) {
			damage(r, c->seq, c->offset, "bad chunk header");
			continue;
		}
		if (h.kind != c->kind || h.comp != c->comp_size || h.raw != c->raw_size ||
		    h.seq != c->seq || chunk_total(&h) > avail) {
			damage(r, c->seq, c->offset, "chunk does not match index");
			continue;
		}
		n = fetch(r, c->offset, chunk_total(&h), &p);
		if (n < 0)
			return (int)n;
		if ((uint64_t)n != chunk_total(&h)) {
			damage(r, c->seq, c->offset, "truncated chunk");
			continue;
		}
		const char *why = unpack(r, &h, p);
		if (why) {
			damage(r, c->seq, c->offset, why);
			continue;
		}
		r->coff = c->offset;
		return 1;
	}
	return 0;
}

static int load_stream(struct ct_reader *r)
{
	for (;;) {
		if (r->ended)
			return 0;
		struct chdr h;
		int rc = next_header(r, &h);
		if (rc < 0)
			return rc;
		if (rc == HDR_END) {
			r->ended = 1;
			return 0;
		}
		uint64_t off = r->pos, total = chunk_total(&h);
		const uint8_t *p;
		ssize_t n;
		r->last_seq = h.seq + 1;
		if (h.kind == CT_CHUNK_EVENTS || h.kind == CT_CHUNK_META) {
			n = fetch(r, off, (size_t)h.hsize + h.sum_len, &p);
			if (n < 0)
				return (int)n;
			if ((size_t)n < h.hsize + h.sum_len) {
				damage(r, h.seq, off, "truncated chunk");
				r->ended = 1;
				return 0;
			}
			int err = add_chunk(r, &h, off, p + h.hsize);
			if (err)
				return err;
			if (query_skips(r, &r->chunks[r->nchunks - 1])) {
				r->st.chunks_skipped++;
				r->pos = off + total;
				continue;
			}
		} else {
			r->pos = off + total; /* the index, or a kind we do not know */
			continue;
		}
		n = fetch(r, off, total, &p);
		if (n < 0)
			return (int)n;
		if ((uint64_t)n < total) {
			damage(r, h.seq, off, "truncated chunk");
			r->ended = 1;
			return 0;
		}
		r->pos = off + total;
		const char *why = unpack(r, &h, p);
		if (why) {
			damage(r, h.seq, off, why);
			continue;
		}
		r->coff = off;
		return 1;
	}
}

static int str_get(const uint8_t **pp, const uint8_t *end, size_t max, size_t *off, size_t *len,
		   int *present)
{
	uint64_t v;
	const uint8_t *p = get_varint(*pp, end, &v);

	if (!p)
		return -1;
	if (v == 0) {
		*present = 0;
		*pp = p;
		return 0;
	}
	v--;
	if (v > max || v > (uint64_t)(end - p))
		return -1;
	*present = 1;
	*off = (size_t)(p - *pp);
	*len = (size_t)v;
	*pp = p + v;
	return 0;
}

static int decode_proc(struct ct_reader *r, const uint8_t *p, const uint8_t *end)
{
	struct ct_proc *pr = &r->metarec.proc;
	uint64_t v[8];

	memset(pr, 0, sizeof(*pr));
	for (int i = 0; i < 8; i++)
		if (!(p = get_varint(p, end, &v[i])))
			return -1;
	int64_t code = unzigzag(v[6]);
	if (v[2] > UINT32_MAX || v[3] > UINT32_MAX || v[4] > UINT32_MAX || v[5] > UINT32_MAX ||
	    code < INT32_MIN || code > INT32_MAX || v[7] > UINT16_MAX)
		return -1;
	pr->ts_ns = v[0];
	pr->cgroup_id = v[1];
	pr->pid = (uint32_t)v[2];
	pr->ppid = (uint32_t)v[3];
	pr->uid = (uint32_t)v[4];
	pr->gid = (uint32_t)v[5];
	pr->exit_code = (int32_t)code;
	pr->kind = (uint16_t)v[7];
	/* Strings are copied out NUL-terminated; the record is < raw size. */
	size_t need = (size_t)(end - p) + 4;
	if (r->strs_cap < need) {
		char *s = realloc(r->strs, need);
		if (!s)
			return -1;
		r->strs = s;
		r->strs_cap = need;
	}
	size_t so = 0;
	const char **dst[3] = {&pr->exe, &pr->cmdline, &pr->container};
	for (int i = 0; i < 4; i++) {
		const uint8_t *start = p;
		size_t off, len;
		int present;
		if (str_get(&p, end, i == 0 ? CT_COMM_LEN : 65535, &off, &len, &present))
			return -1;
		if (!present)
			continue;
		if (i == 0) {
			memcpy(pr->comm, start + off, len);
			continue;
		}
		memcpy(r->strs + so, start + off, len);
		r->strs[so + len] = 0;
		*dst[i - 1] = r->strs + so;
		so += len + 1;
	}
	return 0;
}

/* Event i of the decoded columns into the state event: straight copies
 * from the columns and the two tables. The state keeps the row decoder's
 * invariants: IPv4 address tails, the path's tail and saddr without
 * CT_EV_SADDR are zero. */
/* The state's path becomes the n bytes at src, which are zero-padded to a
 * multiple of 16 (ct_evtab_push_dest): whole 16-byte pieces, as many as
 * the longer of the old and new path needs (the path field's last piece
 * is 12 bytes); no call and no string instruction for a short copy. */
static inline __attribute__((always_inline)) void col_path(struct ct_event *ev, const char *src,
							   uint8_t n)
{
	size_t want = ((size_t)n + 15) & ~(size_t)15,
	       old = ((size_t)ev->path_len + 15) & ~(size_t)15;
	size_t k = 0;
	static const char zero[16];

	for (; k < want; k += 16) {
		if (k == 96)
			memcpy(ev->path + 96, src + 96, CT_UNIX_PATH_MAX - 96);
		else
			memcpy(ev->path + k, src + k, 16);
	}
	for (; k < old; k += 16) {
		if (k == 96)
			memcpy(ev->path + 96, zero, CT_UNIX_PATH_MAX - 96);
		else
			memcpy(ev->path + k, zero, 16);
	}
	ev->path_len = n;
}

/* An event takes a table's destination (its path from the table's path
 * area, zero-padded to 16 bytes as col_path reads it). */
static inline __attribute__((always_inline)) void
event_set_dest(struct ct_event *ev, const struct ct_dest *d, const char *paths)
{
	ev->family = d->family;
	ev->type = d->type;
	ev->proto = d->proto;
	ev->dport = d->dport;
	ev->scope_id = d->scope_id;
	memcpy(ev->daddr, d->daddr, 16);
	if (d->path_len | ev->path_len)
		col_path(ev, paths + d->path_off, d->path_len);
}

static inline __attribute__((always_inline)) const struct ct_event *col_event(struct ct_reader *r,
									      uint32_t i)
{
	struct ct_event *ev = &r->evrec.ev;
	const struct ct_cols *c = &r->cols;
	uint32_t pi = c->b_pidx[i], di = c->b_didx[i];
	uint16_t fl = c->flags[r->fbase + i];

	ev->ts_ns = c->b_ts[i];
	/* The state already holds the process or destination of the previous
	 * event: copy only what changed (cur_* is UINT32_MAX at chunk start). */
	if (pi != r->tab.cur_proc) {
		r->tab.cur_proc = pi;
		event_set_pctx(ev, &r->tab.procs[pi]);
	}
	ev->tid = ev->pid + c->b_tdelta[i];
	ev->sockfd = c->b_sockfd[i];
	ev->ret = c->b_ret[i];
	ev->latency_ns = c->b_latency[i];
	ev->sport = c->b_sport[i];
	if (di != r->tab.cur_dest) {
		r->tab.cur_dest = di;
		event_set_dest(ev, &r->tab.dests[di], r->tab.paths);
	}
	/* saddr is zero unless this event has one. */
	if (__builtin_expect((fl | ev->flags) & CT_EV_SADDR, 0)) {
		memset(ev->saddr, 0, 16);
		if (fl & CT_EV_SADDR) {
			size_t n = addr_len(ev->family);
			memcpy(ev->saddr, r->saddr_p, n);
			r->saddr_p += n;
		}
	}
	ev->flags = fl;
	return ev;
}

/* Everything but the common case of ct_reader_next: records other than
 * events, bad records, the end of a chunk. */
static __attribute__((noinline)) int next_slow(struct ct_reader *r, const struct ct_record **rec)
{
	r->started = 1;
	uint64_t until = r->q.until_ns ? r->q.until_ns : UINT64_MAX;
	r->win = until - r->q.since_ns; /* an empty window reads no columns (below) */
	for (;;) {
		if (r->bi < r->bn) {
			const struct ct_event *ev = col_event(r, r->bi++);
			if (ev->ts_ns - r->q.since_ns > r->win)
				continue;
			r->st.events++;
			*rec = &r->evrec;
			return 1;
		}
		if (r->cols_live) {
			if (r->cols.next < r->cols.n && until >= r->q.since_ns) {
				const char *why = ct_cols_block(&r->cols, &r->tab);
				if (why) {
					damage(r, r->cseq, r->coff, why);
					r->cols_live = 0;
					continue;
				}
				r->bi = 0;
				r->bn = r->cols.bn;
				r->fbase = r->cols.next - r->cols.bn;
				continue;
			}
			r->cols_live = 0;
		}
		if (r->rp && r->rp < r->rend) {
			const uint8_t *p = r->rp, *end = r->rend;
			uint64_t head;
			if (!(p = get_varint(p, end, &head)))
				goto bad;
			if (!(head & 1)) {
				uint64_t mask = head >> 1, dts;
				if ((mask & ~(uint64_t)CT_F_ALL) || r->ckind != CT_CHUNK_EVENTS)
					goto bad;
				if (!(p = get_varint(p, end, &dts)))
					goto bad;
				struct ct_event *ev = &r->evrec.ev;
				ev->ts_ns = r->prev_ts += dts;
				if (!(p = ct_event_decode(&r->tab, p, end, ev, (uint32_t)mask)))
					goto bad;
				r->rp = p;
				if (ev->ts_ns < r->q.since_ns ||
				    (r->q.until_ns && ev->ts_ns > r->q.until_ns))
					continue;
				r->st.events++;
				*rec = &r->evrec;
				return 1;
			}
			uint64_t len;
			if (!(p = get_varint(p, end, &len)) || len > (uint64_t)(end - p))
				goto bad;
			r->rp = p + len;
			uint64_t type = head >> 1;
			if (type == CT_REC_PROC) {
				if (decode_proc(r, p, p + len))
					goto bad;
				r->metarec.type = CT_REC_PROC;
				*rec = &r->metarec;
				return 1;
			}
			if (type == CT_REC_LOST) {
				uint64_t v[3];
				for (int i = 0; i < 3; i++)
					if (!(p = get_varint(p, r->rp, &v[i])))
						goto bad;
				if (v[2] > UINT32_MAX)
					goto bad;
				memset(&r->metarec.lost, 0, sizeof(r->metarec.lost));
				r->metarec.type = CT_REC_LOST;
				r->metarec.lost.ts_ns = v[0];
				r->metarec.lost.count = v[1];
				r->metarec.lost.cpu = (uint32_t)v[2];
				r->st.lost += v[1];
				*rec = &r->metarec;
				return 1;
			}
			continue; /* a record type from a newer writer */
		bad:
			damage(r, r->cseq, r->coff, "bad record");
			r->rp = r->rend = NULL;
			continue;
		}
		r->rp = r->rend = NULL;
		int rc = r->list_mode ? load_list(r) : load_stream(r);
		if (rc <= 0)
			return rc;
	}
}

/* ------------------------------------------------------------- batches */

/* The batch types mirror the tables' entries, so a batch points at them
 * (and ct_batch_event reads them back as such). */
_Static_assert(sizeof(struct ct_batch_proc) == sizeof(struct ct_pctx) &&
		   offsetof(struct ct_batch_proc, comm) == offsetof(struct ct_pctx, comm) &&
		   offsetof(struct ct_batch_proc, pid) == offsetof(struct ct_pctx, pid) &&
		   offsetof(struct ct_batch_proc, gid) == offsetof(struct ct_pctx, gid),
	       "ct_batch_proc is ct_pctx");
_Static_assert(sizeof(struct ct_batch_dest) == sizeof(struct ct_dest) &&
		   offsetof(struct ct_batch_dest, scope_id) == offsetof(struct ct_dest, scope_id) &&
		   offsetof(struct ct_batch_dest, family) == offsetof(struct ct_dest, family) &&
		   offsetof(struct ct_batch_dest, dport) == offsetof(struct ct_dest, dport) &&
		   offsetof(struct ct_batch_dest, path_len) == offsetof(struct ct_dest, path_len) &&
		   offsetof(struct ct_batch_dest, path_off) == offsetof(struct ct_dest, path_off),
	       "ct_batch_dest is ct_dest");

static int batch_reserve(struct ct_reader *r, uint32_t n)
{
	if (n <= r->bt_cap)
		return 0;
	/* One block for the four columns (bt_ts first, the one freed). */
	uint8_t *block = big_alloc((size_t)n * (sizeof(uint64_t) + 3 * sizeof(uint32_t)));
	if (!block)
		return CT_E_NOMEM;
	free(r->bt_ts);
	r->bt_ts = (uint64_t *)block;
	r->bt_proc = (uint32_t *)(r->bt_ts + n);
	r->bt_dest = r->bt_proc + n;
	r->bt_ret = (int32_t *)(r->bt_dest + n);
	r->bt_cap = n;
	return 0;
}

/* The loaded 2.0 event chunk, none of it returned yet, as one batch: its
 * four columns decoded into whole-chunk arrays. 0 when a damaged first
 * block left nothing. */
static int batch_gather(struct ct_reader *r)
{
	struct ct_cols *c = &r->cols;
	uint32_t k = 0;
	int err = batch_reserve(r, c->n);
	if (err)
		return err;
	/* The four columns straight into the batch; a chunk that fails a
	 * check goes block by block instead, to keep what precedes the bad
	 * block as event-by-event reading does. */
	if (!ct_cols_batch(c, &r->tab, r->bt_ts, r->bt_proc, r->bt_dest, r->bt_ret))
		k = c->n;
	while (c->next < c->n) {
		const char *why = ct_cols_block(c, &r->tab);
		if (why) {
			damage(r, r->cseq, r->coff, why);
			break;
		}
		memcpy(r->bt_ts + k, c->b_ts, c->bn * sizeof(*r->bt_ts));
		memcpy(r->bt_proc + k, c->b_pidx, c->bn * sizeof(*r->bt_proc));
		memcpy(r->bt_dest + k, c->b_didx, c->bn * sizeof(*r->bt_dest));
		memcpy(r->bt_ret + k, c->b_ret, c->bn * sizeof(*r->bt_ret));
		k += c->bn;
	}
	r->cols_live = 0;
	r->bi = r->bn = 0;
	/* Only the events inside the query's window (times are sorted). */
	uint64_t until = r->q.until_ns ? r->q.until_ns : UINT64_MAX;
	uint32_t lo = 0, hi = k;
	while (lo < hi && r->bt_ts[lo] < r->q.since_ns)
		lo++;
	while (hi > lo && r->bt_ts[hi - 1] > until)
		hi--;
	r->st.events += hi - lo;
	r->batch = (struct ct_batch){.n = hi - lo,
				     .nprocs = r->tab.nproc,
				     .ndests = r->tab.ndest,
				     .ts_ns = r->bt_ts + lo,
				     .proc = r->bt_proc + lo,
				     .dest = r->bt_dest + lo,
				     .ret = r->bt_ret + lo,
				     .flags = c->flags + lo,
				     .procs = (const struct ct_batch_proc *)r->tab.procs,
				     .dests = (const struct ct_batch_dest *)r->tab.dests,
				     .paths = r->tab.paths};
	return hi > lo;
}

void ct_batch_event(const struct ct_batch *b, uint32_t i, uint32_t prev, struct ct_event *ev)
{
	uint32_t p = b->proc[i], d = b->dest[i];
	int fresh = prev >= b->n;

	if (fresh)
		memset(ev, 0, sizeof(*ev));
	if (fresh || b->proc[prev] != p)
		event_set_pctx(ev, (const struct ct_pctx *)&b->procs[p]);
	if (fresh || b->dest[prev] != d)
		event_set_dest(ev, (const struct ct_dest *)&b->dests[d], b->paths);
	ev->ts_ns = b->ts_ns[i];
	ev->ret = b->ret[i];
	ev->flags = b->flags[i];
}

int ct_reader_next_batch(struct ct_reader *r, const struct ct_record **rec,
			 const struct ct_batch **batch)
{
	for (;;) {
		/* Inside a chunk, or a chunk of rows or records: one by one. */
		if (r->bi < r->bn || (r->rp && r->rp < r->rend))
			return ct_reader_next(r, rec);
		if (r->cols_live) {
			if (r->cols.next)
				return ct_reader_next(r, rec);
			int rc = batch_gather(r);
			if (rc < 0)
				return rc;
			if (rc) {
				*batch = &r->batch;
				return 2;
			}
			continue;
		}
		r->started = 1;
		r->rp = r->rend = NULL;
		int rc = r->list_mode ? load_list(r) : load_stream(r);
		if (rc <= 0)
			return rc;
	}
}

uint64_t ct_reader_event_proc_token(const struct ct_reader *r)
{
	if (r->tab.cur_proc == UINT32_MAX)
		return 0;
	return r->chunk_loads << 18 | ((uint64_t)r->tab.cur_proc + 1);
}

uint64_t ct_reader_event_dest_token(const struct ct_reader *r)
{
	if (r->tab.cur_dest == UINT32_MAX)
		return 0;
	return r->chunk_loads << 18 | ((uint64_t)r->tab.cur_dest + 1);
}

/* The common case, an event inside an event chunk, with few registers to
 * save: the rest is next_slow's. */
int ct_reader_next(struct ct_reader *r, const struct ct_record **rec)
{
	if (__builtin_expect(r->bi < r->bn, 1)) {
		const struct ct_event *ev = col_event(r, r->bi++);
		if (__builtin_expect(ev->ts_ns - r->q.since_ns > r->win, 0))
			return next_slow(r, rec);
		r->st.events++;
		*rec = &r->evrec;
		return 1;
	}
	const uint8_t *p = r->rp, *end = r->rend;
	if (__builtin_expect(!p || p >= end || r->ckind != CT_CHUNK_EVENTS, 0))
		return next_slow(r, rec);
	uint64_t head, dts;
	p = get_varint(p, end, &head);
	if (!p || (head & 1))
		return next_slow(r, rec); /* a meta record, or damage next_slow reports */
	uint64_t mask = head >> 1;
	if ((mask & ~(uint64_t)CT_F_ALL) || !(p = get_varint(p, end, &dts)))
		return next_slow(r, rec);
	struct ct_event *ev = &r->evrec.ev;
	ev->ts_ns = r->prev_ts += dts;
	if (!(p = ct_event_decode(&r->tab, p, end, ev, (uint32_t)mask))) {
		/* The state is half applied: drop the chunk as next_slow would. */
		damage(r, r->cseq, r->coff, "bad record");
		r->rp = r->rend = NULL;
		return next_slow(r, rec);
	}
	r->rp = p;
	r->started = 1;
	if (ev->ts_ns < r->q.since_ns || (r->q.until_ns && ev->ts_ns > r->q.until_ns))
		return next_slow(r, rec);
	r->st.events++;
	*rec = &r->evrec;
	return 1;
}

void ct_reader_stats(const struct ct_reader *r, struct ct_reader_stats *st)
{
	*st = r->st;
	st->chunks = r->nchunks;
}

int ct_reader_totals(const struct ct_reader *r, struct ct_totals *t)
{
	memset(t, 0, sizeof(*t));
	if (!r->has_totals)
		return 0;
	t->events = r->tot_events;
	t->lost = r->tot_lost;
	t->procs = r->tot_procs;
	return 1;
}

int ct_reader_close(struct ct_reader *r)
{
	if (!r)
		return 0;
	int err = r->io.close ? r->io.close(r->io.ctx) : 0;
	reader_free(r);
	return err;
}

/* ------------------------------------------------------------ file input */

struct fd_in {
	int fd;
	int own;
};

static ssize_t fd_read(void *ctx, void *buf, size_t len)
{
	struct fd_in *f = ctx;
	for (;;) {
		ssize_t n = read(f->fd, buf, len);
		if (n >= 0)
			return n;
		if (errno != EINTR)
			return CT_E_IO;
	}
}

static ssize_t fd_pread(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct fd_in *f = ctx;
	for (;;) {
		ssize_t n = pread(f->fd, buf, len, (off_t)off);
		if (n >= 0)
			return n;
		if (errno != EINTR)
			return CT_E_IO;
	}
}

static int fd_close(void *ctx)
{
	struct fd_in *f = ctx;
	if (f->own)
		close(f->fd);
	free(f);
	return 0;
}

int ct_reader_open_file(struct ct_reader **out, const char *path, const struct ct_reader_opts *opts)
{
	*out = NULL;
	if (!path)
		return CT_E_INVAL;
	struct fd_in *f = calloc(1, sizeof(*f));
	if (!f)
		return CT_E_NOMEM;
	if (!strcmp(path, "-")) {
		f->fd = STDIN_FILENO;
	} else {
		f->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (f->fd < 0) {
			free(f);
			return CT_E_IO;
		}
		f->own = 1;
	}
	struct ct_reader_io io = {.ctx = f, .read = fd_read, .size = -1, .close = fd_close};
	struct stat st;
	if (fstat(f->fd, &st) == 0 && S_ISREG(st.st_mode)) {
		io.pread = fd_pread;
		io.size = st.st_size;
	}
	struct ct_reader_opts o = {0};
	if (opts)
		o = *opts;
	if (!o.name)
		o.name = path;
	int err = ct_reader_open(out, &io, &o);
	if (err) {
		int e = errno;
		fd_close(f);
		errno = e;
	}
	return err;
}
