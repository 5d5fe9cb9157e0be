/* SPDX-License-Identifier: MIT */
/*
 * ct_internal.h: what the writer, reader and summary code of format/ share.
 * The byte layouts named here are specified in format/FORMAT.md.
 */
#ifndef CONNTRAIL_CT_INTERNAL_H
#define CONNTRAIL_CT_INTERNAL_H

#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "ctrace.h"

/* File header: magic, u16 major, u16 minor, u32 tlv_len, TLVs, u32 crc. */
#define CT_FILE_MAGIC                                                                              \
	"\x89"                                                                                     \
	"CTRACE\n"
#define CT_FILE_MAGIC_LEN 8
#define CT_FILE_FIXED 16
#define CT_HEADER_MAX (1u << 20) /* TLV area bound: a header is small */
#define CT_TLV_MAX (1u << 16)	 /* one value */

enum ct_hdr_key {
	CT_HK_HOSTNAME = 1,
	CT_HK_KERNEL = 2,
	CT_HK_ARCH = 3,
	CT_HK_RECORDER = 4,
	CT_HK_BACKEND = 5,
	CT_HK_CMDLINE = 6,
	CT_HK_FILTERS = 7,
	CT_HK_CLOCK_ID = 16,
	CT_HK_WALL_OFFSET = 17,
	CT_HK_START_TS = 18,
	CT_HK_PID_FILTER_COUNT = 19,
};

/* Chunk header (CT_CHUNK_HDR bytes in format 1.0; header_size says). */
#define CT_CHUNK_MAGIC "CTCK"
#define CT_TRAILER_MAGIC4 "CTTR"
#define CT_CHUNK_HDR 56
#define CT_CHUNK_HDR_MAX 1024
#define CT_CHUNK_RAW_MAX (64u << 20)
#define CT_CHUNK_COMP_MAX (CT_CHUNK_RAW_MAX + (1u << 20))
#define CT_SUMMARY_MAX (1u << 18)
#define CT_CHUNK_INDEX 3 /* the index is itself a chunk, of this kind */

/* Trailer: "CTTR", u32 crc(8..24), u64 index_offset, u32 index_size,
 * u32 chunk_count, 8-byte magic last. */
#define CT_TRAILER_SIZE 32
#define CT_TRAILER_MAGIC "CTRAILER"

/* Index payload: fixed head then one entry per chunk, then summaries. */
#define CT_INDEX_HEAD 40
#define CT_INDEX_ENTRY 56

/* Record heads inside a chunk payload: varint, low bit 0 = event with the
 * change mask in the other bits; low bit 1 = (type << 1) | 1, then varint
 * length and that many bytes. Mask bits, most often set first so a common
 * event's head fits one byte: */
enum ct_field_bit {
	CT_F_PROC_REF = 1u << 0, /* process context from the chunk's table */
	CT_F_DEST_REF = 1u << 1, /* destination from the chunk's table */
	CT_F_TID = 1u << 2,	 /* tid - pid changed */
	CT_F_SOCKFD = 1u << 3,
	CT_F_RET = 1u << 4,
	CT_F_LATENCY = 1u << 5,
	CT_F_FLAGS = 1u << 6,
	CT_F_PID = 1u << 7,
	CT_F_COMM = 1u << 8,
	CT_F_PPID = 1u << 9,
	CT_F_UID = 1u << 10,
	CT_F_GID = 1u << 11,
	CT_F_CGROUP = 1u << 12,
	CT_F_FTP = 1u << 13, /* family, type, proto */
	CT_F_DADDR = 1u << 14,
	CT_F_DPORT = 1u << 15,
	CT_F_PATH = 1u << 16,
	CT_F_SCOPE = 1u << 17,
	CT_F_SADDR = 1u << 18, /* sport + saddr */
	CT_F_ALL = (1u << 19) - 1,
};
#define CT_F_PROC (CT_F_PID | CT_F_COMM | CT_F_PPID | CT_F_UID | CT_F_GID | CT_F_CGROUP)
#define CT_F_DEST (CT_F_FTP | CT_F_DADDR | CT_F_DPORT | CT_F_PATH | CT_F_SCOPE)
#define CT_TAB_MAX 65536u /* entries per table per chunk */

/* Summary (Bloom filter) layout: u8 type (1), u8 k, u8 log2 bits, u8 0,
 * then 2^log2 bits. */
