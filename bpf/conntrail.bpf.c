// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * conntrail.bpf.c: sees every connect attempt and streams it, with process
 * exec/exit records, into one ring buffer.
 *
 * Three backends share this object; user space autoloads only the programs of
 * the one it picked:
 *   lsm        lsm/socket_connect + fexit/__sys_connect
 *   fentry     fentry/security_socket_connect + fexit/__sys_connect
 *   tracepoint sys_enter_connect/sys_exit_connect alone (reads user memory)
 * The hook (or sys_enter_connect) fills a per-thread pending entry; the exit
 * adds the return value and latency and emits it. A hook outside connect(2)
 * (io_uring, kernel callers) emits at once with sockfd -1 and no return
 * value. lsm and fentry attach no syscall tracepoint: while one is attached,
 * every syscall of every task takes the slow path.
 *
 * Every backend also follows TCP handshakes on sock:inet_sock_set_state
 * (tp_btf): the socket of an attempt is remembered in `tracked`, and its
 * SYN_SENT -> ESTABLISHED or -> CLOSE (with the socket's error) becomes a
 * CTB_OUTCOME record, as does the close of an established connection with
 * its byte counts.
 *
 * Process lifecycle programs are in procs.bpf.h, DNS capture in dns.bpf.h,
 * both included at the end: one object, one set of maps.
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
#define IPPROTO_TCP 6
#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_FIN_WAIT1 4
#define TCP_FIN_WAIT2 5
#define TCP_TIME_WAIT 6
#define TCP_CLOSE 7
#define TCP_LAST_ACK 9
#define TCP_CLOSING 11
#define EINTR 4
#define EINPROGRESS 115
#define ERESTARTSYS 512
#define ERESTART_RESTARTBLOCK 516
/* CT_OC_* of format/ctrace.h */
#define OC_RESULT 1
#define OC_ABANDONED 2
#define OC_CLOSED 4
/* ctb_connect.flags bits that never leave the BPF side. */
#define PF_TRACKING 0x4000   /* this attempt owns its socket's `tracked` entry */
#define PF_UNFOLLOWED 0x8000 /* a TCP attempt `tracked` had no room for */

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Settings, written by the loader between open and load. */
const volatile bool filter_pids = false;     /* only tgids in `traced` */
const volatile __u64 filter_cgroup = 0;	     /* only this cgroup v2 id; 0 = any */
const volatile __u32 self_tgid = 0;	     /* the recorder, never traced */
const volatile __u64 wakeup_bytes = 1 << 20; /* wake the reader past this backlog */
const volatile long nr_connect = -1;	     /* connect's syscall number (lsm, fentry) */
const volatile __u64 filter_dns_cgroup = 0;  /* DNS answers only to this cgroup; 0 = any */

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

/* One entry per thread that connects: the attempt from sys_enter_connect
 * (or the lsm/fentry hook) to sys_exit_connect, else CTB_IDLE. Task storage
 * rather than a hash by tid: found through the task without hashing (about
 * half the cost), never full, and freed with the thread. Entries are reused
 * in place. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ctb_connect);
} pending SEC(".maps");

/* Records the ring buffer could not take, per CPU, by enum ctb_lost_slot. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CTB_LOST_SLOTS + 1); /* + a record counter */
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/* A followed TCP socket. The handshake's outcome is sent at once, unless
 * the attempt's connect(2) is still running (IN_CALL): whether it is wanted
 * depends on what connect returns (a blocking connect that failed says it
 * all in its ret), so the exit sends it inside the attempt's record, or
 * drops it. HAVE and IN_CALL change by atomic operations: the handshake
 * may end on another CPU while the connect returns. */
#define TRACK_IN_CALL 1
#define TRACK_HAVE 2
/* T_OPEN: followed, handshake not over (the socket is in SYN_SENT, or
 * connect(2) has not yet got it there). T_FAILED: the handshake's error was
 * reported (the program may read and clear it before the socket closes). */
enum track_state { T_OPEN = 0, T_EST = 2, T_DONE = 3, T_FAILED = 4 };
struct ct_track {
	__u64 ts_ns; /* the attempt's */
	__u32 tid;
	__u32 sync;  /* TRACK_* */
	__u32 state; /* enum track_state */
	__s32 result;
	__u64 result_ns;
	__u32 oc_flags;
	__u32 _pad;
};

/* Sockets whose handshake or connection is followed, by struct sock
 * address. An entry goes at the socket's TCP_CLOSE. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 262144);
	__type(key, __u64);
	__type(value, struct ct_track);
} tracked SEC(".maps");

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

/* A sockaddr as read, laid out like ctb_connect from raw_family on. */
struct sockaddr_raw {
	__u16 family;
	char data[CTB_PATH_MAX];
	__u8 _pad[18]; /* room for any masked read, as in ctb_connect */
};

/*
 * Where the user's sockaddr is copied to. A user copy checks its
 * destination (hardened usercopy), and that check is cheapest for per-CPU
 * memory: 16 bytes cost about 90 ns there against 150 ns into a map value
 * or the BPF stack (bpf_stats, 6.18).
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sockaddr_raw);
} user_sockaddr SEC(".maps");

/*
 * Where: the sockaddr at addr (user or kernel memory) in one read, then
 * decoded. A kernel sockaddr is read straight into c at raw_family, so
 * that sun_path lands in path; a user one goes through user_sockaddr.
 */
static __always_inline void read_sockaddr(struct ctb_connect *c, const void *addr, int addrlen,
					  bool user)
{
	__u32 n = addrlen <= 0 ? 0 : addrlen > 2 + CTB_PATH_MAX ? 2 + CTB_PATH_MAX : addrlen;
	struct sockaddr_raw *sa = (struct sockaddr_raw *)&c->raw_family;
	__u32 zero = 0;

	asm volatile("%[n] &= 0x7f" : [n] "+r"(n)); /* a bound the verifier sees */
	if (n < 2)
		return;
	if (user) {
		sa = bpf_map_lookup_elem(&user_sockaddr, &zero);
		if (!sa || bpf_probe_read_user(sa, n, addr))
			return;
	} else if (bpf_probe_read_kernel(sa, n, addr)) {
		return;
	}
	const __u8 *raw = (const __u8 *)sa->data; /* the bytes after sa_family */

	c->family = sa->family;
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
		if (user) /* bytes past n are not sent: user space uses path_len */
			__builtin_memcpy(c->path, sa->data, CTB_PATH_MAX);
		break;
	}
}

