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
#include <string.h>
#include <unistd.h>

#include "../cli/cli.h"
#include "eventfmt.h"
#include "session.h"

#define FLUSH_AT (1u << 20)

struct script {
	struct ct_session *s;
	struct ct_buf out;
	int json, relative, show_host, stats;
	int64_t base_wall;
	int64_t sec; /* cached UTC text of this second */
	int sec_valid;
	char sec_text[48];
	int write_failed; /* 1: EPIPE (quiet), 2: other error (reported) */
	uint64_t events;
};

static int flush_out(struct script *sc)
{
	size_t off = 0;
	while (off < sc->out.len) {
		ssize_t n = write(STDOUT_FILENO, sc->out.p + off, sc->out.len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE) {
				sc->write_failed = 1;
			} else {
				sc->write_failed = 2;
				ct_err("writing output: %s", strerror(errno));
			}
			sc->out.len = 0;
			return -1;
		}
		off += (size_t)n;
	}
	sc->out.len = 0;
	return 0;
}

static const char *host_of(const struct ct_session *s, unsigned input)
{
	const char *h = ct_session_input(s, input)->hdr->hostname;
	return h && h[0] ? h : NULL;
}

static int on_begin(void *ctx, struct ct_session *s)
{
	struct script *sc = ctx;
	sc->s = s;
	sc->show_host = ct_session_nhosts(s) > 1;
	sc->base_wall = ct_session_start_wall(s);
	return 0;
}

static void fmt_latency(char *buf, size_t size, uint64_t ns)
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

/* s left-aligned in width columns, then one blank. */
static void put_padded(struct ct_buf *b, const char *s, size_t width)
{
	static const char blanks[] = "                                        ";
	size_t n = strlen(s);
	ct_buf_put(b, s, n);
	for (size_t pad = n < width ? width - n : 0; pad > 0;) {
		size_t k = pad < sizeof(blanks) - 1 ? pad : sizeof(blanks) - 1;
		ct_buf_put(b, blanks, k);
		pad -= k;
	}
	ct_buf_put(b, " ", 1);
}

/* "2026-11-24T13:05:00.123456Z"; the part up to the seconds is cached
 * because consecutive events share it and gmtime is the slow step. */
