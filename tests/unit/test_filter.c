/* SPDX-License-Identifier: MIT */
/*
 * test_filter: the --filter language. Parser and evaluator (each field and
 * operator, precedence, CIDR edges, globs, errno names), error messages and
 * their columns, time specs, and a property test that the chunk pushdown is
 * sound: on generated traces, a chunk the summary rules out never holds a
 * matching event, and a query with pushdown returns exactly the events a
 * full scan with per-event evaluation returns.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/filter.h"
#include "query/timespec.h"
#include "tests/helpers/memio.h"
#include "tests/unit/check.h"
#include "tests/unit/tev.h"

static struct tev base_event(void)
{
	struct tev ev = {0};
	ev.ts_ns = 5000000000ULL;
	ev.pid = 1234;
	ev.tid = 1235;
	ev.ppid = 1;
	ev.uid = 1000;
	ev.gid = 100;
	ev.cgroup_id = 4242;
	ev.sockfd = 3;
	ev.family = 2;
	ev.type = 1;
	ev.proto = 6;
	ev.dport = 443;
	ev.flags = CT_EV_RET;
	ev.ret = -111;
	inet_pton(AF_INET, "10.1.2.3", ev.daddr);
	memcpy(ev.comm, "curl", 4);
	return ev;
}

/* -1: compile error; else the match result. */
static int run(const char *expr, struct tev *t, const struct ct_procinfo *pi)
{
	const struct ct_event *ev = tev_event(t);
	t->ev.proc = pi;
	struct ct_filter *f;
	struct ct_filter_error err;
	if (ct_filter_compile(expr, &f, &err))
		return -1;
	ct_filter_set_base(f, 1000000000LL);
	int m = ct_filter_match(f, ev, (int64_t)ev->ts_ns);
	ct_filter_free(f);
	return m;
}

#define MATCH(expr, want)                                                                          \
	do {                                                                                       \
		int got_ = run(expr, &ev, &pi);                                                    \
		CHECK(got_ == (want), "'%s': want %d got %d", expr, want, got_);                   \
	} while (0)

