/* SPDX-License-Identifier: MIT */
/*
 * pcapng_int.h: what the pcapng writer's files share (pcapng.c, the file;
 * pcapng_proc.c, the process blocks): byte helpers and the builder of
 * small blocks into a struct ct_buf. Little-endian throughout, every
 * block and option padded to 32 bits.
 */
#ifndef CONNTRAIL_EXPORT_PCAPNG_INT_H
#define CONNTRAIL_EXPORT_PCAPNG_INT_H

#include <stdint.h>
#include <string.h>

#include "lib/strbuf.h"

#define OPT_END 0
#define OPT_COMMENT 1

static inline void le16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2); /* pcapng: we write little-endian; x86/arm64 are */
}

static inline void le32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static inline size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static inline void b_u32(struct ct_buf *b, uint32_t v)
{
	ct_buf_put(b, &v, 4);
}

static inline void b_opt(struct ct_buf *b, uint16_t code, const void *val, size_t len)
{
	static const uint8_t zeros[4];
	if (len > 0xfff0) {
		len = 0xfff0; /* an option length is 16 bits */
		/* strings are UTF-8 (pcapng): never cut inside a character */
		while (len && (((const uint8_t *)val)[len] & 0xc0) == 0x80)
			len--;
	}
	uint16_t h[2] = {code, (uint16_t)len};
	ct_buf_put(b, h, 4);
	ct_buf_put(b, val, len);
	ct_buf_put(b, zeros, pad4(len) - len);
}

/* A string option from a trace: pcapng wants valid UTF-8, and a viewer
 * shows it; escaped by the terminal rule (lib/text.h). */
static inline void b_opt_str(struct ct_buf *b, uint16_t code, const char *s)
{
	if (s && *s) {
		struct ct_buf t = {0};
		ct_buf_term_str(&t, s);
		b_opt(b, code, t.p, t.len);
		ct_buf_free(&t);
	}
}

/* A block's type and a length that b_close patches. Returns where it starts. */
static inline size_t b_begin(struct ct_buf *b, uint32_t type)
{
	size_t at = b->len;
	b_u32(b, type);
	b_u32(b, 0);
	return at;
}

/* The trailing length of the block begun at at, patched into its head. */
static inline void b_close(struct ct_buf *b, size_t at)
{
	uint32_t total = (uint32_t)(b->len - at + 4);
	b_u32(b, total);
	memcpy(b->p + at + 4, &total, 4);
}

/* opt_endofopt, then the trailing length. */
static inline void b_end(struct ct_buf *b, size_t at)
{
	b_opt(b, OPT_END, NULL, 0);
	b_close(b, at);
}

#endif
