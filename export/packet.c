/* SPDX-License-Identifier: MIT */
/*
 * packet.c: a connect attempt as the packet it would have put on the wire
 * (IPv4/IPv6 + TCP SYN, UDP, ICMP echo) and the reply its outcome implies,
 * shared by the pcapng and pcap writers, plus the per-packet comment naming
 * the process and the JSON payload of frames for UNIX connects.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "export/eventfmt.h"
#include "export/export.h"
#include "lib/text.h"
#include "lib/names.h"

#define IPPROTO_ICMP_ 1
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_ICMPV6_ 58
#define IPPROTO_UDPLITE_ 136
#define IPPROTO_MPTCP_ 262
#define NEXTHDR_NONE 59

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* One's complement sum of big-endian 16-bit words (RFC 1071), unfolded. */
static uint32_t sum16(const uint8_t *p, size_t n, uint32_t acc)
{
	for (; n >= 2; p += 2, n -= 2)
		acc += (uint32_t)p[0] << 8 | p[1];
	if (n)
		acc += (uint32_t)p[0] << 8;
	return acc;
}

/* Sums below stay under 2^24, so two folds always suffice. */
static inline uint16_t fold(uint32_t acc)
{
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

/* sum16 of an address (4 or 16 bytes), from 32-bit loads. */
static inline uint32_t addr_sum(const uint8_t *a, size_t n)
{
	uint32_t acc = 0;
	for (size_t i = 0; i < n; i += 4) {
		uint32_t w;
		memcpy(&w, a + i, 4);
		w = __builtin_bswap32(w); /* network order -> value */
		acc += (w >> 16) + (w & 0xffff);
	}
	return acc;
}

/* 32-bit mix (murmur3 finaliser) for stable, well spread ports and sequences. */
static uint32_t mix32(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static inline uint32_t socket_key(const struct ct_event *ev)
{
	/* The fd names the socket within the process; without one, the thread. */
	uint32_t who = ev->sockfd >= 0 ? (uint32_t)ev->sockfd : ev->tid ^ 0x80000000u;
	/* A TCP socket connects once: a later connect on the same fd number is a
	 * new socket, and reusing its port would make Wireshark call the SYN a
	 * retransmission. A UDP socket may connect again with the same port. */
	uint64_t h = (uint64_t)ev->task->pid << 32 | who;
	if (ev->dest->type == 1 /* SOCK_STREAM */)
		h += ev->ts_ns * 0x9e3779b97f4a7c15ull;
	/* One 64-bit mix (splitmix64's finaliser) spreads all of it. */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return (uint32_t)h;
}

static inline uint16_t sport_of(const struct ct_event *ev, uint32_t key)
{
	if ((ev->flags & CT_EV_SADDR) && ev->sport)
		return ev->sport;
	/* Linux's default ephemeral range, 32768..60999. */
	return (uint16_t)(32768 + key % 28232);
}

uint16_t ct_packet_sport(const struct ct_event *ev)
{
	return sport_of(ev, socket_key(ev));
}

enum l4 { L4_NONE, L4_TCP, L4_UDP, L4_ICMP };

static inline enum l4 l4_of(const struct ct_event *ev, uint8_t *ipproto)
{
	uint16_t pr = ev->dest->proto;

	if (ev->dest->type == 1 /* SOCK_STREAM */ &&
	    (pr == 0 || pr == IPPROTO_TCP_ || pr == IPPROTO_MPTCP_)) {
		*ipproto = IPPROTO_TCP_;
		return L4_TCP;
	}
	if (ev->dest->type == 2 /* SOCK_DGRAM */ &&
	    (pr == 0 || pr == IPPROTO_UDP_ || pr == IPPROTO_UDPLITE_)) {
		*ipproto = IPPROTO_UDP_;
		return L4_UDP;
	}
	if (ev->dest->type == 2 && (pr == IPPROTO_ICMP_ || pr == IPPROTO_ICMPV6_)) {
		*ipproto = ev->dest->family == 10 ? IPPROTO_ICMPV6_ : IPPROTO_ICMP_;
		return L4_ICMP;
	}
	/* Raw or unusual sockets: the IP header alone, with the protocol number. */
	*ipproto = pr && pr < 256 ? (uint8_t)pr : (ev->dest->family == 10 ? NEXTHDR_NONE : 255);
	return L4_NONE;
}

/* IP header for src -> dst carrying l4len bytes of protocol proto; returns
 * its length and the pseudo-header sum for the transport checksum. The
 * checksums are summed from the field values, not read back from p. */
static inline size_t ip_header(uint8_t *p, int v6, const uint8_t *src, const uint8_t *dst,
			       uint8_t proto, size_t l4len, uint32_t *pseudo)
{
	if (!v6) {
		uint32_t addrs = addr_sum(src, 4) + addr_sum(dst, 4);
		uint16_t total = (uint16_t)(20 + l4len);
		put16(p, 0x4500);
		put16(p + 2, total);
		put32(p + 4, 0x4000); /* id 0, DF as Linux sends a SYN */
		p[8] = 64;
		p[9] = proto;
		memcpy(p + 12, src, 4);
		memcpy(p + 16, dst, 4);
		put16(p + 10, fold(0x4500u + total + 0x4000u + (64u << 8 | proto) + addrs));
		*pseudo = addrs + proto + (uint32_t)l4len;
		return 20;
	}
	put32(p, 0x60000000u);
	put16(p + 4, (uint16_t)l4len);
	p[6] = proto;
	p[7] = 64;
	memcpy(p + 8, src, 16);
	memcpy(p + 24, dst, 16);
	*pseudo = addr_sum(src, 16) + addr_sum(dst, 16) + proto + (uint32_t)l4len;
	return 40;
}

/* TCP options as Linux puts them on a SYN and a SYN/ACK: MSS,
 * SACK-permitted, timestamps, NOP, window scale 7 (20 bytes). */
#define TCP_SYN_OPTLEN 20
static inline void tcp_syn_options(uint8_t *o, uint16_t mss, uint32_t tsval, uint32_t tsecr)
{
	o[0] = 2; /* MSS */
	o[1] = 4;
	put16(o + 2, mss);
	o[4] = 4; /* SACK permitted */
	o[5] = 2;
	o[6] = 8; /* timestamps */
	o[7] = 10;
	put32(o + 8, tsval);
	put32(o + 12, tsecr);
	o[16] = 1; /* NOP */
	o[17] = 3; /* window scale */
	o[18] = 3;
	o[19] = 7;
}

/* A TCP header of 20 + optlen bytes (the options already at t + 20). */
static inline size_t tcp_header(uint8_t *t, uint16_t sport, uint16_t dport, uint32_t seq,
				uint32_t ack, uint8_t flags, uint16_t window, size_t optlen,
				uint32_t pseudo)
{
	size_t len = 20 + optlen;
	put16(t, sport);
	put16(t + 2, dport);
	put32(t + 4, seq);
	put32(t + 8, ack);
	t[12] = (uint8_t)(len / 4) << 4;
	t[13] = flags;
	put16(t + 14, window);
	put16(t + 16, 0);
	put16(t + 18, 0);
	put16(t + 16, fold(sum16(t, len, pseudo)));
	return len;
}

static const uint8_t zero_addr[16];

static inline int is_loopback(const struct ct_event *ev)
{
	const uint8_t *a = ev->dest->daddr;
	static const uint8_t lo6[16] = {[15] = 1};
	static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
	if (ev->dest->family == 2)
		return a[0] == 127;
	return !memcmp(a, lo6, 16) || (!memcmp(a, mapped, 12) && a[12] == 127);
}

/* The local address a connect's packets carry: the one the kernel chose
 * where the trace has it, else the loopback address for a loopback
 * destination (where Linux picks it too), else the unspecified address. */
static const uint8_t *local_addr(const struct ct_event *ev)
{
	static const uint8_t lo4[16] = {127, 0, 0, 1};
	static const uint8_t lo6[16] = {[15] = 1};
	static const uint8_t lo_mapped[16] = {[10] = 0xff, [11] = 0xff, [12] = 127, [15] = 1};
	int v6 = ev->dest->family == 10;
	if ((ev->flags & CT_EV_SADDR) && memcmp(ev->saddr, zero_addr, v6 ? 16 : 4))
		return ev->saddr;
	if (!is_loopback(ev))
		return zero_addr;
	if (!v6)
		return lo4;
	return ev->dest->daddr[10] == 0xff ? lo_mapped : lo6; /* ::ffff:127.x, else ::1 */
}

/* MSS and window of a Linux SYN: loopback's MTU of 65536, else Ethernet. */
static inline void syn_sizes(const struct ct_event *ev, uint16_t *mss, uint16_t *window)
{
	int v6 = ev->dest->family == 10;
	if (is_loopback(ev)) {
		*mss = v6 ? 65476 : 65495;
		*window = *mss;
	} else {
		*mss = v6 ? 1440 : 1460;
		*window = v6 ? 64800 : 64240;
	}
}

/* TCP timestamps: a millisecond clock plus a per-connection offset. */
static inline uint32_t tsval_of(uint64_t ns, uint32_t key)
{
	return (uint32_t)(ns / 1000000u) + mix32(key);
}

size_t ct_packet_ip(uint8_t *p, const struct ct_event *ev)
{
	int v6 = ev->dest->family == 10;
	const uint8_t *src = local_addr(ev);
	uint32_t key = socket_key(ev);
	uint16_t sport = sport_of(ev, key);
	uint8_t proto;
	enum l4 l4 = l4_of(ev, &proto);
	size_t l4len = l4 == L4_TCP ? 20 + TCP_SYN_OPTLEN : l4 == L4_NONE ? 0 : 8;
	uint32_t pseudo;
	size_t iph = ip_header(p, v6, src, ev->dest->daddr, proto, l4len, &pseudo);
	uint8_t *t = p + iph;

	switch (l4) {
	case L4_TCP: {
		uint16_t mss, window;
		syn_sizes(ev, &mss, &window);
		tcp_syn_options(t + 20, mss, tsval_of(ev->ts_ns, key), 0);
		tcp_header(t, sport, ev->dest->dport, key, 0, 0x02 /* SYN */, window,
			   TCP_SYN_OPTLEN, pseudo);
		break;
	}
	case L4_UDP: {
		put16(t, sport);
		put16(t + 2, ev->dest->dport);
		put16(t + 4, 8);
		uint16_t c = fold(pseudo + sport + ev->dest->dport + 8);
		put16(t + 6, c ? c : 0xffff);
		break;
	}
	case L4_ICMP:
		t[0] = v6 ? 128 : 8; /* echo request */
		t[1] = 0;
		put16(t + 4, sport); /* the kernel uses the socket's port as id */
		put16(t + 6, 1);
		/* ICMPv4 has no pseudo header; ICMPv6 does. */
		put16(t + 2, fold((v6 ? pseudo : 0) + ((uint32_t)t[0] << 8) + sport + 1));
		break;
	case L4_NONE:
		break;
	}
	return iph + l4len;
}

/* Did anything come back over the network for this connect? Only then is
 * there a reply to show. A TCP handshake that succeeded heard a SYN/ACK and
 * one refused heard a RST, blocking or not. One that failed unreachable
 * after connect(2) returned (EINPROGRESS) heard an ICMP error; one whose
 * connect(2) itself failed so may never have sent anything (no route, a
 * neighbour that never answered): nothing. Timeouts, abandoned handshakes,
 * EACCES/EPERM from a firewall hook, UDP and UNIX: nothing. */
static int reply_kind(const struct ct_event *ev)
{
	uint8_t proto;
	if (!(ev->flags & CT_EV_RESULT) || !ct_packet_is_ip(ev) || l4_of(ev, &proto) != L4_TCP)
		return 0;
	int err = ev->result < 0 ? -ev->result : ev->result;
	if (err == 0 || err == 111 /* ECONNREFUSED */)
		return 1;
	if ((err == 113 /* EHOSTUNREACH */ || err == 101 /* ENETUNREACH */) && ct_outcome_later(ev))
		return 2;
	return 0;
}

size_t ct_packet_ip_reply(uint8_t *p, const struct ct_event *ev)
{
	int kind = reply_kind(ev);
	if (!kind)
		return 0;
	int v6 = ev->dest->family == 10;
	const uint8_t *local = local_addr(ev);
	uint16_t sport = ct_packet_sport(ev);
	uint32_t seq = socket_key(ev), pseudo;
	int err = ev->result < 0 ? -ev->result : ev->result;

	if (kind == 1) {
		size_t optlen = err == 0 ? TCP_SYN_OPTLEN : 0;
		size_t iph =
		    ip_header(p, v6, ev->dest->daddr, local, IPPROTO_TCP_, 20 + optlen, &pseudo);
		uint8_t *t = p + iph;
		if (err == 0) {
			/* The peer's SYN/ACK: its own options, echoing our timestamp. */
			uint16_t mss, window;
			syn_sizes(ev, &mss, &window);
			uint32_t peer = mix32(seq ^ 0x5bd1e995u);
			tcp_syn_options(t + 20, mss, tsval_of(ev->ts_ns + ev->result_ns, peer),
					tsval_of(ev->ts_ns, seq));
			tcp_header(t, ev->dest->dport, sport, peer, seq + 1, 0x12 /* SYN|ACK */,
				   window == 64800   ? 64260
				   : window == 64240 ? 65160
						     : window,
				   optlen, pseudo);
		} else {
			tcp_header(t, ev->dest->dport, sport, 0, seq + 1, 0x14 /* RST|ACK */, 0, 0,
				   pseudo);
		}
		return iph + 20 + optlen;
	}
	/* ICMP unreachable from whoever sent it (a router, or this host's own
	 * stack): the trace does not say who, so its source is the unspecified
	 * address, never the destination. It quotes the packet it answers. */
	uint8_t orig[CT_PACKET_IP_MAX];
	size_t olen = ct_packet_ip(orig, ev);
	if (!v6 && olen > 28)
		olen = 28; /* IP header + 8 bytes, as RFC 792 asks */
	size_t l4len = 8 + olen;
	size_t iph = ip_header(p, v6, zero_addr, local, v6 ? IPPROTO_ICMPV6_ : IPPROTO_ICMP_, l4len,
			       &pseudo);
	uint8_t *t = p + iph;
	if (v6) {
		t[0] = 1;		   /* destination unreachable */
		t[1] = err == 101 ? 0 : 3; /* no route : address unreachable */
	} else {
		t[0] = 3;
		t[1] = err == 101 ? 0 : 1; /* net : host unreachable */
	}
	put16(t + 2, 0);
	put32(t + 4, 0);
	memcpy(t + 8, orig, olen);
	put16(t + 2, fold(sum16(t, l4len, v6 ? pseudo : 0)));
	return iph + l4len;
}

/* ------------------------------------------------------------- frames */

size_t ct_packet_eth(uint8_t *p, uint16_t ethertype, int inbound)
{
	static const uint8_t host[6] = {0x02, 0, 0, 0, 0, 0x01};
	static const uint8_t peer[6] = {0x02, 0, 0, 0, 0, 0x02};
	memcpy(p, inbound ? host : peer, 6); /* destination first */
	memcpy(p + 6, inbound ? peer : host, 6);
	put16(p + 12, ethertype);
	return CT_ETH_HLEN;
}

static uint16_t ip_ethertype(const struct ct_event *ev)
{
	return ev->dest->family == 10 ? 0x86DD : 0x0800;
}

size_t ct_packet_frame_ip(uint8_t *p, const struct ct_event *ev)
{
	size_t h = ct_packet_eth(p, ip_ethertype(ev), 0);
	return h + ct_packet_ip(p + h, ev);
}

size_t ct_packet_frame_ip_reply(uint8_t *p, const struct ct_event *ev)
{
	size_t n = ct_packet_ip_reply(p + CT_ETH_HLEN, ev);
	if (!n)
		return 0;
	return ct_packet_eth(p, ip_ethertype(ev), 1) + n;
}

/* ------------------------------------------------------------ replies */

static int reply_less(const struct ct_reply *a, const struct ct_reply *b)
{
	return a->ns < b->ns;
}

int ct_replies_push(struct ct_replies *q, const struct ct_reply *r)
{
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 256;
		struct ct_reply *h = realloc(q->heap, cap * sizeof(*h));
		if (!h)
			return -1;
		q->heap = h;
		q->cap = cap;
	}
	size_t i = q->n++;
	q->heap[i] = *r;
	while (i) {
		size_t p = (i - 1) / 2;
		if (!reply_less(&q->heap[i], &q->heap[p]))
			break;
		struct ct_reply t = q->heap[i];
		q->heap[i] = q->heap[p];
		q->heap[p] = t;
		i = p;
	}
	return 0;
}

int ct_replies_pop(struct ct_replies *q, uint64_t ns, struct ct_reply *out)
{
	if (!q->n || q->heap[0].ns > ns)
		return 0;
	*out = q->heap[0];
	q->heap[0] = q->heap[--q->n];
	for (size_t i = 0;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < q->n && reply_less(&q->heap[l], &q->heap[m]))
			m = l;
		if (l + 1 < q->n && reply_less(&q->heap[l + 1], &q->heap[m]))
			m = l + 1;
		if (m == i)
			break;
		struct ct_reply t = q->heap[i];
		q->heap[i] = q->heap[m];
		q->heap[m] = t;
		i = m;
	}
	return 1;
}

