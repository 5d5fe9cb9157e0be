/* SPDX-License-Identifier: MIT */
/*
 * pcapng.c: pcapng written by hand to the spec
 * (draft-ietf-opsawg-pcapng: SHB, IDB, NRB, EPB, ISB, custom blocks; little-endian; every block
 * and option padded to 32 bits; if_tsresol 9 = nanosecond timestamps).
 *
 * Layout of what we write:
 *   SHB   shb_hardware (arch), shb_os (kernel), shb_userappl ("conntrail
 *         0.2.0"), one comment line per input: host, backend, recorder,
 *         recording command line, filters; and the convert command line.
 *   IDB   one per host, LINKTYPE_ETHERNET (see export.h: one link type for
 *         all frames keeps libpcap/tcpdump able to read the file):
 *         if_name = hostname, if_description = backend/kernel, if_os,
 *         if_tsresol = 9.
 *   NRB   where a DNS answer comes, its address -> name pairs not written
 *         yet (pcapng_name).
 *   CB    before the first packet of each process, a Process Information
 *         Block in a Wireshark custom block (pcapng_proc.c).
 *   EPB   one per connect: the frame of packet.c, epb_processid_threadid
 *         (pid, tid: Wireshark 4.7 finds the process's block by it), a
 *         comment "comm=.. pid=.. result=.. dest=.. tid=.. exe=.. uid=..
 *         [container=..] ..." for people and older Wireshark, and on IP
 *         frames a second one for the Lua plugin. UNIX
 *         (and other non-IP) connects are frames of ethertype 0x88b5
 *         whose payload is the event's JSON
 *         line: eth.type == 0x88b5 selects them, and
 *         frame.comment contains "/run/x.sock" or frame contains "..."
 *         finds a path. With --replies an inbound reply frame follows where
 *         the outcome implies one.
 *   ISB   per interface at the end: isb_starttime/endtime, isb_ifrecv,
 *         isb_ifdrop (events the kernel lost on that host), isb_usrdeliv.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "export/eventfmt.h"
#include "export/export.h"
#include "export/pcapng_int.h"
#include "export/pcapng_proc.h"

#define CT_PCAPNG_SNAPLEN 262144 /* tcpdump's and dumpcap's default */

#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 0x00000001u
#define BT_ISB 0x00000005u
#define BT_EPB 0x00000006u
#define BT_NRB 0x00000004u
#define NRB_END 0
#define NRB_IPV4 1
#define NRB_IPV6 2

#define SHB_HARDWARE 2
#define SHB_OS 3
#define SHB_USERAPPL 4
#define IF_NAME 2
#define IF_DESCRIPTION 3
#define IF_TSRESOL 9
#define IF_OS 12
#define ISB_STARTTIME 2
#define ISB_ENDTIME 3
#define ISB_IFRECV 4
#define ISB_IFDROP 5
#define ISB_USRDELIV 8

struct iface {
	unsigned host;
	uint16_t linktype;
	uint64_t packets;
	uint64_t drops;
	uint64_t first_ns, last_ns;
};

struct ct_exporter {
	struct ct_sink s;
	struct iface *ifs;
	unsigned nifs;
	size_t capifs;
	struct ct_buf scratch;
	struct ct_comment_cache *comments; /* NULL: comments built uncached */
	struct ct_json_cache *json;
	int replies;
	struct ct_replies pending; /* replies not yet due */
	/* (address, name) pairs already in a Name Resolution Block, by hash */
	uint64_t *nrb_seen;
	size_t nrb_cap, nrb_count;
	struct ct_pcapng_procs *procs; /* --process-info: whose block is out; else NULL */
};

/* "prefix<escaped s>" into t (emptied first). */
static void text_esc(struct ct_buf *t, const char *prefix, const char *s)
{
	t->len = 0;
	ct_buf_puts(t, prefix);
	ct_buf_term_str(t, s ? s : "?");
}

static void b_opt_u64(struct ct_buf *b, uint16_t code, uint64_t v)
{
	b_opt(b, code, &v, 8);
}

/* Timestamps in the ISB: high 32 bits first, in if_tsresol units. */
static void b_opt_ts(struct ct_buf *b, uint16_t code, uint64_t ns)
{
	uint32_t t[2] = {(uint32_t)(ns >> 32), (uint32_t)ns};
	b_opt(b, code, t, 8);
}

static int flush_scratch(struct ct_exporter *x)
{
	int rc = ct_out_write(x->s.out, x->scratch.p, x->scratch.len);
	x->scratch.len = 0;
	return rc;
}

