// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * conntrail.bpf.c: sees every connect attempt and streams it, with process
 * exec/exit records, into one ring buffer.
 *
 * Three backends share this object; user space autoloads only the programs of
 * the one it picked:
 *   lsm        lsm/socket_connect + the connect syscall tracepoints
 *   fentry     fentry/security_socket_connect + the same tracepoints
 *   tracepoint sys_enter_connect/sys_exit_connect alone (reads user memory)
 * The hook fills a per-thread pending entry that sys_enter_connect opened;
 * sys_exit_connect adds the return value and latency and emits it. A hook
 * without a pending entry (io_uring, kernel callers) emits at once with
 * sockfd -1 and no return value.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>

#include "conntrail_event.h"

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Settings, written by the loader between open and load. */
const volatile bool backend_tracepoint = false; /* read the sockaddr at sys_enter */
const volatile bool filter_pids = false;	/* only tgids in `traced` */
const volatile __u64 filter_cgroup = 0;		/* only this cgroup v2 id; 0 = any */
const volatile __u32 self_tgid = 0;		/* the recorder, never traced */
const volatile __u64 wakeup_bytes = 1 << 20;	/* wake the reader past this backlog */

/* The recorder's probe child, traced whatever the filters say. */
__u32 probe_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* resized by the loader (--buffer) */
} events SEC(".maps");

/* Processes to trace when filter_pids: tgid -> 1. Children join at fork. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} traced SEC(".maps");

/* One entry per thread that connects, by tid: the attempt between sys_enter
 * and sys_exit, else CTB_IDLE. Entries are reused in place (no update or
 * delete per connect) and removed when the thread exits. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, struct ctb_connect);
} pending SEC(".maps");

/* Records the ring buffer could not take, per CPU, by enum ctb_lost_slot. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CTB_LOST_SLOTS + 1); /* + a record counter */
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/* Scratch space: records too big for the 512-byte BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ctb_exec);
} scratch SEC(".maps");

static __always_inline bool wanted(__u32 tgid)
{
	if (tgid == probe_tgid)
		return true;
	if (tgid == self_tgid)
		return false;
	if (filter_cgroup && bpf_get_current_cgroup_id() != filter_cgroup)
		return false;
	if (filter_pids && !bpf_map_lookup_elem(&traced, &tgid))
		return false;
	return true;
}

static __always_inline void count_lost(__u32 slot)
{
	__u64 *n = bpf_map_lookup_elem(&lost, &slot);

	if (n)
		*n += 1; /* per-CPU slot: no other writer */
}

/* Batched wakeups: the reader polls with a timeout and is only woken when
 * the backlog is large, never once per event. */
static __always_inline __u64 wakeup_flag(void)
{
	__u32 slot = CTB_LOST_SLOTS; /* the per-CPU record counter */
	__u64 *n = bpf_map_lookup_elem(&lost, &slot);

	/* Asking costs a helper call: ask on every 16th record of a CPU. */
	if (n && (++*n & 15))
		return BPF_RB_NO_WAKEUP;
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP
									     : BPF_RB_NO_WAKEUP;
}

static __always_inline void emit_connect(struct ctb_connect *c)
{
	__u64 size = c->family == AF_UNIX ? sizeof(*c) : CTB_CONNECT_SHORT;

	c->kind = CTB_CONNECT;
	if (bpf_ringbuf_output(&events, c, size, wakeup_flag()))
		count_lost(CTB_LOST_CONNECT);
}

/* Who: direct loads through the BTF task pointer. Each helper call costs a
 * return thunk on kernels with return-stack mitigations; loads do not. */
static __always_inline void fill_task(struct ctb_connect *c, struct task_struct *task)
{
	const struct cred *cred = task->cred;

	c->pid = task->tgid;
	c->tid = task->pid;
	c->ppid = task->real_parent->tgid;
	c->uid = cred->uid.val;
	c->gid = cred->gid.val;
	c->cgroup_id = task->cgroups->dfl_cgrp->kn->id;
	__builtin_memcpy(c->comm, task->comm, sizeof(c->comm));
}

/*
 * Where: the sockaddr at addr (user or kernel memory) in one read, at
 * raw_family, so that sun_path lands in path; then decoded from there.
 */
