/* SPDX-License-Identifier: MIT */
/*
 * cmd_record.c: `conntrail record`. Picks a backend, proves its hook fires,
 * then drains the ring buffer into the trace writer until the command exits,
 * a signal, --duration or --max-size says stop.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "cli/cli.h"
#include "format/ctrace.h"
#include "bpf/conntrail_event.h"
#include "bpfload.h"
#include "procfs.h"
#include "proctable.h"

#define CGROUP2_MAGIC 0x63677270
#define POLL_MS 100
#define PROBE_WAIT_NS 3000000000ull

_Static_assert(sizeof(struct ctb_connect) == 232, "ctb_connect layout");
_Static_assert(__builtin_offsetof(struct ctb_connect, path) == CTB_CONNECT_SHORT &&
		   __builtin_offsetof(struct ctb_connect, raw_family) == CTB_CONNECT_SHORT - 2,
	       "CTB_CONNECT_SHORT");

struct recorder {
	/* Options. */
	const char *output;
	int backend; /* -1: auto */
	uint32_t *pids;
	size_t npids;
	const char *cgroup_path;
	uint64_t cgroup_id;
	uint64_t duration_ns;
	uint64_t max_size;
	unsigned rotate;
	struct ct_writer_opts wopts;
	uint64_t buffer;
	int quiet;
	char **command;
	char *own_cmdline;
	char filters[512];

	/* Capture. */
	struct rec_bpf bpf;
	int have_bpf;
	uint64_t *lost_conn; /* per-CPU scratch for rec_bpf_lost_delta */
	pid_t probe_pid;
	int probe_seen;
	pid_t child;
	int child_status;
	int child_done;

	/* Records that arrive before the writer is open (during the probe). */
	uint8_t *queue;
	size_t qlen, qcap;
	int queueing;

	/* Live processes, written at the start of every rotated file. */
	struct proctable *procs;

	/* Output. */
	struct ct_header hdr;
	struct ct_writer *w;
	char cur_path[PATH_MAX];
	unsigned file_index;
	uint64_t bytes_done; /* of files already closed */
	uint64_t events, lost, proc_lost;
	int write_err;
	int size_reached;
};

static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t signal_pending;

static void on_signal(int sig)
{
	stop_signal = sig;
	signal_pending = 1;
}

static void on_sigchld(int sig)
{
	(void)sig; /* only here to interrupt the poll */
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: conntrail record [-o FILE|-] [--backend auto|lsm|fentry|tracepoint]\n"
		   "                        [-p PID[,PID..]] [--cgroup PATH] [--duration SECONDS]\n"
		   "                        [--compress zstd[:LEVEL]|zlib[:LEVEL]|none]\n"
		   "                        [--max-size SIZE] [--rotate N] [--buffer SIZE] [-q]\n"
		   "                        [-- COMMAND [ARGS..]]\n");
}

/* ------------------------------------------------------------ records */

static int write_err(struct recorder *r, int err, const char *what)
{
	if (!r->write_err)
		ct_err("%s: %s: %s", r->cur_path, what, ct_strerror(err));
	r->write_err = err;
	return err;
}

static int rotate_or_stop(struct recorder *r);

static int put_connect(struct recorder *r, const struct ctb_connect *c, size_t size)
{
	struct ct_event ev;
	int err;

	if (size < CTB_CONNECT_SHORT || (c->family == AF_UNIX && size < sizeof(*c)))
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.ts_ns = c->ts_ns;
	ev.cgroup_id = c->cgroup_id;
	ev.latency_ns = c->latency_ns;
	ev.pid = c->pid;
	ev.tid = c->tid;
	ev.ppid = c->ppid;
	ev.uid = c->uid;
	ev.gid = c->gid;
	ev.sockfd = c->sockfd;
	ev.ret = c->ret;
	ev.scope_id = c->scope_id;
	ev.family = c->family;
	ev.type = c->type;
	ev.proto = c->proto;
	ev.dport = c->dport;
	ev.flags = c->flags & (CT_EV_RET | CT_EV_LATENCY | CT_EV_ABSTRACT);
	memcpy(ev.daddr, c->daddr, sizeof(ev.daddr));
	memcpy(ev.comm, c->comm, sizeof(ev.comm));
	if (c->family == AF_UNIX) {
		size_t n = c->path_len <= CT_UNIX_PATH_MAX ? c->path_len : CT_UNIX_PATH_MAX;
		/* A pathname ends at its first NUL; an abstract name is all bytes. */
		if (!(c->flags & CTB_F_ABSTRACT))
			n = strnlen(c->path, n);
		memcpy(ev.path, c->path, n);
		ev.path_len = (uint8_t)n;
	}
	err = ct_writer_event(r->w, &ev);
	if (err < 0)
		return write_err(r, err, "write");
	r->events++;
	if (r->max_size && ct_writer_bytes(r->w) >= r->max_size)
		return rotate_or_stop(r);
	return 0;
}

