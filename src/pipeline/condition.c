/*
 * The edge condition language (attractor-spec §10): parser, evaluator and a
 * static satisfiability check used by the linter.
 *
 * The parser is stricter than the spec's split-on-"&&" pseudocode on purpose:
 * a typo in a condition silently routes a run down the wrong edge, so every
 * malformed condition is rejected with the column of the problem.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lightsout/condition.h"

struct lo_cond {
    lo_cond_clause *v;
    size_t n, cap;
    char *strings; /* keys and unescaped literals, packed NUL-terminated */
};

const char *const lo_cond_statuses[] = {
    "success", "partial_success", "retry", "fail", "skipped",
};
const size_t lo_cond_n_statuses =
    sizeof lo_cond_statuses / sizeof lo_cond_statuses[0];

bool lo_cond_is_status(const char *s)
{
    if (!s)
        return false;
    for (size_t i = 0; i < lo_cond_n_statuses; i++)
        if (strcmp(s, lo_cond_statuses[i]) == 0)
            return true;
    return false;
}

/* ---- small helpers ---- */

/* ASCII only, whatever the locale: keys and bare literals are ASCII. */
static bool is_ident_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
static bool is_ident_char(char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}
static bool is_bare_char(char c)
{
    return is_ident_char(c) || (c && strchr(".:/-", c));
}

static bool is_space(char c) { return c && strchr(" \t\n\r\f\v", c); }

/* Copy s (n bytes) into dst for a one-line message: control bytes and
 * non-ASCII are escaped so a hostile condition cannot break the line, and
 * long text is cut with "...". */
static const char *show(char *dst, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char tmp[8] = {(char)c, '\0'};
        if (c == '\n' || c == '\t')
            snprintf(tmp, sizeof tmp, "\\%c", c == '\n' ? 'n' : 't');
        else if (c < 0x20 || c >= 0x7f)
            snprintf(tmp, sizeof tmp, "\\x%02x", c);
        size_t tl = strlen(tmp);
        if (o + tl + 4 >= cap) { /* keep room for "..." and the NUL */
            memcpy(dst + o, "...", 3);
            o += 3;
            break;
        }
        memcpy(dst + o, tmp, tl);
        o += tl;
    }
    dst[o] = '\0';
    return dst;
}

/* ---- parser ---- */

typedef struct parser {
    const char *s;
    size_t len, pos;
    lo_cond *c;
    char *out; /* next free byte in c->strings */
    lo_error *err;
} parser;

__attribute__((format(printf, 3, 4)))
static int fail(parser *p, size_t at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lo_error_setv(p->err, LO_EPARSE, fmt, ap);
    va_end(ap);
    if (p->err) {
        p->err->line = 1;
        p->err->col = (uint32_t)at + 1; /* len is checked to fit */
    }
    return LO_EPARSE;
}

static char peek(const parser *p, size_t k)
{
    return p->pos + k < p->len ? p->s[p->pos + k] : '\0';
}

static void skip_ws(parser *p)
{
    while (p->pos < p->len && is_space(p->s[p->pos]))
        p->pos++;
}

static bool at_and(const parser *p)
{
    return peek(p, 0) == '&' && peek(p, 1) == '&';
}

/* Length of an operator other languages have and this one does not, at the
 * cursor (0 if none). Words only count where an operator is expected. */
static size_t unsupported_op(const parser *p, bool words)
{
    static const char *const syms[] = {"||", "|", "<=", ">=", "<", ">",
                                       "!",  "~", "(",  ")"};
    static const char *const kw[] = {"contains", "matches", "in",
                                     "not",      "and",     "or"};
    const char *s = p->s + p->pos;
    size_t left = p->len - p->pos;
    for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
        size_t n = strlen(syms[i]);
        /* "!=" is ours; a lone '!' is negation */
        if (n <= left && memcmp(s, syms[i], n) == 0 &&
            !(s[0] == '!' && left > 1 && s[1] == '='))
            return n;
    }
    for (size_t i = 0; words && i < sizeof kw / sizeof kw[0]; i++) {
        size_t n = strlen(kw[i]);
        if (n <= left && strncasecmp(s, kw[i], n) == 0 &&
            (n == left || !is_ident_char(s[n])))
            return n;
    }
    return 0;
}

static int fail_unsupported(parser *p, size_t at, size_t n)
{
    char b[64];
    return fail(p, at,
                "'%s' is not supported: the condition language only has "
                "'=', '!=' and '&&'",
                show(b, sizeof b, p->s + at, n));
}

