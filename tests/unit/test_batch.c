/* SPDX-License-Identifier: MIT */
/*
 * test_batch: ct_reader_next_batch hands whole event chunks over as
 * columns. Read that way, a trace must give exactly the events, in the same
 * order, and the same process and lost records, as ct_reader_next one by
 * one: with IPv4, IPv6, UNIX (path and abstract) and other destinations,
 * many processes, failures, records between chunks, and with time windows
 * that cut chunks (those come event by event).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "format/ctrace.h"

static int fails;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                       \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			fails++;                                                                   \
		}                                                                                  \
	} while (0)

#define NEV 23456
#define T0 5000000000ULL

/* What a consumer of a batch can see of one event. */
struct seen {
	uint64_t ts;
	uint32_t pid, ppid, uid, gid;
	uint64_t cgroup;
	char comm[CT_COMM_LEN];
	uint16_t family, type, proto, dport, flags;
	uint8_t path_len;
	uint8_t daddr[16];
	char path[CT_UNIX_PATH_MAX];
	uint32_t scope;
	int32_t ret;
	uint32_t rec_type; /* CT_REC_*; for meta records only ts is kept */
};

static uint64_t rng = 88172645463325252ULL;
static uint32_t below(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static void make_event(struct ct_event *ev, uint32_t i)
{
	memset(ev, 0, sizeof(*ev));
	ev->ts_ns = T0 + (uint64_t)i * 1000 + below(900);
	ev->pid = 100 + below(40);
	ev->tid = ev->pid + below(3);
	ev->ppid = 1 + ev->pid % 7;
	ev->uid = ev->pid % 5 * 1000;
	ev->gid = ev->uid;
	ev->cgroup_id = ev->pid % 3;
	snprintf(ev->comm, sizeof(ev->comm), "prog%u", ev->pid % 9);
	ev->sockfd = 3 + (int32_t)below(5);
	ev->type = below(4) ? 1 : 2;
	ev->proto = ev->type == 1 ? 6 : 17;
	ev->flags = CT_EV_RET;
	ev->ret = below(5) ? 0 : -111;
	switch (below(8)) {
	case 0:
		ev->family = AF_UNIX;
		ev->type = 1;
		ev->proto = 0;
		ev->path_len =
		    (uint8_t)snprintf(ev->path, sizeof(ev->path), "/run/s%u.sock", below(30));
		break;
	case 1:
		ev->family = AF_UNIX;
		ev->type = 1;
		ev->proto = 0;
		ev->flags |= CT_EV_ABSTRACT;
		ev->path[0] = '\0';
		ev->path_len =
		    (uint8_t)(1 + snprintf(ev->path + 1, sizeof(ev->path) - 1, "abs%u", below(5)));
		break;
	case 2:
		ev->family = AF_INET6;
		ev->daddr[0] = 0x20;
		ev->daddr[1] = 0x01;
		ev->daddr[15] = (uint8_t)below(200);
		ev->scope_id = below(3);
		ev->dport = (uint16_t)(443 + below(3));
		break;
	case 3:
		ev->family = 40; /* vsock: family number only */
		break;
	default:
		ev->family = AF_INET;
		ev->daddr[0] = 10;
		ev->daddr[2] = (uint8_t)below(4);
		ev->daddr[3] = (uint8_t)below(250);
		ev->dport = (uint16_t)(below(2) ? 53 : 443 + below(1000));
	}
}

static void seen_of_event(struct seen *s, const struct ct_event *ev)
{
	memset(s, 0, sizeof(*s));
	s->rec_type = CT_REC_EVENT;
	s->ts = ev->ts_ns;
	s->pid = ev->pid;
	s->ppid = ev->ppid;
	s->uid = ev->uid;
	s->gid = ev->gid;
	s->cgroup = ev->cgroup_id;
	memcpy(s->comm, ev->comm, CT_COMM_LEN);
	s->family = ev->family;
	s->type = ev->type;
	s->proto = ev->proto;
	s->dport = ev->dport;
	s->flags = ev->flags;
	s->path_len = ev->path_len;
	memcpy(s->daddr, ev->daddr, 16);
	memcpy(s->path, ev->path, ev->path_len);
	s->scope = ev->scope_id;
	s->ret = ev->ret;
}

static void seen_of_batch(struct seen *s, const struct ct_batch *b, uint32_t i)
{
	memset(s, 0, sizeof(*s));
	const struct ct_batch_proc *p = &b->procs[b->proc[i]];
	const struct ct_batch_dest *d = &b->dests[b->dest[i]];
	s->rec_type = CT_REC_EVENT;
	s->ts = b->ts_ns[i];
	s->pid = p->pid;
	s->ppid = p->ppid;
	s->uid = p->uid;
	s->gid = p->gid;
	s->cgroup = p->cgroup_id;
	memcpy(s->comm, p->comm, CT_COMM_LEN);
	s->family = d->family;
	s->type = d->type;
	s->proto = d->proto;
	s->dport = d->dport;
	s->flags = b->flags[i];
	s->path_len = d->path_len;
	memcpy(s->daddr, d->daddr, 16);
	memcpy(s->path, b->paths + d->path_off, d->path_len);
	s->scope = d->scope_id;
	s->ret = b->ret[i];
}

static void seen_of_record(struct seen *s, const struct ct_record *rec)
{
	if (rec->type == CT_REC_EVENT) {
		seen_of_event(s, &rec->ev);
		return;
	}
	memset(s, 0, sizeof(*s));
	s->rec_type = rec->type;
	s->ts = rec->type == CT_REC_PROC ? rec->proc.ts_ns : rec->lost.ts_ns;
	s->pid = rec->type == CT_REC_PROC ? rec->proc.pid : (uint32_t)rec->lost.count;
}

/* Everything a reader yields with this window, one way or the other. */
static size_t read_all(const char *path, uint64_t since, uint64_t until, int batches,
		       struct seen *out, size_t cap, size_t *nbatches)
{
	struct ct_reader *r;
	size_t n = 0;
	*nbatches = 0;
	if (ct_reader_open_file(&r, path, NULL)) {
		fails++;
		return 0;
	}
	struct ct_query q = {.since_ns = since, .until_ns = until};
	CHECK(ct_reader_set_query(r, &q) == 0, "set_query");
	for (;;) {
		const struct ct_record *rec = NULL;
		const struct ct_batch *b = NULL;
		int rc = batches ? ct_reader_next_batch(r, &rec, &b) : ct_reader_next(r, &rec);
		if (rc <= 0) {
			CHECK(rc == 0, "read error %d", rc);
			break;
		}
		if (rc == 2) {
			(*nbatches)++;
			CHECK(b->n > 0, "empty batch");
			struct ct_event ev;
			for (uint32_t i = 0; i < b->n && n < cap; i++) {
				CHECK(b->proc[i] < b->nprocs && b->dest[i] < b->ndests,
				      "index out of its table");
				seen_of_batch(&out[n], b, i);
				/* ct_batch_event, from the previous event (or afresh
				 * at a batch's start), builds the same event, with
				 * zero for the columns a batch does not carry. */
				struct seen built;
				ct_batch_event(b, i, i ? i - 1 : UINT32_MAX, &ev);
				seen_of_event(&built, &ev);
				CHECK(!memcmp(&built, &out[n], sizeof(built)),
				      "ct_batch_event %u of a batch differs", i);
				CHECK(!ev.tid && !ev.sockfd && !ev.latency_ns && !ev.sport &&
					  !memcmp(ev.saddr, (uint8_t[16]){0}, 16),
				      "ct_batch_event %u: a column a batch lacks is set", i);
				n++;
			}
			continue;
		}
		if (n < cap)
			seen_of_record(&out[n++], rec);
	}
	ct_reader_close(r);
	return n;
}

static void compare(const char *what, const struct seen *a, size_t na, const struct seen *b,
		    size_t nb)
{
	CHECK(na == nb, "%s: %zu records one by one, %zu with batches", what, na, nb);
	for (size_t i = 0; i < na && i < nb; i++) {
		if (memcmp(&a[i], &b[i], sizeof(a[i]))) {
			CHECK(0, "%s: record %zu differs (ts %llu vs %llu, pid %u vs %u)", what, i,
			      (unsigned long long)a[i].ts, (unsigned long long)b[i].ts, a[i].pid,
			      b[i].pid);
			return;
		}
	}
}

int main(void)
{
	char path[] = "/tmp/test_batch.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return 1;
	close(fd);
	unlink(path);

	struct ct_header hdr = {.clock_id = 1, .hostname = "h", .backend = "generated"};
	struct ct_writer_opts o = {.compress = CT_COMP_ZSTD, .chunk_events = 1000};
	struct ct_writer *w;
	if (ct_writer_open_file(&w, path, &hdr, &o)) {
		fprintf(stderr, "cannot write %s\n", path);
		return 1;
	}
	struct ct_event ev;
	for (uint32_t i = 0; i < NEV; i++) {
		make_event(&ev, i);
		CHECK(ct_writer_event(w, &ev) == 0, "write event %u", i);
		if (i % 3001 == 0) {
			struct ct_proc p = {.ts_ns = ev.ts_ns, .pid = ev.pid, .kind = CT_PROC_EXEC};
			memcpy(p.comm, ev.comm, CT_COMM_LEN);
			p.exe = "/usr/bin/x";
			CHECK(ct_writer_proc(w, &p) == 0, "write proc");
		}
		if (i % 7777 == 5) {
			struct ct_lost l = {.ts_ns = ev.ts_ns, .count = i, .cpu = 1};
			CHECK(ct_writer_lost(w, &l) == 0, "write lost");
		}
		if (i == NEV / 2)
			CHECK(ct_writer_flush(w) == 0, "flush"); /* a short chunk */
	}
	CHECK(ct_writer_close(w) == 0, "close");

	size_t cap = NEV + 100, na, nb, nbatch, none;
	struct seen *a = calloc(cap, sizeof(*a)), *b = calloc(cap, sizeof(*b));
	if (!a || !b)
		return 1;

	na = read_all(path, 0, 0, 0, a, cap, &none);
	nb = read_all(path, 0, 0, 1, b, cap, &nbatch);
	CHECK(na == NEV + 8 + 4, "one by one: %zu records", na);
	compare("whole file", a, na, b, nb);
	CHECK(nbatch >= NEV / 1000, "only %zu batches for %d events in chunks of 1000", nbatch,
	      NEV);

	/* Windows cutting chunks: edge chunks event by event, the rest whole. */
	uint64_t since = T0 + 2500 * 1000ULL + 321, until = T0 + 17777 * 1000ULL;
	na = read_all(path, since, until, 0, a, cap, &none);
	nb = read_all(path, since, until, 1, b, cap, &nbatch);
	compare("window", a, na, b, nb);
	/* Every event chunk the window touches, its edges cut to the window. */
	CHECK(nbatch >= 15 && nbatch <= 17, "window: %zu batches", nbatch);
	for (size_t i = 0; i < nb; i++)
		if (b[i].rec_type == CT_REC_EVENT)
			CHECK(b[i].ts >= since && b[i].ts <= until, "event %zu outside the window",
			      i);

	unlink(path);
	free(a);
	free(b);
	if (fails)
		fprintf(stderr, "test_batch: %d failures\n", fails);
	return fails != 0;
}
