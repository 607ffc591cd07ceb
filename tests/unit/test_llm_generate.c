/* generate() and generate_stream() (src/llm/generate.c, tools.c) against
 * the in-process twin: prompt standardisation, active tools and the tool
 * loop, parallel execution on threads with all results in one
 * continuation, unknown tools, argument validation, failing handlers,
 * passive tools, max_tool_rounds, stop_when, streams with STEP_FINISH,
 * cancellation, the total and per-step timeouts, and the default client.
 * The tape is tests/data/tapes/llm.jsonl. */
#include <time.h>
#include <unistd.h>

#include "llm_twin.h"

static const char *const TAPES[] = {"llm.jsonl", NULL};

TWIN_GROUP_FIXTURES(TAPES)

/* ------------------------------------------------------------ handlers */

typedef struct tool_log {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int calls, active, max_active;
    char cities[4][64];
} tool_log;

static tool_log LOG = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void log_reset(void)
{
    pthread_mutex_lock(&LOG.mu);
    LOG.calls = LOG.active = LOG.max_active = 0;
    memset(LOG.cities, 0, sizeof LOG.cities);
    pthread_mutex_unlock(&LOG.mu);
}

/* get_weather. With ud set, each call waits (up to 5 s) until ud calls are
 * running at once: two calls that overlap prove they ran concurrently. */
static int weather(void *ud, const json_t *args, const lo_llm_tool_ctx *ctx, json_t **result)
{
    int want = ud ? *(int *)ud : 0;
    const char *city = json_string_value(json_object_get(args, "city"));
    assert_non_null(city); /* validated before the handler runs */
    assert_string_equal(ctx->tool_name, "get_weather");
    assert_non_null(ctx->tool_call_id);
    pthread_mutex_lock(&LOG.mu);
    if (LOG.calls < 4)
        snprintf(LOG.cities[LOG.calls], sizeof LOG.cities[0], "%s", city);
    LOG.calls++;
    LOG.active++;
    if (LOG.active > LOG.max_active)
        LOG.max_active = LOG.active;
    pthread_cond_broadcast(&LOG.cv);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    while (want && LOG.active < want &&
           pthread_cond_timedwait(&LOG.cv, &LOG.mu, &until) == 0)
        ;
    pthread_mutex_unlock(&LOG.mu);
    char text[128];
    if (strcmp(city, "Paris") == 0)
        snprintf(text, sizeof text, "PARIS-WEATHER");
    else
        snprintf(text, sizeof text, "sunny in %s", city);
    usleep(20000);
    pthread_mutex_lock(&LOG.mu);
    LOG.active--;
    pthread_mutex_unlock(&LOG.mu);
    *result = json_string(text);
    return 0;
}

static int step_tool(void *ud, const json_t *args, const lo_llm_tool_ctx *ctx, json_t **result)
{
    (void)ud;
    (void)ctx;
    char text[64];
    snprintf(text, sizeof text, "step %lld done",
             (long long)json_integer_value(json_object_get(args, "n")));
    *result = json_string(text);
    return 0;
}

static int flaky(void *ud, const json_t *args, const lo_llm_tool_ctx *ctx, json_t **result)
{
    (void)ud;
    (void)args;
    (void)ctx;
    *result = json_string("disk on fire");
    return 1;
}

/* A handler that cancels the whole generate from inside. */
static int canceller(void *ud, const json_t *args, const lo_llm_tool_ctx *ctx, json_t **result)
{
    (void)args;
    (void)ctx;
    atomic_store((atomic_bool *)ud, true);
    *result = json_string("PARIS-WEATHER");
    return 0;
}

static void add_tool(lo_llm_request *r, const char *name, json_t *schema)
{
    lo_error e;
    if (lo_llm_request_add_tool(r, name, "a test tool", schema, &e) != 0)
        fail_msg("add_tool %s: %s", name, e.msg);
}

/* A middleware keeping a copy of the last request it saw. */
static lo_llm_request *LAST_SENT;

