/* SPDX-License-Identifier: MIT */
/*
 * ct_internal.h: what the writer, reader and codecs of format/ share. The
 * byte layouts named here are specified in format/FORMAT.md.
 */
#ifndef CONNTRAIL_CT_INTERNAL_H
#define CONNTRAIL_CT_INTERNAL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "oatab.h"
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
	CT_HK_FILE_SEQ = 20,	 /* number of this file in its recording (rotation) */
	CT_HK_ROTATE_FILES = 21, /* files in the --rotate ring, 0 or absent: none */
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

/* Summary (Bloom filter) layout: u8 type (1), u8 k, u8 log2 bits, u8 key
 * set (CT_SUM_KEYS_*), then 2^log2 bits. */
#define CT_SUM_BLOOM 1
#define CT_SUM_HEAD 4
#define CT_SUM_KEYS_RESULT 1 /* the keys include CT_KEY_RESULT (2.1 on) */
#define CT_SUM_KEYS_DNAME 2  /* the keys include CT_KEY_DNAME (writers after conntrail 0.2.1) */
#define CT_BLOOM_K 7
#define CT_BLOOM_MIN_LOG2 6
#define CT_BLOOM_MAX_LOG2 20

/* Most events in one chunk: the writer's bound, and the reader's, which
 * cannot trust the payload size (columns of width 0 take no bytes). */
#define CT_CHUNK_EVENTS_MAX 131072u
/* Events are checked this many at a time: a bad value ends its chunk, and
 * the events of the blocks before it are kept. */
#define CT_COL_BLOCK 512

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

/* Room for need elements of size bytes in the array at *(T **)arrp of
 * *cap: grown to need or twice *cap, whichever is more (at least 16). 0,
 * or CT_E_NOMEM with the array as it was. */
static inline int ct_reserve(void *arrp, uint32_t *cap, uint64_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	uint64_t c = (uint64_t)*cap * 2;
	c = c < need ? need : c < 16 ? 16 : c;
	void *old, *p;
	memcpy(&old, arrp, sizeof(old));
	if (c > UINT32_MAX || !(p = realloc(old, (size_t)c * size)))
		return CT_E_NOMEM;
	memcpy(arrp, &p, sizeof(p));
	*cap = (uint32_t)c;
	return 0;
}

/* Growable byte buffer for encoding. */
struct ct_bytes {
	uint8_t *p;
	size_t len, cap;
};
int ct_bytes_reserve(struct ct_bytes *b, size_t more);
/* Room for more bytes after len in the byte area at *(char **)areap of
 * *cap: first bytes, or twice *cap, doubled until they fit. 0, or
 * CT_E_NOMEM with the area as it was. */
int ct_grow_bytes(void *areap, size_t *cap, size_t len, size_t more, size_t first);
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

static inline size_t addr_len(uint16_t family)
{
	return family == AF_INET ? 4 : 16;
}

/* What connect(2) returned is the final outcome, unless a TCP handshake
 * went on after it: in progress, or interrupted by a signal. The reader's
 * rule for an event without an outcome record, and the writer's for its
 * result summary key. */
/* 1 for EINTR and the kernel's ERESTART* (-512..-516), without a branch:
 * the batch decoder runs it on every event. */
static inline uint32_t ct_ret_interrupted(int32_t ret)
{
	return (uint32_t)(ret == -4) | ((uint32_t)ret + 516u <= 4u);
}

static inline int ct_ret_is_final(int32_t ret, uint16_t proto)
{
	if (ret == -115) /* EINPROGRESS */
		return 0;
	return !(proto == 6 && ct_ret_interrupted(ret));
}

/* ---------------------------------------------------------------- summary */

/* Summary builder: collects distinct key hashes of one chunk. */
struct ct_sumbuild {
	struct ct_oatab set; /* ct_hset_add */
};
uint64_t ct_key_hash(enum ct_key key, const void *val, size_t len);
int ct_sum_add(struct ct_sumbuild *sb, uint64_t h);
/* The keys of a process context, of a destination, of a final outcome. */
int ct_sum_add_task(struct ct_sumbuild *sb, const struct ct_task *t);
int ct_sum_add_dest(struct ct_sumbuild *sb, const struct ct_dest *d);
int ct_sum_add_result(struct ct_sumbuild *sb, int32_t key);
/* Append the Bloom filter over the collected keys to out; clears sb. seq
 * (the chunk's) salts the bit positions. */
