/* SPDX-License-Identifier: MIT */
/*
 * jsonl.c: JSON lines, one ct_fmt_json_event line per connect, the
 * very bytes `conntrail script --json` prints (same host argument too).
 */
#include <errno.h>
#include <stdlib.h>

#include "export/eventfmt.h"
#include "export/export.h"

struct ct_exporter {
	struct ct_sink s;
};

static int jsonl_event(struct ct_exporter *x, const struct ct_event *ev, unsigned input,
		       int64_t wall_ns)
{
	x->s.line.len = 0;
	ct_fmt_json_event(&x->s.line, ev, wall_ns, ct_export_host(x->s.info, input));
	return ct_out_write(x->s.out, x->s.line.p, x->s.line.len);
}

const struct ct_export_ops ct_jsonl_ops = {
    .size = sizeof(struct ct_exporter),
    .event = jsonl_event,
    .parallel = 1,
};
