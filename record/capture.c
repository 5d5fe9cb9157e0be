/* SPDX-License-Identifier: MIT */
/*
 * capture.c: what the BPF programs put in the ring buffer, turned into the
 * trace writer's events, process records and lost records. The hot path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "bpf/conntrail_event.h"
#include "lib/dns.h"
#include "lib/util.h"
#include "record/procfs.h"
#include "record/record.h"

_Static_assert(sizeof(struct ctb_connect) == 280, "ctb_connect layout");
_Static_assert(sizeof(struct ctb_outcome) == 56, "ctb_outcome layout");
_Static_assert(CTB_F_RET == CT_EV_RET && CTB_F_LATENCY == CT_EV_LATENCY &&
		   CTB_F_SADDR == CT_EV_SADDR && CTB_F_ABSTRACT == CT_EV_ABSTRACT &&
		   CTB_F_TRACKED == CT_EV_TRACKED,
	       "CTB_F_* are CT_EV_*");
_Static_assert(__builtin_offsetof(struct ctb_connect, path) == CTB_CONNECT_SHORT &&
		   __builtin_offsetof(struct ctb_connect, raw_family) == CTB_CONNECT_SHORT - 2,
	       "CTB_CONNECT_SHORT");

int rec_write_err(struct recorder *r, int err, const char *what)
{
	if (!r->write_err)
		ct_err("%s: %s: %s", r->cur_path, what, ct_strerror(err));
	r->write_err = err;
	return err;
}

/* An outcome for the writer to place on its attempt. */
static int write_outcome(struct recorder *r, const struct ct_outcome *o)
{
	int err;

	if (!o->flags || !o->ts_ns)
		return 0;
	err = ct_writer_outcome(r->w, o);
	if (err < 0)
		return rec_write_err(r, err, "write");
	r->outcomes++;
	return 0;
}

static int put_outcome(struct recorder *r, const struct ctb_outcome *b)
{
	struct ct_outcome o = {.ts_ns = b->ts_ns,
			       .tid = b->tid,
			       .flags = b->flags & (CT_OC_RESULT | CT_OC_ABANDONED | CT_OC_CLOSED),
			       .result = b->result,
			       .result_ns = b->result_ns,
			       .closed_ns = b->closed_ns,
			       .tx_bytes = b->tx_bytes,
			       .rx_bytes = b->rx_bytes};

	return write_outcome(r, &o);
}

static int put_connect(struct recorder *r, const struct ctb_connect *c, size_t size)
{
	struct ct_task task = {.cgroup_id = c->cgroup_id,
			       .pid = c->pid,
			       .ppid = c->ppid,
			       .uid = c->uid,
			       .gid = c->gid};
	struct ct_dest dest = {.scope_id = c->scope_id,
			       .family = c->family,
			       .type = c->type,
			       .proto = c->proto,
			       .dport = c->dport};
	struct ct_event ev = {.ts_ns = c->ts_ns,
			      .task = &task,
			      .dest = &dest,
			      .tid = c->tid,
			      .sockfd = c->sockfd,
			      .ret = c->ret,
			      .latency_ns = c->latency_ns,
			      .sport = c->sport,
			      .flags = c->flags & (CT_EV_RET | CT_EV_LATENCY | CT_EV_SADDR |
						   CT_EV_ABSTRACT | CT_EV_TRACKED)};
	int err;

	if (size < CTB_CONNECT_SHORT || (c->family == AF_UNIX && size < sizeof(*c)))
		return 0;
	memcpy(dest.daddr, c->daddr, sizeof(dest.daddr));
	if (ev.flags & CT_EV_SADDR)
		memcpy(ev.saddr, c->saddr, c->family == AF_INET ? 4 : 16);
	memcpy(task.comm, c->comm, sizeof(task.comm));
	if (c->family == AF_UNIX) {
		size_t n = c->path_len <= CT_UNIX_PATH_MAX ? c->path_len : CT_UNIX_PATH_MAX;
		/* A pathname ends at its first NUL; an abstract name is all bytes. */
		if (!(c->flags & CTB_F_ABSTRACT))
			n = strnlen(c->path, n);
		dest.path = c->path;
		dest.path_len = (uint8_t)n;
	}
	err = ct_writer_event(r->w, &ev);
	if (err < 0)
		return rec_write_err(r, err, "write");
	r->events++;
	/* A handshake that ended inside connect(2) came with the attempt. */
	if (c->oc_flags) {
		struct ct_outcome o = {.ts_ns = c->ts_ns,
				       .tid = c->tid,
				       .flags = c->oc_flags & (CT_OC_RESULT | CT_OC_ABANDONED),
				       .result = c->result,
				       .result_ns = c->result_ns};
		err = write_outcome(r, &o);
		if (err < 0)
			return err;
	}
	if (r->max_size && ct_writer_bytes(r->w) >= r->max_size)
		return rec_rotate_or_stop(r);
	return 0;
}