/* Something other than end of text or "&&" follows a complete key or clause
 * (clause text is s[from, pos)). Explain what is wrong with it. */
static int fail_follow(parser *p, size_t from, bool after_key)
{
    char b1[96], b2[64];
    size_t at = p->pos, n;
    if (peek(p, 0) == '&')
        return fail(p, at,
                    "a single '&' is not an operator: join clauses with '&&'");
    if ((n = unsupported_op(p, true)) != 0)
        return fail_unsupported(p, at, n);
    /* a bare "not x" clause: the key read was the word "not" */
    if (after_key && p->pos - from > 3 &&
        strncasecmp(p->s + from, "not", 3) == 0 && is_space(p->s[from + 3]))
        return fail_unsupported(p, from, 3);
    n = 1; /* quote a whole word, or the one odd character */
    while (at + n < p->len && is_bare_char(p->s[at]) &&
           is_bare_char(p->s[at + n]))
        n++;
    size_t clause_end = at;
    while (clause_end > from && is_space(p->s[clause_end - 1]))
        clause_end--;
    return fail(p, at, "unexpected '%s' after '%s': %s",
                show(b2, sizeof b2, p->s + at, n),
                show(b1, sizeof b1, p->s + from, clause_end - from),
                after_key ? "expected '=', '!=' or '&&'"
                          : "clauses are joined with '&&'");
}

/* Copy n bytes into the string block and return the copy. */
static const char *put(parser *p, const char *s, size_t n)
{
    char *d = p->out;
    memcpy(d, s, n);
    d[n] = '\0';
    p->out += n + 1;
    return d;
}

/* A double-quoted string; the cursor is on the opening quote. */
static int parse_string(parser *p, const char **lit)
{
    size_t open = p->pos;
    char *d = p->out;
    size_t o = 0;
    p->pos++;
    for (;;) {
        if (p->pos >= p->len)
            return fail(p, open, "unterminated string: no closing '\"'");
        char c = p->s[p->pos];
        if (c == '"')
            break;
        if (c == '\\') {
            char e = peek(p, 1);
            if (e == '"' || e == '\\')
                c = e;
            else if (e == 'n')
                c = '\n';
            else if (e == 't')
                c = '\t';
            else if (p->pos + 1 >= p->len) {
                p->pos++; /* a trailing backslash: reported as unterminated */
                continue;
            }
            else {
                char b[16];
                return fail(p, p->pos,
                            "unknown escape '\\%s' in string: use \\\", \\\\, "
                            "\\n or \\t",
                            show(b, sizeof b, p->s + p->pos + 1, 1));
            }
            p->pos++;
        }
        d[o++] = c;
        p->pos++;
    }
    p->pos++; /* closing quote */
    d[o] = '\0';
    p->out += o + 1;
    *lit = d;
    return 0;
}

static int parse_literal(parser *p, const char *op, const char **lit)
{
    char b[16];
    size_t at = p->pos;
    char c = peek(p, 0);
    if (at >= p->len || c == '&')
        return fail(p, at,
                    "missing value after '%s': write \"\" to compare with the "
                    "empty string",
                    op);
    if (c == '"')
        return parse_string(p, lit);
    if (!is_bare_char(c))
        return fail(p, at,
                    "invalid value starting with '%s': quote it, or use only "
                    "letters, digits and _ . : / -",
                    show(b, sizeof b, p->s + at, 1));
    while (p->pos < p->len && is_bare_char(p->s[p->pos]))
        p->pos++;
    *lit = put(p, p->s + at, p->pos - at);
    return 0;
}

static int add_clause(parser *p, const lo_cond_clause *cl)
{
    lo_cond *c = p->c;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4;
        lo_cond_clause *v = lo_realloc(c->v, cap * sizeof *v);
        if (!v)
            return LO_ENOMEM;
        c->v = v;
        c->cap = cap;
    }
    c->v[c->n++] = *cl;
    return 0;
}

