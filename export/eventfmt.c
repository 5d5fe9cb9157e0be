/* SPDX-License-Identifier: MIT */
/*
 * eventfmt.c: how an event is spelled: address text, outcome and the JSON
 * line that `script --json` and `convert --to jsonl` share byte for byte.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "export/eventfmt.h"
#include "lib/names.h"

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
	size_t n = ev->path_len < CT_UNIX_PATH_MAX ? ev->path_len : CT_UNIX_PATH_MAX;
	size_t o = 0;

	if (!size)
		return;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)ev->path[i];
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
	if (ev->family == 2)
		inet_ntop(AF_INET, ev->daddr, buf, (socklen_t)size);
	else if (ev->family == 10)
		inet_ntop(AF_INET6, ev->daddr, buf, (socklen_t)size);
	else if (ev->family == 1)
		fmt_unix_path(buf, size, ev);
}

void ct_fmt_dest(char *buf, size_t size, const struct ct_event *ev)
{
	char a[INET6_ADDRSTRLEN];

	if (ev->family == 2) {
		inet_ntop(AF_INET, ev->daddr, a, sizeof(a));
		snprintf(buf, size, "%s:%u", a, ev->dport);
	} else if (ev->family == 10) {
		inet_ntop(AF_INET6, ev->daddr, a, sizeof(a));
		if (ev->scope_id)
			snprintf(buf, size, "[%s%%%u]:%u", a, ev->scope_id, ev->dport);
		else
			snprintf(buf, size, "[%s]:%u", a, ev->dport);
	} else if (ev->family == 1) {
		fmt_unix_path(buf, size, ev);
		if (!buf[0] && size > 10)
			snprintf(buf, size, "(unnamed)");
	} else {
		snprintf(buf, size, "family %u", ev->family);
	}
}

const char *ct_fmt_result(const struct ct_event *ev)
{
	static __thread char other[16];

	if (!(ev->flags & CT_EV_RET))
		return "?";
	if (ev->ret == 0)
		return "ok";
	const char *n = ct_errno_name(ev->ret);
	if (n)
		return n;
	snprintf(other, sizeof(other), "%d", ev->ret);
	return other;
}

/* ---------------------------------------------------------------- JSON */