#define CT_SUM_BLOOM 1
#define CT_SUM_HEAD 4
#define CT_BLOOM_K 7
#define CT_BLOOM_MIN_LOG2 6
#define CT_BLOOM_MAX_LOG2 20

static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}
static inline uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | ((uint64_t)get_le32(p + 4) << 32);
}

static inline uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}
static inline int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* Growable byte buffer for encoding. */
struct ct_bytes {
	uint8_t *p;
	size_t len, cap;
};
int ct_bytes_reserve(struct ct_bytes *b, size_t more);
void ct_bytes_free(struct ct_bytes *b);

/* Caller reserved at least 10 bytes. */
static inline uint8_t *put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* NULL when the varint runs past end or is longer than 10 bytes. */
static inline const uint8_t *get_varint(const uint8_t *p, const uint8_t *end, uint64_t *out)
{
	if (p < end && *p < 0x80) {
		*out = *p;
		return p + 1;
	}
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 70; shift += 7) {
		if (p >= end)
			return NULL;
		uint8_t b = *p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return p;
		}
	}
	return NULL;
}

uint32_t ct_crc32(uint32_t crc, const void *buf, size_t len);

/* Codecs: compress into dst (grown as needed); decompress exactly raw_size.
 * raw_literals: zstd stores literals without Huffman coding (format 2.0
 * event columns: their literals are mostly the low bytes of times and
 * latencies, which Huffman barely shrinks but which cost the reader ~40%
 * more time to decode). */
int ct_compress_buf(enum ct_compress c, int level, int raw_literals, const uint8_t *src, size_t len,
		    struct ct_bytes *dst, void **cctx);
int ct_decompress_buf(enum ct_compress c, const uint8_t *src, size_t len, uint8_t *dst,
		      size_t raw_size, void **dctx);
void ct_codec_free(enum ct_compress c, void *ctx, int decompress);
/* Largest raw/comp ratio the codec can produce (bounds raw_size). */
uint64_t ct_codec_max_ratio(enum ct_compress c);
const char *ct_codec_name(int c);

/* Summary builder: collects distinct key hashes of one chunk. */
struct ct_sumbuild {
	uint64_t *set; /* open addressing, 0 = empty */
	size_t cap, count;
};
uint64_t ct_key_hash(enum ct_key key, const void *val, size_t len);
int ct_sum_add(struct ct_sumbuild *sb, uint64_t h);
/* Append the Bloom filter over the collected keys to out; clears sb. seq
 * (the chunk's) salts the bit positions. */
int ct_sum_finish(struct ct_sumbuild *sb, uint32_t seq, struct ct_bytes *out);
void ct_sum_free(struct ct_sumbuild *sb);
/* Add every key of ev whose field bit is in mask. */
int ct_sum_add_event(struct ct_sumbuild *sb, const struct ct_event *ev, uint32_t mask);

/* Event codec. A chunk's encoder and decoder both keep the previous event
 * and two tables (process contexts, destinations) that grow the same way on
 * both sides: an event whose process or destination changed to one not yet
 * in the table spells the fields out and appends it; later ones refer to it. */
struct ct_pctx {
	uint64_t cgroup_id;
	uint32_t pid, ppid, uid, gid;
	char comm[CT_COMM_LEN];
};
/* Compact: the path bytes live in the table's arena (most have none). */
struct ct_dest {
	uint8_t daddr[16];
	uint32_t scope_id;
	uint16_t family, type, proto, dport;
	uint8_t path_len;
	uint8_t _pad[3];
	uint32_t path_off; /* into ct_evtab.paths; not part of the key */
};
struct ct_evtab {
	struct ct_pctx *procs;
	struct ct_dest *dests;
	uint32_t nproc, cap_proc, ndest, cap_dest;
	char *paths;
	size_t npaths, cap_paths;
	uint32_t *phash, *dhash; /* encoder only: index + 1, 0 empty */
	uint32_t phcap, dhcap;
	/* Decoder only: index of the entry equal to the decoded state's
	 * process context / destination, UINT32_MAX when none (chunk start,
	 * full table). */
	uint32_t cur_proc, cur_dest;
};
void ct_evtab_reset(struct ct_evtab *t);
void ct_evtab_free(struct ct_evtab *t);

/* Append to a table (the 1.x row decoder); a full table (CT_TAB_MAX) takes
 * nothing. -1 on allocation failure. */
