/* write_file (§3.3): create or replace a whole file, parents included. */
#include <string.h>

#include "agent/tools/tools_internal.h"

static int run(const json_t *args, lo_agent_tool_ctx *ctx, lo_buf *out, lo_error *err)
{
    const char *path, *content;
    int rc = lo_agent_arg_str_(args, "write_file", "file_path", true, &path, err);
    if (!rc && !json_is_string(json_object_get(args, "content")))
        rc = lo_error_set(err, LO_EINVAL, "write_file: the argument content is required "
                                          "(a string; \"\" for an empty file)");
    lo_agent_env *env = rc ? NULL : lo_agent_tool_env_(ctx, "write_file", err);
    if (!env)
        return rc ? rc : LO_EINVAL;
    /* content may hold NUL characters: its length is the JSON string's */
    const json_t *c = json_object_get(args, "content");
    content = json_string_value(c);
    size_t len = json_string_length(c);
    bool existed = env->ops->file_exists(env, path);
    if ((rc = env->ops->write_file(env, path, content, len, err)))
        return rc;
    return lo_buf_printf(out, "%s %s (%zu bytes)\n", existed ? "Overwrote" : "Created", path,
                         len);
}

static const char *const DESC[] = {
    [LO_FLAVOR_OPENAI] =
        "Create a new file, or replace one, with the given content; missing parent "
        "directories are created. Prefer apply_patch for changing existing files.",
    [LO_FLAVOR_ANTHROPIC] =
        "Writes a file to the local filesystem, replacing it if it exists and creating "
        "parent directories as needed.\n"
        "- Read an existing file before overwriting it, and prefer edit_file for changes to "
        "existing files: it sends only what changes.\n"
        "- Do not create documentation or README files unless asked to.",
    [LO_FLAVOR_GEMINI] =
        "Writes content to a file, creating it (and its parent directories) when it does not "
        "exist and overwriting it when it does.",
};

static const char SCHEMA[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"file_path\":{\"type\":\"string\",\"description\":\"Path of the file: absolute, or "
    "relative to the working directory.\"},"
    "\"content\":{\"type\":\"string\",\"description\":\"The whole content of the file.\"}},"
    "\"required\":[\"file_path\",\"content\"],\"additionalProperties\":false}";

int lo_agent_add_write_file_(lo_agent_registry *r, lo_agent_flavor f, lo_error *err)
{
    return lo_agent_tool_register_(r, "write_file", DESC[f], SCHEMA, run, f, err);
}
