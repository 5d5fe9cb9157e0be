/* SPDX-License-Identifier: MIT */
/*
 * outfile.h: where a command's output file goes. A regular file (or a new
 * name) is written to a temporary file beside it and renamed over it when
 * complete; a character device or FIFO (/dev/null, /dev/stdout on a pipe or
 * terminal) is written in place and never replaced; the names of standard
 * output write standard output; anything else, and a file that is one of
 * the inputs, is refused.
 */
#ifndef CONNTRAIL_LIB_OUTFILE_H
#define CONNTRAIL_LIB_OUTFILE_H

#include <limits.h>
#include <sys/stat.h>
#include <sys/types.h>

enum ct_outfile_kind {
	CT_OUTF_STDOUT,	 /* fd 1, not ours to close */
	CT_OUTF_INPLACE, /* a device or FIFO we opened */
	CT_OUTF_TEMP,	 /* our temporary file, renamed over path on commit */
};

struct ct_outfile {
	int fd;
	enum ct_outfile_kind kind;
	const char *path;
	char tmp[PATH_MAX];
};

/* "-", /dev/stdout, /dev/fd/1, /proc/self/fd/1. */
int ct_path_is_stdout(const char *path);

/* 1 when path (whose lstat is st) lies in a sticky world-writable directory
 * (/tmp) and belongs to someone else: another user may have planted it. */
int ct_path_foreign_sticky(const char *path, const struct stat *st);

/* 1 when the file st is one of inputs[0..n) ("-" is standard input). */
int ct_path_is_input(const struct stat *st, const char *const *inputs, unsigned n);

/* Open the output for path. 0, or -1 after one error line naming path.
 * The temporary file's name fits NAME_MAX whatever the length of path's
 * last component. */
int ct_outfile_open(struct ct_outfile *of, const char *path, const char *const *inputs,
		    unsigned ninputs);
/* Publish a temporary file (fsync, close, rename) or close an in-place
 * output. 0, or -1 after one error line. */
int ct_outfile_commit(struct ct_outfile *of);
/* Close and remove a temporary file (after a failure). */
void ct_outfile_discard(struct ct_outfile *of);
/* Async-signal-safe: the temporary file's name, or NULL. */
const char *ct_outfile_tmp(const struct ct_outfile *of);

#endif
