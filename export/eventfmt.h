/* SPDX-License-Identifier: MIT */
/*
 * eventfmt.h: how an event is spelled, shared by script, report and convert
 * so that `script --json` and `convert --to jsonl` are byte-identical and
 * every command names families, errnos and addresses the same way.
 */
#ifndef CONNTRAIL_EXPORT_EVENTFMT_H
#define CONNTRAIL_EXPORT_EVENTFMT_H

#include <stddef.h>
#include <stdint.h>

#include "format/ctrace.h"
#include "lib/strbuf.h"

/* Address text: "10.0.0.1", "::1", "/run/x.sock", "@abstract" (NUL shown as
 * '@', other unprintable bytes escaped as \xNN). */
void ct_fmt_daddr(char *buf, size_t size, const struct ct_event *ev);
/* "10.0.0.1:443", "[::1]:53", "/run/x.sock", "@name", "family 38"; with a
 * dname "example.com (10.0.0.1):443", "example.com (::1):53". */
void ct_fmt_dest(char *buf, size_t size, const struct ct_event *ev);
/* What connect(2) returned: "ok", "ECONNREFUSED", "EINPROGRESS", "?" when
 * unknown. */
const char *ct_fmt_ret(const struct ct_event *ev);
/* The `ret_name` of JSON and CSV: "ok", the errno's name, or NULL when ret
 * is unknown or has no name. */
const char *ct_ret_name(const struct ct_event *ev);
/* The final outcome: "ok", "ECONNREFUSED", "abandoned", "unknown". */
const char *ct_fmt_result(const struct ct_event *ev);
/* 1 when the final outcome came after connect(2) returned (a handshake). */
int ct_outcome_later(const struct ct_event *ev);

/* One JSON line (with the trailing '\n') with the keys of DESIGN.md, keys
 * absent when unknown; ev->proc gives exe, cmdline and container. host may
 * be NULL. */
void ct_fmt_json_event(struct ct_buf *b, const struct ct_event *ev, int64_t wall_ns,
		       const char *host);

/* The same line in three parts, written at d without growth or strlen, for
 * callers that cache the middle one (it names the process):
 *   head: `{"ts":"...","ts_ns":N` (CT_JSON_HEAD_MAX bytes at most; tc keeps
 *         the text of the last second);
 *   who:  `,"host":..` up to the container (ct_json_who_max bytes at most);
 *   tail: `,"sockfd":..` to the closing brace (CT_JSON_TAIL_MAX at most). */
struct ct_json_ts {
	int64_t sec;
	int valid;
	size_t len;
	char text[32];
};
#define CT_JSON_HEAD_MAX 96
#define CT_JSON_TAIL_MAX (640 + 6 * CT_UNIX_PATH_MAX + 2 * CT_NAME_MAX + 12)
size_t ct_json_head(char *d, int64_t wall_ns, struct ct_json_ts *tc);
/* The keys of ct_procinfo.ctr in JSON, CSV and ClickHouse: "container_name",
 * "image", "pod", "k8s_namespace". */
extern const char *const ct_ctr_keys[CT_CTR_N];
size_t ct_json_who_max(const struct ct_event *ev, const char *host);
size_t ct_json_who(char *d, const struct ct_event *ev, const char *host);
size_t ct_json_tail(char *d, const struct ct_event *ev);
/* The keys of how the connect went, from ret (and ret_name) to still_open,
 * as JSON lines and the pcapng plugin comment both write them. */
size_t ct_json_outcome(char *d, const struct ct_event *ev, int with_ret_name);

#endif
