/* SPDX-License-Identifier: MIT */
/*
 * oatab.h: one open-addressing hash table (linear probing, power-of-two
 * capacity, backward-shift deletion so no tombstones pile up) for the
 * tables whose slots are plain structs: the writer's pending attempts and
 * the session's process table. A slot that is all zero bytes is empty
 * unless ops->used says otherwise. Header-only: with the ops constant, the
 * compiler inlines the callbacks.
 */
#ifndef CONNTRAIL_FORMAT_OATAB_H
#define CONNTRAIL_FORMAT_OATAB_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct ct_oatab {
	void *slots;
	size_t cap; /* 0 or a power of two */
	size_t count;
};

struct ct_oatab_ops {
	size_t size;				      /* of a slot */
	uint64_t (*hash)(const void *slot);	      /* of the key a used slot holds */
	int (*used)(const void *slot);		      /* 1 when the slot holds a member */
	int (*eq)(const void *slot, const void *key); /* slot holds key */
};

static inline void *ct_oatab_at(const struct ct_oatab *t, const struct ct_oatab_ops *ops, size_t i)
{
	return (char *)t->slots + i * ops->size;
}

/* The slot holding key (hash h), or the empty slot where it would go;
 * NULL while the table has no slots. The table is never full: see grow. */
static inline void *ct_oatab_probe(const struct ct_oatab *t, const struct ct_oatab_ops *ops,
				   uint64_t h, const void *key)
{
	if (!t->cap)
		return NULL;
	size_t mask = t->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		void *s = ct_oatab_at(t, ops, i);
		if (!ops->used(s) || ops->eq(s, key))
			return s;
	}
}

/* The member with key, or NULL. */
static inline void *ct_oatab_find(const struct ct_oatab *t, const struct ct_oatab_ops *ops,
				  uint64_t h, const void *key)
{
	void *s = ct_oatab_probe(t, ops, h, key);
	return s && ops->used(s) ? s : NULL;
}

/* Room for one more at load <= num/den: doubles (from 64) when needed,
 * moving every member. 0, or -1 when out of memory (the table unchanged). */
static inline int ct_oatab_reserve(struct ct_oatab *t, const struct ct_oatab_ops *ops, size_t num,
				   size_t den)
{
	if ((t->count + 1) * den <= t->cap * num)
		return 0;
	/* Small to start: a table's first slots are zeroed, and each page
	 * of them is a page fault that a small trace pays in full. */
	size_t cap = t->cap ? t->cap * 2 : 64;
	struct ct_oatab n = {.slots = calloc(cap, ops->size), .cap = cap, .count = t->count};
	if (!n.slots)
		return -1;
	for (size_t i = 0; i < t->cap; i++) {
		const void *s = ct_oatab_at(t, ops, i);
		if (!ops->used(s))
			continue;
		size_t j = ops->hash(s) & (cap - 1);
		while (ops->used(ct_oatab_at(&n, ops, j)))
			j = (j + 1) & (cap - 1);
		memcpy(ct_oatab_at(&n, ops, j), s, ops->size);
	}
	free(t->slots);
	*t = n;
	return 0;
}

/* Empties member s (already released by the caller) and moves later
 * members of its probe run into the hole. */
static inline void ct_oatab_delete(struct ct_oatab *t, const struct ct_oatab_ops *ops, void *s)
{
	size_t mask = t->cap - 1, i = (size_t)((char *)s - (char *)t->slots) / ops->size;
	memset(s, 0, ops->size);
	t->count--;
	for (size_t j = (i + 1) & mask; ops->used(ct_oatab_at(t, ops, j)); j = (j + 1) & mask) {
		void *sj = ct_oatab_at(t, ops, j);
		size_t home = ops->hash(sj) & mask;
		int movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
		if (movable) {
			memcpy(ct_oatab_at(t, ops, i), sj, ops->size);
			memset(sj, 0, ops->size);
			i = j;
		}
	}
}

/* A set of nonzero 64-bit hashes (a slot is the hash itself). */
static inline uint64_t ct_hset_hash(const void *slot)
{
	return *(const uint64_t *)slot;
}

static inline int ct_hset_used(const void *slot)
{
	return *(const uint64_t *)slot != 0;
}

static inline int ct_hset_eq(const void *slot, const void *key)
{
	return *(const uint64_t *)slot == *(const uint64_t *)key;
}

static const struct ct_oatab_ops ct_hset_ops = {
    .size = sizeof(uint64_t), .hash = ct_hset_hash, .used = ct_hset_used, .eq = ct_hset_eq};

/* Adds h (nonzero): 1 when it is new, 0 when it was there, -1 when out of
 * memory. */
static inline int ct_hset_add(struct ct_oatab *t, uint64_t h)
{
	if (ct_oatab_reserve(t, &ct_hset_ops, 1, 2))
		return -1;
	uint64_t *s = ct_oatab_probe(t, &ct_hset_ops, h, &h);
	if (*s)
		return 0;
	*s = h;
	t->count++;
	return 1;
}

static inline void ct_oatab_free(struct ct_oatab *t)
{
	free(t->slots);
	*t = (struct ct_oatab){0};
}

#endif
