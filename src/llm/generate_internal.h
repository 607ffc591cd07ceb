/* Shared by the high-level calls (generate.c, tools.c, object.c). Private
 * to src/llm. */
#ifndef LO_LLM_GENERATE_INTERNAL_H
#define LO_LLM_GENERATE_INTERNAL_H

#include "lightsout/llm.h"

/* The tool req defines under name, or NULL. */
const lo_llm_tool *lo_llm_find_tool_(const lo_llm_request *req, const char *name);
/* The handler for name (one with an execute function), or NULL. */
const lo_llm_tool_handler *lo_llm_find_handler_(const lo_llm_generate_opts *o, const char *name);
/* Release what a tool result holds (not the struct itself). */
void lo_llm_tool_result_release_(lo_llm_tool_result *r);

/* Answer the n calls of one response: *out gets n results in call order
 * (free each with lo_llm_tool_result_release_, then the array). Handlers
 * run at once on threads; unknown tools and arguments that are not an
 * object or fail the tool's schema get error results. Fails only for a
 * schema the validator cannot read (LO_EINVAL), a cancel (LO_ECANCELED)
 * or no memory. */
int lo_llm_run_tools_(const lo_llm_request *conv, const lo_llm_generate_opts *o,
                      const lo_llm_tool_call *const *calls, size_t n, const atomic_bool *cancel,
                      lo_llm_tool_result **out, lo_llm_error *err);

#endif
