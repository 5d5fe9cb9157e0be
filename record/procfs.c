/* SPDX-License-Identifier: MIT */
/* procfs.c: process facts from /proc for the recorder's process records. */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"

/* Whole small file into buf (NUL-terminated); bytes read or -1. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	if (fd < 0)
		return -1;
	while (got + 1 < size) {
		ssize_t n = read(fd, buf + got, size - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = 0;
	return (ssize_t)got;
}

void procfs_read_cmdline(pid_t pid, char *buf, size_t size)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	n = read_small(path, buf, size);
	if (n <= 0) {
		buf[0] = 0;
		return;
	}
	procfs_args_line(buf, (size_t)n);
}

void procfs_args_line(char *buf, size_t n)
{
	/* Arguments are NUL-separated; the last NUL ends the line. */
	while (n > 0 && buf[n - 1] == 0)
		n--;
	for (size_t i = 0; i < n; i++)
		if (buf[i] == 0)
			buf[i] = ' ';
	buf[n] = 0;
}

void procfs_read_exe(pid_t pid, char *buf, size_t size)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, buf, size - 1);
	buf[n > 0 ? n : 0] = 0;
}

void procfs_read_exe_of(pid_t pid, const char *comm, size_t comm_size, char *buf, size_t size)
{
	char path[64], now[64];

	procfs_read_exe(pid, buf, size);
	if (!buf[0])
		return;
	/* Read after the link: a comm that changed since says an exec came
	 * between (most likely), and the link may be the later program's. */
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	ssize_t n = read_small(path, now, sizeof(now));
	if (n > 0 && now[n - 1] == '\n')
		now[--n] = 0;
	if (n <= 0 || strncmp(now, comm, comm_size) != 0)
		buf[0] = 0;
}

static int is_hex64(const char *s, size_t len)
{
	if (len != 64)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

void procfs_container_from_cgroup(const char *path, char *out, size_t size)
{
	static const char *const prefixes[] = {"docker-", "cri-containerd-", "crio-", "libpod-",
					       "containerd-"};
	const char *p = path;

	if (size)
		out[0] = 0;
	while (*p) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *name = p;

		for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
			size_t pl = strlen(prefixes[i]);
			if (len > pl && !strncmp(name, prefixes[i], pl)) {
				name += pl;
				len -= pl;
				break;
			}
		}
		if (len > 6 && !strncmp(name + len - 6, ".scope", 6))
			len -= 6;
		if (is_hex64(name, len) && size > 64) {
			memcpy(out, name, 64);
			out[64] = 0; /* keep going: the innermost match wins */
		}
		if (!end)
			break;
		p = end + 1;
	}
}

void procfs_read_container(pid_t pid, char *buf, size_t size)
{
	char path[64], text[4096];

	buf[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	if (read_small(path, text, sizeof(text)) <= 0)
		return;
	/* Lines are "hierarchy:controllers:path"; any hierarchy will do. */
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		char *colon = strchr(line, ':');
		colon = colon ? strchr(colon + 1, ':') : NULL;
		if (!colon)
			continue;
		procfs_container_from_cgroup(colon + 1, buf, size);
		if (buf[0])
			return;
	}
}

int procfs_read(pid_t pid, struct proc_facts *f)
{
	char path[64], text[1024], *p, *close_paren;

	memset(f, 0, sizeof(*f));
	f->task.pid = (uint32_t)pid;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_small(path, text, sizeof(text)) <= 0)
		return -1;
	/* "pid (comm) S ppid ..."; comm may hold spaces and parentheses. */
	p = strchr(text, '(');
	close_paren = strrchr(text, ')');
	if (!p || !close_paren || close_paren < p)
		return -1;
	size_t clen = (size_t)(close_paren - p - 1);
	if (clen > sizeof(f->task.comm))
		clen = sizeof(f->task.comm);
	memcpy(f->task.comm, p + 1, clen);
	{
		char state;
		int ppid;
		unsigned long long start = 0;
		/* Fields after comm: state ppid pgrp session tty tpgid flags
		 * minflt cminflt majflt cmajflt utime stime cutime cstime
		 * priority nice num_threads itrealvalue starttime. */
		if (sscanf(close_paren + 2,
			   "%c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
			   "%*d %llu",
			   &state, &ppid, &start) >= 2)
			f->task.ppid = (uint32_t)ppid;
		f->start_ticks = start;
	}
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (read_small(path, text, sizeof(text)) > 0) {
		char *uid = strstr(text, "\nUid:");
		char *gid = strstr(text, "\nGid:");
		if (uid)
			f->task.uid = (uint32_t)strtoul(uid + 5, NULL, 10);
		if (gid)
			f->task.gid = (uint32_t)strtoul(gid + 5, NULL, 10);
	}
	procfs_read_exe(pid, f->exe, sizeof(f->exe));
	procfs_read_cmdline(pid, f->cmdline, sizeof(f->cmdline));
	procfs_read_container(pid, f->container, sizeof(f->container));
	return 0;
}

int procfs_each_pid(int (*fn)(void *ctx, pid_t pid), void *ctx)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int rc = 0;

	if (!d)
		return -1;
	while (!rc && (de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		rc = fn(ctx, (pid_t)pid);
	}
	closedir(d);
	return rc;
}
