/* libFuzzer target: v4a patches (src/agent/patch_parse.c, patch_apply.c).
 * The input is a patch; what parses is applied to two texts in memory: the
 * old lines of its own hunks (so hunks find their context and the matching
 * levels, hints, End of File and ambiguity checks all run) and the input
 * itself. Checks beyond "no crash, leak or hang": a parse error always
 * names a patch line or the envelope, a result has as many lines as the
 * file had minus the removed plus the added, and a failure to apply names
 * the file and hunk. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/patch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t count_nl(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += s[i] == '\n';
    return c;
}

/* Newlines in the result: the file's lines, minus the removed, plus the
 * added, joined, with a final newline if the file had one (or was empty). */
static size_t expected_nl(const char *text, size_t len, const lo_patch_op *op)
{
    bool final_nl = len && text[len - 1] == '\n';
    size_t in = count_nl(text, len) + (len && !final_nl);
    long lines = (long)in;
    for (size_t h = 0; h < op->n_hunks; h++)
        for (size_t i = 0; i < op->hunks[h].n; i++)
            lines += op->hunks[h].lines[i].kind == '+' ? 1 : op->hunks[h].lines[i].kind == '-' ? -1 : 0;
    if (lines <= 0)
        return 0;
    return (size_t)lines - 1 + (final_nl || in == 0);
}

static void apply_both(const lo_patch_op *op, const char *input, size_t size)
{
    lo_buf text;
    lo_buf_init(&text, 0);
    for (size_t h = 0; h < op->n_hunks; h++)
        for (size_t i = 0; i < op->hunks[h].n; i++)
            if (op->hunks[h].lines[i].kind != '+') {
                lo_buf_append(&text, op->hunks[h].lines[i].text, op->hunks[h].lines[i].len);
                lo_buf_putc(&text, '\n');
            }
    const char *texts[2] = {text.data ? text.data : "", input};
    size_t lens[2] = {text.len, size};
    for (int t = 0; t < 2; t++) {
        lo_buf out;
        lo_buf_init(&out, 0);
        lo_error err = {0};
        int fuzzy = 0;
        int rc = lo_patch_apply_text_(texts[t], lens[t], op, "f", &out, &fuzzy, &err);
        if (rc && rc != LO_ENOMEM && !strstr(err.msg, "f, hunk "))
            abort(); /* every refusal says which hunk */
        if (!rc && fuzzy > (int)op->n_hunks)
            abort();
        if (!rc && count_nl(out.data, out.len) != expected_nl(texts[t], lens[t], op))
            abort(); /* lines lost or duplicated */
        lo_buf_release(&out);
    }
    lo_buf_release(&text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    lo_patch p;
    lo_error err = {0};
    int rc = lo_patch_parse_(s, size, &p, &err);
    if (rc) {
        if (rc != LO_ENOMEM && !strstr(err.msg, "patch line ") && !strstr(err.msg, "patch"))
            abort();
        free(s);
        return 0;
    }
    for (size_t i = 0; i < p.n; i++) {
        const lo_patch_op *op = &p.ops[i];
        if (!op->path || !*op->path)
            abort();
        if (op->kind == LO_PATCH_UPDATE)
            apply_both(op, s, size);
    }
    lo_patch_release_(&p);
    free(s);
    return 0;
}
