/* SPDX-License-Identifier: MIT */
/*
 * connector: makes a known set of connects and logs each one as a JSON line
 * with the keys and spellings of `conntrail script --json`, so a live test can
 * compare every field of every recorded event with what really happened.
 *
 *   connector LOGFILE [DIR]
 *
 * DIR (default /tmp) holds the UNIX socket. Connects, in order:
 *   tcp4-ok        TCP to a loopback listener                  -> 0
 *   tcp4-refused   TCP to a bound, not listening port          -> ECONNREFUSED
 *   tcp4-nonblock  non-blocking TCP to the listener            -> whatever came
 *   udp6           UDP to [::1]                                -> 0
 *   unix-path      UNIX stream to a listening socket in DIR    -> 0
 *   unix-abstract  UNIX stream to a listening abstract name    -> 0
 *   other-family   UDP socket, sockaddr family 5 (AppleTalk)   -> EAFNOSUPPORT
 *   tcp4-thread    TCP to the listener from a second thread    -> 0
 * Each line: {"case":..,"pid":..,"tid":..,"comm":..,"uid":..,"gid":..,
 * "sockfd":..,"family":..,"type":..[,"proto":..][,"daddr":..,"dport":..]
 * [,"path":..,"abstract":..],"ret":..}. Exit 1 when a setup step fails.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <netinet/in.h>
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

/* Do one connect and log it. addr's family decides the address keys. */
static int do_connect(const char *name, int fd, int type, const char *proto,
		      const struct sockaddr *addr, socklen_t len)
{
	int ret = connect(fd, addr, len) ? -errno : 0;
	char comm[17] = "";
	char text[INET6_ADDRSTRLEN];

	prctl(PR_GET_NAME, comm);
	fprintf(logf,
		"{\"case\":\"%s\",\"pid\":%d,\"tid\":%ld,\"comm\":\"%s\",\"uid\":%u,\"gid\":%u,"
		"\"sockfd\":%d,",
		name, (int)getpid(), (long)syscall(SYS_gettid), comm, (unsigned)getuid(),
		(unsigned)getgid(), fd);
	switch (addr->sa_family) {
	case AF_INET: {
		const struct sockaddr_in *sin = (const void *)addr;
		inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text));
		fprintf(logf, "\"family\":\"AF_INET\",\"type\":\"%s\",\"proto\":\"%s\",",
			type_name(type), proto);
		fprintf(logf, "\"daddr\":\"%s\",\"dport\":%u,", text, ntohs(sin->sin_port));
		break;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *sin6 = (const void *)addr;
		inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text));
		fprintf(logf, "\"family\":\"AF_INET6\",\"type\":\"%s\",\"proto\":\"%s\",",
			type_name(type), proto);
		fprintf(logf, "\"daddr\":\"%s\",\"dport\":%u,", text, ntohs(sin6->sin6_port));
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
	fprintf(logf, "\"ret\":%d}\n", ret);
	fflush(logf);
	return ret;
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

static int tcp_socket_on_loopback(struct sockaddr_in *sin, int listening)
{
	socklen_t len = sizeof(*sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)sin, sizeof(*sin)) ||
	    (listening && listen(fd, 16)) || getsockname(fd, (struct sockaddr *)sin, &len))
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

	int lfd = tcp_socket_on_loopback(&listener_addr, 1);
	int bound = tcp_socket_on_loopback(&refused, 0); /* held: nobody else gets it */

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

	close(lfd);
	close(bound);
	close(ufd);
	close(afd);
	fclose(logf);
	return 0;
}