int ct_evtab_push_proc(struct ct_evtab *t, const struct ct_pctx *c);
int ct_evtab_push_dest(struct ct_evtab *t, const struct ct_dest *d, const char *path);
/* The same with another bound (format 2.0 tables hold up to one entry per
 * event). */
int ct_evtab_push_proc_max(struct ct_evtab *t, const struct ct_pctx *c, uint32_t max);
int ct_evtab_push_dest_max(struct ct_evtab *t, const struct ct_dest *d, const char *path,
			   uint32_t max);
/* Encoder: index of the entry equal to c (d + path), appended when new
 * (*added set); -1 on allocation failure. No bound but memory. */
long ct_evtab_intern_proc(struct ct_evtab *t, const struct ct_pctx *c, int *added);
long ct_evtab_intern_dest(struct ct_evtab *t, const struct ct_dest *d, const char *path,
			  int *added);
/* Zero the bytes the format does not keep (address tails, path tail,
 * saddr and sport without CT_EV_SADDR...). */
void ct_event_normalise(struct ct_event *ev);

/* ------------------------------------------------ format 2.0 event chunks */

/* Most events in one chunk: the writer's bound, and the reader's, which
 * cannot trust the payload size (columns of width 0 take no bytes). */
#define CT_CHUNK_EVENTS_MAX 131072u

/* Columns of an event chunk's payload, in their order (FORMAT.md). */
enum ct_col {
	CT_COL_TS,	/* delta from the previous event's ts */
	CT_COL_PROC,	/* index into the process table */
	CT_COL_DEST,	/* index into the destination table */
	CT_COL_TID,	/* zigzag(tid - pid) */
	CT_COL_SOCKFD,	/* zigzag */
	CT_COL_RET,	/* zigzag */
	CT_COL_LATENCY, /* latency_ns */
	CT_COL_FLAGS,
	CT_COL_SPORT,
	CT_NCOLS,
};

/* A column's head: width, base and where its planes are. */
struct ct_colhead {
	unsigned w;
	uint64_t base;
	const uint8_t *planes;
};

/* Events are decoded this many at a time, so the decoded values are still
 * in the L1 cache when the reader copies them into events. */
#define CT_COL_BLOCK 512

/* A chunk's columns (reader side). Events next - bn .. next - 1 are
 * decoded in the b_ arrays; flags are decoded whole at open. */
struct ct_cols {
	uint32_t n, next, bn;
	uint64_t ts; /* of event next - 1 (first_ts before the first) */
	struct ct_colhead h[CT_NCOLS];
	int64_t pid_min, pid_max; /* over the process table */
	uint16_t *flags;
	uint32_t flags_cap;
	const uint8_t *saddr; /* the saddr bytes, in the payload */
	uint64_t b_ts[CT_COL_BLOCK], b_latency[CT_COL_BLOCK], b_tmp[CT_COL_BLOCK];
	uint32_t b_pidx[CT_COL_BLOCK], b_didx[CT_COL_BLOCK];
	uint32_t b_tdelta[CT_COL_BLOCK]; /* tid - pid, mod 2^32 */
	int32_t b_sockfd[CT_COL_BLOCK], b_ret[CT_COL_BLOCK];
	uint16_t b_sport[CT_COL_BLOCK];
	uint32_t b_tmp32[CT_COL_BLOCK];
};
/* Check a 2.0 event payload (tables, column heads and sizes, flags, saddr
 * bytes) and load its tables into t (reset first). NULL, or why it is
 * malformed. */
const char *ct_cols_open(struct ct_cols *c, struct ct_evtab *t, const uint8_t *p, size_t len,
			 uint32_t records, uint64_t first_ts);
/* Decode and check the next block of events (c->next < c->n). */
const char *ct_cols_block(struct ct_cols *c, const struct ct_evtab *t);
/* All events of a just-opened chunk at once, only the columns a batch
 * hands out (ts, process and destination index, ret), every column checked
 * as ct_cols_block checks it (the others mostly from their heads). On
 * error c is left as opened, for the caller to go block by block, which
 * finds the same fault, or none. */
const char *ct_cols_batch(struct ct_cols *c, const struct ct_evtab *t, uint64_t *ts, uint32_t *pidx,
			  uint32_t *didx, int32_t *ret);
void ct_cols_free(struct ct_cols *c);

