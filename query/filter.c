/* SPDX-License-Identifier: MIT */
/*
 * filter.c: the --filter language (grammar in filter.h). A recursive-descent
 * parser builds a small tree whose comparison nodes hold pre-parsed values
 * (numbers, masked addresses, strings), so evaluation per event is a few
 * loads and compares; the same tree answers, three-valued, whether a chunk
 * can hold a match given its index summary.
 *
 * Fields are rows of one table: a name, the kind of value, its range, the
 * batch columns it reads, how to get it from an event, and its summary key.
 * A new field is a row and its getter.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/names.h"
#include "lib/strbuf.h"
#include "lib/text.h"
#include "query/filter.h"
#include "query/timespec.h"

/* Deepest nesting of parentheses and 'not' an expression may have. */
#define NEST_MAX 200

enum vkind { V_NUM, V_STR, V_ADDR };

/* A field's value in one event. */
struct fval {
	int64_t num;
	const char *str; /* V_STR: bytes (an abstract UNIX name starts with NUL) */
	size_t len;
	uint16_t family; /* V_ADDR */
	const uint8_t *addr;
};

/* "family == other": none of inet, inet6, unix. */
#define FAMILY_OTHER (-1)
/* result values besides 0 and -errno (never compared by order). */
#define RESULT_ABANDONED (INT64_MIN + 1)
#define RESULT_UNKNOWN (INT64_MIN + 2)

static int inet(const struct ct_event *ev)
{
	return ev->dest->family == 2 || ev->dest->family == 10;
}

/* Getters: 0 when the event has no such value (the comparison is false). */
#define GETTER(name, expr)                                                                         \
	static int name(const struct ct_event *ev, int64_t wall, struct fval *v)                   \
	{                                                                                          \
		(void)wall;                                                                        \
		(void)ev;                                                                          \
		expr;                                                                              \
		return 1;                                                                          \
	}
GETTER(get_ts, v->num = wall)
GETTER(get_pid, v->num = ev->task->pid)
GETTER(get_tid, v->num = ev->tid)
GETTER(get_ppid, v->num = ev->task->ppid)
GETTER(get_uid, v->num = ev->task->uid)
GETTER(get_gid, v->num = ev->task->gid)
GETTER(get_cgroup, v->num = (int64_t)ev->task->cgroup_id)
GETTER(get_family, v->num = ev->dest->family)
GETTER(get_type, v->num = ev->dest->type)
GETTER(get_proto, v->num = ev->dest->proto)
GETTER(get_sockfd, v->num = ev->sockfd)
GETTER(get_comm, v->str = ev->task->comm; v->len = strnlen(ev->task->comm, CT_COMM_LEN))

static int get_dport(const struct ct_event *ev, int64_t wall, struct fval *v)
{
	(void)wall;
	v->num = ev->dest->dport;
	return inet(ev);
}

static int get_sport(const struct ct_event *ev, int64_t wall, struct fval *v)
{
	(void)wall;
	v->num = ev->sport;
	return inet(ev) && (ev->flags & CT_EV_SADDR);
}

static int get_ret(const struct ct_event *ev, int64_t wall, struct fval *v)
{
	(void)wall;
	v->num = ev->ret;
	return (ev->flags & CT_EV_RET) != 0;
}

static int get_result(const struct ct_event *ev, int64_t wall, struct fval *v)
{
	(void)wall;
	v->num = ev->flags & CT_EV_RESULT      ? ev->result
		 : ev->flags & CT_EV_ABANDONED ? RESULT_ABANDONED
					       : RESULT_UNKNOWN;
	return 1;
}

static int get_daddr(const struct ct_event *ev, int64_t wall, struct fval *v)
{
	(void)wall;
	v->family = ev->dest->family;
	v->addr = ev->dest->daddr;
	return inet(ev);
}

static int get_saddr(const struct ct_event *ev, int64_t wall, struct fval *v)
{
	(void)wall;
	v->family = ev->dest->family;
	v->addr = ev->saddr;
	return inet(ev) && (ev->flags & CT_EV_SADDR);
}

