/* SPDX-License-Identifier: MIT */
/*
 * rel_load: connect load for the reliability suite (tests/reliability/).
 *
 *   rel_load now
 *       print CLOCK_MONOTONIC in ns (the clock of the trace's ts_ns)
 *   rel_load steady --rate N [--seconds S] [--log FILE]
 *       TCP connects to a loopback listener of its own, N a second, until
 *       S seconds passed or SIGTERM/SIGINT; one log line per connect:
 *       "t0_ns t1_ns pid tid fd dport ret" with t0/t1 CLOCK_MONOTONIC taken
 *       just before and after connect(2). Prints "ready" on stderr once the
 *       listener is up.
 *   rel_load storm --count N [--vary-ports] [--seconds S] [--rate R] [--threads T]
 *       UDP connects to 127.0.0.1 as fast as it can (or R a second): N of
 *       them (0 = until SIGTERM/SIGINT or S seconds); prints "generated N"
 *       on stdout, N being every connect(2) call made, successful or not;
 *       T threads share the work (so both CPUs overflow the ring buffer).
 *   rel_load connect tcp|udp ADDR PORT
 *       one connect; prints "ok" or the errno name (ECONNREFUSED, EPERM, ...)
 *   rel_load listen PORTFILE
 *       TCP listener on 127.0.0.1, port written to PORTFILE, accepts until
 *       killed
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lib/util.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void die(const char *what)
{
	fprintf(stderr, "rel_load: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void install_stop_handlers(void)
{
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

/* A listening TCP socket on 127.0.0.1, kernel-chosen port. */
static int tcp_listener(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("bind");
	if (listen(fd, 4096) < 0)
		die("listen");
	socklen_t len = sizeof(sa);
	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		die("getsockname");
	*port = ntohs(sa.sin_port);
	return fd;
}

static void *accept_loop(void *arg)
{
	int lfd = (int)(intptr_t)arg;
	for (;;) {
		int c = accept(lfd, NULL, NULL);
		if (c >= 0)
			close(c);
	}
	return NULL;
}

static const char *opt_value(int argc, char **argv, const char *name, const char *def)
{
	for (int i = 0; i + 1 < argc; i++)
		if (!strcmp(argv[i], name))
			return argv[i + 1];
	return def;
}

static int opt_flag(int argc, char **argv, const char *name)
{
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return 0;
}

static int cmd_steady(int argc, char **argv)
{
	double rate = atof(opt_value(argc, argv, "--rate", "200"));
	double seconds = atof(opt_value(argc, argv, "--seconds", "0"));
	const char *logpath = opt_value(argc, argv, "--log", "-");
	if (rate <= 0)
		rate = 200;
	FILE *log = strcmp(logpath, "-") ? fopen(logpath, "w") : stdout;
	if (!log)
		die(logpath);
	install_stop_handlers();

	uint16_t port;
	int lfd = tcp_listener(&port);
	pthread_t th;
	if (pthread_create(&th, NULL, accept_loop, (void *)(intptr_t)lfd))
		die("pthread_create");
	fprintf(stderr, "ready\n");

	pid_t pid = getpid();
	pid_t tid = (pid_t)syscall(SYS_gettid);
	uint64_t period = (uint64_t)(1e9 / rate);
	uint64_t start = ct_now_ns(CLOCK_MONOTONIC), next = start;
	uint64_t end = seconds > 0 ? start + (uint64_t)(seconds * 1e9) : UINT64_MAX;
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons(port)};
	while (!stop && ct_now_ns(CLOCK_MONOTONIC) < end) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			die("socket");
		uint64_t t0 = ct_now_ns(CLOCK_MONOTONIC);
		int ret = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
		uint64_t t1 = ct_now_ns(CLOCK_MONOTONIC);
		close(fd);
		fprintf(log, "%llu %llu %d %d %d %u %d\n", (unsigned long long)t0,
			(unsigned long long)t1, (int)pid, (int)tid, fd, port, ret);
		/* A steady rate, not a burst after a stall: skip missed slots. */
		next += period;
		uint64_t now = ct_now_ns(CLOCK_MONOTONIC);
		if (next < now)
			next = now;
		struct timespec d = {.tv_sec = (time_t)((next - now) / 1000000000ull),
				     .tv_nsec = (long)((next - now) % 1000000000ull)};
		nanosleep(&d, NULL);
	}
	if (fflush(log) || (log != stdout && fclose(log)))
		die(logpath);
	return 0;
}

struct storm {
	long long count; /* this thread's share; 0 = until stopped */
	double seconds, rate;
	int vary;
	uint32_t seed;
	long long made;
};

