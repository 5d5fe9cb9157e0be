/* SPDX-License-Identifier: MIT */
/* tables.c: the report's hash tables: interned items, and inline pairs. */
#include <stdlib.h>
#include <sys/mman.h>

#include "cmd/report/report.h"
#include "lib/util.h"

uint64_t rp_hash_bytes(const void *p, size_t n)
{
	const uint8_t *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
	while (n >= 8) {
		uint64_t v;
		memcpy(&v, s, 8);
		h = (h ^ v) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
		s += 8;
		n -= 8;
	}
	uint64_t v = 0;
	memcpy(&v, s, n);
	h = (h ^ v) * 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 29;
	return h;
}

void rp_table_init(struct table *t, size_t item_size, size_t key_len)
{
	memset(t, 0, sizeof(*t));
	t->item_size = item_size;
	t->key_len = key_len;
}

static void table_rehash(struct table *t)
{
	size_t cap = t->cap ? t->cap * 2 : 1024;
	uint64_t *slots = rp_table_alloc(cap * sizeof(*slots));
	for (size_t i = 0; i < t->count; i++) {
		uint64_t h = rp_hash_bytes(rp_table_item(t, i), t->key_len);
		size_t j = h & (cap - 1);
		while (slots[j])
			j = (j + 1) & (cap - 1);
		slots[j] = (h & 0xffffffff00000000ULL) | (i + 1);
	}
	rp_table_release(t->slots, t->cap * sizeof(*slots));
	t->slots = slots;
	t->cap = cap;
}

/* The slot holding key, or the empty slot where it would go. */
static size_t table_probe(const struct table *t, const void *key, uint64_t *tag)
{
	uint64_t h = rp_hash_bytes(key, t->key_len);
	size_t mask = t->cap - 1, j = h & mask;
	*tag = h & 0xffffffff00000000ULL;
	for (;; j = (j + 1) & mask) {
		uint64_t s = t->slots[j];
		if (!s ||
		    ((s & 0xffffffff00000000ULL) == *tag &&
		     !memcmp(rp_table_item(t, (size_t)(s & 0xffffffffULL) - 1), key, t->key_len)))
			return j;
	}
}

size_t rp_table_get(struct table *t, const void *key, int *created)
{
	if ((t->count + 1) * 2 > t->cap)
		table_rehash(t);
	uint64_t tag;
	size_t j = table_probe(t, key, &tag);
	if (t->slots[j])
		return (size_t)(t->slots[j] & 0xffffffffULL) - 1;
	if (t->count == t->items_cap) {
		size_t cap = t->items_cap ? t->items_cap * 2 : 256;
		t->items = rp_table_grow(t->items, t->items_cap * t->item_size, cap * t->item_size);
		t->items_cap = cap;
	}
	void *it = rp_table_item(t, t->count);
	memset(it, 0, t->item_size);
	memcpy(it, key, t->key_len);
	t->slots[j] = tag | ++t->count;
	if (created)
		*created = 1;
	return t->count - 1;
}

size_t rp_table_find(const struct table *t, const void *key)
{
	uint64_t tag;
	if (!t->cap)
		return SIZE_MAX;
	size_t j = table_probe(t, key, &tag);
	return t->slots[j] ? (size_t)(t->slots[j] & 0xffffffffULL) - 1 : SIZE_MAX;
}

void rp_table_free(struct table *t)
{
	rp_table_release(t->slots, t->cap * sizeof(*t->slots));
	rp_table_release(t->items, t->items_cap * t->item_size);
	memset(t, 0, sizeof(*t));
}

/* From 512 KiB on, a mapping of its own in transparent huge pages where
 * the kernel allows (madvise mode), so random probes do not each walk the
 * page tables (costly under virtualisation); the kernel's zeroing is all it
 * needs. */
#define TABLE_HUGE (2u << 20)
#define TABLE_HUGE_FROM (512u << 10)
void *rp_table_alloc(size_t size)
{
	if (size < TABLE_HUGE_FROM) {
		void *mem;
		if (posix_memalign(&mem, 64, size ? size : 64)) {
			ct_err("out of memory");
			exit(CT_EXIT_ERROR);
		}
		memset(mem, 0, size);
		return mem;
	}
	size_t len = (size + TABLE_HUGE - 1) / TABLE_HUGE * TABLE_HUGE;
	uint8_t *m = mmap(NULL, len + TABLE_HUGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		ct_err("out of memory");
		exit(CT_EXIT_ERROR);
	}
	/* Keep the 2 MiB-aligned part. */
	uint8_t *a = (uint8_t *)(((uintptr_t)m + TABLE_HUGE - 1) & ~(uintptr_t)(TABLE_HUGE - 1));
	if (a > m)
		munmap(m, (size_t)(a - m));
	if (m + len + TABLE_HUGE > a + len)
		munmap(a + len, (size_t)(m + len + TABLE_HUGE - (a + len)));
	madvise(a, len, MADV_HUGEPAGE);
	return a;
}

void *rp_table_grow(void *mem, size_t size, size_t new_size)
{
	void *to = rp_table_alloc(new_size);
	if (size)
		memcpy(to, mem, size);
	rp_table_release(mem, size);
	return to;
}

void rp_table_release(void *mem, size_t size)
{
	if (!mem)
		return;
	if (size < TABLE_HUGE_FROM)
		free(mem);
	else
		munmap(mem, (size + TABLE_HUGE - 1) / TABLE_HUGE * TABLE_HUGE);
}

void rp_pairs_grow(struct pair **pairs, size_t *pcap)
{
	size_t old = *pcap, cap = old ? old * 2 : 4096;
	struct pair *n = rp_table_alloc(cap * sizeof(*n));
	for (size_t i = 0; i < old; i++) {
		if (!(*pairs)[i].key)
			continue;
		size_t j = rp_pair_hash((*pairs)[i].key) & (cap - 1);
		while (n[j].key)
			j = (j + 1) & (cap - 1);
		n[j] = (*pairs)[i];
	}
	rp_table_release(*pairs, old * sizeof(**pairs));
	*pairs = n;
	*pcap = cap;
}

void rp_pairs_add(struct pair **pairs, size_t *cap, size_t *count, uint64_t key, uint64_t n)
{
	if ((*count + 1) * 4 > *cap * 3)
		rp_pairs_grow(pairs, cap);
	size_t mask = *cap - 1;
	for (size_t j = rp_pair_hash(key) & mask;; j = (j + 1) & mask) {
		struct pair *p = &(*pairs)[j];
		if (p->key == key) {
			p->count += n;
			return;
		}
		if (!p->key) {
			p->key = key;
			p->count = n;
			(*count)++;
			return;
		}
	}
}
