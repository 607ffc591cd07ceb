/* Providers for the commands that run agents (see provider_setup.h). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/provider_setup.h"

static int twin_client(provider_setup *p, const char *cmd)
{
    lo_error err = {0};
    lo_twin_config cfg = {.providers = LO_TWIN_ALL & lo_twin_supported(), .port = 0,
                          .tapes = p->tapes, .n_tapes = p->n_tapes};
    if (!(p->twin = lo_twin_start(&cfg, &err))) {
        cli_error(cmd, "--twin: %s", err.msg);
        return err.code == LO_EIO ? EXIT_FAIL : EXIT_USAGE;
    }
    const char *url = lo_twin_base_url(p->twin);
    char v1[256];
    /* the OpenAI adapters expect the /v1 in the base URL, as the SDKs do */
    snprintf(v1, sizeof v1, "%s/v1", url);
    const lo_llm_provider_config providers[] = {
        {.provider = "anthropic", .api_key = PROVIDER_TWIN_KEY, .base_url = url},
        {.provider = "openai", .api_key = PROVIDER_TWIN_KEY, .base_url = v1},
        {.provider = "openai_chat", .api_key = PROVIDER_TWIN_KEY, .base_url = v1},
        {.provider = "gemini", .api_key = PROVIDER_TWIN_KEY, .base_url = url},
    };
    if (!(p->client = lo_llm_client_new())) {
        cli_error(cmd, "out of memory");
        return EXIT_FAIL;
    }
    for (size_t i = 0; i < sizeof providers / sizeof providers[0]; i++) {
        lo_llm_error le;
        if (lo_llm_client_add_provider(p->client, &providers[i], &le)) {
            cli_error(cmd, "--twin: %s", le.message);
            return EXIT_FAIL;
        }
    }
    return 0;
}

int provider_setup_open(provider_setup *p, const char *cmd, const char *const *tapes,
                        size_t n_tapes)
{
    memset(p, 0, sizeof *p);
    lo_error err = {0};
    /* no catalog is not fatal: costs are then unknown, and say so */
    if (lo_llm_catalog_load(NULL, &p->catalog, &err))
        p->catalog = NULL;
    if (n_tapes > PROVIDER_MAX_TAPES) {
        cli_error(cmd, "at most %d --twin tapes", PROVIDER_MAX_TAPES);
        return EXIT_USAGE;
    }
    for (; p->n_tapes < n_tapes; p->n_tapes++)
        if (!(p->tapes[p->n_tapes] = lo_tape_load(tapes[p->n_tapes], &err))) {
            cli_error(cmd, "--twin: %s", err.msg);
            return EXIT_USAGE;
        }
    int rc;
    if (n_tapes) {
        rc = twin_client(p, cmd);
    } else {
        lo_llm_error le;
        rc = lo_llm_client_from_env(&p->client, &le);
        if (rc)
            cli_error(cmd, "%s", le.message);
        rc = rc ? EXIT_USAGE : 0;
    }
    if (!rc && p->client)
        lo_llm_client_set_catalog(p->client, p->catalog);
    return rc;
}

void provider_setup_close(provider_setup *p)
{
    lo_llm_client_free(p->client);
    lo_twin_stop(p->twin);
    for (size_t i = 0; i < p->n_tapes; i++)
        lo_tape_free(p->tapes[i]);
    lo_llm_catalog_free(p->catalog);
    memset(p, 0, sizeof *p);
}
