/* The built-in node handlers (attractor-spec §4), one file each. */
#ifndef LO_HANDLERS_BUILTIN_H
#define LO_HANDLERS_BUILTIN_H

#include "lightsout/engine.h"

int lo_handler_start(lo_stage *st, lo_outcome *out, void *ud, lo_error *err);
int lo_handler_exit(lo_stage *st, lo_outcome *out, void *ud, lo_error *err);
int lo_handler_conditional(lo_stage *st, lo_outcome *out, void *ud, lo_error *err);
int lo_handler_codergen(lo_stage *st, lo_outcome *out, void *ud, lo_error *err);
int lo_handler_wait_human(lo_stage *st, lo_outcome *out, void *ud, lo_error *err);
/* parallel (§4.8, parallel.c): runs every outgoing edge as a branch in its
 * own thread up to the join; sets "parallel.results" and "parallel.join". */
int lo_handler_parallel(lo_stage *st, lo_outcome *out, void *ud, lo_error *err);
/* parallel.fan_in (§4.9, fan_in.c): picks the best of "parallel.results". */
int lo_handler_fan_in(lo_stage *st, lo_outcome *out, void *ud, lo_error *err);
/* tool (§4.10): runs the node's tool_command with /bin/sh -c in the run's
 * workdir, bounded by the node's timeout and stall_timeout and the run's
 * cancel flag; SUCCESS on exit status 0. */
int lo_handler_tool(lo_stage *st, lo_outcome *out, void *ud, lo_error *err);
/* stack.manager_loop (§4.11, manager_loop.c): starts the graph's
 * stack.child_dotfile as a child lightsout process (or observes a child run
 * directory), mirrors its checkpoint into stack.child.* and ends when the
 * child ends, the stop condition holds, or the cycles run out. */
int lo_handler_manager_loop(lo_stage *st, lo_outcome *out, void *ud, lo_error *err);

/* Write text to {stage_dir}/name atomically. */
int lo_stage_write(const lo_stage *st, const char *name, const char *text, lo_error *err);

#endif
