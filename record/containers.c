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
 * annotations do not (podman's never do). Rootless podman keeps the same
 * layout under ~/.local/share/containers/storage and
 * /run/user/UID/containers of the process's user (home from /etc/passwd).
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

/* The whole file at path into a new buffer (*len bytes), or NULL; owner:
 * the uid the file must belong to, or -1 for any. */
static char *read_file(const char *path, size_t max, uid_t owner, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	size_t got = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
	    (unsigned long long)st.st_size > max || (owner != (uid_t)-1 && st.st_uid != owner) ||
	    !(buf = malloc(max + 1)))
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

enum kind { K_DOCKER, K_OCI, K_STORAGE };

/* Parse the file at root + path as a file of kind k (owned by owner, or
 * anyone's: -1); 1 when the file was there. */
static int parse_file(struct ctr_cache *c, const char *path, enum kind k, uid_t owner,
		      const char *id, struct ctr_info *info)
{
	char full[PATH_MAX];
	size_t len;

	if ((size_t)snprintf(full, sizeof(full), "%s%s", c->root, path) >= sizeof(full))
		return 0;
	char *buf = read_file(full, k == K_STORAGE ? STORAGE_MAX : FILE_MAX, owner, &len);
	if (!buf)
		return 0;
	if (k == K_DOCKER)
		ctr_parse_docker(buf, len, info);
	else if (k == K_OCI)
		ctr_parse_oci(buf, len, info);
	else
		ctr_parse_storage(buf, len, id, info);
	free(buf);
	return 1;
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
		found = parse_file(c, path, K_OCI, (uid_t)-1, id, info);
	}
	closedir(d);
	return found;
}

/* containers/storage (CRI-O, podman) under its run and graph roots: the
 * bundle's annotations, then the store's containers.json for what they
 * leave out. */
static int look_storage(struct ctr_cache *c, const char *const roots[2], uid_t owner,
			const char *id, struct ctr_info *info)
{
	char path[PATH_MAX];

	for (size_t d = 0; d < sizeof(drivers) / sizeof(drivers[0]); d++) {
		int found = 0;
		for (size_t r = 0; r < 2; r++) {
			snprintf(path, sizeof(path), "%s/%s-containers/%s/userdata/config.json",
				 roots[r], drivers[d], id);
			found |= parse_file(c, path, K_OCI, owner, id, info);
		}
		if (!found)
			continue;
		for (size_t r = 0; r < 2 && !(info->name[0] && info->image[0]); r++) {
			snprintf(path, sizeof(path), "%s/%s-containers/containers.json", roots[r],
				 drivers[d]);
			parse_file(c, path, K_STORAGE, owner, id, info);
		}
		return 1;
	}
	return 0;
}

/* uid's home directory from /etc/passwd (read, not asked of NSS: no
 * daemon, no network); 0, or -1 when not there. */
static int user_home(struct ctr_cache *c, uid_t uid, char *home, size_t size)
{
	char path[PATH_MAX];
	size_t len;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/etc/passwd", c->root);
	char *buf = read_file(path, STORAGE_MAX, (uid_t)-1, &len);
	if (!buf)
		return -1;
	buf[len] = 0;
	/* name:password:uid:gid:gecos:home:shell */
	for (char *line = buf, *next; line && rc; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		char *f[7] = {line};
		int n = 1;
		for (char *p = line; *p && n < 7; p++)
			if (*p == ':') {
				*p = 0;
				f[n++] = p + 1;
			}
		char *end;
		if (n == 7 && strtoul(f[2], &end, 10) == uid && !*end && f[2][0] &&
		    f[5][0] == '/' && strlen(f[5]) < size) {
			strcpy(home, f[5]);
			rc = 0;
		}
	}
	free(buf);
	return rc;
}

static void look_up(struct ctr_cache *c, const char *id, uid_t uid, struct ctr_info *info)
{
	static const char *const system_roots[2] = {"/run/containers/storage",
						    "/var/lib/containers/storage"};
	char path[PATH_MAX], home[PATH_MAX / 2], run[64];

	snprintf(path, sizeof(path), "/var/lib/docker/containers/%s/config.v2.json", id);
	if (parse_file(c, path, K_DOCKER, (uid_t)-1, id, info))
		return;
	if (look_containerd(c, "/run/containerd/io.containerd.runtime.v2.task", id, info) ||
	    look_containerd(c, "/run/containerd/io.containerd.runtime.v1.linux", id, info) ||
	    look_storage(c, system_roots, (uid_t)-1, id, info))
		return;
	/* Rootless podman: the process's user's own store, whose files that
	 * user must own (the directories are theirs: a link there must not
	 * make the recorder read somebody else's file). */
	if (uid == 0 || uid == (uid_t)-1 || user_home(c, uid, home, sizeof(home)))
		return;
	snprintf(run, sizeof(run), "/run/user/%u/containers", (unsigned)uid);
	snprintf(path, sizeof(path), "%s/.local/share/containers/storage", home);
	const char *const user_roots[2] = {run, path};
	look_storage(c, user_roots, uid, id, info);
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

const struct ctr_info *ctr_lookup(struct ctr_cache *c, const char *id, uid_t uid)
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
	look_up(c, id, uid, &e->info);
	e->known =
	    e->info.name[0] || e->info.image[0] || e->info.pod[0] || e->info.k8s_namespace[0];
	c->count++;
	return e->known ? &e->info : NULL;
}

void ctr_fill_proc(struct ctr_cache *c, struct ct_proc *p)
{
	const struct ctr_info *i = c ? ctr_lookup(c, p->container, p->task.uid) : NULL;

	p->container_name = i && i->name[0] ? i->name : NULL;
	p->image = i && i->image[0] ? i->image : NULL;
	p->pod = i && i->pod[0] ? i->pod : NULL;
	p->k8s_namespace = i && i->k8s_namespace[0] ? i->k8s_namespace : NULL;
}
