/* SPDX-License-Identifier: MIT */
/*
 * filter_int.h: what the filter's files share, not for outside query/:
 * the field table (fields.c), the tree the parser builds (filter.c) and
 * that evaluation and the chunk push-down walk (filter_eval.c).
 */
#ifndef CT_QUERY_FILTER_INT_H
#define CT_QUERY_FILTER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "query/filter.h"
#include "query/timespec.h"

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

/* Fields the parser or evaluation treats by name: ts is a time, latency a
 * duration, path may be abstract, host is known per input, family has
 * "other", ret and result take errno names. */
enum fspecial { FS_NONE, FS_TS, FS_LATENCY, FS_PATH, FS_HOST, FS_FAMILY, FS_RET, FS_RESULT };

/* The field table. key: the summary key an equality looks up (0: none);
 * every: every event has the field (so "!=" may use the key too). */
struct field {
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
	enum fspecial special;
};

extern const struct field ct_filter_fields[];
extern const size_t ct_filter_nfields;

enum op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_GLOB, OP_IN };

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

#endif
