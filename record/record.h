/* SPDX-License-Identifier: MIT */
/*
 * record.h: `conntrail record`'s state, shared by its parts: cmd_record.c
 * (options, the command's life), backend.c (choosing a backend and proving
 * its hook fires), capture.c (ring-buffer records into the trace writer)
 * and output.c (trace files: create, rotate, process context).
 */
#ifndef CONNTRAIL_RECORD_H
#define CONNTRAIL_RECORD_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "format/ctrace.h"
#include "record/bpfload.h"
#include "record/containers.h"
#include "record/proctable.h"

#define POLL_MS 100

struct recorder {
	/* Options. */
	const char *output;
	int backend; /* -1: auto */
	uint32_t *pids;
	size_t npids;
	const char *cgroup_path;
	uint64_t cgroup_id;
	uint64_t duration_ns;
	uint64_t max_size;
	unsigned rotate;
	struct ct_writer_opts wopts;
	uint64_t buffer;
	uint64_t flush_ns; /* --flush: a connect is in the file within this */
	int poll_ms;	   /* ring buffer poll period, from flush_ns */
	int quiet;
	char **command;
	char *own_cmdline;
	char filters[512];

	/* Capture. */
	struct rec_bpf bpf;
	int have_bpf;
	pid_t probe_pid;
	int probe_seen;
	pid_t child;
	int child_status;
	int child_done;

	/* Records that arrive before the writer is open (during the probe). */
	uint8_t *queue;
	size_t qlen, qcap;
	int queueing;

	/* Live processes, written at the start of every rotated file. */
	struct proctable *procs;
	/* Container names by id, read from the runtimes' files once each. */
	struct ctr_cache *ctrs;

	/* Output. */
	struct ct_header hdr;
	struct ct_writer *w;
	char cur_path[PATH_MAX];
	unsigned file_index;
	uint64_t file_seq;   /* files opened before this one (the header's file_seq) */
	uint64_t bytes_done; /* of files already closed */
	uint64_t events, lost, proc_lost;
	uint64_t outcomes, outcomes_lost;  /* handshake/close records written, lost */
	uint64_t state_missed;		   /* TCP state changes the kernel skipped */
	uint64_t names, dns_lost, dns_bad; /* name records written; DNS packets lost, malformed */
	int write_err;
	int size_reached;
};

/* cmd_record.c */

/* capture.c: the ring-buffer callback, and what it hands the writer. */
int rec_on_sample(void *ctx, void *data, size_t size);
int rec_dispatch(struct recorder *r, const void *data, size_t size);
int rec_flush_lost(struct recorder *r);
int rec_write_err(struct recorder *r, int err, const char *what);

/* output.c */
int rec_open_output(struct recorder *r);
int rec_close_output(struct recorder *r);
int rec_rotate_or_stop(struct recorder *r);

/* backend.c */
int rec_choose_backend(struct recorder *r);

#endif
