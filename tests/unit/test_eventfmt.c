/* SPDX-License-Identifier: MIT */
/* test_eventfmt: names, address text, RFC 3339 and the JSON line. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "export/eventfmt.h"
#include "lib/names.h"

static int fails;

#define EXPECT_STR(what, want, got)                                                                \
	do {                                                                                       \
		const char *w_ = (want), *g_ = (got);                                              \
		if (!g_ || strcmp(w_, g_)) {                                                       \
			fprintf(stderr, "FAIL %s:%d %s: want '%s' got '%s'\n", __FILE__, __LINE__, \
				what, w_, g_ ? g_ : "(null)");                                     \
			fails++;                                                                   \
		}                                                                                  \
	} while (0)

static struct ct_event inet4(const char *addr, uint16_t port)
{
	struct ct_event ev = {0};
	ev.family = 2;
	ev.type = 1;
	ev.proto = 6;
	inet_pton(AF_INET, addr, ev.daddr);
	ev.dport = port;
	ev.sockfd = -1;
	ev.pid = ev.tid = 42;
	ev.ppid = 1;
	ev.uid = 1000;
	ev.gid = 100;
	memcpy(ev.comm, "curl", 4);
	return ev;
}

static void test_names(void)
{
	EXPECT_STR("family", "AF_INET6", ct_family_name(10));
	EXPECT_STR("family short", "other", ct_family_short(16));
	EXPECT_STR("type", "SOCK_DGRAM", ct_type_name(2));
	EXPECT_STR("type short", "seqpacket", ct_type_short(5));
	EXPECT_STR("proto", "udp", ct_proto_short(17));
	EXPECT_STR("errno", "ECONNREFUSED", ct_errno_name(-111));
	EXPECT_STR("errno", "ECONNREFUSED", ct_errno_name(111));
	if (ct_errno_from_name("ETIMEDOUT") != 110 || ct_errno_from_name("EWOULDBLOCK") != 11 ||
	    ct_errno_from_name("ENOPE") != -1) {
		fprintf(stderr, "FAIL errno from name\n");
		fails++;
	}
	if (ct_family_name(38) || ct_errno_name(0) || ct_errno_name(9999)) {
		fprintf(stderr, "FAIL unknown names should be NULL\n");
		fails++;
	}
}

static void test_time(void)
{
	char buf[48];
	ct_fmt_rfc3339(buf, sizeof(buf), 1795525500123456789LL);
	EXPECT_STR("rfc3339", "2026-11-24T13:05:00.123456789Z", buf);
	ct_fmt_rfc3339(buf, sizeof(buf), -1);
	EXPECT_STR("rfc3339 negative", "1969-12-31T23:59:59.999999999Z", buf);
}

static void test_dest(void)
{
	char buf[256];
	struct ct_event ev = inet4("10.0.0.1", 443);
	ct_fmt_dest(buf, sizeof(buf), &ev);
	EXPECT_STR("dest v4", "10.0.0.1:443", buf);

	ev.family = 10;
	memset(ev.daddr, 0, 16);
	inet_pton(AF_INET6, "::1", ev.daddr);
	ev.dport = 53;
	ct_fmt_dest(buf, sizeof(buf), &ev);
	EXPECT_STR("dest v6", "[::1]:53", buf);
	ev.scope_id = 2;
	inet_pton(AF_INET6, "fe80::1", ev.daddr);
	ct_fmt_dest(buf, sizeof(buf), &ev);
	EXPECT_STR("dest v6 scope", "[fe80::1%2]:53", buf);
	ct_fmt_daddr(buf, sizeof(buf), &ev);
	EXPECT_STR("daddr v6", "fe80::1", buf);

	ev.family = 1;
	memcpy(ev.path, "\0abs\n", 5);
	ev.path_len = 5;
	ev.flags = CT_EV_ABSTRACT;
	ct_fmt_dest(buf, sizeof(buf), &ev);
	EXPECT_STR("dest abstract", "@abs\\x0a", buf);

	ev.family = 38;
	ct_fmt_dest(buf, sizeof(buf), &ev);
	EXPECT_STR("dest other", "family 38", buf);

	/* A full 108-byte path of unprintable bytes never overflows. */
	ev.family = 1;
	ev.flags = 0;
	memset(ev.path, 1, sizeof(ev.path));
	ev.path_len = CT_UNIX_PATH_MAX;
	char small[16];
	ct_fmt_dest(small, sizeof(small), &ev);
	if (strlen(small) >= sizeof(small)) {
		fprintf(stderr, "FAIL dest truncation\n");
		fails++;
	}
}