static int put_exec(struct recorder *r, const struct ctb_exec *e)
{
	struct ct_proc p = {.kind = CT_PROC_EXEC,
			    .ts_ns = e->ts_ns,
			    .task = {.cgroup_id = e->cgroup_id,
				     .pid = e->pid,
				     .ppid = e->ppid,
				     .uid = e->uid,
				     .gid = e->gid}};
	char exe[4096], cmdline[4096], container[65];
	int err;

	memcpy(p.task.comm, e->comm, sizeof(p.task.comm));
	/* The process may be gone already, or running a later program:
	 * /proc is best effort, the execve filename from the kernel is the
	 * fallback. */
	procfs_read_exe_of((pid_t)e->pid, e->comm, sizeof(e->comm), exe, sizeof(exe));
	if (!exe[0]) {
		memcpy(exe, e->filename, sizeof(e->filename));
		exe[sizeof(e->filename) - 1] = 0;
	}
	/* argv read by the kernel side is exact unless it was cut short. */
	if (e->args_len > 0 && e->args_len < CTB_ARGS_MAX) {
		memcpy(cmdline, e->args, e->args_len);
		procfs_args_line(cmdline, e->args_len);
	} else {
		procfs_read_cmdline((pid_t)e->pid, cmdline, sizeof(cmdline));
		if (!cmdline[0] && e->args_len) {
			memcpy(cmdline, e->args, CTB_ARGS_MAX - 1);
			procfs_args_line(cmdline, CTB_ARGS_MAX - 1);
		}
	}
	/* The cgroup the kernel side saw at exec, else /proc (which also
	 * knows cgroup v1 hierarchies). */
	char cgname[CTB_CGNAME_MAX];
	memcpy(cgname, e->cgroup, sizeof(cgname));
	cgname[sizeof(cgname) - 1] = 0;
	procfs_container_from_cgroup(cgname, container, sizeof(container));
	if (!container[0])
		procfs_read_container((pid_t)e->pid, container, sizeof(container));
	p.exe = exe[0] ? exe : NULL;
	p.cmdline = cmdline[0] ? cmdline : NULL;
	p.container = container[0] ? container : NULL;
	ctr_fill_proc(r->ctrs, &p);
	err = ct_writer_proc(r->w, &p);
	if (err < 0)
		return rec_write_err(r, err, "write");
	proctable_put(r->procs, &p);
	return 0;
}

static int put_exit(struct recorder *r, const struct ctb_exit *x)
{
	struct ct_proc p = {.kind = CT_PROC_EXIT,
			    .ts_ns = x->ts_ns,
			    .task = {.cgroup_id = x->cgroup_id, .pid = x->pid, .ppid = x->ppid},
			    .exit_code = x->exit_code};
	int err;

	memcpy(p.task.comm, x->comm, sizeof(p.task.comm));
	proctable_remove(r->procs, x->pid);
	err = ct_writer_proc(r->w, &p);
	return err < 0 ? rec_write_err(r, err, "write") : 0;
}

/* A new process: the session gives it its parent's program (CT_PROC_FORK);
 * the recorder remembers it too, for the files a rotation starts. */
static int put_fork(struct recorder *r, const struct ctb_exit *f)
{
	struct ct_proc p = {.kind = CT_PROC_FORK,
			    .ts_ns = f->ts_ns,
			    .task = {.cgroup_id = f->cgroup_id, .pid = f->pid, .ppid = f->ppid}};
	const struct ct_proc *parent = proctable_get(r->procs, f->ppid);
	int err;

	memcpy(p.task.comm, f->comm, sizeof(p.task.comm));
	if (parent) {
		struct ct_proc child = *parent;
		child.task = p.task;
		if (proctable_put(r->procs, &child))
			return -ENOMEM;
	}
	err = ct_writer_proc(r->w, &p);
	return err < 0 ? rec_write_err(r, err, "write") : 0;
}

/* A packet from port 53: its answers as a name record. What the packet
 * holds is anybody's: lib/dns.c checks every length. */
static int put_dns(struct recorder *r, const struct ctb_dns *d, size_t size)
{
	size_t hdr = __builtin_offsetof(struct ctb_dns, data);
	if (size < hdr || d->len > CTB_DNS_MAX || hdr + d->len > size)
		return 0;
	const uint8_t *p = d->data;
	size_t n = d->len;
	int cut = d->wire_len > d->len;
	if (d->proto == IPPROTO_TCP) {
		/* A segment that starts a message: its 2-byte length first. */
		if (n < 2)
			return 0;
		size_t mlen = (size_t)p[0] << 8 | p[1];
		p += 2;
		n -= 2;
		if (mlen <= n)
			n = mlen;
		else
			cut = 1;
	}
	struct ct_dns_answer a;
	int rc = ct_dns_parse(p, n, cut, &a);
	if (rc < 0)
		r->dns_bad++;
	if (rc != 1)
		return 0;
	struct ct_name nm = {.ts_ns = d->ts_ns,
			     .cgroup_id = d->cgroup_id,
			     .ttl = a.ttl,
			     .name = a.name,
			     .naddrs = a.naddrs,
			     .addrs = a.addrs};
	int err;
	r->names++;
	if (r->w && (err = ct_writer_name(r->w, &nm)) < 0)
		return rec_write_err(r, err, "write");
	return 0;
}

