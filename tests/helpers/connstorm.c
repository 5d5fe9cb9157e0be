/* SPDX-License-Identifier: MIT */
/*
 * connstorm: a UDP connect() storm on loopback that counts what it did.
 *
 *   connstorm COUNT [--seq BASE] [--warmup N]
 *
 * COUNT connect(2) calls on one UDP socket to 127.0.0.1, port 9 or, with
 * --seq, BASE + i for the i-th call (so a trace shows the order and any gap;
 * COUNT + BASE must stay below 65536). --warmup makes N untimed connects to
 * port 9 first. Prints one line on stdout:
 *   generated=N failed=F elapsed_ns=T ns_per_connect=X cpu_ns_per_connect=C pid=P
 * where N counts every timed connect(2) call, successful or not, and C is
 * the thread's CPU time (user + system, BPF programs included) per call,
 * which a busy machine disturbs less than the wall-clock X.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long long count, base = -1, warmup = 0;
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(9)};
	uint64_t failed = 0;
	int fd;

	if (argc < 2 || (count = atoll(argv[1])) <= 0) {
		fprintf(stderr, "usage: connstorm COUNT [--seq BASE] [--warmup N]\n");
		return 2;
	}
	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--seq"))
			base = atoll(argv[i + 1]);
		else if (!strcmp(argv[i], "--warmup"))
			warmup = atoll(argv[i + 1]);
	}
	if (base >= 0 && (base < 1 || base + count > 65535)) {
		fprintf(stderr, "connstorm: --seq %lld with %lld connects leaves the port range\n",
			base, count);
		return 2;
	}
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("connstorm: socket");
		return 1;
	}
	for (long long i = 0; i < warmup; i++)
		connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	uint64_t t0 = now_ns(CLOCK_MONOTONIC), c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	for (long long i = 0; i < count; i++) {
		if (base >= 0)
			sin.sin_port = htons((uint16_t)(base + i));
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
			failed++;
	}
	uint64_t t1 = now_ns(CLOCK_MONOTONIC), c1 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	printf("generated=%lld failed=%llu elapsed_ns=%llu ns_per_connect=%.1f "
	       "cpu_ns_per_connect=%.1f pid=%d\n",
	       count, (unsigned long long)failed, (unsigned long long)(t1 - t0),
	       (double)(t1 - t0) / (double)count, (double)(c1 - c0) / (double)count, (int)getpid());
	close(fd);
	return 0;
}
