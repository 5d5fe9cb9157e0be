/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * empty.bpf.c: the floor for P1. The same two tracepoints conntrail's
 * tracepoint backend uses, doing nothing, so "empty BPF" minus "no tracing"
 * is what the kernel charges just for running a BPF program there.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* EMPTY(SECTION, NAME): a program on SECTION that does nothing. */
#define EMPTY(section, name)                                                                       \
	SEC(section)                                                                               \
	int name(void *ctx)                                                                        \
	{                                                                                          \
		(void)ctx;                                                                         \
		return 0;                                                                          \
	}

EMPTY("tracepoint/syscalls/sys_enter_connect", empty_enter)
EMPTY("tracepoint/syscalls/sys_exit_connect", empty_exit)

char LICENSE[] SEC("license") = "Dual MIT/GPL";
