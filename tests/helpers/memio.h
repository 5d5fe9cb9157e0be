/* SPDX-License-Identifier: MIT */
/* memio.h: a trace in memory, written through the writer's io callback and
 * read through the reader's, for the unit tests, the fuzzer and the damage
 * helper. Header-only: each stays one program. */
#ifndef CONNTRAIL_TESTS_MEMIO_H
#define CONNTRAIL_TESTS_MEMIO_H

#include <stdint.h>
#include <string.h>

#include "format/ct_internal.h"
#include "format/ctrace.h"

/* A reader of bytes it does not own sets p and len (p is only read then);
 * a writer starts from {0} and frees p. */
struct membuf {
	uint8_t *p;
	size_t len, cap;
	size_t pos;	 /* sequential read position */
	size_t max_read; /* sequential reads hand out at most this (0: no limit) */
	int fail_after;	 /* writes: fail with ENOSPC once len would pass this (0 = never) */
};

static inline int mem_write(void *ctx, const void *buf, size_t len)
{
	struct membuf *m = ctx;
	if (m->fail_after && m->len + len > (size_t)m->fail_after)
		return CT_E_NOSPC;
	/* The library's growable buffer over the same three fields. */
	struct ct_bytes b = {.p = m->p, .len = m->len, .cap = m->cap};
	int rc = ct_bytes_reserve(&b, len);
	m->p = b.p;
	m->cap = b.cap;
	if (rc)
		return rc;
	memcpy(m->p + m->len, buf, len);
	m->len += len;
	return 0;
}

static inline ssize_t mem_read(void *ctx, void *buf, size_t len)
{
	struct membuf *m = ctx;
	size_t n = m->len - m->pos < len ? m->len - m->pos : len;
	/* Short reads, like a pipe: at most max_read, and 1000 now and then. */
	if (m->max_read && n > m->max_read)
		n = m->max_read;
	if (n > 1000 && (m->pos & 1))
		n = 1000;
	memcpy(buf, m->p + m->pos, n);
	m->pos += n;
	return (ssize_t)n;
}

static inline ssize_t mem_pread(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct membuf *m = ctx;
	if (off >= m->len)
		return 0;
	size_t n = m->len - off < len ? m->len - off : len;
	memcpy(buf, m->p + off, n);
	return (ssize_t)n;
}

static inline struct ct_writer_io mem_writer_io(struct membuf *m)
{
	struct ct_writer_io io = {.ctx = m, .write = mem_write};
	return io;
}

/* seekable: pread and size; else sequential reads from the start. */
static inline struct ct_reader_io mem_reader_io(struct membuf *m, int seekable)
{
	struct ct_reader_io io = {.ctx = m, .read = mem_read, .size = -1};
	m->pos = 0;
	if (seekable) {
		io.pread = mem_pread;
		io.size = (int64_t)m->len;
	}
	return io;
}

#endif
