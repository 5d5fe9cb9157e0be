/* SPDX-License-Identifier: MIT */
/*
 * containers.c: where each runtime keeps a container's state, read once
 * per container id and cached.
 *
 * The paths are the runtimes' defaults (a runtime configured with another
 * root is not found; its containers keep their ids only):
 *   Docker      /var/lib/docker/containers/ID/config.v2.json
 *   containerd  /run/containerd/io.containerd.runtime.v2.task/NS/ID/config.json
 *               (v1 shims: io.containerd.runtime.v1.linux/NS/ID)
 *   CRI-O       /run/containers/storage/DRIVER-containers/ID/userdata/config.json
 *   podman      /var/lib/containers/storage/DRIVER-containers/ID/userdata/config.json
 * and for both of the last, DRIVER-containers/containers.json of either
 * storage root, which names the container and its image when the
 * annotations do not (podman's never do).
 *
 * Only root can write these directories, but what they hold came from
 * users (names, labels, annotations), so a file is read only when it is a
 * regular file reached without following a symbolic link at its last
 * component, at most FILE_MAX (or STORAGE_MAX) bytes; the parsers in
 * record/ctrjson.c take whatever it holds.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "record/containers.h"

#define FILE_MAX (1u << 20)    /* a container's own config file */
#define STORAGE_MAX (8u << 20) /* containers.json: every container of the store */
#define CACHE_MAX 512	       /* ids remembered; then the cache starts over */
#define NS_MAX 64	       /* containerd namespaces looked in */

struct ctr_entry {
	char id[65];
	int known;
	struct ctr_info info;
};

struct ctr_cache {
	char root[256];
	struct ctr_entry *slots; /* open addressing, CACHE_MAX * 2 slots */
	size_t count;
};

static const char *const drivers[] = {"overlay", "vfs", "btrfs", "zfs"};
static const char *const storage_roots[] = {"/run/containers/storage",
					    "/var/lib/containers/storage"};

/* The whole file at path into a new buffer (*len bytes), or NULL. */
static char *read_file(const char *path, size_t max, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	size_t got = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
	    (unsigned long long)st.st_size > max || !(buf = malloc(max + 1)))
		goto out;
	/* The size may have changed since fstat: read to the end, up to max. */
	while (got <= max) {
		ssize_t n = read(fd, buf + got, max + 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got > max) {
		free(buf);
		buf = NULL;
	}
out:
	close(fd);
	*len = got;
	return buf;
}

typedef int (*parse_fn)(const char *json, size_t len, struct ctr_info *info);

/* Parse the file at root + path with fn; 1 when the file was there. */
static int parse_file(struct ctr_cache *c, const char *path, parse_fn fn, struct ctr_info *info)
{
	char full[PATH_MAX];
	size_t len;

	if ((size_t)snprintf(full, sizeof(full), "%s%s", c->root, path) >= sizeof(full))
		return 0;
	char *buf = read_file(full, FILE_MAX, &len);
	if (!buf)
		return 0;
	fn(buf, len, info);
	free(buf);
	return 1;
}

static void parse_storage(struct ctr_cache *c, const char *dir, const char *id,
			  struct ctr_info *info)
{
	char full[PATH_MAX];
	size_t len;

	if ((size_t)snprintf(full, sizeof(full), "%s%s/containers.json", c->root, dir) >=
	    sizeof(full))
		return;
	char *buf = read_file(full, STORAGE_MAX, &len);
	if (buf)
		ctr_parse_storage(buf, len, id, info);
	free(buf);
}

/* containerd: the bundle of ID in whichever namespace (k8s.io, moby, ...). */
static int look_containerd(struct ctr_cache *c, const char *task_dir, const char *id,
			   struct ctr_info *info)
{
	char dir[PATH_MAX], path[PATH_MAX];
	int found = 0, n = 0;

