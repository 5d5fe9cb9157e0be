/* SPDX-License-Identifier: MIT */
/*
 * evcodec.c: the compact event encoding of event chunks. Each event is
 * stored as the set of fields that differ from the previous event of its
 * chunk, so a decoder keeps one struct as state and patches it in place.
 * Field order and byte layout: format/FORMAT.md, "Event records".
 */
#include <sys/socket.h>

#include "ct_internal.h"

static size_t addr_len(uint16_t family)
{
	return family == AF_INET ? 4 : 16;
}

void ct_event_normalise(struct ct_event *ev)
{
	size_t n = strnlen(ev->comm, CT_COMM_LEN);

	memset(ev->comm + n, 0, CT_COMM_LEN - n);
	if (ev->path_len > CT_UNIX_PATH_MAX)
		ev->path_len = CT_UNIX_PATH_MAX;
	memset(ev->path + ev->path_len, 0, CT_UNIX_PATH_MAX - ev->path_len);
	if (ev->family == AF_INET) {
		memset(ev->daddr + 4, 0, 12);
		memset(ev->saddr + 4, 0, 12);
	}
	memset(ev->_pad, 0, sizeof(ev->_pad));
}

uint32_t ct_event_diff(const struct ct_event *a, const struct ct_event *b)
{
	uint32_t m = 0;

	if (memcmp(a->daddr, b->daddr, 16))
		m |= CT_F_DADDR;
	if (a->dport != b->dport)
		m |= CT_F_DPORT;
	if (a->ret != b->ret)
		m |= CT_F_RET;
	if (a->sockfd != b->sockfd)
		m |= CT_F_SOCKFD;
	if (a->tid != b->tid)
		m |= CT_F_TID;
	if (a->pid != b->pid)
		m |= CT_F_PID;
	if (a->latency_ns != b->latency_ns)
		m |= CT_F_LATENCY;
	if (memcmp(a->comm, b->comm, CT_COMM_LEN))
		m |= CT_F_COMM;
	if (a->ppid != b->ppid)
		m |= CT_F_PPID;
	if (a->uid != b->uid)
		m |= CT_F_UID;
	if (a->gid != b->gid)
		m |= CT_F_GID;
	if (a->cgroup_id != b->cgroup_id)
		m |= CT_F_CGROUP;
	if (a->family != b->family || a->type != b->type || a->proto != b->proto)
		m |= CT_F_FTP;
	if (a->flags != b->flags)
		m |= CT_F_FLAGS;
	if (a->path_len != b->path_len || memcmp(a->path, b->path, a->path_len))
		m |= CT_F_PATH;
	if (a->sport != b->sport || memcmp(a->saddr, b->saddr, 16))
		m |= CT_F_SADDR;
	if (a->scope_id != b->scope_id)
		m |= CT_F_SCOPE;
	return m;
}

/* Encoding order is decoding order: family first, since it sets how many
 * address bytes follow. */
uint8_t *ct_event_encode(uint8_t *p, const struct ct_event *prev, const struct ct_event *ev,
			 uint32_t m)
{
	(void)prev;
	if (m & CT_F_FTP) {
		p = put_varint(p, ev->family);
		p = put_varint(p, ev->type);
		p = put_varint(p, ev->proto);
	}
	if (m & CT_F_FLAGS)
		p = put_varint(p, ev->flags);
	if (m & CT_F_PID)
		p = put_varint(p, ev->pid);
	if (m & CT_F_TID)
		p = put_varint(p, zigzag((int64_t)ev->tid - (int64_t)ev->pid));
	if (m & CT_F_PPID)
		p = put_varint(p, ev->ppid);
	if (m & CT_F_UID)
		p = put_varint(p, ev->uid);
	if (m & CT_F_GID)
		p = put_varint(p, ev->gid);
	if (m & CT_F_CGROUP)
		p = put_varint(p, ev->cgroup_id);
	if (m & CT_F_COMM) {
		size_t n = strnlen(ev->comm, CT_COMM_LEN);
		*p++ = (uint8_t)n;
		memcpy(p, ev->comm, n);
		p += n;
	}
	if (m & CT_F_DADDR) {
		size_t n = addr_len(ev->family);
		memcpy(p, ev->daddr, n);
		p += n;
	}
	if (m & CT_F_DPORT) {
		put_le16(p, ev->dport);
		p += 2;
	}
	if (m & CT_F_SCOPE)
		p = put_varint(p, ev->scope_id);
	if (m & CT_F_PATH) {
		*p++ = ev->path_len;
		memcpy(p, ev->path, ev->path_len);
		p += ev->path_len;
	}
	if (m & CT_F_SADDR) {
		size_t n = addr_len(ev->family);
		put_le16(p, ev->sport);
		memcpy(p + 2, ev->saddr, n);
		p += 2 + n;
	}
	if (m & CT_F_SOCKFD)
		p = put_varint(p, zigzag(ev->sockfd));
	if (m & CT_F_RET)
		p = put_varint(p, zigzag(ev->ret));
	if (m & CT_F_LATENCY)
		p = put_varint(p, ev->latency_ns);
	return p;
}

