/* SPDX-License-Identifier: MIT */
/*
 * export_tracee.c: one JSON object per line in the shape Tracee's json
 * printer writes for its security_socket_connect event, so tools that read
 * Tracee output can read ours.
 *
 * Reference: aquasecurity/tracee v0.24.1
 *   types/trace/trace.go            Event struct and its JSON tags (order)
 *   pkg/events/core.go              SecuritySocketConnect: id 736 (700 +
 *                                   its place in the common IDs), fields
 *                                   sockfd (int32), type (int32, parsed to
 *                                   a "string" SOCK_*), remote_addr (SockAddr)
 *   pkg/bufferdecoder/eventsreader.go  remote_addr as a map of strings:
 *                                   sa_family, sin_port, sin_addr /
 *                                   sin6_port, sin6_flowinfo, sin6_addr,
 *                                   sin6_scopeid / sun_path ('@' abstract)
 *   pkg/cmd/printer/printer.go      json.Marshal(event), one per line
 * Go's encoding/json writes map keys sorted, escapes <, >, & as \u003c..,
 * and replaces invalid UTF-8 with U+FFFD; we do the same.
 *
 * What conntrail does not know is written as Tracee's zero value:
 * threadStartTime, processorId, namespaces, entity ids 0; stackAddresses
 * null. processId = hostProcessId (we record host pids). returnValue holds
 * the connect's result when it was recorded (Tracee's hook reports 0).
 * A connect joined to a DNS name carries it as net_tcp_connect's dst_dns
 * (pkg/events/core.go: "[]string"), an argument beyond the hook's own.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "export/eventfmt.h"
#include "export/export.h"
#include "lib/text.h"
#include "lib/names.h"

#define TRACEE_EVENT_ID "736"

struct ct_exporter {
	struct ct_sink s;
};

/* A JSON string the way Go's encoding/json writes it. */
static void go_str(struct ct_buf *b, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;

	ct_buf_put(b, "\"", 1);
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		if (c >= 0x80) {
			size_t len = ct_utf8_seq(s + i, n - i);
			if (!len) {
				ct_buf_puts(b, "\\ufffd");
				i++;
				continue;
			}
			/* U+2028 and U+2029 break JavaScript; Go escapes them. */
			if (len == 3 && c == 0xe2 && s[i + 1] == 0x80 &&
			    (s[i + 2] & 0xfe) == 0xa8) {
				ct_buf_puts(b, s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029");
			} else {
				ct_buf_put(b, s + i, len);
			}
			i += len;
			continue;
		}
		switch (c) {
		case '"':
			ct_buf_puts(b, "\\\"");
			break;
		case '\\':
			ct_buf_puts(b, "\\\\");
			break;
		case '\n':
			ct_buf_puts(b, "\\n");
			break;
		case '\r':
			ct_buf_puts(b, "\\r");
			break;
		case '\t':
			ct_buf_puts(b, "\\t");
			break;
		default:
			if (c < 0x20 || c == '<' || c == '>' || c == '&') {
				char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
				ct_buf_put(b, e, 6);
			} else {
				ct_buf_put(b, &c, 1);
			}
		}
		i++;
	}
	ct_buf_put(b, "\"", 1);
}

static void go_cstr(struct ct_buf *b, const char *s)
{
	go_str(b, s ? s : "", s ? strlen(s) : 0);
}

/* key and s when s is known and not empty (Go's omitempty). */
static void go_opt(struct ct_buf *b, const char *key, const char *s)
{
	if (s && s[0]) {
		ct_buf_puts(b, key);
		go_cstr(b, s);
	}
}

static void num_u(struct ct_buf *b, uint64_t v)
{
	char t[24];
	ct_buf_put(b, t, ct_u64_dec(t, v));
}

static void num_i(struct ct_buf *b, int64_t v)
{
	char t[24];
	ct_buf_put(b, t, ct_i64_dec(t, v));
}

