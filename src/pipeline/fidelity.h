#ifndef LO_FIDELITY_H
#define LO_FIDELITY_H

#include "lightsout/engine.h"

/* Mode: the incoming edge's fidelity, the node's, the graph's default, else
 * "compact" (§5.4). */
const char *lo_fidelity_resolve(const lo_graph *g, const lo_node *n, const lo_edge *in);
/* Thread key for "full": node thread_id, edge thread_id, the subgraph's
 * derived class, else the previous node's id. */
const char *lo_thread_resolve(const lo_node *n, const lo_edge *in, const char *prev);
/* The carry-over text for mode ("" for full). Caller frees. */
char *lo_preamble_build(const lo_graph *g, const char *run_id, const char *mode,
                        const json_t *completed, const json_t *outcomes, const lo_context *ctx);

#endif