#define GETV(dst)                                                                                  \
	do {                                                                                       \
		uint64_t v_;                                                                       \
		p = get_varint(p, end, &v_);                                                       \
		if (!p)                                                                            \
			return NULL;                                                               \
		dst = v_;                                                                          \
	} while (0)

/* Values wider than their field are malformed, not silently truncated. */
#define GETV32(dst)                                                                                \
	do {                                                                                       \
		uint64_t w_;                                                                       \
		GETV(w_);                                                                          \
		if (w_ > UINT32_MAX)                                                               \
			return NULL;                                                               \
		dst = (uint32_t)w_;                                                                \
	} while (0)

#define GETV16(dst)                                                                                \
	do {                                                                                       \
		uint64_t w_;                                                                       \
		GETV(w_);                                                                          \
		if (w_ > UINT16_MAX)                                                               \
			return NULL;                                                               \
		dst = (uint16_t)w_;                                                                \
	} while (0)

#define GETZ32(dst)                                                                                \
	do {                                                                                       \
		uint64_t w_;                                                                       \
		GETV(w_);                                                                          \
		int64_t s_ = unzigzag(w_);                                                         \
		if (s_ < INT32_MIN || s_ > INT32_MAX)                                              \
			return NULL;                                                               \
		dst = (int32_t)s_;                                                                 \
	} while (0)

const uint8_t *ct_event_decode(const uint8_t *p, const uint8_t *end, struct ct_event *st,
			       uint32_t m)
{
	if (m & CT_F_FTP) {
		uint16_t fam;
		GETV16(fam);
		if (fam == AF_INET && st->family != AF_INET) {
			/* Keep the "IPv4 tail is zero" invariant across family changes. */
			memset(st->daddr + 4, 0, 12);
			memset(st->saddr + 4, 0, 12);
		}
		st->family = fam;
		GETV16(st->type);
		GETV16(st->proto);
	}
	if (m & CT_F_FLAGS)
		GETV16(st->flags);
	if (m & CT_F_PID)
		GETV32(st->pid);
	if (m & CT_F_TID) {
		uint64_t w;
		GETV(w);
		int64_t t = (int64_t)st->pid + unzigzag(w);
		if (t < 0 || t > UINT32_MAX)
			return NULL;
		st->tid = (uint32_t)t;
	}
	if (m & CT_F_PPID)
		GETV32(st->ppid);
	if (m & CT_F_UID)
		GETV32(st->uid);
	if (m & CT_F_GID)
		GETV32(st->gid);
	if (m & CT_F_CGROUP)
		GETV(st->cgroup_id);
	if (m & CT_F_COMM) {
		if (p >= end || *p > CT_COMM_LEN || (size_t)(end - p - 1) < *p)
			return NULL;
		size_t n = *p++;
		memcpy(st->comm, p, n);
		memset(st->comm + n, 0, CT_COMM_LEN - n);
		p += n;
	}
	if (m & CT_F_DADDR) {
		size_t n = addr_len(st->family);
		if ((size_t)(end - p) < n)
			return NULL;
		memcpy(st->daddr, p, n);
		p += n;
	}
	if (m & CT_F_DPORT) {
		if (end - p < 2)
			return NULL;
		st->dport = get_le16(p);
		p += 2;
	}
	if (m & CT_F_SCOPE)
		GETV32(st->scope_id);
	if (m & CT_F_PATH) {
		if (p >= end || *p > CT_UNIX_PATH_MAX || (size_t)(end - p - 1) < *p)
			return NULL;
		size_t n = *p++;
		memcpy(st->path, p, n);
		if (n < st->path_len)
			memset(st->path + n, 0, st->path_len - n);
		st->path_len = (uint8_t)n;
		p += n;
	}
	if (m & CT_F_SADDR) {
		size_t n = addr_len(st->family);
		if ((size_t)(end - p) < n + 2)
			return NULL;
		st->sport = get_le16(p);
		memcpy(st->saddr, p + 2, n);
		p += 2 + n;
	}
	if (m & CT_F_SOCKFD)
		GETZ32(st->sockfd);
	if (m & CT_F_RET)
		GETZ32(st->ret);
	if (m & CT_F_LATENCY)
		GETV(st->latency_ns);
	return p;
}
