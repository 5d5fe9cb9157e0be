/* SPDX-License-Identifier: MIT */
/*
 * fields.c: the fields of the --filter language, one table row each: a
 * name, the kind of value, its range, the batch columns it reads, how to
 * get it from an event, its symbolic values and its summary key. A new
 * field is a row and its getter (CONTRIBUTING.md).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/names.h"
#include "query/filter_int.h"

static int inet(const struct ct_event *ev)
{
	return ev->dest->family == 2 || ev->dest->family == 10;
}

/* Getters: 0 when the event has no such value (the comparison is false). */
#define GETTER(name, expr)                                                                         \
	static int name(const struct ct_event *ev, int64_t wall, struct fval *v)                   \
	{                                                                                          \
		(void)wall;                                                                        \
		(void)ev;                                                                          \
		expr;                                                                              \
		return 1;                                                                          \
	}
GETTER(get_ts, v->num = wall)
GETTER(get_pid, v->num = ev->task->pid)
GETTER(get_tid, v->num = ev->tid)
GETTER(get_ppid, v->num = ev->task->ppid)
GETTER(get_uid, v->num = ev->task->uid)
GETTER(get_gid, v->num = ev->task->gid)
GETTER(get_cgroup, v->num = (int64_t)ev->task->cgroup_id)
GETTER(get_family, v->num = ev->dest->family)
GETTER(get_type, v->num = ev->dest->type)
GETTER(get_proto, v->num = ev->dest->proto)
GETTER(get_sockfd, v->num = ev->sockfd)
GETTER(get_comm, v->str = ev->task->comm; v->len = strnlen(ev->task->comm, CT_COMM_LEN))

static int get_dport(const struct ct_event *ev, int64_t wall, struct fval *v)
{
	(void)wall;
	v->num = ev->dest->dport;
	return inet(ev);
}

static int get_sport(const struct ct_event *ev, int64_t wall, struct fval *v)
{
	(void)wall;
	v->num = ev->sport;
	return inet(ev) && (ev->flags & CT_EV_SADDR);
}

static int get_ret(const struct ct_event *ev, int64_t wall, struct fval *v)
{
	(void)wall;
	v->num = ev->ret;
	return (ev->flags & CT_EV_RET) != 0;
}

static int get_result(const struct ct_event *ev, int64_t wall, struct fval *v)
{
	(void)wall;
	v->num = ev->flags & CT_EV_RESULT      ? ev->result
		 : ev->flags & CT_EV_ABANDONED ? RESULT_ABANDONED
					       : RESULT_UNKNOWN;
	return 1;
}

static int get_daddr(const struct ct_event *ev, int64_t wall, struct fval *v)
{
	(void)wall;
	v->family = ev->dest->family;
	v->addr = ev->dest->daddr;
	return inet(ev);
}

static int get_saddr(const struct ct_event *ev, int64_t wall, struct fval *v)
{
	(void)wall;
	v->family = ev->dest->family;
	v->addr = ev->saddr;
	return inet(ev) && (ev->flags & CT_EV_SADDR);
}

/* A string the process table knows (exe, cmdline, container): 0 when not. */
static int proc_str(const char *s, struct fval *v)
{
	if (!s)
		return 0;
	v->str = s;
	v->len = strlen(s);
	return 1;
}
GETTER(get_exe, return ev->proc && proc_str(ev->proc->exe, v))
GETTER(get_container, return ev->proc && proc_str(ev->proc->container, v))
GETTER(get_cmdline, return ev->proc && proc_str(ev->proc->cmdline, v))
/* The container's names the recorder read from its runtime's files. */
GETTER(get_container_name, return ev->proc && proc_str(ev->proc->ctr[CT_CTR_NAME], v))
GETTER(get_image, return ev->proc && proc_str(ev->proc->ctr[CT_CTR_IMAGE], v))
GETTER(get_pod, return ev->proc && proc_str(ev->proc->ctr[CT_CTR_POD], v))
GETTER(get_k8s_namespace, return ev->proc && proc_str(ev->proc->ctr[CT_CTR_NS], v))
/* The DNS name the session joined to daddr (lower case): 0 when none. */
GETTER(get_dname, return proc_str(ev->dname, v))

