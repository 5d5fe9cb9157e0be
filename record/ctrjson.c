/* SPDX-License-Identifier: MIT */
/*
 * ctrjson.c: the little JSON the recorder reads from container runtimes'
 * state files, and what it takes from each kind of file.
 *
 * The files are anybody's who can write them, so nothing here trusts them:
 * every step checks the end of the buffer, nesting is skipped by counting
 * (no recursion, so no stack to exhaust), nothing is allocated, and the
 * strings handed out are printable ASCII of at most CTR_STR_MAX - 1 bytes
 * (any other character becomes '?'). A file that is not what it should be
 * yields fewer names, never an error the recorder has to handle.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "record/containers.h"

struct span {
	const char *p, *end;
};

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* p at '"': just past the closing quote, or NULL when it never closes. */
static const char *skip_string(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\') {
			if (++p >= end)
				return NULL;
		} else if (*p == '"') {
			return p + 1;
		}
	}
	return NULL;
}

/* One value of any kind from *pp; 0, or -1 when it is cut or malformed. */
static int skip_value(const char **pp, const char *end)
{
	const char *p = *pp;
	long depth = 0;

	do {
		p = skip_ws(p, end);
		if (p >= end)
			return -1;
		char c = *p;
		if (c == '"') {
			if (!(p = skip_string(p, end)))
				return -1;
		} else if (c == '{' || c == '[') {
			depth++;
			p++;
		} else if (c == '}' || c == ']') {
			if (--depth < 0)
				return -1;
			p++;
		} else if (c == ',' || c == ':') {
			if (!depth)
				return -1;
			p++;
		} else {
			/* a number, true, false or null: up to the next delimiter */
			do
				p++;
			while (p < end && !strchr(",:{}[]\" \t\r\n", *p));
		}
	} while (depth > 0);
	*pp = p;
	return 0;
}

/* In the object v, the value of key (a key with escapes never matches:
 * none of the keys looked up needs one). 0 found, -1 not. */
static int obj_get(struct span v, const char *key, struct span *out)
{
	size_t klen = strlen(key);
	const char *p = skip_ws(v.p, v.end), *end = v.end;

	if (p >= end || *p++ != '{')
		return -1;
	for (;;) {
		p = skip_ws(p, end);
		if (p >= end || *p != '"')
			return -1;
		const char *k = p + 1;
		if (!(p = skip_string(p, end)))
			return -1;
		int match = (size_t)(p - 1 - k) == klen && !memcmp(k, key, klen);
		p = skip_ws(p, end);
		if (p >= end || *p++ != ':')
			return -1;
		p = skip_ws(p, end);
		const char *val = p;
		if (skip_value(&p, end))
			return -1;
		if (match) {
			*out = (struct span){val, p};
			return 0;
		}
		p = skip_ws(p, end);
		if (p >= end || *p++ != ',')
			return -1;
	}
}

/* The next element of the array *it (set to the array's span first, then
 * handed back each call); 0 with *out, -1 at the end or on bad input. */
