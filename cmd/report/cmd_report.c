/* SPDX-License-Identifier: MIT */
/*
 * cmd_report.c: `conntrail report`, one screen a responder can read: who
 * connected where, when, how often and how it ended.
 *
 * Per event the hot loop finds the program behind the pid (a memo of the
 * last pid, else a small table), the destination id (a small table keyed
 * by the 24 bytes of an inet destination) and bumps dense counters of both,
 * then one count in an inline (program, destination) pair table. Families,
 * outcomes and the rate histogram are array increments. Memory grows with
 * processes, destinations and their pairs, never with events.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "cli/cli.h"
#include "export/eventfmt.h"
#include "session/session.h"
#include "lib/names.h"

/* ---------------------------------------------------------- hash table */

static uint64_t hash_bytes(const void *p, size_t n)
{
	const uint8_t *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
	while (n >= 8) {
		uint64_t v;
		memcpy(&v, s, 8);
		h = (h ^ v) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
		s += 8;
		n -= 8;
	}
	uint64_t v = 0;
	memcpy(&v, s, n);
	h = (h ^ v) * 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 29;
	return h;
}

/* hash_bytes of a 32-byte key given as words (little-endian hosts; the
 * table only needs it to agree with itself, see inet_grow). */
static inline uint64_t hash_mix(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0xff51afd7ed558ccdULL;
	return h ^ (h >> 32);
}

static inline uint64_t hash_words(uint64_t w0, uint64_t w1, uint64_t w2, uint64_t w3)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ 32;
	h = hash_mix(hash_mix(hash_mix(hash_mix(h, w0), w1), w2), w3);
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 29);
}

/* Open addressing over indexes into a growing array of fixed-size items
 * whose first key_len bytes are the key. A slot holds the upper half of the
 * key's hash and the item index + 1, so a probe touches one slot and only
 * reads an item whose hash half matches: one cache miss per lookup. */
struct table {
	uint64_t *slots; /* hash >> 32 << 32 | (index + 1); 0 empty */
	size_t cap;
	char *items;
	size_t item_size, key_len, count, items_cap;
};

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		ct_err("out of memory");
		exit(CT_EXIT_ERROR);
	}
	return p;
}

static void table_init(struct table *t, size_t item_size, size_t key_len)
{
	memset(t, 0, sizeof(*t));
	t->item_size = item_size;
	t->key_len = key_len;
}

static void *table_item(const struct table *t, size_t i)
{
	return t->items + i * t->item_size;
}

static void table_rehash(struct table *t)
{
	size_t cap = t->cap ? t->cap * 2 : 1024;
	uint64_t *slots = calloc(cap, sizeof(*slots));
	if (!slots) {
		ct_err("out of memory");
		exit(CT_EXIT_ERROR);
	}
	for (size_t i = 0; i < t->count; i++) {
		uint64_t h = hash_bytes(table_item(t, i), t->key_len);
		size_t j = h & (cap - 1);
		while (slots[j])
			j = (j + 1) & (cap - 1);
		slots[j] = (h & 0xffffffff00000000ULL) | (i + 1);
	}
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
}

/* Keys are short and mostly multiples of 8 bytes: compare words inline
 * rather than calling memcmp for every probe. */
static inline int key_equal(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;
	uint64_t diff = 0;
	while (n >= 8) {
		uint64_t u, v;
		memcpy(&u, x, 8);
		memcpy(&v, y, 8);
		diff |= u ^ v;
		x += 8;
		y += 8;
		n -= 8;
	}
	while (n--)
		diff |= (uint64_t)(*x++ ^ *y++);
	return diff == 0;
}

/* Index of the item with this key, created zeroed (key copied) if new. */
static size_t table_get(struct table *t, const void *key, int *created)
{
	if ((t->count + 1) * 2 > t->cap)
		table_rehash(t);
	uint64_t h = hash_bytes(key, t->key_len);
	uint64_t tag = h & 0xffffffff00000000ULL;
	size_t mask = t->cap - 1;
	for (size_t j = h & mask;; j = (j + 1) & mask) {
		uint64_t s = t->slots[j];
		if (!s) {
			if (t->count == t->items_cap) {
				t->items_cap = t->items_cap ? t->items_cap * 2 : 256;
				t->items = xrealloc(t->items, t->items_cap * t->item_size);
			}
			void *it = table_item(t, t->count);
			memset(it, 0, t->item_size);
			memcpy(it, key, t->key_len);
			t->slots[j] = tag | ++t->count;
			if (created)
				*created = 1;
			return t->count - 1;
		}
		size_t i = (size_t)(s & 0xffffffffULL) - 1;
		if ((s & 0xffffffff00000000ULL) == tag &&
		    !memcmp(table_item(t, i), key, t->key_len))
			return i;
	}
}

static void table_free(struct table *t)
{
	free(t->slots);
	free(t->items);
	memset(t, 0, sizeof(*t));
}

/* ----------------------------------------------------------- aggregates */

/* A destination, interned once per distinct value. */
struct dest_key {
	uint16_t host; /* host index when several hosts, else 0 */
	uint16_t family;
	uint16_t proto;
	uint16_t dport;
	uint8_t path_len;
	uint8_t abstract;
	uint8_t pad[2];
	uint8_t addr[CT_UNIX_PATH_MAX]; /* daddr (16) or path bytes */
};

struct dest {
	struct dest_key k;
	uint32_t procs; /* programs (comm, exe) that connected here */
	/* summed from the counters at the end */
	uint64_t count, failed;
	int64_t first, last;
};

/* Per destination counters, dense by dest id: the hot loop's writes. */
struct dstat {
	uint64_t count, failed;
	int64_t first, last;
};

/* An inet destination and the program that connected there. */
struct inet_key {
	uint16_t host;
	uint16_t family;
	uint16_t proto;
	uint16_t dport;
	uint8_t addr[16];
	uint32_t group1; /* group + 1; 0 = empty slot */
	uint32_t dest1;	 /* dest id + 1, set at the end; 0 in the hot loop */
};

_Static_assert(sizeof(struct inet_key) == 32, "inet_key is hashed as 4 words");

/* Inline, one cache line each: key and counters of one (program, inet
 * destination) pair. Most events are inet, and all they count costs this
 * one line; per destination totals, programs per destination and top
 * destinations per program are summed from these at the end. */
struct inet_slot {
	struct inet_key k;
	struct dstat st;
};

/* (host, pid, group): which pids ran each program. Grows with processes. */
struct pid_key {
	uint32_t pid;
	uint16_t host;
	uint16_t pad;
	uint32_t group;
};

/* The program of a process-table state, by the session's dense serial
 * number: one array access per event instead of a hash lookup. comm is
 * checked because a process may rename itself without an exec. */
struct serial_slot {
	uint32_t group1; /* group + 1; 0 unknown */
	char comm[CT_COMM_LEN];
};

/* Processes per (program, command line): a program's most frequent one is
 * shown. Counted once per process-table state, not per event. */
struct cmd_key {
	uint32_t group;
	uint32_t pad;
	const char *cmdline;
};
struct cmd_item {
	struct cmd_key k;
	uint64_t procs;
};

#define OTHER_CACHE 256

/* Processes the table does not know (serial 0) by pid, direct-mapped:
 * their program is (host, comm, no exe), stable while pid and comm are. */
#define UNKNOWN_CACHE 1024
struct unknown_slot {
	uint32_t pid;
	uint16_t host;
	uint16_t used;
	uint32_t group;
	char comm[CT_COMM_LEN];
};

/* (program, destination) -> connects, stored inline in the slots so a
 * lookup costs one cache line. key = (group + 1) << 32 | dest; 0 empty. */
struct pair {
	uint64_t key;
	uint64_t count;
};

/* A process group: (host, comm, exe), exe an interned pointer. */
struct group_key {
	uint16_t host;
	uint8_t pad[6];
	char comm[CT_COMM_LEN];
	const char *exe;
};

struct proc_group {
	struct group_key k;
	uint64_t count, failed;
	uint32_t pids;
	uint32_t ntop;
	uint32_t top[8]; /* top destinations */
	uint64_t top_count[8];
	const char *cmdline; /* the most frequent, NULL when unknown */
	uint64_t cmd_procs;
};

#define RATE_BUCKETS 4096

/* Events in flight between computing a table slot and touching it: the
 * slot is prefetched when an event arrives and used PIPE events later, so
 * the cache misses of the destination and pair tables overlap instead of
 * stalling one after another. */
#define PIPE 16

struct pend_dest {
	struct inet_key k;
	uint64_t h;
	struct dstat st;
};

struct pend_pair {
	uint64_t key, h;
};

enum outcome {
	O_OK,
	O_REFUSED,
	O_TIMEOUT,
	O_INPROGRESS,
	O_DENIED,
	O_UNREACH,
	O_OTHER,
	O_UNKNOWN,
	O_N
};
static const char *const outcome_names[O_N] = {"success", "refused",	 "timeout", "in_progress",
					       "denied",  "unreachable", "other",   "unknown"};

