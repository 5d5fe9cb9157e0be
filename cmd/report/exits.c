/* SPDX-License-Identifier: MIT */
/*
 * exits.c: how the processes that connected exited.
 *
 * Exit records are kept as they come, 28 bytes each, and matched to the
 * pids that connected only when the report is derived. Most exits of a
 * trace are of processes no counted event names (all of them, for a query
 * that matches nothing): a hash table of every exit was most of a
 * selective query's page faults, and interning every exit's comm a tenth
 * of its instructions. The array grows in huge pages (rp_table_grow):
 * in 4 KiB pages its faults were a twentieth of such a query.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd/report/report.h"
#include "lib/util.h"

struct exit_rec {
	uint32_t pid;
	uint16_t host;
	uint16_t pad;
	int32_t status;
	char comm[CT_COMM_LEN];
};

void rp_exits_init(struct report *r)
{
	rp_table_init(&r->exits, sizeof(struct exit_item), 6); /* pid, host */
}

void rp_exits_free(struct report *r)
{
	rp_table_release(r->exit_recs, r->exit_cap * sizeof(*r->exit_recs));
	rp_table_free(&r->exits);
}

void rp_exits_add(struct report *r, uint32_t pid, uint16_t host, int32_t status,
		  const char comm[CT_COMM_LEN])
{
	if (r->exit_n == r->exit_cap) {
		/* A few in the heap; past them, straight to huge pages. */
		enum { FEW = 1024, MANY = (512u << 10) / sizeof(struct exit_rec) + 1 };
		size_t cap = !r->exit_cap ? FEW : r->exit_cap < MANY ? MANY : r->exit_cap * 2;
		r->exit_recs = rp_table_grow(r->exit_recs, r->exit_cap * sizeof(*r->exit_recs),
					     cap * sizeof(*r->exit_recs));
		r->exit_cap = cap;
	}
	struct exit_rec *e = &r->exit_recs[r->exit_n++];
	*e = (struct exit_rec){.pid = pid, .host = host, .status = status};
	memcpy(e->comm, comm, CT_COMM_LEN);
}

/* r->exits: one item per (host, pid) that connected, with its last exit
 * record (known) if the trace has one. */
void rp_exits_resolve(struct report *r)
{
	for (size_t i = 0; i < r->pids.count; i++) {
		const struct pid_key *pk = rp_table_item(&r->pids, i);
		struct exit_item k = {.pid = pk->pid, .host = pk->host};
		rp_table_get(&r->exits, &k, NULL);
	}
	for (size_t n = 0; n < r->exit_n; n++) {
		const struct exit_rec *e = &r->exit_recs[n];
		struct exit_item k = {.pid = e->pid, .host = e->host};
		size_t at = rp_table_find(&r->exits, &k);
		if (at == SIZE_MAX)
			continue;
		struct exit_item *x = rp_table_item(&r->exits, at);
		x->known = 1;
		x->status = e->status;
		memcpy(x->comm, e->comm, CT_COMM_LEN);
	}
}
