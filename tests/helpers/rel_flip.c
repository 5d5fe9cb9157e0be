/* SPDX-License-Identifier: MIT */
/*
 * rel_flip: damages traces in memory and checks what the reader makes of
 * them (tests/reliability/r3_flips.sh).
 *
 *   rel_flip [--seed S] [--flips N] [--truncs M] FILE..
 *       N random single-bit or byte flips and M random truncations spread
 *       over the files. Each damaged copy is read in a forked child through
 *       a memory ct_reader_io (indexed with pread, or sequential like a pipe,
 *       alternately) under a 10 s alarm. Checks: no crash, no hang; every
 *       event of every event chunk the damage did not touch is returned; no
 *       event is returned that the clean file does not have; a chunk whose
 *       events changed was reported damaged; the file opens unless its
 *       header was hit. One summary line, exit 1 on any failure.
 *   rel_flip --emit DIR --count K [--seed S] FILE
 *       writes K damaged copies DIR/K.ctr for the command-line check, with
 *       DIR/K.must (events that must still be read: "ts_ns tid dport"
 *       lines, ts_ns wall-clock as script --json prints it) and DIR/K.meta ("region
 * damage_reported" of the library). rel_flip --wall-offset FILE prints the header's wall_offset_ns
 * (script's ts_ns minus it is the kernel clock) rel_flip --make-trace OUT [--events N]
 * [--chunk-events C] writes a mixed trace (every family, proc and lost records) in small chunks, so
 * that one flip hits one chunk among many.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "format/ctrace.h"
#include "tests/helpers/memio.h"
#include "tests/unit/tev.h"

/* ------------------------------------------------------- event identity */

struct key {
	uint64_t hash; /* of the stored fields */
	uint64_t ts;
	uint32_t tid;
	uint16_t dport;
	/* The outcome joined at read time, in two parts told separately: the
	 * handshake's (CT_EV_RESULT, _ABANDONED) and the close's (CT_EV_CLOSED,
	 * _OPEN). After damage each part is the clean file's or absent. */
	uint16_t oc_flags;
	int32_t result;
	uint64_t result_ns, closed_ns, tx, rx;
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

/* Every stored field, not the padding or the bytes of path past path_len;
 * the outcome as it is. */
static struct key event_key(const struct ct_event *ev)
{
	uint64_t h = 1469598103934665603ull;
	struct tev flat, *e = &flat;
	tev_from(e, ev);
#define F(x) h = fnv(h, &e->x, sizeof(e->x))
	F(ts_ns);
	F(cgroup_id);
	F(latency_ns);
	F(pid);
	F(tid);
	F(ppid);
	F(uid);
	F(gid);
	F(sockfd);
	F(ret);
	F(scope_id);
	F(family);
	F(type);
	F(proto);
	F(dport);
	F(sport);
	F(flags);
	F(path_len);
	F(daddr);
	F(saddr);
	F(comm);
#undef F
	size_t pl = e->path_len <= CT_UNIX_PATH_MAX ? e->path_len : CT_UNIX_PATH_MAX;
	h = fnv(h, e->path, pl);
	return (struct key){.hash = h,
			    .ts = e->ts_ns,
			    .tid = e->tid,
			    .dport = e->dport,
			    .oc_flags = ev->flags & CT_EV_OUTCOME,
			    .result = ev->result,
			    .result_ns = ev->result_ns,
			    .closed_ns = ev->closed_ns,
			    .tx = ev->tx_bytes,
			    .rx = ev->rx_bytes};
}

#define OC_HANDSHAKE (CT_EV_RESULT | CT_EV_ABANDONED)
#define OC_CLOSE (CT_EV_CLOSED | CT_EV_OPEN)

static int handshake_eq(const struct key *a, const struct key *b)
{
	return (a->oc_flags & OC_HANDSHAKE) == (b->oc_flags & OC_HANDSHAKE) &&
	       a->result == b->result && a->result_ns == b->result_ns;
}

static int close_eq(const struct key *a, const struct key *b)
{
	return (a->oc_flags & OC_CLOSE) == (b->oc_flags & OC_CLOSE) &&
	       a->closed_ns == b->closed_ns && a->tx == b->tx && a->rx == b->rx;
}

/* got's outcome: each part the clean one's, or (lost) absent. A blocking
 * connect that returned 0 reads ok from its ret when its handshake record
 * is lost: the same result, timed by connect's latency instead. */
static int outcome_ok(const struct key *got, const struct key *clean)
{
	int same_result = (got->oc_flags & OC_HANDSHAKE) == (clean->oc_flags & OC_HANDSHAKE) &&
			  got->result == clean->result;
	return (handshake_eq(got, clean) || same_result || !(got->oc_flags & OC_HANDSHAKE)) &&
	       (close_eq(got, clean) || !(got->oc_flags & OC_CLOSE));
}

/* A late outcome record (a stream) applied to the event it names. */
static void key_apply(struct key *k, const struct ct_outcome *o)
{
	if (o->flags & CT_OC_RESULT) {
		k->oc_flags |= CT_EV_RESULT;
		k->result = o->result;
		k->result_ns = o->result_ns;
	}
	if (o->flags & CT_OC_ABANDONED) {
		k->oc_flags |= CT_EV_ABANDONED;
		k->result_ns = o->result_ns;
	}
	if (o->flags & CT_OC_CLOSED) {
		k->oc_flags |= CT_EV_CLOSED;
		k->closed_ns = o->closed_ns;
		k->tx = o->tx_bytes;
		k->rx = o->rx_bytes;
	}
	if (o->flags & CT_OC_OPEN)
		k->oc_flags |= CT_EV_OPEN;
}

static int key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	return x->hash < y->hash ? -1 : x->hash > y->hash;
}

