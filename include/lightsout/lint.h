/*
 * Validation and linting (attractor-spec §7) plus lightsout's own rules.
 *
 * Ownership: a lo_diags owns every string in it; free with lo_diags_free.
 */
#ifndef LIGHTSOUT_LINT_H
#define LIGHTSOUT_LINT_H

#include "lightsout/graph.h"

typedef enum lo_severity { LO_SEV_ERROR, LO_SEV_WARNING, LO_SEV_INFO } lo_severity;

typedef struct lo_diag {
    const char *rule;
    lo_severity severity;
    const char *message;
    const char *node_id;            /* NULL when not about a node */
    const char *edge_from, *edge_to; /* NULL when not about an edge */
    const char *fix;                /* suggested fix, or NULL */
    const char *file;
    uint32_t line, col;             /* 0 when unknown */
} lo_diag;

typedef struct lo_diags {
    lo_diag *v;
    size_t n, cap;
    lo_arena *arena;
} lo_diags;

lo_diags *lo_diags_new(void);
void lo_diags_free(lo_diags *d);
/* Add a diagnostic; strings are copied. fix may be NULL. */
int lo_diags_add(lo_diags *d, const char *rule, lo_severity sev,
                 const char *file, lo_pos pos, const char *node_id,
                 const char *from, const char *to, const char *fix,
                 const char *fmt, ...) __attribute__((format(printf, 10, 11)));
size_t lo_diags_count(const lo_diags *d, lo_severity sev);
/* Stable sort by line, then column. */
void lo_diags_sort(lo_diags *d);
const char *lo_severity_name(lo_severity s);

typedef int (*lo_lint_fn)(const lo_graph *g, lo_diags *out, void *ud);
typedef struct lo_lint_rule {
    const char *name;
    lo_lint_fn apply;
    void *ud;
} lo_lint_rule;

/* Built-in rules, then extra (may be NULL). Returns 0 or LO_ENOMEM. */
int lo_validate(const lo_graph *g, const lo_lint_rule *extra, size_t n_extra,
                lo_diags *out);
/* As lo_validate; returns LO_EVALIDATE with err naming the errors when any
 * diagnostic is an error. */
int lo_validate_or_raise(const lo_graph *g, const lo_lint_rule *extra,
                         size_t n_extra, lo_diags *out, lo_error *err);

/* The built-in rules (name and severity), for docs and tests. */
typedef struct lo_rule_info { const char *name; lo_severity severity; const char *doc; } lo_rule_info;
const lo_rule_info *lo_lint_rules(size_t *n);

/* Format one diagnostic compiler-style into out:
 *   file:line:col: error: [rule] message
 *      12 |   a -> b [condition="outcome=sucess"]
 *         |                              ^
 * The source line and caret are added when caret is true and the graph has
 * the source line. */
int lo_diag_format(const lo_diag *d, const lo_graph *g, bool caret, lo_buf *out);
/* Format an error with a source position the same way (file:line:col:
 * error: message), with err->snippet and a caret when caret is true. */
int lo_error_format(const lo_error *err, bool caret, lo_buf *out);
/* The same with a rule tag: "file:line:col: error: [rule] message". */
int lo_error_format_rule(const lo_error *err, const char *rule, bool caret, lo_buf *out);

#endif
