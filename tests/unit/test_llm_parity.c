/* The cross-provider parity matrix of unified-llm-spec §8.9, against the
 * in-process twin: one test per cell, named ROW_PROVIDER, for anthropic,
 * openai (Responses), gemini and openai_chat (Chat Completions). Each row
 * is one function run for every provider; where a provider differs (what
 * it reports, how an option shows) the row says so. Tape:
 * tests/data/tapes/llm.jsonl. */
#include <time.h>
#include <unistd.h>

#include "llm_twin.h"

static const char *const TAPES[] = {"llm.jsonl", NULL};

TWIN_GROUP_FIXTURES(TAPES)

static bool is(const char *provider, const char *name)
{
    return strcmp(provider, name) == 0;
}

static lo_llm_result *generate_ok(twin_fixture *f, const lo_llm_request *r,
                                  const lo_llm_generate_opts *o, const char *provider)
{
    lo_llm_result *res = NULL;
    lo_llm_error err;
    if (lo_llm_generate(f->client, r, o, &res, &err) != 0)
        fail_msg("%s: %s: %s", provider, lo_llm_error_kind_name(err.kind), err.message);
    return res;
}

/* ---- handlers ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int active, max_active, calls;

static int weather(void *ud, const json_t *args, const lo_llm_tool_ctx *ctx, json_t **result)
{
    (void)ctx;
    int together = ud ? *(int *)ud : 0;
    const char *city = json_string_value(json_object_get(args, "city"));
    pthread_mutex_lock(&mu);
    calls++;
    if (++active > max_active)
        max_active = active;
    pthread_cond_broadcast(&cv);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    while (together && active < together && pthread_cond_timedwait(&cv, &mu, &until) == 0)
        ;
    pthread_mutex_unlock(&mu);
    usleep(10000);
    pthread_mutex_lock(&mu);
    active--;
    pthread_mutex_unlock(&mu);
    char text[128];
    snprintf(text, sizeof text, "%s", strcmp(city, "Paris") == 0 ? "PARIS-WEATHER" : "");
    if (!*text)
        snprintf(text, sizeof text, "sunny in %s", city);
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

static void add_step_tool(lo_llm_request *r)
{
    lo_error e;
    json_t *s = json_pack("{s:s, s:{s:{s:s}}, s:[s]}", "type", "object", "properties", "n",
                          "type", "integer", "required", "n");
    assert_int_equal(lo_llm_request_add_tool(r, "step", "the next step", s, &e), 0);
}

/* ---- rows ---- */

static void simple_text(void **state, const char *p)
{
    twin_fixture *f = *state;
    lo_llm_request *r = empty_for(p);
    lo_llm_generate_opts o;
    lo_llm_generate_opts_init(&o);
    o.prompt = "Say hello in one sentence.";
    r->has_max_tokens = true;
    r->max_tokens = 100;
    lo_llm_result *res = generate_ok(f, r, &o, p);
    assert_string_equal(res->text, "Hello! Nice to meet you.");
    assert_int_equal(res->finish, LO_FINISH_STOP);
    assert_true(res->usage.input_tokens > 0);
    assert_true(res->usage.output_tokens > 0);
    assert_string_equal(res->response->provider, p);
    assert_non_null(res->response->id);
    lo_llm_result_free(res);
    lo_llm_request_free(r);
}

static void streaming_text(void **state, const char *p)
{
    twin_fixture *f = *state;
    lo_llm_request *r = ask_for(p, "Write a haiku.");
    collected c;
    collected_init(&c);
    lo_llm_response *res = NULL;
    lo_llm_error err;
    if (lo_llm_stream(f->client, r, collect_event, &c, &res, &err) != 0)
        fail_msg("%s: %s", p, err.message);
    char *text = lo_llm_response_text(res);
    assert_string_equal(c.text.data, text);
    assert_string_equal(text,
                        "Tokens drift like snow / a twin answers every call / the tests pass at dawn");
    assert_true(c.deltas > 1); /* in pieces, not whole */
    assert_int_equal(c.starts, 1);
    assert_int_equal(c.text_starts, 1);
    assert_int_equal(c.text_ends, 1);
    assert_int_equal(c.finishes, 1);
    assert_int_equal(c.last, LO_STREAM_FINISH);
    assert_int_equal(res->finish.reason, LO_FINISH_STOP);
    assert_true(res->usage.output_tokens > 0);
    free(text);
    lo_buf_release(&c.text);
    lo_llm_response_free(res);
    lo_llm_request_free(r);
}