int ct_sum_finish(struct ct_sumbuild *sb, uint32_t seq, struct ct_bytes *out);
void ct_sum_free(struct ct_sumbuild *sb);

/* ---------------------------------------------------------------- tables */

/* A chunk's process contexts and destinations. The encoder interns them
 * (hash index, paths in its own area); the decoders fill them, paths
 * pointing into the decoded payload or into paths. */
struct ct_tables {
	struct ct_task *tasks;
	struct ct_dest *dests;
	uint32_t ntasks, cap_tasks, ndests, cap_dests;
	char *paths; /* interned paths, each padded to 16 bytes */
	size_t npaths, cap_paths;
	uint32_t *thash, *dhash; /* intern index: entry + 1, 0 empty */
	uint32_t thcap, dhcap;
	uint32_t *path_off; /* interned dests: their path's offset in paths */
	uint32_t cap_path_off;
};
void ct_tables_reset(struct ct_tables *t);
void ct_tables_free(struct ct_tables *t);
/* Index of the entry equal to x, appended when new (*added set); -1 out of
 * memory. An interned dest's path points into t->paths only after
 * ct_tables_fix_paths (the area moves while it grows). */
long ct_tables_intern_task(struct ct_tables *t, const struct ct_task *x, int *added);
long ct_tables_intern_dest(struct ct_tables *t, const struct ct_dest *x, int *added);
void ct_tables_fix_paths(struct ct_tables *t);
/* Bytes a task and a dest entry may differ in: what interning compares. */
void ct_task_normalise(struct ct_task *t);
void ct_dest_normalise(struct ct_dest *d);

/* -------------------------------------------------- decoded event columns */

/* Columns of one chunk's events as the reader decodes them (n each). */
struct ct_colbuf {
	uint32_t cap;
	uint64_t *ts;
	uint32_t *task, *dest, *tid;
	uint16_t *flags, *sport;
	int32_t *sockfd, *ret, *result;
	uint64_t *latency, *result_ns, *closed_ns, *tx, *rx;
	uint8_t (*saddr)[16];
	/* scratch for checking columns the caller does not read */
	uint64_t *tmp64;
	uint32_t *tmp32;
};
int ct_colbuf_reserve(struct ct_colbuf *c, uint32_t n);
/* Memory for a buffer of megabytes, in huge pages where the kernel allows
 * (chunkio.c); freed with free(). *size: the bytes wanted, then the bytes
 * given (whole huge pages), to keep as the capacity: a buffer regrown by a
 * few bytes would otherwise be zeroed anew, 2 MiB at a time. */
void *ct_big_alloc(size_t *size);
void ct_colbuf_free(struct ct_colbuf *c);

/* ------------------------------------------------ format 2.0 event chunks */

/* Columns of an event chunk's payload, in their order (FORMAT.md). */
enum ct_col {
	CT_COLP_TS,	 /* delta from the previous event's ts */
	CT_COLP_TASK,	 /* index into the process table */
	CT_COLP_DEST,	 /* index into the destination table */
	CT_COLP_TID,	 /* zigzag(tid - pid) */
	CT_COLP_SOCKFD,	 /* zigzag */
	CT_COLP_RET,	 /* zigzag */
	CT_COLP_LATENCY, /* latency_ns */
	CT_COLP_FLAGS,
	CT_COLP_SPORT,
	CT_NCOLS,
};

/* A column's head: width, base and where its planes are. */
struct ct_colhead {
	unsigned w;
	uint64_t base;
	const uint8_t *planes;
	/* bytes from one plane to the next, the column's count of values: a
	 * part of it (values k..) is planes + k with the same stride */
	size_t stride;
};

