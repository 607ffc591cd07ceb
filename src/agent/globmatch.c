/* Glob patterns over relative paths, for the glob tool, grep's glob_filter
 * and .gitignore rules.
 *
 * fnmatch() knows neither "**" nor braces, and its FNM_PATHNAME "*" stops
 * at slashes without any way to cross them. So a pattern is expanded into
 * its brace alternatives, each alternative is cut at slashes, and segments
 * are matched by fnmatch, "**" standing for any number of whole segments.
 * The segment match is a table over (pattern segment, path segment), so
 * "**" repeated cannot make it exponential. */
#include <fnmatch.h>
#include <string.h>

#include "agent/search.h"

enum { MAX_ALTS = 256, MAX_SEGS = 1024 };

typedef struct alts {
    char **v;
    size_t n, cap;
    int rc;
} alts;

static void push(alts *a, char *s)
{
    if (!s) {
        a->rc = LO_ENOMEM;
        return;
    }
    if (a->rc || a->n == MAX_ALTS) {
        if (!a->rc)
            a->rc = LO_ETOOBIG;
        free(s);
        return;
    }
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 4;
        char **v = lo_realloc(a->v, cap * sizeof *v);
        if (!v) {
            free(s);
            a->rc = LO_ENOMEM;
            return;
        }
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = s;
}

/* The '}' closing the '{' at p[open], or 0; *commas says whether the group
 * has a top-level comma (without one the braces are literal, as in bash). */
static size_t closing(const char *p, size_t open, bool *commas)
{
    int depth = 0;
    *commas = false;
    for (size_t i = open; p[i]; i++) {
        if (p[i] == '\\' && p[i + 1]) {
            i++;
            continue;
        }
        if (p[i] == '{')
            depth++;
        else if (p[i] == '}' && --depth == 0)
            return i;
        else if (p[i] == ',' && depth == 1)
            *commas = true;
    }
    return 0;
}

static void expand(alts *a, const char *p, size_t from)
{
    for (size_t i = from; p[i] && !a->rc; i++) {
        if (p[i] == '\\' && p[i + 1]) {
            i++;
            continue;
        }
        if (p[i] != '{')
            continue;
        bool commas;
        size_t close = closing(p, i, &commas);
        if (!close) {
            a->rc = LO_EPARSE;
            return;
        }
        if (!commas)
            continue;
        /* each top-level alternative between i+1 and close */
        size_t start = i + 1;
        int depth = 0;
        for (size_t j = i + 1; j <= close && !a->rc; j++) {
            if (p[j] == '\\' && j + 1 < close) {
                j++;
                continue;
            }
            if (p[j] == '{')
                depth++;
            else if (p[j] == '}' && j < close)
                depth--;
            if ((p[j] == ',' && depth == 0) || j == close) {
                size_t pre = i, mid = j - start, post = strlen(p + close + 1);
                char *s = lo_malloc(pre + mid + post + 1);
                if (s) {
                    memcpy(s, p, pre);
                    memcpy(s + pre, p + start, mid);
                    memcpy(s + pre + mid, p + close + 1, post + 1);
                }
                alts sub = {0};
                if (s)
                    expand(&sub, s, pre); /* later groups, and nested ones in mid */
                free(s);
                for (size_t k = 0; k < sub.n; k++)
                    push(a, sub.v[k]);
                free(sub.v);
                if (!s || sub.rc)
                    a->rc = s ? sub.rc : LO_ENOMEM;
                start = j + 1;
            }
        }
        return;
    }
    if (!a->rc)
        push(a, lo_strdup(p));
}

/* '[' must close within its segment, or fnmatch would take it literally
 * and the model would never learn its pattern was broken. */
static bool brackets_ok(const char *p)
{
    for (size_t i = 0; p[i]; i++) {
        if (p[i] == '\\' && p[i + 1]) {
            i++;
            continue;
        }
        if (p[i] != '[')
            continue;
        size_t j = i + 1;
        if (p[j] == '!' || p[j] == '^')
            j++;
        if (p[j] == ']')
            j++;
        while (p[j] && p[j] != ']' && p[j] != '/')
            j++;
        if (p[j] != ']')
            return false;
        i = j;
    }
    return true;
}

