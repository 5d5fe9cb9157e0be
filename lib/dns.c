/* SPDX-License-Identifier: MIT */
/* dns.c: A, AAAA and CNAME answers of a DNS response (RFC 1035 4.1). */
#include <string.h>

#include "lib/dns.h"

#define DNS_HDR 12
#define DNS_JUMPS_MAX 32 /* compression pointers followed per name */
#define DNS_RR_MAX 64	 /* answer records looked at */
#define DNS_CHAIN_MAX 16 /* CNAME links followed */
#define T_A 1
#define T_CNAME 5
#define T_AAAA 28
#define C_IN 1

/* The name at msg[off]: written to out (lower case, dotted, NUL-terminated,
 * at most CT_NAME_MAX bytes); *next is the offset after it in place. 0, or
 * -1 when malformed. */
static int read_name(const uint8_t *msg, size_t len, size_t off, char *out, size_t *next)
{
	size_t pos = off, n = 0;
	int jumps = 0, jumped = 0;

	for (;;) {
		if (pos >= len)
			return -1;
		uint8_t c = msg[pos];
		if ((c & 0xc0) == 0xc0) {
			if (pos + 1 >= len || ++jumps > DNS_JUMPS_MAX)
				return -1;
			size_t ptr = ((size_t)(c & 0x3f) << 8) | msg[pos + 1];
			if (!jumped)
				*next = pos + 2;
			jumped = 1;
			if (ptr >= len)
				return -1;
			pos = ptr;
			continue;
		}
		if (c & 0xc0)
			return -1; /* 0x40 and 0x80: extended label types, obsolete */
		if (c == 0) {
			if (!jumped)
				*next = pos + 1;
			out[n] = 0;
			return 0;
		}
		if (c > len - pos - 1 || n + (n > 0) + c > CT_NAME_MAX)
			return -1;
		if (n)
			out[n++] = '.';
		for (size_t i = 0; i < c; i++) {
			uint8_t b = msg[pos + 1 + i];
			if (b <= 0x20 || b >= 0x7f || b == '.')
				return -1;
			out[n++] = (char)(b >= 'A' && b <= 'Z' ? b + 32 : b);
		}
		pos += 1u + c;
	}
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

struct rr {
	char owner[CT_NAME_MAX + 1];
	char target[CT_NAME_MAX + 1]; /* CNAME */
	uint16_t type;
	uint32_t ttl;
	size_t rdata, rdlen;
};

int ct_dns_parse(const uint8_t *msg, size_t len, int cut, struct ct_dns_answer *out)
{
	static __thread struct rr rrs[DNS_RR_MAX];
	size_t pos;

	memset(out, 0, sizeof(*out));
	if (!msg || len < DNS_HDR)
		return -1;
	uint16_t flags = get16(msg + 2), qd = get16(msg + 4), an = get16(msg + 6);
	if (!(flags & 0x8000) || (flags & 0x000f) || qd != 1)
		return 0; /* a query, an error, or no single question */
	if (read_name(msg, len, DNS_HDR, out->name, &pos) || len - pos < 4)
		return -1;
	pos += 4; /* qtype, qclass */
	uint32_t nrr = 0;
	for (uint32_t i = 0; i < an && nrr < DNS_RR_MAX; i++) {
		struct rr *r = &rrs[nrr];
		if (cut && (pos >= len || len - pos < 12))
			break;
		if (read_name(msg, len, pos, r->owner, &pos) || len - pos < 10) {
			if (cut)
				break;
			return -1;
		}
		r->type = get16(msg + pos);
		uint16_t cls = get16(msg + pos + 2);
		r->ttl = (uint32_t)msg[pos + 4] << 24 | (uint32_t)msg[pos + 5] << 16 |
			 (uint32_t)msg[pos + 6] << 8 | msg[pos + 7];
		if (r->ttl > 0x7fffffff)
			r->ttl = 0; /* RFC 2181 8: a TTL with the top bit set is zero */
		r->rdlen = get16(msg + pos + 8);
		r->rdata = pos + 10;
		if (r->rdlen > len - r->rdata) {
			if (cut)
				break;
			return -1;
		}
		pos = r->rdata + r->rdlen;
		if (cls != C_IN)
			continue;
		if (r->type == T_CNAME) {
			size_t end;
			if (read_name(msg, len, r->rdata, r->target, &end)) {
				if (cut)
					break;
				return -1;
			}
			nrr++;
		} else if ((r->type == T_A && r->rdlen == 4) ||
			   (r->type == T_AAAA && r->rdlen == 16)) {
			nrr++;
		}
	}
	/* Follow the chain from the question's name. */
	char cur[CT_NAME_MAX + 1];
	memcpy(cur, out->name, sizeof(cur));
	uint32_t ttl = UINT32_MAX;
	for (int link = 0; link < DNS_CHAIN_MAX; link++) {
		int moved = 0;
		for (uint32_t i = 0; i < nrr; i++) {
			if (rrs[i].type == T_CNAME && !strcmp(rrs[i].owner, cur)) {
				memcpy(cur, rrs[i].target, sizeof(cur));
				ttl = rrs[i].ttl < ttl ? rrs[i].ttl : ttl;
				moved = 1;
				break;
			}
		}
		if (!moved)
			break;
	}
	uint32_t addr_ttl = UINT32_MAX;
	for (uint32_t i = 0; i < nrr && out->naddrs < CT_NAME_ADDRS_MAX; i++) {
		const struct rr *r = &rrs[i];
		if (r->type == T_CNAME || strcmp(r->owner, cur))
			continue;
		struct ct_name_addr *a = &out->addrs[out->naddrs++];
		a->family = r->type == T_A ? 2 : 10;
		memcpy(a->addr, msg + r->rdata, r->rdlen);
		addr_ttl = r->ttl < addr_ttl ? r->ttl : addr_ttl;
	}
	if (!out->naddrs || !out->name[0])
		return 0;
	out->ttl = addr_ttl < ttl ? addr_ttl : ttl;
	return 1;
}
