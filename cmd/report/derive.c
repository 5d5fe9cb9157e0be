/* SPDX-License-Identifier: MIT */
/* derive.c: what was counted, ordered: destinations, programs, ports. */
#include <stdlib.h>

#include "cmd/report/report.h"
#include "lib/util.h"

static int cmp_u64_desc(uint64_t a, uint64_t b)
{
	return a < b ? 1 : a > b ? -1 : 0;
}

static struct dest *g_dests;

/* Destinations by count, largest first; ties by first connect, then key. */
static int dest_cmp(const struct dest *x, uint64_t cx, const struct dest *y, uint64_t cy)
{
	int c = cmp_u64_desc(cx, cy);
	if (c)
		return c;
	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return memcmp(&x->k, &y->k, sizeof(x->k));
}

static int dest_by_count(const void *a, const void *b)
{
	const struct dest *x = &g_dests[*(const uint32_t *)a];
	const struct dest *y = &g_dests[*(const uint32_t *)b];
	return dest_cmp(x, x->count, y, y->count);
}

static int dest_by_failed(const void *a, const void *b)
{
	const struct dest *x = &g_dests[*(const uint32_t *)a];
	const struct dest *y = &g_dests[*(const uint32_t *)b];
	int c = cmp_u64_desc(x->failed, y->failed);
	return c ? c : dest_cmp(x, x->count, y, y->count);
}

static int dest_by_bytes(const void *a, const void *b)
{
	const struct dest *x = &g_dests[*(const uint32_t *)a];
	const struct dest *y = &g_dests[*(const uint32_t *)b];
	int c = cmp_u64_desc(x->tx + x->rx, y->tx + y->rx);
	return c ? c : dest_cmp(x, x->count, y, y->count);
}

static int group_by_count(const void *a, const void *b)
{
	const struct proc_group *x = a, *y = b;
	int c = cmp_u64_desc(x->count, y->count);
	if (!c)
		c = memcmp(x->k.comm, y->k.comm, CT_COMM_LEN);
	if (!c)
		c = x->k.id < y->k.id ? -1 : x->k.id > y->k.id;
	if (!c && x->k.exe != y->k.exe)
		c = !x->k.exe ? 1 : !y->k.exe ? -1 : strcmp(x->k.exe, y->k.exe);
	return c;
}

/* Keep the n largest (key, count) pairs in place, largest first; a tie
 * keeps the first offered. */
static void top_offer(const void **keys, uint64_t *counts, uint32_t *n, uint32_t max,
		      const void *key, uint64_t count)
{
	uint32_t i = *n;
	if (i == max) {
		if (count <= counts[max - 1])
			return;
		i = max - 1;
	} else {
		(*n)++;
	}
	while (i > 0 && counts[i - 1] < count) {
		keys[i] = keys[i - 1];
		counts[i] = counts[i - 1];
		i--;
	}
	keys[i] = key;
	counts[i] = count;
}

/* Each group's command lines (most processes first) and, from the exit
 * records of its pids, how they exited. */
static void groups_cmds_exits(struct report *r, struct proc_group *groups)
{
	for (size_t i = 0; i < r->cmds.count; i++) {
		const struct cmd_item *it = rp_table_item(&r->cmds, i);
		struct proc_group *g = &groups[it->k.group];
		g->ncmds_total++;
		top_offer((const void **)g->cmds, g->cmd_n, &g->ncmds, GROUP_CMDS, it->k.cmdline,
			  it->procs);
	}
	rp_exits_resolve(r);
	for (size_t i = 0; i < r->pids.count; i++) {
		const struct pid_key *pk = rp_table_item(&r->pids, i);
		struct exit_item k = {.pid = pk->pid, .host = pk->host};
		struct proc_group *g = &groups[pk->group];
		const struct exit_item *e = rp_table_item(&r->exits, rp_table_find(&r->exits, &k));
		/* A pid that ran several programs exited as the one its exit
		 * record names. */
		if (!e->known || (g->k.comm[0] && memcmp(g->k.comm, e->comm, CT_COMM_LEN)))
			continue;
		uint32_t j = 0;
		while (j < g->nexits && g->exit_status[j] != e->status)
			j++;
		if (j == g->nexits) {
			if (j == GROUP_EXITS) {
				g->exits_other++;
				continue;
			}
			g->exit_status[g->nexits++] = e->status;
		}
		g->exit_n[j]++;
		for (; j > 0 && g->exit_n[j - 1] < g->exit_n[j]; j--) {
			int32_t ts = g->exit_status[j];
			uint32_t tn = g->exit_n[j];
			g->exit_status[j] = g->exit_status[j - 1];
			g->exit_n[j] = g->exit_n[j - 1];
			g->exit_status[j - 1] = ts;
			g->exit_n[j - 1] = tn;
		}
	}
}