int lo_agent_glob_compile_(const char *pattern, lo_agent_glob *g, lo_error *err)
{
    memset(g, 0, sizeof *g);
    if (!pattern || !*pattern)
        return lo_error_set(err, LO_EINVAL, "the glob pattern is empty");
    if (!brackets_ok(pattern))
        return lo_error_set(err, LO_EINVAL, "glob pattern %.200s: a '[' is not closed by ']'",
                            pattern);
    while (pattern[0] == '.' && pattern[1] == '/')
        pattern += 2;
    alts a = {0};
    expand(&a, pattern, 0);
    if (a.rc) {
        for (size_t i = 0; i < a.n; i++)
            free(a.v[i]);
        free(a.v);
        return a.rc == LO_EPARSE
                   ? lo_error_set(err, LO_EINVAL, "glob pattern %.200s: a '{' is not closed by '}'",
                                  pattern)
               : a.rc == LO_ETOOBIG
                   ? lo_error_set(err, LO_EINVAL,
                                  "glob pattern %.200s: more than %d brace alternatives", pattern,
                                  MAX_ALTS)
                   : lo_error_set(err, LO_ENOMEM, "out of memory");
    }
    g->alts = a.v;
    g->n = a.n;
    return 0;
}

void lo_agent_glob_release_(lo_agent_glob *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->alts[i]);
    free(g->alts);
    g->alts = NULL;
    g->n = 0;
}

/* Cut s at slashes into segs (pointers into buf, a copy of s). */
static size_t split(const char *s, char *buf, size_t cap, char **segs)
{
    size_t n = strlen(s);
    if (n >= cap)
        return (size_t)-1;
    memcpy(buf, s, n + 1);
    size_t k = 0;
    for (char *p = buf, *q; k < MAX_SEGS; p = q + 1) {
        q = strchr(p, '/');
        if (q)
            *q = '\0';
        if (*p) /* "a//b" and a trailing slash add no segment */
            segs[k++] = p;
        if (!q)
            return k;
    }
    return (size_t)-1;
}

static bool is_globstar(const char *s)
{
    return s[0] == '*' && s[1] == '*' && s[2] == '\0';
}

static bool match_alt(const char *pat, const char *path)
{
    char pbuf[4096], sbuf[4096];
    char *ps[MAX_SEGS], *ss[MAX_SEGS];
    size_t P = split(pat, pbuf, sizeof pbuf, ps), S = split(path, sbuf, sizeof sbuf, ss);
    if (P == (size_t)-1 || S == (size_t)-1)
        return false;
    bool star = false;
    for (size_t i = 0; i < P; i++)
        star |= is_globstar(ps[i]);
    if (!star) { /* the common case needs no table */
        if (P != S)
            return false;
        for (size_t i = 0; i < P; i++)
            if (fnmatch(ps[i], ss[i], 0) != 0)
                return false;
        return true;
    }
    if (P == 2 && is_globstar(ps[0]) && !is_globstar(ps[1])) /* "**" + "/name" */
        return S >= 1 && fnmatch(ps[1], ss[S - 1], 0) == 0;
    /* ok[pi][si]: pattern segments pi.. match path segments si.. */
    unsigned char *ok = lo_calloc((P + 1) * (S + 1), 1);
    if (!ok)
        return false;
#define OK(a, b) ok[(a) * (S + 1) + (b)]
    OK(P, S) = 1;
    for (size_t pi = P; pi-- > 0;)
        for (size_t si = S + 1; si-- > 0;) {
            if (is_globstar(ps[pi]))
                OK(pi, si) = OK(pi + 1, si) || (si < S && OK(pi, si + 1));
            else
                OK(pi, si) = si < S && OK(pi + 1, si + 1) && fnmatch(ps[pi], ss[si], 0) == 0;
        }
    bool r = OK(0, 0);
#undef OK
    free(ok);
    return r;
}

bool lo_agent_glob_match_(const lo_agent_glob *g, const char *path)
{
    for (size_t i = 0; i < g->n; i++)
        if (match_alt(g->alts[i], path))
            return true;
    return false;
}
