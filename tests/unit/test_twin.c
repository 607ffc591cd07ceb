/* Unit tests for the twins (src/twin/): tapes and matching, then the
 * Anthropic twin in process on an ephemeral port, spoken to with the real
 * HTTP client and SSE parser, checked against the wire format of the real
 * Messages API. */
#include "twin_testutil.h"

/* ------------------------------------------------------------ helpers */

static lo_tape *TAPE;   /* tests/data/tapes/basic.jsonl */
static lo_twin *TWIN;   /* any key accepted */
static lo_twin *KEYED;  /* accepts only "sk-test-key" */

static lo_twin *start(lo_tape *tape, const char *key)
{
    lo_tape *tapes[1] = {tape};
    lo_twin_config cfg = {.provider = "anthropic", .tapes = tapes, .n_tapes = tape ? 1 : 0,
                          .api_key = key, .log = tt_log_line};
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
    TAPE = lo_tape_load(lo_test_data("tapes/basic.jsonl"), &err);
    if (!TAPE) {
        fprintf(stderr, "basic.jsonl: %s\n", err.msg);
        return -1;
    }
    TWIN = start(TAPE, NULL);
    KEYED = start(TAPE, "sk-test-key");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lo_twin_stop(TWIN);
    lo_twin_stop(KEYED);
    lo_tape_free(TAPE);
    lo_buf_release(&TT_LOG);
    return 0;
}

/* POST (or GET when body is NULL) to the twin; the result is parsed into
 * *json when it is JSON. key NULL sends none; version false omits
 * anthropic-version. */
static long call_full(lo_twin *t, const char *path, const char *body, const char *key,
                      const char *bearer, bool version, lo_http_result *r, json_t **json)
{
    char url[256], kh[128], bh[128];
    snprintf(url, sizeof url, "%s%s", lo_twin_base_url(t), path);
    const char *hdrs[6];
    size_t n = 0;
    hdrs[n++] = "content-type: application/json";
    if (version)
        hdrs[n++] = "anthropic-version: 2023-06-01";
    if (key) {
        snprintf(kh, sizeof kh, "x-api-key: %s", key);
        hdrs[n++] = kh;
    }
    if (bearer) {
        snprintf(bh, sizeof bh, "Authorization: Bearer %s", bearer);
        hdrs[n++] = bh;
    }
    hdrs[n] = NULL;
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
    return call_full(TWIN, path, body, "sk-any", NULL, true, r, json);
}

/* A Messages request with one user message (and extra fields). */
static char *req(const char *model, const char *user, const char *extra)
{
    json_t *j = json_pack("{s:s, s:i, s:[{s:s, s:s}]}", "model", model, "max_tokens", 1024,
                          "messages", "role", "user", "content", user);
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

static void check_error(long status, json_t *j, long want_status, const char *want_type)
{
    assert_int_equal(status, want_status);
    assert_non_null(j);
    assert_string_equal(jstr(j, "type"), "error");
    assert_string_equal(jstr(json_object_get(j, "error"), "type"), want_type);
    assert_non_null(jstr(json_object_get(j, "error"), "message"));
    assert_true(lo_str_starts(jstr(j, "request_id"), "req_"));
}
/* The call runs before j is looked at. */
#define assert_error(call_expr, j, want_status, want_type)                                   \
    do {                                                                                   \
        long st_ = (call_expr);                                                            \
        check_error(st_, j, want_status, want_type);                                       \
    } while (0)

/* ---- streams ---- */

static long stream(lo_twin *t, const char *body, tt_stream *c, int *cut)
{
    static const char *const hdrs[] = {"content-type: application/json",
                                       "anthropic-version: 2023-06-01", "x-api-key: sk-any",
                                       NULL};
    long status = tt_stream_post(t, "/v1/messages", hdrs, body, c);
    assert_string_equal(c->ctype, "text/event-stream");
    if (cut)
        *cut = c->dangling;
    return status;
}

/* "message_start content_block_start ping ..." with runs of deltas folded
 * into "content_block_delta*N". */
static char *sequence(const json_t *events)
{
    lo_buf b;
    lo_buf_init(&b, 0);
    size_t i, run = 0;
    json_t *e;
    json_array_foreach(events, i, e) {
        const char *t = jstr(e, "event");
        bool delta = !strcmp(t, "content_block_delta");
        const json_t *next = json_array_get(events, i + 1);
        if (delta) {
            run++;
            if (next && !strcmp(jstr(next, "event"), "content_block_delta"))
                continue;
            lo_buf_printf(&b, "%scontent_block_delta*%zu", b.len ? " " : "", run);
            run = 0;
            continue;
        }
        lo_buf_printf(&b, "%s%s", b.len ? " " : "", t);
    }
    return lo_buf_steal(&b);
}

/* Concatenate delta.FIELD of the deltas of block index. */
static char *deltas(const json_t *events, size_t index, const char *field)
{
    lo_buf b;
    lo_buf_init(&b, 0);
    lo_buf_puts(&b, "");
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e) {
        json_t *d = json_object_get(e, "data");
        if (strcmp(jstr(e, "event"), "content_block_delta") ||
            json_integer_value(json_object_get(d, "index")) != (json_int_t)index)
            continue;
        const char *s = jstr(json_object_get(d, "delta"), field);
        if (s)
            lo_buf_puts(&b, s);
    }
    return lo_buf_steal(&b);
}

/* ------------------------------------------------------------ tapes */

