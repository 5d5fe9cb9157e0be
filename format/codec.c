/* SPDX-License-Identifier: MIT */
/* codec.c: chunk compression (zstd, zlib, none), crc32 and byte buffers. */
#include <stdlib.h>
#include <zlib.h>
/* For ZSTD_c_literalCompressionMode, a parameter of the stable format that
 * the library still files as experimental: setting it may fail on another
 * libzstd, which only costs speed. */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "ct_internal.h"

int ct_grow_bytes(void *areap, size_t *cap, size_t len, size_t more, size_t first)
{
	if (*cap - len >= more)
		return 0;
	size_t c = *cap ? *cap * 2 : first;
	while (c - len < more)
		c *= 2;
	void *old, *p;
	memcpy(&old, areap, sizeof(old));
	if (!(p = realloc(old, c)))
		return CT_E_NOMEM;
	memcpy(areap, &p, sizeof(p));
	*cap = c;
	return 0;
}

int ct_bytes_reserve(struct ct_bytes *b, size_t more)
{
	return ct_grow_bytes(&b->p, &b->cap, b->len, more, 4096);
}

void ct_bytes_free(struct ct_bytes *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static uint32_t crc32_zlib(uint32_t crc, const uint8_t *p, size_t len)
{
	/* zlib's crc32 takes a uInt length. */
	while (len) {
		uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
		crc = (uint32_t)crc32(crc, p, n);
		p += n;
		len -= n;
	}
	return crc;
}

#if defined(__x86_64__)
#include <immintrin.h>

/*
 * The same CRC-32 (zlib's, reflected 0x04C11DB7) by carry-less multiply:
 * four 16-byte lanes folded 64 bytes at a time, then into one lane, then a
 * Barrett reduction (Intel, "Fast CRC Computation for Generic Polynomials
 * Using PCLMULQDQ", 2009). Several times zlib's speed; the reader checks
 * every chunk's payload with it. Takes len >= 64, a multiple of 16, and
 * the CRC without zlib's pre/post inversion.
 */
__attribute__((target("pclmul,sse4.1"))) static uint32_t crc32_fold(uint32_t crc, const uint8_t *p,
								    size_t len)
{
	const __m128i k12 = _mm_set_epi64x(0x1c6e41596LL, 0x154442bd4LL);
	const __m128i k34 = _mm_set_epi64x(0x0ccaa009eLL, 0x1751997d0LL);
	const __m128i k5 = _mm_set_epi64x(0, 0x163cd6124LL);
	const __m128i poly = _mm_set_epi64x(0x1f7011641LL, 0x1db710641LL);
	const __m128i mask32 = _mm_set_epi32(0, 0, 0, -1);
	__m128i x0 = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i x1 = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
	__m128i x2 = _mm_loadu_si128((const __m128i *)(const void *)(p + 32));
	__m128i x3 = _mm_loadu_si128((const __m128i *)(const void *)(p + 48));

	x0 = _mm_xor_si128(x0, _mm_cvtsi32_si128((int)crc));
	p += 64;
	len -= 64;
#define FOLD(x, k, next)                                                                           \
	_mm_xor_si128(                                                                             \
	    _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11)),     \
	    next)
	for (; len >= 64; p += 64, len -= 64) {
		x0 = FOLD(x0, k12, _mm_loadu_si128((const __m128i *)(const void *)p));
		x1 = FOLD(x1, k12, _mm_loadu_si128((const __m128i *)(const void *)(p + 16)));
		x2 = FOLD(x2, k12, _mm_loadu_si128((const __m128i *)(const void *)(p + 32)));
		x3 = FOLD(x3, k12, _mm_loadu_si128((const __m128i *)(const void *)(p + 48)));
	}
	x0 = FOLD(x0, k34, x1);
	x0 = FOLD(x0, k34, x2);
	x0 = FOLD(x0, k34, x3);
	for (; len >= 16; p += 16, len -= 16)
		x0 = FOLD(x0, k34, _mm_loadu_si128((const __m128i *)(const void *)p));
#undef FOLD
	/* 128 -> 64 bits (appending 32 zero bits), then 64 -> 32. */
	x0 = _mm_xor_si128(_mm_srli_si128(x0, 8), _mm_clmulepi64_si128(k34, x0, 0x01));
	x0 = _mm_xor_si128(_mm_srli_si128(x0, 4),
			   _mm_clmulepi64_si128(_mm_and_si128(x0, mask32), k5, 0x00));
	__m128i t = _mm_clmulepi64_si128(_mm_and_si128(x0, mask32), poly, 0x10);
	t = _mm_clmulepi64_si128(_mm_and_si128(t, mask32), poly, 0x00);
	return (uint32_t)_mm_extract_epi32(_mm_xor_si128(t, x0), 1);
}
#endif

