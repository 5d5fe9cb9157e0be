/* SPDX-License-Identifier: MIT */
/* bpfload.c: the loader, open -> configure -> load -> attach, one cleanup path. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/perf_event.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bpf/conntrail_event.h"
#include "conntrail.skel.h"
#include "bpfload.h"

static const char *const backend_names[REC_NBACKENDS] = {"lsm", "fentry", "tracepoint"};

const char *rec_backend_name(enum rec_backend b)
{
	return (unsigned)b < REC_NBACKENDS ? backend_names[b] : "?";
}

int rec_backend_parse(const char *name)
{
	for (int i = 0; i < REC_NBACKENDS; i++)
		if (!strcmp(name, backend_names[i]))
			return i;
	return -1;
}

/* libbpf talks a lot on failures; keep its last warning for our one line. */
static char libbpf_last[256];

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	va_list copy;

	va_copy(copy, ap);
	if (level == LIBBPF_WARN) {
		vsnprintf(libbpf_last, sizeof(libbpf_last), fmt, copy);
		libbpf_last[strcspn(libbpf_last, "\n")] = 0;
	}
	va_end(copy);
	if (getenv("CONNTRAIL_BPF_DEBUG"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

int rec_lsm_active(char *why, size_t whylen)
{
	static const char *lsm_path = "/sys/kernel/security/lsm";
	char list[512] = "";
	FILE *f = fopen(lsm_path, "re");

	if (!f && errno == ENOENT) {
		/* securityfs is not always mounted; mount it where it belongs. */
		if (mount("securityfs", "/sys/kernel/security", "securityfs", 0, NULL) == 0)
			f = fopen(lsm_path, "re");
	}
	if (!f) {
		snprintf(why, whylen, "cannot read %s: %s", lsm_path, strerror(errno));
		return 0;
	}
	if (!fgets(list, sizeof(list), f))
		list[0] = 0;
	fclose(f);
	list[strcspn(list, "\n")] = 0;
	char copy[sizeof(list)];
	memcpy(copy, list, sizeof(list));
	for (char *save, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (!strcmp(tok, "bpf"))
			return 1;
	snprintf(why, whylen, "bpf not in active LSM list (%s)", list);
	return 0;
}

/* Does the running kernel's BTF have this function (a kfunc, say)? */
static bool kernel_has_func(const char *name)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	bool found;

	if (!vmlinux)
		return false;
	found = btf__find_by_name_kind(vmlinux, name, BTF_KIND_FUNC) >= 0;
	btf__free(vmlinux);
	return found;
}

static uint64_t round_pow2(uint64_t v)
{
	uint64_t p = 4096; /* at least a page */

	while (p < v && p < (1ull << 31))
		p <<= 1;
	return p;
}

/* The id of tracepoint CAT/NAME in tracefs (mounted if it is not). */
static long tracepoint_id(const char *cat, const char *name)
{
	static const char *const roots[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"};
	char path[256];

	for (int attempt = 0; attempt < 2; attempt++) {
		for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
			snprintf(path, sizeof(path), "%s/events/%s/%s/id", roots[i], cat, name);
			FILE *f = fopen(path, "re");
			long id = -1;
			if (!f)
				continue;
			if (fscanf(f, "%ld", &id) != 1)
				id = -1;
			fclose(f);
			if (id >= 0)
				return id;
		}
		if (attempt == 0 && mount("tracefs", roots[0], "tracefs", 0, NULL))
			break;
	}
	return -1;
}

/*
 * A "tp/CAT/NAME" program on a counting perf event of its own. The programs
 * return nonzero (TP_PASS) so that perf users of the same tracepoints keep
 * their samples while conntrail records; the kernel then also hands every
 * hit to the perf event the program hangs on, and libbpf's is a sampling
 * one (a sample prepared and dropped per hit, ~200 ns a connect). A
 * counting event costs one add. NULL when it cannot be done this way.
 */
static struct bpf_link *attach_tp_counting(struct bpf_program *prog)
{
	const char *sec = bpf_program__section_name(prog);
	char cat[64], name[128];

	if (!sec || sscanf(sec, "tp/%63[^/]/%127s", cat, name) != 2)
		return NULL;
	long id = tracepoint_id(cat, name);
	if (id < 0)
		return NULL;
	struct perf_event_attr attr = {
	    .type = PERF_TYPE_TRACEPOINT, .size = sizeof(attr), .config = (uint64_t)id};
	int pfd = (int)syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (pfd < 0)
		return NULL;
	struct bpf_link *link = bpf_program__attach_perf_event(prog, pfd);
	if (!link)
		close(pfd);
	return link;
}

/* Attach what was loaded: tracepoint programs on counting perf events
 * (libbpf's own way if that fails), the rest by the skeleton. */
static int attach_all(struct conntrail_bpf *skel)
{
	struct {
		struct bpf_program *prog;
		struct bpf_link **link;
	} tps[] = {
	    {skel->progs.tp_enter_connect, &skel->links.tp_enter_connect},
	    {skel->progs.tp_enter_connect_cast, &skel->links.tp_enter_connect_cast},
	    {skel->progs.tp_exit_connect, &skel->links.tp_exit_connect},
	    {skel->progs.tp_fork, &skel->links.tp_fork},
	    {skel->progs.tp_exec, &skel->links.tp_exec},
	    {skel->progs.tp_exit, &skel->links.tp_exit},
	};
	for (size_t i = 0; i < sizeof(tps) / sizeof(tps[0]); i++) {
		if (!bpf_program__autoload(tps[i].prog))
			continue;
		*tps[i].link = attach_tp_counting(tps[i].prog);
		if (*tps[i].link)
			bpf_program__set_autoattach(tps[i].prog, false);
	}
	return conntrail_bpf__attach(skel);
}

/*
 * Where the cgroup v2 hierarchy is mounted, from /proc/mounts (a hybrid
 * layout has it at /sys/fs/cgroup/unified, a unified one at /sys/fs/cgroup).
 * None: one of our own in a private directory (b->cgroup2_tmp). 0 with the
 * path in out, or -1 with why in b->dns_why.
 */
static int cgroup2_root(struct rec_bpf *b, char *out, size_t outlen)
{
	FILE *f = fopen("/proc/mounts", "re");
	char line[1024];
	int found = 0;

	while (f && !found && fgets(line, sizeof(line), f)) {
		char dev[256], dir[512], type[64];
		if (sscanf(line, "%255s %511s %63s", dev, dir, type) == 3 &&
		    !strcmp(type, "cgroup2")) {
			snprintf(out, outlen, "%s", dir);
			found = 1;
		}
	}
	if (f)
		fclose(f);
	if (found)
		return 0;
	char tmpl[] = "/tmp/conntrail-cgroup2.XXXXXX";
	if (!mkdtemp(tmpl) || mount("cgroup2", tmpl, "cgroup2", 0, NULL)) {
		snprintf(b->dns_why, sizeof(b->dns_why),
			 "no cgroup v2 mount and cannot mount one: %s", strerror(errno));
		rmdir(tmpl);
		return -1;
	}
	b->cgroup2_tmp = strdup(tmpl);
	snprintf(out, outlen, "%s", tmpl);
	return 0;
}

/* The DNS program on the cgroup v2 root. Its failure is not the backend's:
 * recording goes on without names (b->dns_why says why). */
static void attach_dns(struct rec_bpf *b)
{
	char root[512];

	if (cgroup2_root(b, root, sizeof(root)))
		return;
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(b->dns_why, sizeof(b->dns_why), "%s: %s", root, strerror(errno));
		return;
	}
	b->dns_link = bpf_program__attach_cgroup(b->skel->progs.dns_ingress, fd);
	int err = errno;
	close(fd); /* the link holds the cgroup */
	if (!b->dns_link)
		snprintf(b->dns_why, sizeof(b->dns_why), "attach to %s: %s", root, strerror(err));
}

int rec_bpf_start(struct rec_bpf *b, enum rec_backend which, const struct rec_bpf_cfg *cfg,
		  char *why, size_t whylen)
{
	struct conntrail_bpf *skel;
	int err;

	memset(b, 0, sizeof(*b));
	libbpf_set_print(libbpf_quiet);
	libbpf_last[0] = 0;
	b->backend = which;
	b->ncpus = libbpf_num_possible_cpus();
	if (b->ncpus <= 0) {
		snprintf(why, whylen, "cannot count CPUs");
		return -1;
	}
	/* One block: what was seen per CPU and slot, then lost_conn. */
	b->lost_seen = calloc((size_t)b->ncpus * (CTB_LOST_SLOTS + 1), sizeof(uint64_t));
	b->lost_conn = b->lost_seen ? b->lost_seen + (size_t)b->ncpus * CTB_LOST_SLOTS : NULL;
	if (!b->lost_seen) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}

	skel = conntrail_bpf__open();
	if (!skel) {
		snprintf(why, whylen, "open failed: %s", strerror(errno));
		goto fail;
	}
	b->skel = skel;

	/* Configure: settings are read-only once loaded. */
	b->buffer_bytes = round_pow2(cfg->buffer_bytes);
	skel->rodata->filter_pids = cfg->filter_pids != 0;
	skel->rodata->filter_cgroup = cfg->cgroup_id;
	skel->rodata->self_tgid = cfg->self_tgid;
	/* Wake the reader at a quarter full: early enough to never overflow
	 * under a storm, rare enough to batch thousands of events a wakeup. */
	skel->rodata->wakeup_bytes = b->buffer_bytes / 4;
	bpf_map__set_max_entries(skel->maps.events, (uint32_t)b->buffer_bytes);
	bpf_program__set_autoload(skel->progs.lsm_connect, which == REC_LSM);
	bpf_program__set_autoload(skel->progs.fentry_connect, which == REC_FENTRY);
	/* lsm and fentry open the entry in their hook: no sys_enter program. */
	skel->rodata->nr_connect = SYS_connect;
	b->plain_loads = which == REC_TRACEPOINT && kernel_has_func("bpf_rdonly_cast");
	bpf_program__set_autoload(skel->progs.tp_enter_connect,
				  which == REC_TRACEPOINT && !b->plain_loads);
	bpf_program__set_autoload(skel->progs.tp_enter_connect_cast, b->plain_loads);
	/* lsm and fentry take connect's ret from fexit: no syscall tracepoint. */
	bpf_program__set_autoload(skel->progs.tp_exit_connect, which == REC_TRACEPOINT);
	bpf_program__set_autoload(skel->progs.fexit_connect, which != REC_TRACEPOINT);
	/* The DNS program is attached by hand (attach_dns): libbpf cannot know
	 * which cgroup. */
	bpf_program__set_autoload(skel->progs.dns_ingress, cfg->dns != 0);
	bpf_program__set_autoattach(skel->progs.dns_ingress, false);
	skel->rodata->filter_dns_cgroup = cfg->dns_cgroup;

	err = conntrail_bpf__load(skel);
	if (err && cfg->dns) {
		/* Names are worth less than the capture: a kernel whose
		 * verifier refuses the DNS program records without it. */
		struct rec_bpf_cfg no_dns = *cfg;
		char dns_why[sizeof(b->dns_why)];

		snprintf(dns_why, sizeof(dns_why), "the DNS program does not load here: %s",
			 strerror(-err));
		rec_bpf_destroy(b);
		no_dns.dns = 0;
		if (rec_bpf_start(b, which, &no_dns, why, whylen))
			return -1;
		memcpy(b->dns_why, dns_why, sizeof(dns_why));
		return 0;
	}
	if (err) {
		snprintf(why, whylen, "load failed: %s", strerror(-err));
		goto fail;
	}
	err = attach_all(skel);
	if (err) {
		snprintf(why, whylen, "attach failed: %s", strerror(-err));
		goto fail;
	}
	if (cfg->dns)
		attach_dns(b);
	/* Loading parsed the kernel's BTF (megabytes, now freed): return it
	 * before the ring buffer is mapped, so the peak stays low. */
	malloc_trim(0);
	b->rb = ring_buffer__new(bpf_map__fd(skel->maps.events), cfg->on_sample, cfg->ctx, NULL);
	if (!b->rb) {
		snprintf(why, whylen, "ring buffer: %s", strerror(errno));
		goto fail;
	}
	return 0;
fail:
	rec_bpf_destroy(b);
	return -1;
}

