/* The core loop (§2.5): build the request, call the model, record the
 * assistant turn, run its tool calls (concurrently when the profile allows),
 * inject steering, detect loops, and stop on natural completion, a limit,
 * an abort or an unrecoverable error.
 *
 * The conversation lives in one lo_llm_request that only ever grows: the
 * system prompt first, then every turn as the provider will see it. Nothing
 * earlier in it changes between calls, which is what lets providers serve
 * the repeated prefix from their prompt cache. */
#include <string.h>

#include "agent/session_internal.h"

/* ------------------------------------------------------------ tools and prompt */

static bool offered(const lo_agent_session *s, const lo_agent_tool *t)
{
    /* At the depth limit the subagent tools are not offered at all, rather
     * than offered and refused. */
    return !(subagent_tool(t->name) && s->depth >= s->cfg.max_subagent_depth);
}

static void clear_tools(lo_llm_request *r)
{
    for (size_t i = 0; i < r->n_tools; i++) {
        free(r->tools[i].name);
        free(r->tools[i].description);
        json_decref(r->tools[i].parameters);
    }
    r->n_tools = 0;
}

/* Rebuild the tool definitions and the system prompt when the registry is
 * not what the request was built from (a host may add tools between
 * inputs). Cheap when nothing changed: one comparison per tool. */
int session_refresh(lo_agent_session *s, lo_error *err)
{
    const lo_agent_registry *reg = s->profile->reg;
    size_t n = lo_agent_registry_count(reg), k = 0;
    lo_agent_tool *cur = lo_calloc(n ? n : 1, sizeof *cur);
    if (!cur)
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const lo_agent_tool *t = lo_agent_registry_at(reg, i);
        if (offered(s, t))
            cur[k++] = *t;
    }
    /* Copies, compared whole: a tool replaced in its slot has new strings. */
    if (s->snap && k == s->n_snap && memcmp(cur, s->snap, k * sizeof *cur) == 0) {
        free(cur);
        return 0;
    }
    clear_tools(s->req);
    for (size_t i = 0; i < k; i++) {
        int rc = lo_llm_request_add_tool(s->req, cur[i].name, cur[i].description,
                                         json_incref(cur[i].parameters), err);
        if (rc) {
            free(cur);
            return rc;
        }
    }
    char *text = prompt_assemble(&s->prompt, cur, k);
    lo_llm_message *sys = text ? lo_llm_text_message(LO_ROLE_SYSTEM, text) : NULL;
    free(text);
    if (!sys) {
        free(cur);
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    }
    if (s->req->n_messages) {
        s->history_chars -= (int64_t)strlen(s->req->messages[0]->parts[0].text);
        lo_llm_message_free(s->req->messages[0]);
        s->req->messages[0] = sys;
    } else if (lo_llm_request_add_message(s->req, sys) != 0) {
        free(cur);
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    }
    s->history_chars += (int64_t)strlen(sys->parts[0].text);
    free(s->snap);
    s->snap = cur;
    s->n_snap = k;
    return 0;
}

/* ------------------------------------------------------------ history */

static int append(lo_agent_session *s, lo_llm_message *m, int64_t chars)
{
    if (!m || lo_llm_request_add_message(s->req, m) != 0)
        return LO_ENOMEM;
    s->history_chars += chars;
    return 0;
}

static int append_user(lo_agent_session *s, const char *text)
{
    return append(s, lo_llm_text_message(LO_ROLE_USER, text), (int64_t)strlen(text));
}

/* Steering turns become user messages (§2.6). */
static void drain_steering(lo_agent_session *s)
{
    char *m;
    while ((m = queue_pop(s, &s->steer))) {
        if (append_user(s, m) == 0)
            session_emit(s, LO_AGENT_STEERING_INJECTED, json_pack("{s:s}", "content", m));
        free(m);
    }
}

static bool steering_pending(lo_agent_session *s)
{
    pthread_mutex_lock(&s->mu);
    bool p = s->steer.head < s->steer.n;
    pthread_mutex_unlock(&s->mu);
    return p;
}

/* §5.5: about four characters a token, a warning past 80% of the window. */
static void check_context(lo_agent_session *s)
{
    int64_t window = s->entry && s->entry->context_window > 0 ? s->entry->context_window
                                                              : s->profile->context_window;
    int64_t approx = s->history_chars / 4;
    if (s->context_warned || window <= 0 || approx * 10 <= window * 8)
        return;
    s->context_warned = true;
    char msg[160];
    snprintf(msg, sizeof msg, "Context usage at ~%lld%% of the context window",
             (long long)(approx * 100 / window));
    session_emit(s, LO_AGENT_WARNING,
                 json_pack("{s:s, s:s, s:I, s:I}", "message", msg, "kind", "context_window",
                           "approx_tokens", (json_int_t)approx, "context_window",
                           (json_int_t)window));
}