/* A 1x1 PNG. */
#define PNG_B64                                                                                    \
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJg" \
    "gg=="

static void image(void **state, const char *p, const lo_llm_media *m)
{
    twin_fixture *f = *state;
    lo_llm_request *r = empty_for(p);
    lo_llm_message *u = lo_llm_message_new(LO_ROLE_USER);
    assert_int_equal(lo_llm_message_add_text(u, "describe the image"), 0);
    assert_int_equal(lo_llm_message_add_media(u, LO_CONTENT_IMAGE, m), 0);
    assert_int_equal(lo_llm_request_add_message(r, u), 0);
    lo_llm_result *res = generate_ok(f, r, NULL, p);
    assert_string_equal(res->text, "A small red square.");
    /* the twins count an image as 1000 tokens: it arrived as an image */
    assert_true(res->usage.input_tokens >= 1000);
    lo_llm_result_free(res);
    lo_llm_request_free(r);
}

static void image_base64(void **state, const char *p)
{
    lo_llm_media m = {.data = PNG_B64, .media_type = "image/png"};
    image(state, p, &m);
}

static void image_url(void **state, const char *p)
{
    lo_llm_media m = {.url = "https://example.com/red-square.png"};
    image(state, p, &m);
}

static void single_tool_call(void **state, const char *p)
{
    twin_fixture *f = *state;
    lo_llm_request *r = ask_for(p, "single weather");
    add_weather_tool(r);
    lo_llm_tool_handler h = {"get_weather", weather, NULL};
    lo_llm_generate_opts o;
    lo_llm_generate_opts_init(&o);
    o.handlers = &h;
    o.n_handlers = 1;
    lo_llm_result *res = generate_ok(f, r, &o, p);
    assert_int_equal(res->n_steps, 2);
    assert_int_equal(res->steps[0].n_tool_calls, 1);
    assert_string_equal(res->steps[0].tool_calls[0]->name, "get_weather");
    assert_non_null(res->steps[0].tool_calls[0]->id);
    assert_string_equal(json_string_value(res->steps[0].tool_results[0].content), "PARIS-WEATHER");
    assert_string_equal(res->text, "In Paris: PARIS-WEATHER.");
    lo_llm_result_free(res);
    lo_llm_request_free(r);
}

static void parallel_tool_calls(void **state, const char *p)
{
    twin_fixture *f = *state;
    pthread_mutex_lock(&mu);
    calls = max_active = 0;
    pthread_mutex_unlock(&mu);
    lo_llm_request *r = ask_for(p, "two cities");
    add_weather_tool(r);
    int together = 2;
    lo_llm_tool_handler h = {"get_weather", weather, &together};
    lo_llm_generate_opts o;
    lo_llm_generate_opts_init(&o);
    o.handlers = &h;
    o.n_handlers = 1;
    lo_llm_result *res = generate_ok(f, r, &o, p);
    assert_int_equal(calls, 2);
    assert_int_equal(max_active, 2); /* at once */
    assert_int_equal(res->n_steps, 2); /* one continuation for both */
    assert_int_equal(lo_twin_calls(f->twin), 2);
    const lo_llm_step *s = &res->steps[0];
    assert_int_equal(s->n_tool_calls, 2);
    assert_string_not_equal(s->tool_calls[0]->id, s->tool_calls[1]->id);
    assert_string_equal(s->tool_results[0].tool_call_id, s->tool_calls[0]->id);
    assert_string_equal(s->tool_results[1].tool_call_id, s->tool_calls[1]->id);
    assert_string_equal(res->text, "San Francisco and New York are both sunny.");
    lo_llm_result_free(res);
    lo_llm_request_free(r);
}