static int keep_request(void *ud, const lo_llm_request *req, lo_llm_next *next,
                        lo_llm_response **out, lo_llm_error *err)
{
    (void)ud;
    lo_llm_request_free(LAST_SENT);
    LAST_SENT = lo_llm_request_clone(req);
    return lo_llm_next_complete(next, req, out, err);
}

/* ------------------------------------------------------------ prompt standardisation */

static void test_prompt_and_system(void **state)
{
    twin_fixture *f = *state;
    lo_llm_middleware mw = {.name = "keep", .complete = keep_request};
    assert_int_equal(lo_llm_client_use(f->client, &mw), 0);
    lo_llm_request *r = empty_for("anthropic");
    lo_llm_generate_opts o;
    lo_llm_generate_opts_init(&o);
    o.prompt = "hello there";
    o.system = "Be brief.";
    lo_llm_result *res = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_generate(f->client, r, &o, &res, &err), 0);
    assert_string_equal(res->text, "Hello! How can I help you today?");
    assert_int_equal(res->n_steps, 1);
    assert_int_equal(res->finish, LO_FINISH_STOP);
    assert_null(res->reasoning);
    assert_int_equal(res->n_tool_calls, 0);
    assert_true(res->usage.input_tokens > 0 && res->usage.output_tokens > 0);
    assert_int_equal(res->total_usage.input_tokens, res->usage.input_tokens);
    /* the system message first, the prompt last; the caller's request untouched */
    assert_int_equal(LAST_SENT->n_messages, 2);
    assert_int_equal(LAST_SENT->messages[0]->role, LO_ROLE_SYSTEM);
    assert_int_equal(LAST_SENT->messages[1]->role, LO_ROLE_USER);
    assert_int_equal(r->n_messages, 0);
    assert_int_equal(res->conversation->n_messages, 2);
    lo_llm_result_free(res);

    /* a prompt and a conversation: one or the other */
    assert_int_equal(lo_llm_request_add_message(r, lo_llm_text_message(LO_ROLE_USER, "hi")), 0);
    res = (lo_llm_result *)1;
    assert_int_equal(lo_llm_generate(f->client, r, &o, &res, &err), LO_EINVAL);
    assert_null(res);
    assert_int_equal(err.kind, LO_LLM_ERR_INVALID_REQUEST);
    assert_non_null(strstr(err.message, "both a prompt and messages"));

    /* nothing to send */
    lo_llm_request *empty = empty_for("anthropic");
    assert_int_equal(lo_llm_generate(f->client, empty, NULL, &res, &err), LO_EINVAL);
    assert_non_null(strstr(err.message, "nothing to send"));

    /* a handler for a tool the request does not define */
    lo_llm_tool_handler h = {"get_weather", weather, NULL};
    o.prompt = NULL;
    o.handlers = &h;
    o.n_handlers = 1;
    assert_int_equal(lo_llm_generate(f->client, r, &o, &res, &err), LO_EINVAL);
    assert_non_null(strstr(err.message, "get_weather"));
    lo_llm_request_free(empty);
    lo_llm_request_free(r);
    lo_llm_request_free(LAST_SENT);
    LAST_SENT = NULL;
}

/* ------------------------------------------------------------ the tool loop */

