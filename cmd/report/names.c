/* SPDX-License-Identifier: MIT */
/*
 * names.c: the report's DNS names: which name each destination address was
 * reached by (its rows read "name (address):port"), connects per name, and
 * the names that were resolved while recording but never connected to
 * (`report --by name`, and the "Names" section of the full report).
 */
#include <stdlib.h>
#include <string.h>

#include "cmd/report/report.h"
#include "lib/strbuf.h"
#include "lib/util.h"

struct nm_name {
	char *name;
	uint64_t connects, answers;
};

struct nm_addr {
	uint16_t used, host, family;
	uint8_t addr[16];
	uint32_t name; /* index into names */
};

/* One report a process: the table rp_dest_text consults. */
static struct {
	struct nm_name *names;
	uint32_t nnames, names_cap;
	uint32_t *nidx; /* open addressing over names, index + 1 */
	uint32_t nidx_cap;
	struct nm_addr *addrs;
	uint32_t naddrs, addrs_cap;
} nm;

static uint64_t hash_bytes(const void *p, size_t n, uint64_t h)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h ^ (h >> 31);
}

static void grow_nidx(void)
{
	uint32_t cap = nm.nidx_cap ? nm.nidx_cap * 2 : 256;
	uint32_t *t = ct_xrealloc(NULL, (size_t)cap * sizeof(*t));
	memset(t, 0, (size_t)cap * sizeof(*t));
	for (uint32_t i = 0; i < nm.nnames; i++) {
		const char *s = nm.names[i].name;
		uint32_t j = (uint32_t)hash_bytes(s, strlen(s), 1469598103934665603ULL) & (cap - 1);
		while (t[j])
			j = (j + 1) & (cap - 1);
		t[j] = i + 1;
	}
	free(nm.nidx);
	nm.nidx = t;
	nm.nidx_cap = cap;
}

static uint32_t name_id(const char *s)
{
	if ((nm.nnames + 1) * 2 > nm.nidx_cap)
		grow_nidx();
	uint32_t j = (uint32_t)hash_bytes(s, strlen(s), 1469598103934665603ULL) & (nm.nidx_cap - 1);
	while (nm.nidx[j]) {
		if (!strcmp(nm.names[nm.nidx[j] - 1].name, s))
			return nm.nidx[j] - 1;
		j = (j + 1) & (nm.nidx_cap - 1);
	}
	if (nm.nnames == nm.names_cap) {
		nm.names_cap = nm.names_cap ? nm.names_cap * 2 : 64;
		nm.names = ct_xrealloc(nm.names, nm.names_cap * sizeof(*nm.names));
	}
	size_t len = strlen(s);
	char *copy = ct_xrealloc(NULL, len + 1);
	memcpy(copy, s, len + 1);
	nm.names[nm.nnames] = (struct nm_name){.name = copy};
	nm.nidx[j] = ++nm.nnames;
	return nm.nnames - 1;
}

static struct nm_addr *addr_slot(struct nm_addr *t, uint32_t cap, uint16_t host, uint16_t family,
				 const uint8_t *addr)
{
	uint32_t j = (uint32_t)hash_bytes(addr, 16, 1469598103934665603ULL ^ host ^ family << 16) &
		     (cap - 1);
	while (t[j].used &&
	       (t[j].host != host || t[j].family != family || memcmp(t[j].addr, addr, 16)))
		j = (j + 1) & (cap - 1);
	return &t[j];
}

void rp_names_answer(const char *name)
{
	uint32_t id = name_id(name); /* may move nm.names */
	nm.names[id].answers++;
}

