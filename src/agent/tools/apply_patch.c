/* apply_patch (§3.4, Appendix A): codex's file editing format, the native
 * one for OpenAI models. The work is lo_agent_apply_patch (patch.c). */
#include "agent/tools/tools_internal.h"

static int run(const json_t *args, lo_agent_tool_ctx *ctx, lo_buf *out, lo_error *err)
{
    const char *patch;
    int rc = lo_agent_arg_str_(args, "apply_patch", "patch", true, &patch, err);
    lo_agent_env *env = rc ? NULL : lo_agent_tool_env_(ctx, "apply_patch", err);
    if (!env)
        return rc ? rc : LO_EINVAL;
    return lo_agent_apply_patch(env, patch, out, err);
}

static const char DESC[] =
    "Edit files with a patch. The patch is plain text between \"*** Begin Patch\" and "
    "\"*** End Patch\" lines, holding one or more file operations:\n"
    "*** Add File: <path> -- then the new file's lines, each prefixed with +\n"
    "*** Delete File: <path> -- nothing follows\n"
    "*** Update File: <path> -- optionally followed by \"*** Move to: <new path>\", then "
    "one or more hunks\n"
    "A hunk starts with a line \"@@\" or \"@@ <a line near the change>\" (such as the "
    "enclosing function's signature), then the lines of that region: unchanged lines "
    "prefixed with a space, removed lines with -, added lines with +. Show about three "
    "unchanged lines above and below each change so the place is unambiguous; when a hunk "
    "ends the file, follow it with \"*** End of File\". Paths are relative to the working "
    "directory. Example:\n"
    "*** Begin Patch\n"
    "*** Update File: src/app.py\n"
    "@@ def main():\n"
    "     args = parse()\n"
    "-    run(args)\n"
    "+    return run(args)\n"
    "*** End Patch\n"
    "The patch applies completely or not at all: if any hunk does not fit, no file is "
    "changed and the error says which hunk and why.";

static const char SCHEMA[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"patch\":{\"type\":\"string\",\"description\":\"The whole patch, from \\\"*** Begin "
    "Patch\\\" to \\\"*** End Patch\\\".\"}},"
    "\"required\":[\"patch\"],\"additionalProperties\":false}";

int lo_agent_add_apply_patch_(lo_agent_registry *r, lo_agent_flavor f, lo_error *err)
{
    return lo_agent_tool_register_(r, "apply_patch", DESC, SCHEMA, run, f, err);
}
