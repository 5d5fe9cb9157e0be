/* SPDX-License-Identifier: MIT */
/*
 * eventfmt.c: how an event is spelled: address text, outcome and the JSON
 * line that `script --json` and `convert --to jsonl` share byte for byte.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "lib/text.h"

#include "export/eventfmt.h"
#include "export/export.h"
#include "lib/names.h"

const char *const ct_ctr_keys[CT_CTR_N] = {"container_name", "image", "pod", "k8s_namespace"};

/* --------------------------------------------------------- addresses */

static int is_inet(uint16_t family)
{
	return family == 2 || family == 10;
}

/* UNIX path: leading NUL of an abstract name as '@', other unprintable
 * bytes as \xNN so the text is one safe line. */
static void fmt_unix_path(char *buf, size_t size, const struct ct_event *ev)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = ev->dest->path_len < CT_UNIX_PATH_MAX ? ev->dest->path_len : CT_UNIX_PATH_MAX;
	size_t o = 0;

	if (!size)
		return;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)ev->dest->path[i];
		if (i == 0 && c == 0 && (ev->flags & CT_EV_ABSTRACT)) {
			if (o + 1 >= size)
				break;
			buf[o++] = '@';
		} else if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= size)
				break;
			buf[o++] = (char)c;
		} else {
			if (o + 4 >= size)
				break;
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	buf[o] = '\0';
}

void ct_fmt_daddr(char *buf, size_t size, const struct ct_event *ev)
{
	if (!size)
		return;
	buf[0] = '\0';
	if (is_inet(ev->dest->family)) {
		char a[INET6_ADDRSTRLEN];
		size_t n = ct_ip_text(a, ev->dest->family, ev->dest->daddr);
		if (n < size) /* as inet_ntop: whole or nothing */
			memcpy(buf, a, n + 1);
	} else if (ev->dest->family == 1)
		fmt_unix_path(buf, size, ev);
}

void ct_fmt_dest(char *buf, size_t size, const struct ct_event *ev)
{
	char a[INET6_ADDRSTRLEN];

	if (ev->dname && is_inet(ev->dest->family)) {
		/* "example.com (93.184.216.34):443", "example.com (2001:db8::1):443" */
		ct_ip_text(a, ev->dest->family, ev->dest->daddr);
		if (ev->dest->family == 10 && ev->dest->scope_id)
			snprintf(buf, size, "%s (%s%%%u):%u", ev->dname, a, ev->dest->scope_id,
				 ev->dest->dport);
		else
			snprintf(buf, size, "%s (%s):%u", ev->dname, a, ev->dest->dport);
	} else if (ev->dest->family == 2) {
		ct_ipv4_text(a, ev->dest->daddr);
		snprintf(buf, size, "%s:%u", a, ev->dest->dport);
	} else if (ev->dest->family == 10) {
		ct_ipv6_text(a, ev->dest->daddr);
		if (ev->dest->scope_id)
			snprintf(buf, size, "[%s%%%u]:%u", a, ev->dest->scope_id, ev->dest->dport);
		else
			snprintf(buf, size, "[%s]:%u", a, ev->dest->dport);
	} else if (ev->dest->family == 1) {
		fmt_unix_path(buf, size, ev);
		if (!buf[0] && size > 10)
			snprintf(buf, size, "(unnamed)");
	} else {
		snprintf(buf, size, "family %u", ev->dest->family);
	}
}

/* "ok", the errno name of v, or its number in other. */
static const char *errno_text(int v, char other[16])
{
	if (v == 0)
		return "ok";
	const char *n = ct_errno_name(v);
	if (n)
		return n;
	snprintf(other, 16, "%d", v);
	return other;
}

const char *ct_fmt_ret(const struct ct_event *ev)
{
	static __thread char other[16];

	if (!(ev->flags & CT_EV_RET))
		return "?";
	return errno_text(ev->ret, other);
}

const char *ct_fmt_result(const struct ct_event *ev)
{
	static __thread char other[16];

	if (ev->flags & CT_EV_ABANDONED)
		return "abandoned";
	if (!(ev->flags & CT_EV_RESULT))
		return "unknown";
	return errno_text(ev->result, other);
}

const char *ct_ret_name(const struct ct_event *ev)
{
	if (!(ev->flags & CT_EV_RET))
		return NULL;
	return ev->ret == 0 ? "ok" : ct_errno_name(ev->ret);
}

int ct_outcome_later(const struct ct_event *ev)
{
	return (ev->flags & (CT_EV_RESULT | CT_EV_ABANDONED)) &&
	       (!(ev->flags & CT_EV_RET) || ev->ret == -115 /* EINPROGRESS */ ||
		(ev->flags & CT_EV_ABANDONED) || ev->result != ev->ret);
}

/* ---------------------------------------------------------------- JSON */

