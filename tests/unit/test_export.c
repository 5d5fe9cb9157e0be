/* SPDX-License-Identifier: MIT */
/*
 * test_export: every convert sink on hand-made events, read back by the
 * real consumer where one exists in C (libpcap for pcapng and pcap), and by
 * exact expectations for the text formats (CSV quoting, JSON lines equal to
 * ct_fmt_json_event, the Tracee shape).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export/eventfmt.h"
#include "export/export.h"
#include "tests/unit/check.h"
#include "tests/unit/tev.h"

extern const struct ct_export_ops ct_pcapng_ops, ct_pcap_ops, ct_csv_ops, ct_jsonl_ops,
    ct_tracee_ops, ct_clickhouse_ops;

#define BASE_NS 1700000000123456789LL

static struct ct_export_input inputs[1] = {{.path = "t.ctr", .hdr = &test_hdr, .host_index = 0}};

enum { N_EV = 8 };
static struct tev evs[N_EV];
static struct ct_procinfo procs[N_EV];

/* The event view of t with its process information. */
static const struct ct_event *view(struct tev *t, const struct ct_procinfo *p)
{
	const struct ct_event *e = tev_event(t);
	t->ev.proc = p;
	return e;
}

static void base(struct tev *e, uint32_t pid, const char *comm)
{
	memset(e, 0, sizeof(*e));
	e->pid = e->tid = pid;
	e->ppid = 1;
	e->uid = 1000;
	e->gid = 1000;
	e->sockfd = 3;
	memcpy(e->comm, comm, strnlen(comm, CT_COMM_LEN));
}

static void make_events(void)
{
	struct tev *e = evs;

	/* 0: IPv4 TCP, succeeded, with latency */
	base(e, 100, "curl");
	e->family = 2, e->type = 1, e->proto = 6;
	inet_pton(AF_INET, "93.184.216.34", e->daddr);
	e->dport = 443;
	e->flags = CT_EV_RET | CT_EV_LATENCY | CT_EV_RESULT | CT_EV_TRACKED | CT_EV_CLOSED;
	e->latency_ns = 12345;
	e->result_ns = 12345;
	e->closed_ns = 5000000, e->tx_bytes = 100, e->rx_bytes = 2000;
	procs[0].exe = "/usr/bin/curl";
	/* 1: IPv4 TCP refused, bound source known, a comm that needs quoting */
	base(++e, 101, "a,\"b");
	e->family = 2, e->type = 1, e->proto = 6;
	inet_pton(AF_INET, "127.0.0.1", e->daddr);
	inet_pton(AF_INET, "127.0.0.1", e->saddr);
	e->dport = 9, e->sport = 40000;
	e->ret = e->result = -111;
	e->flags = CT_EV_RET | CT_EV_SADDR | CT_EV_RESULT;
	/* 2: IPv6 UDP with scope id */
	base(++e, 102, "dig");
	e->family = 10, e->type = 2, e->proto = 17;
	inet_pton(AF_INET6, "fe80::1", e->daddr);
	e->dport = 53;
	e->scope_id = 2;
	e->sockfd = -1;
	/* 3: UNIX path */
	base(++e, 103, "systemctl");
	e->family = 1, e->type = 1;
	strcpy(e->path, "/run/x.sock");
	e->path_len = (uint8_t)strlen(e->path);
	e->flags = CT_EV_RET | CT_EV_RESULT;
	procs[3].container = "abc123";
	/* its container's names: a comma to quote, a formula to neutralise */
	procs[3].ctr[CT_CTR_NAME] = "db,1";
	procs[3].ctr[CT_CTR_IMAGE] = "=img";
	procs[3].ctr[CT_CTR_NS] = "shop";
	/* 4: UNIX abstract name with an '&' (Go escapes it) */
	base(++e, 104, "dbus");
	e->family = 1, e->type = 1;
	memcpy(e->path, "\0a&b", 4);
	e->path_len = 4;
	e->flags = CT_EV_ABSTRACT;
	/* 5: AF_NETLINK */
	base(++e, 105, "ip");
	e->family = 16, e->type = 3;
	/* 6: IPv4 ping socket */
	base(++e, 106, "ping");
	e->family = 2, e->type = 2, e->proto = 1;
	inet_pton(AF_INET, "10.0.0.1", e->daddr);
	/* 7: IPv6 TCP, non-blocking: EINPROGRESS, then host unreachable 3 ms later */
	base(++e, 107, "wget");
	e->family = 10, e->type = 1, e->proto = 6;
	inet_pton(AF_INET6, "2001:db8::7", e->daddr);
	e->dport = 80;
	e->ret = -115;
	e->result = -113;
	e->result_ns = 3000000;
	e->flags = CT_EV_RET | CT_EV_TRACKED | CT_EV_RESULT;
}

/* Run a sink over all events into a temporary file; returns its path. */
static char *run_sink(const struct ct_export_format *fmt, int replies)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/test_export.XXXXXX");
	int fd = mkstemp(path);
	struct ct_out out;
	struct ct_export_info info = {.ninputs = 1,
				      .inputs = inputs,
				      .nhosts = 1,
				      .cmdline = "conntrail convert t.ctr",
				      .replies = replies};
	struct ct_exporter *x = NULL;

	CHECK(fd >= 0, "mkstemp");
	CHECK(ct_out_init(&out, fd, 256) == 0, "ct_out_init"); /* tiny: exercise flushing */
	CHECK(ct_export_open(fmt, &x, &out, &info) == 0, "%s open", fmt->name);
	for (int i = 0; i < N_EV; i++)
		CHECK(fmt->ops->event(x, view(&evs[i], &procs[i]), 0, BASE_NS + i * 1000) == 0,
		      "%s event %d", fmt->name, i);
	struct ct_lost l = {.count = 7, .cpu = UINT32_MAX};
	CHECK(!fmt->ops->lost || fmt->ops->lost(x, &l, 0, BASE_NS + 9000) == 0, "%s lost",
	      fmt->name);
	CHECK(ct_export_close(fmt, x) == 0, "%s close", fmt->name);
	ct_out_free(&out);
	close(fd);
	return path;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	size_t cap = 0;
	*len = 0;
	if (!f)
		return NULL;
	for (;;) {
		p = realloc(p, cap + 65536 + 1);
		size_t n = fread(p + *len, 1, 65536, f);
		*len += n;
		cap += 65536;
		if (n < 65536)
			break;
	}
	fclose(f);
	p[*len] = '\0';
	return p;
}

/* What fmt writes for the events (run_sink, no replies), read back whole;
 * the file is removed. */
static char *sink_bytes(const struct ct_export_format *fmt, size_t *len)
{
	char *path = run_sink(fmt, 0);
	char *s = slurp(path, len);
	unlink(path);
	return s;
}

/* Lines of s ending in eol. */
static int lines_of(const char *s, size_t len, const char *eol)
{
	size_t k = strlen(eol);
	int n = 0;
	for (size_t i = 0; i + k <= len; i++)
		n += !memcmp(s + i, eol, k);
	return n;
}

static int csum_ok(const uint8_t *p, size_t n, uint32_t acc)
{
	for (; n >= 2; p += 2, n -= 2)
		acc += (uint32_t)p[0] << 8 | p[1];
	if (n)
		acc += (uint32_t)p[0] << 8;
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return acc == 0xffff;
}

