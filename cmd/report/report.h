/* SPDX-License-Identifier: MIT */
/*
 * report.h: `conntrail report`, in the parts perf's report has: the state
 * and its tables (tables.c), counting batches of events into it (tally.c),
 * ordering what was counted (derive.c), and printing it as text (text.c) or
 * JSON (json.c); cmd_report.c is the command around them.
 *
 * Memory grows with processes, destinations and their pairs, never with
 * events: per chunk, events are counted into small arrays indexed by the
 * chunk's own tables, which are added to a tally's tables once a chunk.
 * With more than one job, the batches go to counting threads (pool.c),
 * each with a tally of its own, a fixed number of batches in flight.
 */
#ifndef CONNTRAIL_REPORT_H
#define CONNTRAIL_REPORT_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "format/ctrace.h"
#include "lib/strbuf.h"
#include "session/session.h"

/* ---------------------------------------------------------- tables.c */

uint64_t rp_hash_bytes(const void *p, size_t n);

static inline uint64_t rp_hash_mix(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0xff51afd7ed558ccdULL;
	return h ^ (h >> 32);
}

/* rp_hash_bytes of a 32-byte key given as words (little-endian hosts). */
static inline uint64_t rp_hash_words(uint64_t w0, uint64_t w1, uint64_t w2, uint64_t w3)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ 32;
	h = rp_hash_mix(rp_hash_mix(rp_hash_mix(rp_hash_mix(h, w0), w1), w2), w3);
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
void rp_table_init(struct table *t, size_t item_size, size_t key_len);
static inline void *rp_table_item(const struct table *t, size_t i)
{
	return t->items + i * t->item_size;
}
/* Index of the item with this key, created zeroed (key copied) if new. */
size_t rp_table_get(struct table *t, const void *key, int *created);
/* Index of the item with this key, or SIZE_MAX. */
size_t rp_table_find(const struct table *t, const void *key);
void rp_table_free(struct table *t);

/* Zeroed memory for a hash table probed at random, or an array that grows
 * large: from 512 KiB on in transparent huge pages (filling 4 KiB pages
 * one fault at a time was a twentieth of a full scan here). Given back
 * with rp_table_release and the same size. Out of memory is fatal. */
void *rp_table_alloc(size_t size);
/* mem (size bytes, from rp_table_alloc or NULL with 0) moved to a block of
 * new_size, the rest zeroed. */
void *rp_table_grow(void *mem, size_t size, size_t new_size);
void rp_table_release(void *mem, size_t size);

/* (program, destination) -> count, inline in the slots so a lookup costs
 * one cache line. key = (group + 1) << 32 | dest; 0 empty. */
struct pair {
	uint64_t key;
	uint64_t count;
};
static inline uint64_t rp_pair_hash(uint64_t key)
{
	uint64_t h = key * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 32);
}
/* Add n to key's count (a slot made if new), growing at 3/4 full. */
void rp_pairs_add(struct pair **pairs, size_t *cap, size_t *count, uint64_t key, uint64_t n);
/* Room for more pairs: double (or make one of 4096). */
void rp_pairs_grow(struct pair **pairs, size_t *cap);

/* ------------------------------------------------------------- state */

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
	uint64_t tx, rx; /* bytes of its closed connections (--sort bytes) */
};

/* Per destination counters, dense by dest id. */
struct dstat {
	uint64_t count, failed;
	int64_t first, last;
};

/* (host, pid, group): which pids ran each program. Grows with processes. */
struct pid_key {
	uint32_t pid;
	uint16_t host;
	uint16_t pad;
	uint32_t group;
};

/* The program of a process-table state, by the session's dense serial
 * number: one array access per process instead of a hash lookup. comm is
 * checked because a process may rename itself without an exec. */