static void test_single_tool_call(void **state)
{
    twin_fixture *f = *state;
    log_reset();
    lo_llm_request *r = ask_for("openai", "single weather");
    add_weather_tool(r);
    lo_llm_tool_handler h = {"get_weather", weather, NULL};
    lo_llm_generate_opts o;
    lo_llm_generate_opts_init(&o);
    o.handlers = &h;
    o.n_handlers = 1;
    lo_llm_result *res = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_generate(f->client, r, &o, &res, &err), 0);
    assert_int_equal(res->n_steps, 2);
    assert_string_equal(res->text, "In Paris: PARIS-WEATHER.");
    assert_int_equal(LOG.calls, 1);
    assert_string_equal(LOG.cities[0], "Paris");
    /* step 1: the call and its result; step 2: the answer */
    const lo_llm_step *s = &res->steps[0];
    assert_int_equal(s->response->finish.reason, LO_FINISH_TOOL_CALLS);
    assert_int_equal(s->n_tool_calls, 1);
    assert_int_equal(s->n_tool_results, 1);
    assert_string_equal(s->tool_results[0].tool_call_id, s->tool_calls[0]->id);
    assert_string_equal(json_string_value(s->tool_results[0].content), "PARIS-WEATHER");
    assert_false(s->tool_results[0].is_error);
    assert_int_equal(res->steps[1].n_tool_calls, 0);
    /* total usage is the sum of the steps */
    assert_int_equal(res->total_usage.input_tokens,
                     res->steps[0].response->usage.input_tokens +
                         res->steps[1].response->usage.input_tokens);
    assert_int_equal(res->total_usage.output_tokens,
                     res->steps[0].response->usage.output_tokens +
                         res->steps[1].response->usage.output_tokens);
    /* the conversation of the last step: prompt, the call, its result */
    assert_int_equal(res->conversation->n_messages, 3);
    assert_int_equal(res->conversation->messages[2]->role, LO_ROLE_TOOL);
    lo_llm_result_free(res);
    lo_llm_request_free(r);
}

static void test_parallel_calls(void **state)
{
    twin_fixture *f = *state;
    static const char *const providers[] = {"anthropic", "openai", "openai_chat", "gemini"};
    lo_llm_middleware mw = {.name = "keep", .complete = keep_request};
    assert_int_equal(lo_llm_client_use(f->client, &mw), 0);
    for (size_t p = 0; p < 4; p++) {
        log_reset();
        lo_llm_request *r = ask_for(providers[p], "two cities");
        add_weather_tool(r);
        int together = 2;
        lo_llm_tool_handler h = {"get_weather", weather, &together};
        lo_llm_generate_opts o;
        lo_llm_generate_opts_init(&o);
        o.handlers = &h;
        o.n_handlers = 1;
        lo_llm_result *res = NULL;
        lo_llm_error err;
        if (lo_llm_generate(f->client, r, &o, &res, &err) != 0)
            fail_msg("%s: %s", providers[p], err.message);
        /* both handlers were running at the same time */
        assert_int_equal(LOG.calls, 2);
        assert_int_equal(LOG.max_active, 2);
        assert_int_equal(res->n_steps, 2);
        assert_string_equal(res->text, "San Francisco and New York are both sunny.");
        /* results in call order, all in the one continuation request */
        const lo_llm_step *s = &res->steps[0];
        assert_int_equal(s->n_tool_results, 2);
        assert_string_equal(json_string_value(s->tool_results[0].content),
                            "sunny in San Francisco");
        assert_string_equal(json_string_value(s->tool_results[1].content), "sunny in New York");
        assert_int_equal(lo_twin_calls(f->twin), (long)(2 * (p + 1)));
        size_t results = 0;
        for (size_t i = 0; i < LAST_SENT->n_messages; i++)
            for (size_t j = 0; j < LAST_SENT->messages[i]->n_parts; j++)
                results += LAST_SENT->messages[i]->parts[j].kind == LO_CONTENT_TOOL_RESULT;
        assert_int_equal(results, 2);
        lo_llm_result_free(res);
        lo_llm_request_free(r);
    }
    lo_llm_request_free(LAST_SENT);
    LAST_SENT = NULL;
}

static json_t *step_schema(void)
{
    return json_pack("{s:s, s:{s:{s:s}}, s:[s]}", "type", "object", "properties", "n", "type",
                     "integer", "required", "n");
}