void ct_replies_free(struct ct_replies *q)
{
	free(q->heap);
	memset(q, 0, sizeof(*q));
}

/* ------------------------------------------------------------ comment */

/* A string literal: its length is known at compile time. */
#define LIT(d, s) (memcpy((d), (s), sizeof(s) - 1), sizeof(s) - 1)

static size_t put_str(char *d, const char *s)
{
	size_t n = strlen(s);
	memcpy(d, s, n);
	return n;
}

/* Printable ASCII as is; space, '\\' and everything else as \xNN, so a
 * name can never fake another key=value pair. At most 4*n bytes. */
static size_t put_safe(char *d, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i = 0;

	/* Runs of eight plain bytes are copied whole. */
	for (; i + 8 <= n; i += 8, o += 8) {
		uint64_t x;
		memcpy(&x, s + i, 8);
		if (ct_any_below(x, 0x21) | ct_any_above(x, 0x7e) | ct_any_equal(x, '\\'))
			break;
		memcpy(d + o, &x, 8);
	}
	for (; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c > 0x20 && c < 0x7f && c != '\\') {
			d[o++] = (char)c;
		} else {
			d[o++] = '\\';
			d[o++] = 'x';
			d[o++] = hex[c >> 4];
			d[o++] = hex[c & 15];
		}
	}
	return o;
}