/* The first bytes of struct socket: state, type, flags, file, sk (5.3+). */
#define SOCK_WINDOW 48

/* Type, protocol and struct sock of the socket behind fd of the current
 * task; its TCP state in *state. */
static __always_inline void socket_of_fd(struct ctb_connect *c, struct task_struct *task, int fd,
					 int *state)
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
	c->sk = (__u64)sk;
	*state = BPF_CORE_READ(sk, __sk_common.skc_state);
}

/*
 * 6.2+: makes a kernel address an untrusted typed pointer, so the chain
 * below is plain loads (a fault reads 0) instead of one bpf_probe_read_kernel
 * call per step, about 30 ns each. Weak: older kernels lack it, and there
 * user space loads tp_enter_connect, which does not call it.
 */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

/* socket_of_fd by plain loads. */
static __always_inline void socket_of_fd_cast(struct ctb_connect *c, struct task_struct *task,
					      int fd, int *state)
{
	struct fdtable *fdt = task->files->fdt;
	struct list_head *slot; /* any struct whose first field is a pointer */
	struct file *file;
	struct socket *sock;
	struct sock *sk;

	if (fd < 0 || (unsigned int)fd >= fdt->max_fds)
		return;
	slot =
	    bpf_rdonly_cast((void *)((unsigned long)fdt->fd + (unsigned long)fd * sizeof(void *)),
			    bpf_core_type_id_kernel(struct list_head));
	file = bpf_rdonly_cast(slot->next, bpf_core_type_id_kernel(struct file));
	if (!file)
		return;
	sock = bpf_rdonly_cast(file->private_data, bpf_core_type_id_kernel(struct socket));
	/* A socket's file points at it and it points back at the file. */
	if (!sock || (unsigned long)sock->file != (unsigned long)file)
		return;
	c->type = sock->type;
	sk = sock->sk;
	if (sk) {
		c->proto = sk->sk_protocol;
		c->sk = (__u64)sk;
		*state = sk->__sk_common.skc_state;
	}
}

static __always_inline struct ctb_connect *scratch_connect(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&scratch, &zero);
}

static __always_inline bool is_tcp(const struct ctb_connect *c)
{
	return c->proto == IPPROTO_TCP && (c->family == AF_INET || c->family == AF_INET6);
}

