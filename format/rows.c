/* SPDX-License-Identifier: MIT */
/*
 * rows.c: format 1.x event chunks (read only). Each event record changes
 * the fields its mask names in the previous event of the chunk, or points
 * at an entry of two per-chunk tables (FORMAT.md, "Format 1.x event
 * chunks"). Decoded into the same columns and interned tables as a 2.0
 * chunk, so everything after the reader sees one kind of chunk.
 */
#include <stdlib.h>
#include <sys/socket.h>

#include "ct_internal.h"

/* Mask bits of an event record, in the order their values follow. */
enum {
	F_PROC_REF = 1u << 0,
	F_DEST_REF = 1u << 1,
	F_TID = 1u << 2,
	F_SOCKFD = 1u << 3,
	F_RET = 1u << 4,
	F_LATENCY = 1u << 5,
	F_FLAGS = 1u << 6,
	F_PID = 1u << 7,
	F_COMM = 1u << 8,
	F_PPID = 1u << 9,
	F_UID = 1u << 10,
	F_GID = 1u << 11,
	F_CGROUP = 1u << 12,
	F_FTP = 1u << 13, /* family, type, proto */
	F_DADDR = 1u << 14,
	F_DPORT = 1u << 15,
	F_PATH = 1u << 16,
	F_SCOPE = 1u << 17,
	F_SADDR = 1u << 18, /* sport + saddr */
	F_ALL = (1u << 19) - 1,
};
#define F_PROC (F_PID | F_COMM | F_PPID | F_UID | F_GID | F_CGROUP)
#define F_DEST (F_FTP | F_DADDR | F_DPORT | F_PATH | F_SCOPE)
#define TAB_MAX 65536u /* entries per table per chunk */

/* The decoder's state: the previous event, and the format's own tables
 * (which PROC_REF and DEST_REF index), mapped to interned entries. */
struct ct_rows {
	struct ct_task task;
	struct ct_dest dest;
	char path[CT_UNIX_PATH_MAX];
	uint64_t ts, latency;
	uint32_t tid;
	int32_t sockfd, ret;
	uint16_t sport, flags;
	uint8_t saddr[16];
	uint32_t *ftask, *fdest; /* format table entry -> interned entry */
	uint32_t nftask, nfdest, cap;
	uint32_t cur_task, cur_dest; /* interned entry of the state */
};

void ct_rows_free(struct ct_rows *rs)
{
	if (!rs)
		return;
	free(rs->ftask);
	free(rs->fdest);
	free(rs);
}