static void test_fields(void)
{
	struct tev ev = base_event();
	struct ct_procinfo pi = {.exe = "/usr/bin/curl",
				 .container = "abcdef012345",
				 .ctr = {"web-1", "nginx:1.27", NULL, "shop"}};

	MATCH("pid == 1234", 1);
	MATCH("pid == 1235", 0);
	MATCH("pid != 1235", 1);
	MATCH("pid < 1235", 1);
	MATCH("pid <= 1234", 1);
	MATCH("pid > 1234", 0);
	MATCH("pid >= 1234", 1);
	MATCH("pid=1234", 1);
	MATCH("pid==0x4d2", 1);
	MATCH("tid == 1235", 1);
	MATCH("ppid == 1", 1);
	MATCH("uid == 1000 and gid == 100", 1);
	MATCH("cgroup == 4242", 1);
	MATCH("sockfd == 3", 1);
	MATCH("comm == \"curl\"", 1);
	MATCH("comm == curl", 1);
	MATCH("comm == \"cur\"", 0);
	MATCH("comm ~ \"cu*\"", 1);
	MATCH("comm ~ \"c?rl\"", 1);
	MATCH("comm ~ \"[a-c]url\"", 1);
	MATCH("comm ~ \"x*\"", 0);
	MATCH("comm != \"wget\"", 1);
	MATCH("exe == \"/usr/bin/curl\"", 1);
	MATCH("exe ~ \"/usr/*\"", 1);
	MATCH("container ~ \"abc*\"", 1);
	/* the container's names; pod unknown: every comparison false */
	MATCH("container_name == \"web-1\"", 1);
	MATCH("container_name ~ \"web-*\"", 1);
	MATCH("container_name == \"web\"", 0);
	MATCH("image ~ \"nginx:*\"", 1);
	MATCH("image == \"nginx\"", 0);
	MATCH("k8s_namespace == shop", 1);
	MATCH("pod ~ \"*\"", 0);
	MATCH("pod != \"x\"", 0);
	MATCH("not pod ~ \"*\"", 1);
	/* dname: what the session joined; without one every comparison is false. */
	static const struct {
		const char *expr;
		int named, unnamed;
	} dn[] = {{"dname == \"www.example.com\"", 1, 0},
		  {"dname ~ \"*.example.com\"", 1, 0},
		  {"dname == \"example.com\"", 0, 0},
		  {"not dname ~ \"*\"", 0, 1},
		  {"dname != \"x\"", 1, 0}};
	for (size_t i = 0; i < sizeof(dn) / sizeof(dn[0]); i++) {
		struct ct_event named = *tev_event(&ev);
		struct ct_filter *f;
		struct ct_filter_error fe;
		CHECK(!ct_filter_compile(dn[i].expr, &f, &fe), "%s", dn[i].expr);
		if (!f)
			continue;
		named.dname = "www.example.com";
		CHECK_EQ(ct_filter_match(f, &named, 0), dn[i].named);
		named.dname = NULL;
		CHECK_EQ(ct_filter_match(f, &named, 0), dn[i].unnamed);
		ct_filter_free(f);
	}
	MATCH("family == inet", 1);
	MATCH("family == 2", 1);
	MATCH("family != inet6", 1);
	MATCH("family == other", 0);
	MATCH("type == stream", 1);
	MATCH("type == SOCK_STREAM", 1);
	MATCH("type == dgram", 0);
	MATCH("proto == tcp", 1);
	MATCH("proto == 6", 1);
	MATCH("dport == 443", 1);
	MATCH("dport > 1024", 0);
	MATCH("ret == ECONNREFUSED", 1);
	MATCH("ret == -111", 1);
	MATCH("ret == econnrefused", 1);
	MATCH("not ret == 0", 1);
	MATCH("ret < 0", 1);
	MATCH("ret == ok", 0);
	/* result: the final outcome; here connect(2) returned it. */
	ev.flags = CT_EV_RET | CT_EV_RESULT;
	ev.result = -111;
	MATCH("result == ECONNREFUSED", 1);
	MATCH("result != ok", 1);
	MATCH("result < 0", 1);
	MATCH("result == unknown", 0);
	ev.flags = CT_EV_RET | CT_EV_ABANDONED;
	MATCH("result == abandoned", 1);
	MATCH("result == ECONNREFUSED", 0);
	MATCH("result < 0", 0); /* abandoned orders with nothing */
	MATCH("result != abandoned", 0);
	ev.flags = CT_EV_RET;
	MATCH("result == unknown", 1);
	MATCH("result == ok", 0);
	ev.flags = CT_EV_RET | CT_EV_RESULT;
	ev.result = -111;
	MATCH("daddr == 10.1.2.3", 1);
	MATCH("daddr != 10.1.2.3", 0);
	MATCH("daddr in 10.0.0.0/8", 1);
	MATCH("daddr in 10.1.2.3/32", 1);
	MATCH("daddr in 10.1.2.2/32", 0);
	MATCH("daddr in 10.1.2.2/31", 1);
	MATCH("daddr in 10.1.2.4/31", 0);
	MATCH("daddr in 0.0.0.0/0", 1);
	MATCH("daddr in 11.0.0.0/8", 0);
	MATCH("daddr in 10.255.0.0/9", 0); /* 10.128.0.0/9 after masking */
	MATCH("daddr in ::/0", 0);	   /* IPv6 patterns never match IPv4 */
	/* No saddr known: comparisons on it are false, their negation true. */
	MATCH("saddr == 10.1.2.3", 0);
	MATCH("sport == 0", 0);
	MATCH("not sport == 0", 1);
	MATCH("path == \"/x\"", 0);
	/* ts: offsets count from the base (1 s); the event is at 5 s. */
	MATCH("ts >= +4s", 1);
	MATCH("ts >= +3.5s and ts < +4001ms", 1);
	MATCH("ts > +4", 0);
	MATCH("ts == 1970-01-01T00:00:05Z", 1);
	MATCH("ts < 1970-01-01T01:00:05+01:00", 0);

	/* Unknown values are false; no outcome means ret comparisons fail. */
	ev.flags = 0;
	MATCH("ret == -111", 0);
	MATCH("ret != -111", 0);
	MATCH("not ret == 0", 1);
	pi.exe = NULL;
	MATCH("exe ~ \"*\"", 0);
	MATCH("exe != \"x\"", 0);
	MATCH("comm ~ \"*\"", 1);

	/* IPv6, v4-mapped, CIDR edges. */
	ev = base_event();
	ev.family = 10;
	memset(ev.daddr, 0, 16);
	inet_pton(AF_INET6, "fe80::1", ev.daddr);
	MATCH("daddr == fe80::1", 1);
	MATCH("daddr in fe80::/10", 1);
	MATCH("daddr in fec0::/10", 0);
	MATCH("daddr in fe80::/128", 0);
	MATCH("daddr in fe80::1/128", 1);
	MATCH("daddr in ::/0", 1);
	MATCH("daddr in 0.0.0.0/0", 0);
	MATCH("family == inet6", 1);
	inet_pton(AF_INET6, "::ffff:192.168.1.7", ev.daddr);
	MATCH("daddr == 192.168.1.7", 1);
	MATCH("daddr in 192.168.0.0/16", 1);
	MATCH("daddr == ::ffff:192.168.1.7", 1);
	MATCH("daddr in 192.168.1.6/32", 0);
	ev.flags |= CT_EV_SADDR;
	inet_pton(AF_INET6, "2001:db8::5", ev.saddr);
	ev.sport = 40000;
	MATCH("saddr in 2001:db8::/32 and sport >= 32768", 1);

	/* UNIX paths, abstract names shown and matched with '@'. */
	ev = base_event();
	ev.family = 1;
	ev.type = 2;
	ev.proto = 0;
	memset(ev.daddr, 0, 16);
	memcpy(ev.path, "/run/dbus/system_bus_socket", 27);
	ev.path_len = 28; /* with its trailing NUL, as some writers count it */
	MATCH("family == unix and path == \"/run/dbus/system_bus_socket\"", 1);
	MATCH("path ~ \"/run/*\"", 1);
	MATCH("path ~ \"/var/*\"", 0);
	MATCH("dport == 0", 0);
	MATCH("daddr in 0.0.0.0/0", 0);
	memset(ev.path, 0, sizeof(ev.path));
	memcpy(ev.path, "\0tmp/.X11", 9);
	ev.path_len = 9;
	ev.flags |= CT_EV_ABSTRACT;
	MATCH("path == \"@tmp/.X11\"", 1);
	MATCH("path == \"tmp/.X11\"", 0);
	MATCH("path ~ \"@tmp/*\"", 1);
	MATCH("path == \"\\0tmp/.X11\"", 1);
	ev.family = 38;
	MATCH("family == other", 1);
	MATCH("family != other", 0);
	MATCH("family == 38", 1);
	MATCH("family == AF_38", 1);
	MATCH("family == \"AF_38\"", 1);
	ev.family = 16;
	MATCH("family == AF_NETLINK", 1);
	MATCH("family == 'AF_NETLINK'", 1);
	MATCH("family == unix", 0);
}

