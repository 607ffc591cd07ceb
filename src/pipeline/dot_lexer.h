/* Tokens of the Attractor DOT subset. The lexer is context-sensitive in one
 * place: after '=' the parser asks for a value, whose characters (gpt-5.4,
 * 900s, summary:high) are not those of an identifier. */
#ifndef LO_DOT_LEXER_H
#define LO_DOT_LEXER_H

#include "lightsout/base.h"

typedef enum tok_kind {
    T_EOF, T_ID, T_STRING, T_NUMBER, T_VALUE,
    T_LBRACE, T_RBRACE, T_LBRACK, T_RBRACK,
    T_EQ, T_COMMA, T_SEMI, T_ARROW, T_DOT,
    T_UNDIRECTED, /* -- */
    T_OTHER,      /* any other character: always a syntax error */
} tok_kind;

typedef struct tok {
    tok_kind kind;
    uint32_t off, len;
} tok;

typedef struct lexer {
    const char *src;
    uint32_t len, pos;
    /* line starts, recorded as the lexer passes each newline */
    uint32_t *lines;
    uint32_t n_lines, cap_lines;
    bool oom;
    /* an unterminated string or comment: where it started */
    int bad;           /* 0, or 1 string, 2 comment */
    uint32_t bad_off;
    /* mmap'd sources: pages behind the cursor are released as we go, so a
     * large file is never resident all at once */
    bool mapped;
    uint32_t released;
} lexer;

void lex_init(lexer *lx, const char *src, uint32_t len, bool mapped);
/* Next token in statement context. */
tok lex_next(lexer *lx);
/* Next token in value context: a quoted string, or a run of value
 * characters [A-Za-z0-9_.:/+@-]. */
tok lex_value(lexer *lx);
const char *tok_name(tok_kind k);

#endif