static void test_rounds(void **state)
{
    twin_fixture *f = *state;
    lo_llm_request *r = ask_for("gemini", "count to three");
    add_tool(r, "step", step_schema());
    lo_llm_tool_handler h = {"step", step_tool, NULL};
    lo_llm_generate_opts o;
    lo_llm_generate_opts_init(&o);
    o.handlers = &h;
    o.n_handlers = 1;
    o.max_tool_rounds = 3;
    lo_llm_result *res = NULL;
    lo_llm_error err;
    /* three rounds of tools, then the answer: four model calls */
    assert_int_equal(lo_llm_generate(f->client, r, &o, &res, &err), 0);
    assert_int_equal(res->n_steps, 4);
    assert_string_equal(res->text, "Counted to three.");
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(res->steps[i].n_tool_results, 1);
    lo_llm_result_free(res);

    /* two rounds: the third call comes back unexecuted */
    o.max_tool_rounds = 2;
    assert_int_equal(lo_llm_generate(f->client, r, &o, &res, &err), 0);
    assert_int_equal(res->n_steps, 3);
    assert_int_equal(res->finish, LO_FINISH_TOOL_CALLS);
    assert_int_equal(res->n_tool_calls, 1);
    assert_int_equal(res->n_tool_results, 0);
    assert_int_equal(json_integer_value(json_object_get(res->tool_calls[0]->arguments, "n")), 3);
    lo_llm_result_free(res);

    /* 0: no tool runs at all */
    o.max_tool_rounds = 0;
    assert_int_equal(lo_llm_generate(f->client, r, &o, &res, &err), 0);
    assert_int_equal(res->n_steps, 1);
    assert_int_equal(res->n_tool_calls, 1);
    assert_int_equal(res->n_tool_results, 0);
    lo_llm_result_free(res);
    lo_llm_request_free(r);
}

static bool stop_after_two(void *ud, const lo_llm_step *steps, size_t n)
{
    (void)steps;
    (*(int *)ud)++;
    return n >= 2;
}

static void test_stop_when(void **state)
{
    twin_fixture *f = *state;
    lo_llm_request *r = ask_for("anthropic", "count to three");
    add_tool(r, "step", step_schema());
    lo_llm_tool_handler h = {"step", step_tool, NULL};
    lo_llm_generate_opts o;
    lo_llm_generate_opts_init(&o);
    o.handlers = &h;
    o.n_handlers = 1;
    o.max_tool_rounds = 5;
    int asked = 0;
    o.stop_when = stop_after_two;
    o.stop_ud = &asked;
    lo_llm_result *res = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_generate(f->client, r, &o, &res, &err), 0);
    assert_int_equal(res->n_steps, 2);
    assert_int_equal(asked, 2);
    /* the last step's tools ran; their results were not sent */
    assert_int_equal(res->n_tool_results, 1);
    assert_string_equal(json_string_value(res->tool_results[0].content), "step 2 done");
    lo_llm_result_free(res);
    lo_llm_request_free(r);
}

/* get_weather without checks of its own: says what type city has. */
static int city_type(void *ud, const json_t *args, const lo_llm_tool_ctx *ctx, json_t **result)
{
    (void)ud;
    (void)ctx;
    *result = json_string(json_is_string(json_object_get(args, "city")) ? "a string" : "not a string");
    return 0;
}