/* Follow the handshake this attempt starts. Only a socket in TCP_CLOSE
 * starts one: a connect on a connecting or connected socket fails at once
 * (EALREADY, EISCONN) and must not take over its entry. in_call: the exit
 * of connect(2) will see this attempt. */
static __always_inline void track_begin(struct ctb_connect *c, int state, bool in_call)
{
	struct ct_track t = {.ts_ns = c->ts_ns, .tid = c->tid, .sync = in_call ? TRACK_IN_CALL : 0};

	if (!c->sk || !is_tcp(c) || state != TCP_CLOSE)
		return;
	/* An entry left by a socket that went without TCP_CLOSE is stale. */
	if (bpf_map_update_elem(&tracked, &c->sk, &t, BPF_ANY)) {
		c->flags |= PF_UNFOLLOWED;
		count_lost(CTB_LOST_OUTCOME);
		return;
	}
	c->flags |= PF_TRACKING;
}

static __always_inline void emit_outcome(struct ctb_outcome *o)
{
	o->kind = CTB_OUTCOME;
	if (bpf_ringbuf_output(&events, o, sizeof(*o), wakeup_flag()))
		count_lost(CTB_LOST_OUTCOME);
}

static __always_inline void send_handshake(const struct ct_track *t)
{
	struct ctb_outcome o = {.tid = t->tid,
				.ts_ns = t->ts_ns,
				.flags = t->oc_flags,
				.result = t->result,
				.result_ns = t->result_ns};
	emit_outcome(&o);
}

/* Where connect(2) left the socket's local end: the address and port the
 * kernel chose (TCP: at connect; UDP: once connected). */
static __always_inline void local_end(struct ctb_connect *c)
{
	struct sock *sk = (struct sock *)c->sk;
	__u16 port;

	if (!sk || (c->family != AF_INET && c->family != AF_INET6))
		return;
	/* inet_sport, not skc_num: a refused connect releases the port
	 * (skc_num 0) but getsockname still names it, as does the SYN. */
	port = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	if (!port)
		return;
	if (c->family == AF_INET)
		bpf_probe_read_kernel(c->saddr, 4, &sk->__sk_common.skc_rcv_saddr);
	else
		bpf_probe_read_kernel(c->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
	c->sport = port;
	c->flags |= CTB_F_SADDR;
}

/* Whether the attempt got its socket to SYN_SENT, so that an outcome will
 * come. Any ret that leaves the attempt open says so (connect(2) sets
 * SYN_SENT before it sends, waits or defers a fast open); without a ret,
 * the socket's state says. */
static __always_inline bool handshake_begun(const struct ctb_connect *c, const struct ct_track *t,
					    bool have_ret)
{
	struct sock *sk = (struct sock *)c->sk;

	if (have_ret || t->state != T_OPEN)
		return true;
	return BPF_CORE_READ(sk, __sk_common.skc_state) == TCP_SYN_SENT;
}

/*
 * An attempt is over for connect(2) (have_ret), or will never see its exit
 * (the thread exited, or began another attempt): emit it, and decide
 * whether its handshake is followed. It is when connect did not settle it:
 * 0 (established), EINPROGRESS, or a signal while waiting. Otherwise
 * connect's ret is the final outcome and the entry goes.
 */
static __always_inline void finish_attempt(struct ctb_connect *c, bool have_ret)
{
	bool open = !have_ret || c->ret == 0 || c->ret == -EINPROGRESS || c->ret == -EINTR ||
		    (c->ret <= -ERESTARTSYS && c->ret >= -ERESTART_RESTARTBLOCK);
	struct ct_track *t = NULL;
	__u32 was = 0;

	if (have_ret)
		local_end(c);
	if (is_tcp(c) && open && (c->flags & PF_UNFOLLOWED))
		c->flags |= CTB_F_TRACKED; /* followed by nobody: reads "unknown" */
	if (c->flags & PF_TRACKING) {
		/* oc_flags: the handshake ended in this task, whose handler
		 * wrote it here and left the entry to the state changes
		 * (own_call): no lookup. */
		if (c->oc_flags)
			c->flags |= open ? CTB_F_TRACKED : 0;
		else
			t = bpf_map_lookup_elem(&tracked, &c->sk);
		if (t && (t->ts_ns != c->ts_ns || t->tid != c->tid))
			t = NULL; /* another attempt took the socket over */
	}
	if (t) {
		if (open && handshake_begun(c, t, have_ret))
			c->flags |= CTB_F_TRACKED;
		was = __sync_fetch_and_and(&t->sync, ~TRACK_IN_CALL);
	}
	c->flags &= ~(PF_TRACKING | PF_UNFOLLOWED);
	if (!(c->flags & CTB_F_TRACKED))
		c->oc_flags = 0; /* connect's ret says it all */
	/* A handshake over before the exit rides with the attempt: one ring
	 * buffer record instead of two (HAVE was set after its fields). */
	if (t && (c->flags & CTB_F_TRACKED) && (was & TRACK_HAVE)) {
		c->oc_flags = t->oc_flags;
		c->result = t->result;
		c->result_ns = t->result_ns;
	}
	emit_connect(c);
	if (!t)
		return;
	if (!(c->flags & CTB_F_TRACKED) || t->state == T_DONE)
		bpf_map_delete_elem(&tracked, &c->sk);
}

/* What a tracepoint program returns: perf's own events on the same
 * tracepoint record it only if the attached programs return nonzero, so 0
 * would hide every connect, exec, fork and exit from perf users for as long
 * as conntrail records. */
#define TP_PASS 1

/* The tracepoint backend: the whole attempt is seen at sys_enter. */
static __always_inline int enter_connect(struct trace_event_raw_sys_enter *ctx, bool cast)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct ctb_connect *c;

	if (!wanted(task->tgid))
		return TP_PASS;
	c = bpf_task_storage_get(&pending, task, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!c) {
		count_lost(CTB_LOST_CONNECT); /* no memory for the entry */
		return TP_PASS;
	}
	/* A previous attempt of this thread whose exit we never saw. */
	if (c->kind == CTB_CONNECT)
		finish_attempt(c, false);
	__builtin_memset(c, 0, CTB_CONNECT_SHORT);
	c->ts_ns = bpf_ktime_get_ns();
	c->sockfd = (int)ctx->args[0];
	fill_task(c, task);
	read_sockaddr(c, (const void *)ctx->args[1], (int)ctx->args[2], true);
	int state = -1;
	if (cast)
		socket_of_fd_cast(c, task, c->sockfd, &state);
	else
		socket_of_fd(c, task, c->sockfd, &state);
	track_begin(c, state, true);
	c->kind = CTB_CONNECT;
	return TP_PASS;
}

