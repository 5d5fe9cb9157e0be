/* SPDX-License-Identifier: MIT */
/*
 * cmd_script.c: `conntrail script`, one line per event.
 *
 * Default columns: UTC wall-clock time with microseconds (RFC 3339, so a
 * line means the same on every machine), [host,] comm/pid, family,
 * destination, result, latency when known. --relative shows seconds since
 * the earliest trace start instead. --json writes ct_fmt_json_event lines,
 * byte-identical to `convert --to jsonl`.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cli/cli.h"
#include "export/eventfmt.h"
#include "export/export.h"
#include "lib/names.h"
#include "lib/text.h"
#include "lib/util.h"
#include "cmd/parfmt.h"
#include "cmd/sessopt.h"
#include "session/session.h"

#define FLUSH_AT (1u << 20)

/* The UTC text of the second last formatted: consecutive events share it
 * and gmtime is the slow step. One per formatting thread. */
struct sec_cache {
	int64_t sec;
	int valid;
	char text[48];
};

/* What part k of a batch writes its lines with (parfmt.h). */
struct part {
	struct ct_buf out;
	struct sec_cache sc;
};

struct script {
	struct ct_session *s;
	struct ct_session_opts *opts; /* while parsing options */
	struct ct_buf out;
	int json, relative, show_host, stats;
	int lost_json;	/* --lost: lost records as JSON lines too */
	int exits_json; /* --exits: exits as JSON lines too */
	/* (host, pid) of the processes shown, whose exits are shown too */
	uint64_t *shown, last_shown;
	size_t shown_cap, shown_n;
	int64_t base_wall;
	struct sec_cache sec; /* the calling thread's */
	struct parfmt *pf;    /* --jobs > 1: formatting threads; NULL: this one */
	struct part *parts;   /* [k]: part k's (0: the calling thread) */
	int write_failed;     /* 1: EPIPE (quiet), 2: other error (reported) */
	uint64_t events;
};

/* All of iov[0..n) to standard output (iov is used up). 0, or -1: a
 * closed pipe ends the output quietly, another error is said. */
static int write_iov(struct script *sc, struct iovec *iov, unsigned n)
{
	while (n) {
		ssize_t w = writev(STDOUT_FILENO, iov, (int)n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE) {
				sc->write_failed = 1;
			} else {
				sc->write_failed = 2;
				ct_err("writing output: %s", strerror(errno));
			}
			return -1;
		}
		size_t left = (size_t)w;
		for (; n && left >= iov->iov_len; iov++, n--)
			left -= iov->iov_len;
		if (n) { /* a short write: the rest of this one */
			iov->iov_base = (char *)iov->iov_base + left;
			iov->iov_len -= left;
		}
	}
	return 0;
}

static int flush_out(struct script *sc)
{
	struct iovec iov = {sc->out.p, sc->out.len};
	int rc = write_iov(sc, &iov, sc->out.len ? 1 : 0);
	sc->out.len = 0;
	return rc;
}

static int on_begin(void *ctx, struct ct_session *s)
{
	struct script *sc = ctx;
	sc->s = s;
	sc->show_host = ct_session_nhosts(s) > 1;
	sc->base_wall = ct_session_start_wall(s);
	/* Formatting is most of script's time: on --jobs threads. */
	if ((sc->pf = parfmt_new(ct_session_jobs(s))))
		sc->parts = ct_xcalloc(parfmt_jobs(sc->pf), sizeof(*sc->parts));
	return 0;
}

