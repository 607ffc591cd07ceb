/* Applying one file's hunks to its text (Appendix A's hunk matching).
 *
 * Each hunk's old lines (context and removals) are looked for from where
 * the previous hunk ended, first exactly, then ignoring trailing blanks,
 * then normalised (fuzzy.c: blank runs collapsed, typographic punctuation
 * folded), then ignoring blanks altogether ("f(a,b)" for "f( a, b )") --
 * the first level that finds them decides.
 * An "@@ hint" line is found first and the search starts there; "*** End
 * of File" tries the end of the file first. A hunk without a hint whose
 * lines occur at two places at the deciding level is refused as ambiguous
 * rather than applied to the first: a patch is never applied where it was
 * not meant. With a hint, the first place after the hint is the one meant. */
#include <stdio.h>
#include <string.h>

#include "agent/fuzzy.h"
#include "agent/patch.h"

enum { LEVELS = 4, NO_BLANKS = 3, SHOWN_LINES = 3 };

/* A line as compared at level k; NULL when out of memory. The last level
 * is the normalised form with its (single) spaces taken out. */
static char *norm_line(const char *s, size_t len, int k, size_t *out_len)
{
    char *c = lo_agent_norm_line_(s, len, k < NO_BLANKS ? k : LO_MATCH_NORMALISED, out_len);
    if (c && k == NO_BLANKS) {
        size_t w = 0;
        for (size_t r = 0; r < *out_len; r++)
            if (c[r] != ' ')
                c[w++] = c[r];
        c[w] = '\0';
        *out_len = w;
    }
    return c;
}

typedef struct span {
    const char *s;
    size_t n;
} span;

/* The lines of one text at each matching level, computed when needed. */
typedef struct lines {
    span *raw;
    size_t n;
    span *at[LEVELS];     /* at[0] is raw */
    char **owned[LEVELS]; /* normalised copies */
} lines;

static void lines_release(lines *l)
{
    for (int k = 1; k < LEVELS; k++) {
        for (size_t i = 0; l->owned[k] && i < l->n; i++)
            free(l->owned[k][i]);
        free(l->owned[k]);
        free(l->at[k]);
    }
    free(l->raw);
    memset(l, 0, sizeof *l);
}

static int level_of(lines *l, int k)
{
    if (l->at[k])
        return 0;
    l->at[k] = lo_calloc(l->n ? l->n : 1, sizeof(span));
    l->owned[k] = lo_calloc(l->n ? l->n : 1, sizeof(char *));
    if (!l->at[k] || !l->owned[k])
        return LO_ENOMEM;
    for (size_t i = 0; i < l->n; i++) {
        size_t n;
        char *c = norm_line(l->raw[i].s, l->raw[i].n, k, &n);
        if (!c)
            return LO_ENOMEM;
        l->owned[k][i] = c;
        l->at[k][i] = (span){c, n};
    }
    return 0;
}

static bool same(span a, span b)
{
    return a.n == b.n && memcmp(a.s, b.s, a.n) == 0;
}

/* Where old (at level k) matches file (at level k) at position pos. */
static bool match_at(const lines *file, const lines *old, int k, size_t pos)
{
    if (pos + old->n > file->n)
        return false;
    for (size_t i = 0; i < old->n; i++)
        if (!same(file->at[k][pos + i], old->at[k][i]))
            return false;
    return true;
}

typedef struct found {
    size_t pos, second; /* second match, when ambiguous */
    int count;          /* 0, 1, 2 (= more than one) */
    int level;
} found;

static void search(const lines *file, const lines *old, int k, size_t from, found *f)
{
    f->count = 0;
    for (size_t pos = from; pos + old->n <= file->n && f->count < 2; pos++)
        if (match_at(file, old, k, pos)) {
            if (f->count++ == 0)
                f->pos = pos;
            else
                f->second = pos;
        }
}

/* With an @@ hint the first match after it is the one meant; without one,
 * two matches are ambiguous. */
