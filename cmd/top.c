/* SPDX-License-Identifier: MIT */
/*
 * top.c: `conntrail top`, a full-screen view of the connects of a trace as
 * it is written (a followed file, or a stream on standard input), refreshed
 * every second over a sliding window: connects, failures and lost events a
 * second, and the top destinations, processes and failures of the window.
 *
 * A reader thread runs the session (session.h) and appends each event
 * that passes --filter to a queue, in arrival order; the screen thread
 * drops what has left the window and counts the rest for each frame. The
 * window ends now once the reading has caught up with a live writer (or
 * reads a pipe), else at the last event read: a file being caught up on,
 * or a finished one, shows its last seconds. ncurses draws the
 * screen; --batch writes the same frames as text, one an interval, for a
 * pipe or a test (like top -b).
 */
#include <curses.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "export/eventfmt.h"
#include "lib/names.h"
#include "lib/strbuf.h"
#include "lib/text.h"
#include "session/session.h"

#define TOP_QUEUE_MAX (4u << 20) /* events kept for the window: ~100 MiB */
#define TOP_COLS 200		 /* --batch line width */

enum view { V_DEST, V_PROC, V_FAIL, V_COUNT };
enum sort { S_CONNECTS, S_FAILED, S_RECENT, S_NAME, S_COUNT };
static const char *const view_name[V_COUNT] = {"destinations", "processes", "failures"};
static const char *const sort_name[S_COUNT] = {"connects", "failures", "recent", "name"};

/* Interned strings: destinations, process names, failure keys. */
struct strtab {
	char **s;
	uint32_t n, cap;
	uint32_t *slot; /* open addressing: id + 1, 0 empty */
	uint32_t nslot;
};

struct tev {
	int64_t wall;
	uint64_t seq; /* arrival number: a pause counts up to one */
	uint32_t key[V_COUNT];
	uint32_t pid;
	uint8_t failed;
};

struct tlost {
	int64_t wall;
	uint64_t count;
};

struct top {
	/* Options. */
	const char *path;
	const char *filter;
	uint64_t window_ns, delay_ns;
	long long iterations;
	int batch, rows;

	/* Filled by the reader thread, under lock. */
	pthread_mutex_t lock;
	struct ct_session *s;
	struct strtab tab[V_COUNT];
	struct tev *q; /* ring of qcap (a power of two) */
	size_t qhead, qlen, qcap;
	uint64_t seq, dropped;
	struct tlost *lost;
	size_t nlost, caplost;
	uint64_t total, total_failed, total_lost;
	int64_t last_wall;
	int started, ended, status;
	int at_edge; /* caught up with a live writer (or a pipe): the window ends now */
	char host[64], backend[32];

	/* The screen's. */
	enum view view;
	enum sort sort;
	int paused;
	uint64_t paused_seq;
	int64_t paused_end;
};

static volatile sig_atomic_t quit_asked;

static void on_quit_signal(int sig)
{
	(void)sig;
	quit_asked = 1;
}

/* ------------------------------------------------------------ strings */

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static void strtab_grow(struct strtab *t)
{
	uint32_t n = t->nslot ? t->nslot * 2 : 1024;
	uint32_t *slot = ct_xrealloc(NULL, (size_t)n * sizeof(*slot));
	memset(slot, 0, (size_t)n * sizeof(*slot));
	for (uint32_t i = 0; i < t->n; i++) {
		uint32_t h = hash_str(t->s[i]) & (n - 1);
		while (slot[h])
			h = (h + 1) & (n - 1);
		slot[h] = i + 1;
	}
	free(t->slot);
	t->slot = slot;
	t->nslot = n;
}

static uint32_t strtab_id(struct strtab *t, const char *s)
{
	if ((uint64_t)(t->n + 1) * 2 > t->nslot)
		strtab_grow(t);
	uint32_t h = hash_str(s) & (t->nslot - 1);
	while (t->slot[h]) {
		if (!strcmp(t->s[t->slot[h] - 1], s))
			return t->slot[h] - 1;
		h = (h + 1) & (t->nslot - 1);
	}
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		t->s = ct_xrealloc(t->s, t->cap * sizeof(*t->s));
	}
	t->s[t->n] = ct_xrealloc(NULL, strlen(s) + 1);
	strcpy(t->s[t->n], s);
	t->slot[h] = ++t->n;
	return t->n - 1;
}

