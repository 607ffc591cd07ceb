/* edit_file (§3.3): replace an exact, unique string in a file (Claude
 * Code's old_string/new_string; gemini-cli counts expected_replacements).
 *
 * When old_string is not in the file as typed, one whitespace- and
 * punctuation-normalised match is accepted (fuzzy.c), and the result says
 * so and shows what was replaced: the model must know its text was not
 * found verbatim. Every refusal tells the model what to do next. */
#define _GNU_SOURCE /* memmem */
#include <string.h>

#include "agent/fuzzy.h"
#include "agent/tools/tools_internal.h"

enum { SHOW_MAX = 400 }; /* bytes of a fuzzy match shown back */

static size_t count(const char *hay, size_t n, const char *needle, size_t k)
{
    size_t c = 0;
    for (const char *p = hay; (p = memmem(p, n - (size_t)(p - hay), needle, k)); p += k)
        c++;
    return c;
}

/* Replace every occurrence; NULL when out of memory. */
static char *replace(const char *s, size_t n, const char *old, size_t on, const char *nw,
                     size_t *out_len)
{
    lo_buf b;
    lo_buf_init(&b, 0);
    const char *p = s, *end = s + n;
    int rc = 0;
    for (const char *q; !rc && (q = memmem(p, (size_t)(end - p), old, on));) {
        rc = lo_buf_append(&b, p, (size_t)(q - p));
        rc = rc ? rc : lo_buf_puts(&b, nw);
        p = q + on;
    }
    rc = rc ? rc : lo_buf_append(&b, p, (size_t)(end - p));
    if (rc || !b.data) {
        lo_buf_release(&b);
        return rc ? NULL : lo_strdup("");
    }
    *out_len = b.len;
    return lo_buf_steal(&b);
}

typedef struct span {
    size_t from, to;
    size_t matches; /* normalised matches found (0, 1, or 2 for "more") */
} span;

static int fuzzy_find(const char *s, size_t n, const char *old, span *sp)
{
    lo_agent_norm hay, needle;
    sp->matches = 0;
    if (lo_agent_norm_text_(s, n, &hay))
        return LO_ENOMEM;
    if (lo_agent_norm_text_(old, strlen(old), &needle)) {
        lo_agent_norm_release_(&hay);
        return LO_ENOMEM;
    }
    size_t k = needle.text.len;
    const char *h = hay.text.data ? hay.text.data : "";
    for (const char *p = h; k && sp->matches < 2 &&
                            (p = memmem(p, hay.text.len - (size_t)(p - h), needle.text.data, k));
         p++) {
        size_t i = (size_t)(p - h);
        if (sp->matches++ == 0) {
            sp->from = hay.start[i];
            sp->to = hay.end[i + k - 1];
        }
    }
    lo_agent_norm_release_(&hay);
    lo_agent_norm_release_(&needle);
    return 0;
}

