/* The built-in tools by name, and each flavor's core set (§3.4-§3.6). */
#include <string.h>

#include "agent/tools/tools_internal.h"

static const struct builtin {
    const char *name;
    int (*add)(lo_agent_registry *r, lo_agent_flavor f, lo_error *err);
} BUILTINS[] = {
    {"read_file", lo_agent_add_read_file_},
    {"write_file", lo_agent_add_write_file_},
    {"edit_file", lo_agent_add_edit_file_},
    {"apply_patch", lo_agent_add_apply_patch_},
    {"shell", lo_agent_add_shell_},
    {"grep", lo_agent_add_grep_},
    {"glob", lo_agent_add_glob_},
    {"list_dir", lo_agent_add_list_dir_},
    {"read_many_files", lo_agent_add_read_many_files_},
};

/* In the order each reference agent presents them. */
static const char *const OPENAI_CORE[] = {"read_file", "apply_patch", "write_file", "shell",
                                          "grep", "glob", NULL};
static const char *const ANTHROPIC_CORE[] = {"read_file", "write_file", "edit_file", "shell",
                                             "grep", "glob", NULL};
static const char *const GEMINI_CORE[] = {"read_file", "read_many_files", "write_file",
                                          "edit_file", "shell", "grep", "glob", "list_dir",
                                          NULL};

int lo_agent_add_builtin(lo_agent_registry *r, const char *name, lo_agent_flavor flavor,
                         lo_error *err)
{
    if (!r)
        return lo_error_set(err, LO_EINVAL, "no registry");
    if (flavor != LO_FLAVOR_OPENAI && flavor != LO_FLAVOR_ANTHROPIC &&
        flavor != LO_FLAVOR_GEMINI)
        return lo_error_set(err, LO_EINVAL, "unknown tool flavor %d", (int)flavor);
    for (size_t i = 0; name && i < sizeof BUILTINS / sizeof *BUILTINS; i++)
        if (strcmp(BUILTINS[i].name, name) == 0)
            return BUILTINS[i].add(r, flavor, err);
    const char *names[sizeof BUILTINS / sizeof *BUILTINS];
    for (size_t i = 0; i < sizeof BUILTINS / sizeof *BUILTINS; i++)
        names[i] = BUILTINS[i].name;
    const char *near = name ? lo_closest(name, names, sizeof names / sizeof *names, 3) : NULL;
    return lo_error_set(err, LO_ENOENT, "no built-in tool named \"%.100s\"%s%s%s",
                        name ? name : "", near ? " (did you mean " : "", near ? near : "",
                        near ? "?)" : "");
}

int lo_agent_add_core_tools(lo_agent_registry *r, lo_agent_flavor flavor, lo_error *err)
{
    const char *const *set = flavor == LO_FLAVOR_OPENAI      ? OPENAI_CORE
                             : flavor == LO_FLAVOR_ANTHROPIC ? ANTHROPIC_CORE
                             : flavor == LO_FLAVOR_GEMINI    ? GEMINI_CORE
                                                             : NULL;
    if (!set)
        return lo_error_set(err, LO_EINVAL, "unknown tool flavor %d", (int)flavor);
    for (; *set; set++) {
        int rc = lo_agent_add_builtin(r, *set, flavor, err);
        if (rc)
            return rc;
    }
    return 0;
}
