/* SPDX-License-Identifier: MIT */
/*
 * cmd_record.c: `conntrail record`. Picks a backend, proves its hook fires,
 * then drains the ring buffer into the trace writer until the command exits,
 * a signal, --duration or --max-size says stop.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "cli/cli.h"
#include "format/ctrace.h"
#include "bpf/conntrail_event.h"
#include "lib/outfile.h"
#include "lib/text.h"
#include "record/procfs.h"
#include "record/record.h"

#define CGROUP2_MAGIC 0x63677270

static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t signal_pending;

static void on_signal(int sig)
{
	stop_signal = sig;
	signal_pending = 1;
}

static void on_sigchld(int sig)
{
	(void)sig; /* only here to interrupt the poll */
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: conntrail record [-o FILE|-] [--backend auto|lsm|fentry|tracepoint]\n"
		"                        [-p PID[,PID..]] [--cgroup PATH] [--duration SECONDS]\n"
		"                        [--compress zstd[:LEVEL]|zlib[:LEVEL]|none]\n"
		"                        [--flush DURATION] [--max-size SIZE] [--rotate N]\n"
		"                        [--buffer SIZE] [-q]\n"
		"                        [-- COMMAND [ARGS..]]\n"
		"\n"
		"Record every connect attempt (who, where, how it ended) into a trace file,\n"
		"for report, script, info and convert on any machine. With -- COMMAND: that\n"
		"command and its children, until it exits (record exits with its status;\n"
		"127 when it cannot be found, 126 when it cannot be run, before any file is\n"
		"touched). Otherwise the whole system until Ctrl-C, SIGTERM or --duration.\n"
		"Needs root. A TCP connect's outcome (ok, refused, timed out, unreachable,\n"
		"abandoned) is followed after connect(2) returns; see OUTCOMES in\n"
		"conntrail-record(1).\n"
		"\n"
		"  -o, --output FILE   the trace (default conntrail.data; '-' = stdout). An\n"
		"                      existing FILE is kept as FILE.old. Mode 0600.\n"
		"      --backend B     auto (default: lsm, then fentry, then tracepoint), or\n"
		"                      one of them; auto says why it skipped one\n"
		"  -p, --pid PIDS      only these processes and their future children\n"
		"      --cgroup PATH   only this cgroup v2 directory (a container, a unit)\n"
		"      --duration S    stop after S seconds (decimals allowed)\n"
		"      --compress C    zstd (default), zstd:LEVEL (1-19), zlib[:1-9], none\n"
		"      --flush D       a connect is in the file (for readers such as\n"
		"                      'script --follow' and 'top') within D: 1s (default),\n"
		"                      100ms, 50ms (at least 10ms); shorter costs more wakeups\n"
		"                      and bytes\n"
		"      --max-size SIZE stop (or rotate) when the file reaches SIZE (4k, 10M, 1G)\n"
		"      --rotate N      with --max-size: keep N files FILE.0 .. FILE.N-1\n"
		"      --buffer SIZE   kernel ring buffer (default 8M); events that do not fit\n"
		"                      are counted as lost, never silently dropped\n"
		"  -q, --quiet         no backend or summary lines on stderr\n"
		"\n"
		"Examples:\n"
		"  conntrail record -o curl.ctr -- curl -s https://example.org/\n"
		"  conntrail record -o host.ctr --duration 600\n"
		"  conntrail record -o web.ctr -p 1234,1240\n"
		"  conntrail record -o ci.ctr --cgroup /sys/fs/cgroup/system.slice/ci.service\n"
		"  conntrail record -o fleet.ctr --max-size 100M --rotate 10\n"
		"  conntrail record -o - | conntrail script -\n"
		"  conntrail record -o live.ctr --flush 100ms & conntrail top live.ctr\n");
}

/* ------------------------------------------------------------ options */

static int parse_pids(struct recorder *r, const char *arg)
{
	char *copy = strdup(arg), *save = NULL;

	if (!copy)
		return -1;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		long long v;
		if (ct_parse_long(tok, 1, INT_MAX, &v)) {
			free(copy);
			return -1;
		}
		uint32_t *p = realloc(r->pids, (r->npids + 1) * sizeof(*p));
		if (!p) {
			free(copy);
			return -1;
		}
		r->pids = p;
		r->pids[r->npids++] = (uint32_t)v;
	}
	free(copy);
	return r->npids ? 0 : -1;
}

