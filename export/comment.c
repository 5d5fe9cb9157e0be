/* SPDX-License-Identifier: MIT */
/*
 * comment.c: the text a packet of an exported connect carries for people
 * (the pcapng comment naming the process and what came of the connect, the
 * note of a synthesized reply) and the JSON payload for the Wireshark
 * plugin and the frames of UNIX connects, with the caches that make them
 * cheap for a thread's next packet.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/eventfmt.h"
#include "export/export.h"
#include "lib/hash.h"
#include "lib/names.h"
#include "lib/text.h"

/* ------------------------------------------------------------ comment */

/* A string literal: its length is known at compile time. */
#define LIT(d, s) (memcpy((d), (s), sizeof(s) - 1), sizeof(s) - 1)

static size_t put_str(char *d, const char *s)
{
	size_t n = strlen(s);
	memcpy(d, s, n);
	return n;
}

/* Printable ASCII as is; space, '\\' and everything else as \xNN, so a
 * name can never fake another key=value pair. At most 4*n bytes. */
static size_t put_safe(char *d, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i = 0;

	/* Runs of eight plain bytes are copied whole. */
	for (; i + 8 <= n; i += 8, o += 8) {
		uint64_t x;
		memcpy(&x, s + i, 8);
		if (ct_any_below(x, 0x21) | ct_any_above(x, 0x7e) | ct_any_equal(x, '\\'))
			break;
		memcpy(d + o, &x, 8);
	}
	for (; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c > 0x20 && c < 0x7f && c != '\\') {
			d[o++] = (char)c;
		} else {
			d[o++] = '\\';
			d[o++] = 'x';
			d[o++] = hex[c >> 4];
			d[o++] = hex[c & 15];
		}
	}
	return o;
}

int ct_packet_reply(struct ct_reply *r, const struct ct_event *ev, uint64_t wall_ns, unsigned iface)
{
	size_t len = ct_packet_frame_ip_reply(r->frame, ev);
	if (!len)
		return 0;
	r->len = (uint16_t)len;
	r->iface = iface;
	r->ns = wall_ns + ev->result_ns;

	/* Who it answers and what it stands for, readable ... */
	size_t comm_len = strnlen(ev->task->comm, CT_COMM_LEN);
	const char *res = ct_fmt_result(ev);
	char *d = r->note;
	size_t o = LIT(d, "synthesized by conntrail, not captured: comm=");
	o += put_safe(d + o, ev->task->comm, comm_len); /* <= 64 */
	o += LIT(d + o, " pid=");
	o += ct_u64_dec(d + o, ev->task->pid);
	o += LIT(d + o, " result=");
	o += put_safe(d + o, res, strnlen(res, 15));
	o += LIT(d + o, " result_ns=");
	o += ct_u64_dec(d + o, ev->result_ns);
	d[o] = '\0'; /* < 192 */

	/* ... and for the plugin (at most 254 bytes). */
	d = r->json;
	o = LIT(d, CT_PCAPNG_JSON_TAG "{\"synthesized\":true,\"pid\":");
	o += ct_u64_dec(d + o, ev->task->pid);
	o += LIT(d + o, ",\"tid\":");
	o += ct_u64_dec(d + o, ev->tid);
	o += LIT(d + o, ",\"comm\":\"");
	o += ct_json_escape(d + o, ev->task->comm, comm_len);
	o += LIT(d + o, "\",\"outcome\":\"");
	o += ct_json_escape(d + o, res, strnlen(res, 15));
	o += LIT(d + o, "\",\"result\":");
	o += ct_i64_dec(d + o, ev->result);
	o += LIT(d + o, ",\"result_ns\":");
	o += ct_u64_dec(d + o, ev->result_ns);
	d[o++] = '}';
	d[o] = '\0';
	return 1;
}

#define COMMENT_STR_MAX 4096 /* PATH_MAX: longer exe and container are cut */

size_t ct_packet_comment_max(const struct ct_event *ev)
{
	(void)ev; /* exe, container and its name are cut at COMMENT_STR_MAX bytes */
	return 640 + 4 * (CT_COMM_LEN + CT_UNIX_PATH_MAX + 3 * COMMENT_STR_MAX);
}