uint32_t ct_crc32(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

#if defined(__x86_64__)
	/* The CPU's features are read once at start-up (libgcc); asking is a
	 * load, and no state of ours is shared between threads. */
	if (len >= 64 && __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1")) {
		size_t n = len & ~(size_t)15;
		crc = ~crc32_fold(~crc, p, n);
		p += n;
		len -= n;
	}
#endif
	return crc32_zlib(crc, p, len);
}

const char *ct_codec_name(int c)
{
	switch (c) {
	case CT_COMP_NONE:
		return "none";
	case CT_COMP_ZSTD:
		return "zstd";
	case CT_COMP_ZLIB:
		return "zlib";
	}
	return "unknown";
}

uint64_t ct_codec_max_ratio(enum ct_compress c)
{
	switch (c) {
	case CT_COMP_NONE:
		return 1;
	case CT_COMP_ZLIB:
		return 1032; /* deflate's limit */
	case CT_COMP_ZSTD:
		return 1u << 15; /* an RLE block: 3 header bytes + 1 for 128 KiB */
	}
	return 0;
}

/* zstd of src at d (bound bytes of room) with the context cctx: its
 * length, or 0 on failure (a frame is never empty). */
static size_t zstd_compress(ZSTD_CCtx *cctx, int level, int raw_literals, const uint8_t *src,
			    size_t len, uint8_t *d, size_t bound)
{
	ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
	if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level ? level : 3)))
		return 0;
	if (raw_literals) {
		ZSTD_CCtx_setParameter(cctx, ZSTD_c_literalCompressionMode, ZSTD_ps_disable);
		/* Matches of 7 bytes or more: fewer sequences to decode
		 * (they cost the reader more than the literals). */
		ZSTD_CCtx_setParameter(cctx, ZSTD_c_minMatch, 7);
	}
	size_t n = ZSTD_compress2(cctx, d, bound, src, len);
	return ZSTD_isError(n) ? 0 : n;
}

int ct_compress_buf(enum ct_compress c, int level, int raw_literals, const uint8_t *src, size_t len,
		    struct ct_bytes *dst, void **cctx)
{
	size_t bound;
	switch (c) {
	case CT_COMP_NONE:
		bound = len;
		break;
	case CT_COMP_ZSTD:
		bound = ZSTD_compressBound(len);
		break;
	case CT_COMP_ZLIB:
		bound = compressBound(len);
		break;
	default:
		return CT_E_CODEC;
	}
	int err = ct_bytes_reserve(dst, bound);
	if (err)
		return err;

	uint8_t *d = dst->p + dst->len;
	uLongf n = bound;
	if (c == CT_COMP_NONE) {
		memcpy(d, src, len);
		n = len;
	} else if (c == CT_COMP_ZSTD) {
		if (!*cctx && !(*cctx = ZSTD_createCCtx()))
			return CT_E_NOMEM;
		if (!(n = zstd_compress(*cctx, level, raw_literals, src, len, d, bound)))
			return CT_E_CODEC;
	} else if (compress2(d, &n, src, len, level ? level : 6) != Z_OK) {
		return CT_E_CODEC;
	}
	dst->len += n;
	return 0;
}

int ct_decompress_buf(enum ct_compress c, const uint8_t *src, size_t len, uint8_t *dst,
		      size_t raw_size, void **dctx)
{
	switch (c) {
	case CT_COMP_NONE:
		if (len != raw_size)
			return CT_E_CODEC;
		memcpy(dst, src, len);
		return 0;
	case CT_COMP_ZSTD: {
		unsigned long long fsz = ZSTD_getFrameContentSize(src, len);
		if (fsz != ZSTD_CONTENTSIZE_UNKNOWN && fsz != raw_size)
			return CT_E_CODEC;
		if (!*dctx && !(*dctx = ZSTD_createDCtx()))
			return CT_E_NOMEM;
		size_t n = ZSTD_decompressDCtx(*dctx, dst, raw_size, src, len);
		if (ZSTD_isError(n) || n != raw_size)
			return CT_E_CODEC;
		return 0;
	}
	case CT_COMP_ZLIB: {
		uLongf n = raw_size;
		uLong srclen = len;
		if (uncompress2(dst, &n, src, &srclen) != Z_OK || n != raw_size || srclen != len)
			return CT_E_CODEC;
		return 0;
	}
	}
	return CT_E_CODEC;
}

void ct_codec_free(enum ct_compress c, void *ctx, int decompress)
{
	if (!ctx || c != CT_COMP_ZSTD)
		return;
	if (decompress)
		ZSTD_freeDCtx(ctx);
	else
		ZSTD_freeCCtx(ctx);
}
