/* SPDX-License-Identifier: MIT */
/* text.c: the report as text: one screen a responder can read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/report/report.h"
#include "export/eventfmt.h"
#include "lib/names.h"
#include "lib/text.h"

const char *rp_host_name(struct report *r, uint16_t host)
{
	for (unsigned i = 0; i < ct_session_ninputs(r->s); i++) {
		const struct ct_input *in = ct_session_input(r->s, i);
		if (in->host_index == host)
			return in->hdr->hostname && in->hdr->hostname[0] ? in->hdr->hostname : "?";
	}
	return "?";
}

/* A host name for the text report: escaped, cut at 64 bytes. */
static const char *host_text(struct report *r, uint16_t host, char *buf, size_t size)
{
	const char *h = rp_host_name(r, host);
	ct_term_str(buf, size, h, strlen(h), 0);
	return buf;
}

void rp_dest_text(char *buf, size_t size, const struct dest_key *k)
{
	struct ct_dest d = {.family = k->family, .dport = k->dport};
	struct ct_event ev = {.dest = &d};
	if (k->family == 1) {
		d.path = (const char *)k->addr;
		d.path_len = k->path_len;
		if (k->abstract)
			ev.flags |= CT_EV_ABSTRACT;
	} else {
		memcpy(d.daddr, k->addr, 16);
		ev.dname = rp_names_of(k);
	}
	ct_fmt_dest(buf, size, &ev);
}

static void short_time(char *buf, size_t size, int64_t wall)
{
	char full[48];
	ct_fmt_rfc3339(full, sizeof(full), wall);
	/* "2026-11-24T13:05:00.123456789Z" -> "2026-11-24T13:05:00Z" */
	char *dot = strchr(full, '.');
	if (dot)
		memcpy(dot, "Z", 2);
	snprintf(buf, size, "%s", full);
}

static void duration_text(char *buf, size_t size, int64_t ns)
{
	int64_t s = ns / 1000000000;
	if (s >= 86400)
		snprintf(buf, size, "%lldd %lldh %lldm", (long long)(s / 86400),
			 (long long)(s % 86400 / 3600), (long long)(s % 3600 / 60));
	else if (s >= 3600)
		snprintf(buf, size, "%lldh %lldm %llds", (long long)(s / 3600),
			 (long long)(s % 3600 / 60), (long long)(s % 60));
	else if (s >= 60)
		snprintf(buf, size, "%lldm %llds", (long long)(s / 60), (long long)(s % 60));
	else if (ns >= 1000000000)
		snprintf(buf, size, "%.3fs", (double)ns / 1e9);
	else if (ns >= 1000000)
		snprintf(buf, size, "%.1fms", (double)ns / 1e6);
	else if (ns >= 1000)
		snprintf(buf, size, "%.1fus", (double)ns / 1e3);
	else
		snprintf(buf, size, "%lldns", (long long)ns);
}

size_t rp_limit(const struct report *r, size_t n)
{
	return r->top > 0 && (size_t)r->top < n ? (size_t)r->top : n;
}

/* The histogram folded into at most `cols` columns; returns the column width in ns. */
size_t rp_fold_rate(const struct report *r, uint64_t *out, size_t cols, uint64_t *width_ns)
{
	if (!r->events) {
		*width_ns = 0;
		return 0;
	}
	uint64_t used = (((uint64_t)r->last_wall - (uint64_t)r->origin) >> r->shift) + 1;
	if (used > RATE_BUCKETS)
		used = RATE_BUCKETS;
	uint64_t per = (used + cols - 1) / cols;
	size_t n = (size_t)((used + per - 1) / per);
	memset(out, 0, cols * sizeof(*out));
	for (uint64_t i = 0; i < used; i++)
		out[i / per] += r->tl->rate[i];
	*width_ns = per << r->shift;
	return n;
}

