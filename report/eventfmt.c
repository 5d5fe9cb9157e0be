/* SPDX-License-Identifier: MIT */
/*
 * eventfmt.c: the one place that spells events: names of families, types,
 * protocols and errnos, address text, RFC 3339 times and the JSON line that
 * `script --json` and `convert --to jsonl` share byte for byte.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "eventfmt.h"

/* ------------------------------------------------------------- buffer */

static void buf_reserve(struct ct_buf *b, size_t extra)
{
	if (b->cap - b->len >= extra)
		return;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap - b->len < extra)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		fprintf(stderr, "conntrail: out of memory\n");
		exit(1);
	}
	b->p = p;
	b->cap = cap;
}

void ct_buf_put(struct ct_buf *b, const void *s, size_t n)
{
	if (!n)
		return; /* s may be NULL then: memcpy must not see it */
	buf_reserve(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

void ct_buf_puts(struct ct_buf *b, const char *s)
{
	ct_buf_put(b, s, strlen(s));
}

void ct_buf_printf(struct ct_buf *b, const char *fmt, ...)
{
	va_list ap;

	buf_reserve(b, 256);
	va_start(ap, fmt);
	int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		buf_reserve(b, (size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void ct_buf_free(struct ct_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid
 * (overlong forms, surrogates and code points above U+10FFFF included). */
size_t ct_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	if (cp >= 0xd800 && cp <= 0xdfff)
		return 0;
	return len;
}

size_t ct_json_escape(char *d, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	char *o = d;
	size_t i = 0;

	/* Runs of eight bytes that need no escape are copied whole. */
	for (; i + 8 <= n; i += 8, o += 8) {
		uint64_t x;
		memcpy(&x, s + i, 8);
		if (ct_any_below(x, 0x20) | ct_any_above(x, 0x7e) | ct_any_equal(x, '"') |
		    ct_any_equal(x, '\\'))
			break;
		memcpy(o, &x, 8);
	}
	while (i < n) {
		unsigned char c = s[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			*o++ = (char)c;
			i++;
			continue;
		}
		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
			i++;
			continue;
		}
		size_t len = c >= 0x80 ? ct_utf8_seq(s + i, n - i) : 0;
		if (len) {
			memcpy(o, s + i, len);
			o += len;
			i += len;
			continue;
		}
		memcpy(o, "\\u00", 4);
		o[4] = hex[c >> 4];
		o[5] = hex[c & 15];
		o += 6;
		i++;
	}
	return (size_t)(o - d);
}

static void json_body(struct ct_buf *b, const char *str, size_t n)
{
	buf_reserve(b, n * 6);
	b->len += ct_json_escape(b->p + b->len, str, n);
}

void ct_buf_json_str(struct ct_buf *b, const char *s, size_t n)
{
	ct_buf_put(b, "\"", 1);
	json_body(b, s, n);
	ct_buf_put(b, "\"", 1);
}

/* --------------------------------------------------------------- names */

void ct_fmt_rfc3339(char *buf, size_t size, int64_t wall_ns)
{
	int64_t sec = wall_ns / 1000000000;
	int64_t ns = wall_ns % 1000000000;
	if (ns < 0) {
		ns += 1000000000;
		sec--;
	}
	time_t t = (time_t)sec;
	struct tm tm;
	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, size, "%lld", (long long)wall_ns);
		return;
	}
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)ns);
}

const char *ct_family_name(uint16_t family)
{
	switch (family) {
	case 1:
		return "AF_UNIX";
	case 2:
		return "AF_INET";
	case 10:
		return "AF_INET6";
	}
	return NULL;
}

const char *ct_family_short(uint16_t family)
{
	switch (family) {
	case 1:
		return "unix";
	case 2:
		return "inet";
	case 10:
		return "inet6";
	}
	return "other";
}

static const char *const type_names[][2] = {
    [1] = {"SOCK_STREAM", "stream"},
    [2] = {"SOCK_DGRAM", "dgram"},
    [3] = {"SOCK_RAW", "raw"},
    [4] = {"SOCK_RDM", "rdm"},
    [5] = {"SOCK_SEQPACKET", "seqpacket"},
    [6] = {"SOCK_DCCP", "dccp"},
    [10] = {"SOCK_PACKET", "packet"},
};

const char *ct_type_name(uint16_t type)
{
	if (type < sizeof(type_names) / sizeof(type_names[0]))
		return type_names[type][0];
	return NULL;
}

const char *ct_type_short(uint16_t type)
{
	if (type < sizeof(type_names) / sizeof(type_names[0]))
		return type_names[type][1];
	return NULL;
}

