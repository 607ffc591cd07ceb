/* Shared fixture for the agent session tests: a temporary working
 * directory, an in-process twin of all three providers answering from a
 * tape, a client pointed at it with a dummy key, the model catalog, a local
 * environment, a profile and an event log. Optionally a recording proxy
 * sits between the client and the twin, so a test can read the exact
 * request bodies the agent sent (reasoning effort, prompt stability). */
#ifndef LO_AGENT_TESTUTIL_H
#define LO_AGENT_TESTUTIL_H

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#include "lightsout/agent.h"
#include "lightsout/http.h"
#include "lightsout/llm.h"
#include "lightsout/proc.h"
#include "lightsout/twin.h"

#define FX_KEY "sk-twin-agent-test"

typedef struct agent_fx agent_fx;

struct agent_fx {
    char dir[PATH_MAX];
    const char *provider;
    lo_tape *tape;
    lo_twin *twin;
    lo_llm_catalog *catalog;
    lo_llm_client *client;
    lo_agent_env *env;
    lo_agent_profile *profile;
    lo_agent_session *session;
    lo_agent_config cfg;
    /* every event as lo_agent_event_to_json gives it */
    pthread_mutex_t mu;
    json_t *events;
    /* called after an event is logged (from whatever thread emitted it) */
    void (*hook)(agent_fx *f, const lo_agent_event *ev);
    void *hook_ud;
    /* the recording proxy (fx_start_proxied) */
    lo_http_server *proxy;
    json_t *requests;               /* [{path, body}] in arrival order */
    char proxy_url[128];
    /* twin log lines */
    json_t *twin_log;
};

static inline const char *fx_model(const char *provider)
{
    if (strcmp(provider, "anthropic") == 0)
        return "claude-sonnet-4-5";
    if (strcmp(provider, "gemini") == 0)
        return "gemini-3.8-flash";
    return "gpt-5.2-codex";
}

static inline void fx_on_event(const lo_agent_event *ev, void *ud)
{
    agent_fx *f = ud;
    json_t *j = lo_agent_event_to_json(ev);
    assert_non_null(j);
    pthread_mutex_lock(&f->mu);
    json_array_append_new(f->events, j);
    pthread_mutex_unlock(&f->mu);
    if (f->hook)
        f->hook(f, ev);
}

static inline void fx_twin_log(const char *line, void *ud)
{
    agent_fx *f = ud;
    pthread_mutex_lock(&f->mu);
    json_array_append_new(f->twin_log, json_string(line));
    pthread_mutex_unlock(&f->mu);
}

/* ---- the recording proxy ---- */

static inline void fx_proxy_handler(const lo_http_request *req, lo_http_response *res, void *ud)
{
    agent_fx *f = ud;
    json_t *body = json_loadb(req->body, req->body_len, 0, NULL);
    pthread_mutex_lock(&f->mu);
    json_array_append_new(f->requests, json_pack("{s:s, s:o}", "path", req->path, "body",
                                                 body ? body : json_null()));
    pthread_mutex_unlock(&f->mu);
    char url[1024];
    snprintf(url, sizeof url, "%s%s%s%s", lo_twin_base_url(f->twin), req->path,
             req->query[0] ? "?" : "", req->query);
    static const char *const fwd[] = {"x-api-key", "authorization", "x-goog-api-key",
                                      "anthropic-version", "anthropic-beta", "content-type",
                                      "accept", NULL};
    char hdr[8][512];
    const char *headers[9];
    size_t nh = 0;
    for (size_t i = 0; fwd[i]; i++) {
        const char *v = lo_http_header(req, fwd[i]);
        if (v) {
            snprintf(hdr[nh], sizeof hdr[nh], "%s: %s", fwd[i], v);
            headers[nh] = hdr[nh];
            nh++;
        }
    }
    headers[nh] = NULL;
    lo_http_call call = {.method = req->method, .url = url, .headers = headers,
                         .body = req->body, .body_len = req->body_len, .timeout_ms = 60000};
    lo_http_result r;
    lo_error err;
    if (lo_http_do(&call, &r, &err) != 0) {
        lo_http_respond(res, 502, "text/plain", err.msg, strlen(err.msg));
    } else {
        const char *ct = json_string_value(json_object_get(r.headers, "content-type"));
        const char *ra = json_string_value(json_object_get(r.headers, "retry-after"));
        lo_http_respond(res, (int)r.status, ct, r.body.data, r.body.len);
        if (ra)
            lo_http_add_header(res, "retry-after", ra);
    }
    lo_http_result_release(&r);
}

/* The bodies the proxy saw for generation requests, in order. */
static inline size_t fx_requests(agent_fx *f) { return json_array_size(f->requests); }
static inline json_t *fx_request(agent_fx *f, size_t i)
{
    return json_object_get(json_array_get(f->requests, i), "body");
}

/* ---- set-up ---- */

