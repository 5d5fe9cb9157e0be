/* SPDX-License-Identifier: MIT */
/* Shared helpers of the format/ unit tests: memory I/O (tests/helpers/memio.h),
 * event makers, assertion macros. Header-only so each test stays one program. */
#ifndef TEST_FORMAT_COMMON_H
#define TEST_FORMAT_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "format/ctrace.h"
#include "tests/helpers/memio.h"
#include "tests/unit/check.h"
#include "tests/unit/tev.h"

static uint64_t rng_state = 88172645463325252ULL;
static inline uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Event i of a varied sequence: every family, abstract and 108-byte paths,
 * every optional field. Deterministic in i. */
static inline void make_event(struct tev *ev, uint64_t i)
{
	memset(ev, 0, sizeof(*ev));
	ev->ts_ns = 1000000 + i * 1500 + (i % 7) * 3;
	ev->pid = 100 + (uint32_t)(i % 13);
	ev->tid = ev->pid + (uint32_t)(i % 3);
	ev->ppid = 1 + (uint32_t)(i % 5);
	ev->uid = (uint32_t)(i % 4) * 1000;
	ev->gid = ev->uid;
	ev->cgroup_id = (i % 6) ? 4242 + i % 6 : 0;
	ev->sockfd = (i % 9) ? (int32_t)(3 + i % 40) : -1;
	snprintf(ev->comm, CT_COMM_LEN, "proc%llu", (unsigned long long)(i % 13));
	if (i % 17 == 0)
		memcpy(ev->comm, "sixteen-chars-xx", 16); /* no NUL */
	ev->flags = 0;
	if (i % 2) {
		ev->flags |= CT_EV_RET;
		ev->ret = (i % 4 == 1) ? 0 : -111;
	}
	if (i % 5 == 0) {
		ev->flags |= CT_EV_LATENCY;
		ev->latency_ns = 1000 + i * 7;
	}
	switch (i % 5) {
	case 0:
	case 1:
		ev->family = AF_INET;
		ev->type = SOCK_STREAM;
		ev->proto = IPPROTO_TCP;
		ev->daddr[0] = 10;
		ev->daddr[3] = (uint8_t)(i % 250);
		ev->dport = (uint16_t)(i % 3 ? 443 : 65535);
		if (i % 3 == 0) {
			ev->flags |= CT_EV_SADDR;
			ev->saddr[0] = 127;
			ev->saddr[3] = 1;
			ev->sport = 40000 + (uint16_t)(i % 1000);
		}
		break;
	case 2:
		ev->family = AF_INET6;
		ev->type = SOCK_DGRAM;
		ev->proto = IPPROTO_UDP;
		ev->daddr[0] = 0xfe;
		ev->daddr[1] = 0x80;
		ev->daddr[15] = (uint8_t)i;
		ev->scope_id = 2;
		ev->dport = 53;
		break;
	case 3:
		ev->family = AF_UNIX;
		ev->type = SOCK_STREAM;
		if (i % 2) {
			ev->path_len = CT_UNIX_PATH_MAX;
			for (int k = 0; k < CT_UNIX_PATH_MAX; k++)
				ev->path[k] = (char)('a' + (k + i) % 26);
			ev->path[0] = '/';
		} else {
			ev->flags |= CT_EV_ABSTRACT;
			ev->path[0] = 0;
			memcpy(ev->path + 1, "abstract\x01name", 13);
			ev->path_len = 14;
		}
		break;
	case 4:
		ev->family = 38; /* AF_ALG: "other" */
		ev->type = 5;
		ev->proto = 0;
		memset(ev->daddr, 0xab, 16);
		break;
	}
}

/* The stored fields equal (a writer zeroes saddr's IPv4 tail). */
static inline int event_eq(const struct tev *a, const struct tev *b)
{
	return a->ts_ns == b->ts_ns && a->cgroup_id == b->cgroup_id &&
	       a->latency_ns == b->latency_ns && a->pid == b->pid && a->tid == b->tid &&
	       a->ppid == b->ppid && a->uid == b->uid && a->gid == b->gid &&
	       a->sockfd == b->sockfd && a->ret == b->ret && a->scope_id == b->scope_id &&
	       a->family == b->family && a->type == b->type && a->proto == b->proto &&
	       a->dport == b->dport && a->sport == b->sport &&
	       (a->flags & CT_EV_STORED) == (b->flags & CT_EV_STORED) &&
	       a->path_len == b->path_len && !memcmp(a->daddr, b->daddr, 16) &&
	       !memcmp(a->saddr, b->saddr, a->family == AF_INET ? 4 : 16) &&
	       !memcmp(a->comm, b->comm, CT_COMM_LEN) && !memcmp(a->path, b->path, a->path_len);
}

/* A read event equal to a made one. */
static inline int read_eq(const struct ct_event *got, const struct tev *want)
{
	struct tev g;
	tev_from(&g, got);
	return event_eq(&g, want);
}

static inline void make_proc(struct ct_proc *p, uint64_t i, char *exe, char *cmd)
{
	memset(p, 0, sizeof(*p));
	p->ts_ns = 1000000 + i * 1500;
	p->task.pid = 100 + (uint32_t)i;
	p->task.ppid = 1;
	p->task.uid = 1000;
	p->task.gid = 1000;
	p->kind = (uint16_t)(1 + i % 4);
	p->exit_code = p->kind == CT_PROC_EXIT ? -9 : 0;
	p->task.cgroup_id = 77;
	snprintf(p->task.comm, CT_COMM_LEN, "proc%llu", (unsigned long long)(i % 13));
	sprintf(exe, "/usr/bin/proc%llu", (unsigned long long)i);
	sprintf(cmd, "proc%llu --arg %llu", (unsigned long long)i, (unsigned long long)i * 3);
	p->exe = exe;
	p->cmdline = (i % 3) ? cmd : NULL;
	p->container = (i % 4 == 0) ? "0123456789abcdef" : NULL;
}

static int quiet_damage_count;
static inline void count_damage(void *ctx, const struct ct_damage *d)
{
	(void)ctx;
	(void)d;
	quiet_damage_count++;
}

#endif
