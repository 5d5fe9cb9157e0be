/* SPDX-License-Identifier: MIT */
/*
 * info.c: `conntrail info FILE..` describes trace files: header, time
 * range, chunks, counts, compression, index and damage. It reads every
 * record (so the counts are what a reader really gets, not only what the
 * index claims) and keeps going when one file cannot be opened.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "format/ctrace.h"
#include "export/eventfmt.h"
#include "lib/names.h"

#define MAX_DAMAGE_SHOWN 20

struct damage_list {
	struct ct_damage d[MAX_DAMAGE_SHOWN];
	char what[MAX_DAMAGE_SHOWN][48];
	unsigned n, total;
};

static void on_damage(void *ctx, const struct ct_damage *d)
{
	struct damage_list *l = ctx;

	if (l->n < MAX_DAMAGE_SHOWN) {
		l->d[l->n] = *d;
		snprintf(l->what[l->n], sizeof(l->what[0]), "%s", d->what);
		l->d[l->n].what = l->what[l->n];
		l->n++;
	}
	l->total++;
}

struct info {
	uint64_t events, procs, names, lost_names, lost, lost_records, lost_outcomes, lost_procs;
	uint64_t first_ts, last_ts, first_lost, last_lost;
	uint64_t comp, raw;
	uint64_t tracked, resolved; /* TCP handshakes followed; their outcomes known */
	uint32_t chunks, event_chunks, meta_chunks, outcome_chunks;
	unsigned codecs; /* bit per codec seen */
};

static void put_time(struct ct_buf *b, const char *key, const char *label, uint64_t ts, int64_t off,
		     int json)
{
	char t[64];
	ct_fmt_rfc3339(t, sizeof(t), ct_wall_ns(ts, off));
	if (json)
		ct_buf_printf(b, ",\"%s\":\"%s\",\"%s_ns\":%llu", key, t, key,
			      (unsigned long long)ts);
	else
		ct_buf_printf(b, "  %-16s %s\n", label, t);
}

static void put_str(struct ct_buf *b, const char *key, const char *label, const char *v, int json)
{
	if (json) {
		if (!v)
			return;
		ct_buf_printf(b, ",\"%s\":", key);
		ct_buf_json_str(b, v, strlen(v));
	} else {
		/* Header strings come from the file: escaped for the terminal. */
		ct_buf_printf(b, "  %-16s ", label);
		ct_buf_term_str(b, v ? (*v ? v : "(none)") : "(unknown)");
		ct_buf_puts(b, "\n");
	}
}

static void put_u64(struct ct_buf *b, const char *key, const char *label, uint64_t v, int json)
{
	if (json)
		ct_buf_printf(b, ",\"%s\":%llu", key, (unsigned long long)v);
	else
		ct_buf_printf(b, "  %-16s %llu\n", label, (unsigned long long)v);
}

/* Every record of r counted into in; the last ct_reader_next status. */
static int count_records(struct ct_reader *r, struct info *in)
{
	const struct ct_record *rec;
	int rc = ct_reader_set_columns(r, CT_COL_RESULT);
	while (rc >= 0 && (rc = ct_reader_next(r, &rec)) == 1) {
		switch (rec->type) {
		case CT_REC_BATCH: {
			const struct ct_batch *b = rec->batch;
			for (uint32_t i = 0; i < b->n; i++) {
				uint64_t ts = b->ts_ns[i];
				if (!in->events || ts < in->first_ts)
					in->first_ts = ts;
				if (ts > in->last_ts)
					in->last_ts = ts;
				in->events++;
				if (b->flags[i] & CT_EV_TRACKED) {
					in->tracked++;
					in->resolved +=
					    !!(b->flags[i] & (CT_EV_RESULT | CT_EV_ABANDONED));
				}
			}
			break;
		}
		case CT_REC_PROC:
			in->procs++;
			break;
		case CT_REC_NAME:
			in->names++;
			break;
		case CT_REC_LOST:
			if (!in->lost_records || rec->lost.ts_ns < in->first_lost)
				in->first_lost = rec->lost.ts_ns;
			if (rec->lost.ts_ns > in->last_lost)
				in->last_lost = rec->lost.ts_ns;
			if (rec->lost.kind == CT_LOST_OUTCOMES) {
				in->lost_outcomes += rec->lost.count;
				break;
			}
			if (rec->lost.kind == CT_LOST_NAMES) {
				in->lost_names += rec->lost.count;
				break;
			}
			if (rec->lost.kind == CT_LOST_PROCS) {
				in->lost_procs += rec->lost.count;
				break;
			}
			in->lost += rec->lost.count;
			in->lost_records++;
			break;
		}
	}
	return rc;
}