static void multi_step_tool_loop(void **state, const char *p)
{
    twin_fixture *f = *state;
    lo_llm_request *r = ask_for(p, "count to three");
    add_step_tool(r);
    lo_llm_tool_handler h = {"step", step_tool, NULL};
    lo_llm_generate_opts o;
    lo_llm_generate_opts_init(&o);
    o.handlers = &h;
    o.n_handlers = 1;
    o.max_tool_rounds = 3;
    lo_llm_result *res = generate_ok(f, r, &o, p);
    assert_int_equal(res->n_steps, 4);
    for (int i = 0; i < 3; i++) {
        char want[32];
        snprintf(want, sizeof want, "step %d done", i + 1);
        assert_string_equal(json_string_value(res->steps[i].tool_results[0].content), want);
    }
    assert_string_equal(res->text, "Counted to three.");
    assert_int_equal(res->total_usage.output_tokens,
                     res->steps[0].response->usage.output_tokens +
                         res->steps[1].response->usage.output_tokens +
                         res->steps[2].response->usage.output_tokens +
                         res->steps[3].response->usage.output_tokens);
    lo_llm_result_free(res);
    lo_llm_request_free(r);
}

static void streaming_with_tool_calls(void **state, const char *p)
{
    twin_fixture *f = *state;
    lo_llm_request *r = ask_for(p, "two cities");
    add_weather_tool(r);
    lo_llm_tool_handler h = {"get_weather", weather, NULL};
    lo_llm_generate_opts o;
    lo_llm_generate_opts_init(&o);
    o.handlers = &h;
    o.n_handlers = 1;
    collected c;
    collected_init(&c);
    lo_llm_result *res = NULL;
    lo_llm_error err;
    if (lo_llm_generate_stream(f->client, r, &o, collect_event, &c, &res, &err) != 0)
        fail_msg("%s: %s", p, err.message);
    assert_int_equal(c.call_starts, 2);
    assert_int_equal(c.call_ends, 2);
    assert_true(c.call_deltas >= 2);
    assert_int_equal(c.step_finishes, 1);
    assert_int_equal(c.finishes, 1);
    assert_int_equal(c.last, LO_STREAM_FINISH);
    assert_string_equal(c.text.data, "Looking both up.San Francisco and New York are both sunny.");
    /* the streamed calls carry their arguments, assembled */
    const lo_llm_step *s = &res->steps[0];
    assert_string_equal(json_string_value(json_object_get(s->tool_calls[1]->arguments, "city")),
                        "New York");
    lo_buf_release(&c.text);
    lo_llm_result_free(res);
    lo_llm_request_free(r);
}

static void structured_output(void **state, const char *p)
{
    twin_fixture *f = *state;
    lo_llm_request *r = ask_for(p, "Extract: Alice is 30 years old");
    json_t *schema = json_pack("{s:s, s:{s:{s:s}, s:{s:s}}, s:[s,s]}", "type", "object",
                               "properties", "name", "type", "string", "age", "type", "integer",
                               "required", "name", "age");
    lo_llm_result *res = NULL;
    lo_llm_error err;
    if (lo_llm_generate_object(f->client, r, schema, NULL, &res, &err) != 0)
        fail_msg("%s: %s", p, err.message);
    assert_string_equal(json_string_value(json_object_get(res->output, "name")), "Alice");
    assert_int_equal(json_integer_value(json_object_get(res->output, "age")), 30);
    lo_llm_result_free(res);
    json_decref(schema);
    lo_llm_request_free(r);
}

