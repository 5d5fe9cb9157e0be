/* SPDX-License-Identifier: MIT */
/*
 * conntrail_event.h: the records the BPF programs put into the ring buffer,
 * shared by bpf/conntrail.bpf.c and record/. Every field is fixed width and
 * every struct is padded by hand, so both compilers agree on the layout.
 *
 * Byte order (decided once, here): every integer is host byte order; the BPF
 * program converts ports with bpf_ntohs. Address bytes (daddr) stay network
 * byte order, exactly as in the sockaddr. Times are bpf_ktime_get_ns(), i.e.
 * CLOCK_MONOTONIC.
 */
#ifndef CONNTRAIL_BPF_EVENT_H
#define CONNTRAIL_BPF_EVENT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define CTB_COMM_LEN 16
#define CTB_PATH_MAX 108 /* sizeof(sun_path) */
#define CTB_EXE_MAX 256
#define CTB_ARGS_MAX 512
#define CTB_CGNAME_MAX 128

/* First field of every record: what follows. */
enum ctb_kind {
	CTB_CONNECT = 1,
	CTB_EXEC = 2,
	CTB_EXIT = 3,
	CTB_OUTCOME = 4,
	CTB_DNS = 5,
	CTB_FORK = 6, /* a new process (struct ctb_exit, exit_code 0) */
};

/* ctb_connect.flags: the same bits as CT_EV_* of format/ctrace.h. */
#define CTB_F_RET 0x0001
#define CTB_F_LATENCY 0x0002
#define CTB_F_SADDR 0x0004
#define CTB_F_ABSTRACT 0x0008
/* The handshake is followed: its outcome comes in oc_flags or as a CTB_OUTCOME. */
#define CTB_F_TRACKED 0x0010

/* ctb_connect.kind of a per-thread pending entry that holds nothing. */
#define CTB_IDLE 0xff

/*
 * One connect attempt. Records of families other than AF_UNIX are sent
 * without the path (CTB_CONNECT_SHORT bytes), AF_UNIX ones in full.
 */
struct ctb_connect {
	__u32 kind; /* CTB_CONNECT; in the pending map also 0 (waiting for the
		     * LSM/fentry hook) or CTB_IDLE */
	__u32 tid;
	__u64 ts_ns; /* CLOCK_MONOTONIC, when the attempt was seen */
	__u64 cgroup_id;
	__u64 latency_ns; /* syscall exit - attempt, with CTB_F_LATENCY */
	/* Kernel address of the socket's struct sock (0 when not found): the
	 * key of the BPF side's handshake tracking. User space ignores it. */
	__u64 sk;
	/* The handshake's outcome when it ended while connect(2) ran (oc_flags
	 * nonzero): it rides with the attempt, saving a CTB_OUTCOME record. */
	__u64 result_ns; /* attempt to handshake end */
	__s32 result;	 /* 0 or -errno, with CT_OC_RESULT */
	__u32 oc_flags;	 /* CT_OC_RESULT or CT_OC_ABANDONED; 0: none here */
	__u32 pid;	 /* tgid */
	__u32 ppid;	 /* real_parent->tgid */
	__u32 uid;
	__u32 gid;
	__s32 sockfd; /* connect(2)'s fd, -1 when not from connect(2) */
	__s32 ret;    /* 0 or -errno, with CTB_F_RET */
	__u32 scope_id;
	__u16 family; /* sa_family of the address asked for */
	__u16 type;   /* sock->type */
	__u16 proto;  /* sk->sk_protocol */
	__u16 dport;  /* host byte order */
	__u16 flags;  /* CTB_F_* */
	__u16 sport;  /* host byte order, with CTB_F_SADDR */
	/* Bytes of sun_path given by addrlen (<= 108); user space trims a
	 * pathname at its first NUL, abstract names keep their leading NUL. */
	__u8 path_len;
	__u8 _pad0[3];
	char comm[CTB_COMM_LEN];
	__u8 daddr[16]; /* network order; IPv4 in daddr[0..3] */
	__u8 saddr[16]; /* network order, with CTB_F_SADDR; IPv4 in saddr[0..3] */
	/* The sockaddr is copied here in one read: sa_family lands in
	 * raw_family and the rest over path, which for AF_UNIX is sun_path
	 * in place. For other families path is scratch and not sent. */
	__u16 raw_family;
	char path[CTB_PATH_MAX];
	/* Room for any read of up to 127 bytes at raw_family, so that a
	 * mask is bound enough for the verifier; and the size a multiple of 8. */
	__u8 _pad1[22];
};

