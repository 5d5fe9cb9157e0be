/* SPDX-License-Identifier: MIT */
/*
 * test_session: the session layer on small hand-written traces. The process
 * table (snapshot, fork inherits, exec replaces, exit lingers then goes, pid
 * reuse), time windows and filters pushed through, merging two hosts in
 * wall-clock order, host indexes, and the exit statuses for bad arguments
 * and missing files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "session/session.h"
#include "tests/unit/check.h"
#include "tests/unit/scratch.h"
#include "tests/unit/tev.h"

#define SEC 1000000000ULL

static void proc(struct ct_writer *w, uint64_t ts, uint16_t kind, uint32_t pid, uint32_t ppid,
		 const char *comm, const char *exe, const char *container)
{
	struct ct_proc p = {.ts_ns = ts, .task = {.pid = pid, .ppid = ppid}, .kind = kind};
	memcpy(p.task.comm, comm ? comm : "", strnlen(comm ? comm : "", sizeof(p.task.comm)));
	p.exe = exe;
	p.cmdline = exe;
	p.container = container;
	if (ct_writer_proc(w, &p))
		t_fails++;
}

static void event(struct ct_writer *w, uint64_t ts, uint32_t pid, const char *comm, uint8_t last)
{
	struct tev ev = {.ts_ns = ts,
			 .pid = pid,
			 .tid = pid,
			 .family = 2,
			 .type = 1,
			 .proto = 6,
			 .dport = 443,
			 .sockfd = 3,
			 .flags = CT_EV_RET};
	ev.daddr[0] = 10;
	ev.daddr[3] = last;
	memcpy(ev.comm, comm, strnlen(comm, sizeof(ev.comm)));
	if (ct_writer_event(w, tev_event(&ev)))
		t_fails++;
}

/* Each event's exe as the session saw it, in order. */
struct seen {
	int n;
	char exe[32][32];
	char container[32][16];
	uint64_t ts[32];
	unsigned input[32];
	int64_t wall[32];
	unsigned nhosts, ninputs;
	int64_t start;
};

static int on_begin(void *ctx, struct ct_session *s)
{
	struct seen *sn = ctx;
	sn->nhosts = ct_session_nhosts(s);
	sn->ninputs = ct_session_ninputs(s);
	sn->start = ct_session_start_wall(s);
	return 0;
}

static struct ct_session *cur;
static int on_begin_keep(void *ctx, struct ct_session *s)
{
	cur = s;
	return on_begin(ctx, s);
}

static int on_event(void *ctx, const struct ct_event *ev, unsigned input)
{
	static const struct ct_procinfo none;
	const struct ct_procinfo *pi = ev->proc ? ev->proc : &none;
	struct seen *sn = ctx;
	if (sn->n >= 32)
		return -1;
	snprintf(sn->exe[sn->n], sizeof(sn->exe[0]), "%s", pi->exe ? pi->exe : "-");
	snprintf(sn->container[sn->n], sizeof(sn->container[0]), "%s",
		 pi->container ? pi->container : "-");
	sn->ts[sn->n] = ev->ts_ns;
	sn->input[sn->n] = input;
	sn->wall[sn->n] = ct_session_wall_ns(cur, input, ev->ts_ns);
	sn->n++;
	return 0;
}

static const struct ct_session_ops ops = {.begin = on_begin_keep, .event = on_event};

static void write_proc_trace(void)
{
	struct ct_writer *w;
	struct ct_header h = {.clock_id = 1,
			      .wall_offset_ns = 1000 * (int64_t)SEC,
			      .start_ts_ns = 10 * SEC,
			      .hostname = "h1",
			      .backend = "generated"};
	struct ct_writer_opts o = {.compress = CT_COMP_ZSTD, .chunk_events = 4};
	if (ct_writer_open_file(&w, scratch_path("p.ctr"), &h, &o)) {
		t_fails++;
		return;
	}
	proc(w, 10 * SEC, CT_PROC_SNAPSHOT, 100, 1, "srv", "/usr/bin/srv", "c0ffee");
	ct_writer_flush(w);
	event(w, 11 * SEC, 100, "srv", 1); /* 0: snapshot's exe */
	ct_writer_flush(w);
	proc(w, 12 * SEC, CT_PROC_FORK, 101, 100, "srv", NULL, NULL);
	ct_writer_flush(w);
	event(w, 13 * SEC, 101, "srv", 2); /* 1: child inherits exe and container */
	ct_writer_flush(w);
	proc(w, 14 * SEC, CT_PROC_EXEC, 101, 100, "curl", "/usr/bin/curl", NULL);
	ct_writer_flush(w);
	event(w, 15 * SEC, 101, "curl", 3); /* 2: exec replaced exe */
	ct_writer_flush(w);
	proc(w, 16 * SEC, CT_PROC_EXIT, 100, 1, "srv", NULL, NULL);
	ct_writer_flush(w);
	event(w, 17 * SEC, 100, "srv", 4); /* 3: exited 1 s ago: still known */
	ct_writer_flush(w);
	/* Any process record 30 s later lets the table drop pid 100. */
	proc(w, 46 * SEC, CT_PROC_SNAPSHOT, 200, 1, "x", "/bin/x", NULL);
	ct_writer_flush(w);
	event(w, 47 * SEC, 100, "srv", 5); /* 4: gone */
	ct_writer_flush(w);
	proc(w, 48 * SEC, CT_PROC_EXEC, 100, 1, "new", "/usr/bin/new", NULL);
	ct_writer_flush(w);
	event(w, 49 * SEC, 100, "new", 6); /* 5: pid reused */
	if (ct_writer_close(w))
		t_fails++;
}

