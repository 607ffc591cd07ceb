/* grep (§3.3): search file contents through the environment's grep
 * (ripgrep, or the built-in search). The Anthropic flavor adds Claude
 * Code's output modes. */
#include <stdio.h>
#include <string.h>

#include "agent/tools/tools_internal.h"

static int run(const json_t *args, lo_agent_tool_ctx *ctx, lo_buf *out, lo_error *err)
{
    const char *pattern, *path, *filter, *mode = NULL;
    bool icase;
    int64_t max;
    int flavor = lo_agent_tool_flavor_(ctx);
    int rc = lo_agent_arg_str_(args, "grep", "pattern", true, &pattern, err);
    rc = rc ? rc : lo_agent_arg_str_(args, "grep", "path", false, &path, err);
    rc = rc ? rc : lo_agent_arg_str_(args, "grep", "glob_filter", false, &filter, err);
    rc = rc ? rc : lo_agent_arg_bool_(args, "grep", "case_insensitive", false, &icase, err);
    rc = rc ? rc : lo_agent_arg_int_(args, "grep", "max_results", 1, 100, &max, err);
    if (flavor == LO_FLAVOR_ANTHROPIC || flavor < 0)
        rc = rc ? rc : lo_agent_arg_str_(args, "grep", "output_mode", false, &mode, err);
    lo_agent_env *env = rc ? NULL : lo_agent_tool_env_(ctx, "grep", err);
    if (!env)
        return rc ? rc : LO_EINVAL;
    if (!env->ops->grep)
        return lo_error_set(err, LO_EINVAL, "grep: the %s environment cannot search",
                            env->ops->name);
    lo_agent_grep_opts o = {.glob_filter = filter, .case_insensitive = icase,
                            .max_results = (long)max, .output_mode = mode};
    size_t before = out->len;
    if ((rc = env->ops->grep(env, pattern, path, &o, out, err)))
        return rc;
    if (out->len == before)
        return lo_buf_puts(out, "No matches found.\n");
    return 0;
}

static const char OPENAI_DESC[] =
    "Search file contents with a regular expression (ripgrep syntax). Returns matching "
    "lines as path:line:text, sorted by path, at most max_results (default 100). Narrow "
    "the search with path and glob_filter (for example \"*.rs\"). Files ignored by "
    ".gitignore are skipped.";

static const char ANTHROPIC_DESC[] =
    "A content search tool built on ripgrep.\n"
    "- Supports full regular expressions (e.g. \"log.*Error\", \"function\\\\s+\\\\w+\"); "
    "escape literal braces and parentheses.\n"
    "- Filter files with glob_filter (e.g. \"*.js\", \"**/*.tsx\") and choose output_mode: "
    "\"content\" shows matching lines (path:line:text, the default), \"files_with_matches\" "
    "only the paths, \"count\" the number of matching lines per file.\n"
    "- Use this tool for searches instead of running grep or rg in the shell.\n"
    "- Results stop at max_results (default 100); files ignored by .gitignore are skipped.";

static const char GEMINI_DESC[] =
    "Searches for a regular expression pattern within the content of files in a directory "
    "(or a single file), optionally filtered by a glob pattern. Returns the matching lines "
    "with their file paths and line numbers, at most max_results (default 100).";

static const char SCHEMA[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"pattern\":{\"type\":\"string\",\"description\":\"The regular expression to search "
    "for.\"},"
    "\"path\":{\"type\":\"string\",\"description\":\"File or directory to search (default: "
    "the working directory).\"},"
    "\"glob_filter\":{\"type\":\"string\",\"description\":\"Only search files matching this "
    "glob, e.g. \\\"*.py\\\".\"},"
    "\"case_insensitive\":{\"type\":\"boolean\",\"description\":\"Ignore case (default "
    "false).\"},"
    "\"max_results\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"Most results to "
    "return (default 100).\"}%s},"
    "\"required\":[\"pattern\"],\"additionalProperties\":false}";

static const char MODE_PROP[] =
    ",\"output_mode\":{\"type\":\"string\",\"enum\":[\"content\",\"files_with_matches\","
    "\"count\"],\"description\":\"content (matching lines, the default), files_with_matches "
    "(paths only) or count (matches per file).\"}";

int lo_agent_add_grep_(lo_agent_registry *r, lo_agent_flavor f, lo_error *err)
{
    char schema[sizeof SCHEMA + sizeof MODE_PROP];
    snprintf(schema, sizeof schema, SCHEMA, f == LO_FLAVOR_ANTHROPIC ? MODE_PROP : "");
    const char *desc = f == LO_FLAVOR_ANTHROPIC ? ANTHROPIC_DESC
                       : f == LO_FLAVOR_GEMINI  ? GEMINI_DESC
                                                : OPENAI_DESC;
    return lo_agent_tool_register_(r, "grep", desc, schema, run, f, err);
}