struct report {
	struct ct_session *s;
	int json, top, by_given;
	const char *by;
	int utf8;
	int multi_host;
	struct table dests, groups, strings, pids, cmds;
	struct dstat *dstat; /* non-inet destinations, by dest id */
	size_t dstat_cap;
	struct inet_slot *islots;
	size_t icap, icount;
	struct pair *pairs;
	size_t pairs_cap, npairs;
	struct other_slot {
		uint64_t h;
		uint32_t dest;
		uint32_t used;
	} other[256];
	struct serial_slot *serials;
	size_t serials_cap;
	struct unknown_slot unknown[UNKNOWN_CACHE];
	struct pend_dest pdest[PIPE];
	uint64_t last_w[4], last_h;  /* the last inet key and its hash */
	struct inet_slot *last_slot; /* and its slot once known, or NULL */
	struct pend_pair ppair[PIPE];
	uint64_t npdest, nppair; /* ever queued; the last PIPE are pending */
	struct batch_scratch {
		uint32_t *pgroup;  /* per process of the chunk */
		uint64_t *pfailed; /* per process */
		struct bdest *dst; /* per destination */
		uint16_t *dflags;  /* per destination: first event's flags */
		uint32_t *gdest;   /* per destination: the report's id */
		uint64_t *dhash;   /* per destination: inet_id_hash */
		struct pair *ops;  /* pair counts on their way */
		size_t ops_cap;
		struct pair *pairs; /* (program, destination) -> count */
		size_t pcap, dcap, pairs_cap, npairs;
	} b;
	struct inet_id *iids; /* the batch path's inet destination ids */
	size_t iid_cap, iid_count;
	int64_t *wall_off; /* per input */
	uint16_t *host_of; /* per input: host index, 0 with one host */
	uint64_t events;
	int64_t first_wall, last_wall;
	uint64_t families[65536];
	/* A bit per family counted: the printers visit those, not 512 KiB. */
	uint64_t family_seen[65536 / 64];
	uint64_t errnos[4096];
	uint64_t outcome[O_N];
	/* rate histogram: bucket = (wall - origin) >> shift */
	uint64_t rate[RATE_BUCKETS];
	int64_t origin;
	unsigned shift;
	/* lost */
	uint64_t lost, lost_records;
	int64_t lost_first, lost_last;
};

/* Intern exe strings: combos point at one copy each. */
struct str_item {
	uint64_t h;
	char *s;
};