/* Size per event, compression, index and damage. */
static void put_storage(struct ct_buf *b, const struct info *in, const struct ct_reader_stats *st,
			const struct damage_list *dl, const char *path, uint64_t size, int json)
{
	double bpe = in->events ? (double)size / (double)in->events : 0;
	double ratio = in->comp ? (double)in->raw / (double)in->comp : 0;
	char codecs[64] = "";
	for (unsigned c = 0; c < 8; c++)
		if (in->codecs & (1u << c)) {
			size_t l = strlen(codecs);
			snprintf(codecs + l, sizeof(codecs) - l, "%s%s", l ? "+" : "",
				 ct_codec_name((int)c));
		}
	if (json) {
		ct_buf_printf(b, ",\"bytes_per_event\":%.3f,\"compression\":\"%s\",\"ratio\":%.3f",
			      bpe, codecs, ratio);
		ct_buf_printf(b, ",\"raw_bytes\":%llu,\"comp_bytes\":%llu,\"index\":%s",
			      (unsigned long long)in->raw, (unsigned long long)in->comp,
			      st->index_present ? "true" : "false");
		ct_buf_printf(b, ",\"index_rejected\":%s", st->index_rejected ? "true" : "false");
		ct_buf_printf(b, ",\"index_summaries_damaged\":%s",
			      st->summaries_damaged ? "true" : "false");
		ct_buf_printf(b, ",\"damaged_chunks\":%u,\"damage\":[", dl->total);
		for (unsigned i = 0; i < dl->n; i++) {
			ct_buf_printf(b, "%s{\"seq\":%u,\"offset\":%llu,\"what\":", i ? "," : "",
				      dl->d[i].seq, (unsigned long long)dl->d[i].offset);
			ct_buf_json_str(b, dl->what[i], strlen(dl->what[i]));
			ct_buf_puts(b, "}");
		}
		ct_buf_puts(b, "]}\n");
	} else {
		if (in->events)
			ct_buf_printf(b, "  %-16s %.2f\n", "bytes/event", bpe);
		ct_buf_printf(b, "  %-16s %s, ratio %.2f (%llu raw, %llu stored bytes)\n",
			      "compression", *codecs ? codecs : "-", ratio,
			      (unsigned long long)in->raw, (unsigned long long)in->comp);
		ct_buf_printf(b, "  %-16s %s\n", "index",
			      st->summaries_damaged
				  ? "present, but its summaries are damaged: no chunk "
				    "is skipped by filter"
			      : st->index_present  ? "present"
			      : st->index_rejected ? "present but not believed (it does not match "
						     "the chunks): rebuilt by scanning"
			      : strcmp(path, "-")  ? "missing, rebuilt by scanning"
						   : "not used (stream)");
		ct_buf_printf(b, "  %-16s %u\n", "damaged chunks", dl->total);
		for (unsigned i = 0; i < dl->n; i++)
			ct_buf_printf(b, "    chunk %u at offset %llu: %s\n", dl->d[i].seq,
				      (unsigned long long)dl->d[i].offset, dl->what[i]);
		if (dl->total > dl->n)
			ct_buf_printf(b, "    ... and %u more\n", dl->total - dl->n);
	}
}

