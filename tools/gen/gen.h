/* SPDX-License-Identifier: MIT */
/*
 * gen.h: what conntrail-gen's parts share: the program templates and
 * destinations it draws from (conntrail-gen.c) and the truth it counts of
 * what it wrote (truth.c).
 */
#ifndef CONNTRAIL_GEN_H
#define CONNTRAIL_GEN_H

#include <stdint.h>

#include "format/ctrace.h"

/* Program templates of the mixed profile. */
struct prog {
	const char *comm, *exe, *args;
	uint32_t uid;
	int threads;   /* tids spread over this many */
	int nonblock;  /* connects return EINPROGRESS */
	int container; /* runs in a container */
	int local;     /* talks to local services (127.x, UNIX) mostly */
};
extern const struct prog progs[];
extern const uint32_t nprogs;

struct dest {
	struct ct_dest cd; /* as an event points at it; cd.path is set from path at use */
	char path[CT_UNIX_PATH_MAX];
	int abstract;
	int unreachable; /* fails with ETIMEDOUT/ECONNREFUSED more often */
	uint32_t rtt_ns; /* typical connect latency */
};

/* Truth counters: what connect(2) returned (ret), and the final outcome
 * (result: the same errnos, plus abandoned and unknown). */
#define NRESULTS 9
extern const int result_errs[NRESULTS];
#define R_ABANDONED NRESULTS
#define R_UNKNOWN (NRESULTS + 1)
struct truth {
	uint64_t events, lost, lost_records, procs, fam[4], ret[NRESULTS];
	uint64_t result[NRESULTS + 2], closed, open, tx, rx;
	uint64_t first_ts, last_ts;
	uint64_t *dest, *prog;
	uint64_t *pid; /* indexed by pid - pid_base */
	uint32_t pid_base, pid_cap;
};

/* One event of this pid (t->pid grows as needed; out of memory ends the program). */
void truth_pid(struct truth *t, uint32_t pid);
/* The slot of a result (0 or -errno) in ret[] and result[]. */
int truth_result_slot(int32_t v);
/* An event as written: its family, what connect(2) returned and, when that
 * was final, its result. */
void truth_event(struct truth *t, const struct ct_event *ev);
/* The truth as one JSON object; the destinations d[0..nd) are keyed by
 * their printed names, the programs by comm (storm: one, "stormer"). */
int truth_write(const char *path, const struct truth *t, const struct dest *d, uint32_t nd,
		int storm, const struct ct_header *h);

#endif
