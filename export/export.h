/* SPDX-License-Identifier: MIT */
/*
 * export.h: the output formats of `conntrail convert`, one file each
 * (pcapng.c, pcap.c, csv.c, jsonl.c, tracee.c, clickhouse.c) behind one small sink
 * interface and listed in one table (formats.c), plus the buffered output
 * (out.c) and the packet builder (packet.c) and packet text (comment.c) they share.
 *
 * A sink is driven as: ct_export_open(info) -> event()/lost()/on_name() in
 * time order -> ct_export_close(). Sinks never print; they return -1 and
 * leave errno in out->err.
 */
#ifndef CONNTRAIL_EXPORT_EXPORT_H
#define CONNTRAIL_EXPORT_EXPORT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "format/ctrace.h"
#include "lib/strbuf.h"

/* ------------------------------------------------------------ output */

/* One big buffer in front of a file descriptor: no syscall per event. */
struct ct_out {
	int fd;
	char *buf;
	size_t len, cap;
	uint64_t bytes;		      /* written so far (direct mode: as of its end) */
	uint64_t direct_after;	      /* go direct once this much is out; 0 never */
	int err;		      /* errno of the first failure, 0 if none */
	struct ct_out_direct *direct; /* NULL: plain write(2) from this thread */
};

/* cap 0 picks the default (256 KiB). 0 on success, -1 out of memory. */
int ct_out_init(struct ct_out *o, int fd, size_t cap);
/* As fd: a buffer that grows instead of being written, whose bytes the
 * owner takes (a part formatted on another thread, cmd/parfmt.h); its
 * flush writes nothing. */
#define CT_OUT_MEMORY (-1)
/* Direct mode, for a regular file at a 4 KiB offset: full buffers go out
 * with O_DIRECT from a background thread (no page-cache copy; the disk
 * works while events are converted). 0, or -1 when the file or its
 * filesystem does not allow it (plain writes then; nothing is lost). */
int ct_out_direct(struct ct_out *o);
/* Direct mode once `bytes` went out plainly (the file from offset 0): a
 * small output stays in the page cache and never pays for the buffers. */
void ct_out_direct_after(struct ct_out *o, uint64_t bytes);
/* Write the buffer out (and leave direct mode). 0, or -1 with o->err set
 * (sticky). */
int ct_out_flush(struct ct_out *o);
/* Flush and free the buffer; does not close fd. */
int ct_out_finish(struct ct_out *o);
void ct_out_free(struct ct_out *o);
/* Room for n more bytes (flushing when needed; grows for huge n).
 * NULL on failure. Follow with ct_out_commit(o, bytes_used). */
char *ct_out_reserve_slow(struct ct_out *o, size_t n);
static inline char *ct_out_reserve(struct ct_out *o, size_t n)
{
	if (o->cap - o->len >= n)
		return o->buf + o->len;
	return ct_out_reserve_slow(o, n);
}
static inline void ct_out_commit(struct ct_out *o, size_t n)
{
	o->len += n;
}
static inline int ct_out_write(struct ct_out *o, const void *p, size_t n)
{
	char *d = ct_out_reserve(o, n);
	if (!d)
		return -1;
	memcpy(d, p, n);
	o->len += n;
	return 0;
}

/* Decimal text of v at d; returns the number of bytes written (<= 20). */
size_t ct_u64_dec(char *d, uint64_t v);
size_t ct_i64_dec(char *d, int64_t v);
/* "10.0.0.1" at d (16 bytes), NUL-terminated; returns the length. glibc's
 * inet_ntop goes through sprintf for IPv4, far slower per call. */
size_t ct_ipv4_text(char *d, const uint8_t a[4]);
/* An IPv6 address at d (46 bytes) as glibc's inet_ntop spells it,
 * NUL-terminated; returns the length. inet_ntop takes a sprintf a group. */
size_t ct_ipv6_text(char *d, const uint8_t a[16]);
/* ct_ipv4_text for family 2 (AF_INET on Linux), else ct_ipv6_text. */
size_t ct_ip_text(char *d, uint16_t family, const uint8_t *a);