/* Checks an IP frame: header checksum, transport checksum, addresses. */
static void check_ip_frame(const uint8_t *f, size_t len, const struct tev *ev, int i)
{
	uint16_t et = (uint16_t)(f[12] << 8 | f[13]);
	const uint8_t *ip = f + 14;
	uint32_t pseudo;
	size_t l4len;
	const uint8_t *l4;
	uint8_t proto;

	/* IPv4 or IPv6: header length, where the protocol and the source and
	 * destination addresses are (the pseudo-header's). */
	int v4 = ev->family == 2;
	size_t hlen = v4 ? 20 : 40, alen = v4 ? 4 : 16, src = v4 ? 12 : 8;
	CHECK(et == (v4 ? 0x0800 : 0x86DD), "frame %d: ethertype %#x", i, et);
	CHECK(!v4 || csum_ok(ip, 20, 0), "frame %d: IPv4 header checksum", i);
	CHECK(!memcmp(ip + src + alen, ev->daddr, alen), "frame %d: destination", i);
	proto = ip[v4 ? 9 : 6];
	l4 = ip + hlen;
	l4len = len - 14 - hlen;
	pseudo = 0;
	for (size_t k = src; k < hlen; k += 2)
		pseudo += (uint32_t)ip[k] << 8 | ip[k + 1];
	pseudo += proto + (uint32_t)l4len;
	if (proto == 6) {
		/* A Linux SYN: MSS, SACK-permitted, timestamps, NOP, window scale 7 */
		static const uint8_t kinds[] = {2, 4, 0, 0, 4, 2, 8, 10};
		CHECK(l4len == 40 && l4[12] == 0xa0, "frame %d: TCP length with options", i);
		CHECK(!memcmp(l4 + 20, kinds, 2) && !memcmp(l4 + 24, kinds + 4, 4) &&
			  !memcmp(l4 + 36, "\x01\x03\x03\x07", 4) && !l4[32] && !l4[33],
		      "frame %d: SYN options", i);
		CHECK((l4[2] << 8 | l4[3]) == ev->dport, "frame %d: TCP dport", i);
		CHECK(l4[13] == 0x02, "frame %d: SYN flags %#x", i, l4[13]);
		CHECK(csum_ok(l4, l4len, pseudo), "frame %d: TCP checksum", i);
		if (ev->flags & CT_EV_SADDR)
			CHECK((l4[0] << 8 | l4[1]) == ev->sport, "frame %d: bound sport", i);
	} else if (proto == 17) {
		CHECK((l4[2] << 8 | l4[3]) == ev->dport, "frame %d: UDP dport", i);
		CHECK(csum_ok(l4, l4len, pseudo), "frame %d: UDP checksum", i);
	} else if (proto == 1) {
		CHECK(l4[0] == 8, "frame %d: ICMP echo request", i);
		CHECK(csum_ok(l4, l4len, 0), "frame %d: ICMP checksum", i);
	} else {
		CHECK(0, "frame %d: unexpected protocol %u", i, proto);
	}
}

static void check_pcap_file(const char *path, int nano)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
	struct pcap_pkthdr *h;
	const u_char *d;
	int i = 0, r;

	CHECK(p, "libpcap cannot open %s: %s", path, err);
	if (!p)
		return;
	CHECK(pcap_datalink(p) == DLT_EN10MB, "%s: datalink %d", path, pcap_datalink(p));
	while ((r = pcap_next_ex(p, &h, &d)) == 1 && i < N_EV) {
		struct tev *ev = &evs[i];
		int64_t ns = (int64_t)h->ts.tv_sec * 1000000000 + h->ts.tv_usec;
		if (nano)
			CHECK(ns == BASE_NS + i * 1000, "frame %d: time %lld", i, (long long)ns);
		if (ct_packet_is_ip(tev_event(ev))) {
			check_ip_frame(d, h->caplen, ev, i);
		} else {
			CHECK(d[12] == 0x88 && d[13] == 0xb5, "frame %d: conntrail ethertype", i);
			struct ct_buf want = {0};
			ct_fmt_json_event(&want, view(ev, &procs[i]), BASE_NS + i * 1000,
					  "testhost");
			CHECK(h->caplen == 14 + want.len - 1 &&
				  !memcmp(d + 14, want.p, want.len - 1),
			      "frame %d: payload is the JSON line", i);
			ct_buf_free(&want);
		}
		i++;
	}
	CHECK(r == -2, "%s: read ended with %d (%s)", path, r, r == -1 ? pcap_geterr(p) : "");
	CHECK(i == N_EV, "%s: %d frames, want %d", path, i, N_EV);
	pcap_close(p);
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* Walk the pcapng blocks: every length sane, and the ISB's ifdrop is 7. */
static void check_pcapng_blocks(const char *path)
{
	size_t len;
	uint8_t *f = (uint8_t *)slurp(path, &len);
	size_t off = 0;
	int shb = 0, idb = 0, epb = 0, isb = 0;
	uint64_t ifdrop = UINT64_MAX;

	CHECK(f != NULL, "read %s", path);
	while (f && off + 12 <= len) {
		uint32_t type = rd32(f + off), blen = rd32(f + off + 4);
		CHECK(blen >= 12 && blen % 4 == 0 && off + blen <= len, "block at %zu: length %u",
		      off, blen);
		if (blen < 12 || blen % 4 || off + blen > len)
			break;
		CHECK(rd32(f + off + blen - 4) == blen, "block at %zu: trailing length", off);
		shb += type == 0x0A0D0D0A;
		idb += type == 1;
		epb += type == 6;
		if (type == 5) {
			isb++;
			size_t o = off + 20;
			while (o + 4 <= off + blen - 4) {
				uint16_t code, olen;
				memcpy(&code, f + o, 2);
				memcpy(&olen, f + o + 2, 2);
				if (code == 5 && olen == 8)
					memcpy(&ifdrop, f + o + 4, 8);
				if (code == 0)
					break;
				o += 4 + ((olen + 3u) & ~3u);
			}
		}
		off += blen;
	}
	CHECK(off == len, "pcapng: %zu trailing bytes", len - off);
	CHECK(shb == 1 && idb == 1 && isb == 1, "pcapng: SHB %d IDB %d ISB %d", shb, idb, isb);
	CHECK(epb == N_EV, "pcapng: %d EPBs", epb);
	CHECK(ifdrop == 7, "pcapng: isb_ifdrop %llu", (unsigned long long)ifdrop);
	free(f);
}

static void test_pcapng(void)
{
	char *path = run_sink(ct_export_by_name("pcapng"), 0);
	check_pcap_file(path, 1);
	check_pcapng_blocks(path);
	unlink(path);
}

static void test_pcap(void)
{
	char *path = run_sink(ct_export_by_name("pcap"), 0);
	check_pcap_file(path, 1);
	unlink(path);
}

/* --replies: SYN/ACK after 0 (blocking, ok), RST/ACK after 1 (refused),
 * ICMPv6 unreachable when 7's handshake failed; none for the UDP, ping and
 * UNIX connects. */
static void test_replies(void)
{
	char *path = run_sink(ct_export_by_name("pcapng"), 1);
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
	struct pcap_pkthdr *h;
	const u_char *d;
	int n = 0, synack = 0, rst = 0, unreach = 0;
	long long icmp_ns = 0;

	CHECK(p, "libpcap: %s", err);
	while (p && pcap_next_ex(p, &h, &d) == 1) {
		n++;
		if (d[12] == 0x08 && d[14 + 9] == 6 && d[14 + 20 + 13] == 0x12)
			synack++;
		if (d[12] == 0x08 && d[14 + 9] == 6 && d[14 + 20 + 13] == 0x14)
			rst++;
		if (d[12] == 0x86 && d[14 + 6] == 58 && d[14 + 40] == 1) {
			unreach++;
			icmp_ns = (long long)h->ts.tv_sec * 1000000000 + h->ts.tv_usec;
			uint32_t pseudo = 58 + (uint32_t)(h->caplen - 54);
			for (int k = 8; k < 40; k += 2)
				pseudo += (uint32_t)d[14 + k] << 8 | d[14 + k + 1];
			CHECK(csum_ok(d + 54, h->caplen - 54, pseudo), "ICMPv6 checksum");
		}
	}
	CHECK(n == N_EV + 3, "replies: %d frames", n);
	CHECK(icmp_ns == BASE_NS + 7000 + 3000000, "ICMPv6 stamped when the outcome came: %lld",
	      icmp_ns);
	CHECK(synack == 1 && rst == 1 && unreach == 1, "replies: synack %d rst %d unreach %d",
	      synack, rst, unreach);
	if (p)
		pcap_close(p);
	unlink(path);
}

