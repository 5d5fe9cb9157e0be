/* SPDX-License-Identifier: MIT */
/*
 * filter.c: the --filter language (grammar in filter.h). A recursive-descent
 * parser builds a small tree whose comparison nodes hold pre-parsed values
 * (numbers, masked addresses, strings), so evaluation per event is a few
 * loads and compares (filter_eval.c, which also answers, three-valued,
 * whether a chunk can hold a match given its index summary). The fields
 * are rows of one table (fields.c).
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
#include "query/filter_int.h"

/* Deepest nesting of parentheses and 'not' an expression may have. */
#define NEST_MAX 200

static const char *const op_text[] = {"==", "!=", "<", "<=", ">", ">=", "~", "in"};

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
	if (f->special == FS_LATENCY)
		return duration_value(p, s, at, f->name, v);
	if (parse_int(s, v) == 0) {
		if (*v > 0 && *v <= INT32_MAX &&
		    (f->special == FS_RET || f->special == FS_RESULT) && op != OP_LT && op != OP_LE)
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

	if (f->special == FS_TS) {
		char why[96];
		if (ct_time_parse(p->text, &n->ts, why, sizeof(why)))
			return perr(p, p->tok_pos, "bad time '%s' for ts: %s", p->text, why);
		return 0;
	}
	if (p->tok == T_STRING && !f->named && f->special != FS_LATENCY)
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
			    f->special == FS_LATENCY ? "10ms..1s" : "1..1024");
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
	if (n->field->special == FS_PATH && n->op != OP_GLOB && len && s[0] == '@')
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
	for (fi = 0; fi < ct_filter_nfields; fi++)
		if (!strcmp(ct_filter_fields[fi].name, p->text))
			break;
	if (fi == ct_filter_nfields)
		return perr(p, p->tok_pos, "unknown field '%s'", p->text), NULL;
	const struct field *f = &ct_filter_fields[fi];
	struct node *n = new_node(N_CMP);
	n->field = f;
	p->columns |= f->columns;
	p->uses_proc |= f->needs_proc;
	p->uses_host |= f->special == FS_HOST;
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
		perr(
		    p, op_pos,
		    "'~' (glob) works on comm, exe, cmdline, container (and its names), host, path "
		    "and dname, not %s",
		    f->name);
		goto fail;
	}
	if (n->op == OP_IN && (f->kind == V_STR || f->special == FS_TS)) {
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

/* What follows a 'not' or '(' (already counted in p->depth), by parse. */
static struct node *parse_nested(struct parser *p, struct node *(*parse)(struct parser *))
{
	if (next(p))
		return NULL;
	struct node *n = parse(p);
	p->depth--;
	return n;
}

static struct node *parse_unary(struct parser *p)
{
	if ((p->tok == T_NOT || p->tok == T_LPAREN) && ++p->depth > NEST_MAX)
		return perr(p, p->tok_pos,
			    "nested too deeply (more than %d levels of '(' and 'not')", NEST_MAX),
		       NULL;
	if (p->tok == T_NOT) {
		struct node *c = parse_nested(p, parse_unary);
		if (!c)
			return NULL;
		struct node *n = new_node(N_NOT);
		add_kid(n, c);
		return n;
	}
	if (p->tok == T_LPAREN) {
		size_t open = p->tok_pos;
		struct node *n = parse_nested(p, parse_or);
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
	if (n->kind == N_CMP && n->field->special == FS_TS)
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
