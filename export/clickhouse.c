/* SPDX-License-Identifier: MIT */
/*
 * clickhouse.c: ClickHouse's RowBinary, one row per connect, in the column
 * order of conntrail.connects (share/clickhouse/schema.sql), for
 *
 *   conntrail convert x.ctr --to clickhouse -o - |
 *       clickhouse-client --query 'INSERT INTO conntrail.connects FORMAT RowBinary'
 *
 * RowBinary, not TabSeparated or JSONEachRow: every value goes in as the
 * binary of its column type, so nothing is parsed, escaped or rounded on
 * either side, an address goes straight into FixedString(16) (JSON's text
 * would need a second, String-typed table and a conversion) and NULL is a
 * byte, not an absent key. It is also less than half the bytes of the
 * JSON lines (207 vs 449 MB for 1 M generated connects). The load speed
 * is the server's: on ClickHouse 18.16, 2 cores, both load about 180 k
 * rows/s (bench/run.sh, part p7, measures them side by side).
 *
 * Encoding (ClickHouse's, little-endian): integers as their fixed width;
 * String as a LEB128 length and the bytes; FixedString(16) as 16 bytes;
 * Nullable(T) as one byte, 1 for NULL (no value follows) or 0 and the T.
 *
 * The columns are the keys of `script --json`, with the same meaning:
 * - a key that JSON leaves out when unknown is NULL here (ret, latency_ns,
 *   result, result_ns, saddr, sport, closed_ns, tx_bytes, rx_bytes); the
 *   strings exe, cmdline, container, path, dname, container_name, image,
 *   pod and k8s_namespace, and type and proto, are '' when unknown (an executable path or a UNIX
 * path is never empty);
 * - family, type and proto are spelled as JSON spells them ("AF_INET",
 *   "SOCK_STREAM", "tcp", or the number as text);
 * - daddr and saddr are FixedString(16): an IPv6 address as it is, an IPv4
 *   one as its IPv4-mapped form (::ffff:a.b.c.d), so one column sorts and
 *   filters both (IPv6StringToNum, IPv6NumToString, IPv4ToIPv6); sixteen
 *   zero bytes for other families;
 * - ts_ns is the wall-clock time in ns since the epoch, 0 when the trace
 *   puts it out of range (JSON says "out-of-range" there).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "export/eventfmt.h"
#include "export/export.h"
#include "lib/names.h"

struct ct_exporter {
	struct ct_sink s;
};

/* Little-endian fixed-width integers at d; each returns its width. */
static size_t put_u8(char *d, uint8_t v)
{
	d[0] = (char)v;
	return 1;
}

static size_t put_u16(char *d, uint16_t v)
{
	d[0] = (char)v;
	d[1] = (char)(v >> 8);
	return 2;
}

static size_t put_u32(char *d, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		d[i] = (char)(v >> (8 * i));
	return 4;
}

static size_t put_u64(char *d, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		d[i] = (char)(v >> (8 * i));
	return 8;
}

/* A String: LEB128 length (at most 10 bytes), then the n bytes. */
static size_t put_str(char *d, const char *s, size_t n)
{
	size_t o = 0;
	uint64_t len = n;
	do {
		uint8_t b = len & 0x7f;
		len >>= 7;
		d[o++] = (char)(len ? b | 0x80 : b);
	} while (len);
	if (n)
		memcpy(d + o, s, n);
	return o + n;
}

static size_t put_cstr(char *d, const char *s)
{
	return put_str(d, s, s ? strlen(s) : 0);
}

/* Nullable(UInt64) / Nullable(Int32) / Nullable(UInt16). */
static size_t put_opt_u64(char *d, int present, uint64_t v)
{
	if (!present)
		return put_u8(d, 1);
	put_u8(d, 0);
	return 1 + put_u64(d + 1, v);
}

static size_t put_opt_i32(char *d, int present, int32_t v)
{
	if (!present)
		return put_u8(d, 1);
	put_u8(d, 0);
	return 1 + put_u32(d + 1, (uint32_t)v);
}

/* An address as FixedString(16): IPv6 as is, IPv4 mapped. */
static size_t put_addr(char *d, uint16_t family, const uint8_t a[16])
{
	memset(d, 0, 16);
	if (family == 2) {
		d[10] = d[11] = (char)0xff;
		memcpy(d + 12, a, 4);
	} else if (family == 10) {
		memcpy(d, a, 16);
	}
	return 16;
}

/* A name from a table, else the number as text (JSON's spelling); '' for 0. */
static size_t put_name(char *d, const char *name, uint16_t v)
{
	char num[8];
	if (!v)
		return put_str(d, "", 0);
	if (name)
		return put_cstr(d, name);
	return put_str(d, num, ct_u64_dec(num, v));
}

/* Room one row needs beyond its four free-length strings. */
#define ROW_FIXED 640

