/* SPDX-License-Identifier: MIT */
/* hash.h: a 32-bit mix for hash tables and stable made-up numbers. */
#ifndef CONNTRAIL_LIB_HASH_H
#define CONNTRAIL_LIB_HASH_H

#include <stdint.h>

/* The murmur3 finaliser: every input bit reaches every output bit. */
static inline uint32_t ct_mix32(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

#endif
