/* SPDX-License-Identifier: MIT */
/* json.c: the report as one JSON document, the same content as the text. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "cmd/report/report.h"
#include "export/eventfmt.h"
#include "lib/names.h"

static void json_time(struct ct_buf *b, const char *key, int64_t wall)
{
	char t[48];
	ct_fmt_rfc3339(t, sizeof(t), wall);
	if (ct_wall_bad(wall)) /* "out-of-range", with no _ns to contradict it */
		ct_buf_printf(b, "\"%s\":\"%s\"", key, t);
	else
		ct_buf_printf(b, "\"%s\":\"%s\",\"%s_ns\":%lld", key, t, key, (long long)wall);
}

static void json_dest_fields(struct ct_buf *b, const struct dest_key *k)
{
	char text[4 * CT_UNIX_PATH_MAX + 16];
	rp_dest_text(text, sizeof(text), k);
	ct_buf_puts(b, "\"dest\":");
	ct_buf_json_str(b, text, strlen(text));
	char fam[16];
	ct_family_text(fam, sizeof(fam), k->family);
	ct_buf_printf(b, ",\"family\":\"%s\"", fam);
	if (k->family == 2 || k->family == 10) {
		char a[INET6_ADDRSTRLEN];
		inet_ntop(k->family == 2 ? AF_INET : AF_INET6, k->addr, a, sizeof(a));
		ct_buf_printf(b, ",\"daddr\":\"%s\",\"dport\":%u", a, k->dport);
	} else if (k->family == 1) {
		ct_buf_puts(b, ",\"path\":\"");
		ct_buf_puts(b, k->abstract ? "@" : "");
		/* the JSON escape of the raw bytes (after the NUL of abstract names) */
		struct ct_buf tmp = {0};
		ct_buf_json_str(&tmp, (const char *)k->addr + k->abstract,
				k->path_len - k->abstract);
		ct_buf_put(b, tmp.p + 1, tmp.len - 1);
		ct_buf_free(&tmp);
		ct_buf_printf(b, ",\"abstract\":%s", k->abstract ? "true" : "false");
	}
}

/* ,"host":NAME when the report spans several hosts. */
static void json_host(struct ct_buf *b, struct report *r, unsigned host)
{
	if (!r->multi_host)
		return;
	const char *h = rp_host_name(r, host);
	ct_buf_puts(b, ",\"host\":");
	ct_buf_json_str(b, h, strlen(h));
}

/* "name":count, or "number":count for what has no name. */
static void json_count(struct ct_buf *b, int *first, const char *name, long number, uint64_t n)
{
	if (name)
		ct_buf_printf(b, "%s\"%s\":%llu", *first ? "" : ",", name, (unsigned long long)n);
	else
		ct_buf_printf(b, "%s\"%ld\":%llu", *first ? "" : ",", number,
			      (unsigned long long)n);
	*first = 0;
}

/* The inputs, the span, lost records and chunks: what was read. */
static void json_head(struct ct_buf *b, const struct report *r, const struct ct_reader_stats *st)
{
	ct_buf_puts(b, "{\"inputs\":[");
	for (unsigned i = 0; i < ct_session_ninputs(r->s); i++) {
		const struct ct_input *in = ct_session_input(r->s, i);
		const struct ct_header *h = in->hdr;
		ct_buf_puts(b, i ? ",{\"path\":" : "{\"path\":");
		ct_buf_json_str(b, in->path, strlen(in->path));
		const char *fields[][2] = {{"host", h->hostname},     {"kernel", h->kernel},
					   {"arch", h->arch},	      {"backend", h->backend},
					   {"recorder", h->recorder}, {"cmdline", h->cmdline}};
		for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
			if (!fields[k][1])
				continue;
			ct_buf_printf(b, ",\"%s\":", fields[k][0]);
			ct_buf_json_str(b, fields[k][1], strlen(fields[k][1]));
		}
		ct_buf_printf(b, ",\"host_index\":%u}", in->host_index);
	}
	ct_buf_puts(b, "],");
	json_time(b, "trace_start", ct_session_start_wall(r->s));
	ct_buf_printf(b, ",\"hosts\":%u,\"events\":%llu,\"events_read\":%llu,",
		      ct_session_nhosts(r->s), (unsigned long long)r->events,
		      (unsigned long long)st->events);
	if (r->events) {
		ct_buf_puts(b, "\"span\":{");
		json_time(b, "first", r->first_wall);
		ct_buf_put(b, ",", 1);
		json_time(b, "last", r->last_wall);
		ct_buf_printf(b, ",\"duration_ns\":%lld},",
			      (long long)(r->last_wall - r->first_wall));
	}
	int64_t since, until;
	if (ct_session_window(r->s, &since, &until)) {
		ct_buf_puts(b, "\"window\":{");
		if (since != INT64_MIN)
			json_time(b, "since", since);
		if (until != INT64_MAX) {
			if (since != INT64_MIN)
				ct_buf_put(b, ",", 1);
			json_time(b, "until", until);
		}
		ct_buf_puts(b, "},");
	}
	ct_buf_printf(
	    b, "\"lost\":{\"events\":%llu,\"records\":%llu,\"outcomes\":%llu,\"processes\":%llu",
	    (unsigned long long)r->lost, (unsigned long long)r->lost_records,
	    (unsigned long long)r->lost_outcomes, (unsigned long long)r->lost_procs);
	if (r->lost_records) {
		ct_buf_put(b, ",", 1);
		json_time(b, "first", r->lost_first);
		ct_buf_put(b, ",", 1);
		json_time(b, "last", r->lost_last);
	}
	ct_buf_printf(b,
		      "},\"chunks\":{\"total\":%u,\"read\":%u,\"skipped\":%u,\"damaged\":%u,"
		      "\"index_present\":%s}",
		      st->event_chunks, st->chunks_read, st->chunks_skipped, st->chunks_damaged,
		      st->index_present ? "true" : "false");
}