/* Filters as people type them: quotes, names as strings, ranges and sets,
 * latency with units, cmdline and host. */
static void test_typed(void)
{
	struct tev ev = base_event();
	struct ct_procinfo pi = {.exe = "/usr/bin/python3", .cmdline = "python3 burst.py -n 5"};

	MATCH("comm == 'curl'", 1);
	MATCH("comm == 'it\\'s'", 0);
	MATCH("family == \"inet\"", 1);
	MATCH("family == 'unix'", 0);
	MATCH("family == AF_INET", 1);
	MATCH("family == AF_INET6", 0);
	MATCH("ret == \"ECONNREFUSED\"", 1);
	MATCH("dport in 1..1024", 1);
	MATCH("dport in 444..1024", 0);
	MATCH("dport in 443..443", 1);
	MATCH("dport in {53, 80, 443}", 1);
	MATCH("dport in {53,80}", 0);
	MATCH("dport in {53, 400..500}", 1);
	MATCH("not dport in {53, 80}", 1);
	MATCH("pid in {1, 1234}", 1);
	MATCH("family in {inet6, unix}", 0);
	MATCH("family in {inet, unix}", 1);
	MATCH("family in {other}", 0);
	MATCH("ret in {ECONNREFUSED, ETIMEDOUT}", 1);
	MATCH("ret in -120..-100", 1);
	MATCH("result in {ok, unknown}", 1); /* no outcome: unknown */
	MATCH("cmdline ~ '*burst.py*'", 1);
	MATCH("cmdline == 'python3 burst.py -n 5'", 1);
	MATCH("cmdline == python3", 0);
	/* latency: connect(2)'s time, or the handshake's when it ended later */
	ev.flags = CT_EV_RET | CT_EV_LATENCY;
	ev.latency_ns = 12000000;
	MATCH("latency > 10ms", 1);
	MATCH("latency > 0.5s", 0);
	MATCH("latency >= 12000us and latency <= 12ms", 1);
	MATCH("latency in 10ms..20ms", 1);
	ev.flags = CT_EV_RET | CT_EV_LATENCY | CT_EV_RESULT;
	ev.ret = -115;
	ev.result = 0;
	ev.latency_ns = 20000;
	ev.result_ns = 3000000000ULL;
	MATCH("latency > 2s", 1);
	MATCH("latency < 1ms", 0);
	ev.flags = CT_EV_RET;
	MATCH("latency >= 0ns", 0); /* unknown */

	/* host: the input's name, set before its chunks and events */
	struct ct_filter *f;
	struct ct_filter_error err;
	CHECK(ct_filter_compile("host == 'web1' or host ~ 'db*'", &f, &err) == 0, "%s", err.msg);
	ct_filter_set_host(f, "web1");
	CHECK(ct_filter_match(f, tev_event(&ev), 0) == 1, "host web1");
	ct_filter_set_host(f, "db7");
	CHECK(ct_filter_match(f, tev_event(&ev), 0) == 1, "host db7");
	ct_filter_set_host(f, "web2");
	CHECK(ct_filter_match(f, tev_event(&ev), 0) == 0, "host web2");
	struct ct_chunk_info ci = {.kind = CT_CHUNK_EVENTS, .records = 1};
	CHECK(ct_filter_chunk(f, &ci, 0) == CT_TRI_NONE, "host web2: chunk skipped");
	ct_filter_set_host(f, NULL);
	CHECK(ct_filter_match(f, tev_event(&ev), 0) == 0, "no host name");
	ct_filter_free(f);
}

