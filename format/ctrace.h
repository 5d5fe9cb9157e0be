/* SPDX-License-Identifier: MIT */
/*
 * ctrace.h: the conntrail trace file library, its one public header.
 *
 * The on-disk layout is specified in format/FORMAT.md. Handles are opaque;
 * every function that can fail returns 0 (or a positive count) on success
 * and a negative CT_E_* code on failure; ct_strerror() names it.
 * Reader and writer do all I/O through callbacks so tests run in memory.
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
#define CT_FORMAT_MINOR 0

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

/* ct_event.flags */
#define CT_EV_RET 0x0001      /* ret holds the connect's outcome */
#define CT_EV_LATENCY 0x0002  /* latency_ns holds how long connect blocked */
#define CT_EV_SADDR 0x0004    /* saddr/sport hold the socket's bound address */
#define CT_EV_ABSTRACT 0x0008 /* AF_UNIX abstract name: path[0] is the NUL */

/*
 * One connect attempt. Families, types and protocols are Linux numbers
 * (AF_INET = 2, AF_INET6 = 10, AF_UNIX = 1; SOCK_STREAM = 1; IPPROTO_TCP = 6).
 */
struct ct_event {
	uint64_t ts_ns;	     /* kernel clock (header.clock_id), see ct_header */
	uint64_t cgroup_id;  /* cgroup v2 id of the task, 0 unknown */
	uint64_t latency_ns; /* valid with CT_EV_LATENCY */
	uint32_t pid;	     /* tgid */
	uint32_t tid;
	uint32_t ppid;
	uint32_t uid;
	uint32_t gid;
	int32_t sockfd;	   /* connect(2)'s fd; -1 when not from that syscall */
	int32_t ret;	   /* 0 or -errno; valid with CT_EV_RET */
	uint32_t scope_id; /* IPv6 sin6_scope_id */
	uint16_t family;
	uint16_t type; /* SOCK_STREAM, SOCK_DGRAM, ... (flags masked off) */
	uint16_t proto;
	uint16_t dport;	  /* host byte order */
	uint16_t sport;	  /* host byte order, valid with CT_EV_SADDR */
	uint16_t flags;	  /* CT_EV_* */
	uint8_t path_len; /* bytes used in path, abstract names count their NUL */
	uint8_t _pad[7];
	uint8_t daddr[16];	     /* network order; IPv4 in daddr[0..3] */
	uint8_t saddr[16];	     /* network order; valid with CT_EV_SADDR */
	char comm[CT_COMM_LEN];	     /* NUL-padded */
	char path[CT_UNIX_PATH_MAX]; /* sun_path bytes, path_len of them */
};

enum ct_proc_kind {
	CT_PROC_SNAPSHOT = 1, /* running when record started (read from /proc) */
	CT_PROC_EXEC = 2,     /* execve while recording */
	CT_PROC_EXIT = 3,     /* process exited */
	CT_PROC_FORK = 4,     /* new process */
};

/* Process context. Strings are NUL-terminated, NULL when unknown. */
struct ct_proc {
	uint64_t ts_ns;
	uint64_t cgroup_id;
	uint32_t pid;
	uint32_t ppid;
	uint32_t uid;
	uint32_t gid;
	int32_t exit_code; /* CT_PROC_EXIT only */
	uint16_t kind;	   /* enum ct_proc_kind */
	uint16_t _pad;
	char comm[CT_COMM_LEN];
	const char *exe;       /* absolute path of the executable */
	const char *cmdline;   /* arguments joined by single spaces */
	const char *container; /* container id from the cgroup path */
};

/* What a process table (the session layer keeps one from process records)
 * knows about the process behind an event. */
struct ct_proc_info {
	uint32_t pid, ppid, uid, gid;
	char comm[CT_COMM_LEN];
	const char *exe;       /* NULL when unknown */
	const char *cmdline;   /* NULL when unknown */
	const char *container; /* NULL when unknown */
	/* Changes whenever the table's entry for this process is created or
	 * updated (snapshot, fork, exec, pid reuse); 0 when the table does not
	 * know the process. Lets callers cache what they derived from it. */
	uint64_t serial;
};

/* Events the kernel could not deliver (ring buffer full). */
struct ct_lost {
	uint64_t ts_ns; /* when the recorder learned of the loss */
	uint64_t count; /* events lost since the previous ct_lost of this cpu */
	uint32_t cpu;	/* UINT32_MAX when summed over all CPUs */
	uint32_t _pad;
};