static int ch_event(struct ct_exporter *x, const struct ct_event *ev, unsigned input,
		    int64_t wall_ns)
{
	static const struct ct_procinfo none;
	const struct ct_procinfo *proc = ev->proc ? ev->proc : &none;
	const struct ct_dest *t = ev->dest;
	const char *host = ct_export_host(x->s.info, input);
	size_t hlen = host ? strlen(host) : 0;
	size_t elen = proc->exe ? strlen(proc->exe) : 0;
	size_t mlen = proc->cmdline ? strlen(proc->cmdline) : 0;
	size_t clen = proc->container ? strlen(proc->container) : 0;
	size_t nlen = 0; /* the container's names */
	for (int i = 0; i < CT_CTR_N; i++)
		nlen += proc->ctr[i] ? 10 + strlen(proc->ctr[i]) : 10;
	char *d =
	    ct_out_reserve(x->s.out, ROW_FIXED + hlen + elen + mlen + clen + nlen + CT_NAME_MAX);
	size_t o = 0;
	int inet = t->family == 2 || t->family == 10;
	uint16_t fl = ev->flags;

	if (!d)
		return -1;
	o += put_u64(d + o, ct_wall_bad(wall_ns) || wall_ns < 0 ? 0 : (uint64_t)wall_ns);
	o += put_str(d + o, host, hlen);
	o += put_u32(d + o, ev->task->pid);
	o += put_u32(d + o, ev->tid);
	o += put_u32(d + o, ev->task->ppid);
	o += put_u32(d + o, ev->task->uid);
	o += put_u32(d + o, ev->task->gid);
	o += put_str(d + o, ev->task->comm, strnlen(ev->task->comm, CT_COMM_LEN));
	o += put_str(d + o, proc->exe, elen);
	o += put_str(d + o, proc->cmdline, mlen);
	o += put_u64(d + o, ev->task->cgroup_id);
	o += put_str(d + o, proc->container, clen);
	o += put_u32(d + o, (uint32_t)ev->sockfd);

	char fam[16];
	o += put_str(d + o, fam, ct_family_text(fam, sizeof(fam), t->family));
	o += put_name(d + o, ct_type_name(t->type), t->type);
	o += put_name(d + o, ct_proto_short(t->proto), t->proto);
	o += put_addr(d + o, t->family, t->daddr);
	o += put_u32(d + o, t->family == 10 ? t->scope_id : 0);
	o += put_u16(d + o, inet ? t->dport : 0);
	if (inet && (fl & CT_EV_SADDR)) {
		o += put_u8(d + o, 0);
		o += put_addr(d + o, t->family, ev->saddr);
		o += put_u8(d + o, 0);
		o += put_u16(d + o, ev->sport);
	} else {
		o += put_u8(d + o, 1);
		o += put_u8(d + o, 1);
	}

	/* path as JSON's text has it: an abstract name's NUL as '@' */
	size_t n = 0;
	int abstract = 0;
	if (t->family == 1) {
		n = t->path_len < CT_UNIX_PATH_MAX ? t->path_len : CT_UNIX_PATH_MAX;
		abstract = (fl & CT_EV_ABSTRACT) && n > 0 && t->path[0] == '\0';
	}
	if (abstract) {
		char name[CT_UNIX_PATH_MAX];
		name[0] = '@';
		memcpy(name + 1, t->path + 1, n - 1);
		o += put_str(d + o, name, n);
	} else {
		o += put_str(d + o, t->path, n);
	}
	o += put_u8(d + o, (uint8_t)abstract);

	o += put_opt_i32(d + o, fl & CT_EV_RET, ev->ret);
	o += put_opt_u64(d + o, fl & CT_EV_LATENCY, ev->latency_ns);
	o += put_opt_i32(d + o, fl & CT_EV_RESULT, ev->result);
	o += put_opt_u64(d + o,
			 (fl & (CT_EV_RESULT | CT_EV_ABANDONED)) &&
			     (ev->result_ns || (fl & CT_EV_ABANDONED)),
			 ev->result_ns);
	o += put_cstr(d + o, ct_fmt_result(ev));
	o += put_opt_u64(d + o, fl & CT_EV_CLOSED, ev->closed_ns);
	o += put_opt_u64(d + o, fl & CT_EV_CLOSED, ev->tx_bytes);
	o += put_opt_u64(d + o, fl & CT_EV_CLOSED, ev->rx_bytes);
	o += put_u8(d + o, (fl & CT_EV_OPEN) != 0);
	o += put_cstr(d + o, ev->dname);   /* added after the others, */
	for (int i = 0; i < CT_CTR_N; i++) /* and the container's names after it */
		o += put_cstr(d + o, proc->ctr[i]);
	ct_out_commit(x->s.out, o);
	return 0;
}

const struct ct_export_ops ct_clickhouse_ops = {
    .size = sizeof(struct ct_exporter),
    .event = ch_event,
    .parallel = 1,
};
