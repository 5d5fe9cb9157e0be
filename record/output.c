/* SPDX-License-Identifier: MIT */
/*
 * output.c: the trace files record writes: created (an existing one kept
 * as FILE.old), rotated at --max-size, and each begun with the process
 * context so it reads on its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "bpf/conntrail_event.h"
#include "lib/util.h"
#include "record/procfs.h"
#include "record/record.h"

static int snapshot_one(void *ctx, pid_t pid)
{
	struct recorder *r = ctx;
	struct proc_facts *f;
	struct ct_proc p = {0};
	int err = 0;

	if (pid == getpid() || pid == r->probe_pid)
		return 0;
	if ((r->npids || r->command) && !rec_bpf_is_traced(&r->bpf, (uint32_t)pid))
		return 0;
	f = malloc(sizeof(*f));
	if (!f)
		return 0;
	if (procfs_read(pid, f) == 0) {
		p.kind = CT_PROC_SNAPSHOT;
		p.ts_ns = r->hdr.start_ts_ns;
		p.task = f->task;
		p.exe = f->exe[0] ? f->exe : NULL;
		p.cmdline = f->cmdline[0] ? f->cmdline : NULL;
		p.container = f->container[0] ? f->container : NULL;
		err = ct_writer_proc(r->w, &p);
		if (err < 0)
			rec_write_err(r, err, "write");
		else
			proctable_put(r->procs, &p);
	}
	free(f);
	return err < 0 ? -1 : 0;
}

static int replay_proc(void *ctx, const struct ct_proc *p)
{
	struct recorder *r = ctx;
	int err = ct_writer_proc(r->w, p);

	return err < 0 ? rec_write_err(r, err, "write") : 0;
}

int rec_open_output(struct recorder *r)
{
	int err;

	if (r->rotate) {
		snprintf(r->cur_path, sizeof(r->cur_path), "%s.%u", r->output, r->file_index);
		/* Replace the oldest file of the ring, never write through a link. */
		if (unlink(r->cur_path) && errno != ENOENT) {
			ct_err("%s: cannot replace: %s", r->cur_path, strerror(errno));
			return -1;
		}
	} else {
		snprintf(r->cur_path, sizeof(r->cur_path), "%s", r->output);
	}
	err = ct_writer_open_file(&r->w, r->cur_path, &r->hdr, &r->wopts);
	if (err < 0) {
		ct_err("%s: cannot create: %s%s%s", r->cur_path, ct_strerror(err),
		       err == CT_E_IO ? ": " : "", err == CT_E_IO ? strerror(errno) : "");
		r->w = NULL;
		return -1;
	}
	/* Every file gets the process context, so each reads on its own: the
	 * first from /proc, later ones from what the recorder has learnt
	 * (the processes may be gone from /proc by the time a file opens). */
	if (r->file_index == 0 && !r->bytes_done)
		procfs_each_pid(snapshot_one, r);
	else
		proctable_each(r->procs, replay_proc, r);
	/* On disk at once: a recorder killed in its first second still
	 * leaves the process context behind. */
	if (!r->write_err && (err = ct_writer_flush(r->w)) < 0)
		rec_write_err(r, err, "write");
	return r->write_err ? -1 : 0;
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	if (!strcmp(path, "-") || stat(path, &st))
		return 0;
	return (uint64_t)st.st_size;
}

int rec_close_output(struct recorder *r)
{
	int err;

	if (!r->w)
		return 0;
	uint64_t written = ct_writer_bytes(r->w);
	err = ct_writer_close(r->w);
	r->w = NULL;
	uint64_t size = file_size(r->cur_path);
	r->bytes_done += size ? size : written;
	if (err < 0)
		return rec_write_err(r, err, "close");
	return 0;
}

/* --max-size reached: next file of the ring, or stop without --rotate. */
int rec_rotate_or_stop(struct recorder *r)
{
	if (!r->rotate) {
		r->size_reached = 1;
		return 1; /* ends this ring-buffer pass; the loop stops */
	}
	if (rec_close_output(r) < 0)
		return -1;
	r->file_index = (r->file_index + 1) % r->rotate;
	return rec_open_output(r) < 0 ? -1 : 0;
}

/* perf-style: an existing trace becomes FILE.old rather than vanishing. */
void rec_keep_old(const char *path)
{
	struct stat st;
	char old[PATH_MAX];

	if (!strcmp(path, "-") || lstat(path, &st) || !S_ISREG(st.st_mode) || st.st_size == 0)
		return;
	snprintf(old, sizeof(old), "%s.old", path);
	rename(path, old);
}