static int parse_compress(struct recorder *r, const char *arg)
{
	const char *colon = strchr(arg, ':');
	size_t len = colon ? (size_t)(colon - arg) : strlen(arg);
	long long level = 0;

	if (len == 4 && !strncmp(arg, "zstd", 4)) {
		r->wopts.compress = CT_COMP_ZSTD;
		if (colon && ct_parse_long(colon + 1, 1, 19, &level))
			return -1;
	} else if (len == 4 && !strncmp(arg, "zlib", 4)) {
		r->wopts.compress = CT_COMP_ZLIB;
		if (colon && ct_parse_long(colon + 1, 1, 9, &level))
			return -1;
	} else if (len == 4 && !strncmp(arg, "none", 4) && !colon) {
		r->wopts.compress = CT_COMP_NONE;
	} else {
		return -1;
	}
	r->wopts.level = (int)level;
	return 0;
}

enum {
	OPT_BACKEND = 256,
	OPT_CGROUP,
	OPT_DURATION,
	OPT_COMPRESS,
	OPT_MAX_SIZE,
	OPT_ROTATE,
	OPT_BUFFER,
	OPT_FLUSH,
};

static int record_opt(void *ctx, int c, const char *arg)
{
	struct recorder *r = ctx;
	long long v;

	switch (c) {
	case 'o':
		r->output = arg;
		break;
	case OPT_BACKEND:
		if (!strcmp(arg, "auto")) {
			r->backend = -1;
		} else if ((r->backend = rec_backend_parse(arg)) < 0) {
			ct_err("--backend %s: expected auto, lsm, fentry or tracepoint", arg);
			return CT_EXIT_USAGE;
		}
		break;
	case 'p':
		if (parse_pids(r, arg)) {
			ct_err("-p %s: expected PID[,PID..]", arg);
			return CT_EXIT_USAGE;
		}
		break;
	case OPT_CGROUP:
		r->cgroup_path = arg;
		break;
	case OPT_DURATION: {
		char *end;
		double s = strtod(arg, &end);
		if (*end || !(s > 0) || s > 1e9) {
			ct_err("--duration %s: expected a positive number of seconds", arg);
			return CT_EXIT_USAGE;
		}
		r->duration_ns = (uint64_t)(s * 1e9);
		break;
	}
	case OPT_COMPRESS:
		if (parse_compress(r, arg)) {
			ct_err("--compress %s: expected zstd[:1-19], zlib[:1-9] or none", arg);
			return CT_EXIT_USAGE;
		}
		break;
	case OPT_MAX_SIZE:
		if (ct_parse_size(arg, &r->max_size) || r->max_size < 4096) {
			ct_err("--max-size %s: expected a size of at least 4k", arg);
			return CT_EXIT_USAGE;
		}
		break;
	case OPT_ROTATE:
		if (ct_parse_long(arg, 1, 100000, &v)) {
			ct_err("--rotate %s: expected a number of files (1-100000)", arg);
			return CT_EXIT_USAGE;
		}
		r->rotate = (unsigned)v;
		break;
	case OPT_BUFFER:
		if (ct_parse_size(arg, &r->buffer) || r->buffer < 4096 ||
		    r->buffer > (1ull << 30)) {
			ct_err("--buffer %s: expected a size from 4k to 1G", arg);
			return CT_EXIT_USAGE;
		}
		break;
	case OPT_FLUSH:
		if (ct_parse_duration(arg, &r->flush_ns) || r->flush_ns < 10000000ull ||
		    r->flush_ns > 3600000000000ull) {
			ct_err("--flush %s: expected a duration from 10ms to 1h (100ms, 1s, "
			       "2.5s)",
			       arg);
			return CT_EXIT_USAGE;
		}
		break;
	case 'q':
		r->quiet = 1;
		break;
	}
	return 0;
}

