/* SPDX-License-Identifier: MIT */
/* test_eventfmt: names, address text, RFC 3339, outcomes and the JSON line. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "export/eventfmt.h"
#include "lib/names.h"
#include "tests/unit/check.h"
#include "tests/unit/tev.h"

#define EXPECT_STR(what, want, got)                                                                \
	do {                                                                                       \
		const char *w_ = (want), *g_ = (got);                                              \
		CHECK(g_ && !strcmp(w_, g_), "%s: want '%s' got '%s'", what, w_,                   \
		      g_ ? g_ : "(null)");                                                         \
	} while (0)

static struct tev inet4(const char *addr, uint16_t port)
{
	struct tev ev = {0};
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
	char buf[16];
	EXPECT_STR("family", "AF_INET6", ct_family_name(10));
	EXPECT_STR("family netlink", "AF_NETLINK", ct_family_name(16));
	EXPECT_STR("family short", "other", ct_family_short(16));
	EXPECT_STR("type", "SOCK_DGRAM", ct_type_name(2));
	EXPECT_STR("type short", "seqpacket", ct_type_short(5));
	EXPECT_STR("proto", "udp", ct_proto_short(17));
	EXPECT_STR("errno", "ECONNREFUSED", ct_errno_name(-111));
	EXPECT_STR("errno", "ECONNREFUSED", ct_errno_name(111));
	CHECK(ct_errno_from_name("ETIMEDOUT") == 110 && ct_errno_from_name("EWOULDBLOCK") == 11 &&
	      ct_errno_from_name("ENOPE") == -1);
	CHECK(!ct_family_name(300) && !ct_errno_name(0) && !ct_errno_name(9999),
	      "unknown names should be NULL");
	ct_family_text(buf, sizeof(buf), 300);
	EXPECT_STR("family text unnamed", "AF_300", buf);
	ct_family_text(buf, sizeof(buf), 1);
	EXPECT_STR("family text", "AF_UNIX", buf);
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
	struct tev ev = inet4("10.0.0.1", 443);
	ct_fmt_dest(buf, sizeof(buf), tev_event(&ev));
	EXPECT_STR("dest v4", "10.0.0.1:443", buf);

	ev.family = 10;
	memset(ev.daddr, 0, 16);
	inet_pton(AF_INET6, "::1", ev.daddr);
	ev.dport = 53;
	ct_fmt_dest(buf, sizeof(buf), tev_event(&ev));
	EXPECT_STR("dest v6", "[::1]:53", buf);
	ev.scope_id = 2;
	inet_pton(AF_INET6, "fe80::1", ev.daddr);
	ct_fmt_dest(buf, sizeof(buf), tev_event(&ev));
	EXPECT_STR("dest v6 scope", "[fe80::1%2]:53", buf);
	ct_fmt_daddr(buf, sizeof(buf), tev_event(&ev));
	EXPECT_STR("daddr v6", "fe80::1", buf);

	ev.family = 1;
	memcpy(ev.path, "\0abs\n", 5);
	ev.path_len = 5;
	ev.flags = CT_EV_ABSTRACT;
	ct_fmt_dest(buf, sizeof(buf), tev_event(&ev));
	EXPECT_STR("dest abstract", "@abs\\x0a", buf);

	ev.family = 38;
	ct_fmt_dest(buf, sizeof(buf), tev_event(&ev));
	EXPECT_STR("dest other", "family 38", buf);

	/* A full 108-byte path of unprintable bytes never overflows. */
	ev.family = 1;
	ev.flags = 0;
	memset(ev.path, 1, sizeof(ev.path));
	ev.path_len = CT_UNIX_PATH_MAX;
	char small[16];
	ct_fmt_dest(small, sizeof(small), tev_event(&ev));
	CHECK(strlen(small) < sizeof(small), "dest truncation");
}

static void test_result(void)
{
	struct tev ev = inet4("1.2.3.4", 80);
	EXPECT_STR("ret unknown", "?", ct_fmt_ret(tev_event(&ev)));
	EXPECT_STR("result unknown", "unknown", ct_fmt_result(tev_event(&ev)));
	ev.flags = CT_EV_RET;
	EXPECT_STR("ret ok", "ok", ct_fmt_ret(tev_event(&ev)));
	ev.ret = -115;
	EXPECT_STR("ret inprogress", "EINPROGRESS", ct_fmt_ret(tev_event(&ev)));
	ev.ret = -4000;
	EXPECT_STR("ret numeric", "-4000", ct_fmt_ret(tev_event(&ev)));
	/* The handshake's outcome, after connect(2) said EINPROGRESS. */
	ev.ret = -115;
	ev.flags = CT_EV_RET | CT_EV_RESULT;
	ev.result = -111;
	EXPECT_STR("result refused", "ECONNREFUSED", ct_fmt_result(tev_event(&ev)));
	CHECK(ct_outcome_later(tev_event(&ev)));
	ev.flags = CT_EV_RET | CT_EV_ABANDONED;
	EXPECT_STR("result abandoned", "abandoned", ct_fmt_result(tev_event(&ev)));
	CHECK(ct_outcome_later(tev_event(&ev)));
	/* A blocking connect: the outcome is what it returned, not later. */
	ev.flags = CT_EV_RET | CT_EV_RESULT;
	ev.ret = ev.result = 0;
	EXPECT_STR("result ok", "ok", ct_fmt_result(tev_event(&ev)));
	CHECK(!ct_outcome_later(tev_event(&ev)));
}