static void test_precedence(void)
{
	struct tev ev = base_event();
	struct ct_procinfo pi = {0};

	/* and binds tighter than or; not binds tightest. */
	MATCH("pid == 1 or pid == 1234 and uid == 1000", 1);
	MATCH("pid == 1234 or pid == 1 and uid == 7", 1);
	MATCH("(pid == 1234 or pid == 1) and uid == 7", 0);
	MATCH("not pid == 1 and uid == 1000", 1);
	MATCH("not (pid == 1234 and uid == 1000)", 0);
	MATCH("not not pid == 1234", 1);
	MATCH("! pid == 1234 || dport == 443 && uid == 1000", 1);
	MATCH("((((pid == 1234))))", 1);
}

static void expect_error(const char *expr, size_t pos, const char *msg_part)
{
	struct ct_filter *f = NULL;
	struct ct_filter_error err;
	int rc = ct_filter_compile(expr, &f, &err);
	CHECK(rc == -1, "'%s' should not compile", expr);
	if (rc != -1) {
		ct_filter_free(f);
		return;
	}
	CHECK(err.pos == pos, "'%s': error column %zu, want %zu (%s)", expr, err.pos, pos, err.msg);
	CHECK(strstr(err.msg, msg_part) != NULL, "'%s': message '%s' lacks '%s'", expr, err.msg,
	      msg_part);
}

static void test_errors(void)
{
	expect_error("dprot == 443", 0, "unknown field 'dprot'");
	expect_error("pid == 1 and dprot == 443", 13, "unknown field 'dprot'");
	expect_error("", 0, "empty expression");
	expect_error("pid", 3, "expected an operator");
	expect_error("pid ==", 6, "expected a value");
	expect_error("pid == abc", 7, "takes a number");
	expect_error("pid == -1", 7, "out of range");
	expect_error("dport == 70000", 9, "out of range");
	expect_error("daddr == 10.0.0", 9, "bad address");
	expect_error("daddr in 10.0.0.0/33", 9, "too long for IPv4");
	expect_error("daddr in fe80::/129", 9, "bad prefix");
	expect_error("daddr == 10.0.0.0/8", 9, "use 'in'");
	expect_error("comm in 10.0.0.0/8", 5, "'in' takes a CIDR");
	expect_error("pid in 10.0.0.0/8", 7, "takes a number");
	expect_error("ret == 111", 7, "ret is 0 or -errno: use ret == ECONNREFUSED");
	expect_error("result != 110", 10, "use result == ETIMEDOUT");
	expect_error("dport in 1024..1", 15, "empty");
	expect_error("dport in {53, 80", 9, "missing '}'");
	expect_error("dport in {53 80}", 13, "expected ',' or '}'");
	expect_error("dport in 1..", 9, "LOW..HIGH");
	expect_error("latency > 10", 10, "with a unit");
	expect_error("latency > 10parsecs", 10, "bad duration");
	expect_error("comm == 'curl", 8, "unterminated string");
	expect_error("pid ~ \"1*\"", 4, "glob");
	expect_error("comm < \"a\"", 5, "does not order");
	expect_error("comm == \"curl", 8, "unterminated string");
	expect_error("(pid == 1", 0, "missing ')'");
	expect_error("pid == 1)", 8, "')' without");
	expect_error("pid == 1 pid == 2", 9, "unexpected 'pid'");
	expect_error("ret == ENOPE", 7, "unknown errno name");
	expect_error("family == bogus", 10, "unknown family");
	expect_error("family < other", 9, "'other' only");
	expect_error("type == banana", 8, "unknown socket type");
	expect_error("proto == xyz", 9, "unknown protocol");
	expect_error("ts > yesterday", 5, "bad time");
	expect_error("ts > +5parsecs", 5, "unknown unit");
	expect_error("pid == 1 and", 12, "expected a comparison");
	expect_error("pid == 1 $", 9, "unexpected character");
	expect_error("not", 3, "expected a comparison");
}