	if ((size_t)snprintf(dir, sizeof(dir), "%s%s", c->root, task_dir) >= sizeof(dir))
		return 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	for (struct dirent *de; !found && n < NS_MAX && (de = readdir(d)); n++) {
		if (de->d_name[0] == '.' || strlen(de->d_name) > 128)
			continue;
		snprintf(path, sizeof(path), "%s/%s/%s/config.json", task_dir, de->d_name, id);
		found = parse_file(c, path, ctr_parse_oci, info);
	}
	closedir(d);
	return found;
}

/* containers/storage (CRI-O, podman): the bundle's annotations, then the
 * store's containers.json for what they leave out. */
static int look_storage(struct ctr_cache *c, const char *id, struct ctr_info *info)
{
	char path[PATH_MAX], dir[PATH_MAX];

	for (size_t d = 0; d < sizeof(drivers) / sizeof(drivers[0]); d++) {
		int found = 0;
		for (size_t r = 0; r < 2; r++) {
			snprintf(path, sizeof(path), "%s/%s-containers/%s/userdata/config.json",
				 storage_roots[r], drivers[d], id);
			found |= parse_file(c, path, ctr_parse_oci, info);
		}
		if (!found)
			continue;
		for (size_t r = 0; r < 2 && !(info->name[0] && info->image[0]); r++) {
			snprintf(dir, sizeof(dir), "%s/%s-containers", storage_roots[r],
				 drivers[d]);
			parse_storage(c, dir, id, info);
		}
		return 1;
	}
	return 0;
}

static void look_up(struct ctr_cache *c, const char *id, struct ctr_info *info)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/var/lib/docker/containers/%s/config.v2.json", id);
	if (parse_file(c, path, ctr_parse_docker, info))
		return;
	if (look_containerd(c, "/run/containerd/io.containerd.runtime.v2.task", id, info) ||
	    look_containerd(c, "/run/containerd/io.containerd.runtime.v1.linux", id, info))
		return;
	look_storage(c, id, info);
}

struct ctr_cache *ctr_cache_new(const char *root)
{
	struct ctr_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	snprintf(c->root, sizeof(c->root), "%s", root ? root : "");
	return c;
}

void ctr_cache_free(struct ctr_cache *c)
{
	if (c)
		free(c->slots);
	free(c);
}

static int is_id(const char *id)
{
	size_t n = 0;
	for (; id[n] && n < 65; n++)
		if (!((id[n] >= '0' && id[n] <= '9') || (id[n] >= 'a' && id[n] <= 'f')))
			return 0;
	return n == 64;
}

const struct ctr_info *ctr_lookup(struct ctr_cache *c, const char *id)
{
	const size_t cap = 2 * CACHE_MAX;

	if (!id || !is_id(id))
		return NULL;
	if (!c->slots && !(c->slots = calloc(cap, sizeof(*c->slots))))
		return NULL;
	/* The id is random hex: its first digits are a good enough hash. */
	char h[17];
	memcpy(h, id, 16);
	h[16] = 0;
	size_t i = (size_t)strtoull(h, NULL, 16) % cap;
	for (; c->slots[i].id[0]; i = (i + 1) % cap)
		if (!memcmp(c->slots[i].id, id, 64))
			return c->slots[i].known ? &c->slots[i].info : NULL;
	if (c->count >= CACHE_MAX) {
		/* Full: start over (ids seen again are read again). */
		memset(c->slots, 0, cap * sizeof(*c->slots));
		c->count = 0;
		i = (size_t)strtoull(h, NULL, 16) % cap;
	}
	struct ctr_entry *e = &c->slots[i];
	memcpy(e->id, id, 65);
	look_up(c, id, &e->info);
	e->known =
	    e->info.name[0] || e->info.image[0] || e->info.pod[0] || e->info.k8s_namespace[0];
	c->count++;
	return e->known ? &e->info : NULL;
}

void ctr_fill_proc(struct ctr_cache *c, struct ct_proc *p)
{
	const struct ctr_info *i = c ? ctr_lookup(c, p->container) : NULL;

	p->container_name = i && i->name[0] ? i->name : NULL;
	p->image = i && i->image[0] ? i->image : NULL;
	p->pod = i && i->pod[0] ? i->pod : NULL;
	p->k8s_namespace = i && i->k8s_namespace[0] ? i->k8s_namespace : NULL;
}