/* Tracepoint backend only; user space autoloads one of the two: _cast
 * where the kernel has bpf_rdonly_cast, the other where it does not. */
SEC("tp/syscalls/sys_enter_connect")
int tp_enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	return enter_connect(ctx, false);
}

SEC("tp/syscalls/sys_enter_connect")
int tp_enter_connect_cast(struct trace_event_raw_sys_enter *ctx)
{
	return enter_connect(ctx, true);
}

SEC("tp/syscalls/sys_exit_connect")
int tp_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct ctb_connect *c = bpf_task_storage_get(&pending, task, NULL, 0);

	if (!c || c->kind == CTB_IDLE)
		return TP_PASS;
	if (c->kind == CTB_CONNECT) {
		c->ret = (int)ctx->ret;
		c->latency_ns = bpf_ktime_get_ns() - c->ts_ns;
		c->flags |= CTB_F_RET | CTB_F_LATENCY;
		finish_attempt(c, true);
	}
	c->kind = CTB_IDLE;
	return TP_PASS;
}

/* The syscall number a task entered the kernel with, from its user regs. */
#if defined(__TARGET_ARCH_x86)
#define SYSCALL_NR(regs) ((regs)->orig_ax)
#elif defined(__TARGET_ARCH_arm64)
#define SYSCALL_NR(regs) ((regs)->syscallno)
#else
#error "conntrail.bpf.c: no syscall number register known for this architecture"
#endif

/*
 * Shared by the LSM and fentry hooks: the kernel's own copy of the address.
 * Inside connect(2) the hook opens the thread's pending entry itself, with
 * the descriptor from the syscall's registers, and fexit/__sys_connect adds
 * the return value: no syscall tracepoint, whose mere presence slows every
 * syscall of every task (getppid +53 ns on 6.18).
 */