static void test_times(void)
{
	struct ct_time t;
	char err[128];

	CHECK(!ct_time_parse("2026-11-24T13:05:00Z", &t, err, sizeof(err)) && !t.is_offset &&
		  t.ns == 1795525500000000000LL,
	      "rfc3339 Z");
	CHECK(!ct_time_parse("2026-11-24T13:05:00.123456789+01:00", &t, err, sizeof(err)) &&
		  t.ns == 1795525500123456789LL - 3600000000000LL,
	      "rfc3339 zone");
	CHECK(!ct_time_parse("2026-11-24 13:05:00", &t, err, sizeof(err)) &&
		  t.ns == 1795525500000000000LL,
	      "no zone = UTC");
	CHECK(!ct_time_parse("2026-11-24T13:05", &t, err, sizeof(err)) &&
		  t.ns == 1795525500000000000LL,
	      "no seconds");
	CHECK(!ct_time_parse("2026-11-24", &t, err, sizeof(err)) &&
		  t.ns == 1795525500000000000LL - 13 * 3600000000000LL - 5 * 60000000000LL,
	      "date only");
	CHECK(!ct_time_parse("2000-02-29T00:00:00Z", &t, err, sizeof(err)) &&
		  t.ns == 951782400000000000LL,
	      "leap day");
	CHECK(!ct_time_parse("+90", &t, err, sizeof(err)) && t.is_offset && t.ns == 90000000000LL,
	      "+90");
	CHECK(!ct_time_parse("+250ms", &t, err, sizeof(err)) && t.ns == 250000000LL, "+250ms");
	CHECK(!ct_time_parse("+5m", &t, err, sizeof(err)) && t.ns == 300000000000LL, "+5m");
	CHECK(!ct_time_parse("+1h", &t, err, sizeof(err)) && t.ns == 3600000000000LL, "+1h");
	CHECK(!ct_time_parse("+1.5s", &t, err, sizeof(err)) && t.ns == 1500000000LL, "+1.5s");
	CHECK(!ct_time_parse("+7ns", &t, err, sizeof(err)) && t.ns == 7, "+7ns");
	CHECK(ct_time_parse("+", &t, err, sizeof(err)) == -1, "bare +");
	CHECK(ct_time_parse("+5x", &t, err, sizeof(err)) == -1, "bad unit");
	CHECK(ct_time_parse("+99999999999999999999", &t, err, sizeof(err)) == -1, "huge");
	CHECK(ct_time_parse("2026-13-01", &t, err, sizeof(err)) == -1, "month 13");
	CHECK(ct_time_parse("2026-11-24T25:00:00Z", &t, err, sizeof(err)) == -1, "hour 25");
	CHECK(ct_time_parse("2026-11-24T13:05:00Zjunk", &t, err, sizeof(err)) == -1, "junk");
	CHECK(ct_time_parse("yesterday", &t, err, sizeof(err)) == -1, "word");
}

/* ------------------------------------------------- pushdown soundness */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

static const char *const comms[] = {"curl", "python3", "nginx", "sshd", "postgres", "dig"};
static const char *const paths[] = {"/run/dbus/system_bus_socket", "/run/nscd/socket",
				    "/var/run/docker.sock", "@/tmp/.X11-unix/X0"};