static void test_csv(void)
{
	size_t len;
	char *s = sink_bytes(ct_export_by_name("csv"), &len);
	int lines = lines_of(s, len, "\r\n");

	CHECK(lines == N_EV + 1, "csv: %d CRLF lines", lines);
	CHECK(!strncmp(s, "ts,ts_ns,host,pid,tid,ppid,uid,gid,comm,exe,", 44), "csv header");
	CHECK(strstr(s, "\r\n2023-11-14T22:13:20.123456789Z,1700000000123456789,testhost,100,100,1,"
			"1000,1000,curl,/usr/bin/curl,,,,3,AF_INET,SOCK_STREAM,tcp,93.184.216.34,,"
			"443,,,,,0,ok,12345,0,12345,ok,5000000,100,2000,,,,,,\r\n"),
	      "csv: row 0 as expected");
	CHECK(strstr(s, ",\"a,\"\"b\","), "csv: quoted comm with comma and doubled quote");
	CHECK(strstr(s, ",/run/x.sock,false,0,"), "csv: UNIX path");
	CHECK(strstr(s, ",,\"db,1\",\"'=img\",,shop\r\n"), "csv: the container's names, last");
	/* '@' would start a formula in a spreadsheet: neutralised (OWASP) */
	CHECK(strstr(s, ",\"'@a&b\",true,,"), "csv: abstract path, neutralised");
	CHECK(
	    strstr(s,
		   ",dig,,,,,,AF_INET6,SOCK_DGRAM,udp,fe80::1,2,53,,,,,,,,,,unknown,,,,,,,,,\r\n"),
	    "csv: IPv6 row, scope id, sockfd empty, outcome unknown");
	CHECK(strstr(s, ",tcp,127.0.0.1,,9,127.0.0.1,40000,,,-111,ECONNREFUSED,,-111,,ECONNREFUSED,"
			",,,,,,,,\r\n"),
	      "csv: refused row with its bound source");
	CHECK(strstr(s, ",tcp,2001:db8::7,,80,,,,,-115,EINPROGRESS,,-113,3000000,EHOSTUNREACH,,,,,,"
			",,,\r\n"),
	      "csv: EINPROGRESS, then host unreachable 3 ms later");
	free(s);
}

static void test_jsonl(void)
{
	size_t len;
	char *s = sink_bytes(ct_export_by_name("jsonl"), &len);
	struct ct_buf want = {0};

	for (int i = 0; i < N_EV; i++)
		ct_fmt_json_event(&want, view(&evs[i], &procs[i]), BASE_NS + i * 1000, "testhost");
	CHECK(len == want.len && !memcmp(s, want.p, len), "jsonl: bytes of ct_fmt_json_event");
	ct_buf_free(&want);
	free(s);
}

/* ------------------------------------------------- clickhouse RowBinary */

/* A RowBinary reader of its own, by ClickHouse's rules: little-endian
 * integers, String = LEB128 length + bytes, Nullable = a NULL byte first. */
struct rb {
	const uint8_t *p;
	size_t n, o;
	int bad;
};
static uint64_t rb_int(struct rb *r, int width)
{
	uint64_t v = 0;
	if (r->o + (size_t)width > r->n) {
		r->bad = 1;
		return 0;
	}
	for (int i = 0; i < width; i++)
		v |= (uint64_t)r->p[r->o + (size_t)i] << (8 * i);
	r->o += (size_t)width;
	return v;
}
/* A String into d (NUL-terminated, at most size - 1 bytes kept). */
static size_t rb_str(struct rb *r, char *d, size_t size)
{
	uint64_t len = 0;
	for (int shift = 0;; shift += 7) {
		uint64_t b = rb_int(r, 1);
		len |= (b & 0x7f) << shift;
		if (!(b & 0x80) || r->bad || shift > 56)
			break;
	}
	if (r->bad || len > r->n - r->o || len >= size) {
		r->bad = 1;
		return 0;
	}
	memcpy(d, r->p + r->o, len);
	d[len] = '\0';
	r->o += len;
	return len;
}
/* Nullable: 1 and *v, or 0 for NULL. */
static int rb_opt(struct rb *r, int width, uint64_t *v)
{
	if (rb_int(r, 1))
		return 0;
	*v = rb_int(r, width);
	return 1;
}

struct ch_row {
	uint64_t ts_ns, cgroup_id, v[16];
	uint32_t pid, tid, ppid, uid, gid, scope_id;
	int32_t sockfd;
	uint16_t dport;
	uint8_t abstract, still_open, daddr[16], saddr[16];
	int has[16]; /* 0 sport, 1 ret, 2 latency, 3 result, 4 result_ns, 5-7 closed/tx/rx, 8 saddr
		      */
	char host[32], comm[32], exe[64], cmdline[64], container[64], family[16], type[32],
	    proto[16], path[128], outcome[32], dname[256], ctr[CT_CTR_N][64];
};

static void rb_row(struct rb *r, struct ch_row *w)
{
	memset(w, 0, sizeof(*w));
	w->ts_ns = rb_int(r, 8);
	rb_str(r, w->host, sizeof(w->host));
	w->pid = (uint32_t)rb_int(r, 4);
	w->tid = (uint32_t)rb_int(r, 4);
	w->ppid = (uint32_t)rb_int(r, 4);
	w->uid = (uint32_t)rb_int(r, 4);
	w->gid = (uint32_t)rb_int(r, 4);
	rb_str(r, w->comm, sizeof(w->comm));
	rb_str(r, w->exe, sizeof(w->exe));
	rb_str(r, w->cmdline, sizeof(w->cmdline));
	w->cgroup_id = rb_int(r, 8);
	rb_str(r, w->container, sizeof(w->container));
	w->sockfd = (int32_t)rb_int(r, 4);
	rb_str(r, w->family, sizeof(w->family));
	rb_str(r, w->type, sizeof(w->type));
	rb_str(r, w->proto, sizeof(w->proto));
	for (int i = 0; i < 16; i++)
		w->daddr[i] = (uint8_t)rb_int(r, 1);
	w->scope_id = (uint32_t)rb_int(r, 4);
	w->dport = (uint16_t)rb_int(r, 2);
	if (!rb_int(r, 1)) {
		w->has[8] = 1;
		for (int i = 0; i < 16; i++)
			w->saddr[i] = (uint8_t)rb_int(r, 1);
	}
	w->has[0] = rb_opt(r, 2, &w->v[0]);
	rb_str(r, w->path, sizeof(w->path));
	w->abstract = (uint8_t)rb_int(r, 1);
	w->has[1] = rb_opt(r, 4, &w->v[1]);
	w->has[2] = rb_opt(r, 8, &w->v[2]);
	w->has[3] = rb_opt(r, 4, &w->v[3]);
	w->has[4] = rb_opt(r, 8, &w->v[4]);
	rb_str(r, w->outcome, sizeof(w->outcome));
	for (int i = 5; i <= 7; i++)
		w->has[i] = rb_opt(r, 8, &w->v[i]);
	w->still_open = (uint8_t)rb_int(r, 1);
	rb_str(r, w->dname, sizeof(w->dname));
	for (int i = 0; i < CT_CTR_N; i++)
		rb_str(r, w->ctr[i], sizeof(w->ctr[i]));
}

