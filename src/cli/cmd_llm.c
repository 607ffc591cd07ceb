/* lightsout llm: one model call from the command line (unified-llm-spec
 * §4.3 through lo_llm_generate). The answer goes to stdout, alone; the
 * tokens and cost go to stderr, so `lightsout llm ... > answer.txt` keeps
 * just the answer. --json prints one object with everything instead. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lightsout/llm.h"

static const cli_flag flags[] = {
    {"model", 'm', "MODEL", "model id or alias (default: see below)"},
    {"provider", 'p', "PROVIDER", "anthropic, openai, gemini or openai_chat"},
    {"system", 's', "TEXT", "a system prompt"},
    {"stream", 0, NULL, "print the answer as it arrives"},
    {"json", 0, NULL, "one JSON object: text, model, provider, usage, cost_usd"},
    {"max-tokens", 0, "N", "at most N output tokens"},
    {"temperature", 't', "NUM", "sampling temperature"},
    {"reasoning-effort", 'r', "E", "none, minimal, low, medium, high, xhigh"},
    {0},
};

enum { F_MODEL, F_PROVIDER, F_SYSTEM, F_STREAM, F_JSON, F_MAX_TOKENS, F_TEMPERATURE, F_EFFORT };

typedef struct opts {
    const char *model, *provider, *system, *effort;
    bool stream, json;
    bool has_max_tokens, has_temperature;
    int64_t max_tokens;
    double temperature;
} opts;

static int on_flag(int idx, const char *arg, void *ud)
{
    opts *o = ud;
    switch (idx) {
    case F_MODEL:
        o->model = arg;
        break;
    case F_PROVIDER:
        o->provider = arg; /* checked in run(), after --help had its chance */
        break;
    case F_SYSTEM:
        o->system = arg;
        break;
    case F_STREAM:
        o->stream = true;
        break;
    case F_JSON:
        o->json = true;
        break;
    case F_MAX_TOKENS:
        if (lo_parse_int64(arg, &o->max_tokens) != 0 || o->max_tokens < 1) {
            cli_error("llm", "--max-tokens wants a positive integer, not '%s'", arg);
            return EXIT_USAGE;
        }
        o->has_max_tokens = true;
        break;
    case F_TEMPERATURE:
        if (lo_parse_double(arg, &o->temperature) != 0 || o->temperature < 0) {
            cli_error("llm", "--temperature wants a number of 0 or more, not '%s'", arg);
            return EXIT_USAGE;
        }
        o->has_temperature = true;
        break;
    case F_EFFORT:
        o->effort = arg;
        break;
    }
    return 0;
}

static atomic_bool interrupted;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&interrupted, true);
}

/* The prompt: the operands joined by spaces, else all of stdin. */
static char *read_prompt(int nops, char **argv)
{
    lo_buf b;
    lo_buf_init(&b, (size_t)64 << 20);
    if (nops > 0) {
        for (int i = 1; i <= nops; i++)
            if ((i > 1 && lo_buf_putc(&b, ' ') != 0) || lo_buf_puts(&b, argv[i]) != 0)
                goto fail;
    } else {
        char chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
            if (lo_buf_append(&b, chunk, n) != 0)
                goto fail;
        if (ferror(stdin))
            goto fail;
    }
    return lo_buf_steal(&b);
fail:
    lo_buf_release(&b);
    return NULL;
}

