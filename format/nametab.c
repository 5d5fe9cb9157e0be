/* SPDX-License-Identifier: MIT */
/*
 * nametab.c: DNS answers (name records) by address, to join each connect
 * to the name that resolved to its daddr. The session layer joins with it
 * at read time; the writer uses it to put every name an event may be
 * joined to into its chunk's summary (CT_KEY_DNAME), so both sides share
 * one rule (format/FORMAT.md, "Name record").
 */
#include <stdlib.h>
#include <string.h>

#include "ct_internal.h"

#define ADDR_SLOTS 4	     /* answers kept per address: the latest */
#define ADDRS_MAX (1u << 20) /* addresses kept at most */
#define NAMES_MAX (1u << 20) /* distinct names kept at most */

struct nt_answer {
	uint64_t ts, until; /* received; valid up to (ttl + slack later) */
	uint64_t cgroup;
	const char *name; /* interned */
};

struct nt_addr {
	uint16_t family; /* 0: empty slot */
	uint8_t addr[16];
	uint8_t next; /* slot the next answer goes to */
	struct nt_answer ans[ADDR_SLOTS];
};

struct ct_nametab {
	struct nt_addr *addrs;
	uint32_t acap, acount;
	struct ct_oatab names; /* interned names: char * slots */
	uint64_t dropped;
};

static uint64_t hash_mem(const void *p, size_t len, uint64_t h)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h ^ (h >> 29);
}

struct ct_nametab *ct_nametab_new(void)
{
	return calloc(1, sizeof(struct ct_nametab));
}

void ct_nametab_free(struct ct_nametab *t)
{
	if (!t)
		return;
	char **names = t->names.slots;
	for (size_t i = 0; i < t->names.cap; i++)
		free(names[i]);
	ct_oatab_free(&t->names);
	free(t->addrs);
	free(t);
}

uint32_t ct_nametab_count(const struct ct_nametab *t)
{
	return t ? t->acount : 0;
}

static uint64_t name_hash(const char *s)
{
	return hash_mem(s, strlen(s), 14695981039346656037ULL);
}

static uint64_t name_slot_hash(const void *slot)
{
	return name_hash(*(char *const *)slot);
}

static int name_used(const void *slot)
{
	return *(char *const *)slot != NULL;
}

static int name_eq(const void *slot, const void *key)
{
	return !strcmp(*(char *const *)slot, key);
}

static const struct ct_oatab_ops name_ops = {
    .size = sizeof(char *), .hash = name_slot_hash, .used = name_used, .eq = name_eq};

static const char *intern(struct ct_nametab *t, const char *s)
{
	char **slot = ct_oatab_probe(&t->names, &name_ops, name_hash(s), s);
	if (slot && *slot)
		return *slot;
	if (t->names.count >= NAMES_MAX || ct_oatab_reserve(&t->names, &name_ops, 1, 2))
		return NULL;
	size_t len = strlen(s);
	char *c = malloc(len + 1);
	if (!c)
		return NULL;
	memcpy(c, s, len + 1);
	slot = ct_oatab_probe(&t->names, &name_ops, name_hash(s), s);
	*slot = c;
	t->names.count++;
	return c;
}

static uint32_t addr_hash(uint16_t family, const uint8_t *addr)
{
	return (uint32_t)hash_mem(addr, family == 2 ? 4 : 16, 14695981039346656037ULL ^ family);
}

/* The slot of (family, addr): its entry, or the empty slot it would take. */
static struct nt_addr *find(const struct nt_addr *tab, uint32_t cap, uint16_t family,
			    const uint8_t *addr)
{
	size_t len = family == 2 ? 4 : 16;
	uint32_t j = addr_hash(family, addr) & (cap - 1);
	while (tab[j].family && (tab[j].family != family || memcmp(tab[j].addr, addr, len)))
		j = (j + 1) & (cap - 1);
	return (struct nt_addr *)&tab[j];
}

static int grow_addrs(struct ct_nametab *t)
{
	uint32_t acap = t->acap ? t->acap * 2 : 256;
	struct nt_addr *n = calloc(acap, sizeof(*n));
	if (!n)
		return CT_E_NOMEM;
	for (uint32_t i = 0; i < t->acap; i++)
		if (t->addrs[i].family)
			*find(n, acap, t->addrs[i].family, t->addrs[i].addr) = t->addrs[i];
	free(t->addrs);
	t->addrs = n;
	t->acap = acap;
	return 0;
}

int ct_nametab_add(struct ct_nametab *t, const struct ct_name *n)
{
	const char *name = NULL;
	for (uint32_t i = 0; i < n->naddrs && i < CT_NAME_ADDRS_MAX; i++) {
		const struct ct_name_addr *a = &n->addrs[i];
		if (a->family != 2 && a->family != 10)
			continue;
		if (!name && !(name = intern(t, n->name))) {
			t->dropped++;
			return 0;
		}
		if ((t->acount + 1) * 2 > t->acap) {
			if (t->acount >= ADDRS_MAX) {
				t->dropped++;
				return 0;
			}
			if (grow_addrs(t))
				return CT_E_NOMEM;
		}
		struct nt_addr *e = find(t->addrs, t->acap, a->family, a->addr);
		if (!e->family) {
			e->family = a->family;
			memcpy(e->addr, a->addr, 16);
			t->acount++;
		}
		uint64_t life = ((uint64_t)n->ttl + CT_NAME_SLACK_S) * 1000000000ULL;
		e->ans[e->next] = (struct nt_answer){
		    .ts = n->ts_ns, .until = n->ts_ns + life, .cgroup = n->cgroup_id, .name = name};
		e->next = (uint8_t)((e->next + 1) % ADDR_SLOTS);
	}
	return 0;
}

/* The answers for (family, addr) that an event at ts may be joined to. */
static const struct nt_addr *lookup(const struct ct_nametab *t, uint16_t family,
				    const uint8_t *addr)
{
	if (!t || !t->acount || (family != 2 && family != 10))
		return NULL;
	const struct nt_addr *e = find(t->addrs, t->acap, family, addr);
	return e->family ? e : NULL;
}

static int usable(const struct nt_answer *a, uint64_t ts)
{
	return a->name && a->ts <= ts && ts <= a->until;
}

const char *ct_nametab_join(const struct ct_nametab *t, uint64_t ts, uint16_t family,
			    const uint8_t *addr, uint64_t cgroup)
{
	const struct nt_addr *e = lookup(t, family, addr);
	if (!e)
		return NULL;
	const struct nt_answer *best = NULL;
	int best_same = 0;
	for (int i = 0; i < ADDR_SLOTS; i++) {
		const struct nt_answer *a = &e->ans[i];
		if (!usable(a, ts))
			continue;
		int same = cgroup && a->cgroup == cgroup;
		if (!best || same > best_same || (same == best_same && a->ts >= best->ts)) {
			best = a;
			best_same = same;
		}
	}
	return best ? best->name : NULL;
}

int ct_nametab_each(const struct ct_nametab *t, uint64_t ts, uint16_t family, const uint8_t *addr,
		    int (*fn)(void *ctx, const char *name), void *ctx)
{
	const struct nt_addr *e = lookup(t, family, addr);
	int err = 0;
	for (int i = 0; e && i < ADDR_SLOTS && !err; i++)
		if (usable(&e->ans[i], ts))
			err = fn(ctx, e->ans[i].name);
	return err;
}
