/*
 * The model stylesheet (attractor-spec §8): a small hand-written scanner and
 * parser over CSS-like rules, plus resolution by specificity.
 *
 * Everything a parsed stylesheet owns lives in one arena, so failure paths
 * only have to free that arena.
 */
#include <stdio.h>
#include <string.h>

#include "lightsout/stylesheet.h"

const char *const lo_style_properties[] = {
    "llm_model", "llm_provider", "reasoning_effort", "backend", "cli_agent", "cli_command",
};
const size_t lo_n_style_properties =
    sizeof lo_style_properties / sizeof lo_style_properties[0];

static const char *const effort_values[] = {"low", "medium", "high"};
static const char *const backend_values[] = {"api", "cli", "twin", "sim"};
static const char *const cli_agent_values[] = {"claude", "codex", "gemini", "opencode"};

struct lo_stylesheet {
    lo_arena *arena;
    lo_style_rule *rules;
    size_t n_rules, cap_rules;
};

/* Parser state: a cursor plus the line bookkeeping for 1-based positions. */
typedef struct parser {
    const char *p;
    const char *line_start;
    uint32_t line;
    lo_arena *arena;
    lo_error *err;
} parser;

static uint32_t col_of(const parser *ps, const char *at)
{
    return (uint32_t)(at - ps->line_start) + 1;
}

static int fail_at(parser *ps, uint32_t line, uint32_t col, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));
static int fail_at(parser *ps, uint32_t line, uint32_t col, const char *fmt,
                   ...)
{
    va_list ap;
    va_start(ap, fmt);
    lo_error_setv(ps->err, LO_EPARSE, fmt, ap);
    va_end(ap);
    if (ps->err) {
        ps->err->file[0] = '\0';
        ps->err->line = line;
        ps->err->col = col;
    }
    return LO_EPARSE;
}

static int nomem(parser *ps)
{
    return lo_error_set(ps->err, LO_ENOMEM,
                        "out of memory parsing the model stylesheet");
}

/* A printable rendering of the character at p for messages. */
static const char *show_char(const char *p, char buf[8])
{
    unsigned char c = (unsigned char)*p;
    if (c == '\0')
        return "end of stylesheet";
    if (c >= 0x21 && c < 0x7f)
        snprintf(buf, 8, "'%c'", c);
    else
        snprintf(buf, 8, "\\x%02x", c);
    return buf;
}

