/* generate() and its streamed form (unified-llm-spec §4.3, §4.4, §5.6):
 * prompt standardisation, the multi-step tool loop bounded by
 * max_tool_rounds and stop_when, one StepResult per model call, total
 * usage, and in streams STEP_FINISH between steps. Each model call goes
 * through the client (middleware, then retries per step); tools.c runs the
 * tool calls. */
#include <string.h>

#include "lightsout/llm.h"

#include "client_internal.h"
#include "generate_internal.h"

void lo_llm_generate_opts_init(lo_llm_generate_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_tool_rounds = 1;
    o->max_retries = -1;
}

static void step_release(lo_llm_step *s)
{
    lo_llm_response_free(s->response);
    free(s->text);
    free(s->reasoning);
    free(s->tool_calls);
    for (size_t i = 0; i < s->n_tool_results; i++)
        lo_llm_tool_result_release_(&s->tool_results[i]);
    free(s->tool_results);
}

void lo_llm_result_free(lo_llm_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_steps; i++)
        step_release(&r->steps[i]);
    free(r->steps);
    lo_llm_request_free(r->conversation);
    json_decref(r->output);
    free(r);
}

static int invalid(lo_llm_error *err, const char *msg)
{
    lo_llm_error_set(err, LO_LLM_ERR_INVALID_REQUEST, NULL, "%s", msg);
    return LO_EINVAL;
}

static int oom(lo_llm_error *err)
{
    lo_llm_error_set(err, LO_LLM_ERR_PROVIDER, NULL, "out of memory");
    return LO_ENOMEM;
}

/* The conversation the first step sends: req, the system message first,
 * the prompt last (§4.3 prompt standardisation). */
static int first_request(const lo_llm_request *req, const lo_llm_generate_opts *o,
                         lo_llm_request **out, lo_llm_error *err)
{
    *out = NULL;
    if (!req)
        return invalid(err, "generate needs a request (a model, and a prompt or messages)");
    for (size_t i = 0; o->prompt && i < req->n_messages; i++)
        if (req->messages[i]->role != LO_ROLE_SYSTEM && req->messages[i]->role != LO_ROLE_DEVELOPER)
            return invalid(err, "generate got both a prompt and messages: give one or the other");
    for (size_t i = 0; i < o->n_handlers; i++)
        if (!lo_llm_find_tool_(req, o->handlers[i].name)) {
            lo_llm_error_set(err, LO_LLM_ERR_INVALID_REQUEST, NULL,
                             "a handler is given for tool \"%s\", which the request does not "
                             "define",
                             o->handlers[i].name ? o->handlers[i].name : "(null)");
            return LO_EINVAL;
        }
    lo_llm_request *c = lo_llm_request_clone(req);
    if (!c)
        return oom(err);
    if (o->system) {
        lo_llm_message *m = lo_llm_text_message(LO_ROLE_SYSTEM, o->system);
        if (!m || lo_llm_request_add_message(c, m) != 0) {
            lo_llm_request_free(c);
            return oom(err);
        }
        memmove(c->messages + 1, c->messages, (c->n_messages - 1) * sizeof *c->messages);
        c->messages[0] = m;
    }
    if (o->prompt && lo_llm_request_add_message(c, lo_llm_text_message(LO_ROLE_USER, o->prompt))) {
        lo_llm_request_free(c);
        return oom(err);
    }
    bool any = false;
    for (size_t i = 0; i < c->n_messages; i++)
        any = any || (c->messages[i]->role != LO_ROLE_SYSTEM &&
                      c->messages[i]->role != LO_ROLE_DEVELOPER);
    if (!any) {
        lo_llm_request_free(c);
        return invalid(err, "generate has nothing to send: no prompt and no messages");
    }
    *out = c;
    return 0;
}

/* One generate in progress. */
typedef struct gen {
    lo_llm_client *c;
    const lo_llm_generate_opts *o;
    lo_llm_run_opts_ ro;
    lo_llm_request *conv;
    lo_llm_result *res;
    int round;
    /* streams */
    lo_llm_event_fn fn;
    void *ud;
    bool held_finish; /* this step's FINISH became a STEP_FINISH to come */
    bool error_sent;  /* an ERROR event reached the caller */
} gen;

static bool any_passive(const gen *g, const lo_llm_tool_call *const *calls, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lo_llm_find_tool_(g->conv, calls[i]->name) &&
            !lo_llm_find_handler_(g->o, calls[i]->name))
            return true;
    return false;
}

