/* SPDX-License-Identifier: MIT */
/*
 * ctrace.h: the conntrail trace file library, its one public header.
 *
 * The on-disk layout is specified in format/FORMAT.md. Handles are opaque;
 * every function that can fail returns 0 (or a positive count) on success
 * and a negative CT_E_* code on failure; ct_strerror() names it.
 * Reader and writer do all I/O through callbacks so tests run in memory.
 *
 * One event type flows through every layer: struct ct_event, which names
 * its process context (struct ct_task) and destination (struct ct_dest) by
 * pointer. The reader hands out events a chunk at a time, as the columns of
 * a struct ct_batch; an event is a view of one row of it (ct_batch_event).
 *
 * Byte order: everything in these structs is host byte order except the
 * address bytes (daddr, saddr), which are network byte order as on the wire.
 */
#ifndef CONNTRAIL_CTRACE_H
#define CONNTRAIL_CTRACE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CT_FORMAT_MAJOR 2 /* the reader also reads 1.x */
#define CT_FORMAT_MINOR 1

#define CT_COMM_LEN 16
#define CT_UNIX_PATH_MAX 108

enum ct_error {
	CT_E_IO = -1,	     /* read or write failed (errno kept by the callback) */
	CT_E_NOMEM = -2,     /* allocation failed */
	CT_E_MAGIC = -3,     /* not a conntrail trace file */
	CT_E_VERSION = -4,   /* written by a newer, incompatible major version */
	CT_E_TRUNCATED = -5, /* file ends inside its header */
	CT_E_CORRUPT = -6,   /* damaged beyond what can be skipped */
	CT_E_INVAL = -7,     /* bad argument */
	CT_E_CODEC = -8,     /* unknown compression or (de)compressor failure */
	CT_E_NOSPC = -9,     /* device full while writing */
};

/* A static string for a CT_E_* code (or "unknown error"). */
const char *ct_strerror(int err);

enum ct_compress {
	CT_COMP_NONE = 0,
	CT_COMP_ZSTD = 1,
	CT_COMP_ZLIB = 2,
};
/* "none", "zstd", "zlib", or "unknown" for a codec this reader lacks. */
const char *ct_codec_name(int codec);

/* ----------------------------------------------------------------- events */

/* Who connected: the process context of an event, as the process table of
 * a chunk holds it. */
struct ct_task {
	uint64_t cgroup_id; /* cgroup v2 id of the task, 0 unknown */
	uint32_t pid;	    /* tgid */
	uint32_t ppid;
	uint32_t uid;
	uint32_t gid;
	char comm[CT_COMM_LEN]; /* NUL-padded */
};

/* Where to: the address the connect asked for, as the destination table of
 * a chunk holds it. Families, types and protocols are Linux numbers
 * (AF_INET = 2, AF_INET6 = 10, AF_UNIX = 1; SOCK_STREAM = 1; TCP = 6). */
struct ct_dest {
	uint8_t daddr[16]; /* network order; IPv4 in daddr[0..3], the rest zero */
	uint32_t scope_id; /* IPv6 sin6_scope_id */
	uint16_t family;
	uint16_t type; /* SOCK_STREAM, SOCK_DGRAM, ... (flags masked off) */
	uint16_t proto;
	uint16_t dport;	  /* host byte order */
	uint8_t path_len; /* bytes of path; an abstract name counts its NUL */
	uint8_t _pad[3];
	const char *path; /* sun_path bytes (path_len of them), not NUL-terminated */
};

/* What a process table knows about the process behind an event beyond its
 * context: the session layer keeps one from process records. Strings are
 * NULL when unknown. */
/* ct_procinfo.ctr: a container's names, in the order of their JSON keys
 * container_name, image, pod, k8s_namespace. */