static bool blank(const char *s)
{
    for (; s && *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

/* The model to ask when none is named: the catalog's first for the
 * provider (named, else the first configured in a fixed order). */
static const char *default_model(const opts *o, const lo_llm_client *c, const lo_llm_catalog *cat,
                                 const char **provider)
{
    static const char *const order[] = {"anthropic", "openai", "gemini"};
    *provider = o->provider;
    for (size_t i = 0; !*provider && i < sizeof order / sizeof *order; i++)
        if (lo_llm_client_has_provider(c, order[i]))
            *provider = order[i];
    if (!*provider || !cat)
        return NULL;
    const lo_llm_model *m = lo_llm_model_latest(cat, *provider, NULL);
    return m ? m->id : NULL;
}

static int on_event(const lo_llm_stream_event *ev, void *ud)
{
    const opts *o = ud;
    if (ev->type == LO_STREAM_TEXT_DELTA && ev->delta && !o->json) {
        fputs(ev->delta, stdout);
        fflush(stdout);
    }
    return atomic_load(&interrupted) ? 1 : 0;
}

/* Cost of every step at today's prices; false when any is unknown. */
static bool total_cost(const lo_llm_result *r, const lo_llm_catalog *cat, const char *model,
                       double *usd)
{
    *usd = 0;
    for (size_t i = 0; i < r->n_steps; i++) {
        const lo_llm_response *resp = r->steps[i].response;
        /* the provider may report a dated version the catalog lists as an alias */
        const lo_llm_model *m = cat && resp->model ? lo_llm_model_find(cat, resp->model) : NULL;
        if (!m && cat)
            m = lo_llm_model_find(cat, model);
        double one;
        if (lo_llm_cost(m, &resp->usage, &one) != 0)
            return false;
        *usd += one;
    }
    return true;
}

static json_t *count(int64_t v)
{
    return v == LO_TOKENS_UNREPORTED ? json_null() : json_integer(v);
}

static void print_json(const lo_llm_result *r, const char *model, const char *provider,
                       bool cost_known, double usd)
{
    const lo_llm_usage *u = &r->total_usage;
    json_t *o = json_pack("{s:s, s:s, s:s, s:s?, s:{s:o, s:o, s:o, s:o, s:o, s:o}, s:o, s:i}",
                          "text", r->text, "model", r->response->model ? r->response->model : model,
                          "provider", provider, "finish", lo_llm_finish_name(r->finish), "usage",
                          "input_tokens", count(u->input_tokens), "output_tokens",
                          count(u->output_tokens), "total_tokens", count(u->total_tokens),
                          "reasoning_tokens", count(u->reasoning_tokens), "cache_read_tokens",
                          count(u->cache_read_tokens), "cache_write_tokens",
                          count(u->cache_write_tokens), "cost_usd",
                          cost_known ? json_real(usd) : json_null(), "steps", (int)r->n_steps);
    if (!o) {
        cli_error("llm", "cannot render the answer as JSON");
        return;
    }
    if (r->response->id)
        json_object_set_new(o, "id", json_string(r->response->id));
    json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    fputc('\n', stdout);
    json_decref(o);
}

/* "claude-sonnet-4-5 (anthropic): 12 input + 30 output tokens, $0.000486" */
static void print_usage_line(const lo_llm_result *r, const char *model, const char *provider,
                             bool cost_known, double usd)
{
    const lo_llm_usage *u = &r->total_usage;
    char extra[160] = "";
    size_t n = 0;
    if (u->cache_read_tokens > 0)
        n += (size_t)snprintf(extra + n, sizeof extra - n, ", %lld cache read",
                              (long long)u->cache_read_tokens);
    if (u->cache_write_tokens > 0 && n < sizeof extra)
        n += (size_t)snprintf(extra + n, sizeof extra - n, ", %lld cache write",
                              (long long)u->cache_write_tokens);
    if (u->reasoning_tokens > 0 && n < sizeof extra)
        snprintf(extra + n, sizeof extra - n, ", %lld of them reasoning",
                 (long long)u->reasoning_tokens);
    char cost[64];
    if (cost_known)
        snprintf(cost, sizeof cost, "$%.6f", usd);
    else
        snprintf(cost, sizeof cost, "cost unknown");
    fprintf(stderr, "%s (%s): %lld input + %lld output tokens%s; %s\n",
            r->response->model ? r->response->model : model, provider,
            (long long)(u->input_tokens < 0 ? 0 : u->input_tokens),
            (long long)(u->output_tokens < 0 ? 0 : u->output_tokens), extra, cost);
}

static lo_llm_request *build_request(const opts *o, const char *model, const char *provider)
{
    lo_llm_request *r = lo_llm_request_new(model);
    if (!r)
        return NULL;
    bool ok = (!provider || (r->provider = lo_strdup(provider))) &&
              (!o->effort || (r->reasoning_effort = lo_strdup(o->effort)));
    r->has_max_tokens = o->has_max_tokens;
    r->max_tokens = o->max_tokens;
    r->has_temperature = o->has_temperature;
    r->temperature = o->temperature;
    if (!ok) {
        lo_llm_request_free(r);
        return NULL;
    }
    return r;
}

static int ask(const opts *o, lo_llm_client *c, const lo_llm_catalog *cat, const char *prompt)
{
    const char *provider = o->provider;
    const char *model = o->model ? o->model : default_model(o, c, cat, &provider);
    if (!model) {
        if (provider)
            cli_error("llm", "no model for provider %s: name one with --model", provider);
        else
            cli_error("llm", "no LLM provider is configured: set ANTHROPIC_API_KEY, "
                             "OPENAI_API_KEY or GEMINI_API_KEY (or OPENAI_CHAT_BASE_URL), or "
                             "name --provider and --model");
        return EXIT_USAGE;
    }
    lo_llm_request *req = build_request(o, model, provider);
    lo_llm_error err;
    const char *resolved = req ? lo_llm_client_resolve(c, req, &err) : NULL;
    if (!resolved) {
        cli_error("llm", "%s", req ? err.message : "out of memory");
        lo_llm_request_free(req);
        return EXIT_USAGE;
    }
    lo_llm_generate_opts go;
    lo_llm_generate_opts_init(&go);
    go.prompt = prompt;
    go.system = o->system;
    go.cancel = &interrupted;
    lo_llm_result *res = NULL;
    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    int rc = o->stream ? lo_llm_generate_stream(c, req, &go, on_event, (void *)o, &res, &err)
                       : lo_llm_generate(c, req, &go, &res, &err);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    lo_llm_request_free(req);
    if (rc) {
        if (o->stream && !o->json)
            fputc('\n', stdout);
        if (rc == LO_ECANCELED && atomic_load(&interrupted)) {
            cli_error("llm", "interrupted");
            return EXIT_INTERRUPTED;
        }
        cli_error("llm", "%s: %s", lo_llm_error_kind_name(err.kind), err.message);
        return rc == LO_EINVAL ? EXIT_USAGE : EXIT_FAIL;
    }
    double usd;
    bool known = total_cost(res, cat, model, &usd);
    if (o->json) {
        print_json(res, model, resolved, known, usd);
    } else {
        if (!o->stream)
            fputs(res->text, stdout);
        size_t n = strlen(res->text);
        if (n == 0 || res->text[n - 1] != '\n')
            fputc('\n', stdout);
        fflush(stdout);
        print_usage_line(res, model, resolved, known, usd);
    }
    lo_llm_result_free(res);
    return EXIT_OK;
}

static int run(int argc, char **argv)
{
    opts o = {0};
    int nops, code;
    if (cli_parse(&cmd_llm, argc, argv, on_flag, &o, &nops, &code))
        return code;
    if (o.provider && !lo_llm_adapter_find(o.provider)) {
        cli_error("llm", "unknown provider '%s' (anthropic, openai, gemini, openai_chat)",
                  o.provider);
        return EXIT_USAGE;
    }
    char *prompt = read_prompt(nops, argv);
    if (!prompt) {
        cli_error("llm", "cannot read the prompt: %s", nops ? "out of memory" : strerror(errno));
        return EXIT_FAIL;
    }
    if (blank(prompt)) {
        cli_error("llm", "no prompt: give one as an argument or on stdin");
        free(prompt);
        return EXIT_USAGE;
    }
    lo_llm_client *c = NULL;
    lo_llm_error err;
    if (lo_llm_client_from_env(&c, &err) != 0) {
        cli_error("llm", "%s", err.message);
        free(prompt);
        return EXIT_USAGE;
    }
    /* The catalog prices the answer and picks the default model; without
     * one the cost is unknown and --model is needed. */
    lo_llm_catalog *cat = NULL;
    lo_error cerr;
    if (lo_llm_catalog_load(NULL, &cat, &cerr) != 0)
        cat = NULL;
    code = ask(&o, c, cat, prompt);
    lo_llm_catalog_free(cat);
    lo_llm_client_free(c);
    free(prompt);
    return code;
}

const cli_command cmd_llm = {
    .name = "llm",
    .usage = "[--model M] [--provider P] [--system S] [--stream] [--json] [\"prompt\"]",
    .summary = "one model call: the answer on stdout, tokens and cost on stderr",
    .details =
        "The prompt is the arguments, else all of stdin. Providers are configured by\n"
        "their own variables: ANTHROPIC_API_KEY / ANTHROPIC_BASE_URL, OPENAI_API_KEY /\n"
        "OPENAI_BASE_URL (OPENAI_ORG_ID, OPENAI_PROJECT_ID), GEMINI_API_KEY (or\n"
        "GOOGLE_API_KEY) / GEMINI_BASE_URL, and OPENAI_CHAT_BASE_URL / OPENAI_CHAT_API_KEY\n"
        "for OpenAI-compatible servers. Without --model the provider's first model in\n"
        "the catalog is asked; without --provider, the model's provider in the catalog,\n"
        "else the first of anthropic, openai, gemini with a key. The cost is priced from\n"
        "the catalog (lightsout models) and printed as 'cost unknown' when the model or\n"
        "a price is not in it. Exit codes: 0 answered, 1 the provider failed, 2 usage or\n"
        "configuration (a missing key names the variable to set), 130 interrupted.",
    .flags = flags,
    .run = run,
};