static int put_exec(struct recorder *r, const struct ctb_exec *e)
{
	struct ct_proc p = {0};
	char exe[4096], cmdline[4096], container[65];
	int err;

	p.kind = CT_PROC_EXEC;
	p.ts_ns = e->ts_ns;
	p.cgroup_id = e->cgroup_id;
	p.pid = e->pid;
	p.ppid = e->ppid;
	p.uid = e->uid;
	p.gid = e->gid;
	memcpy(p.comm, e->comm, sizeof(p.comm));
	/* The process may be gone already: /proc is best effort, the
	 * execve filename from the kernel is the fallback. */
	procfs_read_exe((pid_t)e->pid, exe, sizeof(exe));
	if (!exe[0]) {
		memcpy(exe, e->filename, sizeof(e->filename));
		exe[sizeof(e->filename) - 1] = 0;
	}
	/* argv read by the kernel side is exact unless it was cut short. */
	if (e->args_len > 0 && e->args_len < CTB_ARGS_MAX) {
		size_t n = e->args_len;
		memcpy(cmdline, e->args, n);
		while (n > 0 && cmdline[n - 1] == 0)
			n--;
		for (size_t i = 0; i < n; i++)
			if (cmdline[i] == 0)
				cmdline[i] = ' ';
		cmdline[n] = 0;
	} else {
		procfs_read_cmdline((pid_t)e->pid, cmdline, sizeof(cmdline));
		if (!cmdline[0] && e->args_len) {
			size_t n = CTB_ARGS_MAX - 1;
			memcpy(cmdline, e->args, n);
			for (size_t i = 0; i < n; i++)
				if (cmdline[i] == 0)
					cmdline[i] = ' ';
			cmdline[n] = 0;
		}
	}
	/* The cgroup the kernel side saw at exec, else /proc (which also
	 * knows cgroup v1 hierarchies). */
	char cgname[CTB_CGNAME_MAX];
	memcpy(cgname, e->cgroup, sizeof(cgname));
	cgname[sizeof(cgname) - 1] = 0;
	procfs_container_from_cgroup(cgname, container, sizeof(container));
	if (!container[0])
		procfs_read_container((pid_t)e->pid, container, sizeof(container));
	p.exe = exe[0] ? exe : NULL;
	p.cmdline = cmdline[0] ? cmdline : NULL;
	p.container = container[0] ? container : NULL;
	err = ct_writer_proc(r->w, &p);
	if (err < 0)
		return write_err(r, err, "write");
	proctable_put(r->procs, &p);
	return 0;
}

static int put_exit(struct recorder *r, const struct ctb_exit *x)
{
	struct ct_proc p = {0};
	int err;

	p.kind = CT_PROC_EXIT;
	p.ts_ns = x->ts_ns;
	p.cgroup_id = x->cgroup_id;
	p.pid = x->pid;
	p.ppid = x->ppid;
	p.exit_code = x->exit_code;
	memcpy(p.comm, x->comm, sizeof(p.comm));
	proctable_remove(r->procs, x->pid);
	err = ct_writer_proc(r->w, &p);
	return err < 0 ? write_err(r, err, "write") : 0;
}

