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
    "proto,daddr,scope_id,dport,saddr,sport,path,abstract,ret,ret_name,latency_ns,result,"
    "result_ns,outcome,closed_ns,tx_bytes,rx_bytes,still_open,dname,container_name,image,pod,"
    "k8s_namespace\r\n";

struct ct_exporter {
	struct ct_sink s;
	int raw; /* --csv-raw: no formula neutralising */
	int64_t cached_sec;
	char cached[32]; /* "2026-11-24T13:05:00" of cached_sec */
};

static int csv_start(struct ct_exporter *x)
{
	x->cached_sec = INT64_MIN;
	x->raw = x->s.info->csv_raw;
	return ct_out_write(x->s.out, header, sizeof(header) - 1);
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
	int64_t ns, sec = ct_wall_split(wall_ns, &ns);
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

/* An unsigned number cell when has, else an empty one; then the comma. */
static size_t cell_u64(char *d, int has, uint64_t v)
{
	size_t o = has ? ct_u64_dec(d, v) : 0;
	d[o++] = ',';
	return o;
}

static size_t cell_i64(char *d, int has, int64_t v)
{
	size_t o = has ? ct_i64_dec(d, v) : 0;
	d[o++] = ',';
	return o;
}

/* A name cell, or the number when it has no name; empty for 0. */
static size_t cell_name(char *d, const char *name, uint16_t v)
{
	size_t o = 0;
	if (v)
		o = name ? lit(d, name) : ct_u64_dec(d, v);
	d[o++] = ',';
	return o;
}

static size_t cell_ip(char *d, int af, const uint8_t *a)
{
	return af == AF_INET ? ct_ipv4_text(d, a) : ct_ipv6_text(d, a);
}

/* host .. container: who connected. */
static size_t cells_who(struct ct_exporter *x, char *d, const struct ct_event *ev, const char *host,
			const struct ct_procinfo *proc)
{
	const struct ct_task *t = ev->task;
	size_t o = cell_text(x, d, host, host ? strlen(host) : 0);
	d[o++] = ',';
	o += cell_u64(d + o, 1, t->pid);
	o += cell_u64(d + o, 1, ev->tid);
	o += cell_u64(d + o, 1, t->ppid);
	o += cell_u64(d + o, 1, t->uid);
	o += cell_u64(d + o, 1, t->gid);
	o += cell_text(x, d + o, t->comm, strnlen(t->comm, CT_COMM_LEN));
	d[o++] = ',';
	o += cell_text(x, d + o, proc->exe, proc->exe ? strlen(proc->exe) : 0);
	d[o++] = ',';
	o += cell_text(x, d + o, proc->cmdline, proc->cmdline ? strlen(proc->cmdline) : 0);
	d[o++] = ',';
	o += cell_u64(d + o, t->cgroup_id != 0, t->cgroup_id);
	o += cell_text(x, d + o, proc->container, proc->container ? strlen(proc->container) : 0);
	d[o++] = ',';
	return o;
}

/* sockfd .. abstract: the socket and where it connected to. */
static size_t cells_dest(struct ct_exporter *x, char *d, const struct ct_event *ev)
{
	const struct ct_dest *t = ev->dest;
	size_t o = cell_i64(d, ev->sockfd != -1, ev->sockfd);
	o += ct_family_text(d + o, 16, t->family);
	d[o++] = ',';
	o += cell_name(d + o, ct_type_name(t->type), t->type);
	o += cell_name(d + o, ct_proto_short(t->proto), t->proto);
	if (ct_packet_is_ip(ev)) {
		int af = t->family == 2 ? AF_INET : AF_INET6;
		o += cell_ip(d + o, af, t->daddr);
		d[o++] = ',';
		o += cell_u64(d + o, af == AF_INET6 && t->scope_id, t->scope_id);
		o += cell_u64(d + o, 1, t->dport);
		if (ev->flags & CT_EV_SADDR)
			o += cell_ip(d + o, af, ev->saddr);
		d[o++] = ',';
		o += cell_u64(d + o, (ev->flags & CT_EV_SADDR) != 0, ev->sport);
	} else {
		o += lit(d + o, ",,,,,");
	}
	if (t->family == 1) {
		size_t n = t->path_len < CT_UNIX_PATH_MAX ? t->path_len : CT_UNIX_PATH_MAX;
		int abstract = (ev->flags & CT_EV_ABSTRACT) && n > 0 && t->path[0] == '\0';
		if (abstract) {
			/* '@' for the NUL, then the name, as one cell */
			char name[CT_UNIX_PATH_MAX + 1];
			name[0] = '@';
			memcpy(name + 1, t->path + 1, n - 1);
			o += cell_text(x, d + o, name, n);
		} else {
			o += cell_text(x, d + o, t->path, n);
		}
		o += lit(d + o, abstract ? ",true," : ",false,");
	} else {
		o += lit(d + o, ",,");
	}
	return o;
}

/* ret .. still_open: how it ended. */
static size_t cells_outcome(char *d, const struct ct_event *ev)
{
	uint16_t f = ev->flags;
	const char *rn = ct_ret_name(ev);
	size_t o = cell_i64(d, (f & CT_EV_RET) != 0, ev->ret);
	if (rn)
		o += lit(d + o, rn);
	d[o++] = ',';
	o += cell_u64(d + o, (f & CT_EV_LATENCY) != 0, ev->latency_ns);
	o += cell_i64(d + o, (f & CT_EV_RESULT) != 0, ev->result);
	o += cell_u64(d + o,
		      (f & (CT_EV_RESULT | CT_EV_ABANDONED)) &&
			  (ev->result_ns || (f & CT_EV_ABANDONED)),
		      ev->result_ns);
	o += lit(d + o, ct_fmt_result(ev));
	d[o++] = ',';
	o += cell_u64(d + o, (f & CT_EV_CLOSED) != 0, ev->closed_ns);
	o += cell_u64(d + o, (f & CT_EV_CLOSED) != 0, ev->tx_bytes);
	o += cell_u64(d + o, (f & CT_EV_CLOSED) != 0, ev->rx_bytes);
	if (f & CT_EV_OPEN)
		o += lit(d + o, "true");
	return o;
}

static int csv_event(struct ct_exporter *x, const struct ct_event *ev, unsigned input,
		     int64_t wall_ns)
{
	static const struct ct_procinfo none;
	const struct ct_procinfo *proc = ev->proc ? ev->proc : &none;
	const char *host = ct_export_host(x->s.info, input);
	size_t hlen = host ? strlen(host) : 0;
	size_t elen = proc->exe ? strlen(proc->exe) : 0;
	size_t mlen = proc->cmdline ? strlen(proc->cmdline) : 0;
	size_t clen = proc->container ? strlen(proc->container) : 0;
	for (int i = 0; i < CT_CTR_N; i++) /* and the container's names */
		clen += proc->ctr[i] ? strlen(proc->ctr[i]) + 1 : 1;
	size_t need =
	    800 + 4 * (hlen + elen + mlen + clen + CT_COMM_LEN + CT_UNIX_PATH_MAX + CT_NAME_MAX);
	char *d = ct_out_reserve(x->s.out, need);
	size_t o = 0;

	if (!d)
		return -1;
	o += cell_ts(x, d + o, wall_ns);
	d[o++] = ',';
	/* no ts_ns that contradicts "out-of-range" */
	o += cell_i64(d + o, !ct_wall_bad(wall_ns), wall_ns);
	o += cells_who(x, d + o, ev, host, proc);
	o += cells_dest(x, d + o, ev);
	o += cells_outcome(d + o, ev);
	/* dname, then the container's names: columns are added at the end,
	 * never moved */
	d[o++] = ',';
	if (ev->dname)
		o += cell_text(x, d + o, ev->dname, strnlen(ev->dname, CT_NAME_MAX));
	for (int i = 0; i < CT_CTR_N; i++) {
		d[o++] = ',';
		if (proc->ctr[i])
			o += cell_text(x, d + o, proc->ctr[i], strlen(proc->ctr[i]));
	}
	d[o++] = '\r';
	d[o++] = '\n';
	ct_out_commit(x->s.out, o);
	return 0;
}

const struct ct_export_ops ct_csv_ops = {
    .size = sizeof(struct ct_exporter),
    .start = csv_start,
    .event = csv_event,
    .parallel = 1,
};
