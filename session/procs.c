/* SPDX-License-Identifier: MIT */
/*
 * procs.c: the session's process table, built from process records: what
 * each (host, pid) runs (exe, command line, container and its names) as of the events
 * being read. Exited processes linger a while, then go, so memory follows
 * the live processes rather than every process a trace ever saw.
 */
#include <stdlib.h>
#include <string.h>

#include "format/oatab.h"
#include "session/procs.h"

/* Exited processes stay in the table this long (trace time), so events
 * delivered just after the exit record still find their exe. */
#define PROC_LINGER_NS (10ULL * 1000000000ULL)

/*
 * Memory budget, whatever a file claims (a few KB of zstd can hold
 * thousands of process records with 64 KiB strings): each string is kept
 * to PROC_STR_MAX bytes (cut between UTF-8 characters), the strings of the
 * table to PROC_STR_BUDGET bytes in all, and the table to PROC_MAX
 * processes. Past a limit a process is still known by pid, without the
 * strings (shown as unknown), and ct_procs_dropped() counts them.
 */
#define PROC_STR_MAX 4096
#define PROC_STR_BUDGET (64u << 20)
#define PROC_MAX (1u << 20)

/* The strings of a process record, in this order. */
enum { PS_EXE, PS_CMDLINE, PS_CONTAINER, PS_CTR_NAME, PS_IMAGE, PS_POD, PS_K8S_NS, PS_N };
_Static_assert(PS_K8S_NS - PS_CTR_NAME == CT_CTR_NS, "the names in ct_procinfo's order");

static void proc_strs(const struct ct_proc *p, const char *s[PS_N])
{
	s[PS_EXE] = p->exe;
	s[PS_CMDLINE] = p->cmdline;
	s[PS_CONTAINER] = p->container;
	s[PS_CTR_NAME] = p->container_name;
	s[PS_IMAGE] = p->image;
	s[PS_POD] = p->pod;
	s[PS_K8S_NS] = p->k8s_namespace;
}

struct proc_entry {
	uint32_t pid;
	unsigned host;
	int used;
	int exited;
	uint64_t exit_ts;
	char *str[PS_N]; /* PS_*: exe, cmdline, container and its names */
	uint64_t serial;
	char comm[CT_COMM_LEN];	  /* as of the latest record */
	struct proc_image *older; /* what it ran before its latest execs */
	unsigned nolder;
};

/*
 * A program the process ran before an exec. A reader may apply an exec
 * record before the events of the same flush that came before it (a chunk
 * of events and the meta chunk with the exec cover the same time), so a
 * lookup picks the image by the event's comm, which exec sets: the newest
 * image whose comm matches, else the current one. A few are kept.
 */
#define PROC_IMAGES_KEPT 4
struct proc_image {
	char comm[CT_COMM_LEN];
	char *str[PS_N];
	uint64_t serial;
	struct proc_image *older;
};

/* Keyed by (host, pid). */
struct ct_procs {
	struct ct_oatab tab; /* of struct proc_entry */
	/* FIFO of exited (host, pid, exit_ts) waiting to be dropped. */
	struct exited {
		uint32_t pid;
		unsigned host;
		uint64_t ts;
	} * dead;
	size_t dead_head, dead_len, dead_cap;
	size_t str_bytes;    /* held by entries' strings */
	uint64_t dropped;    /* strings or processes not kept: over budget */
	uint64_t generation; /* bumps when entries move or change */
	uint64_t serials;    /* last ct_proc_info.serial handed out */
};

/* ---------------------------------------------------------- proc table */

static size_t hash_key(uint32_t pid, unsigned host)
{
	uint64_t x = ((uint64_t)host << 32) | pid;
	x *= 0x9e3779b97f4a7c15ULL;
	return (size_t)(x >> 29);
}