const char *ct_proto_short(uint16_t proto)
{
	switch (proto) {
	case 1:
		return "icmp";
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 33:
		return "dccp";
	case 58:
		return "icmpv6";
	case 132:
		return "sctp";
	case 136:
		return "udplite";
	case 255:
		return "raw";
	case 262:
		return "mptcp";
	}
	return NULL;
}

/* Linux errno numbers (asm-generic/errno*.h), index = errno. */
static const char *const errno_names[] = {
    NULL,
    "EPERM",
    "ENOENT",
    "ESRCH",
    "EINTR",
    "EIO",
    "ENXIO",
    "E2BIG",
    "ENOEXEC",
    "EBADF",
    "ECHILD",
    "EAGAIN",
    "ENOMEM",
    "EACCES",
    "EFAULT",
    "ENOTBLK",
    "EBUSY",
    "EEXIST",
    "EXDEV",
    "ENODEV",
    "ENOTDIR",
    "EISDIR",
    "EINVAL",
    "ENFILE",
    "EMFILE",
    "ENOTTY",
    "ETXTBSY",
    "EFBIG",
    "ENOSPC",
    "ESPIPE",
    "EROFS",
    "EMLINK",
    "EPIPE",
    "EDOM",
    "ERANGE",
    "EDEADLK",
    "ENAMETOOLONG",
    "ENOLCK",
    "ENOSYS",
    "ENOTEMPTY",
    "ELOOP",
    NULL,
    "ENOMSG",
    "EIDRM",
    "ECHRNG",
    "EL2NSYNC",
    "EL3HLT",
    "EL3RST",
    "ELNRNG",
    "EUNATCH",
    "ENOCSI",
    "EL2HLT",
    "EBADE",
    "EBADR",
    "EXFULL",
    "ENOANO",
    "EBADRQC",
    "EBADSLT",
    NULL,
    "EBFONT",
    "ENOSTR",
    "ENODATA",
    "ETIME",
    "ENOSR",
    "ENONET",
    "ENOPKG",
    "EREMOTE",
    "ENOLINK",
    "EADV",
    "ESRMNT",
    "ECOMM",
    "EPROTO",
    "EMULTIHOP",
    "EDOTDOT",
    "EBADMSG",
    "EOVERFLOW",
    "ENOTUNIQ",
    "EBADFD",
    "EREMCHG",
    "ELIBACC",
    "ELIBBAD",
    "ELIBSCN",
    "ELIBMAX",
    "ELIBEXEC",
    "EILSEQ",
    "ERESTART",
    "ESTRPIPE",
    "EUSERS",
    "ENOTSOCK",
    "EDESTADDRREQ",
    "EMSGSIZE",
    "EPROTOTYPE",
    "ENOPROTOOPT",
    "EPROTONOSUPPORT",
    "ESOCKTNOSUPPORT",
    "EOPNOTSUPP",
    "EPFNOSUPPORT",
    "EAFNOSUPPORT",
    "EADDRINUSE",
    "EADDRNOTAVAIL",
    "ENETDOWN",
    "ENETUNREACH",
    "ENETRESET",
    "ECONNABORTED",
    "ECONNRESET",
    "ENOBUFS",
    "EISCONN",
    "ENOTCONN",
    "ESHUTDOWN",
    "ETOOMANYREFS",
    "ETIMEDOUT",
    "ECONNREFUSED",
    "EHOSTDOWN",
    "EHOSTUNREACH",
    "EALREADY",
    "EINPROGRESS",
    "ESTALE",
    "EUCLEAN",
    "ENOTNAM",
    "ENAVAIL",
    "EISNAM",
    "EREMOTEIO",
    "EDQUOT",
    "ENOMEDIUM",
    "EMEDIUMTYPE",
    "ECANCELED",
    "ENOKEY",
    "EKEYEXPIRED",
    "EKEYREVOKED",
    "EKEYREJECTED",
    "EOWNERDEAD",
    "ENOTRECOVERABLE",
    "ERFKILL",
    "EHWPOISON",
};
#define N_ERRNO (int)(sizeof(errno_names) / sizeof(errno_names[0]))

const char *ct_errno_name(int err)
{
	if (err < 0)
		err = -err;
	if (err > 0 && err < N_ERRNO)
		return errno_names[err];
	return NULL;
}

int ct_errno_from_name(const char *name)
{
	static const struct {
		const char *name;
		int err;
	} aliases[] = {{"EWOULDBLOCK", 11}, {"EDEADLOCK", 35}, {"ENOTSUP", 95}};

	if (!name)
		return -1;
	for (int i = 1; i < N_ERRNO; i++)
		if (errno_names[i] && !strcasecmp(errno_names[i], name))
			return i;
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (!strcasecmp(aliases[i].name, name))
			return aliases[i].err;
	return -1;
}

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
			json_body(b, ev->path + 1, n - 1);
		} else {
			json_body(b, ev->path, n);
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
