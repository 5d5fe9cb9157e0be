/* SPDX-License-Identifier: MIT */
/* bpfload.h: choose, load and attach one capture backend; read its counters. */
#ifndef CONNTRAIL_RECORD_BPFLOAD_H
#define CONNTRAIL_RECORD_BPFLOAD_H

#include <stddef.h>
#include <stdint.h>

#include <bpf/libbpf.h>

enum rec_backend {
	REC_LSM = 0,
	REC_FENTRY = 1,
	REC_TRACEPOINT = 2,
	REC_NBACKENDS = 3,
};

/* "lsm", "fentry", "tracepoint". */
const char *rec_backend_name(enum rec_backend b);
/* -1 for an unknown name. */
int rec_backend_parse(const char *name);

struct rec_bpf_cfg {
	uint64_t buffer_bytes; /* ring buffer; rounded up to a power of two */
	int filter_pids;       /* trace only the tgids added with rec_bpf_add_pid */
	uint64_t cgroup_id;    /* 0: any cgroup */
	uint32_t self_tgid;
	int dns;	     /* also capture DNS answers (cgroup_skb/ingress) */
	uint64_t dns_cgroup; /* DNS answers only to this cgroup v2 id; 0 = any */
	ring_buffer_sample_fn on_sample;
	void *ctx;
};

struct rec_bpf {
	struct conntrail_bpf *skel;
	struct ring_buffer *rb;
	enum rec_backend backend;
	int ncpus;
	uint64_t *lost_seen;  /* per CPU and slot, what was already reported */
	uint64_t *lost_conn;  /* per CPU: new connect losses (rec_bpf_lost_delta) */
	uint64_t missed_seen; /* the TCP state programs' skipped runs already reported */
	uint64_t buffer_bytes;
	int plain_loads;	   /* tp_enter_connect_cast: socket lookup without probe reads */
	struct bpf_link *dns_link; /* the DNS program on the cgroup v2 root, or NULL */
	char dns_why[640];	   /* why there is none, when DNS was asked for */
	char *cgroup2_tmp;	   /* a cgroup2 mount of our own (removed at destroy) */
};

/* Does the running kernel have the BPF LSM active? 1 yes, 0 no (why says
 * so, e.g. "bpf not in active LSM list (lockdown,capability)"). Mounts
 * securityfs when needed. */
int rec_lsm_active(char *why, size_t whylen);

/* Open, configure, load and attach `which`. 0 on success; -1 with a short
 * reason in why ("load failed: Operation not permitted"). On failure
 * nothing is left behind. */
int rec_bpf_start(struct rec_bpf *b, enum rec_backend which, const struct rec_bpf_cfg *cfg,
		  char *why, size_t whylen);
/* Add a tgid to the traced set (with filter_pids). 0 or -errno. */
int rec_bpf_add_pid(struct rec_bpf *b, uint32_t pid);
/* Is tgid in the traced set? */
int rec_bpf_is_traced(struct rec_bpf *b, uint32_t pid);
/* The probe child is traced whatever the filters; 0 turns it off. */
void rec_bpf_set_probe(struct rec_bpf *b, uint32_t pid);
/* New losses since the previous call: per CPU in b->lost_conn (connect
 * records), summed in *proc (exec/exit records) and *outcomes (handshake
 * and close records not sent, or handshakes not followed) and *dns (DNS
 * packets the ring buffer could not take); in *missed, TCP state changes
 * the kernel ran no program for (its recursion guard: the change came in
 * a softirq that interrupted the same program on that CPU), each of which
 * may have been a followed handshake's end or close. */
int rec_bpf_lost_delta(struct rec_bpf *b, uint64_t *proc, uint64_t *outcomes, uint64_t *dns,
		       uint64_t *missed);
/* Detach every program: no new records after this returns. */
void rec_bpf_detach(struct rec_bpf *b);
void rec_bpf_destroy(struct rec_bpf *b);

#endif
