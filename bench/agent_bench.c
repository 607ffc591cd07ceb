/* Agent session benchmarks, driven by bench/agent.sh.
 *
 *   agent_bench overhead PROVIDER TURNS TAPE MODELS
 *       A TURNS-turn session (one trivial tool call per turn) against an
 *       in-process twin, then the same requests sent by a bare client loop
 *       that builds the identical conversation by hand (same system prompt,
 *       tools, assistant messages and tool results), each against a fresh
 *       twin. Prints wall and calling-thread CPU time for both and the
 *       difference per turn: session_ms bare_ms wall_us_per_turn
 *       session_cpu_ms bare_cpu_ms cpu_us_per_turn
 *
 *   agent_bench cache PROVIDER TURNS TAPE MODELS
 *       A TURNS-turn session; per turn the prompt tokens (input + cache
 *       read + cache write) and the cache reads the twin reported. Prints:
 *       prompt_tokens_from_turn5 cache_read_from_turn5 ratio
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lightsout/agent.h"
#include "lightsout/twin.h"

#define KEY "sk-bench"

static double clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double now_ms(void) { return clock_ms(CLOCK_MONOTONIC); }
/* CPU time of the calling thread: the loop and the client, not the twin,
 * which runs on the HTTP server's threads. Much steadier than wall time on
 * a loaded machine. */
static double cpu_ms(void) { return clock_ms(CLOCK_THREAD_CPUTIME_ID); }

static const char *model_of(const char *provider)
{
    if (strcmp(provider, "anthropic") == 0)
        return "claude-sonnet-4-5";
    if (strcmp(provider, "gemini") == 0)
        return "gemini-3.8-flash";
    return "gpt-5.2-codex";
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "agent_bench: %s: %s\n", what, msg);
    exit(1);
}

typedef struct world {
    lo_tape *tape;
    lo_twin *twin;
    lo_llm_catalog *cat;
    lo_llm_client *client;
    lo_agent_env *env;
    lo_agent_profile *profile;
    char dir[64];
} world;

static int note(const json_t *args, lo_agent_tool_ctx *ctx, lo_buf *out, lo_error *err)
{
    lo_buf_printf(out, "noted: %s", json_string_value(json_object_get(args, "text")));
    return 0;
}

static void world_up(world *w, const char *provider, const char *tape, const char *models)
{
    memset(w, 0, sizeof *w);
    lo_error err;
    if (!(w->tape = lo_tape_load(tape, &err)))
        die("tape", err.msg);
    if (lo_llm_catalog_load(models, &w->cat, &err))
        die("catalog", err.msg);
    lo_twin_config tc = {.providers = LO_TWIN_ALL, .tapes = &w->tape, .n_tapes = 1,
                         .api_key = KEY, .models_path = models};
    if (!(w->twin = lo_twin_start(&tc, &err)))
        die("twin", err.msg);
    const char *base = lo_twin_base_url(w->twin);
    char v1[256];
    snprintf(v1, sizeof v1, "%s/v1", base);
    w->client = lo_llm_client_new();
    lo_llm_provider_config pcs[] = {
        {.provider = "anthropic", .api_key = KEY, .base_url = base},
        {.provider = "openai", .api_key = KEY, .base_url = v1},
        {.provider = "gemini", .api_key = KEY, .base_url = base},
    };
    lo_llm_error le;
    for (size_t i = 0; i < 3; i++)
        if (lo_llm_client_add_provider(w->client, &pcs[i], &le))
            die("client", le.message);
    lo_llm_client_set_catalog(w->client, w->cat);
    snprintf(w->dir, sizeof w->dir, "/tmp/lo-agent-bench-XXXXXX");
    if (!mkdtemp(w->dir))
        die("mkdtemp", w->dir);
    lo_agent_env_opts eo = {.workdir = w->dir};
    if (!(w->env = lo_agent_env_local(&eo, &err)))
        die("env", err.msg);
    if (!(w->profile = lo_agent_profile_new(provider, model_of(provider), w->cat, &err)))
        die("profile", err.msg);
    json_t *params = json_pack("{s:s, s:{s:{s:s}}, s:[s]}", "type", "object", "properties",
                               "text", "type", "string", "required", "text");
    lo_agent_tool t = {.name = "note", .description = "Write a note.", .parameters = params,
                       .fn = note};
    if (lo_agent_registry_add(lo_agent_profile_registry(w->profile), &t, &err))
        die("tool", err.msg);
    json_decref(params);
}

static void world_down(world *w)
{
    lo_agent_profile_free(w->profile);
    lo_agent_env_free(w->env);
    lo_llm_client_free(w->client);
    lo_twin_stop(w->twin);
    lo_tape_free(w->tape);
    lo_llm_catalog_free(w->cat);
    rmdir(w->dir);
}

typedef struct turns {
    lo_llm_usage *u;
    int n, cap;
} turns;

static void on_event(const lo_agent_event *ev, void *ud)
{
    turns *t = ud;
    if (!t || ev->kind != LO_AGENT_ASSISTANT_TEXT_END || t->n >= t->cap)
        return;
    json_t *u = json_object_get(ev->data, "usage");
    lo_llm_usage *x = &t->u[t->n++];
    lo_llm_usage_init(x);
    x->input_tokens = json_integer_value(json_object_get(u, "input_tokens"));
    x->cache_read_tokens = json_integer_value(json_object_get(u, "cache_read_tokens"));
    x->cache_write_tokens = json_integer_value(json_object_get(u, "cache_write_tokens"));
}

