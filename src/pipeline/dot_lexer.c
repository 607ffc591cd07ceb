/* Lexer for the Attractor DOT subset: one pass, no allocation except the
 * table of line starts that later turns byte offsets into line:col. */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pipeline/dot_lexer.h"

#define RELEASE_STEP (4u << 20)

void lex_init(lexer *lx, const char *src, uint32_t len, bool mapped)
{
    memset(lx, 0, sizeof *lx);
    lx->src = src;
    lx->len = len;
    lx->mapped = mapped;
    lx->cap_lines = 1024;
    lx->lines = lo_malloc(lx->cap_lines * sizeof *lx->lines);
    if (!lx->lines) {
        lx->oom = true;
        lx->cap_lines = 0;
        return;
    }
    lx->lines[lx->n_lines++] = 0;
}

static void newline_at(lexer *lx, uint32_t next_line_start)
{
    if (lx->n_lines == lx->cap_lines) {
        uint32_t cap = lx->cap_lines ? lx->cap_lines * 2 : 1024;
        uint32_t *v = lo_realloc(lx->lines, cap * sizeof *v);
        if (!v) {
            lx->oom = true;
            return;
        }
        lx->lines = v;
        lx->cap_lines = cap;
    }
    lx->lines[lx->n_lines++] = next_line_start;
}

/* Give back pages of a mapped file that the parser has finished with; they
 * are read again from the page cache if a diagnostic needs their text. */
static void release_behind(lexer *lx)
{
    if (!lx->mapped || lx->pos < lx->released + 2 * RELEASE_STEP)
        return;
    long page = sysconf(_SC_PAGESIZE);
    uint32_t upto = (lx->pos - RELEASE_STEP) & ~(uint32_t)(page - 1);
    if (upto > lx->released) {
        madvise((void *)(lx->src + lx->released), upto - lx->released, MADV_DONTNEED);
        lx->released = upto;
    }
}

static void skip_space(lexer *lx)
{
    const char *s = lx->src;
    for (;;) {
        while (lx->pos < lx->len) {
            char c = s[lx->pos];
            if (c == '\n')
                newline_at(lx, lx->pos + 1);
            else if (c != ' ' && c != '\t' && c != '\r' && c != '\f' && c != '\v')
                break;
            lx->pos++;
        }
        if (lx->pos + 1 < lx->len && s[lx->pos] == '/' && s[lx->pos + 1] == '/') {
            while (lx->pos < lx->len && s[lx->pos] != '\n')
                lx->pos++;
            continue;
        }
        if (lx->pos + 1 < lx->len && s[lx->pos] == '/' && s[lx->pos + 1] == '*') {
            uint32_t start = lx->pos;
            lx->pos += 2;
            for (;;) {
                if (lx->pos + 1 >= lx->len) {
                    lx->pos = lx->len;
                    lx->bad = 2;
                    lx->bad_off = start;
                    return;
                }
                if (s[lx->pos] == '*' && s[lx->pos + 1] == '/') {
                    lx->pos += 2;
                    break;
                }
                if (s[lx->pos] == '\n')
                    newline_at(lx, lx->pos + 1);
                lx->pos++;
            }
            continue;
        }
        /* a '#' line is a C preprocessor output line in Graphviz; allow it */
        if (lx->pos < lx->len && s[lx->pos] == '#' &&
            (lx->pos == 0 || s[lx->pos - 1] == '\n')) {
            while (lx->pos < lx->len && s[lx->pos] != '\n')
                lx->pos++;
            continue;
        }
        return;
    }
}

static tok make(tok_kind k, uint32_t off, uint32_t len)
{
    tok t = {k, off, len};
    return t;
}