static __always_inline void read_sockaddr(struct ctb_connect *c, const void *addr, int addrlen,
					  bool user)
{
	__u32 n = addrlen <= 0 ? 0 : addrlen > 2 + CTB_PATH_MAX ? 2 + CTB_PATH_MAX : addrlen;
	const __u8 *raw = (const __u8 *)c->path; /* the bytes after sa_family */

	asm volatile("%[n] &= 0x7f" : [n] "+r"(n)); /* a bound the verifier sees */
	if (n < 2)
		return;
	if ((user ? bpf_probe_read_user(&c->raw_family, n, addr)
		  : bpf_probe_read_kernel(&c->raw_family, n, addr)))
		return;
	c->family = c->raw_family;
	switch (c->family) {
	case AF_INET: /* port at 2, address at 4 */
		if (n < 16)
			break;
		c->dport = ((__u16)raw[0] << 8) | raw[1];
		__builtin_memcpy(c->daddr, raw + 2, 4);
		break;
	case AF_INET6: /* port at 2, flowinfo at 4, address at 8, scope at 24 */
		/* The kernel accepts the 24-byte RFC 2133 form without scope id. */
		if (n < 24)
			break;
		c->dport = ((__u16)raw[0] << 8) | raw[1];
		__builtin_memcpy(c->daddr, raw + 6, 16);
		if (n >= 28)
			__builtin_memcpy(&c->scope_id, raw + 22, 4);
		break;
	case AF_UNIX:
		c->path_len = n - 2;
		if (n > 2 && raw[0] == 0)
			c->flags |= CTB_F_ABSTRACT;
		break;
	}
}

/* The first bytes of struct socket: state, type, flags, file, sk (5.3+). */
#define SOCK_WINDOW 48

/* Type and protocol of the socket behind fd of the current task. */
static __always_inline void socket_of_fd(struct ctb_connect *c, struct task_struct *task, int fd)
{
	struct fdtable *fdt = task->files->fdt;
	struct file **fds, *file = NULL, *back = NULL;
	struct socket *sock = NULL;
	struct sock *sk = NULL;
	__u64 win[SOCK_WINDOW / 8];
	__u32 off_type = bpf_core_field_offset(struct socket, type);
	__u32 off_file = bpf_core_field_offset(struct socket, file);
	__u32 off_sk = bpf_core_field_offset(struct socket, sk);
	__u16 type = 0;

	if (fd < 0 || (unsigned int)fd >= fdt->max_fds)
		return;
	fds = fdt->fd;
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return;
	if (bpf_probe_read_kernel(&sock, sizeof(sock), &file->private_data) || !sock)
		return;
	if (off_type + 2 <= SOCK_WINDOW && off_file + 8 <= SOCK_WINDOW &&
	    off_sk + 8 <= SOCK_WINDOW) {
		/* One read for the three fields. */
		if (bpf_probe_read_kernel(win, sizeof(win), sock))
			return;
		type = *(__u16 *)((char *)win + off_type);
		back = *(struct file **)((char *)win + off_file);
		sk = *(struct sock **)((char *)win + off_sk);
	} else {
		type = BPF_CORE_READ(sock, type);
		back = BPF_CORE_READ(sock, file);
		sk = BPF_CORE_READ(sock, sk);
	}
	/* A socket's file points at it and it points back at the file. */
	if (back != file)
		return;
	c->type = type;
	c->proto = BPF_CORE_READ(sk, sk_protocol);
}

static __always_inline struct ctb_connect *scratch_connect(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&scratch, &zero);
}

SEC("tp/syscalls/sys_enter_connect")
int tp_enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 tid = task->pid;
	struct ctb_connect *c;
	bool fresh = false;

	if (!wanted(task->tgid))
		return 0;
	c = bpf_map_lookup_elem(&pending, &tid);
	if (c) {
		/* A previous attempt of this thread whose exit we never saw. */
		if (c->kind == CTB_CONNECT)
			emit_connect(c);
	} else {
		c = scratch_connect();
		if (!c)
			return 0;
		fresh = true;
	}
	__builtin_memset(c, 0, CTB_CONNECT_SHORT);
	c->ts_ns = bpf_ktime_get_ns();
	c->sockfd = (int)ctx->args[0];
	c->tid = tid;
	if (backend_tracepoint) {
		fill_task(c, task);
		read_sockaddr(c, (const void *)ctx->args[1], (int)ctx->args[2], true);
		socket_of_fd(c, task, c->sockfd);
		c->kind = CTB_CONNECT;
	}
	/* else kind stays 0 until the LSM/fentry hook fills the entry. */
	if (fresh && bpf_map_update_elem(&pending, &tid, c, BPF_NOEXIST) && c->kind == CTB_CONNECT)
		count_lost(CTB_LOST_CONNECT); /* map full: this one cannot be kept */
	return 0;
}

SEC("tp/syscalls/sys_exit_connect")
int tp_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct ctb_connect *c = bpf_map_lookup_elem(&pending, &tid);

	if (!c || c->kind == CTB_IDLE)
		return 0;
	if (c->kind == CTB_CONNECT) {
		c->ret = (int)ctx->ret;
		c->latency_ns = bpf_ktime_get_ns() - c->ts_ns;
		c->flags |= CTB_F_RET | CTB_F_LATENCY;
		emit_connect(c);
	}
	c->kind = CTB_IDLE;
	return 0;
}

