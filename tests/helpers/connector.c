/* SPDX-License-Identifier: MIT */
/*
 * connector: makes a known set of connects and logs each one as a JSON line
 * with the keys and spellings of `conntrail script --json`, so a live test can
 * compare every field of every recorded event with what really happened.
 *
 *   connector LOGFILE [DIR [NAME=ADDR:PORT ...]]
 *
 * DIR (default /tmp) holds the UNIX socket. Connects, in order:
 *   tcp4-ok          TCP to a loopback listener                -> 0
 *   tcp4-refused     TCP to a bound, not listening port        -> ECONNREFUSED
 *   tcp4-nonblock    non-blocking TCP to the listener          -> EINPROGRESS, then ok
 *   udp6             UDP to [::1]                              -> 0
 *   unix-path        UNIX stream to a listening socket in DIR  -> 0
 *   unix-abstract    UNIX stream to a listening abstract name  -> 0
 *   other-family     UDP socket, sockaddr family 5 (AppleTalk) -> EAFNOSUPPORT
 *   tcp4-thread      TCP to the listener from a second thread  -> 0
 *   tcp6-bytes       non-blocking TCP to [::1], sends 1000 bytes, receives 3000,
 *                    the peer closes first                     -> ok, closed
 *   tcp4-nb-refused  non-blocking TCP to the bound port        -> ECONNREFUSED later
 *   tcp4-fill        TCP to a listener with backlog 0, filling its
 *                    accept queue (open until the end)         -> 0
 *   tcp4-abandoned   non-blocking TCP to a listener whose accept queue is full
 *                    (SYNs dropped), closed after 100 ms       -> abandoned
 *   tcp4-timeout     the same with TCP_SYNCNT 1                -> ETIMEDOUT in ~3 s
 *   NAME             each NAME=ADDR:PORT argument: non-blocking TCP there
 *                    (IPv4 or [IPv6]), waited for up to 20 s   -> whatever came
 * Each line: {"case":..,"pid":..,"tid":..,"comm":..,"uid":..,"gid":..,
 * "sockfd":..,"family":..,"type":..[,"proto":..][,"daddr":..,"dport":..]
 * [,"saddr":..,"sport":..][,"path":..,"abstract":..],"ret":..[,"result":..]
 * [,"outcome":"abandoned"][,"tx_bytes":..,"rx_bytes":..]}: saddr/sport from
 * getsockname right after connect returned (when bound), result as the
 * program saw it (ret, or poll + SO_ERROR after EINPROGRESS). Exit 1 when a
 * setup step fails.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static FILE *logf;

static void die(const char *what)
{
	fprintf(stderr, "connector: %s: %s\n", what, strerror(errno));
	exit(1);
}

static const char *type_name(int type)
{
	switch (type) {
	case SOCK_STREAM:
		return "SOCK_STREAM";
	case SOCK_DGRAM:
		return "SOCK_DGRAM";
	}
	return "?";
}

static void json_escaped(const char *s, size_t n)
{
	fputc('"', logf);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(logf, "\\%c", c);
		else if (c < 0x20)
			fprintf(logf, "\\u%04x", c);
		else
			fputc(c, logf);
	}
	fputc('"', logf);
}

/* What the program learns after connect returned: the final result
 * (after EINPROGRESS: poll, then SO_ERROR), or "abandoned" when it closes
 * the socket first (abandon_ms > 0). */
struct after {
	int wait_ms;	/* poll this long after EINPROGRESS; 0: do not wait */
	int abandon_ms; /* instead close the socket after this long */
	long tx, rx;	/* bytes to send and receive once connected (-1: none) */
};

/* The address (text, INET6_ADDRSTRLEN bytes) and port of an IPv4 or IPv6
 * sockaddr; 0 for another family. */
static int ip_of(const struct sockaddr *sa, char *text, unsigned *port)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, text, INET6_ADDRSTRLEN);
		*port = ntohs(sin->sin_port);
		return 1;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, text, INET6_ADDRSTRLEN);
		*port = ntohs(sin6->sin6_port);
		return 1;
	}
	return 0;
}