enum ct_ctr_name { CT_CTR_NAME, CT_CTR_IMAGE, CT_CTR_POD, CT_CTR_NS, CT_CTR_N };
struct ct_procinfo {
	const char *exe;       /* absolute path of the executable */
	const char *cmdline;   /* arguments joined by single spaces */
	const char *container; /* container id from the cgroup path */
	/* What the container runtime's state on disk says of that container,
	 * by enum ct_ctr_name: its name, image, and Kubernetes pod and
	 * namespace (NULL unknown; the process record's strings). */
	const char *ctr[4];
	/* Changes whenever the table's entry for this process is created or
	 * updated (snapshot, fork, exec, pid reuse); 0 when the table does not
	 * know the process. Lets callers cache what they derived from it. */
	uint64_t serial;
};

/* ct_event.flags. The low byte is stored with the event; the outcome bits
 * come from outcome records joined at read time. */
#define CT_EV_RET 0x0001       /* ret holds what connect(2) returned */
#define CT_EV_LATENCY 0x0002   /* latency_ns holds how long connect blocked */
#define CT_EV_SADDR 0x0004     /* saddr/sport hold the local end the kernel chose */
#define CT_EV_ABSTRACT 0x0008  /* AF_UNIX abstract name: path[0] is the NUL */
#define CT_EV_TRACKED 0x0010   /* the recorder followed this TCP handshake */
#define CT_EV_STORED 0x00ff    /* the bits a writer keeps */
#define CT_EV_RESULT 0x0100    /* result holds the final outcome */
#define CT_EV_ABANDONED 0x0200 /* closed by its program before the handshake ended */
#define CT_EV_CLOSED 0x0400    /* established, then closed: closed_ns, tx/rx_bytes */
#define CT_EV_OPEN 0x0800      /* established and still open when recording stopped */
#define CT_EV_OUTCOME (CT_EV_RESULT | CT_EV_ABANDONED | CT_EV_CLOSED | CT_EV_OPEN)

/*
 * One connect attempt. The final outcome (result) is, for a TCP handshake
 * that connect(2) left in progress, what the handshake came to; for any
 * other connect, what connect(2) returned. Neither CT_EV_RESULT nor
 * CT_EV_ABANDONED: unknown (recording stopped, or the outcome was lost).
 */
struct ct_event {
	uint64_t ts_ns;			/* kernel clock (header.clock_id), see ct_header */
	const struct ct_task *task;	/* who */
	const struct ct_dest *dest;	/* where to */
	const struct ct_procinfo *proc; /* set by the session layer; NULL from the reader */
	const char *dname; /* the DNS name joined to daddr by the session layer, or NULL */
	uint32_t tid;
	int32_t sockfd;	     /* connect(2)'s fd; -1 when not from that syscall */
	int32_t ret;	     /* 0 or -errno; valid with CT_EV_RET */
	int32_t result;	     /* 0 or -errno; valid with CT_EV_RESULT */
	uint64_t latency_ns; /* valid with CT_EV_LATENCY */
	uint64_t result_ns;  /* attempt to outcome, with CT_EV_RESULT or _ABANDONED */
	uint64_t closed_ns;  /* attempt to close, with CT_EV_CLOSED */
	uint64_t tx_bytes;   /* acknowledged by the peer, with CT_EV_CLOSED */
	uint64_t rx_bytes;   /* received, with CT_EV_CLOSED */
	uint16_t sport;	     /* host byte order, valid with CT_EV_SADDR */
	uint16_t flags;	     /* CT_EV_* */
	uint8_t saddr[16];   /* network order; valid with CT_EV_SADDR */
};

/* How an attempt ended, told after the event was written (the writer joins
 * it to the event; the reader hands it to the event's fields). ts_ns and tid
 * name the attempt; durations count from its ts_ns. */
#define CT_OC_RESULT 0x01    /* result: the handshake's outcome */
#define CT_OC_ABANDONED 0x02 /* closed by its program before the handshake ended */
#define CT_OC_CLOSED 0x04    /* closed after it was established */
#define CT_OC_OPEN 0x08	     /* still open when recording stopped */
struct ct_outcome {
	uint64_t ts_ns; /* the attempt's ct_event.ts_ns */
	uint32_t tid;	/* and tid */
	uint32_t flags; /* CT_OC_* */
	int32_t result; /* 0 or -errno, with CT_OC_RESULT */
	uint32_t _pad;
	uint64_t result_ns;	     /* attempt to outcome (CT_OC_RESULT, CT_OC_ABANDONED) */
	uint64_t closed_ns;	     /* attempt to close (CT_OC_CLOSED) */
	uint64_t tx_bytes, rx_bytes; /* CT_OC_CLOSED */
};

