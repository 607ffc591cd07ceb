/* Diagnostics: the list, validation entry points, and compiler-style
 * formatting. The rules themselves are in lint_rules.c. */
#include <stdio.h>
#include <string.h>

#include "lightsout/lint.h"
#include "pipeline/lint_internal.h"

lo_diags *lo_diags_new(void)
{
    lo_diags *d = lo_calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->arena = lo_arena_new(16 * 1024);
    if (!d->arena) {
        free(d);
        return NULL;
    }
    return d;
}

void lo_diags_free(lo_diags *d)
{
    if (!d)
        return;
    free(d->v);
    lo_arena_free(d->arena);
    free(d);
}

static const char *dup_or_null(lo_arena *a, const char *s)
{
    return s ? lo_arena_strdup(a, s) : NULL;
}

int lo_diags_addv(lo_diags *d, const char *rule, lo_severity sev, const char *file,
                  lo_pos pos, const char *node_id, const char *from, const char *to,
                  const char *fix, const char *fmt, va_list ap)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        lo_diag *v = lo_realloc(d->v, cap * sizeof *v);
        if (!v)
            return LO_ENOMEM;
        d->v = v;
        d->cap = cap;
    }
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    lo_diag *x = &d->v[d->n];
    memset(x, 0, sizeof *x);
    x->rule = lo_arena_strdup(d->arena, rule);
    x->severity = sev;
    x->message = lo_arena_strdup(d->arena, msg);
    x->node_id = dup_or_null(d->arena, node_id);
    x->edge_from = dup_or_null(d->arena, from);
    x->edge_to = dup_or_null(d->arena, to);
    x->fix = dup_or_null(d->arena, fix);
    x->file = dup_or_null(d->arena, file);
    x->line = pos.line;
    x->col = pos.col;
    if (!x->rule || !x->message || (node_id && !x->node_id) || (from && !x->edge_from) ||
        (to && !x->edge_to) || (fix && !x->fix) || (file && !x->file))
        return LO_ENOMEM;
    d->n++;
    return 0;
}

int lo_diags_add(lo_diags *d, const char *rule, lo_severity sev, const char *file,
                 lo_pos pos, const char *node_id, const char *from, const char *to,
                 const char *fix, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = lo_diags_addv(d, rule, sev, file, pos, node_id, from, to, fix, fmt, ap);
    va_end(ap);
    return rc;
}

size_t lo_diags_count(const lo_diags *d, lo_severity sev)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n; i++)
        n += d->v[i].severity == sev;
    return n;
}

static bool before(const lo_diag *a, const lo_diag *b)
{
    /* diagnostics with no position go last */
    uint64_t ka = a->line ? ((uint64_t)a->line << 32 | a->col) : UINT64_MAX;
    uint64_t kb = b->line ? ((uint64_t)b->line << 32 | b->col) : UINT64_MAX;
    return ka < kb;
}

void lo_diags_sort(lo_diags *d)
{
    if (d->n < 2)
        return;
    /* bottom-up merge sort: stable, O(n log n) */
    lo_diag *tmp = lo_malloc(d->n * sizeof *tmp);
    if (!tmp)
        return; /* unsorted is still correct output */
    lo_diag *src = d->v, *dst = tmp;
    for (size_t w = 1; w < d->n; w *= 2) {
        for (size_t lo = 0; lo < d->n; lo += 2 * w) {
            size_t mid = lo + w < d->n ? lo + w : d->n;
            size_t hi = lo + 2 * w < d->n ? lo + 2 * w : d->n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = before(&src[j], &src[i]) ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        lo_diag *t = src;
        src = dst;
        dst = t;
    }
    if (src != d->v)
        memcpy(d->v, src, d->n * sizeof *tmp);
    free(tmp);
}

const char *lo_severity_name(lo_severity s)
{
    switch (s) {
    case LO_SEV_ERROR: return "error";
    case LO_SEV_WARNING: return "warning";
    case LO_SEV_INFO: return "note";
    }
    return "note";
}

int lo_validate(const lo_graph *g, const lo_lint_rule *extra, size_t n_extra, lo_diags *out)
{
    int rc = lo_lint_builtin(g, out);
    for (size_t i = 0; !rc && i < n_extra; i++)
        rc = extra[i].apply(g, out, extra[i].ud);
    lo_diags_sort(out);
    return rc;
}

int lo_validate_or_raise(const lo_graph *g, const lo_lint_rule *extra, size_t n_extra,
                         lo_diags *out, lo_error *err)
{
    int rc = lo_validate(g, extra, n_extra, out);
    if (rc)
        return lo_error_set(err, rc, "out of memory while validating %s", g->file);
    size_t n = lo_diags_count(out, LO_SEV_ERROR);
    if (!n)
        return 0;
    const lo_diag *first = NULL;
    for (size_t i = 0; i < out->n && !first; i++)
        if (out->v[i].severity == LO_SEV_ERROR)
            first = &out->v[i];
    char tail[40] = "";
    if (n > 1)
        snprintf(tail, sizeof tail, " (%zu errors)", n);
    lo_error_at(err, LO_EVALIDATE, g->file, first->line, first->col, "[%s] %s%s", first->rule,
                first->message, tail);
    return LO_EVALIDATE;
}

/* The source line and a caret under col; tabs are kept so the caret lines
 * up in a terminal. */
static int caret_lines(lo_buf *out, uint32_t line, uint32_t col, const char *text, size_t len)
{
    int rc = lo_buf_printf(out, "%5u | %.*s\n      | ", line, (int)len, text);
    uint32_t c = 1;
    for (size_t i = 0; !rc && i < len && c < col; i++) {
        unsigned char ch = (unsigned char)text[i];
        if ((ch & 0xC0) == 0x80)
            continue;
        rc = lo_buf_putc(out, ch == '\t' ? '\t' : ' ');
        c++;
    }
    return rc ? rc : lo_buf_puts(out, "^\n");
}

int lo_diag_format(const lo_diag *d, const lo_graph *g, bool caret, lo_buf *out)
{
    int rc;
    if (d->line)
        rc = lo_buf_printf(out, "%s:%u:%u: %s: [%s] %s\n", d->file ? d->file : "<input>",
                           d->line, d->col, lo_severity_name(d->severity), d->rule, d->message);
    else
        rc = lo_buf_printf(out, "%s: %s: [%s] %s\n", d->file ? d->file : "<input>",
                           lo_severity_name(d->severity), d->rule, d->message);
    if (!rc && caret && g && d->line) {
        const char *text;
        size_t len = lo_graph_source_line(g, d->line, &text);
        if (len)
            rc = caret_lines(out, d->line, d->col, text, len);
    }
    return rc;
}

int lo_error_format(const lo_error *err, bool caret, lo_buf *out)
{
    return lo_error_format_rule(err, NULL, caret, out);
}

int lo_error_format_rule(const lo_error *err, const char *rule, bool caret, lo_buf *out)
{
    int rc;
    char tag[80] = "";
    if (rule)
        snprintf(tag, sizeof tag, "[%s] ", rule);
    if (err->line)
        rc = lo_buf_printf(out, "%s:%u:%u: error: %s%s\n", err->file, err->line, err->col, tag,
                           err->msg);
    else
        rc = lo_buf_printf(out, "error: %s%s\n", tag, err->msg);
    if (!rc && caret && err->line && err->snippet[0])
        rc = caret_lines(out, err->line, err->col, err->snippet, strlen(err->snippet));
    return rc;
}
