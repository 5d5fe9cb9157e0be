/* SPDX-License-Identifier: MIT */
/*
 * evcodec.c: the per-chunk tables of process contexts and destinations that
 * the encoder interns and the decoders fill, and the decoded-column buffer.
 */
#include <stddef.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "ct_internal.h"

void ct_task_normalise(struct ct_task *t)
{
	size_t n = strnlen(t->comm, CT_COMM_LEN);

	memset(t->comm + n, 0, CT_COMM_LEN - n);
}

void ct_dest_normalise(struct ct_dest *d)
{
	if (d->path_len > CT_UNIX_PATH_MAX)
		d->path_len = CT_UNIX_PATH_MAX;
	if (d->family == AF_INET)
		memset(d->daddr + 4, 0, 12);
	memset(d->_pad, 0, sizeof(d->_pad));
}

/* ---------------------------------------------------------------- tables */

void ct_tables_reset(struct ct_tables *t)
{
	t->ntasks = t->ndests = 0;
	t->npaths = 0;
	if (t->thash)
		memset(t->thash, 0, t->thcap * sizeof(*t->thash));
	if (t->dhash)
		memset(t->dhash, 0, t->dhcap * sizeof(*t->dhash));
}

void ct_tables_free(struct ct_tables *t)
{
	free(t->tasks);
	free(t->dests);
	free(t->paths);
	free(t->thash);
	free(t->dhash);
	free(t->path_off);
	memset(t, 0, sizeof(*t));
}

/* The bytes of a dest that make its key: all but the path pointer. */
#define DEST_KEY offsetof(struct ct_dest, path)

/* Word-at-a-time hash over n bytes. */
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

static uint64_t dest_hash(const struct ct_dest *d, const char *path)
{
	return hash_mem(d, DEST_KEY) ^ (d->path_len ? hash_mem(path, d->path_len) * 31 : 0);
}

static const char *dest_path(const struct ct_tables *t, uint32_t i)
{
	return t->paths + t->path_off[i];
}