static inline void fx_client(agent_fx *f, const char *base, const char *key)
{
    char v1[256];
    snprintf(v1, sizeof v1, "%s/v1", base);
    f->client = lo_llm_client_new();
    lo_llm_provider_config pcs[] = {
        {.provider = "anthropic", .api_key = key, .base_url = base},
        {.provider = "openai", .api_key = key, .base_url = v1},
        {.provider = "openai_chat", .api_key = key, .base_url = v1},
        {.provider = "gemini", .api_key = key, .base_url = base},
    };
    lo_llm_error lerr;
    for (size_t i = 0; i < sizeof pcs / sizeof pcs[0]; i++)
        assert_int_equal(lo_llm_client_add_provider(f->client, &pcs[i], &lerr), 0);
    lo_llm_retry_policy rp;
    lo_llm_retry_policy_init(&rp);
    rp.base_delay = 0.05;
    rp.jitter = false;
    lo_llm_client_set_retry(f->client, &rp);
    lo_llm_client_set_catalog(f->client, f->catalog);
}

/* Everything but the session. provider: "openai", "anthropic", "gemini";
 * tape: a file under tests/data/tapes/agent/. */
static inline void fx_start_ex(agent_fx *f, const char *provider, const char *tape, bool proxied,
                               const char *client_key)
{
    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    f->events = json_array();
    f->requests = json_array();
    f->twin_log = json_array();
    f->provider = provider;
    snprintf(f->dir, sizeof f->dir, "/tmp/lo-agent-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    lo_error err;
    char tpath[256];
    snprintf(tpath, sizeof tpath, "tapes/agent/%s", tape);
    f->tape = lo_tape_load(lo_test_data(tpath), &err);
    if (!f->tape)
        fail_msg("tape: %s", err.msg);
    char models[PATH_MAX];
    snprintf(models, sizeof models, "%s", lo_test_data("../../data/models.json"));
    assert_int_equal(lo_llm_catalog_load(models, &f->catalog, &err), 0);
    lo_twin_config tc = {.providers = LO_TWIN_ALL, .tapes = &f->tape, .n_tapes = 1,
                         .api_key = FX_KEY, .models_path = models, .log = fx_twin_log,
                         .log_ud = f};
    f->twin = lo_twin_start(&tc, &err);
    if (!f->twin)
        fail_msg("twin: %s", err.msg);
    const char *base = lo_twin_base_url(f->twin);
    if (proxied) {
        lo_http_config hc = {.threads = 4};
        f->proxy = lo_http_server_start(&hc, &err);
        assert_non_null(f->proxy);
        assert_int_equal(lo_http_route(f->proxy, NULL, "/*", fx_proxy_handler, f), 0);
        snprintf(f->proxy_url, sizeof f->proxy_url, "http://127.0.0.1:%d",
                 lo_http_server_port(f->proxy));
        base = f->proxy_url;
    }
    fx_client(f, base, client_key ? client_key : FX_KEY);
    lo_agent_env_opts eo = {.workdir = f->dir};
    f->env = lo_agent_env_local(&eo, &err);
    if (!f->env)
        fail_msg("env: %s", err.msg);
    f->profile = lo_agent_profile_new(provider, fx_model(provider), f->catalog, &err);
    if (!f->profile)
        fail_msg("profile: %s", err.msg);
    lo_agent_config_init(&f->cfg);
}

static inline void fx_start(agent_fx *f, const char *provider, const char *tape)
{
    fx_start_ex(f, provider, tape, false, NULL);
}

static inline void fx_session(agent_fx *f)
{
    lo_error err;
    f->session = lo_agent_session_new(f->profile, f->env, f->client, &f->cfg, fx_on_event, f,
                                      &err);
    if (!f->session)
        fail_msg("session: %s", err.msg);
}

static inline void fx_stop(agent_fx *f)
{
    lo_agent_session_free(f->session);
    lo_agent_profile_free(f->profile);
    lo_agent_env_free(f->env);
    lo_llm_client_free(f->client);
    lo_http_server_stop(f->proxy);
    lo_twin_stop(f->twin);
    lo_tape_free(f->tape);
    lo_llm_catalog_free(f->catalog);
    char *rm[] = {"rm", "-rf", f->dir, NULL};
    int st;
    lo_proc_run(rm, NULL, 0, NULL, NULL, &st, NULL);
    json_decref(f->events);
    json_decref(f->requests);
    json_decref(f->twin_log);
    pthread_mutex_destroy(&f->mu);
}

/* Submit and require success. */
static inline void fx_submit(agent_fx *f, const char *input)
{
    lo_error err;
    lo_error_clear(&err);
    int rc = lo_agent_submit(f->session, input, &err);
    if (rc != 0 && getenv("LO_AGENT_DUMP")) { /* the events, for whoever debugs a tape */
        char *s = json_dumps(f->events, JSON_INDENT(1));
        fprintf(stderr, "%s\n", s);
        free(s);
    }
    if (rc != 0)
        fail_msg("submit \"%.60s\": %s (%s)", input, err.msg, lo_err_name(rc));
}

/* ---- custom tools ---- */

#define FX_NO_ARGS "{\"type\":\"object\",\"properties\":{}}"
#define FX_TEXT_ARG                                                                       \
    "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"}},\"required\":[\"text\"]}"