/* ------------------------------------------------------------- sinks */

struct ct_export_input {
	const char *path;
	const struct ct_header *hdr;
	unsigned host_index; /* inputs with the same hostname share it */
};

struct ct_export_info {
	unsigned ninputs;
	const struct ct_export_input *inputs;
	unsigned nhosts;     /* host_index < nhosts */
	const char *cmdline; /* this conversion's command line (pcapng header) */
	int replies;	     /* pcapng/pcap: add a synthesized reply packet where the
				outcome is known (SYN/ACK, RST/ACK, ICMP unreachable) */
	int csv_raw;	     /* csv: text cells as they are, formulas not neutralised */
	int process_info;    /* pcapng: Process Information Blocks (pcapng_proc.c) */
};

struct ct_exporter;

/* What every sink's state begins with (as its first member, s): the output
 * it writes to and the conversion it belongs to, which ct_export_open sets,
 * and a buffer for one event's text, which ct_export_close frees. */
struct ct_sink {
	struct ct_out *out;
	const struct ct_export_info *info;
	struct ct_buf line;
};

/* How a format writes: one per exporter file (ct_NAME_ops). */
struct ct_export_ops {
	size_t size; /* of its struct ct_exporter, zeroed by ct_export_open */
	/* Optional: header and resources, once the sink is set. On -1 (errno
	 * in out->err) release runs and the open fails. */
	int (*start)(struct ct_exporter *x);
	/* wall_ns: the event's wall-clock time; ev->proc is set. */
	int (*event)(struct ct_exporter *x, const struct ct_event *ev, unsigned input,
		     int64_t wall_ns);
	/* Optional: NULL where the format has nowhere to keep lost counts
	 * (pcap, CSV; JSON lines and Tracee print connects only). */
	int (*lost)(struct ct_exporter *x, const struct ct_lost *l, unsigned input,
		    int64_t wall_ns);
	/* Optional: a DNS answer (pcapng: Name Resolution Blocks). */
	int (*on_name)(struct ct_exporter *x, const struct ct_name *n, unsigned input,
		       int64_t wall_ns);
	/* Optional: the trailer (pcapng statistics), before out is flushed. */
	int (*finish)(struct ct_exporter *x);
	/* Optional: free what start took (not x itself); runs on every close. */
	void (*release)(struct ct_exporter *x);
	/* 1: event() reads nothing another event changes, so events may be
	 * formatted by several sinks of the format on several threads and
	 * their bytes put one after another (ct_export_open_part). */
	int parallel;
};

/* An output format: a row of the table in formats.c. */
struct ct_export_format {
	const char *name;	     /* the --to spelling */
	const char *const *suffixes; /* file names it is chosen by, longest first */
	const char *help;	     /* one line for --help */
	int replies;		     /* takes --replies */
	const struct ct_export_ops *ops;
};

/* A zeroed sink of f on out, started. 0, or -1 with out->err set. */
int ct_export_open(const struct ct_export_format *f, struct ct_exporter **x, struct ct_out *out,
		   const struct ct_export_info *info);
/* The trailer, the flush of out and the free of x; also after an error.
 * 0, or -1 with out->err set. */
int ct_export_close(const struct ct_export_format *f, struct ct_exporter *x);
/* For a parallel format: another sink on out (CT_OUT_MEMORY) that formats
 * events as the first one would; what its start wrote (the header, which
 * is the first sink's) is dropped. 0, or -1 with out->err set. */
int ct_export_open_part(const struct ct_export_format *f, struct ct_exporter **x,
			struct ct_out *out, const struct ct_export_info *info);
/* A part's free: no trailer, no flush. */
void ct_export_drop(const struct ct_export_format *f, struct ct_exporter *x);

/* Every format, in the order --help lists them; ends with a NULL name. */
extern const struct ct_export_format ct_export_formats[];
/* By --to name, or NULL. */
const struct ct_export_format *ct_export_by_name(const char *name);
/* By output file name (the formats' suffixes, longest match), or NULL. */
const struct ct_export_format *ct_export_by_path(const char *path);
/* "pcapng, pcap, csv, jsonl, tracee-json" for messages. */
const char *ct_export_names(void);
/* The host an event of input came from, as script --json names it: the
 * header's hostname, NULL when it has none. */