static bool is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ident(char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

static bool is_class_char(char c) { return is_ident(c) || c == '-'; }

static bool is_bare_char(char c)
{
    return is_ident(c) || (c != '\0' && strchr(".:/@-", c) != NULL);
}

/* Skip whitespace and comments. Fails only on an unterminated comment. */
static int skip_space(parser *ps)
{
    for (;;) {
        char c = *ps->p;
        if (c == '\n') {
            ps->line++;
            ps->line_start = ++ps->p;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' ||
                   c == '\v') {
            ps->p++;
        } else if (c == '/' && ps->p[1] == '*') {
            uint32_t line = ps->line, col = col_of(ps, ps->p);
            ps->p += 2;
            while (*ps->p && !(ps->p[0] == '*' && ps->p[1] == '/')) {
                if (*ps->p == '\n') {
                    ps->line++;
                    ps->line_start = ps->p + 1;
                }
                ps->p++;
            }
            if (!*ps->p)
                return fail_at(ps, line, col, "unterminated comment: '/*' "
                               "has no closing '*/'");
            ps->p += 2;
        } else {
            return 0;
        }
    }
}

/* Grow an arena array by doubling. The old block stays in the arena, which
 * at most doubles the space the array uses. */
static int grow(lo_arena *a, void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 4;
    void *nv = lo_arena_alloc(a, ncap * elem);
    if (!nv)
        return LO_ENOMEM;
    if (n)
        memcpy(nv, *arr, n * elem);
    *arr = nv;
    *cap = ncap;
    return 0;
}

static int parse_selector(parser *ps, lo_style_rule *r)
{
    const char *start = ps->p;
    char c = *ps->p;
    r->line = ps->line;
    r->col = col_of(ps, start);
    if (c == '*') {
        ps->p++;
        r->kind = LO_SEL_UNIVERSAL;
        r->name = "*";
        return 0;
    }
    if (c == '{')
        return fail_at(ps, r->line, r->col,
                       "empty selector: expected '*', a shape, '.class' or "
                       "'#id' before '{'");
    const char *name = start;
    if (c == '.' || c == '#') {
        name = ++ps->p;
        bool (*ok)(char) = c == '.' ? is_class_char : is_ident;
        if (!(c == '.' ? is_class_char(*name) : is_ident_start(*name))) {
            char b[8];
            return fail_at(ps, ps->line, col_of(ps, name),
                           "expected a %s after '%c', found %s",
                           c == '.' ? "class name" : "node id", c,
                           show_char(name, b));
        }
        while (ok(*ps->p))
            ps->p++;
        r->kind = c == '.' ? LO_SEL_CLASS : LO_SEL_ID;
    } else if (is_ident_start(c)) {
        while (is_ident(*ps->p))
            ps->p++;
        r->kind = LO_SEL_SHAPE;
    } else {
        char b[8];
        return fail_at(ps, r->line, r->col,
                       "unexpected character %s: expected a selector ('*', "
                       "a shape, '.class' or '#id')", show_char(start, b));
    }
    r->name = lo_arena_strndup(ps->arena, name, (size_t)(ps->p - name));
    return r->name ? 0 : nomem(ps);
}

/* A double-quoted string; ps->p is on the opening quote. */
static int parse_string(parser *ps, const char **out)
{
    uint32_t line = ps->line, col = col_of(ps, ps->p);
    const char *s = ++ps->p;
    size_t n = 0;
    /* First pass finds the end and the unescaped length. */
    for (; *s != '"'; s++, n++) {
        if (*s == '\0' || *s == '\n')
            return fail_at(ps, line, col, "unterminated string: missing "
                           "closing '\"' on the same line");
        if (*s == '\\' && s[1] != '\0' && s[1] != '\n')
            s++;
    }
    char *d = lo_arena_alloc(ps->arena, n + 1);
    if (!d)
        return nomem(ps);
    *out = d;
    for (; *ps->p != '"'; ps->p++) {
        char c = *ps->p;
        if (c == '\\' && ps->p[1] != '\0' && ps->p[1] != '\n') {
            c = *++ps->p;
            c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
        }
        *d++ = c;
    }
    *d = '\0';
    ps->p++;
    return 0;
}

/* Check a value against the property's allowed set, when it has one. */
static int check_value(parser *ps, const lo_style_decl *d)
{
    const char *const *vals = NULL;
    size_t n = 0;
    const char *list = NULL;
    if (strcmp(d->property, "reasoning_effort") == 0) {
        vals = effort_values;
        n = sizeof effort_values / sizeof effort_values[0];
        list = "low, medium or high";
    } else if (strcmp(d->property, "backend") == 0) {
        vals = backend_values;
        n = sizeof backend_values / sizeof backend_values[0];
        list = "api, cli, twin or sim";
    } else if (strcmp(d->property, "cli_agent") == 0) {
        vals = cli_agent_values;
        n = sizeof cli_agent_values / sizeof cli_agent_values[0];
        list = "claude, codex, gemini or opencode";
    } else {
        if (!*d->value)
            return fail_at(ps, d->line, d->col, "empty value for '%s'",
                           d->property);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(d->value, vals[i]) == 0)
            return 0;
    const char *near = lo_closest(d->value, vals, n, 2);
    if (near)
        return fail_at(ps, d->line, d->col,
                       "invalid %s '%s' (did you mean '%s'?); expected %s",
                       d->property, d->value, near, list);
    return fail_at(ps, d->line, d->col, "invalid %s '%s'; expected %s",
                   d->property, d->value, list);
}

/* One `property : value`; ps->p is on the property's first character. */
static int parse_decl(parser *ps, lo_style_decl *d)
{
    const char *start = ps->p;
    uint32_t line = ps->line, col = col_of(ps, start);
    /* Hyphens are scanned too so `llm-model` gets a suggestion rather than
     * a confusing "expected ':'". */
    while (is_class_char(*ps->p))
        ps->p++;
    size_t len = (size_t)(ps->p - start);
    const char *prop = NULL;
    for (size_t i = 0; i < lo_n_style_properties; i++)
        if (strlen(lo_style_properties[i]) == len &&
            memcmp(lo_style_properties[i], start, len) == 0)
            prop = lo_style_properties[i];
    if (!prop) {
        char word[64];
        snprintf(word, sizeof word, "%.*s", len > 60 ? 60 : (int)len, start);
        const char *near = lo_closest(word, lo_style_properties,
                                      lo_n_style_properties, 3);
        if (near)
            return fail_at(ps, line, col, "unknown property '%s' (did you "
                           "mean '%s'?)", word, near);
        return fail_at(ps, line, col, "unknown property '%s'; known: "
                       "llm_model, llm_provider, reasoning_effort, backend, "
                       "cli_agent, cli_command", word);
    }
    d->property = prop;
    int rc = skip_space(ps);
    if (rc)
        return rc;
    if (*ps->p != ':') {
        char b[8];
        return fail_at(ps, ps->line, col_of(ps, ps->p),
                       "expected ':' after property '%s', found %s", prop,
                       show_char(ps->p, b));
    }
    ps->p++;
    if ((rc = skip_space(ps)))
        return rc;
    d->line = ps->line;
    d->col = col_of(ps, ps->p);
    char c = *ps->p;
    if (c == '"') {
        if ((rc = parse_string(ps, &d->value)))
            return rc;
    } else if (is_bare_char(c)) {
        const char *v = ps->p;
        while (is_bare_char(*ps->p))
            ps->p++;
        d->value = lo_arena_strndup(ps->arena, v, (size_t)(ps->p - v));
        if (!d->value)
            return nomem(ps);
    } else if (c == ';' || c == '}' || c == '\0') {
        return fail_at(ps, d->line, d->col, "missing value for '%s'", prop);
    } else {
        char b[8];
        return fail_at(ps, d->line, d->col,
                       "unexpected character %s in the value of '%s' "
                       "(quote values with spaces or symbols)",
                       show_char(ps->p, b), prop);
    }
    return check_value(ps, d);
}

/* Reported where the '}' should be, naming where the rule began. */
static int unclosed(parser *ps, const lo_style_rule *r)
{
    return fail_at(ps, ps->line, col_of(ps, ps->p),
                   "missing '}' to close the rule for '%s%s' opened at %u:%u",
                   r->kind == LO_SEL_CLASS ? "." : r->kind == LO_SEL_ID ? "#" : "",
                   r->name, (unsigned)r->line, (unsigned)r->col);
}

/* The declaration block; ps->p is just past '{'. */
static int parse_block(parser *ps, lo_style_rule *r)
{
    size_t cap = 0;
    int rc;
    for (;;) {
        if ((rc = skip_space(ps)))
            return rc;
        char c = *ps->p;
        if (c == '}') {
            ps->p++;
            return 0;
        }
        if (c == ';') { /* stray separators are harmless, as in CSS */
            ps->p++;
            continue;
        }
        if (c == '\0')
            return unclosed(ps, r);
        if (!is_class_char(c)) {
            char b[8];
            return fail_at(ps, ps->line, col_of(ps, ps->p),
                           "expected a property name or '}', found %s",
                           show_char(ps->p, b));
        }
        if (grow(ps->arena, (void **)&r->decls, &cap, r->n_decls,
                 sizeof *r->decls))
            return nomem(ps);
        lo_style_decl *d = &r->decls[r->n_decls];
        if ((rc = parse_decl(ps, d)))
            return rc;
        r->n_decls++;
        if ((rc = skip_space(ps)))
            return rc;
        if (*ps->p == '\0')
            return unclosed(ps, r);
        if (*ps->p != ';' && *ps->p != '}') {
            char b[8];
            return fail_at(ps, ps->line, col_of(ps, ps->p),
                           "expected ';' or '}' after the value of '%s', "
                           "found %s", d->property, show_char(ps->p, b));
        }
    }
}

lo_stylesheet *lo_stylesheet_parse(const char *text, lo_error *err)
{
    lo_stylesheet *ss = lo_calloc(1, sizeof *ss);
    if (!ss) {
        lo_error_set(err, LO_ENOMEM, "out of memory parsing the model "
                     "stylesheet");
        return NULL;
    }
    ss->arena = lo_arena_new(4096);
    parser ps = {.p = text ? text : "", .line = 1, .arena = ss->arena,
                 .err = err};
    ps.line_start = ps.p;
    int rc = ss->arena ? 0 : nomem(&ps);
    while (rc == 0) {
        if ((rc = skip_space(&ps)) || *ps.p == '\0')
            break;
        if (grow(ss->arena, (void **)&ss->rules, &ss->cap_rules, ss->n_rules,
                 sizeof *ss->rules)) {
            rc = nomem(&ps);
            break;
        }
        lo_style_rule *r = &ss->rules[ss->n_rules];
        memset(r, 0, sizeof *r);
        if ((rc = parse_selector(&ps, r)) || (rc = skip_space(&ps)))
            break;
        if (*ps.p != '{') {
            char b[8];
            rc = fail_at(&ps, ps.line, col_of(&ps, ps.p),
                         "expected '{' after selector '%s%s', found %s",
                         r->kind == LO_SEL_CLASS ? "." :
                         r->kind == LO_SEL_ID ? "#" : "", r->name,
                         show_char(ps.p, b));
            break;
        }
        ps.p++;
        if ((rc = parse_block(&ps, r)))
            break;
        ss->n_rules++;
    }
    if (rc) {
        lo_stylesheet_free(ss);
        return NULL;
    }
    return ss;
}

void lo_stylesheet_free(lo_stylesheet *ss)
{
    if (!ss)
        return;
    lo_arena_free(ss->arena);
    free(ss);
}

size_t lo_stylesheet_count(const lo_stylesheet *ss)
{
    return ss ? ss->n_rules : 0;
}

const lo_style_rule *lo_stylesheet_rule(const lo_stylesheet *ss, size_t i)
{
    return ss && i < ss->n_rules ? &ss->rules[i] : NULL;
}

static bool rule_matches(const lo_style_rule *r, const lo_node *n)
{
    switch (r->kind) {
    case LO_SEL_UNIVERSAL: return true;
    case LO_SEL_SHAPE: return strcmp(lo_node_shape(n), r->name) == 0;
    case LO_SEL_CLASS: return lo_node_has_class(n, r->name);
    case LO_SEL_ID: return lo_str_eq(n->id, r->name);
    }
    return false;
}

const char *lo_stylesheet_resolve(const lo_stylesheet *ss, const lo_node *n,
                                  const char *prop)
{
    if (!ss || !n || !prop)
        return NULL;
    const char *best = NULL;
    int best_spec = -1;
    /* >= so that a later rule (and a later declaration) wins a tie. */
    for (size_t i = 0; i < ss->n_rules; i++) {
        const lo_style_rule *r = &ss->rules[i];
        if ((int)r->kind < best_spec)
            continue;
        bool checked = false, match = false;
        for (size_t j = 0; j < r->n_decls; j++) {
            if (strcmp(r->decls[j].property, prop) != 0)
                continue;
            if (!checked) {
                match = rule_matches(r, n);
                checked = true;
            }
            if (!match)
                break;
            best = r->decls[j].value;
            best_spec = (int)r->kind;
        }
    }
    return best;
}

int lo_stylesheet_apply(const lo_stylesheet *ss, lo_graph *g, lo_error *err)
{
    if (!ss || !g)
        return 0;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        lo_node *n = g->nodes[i];
        for (size_t k = 0; k < lo_n_style_properties; k++) {
            const char *prop = lo_style_properties[k];
            if (lo_attrs_get(&n->attrs, prop))
                continue;
            const char *v = lo_stylesheet_resolve(ss, n, prop);
            if (!v)
                continue;
            /* LO_NOPOS: the value comes from the stylesheet, not from a
             * place in the DOT source. */
            int rc = lo_attrs_set(g, &n->attrs, prop, LO_VAL_STRING, v,
                                  LO_NOPOS);
            if (rc)
                return lo_error_set(err, rc, "applying the model stylesheet "
                                    "to node '%s': %s", n->id,
                                    lo_err_name(rc));
        }
    }
    return 0;
}