static void log_local_end(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char text[INET6_ADDRSTRLEN];
	unsigned port;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) ||
	    !ip_of((struct sockaddr *)&ss, text, &port) || !port)
		return;
	fprintf(logf, "\"saddr\":\"%s\",\"sport\":%u,", text, port);
}

static void transfer(int fd, long tx, long rx)
{
	char buf[4096];
	long n = 0;

	memset(buf, 'x', sizeof(buf));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	while (n < tx) {
		ssize_t w =
		    write(fd, buf, (size_t)(tx - n) < sizeof(buf) ? (size_t)(tx - n) : sizeof(buf));
		if (w <= 0)
			die("transfer write");
		n += w;
	}
	for (n = 0; n < rx;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r <= 0)
			die("transfer read");
		n += r;
	}
	/* The peer closes first; wait for its FIN so the counts are final. */
	if (read(fd, buf, sizeof(buf)) != 0)
		die("transfer: the peer sent more");
}

/* Do one connect and log it. addr's family decides the address keys. */
static int do_connect_after(const char *name, int fd, int type, const char *proto,
			    const struct sockaddr *addr, socklen_t len, const struct after *after)
{
	int ret = connect(fd, addr, len) ? -errno : 0;
	char comm[17] = "";
	char text[INET6_ADDRSTRLEN];
	long result_known = 1, result = ret, abandoned = 0;

	prctl(PR_GET_NAME, comm);
	fprintf(logf,
		"{\"case\":\"%s\",\"pid\":%d,\"tid\":%ld,\"comm\":\"%s\",\"uid\":%u,\"gid\":%u,"
		"\"sockfd\":%d,",
		name, (int)getpid(), (long)syscall(SYS_gettid), comm, (unsigned)getuid(),
		(unsigned)getgid(), fd);
	switch (addr->sa_family) {
	case AF_INET:
	case AF_INET6: {
		unsigned port;
		ip_of(addr, text, &port);
		fprintf(logf, "\"family\":\"%s\",\"type\":\"%s\",\"proto\":\"%s\",",
			addr->sa_family == AF_INET ? "AF_INET" : "AF_INET6", type_name(type),
			proto);
		fprintf(logf, "\"daddr\":\"%s\",\"dport\":%u,", text, port);
		log_local_end(fd);
		break;
	}
	case AF_UNIX: {
		const struct sockaddr_un *sun = (const void *)addr;
		size_t n = len - offsetof(struct sockaddr_un, sun_path);
		int abstract = n > 0 && sun->sun_path[0] == 0;
		fprintf(logf, "\"family\":\"AF_UNIX\",\"type\":\"%s\",", type_name(type));
		fputs("\"path\":", logf);
		if (abstract) {
			char buf[110] = "@";
			memcpy(buf + 1, sun->sun_path + 1, n - 1);
			json_escaped(buf, n);
		} else {
			json_escaped(sun->sun_path, strnlen(sun->sun_path, n));
		}
		fprintf(logf, ",\"abstract\":%s,", abstract ? "true" : "false");
		break;
	}
	default:
		/* the name DESIGN.md gives it: the kernel's, or AF_<n> */
		if (addr->sa_family == 5)
			fprintf(logf, "\"family\":\"AF_APPLETALK\",");
		else
			fprintf(logf, "\"family\":\"AF_%u\",", addr->sa_family);
		fprintf(logf, "\"type\":\"%s\",\"proto\":\"%s\",", type_name(type), proto);
	}
	if (ret == -EINPROGRESS && after && after->abandon_ms) {
		usleep((useconds_t)after->abandon_ms * 1000);
		close(fd);
		result_known = 0;
		abandoned = 1;
	} else if (ret == -EINPROGRESS && after && after->wait_ms) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int err = 0;
		socklen_t elen = sizeof(err);
		if (poll(&p, 1, after->wait_ms) == 1 &&
		    !getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen))
			result = -err;
		else
			result_known = 0; /* still going: the trace must say unknown too */
	} else if (ret == -EINPROGRESS) {
		result_known = 0;
	}
	fprintf(logf, "\"ret\":%d", ret);
	if (result_known)
		fprintf(logf, ",\"result\":%ld", result);
	if (abandoned)
		fprintf(logf, ",\"outcome\":\"abandoned\"");
	if (result_known && result == 0 && after && after->tx >= 0) {
		transfer(fd, after->tx, after->rx);
		fprintf(logf, ",\"tx_bytes\":%ld,\"rx_bytes\":%ld", after->tx, after->rx);
	}
	fputs("}\n", logf);
	fflush(logf);
	return ret;
}

