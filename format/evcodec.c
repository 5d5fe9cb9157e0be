/* SPDX-License-Identifier: MIT */
/*
 * evcodec.c: the compact event encoding of event chunks. Each event is
 * stored as the fields that differ from the previous event of its chunk; a
 * process context or destination seen before in the chunk is one small
 * table index. A decoder keeps one struct as state and patches it in place.
 * Field order and byte layout: format/FORMAT.md, "Event records".
 */
#include <stddef.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "ct_internal.h"

void ct_event_normalise(struct ct_event *ev)
{
	size_t n = strnlen(ev->comm, CT_COMM_LEN);

	memset(ev->comm + n, 0, CT_COMM_LEN - n);
	if (ev->path_len > CT_UNIX_PATH_MAX)
		ev->path_len = CT_UNIX_PATH_MAX;
	memset(ev->path + ev->path_len, 0, CT_UNIX_PATH_MAX - ev->path_len);
	if (ev->family == AF_INET) {
		memset(ev->daddr + 4, 0, 12);
		memset(ev->saddr + 4, 0, 12);
	}
	memset(ev->_pad, 0, sizeof(ev->_pad));
}

uint32_t ct_event_diff(const struct ct_event *a, const struct ct_event *b)
{
	uint32_t m = 0;

	if (memcmp(a->daddr, b->daddr, 16))
		m |= CT_F_DADDR;
	if (a->dport != b->dport)
		m |= CT_F_DPORT;
	if (a->ret != b->ret)
		m |= CT_F_RET;
	if (a->sockfd != b->sockfd)
		m |= CT_F_SOCKFD;
	if ((int64_t)a->tid - a->pid != (int64_t)b->tid - b->pid)
		m |= CT_F_TID;
	if (a->pid != b->pid)
		m |= CT_F_PID;
	if (a->latency_ns != b->latency_ns)
		m |= CT_F_LATENCY;
	if (memcmp(a->comm, b->comm, CT_COMM_LEN))
		m |= CT_F_COMM;
	if (a->ppid != b->ppid)
		m |= CT_F_PPID;
	if (a->uid != b->uid)
		m |= CT_F_UID;
	if (a->gid != b->gid)
		m |= CT_F_GID;
	if (a->cgroup_id != b->cgroup_id)
		m |= CT_F_CGROUP;
	if (a->family != b->family || a->type != b->type || a->proto != b->proto)
		m |= CT_F_FTP;
	if (a->flags != b->flags)
		m |= CT_F_FLAGS;
	if (a->path_len != b->path_len || memcmp(a->path, b->path, a->path_len))
		m |= CT_F_PATH;
	if (a->sport != b->sport || memcmp(a->saddr, b->saddr, 16))
		m |= CT_F_SADDR;
	if (a->scope_id != b->scope_id)
		m |= CT_F_SCOPE;
	return m;
}

/* ---------------------------------------------------------------- tables */

void ct_evtab_reset(struct ct_evtab *t)
{
	t->nproc = t->ndest = 0;
	t->cur_proc = t->cur_dest = UINT32_MAX;
	t->npaths = 0;
	if (t->phash)
		memset(t->phash, 0, t->phcap * sizeof(*t->phash));
	if (t->dhash)
		memset(t->dhash, 0, t->dhcap * sizeof(*t->dhash));
}

void ct_evtab_free(struct ct_evtab *t)
{
	free(t->procs);
	free(t->dests);
	free(t->paths);
	free(t->phash);
	free(t->dhash);
	memset(t, 0, sizeof(*t));
}

#define DEST_KEY offsetof(struct ct_dest, path_off)

/* Word-at-a-time hash over the used bytes of an entry (the unused tail of
 * a path is zero and skipped). */
static uint64_t hash_mem(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, b + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	for (; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	h ^= h >> 29;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 32);
}