static void test_clickhouse(void)
{
	size_t len;
	uint8_t *s = (uint8_t *)sink_bytes(ct_export_by_name("clickhouse"), &len);
	struct rb r = {.p = s, .n = len};
	struct ch_row w[N_EV];
	static const uint8_t v4[16] = {[10] = 0xff, [11] = 0xff, [12] = 127, [15] = 1};

	for (int i = 0; i < N_EV && !r.bad; i++)
		rb_row(&r, &w[i]);
	CHECK(!r.bad && r.o == len, "clickhouse: %d rows fill the %zu bytes exactly", N_EV, len);
	if (r.bad)
		goto out;
	CHECK(w[0].ts_ns == (uint64_t)BASE_NS && !strcmp(w[0].host, "testhost") &&
		  w[0].pid == 100 && !strcmp(w[0].exe, "/usr/bin/curl") &&
		  !strcmp(w[0].family, "AF_INET") && !strcmp(w[0].type, "SOCK_STREAM") &&
		  !strcmp(w[0].proto, "tcp") && w[0].dport == 443 && w[0].has[5] &&
		  w[0].v[5] == 5000000 && w[0].v[7] == 2000 && !strcmp(w[0].outcome, "ok") &&
		  w[0].has[3] && w[0].v[3] == 0,
	      "clickhouse: row 0 (IPv4 TCP, closed)");
	CHECK(!memcmp(w[1].daddr, v4, 16) && w[1].has[8] && !memcmp(w[1].saddr, v4, 16) &&
		  w[1].has[0] && w[1].v[0] == 40000 && (int32_t)w[1].v[1] == -111 &&
		  (int32_t)w[1].v[3] == -111 && !strcmp(w[1].outcome, "ECONNREFUSED") &&
		  !strcmp(w[1].comm, "a,\"b") && !w[1].has[4] && !w[1].has[5],
	      "clickhouse: row 1 (IPv4-mapped addresses, refused)");
	CHECK(w[2].sockfd == -1 && w[2].scope_id == 2 && w[2].daddr[0] == 0xfe &&
		  w[2].daddr[15] == 1 && !w[2].has[1] && !w[2].has[3] && !w[2].has[8] &&
		  !strcmp(w[2].outcome, "unknown") && !strcmp(w[2].proto, "udp"),
	      "clickhouse: row 2 (IPv6, scope id, NULL outcome)");
	CHECK(!strcmp(w[3].path, "/run/x.sock") && !w[3].abstract &&
		  !strcmp(w[3].container, "abc123") && w[3].dport == 0 && !strcmp(w[3].proto, "") &&
		  !strcmp(w[3].family, "AF_UNIX") && !strcmp(w[3].ctr[CT_CTR_NAME], "db,1") &&
		  !strcmp(w[3].ctr[CT_CTR_IMAGE], "=img") && !strcmp(w[3].ctr[CT_CTR_POD], "") &&
		  !strcmp(w[3].ctr[CT_CTR_NS], "shop") && !strcmp(w[2].ctr[CT_CTR_NAME], ""),
	      "clickhouse: row 3 (UNIX path, container and its names)");
	CHECK(!strcmp(w[4].path, "@a&b") && w[4].abstract == 1, "clickhouse: row 4 (abstract)");
	CHECK(!strcmp(w[5].family, "AF_NETLINK") && !strcmp(w[5].type, "SOCK_RAW"),
	      "clickhouse: row 5 (netlink)");
	CHECK((int32_t)w[7].v[1] == -115 && (int32_t)w[7].v[3] == -113 && w[7].has[4] &&
		  w[7].v[4] == 3000000 && !strcmp(w[7].outcome, "EHOSTUNREACH") && !w[7].has[2],
	      "clickhouse: row 7 (EINPROGRESS, then unreachable)");
out:
	free(s);
}

static void test_tracee(void)
{
	size_t len;
	char *s = sink_bytes(ct_export_by_name("tracee-json"), &len);
	int lines = lines_of(s, len, "\n");

	CHECK(lines == N_EV, "tracee: %d lines", lines);
	CHECK(!strncmp(s, "{\"timestamp\":1700000000123456789,\"threadStartTime\":0,", 53),
	      "tracee: starts with timestamp");
	CHECK(strstr(s, "\"eventId\":\"736\",\"eventName\":\"security_socket_connect\""),
	      "tracee: event id and name");
	CHECK(strstr(s, "{\"name\":\"remote_addr\",\"type\":\"SockAddr\",\"value\":{\"sa_family\":"
			"\"AF_INET\",\"sin_addr\":\"93.184.216.34\",\"sin_port\":\"443\"}}"),
	      "tracee: IPv4 sockaddr");
	CHECK(strstr(s, "{\"sa_family\":\"AF_INET6\",\"sin6_addr\":\"fe80::1\",\"sin6_flowinfo\":"
			"\"0\",\"sin6_port\":\"53\",\"sin6_scopeid\":\"2\"}"),
	      "tracee: IPv6 sockaddr");
	CHECK(strstr(s, "{\"sa_family\":\"AF_UNIX\",\"sun_path\":\"@a\\u0026b\"}"),
	      "tracee: abstract UNIX path, Go escaping");
	CHECK(strstr(s, "{\"sa_family\":\"AF_NETLINK\"}"), "tracee: netlink family");
	CHECK(strstr(s, "\"containerId\":\"abc123\",\"container\":{\"id\":\"abc123\","
			"\"name\":\"db,1\",\"image\":\"=img\"},\"kubernetes\":{\"podNamespace\":"
			"\"shop\"}"),
	      "tracee: container with its names, kubernetes");
	CHECK(strstr(s, "\"container\":{},\"kubernetes\":{},"), "tracee: none");
	CHECK(strstr(s, "\"returnValue\":-111,\"syscall\":\"connect\""), "tracee: returnValue");
	CHECK(strstr(s, "\"argsNum\":5,\"returnValue\":-115,"), "tracee: EINPROGRESS returnValue");
	CHECK(strstr(s, "{\"name\":\"outcome\",\"type\":\"const char*\",\"value\":"
			"\"EHOSTUNREACH\"},{\"name\":\"outcome_ns\",\"type\":\"u64\",\"value\":"
			"3000000}]}"),
	      "tracee: outcome of the handshake");
	CHECK(strstr(s, "\"argsNum\":4,"), "tracee: no outcome_ns when the outcome is unknown");
	free(s);
}

