/* SPDX-License-Identifier: MIT */
/*
 * conntrail-gen: writes realistic synthetic traces (no kernel needed) for
 * tests and benchmarks, and optionally a JSON "truth" of what it wrote so
 * tests can check the readers' numbers.
 *
 *   conntrail-gen -n EVENTS [--seed N] [--profile mixed|storm]
 *                 [--truth FILE.json] [--compress zstd[:L]|zlib[:L]|none]
 *                 [--start RFC3339] [--chunk-events N] -o FILE
 *
 * mixed: a few hundred processes of common programs (some in containers)
 * connecting to a long-tailed (Zipf) set of IPv4, IPv6 and UNIX destinations,
 * with failures, exec/exit churn, lost-event records and ~1 ms mean spacing
 * with bursts. Non-blocking TCP connects return EINPROGRESS and their
 * handshakes end later (success, refused, timed out, abandoned), as do
 * established connections (closed with byte counts, a few still open at
 * the end), all told to the writer when the trace's clock gets there, as a
 * recorder does. storm: one process, one UDP destination, ~1 us spacing.
 * Same seed, same file.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>

#include "lib/util.h"
#include "format/ctrace.h"
#include "format/heap.h"
#include "export/eventfmt.h"
#include "lib/names.h"
#include "tools/gen/gen.h"

static uint64_t rng;
static uint64_t next_u64(void)
{
	/* splitmix64: fast, good enough, deterministic */
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}
static double next_unit(void)
{
	return (double)(next_u64() >> 11) * (1.0 / 9007199254740992.0);
}
static uint32_t below(uint32_t n)
{
	return (uint32_t)(((next_u64() >> 32) * n) >> 32);
}

/* Zipf sampling with Walker's alias method: O(1) and a small table. */
struct zipf {
	uint32_t *alias;
	uint32_t *cut; /* accept i when 32 random bits < cut[i] */
	uint32_t n;
};
static int zipf_init(struct zipf *z, uint32_t n, double s)
{
	double *p = malloc(n * sizeof(*p)), sum = 0;
	uint32_t *small = malloc(n * sizeof(*small)), *large = malloc(n * sizeof(*large));
	z->alias = malloc(n * sizeof(*z->alias));
	z->cut = malloc(n * sizeof(*z->cut));
	if (!p || !small || !large || !z->alias || !z->cut)
		return -1;
	for (uint32_t i = 0; i < n; i++)
		sum += p[i] = 1.0 / pow(i + 1, s);
	uint32_t ns = 0, nl = 0;
	for (uint32_t i = 0; i < n; i++) {
		p[i] = p[i] * n / sum;
		if (p[i] < 1.0)
			small[ns++] = i;
		else
			large[nl++] = i;
	}
	while (ns && nl) {
		uint32_t a = small[--ns], b = large[nl - 1];
		z->cut[a] = (uint32_t)(p[a] * 4294967295.0);
		z->alias[a] = b;
		p[b] -= 1.0 - p[a];
		if (p[b] < 1.0) {
			nl--;
			small[ns++] = b;
		}
	}
	while (nl) {
		uint32_t b = large[--nl];
		z->cut[b] = UINT32_MAX;
		z->alias[b] = b;
	}
	while (ns) {
		uint32_t a = small[--ns];
		z->cut[a] = UINT32_MAX;
		z->alias[a] = a;
	}
	z->n = n;
	free(p);
	free(small);
	free(large);
	return 0;
}
static uint32_t zipf_draw(const struct zipf *z)
{
	uint64_t r = next_u64();
	uint32_t i = (uint32_t)(((r >> 32) * z->n) >> 32);
	return (uint32_t)r < z->cut[i] ? i : z->alias[i];
}

