/* SPDX-License-Identifier: MIT */
/*
 * eventfmt.h: how an event is spelled, shared by script, report and convert
 * so that `script --json` and `convert --to jsonl` are byte-identical and
 * every command names families, errnos and addresses the same way.
 */
#ifndef CONNTRAIL_EVENTFMT_H
#define CONNTRAIL_EVENTFMT_H

#include <stddef.h>
#include <stdint.h>

#include "../format/ctrace.h"
#include "session.h"

/* A growable output buffer; out of memory is fatal (prints and exits 1). */
struct ct_buf {
	char *p;
	size_t len, cap;
};
void ct_buf_put(struct ct_buf *b, const void *s, size_t n);
void ct_buf_puts(struct ct_buf *b, const char *s);
void ct_buf_printf(struct ct_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ct_buf_json_str(struct ct_buf *b, const char *s, size_t n); /* quoted, escaped */
void ct_buf_free(struct ct_buf *b);
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

/* "2026-11-24T13:05:00.123456789Z" into buf (at least 40 bytes). */
void ct_fmt_rfc3339(char *buf, size_t size, int64_t wall_ns);
/* "AF_INET", "AF_INET6", "AF_UNIX" or NULL for other families. */
const char *ct_family_name(uint16_t family);
/* "inet", "inet6", "unix", "other" (the filter language's names). */
const char *ct_family_short(uint16_t family);
/* "SOCK_STREAM"... or NULL; "stream"... for the short form. */
const char *ct_type_name(uint16_t type);
const char *ct_type_short(uint16_t type);
/* "tcp", "udp", ... or NULL. */
const char *ct_proto_short(uint16_t proto);
/* "ECONNREFUSED" for -111 or 111; NULL when unknown. */
const char *ct_errno_name(int err);
int ct_errno_from_name(const char *name); /* 111 for "ECONNREFUSED", -1 if unknown */
/* Address text: "10.0.0.1", "::1", "/run/x.sock", "@abstract" (NUL shown as
 * '@', other unprintable bytes escaped as \xNN). */
void ct_fmt_daddr(char *buf, size_t size, const struct ct_event *ev);
/* "10.0.0.1:443", "[::1]:53", "/run/x.sock", "@name", "family 38". */
void ct_fmt_dest(char *buf, size_t size, const struct ct_event *ev);
/* Outcome: "ok", "ECONNREFUSED", "EINPROGRESS", "?" when unknown. */
const char *ct_fmt_result(const struct ct_event *ev);

/* One JSON line (with the trailing '\n') with the keys of DESIGN.md, keys
 * absent when unknown. host may be NULL. */
void ct_fmt_json_event(struct ct_buf *b, const struct ct_event *ev, const struct ct_proc_info *proc,
		       int64_t wall_ns, const char *host);

#endif