/* Address family names as Tracee's parser spells them (linux socket.h). */
static const char *af_name(uint16_t f)
{
	static const char *const names[] = {
	    [0] = "AF_UNSPEC",	    [1] = "AF_UNIX",	   [2] = "AF_INET",
	    [3] = "AF_AX25",	    [4] = "AF_IPX",	   [5] = "AF_APPLETALK",
	    [6] = "AF_NETROM",	    [7] = "AF_BRIDGE",	   [8] = "AF_ATMPVC",
	    [9] = "AF_X25",	    [10] = "AF_INET6",	   [11] = "AF_ROSE",
	    [12] = "AF_DECnet",	    [13] = "AF_NETBEUI",   [14] = "AF_SECURITY",
	    [15] = "AF_KEY",	    [16] = "AF_NETLINK",   [17] = "AF_PACKET",
	    [18] = "AF_ASH",	    [19] = "AF_ECONET",	   [20] = "AF_ATMSVC",
	    [21] = "AF_RDS",	    [22] = "AF_SNA",	   [23] = "AF_IRDA",
	    [24] = "AF_PPPOX",	    [25] = "AF_WANPIPE",   [26] = "AF_LLC",
	    [27] = "AF_IB",	    [28] = "AF_MPLS",	   [29] = "AF_CAN",
	    [30] = "AF_TIPC",	    [31] = "AF_BLUETOOTH", [32] = "AF_IUCV",
	    [33] = "AF_RXRPC",	    [34] = "AF_ISDN",	   [35] = "AF_PHONET",
	    [36] = "AF_IEEE802154", [37] = "AF_CAIF",	   [38] = "AF_ALG",
	    [39] = "AF_NFC",	    [40] = "AF_VSOCK",	   [41] = "AF_KCM",
	    [42] = "AF_QIPCRTR",    [43] = "AF_SMC",	   [44] = "AF_XDP",
	    [45] = "AF_MCTP",
	};
	if (f < sizeof(names) / sizeof(names[0]) && names[f])
		return names[f];
	return "AF_UNSPEC"; /* what Tracee prints when it cannot name it */
}

static void remote_addr(struct ct_buf *b, const struct ct_event *ev)
{
	char a[INET6_ADDRSTRLEN], t[24];

	ct_buf_puts(b, "{\"sa_family\":");
	go_cstr(b, af_name(ev->dest->family));
	if (ev->dest->family == 2) {
		ct_ipv4_text(a, ev->dest->daddr);
		ct_buf_puts(b, ",\"sin_addr\":");
		go_cstr(b, a);
		ct_buf_puts(b, ",\"sin_port\":\"");
		ct_buf_put(b, t, ct_u64_dec(t, ev->dest->dport));
		ct_buf_puts(b, "\"");
	} else if (ev->dest->family == 10) {
		ct_ipv6_text(a, ev->dest->daddr);
		ct_buf_puts(b, ",\"sin6_addr\":");
		go_cstr(b, a);
		ct_buf_puts(b, ",\"sin6_flowinfo\":\"0\",\"sin6_port\":\"");
		ct_buf_put(b, t, ct_u64_dec(t, ev->dest->dport));
		ct_buf_puts(b, "\",\"sin6_scopeid\":\"");
		ct_buf_put(b, t, ct_u64_dec(t, ev->dest->scope_id));
		ct_buf_puts(b, "\"");
	} else if (ev->dest->family == 1) {
		size_t n =
		    ev->dest->path_len < CT_UNIX_PATH_MAX ? ev->dest->path_len : CT_UNIX_PATH_MAX;
		char path[CT_UNIX_PATH_MAX + 1];
		size_t m = 0;
		/* Tracee reads up to the first NUL; an abstract name's leading
		 * NUL is shown as '@'. */
		size_t i = 0;
		if ((ev->flags & CT_EV_ABSTRACT) && n > 0 && ev->dest->path[0] == '\0') {
			path[m++] = '@';
			i = 1;
		}
		for (; i < n && ev->dest->path[i]; i++)
			path[m++] = ev->dest->path[i];
		ct_buf_puts(b, ",\"sun_path\":");
		go_str(b, path, m);
	}
	ct_buf_puts(b, "}");
}