static const uint16_t ports[] = {22, 53, 80, 443, 5432, 8080};

#define NEV 20000
#define CHUNK 256

/* Events in time order. Each chunk draws from a few values only, so
 * summaries rule chunks out and skipping is exercised, not just allowed. */
static void gen_events(struct tev *evs, int n)
{
	uint64_t ts = 1000000000ULL;
	for (int i = 0; i < n; i++) {
		struct tev *e = &evs[i];
		int chunk = i / CHUNK;
		memset(e, 0, sizeof(*e));
		ts += 1 + rnd(2000000);
		e->ts_ns = ts;
		e->pid = 100 + (uint32_t)(chunk % 7) * 10 + rnd(3);
		e->tid = e->pid;
		e->uid = (uint32_t)(chunk % 4) * 1000 + rnd(2);
		e->sockfd = (int32_t)rnd(10) - 1;
		const char *c = comms[(chunk + rnd(2)) % 6];
		memcpy(e->comm, c, strlen(c));
		uint32_t fam = rnd(10);
		e->type = 1;
		e->proto = 6;
		if (fam < 6) {
			e->family = 2;
			e->daddr[0] = 10;
			e->daddr[1] = (uint8_t)(chunk % 5);
			e->daddr[2] = 0;
			e->daddr[3] = (uint8_t)rnd(8);
			e->dport = ports[(chunk + rnd(3)) % 6];
		} else if (fam < 8) {
			e->family = 10;
			inet_pton(AF_INET6, "fd00::", e->daddr);
			e->daddr[15] = (uint8_t)(chunk % 3 + rnd(3));
			if (rnd(4) == 0)
				inet_pton(AF_INET6, "::ffff:10.1.0.3", e->daddr);
			e->dport = ports[(chunk + rnd(3)) % 6];
		} else if (fam < 10) {
			e->family = 1;
			e->proto = 0;
			const char *p = paths[(chunk + rnd(2)) % 4];
			if (p[0] == '@') {
				e->path[0] = '\0';
				memcpy(e->path + 1, p + 1, strlen(p) - 1);
				e->path_len = (uint8_t)strlen(p);
				e->flags |= CT_EV_ABSTRACT;
			} else {
				memcpy(e->path, p, strlen(p));
				e->path_len = (uint8_t)strlen(p);
			}
		}
		if (rnd(3)) {
			/* what connect(2) returned is the final outcome here, as
			 * the reader will say */
			e->flags |= CT_EV_RET | CT_EV_RESULT;
			e->ret = e->result = rnd(3) ? 0 : -111;
		}
	}
}

static void rand_cmp(char *buf, size_t size)
{
	switch (rnd(20)) {
	case 0:
		snprintf(buf, size, "pid == %u", 100 + rnd(70));
		break;
	case 1:
		snprintf(buf, size, "pid != %u", 100 + rnd(70));
		break;
	case 2:
		snprintf(buf, size, "uid == %u", rnd(4) * 1000 + rnd(2));
		break;
	case 3:
		snprintf(buf, size, "dport == %u", ports[rnd(6)]);
		break;
	case 4:
		snprintf(buf, size, "daddr == 10.%u.0.%u", rnd(6), rnd(8));
		break;
	case 5:
		snprintf(buf, size, "daddr in 10.%u.0.%u/32", rnd(6), rnd(8));
		break;
	case 6:
		snprintf(buf, size, "daddr == fd00::%x", rnd(6));
		break;
	case 7:
		snprintf(buf, size, "comm == \"%s\"", comms[rnd(6)]);
		break;
	case 8:
		snprintf(buf, size, "comm != \"%s\"", comms[rnd(6)]);
		break;
	case 9:
		snprintf(buf, size, "path == \"%s\"", paths[rnd(4)]);
		break;
	case 10:
		snprintf(buf, size, "family == %s",
			 (const char *[]){"inet", "inet6", "unix"}[rnd(3)]);
		break;
	case 11:
		snprintf(buf, size, "ts %s +%ums", (const char *[]){"<", ">=", "==", "!="}[rnd(4)],
			 rnd(20000));
		break;
	case 12:
		snprintf(buf, size, "ret == ECONNREFUSED");
		break;
	case 13:
		snprintf(buf, size, "daddr in 10.%u.0.0/16", rnd(6));
		break;
	case 14:
		snprintf(buf, size, "family != unix");
		break;
	case 15:
		snprintf(buf, size, "result == %s",
			 (const char *[]){"ECONNREFUSED", "ok", "unknown"}[rnd(3)]);
		break;
	case 16:
		snprintf(buf, size, "dport in {%u, %u}", ports[rnd(6)], ports[rnd(6)]);
		break;
	case 17:
		snprintf(buf, size, "dport in %u..%u", rnd(100), 100 + rnd(9000));
		break;
	case 18:
		snprintf(buf, size, "pid in {%u, %u, %u}", 100 + rnd(70), 100 + rnd(70),
			 100 + rnd(70));
		break;
	default:
		snprintf(buf, size, "sockfd == -1");
		break;
	}
}