static int dispatch(struct recorder *r, const void *data, size_t size)
{
	uint32_t kind = *(const uint32_t *)data;

	switch (kind) {
	case CTB_CONNECT:
		return put_connect(r, data, size);
	case CTB_EXEC:
		return size >= sizeof(struct ctb_exec) ? put_exec(r, data) : 0;
	case CTB_EXIT:
		return size >= sizeof(struct ctb_exit) ? put_exit(r, data) : 0;
	}
	return 0;
}

/* Entries: an 8-byte length, then the record padded to 8 bytes, so that
 * replayed records are as aligned as in the ring buffer. */
static int queue_record(struct recorder *r, const void *data, size_t size)
{
	size_t need = r->qlen + sizeof(uint64_t) + ((size + 7) & ~(size_t)7);

	if (need > r->qcap) {
		size_t cap = r->qcap ? r->qcap * 2 : 65536;
		while (cap < need)
			cap *= 2;
		uint8_t *q = realloc(r->queue, cap);
		if (!q)
			return -ENOMEM;
		r->queue = q;
		r->qcap = cap;
	}
	uint64_t len = size;
	memcpy(r->queue + r->qlen, &len, sizeof(len));
	memcpy(r->queue + r->qlen + sizeof(len), data, size);
	r->qlen = need;
	return 0;
}

/* Ring-buffer callback: the hot path. */
static int on_sample(void *ctx, void *data, size_t size)
{
	struct recorder *r = ctx;

	if (size < 8 || r->size_reached)
		return 0;
	if (r->probe_pid) {
		uint32_t kind = ((const uint32_t *)data)[0];
		uint32_t pid = kind == CTB_CONNECT ? ((const struct ctb_connect *)data)->pid
						   : ((const uint32_t *)data)[1];
		if (pid == (uint32_t)r->probe_pid) {
			/* Our own test connect: proof, not data. */
			if (kind == CTB_CONNECT)
				r->probe_seen = 1;
			else if (kind == CTB_EXIT)
				r->probe_pid = 0;
			return 0;
		}
	}
	if (r->queueing)
		return queue_record(r, data, size);
	return dispatch(r, data, size);
}

static int flush_lost(struct recorder *r)
{
	uint64_t proc = 0;
	int err;

	if (rec_bpf_lost_delta(&r->bpf, r->lost_conn, &proc))
		return 0;
	r->proc_lost += proc;
	for (int cpu = 0; cpu < r->bpf.ncpus; cpu++) {
		if (!r->lost_conn[cpu])
			continue;
		struct ct_lost l = {.ts_ns = now_ns(CLOCK_MONOTONIC),
				    .count = r->lost_conn[cpu],
				    .cpu = (uint32_t)cpu};
		r->lost += l.count;
		if (r->w && (err = ct_writer_lost(r->w, &l)) < 0)
			return write_err(r, err, "write");
	}
	return 0;
}

/* ------------------------------------------------------------ snapshot */

static int snapshot_one(void *ctx, pid_t pid)
{
	struct recorder *r = ctx;
	struct proc_facts *f;
	struct ct_proc p = {0};
	int err = 0;

	if (pid == getpid() || pid == r->probe_pid)
		return 0;
	if ((r->npids || r->command) && !rec_bpf_is_traced(&r->bpf, (uint32_t)pid))
		return 0;
	f = malloc(sizeof(*f));
	if (!f)
		return 0;
	if (procfs_read(pid, f) == 0) {
		p.kind = CT_PROC_SNAPSHOT;
		p.ts_ns = r->hdr.start_ts_ns;
		p.pid = f->pid;
		p.ppid = f->ppid;
		p.uid = f->uid;
		p.gid = f->gid;
		memcpy(p.comm, f->comm, sizeof(p.comm));
		p.exe = f->exe[0] ? f->exe : NULL;
		p.cmdline = f->cmdline[0] ? f->cmdline : NULL;
		p.container = f->container[0] ? f->container : NULL;
		err = ct_writer_proc(r->w, &p);
		if (err < 0)
			write_err(r, err, "write");
		else
			proctable_put(r->procs, &p);
	}
	free(f);
	return err < 0 ? -1 : 0;
}

