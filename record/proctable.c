/* SPDX-License-Identifier: MIT */
/* proctable.c: a chained hash of live processes, keyed by pid. */
#include <stdlib.h>
#include <string.h>

#include "proctable.h"

#define NBUCKETS 4096

struct entry {
	struct entry *next;
	struct ct_proc p; /* kind unused; strings owned */
};

struct proctable {
	struct entry *buckets[NBUCKETS];
	size_t count;
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void free_strings(struct ct_proc *p)
{
	free((char *)p->exe);
	free((char *)p->cmdline);
	free((char *)p->container);
	free((char *)p->container_name);
	free((char *)p->image);
	free((char *)p->pod);
	free((char *)p->k8s_namespace);
}

struct proctable *proctable_new(void)
{
	return calloc(1, sizeof(struct proctable));
}

void proctable_free(struct proctable *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < NBUCKETS; i++) {
		for (struct entry *e = t->buckets[i], *next; e; e = next) {
			next = e->next;
			free_strings(&e->p);
			free(e);
		}
	}
	free(t);
}

int proctable_put(struct proctable *t, const struct ct_proc *p)
{
	struct entry **head = &t->buckets[p->task.pid % NBUCKETS], *e;

	for (e = *head; e && e->p.task.pid != p->task.pid; e = e->next)
		;
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return -1;
		e->next = *head;
		*head = e;
		t->count++;
	} else {
		free_strings(&e->p);
	}
	e->p = *p;
	e->p.exe = dup_or_null(p->exe);
	e->p.cmdline = dup_or_null(p->cmdline);
	e->p.container = dup_or_null(p->container);
	e->p.container_name = dup_or_null(p->container_name);
	e->p.image = dup_or_null(p->image);
	e->p.pod = dup_or_null(p->pod);
	e->p.k8s_namespace = dup_or_null(p->k8s_namespace);
	return 0;
}

const struct ct_proc *proctable_get(const struct proctable *t, uint32_t pid)
{
	for (const struct entry *e = t->buckets[pid % NBUCKETS]; e; e = e->next)
		if (e->p.task.pid == pid)
			return &e->p;
	return NULL;
}

void proctable_remove(struct proctable *t, uint32_t pid)
{
	for (struct entry **pp = &t->buckets[pid % NBUCKETS]; *pp; pp = &(*pp)->next) {
		if ((*pp)->p.task.pid == pid) {
			struct entry *e = *pp;
			*pp = e->next;
			free_strings(&e->p);
			free(e);
			t->count--;
			return;
		}
	}
}

int proctable_each(struct proctable *t, int (*fn)(void *ctx, const struct ct_proc *p), void *ctx)
{
	for (size_t i = 0; i < NBUCKETS; i++) {
		for (struct entry *e = t->buckets[i]; e; e = e->next) {
			struct ct_proc p = e->p;
			p.kind = CT_PROC_SNAPSHOT;
			int rc = fn(ctx, &p);
			if (rc)
				return rc;
		}
	}
	return 0;
}

size_t proctable_count(const struct proctable *t)
{
	return t->count;
}