#define GETV(dst)                                                                                  \
	do {                                                                                       \
		uint64_t v_;                                                                       \
		if (!(p = get_varint(p, end, &v_)))                                                \
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

static int intern_task(struct ct_rows *s, struct ct_tables *t)
{
	int added;
	long i = ct_tables_intern_task(t, &s->task, &added);
	if (i < 0)
		return -1;
	s->cur_task = (uint32_t)i;
	return 0;
}

static int intern_dest(struct ct_rows *s, struct ct_tables *t)
{
	int added;
	s->dest.path = s->path;
	long i = ct_tables_intern_dest(t, &s->dest, &added);
	if (i < 0)
		return -1;
	s->cur_dest = (uint32_t)i;
	return 0;
}

/* Apply the fields of mask m to the state. NULL on malformed input. */
static const uint8_t *decode_one(struct ct_rows *s, struct ct_tables *t, const uint8_t *p,
				 const uint8_t *end, uint32_t m)
{
	int64_t tid_off = (int64_t)s->tid - s->task.pid;

	if (m & F_PROC_REF) {
		uint64_t i;
		GETV(i);
		if (i >= s->nftask || (m & F_PROC))
			return NULL;
		s->cur_task = s->ftask[i];
		s->task = t->tasks[s->cur_task];
	}
	if (m & F_PROC) {
		if (m & F_PID)
			GETV_MAX(s->task.pid, UINT32_MAX);
		if (m & F_PPID)
			GETV_MAX(s->task.ppid, UINT32_MAX);
		if (m & F_UID)
			GETV_MAX(s->task.uid, UINT32_MAX);
		if (m & F_GID)
			GETV_MAX(s->task.gid, UINT32_MAX);
		if (m & F_CGROUP)
			GETV(s->task.cgroup_id);
		if (m & F_COMM) {
			if (p >= end || *p > CT_COMM_LEN || (size_t)(end - p - 1) < *p)
				return NULL;
			size_t n = *p++;
			memcpy(s->task.comm, p, n);
			memset(s->task.comm + n, 0, CT_COMM_LEN - n);
			p += n;
		}
		if (intern_task(s, t))
			return NULL;
		if (s->nftask < TAB_MAX)
			s->ftask[s->nftask++] = s->cur_task;
	}
	if (m & F_TID) {
		uint64_t w;
		GETV(w);
		tid_off = unzigzag(w);
	}
	int64_t tid = (int64_t)s->task.pid + tid_off;
	if (tid < 0 || tid > UINT32_MAX)
		return NULL;
	s->tid = (uint32_t)tid;

	if (m & F_DEST_REF) {
		uint64_t i;
		GETV(i);
		if (i >= s->nfdest || (m & F_DEST))
			return NULL;
		s->cur_dest = s->fdest[i];
		const struct ct_dest *d = &t->dests[s->cur_dest];
		s->dest = *d;
		if (d->path_len) /* no path area at all when no destination has one */
			memcpy(s->path, t->paths + t->path_off[s->cur_dest], d->path_len);
	}
	if (m & F_DEST) {
		if (m & F_FTP) {
			GETV_MAX(s->dest.family, UINT16_MAX);
			GETV_MAX(s->dest.type, UINT16_MAX);
			GETV_MAX(s->dest.proto, UINT16_MAX);
			if (s->dest.family == AF_INET)
				memset(s->dest.daddr + 4, 0, 12);
		}
		if (m & F_DADDR) {
			size_t n = addr_len(s->dest.family);
			if ((size_t)(end - p) < n)
				return NULL;
			memcpy(s->dest.daddr, p, n);
			p += n;
		}
		if (m & F_DPORT) {
			if (end - p < 2)
				return NULL;
			s->dest.dport = get_le16(p);
			p += 2;
		}
		if (m & F_PATH) {
			if (p >= end || *p > CT_UNIX_PATH_MAX || (size_t)(end - p - 1) < *p)
				return NULL;
			size_t n = *p++;
			memcpy(s->path, p, n);
			s->dest.path_len = (uint8_t)n;
			p += n;
		}
		if (m & F_SCOPE)
			GETV_MAX(s->dest.scope_id, UINT32_MAX);
		if (intern_dest(s, t))
			return NULL;
		if (s->nfdest < TAB_MAX)
			s->fdest[s->nfdest++] = s->cur_dest;
	}
	if (m & F_SADDR) {
		size_t n = addr_len(s->dest.family);
		if ((size_t)(end - p) < n + 2)
			return NULL;
		s->sport = get_le16(p);
		memset(s->saddr, 0, 16);
		memcpy(s->saddr, p + 2, n);
		p += 2 + n;
	}
	if (m & F_SOCKFD)
		GETZ32(s->sockfd);
	if (m & F_RET)
		GETZ32(s->ret);
	if (m & F_LATENCY)
		GETV(s->latency);
	if (m & F_FLAGS)
		GETV_MAX(s->flags, UINT16_MAX);
	return p;
}

uint32_t ct_rows_decode(struct ct_rows **rsp, struct ct_tables *t, const uint8_t *p,
			const uint8_t *end, uint64_t first_ts, uint32_t records,
			struct ct_colbuf *out, const char **why)
{
	struct ct_rows *s = *rsp;
	uint32_t n = 0;

	*why = NULL;
	/* The chunk header counts its records: room for that many events. */
	if (records > CT_CHUNK_EVENTS_MAX) {
		*why = "bad record count";
		return 0;
	}
	if (ct_colbuf_reserve(out, records ? records : 1)) {
		*why = "out of memory";
		return 0;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s || !(s->ftask = malloc(TAB_MAX * sizeof(uint32_t))) ||
		    !(s->fdest = malloc(TAB_MAX * sizeof(uint32_t)))) {
			ct_rows_free(s);
			*why = "out of memory";
			return 0;
		}
		*rsp = s;
	}
	ct_tables_reset(t);
	struct ct_task tz = {0};
	struct ct_dest dz = {0};
	uint8_t sz[16] = {0};
	s->task = tz;
	s->dest = dz;
	memcpy(s->saddr, sz, 16);
	s->ts = first_ts;
	s->latency = 0;
	s->tid = 0;
	s->sockfd = s->ret = 0;
	s->sport = s->flags = 0;
	s->nftask = s->nfdest = 0;
	/* The all-zero event a chunk starts from is an entry of neither table
	 * until an event is made of it. */
	int have_task = 0, have_dest = 0;
	while (p < end) {
		uint64_t head, dts;
		const uint8_t *q = get_varint(p, end, &head);
		if (!q) {
			*why = "bad record";
			break;
		}
		if (head & 1) { /* a record of another kind: skipped by its length */
			uint64_t len;
			if (!(q = get_varint(q, end, &len)) || len > (uint64_t)(end - q)) {
				*why = "bad record";
				break;
			}
			p = q + len;
			continue;
		}
		uint64_t mask = head >> 1;
		if ((mask & ~(uint64_t)F_ALL) || !(q = get_varint(q, end, &dts)) || n >= records) {
			*why = "bad record";
			break;
		}
		if (!(q = decode_one(s, t, q, end, (uint32_t)mask))) {
			*why = "bad record";
			break;
		}
		p = q;
		if (s->ts + dts < s->ts) {
			*why = "bad timestamps";
			break;
		}
		s->ts += dts;
		if (!(mask & (F_PROC_REF | F_PROC)) && !have_task && intern_task(s, t)) {
			*why = "out of memory";
			break;
		}
		if (!(mask & (F_DEST_REF | F_DEST)) && !have_dest && intern_dest(s, t)) {
			*why = "out of memory";
			break;
		}
		have_task = have_dest = 1;
		out->ts[n] = s->ts;
		out->task[n] = s->cur_task;
		out->dest[n] = s->cur_dest;
		out->tid[n] = s->tid;
		out->sockfd[n] = s->sockfd;
		out->ret[n] = s->ret;
		out->latency[n] = s->latency;
		out->flags[n] = s->flags & CT_EV_STORED;
		out->sport[n] = s->flags & CT_EV_SADDR ? s->sport : 0;
		memset(out->saddr[n], 0, 16);
		if (s->flags & CT_EV_SADDR)
			memcpy(out->saddr[n], s->saddr, addr_len(s->dest.family));
		n++;
	}
	ct_tables_fix_paths(t);
	return n;
}
