/* SPDX-License-Identifier: MIT */
/*
 * filter_eval.c: a compiled filter against an event (two loads and a
 * compare per comparison node) and against a chunk's index summary
 * (three-valued: none, some or all of its events may match).
 */
#include <fnmatch.h>
#include <string.h>

#include "query/filter_int.h"

/* ----------------------------------------------------------- evaluation */

static int cmp_num(enum op op, int64_t a, int64_t b)
{
	switch (op) {
	case OP_EQ:
		return a == b;
	case OP_NE:
		return a != b;
	case OP_LT:
		return a < b;
	case OP_LE:
		return a <= b;
	case OP_GT:
		return a > b;
	case OP_GE:
		return a >= b;
	default:
		return 0;
	}
}

static int is_v4mapped(const uint8_t *a)
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	return !memcmp(a, prefix, 12);
}

static int prefix_match(const uint8_t *a, const uint8_t *net, unsigned bits)
{
	unsigned full = bits / 8;
	if (memcmp(a, net, full))
		return 0;
	if (bits % 8) {
		uint8_t mask = (uint8_t)(0xff00 >> (bits % 8));
		return (a[full] & mask) == net[full];
	}
	return 1;
}

/* An IPv4 pattern also matches an IPv4-mapped IPv6 address (::ffff:a.b.c.d). */
static int addr_match(const struct node *n, uint16_t family, const uint8_t *a)
{
	if (n->afam == 4) {
		if (family == 2)
			return prefix_match(a, n->addr, n->prefix);
		if (family == 10 && is_v4mapped(a))
			return prefix_match(a + 12, n->addr, n->prefix);
		return 0;
	}
	return family == 10 && prefix_match(a, n->addr, n->prefix);
}

static int str_match(const struct node *n, const char *s, size_t len)
{
	if (n->op == OP_GLOB) {
		char tmp[CT_UNIX_PATH_MAX + 2];
		if (len < sizeof(tmp)) {
			memcpy(tmp, s, len);
			tmp[len] = '\0';
			s = tmp;
		}
		return fnmatch(n->str, s, 0) == 0;
	}
	int eq = len == n->len && !memcmp(s, n->str, len);
	return n->op == OP_EQ ? eq : !eq;
}

/* v in [lo, hi]; a set's "other", "abandoned" or "unknown" is itself only. */
static int num_in(const struct node *n, int64_t v, int64_t lo, int64_t hi)
{
	if (lo == FAMILY_OTHER && n->field->special == FS_FAMILY)
		return v != 1 && v != 2 && v != 10;
	if (lo == hi || v == RESULT_ABANDONED || v == RESULT_UNKNOWN)
		return v == lo;
	return v >= lo && v <= hi;
}

static int eval_cmp(const struct node *n, const struct ct_event *ev, int64_t wall)
{
	struct fval v;

	if (n->field->special == FS_HOST)
		return n->host_hit;
	if (!n->field->get(ev, wall, &v))
		return 0;
	switch (n->field->kind) {
	case V_ADDR: {
		int m = addr_match(n, v.family, v.addr);
		return n->op == OP_NE ? !m : m;
	}
	case V_STR:
		if (n->op == OP_GLOB && v.len && v.str[0] == '\0' && n->field->special == FS_PATH) {
			/* an abstract name globs as "@name" */
			char tmp[CT_UNIX_PATH_MAX + 1];
			memcpy(tmp, v.str, v.len);
			tmp[0] = '@';
			return str_match(n, tmp, v.len);
		}
		return str_match(n, v.str, v.len);
	case V_NUM:
		if (n->op == OP_IN) {
			for (size_t i = 0; i < n->nranges; i++)
				if (num_in(n, v.num, n->ranges[i][0], n->ranges[i][1]))
					return 1;
			return 0;
		}
		if (n->num == FAMILY_OTHER && n->field->special == FS_FAMILY) {
			int other = v.num != 1 && v.num != 2 && v.num != 10;
			return n->op == OP_EQ ? other : !other;
		}
		/* abandoned and unknown order with nothing */
		if ((v.num == RESULT_ABANDONED || v.num == RESULT_UNKNOWN) && n->op != OP_EQ &&
		    n->op != OP_NE)
			return 0;
		return cmp_num(n->op, v.num, n->num);
	}
	return 0;
}