static const char *intern(struct report *r, const char *s)
{
	if (!s)
		return NULL;
	/* Key: the hash; a collision check compares the text. */
	uint64_t h = hash_bytes(s, strlen(s));
	for (;;) {
		int created = 0;
		size_t i = table_get(&r->strings, &h, &created);
		struct str_item *it = table_item(&r->strings, i);
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

static enum outcome classify(const struct ct_event *ev)
{
	if (!(ev->flags & CT_EV_RET))
		return O_UNKNOWN;
	switch (-ev->ret) {
	case 0:
		return O_OK;
	case 111:
		return O_REFUSED;
	case 110:
		return O_TIMEOUT;
	case 115:
	case 114:
		return O_INPROGRESS;
	case 13:
	case 1:
		return O_DENIED;
	case 101:
	case 113:
		return O_UNREACH;
	default:
		return O_OTHER;
	}
}

/* classify() for the hot loop: a table over the small errnos. */
static uint8_t outcome_of_errno[128];

static void outcome_table_init(void)
{
	for (int e = 0; e < 128; e++) {
		struct ct_event probe = {.flags = CT_EV_RET, .ret = -e};
		outcome_of_errno[e] = (uint8_t)classify(&probe);
	}
}

static inline enum outcome classify_raw(uint16_t flags, int32_t ret)
{
	uint64_t e = (uint64_t)(-(int64_t)ret);
	if (!(flags & CT_EV_RET))
		return O_UNKNOWN;
	return e < 128 ? (enum outcome)outcome_of_errno[e] : O_OTHER;
}

static inline enum outcome classify_fast(const struct ct_event *ev)
{
	return classify_raw(ev->flags, ev->ret);
}

/* A failure: an outcome known and neither success nor "in progress". */
static int is_failure(enum outcome o)
{
	return o != O_OK && o != O_INPROGRESS && o != O_UNKNOWN;
}

/* A time past the last bucket: halve the resolution until it fits. */
static __attribute__((noinline)) void rate_rescale(struct report *r, int64_t wall)
{
	uint64_t b = (uint64_t)(wall - r->origin) >> r->shift;
	while (b >= RATE_BUCKETS) {
		for (unsigned i = 0; i < RATE_BUCKETS / 2; i++)
			r->rate[i] = r->rate[2 * i] + r->rate[2 * i + 1];
		memset(r->rate + RATE_BUCKETS / 2, 0, sizeof(r->rate) / 2);
		r->shift++;
		b >>= 1;
	}
}

/* The first event: the histogram's origin. */
static void rate_start(struct report *r, int64_t wall)
{
	r->origin = wall;
	r->shift = 20; /* ~1 ms buckets to start */
}

/* rate_add once the histogram has its origin. */
static inline void rate_add_started(struct report *r, int64_t wall)
{
	if (wall < r->origin)
		wall = r->origin;
	uint64_t b = (uint64_t)(wall - r->origin) >> r->shift;
	if (__builtin_expect(b >= RATE_BUCKETS, 0)) {
		rate_rescale(r, wall);
		b = (uint64_t)(wall - r->origin) >> r->shift;
	}
	r->rate[b]++;
}

static inline void rate_add(struct report *r, int64_t wall)
{
	if (r->events == 1)
		rate_start(r, wall);
	rate_add_started(r, wall);
}

static int on_begin(void *ctx, struct ct_session *s)
{
	struct report *r = ctx;
	unsigned n = ct_session_ninputs(s);
	r->s = s;
	r->multi_host = ct_session_nhosts(s) > 1;
	/* The per-event lookups of an input's clock offset and host index. */
	r->wall_off = xrealloc(NULL, (n + 1) * sizeof(*r->wall_off));
	r->host_of = xrealloc(NULL, (n + 1) * sizeof(*r->host_of));
	for (unsigned i = 0; i < n; i++) {
		r->wall_off[i] = ct_session_wall_ns(s, i, 0);
		r->host_of[i] = r->multi_host ? (uint16_t)ct_session_input(s, i)->host_index : 0;
	}
	return 0;
}

/* The key of a destination from its fields (flags: CT_EV_ABSTRACT). */
static void dest_key_of(struct dest_key *k, uint16_t host, uint16_t family, uint16_t proto,
			uint16_t dport, const uint8_t *daddr, const char *path, size_t path_len,
			uint16_t flags)
{
	memset(k, 0, sizeof(*k));
	k->host = host;
	k->family = family;
	if (family == 2 || family == 10) {
		k->proto = proto;
		k->dport = dport;
		memcpy(k->addr, daddr, 16);
	} else if (family == 1) {
		size_t n = path_len < CT_UNIX_PATH_MAX ? path_len : CT_UNIX_PATH_MAX;
		k->abstract = (flags & CT_EV_ABSTRACT) && n && path[0] == '\0';
		if (!k->abstract)
			n = strnlen(path, n);
		k->path_len = (uint8_t)n;
		memcpy(k->addr, path, n);
	}
}

static void make_dest_key(struct dest_key *k, const struct ct_event *ev, uint16_t host)
{
	dest_key_of(k, host, ev->family, ev->proto, ev->dport, ev->daddr, ev->path, ev->path_len,
		    ev->flags);
}

static uint32_t intern_group(struct report *r, uint16_t host, const char *comm, const char *exe)
{
	struct group_key gk;
	memset(&gk, 0, sizeof(gk));
	gk.host = host;
	memcpy(gk.comm, comm, CT_COMM_LEN);
	gk.exe = intern(r, exe);
	return (uint32_t)table_get(&r->groups, &gk, NULL);
}

/* A new destination id: its key in the dest table and zeroed counters. */
static uint32_t new_dest(struct report *r, const struct dest_key *k)
{
	uint32_t id = (uint32_t)table_get(&r->dests, k, NULL);
	if (id >= r->dstat_cap) {
		size_t cap = r->dstat_cap ? r->dstat_cap * 2 : 1024;
		r->dstat = xrealloc(r->dstat, cap * sizeof(*r->dstat));
		memset(r->dstat + r->dstat_cap, 0, (cap - r->dstat_cap) * sizeof(*r->dstat));
		r->dstat_cap = cap;
	}
	return id;
}

/* Zeroed memory for a hash table probed at random: from 512 KiB on, a
 * mapping of its own in transparent huge pages where the kernel allows
 * (madvise mode), so the probes do not each walk the page tables (costly
 * under virtualisation); the kernel's zeroing is all it needs. Given back
 * with table_release and the same size. */
#define TABLE_HUGE (2u << 20)
#define TABLE_HUGE_FROM (512u << 10)
static void *table_alloc(size_t size)
{
	if (size < TABLE_HUGE_FROM) {
		void *mem;
		if (posix_memalign(&mem, 64, size ? size : 64)) {
			ct_err("out of memory");
			exit(CT_EXIT_ERROR);
		}
		memset(mem, 0, size);
		return mem;
	}
	size_t len = (size + TABLE_HUGE - 1) / TABLE_HUGE * TABLE_HUGE;
	uint8_t *m = mmap(NULL, len + TABLE_HUGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		ct_err("out of memory");
		exit(CT_EXIT_ERROR);
	}
	/* Keep the 2 MiB-aligned part. */
	uint8_t *a = (uint8_t *)(((uintptr_t)m + TABLE_HUGE - 1) & ~(uintptr_t)(TABLE_HUGE - 1));
	if (a > m)
		munmap(m, (size_t)(a - m));
	if (m + len + TABLE_HUGE > a + len)
		munmap(a + len, (size_t)(m + len + TABLE_HUGE - (a + len)));
	madvise(a, len, MADV_HUGEPAGE);
	return a;
}

static void table_release(void *mem, size_t size)
{
	if (!mem)
		return;
	if (size < TABLE_HUGE_FROM)
		free(mem);
	else
		munmap(mem, (size + TABLE_HUGE - 1) / TABLE_HUGE * TABLE_HUGE);
}

static void inet_grow(struct report *r)
{
	size_t cap = r->icap ? r->icap * 2 : 4096;
	struct inet_slot *n = table_alloc(cap * sizeof(*n));
	for (size_t i = 0; i < r->icap; i++) {
		if (!r->islots[i].k.group1)
			continue;
		uint64_t w[4];
		memcpy(w, &r->islots[i].k, sizeof(w));
		memset((char *)w + offsetof(struct inet_key, dest1), 0, 4); /* set at the end */
		size_t j = hash_words(w[0], w[1], w[2], w[3]) & (cap - 1);
		while (n[j].k.group1)
			j = (j + 1) & (cap - 1);
		n[j] = r->islots[i];
	}
	table_release(r->islots, r->icap * sizeof(*r->islots));
	r->islots = n;
	r->icap = cap;
	r->last_slot = NULL;
}

static void dest_from_inet(struct dest_key *dk, const struct inet_key *k)
{
	memset(dk, 0, sizeof(*dk));
	dk->host = k->host;
	dk->family = k->family;
	dk->proto = k->proto;
	dk->dport = k->dport;
	memcpy(dk->addr, k->addr, 16);
}

/* The dest id of a UNIX or other-family destination: a direct-mapped
 * cache by a hash of the used key bytes, checked against the interned key,
 * saves building, hashing and comparing the whole 120-byte key. */
static uint32_t other_dest(struct report *r, const struct ct_event *ev, uint16_t host)
{
	size_t n = 0;
	uint8_t abstract = 0;
	if (ev->family == 1) {
		n = ev->path_len < CT_UNIX_PATH_MAX ? ev->path_len : CT_UNIX_PATH_MAX;
		abstract = (ev->flags & CT_EV_ABSTRACT) && n && ev->path[0] == '\0';
		if (!abstract)
			n = strnlen(ev->path, n);
	}
	uint64_t h =
	    hash_bytes(ev->path, n) ^ ((uint64_t)host << 32 | (uint64_t)ev->family << 8 | abstract);
	h ^= h >> 23;
	struct other_slot *o = &r->other[h % OTHER_CACHE];
	if (o->used && o->h == h) {
		const struct dest_key *k =
		    &((const struct dest *)table_item(&r->dests, o->dest))->k;
		if (k->host == host && k->family == ev->family && k->path_len == n &&
		    k->abstract == abstract && !memcmp(k->addr, ev->path, n))
			return o->dest;
	}
	struct dest_key dk;
	make_dest_key(&dk, ev, host);
	*o = (struct other_slot){.h = h, .dest = new_dest(r, &dk), .used = 1};
	return o->dest;
}

static inline uint64_t pair_hash(uint64_t key)
{
	uint64_t h = key * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 32);
}

/* Double a pair table (or make one of 4096). */
static void pairs_grow_table(struct pair **pairs, size_t *pcap)
{
	size_t old = *pcap, cap = old ? old * 2 : 4096;
	struct pair *n = table_alloc(cap * sizeof(*n));
	for (size_t i = 0; i < old; i++) {
		if (!(*pairs)[i].key)
			continue;
		size_t j = pair_hash((*pairs)[i].key) & (cap - 1);
		while (n[j].key)
			j = (j + 1) & (cap - 1);
		n[j] = (*pairs)[i];
	}
	table_release(*pairs, old * sizeof(**pairs));
	*pairs = n;
	*pcap = cap;
}

static void pairs_grow(struct report *r)
{
	pairs_grow_table(&r->pairs, &r->pairs_cap);
}

static void pair_add(struct report *r, uint64_t key, uint64_t h)
{
	if ((r->npairs + 1) * 4 > r->pairs_cap * 3)
		pairs_grow(r);
	size_t mask = r->pairs_cap - 1;
	for (size_t j = h & mask;; j = (j + 1) & mask) {
		if (r->pairs[j].key == key) {
			r->pairs[j].count++;
			return;
		}
		if (!r->pairs[j].key) {
			r->pairs[j].key = key;
			r->pairs[j].count = 1;
			r->npairs++;
			return;
		}
	}
}

/* Count one (program, destination) pair PIPE pairs from now. */
static void pair_push(struct report *r, uint32_t group, uint32_t dest)
{
	struct pend_pair *pp = &r->ppair[r->nppair++ % PIPE];
	if (r->nppair > PIPE)
		pair_add(r, pp->key, pp->h);
	pp->key = ((uint64_t)group + 1) << 32 | dest;
	pp->h = pair_hash(pp->key);
	if (r->pairs_cap)
		__builtin_prefetch(&r->pairs[pp->h & (r->pairs_cap - 1)], 1);
}

static inline void dstat_add(struct dstat *ds, int64_t wall, uint32_t failed)
{
	if (!ds->count || wall < ds->first)
		ds->first = wall;
	if (!ds->count || wall > ds->last)
		ds->last = wall;
	ds->count++;
	ds->failed += failed;
}

static inline void dstat_merge(struct dstat *ds, const struct dstat *add)
{
	if (!ds->count || add->first < ds->first)
		ds->first = add->first;
	if (!ds->count || add->last > ds->last)
		ds->last = add->last;
	ds->count += add->count;
	ds->failed += add->failed;
}

/* The queued counts of a (program, destination) pair: find or create its
 * slot (by now most likely in cache) and add them there. */
static void dest_stage(struct report *r, const struct pend_dest *pd)
{
	if ((r->icount + 1) * 4 > r->icap * 3)
		inet_grow(r);
	size_t mask = r->icap - 1;
	struct inet_slot *sl;
	for (size_t j = pd->h & mask;; j = (j + 1) & mask) {
		sl = &r->islots[j];
		if (key_equal(&sl->k, &pd->k, sizeof(pd->k)))
			break;
		if (!sl->k.group1) {
			sl->k = pd->k;
			r->icount++;
			break;
		}
	}
	dstat_merge(&sl->st, &pd->st);
	if (pd->h == r->last_h && !memcmp(&pd->k, r->last_w, sizeof(r->last_w)))
		r->last_slot = sl;
}

/* Queue counts for a pair's slot: it is prefetched now and touched PIPE
 * queued entries later, so the cache misses overlap. */
static inline void dest_queue(struct report *r, const struct inet_key *k, uint64_t h,
			      const struct dstat *st)
{
	struct pend_dest *pd = &r->pdest[r->npdest++ % PIPE];
	if (r->npdest > PIPE)
		dest_stage(r, pd);
	pd->k = *k;
	pd->h = h;
	pd->st = *st;
	if (r->icap)
		__builtin_prefetch(&r->islots[h & (r->icap - 1)], 1);
}

static inline uint64_t inet_key_hash(const struct inet_key *k)
{
	uint64_t w[4];
	memcpy(w, k, sizeof(w));
	return hash_words(w[0], w[1], w[2], w[3]);
}

/* Finish every queued event (before the tables are read). */
static void pipe_drain(struct report *r)
{
	uint64_t n = r->npdest < PIPE ? r->npdest : PIPE;
	for (uint64_t i = r->npdest - n; i < r->npdest; i++)
		dest_stage(r, &r->pdest[i % PIPE]);
	r->npdest = 0;
	n = r->nppair < PIPE ? r->nppair : PIPE;
	for (uint64_t i = r->nppair - n; i < r->nppair; i++)
		pair_add(r, r->ppair[i % PIPE].key, r->ppair[i % PIPE].h);
	r->nppair = 0;
}
static void cmd_tally(struct report *r, uint32_t group, const char *cmdline)
{
	if (!cmdline)
		return;
	struct cmd_key k = {.group = group, .cmdline = cmdline};
	struct cmd_item *it = table_item(&r->cmds, table_get(&r->cmds, &k, NULL));
	it->procs++;
}

/* First event of a process state (or of a process the table does not
 * know): intern its program, note its pid, remember it by serial. */
static uint32_t slow_group(struct report *r, uint32_t pid, const char *comm,
			   const struct ct_proc_info *proc, uint16_t host)
{
	uint32_t group = intern_group(r, host, comm, proc->exe);
	struct pid_key pk;
	memset(&pk, 0, sizeof(pk));
	pk.pid = pid;
	pk.host = host;
	pk.group = group;
	table_get(&r->pids, &pk, NULL);
	uint64_t sn = proc->serial;
	if (sn && sn < (1ULL << 32)) {
		if (sn >= r->serials_cap) {
			size_t cap = r->serials_cap ? r->serials_cap : 1024;
			while (cap <= sn)
				cap *= 2;
			r->serials = xrealloc(r->serials, cap * sizeof(*r->serials));
			memset(r->serials + r->serials_cap, 0,
			       (cap - r->serials_cap) * sizeof(*r->serials));
			r->serials_cap = cap;
		}
		struct serial_slot *ss = &r->serials[sn];
		/* A state seen again under another comm is not counted twice. */
		if (ss->group1 != group + 1)
			cmd_tally(r, group, intern(r, proc->cmdline));
		ss->group1 = group + 1;
		memcpy(ss->comm, comm, CT_COMM_LEN);
	}
	return group;
}

/* Which program (comm, exe) the process table names at this moment: exe
 * learnt late, exec, pid reuse and expiry all change the serial. */
static inline uint32_t group_lookup(struct report *r, uint32_t pid, const char *comm,
				    const struct ct_proc_info *proc, uint16_t host)
{
	uint64_t sn = proc->serial;
	if (sn) {
		if (sn < r->serials_cap && r->serials[sn].group1 &&
		    !memcmp(r->serials[sn].comm, comm, CT_COMM_LEN))
			return r->serials[sn].group1 - 1;
		return slow_group(r, pid, comm, proc, host);
	}
	struct unknown_slot *u = &r->unknown[(pid * 0x9e3779b1u) >> 22];
	if (u->used && u->pid == pid && u->host == host && !memcmp(u->comm, comm, CT_COMM_LEN))
		return u->group;
	uint32_t group = slow_group(r, pid, comm, proc, host);
	*u = (struct unknown_slot){.pid = pid, .host = host, .used = 1, .group = group};
	memcpy(u->comm, comm, CT_COMM_LEN);
	return group;
}

static int on_event(void *ctx, const struct ct_event *ev, const struct ct_proc_info *proc,
		    unsigned input)
{
	struct report *r = ctx;
	int64_t wall = (int64_t)ev->ts_ns + r->wall_off[input];
	uint16_t host = r->host_of[input];

	r->events++;
	if (r->events == 1 || wall < r->first_wall)
		r->first_wall = wall;
	if (r->events == 1 || wall > r->last_wall)
		r->last_wall = wall;
	r->families[ev->family]++;
	r->family_seen[ev->family >> 6] |= 1ull << (ev->family & 63);
	enum outcome o = classify_fast(ev);
	r->outcome[o]++;
	if ((ev->flags & CT_EV_RET) && ev->ret < 0 && ev->ret > -4096)
		r->errnos[-ev->ret]++;
	rate_add(r, wall);

	uint32_t group = group_lookup(r, ev->pid, ev->comm, proc, host);
	uint32_t failed = (uint32_t)is_failure(o);
	struct proc_group *g = table_item(&r->groups, group);
	g->count++;
	if (failed) /* a branch: vectorised with count it went through the stack */
		g->failed++;

	if (ev->family == 2 || ev->family == 10) {
		/* The key is hashed from registers: hashing it back from
		 * memory right after narrow stores would stall on store
		 * forwarding. Same value as hash_bytes over the key. */
		uint64_t w0, w1, w2, w3;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		w0 = (uint64_t)host | (uint64_t)ev->family << 16 | (uint64_t)ev->proto << 32 |
		     (uint64_t)ev->dport << 48;
		memcpy(&w1, ev->daddr, 8);
		memcpy(&w2, ev->daddr + 8, 8);
		w3 = (uint64_t)(group + 1);
#else
		struct inet_key k = {.host = host,
				     .family = ev->family,
				     .proto = ev->proto,
				     .dport = ev->dport,
				     .group1 = group + 1};
		memcpy(k.addr, ev->daddr, 16);
		memcpy(&w0, (char *)&k, 8);
		memcpy(&w1, (char *)&k + 8, 8);
		memcpy(&w2, (char *)&k + 16, 8);
		memcpy(&w3, (char *)&k + 24, 8);
#endif
		/* A storm repeats one key: its hash too, and once its slot is
		 * known the event is counted there at once (the counters do
		 * not depend on order). */
		if (w0 != r->last_w[0] || w1 != r->last_w[1] || w2 != r->last_w[2] ||
		    w3 != r->last_w[3]) {
			r->last_w[0] = w0;
			r->last_w[1] = w1;
			r->last_w[2] = w2;
			r->last_w[3] = w3;
			r->last_h = hash_words(w0, w1, w2, w3);
			r->last_slot = NULL;
		} else if (r->last_slot) {
			dstat_add(&r->last_slot->st, wall, failed);
			return 0;
		}
		/* Queue it; its slot is fetched while later events are counted. */
		struct pend_dest *pd = &r->pdest[r->npdest++ % PIPE];
		if (r->npdest > PIPE)
			dest_stage(r, pd);
		memcpy((char *)&pd->k, &w0, 8);
		memcpy((char *)&pd->k + 8, &w1, 8);
		memcpy((char *)&pd->k + 16, &w2, 8);
		memcpy((char *)&pd->k + 24, &w3, 8);
		pd->h = r->last_h;
		pd->st = (struct dstat){.count = 1, .failed = failed, .first = wall, .last = wall};
		if (r->icap)
			__builtin_prefetch(&r->islots[pd->h & (r->icap - 1)], 1);
	} else {
		uint32_t dest = other_dest(r, ev, host);
		dstat_add(&r->dstat[dest], wall, failed);
		pair_push(r, group, dest);
	}
	return 0;
}

/* ------------------------------------------------------------- batches */

/* Bit j set where group1[j] is g1, else (no match) where group1[j] is free:
 * the slot to count g1 in is the lowest set bit; 0 when all four hold
 * other programs. */
static inline unsigned group_match(const uint32_t *group1, uint32_t g1)
{
#ifdef __SSE2__
	__m128i v = _mm_loadu_si128((const __m128i *)group1);
	unsigned eq = (unsigned)_mm_movemask_ps(
	    _mm_castsi128_ps(_mm_cmpeq_epi32(v, _mm_set1_epi32((int)g1))));
	unsigned fr =
	    (unsigned)_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(v, _mm_setzero_si128())));
	return eq ? eq : fr;