static void test_json(void)
{
	struct ct_buf b = {0};
	struct tev ev = inet4("10.0.0.1", 443);
	struct ct_procinfo pi = {0};
	pi.exe = "/usr/bin/curl";
	pi.cmdline = "curl -s http://10.0.0.1/";
	ev.flags = CT_EV_RET | CT_EV_LATENCY | CT_EV_RESULT | CT_EV_CLOSED;
	ev.ret = -115;
	ev.latency_ns = 1500;
	ev.result = 0;
	ev.result_ns = 90000;
	ev.closed_ns = 5000000;
	ev.tx_bytes = 77;
	ev.rx_bytes = 1234;
	ev.sockfd = 3;
	const struct ct_event *e = tev_event(&ev);
	ev.ev.proc = &pi;
	ct_fmt_json_event(&b, e, 1795525500123456789LL, "web1");
	ct_buf_put(&b, "", 1);
	EXPECT_STR(
	    "json inet",
	    "{\"ts\":\"2026-11-24T13:05:00.123456789Z\",\"ts_ns\":1795525500123456789,"
	    "\"host\":\"web1\",\"pid\":42,\"tid\":42,\"ppid\":1,\"uid\":1000,\"gid\":100,"
	    "\"comm\":\"curl\",\"exe\":\"/usr/bin/curl\",\"cmdline\":\"curl -s "
	    "http://10.0.0.1/\",\"sockfd\":3,\"family\":\"AF_INET\","
	    "\"type\":\"SOCK_STREAM\",\"proto\":\"tcp\",\"daddr\":\"10.0.0.1\",\"dport\":443,"
	    "\"ret\":-115,\"ret_name\":\"EINPROGRESS\",\"latency_ns\":1500,\"result\":0,"
	    "\"result_ns\":90000,"
	    "\"outcome\":\"ok\",\"closed_ns\":5000000,\"tx_bytes\":77,\"rx_bytes\":1234}\n",
	    b.p);

	/* Unknown outcome: no result key, outcome "unknown"; still open. */
	b.len = 0;
	ev.flags = CT_EV_RET | CT_EV_OPEN;
	e = tev_event(&ev);
	ev.ev.proc = NULL;
	ct_fmt_json_event(&b, e, 0, NULL);
	ct_buf_put(&b, "", 1);
	CHECK(strstr(b.p, "\"ret\":-115,\"ret_name\":\"EINPROGRESS\",\"outcome\":\"unknown\","
			  "\"still_open\":true}") &&
		  !strstr(b.p, "\"result\""),
	      "json unknown: %s", b.p);

	/* UNIX abstract name with a control byte and invalid UTF-8 in the
	 * path and a quote in comm: always valid JSON. An unnamed family is
	 * still a string. */
	b.len = 0;
	struct tev u = {0};
	u.family = 1;
	u.type = 5;
	u.sockfd = -1;
	u.cgroup_id = 77;
	memcpy(u.comm, "a\"b", 3);
	memcpy(u.path, "\0x\x01\xff\xc3\xa9", 6);
	u.path_len = 6;
	u.flags = CT_EV_ABSTRACT | CT_EV_RET | CT_EV_RESULT;
	pi.exe = NULL;
	pi.cmdline = NULL;
	pi.container = "abc123";
	e = tev_event(&u);
	u.ev.proc = &pi;
	ct_fmt_json_event(&b, e, 5, NULL);
	ct_buf_put(&b, "", 1);
	EXPECT_STR("json unix",
		   "{\"ts\":\"1970-01-01T00:00:00.000000005Z\",\"ts_ns\":5,\"pid\":0,\"tid\":0,"
		   "\"ppid\":0,\"uid\":0,\"gid\":0,\"comm\":\"a\\\"b\",\"cgroup_id\":77,"
		   "\"container\":\"abc123\",\"family\":\"AF_UNIX\",\"type\":\"SOCK_SEQPACKET\","
		   "\"path\":\"@x\\u0001\\u00ff\xc3\xa9\",\"abstract\":true,\"ret\":0,\"ret_name\":"
		   "\"ok\",\"result\":0,"
		   "\"outcome\":\"ok\"}\n",
		   b.p);
	b.len = 0;
	u.family = 300;
	ct_fmt_json_event(&b, tev_event(&u), 5, NULL);
	ct_buf_put(&b, "", 1);
	CHECK(strstr(b.p, "\"family\":\"AF_300\""), "family as a string: %s", b.p);
	ct_buf_free(&b);
}

int main(void)
{
	test_names();
	test_time();
	test_dest();
	test_result();
	test_json();
	return check_done("test_eventfmt");
}
