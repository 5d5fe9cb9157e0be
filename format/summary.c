/* SPDX-License-Identifier: MIT */
/*
 * summary.c: the per-chunk Bloom filter over the CT_KEY_* values of its
 * events, so a query for one address, port, pid or name can skip chunks
 * without decompressing them. Sized from the number of distinct keys in the
 * chunk (about 10 bits each), so a chunk of a connect storm costs 12 bytes.
 */
#include <stdlib.h>

#include "ct_internal.h"

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* Numbers are hashed by value (not by memory), so the file does not depend
 * on the writer's byte order. */
static uint64_t hash_num(enum ct_key key, uint64_t v)
{
	return mix64(v * 0x9e3779b97f4a7c15ULL + (uint64_t)key * 0x632be59bd9b4e019ULL + 1);
}

static uint64_t hash_bytes(enum ct_key key, const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ ((uint64_t)key << 56) ^ len;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return mix64(h);
}

/* A number of width 4 or 2 bytes: hashed as 0 when len is not that. */
static uint64_t hash_fixed(enum ct_key key, const void *val, size_t len, size_t width)
{
	uint32_t v32 = 0;
	uint16_t v16 = 0;

	if (len == width && width == 4)
		memcpy(&v32, val, 4);
	else if (len == width && width == 2)
		memcpy(&v16, val, 2);
	return hash_num(key, width == 4 ? v32 : v16);
}

uint64_t ct_key_hash(enum ct_key key, const void *val, size_t len)
{
	uint64_t h;

	switch (key) {
	case CT_KEY_PID:
	case CT_KEY_UID:
	case CT_KEY_RESULT:
		h = hash_fixed(key, val, len, 4);
		break;
	case CT_KEY_DPORT:
	case CT_KEY_FAMILY:
		h = hash_fixed(key, val, len, 2);
		break;
	case CT_KEY_COMM: {
		const char *s = val;
		h = hash_bytes(key, val, strnlen(s, len < CT_COMM_LEN ? len : CT_COMM_LEN));
		break;
	}
	default:
		h = hash_bytes(key, val, len);
	}
	return h ? h : 1; /* 0 marks an empty slot in the builder's set */
}

int ct_sum_add(struct ct_sumbuild *sb, uint64_t h)
{
	return ct_hset_add(&sb->set, h) < 0 ? CT_E_NOMEM : 0;
}

int ct_sum_add_task(struct ct_sumbuild *sb, const struct ct_task *t)
{
	int err = ct_sum_add(sb, ct_key_hash(CT_KEY_PID, &t->pid, 4));
	err |= ct_sum_add(sb, ct_key_hash(CT_KEY_UID, &t->uid, 4));
	err |= ct_sum_add(sb, ct_key_hash(CT_KEY_COMM, t->comm, CT_COMM_LEN));
	return err ? CT_E_NOMEM : 0;
}

int ct_sum_add_dest(struct ct_sumbuild *sb, const struct ct_dest *d)
{
	int err = ct_sum_add(sb, ct_key_hash(CT_KEY_DPORT, &d->dport, 2));
	err |= ct_sum_add(sb, ct_key_hash(CT_KEY_FAMILY, &d->family, 2));
	if (d->family == 2 /* AF_INET */ || d->family == 10 /* AF_INET6 */)
		err |= ct_sum_add(sb, ct_key_hash(CT_KEY_DADDR, d->daddr, d->family == 2 ? 4 : 16));
	if (d->path_len)
		err |= ct_sum_add(sb, ct_key_hash(CT_KEY_PATH, d->path, d->path_len));
	return err ? CT_E_NOMEM : 0;
}

int ct_sum_add_result(struct ct_sumbuild *sb, int32_t key)
{
	return ct_sum_add(sb, ct_key_hash(CT_KEY_RESULT, &key, 4)) ? CT_E_NOMEM : 0;
}

/* Salted with the chunk's seq: a key that collides with common keys in one
 * chunk does not collide the same way in every chunk. */
static void bloom_positions(uint64_t h, uint32_t seq, unsigned log2, uint32_t *pos)
{
	uint64_t h1 = mix64(h ^ ((uint64_t)seq * 0x9e3779b97f4a7c15ULL)),
		 h2 = mix64(h1 ^ 0x5bd1e9955bd1e995ULL) | 1;
	uint64_t mask = (1ULL << log2) - 1;

	for (unsigned i = 0; i < CT_BLOOM_K; i++)
		pos[i] = (uint32_t)((h1 + i * h2) & mask);
}

int ct_sum_finish(struct ct_sumbuild *sb, uint32_t seq, struct ct_bytes *out)
{
	unsigned log2 = CT_BLOOM_MIN_LOG2;

	while (log2 < CT_BLOOM_MAX_LOG2 && (1ULL << log2) < sb->set.count * 10)
		log2++;
	size_t nbytes = (size_t)1 << (log2 - 3);
	int err = ct_bytes_reserve(out, CT_SUM_HEAD + nbytes);
	if (err)
		return err;
	uint8_t *p = out->p + out->len;
	p[0] = CT_SUM_BLOOM;
	p[1] = CT_BLOOM_K;
	p[2] = (uint8_t)log2;
	p[3] = CT_SUM_KEYS_RESULT | CT_SUM_KEYS_DNAME;
	uint8_t *bits = p + CT_SUM_HEAD;
	memset(bits, 0, nbytes);
	uint64_t *set = sb->set.slots;
	for (size_t i = 0; i < sb->set.cap; i++) {
		uint32_t pos[CT_BLOOM_K];
		if (!set[i])
			continue;
		bloom_positions(set[i], seq, log2, pos);
		for (unsigned k = 0; k < CT_BLOOM_K; k++)
			bits[pos[k] >> 3] |= (uint8_t)(1u << (pos[k] & 7));
		set[i] = 0;
	}
	sb->set.count = 0;
	out->len += CT_SUM_HEAD + nbytes;
	return 0;
}

void ct_sum_free(struct ct_sumbuild *sb)
{
	ct_oatab_free(&sb->set);
}

int ct_chunk_may_contain(const struct ct_chunk_info *c, enum ct_key key, const void *val,
			 size_t len)
{
	const uint8_t *s = c->summary;

	if (c->kind != CT_CHUNK_EVENTS)
		return 1;
	/* Without a summary we know nothing, so the chunk must be read. */
	if (!s || c->summary_len < CT_SUM_HEAD || s[0] != CT_SUM_BLOOM)
		return 1;
	unsigned k = s[1], log2 = s[2];
	if (k == 0 || k > CT_BLOOM_K || log2 < 3 || log2 > 31 ||
	    c->summary_len < CT_SUM_HEAD + ((size_t)1 << (log2 - 3)))
		return 1;
	/* Summaries before 2.1 hold no results: any may be there. */
	if (key == CT_KEY_RESULT && !(s[3] & CT_SUM_KEYS_RESULT))
		return 1;
	/* Nor names before conntrail after 0.2.1. */
	if (key == CT_KEY_DNAME && !(s[3] & CT_SUM_KEYS_DNAME))
		return 1;
	if (c->records == 0)
		return 0;
	uint32_t pos[CT_BLOOM_K];
	bloom_positions(ct_key_hash(key, val, len), c->seq, log2, pos);
	const uint8_t *bits = s + CT_SUM_HEAD;
	for (unsigned i = 0; i < k; i++)
		if (!(bits[pos[i] >> 3] & (1u << (pos[i] & 7))))
			return 0;
	return 1;
}
