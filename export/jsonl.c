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
	struct ct_out *out;
	const struct ct_export_info *info;
	struct ct_buf line;
};

static int jsonl_open(struct ct_exporter **out, struct ct_out *o, const struct ct_export_info *info)
{
	struct ct_exporter *x = ct_sink_alloc(o, sizeof(*x));
	if (!x)
		return -1;
	x->out = o;
	x->info = info;
	*out = x;
	return 0;
}

static int jsonl_event(struct ct_exporter *x, const struct ct_event *ev, unsigned input,
		       int64_t wall_ns)
{
	x->line.len = 0;
	ct_fmt_json_event(&x->line, ev, wall_ns, ct_export_host(x->info, input));
	return ct_out_write(x->out, x->line.p, x->line.len);
}

static int jsonl_close(struct ct_exporter *x)
{
	int rc = ct_out_flush(x->out);
	ct_buf_free(&x->line);
	free(x);
	return rc;
}

static const char *const jsonl_suffixes[] = {".jsonl", ".json", ".ndjson", NULL};

const struct ct_export_format ct_export_jsonl = {
    .name = "jsonl",
    .suffixes = jsonl_suffixes,
    .help = "the lines of 'conntrail script --json'",
    .open = jsonl_open,
    .event = jsonl_event,
    .close = jsonl_close,
};