#else
	unsigned eq = 0, fr = 0;
	for (unsigned j = 0; j < 4; j++) {
		eq |= (unsigned)(group1[j] == g1) << j;
		fr |= (unsigned)(group1[j] == 0) << j;
	}
	return eq ? eq : fr;
#endif
}

/* A destination of the chunk: its counters and, inline in the same cache
 * line, the first programs that connected there with their counts; more
 * programs than that go to the batch's pair table. */
#define BDEST_GROUPS 4 /* group_match compares four at once */
struct bdest {
	struct dstat st;
	uint32_t group1[BDEST_GROUPS]; /* group + 1; 0 free */
	uint32_t count[BDEST_GROUPS];
} __attribute__((aligned(64)));

/* A whole chunk of events at once, as columns (ct_session_ops.batch): the
 * same counts as on_event for each, gathered per process and destination of
 * the chunk (small arrays indexed by the chunk's own table indexes) and per
 * (process, destination) pair, then added to the report's tables once per
 * chunk. */
static void batch_reserve(struct report *r, const struct ct_batch *b)
{
	struct batch_scratch *bs = &r->b;
	if (b->nprocs > bs->pcap) {
		size_t cap = b->nprocs + 1024;
		bs->pgroup = xrealloc(bs->pgroup, cap * sizeof(*bs->pgroup));
		bs->pfailed = xrealloc(bs->pfailed, cap * sizeof(*bs->pfailed));
		memset(bs->pfailed, 0, cap * sizeof(*bs->pfailed));
		bs->pcap = cap;
	}
	if (b->ndests > bs->dcap) {
		size_t cap = b->ndests + 4096;
		table_release(bs->dst, bs->dcap * sizeof(*bs->dst));
		bs->dst = table_alloc(cap * sizeof(*bs->dst));
		bs->dflags = xrealloc(bs->dflags, cap * sizeof(*bs->dflags));
		bs->gdest = xrealloc(bs->gdest, cap * sizeof(*bs->gdest));
		bs->dhash = xrealloc(bs->dhash, cap * sizeof(*bs->dhash));
		bs->dcap = cap;
	}
	if (!bs->pairs)
		pairs_grow_table(&bs->pairs, &bs->pairs_cap);
}

static inline void batch_pair_add(struct batch_scratch *bs, uint64_t key)
{
	size_t mask = bs->pairs_cap - 1;
	for (size_t j = pair_hash(key) & mask;; j = (j + 1) & mask) {
		if (bs->pairs[j].key == key) {
			bs->pairs[j].count++;
			return;
		}
		if (!bs->pairs[j].key) {
			bs->pairs[j].key = key;
			bs->pairs[j].count = 1;
			if (++bs->npairs * 2 > bs->pairs_cap)
				pairs_grow_table(&bs->pairs, &bs->pairs_cap);
			return;
		}
	}
}

static void pair_add_n(struct report *r, uint64_t key, uint64_t n)
{
	if ((r->npairs + 1) * 4 > r->pairs_cap * 3)
		pairs_grow(r);
	size_t mask = r->pairs_cap - 1;
	for (size_t j = pair_hash(key) & mask;; j = (j + 1) & mask) {
		if (r->pairs[j].key == key) {
			r->pairs[j].count += n;
			return;
		}
		if (!r->pairs[j].key) {
			r->pairs[j].key = key;
			r->pairs[j].count = n;
			r->npairs++;
			return;
		}
	}
}

/* Inet destination ids by their 24 key bytes (host, family, proto, dport,
 * address), one cache line a probe: the batch path's way to the report's
 * destination table, whose keys are 136 bytes. */
struct inet_id {
	uint64_t w[3];
	uint32_t id1; /* id + 1; 0 empty */
	uint32_t pad;
};

static inline void inet_id_words(uint64_t w[3], uint16_t host, const struct ct_batch_dest *cd)
{
	w[0] = (uint64_t)host | (uint64_t)cd->family << 16 | (uint64_t)cd->proto << 32 |
	       (uint64_t)cd->dport << 48;
	memcpy(&w[1], cd->daddr, 8);
	memcpy(&w[2], cd->daddr + 8, 8);
}

static inline uint64_t inet_id_hash(uint16_t host, const struct ct_batch_dest *cd)
{
	uint64_t w[3];
	inet_id_words(w, host, cd);
	return hash_words(w[0], w[1], w[2], 0);
}

/* Room for n more ids without growing (the prefetches stay valid). */
static void inet_id_reserve(struct report *r, size_t n)
{
	if ((r->iid_count + n) * 2 <= r->iid_cap)
		return;
	size_t cap = r->iid_cap ? r->iid_cap : 4096;
	while ((r->iid_count + n) * 2 > cap)
		cap *= 2;
	struct inet_id *t = table_alloc(cap * sizeof(*t));
	for (size_t i = 0; i < r->iid_cap; i++) {
		const struct inet_id *e = &r->iids[i];
		if (!e->id1)
			continue;
		size_t j = hash_words(e->w[0], e->w[1], e->w[2], 0) & (cap - 1);
		while (t[j].id1)
			j = (j + 1) & (cap - 1);
		t[j] = *e;
	}
	table_release(r->iids, r->iid_cap * sizeof(*r->iids));
	r->iids = t;
	r->iid_cap = cap;
}

