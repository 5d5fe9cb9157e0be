/* SPDX-License-Identifier: MIT */
/* procs.h: the session's process table, keyed by (host, pid). */
#ifndef CONNTRAIL_SESSION_PROCS_H
#define CONNTRAIL_SESSION_PROCS_H

#include <stdint.h>

#include "format/ctrace.h"

struct ct_procs;

struct ct_procs *ct_procs_new(void);
void ct_procs_free(struct ct_procs *t);
/* Apply a process record of host. 0, or -1 out of memory. */
int ct_procs_update(struct ct_procs *t, const struct ct_proc *p, unsigned host);
/* What the table knows of (pid, host) now, for an event whose task was
 * named comm: the program it ran before an exec when comm is that one's
 * and not the current one's; all NULL/0 when nothing. The strings stay
 * valid until the next update. */
void ct_procs_lookup(struct ct_procs *t, uint32_t pid, unsigned host, const char *comm,
		     struct ct_procinfo *info);
/* Strings or processes not kept: over the table's memory budget. */
uint64_t ct_procs_dropped(const struct ct_procs *t);
/* Changes whenever an entry is created, changed, moved or dropped. */
uint64_t ct_procs_generation(const struct ct_procs *t);

#endif