int rec_bpf_add_pid(struct rec_bpf *b, uint32_t pid)
{
	uint8_t one = 1;

	if (bpf_map__update_elem(b->skel->maps.traced, &pid, sizeof(pid), &one, sizeof(one),
				 BPF_ANY))
		return -errno;
	return 0;
}

int rec_bpf_is_traced(struct rec_bpf *b, uint32_t pid)
{
	uint8_t v;

	return bpf_map__lookup_elem(b->skel->maps.traced, &pid, sizeof(pid), &v, sizeof(v), 0) == 0;
}

void rec_bpf_set_probe(struct rec_bpf *b, uint32_t pid)
{
	/* .bss is memory-mapped: the programs see the store at once. */
	__atomic_store_n(&b->skel->bss->probe_tgid, pid, __ATOMIC_SEQ_CST);
}

/* Runs the kernel skipped of the programs that follow handshakes
 * (bpf_prog_info.recursion_misses, 5.12 on; 0 before). */
static uint64_t state_misses(const struct rec_bpf *b)
{
	const struct bpf_program *progs[] = {b->skel->progs.tp_state, b->skel->progs.tp_error};
	uint64_t n = 0;

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		struct bpf_prog_info info;
		uint32_t len = sizeof(info);
		int fd = bpf_program__fd(progs[i]);

		memset(&info, 0, sizeof(info));
		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len))
			n += info.recursion_misses;
	}
	return n;
}