static void rand_expr(char *buf, size_t size, int depth)
{
	char a[512], b[512];
	uint32_t k = depth > 2 ? 0 : rnd(4);
	if (k == 0) {
		rand_cmp(buf, size);
	} else if (k == 1) {
		rand_expr(a, sizeof(a), depth + 1);
		snprintf(buf, size, "not (%s)", a);
	} else {
		rand_expr(a, sizeof(a), depth + 1);
		rand_expr(b, sizeof(b), depth + 1);
		snprintf(buf, size, "(%s) %s (%s)", a, k == 2 ? "and" : "or", b);
	}
}

static int query_ctx_filter(void *ctx, const struct ct_chunk_info *c)
{
	return ct_filter_chunk(ctx, c, 0) != CT_TRI_NONE;
}

static void test_pushdown(void)
{
	static struct tev evs[NEV];
	struct membuf file = {0};
	struct ct_writer *w;
	struct ct_header hdr = {.clock_id = 1, .hostname = "t", .backend = "generated"};
	struct ct_writer_opts wo = {.compress = CT_COMP_NONE, .chunk_events = CHUNK};
	struct ct_writer_io wio = mem_writer_io(&file);

	gen_events(evs, NEV);
	CHECK(ct_writer_open(&w, &wio, &hdr, &wo) == 0, "writer open");
	for (int i = 0; i < NEV; i++)
		ct_writer_event(w, tev_event(&evs[i]));
	CHECK(ct_writer_close(w) == 0, "writer close");

	int skipped_total = 0, filters = 0;
	for (int iter = 0; iter < 300; iter++) {
		char expr[2048];
		rand_expr(expr, sizeof(expr), 0);
		struct ct_filter *f;
		struct ct_filter_error err;
		if (ct_filter_compile(expr, &f, &err)) {
			CHECK(0, "generated filter '%s' does not compile: %s", expr, err.msg);
			continue;
		}
		filters++;
		struct ct_reader_io rio = mem_reader_io(&file, 1);
		struct ct_reader_opts ro = {.quiet = 1};
		struct ct_reader *r;
		if (ct_reader_open(&r, &rio, &ro)) {
			CHECK(0, "reader open");
			ct_filter_free(f);
			break;
		}
		/* Per chunk: events i*CHUNK.. belong to event chunk i (the
		 * writer closes a chunk every CHUNK events, in order). */
		uint32_t ev_chunk = 0;
		for (uint32_t ci = 0; ci < ct_reader_chunk_count(r); ci++) {
			const struct ct_chunk_info *c = ct_reader_chunk(r, ci);
			if (c->kind != CT_CHUNK_EVENTS)
				continue;
			enum ct_tri t = ct_filter_chunk(f, c, 0);
			int lo = (int)ev_chunk * CHUNK, hi = lo + (int)c->records;
			int any = 0, all = 1;
			for (int i = lo; i < hi && i < NEV; i++) {
				int m =
				    ct_filter_match(f, tev_event(&evs[i]), (int64_t)evs[i].ts_ns);
				any |= m;
				all &= m;
			}
			CHECK(!(t == CT_TRI_NONE && any), "'%s': chunk %u skipped but has a match",
			      expr, ev_chunk);
			CHECK(!(t == CT_TRI_ALL && !all), "'%s': chunk %u ALL but an event fails",
			      expr, ev_chunk);
			ev_chunk++;
		}
		/* End to end: pushdown + per-event == per-event alone. */
		struct ct_query q = {.chunk_filter = query_ctx_filter, .ctx = f};
		ct_reader_set_query(r, &q);
		const struct ct_record *rec;
		int got = 0, want = 0;
		while (ct_reader_next_event(r, &rec) == 1)
			if (rec->type == CT_REC_EVENT &&
			    ct_filter_match(f, &rec->ev, (int64_t)rec->ev.ts_ns))
				got++;
		for (int i = 0; i < NEV; i++)
			want += ct_filter_match(f, tev_event(&evs[i]), (int64_t)evs[i].ts_ns);
		CHECK(got == want, "'%s': %d matches with pushdown, %d by full scan", expr, got,
		      want);
		struct ct_reader_stats st;
		ct_reader_stats(r, &st);
		skipped_total += (int)st.chunks_skipped;
		ct_reader_close(r);
		ct_filter_free(f);
	}
	/* The generator makes chunks distinct: some must have been skipped,
	 * or the pushdown is not working at all. */
	CHECK(skipped_total > 0, "no chunk was ever skipped over %d filters", filters);
	printf("pushdown: %d filters, %d chunks skipped in total\n", filters, skipped_total);
	free(file.p);
}

