/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * empty_state.bpf.c: the floor for record as it is now. Every hook record's
 * tracepoint backend attaches, doing nothing: the two connect tracepoints of
 * empty.bpf.c, the TCP state change and socket error report it follows
 * handshakes on, and the cgroup ingress hook its DNS names come from. "this"
 * minus "empty.bpf.c" is what the kernel charges just for running a program
 * on the hooks added since then.
 */
#include "empty.bpf.c" /* the two connect tracepoints, EMPTY, and the license */

EMPTY("tp_btf/inet_sock_set_state", empty_state)
EMPTY("tp_btf/inet_sk_error_report", empty_error)

/* A cgroup skb program's 1 lets the packet through (0 would drop it). */
SEC("cgroup_skb/ingress")
int empty_ingress(void *ctx)
{
	(void)ctx;
	return 1;
}
