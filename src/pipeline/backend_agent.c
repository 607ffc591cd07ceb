/* The api backend: a codergen stage runs one native agent session
 * (lightsout/agent.h) in the stage's working directory, with the profile of
 * the node's provider and model. Every session event goes to
 * {stage}/agent.jsonl; the final answer becomes the response; usage and cost
 * go into the status and an agent_usage event.
 *
 * Sessions are reused across stages that share a thread under fidelity
 * "full" (same provider and model, one stage at a time): the next stage's
 * prompt is a follow-up in the same conversation. Reuse lasts as long as
 * the process; a resumed run starts its threads afresh. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pipeline/backend_internal.h"
#include "pipeline/engine_internal.h"
#include "pipeline/handlers/builtin.h"

/* What the stage running a session collects from its events. */
typedef struct stage_ctx {
    agent_log log;
    bool turn_limit;
} stage_ctx;

/* A session kept for a thread, with what it was made from. */
typedef struct slot {
    char *thread, *provider, *model;
    lo_agent_profile *profile;
    lo_agent_env *env;
    lo_agent_session *session;
    struct stage_ctx *cur;    /* the stage using it now; NULL between stages */
    bool busy;
    struct slot *next;
} slot;

typedef struct api_backend {
    lo_backend self;
    lo_backend_setup setup;
    pthread_mutex_t mu;
    bool cancel_set;
    slot *slots;
} api_backend;

static void on_agent_event(const lo_agent_event *ev, void *ud)
{
    slot *s = ud;
    if (!s->cur)
        return;
    if (ev->kind == LO_AGENT_TURN_LIMIT)
        s->cur->turn_limit = true;
    agent_log_event(&s->cur->log, ev);
}

static void slot_free(slot *s)
{
    if (!s)
        return;
    s->cur = NULL; /* no stage to write to: SESSION_END goes nowhere */
    lo_agent_session_free(s->session);
    lo_agent_env_free(s->env);
    lo_agent_profile_free(s->profile);
    free(s->thread);
    free(s->provider);
    free(s->model);
    free(s);
}

/* ---- the stage's usage: the session's totals minus those before it ---- */

static int64_t minus(int64_t a, int64_t b)
{
    if (a < 0)
        return LO_TOKENS_UNREPORTED;
    return b > 0 ? a - b : a;
}

typedef struct counters {
    lo_llm_usage usage;
    bool has_cost;
    double cost;
    int turns, tool_calls;
} counters;

static void read_counters(const lo_agent_session *s, counters *c)
{
    lo_agent_usage(s, &c->usage);
    c->has_cost = lo_agent_cost(s, &c->cost) == 0;
    c->turns = lo_agent_turns(s);
    c->tool_calls = lo_agent_tool_calls(s);
}

/* ---- cancellation ---- */

typedef struct watcher {
    lo_run *run;
    lo_agent_session *session;
    int64_t deadline_ms;     /* the node's timeout (monotonic); 0 none */
    atomic_bool done;
    bool aborted, timed_out;
} watcher;

/* The run's cancel flag also reaches the client (calls in flight stop);
 * this thread turns it, and the node's timeout, into an abort of the
 * session, so its tools and its loop stop too. */
static void *watch(void *arg)
{
    watcher *w = arg;
    struct timespec step = {0, 25 * 1000 * 1000};
    while (!atomic_load(&w->done)) {
        if (lo_run_cancelled(w->run)) {
            w->aborted = true;
            lo_agent_abort(w->session);
            break;
        }
        if (w->deadline_ms && lo_now_ms() >= w->deadline_ms) {
            w->timed_out = true;
            lo_agent_abort(w->session);
            break;
        }
        nanosleep(&step, NULL);
    }
    return NULL;
}

/* ---- sessions ---- */