static __always_inline void hook_connect(struct socket *sock, struct sockaddr *address, int addrlen)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	struct ctb_connect *c = NULL;
	bool direct = false;

	if (!wanted(task->tgid))
		return;
	if (regs && SYSCALL_NR(regs) == nr_connect) {
		c = bpf_task_storage_get(&pending, task, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
		/* A second hook in one call keeps the first one's entry. */
		if (c && c->kind == CTB_CONNECT)
			c = NULL;
		if (c) {
			__builtin_memset(c, 0, CTB_CONNECT_SHORT);
			c->sockfd = (int)PT_REGS_PARM1_SYSCALL(regs);
		}
	}
	if (!c) {
		/* Not from connect(2) (io_uring, the kernel), or a second
		 * hook in one call: emit at once, without an outcome. */
		c = scratch_connect();
		if (!c)
			return;
		__builtin_memset(c, 0, CTB_CONNECT_SHORT);
		c->sockfd = -1;
		direct = true;
	}
	c->ts_ns = bpf_ktime_get_ns();
	fill_task(c, task);
	read_sockaddr(c, address, addrlen, false);
	c->type = sock->type;
	/* 6.12's verifier types sock->sk in an LSM hook as maybe NULL (seen in
	 * the tests/vm guest): it refuses the program without this check. */
	struct sock *sk = sock->sk;
	int state = -1;
	if (sk) {
		c->proto = sk->sk_protocol;
		c->sk = (__u64)sk;
		state = sk->__sk_common.skc_state;
	}
	track_begin(c, state, !direct);
	if (direct) {
		/* No exit will tell connect's ret: a followed handshake is
		 * the only outcome this attempt gets. */
		if (c->flags & (PF_TRACKING | PF_UNFOLLOWED))
			c->flags |= CTB_F_TRACKED;
		c->flags &= ~(PF_TRACKING | PF_UNFOLLOWED);
		emit_connect(c);
	} else {
		c->kind = CTB_CONNECT;
	}
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

/* lsm and fentry: connect(2)'s return value, from a hook that only
 * connects pay for. */
SEC("fexit/__sys_connect")
int BPF_PROG(fexit_connect, int fd, struct sockaddr *uservaddr, int addrlen, int ret)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct ctb_connect *c = bpf_task_storage_get(&pending, task, NULL, 0);

	if (!c || c->kind != CTB_CONNECT)
		return 0;
	c->ret = ret;
	c->latency_ns = bpf_ktime_get_ns() - c->ts_ns;
	c->flags |= CTB_F_RET | CTB_F_LATENCY;
	finish_attempt(c, true);
	c->kind = CTB_IDLE;
	return 0;
}

/* The attempt's pending entry, when this runs inside the attempt's own
 * connect(2) in its own task: a loopback handshake, or any packet the
 * socket backlogged while connect held it, ends there. */
static __always_inline struct ctb_connect *own_call(const struct ct_track *t)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct ctb_connect *c;

	if ((__u32)task->pid != t->tid)
		return NULL;
	c = bpf_task_storage_get(&pending, task, NULL, 0);
	if (!c || c->kind != CTB_CONNECT || c->ts_ns != t->ts_ns)
		return NULL;
	return c;
}

/* The handshake's end, kept for the exit while connect(2) still runs. */
static __always_inline void handshake_end(struct ct_track *t, __u32 oc_flags, int result, __u64 now)
{
	struct ctb_connect *c = own_call(t);

	if (c) {
		/* Written where the exit reads it, which saves the exit its
		 * map lookup: the exit comes later in this same task. So it
		 * will not clear IN_CALL; done here, the close deletes. */
		c->oc_flags = oc_flags;
		c->result = result;
		c->result_ns = now - t->ts_ns;
		__sync_fetch_and_and(&t->sync, ~TRACK_IN_CALL);
		return;
	}
	t->oc_flags = oc_flags;
	t->result = result;
	t->result_ns = now - t->ts_ns;
	if (__sync_fetch_and_or(&t->sync, TRACK_HAVE) & TRACK_IN_CALL)
		return; /* finish_attempt sends it with the attempt, or drops it */
	send_handshake(t);
}

/* Our FIN went out when the socket closes from one of these states (an
 * abort closes from ESTABLISHED or CLOSE_WAIT, without one). */
#define FIN_SENT_STATES                                                                            \
	((1u << TCP_FIN_WAIT1) | (1u << TCP_FIN_WAIT2) | (1u << TCP_CLOSING) |                     \
	 (1u << TCP_TIME_WAIT) | (1u << TCP_LAST_ACK))