static const struct after wait_result = {.wait_ms = 20000, .tx = -1, .rx = -1};

static int do_connect(const char *name, int fd, int type, const char *proto,
		      const struct sockaddr *addr, socklen_t len)
{
	return do_connect_after(name, fd, type, proto, addr, len, &wait_result);
}

/* The peer of tcp6-bytes: reads 1000 bytes, sends 3000, closes first. */
static void *bytes_peer(void *arg)
{
	int lfd = *(int *)arg, c = accept(lfd, NULL, NULL);
	char buf[4096];
	long n = 0;

	if (c < 0)
		die("accept");
	while (n < 1000) {
		ssize_t r = read(c, buf, sizeof(buf));
		if (r <= 0)
			die("bytes peer read");
		n += r;
	}
	memset(buf, 'y', sizeof(buf));
	if (write(c, buf, 3000) != 3000)
		die("bytes peer write");
	close(c);
	return NULL;
}

/* NAME=ADDR:PORT or NAME=[ADDR6]:PORT: a non-blocking TCP connect there. */
static void extra_connect(const char *arg)
{
	char name[64], host[INET6_ADDRSTRLEN + 2];
	unsigned port;
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
	struct sockaddr_in sin = {.sin_family = AF_INET};
	int v6 = sscanf(arg, "%63[^=]=[%45[^]]]:%u", name, host, &port) == 3;

	if (!v6 && sscanf(arg, "%63[^=]=%45[^:]:%u", name, host, &port) != 3) {
		errno = EINVAL;
		die(arg);
	}
	/* One path for both families: only the sockaddr differs. */
	sin6.sin6_port = sin.sin_port = htons((uint16_t)port);
	void *addr = v6 ? (void *)&sin6.sin6_addr : (void *)&sin.sin_addr;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, addr) != 1)
		die(arg);
	struct sockaddr *sa = v6 ? (struct sockaddr *)&sin6 : (struct sockaddr *)&sin;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		die("socket");
	do_connect(name, fd, SOCK_STREAM, "tcp", sa, v6 ? sizeof(sin6) : sizeof(sin));
	close(fd);
}

static struct sockaddr_in listener_addr;

static void *thread_connect(void *arg)
{
	(void)arg;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	do_connect("tcp4-thread", fd, SOCK_STREAM, "tcp", (struct sockaddr *)&listener_addr,
		   sizeof(listener_addr));
	close(fd);
	return NULL;
}