static void reasoning_tokens(void **state, const char *p)
{
    twin_fixture *f = *state;
    lo_llm_request *r = ask_for(p, "think hard: what is 2 + 2?");
    r->reasoning_effort = strdup("high");
    lo_llm_result *res = generate_ok(f, r, NULL, p);
    assert_string_equal(res->text, "4");
    const lo_llm_usage *u = &res->usage;
    if (is(p, "anthropic")) {
        /* thinking comes back as THINKING with its signature; the API does
         * not count reasoning tokens apart from output */
        assert_string_equal(res->reasoning, "Two and two make four, so the answer is four.");
        assert_int_equal(u->reasoning_tokens, LO_TOKENS_UNREPORTED);
        bool signed_ok = false;
        for (size_t i = 0; i < res->response->message->n_parts; i++)
            if (res->response->message->parts[i].kind == LO_CONTENT_THINKING)
                signed_ok = lo_str_eq(res->response->message->parts[i].thinking.signature,
                                      "c2lnLXBhcml0eQ==");
        assert_true(signed_ok);
    } else {
        /* counted apart, and part of the output */
        assert_true(u->reasoning_tokens > 0);
        assert_true(u->output_tokens > u->reasoning_tokens);
    }
    if (is(p, "openai") || is(p, "gemini"))
        assert_string_equal(res->reasoning, "Two and two make four, so the answer is four.");
    lo_llm_result_free(res);
    lo_llm_request_free(r);
}

typedef struct retries_seen {
    int n;
    double delay;
    lo_llm_error_kind kind;
} retries_seen;

static void on_retry(const lo_llm_error *e, int attempt, double delay, void *ud)
{
    retries_seen *s = ud;
    s->n = attempt;
    s->delay = delay;
    s->kind = e->kind;
}

static void error_invalid_api_key_401(void **state, const char *p)
{
    twin_fixture *f = *state;
    lo_llm_client *c = lo_llm_client_new();
    lo_llm_provider_config cfg = {.provider = p, .api_key = "sk-not-the-twins-key-987654",
                                  .base_url = is(p, "openai") || is(p, "openai_chat")
                                                  ? f->v1
                                                  : lo_twin_base_url(f->twin)};
    lo_llm_error err;
    assert_int_equal(lo_llm_client_add_provider(c, &cfg, &err), 0);
    /* retries on (the default policy): an auth error is still not retried */
    retries_seen seen = {0};
    lo_llm_retry_policy rp;
    lo_llm_retry_policy_init(&rp);
    rp.base_delay = 0.01;
    rp.on_retry = on_retry;
    rp.on_retry_ud = &seen;
    lo_llm_client_set_retry(c, &rp);
    lo_llm_request *r = ask_for(p, "hello");
    lo_llm_response *res = NULL;
    assert_int_equal(lo_llm_complete(c, r, &res, &err), LO_EIO);
    assert_null(res);
    assert_int_equal(err.kind, LO_LLM_ERR_AUTHENTICATION);
    assert_false(err.retryable);
    /* Gemini answers a bad key with 400 INVALID_ARGUMENT "API key not valid" */
    assert_int_equal(err.status, is(p, "gemini") ? 400 : 401);
    assert_null(strstr(err.message, "sk-not-the-twins-key"));
    assert_int_equal(seen.n, 0);
    assert_int_equal(lo_twin_calls(f->twin), 0);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void error_rate_limit_429(void **state, const char *p)
{
    twin_fixture *f = *state;
    /* retries off: the error, retryable, with the Retry-After */
    lo_llm_request *r = ask_for(p, "rate limit once");
    lo_llm_response *res = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_complete(f->client, r, &res, &err), LO_EIO);
    assert_int_equal(err.kind, LO_LLM_ERR_RATE_LIMIT);
    assert_true(err.retryable);
    assert_int_equal(err.status, 429);
    assert_true(err.retry_after > 0.99 && err.retry_after < 1.01);
    /* retries on: the next call succeeds after the server's wait */
    twin_down(f);
    *state = f = twin_up(TAPES);
    retries_seen seen = {0};
    lo_llm_retry_policy rp;
    lo_llm_retry_policy_init(&rp);
    rp.on_retry = on_retry;
    rp.on_retry_ud = &seen;
    lo_llm_client_set_retry(f->client, &rp);
    double t0 = now_s();
    assert_int_equal(lo_llm_complete(f->client, r, &res, &err), 0);
    assert_true(now_s() - t0 >= 0.95);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.kind, LO_LLM_ERR_RATE_LIMIT);
    assert_true(seen.delay > 0.99 && seen.delay < 1.01); /* Retry-After, not the backoff */
    assert_int_equal(lo_twin_calls(f->twin), 2);
    char *text = lo_llm_response_text(res);
    assert_string_equal(text, "Through after the rate limit.");
    free(text);
    lo_llm_response_free(res);
    lo_llm_request_free(r);
}

