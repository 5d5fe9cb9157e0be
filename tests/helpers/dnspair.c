/* SPDX-License-Identifier: MIT */
/*
 * dnspair: a DNS server and its client in one static program, for the VM
 * guests (busybox only, no python). It serves 127.0.0.1:53 on UDP, asks it
 * for NAME (type A), answers ADDR with a 300 s TTL, and once the answer is
 * read connects a UDP socket to ADDR:PORT: the connect a trace must name
 * NAME. Then it connects to UNNAMED:PORT, an address nobody resolved.
 *
 *   dnspair NAME ADDR UNNAMED PORT
 *
 * Prints "dnspair: pid=P named=ADDR unnamed=UNNAMED port=PORT" and exits 0
 * when the exchange went as planned.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int die(const char *what)
{
	perror(what);
	return 1;
}

/* NAME as DNS labels at p; the length, or 0 when it does not fit. */
static size_t put_name(uint8_t *p, size_t room, const char *name)
{
	size_t n = 0;

	while (*name) {
		const char *dot = strchr(name, '.');
		size_t len = dot ? (size_t)(dot - name) : strlen(name);
		if (len == 0 || len > 63 || n + 1 + len + 1 > room)
			return 0;
		p[n++] = (uint8_t)len;
		memcpy(p + n, name, len);
		n += len;
		name += len + (dot ? 1 : 0);
	}
	p[n++] = 0;
	return n;
}

int main(int argc, char **argv)
{
	struct in_addr named, unnamed;
	struct sockaddr_in srv = {.sin_family = AF_INET, .sin_port = htons(53)};
	struct timeval tmo = {.tv_sec = 5};
	uint8_t q[512], a[512];
	int s, c;

	if (argc != 5 || inet_pton(AF_INET, argv[2], &named) != 1 ||
	    inet_pton(AF_INET, argv[3], &unnamed) != 1) {
		fprintf(stderr, "usage: dnspair NAME ADDR UNNAMED PORT\n");
		return 2;
	}
	uint16_t port = (uint16_t)atoi(argv[4]);
	srv.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s = socket(AF_INET, SOCK_DGRAM, 0);
	c = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0 || c < 0)
		return die("dnspair: socket");
	if (bind(s, (struct sockaddr *)&srv, sizeof(srv)))
		return die("dnspair: bind 127.0.0.1:53");
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));

	/* The query: id 0x4242, recursion desired, one question NAME A IN. */
	static const uint8_t head[12] = {0x42, 0x42, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
	memcpy(q, head, sizeof(head));
	size_t qn = put_name(q + 12, sizeof(q) - 16 - 12, argv[1]);
	if (!qn) {
		fprintf(stderr, "dnspair: %s: not a name\n", argv[1]);
		return 2;
	}
	size_t qlen = 12 + qn;
	memcpy(q + qlen, "\x00\x01\x00\x01", 4);
	qlen += 4;
	if (sendto(c, q, qlen, 0, (struct sockaddr *)&srv, sizeof(srv)) != (ssize_t)qlen)
		return die("dnspair: send the query");

	/* The server's side: the answer repeats the question, then one A
	 * record whose name points at it (a compression pointer). */
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	ssize_t got = recvfrom(s, a, sizeof(a), 0, (struct sockaddr *)&from, &flen);
	if (got != (ssize_t)qlen)
		return die("dnspair: read the query");
	a[2] = 0x81; /* response, recursion desired */
	a[3] = 0x80; /* recursion available, no error */
	a[7] = 1;    /* one answer */
	size_t alen = qlen;
	static const uint8_t rr[12] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x01, 0x2c, 0, 4};
	memcpy(a + alen, rr, sizeof(rr));
	alen += sizeof(rr);
	memcpy(a + alen, &named, 4);
	alen += 4;
	if (sendto(s, a, alen, 0, (struct sockaddr *)&from, flen) != (ssize_t)alen)
		return die("dnspair: send the answer");

	/* The client reads its answer, then connects where it said. */
	uint8_t back[512];
	if (recv(c, back, sizeof(back), 0) != (ssize_t)alen)
		return die("dnspair: read the answer");
	struct sockaddr_in dst = {
	    .sin_family = AF_INET, .sin_port = htons(port), .sin_addr = named};
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	if (u < 0 || connect(u, (struct sockaddr *)&dst, sizeof(dst)))
		return die("dnspair: connect to the named address");
	dst.sin_addr = unnamed;
	int v = socket(AF_INET, SOCK_DGRAM, 0);
	if (v < 0 || connect(v, (struct sockaddr *)&dst, sizeof(dst)))
		return die("dnspair: connect to the unnamed address");
	printf("dnspair: pid=%d named=%s unnamed=%s port=%u\n", (int)getpid(), argv[2], argv[3],
	       (unsigned)port);
	return 0;
}