/* A string the process table knows (exe, cmdline, container): 0 when not. */
static int proc_str(const char *s, struct fval *v)
{
	if (!s)
		return 0;
	v->str = s;
	v->len = strlen(s);
	return 1;
}
GETTER(get_exe, return ev->proc && proc_str(ev->proc->exe, v))
GETTER(get_container, return ev->proc && proc_str(ev->proc->container, v))
GETTER(get_cmdline, return ev->proc && proc_str(ev->proc->cmdline, v))

/* What script shows as the time taken: to the handshake's end when that
 * came after connect(2) returned (as ct_outcome_later says), else how long
 * connect(2) took. */
static int get_latency(const struct ct_event *ev, int64_t wall, struct fval *v)
{
	(void)wall;
	uint16_t f = ev->flags;
	int later =
	    (f & (CT_EV_RESULT | CT_EV_ABANDONED)) &&
	    (!(f & CT_EV_RET) || ev->ret == -115 || (f & CT_EV_ABANDONED) || ev->result != ev->ret);
	if (later) {
		v->num = (int64_t)(ev->result_ns > INT64_MAX ? INT64_MAX : ev->result_ns);
		return 1;
	}
	v->num = (int64_t)(ev->latency_ns > INT64_MAX ? INT64_MAX : ev->latency_ns);
	return (f & CT_EV_LATENCY) != 0;
}

/* host is the input's, not the event's: ct_filter_set_host decides each
 * host comparison once per input, and evaluation reads that answer. */
static int get_host(const struct ct_event *ev, int64_t wall, struct fval *v)
{
	(void)ev;
	(void)wall;
	(void)v;
	return 0;
}

/* The path's bytes: a pathname up to its first NUL, an abstract name
 * (leading NUL) whole. */
static int get_path(const struct ct_event *ev, int64_t wall, struct fval *v)
{
	(void)wall;
	const struct ct_dest *d = ev->dest;
	if (d->family != 1)
		return 0;
	size_t len = d->path_len < CT_UNIX_PATH_MAX ? d->path_len : CT_UNIX_PATH_MAX;
	int abstract = (ev->flags & CT_EV_ABSTRACT) && len && d->path[0] == '\0';
	v->str = len ? d->path : "";
	v->len = abstract || !len ? len : strnlen(d->path, len);
	return 1;
}

static int lookup_name(const char *s, const char *(*name)(uint16_t), int64_t *v);

/* Symbolic values of a numeric field: 0 and *v set, or -1. Families by
 * the short names, any AF_ name JSON writes (AF_NETLINK) or AF_<n>. */
static int family_value(const char *s, int64_t *v)
{
	if (!strcasecmp(s, "inet") || !strcasecmp(s, "ipv4"))
		*v = 2;
	else if (!strcasecmp(s, "inet6") || !strcasecmp(s, "ipv6"))
		*v = 10;
	else if (!strcasecmp(s, "unix") || !strcasecmp(s, "local"))
		*v = 1;
	else if (!strcasecmp(s, "other"))
		*v = FAMILY_OTHER;
	else if (!lookup_name(s, ct_family_name, v))
		return 0;
	else if (!strncmp(s, "AF_", 3) && isdigit((unsigned char)s[3])) {
		char *end;
		unsigned long n = strtoul(s + 3, &end, 10);
		if (*end || n > UINT16_MAX)
			return -1;
		*v = (int64_t)n;
	} else
		return -1;
	return 0;
}

static int type_value(const char *s, int64_t *v)
{
	return lookup_name(s, ct_type_short, v) && lookup_name(s, ct_type_name, v) ? -1 : 0;
}

static int proto_value(const char *s, int64_t *v)
{
	if (!strcmp(s, "ip")) {
		*v = 0;
		return 0;
	}
	return lookup_name(s, ct_proto_short, v);
}

static int errno_value(const char *s, int64_t *v)
{
	if (!strcmp(s, "ok")) {
		*v = 0;
		return 0;
	}
	int e = ct_errno_from_name(s);
	if (e <= 0)
		return -1;
	*v = -e;
	return 0;
}

static int result_value(const char *s, int64_t *v)
{
	if (!strcmp(s, "abandoned"))
		*v = RESULT_ABANDONED;
	else if (!strcmp(s, "unknown"))
		*v = RESULT_UNKNOWN;
	else
		return errno_value(s, v);
	return 0;
}