static void strtab_free(struct strtab *t)
{
	for (uint32_t i = 0; i < t->n; i++)
		free(t->s[i]);
	free(t->s);
	free(t->slot);
}

/* ------------------------------------------------------ reader thread */

static int is_failed(const struct ct_event *ev)
{
	return (ev->flags & CT_EV_ABANDONED) || ((ev->flags & CT_EV_RESULT) && ev->result != 0);
}

static void queue_push(struct top *t, const struct tev *e)
{
	if (t->qlen == t->qcap) {
		if (t->qcap == TOP_QUEUE_MAX) { /* the oldest goes */
			t->qhead = (t->qhead + 1) & (t->qcap - 1);
			t->qlen--;
			t->dropped++;
		} else {
			size_t cap = t->qcap ? t->qcap * 2 : 4096;
			struct tev *q = ct_xrealloc(NULL, cap * sizeof(*q));
			for (size_t i = 0; i < t->qlen; i++)
				q[i] = t->q[(t->qhead + i) & (t->qcap - 1)];
			free(t->q);
			t->q = q;
			t->qhead = 0;
			t->qcap = cap;
		}
	}
	t->q[(t->qhead + t->qlen++) & (t->qcap - 1)] = *e;
}

static int on_begin(void *ctx, struct ct_session *s)
{
	struct top *t = ctx;
	const struct ct_header *h = ct_session_input(s, 0)->hdr;
	pthread_mutex_lock(&t->lock);
	t->s = s;
	ct_term_str(t->host, sizeof(t->host), h->hostname ? h->hostname : "?",
		    strlen(h->hostname ? h->hostname : "?"), 0);
	ct_term_str(t->backend, sizeof(t->backend), h->backend ? h->backend : "?",
		    strlen(h->backend ? h->backend : "?"), 0);
	t->started = 1;
	pthread_mutex_unlock(&t->lock);
	return 0;
}

static int on_batch(void *ctx, const struct ct_batch *b, unsigned input)
{
	struct top *t = ctx;
	char dest[4 * CT_UNIX_PATH_MAX + 64], key[sizeof(dest) + 32],
	    comm[CT_TERM_MAX(CT_COMM_LEN)];
	struct ct_event ev;

	pthread_mutex_lock(&t->lock);
	for (uint32_t i = 0; i < b->n; i++) {
		ct_batch_event(b, i, &ev);
		struct tev e = {.wall = ct_session_wall_ns(t->s, input, ev.ts_ns),
				.seq = t->seq++,
				.pid = ev.task->pid,
				.failed = (uint8_t)is_failed(&ev)};
		ct_fmt_dest(dest, sizeof(dest), &ev);
		e.key[V_DEST] = strtab_id(&t->tab[V_DEST], dest);
		size_t n =
		    ct_term_escape(comm, ev.task->comm, strnlen(ev.task->comm, CT_COMM_LEN), 0);
		comm[n] = '\0';
		e.key[V_PROC] = strtab_id(&t->tab[V_PROC], comm);
		e.key[V_FAIL] = UINT32_MAX;
		if (e.failed) {
			snprintf(key, sizeof(key), "%s\t%s", ct_fmt_result(&ev), dest);
			e.key[V_FAIL] = strtab_id(&t->tab[V_FAIL], key);
			t->total_failed++;
		}
		queue_push(t, &e);
		t->total++;
		if (e.wall > t->last_wall)
			t->last_wall = e.wall;
	}
	pthread_mutex_unlock(&t->lock);
	return 0;
}