enum ct_proc_kind {
	CT_PROC_SNAPSHOT = 1, /* running when record started (read from /proc) */
	CT_PROC_EXEC = 2,     /* execve while recording */
	CT_PROC_EXIT = 3,     /* process exited */
	CT_PROC_FORK = 4,     /* new process */
};

/* A process record. Strings are NUL-terminated, NULL when unknown. */
struct ct_proc {
	uint64_t ts_ns;
	struct ct_task task;
	int32_t exit_code; /* CT_PROC_EXIT only: wait(2) status */
	uint16_t kind;	   /* enum ct_proc_kind */
	uint16_t _pad;
	const char *exe;       /* absolute path of the executable */
	const char *cmdline;   /* arguments joined by single spaces */
	const char *container; /* container id from the cgroup path */
	/* From the container runtime's state on disk, read by the recorder
	 * (format 2.1, optional strings after container): NULL unknown. */
	const char *container_name, *image, *pod, *k8s_namespace;
};

/* Events the kernel could not deliver (ring buffer full). */
struct ct_lost {
	uint64_t ts_ns; /* when the recorder learned of the loss */
	uint64_t count; /* records lost since the previous ct_lost of this cpu and kind */
	uint32_t cpu;	/* UINT32_MAX when summed over all CPUs */
	uint32_t kind;	/* CT_LOST_* */
};
enum ct_lost_kind {
	CT_LOST_CONNECTS = 0, /* connect events */
	CT_LOST_OUTCOMES = 1, /* outcome records: those connects read "unknown" */
	CT_LOST_PROCS = 2,    /* process records: exe, cmdline or an exit may be missing */
	CT_LOST_NAMES = 3,    /* DNS packets: names (dname) may be missing */
};

/* A DNS answer seen while recording (format 2.1, meta record type 4): the
 * name a program asked for and the addresses it resolved to, through any
 * CNAME chain. */
#define CT_NAME_MAX 253	     /* longest name kept (dotted, no trailing dot) */
#define CT_NAME_ADDRS_MAX 64 /* addresses kept per answer */
struct ct_name_addr {
	uint16_t family; /* AF_INET (2) or AF_INET6 (10) */
	uint8_t _pad[2];
	uint8_t addr[16]; /* network order; IPv4 in addr[0..3], the rest zero */
};
struct ct_name {
	uint64_t ts_ns;	    /* when the answer was received */
	uint64_t cgroup_id; /* of the receiving socket, 0 unknown */
	uint32_t pid;	    /* receiving process, 0 unknown */
	uint32_t ttl;	    /* seconds: the smallest TTL along the chain */
	const char *name;   /* NUL-terminated, lower case, no trailing dot */
	uint32_t naddrs;
	uint32_t _pad;
	const struct ct_name_addr *addrs;
};

/*
 * Joining connects to names: a table of name records by address. An event
 * at ts to daddr gets the name of the latest answer for daddr received at
 * or before ts and at most its ttl + CT_NAME_SLACK_S seconds before, one
 * received in the event's cgroup preferred (format/FORMAT.md, "Name
 * record"). Names handed out live as long as the table.
 */
#define CT_NAME_SLACK_S 5
struct ct_nametab;
struct ct_nametab *ct_nametab_new(void);
void ct_nametab_free(struct ct_nametab *t);
/* Copies what it keeps: 0 or CT_E_NOMEM. */
int ct_nametab_add(struct ct_nametab *t, const struct ct_name *n);
/* Addresses known. */
uint32_t ct_nametab_count(const struct ct_nametab *t);
/* The name of (family, addr) for an event at ts from cgroup (0 unknown):
 * NULL when none. */