static int eval(const struct node *n, const struct ct_event *ev, int64_t wall)
{
	switch (n->kind) {
	case N_AND:
		for (size_t i = 0; i < n->nkids; i++)
			if (!eval(n->kids[i], ev, wall))
				return 0;
		return 1;
	case N_OR:
		for (size_t i = 0; i < n->nkids; i++)
			if (eval(n->kids[i], ev, wall))
				return 1;
		return 0;
	case N_NOT:
		return !eval(n->kids[0], ev, wall);
	case N_CMP:
		return eval_cmp(n, ev, wall);
	}
	return 0;
}

int ct_filter_match(const struct ct_filter *f, const struct ct_event *ev, int64_t wall_ns)
{
	return eval(f->root, ev, wall_ns);
}

/* ------------------------------------------------------- chunk pushdown */

static enum ct_tri bloom(const struct ct_chunk_info *c, enum ct_key key, const void *v, size_t len)
{
	return ct_chunk_may_contain(c, key, v, len) ? CT_TRI_SOME : CT_TRI_NONE;
}

static enum ct_tri tri_or(enum ct_tri a, enum ct_tri b)
{
	if (a == CT_TRI_ALL || b == CT_TRI_ALL)
		return CT_TRI_ALL;
	if (a == CT_TRI_NONE && b == CT_TRI_NONE)
		return CT_TRI_NONE;
	return CT_TRI_SOME;
}

/* Which values of ts in [lo, hi] satisfy "ts OP x": none, some or all. */
static enum ct_tri ts_range(enum op op, int64_t lo, int64_t hi, int64_t x)
{
	int at_lo = cmp_num(op, lo, x), at_hi = cmp_num(op, hi, x);
	switch (op) {
	case OP_EQ:
		if (x < lo || x > hi)
			return CT_TRI_NONE;
		return lo == hi ? CT_TRI_ALL : CT_TRI_SOME;
	case OP_NE:
		if (x < lo || x > hi)
			return CT_TRI_ALL;
		return lo == hi ? CT_TRI_NONE : CT_TRI_SOME;
	default: /* monotonic in ts: the ends decide */
		if (at_lo && at_hi)
			return CT_TRI_ALL;
		if (!at_lo && !at_hi)
			return CT_TRI_NONE;
		return CT_TRI_SOME;
	}
}

/* An equality the summary can answer: NONE when the key is surely absent. */
/* An equality the summary can answer: NONE when the key is surely absent. */
static enum ct_tri cmp_eq_key(const struct node *n, const struct ct_chunk_info *c)
{
	switch (n->field->key) {
	case CT_KEY_PID:
	case CT_KEY_UID: {
		uint32_t v = (uint32_t)n->num;
		return bloom(c, n->field->key, &v, sizeof(v));
	}
	case CT_KEY_DPORT: {
		uint16_t v = (uint16_t)n->num;
		return bloom(c, CT_KEY_DPORT, &v, sizeof(v));
	}
	case CT_KEY_FAMILY: {
		if (n->num == FAMILY_OTHER)
			return CT_TRI_SOME;
		uint16_t v = (uint16_t)n->num;
		return bloom(c, CT_KEY_FAMILY, &v, sizeof(v));
	}
	case CT_KEY_COMM:
		if (n->len > CT_COMM_LEN)
			return CT_TRI_NONE;
		return bloom(c, CT_KEY_COMM, n->str, n->len);
	case CT_KEY_DNAME:
		if (n->len > CT_NAME_MAX)
			return CT_TRI_NONE;
		return bloom(c, CT_KEY_DNAME, n->str, n->len);
	case CT_KEY_PATH: {
		/* Keyed with path_len bytes; a writer may count a trailing NUL. */
		char tmp[CT_UNIX_PATH_MAX + 2];
		if (n->len > CT_UNIX_PATH_MAX)
			return CT_TRI_NONE;
		memcpy(tmp, n->str, n->len);
		tmp[n->len] = '\0';
		return tri_or(bloom(c, CT_KEY_PATH, tmp, n->len),
			      bloom(c, CT_KEY_PATH, tmp, n->len + 1));
	}
	case CT_KEY_DADDR: {
		if (n->afam == 4 ? n->prefix != 32 : n->prefix != 128)
			return CT_TRI_SOME;
		uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (n->afam == 4) {
			memcpy(mapped + 12, n->addr, 4);
			return tri_or(bloom(c, CT_KEY_DADDR, n->addr, 4),
				      bloom(c, CT_KEY_DADDR, mapped, 16));
		}
		return bloom(c, CT_KEY_DADDR, n->addr, 16);
	}
	default:
		break;
	}
	if (n->field->special == FS_RESULT) {
		/* The outcome known when the chunk was written, or one to come. */
		int32_t pending = CT_RESULT_KEY_PENDING;
		int32_t v = n->num == RESULT_ABANDONED ? CT_RESULT_KEY_ABANDONED
			    : n->num == RESULT_UNKNOWN ? CT_RESULT_KEY_UNKNOWN
						       : (int32_t)n->num;
		return tri_or(bloom(c, CT_KEY_RESULT, &v, 4), bloom(c, CT_KEY_RESULT, &pending, 4));
	}
	return CT_TRI_SOME;
}