/* The comment's exact text, and a cache that never serves stale text. */
static void test_comment_cache(void)
{
	struct tev t = evs[0];
	char exe[32] = "/usr/bin/curl";
	struct ct_procinfo proc = {.exe = exe, .container = "0123456789abcdef0123", .serial = 5};
	const struct ct_event *ev = view(&t, &proc);
	struct ct_comment_cache *c = ct_comment_cache_new();
	char *a = malloc(ct_packet_comment_max(ev)), *b = malloc(ct_packet_comment_max(ev));
	size_t n = ct_packet_comment(a, ev);
	a[n] = '\0';
	CHECK(!strcmp(a, "comm=curl pid=100 result=ok dest=93.184.216.34:443 exe=/usr/bin/curl "
			 "tid=100 uid=1000 container=0123456789ab sockfd=3 latency_ns=12345 "
			 "closed_ns=5000000 tx_bytes=100 rx_bytes=2000"),
	      "comment text: %s", a);
	for (int i = 0; i < 2; i++) {
		size_t m = ct_packet_comment_cached(c, b, ev);
		CHECK(n == m && !memcmp(a, b, n), "cached comment %d equals the uncached one", i);
	}
	strcpy(exe, "/usr/bin/wget"); /* same pointer, new content: exec, new serial */
	proc.serial = 6;
	size_t m = ct_packet_comment_cached(c, b, ev);
	b[m] = '\0';
	CHECK(strstr(b, " exe=/usr/bin/wget ") != NULL, "exe change seen: %s", b);
	strcpy(exe, "/usr/bin/nc"); /* serial 0: no table, so never cached */
	proc.serial = 0;
	ct_packet_comment_cached(c, b, ev);
	strcpy(exe, "/usr/bin/ssh");
	m = ct_packet_comment_cached(c, b, ev);
	b[m] = '\0';
	CHECK(strstr(b, " exe=/usr/bin/ssh ") != NULL, "serial 0 exe change seen: %s", b);
	proc.serial = 6;
	t.uid = 0;
	ev = view(&t, &proc);
	m = ct_packet_comment_cached(c, b, ev);
	b[m] = '\0';
	CHECK(strstr(b, " uid=0 ") != NULL, "uid change seen: %s", b);
	memcpy(t.comm, "x y\\z", 6);
	ev = view(&t, &proc);
	m = ct_packet_comment_cached(c, b, ev);
	b[m] = '\0';
	CHECK(!strncmp(b, "comm=x\\x20y\\x5cz pid=", 20), "comm escaped: %s", b);
	proc.container = "not-hex-but-long-name";
	proc.serial = 7;
	m = ct_packet_comment_cached(c, b, ev);
	b[m] = '\0';
	CHECK(strstr(b, " container=not-hex-but-long-name ") != NULL, "non-hex container whole: %s",
	      b);
	ct_comment_cache_free(c);
	free(a);
	free(b);
}

static uint64_t rng_state = 88172645463325252ull;
static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)rng_state;
}

/* Random events through the cache against the uncached comment: threads
 * come back with the same or a changed process entry (new serial). */
static void test_comment_cache_random(void)
{
	enum { THREADS = 300, PROCS = 40 };
	static char exes[PROCS][64];
	struct ct_procinfo procs_tab[PROCS];
	struct ct_comment_cache *c = ct_comment_cache_new();
	struct ct_procinfo unknown = {0};
	struct tev t0 = {0};
	char *a = malloc(ct_packet_comment_max(view(&t0, &unknown))),
	     *b = malloc(ct_packet_comment_max(view(&t0, &unknown)));
	uint64_t serial = 1;
	int bad = 0;

	for (int i = 0; i < PROCS; i++) {
		snprintf(exes[i], sizeof(exes[i]), "/opt/app%d/bin/server %d", i, i);
		procs_tab[i] = (struct ct_procinfo){.exe = exes[i], .serial = serial++};
		if (i % 3 == 0)
			procs_tab[i].container = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934c";
	}
	for (int k = 0; k < 200000 && !bad; k++) {
		struct tev ev;
		int t = (int)(rnd() % THREADS), pi = t % PROCS;
		static const char comms[2][CT_COMM_LEN] = {"worker thread", "server"};
		base(&ev, 1000 + (uint32_t)pi, comms[t & 1]);
		ev.tid = 5000 + (uint32_t)t;
		ev.uid = (uint32_t)(t % 7);
		ev.family = (rnd() % 10) ? 2 : 1;
		ev.sockfd = (int32_t)(rnd() % 40) - 1;
		ev.flags = (uint16_t)(rnd() & (CT_EV_RET | CT_EV_LATENCY | CT_EV_RESULT));
		ev.ret = -(int32_t)(rnd() % 140);
		ev.result = (rnd() & 1) ? ev.ret : -(int32_t)(rnd() % 140);
		ev.result_ns = rnd();
		ev.latency_ns = rnd();
		if (ev.family == 1) {
			ev.path_len =
			    (uint8_t)snprintf(ev.path, sizeof(ev.path), "/run/s%u", rnd() % 9);
		}
		if (rnd() % 1000 == 0) { /* exec: new exe in place, new serial */
			snprintf(exes[pi], sizeof(exes[pi]), "/usr/bin/exec%u", rnd() % 1000);
			procs_tab[pi].serial = serial++;
		}
		const struct ct_procinfo *proc = (t % 50 == 49) ? &unknown : &procs_tab[pi];
		const struct ct_event *e = view(&ev, proc);
		size_t n = ct_packet_comment(a, e);
		size_t m = ct_packet_comment_cached(c, b, e);
		if (n != m || memcmp(a, b, n)) {
			a[n] = b[m] = '\0';
			CHECK(0, "event %d: cached '%s' != '%s'", k, b, a);
			bad = 1;
		}
	}
	ct_comment_cache_free(c);
	free(a);
	free(b);
}

static void rnd_bytes(char *d, size_t n)
{
	static const char pool[] =
	    "ab/\"\\\x01\x1f\x7f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xff\xc0 .";
	for (size_t i = 0; i < n; i++)
		d[i] = (rnd() & 3) ? (char)('a' + rnd() % 26) : pool[rnd() % (sizeof(pool) - 1)];
}

/* The UNIX payload's fast JSON equals ct_fmt_json_event on random non-IP
 * events: odd bytes in every string, unknown types and protocols, negative
 * times, processes that change under one thread (serials). */
static void test_json_random(void)
{
	static const uint16_t families[] = {1, 1, 1, 16, 38, 0, 17};
	struct ct_json_cache *c = ct_json_cache_new();
	char exes[8][40], conts[8][70], hosts[3][20];
	struct ct_procinfo ptab[8];
	struct ct_buf want = {0};
	static char got[1 << 16];
	uint64_t serial = 1;
	int bad = 0;

	for (int i = 0; i < 8; i++) {
		rnd_bytes(exes[i], sizeof(exes[i]) - 1);
		exes[i][sizeof(exes[i]) - 1] = '\0';
		rnd_bytes(conts[i], sizeof(conts[i]) - 1);
		conts[i][sizeof(conts[i]) - 1] = '\0';
		ptab[i] = (struct ct_procinfo){.exe = (i & 1) ? exes[i] : NULL,
					       .container = (i & 2) ? conts[i] : NULL,
					       .serial = (i == 7) ? 0 : serial++};
	}
	ptab[7].exe = ptab[7].container = NULL; /* unknown process */
	for (int i = 0; i < 3; i++) {
		rnd_bytes(hosts[i], sizeof(hosts[i]) - 1);
		hosts[i][sizeof(hosts[i]) - 1] = '\0';
	}
	for (int k = 0; k < 100000 && !bad; k++) {
		struct tev ev;
		char comm[CT_COMM_LEN] = {0};
		int t = (int)(rnd() % 64), pi = t % 8;
		rnd_bytes(comm, 1 + (t % 15));
		base(&ev, 500 + (uint32_t)pi, comm);
		ev.tid = 900 + (uint32_t)t;
		ev.ppid = (uint32_t)(t % 3);
		ev.gid = (uint32_t)(t % 5);
		ev.cgroup_id = (t % 4) ? 0 : 4242 + (uint64_t)(rnd() % 2); /* moves cgroups */
		ev.family = families[rnd() % (sizeof(families) / sizeof(families[0]))];
		ev.type = (uint16_t)(rnd() % 12);
		ev.proto = (rnd() & 1) ? 0 : (uint16_t)(rnd() % 300);
		ev.sockfd = (int32_t)(rnd() % 40) - 1;
		ev.flags = (uint16_t)(rnd() & (CT_EV_RET | CT_EV_LATENCY | CT_EV_ABSTRACT |
					       CT_EV_TRACKED | CT_EV_OUTCOME));
		ev.ret = -(int32_t)(rnd() % 140);
		ev.result = (rnd() & 1) ? ev.ret : -(int32_t)(rnd() % 140);
		ev.result_ns = rnd() % 3 ? rnd() : 0;
		ev.closed_ns = (uint64_t)rnd() << 8;
		ev.tx_bytes = (uint64_t)rnd() << (rnd() % 32);
		ev.rx_bytes = rnd();
		ev.latency_ns = (uint64_t)rnd() << (rnd() % 32);
		ev.path_len = (uint8_t)(rnd() % (CT_UNIX_PATH_MAX + 20));
		rnd_bytes(ev.path, CT_UNIX_PATH_MAX);
		if (rnd() & 1)
			ev.path[0] = '\0';
		if (rnd() % 500 == 0 && pi != 7) { /* exec: new strings, new serial */
			rnd_bytes(exes[pi], 10);
			ptab[pi].serial = serial++;
		}
		int64_t wall =
		    (int64_t)((uint64_t)rnd() << 31 | rnd()) - (int64_t)(rnd() % 3) * BASE_NS;
		const char *host = (rnd() % 4) ? hosts[t % 3] : NULL;
		size_t wlen;
		const struct ct_event *e = view(&ev, &ptab[pi]);
		const char *who = ct_json_who_cached(c, e, host, &wlen);
		CHECK(who != NULL, "json who");
		if (!who || ct_json_line_max(wlen) > sizeof(got))
			break;
		size_t n = ct_json_line(got, c, e, who, wlen, wall);
		want.len = 0;
		ct_fmt_json_event(&want, e, wall, host);
		if (n + 1 != want.len || memcmp(got, want.p, n)) {
			got[n] = '\0';
			want.p[want.len - 1] = '\0';
			CHECK(0, "event %d: fast JSON\n%s\nwant\n%s", k, got, want.p);
			bad = 1;
		}
	}
	ct_buf_free(&want);
	ct_json_cache_free(c);
}

