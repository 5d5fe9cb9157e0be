/* SPDX-License-Identifier: MIT */
/*
 * writer.c: header, chunks, index and trailer (format/FORMAT.md). The
 * writer only appends (never seeks), so a pipe is as good as a file; a chunk
 * goes out in one write so a killed writer leaves whole chunks behind.
 * Where outcomes go (outcome and close chunks, the pending set) is
 * placement.c's part.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "writer_int.h"

#define META_FLUSH_BYTES (8u << 20)
#define STR_MAX 65535u /* longest proc string kept */
#define PENDING_DEFAULT (1u << 20)

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int w_write(struct ct_writer *w, const void *buf, size_t len)
{
	if (w->err)
		return w->err;
	int err = w->io.write(w->io.ctx, buf, len);
	if (err) {
		w->err = err < 0 ? err : CT_E_IO;
		return w->err;
	}
	w->bytes += len;
	return 0;
}

static int tlv_str(struct ct_bytes *b, uint16_t key, const char *s)
{
	if (!s)
		return 0;
	size_t n = strnlen(s, CT_TLV_MAX - 1);
	int err = ct_bytes_reserve(b, 6 + n);
	if (err)
		return err;
	put_le16(b->p + b->len, key);
	put_le32(b->p + b->len + 2, (uint32_t)n);
	memcpy(b->p + b->len + 6, s, n);
	b->len += 6 + n;
	return 0;
}

static int tlv_u64(struct ct_bytes *b, uint16_t key, uint64_t v)
{
	int err = ct_bytes_reserve(b, 14);
	if (err)
		return err;
	put_le16(b->p + b->len, key);
	put_le32(b->p + b->len + 2, 8);
	put_le64(b->p + b->len + 6, v);
	b->len += 14;
	return 0;
}

static int write_header(struct ct_writer *w, const struct ct_header *h)
{
	struct ct_bytes b = {0};
	int err = ct_bytes_reserve(&b, CT_FILE_FIXED);

	if (err)
		return err;
	memcpy(b.p, CT_FILE_MAGIC, CT_FILE_MAGIC_LEN);
	put_le16(b.p + 8, CT_FORMAT_MAJOR);
	put_le16(b.p + 10, CT_FORMAT_MINOR);
	b.len = CT_FILE_FIXED;
	err |= tlv_str(&b, CT_HK_HOSTNAME, h->hostname);
	err |= tlv_str(&b, CT_HK_KERNEL, h->kernel);
	err |= tlv_str(&b, CT_HK_ARCH, h->arch);
	err |= tlv_str(&b, CT_HK_RECORDER, h->recorder);
	err |= tlv_str(&b, CT_HK_BACKEND, h->backend);
	err |= tlv_str(&b, CT_HK_CMDLINE, h->cmdline);
	err |= tlv_str(&b, CT_HK_FILTERS, h->filters);
	err |= tlv_u64(&b, CT_HK_CLOCK_ID, h->clock_id);
	err |= tlv_u64(&b, CT_HK_WALL_OFFSET, (uint64_t)h->wall_offset_ns);
	err |= tlv_u64(&b, CT_HK_START_TS, h->start_ts_ns);
	err |= tlv_u64(&b, CT_HK_PID_FILTER_COUNT, h->pid_filter_count);
	if (h->rotate_files) { /* only in files of a --rotate ring */
		err |= tlv_u64(&b, CT_HK_FILE_SEQ, h->file_seq);
		err |= tlv_u64(&b, CT_HK_ROTATE_FILES, h->rotate_files);
	}
	if (!err)
		err = ct_bytes_reserve(&b, 4);
	if (err) {
		ct_bytes_free(&b);
		return CT_E_NOMEM;
	}
	put_le32(b.p + 12, (uint32_t)(b.len - CT_FILE_FIXED));
	put_le32(b.p + b.len, ct_crc32(0, b.p, b.len));
	b.len += 4;
	err = w_write(w, b.p, b.len);
	ct_bytes_free(&b);
	return err;
}