static void tape_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        unsigned line;
        const char *needle;
    } cases[] = {
        {"{\"reply\":{\"text\":\"a\"}}\n\n{not json}\n", 3, "invalid JSON"},
        {"[1,2]\n", 1, "JSON object"},
        {"{\"reply\":{\"text\":\"a\"}, \"colour\": 1}\n", 1, "unknown key \"colour\""},
        {"{\"match\":{\"call\":0},\"reply\":{\"text\":\"a\"}}\n", 1, "match.call"},
        {"{\"match\":{\"nope\":1},\"reply\":{\"text\":\"a\"}}\n", 1, "match.nope"},
        {"{\"match\":{\"tools\":\"x\"},\"reply\":{\"text\":\"a\"}}\n", 1, "match.tools"},
        {"{\"reply\":{\"text\":\"a\"},\"raw\":\"x\"}\n", 1, "not both"},
        {"{\"match\":{\"user\":\"a\"}}\n", 1, "needs \"reply\""},
        {"{\"reply\":{\"text\":3}}\n", 1, "reply.text"},
        {"{\"reply\":{\"tool_calls\":[{\"name\":\"f\",\"arguments\":[1]}]}}\n", 1,
         "tool_calls[0].arguments"},
        {"{\"reply\":{\"thinking\":{\"sig\":1}}}\n", 1, "reply.thinking"},
        {"{\"reply\":{\"usage\":{\"input_tokens\":-1}}}\n", 1, "reply.usage"},
        {"{\"fault\":{\"status\":200}}\n", 1, "fault.status"},
        {"{\"fault\":{\"status\":500,\"latency_ms\":\"1s\"}}\n", 1, "fault.latency_ms"},
        {"{\"reply\":{\"text\":\"a\"}}\r\n{\"fault\":{\"malformed\":1,\"status\":500}}\r\n", 2,
         "fault.malformed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lo_error err = {0};
        lo_tape *t = lo_tape_parse(cases[i].text, strlen(cases[i].text), "t.jsonl", &err);
        if (t)
            fail_msg("case %zu parsed", i);
        char prefix[32];
        snprintf(prefix, sizeof prefix, "t.jsonl:%u: ", cases[i].line);
        if (!lo_str_starts(err.msg, prefix) || !strstr(err.msg, cases[i].needle))
            fail_msg("case %zu: %s", i, err.msg);
        assert_int_equal(err.line, cases[i].line);
        assert_string_equal(err.file, "t.jsonl");
    }
    lo_error err = {0};
    assert_null(lo_tape_load("/nonexistent/dir/tape.jsonl", &err));
    assert_non_null(strstr(err.msg, "/nonexistent/dir/tape.jsonl"));
    assert_int_equal(err.code, LO_ENOENT);

    /* the shipped tape loads, blank lines and CRLF are fine */
    const char *ok = "\n{\"reply\":{\"text\":\"a\"}}\r\n\n{\"raw\":\"event: x\\ndata: {}\\n\\n\"}\n";
    lo_tape *t = lo_tape_parse(ok, strlen(ok), "ok.jsonl", &err);
    assert_non_null(t);
    assert_int_equal(lo_tape_count(t), 2);
    assert_int_equal(lo_tape_at(t, 0)->line, 2);
    assert_int_equal(lo_tape_at(t, 1)->line, 4);
    assert_int_equal(lo_tape_at(t, 0)->fault.cut_after, -1);
    lo_tape_free(t);
    assert_int_equal(lo_tape_count(TAPE), 13);
}

