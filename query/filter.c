/* SPDX-License-Identifier: MIT */
/*
 * filter.c: the --filter language (grammar in filter.h). A recursive-descent
 * parser builds a small tree whose comparison nodes hold pre-parsed values
 * (numbers, masked addresses, strings), so evaluation per event is a few
 * loads and compares; the same tree answers, three-valued, whether a chunk
 * can hold a match given its index summary.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/filter.h"
#include "query/timespec.h"
#include "lib/names.h"

enum field {
	F_TS,
	F_PID,
	F_TID,
	F_PPID,
	F_UID,
	F_GID,
	F_COMM,
	F_EXE,
	F_CGROUP,
	F_CONTAINER,
	F_FAMILY,
	F_TYPE,
	F_PROTO,
	F_DADDR,
	F_DPORT,
	F_SADDR,
	F_SPORT,
	F_PATH,
	F_SOCKFD,
	F_RET,
};

enum vkind { V_NUM, V_STR, V_ADDR };

static const struct {
	const char *name;
	enum field field;
	enum vkind kind;
	int64_t min, max;
} fields[] = {
    {"ts", F_TS, V_NUM, INT64_MIN, INT64_MAX},
    {"pid", F_PID, V_NUM, 0, UINT32_MAX},
    {"tid", F_TID, V_NUM, 0, UINT32_MAX},
    {"ppid", F_PPID, V_NUM, 0, UINT32_MAX},
    {"uid", F_UID, V_NUM, 0, UINT32_MAX},
    {"gid", F_GID, V_NUM, 0, UINT32_MAX},
    {"comm", F_COMM, V_STR, 0, 0},
    {"exe", F_EXE, V_STR, 0, 0},
    {"cgroup", F_CGROUP, V_NUM, 0, INT64_MAX},
    {"container", F_CONTAINER, V_STR, 0, 0},
    {"family", F_FAMILY, V_NUM, 0, UINT16_MAX},
    {"type", F_TYPE, V_NUM, 0, UINT16_MAX},
    {"proto", F_PROTO, V_NUM, 0, UINT16_MAX},
    {"daddr", F_DADDR, V_ADDR, 0, 0},
    {"dport", F_DPORT, V_NUM, 0, UINT16_MAX},
    {"saddr", F_SADDR, V_ADDR, 0, 0},
    {"sport", F_SPORT, V_NUM, 0, UINT16_MAX},
    {"path", F_PATH, V_STR, 0, 0},
    {"sockfd", F_SOCKFD, V_NUM, INT32_MIN, INT32_MAX},
    {"ret", F_RET, V_NUM, INT32_MIN, INT32_MAX},
};
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

enum op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_GLOB, OP_IN };
static const char *const op_text[] = {"==", "!=", "<", "<=", ">", ">=", "~", "in"};

enum nkind { N_AND, N_OR, N_NOT, N_CMP };

/* "family == other": none of inet, inet6, unix. */
#define FAMILY_OTHER (-1)

struct node {
	enum nkind kind;
	enum field field;
	enum op op;
	struct node *a, *b;
	/* V_NUM */
	int64_t num;
	struct ct_time ts; /* F_TS before the base is applied */
	/* V_ADDR: family 4 or 6, prefix bits, address masked to the prefix */
	int afam;
	unsigned prefix;
	uint8_t addr[16];
	/* V_STR: bytes to compare; for path, abstract names start with NUL */
	char *str;
	size_t len;
};

struct ct_filter {
	struct node *root;
	int uses_proc;
	uint32_t fields; /* bit per enum field the expression reads */
};

/* ---------------------------------------------------------------- lexer */

enum tok { T_END, T_WORD, T_STRING, T_OP, T_LPAREN, T_RPAREN, T_AND, T_OR, T_NOT };

struct parser {
	const char *src;
	size_t pos;	 /* next byte to lex */
	enum tok tok;	 /* current token */
	size_t tok_pos;	 /* where it starts */
	char text[512];	 /* its text (strings unescaped) */
	size_t text_len; /* strings may hold NUL bytes */
	enum op op;	 /* for T_OP */
	int uses_proc;
	uint32_t fields;
	struct ct_filter_error *err;
	int failed;
};

