/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * empty.bpf.c: the floor for P1. The same two tracepoints conntrail's
 * tracepoint backend uses, doing nothing, so "empty BPF" minus "no tracing"
 * is what the kernel charges just for running a BPF program there.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tracepoint/syscalls/sys_enter_connect")
int empty_enter(void *ctx)
{
	(void)ctx;
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int empty_exit(void *ctx)
{
	(void)ctx;
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
