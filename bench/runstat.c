/* SPDX-License-Identifier: MIT */
/*
 * runstat: run a command and report what it cost, for bench/run.sh.
 *
 *   runstat [-r N] OUTFILE CMD [ARGS..]
 *
 * CMD's stdout goes to /dev/null, its stderr is kept. Writes one line to
 * OUTFILE: "wall_ns cpu_ns maxrss_kib". With -r N, CMD runs N times in a
 * row and the line has the median wall and CPU time and the largest RSS:
 * a query of a few milliseconds, measured once, moves by a quarter from
 * one run to the next on a shared machine. cpu_ns is user + system time from
 * wait4's rusage (microseconds, unlike /usr/bin/time's 10 ms), so short
 * queries still get a usable CPU figure, and a shared, busy machine, which
 * stretches wall time, barely moves it. Exits with CMD's status (1 when it
 * could not be run, 128+N when killed by signal N).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* One run of argv: 0 and its costs, or its failing exit status. */
static int run_once(char **argv, uint64_t *wall, uint64_t *cpu, long *rss)
{
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
		execvp(argv[0], argv);
		fprintf(stderr, "runstat: %s: cannot run\n", argv[0]);
		_exit(127);
	}
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("runstat: wait4");
		return 1;
	}
	*wall = now_ns() - t0;
	*cpu = tv_ns(ru.ru_utime) + tv_ns(ru.ru_stime);
	*rss = ru.ru_maxrss;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	enum { MAX_RUNS = 99 };
	int runs = 1;
	if (argc > 2 && !strcmp(argv[1], "-r")) {
		runs = atoi(argv[2]);
		argv += 2;
		argc -= 2;
	}
	if (argc < 3 || runs < 1 || runs > MAX_RUNS) {
		fprintf(stderr, "usage: runstat [-r N] OUTFILE CMD [ARGS..]\n");
		return 2;
	}
	uint64_t wall[MAX_RUNS], cpu[MAX_RUNS];
	long rss = 0;
	for (int i = 0; i < runs; i++) {
		long r;
		int rc = run_once(argv + 2, &wall[i], &cpu[i], &r);
		if (rc)
			return rc;
		if (r > rss)
			rss = r;
	}
	qsort(wall, (size_t)runs, sizeof(wall[0]), cmp_u64);
	qsort(cpu, (size_t)runs, sizeof(cpu[0]), cmp_u64);
	FILE *out = fopen(argv[1], "w");
	if (!out) {
		fprintf(stderr, "runstat: %s: cannot write\n", argv[1]);
		return 1;
	}
	fprintf(out, "%llu %llu %ld\n", (unsigned long long)wall[runs / 2],
		(unsigned long long)cpu[runs / 2], rss);
	fclose(out);
	return 0;
}
