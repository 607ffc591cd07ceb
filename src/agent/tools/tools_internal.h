/* Private to src/agent: what the built-in tools share -- reading their
 * arguments, registering a flavored definition, and the per-tool adders
 * that builtin.c dispatches to. Not part of the public API.
 *
 * A tool's flavor (which provider's reference agent it mirrors) travels in
 * the tool's ud as a pointer to one of three constants, so an executor run
 * without it (a custom registration with ud NULL) still works, in the
 * spec's neutral format. */
#ifndef LO_AGENT_TOOLS_INTERNAL_H
#define LO_AGENT_TOOLS_INTERNAL_H

#include "lightsout/agent.h"

/* The flavor of the tool being run, or -1 when it has none. */
int lo_agent_tool_flavor_(const lo_agent_tool_ctx *ctx);

/* Register name with a description and a schema given as JSON text; the
 * flavor goes into ud. */
int lo_agent_tool_register_(lo_agent_registry *r, const char *name, const char *description,
                            const char *schema_json, lo_agent_tool_fn fn, lo_agent_flavor f,
                            lo_error *err);

/* The environment of ctx, or NULL with err filled. */
lo_agent_env *lo_agent_tool_env_(lo_agent_tool_ctx *ctx, const char *tool, lo_error *err);

/* Arguments. Each returns 0, or LO_EINVAL with a message naming the tool and
 * the argument. An absent optional argument (or JSON null) gives the
 * default. Strings with an embedded NUL are refused. */
int lo_agent_arg_str_(const json_t *args, const char *tool, const char *key, bool required,
                      const char **out, lo_error *err);
int lo_agent_arg_int_(const json_t *args, const char *tool, const char *key, int64_t min,
                      int64_t def, int64_t *out, lo_error *err);
int lo_agent_arg_bool_(const json_t *args, const char *tool, const char *key, bool def,
                       bool *out, lo_error *err);

/* Where a file read for the model is refused: an image or other binary.
 * NULL when data is text; otherwise what it is ("a PNG image", "binary"). */
const char *lo_agent_binary_kind_(const char *path, const char *data, size_t len);

/* The built-in tools, one file each. */
int lo_agent_add_read_file_(lo_agent_registry *r, lo_agent_flavor f, lo_error *err);
int lo_agent_add_write_file_(lo_agent_registry *r, lo_agent_flavor f, lo_error *err);
int lo_agent_add_edit_file_(lo_agent_registry *r, lo_agent_flavor f, lo_error *err);
int lo_agent_add_shell_(lo_agent_registry *r, lo_agent_flavor f, lo_error *err);
int lo_agent_add_grep_(lo_agent_registry *r, lo_agent_flavor f, lo_error *err);
int lo_agent_add_glob_(lo_agent_registry *r, lo_agent_flavor f, lo_error *err);
int lo_agent_add_list_dir_(lo_agent_registry *r, lo_agent_flavor f, lo_error *err);
int lo_agent_add_apply_patch_(lo_agent_registry *r, lo_agent_flavor f, lo_error *err);
int lo_agent_add_read_many_files_(lo_agent_registry *r, lo_agent_flavor f, lo_error *err);

#endif