/* ------------------------------------------------------------ output */

static int replay_proc(void *ctx, const struct ct_proc *p)
{
	struct recorder *r = ctx;
	int err = ct_writer_proc(r->w, p);

	return err < 0 ? write_err(r, err, "write") : 0;
}

static int open_output(struct recorder *r)
{
	int err;

	if (r->rotate) {
		snprintf(r->cur_path, sizeof(r->cur_path), "%s.%u", r->output, r->file_index);
		/* Replace the oldest file of the ring, never write through a link. */
		if (unlink(r->cur_path) && errno != ENOENT) {
			ct_err("%s: cannot replace: %s", r->cur_path, strerror(errno));
			return -1;
		}
	} else {
		snprintf(r->cur_path, sizeof(r->cur_path), "%s", r->output);
	}
	err = ct_writer_open_file(&r->w, r->cur_path, &r->hdr, &r->wopts);
	if (err < 0) {
		ct_err("%s: cannot create: %s%s%s", r->cur_path, ct_strerror(err),
		       err == CT_E_IO ? ": " : "", err == CT_E_IO ? strerror(errno) : "");
		r->w = NULL;
		return -1;
	}
	/* Every file gets the process context, so each reads on its own: the
	 * first from /proc, later ones from what the recorder has learnt
	 * (the processes may be gone from /proc by the time a file opens). */
	if (r->file_index == 0 && !r->bytes_done)
		procfs_each_pid(snapshot_one, r);
	else
		proctable_each(r->procs, replay_proc, r);
	/* On disk at once: a recorder killed in its first second still
	 * leaves the process context behind. */
	if (!r->write_err && (err = ct_writer_flush(r->w)) < 0)
		write_err(r, err, "write");
	return r->write_err ? -1 : 0;
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	if (!strcmp(path, "-") || stat(path, &st))
		return 0;
	return (uint64_t)st.st_size;
}

static int close_output(struct recorder *r)
{
	int err;

	if (!r->w)
		return 0;
	uint64_t written = ct_writer_bytes(r->w);
	err = ct_writer_close(r->w);
	r->w = NULL;
	uint64_t size = file_size(r->cur_path);
	r->bytes_done += size ? size : written;
	if (err < 0)
		return write_err(r, err, "close");
	return 0;
}

/* --max-size reached: next file of the ring, or stop without --rotate. */
static int rotate_or_stop(struct recorder *r)
{
	if (!r->rotate) {
		r->size_reached = 1;
		return 1; /* ends this ring-buffer pass; the loop stops */
	}
	if (close_output(r) < 0)
		return -1;
	r->file_index = (r->file_index + 1) % r->rotate;
	return open_output(r) < 0 ? -1 : 0;
}

/* ------------------------------------------------------------ backends */

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
	uint64_t deadline = now_ns(CLOCK_MONOTONIC) + PROBE_WAIT_NS;
	while (!r->probe_seen && now_ns(CLOCK_MONOTONIC) < deadline) {
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
	    .on_sample = on_sample,
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

static int choose_backend(struct recorder *r)
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

/* ------------------------------------------------------------ options */

static int parse_pids(struct recorder *r, const char *arg)
{
	char *copy = strdup(arg), *save = NULL;

	if (!copy)
		return -1;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		long long v;
		if (ct_parse_long(tok, 1, INT_MAX, &v)) {
			free(copy);
			return -1;
		}
		uint32_t *p = realloc(r->pids, (r->npids + 1) * sizeof(*p));
		if (!p) {
			free(copy);
			return -1;
		}
		r->pids = p;
		r->pids[r->npids++] = (uint32_t)v;
	}
	free(copy);
	return r->npids ? 0 : -1;
}