/* A set of single values on a keyed field: a chunk may match when the key
 * holds one of them. Ranges (and large sets) read the chunk. */
static enum ct_tri set_key(const struct node *n, const struct ct_chunk_info *c)
{
	enum ct_tri t = CT_TRI_NONE;
	if (!n->field->key || n->nranges > 64)
		return CT_TRI_SOME;
	for (size_t i = 0; i < n->nranges && t == CT_TRI_NONE; i++) {
		if (n->ranges[i][0] != n->ranges[i][1])
			return CT_TRI_SOME;
		struct node one = *n;
		one.op = OP_EQ;
		one.num = n->ranges[i][0];
		t = tri_or(t, cmp_eq_key(&one, c));
	}
	return t == CT_TRI_NONE ? CT_TRI_NONE : CT_TRI_SOME;
}

static enum ct_tri chunk_eval(const struct node *n, const struct ct_chunk_info *c, int64_t off)
{
	enum ct_tri a, t;

	switch (n->kind) {
	case N_AND:
		t = CT_TRI_ALL;
		for (size_t i = 0; i < n->nkids; i++) {
			a = chunk_eval(n->kids[i], c, off);
			if (a == CT_TRI_NONE)
				return CT_TRI_NONE;
			if (a == CT_TRI_SOME)
				t = CT_TRI_SOME;
		}
		return t;
	case N_OR:
		t = CT_TRI_NONE;
		for (size_t i = 0; i < n->nkids && t != CT_TRI_ALL; i++)
			t = tri_or(t, chunk_eval(n->kids[i], c, off));
		return t;
	case N_NOT:
		a = chunk_eval(n->kids[0], c, off);
		return a == CT_TRI_SOME ? CT_TRI_SOME : a == CT_TRI_ALL ? CT_TRI_NONE : CT_TRI_ALL;
	case N_CMP:
		if (n->field->special == FS_TS) {
			if (c->records == 0 || c->first_ts > c->last_ts)
				return CT_TRI_SOME;
			return ts_range(n->op, ct_wall_ns(c->first_ts, off),
					ct_wall_ns(c->last_ts, off), n->num);
		}
		if (n->field->special == FS_HOST)
			return n->host_hit ? CT_TRI_ALL : CT_TRI_NONE;
		if (n->op == OP_IN && n->field->kind == V_NUM)
			return set_key(n, c);
		if (n->op == OP_EQ || (n->op == OP_IN && n->field->key == CT_KEY_DADDR))
			return cmp_eq_key(n, c);
		/* Every event differs when the key is absent. Only for fields
		 * every event has, or "unknown" would be counted as a match. */
		if (n->op == OP_NE && n->field->every)
			return cmp_eq_key(n, c) == CT_TRI_NONE ? CT_TRI_ALL : CT_TRI_SOME;
		return CT_TRI_SOME;
	}
	return CT_TRI_SOME;
}

enum ct_tri ct_filter_chunk(const struct ct_filter *f, const struct ct_chunk_info *c,
			    int64_t wall_offset_ns)
{
	if (c->kind != CT_CHUNK_EVENTS)
		return CT_TRI_SOME;
	return chunk_eval(f->root, c, wall_offset_ns);
}

/* host: compared once per input, not per event. */
static void set_host(struct node *n, const char *host)
{
	if (n->kind == N_CMP && n->field->special == FS_HOST)
		n->host_hit = host && str_match(n, host, strlen(host));
	for (size_t i = 0; i < n->nkids; i++)
		set_host(n->kids[i], host);
}

void ct_filter_set_host(struct ct_filter *f, const char *host)
{
	if (f->uses_host)
		set_host(f->root, host);
}