/* backlog < 0: bound, not listening. */
static int tcp_socket_on_loopback(struct sockaddr_in *sin, int backlog)
{
	socklen_t len = sizeof(*sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)sin, sizeof(*sin)) ||
	    (backlog >= 0 && listen(fd, backlog)) || getsockname(fd, (struct sockaddr *)sin, &len))
		die("loopback socket");
	return fd;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 2 ? argv[2] : "/tmp";
	struct sockaddr_in refused;
	int fd;

	if (argc < 2) {
		fprintf(stderr, "usage: connector LOGFILE [DIR]\n");
		return 2;
	}
	logf = fopen(argv[1], "w");
	if (!logf)
		die(argv[1]);

	int lfd = tcp_socket_on_loopback(&listener_addr, 16);
	int bound = tcp_socket_on_loopback(&refused, -1); /* held: nobody else gets it */

	fd = socket(AF_INET, SOCK_STREAM, 0);
	do_connect("tcp4-ok", fd, SOCK_STREAM, "tcp", (struct sockaddr *)&listener_addr,
		   sizeof(listener_addr));
	close(fd);

	fd = socket(AF_INET, SOCK_STREAM, 0);
	do_connect("tcp4-refused", fd, SOCK_STREAM, "tcp", (struct sockaddr *)&refused,
		   sizeof(refused));
	close(fd);

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	do_connect("tcp4-nonblock", fd, SOCK_STREAM, "tcp", (struct sockaddr *)&listener_addr,
		   sizeof(listener_addr));
	close(fd);

	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(5353)};
	sin6.sin6_addr = in6addr_loopback;
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (fd < 0)
		die("socket AF_INET6");
	do_connect("udp6", fd, SOCK_DGRAM, "udp", (struct sockaddr *)&sin6, sizeof(sin6));
	close(fd);

	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/conn-%d.sock", dir, (int)getpid());
	unlink(sun.sun_path);
	int ufd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (ufd < 0 || bind(ufd, (struct sockaddr *)&sun, sizeof(sun)) || listen(ufd, 4))
		die(sun.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	do_connect("unix-path", fd, SOCK_STREAM, "", (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	unlink(sun.sun_path);

	/* Abstract: length from addrlen, leading NUL, no terminator. */
	struct sockaddr_un abs = {.sun_family = AF_UNIX};
	int n = snprintf(abs.sun_path + 1, sizeof(abs.sun_path) - 1, "conntrail-test-%d",
			 (int)getpid());
	socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	int afd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (afd < 0 || bind(afd, (struct sockaddr *)&abs, alen) || listen(afd, 4))
		die("abstract socket");
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	do_connect("unix-abstract", fd, SOCK_STREAM, "", (struct sockaddr *)&abs, alen);
	close(fd);

	/* A family the socket cannot speak: the kernel says EAFNOSUPPORT. */
	struct sockaddr_storage odd = {.ss_family = 5};
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	do_connect("other-family", fd, SOCK_DGRAM, "udp", (struct sockaddr *)&odd,
		   sizeof(struct sockaddr_in));
	close(fd);

	pthread_t th;
	if (pthread_create(&th, NULL, thread_connect, NULL))
		die("pthread_create");
	pthread_join(th, NULL);

	/* tcp6-bytes: a known amount each way, the peer closing first. */
	struct sockaddr_in6 l6 = {.sin6_family = AF_INET6};
	socklen_t l6len = sizeof(l6);
	l6.sin6_addr = in6addr_loopback;
	int l6fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l6fd < 0 || bind(l6fd, (struct sockaddr *)&l6, sizeof(l6)) || listen(l6fd, 4) ||
	    getsockname(l6fd, (struct sockaddr *)&l6, &l6len))
		die("IPv6 listener");
	if (pthread_create(&th, NULL, bytes_peer, &l6fd))
		die("pthread_create");
	const struct after bytes = {.wait_ms = 20000, .tx = 1000, .rx = 3000};
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
	do_connect_after("tcp6-bytes", fd, SOCK_STREAM, "tcp", (struct sockaddr *)&l6, sizeof(l6),
			 &bytes);
	close(fd);
	pthread_join(th, NULL);

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	do_connect("tcp4-nb-refused", fd, SOCK_STREAM, "tcp", (struct sockaddr *)&refused,
		   sizeof(refused));
	close(fd);

	/* A listener whose accept queue is full drops SYNs: the handshake
	 * hangs until its program gives up, or the SYN retries run out. */
	struct sockaddr_in full;
	int ffd = tcp_socket_on_loopback(&full, 0);
	int filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (filler < 0 || do_connect("tcp4-fill", filler, SOCK_STREAM, "tcp",
				     (struct sockaddr *)&full, sizeof(full)))
		die("filling the accept queue");
	const struct after abandon = {.abandon_ms = 100, .tx = -1, .rx = -1};
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	do_connect_after("tcp4-abandoned", fd, SOCK_STREAM, "tcp", (struct sockaddr *)&full,
			 sizeof(full), &abandon);
	/* do_connect_after closed it */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, IPPROTO_TCP, TCP_SYNCNT, &one, sizeof(one)))
		die("TCP_SYNCNT");
	do_connect("tcp4-timeout", fd, SOCK_STREAM, "tcp", (struct sockaddr *)&full, sizeof(full));
	close(fd);

	for (int i = 3; i < argc; i++)
		extra_connect(argv[i]);

	close(filler);
	close(ffd);
	close(l6fd);
	close(lfd);
	close(bound);
	close(ufd);
	close(afd);
	fclose(logf);
	return 0;
}