const struct prog progs[] = {
    {"curl", "/usr/bin/curl", "curl -sS https://example.com/api", 1000, 1, 0, 0, 0},
    {"python3", "/usr/bin/python3.11", "python3 /opt/app/worker.py --queue jobs", 1000, 4, 1, 1, 0},
    {"nginx", "/usr/sbin/nginx", "nginx: worker process", 33, 1, 1, 0, 1},
    {"sshd", "/usr/sbin/sshd", "sshd: alice [priv]", 0, 1, 0, 0, 1},
    {"postgres", "/usr/lib/postgresql/15/bin/postgres", "postgres: walwriter", 105, 1, 0, 1, 1},
    {"systemd-resolve", "/usr/lib/systemd/systemd-resolved", "/lib/systemd/systemd-resolved", 991,
     1, 0, 0, 0},
    {"firefox-esr", "/usr/lib/firefox-esr/firefox-esr", "/usr/lib/firefox-esr/firefox-esr", 1000, 8,
     1, 0, 0},
    {"apt-get", "/usr/bin/apt-get", "apt-get update", 0, 1, 0, 0, 0},
    {"node", "/usr/local/bin/node", "node /srv/api/server.js", 1001, 6, 1, 1, 0},
    {"java", "/usr/lib/jvm/java-17/bin/java", "java -jar /opt/svc/svc.jar", 1002, 16, 1, 1, 0},
    {"dbus-daemon", "/usr/bin/dbus-daemon", "/usr/bin/dbus-daemon --system", 102, 1, 0, 0, 1},
    {"Xorg", "/usr/lib/xorg/Xorg", "/usr/lib/xorg/Xorg :0", 0, 1, 0, 0, 1},
    {"ssh", "/usr/bin/ssh", "ssh -p 2222 backup@10.20.0.5", 1000, 1, 0, 0, 0},
    {"redis-server", "/usr/bin/redis-server", "redis-server 127.0.0.1:6379", 110, 4, 1, 1, 1},
    {"containerd", "/usr/bin/containerd", "/usr/bin/containerd", 0, 8, 0, 0, 1},
};
#define NPROGS (sizeof(progs) / sizeof(progs[0]))
const uint32_t nprogs = NPROGS;
static char comms[NPROGS][CT_COMM_LEN]; /* NUL-padded copies of progs[].comm */

struct procslot {
	uint32_t pid, prog;
	int32_t fd; /* the fd its sockets usually get: the lowest free one */
	uint64_t cgroup;
	char container[65];
};

static void usage(FILE *f)
{
	fprintf(f, "usage: conntrail-gen -n EVENTS [--seed N] [--profile mixed|storm] "
		   "[--truth FILE.json] [--compress zstd[:L]|zlib[:L]|none] [--start RFC3339] "
		   "[--chunk-events N] [--host NAME] -o FILE\n");
}

static int parse_compress(const char *s, struct ct_writer_opts *o)
{
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);
	if (n == 4 && !strncmp(s, "zstd", 4))
		o->compress = CT_COMP_ZSTD;
	else if (n == 4 && !strncmp(s, "zlib", 4))
		o->compress = CT_COMP_ZLIB;
	else if (n == 4 && !strncmp(s, "none", 4) && !colon)
		o->compress = CT_COMP_NONE;
	else
		return -1;
	if (colon) {
		long long l;
		if (ct_parse_long(colon + 1, 1, o->compress == CT_COMP_ZSTD ? 19 : 9, &l))
			return -1;
		o->level = (int)l;
	}
	return 0;
}

/* "2026-11-24T13:05:00Z" (or without Z) -> unix seconds. */
static int parse_start(const char *s, int64_t *out)
{
	struct tm tm = {0};
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end || (*end && strcmp(end, "Z")))
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