/* What script shows as the time taken: to the handshake's end when that
 * came after connect(2) returned (as ct_outcome_later says), else how long
 * connect(2) took. */
static int get_latency(const struct ct_event *ev, int64_t wall, struct fval *v)
{
	(void)wall;
	uint16_t f = ev->flags;
	int later =
	    (f & (CT_EV_RESULT | CT_EV_ABANDONED)) &&
	    (!(f & CT_EV_RET) || ev->ret == -115 || (f & CT_EV_ABANDONED) || ev->result != ev->ret);
	if (later) {
		v->num = (int64_t)(ev->result_ns > INT64_MAX ? INT64_MAX : ev->result_ns);
		return 1;
	}
	v->num = (int64_t)(ev->latency_ns > INT64_MAX ? INT64_MAX : ev->latency_ns);
	return (f & CT_EV_LATENCY) != 0;
}

/* host is the input's, not the event's: ct_filter_set_host decides each
 * host comparison once per input, and evaluation reads that answer. */
static int get_host(const struct ct_event *ev, int64_t wall, struct fval *v)
{
	(void)ev;
	(void)wall;
	(void)v;
	return 0;
}

/* The path's bytes: a pathname up to its first NUL, an abstract name
 * (leading NUL) whole. */
static int get_path(const struct ct_event *ev, int64_t wall, struct fval *v)
{
	(void)wall;
	const struct ct_dest *d = ev->dest;
	if (d->family != 1)
		return 0;
	size_t len = d->path_len < CT_UNIX_PATH_MAX ? d->path_len : CT_UNIX_PATH_MAX;
	int abstract = (ev->flags & CT_EV_ABSTRACT) && len && d->path[0] == '\0';
	v->str = len ? d->path : "";
	v->len = abstract || !len ? len : strnlen(d->path, len);
	return 1;
}

/* A name one of lib/names.c gives a number up to 300 (families, types,
 * protocols): 0 and *v, or -1. */
static int lookup_name(const char *s, const char *(*name)(uint16_t), int64_t *v)
{
	for (int i = 0; i < 300; i++) {
		const char *n = name((uint16_t)i);
		if (n && !strcmp(n, s)) {
			*v = i;
			return 0;
		}
	}
	return -1;
}

/* Symbolic values of a numeric field: 0 and *v set, or -1. Families by
 * the short names, any AF_ name JSON writes (AF_NETLINK) or AF_<n>. */
static int family_value(const char *s, int64_t *v)
{
	if (!strcasecmp(s, "inet") || !strcasecmp(s, "ipv4"))
		*v = 2;
	else if (!strcasecmp(s, "inet6") || !strcasecmp(s, "ipv6"))
		*v = 10;
	else if (!strcasecmp(s, "unix") || !strcasecmp(s, "local"))
		*v = 1;
	else if (!strcasecmp(s, "other"))
		*v = FAMILY_OTHER;
	else if (!lookup_name(s, ct_family_name, v))
		return 0;
	else if (!strncmp(s, "AF_", 3) && isdigit((unsigned char)s[3])) {
		char *end;
		unsigned long n = strtoul(s + 3, &end, 10);
		if (*end || n > UINT16_MAX)
			return -1;
		*v = (int64_t)n;
	} else
		return -1;
	return 0;
}

static int type_value(const char *s, int64_t *v)
{
	return lookup_name(s, ct_type_short, v) && lookup_name(s, ct_type_name, v) ? -1 : 0;
}

static int proto_value(const char *s, int64_t *v)
{
	if (!strcmp(s, "ip")) {
		*v = 0;
		return 0;
	}
	return lookup_name(s, ct_proto_short, v);
}

static int errno_value(const char *s, int64_t *v)
{
	if (!strcmp(s, "ok")) {
		*v = 0;
		return 0;
	}
	int e = ct_errno_from_name(s);
	if (e <= 0)
		return -1;
	*v = -e;
	return 0;
}

