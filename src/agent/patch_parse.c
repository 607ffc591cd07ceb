/* Parsing v4a patches (Appendix A) into operations and hunks.
 *
 * Strict where a mistake would change the wrong thing (the envelope, the
 * operation headers, the prefix of every line) and lenient where models
 * slip harmlessly: CRLF endings, blanks around the markers, an empty line
 * for an empty context line, a first hunk without its "@@". */
#include <stdio.h>
#include <string.h>

#include "agent/patch.h"

#define BEGIN "*** Begin Patch"
#define END "*** End Patch"
#define ADD "*** Add File: "
#define DEL "*** Delete File: "
#define UPD "*** Update File: "
#define MOVE "*** Move to: "
#define EOF_MARK "*** End of File"

typedef struct cursor {
    char *s;            /* the next line */
    char *end;
    int no;             /* its 1-based number */
} cursor;

typedef struct line {
    char *s;
    size_t n;
    int no;
} line;

static bool next_line(cursor *c, line *l)
{
    if (c->s >= c->end)
        return false;
    char *nl = memchr(c->s, '\n', (size_t)(c->end - c->s));
    l->s = c->s;
    l->n = nl ? (size_t)(nl - c->s) : (size_t)(c->end - c->s);
    l->no = ++c->no;
    c->s = nl ? nl + 1 : c->end;
    return true;
}

static bool peek_line(const cursor *c, line *l)
{
    cursor t = *c;
    return next_line(&t, l);
}

/* The line with blanks trimmed both sides, for the markers. */
static bool is(const line *l, const char *marker)
{
    size_t a = 0, b = l->n, m = strlen(marker);
    while (a < b && (l->s[a] == ' ' || l->s[a] == '\t'))
        a++;
    while (b > a && (l->s[b - 1] == ' ' || l->s[b - 1] == '\t'))
        b--;
    return b - a == m && memcmp(l->s + a, marker, m) == 0;
}

static bool starts(const line *l, const char *prefix)
{
    size_t m = strlen(prefix);
    return l->n >= m && memcmp(l->s, prefix, m) == 0;
}

static bool blank(const line *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->s[i] != ' ' && l->s[i] != '\t')
            return false;
    return true;
}

/* Any operation header or the end: what stops a file's body. */
static bool is_header(const line *l)
{
    return starts(l, ADD) || starts(l, DEL) || starts(l, UPD) || is(l, END);
}

static int bad(lo_error *err, const line *l, const char *what)
{
    return lo_error_set(err, LO_EPARSE, "patch line %d: %s (the line is \"%.*s\")", l->no, what,
                        l->n > 120 ? 120 : (int)l->n, l->s);
}

/* The path after a header prefix, trimmed. */
static int header_path(const line *l, const char *prefix, char **out, lo_error *err)
{
    const char *p = l->s + strlen(prefix), *e = l->s + l->n;
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    if (p == e)
        return bad(err, l, "the path is missing");
    if (memchr(p, '\0', (size_t)(e - p)))
        return bad(err, l, "the path contains a NUL character");
    if (!(*out = lo_strndup(p, (size_t)(e - p))))
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    return 0;
}

static lo_patch_op *new_op(lo_patch *p, lo_patch_kind k, int no, lo_error *err)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        lo_patch_op *v = lo_realloc(p->ops, cap * sizeof *v);
        if (!v) {
            lo_error_set(err, LO_ENOMEM, "out of memory");
            return NULL;
        }
        p->ops = v;
        p->cap = cap;
    }
    lo_patch_op *op = &p->ops[p->n++];
    memset(op, 0, sizeof *op);
    op->kind = k;
    op->line_no = no;
    lo_buf_init(&op->content, 0);
    return op;
}

static lo_patch_hunk *new_hunk(lo_patch_op *op, int no, lo_error *err)
{
    if (op->n_hunks == op->cap_hunks) {
        size_t cap = op->cap_hunks ? op->cap_hunks * 2 : 4;
        lo_patch_hunk *v = lo_realloc(op->hunks, cap * sizeof *v);
        if (!v) {
            lo_error_set(err, LO_ENOMEM, "out of memory");
            return NULL;
        }
        op->hunks = v;
        op->cap_hunks = cap;
    }
    lo_patch_hunk *h = &op->hunks[op->n_hunks++];
    memset(h, 0, sizeof *h);
    h->line_no = no;
    return h;
}

static int add_hunk_line(lo_patch_hunk *h, char kind, const char *s, size_t n, lo_error *err)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        lo_patch_line *v = lo_realloc(h->lines, cap * sizeof *v);
        if (!v)
            return lo_error_set(err, LO_ENOMEM, "out of memory");
        h->lines = v;
        h->cap = cap;
    }
    h->lines[h->n++] = (lo_patch_line){kind, s, n};
    return 0;
}

static int parse_add(cursor *c, lo_patch_op *op, lo_error *err)
{
    line l;
    while (peek_line(c, &l) && !is_header(&l)) {
        next_line(c, &l);
        if (l.n == 0 || l.s[0] != '+')
            return bad(err, &l, "every line of an added file starts with '+'");
        if (lo_buf_append(&op->content, l.s + 1, l.n - 1) || lo_buf_putc(&op->content, '\n'))
            return lo_error_set(err, LO_ENOMEM, "out of memory");
    }
    return 0;
}

