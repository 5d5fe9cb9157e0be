/* SPDX-License-Identifier: MIT */
/* text.h: bytes from a trace (names, paths, command lines) made safe to show. */
#ifndef CONNTRAIL_LIB_TEXT_H
#define CONNTRAIL_LIB_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid
 * (overlong forms, surrogates and code points above U+10FFFF included). */
size_t ct_utf8_seq(const unsigned char *s, size_t n);
/* A JSON string body (no quotes) into d, which has room for 6 * n bytes:
 * printable ASCII as is, '"' and '\\' escaped, valid UTF-8 kept, every
 * other byte \u00XX, so the output is valid JSON whatever the kernel
 * handed us. Returns the bytes written. */
size_t ct_json_escape(char *d, const char *s, size_t n);

/* Byte tests on eight bytes at once: does any byte of x lie below lo,
 * above hi (both <= 0x7f), or equal c? */
#define CT_ONES 0x0101010101010101ull
#define CT_HIGHS 0x8080808080808080ull
static inline uint64_t ct_any_below(uint64_t x, unsigned lo)
{
	return (x - CT_ONES * lo) & ~x & CT_HIGHS;
}
static inline uint64_t ct_any_above(uint64_t x, unsigned hi)
{
	return ((x + CT_ONES * (127 - hi)) | x) & CT_HIGHS;
}
static inline uint64_t ct_any_equal(uint64_t x, unsigned char c)
{
	uint64_t y = x ^ (CT_ONES * c);
	return (y - CT_ONES) & ~y & CT_HIGHS;
}

#endif
