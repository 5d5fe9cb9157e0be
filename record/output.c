/* SPDX-License-Identifier: MIT */
/*
 * output.c: the trace files record writes: created (an existing one kept
 * as FILE.old), rotated at --max-size, and each begun with the process
 * context so it reads on its own.
 *
 * A trace names every connect and command line: the path is opened so
 * that nobody else gets it. A new file is created 0600 with O_EXCL; a
 * FIFO or device is written only when it is not another user's in a
 * sticky world-writable directory (/tmp: fs.protected_fifos does not
 * apply without O_CREAT), opened O_NONBLOCK so a FIFO without a reader
 * is an error rather than a hang; a symbolic link is never followed; and
 * the file is locked (flock) so that a second recorder on it refuses
 * rather than moving the first one's live file away.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "bpf/conntrail_event.h"
#include "lib/outfile.h"
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
		ctr_fill_proc(r->ctrs, &p);
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

/* Is another recorder writing the regular file at path (st its lstat)? */
static int locked_by_other(const char *path, const struct stat *st)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	struct stat fs;
	int busy = fstat(fd, &fs) == 0 && fs.st_ino == st->st_ino && fs.st_dev == st->st_dev &&
		   flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return busy;
}

/* The trace's descriptor for path, or -1 after one error line. An
 * existing regular file is kept as path.old (keep_old) or removed (a
 * file of the --rotate ring). */
static int open_trace(const char *path, int keep_old, int *own)
{
	*own = 1;
	if (ct_path_is_stdout(path)) {
		*own = 0;
		return STDOUT_FILENO;
	}
	for (int tries = 0; tries < 3; tries++) {
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0) {
			/* Ours from its first byte: a second recorder sees the lock.
			 * Taken waiting: a follower (script --follow) may be
			 * probing it for a moment (format/follow.c). */
			if (flock(fd, LOCK_EX) < 0) {
				ct_err("%s: another recorder is writing it", path);
				close(fd);
				return -1;
			}
			return fd;
		}
		if (errno != EEXIST) {
			ct_err("%s: cannot create: %s", path, strerror(errno));
			return -1;
		}
		struct stat st;
		if (lstat(path, &st) < 0)
			continue; /* gone meanwhile: create it */
		if (S_ISLNK(st.st_mode)) {
			ct_err("%s: is a symbolic link; refusing to follow it", path);
			return -1;
		}
		if (ct_path_foreign_sticky(path, &st)) {
			ct_err("%s: belongs to uid %u in a sticky world-writable directory; "
			       "refusing to write into it",
			       path, (unsigned)st.st_uid);
			return -1;
		}
		if (S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISSOCK(st.st_mode)) {
			ct_err("%s: is a %s; refusing to write a trace there", path,
			       S_ISDIR(st.st_mode)   ? "directory"
			       : S_ISBLK(st.st_mode) ? "block device"
						     : "socket");
			return -1;
		}
		if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
			/* Never block here: a FIFO nobody reads is an error. */
			fd = open(path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
			if (fd < 0) {
				ct_err("%s: %s", path,
				       errno == ENXIO && S_ISFIFO(st.st_mode)
					   ? "a FIFO that nobody reads"
					   : strerror(errno));
				return -1;
			}
			struct stat fs;
			int fl = fcntl(fd, F_GETFL);
			if (fstat(fd, &fs) < 0 || fs.st_ino != st.st_ino ||
			    fs.st_dev != st.st_dev || fl < 0 ||
			    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
				ct_err("%s: changed while being opened", path);
				close(fd);
				return -1;
			}
			/* Two recorders into one FIFO would interleave their
			 * chunks; a device such as /dev/null takes anything. */
			if (S_ISFIFO(st.st_mode) && flock(fd, LOCK_EX | LOCK_NB) < 0) {
				ct_err("%s: another recorder is writing it", path);
				close(fd);
				return -1;
			}
			return fd;
		}
		/* A regular file: a live trace of another recorder stays. */
		if (locked_by_other(path, &st)) {
			ct_err("%s: another recorder is writing it", path);
			return -1;
		}
		if (keep_old && st.st_size > 0) {
			char old[PATH_MAX];
			if (snprintf(old, sizeof(old), "%s.old", path) >= (int)sizeof(old) ||
			    rename(path, old) < 0) {
				ct_err("%s: cannot keep the existing file as %s.old: %s", path,
				       path, strerror(errno));
				return -1;
			}
		} else if (unlink(path) < 0 && errno != ENOENT) {
			ct_err("%s: cannot replace: %s", path, strerror(errno));
			return -1;
		}
	}
	ct_err("%s: cannot create: %s", path, strerror(EEXIST));
	return -1;
}

int rec_open_output(struct recorder *r)
{
	int err, own;

	if (r->rotate) {
		if (snprintf(r->cur_path, sizeof(r->cur_path), "%s.%u", r->output, r->file_index) >=
		    (int)sizeof(r->cur_path)) {
			ct_err("%s: name too long", r->output);
			return -1;
		}
	} else {
		snprintf(r->cur_path, sizeof(r->cur_path), "%s", r->output);
	}
	/* The first file keeps an existing trace as FILE.old (perf-style);
	 * the ring replaces its oldest file. */
	int fd = open_trace(r->cur_path, !r->rotate, &own);
	r->hdr.file_seq = r->file_seq;
	r->hdr.rotate_files = r->rotate;
	if (fd < 0)
		return -1;
	err = ct_writer_open_fd(&r->w, fd, own, &r->hdr, &r->wopts);
	if (err < 0) {
		ct_err("%s: cannot create: %s", r->cur_path, ct_strerror(err));
		r->w = NULL; /* the writer closed fd */
		return -1;
	}
	/* Every file gets the process context, so each reads on its own: the
	 * first from /proc, later ones from what the recorder has learnt
	 * (the processes may be gone from /proc by the time a file opens). */
	if (r->file_seq == 0)
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

	if (ct_path_is_stdout(path) || stat(path, &st) || !S_ISREG(st.st_mode))
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
	if (r->rotate == 1) { /* the ring's one name is this file's */
		if (rec_close_output(r) < 0)
			return -1;
		r->file_seq++;
		return rec_open_output(r) < 0 ? -1 : 0;
	}
	/* The next file is made before this one gets its trailer, so a
	 * follower (script --follow) that reads the trailer finds the file it
	 * goes on with already there, with its header (session/follow.c). */
	struct ct_writer *old = r->w;
	char old_path[PATH_MAX];
	memcpy(old_path, r->cur_path, sizeof(old_path));
	r->w = NULL;
	r->file_index = (r->file_index + 1) % r->rotate;
	r->file_seq++;
	int err = rec_open_output(r);
	struct ct_writer *next = r->w;
	char next_path[PATH_MAX];
	memcpy(next_path, r->cur_path, sizeof(next_path));
	r->w = old;
	memcpy(r->cur_path, old_path, sizeof(old_path));
	if (rec_close_output(r) < 0)
		err = -1;
	r->w = next;
	memcpy(r->cur_path, next_path, sizeof(next_path));
	return err < 0 ? -1 : 0;
}