/* One clause; the cursor is on its first non-blank character. */
static int parse_clause(parser *p)
{
    char b[16];
    size_t start = p->pos;
    char c = peek(p, 0);
    size_t n;

    if (at_and(p))
        return fail(p, start, "empty clause: '&&' must join two clauses");
    if (c == '&')
        return fail_follow(p, start, false);
    if (c == '=' || (c == '!' && peek(p, 1) == '='))
        return fail(p, start, "missing key before '%s'", c == '=' ? "=" : "!=");
    if ((n = unsupported_op(p, false)) != 0)
        return fail_unsupported(p, start, n);
    if (!is_ident_start(c))
        return fail(p, start,
                    "invalid key starting with '%s': a key starts with a "
                    "letter or '_'",
                    show(b, sizeof b, p->s + start, 1));

    /* Key: identifiers joined by '.' */
    for (;;) {
        while (p->pos < p->len && is_ident_char(p->s[p->pos]))
            p->pos++;
        if (peek(p, 0) != '.')
            break;
        if (!is_ident_start(peek(p, 1)))
            return fail(p, p->pos + 1,
                        "invalid key: expected a name after '.' (a letter or "
                        "'_', then letters, digits or '_')");
        p->pos++;
    }
    size_t kend = p->pos;
    c = peek(p, 0);
    if (p->pos < p->len && !is_space(c) && c != '=' && c != '!' && c != '&' &&
        unsupported_op(p, false) == 0)
        return fail(p, p->pos,
                    "invalid character '%s' in key: keys are letters, digits, "
                    "'_' and '.'",
                    show(b, sizeof b, p->s + p->pos, 1));

    lo_cond_clause cl = {.key_col = (uint32_t)start + 1};
    skip_ws(p);
    const char *op = NULL;
    c = peek(p, 0);
    if (p->pos >= p->len || at_and(p)) {
        cl.op = LO_COND_TRUTHY;
        cl.literal = "";
    } else if (c == '=' && peek(p, 1) == '=') {
        return fail(p, p->pos, "'==' is not an operator: use '=' to compare");
    } else if (c == '=') {
        cl.op = LO_COND_EQ;
        op = "=";
        p->pos++;
    } else if (c == '!' && peek(p, 1) == '=') {
        cl.op = LO_COND_NE;
        op = "!=";
        p->pos += 2;
    } else {
        return fail_follow(p, start, true);
    }
    cl.key = put(p, p->s + start, kend - start);
    if (op) {
        skip_ws(p);
        cl.lit_col = (uint32_t)p->pos + 1;
        int rc = parse_literal(p, op, &cl.literal);
        if (rc)
            return rc;
    }
    return add_clause(p, &cl);
}

static int parse_all(parser *p)
{
    skip_ws(p);
    if (p->pos >= p->len)
        return 0; /* empty condition: always true */
    for (;;) {
        size_t start = p->pos;
        int rc = parse_clause(p);
        if (rc)
            return rc;
        skip_ws(p);
        if (p->pos >= p->len)
            return 0;
        if (!at_and(p))
            return fail_follow(p, start, false);
        size_t amp = p->pos;
        p->pos += 2;
        skip_ws(p);
        if (p->pos >= p->len)
            return fail(p, amp, "empty clause: nothing follows '&&'");
    }
}

lo_cond *lo_cond_parse(const char *text, lo_error *err)
{
    if (!text)
        text = "";
    size_t len = strlen(text);
    /* columns are uint32_t, and the string block is 2*len+2 bytes */
    if (len >= UINT32_MAX - 1) {
        lo_error_at(err, LO_ETOOBIG, NULL, 1, 1, "condition is too long");
        return NULL;
    }
    lo_cond *c = lo_calloc(1, sizeof *c);
    if (c)
        /* Each clause needs at most its source bytes plus two NULs, and a
         * clause has at least one source byte plus a 2-byte "&&"; unescaping
         * only shrinks. 2*len+2 therefore always suffices. */
        c->strings = lo_malloc(2 * len + 2);
    if (!c || !c->strings) {
        lo_cond_free(c);
        lo_error_set(err, LO_ENOMEM, "out of memory parsing a condition");
        return NULL;
    }
    parser p = {.s = text, .len = len, .c = c, .out = c->strings, .err = err};
    int rc = parse_all(&p);
    if (rc) {
        if (rc == LO_ENOMEM)
            lo_error_set(err, LO_ENOMEM, "out of memory parsing a condition");
        lo_cond_free(c);
        return NULL;
    }
    return c;
}

void lo_cond_free(lo_cond *c)
{
    if (!c)
        return;
    free(c->v);
    free(c->strings);
    free(c);
}

size_t lo_cond_count(const lo_cond *c) { return c ? c->n : 0; }

const lo_cond_clause *lo_cond_clause_at(const lo_cond *c, size_t i)
{
    return c && i < c->n ? &c->v[i] : NULL;
}

/* ---- evaluation ---- */