static int on_lost(void *ctx, const struct ct_lost *l, unsigned input)
{
	struct top *t = ctx;
	if (l->kind != CT_LOST_CONNECTS)
		return 0;
	pthread_mutex_lock(&t->lock);
	if (t->nlost == t->caplost) {
		t->caplost = t->caplost ? t->caplost * 2 : 64;
		t->lost = ct_xrealloc(t->lost, t->caplost * sizeof(*t->lost));
	}
	t->lost[t->nlost++] = (struct tlost){ct_session_wall_ns(t->s, input, l->ts_ns), l->count};
	t->total_lost += l->count;
	pthread_mutex_unlock(&t->lock);
	return 0;
}

/* Asked when the follow has caught up with the writer and waits for more
 * (format/follow.c): from then on the window ends now, not at the last
 * event read. */
static int stop_asked(void *ctx, int caught_up)
{
	struct top *t = ctx;
	if (caught_up) {
		pthread_mutex_lock(&t->lock);
		t->at_edge = 1;
		pthread_mutex_unlock(&t->lock);
	}
	return quit_asked;
}

static void *reader_main(void *arg)
{
	struct top *t = arg;
	const char *paths[1] = {t->path};
	struct ct_session_opts opts = {.paths = paths,
				       .npaths = 1,
				       .filter = t->filter,
				       .quiet = 1,
				       .follow = 1,
				       .stop = stop_asked,
				       .stop_ctx = t,
				       .columns = CT_COL_RESULT};
	static const struct ct_session_ops ops = {
	    .begin = on_begin, .batch = on_batch, .lost = on_lost};
	int status = ct_session_run(&opts, &ops, t);
	pthread_mutex_lock(&t->lock);
	t->status = status;
	t->ended = 1;
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

/* ------------------------------------------------------------- frames */

struct row {
	uint32_t id;
	uint64_t connects, failed;
	int64_t last;
	uint32_t pid;
};

struct frame {
	struct ct_buf text; /* lines, each ending in '\n' */
};

static const struct strtab *sort_tab;
static enum sort sort_by;

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = 0;
	switch (sort_by) {
	case S_CONNECTS:
		c = (y->connects > x->connects) - (y->connects < x->connects);
		break;
	case S_FAILED:
		c = (y->failed > x->failed) - (y->failed < x->failed);
		break;
	case S_RECENT:
		c = (y->last > x->last) - (y->last < x->last);
		break;
	case S_NAME:
	case S_COUNT:
		break;
	}
	if (!c && sort_by != S_CONNECTS)
		c = (y->connects > x->connects) - (y->connects < x->connects);
	return c ? c : strcmp(sort_tab->s[x->id], sort_tab->s[y->id]);
}

/* Forget what has left the window ending at end (not while paused). */
static void prune(struct top *t, int64_t start)
{
	while (t->qlen && t->q[t->qhead].wall < start) {
		t->qhead = (t->qhead + 1) & (t->qcap - 1);
		t->qlen--;
	}
	size_t k = 0;
	while (k < t->nlost && t->lost[k].wall < start)
		k++;
	if (k) {
		memmove(t->lost, t->lost + k, (t->nlost - k) * sizeof(*t->lost));
		t->nlost -= k;
	}
}