/* Whether the tool calls of resp are to be executed now (§5.6): the model
 * stopped to call tools (some servers say "stop" with calls), a round is
 * left, and no call is to a passive tool: those return to the caller,
 * who runs the loop from there. */
static bool will_execute(const gen *g, const lo_llm_response *resp)
{
    size_t n = 0;
    const lo_llm_tool_call **calls = lo_llm_response_tool_calls(resp, &n);
    bool yes = n > 0 &&
               (resp->finish.reason == LO_FINISH_TOOL_CALLS || resp->finish.reason == LO_FINISH_STOP) &&
               g->round < g->o->max_tool_rounds && !any_passive(g, calls, n);
    free(calls);
    return yes;
}

/* Between a step's stream and the caller: a FINISH that tools will follow
 * is held back (STEP_FINISH comes after the tools). */
static int relay(const lo_llm_stream_event *ev, void *ud)
{
    gen *g = ud;
    if (ev->type == LO_STREAM_FINISH && ev->response && will_execute(g, ev->response)) {
        g->held_finish = true;
        return 0;
    }
    if (ev->type == LO_STREAM_ERROR)
        g->error_sent = true;
    return g->fn(ev, g->ud);
}

/* A FINISH or STEP_FINISH for a step whose own FINISH was held. */
static int emit_end(gen *g, lo_llm_stream_event_type t, lo_llm_response *resp)
{
    lo_llm_stream_event *ev = lo_llm_stream_event_new(t);
    if (!ev)
        return 0;
    ev->has_finish = true;
    ev->finish_reason.reason = resp->finish.reason;
    ev->has_usage = true;
    ev->usage = resp->usage;
    ev->response = resp; /* lent */
    int stop = g->fn(ev, g->ud);
    ev->response = NULL;
    lo_llm_stream_event_free(ev);
    return stop;
}

static int call_model(gen *g, lo_llm_response **resp, lo_llm_error *err)
{
    g->held_finish = false;
    if (!g->fn)
        return lo_llm_complete_opts_(g->c, g->conv, &g->ro, resp, err);
    return lo_llm_stream_opts_(g->c, g->conv, &g->ro, relay, g, resp, err);
}

/* Record resp as the next step (the result takes it). */
static lo_llm_step *add_step(gen *g, lo_llm_response *resp)
{
    lo_llm_result *r = g->res;
    lo_llm_step *v = lo_realloc(r->steps, (r->n_steps + 1) * sizeof *v);
    if (!v) {
        lo_llm_response_free(resp);
        return NULL;
    }
    r->steps = v;
    lo_llm_step *s = &v[r->n_steps++];
    memset(s, 0, sizeof *s);
    s->response = resp;
    s->text = lo_llm_response_text(resp);
    s->reasoning = lo_llm_response_reasoning(resp);
    s->tool_calls = lo_llm_response_tool_calls(resp, &s->n_tool_calls);
    lo_llm_usage_add(&r->total_usage, &resp->usage);
    return s->text && (s->tool_calls || !s->n_tool_calls) ? s : NULL;
}

/* The assistant's turn and one TOOL message per result, for the next step. */
static int continue_conversation(gen *g, const lo_llm_step *s)
{
    lo_llm_message *m = lo_llm_message_clone(s->response->message);
    if (!m || lo_llm_request_add_message(g->conv, m) != 0)
        return LO_ENOMEM;
    for (size_t i = 0; i < s->n_tool_results; i++) {
        const lo_llm_tool_result *tr = &s->tool_results[i];
        lo_llm_message *t = lo_llm_message_new(LO_ROLE_TOOL);
        if (!t)
            return LO_ENOMEM;
        /* add_tool_result takes the copy, also when it fails */
        if (!(t->tool_call_id = lo_strdup(tr->tool_call_id)) ||
            lo_llm_message_add_tool_result(t, tr->tool_call_id, json_deep_copy(tr->content),
                                           tr->is_error) != 0) {
            lo_llm_message_free(t);
            return LO_ENOMEM;
        }
        if (lo_llm_request_add_message(g->conv, t) != 0)
            return LO_ENOMEM;
    }
    return 0;
}

static bool cancelled(const gen *g)
{
    return g->ro.cancel && atomic_load(g->ro.cancel);
}