/* Encode n events (evs[order[k]], sorted by ts) as a 2.0 event payload
 * appended to out; adds each table entry's summary keys to sb. scratch is
 * the caller's, reused between chunks. */
int ct_cols_encode(struct ct_evtab *t, struct ct_sumbuild *sb, const struct ct_event *evs,
		   const uint32_t *order, uint32_t n, struct ct_bytes *scratch,
		   struct ct_bytes *out);

/* ------------------------------------------------------------ decoding */
/* Inline here so the reader's per-event path has no call to make. */

static inline size_t addr_len(uint16_t family)
{
	return family == AF_INET ? 4 : 16;
}

static inline void pctx_of(struct ct_pctx *c, const struct ct_event *ev)
{
	memset(c, 0, sizeof(*c));
	c->cgroup_id = ev->cgroup_id;
	c->pid = ev->pid;
	c->ppid = ev->ppid;
	c->uid = ev->uid;
	c->gid = ev->gid;
	memcpy(c->comm, ev->comm, CT_COMM_LEN);
}

/* The reverse: an event takes a table's process context. */
static inline void event_set_pctx(struct ct_event *ev, const struct ct_pctx *c)
{
	ev->cgroup_id = c->cgroup_id;
	ev->pid = c->pid;
	ev->ppid = c->ppid;
	ev->uid = c->uid;
	ev->gid = c->gid;
	memcpy(ev->comm, c->comm, CT_COMM_LEN);
}

static inline void dest_of(struct ct_dest *d, const struct ct_event *ev)
{
	memset(d, 0, sizeof(*d));
	d->scope_id = ev->scope_id;
	d->family = ev->family;
	d->type = ev->type;
	d->proto = ev->proto;
	d->dport = ev->dport;
	d->path_len = ev->path_len;
	memcpy(d->daddr, ev->daddr, 16);
}

#define GETV(dst)                                                                                  \
	do {                                                                                       \
		uint64_t v_;                                                                       \
		p = get_varint(p, end, &v_);                                                       \
		if (!p)                                                                            \
			return NULL;                                                               \
		dst = v_;                                                                          \
	} while (0)

/* Values wider than their field are malformed, not silently truncated. */
#define GETV_MAX(dst, max)                                                                         \
	do {                                                                                       \
		uint64_t w_;                                                                       \
		GETV(w_);                                                                          \
		if (w_ > (max))                                                                    \
			return NULL;                                                               \
		dst = w_;                                                                          \
	} while (0)

#define GETZ32(dst)                                                                                \
	do {                                                                                       \
		uint64_t w_;                                                                       \
		GETV(w_);                                                                          \
		int64_t s_ = unzigzag(w_);                                                         \
		if (s_ < INT32_MIN || s_ > INT32_MAX)                                              \
			return NULL;                                                               \
		dst = (int32_t)s_;                                                                 \
	} while (0)

static inline void set_path(struct ct_event *st, const void *src, size_t n)
{
	if (n)
		memcpy(st->path, src, n);
	if (n < st->path_len)
		memset(st->path + n, 0, st->path_len - n);
	st->path_len = (uint8_t)n;
}

static inline void set_family(struct ct_event *st, uint16_t fam)
{
	/* Keep the "IPv4 tail is zero" invariant across family changes. */
	if (fam == AF_INET && st->family != AF_INET) {
		memset(st->daddr + 4, 0, 12);
		memset(st->saddr + 4, 0, 12);
	}
	st->family = fam;
}

