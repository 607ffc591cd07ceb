/* list_dir (gemini-cli's list_directory, with depth): what is in a
 * directory, directories marked, file sizes shown. */
#include "agent/tools/tools_internal.h"

enum { MAX_DEPTH = 10 };

static int run(const json_t *args, lo_agent_tool_ctx *ctx, lo_buf *out, lo_error *err)
{
    const char *path;
    int64_t depth;
    int rc = lo_agent_arg_str_(args, "list_dir", "path", false, &path, err);
    rc = rc ? rc : lo_agent_arg_int_(args, "list_dir", "depth", 1, 1, &depth, err);
    lo_agent_env *env = rc ? NULL : lo_agent_tool_env_(ctx, "list_dir", err);
    if (!env)
        return rc ? rc : LO_EINVAL;
    if (!env->ops->list_dir)
        return lo_error_set(err, LO_EINVAL, "list_dir: the %s environment cannot list",
                            env->ops->name);
    if (!path || !*path)
        path = ".";
    lo_agent_dir_entry *v;
    size_t n;
    if ((rc = env->ops->list_dir(env, path, depth > MAX_DEPTH ? MAX_DEPTH : (int)depth, &v, &n,
                                 err)))
        return rc;
    rc = n ? 0 : lo_buf_printf(out, "%s is empty.\n", path);
    for (size_t i = 0; i < n && !rc; i++)
        rc = v[i].is_dir ? lo_buf_printf(out, "[DIR] %s/\n", v[i].name)
             : v[i].size >= 0 ? lo_buf_printf(out, "%s (%lld bytes)\n", v[i].name,
                                              (long long)v[i].size)
                              : lo_buf_printf(out, "%s\n", v[i].name);
    lo_agent_dir_entries_free(v, n);
    return rc ? lo_error_set(err, LO_ENOMEM, "list_dir: out of memory") : 0;
}

static const char DESC[] =
    "Lists the files and subdirectories of a directory (default: the working directory), "
    "sorted by name; directories are shown as \"[DIR] name/\", files with their size. depth "
    "(default 1, at most 10) lists that many levels down, each entry's path relative to "
    "the listed directory. The .git directory is not entered.";

static const char SCHEMA[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"path\":{\"type\":\"string\",\"description\":\"Directory to list (default: the working "
    "directory).\"},"
    "\"depth\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10,\"description\":\"How many "
    "levels to list (default 1).\"}},"
    "\"additionalProperties\":false}";

int lo_agent_add_list_dir_(lo_agent_registry *r, lo_agent_flavor f, lo_error *err)
{
    return lo_agent_tool_register_(r, "list_dir", DESC, SCHEMA, run, f, err);
}