static lo_agent_session *session(world *w, int max_turns, turns *t, lo_error *err)
{
    lo_agent_config cfg;
    lo_agent_config_init(&cfg);
    cfg.max_turns = max_turns;
    /* The tape repeats one call; the bare loop has no loop detector. */
    cfg.enable_loop_detection = false;
    return lo_agent_session_new(w->profile, w->env, w->client, &cfg, on_event, t, err);
}

/* The conversation the agent builds, built by hand: what a host that skips
 * the harness would send. */
static double bare_loop(world *w, const char *system, int n, double *cpu)
{
    lo_llm_request *r = lo_llm_request_new(lo_agent_profile_model(w->profile));
    r->provider = strdup(lo_agent_profile_provider(w->profile));
    lo_llm_request_add_message(r, lo_llm_text_message(LO_ROLE_SYSTEM, system));
    lo_agent_registry *reg = lo_agent_profile_registry(w->profile);
    lo_error err;
    /* every tool in registry order, as a top-level session offers them */
    for (size_t i = 0; i < lo_agent_registry_count(reg); i++) {
        const lo_agent_tool *t = lo_agent_registry_at(reg, i);
        lo_llm_request_add_tool(r, t->name, t->description, json_incref(t->parameters), &err);
    }
    lo_llm_request_add_message(r, lo_llm_text_message(LO_ROLE_USER, "go"));
    double t0 = now_ms(), c0 = cpu_ms();
    for (int i = 0; i < n; i++) {
        lo_llm_response *resp;
        lo_llm_error le;
        if (lo_llm_complete(w->client, r, &resp, &le))
            die("bare complete", le.message);
        size_t nc;
        const lo_llm_tool_call **calls = lo_llm_response_tool_calls(resp, &nc);
        lo_llm_message *m = resp->message;
        resp->message = NULL;
        lo_llm_request_add_message(r, m);
        for (size_t k = 0; k < nc; k++)
            lo_llm_request_add_message(r, lo_llm_tool_result_message(calls[k]->id,
                                                                     "noted: again", false));
        free(calls);
        lo_llm_response_free(resp);
    }
    double ms = now_ms() - t0;
    *cpu = cpu_ms() - c0;
    lo_llm_request_free(r);
    return ms;
}

static void overhead(const char *provider, int n, const char *tape, const char *models)
{
    world w;
    world_up(&w, provider, tape, models);
    lo_error err;
    lo_agent_session *s = session(&w, n, NULL, &err);
    if (!s)
        die("session", err.msg);
    char *system = strdup(lo_agent_session_system_prompt(s));
    double t0 = now_ms(), c0 = cpu_ms();
    if (lo_agent_submit(s, "go", &err))
        die("submit", err.msg);
    double session_ms = now_ms() - t0, session_cpu = cpu_ms() - c0;
    if (lo_agent_turns(s) != n)
        die("session", "did not take the expected number of turns");
    lo_agent_session_free(s);
    world_down(&w);

    world_up(&w, provider, tape, models);
    double bare_cpu;
    double bare_ms = bare_loop(&w, system, n, &bare_cpu);
    world_down(&w);
    free(system);
    printf("%.1f %.1f %.1f %.1f %.1f %.1f\n", session_ms, bare_ms,
           (session_ms - bare_ms) * 1000.0 / n, session_cpu, bare_cpu,
           (session_cpu - bare_cpu) * 1000.0 / n);
}

static void cache(const char *provider, int n, const char *tape, const char *models)
{
    world w;
    world_up(&w, provider, tape, models);
    turns t = {.u = calloc((size_t)n, sizeof(lo_llm_usage)), .cap = n};
    lo_error err;
    lo_agent_session *s = session(&w, n, &t, &err);
    if (!s)
        die("session", err.msg);
    if (lo_agent_submit(s, "go", &err))
        die("submit", err.msg);
    long long prompt = 0, read = 0;
    for (int i = 4; i < t.n; i++) {
        lo_llm_usage *u = &t.u[i];
        prompt += u->input_tokens + (u->cache_read_tokens > 0 ? u->cache_read_tokens : 0) +
                  (u->cache_write_tokens > 0 ? u->cache_write_tokens : 0);
        read += u->cache_read_tokens > 0 ? u->cache_read_tokens : 0;
    }
    printf("%lld %lld %.3f\n", prompt, read, prompt ? (double)read / (double)prompt : 0.0);
    free(t.u);
    lo_agent_session_free(s);
    world_down(&w);
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: agent_bench overhead|cache PROVIDER TURNS TAPE MODELS\n");
        return 2;
    }
    int n = atoi(argv[3]);
    if (strcmp(argv[1], "overhead") == 0)
        overhead(argv[2], n, argv[4], argv[5]);
    else if (strcmp(argv[1], "cache") == 0)
        cache(argv[2], n, argv[4], argv[5]);
    else
        die("mode", argv[1]);
    return 0;
}