/* The field table. key: the summary key an equality looks up (0: none);
 * every: every event has the field (so "!=" may use the key too). */
static const struct field {
	const char *name;
	enum vkind kind;
	int64_t min, max;
	uint32_t columns; /* CT_COL_* it reads, beyond ts, task, dest and flags */
	int (*get)(const struct ct_event *ev, int64_t wall, struct fval *v);
	int (*named)(const char *s, int64_t *v); /* symbolic values */
	const char *names_hint;			 /* "noun|hint" for an error */
	enum ct_key key;
	int every;
	int needs_proc;
} fields[] = {
    {"ts", V_NUM, INT64_MIN, INT64_MAX, 0, get_ts},
    {"pid", V_NUM, 0, UINT32_MAX, 0, get_pid, NULL, NULL, CT_KEY_PID, 1},
    {"tid", V_NUM, 0, UINT32_MAX, CT_COL_TID, get_tid},
    {"ppid", V_NUM, 0, UINT32_MAX, 0, get_ppid},
    {"uid", V_NUM, 0, UINT32_MAX, 0, get_uid, NULL, NULL, CT_KEY_UID, 1},
    {"gid", V_NUM, 0, UINT32_MAX, 0, get_gid},
    {"comm", V_STR, 0, 0, 0, get_comm, NULL, NULL, CT_KEY_COMM, 1},
    {"exe", V_STR, 0, 0, 0, get_exe, .needs_proc = 1},
    {"cgroup", V_NUM, 0, INT64_MAX, 0, get_cgroup},
    {"container", V_STR, 0, 0, 0, get_container, .needs_proc = 1},
    {"family", V_NUM, 0, UINT16_MAX, 0, get_family, family_value,
     "family|inet, inet6, unix, other, an AF_ name such as AF_NETLINK, or a number", CT_KEY_FAMILY,
     1},
    {"type", V_NUM, 0, UINT16_MAX, 0, get_type, type_value,
     "socket type|stream, dgram, seqpacket, raw, ..."},
    {"proto", V_NUM, 0, UINT16_MAX, 0, get_proto, proto_value,
     "protocol|tcp, udp, icmp, sctp, ... or a number"},
    {"daddr", V_ADDR, 0, 0, 0, get_daddr, NULL, NULL, CT_KEY_DADDR},
    {"dport", V_NUM, 0, UINT16_MAX, 0, get_dport, NULL, NULL, CT_KEY_DPORT},
    {"saddr", V_ADDR, 0, 0, CT_COL_LOCAL, get_saddr},
    {"sport", V_NUM, 0, UINT16_MAX, CT_COL_LOCAL, get_sport},
    {"path", V_STR, 0, 0, 0, get_path, NULL, NULL, CT_KEY_PATH},
    {"sockfd", V_NUM, INT32_MIN, INT32_MAX, CT_COL_SOCKFD, get_sockfd},
    {"ret", V_NUM, INT32_MIN, INT32_MAX, CT_COL_RET, get_ret, errno_value,
     "errno name|e.g. ECONNREFUSED or -111"},
    {"result", V_NUM, INT32_MIN, 0, CT_COL_RESULT, get_result, result_value,
     "outcome|ok, abandoned, unknown, an errno name such as ETIMEDOUT, or -110"},
    {"latency", V_NUM, 0, INT64_MAX, CT_COL_LATENCY | CT_COL_RESULT_NS, get_latency},
    {"host", V_STR, 0, 0, 0, get_host},
    {"cmdline", V_STR, 0, 0, 0, get_cmdline, .needs_proc = 1},
};
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))
#define F_TS 0	  /* fields[F_TS] */
#define F_PATH 17 /* fields[F_PATH] */

enum op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_GLOB, OP_IN };
static const char *const op_text[] = {"==", "!=", "<", "<=", ">", ">=", "~", "in"};

enum nkind { N_AND, N_OR, N_NOT, N_CMP };