static void utc_micro(struct script *sc, char *out, int64_t wall)
{
	int64_t sec = wall / 1000000000, ns = wall % 1000000000;
	if (ns < 0) {
		ns += 1000000000;
		sec--;
	}
	if (!sc->sec_valid || sec != sc->sec) {
		char full[48];
		ct_fmt_rfc3339(full, sizeof(full), sec * 1000000000);
		char *dot = strchr(full, '.');
		if (dot)
			*dot = '\0';
		snprintf(sc->sec_text, sizeof(sc->sec_text), "%s", full);
		sc->sec = sec;
		sc->sec_valid = 1;
	}
	size_t n = strlen(sc->sec_text);
	memcpy(out, sc->sec_text, n);
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

static int on_event(void *ctx, const struct ct_event *ev, const struct ct_proc_info *proc,
		    unsigned input)
{
	struct script *sc = ctx;
	int64_t wall = ct_session_wall_ns(sc->s, input, ev->ts_ns);

	sc->events++;
	if (sc->json) {
		ct_fmt_json_event(&sc->out, ev, proc, wall, host_of(sc->s, input));
	} else {
		char ts[48], dest[4 * CT_UNIX_PATH_MAX + 16], lat[32] = "";
		if (sc->relative) {
			int64_t d = wall - sc->base_wall;
			snprintf(ts, sizeof(ts), "%c%lld.%06lld", d < 0 ? '-' : '+',
				 (long long)(d < 0 ? -d : d) / 1000000000,
				 ((long long)(d < 0 ? -d : d) % 1000000000) / 1000);
		} else {
			utc_micro(sc, ts, wall);
		}
		put_padded(&sc->out, ts, 0);
		if (sc->show_host) {
			const char *h = host_of(sc->s, input);
			put_padded(&sc->out, h ? h : "?", 12);
		}
		/* comm/pid, unprintable comm bytes as '?' */
		char who[CT_COMM_LEN + 16];
		size_t n = 0;
		for (size_t i = 0; i < CT_COMM_LEN && ev->comm[i]; i++) {
			unsigned char c = (unsigned char)ev->comm[i];
			who[n++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
		}
		who[n++] = '/';
		char num[16], *e = num + sizeof(num), *q = e;
		uint32_t pid = ev->pid;
		do {
			*--q = (char)('0' + pid % 10);
			pid /= 10;
		} while (pid);
		memcpy(who + n, q, (size_t)(e - q));
		who[n + (size_t)(e - q)] = '\0';
		put_padded(&sc->out, who, 22);
		put_padded(&sc->out, ct_family_short(ev->family), 5);
		ct_fmt_dest(dest, sizeof(dest), ev);
		put_padded(&sc->out, dest, 40);
		put_padded(&sc->out, ct_fmt_result(ev), 12);
		if (ev->flags & CT_EV_LATENCY) {
			fmt_latency(lat, sizeof(lat), ev->latency_ns);
			ct_buf_puts(&sc->out, lat);
		}
		/* no trailing blanks when latency is absent */
		while (sc->out.len && sc->out.p[sc->out.len - 1] == ' ')
			sc->out.len--;
		ct_buf_put(&sc->out, "\n", 1);
	}
	(void)proc;
	if (sc->out.len >= FLUSH_AT)
		return flush_out(sc);
	return 0;
}

static int on_end(void *ctx, struct ct_session *s)
{
	struct script *sc = ctx;
	if (flush_out(sc))
		return -1;
	if (sc->stats) {
		struct ct_reader_stats st;
		ct_session_stats(s, &st);
		ct_err(
		    "%llu events shown; chunks: %u event chunks, %u read, %u skipped, %u damaged",
		    (unsigned long long)sc->events, st.event_chunks, st.chunks_read,
		    st.chunks_skipped, st.chunks_damaged);
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: conntrail script [FILE..] [--filter EXPR] [--since T] [--until T]\n"
	    "                        [--json] [--relative] [--stats] [-q]\n"
	    "\n"
	    "Print the connect events of one or more traces (merged in time order), one a line:\n"
	    "UTC time with microseconds, comm/pid, family, destination, result, latency.\n"
	    "With several hosts a host column follows the time. FILE defaults to conntrail.data;\n"
	    "'-' reads standard input.\n"
	    "\n"
	    "  -F, --filter EXPR  only events matching EXPR (see conntrail-report(1))\n"
	    "  -S, --since T      from T: RFC 3339 (2026-11-24T13:05:00Z; no zone = UTC)\n"
	    "                     or an offset from the earliest trace start (+90s, +5m)\n"
	    "  -U, --until T      up to T (inclusive)\n"
	    "  -j, --json         JSON lines (same bytes as 'convert --to jsonl')\n"
	    "  -r, --relative     seconds since the trace start instead of the wall clock\n"
	    "      --stats        one line on stderr: events, chunks read and skipped\n"
	    "  -q, --quiet        no progress bar, no damage messages\n"
	    "\n"
	    "Examples:\n"
	    "  conntrail script incident.ctr\n"
	    "  conntrail script --filter 'comm == \"curl\" and dport == 443' incident.ctr\n"
	    "  conntrail script --since +5m --until +6m --json incident.ctr | jq .daddr\n"
	    "  conntrail script --filter 'not ret == 0' host1.ctr host2.ctr\n");
}

int cmd_script(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"filter", required_argument, NULL, 'F'},
	    {"since", required_argument, NULL, 'S'},
	    {"until", required_argument, NULL, 'U'},
	    {"json", no_argument, NULL, 'j'},
	    {"relative", no_argument, NULL, 'r'},
	    {"stats", no_argument, NULL, 's'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct ct_session_opts opts = {.progress = 1};
	struct script sc = {0};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "F:S:U:jrqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'F':
			opts.filter = optarg;
			break;
		case 'S':
			opts.since = optarg;
			break;
		case 'U':
			opts.until = optarg;
			break;
		case 'j':
			sc.json = 1;
			break;
		case 'r':
			sc.relative = 1;
			break;
		case 's':
			sc.stats = 1;
			break;
		case 'q':
			opts.quiet = 1;
			break;
		case 'h':
			usage(stdout);
			return CT_EXIT_OK;
		default:
			/* One line naming the option (getopt's own message is off). */
			if (optind > 0 && !strncmp(argv[optind - 1], "--", 2))
				ct_err("%s: unknown option or missing argument", argv[optind - 1]);
			else
				ct_err("-%c: unknown option or missing argument", optopt);
			return CT_EXIT_USAGE;
		}
	}
	opts.paths = (const char *const *)argv + optind;
	opts.npaths = (unsigned)(argc - optind);

	/* A closed pipe (| head) ends the output quietly: see flush_out. */
	signal(SIGPIPE, SIG_IGN);
	static const struct ct_session_ops ops = {
	    .begin = on_begin,
	    .event = on_event,
	    .end = on_end,
	};
	int status = ct_session_run(&opts, &ops, &sc);
	if (sc.write_failed == 1)
		status = CT_EXIT_OK;
	else if (sc.write_failed == 2)
		status = CT_EXIT_ERROR;
	ct_buf_free(&sc.out);
	return status;
}