static void test_proc_table(void)
{
	struct seen sn = {0};
	const char *paths[] = {scratch_path("p.ctr")};
	struct ct_session_opts o = {.paths = paths, .npaths = 1, .quiet = 1};
	int st = ct_session_run(&o, &ops, &sn);
	CHECK(st == 0, "status %d", st);
	CHECK(sn.n == 6, "events %d", sn.n);
	const char *want[] = {"/usr/bin/srv", "/usr/bin/srv", "/usr/bin/curl", "/usr/bin/srv", "-",
			      "/usr/bin/new"};
	/* exec keeps the container: the cgroup does not change */
	const char *want_c[] = {"c0ffee", "c0ffee", "c0ffee", "c0ffee", "-", "-"};
	for (int i = 0; i < sn.n && i < 6; i++) {
		CHECK(!strcmp(sn.exe[i], want[i]), "event %d exe '%s', want '%s'", i, sn.exe[i],
		      want[i]);
		CHECK(!strcmp(sn.container[i], want_c[i]), "event %d container '%s', want '%s'", i,
		      sn.container[i], want_c[i]);
	}
	CHECK(sn.start == 1010 * (int64_t)SEC, "start %lld", (long long)sn.start);
	CHECK(sn.wall[0] == 1011 * (int64_t)SEC, "wall %lld", (long long)sn.wall[0]);

	/* Window and filter: offsets from the start (10 s). */
	memset(&sn, 0, sizeof(sn));
	o.since = "+3s";
	o.until = "+7s";
	st = ct_session_run(&o, &ops, &sn);
	CHECK(st == 0 && sn.n == 3, "window: status %d events %d", st, sn.n);
	memset(&sn, 0, sizeof(sn));
	o.since = "1970-01-01T00:16:53Z"; /* 1013 s */
	o.until = NULL;
	o.filter = "pid == 100 and exe ~ \"*/srv\"";
	st = ct_session_run(&o, &ops, &sn);
	CHECK(st == 0 && sn.n == 1 && sn.ts[0] == 17 * SEC, "filter: status %d events %d", st,
	      sn.n);
}

static void write_host(const char *name, const char *host, int64_t offset, uint64_t first)
{
	struct ct_writer *w;
	struct ct_header h = {.clock_id = 1,
			      .wall_offset_ns = offset,
			      .start_ts_ns = first,
			      .hostname = host,
			      .backend = "generated"};
	struct ct_writer_opts o = {0};
	if (ct_writer_open_file(&w, scratch_path(name), &h, &o)) {
		t_fails++;
		return;
	}
	for (int i = 0; i < 5; i++)
		event(w, first + (uint64_t)i * 2 * SEC, 7, "c", (uint8_t)i);
	if (ct_writer_close(w))
		t_fails++;
}