const char *ct_nametab_join(const struct ct_nametab *t, uint64_t ts, uint16_t family,
			    const uint8_t *addr, uint64_t cgroup);
/* Every name such an event could be joined to, whatever its cgroup: fn is
 * called for each until it returns nonzero, which is returned. */
int ct_nametab_each(const struct ct_nametab *t, uint64_t ts, uint16_t family, const uint8_t *addr,
		    int (*fn)(void *ctx, const char *name), void *ctx);

/* ----------------------------------------------------------------- batches */

/* Columns of a batch, for ct_reader_set_columns: what a caller reads. ts,
 * task, dest and flags are always there. */
#define CT_COL_TID 0x0001
#define CT_COL_SOCKFD 0x0002
#define CT_COL_RET 0x0004	/* ret; needed for result too, so implied by it */
#define CT_COL_LATENCY 0x0008	/* latency_ns */
#define CT_COL_LOCAL 0x0010	/* sport, saddr */
#define CT_COL_RESULT 0x0020	/* result (implies ret) */
#define CT_COL_RESULT_NS 0x0040 /* result_ns (implies result and latency) */
#define CT_COL_CLOSE 0x0080	/* closed_ns, tx_bytes, rx_bytes */
#define CT_COL_ALL 0x00ff

/*
 * The events of one event chunk (or part of one: a time window, a filter,
 * a merge's slice), n of them in time order, as columns. Each event names
 * its process context and destination by an index into the chunk's two
 * tables. Columns the caller did not ask for are NULL. Valid until the next
 * call on the reader (or merge) that produced it.
 */
struct ct_batch {
	uint32_t n;
	uint32_t columns; /* CT_COL_* present */
	const uint64_t *ts_ns;
	const uint32_t *task; /* index into tasks */
	const uint32_t *dest; /* index into dests */
	const uint16_t *flags;
	const uint32_t *tid;
	const int32_t *sockfd;
	const int32_t *ret;
	const uint64_t *latency_ns;
	const uint16_t *sport;
	const uint8_t (*saddr)[16];
	const int32_t *result;
	const uint64_t *result_ns, *closed_ns, *tx_bytes, *rx_bytes;
	uint32_t ntasks, ndests;
	const struct ct_task *tasks;
	const struct ct_dest *dests;
	/* Per task entry: what the session's process table knows (NULL from
	 * the reader). */
	const struct ct_procinfo *procinfo;
	/* Per event: the DNS name the session joined to its daddr, NULL when
	 * none (the column NULL from the reader). */
	const char *const *dname;
	/* Equal for batches of the same chunk (same tables), so a caller may
	 * keep per-table state across them. */
	uint64_t tables_id;
};

/* Event i of a batch (fields of absent columns zero). */
void ct_batch_event(const struct ct_batch *b, uint32_t i, struct ct_event *ev);
/* Events [from, to) of b as a batch of their own (no copy). */
void ct_batch_slice(const struct ct_batch *b, uint32_t from, uint32_t to, struct ct_batch *out);

/* A batch's kept events copied into columns of their own: keep[0..k) are
 * indexes of b in increasing order. The copy lives in sel until the next
 * ct_batch_select on it or ct_batch_sel_free. */
struct ct_batch_sel {
	void *mem;
	size_t cap;
};
int ct_batch_select(const struct ct_batch *b, const uint32_t *keep, uint32_t k,
		    struct ct_batch_sel *sel, struct ct_batch *out);
void ct_batch_sel_free(struct ct_batch_sel *sel);

/* What ct_reader_next hands out. */
enum ct_record_type {
	CT_REC_EVENT = 1,   /* ct_reader_next_event only: one event */
	CT_REC_PROC = 2,    /* a process record */
	CT_REC_LOST = 3,    /* a lost-records record */
	CT_REC_BATCH = 4,   /* events, as a batch */
	CT_REC_OUTCOME = 5, /* read from a stream: the outcome of an attempt that
			       was already handed out (too late to join) */
	CT_REC_NAME = 6,    /* a DNS answer (meta record type 4) */
};