/* ------------------------------------------------------------ tool calls */

typedef struct call_job {
    lo_agent_session *s;
    const lo_llm_tool_call *tc;
    char *content;                  /* what the model gets */
    bool is_error;
} call_job;

static json_t *args_json(const lo_llm_tool_call *tc)
{
    if (tc->arguments)
        return json_incref(tc->arguments);
    return tc->raw_arguments ? json_string(tc->raw_arguments) : json_object();
}

static void finish_error(call_job *j, char *msg, int64_t t0)
{
    session_emit(j->s, LO_AGENT_TOOL_CALL_END,
                 json_pack("{s:s, s:s, s:s, s:b, s:I}", "call_id", j->tc->id ? j->tc->id : "",
                           "tool_name", j->tc->name, "error", msg, "is_error", 1, "duration_ms",
                           (json_int_t)(agent_now_ms() - t0)));
    j->content = msg;
    j->is_error = true;
}

static char *unknown_tool(lo_agent_session *s, const char *name)
{
    const char *names[64];
    size_t n = 0;
    for (size_t i = 0; i < s->n_snap && n < 64; i++)
        names[n++] = s->snap[i].name;
    const char *near = lo_closest(name, names, n, 3);
    lo_buf b;
    lo_buf_init(&b, 0);
    lo_buf_printf(&b, "Unknown tool: %s", name);
    if (near)
        lo_buf_printf(&b, " (did you mean %s?)", near);
    return lo_buf_steal(&b);
}

static const lo_agent_tool *find_tool(lo_agent_session *s, const char *name)
{
    for (size_t i = 0; i < s->n_snap; i++)
        if (lo_str_eq(s->snap[i].name, name))
            return &s->snap[i];
    return NULL;
}

/* LOOKUP, VALIDATE, EXECUTE, TRUNCATE, EMIT (§3.8). The event gets the full
 * output, the model the truncated one. */
static void run_call(call_job *j)
{
    lo_agent_session *s = j->s;
    const lo_llm_tool_call *tc = j->tc;
    int64_t t0 = agent_now_ms();
    session_emit(s, LO_AGENT_TOOL_CALL_START,
                 json_pack("{s:s, s:s, s:o}", "tool_name", tc->name, "call_id",
                           tc->id ? tc->id : "", "arguments", args_json(tc)));
    const lo_agent_tool *t = find_tool(s, tc->name);
    if (!t) {
        finish_error(j, unknown_tool(s, tc->name), t0);
        return;
    }
    char why[512];
    lo_buf msg;
    lo_buf_init(&msg, 0);
    if (!tc->arguments || !json_is_object(tc->arguments)) {
        lo_buf_printf(&msg, "Invalid arguments for tool %s: the arguments are not a JSON "
                            "object: %.200s",
                      tc->name, tc->raw_arguments ? tc->raw_arguments : "(none)");
        finish_error(j, lo_buf_steal(&msg), t0);
        return;
    }
    int v = lo_json_schema_validate(t->parameters, tc->arguments, why, sizeof why);
    if (v == LO_EINVAL) {
        lo_buf_printf(&msg, "Invalid arguments for tool %s: %s", tc->name, why);
        finish_error(j, lo_buf_steal(&msg), t0);
        return;
    }
    lo_agent_tool_ctx ctx = {.env = s->env, .session = s, .config = &s->cfg,
                             .cancel = &s->abort, .call_id = tc->id, .ud = t->ud};
    lo_buf out;
    lo_buf_init(&out, 0);
    lo_error err;
    lo_error_clear(&err);
    int rc = t->fn(tc->arguments, &ctx, &out, &err);
    if (rc) {
        lo_buf_printf(&msg, "Tool error (%s): %s", tc->name,
                      err.msg[0] ? err.msg : lo_err_name(rc));
        lo_buf_release(&out);
        finish_error(j, lo_buf_steal(&msg), t0);
        return;
    }
    /* JSON needs valid UTF-8; a custom tool may hand back anything. */
    if (out.len && !lo_utf8_valid(out.data, out.len)) {
        lo_buf clean;
        lo_buf_init(&clean, 0);
        lo_utf8_append_clean(&clean, out.data, out.len);
        lo_buf_release(&out);
        out = clean;
    }
    const char *full = out.data ? out.data : "";
    char *shown = lo_agent_truncate(tc->name, full, out.len, t, s->cfg.limits, s->cfg.n_limits);
    if (!shown) {
        lo_buf_release(&out);
        lo_buf_printf(&msg, "Tool error (%s): out of memory truncating its output", tc->name);
        finish_error(j, lo_buf_steal(&msg), t0);
        return;
    }
    session_emit(s, LO_AGENT_TOOL_CALL_END,
                 json_pack("{s:s, s:s, s:s, s:b, s:b, s:I}", "call_id", tc->id ? tc->id : "",
                           "tool_name", tc->name, "output", full, "is_error", 0, "truncated",
                           strcmp(shown, full) != 0, "duration_ms",
                           (json_int_t)(agent_now_ms() - t0)));
    j->content = shown;
    lo_buf_release(&out);
}

