/* SPDX-License-Identifier: MIT */
/* strbuf.c: a growable output buffer; out of memory is fatal. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strbuf.h"
#include "lib/text.h"
#include "lib/util.h"

void ct_buf_reserve(struct ct_buf *b, size_t extra)
{
	if (b->cap - b->len >= extra)
		return;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap - b->len < extra)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		ct_err("out of memory");
		exit(CT_EXIT_ERROR);
	}
	b->p = p;
	b->cap = cap;
}

void ct_buf_put(struct ct_buf *b, const void *s, size_t n)
{
	if (!n)
		return; /* s may be NULL then: memcpy must not see it */
	ct_buf_reserve(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

void ct_buf_puts(struct ct_buf *b, const char *s)
{
	ct_buf_put(b, s, strlen(s));
}

void ct_buf_printf(struct ct_buf *b, const char *fmt, ...)
{
	va_list ap;

	ct_buf_reserve(b, 256);
	va_start(ap, fmt);
	int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		ct_buf_reserve(b, (size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void ct_buf_free(struct ct_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void ct_buf_json_body(struct ct_buf *b, const char *str, size_t n)
{
	ct_buf_reserve(b, n * 6);
	b->len += ct_json_escape(b->p + b->len, str, n);
}

void ct_buf_json_str(struct ct_buf *b, const char *s, size_t n)
{
	ct_buf_put(b, "\"", 1);
	ct_buf_json_body(b, s, n);
	ct_buf_put(b, "\"", 1);
}

void ct_buf_term(struct ct_buf *b, const char *s, size_t n, unsigned flags)
{
	ct_buf_reserve(b, CT_TERM_MAX(n));
	b->len += ct_term_escape(b->p + b->len, s, n, flags);
}

void ct_buf_term_str(struct ct_buf *b, const char *s)
{
	ct_buf_term(b, s, strlen(s), 0);
}