struct ct_record {
	uint32_t type; /* enum ct_record_type */
	union {
		struct ct_event ev;
		struct ct_proc proc;
		struct ct_lost lost;
		struct ct_outcome outcome;
		struct ct_name name;
		const struct ct_batch *batch;
	};
};

/*
 * Trace header: what an analyst needs on another machine. Strings may be
 * NULL when unknown. Wall-clock time of an event:
 *   realtime_ns = ts_ns + wall_offset_ns
 */
struct ct_header {
	uint16_t version_major; /* filled by the reader */
	uint16_t version_minor;
	uint32_t clock_id;	   /* CLOCK_MONOTONIC (1) or CLOCK_BOOTTIME (7) */
	int64_t wall_offset_ns;	   /* CLOCK_REALTIME - clock_id, sampled at start */
	uint64_t start_ts_ns;	   /* clock_id time when recording started */
	uint32_t pid_filter_count; /* informational, 0 = system-wide */
	uint32_t _pad;
	const char *hostname;
	const char *kernel;   /* uname -r */
	const char *arch;     /* uname -m */
	const char *recorder; /* "conntrail 0.3.0" */
	const char *backend;  /* "lsm", "fentry", "tracepoint", "generated" */
	const char *cmdline;  /* recorder's own command line */
	const char *filters;  /* e.g. "pid=1234", "cgroup=/sys/fs/...", "" */
	/* A file of a `record --rotate N` ring (FILE.0 .. FILE.N-1): N, and the
	 * number of this file in its recording from 0 (it is FILE.<file_seq %
	 * N>). rotate_files 0: not part of a ring. */
	uint32_t rotate_files;
	uint64_t file_seq;
};

/* realtime_ns of ts_ns for an offset: saturating at the ends of int64_t, as
 * a hostile header's offset (or a hostile time) may be anything. */
static inline int64_t ct_wall_ns(uint64_t ts_ns, int64_t wall_offset_ns)
{
	int64_t fast;
	/* The common case in a few instructions: report calls this per event. */
	if (ts_ns <= INT64_MAX && !__builtin_add_overflow((int64_t)ts_ns, wall_offset_ns, &fast))
		return fast;
	__int128 w = (__int128)ts_ns + wall_offset_ns;
	return w > INT64_MAX ? INT64_MAX : w < INT64_MIN ? INT64_MIN : (int64_t)w;
}

/* ---------------------------------------------------------------- writer */

struct ct_writer;

struct ct_writer_io {
	void *ctx;
	/* Write all len bytes; 0 on success, or a negative CT_E_* code. */
	int (*write)(void *ctx, const void *buf, size_t len);
	/* Optional: make written bytes durable/visible (fflush/fsync). */
	int (*flush)(void *ctx);
	/* Optional: release ctx, called by ct_writer_close. */
	int (*close)(void *ctx);
};

struct ct_writer_opts {
	enum ct_compress compress;  /* CT_COMP_NONE (0), _ZSTD or _ZLIB */
	int level;		    /* 0 = codec default */
	uint64_t flush_interval_ns; /* ct_writer_tick closes a chunk this old; default 1 s */
	uint32_t chunk_events;	    /* close a chunk at this many events; default 65536 */
	/* Attempts (CT_EV_TRACKED events) kept to place outcomes that arrive
	 * after the attempt's chunk was written; default 1 M. */
	uint32_t pending_max;
};

/* NULL opts are the defaults: zstd, 1 s, 65536 events. Zeroed opts are the
 * same defaults except that compress 0 means none. hdr strings are copied. */
int ct_writer_open(struct ct_writer **out, const struct ct_writer_io *io,
		   const struct ct_header *hdr, const struct ct_writer_opts *opts);
/* Writes to fd, closed by ct_writer_close when own (also on failure). */
int ct_writer_open_fd(struct ct_writer **out, int fd, int own, const struct ct_header *hdr,
		      const struct ct_writer_opts *opts);
/* path "-" writes to stdout. Creates the file 0600, refusing symlinks. */
int ct_writer_open_file(struct ct_writer **out, const char *path, const struct ct_header *hdr,
			const struct ct_writer_opts *opts);

