/* SPDX-License-Identifier: MIT */
/*
 * test_containers: the recorder's container name parsers (record/ctrjson.c)
 * on in-memory runtime files of each layout and on hostile ones, the
 * lookup and its cache (record/containers.c) on a fabricated state tree
 * under a temporary root, and the process record's optional strings
 * through the trace format: written, read back, and cut short. (record/
 * is not in the library, so its two files are compiled in.)
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../record/containers.c"
#include "../../record/ctrjson.c"
#include "tests/unit/test_format_common.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int parse(int (*fn)(const char *, size_t, struct ctr_info *), const char *json,
		 struct ctr_info *info)
{
	memset(info, 0, sizeof(*info));
	return fn(json, strlen(json), info);
}

static void expect(const struct ctr_info *i, const char *name, const char *image, const char *pod,
		   const char *ns, int line)
{
	const char *got[4] = {i->name, i->image, i->pod, i->k8s_namespace};
	const char *want[4] = {name, image, pod, ns};
	for (int k = 0; k < 4; k++)
		if (strcmp(got[k], want[k])) {
			fprintf(stderr, "line %d: field %d is '%s', expected '%s'\n", line, k,
				got[k], want[k]);
			t_fails++;
		}
}
#define EXPECT(i, n, im, p, ns) expect(i, n, im, p, ns, __LINE__)

static void test_layouts(void)
{
	struct ctr_info i;

	/* Docker: the name's '/' goes; Config.Image as the user gave it. */
	CHECK_EQ(parse(ctr_parse_docker,
		       "{\"ID\":\"" ID "\",\"Image\":\"sha256:abc\",\"Name\":\"/web-1\","
		       "\"Config\":{\"Hostname\":\"x\",\"Env\":[\"A=1\",\"B={\"],"
		       "\"Image\":\"nginx:1.27\",\"Labels\":{\"a\":\"b\"}}}",
		       &i),
		 1);
	EXPECT(&i, "web-1", "nginx:1.27", "", "");
	/* Docker under dockershim/cri-dockerd: the kubelet's labels. */
	parse(ctr_parse_docker,
	      "{\"Name\":\"/k8s_app_pod-7_ns_uid_0\",\"Config\":{\"Image\":\"reg/app@sha256:1\","
	      "\"Labels\":{\"io.kubernetes.container.name\":\"app\","
	      "\"io.kubernetes.pod.name\":\"pod-7\",\"io.kubernetes.pod.namespace\":\"shop\"}}}",
	      &i);
	EXPECT(&i, "app", "reg/app@sha256:1", "pod-7", "shop");
	/* containerd's CRI plugin. */
	parse(ctr_parse_oci,
	      "{\"ociVersion\":\"1.1.0\",\"process\":{\"args\":[\"sh\"]},\"annotations\":{"
	      "\"io.kubernetes.cri.container-type\":\"container\","
	      "\"io.kubernetes.cri.container-name\":\"api\","
	      "\"io.kubernetes.cri.image-name\":\"docker.io/library/api:2\","
	      "\"io.kubernetes.cri.sandbox-name\":\"api-5d9f\","
	      "\"io.kubernetes.cri.sandbox-namespace\":\"prod\"}}",
	      &i);
	EXPECT(&i, "api", "docker.io/library/api:2", "api-5d9f", "prod");
	/* CRI-O: its own image key, the kubelet's keys for the rest. */
	parse(ctr_parse_oci,
	      "{\"annotations\":{\"io.kubernetes.cri-o.ContainerName\":\"k8s_db_db-0_data_u_1\","
	      "\"io.kubernetes.cri-o.ImageName\":\"quay.io/db:15\","
	      "\"io.kubernetes.container.name\":\"db\",\"io.kubernetes.pod.name\":\"db-0\","
	      "\"io.kubernetes.pod.namespace\":\"data\"}}",
	      &i);
	EXPECT(&i, "db", "quay.io/db:15", "db-0", "data");
	/* podman: annotations say nothing; containers.json names it. */
	CHECK_EQ(
	    parse(ctr_parse_oci, "{\"annotations\":{\"io.container.manager\":\"libpod\"}}", &i), 0);
	const char *store =
	    "[{\"id\":\"fedc" ID "\",\"names\":[\"other\"]},"
	    "{\"id\":\"" ID "\",\"names\":[\"cache\"],\"image\":\"0f0f\",\"layer\":\"1\","
	    "\"metadata\":\"{\\\"image-name\\\":\\\"docker.io/library/redis:7\\\","
	    "\\\"image-id\\\":\\\"0f0f\\\",\\\"name\\\":\\\"cache\\\",\\\"created-at\\\":1}\","
	    "\"created\":\"2026-01-01T00:00:00Z\"}]";
	memset(&i, 0, sizeof(i));
	CHECK_EQ(ctr_parse_storage(store, strlen(store), ID, &i), 1);
	EXPECT(&i, "cache", "docker.io/library/redis:7", "", "");
	/* CRI-O's metadata carries the pod; names[0] when metadata has no name. */
	store = "[{\"id\":\"" ID "\",\"names\":[\"k8s_x\"],\"metadata\":\"{\\\"pod-name\\\":"
		"\\\"p\\\"}\"}]";
	memset(&i, 0, sizeof(i));
	ctr_parse_storage(store, strlen(store), ID, &i);
	EXPECT(&i, "k8s_x", "", "p", "");
	memset(&i, 0, sizeof(i));
	CHECK_EQ(ctr_parse_storage(store, strlen(store), "ab" ID, &i), 0);
}

