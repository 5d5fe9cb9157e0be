/* SPDX-License-Identifier: MIT */
/*
 * pcap.c: classic pcap through libpcap itself (pcap_open_dead with
 * nanosecond precision, pcap_dump): the same Ethernet frames as the pcapng
 * export (export.h), UNIX connects included, without the comments and
 * statistics classic pcap has no room for.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "export/eventfmt.h"
#include "export/export.h"

#define PCAP_SNAPLEN 262144 /* tcpdump's default, as in the pcapng IDB */

struct ct_exporter {
	struct ct_sink s;
	pcap_t *dead;
	pcap_dumper_t *dumper;
	FILE *file;
	char *fbuf;
	int replies;
	struct ct_replies pending; /* replies not yet due */
};

static void pcap_release(struct ct_exporter *x)
{
	if (x->dumper)
		pcap_dump_close(x->dumper); /* closes x->file */
	else if (x->file)
		fclose(x->file);
	if (x->dead)
		pcap_close(x->dead);
	free(x->fbuf);
	ct_replies_free(&x->pending);
}

static int pcap_start(struct ct_exporter *x)
{
	struct ct_out *o = x->s.out;

	x->replies = x->s.info->replies;
	/* libpcap writes through stdio: give it its own descriptor and a big
	 * buffer so that packets do not cost a syscall each. The flush also
	 * ends ct_out's direct mode: stdio's writes are not block-aligned. */
	if (ct_out_flush(o) < 0)
		return -1;
	int fd = dup(o->fd);
	if (fd < 0 || !(x->file = fdopen(fd, "wb"))) {
		o->err = errno;
		if (fd >= 0)
			close(fd);
		return -1;
	}
	x->fbuf = malloc(1u << 20);
	if (x->fbuf)
		setvbuf(x->file, x->fbuf, _IOFBF, 1u << 20);
	x->dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, PCAP_SNAPLEN,
						       PCAP_TSTAMP_PRECISION_NANO);
	if (!x->dead) {
		o->err = ENOMEM;
		return -1;
	}
	x->dumper = pcap_dump_fopen(x->dead, x->file);
	if (!x->dumper) {
		o->err = errno ? errno : EIO;
		return -1;
	}
	return 0;
}

static void dump(struct ct_exporter *x, const uint8_t *pkt, size_t len, uint64_t ns)
{
	struct pcap_pkthdr h;
	h.ts.tv_sec = (time_t)(ns / 1000000000u);
	h.ts.tv_usec = (suseconds_t)(ns % 1000000000u); /* nanoseconds at this precision */
	h.caplen = h.len = (bpf_u_int32)len;
	pcap_dump((u_char *)x->dumper, &h, pkt);
}

/* Queued replies stamped at or before ns (pcap keeps no comment). */
static void flush_replies(struct ct_exporter *x, uint64_t ns)
{
	struct ct_reply r;
	while (ct_replies_pop(&x->pending, ns, &r))
		dump(x, r.frame, r.len, r.ns);
}

static int pcap_sink_event(struct ct_exporter *x, const struct ct_event *ev, unsigned input,
			   int64_t wall_ns)
{
	uint8_t pkt[CT_FRAME_MAX];
	uint64_t ns = wall_ns > 0 ? (uint64_t)wall_ns : 0;
	struct ct_reply r;

	flush_replies(x, ns);
	if (ct_packet_is_ip(ev)) {
		dump(x, pkt, ct_packet_frame_ip(pkt, ev), ns);
		if (x->replies && ct_packet_reply(&r, ev, ns, 0) &&
		    ct_replies_push(&x->pending, &r) < 0) {
			x->s.out->err = ENOMEM;
			return -1;
		}
	} else {
		/* Ethernet header then the JSON line, as in the pcapng export. */
		x->s.line.len = 0;
		ct_buf_put(&x->s.line, pkt, ct_packet_eth(pkt, CT_ETHERTYPE_CONNTRAIL, 0));
		ct_fmt_json_event(&x->s.line, ev, wall_ns, ct_export_host(x->s.info, input));
		dump(x, (const uint8_t *)x->s.line.p, x->s.line.len - 1, ns);
	}
	if (ferror(x->file)) {
		x->s.out->err = errno ? errno : EIO;
		return -1;
	}
	return 0;
}

/* libpcap's trailer-less file: flushed and closed here, before release. */
static int pcap_finish(struct ct_exporter *x)
{
	int rc = 0;

	flush_replies(x, UINT64_MAX);
	if (pcap_dump_flush(x->dumper) < 0 || ferror(x->file)) {
		x->s.out->err = errno ? errno : EIO;
		rc = -1;
	}
	pcap_dump_close(x->dumper);
	x->dumper = NULL;
	x->file = NULL;
	return rc;
}

const struct ct_export_ops ct_pcap_ops = {
    .size = sizeof(struct ct_exporter),
    .start = pcap_start,
    .event = pcap_sink_event,
    .finish = pcap_finish,
    .release = pcap_release,
};