/* The chunk list's kinds, sizes and codecs into in. */
static void count_chunks(struct ct_reader *r, struct info *in)
{
	in->chunks = ct_reader_chunk_count(r);
	for (uint32_t i = 0; i < in->chunks; i++) {
		const struct ct_chunk_info *c = ct_reader_chunk(r, i);
		in->event_chunks += c->kind == CT_CHUNK_EVENTS;
		in->meta_chunks += c->kind == CT_CHUNK_META;
		in->outcome_chunks += c->kind == CT_CHUNK_OUTCOMES || c->kind == CT_CHUNK_CLOSES;
		in->comp += c->comp_size;
		in->raw += c->raw_size;
		/* The codec the recorder chose is the events' one: meta chunks
		 * and the index are stored uncompressed whatever it was. */
		if (c->kind == CT_CHUNK_EVENTS && c->compress < 8)
			in->codecs |= 1u << c->compress;
	}
}

static int info_one(const char *path, int json)
{
	struct damage_list dl = {0};
	struct ct_reader_opts ro = {.on_damage = on_damage, .damage_ctx = &dl, .name = path};
	struct ct_reader *r;
	int err = ct_reader_open_file(&r, path, &ro);

	if (err) {
		ct_err("%s: %s", path, err == CT_E_IO ? strerror(errno) : ct_strerror(err));
		return CT_EXIT_ERROR;
	}
	const struct ct_header *h = ct_reader_header(r);
	struct info in = {0};
	int rc = count_records(r, &in);
	if (rc < 0) {
		ct_err("%s: %s", path, ct_strerror(rc));
		ct_reader_close(r);
		return CT_EXIT_ERROR;
	}
	count_chunks(r, &in);
	/* After the chunk list: asking for it reads the index's summaries. */
	struct ct_reader_stats st;
	ct_reader_stats(r, &st);
	uint64_t size = st.bytes_read;
	struct stat sb;
	if (strcmp(path, "-") && stat(path, &sb) == 0)
		size = (uint64_t)sb.st_size;

	struct ct_buf b = {0};
	if (json) {
		ct_buf_puts(&b, "{\"file\":");
		ct_buf_json_str(&b, path, strlen(path));
	} else {
		ct_buf_term_str(&b, path);
		ct_buf_puts(&b, ":\n");
	}
	put_u64(&b, "size", "size", size, json);
	char ver[32];
	snprintf(ver, sizeof(ver), "%u.%u", h->version_major, h->version_minor);
	put_str(&b, "format", "format version", ver, json);
	put_str(&b, "host", "host", h->hostname, json);
	put_str(&b, "kernel", "kernel", h->kernel, json);
	put_str(&b, "arch", "arch", h->arch, json);
	put_str(&b, "recorder", "recorder", h->recorder, json);
	put_str(&b, "backend", "backend", h->backend, json);
	put_str(&b, "cmdline", "command line", h->cmdline, json);
	put_str(&b, "filters", "filters", h->filters, json);
	put_time(&b, "start", "start", h->start_ts_ns, h->wall_offset_ns, json);
	if (in.events) {
		put_time(&b, "first_event", "first event", in.first_ts, h->wall_offset_ns, json);
		put_time(&b, "last_event", "last event", in.last_ts, h->wall_offset_ns, json);
		double dur = (double)(in.last_ts - in.first_ts) / 1e9;
		if (json)
			ct_buf_printf(&b, ",\"duration_s\":%.9f", dur);
		else
			ct_buf_printf(&b, "  %-16s %.3f s\n", "duration", dur);
	}
	if (json)
		ct_buf_printf(&b,
			      ",\"chunks\":%u,\"event_chunks\":%u,\"meta_chunks\":%u,"
			      "\"outcome_chunks\":%u",
			      in.chunks, in.event_chunks, in.meta_chunks, in.outcome_chunks);
	else
		ct_buf_printf(&b, "  %-16s %u (%u event, %u meta, %u outcome)\n", "chunks",
			      in.chunks, in.event_chunks, in.meta_chunks, in.outcome_chunks);
	put_u64(&b, "events", "events", in.events, json);
	if (json) {
		ct_buf_printf(&b,
			      ",\"handshakes_tracked\":%llu,\"handshakes_resolved\":%llu,"
			      "\"outcomes_joined\":%llu,\"outcomes_unmatched\":%llu,"
			      "\"outcomes_lost\":%llu",
			      (unsigned long long)in.tracked, (unsigned long long)in.resolved,
			      (unsigned long long)st.outcomes_joined,
			      (unsigned long long)st.outcomes_unmatched,
			      (unsigned long long)in.lost_outcomes);
	} else if (in.tracked || in.outcome_chunks) {
		ct_buf_printf(&b, "  %-16s %llu TCP handshakes followed, %llu outcomes known",
			      "outcomes", (unsigned long long)in.tracked,
			      (unsigned long long)in.resolved);
		if (st.outcomes_unmatched)
			ct_buf_printf(&b, ", %llu outcome records naming no connect",
				      (unsigned long long)st.outcomes_unmatched);
		if (in.lost_outcomes)
			ct_buf_printf(&b, ", %llu LOST", (unsigned long long)in.lost_outcomes);
		ct_buf_puts(&b, "\n");
	}
	put_u64(&b, "procs", "process records", in.procs, json);
	if (in.names) /* DNS answers: only in traces that have them */
		put_u64(&b, "names", "name records", in.names, json);
	if (in.lost_names)
		put_u64(&b, "names_lost", "DNS packets LOST", in.lost_names, json);
	if (json || in.lost_procs)
		put_u64(&b, "procs_lost", "process records LOST", in.lost_procs, json);
	if (json) {
		ct_buf_printf(&b, ",\"lost\":%llu,\"lost_records\":%llu",
			      (unsigned long long)in.lost, (unsigned long long)in.lost_records);
		if (in.lost_records) {
			put_time(&b, "first_lost", NULL, in.first_lost, h->wall_offset_ns, 1);
			put_time(&b, "last_lost", NULL, in.last_lost, h->wall_offset_ns, 1);
		}
	} else if (in.lost_records) {
		char a[64], c[64];
		ct_fmt_rfc3339(a, sizeof(a), ct_wall_ns(in.first_lost, h->wall_offset_ns));
		ct_fmt_rfc3339(c, sizeof(c), ct_wall_ns(in.last_lost, h->wall_offset_ns));
		ct_buf_printf(&b, "  %-16s %llu in %llu records, first %s, last %s\n",
			      "lost events", (unsigned long long)in.lost,
			      (unsigned long long)in.lost_records, a, c);
	} else {
		ct_buf_printf(&b, "  %-16s 0\n", "lost events");
	}
	put_storage(&b, &in, &st, &dl, path, size, json);
	fwrite(b.p, 1, b.len, stdout);
	ct_buf_free(&b);
	ct_reader_close(r);
	return CT_EXIT_OK;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: conntrail info [--json] [FILE..]\n"
		"\n"
		"Describe trace files: header (host, kernel, recorder, backend, command line),\n"
		"time range, chunks, counts, lost events, compression, index, damage. Every\n"
		"record is read, so the counts are what a reader gets. FILE defaults to\n"
		"conntrail.data; '-' reads standard input.\n"
		"\n"
		"  -j, --json   one JSON object a file, one a line, with the same facts as keys\n"
		"               (events, first_event/_ns, lost, procs_lost, chunks, index, ...)\n"
		"\n"
		"Examples:\n"
		"  conntrail info\n"
		"  conntrail info incident.ctr.0 incident.ctr.1\n"
		"  conntrail info --json incident.ctr | jq .events\n");
}

static int info_opt(void *json, int c, const char *arg)
{
	(void)arg;
	if (c == 'j')
		*(int *)json = 1;
	return 0;
}

int cmd_info(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, 0, 'j'},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	int json = 0;
	int rc = ct_getopt(argc, argv, "jh", longopts, usage, info_opt, &json);

	if (rc != CT_OPTS_DONE)
		return rc;
	/* Like report and script: no file means conntrail.data. */
	static char def[] = "conntrail.data";
	char *none[] = {def};
	char **files = optind < argc ? argv + optind : none;
	int nfiles = optind < argc ? argc - optind : 1;
	int status = CT_EXIT_OK;
	for (int i = 0; i < nfiles; i++) {
		if (i && !json)
			putchar('\n');
		if (info_one(files[i], json) != CT_EXIT_OK)
			status = CT_EXIT_ERROR;
		fflush(stdout);
	}
	return status;
}