static void test_result(void)
{
	struct ct_event ev = inet4("1.2.3.4", 80);
	EXPECT_STR("result unknown", "?", ct_fmt_result(&ev));
	ev.flags = CT_EV_RET;
	EXPECT_STR("result ok", "ok", ct_fmt_result(&ev));
	ev.ret = -115;
	EXPECT_STR("result inprogress", "EINPROGRESS", ct_fmt_result(&ev));
	ev.ret = -4000;
	EXPECT_STR("result numeric", "-4000", ct_fmt_result(&ev));
}

static void test_json(void)
{
	struct ct_buf b = {0};
	struct ct_event ev = inet4("10.0.0.1", 443);
	struct ct_proc_info pi = {0};
	pi.exe = "/usr/bin/curl";
	ev.flags = CT_EV_RET | CT_EV_LATENCY;
	ev.ret = -111;
	ev.latency_ns = 1500;
	ev.sockfd = 3;
	ct_fmt_json_event(&b, &ev, &pi, 1795525500123456789LL, "web1");
	ct_buf_put(&b, "", 1);
	EXPECT_STR(
	    "json inet",
	    "{\"ts\":\"2026-11-24T13:05:00.123456789Z\",\"ts_ns\":1795525500123456789,"
	    "\"host\":\"web1\",\"pid\":42,\"tid\":42,\"ppid\":1,\"uid\":1000,\"gid\":100,"
	    "\"comm\":\"curl\",\"exe\":\"/usr/bin/curl\",\"sockfd\":3,\"family\":\"AF_INET\","
	    "\"type\":\"SOCK_STREAM\",\"proto\":\"tcp\",\"daddr\":\"10.0.0.1\",\"dport\":443,"
	    "\"ret\":-111,\"latency_ns\":1500}\n",
	    b.p);

	/* UNIX abstract name with a control byte and invalid UTF-8 in the
	 * path and a quote in comm: always valid JSON. */
	b.len = 0;
	struct ct_event u = {0};
	u.family = 1;
	u.type = 5;
	u.sockfd = -1;
	u.cgroup_id = 77;
	memcpy(u.comm, "a\"b", 3);
	memcpy(u.path, "\0x\x01\xff\xc3\xa9", 6);
	u.path_len = 6;
	u.flags = CT_EV_ABSTRACT;
	pi.exe = NULL;
	pi.container = "abc123";
	ct_fmt_json_event(&b, &u, &pi, 5, NULL);
	ct_buf_put(&b, "", 1);
	EXPECT_STR("json unix",
		   "{\"ts\":\"1970-01-01T00:00:00.000000005Z\",\"ts_ns\":5,\"pid\":0,\"tid\":0,"
		   "\"ppid\":0,\"uid\":0,\"gid\":0,\"comm\":\"a\\\"b\",\"cgroup_id\":77,"
		   "\"container\":\"abc123\",\"family\":\"AF_UNIX\",\"type\":\"SOCK_SEQPACKET\","
		   "\"path\":\"@x\\u0001\\u00ff\xc3\xa9\",\"abstract\":true}\n",
		   b.p);
	ct_buf_free(&b);
}

int main(void)
{
	test_names();
	test_time();
	test_dest();
	test_result();
	test_json();
	if (fails) {
		fprintf(stderr, "test_eventfmt: %d failures\n", fails);
		return 1;
	}
	printf("test_eventfmt: ok\n");
	return 0;
}