static int tracee_event(struct ct_exporter *x, const struct ct_event *ev, unsigned input,
			int64_t wall_ns)
{
	static const struct ct_procinfo none;
	const struct ct_procinfo *proc = ev->proc ? ev->proc : &none;
	struct ct_buf *b = &x->s.line;
	const char *host = ct_export_host(x->s.info, input);
	const char *container = proc->container && proc->container[0] ? proc->container : NULL;
	const char *type;

	b->len = 0;
	ct_buf_puts(b, "{\"timestamp\":");
	num_i(b, wall_ns);
	ct_buf_puts(b, ",\"threadStartTime\":0,\"processorId\":0,\"processId\":");
	num_u(b, ev->task->pid);
	ct_buf_puts(b, ",\"cgroupId\":");
	num_u(b, ev->task->cgroup_id);
	ct_buf_puts(b, ",\"threadId\":");
	num_u(b, ev->tid);
	ct_buf_puts(b, ",\"parentProcessId\":");
	num_u(b, ev->task->ppid);
	ct_buf_puts(b, ",\"hostProcessId\":");
	num_u(b, ev->task->pid);
	ct_buf_puts(b, ",\"hostThreadId\":");
	num_u(b, ev->tid);
	ct_buf_puts(b, ",\"hostParentProcessId\":");
	num_u(b, ev->task->ppid);
	ct_buf_puts(b, ",\"userId\":");
	num_u(b, ev->task->uid);
	ct_buf_puts(b, ",\"mountNamespace\":0,\"pidNamespace\":0,\"processName\":");
	go_str(b, ev->task->comm, strnlen(ev->task->comm, CT_COMM_LEN));
	ct_buf_puts(b, ",\"executable\":{\"path\":");
	go_cstr(b, proc->exe);
	ct_buf_puts(b, "},\"hostName\":");
	go_cstr(b, host);
	ct_buf_puts(b, ",\"containerId\":");
	go_cstr(b, container);
	if (container) {
		ct_buf_puts(b, ",\"container\":{\"id\":");
		go_cstr(b, container);
		/* Tracee's Container and Kubernetes: fields omitempty */
		go_opt(b, ",\"name\":", proc->ctr[CT_CTR_NAME]);
		go_opt(b, ",\"image\":", proc->ctr[CT_CTR_IMAGE]);
		ct_buf_puts(b, "}");
	} else {
		ct_buf_puts(b, ",\"container\":{}");
	}
	ct_buf_puts(b, ",\"kubernetes\":{");
	size_t k8s = b->len;
	go_opt(b, "\"podName\":", proc->ctr[CT_CTR_POD]);
	go_opt(b, b->len > k8s ? ",\"podNamespace\":" : "\"podNamespace\":", proc->ctr[CT_CTR_NS]);
	ct_buf_puts(b, "},\"eventId\":\"" TRACEE_EVENT_ID
		       "\",\"eventName\":\"security_socket_connect\",\"matchedPolicies\":[\"\"],"
		       "\"argsNum\":");
	int known = (ev->flags & (CT_EV_RESULT | CT_EV_ABANDONED)) != 0;
	num_i(b, (known ? 5 : 4) + (ev->dname != NULL));
	ct_buf_puts(b, ",\"returnValue\":");
	num_i(b, (ev->flags & CT_EV_RET) ? ev->ret : 0);
	ct_buf_puts(b, ev->sockfd >= 0 ? ",\"syscall\":\"connect\"" : ",\"syscall\":\"\"");
	ct_buf_puts(b, ",\"stackAddresses\":null,\"contextFlags\":{\"containerStarted\":");
	ct_buf_puts(b, container ? "true" : "false");
	ct_buf_puts(b, ",\"isCompat\":false},\"threadEntityId\":0,\"processEntityId\":0,"
		       "\"parentEntityId\":0,\"args\":[{\"name\":\"sockfd\",\"type\":\"int32\","
		       "\"value\":");
	num_i(b, ev->sockfd);
	ct_buf_puts(b, "},{\"name\":\"type\",\"type\":\"string\",\"value\":");
	if ((type = ct_type_name(ev->dest->type))) {
		go_cstr(b, type);
	} else {
		char t[24];
		ct_buf_puts(b, "\"");
		ct_buf_put(b, t, ct_u64_dec(t, ev->dest->type));
		ct_buf_puts(b, "\"");
	}
	ct_buf_puts(b, "},{\"name\":\"remote_addr\",\"type\":\"SockAddr\",\"value\":");
	remote_addr(b, ev);
	/* Beyond Tracee's three: how the connect ended (by name: a reader
	 * looking up Tracee's own arguments is not disturbed). */
	ct_buf_puts(b, "},{\"name\":\"outcome\",\"type\":\"const char*\",\"value\":");
	go_cstr(b, ct_fmt_result(ev));
	if (known) {
		ct_buf_puts(b, "},{\"name\":\"outcome_ns\",\"type\":\"u64\",\"value\":");
		num_u(b, ev->result_ns);
	}
	/* The DNS name, as Tracee's net_tcp_connect carries it (dst_dns, the
	 * names that resolved to the destination). */
	if (ev->dname) {
		ct_buf_puts(b, "},{\"name\":\"dst_dns\",\"type\":\"[]string\",\"value\":[");
		go_cstr(b, ev->dname);
		ct_buf_puts(b, "]");
	}
	ct_buf_puts(b, "}]}\n");
	return ct_out_write(x->s.out, b->p, b->len);
}

const struct ct_export_ops ct_tracee_ops = {
    .size = sizeof(struct ct_exporter),
    .event = tracee_event,
    .parallel = 1,
};