int ct_writer_open(struct ct_writer **out, const struct ct_writer_io *io,
		   const struct ct_header *hdr, const struct ct_writer_opts *opts)
{
	*out = NULL;
	if (!io || !io->write || !hdr)
		return CT_E_INVAL;
	struct ct_writer *w = calloc(1, sizeof(*w));
	if (!w) {
		if (io->close)
			io->close(io->ctx);
		return CT_E_NOMEM;
	}
	w->io = *io;
	if (opts)
		w->opts = *opts;
	else
		w->opts.compress = CT_COMP_ZSTD; /* no opts: the CLI's default codec */
	if (w->opts.compress != CT_COMP_NONE && w->opts.compress != CT_COMP_ZSTD &&
	    w->opts.compress != CT_COMP_ZLIB) {
		ct_writer_abort(w);
		return CT_E_CODEC;
	}
	if (!w->opts.flush_interval_ns)
		w->opts.flush_interval_ns = 1000000000ULL;
	if (!w->opts.chunk_events)
		w->opts.chunk_events = 65536;
	if (w->opts.chunk_events > CT_CHUNK_EVENTS_MAX)
		w->opts.chunk_events = CT_CHUNK_EVENTS_MAX;
	if (!w->opts.pending_max)
		w->opts.pending_max = PENDING_DEFAULT;
	int err = write_header(w, hdr);
	if (err) {
		ct_writer_abort(w);
		return err;
	}
	*out = w;
	return 0;
}

/* Assemble header + summary + compressed payload, write it in one go and
 * remember it for the index. */
int ct_emit_chunk(struct ct_writer *w, uint8_t kind, uint32_t records, uint64_t first_ts,
		  uint64_t last_ts, uint32_t min_seq, const struct ct_bytes *summary,
		  const uint8_t *raw, size_t raw_len)
{
	int err;
	size_t sum_len = summary ? summary->len : 0;

	w->out.len = 0;
	if ((err = ct_bytes_reserve(&w->out, CT_CHUNK_HDR + sum_len)))
		return err;
	w->out.len = CT_CHUNK_HDR;
	if (sum_len) {
		memcpy(w->out.p + CT_CHUNK_HDR, summary->p, sum_len);
		w->out.len += sum_len;
	}
	/* Meta chunks are stored as they are: every query reads all of them
	 * (the process table needs them), and decompressing them was the
	 * floor of a selective query (20M mixed, one-minute window: 30.2 ->
	 * 24.2 ms; the file 0.6% larger). Event chunks keep zstd's literals
	 * raw: their bytes barely shrink under Huffman coding. The index is
	 * stored as it is too: it is mostly Bloom bits, which do not shrink,
	 * and every indexed query reads all of it. */
	enum ct_compress codec =
	    kind == CT_CHUNK_META || kind == CT_CHUNK_INDEX ? CT_COMP_NONE : w->opts.compress;
	if ((err = ct_compress_buf(codec, w->opts.level, 1, raw, raw_len, &w->out, &w->cctx)))
		return err;
	size_t comp = w->out.len - CT_CHUNK_HDR - sum_len;
	uint8_t *h = w->out.p;
	memcpy(h, CT_CHUNK_MAGIC, 4);
	h[4] = kind;
	h[5] = (uint8_t)codec;
	put_le16(h + 6, CT_CHUNK_HDR);
	put_le32(h + 8, w->seq);
	put_le32(h + 12, records);
	put_le64(h + 16, first_ts);
	put_le64(h + 24, last_ts);
	put_le32(h + 32, (uint32_t)raw_len);
	put_le32(h + 36, (uint32_t)comp);
	put_le32(h + 40, (uint32_t)sum_len);
	put_le32(h + 44, ct_crc32(0, w->out.p + CT_CHUNK_HDR, sum_len + comp));
	put_le32(h + 48, min_seq);
	put_le32(h + 52, ct_crc32(0, h, CT_CHUNK_HDR - 4));

	uint64_t offset = w->bytes;
	if ((err = w_write(w, w->out.p, w->out.len)))
		return err;
	if (kind == CT_CHUNK_INDEX)
		return 0;
	if ((err = ct_bytes_reserve(&w->idx_entries, CT_INDEX_ENTRY)) ||
	    (err = ct_bytes_reserve(&w->idx_sums, sum_len)))
		return err;
	uint8_t *e = w->idx_entries.p + w->idx_entries.len;
	memset(e, 0, CT_INDEX_ENTRY);
	put_le64(e, offset);
	put_le64(e + 8, first_ts);
	put_le64(e + 16, last_ts);
	put_le32(e + 24, w->seq);
	put_le32(e + 28, records);
	put_le32(e + 32, (uint32_t)comp);
	put_le32(e + 36, (uint32_t)raw_len);
	put_le32(e + 40, (uint32_t)sum_len);
	e[44] = kind;
	e[45] = (uint8_t)codec;
	put_le32(e + 48, min_seq);
	w->idx_entries.len += CT_INDEX_ENTRY;
	if (sum_len)
		memcpy(w->idx_sums.p + w->idx_sums.len, summary->p, sum_len);
	w->idx_sums.len += sum_len;
	w->idx_count++;
	w->seq++;
	return 0;
}