static int locate(lines *file, lines *old, size_t from, bool eof, bool hinted, found *f)
{
    for (int k = 0; k < LEVELS; k++) {
        if (level_of(file, k) || level_of(old, k))
            return LO_ENOMEM;
        f->level = k;
        if (eof && file->n >= old->n && file->n - old->n >= from &&
            match_at(file, old, k, file->n - old->n)) {
            f->pos = file->n - old->n;
            f->count = 1;
            return 0;
        }
        search(file, old, k, from, f);
        if (hinted && f->count > 1)
            f->count = 1;
        if (f->count)
            return 0;
    }
    return 0;
}

/* The hint line at or after from, at the loosest level needed; SIZE_MAX if none. */
static size_t find_hint(lines *file, const char *hint, size_t hn, size_t from, int *rc)
{
    for (int k = 0; k < LEVELS; k++) {
        if ((*rc = level_of(file, k)))
            return (size_t)-1;
        size_t n;
        char *h = norm_line(hint, hn, k, &n);
        if (!h) {
            *rc = LO_ENOMEM;
            return (size_t)-1;
        }
        for (size_t i = from; i < file->n; i++)
            if (same(file->at[k][i], (span){h, n})) {
                free(h);
                return i;
            }
        free(h);
    }
    return (size_t)-1;
}

static int split(const char *text, size_t len, lines *l, bool *crlf, bool *final_nl)
{
    memset(l, 0, sizeof *l);
    size_t cap = 1;
    for (size_t i = 0; i < len; i++)
        cap += text[i] == '\n';
    l->raw = lo_calloc(cap, sizeof *l->raw);
    if (!l->raw)
        return LO_ENOMEM;
    *crlf = false;
    *final_nl = len && text[len - 1] == '\n';
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (l->n == 0)
            *crlf = nl && n && p[n - 1] == '\r';
        if (*crlf && n && p[n - 1] == '\r')
            n--;
        l->raw[l->n++] = (span){p, n};
        p = nl ? nl + 1 : end;
    }
    l->at[0] = l->raw;
    return 0;
}

static int hunk_old(const lo_patch_hunk *h, lines *old)
{
    memset(old, 0, sizeof *old);
    old->raw = lo_calloc(h->n ? h->n : 1, sizeof *old->raw);
    if (!old->raw)
        return LO_ENOMEM;
    for (size_t i = 0; i < h->n; i++)
        if (h->lines[i].kind != '+')
            old->raw[old->n++] = (span){h->lines[i].text, h->lines[i].len};
    old->at[0] = old->raw;
    return 0;
}

/* The first lines of a hunk's old text, for a message the model can act on. */
static void show_old(lo_buf *b, const lines *old)
{
    for (size_t i = 0; i < old->n && i < SHOWN_LINES; i++)
        lo_buf_printf(b, "\n  %.*s", old->raw[i].n > 100 ? 100 : (int)old->raw[i].n,
                      old->raw[i].s);
    if (old->n > SHOWN_LINES)
        lo_buf_printf(b, "\n  ... (%zu lines in all)", old->n);
}

typedef struct edit {
    size_t pos, old_n;
    const lo_patch_hunk *h;
} edit;

static int fail_hunk(lo_error *err, const char *path, size_t i, const lo_patch_hunk *h,
                     const char *why, const lines *old)
{
    lo_buf b;
    lo_buf_init(&b, 0);
    lo_buf_puts(&b, why);
    if (old)
        show_old(&b, old);
    int rc = lo_error_set(err, LO_EINVAL, "%.300s, hunk %zu (patch line %d): %s", path, i + 1,
                          h->line_no, b.data ? b.data : why);
    lo_buf_release(&b);
    return rc;
}