static void json_dests(struct ct_buf *b, struct report *r, const struct derived *d)
{
	const struct dest *dests = (const struct dest *)r->tl->dests.items;
	ct_buf_printf(b, ",\"destinations_total\":%zu,\"destinations\":[", d->ndests);
	size_t n = rp_limit(r, d->ndests);
	for (size_t i = 0; i < n; i++) {
		const struct dest *dd = &dests[d->dest_order[i]];
		ct_buf_puts(b, i ? ",{" : "{");
		json_dest_fields(b, &dd->k);
		json_host(b, r, dd->k.host);
		ct_buf_printf(b, ",\"count\":%llu,\"programs\":%u,\"failed\":%llu,",
			      (unsigned long long)dd->count, dd->procs,
			      (unsigned long long)dd->failed);
		if (r->sort == SORT_BYTES)
			ct_buf_printf(b, "\"tx_bytes\":%llu,\"rx_bytes\":%llu,",
				      (unsigned long long)dd->tx, (unsigned long long)dd->rx);
		json_time(b, "first", dd->first);
		ct_buf_put(b, ",", 1);
		json_time(b, "last", dd->last);
		ct_buf_put(b, "}", 1);
	}
	ct_buf_put(b, "]", 1);
}

/* A process row's key: comm and exe, pid, uid, exe, cmdline or container
 * by --by; cmdline is the most frequent one unless it is the key. */
static void json_group_key(struct ct_buf *b, struct report *r, const struct proc_group *g)
{
	static const char *const str_key[] = {
	    [G_PROCESS] = "exe",	[G_PID] = "exe", [G_EXE] = "exe",
	    [G_CMDLINE] = "cmdline",	[G_UID] = NULL,	 [G_HOST] = NULL,
	    [G_CONTAINER] = "container"};
	const char *sep = "";
	if (g->k.comm[0] || r->group_by == G_PROCESS) {
		ct_buf_puts(b, "\"comm\":");
		ct_buf_json_str(b, g->k.comm, strnlen(g->k.comm, CT_COMM_LEN));
		sep = ",";
	}
	if (r->group_by == G_PID || r->group_by == G_UID) {
		ct_buf_printf(b, "%s\"%s\":%u", sep, r->group_by == G_PID ? "pid" : "uid", g->k.id);
		sep = ",";
	}
	if (str_key[r->group_by] && g->k.exe) {
		ct_buf_printf(b, "%s\"%s\":", sep, str_key[r->group_by]);
		ct_buf_json_str(b, g->k.exe, strlen(g->k.exe));
		sep = ",";
	}
	for (int k = 0; k < CT_CTR_N; k++) { /* --by container */
		if (!g->ctr[k])
			continue;
		ct_buf_printf(b, "%s\"%s\":", sep, ct_ctr_keys[k]);
		ct_buf_json_str(b, g->ctr[k], strlen(g->ctr[k]));
		sep = ",";
	}
	if (g->cmdline && r->group_by != G_CMDLINE) {
		ct_buf_printf(b, "%s\"cmdline\":", sep);
		ct_buf_json_str(b, g->cmdline, strlen(g->cmdline));
		sep = ",";
	}
	if (r->group_by == G_HOST) {
		const char *h = rp_host_name(r, g->k.host);
		ct_buf_printf(b, "%s\"host\":", sep);
		ct_buf_json_str(b, h, strlen(h));
	}
}

/* Its command lines with their processes, and its exit statuses. */
static void json_group_notes(struct ct_buf *b, const struct proc_group *g)
{
	if (g->ncmds) {
		ct_buf_printf(b, ",\"cmdlines_total\":%u,\"cmdlines\":[", g->ncmds_total);
		for (uint32_t j = 0; j < g->ncmds; j++) {
			ct_buf_puts(b, j ? ",{\"cmdline\":" : "{\"cmdline\":");
			ct_buf_json_str(b, g->cmds[j], strlen(g->cmds[j]));
			ct_buf_printf(b, ",\"processes\":%llu}", (unsigned long long)g->cmd_n[j]);
		}
		ct_buf_puts(b, "]");
	}
	if (g->nexits) {
		ct_buf_puts(b, ",\"exits\":[");
		for (uint32_t j = 0; j < g->nexits; j++) {
			char st[64];
			ct_fmt_wait_status(st, sizeof(st), g->exit_status[j]);
			ct_buf_printf(b,
				      "%s{\"status\":\"%s\",\"wait_status\":%d,\"processes\":%u}",
				      j ? "," : "", st, g->exit_status[j], g->exit_n[j]);
		}
		ct_buf_printf(b, "],\"exits_other\":%u", g->exits_other);
	}
}

