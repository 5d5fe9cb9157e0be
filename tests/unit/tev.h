/* SPDX-License-Identifier: MIT */
/* tev.h: an event the tests build and compare flat (struct tev), the
 * ct_event view of it that the library takes, and the header of the
 * traces the tests and helpers write. */
#ifndef TEST_TEV_H
#define TEST_TEV_H

#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "format/ctrace.h"

/* The header of a generated trace. */
static const struct ct_header test_hdr = {
    .clock_id = 1,
    .wall_offset_ns = 1700000000000000000LL,
    .start_ts_ns = 1000,
    .hostname = "testhost",
    .kernel = "6.18.0-test",
    .arch = "x86_64",
    .recorder = "conntrail test",
    .backend = "generated",
    .cmdline = "test_format --flag",
    .filters = "",
};

/* An event flat, as the tests build and compare them: its own storage for
 * the process context and destination an event points at. */
struct tev {
	uint64_t ts_ns, cgroup_id, latency_ns;
	uint32_t pid, tid, ppid, uid, gid;
	int32_t sockfd, ret, result;
	uint32_t scope_id;
	uint16_t family, type, proto, dport, sport, flags;
	uint8_t path_len;
	uint8_t daddr[16], saddr[16];
	char comm[CT_COMM_LEN];
	char path[CT_UNIX_PATH_MAX];
	uint64_t result_ns, closed_ns, tx_bytes, rx_bytes;
	/* the view */
	struct ct_task t;
	struct ct_dest d;
	struct ct_event ev;
};

/* The ct_event view of x (valid while x lives). */
static inline const struct ct_event *tev_event(struct tev *x)
{
	memset(&x->t, 0, sizeof(x->t));
	memset(&x->d, 0, sizeof(x->d));
	x->t.cgroup_id = x->cgroup_id;
	x->t.pid = x->pid;
	x->t.ppid = x->ppid;
	x->t.uid = x->uid;
	x->t.gid = x->gid;
	memcpy(x->t.comm, x->comm, CT_COMM_LEN);
	x->d.scope_id = x->scope_id;
	x->d.family = x->family;
	x->d.type = x->type;
	x->d.proto = x->proto;
	x->d.dport = x->dport;
	x->d.path_len = x->path_len;
	x->d.path = x->path;
	memcpy(x->d.daddr, x->daddr, 16);
	x->ev = (struct ct_event){.ts_ns = x->ts_ns,
				  .task = &x->t,
				  .dest = &x->d,
				  .tid = x->tid,
				  .sockfd = x->sockfd,
				  .ret = x->ret,
				  .result = x->result,
				  .latency_ns = x->latency_ns,
				  .result_ns = x->result_ns,
				  .closed_ns = x->closed_ns,
				  .tx_bytes = x->tx_bytes,
				  .rx_bytes = x->rx_bytes,
				  .sport = x->sport,
				  .flags = x->flags};
	memcpy(x->ev.saddr, x->saddr, 16);
	return &x->ev;
}

/* A flat copy of ev, normalised as a writer stores it (padding of comm
 * and path zero, the outcome fields left out). */
static inline void tev_from(struct tev *x, const struct ct_event *ev)
{
	memset(x, 0, sizeof(*x));
	x->ts_ns = ev->ts_ns;
	x->cgroup_id = ev->task->cgroup_id;
	x->pid = ev->task->pid;
	x->ppid = ev->task->ppid;
	x->uid = ev->task->uid;
	x->gid = ev->task->gid;
	memcpy(x->comm, ev->task->comm, CT_COMM_LEN);
	x->scope_id = ev->dest->scope_id;
	x->family = ev->dest->family;
	x->type = ev->dest->type;
	x->proto = ev->dest->proto;
	x->dport = ev->dest->dport;
	x->path_len = ev->dest->path_len;
	if (ev->dest->path_len)
		memcpy(x->path, ev->dest->path, ev->dest->path_len);
	memcpy(x->daddr, ev->dest->daddr, 16);
	x->tid = ev->tid;
	x->sockfd = ev->sockfd;
	x->ret = ev->ret;
	x->latency_ns = ev->latency_ns;
	x->flags = ev->flags & CT_EV_STORED;
	if (x->flags & CT_EV_SADDR) {
		x->sport = ev->sport;
		memcpy(x->saddr, ev->saddr, 16);
	}
}

/* What a writer keeps of x: comm after its NUL, path past path_len, the
 * IPv4 address tails, saddr and sport without CT_EV_SADDR and the flags
 * it does not store are zero. */
static inline void tev_normalise(struct tev *x)
{
	size_t n = strnlen(x->comm, CT_COMM_LEN);
	memset(x->comm + n, 0, CT_COMM_LEN - n);
	memset(x->path + x->path_len, 0, CT_UNIX_PATH_MAX - x->path_len);
	if (x->family == AF_INET) {
		memset(x->daddr + 4, 0, 12);
		memset(x->saddr + 4, 0, 12);
	}
	x->flags &= CT_EV_STORED;
	if (!(x->flags & CT_EV_SADDR)) {
		memset(x->saddr, 0, 16);
		x->sport = 0;
	}
}

#endif