static void make_dests(struct dest *d, uint32_t n)
{
	static const char *unix_paths[] = {
	    "/run/systemd/journal/socket", "/var/run/postgresql/.s.PGSQL.5432",
	    "/run/dbus/system_bus_socket", "/run/containerd/containerd.sock",
	    "/var/run/nscd/socket",	   "/run/user/1000/bus",
	    "/tmp/.X11-unix/X0",	   "/run/docker.sock",
	};
	static const uint16_t ports[] = {443,  443,  443,  80,	 53,   22,
					 5432, 6379, 8080, 3306, 9200, 25};
	for (uint32_t i = 0; i < n; i++) {
		struct dest *x = &d[i];
		memset(x, 0, sizeof(*x));
		uint32_t r = below(100);
		uint16_t port = ports[below(sizeof(ports) / sizeof(ports[0]))];
		int udp = port == 53;
		x->cd.type = udp ? SOCK_DGRAM : SOCK_STREAM;
		x->cd.proto = udp ? IPPROTO_UDP : IPPROTO_TCP;
		x->cd.dport = port;
		x->unreachable = below(100) < 3;
		x->rtt_ns = 30000 + below(100) * below(100) * 5000;
		if (i == 0) { /* the local resolver: the most popular destination */
			x->cd.family = AF_INET;
			memcpy(x->cd.daddr, "\x7f\x00\x00\x35", 4);
			x->cd.type = SOCK_DGRAM;
			x->cd.proto = IPPROTO_UDP;
			x->cd.dport = 53;
		} else if (r < 68) {
			x->cd.family = AF_INET;
			uint32_t a = (uint32_t)next_u64();
			if (r < 10)
				a = (10u << 24) | (a & 0xffffff);
			else if (r < 14)
				a = (127u << 24) | (a & 0xff);
			memcpy(x->cd.daddr, (uint8_t[]){a >> 24, a >> 16, a >> 8, a}, 4);
		} else if (r < 88) {
			x->cd.family = AF_INET6;
			uint64_t h = next_u64(), l = next_u64();
			x->cd.daddr[0] = 0x20;
			x->cd.daddr[1] = 0x01;
			x->cd.daddr[2] = 0x0d;
			x->cd.daddr[3] = 0xb8;
			memcpy(x->cd.daddr + 4, &h, 4);
			memcpy(x->cd.daddr + 8, &l, 8);
			if ((h >> 40 & 0xff) < 16) { /* fe80::/64 on interface 2 or 3 */
				memset(x->cd.daddr, 0, 8);
				x->cd.daddr[0] = 0xfe;
				x->cd.daddr[1] = 0x80;
				x->cd.scope_id = 2 + (uint32_t)(h >> 48 & 1);
			}
		} else {
			x->cd.family = AF_UNIX;
			x->cd.proto = 0;
			x->cd.dport = 0;
			x->cd.type = below(4) ? SOCK_STREAM : SOCK_DGRAM;
			uint32_t which = below(12);
			if (which < 8) {
				const char *p = unix_paths[which];
				x->cd.path_len = (uint8_t)strlen(p);
				memcpy(x->path, p, x->cd.path_len);
			} else if (which < 11) {
				/* Abstract names: leading NUL, like @/tmp/.X11-unix/X0 */
				int len =
				    snprintf(x->path + 1, CT_UNIX_PATH_MAX - 1, "/tmp/dbus-%08llx",
					     (unsigned long long)next_u64() & 0xffffffff);
				x->abstract = 1;
				x->cd.path_len = (uint8_t)(len + 1);
			} else {
				/* A long path, up to the 108-byte limit. */
				int len = snprintf(x->path, CT_UNIX_PATH_MAX,
						   "/var/lib/app/sockets/%u/", i);
				while (len < CT_UNIX_PATH_MAX - 5)
					x->path[len++] = 'a' + (char)below(26);
				memcpy(x->path + len, ".sock", 5);
				x->cd.path_len = CT_UNIX_PATH_MAX;
			}
		}
	}
}

static void new_proc(struct procslot *s, uint32_t *next_pid, uint32_t prog)
{
	s->pid = (*next_pid)++;
	s->prog = prog;
	s->fd = 3 + (int32_t)below(24);
	s->cgroup = progs[prog].container ? 0x100000 + below(8) : 0x2000 + prog;
	if (progs[prog].container)
		snprintf(s->container, sizeof(s->container), "%016llx%016llx",
			 (unsigned long long)(s->cgroup * 0x9e3779b97f4a7c15ULL),
			 (unsigned long long)(s->cgroup * 0xc2b2ae3d27d4eb4fULL));
	else
		s->container[0] = 0;
}