static inline void inet_id_prefetch(struct report *r, const struct ct_batch_dest *cd, uint64_t h)
{
	if (cd->family == 2 || cd->family == 10)
		__builtin_prefetch(&r->iids[h & (r->iid_cap - 1)]);
}

/* The report's id of the chunk's destination d (its key made and looked
 * up in the destination table only the first time it is seen). */
static uint32_t batch_dest_id(struct report *r, const struct ct_batch *b, uint32_t d, uint16_t host)
{
	const struct ct_batch_dest *cd = &b->dests[d];
	struct dest_key dk;
	if (cd->family != 2 && cd->family != 10) {
		dest_key_of(&dk, host, cd->family, cd->proto, cd->dport, cd->daddr,
			    b->paths + cd->path_off, cd->path_len, r->b.dflags[d]);
		return new_dest(r, &dk);
	}
	uint64_t w[3];
	inet_id_words(w, host, cd);
	size_t mask = r->iid_cap - 1;
	for (size_t j = r->b.dhash[d] & mask;; j = (j + 1) & mask) {
		struct inet_id *e = &r->iids[j];
		if (!e->id1) {
			dest_key_of(&dk, host, cd->family, cd->proto, cd->dport, cd->daddr, NULL, 0,
				    0);
			uint32_t id = new_dest(r, &dk);
			e->w[0] = w[0];
			e->w[1] = w[1];
			e->w[2] = w[2];
			e->id1 = id + 1;
			r->iid_count++;
			return id;
		}
		if (e->w[0] == w[0] && e->w[1] == w[1] && e->w[2] == w[2])
			return e->id1 - 1;
	}
}

static __attribute__((noinline)) uint32_t
batch_group(struct report *r, const struct ct_proc_info *procs, uint32_t p, uint16_t host)
{
	return r->b.pgroup[p] = group_lookup(r, procs[p].pid, procs[p].comm, &procs[p], host);
}

/* A pair count for the report's pair table, queued; the program's total
 * connects counted now. */
static inline void batch_op(struct report *r, size_t *nops, uint64_t key, uint64_t count)
{
	struct batch_scratch *bs = &r->b;
	((struct proc_group *)table_item(&r->groups, (key >> 32) - 1))->count += count;
	if (*nops == bs->ops_cap) {
		bs->ops_cap = bs->ops_cap ? bs->ops_cap * 2 : 4096;
		bs->ops = xrealloc(bs->ops, bs->ops_cap * sizeof(*bs->ops));
	}
	bs->ops[(*nops)++] = (struct pair){.key = key, .count = count};
}

static int on_batch(void *ctx, const struct ct_batch *b, const struct ct_proc_info *procs,
		    unsigned input)
{
	struct report *r = ctx;
	struct batch_scratch *bs = &r->b;
	int64_t off = r->wall_off[input];
	uint16_t host = r->host_of[input];
	uint32_t n = b->n;

	if (!n)
		return 0;
	batch_reserve(r, b);
	/* A process's program is looked up at its first event here: a batch cut
	 * to a time window may not hold every process of its chunk, and a
	 * lookup notes the pid as one of its program's. */
	memset(bs->pgroup, 0xff, b->nprocs * sizeof(*bs->pgroup));

	/* Events are in time order within a chunk. */
	int64_t w0 = (int64_t)b->ts_ns[0] + off, w1 = (int64_t)b->ts_ns[n - 1] + off;
	if (!r->events || w0 < r->first_wall)
		r->first_wall = w0;
	if (!r->events || w1 > r->last_wall)
		r->last_wall = w1;
	/* The destinations' slots outgrow L1: the one of the event AHEAD on is
	 * fetched while this one is counted. */
	enum { AHEAD = 16 };
	if (!r->events) /* the rate histogram starts at the first event */
		rate_start(r, w0);
	uint64_t events = r->events;
	for (uint32_t i = 0; i < n; i++) {
		if (i + AHEAD < n) {
			uint32_t da = b->dest[i + AHEAD];
			uint64_t ka = ((uint64_t)bs->pgroup[b->proc[i + AHEAD]] << 32 | da) + 1;
			__builtin_prefetch(&bs->dst[da], 1);
			/* in case its four inline programs are taken */
			__builtin_prefetch(&bs->pairs[pair_hash(ka) & (bs->pairs_cap - 1)]);
		}
		int64_t wall = (int64_t)b->ts_ns[i] + off;
		uint16_t fl = b->flags[i];
		int32_t ret = b->ret[i];
		events++;
		rate_add_started(r, wall);
		enum outcome o = classify_raw(fl, ret);
		r->outcome[o]++;
		if ((fl & CT_EV_RET) && ret < 0 && ret > -4096)
			r->errnos[-ret]++;
		uint32_t failed = (uint32_t)is_failure(o);
		uint32_t p = b->proc[i], d = b->dest[i];
		uint32_t g1 = bs->pgroup[p] + 1;
		if (__builtin_expect(!g1, 0))
			g1 = batch_group(r, procs, p, host) + 1;
		bs->pfailed[p] += failed;
		struct bdest *bd = &bs->dst[d];
		if (!bd->st.count) {
			bd->st.first = wall;
			bs->dflags[d] = fl;
		}
		bd->st.last = wall;
		bd->st.count++;
		bd->st.failed += failed;
		/* This program's place among the inline ones, or the first free
		 * one: one compare of all four. */
		unsigned hit = group_match(bd->group1, g1);
		if (hit) {
			unsigned j = (unsigned)__builtin_ctz(hit);
			bd->group1[j] = g1;
			bd->count[j]++;
		} else {
			batch_pair_add(bs, ((uint64_t)(g1 - 1) << 32 | d) + 1);
		}
	}
	r->events = events;

	/* Failures per program from its processes; its connects are summed
	 * from its pairs below. */
	for (uint32_t j = 0; j < b->nprocs; j++) {
		if (!bs->pfailed[j])
			continue;
		struct proc_group *g = table_item(&r->groups, bs->pgroup[j]);
		g->failed += bs->pfailed[j];
		bs->pfailed[j] = 0;
	}
	/* Each destination of the chunk to its report id (once per chunk),
	 * its counters and its programs' counts to the report's tables. The
	 * tables are far bigger than a cache on a long trace: every pass
	 * fetches the slot it will need LAG entries ahead. */
	enum { LAG = 64 };
	uint32_t nd = b->ndests;
	for (uint32_t d = 0; d < nd; d++) {
		const struct ct_batch_dest *cd = &b->dests[d];
		if (bs->dst[d].st.count && (cd->family == 2 || cd->family == 10))
			bs->dhash[d] = inet_id_hash(host, cd);
	}
	inet_id_reserve(r, nd);
	for (uint32_t d = 0; d < nd; d++) {
		if (d + LAG < nd && bs->dst[d + LAG].st.count)
			inet_id_prefetch(r, &b->dests[d + LAG], bs->dhash[d + LAG]);
		if (bs->dst[d].st.count)
			bs->gdest[d] = batch_dest_id(r, b, d, host);
	}
	size_t nops = 0;
	for (uint32_t d = 0; d < nd; d++) {
		struct bdest *bd = &bs->dst[d];
		if (d + LAG < nd && bs->dst[d + LAG].st.count)
			__builtin_prefetch(&r->dstat[bs->gdest[d + LAG]], 1);
		if (!bd->st.count)
			continue;
		uint32_t id = bs->gdest[d];
		uint16_t fam = b->dests[d].family;
		r->families[fam] += bd->st.count;
		r->family_seen[fam >> 6] |= 1ull << (fam & 63);
		dstat_merge(&r->dstat[id], &bd->st);
		for (unsigned j = 0; j < BDEST_GROUPS && bd->group1[j]; j++)
			batch_op(r, &nops, (uint64_t)bd->group1[j] << 32 | id, bd->count[j]);
	}
	for (size_t i = 0; bs->npairs && i < bs->pairs_cap; i++) {
		struct pair *pr = &bs->pairs[i];
		if (!pr->key)
			continue;
		uint64_t key = pr->key - 1;
		batch_op(r, &nops, ((key >> 32) + 1) << 32 | bs->gdest[(uint32_t)key], pr->count);
		pr->key = 0;
	}
	while ((r->npairs + nops + 1) * 4 > r->pairs_cap * 3)
		pairs_grow(r);
	for (size_t i = 0; i < nops; i++) {
		if (i + LAG < nops)
			__builtin_prefetch(
			    &r->pairs[pair_hash(bs->ops[i + LAG].key) & (r->pairs_cap - 1)], 1);
		pair_add_n(r, bs->ops[i].key, bs->ops[i].count);
	}
	bs->npairs = 0;
	memset(bs->dst, 0, b->ndests * sizeof(*bs->dst));
	return 0;
}

static int on_lost(void *ctx, const struct ct_lost *l, unsigned input)
{
	struct report *r = ctx;
	int64_t wall = ct_session_wall_ns(r->s, input, l->ts_ns);
	if (!r->lost_records || wall < r->lost_first)
		r->lost_first = wall;
	if (!r->lost_records || wall > r->lost_last)
		r->lost_last = wall;
	r->lost_records++;
	r->lost += l->count;
	return 0;
}

/* ------------------------------------------------------------- derive */

struct port_group {
	uint16_t proto, port;
	uint64_t count, failed;
	uint32_t dests;
};

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

static int group_by_count(const void *a, const void *b)
{
	const struct proc_group *x = a, *y = b;
	int c = cmp_u64_desc(x->count, y->count);
	return c ? c : memcmp(x->k.comm, y->k.comm, CT_COMM_LEN);
}