static bool is_id_start(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
static bool is_id_char(unsigned char c)
{
    return is_id_start(c) || (c >= '0' && c <= '9');
}
static bool is_value_char(unsigned char c)
{
    return is_id_char(c) || c == '.' || c == ':' || c == '-' || c == '/' ||
           c == '+' || c == '@';
}

static tok lex_string(lexer *lx)
{
    uint32_t start = lx->pos++;
    const char *s = lx->src;
    while (lx->pos < lx->len) {
        char c = s[lx->pos];
        if (c == '"') {
            lx->pos++;
            return make(T_STRING, start, lx->pos - start);
        }
        if (c == '\\' && lx->pos + 1 < lx->len) {
            if (s[lx->pos + 1] == '\n')
                newline_at(lx, lx->pos + 2);
            lx->pos += 2;
            continue;
        }
        if (c == '\n')
            newline_at(lx, lx->pos + 1);
        lx->pos++;
    }
    lx->bad = 1;
    lx->bad_off = start;
    return make(T_EOF, lx->len, 0);
}

tok lex_next(lexer *lx)
{
    skip_space(lx);
    release_behind(lx);
    if (lx->bad)
        return make(T_EOF, lx->len, 0);
    if (lx->pos >= lx->len)
        return make(T_EOF, lx->len, 0);
    const char *s = lx->src;
    uint32_t start = lx->pos;
    unsigned char c = (unsigned char)s[lx->pos];
    if (is_id_start(c)) {
        while (lx->pos < lx->len && is_id_char((unsigned char)s[lx->pos]))
            lx->pos++;
        return make(T_ID, start, lx->pos - start);
    }
    if ((c >= '0' && c <= '9') || (c == '-' && lx->pos + 1 < lx->len &&
                                   s[lx->pos + 1] >= '0' && s[lx->pos + 1] <= '9')) {
        lx->pos++;
        while (lx->pos < lx->len && is_value_char((unsigned char)s[lx->pos]))
            lx->pos++;
        return make(T_NUMBER, start, lx->pos - start);
    }
    if (c == '"')
        return lex_string(lx);
    lx->pos++;
    switch (c) {
    case '{': return make(T_LBRACE, start, 1);
    case '}': return make(T_RBRACE, start, 1);
    case '[': return make(T_LBRACK, start, 1);
    case ']': return make(T_RBRACK, start, 1);
    case '=': return make(T_EQ, start, 1);
    case ',': return make(T_COMMA, start, 1);
    case ';': return make(T_SEMI, start, 1);
    case '.': return make(T_DOT, start, 1);
    case '-':
        if (lx->pos < lx->len && s[lx->pos] == '>') {
            lx->pos++;
            return make(T_ARROW, start, 2);
        }
        if (lx->pos < lx->len && s[lx->pos] == '-') {
            lx->pos++;
            return make(T_UNDIRECTED, start, 2);
        }
        return make(T_OTHER, start, 1);
    }
    /* one whole UTF-8 character, so the message can quote it */
    while (lx->pos < lx->len && ((unsigned char)s[lx->pos] & 0xC0) == 0x80)
        lx->pos++;
    return make(T_OTHER, start, lx->pos - start);
}

tok lex_value(lexer *lx)
{
    skip_space(lx);
    if (lx->bad || lx->pos >= lx->len)
        return make(T_EOF, lx->len, 0);
    const char *s = lx->src;
    if (s[lx->pos] == '"')
        return lex_string(lx);
    uint32_t start = lx->pos;
    while (lx->pos < lx->len && is_value_char((unsigned char)s[lx->pos])) {
        /* stop before "->" so `a=b->c` is not one value */
        if (s[lx->pos] == '-' && lx->pos + 1 < lx->len && s[lx->pos + 1] == '>')
            break;
        lx->pos++;
    }
    if (lx->pos == start)
        return lex_next(lx);
    return make(T_VALUE, start, lx->pos - start);
}

const char *tok_name(tok_kind k)
{
    switch (k) {
    case T_EOF: return "end of file";
    case T_ID: return "identifier";
    case T_STRING: return "string";
    case T_NUMBER: return "number";
    case T_VALUE: return "value";
    case T_LBRACE: return "'{'";
    case T_RBRACE: return "'}'";
    case T_LBRACK: return "'['";
    case T_RBRACK: return "']'";
    case T_EQ: return "'='";
    case T_COMMA: return "','";
    case T_SEMI: return "';'";
    case T_ARROW: return "'->'";
    case T_DOT: return "'.'";
    case T_UNDIRECTED: return "'--'";
    case T_OTHER: return "character";
    }
    return "token";
}
