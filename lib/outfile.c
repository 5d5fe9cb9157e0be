/* SPDX-License-Identifier: MIT */
/* outfile.c: output paths that never replace what is not ours (outfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/outfile.h"
#include "lib/util.h"

int ct_path_is_stdout(const char *path)
{
	return !strcmp(path, "-") || !strcmp(path, "/dev/stdout") || !strcmp(path, "/dev/fd/1") ||
	       !strcmp(path, "/proc/self/fd/1");
}

int ct_path_foreign_sticky(const char *path, const struct stat *st)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	struct stat ds;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) < sizeof(dir))
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else
		return 1; /* cannot tell: assume the worst */
	if (stat(dir, &ds) < 0)
		return 1;
	return (ds.st_mode & S_ISVTX) && (ds.st_mode & S_IWOTH) && st->st_uid != geteuid();
}

int ct_path_is_input(const struct stat *st, const char *const *inputs, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct stat in;
		int rc = strcmp(inputs[i], "-") ? stat(inputs[i], &in) : fstat(STDIN_FILENO, &in);
		if (rc == 0 && in.st_dev == st->st_dev && in.st_ino == st->st_ino)
			return 1;
	}
	return 0;
}

/* ".NAME.XXXXXX" beside path, the name cut so the whole fits NAME_MAX. */
static int open_temp(struct ct_outfile *of, const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
	const char *base = slash ? slash + 1 : path;
	size_t room = NAME_MAX - (sizeof(".") - 1) - (sizeof(".partial.XXXXXX") - 1);
	size_t blen = strlen(base);

	if (blen > room)
		blen = room;
	if (snprintf(of->tmp, sizeof(of->tmp), "%.*s.%.*s.partial.XXXXXX", (int)dirlen, path,
		     (int)blen, base) >= (int)sizeof(of->tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = mkostemp(of->tmp, O_CLOEXEC);
	if (fd < 0)
		of->tmp[0] = '\0';
	return fd;
}

static int refuse(const char *path, const char *why)
{
	ct_err("%s: %s", path, why);
	return -1;
}

int ct_outfile_open(struct ct_outfile *of, const char *path, const char *const *inputs,
		    unsigned ninputs)
{
	struct stat st;

	memset(of, 0, sizeof(*of));
	of->fd = -1;
	of->path = path;
	if (ct_path_is_stdout(path)) {
		if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode) &&
		    ct_path_is_input(&st, inputs, ninputs))
			return refuse(path, "standard output is one of the input files");
		of->kind = CT_OUTF_STDOUT;
		of->fd = STDOUT_FILENO;
		return 0;
	}
	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode) && stat(path, &st) < 0)
			return refuse(path, "a symbolic link to nothing; refusing to follow it");
		if (S_ISREG(st.st_mode)) {
			struct stat ls;
			if (ct_path_is_input(&st, inputs, ninputs))
				return refuse(path, "is one of the input files");
			if (lstat(path, &ls) == 0 && S_ISLNK(ls.st_mode))
				return refuse(path, "a symbolic link to a regular file; give the "
						    "target's path to replace it");
		} else if (S_ISDIR(st.st_mode)) {
			return refuse(path, "is a directory");
		} else if (S_ISBLK(st.st_mode)) {
			return refuse(path, "is a block device; refusing to write over it");
		} else if (S_ISSOCK(st.st_mode)) {
			return refuse(path, "is a socket");
		} else {
			/* A character device or FIFO: written in place, never
			 * replaced (/dev/null stays /dev/null). */
			int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
			if (fd < 0) {
				ct_err("%s: cannot open: %s", path, strerror(errno));
				return -1;
			}
			struct stat fs;
			if (fstat(fd, &fs) < 0 || S_ISREG(fs.st_mode) || S_ISDIR(fs.st_mode)) {
				close(fd);
				return refuse(path, "changed while being opened");
			}
			of->kind = CT_OUTF_INPLACE;
			of->fd = fd;
			return 0;
		}
	} else if (errno != ENOENT) {
		ct_err("%s: %s", path, strerror(errno));
		return -1;
	}
	of->fd = open_temp(of, path);
	if (of->fd < 0) {
		ct_err("%s: cannot create: %s", path, strerror(errno));
		return -1;
	}
	of->kind = CT_OUTF_TEMP;
	return 0;
}

const char *ct_outfile_tmp(const struct ct_outfile *of)
{
	return of->kind == CT_OUTF_TEMP && of->tmp[0] ? of->tmp : NULL;
}

void ct_outfile_discard(struct ct_outfile *of)
{
	if (of->kind != CT_OUTF_STDOUT && of->fd >= 0)
		close(of->fd);
	of->fd = -1;
	if (of->kind == CT_OUTF_TEMP && of->tmp[0]) {
		unlink(of->tmp);
		of->tmp[0] = '\0';
	}
}

int ct_outfile_commit(struct ct_outfile *of)
{
	struct stat st;

	if (of->kind == CT_OUTF_STDOUT)
		return 0;
	if (of->kind == CT_OUTF_INPLACE) {
		int rc = close(of->fd);
		of->fd = -1;
		if (rc < 0) {
			ct_err("%s: %s", of->path, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (fsync(of->fd) < 0 && errno != EINVAL) {
		ct_err("%s: %s", of->path, strerror(errno));
		ct_outfile_discard(of);
		return -1;
	}
	int rc = close(of->fd);
	of->fd = -1;
	if (rc < 0) {
		ct_err("%s: %s", of->path, strerror(errno));
		ct_outfile_discard(of);
		return -1;
	}
	/* What appeared at path while we wrote is looked at again: only a
	 * regular file (or nothing) is replaced. */
	if (lstat(of->path, &st) == 0 && !S_ISREG(st.st_mode)) {
		refuse(of->path, "is no longer a regular file; not replaced");
		ct_outfile_discard(of);
		return -1;
	}
	if (rename(of->tmp, of->path) < 0) {
		ct_err("%s: %s", of->path, strerror(errno));
		ct_outfile_discard(of);
		return -1;
	}
	of->tmp[0] = '\0';
	return 0;
}