enum ct_record_type {
	CT_REC_EVENT = 1,
	CT_REC_PROC = 2,
	CT_REC_LOST = 3,
};

struct ct_record {
	uint32_t type; /* enum ct_record_type */
	union {
		struct ct_event ev;
		struct ct_proc proc;
		struct ct_lost lost;
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
	const char *recorder; /* "conntrail 0.2.0" */
	const char *backend;  /* "lsm", "fentry", "tracepoint", "generated" */
	const char *cmdline;  /* recorder's own command line */
	const char *filters;  /* e.g. "pid=1234", "cgroup=/sys/fs/...", "" */
};

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
	enum ct_compress compress;  /* 0 is CT_COMP_NONE; NULL opts give CT_COMP_ZSTD */
	int level;		    /* 0 = codec default */
	uint64_t flush_interval_ns; /* ct_writer_tick closes a chunk this old; default 1 s */
	uint32_t chunk_events;	    /* close a chunk at this many events; default 65536 */
};

/* Zeroed opts are valid and give the defaults. hdr strings are copied. */
int ct_writer_open(struct ct_writer **out, const struct ct_writer_io *io,
		   const struct ct_header *hdr, const struct ct_writer_opts *opts);
/* path "-" writes to stdout. Creates the file 0600, refusing symlinks. */
int ct_writer_open_file(struct ct_writer **out, const char *path, const struct ct_header *hdr,
			const struct ct_writer_opts *opts);

int ct_writer_event(struct ct_writer *w, const struct ct_event *ev);
int ct_writer_proc(struct ct_writer *w, const struct ct_proc *p);
int ct_writer_lost(struct ct_writer *w, const struct ct_lost *l);
/* Close the open chunk now (if any) and flush the io. */
int ct_writer_flush(struct ct_writer *w);
/* Call often from the poll loop: flushes when the open chunk is older than
 * flush_interval_ns (measured with CLOCK_MONOTONIC in user space). */
int ct_writer_tick(struct ct_writer *w);
/* Bytes written so far (what the file size will be, index excluded). */
uint64_t ct_writer_bytes(const struct ct_writer *w);
uint64_t ct_writer_events(const struct ct_writer *w);
/* Final chunk, index, trailer; frees w even on error. */
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
	uint8_t kind;	  /* CT_CHUNK_EVENTS or CT_CHUNK_META */
	uint8_t compress; /* enum ct_compress */
	uint16_t _pad;
	uint64_t offset; /* of the chunk header in the file */
	uint64_t first_ts, last_ts;
	uint32_t records;
	uint32_t comp_size, raw_size;
	uint32_t summary_len;
	const uint8_t *summary; /* opaque; ask ct_chunk_may_contain() */
};

enum ct_chunk_kind {
	CT_CHUNK_EVENTS = 1, /* connect events only */
	CT_CHUNK_META = 2,   /* process and lost records; never skipped */
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
};

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
};

/* Stats as of now; complete after ct_reader_next has returned 0. */
struct ct_reader_stats {
	int index_present; /* 1: trailer + index read; 0: rebuilt by scanning */
	uint32_t chunks;   /* all chunks known (events + meta) */
	uint32_t event_chunks;
	uint32_t chunks_read;	 /* event chunks decompressed */
	uint32_t chunks_skipped; /* event chunks skipped by the query */
	uint32_t chunks_damaged;
	uint64_t events; /* events returned so far */
	uint64_t lost;	 /* sum of ct_lost.count returned so far */
	uint64_t bytes_read;
	uint64_t comp_bytes, raw_bytes; /* over the chunks read */
	int summaries_damaged;		/* the index's summaries failed their checksum:
					   none is used, no chunk skipped by filter */
};

/* Open and read the header. With pread, also the index (or, when there is
 * none, note that the file will be scanned). */
int ct_reader_open(struct ct_reader **out, const struct ct_reader_io *io,
		   const struct ct_reader_opts *opts);
/* path "-" reads stdin. */
int ct_reader_open_file(struct ct_reader **out, const char *path,
			const struct ct_reader_opts *opts);
const struct ct_header *ct_reader_header(const struct ct_reader *r);

/* Index access: number of chunks known now (with an index: all of them;
 * without: those scanned so far, all after ct_reader_scan). */