static void tape_match(void **state)
{
    (void)state;
    const char *text =
        "{\"match\":{\"path\":\"/v1/other\"},\"reply\":{\"text\":\"path\"}}\n"
        "{\"match\":{\"model\":\"m2\"},\"reply\":{\"text\":\"model\"}}\n"
        "{\"match\":{\"call\":3},\"reply\":{\"text\":\"call\"}}\n"
        "{\"match\":{\"user\":\"banana\"},\"reply\":{\"text\":\"user1\"}}\n"
        "{\"match\":{\"user\":\"ban\"},\"reply\":{\"text\":\"user2\"}}\n"
        "{\"match\":{\"tool_result\":\"42\"},\"reply\":{\"text\":\"result\"}}\n"
        "{\"match\":{\"tools\":[\"a\",\"b\"],\"user\":\"tools\"},\"reply\":{\"text\":\"tools\"}}\n"
        "{\"match\":{\"user\":\"zzz\",\"model\":\"m9\"},\"reply\":{\"text\":\"two\"}}\n";
    lo_error err = {0};
    lo_tape *t = lo_tape_parse(text, strlen(text), "m.jsonl", &err);
    assert_non_null(t);
    lo_tape *tapes[] = {t};
    const char *ab[] = {"a", "b", "c"};
    struct {
        lo_twin_request_view v;
        const char *want; /* reply text, or NULL for no match */
    } cases[] = {
        {{.path = "/v1/other", .model = "m1", .call = 1, .user_text = "x"}, "path"},
        {{.path = "/v1/messages", .model = "m2", .call = 1, .user_text = "x"}, "model"},
        {{.path = "/v1/messages", .model = "m1", .call = 3, .user_text = "x"}, "call"},
        /* first match wins: "banana" also contains "ban" */
        {{.path = "/v1/messages", .model = "m1", .call = 1, .user_text = "a banana"}, "user1"},
        {{.path = "/v1/messages", .model = "m1", .call = 1, .user_text = "bank"}, "user2"},
        {{.path = "/v1/messages", .model = "m1", .call = 1, .user_text = "",
          .tool_result_text = "answer: 42"}, "result"},
        {{.path = "/v1/messages", .model = "m1", .call = 1, .user_text = "tools", .tools = ab,
          .n_tools = 3}, "tools"},
        {{.path = "/v1/messages", .model = "m1", .call = 1, .user_text = "tools", .tools = ab,
          .n_tools = 1}, NULL},
        {{.path = "/v1/messages", .model = "m1", .call = 2, .user_text = "none"}, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char why[512] = "";
        const lo_tape_entry *e = lo_tape_match(tapes, 1, &cases[i].v, why, sizeof why);
        if (cases[i].want) {
            if (!e)
                fail_msg("case %zu: no match: %s", i, why);
            assert_string_equal(jstr(e->reply, "text"), cases[i].want);
        } else {
            assert_null(e);
            assert_non_null(strstr(why, "closest is m.jsonl:"));
        }
    }
    /* the closest entry fails fewest criteria, the earliest on a tie */
    char why[512];
    lo_twin_request_view v = {.path = "/v1/messages", .model = "m9", .call = 1,
                              .user_text = "zz", .tools = ab, .n_tools = 1};
    assert_null(lo_tape_match(tapes, 1, &v, why, sizeof why));
    assert_non_null(strstr(why, "closest is m.jsonl:1,"));
    assert_non_null(strstr(why, "path is \"/v1/messages\", the entry wants \"/v1/other\""));
    const char *two = "{\"match\":{\"user\":\"a\",\"model\":\"x\"},\"reply\":{\"text\":\"1\"}}\n"
                      "{\"match\":{\"user\":\"b\",\"tools\":[\"b\"]},\"reply\":{\"text\":\"2\"}}\n"
                      "{\"match\":{\"user\":\"c\",\"tools\":[\"c\"]},\"reply\":{\"text\":\"3\"}}\n";
    lo_tape *t2 = lo_tape_parse(two, strlen(two), "two.jsonl", &err);
    assert_non_null(t2);
    lo_tape *both[] = {t2, t};
    v.user_text = "b";
    assert_null(lo_tape_match(both, 1, &v, why, sizeof why));
    assert_non_null(strstr(why, "closest is two.jsonl:2,"));
    assert_non_null(strstr(why, "tool \"b\" is not offered"));
    /* tapes are tried in order: t2 first, then t */
    v.path = "/v1/other";
    assert_null(lo_tape_match(both, 1, &v, why, sizeof why));
    assert_non_null(lo_tape_match(both, 2, &v, why, sizeof why));
    lo_tape_free(t2);
    /* no tapes at all */
    assert_null(lo_tape_match(NULL, 0, &v, why, sizeof why));
    assert_non_null(strstr(why, "no tape entries"));
    lo_tape_free(t);
}

/* ------------------------------------------------------------ messages */

static void text_reply(void **state)
{
    (void)state;
    lo_http_result r;
    json_t *j;
    char *body = req("claude-sonnet-4-5", "hello there", NULL);
    assert_int_equal(call("/v1/messages", body, &r, &j), 200);
    assert_non_null(j);
    /* the exact shape of a Message */
    assert_int_equal(json_object_size(j), 8);
    const char *id = jstr(j, "id");
    assert_true(lo_str_starts(id, "msg_"));
    assert_int_equal(strlen(id), 4 + 24);
    for (const char *p = id + 4; *p; p++)
        assert_true((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
                    (*p >= 'A' && *p <= 'Z'));
    assert_string_equal(jstr(j, "type"), "message");
    assert_string_equal(jstr(j, "role"), "assistant");
    assert_string_equal(jstr(j, "model"), "claude-sonnet-4-5");
    assert_string_equal(jstr(j, "stop_reason"), "end_turn");
    assert_true(json_is_null(json_object_get(j, "stop_sequence")));
    json_t *content = json_object_get(j, "content");
    assert_int_equal(json_array_size(content), 1);
    json_t *b0 = json_array_get(content, 0);
    assert_int_equal(json_object_size(b0), 2);
    assert_string_equal(jstr(b0, "type"), "text");
    assert_string_equal(jstr(b0, "text"), "Hello! How can I help you today?");
    json_t *u = json_object_get(j, "usage");
    /* 3 per request + 4 per message + ceil(11 / 4) = 10; ceil(32 / 4) = 8 */
    assert_int_equal(json_integer_value(json_object_get(u, "input_tokens")), 10);
    assert_int_equal(json_integer_value(json_object_get(u, "output_tokens")), 8);
    assert_true(json_is_integer(json_object_get(u, "cache_creation_input_tokens")));
    assert_int_equal(json_integer_value(json_object_get(u, "cache_read_input_tokens")), 0);
    /* headers */
    const char *rid = json_string_value(json_object_get(r.headers, "request-id"));
    assert_true(lo_str_starts(rid, "req_"));
    assert_string_equal(json_string_value(json_object_get(r.headers, "content-type")),
                        "application/json");
    assert_string_equal(json_string_value(
                            json_object_get(r.headers, "anthropic-ratelimit-requests-limit")),
                        "4000");
    assert_non_null(json_object_get(r.headers, "anthropic-ratelimit-input-tokens-remaining"));
    assert_non_null(json_object_get(r.headers, "anthropic-ratelimit-output-tokens-reset"));
    json_decref(j);
    lo_http_result_release(&r);
    /* ?beta=true is the same endpoint; Bearer auth works too */
    assert_int_equal(call_full(TWIN, "/v1/messages?beta=true", body, NULL, "sk-bearer", true,
                               &r, &j), 200);
    assert_string_equal(jstr(json_array_get(json_object_get(j, "content"), 0), "text"),
                        "Hello! How can I help you today?");
    json_decref(j);
    lo_http_result_release(&r);
    free(body);
    /* usage and stop reason from the tape; model echoed */
    body = req("claude-haiku-4-5", "which model are you", NULL);
    assert_int_equal(call("/v1/messages", body, &r, &j), 200);
    assert_string_equal(jstr(j, "model"), "claude-haiku-4-5");
    assert_string_equal(jstr(j, "stop_reason"), "max_tokens");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "usage"),
                                                        "input_tokens")), 100);
    json_decref(j);
    lo_http_result_release(&r);
    free(body);
    pthread_mutex_lock(&TT_LOG_MU);
    assert_non_null(strstr(TT_LOG.data, "anthropic POST /v1/messages 200 call="));
    assert_non_null(strstr(TT_LOG.data, "basic.jsonl:1"));
    assert_null(strstr(TT_LOG.data, "sk-"));
    pthread_mutex_unlock(&TT_LOG_MU);
}