static void test_unknown_tool_and_validation(void **state)
{
    twin_fixture *f = *state;
    log_reset();
    lo_llm_tool_handler h = {"get_weather", weather, NULL};
    lo_llm_generate_opts o;
    lo_llm_generate_opts_init(&o);
    o.handlers = &h;
    o.n_handlers = 1;
    lo_llm_result *res = NULL;
    lo_llm_error err;

    /* a tool the request does not define: an error result, not a failure */
    lo_llm_request *r = ask_for("anthropic", "call a ghost");
    add_weather_tool(r);
    assert_int_equal(lo_llm_generate(f->client, r, &o, &res, &err), 0);
    assert_int_equal(res->n_steps, 2);
    const lo_llm_tool_result *tr = &res->steps[0].tool_results[0];
    assert_true(tr->is_error);
    assert_string_equal(json_string_value(tr->content), "Unknown tool: ghost_tool");
    assert_string_equal(res->text, "There is no ghost tool.");
    lo_llm_result_free(res);
    lo_llm_request_free(r);

    /* arguments against the schema: the handler never sees them */
    r = ask_for("openai_chat", "bad arguments");
    add_weather_tool(r);
    assert_int_equal(lo_llm_generate(f->client, r, &o, &res, &err), 0);
    tr = &res->steps[0].tool_results[0];
    assert_true(tr->is_error);
    assert_string_equal(json_string_value(tr->content),
                        "invalid arguments for tool get_weather: $.city: expected string, got "
                        "number");
    assert_int_equal(LOG.calls, 0);
    assert_string_equal(res->text, "I sent bad arguments.");
    lo_llm_result_free(res);

    /* validation off: the handler gets them as they came */
    lo_llm_tool_handler raw = {"get_weather", city_type, NULL};
    o.handlers = &raw;
    o.no_validation = true;
    assert_int_equal(lo_llm_generate(f->client, r, &o, &res, &err), 0);
    tr = &res->steps[0].tool_results[0];
    assert_false(tr->is_error);
    assert_string_equal(json_string_value(tr->content), "not a string");
    lo_llm_result_free(res);
    lo_llm_request_free(r);
}

static void test_failing_and_passive(void **state)
{
    twin_fixture *f = *state;
    lo_llm_tool_handler hs[] = {{"flaky", flaky, NULL}};
    lo_llm_generate_opts o;
    lo_llm_generate_opts_init(&o);
    o.handlers = hs;
    o.n_handlers = 1;
    lo_llm_result *res = NULL;
    lo_llm_error err;

    /* a handler that fails: the model hears of it */
    lo_llm_request *r = ask_for("gemini", "failing tool");
    add_tool(r, "flaky", NULL);
    assert_int_equal(lo_llm_generate(f->client, r, &o, &res, &err), 0);
    assert_int_equal(res->n_steps, 2);
    assert_true(res->steps[0].tool_results[0].is_error);
    assert_string_equal(json_string_value(res->steps[0].tool_results[0].content), "disk on fire");
    assert_string_equal(res->text, "The tool failed: disk on fire.");
    lo_llm_result_free(res);
    lo_llm_request_free(r);

    /* a passive tool (no handler): the calls come back, nothing runs */
    r = ask_for("openai", "passive please");
    add_tool(r, "approve", NULL);
    add_tool(r, "flaky", NULL);
    assert_int_equal(lo_llm_generate(f->client, r, &o, &res, &err), 0);
    assert_int_equal(res->n_steps, 1);
    assert_int_equal(res->finish, LO_FINISH_TOOL_CALLS);
    assert_int_equal(res->n_tool_calls, 1);
    assert_string_equal(res->tool_calls[0]->name, "approve");
    assert_string_equal(json_string_value(json_object_get(res->tool_calls[0]->arguments, "what")),
                        "deploy");
    assert_int_equal(res->n_tool_results, 0);
    /* the caller continues: the assistant turn and its own result */
    lo_llm_request *next = lo_llm_request_clone(res->conversation);
    lo_llm_request_add_message(next, lo_llm_message_clone(res->response->message));
    lo_llm_request_add_message(next, lo_llm_tool_result_message(res->tool_calls[0]->id,
                                                                "PARIS-WEATHER", false));
    lo_llm_result_free(res);
    assert_int_equal(lo_llm_generate(f->client, next, &o, &res, &err), 0);
    assert_string_equal(res->text, "In Paris: PARIS-WEATHER.");
    lo_llm_result_free(res);
    lo_llm_request_free(next);
    lo_llm_request_free(r);
}

/* ------------------------------------------------------------ streams */

