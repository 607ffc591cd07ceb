/* Node handlers declared one a file as they are written; builtin.h holds the
 * core ones and lo_register_builtin_handlers registers them by type string. */
#ifndef LO_HANDLERS_HANDLERS_H
#define LO_HANDLERS_HANDLERS_H

#include "lightsout/engine.h"

/* tool (§4.10, src/pipeline/handlers/tool.c): runs the node's tool_command
 * with /bin/sh -c in the run's workdir, bounded by the node's timeout and
 * stall_timeout and the run's cancel flag; SUCCESS on exit status 0. */
int lo_handler_tool(lo_stage *st, lo_outcome *out, void *ud, lo_error *err);

#endif