static int port_by_count(const void *a, const void *b)
{
	const struct port_group *x = a, *y = b;
	int c = cmp_u64_desc(x->count, y->count);
	if (c)
		return c;
	return x->port != y->port ? (x->port < y->port ? -1 : 1) : (x->proto < y->proto ? -1 : 1);
}

/* Keep the top 8 destinations of a group, biggest first, ties as dest_cmp. */
static int top_before(const struct dest *dests, uint32_t a, uint64_t ca, uint32_t b, uint64_t cb)
{
	return dest_cmp(&dests[a], ca, &dests[b], cb) < 0;
}

static void group_offer(struct proc_group *g, const struct dest *dests, uint32_t dest,
			uint64_t count)
{
	size_t n = g->ntop, j;
	if (n == 8) {
		if (!top_before(dests, dest, count, g->top[7], g->top_count[7]))
			return;
		n = 7;
	}
	for (j = n; j > 0 && top_before(dests, dest, count, g->top[j - 1], g->top_count[j - 1]);
	     j--) {
		g->top[j] = g->top[j - 1];
		g->top_count[j] = g->top_count[j - 1];
	}
	g->top[j] = dest;
	g->top_count[j] = count;
	g->ntop = (uint32_t)n + 1;
}

void rp_derive(struct report *r, struct derived *d)
{
	size_t nd = r->tl->dests.count, ng = r->groups.count;
	struct dest *dests = (struct dest *)r->tl->dests.items;
	struct proc_group *groups = (struct proc_group *)r->groups.items;

	for (size_t i = 0; i < nd; i++) {
		dests[i].count = r->tl->dstat[i].count;
		dests[i].failed = r->tl->dstat[i].failed;
		dests[i].first = r->tl->dstat[i].first;
		dests[i].last = r->tl->dstat[i].last;
		dests[i].tx = r->tl->dbytes[i][0];
		dests[i].rx = r->tl->dbytes[i][1];
	}
	/* Top destinations per program (first and count of each destination
	 * are final now: ties are ordered by them). */
	for (size_t i = 0; i < r->tl->pairs_cap; i++) {
		const struct pair *p = &r->tl->pairs[i];
		if (!p->key)
			continue;
		uint32_t group = (uint32_t)(p->key >> 32) - 1, dest = (uint32_t)p->key;
		dests[dest].procs++;
		group_offer(&groups[group], dests, dest, p->count);
	}
	for (size_t i = 0; i < r->pids.count; i++)
		groups[((struct pid_key *)rp_table_item(&r->pids, i))->group].pids++;
	/* Command lines: the most processes win; a tie keeps the first seen. */
	groups_cmds_exits(r, groups);
	for (size_t i = 0; i < ng; i++) {
		groups[i].cmdline = groups[i].ncmds ? groups[i].cmds[0] : NULL;
		groups[i].cmd_procs = groups[i].ncmds ? groups[i].cmd_n[0] : 0;
	}

	d->ndests = nd;
	d->dest_order = ct_xrealloc(NULL, (nd + 1) * sizeof(uint32_t));
	for (size_t i = 0; i < nd; i++)
		d->dest_order[i] = (uint32_t)i;
	g_dests = dests;
	qsort(d->dest_order, nd, sizeof(uint32_t),
	      r->sort == SORT_BYTES    ? dest_by_bytes
	      : r->sort == SORT_FAILED ? dest_by_failed
				       : dest_by_count);

	/* Groups that only held combos later regrouped (exe learnt) are empty. */
	d->groups = ct_xrealloc(NULL, (ng + 1) * sizeof(*d->groups));
	d->ngroups = 0;
	for (size_t i = 0; i < ng; i++)
		if (groups[i].count)
			d->groups[d->ngroups++] = groups[i];
	qsort(d->groups, d->ngroups, sizeof(*d->groups), group_by_count);

	/* Ports: inet destinations by (proto, dport). */
	struct table pt;
	rp_table_init(&pt, sizeof(struct port_group), 4);
	for (size_t i = 0; i < nd; i++) {
		const struct dest *dd = &dests[i];
		if (dd->k.family != 2 && dd->k.family != 10)
			continue;
		uint16_t key[2] = {dd->k.proto, dd->k.dport};
		struct port_group *p = rp_table_item(&pt, rp_table_get(&pt, key, NULL));
		p->count += dd->count;
		p->failed += dd->failed;
		p->dests++;
	}
	d->nports = pt.count;
	d->ports = ct_xrealloc(NULL, (pt.count + 1) * sizeof(*d->ports));
	if (pt.count)
		memcpy(d->ports, pt.items, pt.count * sizeof(*d->ports));
	qsort(d->ports, d->nports, sizeof(*d->ports), port_by_count);
	rp_table_free(&pt);
}

void rp_derived_free(struct derived *d)
{
	free(d->dest_order);
	free(d->groups);
	free(d->ports);
}