/* The comment's escaping against a byte-by-byte reference, on random
 * UNIX paths and comms of every length with odd bytes anywhere. */
static size_t ref_safe(char *d, const char *s, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c > 0x20 && c < 0x7f && c != '\\')
			d[o++] = (char)c;
		else
			o += (size_t)sprintf(d + o, "\\x%02x", c);
	}
	return o;
}

static void test_comment_escape_random(void)
{
	struct ct_procinfo proc = {0};
	struct tev t0 = {0};
	char *got = malloc(ct_packet_comment_max(view(&t0, &proc)));
	char want[4 * CT_UNIX_PATH_MAX + 64], comm[4 * CT_COMM_LEN + 1];
	int bad = 0;

	for (int k = 0; k < 50000 && bad < 3; k++) {
		struct tev ev;
		char c16[CT_COMM_LEN] = {0};
		rnd_bytes(c16, rnd() % CT_COMM_LEN);
		base(&ev, 7, c16);
		memcpy(ev.comm, c16, CT_COMM_LEN);
		ev.sockfd = -1;
		ev.family = 1;
		ev.path_len = (uint8_t)(rnd() % (CT_UNIX_PATH_MAX + 1));
		rnd_bytes(ev.path, ev.path_len);
		if (rnd() % 4 == 0) /* long clean runs, one odd byte somewhere */
			for (size_t i = 0; i < ev.path_len; i++)
				ev.path[i] = (i == rnd() % (ev.path_len + 1u)) ? ' ' : 'p';
		size_t n = ct_packet_comment(got, view(&ev, &proc));
		got[n] = '\0';
		/* "comm=.. pid=7 result=unknown path=.. tid=7 uid=1000" */
		size_t w = (size_t)sprintf(want, " result=unknown path=");
		w += ref_safe(want + w, ev.path, ev.path_len);
		w += (size_t)sprintf(want + w, " tid=7 uid=1000");
		comm[ref_safe(comm, ev.comm, strnlen(ev.comm, CT_COMM_LEN))] = '\0';
		size_t cl = strlen(comm);
		int ok = n > 5 + cl + 6 && !strncmp(got, "comm=", 5) &&
			 !strncmp(got + 5, comm, cl) && !strncmp(got + 5 + cl, " pid=7", 6) &&
			 n == 5 + cl + 6 + w && !strcmp(got + 5 + cl + 6, want);
		CHECK(ok, "comment %d: '%s' is not 'comm=%s pid=7%s'", k, got, comm, want);
		bad += !ok;
	}
	free(got);
}

/* One's complement check of an IP frame's header and transport checksums. */
static int frame_csums_ok(const uint8_t *f, size_t len)
{
	const uint8_t *ip = f + 14;
	uint32_t pseudo = 0;
	size_t iph;
	uint8_t proto;

	if (f[12] == 0x08 && f[13] == 0x00) {
		if (!csum_ok(ip, 20, 0))
			return 0;
		iph = 20;
		proto = ip[9];
		for (int k = 12; k < 20; k += 2)
			pseudo += (uint32_t)ip[k] << 8 | ip[k + 1];
	} else {
		iph = 40;
		proto = ip[6];
		for (int k = 8; k < 40; k += 2)
			pseudo += (uint32_t)ip[k] << 8 | ip[k + 1];
	}
	size_t l4len = len - 14 - iph;
	pseudo += proto + (uint32_t)l4len;
	if (l4len == 0) /* raw and unusual sockets: the IP header alone */
		return 1;
	if (proto == 6 || proto == 17 || proto == 58)
		return csum_ok(ip + iph, l4len, pseudo);
	if (proto == 1)
		return csum_ok(ip + iph, l4len, 0);
	return 1;
}

/* Random IP events: every frame and reply has valid checksums and says what
 * the event says. */
static void test_packets_random(void)
{
	static const uint16_t protos[] = {0, 6, 17, 1, 58, 262, 136, 47};
	static const int rets[] = {0, -111, -113, -101, -115, -13};
	uint8_t f[CT_FRAME_MAX];
	int bad = 0;

	for (int k = 0; k < 100000 && bad < 5; k++) {
		struct tev ev;
		base(&ev, rnd() % 100000, "x");
		ev.tid = ev.pid + rnd() % 3;
		ev.ts_ns = (uint64_t)rnd() << 32 | rnd();
		ev.family = (rnd() & 1) ? 2 : 10;
		ev.type = (uint16_t)(1 + rnd() % 3);
		ev.proto = protos[rnd() % (sizeof(protos) / sizeof(protos[0]))];
		for (int i = 0; i < 16; i++) {
			ev.daddr[i] = (uint8_t)rnd();
			ev.saddr[i] = (uint8_t)rnd();
		}
		ev.dport = (uint16_t)rnd();
		ev.sport = (uint16_t)rnd();
		ev.sockfd = (int32_t)(rnd() % 100) - 1;
		ev.flags = (uint16_t)(rnd() & (CT_EV_RET | CT_EV_LATENCY | CT_EV_SADDR |
					       CT_EV_RESULT | CT_EV_ABANDONED));
		ev.ret = rets[rnd() % (sizeof(rets) / sizeof(rets[0]))];
		ev.result = rets[rnd() % (sizeof(rets) / sizeof(rets[0]))];
		const struct ct_event *e = view(&ev, NULL);
		size_t len = ct_packet_frame_ip(f, e);
		int ok = frame_csums_ok(f, len);
		if (ok && ev.type == 1 && (ev.proto == 0 || ev.proto == 6 || ev.proto == 262)) {
			check_ip_frame(f, len, &ev, k); /* addresses, ports, SYN */
			uint16_t sport = (uint16_t)(f[len - 40] << 8 | f[len - 39]);
			ok = sport == ct_packet_sport(e);
		}
		size_t rlen = ct_packet_frame_ip_reply(f, e);
		if (ok && rlen)
			ok = frame_csums_ok(f, rlen);
		CHECK(ok,
		      "random packet %d (family %u type %u proto %u ret %d): bad checksum or port",
		      k, ev.family, ev.type, ev.proto, ev.ret);
		bad += !ok;
	}
}