/* Apply the fields of mask to st in place. NULL on malformed input. */
static inline const uint8_t *ct_event_decode(struct ct_evtab *t, const uint8_t *p,
					     const uint8_t *end, struct ct_event *st, uint32_t m)
{
	int64_t tid_off = (int64_t)st->tid - st->pid;

	if (m & CT_F_PROC_REF) {
		uint64_t i;
		GETV(i);
		if (i >= t->nproc || (m & CT_F_PROC))
			return NULL;
		t->cur_proc = (uint32_t)i;
		event_set_pctx(st, &t->procs[i]);
	}
	/* Spelled-out process fields are rare: one branch skips them all. */
	if (m & CT_F_PROC) {
		if (m & CT_F_PID)
			GETV_MAX(st->pid, UINT32_MAX);
		if (m & CT_F_PPID)
			GETV_MAX(st->ppid, UINT32_MAX);
		if (m & CT_F_UID)
			GETV_MAX(st->uid, UINT32_MAX);
		if (m & CT_F_GID)
			GETV_MAX(st->gid, UINT32_MAX);
		if (m & CT_F_CGROUP)
			GETV(st->cgroup_id);
		if (m & CT_F_COMM) {
			if (p >= end || *p > CT_COMM_LEN || (size_t)(end - p - 1) < *p)
				return NULL;
			size_t n = *p++;
			memcpy(st->comm, p, n);
			memset(st->comm + n, 0, CT_COMM_LEN - n);
			p += n;
		}
		struct ct_pctx c;
		pctx_of(&c, st);
		uint32_t n = t->nproc;
		if (ct_evtab_push_proc(t, &c))
			return NULL;
		t->cur_proc = t->nproc > n ? n : UINT32_MAX;
	}
	if (m & CT_F_TID) {
		uint64_t w;
		GETV(w);
		tid_off = unzigzag(w);
	}
	int64_t tid = (int64_t)st->pid + tid_off;
	if (tid < 0 || tid > UINT32_MAX)
		return NULL;
	st->tid = (uint32_t)tid;

	if (m & CT_F_DEST_REF) {
		uint64_t i;
		GETV(i);
		if (i >= t->ndest || (m & CT_F_DEST))
			return NULL;
		const struct ct_dest *d = &t->dests[i];
		t->cur_dest = (uint32_t)i;
		/* daddr comes whole from the table (an IPv4 entry's tail is
		 * zero), so only saddr's tail is cleared on a switch to IPv4,
		 * without a branch: the family changes at random. */
		uint64_t keep = -(uint64_t)(d->family != AF_INET || st->family == AF_INET);
		uint32_t s4;
		uint64_t s8;
		memcpy(&s4, st->saddr + 4, 4);
		memcpy(&s8, st->saddr + 8, 8);
		s4 &= (uint32_t)keep;
		s8 &= keep;
		memcpy(st->saddr + 4, &s4, 4);
		memcpy(st->saddr + 8, &s8, 8);
		st->family = d->family;
		st->type = d->type;
		st->proto = d->proto;
		st->dport = d->dport;
		st->scope_id = d->scope_id;
		memcpy(st->daddr, d->daddr, 16);
		if (d->path_len || st->path_len)
			set_path(st, t->paths + d->path_off, d->path_len);
	}
	if (m & CT_F_DEST) {
		if (m & CT_F_FTP) {
			uint16_t fam;
			GETV_MAX(fam, UINT16_MAX);
			set_family(st, fam);
			GETV_MAX(st->type, UINT16_MAX);
			GETV_MAX(st->proto, UINT16_MAX);
		}
		if (m & CT_F_DADDR) {
			size_t n = addr_len(st->family);
			if ((size_t)(end - p) < n)
				return NULL;
			memcpy(st->daddr, p, n);
			p += n;
		}
		if (m & CT_F_DPORT) {
			if (end - p < 2)
				return NULL;
			st->dport = get_le16(p);
			p += 2;
		}
		if (m & CT_F_PATH) {
			if (p >= end || *p > CT_UNIX_PATH_MAX || (size_t)(end - p - 1) < *p)
				return NULL;
			size_t n = *p++;
			set_path(st, p, n);
			p += n;
		}
		if (m & CT_F_SCOPE)
			GETV_MAX(st->scope_id, UINT32_MAX);
		struct ct_dest d;
		dest_of(&d, st);
		uint32_t n = t->ndest;
		if (ct_evtab_push_dest(t, &d, st->path))
			return NULL;
		t->cur_dest = t->ndest > n ? n : UINT32_MAX;
	}
	if (m & CT_F_SADDR) {
		size_t n = addr_len(st->family);
		if ((size_t)(end - p) < n + 2)
			return NULL;
		st->sport = get_le16(p);
		memcpy(st->saddr, p + 2, n);
		p += 2 + n;
	}
	if (m & CT_F_SOCKFD)
		GETZ32(st->sockfd);
	if (m & CT_F_RET)
		GETZ32(st->ret);
	if (m & CT_F_LATENCY)
		GETV(st->latency_ns);
	if (m & CT_F_FLAGS)
		GETV_MAX(st->flags, UINT16_MAX);
	return p;
}
#undef GETV
#undef GETV_MAX
#undef GETZ32

#endif