static int parse_update(cursor *c, lo_patch_op *op, lo_error *err)
{
    line l;
    if (peek_line(c, &l) && starts(&l, MOVE)) {
        next_line(c, &l);
        int rc = header_path(&l, MOVE, &op->move_to, err);
        if (rc)
            return rc;
    }
    lo_patch_hunk *h = NULL;
    while (peek_line(c, &l) && !is_header(&l)) {
        next_line(c, &l);
        if (starts(&l, "@@")) {
            if (h && h->n == 0)
                return bad(err, &l, "the hunk before this one is empty");
            if (!(h = new_hunk(op, l.no, err)))
                return LO_ENOMEM;
            const char *p = l.s + 2, *e = l.s + l.n;
            while (p < e && (*p == ' ' || *p == '\t'))
                p++;
            while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            if (p < e) {
                h->hint = p;
                h->hint_len = (size_t)(e - p);
            }
            continue;
        }
        if (is(&l, EOF_MARK)) {
            if (!h || h->n == 0)
                return bad(err, &l, "\"*** End of File\" must follow the lines of a hunk");
            h->eof = true;
            line nx;
            if (peek_line(c, &nx) && !is_header(&nx) && !starts(&nx, "@@"))
                return bad(err, &nx, "only a new hunk or operation may follow \"*** End of File\"");
            continue;
        }
        char kind = l.n ? l.s[0] : ' ';
        if (kind != ' ' && kind != '-' && kind != '+')
            return bad(err, &l,
                       starts(&l, "***")
                           ? "expected \"*** Add File: \", \"*** Delete File: \", \"*** Update "
                             "File: \" or \"*** End Patch\""
                           : "a hunk line starts with ' ' (context), '-' (remove) or '+' (add)");
        if (!h && !(h = new_hunk(op, l.no, err))) /* a first hunk without "@@" */
            return LO_ENOMEM;
        if (h->eof)
            return bad(err, &l, "nothing may follow \"*** End of File\" in a hunk");
        int rc = add_hunk_line(h, kind, l.n ? l.s + 1 : l.s, l.n ? l.n - 1 : 0, err);
        if (rc)
            return rc;
    }
    if (h && h->n == 0)
        return lo_error_set(err, LO_EPARSE, "patch line %d: the hunk is empty", h->line_no);
    if (op->n_hunks == 0 && !op->move_to)
        return lo_error_set(err, LO_EPARSE, "patch line %d: Update File %s has no hunks",
                            op->line_no, op->path);
    for (size_t i = 0; i < op->n_hunks; i++) {
        bool change = false;
        for (size_t k = 0; k < op->hunks[i].n; k++)
            change |= op->hunks[i].lines[k].kind != ' ';
        if (!change)
            return lo_error_set(err, LO_EPARSE,
                                "patch line %d: hunk %zu of %s changes nothing (no '-' or '+' "
                                "lines)",
                                op->hunks[i].line_no, i + 1, op->path);
    }
    return 0;
}

static int parse_ops(cursor *c, lo_patch *p, lo_error *err)
{
    line l;
    while (next_line(c, &l)) {
        if (is(&l, END)) {
            while (next_line(c, &l))
                if (!blank(&l))
                    return bad(err, &l, "nothing may follow \"*** End Patch\"");
            return 0;
        }
        if (blank(&l))
            continue;
        lo_patch_kind k;
        const char *prefix;
        if (starts(&l, ADD))
            k = LO_PATCH_ADD, prefix = ADD;
        else if (starts(&l, DEL))
            k = LO_PATCH_DELETE, prefix = DEL;
        else if (starts(&l, UPD))
            k = LO_PATCH_UPDATE, prefix = UPD;
        else
            return bad(err, &l,
                       "expected \"*** Add File: \", \"*** Delete File: \", \"*** Update File: "
                       "\" or \"*** End Patch\"");
        lo_patch_op *op = new_op(p, k, l.no, err);
        if (!op)
            return LO_ENOMEM;
        int rc = header_path(&l, prefix, &op->path, err);
        if (rc)
            return rc;
        rc = k == LO_PATCH_ADD      ? parse_add(c, op, err)
                 : k == LO_PATCH_UPDATE ? parse_update(c, op, err)
                                        : 0;
        if (rc)
            return rc;
    }
    return lo_error_set(err, LO_EPARSE,
                        "the patch must end with \"*** End Patch\" on a line of its own");
}

int lo_patch_parse_(const char *text, size_t len, lo_patch *p, lo_error *err)
{
    memset(p, 0, sizeof *p);
    if (!text)
        return lo_error_set(err, LO_EPARSE, "the patch is empty");
    /* one copy, CRLF made LF, that the lines point into */
    p->text = lo_malloc(len + 1);
    if (!p->text)
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < len; i++)
        if (!(text[i] == '\r' && i + 1 < len && text[i + 1] == '\n'))
            p->text[k++] = text[i];
    p->text[k] = '\0';
    cursor c = {p->text, p->text + k, 0};
    line l;
    bool any = false;
    while ((any = next_line(&c, &l)) && blank(&l))
        ;
    int rc;
    if (!any)
        rc = lo_error_set(err, LO_EPARSE, "the patch is empty");
    else if (!is(&l, BEGIN))
        rc = bad(err, &l, "a patch starts with \"*** Begin Patch\"");
    else
        rc = parse_ops(&c, p, err);
    if (rc)
        lo_patch_release_(p);
    return rc;
}

void lo_patch_release_(lo_patch *p)
{
    for (size_t i = 0; i < p->n; i++) {
        lo_patch_op *op = &p->ops[i];
        free(op->path);
        free(op->move_to);
        for (size_t h = 0; h < op->n_hunks; h++)
            free(op->hunks[h].lines);
        free(op->hunks);
        lo_buf_release(&op->content);
    }
    free(p->ops);
    free(p->text);
    memset(p, 0, sizeof *p);
}