static int port_by_count(const void *a, const void *b)
{
	const struct port_group *x = a, *y = b;
	int c = cmp_u64_desc(x->count, y->count);
	if (c)
		return c;
	return x->port != y->port ? (x->port < y->port ? -1 : 1) : (x->proto < y->proto ? -1 : 1);
}

struct derived {
	uint32_t *dest_order; /* dest indexes by count */
	size_t ndests;
	struct proc_group *groups; /* sorted by count */
	size_t ngroups;
	struct port_group *ports;
	size_t nports;
};

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

static void derive(struct report *r, struct derived *d)
{
	/* Inet pairs counted event by event get their destination ids now and
	 * join the rest: per-destination counters by id, and one pair table
	 * entry per (program, destination), whichever way it was counted. */
	for (size_t i = 0; i < r->icap; i++) {
		struct inet_slot *sl = &r->islots[i];
		if (!sl->k.group1)
			continue;
		struct dest_key dk;
		dest_from_inet(&dk, &sl->k);
		uint32_t id = new_dest(r, &dk);
		dstat_merge(&r->dstat[id], &sl->st);
		pair_add_n(r, (uint64_t)sl->k.group1 << 32 | id, sl->st.count);
	}
	size_t nd = r->dests.count, ng = r->groups.count;
	struct dest *dests = (struct dest *)r->dests.items;
	struct proc_group *groups = (struct proc_group *)r->groups.items;

	for (size_t i = 0; i < nd; i++) {
		dests[i].count = r->dstat[i].count;
		dests[i].failed = r->dstat[i].failed;
		dests[i].first = r->dstat[i].first;
		dests[i].last = r->dstat[i].last;
	}
	/* Top destinations per program (first and count of each destination
	 * are final now: ties are ordered by them). */
	for (size_t i = 0; i < r->pairs_cap; i++) {
		const struct pair *p = &r->pairs[i];
		if (!p->key)
			continue;
		uint32_t group = (uint32_t)(p->key >> 32) - 1, dest = (uint32_t)p->key;
		dests[dest].procs++;
		group_offer(&groups[group], dests, dest, p->count);
	}
	for (size_t i = 0; i < r->pids.count; i++)
		groups[((struct pid_key *)table_item(&r->pids, i))->group].pids++;
	/* Command lines: the most processes win; a tie keeps the first seen. */
	for (size_t i = 0; i < r->cmds.count; i++) {
		const struct cmd_item *it = table_item(&r->cmds, i);
		struct proc_group *g = &groups[it->k.group];
		if (it->procs > g->cmd_procs) {
			g->cmd_procs = it->procs;
			g->cmdline = it->k.cmdline;
		}
	}

	d->ndests = nd;
	d->dest_order = xrealloc(NULL, (nd + 1) * sizeof(uint32_t));
	for (size_t i = 0; i < nd; i++)
		d->dest_order[i] = (uint32_t)i;
	g_dests = dests;
	qsort(d->dest_order, nd, sizeof(uint32_t), dest_by_count);

	/* Groups that only held combos later regrouped (exe learnt) are empty. */
	d->groups = xrealloc(NULL, (ng + 1) * sizeof(*d->groups));
	d->ngroups = 0;
	for (size_t i = 0; i < ng; i++)
		if (groups[i].count)
			d->groups[d->ngroups++] = groups[i];
	qsort(d->groups, d->ngroups, sizeof(*d->groups), group_by_count);

	/* Ports: inet destinations by (proto, dport). */
	struct table pt;
	table_init(&pt, sizeof(struct port_group), 4);
	for (size_t i = 0; i < nd; i++) {
		const struct dest *dd = &dests[i];
		if (dd->k.family != 2 && dd->k.family != 10)
			continue;
		uint16_t key[2] = {dd->k.proto, dd->k.dport};
		struct port_group *p = table_item(&pt, table_get(&pt, key, NULL));
		p->count += dd->count;
		p->failed += dd->failed;
		p->dests++;
	}
	d->nports = pt.count;
	d->ports = xrealloc(NULL, (pt.count + 1) * sizeof(*d->ports));
	if (pt.count)
		memcpy(d->ports, pt.items, pt.count * sizeof(*d->ports));
	qsort(d->ports, d->nports, sizeof(*d->ports), port_by_count);
	table_free(&pt);
}

static void derived_free(struct derived *d)
{
	free(d->dest_order);
	free(d->groups);
	free(d->ports);
}
/* ------------------------------------------------------------- output */

static const char *host_name(struct report *r, uint16_t host)
{
	for (unsigned i = 0; i < ct_session_ninputs(r->s); i++) {
		const struct ct_input *in = ct_session_input(r->s, i);
		if (in->host_index == host)
			return in->hdr->hostname && in->hdr->hostname[0] ? in->hdr->hostname : "?";
	}
	return "?";
}

