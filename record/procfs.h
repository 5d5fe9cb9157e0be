/* SPDX-License-Identifier: MIT */
/* procfs.h: process context from /proc, like perf's synthesized events. */
#ifndef CONNTRAIL_RECORD_PROCFS_H
#define CONNTRAIL_RECORD_PROCFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "format/ctrace.h"

/* What /proc tells about one process; strings are "" when unknown. */
struct proc_facts {
	struct ct_task task; /* cgroup_id 0: /proc does not tell it */
	char exe[4096];
	char cmdline[4096];   /* arguments joined by single spaces */
	char container[65];   /* 64-hex container id or "" */
	uint64_t start_ticks; /* starttime from /proc/PID/stat */
};

/* Fill f from /proc/PID; 0 on success, -1 when the process is gone. */
int procfs_read(pid_t pid, struct proc_facts *f);
/* Only the exe link, cmdline and container (for a process that just exec'd). */
void procfs_read_cmdline(pid_t pid, char *buf, size_t size);
void procfs_read_exe(pid_t pid, char *buf, size_t size);
/* The exe link, or "" unless the process still has comm (comm_size bytes
 * at most, as an exec event gave it): one that exec'd again since would
 * give its later program. */
void procfs_read_exe_of(pid_t pid, const char *comm, size_t comm_size, char *buf, size_t size);
/* n bytes of NUL-separated arguments at buf as one line joined by spaces,
 * NUL-terminated at buf[n] at most (buf holds n + 1 bytes). */
void procfs_args_line(char *buf, size_t n);
void procfs_read_container(pid_t pid, char *buf, size_t size);

/* The 64-hex container id in one /proc/PID/cgroup path, or "" (exposed for
 * tests). Known shapes: docker-<id>.scope, /docker/<id>, cri-containerd-<id>
 * .scope, crio-<id>.scope, libpod-<id>.scope, kubepods.../<id>. */
void procfs_container_from_cgroup(const char *path, char *out, size_t size);

/* Calls fn for each process in /proc; stops early when fn returns non-zero. */
int procfs_each_pid(int (*fn)(void *ctx, pid_t pid), void *ctx);

#endif