static void print_rate(struct report *r, FILE *f)
{
	uint64_t cols[64], width, max = 0;
	size_t n = rp_fold_rate(r, cols, 64, &width);
	if (!n)
		return;
	for (size_t i = 0; i < n; i++)
		if (cols[i] > max)
			max = cols[i];
	char w[32];
	duration_text(w, sizeof(w), (int64_t)width);
	fprintf(f, "\nRate (connects per %s, %zu intervals, max %llu)\n  ", w, n,
		(unsigned long long)max);
	static const char *const bars[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
	static const char ascii[] = " .:-=+*#";
	for (size_t i = 0; i < n; i++) {
		int level = max ? (int)((cols[i] * 7 + max - 1) / max) : 0;
		if (cols[i] && level == 0)
			level = 1;
		if (r->utf8)
			fputs(cols[i] ? bars[level] : " ", f);
		else
			fputc(cols[i] ? ascii[level] : ' ', f);
	}
	fputc('\n', f);
}

static double pct(uint64_t a, uint64_t b)
{
	return b ? 100.0 * (double)a / (double)b : 0.0;
}

static void print_header(struct report *r, FILE *f)
{
	struct ct_reader_stats st;
	char a[48], b[48], dur[48];

	ct_session_stats(r->s, &st);
	for (unsigned i = 0; i < ct_session_ninputs(r->s); i++) {
		const struct ct_input *in = ct_session_input(r->s, i);
		const struct ct_header *h = in->hdr;
		/* the file's own strings, escaped for the terminal */
		struct ct_buf line = {0};
		ct_buf_printf(&line, "%-9s ", i ? "" : "trace");
		ct_buf_term_str(&line, in->path);
		ct_buf_puts(&line, ": host ");
		ct_buf_term_str(&line, h->hostname ? h->hostname : "?");
		ct_buf_puts(&line, ", kernel ");
		ct_buf_term_str(&line, h->kernel ? h->kernel : "?");
		ct_buf_puts(&line, ", backend ");
		ct_buf_term_str(&line, h->backend ? h->backend : "?");
		ct_buf_printf(&line, "%s\n",
			      st.index_present	  ? ""
			      : st.index_rejected ? " (index not believed: scanned)"
						  : " (no index: scanned)");
		fwrite(line.p, 1, line.len, f);
		ct_buf_free(&line);
	}
	int64_t since, until;
	if (ct_session_window(r->s, &since, &until)) {
		short_time(a, sizeof(a), since);
		short_time(b, sizeof(b), until);
		fprintf(f, "%-9s %s .. %s (--since/--until, UTC)\n", "window",
			since == INT64_MIN ? "start" : a, until == INT64_MAX ? "end" : b);
	}
	if (r->events) {
		short_time(a, sizeof(a), r->first_wall);
		short_time(b, sizeof(b), r->last_wall);
		int64_t span;
		if (ct_wall_bad(r->first_wall) || ct_wall_bad(r->last_wall) ||
		    __builtin_sub_overflow(r->last_wall, r->first_wall, &span))
			snprintf(dur, sizeof(dur), "span unknown: times out of range");
		else
			duration_text(dur, sizeof(dur), span);
		fprintf(f, "%-9s %s .. %s (%s)\n", "span", a, b, dur);
	}
	fprintf(f, "%-9s %llu", "events", (unsigned long long)r->events);
	if (st.events != r->events)
		fprintf(f, " matching (of %llu read)", (unsigned long long)st.events);
	fputc('\n', f);
	if (r->lost) {
		short_time(a, sizeof(a), r->lost_first);
		short_time(b, sizeof(b), r->lost_last);
		fprintf(f, "%-9s %llu events lost (%llu report%s, %s .. %s)\n", "LOST",
			(unsigned long long)r->lost, (unsigned long long)r->lost_records,
			r->lost_records == 1 ? "" : "s", a, b);
	} else {
		fprintf(f, "%-9s 0\n", "lost");
	}
	if (r->lost_names)
		fprintf(f, "%-9s %llu DNS packets lost: some connects may miss their name\n",
			"LOST", (unsigned long long)r->lost_names);
	if (r->lost_procs)
		fprintf(f,
			"%-9s %llu process records lost: exe, command line or exit status may be "
			"missing\n",
			"LOST", (unsigned long long)r->lost_procs);
	if (r->lost_outcomes)
		fprintf(f, "%-9s %llu outcome records lost: those connects read unknown\n", "LOST",
			(unsigned long long)r->lost_outcomes);
	fprintf(f, "%-9s %u event chunks: %u read, %u skipped", "chunks", st.event_chunks,
		st.chunks_read, st.chunks_skipped);
	if (st.chunks_damaged)
		fprintf(f, ", %u DAMAGED", st.chunks_damaged);
	fputc('\n', f);
}

static void print_dests(struct report *r, struct derived *d, FILE *f, int wide)
{
	struct dest *dests = (struct dest *)r->tl->dests.items;
	size_t n = rp_limit(r, d->ndests);
	char text[4 * CT_UNIX_PATH_MAX + 16], a[48], b[48];

	int bytes = r->sort == SORT_BYTES;
	fprintf(f, "\nTop destinations (%zu of %zu%s)\n", n, d->ndests,
		bytes			 ? ", by bytes"
		: r->sort == SORT_FAILED ? ", by failures"
					 : "");
	fprintf(f, "  %10s %6s  %-*s %5s %9s  ", "CONNECTS", "%", wide ? 44 : 30, "DESTINATION",
		"PROGS", "FAILED");
	if (bytes)
		fprintf(f, "%12s %12s  ", "TX", "RX");
	fprintf(f, "%s\n", wide ? "FIRST                 LAST" : "LAST");
	for (size_t i = 0; i < n; i++) {
		const struct dest *dd = &dests[d->dest_order[i]];
		rp_dest_text(text, sizeof(text), &dd->k);
		if (r->multi_host) {
			char tmp[sizeof(text) + 80];
			char hb[65];
			int n = snprintf(tmp, sizeof(tmp), "%s %s",
					 host_text(r, dd->k.host, hb, sizeof(hb)), text);
			if (n > 0)
				snprintf(text, sizeof(text), "%.*s", (int)sizeof(text) - 1, tmp);
		}
		short_time(a, sizeof(a), dd->first);
		short_time(b, sizeof(b), dd->last);
		fprintf(f, "  %10llu %5.1f%%  %-*s %5u %9llu  ", (unsigned long long)dd->count,
			pct(dd->count, r->events), wide ? 44 : 30, text, dd->procs,
			(unsigned long long)dd->failed);
		if (bytes)
			fprintf(f, "%12llu %12llu  ", (unsigned long long)dd->tx,
				(unsigned long long)dd->rx);
		if (wide)
			fprintf(f, "%s  %s\n", a, b);
		else
			fprintf(f, "%s\n", b);
	}
}

/* "cmd: ..." under a process: one line, escaped for the terminal, cut at
 * about CMD_WIDTH bytes with "..." (the JSON has it whole). */
#define CMD_WIDTH 96
static void print_cmdline(FILE *f, const char *cmd, const char *suffix)
{
	size_t len = strlen(cmd);
	struct ct_buf e = {0};
	ct_buf_term(&e, cmd, len, 0);
	ct_buf_put(&e, "", 1);
	if (e.len - 1 > CMD_WIDTH) {
		/* cut between characters, never inside an escape */
		size_t n = ct_term_str(e.p, CMD_WIDTH - 3 + 1, cmd, len, 0);
		memcpy(e.p + n, "...", 4);
	}
	fprintf(f, "  %10s %6s    cmd: %s%s\n", "", "", e.p, suffix);
	ct_buf_free(&e);
}

/* A row's key for --by other than process: "1234 curl /usr/bin/curl",
 * "/usr/bin/curl", "1000", "web1", a command line or a container id. */
static void group_key_text(struct report *r, const struct proc_group *g, struct ct_buf *out)
{
	char hb[65];
	switch (r->group_by) {
	case G_PID:
		ct_buf_printf(out, "%u ", g->k.id);
		ct_buf_term(out, g->k.comm, strnlen(g->k.comm, CT_COMM_LEN), 0);
		ct_buf_puts(out, " ");
		ct_buf_term_str(out, g->k.exe ? g->k.exe : "-");
		break;
	case G_UID:
		ct_buf_printf(out, "%u", g->k.id);
		break;
	case G_HOST:
		ct_buf_puts(out, host_text(r, g->k.host, hb, sizeof(hb)));
		return;
	case G_CONTAINER: /* "ID name=web image=nginx:1 pod=shop/web-7" */
		ct_buf_term_str(out, g->k.exe ? g->k.exe : "-");
		for (int k = 0; k < CT_CTR_N; k++) {
			static const char *const label[] = {" name=", " image=", " pod=", NULL};
			if (!g->ctr[k] || k == CT_CTR_NS)
				continue;
			ct_buf_puts(out, label[k]);
			if (k == CT_CTR_POD && g->ctr[CT_CTR_NS]) {
				ct_buf_term_str(out, g->ctr[CT_CTR_NS]);
				ct_buf_puts(out, "/");
			}
			ct_buf_term_str(out, g->ctr[k]);
		}
		break;
	default: /* exe, cmdline */
		ct_buf_term_str(out, g->k.exe ? g->k.exe : "-");
		break;
	}
	if (r->multi_host) {
		ct_buf_puts(out, " on ");
		ct_buf_puts(out, host_text(r, g->k.host, hb, sizeof(hb)));
	}
}

/* Under a row: its command lines (with their processes when several) and
 * how its processes exited. */
static void print_group_notes(struct report *r, const struct proc_group *g, FILE *f)
{
	if (r->group_by != G_CMDLINE) {
		for (uint32_t j = 0; j < g->ncmds; j++) {
			char n[48];
			snprintf(n, sizeof(n), "  (%llu process%s)",
				 (unsigned long long)g->cmd_n[j], g->cmd_n[j] == 1 ? "" : "es");
			print_cmdline(f, g->cmds[j], g->ncmds_total > 1 ? n : "");
		}
		if (g->ncmds_total > g->ncmds)
			fprintf(f, "  %10s %6s    cmd: ... %u more command lines\n", "", "",
				g->ncmds_total - g->ncmds);
	}
	if (!g->nexits)
		return;
	fprintf(f, "  %10s %6s    exit:", "", "");
	for (uint32_t j = 0; j < g->nexits; j++) {
		char st[64];
		ct_fmt_wait_status(st, sizeof(st), g->exit_status[j]);
		fprintf(f, "%s %s", j ? "," : "", st);
		if (g->exit_n[j] > 1)
			fprintf(f, " (%u)", g->exit_n[j]);
	}
	if (g->exits_other)
		fprintf(f, ", %u other", g->exits_other);
	fputc('\n', f);
}

static void print_procs(struct report *r, struct derived *d, FILE *f, int wide)
{
	static const char *const keys[] = {"EXE", "PID COMM EXE", "EXE",      "COMMAND LINE",
					   "UID", "HOST",	  "CONTAINER"};
	struct dest *dests = (struct dest *)r->tl->dests.items;
	size_t n = rp_limit(r, d->ngroups);
	char text[4 * CT_UNIX_PATH_MAX + 16];
	int prog = r->group_by == G_PROCESS;

	fprintf(f, "\nTop %s (%zu of %zu)\n", prog ? "processes" : r->by_name, n, d->ngroups);
	if (prog)
		fprintf(f, "  %10s %6s  %-16s %5s %9s  %s\n", "CONNECTS", "%", "COMM", "PIDS",
			"FAILED", keys[r->group_by]);
	else
		fprintf(f, "  %10s %6s  %5s %9s  %s\n", "CONNECTS", "%", "PIDS", "FAILED",
			keys[r->group_by]);
	for (size_t i = 0; i < n; i++) {
		const struct proc_group *g = &d->groups[i];
		char comm[CT_TERM_MAX(CT_COMM_LEN)], hb[65];
		struct ct_buf key = {0};
		if (prog) {
			ct_term_str(comm, sizeof(comm), g->k.comm, strnlen(g->k.comm, CT_COMM_LEN),
				    0);
			ct_buf_term_str(&key, g->k.exe ? g->k.exe : "-");
			ct_buf_put(&key, "", 1);
			fprintf(f, "  %10llu %5.1f%%  %-16s %5u %9llu  %s%s%s\n",
				(unsigned long long)g->count, pct(g->count, r->events), comm,
				g->pids, (unsigned long long)g->failed, key.p,
				r->multi_host ? " on " : "",
				r->multi_host ? host_text(r, g->k.host, hb, sizeof(hb)) : "");
		} else {
			group_key_text(r, g, &key);
			ct_buf_put(&key, "", 1);
			fprintf(f, "  %10llu %5.1f%%  %5u %9llu  %s\n",
				(unsigned long long)g->count, pct(g->count, r->events), g->pids,
				(unsigned long long)g->failed, key.p);
		}
		ct_buf_free(&key);
		print_group_notes(r, g, f);
		size_t nt = g->ntop < (wide ? 8u : 3u) ? g->ntop : (wide ? 8u : 3u);
		for (size_t j = 0; j < nt; j++) {
			rp_dest_text(text, sizeof(text), &dests[g->top[j]].k);
			fprintf(f, "  %10s %6s    -> %-44s %llu\n", "", "", text,
				(unsigned long long)g->top_count[j]);
		}
	}
}

static void print_ports(struct report *r, struct derived *d, FILE *f)
{
	size_t n = rp_limit(r, d->nports);
	fprintf(f, "\nPorts (%zu of %zu)\n", n, d->nports);
	fprintf(f, "  %10s %6s  %-12s %6s %9s\n", "CONNECTS", "%", "PORT", "DESTS", "FAILED");
	for (size_t i = 0; i < n; i++) {
		const struct port_group *p = &d->ports[i];
		const char *proto = ct_proto_short(p->proto);
		char name[32];
		if (proto)
			snprintf(name, sizeof(name), "%s/%u", proto, p->port);
		else
			snprintf(name, sizeof(name), "%u/%u", p->proto, p->port);
		fprintf(f, "  %10llu %5.1f%%  %-12s %6u %9llu\n", (unsigned long long)p->count,
			pct(p->count, r->events), name, p->dests, (unsigned long long)p->failed);
	}
}

/* The next family from fam on that was counted, or 65536. */
unsigned rp_next_family(const struct report *r, unsigned fam)
{
	while (fam < 65536) {
		uint64_t w = r->tl->family_seen[fam >> 6] >> (fam & 63);
		if (w)
			return fam + (unsigned)__builtin_ctzll(w);
		fam = (fam | 63) + 1;
	}
	return fam;
}

static void print_families(struct report *r, FILE *f)
{
	fprintf(f, "\nFamilies\n");
	for (unsigned fam = rp_next_family(r, 0); fam < 65536; fam = rp_next_family(r, fam + 1)) {
		if (!r->tl->families[fam])
			continue;
		const char *n = ct_family_name((uint16_t)fam);
		char other[24];
		if (!n) {
			snprintf(other, sizeof(other), "family %u", fam);
			n = other;
		}
		fprintf(f, "  %10llu %5.1f%%  %s\n", (unsigned long long)r->tl->families[fam],
			pct(r->tl->families[fam], r->events), n);
	}
}

static void print_results(struct report *r, FILE *f)
{
	fprintf(f, "\nOutcomes\n");
	for (int o = 0; o < O_N; o++) {
		if (!r->tl->outcome[o] && o != O_OK)
			continue;
		fprintf(f, "  %10llu %5.1f%%  %s", (unsigned long long)r->tl->outcome[o],
			pct(r->tl->outcome[o], r->events), rp_outcome_names[o]);
		if (o == O_OTHER) {
			/* name the errnos behind "other", biggest first, up to 5 */
			int shown[5], ns = 0;
			for (int e = 1; e < 4096; e++) {
				if (!r->tl->errnos[e] || rp_classify(CT_EV_RESULT, -e) != O_OTHER)
					continue;
				int j = ns < 5 ? ns++ : 4;
				if (j == 4 && ns == 5 &&
				    r->tl->errnos[shown[4]] >= r->tl->errnos[e])
					continue;
				shown[j] = e;
				for (;
				     j > 0 && r->tl->errnos[shown[j]] > r->tl->errnos[shown[j - 1]];
				     j--) {
					int t = shown[j];
					shown[j] = shown[j - 1];
					shown[j - 1] = t;
				}
			}
			for (int k = 0; k < ns; k++) {
				const char *name = ct_errno_name(shown[k]);
				fprintf(f, "%s%s %llu", k ? ", " : " (", name ? name : "?",
					(unsigned long long)r->tl->errnos[shown[k]]);
			}
			if (ns)
				fputc(')', f);
		}
		fputc('\n', f);
	}
}

void rp_print_text(struct report *r, struct derived *d, FILE *f)
{
	print_header(r, f);
	const char *by = r->by;
	if (!by || !strcmp(by, "dest"))
		print_dests(r, d, f, by != NULL);
	if (!by || !strcmp(by, "process"))
		print_procs(r, d, f, by != NULL);
	if (!by || !strcmp(by, "port"))
		print_ports(r, d, f);
	if (!by || !strcmp(by, "family"))
		print_families(r, f);
	if (!by || !strcmp(by, "result"))
		print_results(r, f);
	if (!by || !strcmp(by, "name"))
		rp_names_print_text(r, f, by ? r->top : 10);
	if (!by)
		print_rate(r, f);
}