static int result_value(const char *s, int64_t *v)
{
	if (!strcmp(s, "abandoned"))
		*v = RESULT_ABANDONED;
	else if (!strcmp(s, "unknown"))
		*v = RESULT_UNKNOWN;
	else
		return errno_value(s, v);
	return 0;
}

const struct field ct_filter_fields[] = {
    {"ts", V_NUM, INT64_MIN, INT64_MAX, 0, get_ts, .special = FS_TS},
    {"pid", V_NUM, 0, UINT32_MAX, 0, get_pid, NULL, NULL, CT_KEY_PID, 1},
    {"tid", V_NUM, 0, UINT32_MAX, CT_COL_TID, get_tid},
    {"ppid", V_NUM, 0, UINT32_MAX, 0, get_ppid},
    {"uid", V_NUM, 0, UINT32_MAX, 0, get_uid, NULL, NULL, CT_KEY_UID, 1},
    {"gid", V_NUM, 0, UINT32_MAX, 0, get_gid},
    {"comm", V_STR, 0, 0, 0, get_comm, NULL, NULL, CT_KEY_COMM, 1},
    {"exe", V_STR, 0, 0, 0, get_exe, .needs_proc = 1},
    {"cgroup", V_NUM, 0, INT64_MAX, 0, get_cgroup},
    {"container", V_STR, 0, 0, 0, get_container, .needs_proc = 1},
    {"container_name", V_STR, 0, 0, 0, get_container_name, .needs_proc = 1},
    {"image", V_STR, 0, 0, 0, get_image, .needs_proc = 1},
    {"pod", V_STR, 0, 0, 0, get_pod, .needs_proc = 1},
    {"k8s_namespace", V_STR, 0, 0, 0, get_k8s_namespace, .needs_proc = 1},
    {"family", V_NUM, 0, UINT16_MAX, 0, get_family, family_value,
     "family|inet, inet6, unix, other, an AF_ name such as AF_NETLINK, or a number", CT_KEY_FAMILY,
     1, .special = FS_FAMILY},
    {"type", V_NUM, 0, UINT16_MAX, 0, get_type, type_value,
     "socket type|stream, dgram, seqpacket, raw, ..."},
    {"proto", V_NUM, 0, UINT16_MAX, 0, get_proto, proto_value,
     "protocol|tcp, udp, icmp, sctp, ... or a number"},
    {"daddr", V_ADDR, 0, 0, 0, get_daddr, NULL, NULL, CT_KEY_DADDR},
    {"dname", V_STR, 0, 0, 0, get_dname, NULL, NULL, CT_KEY_DNAME},
    {"dport", V_NUM, 0, UINT16_MAX, 0, get_dport, NULL, NULL, CT_KEY_DPORT},
    {"saddr", V_ADDR, 0, 0, CT_COL_LOCAL, get_saddr},
    {"sport", V_NUM, 0, UINT16_MAX, CT_COL_LOCAL, get_sport},
    {"path", V_STR, 0, 0, 0, get_path, NULL, NULL, CT_KEY_PATH, .special = FS_PATH},
    {"sockfd", V_NUM, INT32_MIN, INT32_MAX, CT_COL_SOCKFD, get_sockfd},
    {"ret", V_NUM, INT32_MIN, INT32_MAX, CT_COL_RET, get_ret, errno_value,
     "errno name|e.g. ECONNREFUSED or -111", .special = FS_RET},
    {"result", V_NUM, INT32_MIN, 0, CT_COL_RESULT, get_result, result_value,
     "outcome|ok, abandoned, unknown, an errno name such as ETIMEDOUT, or -110",
     .special = FS_RESULT},
    {"latency", V_NUM, 0, INT64_MAX, CT_COL_LATENCY | CT_COL_RESULT_NS, get_latency,
     .special = FS_LATENCY},
    {"host", V_STR, 0, 0, 0, get_host, .special = FS_HOST},
    {"cmdline", V_STR, 0, 0, 0, get_cmdline, .needs_proc = 1},
};
const size_t ct_filter_nfields = sizeof(ct_filter_fields) / sizeof(ct_filter_fields[0]);