static slot *slot_new(api_backend *b, lo_stage *st, const char *provider, const char *model,
                      stage_ctx *cur, lo_error *err)
{
    const lo_backend_setup *setup = &b->setup;
    slot *s = lo_calloc(1, sizeof *s);
    if (!s) {
        lo_error_set(err, LO_ENOMEM, "out of memory");
        return NULL;
    }
    s->busy = true;
    s->cur = cur;
    s->provider = lo_strdup(provider);
    s->model = model ? lo_strdup(model) : NULL;
    lo_agent_env_opts eo = {.workdir = st->workdir, .policy = LO_ENV_INHERIT_FILTERED};
    if (!s->provider || (model && !s->model)) {
        lo_error_set(err, LO_ENOMEM, "out of memory");
        goto fail;
    }
    if (!(s->profile = lo_agent_profile_new(provider, model, setup->catalog, err)))
        goto fail;
    if (!(s->env = setup->sandbox ? lo_agent_env_sandbox(&eo, err) : lo_agent_env_local(&eo, err)))
        goto fail;
    lo_agent_config cfg;
    lo_agent_config_init(&cfg);
    cfg.max_turns = setup->max_turns;
    cfg.stream = true; /* deltas are activity for the stall watchdog */
    cfg.reasoning_effort = backend_attr(st->graph, st->node, "reasoning_effort");
    if (!(s->session = lo_agent_session_new(s->profile, s->env, setup->client, &cfg,
                                            on_agent_event, s, err)))
        goto fail;
    return s;
fail:
    slot_free(s);
    return NULL;
}

/* A free session of this stage's thread, or NULL. Under b->mu. */
static slot *take_reusable(api_backend *b, const lo_stage *st, const char *provider,
                           const char *model)
{
    if (!lo_str_eq(st->fidelity, "full") || !st->thread_id || !*st->thread_id)
        return NULL;
    for (slot *s = b->slots; s; s = s->next)
        if (!s->busy && lo_str_eq(s->thread, st->thread_id) && lo_str_eq(s->provider, provider) &&
            lo_str_eq(s->model, model) && lo_agent_session_state(s->session) != LO_AGENT_CLOSED) {
            s->busy = true;
            return s;
        }
    return NULL;
}

/* After the stage: keep a session its thread can use again, free the rest. */
static void give_back(api_backend *b, const lo_stage *st, slot *s, bool keep)
{
    pthread_mutex_lock(&b->mu);
    stage_ctx *cur = s->cur;
    s->cur = NULL;
    bool listed = false;
    for (slot *x = b->slots; x; x = x->next)
        listed |= x == s;
    keep = keep && lo_str_eq(st->fidelity, "full") && st->thread_id && *st->thread_id &&
           lo_agent_session_state(s->session) != LO_AGENT_CLOSED;
    if (keep && !listed && (s->thread = lo_strdup(st->thread_id))) {
        s->next = b->slots;
        b->slots = s;
        listed = true;
    } else if (!keep && listed) {
        for (slot **p = &b->slots; *p; p = &(*p)->next)
            if (*p == s) {
                *p = s->next;
                break;
            }
        listed = false;
    }
    s->busy = false;
    pthread_mutex_unlock(&b->mu);
    if (!listed) {
        /* closed while the stage's log is open, so SESSION_END is in it */
        s->cur = cur;
        lo_agent_session_free(s->session);
        s->session = NULL;
        slot_free(s);
    }
}

/* ---- one stage ---- */

static int outcome_of(lo_stage *st, lo_outcome *out, bool *has_outcome, int rc, lo_error *err,
                      bool turn_limit, const char *text, lo_buf *response)
{
    if (rc) {
        *has_outcome = true;
        out->status = LO_FAIL;
        int r = lo_outcome_set_failure(out, "the agent failed: %s", err->msg);
        if (!r && *text)
            r = lo_stage_write(st, "response.md", text, err);
        return r;
    }
    if (turn_limit) {
        /* it worked but did not finish: the pipeline decides what that means */
        *has_outcome = true;
        out->status = LO_PARTIAL_SUCCESS;
        int r = lo_outcome_update_str(out, "last_response", text);
        r = r ? r : lo_outcome_update_str(out, "last_stage", st->node->id);
        r = r ? r : lo_outcome_set_failure(out, "the agent stopped at its turn limit");
        r = r ? r : lo_stage_write(st, "response.md", text, err);
        return r;
    }
    return lo_buf_puts(response, text) ? lo_error_set(err, LO_ENOMEM, "out of memory") : 0;
}