int rec_bpf_lost_delta(struct rec_bpf *b, uint64_t *proc, uint64_t *outcomes, uint64_t *dns,
		       uint64_t *missed)
{
	uint64_t vals[b->ncpus];

	memset(vals, 0, sizeof(vals)); /* filled by the kernel; zeroed for valgrind */
	*proc = 0;
	*outcomes = 0;
	*dns = 0;
	uint64_t m = state_misses(b);
	*missed = m - b->missed_seen;
	b->missed_seen = m;
	for (uint32_t slot = 0; slot < CTB_LOST_SLOTS; slot++) {
		if (bpf_map__lookup_elem(b->skel->maps.lost, &slot, sizeof(slot), vals,
					 sizeof(vals), 0))
			return -errno;
		for (int cpu = 0; cpu < b->ncpus; cpu++) {
			uint64_t *seen = &b->lost_seen[(size_t)cpu * CTB_LOST_SLOTS + slot];
			uint64_t d = vals[cpu] - *seen;
			*seen = vals[cpu];
			if (slot == CTB_LOST_CONNECT)
				b->lost_conn[cpu] = d;
			else if (slot == CTB_LOST_OUTCOME)
				*outcomes += d;
			else if (slot == CTB_LOST_DNS)
				*dns += d;
			else
				*proc += d;
		}
	}
	return 0;
}

void rec_bpf_detach(struct rec_bpf *b)
{
	bpf_link__destroy(b->dns_link);
	b->dns_link = NULL;
	if (b->skel)
		conntrail_bpf__detach(b->skel);
}

void rec_bpf_destroy(struct rec_bpf *b)
{
	bpf_link__destroy(b->dns_link);
	b->dns_link = NULL;
	ring_buffer__free(b->rb);
	b->rb = NULL;
	conntrail_bpf__destroy(b->skel);
	b->skel = NULL;
	free(b->lost_seen); /* and lost_conn, in its block */
	b->lost_seen = b->lost_conn = NULL;
	if (b->cgroup2_tmp) {
		umount2(b->cgroup2_tmp, MNT_DETACH);
		rmdir(b->cgroup2_tmp);
		free(b->cgroup2_tmp);
		b->cgroup2_tmp = NULL;
	}
}
