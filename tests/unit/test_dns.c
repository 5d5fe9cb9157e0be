/* SPDX-License-Identifier: MIT */
/*
 * test_dns: the DNS answer parser on good and hostile messages (pointer
 * loops, lengths past the end, 255 labels, CNAME chains), and name records
 * through the trace format: written and read back.
 */
#include <arpa/inet.h>

#include "lib/dns.h"
#include "tests/unit/test_format_common.h"

/* A message under construction. */
struct msg {
	uint8_t b[4096];
	size_t n;
};

static void put(struct msg *m, const void *p, size_t n)
{
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void put16(struct msg *m, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	put(m, b, 2);
}

static void put32(struct msg *m, uint32_t v)
{
	put16(m, (uint16_t)(v >> 16));
	put16(m, (uint16_t)v);
}

/* "a.b.c" as labels. */
static void put_name(struct msg *m, const char *name)
{
	while (*name) {
		size_t l = strcspn(name, ".");
		m->b[m->n++] = (uint8_t)l;
		put(m, name, l);
		name += l + (name[l] == '.');
	}
	m->b[m->n++] = 0;
}

static void header(struct msg *m, uint16_t flags, uint16_t an)
{
	m->n = 0;
	put16(m, 0x1234);
	put16(m, flags);
	put16(m, 1);
	put16(m, an);
	put16(m, 0);
	put16(m, 0);
}

/* The header and the question: NAME, QTYPE, class IN. */
static void question(struct msg *m, uint16_t flags, uint16_t an, const char *name, uint16_t qtype)
{
	header(m, flags, an);
	put_name(m, name);
	put16(m, qtype);
	put16(m, 1);
}

static void rr(struct msg *m, uint16_t type, uint32_t ttl, const void *rdata, uint16_t rdlen)
{
	put16(m, type);
	put16(m, 1);
	put32(m, ttl);
	put16(m, rdlen);
	put(m, rdata, rdlen);
}

/* A CNAME record owned by the name at offset owner (12: the question's) to
 * TARGET; the offset of TARGET in m, for a pointer to it. */
static size_t cname(struct msg *m, size_t owner, const char *target, uint32_t ttl)
{
	struct msg t = {.n = 0};
	put_name(&t, target);
	put16(m, (uint16_t)(0xc000 | owner));
	rr(m, 5, ttl, t.b, (uint16_t)t.n);
	return m->n - t.n;
}

/* m parses to one address of this family and bytes, for NAME, with TTL. */
static void expect_one(const struct msg *m, const char *name, uint32_t ttl, uint16_t family,
		       const uint8_t *addr)
{
	struct ct_dns_answer a;
	size_t alen = family == 2 ? 4 : 16;
	CHECK_EQ(ct_dns_parse(m->b, m->n, 0, &a), 1);
	CHECK(!strcmp(a.name, name), "%s, want %s", a.name, name);
	CHECK_EQ(a.naddrs, 1);
	CHECK_EQ(a.ttl, ttl);
	CHECK_EQ(a.addrs[0].family, family);
	CHECK(!memcmp(a.addrs[0].addr, addr, alen), "%s: address", name);
}

static void test_good(void)
{
	struct msg m;
	struct ct_dns_answer a;
	uint8_t v4[4] = {127, 0, 0, 9}, v6[16] = {0};
	v6[15] = 1;

	/* A plain A answer, the owner a pointer to the question. */
	question(&m, 0x8180, 1, "WWW.Example.com", 1);
	put16(&m, 0xc00c);
	rr(&m, 1, 300, v4, 4);
	expect_one(&m, "www.example.com", 300, 2, v4);

	/* A CNAME chain to an AAAA: the question's name, the chain's least TTL. */
	question(&m, 0x8180, 3, "cdn.test", 28);
	size_t edge = cname(&m, 12, "edge.cdn.test", 60);
	cname(&m, edge, "x.net", 600);
	put_name(&m, "x.net");
	rr(&m, 28, 30, v6, 16);
	expect_one(&m, "cdn.test", 30, 10, v6);

	/* A query, an NXDOMAIN: valid, nothing to keep. */
	question(&m, 0x0100, 0, "q.test", 1);
	CHECK_EQ(ct_dns_parse(m.b, m.n, 0, &a), 0);
	question(&m, 0x8183, 0, "q.test", 1);
	CHECK_EQ(ct_dns_parse(m.b, m.n, 0, &a), 0);
}

static void test_hostile(void)
{
	struct msg m;
	struct ct_dns_answer a;
	uint8_t v4[4] = {127, 0, 0, 9};

	/* Every prefix of a good message is malformed or empty, never read past. */
	question(&m, 0x8180, 1, "www.example.com", 1);
	put16(&m, 0xc00c);
	rr(&m, 1, 300, v4, 4);
	for (size_t n = 0; n < m.n; n++) {
		uint8_t *cut = malloc(n ? n : 1);
		memcpy(cut, m.b, n);
		CHECK(ct_dns_parse(cut, n, 0, &a) <= 0, "prefix %zu", n);
		CHECK(ct_dns_parse(cut, n, 1, &a) <= 0, "cut prefix %zu", n);
		free(cut);
	}
	/* The question's name a pointer to itself, and two pointers to each other. */
	header(&m, 0x8180, 1);
	put16(&m, 0xc00c);
	CHECK_EQ(ct_dns_parse(m.b, m.n, 0, &a), -1);
	header(&m, 0x8180, 1);
	put16(&m, 0xc00e);
	put16(&m, 0xc00c);
	CHECK_EQ(ct_dns_parse(m.b, m.n, 0, &a), -1);
	/* A pointer past the end. */
	header(&m, 0x8180, 1);
	put16(&m, 0xcfff);
	CHECK_EQ(ct_dns_parse(m.b, m.n, 0, &a), -1);
	/* 255 one-byte labels: longer than any name. */
	header(&m, 0x8180, 1);
	for (int i = 0; i < 255; i++)
		put(&m, "\001a", 2);
	m.b[m.n++] = 0;
	put16(&m, 1);
	put16(&m, 1);
	CHECK_EQ(ct_dns_parse(m.b, m.n, 0, &a), -1);
	/* A label length past the end, an rdlength past the end. */
	header(&m, 0x8180, 1);
	put(&m, "\077abc", 4);
	CHECK_EQ(ct_dns_parse(m.b, m.n, 0, &a), -1);
	question(&m, 0x8180, 1, "x.test", 1);
	put16(&m, 0xc00c);
	put16(&m, 1);
	put16(&m, 1);
	put32(&m, 1);
	put16(&m, 4000);
	CHECK_EQ(ct_dns_parse(m.b, m.n, 0, &a), -1);
	/* A CNAME loop: no address at its end, and it ends. */
	question(&m, 0x8180, 2, "a.test", 1);
	size_t b = cname(&m, 12, "b.test", 60);
	static const uint8_t to_a[2] = {0xc0, 0x0c}; /* b.test is a CNAME of a.test */
	put16(&m, (uint16_t)(0xc000 | b));
	rr(&m, 5, 60, to_a, 2);
	CHECK_EQ(ct_dns_parse(m.b, m.n, 0, &a), 0);
	/* A label byte that is not printable: refused, never printed. */
	header(&m, 0x8180, 1);
	put(&m, "\003a\"\n\0", 5);
	put16(&m, 1);
	put16(&m, 1);
	CHECK_EQ(ct_dns_parse(m.b, m.n, 0, &a), -1);
	/* Random bytes behind a response header: no crash (ASan build). */
	for (int round = 0; round < 20000; round++) {
		header(&m, 0x8180, (uint16_t)(rnd() % 8));
		size_t n = rnd() % 300;
		for (size_t i = 0; i < n; i++)
			m.b[m.n++] = (uint8_t)(rnd() % 4 ? rnd() % 64 : rnd());
		ct_dns_parse(m.b, m.n, 0, &a);
		ct_dns_parse(m.b, m.n, 1, &a);
	}
}

/* Name records round trip, beside events one at a time too. */
static void test_records(void)
{
	struct membuf m = {0};
	struct ct_writer_io io = mem_writer_io(&m);
	struct ct_writer *w;
	CHECK_EQ(ct_writer_open(&w, &io, &test_hdr, NULL), 0);
	struct ct_name_addr addrs[2] = {{.family = 2, .addr = {10, 0, 0, 1}},
					{.family = 10, .addr = {0x20, 0x01, [15] = 1}}};
	struct ct_name n = {.ts_ns = 500,
			    .cgroup_id = 77,
			    .pid = 12,
			    .ttl = 60,
			    .name = "example.com",
			    .naddrs = 2,
			    .addrs = addrs};
	CHECK_EQ(ct_writer_name(w, &n), 0);
	struct ct_lost lost = {.ts_ns = 600, .count = 3, .cpu = UINT32_MAX, .kind = CT_LOST_NAMES};
	CHECK_EQ(ct_writer_lost(w, &lost), 0);
	struct tev ev = {.ts_ns = 1000, .pid = 1, .family = AF_INET};
	memcpy(ev.daddr, addrs[0].addr, 4);
	CHECK_EQ(ct_writer_event(w, tev_event(&ev)), 0);
	n.naddrs = CT_NAME_ADDRS_MAX + 1;
	CHECK_EQ(ct_writer_name(w, &n), CT_E_INVAL);
	CHECK_EQ(ct_writer_flush(w), 0);
	/* A second chunk: the answer's ttl (+ slack) long past. */
	struct tev late = {.ts_ns = 500 + 66000000000ull, .pid = 1, .family = AF_INET};
	memcpy(late.daddr, addrs[0].addr, 4);
	CHECK_EQ(ct_writer_event(w, tev_event(&late)), 0);
	CHECK_EQ(ct_writer_close(w), 0);

	/* The summaries: the name in the first event chunk only. */
	struct ct_reader_io sio = mem_reader_io(&m, 1);
	struct ct_reader *sr;
	CHECK_EQ(ct_reader_open(&sr, &sio, NULL), 0);
	int with = 0, without = 0;
	for (uint32_t i = 0; i < ct_reader_chunk_count(sr); i++) {
		const struct ct_chunk_info *c = ct_reader_chunk(sr, i);
		if (c->kind != CT_CHUNK_EVENTS)
			continue;
		if (ct_chunk_may_contain(c, CT_KEY_DNAME, "example.com", 11))
			with++;
		else
			without++;
	}
	CHECK_EQ(with, 1);
	CHECK_EQ(without, 1);
	ct_reader_close(sr);

	for (int seekable = 0; seekable < 2; seekable++) {
		struct ct_reader_io rio = mem_reader_io(&m, seekable);
		struct ct_reader *r;
		CHECK_EQ(ct_reader_open(&r, &rio, NULL), 0);
		const struct ct_record *rec;
		int names = 0, events = 0;
		while (ct_reader_next(r, &rec) > 0) {
			if (rec->type == CT_REC_NAME) {
				names++;
				CHECK(!strcmp(rec->name.name, "example.com"));
				CHECK_EQ(rec->name.ts_ns, 500);
				CHECK_EQ(rec->name.cgroup_id, 77);
				CHECK_EQ(rec->name.pid, 12);
				CHECK_EQ(rec->name.ttl, 60);
				CHECK_EQ(rec->name.naddrs, 2);
				CHECK(!memcmp(rec->name.addrs, addrs, sizeof(addrs)));
			} else if (rec->type == CT_REC_LOST) {
				CHECK_EQ(rec->lost.kind, CT_LOST_NAMES);
				CHECK_EQ(rec->lost.count, 3);
			} else if (rec->type == CT_REC_BATCH) {
				events += (int)rec->batch->n;
			}
		}
		CHECK_EQ(names, 1);
		CHECK_EQ(events, 2);
		ct_reader_close(r);
		rio = mem_reader_io(&m, seekable);
		CHECK_EQ(ct_reader_open(&r, &rio, NULL), 0);
		events = 0;
		while (ct_reader_next_event(r, &rec) > 0)
			events += rec->type == CT_REC_EVENT;
		CHECK_EQ(events, 2);
		ct_reader_close(r);
	}
	free(m.p);
}

int main(void)
{
	test_good();
	test_hostile();
	test_records();
	return check_done("test_dns");
}
