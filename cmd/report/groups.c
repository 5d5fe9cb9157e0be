/* SPDX-License-Identifier: MIT */
/*
 * groups.c: the report's side that follows the trace in order: the program
 * (group) behind each process as the process table names it at the time of
 * its events, the processes and command lines of each program, exit and
 * lost records; and the report's setup.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd/report/report.h"
#include "lib/util.h"

/* Intern exe strings: groups point at one copy each. */
struct str_item {
	uint64_t h;
	char *s;
};

/* ------------------------------------------------------------ setup */

void rp_init(struct report *r)
{
	rp_table_init(&r->strings, sizeof(struct str_item), sizeof(uint64_t));
	rp_table_init(&r->groups, sizeof(struct proc_group), sizeof(struct group_key));
	rp_table_init(&r->pids, sizeof(struct pid_key), sizeof(struct pid_key));
	rp_table_init(&r->cmds, sizeof(struct cmd_item), sizeof(struct cmd_key));
	rp_exits_init(r);
	r->tl = rp_tallies_new(1);
	r->ntl = 1;
}

void rp_free(struct report *r)
{
	rp_pool_stop(r);
	for (unsigned i = 0; i < r->ntl; i++)
		rp_tally_free(&r->tl[i]);
	free(r->tl);
	for (size_t i = 0; i < r->strings.count; i++)
		free(((struct str_item *)rp_table_item(&r->strings, i))->s);
	free(r->pgroup);
	free(r->ptouched);
	rp_table_free(&r->strings);
	rp_table_free(&r->groups);
	rp_table_free(&r->pids);
	rp_table_free(&r->cmds);
	rp_exits_free(r);
	free(r->serials);
	free(r->wall_off);
	free(r->host_of);
}

int rp_on_begin(void *ctx, struct ct_session *s)
{
	struct report *r = ctx;
	unsigned n = ct_session_ninputs(s);
	r->s = s;
	r->multi_host = ct_session_nhosts(s) > 1;
	/* The per-batch lookups of an input's clock offset and host index. */
	r->wall_off = ct_xrealloc(NULL, (n + 1) * sizeof(*r->wall_off));
	r->host_of = ct_xrealloc(NULL, (n + 1) * sizeof(*r->host_of));
	for (unsigned i = 0; i < n; i++) {
		r->wall_off[i] = ct_session_input(s, i)->hdr->wall_offset_ns;
		r->host_of[i] = r->multi_host ? (uint16_t)ct_session_input(s, i)->host_index : 0;
	}
	return rp_pool_start(r, ct_session_jobs(s));
}

/* ---------------------------------------------------------- programs */

static const char *intern(struct report *r, const char *s)
{
	if (!s)
		return NULL;
	/* Key: the hash; a collision check compares the text. */
	uint64_t h = rp_hash_bytes(s, strlen(s));
	for (;;) {
		int created = 0;
		size_t i = rp_table_get(&r->strings, &h, &created);
		struct str_item *it = rp_table_item(&r->strings, i);
		if (created) {
			it->s = strdup(s);
			if (!it->s) {
				ct_err("out of memory");
				exit(CT_EXIT_ERROR);
			}
			return it->s;
		}
		if (!strcmp(it->s, s))
			return it->s;
		h++; /* a true collision: probe the next hash value */
	}
}

/* The group of a process (task t, what the table knows of it) by --by. */
static uint32_t intern_group(struct report *r, uint16_t host, const struct ct_task *t,
			     const struct ct_procinfo *proc)
{
	struct group_key gk;
	memset(&gk, 0, sizeof(gk));
	gk.host = host;
	switch (r->group_by) {
	case G_PID: /* a pid row names its program too */
	case G_PROCESS:
		gk.id = r->group_by == G_PID ? t->pid : 0;
		memcpy(gk.comm, t->comm, CT_COMM_LEN);
		gk.exe = intern(r, proc->exe);
		break;
	case G_EXE:
		gk.exe = intern(r, proc->exe);
		break;
	case G_CMDLINE:
		gk.exe = intern(r, proc->cmdline);
		break;
	case G_UID:
		gk.id = t->uid;
		break;
	case G_CONTAINER:
		gk.exe = intern(r, proc->container);
		break;
	case G_HOST:
		break;
	}
	size_t i = rp_table_get(&r->groups, &gk, NULL);
	if (r->group_by == G_CONTAINER) {
		/* The row shows the names the first process that had them gave. */
		struct proc_group *g = rp_table_item(&r->groups, i);
		for (int k = 0; k < CT_CTR_N; k++)
			if (!g->ctr[k])
				g->ctr[k] = intern(r, proc->ctr[k]);
	}
	return (uint32_t)i;
}

