/* SPDX-License-Identifier: MIT */
/*
 * index.c: the index at the end of a file (trailer, index chunk, entries
 * and their Bloom summaries, read lazily when sectioned), or, when there is
 * none, the chunk list rebuilt by walking the chunk headers.
 */
#include <stdio.h>
#include <stdlib.h>

#include "reader_int.h"

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
		c->min_seq = c->kind == CT_CHUNK_OUTCOMES || c->kind == CT_CHUNK_CLOSES
				 ? get_le32(e + 48)
				 : 0;
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

/* Chunk headers this close are read together (verify_entries). */
#define HDR_SPAN (64u << 10)

/*
 * An index is believed only when it describes the file as it is: its
 * entries tile the chunk area from the end of the file header to the
 * index chunk, chunk after chunk, in increasing seq, and each agrees with
 * its chunk's own header in every field (read here: headers only, one read
 * per chunk or per two when close). Otherwise a crafted index could name one chunk a
 * thousand times, hide a chunk from indexed reading, or make a time
 * window skip chunks whose events it wants. 0 believed, 1 not, <0 error.
 */
static int verify_entries(struct ct_reader *r, uint64_t ioff, const char **why)
{
	uint64_t at = r->pos;

	for (uint32_t i = 0; i < r->nchunks; i++) {
		const struct ct_chunk_info *c = &r->chunks[i];
		*why = "entries do not tile the file";
		if (c->offset != at || (i && c->seq <= r->chunks[i - 1].seq))
			return 1;
		/* One read for this header and the next when the chunk is small
		 * (a meta chunk before its event chunk): half the reads of an
		 * open, which a selective query pays in full. */
		size_t len = CT_CHUNK_HDR_MAX;
		if (i + 1 < r->nchunks && r->chunks[i + 1].offset > c->offset &&
		    r->chunks[i + 1].offset - c->offset <= HDR_SPAN)
			len += (size_t)(r->chunks[i + 1].offset - c->offset);
		const uint8_t *hb;
		ssize_t n = ct_fetch(r, c->offset, len, &hb);
		if (n < 0)
			return (int)n;
		struct chdr h;
		int rc = ct_parse_chdr(hb, (size_t)n, &h);
		*why = "an entry disagrees with its chunk header";
		if (rc != HDR_OK || h.kind != c->kind || h.codec != c->compress ||
		    h.seq != c->seq || h.records != c->records || h.first_ts != c->first_ts ||
		    h.last_ts != c->last_ts || h.raw != c->raw_size || h.comp != c->comp_size ||
		    h.sum_len != c->summary_len ||
		    ((c->kind == CT_CHUNK_OUTCOMES || c->kind == CT_CHUNK_CLOSES) &&
		     h.min_seq != c->min_seq))
			return 1;
		if (c->kind == CT_CHUNK_EVENTS &&
		    (c->first_ts > c->last_ts || !c->records || c->records > CT_CHUNK_EVENTS_MAX))
			return 1;
		at = c->offset + ct_chunk_total(&h);
		if (at > ioff)
			return 1;
	}
	*why = "entries do not tile the file";
	return at == ioff ? 0 : 1;
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
	ssize_t n = ct_fetch(r, ioff, (size_t)h->hsize + CT_INDEX_HEAD + ents, &p);
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
void ct_load_summaries(struct ct_reader *r)
{
	if (!r->sums_pending)
		return;
	r->sums_pending = 0;
	size_t sums_cap = r->sums_len;
	uint8_t *sums = ct_big_alloc(&sums_cap);
	if (!sums || ct_pread_full(r, sums, r->sums_len, r->sums_off) != (ssize_t)r->sums_len ||
	    ct_crc32(0, sums, r->sums_len) != r->sums_crc) {
		free(sums);
		r->st.summaries_damaged = 1;
		ct_note(r, "index summaries damaged or unreadable: no chunk is skipped by filter");
		return;
	}
	r->index_sums = sums;
	point_summaries(r, sums);
}

static int read_index(struct ct_reader *r, uint64_t *ioff_out)
{
	const uint8_t *p;
	if (r->size < CT_FILE_FIXED + CT_TRAILER_SIZE)
		return 1;
	uint64_t toff = r->size - CT_TRAILER_SIZE;
	ssize_t n = ct_fetch(r, toff, CT_TRAILER_SIZE, &p);
	if (n != CT_TRAILER_SIZE)
		return n < 0 ? (int)n : 1;
	if (memcmp(p, CT_TRAILER_MAGIC4, 4) || memcmp(p + 24, CT_TRAILER_MAGIC, 8) ||
	    ct_crc32(0, p + 8, 16) != get_le32(p + 4))
		return 1;
	uint64_t ioff = get_le64(p + 8);
	uint32_t isize = get_le32(p + 16), count = get_le32(p + 20);
	*ioff_out = ioff; /* a trailer is there: what fails now is a bad index */
	/* Every chunk is at least a chunk header: a count the chunk area
	 * cannot hold is a lie, refused before the index is read at all. */
	if (ioff < r->pos || ioff > toff || isize != toff - ioff ||
	    (uint64_t)count * CT_CHUNK_HDR > ioff - r->pos)
		return 1;
	/* First the chunk header and the index head: with section checksums
	 * (stored index, 0.2.1 on) the entries are read and checked alone. */
	size_t first =
	    isize < CT_CHUNK_HDR_MAX + CT_INDEX_HEAD ? isize : CT_CHUNK_HDR_MAX + CT_INDEX_HEAD;
	n = ct_fetch(r, ioff, first, &p);
	if (n < 0)
		return (int)n;
	struct chdr h;
	if ((size_t)n != first || ct_parse_chdr(p, first, &h) != HDR_OK ||
	    h.kind != CT_CHUNK_INDEX || ct_chunk_total(&h) != isize)
		return 1;
	if (h.codec == CT_COMP_NONE && !h.sum_len && h.comp == h.raw && h.raw >= CT_INDEX_HEAD &&
	    first >= (size_t)h.hsize + CT_INDEX_HEAD) {
		int rc = read_index_sections(r, &h, ioff, count, p + h.hsize);
		if (rc != 2) /* 2: no section checksums, read it whole below */
			return rc;
	}
	n = ct_fetch(r, ioff, isize, &p);
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
		/* Bounded by the file before it is inflated: entries of at most
		 * 4096 bytes, one per chunk at most, and summaries that are
		 * copies of the chunks' own. */
		if (h.raw > CT_INDEX_HEAD + (uint64_t)count * 4096 + (ioff - r->pos) ||
		    ct_unpack(r, &h, p))
			return 1;
		x = r->raw;
		r->index_sums = r->raw;
		ct_raw_disown(r);
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

/* Forget a parsed index (it was not believed). */
static void drop_index(struct ct_reader *r)
{
	free(r->chunks);
	r->chunks = NULL;
	r->nchunks = r->cap_chunks = 0;
	free(r->index_sums);
	r->index_sums = NULL;
	r->own_sums = 1;
	r->sums_pending = 0;
	r->has_totals = 0;
	r->st.index_present = 0;
	r->st.event_chunks = 0;
}

/* 0: index read; 1: none usable (scan instead); <0: I/O error. */
int ct_read_index(struct ct_reader *r)
{
	uint64_t ioff = 0;
	const char *why = "damaged or inconsistent";
	int rc = read_index(r, &ioff);
	if (rc < 0 || (rc && !ioff))
		return rc;
	if (!rc)
		rc = verify_entries(r, ioff, &why);
	if (rc < 0)
		return rc;
	if (rc) {
		char msg[128];
		snprintf(msg, sizeof(msg), "index not believed (%s), scanning", why);
		ct_note(r, msg);
		drop_index(r);
		r->st.index_rejected = 1;
		return 2;
	}
	return 0;
}

/* No index: walk the chunk headers (payloads are not read). */
int ct_scan_headers(struct ct_reader *r)
{
	r->own_sums = 1;
	for (;;) {
		struct chdr h;
		int rc = ct_next_header(r, &h);
		if (rc < 0)
			return rc;
		if (rc == HDR_END)
			break;
		uint64_t off = r->pos, total = ct_chunk_total(&h);
		if (total > r->size - off) {
			ct_damage_report(r, h.seq, off, "truncated chunk");
			break;
		}
		if (h.kind != CT_CHUNK_INDEX) {
			const uint8_t *p = NULL;
			if (h.kind == CT_CHUNK_EVENTS && h.sum_len) {
				ssize_t n = ct_fetch(r, off, (size_t)h.hsize + h.sum_len, &p);
				if (n < 0)
					return (int)n;
				p += h.hsize;
			}
			int err = ct_add_chunk(r, &h, off, p);
			if (err)
				return err;
		}
		r->last_seq = h.seq + 1;
		r->pos = off + total;
	}
	return 0;
}
