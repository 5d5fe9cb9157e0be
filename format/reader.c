/* SPDX-License-Identifier: MIT */
/*
 * reader.c: reads a trace sequentially (pipes) or through pread + the index
 * at the end (files). Without an index a seekable file is scanned chunk
 * header by chunk header at open. Meta chunks give their records one by
 * one, event chunks whole, as batches (batch.c); a damaged chunk is
 * reported and skipped. The parts: chunkio.c (reads, chunk headers,
 * resync), index.c (index or scan), batch.c (event chunks, outcomes).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reader_int.h"

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

void ct_damage_report(struct ct_reader *r, uint32_t seq, uint64_t off, const char *what)
{
	struct ct_damage d = {.seq = seq, .offset = off, .what = what};

	r->st.chunks_damaged++;
	if (r->opts.on_damage)
		r->opts.on_damage(r->opts.damage_ctx, &d);
	else if (!r->opts.quiet)
		fprintf(stderr, "%s: chunk %u at offset %llu damaged (%s), skipped\n", r->name,
			(unsigned)seq, (unsigned long long)off, what);
}

void ct_note(struct ct_reader *r, const char *what)
{
	if (!r->opts.quiet)
		fprintf(stderr, "%s: %s\n", r->name, what);
}

/* ---------------------------------------------------------------- header */

/* The header's number keys (FORMAT.md, "Header"): where each goes. All are
 * stored as 8 bytes; a 32-bit field given a larger value takes 0, not its
 * low bits. */
static const struct {
	uint16_t key;
	uint8_t wide; /* the field is 64 bits */
	uint16_t at;  /* offsetof in struct ct_header */
} header_numbers[] = {
    {CT_HK_CLOCK_ID, 0, offsetof(struct ct_header, clock_id)},
    {CT_HK_WALL_OFFSET, 1, offsetof(struct ct_header, wall_offset_ns)},
    {CT_HK_START_TS, 1, offsetof(struct ct_header, start_ts_ns)},
    {CT_HK_PID_FILTER_COUNT, 0, offsetof(struct ct_header, pid_filter_count)},
    {CT_HK_FILE_SEQ, 1, offsetof(struct ct_header, file_seq)},
    {CT_HK_ROTATE_FILES, 0, offsetof(struct ct_header, rotate_files)},
};

static void header_number(struct ct_header *h, uint16_t key, uint64_t v)
{
	for (size_t i = 0; i < sizeof(header_numbers) / sizeof(header_numbers[0]); i++) {
		if (header_numbers[i].key != key)
			continue;
		/* By address: a char pointer into *h makes GCC (-O1 with the
		 * sanitizers) take the field for the struct's first member. */
		void *field = (void *)((uintptr_t)h + header_numbers[i].at);
		uint32_t narrow = v > UINT32_MAX ? 0 : (uint32_t)v;
		if (header_numbers[i].wide)
			memcpy(field, &v, sizeof(v));
		else
			memcpy(field, &narrow, sizeof(narrow));
		return;
	}
}

