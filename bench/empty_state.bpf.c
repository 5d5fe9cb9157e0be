/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * empty_state.bpf.c: the floor for record with outcome tracking. The
 * tracepoints record's tracepoint backend attaches, doing nothing: the two
 * connect tracepoints of empty.bpf.c plus the TCP state change and socket
 * error report it follows handshakes on. "this" minus "empty.bpf.c" is what
 * the kernel charges just for running a program on the new tracepoints.
 */
#include "empty.bpf.c" /* the two connect tracepoints, EMPTY, and the license */

EMPTY("tp_btf/inet_sock_set_state", empty_state)
EMPTY("tp_btf/inet_sk_error_report", empty_error)