static void test_stream_with_tools(void **state)
{
    twin_fixture *f = *state;
    static const char *const providers[] = {"anthropic", "openai", "openai_chat", "gemini"};
    for (size_t p = 0; p < 4; p++) {
        lo_llm_request *r = ask_for(providers[p], "count to three");
        add_tool(r, "step", step_schema());
        lo_llm_tool_handler h = {"step", step_tool, NULL};
        lo_llm_generate_opts o;
        lo_llm_generate_opts_init(&o);
        o.handlers = &h;
        o.n_handlers = 1;
        o.max_tool_rounds = 3;
        collected c;
        collected_init(&c);
        lo_llm_result *res = NULL;
        lo_llm_error err;
        if (lo_llm_generate_stream(f->client, r, &o, collect_event, &c, &res, &err) != 0)
            fail_msg("%s: %s", providers[p], err.message);
        /* four streamed steps: three end in STEP_FINISH, the last in FINISH */
        assert_int_equal(res->n_steps, 4);
        assert_int_equal(c.starts, 4);
        assert_int_equal(c.step_finishes, 3);
        assert_int_equal(c.finishes, 1);
        assert_int_equal(c.last, LO_STREAM_FINISH);
        assert_int_equal(c.call_starts, 3);
        assert_int_equal(c.call_ends, 3);
        assert_true(c.call_deltas >= 3);
        assert_int_equal(c.errors, 0);
        assert_string_equal(c.text.data, "Counted to three.");
        assert_string_equal(res->text, "Counted to three.");
        lo_buf_release(&c.text);
        lo_llm_result_free(res);
        lo_llm_request_free(r);
    }
}

static void test_stream_plain_and_error(void **state)
{
    twin_fixture *f = *state;
    lo_llm_request *r = empty_for("openai");
    lo_llm_generate_opts o;
    lo_llm_generate_opts_init(&o);
    o.prompt = "Write a haiku";
    collected c;
    collected_init(&c);
    lo_llm_result *res = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_generate_stream(f->client, r, &o, collect_event, &c, &res, &err), 0);
    assert_string_equal(c.text.data, res->text);
    assert_true(c.deltas > 1);
    assert_int_equal(c.text_starts, 1);
    assert_int_equal(c.text_ends, 1);
    assert_int_equal(c.finishes, 1);
    assert_int_equal(c.step_finishes, 0);
    lo_buf_release(&c.text);
    lo_llm_result_free(res);

    /* a failing step: one ERROR event, last */
    collected_init(&c);
    o.prompt = "rate limit always";
    assert_int_equal(lo_llm_generate_stream(f->client, r, &o, collect_event, &c, &res, &err),
                     LO_EIO);
    assert_null(res);
    assert_int_equal(err.kind, LO_LLM_ERR_RATE_LIMIT);
    assert_int_equal(c.errors, 1);
    assert_int_equal(c.last, LO_STREAM_ERROR);
    lo_buf_release(&c.text);
    lo_llm_request_free(r);
}

/* ------------------------------------------------------------ cancellation, timeouts */