void rp_names_batch(const struct ct_batch *b, uint16_t host)
{
	if (!b->dname)
		return;
	for (uint32_t i = 0; i < b->n; i++) {
		if (!b->dname[i])
			continue;
		uint32_t id = name_id(b->dname[i]);
		nm.names[id].connects++;
		const struct ct_dest *d = &b->dests[b->dest[i]];
		if ((nm.naddrs + 1) * 2 > nm.addrs_cap) {
			uint32_t cap = nm.addrs_cap ? nm.addrs_cap * 2 : 256;
			struct nm_addr *t = ct_xrealloc(NULL, (size_t)cap * sizeof(*t));
			memset(t, 0, (size_t)cap * sizeof(*t));
			for (uint32_t k = 0; k < nm.addrs_cap; k++)
				if (nm.addrs[k].used)
					*addr_slot(t, cap, nm.addrs[k].host, nm.addrs[k].family,
						   nm.addrs[k].addr) = nm.addrs[k];
			free(nm.addrs);
			nm.addrs = t;
			nm.addrs_cap = cap;
		}
		struct nm_addr *a = addr_slot(nm.addrs, nm.addrs_cap, host, d->family, d->daddr);
		if (!a->used) {
			*a = (struct nm_addr){.used = 1, .host = host, .family = d->family};
			memcpy(a->addr, d->daddr, 16);
			nm.naddrs++;
		}
		a->name = id; /* the latest name wins */
	}
}

const char *rp_names_of(const struct dest_key *k)
{
	if (!nm.naddrs || (k->family != 2 && k->family != 10))
		return NULL;
	struct nm_addr *a = addr_slot(nm.addrs, nm.addrs_cap, k->host, k->family, k->addr);
	return a->used ? nm.names[a->name].name : NULL;
}

static int by_connects(const void *a, const void *b)
{
	const struct nm_name *x = a, *y = b;
	if (x->connects != y->connects)
		return x->connects < y->connects ? 1 : -1;
	if (x->answers != y->answers)
		return x->answers < y->answers ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* The names, most connects first (a copy: the tables keep their order). */
static struct nm_name *sorted(void)
{
	struct nm_name *s = ct_xrealloc(NULL, (nm.nnames + 1) * sizeof(*s));
	if (nm.nnames) {
		memcpy(s, nm.names, nm.nnames * sizeof(*s));
		qsort(s, nm.nnames, sizeof(*s), by_connects);
	}
	return s;
}

void rp_names_print_text(const struct report *r, FILE *f, int top)
{
	if (!nm.nnames)
		return;
	struct nm_name *names = sorted();
	fprintf(f, "\nNames (DNS answers seen while recording)\n");
	fprintf(f, "  %10s %6s  %-44s %8s\n", "CONNECTS", "%", "NAME", "ANSWERS");
	uint32_t shown = 0, resolved = 0;
	for (uint32_t i = 0; i < nm.nnames; i++) {
		const struct nm_name *n = &names[i];
		if (!n->connects) {
			resolved++;
			continue;
		}
		if (top && shown >= (uint32_t)top)
			continue;
		shown++;
		fprintf(f, "  %10llu %5.1f%%  %-44s %8llu\n", (unsigned long long)n->connects,
			r->events ? 100.0 * (double)n->connects / (double)r->events : 0.0, n->name,
			(unsigned long long)n->answers);
	}
	if (resolved) {
		fprintf(f, "\nResolved, never connected to\n");
		for (uint32_t i = 0; i < nm.nnames; i++)
			if (!names[i].connects)
				fprintf(f, "  %-44s %8llu\n", names[i].name,
					(unsigned long long)names[i].answers);
	}
	free(names);
}

void rp_names_json(struct ct_buf *b)
{
	struct nm_name *names = sorted();
	ct_buf_puts(b, ",\"names\":[");
	for (uint32_t i = 0; i < nm.nnames; i++) {
		ct_buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
		ct_buf_json_str(b, names[i].name, strlen(names[i].name));
		ct_buf_printf(b, ",\"connects\":%llu,\"answers\":%llu}",
			      (unsigned long long)names[i].connects,
			      (unsigned long long)names[i].answers);
	}
	ct_buf_puts(b, "]");
	free(names);
}

void rp_names_free(void)
{
	for (uint32_t i = 0; i < nm.nnames; i++)
		free(nm.names[i].name);
	free(nm.names);
	free(nm.nidx);
	free(nm.addrs);
	memset(&nm, 0, sizeof(nm));
}
