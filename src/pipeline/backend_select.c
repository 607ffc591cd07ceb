/* Which backend and provider a codergen node gets, the preflight that checks
 * every node can run before the first stage does, and the router the engine
 * is given (lightsout/backend.h states the rules). */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lightsout/backend.h"
#include "lightsout/proc.h"
#include "pipeline/backend_internal.h"

static const char *const backend_names[] = {"api", "cli", "sim", "twin"};

/* The providers a run defaults to, in order, and the variable of each. */
static const struct {
    const char *provider, *key_env;
} providers[] = {
    {"anthropic", "ANTHROPIC_API_KEY"},
    {"openai", "OPENAI_API_KEY"},
    {"gemini", "GEMINI_API_KEY"},
    {"openai_chat", "OPENAI_API_KEY"},
};
#define N_DEFAULT_PROVIDERS 3

bool lo_backend_name_valid(const char *name)
{
    for (size_t i = 0; i < sizeof backend_names / sizeof backend_names[0]; i++)
        if (lo_str_eq(name, backend_names[i]))
            return true;
    return false;
}

const char *lo_backend_key_env(const char *provider)
{
    for (size_t i = 0; i < sizeof providers / sizeof providers[0]; i++)
        if (lo_str_eq(provider, providers[i].provider))
            return providers[i].key_env;
    return NULL;
}

const char *backend_attr(const lo_graph *g, const lo_node *n, const char *key)
{
    const lo_attr *a = n ? lo_attrs_get(&n->attrs, key) : NULL;
    if (!a || !*a->value.text)
        a = lo_attrs_get(&g->attrs, key);
    return a && *a->value.text ? a->value.text : NULL;
}

static bool has_any_provider(const lo_backend_setup *s)
{
    for (size_t i = 0; i < sizeof providers / sizeof providers[0]; i++)
        if (lo_llm_client_has_provider(s->client, providers[i].provider))
            return true;
    return false;
}

static const char *default_backend(const lo_backend_setup *s)
{
    return has_any_provider(s) ? "api" : NULL;
}

const char *lo_backend_for_node(const lo_graph *g, const lo_node *n, const lo_backend_setup *s)
{
    if (s->force)
        return s->force;
    const char *b = backend_attr(g, n, "backend");
    return b ? b : default_backend(s);
}

int lo_backend_node_provider(const lo_graph *g, const lo_node *n, const lo_backend_setup *s,
                             char *out, size_t n_out, lo_error *err)
{
    const char *p = backend_attr(g, n, "llm_provider");
    const char *model = backend_attr(g, n, "llm_model");
    if (!p && model) {
        const lo_llm_model *m = lo_llm_model_find(s->catalog, model);
        p = m ? m->provider : NULL;
    }
    for (size_t i = 0; !p && i < N_DEFAULT_PROVIDERS; i++)
        if (lo_llm_client_has_provider(s->client, providers[i].provider))
            p = providers[i].provider;
    if (!p) {
        if (model)
            return lo_error_set(err, LO_ENOENT, "no provider for model '%s': it is not in the "
                                "model catalog and no provider is configured; set llm_provider",
                                model);
        return lo_error_set(err, LO_ENOENT, "no provider is configured");
    }
    snprintf(out, n_out, "%s", p);
    return 0;
}

/* Nodes a backend answers for: codergen stages, and fan-ins that ask a
 * model to choose (those with a prompt). */
static bool uses_backend(const lo_node *n)
{
    const char *type = lo_node_handler_type(n);
    if (!strcmp(type, "codergen"))
        return true;
    return !strcmp(type, "parallel.fan_in") && *lo_node_str(n, "prompt");
}