/* A line of at most width columns (text from a trace is escaped already). */
static void put_line(struct frame *f, int width, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void put_line(struct frame *f, int width, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (n >= (int)sizeof(line))
		n = (int)sizeof(line) - 1;
	if (n > width)
		n = width;
	while (n > 0 && line[n - 1] == ' ')
		n--;
	ct_buf_put(&f->text, line, (size_t)n);
	ct_buf_put(&f->text, "\n", 1);
}

static void fmt_ago(char *buf, size_t size, int64_t ns)
{
	if (ns < 0)
		ns = 0;
	snprintf(buf, size, "%llds", (long long)(ns / 1000000000));
}

static void put_rows(struct top *t, struct frame *f, int width, int nrows, struct row *rows,
		     uint32_t n, int64_t end, double secs)
{
	const struct strtab *tab = &t->tab[t->view];
	sort_tab = tab;
	sort_by = t->sort;
	qsort(rows, n, sizeof(*rows), row_cmp);
	put_line(f, width, "Top %s by %s (%u of %u)", view_name[t->view], sort_name[t->sort],
		 n < (uint32_t)nrows ? n : (uint32_t)nrows, n);
	if (t->view == V_FAIL)
		put_line(f, width, "  %8s %8s %6s  %-14s %s", "FAILED", "FAIL/s", "LAST", "RESULT",
			 "DESTINATION");
	else
		put_line(f, width, "  %8s %8s %8s %6s  %s", "CONNECTS", "/s", "FAILED", "LAST",
			 t->view == V_DEST ? "DESTINATION" : "PROCESS (LAST PID)");
	for (uint32_t i = 0; i < n && i < (uint32_t)nrows; i++) {
		const struct row *r = &rows[i];
		char ago[32];
		fmt_ago(ago, sizeof(ago), end - r->last);
		const char *name = tab->s[r->id];
		if (t->view == V_FAIL) {
			const char *tab_at = strchr(name, '\t');
			int elen = tab_at ? (int)(tab_at - name) : (int)strlen(name);
			put_line(f, width, "  %8llu %8.1f %6s  %-14.*s %s",
				 (unsigned long long)r->failed, (double)r->failed / secs, ago, elen,
				 name, tab_at ? tab_at + 1 : "");
		} else if (t->view == V_PROC) {
			put_line(f, width, "  %8llu %8.1f %8llu %6s  %s (%u)",
				 (unsigned long long)r->connects, (double)r->connects / secs,
				 (unsigned long long)r->failed, ago, name, r->pid);
		} else {
			put_line(f, width, "  %8llu %8.1f %8llu %6s  %s",
				 (unsigned long long)r->connects, (double)r->connects / secs,
				 (unsigned long long)r->failed, ago, name);
		}
	}
}

/* Count the window ending at end and draw it into f: the head, then as
 * many rows as fit in height lines (the caller keeps one for its keys). */
static void make_frame(struct top *t, struct frame *f, int width, int height)
{
	int64_t end;
	f->text.len = 0;
	pthread_mutex_lock(&t->lock);
	if (t->paused)
		end = t->paused_end;
	else
		end = t->ended || !t->at_edge ? t->last_wall : (int64_t)ct_now_ns(CLOCK_REALTIME);
	int64_t start = end - (int64_t)t->window_ns;
	if (!t->paused)
		prune(t, start);
	uint64_t limit = t->paused ? t->paused_seq : UINT64_MAX;
	struct strtab *tab = &t->tab[t->view];
	struct row *rows = calloc(tab->n ? tab->n : 1, sizeof(*rows));
	uint32_t *at = malloc((tab->n ? tab->n : 1) * sizeof(*at));
	uint64_t connects = 0, failed = 0, lost = 0;
	uint32_t nrows = 0;
	for (size_t i = 0; rows && at && i < t->qlen; i++) {
		const struct tev *e = &t->q[(t->qhead + i) & (t->qcap - 1)];
		if (e->seq >= limit || e->wall < start || e->wall > end)
			continue;
		connects++;
		failed += e->failed;
		uint32_t k = e->key[t->view];
		if (k == UINT32_MAX)
			continue;
		if (!rows[k].connects && !rows[k].failed) {
			at[nrows++] = k;
			rows[k].id = k;
		}
		rows[k].connects++;
		rows[k].failed += e->failed;
		if (e->wall >= rows[k].last) {
			rows[k].last = e->wall;
			rows[k].pid = e->pid;
		}
	}
	for (size_t i = 0; i < t->nlost; i++)
		if (t->lost[i].wall >= start && t->lost[i].wall <= end)
			lost += t->lost[i].count;
	double secs = (double)t->window_ns / 1e9;
	char when[48];
	ct_fmt_rfc3339(when, sizeof(when), end);
	const char *state = t->paused			 ? "PAUSED"
			    : t->ended && t->status != 0 ? "ENDED (error)"
			    : t->ended			 ? "ENDED"
			    : t->started		 ? "LIVE"
							 : "WAITING";
	put_line(f, width, "conntrail top - %s  host %s  backend %s  window %gs  %.19s  %s",
		 t->path, t->host[0] ? t->host : "?", t->backend[0] ? t->backend : "?", secs, when,
		 state);
	put_line(f, width, "connects/s %9.1f   failures/s %9.1f   lost/s %9.1f", connects / secs,
		 failed / secs, lost / secs);
	put_line(f, width,
		 "window: %llu connects, %llu failed, %llu lost   total: %llu connects, "
		 "%llu failed, %llu lost%s%s",
		 (unsigned long long)connects, (unsigned long long)failed, (unsigned long long)lost,
		 (unsigned long long)t->total, (unsigned long long)t->total_failed,
		 (unsigned long long)t->total_lost, t->filter ? "   filter: " : "",
		 t->filter ? t->filter : "");
	put_line(f, width, "%s", "");
	/* rows[] is indexed by key id; gather the ones seen, in place. */
	struct row *seen = malloc((nrows ? nrows : 1) * sizeof(*seen));
	for (uint32_t i = 0; seen && i < nrows; i++)
		seen[i] = rows[at[i]];
	int fit = height - 6;
	if (seen)
		put_rows(t, f, width, fit < 0 ? 0 : fit, seen, nrows, end, secs);
	pthread_mutex_unlock(&t->lock);
	free(seen);
	free(rows);
	free(at);
}

/* ------------------------------------------------------------- screens */

/* The input could not be read at all (no such file, not a trace). */
static int failed_early(struct top *t)
{
	pthread_mutex_lock(&t->lock);
	int failed = t->ended && !t->started;
	pthread_mutex_unlock(&t->lock);
	return failed;
}

static const char keys_help[] =
    "[1] destinations [2] processes [3] failures [tab] next  [s] sort  [space] pause  [q] quit";

/* One key press: 1 to quit, else 0. */
static int on_key(struct top *t, int ch)
{
	switch (ch) {
	case 'q':
	case 'Q':
		return 1;
	case '1':
	case '2':
	case '3':
		t->view = (enum view)(ch - '1');
		break;
	case '\t':
	case KEY_RIGHT:
		t->view = (enum view)((t->view + 1) % V_COUNT);
		break;
	case KEY_BTAB:
	case KEY_LEFT:
		t->view = (enum view)((t->view + V_COUNT - 1) % V_COUNT);
		break;
	case 's':
		t->sort = (enum sort)((t->sort + 1) % S_COUNT);
		break;
	case ' ':
	case 'p':
		pthread_mutex_lock(&t->lock);
		t->paused = !t->paused;
		t->paused_seq = t->seq;
		t->paused_end = t->ended ? t->last_wall : (int64_t)ct_now_ns(CLOCK_REALTIME);
		pthread_mutex_unlock(&t->lock);
		break;
	}
	return 0;
}

static void draw(struct top *t, struct frame *f)
{
	int h = LINES, w = COLS;
	make_frame(t, f, w, t->rows ? (t->rows + 6 < h - 1 ? t->rows + 6 : h - 1) : h - 1);
	erase();
	int y = 0;
	for (const char *p = f->text.p, *end = p + f->text.len; p < end && y < h - 1; y++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (y == 0 || y == 4)
			attron(A_BOLD);
		mvaddnstr(y, 0, p, (int)(nl - p));
		if (y == 0 || y == 4)
			attroff(A_BOLD);
		p = nl + 1;
	}
	attron(A_REVERSE);
	mvaddnstr(h - 1, 0, keys_help, w);
	attroff(A_REVERSE);
	refresh();
}

/* The terminal: /dev/tty, as standard input may be the trace. */
static int run_screen(struct top *t)
{
	FILE *tty = fopen("/dev/tty", "r+");
	if (!tty) {
		ct_err("no terminal (/dev/tty: %s); use --batch", strerror(errno));
		return CT_EXIT_USAGE;
	}
	SCREEN *scr = newterm(NULL, tty, tty);
	if (!scr) {
		ct_err("cannot start the screen (TERM=%s); use --batch",
		       getenv("TERM") ? getenv("TERM") : "");
		fclose(tty);
		return CT_EXIT_ERROR;
	}
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	timeout(100);
	struct frame f = {0};
	uint64_t next = 0;
	long long frames = 0;
	while (!quit_asked && !failed_early(t)) {
		uint64_t now = ct_now_ns(CLOCK_MONOTONIC);
		if (now >= next) {
			draw(t, &f);
			next = now + t->delay_ns;
			if (t->iterations && ++frames >= t->iterations)
				break;
		}
		int ch = getch();
		if (ch == ERR)
			continue;
		if (ch == KEY_RESIZE) {
			clear();
		} else if (on_key(t, ch)) {
			break;
		}
		draw(t, &f);
	}
	endwin();
	delscreen(scr);
	fclose(tty);
	ct_buf_free(&f.text);
	return CT_EXIT_OK;
}

/* --batch: a frame an interval on stdout, until -n frames or the end. */
static int run_batch(struct top *t)
{
	struct frame f = {0};
	long long frames = 0;
	for (;;) {
		uint64_t until = ct_now_ns(CLOCK_MONOTONIC) + t->delay_ns;
		int ended = 0;
		while (!quit_asked && ct_now_ns(CLOCK_MONOTONIC) < until) {
			pthread_mutex_lock(&t->lock);
			ended = t->ended;
			pthread_mutex_unlock(&t->lock);
			if (ended)
				break;
			struct timespec ts = {0, 20000000};
			nanosleep(&ts, NULL);
		}
		if (failed_early(t))
			break; /* it said why: no frame of nothing */
		make_frame(t, &f, TOP_COLS, t->rows ? t->rows + 6 : 16);
		ct_buf_put(&f.text, "\n", 1);
		if (fwrite(f.text.p, 1, f.text.len, stdout) != f.text.len || fflush(stdout)) {
			ct_buf_free(&f.text);
			return errno == EPIPE ? CT_EXIT_OK : CT_EXIT_ERROR;
		}
		if (ended || quit_asked || (t->iterations && ++frames >= t->iterations))
			break;
	}
	ct_buf_free(&f.text);
	return CT_EXIT_OK;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: conntrail top [FILE|-] [--filter EXPR] [--window DURATION]\n"
		"                     [--delay DURATION] [--top N] [--batch] [-n COUNT]\n"
		"\n"
		"A full-screen view of the connects of a trace while it is recorded: connects,\n"
		"failures and lost events a second over a sliding window, and the top\n"
		"destinations, processes and failures of that window, refreshed every second.\n"
		"FILE (default conntrail.data) is followed as 'script --follow' does; '-' reads\n"
		"a stream on standard input (record -o - | conntrail top -). Once the input has\n"
		"ended, the window shows its last seconds.\n"
		"\n"
		"  -F, --filter EXPR  only connects matching EXPR (see conntrail-report(1))\n"
		"  -w, --window D     the sliding window (default 10s; 500ms, 1m)\n"
		"  -d, --delay D      time between frames (default 1s)\n"
		"  -t, --top N        rows of the table (default: what fits; 10 with --batch)\n"
		"  -b, --batch        no screen: a text frame every interval on stdout\n"
		"  -n, --iterations N stop after N frames\n"
		"\n"
		"Keys: 1 destinations, 2 processes, 3 failures, Tab next view, s sort (connects,\n"
		"failures, recent, name), space pause, q quit.\n"
		"\n"
		"Examples:\n"
		"  conntrail record -o live.ctr --flush 100ms &  conntrail top live.ctr\n"
		"  conntrail record -o - | conntrail top -\n"
		"  conntrail top --batch -n 5 --filter 'result != ok' live.ctr\n");
}