static int key_cmp_when(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

struct keys {
	struct key *v;
	size_t n, cap;
};

static void keys_add(struct keys *k, struct key x)
{
	if (k->n == k->cap) {
		k->cap = k->cap ? k->cap * 2 : 1024;
		k->v = realloc(k->v, k->cap * sizeof(*k->v));
		if (!k->v) {
			perror("rel_flip: realloc");
			exit(2);
		}
	}
	k->v[k->n++] = x;
}

static void keys_sort(struct keys *k)
{
	if (k->n)
		qsort(k->v, k->n, sizeof(*k->v), key_cmp);
}

/* Elements of sorted `want` not in sorted `have`, as multisets. */
static size_t keys_missing(const struct keys *want, const struct keys *have)
{
	size_t i = 0, j = 0, miss = 0;
	while (i < want->n) {
		if (j >= have->n || want->v[i].hash < have->v[j].hash) {
			miss++;
			i++;
		} else if (want->v[i].hash > have->v[j].hash) {
			j++;
		} else {
			i++;
			j++;
		}
	}
	return miss;
}

/* Events of sorted `got` whose outcome is not one `all` (sorted) allows;
 * with `exact`, also those whose outcome is not all's exactly. */
static size_t outcomes_wrong(const struct keys *got, const struct keys *all, int exact)
{
	size_t wrong = 0, j = 0;
	for (size_t i = 0; i < got->n; i++) {
		const struct key *g = &got->v[i];
		while (j < all->n && all->v[j].hash < g->hash)
			j++;
		int ok = 0;
		for (size_t k = j; k < all->n && all->v[k].hash == g->hash && !ok; k++)
			ok = exact ? handshake_eq(g, &all->v[k]) && close_eq(g, &all->v[k])
				   : outcome_ok(g, &all->v[k]);
		wrong += !ok && j < all->n && all->v[j].hash == g->hash;
	}
	return wrong;
}

/* ------------------------------------------------------------- reading */

struct read_result {
	int open_err;	     /* 0 or CT_E_* from ct_reader_open */
	int fatal;	     /* 0 or the CT_E_* that ended ct_reader_next */
	uint32_t damaged;    /* on_damage calls */
	uint64_t lost;	     /* stats.lost */
	int index_present;   /* stats.index_present */
	uint64_t target_off; /* only chunk at this offset (UINT64_MAX: all) */
	uint64_t late;	     /* outcomes handed out after their attempt */
};

static uint64_t last_damage; /* offset of the last damage reported */

static void count_damage(void *ctx, const struct ct_damage *d)
{
	last_damage = d->offset;
	((struct read_result *)ctx)->damaged++;
}

static int only_target(void *ctx, const struct ct_chunk_info *c)
{
	return c->offset == ((struct read_result *)ctx)->target_off;
}

static struct ct_reader *open_mem(struct membuf *m, int sequential, struct read_result *res)
{
	struct ct_reader_io io = mem_reader_io(m, !sequential);
	struct ct_reader_opts ro = {
	    .on_damage = count_damage, .damage_ctx = res, .name = "flip", .quiet = 1};
	struct ct_reader *r = NULL;
	res->open_err = ct_reader_open(&r, &io, &ro);
	return res->open_err < 0 ? NULL : r;
}

/* Reads every event (or those of the chunk at res->target_off) into out. */
static void read_events(const uint8_t *buf, size_t len, int sequential, struct read_result *res,
			struct keys *out)
{
	struct membuf m = {.p = (uint8_t *)buf, .len = len}; /* only read */
	struct ct_reader *r = open_mem(&m, sequential, res);
	if (!r)
		return;
	if (res->target_off != UINT64_MAX) {
		struct ct_query q = {.chunk_filter = only_target, .ctx = res};
		ct_reader_set_query(r, &q);
	}
	const struct ct_record *rec;
	struct ct_outcome *late = NULL;
	size_t nlate = 0, first = out->n;
	int rc;
	while ((rc = ct_reader_next_event(r, &rec)) > 0) {
		if (rec->type == CT_REC_EVENT)
			keys_add(out, event_key(&rec->ev));
		if (rec->type == CT_REC_OUTCOME) {
			late = realloc(late, (nlate + 1) * sizeof(*late));
			if (!late)
				exit(2);
			late[nlate++] = rec->outcome;
		}
	}
	res->fatal = rc < 0 ? rc : 0;
	res->late += nlate;
	/* A stream hands out an outcome that came after its attempt's batch
	 * on its own: join it here, as script shows it. */
	qsort(out->v + first, out->n - first, sizeof(*out->v), key_cmp_when);
	for (size_t i = 0; i < nlate; i++) {
		struct key want = {.ts = late[i].ts_ns, .tid = late[i].tid};
		struct key *k =
		    bsearch(&want, out->v + first, out->n - first, sizeof(*out->v), key_cmp_when);
		if (k)
			key_apply(k, &late[i]);
	}
	free(late);
	struct ct_reader_stats st;
	ct_reader_stats(r, &st);
	res->lost = st.lost;
	res->index_present = st.index_present;
	ct_reader_close(r);
}

/* ------------------------------------------------------ a clean trace */

struct chunk {
	uint64_t start, end; /* byte range [start, end) */
	int events;	     /* an event chunk */
	int kind;	     /* CT_CHUNK_* */
	struct keys keys;    /* its events */
};

struct trace {
	const char *path;
	uint8_t *buf;
	size_t len;
	struct chunk *chunks;
	uint32_t nchunks;
	struct keys all;     /* sorted */
	int64_t wall_offset; /* the header's */
};

static int chunk_cmp(const void *a, const void *b)
{
	const struct chunk *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int load_file(const char *path, uint8_t **buf, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "rel_flip: %s: %s\n", path, strerror(errno));
		return -1;
	}
	*len = (size_t)st.st_size;
	*buf = malloc(*len ? *len : 1);
	size_t got = 0;
	while (*buf && got < *len) {
		ssize_t n = read(fd, *buf + got, *len - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (!*buf || got != *len) {
		fprintf(stderr, "rel_flip: %s: short read\n", path);
		return -1;
	}
	return 0;
}

/* Reads the clean file: the chunk map and each event chunk's events. */
static int load_trace(struct trace *t, const char *path)
{
	memset(t, 0, sizeof(*t));
	t->path = path;
	if (load_file(path, &t->buf, &t->len))
		return -1;
	struct read_result res = {.target_off = UINT64_MAX};
	read_events(t->buf, t->len, 0, &res, &t->all);
	if (res.open_err || res.fatal || res.damaged) {
		fprintf(stderr, "rel_flip: %s: clean file does not read (%s, %u damaged)\n", path,
			ct_strerror(res.open_err ? res.open_err : res.fatal), res.damaged);
		return -1;
	}
	keys_sort(&t->all);
	/* The sequential path (a pipe) must read the same events. */
	struct keys seq = {0};
	struct read_result sres = {.target_off = UINT64_MAX};
	read_events(t->buf, t->len, 1, &sres, &seq);
	keys_sort(&seq);
	if (sres.open_err || sres.fatal || seq.n != t->all.n || keys_missing(&t->all, &seq) ||
	    outcomes_wrong(&seq, &t->all, 1)) {
		fprintf(stderr, "rel_flip: %s: sequential read differs from indexed read\n", path);
		return -1;
	}
	free(seq.v);

	struct membuf m = {.p = t->buf, .len = t->len};
	struct ct_reader *r = open_mem(&m, 0, &res);
	if (!r) {
		fprintf(stderr, "rel_flip: %s: cannot list chunks\n", path);
		return -1;
	}
	const struct ct_record *rec;
	while (ct_reader_next(r, &rec) > 0)
		;
	t->nchunks = ct_reader_chunk_count(r);
	t->chunks = calloc(t->nchunks ? t->nchunks : 1, sizeof(*t->chunks));
	uint64_t min_hdr = UINT64_MAX;
	for (uint32_t i = 0; i < t->nchunks; i++) {
		const struct ct_chunk_info *c = ct_reader_chunk(r, i);
		t->chunks[i].start = c->offset;
		/* Header (size found below), summary, payload. */
		t->chunks[i].end = c->offset + c->summary_len + c->comp_size;
		t->chunks[i].events = c->kind == CT_CHUNK_EVENTS;
		t->chunks[i].kind = c->kind;
	}
	t->wall_offset = ct_reader_header(r)->wall_offset_ns;
	ct_reader_close(r);
	qsort(t->chunks, t->nchunks, sizeof(*t->chunks), chunk_cmp);
	/* Chunk header size: the smallest gap between consecutive chunks. */
	for (uint32_t i = 0; i + 1 < t->nchunks; i++) {
		uint64_t gap = t->chunks[i + 1].start - t->chunks[i].end;
		if (gap < min_hdr)
			min_hdr = gap;
	}
	for (uint32_t i = 0; i < t->nchunks; i++) {
		if (i + 1 < t->nchunks)
			t->chunks[i].end = t->chunks[i + 1].start;
		else if (min_hdr != UINT64_MAX && t->chunks[i].end + min_hdr <= t->len)
			t->chunks[i].end += min_hdr;
		else
			t->chunks[i].end = t->len; /* one chunk: index counted as its */
	}

	size_t attributed = 0;
	for (uint32_t i = 0; i < t->nchunks; i++) {
		if (!t->chunks[i].events)
			continue;
		struct read_result one = {.target_off = t->chunks[i].start};
		read_events(t->buf, t->len, 0, &one, &t->chunks[i].keys);
		keys_sort(&t->chunks[i].keys);
		attributed += t->chunks[i].keys.n;
	}
	if (attributed != t->all.n) {
		fprintf(stderr,
			"rel_flip: %s: %zu events, but the per-chunk queries return %zu "
			"(chunk_filter not honoured?)\n",
			path, t->all.n, attributed);
		return -1;
	}
	return 0;
}

static void free_traces(struct trace *t, int n)
{
	for (int i = 0; i < n; i++) {
		for (uint32_t c = 0; c < t[i].nchunks; c++)
			free(t[i].chunks[c].keys.v);
		free(t[i].chunks);
		free(t[i].all.v);
		free(t[i].buf);
	}
	free(t);
}

/* ------------------------------------------------------------ damaging */

enum { DMG_BIT, DMG_BYTE, DMG_TRUNC };

struct damage {
	int kind;
	uint64_t pos; /* flipped byte, or new length */
	uint8_t bit, byte;
};

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static struct damage pick_damage(const struct trace *t, int kind)
{
	struct damage d = {.kind = kind};
	/* Mostly uniform; one in eight near the ends (header, index, trailer). */
	uint64_t r = rnd() % 8;
	if (r == 0)
		d.pos = rnd() % (t->len < 256 ? t->len : 256);
	else if (r == 1)
		d.pos = t->len - 1 - rnd() % (t->len < 256 ? t->len : 256);
	else
		d.pos = rnd() % t->len;
	d.bit = (uint8_t)(rnd() % 8);
	d.byte = (uint8_t)rnd();
	if (kind == DMG_BYTE && d.byte == t->buf[d.pos])
		d.byte ^= 0xff;
	return d;
}

static const char *region_of(const struct trace *t, uint64_t pos, int *chunk)
{
	*chunk = -1;
	if (!t->nchunks || pos < t->chunks[0].start)
		return "header";
	for (uint32_t i = 0; i < t->nchunks; i++)
		if (pos >= t->chunks[i].start && pos < t->chunks[i].end) {
			*chunk = (int)i;
			return t->chunks[i].events		    ? "event-chunk"
			       : t->chunks[i].kind == CT_CHUNK_META ? "meta-chunk"
								    : "outcome-chunk";
		}
	return "index";
}

/* Apply d to a copy; returns the damaged length. */
static size_t apply(const struct trace *t, const struct damage *d, uint8_t *out)
{
	memcpy(out, t->buf, t->len);
	if (d->kind == DMG_TRUNC)
		return d->pos;
	if (d->kind == DMG_BIT)
		out[d->pos] ^= (uint8_t)(1u << d->bit);
	else
		out[d->pos] = d->byte;
	return t->len;
}

/* Events that must survive d: those of the event chunks it did not touch. */
static void must_survive(const struct trace *t, const struct damage *d, struct keys *want)
{
	for (uint32_t i = 0; i < t->nchunks; i++) {
		const struct chunk *c = &t->chunks[i];
		if (!c->events)
			continue;
		int touched =
		    d->kind == DMG_TRUNC ? c->end > d->pos : d->pos >= c->start && d->pos < c->end;
		if (touched)
			continue;
		for (size_t k = 0; k < c->keys.n; k++)
			keys_add(want, c->keys.v[k]);
	}
	keys_sort(want);
}

struct verdict {
	struct read_result res;
	uint64_t missing, invented;
	uint64_t wrong_outcomes; /* an outcome part neither the clean one nor absent */
	uint64_t lost_outcomes;	 /* no outcome chunk hit, yet an outcome differs */
	int changed;		 /* the events read differ from the clean file's */
};

static void judge(const struct trace *t, const struct damage *d, int sequential, struct verdict *v)
{
	uint8_t *buf = malloc(t->len ? t->len : 1);
	size_t len = apply(t, d, buf);
	struct keys got = {0}, want = {0};
	v->res = (struct read_result){.target_off = UINT64_MAX};
	read_events(buf, len, sequential, &v->res, &got);
	keys_sort(&got);
	must_survive(t, d, &want);
	v->missing = v->res.open_err ? want.n : keys_missing(&want, &got);
	v->invented = keys_missing(&got, &t->all);
	v->wrong_outcomes = outcomes_wrong(&got, &t->all, 0);
	/* Outcomes are lost only with their chunk (or the file's end). */
	int ci;
	const char *region = region_of(t, d->pos, &ci);
	int oc_hit = d->kind == DMG_TRUNC || !strcmp(region, "outcome-chunk");
	v->lost_outcomes = oc_hit ? 0 : outcomes_wrong(&got, &t->all, 1);
	v->changed = got.n != t->all.n || keys_missing(&t->all, &got) != 0 ||
		     outcomes_wrong(&got, &t->all, 1) != 0;
	free(buf);
	free(got.v);
	free(want.v);
}

struct tally {
	unsigned runs, bits, bytes, truncs;
	unsigned crashes, hangs, open_fail_bad, missing_runs, invented_runs, undetected;
	unsigned outcome_runs; /* wrong or needlessly lost outcomes */
	unsigned damage_reported, header_rejected, harmless, harmless_in_chunk;
	uint64_t missing, invented, checked;
};

static void report_failure(const struct trace *t, const struct damage *d, int seq, const char *why)
{
	static const char *kinds[] = {"bit flip", "byte flip", "truncation"};
	int ci;
	const char *region = region_of(t, d->pos, &ci);
	char where[64] = "";
	if (ci >= 0)
		snprintf(where, sizeof(where), " #%d", ci);
	fflush(stdout);
	fprintf(stderr, "  FAIL %s: %s at %llu of %zu (%s%s, %s read): %s\n", t->path,
		kinds[d->kind], (unsigned long long)d->pos, t->len, region, where,
		seq ? "sequential" : "indexed", why);
}

/* One damaged copy, read in a child so that a crash or hang is counted. */
static void run_one(const struct trace *t, const struct damage *d, int sequential, struct tally *ty)
{
	int fds[2];
	if (pipe(fds)) {
		perror("rel_flip: pipe");
		exit(2);
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("rel_flip: fork");
		exit(2);
	}
	if (pid == 0) {
		close(fds[0]);
		alarm(10);
		struct verdict v;
		judge(t, d, sequential, &v);
		ssize_t w = write(fds[1], &v, sizeof(v));
		_exit(w == (ssize_t)sizeof(v) ? 0 : 3);
	}
	close(fds[1]);
	struct verdict v;
	ssize_t n = read(fds[0], &v, sizeof(v));
	close(fds[0]);
	int status;
	waitpid(pid, &status, 0);
	ty->runs++;
	ty->bits += d->kind == DMG_BIT;
	ty->bytes += d->kind == DMG_BYTE;
	ty->truncs += d->kind == DMG_TRUNC;
	char why[200];
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		if (sig == SIGALRM)
			ty->hangs++;
		else
			ty->crashes++;
		snprintf(why, sizeof(why), "%s (%s)", sig == SIGALRM ? "hang > 10 s" : "crash",
			 strsignal(sig));
		report_failure(t, d, sequential, why);
		return;
	}
	if (n != (ssize_t)sizeof(v) || !WIFEXITED(status) || WEXITSTATUS(status)) {
		ty->crashes++;
		report_failure(t, d, sequential, "reader child failed");
		return;
	}
	int ci;
	const char *region = region_of(t, d->pos, &ci);
	ty->checked += t->all.n;
	if (v.res.damaged || v.res.fatal)
		ty->damage_reported++;
	if (v.res.open_err) {
		/* Only a damaged header (or a cut inside it) may stop the open. */
		int header_hit = !strcmp(region, "header") || (d->kind == DMG_TRUNC && t->nchunks &&
							       d->pos <= t->chunks[0].start);
		if (header_hit) {
			ty->header_rejected++;
		} else {
			ty->open_fail_bad++;
			snprintf(why, sizeof(why), "open failed: %s", ct_strerror(v.res.open_err));
			report_failure(t, d, sequential, why);
		}
		return;
	}
	if (v.missing) {
		ty->missing_runs++;
		ty->missing += v.missing;
		snprintf(why, sizeof(why),
			 "%llu events of untouched chunks missing (fatal %s, %u damage reports, "
			 "index %s)",
			 (unsigned long long)v.missing,
			 v.res.fatal ? ct_strerror(v.res.fatal) : "no", v.res.damaged,
			 v.res.index_present ? "used" : "not used");
		report_failure(t, d, sequential, why);
	}
	if (v.invented) {
		ty->invented_runs++;
		ty->invented += v.invented;
		snprintf(why, sizeof(why), "%llu events not in the clean file returned",
			 (unsigned long long)v.invented);
		report_failure(t, d, sequential, why);
	}
	if (v.wrong_outcomes || v.lost_outcomes) {
		ty->outcome_runs++;
		snprintf(why, sizeof(why),
			 "%llu events with an outcome not in the clean file, %llu lost without "
			 "damage to an outcome chunk",
			 (unsigned long long)v.wrong_outcomes, (unsigned long long)v.lost_outcomes);
		report_failure(t, d, sequential, why);
	}
	if (v.changed && !v.res.damaged && !v.res.fatal && d->kind != DMG_TRUNC) {
		ty->undetected++;
		report_failure(t, d, sequential, "events changed, no damage reported");
	}
	if (!v.changed && !v.res.damaged && !v.res.fatal) {
		ty->harmless++;
		/* A flip inside a chunk that nobody noticed: where checksums miss. */
		if (ci >= 0 && d->kind != DMG_TRUNC)
			ty->harmless_in_chunk++;
	}
}

/* -------------------------------------------------------- making traces */

/* Outcomes not yet due, in a ring: handshakes and closes told later. */
struct due {
	uint64_t at;
	struct ct_outcome o;
};

static int flush_due(struct ct_writer *w, struct due *q, size_t *n, uint64_t now)
{
	int rc = 0;
	size_t keep = 0;
	for (size_t i = 0; i < *n; i++) {
		if (q[i].at <= now && rc >= 0)
			rc = ct_writer_outcome(w, &q[i].o);
		else
			q[keep++] = q[i];
	}
	*n = keep;
	return rc;
}

static int make_trace(const char *out, uint32_t n, uint32_t chunk_events, enum ct_compress codec)
{
	struct ct_writer_opts o = {.compress = codec, .chunk_events = chunk_events};
	struct ct_writer *w;
	int rc = ct_writer_open_file(&w, out, &test_hdr, &o);
	if (rc < 0) {
		fprintf(stderr, "rel_flip: %s: %s\n", out, ct_strerror(rc));
		return 1;
	}
	static const char *comms[] = {"curl", "python3", "nginx", "sshd", "postgres"};
	static const int32_t handshake_ends[] = {0, 0, 0, -111, -110, -113};
	struct due *q = calloc(n + 1, 2 * sizeof(*q));
	size_t nq = 0;
	uint64_t ts = test_hdr.start_ts_ns;
	for (uint32_t i = 0; i < n && rc >= 0 && q; i++) {
		ts += 1 + rnd() % 2000000;
		rc = flush_due(w, q, &nq, ts);
		if (i % 97 == 0 && rc >= 0) {
			struct ct_proc p = {.ts_ns = ts,
					    .task = {.pid = 1000 + i % 5, .ppid = 1},
					    .kind = CT_PROC_EXEC,
					    .exe = "/usr/bin/curl",
					    .cmdline = "curl -s http://example/"};
			snprintf(p.task.comm, sizeof(p.task.comm), "%s", comms[i % 5]);
			rc = ct_writer_proc(w, &p);
		}
		if (i % 251 == 0 && rc >= 0) {
			struct ct_lost l = {.ts_ns = ts, .count = 1 + i % 7, .cpu = i % 2};
			rc = ct_writer_lost(w, &l);
		}
		struct tev e = {.ts_ns = ts,
				.cgroup_id = 4242 + i % 3,
				.pid = 1000 + i % 5,
				.tid = 1000 + i % 5 + (i % 11 == 0),
				.ppid = 1,
				.uid = i % 4 ? 1000 : 0,
				.gid = 1000,
				.sockfd = 3 + (int32_t)(i % 9),
				.type = 1,
				.proto = 6,
				.flags = CT_EV_RET};
		snprintf(e.comm, sizeof(e.comm), "%s", comms[i % 5]);
		int tracked = 0;
		switch (rnd() % 6) {
		case 0:
		case 1:
			e.family = AF_INET;
			e.daddr[0] = 10, e.daddr[1] = (uint8_t)(i % 7), e.daddr[3] = (uint8_t)rnd();
			e.dport = (uint16_t)(i % 3 ? 443 : 1024 + rnd() % 50000);
			e.ret = i % 13 ? 0 : -111;
			tracked = e.ret == 0;
			break;
		case 2:
			/* non-blocking: the handshake ends later */
			e.family = AF_INET6;
			e.daddr[0] = 0xfd, e.daddr[15] = (uint8_t)rnd();
			e.dport = 8443, e.ret = -115;
			tracked = 1;
			break;
		case 3:
			e.family = AF_INET6;
			e.daddr[0] = 0xfd, e.daddr[15] = (uint8_t)rnd();
			e.dport = 53, e.type = 2, e.proto = 17;
			break;
		case 4:
			e.family = AF_UNIX, e.proto = 0;
			e.path_len = (uint8_t)snprintf(e.path, sizeof(e.path), "/run/rel/%u.sock",
						       (unsigned)(rnd() % 20));
			break;
		default:
			e.family = AF_UNIX, e.proto = 0, e.flags |= CT_EV_ABSTRACT;
			e.path[0] = 0;
			e.path_len = (uint8_t)(1 + snprintf(e.path + 1, sizeof(e.path) - 1,
							    "rel-abstract-%u", i % 4));
			break;
		}
		if (tracked)
			e.flags |= CT_EV_TRACKED;
		if (rc >= 0)
			rc = ct_writer_event(w, tev_event(&e));
		if (!tracked || rc < 0)
			continue;
		/* Its outcome: the handshake up to ~200 ms later (some never
		 * end: abandoned, or still pending at the end), then a close
		 * or none (still open at the end). */
		struct ct_outcome oc = {.ts_ns = ts, .tid = e.tid};
		uint64_t took = 1 + rnd() % 200000000;
		int32_t end = e.ret == -115 ? handshake_ends[rnd() % 6] : 0;
		if (e.ret == -115) {
			unsigned fate = (unsigned)(rnd() % 10);
			if (fate == 0)
				continue; /* never told: unknown */
			oc.flags = fate == 1 ? CT_OC_ABANDONED : CT_OC_RESULT;
			oc.result = end;
			oc.result_ns = took;
			q[nq++] = (struct due){.at = ts + took, .o = oc};
			if (fate == 1 || end != 0)
				continue;
		}
		if (rnd() % 4 == 0)
			continue; /* still open when recording stops */
		uint64_t closed = took + rnd() % 1000000000;
		struct ct_outcome cl = {.ts_ns = ts,
					.tid = e.tid,
					.flags = CT_OC_CLOSED,
					.closed_ns = closed,
					.tx_bytes = rnd() % 100000,
					.rx_bytes = rnd() % 10000000};
		q[nq++] = (struct due){.at = ts + closed, .o = cl};
	}
	if (rc >= 0)
		rc = flush_due(w, q, &nq, ts); /* the rest stay pending or open */
	free(q);
	if (rc < 0) {
		fprintf(stderr, "rel_flip: %s: %s\n", out, ct_strerror(rc));
		ct_writer_abort(w);
		return 1;
	}
	rc = ct_writer_close(w);
	if (rc < 0) {
		fprintf(stderr, "rel_flip: %s: %s\n", out, ct_strerror(rc));
		return 1;
	}
	return 0;
}

/* ---------------------------------------------------------- CLI copies */

static int emit(const struct trace *t, const char *dir, unsigned count)
{
	uint8_t *buf = malloc(t->len ? t->len : 1);
	for (unsigned k = 0; k < count; k++) {
		int kind = k % 4 == 3 ? DMG_TRUNC : (int)(k % 2);
		struct damage d = pick_damage(t, kind);
		if (kind == DMG_TRUNC)
			d.pos = rnd() % t->len;
		size_t len = apply(t, &d, buf);
		char path[4096];
		snprintf(path, sizeof(path), "%s/%u.ctr", dir, k);
		FILE *f = fopen(path, "w");
		if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
			fprintf(stderr, "rel_flip: %s: %s\n", path, strerror(errno));
			return 1;
		}
		struct keys want = {0};
		must_survive(t, &d, &want);
		snprintf(path, sizeof(path), "%s/%u.must", dir, k);
		f = fopen(path, "w");
		for (size_t i = 0; f && i < want.n; i++)
			fprintf(f, "%lld %u %u\n",
				(long long)want.v[i].ts + (long long)t->wall_offset, want.v[i].tid,
				want.v[i].dport);
		if (!f || fclose(f)) {
			fprintf(stderr, "rel_flip: %s: %s\n", path, strerror(errno));
			return 1;
		}
		free(want.v);
		struct verdict v;
		judge(t, &d, 0, &v);
		int ci;
		snprintf(path, sizeof(path), "%s/%u.meta", dir, k);
		f = fopen(path, "w");
		if (!f ||
		    fprintf(f, "%s %d %d\n",
			    d.kind == DMG_TRUNC ? "truncation" : region_of(t, d.pos, &ci),
			    v.res.damaged || v.res.fatal, v.res.open_err != 0) < 0 ||
		    fclose(f)) {
			fprintf(stderr, "rel_flip: %s: %s\n", path, strerror(errno));
			return 1;
		}
	}
	free(buf);
	return 0;
}

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv)
{
	unsigned flips = 1000, truncs = 100, count = 20;
	uint32_t events = 3000, chunk_events = 50;
	enum ct_compress codec = CT_COMP_ZSTD;
	const char *emit_dir = NULL, *make = NULL, *wall_offset = NULL, *stats = NULL;
	const char *files[64];
	int nfiles = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--seed") && v)
			rng_state = strtoull(v, NULL, 0) * 2654435761ull + 1, i++;
		else if (!strcmp(a, "--flips") && v)
			flips = (unsigned)atoi(v), i++;
		else if (!strcmp(a, "--truncs") && v)
			truncs = (unsigned)atoi(v), i++;
		else if (!strcmp(a, "--emit") && v)
			emit_dir = v, i++;
		else if (!strcmp(a, "--count") && v)
			count = (unsigned)atoi(v), i++;
		else if (!strcmp(a, "--make-trace") && v)
			make = v, i++;
		else if (!strcmp(a, "--wall-offset") && v)
			wall_offset = v, i++;
		else if (!strcmp(a, "--stats") && v)
			stats = v, i++;
		else if (!strcmp(a, "--compress") && v) {
			codec = !strcmp(v, "none")   ? CT_COMP_NONE
				: !strcmp(v, "zlib") ? CT_COMP_ZLIB
						     : CT_COMP_ZSTD;
			i++;
		} else if (!strcmp(a, "--events") && v)
			events = (uint32_t)atoi(v), i++;
		else if (!strcmp(a, "--chunk-events") && v)
			chunk_events = (uint32_t)atoi(v), i++;
		else if (a[0] != '-' && nfiles < 64)
			files[nfiles++] = a;
		else {
			fprintf(stderr, "rel_flip: bad argument '%s'\n", a);
			return 2;
		}
	}
	if (make)
		return make_trace(make, events, chunk_events, codec);
	if (stats) {
		/* Events, chunks and damage of one file, and whether only its
		 * last chunk is damaged (a writer stopped mid-chunk). */
		uint8_t *buf;
		size_t len;
		if (load_file(stats, &buf, &len))
			return 1;
		struct read_result res = {.target_off = UINT64_MAX};
		struct membuf m = {.p = buf, .len = len};
		struct ct_reader *r = open_mem(&m, 0, &res);
		if (!r) {
			fprintf(stderr, "rel_flip: %s: %s\n", stats, ct_strerror(res.open_err));
			free(buf);
			return 1;
		}
		const struct ct_record *rec;
		uint64_t events = 0;
		int rc;
		while ((rc = ct_reader_next_event(r, &rec)) > 0)
			events += rec->type == CT_REC_EVENT;
		uint64_t max_off = 0;
		for (uint32_t i = 0; i < ct_reader_chunk_count(r); i++)
			if (ct_reader_chunk(r, i)->offset > max_off)
				max_off = ct_reader_chunk(r, i)->offset;
		printf("events %llu chunks %u damaged %u last_damage_at %llu last_chunk_at %llu "
		       "fatal %d\n",
		       (unsigned long long)events, ct_reader_chunk_count(r), res.damaged,
		       (unsigned long long)last_damage, (unsigned long long)max_off,
		       rc < 0 ? rc : 0);
		ct_reader_close(r);
		free(buf);
		return 0;
	}
	if (wall_offset) {
		struct ct_reader *r;
		int rc = ct_reader_open_file(&r, wall_offset, &(struct ct_reader_opts){.quiet = 1});
		if (rc < 0) {
			fprintf(stderr, "rel_flip: %s: %s\n", wall_offset, ct_strerror(rc));
			return 1;
		}
		printf("%lld %u\n", (long long)ct_reader_header(r)->wall_offset_ns,
		       ct_reader_header(r)->clock_id);
		ct_reader_close(r);
		return 0;
	}
	if (!nfiles) {
		fprintf(stderr, "rel_flip: no trace files\n");
		return 2;
	}
	struct trace *t = calloc((size_t)nfiles, sizeof(*t));
	for (int i = 0; i < nfiles; i++)
		if (load_trace(&t[i], files[i])) {
			free_traces(t, i + 1);
			return 1;
		}
	if (emit_dir) {
		int rc = emit(&t[0], emit_dir, count);
		free_traces(t, nfiles);
		return rc;
	}

	struct tally ty = {0};
	for (unsigned k = 0; k < flips + truncs; k++) {
		const struct trace *tr = &t[k % (unsigned)nfiles];
		struct damage d;
		if (k < flips) {
			d = pick_damage(tr, k % 2 ? DMG_BYTE : DMG_BIT);
		} else {
			d = (struct damage){.kind = DMG_TRUNC, .pos = rnd() % tr->len};
		}
		run_one(tr, &d, (int)((k / 2) % 2), &ty);
	}
	unsigned failures = ty.crashes + ty.hangs + ty.open_fail_bad + ty.missing_runs +
			    ty.invented_runs + ty.undetected + ty.outcome_runs;
	printf("%u runs on %d files (%u bit flips, %u byte flips, %u truncations): %u crashes, "
	       "%u hangs, %u damage reported, %u harmless (%u inside chunks), %u header rejected, "
	       "%u bad open failures, %llu events missing from intact chunks (%u runs), "
	       "%llu invented, %u undetected changes, %u runs with wrong outcomes\n",
	       ty.runs, nfiles, ty.bits, ty.bytes, ty.truncs, ty.crashes, ty.hangs,
	       ty.damage_reported, ty.harmless, ty.harmless_in_chunk, ty.header_rejected,
	       ty.open_fail_bad, (unsigned long long)ty.missing, ty.missing_runs,
	       (unsigned long long)ty.invented, ty.undetected, ty.outcome_runs);
	free_traces(t, nfiles);
	return failures ? 1 : 0;
}