static void json_processes(struct ct_buf *b, struct report *r, const struct derived *d)
{
	const struct dest *dests = (const struct dest *)r->tl->dests.items;
	ct_buf_printf(b, ",\"processes_total\":%zu,\"processes\":[", d->ngroups);
	size_t n = rp_limit(r, d->ngroups);
	for (size_t i = 0; i < n; i++) {
		const struct proc_group *g = &d->groups[i];
		ct_buf_puts(b, i ? ",{" : "{");
		json_group_key(b, r, g);
		if (r->group_by != G_HOST)
			json_host(b, r, g->k.host);
		ct_buf_printf(b,
			      ",\"count\":%llu,\"pids\":%u,\"failed\":%llu,\"top_destinations\":[",
			      (unsigned long long)g->count, g->pids, (unsigned long long)g->failed);
		size_t nt = g->ntop < 5 ? g->ntop : 5;
		for (size_t j = 0; j < nt; j++) {
			ct_buf_puts(b, j ? ",{" : "{");
			json_dest_fields(b, &dests[g->top[j]].k);
			ct_buf_printf(b, ",\"count\":%llu}", (unsigned long long)g->top_count[j]);
		}
		ct_buf_puts(b, "]");
		json_group_notes(b, g);
		ct_buf_puts(b, "}");
	}
	ct_buf_put(b, "]", 1);
}

static void json_ports(struct ct_buf *b, const struct report *r, const struct derived *d)
{
	ct_buf_printf(b, ",\"ports_total\":%zu,\"ports\":[", d->nports);
	size_t n = rp_limit(r, d->nports);
	for (size_t i = 0; i < n; i++) {
		const struct port_group *p = &d->ports[i];
		const char *proto = ct_proto_short(p->proto);
		ct_buf_puts(b, i ? ",{" : "{");
		if (proto)
			ct_buf_printf(b, "\"proto\":\"%s\"", proto);
		else
			ct_buf_printf(b, "\"proto\":%u", p->proto);
		ct_buf_printf(b, ",\"port\":%u,\"count\":%llu,\"destinations\":%u,\"failed\":%llu}",
			      p->port, (unsigned long long)p->count, p->dests,
			      (unsigned long long)p->failed);
	}
	ct_buf_put(b, "]", 1);
}

static void json_families(struct ct_buf *b, struct report *r)
{
	int first = 1;
	ct_buf_puts(b, ",\"families\":{");
	for (unsigned fam = rp_next_family(r, 0); fam < 65536; fam = rp_next_family(r, fam + 1))
		if (r->tl->families[fam])
			json_count(b, &first, ct_family_name((uint16_t)fam), (long)fam,
				   r->tl->families[fam]);
	ct_buf_put(b, "}", 1);
}

static void json_results(struct ct_buf *b, const struct report *r)
{
	int first = 1;
	ct_buf_puts(b, ",\"results\":{");
	for (int o = 0; o < O_N; o++)
		ct_buf_printf(b, "%s\"%s\":%llu", o ? "," : "", rp_outcome_names[o],
			      (unsigned long long)r->tl->outcome[o]);
	ct_buf_puts(b, "},\"errors\":{");
	for (int e = 1; e < 4096; e++)
		if (r->tl->errnos[e])
			json_count(b, &first, ct_errno_name(e), -(long)e, r->tl->errnos[e]);
	ct_buf_put(b, "}", 1);
}

static void json_rate(struct ct_buf *b, struct report *r)
{
	uint64_t cols[64], width;
	size_t n = rp_fold_rate(r, cols, 64, &width);
	ct_buf_printf(b, ",\"rate\":{\"interval_ns\":%llu,\"counts\":[", (unsigned long long)width);
	for (size_t i = 0; i < n; i++)
		ct_buf_printf(b, "%s%llu", i ? "," : "", (unsigned long long)cols[i]);
	ct_buf_puts(b, "]}");
}

void rp_print_json(struct report *r, struct derived *d, FILE *f)
{
	struct ct_buf b = {0};
	struct ct_reader_stats st;
	const char *by = r->by;

	ct_session_stats(r->s, &st);
	json_head(&b, r, &st);
	if (!by || !strcmp(by, "dest"))
		json_dests(&b, r, d);
	if (!by || !strcmp(by, "process"))
		json_processes(&b, r, d);
	if (!by || !strcmp(by, "port"))
		json_ports(&b, r, d);
	if (!by || !strcmp(by, "family"))
		json_families(&b, r);
	if (!by || !strcmp(by, "result"))
		json_results(&b, r);
	if (!by || !strcmp(by, "name"))
		rp_names_json(&b);
	if (!by)
		json_rate(&b, r);
	ct_buf_puts(&b, "}\n");
	fwrite(b.p, 1, b.len, f);
	ct_buf_free(&b);
}