static int top_opt(void *ctx, int c, const char *arg)
{
	struct top *t = ctx;
	long long v;

	switch (c) {
	case 'F':
		t->filter = arg;
		break;
	case 'w':
	case 'd': {
		uint64_t ns;
		if (ct_parse_duration(arg, &ns) || ns < 100000000ull) {
			ct_err("--%s %s: expected a duration of at least 100ms (10s, 1m)",
			       c == 'w' ? "window" : "delay", arg);
			return CT_EXIT_USAGE;
		}
		*(c == 'w' ? &t->window_ns : &t->delay_ns) = ns;
		break;
	}
	case 't':
	case 'n':
		if (ct_parse_long(arg, 1, 1000000, &v)) {
			ct_err("%s %s: expected a number from 1", c == 't' ? "--top" : "-n", arg);
			return CT_EXIT_USAGE;
		}
		if (c == 't')
			t->rows = (int)v;
		else
			t->iterations = v;
		break;
	case 'b':
		t->batch = 1;
		break;
	}
	return 0;
}

static int parse_args(struct top *t, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"filter", required_argument, NULL, 'F'}, {"window", required_argument, NULL, 'w'},
	    {"delay", required_argument, NULL, 'd'},  {"top", required_argument, NULL, 't'},
	    {"batch", no_argument, NULL, 'b'},	      {"iterations", required_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},	      {NULL, 0, NULL, 0},
	};
	int rc = ct_getopt(argc, argv, "F:w:d:t:bn:h", longopts, usage, top_opt, t);

	if (rc == CT_EXIT_OK)
		return -1; /* --help */
	if (rc != CT_OPTS_DONE)
		return rc;
	if (argc - optind > 1) {
		ct_err("%s: one FILE (or -) at a time", argv[optind + 1]);
		return CT_EXIT_USAGE;
	}
	t->path = optind < argc ? argv[optind] : "conntrail.data";
	return 0;
}

