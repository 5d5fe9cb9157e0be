/* SPDX-License-Identifier: MIT */
/*
 * containers.h: a container's name, image, and Kubernetes pod and
 * namespace, read from the container runtimes' own state on disk (no
 * daemon is asked): Docker's config.v2.json, the OCI bundle config.json
 * that containerd and CRI-O (and podman) write with their annotations, and
 * the containers.json of containers/storage (podman, CRI-O).
 */
#ifndef CONNTRAIL_RECORD_CONTAINERS_H
#define CONNTRAIL_RECORD_CONTAINERS_H

#include <stddef.h>
#include <sys/types.h>

#include "format/ctrace.h"

#define CTR_STR_MAX 256	   /* each string kept to 255 bytes */
#define CTR_META_MAX 16384 /* a containers.json entry's metadata string */

/* What is known of one container; "" unknown. Printable ASCII only. */
struct ctr_info {
	char name[CTR_STR_MAX];
	char image[CTR_STR_MAX];
	char pod[CTR_STR_MAX];
	char k8s_namespace[CTR_STR_MAX];
};

/* Parsers of one file's bytes (record/ctrjson.c): each fills the fields of
 * info that are still empty from what it finds, and returns 1 when info
 * then knows anything. They never fail on bad input: they find less. */
int ctr_parse_docker(const char *json, size_t len, struct ctr_info *info);
int ctr_parse_oci(const char *json, size_t len, struct ctr_info *info);
int ctr_parse_storage(const char *json, size_t len, const char *id, struct ctr_info *info);

/* The recorder's cache: each container id is read once (record/containers.c). */
struct ctr_cache;
/* root: "" for the host's runtimes, else a directory that stands for "/"
 * (tests). */
struct ctr_cache *ctr_cache_new(const char *root);
void ctr_cache_free(struct ctr_cache *c);
/* The names of the 64-hex container id, or NULL when none is known; uid:
 * the process's user, whose own store (rootless podman) is looked in last.
 * The pointer is valid until the next call. */
const struct ctr_info *ctr_lookup(struct ctr_cache *c, const char *id, uid_t uid);
/* p's container_name, image, pod and k8s_namespace from p->container
 * (they point into the cache: write p before the next lookup). */
void ctr_fill_proc(struct ctr_cache *c, struct ct_proc *p);

#endif
