/* SPDX-License-Identifier: MIT */
/* strbuf.h: a growable output buffer; out of memory is fatal (exit 1). */
#ifndef CONNTRAIL_LIB_STRBUF_H
#define CONNTRAIL_LIB_STRBUF_H

#include <stddef.h>

struct ct_buf {
	char *p;
	size_t len, cap;
};
/* Room for extra more bytes at p + len. */
void ct_buf_reserve(struct ct_buf *b, size_t extra);
void ct_buf_put(struct ct_buf *b, const void *s, size_t n);
void ct_buf_puts(struct ct_buf *b, const char *s);
void ct_buf_printf(struct ct_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string: quoted (json_str) or its body alone, escaped (ct_json_escape). */
void ct_buf_json_str(struct ct_buf *b, const char *s, size_t n);
void ct_buf_json_body(struct ct_buf *b, const char *s, size_t n);
/* Text for a terminal, escaped by the one rule of text.h (ct_term_escape). */
void ct_buf_term(struct ct_buf *b, const char *s, size_t n, unsigned flags);
void ct_buf_term_str(struct ct_buf *b, const char *s);
void ct_buf_free(struct ct_buf *b);

#endif