/* An opened 2.0 event payload: its tables are loaded, its columns not yet. */
struct ct_cols {
	uint32_t n;
	uint64_t first_ts;
	struct ct_colhead h[CT_NCOLS];
	int64_t pid_min, pid_max; /* over the process table */
	const uint8_t *saddr;	  /* the saddr bytes, in the payload */
	size_t saddr_len;
};
/* Check a 2.0 event payload's tables and column heads and sizes, and load
 * its tables into t (their paths point into p). NULL, or why it is
 * malformed. */
const char *ct_cols_open(struct ct_cols *c, struct ct_tables *t, const uint8_t *p, size_t len,
			 uint32_t records, uint64_t first_ts);
/* Decode the columns the caller reads (CT_COL_* in want; ts, task, dest
 * and flags always) into out, and check every column, read or not. Returns
 * the number of events that passed (n, or fewer: then the chunk is
 * damaged from that block on and *why says why). */
uint32_t ct_cols_decode(const struct ct_cols *c, const struct ct_tables *t, uint32_t want,
			struct ct_colbuf *out, const char **why);

/* What the encoder stores of one event (the writer's copy of ct_event,
 * task and dest by value, the path in the writer's area). */
struct ct_wevent {
	uint64_t ts_ns, latency_ns;
	struct ct_task task;
	struct ct_dest dest; /* dest.path: NULL, path bytes at path_off */
	uint32_t path_off;
	uint32_t tid;
	int32_t sockfd, ret;
	uint16_t sport, flags;
	uint8_t saddr[16];
};
/* Encode n events (evs[order[k]], sorted by ts; paths in the writer's area)
 * as a 2.0 event payload appended to out; adds each table entry's summary
 * keys to sb. scratch is the caller's, reused between chunks. */
int ct_cols_encode(struct ct_tables *t, struct ct_sumbuild *sb, const struct ct_wevent *evs,
		   const char *paths, const uint32_t *order, uint32_t n, struct ct_bytes *scratch,
		   struct ct_bytes *out);

/* Shared with the outcome codec: a column as byte planes of value - base. */
int ct_put_column(struct ct_bytes *out, const uint64_t *v, uint32_t n);
const char *ct_col_head(const uint8_t **pp, const uint8_t *end, uint32_t n, unsigned wmax,
			struct ct_colhead *h);
/* Values of a column into out; the index of the first value past max, or n. */
uint32_t ct_col_unpack64(uint64_t *out, uint32_t *tmp32, const struct ct_colhead *h, uint32_t n,
			 uint64_t max);

/* ---------------------------------------------------- outcome chunks (2.1) */

/* One outcome record as stored: the attempt is event position index of
 * event chunk seq (and ts_ns, tid for checking and for streams). */
struct ct_oc_rec {
	uint32_t seq, index;
	uint64_t ts_ns;
	uint32_t tid, flags;
	int32_t result;
	uint32_t _pad;
	uint64_t result_ns, closed_ns, tx_bytes, rx_bytes;
};
/* Encode n records, sorted by (seq, index), appended to out; first_ts is
 * the chunk header's (the smallest ts of the records). */
int ct_oc_encode(const struct ct_oc_rec *r, uint32_t n, uint64_t first_ts, struct ct_bytes *scratch,
		 struct ct_bytes *out);
/* Decode an outcome payload of `records` records into *out (grown as
 * needed). NULL, or why it is malformed. */
const char *ct_oc_decode(const uint8_t *p, size_t len, uint32_t records, uint64_t first_ts,
			 struct ct_oc_rec **out, uint32_t *cap);

/* ------------------------------------------------- format 1.x event chunks */

/* The event records of a 1.x event chunk's payload into columns, with
 * tables interned as the encoder interns them. Records of other types
 * among them are skipped; more events than records (the chunk header's
 * count) are malformed. Returns the events decoded; *why is set when a
 * record is malformed (the chunk ends there, the events before it kept). */
struct ct_rows;
uint32_t ct_rows_decode(struct ct_rows **rs, struct ct_tables *t, const uint8_t *p,
			const uint8_t *end, uint64_t first_ts, uint32_t records,
			struct ct_colbuf *out, const char **why);
void ct_rows_free(struct ct_rows *rs);

#endif
