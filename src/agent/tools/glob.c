/* glob (§3.3): files by name pattern, newest first. */
#include "agent/tools/tools_internal.h"

static int run(const json_t *args, lo_agent_tool_ctx *ctx, lo_buf *out, lo_error *err)
{
    const char *pattern, *path;
    int rc = lo_agent_arg_str_(args, "glob", "pattern", true, &pattern, err);
    rc = rc ? rc : lo_agent_arg_str_(args, "glob", "path", false, &path, err);
    lo_agent_env *env = rc ? NULL : lo_agent_tool_env_(ctx, "glob", err);
    if (!env)
        return rc ? rc : LO_EINVAL;
    if (!env->ops->glob)
        return lo_error_set(err, LO_EINVAL, "glob: the %s environment cannot search",
                            env->ops->name);
    size_t before = out->len;
    if ((rc = env->ops->glob(env, pattern, path, out, err)))
        return rc;
    if (out->len == before)
        return lo_buf_puts(out, "No files matched.\n");
    return 0;
}

static const char *const DESC[] = {
    [LO_FLAVOR_OPENAI] =
        "Find files whose path matches a glob pattern (\"**/*.rs\", \"src/*.{c,h}\"), "
        "relative to path (default: the working directory). Lists paths one a line, most "
        "recently modified first; .gitignore'd files are left out.",
    [LO_FLAVOR_ANTHROPIC] =
        "Fast file pattern matching for any size of codebase.\n"
        "- Supports glob patterns like \"**/*.js\" or \"src/**/*.{ts,tsx}\"; \"*\" does not "
        "cross directories, \"**\" does.\n"
        "- Returns matching file paths sorted by modification time, newest first; files "
        "ignored by .gitignore are left out.\n"
        "- Use it to find files by name; use grep to search their contents.",
    [LO_FLAVOR_GEMINI] =
        "Efficiently finds files matching specific glob patterns (e.g. \"src/**/*.ts\", "
        "\"**/*.md\"), returning paths sorted by modification time (newest first). Ideal for "
        "locating files by name or path structure. Respects .gitignore.",
};

static const char SCHEMA[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"pattern\":{\"type\":\"string\",\"description\":\"The glob pattern, e.g. "
    "\\\"**/*.py\\\".\"},"
    "\"path\":{\"type\":\"string\",\"description\":\"Directory to search in (default: the "
    "working directory).\"}},"
    "\"required\":[\"pattern\"],\"additionalProperties\":false}";

int lo_agent_add_glob_(lo_agent_registry *r, lo_agent_flavor f, lo_error *err)
{
    return lo_agent_tool_register_(r, "glob", DESC[f], SCHEMA, run, f, err);
}