static int flush_meta(struct ct_writer *w)
{
	if (!w->meta_records)
		return 0;
	int err = ct_emit_chunk(w, CT_CHUNK_META, w->meta_records, w->meta_first, w->meta_last, 0,
				NULL, w->meta.p, w->meta.len);
	w->meta.len = 0;
	w->meta_records = 0;
	return err;
}

static int cmp_order(const void *a, const void *b, void *arg)
{
	const struct ct_wevent *evs = arg;
	uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;

	if (evs[i].ts_ns != evs[j].ts_ns)
		return evs[i].ts_ns < evs[j].ts_ns ? -1 : 1;
	return i < j ? -1 : i > j; /* stable */
}

static int add_dname_key(void *ctx, const char *name)
{
	return ct_sum_add(ctx, ct_key_hash(CT_KEY_DNAME, name, strlen(name)));
}

/* Every name a reader may join to an event of the chunk (format/FORMAT.md,
 * "Name record"): the name records written so far are all in this flush's
 * meta chunk or before it, as a reader will hold them at this chunk. */
static int add_dname_keys(struct ct_writer *w, uint32_t n)
{
	if (!ct_nametab_count(w->names))
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		const struct ct_wevent *ev = &w->evs[i];
		int err = ct_nametab_each(w->names, ev->ts_ns, ev->dest.family, ev->dest.daddr,
					  add_dname_key, &w->sb);
		if (err)
			return CT_E_NOMEM;
	}
	return 0;
}

static int flush_events(struct ct_writer *w)
{
	int err;
	uint32_t n = w->nev;

	/* Every key of this chunk's events is in the summary: each table
	 * entry adds its keys when it is created. */
	w->raw.len = 0;
	if ((err = ct_cols_encode(&w->tab, &w->sb, w->evs, w->paths, w->order, n, &w->scratch,
				  &w->raw)))
		return err;
	if ((err = add_dname_keys(w, n)))
		return err;
	w->sum.len = 0;
	if ((err = ct_sum_finish(&w->sb, w->seq, &w->sum)))
		return err;
	return ct_emit_chunk(w, CT_CHUNK_EVENTS, n, w->evs[w->order[0]].ts_ns,
			     w->evs[w->order[n - 1]].ts_ns, 0, &w->sum, w->raw.p, w->raw.len);
}

/* Meta records, then the outcomes (so a reader of a stream has them before
 * the events they name), then the events. */
static int flush_all(struct ct_writer *w)
{
	int err = 0;
	uint32_t n = w->nev;
	int sorted = 1;

	for (uint32_t i = 0; i < n; i++) {
		w->order[i] = i;
		if (i && w->evs[i].ts_ns < w->evs[i - 1].ts_ns)
			sorted = 0;
	}
	if (!sorted)
		qsort_r(w->order, n, sizeof(*w->order), cmp_order, w->evs);
	uint32_t ev_seq;
	if ((err = ct_place_outcomes(w, &ev_seq)) || (n && (err = ct_add_result_keys(w, ev_seq))) ||
	    (err = flush_meta(w)) || (err = ct_write_outcome_chunks(w)) ||
	    (err = ct_update_pending(w, ev_seq)))
		goto out;
	if (n)
		err = flush_events(w);
out:
	w->nev = 0;
	w->npaths = 0;
	w->nrecs = 0;
	w->open_since = w->nouts ? mono_ns() : 0; /* carried outcomes: flush again soon */
	return err;
}

void ct_note_open(struct ct_writer *w)
{
	if (!w->open_since)
		w->open_since = mono_ns();
}

