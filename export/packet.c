/* SPDX-License-Identifier: MIT */
/*
 * packet.c: a connect attempt as the packet it would have put on the wire
 * (IPv4/IPv6 + TCP SYN, UDP, ICMP echo) and the reply its outcome implies,
 * shared by the pcapng and pcap writers; the text packets carry is in
 * comment.c.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/eventfmt.h"
#include "export/export.h"
#include "lib/hash.h"
#include "lib/text.h"
#include "lib/names.h"
#include "lib/util.h"

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
	return (uint32_t)(ns / 1000000u) + ct_mix32(key);
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
			uint32_t peer = ct_mix32(seq ^ 0x5bd1e995u);
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

static void reply_swap(struct ct_reply *a, struct ct_reply *b)
{
	struct ct_reply t = *a;
	*a = *b;
	*b = t;
}

int ct_replies_push(struct ct_replies *q, const struct ct_reply *r)
{
	if (q->n == q->cap && ct_grow(&q->heap, &q->cap, sizeof(*q->heap), 256))
		return -1;
	size_t i = q->n++;
	q->heap[i] = *r;
	while (i) {
		size_t p = (i - 1) / 2;
		if (!reply_less(&q->heap[i], &q->heap[p]))
			break;
		reply_swap(&q->heap[i], &q->heap[p]);
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
		reply_swap(&q->heap[i], &q->heap[m]);
		i = m;
	}
	return 1;
}

void ct_replies_free(struct ct_replies *q)
{
	free(q->heap);
	memset(q, 0, sizeof(*q));
}
