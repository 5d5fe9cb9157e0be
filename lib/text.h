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

/*
 * Text a terminal may show (every name, path, command line and header
 * string of a trace, in info, report, script and error messages), one rule:
 * printable ASCII and valid UTF-8 as they are; C0 controls, DEL and every
 * byte that is not valid UTF-8 (so C1 controls as raw bytes) as \xNN;
 * C1 controls encoded as UTF-8 (U+0080..U+009F), the bidi controls
 * (U+061C, U+200E/F, U+202A..U+202E, U+2066..U+2069) and U+2028/U+2029
 * as \uXXXX. With CT_ESC_BACKSLASH a backslash is \x5c, so the text
 * reads back without ambiguity. d needs room for CT_TERM_MAX(n) bytes.
 */
#define CT_ESC_BACKSLASH 1u
#define CT_TERM_MAX(n) (4 * (n) + 8)
size_t ct_term_escape(char *d, const char *s, size_t n, unsigned flags);
/* The same into buf of size bytes, NUL-terminated, cut between characters
 * when it does not fit. Returns the length. */
size_t ct_term_str(char *buf, size_t size, const char *s, size_t n, unsigned flags);
/* 1 when s needs no escape. */
int ct_term_clean(const char *s, size_t n, unsigned flags);

/* argv joined by spaces, each argument quoted as a POSIX shell needs it to
 * read the line back into the same words: plain words as they are, others
 * in single quotes with ' written '\''. Malloc'd; NULL when out of memory. */
char *ct_shell_join(int argc, char *const *argv);

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