static void test_merge(void)
{
	/* Two hosts with different clocks: a's events at wall 100, 102, ...
	 * b's at 101, 103, ...; raw timestamps say otherwise. */
	write_host("a.ctr", "alpha", 100 * (int64_t)SEC - 5 * (int64_t)SEC, 5 * SEC);
	write_host("b.ctr", "beta", 101 * (int64_t)SEC - 900 * (int64_t)SEC, 900 * SEC);
	write_host("c.ctr", "alpha", 100 * (int64_t)SEC - 5 * (int64_t)SEC, 5 * SEC);
	struct seen sn = {0};
	const char *paths[] = {scratch_path("a.ctr"), scratch_path("b.ctr")};
	struct ct_session_opts o = {.paths = paths, .npaths = 2, .quiet = 1};
	int st = ct_session_run(&o, &ops, &sn);
	CHECK(st == 0 && sn.n == 10, "merge: status %d events %d", st, sn.n);
	CHECK(sn.nhosts == 2 && sn.ninputs == 2, "hosts %u inputs %u", sn.nhosts, sn.ninputs);
	int ordered = 1;
	for (int i = 1; i < sn.n; i++)
		ordered &= sn.wall[i] >= sn.wall[i - 1];
	CHECK(ordered, "merged events not in wall-clock order");
	CHECK(sn.start == 100 * (int64_t)SEC, "earliest start %lld", (long long)sn.start);

	memset(&sn, 0, sizeof(sn));
	const char *same[] = {scratch_path("a.ctr"), scratch_path("c.ctr")};
	o.paths = same;
	st = ct_session_run(&o, &ops, &sn);
	CHECK(st == 0 && sn.nhosts == 1 && sn.n == 10, "same host: %d %u %d", st, sn.nhosts, sn.n);
}

static void test_errors(void)
{
	struct seen sn = {0};
	const char *missing[] = {scratch_path("a.ctr"), scratch_path("nope.ctr")};
	struct ct_session_opts o = {.paths = missing, .npaths = 2, .quiet = 1};
	CHECK(ct_session_run(&o, &ops, &sn) == 1, "missing file: status 1");
	CHECK(sn.n == 0, "no events after an open failure");
	const char *ok[] = {scratch_path("a.ctr")};
	o.paths = ok;
	o.npaths = 1;
	o.filter = "dprot == 1";
	CHECK(ct_session_run(&o, &ops, &sn) == 2, "bad filter: status 2");
	o.filter = NULL;
	o.since = "tomorrow";
	CHECK(ct_session_run(&o, &ops, &sn) == 2, "bad since: status 2");
	o.since = "+10s";
	o.until = "+5s";
	CHECK(ct_session_run(&o, &ops, &sn) == 2, "until before since: status 2");
}

/* Connects and the exec after them in one flush: a reader may apply the exec
 * first; each connect still names the program that made it (by its comm),
 * also after a second exec and with the fork's copy of the parent's. */
static void test_exec_same_flush(void)
{
	struct ct_writer *w;
	struct ct_header h = {.clock_id = 1, .start_ts_ns = SEC, .hostname = "h1"};
	struct ct_writer_opts o = {.compress = CT_COMP_ZSTD};
	if (ct_writer_open_file(&w, scratch_path("x.ctr"), &h, &o)) {
		t_fails++;
		return;
	}
	proc(w, 1 * SEC, CT_PROC_SNAPSHOT, 300, 1, "bash", "/bin/bash", "c0ffee");
	proc(w, 2 * SEC, CT_PROC_FORK, 301, 300, "bash", NULL, NULL);
	event(w, 3 * SEC, 301, "bash", 1);
	proc(w, 4 * SEC, CT_PROC_EXEC, 301, 300, "python3", "/usr/bin/python3", NULL);
	event(w, 5 * SEC, 301, "python3", 2);
	proc(w, 6 * SEC, CT_PROC_EXEC, 301, 300, "curl", "/usr/bin/curl", NULL);
	event(w, 7 * SEC, 301, "curl", 3);
	event(w, 7 * SEC, 300, "bash", 4);
	if (ct_writer_close(w))
		t_fails++;
	struct seen sn = {0};
	const char *paths[] = {scratch_path("x.ctr")};
	struct ct_session_opts so = {.paths = paths, .npaths = 1, .quiet = 1};
	CHECK(ct_session_run(&so, &ops, &sn) == 0, "session");
	const char *want[] = {"/bin/bash", "/usr/bin/python3", "/usr/bin/curl", "/bin/bash"};
	CHECK(sn.n == 4, "events %d", sn.n);
	for (int i = 0; i < sn.n && i < 4; i++) {
		CHECK(!strcmp(sn.exe[i], want[i]), "event %d exe '%s', want '%s'", i, sn.exe[i],
		      want[i]);
		CHECK(!strcmp(sn.container[i], "c0ffee"), "event %d container '%s'", i,
		      sn.container[i]);
	}
}

int main(void)
{
	scratch_make("session");
	write_proc_trace();
	test_proc_table();
	test_exec_same_flush();
	test_merge();
	test_errors();
	scratch_remove();
	return check_done("test_session");
}