static void test_hostile(void)
{
	struct ctr_info i;
	static char big[1 << 20];

	/* Not printable: escapes, controls, UTF-8 each become one '?'. */
	parse(ctr_parse_docker,
	      "{\"Name\":\"/a\\u0007b\\nc\xc3\xa9\xe2\x82\xac"
	      "d\\u00e9\\\"q\",\"Config\":{}}",
	      &i);
	EXPECT(&i, "a?b?c??d?\"q", "", "", "");
	/* Cut anywhere, the parser finds less and never reads past the end. */
	const char *full = "{\"Name\":\"/n\",\"Config\":{\"Image\":\"img\",\"Labels\":{"
			   "\"io.kubernetes.pod.name\":\"p\"}}}";
	for (size_t n = 0; n < strlen(full); n++) {
		char *cut = malloc(n ? n : 1); /* exactly n bytes: ASan sees any overrun */
		memcpy(cut, full, n);
		memset(&i, 0, sizeof(i));
		ctr_parse_docker(cut, n, &i);
		ctr_parse_oci(cut, n, &i);
		ctr_parse_storage(cut, n, ID, &i);
		free(cut);
	}
	/* Deep nesting is counted, not recursed. */
	memset(big, '[', sizeof(big));
	memcpy(big, "{\"Name\":", 8);
	CHECK_EQ(parse(ctr_parse_docker, "", &i), 0);
	memset(&i, 0, sizeof(i));
	CHECK_EQ(ctr_parse_docker(big, sizeof(big), &i), 0);
	memset(&i, 0, sizeof(i));
	CHECK_EQ(ctr_parse_storage(big + 8, sizeof(big) - 8, ID, &i), 0);
	/* A long name is kept to 255 bytes. */
	memset(big, 'x', sizeof(big));
	memcpy(big, "{\"Name\":\"", 9);
	memcpy(big + 5000, "\"}", 2);
	memset(&i, 0, sizeof(i));
	CHECK_EQ(ctr_parse_docker(big, 5002, &i), 1);
	CHECK_EQ(strlen(i.name), CTR_STR_MAX - 1);
	/* Wrong types and bad escapes give nothing. */
	parse(ctr_parse_docker, "{\"Name\":7,\"Config\":{\"Image\":[\"x\"],\"Labels\":\"s\"}}", &i);
	EXPECT(&i, "", "", "", "");
	parse(ctr_parse_oci, "{\"annotations\":{\"io.kubernetes.pod.name\":\"a\\uZZZZ\"}}", &i);
	EXPECT(&i, "", "", "", "");
	/* A metadata string too long for the buffer is skipped whole. */
	memset(big, 'y', sizeof(big));
	size_t n =
	    (size_t)snprintf(big, 200, "[{\"id\":\"%s\",\"names\":[\"nm\"],\"metadata\":\"", ID);
	memcpy(big + n + CTR_META_MAX + 10, "\"}]", 3);
	memset(&i, 0, sizeof(i));
	ctr_parse_storage(big, n + CTR_META_MAX + 13, ID, &i);
	EXPECT(&i, "nm", "", "", "");
}