static int parse_compress(struct recorder *r, const char *arg)
{
	const char *colon = strchr(arg, ':');
	size_t len = colon ? (size_t)(colon - arg) : strlen(arg);
	long long level = 0;

	if (len == 4 && !strncmp(arg, "zstd", 4)) {
		r->wopts.compress = CT_COMP_ZSTD;
		if (colon && ct_parse_long(colon + 1, 1, 19, &level))
			return -1;
	} else if (len == 4 && !strncmp(arg, "zlib", 4)) {
		r->wopts.compress = CT_COMP_ZLIB;
		if (colon && ct_parse_long(colon + 1, 1, 9, &level))
			return -1;
	} else if (len == 4 && !strncmp(arg, "none", 4) && !colon) {
		r->wopts.compress = CT_COMP_NONE;
	} else {
		return -1;
	}
	r->wopts.level = (int)level;
	return 0;
}

static char *join_args(int argc, char **argv)
{
	size_t len = 1;
	char *s;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	s[0] = 0;
	for (int i = 0; i < argc; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

enum {
	OPT_BACKEND = 256,
	OPT_CGROUP,
	OPT_DURATION,
	OPT_COMPRESS,
	OPT_MAX_SIZE,
	OPT_ROTATE,
	OPT_BUFFER,
};

static int parse_args(struct recorder *r, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"backend", required_argument, NULL, OPT_BACKEND},
	    {"pid", required_argument, NULL, 'p'},
	    {"cgroup", required_argument, NULL, OPT_CGROUP},
	    {"duration", required_argument, NULL, OPT_DURATION},
	    {"compress", required_argument, NULL, OPT_COMPRESS},
	    {"max-size", required_argument, NULL, OPT_MAX_SIZE},
	    {"rotate", required_argument, NULL, OPT_ROTATE},
	    {"buffer", required_argument, NULL, OPT_BUFFER},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;
	long long v;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+o:p:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			r->output = optarg;
			break;
		case OPT_BACKEND:
			if (!strcmp(optarg, "auto")) {
				r->backend = -1;
			} else if ((r->backend = rec_backend_parse(optarg)) < 0) {
				ct_err("--backend %s: expected auto, lsm, fentry or tracepoint",
				       optarg);
				return CT_EXIT_USAGE;
			}
			break;
		case 'p':
			if (parse_pids(r, optarg)) {
				ct_err("-p %s: expected PID[,PID..]", optarg);
				return CT_EXIT_USAGE;
			}
			break;
		case OPT_CGROUP:
			r->cgroup_path = optarg;
			break;
		case OPT_DURATION: {
			char *end;
			double s = strtod(optarg, &end);
			if (*end || !(s > 0) || s > 1e9) {
				ct_err("--duration %s: expected a positive number of seconds",
				       optarg);
				return CT_EXIT_USAGE;
			}
			r->duration_ns = (uint64_t)(s * 1e9);
			break;
		}
		case OPT_COMPRESS:
			if (parse_compress(r, optarg)) {
				ct_err("--compress %s: expected zstd[:1-19], zlib[:1-9] or none",
				       optarg);
				return CT_EXIT_USAGE;
			}
			break;
		case OPT_MAX_SIZE:
			if (ct_parse_size(optarg, &r->max_size) || r->max_size < 4096) {
				ct_err("--max-size %s: expected a size of at least 4k", optarg);
				return CT_EXIT_USAGE;
			}
			break;
		case OPT_ROTATE:
			if (ct_parse_long(optarg, 1, 100000, &v)) {
				ct_err("--rotate %s: expected a number of files (1-100000)",
				       optarg);
				return CT_EXIT_USAGE;
			}
			r->rotate = (unsigned)v;
			break;
		case OPT_BUFFER:
			if (ct_parse_size(optarg, &r->buffer) || r->buffer < 4096 ||
			    r->buffer > (1ull << 30)) {
				ct_err("--buffer %s: expected a size from 4k to 1G", optarg);
				return CT_EXIT_USAGE;
			}
			break;
		case 'q':
			r->quiet = 1;
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			return ct_bad_option(argv);
		}
	}
	if (optind < argc)
		r->command = argv + optind;
	if (r->rotate && !r->max_size) {
		ct_err("--rotate %u: needs --max-size", r->rotate);
		return CT_EXIT_USAGE;
	}
	if (r->rotate && !strcmp(r->output, "-")) {
		ct_err("--rotate: cannot rotate the standard output");
		return CT_EXIT_USAGE;
	}
	if (r->command && r->npids) {
		ct_err("-p: cannot be combined with a COMMAND");
		return CT_EXIT_USAGE;
	}
	return 0;
}