static void *storm_thread(void *arg)
{
	struct storm *st = arg;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		die("socket");
	struct sockaddr_in sa = {
	    .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = htons(9)};
	uint64_t start = ct_now_ns(CLOCK_MONOTONIC);
	uint64_t end = st->seconds > 0 ? start + (uint64_t)(st->seconds * 1e9) : UINT64_MAX;
	long long made = 0;
	uint32_t x = st->seed;
	while (!stop && (st->count == 0 || made < st->count)) {
		if (st->vary) {
			/* xorshift: ports and addresses that compress badly. */
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			sa.sin_port = htons((uint16_t)(1024 + x % 60000));
			sa.sin_addr.s_addr = htonl(0x7f000000u | (x >> 8));
		}
		connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		made++;
		if ((made & 63) == 0) {
			uint64_t now = ct_now_ns(CLOCK_MONOTONIC);
			if (now >= end)
				break;
			/* --rate: sleep until this many connects are due. */
			if (st->rate > 0) {
				uint64_t due = start + (uint64_t)((double)made / st->rate * 1e9);
				if (due > now) {
					struct timespec d = {
					    .tv_sec = (time_t)((due - now) / 1000000000ull),
					    .tv_nsec = (long)((due - now) % 1000000000ull)};
					nanosleep(&d, NULL);
				}
			}
		}
	}
	close(fd);
	st->made = made;
	return NULL;
}

static int cmd_storm(int argc, char **argv)
{
	long long count = atoll(opt_value(argc, argv, "--count", "0"));
	int threads = atoi(opt_value(argc, argv, "--threads", "1"));
	if (threads < 1 || threads > 64)
		threads = 1;
	install_stop_handlers();
	struct storm st[64];
	pthread_t th[64];
	for (int i = 0; i < threads; i++) {
		st[i] = (struct storm){
		    .count = count / threads + (i < count % threads),
		    .seconds = atof(opt_value(argc, argv, "--seconds", "0")),
		    .rate = atof(opt_value(argc, argv, "--rate", "0")) / threads,
		    .vary = opt_flag(argc, argv, "--vary-ports"),
		    .seed = 2463534242u + 7919u * (uint32_t)i,
		};
		if (count && !st[i].count)
			continue;
		if (pthread_create(&th[i], NULL, storm_thread, &st[i]))
			die("pthread_create");
	}
	long long made = 0;
	for (int i = 0; i < threads; i++) {
		if (count && !st[i].count)
			continue;
		pthread_join(th[i], NULL);
		made += st[i].made;
	}
	printf("generated %lld\n", made);
	return 0;
}

static const char *errno_name(int e)
{
	switch (e) {
	case 0:
		return "ok";
	case ECONNREFUSED:
		return "ECONNREFUSED";
	case EPERM:
		return "EPERM";
	case EACCES:
		return "EACCES";
	case ETIMEDOUT:
		return "ETIMEDOUT";
	case ENETUNREACH:
		return "ENETUNREACH";
	case EHOSTUNREACH:
		return "EHOSTUNREACH";
	case EINPROGRESS:
		return "EINPROGRESS";
	default:
		return strerror(e);
	}
}

static int cmd_connect(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: rel_load connect tcp|udp ADDR PORT\n");
		return 2;
	}
	int type = strcmp(argv[1], "udp") ? SOCK_STREAM : SOCK_DGRAM;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3]))};
	if (inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1) {
		fprintf(stderr, "rel_load: bad address %s\n", argv[2]);
		return 2;
	}
	int fd = socket(AF_INET, type, 0);
	if (fd < 0)
		die("socket");
	int e = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ? errno : 0;
	printf("%s\n", errno_name(e));
	close(fd);
	return 0;
}

static int cmd_listen(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: rel_load listen PORTFILE\n");
		return 2;
	}
	uint16_t port;
	int lfd = tcp_listener(&port);
	FILE *f = fopen(argv[1], "w");
	if (!f || fprintf(f, "%u\n", port) < 0 || fclose(f))
		die(argv[1]);
	accept_loop((void *)(intptr_t)lfd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: rel_load now|steady|storm|connect|listen ...\n");
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "now")) {
		printf("%llu\n", (unsigned long long)ct_now_ns(CLOCK_MONOTONIC));
		return 0;
	}
	if (!strcmp(cmd, "steady"))
		return cmd_steady(argc - 1, argv + 1);
	if (!strcmp(cmd, "storm"))
		return cmd_storm(argc - 1, argv + 1);
	if (!strcmp(cmd, "connect"))
		return cmd_connect(argc - 1, argv + 1);
	if (!strcmp(cmd, "listen"))
		return cmd_listen(argc - 1, argv + 1);
	fprintf(stderr, "rel_load: unknown mode %s\n", cmd);
	return 2;
}
