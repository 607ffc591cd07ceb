/* Loose text matching for edits the model did not copy byte for byte:
 * edit_file's fallback and apply_patch's context matching (Appendix A).
 *
 * Models retype text rather than copy it: they lose trailing blanks, turn
 * tabs into spaces, and "typeset" quotes and dashes. Normalising folds
 * exactly those differences -- runs of blanks to one space, blanks at line
 * ends dropped, typographic punctuation to its ASCII form -- and nothing
 * else, so a normalised match still means the same code. */
#include <string.h>

#include "agent/fuzzy.h"

/* Typographic characters and the ASCII the model meant. */
static const struct fold {
    const char *utf8;
    const char *ascii;
} FOLDS[] = {
    {"\xe2\x80\x98", "'"},  {"\xe2\x80\x99", "'"},  {"\xe2\x80\x9a", "'"},
    {"\xe2\x80\x9b", "'"},  {"\xe2\x80\xb2", "'"},  {"\xc2\xb4", "'"},
    {"\xe2\x80\x9c", "\""}, {"\xe2\x80\x9d", "\""}, {"\xe2\x80\x9e", "\""},
    {"\xe2\x80\x9f", "\""}, {"\xe2\x80\xb3", "\""}, {"\xc2\xab", "\""},
    {"\xc2\xbb", "\""},     {"\xe2\x80\x90", "-"},  {"\xe2\x80\x91", "-"},
    {"\xe2\x80\x92", "-"},  {"\xe2\x80\x93", "-"},  {"\xe2\x80\x94", "-"},
    {"\xe2\x80\x95", "-"},  {"\xe2\x88\x92", "-"},  {"\xe2\x80\xa6", "..."},
};

/* Unicode blanks: no-break space, the en/em/thin spaces, narrow no-break
 * space, ideographic space. */
static size_t unicode_blank(const unsigned char *p, size_t left)
{
    if (left >= 2 && p[0] == 0xc2 && p[1] == 0xa0)
        return 2;
    if (left >= 3 && p[0] == 0xe2 && p[1] == 0x80 && ((p[2] >= 0x80 && p[2] <= 0x8a) ||
                                                      p[2] == 0xaf))
        return 3;
    if (left >= 3 && p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80)
        return 3;
    return 0;
}

/* Bytes of the blank at p (0 when it is not one). */
static size_t blank(const char *s, size_t left)
{
    if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\f' || *s == '\v')
        return 1;
    return (unsigned char)*s >= 0x80 ? unicode_blank((const unsigned char *)s, left) : 0;
}

static const char *fold(const char *s, size_t left, size_t *n)
{
    if ((unsigned char)*s < 0x80)
        return NULL;
    for (size_t i = 0; i < sizeof FOLDS / sizeof *FOLDS; i++) {
        size_t k = strlen(FOLDS[i].utf8);
        if (k <= left && memcmp(s, FOLDS[i].utf8, k) == 0) {
            *n = k;
            return FOLDS[i].ascii;
        }
    }
    return NULL;
}

/* One normalised unit at s[i]: its text (*t, *tn) and the bytes it covers
 * (*used). A run of blanks is one space, or nothing when a newline or the
 * end follows (trailing blanks) -- and at the start when trim_lead. */
static void unit(const char *s, size_t len, size_t i, bool line_start, bool trim_lead,
                 const char **t, size_t *tn, size_t *used)
{
    size_t b = blank(s + i, len - i);
    if (b) {
        size_t j = i;
        while (j < len && (b = blank(s + j, len - j)))
            j += b;
        *used = j - i;
        bool trailing = j == len || s[j] == '\n';
        *t = " ";
        *tn = trailing || (line_start && trim_lead) ? 0 : 1;
        return;
    }
    size_t fn;
    const char *f = fold(s + i, len - i, &fn);
    if (f) {
        *t = f;
        *tn = strlen(f);
        *used = fn;
        return;
    }
    *t = s + i;
    *tn = 1;
    *used = 1;
}

int lo_agent_norm_text_(const char *s, size_t len, lo_agent_norm *n)
{
    memset(n, 0, sizeof *n);
    lo_buf_init(&n->text, 0);
    size_t cap = len + 1;
    n->start = lo_malloc(cap * sizeof *n->start);
    n->end = lo_malloc(cap * sizeof *n->end);
    if (!n->start || !n->end)
        goto oom;
    bool line_start = true;
    for (size_t i = 0; i < len;) {
        const char *t;
        size_t tn, used;
        unit(s, len, i, line_start, false, &t, &tn, &used);
        for (size_t k = 0; k < tn; k++) {
            if (n->text.len + 1 >= cap) { /* "..." from one byte is impossible: a fold
                                           * is never shorter in UTF-8, but be safe */
                cap *= 2;
                size_t *a = lo_realloc(n->start, cap * sizeof *a);
                if (!a)
                    goto oom;
                n->start = a;
                size_t *b = lo_realloc(n->end, cap * sizeof *b);
                if (!b)
                    goto oom;
                n->end = b;
            }
            n->start[n->text.len] = i;
            n->end[n->text.len] = i + used;
            if (lo_buf_putc(&n->text, t[k]))
                goto oom;
        }
        line_start = s[i] == '\n';
        i += used;
    }
    n->start[n->text.len] = n->end[n->text.len] = len;
    return 0;
oom:
    lo_agent_norm_release_(n);
    return LO_ENOMEM;
}

void lo_agent_norm_release_(lo_agent_norm *n)
{
    lo_buf_release(&n->text);
    free(n->start);
    free(n->end);
    n->start = n->end = NULL;
}

char *lo_agent_norm_line_(const char *s, size_t len, int level, size_t *out_len)
{
    if (level <= LO_MATCH_EXACT) {
        *out_len = len;
        return lo_strndup(s, len);
    }
    if (level == LO_MATCH_RSTRIP) {
        while (len && blank(s + len - 1, 1))
            len--;
        *out_len = len;
        return lo_strndup(s, len);
    }
    lo_buf b;
    lo_buf_init(&b, 0);
    for (size_t i = 0; i < len;) {
        const char *t;
        size_t tn, used;
        unit(s, len, i, i == 0, true, &t, &tn, &used);
        if (lo_buf_append(&b, t, tn)) {
            lo_buf_release(&b);
            return NULL;
        }
        i += used;
    }
    *out_len = b.len;
    if (!b.data)
        return lo_strdup("");
    return lo_buf_steal(&b);
}