/* The intern index over one table, kept at most half full. */
static int grow_index(uint32_t **hash, uint32_t *hcap, uint32_t n, struct ct_tables *t, int is_dest)
{
	if (*hcap && (n + 1) * 2 <= *hcap)
		return 0;
	uint32_t cap = *hcap ? *hcap * 2 : 256;
	uint32_t *h = calloc(cap, sizeof(*h));
	if (!h)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t k = is_dest ? dest_hash(&t->dests[i], dest_path(t, i))
				     : hash_mem(&t->tasks[i], sizeof(t->tasks[i]));
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

long ct_tables_intern_task(struct ct_tables *t, const struct ct_task *x, int *added)
{
	*added = 0;
	if (grow_index(&t->thash, &t->thcap, t->ntasks, t, 0))
		return -1;
	uint32_t j = (uint32_t)hash_mem(x, sizeof(*x)) & (t->thcap - 1);
	while (t->thash[j]) {
		uint32_t i = t->thash[j] - 1;
		if (!memcmp(&t->tasks[i], x, sizeof(*x)))
			return i;
		j = (j + 1) & (t->thcap - 1);
	}
	if (ct_reserve(&t->tasks, &t->cap_tasks, (uint64_t)t->ntasks + 1, sizeof(*t->tasks)))
		return -1;
	t->tasks[t->ntasks++] = *x;
	t->thash[j] = t->ntasks;
	*added = 1;
	return (long)t->ntasks - 1;
}

long ct_tables_intern_dest(struct ct_tables *t, const struct ct_dest *x, int *added)
{
	*added = 0;
	if (grow_index(&t->dhash, &t->dhcap, t->ndests, t, 1))
		return -1;
	uint32_t j = (uint32_t)dest_hash(x, x->path) & (t->dhcap - 1);
	while (t->dhash[j]) {
		uint32_t i = t->dhash[j] - 1;
		if (!memcmp(&t->dests[i], x, DEST_KEY) &&
		    (!x->path_len || !memcmp(dest_path(t, i), x->path, x->path_len)))
			return i;
		j = (j + 1) & (t->dhcap - 1);
	}
	if (ct_reserve(&t->dests, &t->cap_dests, (uint64_t)t->ndests + 1, sizeof(*t->dests)) ||
	    ct_reserve(&t->path_off, &t->cap_path_off, (uint64_t)t->ndests + 1,
		       sizeof(*t->path_off)))
		return -1;
	size_t padded = ((size_t)x->path_len + 15) & ~(size_t)15;
	if (ct_grow_bytes(&t->paths, &t->cap_paths, t->npaths, padded, 4096))
		return -1;
	struct ct_dest *e = &t->dests[t->ndests];
	memcpy(e, x, DEST_KEY); /* padding too: keys are compared by memcmp */
	e->path = NULL;
	t->path_off[t->ndests] = (uint32_t)t->npaths;
	if (x->path_len) {
		memcpy(t->paths + t->npaths, x->path, x->path_len);
		memset(t->paths + t->npaths + x->path_len, 0, padded - x->path_len);
	}
	t->npaths += padded;
	t->dhash[j] = ++t->ndests;
	*added = 1;
	return (long)t->ndests - 1;
}

void ct_tables_fix_paths(struct ct_tables *t)
{
	for (uint32_t i = 0; i < t->ndests; i++)
		t->dests[i].path = t->dests[i].path_len ? dest_path(t, i) : NULL;
}

/* --------------------------------------------------------- column buffer */

int ct_colbuf_reserve(struct ct_colbuf *c, uint32_t n)
{
	if (n <= c->cap)
		return 0;
	uint32_t cap = c->cap ? c->cap : 1024;
	while (cap < n)
		cap *= 2;
	ct_colbuf_free(c);
	/*
	 * One block in huge pages where the kernel allows (ct_big_alloc): a
	 * chunk's columns are megabytes, and filling them then costs a fault
	 * per 2 MiB instead of one per 4 KiB. The columns every read decodes
	 * (ts, task, dest, flags, the scratch) and report's (ret, result) come
	 * first, so the rarely read ones after them are seldom touched at all.
	 * Each column is cap (a power of two from 1024) entries: any order
	 * keeps every column aligned.
	 */
	size_t per = 7 * sizeof(uint64_t) + 16 + 5 * sizeof(uint32_t) + 3 * sizeof(int32_t) +
		     2 * sizeof(uint16_t);
	size_t bytes = (size_t)cap * per;
	uint8_t *m = ct_big_alloc(&bytes);
	if (!m)
		return CT_E_NOMEM;
	size_t c8 = (size_t)cap * 8, c4 = (size_t)cap * 4, c2 = (size_t)cap * 2;
	c->ts = (uint64_t *)(void *)m;
	c->tmp64 = (uint64_t *)(void *)(m += c8);
	c->task = (uint32_t *)(void *)(m += c8);
	c->dest = (uint32_t *)(void *)(m += c4);
	/* tmp32 is twice as long: 16-bit scratch and 64-bit halves share it */
	c->tmp32 = (uint32_t *)(void *)(m += c4);
	c->ret = (int32_t *)(void *)(m += 2 * c4);
	c->result = (int32_t *)(void *)(m += c4);
	c->flags = (uint16_t *)(void *)(m += c4);
	c->sport = (uint16_t *)(void *)(m += c2);
	c->latency = (uint64_t *)(void *)(m += c2);
	c->result_ns = (uint64_t *)(void *)(m += c8);
	c->closed_ns = (uint64_t *)(void *)(m += c8);
	c->tx = (uint64_t *)(void *)(m += c8);
	c->rx = (uint64_t *)(void *)(m += c8);
	c->saddr = (uint8_t(*)[16])(void *)(m += c8);
	c->tid = (uint32_t *)(void *)(m += (size_t)cap * 16);
	c->sockfd = (int32_t *)(void *)(m += c4);
	c->cap = cap;
	return 0;
}

void ct_colbuf_free(struct ct_colbuf *c)
{
	free(c->ts); /* the block's start (ct_big_alloc: free() frees it) */
	memset(c, 0, sizeof(*c));
}