/* Append to a table (both sides call this with the same entries). */
int ct_evtab_push_proc(struct ct_evtab *t, const struct ct_pctx *c)
{
	if (t->nproc >= CT_TAB_MAX)
		return 0;
	if (t->nproc == t->cap_proc) {
		uint32_t cap = t->cap_proc ? t->cap_proc * 2 : 64;
		struct ct_pctx *p = realloc(t->procs, cap * sizeof(*p));
		if (!p)
			return -1;
		t->procs = p;
		t->cap_proc = cap;
	}
	memcpy(&t->procs[t->nproc++], c, sizeof(*c));
	return 0;
}

int ct_evtab_push_dest(struct ct_evtab *t, const struct ct_dest *d, const char *path)
{
	if (t->ndest >= CT_TAB_MAX)
		return 0;
	if (t->ndest == t->cap_dest) {
		uint32_t cap = t->cap_dest ? t->cap_dest * 2 : 64;
		struct ct_dest *p = realloc(t->dests, cap * sizeof(*p));
		if (!p)
			return -1;
		t->dests = p;
		t->cap_dest = cap;
	}
	if (t->cap_paths - t->npaths < d->path_len) {
		size_t cap = t->cap_paths ? t->cap_paths * 2 : 4096;
		char *p = realloc(t->paths, cap);
		if (!p)
			return -1;
		t->paths = p;
		t->cap_paths = cap;
	}
	struct ct_dest *e = &t->dests[t->ndest++];
	memcpy(e, d, sizeof(*d)); /* padding too: keys are compared by memcmp */
	e->path_off = (uint32_t)t->npaths;
	if (d->path_len)
		memcpy(t->paths + t->npaths, path, d->path_len);
	t->npaths += d->path_len;
	return 0;
}

static uint64_t dest_hash(const struct ct_dest *d, const char *path)
{
	return hash_mem(d, DEST_KEY) ^ (d->path_len ? hash_mem(path, d->path_len) * 31 : 0);
}

/* The encoder's hash index over one table, kept at most half full. */
static int grow_index(uint32_t **hash, uint32_t *hcap, uint32_t n, struct ct_evtab *t, int is_dest)
{
	if (*hcap && (n + 1) * 2 <= *hcap)
		return 0;
	uint32_t cap = *hcap ? *hcap * 2 : 256;
	uint32_t *h = calloc(cap, sizeof(*h));
	if (!h)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t k = is_dest ? dest_hash(&t->dests[i], t->paths + t->dests[i].path_off)
				     : hash_mem(&t->procs[i], sizeof(t->procs[i]));
		uint32_t j = (uint32_t)k & (cap - 1);
		while (h[j])
			j = (j + 1) & (cap - 1);
		h[j] = i + 1;
	}
	free(*hash);
	*hash = h;
	*hcap = cap;
	return 0;
}

/* Index of an equal entry, or -1 after adding it (or when the table is
 * full), or -2 on allocation failure. */
static long find_or_add_proc(struct ct_evtab *t, const struct ct_pctx *c)
{
	if (grow_index(&t->phash, &t->phcap, t->nproc, t, 0))
		return -2;
	uint32_t j = (uint32_t)hash_mem(c, sizeof(*c)) & (t->phcap - 1);
	while (t->phash[j]) {
		uint32_t i = t->phash[j] - 1;
		if (!memcmp(&t->procs[i], c, sizeof(*c)))
			return i;
		j = (j + 1) & (t->phcap - 1);
	}
	if (t->nproc >= CT_TAB_MAX)
		return -1;
	if (ct_evtab_push_proc(t, c))
		return -2;
	t->phash[j] = t->nproc;
	return -1;
}

static long find_or_add_dest(struct ct_evtab *t, const struct ct_dest *d, const char *path)
{
	if (grow_index(&t->dhash, &t->dhcap, t->ndest, t, 1))
		return -2;
	uint32_t j = (uint32_t)dest_hash(d, path) & (t->dhcap - 1);
	while (t->dhash[j]) {
		uint32_t i = t->dhash[j] - 1;
		const struct ct_dest *e = &t->dests[i];
		if (!memcmp(e, d, DEST_KEY) &&
		    (!d->path_len || !memcmp(t->paths + e->path_off, path, d->path_len)))
			return i;
		j = (j + 1) & (t->dhcap - 1);
	}
	if (t->ndest >= CT_TAB_MAX)
		return -1;
	if (ct_evtab_push_dest(t, d, path))
		return -2;
	t->dhash[j] = t->ndest;
	return -1;
}

