/* The model providers a command talks to: the catalog, and a client made
 * from the providers' environment variables, or pointed at an in-process
 * twin serving tapes (--twin) so that nothing leaves the machine. Shared by
 * `lightsout run` and `lightsout agent`. */
#ifndef LO_CLI_PROVIDER_SETUP_H
#define LO_CLI_PROVIDER_SETUP_H

#include "lightsout/llm.h"
#include "lightsout/twin.h"

#define PROVIDER_MAX_TAPES 64

/* The key every provider of a --twin client sends; the twin accepts any. */
#define PROVIDER_TWIN_KEY "lightsout-twin"

typedef struct provider_setup {
    lo_llm_catalog *catalog;     /* NULL when none could be found */
    lo_llm_client *client;
    lo_tape *tapes[PROVIDER_MAX_TAPES];
    size_t n_tapes;
    lo_twin *twin;               /* with --twin */
} provider_setup;

/* Load the catalog, then the tapes and start a twin of every provider on
 * an ephemeral loopback port when n_tapes > 0, else read the environment.
 * Returns 0, or an exit code after printing the error (EXIT_USAGE for a bad
 * tape, EXIT_FAIL when the twin cannot start). */
int provider_setup_open(provider_setup *p, const char *cmd, const char *const *tapes,
                        size_t n_tapes);
void provider_setup_close(provider_setup *p);

#endif