const char *lo_cond_resolve(const lo_cond_env *env, const char *key)
{
    if (!env || !key)
        return "";
    if (strcmp(key, "outcome") == 0)
        return env->outcome ? env->outcome : "";
    if (strcmp(key, "preferred_label") == 0)
        return env->preferred_label ? env->preferred_label : "";
    if (!env->lookup)
        return "";
    const char *v = env->lookup(env->ud, key);
    /* §10.4: context.x also finds a value stored as plain x */
    if (!v && strncmp(key, "context.", 8) == 0)
        v = env->lookup(env->ud, key + 8);
    return v ? v : "";
}

static bool truthy(const char *v)
{
    return *v && strcmp(v, "false") != 0 && strcmp(v, "0") != 0;
}

bool lo_cond_eval(const lo_cond *c, const lo_cond_env *env)
{
    for (size_t i = 0; c && i < c->n; i++) {
        const lo_cond_clause *cl = &c->v[i];
        const char *v = lo_cond_resolve(env, cl->key);
        bool ok = cl->op == LO_COND_TRUTHY ? truthy(v)
                  : cl->op == LO_COND_EQ   ? strcmp(v, cl->literal) == 0
                                           : strcmp(v, cl->literal) != 0;
        if (!ok)
            return false;
    }
    return true;
}

/* ---- static satisfiability ---- */

static bool is_special(const char *k)
{
    return strcmp(k, "outcome") == 0 || strcmp(k, "preferred_label") == 0;
}

/* context.x and x name the same context value; outcome and preferred_label
 * are not context values (context.outcome is). */
static bool same_key(const char *a, const char *b)
{
    bool sa = is_special(a), sb = is_special(b);
    if (sa || sb)
        return sa && sb && strcmp(a, b) == 0;
    if (strncmp(a, "context.", 8) == 0)
        a += 8;
    if (strncmp(b, "context.", 8) == 0)
        b += 8;
    return strcmp(a, b) == 0;
}

__attribute__((format(printf, 3, 4)))
static bool say(char *why, size_t why_len, const char *fmt, ...)
{
    if (why && why_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
    }
    return false;
}

#define SHOW(buf, s) show(buf, sizeof buf, s, strlen(s))

bool lo_cond_satisfiable(const lo_cond *c, char *why, size_t why_len)
{
    char k[96], l1[96], l2[96];
    if (why && why_len)
        why[0] = '\0';
    for (size_t i = 0; c && i < c->n; i++) {
        const lo_cond_clause *a = &c->v[i];
        if (a->op == LO_COND_EQ && strcmp(a->key, "outcome") == 0 &&
            !lo_cond_is_status(a->literal)) {
            const char *near = lo_closest(a->literal, lo_cond_statuses,
                                          lo_cond_n_statuses, 3);
            char hint[64] = "";
            if (near)
                snprintf(hint, sizeof hint, " (did you mean '%s'?)", near);
            return say(why, why_len,
                       "outcome is compared with '%s', which is not a "
                       "status%s; statuses are success, partial_success, "
                       "retry, fail and skipped",
                       SHOW(l1, a->literal), hint);
        }
        for (size_t j = 0; j < i; j++) {
            const lo_cond_clause *b = &c->v[j];
            if (!same_key(a->key, b->key))
                continue;
            bool same_lit = strcmp(a->literal, b->literal) == 0;
            if (a->op == LO_COND_EQ && b->op == LO_COND_EQ && !same_lit)
                return say(why, why_len,
                           "'%s' cannot equal both '%s' and '%s'",
                           SHOW(k, b->key), SHOW(l1, b->literal),
                           SHOW(l2, a->literal));
            if (same_lit && ((a->op == LO_COND_EQ && b->op == LO_COND_NE) ||
                             (a->op == LO_COND_NE && b->op == LO_COND_EQ)))
                return say(why, why_len,
                           "'%s' is required both to equal '%s' and to "
                           "differ from it",
                           SHOW(k, b->key), SHOW(l1, a->literal));
            /* a bare key is false for "", "false" and "0" */
            const lo_cond_clause *eq = a->op == LO_COND_EQ ? a : b;
            const lo_cond_clause *tr = a->op == LO_COND_TRUTHY ? a : b;
            if (eq->op == LO_COND_EQ && tr->op == LO_COND_TRUTHY &&
                !truthy(eq->literal))
                return say(why, why_len,
                           "'%s' is tested for truth but required to equal "
                           "'%s', which is false",
                           SHOW(k, tr->key), SHOW(l1, eq->literal));
        }
    }
    return true;
}