static int run(const json_t *args, lo_agent_tool_ctx *ctx, lo_buf *out, lo_error *err)
{
    const char *path, *old, *nw;
    bool all = false;
    int64_t expected = 0; /* gemini: required count; 0 = unique unless replace_all */
    int flavor = lo_agent_tool_flavor_(ctx);
    int rc = lo_agent_arg_str_(args, "edit_file", "file_path", true, &path, err);
    rc = rc ? rc : lo_agent_arg_str_(args, "edit_file", "old_string", true, &old, err);
    rc = rc ? rc : lo_agent_arg_str_(args, "edit_file", "new_string", true, &nw, err);
    if (flavor == LO_FLAVOR_GEMINI)
        rc = rc ? rc : lo_agent_arg_int_(args, "edit_file", "expected_replacements", 1, 1,
                                         &expected, err);
    else
        rc = rc ? rc : lo_agent_arg_bool_(args, "edit_file", "replace_all", false, &all, err);
    lo_agent_env *env = rc ? NULL : lo_agent_tool_env_(ctx, "edit_file", err);
    if (!env)
        return rc ? rc : LO_EINVAL;
    if (!*old)
        return lo_error_set(err, LO_EINVAL,
                            "edit_file: old_string is empty; give the exact text to replace "
                            "(to create a file, use write_file)");
    if (strcmp(old, nw) == 0)
        return lo_error_set(err, LO_EINVAL,
                            "edit_file: old_string and new_string are the same; nothing would "
                            "change");
    char *data = NULL;
    size_t len = 0;
    if ((rc = env->ops->read_file(env, path, &data, &len, err)))
        return rc;
    const char *kind = lo_agent_binary_kind_(path, data, len);
    if (kind) {
        free(data);
        return lo_error_set(err, LO_EINVAL, "edit_file: %.900s is %s; it cannot be edited as "
                                            "text", path, kind);
    }
    size_t on = strlen(old), n = count(data, len, old, on);
    char *result = NULL;
    size_t result_len = 0;
    span sp = {0};
    if (n == 0 && expected <= 1 && (rc = fuzzy_find(data, len, old, &sp)))
        goto oom;
    if (n == 0 && sp.matches != 1) {
        rc = sp.matches > 1
                 ? lo_error_set(err, LO_EINVAL,
                                "edit_file: old_string is not in %.900s exactly, and it matches "
                                "several places once whitespace is ignored; read the file again "
                                "and copy the text exactly, with enough surrounding lines to "
                                "be unique",
                                path)
                 : lo_error_set(err, LO_EINVAL,
                                "edit_file: old_string was not found in %.900s; read the file "
                                "again and copy the text exactly as it is there, including "
                                "whitespace and indentation",
                                path);
        goto done;
    }
    if (expected > 0 && n > 0 && (size_t)expected != n) {
        rc = lo_error_set(err, LO_EINVAL,
                          "edit_file: expected %lld replacement%s but old_string occurs %zu "
                          "times in %.900s; set expected_replacements to %zu to replace them "
                          "all, or include more surrounding lines to pick one",
                          (long long)expected, expected == 1 ? "" : "s", n, path, n);
        goto done;
    }
    if (expected == 0 && n > 1 && !all) {
        rc = lo_error_set(err, LO_EINVAL,
                          "edit_file: old_string occurs %zu times in %.900s; include more "
                          "surrounding lines to make it unique, or set replace_all to true to "
                          "replace every occurrence",
                          n, path);
        goto done;
    }
    if (n > 0) {
        result = replace(data, len, old, on, nw, &result_len);
    } else {
        lo_buf b;
        lo_buf_init(&b, 0);
        rc = lo_buf_append(&b, data, sp.from);
        rc = rc ? rc : lo_buf_puts(&b, nw);
        rc = rc ? rc : lo_buf_append(&b, data + sp.to, len - sp.to);
        result_len = b.len;
        result = rc ? NULL : lo_buf_steal(&b);
        lo_buf_release(&b);
        n = 1;
    }
    if (!result)
        goto oom;
    if ((rc = env->ops->write_file(env, path, result, result_len, err)))
        goto done;
    rc = lo_buf_printf(out, "Edited %s: %zu replacement%s.\n", path, n, n == 1 ? "" : "s");
    if (!rc && sp.matches == 1) {
        size_t shown = sp.to - sp.from < SHOW_MAX ? sp.to - sp.from : SHOW_MAX;
        rc = lo_buf_printf(out,
                           "Note: old_string did not match exactly; it matched once after "
                           "normalising whitespace and punctuation. The text replaced was:\n"
                           "%.*s%s\n",
                           (int)shown, data + sp.from, shown < sp.to - sp.from ? "..." : "");
    }
    if (rc)
        goto oom;
    goto done;
oom:
    rc = lo_error_set(err, LO_ENOMEM, "edit_file: out of memory");
done:
    free(result);
    free(data);
    return rc;
}

static const char ANTHROPIC_DESC[] =
    "Performs an exact string replacement in a file.\n"
    "- Read the file first; copy old_string exactly as it appears, with its indentation, and "
    "without any line-number prefix from read_file's output.\n"
    "- The edit fails when old_string is not unique in the file: include more surrounding "
    "lines to make it unique, or set replace_all to change every occurrence (for example to "
    "rename a variable).\n"
    "- Prefer editing existing files to creating new ones.";

static const char OPENAI_DESC[] =
    "Replace an exact string in a file with another. old_string must occur exactly once "
    "unless replace_all is true; include surrounding lines to make it unique.";

static const char GEMINI_DESC[] =
    "Replaces text within a file. By default one occurrence is replaced; set "
    "expected_replacements when old_string should be replaced at several places (the edit "
    "fails unless it occurs exactly that many times). old_string must be the literal text "
    "from the file, including whitespace and indentation, with enough context (several "
    "lines before and after) to identify the place uniquely. new_string is the exact "
    "replacement text.";

static const char SCHEMA_ALL[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"file_path\":{\"type\":\"string\",\"description\":\"Path of the file to modify.\"},"
    "\"old_string\":{\"type\":\"string\",\"description\":\"The text to replace, exactly as "
    "it is in the file.\"},"
    "\"new_string\":{\"type\":\"string\",\"description\":\"The text to replace it with "
    "(must differ from old_string).\"},"
    "\"replace_all\":{\"type\":\"boolean\",\"description\":\"Replace every occurrence of "
    "old_string (default false).\"}},"
    "\"required\":[\"file_path\",\"old_string\",\"new_string\"],"
    "\"additionalProperties\":false}";

static const char SCHEMA_GEMINI[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"file_path\":{\"type\":\"string\",\"description\":\"Path of the file to modify.\"},"
    "\"old_string\":{\"type\":\"string\",\"description\":\"The exact literal text to "
    "replace, with context.\"},"
    "\"new_string\":{\"type\":\"string\",\"description\":\"The exact literal text to put in "
    "its place.\"},"
    "\"expected_replacements\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"How "
    "many occurrences to replace (default 1).\"}},"
    "\"required\":[\"file_path\",\"old_string\",\"new_string\"],"
    "\"additionalProperties\":false}";

int lo_agent_add_edit_file_(lo_agent_registry *r, lo_agent_flavor f, lo_error *err)
{
    const char *desc = f == LO_FLAVOR_ANTHROPIC ? ANTHROPIC_DESC
                       : f == LO_FLAVOR_GEMINI  ? GEMINI_DESC
                                                : OPENAI_DESC;
    return lo_agent_tool_register_(r, "edit_file", desc,
                                   f == LO_FLAVOR_GEMINI ? SCHEMA_GEMINI : SCHEMA_ALL, run, f,
                                   err);
}
