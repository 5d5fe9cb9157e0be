/* SPDX-License-Identifier: MIT */
/*
 * pcapng_proc.c: Process Information Blocks, as Wireshark 4.7 reads and
 * writes them (wiretap/pcapng-wireshark-custom.c; the body is the Process
 * Information Block proposed for the pcapng draft, which has no block type
 * of its own yet):
 *
 *   Custom Block, type 0x00000BAD (copyable), PEN 32622 (the Wireshark
 *   Foundation), then a Wireshark entry: entry type 3 (process
 *   information), entry length (the body's bytes, options and their end
 *   included), and the body: the pid (32 bits), then options:
 *     1 opt_comment   "container=<id>" where the process runs in one
 *     2 pib_name      the program's name: exe's last part, else comm
 *     3 pib_path      exe
 *     4 pib_cmdline   the arguments, NUL between them
 *     5 pib_ppid      32 bits
 *     6 pib_uid       32 bits
 *     9 pib_starttime 64 bits, ns since the epoch
 *   The entry is little-endian whatever the section's order (ours is too);
 *   the custom block has no options of its own.
 *
 * A packet names its process by epb_processid_threadid (pid, tid), and
 * Wireshark picks, among the blocks of that pid, the one with the latest
 * pib_starttime not after the packet. So a block is written before the
 * first packet of each process, and again whenever the pid's process is
 * another one (exec, a reused pid, another host's of a merge), stamped with
 * that first packet's time: the trace knows when it saw the process, not
 * when it started, and that time is what tells the blocks of one pid apart.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "export/pcapng_int.h"
#include "export/pcapng_proc.h"

#define BT_CB_COPY 0x00000BADu
#define PEN_WIRESHARK 32622u
#define WS_CB_PROCESS_INFORMATION 3u
#define PIB_NAME 2
#define PIB_PATH 3
#define PIB_CMDLINE 4
#define PIB_PPID 5
#define PIB_UID 6
#define PIB_STARTTIME 9

/* Pids remembered at most; past it the table starts over, which costs
 * only a block written again for a process already described. */
#define PIB_TABLE_MAX (1u << 18)

struct pid_slot {
	uint32_t pid;
	uint32_t used;
	uint64_t what; /* hash of what the pid's last block says */
	/* The event that block was last found right for: while they stay the
	 * same, so does the process, and nothing is hashed. */
	uint64_t serial; /* 0: none */
	uint32_t host, uid;
};

struct ct_pcapng_procs {
	struct pid_slot *slots;
	size_t cap, count; /* cap: a power of two, at least twice count */
};

struct ct_pcapng_procs *ct_pcapng_procs_new(void)
{
	return calloc(1, sizeof(struct ct_pcapng_procs));
}

void ct_pcapng_procs_free(struct ct_pcapng_procs *t)
{
	if (t)
		free(t->slots);
	free(t);
}

static inline uint64_t mix(uint64_t h, uint64_t v)
{
	h = (h ^ v) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 31);
}