const char *ct_export_host(const struct ct_export_info *info, unsigned input);

/* ----------------------------------------------------------- packets */

/*
 * Frames are Ethernet (LINKTYPE_ETHERNET): one link type for every packet,
 * which libpcap (and so tcpdump) requires of a pcapng file, and which lets
 * UNIX connects travel beside IP ones. Addresses are fixed, locally
 * administered: 02:00:00:00:00:01 = the tracing host, :02 = the peer.
 * IP connects carry ethertype IPv4/IPv6; UNIX and other families carry
 * CT_ETHERTYPE_CONNTRAIL (IEEE 802 Local Experimental Ethertype 1) with the
 * event's JSON line (the bytes of `script --json`) as payload.
 */
#define CT_LINKTYPE_ETHERNET 1
/* pcapng: a packet's second comment is this tag and a JSON object, the form
 * the Wireshark plugin (share/wireshark/conntrail.lua) reads; see
 * man/conntrail-convert.1, "PCAPNG FOR WIRESHARK". */
#define CT_PCAPNG_JSON_TAG "conntrail/1 "
#define CT_ETHERTYPE_CONNTRAIL 0x88B5
#define CT_ETH_HLEN 14

/* Largest IP packet ct_packet_ip builds (IPv6 + TCP with SYN options). */
#define CT_PACKET_IP_MAX 80
/* Largest frame ct_packet_frame_ip / _reply build. */
#define CT_FRAME_MAX (CT_ETH_HLEN + 2 * CT_PACKET_IP_MAX)

/* Does the event have an IP form (AF_INET/AF_INET6)? */
static inline int ct_packet_is_ip(const struct ct_event *ev)
{
	return ev->dest->family == 2 || ev->dest->family == 10;
}

/* Ethernet header; inbound = sent by the peer. Returns CT_ETH_HLEN. */
size_t ct_packet_eth(uint8_t *p, uint16_t ethertype, int inbound);

/* The connect as one IP packet at p (CT_PACKET_IP_MAX bytes of room):
 * destination = the remote address, source = the local address the kernel
 * chose when the trace has it, else the loopback address for a loopback
 * destination, else the unspecified one (0.0.0.0 / ::); then a TCP SYN with
 * the options of a Linux SYN (MSS, SACK-permitted, timestamps, window
 * scale), a UDP header, an ICMP echo request (ping sockets) or nothing, with
 * correct checksums. Returns its length. */
size_t ct_packet_ip(uint8_t *p, const struct ct_event *ev);

/* A reply the peer (or a router) sent, when the outcome says one came over
 * the network: SYN/ACK on success, RST/ACK on ECONNREFUSED, ICMP
 * unreachable (from the unspecified address: the trace does not know the
 * router) on EHOSTUNREACH/ENETUNREACH of a handshake that connect(2) left
 * in progress. Nothing for an error connect(2) returned itself (no route,
 * EACCES/EPERM, ...), a timeout, an abandoned handshake, UDP or UNIX.
 * Returns its length, 0 when there is none.
 * p needs 2 * CT_PACKET_IP_MAX bytes (ICMP quotes the original packet). */
size_t ct_packet_ip_reply(uint8_t *p, const struct ct_event *ev);

/* Replies are stamped when the outcome came (ts + result_ns), later than
 * the connects that follow: they wait here, in time order, until the
 * stream of connects passes their time, so a capture stays in time order. */