static void problem(lo_buf *b, size_t *count, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(lo_buf *b, size_t *count, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lo_buf_vprintf(b, fmt, ap);
    va_end(ap);
    lo_buf_putc(b, '\n');
    (*count)++;
}

static void check_api(const lo_graph *g, const lo_node *n, const lo_backend_setup *s,
                      const char *name, lo_buf *b, size_t *count)
{
    if (!strcmp(name, "twin") && !s->twin_url) {
        problem(b, count, "node '%s' uses backend twin, but the run has no twin: give --twin "
                "TAPE", n->id);
        return;
    }
    char p[32];
    lo_error err;
    if (lo_backend_node_provider(g, n, s, p, sizeof p, &err)) {
        problem(b, count, "node '%s': %s (set ANTHROPIC_API_KEY, OPENAI_API_KEY or "
                "GEMINI_API_KEY, or give --twin TAPE)", n->id, err.msg);
        return;
    }
    const char *env = lo_backend_key_env(p);
    if (!env)
        problem(b, count, "node '%s': unknown llm_provider '%s' (known: anthropic, openai, "
                "gemini, openai_chat)", n->id, p);
    else if (!lo_llm_client_has_provider(s->client, p))
        problem(b, count, "node '%s' uses provider %s, which is not configured: set %s%s", n->id,
                p, env, s->twin_url ? "" : " (or give --twin TAPE)");
}

static void check_cli(const lo_graph *g, const lo_node *n, lo_buf *b, size_t *count)
{
    lo_cli_agent agent;
    char prog[256];
    lo_error err;
    char **argv = lo_cli_command(g, n, &agent, prog, sizeof prog, &err);
    if (!argv) {
        problem(b, count, "node '%s': %s", n->id, err.msg);
        return;
    }
    char path[PATH_MAX];
    /* a relative path is the stage's working directory's business */
    bool checkable = *prog && (prog[0] == '/' || !strchr(prog, '/'));
    if (checkable && !lo_which(prog, path, sizeof path))
        problem(b, count, "node '%s' runs the %s CLI as '%s', which is not on PATH", n->id,
                lo_cli_agent_name(agent), prog);
    lo_cli_argv_free(argv);
}

size_t lo_backend_preflight(const lo_graph *g, const lo_backend_setup *s, lo_buf *problems)
{
    size_t count = 0;
    lo_buf unset;
    lo_buf_init(&unset, 0);
    size_t n_unset = 0;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const lo_node *n = g->nodes[i];
        if (!uses_backend(n))
            continue;
        const char *name = lo_backend_for_node(g, n, s);
        if (!name) {
            lo_buf_printf(&unset, "%s%s", n_unset++ ? ", " : "", n->id);
        } else if (!lo_backend_name_valid(name)) {
            problem(problems, &count, "node '%s': unknown backend '%s' (known: api, cli, sim, "
                    "twin)", n->id, name);
        } else if (!strcmp(name, "api") || !strcmp(name, "twin")) {
            check_api(g, n, s, name, problems, &count);
        } else if (!strcmp(name, "cli")) {
            check_cli(g, n, problems, &count);
        }
    }
    if (n_unset)
        problem(problems, &count, "no provider is configured for the codergen stage%s %s: set "
                "ANTHROPIC_API_KEY, OPENAI_API_KEY or GEMINI_API_KEY, give --twin TAPE to run "
                "against a twin, or --backend sim to simulate on purpose",
                n_unset == 1 ? "" : "s", unset.data);
    lo_buf_release(&unset);
    return count;
}

/* ---- the router ---- */

typedef struct router {
    lo_backend self;
    lo_backend_setup setup;
    lo_backend *sim, *cli, *api;
} router;

static lo_backend *router_select(lo_backend *b, const lo_stage *st, lo_error *err)
{
    router *r = b->ud;
    const char *name = lo_backend_for_node(st->graph, st->node, &r->setup);
    if (!name) {
        lo_error_set(err, LO_EINVAL, "node '%s' has no backend: no provider is configured",
                     st->node->id);
        return NULL;
    }
    lo_backend *chosen = !strcmp(name, "sim")   ? r->sim
                         : !strcmp(name, "cli") ? r->cli
                         : !strcmp(name, "api") || (!strcmp(name, "twin") && r->setup.twin_url)
                             ? r->api
                             : NULL;
    if (!chosen)
        lo_error_set(err, LO_EINVAL, "node '%s': backend '%s' is not available in this run",
                     st->node->id, name);
    return chosen;
}

/* For callers that run the router like any backend (the fan-in's choice). */
static int router_run(lo_backend *b, lo_stage *st, const char *prompt, lo_buf *response,
                      lo_outcome *out, bool *has_outcome, lo_error *err)
{
    lo_backend *chosen = router_select(b, st, err);
    if (!chosen)
        return err ? err->code : LO_EINVAL;
    return chosen->run(chosen, st, prompt, response, out, has_outcome, err);
}

static void router_destroy(lo_backend *b)
{
    router *r = b->ud;
    lo_backend_free(r->sim);
    lo_backend_free(r->cli);
    lo_backend_free(r->api);
    free(r);
}

lo_backend *lo_backend_router_new(const lo_backend_setup *s, lo_error *err)
{
    router *r = lo_calloc(1, sizeof *r);
    if (!r) {
        lo_error_set(err, LO_ENOMEM, "out of memory");
        return NULL;
    }
    r->setup = *s;
    r->self.name = s->force ? s->force : default_backend(s) ? default_backend(s) : "per-node";
    r->self.run = router_run;
    r->self.select = router_select;
    r->self.destroy = router_destroy;
    r->self.ud = r;
    r->sim = lo_backend_sim();
    r->cli = r->sim ? lo_backend_cli(&r->setup, err) : NULL;
    if (r->cli && s->client && !(r->api = lo_backend_api(&r->setup, err))) {
        router_destroy(&r->self);
        return NULL;
    }
    if (!r->sim || !r->cli) {
        if (!r->sim)
            lo_error_set(err, LO_ENOMEM, "out of memory");
        router_destroy(&r->self);
        return NULL;
    }
    return &r->self;
}

lo_backend *lo_backend_pick(lo_backend *b, const lo_stage *st, lo_error *err)
{
    return b->select ? b->select(b, st, err) : b;
}
