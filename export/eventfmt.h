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
/* "10.0.0.1:443", "[::1]:53", "/run/x.sock", "@name", "family 38". */
void ct_fmt_dest(char *buf, size_t size, const struct ct_event *ev);
/* Outcome: "ok", "ECONNREFUSED", "EINPROGRESS", "?" when unknown. */
const char *ct_fmt_result(const struct ct_event *ev);

/* One JSON line (with the trailing '\n') with the keys of DESIGN.md, keys
 * absent when unknown. host may be NULL. */
void ct_fmt_json_event(struct ct_buf *b, const struct ct_event *ev, const struct ct_proc_info *proc,
		       int64_t wall_ns, const char *host);

#endif