/* ev->task and ev->dest are copied; ev->proc and the outcome fields are
 * ignored (outcomes go through ct_writer_outcome). */
int ct_writer_event(struct ct_writer *w, const struct ct_event *ev);
/* The outcome of an attempt written with ct_writer_event (in either order,
 * and any time later: an attempt's handshake and its close may be told
 * separately). One that names no attempt the writer knows is dropped. */
int ct_writer_outcome(struct ct_writer *w, const struct ct_outcome *o);
int ct_writer_proc(struct ct_writer *w, const struct ct_proc *p);
int ct_writer_lost(struct ct_writer *w, const struct ct_lost *l);
/* A DNS answer (name longer than CT_NAME_MAX or more than
 * CT_NAME_ADDRS_MAX addresses: CT_E_INVAL). */
int ct_writer_name(struct ct_writer *w, const struct ct_name *n);
/* Close the open chunk now (if any) and flush the io. */
int ct_writer_flush(struct ct_writer *w);
/* Call often from the poll loop: flushes when the open chunk is older than
 * flush_interval_ns (measured with CLOCK_MONOTONIC in user space). */
int ct_writer_tick(struct ct_writer *w);
/* Bytes written so far (what the file size will be, index excluded). */
uint64_t ct_writer_bytes(const struct ct_writer *w);
uint64_t ct_writer_events(const struct ct_writer *w);
/* Outcomes dropped so far because no attempt they name was known. */
uint64_t ct_writer_outcomes_dropped(const struct ct_writer *w);
/* Final chunk, "still open" for attempts established and not yet closed,
 * index, trailer; frees w even on error. */
int ct_writer_close(struct ct_writer *w);
/* Free without writing anything more (e.g. after a write error). */
void ct_writer_abort(struct ct_writer *w);

/* ---------------------------------------------------------------- reader */

struct ct_reader;

struct ct_reader_io {
	void *ctx;
	/* Sequential read: bytes read, 0 at end, negative CT_E_* on error. */
	ssize_t (*read)(void *ctx, void *buf, size_t len);
	/* Optional positional read (NULL for pipes); same returns as read. */
	ssize_t (*pread)(void *ctx, void *buf, size_t len, uint64_t off);
	/* Total size in bytes when pread is set, else -1. */
	int64_t size;
	/* Optional: release ctx, called by ct_reader_close. */
	int (*close)(void *ctx);
};

/* What the index (or a scan) knows about one chunk. */
struct ct_chunk_info {
	uint32_t seq;	  /* chunk number in the file, from 0 */
	uint8_t kind;	  /* enum ct_chunk_kind */
	uint8_t compress; /* enum ct_compress */
	uint16_t _pad;
	uint64_t offset; /* of the chunk header in the file */
	/* Time range of the events; of an outcome chunk, of the attempts its
	 * records name. */
	uint64_t first_ts, last_ts;
	uint32_t records;
	uint32_t comp_size, raw_size;
	uint32_t summary_len;
	uint32_t min_seq; /* outcome chunk: the oldest event chunk it names */
	uint32_t _pad2;
	const uint8_t *summary; /* opaque; ask ct_chunk_may_contain() */
};

enum ct_chunk_kind {
	CT_CHUNK_EVENTS = 1,   /* connect events only */
	CT_CHUNK_META = 2,     /* process and lost records; never skipped */
	CT_CHUNK_OUTCOMES = 4, /* how handshakes ended, by event chunk and position */
	CT_CHUNK_CLOSES = 5,   /* how established connections ended, likewise */
};