static int parse_header(struct ct_reader *r)
{
	const uint8_t *p;
	ssize_t n = ct_fetch(r, 0, CT_FILE_FIXED, &p);

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
	n = ct_fetch(r, 0, total, &p);
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
			header_number(&r->hdr, key, get_le64(t));
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

/* ------------------------------------------------------------------ open */

static void reader_free(struct ct_reader *r)
{
	ct_prefetch_stop(r);
	free(r->pre_oc);
	if (r->own_sums)
		for (uint32_t i = 0; i < r->nchunks; i++)
			free((void *)r->chunks[i].summary);
	free(r->index_sums);
	free(r->chunks);
	for (int i = 0; i < 7; i++)
		free(r->hstr[i]);
	free(r->buf);
	ct_raw_release(r, 1);
	free(r->strs);
	free(r->name);
	ct_codec_free(CT_COMP_ZSTD, r->dctx, 1);
	ct_tables_free(&r->dec.tab);
	ct_rows_free(r->rows);
	ct_colbuf_free(&r->dec.cb);
	ct_outcomes_free(r);
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
	r->own_sums = 1; /* until an index provides them in one block */
	r->want = CT_COL_ALL;
	if (!r->seekable && !io->read) {
		free(r->name);
		free(r);
		return CT_E_INVAL;
	}
	int err = r->name ? parse_header(r) : CT_E_NOMEM;
	if (!err && r->seekable) {
		int rc = ct_read_index(r); /* 1: no usable index, 2: one not believed */
		if (rc < 0) {
			err = rc;
		} else if (rc) {
			if (rc == 1)
				ct_note(r,
					r->opts.writing
					    ? "still being written by a recorder (no index yet): "
					      "reading what is on disk so far"
					    : "no index (writer was killed?), scanning");
			err = ct_scan_headers(r);
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

uint32_t ct_reader_chunk_count(const struct ct_reader *r)
{
	return r->nchunks;
}

const struct ct_chunk_info *ct_reader_chunk(struct ct_reader *r, uint32_t i)
{
	ct_load_summaries(r);
	return i < r->nchunks ? &r->chunks[i] : NULL;
}

uint64_t ct_reader_last_event_ts(const struct ct_reader *r)
{
	uint64_t last = 0;
	for (uint32_t i = 0; i < r->nchunks; i++) {
		const struct ct_chunk_info *c = &r->chunks[i];
		if (c->kind == CT_CHUNK_EVENTS && c->records && c->last_ts > last)
			last = c->last_ts;
	}
	return last;
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
		ct_load_summaries(r);
	return 0;
}

int ct_reader_set_columns(struct ct_reader *r, uint32_t columns)
{
	if (r->started || (columns & ~(uint32_t)CT_COL_ALL))
		return CT_E_INVAL;
	r->want = columns;
	return 0;
}

/* ------------------------------------------------------------------ next */

int ct_query_skips(struct ct_reader *r, const struct ct_chunk_info *c)
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

uint64_t ct_reader_query_bytes(struct ct_reader *r)
{
	if (!r->list_mode)
		return UINT64_MAX;
	uint64_t read = 0, events = 0, late = 0;
	for (uint32_t i = 0; i < r->nchunks; i++) {
		const struct ct_chunk_info *c = &r->chunks[i];
		if (c->kind == CT_CHUNK_EVENTS) {
			events += c->comp_size;
			read += ct_query_skips(r, c) ? 0 : c->comp_size;
		} else if (c->kind == CT_CHUNK_OUTCOMES ||
			   (c->kind == CT_CHUNK_CLOSES && (r->want & CT_COL_CLOSE))) {
			late += c->comp_size;
		}
	}
	/* Outcome chunks are read with the event chunks they name: about
	 * their share. */
	return read + (events ? (uint64_t)((double)late * (double)read / (double)events) : 0);
}

/* A meta chunk's records, or an event chunk's batch, made ready. */
static int ready(struct ct_reader *r, const struct chdr *h)
{
	if (h->kind == CT_CHUNK_META) {
		r->rp = r->raw;
		r->rend = r->raw + h->raw;
		return 1;
	}
	if (h->kind == CT_CHUNK_OUTCOMES || h->kind == CT_CHUNK_CLOSES) {
		int err = ct_outcome_chunk(r, h);
		return err < 0 ? err : r->late_pos < r->nlate;
	}
	int rc = ct_event_batch(r, h);
	if (rc > 0)
		r->batch_ready = 1;
	return rc;
}

/*
 * Load listed chunk c into r (its payload unpacked, r->coff set): 0; 1 when
 * it is damaged or does not match its index entry (reported); < 0 on an
 * I/O error. One read for header and payload: the index gives their size
 * (a query reads every meta chunk; two preads each were a fifth of a
 * one-minute window on 100M events).
 */
static int load_listed(struct ct_reader *r, const struct ct_chunk_info *c, struct chdr *h)
{
	if (r->pf) {
		int rc = ct_prefetch_take(r, c, h);
		if (rc != CT_PF_MISS)
			return rc;
	}
	const uint8_t *p;
	uint64_t avail = r->size - c->offset,
		 whole = (uint64_t)CT_CHUNK_HDR_MAX + c->summary_len + c->comp_size;
	ssize_t n = ct_fetch(r, c->offset, (size_t)(whole < avail ? whole : avail), &p);
	if (n < 0)
		return (int)n;
	if (ct_parse_chdr(p, (size_t)n, h) != HDR_OK) {
		ct_damage_report(r, c->seq, c->offset, "bad chunk header");
		return 1;
	}
	if (h->kind != c->kind || h->comp != c->comp_size || h->raw != c->raw_size ||
	    h->seq != c->seq || h->records != c->records || h->min_seq != c->min_seq ||
	    ct_chunk_total(h) > avail) {
		ct_damage_report(r, c->seq, c->offset, "chunk does not match index");
		return 1;
	}
	n = ct_fetch(r, c->offset, ct_chunk_total(h), &p);
	if (n < 0)
		return (int)n;
	if ((uint64_t)n != ct_chunk_total(h)) {
		ct_damage_report(r, c->seq, c->offset, "truncated chunk");
		return 1;
	}
	r->coff = c->offset;
	const char *why = ct_unpack(r, h, p);
	if (why) {
		ct_damage_report(r, c->seq, c->offset, why);
		return 1;
	}
	return 0;
}

int ct_use_listed(struct ct_reader *r, const struct ct_chunk_info *c,
		  int (*use)(struct ct_reader *r, const struct chdr *h))
{
	struct chdr h;
	int rc = load_listed(r, c, &h);

	if (rc)
		return rc < 0 ? rc : 0; /* damaged: reported, skipped */
	return use(r, &h);
}

static int load_list(struct ct_reader *r)
{
	while (r->cur < r->nchunks) {
		const struct ct_chunk_info *c = &r->chunks[r->cur++];
		/* Outcome chunks are loaded by the event chunks they name. */
		if (c->kind != CT_CHUNK_EVENTS && c->kind != CT_CHUNK_META)
			continue;
		if (ct_query_skips(r, c)) {
			r->st.chunks_skipped++;
			continue;
		}
		int err;
		if (c->kind == CT_CHUNK_EVENTS && (err = ct_outcomes_before(r, c->seq)) < 0)
			return err;
		if ((err = ct_use_listed(r, c, ready)))
			return err;
	}
	return 0;
}

static int load_stream(struct ct_reader *r)
{
	for (;;) {
		if (r->ended)
			return 0;
		struct chdr h;
		int rc = ct_next_header(r, &h);
		if (rc < 0)
			return rc;
		if (rc == HDR_END) {
			r->ended = 1;
			return 0;
		}
		uint64_t off = r->pos, total = ct_chunk_total(&h);
		const uint8_t *p;
		ssize_t n;
		r->last_seq = h.seq + 1;
		int wanted = h.kind == CT_CHUNK_EVENTS || h.kind == CT_CHUNK_META ||
			     h.kind == CT_CHUNK_OUTCOMES ||
			     (h.kind == CT_CHUNK_CLOSES && (r->want & CT_COL_CLOSE));
		if (!wanted) {
			/* the index, a kind we do not know, or closes nobody reads */
			if (h.kind == CT_CHUNK_CLOSES)
				ct_add_chunk(r, &h, off, NULL);
			r->pos = off + total;
			continue;
		}
		n = ct_fetch(r, off, (size_t)h.hsize + h.sum_len, &p);
		if (n < 0)
			return (int)n;
		if ((size_t)n < h.hsize + h.sum_len) {
			ct_damage_report(r, h.seq, off, "truncated chunk");
			r->ended = 1;
			return 0;
		}
		int err = ct_add_chunk(r, &h, off, p + h.hsize);
		if (err)
			return err;
		if (ct_query_skips(r, &r->chunks[r->nchunks - 1])) {
			r->st.chunks_skipped++;
			r->pos = off + total;
			continue;
		}
		n = ct_fetch(r, off, total, &p);
		if (n < 0)
			return (int)n;
		if ((uint64_t)n < total) {
			ct_damage_report(r, h.seq, off, "truncated chunk");
			r->ended = 1;
			return 0;
		}
		r->pos = off + total;
		r->coff = off;
		const char *why = ct_unpack(r, &h, p);
		if (why) {
			ct_damage_report(r, h.seq, off, why);
			continue;
		}
		if (h.kind == CT_CHUNK_EVENTS) {
			r->done_seq = h.seq;
			r->have_done = 1;
		}
		if ((rc = ready(r, &h)))
			return rc;
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
	struct ct_proc *pr = &r->rec.proc;
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
	pr->task.cgroup_id = v[1];
	pr->task.pid = (uint32_t)v[2];
	pr->task.ppid = (uint32_t)v[3];
	pr->task.uid = (uint32_t)v[4];
	pr->task.gid = (uint32_t)v[5];
	pr->exit_code = (int32_t)code;
	pr->kind = (uint16_t)v[7];
	/* Strings are copied out NUL-terminated; the record is < raw size. */
	size_t need = (size_t)(end - p) + 8;
	if (r->strs_cap < need) {
		char *s = realloc(r->strs, need);
		if (!s)
			return -1;
		r->strs = s;
		r->strs_cap = need;
	}
	size_t so = 0;
	/* From 2.1, four optional strings after container (the container's
	 * name, image, pod and namespace); bytes after them are skipped. */
	const char **dst[7] = {&pr->exe,   &pr->cmdline, &pr->container,    &pr->container_name,
			       &pr->image, &pr->pod,	 &pr->k8s_namespace};
	for (int i = 0; i < 8 && (i < 4 || p < end); i++) {
		const uint8_t *start = p;
		size_t off, len;
		int present;
		if (str_get(&p, end, i == 0 ? CT_COMM_LEN : 65535, &off, &len, &present))
			return -1;
		if (!present)
			continue;
		if (i == 0) {
			memcpy(pr->task.comm, start + off, len);
			continue;
		}
		memcpy(r->strs + so, start + off, len);
		r->strs[so + len] = 0;
		*dst[i - 1] = r->strs + so;
		so += len + 1;
	}
	return 0;
}

/* A name record (meta type 4) into r->rec.name: 0, or -1 when malformed.
 * Bytes after the addresses are skipped (room for more values). */
static int decode_name(struct ct_reader *r, const uint8_t *p, const uint8_t *end)
{
	struct ct_name *n = &r->rec.name;
	uint64_t v[4], na;

	memset(n, 0, sizeof(*n));
	for (int i = 0; i < 4; i++)
		if (!(p = get_varint(p, end, &v[i])))
			return -1;
	if (v[2] > UINT32_MAX || v[3] > UINT32_MAX)
		return -1;
	const uint8_t *start = p;
	size_t off, len;
	int present;
	if (str_get(&p, end, CT_NAME_MAX, &off, &len, &present) || !present)
		return -1;
	memcpy(r->name_buf, start + off, len);
	r->name_buf[len] = 0;
	if (memchr(r->name_buf, 0, len))
		return -1;
	if (!(p = get_varint(p, end, &na)) || na > CT_NAME_ADDRS_MAX)
		return -1;
	for (uint64_t i = 0; i < na; i++) {
		if (p >= end || (*p != 2 && *p != 10))
			return -1;
		size_t alen = *p == 2 ? 4 : 16;
		if ((size_t)(end - p) < 1 + alen)
			return -1;
		memset(&r->name_addrs[i], 0, sizeof(r->name_addrs[i]));
		r->name_addrs[i].family = *p;
		memcpy(r->name_addrs[i].addr, p + 1, alen);
		p += 1 + alen;
	}
	n->ts_ns = v[0];
	n->cgroup_id = v[1];
	n->pid = (uint32_t)v[2];
	n->ttl = (uint32_t)v[3];
	n->name = r->name_buf;
	n->naddrs = (uint32_t)na;
	n->addrs = r->name_addrs;
	return 0;
}

/* The next record of the meta chunk being read: 1 with r->rec, 0 when
 * there is none left. */
static int next_meta(struct ct_reader *r)
{
	while (r->rp && r->rp < r->rend) {
		const uint8_t *p = r->rp, *end = r->rend;
		uint64_t head, len;
		if (!(p = get_varint(p, end, &head)) || !(head & 1) ||
		    !(p = get_varint(p, end, &len)) || len > (uint64_t)(end - p))
			goto bad;
		r->rp = p + len;
		uint64_t type = head >> 1;
		if (type == CT_REC_PROC) {
			if (decode_proc(r, p, p + len))
				goto bad;
			r->rec.type = CT_REC_PROC;
			return 1;
		}
		if (type == CT_REC_LOST) {
			uint64_t v[4] = {0};
			for (int i = 0; i < 3; i++)
				if (!(p = get_varint(p, r->rp, &v[i])))
					goto bad;
			if (p < r->rp && !(p = get_varint(p, r->rp, &v[3])))
				goto bad; /* kind: 2.1 on */
			if (v[2] > UINT32_MAX || v[3] > UINT32_MAX)
				goto bad;
			memset(&r->rec.lost, 0, sizeof(r->rec.lost));
			r->rec.type = CT_REC_LOST;
			r->rec.lost.ts_ns = v[0];
			r->rec.lost.count = v[1];
			r->rec.lost.cpu = (uint32_t)v[2];
			r->rec.lost.kind = (uint32_t)v[3];
			if (v[3] == CT_LOST_CONNECTS)
				r->st.lost += v[1];
			return 1;
		}
		if (type == 4) { /* name (2.1, after conntrail 0.2.1) */
			if (decode_name(r, p, p + len))
				goto bad;
			r->rec.type = CT_REC_NAME;
			return 1;
		}
		continue; /* a record type from a newer writer */
	bad:
		ct_damage_report(r, r->cseq, r->coff, "bad record");
		r->rp = r->rend = NULL;
	}
	r->rp = r->rend = NULL;
	return 0;
}

int ct_reader_next(struct ct_reader *r, const struct ct_record **rec)
{
	r->started = 1;
	for (;;) {
		if (r->late_pos < r->nlate) {
			const struct ct_oc_rec *x = &r->late[r->late_pos++];
			r->rec.type = CT_REC_OUTCOME;
			r->rec.outcome = (struct ct_outcome){.ts_ns = x->ts_ns,
							     .tid = x->tid,
							     .flags = x->flags,
							     .result = x->result,
							     .result_ns = x->result_ns,
							     .closed_ns = x->closed_ns,
							     .tx_bytes = x->tx_bytes,
							     .rx_bytes = x->rx_bytes};
			*rec = &r->rec;
			return 1;
		}
		if (r->batch_ready) {
			r->batch_ready = 0;
			r->rec.type = CT_REC_BATCH;
			r->rec.batch = &r->batch;
			*rec = &r->rec;
			return 1;
		}
		if (next_meta(r)) {
			*rec = &r->rec;
			return 1;
		}
		/* The last chunk is done with: a big buffer goes back (the
		 * readers' shared budget, chunkio.c). */
		ct_raw_release(r, 0);
		int rc = r->list_mode ? load_list(r) : load_stream(r);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			/* Records left name event chunks that were not read. */
			for (uint32_t i = 0; i < r->nruns; i++) {
				r->st.outcomes_unmatched += r->runs[i].n - r->runs[i].pos;
				free(r->runs[i].rec);
			}
			r->nruns = 0;
			r->oc_held = 0;
			return 0;
		}
	}
}

int ct_reader_next_event(struct ct_reader *r, const struct ct_record **rec)
{
	for (;;) {
		if (r->ev_batch && r->ev_i < r->ev_batch->n) {
			ct_batch_event(r->ev_batch, r->ev_i++, &r->rec.ev);
			r->rec.type = CT_REC_EVENT;
			*rec = &r->rec;
			return 1;
		}
		r->ev_batch = NULL;
		const struct ct_record *x;
		int rc = ct_reader_next(r, &x);
		if (rc <= 0)
			return rc;
		if (x->type == CT_REC_BATCH) {
			r->ev_batch = x->batch;
			r->ev_i = 0;
			continue;
		}
		*rec = x;
		return 1;
	}
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
	/* The workers first: one may be in a pread of the file (a run that
	 * stopped early: script | head). */
	ct_prefetch_stop(r);
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
	/* A recorder holds an exclusive flock on its output while it writes
	 * (record/output.c); a shared lock we cannot get means it still does.
	 * One we get is let go at once: a new recorder must not see it. */
	if (io.pread && flock(f->fd, LOCK_SH | LOCK_NB) < 0)
		o.writing = errno == EWOULDBLOCK;
	else if (io.pread)
		flock(f->fd, LOCK_UN);
	int err = ct_reader_open(out, &io, &o);
	if (err) {
		int e = errno;
		fd_close(f);
		errno = e;
	}
	return err;
}
