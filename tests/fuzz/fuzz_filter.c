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

static struct ct_event sample(int kind)
{
	struct ct_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.ts_ns = 1000000000ULL * (uint64_t)(kind + 1);
	ev.pid = 1234;
	ev.uid = 1000;
	ev.sockfd = 3;
	ev.flags = CT_EV_RET;
	ev.ret = -111;
	memcpy(ev.comm, "curl", 4);
	if (kind == 0) {
		ev.family = 2;
		ev.type = 1;
		ev.proto = 6;
		ev.daddr[0] = 10;
		ev.daddr[3] = 1;
		ev.dport = 443;
	} else if (kind == 1) {
		ev.family = 10;
		ev.daddr[0] = 0xfe;
		ev.daddr[1] = 0x80;
		ev.daddr[15] = 1;
		ev.dport = 53;
		ev.flags |= CT_EV_SADDR;
	} else {
		ev.family = 1;
		ev.path[0] = '\0';
		memcpy(ev.path + 1, "abs*[", 5);
		ev.path_len = 6;
		ev.flags |= CT_EV_ABSTRACT;
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
	struct ct_proc_info pi;
	memset(&pi, 0, sizeof(pi));
	pi.exe = "/usr/bin/curl";
	for (int k = 0; k < 3; k++) {
		struct ct_event ev = sample(k);
		int m = ct_filter_match(f, &ev, k == 1 ? NULL : &pi, (int64_t)ev.ts_ns);
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
	ct_filter_free(f);
	free(expr);
	return 0;
}
