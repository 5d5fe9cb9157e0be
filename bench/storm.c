/* SPDX-License-Identifier: MIT */
/*
 * storm: a loopback connect() storm that times itself, for bench/run.sh.
 *
 *   storm MODE COUNT [PORT]
 *
 * MODE
 *   udp        one UDP socket, connect() to 127.0.0.1:PORT COUNT times. Each
 *              call is a full connect(2) (the kernel re-resolves the route and
 *              rebinds), so it is the cheapest syscall that reaches the hook.
 *   udp-fresh  socket() + connect() + close() per attempt: what a resolver or
 *              a short-lived UDP client does.
 *   tcp        socket() + connect() + close() per attempt to a loopback
 *              listener served by a thread of this process; SO_LINGER 0 so
 *              no TIME_WAIT piles up and the ports never run out. Blocking:
 *              connect(2) returns once the handshake is done.
 *   tcp-nb     the same with a non-blocking socket, the way curl, Go, node
 *              and asyncio connect: connect(2) returns EINPROGRESS, then
 *              poll() for POLLOUT and getsockopt(SO_ERROR) read the outcome
 *              (what a tracer of the final outcome has to follow).
 *
 * PORT (udp modes only, default 9) lets bench/run.sh send a probe connect
 * it can recognise in a trace. COUNT below the warm-up size skips warm-up.
 *
 * Only the loop is timed, after a short warm-up, so process start-up and the
 * tracer's start-up are not counted: wall time (CLOCK_MONOTONIC) and the
 * connecting thread's CPU time. Prints one line:
 *   mode=udp connects=N elapsed_ns=T ns_per_connect=X cpu_ns_per_connect=Y
 *   failed=F inprogress=I pid=P
 * Exit status 0, 1 on a setup failure, 2 on bad arguments.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum storm_mode { MODE_UDP, MODE_UDP_FRESH, MODE_TCP, MODE_TCP_NB };

#define WARMUP 10000
#define UDP_PORT 9 /* discard; nothing needs to listen for a UDP connect */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* CPU time (user + system) this thread has used. In-kernel tracing cost
 * (BPF programs, tracepoint entry) runs in the connecting thread and counts
 * here; time spent waiting for a CPU the shared machine gave to someone
 * else does not, so this is steadier than wall time on a busy machine. */
static uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *accept_loop(void *arg)
{
	int lfd = *(int *)arg;
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd >= 0)
			close(fd);
		else if (errno != EINTR && errno != ECONNABORTED)
			return NULL;
	}
}

/* A listener on 127.0.0.1, an ephemeral port, drained by a thread. */
static int start_listener(struct sockaddr_in *addr)
{
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0)
		return -1;
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	socklen_t len = sizeof(*addr);
	if (bind(lfd, (struct sockaddr *)addr, sizeof(*addr)) < 0 || listen(lfd, 4096) < 0 ||
	    getsockname(lfd, (struct sockaddr *)addr, &len) < 0) {
		close(lfd);
		return -1;
	}
	static int shared_fd;
	shared_fd = lfd;
	pthread_t th;
	if (pthread_create(&th, NULL, accept_loop, &shared_fd) != 0) {
		close(lfd);
		return -1;
	}
	pthread_detach(th);
	return lfd;
}

static unsigned long long inprogress; /* tcp-nb connects that said EINPROGRESS */

/* A non-blocking connect's outcome: 0 once connected, -1 on failure. */
static int finish_connect(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int err = 0;
	socklen_t len = sizeof(err);

	inprogress++;
	if (poll(&p, 1, 5000) != 1)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err)
		return -1;
	return 0;
}

/* One connect attempt. Returns 0, or -1 when the connect failed. */
static int one_connect(enum storm_mode mode, int udp_fd, const struct sockaddr_in *addr)
{
	if (mode == MODE_UDP)
		return connect(udp_fd, (const struct sockaddr *)addr, sizeof(*addr));
	int type = mode == MODE_UDP_FRESH ? SOCK_DGRAM
		   : mode == MODE_TCP_NB  ? SOCK_STREAM | SOCK_NONBLOCK
					  : SOCK_STREAM;
	int fd = socket(AF_INET, type, 0);
	if (fd < 0)
		return -1;
	if (mode != MODE_UDP_FRESH) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	int rc = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	if (rc < 0 && mode == MODE_TCP_NB && errno == EINPROGRESS)
		rc = finish_connect(fd);
	close(fd);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: storm udp|udp-fresh|tcp|tcp-nb COUNT [PORT]\n");
		return 2;
	}
	enum storm_mode mode;
	if (!strcmp(argv[1], "udp"))
		mode = MODE_UDP;
	else if (!strcmp(argv[1], "udp-fresh"))
		mode = MODE_UDP_FRESH;
	else if (!strcmp(argv[1], "tcp"))
		mode = MODE_TCP;
	else if (!strcmp(argv[1], "tcp-nb"))
		mode = MODE_TCP_NB;
	else {
		fprintf(stderr, "storm: unknown mode '%s'\n", argv[1]);
		return 2;
	}
	char *end;
	unsigned long long count = strtoull(argv[2], &end, 10);
	if (*end || count == 0) {
		fprintf(stderr, "storm: bad COUNT '%s'\n", argv[2]);
		return 2;
	}

	unsigned long port = UDP_PORT;
	if (argc == 4) {
		port = strtoul(argv[3], &end, 10);
		if (*end || port == 0 || port > 65535 || mode == MODE_TCP || mode == MODE_TCP_NB) {
			fprintf(stderr, "storm: bad PORT '%s' (udp modes only)\n", argv[3]);
			return 2;
		}
	}
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (mode == MODE_TCP || mode == MODE_TCP_NB) {
		addr.sin_port = 0;
		if (start_listener(&addr) < 0) {
			perror("storm: loopback listener");
			return 1;
		}
	}
	int udp_fd = -1;
	if (mode == MODE_UDP) {
		udp_fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (udp_fd < 0) {
			perror("storm: socket");
			return 1;
		}
	}

	for (int i = 0; count >= WARMUP && i < WARMUP; i++)
		one_connect(mode, udp_fd, &addr);

	unsigned long long failed = 0;
	inprogress = 0;
	uint64_t c0 = cpu_ns(), t0 = now_ns();
	for (unsigned long long i = 0; i < count; i++)
		if (one_connect(mode, udp_fd, &addr) < 0)
			failed++;
	uint64_t elapsed = now_ns() - t0, cpu = cpu_ns() - c0;

	printf("mode=%s connects=%llu elapsed_ns=%llu ns_per_connect=%.1f cpu_ns_per_connect=%.1f "
	       "failed=%llu inprogress=%llu pid=%d\n",
	       argv[1], count, (unsigned long long)elapsed, (double)elapsed / (double)count,
	       (double)cpu / (double)count, failed, inprogress, (int)getpid());
	return 0;
}