static int write_proc(struct ct_writer *w, const struct procslot *s, uint16_t kind, uint64_t ts,
		      struct truth *t)
{
	const struct prog *p = &progs[s->prog];
	/* Container k (of 8) is app-k of an image; the even ones run in a
	 * Kubernetes pod; the last has no names (its runtime was not found). */
	unsigned k = (unsigned)(s->cgroup - 0x100000);
	char name[16], image[48], pod[24];
	snprintf(name, sizeof(name), "app-%u", k);
	snprintf(image, sizeof(image), "registry.example/app:%u", k);
	snprintf(pod, sizeof(pod), "app-%u-5d9f", k);
	int names = s->container[0] && k < 7;
	struct ct_proc pr = {.ts_ns = ts,
			     .task = {.cgroup_id = s->cgroup,
				      .pid = s->pid,
				      .ppid = 1,
				      .uid = p->uid,
				      .gid = p->uid},
			     .kind = kind,
			     .exe = p->exe,
			     .cmdline = p->args,
			     .container = s->container[0] ? s->container : NULL,
			     .container_name = names ? name : NULL,
			     .image = names ? image : NULL,
			     .pod = names && k % 2 == 0 ? pod : NULL,
			     .k8s_namespace = names && k % 2 == 0 ? "prod" : NULL};
	memcpy(pr.task.comm, comms[s->prog], CT_COMM_LEN);
	t->procs++;
	return ct_writer_proc(w, &pr);
}

/* Outcomes waiting for the trace's clock to reach them: a min-heap. */
struct later {
	uint64_t at;	      /* when it happens */
	uint64_t established; /* a close: when its handshake ended */
	struct ct_outcome o;
	int handshake; /* 1: the handshake's outcome; 0: the close */
};
struct laters {
	struct later *h;
	size_t n, cap;
};

static int later_less(const void *a, const void *b)
{
	return ((const struct later *)a)->at < ((const struct later *)b)->at;
}

static void later_push(struct laters *q, const struct later *x)
{
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 1024;
		q->h = ct_xrealloc(q->h, q->cap * sizeof(*q->h));
	}
	q->h[q->n] = *x;
	ct_heap_up(q->h, sizeof(*q->h), q->n++, later_less);
}

static struct later later_pop(struct laters *q)
{
	struct later top = q->h[0];
	q->h[0] = q->h[--q->n];
	ct_heap_down(q->h, q->n, sizeof(*q->h), 0, later_less);
	return top;
}

/* Tell the writer every outcome that has happened by ts (all with ts 0 at
 * the end, last the trace's last time: those left count as unknown or
 * still open). */
static int settle(struct ct_writer *w, struct laters *q, uint64_t ts, uint64_t last,
		  struct truth *t)
{
	while (q->n && (ts == 0 || q->h[0].at <= ts)) {
		struct later x = later_pop(q);
		if (ts == 0) {
			/* Recording stopped first: a handshake never seen ends
			 * unknown; a connection seen established and not closed
			 * is still open (the writer marks it). */
			if (x.handshake)
				t->result[R_UNKNOWN]++;
			else if (x.established <= last)
				t->open++;
			continue;
		}
		if (x.handshake) {
			t->result[x.o.flags & CT_OC_ABANDONED ? R_ABANDONED
							      : truth_result_slot(x.o.result)]++;
		} else {
			t->closed++;
			t->tx += x.o.tx_bytes;
			t->rx += x.o.rx_bytes;
		}
		int err = ct_writer_outcome(w, &x.o);
		if (err)
			return err;
	}
	return 0;
}

/* A TCP connect's later life: for a non-blocking one its handshake's end
 * (success after the round trip, refused, a timeout, or abandoned), and
 * for one established its close, mostly soon, a few after minutes. */