/* The loop (§5.6). 0 with g->res complete, or an error with err filled. */
static int loop(gen *g, lo_llm_error *err)
{
    for (;;) {
        if (cancelled(g)) {
            lo_llm_error_set(err, LO_LLM_ERR_ABORT, NULL, "cancelled");
            return LO_ECANCELED;
        }
        lo_llm_response *resp = NULL;
        int rc = call_model(g, &resp, err);
        if (rc)
            return rc;
        bool exec = will_execute(g, resp);
        lo_llm_step *s = add_step(g, resp);
        if (!s)
            return oom(err);
        if (!exec)
            return 0;
        rc = lo_llm_run_tools_(g->conv, g->o, s->tool_calls, s->n_tool_calls, g->ro.cancel,
                               &s->tool_results, err);
        if (rc)
            return rc;
        s->n_tool_results = s->n_tool_calls;
        bool stop = g->o->stop_when && g->o->stop_when(g->o->stop_ud, g->res->steps,
                                                        g->res->n_steps);
        if (g->fn && g->held_finish &&
            emit_end(g, stop ? LO_STREAM_FINISH : LO_STREAM_STEP_FINISH, s->response)) {
            lo_llm_error_set(err, LO_LLM_ERR_ABORT, NULL, "stream stopped by the event handler");
            return LO_ECANCELED;
        }
        if (stop)
            return 0;
        if (continue_conversation(g, s) != 0)
            return oom(err);
        g->round++;
    }
}

/* Point the result's summary fields at the final step. */
static void summarise(lo_llm_result *r)
{
    const lo_llm_step *last = &r->steps[r->n_steps - 1];
    r->text = last->text;
    r->reasoning = last->reasoning;
    r->response = last->response;
    r->finish = last->response->finish.reason;
    r->usage = last->response->usage;
    r->tool_calls = last->tool_calls;
    r->n_tool_calls = last->n_tool_calls;
    r->tool_results = last->tool_results;
    r->n_tool_results = last->n_tool_results;
}

static int run(lo_llm_client *c, const lo_llm_request *req, const lo_llm_generate_opts *opts,
               lo_llm_event_fn fn, void *ud, lo_llm_result **out, lo_llm_error *err)
{
    lo_llm_error local;
    if (!err)
        err = &local;
    *out = NULL;
    lo_llm_generate_opts defaults;
    if (!opts) {
        lo_llm_generate_opts_init(&defaults);
        opts = &defaults;
    }
    if (!c && !(c = lo_llm_default_client(err)))
        return LO_EINVAL;
    gen g = {.c = c, .o = opts, .fn = fn, .ud = ud};
    g.ro.timeout_ms = opts->step_timeout_ms;
    g.ro.deadline = opts->timeout_ms > 0 ? lo_llm_now_s_() + opts->timeout_ms / 1000.0 : 0;
    g.ro.cancel = opts->cancel;
    g.ro.max_retries = opts->max_retries;
    int rc = first_request(req, opts, &g.conv, err);
    if (rc)
        return rc;
    if (!(g.res = lo_calloc(1, sizeof *g.res))) {
        lo_llm_request_free(g.conv);
        return oom(err);
    }
    lo_llm_usage_init(&g.res->total_usage);
    rc = loop(&g, err);
    g.res->conversation = g.conv;
    if (rc) {
        /* A stream ends with FINISH or ERROR, whatever failed (but not
         * when the handler itself stopped it). */
        if (fn && !g.error_sent && err->kind != LO_LLM_ERR_ABORT) {
            lo_llm_stream_event *ev = lo_llm_stream_event_new(LO_STREAM_ERROR);
            if (ev && (ev->error = lo_malloc(sizeof *ev->error))) {
                *ev->error = *err;
                fn(ev, ud);
            }
            lo_llm_stream_event_free(ev);
        }
        lo_llm_result_free(g.res);
        return rc;
    }
    summarise(g.res);
    *out = g.res;
    return 0;
}

int lo_llm_generate(lo_llm_client *c, const lo_llm_request *req, const lo_llm_generate_opts *opts,
                    lo_llm_result **out, lo_llm_error *err)
{
    return run(c, req, opts, NULL, NULL, out, err);
}

int lo_llm_generate_stream(lo_llm_client *c, const lo_llm_request *req,
                           const lo_llm_generate_opts *opts, lo_llm_event_fn on_event, void *ud,
                           lo_llm_result **out, lo_llm_error *err)
{
    if (!on_event) {
        lo_llm_error local;
        lo_llm_error_set(err ? err : &local, LO_LLM_ERR_CONFIGURATION, NULL,
                         "generate_stream needs an event handler");
        return LO_EINVAL;
    }
    return run(c, req, opts, on_event, ud, out, err);
}
