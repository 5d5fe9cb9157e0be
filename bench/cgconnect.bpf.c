/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * cgconnect.bpf.c: bench-only (P6b). Would cgroup sock_addr programs
 * (cgroup/connect4 + cgroup/connect6 on the cgroup v2 root) see every
 * connect without the tax an attached syscalls:* tracepoint puts on every
 * other syscall? These two copy what the tracepoint backend records and put
 * it into a ring buffer that bench/bpf_loader.c drains, like record does.
 * They always return 1 (allow): the verdict is never changed.
 *
 * What this hook can give, against bpf/conntrail.bpf.c's tracepoint backend:
 *   yes  ts, pid, tid, uid, gid, comm, cgroup id (helpers); ppid (a CO-RE
 *        read through the current task); family, type, protocol, IPv4/IPv6
 *        address and port (the kernel's copy of the sockaddr, so no user
 *        memory race)
 *   no   sockfd (the hook gets the socket, not the descriptor), connect's
 *        return value and latency (the hook runs before the connect; there
 *        is no exit hook), the IPv6 scope id (not in struct bpf_sock_addr),
 *        UNIX sockets (cgroup/connect_unix exists only since 6.7), and
 *        connects that fail before the hook (bad fd, EAFNOSUPPORT, EFAULT).
 * The cgroup hook also fires for kernel and io_uring connects.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define AF_INET 2
#define AF_INET6 10

/* The fields the tracepoint backend's struct ctb_connect carries that this
 * hook can fill, in the same sizes. */
struct cg_event {
	__u64 ts_ns;
	__u64 cgroup_id;
	__u32 pid;
	__u32 tid;
	__u32 ppid;
	__u32 uid;
	__u32 gid;
	__u16 family;
	__u16 type;
	__u16 proto;
	__u16 dport; /* host byte order */
	__u8 daddr[16];
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

__u64 dropped; /* records the ring buffer could not take */
__u64 emitted;

static __always_inline int seen(struct bpf_sock_addr *ctx, bool v6)
{
	struct cg_event e = {};
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid(), ug = bpf_get_current_uid_gid();

	e.ts_ns = bpf_ktime_get_ns();
	e.cgroup_id = bpf_get_current_cgroup_id();
	e.pid = id >> 32;
	e.tid = (__u32)id;
	e.uid = (__u32)ug;
	e.gid = ug >> 32;
	e.ppid = BPF_CORE_READ(task, real_parent, tgid);
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	e.family = ctx->user_family;
	e.type = ctx->type;
	e.proto = ctx->protocol;
	e.dport = __builtin_bswap16((__u16)ctx->user_port);
	if (v6) {
		__u32 *a = (__u32 *)e.daddr;
		a[0] = ctx->user_ip6[0];
		a[1] = ctx->user_ip6[1];
		a[2] = ctx->user_ip6[2];
		a[3] = ctx->user_ip6[3];
	} else {
		*(__u32 *)e.daddr = ctx->user_ip4;
	}
	/* Wake the reader only past a backlog, like record (batched). */
	__u64 flag = (++emitted & 15) ? BPF_RB_NO_WAKEUP
		     : bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= (1 << 20)
			 ? BPF_RB_FORCE_WAKEUP
			 : BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(&events, &e, sizeof(e), flag))
		__sync_fetch_and_add(&dropped, 1);
	return 1; /* allow: observe, never deny */
}

SEC("cgroup/connect4")
int cg_connect4(struct bpf_sock_addr *ctx)
{
	return seen(ctx, false);
}

SEC("cgroup/connect6")
int cg_connect6(struct bpf_sock_addr *ctx)
{
	return seen(ctx, true);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
