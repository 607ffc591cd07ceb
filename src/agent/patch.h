/* Private to src/agent: the v4a patch format (Appendix A) -- the parsed
 * form (patch_parse.c), applying one file's hunks to its text in memory
 * (patch_apply.c); patch.c runs a whole patch against an environment. Not
 * part of the public API. */
#ifndef LO_AGENT_PATCH_H
#define LO_AGENT_PATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "lightsout/base.h"

typedef struct lo_patch_line {
    char kind;          /* ' ' context, '-' removed, '+' added */
    const char *text;   /* into the patch's copy of the text; no newline */
    size_t len;
} lo_patch_line;

typedef struct lo_patch_hunk {
    const char *hint;   /* the text after "@@ ", or NULL */
    size_t hint_len;
    lo_patch_line *lines;
    size_t n, cap;
    bool eof;           /* "*** End of File": the hunk ends the file */
    int line_no;        /* where it starts in the patch, for messages */
} lo_patch_hunk;

typedef enum { LO_PATCH_ADD, LO_PATCH_DELETE, LO_PATCH_UPDATE } lo_patch_kind;

typedef struct lo_patch_op {
    lo_patch_kind kind;
    char *path;
    char *move_to;      /* update only; NULL = stays */
    lo_patch_hunk *hunks; /* update */
    size_t n_hunks, cap_hunks;
    lo_buf content;     /* add: the new file */
    int line_no;
} lo_patch_op;

typedef struct lo_patch {
    char *text;         /* the patch, \r\n made \n; lines point into it */
    lo_patch_op *ops;
    size_t n, cap;
} lo_patch;

/* Parse text (any line endings). On failure err says which line and why,
 * and *p holds nothing to free. */
int lo_patch_parse_(const char *text, size_t len, lo_patch *p, lo_error *err);
void lo_patch_release_(lo_patch *p);

/* Apply op's hunks to text: the new text in out, the number of hunks that
 * needed loose matching in *fuzzy. path names the file in messages, which
 * say which hunk failed and why. Nothing is written anywhere. */
int lo_patch_apply_text_(const char *text, size_t len, const lo_patch_op *op,
                         const char *path, lo_buf *out, int *fuzzy, lo_error *err);

#endif