static void usage_token_counts(void **state, const char *p)
{
    twin_fixture *f = *state;
    /* the tape fixes the provider's counts: 123 prompt, 45 output */
    lo_llm_request *r = ask_for(p, "counted usage");
    lo_llm_result *res = generate_ok(f, r, NULL, p);
    const lo_llm_usage *u = &res->usage;
    assert_int_equal(u->input_tokens, 123);
    assert_int_equal(u->output_tokens, 45);
    assert_int_equal(u->total_tokens, 168);
    assert_int_equal(u->cache_read_tokens, 0);
    if (is(p, "anthropic"))
        assert_int_equal(u->cache_write_tokens, 0);
    else
        assert_true(u->cache_write_tokens <= 0);
    /* streamed, the same numbers */
    collected c;
    collected_init(&c);
    lo_llm_response *sr = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_stream(f->client, r, collect_event, &c, &sr, &err), 0);
    assert_int_equal(sr->usage.input_tokens, 123);
    assert_int_equal(sr->usage.output_tokens, 45);
    assert_int_equal(sr->usage.total_tokens, 168);
    lo_buf_release(&c.text);
    lo_llm_response_free(sr);
    lo_llm_result_free(res);
    lo_llm_request_free(r);
}

/* Five turns of a conversation with a long system prompt, as an agent
 * loop runs: from turn 2 on the earlier prefix comes from the cache, and
 * by turn 5 most of the prompt does (§8.6). */
static void prompt_caching(void **state, const char *p)
{
    twin_fixture *f = *state;
    lo_buf sys;
    lo_buf_init(&sys, 0);
    for (int i = 0; i < 120; i++)
        lo_buf_printf(&sys, "Rule %d: keep every answer short, precise and kind. ", i);
    lo_llm_request *r = empty_for(p);
    lo_llm_request_add_message(r, lo_llm_text_message(LO_ROLE_SYSTEM, sys.data));
    lo_buf_release(&sys);
    for (int turn = 1; turn <= 5; turn++) {
        char text[64];
        snprintf(text, sizeof text, "hello, this is turn %d", turn);
        lo_llm_request_add_message(r, lo_llm_text_message(LO_ROLE_USER, text));
        lo_llm_response *res = NULL;
        lo_llm_error err;
        if (lo_llm_complete(f->client, r, &res, &err) != 0)
            fail_msg("%s turn %d: %s", p, turn, err.message);
        const lo_llm_usage *u = &res->usage;
        int64_t prompt = u->input_tokens + (u->cache_read_tokens > 0 ? u->cache_read_tokens : 0) +
                         (u->cache_write_tokens > 0 ? u->cache_write_tokens : 0);
        if (turn == 1)
            assert_int_equal(u->cache_read_tokens, 0);
        else if (u->cache_read_tokens <= 0)
            fail_msg("%s turn %d: no cache read (input %lld)", p, turn,
                     (long long)u->input_tokens);
        if (turn == 1 && is(p, "anthropic"))
            assert_true(u->cache_write_tokens > 1000); /* the system prompt, written */
        if (turn == 5 && u->cache_read_tokens * 2 <= prompt)
            fail_msg("%s turn 5: %lld of %lld prompt tokens from the cache", p,
                     (long long)u->cache_read_tokens, (long long)prompt);
        lo_llm_request_add_message(r, lo_llm_message_clone(res->message));
        lo_llm_response_free(res);
    }
    lo_llm_request_free(r);
}