/* ------------------------------------------------------------ command */

/* Fork COMMAND, held on a pipe until the hook is in place. */
static int fork_command(struct recorder *r, int *go_fd, int *err_fd)
{
	int go[2], ex[2];

	if (pipe2(go, O_CLOEXEC) || pipe2(ex, O_CLOEXEC)) {
		ct_err("%s: pipe: %s", r->command[0], strerror(errno));
		return -1;
	}
	r->child = fork();
	if (r->child < 0) {
		ct_err("%s: fork: %s", r->command[0], strerror(errno));
		return -1;
	}
	if (r->child == 0) {
		char c;
		/* Until exec, a signal for the command must end it, not
		 * run the recorder's handlers. */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		close(go[1]);
		close(ex[0]);
		if (read(go[0], &c, 1) != 1)
			_exit(127); /* the recorder gave up */
		signal(SIGPIPE, SIG_DFL);
		if (!strcmp(r->output, "-"))
			dup2(2, 1); /* the trace owns stdout */
		execvp(r->command[0], r->command);
		int e = errno;
		if (write(ex[1], &e, sizeof(e)) != sizeof(e))
			_exit(127);
		_exit(127);
	}
	close(go[0]);
	close(ex[1]);
	*go_fd = go[1];
	*err_fd = ex[0];
	return 0;
}

/* ------------------------------------------------------------ main */

static int any_alive(const uint32_t *pids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (kill((pid_t)pids[i], 0) == 0 || errno != ESRCH)
			return 1;
	return 0;
}

static int fill_header(struct recorder *r, int argc, char **argv)
{
	static struct utsname uts;
	static char recorder[64];
	size_t len = 0;

	uname(&uts);
	snprintf(recorder, sizeof(recorder), "conntrail %s", CONNTRAIL_VERSION);
	r->hdr.clock_id = CLOCK_MONOTONIC;
	/* Sampled twice around the realtime read to keep the pair tight. */
	uint64_t m0 = now_ns(CLOCK_MONOTONIC);
	uint64_t rt = now_ns(CLOCK_REALTIME);
	uint64_t m1 = now_ns(CLOCK_MONOTONIC);
	r->hdr.start_ts_ns = m0;
	r->hdr.wall_offset_ns = (int64_t)(rt - (m0 + (m1 - m0) / 2));
	r->hdr.hostname = uts.nodename;
	r->hdr.kernel = uts.release;
	r->hdr.arch = uts.machine;
	r->hdr.recorder = recorder;
	r->own_cmdline = join_args(argc + 1, argv - 1); /* "conntrail record ..." */
	r->hdr.cmdline = r->own_cmdline;
	r->hdr.pid_filter_count = (uint32_t)(r->npids + (r->command ? 1 : 0));
	r->filters[0] = 0;
	if (r->npids) {
		len += (size_t)snprintf(r->filters + len, sizeof(r->filters) - len, "pid=");
		for (size_t i = 0; i < r->npids && len < sizeof(r->filters); i++)
			len += (size_t)snprintf(r->filters + len, sizeof(r->filters) - len, "%s%u",
						i ? "," : "", r->pids[i]);
	}
	if (r->command && len < sizeof(r->filters))
		len += (size_t)snprintf(r->filters + len, sizeof(r->filters) - len, "command=%s",
					r->command[0]);
	if (r->cgroup_path && len < sizeof(r->filters))
		snprintf(r->filters + len, sizeof(r->filters) - len, "%scgroup=%s", len ? " " : "",
			 r->cgroup_path);
	r->hdr.filters = r->filters;
	return 0;
}

