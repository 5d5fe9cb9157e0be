/* SPDX-License-Identifier: MIT */
/* bpfload.c: the loader, open -> configure -> load -> attach, one cleanup path. */
#include <errno.h>
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
	b->lost_seen = calloc((size_t)b->ncpus * CTB_LOST_SLOTS, sizeof(uint64_t));
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

	err = conntrail_bpf__load(skel);
	if (err) {
		snprintf(why, whylen, "load failed: %s", strerror(-err));
		goto fail;
	}
	err = conntrail_bpf__attach(skel);
	if (err) {
		snprintf(why, whylen, "attach failed: %s", strerror(-err));
		goto fail;
	}
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

int rec_bpf_lost_delta(struct rec_bpf *b, uint64_t *conn, uint64_t *proc)
{
	uint64_t vals[b->ncpus];

	memset(vals, 0, sizeof(vals)); /* filled by the kernel; zeroed for valgrind */
	*proc = 0;
	for (uint32_t slot = 0; slot < CTB_LOST_SLOTS; slot++) {
		if (bpf_map__lookup_elem(b->skel->maps.lost, &slot, sizeof(slot), vals,
					 sizeof(vals), 0))
			return -errno;
		for (int cpu = 0; cpu < b->ncpus; cpu++) {
			uint64_t *seen = &b->lost_seen[(size_t)cpu * CTB_LOST_SLOTS + slot];
			uint64_t d = vals[cpu] - *seen;
			*seen = vals[cpu];
			if (slot == CTB_LOST_CONNECT)
				conn[cpu] = d;
			else
				*proc += d;
		}
	}
	return 0;
}

void rec_bpf_detach(struct rec_bpf *b)
{
	if (b->skel)
		conntrail_bpf__detach(b->skel);
}

void rec_bpf_destroy(struct rec_bpf *b)
{
	ring_buffer__free(b->rb);
	b->rb = NULL;
	conntrail_bpf__destroy(b->skel);
	b->skel = NULL;
	free(b->lost_seen);
	b->lost_seen = NULL;
}
