/* SPDX-License-Identifier: MIT */
/* names.h: the one spelling of families, types, protocols, errnos and times. */
#ifndef CONNTRAIL_LIB_NAMES_H
#define CONNTRAIL_LIB_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* "2026-11-24T13:05:00.123456789Z" into buf (at least 40 bytes). */
void ct_fmt_rfc3339(char *buf, size_t size, int64_t wall_ns);
/* 1 when wall_ns saturated (ct_wall_ns: ts + offset beyond int64): such a
 * time is printed as "out-of-range", never as a date. */
int ct_wall_bad(int64_t wall_ns);
/* wall_ns as whole seconds since the epoch (floor) and the ns past them. */
static inline int64_t ct_wall_split(int64_t wall_ns, int64_t *ns)
{
	int64_t sec = wall_ns / 1000000000, rem = wall_ns % 1000000000;
	if (rem < 0) {
		rem += 1000000000;
		sec--;
	}
	*ns = rem;
	return sec;
}
/* "2026-11-24T13:05:00" for sec since the epoch, or "out-of-range". */
size_t ct_fmt_utc_sec(char *buf, size_t size, int64_t sec);
/* "AF_INET", "AF_INET6", "AF_UNIX", "AF_NETLINK"... or NULL when unnamed. */
const char *ct_family_name(uint16_t family);
/* The name, or "AF_<n>" for an unnamed family, at buf; its length. */
size_t ct_family_text(char *buf, size_t size, uint16_t family);
/* "inet", "inet6", "unix", "other" (the filter language's names). */
const char *ct_family_short(uint16_t family);
/* "SOCK_STREAM"... or NULL; "stream"... for the short form. */
const char *ct_type_name(uint16_t type);
const char *ct_type_short(uint16_t type);
/* "tcp", "udp", ... or NULL. */
const char *ct_proto_short(uint16_t proto);
/* "ECONNREFUSED" for -111 or 111; NULL when unknown. */
const char *ct_errno_name(int err);
int ct_errno_from_name(const char *name); /* 111 for "ECONNREFUSED", -1 if unknown */
/* "SIGKILL" for 9 (Linux numbering), NULL when unnamed. */
const char *ct_signal_name(int sig);
/* A wait(2) status as a shell user reads it: "exit 0", "exit 7",
 * "killed by SIGKILL", "killed by SIGSEGV (core dumped)". Its length. */
size_t ct_fmt_wait_status(char *buf, size_t size, int32_t status);

#endif
