/* SPDX-License-Identifier: MIT */
/* A cgroup/connect4 program that denies connects to port 7 (EPERM), so
 * tests/reliability/r7_security.sh can check that record leaves a denied
 * connect denied. Built by that script with clang -target bpf. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("cgroup/connect4")
int deny_port7(struct bpf_sock_addr *ctx)
{
	return ctx->user_port == bpf_htons(7) ? 0 : 1;
}

char LICENSE[] SEC("license") = "GPL";