/* ----------------------------------------------------------- blocks */

static const struct ct_header *host_header(const struct ct_export_info *info, unsigned host)
{
	for (unsigned i = 0; i < info->ninputs; i++)
		if (info->inputs[i].host_index == host)
			return info->inputs[i].hdr;
	return NULL;
}

static void shb(struct ct_exporter *x)
{
	const struct ct_export_info *info = x->s.info;
	struct ct_buf *b = &x->scratch;
	const struct ct_header *h0 = info->ninputs ? info->inputs[0].hdr : NULL;
	struct ct_buf text = {0};

	size_t at = b_begin(b, BT_SHB);
	b_u32(b, 0x1A2B3C4Du);
	uint16_t ver[2] = {1, 0};
	ct_buf_put(b, ver, 4);
	int64_t section_len = -1; /* unknown: we stream */
	ct_buf_put(b, &section_len, 8);

	if (h0 && h0->arch)
		b_opt_str(b, SHB_HARDWARE, h0->arch);
	if (h0 && h0->kernel) {
		text_esc(&text, "Linux ", h0->kernel);
		b_opt(b, SHB_OS, text.p, text.len);
		text.len = 0;
	}
	b_opt_str(b, SHB_USERAPPL, "conntrail " CONNTRAIL_VERSION);
	for (unsigned i = 0; i < info->ninputs; i++) {
		const struct ct_header *h = info->inputs[i].hdr;
		if (i)
			ct_buf_puts(&text, "\n");
		const char *keys[] = {
		    "trace=", " host=", " kernel=", " arch=", " backend=", " recorder="};
		const char *vals[] = {info->inputs[i].path ? info->inputs[i].path : "-",
				      h->hostname,
				      h->kernel,
				      h->arch,
				      h->backend,
				      h->recorder};
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			ct_buf_puts(&text, keys[k]);
			ct_buf_term_str(&text, vals[k] ? vals[k] : "?");
		}
		/* Lines of their own, unquoted: a command line carries its own
		 * quotes, which a "..." around it would garble. */
		if (h->filters && *h->filters) {
			ct_buf_puts(&text, "\n  filters: ");
			ct_buf_term_str(&text, h->filters);
		}
		if (h->cmdline && *h->cmdline) {
			ct_buf_puts(&text, "\n  recorded by: ");
			ct_buf_term_str(&text, h->cmdline);
		}
	}
	if (info->cmdline) {
		if (text.len)
			ct_buf_puts(&text, "\n");
		ct_buf_puts(&text, "converted by: ");
		ct_buf_term_str(&text, info->cmdline);
	}
	if (text.len)
		b_opt(b, OPT_COMMENT, text.p, text.len);
	ct_buf_free(&text);
	b_end(b, at);
}

static int add_iface(struct ct_exporter *x, unsigned host, uint16_t linktype)
{
	if (x->nifs == x->capifs && ct_grow(&x->ifs, &x->capifs, sizeof(*x->ifs), 8))
		return -1;
	struct iface *f = &x->ifs[x->nifs++];
	memset(f, 0, sizeof(*f));
	f->host = host;
	f->linktype = linktype;

	const struct ct_header *h = host_header(x->s.info, host);
	const char *hostname = h && h->hostname && *h->hostname ? h->hostname : "unknown-host";
	struct ct_buf *b = &x->scratch;
	struct ct_buf text = {0};
	size_t at = b_begin(b, BT_IDB);
	uint16_t lt[2] = {linktype, 0};
	ct_buf_put(b, lt, 4);
	b_u32(b, CT_PCAPNG_SNAPLEN); /* a normal snaplen: no frame comes near it */
	b_opt_str(b, IF_NAME, hostname);
	text_esc(&text, "conntrail connects on ", hostname);
	ct_buf_puts(&text, " (backend ");
	ct_buf_term_str(&text, h && h->backend ? h->backend : "?");
	ct_buf_puts(&text, ", kernel ");
	ct_buf_term_str(&text, h && h->kernel ? h->kernel : "?");
	ct_buf_puts(&text, "); UNIX and other non-IP connects: ethertype 0x88b5, JSON payload");
	b_opt(b, IF_DESCRIPTION, text.p, text.len);
	uint8_t tsresol = 9;
	b_opt(b, IF_TSRESOL, &tsresol, 1);
	if (h && h->kernel) {
		text_esc(&text, "Linux ", h->kernel);
		b_opt(b, IF_OS, text.p, text.len);
	}
	ct_buf_free(&text);
	b_end(b, at);
	return flush_scratch(x);
}

