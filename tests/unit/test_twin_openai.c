/* Unit tests for the OpenAI twin (src/twin/openai.c, openai_stream.c): in
 * process on an ephemeral port, spoken to with the real HTTP client and SSE
 * parser, checked against the wire formats of the Responses and Chat
 * Completions APIs. Tapes: tests/data/tapes/openai.jsonl, then basic.jsonl. */
#include "twin_testutil.h"

/* ------------------------------------------------------------ helpers */

static lo_tape *TAPES[2]; /* openai.jsonl, basic.jsonl */
static lo_twin *TWIN;     /* any key accepted */
static lo_twin *KEYED;    /* accepts only "sk-test-key" */

static lo_twin *start(const char *provider, const char *key)
{
    lo_twin_config cfg = {.provider = provider, .tapes = TAPES, .n_tapes = 2, .api_key = key,
                          .log = tt_log_line};
    lo_error err = {0};
    lo_twin *t = lo_twin_start(&cfg, &err);
    if (!t)
        fail_msg("lo_twin_start: %s", err.msg);
    return t;
}

static int setup(void **state)
{
    (void)state;
    lo_error err = {0};
    lo_buf_init(&TT_LOG, 0);
    TAPES[0] = lo_tape_load(lo_test_data("tapes/openai.jsonl"), &err);
    TAPES[1] = lo_tape_load(lo_test_data("tapes/basic.jsonl"), &err);
    if (!TAPES[0] || !TAPES[1]) {
        fprintf(stderr, "tapes: %s\n", err.msg);
        return -1;
    }
    TWIN = start("openai", NULL);
    KEYED = start("openai", "sk-test-key");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lo_twin_stop(TWIN);
    lo_twin_stop(KEYED);
    lo_tape_free(TAPES[0]);
    lo_tape_free(TAPES[1]);
    lo_buf_release(&TT_LOG);
    return 0;
}

/* POST (GET when body is NULL) to the twin with "Authorization: Bearer key"
 * (none when key is NULL); *json gets the body parsed when it is JSON. */
static long call_full(lo_twin *t, const char *path, const char *body, const char *key,
                      lo_http_result *r, json_t **json)
{
    char url[256], kh[128];
    snprintf(url, sizeof url, "%s%s", lo_twin_base_url(t), path);
    const char *hdrs[3] = {"content-type: application/json", NULL, NULL};
    if (key) {
        snprintf(kh, sizeof kh, "Authorization: Bearer %s", key);
        hdrs[1] = kh;
    }
    lo_http_call c = {.method = body ? "POST" : "GET", .url = url, .headers = hdrs,
                      .body = body, .body_len = body ? strlen(body) : 0, .timeout_ms = 10000};
    lo_error err = {0};
    assert_int_equal(lo_http_do(&c, r, &err), 0);
    if (json)
        *json = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
    return r->status;
}

static long call(const char *path, const char *body, lo_http_result *r, json_t **json)
{
    return call_full(TWIN, path, body, "sk-any", r, json);
}

/* A Responses request (input = user text) or a Chat request (one user
 * message), with extra fields merged in. */
