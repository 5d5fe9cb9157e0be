/* SPDX-License-Identifier: MIT */
/*
 * pcapng_proc.h: each packet's process in pcapng the way Wireshark's own
 * capture writes it (Wireshark 4.7, dumpcap --process-info): a Process
 * Information Block per process, carried in a Wireshark custom block, and
 * the packet's epb_processid_threadid option naming its pid (pcapng.c).
 */
#ifndef CONNTRAIL_EXPORT_PCAPNG_PROC_H
#define CONNTRAIL_EXPORT_PCAPNG_PROC_H

#include <stdint.h>

#include "format/ctrace.h"
#include "lib/strbuf.h"

/* The EPB option epb_processid_threadid: 8 bytes, pid then tid. */
#define CT_EPB_PROCESSID_THREADID 8

struct ct_pcapng_procs;
struct ct_pcapng_procs *ct_pcapng_procs_new(void); /* NULL: out of memory */
void ct_pcapng_procs_free(struct ct_pcapng_procs *t);
/* Appends to b the Process Information Block of ev's process when the
 * last block written for its pid described another process (or none was
 * written); returns 1 then, else 0. host: the event's host index; wall_ns:
 * its wall-clock time, the block's pib_starttime. */
int ct_pcapng_pib(struct ct_pcapng_procs *t, struct ct_buf *b, const struct ct_event *ev,
		  unsigned host, uint64_t wall_ns);

#endif