static void text_stream(void **state)
{
    (void)state;
    char *body = req("claude-sonnet-4-5", "hello again", "{\"stream\": true}");
    tt_stream c;
    int cut;
    assert_int_equal(stream(TWIN, body, &c, &cut), 200);
    assert_int_equal(cut, 0);
    assert_int_equal(c.bad_json, 0);
    char *seq = sequence(c.events);
    assert_string_equal(seq, "message_start content_block_start ping content_block_delta*2 "
                             "content_block_stop message_delta message_stop");
    free(seq);
    /* every data carries its own type, equal to the event name */
    size_t i;
    json_t *e;
    json_array_foreach(c.events, i, e)
        assert_string_equal(jstr(json_object_get(e, "data"), "type"), jstr(e, "event"));
    json_t *start = json_object_get(json_object_get(json_array_get(c.events, 0), "data"),
                                    "message");
    assert_true(lo_str_starts(jstr(start, "id"), "msg_"));
    assert_int_equal(json_array_size(json_object_get(start, "content")), 0);
    assert_true(json_is_null(json_object_get(start, "stop_reason")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(start, "usage"),
                                                        "input_tokens")), 10);
    json_t *cbs = json_object_get(json_array_get(c.events, 1), "data");
    assert_int_equal(json_integer_value(json_object_get(cbs, "index")), 0);
    assert_string_equal(jstr(json_object_get(cbs, "content_block"), "type"), "text");
    assert_string_equal(jstr(json_object_get(cbs, "content_block"), "text"), "");
    char *text = deltas(c.events, 0, "text");
    assert_string_equal(text, "Hello! How can I help you today?");
    free(text);
    json_t *md = json_object_get(json_array_get(c.events, json_array_size(c.events) - 2), "data");
    assert_string_equal(jstr(json_object_get(md, "delta"), "stop_reason"), "end_turn");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(md, "usage"),
                                                        "output_tokens")), 8);
    json_decref(c.events);
    free(body);
}

static const char *WEATHER_TOOLS =
    "{\"tools\": [{\"name\": \"get_weather\", \"description\": \"Weather for a city\", "
    "\"input_schema\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}}}]}";

static void tool_calls(void **state)
{
    (void)state;
    char *body = req("claude-sonnet-4-5", "what's the weather in Paris?", WEATHER_TOOLS);
    lo_http_result r;
    json_t *j;
    assert_int_equal(call("/v1/messages", body, &r, &j), 200);
    assert_string_equal(jstr(j, "stop_reason"), "tool_use");
    json_t *tu = json_array_get(json_object_get(j, "content"), 0);
    assert_string_equal(jstr(tu, "type"), "tool_use");
    assert_true(lo_str_starts(jstr(tu, "id"), "toolu_"));
    assert_int_equal(strlen(jstr(tu, "id")), 6 + 24);
    assert_string_equal(jstr(tu, "name"), "get_weather");
    json_t *want = json_pack("{s:s, s:s}", "city", "Paris", "unit", "celsius");
    assert_true(json_equal(json_object_get(tu, "input"), want));
    char tool_id[64];
    snprintf(tool_id, sizeof tool_id, "%s", jstr(tu, "id"));
    json_decref(j);
    lo_http_result_release(&r);

    /* streamed: input_json_delta pieces assemble into the same arguments */
    json_t *sb = json_loads(body, 0, NULL);
    json_object_set_new(sb, "stream", json_true());
    char *sbody = json_dumps(sb, JSON_COMPACT);
    tt_stream c;
    assert_int_equal(stream(TWIN, sbody, &c, NULL), 200);
    json_t *head = json_object_get(json_object_get(json_array_get(c.events, 1), "data"),
                                   "content_block");
    assert_string_equal(jstr(head, "type"), "tool_use");
    assert_string_equal(jstr(head, "name"), "get_weather");
    assert_true(json_is_object(json_object_get(head, "input")));
    char *args = deltas(c.events, 0, "partial_json");
    json_t *parsed = json_loads(args, 0, NULL);
    assert_non_null(parsed);
    assert_true(json_equal(parsed, want));
    json_t *md = json_object_get(json_array_get(c.events, json_array_size(c.events) - 2), "data");
    assert_string_equal(jstr(json_object_get(md, "delta"), "stop_reason"), "tool_use");
    json_decref(parsed);
    free(args);
    json_decref(c.events);
    free(sbody);

    /* the tool result turn: matched by the result's text */
    json_t *conv = json_pack(
        "{s:s, s:i, s:O, s:[{s:s, s:s}, {s:s, s:[{s:s, s:s, s:s, s:O}]}, "
        "{s:s, s:[{s:s, s:s, s:s}]}]}",
        "model", "claude-sonnet-4-5", "max_tokens", 512, "tools",
        json_object_get(sb, "tools"), "messages", "role", "user", "content",
        "what's the weather in Paris?", "role", "assistant", "content", "type", "tool_use",
        "id", tool_id, "name", "get_weather", "input", want, "role", "user", "content", "type",
        "tool_result", "tool_use_id", tool_id, "content", "18°C, sunny");
    char *cbody = json_dumps(conv, JSON_COMPACT);
    assert_int_equal(call("/v1/messages", cbody, &r, &j), 200);
    assert_string_equal(jstr(json_array_get(json_object_get(j, "content"), 0), "text"),
                        "It is 18°C and sunny in Paris.");
    json_decref(j);
    lo_http_result_release(&r);
    free(cbody);
    json_decref(conv);
    json_decref(sb);
    json_decref(want);
    free(body);
}