int ct_writer_event(struct ct_writer *w, const struct ct_event *ev)
{
	if (w->err)
		return w->err;
	if (!ev->task || !ev->dest)
		return CT_E_INVAL;
	if (w->nev == w->cap_ev) {
		uint32_t cap = w->cap_ev ? w->cap_ev * 2 : 1024;
		if (cap > w->opts.chunk_events)
			cap = w->opts.chunk_events;
		struct ct_wevent *e = realloc(w->evs, cap * sizeof(*e));
		if (!e)
			return CT_E_NOMEM;
		w->evs = e;
		uint32_t *o = realloc(w->order, cap * sizeof(*o));
		if (!o)
			return CT_E_NOMEM;
		w->order = o;
		w->cap_ev = cap;
	}
	size_t plen = ev->dest->path_len > CT_UNIX_PATH_MAX ? CT_UNIX_PATH_MAX : ev->dest->path_len;
	if (w->cap_paths - w->npaths < plen &&
	    ct_grow_bytes(&w->paths, &w->cap_paths, w->npaths, plen, 65536))
		return CT_E_NOMEM;
	struct ct_wevent *e = &w->evs[w->nev++];
	memset(e, 0, sizeof(*e));
	e->ts_ns = ev->ts_ns;
	e->task = *ev->task;
	ct_task_normalise(&e->task);
	e->dest = *ev->dest;
	ct_dest_normalise(&e->dest);
	e->dest.path = NULL;
	e->path_off = (uint32_t)w->npaths;
	if (plen)
		memcpy(w->paths + w->npaths, ev->dest->path, plen);
	w->npaths += plen;
	e->tid = ev->tid;
	e->sockfd = ev->sockfd;
	e->ret = ev->ret;
	e->latency_ns = ev->latency_ns;
	e->flags = ev->flags & CT_EV_STORED;
	if (e->flags & CT_EV_SADDR) {
		e->sport = ev->sport;
		memcpy(e->saddr, ev->saddr, addr_len(e->dest.family));
	}
	w->events++;
	ct_note_open(w);
	if (w->nev >= w->opts.chunk_events)
		return flush_all(w);
	return 0;
}

static int meta_begin(struct ct_writer *w, uint32_t type, uint64_t ts, size_t max)
{
	int err = ct_bytes_reserve(&w->meta, max + 24);
	if (err)
		return err;
	uint8_t *p = put_varint(w->meta.p + w->meta.len, ((uint64_t)type << 1) | 1);
	w->meta.len = (size_t)(p - w->meta.p);
	if (!w->meta_records || ts < w->meta_first)
		w->meta_first = ts;
	if (!w->meta_records || ts > w->meta_last)
		w->meta_last = ts;
	w->meta_records++;
	ct_note_open(w);
	return 0;
}

/* Append the record body (built in w->raw) with its length. */
static int meta_end(struct ct_writer *w)
{
	uint8_t *p = put_varint(w->meta.p + w->meta.len, w->raw.len);
	memcpy(p, w->raw.p, w->raw.len);
	w->meta.len = (size_t)(p - w->meta.p) + w->raw.len;
	if (w->meta.len >= META_FLUSH_BYTES)
		return flush_all(w);
	return 0;
}

static uint8_t *put_str(uint8_t *p, const char *s, size_t max)
{
	if (!s)
		return put_varint(p, 0);
	size_t n = strnlen(s, max);
	p = put_varint(p, n + 1);
	memcpy(p, s, n);
	return p + n;
}

int ct_writer_proc(struct ct_writer *w, const struct ct_proc *pr)
{
	if (w->err)
		return w->err;
	size_t max = 12 * 10 + CT_COMM_LEN + 7 * (STR_MAX + 10);
	int err;
	if ((err = ct_bytes_reserve(&w->raw, max)))
		return err;
	uint8_t *p = w->raw.p;
	p = put_varint(p, pr->ts_ns);
	p = put_varint(p, pr->task.cgroup_id);
	p = put_varint(p, pr->task.pid);
	p = put_varint(p, pr->task.ppid);
	p = put_varint(p, pr->task.uid);
	p = put_varint(p, pr->task.gid);
	p = put_varint(p, zigzag(pr->exit_code));
	p = put_varint(p, pr->kind);
	p = put_str(p, pr->task.comm, CT_COMM_LEN);
	p = put_str(p, pr->exe, STR_MAX);
	p = put_str(p, pr->cmdline, STR_MAX);
	p = put_str(p, pr->container, STR_MAX);
	/* The container's names only when known: a record without them is
	 * the one older writers wrote. */
	if (pr->container_name || pr->image || pr->pod || pr->k8s_namespace) {
		p = put_str(p, pr->container_name, STR_MAX);
		p = put_str(p, pr->image, STR_MAX);
		p = put_str(p, pr->pod, STR_MAX);
		p = put_str(p, pr->k8s_namespace, STR_MAX);
	}
	w->raw.len = (size_t)(p - w->raw.p);
	if ((err = meta_begin(w, CT_REC_PROC, pr->ts_ns, w->raw.len)))
		return err;
	w->procs++;
	return meta_end(w);
}