static int parse_args(struct recorder *r, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"backend", required_argument, NULL, OPT_BACKEND},
	    {"pid", required_argument, NULL, 'p'},
	    {"cgroup", required_argument, NULL, OPT_CGROUP},
	    {"duration", required_argument, NULL, OPT_DURATION},
	    {"compress", required_argument, NULL, OPT_COMPRESS},
	    {"max-size", required_argument, NULL, OPT_MAX_SIZE},
	    {"rotate", required_argument, NULL, OPT_ROTATE},
	    {"buffer", required_argument, NULL, OPT_BUFFER},
	    {"flush", required_argument, NULL, OPT_FLUSH},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int rc = ct_getopt(argc, argv, "+o:p:qh", longopts, usage, record_opt, r);

	if (rc == CT_EXIT_OK)
		return -1; /* --help */
	if (rc != CT_OPTS_DONE)
		return rc;
	if (optind < argc)
		r->command = argv + optind;
	if (r->rotate && !r->max_size) {
		ct_err("--rotate %u: needs --max-size", r->rotate);
		return CT_EXIT_USAGE;
	}
	if (r->rotate && ct_path_is_stdout(r->output)) {
		ct_err("--rotate: cannot rotate the standard output");
		return CT_EXIT_USAGE;
	}
	if (r->command && r->npids) {
		ct_err("-p: cannot be combined with a COMMAND");
		return CT_EXIT_USAGE;
	}
	return 0;
}

/* ------------------------------------------------------------ command */

/*
 * Can COMMAND be run? Searched as execvp(3) would, before any file is
 * touched, so a typo keeps the last trace: 0, or the shell's status with
 * its message: 127 not found, 126 found but not executable.
 */
static int command_runnable(const char *cmd)
{
	char path[PATH_MAX];
	const char *dirs = getenv("PATH");
	int found = 0;

	if (!*cmd) {
		ct_err("'': command not found");
		return 127;
	}
	if (strchr(cmd, '/')) {
		struct stat st;
		if (stat(cmd, &st)) {
			ct_err("%s: %s", cmd, strerror(errno));
			return errno == ENOENT || errno == ENOTDIR ? 127 : 126;
		}
		if (S_ISDIR(st.st_mode) || access(cmd, X_OK)) {
			ct_err("%s: %s", cmd,
			       S_ISDIR(st.st_mode) ? strerror(EISDIR) : strerror(EACCES));
			return 126;
		}
		return 0;
	}
	if (!dirs)
		dirs = "/usr/local/bin:/usr/bin:/bin"; /* execvp's default */
	for (const char *p = dirs;; p++) {
		const char *end = strchrnul(p, ':');
		int n = snprintf(path, sizeof(path), "%.*s%s%s", (int)(end - p), p,
				 end == p ? "" : "/", cmd);
		struct stat st;
		if (n > 0 && (size_t)n < sizeof(path) && !stat(path, &st) && !S_ISDIR(st.st_mode)) {
			if (!access(path, X_OK))
				return 0;
			found = 1;
		}
		if (!*end)
			break;
		p = end;
	}
	ct_err("%s: %s", cmd, found ? "permission denied" : "command not found");
	return found ? 126 : 127;
}

/* Fork COMMAND, held on a pipe until the hook is in place. */
static int fork_command(struct recorder *r, int *go_fd, int *err_fd)
{
	int go[2], ex[2];

	if (pipe2(go, O_CLOEXEC) || pipe2(ex, O_CLOEXEC)) {
		ct_err("%s: pipe: %s", r->command[0], strerror(errno));
		return -1;
	}
	r->child = fork();
	if (r->child < 0) {
		ct_err("%s: fork: %s", r->command[0], strerror(errno));
		return -1;
	}
	if (r->child == 0) {
		char c;
		/* Until exec, a signal for the command must end it, not
		 * run the recorder's handlers. */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		close(go[1]);
		close(ex[0]);
		if (read(go[0], &c, 1) != 1)
			_exit(127); /* the recorder gave up */
		signal(SIGPIPE, SIG_DFL);
		if (ct_path_is_stdout(r->output))
			dup2(2, 1); /* the trace owns stdout */
		execvp(r->command[0], r->command);
		int e = errno;
		if (write(ex[1], &e, sizeof(e)) != sizeof(e))
			_exit(127);
		_exit(127);
	}
	close(go[0]);
	close(ex[1]);
	*go_fd = go[1];
	*err_fd = ex[0];
	return 0;
}

/* ------------------------------------------------------------ main */

static int any_alive(const uint32_t *pids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (kill((pid_t)pids[i], 0) == 0 || errno != ESRCH)
			return 1;
	return 0;
}

