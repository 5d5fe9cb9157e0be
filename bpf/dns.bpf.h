/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The DNS capture program of conntrail.bpf.c, which includes this file
 * after the ring buffer and settings it uses. One BPF object: split by
 * concept, not compiled alone.
 */
#ifndef CONNTRAIL_DNS_BPF_H
#define CONNTRAIL_DNS_BPF_H

/*
 * DNS answers (cgroup_skb/ingress on the cgroup v2 root, whatever the
 * connect backend). Runs for every packet a socket of the host receives, so
 * anything not from port 53 leaves after two small loads. Always returns 1:
 * the packet passes, recording never changes traffic.
 */
#define ETH_P_IP_BE 0x0008   /* htons(0x0800) */
#define ETH_P_IPV6_BE 0xdd86 /* htons(0x86dd) */
#define IPPROTO_UDP 17
#define PORT_DNS_BE 0x3500 /* htons(53) */

/* len bytes at off of the packet: straight from its linear part when that
 * holds them (a load, where a helper call costs tens of ns on every packet
 * the host receives), else through the helper. 0, or < 0 when the packet
 * is shorter. */
static __always_inline int peek(struct __sk_buff *skb, __u32 off, void *to, const __u32 len)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;

	if (off < 128) {
		__u8 *p = data + off;
		if ((void *)(p + len) <= end) {
			__builtin_memcpy(to, p, len);
			return 0;
		}
	}
	return bpf_skb_load_bytes(skb, off, to, len);
}

SEC("cgroup_skb/ingress")
int dns_ingress(struct __sk_buff *skb)
{
	__u8 ip[10];
	__u32 l4, off;
	__u8 proto;

	if (skb->protocol == ETH_P_IP_BE) {
		if (peek(skb, 0, ip, 10))
			return 1;
		/* Fragments other than the first have no ports: not ours. */
		if ((ip[6] & 0x1f) || ip[7])
			return 1;
		proto = ip[9];
		l4 = (ip[0] & 0xf) * 4;
	} else if (skb->protocol == ETH_P_IPV6_BE) {
		if (peek(skb, 0, ip, 8))
			return 1;
		proto = ip[6]; /* extension headers: not followed */
		l4 = 40;
	} else {
		return 1;
	}
	if (proto != IPPROTO_UDP && proto != IPPROTO_TCP)
		return 1;
	__u16 sport;
	if (peek(skb, l4, &sport, 2) || sport != PORT_DNS_BE)
		return 1;
	if (proto == IPPROTO_UDP) {
		off = l4 + 8;
	} else {
		__u8 doff;
		if (peek(skb, l4 + 12, &doff, 1))
			return 1;
		off = l4 + (doff >> 4) * 4;
	}
	if (skb->len <= off)
		return 1; /* a bare ACK, say */
	__u64 cg = bpf_skb_cgroup_id(skb);
	if (filter_dns_cgroup && cg != filter_dns_cgroup)
		return 1;
	__u32 len = skb->len - off, wire = len;
	struct ctb_dns *d = bpf_ringbuf_reserve(&events, sizeof(*d), 0);
	if (!d) {
		count_lost(CTB_LOST_DNS);
		return 1;
	}
	if (len > CTB_DNS_MAX)
		len = CTB_DNS_MAX;
	/* Bounds the verifier can see, 1 .. CTB_DNS_MAX (a power of two):
	 * the mask in asm, or clang hands the helper an unmasked copy,
	 * which 6.1's verifier refuses. len >= 1: skb->len > off above. */
	len -= 1;
	asm volatile("%[n] &= %[m]" : [n] "+r"(len) : [m] "i"(CTB_DNS_MAX - 1));
	len += 1;
	if (bpf_skb_load_bytes(skb, off, d->data, len)) {
		bpf_ringbuf_discard(d, BPF_RB_NO_WAKEUP);
		return 1;
	}
	d->kind = CTB_DNS;
	d->len = len;
	d->ts_ns = bpf_ktime_get_ns();
	d->cgroup_id = cg;
	d->wire_len = wire;
	d->proto = proto;
	d->_pad = 0;
	bpf_ringbuf_submit(d, wakeup_flag());
	return 1;
}

#endif