struct ct_reply {
	uint64_t ns;
	unsigned iface;
	uint32_t pid, tid; /* pcapng: whose reply (epb_processid_threadid) */
	uint16_t len;
	uint8_t frame[CT_FRAME_MAX];
	char note[192]; /* packet comment: "synthesized by conntrail ..." */
	char json[256]; /* second comment: CT_PCAPNG_JSON_TAG + a JSON object */
};
struct ct_replies {
	struct ct_reply *heap;
	size_t n, cap;
};
/* 0, or -1 out of memory. */
int ct_replies_push(struct ct_replies *q, const struct ct_reply *r);
/* The earliest reply stamped at or before ns: 1 and *out, else 0. */
int ct_replies_pop(struct ct_replies *q, uint64_t ns, struct ct_reply *out);
void ct_replies_free(struct ct_replies *q);
/* The reply to ev, if its outcome implies one, as a queued frame stamped
 * wall_ns + result_ns: 1 and *r filled, else 0. */
int ct_packet_reply(struct ct_reply *r, const struct ct_event *ev, uint64_t wall_ns,
		    unsigned iface);

/* The same two as Ethernet frames (CT_FRAME_MAX bytes of room). */
size_t ct_packet_frame_ip(uint8_t *p, const struct ct_event *ev);
size_t ct_packet_frame_ip_reply(uint8_t *p, const struct ct_event *ev);

/* The source port written for ev: the bound one when known, else a stable
 * ephemeral port derived from (pid, sockfd) so one socket = one stream. */
uint16_t ct_packet_sport(const struct ct_event *ev);

/* Packet comment "pid=1234 tid=1234 comm=curl exe=/usr/bin/curl uid=1000
 * container=0123456789ab sockfd=3 result=ECONNREFUSED latency_ns=1200
 * path=/run/x.sock" at d (keys absent when unknown; a hex container id is
 * cut to 12 digits); returns its length. Needs ct_packet_comment_max(proc)
 * bytes. Bytes other than printable ASCII (space included) become \xNN;
 * exe and container stop at 4096 bytes. */
size_t ct_packet_comment(char *d, const struct ct_event *ev);
size_t ct_packet_comment_max(const struct ct_event *ev);

/* The same comment with its per-thread part ("pid=.. tid=.. comm=.. exe=..
 * uid=.. container=..") kept from an earlier packet of that thread and
 * process-table entry (ct_procinfo.serial), so a packet costs only its own
 * keys. A proc with serial 0 but strings is built uncached; c NULL too. */
struct ct_comment_cache;
struct ct_comment_cache *ct_comment_cache_new(void); /* NULL: out of memory */
void ct_comment_cache_free(struct ct_comment_cache *c);
size_t ct_packet_comment_cached(struct ct_comment_cache *c, char *d, const struct ct_event *ev);
/* Start loading ev's cache slot, to be used a little later. */
void ct_comment_cache_prefetch(struct ct_comment_cache *c, const struct ct_event *ev);

/* The JSON line of a non-IP event (the payload of its 0x88b5 frame), the
 * bytes of ct_fmt_json_event without the '\n', in two steps: the part
 * naming the process (",\"host\":.." up to the container; cached per thread
 * as above; NULL when out of memory), then the line around it at d, which
 * needs ct_json_line_max(who_len) bytes. */
struct ct_json_cache;
struct ct_json_cache *ct_json_cache_new(void);
void ct_json_cache_free(struct ct_json_cache *c);
const char *ct_json_who_cached(struct ct_json_cache *c, const struct ct_event *ev, const char *host,
			       size_t *len);
size_t ct_json_line_max(size_t who_len);
/* The pcapng plugin JSON of an IP frame (after CT_PCAPNG_JSON_TAG), at d:
 * {"pid":..,"tid":..,"comm":..} then, unless the last ct_json_who_cached
 * call on c found the thread's text cached, the process part (who, as it
 * gave it), then the connect's own outcome keys: sockfd, saddr, sport,
 * ret, latency_ns, result, result_ns, outcome, closed_ns, tx_bytes,
 * rx_bytes, still_open. Needs ct_json_plugin_max(). */
size_t ct_json_plugin(char *d, const struct ct_json_cache *c, const struct ct_event *ev,
		      const char *who, size_t who_len);
size_t ct_json_plugin_max(size_t who_len);
size_t ct_json_line(char *d, struct ct_json_cache *c, const struct ct_event *ev, const char *who,
		    size_t who_len, int64_t wall_ns);

#endif
