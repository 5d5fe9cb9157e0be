/* SPDX-License-Identifier: MIT */
/*
 * runstat: run a command and report what it cost, for bench/run.sh.
 *
 *   runstat OUTFILE CMD [ARGS..]
 *
 * CMD's stdout goes to /dev/null, its stderr is kept. Writes one line to
 * OUTFILE: "wall_ns cpu_ns maxrss_kib". cpu_ns is user + system time from
 * wait4's rusage (microseconds, unlike /usr/bin/time's 10 ms), so short
 * queries still get a usable CPU figure, and a shared, busy machine, which
 * stretches wall time, barely moves it. Exits with CMD's status (1 when it
 * could not be run, 128+N when killed by signal N).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t tv_ns(struct timeval tv)
{
	return (uint64_t)tv.tv_sec * 1000000000ull + (uint64_t)tv.tv_usec * 1000ull;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: runstat OUTFILE CMD [ARGS..]\n");
		return 2;
	}
	uint64_t t0 = now_ns();
	pid_t pid = fork();
	if (pid < 0) {
		perror("runstat: fork");
		return 1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		execvp(argv[2], argv + 2);
		fprintf(stderr, "runstat: %s: cannot run\n", argv[2]);
		_exit(127);
	}
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("runstat: wait4");
		return 1;
	}
	uint64_t wall = now_ns() - t0;
	FILE *out = fopen(argv[1], "w");
	if (!out) {
		fprintf(stderr, "runstat: %s: cannot write\n", argv[1]);
		return 1;
	}
	fprintf(out, "%llu %llu %ld\n", (unsigned long long)wall,
		(unsigned long long)(tv_ns(ru.ru_utime) + tv_ns(ru.ru_stime)), ru.ru_maxrss);
	fclose(out);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}
