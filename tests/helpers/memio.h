/* SPDX-License-Identifier: MIT */
/* memio.h: a trace in memory read through the reader's io callbacks, for
 * the fuzzer and the damage helper. Header-only: each stays one program. */
#ifndef CONNTRAIL_TESTS_MEMIO_H
#define CONNTRAIL_TESTS_MEMIO_H

#include <stdint.h>
#include <string.h>

#include "format/ctrace.h"

struct memfile {
	const uint8_t *p;
	size_t len, pos;
	size_t max_read; /* sequential reads hand out at most this (0: no limit) */
};

static inline ssize_t memfile_read(void *ctx, void *buf, size_t len)
{
	struct memfile *m = ctx;
	size_t n = m->len - m->pos < len ? m->len - m->pos : len;
	if (m->max_read && n > m->max_read)
		n = m->max_read; /* short reads, like a pipe */
	memcpy(buf, m->p + m->pos, n);
	m->pos += n;
	return (ssize_t)n;
}

static inline ssize_t memfile_pread(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct memfile *m = ctx;
	if (off >= m->len)
		return 0;
	size_t n = m->len - off < len ? m->len - off : len;
	memcpy(buf, m->p + off, n);
	return (ssize_t)n;
}

/* seekable: pread and size; else sequential reads from the start. */
static inline struct ct_reader_io memfile_io(struct memfile *m, int seekable)
{
	struct ct_reader_io io = {.ctx = m, .read = memfile_read, .size = -1};
	m->pos = 0;
	if (seekable) {
		io.pread = memfile_pread;
		io.size = (int64_t)m->len;
	}
	return io;
}

#endif