static void thinking(void **state)
{
    (void)state;
    char *body = req("claude-sonnet-4-5", "think: what is 2 + 2?",
                     "{\"max_tokens\": 2048, \"thinking\": {\"type\": \"enabled\", "
                     "\"budget_tokens\": 1024}}");
    lo_http_result r;
    json_t *j;
    assert_int_equal(call("/v1/messages", body, &r, &j), 200);
    json_t *content = json_object_get(j, "content");
    assert_int_equal(json_array_size(content), 2);
    json_t *th = json_array_get(content, 0);
    assert_string_equal(jstr(th, "type"), "thinking");
    assert_string_equal(jstr(th, "thinking"), "The user asks for 2 + 2. That is 4.");
    assert_string_equal(jstr(th, "signature"), "c2lnbmF0dXJlLWZvci10ZXN0cw==");
    assert_string_equal(jstr(json_array_get(content, 1), "text"), "2 + 2 = 4.");
    json_decref(j);
    lo_http_result_release(&r);
    json_t *sb = json_loads(body, 0, NULL);
    json_object_set_new(sb, "stream", json_true());
    char *sbody = json_dumps(sb, JSON_COMPACT);
    tt_stream c;
    assert_int_equal(stream(TWIN, sbody, &c, NULL), 200);
    char *seq = sequence(c.events);
    assert_string_equal(seq, "message_start content_block_start ping content_block_delta*4 "
                             "content_block_stop content_block_start content_block_delta*1 "
                             "content_block_stop message_delta message_stop");
    free(seq);
    char *t = deltas(c.events, 0, "thinking");
    assert_string_equal(t, "The user asks for 2 + 2. That is 4.");
    free(t);
    t = deltas(c.events, 0, "signature");
    assert_string_equal(t, "c2lnbmF0dXJlLWZvci10ZXN0cw==");
    free(t);
    json_decref(c.events);
    free(sbody);
    json_decref(sb);
    free(body);
}

/* ------------------------------------------------------------ validation */

static void validation(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        long status;
        const char *type;
        const char *needle;
    } cases[] = {
        {"{\"model\":\"claude-sonnet-4-5\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}",
         400, "invalid_request_error", "max_tokens"},
        {"{\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}",
         400, "invalid_request_error", "model"},
        {"{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10,\"messages\":[]}",
         400, "invalid_request_error", "messages"},
        {"{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10,\"messages\":[{\"role\":\"assistant\",\"content\":\"hi\"}]}",
         400, "invalid_request_error", "first message"},
        {"{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"user\",\"content\":\"b\"}]}",
         400, "invalid_request_error", "alternate"},
        {"{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10,\"messages\":[{\"role\":\"system\",\"content\":\"a\"}]}",
         400, "invalid_request_error", "role"},
        {"{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"a\"},"
         "{\"role\":\"assistant\",\"content\":\"ok\"},{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
         "\"tool_use_id\":\"toolu_missing\",\"content\":\"x\"}]}]}",
         400, "invalid_request_error", "toolu_missing"},
        {"{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"a\"},"
         "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"f\",\"input\":{}}]},"
         "{\"role\":\"user\",\"content\":\"no result\"}]}",
         400, "invalid_request_error", "without `tool_result`"},
        {"{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],"
         "\"tools\":[{\"name\":\"f\",\"input_schema\":{\"type\":\"string\"}}]}",
         400, "invalid_request_error", "input_schema"},
        {"{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],"
         "\"tools\":[{\"name\":\"f\"}]}",
         400, "invalid_request_error", "input_schema"},
        {"{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],"
         "\"tools\":[{\"name\":\"bad name!\",\"input_schema\":{\"type\":\"object\"}}]}",
         400, "invalid_request_error", "tools.0.name"},
        {"{\"model\":\"claude-nonexistent-9\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}",
         404, "not_found_error", "claude-nonexistent-9"},
        {"{\"model\":\"gpt-5\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}",
         404, "not_found_error", "gpt-5"},
        {"{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":9999999,\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}",
         400, "invalid_request_error", "maximum allowed"},
        {"{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":2000,\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":4000},"
         "\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}",
         400, "invalid_request_error", "budget_tokens"},
        {"{\"model\":", 400, "invalid_request_error", "JSON"},
        {"[1]", 400, "invalid_request_error", "object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lo_http_result r;
        json_t *j;
        long st = call("/v1/messages", cases[i].body, &r, &j);
        if (st != cases[i].status || !j)
            fail_msg("case %zu: status %ld: %s", i, st, r.body.data);
        assert_error(st, j, cases[i].status, cases[i].type);
        const char *msg = jstr(json_object_get(j, "error"), "message");
        if (!strstr(msg, cases[i].needle))
            fail_msg("case %zu: message '%s' lacks '%s'", i, msg, cases[i].needle);
        json_decref(j);
        lo_http_result_release(&r);
    }
    /* anthropic-version is required */
    lo_http_result r;
    json_t *j;
    char *body = req("claude-sonnet-4-5", "hello", NULL);
    assert_error(call_full(TWIN, "/v1/messages", body, "k", NULL, false, &r, &j), j, 400,
                 "invalid_request_error");
    assert_non_null(strstr(jstr(json_object_get(j, "error"), "message"), "anthropic-version"));
    json_decref(j);
    lo_http_result_release(&r);
    /* an unknown path answers in Anthropic's format */
    assert_error(call("/v1/nothing", NULL, &r, &j), j, 404, "not_found_error");
    json_decref(j);
    lo_http_result_release(&r);
    free(body);
}

static void auth(void **state)
{
    (void)state;
    char *body = req("claude-sonnet-4-5", "hello", NULL);
    lo_http_result r;
    json_t *j;
    assert_error(call_full(TWIN, "/v1/messages", body, NULL, NULL, true, &r, &j), j, 401,
                 "authentication_error");
    assert_non_null(strstr(jstr(json_object_get(j, "error"), "message"), "x-api-key"));
    json_decref(j);
    lo_http_result_release(&r);
    assert_error(call_full(KEYED, "/v1/messages", body, "sk-wrong-key", NULL, true, &r, &j), j,
                 401, "authentication_error");
    assert_null(strstr(r.body.data, "sk-wrong-key"));
    json_decref(j);
    lo_http_result_release(&r);
    assert_error(call_full(KEYED, "/v1/messages", body, NULL, "sk-test-ke", true, &r, &j), j,
                 401, "authentication_error");
    json_decref(j);
    lo_http_result_release(&r);
    assert_int_equal(call_full(KEYED, "/v1/messages", body, "sk-test-key", NULL, true, &r, NULL),
                     200);
    lo_http_result_release(&r);
    assert_int_equal(call_full(KEYED, "/v1/messages", body, NULL, "sk-test-key", true, &r, NULL),
                     200);
    lo_http_result_release(&r);
    assert_error(call_full(KEYED, "/v1/models", NULL, NULL, NULL, true, &r, &j), j, 401,
                 "authentication_error");
    json_decref(j);
    lo_http_result_release(&r);
    free(body);
}