/* The columns an expression reads, from the field table: a field a batch
 * would lack is never left out (the reader decodes what the filter reads). */
static void test_columns(void)
{
	static const struct {
		const char *expr;
		uint32_t columns;
	} cases[] = {
	    {"dport == 443", 0},
	    {"exe ~ \"*curl\" or container == \"abc\"", 0},
	    {"ret == ECONNREFUSED and ts >= +1s", CT_COL_RET},
	    {"result == ETIMEDOUT", CT_COL_RESULT},
	    {"not (pid == 1 or path ~ \"/run/*\")", 0},
	    {"tid == 5", CT_COL_TID},
	    {"saddr == 127.0.0.1", CT_COL_LOCAL},
	    {"dport == 53 or sport == 5353", CT_COL_LOCAL},
	    {"not (sockfd == -1) and tid > 3", CT_COL_SOCKFD | CT_COL_TID},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ct_filter *f;
		struct ct_filter_error err;
		int rc = ct_filter_compile(cases[i].expr, &f, &err);
		CHECK(rc == 0, "compile %s: %s", cases[i].expr, err.msg);
		if (rc)
			continue;
		CHECK(ct_filter_columns(f) == cases[i].columns, "columns(%s) = %#x, want %#x",
		      cases[i].expr, ct_filter_columns(f), cases[i].columns);
		ct_filter_free(f);
	}
}

/* Deep nesting is refused with a caret, never a crash; long chains of and
 * and or are fine (they do not nest). */
static void test_depth(void)
{
	size_t n = 131000;
	char *e = malloc(3 * n + 32);
	struct ct_filter *f;
	struct ct_filter_error err;
	memset(e, '!', n);
	strcpy(e + n, "pid == 1");
	CHECK(ct_filter_compile(e, &f, &err) == -1 && strstr(err.msg, "nested too deeply"),
	      "131000 nots: %s", err.msg);
	CHECK(err.pos <= 210, "caret at %zu", err.pos);
	memset(e, '(', 65500);
	strcpy(e + 65500, "pid == 1");
	CHECK(ct_filter_compile(e, &f, &err) == -1 && strstr(err.msg, "nested too deeply"),
	      "65500 parentheses: %s", err.msg);
	/* 200 levels are allowed. */
	memset(e, '(', 200);
	strcpy(e + 200, "pid == 1");
	memset(e + 208, ')', 200);
	e[408] = 0;
	CHECK(ct_filter_compile(e, &f, &err) == 0, "200 levels: %s", err.msg);
	ct_filter_free(f);
	/* A chain of 20000 comparisons compiles and evaluates. */
	size_t o = 0;
	for (int i = 0; i < 20000; i++)
		o += (size_t)sprintf(e + o, "%spid == %d", i ? " or " : "", i);
	CHECK(ct_filter_compile(e, &f, &err) == 0, "long chain: %s", err.msg);
	if (f) {
		struct tev ev = base_event();
		ev.pid = 19999;
		CHECK(ct_filter_match(f, tev_event(&ev), 0) == 1);
		ct_filter_free(f);
	}
	free(e);
}

int main(void)
{
	test_fields();
	test_typed();
	test_columns();
	test_depth();
	test_precedence();
	test_errors();
	test_times();
	test_pushdown();
	return check_done("test_filter");
}
