/*
 * The edge condition language (attractor-spec §10): clauses joined by `&&`,
 * each `key = literal`, `key != literal`, or a bare key tested for truth.
 *
 * Ownership: lo_cond_parse returns a lo_cond the caller frees with
 * lo_cond_free; clause strings live inside it.
 */
#ifndef LIGHTSOUT_CONDITION_H
#define LIGHTSOUT_CONDITION_H

#include "lightsout/base.h"

typedef enum lo_cond_op {
    LO_COND_EQ,     /* key = literal */
    LO_COND_NE,     /* key != literal */
    LO_COND_TRUTHY, /* key alone: true unless empty, "false" or "0" */
} lo_cond_op;

typedef struct lo_cond_clause {
    const char *key;      /* "outcome", "preferred_label", "context.a.b", "a.b" */
    lo_cond_op op;
    const char *literal;  /* unescaped; "" for LO_COND_TRUTHY */
    uint32_t key_col;     /* 1-based column of the key inside the text */
    uint32_t lit_col;     /* 1-based column of the literal (0 for TRUTHY) */
} lo_cond_clause;

typedef struct lo_cond lo_cond;

/* Parse a condition. The empty (or all-blank) condition parses to zero
 * clauses, which is always true. On error returns NULL and fills err with
 * LO_EPARSE, err->line = 1 and err->col = the 1-based column inside text. */
lo_cond *lo_cond_parse(const char *text, lo_error *err);
void lo_cond_free(lo_cond *c);
size_t lo_cond_count(const lo_cond *c);
const lo_cond_clause *lo_cond_clause_at(const lo_cond *c, size_t i);

/* Look up a context key; return NULL when it is missing. */
typedef const char *(*lo_cond_lookup_fn)(void *ud, const char *key);

typedef struct lo_cond_env {
    const char *outcome;          /* "success", "fail", ... */
    const char *preferred_label;  /* may be NULL = "" */
    lo_cond_lookup_fn lookup;     /* may be NULL: every key missing */
    void *ud;
} lo_cond_env;

/* §10.4: outcome, preferred_label, context.* (with and without the prefix),
 * else a direct context lookup; missing keys resolve to "". */
const char *lo_cond_resolve(const lo_cond_env *env, const char *key);
bool lo_cond_eval(const lo_cond *c, const lo_cond_env *env);

/* The outcome statuses a condition may compare `outcome` with. */
bool lo_cond_is_status(const char *s);
extern const char *const lo_cond_statuses[];
extern const size_t lo_cond_n_statuses;

/* Static check: false when no assignment of values can make every clause
 * true (k=a && k=b, k=a && k!=a, or outcome compared with a value that is not
 * a status). When false and why is non-NULL, writes a one-line reason. */
bool lo_cond_satisfiable(const lo_cond *c, char *why, size_t why_len);

#endif
