/* SPDX-License-Identifier: MIT */
/*
 * evcodec.c: the per-chunk tables of process contexts and destinations
 * that both event encodings share, and event normalisation. The 1.x row
 * decoder itself is inline in ct_internal.h (format/FORMAT.md, "Format 1.x
 * event chunks"); the 2.0 columns are colcodec.c's.
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
	if (!(ev->flags & CT_EV_SADDR)) {
		memset(ev->saddr, 0, 16);
		ev->sport = 0;
	}
	memset(ev->_pad, 0, sizeof(ev->_pad));
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

int ct_evtab_push_proc(struct ct_evtab *t, const struct ct_pctx *c)
{
	return ct_evtab_push_proc_max(t, c, CT_TAB_MAX);
}

int ct_evtab_push_dest(struct ct_evtab *t, const struct ct_dest *d, const char *path)
{
	return ct_evtab_push_dest_max(t, d, path, CT_TAB_MAX);
}

int ct_evtab_push_proc_max(struct ct_evtab *t, const struct ct_pctx *c, uint32_t max)
{
	if (t->nproc >= max)
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

int ct_evtab_push_dest_max(struct ct_evtab *t, const struct ct_dest *d, const char *path,
			   uint32_t max)
{
	if (t->ndest >= max)
		return 0;
	if (t->ndest == t->cap_dest) {
		uint32_t cap = t->cap_dest ? t->cap_dest * 2 : 64;
		struct ct_dest *p = realloc(t->dests, cap * sizeof(*p));
		if (!p)
			return -1;
		t->dests = p;
		t->cap_dest = cap;
	}
	/* Each path zero-padded to a multiple of 16 bytes: the 2.0 reader
	 * copies whole 16-byte pieces. */
	size_t padded = ((size_t)d->path_len + 15) & ~(size_t)15;
	if (t->cap_paths - t->npaths < padded) {
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
	if (d->path_len) {
		memcpy(t->paths + t->npaths, path, d->path_len);
		memset(t->paths + t->npaths + d->path_len, 0, padded - d->path_len);
	}
	t->npaths += padded;
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

long ct_evtab_intern_proc(struct ct_evtab *t, const struct ct_pctx *c, int *added)
{
	*added = 0;
	if (grow_index(&t->phash, &t->phcap, t->nproc, t, 0))
		return -1;
	uint32_t j = (uint32_t)hash_mem(c, sizeof(*c)) & (t->phcap - 1);
	while (t->phash[j]) {
		uint32_t i = t->phash[j] - 1;
		if (!memcmp(&t->procs[i], c, sizeof(*c)))
			return i;
		j = (j + 1) & (t->phcap - 1);
	}
	if (ct_evtab_push_proc_max(t, c, UINT32_MAX - 1))
		return -1;
	t->phash[j] = t->nproc;
	*added = 1;
	return (long)t->nproc - 1;
}

long ct_evtab_intern_dest(struct ct_evtab *t, const struct ct_dest *d, const char *path, int *added)
{
	*added = 0;
	if (grow_index(&t->dhash, &t->dhcap, t->ndest, t, 1))
		return -1;
	uint32_t j = (uint32_t)dest_hash(d, path) & (t->dhcap - 1);
	while (t->dhash[j]) {
		uint32_t i = t->dhash[j] - 1;
		const struct ct_dest *e = &t->dests[i];
		if (!memcmp(e, d, DEST_KEY) &&
		    (!d->path_len || !memcmp(t->paths + e->path_off, path, d->path_len)))
			return i;
		j = (j + 1) & (t->dhcap - 1);
	}
	if (ct_evtab_push_dest_max(t, d, path, UINT32_MAX - 1))
		return -1;
	t->dhash[j] = t->ndest;
	*added = 1;
	return (long)t->ndest - 1;
}