static void isb(struct ct_exporter *x, unsigned id)
{
	const struct iface *f = &x->ifs[id];
	struct ct_buf *b = &x->scratch;
	size_t at = b_begin(b, BT_ISB);
	b_u32(b, id);
	b_u32(b, (uint32_t)(f->last_ns >> 32));
	b_u32(b, (uint32_t)f->last_ns);
	if (f->packets) {
		b_opt_ts(b, ISB_STARTTIME, f->first_ns);
		b_opt_ts(b, ISB_ENDTIME, f->last_ns);
	}
	b_opt_u64(b, ISB_IFRECV, f->packets + f->drops);
	b_opt_u64(b, ISB_IFDROP, f->drops);
	b_opt_u64(b, ISB_USRDELIV, f->packets);
	b_end(b, at);
}

/* --------------------------------------------------------------- sink */

static void pcapng_release(struct ct_exporter *x)
{
	ct_buf_free(&x->scratch);
	ct_comment_cache_free(x->comments);
	ct_json_cache_free(x->json);
	ct_replies_free(&x->pending);
	free(x->ifs);
	free(x->nrb_seen);
	ct_pcapng_procs_free(x->procs);
}

static int pcapng_start(struct ct_exporter *x)
{
	const struct ct_export_info *info = x->s.info;
	struct ct_out *o = x->s.out;

	x->replies = info->replies;
	x->comments = ct_comment_cache_new();
	x->json = ct_json_cache_new();
	if (info->process_info)
		x->procs = ct_pcapng_procs_new();
	if (!x->json || (info->process_info && !x->procs)) {
		o->err = ENOMEM;
		return -1;
	}
	unsigned nhosts = info->nhosts ? info->nhosts : 1;
	shb(x);
	int rc = flush_scratch(x);
	/* Interface id h = host h's IP interface. */
	for (unsigned h = 0; h < nhosts && rc == 0; h++)
		rc = add_iface(x, h, CT_LINKTYPE_ETHERNET);
	if (rc < 0) {
		if (!o->err)
			o->err = ENOMEM;
		return -1;
	}
	return 0;
}

static unsigned host_of(const struct ct_exporter *x, unsigned input)
{
	unsigned h = input < x->s.info->ninputs ? x->s.info->inputs[input].host_index : 0;
	unsigned nhosts = x->s.info->nhosts ? x->s.info->nhosts : 1;
	return h < nhosts ? h : 0;
}

/* EPB header for a packet of caplen bytes on interface id at time ns. */
static inline uint8_t *epb_head(uint8_t *p, unsigned id, uint64_t ns, size_t caplen)
{
	le32(p, BT_EPB);
	/* p + 4: total length, patched by epb_tail */
	le32(p + 8, id);
	le32(p + 12, (uint32_t)(ns >> 32));
	le32(p + 16, (uint32_t)ns);
	le32(p + 20, (uint32_t)caplen);
	le32(p + 24, (uint32_t)caplen);
	return p + 28;
}

/* A comment option of clen bytes (already at p + 4): its header and the
 * padding. Returns where the next option goes. */
static inline uint8_t *epb_comment(uint8_t *p, size_t clen)
{
	le16(p, OPT_COMMENT);
	le16(p + 2, (uint16_t)clen);
	le32(p + 4 + clen, 0); /* the padding; what spills over is rewritten */
	return p + 4 + pad4(clen);
}

/* epb_processid_threadid: the packet's process (its Process Information
 * Block precedes it, pcapng_proc.c) and thread. */
static inline uint8_t *epb_pidtid(uint8_t *p, uint32_t pid, uint32_t tid)
{
	le16(p, CT_EPB_PROCESSID_THREADID);
	le16(p + 2, 8);
	le32(p + 4, pid);
	le32(p + 8, tid);
	return p + 12;
}

/* The trailing length after the options that end at p. Returns the block
 * size. No epb_flags: the Ethernet addresses already say the direction
 * (02:..:01 is the traced host), and no opt_endofopt, which the spec lets
 * the block's end stand for: 12 bytes a packet that Wireshark would only
 * repeat. */
static inline size_t epb_tail(uint8_t *start, uint8_t *p)
{
	uint32_t total = (uint32_t)(p + 4 - start);
	le32(p, total);
	le32(start + 4, total);
	return total;
}