int ct_reader_scan(struct ct_reader *r); /* build the chunk list without an index */
uint32_t ct_reader_chunk_count(const struct ct_reader *r);
/* The summaries of an index that has section checksums are read at the
 * first call of this, or of ct_reader_set_query with a chunk_filter. */
const struct ct_chunk_info *ct_reader_chunk(struct ct_reader *r, uint32_t i);

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

/* Next record in file order: 1 and *rec set, 0 at the end, <0 on a fatal
 * error. *rec (and its strings) stay valid until the next call. Damaged
 * chunks are reported through on_damage and skipped. */
int ct_reader_next(struct ct_reader *r, const struct ct_record **rec);

void ct_reader_stats(const struct ct_reader *r, struct ct_reader_stats *st);

/* The process context (pid, ppid, uid, gid, cgroup id, comm) of the event
 * ct_reader_next returned last, as a token: events of this reader with the
 * same nonzero token have the same context, so a caller may cache what it
 * looked up for it. 0 when there is no token for it. */
uint64_t ct_reader_event_proc_token(const struct ct_reader *r);
/* The same for the destination (family, type, proto, daddr, dport, path,
 * scope_id) of that event: equal nonzero tokens, equal destinations. */
uint64_t ct_reader_event_dest_token(const struct ct_reader *r);

/* File totals as the writer counted them, stored in the index (since format 1.0).
 * Returns 1 and fills *t when the index was read, else 0 (*t zeroed). */
struct ct_totals {
	uint64_t events; /* connect events */
	uint64_t lost;	 /* sum of ct_lost.count */
	uint64_t procs;	 /* process records */
};
int ct_reader_totals(const struct ct_reader *r, struct ct_totals *t);
int ct_reader_close(struct ct_reader *r);

/* --------------------------------------------------- events as columns */

/* A whole format-2.0 event chunk as the reader decoded it: n events in time
 * order, each naming its process context and destination by an index into
 * two tables of the chunk. For callers that count events rather than look
 * at them one by one (report). */
struct ct_batch_proc {
	uint64_t cgroup_id;
	uint32_t pid, ppid, uid, gid;
	char comm[CT_COMM_LEN]; /* NUL-padded */
};
struct ct_batch_dest {
	uint8_t daddr[16]; /* network order; IPv4 in daddr[0..3], rest zero */
	uint32_t scope_id;
	uint16_t family, type, proto, dport; /* dport host order */
	uint8_t path_len;
	uint8_t _pad[3];
	uint32_t path_off; /* the path's bytes: paths + path_off */
};
struct ct_batch {
	uint32_t n, nprocs, ndests;
	const uint64_t *ts_ns; /* n */
	const uint32_t *proc;  /* n, index into procs */
	const uint32_t *dest;  /* n, index into dests */
	const int32_t *ret;    /* n, valid with CT_EV_RET */
	const uint16_t *flags; /* n, CT_EV_* */
	const struct ct_batch_proc *procs;
	const struct ct_batch_dest *dests;
	const char *paths;
};
/* ct_reader_next, except that the events of a format-2.0 event chunk come
 * back at once, those of it inside the query's time window: returns 2 with
 * *batch set (valid until the next call). Otherwise as ct_reader_next (1
 * with *rec, 0 at the end, <0 on error). */
int ct_reader_next_batch(struct ct_reader *r, const struct ct_record **rec,
			 const struct ct_batch **batch);
/* Event i of a batch as ct_reader_next returns it, except for what a batch
 * does not carry: tid, sockfd, latency, saddr and sport are zero. When ev
 * holds event prev of the same batch, only what differs is copied; pass
 * UINT32_MAX (any prev >= n) otherwise. */
void ct_batch_event(const struct ct_batch *b, uint32_t i, uint32_t prev, struct ct_event *ev);

/* ----------------------------------------------------------------- merge */

/* Yields the records of several readers in time order (ties: lower input
 * first). Does not own the readers. */
struct ct_merge;
int ct_merge_open(struct ct_merge **out, struct ct_reader *const *readers, unsigned n);
/* 1 and *rec, *input set; 0 at the end; <0 on a fatal error of an input
 * (*input says which). */
int ct_merge_next(struct ct_merge *m, const struct ct_record **rec, unsigned *input);
void ct_merge_close(struct ct_merge *m);

#endif
