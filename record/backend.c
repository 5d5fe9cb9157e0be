/* SPDX-License-Identifier: MIT */
/*
 * backend.c: choosing a capture backend (lsm, fentry, tracepoint) and
 * proving its hook fires with a connect of our own before trusting it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "bpf/conntrail_event.h"
#include "lib/util.h"
#include "record/procfs.h"
#include "record/record.h"

#define PROBE_WAIT_NS 3000000000ull

/* The fork+connect that proves records flow. 0 when its event arrived. */
static int probe_hook(struct recorder *r, char *why, size_t whylen)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t slen = sizeof(sin);
	int srv, go[2];
	pid_t pid;

	srv = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (srv < 0 || bind(srv, (struct sockaddr *)&sin, sizeof(sin)) ||
	    getsockname(srv, (struct sockaddr *)&sin, &slen) || pipe2(go, O_CLOEXEC)) {
		snprintf(why, whylen, "probe socket: %s", strerror(errno));
		if (srv >= 0)
			close(srv);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(why, whylen, "probe fork: %s", strerror(errno));
		close(srv);
		close(go[0]);
		close(go[1]);
		return -1;
	}
	if (pid == 0) {
		char c;
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		int s = socket(AF_INET, SOCK_DGRAM, 0);
		_exit(connect(s, (struct sockaddr *)&sin, sizeof(sin)) ? 1 : 0);
	}
	close(go[0]);
	r->probe_pid = pid;
	r->probe_seen = 0;
	rec_bpf_set_probe(&r->bpf, (uint32_t)pid);
	if (write(go[1], "g", 1) != 1) {
		/* The child exits on EOF below; the wait still reaps it. */
	}
	close(go[1]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	uint64_t deadline = ct_now_ns(CLOCK_MONOTONIC) + PROBE_WAIT_NS;
	while (!r->probe_seen && ct_now_ns(CLOCK_MONOTONIC) < deadline) {
		ring_buffer__poll(r->bpf.rb, 20);
		ring_buffer__consume(r->bpf.rb);
	}
	rec_bpf_set_probe(&r->bpf, 0);
	close(srv);
	if (!r->probe_seen) {
		snprintf(why, whylen, "attached, but its hook never fired for a test connect");
		return -1;
	}
	return 0;
}

static int start_backend(struct recorder *r, enum rec_backend b, int probe, char *why,
			 size_t whylen)
{
	struct rec_bpf_cfg cfg = {
	    .buffer_bytes = r->buffer,
	    .filter_pids = r->npids || r->command,
	    .cgroup_id = r->cgroup_id,
	    .self_tgid = (uint32_t)getpid(),
	    .dns = !getenv("CONNTRAIL_NO_DNS"),
	    .dns_cgroup = r->cgroup_id,
	    .on_sample = rec_on_sample,
	    .ctx = r,
	};

	if (b == REC_LSM && !rec_lsm_active(why, whylen))
		return -1;
	if (rec_bpf_start(&r->bpf, b, &cfg, why, whylen))
		return -1;
	for (size_t i = 0; i < r->npids; i++)
		rec_bpf_add_pid(&r->bpf, r->pids[i]);
	if (r->command)
		rec_bpf_add_pid(&r->bpf, (uint32_t)r->child);
	if (probe && probe_hook(r, why, whylen)) {
		rec_bpf_destroy(&r->bpf);
		r->qlen = 0; /* records of a backend we do not trust */
		return -1;
	}
	return 0;
}

/* Which backends load here (for the error of an explicit choice). */
static void offered(struct recorder *r, char *buf, size_t size)
{
	char why[256];
	size_t len = 0;

	buf[0] = 0;
	for (int b = 0; b < REC_NBACKENDS; b++) {
		if (start_backend(r, (enum rec_backend)b, 0, why, sizeof(why)))
			continue;
		rec_bpf_destroy(&r->bpf);
		len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
					rec_backend_name((enum rec_backend)b));
		if (len >= size)
			break;
	}
	if (!buf[0])
		snprintf(buf, size, "none");
}

int rec_choose_backend(struct recorder *r)
{
	char why[512];

	if (r->backend >= 0) {
		if (start_backend(r, (enum rec_backend)r->backend, 1, why, sizeof(why)) == 0)
			return 0;
		char list[128];
		offered(r, list, sizeof(list));
		ct_err("--backend %s: %s (this kernel offers: %s)",
		       rec_backend_name((enum rec_backend)r->backend), why, list);
		return -1;
	}
	for (int b = 0; b < REC_NBACKENDS; b++) {
		if (start_backend(r, (enum rec_backend)b, 1, why, sizeof(why)) == 0) {
			if (!r->quiet)
				fprintf(stderr, "conntrail record: backend %s\n",
					rec_backend_name((enum rec_backend)b));
			return 0;
		}
		if (!r->quiet)
			fprintf(stderr, "conntrail record: %s: %s\n",
				rec_backend_name((enum rec_backend)b), why);
	}
	ct_err("no capture backend works on this kernel");
	return -1;
}