/* ------------------------------------------------------------ other endpoints */

static void count_tokens(void **state)
{
    (void)state;
    /* no max_tokens needed; 3 + (4 + ceil(11/4)) + (4 + ceil(2/4)) = 15,
     * plus system ceil(10/4) = 3: 18 */
    const char *body = "{\"model\":\"claude-sonnet-4-5\",\"system\":\"be helpful\","
                       "\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"},"
                       "{\"role\":\"assistant\",\"content\":\"hi\"}]}";
    lo_http_result r;
    json_t *j;
    assert_int_equal(call("/v1/messages/count_tokens", body, &r, &j), 200);
    assert_int_equal(json_object_size(j), 1);
    assert_int_equal(json_integer_value(json_object_get(j, "input_tokens")), 18);
    json_decref(j);
    lo_http_result_release(&r);
    long calls = lo_twin_calls(TWIN);
    assert_error(call("/v1/messages/count_tokens", "{\"model\":\"nope\",\"messages\":"
                      "[{\"role\":\"user\",\"content\":\"x\"}]}", &r, &j), j, 404,
                 "not_found_error");
    json_decref(j);
    lo_http_result_release(&r);
    assert_int_equal(lo_twin_calls(TWIN), calls); /* counting is not a call */
}

static void models(void **state)
{
    (void)state;
    lo_http_result r;
    json_t *j;
    assert_int_equal(call("/v1/models?limit=1000", NULL, &r, &j), 200);
    json_t *data = json_object_get(j, "data");
    assert_true(json_array_size(data) > 1);
    bool sonnet = false;
    size_t i;
    json_t *m;
    json_array_foreach(data, i, m) {
        assert_string_equal(jstr(m, "type"), "model");
        assert_true(lo_str_starts(jstr(m, "id"), "claude-"));
        assert_non_null(jstr(m, "display_name"));
        assert_int_equal(strlen(jstr(m, "created_at")), 20);
        sonnet |= !strcmp(jstr(m, "id"), "claude-sonnet-4-5");
    }
    assert_true(sonnet);
    assert_true(json_is_false(json_object_get(j, "has_more")));
    assert_string_equal(jstr(j, "first_id"), jstr(json_array_get(data, 0), "id"));
    json_decref(j);
    lo_http_result_release(&r);
    assert_int_equal(call("/v1/models?limit=1", NULL, &r, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "data")), 1);
    assert_true(json_is_true(json_object_get(j, "has_more")));
    json_decref(j);
    lo_http_result_release(&r);
    assert_int_equal(call("/v1/models/claude-haiku-4-5", NULL, &r, &j), 200);
    assert_string_equal(jstr(j, "id"), "claude-haiku-4-5");
    json_decref(j);
    lo_http_result_release(&r);
    assert_error(call("/v1/models/claude-nope", NULL, &r, &j), j, 404, "not_found_error");
    json_decref(j);
    lo_http_result_release(&r);
}

/* ------------------------------------------------------------ faults */

static void faults(void **state)
{
    (void)state;
    static const struct {
        const char *user;
        long status;
        const char *type;
    } cases[] = {
        {"rate limit me", 429, "rate_limit_error"},
        {"server error please", 500, "api_error"},
        {"overloaded now", 529, "overloaded_error"},
    };
    for (size_t i = 0; i < 3; i++) {
        char *body = req("claude-sonnet-4-5", cases[i].user, NULL);
        lo_http_result r;
        json_t *j;
        assert_error(call("/v1/messages", body, &r, &j), j, cases[i].status, cases[i].type);
        const char *ra = json_string_value(json_object_get(r.headers, "retry-after"));
        if (i == 0)
            assert_string_equal(ra, "7");
        if (i == 1)
            assert_null(ra);
        if (i == 2)
            assert_string_equal(ra, "1");
        json_decref(j);
        lo_http_result_release(&r);
        free(body);
    }
    /* latency */
    char *body = req("claude-sonnet-4-5", "slow please", NULL);
    lo_http_result r;
    json_t *j;
    int64_t t0 = tt_now_ms();
    assert_int_equal(call("/v1/messages", body, &r, &j), 200);
    assert_true(tt_now_ms() - t0 >= 290);
    assert_string_equal(jstr(json_array_get(json_object_get(j, "content"), 0), "text"),
                        "Sorry for the wait.");
    json_decref(j);
    lo_http_result_release(&r);
    free(body);
    /* malformed, not streamed: the body does not parse */
    body = req("claude-sonnet-4-5", "malformed please", NULL);
    assert_int_equal(call("/v1/messages", body, &r, &j), 200);
    assert_null(j);
    assert_true(r.body.len > 0);
    lo_http_result_release(&r);
    free(body);
    /* malformed, streamed: one event's data does not parse */
    body = req("claude-sonnet-4-5", "malformed please", "{\"stream\": true}");
    tt_stream c;
    assert_int_equal(stream(TWIN, body, &c, NULL), 200);
    assert_int_equal(c.bad_json, 1);
    json_decref(c.events);
    free(body);
    /* cut_after: four events and no message_stop */
    body = req("claude-sonnet-4-5", "cut please", "{\"stream\": true}");
    assert_int_equal(stream(TWIN, body, &c, NULL), 200);
    assert_int_equal(json_array_size(c.events), 4);
    char *seq = sequence(c.events);
    assert_null(strstr(seq, "message_stop"));
    free(seq);
    json_decref(c.events);
    free(body);
    /* drip: 20 ms between events */
    body = req("claude-sonnet-4-5", "drip please", "{\"stream\": true}");
    t0 = tt_now_ms();
    assert_int_equal(stream(TWIN, body, &c, NULL), 200);
    size_t n = json_array_size(c.events);
    assert_true(n > 5);
    assert_true(tt_now_ms() - t0 >= (int64_t)(n - 1) * 20 - 10);
    seq = sequence(c.events);
    assert_non_null(strstr(seq, "message_stop"));
    free(seq);
    json_decref(c.events);
    free(body);
}