/* Container ids as `docker ps` and `podman ps` print them: a long hex id is
 * cut to its first 12 digits (the full id stays in the JSON and CSV). */
#define CONTAINER_SHORT 12
static size_t put_container(char *d, const char *id)
{
	size_t n = strnlen(id, COMMENT_STR_MAX);
	size_t i = 0;
	while (i < n && ((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
		i++;
	if (i == n && n > CONTAINER_SHORT) {
		memcpy(d, id, CONTAINER_SHORT);
		return CONTAINER_SHORT;
	}
	return put_safe(d, id, n);
}

/*
 * The comment, in the order a person reads it: who and what came of it
 * first, the rest after:
 *   who:   "comm=.. pid=.."                          (per thread)
 *   what:  " result=.. dest=.. | path=.. [ret=..]"    (per connect)
 *   ids:   " exe=.. tid=.. uid=.. [container=..]"     (per thread)
 *   rest:  " sockfd=.. latency_ns=.. result_ns=.. closed_ns=.. ..."
 * ppid and gid are left to the JSON and CSV exports: on every packet they
 * are noise.
 */
static size_t comment_who(char *d, const struct ct_event *ev)
{
	size_t o = LIT(d, "comm=");
	o += put_safe(d + o, ev->task->comm, strnlen(ev->task->comm, CT_COMM_LEN));
	o += LIT(d + o, " pid=");
	return o + ct_u64_dec(d + o, ev->task->pid);
}

static size_t comment_ids(char *d, const struct ct_event *ev)
{
	static const struct ct_procinfo none;
	const struct ct_procinfo *proc = ev->proc ? ev->proc : &none;
	size_t o = 0;

	if (proc->exe) {
		o += LIT(d + o, " exe=");
		o += put_safe(d + o, proc->exe, strnlen(proc->exe, COMMENT_STR_MAX));
	}
	o += LIT(d + o, " tid=");
	o += ct_u64_dec(d + o, ev->tid);
	o += LIT(d + o, " uid=");
	o += ct_u64_dec(d + o, ev->task->uid);
	if (proc->container && proc->container[0]) {
		o += LIT(d + o, " container=");
		o += put_container(d + o, proc->container);
		const char *name = proc->ctr[CT_CTR_NAME];
		if (name && name[0]) {
			o += LIT(d + o, " container_name=");
			o += put_safe(d + o, name, strnlen(name, COMMENT_STR_MAX));
		}
	}
	return o;
}

/* " result=ECONNREFUSED" and friends, spelled once per errno. */
static size_t put_errno(char *d, int32_t v, const char *(*spell)(const struct ct_event *),
			const struct ct_event *ev)
{
	static struct {
		uint8_t len; /* 0: not spelled yet */
		char text[31];
	} errnos[256];
	if (v < 0 && v > -256) {
		unsigned err = (unsigned)-v;
		if (!errnos[err].len) {
			const char *name = spell(ev);
			size_t n = strnlen(name, sizeof(errnos[err].text));
			memcpy(errnos[err].text, name, n);
			errnos[err].len = (uint8_t)n;
		}
		memcpy(d, errnos[err].text, sizeof(errnos[err].text));
		return errnos[err].len;
	}
	return put_str(d, spell(ev));
}

/* "10.0.0.1:443", "[::1]:53", "[fe80::1%2]:22". */
static size_t put_dest(char *d, const struct ct_event *ev)
{
	const struct ct_dest *t = ev->dest;
	size_t o = 0;
	if (t->family == 2) {
		o += ct_ipv4_text(d, t->daddr);
	} else {
		d[o++] = '[';
		o += ct_ipv6_text(d + o, t->daddr);
		if (t->scope_id) {
			d[o++] = '%';
			o += ct_u64_dec(d + o, t->scope_id);
		}
		d[o++] = ']';
	}
	d[o++] = ':';
	return o + ct_u64_dec(d + o, t->dport);
}

static size_t comment_what(char *d, const struct ct_event *ev)
{
	size_t o = 0;

	o += LIT(d + o, " result=");
	if ((ev->flags & CT_EV_RESULT) && ev->result)
		o += put_errno(d + o, ev->result, ct_fmt_result, ev);
	else
		o += put_str(d + o, ct_fmt_result(ev));
	if (ct_packet_is_ip(ev)) {
		o += LIT(d + o, " dest=");
		o += put_dest(d + o, ev);
	} else if (ev->dest->family == 1) {
		/* '@' for the NUL of an abstract name, as script prints it. */
		size_t n =
		    ev->dest->path_len < CT_UNIX_PATH_MAX ? ev->dest->path_len : CT_UNIX_PATH_MAX;
		const char *path = ev->dest->path;
		o += LIT(d + o, " path=");
		if ((ev->flags & CT_EV_ABSTRACT) && n > 0 && path[0] == '\0') {
			d[o++] = '@';
			path++;
			n--;
		}
		o += put_safe(d + o, path, n);
	} else {
		o += LIT(d + o, " family=");
		o += ct_family_text(d + o, 32, ev->dest->family);
	}
	if (ct_outcome_later(ev)) {
		o += LIT(d + o, " ret=");
		o += (ev->flags & CT_EV_RET) && ev->ret ? put_errno(d + o, ev->ret, ct_fmt_ret, ev)
							: put_str(d + o, ct_fmt_ret(ev));
	}
	return o;
}

static size_t comment_rest(char *d, const struct ct_event *ev)
{
	size_t o = 0;

	if (ev->sockfd != -1) {
		o += LIT(d + o, " sockfd=");
		o += ct_i64_dec(d + o, ev->sockfd);
	}
	if (ev->flags & CT_EV_LATENCY) {
		o += LIT(d + o, " latency_ns=");
		o += ct_u64_dec(d + o, ev->latency_ns);
	}
	if (ct_outcome_later(ev)) {
		o += LIT(d + o, " result_ns=");
		o += ct_u64_dec(d + o, ev->result_ns);
	}
	if (ev->flags & CT_EV_CLOSED) {
		o += LIT(d + o, " closed_ns=");
		o += ct_u64_dec(d + o, ev->closed_ns);
		o += LIT(d + o, " tx_bytes=");
		o += ct_u64_dec(d + o, ev->tx_bytes);
		o += LIT(d + o, " rx_bytes=");
		o += ct_u64_dec(d + o, ev->rx_bytes);
	}
	if (ev->flags & CT_EV_OPEN)
		o += LIT(d + o, " still_open");
	return o;
}

size_t ct_packet_comment(char *d, const struct ct_event *ev)
{
	size_t o = comment_who(d, ev);
	o += comment_what(d + o, ev);
	o += comment_ids(d + o, ev);
	return o + comment_rest(d + o, ev);
}

/* The per-thread parts (who and ids) per thread, direct-mapped. A slot is
 * valid for one version of the process table's entry (ct_procinfo.serial:
 * a new one whenever exe, container or anything else of the entry changes)
 * and the event's own pid, tid, uid and comm. */
#define HUGE_PAGE (2u << 20)
#define PREFIX_SLOTS 4096
#define PREFIX_MAX 144 /* a multiple of the 16-byte copy below */
struct ct_comment_cache {
	struct prefix_slot {
		uint64_t serial;
		uint32_t pid, tid, uid;
		uint16_t len;	  /* 0: empty slot */
		uint16_t who_len; /* text = who, then ids */
		char comm[CT_COMM_LEN];
		char text[PREFIX_MAX];
	} __attribute__((aligned(64))) slots[PREFIX_SLOTS]; /* 3 cache lines each */
};

struct ct_comment_cache *ct_comment_cache_new(void)
{
	/* 768 KiB touched at random: in one huge page where the kernel
	 * offers them, so that its lookups do not also miss the TLB. */
	size_t size = (sizeof(struct ct_comment_cache) + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
	void *p = aligned_alloc(HUGE_PAGE, size);
	if (!p)
		return NULL;
#ifdef MADV_HUGEPAGE
	madvise(p, size, MADV_HUGEPAGE);
#endif
	return memset(p, 0, sizeof(struct ct_comment_cache));
}

void ct_comment_cache_free(struct ct_comment_cache *c)
{
	free(c);
}

static inline struct prefix_slot *prefix_slot_of(struct ct_comment_cache *c,
						 const struct ct_event *ev)
{
	return &c->slots[ct_mix32(ev->tid * 0x9e3779b1u ^ ev->task->pid) % PREFIX_SLOTS];
}

void ct_comment_cache_prefetch(struct ct_comment_cache *c, const struct ct_event *ev)
{
	if (c) {
		const char *p = (const char *)prefix_slot_of(c, ev);
		__builtin_prefetch(p);
		__builtin_prefetch(p + 64);
		__builtin_prefetch(p + 128);
	}
}

static const struct ct_procinfo no_proc;

size_t ct_packet_comment_cached(struct ct_comment_cache *c, char *d, const struct ct_event *ev)
{
	const struct ct_procinfo *proc = ev->proc ? ev->proc : &no_proc;
	/* Serial 0 with strings: a caller without a process table, whose
	 * strings may change under the same pointer. */
	if (!c || (!proc->serial && (proc->exe || proc->container)))
		return ct_packet_comment(d, ev);
	struct prefix_slot *e = prefix_slot_of(c, ev);
	size_t o;
	if (e->len && e->serial == proc->serial && e->pid == ev->task->pid && e->tid == ev->tid &&
	    e->uid == ev->task->uid && !memcmp(e->comm, ev->task->comm, CT_COMM_LEN)) {
		memcpy(d, e->text, e->who_len);
		o = e->who_len;
		o += comment_what(d + o, ev);
		memcpy(d + o, e->text + e->who_len, (size_t)(e->len - e->who_len));
		o += (size_t)(e->len - e->who_len);
	} else {
		size_t who = comment_who(d, ev);
		o = who + comment_what(d + who, ev);
		size_t ids = comment_ids(d + o, ev);
		if (who + ids <= PREFIX_MAX) {
			e->serial = proc->serial;
			e->pid = ev->task->pid;
			e->tid = ev->tid;
			e->uid = ev->task->uid;
			memcpy(e->comm, ev->task->comm, CT_COMM_LEN);
			memcpy(e->text, d, who);
			memcpy(e->text + who, d + o, ids);
			e->who_len = (uint16_t)who;
			e->len = (uint16_t)(who + ids);
		}
		o += ids;
	}
	return o + comment_rest(d + o, ev);
}

/* -------------------------------------------------- JSON payload (UNIX) */

/*
 * The JSON line of a non-IP event, the bytes of ct_fmt_json_event, with the
 * part that names the process cached per thread like the comment's prefix.
 */
#define JSON_SLOTS 1024
#define JSON_WHO_MAX 480

/* {"pid":P,"tid":T,"comm":"C" with C escaped (6 bytes a byte at most) */
#define JSON_BRIEF_MAX (8 + 20 + 7 + 20 + 10 + 6 * CT_COMM_LEN + 1)

struct ct_json_cache {
	struct ct_json_ts ts;
	int hit;   /* the last lookup was served from a slot */
	char *big; /* a "who" part too long for a slot */
	size_t big_cap;
	struct json_slot {
		uint64_t serial, cgroup_id;
		const char *host;
		uint32_t pid, tid, ppid, uid, gid;
		uint16_t len;	    /* 0: empty */
		uint16_t brief_len; /* the plugin's short form, written once */
		char comm[CT_COMM_LEN];
		char text[JSON_WHO_MAX];
		char brief[JSON_BRIEF_MAX];
	} slots[JSON_SLOTS], *last; /* last: the slot of the last hit */
};

/* The plugin JSON's opening when the thread's process part was written
 * before: who it is, briefly. */
static size_t json_brief(char *d, const struct ct_event *ev)
{
	size_t o = LIT(d, "{\"pid\":");
	o += ct_u64_dec(d + o, ev->task->pid);
	o += LIT(d + o, ",\"tid\":");
	o += ct_u64_dec(d + o, ev->tid);
	o += LIT(d + o, ",\"comm\":\"");
	o += ct_json_escape(d + o, ev->task->comm, strnlen(ev->task->comm, CT_COMM_LEN));
	d[o++] = '"';
	return o;
}

struct ct_json_cache *ct_json_cache_new(void)
{
	return calloc(1, sizeof(struct ct_json_cache));
}

void ct_json_cache_free(struct ct_json_cache *c)
{
	if (c)
		free(c->big);
	free(c);
}

const char *ct_json_who_cached(struct ct_json_cache *c, const struct ct_event *ev, const char *host,
			       size_t *len)
{
	const struct ct_procinfo *proc = ev->proc ? ev->proc : &no_proc;
	struct json_slot *e = NULL;

	/* Serial 0 with strings: no process table vouches for them. */
	if (proc->serial || (!proc->exe && !proc->cmdline && !proc->container)) {
		e = &c->slots[ct_mix32(ev->tid * 0x9e3779b1u ^ ev->task->pid) % JSON_SLOTS];
		if (e->len && e->serial == proc->serial && e->host == host &&
		    e->pid == ev->task->pid && e->tid == ev->tid && e->ppid == ev->task->ppid &&
		    e->uid == ev->task->uid && e->gid == ev->task->gid &&
		    e->cgroup_id == ev->task->cgroup_id &&
		    !memcmp(e->comm, ev->task->comm, CT_COMM_LEN)) {
			*len = e->len;
			c->hit = 1;
			c->last = e;
			return e->text;
		}
	}
	c->hit = 0;
	size_t need = ct_json_who_max(ev, host);
	if (c->big_cap < need) {
		char *p = realloc(c->big, need);
		if (!p)
			return NULL;
		c->big = p;
		c->big_cap = need;
	}
	*len = ct_json_who(c->big, ev, host);
	if (!e || *len > JSON_WHO_MAX)
		return c->big;
	e->serial = proc->serial;
	e->cgroup_id = ev->task->cgroup_id;
	e->host = host;
	e->pid = ev->task->pid;
	e->tid = ev->tid;
	e->ppid = ev->task->ppid;
	e->uid = ev->task->uid;
	e->gid = ev->task->gid;
	memcpy(e->comm, ev->task->comm, CT_COMM_LEN);
	memcpy(e->text, c->big, *len);
	e->len = (uint16_t)*len;
	e->brief_len = (uint16_t)json_brief(e->brief, ev);
	return e->text;
}

size_t ct_json_plugin_max(size_t who_len)
{
	return 512 + 6 * CT_COMM_LEN + who_len;
}

size_t ct_json_plugin(char *d, const struct ct_json_cache *c, const struct ct_event *ev,
		      const char *who, size_t who_len)
{
	size_t o = 0;
	if (!c->hit) {
		/* who starts with ",\"host\":" or ",\"pid\":" and names them all */
		d[o++] = '{';
		memcpy(d + o, who + 1, who_len - 1);
		o += who_len - 1;
	} else {
		memcpy(d, c->last->brief, c->last->brief_len);
		o += c->last->brief_len;
	}
	if (ev->sockfd != -1) {
		o += LIT(d + o, ",\"sockfd\":");
		o += ct_i64_dec(d + o, ev->sockfd);
	}
	if (ev->flags & CT_EV_SADDR) {
		o += LIT(d + o, ",\"saddr\":\"");
		o += ct_ip_text(d + o, ev->dest->family, ev->saddr);
		o += LIT(d + o, "\",\"sport\":");
		o += ct_u64_dec(d + o, ev->sport);
	}
	o += ct_json_outcome(d + o, ev, 0);
	d[o++] = '}';
	return o;
}

size_t ct_json_line_max(size_t who_len)
{
	return CT_JSON_HEAD_MAX + who_len + CT_JSON_TAIL_MAX;
}

size_t ct_json_line(char *d, struct ct_json_cache *c, const struct ct_event *ev, const char *who,
		    size_t who_len, int64_t wall_ns)
{
	size_t o = ct_json_head(d, wall_ns, &c->ts);
	memcpy(d + o, who, who_len);
	o += who_len;
	return o + ct_json_tail(d + o, ev);
}
