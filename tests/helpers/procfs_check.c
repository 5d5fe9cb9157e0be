/* SPDX-License-Identifier: MIT */
/*
 * procfs_check: checks record/procfs.c's container id parser on the cgroup
 * path shapes of docker, containerd, CRI-O, podman and kubernetes, and that
 * paths without a container give none. Prints one line per failure; exit 0
 * when all pass. (record/ is not in the library, so it is compiled in.)
 */
#include <stdio.h>
#include <string.h>

#include "../../record/procfs.c"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

int main(void)
{
	static const struct {
		const char *path, *want;
	} cases[] = {
	    {"/system.slice/docker-" ID ".scope", ID},
	    {"/docker/" ID, ID},
	    {"/system.slice/containerd.service/kubepods-burstable-pod1234.slice:cri-containerd:" ID,
	     ""},
	    {"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podab12.slice/"
	     "cri-containerd-" ID ".scope",
	     ID},
	    {"/kubepods/burstable/pod0f1e2d3c-aaaa-bbbb-cccc-0123456789ab/" ID, ID},
	    {"/machine.slice/libpod-" ID ".scope", ID},
	    {"/kubepods.slice/crio-" ID ".scope", ID},
	    {"/docker/" ID "/docker/" ID2, ID2}, /* nested: the innermost */
	    {"docker-" ID ".scope", ID},	 /* a bare leaf, as BPF sees it */
	    {"/user.slice/user-0.slice/session-1.scope", ""},
	    {"/", ""},
	    {"", ""},
	    {"/docker/" ID "0", ""}, /* 65 hex digits: not an id */
	    {"/docker/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg", ""},
	};
	int fails = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[65] = "unset";
		procfs_container_from_cgroup(cases[i].path, out, sizeof(out));
		if (strcmp(out, cases[i].want)) {
			printf("FAIL: %s: got '%s', want '%s'\n", cases[i].path, out,
			       cases[i].want);
			fails++;
		}
	}
	/* This process: its own /proc entry reads back. */
	struct proc_facts f;
	if (procfs_read(getpid(), &f) || f.task.pid != (uint32_t)getpid() ||
	    f.task.ppid != (uint32_t)getppid() ||
	    strncmp(f.task.comm, "procfs_check", CT_COMM_LEN) || !strstr(f.exe, "procfs_check") ||
	    !strstr(f.cmdline, "procfs_check arg1 arg2")) {
		printf("FAIL: own /proc facts: pid %u ppid %u comm '%.*s' exe '%s' cmdline '%s'\n",
		       f.task.pid, f.task.ppid, (int)sizeof(f.task.comm), f.task.comm, f.exe,
		       f.cmdline);
		fails++;
	}
	if (procfs_read(999999999, &f) != -1) {
		printf("FAIL: a missing pid reads\n");
		fails++;
	}
	return fails ? 1 : 0;
}
