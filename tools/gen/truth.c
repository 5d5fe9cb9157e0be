/* SPDX-License-Identifier: MIT */
/*
 * truth.c: conntrail-gen's count of what it wrote (events by family,
 * result, destination, program and pid; lost and process records; closes
 * and bytes) and the JSON "truth" the tests compare the readers' numbers
 * with.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "export/eventfmt.h"
#include "lib/names.h"
#include "lib/util.h"
#include "tools/gen/gen.h"

const int result_errs[NRESULTS] = {0, -115, -111, -110, -13, -2, -101, -99, -113};

void truth_pid(struct truth *t, uint32_t pid)
{
	uint32_t i = pid - t->pid_base;
	if (i >= t->pid_cap) {
		uint32_t cap = t->pid_cap ? t->pid_cap : 4096;
		while (cap <= i)
			cap *= 2;
		t->pid = ct_xrealloc(t->pid, cap * sizeof(*t->pid));
		memset(t->pid + t->pid_cap, 0, (cap - t->pid_cap) * sizeof(*t->pid));
		t->pid_cap = cap;
	}
	t->pid[i]++;
}

static void json_kv_u64(FILE *f, const char *k, uint64_t v, int *first)
{
	fprintf(f, "%s\"%s\":%llu", *first ? "" : ",", k, (unsigned long long)v);
	*first = 0;
}

struct named_ {
	char *name;
	uint64_t n;
};
static int cmp_named(const void *a, const void *b)
{
	const char *x = ((const struct named_ *)a)->name, *y = ((const struct named_ *)b)->name;
	return strcmp(x ? x : "", y ? y : "");
}

int truth_write(const char *path, const struct truth *t, const struct dest *d, uint32_t nd,
		int storm, const struct ct_header *h)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	char a[64], b[64];
	ct_fmt_rfc3339(a, sizeof(a), (int64_t)t->first_ts + h->wall_offset_ns);
	ct_fmt_rfc3339(b, sizeof(b), (int64_t)t->last_ts + h->wall_offset_ns);
	fprintf(f, "{\"events\":%llu,\"lost\":%llu,\"lost_records\":%llu,\"procs\":%llu,",
		(unsigned long long)t->events, (unsigned long long)t->lost,
		(unsigned long long)t->lost_records, (unsigned long long)t->procs);
	fprintf(f,
		"\"first_ts_ns\":%llu,\"last_ts_ns\":%llu,\"first_ts\":\"%s\",\"last_ts\":\"%s\",",
		(unsigned long long)t->first_ts, (unsigned long long)t->last_ts, a, b);
	fprintf(f, "\"wall_offset_ns\":%lld,", (long long)h->wall_offset_ns);
	int first = 1;
	fprintf(f, "\"family\":{");
	const char *fam[4] = {"AF_INET", "AF_INET6", "AF_UNIX", "other"};
	for (int i = 0; i < 4; i++)
		json_kv_u64(f, fam[i], t->fam[i], &first);
	fprintf(f, "},\"ret\":{");
	first = 1;
	for (int i = 0; i < NRESULTS; i++) {
		const char *name = result_errs[i] ? ct_errno_name(result_errs[i]) : "ok";
		json_kv_u64(f, name ? name : "?", t->ret[i], &first);
	}
	fprintf(f, "},\"result\":{");
	first = 1;
	for (int i = 0; i < NRESULTS + 2; i++) {
		const char *name = i == R_ABANDONED ? "abandoned"
				   : i == R_UNKNOWN ? "unknown"
				   : result_errs[i] ? ct_errno_name(result_errs[i])
						    : "ok";
		json_kv_u64(f, name ? name : "?", t->result[i], &first);
	}
	fprintf(f, "},\"closed\":%llu,\"still_open\":%llu,\"tx_bytes\":%llu,\"rx_bytes\":%llu",
		(unsigned long long)t->closed, (unsigned long long)t->open,
		(unsigned long long)t->tx, (unsigned long long)t->rx);

	/* Destinations that print the same (a path used with two socket types)
	 * are one key: sort the printed names and add up equal neighbours. */
	struct named_ *nv = calloc(nd, sizeof(*nv));
	uint32_t nn = 0;
	for (uint32_t i = 0; i < nd && nv; i++) {
		if (!t->dest[i])
			continue;
		struct ct_dest cd = d[i].cd;
		cd.path = d[i].path;
		cd.scope_id = 0; /* report's destinations leave the scope out */
		struct ct_event ev = {.dest = &cd, .flags = d[i].abstract ? CT_EV_ABSTRACT : 0};
		char buf[512];
		ct_fmt_dest(buf, sizeof(buf), &ev);
		nv[nn].name = strdup(buf);
		nv[nn++].n = t->dest[i];
	}
	if (nv)
		qsort(nv, nn, sizeof(*nv), cmp_named);
	fprintf(f, ",\"dest\":{");
	first = 1;
	for (uint32_t i = 0; i < nn; i++) {
		uint64_t n = nv[i].n;
		while (i + 1 < nn && !strcmp(nv[i].name, nv[i + 1].name))
			n += nv[++i].n;
		struct ct_buf jb = {0};
		ct_buf_json_str(&jb, nv[i].name, strlen(nv[i].name));
		fprintf(f, "%s%.*s:%llu", first ? "" : ",", (int)jb.len, jb.p,
			(unsigned long long)n);
		ct_buf_free(&jb);
		first = 0;
	}
	for (uint32_t i = 0; i < nn; i++)
		free(nv[i].name);
	free(nv);
	fprintf(f, "},\"comm\":{");
	first = 1;
	for (uint32_t i = 0; i < (storm ? 1 : nprogs); i++)
		if (t->prog[i])
			json_kv_u64(f, storm ? "stormer" : progs[i].comm, t->prog[i], &first);
	fprintf(f, "},\"pid\":{");
	first = 1;
	for (uint32_t i = 0; i < t->pid_cap; i++) {
		if (!t->pid[i])
			continue;
		char k[16];
		snprintf(k, sizeof(k), "%u", t->pid_base + i);
		json_kv_u64(f, k, t->pid[i], &first);
	}
	fprintf(f, "}}\n");
	return fclose(f) ? -1 : 0;
}

int truth_result_slot(int32_t v)
{
	for (int i = 0; i < NRESULTS; i++)
		if (result_errs[i] == v)
			return i;
	return R_UNKNOWN;
}

void truth_event(struct truth *t, const struct ct_event *ev)
{
	t->events++;
	if (!t->first_ts || ev->ts_ns < t->first_ts)
		t->first_ts = ev->ts_ns;
	if (ev->ts_ns > t->last_ts)
		t->last_ts = ev->ts_ns;
	t->fam[ev->dest->family == AF_INET    ? 0
	       : ev->dest->family == AF_INET6 ? 1
	       : ev->dest->family == AF_UNIX  ? 2
					      : 3]++;
	int k = truth_result_slot(ev->ret);
	if (k < NRESULTS)
		t->ret[k]++;
	/* The final outcome, when connect(2) returned it (else when the
	 * handshake ends: see settle). */
	if (!(ev->flags & CT_EV_TRACKED) || ev->ret != -115)
		t->result[k]++;
}