static void raw_and_unmatched(void **state)
{
    (void)state;
    char *body = req("claude-sonnet-4-5", "raw please", NULL);
    lo_http_result r;
    json_t *j;
    assert_int_equal(call("/v1/messages", body, &r, &j), 200);
    assert_string_equal(jstr(j, "id"), "msg_raw");
    json_decref(j);
    lo_http_result_release(&r);
    free(body);
    body = req("claude-sonnet-4-5", "nothing on the tape says this", NULL);
    assert_error(call("/v1/messages", body, &r, &j), j, 400, "invalid_request_error");
    const char *msg = jstr(json_object_get(j, "error"), "message");
    assert_non_null(strstr(msg, "basic.jsonl:1,"));
    assert_non_null(strstr(msg, "does not contain \"hello\""));
    json_decref(j);
    lo_http_result_release(&r);
    free(body);
}

/* A twin of its own: call numbers, raw SSE, no tapes. */
static void calls_and_raw_sse(void **state)
{
    (void)state;
    const char *text =
        "{\"match\":{\"call\":2},\"reply\":{\"text\":\"second\"}}\n"
        "{\"match\":{\"call\":3},\"raw\":\"event: message_start\\ndata: {\\\"type\\\":\\\"message_start\\\"}\\n\\n"
        "event: message_stop\\ndata: {\\\"type\\\":\\\"message_stop\\\"}\\n\\n\"}\n"
        "{\"reply\":{\"text\":\"any\"}}\n";
    lo_error err = {0};
    lo_tape *t = lo_tape_parse(text, strlen(text), "calls.jsonl", &err);
    assert_non_null(t);
    lo_twin *tw = start(t, NULL);
    assert_int_equal(lo_twin_port(tw) > 0, 1);
    char *body = req("claude-sonnet-4-5", "x", NULL);
    const char *want[] = {"any", "second"};
    for (int i = 0; i < 2; i++) {
        lo_http_result r;
        json_t *j;
        assert_int_equal(call_full(tw, "/v1/messages", body, "k", NULL, true, &r, &j), 200);
        assert_string_equal(jstr(json_array_get(json_object_get(j, "content"), 0), "text"),
                            want[i]);
        json_decref(j);
        lo_http_result_release(&r);
    }
    tt_stream c;
    assert_int_equal(stream(tw, body, &c, NULL), 200);
    char *seq = sequence(c.events);
    assert_string_equal(seq, "message_start message_stop");
    free(seq);
    json_decref(c.events);
    assert_int_equal(lo_twin_calls(tw), 3);
    free(body);
    lo_twin_stop(tw);
    lo_tape_free(t);

    /* a twin without tapes says so; unsupported providers are refused */
    tw = start(NULL, NULL);
    body = req("claude-sonnet-4-5", "x", NULL);
    lo_http_result r;
    json_t *j;
    assert_error(call_full(tw, "/v1/messages", body, "k", NULL, true, &r, &j), j, 400,
                 "invalid_request_error");
    assert_non_null(strstr(jstr(json_object_get(j, "error"), "message"), "no tape entries"));
    json_decref(j);
    lo_http_result_release(&r);
    free(body);
    lo_twin_stop(tw);
    lo_twin_config cfg = {.provider = "mistral"};
    assert_null(lo_twin_start(&cfg, &err));
    assert_non_null(strstr(err.msg, "unknown provider"));
    cfg.provider = "cohere";
    assert_null(lo_twin_start(&cfg, &err));
    assert_non_null(strstr(err.msg, "unknown provider"));
    unsigned mask = 0;
    assert_int_equal(lo_twin_provider_parse("all", &mask, NULL), 0);
    assert_int_equal(mask, LO_TWIN_ALL);
}


/* The regular-expression variants, the message count, and faults: "every",
 * and a whole twin's own fault (lo_twin_config.fault). */
