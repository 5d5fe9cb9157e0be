/* SPDX-License-Identifier: MIT */
/*
 * proctable.h: the recorder's view of live processes (from the /proc
 * snapshot and exec/exit records), so that every rotated file can start with
 * the context of the processes that are still running, even when /proc no
 * longer has them by the time the file is opened.
 */
#ifndef CONNTRAIL_RECORD_PROCTABLE_H
#define CONNTRAIL_RECORD_PROCTABLE_H

#include "format/ctrace.h"

struct proctable;

struct proctable *proctable_new(void);
void proctable_free(struct proctable *t);
/* Remember p (a snapshot or exec record; strings are copied). 0 or -1. */
int proctable_put(struct proctable *t, const struct ct_proc *p);
void proctable_remove(struct proctable *t, uint32_t pid);
/* The live process pid as remembered, or NULL. */
const struct ct_proc *proctable_get(const struct proctable *t, uint32_t pid);
/* Calls fn for every live process, as a CT_PROC_SNAPSHOT record. */
int proctable_each(struct proctable *t, int (*fn)(void *ctx, const struct ct_proc *p), void *ctx);
size_t proctable_count(const struct proctable *t);

#endif
