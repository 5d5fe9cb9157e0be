/* SPDX-License-Identifier: MIT */
/*
 * filter.h: the --filter expression language.
 *
 *   expr   := or
 *   or     := and (("or" | "||") and)*
 *   and    := unary (("and" | "&&") unary)*
 *   unary  := ("not" | "!") unary | "(" expr ")" | FIELD OP VALUE
 *           | FIELD "in" (RANGE | "{" (VALUE | RANGE) ("," (VALUE | RANGE))* "}")
 *   OP     := == != < <= > >= ~ in
 *   VALUE  := a word or a string in "double" or 'single' quotes
 *   RANGE  := LOW..HIGH (both included)
 *
 * An expression compiles to a small tree evaluated per event
 * (ct_filter_match) and, three-valued, per chunk against the chunk's index
 * summary (ct_filter_chunk) so chunks that cannot match are never read.
 * A comparison on a value the event does not have (ret without a return
 * value, dport of a UNIX connect, exe unknown to the process table) is
 * false. result has the values of ret plus abandoned and unknown.
 */
#ifndef CONNTRAIL_FILTER_H
#define CONNTRAIL_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "format/ctrace.h"

struct ct_filter;

/* Where and why an expression was rejected. pos is a byte offset into it. */
struct ct_filter_error {
	size_t pos;
	char msg[160];
};

/* 0 and *out on success; -1 and *err filled on a bad expression. */
int ct_filter_compile(const char *expr, struct ct_filter **out, struct ct_filter_error *err);
void ct_filter_free(struct ct_filter *f);

/* Offsets in ts comparisons ("ts >= +90s") count from this wall-clock time
 * (the session passes the earliest trace start). Default 0. */
void ct_filter_set_base(struct ct_filter *f, int64_t base_wall_ns);

/* 1 when the event matches. wall_ns is the event's wall-clock time;
 * ev->proc may be NULL (exe and container then unknown). */
int ct_filter_match(const struct ct_filter *f, const struct ct_event *ev, int64_t wall_ns);

/* Per chunk: what the summary proves about all of its events. */
enum ct_tri {
	CT_TRI_NONE = 0, /* no event of the chunk can match: skip it */
	CT_TRI_SOME = 1, /* some may */
	CT_TRI_ALL = 2,	 /* every event matches */
};
/* wall_offset_ns: the chunk's file header offset (for ts comparisons). */
enum ct_tri ct_filter_chunk(const struct ct_filter *f, const struct ct_chunk_info *c,
			    int64_t wall_offset_ns);

/* 1 when the expression reads exe or container (needs the process table). */
int ct_filter_uses_proc(const struct ct_filter *f);

/* The batch columns (CT_COL_*) the expression reads. */
uint32_t ct_filter_columns(const struct ct_filter *f);

/* The host name (trace header) of the input whose chunks and events are
 * judged next; NULL when it has none. Comparisons on `host` answer from it,
 * so they decide whole chunks. A no-op when the expression has no host. */
void ct_filter_set_host(struct ct_filter *f, const char *host);

/* After the one-line error: the expression and a caret line under the
 * offending column, on stderr. */
void ct_filter_print_caret(const char *expr, const struct ct_filter_error *err);

#endif