static void plan_outcomes(struct laters *q, const struct ct_event *ev, int unreachable,
			  uint32_t rtt)
{
	struct later x = {.o = {.ts_ns = ev->ts_ns, .tid = ev->tid}};
	uint64_t established = 0;
	if (ev->ret == -115) {
		uint32_t r = below(1000);
		x.handshake = 1;
		if ((unreachable && r < 600) || r < 15) { /* a few anywhere: a host went away */
			x.o.flags = CT_OC_RESULT;
			/* refused after a round trip; a timeout after SYN retries
			 * (seconds); unreachable when a router's ICMP came back */
			x.o.result = r % 3 == 0 ? -111 : r % 3 == 1 ? -110 : -113;
			x.o.result_ns = r % 3 == 1 ? 3000000000ull + below(4000) * 1000000ull
						   : rtt + below(rtt / 4 + 1);
		} else if (r >= 980) {
			x.o.flags = CT_OC_ABANDONED;
			x.o.result_ns = 5000000ull + below(500) * 1000000ull;
		} else {
			x.o.flags = CT_OC_RESULT;
			x.o.result_ns = rtt + below(rtt / 4 + 1);
			established = x.o.result_ns;
		}
		x.at = ev->ts_ns + x.o.result_ns;
		later_push(q, &x);
		if (!established)
			return;
	} else if (ev->ret == 0) {
		established = ev->latency_ns;
	} else {
		return;
	}
	/* The close: lifetimes from milliseconds to minutes. */
	uint32_t r = below(1000);
	uint64_t life = r < 700	  ? 200000ull + below(200) * 1000000ull
			: r < 970 ? 1000000000ull + below(60) * 1000000000ull
				  : 60000000000ull + below(600) * 1000000000ull;
	struct later c = {.handshake = 0,
			  .o = {.ts_ns = ev->ts_ns,
				.tid = ev->tid,
				.flags = CT_OC_CLOSED,
				.closed_ns = established + life,
				.tx_bytes = 200 + below(20000),
				.rx_bytes = below(4) ? 500 + below(200000) : 0}};
	c.at = ev->ts_ns + c.o.closed_ns;
	c.established = ev->ret == 0 ? ev->ts_ns : ev->ts_ns + established;
	later_push(q, &c);
}

struct args {
	long long nevents, seed;
	const char *out, *truth_path, *profile, *host;
	struct ct_writer_opts wo;
	int64_t start_wall;
	int storm;
};

/* The command line into *a: -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option longopts[] = {
	    {"seed", required_argument, 0, 's'},
	    {"profile", required_argument, 0, 'p'},
	    {"truth", required_argument, 0, 't'},
	    {"compress", required_argument, 0, 'c'},
	    {"start", required_argument, 0, 'S'},
	    {"output", required_argument, 0, 'o'},
	    {"events", required_argument, 0, 'n'},
	    {"help", no_argument, 0, 'h'},
	    {"chunk-events", required_argument, 0, 'C'},
	    {"host", required_argument, 0, 'H'},
	    {0, 0, 0, 0},
	};
	long long ce = 0;
	int c;

	*a = (struct args){.nevents = -1,
			   .seed = 1,
			   .profile = "mixed",
			   .wo = {.compress = CT_COMP_ZSTD},
			   .start_wall = 1768467600 /* 2026-01-15T09:00:00Z */};
	while ((c = getopt_long(argc, argv, "n:o:s:p:t:c:S:C:H:h", longopts, NULL)) != -1) {
		const char *bad = NULL;
		switch (c) {
		case 'n':
			if (ct_parse_long(optarg, 0, 1LL << 40, &a->nevents))
				bad = "bad event count '%s'";
			break;
		case 's':
			if (ct_parse_long(optarg, 0, INT64_MAX, &a->seed))
				bad = "bad seed '%s'";
			break;
		case 'p':
			a->profile = optarg;
			break;
		case 't':
			a->truth_path = optarg;
			break;
		case 'c':
			if (parse_compress(optarg, &a->wo))
				bad = "bad --compress '%s' (zstd[:1-19], zlib[:1-9], none)";
			break;
		case 'S':
			if (parse_start(optarg, &a->start_wall))
				bad = "bad --start '%s' (e.g. 2026-11-24T13:05:00Z)";
			break;
		case 'o':
			a->out = optarg;
			break;
		case 'C':
			if (ct_parse_long(optarg, 1, 1 << 20, &ce))
				bad = "bad --chunk-events '%s'";
			a->wo.chunk_events = (uint32_t)ce;
			break;
		case 'H':
			/* The header's host name: traces of a fleet (tests/cli/clickhouse.sh). */
			if (!*optarg || strlen(optarg) > 255)
				bad = "bad --host '%s' (1 to 255 bytes)";
			a->host = optarg;
			break;
		case 'h':
			usage(stdout);
			return CT_EXIT_OK;
		default:
			usage(stderr);
			return CT_EXIT_USAGE;
		}
		if (bad) {
			ct_err(bad, optarg);
			return CT_EXIT_USAGE;
		}
	}
	if (a->nevents < 0 || !a->out || optind != argc) {
		usage(stderr);
		return CT_EXIT_USAGE;
	}
	a->storm = !strcmp(a->profile, "storm");
	if (!a->storm && strcmp(a->profile, "mixed")) {
		ct_err("bad --profile '%s' (mixed or storm)", a->profile);
		return CT_EXIT_USAGE;
	}
	return -1;
}