/* ct_out in direct mode, from the start or (after > 0) once `after` bytes
 * went out plainly: odd-sized pieces across many buffers, one piece larger
 * than a buffer (which leaves direct mode), all bytes in order. */
static void out_direct_pieces(uint64_t after)
{
	char path[] = "/var/tmp/test_export_direct.XXXXXX";
	int fd = mkstemp(path);
	struct ct_out out;
	uint64_t total = 0;
	uint32_t x = 1;
	int went_direct = 0;

	CHECK(fd >= 0, "mkstemp %s", path);
	CHECK(ct_out_init(&out, fd, 0) == 0, "ct_out_init");
	if (after) {
		ct_out_direct_after(&out, after);
	} else if (ct_out_direct(&out) != 0) {
		/* ext4 and tmpfs (6.6+) both allow O_DIRECT: say so if this one does not */
		fprintf(stderr,
			"test_export: note: no O_DIRECT on /var/tmp, plain writes tested\n");
	}
	for (int i = 0; i < 40000; i++) {
		size_t n = 1 + (size_t)(i * 7919u % 1500u);
		if (i == 30000)
			n = 9u << 20; /* larger than a direct buffer */
		if (out.direct && !went_direct) {
			went_direct = 1;
			/* deferred: not before `after` bytes, and at a block boundary */
			CHECK(!after ||
				  (out.bytes >= after - (256u << 10) && out.bytes % 4096 == 0),
			      "went direct at byte %llu", (unsigned long long)out.bytes);
		}
		char *d = ct_out_reserve(&out, n);
		CHECK(d != NULL, "reserve %zu", n);
		if (!d)
			break;
		for (size_t k = 0; k < n; k++) {
			x = x * 1103515245u + 12345u;
			d[k] = (char)(x >> 16);
		}
		ct_out_commit(&out, n);
		total += n;
	}
	CHECK(ct_out_flush(&out) == 0, "flush: %s", strerror(out.err));
	CHECK(out.direct == NULL, "flush leaves direct mode");
	CHECK(out.bytes == total, "bytes %llu, want %llu", (unsigned long long)out.bytes,
	      (unsigned long long)total);
	ct_out_free(&out);
	close(fd);
	size_t len;
	char *f = slurp(path, &len);
	CHECK(f && len == total, "file has %zu bytes, want %llu", len, (unsigned long long)total);
	x = 1;
	size_t bad = len;
	for (size_t k = 0; f && k < len && k < total; k++) {
		x = x * 1103515245u + 12345u;
		if (f[k] != (char)(x >> 16)) {
			bad = k;
			break;
		}
	}
	CHECK(bad == len, "file differs at byte %zu", bad);
	free(f);
	unlink(path);
	if (after && !went_direct)
		fprintf(stderr, "test_export: note: no O_DIRECT on /var/tmp after %llu bytes\n",
			(unsigned long long)after);
}

static void test_out_direct(void)
{
	struct ct_out out;
	int fd;

	out_direct_pieces(0);
	out_direct_pieces(1u << 20);
	out_direct_pieces(1234567); /* a threshold off the block size */

	/* Given up early (an error elsewhere): free stops the thread. */
	static const char block[4000];
	char path2[] = "/var/tmp/test_export_direct.XXXXXX";
	fd = mkstemp(path2);
	CHECK(ct_out_init(&out, fd, 0) == 0, "ct_out_init 2");
	if (ct_out_direct(&out) == 0)
		for (int i = 0; i < 3000; i++)
			CHECK(ct_out_write(&out, block, sizeof(block)) == 0, "write %d", i);
	ct_out_free(&out);
	close(fd);
	unlink(path2);
}

/* ct_ipv6_text/ct_ipv4_text against glibc's inet_ntop: every pattern of
 * zero groups (where "::" goes), the IPv4-compatible and -mapped forms,
 * and random groups of every width. */
static void test_ip_text(void)
{
	uint32_t x = 7;
	int bad = 0;

	for (unsigned round = 0; round < 40000 && bad < 3; round++) {
		uint8_t a[16];
		unsigned zeros = round & 0xff; /* bit i: group i is zero */
		for (int i = 0; i < 8; i++) {
			x = x * 1103515245u + 12345u;
			unsigned v = (x >> 8) & 0xffff;
			v >>= (x >> 4) % 16; /* every width of hex */
			if (zeros >> i & 1)
				v = 0;
			else if (round % 7 == 0 && i == 5)
				v = 0xffff; /* mapped, when the groups before are zero */
			else if (!v)
				v = 1;
			a[2 * i] = (uint8_t)(v >> 8);
			a[2 * i + 1] = (uint8_t)v;
		}
		char want[INET6_ADDRSTRLEN], got[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, a, want, sizeof(want));
		size_t n = ct_ipv6_text(got, a);
		if (strcmp(want, got) || n != strlen(want)) {
			CHECK(0, "ct_ipv6_text: got \"%s\" (%zu), inet_ntop \"%s\"", got, n, want);
			bad++;
		}
		inet_ntop(AF_INET, a + 12, want, sizeof(want));
		n = ct_ip_text(got, 2, a + 12);
		if (strcmp(want, got) || n != strlen(want)) {
			CHECK(0, "ct_ip_text v4: got \"%s\", inet_ntop \"%s\"", got, want);
			bad++;
		}
	}
}

/* ct_u64_dec/ct_i64_dec against printf at every power-of-ten edge and on
 * random values of every length. */
static void test_decimal(void)
{
	char a[32], b[32];
	uint64_t p = 1;
	int bad = 0;

	for (int i = 0; i < 20 && bad < 3; i++, p *= 10) {
		uint64_t vs[3] = {p - 1, p, p + 1};
		for (int k = 0; k < 3; k++) {
			a[ct_u64_dec(a, vs[k])] = '\0';
			snprintf(b, sizeof(b), "%llu", (unsigned long long)vs[k]);
			CHECK(!strcmp(a, b), "ct_u64_dec %s gave %s", b, a);
			bad += !!strcmp(a, b);
		}
		if (i == 19)
			break;
	}
	for (int i = 0; i < 200000 && bad < 3; i++) {
		uint64_t v = ((uint64_t)rnd() << 32 | rnd()) >> (rnd() % 64);
		int64_t sv = (int64_t)v * ((rnd() & 1) ? -1 : 1);
		a[ct_u64_dec(a, v)] = '\0';
		snprintf(b, sizeof(b), "%llu", (unsigned long long)v);
		bad += !!strcmp(a, b);
		CHECK(!strcmp(a, b), "ct_u64_dec %s gave %s", b, a);
		a[ct_i64_dec(a, sv)] = '\0';
		snprintf(b, sizeof(b), "%lld", (long long)sv);
		bad += !!strcmp(a, b);
		CHECK(!strcmp(a, b), "ct_i64_dec %s gave %s", b, a);
	}
	a[ct_u64_dec(a, UINT64_MAX)] = '\0';
	CHECK(!strcmp(a, "18446744073709551615"), "ct_u64_dec max gave %s", a);
	a[ct_i64_dec(a, INT64_MIN)] = '\0';
	CHECK(!strcmp(a, "-9223372036854775808"), "ct_i64_dec min gave %s", a);
}