/* Keys kept in each event chunk's summary (a Bloom filter). */
enum ct_key {
	CT_KEY_PID = 1,	   /* uint32_t */
	CT_KEY_UID = 2,	   /* uint32_t */
	CT_KEY_DPORT = 3,  /* uint16_t */
	CT_KEY_DADDR = 4,  /* 4 bytes (IPv4) or 16 bytes (IPv6) */
	CT_KEY_COMM = 5,   /* string up to 16 bytes, without padding */
	CT_KEY_PATH = 6,   /* UNIX path bytes (path_len) */
	CT_KEY_FAMILY = 7, /* uint16_t */
	CT_KEY_DNAME = 9,  /* (2.1, after conntrail 0.2.1) a joinable DNS name's bytes */
	/* int32_t: the final outcome as known when the chunk was written (0 or
	 * -errno; CT_RESULT_KEY_ABANDONED, _UNKNOWN), and CT_RESULT_KEY_PENDING
	 * when an outcome may still come later. In summaries from 2.1 on. */
	CT_KEY_RESULT = 8,
};
#define CT_RESULT_KEY_ABANDONED 1
#define CT_RESULT_KEY_UNKNOWN 2
#define CT_RESULT_KEY_PENDING 3

/* 0: the chunk surely has no event with this key; 1: it may. */
int ct_chunk_may_contain(const struct ct_chunk_info *c, enum ct_key key, const void *val,
			 size_t len);

/* Reasons a chunk was reported damaged, passed to on_damage. */
struct ct_damage {
	uint32_t seq;	  /* chunk number (best guess when scanning) */
	uint64_t offset;  /* where in the file */
	const char *what; /* "checksum mismatch", "bad length", ... */
};

struct ct_reader_opts {
	/* Called for each damaged chunk; default prints one line on stderr
	 * naming the file (name below) unless quiet. */
	void (*on_damage)(void *ctx, const struct ct_damage *d);
	void *damage_ctx;
	const char *name; /* used in messages; defaults to "trace" */
	int quiet;
	/* The file is still being written (ct_reader_open_file sees its
	 * writer's lock): a missing index is said to be that, not a kill. */
	int writing;
};

/* Stats as of now; complete after ct_reader_next has returned 0. */
struct ct_reader_stats {
	int index_present; /* 1: trailer + index read; 0: rebuilt by scanning */
	uint32_t chunks;   /* all chunks known (events + meta + outcomes) */
	uint32_t event_chunks;
	uint32_t chunks_read;	 /* event chunks decompressed */
	uint32_t chunks_skipped; /* event chunks skipped by the query */
	uint32_t chunks_damaged;
	uint64_t events; /* events returned so far */
	uint64_t lost;	 /* sum of ct_lost.count (connects) returned so far */
	uint64_t bytes_read;
	uint64_t comp_bytes, raw_bytes; /* over the chunks read */
	int summaries_damaged;		/* the index's summaries failed their checksum:
					   none is used, no chunk skipped by filter */
	uint64_t outcomes_joined;	/* outcome records joined to their attempts */
	uint64_t outcomes_late;		/* stream: handed out as CT_REC_OUTCOME */
	uint64_t outcomes_unmatched;	/* naming no attempt that was read */
	uint64_t outcomes_over_budget;	/* not held: the join's memory budget was full */
	int index_rejected;		/* an index was there but not believed (its
					   entries do not tile the file or disagree
					   with their chunk headers): rebuilt by scanning */
	int trailer_seen; /* a stream reached the trailer: the writer finished the file */
};

/* Open and read the header. With pread, also the index (or, when there is
 * none, note that the file will be scanned). */
int ct_reader_open(struct ct_reader **out, const struct ct_reader_io *io,
		   const struct ct_reader_opts *opts);
/* path "-" reads stdin. */
int ct_reader_open_file(struct ct_reader **out, const char *path,
			const struct ct_reader_opts *opts);
const struct ct_header *ct_reader_header(const struct ct_reader *r);

/*
 * Follow a file as it is written (tail -f): read as a stream from its
 * start; at the end of its bytes, wait for more while a writer holds the
 * file's flock (conntrail record does, until its trailer is written), else
 * end there. stop (optional) is asked before each read, with caught_up 1
 * when the reader has caught up with the writer and is about to wait:
 * nonzero ends the read as if the file ended (Ctrl-C). wait_ms: longest
 * wait between looks at the file (default 200). path "-" is standard
 * input, a stream already.
 */