#define CTB_CONNECT_SHORT 150 /* offsetof(struct ctb_connect, path) */

/* A process called execve successfully. */
struct ctb_exec {
	__u32 kind; /* CTB_EXEC */
	__u32 pid;
	__u64 ts_ns;
	__u64 cgroup_id;
	__u32 ppid;
	__u32 uid;
	__u32 gid;
	__u32 args_len; /* bytes in args; CTB_ARGS_MAX: cut at CTB_ARGS_MAX - 1 */
	char comm[CTB_COMM_LEN];
	char filename[CTB_EXE_MAX]; /* as passed to execve, NUL-terminated */
	/* argv as NUL-separated strings, read at exec time: a short-lived
	 * process is gone before user space could read /proc/PID/cmdline. */
	char args[CTB_ARGS_MAX];
	/* Last component of the task's cgroup v2 path at exec time (e.g.
	 * "docker-<64 hex>.scope"): the container id when /proc is too late. */
	char cgroup[CTB_CGNAME_MAX];
};

/* The last thread of a process exited. */
struct ctb_exit {
	__u32 kind; /* CTB_EXIT, or CTB_FORK */
	__u32 pid;
	__u64 ts_ns;
	__u64 cgroup_id;
	__u32 ppid;
	__s32 exit_code; /* wait(2) status: exit status << 8 | signal */
	char comm[CTB_COMM_LEN];
};

/*
 * How a followed TCP handshake ended, or how its connection closed, sent
 * after the attempt's CTB_CONNECT (or before it, when it happened inside
 * connect(2) on another CPU). ts_ns and tid name the attempt.
 */
struct ctb_outcome {
	__u32 kind;	 /* CTB_OUTCOME */
	__u32 tid;	 /* the attempt's */
	__u64 ts_ns;	 /* the attempt's */
	__u32 flags;	 /* CT_OC_* of format/ctrace.h: RESULT 1, ABANDONED 2, CLOSED 4 */
	__s32 result;	 /* 0 or -errno (the socket's error), with RESULT */
	__u64 result_ns; /* attempt to handshake end, with RESULT or ABANDONED */
	__u64 closed_ns; /* attempt to close, with CLOSED */
	__u64 tx_bytes;	 /* tcp_sock.bytes_acked at the close */
	__u64 rx_bytes;	 /* tcp_sock.bytes_received at the close */
};

/*
 * A packet from port 53 (UDP, or TCP) that a socket of this host received:
 * the first len bytes of its payload, for user space to read the answers
 * of. The kernel side parses nothing beyond the IP and transport headers.
 */
#define CTB_DNS_MAX 1024 /* payload bytes copied, at most */
_Static_assert((CTB_DNS_MAX & (CTB_DNS_MAX - 1)) == 0, "dns_ingress masks lengths: a power of two");
struct ctb_dns {
	__u32 kind; /* CTB_DNS */
	__u32 len;  /* bytes in data: min(payload, CTB_DNS_MAX) */
	__u64 ts_ns;
	__u64 cgroup_id; /* of the receiving socket, 0 unknown */
	__u32 wire_len;	 /* payload bytes in the packet */
	__u16 proto;	 /* IPPROTO_UDP (17) or IPPROTO_TCP (6): data starts with a
			  * 2-byte length when the segment starts a message */
	__u16 _pad;
	__u8 data[CTB_DNS_MAX];
};

/* Slots of the per-CPU lost counter. */
enum ctb_lost_slot {
	CTB_LOST_CONNECT = 0, /* connect records the ring buffer could not take */
	CTB_LOST_PROC = 1,    /* exec/exit records dropped */
	CTB_LOST_OUTCOME = 2, /* outcomes not sent (ring full) or not followed (map full) */
	CTB_LOST_DNS = 3,     /* DNS packets the ring buffer could not take */
	CTB_LOST_SLOTS = 4,
};

#endif