struct serial_slot {
	uint32_t group1; /* group + 1; 0 unknown */
	uint32_t uid;	 /* a process may change its uid without an exec */
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

/* Processes the table does not know (serial 0) by pid, direct-mapped:
 * their program is (host, comm, no exe), stable while pid and comm are. */
#define UNKNOWN_CACHE 1024
struct unknown_slot {
	uint32_t pid;
	uint16_t host;
	uint16_t used;
	uint32_t group;
	uint32_t uid;
	char comm[CT_COMM_LEN];
};

/* What the process rows group by (--by): the program (comm, exe) by
 * default, or one of pid, exe, cmdline, uid, host, container. */
enum group_by { G_PROCESS, G_PID, G_EXE, G_CMDLINE, G_UID, G_HOST, G_CONTAINER };

/* A process group: host and the --by key: comm and exe (an interned
 * pointer) for programs, id a pid or uid, str an interned exe, command
 * line or container; what the key does not use is zero. */
struct group_key {
	uint16_t host;
	uint8_t pad[2];
	uint32_t id;
	char comm[CT_COMM_LEN];
	const char *exe;
};

#define GROUP_CMDS 4  /* command lines shown under a row */
#define GROUP_EXITS 4 /* exit statuses shown under a row */
struct proc_group {
	struct group_key k;
	uint64_t count, failed;
	uint32_t pids;
	uint32_t ntop;
	uint32_t top[8]; /* top destinations */
	uint64_t top_count[8];
	const char *cmdline; /* the most frequent, NULL when unknown */
	uint64_t cmd_procs;
	/* Its distinct command lines, most processes first. */
	const char *cmds[GROUP_CMDS];
	uint64_t cmd_n[GROUP_CMDS];
	uint32_t ncmds, ncmds_total;
	/* How its processes exited (wait statuses), most frequent first. */
	int32_t exit_status[GROUP_EXITS];
	uint32_t exit_n[GROUP_EXITS];
	uint32_t nexits, exits_other;
	/* --by container: the container's names (interned), as ct_procinfo.ctr */
	const char *ctr[CT_CTR_N];
};

/* The last exit record of (host, pid). */
struct exit_item {
	uint32_t pid;
	uint16_t host;
	uint16_t known;
	int32_t status;
	char comm[CT_COMM_LEN];
};

#define RATE_BUCKETS 4096

/* How a connect ended, finally: the handshake's outcome where connect(2)
 * left it in progress. Abandoned and unknown are no failures. */
enum outcome {
	O_OK,
	O_REFUSED,
	O_TIMEOUT,
	O_UNREACH,
	O_DENIED,
	O_OTHER,
	O_ABANDONED,
	O_UNKNOWN,
	O_N
};
extern const char *const rp_outcome_names[O_N];

/* A destination of the chunk being counted: its counters and, inline in
 * the same cache line, the first programs that connected there with their
 * counts; more programs than that go to the chunk's pair table. */
#define BDEST_GROUPS 4 /* group_match compares four at once */
struct bdest {
	struct dstat st;
	uint32_t group1[BDEST_GROUPS]; /* group + 1; 0 free */
	uint32_t count[BDEST_GROUPS];
} __attribute__((aligned(64)));

/* Inet destination ids by their 24 key bytes (host, family, proto, dport,
 * address), one cache line a probe: the way from a chunk's destination to
 * the report's destination table, whose keys are 136 bytes. */
struct inet_id {
	uint64_t w[3];
	uint32_t id1; /* id + 1; 0 empty */
	uint32_t pad;
};

enum sort_by { SORT_CONNECTS, SORT_FAILED, SORT_BYTES };

/* A program's counters, by group id, in a tally. */
struct gstat {
	uint64_t count, failed;
};

/*
 * What counting threads count: destinations (ids of the tally's own, by
 * key), (program, destination) pairs, programs' connects and failures by
 * the report's group ids, families, outcomes, errnos and the rate. Each
 * counting thread has one; they are added up at the end (rp_tally_merge),
 * and nothing in the output depends on which tally counted what or on
 * the order of their destination ids: everything is sorted by keys.
 */
struct tally {
	struct table dests;
	struct dstat *dstat;   /* by dest id */
	uint64_t (*dbytes)[2]; /* by dest id: tx, rx (--sort bytes) */
	size_t dstat_cap;
	struct pair *pairs;
	size_t pairs_cap, npairs;
	struct gstat *gstat; /* by group id */
	size_t gstat_cap;
	struct batch_scratch {
		uint64_t *pfailed;     /* per process of the chunk */
		struct bdest *dst;     /* per destination */
		uint64_t (*dbytes)[2]; /* per destination: tx, rx */
		uint16_t *dflags;      /* per destination: first event's flags */
		uint32_t *gdest;       /* per destination: the tally's id */
		uint64_t *dhash;       /* per destination: inet id hash */
		uint32_t *dtouched, ndtouched;
		struct pair *ops; /* pair counts on their way */
		size_t ops_cap;
		struct pair *pairs; /* (program, destination) -> count */
		size_t pcap, dcap, pairs_cap, npairs;
	} b;
	struct inet_id *iids;
	size_t iid_cap, iid_count;
	uint64_t families[65536];
	/* A bit per family counted: the printers visit those, not 512 KiB. */
	uint64_t family_seen[65536 / 64];
	uint64_t errnos[4096];
	uint64_t outcome[O_N];
	/* rate histogram: bucket = (wall - origin) >> shift, at the scale the
	 * report had after the last batch counted here (see rate_plan) */
	uint64_t rate[RATE_BUCKETS];
	int64_t origin;
	unsigned shift;
	int rate_started;
};

/* A batch as a tally counts it. The program of event i is
 * pgroup[task[i]]; ~0 there only when counting on the report's thread
 * (r set), which then looks it up on first use and notes the process in
 * ptouched. origin and shift: the rate's scale with this batch counted. */
/* The event columns a tally reads: a batch's own, or a job's copies. */
struct tcols {
	const uint64_t *ts;
	const uint32_t *task, *dest;
	const uint16_t *flags;
	const int32_t *result;
	const uint64_t *tx, *rx; /* NULL unless the batch has closes */
};

struct tjob {
	uint32_t n, ntasks, ndests;
	struct tcols c;
	const struct ct_dest *dests;
	uint32_t *pgroup;
	uint32_t *ptouched;
	uint32_t nptouched;
	uint32_t ngroups; /* groups known when the job was made */
	int64_t off;
	uint16_t host;
	int64_t origin;
	unsigned shift;
	struct report *r;	  /* counting inline: the report, else NULL */
	const struct ct_batch *b; /* inline: the batch */
};

struct rp_pool;

struct report {
	struct ct_session *s;
	struct ct_session_opts *opts; /* while parsing options */
	int json, top, top_given;
	const char *by;
	enum group_by group_by;
	const char *by_name; /* --by's key for the process rows: "pid", ... */
	enum sort_by sort;
	int utf8;
	int multi_host;
	struct table groups, strings, pids, cmds, exits;
	/* exits.c: every exit record, in order */
	struct exit_rec *exit_recs;
	size_t exit_n, exit_cap;
	/* The tallies: tl[0] alone with one job, else one a counting thread;
	 * after rp_tally_finish tl[0] holds the sums. */
	struct tally *tl;
	unsigned ntl;
	struct rp_pool *pool; /* counting threads, NULL with one job */
	/* Per process of the batch being handed on: its group, or ~0. */
	uint32_t *pgroup, *ptouched;
	uint32_t nptouched;
	size_t pgroup_cap;
	struct serial_slot *serials;
	size_t serials_cap;
	struct unknown_slot unknown[UNKNOWN_CACHE];
	int64_t *wall_off; /* per input */
	uint16_t *host_of; /* per input: host index, 0 with one host */
	uint64_t events;
	int64_t first_wall, last_wall;
	/* The rate's scale, planned batch by batch on the report's thread:
	 * origin and shift as counting every event in order would leave them
	 * (rate_max: the latest time counted). */
	int64_t origin, rate_max;
	unsigned shift;
	int rate_started;
	/* lost */
	uint64_t lost, lost_records, lost_outcomes, lost_procs, lost_names;
	int64_t lost_first, lost_last;
};

/* ----------------------------------------------------------- tally.c */

enum outcome rp_classify(uint16_t flags, int32_t result);
/* A destination's key in the report (flags: CT_EV_ABSTRACT). */
void rp_dest_key(struct dest_key *k, uint16_t host, const struct ct_dest *d, uint16_t flags);
/* n zeroed tallies (calloc), and the classification table ready. */
struct tally *rp_tallies_new(unsigned n);
/* What t holds (not t). */
void rp_tally_free(struct tally *t);
/* Count a batch (any thread: it touches t alone, and with j->r set the
 * report's group tables). */
void rp_tally_batch(struct tally *t, struct tjob *j);
/* Add src's counts to dst (dst's scale: origin, shift). */
void rp_tally_merge(struct tally *dst, struct tally *src, int64_t origin, unsigned shift);

/* ---------------------------------------------------------- groups.c */

void rp_init(struct report *r);
void rp_free(struct report *r);
void rp_exits_init(struct report *r);
void rp_exits_free(struct report *r);
void rp_exits_add(struct report *r, uint32_t pid, uint16_t host, int32_t status,
		  const char comm[CT_COMM_LEN]);
void rp_exits_resolve(struct report *r);
int rp_on_begin(void *ctx, struct ct_session *s);
int rp_on_lost(void *ctx, const struct ct_lost *l, unsigned input);
int rp_on_proc(void *ctx, const struct ct_proc *p, unsigned input);
/* The group of task p of b, looked up in the process table's view and
 * noted in r->pgroup and r->ptouched. Report's thread only. */
uint32_t rp_batch_group(struct report *r, const struct ct_batch *b, uint32_t p, uint16_t host);

/* ------------------------------------------------------------ pool.c */

int rp_on_batch(void *ctx, const struct ct_batch *b, unsigned input);
/* Counting threads for jobs > 1 (none for 1): 0, or -1 (said). */
int rp_pool_start(struct report *r, unsigned jobs);
/* Wait for every batch to be counted, stop the threads and add the
 * tallies up into tl[0] (the groups' counts into r->groups). */
void rp_tally_finish(struct report *r);
/* Stop the threads without counting what is left (an error). */
void rp_pool_stop(struct report *r);

/* ---------------------------------------------------------- derive.c */

struct port_group {
	uint16_t proto, port;
	uint64_t count, failed;
	uint32_t dests;
};

struct derived {
	uint32_t *dest_order; /* dest indexes in the --sort order */
	size_t ndests;
	struct proc_group *groups; /* sorted by count */
	size_t ngroups;
	struct port_group *ports;
	size_t nports;
};
void rp_derive(struct report *r, struct derived *d);
void rp_derived_free(struct derived *d);

/* ------------------------------------------------------------ text.c */

void rp_print_text(struct report *r, struct derived *d, FILE *f);
/* Shared with json.c. */
const char *rp_host_name(struct report *r, uint16_t host);
void rp_dest_text(char *buf, size_t size, const struct dest_key *k);

/* names.c: DNS names (one report a process). */
void rp_names_answer(const char *name);
void rp_names_batch(const struct ct_batch *b, uint16_t host);
/* The name the latest connect to k's address was joined to, or NULL. */
const char *rp_names_of(const struct dest_key *k);
void rp_names_print_text(const struct report *r, FILE *f, int top);
void rp_names_json(struct ct_buf *b);
void rp_names_free(void);
size_t rp_limit(const struct report *r, size_t n);
size_t rp_fold_rate(const struct report *r, uint64_t *out, size_t cols, uint64_t *width_ns);
unsigned rp_next_family(const struct report *r, unsigned fam);

/* ------------------------------------------------------------ json.c */

void rp_print_json(struct report *r, struct derived *d, FILE *f);

#endif