static char *u64_text(char *end, uint64_t v)
{
	*--end = '\0';
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

static void put_key(struct ct_buf *b, const char *key_with_quotes_colon)
{
	ct_buf_puts(b, key_with_quotes_colon);
}

static void put_u64(struct ct_buf *b, const char *key, uint64_t v)
{
	char tmp[24];
	put_key(b, key);
	ct_buf_puts(b, u64_text(tmp + sizeof(tmp), v));
}

static void put_i64(struct ct_buf *b, const char *key, int64_t v)
{
	char tmp[24];
	put_key(b, key);
	if (v < 0) {
		ct_buf_put(b, "-", 1);
		ct_buf_puts(b, u64_text(tmp + sizeof(tmp), (uint64_t)0 - (uint64_t)v));
	} else {
		ct_buf_puts(b, u64_text(tmp + sizeof(tmp), (uint64_t)v));
	}
}

static void put_str(struct ct_buf *b, const char *key, const char *s, size_t n)
{
	put_key(b, key);
	ct_buf_json_str(b, s, n);
}

/* The RFC 3339 date and time up to the seconds, cached: consecutive events
 * almost always share the second, and gmtime_r is the slowest step. */
static void put_ts(struct ct_buf *b, int64_t wall_ns)
{
	static __thread int64_t cached_sec = INT64_MIN;
	static __thread char cached[32];
	int64_t sec = wall_ns / 1000000000;
	int64_t ns = wall_ns % 1000000000;
	if (ns < 0) {
		ns += 1000000000;
		sec--;
	}
	if (sec != cached_sec) {
		char full[48];
		ct_fmt_rfc3339(full, sizeof(full), sec * 1000000000);
		char *dot = strchr(full, '.');
		if (!dot)
			dot = full + strlen(full);
		*dot = '\0';
		snprintf(cached, sizeof(cached), "%s", full);
		cached_sec = sec;
	}
	char frac[11];
	frac[0] = '.';
	for (int i = 9; i >= 1; i--) {
		frac[i] = (char)('0' + ns % 10);
		ns /= 10;
	}
	frac[10] = 'Z';
	ct_buf_puts(b, "{\"ts\":\"");
	ct_buf_puts(b, cached);
	ct_buf_put(b, frac, sizeof(frac));
	ct_buf_put(b, "\"", 1);
}

void ct_fmt_json_event(struct ct_buf *b, const struct ct_event *ev, const struct ct_proc_info *proc,
		       int64_t wall_ns, const char *host)
{
	char a[INET6_ADDRSTRLEN];
	const char *name;

	put_ts(b, wall_ns);
	put_i64(b, ",\"ts_ns\":", wall_ns);
	if (host)
		put_str(b, ",\"host\":", host, strlen(host));
	put_u64(b, ",\"pid\":", ev->pid);
	put_u64(b, ",\"tid\":", ev->tid);
	put_u64(b, ",\"ppid\":", ev->ppid);
	put_u64(b, ",\"uid\":", ev->uid);
	put_u64(b, ",\"gid\":", ev->gid);
	put_str(b, ",\"comm\":", ev->comm, strnlen(ev->comm, CT_COMM_LEN));
	if (proc && proc->exe)
		put_str(b, ",\"exe\":", proc->exe, strlen(proc->exe));
	if (ev->cgroup_id)
		put_u64(b, ",\"cgroup_id\":", ev->cgroup_id);
	if (proc && proc->container && proc->container[0])
		put_str(b, ",\"container\":", proc->container, strlen(proc->container));
	if (ev->sockfd != -1)
		put_i64(b, ",\"sockfd\":", ev->sockfd);
	if ((name = ct_family_name(ev->family)))
		put_str(b, ",\"family\":", name, strlen(name));
	else
		put_u64(b, ",\"family\":", ev->family);
	if (ev->type) {
		if ((name = ct_type_name(ev->type)))
			put_str(b, ",\"type\":", name, strlen(name));
		else
			put_u64(b, ",\"type\":", ev->type);
	}
	if (ev->proto) {
		if ((name = ct_proto_short(ev->proto)))
			put_str(b, ",\"proto\":", name, strlen(name));
		else
			put_u64(b, ",\"proto\":", ev->proto);
	}
	if (is_inet(ev->family)) {
		inet_ntop(ev->family == 2 ? AF_INET : AF_INET6, ev->daddr, a, sizeof(a));
		put_str(b, ",\"daddr\":", a, strlen(a));
		put_u64(b, ",\"dport\":", ev->dport);
		if (ev->flags & CT_EV_SADDR) {
			inet_ntop(ev->family == 2 ? AF_INET : AF_INET6, ev->saddr, a, sizeof(a));
			put_str(b, ",\"saddr\":", a, strlen(a));
			put_u64(b, ",\"sport\":", ev->sport);
		}
	}
	if (ev->family == 1) {
		size_t n = ev->path_len < CT_UNIX_PATH_MAX ? ev->path_len : CT_UNIX_PATH_MAX;
		int abstract = (ev->flags & CT_EV_ABSTRACT) && n > 0 && ev->path[0] == '\0';
		put_key(b, ",\"path\":\"");
		if (abstract) {
			ct_buf_put(b, "@", 1);
			ct_buf_json_body(b, ev->path + 1, n - 1);
		} else {
			ct_buf_json_body(b, ev->path, n);
		}
		ct_buf_put(b, "\"", 1);
		put_key(b, abstract ? ",\"abstract\":true" : ",\"abstract\":false");
	}
	if (ev->flags & CT_EV_RET)
		put_i64(b, ",\"ret\":", ev->ret);
	if (ev->flags & CT_EV_LATENCY)
		put_u64(b, ",\"latency_ns\":", ev->latency_ns);
	ct_buf_put(b, "}\n", 2);
}
