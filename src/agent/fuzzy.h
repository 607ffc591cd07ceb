/* Private to src/agent: loose text matching shared by edit_file and
 * apply_patch (fuzzy.c). Not part of the public API. */
#ifndef LO_AGENT_FUZZY_H
#define LO_AGENT_FUZZY_H

#include <stddef.h>

#include "lightsout/base.h"

/* How loosely two lines may match, tried in this order. */
enum {
    LO_MATCH_EXACT = 0,
    LO_MATCH_RSTRIP = 1,     /* trailing blanks ignored */
    LO_MATCH_NORMALISED = 2, /* blanks trimmed and collapsed, typographic
                              * punctuation folded to ASCII */
};

/* A normalised text (blank runs one space, blanks before a newline or the
 * end dropped, punctuation folded) and, for each of its bytes i, the bytes
 * [start[i], end[i]) of the original it came from; start[len] = end[len] =
 * the original's length. */
typedef struct lo_agent_norm {
    lo_buf text;
    size_t *start, *end;
} lo_agent_norm;

int lo_agent_norm_text_(const char *s, size_t len, lo_agent_norm *n); /* 0 or LO_ENOMEM */
void lo_agent_norm_release_(lo_agent_norm *n);

/* One line (no newline) in the form compared at level; caller frees; NULL
 * when out of memory. */
char *lo_agent_norm_line_(const char *s, size_t len, int level, size_t *out_len);

#endif