/* Shared by the LSM and fentry hooks: the kernel's own copy of the address. */
static __always_inline void hook_connect(struct socket *sock, struct sockaddr *address, int addrlen)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 tid = task->pid;
	struct ctb_connect *c;
	bool direct = false;

	if (!wanted(task->tgid))
		return;
	c = bpf_map_lookup_elem(&pending, &tid);
	if (!c || c->kind != 0) {
		/* Not from connect(2) (io_uring, the kernel), or a second
		 * hook in one call: emit at once, without an outcome. */
		c = scratch_connect();
		if (!c)
			return;
		__builtin_memset(c, 0, CTB_CONNECT_SHORT);
		c->ts_ns = bpf_ktime_get_ns();
		c->sockfd = -1;
		direct = true;
	}
	fill_task(c, task);
	read_sockaddr(c, address, addrlen, false);
	c->type = sock->type;
	/* 6.12's verifier types sock->sk in an LSM hook as maybe NULL (seen in
	 * the tests/vm guest): it refuses the program without this check. */
	struct sock *sk = sock->sk;
	if (sk)
		c->proto = sk->sk_protocol;
	if (direct)
		emit_connect(c);
	else
		c->kind = CTB_CONNECT;
}

SEC("lsm/socket_connect")
int BPF_PROG(lsm_connect, struct socket *sock, struct sockaddr *address, int addrlen, int ret)
{
	hook_connect(sock, address, addrlen);
	return ret; /* observe, never deny: the earlier verdict stands */
}

SEC("fentry/security_socket_connect")
int BPF_PROG(fentry_connect, struct socket *sock, struct sockaddr *address, int addrlen)
{
	hook_connect(sock, address, addrlen);
	return 0;
}

SEC("tp/sched/sched_process_fork")
int tp_fork(struct trace_event_raw_sched_process_fork *ctx)
{
	__u32 parent = bpf_get_current_pid_tgid() >> 32;
	__u32 child = ctx->child_pid;
	__u8 one = 1;

	/* A thread's id joins too; it is harmless and leaves with the process. */
	if (filter_pids && bpf_map_lookup_elem(&traced, &parent))
		bpf_map_update_elem(&traced, &child, &one, BPF_ANY);
	return 0;
}

SEC("tp/sched/sched_process_exec")
int tp_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 uid_gid = bpf_get_current_uid_gid();
	unsigned int fname_off = ctx->__data_loc_filename & 0xFFFF;
	__u32 zero = 0;
	struct ctb_exec *e;

	if (!wanted(pid_tgid >> 32))
		return 0;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return 0;
	e->kind = CTB_EXEC;
	e->pid = pid_tgid >> 32;
	e->ts_ns = bpf_ktime_get_ns();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (__u32)uid_gid;
	e->gid = uid_gid >> 32;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	{
		unsigned long start = BPF_CORE_READ(task, mm, arg_start);
		unsigned long end = BPF_CORE_READ(task, mm, arg_end);
		unsigned long total = end > start ? end - start : 0;
		__u32 n = total < CTB_ARGS_MAX ? total : CTB_ARGS_MAX - 1;

		/* A mask the verifier can see bounds the read to the buffer. */
		asm volatile("%[n] &= 0x1ff" : [n] "+r"(n));
		if (bpf_probe_read_user(e->args, n, (void *)start))
			n = 0;
		/* CTB_ARGS_MAX says "cut short". */
		e->args_len = total < CTB_ARGS_MAX ? n : CTB_ARGS_MAX;
	}
	if (bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), (void *)ctx + fname_off) <
	    0)
		e->filename[0] = 0;
	{
		struct task_struct *t = bpf_get_current_task_btf();
		const char *name = t->cgroups->dfl_cgrp->kn->name;

		if (!name || bpf_probe_read_kernel_str(e->cgroup, sizeof(e->cgroup), name) < 0)
			e->cgroup[0] = 0;
	}
	if (bpf_ringbuf_output(&events, e, sizeof(*e), wakeup_flag()))
		count_lost(CTB_LOST_PROC);
	return 0;
}

SEC("tp/sched/sched_process_exit")
int tp_exit(void *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32, tid = (__u32)pid_tgid;
	struct task_struct *task = bpf_get_current_task_btf();
	struct ctb_connect *c;
	struct ctb_exit x = {};

	/* This thread's pending entry goes, whatever the filters say now; a
	 * connect it started but will never finish is still reported. */
	c = bpf_map_lookup_elem(&pending, &tid);
	if (c) {
		if (c->kind == CTB_CONNECT)
			emit_connect(c);
		bpf_map_delete_elem(&pending, &tid);
	}
	if (!wanted(tgid))
		return 0;
	/* do_exit has already counted this thread out of signal->live. */
	if (task->signal->live.counter != 0)
		return 0;
	if (filter_pids && tgid != probe_tgid)
		bpf_map_delete_elem(&traced, &tgid);
	x.kind = CTB_EXIT;
	x.pid = tgid;
	x.ts_ns = bpf_ktime_get_ns();
	x.cgroup_id = bpf_get_current_cgroup_id();
	x.ppid = task->real_parent->tgid;
	x.exit_code = task->exit_code;
	bpf_get_current_comm(x.comm, sizeof(x.comm));
	if (bpf_ringbuf_output(&events, &x, sizeof(x), wakeup_flag()))
		count_lost(CTB_LOST_PROC);
	return 0;
}
