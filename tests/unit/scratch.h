/* SPDX-License-Identifier: MIT */
/* scratch.h: a unit test's scratch directory under /tmp and the paths in
 * it. Header-only, like check.h. */
#ifndef TEST_SCRATCH_H
#define TEST_SCRATCH_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char scratch_dir[64];

/* Makes /tmp/ct-NAME.XXXXXX; a test that cannot ends here. */
static inline void scratch_make(const char *name)
{
	snprintf(scratch_dir, sizeof(scratch_dir), "/tmp/ct-%s.XXXXXX", name);
	if (!mkdtemp(scratch_dir)) {
		perror("mkdtemp");
		exit(1);
	}
}

/* scratch_dir/NAME; the last four answers stay valid. */
static inline const char *scratch_path(const char *name)
{
	static char p[4][256];
	static int k;
	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", scratch_dir, name);
	return p[k];
}

/* Removes the directory and the files in it. */
static inline void scratch_remove(void)
{
	DIR *d = opendir(scratch_dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			unlink(scratch_path(e->d_name));
	if (d)
		closedir(d);
	rmdir(scratch_dir);
}

#endif
