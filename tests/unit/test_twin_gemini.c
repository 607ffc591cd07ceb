/* Unit tests for the Gemini twin (src/twin/gemini.c): in process on an
 * ephemeral port, spoken to with the real HTTP client and SSE parser,
 * checked against the wire format of generateContent, streamGenerateContent
 * (SSE and JSON array), countTokens and the model list. Tapes:
 * tests/data/tapes/gemini.jsonl, then basic.jsonl. */
#include "twin_testutil.h"

#define MODEL "gemini-3.8-flash"

static lo_tape *TAPES[2]; /* gemini.jsonl, basic.jsonl */
static lo_twin *TWIN;     /* any key accepted */
static lo_twin *KEYED;    /* accepts only "AIza-test-key" */

static lo_twin *start(const char *key)
{
    lo_twin_config cfg = {.provider = "gemini", .tapes = TAPES, .n_tapes = 2, .api_key = key,
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
    TAPES[0] = lo_tape_load(lo_test_data("tapes/gemini.jsonl"), &err);
    TAPES[1] = lo_tape_load(lo_test_data("tapes/basic.jsonl"), &err);
    if (!TAPES[0] || !TAPES[1]) {
        fprintf(stderr, "tapes: %s\n", err.msg);
        return -1;
    }
    TWIN = start(NULL);
    KEYED = start("AIza-test-key");
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

/* POST (GET when body is NULL) path (with its query) to t, with
 * "x-goog-api-key: key" when key is not NULL; *json gets the body parsed. */
static long call_full(lo_twin *t, const char *path, const char *body, const char *key,
                      lo_http_result *r, json_t **json)
{
    char url[512], kh[128];
    snprintf(url, sizeof url, "%s%s", lo_twin_base_url(t), path);
    const char *hdrs[3] = {"content-type: application/json", NULL, NULL};
    if (key) {
        snprintf(kh, sizeof kh, "x-goog-api-key: %s", key);
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
    return call_full(TWIN, path, body, "AIza-any", r, json);
}

/* One user turn, with extra request fields merged in. */
static char *req(const char *user, const char *extra)
{
    json_t *j = json_pack("{s:[{s:s, s:[{s:s}]}]}", "contents", "role", "user", "parts",
                          "text", user);
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

/* A Gemini error body: {"error": {code, message, status, details?}}. */
static const json_t *check_error_(long status, json_t *j, long want_status,
                                  const char *want_status_name)
{
    assert_int_equal(status, want_status);
    assert_non_null(j);
    const json_t *e = json_object_get(j, "error");
    assert_true(json_is_object(e));
    assert_int_equal(jint(e, "code"), want_status);
    assert_true(json_is_string(json_object_get(e, "message")));
    assert_string_equal(jstr(e, "status"), want_status_name);
    return e;
}

#define check_error(call_expr, j, ...)                                                    \
    do {                                                                                  \
        long st_ = (call_expr);                                                           \
        check_error_(st_, j, __VA_ARGS__);                                                \
    } while (0)

static const json_t *cand0(const json_t *resp)
{
    const json_t *c = json_array_get(json_object_get(resp, "candidates"), 0);
    assert_non_null(c);
    return c;
}

static const json_t *parts_of(const json_t *resp)
{
    const json_t *content = json_object_get(cand0(resp), "content");
    assert_string_equal(jstr(content, "role"), "model");
    const json_t *parts = json_object_get(content, "parts");
    assert_true(json_is_array(parts));
    return parts;
}

/* The exact top-level shape of a GenerateContentResponse. */
static void check_response(const json_t *j, const char *finish)
{
    assert_int_equal(json_object_size(j), 4);
    assert_int_equal(json_array_size(json_object_get(j, "candidates")), 1);
    assert_string_equal(jstr(j, "modelVersion"), MODEL);
    assert_true(strlen(jstr(j, "responseId")) > 10);
    const json_t *c = cand0(j);
    assert_int_equal(jint(c, "index"), 0);
    assert_string_equal(jstr(c, "finishReason"), finish);
    const json_t *u = json_object_get(j, "usageMetadata");
    json_int_t p = jint(u, "promptTokenCount"), k = jint(u, "candidatesTokenCount");
    json_int_t th = json_object_get(u, "thoughtsTokenCount") ? jint(u, "thoughtsTokenCount") : 0;
    assert_true(p > 0);
    assert_int_equal(jint(u, "totalTokenCount"), p + k + th);
}

/* ------------------------------------------------------------ generateContent */

static void text_reply(void **state)
{
    (void)state;
    lo_http_result r;
    json_t *j;
    char *b = req("hello", NULL);
    /* an alias resolves; modelVersion is the catalog id */
    assert_int_equal(call("/v1beta/models/gemini-flash:generateContent", b, &r, &j), 200);
    check_response(j, "STOP");
    const json_t *parts = parts_of(j);
    assert_int_equal(json_array_size(parts), 1);
    assert_int_equal(json_object_size(json_array_get(parts, 0)), 1);
    assert_string_equal(jstr(json_array_get(parts, 0), "text"),
                        "Hello! How can I help you today?");
    const json_t *u = json_object_get(j, "usageMetadata");
    /* 3 + 4 + text("hello") = 9; ceil(32 / 4) = 8 */
    assert_int_equal(jint(u, "promptTokenCount"), 9);
    assert_int_equal(jint(u, "candidatesTokenCount"), 8);
    assert_null(json_object_get(u, "thoughtsTokenCount"));
    assert_true(lo_str_starts(jstr(r.headers, "content-type"), "application/json"));
    json_decref(j);
    lo_http_result_release(&r);
    free(b);
    pthread_mutex_lock(&TT_LOG_MU);
    assert_non_null(strstr(TT_LOG.data, "gemini POST /v1beta/models/gemini-flash:generateContent "
                                     "200 call="));
    assert_non_null(strstr(TT_LOG.data, "basic.jsonl:1"));
    assert_null(strstr(TT_LOG.data, "AIza"));
    pthread_mutex_unlock(&TT_LOG_MU);

    /* MAX_TOKENS from a neutral "length" */
    b = req("tell me a long story", NULL);
    assert_int_equal(call("/v1beta/models/" MODEL ":generateContent", b, &r, &j), 200);
    check_response(j, "MAX_TOKENS");
    json_decref(j);
    lo_http_result_release(&r);
    free(b);
}

static const char *TOOLS = "{\"tools\": [{\"functionDeclarations\": [{\"name\": "
                           "\"get_weather\", \"description\": \"Weather\", \"parameters\": "
                           "{\"type\": \"OBJECT\", \"properties\": {\"city\": {\"type\": "
                           "\"STRING\"}}}}, {\"name\": \"get_time\"}]}]}";

static void function_calls(void **state)
{
    (void)state;
    lo_http_result r;
    json_t *j;
    char *b = req("weather in Paris?", TOOLS);
    assert_int_equal(call("/v1beta/models/" MODEL ":generateContent", b, &r, &j), 200);
    check_response(j, "STOP");
    const json_t *p = json_array_get(parts_of(j), 0);
    const json_t *fc = json_object_get(p, "functionCall");
    assert_string_equal(jstr(fc, "name"), "get_weather");
    assert_true(json_is_object(json_object_get(fc, "args")));
    assert_string_equal(jstr(json_object_get(fc, "args"), "city"), "Paris");
    assert_string_equal(jstr(json_object_get(fc, "args"), "unit"), "celsius");
    json_decref(j);
    lo_http_result_release(&r);
    free(b);

    /* two calls after text, in order */
    b = req("two tools please", TOOLS);
    assert_int_equal(call("/v1beta/models/" MODEL ":generateContent", b, &r, &j), 200);
    const json_t *parts = parts_of(j);
    assert_int_equal(json_array_size(parts), 3);
    assert_string_equal(jstr(json_array_get(parts, 0), "text"), "Checking both — ça marche.");
    assert_string_equal(jstr(json_object_get(json_array_get(parts, 2), "functionCall"), "name"),
                        "get_time");
    json_decref(j);
    lo_http_result_release(&r);
    free(b);

    /* the round trip: a functionResponse is the tool result */
    const char *rt = "{\"contents\": [{\"role\": \"user\", \"parts\": [{\"text\": \"weather?\"}]},"
                     " {\"role\": \"model\", \"parts\": [{\"functionCall\": {\"name\": "
                     "\"get_weather\", \"args\": {\"city\": \"Paris\"}}}]}, {\"role\": \"user\", "
                     "\"parts\": [{\"functionResponse\": {\"name\": \"get_weather\", "
                     "\"response\": {\"result\": \"18°C, sunny\"}}}]}]}";
    assert_int_equal(call("/v1beta/models/" MODEL ":generateContent", rt, &r, &j), 200);
    assert_string_equal(jstr(json_array_get(parts_of(j), 0), "text"),
                        "It is 18°C and sunny in Paris.");
    json_decref(j);
    lo_http_result_release(&r);
}

static void thinking(void **state)
{
    (void)state;
    lo_http_result r;
    json_t *j;
    char *b = req("think: 2 + 2?",
                  "{\"generationConfig\": {\"thinkingConfig\": {\"includeThoughts\": true}}}");
    assert_int_equal(call("/v1beta/models/" MODEL ":generateContent", b, &r, &j), 200);
    check_response(j, "STOP");
    const json_t *parts = parts_of(j);
    assert_int_equal(json_array_size(parts), 2);
    const json_t *t0 = json_array_get(parts, 0), *t1 = json_array_get(parts, 1);
    assert_string_equal(jstr(t0, "text"), "The user asks for 2 + 2. That is 4.");
    assert_true(json_is_true(json_object_get(t0, "thought")));
    assert_string_equal(jstr(t1, "text"), "2 + 2 = 4.");
    assert_null(json_object_get(t1, "thought"));
    assert_string_equal(jstr(t1, "thoughtSignature"), "c2lnbmF0dXJlLWZvci10ZXN0cw==");
    const json_t *u = json_object_get(j, "usageMetadata");
    assert_int_equal(jint(u, "thoughtsTokenCount"), 9); /* ceil(35 / 4) */
    json_decref(j);
    lo_http_result_release(&r);
    free(b);

    /* without includeThoughts: no summary, the tokens and signature remain */
    b = req("think: 2 + 2?", NULL);
    assert_int_equal(call("/v1beta/models/" MODEL ":generateContent", b, &r, &j), 200);
    parts = parts_of(j);
    assert_int_equal(json_array_size(parts), 1);
    assert_string_equal(jstr(json_array_get(parts, 0), "thoughtSignature"),
                        "c2lnbmF0dXJlLWZvci10ZXN0cw==");
    assert_int_equal(jint(json_object_get(j, "usageMetadata"), "thoughtsTokenCount"), 9);
    json_decref(j);
    lo_http_result_release(&r);
    free(b);

    /* with a call, the signature is on the function call part */
    b = req("think and call", TOOLS);
    assert_int_equal(call("/v1beta/models/" MODEL ":generateContent", b, &r, &j), 200);
    parts = parts_of(j);
    assert_int_equal(json_array_size(parts), 1);
    assert_non_null(json_object_get(json_array_get(parts, 0), "functionCall"));
    assert_string_equal(jstr(json_array_get(parts, 0), "thoughtSignature"), "c2lnLWNhbGw=");
    json_decref(j);
    lo_http_result_release(&r);
    free(b);
}

/* ------------------------------------------------------------ streams */

static int on_event(const lo_sse_event *ev, void *ud)
{
    json_t *d = json_loads(ev->data, 0, NULL);
    json_array_append_new(ud, d ? d : json_null());
    return 0;
}

static json_t *sse_chunks(const lo_http_result *r)
{
    json_t *a = json_array();
    lo_sse *p = lo_sse_new(on_event, a, 0);
    assert_non_null(p);
    assert_int_equal(lo_sse_feed(p, r->body.data ? r->body.data : "", r->body.len), 0);
    lo_sse_finish(p);
    lo_sse_free(p);
    return a;
}

/* Every chunk a GenerateContentResponse; the text (thought or not) they
 * carry, concatenated; finishReason and full usage on the last only. */
static void check_chunks(const json_t *chunks, bool thought, const char *want, bool complete)
{
    lo_buf text;
    lo_buf_init(&text, 0);
    size_t n = json_array_size(chunks), i, k;
    json_t *c, *p;
    assert_true(n >= 1);
    json_array_foreach(chunks, i, c) {
        assert_true(json_is_object(c));
        assert_string_equal(jstr(c, "modelVersion"), MODEL);
        json_array_foreach(parts_of(c), k, p)
            if (jstr(p, "text") && json_is_true(json_object_get(p, "thought")) == thought)
                lo_buf_puts(&text, jstr(p, "text"));
        bool last = complete && i + 1 == n;
        assert_int_equal(json_object_get(cand0(c), "finishReason") != NULL, last);
        const json_t *u = json_object_get(c, "usageMetadata");
        assert_int_equal(json_object_get(u, "candidatesTokenCount") != NULL, last);
    }
    if (complete)
        check_response(json_array_get(chunks, n - 1), "STOP");
    assert_string_equal(text.data ? text.data : "", want);
    lo_buf_release(&text);
}

static void stream_sse(void **state)
{
    (void)state;
    lo_http_result r;
    char *b = req("hello", NULL);
    assert_int_equal(call("/v1beta/models/" MODEL ":streamGenerateContent?alt=sse", b, &r, NULL),
                     200);
    assert_true(lo_str_starts(jstr(r.headers, "content-type"), "text/event-stream"));
    json_t *chunks = sse_chunks(&r);
    assert_true(json_array_size(chunks) > 1);
    check_chunks(chunks, false, "Hello! How can I help you today?", true);
    json_decref(chunks);
    lo_http_result_release(&r);
    free(b);

    /* thinking streams as thought pieces first; the call arrives whole */
    b = req("think: 2 + 2?",
            "{\"generationConfig\": {\"thinkingConfig\": {\"includeThoughts\": true}}}");
    assert_int_equal(call("/v1beta/models/" MODEL ":streamGenerateContent?alt=sse", b, &r, NULL),
                     200);
    chunks = sse_chunks(&r);
    check_chunks(chunks, true, "The user asks for 2 + 2. That is 4.", true);
    check_chunks(chunks, false, "2 + 2 = 4.", true);
    const json_t *lp = json_array_get(parts_of(json_array_get(chunks, json_array_size(chunks) - 1)),
                                      0);
    assert_string_equal(jstr(lp, "thoughtSignature"), "c2lnbmF0dXJlLWZvci10ZXN0cw==");
    json_decref(chunks);
    lo_http_result_release(&r);
    free(b);
}

static void stream_array(void **state)
{
    (void)state;
    lo_http_result r;
    json_t *j;
    char *b = req("hello", NULL);
    assert_int_equal(call("/v1beta/models/" MODEL ":streamGenerateContent", b, &r, &j), 200);
    assert_true(lo_str_starts(jstr(r.headers, "content-type"), "application/json"));
    assert_true(json_is_array(j));
    assert_true(json_array_size(j) > 1);
    check_chunks(j, false, "Hello! How can I help you today?", true);
    json_decref(j);
    lo_http_result_release(&r);
    free(b);

    b = req("weather?", TOOLS);
    assert_int_equal(call("/v1beta/models/" MODEL ":streamGenerateContent", b, &r, &j), 200);
    assert_int_equal(json_array_size(j), 1);
    check_chunks(j, false, "", true);
    json_decref(j);
    lo_http_result_release(&r);
    free(b);
}

/* ------------------------------------------------------------ auth, validation */

static void auth(void **state)
{
    (void)state;
    lo_http_result r;
    json_t *j;
    char *b = req("hello", NULL);
    const char *path = "/v1beta/models/" MODEL ":generateContent";
    check_error(call_full(KEYED, path, b, NULL, &r, &j), j, 403, "PERMISSION_DENIED");
    json_decref(j);
    lo_http_result_release(&r);
    check_error(call_full(KEYED, path, b, "AIza-wrong", &r, &j), j, 400, "INVALID_ARGUMENT");
    const json_t *d = json_array_get(json_object_get(json_object_get(j, "error"), "details"), 0);
    assert_string_equal(jstr(d, "reason"), "API_KEY_INVALID");
    assert_null(strstr(r.body.data, "AIza-wrong"));
    json_decref(j);
    lo_http_result_release(&r);
    assert_int_equal(call_full(KEYED, path, b, "AIza-test-key", &r, NULL), 200);
    lo_http_result_release(&r);
    /* key= in the query */
    assert_int_equal(call_full(KEYED, "/v1beta/models/" MODEL ":generateContent?key=AIza-test-key",
                               b, NULL, &r, NULL),
                     200);
    lo_http_result_release(&r);
    check_error(call_full(KEYED, "/v1beta/models/" MODEL ":generateContent?key=nope", b, NULL,
                          &r, &j),
                j, 400, "INVALID_ARGUMENT");
    json_decref(j);
    lo_http_result_release(&r);
    check_error(call_full(KEYED, "/v1beta/models", NULL, NULL, &r, &j), j, 403,
                "PERMISSION_DENIED");
    json_decref(j);
    lo_http_result_release(&r);
    free(b);
}

static void expect_400(const char *body, const char *fragment)
{
    lo_http_result r;
    json_t *j;
    long calls = lo_twin_calls(TWIN);
    check_error(call("/v1beta/models/" MODEL ":generateContent", body, &r, &j), j, 400,
                "INVALID_ARGUMENT");
    const char *msg = jstr(json_object_get(j, "error"), "message");
    if (!strstr(msg, fragment))
        fail_msg("message '%s' lacks '%s'", msg, fragment);
    assert_int_equal(lo_twin_calls(TWIN), calls); /* not a call */
    json_decref(j);
    lo_http_result_release(&r);
}

static void validation(void **state)
{
    (void)state;
    expect_400("not json", "Invalid JSON payload");
    expect_400("{}", "contents is not specified");
    expect_400("{\"contents\": []}", "contents is not specified");
    expect_400("{\"contents\": [{\"role\": \"assistant\", \"parts\": [{\"text\": \"x\"}]}]}",
               "valid role: user, model");
    expect_400("{\"contents\": [{\"role\": \"user\", \"parts\": []}]}",
               "contents[0].parts: contents.parts must not be empty");
    expect_400("{\"contents\": [{\"parts\": [{\"functionResponse\": {\"response\": {}}}]}]}",
               "function_response.name: Name cannot be empty");
    expect_400("{\"contents\": [{\"parts\": [{\"bogus\": 1}]}]}", "oneof field 'data'");
    expect_400("{\"contents\": [{\"parts\": [{\"text\": \"x\"}]}], \"tools\": "
               "[{\"functionDeclarations\": [{\"name\": \"1bad\"}]}]}",
               "tools[0].function_declarations[0].name: Invalid function name");
    expect_400("{\"contents\": [{\"parts\": [{\"text\": \"x\"}]}], \"tools\": "
               "[{\"functionDeclarations\": [{\"name\": \"f\", \"parameters\": {\"type\": "
               "\"STRING\"}}]}]}",
               "parameters.type");
    expect_400("{\"contents\": [{\"parts\": [{\"text\": \"x\"}]}], \"tools\": "
               "[{\"functionDeclarations\": [{\"name\": \"f\"}, {\"name\": \"f\"}]}]}",
               "Duplicate function declaration");
    expect_400("{\"contents\": [{\"parts\": [{\"text\": \"x\"}]}], \"messages\": []}",
               "Unknown name \"messages\"");
    expect_400("{\"contents\": [{\"parts\": [{\"text\": \"x\"}]}], \"generationConfig\": "
               "{\"temperature\": 3}}", "temperature");

    lo_http_result r;
    json_t *j;
    char *b = req("hello", NULL);
    check_error(call("/v1beta/models/gpt-6.2-sol:generateContent", b, &r, &j), j, 404,
                "NOT_FOUND");
    assert_non_null(strstr(jstr(json_object_get(j, "error"), "message"), "models/gpt-6.2-sol"));
    json_decref(j);
    lo_http_result_release(&r);
    check_error(call("/v1beta/models/" MODEL ":embedContent", b, &r, &j), j, 404, "NOT_FOUND");
    json_decref(j);
    lo_http_result_release(&r);
    free(b);
}

/* ------------------------------------------------------------ faults, tapes */

static void faults(void **state)
{
    (void)state;
    lo_http_result r;
    json_t *j;
    const char *path = "/v1beta/models/" MODEL ":generateContent";
    char *b = req("rate limit", NULL);
    check_error(call(path, b, &r, &j), j, 429, "RESOURCE_EXHAUSTED");
    assert_string_equal(jstr(r.headers, "retry-after"), "7");
    const json_t *d = json_array_get(json_object_get(json_object_get(j, "error"), "details"), 0);
    assert_string_equal(jstr(d, "retryDelay"), "7s");
    json_decref(j);
    lo_http_result_release(&r);
    free(b);
    b = req("server error", NULL);
    check_error(call(path, b, &r, &j), j, 500, "INTERNAL");
    json_decref(j);
    lo_http_result_release(&r);
    free(b);
    b = req("unavailable", NULL);
    check_error(call(path, b, &r, &j), j, 503, "UNAVAILABLE");
    assert_string_equal(jstr(r.headers, "retry-after"), "3");
    json_decref(j);
    lo_http_result_release(&r);
    free(b);

    b = req("slow", NULL);
    int64_t t0 = tt_now_ms();
    assert_int_equal(call(path, b, &r, NULL), 200);
    assert_true(tt_now_ms() - t0 >= 290);
    lo_http_result_release(&r);
    free(b);

    b = req("malformed", NULL);
    assert_int_equal(call(path, b, &r, &j), 200);
    assert_null(j);
    lo_http_result_release(&r);
    assert_int_equal(call("/v1beta/models/" MODEL ":streamGenerateContent?alt=sse", b, &r, NULL),
                     200);
    json_t *chunks = sse_chunks(&r);
    assert_true(json_is_null(json_array_get(chunks, 1)));
    json_decref(chunks);
    lo_http_result_release(&r);
    assert_int_equal(call("/v1beta/models/" MODEL ":streamGenerateContent", b, &r, &j), 200);
    assert_null(j);
    lo_http_result_release(&r);
    free(b);

    /* cut after 2 chunks: no finishReason arrives; the array is not closed */
    b = req("cut in two", NULL);
    assert_int_equal(call("/v1beta/models/" MODEL ":streamGenerateContent?alt=sse", b, &r, NULL),
                     200);
    chunks = sse_chunks(&r);
    assert_int_equal(json_array_size(chunks), 2);
    check_chunks(chunks, false, "This stream is cut short before ", false);
    json_decref(chunks);
    lo_http_result_release(&r);
    assert_int_equal(call("/v1beta/models/" MODEL ":streamGenerateContent", b, &r, &j), 200);
    assert_null(j);
    assert_true(r.body.len > 0 && r.body.data[0] == '[' && r.body.data[r.body.len - 1] != ']');
    lo_http_result_release(&r);
    free(b);

    /* drip: 20 ms between chunks */
    b = req("drip", NULL);
    t0 = tt_now_ms();
    assert_int_equal(call("/v1beta/models/" MODEL ":streamGenerateContent?alt=sse", b, &r, NULL),
                     200);
    chunks = sse_chunks(&r);
    assert_true(tt_now_ms() - t0 >= (int64_t)(json_array_size(chunks) - 1) * 20 - 5);
    check_chunks(chunks, false, "drip drip drip drip drip drip drip", true);
    json_decref(chunks);
    lo_http_result_release(&r);
    free(b);
}

static void unmatched(void **state)
{
    (void)state;
    const char *line = "{\"match\": {\"user\": \"hello\"}, \"reply\": {\"text\": \"hi\"}}\n";
    lo_tape *only = lo_tape_parse(line, strlen(line), "one.jsonl", NULL);
    assert_non_null(only);
    lo_twin_config cfg = {.provider = "gemini", .tapes = &only, .n_tapes = 1};
    lo_error err = {0};
    lo_twin *t = lo_twin_start(&cfg, &err);
    assert_non_null(t);
    lo_http_result r;
    json_t *j;
    char *b = req("goodbye", NULL);
    check_error(call_full(t, "/v1beta/models/" MODEL ":generateContent", b, "k", &r, &j), j, 400,
                "INVALID_ARGUMENT");
    const char *msg = jstr(json_object_get(j, "error"), "message");
    assert_non_null(strstr(msg, "one.jsonl:1"));
    assert_non_null(strstr(msg, "\"hello\""));
    assert_int_equal(lo_twin_calls(t), 1);
    json_decref(j);
    lo_http_result_release(&r);
    free(b);
    /* unknown paths outside /v1beta, when Gemini is alone */
    check_error(call_full(t, "/v1/messages", "{}", "k", &r, &j), j, 404, "NOT_FOUND");
    json_decref(j);
    lo_http_result_release(&r);
    lo_twin_stop(t);
    lo_tape_free(only);
}

/* ------------------------------------------------------------ countTokens, models */

static void count_tokens(void **state)
{
    (void)state;
    lo_http_result r;
    json_t *j;
    long calls = lo_twin_calls(TWIN);
    const char *b = "{\"contents\": [{\"parts\": [{\"text\": \"hello there\"}]}]}";
    assert_int_equal(call("/v1beta/models/" MODEL ":countTokens", b, &r, &j), 200);
    assert_int_equal(jint(j, "totalTokens"), 10); /* 3 + 4 + 3 */
    assert_int_equal(
        jint(json_array_get(json_object_get(j, "promptTokensDetails"), 0), "tokenCount"), 10);
    json_decref(j);
    lo_http_result_release(&r);
    char *g = req("hello there", TOOLS);
    char body[2048];
    snprintf(body, sizeof body, "{\"generateContentRequest\": %s}", g);
    free(g);
    assert_int_equal(call("/v1beta/models/" MODEL ":countTokens", body, &r, &j), 200);
    assert_true(jint(j, "totalTokens") > 10 + 16); /* and the two declarations */
    json_decref(j);
    lo_http_result_release(&r);
    check_error(call("/v1beta/models/" MODEL ":countTokens", "{}", &r, &j), j, 400,
                "INVALID_ARGUMENT");
    json_decref(j);
    lo_http_result_release(&r);
    assert_int_equal(lo_twin_calls(TWIN), calls);
}

static void models(void **state)
{
    (void)state;
    lo_http_result r;
    json_t *j;
    assert_int_equal(call("/v1beta/models", NULL, &r, &j), 200);
    const json_t *ms = json_object_get(j, "models");
    assert_true(json_array_size(ms) > 3);
    size_t i;
    json_t *m;
    bool found = false;
    json_array_foreach(ms, i, m) {
        assert_true(lo_str_starts(jstr(m, "name"), "models/gemini-"));
        assert_true(jint(m, "inputTokenLimit") > 0 && jint(m, "outputTokenLimit") > 0);
        assert_true(json_is_array(json_object_get(m, "supportedGenerationMethods")));
        found |= lo_str_eq(jstr(m, "name"), "models/" MODEL);
    }
    assert_true(found);
    assert_null(json_object_get(j, "nextPageToken"));
    json_decref(j);
    lo_http_result_release(&r);

    assert_int_equal(call("/v1beta/models?pageSize=2", NULL, &r, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "models")), 2);
    char path[128];
    snprintf(path, sizeof path, "/v1beta/models?pageSize=2&pageToken=%s",
             jstr(j, "nextPageToken"));
    json_decref(j);
    lo_http_result_release(&r);
    assert_int_equal(call(path, NULL, &r, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "models")), 2);
    json_decref(j);
    lo_http_result_release(&r);

    assert_int_equal(call("/v1beta/models/gemini-flash", NULL, &r, &j), 200);
    assert_string_equal(jstr(j, "name"), "models/" MODEL);
    assert_int_equal(jint(j, "outputTokenLimit"), 65536);
    json_decref(j);
    lo_http_result_release(&r);
    check_error(call("/v1beta/models/claude-sonnet-4-5", NULL, &r, &j), j, 404, "NOT_FOUND");
    json_decref(j);
    lo_http_result_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(text_reply),   cmocka_unit_test(function_calls),
        cmocka_unit_test(thinking),     cmocka_unit_test(stream_sse),
        cmocka_unit_test(stream_array), cmocka_unit_test(auth),
        cmocka_unit_test(validation),   cmocka_unit_test(faults),
        cmocka_unit_test(unmatched),    cmocka_unit_test(count_tokens),
        cmocka_unit_test(models),
    };
    return cmocka_run_group_tests_name("twin_gemini", tests, setup, teardown);
}