static void cmd_tally(struct report *r, uint32_t group, const char *cmdline)
{
	if (!cmdline)
		return;
	struct cmd_key k = {.group = group, .cmdline = cmdline};
	struct cmd_item *it = rp_table_item(&r->cmds, rp_table_get(&r->cmds, &k, NULL));
	it->procs++;
}

/* First event of a process state (or of a process the table does not
 * know): intern its program, note its pid, remember it by serial. */
static uint32_t slow_group(struct report *r, const struct ct_task *t,
			   const struct ct_procinfo *proc, uint16_t host)
{
	uint32_t group = intern_group(r, host, t, proc);
	struct pid_key pk;
	memset(&pk, 0, sizeof(pk));
	pk.pid = t->pid;
	pk.host = host;
	pk.group = group;
	rp_table_get(&r->pids, &pk, NULL);
	uint64_t sn = proc->serial;
	if (sn && sn < (1ULL << 32)) {
		if (sn >= r->serials_cap) {
			size_t cap = r->serials_cap ? r->serials_cap : 1024;
			while (cap <= sn)
				cap *= 2;
			r->serials = ct_xrealloc(r->serials, cap * sizeof(*r->serials));
			memset(r->serials + r->serials_cap, 0,
			       (cap - r->serials_cap) * sizeof(*r->serials));
			r->serials_cap = cap;
		}
		struct serial_slot *ss = &r->serials[sn];
		/* A state seen again under another comm is not counted twice. */
		if (ss->group1 != group + 1)
			cmd_tally(r, group, intern(r, proc->cmdline));
		ss->group1 = group + 1;
		ss->uid = t->uid;
		memcpy(ss->comm, t->comm, CT_COMM_LEN);
	}
	return group;
}

/* Which program (comm, exe) the process table names at this moment: exe
 * learnt late, exec, pid reuse and expiry all change the serial. */
static uint32_t group_lookup(struct report *r, const struct ct_task *t,
			     const struct ct_procinfo *proc, uint16_t host)
{
	uint64_t sn = proc->serial;
	if (sn) {
		if (sn < r->serials_cap && r->serials[sn].group1 && r->serials[sn].uid == t->uid &&
		    !memcmp(r->serials[sn].comm, t->comm, CT_COMM_LEN))
			return r->serials[sn].group1 - 1;
		return slow_group(r, t, proc, host);
	}
	struct unknown_slot *u = &r->unknown[(t->pid * 0x9e3779b1u) >> 22];
	if (u->used && u->pid == t->pid && u->host == host && u->uid == t->uid &&
	    !memcmp(u->comm, t->comm, CT_COMM_LEN))
		return u->group;
	uint32_t group = slow_group(r, t, proc, host);
	*u = (struct unknown_slot){
	    .pid = t->pid, .host = host, .used = 1, .group = group, .uid = t->uid};
	memcpy(u->comm, t->comm, CT_COMM_LEN);
	return group;
}

uint32_t rp_batch_group(struct report *r, const struct ct_batch *b, uint32_t p, uint16_t host)
{
	static const struct ct_procinfo none;
	r->ptouched[r->nptouched++] = p;
	return r->pgroup[p] =
		   group_lookup(r, &b->tasks[p], b->procinfo ? &b->procinfo[p] : &none, host);
}

/* Exit records: the last status of each (host, pid), given to the groups
 * of the pids that connected at the end (derive.c). */
int rp_on_proc(void *ctx, const struct ct_proc *p, unsigned input)
{
	struct report *r = ctx;
	if (p->kind != CT_PROC_EXIT)
		return 0;
	rp_exits_add(r, p->task.pid, (uint16_t)r->host_of[input], p->exit_code, p->task.comm);
	return 0;
}

int rp_on_lost(void *ctx, const struct ct_lost *l, unsigned input)
{
	struct report *r = ctx;
	if (l->kind == CT_LOST_NAMES) {
		r->lost_names += l->count;
		return 0;
	}
	if (l->kind == CT_LOST_OUTCOMES || l->kind == CT_LOST_PROCS) {
		*(l->kind == CT_LOST_PROCS ? &r->lost_procs : &r->lost_outcomes) += l->count;
		return 0;
	}
	int64_t wall = ct_session_wall_ns(r->s, input, l->ts_ns);
	if (!r->lost_records || wall < r->lost_first)
		r->lost_first = wall;
	if (!r->lost_records || wall > r->lost_last)
		r->lost_last = wall;
	r->lost_records++;
	r->lost += l->count;
	return 0;
}
