/* SPDX-License-Identifier: MIT */
/*
 * follow.c: reading a trace file while it is being written (`script
 * --follow`, `top FILE`), like tail -f. The file is read as a stream from
 * its first byte; a read that finds no new bytes waits for the writer
 * instead of ending, for as long as a writer holds the file.
 *
 * Who is writing: `conntrail record` holds an exclusive flock(2) on its
 * output from its creation until its trailer is written and it is closed
 * (record/output.c). At the end of the bytes there are, a follower that can
 * take a shared lock knows that nobody writes the file any more, reads once
 * more (bytes written just before the writer let go) and ends there. So a
 * finished file, a file whose recorder was killed and a copy all end at
 * their last byte; only a file some process keeps locked is waited on,
 * and that wait ends when the caller's stop() says so (Ctrl-C). The probe
 * holds the shared lock for two system calls; a recorder takes its lock on
 * a file it has just created waiting, not failing, so a probe at that
 * moment cannot turn it away.
 *
 * New bytes are waited for with inotify (IN_MODIFY, IN_CLOSE_WRITE) and a
 * poll timeout, so a writer that appends in place or a filesystem without
 * inotify events is seen within the timeout too.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctrace.h"

struct follow_in {
	int fd;
	int ino_fd; /* inotify, or -1 */
	int (*stop)(void *ctx, int caught_up);
	void *stop_ctx;
	int wait_ms;
	uint64_t got; /* bytes read so far */
};

/* 1 when some process holds the file locked (a writer), else 0. */
static int writer_holds(int fd)
{
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		flock(fd, LOCK_UN);
		return 0;
	}
	return errno == EWOULDBLOCK;
}

/* Wait for the file to change, the timeout, or a signal. */
static void wait_change(struct follow_in *f)
{
	if (f->ino_fd < 0) {
		struct pollfd none = {.fd = -1};
		poll(&none, 0, f->wait_ms);
		return;
	}
	struct pollfd p = {.fd = f->ino_fd, .events = POLLIN};
	if (poll(&p, 1, f->wait_ms) > 0) {
		char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
		while (read(f->ino_fd, ev, sizeof(ev)) > 0)
			; /* drained: only "something changed" matters */
	}
}

static ssize_t follow_read(void *ctx, void *buf, size_t len)
{
	struct follow_in *f = ctx;
	for (;;) {
		if (f->stop && f->stop(f->stop_ctx, 0))
			return 0;
		ssize_t n = read(f->fd, buf, len);
		if (n > 0) {
			f->got += (uint64_t)n;
			return n;
		}
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return CT_E_IO;
		/* At the end of what is there: nobody writing means the end. */
		if (n == 0 && !writer_holds(f->fd)) {
			n = read(f->fd, buf, len);
			if (n > 0)
				f->got += (uint64_t)n;
			return n < 0 ? CT_E_IO : n;
		}
		/* Caught up with a live writer: say so, then wait. */
		if (n == 0 && f->stop && f->stop(f->stop_ctx, 1))
			return 0;
		if (n == 0)
			wait_change(f);
	}
}

static int follow_close(void *ctx)
{
	struct follow_in *f = ctx;
	close(f->fd);
	if (f->ino_fd >= 0)
		close(f->ino_fd);
	free(f);
	return 0;
}

int ct_reader_open_follow(struct ct_reader **out, const char *path,
			  const struct ct_reader_opts *opts, const struct ct_follow_opts *fo)
{
	*out = NULL;
	if (!path)
		return CT_E_INVAL;
	if (!strcmp(path, "-")) /* standard input is a stream already */
		return ct_reader_open_file(out, path, opts);
	struct follow_in *f = calloc(1, sizeof(*f));
	if (!f)
		return CT_E_NOMEM;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0) {
		int e = errno;
		free(f);
		errno = e;
		return CT_E_IO;
	}
	f->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (f->ino_fd >= 0 && inotify_add_watch(f->ino_fd, path, IN_MODIFY | IN_CLOSE_WRITE) < 0) {
		close(f->ino_fd);
		f->ino_fd = -1;
	}
	if (fo) {
		f->stop = fo->stop;
		f->stop_ctx = fo->ctx;
		f->wait_ms = fo->wait_ms;
	}
	if (f->wait_ms <= 0)
		f->wait_ms = 200;
	struct ct_reader_io io = {.ctx = f, .read = follow_read, .size = -1, .close = follow_close};
	struct ct_reader_opts o = {0};
	if (opts)
		o = *opts;
	if (!o.name)
		o.name = path;
	int err = ct_reader_open(out, &io, &o);
	if (err) {
		int e = errno;
		follow_close(f);
		errno = e;
	}
	return err;
}