struct ct_follow_opts {
	int (*stop)(void *ctx, int caught_up);
	void *ctx;
	int wait_ms;
};
int ct_reader_open_follow(struct ct_reader **out, const char *path,
			  const struct ct_reader_opts *opts, const struct ct_follow_opts *fo);

/* Index access: number of chunks known now (with an index or a scan at
 * open: all of them; a stream: those read so far). */
uint32_t ct_reader_chunk_count(const struct ct_reader *r);
/* The summaries of an index that has section checksums are read at the
 * first call of this, or of ct_reader_set_query with a chunk_filter. */
const struct ct_chunk_info *ct_reader_chunk(struct ct_reader *r, uint32_t i);
/* The latest last_ts of the event chunks known now, 0 when none: from the
 * chunk list alone, without reading the summaries (a time window's end). */
uint64_t ct_reader_last_event_ts(const struct ct_reader *r);

/* Restrict what ct_reader_next returns. Event chunks outside [since, until]
 * or rejected by chunk_filter are not decompressed; meta chunks are always
 * read. Events are still returned only when since <= ts <= until; finer
 * per-event filtering is the caller's. Call before the first ct_reader_next. */
struct ct_query {
	uint64_t since_ns;					       /* 0: from the start */
	uint64_t until_ns;					       /* 0: to the end */
	int (*chunk_filter)(void *ctx, const struct ct_chunk_info *c); /* 0 = skip */
	void *ctx;
};
int ct_reader_set_query(struct ct_reader *r, const struct ct_query *q);
/* About the stored bytes the query set now reads: its event chunks (by
 * the chunk list and summaries) and their share of the outcome chunks;
 * UINT64_MAX when not known ahead (a stream). What a caller weighs before
 * starting threads. */
uint64_t ct_reader_query_bytes(struct ct_reader *r);
/* Which CT_COL_* columns batches carry (default CT_COL_ALL): a caller that
 * counts reads only what it needs. Call before the first ct_reader_next. */
int ct_reader_set_columns(struct ct_reader *r, uint32_t columns);

/* Decode ahead on n worker threads (0: none, the default): chunks are read,
 * checked and decompressed in parallel, while what ct_reader_next hands out
 * stays exactly the same. Only for a file read through its chunk list
 * (pread: an index, or a scan at open); a stream is read as it comes.
 * Memory: a few chunks in flight per thread. Call before the first
 * ct_reader_next. */
int ct_reader_set_threads(struct ct_reader *r, unsigned n);

/* Next record in file order: 1 and *rec set (CT_REC_BATCH, _PROC, _LOST,
 * _OUTCOME), 0 at the end, <0 on a fatal error. *rec (its batch and
 * strings) stay valid until the next call. Damaged chunks are reported
 * through on_damage and skipped. */
int ct_reader_next(struct ct_reader *r, const struct ct_record **rec);
/* The same with the events of each batch one at a time (CT_REC_EVENT):
 * for callers that look at events one by one. */
int ct_reader_next_event(struct ct_reader *r, const struct ct_record **rec);

void ct_reader_stats(const struct ct_reader *r, struct ct_reader_stats *st);

/* File totals as the writer counted them, stored in the index (since format 1.0).
 * Returns 1 and fills *t when the index was read, else 0 (*t zeroed). */
struct ct_totals {
	uint64_t events; /* connect events */
	uint64_t lost;	 /* sum of ct_lost.count */
	uint64_t procs;	 /* process records */
};
int ct_reader_totals(const struct ct_reader *r, struct ct_totals *t);
int ct_reader_close(struct ct_reader *r);

/* ----------------------------------------------------------------- merge */

/* Yields the records of several readers in time order (ties: lower input
 * first): batches are cut into slices so that events come out in wall-clock
 * order across inputs. Does not own the readers. */
struct ct_merge;
int ct_merge_open(struct ct_merge **out, struct ct_reader *const *readers, unsigned n);
/* 1 and *rec, *input set; 0 at the end; <0 on a fatal error of an input
 * (*input says which). */
int ct_merge_next(struct ct_merge *m, const struct ct_record **rec, unsigned *input);
void ct_merge_close(struct ct_merge *m);

#endif