/*
 * The payload bytes of a connection closing from oldstate. The kernel's
 * counters count sequence numbers: bytes_acked includes our SYN and, once
 * acked, our FIN; bytes_received includes the peer's FIN (SOCK_DONE says
 * one came). bpf_skc_to_tcp_sock gives a typed pointer, so the counters
 * are plain loads: one helper call instead of a probe read per field.
 */
static __always_inline void payload_bytes(const struct sock *sk, int oldstate,
					  struct ctb_outcome *o)
{
	struct tcp_sock *tp = bpf_skc_to_tcp_sock((void *)sk);
	bool fin_out = oldstate >= 0 && oldstate < 32 && ((1u << oldstate) & FIN_SENT_STATES);
	__u64 acked, rcvd;

	if (!tp)
		return;
	acked = tp->bytes_acked;
	rcvd = tp->bytes_received;
	if (acked)
		acked--; /* the SYN */
	if (acked && fin_out && tp->snd_una == tp->write_seq)
		acked--; /* our FIN, acked */
	if (rcvd &&
	    (sk->__sk_common.skc_flags & (1ul << bpf_core_enum_value(enum sock_flags, SOCK_DONE))))
		rcvd--; /* the peer's FIN */
	o->tx_bytes = acked;
	o->rx_bytes = rcvd;
}

/*
 * Every backend: TCP state changes of followed sockets. Of the ten or so
 * changes a connection makes at its two ends, two concern a followed one:
 * SYN_SENT -> ESTABLISHED and the change to CLOSE, whose old state tells
 * whether the handshake failed and whether our FIN went out. The others
 * return before the map lookup: this program runs for every TCP socket.
 */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tp_state, const struct sock *sk, int oldstate, int newstate)
{
	__u64 key = (__u64)sk;
	struct ct_track *t;
	__u64 now;

	if (newstate == TCP_ESTABLISHED) {
		if (oldstate != TCP_SYN_SENT)
			return 0;
	} else if (newstate != TCP_CLOSE || oldstate == TCP_CLOSE) {
		return 0;
	}
	t = bpf_map_lookup_elem(&tracked, &key);
	if (!t)
		return 0;
	now = bpf_ktime_get_ns();
	if (newstate == TCP_ESTABLISHED) {
		if (t->state == T_OPEN) {
			t->state = T_EST;
			handshake_end(t, OC_RESULT, 0, now);
		}
		return 0;
	}
	/* TCP_CLOSE */
	if (t->state == T_EST) {
		struct ctb_outcome o = {.tid = t->tid,
					.ts_ns = t->ts_ns,
					.flags = OC_CLOSED,
					.closed_ns = now - t->ts_ns};
		payload_bytes(sk, oldstate, &o);
		emit_outcome(&o);
	} else if (t->state == T_OPEN && oldstate == TCP_SYN_SENT) {
		/* Refused, timed out: the error is set before the state
		 * changes. None: its program closed it (abandoned). */
		int err = sk->sk_err;
		handshake_end(t, err ? OC_RESULT : OC_ABANDONED, -err, now);
	} else if (t->state == T_DONE) {
		return 0;
	}
	t->state = T_DONE;
	if (!(__sync_fetch_and_or(&t->sync, 0) & TRACK_IN_CALL))
		bpf_map_delete_elem(&tracked, &key);
	return 0;
}

/* An error reported on a connecting socket ends its handshake as the
 * program sees it (poll, then SO_ERROR), even when the socket stays in
 * SYN_SENT: an ICMP unreachable that arrives while connect(2) holds the
 * socket is reported without a state change, and reading SO_ERROR clears
 * the error before the socket closes. */
SEC("tp_btf/inet_sk_error_report")
int BPF_PROG(tp_error, const struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct ct_track *t;
	int err;

	/* The socket's own state first: a plain load, not a map lookup. */
	if (sk->__sk_common.skc_state != TCP_SYN_SENT)
		return 0;
	t = bpf_map_lookup_elem(&tracked, &key);
	if (!t || t->state != T_OPEN)
		return 0;
	/* An ICMP error that came while connect(2) held the socket is
	 * reported from sk_err_soft, which SO_ERROR also reads. */
	err = sk->sk_err ?: sk->sk_err_soft;
	if (!err)
		return 0;
	t->state = T_FAILED;
	handshake_end(t, OC_RESULT, -err, bpf_ktime_get_ns());
	return 0;
}

/* The other programs of this object, by concept. */
#include "procs.bpf.h"
#include "dns.bpf.h"