static size_t str_size(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static void str_free(struct ct_procs *t, char **s)
{
	if (!*s)
		return; /* most strings of most records: skip free(NULL) */
	t->str_bytes -= str_size(*s);
	free(*s);
	*s = NULL;
}

/* Frees the images from im on (their strings leave the budget). */
static void images_free(struct ct_procs *t, struct proc_image *im)
{
	while (im) {
		struct proc_image *next = im->older;
		for (int i = 0; i < PS_N; i++)
			str_free(t, &im->str[i]);
		free(im);
		im = next;
	}
}

static void entry_free(struct ct_procs *t, struct proc_entry *e)
{
	for (int i = 0; i < PS_N; i++)
		str_free(t, &e->str[i]);
	images_free(t, e->older); /* the slot is emptied by its table */
}

static char *str_copy(struct ct_procs *t, const char *src, int *fail);

/* 1 when string i of an entry outlives a record whose strings are s: the
 * record does not say it, and a container id comes with its names. */
static int str_stays(const char *const s[PS_N], int i)
{
	return !s[i] && !(i > PS_CONTAINER && s[PS_CONTAINER]);
}

/* Before an exec replaces what e runs: keep the old image, at most
 * PROC_IMAGES_KEPT. e keeps copies of the strings that the exec record s
 * does not replace (the container stays). -1 out of memory. */
static int image_push(struct ct_procs *t, struct proc_entry *e, const char *const s[PS_N])
{
	struct proc_image *im = malloc(sizeof(*im));
	int fail = 0;
	if (!im)
		return -1;
	memcpy(im->comm, e->comm, sizeof(im->comm));
	memcpy(im->str, e->str, sizeof(im->str));
	for (int i = 0; i < PS_N; i++)
		e->str[i] = str_stays(s, i) ? str_copy(t, im->str[i], &fail) : NULL;
	im->serial = e->serial;
	im->older = e->older;
	e->older = im;
	if (++e->nolder > PROC_IMAGES_KEPT) {
		struct proc_image *last = e->older;
		for (unsigned i = 1; i < PROC_IMAGES_KEPT; i++)
			last = last->older;
		images_free(t, last->older);
		last->older = NULL;
		e->nolder = PROC_IMAGES_KEPT;
	}
	return fail ? -1 : 0;
}

/* A copy of src within the budget: cut to PROC_STR_MAX bytes, or NULL
 * (counted) when the table's strings are full. *fail on out of memory. */
static char *str_copy(struct ct_procs *t, const char *src, int *fail)
{
	if (!src)
		return NULL;
	size_t n = strnlen(src, PROC_STR_MAX);
	if (n == PROC_STR_MAX) {
		t->dropped++; /* cut: said at the end */
		while (n && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--; /* not inside a UTF-8 sequence */
	}
	if (t->str_bytes + n + 1 > PROC_STR_BUDGET) {
		t->dropped++;
		return NULL;
	}
	char *c = malloc(n + 1);
	if (!c) {
		*fail = 1;
		return NULL;
	}
	memcpy(c, src, n);
	c[n] = '\0';
	t->str_bytes += n + 1;
	return c;
}

static uint64_t entry_hash(const void *slot)
{
	const struct proc_entry *e = slot;
	return hash_key(e->pid, e->host);
}

static int entry_used(const void *slot)
{
	return ((const struct proc_entry *)slot)->used;
}

/* What a lookup gives: not a whole entry to zero on every call. */
struct entry_key {
	uint32_t pid;
	unsigned host;
};

static int entry_eq(const void *slot, const void *key)
{
	const struct proc_entry *e = slot;
	const struct entry_key *k = key;
	return e->pid == k->pid && e->host == k->host;
}

static const struct ct_oatab_ops entry_ops = {
    .size = sizeof(struct proc_entry), .hash = entry_hash, .used = entry_used, .eq = entry_eq};

static struct proc_entry *proc_find(struct ct_procs *t, uint32_t pid, unsigned host)
{
	struct entry_key key = {.pid = pid, .host = host};
	return ct_oatab_find(&t->tab, &entry_ops, hash_key(pid, host), &key);
}

static struct proc_entry *proc_insert(struct ct_procs *t, uint32_t pid, unsigned host, int *full)
{
	struct entry_key key = {.pid = pid, .host = host};
	struct proc_entry *e;
	size_t cap = t->tab.cap;

	if ((e = proc_find(t, pid, host)))
		return e;
	if (t->tab.count >= PROC_MAX) {
		*full = 1;
		return NULL;
	}
	if (ct_oatab_reserve(&t->tab, &entry_ops, 3, 4))
		return NULL;
	if (t->tab.cap != cap)
		t->generation++; /* entries moved */
	e = ct_oatab_probe(&t->tab, &entry_ops, hash_key(pid, host), &key);
	e->pid = pid; /* an empty slot is all zero */
	e->host = host;
	e->used = 1;
	t->tab.count++;
	return e;
}

static void proc_delete(struct ct_procs *t, struct proc_entry *e)
{
	entry_free(t, e);
	ct_oatab_delete(&t->tab, &entry_ops, e);
	t->generation++;
}

static void proc_table_free(struct ct_procs *t)
{
	for (size_t i = 0; i < t->tab.cap; i++) {
		struct proc_entry *e = ct_oatab_at(&t->tab, &entry_ops, i);
		if (e->used)
			entry_free(t, e);
	}
	ct_oatab_free(&t->tab);
	free(t->dead);
	memset(t, 0, sizeof(*t));
}

static int set_str(struct ct_procs *t, char **dst, const char *src)
{
	if (!src)
		return 0;
	int fail = 0;
	str_free(t, dst); /* its bytes are free for the new one */
	*dst = str_copy(t, src, &fail);
	return fail ? -1 : 0;
}

static int dead_push(struct ct_procs *t, uint32_t pid, unsigned host, uint64_t ts)
{
	if (t->dead_len == t->dead_cap) {
		size_t cap = t->dead_cap ? t->dead_cap * 2 : 256;
		struct exited *d = malloc(cap * sizeof(*d));
		if (!d)
			return -1;
		for (size_t i = 0; i < t->dead_len; i++)
			d[i] = t->dead[(t->dead_head + i) % t->dead_cap];
		free(t->dead);
		t->dead = d;
		t->dead_cap = cap;
		t->dead_head = 0;
	}
	t->dead[(t->dead_head + t->dead_len) % t->dead_cap] =
	    (struct exited){.pid = pid, .host = host, .ts = ts};
	t->dead_len++;
	return 0;
}

/* Drop processes that exited more than PROC_LINGER_NS before now, so memory
 * follows the live processes, not every process the trace ever saw. Clocks
 * of different inputs are not comparable, but each host's exits are queued
 * in its own time order and a late drop only costs memory for a while. */
static void proc_expire(struct ct_procs *t, uint64_t now)
{
	while (t->dead_len) {
		struct exited *d = &t->dead[t->dead_head];
		if (d->ts + PROC_LINGER_NS > now)
			break;
		struct proc_entry *e = proc_find(t, d->pid, d->host);
		if (e && e->exited && e->exit_ts == d->ts)
			proc_delete(t, e);
		t->dead_head = (t->dead_head + 1) % t->dead_cap;
		t->dead_len--;
	}
}

int ct_procs_update(struct ct_procs *t, const struct ct_proc *p, unsigned host)
{
	proc_expire(t, p->ts_ns);
	int full = 0;
	struct proc_entry *e = proc_insert(t, p->task.pid, host, &full);
	if (!e) {
		if (!full)
			return -1;
		t->dropped++; /* over PROC_MAX: this process stays unknown */
		return 0;
	}
	if (p->kind == CT_PROC_EXIT) {
		e->exited = 1;
		e->exit_ts = p->ts_ns;
		return dead_push(t, p->task.pid, host, p->ts_ns);
	}
	int fresh = e->exited || p->kind == CT_PROC_FORK;
	if (fresh) {
		/* A reused pid, or a new child: start from a clean entry. */
		char *copy[PS_N] = {0};
		int fail = 0;
		for (int i = 0; i < PS_N; i++)
			str_free(t, &e->str[i]);
		images_free(t, e->older);
		e->older = NULL;
		e->nolder = 0;
		if (p->kind == CT_PROC_FORK) {
			/* A child runs its parent's program until it execs. */
			struct proc_entry *parent = proc_find(t, p->task.ppid, host);
			for (int i = 0; parent && i < PS_N; i++)
				copy[i] = str_copy(t, parent->str[i], &fail);
			e = proc_find(t, p->task.pid, host); /* copies do not move slots */
		}
		memcpy(e->str, copy, sizeof(copy));
		e->exited = 0;
		if (fail)
			return -1;
	}
	const char *s[PS_N];
	proc_strs(p, s);
	if (!fresh && p->kind == CT_PROC_EXEC && e->serial && image_push(t, e, s))
		return -1;
	memcpy(e->comm, p->task.comm, sizeof(e->comm));
	for (int i = 0; i < PS_N; i++) {
		/* A container id comes with its names: none known, none kept. */
		if (i > PS_CONTAINER && s[PS_CONTAINER])
			str_free(t, &e->str[i]);
		if (set_str(t, &e->str[i], s[i]))
			return -1;
	}
	e->serial = ++t->serials;
	t->generation++;
	return 0;
}

uint64_t ct_procs_dropped(const struct ct_procs *t)
{
	return t->dropped;
}

struct ct_procs *ct_procs_new(void)
{
	return calloc(1, sizeof(struct ct_procs));
}

void ct_procs_free(struct ct_procs *t)
{
	if (!t)
		return;
	proc_table_free(t);
	free(t);
}

void ct_procs_lookup(struct ct_procs *t, uint32_t pid, unsigned host, const char *comm,
		     struct ct_procinfo *info)
{
	const struct proc_entry *e = proc_find(t, pid, host);
	char *const none[PS_N] = {0};
	char *const *s = e ? e->str : none;
	uint64_t serial = e ? e->serial : 0;

	/* An event of the program this process ran before an exec. */
	if (e && e->older && strncmp(comm, e->comm, CT_COMM_LEN)) {
		for (const struct proc_image *im = e->older; im; im = im->older) {
			if (!strncmp(comm, im->comm, CT_COMM_LEN)) {
				s = im->str;
				serial = im->serial;
				break;
			}
		}
	}
	info->exe = s[PS_EXE];
	info->cmdline = s[PS_CMDLINE];
	info->container = s[PS_CONTAINER];
	for (int i = 0; i < CT_CTR_N; i++)
		info->ctr[i] = s[PS_CTR_NAME + i];
	info->serial = serial;
}

uint64_t ct_procs_generation(const struct ct_procs *t)
{
	return t->generation;
}