static void fmt_latency_printf(char *buf, size_t size, uint64_t ns)
{
	if (ns < 1000)
		snprintf(buf, size, "%lluns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(buf, size, "%.1fus", (double)ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, size, "%.2fms", (double)ns / 1e6);
	else
		snprintf(buf, size, "%.3fs", (double)ns / 1e9);
}

/* A string literal at p: its length known at compile time. */
#define put_lit(p, lit) ((char *)memcpy((p), (lit), sizeof(lit) - 1) + sizeof(lit) - 1)

/*
 * The latency as fmt_latency_printf writes it, without printf: ns scaled
 * to the unit and rounded to `digits` decimals in integers. That is the
 * rounding printf does on the double ns / unit except at an exact tie
 * (the double may sit on either side of it) and for huge values: those
 * go through printf.
 */
static char *put_latency(char *p, uint64_t ns)
{
	static const struct {
		uint64_t below, div, pow;
		const char *unit;
	} steps[] = {
	    {1000000, 100, 10, "us"}, {1000000000, 10000, 100, "ms"}, {0, 1000000, 1000, "s"}};
	if (ns < 1000) {
		p += ct_u64_dec(p, ns);
		memcpy(p, "ns", 2);
		return p + 2;
	}
	for (size_t i = 0; i < 3; i++) {
		if (steps[i].below && ns >= steps[i].below)
			continue;
		uint64_t q = ns / steps[i].div, r = ns % steps[i].div;
		if (r * 2 == steps[i].div || ns >= (1ULL << 50))
			break;
		q += r * 2 > steps[i].div;
		p += ct_u64_dec(p, q / steps[i].pow);
		*p++ = '.';
		uint64_t frac = q % steps[i].pow;
		for (uint64_t d = steps[i].pow / 10; d; d /= 10) {
			*p++ = (char)('0' + frac / d);
			frac %= d;
		}
		size_t n = strlen(steps[i].unit);
		memcpy(p, steps[i].unit, n);
		return p + n;
	}
	char buf[48];
	fmt_latency_printf(buf, sizeof(buf), ns);
	size_t n = strlen(buf);
	memcpy(p, buf, n);
	return p + n;
}

/* The text n bytes at s, left-aligned in width columns, then one blank. */
static char *put_col(char *p, const char *s, size_t n, size_t width)
{
	memcpy(p, s, n);
	p += n;
	if (n < width) {
		memset(p, ' ', width - n);
		p += width - n;
	}
	*p++ = ' ';
	return p;
}

/* "[addr]:port" or "[addr%scope]:port" as ct_fmt_dest writes it. */
static size_t fmt_inet6(char *buf, const struct ct_event *ev)
{
	char *p = buf;
	*p++ = '[';
	p += ct_ipv6_text(p, ev->dest->daddr);
	if (ev->dest->scope_id) {
		*p++ = '%';
		p += ct_u64_dec(p, ev->dest->scope_id);
	}
	*p++ = ']';
	*p++ = ':';
	p += ct_u64_dec(p, ev->dest->dport);
	*p = '\0';
	return (size_t)(p - buf);
}

/* "a.b.c.d:port" as inet_ntop and "%s:%u" write it. */
static size_t fmt_inet4(char *buf, const struct ct_event *ev)
{
	char *p = buf;
	for (int i = 0; i < 4; i++) {
		p += ct_u64_dec(p, ev->dest->daddr[i]);
		*p++ = i < 3 ? '.' : ':';
	}
	p += ct_u64_dec(p, ev->dest->dport);
	*p = '\0';
	return (size_t)(p - buf);
}

/* "2026-11-24T13:05:00.123456Z", the part up to the seconds from c. */
static void utc_micro(struct sec_cache *c, char *out, int64_t wall)
{
	int64_t ns, sec = ct_wall_split(wall, &ns);
	if (ct_wall_bad(wall)) {
		strcpy(out, "out-of-range");
		return;
	}
	if (!c->valid || sec != c->sec) {
		ct_fmt_utc_sec(c->text, sizeof(c->text), sec);
		c->sec = sec;
		c->valid = 1;
	}
	size_t n = strlen(c->text);
	memcpy(out, c->text, n);
	out[n++] = '.';
	int64_t us = ns / 1000;
	for (int i = 5; i >= 0; i--) {
		out[n + (size_t)i] = (char)('0' + us % 10);
		us /= 10;
	}
	n += 6;
	out[n++] = 'Z';
	out[n] = '\0';
}

/* A line's time: UTC with microseconds, or with --relative seconds since
 * the trace start. */
static void line_time(const struct script *sc, struct sec_cache *c, char *ts, int64_t wall)
{
	if (sc->relative) {
		int64_t d = wall - sc->base_wall;
		snprintf(ts, 48, "%c%lld.%06lld", d < 0 ? '-' : '+',
			 (long long)(d < 0 ? -d : d) / 1000000000,
			 ((long long)(d < 0 ? -d : d) % 1000000000) / 1000);
	} else {
		utc_micro(c, ts, wall);
	}
}

/* The start of a JSON line that is not a connect (--lost, --exits):
 * {"ts", "ts_ns" and, when the trace names it, "host". */
static void json_record_head(struct script *sc, int64_t wall, unsigned input)
{
	static __thread struct ct_json_ts tc;
	const char *h = ct_session_host(sc->s, input);
	ct_buf_reserve(&sc->out, CT_JSON_HEAD_MAX);
	sc->out.len += ct_json_head(sc->out.p + sc->out.len, wall, &tc);
	if (h) {
		ct_buf_puts(&sc->out, ",\"host\":");
		ct_buf_json_str(&sc->out, h, strlen(h));
	}
}

/* The set of processes shown: open addressing on (host + 1) << 32 | pid. */
static uint64_t *shown_slot(struct script *sc, uint64_t key)
{
	size_t i = (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 20) & (sc->shown_cap - 1);
	while (sc->shown[i] && sc->shown[i] != key)
		i = (i + 1) & (sc->shown_cap - 1);
	return &sc->shown[i];
}

static void shown_add(struct script *sc, unsigned input, uint32_t pid)
{
	uint64_t key = (uint64_t)(ct_session_input(sc->s, input)->host_index + 1) << 32 | pid;
	if (key == sc->last_shown)
		return;
	sc->last_shown = key;
	if (sc->shown_n * 2 >= sc->shown_cap) {
		uint64_t *old = sc->shown;
		size_t n = sc->shown_cap;
		sc->shown_cap = n ? n * 2 : 1024;
		sc->shown = ct_xrealloc(NULL, sc->shown_cap * sizeof(*sc->shown));
		memset(sc->shown, 0, sc->shown_cap * sizeof(*sc->shown));
		for (size_t i = 0; i < n; i++)
			if (old[i])
				*shown_slot(sc, old[i]) = old[i];
		free(old);
	}
	uint64_t *slot = shown_slot(sc, key);
	sc->shown_n += !*slot;
	*slot = key;
}

/* A shown process exited: a line with its exit status, or with --json
 * --exits a JSON line {"ts", "ts_ns", ["host",] "pid", "ppid", "comm",
 * "wait_status", "exit_code" | "exit_signal" [, "core_dumped"]}. */
static int on_proc(void *ctx, const struct ct_proc *p, unsigned input)
{
	struct script *sc = ctx;
	uint64_t key =
	    (uint64_t)(ct_session_input(sc->s, input)->host_index + 1) << 32 | p->task.pid;
	char ts[48], st[64], who[CT_TERM_MAX(CT_COMM_LEN) + 16];
	int64_t wall = ct_session_wall_ns(sc->s, input, p->ts_ns);

	if (p->kind != CT_PROC_EXIT || !sc->shown_cap || *shown_slot(sc, key) != key ||
	    (sc->json && !sc->exits_json))
		return 0;
	if (sc->json) {
		unsigned sig = (unsigned)p->exit_code & 0x7f;
		json_record_head(sc, wall, input);
		ct_buf_printf(&sc->out, ",\"pid\":%u,\"ppid\":%u,\"comm\":", p->task.pid,
			      p->task.ppid);
		ct_buf_json_str(&sc->out, p->task.comm, strnlen(p->task.comm, CT_COMM_LEN));
		ct_buf_printf(&sc->out, ",\"wait_status\":%d", p->exit_code);
		if (!sig)
			ct_buf_printf(&sc->out, ",\"exit_code\":%u}\n",
				      ((unsigned)p->exit_code >> 8) & 0xff);
		else if (ct_signal_name((int)sig))
			ct_buf_printf(&sc->out, ",\"exit_signal\":\"%s\"%s}\n",
				      ct_signal_name((int)sig),
				      p->exit_code & 0x80 ? ",\"core_dumped\":true" : "");
		else
			ct_buf_printf(&sc->out, ",\"exit_signal\":\"SIG%u\"%s}\n", sig,
				      p->exit_code & 0x80 ? ",\"core_dumped\":true" : "");
	} else {
		line_time(sc, &sc->sec, ts, wall);
		size_t n = ct_term_escape(who, p->task.comm, strnlen(p->task.comm, CT_COMM_LEN), 0);
		who[n] = '\0';
		ct_fmt_wait_status(st, sizeof(st), p->exit_code);
		ct_buf_printf(&sc->out, "# %s EXIT %s/%u %s\n", ts, who, p->task.pid, st);
	}
	return sc->out.len >= FLUSH_AT ? flush_out(sc) : 0;
}

/* An event's line into out: reads sc's settings and the session, changes
 * only out and c (each formatting thread its own). */
static void format_event(const struct script *sc, struct ct_buf *out, struct sec_cache *c,
			 const struct ct_event *ev, unsigned input)
{
	int64_t wall = ct_session_wall_ns(sc->s, input, ev->ts_ns);

	if (sc->json) {
		ct_fmt_json_event(out, ev, wall, ct_session_host(sc->s, input));
	} else {
		/* One line built in place, then one append. */
		char line[64 + 24 + 64 + 40 + 4 * CT_UNIX_PATH_MAX + 16 + 64 + 256 + 160],
		    *p = line;
		char ts[48], dest[4 * CT_UNIX_PATH_MAX + 16];
		line_time(sc, c, ts, wall);
		p = put_col(p, ts, strlen(ts), 0);
		if (sc->show_host) {
			/* A host name may be long: straight into the output. */
			const char *h = ct_session_host(sc->s, input);
			size_t before = out->len + (size_t)(p - line);
			ct_buf_put(out, line, (size_t)(p - line));
			ct_buf_term_str(out, h ? h : "?"); /* the file's string */
			size_t hn = out->len - before;
			p = line;
			if (hn < 12) {
				memset(p, ' ', 12 - hn);
				p += 12 - hn;
			}
			*p++ = ' ';
		}
		/* comm/pid, comm escaped for the terminal */
		char who[CT_TERM_MAX(CT_COMM_LEN) + 16];
		size_t n =
		    ct_term_escape(who, ev->task->comm, strnlen(ev->task->comm, CT_COMM_LEN), 0);
		who[n++] = '/';
		n += ct_u64_dec(who + n, ev->task->pid);
		p = put_col(p, who, n, 22);
		const char *fam = ct_family_short(ev->dest->family);
		p = put_col(p, fam, strlen(fam), 5);
		size_t dn;
		if (ev->dname) {
			ct_fmt_dest(dest, sizeof(dest), ev);
			dn = strlen(dest);
		} else if (ev->dest->family == 2) {
			dn = fmt_inet4(dest, ev);
		} else if (ev->dest->family == 10) {
			dn = fmt_inet6(dest, ev);
		} else {
			ct_fmt_dest(dest, sizeof(dest), ev);
			dn = strlen(dest);
		}
		p = put_col(p, dest, dn, 40);
		/* The final outcome and how long it took; when the handshake
		 * ended after connect(2) returned, what connect returned too. */
		const char *res = ct_fmt_result(ev);
		int later = ct_outcome_later(ev);
		p = put_col(p, res, strlen(res), 12);
		if (later)
			p = put_latency(p, ev->result_ns);
		else if (ev->flags & CT_EV_LATENCY)
			p = put_latency(p, ev->latency_ns);
		/* what connect(2) returned, when that was not the end: a
		 * handshake that ended later, or one whose end is unknown */
		if ((ev->flags & CT_EV_RET) &&
		    (later || !(ev->flags & (CT_EV_RESULT | CT_EV_ABANDONED)))) {
			const char *ret = ct_fmt_ret(ev);
			memcpy(p, "  (", 3);
			p += 3;
			memcpy(p, ret, strlen(ret));
			p += strlen(ret);
			if (ev->flags & CT_EV_LATENCY) {
				memcpy(p, " in ", 4);
				p += 4;
				p = put_latency(p, ev->latency_ns);
			}
			*p++ = ')';
		}
		if (ev->flags & CT_EV_CLOSED) {
			/* no sprintf: it was 6% of script's time */
			p = put_lit(p, "  closed after ");
			p = put_latency(p, ev->closed_ns);
			p = put_lit(p, ", tx ");
			p += ct_u64_dec(p, ev->tx_bytes);
			p = put_lit(p, " rx ");
			p += ct_u64_dec(p, ev->rx_bytes);
		} else if (ev->flags & CT_EV_OPEN) {
			p = put_lit(p, "  still open");
		}
		/* no trailing blanks when latency is absent */
		while (p > line && p[-1] == ' ')
			p--;
		const char *ctr = ev->proc ? ev->proc->ctr[CT_CTR_NAME] : NULL;
		if (ctr) {
			/* the container's name (the file's string): after the line */
			ct_buf_put(out, line, (size_t)(p - line));
			ct_buf_puts(out, "  container ");
			ct_buf_term_str(out, ctr);
			p = line;
		}
		*p++ = '\n';
		ct_buf_put(out, line, (size_t)(p - line));
	}
}

static int on_event(void *ctx, const struct ct_event *ev, unsigned input)
{
	struct script *sc = ctx;

	sc->events++;
	shown_add(sc, input, ev->task->pid);
	format_event(sc, &sc->out, &sc->sec, ev, input);
	return sc->out.len >= FLUSH_AT ? flush_out(sc) : 0;
}

/* parfmt: each part's lines into its own buffer. */
static int part_event(void *ctx, unsigned k, const struct ct_event *ev, unsigned input)
{
	struct script *sc = ctx;
	format_event(sc, &sc->parts[k].out, &sc->parts[k].sc, ev, input);
	return 0;
}

static size_t part_len(void *ctx, unsigned k)
{
	return ((struct script *)ctx)->parts[k].out.len;
}

/* The round's lines straight from the parts' buffers (one writev, no
 * copy: copying them was a tenth of the calling thread's time), after
 * what the output holds. */
static int parts_join(void *ctx, const struct parfmt_span *sp, unsigned n)
{
	struct script *sc = ctx;
	struct iovec iov[PARFMT_ROUND_BLOCKS];
	unsigned niov = 0;

	/* emptied for the next round; the bytes stay put until then */
	for (unsigned k = 0; k < parfmt_jobs(sc->pf); k++)
		sc->parts[k].out.len = 0;
	if (flush_out(sc))
		return -1;
	for (unsigned i = 0; i < n; i++)
		if (sp[i].to > sp[i].from)
			iov[niov++] = (struct iovec){sc->parts[sp[i].part].out.p + sp[i].from,
						     sp[i].to - sp[i].from};
	return write_iov(sc, iov, niov);
}

/* With formatting threads, the batch's lines are made on all of them;
 * the processes shown (for their exits) are noted here first. */
static int on_batch(void *ctx, const struct ct_batch *b, unsigned input)
{
	static const struct parfmt_ops ops = {part_event, part_len, parts_join};
	struct script *sc = ctx;

	if (!parfmt_worth(sc->pf, b))
		return parfmt_each(b, input, on_event, sc);
	sc->events += b->n;
	for (uint32_t i = 0; i < b->n; i++)
		shown_add(sc, input, b->tasks[b->task[i]].pid);
	return parfmt_batch(sc->pf, b, input, &ops, sc);
}

/* A live input: what is buffered goes out now (session.h). */
static int on_flush(void *ctx)
{
	struct script *sc = ctx;
	return flush_out(sc);
}

/* --follow ends on Ctrl-C or SIGTERM, after what was read is printed. */
static volatile sig_atomic_t follow_stop;

static void on_stop_signal(int sig)
{
	(void)sig;
	follow_stop = 1;
}

static int stop_asked(void *ctx, int caught_up)
{
	(void)ctx;
	(void)caught_up;
	return follow_stop;
}

static int on_end(void *ctx, struct ct_session *s)
{
	struct script *sc = ctx;
	if (flush_out(sc))
		return -1;
	if (sc->stats) {
		struct ct_reader_stats st;
		ct_session_stats(s, &st);
		ct_err("%llu events shown; chunks: %u event chunks, %u read, %u skipped, %u "
		       "damaged; lines made on %u thread%s",
		       (unsigned long long)sc->events, st.event_chunks, st.chunks_read,
		       st.chunks_skipped, st.chunks_damaged, parfmt_jobs(sc->pf),
		       parfmt_jobs(sc->pf) > 1 ? "s" : "");
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: conntrail script [FILE..] [--filter EXPR] [--since T] [--until T]\n"
	    "                        [--json [--lost] [--exits]] [--relative] [--stats] [-q] [-f]\n"
	    "                        [--jobs N]\n"
	    "\n"
	    "Print the connect events of one or more traces (merged in time order), one a line:\n"
	    "UTC time with microseconds, comm/pid, family, destination, how the connect ended\n"
	    "(ok, an errno, abandoned, unknown) and how long that took; in parentheses what\n"
	    "connect(2) returned when the handshake ended later (EINPROGRESS); then when an\n"
	    "established connection closed and the bytes it moved, or that it was still open.\n"
	    "With several hosts a host column follows the time. Where the recorder lost events a\n"
	    "line says how many (LOST ...), and a closing line on stderr sums the losses up;\n"
	    "where a process shown exited, a line gives its exit status (EXIT comm/pid exit 0).\n"
	    "FILE defaults to conntrail.data;\n"
	    "'-' reads standard input, each event as soon as its chunk arrives.\n"
	    "\n"
	    "  -F, --filter EXPR  only events matching EXPR (see conntrail-report(1))\n"
	    "  -S, --since T      from T: RFC 3339 (2026-11-24T13:05:00Z), a time of day on\n"
	    "                     the trace's day (17:05), an offset from the trace start\n"
	    "                     (+90s, +5m) or back from its end (-10m: the last ten minutes);\n"
	    "                     a time without a zone is UTC unless --tz says otherwise\n"
	    "  -U, --until T      up to T (inclusive)\n"
	    "      --tz ZONE      zone of times without one: UTC (default), local, +01:00\n"
	    "  -j, --json         JSON lines (same bytes as 'convert --to jsonl')\n"
	    "      --lost         with --json: also a line where records were lost,\n"
	    "                     "
	    "{\"ts\",\"ts_ns\",\"host\",\"lost\":N,\"lost_kind\":\"connects\",\"cpu\"}\n"
	    "      --exits        with --json: also a line where a process shown exited,\n"
	    "                     "
	    "{\"ts\",\"ts_ns\",\"pid\",\"comm\",\"wait_status\",\"exit_code\"|\"exit_signal\"}\n"
	    "  -r, --relative     seconds since the trace start instead of the wall clock\n"
	    "      --stats        one line on stderr: events, chunks read and skipped\n"
	    "  -f, --follow       print what FILE holds, then its events as they are written\n"
	    "                     (like tail -f); ends when the recorder finishes the file\n"
	    "                     (a --rotate ring: the last file), when nobody writes it\n"
	    "                     any more, or on Ctrl-C\n"
	    "      --jobs N       threads that read and format (default: the CPUs available,\n"
	    "                     one when the query reads under 32 MiB); the output is\n"
	    "                     the same for any N, --jobs 1 works on one thread\n"
	    "  -q, --quiet        no progress bar, no damage messages\n"
	    "\n"
	    "Examples:\n"
	    "  conntrail script incident.ctr\n"
	    "  conntrail script --filter 'comm == \"curl\" and dport == 443' incident.ctr\n"
	    "  conntrail script --since +5m --until +6m --json incident.ctr | jq .daddr\n"
	    "  conntrail script --filter 'result != ok' host1.ctr host2.ctr\n"
	    "  conntrail record -o - | conntrail script -\n"
	    "  conntrail script -f --filter 'result != ok' live.ctr\n");
}

/* Where records were lost, at that place in the output: a line of text,
 * or with --json --lost a JSON line {"ts", "ts_ns", ["host",] "lost",
 * "lost_kind", ["cpu"]}. The session sums them up on stderr at the end. */
static int on_lost(void *ctx, const struct ct_lost *l, unsigned input)
{
	static const char *const kinds[] = {"connects", "outcomes", "processes"};
	static const char *const text[] = {
	    "connect events lost (the ring buffer was full)",
	    "connection outcomes lost (those connects read unknown)",
	    "process records lost (exe, command line or exit status may be missing)"};
	struct script *sc = ctx;
	int64_t wall = ct_session_wall_ns(sc->s, input, l->ts_ns);
	char ts[48];

	if (l->kind > 2 || (sc->json && !sc->lost_json))
		return 0;
	if (sc->json) {
		json_record_head(sc, wall, input);
		ct_buf_printf(&sc->out, ",\"lost\":%llu,\"lost_kind\":\"%s\"",
			      (unsigned long long)l->count, kinds[l->kind]);
		if (l->cpu != UINT32_MAX)
			ct_buf_printf(&sc->out, ",\"cpu\":%u", l->cpu);
		ct_buf_puts(&sc->out, "}\n");
	} else {
		line_time(sc, &sc->sec, ts, wall);
		ct_buf_printf(&sc->out, "# %s LOST %llu %s\n", ts, (unsigned long long)l->count,
			      text[l->kind]);
	}
	return sc->out.len >= FLUSH_AT ? flush_out(sc) : 0;
}

/* Read from a stream: an outcome that came after its connect was printed. */
static int on_outcome(void *ctx, const struct ct_outcome *o, unsigned input)
{
	struct script *sc = ctx;
	struct ct_event ev = {.flags =
				  (uint16_t)((o->flags & CT_OC_RESULT ? CT_EV_RESULT : 0) |
					     (o->flags & CT_OC_ABANDONED ? CT_EV_ABANDONED : 0)),
			      .result = o->result};
	char ts[48];

	if (sc->json || !(o->flags & (CT_OC_RESULT | CT_OC_ABANDONED)))
		return 0; /* JSON lines stay one a connect; closes say nothing here */
	utc_micro(&sc->sec, ts, ct_session_wall_ns(sc->s, input, o->ts_ns));
	ct_buf_printf(&sc->out, "%s tid %u: the connect of that time ended %s after ", ts, o->tid,
		      ct_fmt_result(&ev));
	char lat[48], *e = put_latency(lat, o->result_ns);
	*e = '\0';
	ct_buf_printf(&sc->out, "%s\n", lat);
	return sc->out.len >= FLUSH_AT ? flush_out(sc) : 0;
}

static int script_opt(void *ctx, int c, const char *arg)
{
	struct script *sc = ctx;

	(void)arg;
	switch (c) {
	case 'j':
		sc->json = 1;
		break;
	case 'r':
		sc->relative = 1;
		break;
	case 'f':
		sc->opts->follow = 1;
		break;
	}
	return 0;
}

int cmd_script(int argc, char **argv)
{
	struct ct_session_opts opts = {.progress = 1, .warn_lost = 1};
	struct script sc = {.opts = &opts};
	const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"relative", no_argument, NULL, 'r'},
	    {"stats", no_argument, &sc.stats, 1},
	    {"follow", no_argument, NULL, 'f'},
	    {"lost", no_argument, &sc.lost_json, 1},
	    {"exits", no_argument, &sc.exits_json, 1},
	    {NULL, 0, NULL, 0},
	};
	int rc = ct_session_getopt(argc, argv, "jrf", longopts, usage, script_opt, &sc, &opts);

	if (rc != CT_OPTS_DONE)
		return rc;
	if (opts.follow && opts.npaths > 1) {
		ct_err("--follow: takes one FILE (a --rotate ring: its first file to read)");
		return CT_EXIT_USAGE;
	}
	if (opts.follow) {
		struct sigaction sa = {.sa_handler = on_stop_signal}; /* no SA_RESTART */
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		opts.stop = stop_asked;
		opts.progress = 0; /* a bar would sit among the lines as they come */
	}

	/* A closed pipe (| head) ends the output quietly: see flush_out. */
	signal(SIGPIPE, SIG_IGN);
	static const struct ct_session_ops ops = {
	    .begin = on_begin,
	    .batch = on_batch,
	    .outcome = on_outcome,
	    .lost = on_lost,
	    .proc = on_proc,
	    .end = on_end,
	    .flush = on_flush,
	};
	int status = ct_session_run(&opts, &ops, &sc);
	unsigned nparts = parfmt_jobs(sc.pf);
	parfmt_free(sc.pf);
	if (sc.write_failed == 1)
		status = CT_EXIT_OK;
	else if (sc.write_failed == 2)
		status = CT_EXIT_ERROR;
	for (unsigned k = 0; sc.parts && k < nparts; k++)
		ct_buf_free(&sc.parts[k].out);
	free(sc.parts);
	ct_buf_free(&sc.out);
	free(sc.shown);
	return status;
}