/* ---------------------------------------------------------------- encode */

/* Encoding order is decoding order: the process part, the tid, then the
 * destination (family before addresses: it says how many bytes follow). */
uint8_t *ct_event_encode(struct ct_evtab *t, uint8_t *p, const struct ct_event *prev,
			 const struct ct_event *ev, uint32_t diff, uint32_t *mask)
{
	uint32_t m = diff;

	long proc_ref = -1, dest_ref = -1;
	if (diff & CT_F_PROC) {
		struct ct_pctx c;
		pctx_of(&c, ev);
		proc_ref = find_or_add_proc(t, &c);
		if (proc_ref == -2)
			return NULL;
		if (proc_ref >= 0)
			m = (m & ~CT_F_PROC) | CT_F_PROC_REF;
	}
	if (diff & CT_F_DEST) {
		struct ct_dest d;
		dest_of(&d, ev);
		dest_ref = find_or_add_dest(t, &d, ev->path);
		if (dest_ref == -2)
			return NULL;
		if (dest_ref >= 0)
			m = (m & ~CT_F_DEST) | CT_F_DEST_REF;
	}

	*mask = m;
	p = put_varint(p, (uint64_t)m << 1);
	p = put_varint(p, ev->ts_ns - prev->ts_ns);
	if (m & CT_F_PROC_REF)
		p = put_varint(p, (uint64_t)proc_ref);
	if (m & CT_F_PID)
		p = put_varint(p, ev->pid);
	if (m & CT_F_PPID)
		p = put_varint(p, ev->ppid);
	if (m & CT_F_UID)
		p = put_varint(p, ev->uid);
	if (m & CT_F_GID)
		p = put_varint(p, ev->gid);
	if (m & CT_F_CGROUP)
		p = put_varint(p, ev->cgroup_id);
	if (m & CT_F_COMM) {
		size_t n = strnlen(ev->comm, CT_COMM_LEN);
		*p++ = (uint8_t)n;
		memcpy(p, ev->comm, n);
		p += n;
	}
	if (m & CT_F_TID)
		p = put_varint(p, zigzag((int64_t)ev->tid - (int64_t)ev->pid));
	if (m & CT_F_DEST_REF)
		p = put_varint(p, (uint64_t)dest_ref);
	if (m & CT_F_FTP) {
		p = put_varint(p, ev->family);
		p = put_varint(p, ev->type);
		p = put_varint(p, ev->proto);
	}
	if (m & CT_F_DADDR) {
		size_t n = addr_len(ev->family);
		memcpy(p, ev->daddr, n);
		p += n;
	}
	if (m & CT_F_DPORT) {
		put_le16(p, ev->dport);
		p += 2;
	}
	if (m & CT_F_PATH) {
		*p++ = ev->path_len;
		memcpy(p, ev->path, ev->path_len);
		p += ev->path_len;
	}
	if (m & CT_F_SCOPE)
		p = put_varint(p, ev->scope_id);
	if (m & CT_F_SADDR) {
		size_t n = addr_len(ev->family);
		put_le16(p, ev->sport);
		memcpy(p + 2, ev->saddr, n);
		p += 2 + n;
	}
	if (m & CT_F_SOCKFD)
		p = put_varint(p, zigzag(ev->sockfd));
	if (m & CT_F_RET)
		p = put_varint(p, zigzag(ev->ret));
	if (m & CT_F_LATENCY)
		p = put_varint(p, ev->latency_ns);
	if (m & CT_F_FLAGS)
		p = put_varint(p, ev->flags);
	return p;
}

/* ---------------------------------------------------------------- decode */