static void dest_text(char *buf, size_t size, const struct dest_key *k)
{
	struct ct_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.family = k->family;
	ev.dport = k->dport;
	if (k->family == 1) {
		memcpy(ev.path, k->addr, k->path_len);
		ev.path_len = k->path_len;
		if (k->abstract)
			ev.flags |= CT_EV_ABSTRACT;
	} else {
		memcpy(ev.daddr, k->addr, 16);
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

static size_t limit(const struct report *r, size_t n)
{
	return r->top > 0 && (size_t)r->top < n ? (size_t)r->top : n;
}

/* The histogram folded into at most `cols` columns; returns the column width in ns. */
static size_t fold_rate(const struct report *r, uint64_t *out, size_t cols, uint64_t *width_ns)
{
	if (!r->events) {
		*width_ns = 0;
		return 0;
	}
	uint64_t used = ((uint64_t)(r->last_wall - r->origin) >> r->shift) + 1;
	if (used > RATE_BUCKETS)
		used = RATE_BUCKETS;
	uint64_t per = (used + cols - 1) / cols;
	size_t n = (size_t)((used + per - 1) / per);
	memset(out, 0, cols * sizeof(*out));
	for (uint64_t i = 0; i < used; i++)
		out[i / per] += r->rate[i];
	*width_ns = per << r->shift;
	return n;
}

static void print_rate(struct report *r, FILE *f)
{
	uint64_t cols[64], width, max = 0;
	size_t n = fold_rate(r, cols, 64, &width);
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
		fprintf(f, "%-9s %s: host %s, kernel %s, backend %s%s\n", i ? "" : "trace",
			in->path, h->hostname ? h->hostname : "?", h->kernel ? h->kernel : "?",
			h->backend ? h->backend : "?",
			st.index_present ? "" : " (no index: scanned)");
	}
	if (r->events) {
		short_time(a, sizeof(a), r->first_wall);
		short_time(b, sizeof(b), r->last_wall);
		duration_text(dur, sizeof(dur), r->last_wall - r->first_wall);
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
	fprintf(f, "%-9s %u event chunks: %u read, %u skipped", "chunks", st.event_chunks,
		st.chunks_read, st.chunks_skipped);
	if (st.chunks_damaged)
		fprintf(f, ", %u DAMAGED", st.chunks_damaged);
	fputc('\n', f);
}

static void print_dests(struct report *r, struct derived *d, FILE *f, int wide)
{
	struct dest *dests = (struct dest *)r->dests.items;
	size_t n = limit(r, d->ndests);
	char text[4 * CT_UNIX_PATH_MAX + 16], a[48], b[48];

	fprintf(f, "\nTop destinations (%zu of %zu)\n", n, d->ndests);
	fprintf(f, "  %10s %6s  %-*s %5s %9s  %s\n", "CONNECTS", "%", wide ? 44 : 30, "DESTINATION",
		"PROGS", "FAILED", wide ? "FIRST                 LAST" : "LAST");
	for (size_t i = 0; i < n; i++) {
		const struct dest *dd = &dests[d->dest_order[i]];
		dest_text(text, sizeof(text), &dd->k);
		if (r->multi_host) {
			char tmp[sizeof(text) + 80];
			int n =
			    snprintf(tmp, sizeof(tmp), "%.64s %s", host_name(r, dd->k.host), text);
			if (n > 0)
				snprintf(text, sizeof(text), "%.*s", (int)sizeof(text) - 1, tmp);
		}
		short_time(a, sizeof(a), dd->first);
		short_time(b, sizeof(b), dd->last);
		fprintf(f, "  %10llu %5.1f%%  %-*s %5u %9llu  ", (unsigned long long)dd->count,
			pct(dd->count, r->events), wide ? 44 : 30, text, dd->procs,
			(unsigned long long)dd->failed);
		if (wide)
			fprintf(f, "%s  %s\n", a, b);
		else
			fprintf(f, "%s\n", b);
	}
}

/* "cmd: ..." under a process: one line, control bytes as '?', cut at
 * CMD_WIDTH characters with "..." (the JSON has it whole). */
#define CMD_WIDTH 96
static void print_cmdline(FILE *f, const char *cmd)
{
	char line[CMD_WIDTH + 4];
	size_t n = 0;
	for (; cmd[n] && n < CMD_WIDTH; n++)
		line[n] = (unsigned char)cmd[n] < 0x20 || cmd[n] == 0x7f ? '?' : cmd[n];
	if (cmd[n])
		memcpy(line + n - 3, "...", 3);
	line[n] = '\0';
	fprintf(f, "  %10s %6s    cmd: %s\n", "", "", line);
}

static void print_procs(struct report *r, struct derived *d, FILE *f, int wide)
{
	struct dest *dests = (struct dest *)r->dests.items;
	size_t n = limit(r, d->ngroups);
	char text[4 * CT_UNIX_PATH_MAX + 16];

	fprintf(f, "\nTop processes (%zu of %zu)\n", n, d->ngroups);
	fprintf(f, "  %10s %6s  %-16s %5s %9s  %s\n", "CONNECTS", "%", "COMM", "PIDS", "FAILED",
		"EXE");
	for (size_t i = 0; i < n; i++) {
		const struct proc_group *g = &d->groups[i];
		char comm[CT_COMM_LEN + 1];
		memcpy(comm, g->k.comm, CT_COMM_LEN);
		comm[CT_COMM_LEN] = '\0';
		for (char *c = comm; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
		fprintf(f, "  %10llu %5.1f%%  %-16s %5u %9llu  %s%s%s\n",
			(unsigned long long)g->count, pct(g->count, r->events), comm, g->pids,
			(unsigned long long)g->failed, g->k.exe ? g->k.exe : "-",
			r->multi_host ? " on " : "", r->multi_host ? host_name(r, g->k.host) : "");
		if (g->cmdline)
			print_cmdline(f, g->cmdline);
		size_t nt = g->ntop < (wide ? 8u : 3u) ? g->ntop : (wide ? 8u : 3u);
		for (size_t j = 0; j < nt; j++) {
			dest_text(text, sizeof(text), &dests[g->top[j]].k);
			fprintf(f, "  %10s %6s    -> %-44s %llu\n", "", "", text,
				(unsigned long long)g->top_count[j]);
		}
	}
}

static void print_ports(struct report *r, struct derived *d, FILE *f)
{
	size_t n = limit(r, d->nports);
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
static unsigned next_family(const struct report *r, unsigned fam)
{
	while (fam < 65536) {
		uint64_t w = r->family_seen[fam >> 6] >> (fam & 63);
		if (w)
			return fam + (unsigned)__builtin_ctzll(w);
		fam = (fam | 63) + 1;
	}
	return fam;
}

static void print_families(struct report *r, FILE *f)
{
	fprintf(f, "\nFamilies\n");
	for (unsigned fam = next_family(r, 0); fam < 65536; fam = next_family(r, fam + 1)) {
		if (!r->families[fam])
			continue;
		const char *n = ct_family_name((uint16_t)fam);
		char other[24];
		if (!n) {
			snprintf(other, sizeof(other), "family %u", fam);
			n = other;
		}
		fprintf(f, "  %10llu %5.1f%%  %s\n", (unsigned long long)r->families[fam],
			pct(r->families[fam], r->events), n);
	}
}

static void print_results(struct report *r, FILE *f)
{
	fprintf(f, "\nOutcomes\n");
	for (int o = 0; o < O_N; o++) {
		if (!r->outcome[o] && o != O_OK)
			continue;
		fprintf(f, "  %10llu %5.1f%%  %s", (unsigned long long)r->outcome[o],
			pct(r->outcome[o], r->events), outcome_names[o]);
		if (o == O_OTHER) {
			/* name the errnos behind "other", biggest first, up to 5 */
			int shown[5], ns = 0;
			for (int e = 1; e < 4096; e++) {
				struct ct_event probe = {.flags = CT_EV_RET, .ret = -e};
				if (!r->errnos[e] || classify(&probe) != O_OTHER)
					continue;
				int j = ns < 5 ? ns++ : 4;
				if (j == 4 && ns == 5 && r->errnos[shown[4]] >= r->errnos[e])
					continue;
				shown[j] = e;
				for (; j > 0 && r->errnos[shown[j]] > r->errnos[shown[j - 1]];
				     j--) {
					int t = shown[j];
					shown[j] = shown[j - 1];
					shown[j - 1] = t;
				}
			}
			for (int k = 0; k < ns; k++) {
				const char *name = ct_errno_name(shown[k]);
				fprintf(f, "%s%s %llu", k ? ", " : " (", name ? name : "?",
					(unsigned long long)r->errnos[shown[k]]);
			}
			if (ns)
				fputc(')', f);
		}
		fputc('\n', f);
	}
}

static void print_text(struct report *r, struct derived *d, FILE *f)
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
	if (!by)
		print_rate(r, f);
}

/* ---------------------------------------------------------------- JSON */

static void json_time(struct ct_buf *b, const char *key, int64_t wall)
{
	char t[48];
	ct_fmt_rfc3339(t, sizeof(t), wall);
	ct_buf_printf(b, "\"%s\":\"%s\",\"%s_ns\":%lld", key, t, key, (long long)wall);
}

static void json_dest_fields(struct ct_buf *b, const struct dest_key *k)
{
	char text[4 * CT_UNIX_PATH_MAX + 16];
	dest_text(text, sizeof(text), k);
	ct_buf_puts(b, "\"dest\":");
	ct_buf_json_str(b, text, strlen(text));
	const char *fam = ct_family_name(k->family);
	if (fam)
		ct_buf_printf(b, ",\"family\":\"%s\"", fam);
	else
		ct_buf_printf(b, ",\"family\":%u", k->family);
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

static void print_json(struct report *r, struct derived *d, FILE *f)
{
	struct ct_buf b = {0};
	struct ct_reader_stats st;
	struct dest *dests = (struct dest *)r->dests.items;

	ct_session_stats(r->s, &st);
	ct_buf_puts(&b, "{\"inputs\":[");
	for (unsigned i = 0; i < ct_session_ninputs(r->s); i++) {
		const struct ct_input *in = ct_session_input(r->s, i);
		const struct ct_header *h = in->hdr;
		ct_buf_puts(&b, i ? ",{\"path\":" : "{\"path\":");
		ct_buf_json_str(&b, in->path, strlen(in->path));
		const char *fields[][2] = {{"host", h->hostname},     {"kernel", h->kernel},
					   {"arch", h->arch},	      {"backend", h->backend},
					   {"recorder", h->recorder}, {"cmdline", h->cmdline}};
		for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
			if (!fields[k][1])
				continue;
			ct_buf_printf(&b, ",\"%s\":", fields[k][0]);
			ct_buf_json_str(&b, fields[k][1], strlen(fields[k][1]));
		}
		ct_buf_printf(&b, ",\"host_index\":%u}", in->host_index);
	}
	ct_buf_puts(&b, "],");
	json_time(&b, "trace_start", ct_session_start_wall(r->s));
	ct_buf_printf(&b, ",\"hosts\":%u,\"events\":%llu,\"events_read\":%llu,",
		      ct_session_nhosts(r->s), (unsigned long long)r->events,
		      (unsigned long long)st.events);
	if (r->events) {
		ct_buf_puts(&b, "\"span\":{");
		json_time(&b, "first", r->first_wall);
		ct_buf_put(&b, ",", 1);
		json_time(&b, "last", r->last_wall);
		ct_buf_printf(&b, ",\"duration_ns\":%lld},",
			      (long long)(r->last_wall - r->first_wall));
	}
	ct_buf_printf(&b, "\"lost\":{\"events\":%llu,\"records\":%llu", (unsigned long long)r->lost,
		      (unsigned long long)r->lost_records);
	if (r->lost_records) {
		ct_buf_put(&b, ",", 1);
		json_time(&b, "first", r->lost_first);
		ct_buf_put(&b, ",", 1);
		json_time(&b, "last", r->lost_last);
	}
	ct_buf_printf(&b,
		      "},\"chunks\":{\"total\":%u,\"read\":%u,\"skipped\":%u,\"damaged\":%u,"
		      "\"index_present\":%s}",
		      st.event_chunks, st.chunks_read, st.chunks_skipped, st.chunks_damaged,
		      st.index_present ? "true" : "false");

	const char *by = r->by;
	if (!by || !strcmp(by, "dest")) {
		ct_buf_printf(&b, ",\"destinations_total\":%zu,\"destinations\":[", d->ndests);
		size_t n = limit(r, d->ndests);
		for (size_t i = 0; i < n; i++) {
			const struct dest *dd = &dests[d->dest_order[i]];
			ct_buf_puts(&b, i ? ",{" : "{");
			json_dest_fields(&b, &dd->k);
			if (r->multi_host) {
				const char *h = host_name(r, dd->k.host);
				ct_buf_puts(&b, ",\"host\":");
				ct_buf_json_str(&b, h, strlen(h));
			}
			ct_buf_printf(&b, ",\"count\":%llu,\"programs\":%u,\"failed\":%llu,",
				      (unsigned long long)dd->count, dd->procs,
				      (unsigned long long)dd->failed);
			json_time(&b, "first", dd->first);
			ct_buf_put(&b, ",", 1);
			json_time(&b, "last", dd->last);
			ct_buf_put(&b, "}", 1);
		}
		ct_buf_put(&b, "]", 1);
	}
	if (!by || !strcmp(by, "process")) {
		ct_buf_printf(&b, ",\"processes_total\":%zu,\"processes\":[", d->ngroups);
		size_t n = limit(r, d->ngroups);
		for (size_t i = 0; i < n; i++) {
			const struct proc_group *g = &d->groups[i];
			ct_buf_puts(&b, i ? ",{\"comm\":" : "{\"comm\":");
			ct_buf_json_str(&b, g->k.comm, strnlen(g->k.comm, CT_COMM_LEN));
			if (g->k.exe) {
				ct_buf_puts(&b, ",\"exe\":");
				ct_buf_json_str(&b, g->k.exe, strlen(g->k.exe));
			}
			if (g->cmdline) {
				ct_buf_puts(&b, ",\"cmdline\":");
				ct_buf_json_str(&b, g->cmdline, strlen(g->cmdline));
			}
			if (r->multi_host) {
				const char *h = host_name(r, g->k.host);
				ct_buf_puts(&b, ",\"host\":");
				ct_buf_json_str(&b, h, strlen(h));
			}
			ct_buf_printf(
			    &b,
			    ",\"count\":%llu,\"pids\":%u,\"failed\":%llu,\"top_destinations\":[",
			    (unsigned long long)g->count, g->pids, (unsigned long long)g->failed);
			size_t nt = g->ntop < 5 ? g->ntop : 5;
			for (size_t j = 0; j < nt; j++) {
				ct_buf_puts(&b, j ? ",{" : "{");
				json_dest_fields(&b, &dests[g->top[j]].k);
				ct_buf_printf(&b, ",\"count\":%llu}",
					      (unsigned long long)g->top_count[j]);
			}
			ct_buf_puts(&b, "]}");
		}
		ct_buf_put(&b, "]", 1);
	}
	if (!by || !strcmp(by, "port")) {
		ct_buf_printf(&b, ",\"ports_total\":%zu,\"ports\":[", d->nports);
		size_t n = limit(r, d->nports);
		for (size_t i = 0; i < n; i++) {
			const struct port_group *p = &d->ports[i];
			const char *proto = ct_proto_short(p->proto);
			ct_buf_puts(&b, i ? ",{" : "{");
			if (proto)
				ct_buf_printf(&b, "\"proto\":\"%s\"", proto);
			else
				ct_buf_printf(&b, "\"proto\":%u", p->proto);
			ct_buf_printf(
			    &b, ",\"port\":%u,\"count\":%llu,\"destinations\":%u,\"failed\":%llu}",
			    p->port, (unsigned long long)p->count, p->dests,
			    (unsigned long long)p->failed);
		}
		ct_buf_put(&b, "]", 1);
	}
	if (!by || !strcmp(by, "family")) {
		ct_buf_puts(&b, ",\"families\":{");
		int first = 1;
		for (unsigned fam = next_family(r, 0); fam < 65536; fam = next_family(r, fam + 1)) {
			if (!r->families[fam])
				continue;
			const char *n = ct_family_name((uint16_t)fam);
			if (n)
				ct_buf_printf(&b, "%s\"%s\":%llu", first ? "" : ",", n,
					      (unsigned long long)r->families[fam]);
			else
				ct_buf_printf(&b, "%s\"%u\":%llu", first ? "" : ",", fam,
					      (unsigned long long)r->families[fam]);
			first = 0;
		}
		ct_buf_put(&b, "}", 1);
	}
	if (!by || !strcmp(by, "result")) {
		ct_buf_puts(&b, ",\"results\":{");
		for (int o = 0; o < O_N; o++)
			ct_buf_printf(&b, "%s\"%s\":%llu", o ? "," : "", outcome_names[o],
				      (unsigned long long)r->outcome[o]);
		ct_buf_puts(&b, "},\"errors\":{");
		int first = 1;
		for (int e = 1; e < 4096; e++) {
			if (!r->errnos[e])
				continue;
			const char *n = ct_errno_name(e);
			if (n)
				ct_buf_printf(&b, "%s\"%s\":%llu", first ? "" : ",", n,
					      (unsigned long long)r->errnos[e]);
			else
				ct_buf_printf(&b, "%s\"%d\":%llu", first ? "" : ",", -e,
					      (unsigned long long)r->errnos[e]);
			first = 0;
		}
		ct_buf_put(&b, "}", 1);
	}
	if (!by) {
		uint64_t cols[64], width;
		size_t n = fold_rate(r, cols, 64, &width);
		ct_buf_printf(&b, ",\"rate\":{\"interval_ns\":%llu,\"counts\":[",
			      (unsigned long long)width);
		for (size_t i = 0; i < n; i++)
			ct_buf_printf(&b, "%s%llu", i ? "," : "", (unsigned long long)cols[i]);
		ct_buf_puts(&b, "]}");
	}
	ct_buf_puts(&b, "}\n");
	fwrite(b.p, 1, b.len, f);
	ct_buf_free(&b);
}

static int on_end(void *ctx, struct ct_session *s)
{
	struct report *r = ctx;
	struct derived d = {0};
	(void)s;
	pipe_drain(r);
	derive(r, &d);
	if (r->json)
		print_json(r, &d, stdout);
	else
		print_text(r, &d, stdout);
	derived_free(&d);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		ct_err("writing output failed");
		return -1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: conntrail report [FILE..] [--filter EXPR] [--since T] [--until T]\n"
	    "                        [--top N] [--by dest|process|port|family|result] [--json]\n"
	    "\n"
	    "Summarise one or more traces (merged): span, hosts, events, lost events, chunks\n"
	    "read; top destinations, top processes with their destinations, ports, families,\n"
	    "outcomes and a rate sparkline. FILE defaults to conntrail.data; '-' reads stdin.\n"
	    "\n"
	    "  -F, --filter EXPR  only events matching EXPR, e.g.\n"
	    "                       comm == \"curl\" and dport == 443\n"
	    "                       daddr in 10.0.0.0/8 or daddr in fe80::/10\n"
	    "                       family == unix and path ~ \"/run/*\"\n"
	    "                       pid == 1234 or not ret == 0\n"
	    "                     fields: ts pid tid ppid uid gid comm exe cgroup container\n"
	    "                     family type proto daddr dport saddr sport path sockfd ret\n"
	    "  -S, --since T      from T: RFC 3339 (2026-11-24T13:05:00Z; no zone = UTC)\n"
	    "                     or an offset from the earliest trace start (+90s, +5m, +1h)\n"
	    "  -U, --until T      up to T (inclusive)\n"
	    "  -n, --top N        rows per section (default 10; 0 = all)\n"
	    "  -b, --by KEY       only one section, longer: dest, process, port, family, result\n"
	    "  -j, --json         the same content as one JSON document\n"
	    "  -q, --quiet        no progress bar, no damage messages\n"
	    "\n"
	    "Examples:\n"
	    "  conntrail report incident.ctr\n"
	    "  conntrail report --by process --top 20 incident.ctr\n"
	    "  conntrail report --since 2026-11-24T13:05:00Z --until +10m incident.ctr\n"
	    "  conntrail report --filter 'not ret == 0' --by dest host1.ctr host2.ctr\n"
	    "  conntrail report --json incident.ctr | jq '.destinations[0]'\n");
}

int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"filter", required_argument, NULL, 'F'},
	    {"since", required_argument, NULL, 'S'},
	    {"until", required_argument, NULL, 'U'},
	    {"top", required_argument, NULL, 'n'},
	    {"by", required_argument, NULL, 'b'},
	    {"json", no_argument, NULL, 'j'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct ct_session_opts opts = {.progress = 1};
	struct report *r = calloc(1, sizeof(*r));
	int c, top_given = 0;

	if (!r) {
		ct_err("out of memory");
		return CT_EXIT_ERROR;
	}
	r->top = 10;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "F:S:U:n:b:jqh", longopts, NULL)) != -1) {
		long long v;
		switch (c) {
		case 'F':
			opts.filter = optarg;
			break;
		case 'S':
			opts.since = optarg;
			break;
		case 'U':
			opts.until = optarg;
			break;
		case 'n':
			if (ct_parse_long(optarg, 0, 1000000000, &v)) {
				ct_err("bad --top '%s': expected a number >= 0", optarg);
				free(r);
				return CT_EXIT_USAGE;
			}
			r->top = (int)v;
			top_given = 1;
			break;
		case 'b':
			if (strcmp(optarg, "dest") && strcmp(optarg, "process") &&
			    strcmp(optarg, "port") && strcmp(optarg, "family") &&
			    strcmp(optarg, "result")) {
				ct_err(
				    "bad --by '%s': expected dest, process, port, family or result",
				    optarg);
				free(r);
				return CT_EXIT_USAGE;
			}
			r->by = optarg;
			break;
		case 'j':
			r->json = 1;
			break;
		case 'q':
			opts.quiet = 1;
			break;
		case 'h':
			usage(stdout);
			free(r);
			return CT_EXIT_OK;
		default:
			free(r);
			return ct_bad_option(argv);
		}
	}
	if (r->by && !top_given)
		r->top = 50;
	opts.paths = (const char *const *)argv + optind;
	opts.npaths = (unsigned)(argc - optind);

	/* Block characters only on a UTF-8 terminal locale (LC_ALL=C: ASCII). */
	setlocale(LC_CTYPE, "");
	const char *cs = nl_langinfo(CODESET);
	r->utf8 = cs && !strcmp(cs, "UTF-8");
	setlocale(LC_CTYPE, "C");

	outcome_table_init();
	table_init(&r->dests, sizeof(struct dest), sizeof(struct dest_key));
	table_init(&r->strings, sizeof(struct str_item), sizeof(uint64_t));
	table_init(&r->groups, sizeof(struct proc_group), sizeof(struct group_key));
	table_init(&r->pids, sizeof(struct pid_key), sizeof(struct pid_key));
	table_init(&r->cmds, sizeof(struct cmd_item), sizeof(struct cmd_key));
	static const struct ct_session_ops ops = {
	    .begin = on_begin,
	    .event = on_event,
	    .batch = on_batch,
	    .lost = on_lost,
	    .end = on_end,
	};
	int status = ct_session_run(&opts, &ops, r);
	for (size_t i = 0; i < r->strings.count; i++)
		free(((struct str_item *)table_item(&r->strings, i))->s);
	table_free(&r->dests);
	table_release(r->islots, r->icap * sizeof(*r->islots));
	free(r->b.pgroup), free(r->b.pfailed);
	table_release(r->b.dst, r->b.dcap * sizeof(*r->b.dst));
	table_release(r->b.pairs, r->b.pairs_cap * sizeof(*r->b.pairs));
	free(r->b.dflags), free(r->b.gdest);
	free(r->b.dhash), free(r->b.ops);
	table_release(r->iids, r->iid_cap * sizeof(*r->iids));
	free(r->dstat);
	table_release(r->pairs, r->pairs_cap * sizeof(*r->pairs));
	table_free(&r->strings);
	table_free(&r->groups);
	table_free(&r->pids);
	table_free(&r->cmds);
	free(r->serials);
	free(r->wall_off);
	free(r->host_of);
	free(r);
	return status;
}