static void put_file(const char *root, const char *rel, const char *text)
{
	char path[PATH_MAX], cmd[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s%s", root, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	CHECK_EQ(system(cmd), 0);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* Rootless podman: the store in the home of the process's user, whose
 * files must be that user's own. */
static void test_rootless(const char *root)
{
	uid_t u = getuid() ? getuid() : 4242;
	char path[PATH_MAX], text[512], ida[65], idb[65];
	const char *store = "/home/u/.local/share/containers/storage/overlay-containers";

	memcpy(ida, ID, 65);
	memcpy(idb, ID, 65);
	ida[0] = '7';
	idb[0] = '8';
	snprintf(text, sizeof(text), "root:x:0:0::/root:/bin/sh\n\nu:x:%u:%u:U:/home/u:/bin/sh\n",
		 (unsigned)u, (unsigned)u);
	put_file(root, "/etc/passwd", text);
	for (int k = 0; k < 2; k++) {
		snprintf(path, sizeof(path), "%s/%s/userdata/config.json", store, k ? idb : ida);
		put_file(root, path, "{\"annotations\":{\"io.container.manager\":\"libpod\"}}");
	}
	snprintf(path, sizeof(path), "%s/containers.json", store);
	snprintf(text, sizeof(text),
		 "[{\"id\":\"%s\",\"names\":[\"mine\"]},{\"id\":\"%s\",\"names\":[\"b\"]}]", ida,
		 idb);
	put_file(root, path, text);
	if (!getuid()) {
		/* all u's, but for idb's config.json: somebody else's */
		snprintf(text, sizeof(text),
			 "chown -R %u '%s/home/u' && chown %u '%s%s/%s/userdata/config.json'",
			 (unsigned)u, root, (unsigned)u + 1, root, store, idb);
		CHECK_EQ(system(text), 0);
	} else {
		snprintf(path, sizeof(path), "%s%s/%s/userdata/config.json", root, store, idb);
		CHECK_EQ(unlink(path), 0); /* cannot give it away: make it absent */
	}
	struct ctr_cache *c = ctr_cache_new(root);
	const struct ctr_info *i = ctr_lookup(c, ida, u);
	CHECK(i && !strcmp(i->name, "mine"), "rootless store of uid %u", (unsigned)u);
	CHECK(ctr_lookup(c, idb, u) == NULL, "a file the user does not own is not read");
	ctr_cache_free(c);
	c = ctr_cache_new(root);
	CHECK(ctr_lookup(c, ida, 0) == NULL, "root has no rootless store");
	CHECK(ctr_lookup(c, idb, u + 7) == NULL, "a user without a passwd entry");
	ctr_cache_free(c);
}

/* The lookup on a state tree under a temporary root: each layout, a file
 * too big, a FIFO, a symbolic link, and the cache reading each id once. */
static void test_lookup(void)
{
	char root[] = "/tmp/test_containers.XXXXXX", path[PATH_MAX], cmd[PATH_MAX];
	if (!mkdtemp(root)) {
		CHECK(0, "mkdtemp");
		return;
	}
	char ids[6][65];
	for (int k = 0; k < 6; k++) {
		memcpy(ids[k], ID, 65);
		ids[k][0] = (char)('a' + k);
	}
	snprintf(path, sizeof(path), "/var/lib/docker/containers/%s/config.v2.json", ids[0]);
	put_file(root, path, "{\"Name\":\"/dock\",\"Config\":{\"Image\":\"alpine\"}}");
	snprintf(path, sizeof(path),
		 "/run/containerd/io.containerd.runtime.v2.task/k8s.io/%s/config.json", ids[1]);
	put_file(root, path,
		 "{\"annotations\":{\"io.kubernetes.cri.container-name\":\"ctd\","
		 "\"io.kubernetes.cri.sandbox-namespace\":\"kube-system\"}}");
	snprintf(path, sizeof(path),
		 "/run/containers/storage/overlay-containers/%s/userdata/config.json", ids[2]);
	put_file(root, path, "{\"annotations\":{\"io.kubernetes.cri-o.ImageName\":\"crio-img\"}}");
	snprintf(path, sizeof(path),
		 "/var/lib/containers/storage/overlay-containers/%s/userdata/config.json", ids[3]);
	put_file(root, path, "{\"annotations\":{\"io.container.manager\":\"libpod\"}}");
	snprintf(cmd, sizeof(cmd),
		 "[{\"id\":\"%s\",\"names\":[\"pod-man\"],\"metadata\":\"{\\\"image-name\\\":"
		 "\\\"quay.io/pm:1\\\"}\"}]",
		 ids[3]);
	put_file(root, "/var/lib/containers/storage/overlay-containers/containers.json", cmd);
	/* ids[4]: a FIFO where docker's file would be (must not hang) */
	snprintf(path, sizeof(path), "%s/var/lib/docker/containers/%s", root, ids[4]);
	mkdir(path, 0700);
	strcat(path, "/config.v2.json");
	CHECK_EQ(mkfifo(path, 0600), 0);
	/* ids[5]: a symbolic link to a good file is not followed */
	snprintf(path, sizeof(path), "%s/var/lib/docker/containers/%s", root, ids[5]);
	mkdir(path, 0700);
	strcat(path, "/config.v2.json");
	snprintf(cmd, sizeof(cmd), "%s/var/lib/docker/containers/%s/config.v2.json", root, ids[0]);
	CHECK_EQ(symlink(cmd, path), 0);

	struct ctr_cache *c = ctr_cache_new(root);
	const struct ctr_info *i = ctr_lookup(c, ids[0], 0);
	CHECK(i && !strcmp(i->name, "dock") && !strcmp(i->image, "alpine"));
	i = ctr_lookup(c, ids[1], 0);
	CHECK(i && !strcmp(i->name, "ctd") && !strcmp(i->k8s_namespace, "kube-system"));
	i = ctr_lookup(c, ids[2], 0);
	CHECK(i && !strcmp(i->image, "crio-img") && !i->name[0]);
	i = ctr_lookup(c, ids[3], 0);
	CHECK(i && !strcmp(i->name, "pod-man") && !strcmp(i->image, "quay.io/pm:1"));
	CHECK(ctr_lookup(c, ids[4], 0) == NULL);
	CHECK(ctr_lookup(c, ids[5], 0) == NULL);
	CHECK(ctr_lookup(c, "not-an-id", 0) == NULL);
	CHECK(ctr_lookup(c, ID "0", 0) == NULL);

	/* Cached: changing the file changes nothing for an id already read. */
	snprintf(path, sizeof(path), "/var/lib/docker/containers/%s/config.v2.json", ids[0]);
	put_file(root, path, "{\"Name\":\"/changed\"}");
	i = ctr_lookup(c, ids[0], 0);
	CHECK(i && !strcmp(i->name, "dock"));
	/* A file over FILE_MAX is not read. */
	snprintf(path, sizeof(path), "%s/var/lib/docker/containers/%s/config.v2.json", root,
		 ids[0]);
	CHECK_EQ(truncate(path, FILE_MAX + 1), 0);
	struct ctr_cache *c2 = ctr_cache_new(root);
	CHECK(ctr_lookup(c2, ids[0], 0) == NULL);
	CHECK(ctr_lookup(c2, ids[1], 0) != NULL);

	/* ctr_fill_proc: the four strings, NULL for what is unknown. */
	struct ct_proc p = {.container = ids[2]};
	ctr_fill_proc(c, &p);
	CHECK(!p.container_name && p.image && !strcmp(p.image, "crio-img") && !p.pod);
	/* Past CACHE_MAX ids the cache starts over and still answers. */
	char many[65];
	for (int k = 0; k < CACHE_MAX + 3; k++) {
		snprintf(many, sizeof(many), "%064x", k + 1);
		CHECK(ctr_lookup(c, many, 0) == NULL);
	}
	i = ctr_lookup(c, ids[1], 0);
	CHECK(i && !strcmp(i->name, "ctd"));
	ctr_cache_free(c);
	ctr_cache_free(c2);
	test_rootless(root);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	CHECK_EQ(system(cmd), 0);
}

/* The process record's four optional strings: written when known, read
 * back; a record without them (an older writer's) reads as unknown. */
static void test_format(void)
{
	struct membuf m = {0};
	struct ct_writer_io io = mem_writer_io(&m);
	struct ct_writer *w;
	struct ct_proc a = {.ts_ns = 2000,
			    .task = {.pid = 10, .comm = "a"},
			    .kind = 1,
			    .container = ID,
			    .container_name = "web",
			    .image = "nginx",
			    .pod = NULL,
			    .k8s_namespace = "ns"};
	struct ct_proc b = {
	    .ts_ns = 2001, .task = {.pid = 11, .comm = "b"}, .kind = 1, .container = ID};

	CHECK_EQ(ct_writer_open(&w, &io, &test_hdr, NULL), 0);
	CHECK_EQ(ct_writer_proc(w, &a), 0);
	CHECK_EQ(ct_writer_proc(w, &b), 0);
	CHECK_EQ(ct_writer_close(w), 0);

	struct ct_reader_io rio = mem_reader_io(&m, 1);
	struct ct_reader *r;
	const struct ct_record *rec;
	int n = 0;
	CHECK_EQ(ct_reader_open(&r, &rio, NULL), 0);
	while (r && ct_reader_next_event(r, &rec) == 1) {
		if (rec->type != CT_REC_PROC)
			continue;
		const struct ct_proc *p = &rec->proc;
		CHECK(p->container && !strcmp(p->container, ID));
		if (p->task.pid == 10) {
			CHECK(p->container_name && !strcmp(p->container_name, "web"));
			CHECK(p->image && !strcmp(p->image, "nginx"));
			CHECK(!p->pod);
			CHECK(p->k8s_namespace && !strcmp(p->k8s_namespace, "ns"));
		} else {
			CHECK(!p->container_name && !p->image && !p->pod && !p->k8s_namespace);
		}
		n++;
	}
	CHECK_EQ(n, 2);
	if (r)
		ct_reader_close(r);
	free(m.p);
}

int main(void)
{
	test_layouts();
	test_hostile();
	test_lookup();
	test_format();
	return check_done("test_containers");
}