static int emit(lo_buf *out, const lines *file, const edit *edits, size_t n_edits, bool crlf,
                bool final_nl)
{
    const char *eol = crlf ? "\r\n" : "\n";
    size_t cur = 0, written = 0;
    int rc = 0;
#define LINE(s, n)                                                                  \
    do {                                                                            \
        if (!rc && written++)                                                       \
            rc = lo_buf_puts(out, eol);                                             \
        if (!rc)                                                                    \
            rc = lo_buf_append(out, (s), (n));                                      \
    } while (0)
    for (size_t e = 0; e < n_edits; e++) {
        for (; cur < edits[e].pos; cur++)
            LINE(file->raw[cur].s, file->raw[cur].n);
        /* context lines stay as the file has them: a loose match must not
         * retype the lines around the change */
        const lo_patch_hunk *h = edits[e].h;
        for (size_t i = 0; i < h->n; i++) {
            if (h->lines[i].kind == ' ')
                LINE(file->raw[cur].s, file->raw[cur].n);
            else if (h->lines[i].kind == '+')
                LINE(h->lines[i].text, h->lines[i].len);
            cur += h->lines[i].kind != '+';
        }
    }
    for (; cur < file->n; cur++)
        LINE(file->raw[cur].s, file->raw[cur].n);
#undef LINE
    /* the file keeps ending the way it did; an empty file gains a newline */
    if (!rc && written && (final_nl || file->n == 0))
        rc = lo_buf_puts(out, eol);
    return rc;
}

int lo_patch_apply_text_(const char *text, size_t len, const lo_patch_op *op,
                         const char *path, lo_buf *out, int *fuzzy, lo_error *err)
{
    *fuzzy = 0;
    lines file;
    bool crlf, final_nl;
    edit *edits = lo_calloc(op->n_hunks ? op->n_hunks : 1, sizeof *edits);
    if (!edits || split(text, len, &file, &crlf, &final_nl)) {
        free(edits);
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    }
    int rc = 0;
    size_t cursor = 0;
    for (size_t i = 0; i < op->n_hunks && !rc; i++) {
        const lo_patch_hunk *h = &op->hunks[i];
        lines old;
        if (hunk_old(h, &old)) {
            rc = LO_ENOMEM;
            break;
        }
        size_t from = cursor;
        if (h->hint) {
            size_t at = find_hint(&file, h->hint, h->hint_len, cursor, &rc);
            if (rc) {
                lines_release(&old);
                break;
            }
            if (at == (size_t)-1) {
                char why[400];
                snprintf(why, sizeof why, "the @@ line \"%.*s\" was not found%s",
                         h->hint_len > 200 ? 200 : (int)h->hint_len, h->hint,
                         cursor ? " after the previous hunk" : "");
                rc = fail_hunk(err, path, i, h, why, NULL);
                lines_release(&old);
                break;
            }
            /* the hint may itself be the first context line */
            from = at;
            if (old.n == 0)
                from = at + 1;
        }
        found f = {0};
        if (old.n == 0) { /* only additions: after the hint, else at the end */
            f.pos = h->hint ? from : file.n;
            f.count = 1;
        } else if ((rc = locate(&file, &old, from, h->eof, h->hint != NULL, &f))) {
            lines_release(&old);
            break;
        }
        if (f.count == 0) {
            char why[200], after[64] = "";
            if (h->hint)
                snprintf(after, sizeof after, " after the @@ line (line %zu)", from + 1);
            else if (from)
                snprintf(after, sizeof after, " after line %zu", from);
            found before = {0};
            if (from && (rc = locate(&file, &old, 0, false, true, &before))) {
                lines_release(&old);
                break;
            }
            if (before.count) /* the model wrote the hunks out of order */
                snprintf(why, sizeof why,
                         "the lines were found only at line %zu, before the previous hunk; "
                         "hunks must follow the order of the file:",
                         before.pos + 1);
            else
                snprintf(why, sizeof why,
                         "the context and removed lines were not found%s; read the file again "
                         "and copy them exactly:",
                         after);
            rc = fail_hunk(err, path, i, h, why, &old);
        } else if (f.count > 1) {
            char why[300];
            snprintf(why, sizeof why,
                     "the context matches at lines %zu and %zu; add an @@ line or more context "
                     "to say which:",
                     f.pos + 1, f.second + 1);
            rc = fail_hunk(err, path, i, h, why, &old);
        } else {
            edits[i] = (edit){f.pos, old.n, h};
            cursor = f.pos + old.n;
            *fuzzy += f.level > 0;
        }
        lines_release(&old);
    }
    if (!rc && emit(out, &file, edits, op->n_hunks, crlf, final_nl))
        rc = LO_ENOMEM;
    if (rc == LO_ENOMEM)
        lo_error_set(err, LO_ENOMEM, "out of memory");
    lines_release(&file);
    free(edits);
    return rc;
}
