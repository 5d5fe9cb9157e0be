/* SPDX-License-Identifier: MIT */
/*
 * formats.c: the table of output formats. A new format is a file of its
 * own defining its struct ct_export_format, and a row here: --to names,
 * suffix detection and the help text all come from this table.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "export/export.h"

extern const struct ct_export_format ct_export_pcapng, ct_export_pcap, ct_export_csv,
    ct_export_jsonl, ct_export_tracee, ct_export_clickhouse;

const struct ct_export_format *const ct_export_formats[] = {
    &ct_export_pcapng, &ct_export_pcap,	      &ct_export_csv, &ct_export_jsonl,
    &ct_export_tracee, &ct_export_clickhouse, NULL,
};

const struct ct_export_format *ct_export_by_name(const char *name)
{
	for (size_t i = 0; ct_export_formats[i]; i++)
		if (!strcmp(ct_export_formats[i]->name, name))
			return ct_export_formats[i];
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
	for (size_t i = 0; ct_export_formats[i]; i++)
		for (const char *const *s = ct_export_formats[i]->suffixes; s && *s; s++)
			if (ends_with(path, *s) && strlen(*s) > best_len) {
				best = ct_export_formats[i];
				best_len = strlen(*s);
			}
	return best;
}

const char *ct_export_names(void)
{
	static char names[256];
	if (!names[0]) {
		size_t n = 0;
		for (size_t i = 0; ct_export_formats[i] && n < sizeof(names) - 32; i++)
			n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s", i ? ", " : "",
					      ct_export_formats[i]->name);
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