static int resolve_cgroup(struct recorder *r)
{
	struct statfs sfs;
	struct stat st;

	if (!r->cgroup_path)
		return 0;
	if (statfs(r->cgroup_path, &sfs) || stat(r->cgroup_path, &st)) {
		ct_err("--cgroup %s: %s", r->cgroup_path, strerror(errno));
		return -1;
	}
	if (sfs.f_type != CGROUP2_MAGIC || !S_ISDIR(st.st_mode)) {
		ct_err("--cgroup %s: not a cgroup v2 directory", r->cgroup_path);
		return -1;
	}
	r->cgroup_id = (uint64_t)st.st_ino; /* the kernfs id is the inode number */
	return 0;
}

/* perf-style: an existing trace becomes FILE.old rather than vanishing. */
static void keep_old(const char *path)
{
	struct stat st;
	char old[PATH_MAX];

	if (!strcmp(path, "-") || lstat(path, &st) || !S_ISREG(st.st_mode) || st.st_size == 0)
		return;
	snprintf(old, sizeof(old), "%s.old", path);
	rename(path, old);
}

int cmd_record(int argc, char **argv)
{
	/* zstd by default (DESIGN.md, the man page): zeroed writer opts mean none. */
	struct recorder rec = {.output = "conntrail.data",
			       .backend = -1,
			       .buffer = 8 << 20,
			       .wopts = {.compress = CT_COMP_ZSTD}};
	struct recorder *r = &rec;
	int rc = CT_EXIT_ERROR, go_fd = -1, err_fd = -1;
	struct sigaction sa = {0};

	int prc = parse_args(r, argc, argv);
	if (prc) {
		rc = prc < 0 ? CT_EXIT_OK : prc;
		goto out;
	}
	/* The writer keeps a chunk's events raw until it closes: 16384 of
	 * them are ~5 MB, which keeps the recorder under 32 MiB of RSS. */
	r->wopts.chunk_events = 16384;
	/* An event reaches us up to one poll period after it happened, and the
	 * writer ages a chunk from when we hand it the first event: flush that
	 * much early, so a kill -9 loses at most 1 s of connects (DESIGN.md). */
	r->wopts.flush_interval_ns = 1000000000ull - 2ull * POLL_MS * 1000000ull;
	if (r->max_size) {
		/* Smaller chunks keep a file close to --max-size. */
		uint64_t n = r->max_size / 256;
		r->wopts.chunk_events = (uint32_t)(n < 256 ? 256 : n > 16384 ? 16384 : n);
	}
	if (geteuid() != 0) {
		ct_err("record needs root (CAP_BPF and CAP_PERFMON)");
		goto out;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		ct_err("/sys/kernel/btf/vmlinux: no kernel BTF (CONFIG_DEBUG_INFO_BTF): %s",
		       strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < r->npids; i++) {
		if (kill((pid_t)r->pids[i], 0) && errno == ESRCH) {
			ct_err("-p %u: no such process", r->pids[i]);
			goto out;
		}
	}
	if (resolve_cgroup(r))
		goto out;
	r->procs = proctable_new();
	if (!r->procs) {
		ct_err("out of memory");
		goto out;
	}
	fill_header(r, argc, argv);

	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_sigchld;
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (r->command && fork_command(r, &go_fd, &err_fd))
		goto out;
	r->queueing = 1;
	if (choose_backend(r))
		goto out;
	r->have_bpf = 1;
	r->hdr.backend = rec_backend_name(r->bpf.backend);
	r->lost_conn = calloc((size_t)r->bpf.ncpus, sizeof(uint64_t));
	if (!r->lost_conn)
		goto out;

	if (!r->rotate)
		keep_old(r->output);
	if (open_output(r))
		goto out;
	/* Replay what came in while the hook was being proven. */
	r->queueing = 0;
	for (size_t off = 0; off < r->qlen && !r->write_err;) {
		uint64_t len;
		memcpy(&len, r->queue + off, sizeof(len));
		dispatch(r, r->queue + off + sizeof(len), len);
		off += sizeof(len) + ((len + 7) & ~(uint64_t)7);
	}
	free(r->queue);
	r->queue = NULL;

	if (r->command) {
		int e;
		if (write(go_fd, "g", 1) != 1) {
			ct_err("%s: cannot start: %s", r->command[0], strerror(errno));
			goto out;
		}
		close(go_fd);
		go_fd = -1;
		if (read(err_fd, &e, sizeof(e)) == sizeof(e)) {
			ct_err("%s: %s", r->command[0], strerror(e));
			goto out;
		}
		close(err_fd);
		err_fd = -1;
	}

	uint64_t deadline = r->duration_ns ? now_ns(CLOCK_MONOTONIC) + r->duration_ns : 0;
	while (!r->write_err && !r->size_reached) {
		/* Wakeups are batched: the timeout is what normally ends the
		 * wait, and then whatever is in the ring is taken. */
		int n = ring_buffer__poll(r->bpf.rb, POLL_MS);
		if (n >= 0 || n == -EINTR)
			n = ring_buffer__consume(r->bpf.rb);
		if (n < 0 && n != -EINTR && !r->write_err && !r->size_reached) {
			ct_err("ring buffer: %s", strerror(-n));
			goto out;
		}
		flush_lost(r);
		if (r->w)
			ct_writer_tick(r->w);
		if (signal_pending) {
			signal_pending = 0;
			if (r->command && !r->child_done) {
				kill(r->child, stop_signal); /* like perf: the command decides */
			} else {
				break;
			}
		}
		if (r->command && !r->child_done &&
		    waitpid(r->child, &r->child_status, WNOHANG) == r->child) {
			r->child_done = 1;
			break;
		}
		if (deadline && now_ns(CLOCK_MONOTONIC) >= deadline)
			break;
		if (r->npids && !any_alive(r->pids, r->npids))
			break; /* like perf record -p: the targets are gone */
	}

	/* Stop the hooks, then take everything still in the ring buffer. */
	rec_bpf_detach(&r->bpf);
	if (!r->write_err && !r->size_reached)
		ring_buffer__consume(r->bpf.rb);
	flush_lost(r);
	if (r->size_reached && !r->quiet)
		fprintf(stderr, "conntrail record: --max-size %llu reached, stopped\n",
			(unsigned long long)r->max_size);
	if (close_output(r) < 0 || r->write_err)
		goto out;
	rc = CT_EXIT_OK;
	if (r->command) {
		if (!r->child_done) {
			/* A full trace is no reason to end the user's command:
			 * it runs on, untraced. --duration ends it. */
			if (!r->size_reached)
				kill(r->child, SIGTERM);
			while (waitpid(r->child, &r->child_status, 0) < 0 && errno == EINTR)
				;
			r->child_done = 1;
		}
		if (WIFEXITED(r->child_status))
			rc = WEXITSTATUS(r->child_status);
		else if (WIFSIGNALED(r->child_status))
			rc = 128 + WTERMSIG(r->child_status);
	}
	if (!r->quiet) {
		char files[PATH_MAX + 64];
		if (r->rotate)
			snprintf(files, sizeof(files), "%s.0..%s.%u", r->output, r->output,
				 r->rotate - 1);
		else
			snprintf(files, sizeof(files), "%s", r->output);
		fprintf(stderr,
			"conntrail record: %llu events, %llu lost, backend %s, %llu bytes, %s\n",
			(unsigned long long)r->events, (unsigned long long)r->lost, r->hdr.backend,
			(unsigned long long)r->bytes_done, files);
		if (r->proc_lost)
			fprintf(stderr, "conntrail record: %llu process records lost\n",
				(unsigned long long)r->proc_lost);
	}
out:
	/* A trace already begun stays readable, even when the run failed. */
	if (r->w && !r->write_err)
		close_output(r);
	else if (r->w)
		ct_writer_abort(r->w);
	if (r->have_bpf)
		rec_bpf_destroy(&r->bpf);
	if (go_fd >= 0)
		close(go_fd); /* a held command sees EOF and exits 127 */
	if (err_fd >= 0)
		close(err_fd);
	if (r->command && r->child > 0 && !r->child_done) {
		kill(r->child, SIGKILL);
		waitpid(r->child, NULL, 0);
	}
	free(r->lost_conn);
	free(r->queue);
	free(r->pids);
	free(r->own_cmdline);
	proctable_free(r->procs);
	return rc;
}