static int perr(struct parser *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int perr(struct parser *p, size_t pos, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return -1;
	p->failed = 1;
	p->err->pos = pos;
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* Bytes of a bare word: names, numbers, addresses, CIDRs, times, offsets. */
static int word_char(char c)
{
	return c && (isalnum((unsigned char)c) || strchr("_.:/+-@*?%[]", c) != NULL);
}

static int next(struct parser *p)
{
	const char *s = p->src;

	while (s[p->pos] == ' ' || s[p->pos] == '\t' || s[p->pos] == '\n' || s[p->pos] == '\r')
		p->pos++;
	p->tok_pos = p->pos;
	p->text_len = 0;
	p->text[0] = '\0';
	char c = s[p->pos];
	if (!c) {
		p->tok = T_END;
		return 0;
	}
	if (c == '(' || c == ')') {
		p->tok = c == '(' ? T_LPAREN : T_RPAREN;
		p->pos++;
		return 0;
	}
	if (c == '"') {
		size_t i = p->pos + 1;
		for (;;) {
			char d = s[i];
			if (!d)
				return perr(p, p->pos, "unterminated string");
			if (d == '"')
				break;
			if (d == '\\') {
				d = s[++i];
				switch (d) {
				case '\\':
				case '"':
					break;
				case 'n':
					d = '\n';
					break;
				case 't':
					d = '\t';
					break;
				case '0':
					d = '\0';
					break;
				default:
					return perr(p, i - 1, "unknown escape '\\%c' in string",
						    d ? d : '0');
				}
			}
			if (p->text_len + 1 >= sizeof(p->text))
				return perr(p, p->pos, "string too long");
			p->text[p->text_len++] = d;
			i++;
		}
		p->text[p->text_len] = '\0';
		p->pos = i + 1;
		p->tok = T_STRING;
		return 0;
	}
	static const struct {
		const char *s;
		enum tok tok;
		enum op op;
	} ops[] = {
	    {"==", T_OP, OP_EQ},  {"!=", T_OP, OP_NE}, {"<=", T_OP, OP_LE}, {">=", T_OP, OP_GE},
	    {"&&", T_AND, 0},	  {"||", T_OR, 0},     {"<", T_OP, OP_LT},  {">", T_OP, OP_GT},
	    {"~", T_OP, OP_GLOB}, {"!", T_NOT, 0},     {"=", T_OP, OP_EQ},
	};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		size_t n = strlen(ops[i].s);
		if (!strncmp(s + p->pos, ops[i].s, n)) {
			p->tok = ops[i].tok;
			p->op = ops[i].op;
			memcpy(p->text, ops[i].s, n + 1);
			p->pos += n;
			return 0;
		}
	}
	if (!word_char(c))
		return perr(p, p->pos, "unexpected character '%c'",
			    isprint((unsigned char)c) ? c : '?');
	size_t n = 0;
	while (word_char(s[p->pos + n])) {
		if (n + 1 >= sizeof(p->text))
			return perr(p, p->pos, "word too long");
		p->text[n] = s[p->pos + n];
		n++;
	}
	p->text[n] = '\0';
	p->text_len = n;
	p->pos += n;
	p->tok = T_WORD;
	if (!strcmp(p->text, "and"))
		p->tok = T_AND;
	else if (!strcmp(p->text, "or"))
		p->tok = T_OR;
	else if (!strcmp(p->text, "not"))
		p->tok = T_NOT;
	else if (!strcmp(p->text, "in")) {
		p->tok = T_OP;
		p->op = OP_IN;
	}
	return 0;
}

/* -------------------------------------------------------------- values */

static struct node *new_node(enum nkind kind)
{
	struct node *n = calloc(1, sizeof(*n));
	if (!n) {
		fprintf(stderr, "conntrail: out of memory\n");
		exit(1);
	}
	n->kind = kind;
	return n;
}

static void free_node(struct node *n)
{
	if (!n)
		return;
	free_node(n->a);
	free_node(n->b);
	free(n->str);
	free(n);
}

static int parse_int(const char *s, int64_t *v)
{
	char *end;
	errno = 0;
	/* Decimal (a leading 0 is not octal) or 0x hex. */
	int hex = (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ||
		  (s[0] == '-' && s[1] == '0' && (s[2] == 'x' || s[2] == 'X'));
	long long x = strtoll(s, &end, hex ? 16 : 10);
	if (errno || end == s || *end)
		return -1;
	*v = x;
	return 0;
}

static int lookup_name(const char *s, const char *(*name)(uint16_t), int64_t *v)
{
	for (int i = 0; i < 300; i++) {
		const char *n = name((uint16_t)i);
		if (n && !strcmp(n, s)) {
			*v = i;
			return 0;
		}
	}
	return -1;
}

static int num_value(struct parser *p, struct node *n, size_t field_idx)
{
	const char *s = p->text;
	size_t at = p->tok_pos;
	const char *fname = fields[field_idx].name;

	if (n->field == F_TS) {
		char why[96];
		if (ct_time_parse(s, &n->ts, why, sizeof(why)))
			return perr(p, at, "bad time '%s' for ts: %s", s, why);
		return 0;
	}
	if (parse_int(s, &n->num) == 0) {
		if (n->num < fields[field_idx].min || n->num > fields[field_idx].max)
			return perr(p, at, "%s out of range for %s", s, fname);
		return 0;
	}
	if (p->tok == T_STRING)
		return perr(p, at, "%s takes a number, not a string", fname);
	switch (n->field) {
	case F_FAMILY:
		if (!strcmp(s, "inet") || !strcmp(s, "ipv4") || !strcmp(s, "AF_INET"))
			n->num = 2;
		else if (!strcmp(s, "inet6") || !strcmp(s, "ipv6") || !strcmp(s, "AF_INET6"))
			n->num = 10;
		else if (!strcmp(s, "unix") || !strcmp(s, "local") || !strcmp(s, "AF_UNIX"))
			n->num = 1;
		else if (!strcmp(s, "other")) {
			if (n->op != OP_EQ && n->op != OP_NE)
				return perr(p, at, "'other' only works with == and !=");
			n->num = FAMILY_OTHER;
		} else
			return perr(
			    p, at, "unknown family '%s' (inet, inet6, unix, other or a number)", s);
		return 0;
	case F_TYPE:
		if (!lookup_name(s, ct_type_short, &n->num) ||
		    !lookup_name(s, ct_type_name, &n->num))
			return 0;
		return perr(p, at, "unknown socket type '%s' (stream, dgram, seqpacket, raw, ...)",
			    s);
	case F_PROTO:
		if (!strcmp(s, "ip")) {
			n->num = 0;
			return 0;
		}
		if (!lookup_name(s, ct_proto_short, &n->num))
			return 0;
		return perr(p, at, "unknown protocol '%s' (tcp, udp, icmp, sctp, ... or a number)",
			    s);
	case F_RET: {
		if (!strcmp(s, "ok")) {
			n->num = 0;
			return 0;
		}
		int e = ct_errno_from_name(s);
		if (e > 0) {
			n->num = -e;
			return 0;
		}
		return perr(p, at, "unknown errno name '%s' for ret (e.g. ECONNREFUSED or -111)",
			    s);
	}
	default:
		return perr(p, at, "%s takes a number, not '%s'", fname, s);
	}
}

static int addr_value(struct parser *p, struct node *n, const char *fname)
{
	char buf[128];
	const char *s = p->text;
	size_t at = p->tok_pos;
	unsigned prefix;

	if (p->text_len >= sizeof(buf))
		return perr(p, at, "bad address for %s: too long", fname);
	memcpy(buf, s, p->text_len + 1);
	char *slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		char *end;
		errno = 0;
		unsigned long v = strtoul(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || v > 128)
			return perr(p, at, "bad prefix length in '%s'", s);
		prefix = (unsigned)v;
	}
	memset(n->addr, 0, sizeof(n->addr));
	if (inet_pton(AF_INET, buf, n->addr) == 1) {
		n->afam = 4;
		if (!slash)
			prefix = 32;
		else if (prefix > 32)
			return perr(p, at, "prefix /%u too long for IPv4 in '%s'", prefix, s);
	} else if (inet_pton(AF_INET6, buf, n->addr) == 1) {
		n->afam = 6;
		if (!slash)
			prefix = 128;
	} else {
		return perr(p, at, "bad address '%s' for %s (e.g. 10.0.0.1, 10.0.0.0/8, fe80::/10)",
			    s, fname);
	}
	if (slash && n->op != OP_IN)
		return perr(p, at, "use 'in' with a CIDR: %s in %s", fname, s);
	n->prefix = prefix;
	/* Mask host bits so "10.1.2.3/8" means 10.0.0.0/8. */
	for (unsigned i = 0; i < 16; i++) {
		unsigned bits = prefix > i * 8 ? prefix - i * 8 : 0;
		if (bits < 8)
			n->addr[i] &= (uint8_t)(0xff00 >> bits);
	}
	return 0;
}

static int str_value(struct parser *p, struct node *n)
{
	const char *s = p->text;
	size_t len = p->text_len;

	n->str = malloc(len + 2);
	if (!n->str) {
		fprintf(stderr, "conntrail: out of memory\n");
		exit(1);
	}
	memcpy(n->str, s, len);
	n->str[len] = '\0';
	n->len = len;
	/* "@name" is an abstract UNIX name: its first byte on the wire is NUL. */
	if (n->field == F_PATH && n->op != OP_GLOB && len && s[0] == '@')
		n->str[0] = '\0';
	if (n->op == OP_GLOB && memchr(s, '\0', len))
		return perr(p, p->tok_pos, "a glob pattern cannot hold NUL bytes");
	return 0;
}

/* -------------------------------------------------------------- parser */

static struct node *parse_or(struct parser *p);

static struct node *parse_cmp(struct parser *p)
{
	if (p->tok == T_END)
		return perr(p, p->tok_pos, "expected a comparison such as 'dport == 443'"), NULL;
	if (p->tok != T_WORD)
		return perr(p, p->tok_pos, "expected a field name, got '%s'", p->text), NULL;
	size_t fi;
	for (fi = 0; fi < N_FIELDS; fi++)
		if (!strcmp(fields[fi].name, p->text))
			break;
	if (fi == N_FIELDS)
		return perr(p, p->tok_pos, "unknown field '%s'", p->text), NULL;
	struct node *n = new_node(N_CMP);
	n->field = fields[fi].field;
	p->fields |= 1u << n->field;
	if (n->field == F_EXE || n->field == F_CONTAINER)
		p->uses_proc = 1;
	size_t field_end = p->pos;
	if (next(p))
		goto fail;
	if (p->tok != T_OP) {
		perr(p, p->tok == T_END ? field_end : p->tok_pos,
		     "expected an operator (== != < <= > >= ~ in) after '%s'", fields[fi].name);
		goto fail;
	}
	n->op = p->op;
	size_t op_pos = p->tok_pos;
	enum vkind vk = fields[fi].kind;
	if (n->op == OP_GLOB && vk != V_STR) {
		perr(p, op_pos, "'~' (glob) works on comm, exe, container and path, not %s",
		     fields[fi].name);
		goto fail;
	}
	if (n->op == OP_IN && vk != V_ADDR) {
		perr(p, op_pos, "'in' takes a CIDR and works on daddr and saddr, not %s",
		     fields[fi].name);
		goto fail;
	}
	if (vk != V_NUM && n->op >= OP_LT && n->op <= OP_GE) {
		perr(p, op_pos, "'%s' does not order %s values; use == != %s", op_text[n->op],
		     fields[fi].name, vk == V_STR ? "or ~" : "or in");
		goto fail;
	}
	size_t op_end = p->pos;
	if (next(p))
		goto fail;
	if (p->tok != T_WORD && p->tok != T_STRING) {
		perr(p, p->tok == T_END ? op_end : p->tok_pos, "expected a value after '%s'",
		     op_text[n->op]);
		goto fail;
	}
	int rc;
	if (vk == V_NUM)
		rc = num_value(p, n, fi);
	else if (vk == V_ADDR)
		rc = addr_value(p, n, fields[fi].name);
	else
		rc = str_value(p, n);
	if (rc || next(p))
		goto fail;
	return n;
fail:
	free_node(n);
	return NULL;
}

static struct node *parse_unary(struct parser *p)
{
	if (p->tok == T_NOT) {
		if (next(p))
			return NULL;
		struct node *c = parse_unary(p);
		if (!c)
			return NULL;
		struct node *n = new_node(N_NOT);
		n->a = c;
		return n;
	}
	if (p->tok == T_LPAREN) {
		size_t open = p->tok_pos;
		if (next(p))
			return NULL;
		struct node *n = parse_or(p);
		if (!n)
			return NULL;
		if (p->tok != T_RPAREN) {
			perr(p, p->tok == T_END ? open : p->tok_pos,
			     p->tok == T_END ? "missing ')' for this '('"
					     : "expected ')', 'and' or 'or'");
			free_node(n);
			return NULL;
		}
		if (next(p)) {
			free_node(n);
			return NULL;
		}
		return n;
	}
	return parse_cmp(p);
}

static struct node *parse_binary(struct parser *p, enum tok tok, enum nkind kind,
				 struct node *(*sub)(struct parser *))
{
	struct node *left = sub(p);
	while (left && p->tok == tok) {
		if (next(p)) {
			free_node(left);
			return NULL;
		}
		struct node *right = sub(p);
		if (!right) {
			free_node(left);
			return NULL;
		}
		struct node *n = new_node(kind);
		n->a = left;
		n->b = right;
		left = n;
	}
	return left;
}

static struct node *parse_and(struct parser *p)
{
	return parse_binary(p, T_AND, N_AND, parse_unary);
}

static struct node *parse_or(struct parser *p)
{
	return parse_binary(p, T_OR, N_OR, parse_and);
}

int ct_filter_compile(const char *expr, struct ct_filter **out, struct ct_filter_error *err)
{
	struct parser p = {.src = expr, .err = err};

	*out = NULL;
	err->pos = 0;
	err->msg[0] = '\0';
	if (next(&p))
		return -1;
	if (p.tok == T_END) {
		perr(&p, 0, "empty expression");
		return -1;
	}
	struct node *root = parse_or(&p);
	if (!root)
		return -1;
	if (p.tok != T_END) {
		if (p.tok == T_RPAREN)
			perr(&p, p.tok_pos, "')' without a matching '('");
		else
			perr(&p, p.tok_pos, "unexpected '%s' (expected 'and', 'or' or the end)",
			     p.text);
		free_node(root);
		return -1;
	}
	struct ct_filter *f = calloc(1, sizeof(*f));
	if (!f) {
		free_node(root);
		perr(&p, 0, "out of memory");
		return -1;
	}
	f->root = root;
	f->uses_proc = p.uses_proc;
	f->fields = p.fields;
	ct_filter_set_base(f, 0);
	*out = f;
	return 0;
}

void ct_filter_free(struct ct_filter *f)
{
	if (!f)
		return;
	free_node(f->root);
	free(f);
}

static void set_base(struct node *n, int64_t base)
{
	if (!n)
		return;
	if (n->kind == N_CMP && n->field == F_TS)
		n->num = ct_time_resolve(&n->ts, base);
	set_base(n->a, base);
	set_base(n->b, base);
}

void ct_filter_set_base(struct ct_filter *f, int64_t base_wall_ns)
{
	set_base(f->root, base_wall_ns);
}

int ct_filter_uses_proc(const struct ct_filter *f)
{
	return f->uses_proc;
}

int ct_filter_batchable(const struct ct_filter *f)
{
	return !(f->fields & (1u << F_TID | 1u << F_SADDR | 1u << F_SPORT | 1u << F_SOCKFD));
}

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

static int eval_cmp(const struct node *n, const struct ct_event *ev,
		    const struct ct_proc_info *proc, int64_t wall_ns)
{
	int inet = ev->family == 2 || ev->family == 10;
	int64_t v;

	switch (n->field) {
	case F_TS:
		v = wall_ns;
		break;
	case F_PID:
		v = ev->pid;
		break;
	case F_TID:
		v = ev->tid;
		break;
	case F_PPID:
		v = ev->ppid;
		break;
	case F_UID:
		v = ev->uid;
		break;
	case F_GID:
		v = ev->gid;
		break;
	case F_CGROUP:
		v = (int64_t)ev->cgroup_id;
		break;
	case F_FAMILY:
		if (n->num == FAMILY_OTHER) {
			int other = ev->family != 1 && ev->family != 2 && ev->family != 10;
			return n->op == OP_EQ ? other : !other;
		}
		v = ev->family;
		break;
	case F_TYPE:
		v = ev->type;
		break;
	case F_PROTO:
		v = ev->proto;
		break;
	case F_DPORT:
		if (!inet)
			return 0;
		v = ev->dport;
		break;
	case F_SPORT:
		if (!inet || !(ev->flags & CT_EV_SADDR))
			return 0;
		v = ev->sport;
		break;
	case F_SOCKFD:
		v = ev->sockfd;
		break;
	case F_RET:
		if (!(ev->flags & CT_EV_RET))
			return 0;
		v = ev->ret;
		break;
	case F_DADDR:
	case F_SADDR: {
		if (!inet || (n->field == F_SADDR && !(ev->flags & CT_EV_SADDR)))
			return 0;
		int m = addr_match(n, ev->family, n->field == F_DADDR ? ev->daddr : ev->saddr);
		return n->op == OP_NE ? !m : m;
	}
	case F_COMM:
		return str_match(n, ev->comm, strnlen(ev->comm, CT_COMM_LEN));
	case F_EXE:
		if (!proc || !proc->exe)
			return 0;
		return str_match(n, proc->exe, strlen(proc->exe));
	case F_CONTAINER:
		if (!proc || !proc->container)
			return 0;
		return str_match(n, proc->container, strlen(proc->container));
	case F_PATH: {
		if (ev->family != 1)
			return 0;
		size_t len = ev->path_len < CT_UNIX_PATH_MAX ? ev->path_len : CT_UNIX_PATH_MAX;
		int abstract = (ev->flags & CT_EV_ABSTRACT) && len && ev->path[0] == '\0';
		if (!abstract)
			len = strnlen(ev->path, len);
		if (n->op == OP_GLOB && abstract) {
			char tmp[CT_UNIX_PATH_MAX + 1];
			memcpy(tmp, ev->path, len);
			tmp[0] = '@';
			return str_match(n, tmp, len);
		}
		return str_match(n, ev->path, len);
	}
	default:
		return 0;
	}
	return cmp_num(n->op, v, n->num);
}

static int eval(const struct node *n, const struct ct_event *ev, const struct ct_proc_info *proc,
		int64_t wall_ns)
{
	switch (n->kind) {
	case N_AND:
		return eval(n->a, ev, proc, wall_ns) && eval(n->b, ev, proc, wall_ns);
	case N_OR:
		return eval(n->a, ev, proc, wall_ns) || eval(n->b, ev, proc, wall_ns);
	case N_NOT:
		return !eval(n->a, ev, proc, wall_ns);
	case N_CMP:
		return eval_cmp(n, ev, proc, wall_ns);
	}
	return 0;
}

int ct_filter_match(const struct ct_filter *f, const struct ct_event *ev,
		    const struct ct_proc_info *proc, int64_t wall_ns)
{
	return eval(f->root, ev, proc, wall_ns);
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
static enum ct_tri cmp_eq_key(const struct node *n, const struct ct_chunk_info *c)
{
	switch (n->field) {
	case F_PID: {
		uint32_t v = (uint32_t)n->num;
		return bloom(c, CT_KEY_PID, &v, sizeof(v));
	}
	case F_UID: {
		uint32_t v = (uint32_t)n->num;
		return bloom(c, CT_KEY_UID, &v, sizeof(v));
	}
	case F_DPORT: {
		uint16_t v = (uint16_t)n->num;
		return bloom(c, CT_KEY_DPORT, &v, sizeof(v));
	}
	case F_FAMILY: {
		if (n->num == FAMILY_OTHER)
			return CT_TRI_SOME;
		uint16_t v = (uint16_t)n->num;
		return bloom(c, CT_KEY_FAMILY, &v, sizeof(v));
	}
	case F_COMM:
		if (n->len > CT_COMM_LEN)
			return CT_TRI_NONE;
		return bloom(c, CT_KEY_COMM, n->str, n->len);
	case F_PATH: {
		/* Keyed with path_len bytes; a writer may count a trailing NUL. */
		char tmp[CT_UNIX_PATH_MAX + 2];
		if (n->len > CT_UNIX_PATH_MAX)
			return CT_TRI_NONE;
		memcpy(tmp, n->str, n->len);
		tmp[n->len] = '\0';
		return tri_or(bloom(c, CT_KEY_PATH, tmp, n->len),
			      bloom(c, CT_KEY_PATH, tmp, n->len + 1));
	}
	case F_DADDR: {
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
		return CT_TRI_SOME;
	}
}

static enum ct_tri chunk_eval(const struct node *n, const struct ct_chunk_info *c, int64_t off)
{
	enum ct_tri a, b;

	switch (n->kind) {
	case N_AND:
		a = chunk_eval(n->a, c, off);
		if (a == CT_TRI_NONE)
			return CT_TRI_NONE;
		b = chunk_eval(n->b, c, off);
		if (b == CT_TRI_NONE)
			return CT_TRI_NONE;
		return a == CT_TRI_ALL && b == CT_TRI_ALL ? CT_TRI_ALL : CT_TRI_SOME;
	case N_OR:
		a = chunk_eval(n->a, c, off);
		if (a == CT_TRI_ALL)
			return CT_TRI_ALL;
		return tri_or(a, chunk_eval(n->b, c, off));
	case N_NOT:
		a = chunk_eval(n->a, c, off);
		return a == CT_TRI_SOME ? CT_TRI_SOME : a == CT_TRI_ALL ? CT_TRI_NONE : CT_TRI_ALL;
	case N_CMP:
		if (n->field == F_TS) {
			if (c->records == 0 || c->first_ts > c->last_ts)
				return CT_TRI_SOME;
			return ts_range(n->op, (int64_t)c->first_ts + off,
					(int64_t)c->last_ts + off, n->num);
		}
		if (n->op == OP_EQ || (n->op == OP_IN && n->field == F_DADDR))
			return cmp_eq_key(n, c);
		if (n->op == OP_NE) {
			/* Every event differs when the key is absent. Only for fields
			 * every event has, or "unknown" would be counted as a match. */
			if (n->field == F_PID || n->field == F_UID || n->field == F_COMM ||
			    n->field == F_FAMILY)
				return cmp_eq_key(n, c) == CT_TRI_NONE ? CT_TRI_ALL : CT_TRI_SOME;
		}
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

/* -------------------------------------------------------------- errors */

void ct_filter_print_caret(const char *expr, const struct ct_filter_error *err)
{
	size_t len = strlen(expr);
	size_t pos = err->pos <= len ? err->pos : len;

	/* The expression on one line (newlines and tabs as spaces), then a
	 * caret under the byte at fault. */
	fputs("  ", stderr);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)expr[i];
		fputc(c < 0x20 ? ' ' : c, stderr);
	}
	fputs("\n  ", stderr);
	for (size_t i = 0; i < pos; i++) {
		unsigned char c = (unsigned char)expr[i];
		/* UTF-8 continuation bytes take no column. */
		if ((c & 0xc0) != 0x80)
			fputc(' ', stderr);
	}
	fputs("^\n", stderr);
}
