/* SPDX-License-Identifier: MIT */
/*
 * bpf_holds: what BPF attachments a process holds, one line each, so a test
 * can prove which hooks a recorder uses (and which it must not).
 *
 *   bpf_holds PID
 *
 * For every descriptor of PID that BPF_TASK_FD_QUERY understands (a perf
 * event or a raw tracepoint link with a program): "FD TYPE NAME", TYPE one
 * of tracepoint, raw_tracepoint, kprobe, kretprobe, uprobe, uretprobe.
 * For other BPF links (fentry, fexit, lsm, tp_btf on kernels where the
 * query does not answer): "FD link LINK_TYPE ATTACH_TYPE" from fdinfo.
 * Exit 0 after listing, 1 when PID cannot be read.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>

static const char *fd_type_name(__u32 t)
{
	switch (t) {
	case BPF_FD_TYPE_RAW_TRACEPOINT:
		return "raw_tracepoint";
	case BPF_FD_TYPE_TRACEPOINT:
		return "tracepoint";
	case BPF_FD_TYPE_KPROBE:
		return "kprobe";
	case BPF_FD_TYPE_KRETPROBE:
		return "kretprobe";
	case BPF_FD_TYPE_UPROBE:
		return "uprobe";
	case BPF_FD_TYPE_URETPROBE:
		return "uretprobe";
	}
	return "unknown";
}

/* "link_type:\ttracing" and "attach_type:\t27" of a BPF link's fdinfo. */
static int link_info(int pid, int fd, char *out, size_t len)
{
	char path[64], line[256], type[64] = "", attach[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "link_type: %63s", type) == 1)
			continue;
		sscanf(line, "attach_type: %63s", attach);
	}
	fclose(f);
	if (!type[0])
		return 0;
	snprintf(out, len, "link %s %s", type, attach[0] ? attach : "-");
	return 1;
}

int main(int argc, char **argv)
{
	char dirpath[64];
	struct dirent *de;
	DIR *d;
	int pid;

	if (argc != 2 || (pid = atoi(argv[1])) <= 0) {
		fprintf(stderr, "usage: bpf_holds PID\n");
		return 2;
	}
	snprintf(dirpath, sizeof(dirpath), "/proc/%d/fd", pid);
	d = opendir(dirpath);
	if (!d) {
		fprintf(stderr, "bpf_holds: %s: %s\n", dirpath, strerror(errno));
		return 1;
	}
	while ((de = readdir(d))) {
		char name[256], info[192];
		union bpf_attr attr;
		int fd = atoi(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		memset(&attr, 0, sizeof(attr));
		attr.task_fd_query.pid = (__u32)pid;
		attr.task_fd_query.fd = (__u32)fd;
		attr.task_fd_query.buf = (__u64)(unsigned long)name;
		attr.task_fd_query.buf_len = sizeof(name);
		if (syscall(__NR_bpf, BPF_TASK_FD_QUERY, &attr, sizeof(attr)) == 0) {
			name[sizeof(name) - 1] = 0;
			printf("%d %s %s\n", fd, fd_type_name(attr.task_fd_query.fd_type), name);
		} else if (link_info(pid, fd, info, sizeof(info))) {
			printf("%d %s\n", fd, info);
		}
	}
	closedir(d);
	return 0;
}
