/* SPDX-License-Identifier: MIT */
/*
 * sysloop: a getppid() storm that times itself, for bench/run.sh (P6): what
 * a tracer costs the syscalls that are not connect. An attached syscalls:*
 * tracepoint (or raw sys_enter) sends every syscall of every task through
 * the kernel's slow path; a hook only connect reaches costs them nothing.
 *
 *   sysloop COUNT
 *
 * Only the loop is timed, after 100,000 untimed calls: wall time
 * (CLOCK_MONOTONIC) and this thread's CPU time. Prints one line:
 *   calls=N ns_per_call=X cpu_ns_per_call=Y pid=P
 * Exit status 0, 2 on bad arguments.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define WARMUP 100000

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	char *end;
	unsigned long long count = argc == 2 ? strtoull(argv[1], &end, 10) : 0;

	if (argc != 2 || *end || count == 0) {
		fprintf(stderr, "usage: sysloop COUNT\n");
		return 2;
	}
	/* syscall(2), not getppid(3): the call must enter the kernel. */
	for (int i = 0; i < WARMUP; i++)
		syscall(SYS_getppid);
	uint64_t c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), t0 = clock_ns(CLOCK_MONOTONIC);
	for (unsigned long long i = 0; i < count; i++)
		syscall(SYS_getppid);
	uint64_t wall = clock_ns(CLOCK_MONOTONIC) - t0;
	uint64_t cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
	printf("calls=%llu ns_per_call=%.1f cpu_ns_per_call=%.1f pid=%d\n", count,
	       (double)wall / (double)count, (double)cpu / (double)count, (int)getpid());
	return 0;
}