static int fill_header(struct recorder *r, int argc, char **argv)
{
	static struct utsname uts;
	static char recorder[64];
	size_t len = 0;

	uname(&uts);
	snprintf(recorder, sizeof(recorder), "conntrail %s", CONNTRAIL_VERSION);
	r->hdr.clock_id = CLOCK_MONOTONIC;
	/* Sampled twice around the realtime read to keep the pair tight. */
	uint64_t m0 = ct_now_ns(CLOCK_MONOTONIC);
	uint64_t rt = ct_now_ns(CLOCK_REALTIME);
	uint64_t m1 = ct_now_ns(CLOCK_MONOTONIC);
	r->hdr.start_ts_ns = m0;
	r->hdr.wall_offset_ns = (int64_t)(rt - (m0 + (m1 - m0) / 2));
	r->hdr.hostname = uts.nodename;
	r->hdr.kernel = uts.release;
	r->hdr.arch = uts.machine;
	r->hdr.recorder = recorder;
	r->own_cmdline = ct_shell_join(argc + 1, argv - 1); /* "conntrail record ..." */
	r->hdr.cmdline = r->own_cmdline;
	r->hdr.pid_filter_count = (uint32_t)(r->npids + (r->command ? 1 : 0));
	r->filters[0] = 0;
	if (r->npids) {
		len += (size_t)snprintf(r->filters + len, sizeof(r->filters) - len, "pid=");
		for (size_t i = 0; i < r->npids && len < sizeof(r->filters); i++)
			len += (size_t)snprintf(r->filters + len, sizeof(r->filters) - len, "%s%u",
						i ? "," : "", r->pids[i]);
	}
	if (r->command && len < sizeof(r->filters))
		len += (size_t)snprintf(r->filters + len, sizeof(r->filters) - len, "command=%s",
					r->command[0]);
	if (r->cgroup_path && len < sizeof(r->filters))
		snprintf(r->filters + len, sizeof(r->filters) - len, "%scgroup=%s", len ? " " : "",
			 r->cgroup_path);
	r->hdr.filters = r->filters;
	return 0;
}

static int resolve_cgroup(struct recorder *r)
{
	struct statfs sfs;
	struct stat st;

	if (!r->cgroup_path)
		return 0;
	if (statfs(r->cgroup_path, &sfs) || stat(r->cgroup_path, &st)) {
		ct_err("--cgroup %s: %s", r->cgroup_path, strerror(errno));
		return -1;
	}
	if (sfs.f_type != CGROUP2_MAGIC || !S_ISDIR(st.st_mode)) {
		ct_err("--cgroup %s: not a cgroup v2 directory", r->cgroup_path);
		return -1;
	}
	r->cgroup_id = (uint64_t)st.st_ino; /* the kernfs id is the inode number */
	return 0;
}

/* Writer settings that follow from --flush and --max-size. */
static void derive_writer_opts(struct recorder *r)
{
	/* The writer keeps a chunk's events raw until it closes: 16384 of
	 * them are ~5 MB, which keeps the recorder under 32 MiB of RSS. */
	r->wopts.chunk_events = 16384;
	/* An event reaches us up to one poll period after it happened, and the
	 * writer ages a chunk from when we hand it the first event, checked
	 * once a poll: flush two poll periods early, so a connect is in the
	 * file within --flush (1 s: a kill -9 loses at most that, DESIGN.md).
	 * A short --flush polls more often, at most a quarter of it. */
	if (!r->flush_ns)
		r->flush_ns = 1000000000ull;
	r->poll_ms = POLL_MS;
	if ((uint64_t)r->poll_ms * 4000000ull > r->flush_ns)
		r->poll_ms = (int)(r->flush_ns / 4000000ull);
	r->wopts.flush_interval_ns = r->flush_ns - 2ull * (uint64_t)r->poll_ms * 1000000ull;
	if (r->max_size) {
		/* Smaller chunks keep a file close to --max-size. */
		uint64_t n = r->max_size / 256;
		r->wopts.chunk_events = (uint32_t)(n < 256 ? 256 : n > 16384 ? 16384 : n);
	}
}

/* What must hold before anything is touched: 0, or the exit status after
 * one error line. */