int rec_dispatch(struct recorder *r, const void *data, size_t size)
{
	uint32_t kind = *(const uint32_t *)data;

	switch (kind) {
	case CTB_CONNECT:
		return put_connect(r, data, size);
	case CTB_EXEC:
		return size >= sizeof(struct ctb_exec) ? put_exec(r, data) : 0;
	case CTB_EXIT:
		return size >= sizeof(struct ctb_exit) ? put_exit(r, data) : 0;
	case CTB_FORK:
		return size >= sizeof(struct ctb_exit) ? put_fork(r, data) : 0;
	case CTB_OUTCOME:
		return size >= sizeof(struct ctb_outcome) ? put_outcome(r, data) : 0;
	case CTB_DNS:
		return put_dns(r, data, size);
	}
	return 0;
}

/* Entries: an 8-byte length, then the record padded to 8 bytes, so that
 * replayed records are as aligned as in the ring buffer. */
static int queue_record(struct recorder *r, const void *data, size_t size)
{
	size_t need = r->qlen + sizeof(uint64_t) + ((size + 7) & ~(size_t)7);

	if (need > r->qcap) {
		size_t cap = r->qcap ? r->qcap * 2 : 65536;
		while (cap < need)
			cap *= 2;
		uint8_t *q = realloc(r->queue, cap);
		if (!q)
			return -ENOMEM;
		r->queue = q;
		r->qcap = cap;
	}
	uint64_t len = size;
	memcpy(r->queue + r->qlen, &len, sizeof(len));
	memcpy(r->queue + r->qlen + sizeof(len), data, size);
	r->qlen = need;
	return 0;
}

/* Ring-buffer callback: the hot path. */
int rec_on_sample(void *ctx, void *data, size_t size)
{
	struct recorder *r = ctx;

	if (size < 8 || r->size_reached)
		return 0;
	if (r->probe_pid) {
		uint32_t kind = ((const uint32_t *)data)[0];
		uint32_t pid = kind == CTB_CONNECT ? ((const struct ctb_connect *)data)->pid
			       : kind == CTB_OUTCOME || kind == CTB_DNS
				   ? 0 /* a thread, or no process */
				   : ((const uint32_t *)data)[1];
		if (pid == (uint32_t)r->probe_pid) {
			/* Our own test connect: proof, not data. */
			if (kind == CTB_CONNECT)
				r->probe_seen = 1;
			else if (kind == CTB_EXIT)
				r->probe_pid = 0;
			return 0;
		}
	}
	if (r->queueing)
		return queue_record(r, data, size);
	return rec_dispatch(r, data, size);
}

/* A loss written down so readers can say what may be missing: connects
 * (per CPU), names (DNS), an exe or exit (process records), or a final
 * outcome (those attempts read "unknown"); cpu UINT32_MAX is all CPUs. */
static int write_lost(struct recorder *r, uint64_t count, uint32_t cpu, uint32_t kind)
{
	struct ct_lost l = {
	    .ts_ns = ct_now_ns(CLOCK_MONOTONIC), .count = count, .cpu = cpu, .kind = kind};
	int err;

	if (count && r->w && (err = ct_writer_lost(r->w, &l)) < 0)
		return rec_write_err(r, err, "write");
	return 0;
}

int rec_flush_lost(struct recorder *r)
{
	uint64_t proc = 0, outcomes = 0, dns = 0, missed = 0;
	int err;

	if (rec_bpf_lost_delta(&r->bpf, &proc, &outcomes, &dns, &missed))
		return 0;
	r->dns_lost += dns;
	r->proc_lost += proc;
	r->outcomes_lost += outcomes;
	r->state_missed += missed;
	/* A skipped state change may have been a handshake's end or a
	 * close: counted with the outcomes lost, an upper bound. */
	if ((err = write_lost(r, dns, UINT32_MAX, CT_LOST_NAMES)) ||
	    (err = write_lost(r, proc, UINT32_MAX, CT_LOST_PROCS)) ||
	    (err = write_lost(r, outcomes + missed, UINT32_MAX, CT_LOST_OUTCOMES)))
		return err;
	for (int cpu = 0; cpu < r->bpf.ncpus; cpu++) {
		r->lost += r->bpf.lost_conn[cpu];
		if ((err = write_lost(r, r->bpf.lost_conn[cpu], (uint32_t)cpu, CT_LOST_CONNECTS)))
			return err;
	}
	return 0;
}