static void test_names(void)
{
	CHECK(ct_export_by_path("x.pcapng") == ct_export_by_name("pcapng"), "ext pcapng");
	CHECK(ct_export_by_path("dir.d/x.PCAP") == ct_export_by_name("pcap"), "ext pcap");
	CHECK(ct_export_by_path("x.csv") == ct_export_by_name("csv"), "ext csv");
	CHECK(ct_export_by_path("x.json") == ct_export_by_name("jsonl"), "ext json");
	CHECK(ct_export_by_path("x.jsonl") == ct_export_by_name("jsonl"), "ext jsonl");
	CHECK(ct_export_by_path("x.tracee.json") == ct_export_by_name("tracee-json"),
	      "ext tracee.json");
	CHECK(ct_export_by_path("x.txt") == NULL, "ext txt");
	CHECK(ct_export_by_path(".pcap") == NULL, "bare extension");
	CHECK(ct_export_by_name("tracee-json") == ct_export_by_path("x.tracee.jsonl"),
	      "name tracee-json");
	CHECK(ct_export_by_name("pcapNG") == NULL, "names are exact");
	CHECK(ct_export_by_path("x.rowbinary") == ct_export_by_name("clickhouse"), "ext rowbinary");
	/* Each name is the row of its own file's functions. */
	static const struct {
		const char *name;
		const struct ct_export_ops *ops;
	} rows[] = {{"pcapng", &ct_pcapng_ops},
		    {"pcap", &ct_pcap_ops},
		    {"csv", &ct_csv_ops},
		    {"jsonl", &ct_jsonl_ops},
		    {"tracee-json", &ct_tracee_ops},
		    {"clickhouse", &ct_clickhouse_ops}};
	size_t n = 0;
	for (const struct ct_export_format *f = ct_export_formats; f->name; f++)
		n++;
	CHECK_EQ(n, sizeof(rows) / sizeof(rows[0]));
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct ct_export_format *f = ct_export_by_name(rows[i].name);
		CHECK(f && f->ops == rows[i].ops, "name %s", rows[i].name);
	}
	CHECK_EQ(strcmp(ct_export_names(), "pcapng, pcap, csv, jsonl, tracee-json, clickhouse"), 0);
}

/* A start that fails (pcap cannot dup a closed descriptor) fails the
 * open with its errno, and frees what it took (ASan sees a leak). */
static void test_open_fails(void)
{
	struct ct_out out;
	struct ct_export_info info = {.ninputs = 1, .inputs = inputs, .nhosts = 1};
	struct ct_exporter *x = NULL;

	CHECK(ct_out_init(&out, -1, 0) == 0, "ct_out_init");
	CHECK(ct_export_open(ct_export_by_name("pcap"), &x, &out, &info) < 0, "pcap open on fd -1");
	CHECK_EQ(out.err, EBADF);
	CHECK(x == NULL, "no sink");
	ct_out_free(&out);
}

/* Sources: the recorded local address, else loopback for a loopback
 * destination, else the unspecified address. Replies only for what came
 * over the network: none for an error connect(2) returned itself (no
 * route, EACCES/EPERM, a blocking unreachable), an ICMP error from the
 * unspecified address (the router is not known), never from the target. */
static void test_sources_and_local_errors(void)
{
	uint8_t f[CT_FRAME_MAX], a[16];
	struct tev ev;
	const struct ct_event *e;

	base(&ev, 5, "x");
	ev.family = 2, ev.type = 1, ev.proto = 6, ev.dport = 80;
	ev.flags = CT_EV_RET | CT_EV_RESULT;
	ev.ret = ev.result = -111;
	inet_pton(AF_INET, "127.0.0.53", ev.daddr);
	ct_packet_frame_ip(f, view(&ev, NULL));
	inet_pton(AF_INET, "127.0.0.1", a);
	CHECK(!memcmp(f + 14 + 12, a, 4), "loopback destination: source 127.0.0.1");
	inet_pton(AF_INET, "10.1.2.3", ev.daddr);
	ct_packet_frame_ip(f, view(&ev, NULL));
	CHECK(!memcmp(f + 14 + 12, "\0\0\0\0", 4), "remote destination: source 0.0.0.0");
	inet_pton(AF_INET, "10.0.0.5", ev.saddr);
	ev.flags |= CT_EV_SADDR;
	ct_packet_frame_ip(f, view(&ev, NULL));
	CHECK(!memcmp(f + 14 + 12, ev.saddr, 4), "recorded local address as source");
	ev.flags &= (uint16_t)~CT_EV_SADDR;
	base(&ev, 5, "x");
	ev.family = 10, ev.type = 1, ev.proto = 6, ev.dport = 80;
	inet_pton(AF_INET6, "::1", ev.daddr);
	ct_packet_frame_ip(f, view(&ev, NULL));
	CHECK(!memcmp(f + 14 + 8, ev.daddr, 16), "IPv6 loopback destination: source ::1");

	static const struct {
		int ret, result;
		int reply; /* 0 none, 1 TCP, 2 ICMP */
	} cases[] = {
	    {-101, -101, 0}, /* no route: nothing left the host */
	    {-113, -113, 0}, /* blocking unreachable: maybe nothing on the wire */
	    {-13, -13, 0},   /* EACCES from a hook */
	    {-1, -1, 0},     /* EPERM from a firewall */
	    {-115, -110, 0}, /* timed out: no answer */
	    {-111, -111, 1}, /* refused: a RST came */
	    {0, 0, 1},	     /* accepted: a SYN/ACK came */
	    {-115, -113, 2}, /* the handshake failed on an ICMP error */
	    {-115, -101, 2},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		base(&ev, 5, "x");
		ev.family = 2, ev.type = 1, ev.proto = 6, ev.dport = 80;
		inet_pton(AF_INET, "192.0.2.9", ev.daddr);
		inet_pton(AF_INET, "10.0.0.5", ev.saddr);
		ev.flags = CT_EV_RET | CT_EV_RESULT | CT_EV_SADDR;
		ev.ret = cases[i].ret;
		ev.result = cases[i].result;
		e = view(&ev, NULL);
		size_t n = ct_packet_frame_ip_reply(f, e);
		int kind = !n ? 0 : f[14 + 9] == 6 ? 1 : 2;
		CHECK(kind == cases[i].reply, "ret %d result %d: reply kind %d, want %d",
		      cases[i].ret, cases[i].result, kind, cases[i].reply);
		if (kind == 2)
			CHECK(!memcmp(f + 14 + 12, "\0\0\0\0", 4) &&
				  !memcmp(f + 14 + 16, ev.saddr, 4),
			      "ICMP from the unspecified address to the local one");
		struct ct_reply r;
		if (ct_packet_reply(&r, e, 1000, 0))
			CHECK(!strncmp(r.note,
				       "synthesized by conntrail, not captured: comm=x pid=5 ",
				       52) &&
				  !strncmp(r.json, CT_PCAPNG_JSON_TAG "{\"synthesized\":true,", 31),
			      "reply marked synthesized: %s / %s", r.note, r.json);
	}
}

int main(void)
{
	make_events();
	test_names();
	test_open_fails();
	test_decimal();
	test_ip_text();
	test_out_direct();
	test_comment_cache();
	test_comment_cache_random();
	test_packets_random();
	test_json_random();
	test_comment_escape_random();
	test_pcapng();
	test_pcap();
	test_replies();
	test_sources_and_local_errors();
	test_csv();
	test_jsonl();
	test_tracee();
	test_clickhouse();
	return check_done("test_export");
}
