/* Tool output truncation (§5): what the model sees of a tool's output.
 *
 * Characters first, always: a two-line file of 10 MB lines passes any line
 * limit, so only a size cut protects the context window. Lines second, for
 * readability. Lengths are Unicode characters (an invalid byte counts as
 * one), and a cut never lands inside a UTF-8 sequence.
 *
 * The marker texts are the ones §5.1 and §5.3 define, so a model that has
 * seen the reference agent's markers reads ours the same way. */
#include <string.h>

#include "lightsout/agent.h"

typedef struct limit_row {
    const char *tool;
    int64_t chars;
    bool head_tail;  /* else tail */
    int64_t lines;   /* 0 = none */
} limit_row;

/* §5.2 and §5.3; read_many_files and list_dir are ours (Gemini flavor). */
static const limit_row DEFAULTS[] = {
    {"read_file", 50000, true, 0},      {"shell", 30000, true, 256},
    {"grep", 20000, false, 200},        {"glob", 20000, false, 500},
    {"edit_file", 10000, false, 0},     {"apply_patch", 10000, false, 0},
    {"write_file", 1000, false, 0},     {"spawn_agent", 20000, true, 0},
    {"read_many_files", 50000, true, 0}, {"list_dir", 20000, true, 500},
};
static const limit_row OTHER = {NULL, 20000, false, 0};

static const limit_row *row_of(const char *tool)
{
    for (size_t i = 0; tool && i < sizeof DEFAULTS / sizeof *DEFAULTS; i++)
        if (strcmp(DEFAULTS[i].tool, tool) == 0)
            return &DEFAULTS[i];
    return &OTHER;
}

/* 0 keeps cur, < 0 removes the limit */
static int64_t apply(int64_t cur, int64_t v)
{
    return v == 0 ? cur : v < 0 ? 0 : v;
}

/* Bytes of the character at p (an invalid byte is a character of its own). */
static size_t char_len(const char *p, size_t left)
{
    size_t n = lo_utf8_seq(p, left);
    return n ? n : 1;
}

static size_t count_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i += char_len(s + i, len - i))
        n++;
    return n;
}

/* Byte offset after the first k characters. */
static size_t skip_chars(const char *s, size_t len, size_t k)
{
    size_t i = 0;
    while (k-- && i < len)
        i += char_len(s + i, len - i);
    return i;
}

/* *out is NULL when nothing needs cutting; returns LO_ENOMEM or 0. */
static int chars_cut(const char *s, size_t len, size_t max, bool head_tail, char **out,
                     size_t *out_len)
{
    *out = NULL;
    size_t total = count_chars(s, len);
    if (total <= max)
        return 0;
    size_t removed = total - max;
    lo_buf b;
    lo_buf_init(&b, 0);
    int rc;
    if (head_tail) {
        size_t half = max / 2;
        size_t head = skip_chars(s, len, half);
        size_t tail = skip_chars(s, len, total - half);
        rc = lo_buf_append(&b, s, head);
        rc = rc ? rc : lo_buf_printf(&b,
                                     "\n\n[WARNING: Tool output was truncated. %zu characters "
                                     "were removed from the middle. The full output is "
                                     "available in the event stream. If you need to see "
                                     "specific parts, re-run the tool with more targeted "
                                     "parameters.]\n\n",
                                     removed);
        rc = rc ? rc : lo_buf_append(&b, s + tail, len - tail);
    } else {
        size_t from = skip_chars(s, len, removed);
        rc = lo_buf_printf(&b,
                           "[WARNING: Tool output was truncated. First %zu characters were "
                           "removed. The full output is available in the event stream.]\n\n",
                           removed);
        rc = rc ? rc : lo_buf_append(&b, s + from, len - from);
    }
    if (rc) {
        lo_buf_release(&b);
        return LO_ENOMEM;
    }
    *out_len = b.len;
    *out = lo_buf_steal(&b);
    return *out ? 0 : LO_ENOMEM;
}

/* Lines are what splitting on "\n" gives, so "a\n" is two lines ("a", "").
 * *out is NULL when nothing needs cutting; returns LO_ENOMEM or 0. */
static int lines_cut(const char *s, size_t len, size_t max, char **out)
{
    *out = NULL;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += s[i] == '\n';
    if (lines <= max)
        return 0;
    size_t head = max / 2, tail = max - head, omitted = lines - head - tail;
    /* the byte where line `head` starts, and where line `lines - tail` does */
    size_t head_end = 0, tail_start = len, seen = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '\n')
            continue;
        seen++;
        if (seen == head)
            head_end = i; /* excluding this newline */
        if (seen == lines - tail) {
            tail_start = i + 1;
            break;
        }
    }
    lo_buf b;
    lo_buf_init(&b, 0);
    int rc = lo_buf_append(&b, s, head_end);
    rc = rc ? rc : lo_buf_printf(&b, "%s[... %zu lines omitted ...]\n", head ? "\n" : "",
                                 omitted);
    rc = rc ? rc : lo_buf_append(&b, s + tail_start, len - tail_start);
    if (rc) {
        lo_buf_release(&b);
        return LO_ENOMEM;
    }
    *out = lo_buf_steal(&b);
    return *out ? 0 : LO_ENOMEM;
}

char *lo_agent_truncate(const char *tool, const char *output, size_t len,
                        const lo_agent_tool *def, const lo_agent_limit *overrides, size_t n)
{
    if (!output)
        output = "";
    const limit_row *row = row_of(tool);
    int64_t max_chars = row->chars, max_lines = row->lines;
    if (def) {
        max_chars = apply(max_chars, def->max_chars);
        max_lines = apply(max_lines, def->max_lines);
    }
    for (size_t i = 0; i < n; i++)
        if (overrides[i].tool && tool && strcmp(overrides[i].tool, tool) == 0) {
            max_chars = apply(max_chars, overrides[i].max_chars);
            max_lines = apply(max_lines, overrides[i].max_lines);
        }

    char *cut = NULL, *lined = NULL;
    size_t cut_len = len;
    if (max_chars > 0 &&
        chars_cut(output, len, (size_t)max_chars, row->head_tail, &cut, &cut_len))
        return NULL;
    if (max_lines > 0 && lines_cut(cut ? cut : output, cut_len, (size_t)max_lines, &lined)) {
        free(cut);
        return NULL;
    }
    if (lined) {
        free(cut);
        return lined;
    }
    return cut ? cut : lo_strndup(output, len);
}