struct node {
	enum nkind kind;
	const struct field *field;
	enum op op;
	/* N_AND, N_OR: n children; N_NOT: one */
	struct node **kids;
	size_t nkids;
	/* V_NUM */
	int64_t num;
	struct ct_time ts; /* ts before the base is applied */
	/* V_ADDR: family 4 or 6, prefix bits, address masked to the prefix */
	int afam;
	unsigned prefix;
	uint8_t addr[16];
	/* V_STR: bytes to compare; for path, abstract names start with NUL */
	char *str;
	size_t len;
	/* V_NUM with 'in': inclusive ranges, a single value as [v, v] */
	int64_t (*ranges)[2];
	size_t nranges;
	/* host: the answer for the input now read (ct_filter_set_host) */
	int host_hit;
};

struct ct_filter {
	struct node *root;
	int uses_proc, uses_host;
	uint32_t columns;
};

/* ---------------------------------------------------------------- lexer */

enum tok {
	T_END,
	T_WORD,
	T_STRING,
	T_OP,
	T_LPAREN,
	T_RPAREN,
	T_AND,
	T_OR,
	T_NOT,
	T_LBRACE,
	T_RBRACE,
	T_COMMA
};

struct parser {
	const char *src;
	size_t pos;	 /* next byte to lex */
	enum tok tok;	 /* current token */
	size_t tok_pos;	 /* where it starts */
	char text[512];	 /* its text (strings unescaped) */
	size_t text_len; /* strings may hold NUL bytes */
	enum op op;	 /* for T_OP */
	int uses_proc, uses_host;
	uint32_t columns; /* CT_COL_* the fields read */
	int depth;	  /* '(' and 'not' open now */
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

/* A string in double or single quotes (q), as in a shell or jq: the same
 * escapes in both, \q for the quote itself. */
static int lex_string(struct parser *p, char q)
{
	const char *s = p->src;
	size_t i = p->pos + 1;
	for (;;) {
		char d = s[i];
		if (!d)
			return perr(p, p->pos, "unterminated string");
		if (d == q)
			break;
		if (d == '\\') {
			d = s[++i];
			switch (d) {
			case '\\':
			case '"':
			case '\'':
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
	if (c == '"' || c == '\'')
		return lex_string(p, c);
	if (c == '{' || c == '}' || c == ',') {
		p->tok = c == '{' ? T_LBRACE : c == '}' ? T_RBRACE : T_COMMA;
		p->text[0] = c;
		p->text[1] = '\0';
		p->pos++;
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
	for (size_t i = 0; i < n->nkids; i++)
		free_node(n->kids[i]);
	free(n->kids);
	free(n->str);
	free(n->ranges);
	free(n);
}

static void add_kid(struct node *n, struct node *kid)
{
	if (!(n->nkids & (n->nkids - 1))) { /* 0 or a power of two: double */
		size_t cap = n->nkids ? n->nkids * 2 : 2;
		struct node **k = realloc(n->kids, cap * sizeof(*k));
		if (!k) {
			fprintf(stderr, "conntrail: out of memory\n");
			exit(1);
		}
		n->kids = k;
	}
	n->kids[n->nkids++] = kid;
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

/* A duration such as 10ms, 1.5s, 250us (latency). 0 and *v, or an error. */
static int duration_value(struct parser *p, const char *s, size_t at, const char *fname, int64_t *v)
{
	char buf[96], why[96];
	struct ct_time t;
	snprintf(buf, sizeof(buf), "+%s", s);
	int bare = 1;
	for (const char *c = s; *c; c++)
		bare &= isdigit((unsigned char)*c) || *c == '.';
	if (bare)
		return perr(p, at, "%s takes a duration with a unit, e.g. 10ms, 250us, 1.5s",
			    fname);
	if (ct_time_parse(buf, &t, why, sizeof(why)))
		return perr(p, at, "bad duration '%s' for %s: %s", s, fname, why);
	*v = t.ns;
	return 0;
}

/* ret and result hold 0 or -errno: a positive errno matches nothing. */
static int positive_errno(struct parser *p, const struct field *f, int64_t v, size_t at)
{
	const char *name = v <= INT32_MAX ? ct_errno_name((int)v) : NULL;
	if (name)
		return perr(p, at, "%s is 0 or -errno: use %s == %s (or -%lld)", f->name, f->name,
			    name, (long long)v);
	return perr(p, at, "%s is 0 or -errno: use %s == -%lld", f->name, f->name, (long long)v);
}

/* One numeric value s (a word or a quoted string) for field f into *v. */
static int num_parse(struct parser *p, const struct field *f, enum op op, const char *s, size_t at,
		     int64_t *v)
{
	if (f->get == get_latency)
		return duration_value(p, s, at, f->name, v);
	if (parse_int(s, v) == 0) {
		if (*v > 0 && *v <= INT32_MAX &&
		    (f->named == errno_value || f->named == result_value) && op != OP_LT &&
		    op != OP_LE)
			return positive_errno(p, f, *v, at);
		if (*v < f->min || *v > f->max)
			return perr(p, at, "%s out of range for %s", s, f->name);
		return 0;
	}
	if (!f->named)
		return perr(p, at, "%s takes a number, not '%s'", f->name, s);
	if (f->named(s, v)) {
		const char *bar = strchr(f->names_hint, '|');
		return perr(p, at, "unknown %.*s '%s' for %s (%s)", (int)(bar - f->names_hint),
			    f->names_hint, s, f->name, bar + 1);
	}
	/* Values outside the numbers order with nothing. */
	if ((*v == FAMILY_OTHER || *v == RESULT_ABANDONED || *v == RESULT_UNKNOWN) && op != OP_EQ &&
	    op != OP_NE && op != OP_IN)
		return perr(p, at, "'%s' only works with == and !=", s);
	return 0;
}

static int num_value(struct parser *p, struct node *n)
{
	const struct field *f = n->field;

	if (f->get == get_ts) {
		char why[96];
		if (ct_time_parse(p->text, &n->ts, why, sizeof(why)))
			return perr(p, p->tok_pos, "bad time '%s' for ts: %s", p->text, why);
		return 0;
	}
	if (p->tok == T_STRING && !f->named && f->get != get_latency)
		return perr(p, p->tok_pos, "%s takes a number, not a string", f->name);
	return num_parse(p, f, n->op, p->text, p->tok_pos, &n->num);
}

static void add_range(struct node *n, int64_t lo, int64_t hi)
{
	if (!(n->nranges & (n->nranges - 1))) { /* 0 or a power of two: double */
		size_t cap = n->nranges ? n->nranges * 2 : 2;
		int64_t(*r)[2] = realloc(n->ranges, cap * sizeof(*r));
		if (!r) {
			fprintf(stderr, "conntrail: out of memory\n");
			exit(1);
		}
		n->ranges = r;
	}
	n->ranges[n->nranges][0] = lo;
	n->ranges[n->nranges][1] = hi;
	n->nranges++;
}

/* One member of 'in': a value, or LO..HI. */
static int range_value(struct parser *p, struct node *n)
{
	const struct field *f = n->field;
	char *dots = p->tok == T_WORD ? strstr(p->text, "..") : NULL;
	int64_t lo, hi;

	if (!dots) {
		if (num_parse(p, f, OP_IN, p->text, p->tok_pos, &lo))
			return -1;
		add_range(n, lo, lo);
		return 0;
	}
	*dots = '\0';
	size_t hi_at = p->tok_pos + (size_t)(dots - p->text) + 2;
	if (!p->text[0] || !dots[2])
		return perr(p, p->tok_pos, "a range is LOW..HIGH, e.g. %s in %s", f->name,
			    f->get == get_latency ? "10ms..1s" : "1..1024");
	if (num_parse(p, f, OP_LT, p->text, p->tok_pos, &lo) ||
	    num_parse(p, f, OP_LT, dots + 2, hi_at, &hi))
		return -1;
	if (lo == FAMILY_OTHER || lo == RESULT_ABANDONED || lo == RESULT_UNKNOWN ||
	    hi == FAMILY_OTHER || hi == RESULT_ABANDONED || hi == RESULT_UNKNOWN)
		return perr(p, p->tok_pos, "'%s' cannot end a range", p->text);
	if (hi < lo)
		return perr(p, hi_at, "range %s..%s is empty", p->text, dots + 2);
	add_range(n, lo, hi);
	return 0;
}

/* 'in' on a number: a range (1..1024), or a set of values and ranges in
 * braces ({53, 80, 8000..8999}). The current token is the first one. */
static int set_value(struct parser *p, struct node *n)
{
	if (p->tok != T_LBRACE)
		return range_value(p, n);
	size_t open = p->tok_pos;
	if (next(p))
		return -1;
	for (;;) {
		if (p->tok != T_WORD && p->tok != T_STRING)
			return perr(p, p->tok == T_END ? open : p->tok_pos,
				    "expected a value in '{...}', e.g. %s in {53, 80, 443}",
				    n->field->name);
		if (range_value(p, n) || next(p))
			return -1;
		if (p->tok == T_RBRACE)
			return 0;
		if (p->tok != T_COMMA)
			return perr(p, p->tok == T_END ? open : p->tok_pos,
				    p->tok == T_END ? "missing '}' for this '{'"
						    : "expected ',' or '}' in the set");
		if (next(p))
			return -1;
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
	if (n->field->get == get_path && n->op != OP_GLOB && len && s[0] == '@')
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
	const struct field *f = &fields[fi];
	struct node *n = new_node(N_CMP);
	n->field = f;
	p->columns |= f->columns;
	p->uses_proc |= f->needs_proc;
	p->uses_host |= f->get == get_host;
	size_t field_end = p->pos;
	if (next(p))
		goto fail;
	if (p->tok != T_OP) {
		perr(p, p->tok == T_END ? field_end : p->tok_pos,
		     "expected an operator (== != < <= > >= ~ in) after '%s'", f->name);
		goto fail;
	}
	n->op = p->op;
	size_t op_pos = p->tok_pos;
	if (n->op == OP_GLOB && f->kind != V_STR) {
		perr(p, op_pos,
		     "'~' (glob) works on comm, exe, cmdline, container, host and path, not %s",
		     f->name);
		goto fail;
	}
	if (n->op == OP_IN && (f->kind == V_STR || f->get == get_ts)) {
		perr(p, op_pos,
		     "'in' takes a CIDR (daddr, saddr) or numbers (dport in 1..1024, "
		     "dport in {53, 443}), not %s",
		     f->name);
		goto fail;
	}
	if (f->kind != V_NUM && n->op >= OP_LT && n->op <= OP_GE) {
		perr(p, op_pos, "'%s' does not order %s values; use == != %s", op_text[n->op],
		     f->name, f->kind == V_STR ? "or ~" : "or in");
		goto fail;
	}
	size_t op_end = p->pos;
	if (next(p))
		goto fail;
	int set = n->op == OP_IN && f->kind == V_NUM;
	if (p->tok != T_WORD && p->tok != T_STRING && !(set && p->tok == T_LBRACE)) {
		perr(p, p->tok == T_END ? op_end : p->tok_pos, "expected a value after '%s'",
		     op_text[n->op]);
		goto fail;
	}
	int rc;
	if (set)
		rc = set_value(p, n);
	else if (f->kind == V_NUM)
		rc = num_value(p, n);
	else if (f->kind == V_ADDR)
		rc = addr_value(p, n, f->name);
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
	if ((p->tok == T_NOT || p->tok == T_LPAREN) && ++p->depth > NEST_MAX)
		return perr(p, p->tok_pos,
			    "nested too deeply (more than %d levels of '(' and 'not')", NEST_MAX),
		       NULL;
	if (p->tok == T_NOT) {
		if (next(p))
			return NULL;
		struct node *c = parse_unary(p);
		p->depth--;
		if (!c)
			return NULL;
		struct node *n = new_node(N_NOT);
		add_kid(n, c);
		return n;
	}
	if (p->tok == T_LPAREN) {
		size_t open = p->tok_pos;
		if (next(p))
			return NULL;
		struct node *n = parse_or(p);
		p->depth--;
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

/* a OP b OP c ...: one node with all of them (no depth to recurse through). */
static struct node *parse_chain(struct parser *p, enum tok tok, enum nkind kind,
				struct node *(*sub)(struct parser *))
{
	struct node *first = sub(p);
	if (!first || p->tok != tok)
		return first;
	struct node *n = new_node(kind);
	add_kid(n, first);
	while (p->tok == tok) {
		struct node *k;
		if (next(p) || !(k = sub(p))) {
			free_node(n);
			return NULL;
		}
		add_kid(n, k);
	}
	return n;
}

static struct node *parse_and(struct parser *p)
{
	return parse_chain(p, T_AND, N_AND, parse_unary);
}

static struct node *parse_or(struct parser *p)
{
	return parse_chain(p, T_OR, N_OR, parse_and);
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
	f->uses_host = p.uses_host;
	f->columns = p.columns;
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
	if (n->kind == N_CMP && n->field->get == get_ts)
		n->num = ct_time_resolve(&n->ts, base);
	for (size_t i = 0; i < n->nkids; i++)
		set_base(n->kids[i], base);
}

void ct_filter_set_base(struct ct_filter *f, int64_t base_wall_ns)
{
	set_base(f->root, base_wall_ns);
}

int ct_filter_uses_proc(const struct ct_filter *f)
{
	return f->uses_proc;
}

uint32_t ct_filter_columns(const struct ct_filter *f)
{
	return f->columns;
}

static int str_match(const struct node *n, const char *s, size_t len);

static void set_host(struct node *n, const char *host)
{
	if (n->kind == N_CMP && n->field->get == get_host)
		n->host_hit = host && str_match(n, host, strlen(host));
	for (size_t i = 0; i < n->nkids; i++)
		set_host(n->kids[i], host);
}

void ct_filter_set_host(struct ct_filter *f, const char *host)
{
	if (f->uses_host)
		set_host(f->root, host);
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

/* v in [lo, hi]; a set's "other", "abandoned" or "unknown" is itself only. */
static int num_in(const struct node *n, int64_t v, int64_t lo, int64_t hi)
{
	if (lo == FAMILY_OTHER && n->field->get == get_family)
		return v != 1 && v != 2 && v != 10;
	if (lo == hi || v == RESULT_ABANDONED || v == RESULT_UNKNOWN)
		return v == lo;
	return v >= lo && v <= hi;
}

static int eval_cmp(const struct node *n, const struct ct_event *ev, int64_t wall)
{
	struct fval v;

	if (n->field->get == get_host)
		return n->host_hit;
	if (!n->field->get(ev, wall, &v))
		return 0;
	switch (n->field->kind) {
	case V_ADDR: {
		int m = addr_match(n, v.family, v.addr);
		return n->op == OP_NE ? !m : m;
	}
	case V_STR:
		if (n->op == OP_GLOB && v.len && v.str[0] == '\0' && n->field->get == get_path) {
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
		if (n->num == FAMILY_OTHER && n->field->get == get_family) {
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
	if (n->field->get == get_result) {
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
		if (n->field->get == get_ts) {
			if (c->records == 0 || c->first_ts > c->last_ts)
				return CT_TRI_SOME;
			return ts_range(n->op, ct_wall_ns(c->first_ts, off),
					ct_wall_ns(c->last_ts, off), n->num);
		}
		if (n->field->get == get_host)
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

/* -------------------------------------------------------------- errors */

void ct_filter_print_caret(const char *expr, const struct ct_filter_error *err)
{
	size_t len = strlen(expr);
	size_t pos = err->pos <= len ? err->pos : len;
	struct ct_buf line = {0}, caret = {0};

	/* The expression on one line, escaped for the terminal (newlines and
	 * tabs as spaces, as typed), then a caret under the character at
	 * fault: an escape takes as many columns as it prints, a UTF-8
	 * sequence one. */
	ct_buf_puts(&line, "  ");
	ct_buf_puts(&caret, "  ");
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)expr[i];
		size_t n = c >= 0x80 ? ct_utf8_seq((const unsigned char *)expr + i, len - i) : 1;
		if (!n)
			n = 1;
		size_t before = line.len;
		if (c == '\n' || c == '\t' || c == '\r')
			ct_buf_puts(&line, " ");
		else
			ct_buf_term(&line, expr + i, n, 0);
		if (i < pos) {
			size_t cols = line.p[before] == '\\' || c < 0x80 ? line.len - before : 1;
			for (size_t k = 0; k < cols; k++)
				ct_buf_puts(&caret, " ");
		}
		i += n;
	}
	ct_buf_puts(&line, "\n");
	ct_buf_puts(&caret, "^\n");
	fwrite(line.p, 1, line.len, stderr);
	fwrite(caret.p, 1, caret.len, stderr);
	ct_buf_free(&line);
	ct_buf_free(&caret);
}