int ct_packet_reply(struct ct_reply *r, const struct ct_event *ev, uint64_t wall_ns, unsigned iface)
{
	size_t len = ct_packet_frame_ip_reply(r->frame, ev);
	if (!len)
		return 0;
	r->len = (uint16_t)len;
	r->iface = iface;
	r->ns = wall_ns + ev->result_ns;

	/* Who it answers and what it stands for, readable ... */
	size_t comm_len = strnlen(ev->task->comm, CT_COMM_LEN);
	const char *res = ct_fmt_result(ev);
	char *d = r->note;
	size_t o = LIT(d, "synthesized by conntrail, not captured: comm=");
	o += put_safe(d + o, ev->task->comm, comm_len); /* <= 64 */
	o += LIT(d + o, " pid=");
	o += ct_u64_dec(d + o, ev->task->pid);
	o += LIT(d + o, " result=");
	o += put_safe(d + o, res, strnlen(res, 15));
	o += LIT(d + o, " result_ns=");
	o += ct_u64_dec(d + o, ev->result_ns);
	d[o] = '\0'; /* < 192 */

	/* ... and for the plugin (at most 254 bytes). */
	d = r->json;
	o = LIT(d, CT_PCAPNG_JSON_TAG "{\"synthesized\":true,\"pid\":");
	o += ct_u64_dec(d + o, ev->task->pid);
	o += LIT(d + o, ",\"tid\":");
	o += ct_u64_dec(d + o, ev->tid);
	o += LIT(d + o, ",\"comm\":\"");
	o += ct_json_escape(d + o, ev->task->comm, comm_len);
	o += LIT(d + o, "\",\"outcome\":\"");
	o += ct_json_escape(d + o, res, strnlen(res, 15));
	o += LIT(d + o, "\",\"result\":");
	o += ct_i64_dec(d + o, ev->result);
	o += LIT(d + o, ",\"result_ns\":");
	o += ct_u64_dec(d + o, ev->result_ns);
	d[o++] = '}';
	d[o] = '\0';
	return 1;
}

