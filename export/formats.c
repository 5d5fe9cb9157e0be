/* SPDX-License-Identifier: MIT */
/*
 * formats.c: the table of output formats, and the open and close every
 * format shares. A new format is a file of its own defining its struct
 * ct_export_ops, and a row here: --to names, suffix detection and the help
 * text all come from this table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "export/export.h"

extern const struct ct_export_ops ct_pcapng_ops, ct_pcap_ops, ct_csv_ops, ct_jsonl_ops,
    ct_tracee_ops, ct_clickhouse_ops;

#define SUFFIXES(...) ((const char *const[]){__VA_ARGS__, NULL})

const struct ct_export_format ct_export_formats[] = {
    {"pcapng", SUFFIXES(".pcapng"),
     "one packet per connect (IP + TCP SYN/UDP), the process in its comment", 1, &ct_pcapng_ops},
    {"pcap", SUFFIXES(".pcap"), "the same frames, no comments (classic pcap)", 1, &ct_pcap_ops},
    {"csv", SUFFIXES(".csv"), "RFC 4180, the JSON-lines keys as columns", 0, &ct_csv_ops},
    {"jsonl", SUFFIXES(".jsonl", ".json", ".ndjson"), "the lines of 'conntrail script --json'", 0,
     &ct_jsonl_ops},
    {"tracee-json", SUFFIXES(".tracee.json", ".tracee.jsonl"),
     "Tracee's security_socket_connect events", 0, &ct_tracee_ops},
    {"clickhouse", SUFFIXES(".rowbinary"),
     "ClickHouse RowBinary for conntrail.connects (share/clickhouse/schema.sql)", 0,
     &ct_clickhouse_ops},
    {NULL, NULL, NULL, 0, NULL},
};

static void sink_free(const struct ct_export_format *f, struct ct_exporter *x)
{
	if (f->ops->release)
		f->ops->release(x);
	ct_buf_free(&((struct ct_sink *)x)->line);
	free(x);
}

int ct_export_open(const struct ct_export_format *f, struct ct_exporter **xp, struct ct_out *out,
		   const struct ct_export_info *info)
{
	struct ct_sink *s = calloc(1, f->ops->size);
	if (!s) {
		out->err = ENOMEM;
		return -1;
	}
	s->out = out;
	s->info = info;
	/* s is the first member of the format's struct ct_exporter */
	struct ct_exporter *x = (struct ct_exporter *)s;
	if (f->ops->start && f->ops->start(x) < 0) {
		sink_free(f, x);
		return -1;
	}
	*xp = x;
	return 0;
}

int ct_export_close(const struct ct_export_format *f, struct ct_exporter *x)
{
	struct ct_sink *s = (struct ct_sink *)x;
	int rc = f->ops->finish ? f->ops->finish(x) : 0;
	if (ct_out_flush(s->out) < 0)
		rc = -1;
	sink_free(f, x);
	return rc;
}

int ct_export_open_part(const struct ct_export_format *f, struct ct_exporter **xp,
			struct ct_out *out, const struct ct_export_info *info)
{
	if (!f->ops->parallel) {
		out->err = EINVAL;
		return -1;
	}
	if (ct_export_open(f, xp, out, info) < 0)
		return -1;
	out->len = 0; /* the header is the first sink's */
	return 0;
}

void ct_export_drop(const struct ct_export_format *f, struct ct_exporter *x)
{
	if (x)
		sink_free(f, x);
}

const struct ct_export_format *ct_export_by_name(const char *name)
{
	for (const struct ct_export_format *f = ct_export_formats; f->name; f++)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n > m && !strcasecmp(s + n - m, suffix);
}

const struct ct_export_format *ct_export_by_path(const char *path)
{
	/* The longest matching suffix: x.tracee.json is Tracee, x.json JSON lines. */
	const struct ct_export_format *best = NULL;
	size_t best_len = 0;
	for (const struct ct_export_format *f = ct_export_formats; f->name; f++)
		for (const char *const *s = f->suffixes; s && *s; s++)
			if (ends_with(path, *s) && strlen(*s) > best_len) {
				best = f;
				best_len = strlen(*s);
			}
	return best;
}

const char *ct_export_names(void)
{
	static char names[256];
	if (!names[0]) {
		size_t n = 0;
		for (size_t i = 0; ct_export_formats[i].name && n < sizeof(names) - 32; i++)
			n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s", i ? ", " : "",
					      ct_export_formats[i].name);
	}
	return names;
}

const char *ct_export_host(const struct ct_export_info *info, unsigned input)
{
	if (input >= info->ninputs)
		return NULL;
	const char *h = info->inputs[input].hdr->hostname;
	return h && h[0] ? h : NULL;
}