int ct_writer_lost(struct ct_writer *w, const struct ct_lost *l)
{
	if (w->err)
		return w->err;
	int err;
	if ((err = ct_bytes_reserve(&w->raw, 40)))
		return err;
	uint8_t *p = w->raw.p;
	p = put_varint(p, l->ts_ns);
	p = put_varint(p, l->count);
	p = put_varint(p, l->cpu);
	if (l->kind)
		p = put_varint(p, l->kind);
	w->raw.len = (size_t)(p - w->raw.p);
	if ((err = meta_begin(w, CT_REC_LOST, l->ts_ns, w->raw.len)))
		return err;
	if (l->kind == CT_LOST_CONNECTS)
		w->lost += l->count;
	return meta_end(w);
}

/* Meta record type 4; CT_REC_NAME is the reader's number for it. */
#define META_NAME 4

int ct_writer_name(struct ct_writer *w, const struct ct_name *n)
{
	if (w->err)
		return w->err;
	if (!n->name || strlen(n->name) > CT_NAME_MAX || n->naddrs > CT_NAME_ADDRS_MAX)
		return CT_E_INVAL;
	int err;
	if ((err = ct_bytes_reserve(&w->raw, 6 * 10 + CT_NAME_MAX + n->naddrs * 20)))
		return err;
	uint8_t *p = w->raw.p;
	p = put_varint(p, n->ts_ns);
	p = put_varint(p, n->cgroup_id);
	p = put_varint(p, n->pid);
	p = put_varint(p, n->ttl);
	p = put_str(p, n->name, CT_NAME_MAX);
	p = put_varint(p, n->naddrs);
	for (uint32_t i = 0; i < n->naddrs; i++) {
		uint16_t fam = n->addrs[i].family == 2 ? 2 : 10;
		size_t len = fam == 2 ? 4 : 16;
		*p++ = (uint8_t)fam;
		memcpy(p, n->addrs[i].addr, len);
		p += len;
	}
	w->raw.len = (size_t)(p - w->raw.p);
	if (!w->names && !(w->names = ct_nametab_new()))
		return CT_E_NOMEM;
	if ((err = ct_nametab_add(w->names, n)))
		return err;
	if ((err = meta_begin(w, META_NAME, n->ts_ns, w->raw.len)))
		return err;
	return meta_end(w);
}

int ct_writer_flush(struct ct_writer *w)
{
	int err = flush_all(w);
	if (!err && w->io.flush)
		err = w->io.flush(w->io.ctx);
	return err;
}

int ct_writer_tick(struct ct_writer *w)
{
	if (w->err)
		return w->err;
	if (w->open_since && mono_ns() - w->open_since >= w->opts.flush_interval_ns)
		return ct_writer_flush(w);
	return 0;
}

uint64_t ct_writer_bytes(const struct ct_writer *w)
{
	return w->bytes;
}

uint64_t ct_writer_events(const struct ct_writer *w)
{
	return w->events;
}

static int write_index(struct ct_writer *w)
{
	struct ct_bytes ix = {0};
	size_t len = CT_INDEX_HEAD + w->idx_entries.len + w->idx_sums.len;
	int err = ct_bytes_reserve(&ix, len);

	if (err)
		return err;
	memset(ix.p, 0, CT_INDEX_HEAD);
	put_le64(ix.p, w->events);
	put_le64(ix.p + 8, w->lost);
	put_le64(ix.p + 16, w->procs);
	put_le32(ix.p + 24, w->idx_count);
	put_le32(ix.p + 28, CT_INDEX_ENTRY);
	if (w->idx_entries.len)
		memcpy(ix.p + CT_INDEX_HEAD, w->idx_entries.p, w->idx_entries.len);
	if (w->idx_sums.len)
		memcpy(ix.p + CT_INDEX_HEAD + w->idx_entries.len, w->idx_sums.p, w->idx_sums.len);
	/* Section checksums, so a reader can check the entries without reading
	 * the summaries (a time window needs none of them). */
	put_le32(ix.p + 32,
		 ct_crc32(ct_crc32(0, ix.p, 32), ix.p + CT_INDEX_HEAD, w->idx_entries.len));
	put_le32(ix.p + 36,
		 ct_crc32(0, ix.p + CT_INDEX_HEAD + w->idx_entries.len, w->idx_sums.len));
	ix.len = len;

	uint64_t index_off = w->bytes;
	uint32_t count = w->idx_count;
	err = ct_emit_chunk(w, CT_CHUNK_INDEX, count, 0, 0, 0, NULL, ix.p, ix.len);
	ct_bytes_free(&ix);
	if (err)
		return err;
	uint8_t t[CT_TRAILER_SIZE];
	memcpy(t, CT_TRAILER_MAGIC4, 4);
	put_le64(t + 8, index_off);
	put_le32(t + 16, (uint32_t)(w->bytes - index_off));
	put_le32(t + 20, count);
	put_le32(t + 4, ct_crc32(0, t + 8, 16));
	memcpy(t + 24, CT_TRAILER_MAGIC, 8);
	return w_write(w, t, sizeof(t));
}

