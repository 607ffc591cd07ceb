/* The codergen backends of `lightsout run` and `resume`: --backend and
 * --twin, the preflight of every codergen stage, the router the engine is
 * given, and the choice recorded in manifest.json ("backend_choice"), which
 * lets a resumed run use the same backends without the flags. */
#ifndef LO_CLI_RUN_BACKEND_H
#define LO_CLI_RUN_BACKEND_H

#include "cli/provider_setup.h"
#include "lightsout/backend.h"

typedef struct run_backend {
    provider_setup ps;
    lo_backend *router;
    json_t *choice;          /* {"backend": NAME|null, "twin": [tape paths]} */
    json_t *manifest_extra;  /* {"backend_choice": choice}, for lo_engine_config */
} run_backend;

/* force: --backend (NULL = per node); tapes: --twin; recorded: for a
 * resume, the manifest's backend_choice, which applies when neither flag is
 * given (NULL for a new run); sandbox: --agent-sandbox, the api backend's
 * commands under bubblewrap. Prints what is wrong and returns an exit code,
 * or 0. */
int run_backend_open(run_backend *rb, const char *cmd, const lo_graph *g, const char *force,
                     const char *const *tapes, size_t n_tapes, bool sandbox,
                     const json_t *recorded);
void run_backend_close(run_backend *rb);

#endif