static uint64_t mix_str(uint64_t h, const char *s)
{
	for (; s && *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
	return mix(h, 0xff); /* NULL and "" apart from the next string's start */
}

/* What a block for ev says: its options' values (pib_options). */
static uint64_t what_of(const struct ct_event *ev)
{
	const struct ct_procinfo *p = ev->proc;
	char comm[CT_COMM_LEN + 1] = {0};
	uint64_t h = mix(mix(0, ev->task->uid), ev->task->ppid);
	if (p && p->exe && *p->exe) {
		h = mix_str(h, p->exe);
	} else {
		memcpy(comm, ev->task->comm, CT_COMM_LEN);
		h = mix_str(mix(h, 1), comm);
	}
	h = mix_str(h, p ? p->cmdline : NULL);
	return mix_str(h, p ? p->container : NULL);
}

static struct pid_slot *slot_of(struct ct_pcapng_procs *t, uint32_t pid)
{
	size_t j = (size_t)mix(0, pid) & (t->cap - 1);
	while (t->slots[j].used && t->slots[j].pid != pid)
		j = (j + 1) & (t->cap - 1);
	return &t->slots[j];
}

static void grow(struct ct_pcapng_procs *t)
{
	struct pid_slot *old = t->slots;
	size_t n = t->cap;
	t->cap = n ? n * 2 : 1024;
	t->slots = ct_xrealloc(NULL, t->cap * sizeof(*t->slots));
	memset(t->slots, 0, t->cap * sizeof(*t->slots));
	for (size_t i = 0; i < n; i++)
		if (old[i].used)
			*slot_of(t, old[i].pid) = old[i];
	free(old);
}

/* 1 when the last block written for ev's pid does not say what one for ev
 * would (now it does), else 0. The session's process table gives each
 * program a pid runs (snapshot, fork, exec, reused pid) a serial of its
 * own; a process with the same serial, host and uid as the last time is
 * the same one. Otherwise what a block would say decides, so two hosts'
 * alike processes of one pid share a block. */
static int pid_changed(struct ct_pcapng_procs *t, const struct ct_event *ev, unsigned host)
{
	uint32_t pid = ev->task->pid;
	uint64_t serial = ev->proc ? ev->proc->serial : 0;
	if (t->count >= PIB_TABLE_MAX) {
		memset(t->slots, 0, t->cap * sizeof(*t->slots));
		t->count = 0;
	}
	if ((t->count + 1) * 2 > t->cap)
		grow(t);
	struct pid_slot *s = slot_of(t, pid);
	if (s->used && serial && s->serial == serial && s->host == host && s->uid == ev->task->uid)
		return 0;
	uint64_t what = what_of(ev);
	int changed = !s->used || s->what != what;
	if (!s->used)
		t->count++;
	*s = (struct pid_slot){.pid = pid,
			       .used = 1,
			       .what = what,
			       .serial = serial,
			       .host = host,
			       .uid = ev->task->uid};
	return changed;
}

static void pib_options(struct ct_buf *b, const struct ct_event *ev, uint64_t wall_ns)
{
	const struct ct_procinfo *p = ev->proc;
	const char *exe = p && p->exe && *p->exe ? p->exe : NULL;
	struct ct_buf t = {0};

	if (p && p->container && *p->container) {
		ct_buf_puts(&t, "container=");
		ct_buf_term_str(&t, p->container);
		b_opt(b, OPT_COMMENT, t.p, t.len);
	}
	if (exe) {
		const char *slash = strrchr(exe, '/');
		b_opt_str(b, PIB_NAME, slash && slash[1] ? slash + 1 : exe);
		b_opt_str(b, PIB_PATH, exe);
	} else {
		char comm[CT_COMM_LEN + 1] = {0};
		memcpy(comm, ev->task->comm, CT_COMM_LEN); /* NUL-padded, maybe full */
		b_opt_str(b, PIB_NAME, comm);
	}
	if (p && p->cmdline && *p->cmdline) {
		/* The trace keeps the arguments joined by spaces; the option
		 * wants them apart, as /proc/PID/cmdline has them. */
		t.len = 0;
		ct_buf_term_str(&t, p->cmdline);
		for (size_t i = 0; i < t.len; i++)
			if (t.p[i] == ' ')
				t.p[i] = '\0';
		b_opt(b, PIB_CMDLINE, t.p, t.len);
	}
	ct_buf_free(&t);
	b_opt(b, PIB_PPID, &ev->task->ppid, 4);
	b_opt(b, PIB_UID, &ev->task->uid, 4);
	b_opt(b, PIB_STARTTIME, &wall_ns, 8);
	b_opt(b, OPT_END, NULL, 0);
}

int ct_pcapng_pib(struct ct_pcapng_procs *t, struct ct_buf *b, const struct ct_event *ev,
		  unsigned host, uint64_t wall_ns)
{
	if (!pid_changed(t, ev, host))
		return 0;
	size_t at = b_begin(b, BT_CB_COPY);
	b_u32(b, PEN_WIRESHARK);
	b_u32(b, WS_CB_PROCESS_INFORMATION);
	size_t len_at = b->len;
	b_u32(b, 0); /* the entry's length, patched below */
	b_u32(b, ev->task->pid);
	pib_options(b, ev, wall_ns);
	uint32_t elen = (uint32_t)(b->len - len_at - 4);
	memcpy(b->p + len_at, &elen, 4);
	b_close(b, at);
	return 1;
}