static char *req(bool chat, const char *user, const char *extra)
{
    json_t *j = chat ? json_pack("{s:s, s:[{s:s, s:s}]}", "model", "gpt-6.2-sol", "messages",
                                 "role", "user", "content", user)
                     : json_pack("{s:s, s:s}", "model", "gpt-6.2-sol", "input", user);
    if (extra) {
        json_t *e = json_loads(extra, 0, NULL);
        assert_non_null(e);
        json_object_update(j, e);
        json_decref(e);
    }
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

static const char *jstr(const json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

static json_int_t jint(const json_t *j, const char *key)
{
    const json_t *v = json_object_get(j, key);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

/* An OpenAI error body: {"error": {message, type, param, code}}. */
static void check_error_(long status, json_t *j, long want_status, const char *want_type,
                         const char *want_code)
{
    assert_int_equal(status, want_status);
    assert_non_null(j);
    const json_t *e = json_object_get(j, "error");
    assert_true(json_is_object(e));
    assert_int_equal(json_object_size(e), 4);
    assert_true(json_is_string(json_object_get(e, "message")));
    assert_string_equal(jstr(e, "type"), want_type);
    assert_true(json_is_string(json_object_get(e, "param")) ||
                json_is_null(json_object_get(e, "param")));
    if (want_code)
        assert_string_equal(jstr(e, "code"), want_code);
    else
        assert_true(json_is_null(json_object_get(e, "code")));
}

/* The call first, then its body: argument order is unspecified in C. */
#define check_error(call_expr, j, ...)                                                    \
    do {                                                                                  \
        long st_ = (call_expr);                                                           \
        check_error_(st_, j, __VA_ARGS__);                                                \
    } while (0)

/* The SSE events of a body: [{"event": type, "data": text}]. */
static int on_event(const lo_sse_event *ev, void *ud)
{
    json_array_append_new(ud, json_pack("{s:s, s:s}", "event", ev->type, "data", ev->data));
    return 0;
}

static json_t *events_of(const lo_http_result *r)
{
    json_t *a = json_array();
    lo_sse *p = lo_sse_new(on_event, a, 0);
    assert_non_null(p);
    assert_int_equal(lo_sse_feed(p, r->body.data ? r->body.data : "", r->body.len), 0);
    lo_sse_finish(p);
    lo_sse_free(p);
    return a;
}

static json_t *data_of(const json_t *events, size_t i)
{
    json_t *d = json_loads(jstr(json_array_get(events, i), "data"), 0, NULL);
    assert_non_null(d);
    return d;
}

static void check_headers(const lo_http_result *r)
{
    assert_true(lo_str_starts(jstr(r->headers, "x-request-id"), "req_"));
    static const char *const names[] = {
        "x-ratelimit-limit-requests", "x-ratelimit-limit-tokens",
        "x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens",
        "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        assert_non_null(jstr(r->headers, names[i]));
    assert_string_equal(jstr(r->headers, "x-ratelimit-limit-requests"), "10000");
}

static void check_responses_usage(const json_t *u, bool reasoning)
{
    json_int_t in = jint(u, "input_tokens"), out = jint(u, "output_tokens");
    assert_true(in > 0 && out > 0);
    assert_int_equal(jint(u, "total_tokens"), in + out);
    assert_int_equal(jint(json_object_get(u, "input_tokens_details"), "cached_tokens"), 0);
    json_int_t rt = jint(json_object_get(u, "output_tokens_details"), "reasoning_tokens");
    assert_true(reasoning ? rt > 0 : rt == 0);
}

/* ------------------------------------------------------------ Responses */

static void responses_text(void **state)
{
    (void)state;
    char *body = req(false, "hello", NULL);
    lo_http_result r;
    json_t *j;
    assert_int_equal(call("/v1/responses", body, &r, &j), 200);
    check_headers(&r);
    assert_true(lo_str_starts(jstr(r.headers, "content-type"), "application/json"));
    assert_true(lo_str_starts(jstr(j, "id"), "resp_"));
    assert_string_equal(jstr(j, "object"), "response");
    assert_string_equal(jstr(j, "status"), "completed");
    assert_string_equal(jstr(j, "model"), "gpt-6.2-sol");
    assert_true(json_is_integer(json_object_get(j, "created_at")));
    assert_true(json_is_null(json_object_get(j, "error")));
    assert_true(json_is_null(json_object_get(j, "incomplete_details")));
    const json_t *out = json_object_get(j, "output");
    assert_int_equal(json_array_size(out), 1);
    const json_t *m = json_array_get(out, 0);
    assert_string_equal(jstr(m, "type"), "message");
    assert_true(lo_str_starts(jstr(m, "id"), "msg_"));
    assert_string_equal(jstr(m, "role"), "assistant");
    assert_string_equal(jstr(m, "status"), "completed");
    const json_t *part = json_array_get(json_object_get(m, "content"), 0);
    assert_string_equal(jstr(part, "type"), "output_text");
    assert_string_equal(jstr(part, "text"), "Hello! How can I help you today?");
    assert_true(json_is_array(json_object_get(part, "annotations")));
    check_responses_usage(json_object_get(j, "usage"), false);
    /* 3 + 4 + ceil(5 / 4): the approximation of docs/twins.md */
    assert_int_equal(jint(json_object_get(j, "usage"), "input_tokens"), 9);
    json_decref(j);
    lo_http_result_release(&r);
    free(body);
}

static void responses_stream_text(void **state)
{
    (void)state;
    char *body = req(false, "hello", "{\"stream\": true}");
    lo_http_result r;
    assert_int_equal(call("/v1/responses", body, &r, NULL), 200);
    assert_true(lo_str_starts(jstr(r.headers, "content-type"), "text/event-stream"));
    json_t *ev = events_of(&r);
    static const char *const want[] = {
        "response.created", "response.in_progress", "response.output_item.added",
        /* 32 bytes of text: two pieces of 16 */
        "response.content_part.added", "response.output_text.delta",
        "response.output_text.delta", "response.output_text.done", "response.content_part.done",
        "response.output_item.done", "response.completed"};
    assert_int_equal(json_array_size(ev), sizeof want / sizeof want[0]);
    lo_buf text;
    lo_buf_init(&text, 0);
    json_int_t seq = -1;
    for (size_t i = 0; i < json_array_size(ev); i++) {
        json_t *d = data_of(ev, i);
        assert_string_equal(jstr(json_array_get(ev, i), "event"), want[i]);
        assert_string_equal(jstr(d, "type"), want[i]);
        json_int_t s = jint(d, "sequence_number");
        assert_true(s > seq);
        seq = s;
        if (!strcmp(want[i], "response.created")) {
            const json_t *resp = json_object_get(d, "response");
            assert_string_equal(jstr(resp, "status"), "in_progress");
            assert_int_equal(json_array_size(json_object_get(resp, "output")), 0);
        } else if (!strcmp(want[i], "response.output_item.added")) {
            assert_int_equal(jint(d, "output_index"), 0);
            assert_string_equal(jstr(json_object_get(d, "item"), "status"), "in_progress");
        } else if (!strcmp(want[i], "response.output_text.delta")) {
            assert_true(lo_str_starts(jstr(d, "item_id"), "msg_"));
            assert_int_equal(jint(d, "content_index"), 0);
            lo_buf_puts(&text, jstr(d, "delta"));
        } else if (!strcmp(want[i], "response.output_text.done")) {
            assert_string_equal(jstr(d, "text"), "Hello! How can I help you today?");
        } else if (!strcmp(want[i], "response.completed")) {
            const json_t *resp = json_object_get(d, "response");
            assert_string_equal(jstr(resp, "status"), "completed");
            check_responses_usage(json_object_get(resp, "usage"), false);
        }
        json_decref(d);
    }
    json_t *d0 = data_of(ev, 0);
    assert_int_equal(jint(d0, "sequence_number"), 0);
    json_decref(d0);
    assert_string_equal(text.data, "Hello! How can I help you today?");
    lo_buf_release(&text);
    json_decref(ev);
    lo_http_result_release(&r);
    free(body);
}

static const char *WEATHER_TOOL =
    "{\"tools\": [{\"type\": \"function\", \"name\": \"get_weather\", \"description\": \"w\","
    " \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}}}]";

static void responses_tools(void **state)
{
    (void)state;
    char extra[600];
    snprintf(extra, sizeof extra, "%s}", WEATHER_TOOL);
    char *body = req(false, "weather in Paris?", extra);
    lo_http_result r;
    json_t *j;
    assert_int_equal(call("/v1/responses", body, &r, &j), 200);
    const json_t *fc = json_array_get(json_object_get(j, "output"), 0);
    assert_string_equal(jstr(fc, "type"), "function_call");
    assert_true(lo_str_starts(jstr(fc, "id"), "fc_"));
    assert_true(lo_str_starts(jstr(fc, "call_id"), "call_"));
    assert_string_equal(jstr(fc, "name"), "get_weather");
    assert_string_equal(jstr(fc, "status"), "completed");
    json_t *args = json_loads(jstr(fc, "arguments"), 0, NULL);
    json_t *want = json_pack("{s:s, s:s}", "city", "Paris", "unit", "celsius");
    assert_true(json_equal(args, want));
    json_decref(args);
    json_decref(j);
    lo_http_result_release(&r);
    free(body);

    /* streamed: the argument deltas assemble into the same JSON */
    snprintf(extra, sizeof extra, "%s, \"stream\": true}", WEATHER_TOOL);
    body = req(false, "weather in Paris?", extra);
    assert_int_equal(call("/v1/responses", body, &r, NULL), 200);
    json_t *ev = events_of(&r);
    lo_buf a;
    lo_buf_init(&a, 0);
    size_t n = json_array_size(ev), deltas = 0;
    assert_string_equal(jstr(json_array_get(ev, 2), "event"), "response.output_item.added");
    json_t *d = data_of(ev, 2);
    assert_string_equal(jstr(json_object_get(d, "item"), "arguments"), "");
    assert_string_equal(jstr(json_object_get(d, "item"), "type"), "function_call");
    json_decref(d);
    for (size_t i = 0; i < n; i++) {
        d = data_of(ev, i);
        if (!strcmp(jstr(d, "type"), "response.function_call_arguments.delta")) {
            lo_buf_puts(&a, jstr(d, "delta"));
            deltas++;
        }
        if (!strcmp(jstr(d, "type"), "response.function_call_arguments.done"))
            assert_string_equal(jstr(d, "arguments"), a.data);
        json_decref(d);
    }
    assert_true(deltas >= 2);
    assert_string_equal(jstr(json_array_get(ev, n - 2), "event"), "response.output_item.done");
    assert_string_equal(jstr(json_array_get(ev, n - 1), "event"), "response.completed");
    args = json_loads(a.data, 0, NULL);
    assert_true(json_equal(args, want));
    json_decref(args);
    json_decref(want);
    lo_buf_release(&a);
    json_decref(ev);
    lo_http_result_release(&r);
    free(body);

    /* the round trip: the tool's output in a function_call_output item */
    body = strdup("{\"model\": \"gpt-6.2-sol\", \"input\": ["
                  "{\"role\": \"user\", \"content\": [{\"type\": \"input_text\", \"text\": "
                  "\"weather?\"}]},"
                  "{\"type\": \"function_call\", \"call_id\": \"call_1\", \"name\": "
                  "\"get_weather\", \"arguments\": \"{}\"},"
                  "{\"type\": \"function_call_output\", \"call_id\": \"call_1\", \"output\": "
                  "\"18°C, sunny\"}]}");
    assert_int_equal(call("/v1/responses", body, &r, &j), 200);
    const json_t *m = json_array_get(json_object_get(j, "output"), 0);
    assert_string_equal(jstr(json_array_get(json_object_get(m, "content"), 0), "text"),
                        "It is 18°C and sunny in Paris.");
    json_decref(j);
    lo_http_result_release(&r);
    free(body);
}

static void responses_reasoning_and_incomplete(void **state)
{
    (void)state;
    char *body = req(false, "think", "{\"include\": [\"reasoning.encrypted_content\"]}");
    lo_http_result r;
    json_t *j;
    assert_int_equal(call("/v1/responses", body, &r, &j), 200);
    const json_t *out = json_object_get(j, "output");
    assert_int_equal(json_array_size(out), 2);
    const json_t *rs = json_array_get(out, 0);
    assert_string_equal(jstr(rs, "type"), "reasoning");
    assert_true(lo_str_starts(jstr(rs, "id"), "rs_"));
    const json_t *sum = json_array_get(json_object_get(rs, "summary"), 0);
    assert_string_equal(jstr(sum, "type"), "summary_text");
    assert_string_equal(jstr(sum, "text"), "The user asks for 2 + 2. That is 4.");
    assert_string_equal(jstr(rs, "encrypted_content"), "c2lnbmF0dXJlLWZvci10ZXN0cw==");
    assert_string_equal(jstr(json_array_get(out, 1), "type"), "message");
    check_responses_usage(json_object_get(j, "usage"), true);
    json_decref(j);
    lo_http_result_release(&r);
    free(body);

    body = req(false, "think", "{\"stream\": true}");
    assert_int_equal(call("/v1/responses", body, &r, NULL), 200);
    json_t *ev = events_of(&r);
    lo_buf t;
    lo_buf_init(&t, 0);
    for (size_t i = 0; i < json_array_size(ev); i++) {
        json_t *d = data_of(ev, i);
        if (!strcmp(jstr(d, "type"), "response.reasoning_summary_text.delta"))
            lo_buf_puts(&t, jstr(d, "delta"));
        json_decref(d);
    }
    assert_string_equal(t.data, "The user asks for 2 + 2. That is 4.");
    lo_buf_release(&t);
    json_decref(ev);
    lo_http_result_release(&r);
    free(body);

    /* stop_reason length: incomplete, and the stream ends response.incomplete */
    body = req(false, "long story", NULL);
    assert_int_equal(call("/v1/responses", body, &r, &j), 200);
    assert_string_equal(jstr(j, "status"), "incomplete");
    assert_string_equal(jstr(json_object_get(j, "incomplete_details"), "reason"),
                        "max_output_tokens");
    json_decref(j);
    lo_http_result_release(&r);
    free(body);
    body = req(false, "long story", "{\"stream\": true}");
    assert_int_equal(call("/v1/responses", body, &r, NULL), 200);
    ev = events_of(&r);
    assert_string_equal(jstr(json_array_get(ev, json_array_size(ev) - 1), "event"),
                        "response.incomplete");
    json_decref(ev);
    lo_http_result_release(&r);
    free(body);
}

/* ------------------------------------------------------------ Chat */

static void check_chat_usage(const json_t *u, bool reasoning)
{
    json_int_t in = jint(u, "prompt_tokens"), out = jint(u, "completion_tokens");
    assert_true(in > 0 && out > 0);
    assert_int_equal(jint(u, "total_tokens"), in + out);
    assert_int_equal(jint(json_object_get(u, "prompt_tokens_details"), "cached_tokens"), 0);
    json_int_t rt = jint(json_object_get(u, "completion_tokens_details"), "reasoning_tokens");
    assert_true(reasoning ? rt > 0 : rt == 0);
}

static void chat_text(void **state)
{
    (void)state;
    char *body = req(true, "hello", NULL);
    lo_http_result r;
    json_t *j;
    assert_int_equal(call("/v1/chat/completions", body, &r, &j), 200);
    check_headers(&r);
    assert_true(lo_str_starts(jstr(j, "id"), "chatcmpl-"));
    assert_string_equal(jstr(j, "object"), "chat.completion");
    assert_true(json_is_integer(json_object_get(j, "created")));
    assert_string_equal(jstr(j, "model"), "gpt-6.2-sol");
    const json_t *ch = json_array_get(json_object_get(j, "choices"), 0);
    assert_int_equal(jint(ch, "index"), 0);
    assert_string_equal(jstr(ch, "finish_reason"), "stop");
    const json_t *m = json_object_get(ch, "message");
    assert_string_equal(jstr(m, "role"), "assistant");
    assert_string_equal(jstr(m, "content"), "Hello! How can I help you today?");
    assert_null(json_object_get(m, "tool_calls"));
    check_chat_usage(json_object_get(j, "usage"), false);
    json_decref(j);
    lo_http_result_release(&r);
    free(body);

    /* thinking shows only as reasoning tokens; length -> finish_reason length */
    body = req(true, "think", NULL);
    assert_int_equal(call("/v1/chat/completions", body, &r, &j), 200);
    check_chat_usage(json_object_get(j, "usage"), true);
    json_decref(j);
    lo_http_result_release(&r);
    free(body);
    body = req(true, "long story", NULL);
    assert_int_equal(call("/v1/chat/completions", body, &r, &j), 200);
    assert_string_equal(jstr(json_array_get(json_object_get(j, "choices"), 0), "finish_reason"),
                        "length");
    json_decref(j);
    lo_http_result_release(&r);
    free(body);

    /* path matching tells the two APIs apart */
    body = req(true, "which api", NULL);
    assert_int_equal(call("/v1/chat/completions", body, &r, &j), 200);
    assert_string_equal(jstr(json_object_get(json_array_get(json_object_get(j, "choices"), 0),
                                             "message"), "content"), "Chat Completions.");
    json_decref(j);
    lo_http_result_release(&r);
    free(body);
}

/* The chunks of a chat stream: every data line but [DONE], which is last. */
static json_t *chunks_of(const lo_http_result *r)
{
    json_t *ev = events_of(r);
    size_t n = json_array_size(ev);
    assert_true(n >= 2);
    assert_string_equal(jstr(json_array_get(ev, n - 1), "data"), "[DONE]");
    json_t *out = json_array();
    for (size_t i = 0; i + 1 < n; i++) {
        assert_string_equal(jstr(json_array_get(ev, i), "event"), "message");
        json_t *d = data_of(ev, i);
        assert_string_equal(jstr(d, "object"), "chat.completion.chunk");
        assert_true(lo_str_starts(jstr(d, "id"), "chatcmpl-"));
        json_array_append_new(out, d);
    }
    json_decref(ev);
    return out;
}

static void chat_stream(void **state)
{
    (void)state;
    char *body = req(true, "hello", "{\"stream\": true}");
    lo_http_result r;
    assert_int_equal(call("/v1/chat/completions", body, &r, NULL), 200);
    json_t *c = chunks_of(&r);
    size_t n = json_array_size(c);
    lo_buf text;
    lo_buf_init(&text, 0);
    const json_t *first = json_object_get(json_array_get(json_object_get(json_array_get(c, 0),
                                                                         "choices"), 0), "delta");
    assert_string_equal(jstr(first, "role"), "assistant");
    for (size_t i = 0; i < n; i++) {
        const json_t *k = json_array_get(c, i);
        assert_null(json_object_get(k, "usage")); /* not asked for */
        const json_t *ch = json_array_get(json_object_get(k, "choices"), 0);
        if (jstr(json_object_get(ch, "delta"), "content"))
            lo_buf_puts(&text, jstr(json_object_get(ch, "delta"), "content"));
        if (i + 1 < n)
            assert_true(json_is_null(json_object_get(ch, "finish_reason")));
        else
            assert_string_equal(jstr(ch, "finish_reason"), "stop");
    }
    assert_string_equal(text.data, "Hello! How can I help you today?");
    lo_buf_release(&text);
    json_decref(c);
    lo_http_result_release(&r);
    free(body);

    /* include_usage: usage null on every chunk, then a chunk with no
     * choices and the usage */
    body = req(true, "hello", "{\"stream\": true, \"stream_options\": {\"include_usage\": true}}");
    assert_int_equal(call("/v1/chat/completions", body, &r, NULL), 200);
    c = chunks_of(&r);
    n = json_array_size(c);
    for (size_t i = 0; i + 1 < n; i++)
        assert_true(json_is_null(json_object_get(json_array_get(c, i), "usage")));
    const json_t *last = json_array_get(c, n - 1);
    assert_int_equal(json_array_size(json_object_get(last, "choices")), 0);
    check_chat_usage(json_object_get(last, "usage"), false);
    json_decref(c);
    lo_http_result_release(&r);
    free(body);
}

static const char *CHAT_TOOLS =
    "{\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", "
    "\"parameters\": {\"type\": \"object\"}}}, {\"type\": \"function\", \"function\": "
    "{\"name\": \"get_time\"}}]";

static void chat_tools(void **state)
{
    (void)state;
    char extra[600];
    snprintf(extra, sizeof extra, "%s}", CHAT_TOOLS);
    char *body = req(true, "two tools please", extra);
    lo_http_result r;
    json_t *j;
    assert_int_equal(call("/v1/chat/completions", body, &r, &j), 200);
    const json_t *ch = json_array_get(json_object_get(j, "choices"), 0);
    assert_string_equal(jstr(ch, "finish_reason"), "tool_calls");
    const json_t *tcs = json_object_get(json_object_get(ch, "message"), "tool_calls");
    assert_int_equal(json_array_size(tcs), 2);
    const json_t *t0 = json_array_get(tcs, 0), *t1 = json_array_get(tcs, 1);
    assert_true(lo_str_starts(jstr(t0, "id"), "call_"));
    assert_string_equal(jstr(t1, "id"), "call_fixed");
    assert_string_equal(jstr(t0, "type"), "function");
    assert_string_equal(jstr(json_object_get(t1, "function"), "name"), "get_time");
    assert_string_equal(jstr(json_object_get(t1, "function"), "arguments"),
                        "{\"tz\":\"Europe/Paris\"}");
    json_decref(j);
    lo_http_result_release(&r);
    free(body);

    /* streamed: text deltas, then each call opened with id and name and its
     * arguments in pieces, keyed by index */
    snprintf(extra, sizeof extra, "%s, \"stream\": true}", CHAT_TOOLS);
    body = req(true, "two tools please", extra);
    assert_int_equal(call("/v1/chat/completions", body, &r, NULL), 200);
    json_t *c = chunks_of(&r);
    lo_buf text, args[2];
    lo_buf_init(&text, 0);
    lo_buf_init(&args[0], 0);
    lo_buf_init(&args[1], 0);
    const char *ids[2] = {NULL, NULL};
    for (size_t i = 0; i < json_array_size(c); i++) {
        const json_t *d = json_object_get(
            json_array_get(json_object_get(json_array_get(c, i), "choices"), 0), "delta");
        if (jstr(d, "content"))
            lo_buf_puts(&text, jstr(d, "content"));
        size_t k;
        json_t *tc;
        json_array_foreach(json_object_get(d, "tool_calls"), k, tc) {
            json_int_t idx = jint(tc, "index");
            assert_true(idx == 0 || idx == 1);
            if (jstr(tc, "id")) {
                assert_null(ids[idx]);
                ids[idx] = jstr(tc, "id");
                assert_string_equal(jstr(tc, "type"), "function");
                assert_non_null(jstr(json_object_get(tc, "function"), "name"));
            }
            lo_buf_puts(&args[idx], jstr(json_object_get(tc, "function"), "arguments"));
        }
    }
    assert_string_equal(text.data, "Checking both — ça marche.");
    assert_string_equal(ids[1], "call_fixed");
    json_t *a0 = json_loads(args[0].data, 0, NULL), *a1 = json_loads(args[1].data, 0, NULL);
    json_t *w0 = json_pack("{s:s}", "city", "Paris"), *w1 = json_pack("{s:s}", "tz", "Europe/Paris");
    assert_true(json_equal(a0, w0));
    assert_true(json_equal(a1, w1));
    json_decref(a0);
    json_decref(a1);
    json_decref(w0);
    json_decref(w1);
    lo_buf_release(&text);
    lo_buf_release(&args[0]);
    lo_buf_release(&args[1]);
    json_decref(c);
    lo_http_result_release(&r);
    free(body);

    /* round trip: a tool message answering the call */
    body = strdup("{\"model\": \"gpt-6.2-sol\", \"messages\": ["
                  "{\"role\": \"user\", \"content\": \"weather?\"},"
                  "{\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": "
                  "\"call_9\", \"type\": \"function\", \"function\": {\"name\": "
                  "\"get_weather\", \"arguments\": \"{}\"}}]},"
                  "{\"role\": \"tool\", \"tool_call_id\": \"call_9\", \"content\": "
                  "\"18°C\"}]}");
    assert_int_equal(call("/v1/chat/completions", body, &r, &j), 200);
    assert_string_equal(jstr(json_object_get(json_array_get(json_object_get(j, "choices"), 0),
                                             "message"), "content"),
                        "It is 18°C and sunny in Paris.");
    json_decref(j);
    lo_http_result_release(&r);
    free(body);
}

/* ------------------------------------------------------------ errors */

static void auth(void **state)
{
    (void)state;
    char *body = req(false, "hello", NULL);
    lo_http_result r;
    json_t *j;
    check_error(call_full(TWIN, "/v1/responses", body, NULL, &r, &j), j, 401,
                "invalid_request_error", NULL);
    assert_true(lo_str_starts(jstr(r.headers, "x-request-id"), "req_"));
    json_decref(j);
    lo_http_result_release(&r);
    check_error(call_full(KEYED, "/v1/chat/completions", body, "sk-wrong-key", &r, &j), j, 401,
                "invalid_request_error", "invalid_api_key");
    assert_null(strstr(r.body.data, "sk-wrong"));
    json_decref(j);
    lo_http_result_release(&r);
    check_error(call_full(KEYED, "/v1/models", NULL, "sk-test-ke", &r, &j), j, 401,
                "invalid_request_error", "invalid_api_key");
    json_decref(j);
    lo_http_result_release(&r);
    assert_int_equal(call_full(KEYED, "/v1/responses", body, "sk-test-key", &r, NULL), 200);
    lo_http_result_release(&r);
    free(body);
    pthread_mutex_lock(&TT_LOG_MU);
    assert_null(strstr(TT_LOG.data, "sk-"));
    assert_non_null(strstr(TT_LOG.data, "openai POST /v1/chat/completions 401"));
    pthread_mutex_unlock(&TT_LOG_MU);
}

static void validation(void **state)
{
    (void)state;
    static const struct {
        const char *path, *body;
        long status;
        const char *param, *code;
    } cases[] = {
        {"/v1/responses", "not json", 400, NULL, NULL},
        {"/v1/responses", "[1]", 400, NULL, NULL},
        {"/v1/responses", "{\"input\": \"hi\"}", 400, "model", "missing_required_parameter"},
        {"/v1/responses", "{\"model\": 3, \"input\": \"hi\"}", 400, "model", "invalid_type"},
        {"/v1/responses", "{\"model\": \"gpt-6.2-sol\"}", 400, "input",
         "missing_required_parameter"},
        {"/v1/responses", "{\"model\": \"gpt-6.2-sol\", \"input\": 5}", 400, "input",
         "invalid_type"},
        {"/v1/responses", "{\"model\": \"gpt-6.2-sol\", \"input\": [{\"role\": \"robot\", "
         "\"content\": \"x\"}]}", 400, "input[0].role", "invalid_value"},
        {"/v1/responses", "{\"model\": \"gpt-6.2-sol\", \"input\": [{\"type\": \"bogus\"}]}",
         400, "input[0].type", "invalid_value"},
        {"/v1/responses", "{\"model\": \"gpt-6.2-sol\", \"input\": [{\"type\": "
         "\"function_call_output\", \"call_id\": \"call_x\", \"output\": \"1\"}]}", 400,
         "input", NULL},
        {"/v1/responses", "{\"model\": \"gpt-6.2-sol\", \"input\": \"hi\", \"tools\": "
         "[{\"type\": \"function\", \"name\": \"f\", \"parameters\": {\"type\": \"string\"}}]}",
         400, "tools[0].parameters", "invalid_function_parameters"},
        {"/v1/responses", "{\"model\": \"gpt-6.2-sol\", \"input\": \"hi\", \"tools\": "
         "[{\"type\": \"function\", \"name\": \"bad name\"}]}", 400, "tools[0].name",
         "invalid_value"},
        {"/v1/responses", "{\"model\": \"gpt-6.2-sol\", \"input\": \"hi\", \"tool_choice\": "
         "{\"type\": \"function\", \"name\": \"nope\"}}", 400, "tool_choice", "invalid_value"},
        {"/v1/responses", "{\"model\": \"gpt-6.2-sol\", \"input\": \"hi\", \"temperature\": 3}",
         400, "temperature", "decimal_above_max_value"},
        {"/v1/responses", "{\"model\": \"gpt-6.2-sol\", \"input\": \"hi\", \"stream\": 1}", 400,
         "stream", "invalid_type"},
        {"/v1/responses", "{\"model\": \"gpt-6.2-sol\", \"input\": \"hi\", "
         "\"max_output_tokens\": 4}", 400, "max_output_tokens", "integer_below_min_value"},
        {"/v1/responses", "{\"model\": \"gpt-6.2-sol\", \"input\": \"hi\", "
         "\"max_output_tokens\": 999999}", 400, "max_output_tokens", "integer_above_max_value"},
        {"/v1/responses", "{\"model\": \"gpt-0-nope\", \"input\": \"hi\"}", 404, "model",
         "model_not_found"},
        {"/v1/responses", "{\"model\": \"claude-sonnet-4-5\", \"input\": \"hi\"}", 404, "model",
         "model_not_found"},
        {"/v1/chat/completions", "{\"model\": \"gpt-6.2-sol\"}", 400, "messages",
         "missing_required_parameter"},
        {"/v1/chat/completions", "{\"model\": \"gpt-6.2-sol\", \"messages\": \"hi\"}", 400,
         "messages", "invalid_type"},
        {"/v1/chat/completions", "{\"model\": \"gpt-6.2-sol\", \"messages\": []}", 400,
         "messages", "empty_array"},
        {"/v1/chat/completions", "{\"model\": \"gpt-6.2-sol\", \"messages\": [{\"content\": "
         "\"x\"}]}", 400, "messages[0].role", "missing_required_parameter"},
        {"/v1/chat/completions", "{\"model\": \"gpt-6.2-sol\", \"messages\": [{\"role\": "
         "\"robot\", \"content\": \"x\"}]}", 400, "messages[0].role", "invalid_value"},
        {"/v1/chat/completions", "{\"model\": \"gpt-6.2-sol\", \"messages\": [{\"role\": "
         "\"user\"}]}", 400, "messages[0].content", "missing_required_parameter"},
        {"/v1/chat/completions", "{\"model\": \"gpt-6.2-sol\", \"messages\": [{\"role\": "
         "\"user\", \"content\": \"x\"}, {\"role\": \"tool\", \"tool_call_id\": \"call_1\", "
         "\"content\": \"r\"}]}", 400, "messages.[1].role", NULL},
        {"/v1/chat/completions", "{\"model\": \"gpt-6.2-sol\", \"messages\": [{\"role\": "
         "\"assistant\", \"tool_calls\": [{\"id\": \"call_1\", \"type\": \"function\", "
         "\"function\": {\"name\": \"f\", \"arguments\": \"{}\"}}]}, {\"role\": \"tool\", "
         "\"tool_call_id\": \"call_2\", \"content\": \"r\"}]}", 400,
         "messages.[1].tool_call_id", NULL},
        {"/v1/chat/completions", "{\"model\": \"gpt-6.2-sol\", \"messages\": [{\"role\": "
         "\"assistant\", \"tool_calls\": [{\"id\": \"call_1\", \"type\": \"function\", "
         "\"function\": {\"name\": \"f\", \"arguments\": \"{}\"}}]}, {\"role\": \"user\", "
         "\"content\": \"r\"}]}", 400, "messages.[0].role", NULL},
        {"/v1/chat/completions", "{\"model\": \"gpt-6.2-sol\", \"messages\": [{\"role\": "
         "\"user\", \"content\": \"x\"}], \"tools\": [{\"type\": \"function\"}]}", 400,
         "tools[0].function", "missing_required_parameter"},
        {"/v1/chat/completions", "{\"model\": \"gpt-6.2-sol\", \"messages\": [{\"role\": "
         "\"user\", \"content\": \"x\"}], \"tools\": [{\"type\": \"function\", \"function\": "
         "{\"name\": \"f\", \"parameters\": []}}]}", 400, "tools[0].function.parameters",
         "invalid_function_parameters"},
        {"/v1/chat/completions", "{\"model\": \"gpt-6.2-sol\", \"messages\": [{\"role\": "
         "\"user\", \"content\": \"x\"}], \"stream_options\": {\"include_usage\": true}}", 400,
         "stream_options", NULL},
        {"/v1/chat/completions", "{\"model\": \"nope\", \"messages\": [{\"role\": \"user\", "
         "\"content\": \"x\"}]}", 404, NULL, "model_not_found"},
    };
    long calls = lo_twin_calls(TWIN);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lo_http_result r;
        json_t *j;
        long st = call(cases[i].path, cases[i].body, &r, &j);
        if (st != cases[i].status || !j)
            fail_msg("case %zu: status %ld body %s", i, st, r.body.data);
        check_error(st, j, cases[i].status, "invalid_request_error", cases[i].code);
        const json_t *p = json_object_get(json_object_get(j, "error"), "param");
        if (cases[i].param)
            assert_string_equal(json_string_value(p), cases[i].param);
        else
            assert_true(json_is_null(p));
        json_decref(j);
        lo_http_result_release(&r);
    }
    /* a refused request is not a call */
    assert_int_equal(lo_twin_calls(TWIN), calls);
}

static void faults(void **state)
{
    (void)state;
    lo_http_result r;
    json_t *j;
    char *body = req(false, "rate limit", NULL);
    check_error(call("/v1/responses", body, &r, &j), j, 429, "requests", "rate_limit_exceeded");
    assert_string_equal(jstr(r.headers, "retry-after"), "7");
    json_decref(j);
    lo_http_result_release(&r);
    free(body);
    body = req(true, "server error", NULL);
    check_error(call("/v1/chat/completions", body, &r, &j), j, 500, "server_error", NULL);
    json_decref(j);
    lo_http_result_release(&r);
    free(body);
    body = req(true, "unavailable", NULL);
    check_error(call("/v1/chat/completions", body, &r, &j), j, 503, "server_error", NULL);
    assert_string_equal(jstr(r.headers, "retry-after"), "3");
    json_decref(j);
    lo_http_result_release(&r);
    free(body);

    /* latency */
    body = req(false, "slow", NULL);
    int64_t t0 = tt_now_ms();
    assert_int_equal(call("/v1/responses", body, &r, &j), 200);
    assert_true(tt_now_ms() - t0 >= 290);
    assert_non_null(j);
    json_decref(j);
    lo_http_result_release(&r);
    free(body);

    /* cut_after 4: four events, no response.completed */
    body = req(false, "cut", "{\"stream\": true}");
    assert_int_equal(call("/v1/responses", body, &r, NULL), 200);
    json_t *ev = events_of(&r);
    assert_int_equal(json_array_size(ev), 4);
    assert_null(strstr(r.body.data, "response.completed"));
    json_decref(ev);
    lo_http_result_release(&r);
    free(body);
    body = req(true, "cut", "{\"stream\": true}");
    assert_int_equal(call("/v1/chat/completions", body, &r, NULL), 200);
    assert_null(strstr(r.body.data, "[DONE]"));
    lo_http_result_release(&r);
    free(body);

    /* malformed: the body does not parse; in a stream, the second event */
    body = req(true, "malformed", NULL);
    assert_int_equal(call("/v1/chat/completions", body, &r, &j), 200);
    assert_null(j);
    lo_http_result_release(&r);
    free(body);
    body = req(false, "malformed", "{\"stream\": true}");
    assert_int_equal(call("/v1/responses", body, &r, NULL), 200);
    ev = events_of(&r);
    assert_null(json_loads(jstr(json_array_get(ev, 1), "data"), 0, NULL));
    json_decref(ev);
    lo_http_result_release(&r);
    free(body);

    /* drip: 20 ms between events */
    body = req(true, "drip", "{\"stream\": true}");
    t0 = tt_now_ms();
    assert_int_equal(call("/v1/chat/completions", body, &r, NULL), 200);
    json_t *c = chunks_of(&r);
    assert_true(tt_now_ms() - t0 >= (int64_t)(json_array_size(c) * 20) - 20);
    json_decref(c);
    lo_http_result_release(&r);
    free(body);
}

static void unmatched_models_paths(void **state)
{
    (void)state;
    lo_http_result r;
    json_t *j;
    char *body = req(true, "nothing like it", NULL);
    check_error(call("/v1/chat/completions", body, &r, &j), j, 400, "invalid_request_error",
                NULL);
    assert_non_null(strstr(jstr(json_object_get(j, "error"), "message"), "openai.jsonl:1"));
    json_decref(j);
    lo_http_result_release(&r);
    free(body);

    assert_int_equal(call("/v1/models", NULL, &r, &j), 200);
    assert_string_equal(jstr(j, "object"), "list");
    const json_t *data = json_object_get(j, "data");
    assert_true(json_array_size(data) > 0);
    size_t i;
    json_t *m;
    json_array_foreach(data, i, m) {
        assert_string_equal(jstr(m, "object"), "model");
        assert_string_equal(jstr(m, "owned_by"), "openai");
        assert_true(jint(m, "created") > 0);
        assert_null(strstr(jstr(m, "id"), "claude"));
    }
    json_decref(j);
    lo_http_result_release(&r);
    assert_int_equal(call("/v1/models/gpt-6.2-sol", NULL, &r, &j), 200);
    assert_string_equal(jstr(j, "id"), "gpt-6.2-sol");
    json_decref(j);
    lo_http_result_release(&r);
    check_error(call("/v1/models/claude-sonnet-4-5", NULL, &r, &j), j, 404,
                "invalid_request_error", "model_not_found");
    json_decref(j);
    lo_http_result_release(&r);
    check_error(call("/v1/embeddings", "{}", &r, &j), j, 404, "invalid_request_error", NULL);
    json_decref(j);
    lo_http_result_release(&r);
}

static void all_providers(void **state)
{
    (void)state;
    lo_twin *t = start("all", NULL);
    lo_http_result r;
    char *body = req(false, "which api", NULL);
    json_t *j;
    assert_int_equal(call_full(t, "/v1/responses", body, "k", &r, &j), 200);
    const json_t *msg = json_array_get(json_object_get(j, "output"), 0);
    assert_string_equal(jstr(json_array_get(json_object_get(msg, "content"), 0), "text"),
                        "Responses.");
    json_decref(j);
    lo_http_result_release(&r);
    free(body);
    /* the Anthropic API answers on the same port */
    char url[256];
    snprintf(url, sizeof url, "%s/v1/messages", lo_twin_base_url(t));
    const char *hdrs[] = {"x-api-key: k", "anthropic-version: 2023-06-01",
                          "content-type: application/json", NULL};
    const char *mb = "{\"model\": \"claude-sonnet-4-5\", \"max_tokens\": 100, \"messages\": "
                     "[{\"role\": \"user\", \"content\": \"hello\"}]}";
    lo_http_call c = {.url = url, .headers = hdrs, .body = mb, .body_len = strlen(mb),
                      .timeout_ms = 10000};
    lo_error err = {0};
    assert_int_equal(lo_http_do(&c, &r, &err), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body.data, "\"type\":\"message\""));
    lo_http_result_release(&r);
    lo_twin_stop(t);
    unsigned sup = lo_twin_supported();
    assert_true((sup & LO_TWIN_OPENAI) && (sup & LO_TWIN_ANTHROPIC));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(responses_text),
        cmocka_unit_test(responses_stream_text),
        cmocka_unit_test(responses_tools),
        cmocka_unit_test(responses_reasoning_and_incomplete),
        cmocka_unit_test(chat_text),
        cmocka_unit_test(chat_stream),
        cmocka_unit_test(chat_tools),
        cmocka_unit_test(auth),
        cmocka_unit_test(validation),
        cmocka_unit_test(faults),
        cmocka_unit_test(unmatched_models_paths),
        cmocka_unit_test(all_providers),
    };
    return cmocka_run_group_tests_name("twin_openai", tests, setup, teardown);
}