static int arr_next(struct span *it, struct span *out)
{
	const char *p = skip_ws(it->p, it->end), *end = it->end;

	if (p >= end)
		return -1;
	if (*p == '[' || *p == ',')
		p = skip_ws(p + 1, end);
	else
		return -1;
	if (p >= end || *p == ']')
		return -1;
	const char *val = p;
	if (skip_value(&p, end))
		return -1;
	*out = (struct span){val, p};
	it->p = p;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * The JSON string v into out (size bytes, NUL included), escapes decoded.
 * raw keeps every decoded byte (for a string that holds JSON itself);
 * otherwise only printable ASCII is kept, any other character as one '?'.
 * The length written, or -1 when v is not a string (or does not fit, raw).
 */
static long str_get(struct span v, char *out, size_t size, int raw)
{
	const char *p = skip_ws(v.p, v.end), *end = v.end;
	size_t o = 0;
	int cut = 0;

	if (!size || p >= end || *p != '"')
		return -1;
	for (p++; p < end && *p != '"'; p++) {
		unsigned c = (unsigned char)*p;
		if (c == '\\') {
			if (++p >= end)
				return -1;
			switch (*p) {
			case 'b':
				c = '\b';
				break;
			case 'f':
				c = '\f';
				break;
			case 'n':
				c = '\n';
				break;
			case 'r':
				c = '\r';
				break;
			case 't':
				c = '\t';
				break;
			case 'u':
				c = 0;
				for (int i = 0; i < 4; i++) {
					int h = ++p < end ? hexval(*p) : -1;
					if (h < 0)
						return -1;
					c = c << 4 | (unsigned)h;
				}
				if (c >= 0x80)
					c = '?';
				break;
			default:
				c = (unsigned char)*p;
				break;
			}
		} else if (c >= 0x80) {
			/* one '?' for a UTF-8 sequence: skip its continuation bytes */
			while (p + 1 < end && ((unsigned char)p[1] & 0xc0) == 0x80)
				p++;
			c = '?';
		}
		if (!raw && (c < 0x20 || c > 0x7e))
			c = '?';
		if (o + 1 >= size) {
			if (raw)
				return -1;
			cut = 1; /* kept to size - 1 bytes */
			break;
		}
		out[o++] = (char)c;
	}
	if (p >= end && !cut)
		return -1; /* never closed */
	out[o] = 0;
	return (long)o;
}

/* dst, when still empty, from the string member key of obj. */
static void take(char *dst, struct span obj, const char *key)
{
	struct span v;
	if (!dst[0] && !obj_get(obj, key, &v) && str_get(v, dst, CTR_STR_MAX, 0) <= 0)
		dst[0] = 0;
}

/* Kubernetes' names, as the kubelet's labels or the runtimes' annotations
 * carry them: containerd's CRI plugin first, then the kubelet's own keys
 * (CRI-O copies them into annotations; dockershim into Docker labels). */
static void take_k8s(struct ctr_info *info, struct span obj)
{
	take(info->name, obj, "io.kubernetes.cri.container-name");
	take(info->name, obj, "io.kubernetes.container.name");
	take(info->image, obj, "io.kubernetes.cri.image-name");
	take(info->image, obj, "io.kubernetes.cri-o.ImageName");
	take(info->pod, obj, "io.kubernetes.cri.sandbox-name");
	take(info->pod, obj, "io.kubernetes.pod.name");
	take(info->k8s_namespace, obj, "io.kubernetes.cri.sandbox-namespace");
	take(info->k8s_namespace, obj, "io.kubernetes.pod.namespace");
}

static int known(const struct ctr_info *info)
{
	return info->name[0] || info->image[0] || info->pod[0] || info->k8s_namespace[0];
}

int ctr_parse_docker(const char *json, size_t len, struct ctr_info *info)
{
	struct span doc = {json, json + len}, cfg, labels;

	if (!obj_get(doc, "Config", &cfg)) {
		if (!obj_get(cfg, "Labels", &labels))
			take_k8s(info, labels);
		take(info->image, cfg, "Image");
	}
	/* Docker's name has a leading '/'; a Kubernetes container name wins. */
	char name[CTR_STR_MAX] = "";
	take(name, doc, "Name");
	if (!info->name[0])
		snprintf(info->name, CTR_STR_MAX, "%s", name[0] == '/' ? name + 1 : name);
	return known(info);
}

int ctr_parse_oci(const char *json, size_t len, struct ctr_info *info)
{
	struct span doc = {json, json + len}, ann;

	if (obj_get(doc, "annotations", &ann))
		return known(info);
	take_k8s(info, ann);
	/* CRI-O's own keys, and nerdctl's name for containerd outside k8s */
	take(info->name, ann, "io.kubernetes.cri-o.ContainerName");
	take(info->name, ann, "nerdctl/name");
	return known(info);
}

/* One element of containers.json: {"id", "names": [..], "metadata": "{json}"}. */
static void storage_entry(struct span e, struct ctr_info *info)
{
	struct span names, first, meta;
	char buf[CTR_META_MAX];

	if (!obj_get(e, "metadata", &meta) && str_get(meta, buf, sizeof(buf), 1) > 0) {
		struct span m = {buf, buf + strlen(buf)};
		take(info->name, m, "name");
		take(info->image, m, "image-name");
		take(info->pod, m, "pod-name");
	}
	if (!info->name[0] && !obj_get(e, "names", &names) && !arr_next(&names, &first) &&
	    str_get(first, info->name, CTR_STR_MAX, 0) <= 0)
		info->name[0] = 0;
}

int ctr_parse_storage(const char *json, size_t len, const char *id, struct ctr_info *info)
{
	struct span it = {json, json + len}, e, v;
	char eid[80];

	while (!arr_next(&it, &e)) {
		if (!obj_get(e, "id", &v) && str_get(v, eid, sizeof(eid), 0) > 0 &&
		    !strcmp(eid, id)) {
			storage_entry(e, info);
			break;
		}
	}
	return known(info);
}