static void test_cancel(void **state)
{
    twin_fixture *f = *state;
    atomic_bool flag = false;
    lo_llm_request *r = ask_for("anthropic", "single weather");
    add_weather_tool(r);
    lo_llm_tool_handler h = {"get_weather", canceller, &flag};
    lo_llm_generate_opts o;
    lo_llm_generate_opts_init(&o);
    o.handlers = &h;
    o.n_handlers = 1;
    o.cancel = &flag;
    lo_llm_result *res = NULL;
    lo_llm_error err;
    /* the handler cancels: no second model call */
    assert_int_equal(lo_llm_generate(f->client, r, &o, &res, &err), LO_ECANCELED);
    assert_int_equal(err.kind, LO_LLM_ERR_ABORT);
    assert_null(res);
    assert_int_equal(lo_twin_calls(f->twin), 1);
    /* cancelled before it starts */
    assert_int_equal(lo_llm_generate(f->client, r, &o, &res, &err), LO_ECANCELED);
    assert_int_equal(lo_twin_calls(f->twin), 1);
    lo_llm_request_free(r);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_timeouts(void **state)
{
    twin_fixture *f = *state;
    lo_llm_request *r = ask_for("gemini", "slow answer"); /* the twin waits 1.5 s */
    lo_llm_generate_opts o;
    lo_llm_generate_opts_init(&o);
    lo_llm_result *res = NULL;
    lo_llm_error err;
    o.step_timeout_ms = 200;
    double t0 = now_s();
    assert_int_equal(lo_llm_generate(f->client, r, &o, &res, &err), LO_EIO);
    assert_int_equal(err.kind, LO_LLM_ERR_REQUEST_TIMEOUT);
    assert_true(now_s() - t0 < 1.4);
    o.step_timeout_ms = 0;
    o.timeout_ms = 200;
    t0 = now_s();
    assert_int_equal(lo_llm_generate(f->client, r, &o, &res, &err), LO_EIO);
    assert_int_equal(err.kind, LO_LLM_ERR_REQUEST_TIMEOUT);
    assert_true(now_s() - t0 < 1.4);
    /* generous limits: it arrives */
    o.timeout_ms = 10000;
    o.step_timeout_ms = 8000;
    assert_int_equal(lo_llm_generate(f->client, r, &o, &res, &err), 0);
    assert_string_equal(res->text, "Sorry for the wait.");
    lo_llm_result_free(res);
    lo_llm_request_free(r);
}

/* The total timeout also bounds the waits between retries. */
static void test_total_timeout_stops_retries(void **state)
{
    twin_fixture *f = *state;
    lo_llm_request *r = ask_for("openai", "rate limit always"); /* Retry-After: 1 */
    lo_llm_generate_opts o;
    lo_llm_generate_opts_init(&o);
    o.max_retries = 5;
    o.timeout_ms = 1500;
    lo_llm_result *res = NULL;
    lo_llm_error err;
    double t0 = now_s();
    assert_int_equal(lo_llm_generate(f->client, r, &o, &res, &err), LO_EIO);
    assert_int_equal(err.kind, LO_LLM_ERR_RATE_LIMIT);
    assert_true(now_s() - t0 < 3.0);
    assert_true(lo_twin_calls(f->twin) <= 2);
    lo_llm_request_free(r);
}

/* ------------------------------------------------------------ the default client */

static void test_default_client(void **state)
{
    twin_fixture *f = *state;
    lo_llm_set_default_client(f->client);
    lo_llm_error err;
    assert_ptr_equal(lo_llm_default_client(&err), f->client);
    lo_llm_request *r = ask_for("anthropic", "hello there");
    lo_llm_result *res = NULL;
    assert_int_equal(lo_llm_generate(NULL, r, NULL, &res, &err), 0);
    assert_string_equal(res->text, "Hello! How can I help you today?");
    lo_llm_result_free(res);
    lo_llm_request_free(r);
    lo_llm_set_default_client(NULL);

    /* lazily from the environment: the twin's key and URL */
    setenv("ANTHROPIC_API_KEY", TWIN_KEY, 1);
    setenv("ANTHROPIC_BASE_URL", lo_twin_base_url(f->twin), 1);
    lo_llm_client *env = lo_llm_default_client(&err);
    assert_non_null(env);
    assert_true(env != f->client);
    assert_ptr_equal(lo_llm_default_client(&err), env); /* made once */
    r = ask_for("anthropic", "hello there");
    assert_int_equal(lo_llm_generate(NULL, r, NULL, &res, &err), 0);
    assert_string_equal(res->text, "Hello! How can I help you today?");
    lo_llm_result_free(res);
    lo_llm_request_free(r);
    unsetenv("ANTHROPIC_API_KEY");
    unsetenv("ANTHROPIC_BASE_URL");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_prompt_and_system, setup, teardown),
        cmocka_unit_test_setup_teardown(test_single_tool_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parallel_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_when, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_tool_and_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_and_passive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_with_tools, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_plain_and_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_total_timeout_stops_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_client, setup, teardown),
    };
    return cmocka_run_group_tests_name("llm_generate", tests, NULL, NULL);
}
