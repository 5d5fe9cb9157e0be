/* SPDX-License-Identifier: MIT */
/*
 * csv.c: RFC 4180 CSV. A header row, one row per connect, CRLF line
 * ends; a cell holding a comma, quote, CR or LF is quoted, quotes doubled.
 * The columns are the JSON-lines keys in the same order, and each cell
 * holds what that key's value decodes to (empty when the key is absent),
 * so a CSV reader and a JSON reader see the same strings. Text is UTF-8:
 * a byte that is not valid UTF-8 becomes U+00XX, as \u00XX does in JSON.
 *
 * A text cell that a spreadsheet would take for a formula (it starts with
 * = + - @, a tab or a CR: OWASP's CSV injection rule) gets a leading ' and
 * is quoted: a comm of "=1+1" set with prctl, or an abstract socket name
 * ("@..."), stays text. convert --csv-raw writes the cells as they are.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "export/eventfmt.h"
#include "export/export.h"
#include "lib/text.h"
#include "lib/names.h"

static const char header[] =
    "ts,ts_ns,host,pid,tid,ppid,uid,gid,comm,exe,cmdline,cgroup_id,container,sockfd,family,type,"
    "proto,daddr,scope_id,dport,saddr,sport,path,abstract,ret,latency_ns,result,result_ns,"
    "outcome,closed_ns,tx_bytes,rx_bytes,still_open\r\n";

struct ct_exporter {
	struct ct_out *out;
	const struct ct_export_info *info;
	int raw; /* --csv-raw: no formula neutralising */
	int64_t cached_sec;
	char cached[32]; /* "2026-11-24T13:05:00" of cached_sec */
};

static int csv_open(struct ct_exporter **out, struct ct_out *o, const struct ct_export_info *info)
{
	struct ct_exporter *x = calloc(1, sizeof(*x));
	if (!x) {
		o->err = ENOMEM;
		return -1;
	}
	x->out = o;
	x->info = info;
	x->cached_sec = INT64_MIN;
	x->raw = info->csv_raw;
	if (ct_out_write(o, header, sizeof(header) - 1) < 0) {
		free(x);
		return -1;
	}
	*out = x;
	return 0;
}

static int formula_start(const char *s, size_t n)
{
	return n && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' ||
		     s[0] == '\r');
}

/* A text cell; at most 4 * n + 3 bytes. */
static size_t cell_text(const struct ct_exporter *x, char *d, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	int neutral = !x->raw && formula_start(str, n);
	int quote = neutral;
	size_t o = 0;

	for (size_t i = 0; i < n && !quote; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			quote = 1;
	if (quote)
		d[o++] = '"';
	if (neutral)
		d[o++] = '\'';
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		if (c < 0x80) {
			if (c == '"')
				d[o++] = '"';
			d[o++] = (char)c;
			i++;
			continue;
		}
		size_t len = ct_utf8_seq(s + i, n - i);
		if (len) {
			memcpy(d + o, s + i, len);
			o += len;
			i += len;
		} else {
			d[o++] = (char)(0xc0 | c >> 6);
			d[o++] = (char)(0x80 | (c & 0x3f));
			i++;
		}
	}
	if (quote)
		d[o++] = '"';
	return o;
}

static size_t lit(char *d, const char *s)
{
	size_t n = strlen(s);
	memcpy(d, s, n);
	return n;
}

static size_t cell_ts(struct ct_exporter *x, char *d, int64_t wall_ns)
{
	int64_t sec = wall_ns / 1000000000;
	int64_t ns = wall_ns % 1000000000;
	if (ns < 0) {
		ns += 1000000000;
		sec--;
	}
	if (ct_wall_bad(wall_ns))
		return lit(d, "out-of-range");
	if (sec != x->cached_sec) {
		ct_fmt_utc_sec(x->cached, sizeof(x->cached), sec);
		x->cached_sec = sec;
	}
	size_t o = lit(d, x->cached);
	d[o++] = '.';
	for (int i = 8; i >= 0; i--) {
		d[o + (size_t)i] = (char)('0' + ns % 10);
		ns /= 10;
	}
	o += 9;
	d[o++] = 'Z';
	return o;
}