/* A literal at d: its length. */
#define LIT(d, s) (memcpy((d), (s), sizeof(s) - 1), sizeof(s) - 1)

static size_t json_str(char *d, const char *s, size_t n)
{
	d[0] = '"';
	size_t o = 1 + ct_json_escape(d + 1, s, n);
	d[o++] = '"';
	return o;
}

size_t ct_json_head(char *d, int64_t wall_ns, struct ct_json_ts *tc)
{
	int64_t ns, sec = ct_wall_split(wall_ns, &ns);
	/* The date and time up to the second, spelled once a second:
	 * consecutive events almost always share it. */
	/* Out of range: said so, and no ts_ns that would contradict it. */
	if (ct_wall_bad(wall_ns))
		return LIT(d, "{\"ts\":\"out-of-range\"");
	if (!tc->valid || sec != tc->sec) {
		tc->len = ct_fmt_utc_sec(tc->text, sizeof(tc->text), sec);
		tc->sec = sec;
		tc->valid = 1;
	}
	size_t o = LIT(d, "{\"ts\":\"");
	memcpy(d + o, tc->text, tc->len);
	o += tc->len;
	d[o++] = '.';
	for (int i = 9; i >= 1; i--) {
		d[o + (size_t)i - 1] = (char)('0' + ns % 10);
		ns /= 10;
	}
	o += 9;
	o += LIT(d + o, "Z\",\"ts_ns\":");
	return o + ct_i64_dec(d + o, wall_ns);
}

size_t ct_json_who_max(const struct ct_event *ev, const char *host)
{
	const struct ct_procinfo *p = ev->proc;
	size_t n = 256 + 6 * CT_COMM_LEN;
	if (host)
		n += 6 * strlen(host);
	if (p && p->exe)
		n += 6 * strlen(p->exe);
	if (p && p->cmdline)
		n += 6 * strlen(p->cmdline);
	if (p && p->container)
		n += 6 * strlen(p->container);
	for (int i = 0; p && i < CT_CTR_N; i++)
		n += p->ctr[i] ? 32 + 6 * strlen(p->ctr[i]) : 0;
	return n;
}

size_t ct_json_who(char *d, const struct ct_event *ev, const char *host)
{
	const struct ct_task *t = ev->task;
	const struct ct_procinfo *p = ev->proc;
	size_t o = 0;

	if (host) {
		o += LIT(d + o, ",\"host\":");
		o += json_str(d + o, host, strlen(host));
	}
	o += LIT(d + o, ",\"pid\":");
	o += ct_u64_dec(d + o, t->pid);
	o += LIT(d + o, ",\"tid\":");
	o += ct_u64_dec(d + o, ev->tid);
	o += LIT(d + o, ",\"ppid\":");
	o += ct_u64_dec(d + o, t->ppid);
	o += LIT(d + o, ",\"uid\":");
	o += ct_u64_dec(d + o, t->uid);
	o += LIT(d + o, ",\"gid\":");
	o += ct_u64_dec(d + o, t->gid);
	o += LIT(d + o, ",\"comm\":");
	o += json_str(d + o, t->comm, strnlen(t->comm, CT_COMM_LEN));
	if (p && p->exe) {
		o += LIT(d + o, ",\"exe\":");
		o += json_str(d + o, p->exe, strlen(p->exe));
	}
	if (p && p->cmdline) {
		o += LIT(d + o, ",\"cmdline\":");
		o += json_str(d + o, p->cmdline, strlen(p->cmdline));
	}
	if (t->cgroup_id) {
		o += LIT(d + o, ",\"cgroup_id\":");
		o += ct_u64_dec(d + o, t->cgroup_id);
	}
	if (p && p->container && p->container[0]) {
		o += LIT(d + o, ",\"container\":");
		o += json_str(d + o, p->container, strlen(p->container));
	}
	for (int i = 0; p && i < CT_CTR_N; i++) {
		if (!p->ctr[i])
			continue;
		d[o++] = ',';
		o += json_str(d + o, ct_ctr_keys[i], strlen(ct_ctr_keys[i]));
		d[o++] = ':';
		o += json_str(d + o, p->ctr[i], strlen(p->ctr[i]));
	}
	return o;
}

static size_t json_family(char *d, uint16_t family)
{
	char name[16];
	return json_str(d, name, ct_family_text(name, sizeof(name), family));
}

static size_t json_name_or_number(char *d, const char *name, uint64_t v)
{
	return name ? json_str(d, name, strlen(name)) : ct_u64_dec(d, v);
}

