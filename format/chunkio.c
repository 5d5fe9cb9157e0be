/* SPDX-License-Identifier: MIT */
/*
 * chunkio.c: the reader's reads. A window over the file (pread, or a
 * stream read forward), chunk headers parsed and checked, resynchronisation
 * on the next chunk magic after damage, and a chunk's payload checked and
 * decompressed. Every length read from the file is checked against what
 * remains before use.
 */
#include <stdlib.h>
#include <sys/mman.h>

#include "reader_int.h"

/*
 * Memory for a buffer that may grow to megabytes (the index of a long
 * trace, a large chunk): from 512 KiB on in transparent huge pages where the
 * kernel allows (madvise mode), so filling it costs one page fault per
 * 2 MiB instead of 512. Page faults were two thirds of a one-minute query
 * on a 100M-event trace. Freed with free().
 */
void *ct_big_alloc(size_t *size)
{
	const size_t huge = 2u << 20;
	void *p;

	if (*size < huge / 4) /* up to 128 faulted pages: cheaper than zeroing 2 MiB */
		return malloc(*size);
	*size = (*size + huge - 1) / huge * huge;
	if (posix_memalign(&p, huge, *size))
		return NULL;
	madvise(p, *size, MADV_HUGEPAGE);
	return p;
}

static int buf_reserve(struct ct_reader *r, size_t need)
{
	if (r->buf_cap >= need)
		return 0;
	size_t cap = r->buf_cap ? r->buf_cap : 65536;
	while (cap < need)
		cap *= 2;
	uint8_t *p = ct_big_alloc(&cap);
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
ssize_t ct_pread_full(struct ct_reader *r, uint8_t *buf, size_t len, uint64_t off)
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
ssize_t ct_fetch(struct ct_reader *r, uint64_t off, size_t len, const uint8_t **p)
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
		ssize_t n = ct_pread_full(r, r->buf, want, off);
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

/* ---------------------------------------------------------------- chunks */

/* Parse and check the chunk header at p (avail bytes there). */
int ct_parse_chdr(const uint8_t *p, size_t avail, struct chdr *h)
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
	h->min_seq = get_le32(p + 48);
	if (h->comp > CT_CHUNK_COMP_MAX || h->sum_len > CT_SUMMARY_MAX || h->raw > CT_CHUNK_RAW_MAX)
		return HDR_BAD;
	return HDR_OK;
}

uint64_t ct_chunk_total(const struct chdr *h)
{
	return (uint64_t)h->hsize + h->sum_len + h->comp;
}

/*
 * Scan forward from off for something that looks like a chunk or trailer.
 * What the read window already holds past off is scanned first, without
 * a read: a run of false magics (each rejected by its header CRC) then
 * costs one pass over the file, not a 64 KiB read or move per magic.
 */
static int resync(struct ct_reader *r, uint64_t off, uint64_t *found)
{
	for (;;) {
		const uint8_t *p;
		ssize_t n;
		if (off >= r->buf_off && off - r->buf_off < r->buf_len &&
		    r->buf_len - (off - r->buf_off) >= CT_CHUNK_HDR_MAX) {
			p = r->buf + (off - r->buf_off);
			n = (ssize_t)(r->buf_len - (off - r->buf_off));
		} else if ((n = ct_fetch(r, off, 65536, &p)) < 0) {
			return (int)n;
		}
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
int ct_next_header(struct ct_reader *r, struct chdr *h)
{
	for (;;) {
		const uint8_t *p;
		/* Ask for no more than a chunk header: on a live pipe more may
		 * not come for a while. */
		ssize_t n = ct_fetch(r, r->pos, CT_CHUNK_HDR, &p);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return HDR_END;
		if (n >= CT_TRAILER_SIZE && !memcmp(p, CT_TRAILER_MAGIC4, 4) &&
		    !memcmp(p + 24, CT_TRAILER_MAGIC, 8)) {
			r->st.trailer_seen = 1;
			return HDR_END;
		}
		if (n == CT_CHUNK_HDR && !memcmp(p, CT_CHUNK_MAGIC, 4)) {
			uint16_t hs = get_le16(p + 6);
			if (hs > CT_CHUNK_HDR && hs <= CT_CHUNK_HDR_MAX &&
			    (n = ct_fetch(r, r->pos, hs, &p)) < 0)
				return (int)n;
		}
		int rc = ct_parse_chdr(p, (size_t)n, h);
		if (rc == HDR_OK) {
			r->resyncing = 0;
			return HDR_OK;
		}
		if (rc == HDR_SHORT && !r->resyncing) {
			ct_damage_report(r, r->last_seq, r->pos, "truncated chunk header");
			return HDR_END;
		}
		if (!r->resyncing)
			ct_damage_report(r, r->last_seq, r->pos, "bad chunk header");
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

int ct_add_chunk(struct ct_reader *r, const struct chdr *h, uint64_t off, const uint8_t *sum)
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
	c->min_seq = h->kind == CT_CHUNK_OUTCOMES || h->kind == CT_CHUNK_CLOSES ? h->min_seq : 0;
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

/*
 * Decompression buffers: a chunk may claim up to 64 MiB raw from a few KB
 * of zstd, so what they may hold is one budget shared by every reader of
 * the process (the inputs of a merge), not 64 MiB each: a chunk that would
 * take the total past it is reported damaged, never allocated. A reader
 * gives a buffer above CT_RAW_KEEP back as soon as its chunk is done, so
 * idle inputs hold none; writers' chunks are a few MiB.
 */
#define CT_RAW_BUDGET (256ull << 20)
#define CT_RAW_KEEP (8u << 20)
static _Atomic uint64_t raw_live;

void ct_raw_release(struct ct_reader *r, int always)
{
	if (r->raw && (always || r->raw_cap > CT_RAW_KEEP)) {
		free(r->raw);
		raw_live -= r->raw_cap;
		r->raw = NULL;
		r->raw_cap = 0;
	}
}

void ct_raw_adopt(struct ct_reader *r, uint8_t *buf, size_t cap)
{
	raw_live += cap;
	raw_live -= r->raw_cap;
	r->raw = buf;
	r->raw_cap = cap;
}

void ct_raw_disown(struct ct_reader *r)
{
	raw_live -= r->raw_cap;
	r->raw = NULL;
	r->raw_cap = 0;
}

const char *ct_unpack(struct ct_reader *r, const struct chdr *h, const uint8_t *chunk)
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
		if (raw_live - r->raw_cap + cap > CT_RAW_BUDGET)
			return "over the readers' shared decompression budget (256 MiB)";
		uint8_t *p = ct_big_alloc(&cap);
		if (!p)
			return "out of memory";
		ct_raw_release(r, 1);
		r->raw = p;
		r->raw_cap = cap;
		raw_live += cap;
	}
	if (ct_decompress_buf(h->codec, body + h->sum_len, h->comp, r->raw, h->raw, &r->dctx))
		return "decompression failed";
	r->cseq = h->seq;
	if (h->kind == CT_CHUNK_EVENTS || h->kind == CT_CHUNK_META ||
	    h->kind == CT_CHUNK_OUTCOMES || h->kind == CT_CHUNK_CLOSES) {
		r->st.comp_bytes += h->comp;
		r->st.raw_bytes += h->raw;
	}
	if (h->kind == CT_CHUNK_EVENTS)
		r->st.chunks_read++;
	return NULL;
}