#define COMMENT_STR_MAX 4096 /* PATH_MAX: longer exe and container are cut */

size_t ct_packet_comment_max(const struct ct_event *ev)
{
	(void)ev; /* exe and container are cut at COMMENT_STR_MAX bytes */
	return 640 + 4 * (CT_COMM_LEN + CT_UNIX_PATH_MAX + 2 * COMMENT_STR_MAX);
}

/* Container ids as `docker ps` and `podman ps` print them: a long hex id is
 * cut to its first 12 digits (the full id stays in the JSON and CSV). */
#define CONTAINER_SHORT 12
static size_t put_container(char *d, const char *id)
{
	size_t n = strnlen(id, COMMENT_STR_MAX);
	size_t i = 0;
	while (i < n && ((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
		i++;
	if (i == n && n > CONTAINER_SHORT) {
		memcpy(d, id, CONTAINER_SHORT);
		return CONTAINER_SHORT;
	}
	return put_safe(d, id, n);
}

/*
 * The comment, in the order a person reads it: who and what came of it
 * first, the rest after:
 *   who:   "comm=.. pid=.."                          (per thread)
 *   what:  " result=.. dest=.. | path=.. [ret=..]"    (per connect)
 *   ids:   " exe=.. tid=.. uid=.. [container=..]"     (per thread)
 *   rest:  " sockfd=.. latency_ns=.. result_ns=.. closed_ns=.. ..."
 * ppid and gid are left to the JSON and CSV exports: on every packet they
 * are noise.
 */
static size_t comment_who(char *d, const struct ct_event *ev)
{
	size_t o = LIT(d, "comm=");
	o += put_safe(d + o, ev->task->comm, strnlen(ev->task->comm, CT_COMM_LEN));
	o += LIT(d + o, " pid=");
	return o + ct_u64_dec(d + o, ev->task->pid);
}

static size_t comment_ids(char *d, const struct ct_event *ev)
{
	static const struct ct_procinfo none;
	const struct ct_procinfo *proc = ev->proc ? ev->proc : &none;
	size_t o = 0;

	if (proc->exe) {
		o += LIT(d + o, " exe=");
		o += put_safe(d + o, proc->exe, strnlen(proc->exe, COMMENT_STR_MAX));
	}
	o += LIT(d + o, " tid=");
	o += ct_u64_dec(d + o, ev->tid);
	o += LIT(d + o, " uid=");
	o += ct_u64_dec(d + o, ev->task->uid);
	if (proc->container && proc->container[0]) {
		o += LIT(d + o, " container=");
		o += put_container(d + o, proc->container);
	}
	return o;
}

/* " result=ECONNREFUSED" and friends, spelled once per errno. */
static size_t put_errno(char *d, int32_t v, const char *(*spell)(const struct ct_event *),
			const struct ct_event *ev)
{
	static struct {
		uint8_t len; /* 0: not spelled yet */
		char text[31];
	} errnos[256];
	if (v < 0 && v > -256) {
		unsigned err = (unsigned)-v;
		if (!errnos[err].len) {
			const char *name = spell(ev);
			size_t n = strnlen(name, sizeof(errnos[err].text));
			memcpy(errnos[err].text, name, n);
			errnos[err].len = (uint8_t)n;
		}
		memcpy(d, errnos[err].text, sizeof(errnos[err].text));
		return errnos[err].len;
	}
	return put_str(d, spell(ev));
}

/* "10.0.0.1:443", "[::1]:53", "[fe80::1%2]:22". */
static size_t put_dest(char *d, const struct ct_event *ev)
{
	const struct ct_dest *t = ev->dest;
	size_t o = 0;
	if (t->family == 2) {
		o += ct_ipv4_text(d, t->daddr);
	} else {
		d[o++] = '[';
		inet_ntop(AF_INET6, t->daddr, d + o, INET6_ADDRSTRLEN);
		o += strlen(d + o);
		if (t->scope_id) {
			d[o++] = '%';
			o += ct_u64_dec(d + o, t->scope_id);
		}
		d[o++] = ']';
	}
	d[o++] = ':';
	return o + ct_u64_dec(d + o, t->dport);
}

static size_t comment_what(char *d, const struct ct_event *ev)
{
	size_t o = 0;

	o += LIT(d + o, " result=");
	if ((ev->flags & CT_EV_RESULT) && ev->result)
		o += put_errno(d + o, ev->result, ct_fmt_result, ev);
	else
		o += put_str(d + o, ct_fmt_result(ev));
	if (ct_packet_is_ip(ev)) {
		o += LIT(d + o, " dest=");
		o += put_dest(d + o, ev);
	} else if (ev->dest->family == 1) {
		/* '@' for the NUL of an abstract name, as script prints it. */
		size_t n =
		    ev->dest->path_len < CT_UNIX_PATH_MAX ? ev->dest->path_len : CT_UNIX_PATH_MAX;
		const char *path = ev->dest->path;
		o += LIT(d + o, " path=");
		if ((ev->flags & CT_EV_ABSTRACT) && n > 0 && path[0] == '\0') {
			d[o++] = '@';
			path++;
			n--;
		}
		o += put_safe(d + o, path, n);
	} else {
		o += LIT(d + o, " family=");
		o += ct_family_text(d + o, 32, ev->dest->family);
	}
	if (ct_outcome_later(ev)) {
		o += LIT(d + o, " ret=");
		o += (ev->flags & CT_EV_RET) && ev->ret ? put_errno(d + o, ev->ret, ct_fmt_ret, ev)
							: put_str(d + o, ct_fmt_ret(ev));
	}
	return o;
}

static size_t comment_rest(char *d, const struct ct_event *ev)
{
	size_t o = 0;

	if (ev->sockfd != -1) {
		o += LIT(d + o, " sockfd=");
		o += ct_i64_dec(d + o, ev->sockfd);
	}
	if (ev->flags & CT_EV_LATENCY) {
		o += LIT(d + o, " latency_ns=");
		o += ct_u64_dec(d + o, ev->latency_ns);
	}
	if (ct_outcome_later(ev)) {
		o += LIT(d + o, " result_ns=");
		o += ct_u64_dec(d + o, ev->result_ns);
	}
	if (ev->flags & CT_EV_CLOSED) {
		o += LIT(d + o, " closed_ns=");
		o += ct_u64_dec(d + o, ev->closed_ns);
		o += LIT(d + o, " tx_bytes=");
		o += ct_u64_dec(d + o, ev->tx_bytes);
		o += LIT(d + o, " rx_bytes=");
		o += ct_u64_dec(d + o, ev->rx_bytes);
	}
	if (ev->flags & CT_EV_OPEN)
		o += LIT(d + o, " still_open");
	return o;
}

size_t ct_packet_comment(char *d, const struct ct_event *ev)
{
	size_t o = comment_who(d, ev);
	o += comment_what(d + o, ev);
	o += comment_ids(d + o, ev);
	return o + comment_rest(d + o, ev);
}

/* The per-thread parts (who and ids) per thread, direct-mapped. A slot is
 * valid for one version of the process table's entry (ct_procinfo.serial:
 * a new one whenever exe, container or anything else of the entry changes)
 * and the event's own pid, tid, uid and comm. */
#define HUGE_PAGE (2u << 20)
#define PREFIX_SLOTS 4096
#define PREFIX_MAX 144 /* a multiple of the 16-byte copy below */
struct ct_comment_cache {
	struct prefix_slot {
		uint64_t serial;
		uint32_t pid, tid, uid;
		uint16_t len;	  /* 0: empty slot */
		uint16_t who_len; /* text = who, then ids */
		char comm[CT_COMM_LEN];
		char text[PREFIX_MAX];
	} __attribute__((aligned(64))) slots[PREFIX_SLOTS]; /* 3 cache lines each */
};

struct ct_comment_cache *ct_comment_cache_new(void)
{
	/* 768 KiB touched at random: in one huge page where the kernel
	 * offers them, so that its lookups do not also miss the TLB. */
	size_t size = (sizeof(struct ct_comment_cache) + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
	void *p = aligned_alloc(HUGE_PAGE, size);
	if (!p)
		return NULL;
#ifdef MADV_HUGEPAGE
	madvise(p, size, MADV_HUGEPAGE);
#endif
	return memset(p, 0, sizeof(struct ct_comment_cache));
}

void ct_comment_cache_free(struct ct_comment_cache *c)
{
	free(c);
}

static inline struct prefix_slot *prefix_slot_of(struct ct_comment_cache *c,
						 const struct ct_event *ev)
{
	return &c->slots[mix32(ev->tid * 0x9e3779b1u ^ ev->task->pid) % PREFIX_SLOTS];
}

void ct_comment_cache_prefetch(struct ct_comment_cache *c, const struct ct_event *ev)
{
	if (c) {
		const char *p = (const char *)prefix_slot_of(c, ev);
		__builtin_prefetch(p);
		__builtin_prefetch(p + 64);
		__builtin_prefetch(p + 128);
	}
}

static const struct ct_procinfo no_proc;

size_t ct_packet_comment_cached(struct ct_comment_cache *c, char *d, const struct ct_event *ev)
{
	const struct ct_procinfo *proc = ev->proc ? ev->proc : &no_proc;
	/* Serial 0 with strings: a caller without a process table, whose
	 * strings may change under the same pointer. */
	if (!c || (!proc->serial && (proc->exe || proc->container)))
		return ct_packet_comment(d, ev);
	struct prefix_slot *e = prefix_slot_of(c, ev);
	size_t o;
	if (e->len && e->serial == proc->serial && e->pid == ev->task->pid && e->tid == ev->tid &&
	    e->uid == ev->task->uid && !memcmp(e->comm, ev->task->comm, CT_COMM_LEN)) {
		memcpy(d, e->text, e->who_len);
		o = e->who_len;
		o += comment_what(d + o, ev);
		memcpy(d + o, e->text + e->who_len, (size_t)(e->len - e->who_len));
		o += (size_t)(e->len - e->who_len);
	} else {
		size_t who = comment_who(d, ev);
		o = who + comment_what(d + who, ev);
		size_t ids = comment_ids(d + o, ev);
		if (who + ids <= PREFIX_MAX) {
			e->serial = proc->serial;
			e->pid = ev->task->pid;
			e->tid = ev->tid;
			e->uid = ev->task->uid;
			memcpy(e->comm, ev->task->comm, CT_COMM_LEN);
			memcpy(e->text, d, who);
			memcpy(e->text + who, d + o, ids);
			e->who_len = (uint16_t)who;
			e->len = (uint16_t)(who + ids);
		}
		o += ids;
	}
	return o + comment_rest(d + o, ev);
}

/* -------------------------------------------------- JSON payload (UNIX) */

/*
 * The JSON line of a non-IP event, the bytes of ct_fmt_json_event, with the
 * part that names the process cached per thread like the comment's prefix.
 */
#define JSON_SLOTS 1024
#define JSON_WHO_MAX 480

struct ct_json_cache {
	struct ct_json_ts ts;
	int hit;   /* the last lookup was served from a slot */
	char *big; /* a "who" part too long for a slot */
	size_t big_cap;
	struct json_slot {
		uint64_t serial, cgroup_id;
		const char *host;
		uint32_t pid, tid, ppid, uid, gid;
		uint16_t len; /* 0: empty */
		char comm[CT_COMM_LEN];
		char text[JSON_WHO_MAX];
	} slots[JSON_SLOTS];
};

struct ct_json_cache *ct_json_cache_new(void)
{
	return calloc(1, sizeof(struct ct_json_cache));
}

void ct_json_cache_free(struct ct_json_cache *c)
{
	if (c)
		free(c->big);
	free(c);
}

const char *ct_json_who_cached(struct ct_json_cache *c, const struct ct_event *ev, const char *host,
			       size_t *len)
{
	const struct ct_procinfo *proc = ev->proc ? ev->proc : &no_proc;
	struct json_slot *e = NULL;

	/* Serial 0 with strings: no process table vouches for them. */
	if (proc->serial || (!proc->exe && !proc->cmdline && !proc->container)) {
		e = &c->slots[mix32(ev->tid * 0x9e3779b1u ^ ev->task->pid) % JSON_SLOTS];
		if (e->len && e->serial == proc->serial && e->host == host &&
		    e->pid == ev->task->pid && e->tid == ev->tid && e->ppid == ev->task->ppid &&
		    e->uid == ev->task->uid && e->gid == ev->task->gid &&
		    e->cgroup_id == ev->task->cgroup_id &&
		    !memcmp(e->comm, ev->task->comm, CT_COMM_LEN)) {
			*len = e->len;
			c->hit = 1;
			return e->text;
		}
	}
	c->hit = 0;
	size_t need = ct_json_who_max(ev, host);
	if (c->big_cap < need) {
		char *p = realloc(c->big, need);
		if (!p)
			return NULL;
		c->big = p;
		c->big_cap = need;
	}
	*len = ct_json_who(c->big, ev, host);
	if (!e || *len > JSON_WHO_MAX)
		return c->big;
	e->serial = proc->serial;
	e->cgroup_id = ev->task->cgroup_id;
	e->host = host;
	e->pid = ev->task->pid;
	e->tid = ev->tid;
	e->ppid = ev->task->ppid;
	e->uid = ev->task->uid;
	e->gid = ev->task->gid;
	memcpy(e->comm, ev->task->comm, CT_COMM_LEN);
	memcpy(e->text, c->big, *len);
	e->len = (uint16_t)*len;
	return e->text;
}

int ct_json_who_was_cached(const struct ct_json_cache *c)
{
	return c->hit;
}

size_t ct_json_plugin_max(size_t who_len)
{
	return 512 + 6 * CT_COMM_LEN + who_len;
}

size_t ct_json_plugin(char *d, const struct ct_event *ev, const char *who, size_t who_len, int full)
{
	size_t o = 0;
	if (full) {
		/* who starts with ",\"host\":" or ",\"pid\":" and names them all */
		d[o++] = '{';
		memcpy(d + o, who + 1, who_len - 1);
		o += who_len - 1;
	} else {
		o += LIT(d + o, "{\"pid\":");
		o += ct_u64_dec(d + o, ev->task->pid);
		o += LIT(d + o, ",\"tid\":");
		o += ct_u64_dec(d + o, ev->tid);
		o += LIT(d + o, ",\"comm\":\"");
		o += ct_json_escape(d + o, ev->task->comm, strnlen(ev->task->comm, CT_COMM_LEN));
		d[o++] = '"';
	}
	if (ev->sockfd != -1) {
		o += LIT(d + o, ",\"sockfd\":");
		o += ct_i64_dec(d + o, ev->sockfd);
	}
	if (ev->flags & CT_EV_SADDR) {
		o += LIT(d + o, ",\"saddr\":\"");
		if (ev->dest->family == 2)
			o += ct_ipv4_text(d + o, ev->saddr);
		else {
			inet_ntop(AF_INET6, ev->saddr, d + o, INET6_ADDRSTRLEN);
			o += strlen(d + o);
		}
		o += LIT(d + o, "\",\"sport\":");
		o += ct_u64_dec(d + o, ev->sport);
	}
	if (ev->flags & CT_EV_RET) {
		o += LIT(d + o, ",\"ret\":");
		o += ct_i64_dec(d + o, ev->ret);
	}
	if (ev->flags & CT_EV_LATENCY) {
		o += LIT(d + o, ",\"latency_ns\":");
		o += ct_u64_dec(d + o, ev->latency_ns);
	}
	if (ev->flags & CT_EV_RESULT) {
		o += LIT(d + o, ",\"result\":");
		o += ct_i64_dec(d + o, ev->result);
	}
	if ((ev->flags & (CT_EV_RESULT | CT_EV_ABANDONED)) &&
	    (ev->result_ns || (ev->flags & CT_EV_ABANDONED))) {
		o += LIT(d + o, ",\"result_ns\":");
		o += ct_u64_dec(d + o, ev->result_ns);
	}
	o += LIT(d + o, ",\"outcome\":\"");
	const char *res = ct_fmt_result(ev);
	o += ct_json_escape(d + o, res, strnlen(res, 15));
	d[o++] = '"';
	if (ev->flags & CT_EV_CLOSED) {
		o += LIT(d + o, ",\"closed_ns\":");
		o += ct_u64_dec(d + o, ev->closed_ns);
		o += LIT(d + o, ",\"tx_bytes\":");
		o += ct_u64_dec(d + o, ev->tx_bytes);
		o += LIT(d + o, ",\"rx_bytes\":");
		o += ct_u64_dec(d + o, ev->rx_bytes);
	}
	if (ev->flags & CT_EV_OPEN)
		o += LIT(d + o, ",\"still_open\":true");
	d[o++] = '}';
	return o;
}

size_t ct_json_line_max(size_t who_len)
{
	return CT_JSON_HEAD_MAX + who_len + CT_JSON_TAIL_MAX;
}

size_t ct_json_line(char *d, struct ct_json_cache *c, const struct ct_event *ev, const char *who,
		    size_t who_len, int64_t wall_ns)
{
	size_t o = ct_json_head(d, wall_ns, &c->ts);
	memcpy(d + o, who, who_len);
	o += who_len;
	return o + ct_json_tail(d + o, ev);
}
