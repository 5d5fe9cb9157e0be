/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Process lifecycle programs (fork, exec, exit) of conntrail.bpf.c, which
 * includes this file after the maps and helpers these programs share with
 * the connect path. One BPF object: split by concept, not compiled alone.
 */
#ifndef CONNTRAIL_PROCS_BPF_H
#define CONNTRAIL_PROCS_BPF_H

/* tp_btf: the child's task tells a new process from a new thread. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(tp_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, tgid = child->tgid, tid = child->pid;
	struct ctb_exit f = {};
	__u8 one = 1;

	/* A thread's id joins too; it is harmless and leaves with the process. */
	if (filter_pids && bpf_map_lookup_elem(&traced, &ptgid))
		bpf_map_update_elem(&traced, &tid, &one, BPF_ANY);
	/* A new process runs its parent's program until it execs: a record,
	 * so that its connects name that program even when it is gone before
	 * user space could read /proc. A new thread needs none. */
	if (tid != tgid || !wanted(tgid))
		return 0;
	f.kind = CTB_FORK;
	f.pid = tgid;
	f.ppid = ptgid;
	f.ts_ns = bpf_ktime_get_ns();
	f.cgroup_id = bpf_get_current_cgroup_id();
	__builtin_memcpy(f.comm, child->comm, sizeof(f.comm));
	if (bpf_ringbuf_output(&events, &f, sizeof(f), wakeup_flag()))
		count_lost(CTB_LOST_PROC);
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
		return TP_PASS;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return TP_PASS;
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
	return TP_PASS;
}

SEC("tp/sched/sched_process_exit")
int tp_exit(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 tgid = task->tgid;
	struct ctb_connect *c;
	struct ctb_exit x = {};

	/* This thread's pending entry ends, whatever the filters say now; a
	 * connect it started but will never finish is still reported. */
	c = bpf_task_storage_get(&pending, task, NULL, 0);
	if (c) {
		if (c->kind == CTB_CONNECT)
			finish_attempt(c, false);
		c->kind = CTB_IDLE; /* the storage itself goes with the task */
	}
	if (!wanted(tgid))
		return TP_PASS;
	/* do_exit has already counted this thread out of signal->live. */
	if (task->signal->live.counter != 0)
		return TP_PASS;
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
	return TP_PASS;
}

#endif