static void touch(struct iface *f, uint64_t ns)
{
	if (!f->packets++)
		f->first_ns = ns;
	f->last_ns = ns;
}

/* An EPB for a queued reply: its note, then its JSON for the plugin. */
static int reply_epb(struct ct_exporter *x, const struct ct_reply *r)
{
	size_t nlen = strnlen(r->note, sizeof(r->note));
	size_t jlen = strnlen(r->json, sizeof(r->json));
	uint8_t *start =
	    (uint8_t *)ct_out_reserve(x->s.out, 28 + CT_FRAME_MAX + 12 + 16 + nlen + jlen + 16);
	if (!start)
		return -1;
	uint8_t *pkt = start + 28;
	memcpy(pkt, r->frame, r->len);
	le32(pkt + r->len, 0); /* padding */
	epb_head(start, r->iface, r->ns, r->len);
	uint8_t *opt = epb_pidtid(pkt + pad4(r->len), r->pid, r->tid);
	memcpy(opt + 4, r->note, nlen);
	opt = epb_comment(opt, nlen);
	memcpy(opt + 4, r->json, jlen);
	opt = epb_comment(opt, jlen);
	ct_out_commit(x->s.out, epb_tail(start, opt));
	touch(&x->ifs[r->iface], r->ns);
	return 0;
}

/* Queued replies stamped at or before ns. */
static int flush_replies(struct ct_exporter *x, uint64_t ns)
{
	struct ct_reply r;
	while (ct_replies_pop(&x->pending, ns, &r))
		if (reply_epb(x, &r) < 0)
			return -1;
	return 0;
}

static int pcapng_event(struct ct_exporter *x, const struct ct_event *ev, unsigned input,
			int64_t wall_ns)
{
	/* The comment's slot is needed after the frame is built: fetch it now. */
	ct_comment_cache_prefetch(x->comments, ev);
	unsigned id = host_of(x, input);
	uint64_t ns = wall_ns > 0 ? (uint64_t)wall_ns : 0;
	const char *who;
	size_t len, who_len = 0, jmax;

	if (x->pending.n && flush_replies(x, ns) < 0)
		return -1;
	if (x->procs && ct_pcapng_pib(x->procs, &x->scratch, ev, id, ns) && flush_scratch(x) < 0)
		return -1;
	/* The event's JSON: the payload of a UNIX (non-IP) frame (the line of
	 * script --json), the plugin's comment on an IP one (ct_json_plugin).
	 * Its process part first, to know how much room it needs. */
	who = ct_json_who_cached(x->json, ev, ct_export_host(x->s.info, input), &who_len);
	if (!who) {
		x->s.out->err = ENOMEM;
		return -1;
	}
	jmax = ct_json_line_max(who_len) + ct_json_plugin_max(who_len);
	size_t need = 28 + CT_FRAME_MAX + 12 + 32 + jmax + 8 + ct_packet_comment_max(ev);
	uint8_t *start = (uint8_t *)ct_out_reserve(x->s.out, need);
	if (!start)
		return -1;
	uint8_t *pkt = start + 28;
	int ip = ct_packet_is_ip(ev);
	if (ip) {
		len = ct_packet_frame_ip(pkt, ev);
	} else {
		len = ct_packet_eth(pkt, CT_ETHERTYPE_CONNTRAIL, 0);
		len += ct_json_line((char *)pkt + len, x->json, ev, who, who_len, wall_ns);
	}
	le32(pkt + len, 0); /* padding: the options overwrite what spills over */
	epb_head(start, id, ns, len);
	uint8_t *opt = epb_pidtid(pkt + pad4(len), ev->task->pid, ev->tid);
	size_t clen = ct_packet_comment_cached(x->comments, (char *)opt + 4, ev);
	if (clen > 0xfff0)
		clen = 0xfff0;
	opt = epb_comment(opt, clen);
	if (ip) {
		/* Second comment: "conntrail/1 " and the JSON line, for the plugin. */
		char *j = (char *)opt + 4;
		memcpy(j, CT_PCAPNG_JSON_TAG, sizeof(CT_PCAPNG_JSON_TAG) - 1);
		size_t jlen = sizeof(CT_PCAPNG_JSON_TAG) - 1;
		/* The process part only where this thread's was not written yet. */
		jlen += ct_json_plugin(j + jlen, x->json, ev, who, who_len);
		if (jlen <= 0xfff0) /* else cut JSON: none */
			opt = epb_comment(opt, jlen);
	}
	ct_out_commit(x->s.out, epb_tail(start, opt));
	touch(&x->ifs[id], ns);

	struct ct_reply r;
	if (x->replies && ct_packet_reply(&r, ev, ns, id)) {
		r.pid = ev->task->pid;
		r.tid = ev->tid;
		if (ct_replies_push(&x->pending, &r) < 0) {
			x->s.out->err = ENOMEM;
			return -1;
		}
	}
	return 0;
}