static void writer_free(struct ct_writer *w)
{
	ct_nametab_free(w->names);
	free(w->evs);
	free(w->order);
	free(w->paths);
	ct_placement_free(w);
	ct_bytes_free(&w->meta);
	ct_bytes_free(&w->raw);
	ct_bytes_free(&w->out);
	ct_bytes_free(&w->sum);
	ct_bytes_free(&w->scratch);
	ct_bytes_free(&w->idx_entries);
	ct_bytes_free(&w->idx_sums);
	ct_sum_free(&w->sb);
	ct_tables_free(&w->tab);
	ct_codec_free(CT_COMP_ZSTD, w->cctx, 0);
	free(w);
}

int ct_writer_close(struct ct_writer *w)
{
	if (!w)
		return CT_E_INVAL;
	int err = flush_all(w);
	/* Outcomes carried by that flush name no attempt yet: their last chance. */
	if (!err && w->nouts)
		err = flush_all(w);
	if (!err)
		err = ct_write_still_open(w);
	if (!err)
		err = write_index(w);
	if (!err && w->io.flush)
		err = w->io.flush(w->io.ctx);
	if (w->io.close) {
		int cerr = w->io.close(w->io.ctx);
		if (!err)
			err = cerr;
	}
	writer_free(w);
	return err;
}

void ct_writer_abort(struct ct_writer *w)
{
	if (!w)
		return;
	if (w->io.close)
		w->io.close(w->io.ctx);
	writer_free(w);
}

/* ------------------------------------------------------------ file output */

struct fd_out {
	int fd;
	int own;
};

static int fd_write(void *ctx, const void *buf, size_t len)
{
	struct fd_out *f = ctx;
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(f->fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == ENOSPC || errno == EDQUOT ? CT_E_NOSPC : CT_E_IO;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fd_close(void *ctx)
{
	struct fd_out *f = ctx;
	int err = 0;

	if (f->own && close(f->fd) < 0)
		err = errno == ENOSPC || errno == EDQUOT ? CT_E_NOSPC : CT_E_IO;
	free(f);
	return err;
}

/* Create path 0600 without following a symlink; an existing regular file is
 * replaced (unlink + O_EXCL), so an old file's mode or owner never carries
 * over; a device or FIFO is written as is. */
static int open_out(const char *path)
{
	for (int tries = 0; tries < 3; tries++) {
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
		struct stat st;
		if (lstat(path, &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			errno = ELOOP;
			return -1;
		}
		if (!S_ISREG(st.st_mode))
			return open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		if (unlink(path) < 0 && errno != ENOENT)
			return -1;
	}
	errno = EEXIST;
	return -1;
}

int ct_writer_open_fd(struct ct_writer **out, int fd, int own, const struct ct_header *hdr,
		      const struct ct_writer_opts *opts)
{
	*out = NULL;
	struct fd_out *f = calloc(1, sizeof(*f));
	if (!f) {
		if (own)
			close(fd);
		return CT_E_NOMEM;
	}
	f->fd = fd;
	f->own = own;
	struct ct_writer_io io = {.ctx = f, .write = fd_write, .close = fd_close};
	return ct_writer_open(out, &io, hdr, opts);
}

int ct_writer_open_file(struct ct_writer **out, const char *path, const struct ct_header *hdr,
			const struct ct_writer_opts *opts)
{
	*out = NULL;
	if (!path)
		return CT_E_INVAL;
	if (!strcmp(path, "-"))
		return ct_writer_open_fd(out, STDOUT_FILENO, 0, hdr, opts);
	int fd = open_out(path);
	if (fd < 0)
		return CT_E_IO; /* errno says why */
	return ct_writer_open_fd(out, fd, 1, hdr, opts);
}