/* What the reader thread said on stderr while the screen was up, after. */
static void replay_stderr(FILE *saved, int fd)
{
	if (!saved)
		return;
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	close(fd);
	rewind(saved);
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), saved)) > 0)
		if (fwrite(buf, 1, n, stderr) != n)
			break;
	fclose(saved);
}

int cmd_top(int argc, char **argv)
{
	struct top t = {.window_ns = 10000000000ull, .delay_ns = 1000000000ull};
	int rc = parse_args(&t, argc, argv);
	if (rc)
		return rc < 0 ? CT_EXIT_OK : rc;
	pthread_mutex_init(&t.lock, NULL);
	struct sigaction sa = {.sa_handler = on_quit_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* The reader's errors wait in a file while the screen is up. */
	FILE *held = NULL;
	int saved_fd = -1;
	if (!t.batch && (held = tmpfile()) != NULL) {
		saved_fd = dup(STDERR_FILENO);
		if (saved_fd < 0 || dup2(fileno(held), STDERR_FILENO) < 0) {
			fclose(held);
			held = NULL;
		}
	}
	t.at_edge = !strcmp(t.path, "-"); /* a pipe is live by nature */
	pthread_t th;
	if (pthread_create(&th, NULL, reader_main, &t)) {
		replay_stderr(held, saved_fd);
		ct_err("cannot start the reader thread");
		return CT_EXIT_ERROR;
	}
	rc = t.batch ? run_batch(&t) : run_screen(&t);
	replay_stderr(held, saved_fd);
	pthread_mutex_lock(&t.lock);
	int ended = t.ended, status;
	pthread_mutex_unlock(&t.lock);
	quit_asked = 1;
	if (!ended && !strcmp(t.path, "-")) {
		/* Quit while a pipe is live: its reader may wait in read(2) for
		 * ever and cannot be stopped, so the process ends here. */
		fflush(stdout);
		fflush(stderr);
		_exit(rc);
	}
	/* A followed file's reader stops at its next look (format/follow.c). */
	pthread_join(th, NULL);
	pthread_mutex_lock(&t.lock);
	status = t.status;
	pthread_mutex_unlock(&t.lock);
	for (int i = 0; i < V_COUNT; i++)
		strtab_free(&t.tab[i]);
	free(t.q);
	free(t.lost);
	return rc ? rc : status;
}
