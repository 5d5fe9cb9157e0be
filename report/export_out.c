/* SPDX-License-Identifier: MIT */
/* export_out.c: the buffered output every sink writes to, and the format table. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "export.h"

#define OUT_DEFAULT_CAP (4u << 20)

int ct_out_init(struct ct_out *o, int fd, size_t cap)
{
	memset(o, 0, sizeof(*o));
	o->fd = fd;
	o->cap = cap ? cap : OUT_DEFAULT_CAP;
	o->buf = malloc(o->cap);
	if (!o->buf) {
		o->err = ENOMEM;
		return -1;
	}
	return 0;
}

int ct_out_flush(struct ct_out *o)
{
	size_t done = 0;

	if (o->err)
		return -1;
	while (done < o->len) {
		ssize_t n = write(o->fd, o->buf + done, o->len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			o->err = errno;
			return -1;
		}
		done += (size_t)n;
		o->bytes += (uint64_t)n;
	}
	o->len = 0;
	return 0;
}

char *ct_out_reserve_slow(struct ct_out *o, size_t n)
{
	if (ct_out_flush(o) < 0)
		return NULL;
	if (o->cap < n) {
		char *p = realloc(o->buf, n);
		if (!p) {
			o->err = ENOMEM;
			return NULL;
		}
		o->buf = p;
		o->cap = n;
	}
	return o->buf;
}

int ct_out_finish(struct ct_out *o)
{
	int rc = ct_out_flush(o);
	ct_out_free(o);
	return rc;
}

void ct_out_free(struct ct_out *o)
{
	free(o->buf);
	o->buf = NULL;
	o->len = o->cap = 0;
}

size_t ct_u64_dec(char *d, uint64_t v)
{
	static const char pairs[201] = "00010203040506070809101112131415161718192021222324"
				       "25262728293031323334353637383940414243444546474849"
				       "50515253545556575859606162636465666768697071727374"
				       "75767778798081828384858687888990919293949596979899";
	size_t n = 1;
	if (v >= 10000000000ull) {
		for (uint64_t t = v; t >= 10; t /= 10)
			n++;
	} else {
		static const uint64_t pow10[] = {10,	     100,	    1000,     10000,
						 100000,     1000000,	    10000000, 100000000,
						 1000000000, 10000000000ull};
		while (v >= pow10[n - 1])
			n++;
	}
	char *p = d + n;
	while (v >= 100) {
		unsigned r = (unsigned)(v % 100);
		v /= 100;
		*--p = pairs[2 * r + 1];
		*--p = pairs[2 * r];
	}
	if (v >= 10) {
		*--p = pairs[2 * v + 1];
		*--p = pairs[2 * v];
	} else {
		*--p = (char)('0' + v);
	}
	return n;
}

size_t ct_i64_dec(char *d, int64_t v)
{
	if (v >= 0)
		return ct_u64_dec(d, (uint64_t)v);
	d[0] = '-';
	return 1 + ct_u64_dec(d + 1, (uint64_t)0 - (uint64_t)v);
}

size_t ct_ipv4_text(char *d, const uint8_t a[4])
{
	size_t o = 0;
	for (int i = 0; i < 4; i++) {
		if (i)
			d[o++] = '.';
		o += ct_u64_dec(d + o, a[i]);
	}
	d[o] = '\0';
	return o;
}

/* --------------------------------------------------------- the table */

static const struct ct_export_format *const formats[] = {
    &ct_export_pcapng, &ct_export_pcap, &ct_export_csv, &ct_export_jsonl, &ct_export_tracee,
};

const char ct_export_names[] = "pcapng, pcap, csv, jsonl, tracee-json";

const struct ct_export_format *ct_export_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (!strcmp(formats[i]->name, name))
			return formats[i];
	return NULL;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n > m && !strcasecmp(s + n - m, suffix);
}

const struct ct_export_format *ct_export_by_path(const char *path)
{
	/* Longest suffix first: x.tracee.json is Tracee, x.json is JSON lines. */
	if (ends_with(path, ".tracee.json") || ends_with(path, ".tracee.jsonl"))
		return &ct_export_tracee;
	if (ends_with(path, ".pcapng"))
		return &ct_export_pcapng;
	if (ends_with(path, ".pcap"))
		return &ct_export_pcap;
	if (ends_with(path, ".csv"))
		return &ct_export_csv;
	if (ends_with(path, ".jsonl") || ends_with(path, ".json") || ends_with(path, ".ndjson"))
		return &ct_export_jsonl;
	return NULL;
}