static void tape_regex_messages_every(void **state)
{
    (void)state;
    const char *text =
        "{\"match\":{\"user_re\":\"^deploy (prod|staging)$\"},\"reply\":{\"text\":\"re\"}}\n"
        "{\"match\":{\"model_re\":\"haiku\",\"messages\":3},\"reply\":{\"text\":\"m3\"}}\n"
        "{\"match\":{\"tool_result_re\":\"[0-9]+ passed\"},\"reply\":{\"text\":\"tr\"}}\n"
        "{\"match\":{\"path_re\":\"^/v1/(chat/)?completions$\"},\"reply\":{\"text\":\"p\"}}\n";
    lo_error err = {0};
    lo_tape *t = lo_tape_parse(text, strlen(text), "re.jsonl", &err);
    assert_non_null(t);
    lo_tape *tapes[] = {t};
    struct {
        lo_twin_request_view v;
        const char *want;
    } cases[] = {
        {{.path = "/v1/messages", .model = "m", .user_text = "deploy prod"}, "re"},
        {{.path = "/v1/messages", .model = "m", .user_text = "please deploy prod"}, NULL},
        {{.path = "/v1/messages", .model = "claude-haiku-4-5", .user_text = "", .messages = 3},
         "m3"},
        {{.path = "/v1/messages", .model = "claude-haiku-4-5", .user_text = "", .messages = 1},
         NULL},
        {{.path = "/v1/messages", .model = "m", .user_text = "",
          .tool_result_text = "12 passed, 0 failed"}, "tr"},
        {{.path = "/v1/chat/completions", .model = "m", .user_text = ""}, "p"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char why[600];
        const lo_tape_entry *e = lo_tape_match(tapes, 1, &cases[i].v, why, sizeof why);
        if (!cases[i].want) {
            if (e)
                fail_msg("case %zu matched line %u", i, e->line);
            continue;
        }
        if (!e)
            fail_msg("case %zu: %s", i, why);
        assert_string_equal(tt_jstr(e->reply, "text"), cases[i].want);
    }
    char why[600];
    lo_twin_request_view v = {.path = "/v1/x", .model = "claude-haiku-4-5", .user_text = "",
                              .messages = 1};
    assert_null(lo_tape_match(tapes, 1, &v, why, sizeof why));
    assert_non_null(strstr(why, "the last user message does not match /^deploy (prod|staging)$/"));
    lo_tape *one[] = {t};
    one[0] = lo_tape_parse(strchr(text, '\n') + 1, strlen(strchr(text, '\n') + 1), "m.jsonl",
                           &err);
    assert_null(lo_tape_match(one, 1, &v, why, sizeof why));
    assert_non_null(strstr(why, "the request has 1 messages, the entry wants 3"));
    lo_tape_free(one[0]);
    lo_tape_free(t);

    /* what a tape may not say */
    static const struct {
        const char *text, *needle;
    } bad[] = {
        {"{\"match\":{\"user_re\":\"(\"},\"reply\":{\"text\":\"a\"}}", "match.user_re"},
        {"{\"match\":{\"messages\":-1},\"reply\":{\"text\":\"a\"}}", "match.messages"},
        {"{\"fault\":{\"status\":500,\"every\":2}}", "fault.every"},
        {"{\"fault\":{\"status\":500,\"every\":\"2\"},\"reply\":{}}", "fault.every"},
        /* found by fuzz_tape: glibc's regcomp takes seconds on these */
        {"{\"match\":{\"user_re\":\"^a++++++++++++++++++++(b|c)+$\"},\"reply\":{\"text\":\"x\"}}",
         "match.user_re\": pattern too costly"},
        {"{\"match\":{\"user_re\":\"^a********************************+$\"},\"reply\":{\"text\":\"x\"}}",
         "match.user_re\": pattern too costly"},
        {"{\"match\":{\"user_re\":\"x{2}{3}\"},\"reply\":{\"text\":\"x\"}}",
         "match.user_re\": pattern too costly"},
        {"{\"match\":{\"model_re\":\"(a{1,1000}){1,1000}\"},\"reply\":{\"text\":\"x\"}}",
         "match.model_re\": pattern too costly"},
        {"{\"match\":{\"path_re\":\"((((((((((((a)+)+)+)+)+)+)+)+)+)+)+)+\"},\"reply\":{\"text\":\"x\"}}",
         "match.path_re\": pattern too costly"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_null(lo_tape_parse(bad[i].text, strlen(bad[i].text), "b.jsonl", &err));
        if (!strstr(err.msg, bad[i].needle))
            fail_msg("case %zu: %s", i, err.msg);
    }
    /* repetition a matcher really uses still compiles */
    const char *fine = "{\"match\":{\"user_re\":\"^(a+|[]x[:digit:]]{2,40})+ (ok|no){1,3}$\","
                       "\"tool_result_re\":\"[0-9]{1,500}\\\\+\"},\"reply\":{\"text\":\"x\"}}";
    lo_tape *tf = lo_tape_parse(fine, strlen(fine), "fine.jsonl", &err);
    if (!tf)
        fail_msg("%s", err.msg);
    lo_tape_free(tf);
    lo_tape_fault f;
    assert_int_equal(lo_tape_fault_parse("{\"latency_ms\":5,\"every\":3}", &f, &err), 0);
    assert_int_equal(f.latency_ms, 5);
    assert_int_equal(f.every, 3);
    assert_int_equal(f.cut_after, -1);
    assert_int_equal(lo_tape_fault_parse("{\"stauts\":1}", &f, &err), LO_EINVAL);
    assert_non_null(strstr(err.msg, "unknown key \"fault.stauts\""));
    assert_int_equal(lo_tape_fault_parse("[1", &f, &err), LO_EINVAL);

    /* every: an entry's fault on every second call only; the twin's own
     * 529 on every third, before the tapes */
    const char *ev = "{\"match\":{\"user\":\"x\"},\"reply\":{\"text\":\"fine\"},"
                     "\"fault\":{\"status\":500,\"every\":2}}\n";
    lo_tape *te = lo_tape_parse(ev, strlen(ev), "every.jsonl", &err);
    assert_non_null(te);
    lo_tape_fault twin_fault;
    assert_int_equal(lo_tape_fault_parse("{\"status\":529,\"every\":3}", &twin_fault, &err), 0);
    lo_twin *tw = tt_start_cfg((lo_twin_config){.provider = "anthropic", .tapes = &te,
                                                .n_tapes = 1, .fault = &twin_fault});
    const char *const hdrs[] = {"content-type: application/json",
                                "anthropic-version: 2023-06-01", "x-api-key: k", NULL};
    long want[] = {200, 500, 529, 500, 200, 529};
    for (size_t i = 0; i < 6; i++) {
        json_t *j = NULL;
        long st = tt_post_json(tw, "/v1/messages", hdrs,
                               json_pack("{s:s, s:i, s:[{s:s, s:s}]}", "model",
                                         "claude-sonnet-4-5", "max_tokens", 10, "messages",
                                         "role", "user", "content", "x"),
                               &j);
        if (st != want[i])
            fail_msg("call %zu: %ld, wanted %ld", i + 1, st, want[i]);
        json_decref(j);
    }
    lo_twin_stop(tw);
    lo_tape_free(te);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tape_errors),
        cmocka_unit_test(tape_match),
        cmocka_unit_test(tape_regex_messages_every),
        cmocka_unit_test(text_reply),
        cmocka_unit_test(text_stream),
        cmocka_unit_test(tool_calls),
        cmocka_unit_test(thinking),
        cmocka_unit_test(validation),
        cmocka_unit_test(auth),
        cmocka_unit_test(count_tokens),
        cmocka_unit_test(models),
        cmocka_unit_test(faults),
        cmocka_unit_test(raw_and_unmatched),
        cmocka_unit_test(calls_and_raw_sse),
    };
    return cmocka_run_group_tests_name("twin", tests, setup, teardown);
}