static void set_usage(stage_usage *u, const counters *before, const counters *after)
{
    u->has_cost = after->has_cost && before->has_cost;
    u->cost_usd = after->cost - before->cost;
    u->turns = after->turns - before->turns;
    u->tool_calls = after->tool_calls - before->tool_calls;
    const int64_t *a = &after->usage.input_tokens, *b = &before->usage.input_tokens;
    int64_t *o = &u->usage.input_tokens;
    for (int i = 0; i < 6; i++) /* the six counts of lo_llm_usage, in order */
        o[i] = minus(a[i], b[i]);
}

static int api_run(lo_backend *self, lo_stage *st, const char *prompt, lo_buf *response,
                   lo_outcome *out, bool *has_outcome, lo_error *err)
{
    api_backend *b = self->ud;
    *has_outcome = false;
    char provider[32];
    if (lo_backend_node_provider(st->graph, st->node, &b->setup, provider, sizeof provider, err))
        return err->code;
    const char *model = backend_attr(st->graph, st->node, "llm_model");
    stage_ctx cur = {0};
    int rc = agent_log_open(&cur.log, st, "api", err);
    if (rc)
        return rc;
    pthread_mutex_lock(&b->mu);
    if (!b->cancel_set) {
        /* before the first request: calls in flight stop with the run */
        lo_llm_client_set_cancel(b->setup.client, lo_run_cancel_flag(st->run));
        b->cancel_set = true;
    }
    slot *s = take_reusable(b, st, provider, model);
    if (s)
        s->cur = &cur;
    pthread_mutex_unlock(&b->mu);
    /* a new session's first events (SESSION_START) go to this stage's log */
    if (!s && !(s = slot_new(b, st, provider, model, &cur, err))) {
        agent_log_close(&cur.log);
        return err->code ? err->code : LO_ENOMEM;
    }
    snprintf(cur.log.session_id, sizeof cur.log.session_id, "%s",
             lo_agent_session_id(s->session));
    counters before, after;
    read_counters(s->session, &before);
    watcher w = {.run = st->run, .session = s->session, .deadline_ms = st->deadline_ms};
    atomic_init(&w.done, false);
    pthread_t th;
    bool watching = pthread_create(&th, NULL, watch, &w) == 0;
    lo_error serr;
    lo_error_clear(&serr);
    rc = lo_agent_submit(s->session, prompt, &serr);
    atomic_store(&w.done, true);
    if (watching)
        pthread_join(th, NULL);
    if (rc == LO_ECANCELED && (w.aborted || lo_run_cancelled(st->run))) {
        give_back(b, st, s, false);
        agent_log_close(&cur.log);
        return lo_error_set(err, LO_ECANCELED, "the agent was stopped");
    }
    read_counters(s->session, &after);
    stage_usage u = {.backend = "api", .provider = provider,
                     .model = lo_agent_profile_model(s->profile)};
    set_usage(&u, &before, &after);
    if (rc == LO_ECANCELED && w.timed_out)
        lo_error_set(&serr, LO_ECANCELED, "it ran past the stage's timeout and was stopped");
    char *text = lo_strdup(lo_agent_last_text(s->session));
    int orc = text ? backend_record_usage(st, out, &u, err) : LO_ENOMEM;
    if (!orc)
        orc = outcome_of(st, out, has_outcome, rc, &serr, cur.turn_limit, text, response);
    if (orc && !err->msg[0])
        lo_error_set(err, orc, "out of memory");
    free(text);
    /* after an error the session is not trusted with another stage */
    give_back(b, st, s, rc == 0);
    agent_log_close(&cur.log);
    return orc;
}

static void api_destroy(lo_backend *self)
{
    api_backend *b = self->ud;
    for (slot *s = b->slots, *next; s; s = next) {
        next = s->next;
        slot_free(s);
    }
    pthread_mutex_destroy(&b->mu);
    free(b);
}

lo_backend *lo_backend_api(const lo_backend_setup *s, lo_error *err)
{
    if (!s->client) {
        lo_error_set(err, LO_EINVAL, "the api backend needs a client");
        return NULL;
    }
    api_backend *b = lo_calloc(1, sizeof *b);
    if (!b) {
        lo_error_set(err, LO_ENOMEM, "out of memory");
        return NULL;
    }
    b->setup = *s;
    pthread_mutex_init(&b->mu, NULL);
    b->self.name = "api";
    b->self.run = api_run;
    b->self.destroy = api_destroy;
    b->self.ud = b;
    return &b->self;
}