static void *call_thread(void *arg)
{
    run_call(arg);
    return NULL;
}

/* More calls than this in one round run in waves. */
#define MAX_PARALLEL_CALLS 16

static void run_calls(lo_agent_session *s, call_job *jobs, size_t n)
{
    if (!lo_agent_profile_parallel_tools(s->profile) || n < 2) {
        for (size_t i = 0; i < n; i++)
            run_call(&jobs[i]);
        return;
    }
    for (size_t base = 0; base < n; base += MAX_PARALLEL_CALLS) {
        size_t m = n - base < MAX_PARALLEL_CALLS ? n - base : MAX_PARALLEL_CALLS;
        pthread_t th[MAX_PARALLEL_CALLS];
        bool started[MAX_PARALLEL_CALLS] = {0};
        for (size_t i = 0; i < m; i++)
            started[i] = pthread_create(&th[i], NULL, call_thread, &jobs[base + i]) == 0;
        for (size_t i = 0; i < m; i++) {
            if (started[i])
                pthread_join(th[i], NULL);
            else
                run_call(&jobs[base + i]); /* no thread to be had: run it here */
        }
    }
}

static int execute_calls(lo_agent_session *s, const lo_llm_tool_call **calls, size_t n)
{
    call_job *jobs = lo_calloc(n, sizeof *jobs);
    if (!jobs)
        return LO_ENOMEM;
    for (size_t i = 0; i < n; i++)
        jobs[i] = (call_job){.s = s, .tc = calls[i]};
    run_calls(s, jobs, n);
    int rc = 0;
    /* Results go back in call order whatever order they finished in. */
    for (size_t i = 0; i < n; i++) {
        const char *content = jobs[i].content ? jobs[i].content : "";
        if (!rc)
            rc = append(s, lo_llm_tool_result_message(calls[i]->id, content, jobs[i].is_error),
                        (int64_t)strlen(content));
        loop_detector_push(&s->loops, calls[i]->name, calls[i]->arguments,
                           calls[i]->raw_arguments);
        free(jobs[i].content);
    }
    free(jobs);
    pthread_mutex_lock(&s->mu);
    s->tool_calls += (int)n;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ------------------------------------------------------------ model calls */

typedef struct stream_ctx {
    lo_agent_session *s;
    bool started;
} stream_ctx;

static int on_stream(const lo_llm_stream_event *ev, void *ud)
{
    stream_ctx *c = ud;
    if (ev->type == LO_STREAM_TEXT_DELTA && ev->delta && *ev->delta) {
        if (!c->started)
            session_emit(c->s, LO_AGENT_ASSISTANT_TEXT_START, NULL);
        c->started = true;
        session_emit(c->s, LO_AGENT_ASSISTANT_TEXT_DELTA, json_pack("{s:s}", "delta", ev->delta));
    }
    return atomic_load(&c->s->abort) ? 1 : 0;
}

/* The effort for this call: what the host set last. A model the catalog
 * says cannot reason gets none (and one warning). */
static void set_effort(lo_agent_session *s)
{
    pthread_mutex_lock(&s->mu);
    char *e = s->effort ? lo_strdup(s->effort) : NULL;
    pthread_mutex_unlock(&s->mu);
    if (e && s->entry && !s->entry->supports_reasoning) {
        if (!s->effort_warned) {
            char msg[300];
            snprintf(msg, sizeof msg, "model %s does not support reasoning; reasoning_effort %s "
                                      "is not sent", s->model, e);
            session_emit(s, LO_AGENT_WARNING,
                         json_pack("{s:s, s:s}", "message", msg, "kind", "reasoning_effort"));
        }
        s->effort_warned = true;
        free(e);
        e = NULL;
    }
    free(s->req->reasoning_effort);
    s->req->reasoning_effort = e;
}

static bool has_content(const lo_llm_message *m)
{
    for (size_t i = 0; i < m->n_parts; i++)
        if (m->parts[i].kind != LO_CONTENT_TEXT || (m->parts[i].text && *m->parts[i].text))
            return true;
    return false;
}

/* Outcome of one step of the loop. */
enum step { STEP_TOOLS, STEP_DONE, STEP_FAILED };

static int model_error(lo_agent_session *s, int rc, const lo_llm_error *le, bool *close,
                       lo_error *err)
{
    if (rc == LO_ECANCELED || atomic_load(&s->abort))
        return lo_error_set(err, LO_ECANCELED, "session %s aborted", s->id);
    const char *kind = lo_llm_error_kind_name(le->kind);
    if (le->kind == LO_LLM_ERR_CONTEXT_LENGTH) {
        /* §9.11: a warning, and the session stays usable. */
        session_emit(s, LO_AGENT_WARNING,
                     json_pack("{s:s, s:s}", "message", le->message, "kind", "context_length"));
        return lo_error_set(err, LO_ETOOBIG, "model call failed: %s: %s", kind, le->message);
    }
    *close = !le->retryable;
    session_emit(s, LO_AGENT_ERROR,
                 json_pack("{s:s, s:s, s:b, s:i}", "message", le->message, "kind", kind,
                           "retryable", le->retryable, "status", le->status));
    return lo_error_set(err, rc ? rc : LO_EIO, "model call failed: %s: %s", kind, le->message);
}

static enum step model_step(lo_agent_session *s, const lo_llm_tool_call ***calls, size_t *n,
                            int *rc, bool *close, lo_error *err)
{
    *calls = NULL;
    *n = 0;
    if ((*rc = session_refresh(s, err)) != 0)
        return STEP_FAILED;
    set_effort(s);
    lo_llm_response *resp = NULL;
    lo_llm_error le;
    memset(&le, 0, sizeof le);
    stream_ctx sc = {.s = s};
    int r = s->cfg.stream ? lo_llm_stream(s->client, s->req, on_stream, &sc, &resp, &le)
                          : lo_llm_complete(s->client, s->req, &resp, &le);
    if (r == 0)
        session_account(s, &resp->usage); /* paid for, even if dropped below */
    if (r == 0 && atomic_load(&s->abort)) {
        lo_llm_response_free(resp);
        r = LO_ECANCELED;
    }
    if (r != 0) {
        *rc = model_error(s, r, &le, close, err);
        return STEP_FAILED;
    }
    char *text = lo_llm_response_text(resp), *reasoning = lo_llm_response_reasoning(resp);
    /* The calls point into the message, which moves into the history. */
    *calls = lo_llm_response_tool_calls(resp, n);
    lo_llm_message *m = resp->message;
    resp->message = NULL;
    int64_t chars = (int64_t)(text ? strlen(text) : 0) + (int64_t)(reasoning ? strlen(reasoning) : 0);
    for (size_t i = 0; i < *n; i++)
        chars += (int64_t)strlen((*calls)[i]->name) +
                 (int64_t)((*calls)[i]->raw_arguments ? strlen((*calls)[i]->raw_arguments) : 16);
    pthread_mutex_lock(&s->mu);
    s->turns++;
    if (text) {
        free(s->last_text);
        s->last_text = text;
    }
    pthread_mutex_unlock(&s->mu);
    if (!sc.started)
        session_emit(s, LO_AGENT_ASSISTANT_TEXT_START, NULL);
    session_emit(s, LO_AGENT_ASSISTANT_TEXT_END,
                 json_pack("{s:s, s:o, s:i, s:s, s:o, s:o}", "text", s->last_text, "reasoning",
                           reasoning ? json_string(reasoning) : json_null(), "tool_calls",
                           (int)*n, "finish", lo_llm_finish_name(resp->finish.reason),
                           "response_id", resp->id ? json_string(resp->id) : json_null(),
                           "usage", agent_usage_json(&resp->usage)));
    free(reasoning);
    lo_llm_response_free(resp);
    if (has_content(m)) {
        if (append(s, m, chars) != 0) {
            free(*calls);
            *calls = NULL;
            *rc = lo_error_set(err, LO_ENOMEM, "out of memory");
            return STEP_FAILED;
        }
    } else {
        lo_llm_message_free(m);
    }
    check_context(s);
    return *n ? STEP_TOOLS : STEP_DONE;
}

/* ------------------------------------------------------------ the loop */

static void emit_turn_limit(lo_agent_session *s, const char *which, int value, int limit)
{
    session_emit(s, LO_AGENT_TURN_LIMIT,
                 json_pack("{s:s, s:i, s:i}", "limit", which,
                           strcmp(which, "max_turns") == 0 ? "total_turns" : "round", value,
                           "max", limit));
}

/* Text-only answers that end in a question wait for the user (§2.3). */
static bool asks_question(const char *text)
{
    size_t n = strlen(text);
    while (n && (text[n - 1] == ' ' || text[n - 1] == '\n' || text[n - 1] == '\t'))
        n--;
    return n && text[n - 1] == '?';
}

static int process_one(lo_agent_session *s, const char *input, bool *close, bool *awaiting,
                       lo_error *err)
{
    if (append_user(s, input) != 0)
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    session_emit(s, LO_AGENT_USER_INPUT, json_pack("{s:s}", "content", input));
    drain_steering(s);
    int rounds = 0;
    for (;;) {
        if (s->cfg.max_tool_rounds_per_input > 0 && rounds >= s->cfg.max_tool_rounds_per_input) {
            emit_turn_limit(s, "max_tool_rounds_per_input", rounds,
                            s->cfg.max_tool_rounds_per_input);
            return 0;
        }
        if (s->cfg.max_turns > 0 && lo_agent_turns(s) >= s->cfg.max_turns) {
            emit_turn_limit(s, "max_turns", lo_agent_turns(s), s->cfg.max_turns);
            return 0;
        }
        if (atomic_load(&s->abort))
            return lo_error_set(err, LO_ECANCELED, "session %s aborted", s->id);
        const lo_llm_tool_call **calls;
        size_t n;
        int rc = 0;
        enum step st = model_step(s, &calls, &n, &rc, close, err);
        if (st == STEP_FAILED)
            return rc;
        if (st == STEP_DONE) {
            /* A steer that arrived during the final call is answered now
             * rather than left for the next input. */
            if (steering_pending(s) && !atomic_load(&s->abort)) {
                drain_steering(s);
                continue;
            }
            *awaiting = asks_question(s->last_text);
            return 0;
        }
        rounds++;
        rc = execute_calls(s, calls, n);
        free(calls);
        if (rc)
            return lo_error_set(err, rc, "out of memory");
        if (atomic_load(&s->abort))
            return lo_error_set(err, LO_ECANCELED, "session %s aborted", s->id);
        drain_steering(s);
        if (s->cfg.enable_loop_detection && loop_detector_check(&s->loops)) {
            char warning[300];
            snprintf(warning, sizeof warning,
                     "Loop detected: the last %d tool calls follow a repeating pattern. Try a "
                     "different approach.",
                     s->cfg.loop_detection_window);
            loop_detector_reset(&s->loops);
            if (append_user(s, warning) == 0)
                session_emit(s, LO_AGENT_LOOP_DETECTION, json_pack("{s:s}", "message", warning));
        }
    }
}

int session_process(lo_agent_session *s, const char *input, lo_error *err)
{
    char *next = lo_strdup(input);
    int rc = next ? 0 : lo_error_set(err, LO_ENOMEM, "out of memory");
    bool close = false, awaiting = false;
    while (next && rc == 0) {
        awaiting = false;
        rc = process_one(s, next, &close, &awaiting, err);
        free(next);
        next = rc == 0 ? queue_pop(s, &s->follow) : NULL;
    }
    free(next);
    if (rc == LO_ECANCELED || close || atomic_load(&s->abort)) {
        session_shutdown(s);
        return rc ? rc : lo_error_set(err, LO_ECANCELED, "session %s aborted", s->id);
    }
    pthread_mutex_lock(&s->mu);
    s->state = awaiting ? LO_AGENT_AWAITING_INPUT : LO_AGENT_IDLE;
    pthread_mutex_unlock(&s->mu);
    session_emit(s, LO_AGENT_PROCESSING_END,
                 json_pack("{s:s, s:i, s:i}", "state", awaiting ? "awaiting_input" : "idle",
                           "turns", lo_agent_turns(s), "tool_calls", lo_agent_tool_calls(s)));
    return rc;
}