static int preflight(struct recorder *r)
{
	int rc;

	if (geteuid() != 0) {
		ct_err("record needs root (CAP_BPF and CAP_PERFMON)");
		return CT_EXIT_ERROR;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		ct_err("/sys/kernel/btf/vmlinux: no kernel BTF (CONFIG_DEBUG_INFO_BTF): %s",
		       strerror(errno));
		return CT_EXIT_ERROR;
	}
	if (r->command && (rc = command_runnable(r->command[0])) != 0)
		return rc;
	for (size_t i = 0; i < r->npids; i++) {
		if (kill((pid_t)r->pids[i], 0) && errno == ESRCH) {
			ct_err("-p %u: no such process", r->pids[i]);
			return CT_EXIT_ERROR;
		}
	}
	return resolve_cgroup(r) ? CT_EXIT_ERROR : 0;
}

static void install_signals(void)
{
	struct sigaction sa = {0};

	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_sigchld;
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Replay what came in while the hook was being proven. */
static void replay_queue(struct recorder *r)
{
	r->queueing = 0;
	for (size_t off = 0; off < r->qlen && !r->write_err;) {
		uint64_t len;
		memcpy(&len, r->queue + off, sizeof(len));
		rec_dispatch(r, r->queue + off + sizeof(len), len);
		off += sizeof(len) + ((len + 7) & ~(uint64_t)7);
	}
	free(r->queue);
	r->queue = NULL;
}

/* Let the held command exec: 0, or the exit status after one error line
 * (127/126 as a shell says it when the exec failed). */
static int release_command(struct recorder *r, int *go_fd, int *err_fd)
{
	int e;

	if (write(*go_fd, "g", 1) != 1) {
		ct_err("%s: cannot start: %s", r->command[0], strerror(errno));
		return CT_EXIT_ERROR;
	}
	close(*go_fd);
	*go_fd = -1;
	if (read(*err_fd, &e, sizeof(e)) == sizeof(e)) {
		ct_err("%s: %s", r->command[0], strerror(e));
		return e == ENOENT ? 127 : 126;
	}
	close(*err_fd);
	*err_fd = -1;
	return 0;
}

/* Take events until the command, the targets, --duration, --max-size or
 * a signal ends the recording: 0, or -1 after one error line. */
static int poll_loop(struct recorder *r)
{
	uint64_t deadline = r->duration_ns ? ct_now_ns(CLOCK_MONOTONIC) + r->duration_ns : 0;

	while (!r->write_err && !r->size_reached) {
		/* Wakeups are batched: the timeout is what normally ends the
		 * wait, and then whatever is in the ring is taken. */
		int n = ring_buffer__poll(r->bpf.rb, r->poll_ms);
		if (n >= 0 || n == -EINTR)
			n = ring_buffer__consume(r->bpf.rb);
		if (n < 0 && n != -EINTR && !r->write_err && !r->size_reached) {
			ct_err("ring buffer: %s", strerror(-n));
			return -1;
		}
		rec_flush_lost(r);
		if (r->w)
			ct_writer_tick(r->w);
		if (signal_pending) {
			signal_pending = 0;
			if (!r->command || r->child_done)
				break;
			kill(r->child, stop_signal); /* like perf: the command decides */
		}
		if (r->command && !r->child_done &&
		    waitpid(r->child, &r->child_status, WNOHANG) == r->child) {
			r->child_done = 1;
			break;
		}
		if (deadline && ct_now_ns(CLOCK_MONOTONIC) >= deadline)
			break;
		if (r->npids && !any_alive(r->pids, r->npids))
			break; /* like perf record -p: the targets are gone */
	}
	return 0;
}

/* The command's exit status, waited for, as record's own. */
static int command_status(struct recorder *r)
{
	if (!r->child_done) {
		/* A full trace is no reason to end the user's command: it runs
		 * on, untraced. --duration ends it. */
		if (!r->size_reached)
			kill(r->child, SIGTERM);
		while (waitpid(r->child, &r->child_status, 0) < 0 && errno == EINTR)
			;
		r->child_done = 1;
	}
	if (WIFEXITED(r->child_status))
		return WEXITSTATUS(r->child_status);
	if (WIFSIGNALED(r->child_status))
		return 128 + WTERMSIG(r->child_status);
	return CT_EXIT_OK;
}

/* The one summary line (DESIGN.md), and what was lost besides events. */
static void print_summary(const struct recorder *r)
{
	char files[PATH_MAX + 64];

	if (r->rotate)
		snprintf(files, sizeof(files), "%s.0..%s.%u", r->output, r->output, r->rotate - 1);
	else
		snprintf(files, sizeof(files), "%s", r->output);
	fprintf(stderr, "conntrail record: %llu events, %llu lost, backend %s, %llu bytes, %s\n",
		(unsigned long long)r->events, (unsigned long long)r->lost, r->hdr.backend,
		(unsigned long long)r->bytes_done, files);
	/* What else there is to say, when there is any of it. */
	const struct {
		uint64_t n;
		const char *what;
	} extra[] = {
	    {r->proc_lost, "process records lost"},
	    {r->names, "DNS answers (name records)"},
	    {r->dns_lost, "DNS packets lost (names may be missing)"},
	    {r->dns_bad, "malformed DNS answers ignored"},
	    {r->outcomes_lost, "connection outcomes lost (those attempts read \"unknown\")"},
	    {r->state_missed, "TCP state changes the kernel ran no program for (nested in another "
			      "run on the same CPU): as many outcomes may be missing"},
	};
	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
		if (extra[i].n)
			fprintf(stderr, "conntrail record: %llu %s\n",
				(unsigned long long)extra[i].n, extra[i].what);
}

int cmd_record(int argc, char **argv)
{
	/* zstd by default (DESIGN.md, the man page): zeroed writer opts mean none. */
	struct recorder rec = {.output = "conntrail.data",
			       .backend = -1,
			       .buffer = 8 << 20,
			       .wopts = {.compress = CT_COMP_ZSTD}};
	struct recorder *r = &rec;
	int rc = CT_EXIT_ERROR, go_fd = -1, err_fd = -1;

	int prc = parse_args(r, argc, argv);
	if (prc) {
		rc = prc < 0 ? CT_EXIT_OK : prc;
		goto out;
	}
	derive_writer_opts(r);
	if ((rc = preflight(r)) != 0)
		goto out;
	rc = CT_EXIT_ERROR;
	r->procs = proctable_new();
	r->ctrs = ctr_cache_new("");
	if (!r->procs || !r->ctrs) {
		ct_err("out of memory");
		goto out;
	}
	fill_header(r, argc, argv);
	install_signals();

	if (r->command && fork_command(r, &go_fd, &err_fd))
		goto out;
	r->queueing = 1;
	if (rec_choose_backend(r))
		goto out;
	r->have_bpf = 1;
	r->hdr.backend = rec_backend_name(r->bpf.backend);
	if (!r->bpf.dns_link && r->bpf.dns_why[0] && !r->quiet)
		fprintf(stderr, "conntrail record: no DNS names: %s\n", r->bpf.dns_why);
	if (rec_open_output(r))
		goto out;
	replay_queue(r);
	if (r->command && (rc = release_command(r, &go_fd, &err_fd)) != 0)
		goto out;
	rc = CT_EXIT_ERROR;
	if (poll_loop(r))
		goto out;

	/* Stop the hooks, then take everything still in the ring buffer. */
	rec_bpf_detach(&r->bpf);
	if (!r->write_err && !r->size_reached)
		ring_buffer__consume(r->bpf.rb);
	rec_flush_lost(r);
	if (r->size_reached && !r->quiet)
		fprintf(stderr, "conntrail record: --max-size %llu reached, stopped\n",
			(unsigned long long)r->max_size);
	if (rec_close_output(r) < 0 || r->write_err)
		goto out;
	rc = r->command ? command_status(r) : CT_EXIT_OK;
	if (!r->quiet)
		print_summary(r);
out:
	/* A trace already begun stays readable, even when the run failed. */
	if (r->w && !r->write_err)
		rec_close_output(r);
	else if (r->w)
		ct_writer_abort(r->w);
	if (r->have_bpf)
		rec_bpf_destroy(&r->bpf);
	if (go_fd >= 0)
		close(go_fd); /* a held command sees EOF and exits 127 */
	if (err_fd >= 0)
		close(err_fd);
	if (r->command && r->child > 0 && !r->child_done) {
		kill(r->child, SIGKILL);
		waitpid(r->child, NULL, 0);
	}
	free(r->queue);
	free(r->pids);
	free(r->own_cmdline);
	proctable_free(r->procs);
	ctr_cache_free(r->ctrs);
	return rc;
}