static int pcapng_lost(struct ct_exporter *x, const struct ct_lost *l, unsigned input,
		       int64_t wall_ns)
{
	(void)wall_ns;
	x->ifs[host_of(x, input)].drops += l->count;
	return 0;
}

/* 1 when the pair of hash h was not written yet (and now counts as
 * written). A 64-bit hash: two pairs colliding would lose one record. */
static int nrb_new(struct ct_exporter *x, uint64_t h)
{
	h |= 1; /* 0 marks a free slot */
	if ((x->nrb_count + 1) * 2 > x->nrb_cap) {
		size_t cap = x->nrb_cap ? x->nrb_cap * 2 : 256;
		uint64_t *t = ct_xrealloc(NULL, cap * sizeof(*t));
		memset(t, 0, cap * sizeof(*t));
		for (size_t i = 0; i < x->nrb_cap; i++) {
			if (!x->nrb_seen[i])
				continue;
			size_t j = x->nrb_seen[i] & (cap - 1);
			while (t[j])
				j = (j + 1) & (cap - 1);
			t[j] = x->nrb_seen[i];
		}
		free(x->nrb_seen);
		x->nrb_seen = t;
		x->nrb_cap = cap;
	}
	size_t j = h & (x->nrb_cap - 1);
	while (x->nrb_seen[j]) {
		if (x->nrb_seen[j] == h)
			return 0;
		j = (j + 1) & (x->nrb_cap - 1);
	}
	x->nrb_seen[j] = h;
	x->nrb_count++;
	return 1;
}

static uint64_t pair_hash(const struct ct_name_addr *a, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ a->family;
	for (size_t i = 0; i < 16; i++)
		h = (h ^ a->addr[i]) * 0x100000001b3ULL;
	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	return h ^ (h >> 29);
}

/* A DNS answer: a Name Resolution Block with its address -> name pairs not
 * written before, so Wireshark shows the names (ip.dst_host, the resolved
 * columns). Written where the answer comes, before the packets that may
 * use it. */
static int pcapng_name(struct ct_exporter *x, const struct ct_name *n, unsigned input,
		       int64_t wall_ns)
{
	(void)input;
	(void)wall_ns;
	static const uint8_t zeros[4];
	struct ct_buf *b = &x->scratch;
	size_t at = b->len, nlen = strlen(n->name);
	int any = 0;
	for (uint32_t i = 0; i < n->naddrs; i++) {
		const struct ct_name_addr *a = &n->addrs[i];
		if ((a->family != 2 && a->family != 10) || !nrb_new(x, pair_hash(a, n->name)))
			continue;
		if (!any)
			at = b_begin(b, BT_NRB);
		any = 1;
		size_t alen = a->family == 2 ? 4 : 16, len = alen + nlen + 1;
		uint16_t h[2] = {a->family == 2 ? NRB_IPV4 : NRB_IPV6, (uint16_t)len};
		ct_buf_put(b, h, 4);
		ct_buf_put(b, a->addr, alen);
		ct_buf_put(b, n->name, nlen + 1);
		ct_buf_put(b, zeros, pad4(len) - len);
	}
	if (!any)
		return 0;
	uint16_t end[2] = {NRB_END, 0};
	ct_buf_put(b, end, 4);
	b_end(b, at); /* no options: opt_endofopt, then the length */
	return flush_scratch(x);
}

/* The replies still due and the statistics, before out is flushed. */
static int pcapng_finish(struct ct_exporter *x)
{
	int rc = 0;

	if (!x->s.out->err && flush_replies(x, UINT64_MAX) < 0)
		rc = -1;
	if (!x->s.out->err) {
		for (unsigned i = 0; i < x->nifs; i++)
			isb(x, i);
		rc = flush_scratch(x);
	}
	return rc;
}

const struct ct_export_ops ct_pcapng_ops = {
    .size = sizeof(struct ct_exporter),
    .start = pcapng_start,
    .event = pcapng_event,
    .lost = pcapng_lost,
    .on_name = pcapng_name,
    .finish = pcapng_finish,
    .release = pcapng_release,
};
