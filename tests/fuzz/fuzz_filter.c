/* SPDX-License-Identifier: MIT */
/*
 * fuzz_filter: the --filter parser and evaluator on arbitrary bytes. Every
 * input either compiles or yields an error whose column lies inside the
 * expression; a compiled filter is evaluated on a few fixed events and
 * against a chunk without a summary, and freed (ASan catches leaks).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query/filter.h"

/* Three events (IPv4 refused, IPv6 handshake ended later, UNIX abstract)
 * with their own tables. */
static struct ct_task task = {.pid = 1234, .uid = 1000, .comm = "curl"};
static struct ct_dest dests[3];
static const char abstract_path[6] = "\0abs*[";

static struct ct_event sample(int kind)
{
	struct ct_event ev;
	struct ct_dest *d = &dests[kind];
	memset(&ev, 0, sizeof(ev));
	memset(d, 0, sizeof(*d));
	ev.ts_ns = 1000000000ULL * (uint64_t)(kind + 1);
	ev.task = &task;
	ev.dest = d;
	ev.sockfd = 3;
	ev.flags = CT_EV_RET | CT_EV_RESULT;
	ev.ret = ev.result = -111;
	if (kind == 0) {
		d->family = 2;
		d->type = 1;
		d->proto = 6;
		d->daddr[0] = 10;
		d->daddr[3] = 1;
		d->dport = 443;
	} else if (kind == 1) {
		d->family = 10;
		d->daddr[0] = 0xfe;
		d->daddr[1] = 0x80;
		d->daddr[15] = 1;
		d->dport = 53;
		ev.flags |= CT_EV_SADDR | CT_EV_TRACKED | CT_EV_CLOSED;
		ev.ret = -115;
		ev.result = 0;
		ev.result_ns = 2000000;
		ev.closed_ns = 9000000;
		ev.tx_bytes = 10;
	} else {
		d->family = 1;
		d->path = abstract_path;
		d->path_len = 6;
		ev.flags = CT_EV_ABSTRACT; /* outcome unknown */
	}
	return ev;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *expr = malloc(size + 1);
	if (!expr)
		return 0;
	memcpy(expr, data, size);
	expr[size] = '\0';

	struct ct_filter *f = NULL;
	struct ct_filter_error err;
	if (ct_filter_compile(expr, &f, &err)) {
		if (err.pos > strlen(expr) || !err.msg[0])
			abort(); /* the caret must point inside the expression */
		free(expr);
		return 0;
	}
	ct_filter_set_base(f, 500000000LL);
	struct ct_procinfo pi = {.exe = "/usr/bin/curl", .serial = 1};
	for (int k = 0; k < 3; k++) {
		struct ct_event ev = sample(k);
		ev.proc = k == 1 ? NULL : &pi;
		int m = ct_filter_match(f, &ev, (int64_t)ev.ts_ns);
		if (m != 0 && m != 1)
			abort();
	}
	struct ct_chunk_info c;
	memset(&c, 0, sizeof(c));
	c.kind = CT_CHUNK_EVENTS;
	c.first_ts = 1;
	c.last_ts = 5000000000ULL;
	c.records = 10;
	enum ct_tri t = ct_filter_chunk(f, &c, 0);
	if (t != CT_TRI_NONE && t != CT_TRI_SOME && t != CT_TRI_ALL)
		abort();
	(void)ct_filter_uses_proc(f);
	(void)ct_filter_columns(f);
	ct_filter_free(f);
	free(expr);
	return 0;
}