size_t ct_json_outcome(char *d, const struct ct_event *ev, int with_ret_name)
{
	size_t o = 0;

	if (ev->flags & CT_EV_RET) {
		o += LIT(d + o, ",\"ret\":");
		o += ct_i64_dec(d + o, ev->ret);
		const char *rn = with_ret_name ? ct_ret_name(ev) : NULL;
		if (rn) {
			o += LIT(d + o, ",\"ret_name\":");
			o += json_str(d + o, rn, strlen(rn));
		}
	}
	if (ev->flags & CT_EV_LATENCY) {
		o += LIT(d + o, ",\"latency_ns\":");
		o += ct_u64_dec(d + o, ev->latency_ns);
	}
	if (ev->flags & CT_EV_RESULT) {
		o += LIT(d + o, ",\"result\":");
		o += ct_i64_dec(d + o, ev->result);
	}
	if ((ev->flags & (CT_EV_RESULT | CT_EV_ABANDONED)) &&
	    (ev->result_ns || (ev->flags & CT_EV_ABANDONED))) {
		o += LIT(d + o, ",\"result_ns\":");
		o += ct_u64_dec(d + o, ev->result_ns);
	}
	o += LIT(d + o, ",\"outcome\":");
	/* "ok", "abandoned", "unknown" or an errno name: nothing to escape */
	const char *res = ct_fmt_result(ev);
	size_t rlen = strlen(res);
	d[o++] = '"';
	memcpy(d + o, res, rlen);
	o += rlen;
	d[o++] = '"';
	if (ev->flags & CT_EV_CLOSED) {
		o += LIT(d + o, ",\"closed_ns\":");
		o += ct_u64_dec(d + o, ev->closed_ns);
		o += LIT(d + o, ",\"tx_bytes\":");
		o += ct_u64_dec(d + o, ev->tx_bytes);
		o += LIT(d + o, ",\"rx_bytes\":");
		o += ct_u64_dec(d + o, ev->rx_bytes);
	}
	if (ev->flags & CT_EV_OPEN)
		o += LIT(d + o, ",\"still_open\":true");
	return o;
}

size_t ct_json_tail(char *d, const struct ct_event *ev)
{
	const struct ct_dest *t = ev->dest;
	char a[INET6_ADDRSTRLEN];
	size_t o = 0;

	if (ev->sockfd != -1) {
		o += LIT(d + o, ",\"sockfd\":");
		o += ct_i64_dec(d + o, ev->sockfd);
	}
	o += LIT(d + o, ",\"family\":");
	o += json_family(d + o, t->family);
	if (t->type) {
		o += LIT(d + o, ",\"type\":");
		o += json_name_or_number(d + o, ct_type_name(t->type), t->type);
	}
	if (t->proto) {
		o += LIT(d + o, ",\"proto\":");
		o += json_name_or_number(d + o, ct_proto_short(t->proto), t->proto);
	}
	if (is_inet(t->family)) {
		o += LIT(d + o, ",\"daddr\":");
		o += json_str(d + o, a, ct_ip_text(a, t->family, t->daddr));
		if (t->family == 10 && t->scope_id) {
			o += LIT(d + o, ",\"scope_id\":");
			o += ct_u64_dec(d + o, t->scope_id);
		}
		o += LIT(d + o, ",\"dport\":");
		o += ct_u64_dec(d + o, t->dport);
		if (ev->dname) {
			o += LIT(d + o, ",\"dname\":");
			o += json_str(d + o, ev->dname, strnlen(ev->dname, CT_NAME_MAX));
		}
		if (ev->flags & CT_EV_SADDR) {
			o += LIT(d + o, ",\"saddr\":");
			o += json_str(d + o, a, ct_ip_text(a, t->family, ev->saddr));
			o += LIT(d + o, ",\"sport\":");
			o += ct_u64_dec(d + o, ev->sport);
		}
	}
	if (t->family == 1) {
		size_t n = t->path_len < CT_UNIX_PATH_MAX ? t->path_len : CT_UNIX_PATH_MAX;
		int abstract = (ev->flags & CT_EV_ABSTRACT) && n > 0 && t->path[0] == '\0';
		o += LIT(d + o, ",\"path\":\"");
		if (abstract) {
			d[o++] = '@';
			o += ct_json_escape(d + o, t->path + 1, n - 1);
		} else if (n) {
			o += ct_json_escape(d + o, t->path, n);
		}
		d[o++] = '"';
		if (abstract)
			o += LIT(d + o, ",\"abstract\":true");
		else
			o += LIT(d + o, ",\"abstract\":false");
	}
	o += ct_json_outcome(d + o, ev, 1);
	d[o++] = '}';
	return o;
}

void ct_fmt_json_event(struct ct_buf *b, const struct ct_event *ev, int64_t wall_ns,
		       const char *host)
{
	static __thread struct ct_json_ts tc;

	ct_buf_reserve(b, CT_JSON_HEAD_MAX + ct_json_who_max(ev, host) + CT_JSON_TAIL_MAX + 1);
	char *d = b->p + b->len;
	size_t o = ct_json_head(d, wall_ns, &tc);
	o += ct_json_who(d + o, ev, host);
	o += ct_json_tail(d + o, ev);
	d[o++] = '\n';
	b->len += o;
}
