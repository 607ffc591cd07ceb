/* Backends for run and resume (see run_backend.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/run_backend.h"
#include "lightsout/proc.h"

static json_t *choice_of(const char *force, const char *const *tapes, size_t n, bool sandbox)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        char abs[PATH_MAX];
        json_array_append_new(arr, json_string(realpath(tapes[i], abs) ? abs : tapes[i]));
    }
    return json_pack("{s:s?, s:o, s:b}", "backend", force, "twin", arr, "agent_sandbox", sandbox);
}

int run_backend_open(run_backend *rb, const char *cmd, const lo_graph *g, const char *force,
                     const char *const *tapes, size_t n_tapes, bool sandbox, const json_t *recorded)
{
    memset(rb, 0, sizeof *rb);
    if (!force && !n_tapes && !sandbox && json_is_object(recorded))
        rb->choice = json_deep_copy(recorded);
    if (!rb->choice)
        rb->choice = choice_of(force, tapes, n_tapes, sandbox);
    if (rb->choice)
        rb->manifest_extra = json_pack("{s:O}", "backend_choice", rb->choice);
    if (!rb->choice || !rb->manifest_extra) {
        cli_error(cmd, "out of memory");
        return EXIT_FAIL;
    }
    force = json_string_value(json_object_get(rb->choice, "backend"));
    if (force && (!lo_backend_name_valid(force))) {
        cli_error(cmd, "unknown backend '%s' (known: api, cli, sim; twin is api against --twin)",
                  force);
        return EXIT_USAGE;
    }
    sandbox = json_is_true(json_object_get(rb->choice, "agent_sandbox"));
    char why[512];
    if (sandbox && !lo_sandbox_available(why, sizeof why)) {
        cli_error(cmd, "preflight: --agent-sandbox needs bubblewrap (Debian package bubblewrap), "
                  "which cannot run here: %s", why);
        return EXIT_USAGE;
    }
    const json_t *tj = json_object_get(rb->choice, "twin");
    const char *paths[PROVIDER_MAX_TAPES];
    size_t n = 0;
    for (; n < json_array_size(tj) && n < PROVIDER_MAX_TAPES; n++)
        paths[n] = json_string_value(json_array_get(tj, n));
    int code = provider_setup_open(&rb->ps, cmd, paths, n);
    if (code)
        return code;
    lo_backend_setup s = {
        .force = force, .client = rb->ps.client, .catalog = rb->ps.catalog,
        .twin_url = rb->ps.twin ? lo_twin_base_url(rb->ps.twin) : NULL,
        .twin_key = PROVIDER_TWIN_KEY, .sandbox = sandbox,
    };
    lo_buf problems;
    lo_buf_init(&problems, 0);
    if (lo_backend_preflight(g, &s, &problems)) {
        for (char *line = problems.data, *nl; line && *line; line = nl + 1) {
            nl = strchr(line, '\n');
            *nl = '\0';
            cli_error(cmd, "preflight: %s", line);
        }
        lo_buf_release(&problems);
        return EXIT_USAGE;
    }
    lo_buf_release(&problems);
    lo_error err = {0};
    if (!(rb->router = lo_backend_router_new(&s, &err))) {
        cli_error(cmd, "%s", err.msg);
        return EXIT_FAIL;
    }
    if (rb->ps.twin)
        fprintf(stderr, "lightsout %s: twin of every provider at %s serving %zu tape%s; the api "
                "backend runs offline against it\n", cmd, s.twin_url, n, n == 1 ? "" : "s");
    return 0;
}

void run_backend_close(run_backend *rb)
{
    lo_backend_free(rb->router);
    provider_setup_close(&rb->ps);
    json_decref(rb->choice);
    json_decref(rb->manifest_extra);
    memset(rb, 0, sizeof *rb);
}