/* The generator's state: the world it draws from and the event it builds. */
struct gen {
	struct ct_writer *w;
	int storm;
	struct dest *dests;
	uint32_t ndest, cap_dest, nslots;
	struct procslot *slots;
	struct zipf zd, zp;
	struct truth t;
	uint32_t next_pid, burst;
	uint64_t ts;
	struct laters later;
	struct ct_task task;
	struct ct_dest dest;
	struct ct_event ev;
};

/* The destinations and processes, and the snapshot of those running. */
static int gen_start(struct gen *g, uint64_t boot_ts)
{
	int err = 0;

	g->ndest = g->cap_dest = g->storm ? 1 : 5000;
	g->nslots = g->storm ? 1 : 300;
	g->dests = calloc(g->ndest, sizeof(*g->dests));
	g->slots = calloc(g->nslots, sizeof(*g->slots));
	g->t = (struct truth){.pid_base = 1000};
	g->t.dest = calloc(g->ndest, sizeof(uint64_t));
	g->t.prog = calloc(NPROGS, sizeof(uint64_t));
	if (!g->dests || !g->slots || !g->t.dest || !g->t.prog ||
	    zipf_init(&g->zd, g->ndest, 1.1) || zipf_init(&g->zp, g->nslots, 0.9))
		return CT_E_NOMEM;
	g->next_pid = 1000;
	g->ts = boot_ts;
	g->ev = (struct ct_event){.task = &g->task, .dest = &g->dest};
	if (g->storm) {
		g->dests[0] = (struct dest){.cd = {.family = AF_INET,
						   .type = SOCK_DGRAM,
						   .proto = IPPROTO_UDP,
						   .dport = 9999,
						   .daddr = {10, 1, 2, 3}}};
		g->slots[0].pid = g->next_pid++;
		g->slots[0].cgroup = 0x2000;
		struct ct_proc pr = {
		    .ts_ns = g->ts,
		    .task = {.cgroup_id = 0x2000, .pid = g->slots[0].pid, .ppid = 1},
		    .kind = CT_PROC_SNAPSHOT,
		    .exe = "/usr/local/bin/stormer",
		    .cmdline = "stormer --udp 10.1.2.3:9999"};
		memcpy(pr.task.comm, "stormer", 8);
		g->t.procs++;
		return ct_writer_proc(g->w, &pr);
	}
	make_dests(g->dests, g->ndest);
	for (uint32_t i = 0; i < g->nslots && !err; i++) {
		new_proc(&g->slots[i], &g->next_pid, i < NPROGS ? i : below(NPROGS));
		err = write_proc(g->w, &g->slots[i], CT_PROC_SNAPSHOT, g->ts, &g->t);
	}
	return err;
}

static void storm_event(struct gen *g)
{
	g->ts += 900 + below(200);
	g->task = (struct ct_task){.pid = g->slots[0].pid, .ppid = 1, .cgroup_id = 0x2000};
	memcpy(g->task.comm, "stormer", 8);
	g->dest = g->dests[0].cd;
	g->ev = (struct ct_event){.ts_ns = g->ts,
				  .task = &g->task,
				  .dest = &g->dest,
				  .tid = g->slots[0].pid,
				  .sockfd = 3,
				  .flags = CT_EV_RET,
				  .ret = 0};
	g->t.dest[0]++;
	g->t.prog[0]++;
}

/* The far end of the tail: an address seen once (a CDN node, a peer),
 * which is what a single-address query usually hunts. Its index in *di. */