static inline void fx_add_tool(agent_fx *f, const char *name, const char *schema,
                               lo_agent_tool_fn fn, int64_t max_chars)
{
    json_t *params = json_loads(schema, 0, NULL);
    assert_non_null(params);
    lo_agent_tool t = {.name = name, .description = "A test tool.", .parameters = params,
                       .fn = fn, .max_chars = max_chars};
    lo_error err;
    assert_int_equal(lo_agent_registry_add(lo_agent_profile_registry(f->profile), &t, &err), 0);
    json_decref(params);
}

/* note {text}: "noted: TEXT" */
static inline int fx_tool_note(const json_t *args, lo_agent_tool_ctx *ctx, lo_buf *out,
                               lo_error *err)
{
    (void)ctx;
    (void)err;
    lo_buf_printf(out, "noted: %s", json_string_value(json_object_get(args, "text")));
    return 0;
}

/* slow {}: a command with a background child whose pid goes to slow.pid, so
 * a test can check nothing outlives an abort. */
static inline int fx_tool_slow(const json_t *args, lo_agent_tool_ctx *ctx, lo_buf *out,
                               lo_error *err)
{
    (void)args;
    lo_agent_exec_result r;
    memset(&r, 0, sizeof r);
    int rc = ctx->env->ops->exec(ctx->env, "sleep 30 & echo $! > slow.pid; wait", 60000, NULL,
                                 NULL, ctx->cancel, &r, err);
    if (rc == 0)
        lo_buf_printf(out, "exit %d%s", r.exit_code, r.cancelled ? " (cancelled)" : "");
    lo_agent_exec_result_release(&r);
    return rc;
}

/* True once pid is gone (waits up to 3 s for the reaper). */
static inline bool fx_gone(pid_t pid)
{
    for (int i = 0; i < 300; i++) {
        if (kill(pid, 0) != 0 && errno == ESRCH)
            return true;
        usleep(10000);
    }
    return false;
}

/* ---- files ---- */

static inline char *fx_read(agent_fx *f, const char *rel)
{
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/%s", f->dir, rel);
    char *data = NULL;
    size_t len;
    lo_error err;
    if (lo_file_read(path, 0, &data, &len, &err) != 0)
        return NULL;
    return data;
}

static inline void fx_write(agent_fx *f, const char *rel, const char *text)
{
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/%s", f->dir, rel);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    lo_mkdir_p(path, NULL);
    *slash = '/';
    lo_error err;
    assert_int_equal(lo_file_write_atomic(path, text, strlen(text), &err), 0);
}

/* ---- events ---- */

/* The nth (from 0) event of type (NULL = any) whose field key (NULL = none)
 * is a string containing sub; NULL when there is none. Borrowed. */
static inline json_t *fx_event(agent_fx *f, const char *type, const char *key, const char *sub,
                               size_t nth)
{
    json_t *found = NULL;
    pthread_mutex_lock(&f->mu);
    size_t i;
    json_t *e;
    json_array_foreach(f->events, i, e) {
        if (type && strcmp(json_string_value(json_object_get(e, "type")), type) != 0)
            continue;
        if (key) {
            const char *v = json_string_value(json_object_get(e, key));
            if (!v || (sub && !strstr(v, sub)))
                continue;
        }
        if (nth-- == 0) {
            found = e;
            break;
        }
    }
    pthread_mutex_unlock(&f->mu);
    return found;
}

static inline size_t fx_count(agent_fx *f, const char *type)
{
    size_t n = 0, i;
    json_t *e;
    pthread_mutex_lock(&f->mu);
    json_array_foreach(f->events, i, e)
        n += strcmp(json_string_value(json_object_get(e, "type")), type) == 0;
    pthread_mutex_unlock(&f->mu);
    return n;
}

/* The TOOL_CALL_END of the nth call of tool name. */
static inline json_t *fx_tool_end(agent_fx *f, const char *name, size_t nth)
{
    return fx_event(f, "tool_call_end", "tool_name", name, nth);
}

/* Index of the first event of type, or -1. */
static inline long fx_index(agent_fx *f, const char *type, size_t nth)
{
    long at = -1;
    size_t i;
    json_t *e;
    pthread_mutex_lock(&f->mu);
    json_array_foreach(f->events, i, e)
        if (strcmp(json_string_value(json_object_get(e, "type")), type) == 0 && nth-- == 0) {
            at = (long)i;
            break;
        }
    pthread_mutex_unlock(&f->mu);
    return at;
}

#endif