static int csv_event(struct ct_exporter *x, const struct ct_event *ev, unsigned input,
		     int64_t wall_ns)
{
	static const struct ct_procinfo none;
	const struct ct_procinfo *proc = ev->proc ? ev->proc : &none;
	const char *host = ct_export_host(x->info, input);
	size_t hlen = host ? strlen(host) : 0;
	size_t elen = proc->exe ? strlen(proc->exe) : 0;
	size_t mlen = proc->cmdline ? strlen(proc->cmdline) : 0;
	size_t clen = proc->container ? strlen(proc->container) : 0;
	size_t need = 768 + 4 * (hlen + elen + mlen + clen + CT_COMM_LEN + CT_UNIX_PATH_MAX);
	char *d = ct_out_reserve(x->out, need);
	const char *name;
	size_t o = 0;

	if (!d)
		return -1;
	o += cell_ts(x, d + o, wall_ns);
	d[o++] = ',';
	if (!ct_wall_bad(wall_ns)) /* no ts_ns that contradicts "out-of-range" */
		o += ct_i64_dec(d + o, wall_ns);
	d[o++] = ',';
	o += cell_text(x, d + o, host, hlen);
	d[o++] = ',';
	o += ct_u64_dec(d + o, ev->task->pid);
	d[o++] = ',';
	o += ct_u64_dec(d + o, ev->tid);
	d[o++] = ',';
	o += ct_u64_dec(d + o, ev->task->ppid);
	d[o++] = ',';
	o += ct_u64_dec(d + o, ev->task->uid);
	d[o++] = ',';
	o += ct_u64_dec(d + o, ev->task->gid);
	d[o++] = ',';
	o += cell_text(x, d + o, ev->task->comm, strnlen(ev->task->comm, CT_COMM_LEN));
	d[o++] = ',';
	o += cell_text(x, d + o, proc->exe, elen);
	d[o++] = ',';
	o += cell_text(x, d + o, proc->cmdline, mlen);
	d[o++] = ',';
	if (ev->task->cgroup_id)
		o += ct_u64_dec(d + o, ev->task->cgroup_id);
	d[o++] = ',';
	o += cell_text(x, d + o, proc->container, clen);
	d[o++] = ',';
	if (ev->sockfd != -1)
		o += ct_i64_dec(d + o, ev->sockfd);
	d[o++] = ',';
	o += ct_family_text(d + o, 16, ev->dest->family);
	d[o++] = ',';
	if (ev->dest->type) {
		if ((name = ct_type_name(ev->dest->type)))
			o += lit(d + o, name);
		else
			o += ct_u64_dec(d + o, ev->dest->type);
	}
	d[o++] = ',';
	if (ev->dest->proto) {
		if ((name = ct_proto_short(ev->dest->proto)))
			o += lit(d + o, name);
		else
			o += ct_u64_dec(d + o, ev->dest->proto);
	}
	d[o++] = ',';
	if (ct_packet_is_ip(ev)) {
		int af = ev->dest->family == 2 ? AF_INET : AF_INET6;
		if (af == AF_INET) {
			o += ct_ipv4_text(d + o, ev->dest->daddr);
		} else {
			inet_ntop(af, ev->dest->daddr, d + o, INET6_ADDRSTRLEN);
			o += strlen(d + o);
		}
		d[o++] = ',';
		if (af == AF_INET6 && ev->dest->scope_id)
			o += ct_u64_dec(d + o, ev->dest->scope_id);
		d[o++] = ',';
		o += ct_u64_dec(d + o, ev->dest->dport);
		d[o++] = ',';
		if (ev->flags & CT_EV_SADDR) {
			if (af == AF_INET) {
				o += ct_ipv4_text(d + o, ev->saddr);
			} else {
				inet_ntop(af, ev->saddr, d + o, INET6_ADDRSTRLEN);
				o += strlen(d + o);
			}
			d[o++] = ',';
			o += ct_u64_dec(d + o, ev->sport);
		} else {
			d[o++] = ',';
		}
	} else {
		o += lit(d + o, ",,,,");
	}
	d[o++] = ',';
	if (ev->dest->family == 1) {
		size_t n =
		    ev->dest->path_len < CT_UNIX_PATH_MAX ? ev->dest->path_len : CT_UNIX_PATH_MAX;
		int abstract = (ev->flags & CT_EV_ABSTRACT) && n > 0 && ev->dest->path[0] == '\0';
		if (abstract) {
			/* '@' for the NUL, then the name, as one cell */
			char name[CT_UNIX_PATH_MAX + 1];
			name[0] = '@';
			memcpy(name + 1, ev->dest->path + 1, n - 1);
			o += cell_text(x, d + o, name, n);
		} else {
			o += cell_text(x, d + o, ev->dest->path, n);
		}
		o += lit(d + o, abstract ? ",true" : ",false");
	} else {
		d[o++] = ',';
	}
	d[o++] = ',';
	if (ev->flags & CT_EV_RET)
		o += ct_i64_dec(d + o, ev->ret);
	d[o++] = ',';
	if (ev->flags & CT_EV_LATENCY)
		o += ct_u64_dec(d + o, ev->latency_ns);
	d[o++] = ',';
	if (ev->flags & CT_EV_RESULT)
		o += ct_i64_dec(d + o, ev->result);
	d[o++] = ',';
	if ((ev->flags & (CT_EV_RESULT | CT_EV_ABANDONED)) &&
	    (ev->result_ns || (ev->flags & CT_EV_ABANDONED)))
		o += ct_u64_dec(d + o, ev->result_ns);
	d[o++] = ',';
	o += lit(d + o, ct_fmt_result(ev));
	d[o++] = ',';
	if (ev->flags & CT_EV_CLOSED) {
		o += ct_u64_dec(d + o, ev->closed_ns);
		d[o++] = ',';
		o += ct_u64_dec(d + o, ev->tx_bytes);
		d[o++] = ',';
		o += ct_u64_dec(d + o, ev->rx_bytes);
	} else {
		o += lit(d + o, ",,");
	}
	d[o++] = ',';
	if (ev->flags & CT_EV_OPEN)
		o += lit(d + o, "true");
	d[o++] = '\r';
	d[o++] = '\n';
	ct_out_commit(x->out, o);
	return 0;
}

static int csv_close(struct ct_exporter *x)
{
	int rc = ct_out_flush(x->out);
	free(x);
	return rc;
}

static const char *const csv_suffixes[] = {".csv", NULL};

const struct ct_export_format ct_export_csv = {
    .name = "csv",
    .suffixes = csv_suffixes,
    .help = "RFC 4180, the JSON-lines keys as columns",
    .open = csv_open,
    .event = csv_event,
    .close = csv_close,
};