static int rare_dest(struct gen *g, uint32_t *di)
{
	if (g->ndest == g->cap_dest) {
		g->cap_dest *= 2;
		struct dest *nd = realloc(g->dests, g->cap_dest * sizeof(*nd));
		uint64_t *nc = realloc(g->t.dest, g->cap_dest * sizeof(*nc));
		if (nd)
			g->dests = nd;
		if (nc)
			g->t.dest = nc;
		if (!nd || !nc)
			return CT_E_NOMEM;
	}
	struct dest *x = &g->dests[g->ndest];
	*x = g->dests[1 + below(40)]; /* a common port and type */
	if (x->cd.family == AF_UNIX)
		*x = g->dests[0];
	uint32_t a = (uint32_t)next_u64() | 0x01000000;
	x->cd.family = AF_INET;
	memset(x->cd.daddr, 0, 16);
	memcpy(x->cd.daddr, (uint8_t[]){a >> 24, a >> 16, a >> 8, a}, 4);
	g->t.dest[g->ndest] = 0;
	*di = g->ndest++;
	return 0;
}

/* What connect(2) returned, how long it blocked, and whether the
 * recorder follows the connection's later life (then it is planned). */
static void connect_result(struct gen *g, const struct prog *p, const struct dest *d)
{
	struct ct_event *ev = &g->ev;
	uint32_t r = below(1000);
	int fail = d->unreachable ? r < 600 : r < 25;
	if (d->cd.family == AF_UNIX)
		ev->ret = fail ? (r & 1 ? -2 : -13) : 0;
	else if (fail)
		ev->ret = result_errs[2 + (r % 5 == 4 ? 4 : r % 4)];
	else if (p->nonblock && d->cd.type == SOCK_STREAM)
		ev->ret = -115; /* EINPROGRESS */
	else
		ev->ret = 0;
	ev->latency_ns = 0;
	if (!p->nonblock && d->cd.type == SOCK_STREAM) {
		ev->flags |= CT_EV_LATENCY;
		ev->latency_ns = d->rtt_ns + below(d->rtt_ns / 4 + 1);
	}
	/* A TCP connect that returned EINPROGRESS or 0 has a later life,
	 * which the recorder follows. */
	if (d->cd.type == SOCK_STREAM && d->cd.family != AF_UNIX &&
	    (ev->ret == -115 || ev->ret == 0)) {
		ev->flags |= CT_EV_TRACKED;
		plan_outcomes(&g->later, ev, d->unreachable, d->rtt_ns);
	}
}

static int mixed_event(struct gen *g, int lost_now)
{
	int err;
	/* ~1 ms mean spacing; now and then a burst of close connects. */
	if (g->burst) {
		g->burst--;
		g->ts += 1000 + below(3000);
	} else {
		g->ts += (uint64_t)(-log(1.0 - next_unit()) * 1.05e6);
		if (below(1000) < 4)
			g->burst = 20 + below(200);
	}
	struct procslot *s = &g->slots[zipf_draw(&g->zp)];
	/* Process churn: the slot's process exits, a new one execs. */
	if (below(2000) == 0) {
		if ((err = write_proc(g->w, s, CT_PROC_EXIT, g->ts, &g->t)))
			return err;
		new_proc(s, &g->next_pid, below(NPROGS));
		if ((err = write_proc(g->w, s, CT_PROC_EXEC, g->ts, &g->t)))
			return err;
	}
	const struct prog *p = &progs[s->prog];
	uint32_t di = zipf_draw(&g->zd);
	if (p->local && below(3)) /* local services mostly talk to UNIX sockets */
		di = 4 + below(40);
	if (!p->local && below(200) == 0 && (err = rare_dest(g, &di)))
		return err;
	const struct dest *d = &g->dests[di];
	/* Every field is set below (sport, saddr stay zero), so no memset:
	 * this is the generator's hot path. */
	struct ct_event *ev = &g->ev;
	ev->ts_ns = g->ts;
	g->task.pid = s->pid;
	ev->tid = s->pid + (p->threads > 1 ? below(p->threads) : 0);
	g->task.ppid = 1;
	g->task.uid = g->task.gid = p->uid;
	g->task.cgroup_id = s->cgroup;
	memcpy(g->task.comm, comms[s->prog], CT_COMM_LEN);
	ev->sockfd = s->fd + (below(8) ? 0 : (int32_t)below(4));
	g->dest = d->cd;
	g->dest.path = d->path;
	ev->flags = CT_EV_RET | (d->abstract ? CT_EV_ABSTRACT : 0);
	connect_result(g, p, d);
	g->t.dest[di]++;
	g->t.prog[s->prog]++;
	/* Lost events now and then, as a recorder under load sees. */
	if (below(100000) == 0 || lost_now) {
		struct ct_lost l = {.ts_ns = g->ts, .count = 1 + below(5000), .cpu = below(2)};
		g->t.lost += l.count;
		g->t.lost_records++;
		return ct_writer_lost(g->w, &l);
	}
	return 0;
}

