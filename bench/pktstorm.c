/* SPDX-License-Identifier: MIT */
/*
 * pktstorm: a loopback UDP packet storm that times itself, for bench/run.sh
 * part P9 (the cost of record's DNS hook, a cgroup_skb/ingress program that
 * sees every packet a socket receives).
 *
 *   pktstorm plain|dns COUNT
 *
 * plain: COUNT 64-byte datagrams from an ephemeral port to a receiving
 *        socket of this process, each received: the hook's fast exit.
 * dns:   the same from 127.0.0.1:53 (root), each a valid DNS answer
 *        (bench.ct.test A 127.0.0.9, TTL 60): the hook copies it and
 *        record parses it; record's closing lines count answers and losses.
 *
 * Sends and receives in bursts of 32 (the socket buffer never overflows).
 * Only the loop is timed: this thread's CPU time, which includes the
 * receive path the hook runs in (loopback delivers in the sender's
 * softirq). Prints:
 *   mode=plain packets=N elapsed_ns=T ns_per_packet=X cpu_ns_per_packet=Y
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

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const uint8_t answer[] = {0x12, 0x34, 0x81, 0x80, 0,   1,   0, 1,    0,	  0, 0,	  0,
				 5,    'b',  'e',  'n',	 'c', 'h', 2, 'c',  't',  4, 't', 'e',
				 's',  't',  0,	   0,	 1,   0,   1, 0xc0, 0x0c, 0, 1,	  0,
				 1,    0,    0,	   0,	 60,  0,   4, 127,  0,	  0, 9};

int main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "plain") && strcmp(argv[1], "dns"))) {
		fprintf(stderr, "usage: pktstorm plain|dns COUNT\n");
		return 2;
	}
	int dns = !strcmp(argv[1], "dns");
	long n = strtol(argv[2], NULL, 10);
	if (n < 32) {
		fprintf(stderr, "pktstorm: bad COUNT '%s'\n", argv[2]);
		return 2;
	}
	int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in ra = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in ta = ra;
	socklen_t len = sizeof(ra);
	int one = 1;
	ta.sin_port = htons(dns ? 53 : 0);
	setsockopt(tx, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (rx < 0 || tx < 0 || bind(rx, (struct sockaddr *)&ra, sizeof(ra)) ||
	    getsockname(rx, (struct sockaddr *)&ra, &len) ||
	    bind(tx, (struct sockaddr *)&ta, sizeof(ta)) ||
	    connect(tx, (struct sockaddr *)&ra, sizeof(ra))) {
		perror("pktstorm: socket setup");
		return 1;
	}
	uint8_t buf[64], in[512];
	memset(buf, 'x', sizeof(buf));
	const void *msg = dns ? (const void *)answer : buf;
	size_t mlen = dns ? sizeof(answer) : sizeof(buf);
	uint64_t c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), t0 = clock_ns(CLOCK_MONOTONIC);
	for (long i = 0; i < n; i += 32) {
		for (int k = 0; k < 32; k++)
			if (send(tx, msg, mlen, 0) < 0) {
				perror("pktstorm: send");
				return 1;
			}
		for (int k = 0; k < 32; k++)
			if (recv(rx, in, sizeof(in), 0) < 0) {
				perror("pktstorm: recv");
				return 1;
			}
	}
	long sent = (n + 31) / 32 * 32;
	uint64_t cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0, el = clock_ns(CLOCK_MONOTONIC) - t0;
	printf("mode=%s packets=%ld elapsed_ns=%llu ns_per_packet=%.1f cpu_ns_per_packet=%.1f\n",
	       argv[1], sent, (unsigned long long)el, (double)el / (double)sent,
	       (double)cpu / (double)sent);
	return 0;
}
