/* SPDX-License-Identifier: MIT */
/*
 * exits.c: how the processes that connected exited.
 *
 * Exit records are kept as they come, 28 bytes each, and matched to the
 * pids that connected only when the report is derived. Most exits of a
 * trace are of processes no counted event names (all of them, for a query
 * that matches nothing): a hash table of every exit was most of a
 * selective query's page faults, and interning every exit's comm a tenth
 * of its instructions.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd/report/report.h"
#include "lib/util.h"

#define EXIT_BLOCK 4096 /* records a block: 112 KiB, each written once */

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
	for (size_t i = 0; i < r->exit_nblocks; i++)
		free(r->exit_blocks[i]);
	free(r->exit_blocks);
	rp_table_free(&r->exits);
}

void rp_exits_add(struct report *r, uint32_t pid, uint16_t host, int32_t status,
		  const char comm[CT_COMM_LEN])
{
	size_t at = r->exit_n % EXIT_BLOCK;
	if (!at && r->exit_n / EXIT_BLOCK == r->exit_nblocks) {
		r->exit_blocks =
		    ct_xrealloc(r->exit_blocks, (r->exit_nblocks + 1) * sizeof(void *));
		r->exit_blocks[r->exit_nblocks++] =
		    ct_xrealloc(NULL, EXIT_BLOCK * sizeof(struct exit_rec));
	}
	struct exit_rec *e = (struct exit_rec *)r->exit_blocks[r->exit_n / EXIT_BLOCK] + at;
	*e = (struct exit_rec){.pid = pid, .host = host, .status = status};
	memcpy(e->comm, comm, CT_COMM_LEN);
	r->exit_n++;
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
		const struct exit_rec *e =
		    (struct exit_rec *)r->exit_blocks[n / EXIT_BLOCK] + n % EXIT_BLOCK;
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