static int gen_run(struct gen *g, long long nevents)
{
	int err = 0;
	for (long long i = 0; i < nevents && !err; i++) {
		if (g->storm)
			storm_event(g);
		else if ((err = mixed_event(g, i == nevents / 2)))
			break;
		truth_pid(&g->t, g->task.pid);
		truth_event(&g->t, &g->ev);
		err = ct_writer_event(g->w, &g->ev);
		if (!err && g->later.n)
			err = settle(g->w, &g->later, g->ts, 0, &g->t);
	}
	if (!err)
		err = settle(g->w, &g->later, 0, g->ts, &g->t);
	return err;
}

static void gen_free(struct gen *g)
{
	free(g->later.h);
	free(g->zd.alias);
	free(g->zd.cut);
	free(g->zp.alias);
	free(g->zp.cut);
	free(g->dests);
	free(g->slots);
	free(g->t.dest);
	free(g->t.prog);
	free(g->t.pid);
}

int main(int argc, char **argv)
{
	struct args a;
	struct gen g = {0};

	ct_set_cmd("gen");
	ct_progname = "conntrail-gen";
	int status = parse_args(argc, argv, &a);
	if (status >= 0)
		return status;
	rng = (uint64_t)a.seed * 0x2545f4914f6cdd1dULL + 17;
	for (size_t i = 0; i < NPROGS; i++)
		memcpy(comms[i], progs[i].comm, strnlen(progs[i].comm, CT_COMM_LEN));

	/* The recorder's own command line, as a real trace would have. */
	char cmdline[1024] = "";
	for (int i = 0; i < argc; i++) {
		size_t l = strlen(cmdline);
		snprintf(cmdline + l, sizeof(cmdline) - l, "%s%s", i ? " " : "", argv[i]);
	}
	const uint64_t boot_ts = 3600ULL * 1000000000ULL; /* an hour after boot */
	struct ct_header h = {.clock_id = 1,
			      .wall_offset_ns = a.start_wall * 1000000000LL - (int64_t)boot_ts,
			      .start_ts_ns = boot_ts,
			      .hostname = a.host    ? a.host
					  : a.storm ? "storm-host"
						    : "gen-host",
			      .kernel = "6.18.0-generated",
			      .arch = "x86_64",
			      .recorder = "conntrail-gen " CONNTRAIL_VERSION,
			      .backend = "generated",
			      .cmdline = cmdline,
			      .filters = ""};
	int err = ct_writer_open_file(&g.w, a.out, &h, &a.wo);
	if (err) {
		ct_err("%s: %s", a.out, err == CT_E_IO ? strerror(errno) : ct_strerror(err));
		return CT_EXIT_ERROR;
	}
	g.storm = a.storm;
	err = gen_start(&g, boot_ts);
	if (!err)
		err = gen_run(&g, a.nevents);
	if (err) {
		ct_writer_abort(g.w);
		ct_err("%s: %s", a.out, ct_strerror(err));
		gen_free(&g);
		return CT_EXIT_ERROR;
	}
	status = CT_EXIT_OK;
	if ((err = ct_writer_close(g.w))) {
		ct_err("%s: %s", a.out, ct_strerror(err));
		status = CT_EXIT_ERROR;
	} else if (a.truth_path && truth_write(a.truth_path, &g.t, g.dests, g.ndest, a.storm, &h)) {
		ct_err("%s: %s", a.truth_path, strerror(errno));
		status = CT_EXIT_ERROR;
	}
	gen_free(&g);
	return status;
}