/* provider_options reach the wire: each provider shows it its own way. */
static void provider_options(void **state, const char *p)
{
    twin_fixture *f = *state;
    lo_llm_response *res = NULL;
    lo_llm_error err;
    if (is(p, "anthropic")) {
        /* stop_sequences replaced through the options: the API reports it */
        lo_llm_request *r = ask_for(p, "stop here");
        r->provider_options = json_pack("{s:{s:[s]}}", "anthropic", "stop_sequences", "XYZ");
        assert_int_equal(lo_llm_complete(f->client, r, &res, &err), 0);
        assert_string_equal(json_string_value(json_object_get(res->raw, "stop_sequence")), "XYZ");
        assert_string_equal(res->finish.raw, "stop_sequence");
        lo_llm_request_free(r);
    } else if (is(p, "openai")) {
        /* include: the reasoning item comes back with its encrypted content */
        lo_llm_request *r = ask_for(p, "think hard");
        r->provider_options = json_pack("{s:{s:[s], s:b}}", "openai", "include",
                                        "reasoning.encrypted_content", "store", 0);
        assert_int_equal(lo_llm_complete(f->client, r, &res, &err), 0);
        const char *enc = NULL;
        for (size_t i = 0; i < res->message->n_parts; i++)
            if (res->message->parts[i].kind == LO_CONTENT_OTHER)
                enc = json_string_value(
                    json_object_get(res->message->parts[i].other.raw, "encrypted_content"));
        assert_non_null(enc);
        assert_string_equal(enc, "c2lnLXBhcml0eQ==");
        lo_llm_request_free(r);
    } else if (is(p, "gemini")) {
        /* thinkingConfig.includeThoughts: thought summaries appear */
        lo_llm_request *r = ask_for(p, "think hard");
        assert_int_equal(lo_llm_complete(f->client, r, &res, &err), 0);
        char *none = lo_llm_response_reasoning(res);
        assert_null(none);
        lo_llm_response_free(res);
        r->provider_options = json_pack("{s:{s:{s:{s:b}}}}", "gemini", "generationConfig",
                                        "thinkingConfig", "includeThoughts", 1);
        assert_int_equal(lo_llm_complete(f->client, r, &res, &err), 0);
        char *thought = lo_llm_response_reasoning(res);
        assert_string_equal(thought, "Two and two make four, so the answer is four.");
        free(thought);
        lo_llm_request_free(r);
    } else {
        /* a body key the translation never sets reaches the server, which
         * checks it (temperature above 2 is refused) */
        lo_llm_request *r = ask_for(p, "hello");
        r->provider_options = json_pack("{s:{s:i}}", "openai_chat", "temperature", 5);
        assert_int_equal(lo_llm_complete(f->client, r, &res, &err), LO_EIO);
        assert_int_equal(err.kind, LO_LLM_ERR_INVALID_REQUEST);
        assert_non_null(strstr(err.message, "temperature"));
        json_decref(r->provider_options);
        r->provider_options = json_pack("{s:{s:f}}", "openai_chat", "temperature", 0.5);
        assert_int_equal(lo_llm_complete(f->client, r, &res, &err), 0);
        lo_llm_request_free(r);
    }
    lo_llm_response_free(res);
}

/* ---- the matrix: one test per cell ---- */

#define CELL(row, prov)                                                                            \
    static void test_##row##_##prov(void **state)                                                  \
    {                                                                                              \
        row(state, #prov);                                                                         \
    }
#define ROW(row) CELL(row, anthropic) CELL(row, openai) CELL(row, gemini) CELL(row, openai_chat)
#define ROWS(X)                                                                                    \
    X(simple_text)                                                                                 \
    X(streaming_text)                                                                              \
    X(image_base64)                                                                                \
    X(image_url)                                                                                   \
    X(single_tool_call)                                                                            \
    X(parallel_tool_calls)                                                                         \
    X(multi_step_tool_loop)                                                                        \
    X(streaming_with_tool_calls)                                                                   \
    X(structured_output)                                                                           \
    X(reasoning_tokens)                                                                            \
    X(error_invalid_api_key_401)                                                                   \
    X(error_rate_limit_429)                                                                        \
    X(usage_token_counts)                                                                          \
    X(prompt_caching)                                                                              \
    X(provider_options)

ROWS(ROW)

#define ENTRY(row, prov) cmocka_unit_test_setup_teardown(test_##row##_##prov, setup, teardown),
#define ENTRIES(row) ENTRY(row, anthropic) ENTRY(row, openai) ENTRY(row, gemini) ENTRY(row, openai_chat)

int main(void)
{
    const struct CMUnitTest tests[] = {ROWS(ENTRIES)};
    return cmocka_run_group_tests_name("llm_parity", tests, NULL, NULL);
}
