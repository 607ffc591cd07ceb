/* Record mode (src/twin/record.c, record_parse.c): a recording twin proxies
 * to a second in-process twin playing the real upstream, for each of the
 * three providers, plain and streamed, with tool calls, thinking and an
 * error; then the tape it wrote is loaded and replayed by a third twin,
 * which must answer the same requests the same way. No API key, and no
 * auth header, may appear in the tape. */
#include <unistd.h>

#include "twin_testutil.h"

static const char UPSTREAM_TAPE[] =
    "{\"match\":{\"user\":\"hello\"},\"reply\":{\"text\":\"Hello from upstream — ça va.\"}}\n"
    "{\"match\":{\"tool_result\":\"18°C\"},\"reply\":{\"text\":\"It is 18°C in Paris.\"}}\n"
    "{\"match\":{\"user\":\"weather\"},\"reply\":{\"tool_calls\":[{\"name\":\"get_weather\","
    "\"arguments\":{\"city\":\"Paris\"}}]}}\n"
    "{\"match\":{\"user\":\"think\"},\"reply\":{\"thinking\":{\"text\":\"Let me see.\","
    "\"signature\":\"c2lnLXVw\"},\"text\":\"Four.\"}}\n"
    "{\"match\":{\"user\":\"busy\"},\"fault\":{\"status\":429,\"retry_after\":7}}\n"
    "{\"match\":{\"user\":\"long\"},\"reply\":{\"text\":\"A long answer that streams in "
    "several pieces, more than sixteen bytes.\",\"stop_reason\":\"max_tokens\"}}\n";

static lo_tape *UP_TAPE;
static char TAPE_PATH[256];

#define ASECRET "sk-ant-SECRET-1111"
#define OSECRET "sk-proj-SECRET-2222"
#define GSECRET "AIza-SECRET-3333"

static const char *const AH[] = {"content-type: application/json",
                                 "anthropic-version: 2023-06-01", "x-api-key: " ASECRET, NULL};
static const char *const OH[] = {"content-type: application/json",
                                 "authorization: Bearer " OSECRET, NULL};
static const char *const GH[] = {"content-type: application/json",
                                 "x-goog-api-key: " GSECRET, NULL};

static int setup(void **state)
{
    (void)state;
    lo_buf_init(&TT_LOG, 0);
    lo_error err = {0};
    UP_TAPE = lo_tape_parse(UPSTREAM_TAPE, strlen(UPSTREAM_TAPE), "upstream.jsonl", &err);
    if (!UP_TAPE) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    snprintf(TAPE_PATH, sizeof TAPE_PATH, "/tmp/lo-record-%d.jsonl", (int)getpid());
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lo_tape_free(UP_TAPE);
    unlink(TAPE_PATH);
    lo_buf_release(&TT_LOG);
    return 0;
}

/* ------------------------------------------------------------ requests */

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

static json_t *anthropic_req(json_t *messages, bool stream)
{
    return json_pack("{s:s, s:i, s:o, s:b, s:[{s:s, s:{s:s}}]}", "model", "claude-sonnet-4-5",
                     "max_tokens", 2048, "messages", messages, "stream", stream, "tools", "name",
                     "get_weather", "input_schema", "type", "object");
}

static json_t *user_msg(const char *text)
{
    return json_pack("[{s:s, s:s}]", "role", "user", "content", text);
}

/* What a client would see: a plain call's text (and tool call name, if any). */
static char *anthropic_text(lo_twin *t, json_t *body, long *status)
{
    json_t *j = NULL;
    *status = tt_post_json(t, "/v1/messages", AH, body, &j);
    lo_buf b;
    lo_buf_init(&b, 0);
    size_t i;
    json_t *blk;
    json_array_foreach(json_object_get(j, "content"), i, blk) {
        const char *type = tt_jstr(blk, "type");
        if (lo_str_eq(type, "text"))
            lo_buf_printf(&b, "text:%s;", tt_jstr(blk, "text"));
        else if (lo_str_eq(type, "thinking"))
            lo_buf_printf(&b, "thinking:%s/%s;", tt_jstr(blk, "thinking"),
                          tt_jstr(blk, "signature"));
        else if (lo_str_eq(type, "tool_use"))
            lo_buf_printf(&b, "tool:%s(%s);", tt_jstr(blk, "name"),
                          tt_jstr(json_object_get(blk, "input"), "city"));
    }
    if (tt_jstr(j, "stop_reason"))
        lo_buf_printf(&b, "stop:%s;", tt_jstr(j, "stop_reason"));
    if (*status >= 400)
        lo_buf_printf(&b, "error:%s;", tt_jstr(json_object_get(j, "error"), "type"));
    json_decref(j);
    lo_buf_puts(&b, "");
    return lo_buf_steal(&b);
}

/* A stream's text deltas, concatenated. */
static char *anthropic_stream_text(lo_twin *t, const char *user)
{
    json_t *b = anthropic_req(user_msg(user), true);
    char *s = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    tt_stream c;
    assert_int_equal(tt_stream_post(t, "/v1/messages", AH, s, &c), 200);
    free(s);
    assert_int_equal(c.bad_json, 0);
    lo_buf out;
    lo_buf_init(&out, 0);
    lo_buf_puts(&out, "");
    size_t i;
    json_t *e;
    json_array_foreach(c.events, i, e) {
        const json_t *d = json_object_get(json_object_get(e, "data"), "delta");
        if (tt_jstr(d, "text"))
            lo_buf_puts(&out, tt_jstr(d, "text"));
    }
    assert_non_null(tt_event(&c, "message_stop"));
    json_decref(c.events);
    return lo_buf_steal(&out);
}

static char *openai_text(lo_twin *t, bool chat, const char *user)
{
    json_t *j = NULL;
    json_t *b = chat ? json_pack("{s:s, s:o}", "model", "gpt-5.4", "messages", user_msg(user))
                     : json_pack("{s:s, s:s}", "model", "gpt-5.4", "input", user);
    long st = tt_post_json(t, chat ? "/v1/chat/completions" : "/v1/responses", OH, b, &j);
    lo_buf out;
    lo_buf_init(&out, 0);
    lo_buf_printf(&out, "%ld:", st);
    if (chat) {
        const json_t *ch = json_array_get(json_object_get(j, "choices"), 0);
        lo_buf_puts(&out, or_empty(tt_jstr(json_object_get(ch, "message"), "content")));
    } else {
        size_t i, k;
        json_t *it, *p;
        json_array_foreach(json_object_get(j, "output"), i, it)
            json_array_foreach(json_object_get(it, "content"), k, p)
                lo_buf_puts(&out, or_empty(tt_jstr(p, "text")));
    }
    json_decref(j);
    return lo_buf_steal(&out);
}

static char *gemini_text(lo_twin *t, const char *method, const char *user)
{
    char path[200];
    snprintf(path, sizeof path, "/v1beta/models/gemini-3.8-flash:%s", method);
    json_t *b = json_pack("{s:[{s:s, s:[{s:s}]}], s:{s:{s:b}}}", "contents", "role", "user",
                          "parts", "text", user, "generationConfig", "thinkingConfig",
                          "includeThoughts", 1);
    char *s = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    lo_buf out;
    lo_buf_init(&out, 0);
    lo_buf_puts(&out, "");
    if (strstr(method, "alt=sse")) {
        tt_stream c;
        assert_int_equal(tt_stream_post(t, path, GH, s, &c), 200);
        size_t i;
        json_t *e;
        json_array_foreach(c.events, i, e) {
            json_t *parts = json_object_get(
                json_object_get(json_array_get(json_object_get(json_object_get(e, "data"),
                                                               "candidates"),
                                               0),
                                "content"),
                "parts");
            size_t k;
            json_t *p;
            json_array_foreach(parts, k, p) lo_buf_puts(&out, or_empty(tt_jstr(p, "text")));
        }
        json_decref(c.events);
    } else {
        lo_http_result r;
        json_t *j = NULL;
        lo_buf_printf(&out, "%ld:", tt_request(t, path, GH, s, &r, &j));
        json_t *parts = json_object_get(
            json_object_get(json_array_get(json_object_get(j, "candidates"), 0), "content"),
            "parts");
        size_t k;
        json_t *p;
        json_array_foreach(parts, k, p) {
            lo_buf_printf(&out, "%s%s", json_is_true(json_object_get(p, "thought")) ? "~" : "",
                          or_empty(tt_jstr(p, "text")));
            if (tt_jstr(p, "thoughtSignature"))
                lo_buf_printf(&out, "[%s]", tt_jstr(p, "thoughtSignature"));
        }
        json_decref(j);
        lo_http_result_release(&r);
    }
    free(s);
    return lo_buf_steal(&out);
}

/* Every request of the exchange, run against t; the answers one a line. */
static char *session(lo_twin *t)
{
    lo_buf b;
    lo_buf_init(&b, 0);
    long st;
    char *s;
#define ADD(expr)                                                                              \
    do {                                                                                   \
        s = (expr);                                                                        \
        lo_buf_printf(&b, "%s\n", s);                                                      \
        free(s);                                                                           \
    } while (0)
    ADD(anthropic_text(t, anthropic_req(user_msg("hello there"), false), &st));
    assert_int_equal(st, 200);
    /* a tool round trip: the second leg answers the first's call */
    json_t *msgs = user_msg("weather in Paris?");
    json_t *first = NULL;
    assert_int_equal(tt_post_json(t, "/v1/messages", AH, anthropic_req(json_deep_copy(msgs), false),
                                  &first),
                     200);
    json_t *call = json_array_get(json_object_get(first, "content"), 0);
    lo_buf_printf(&b, "tool:%s\n", tt_jstr(call, "name"));
    json_array_append_new(msgs, json_pack("{s:s, s:O}", "role", "assistant", "content",
                                          json_object_get(first, "content")));
    json_array_append_new(msgs, json_pack("{s:s, s:[{s:s, s:O, s:s}]}", "role", "user",
                                          "content", "type", "tool_result", "tool_use_id",
                                          json_object_get(call, "id"), "content", "18°C, sunny"));
    json_decref(first);
    ADD(anthropic_text(t, anthropic_req(msgs, false), &st));
    ADD(anthropic_text(t, anthropic_req(user_msg("think, please"), false), &st));
    ADD(anthropic_text(t, anthropic_req(user_msg("are you busy?"), false), &st));
    assert_int_equal(st, 429);
    ADD(anthropic_stream_text(t, "a long one"));
    ADD(openai_text(t, false, "hello, responses"));
    ADD(openai_text(t, true, "hello, chat"));
    ADD(gemini_text(t, "generateContent", "hello, gemini"));
    ADD(gemini_text(t, "generateContent", "think, gemini"));
    ADD(gemini_text(t, "streamGenerateContent?alt=sse", "a long one, gemini"));
#undef ADD
    return lo_buf_steal(&b);
}

static char *read_all(const char *path)
{
    char *data = NULL;
    size_t len = 0;
    lo_error err = {0};
    if (lo_file_read(path, 0, &data, &len, &err))
        fail_msg("%s: %s", path, err.msg);
    return data;
}

static void record_and_replay(void **state)
{
    (void)state;
    lo_twin *up = tt_start("all", &UP_TAPE, 1, NULL);
    /* the answers straight from the upstream, for comparison */
    char *direct = session(up);
    lo_twin *rec = tt_start_cfg((lo_twin_config){.provider = "all",
                                                 .upstream = lo_twin_base_url(up),
                                                 .record_path = TAPE_PATH});
    char *through = session(rec);
    assert_string_equal(through, direct);
    /* proxied, not recorded: count_tokens and a model list */
    json_t *j = NULL;
    assert_int_equal(tt_post_json(rec, "/v1/messages/count_tokens", AH,
                                  json_pack("{s:s, s:o}", "model", "claude-sonnet-4-5",
                                            "messages", user_msg("hi")),
                                  &j),
                     200);
    assert_int_equal(tt_jint(j, "input_tokens"), 3 + 4 + 1);
    json_decref(j);
    lo_http_result r;
    assert_int_equal(tt_request(rec, "/v1beta/models?key=" GSECRET, NULL, NULL, &r, &j), 200);
    assert_true(json_array_size(json_object_get(j, "models")) > 0);
    json_decref(j);
    lo_http_result_release(&r);
    lo_twin_stop(rec);

    /* the tape: one entry per generation call, no key, no auth header */
    char *text = read_all(TAPE_PATH);
    size_t lines = 0;
    for (const char *p = text; (p = strchr(p, '\n')); p++)
        lines++;
    assert_int_equal(lines, 11);
    const char *banned[] = {"SECRET", "x-api-key", "X-Api-Key", "authorization",
                            "Authorization", "Bearer", "x-goog-api-key", "key="};
    for (size_t i = 0; i < sizeof banned / sizeof banned[0]; i++)
        if (strstr(text, banned[i]))
            fail_msg("the tape holds \"%s\":\n%s", banned[i], text);
    assert_non_null(strstr(text, "\"fault\":{\"status\":429,\"retry_after\":7}"));
    assert_non_null(strstr(text, "recorded from 127.0.0.1:"));
    free(text);

    /* replayed by a twin of its own, the session answers the same */
    lo_error err = {0};
    lo_tape *tape = lo_tape_load(TAPE_PATH, &err);
    if (!tape)
        fail_msg("the recorded tape does not load: %s", err.msg);
    lo_twin *replay = tt_start("all", &tape, 1, NULL);
    char *again = session(replay);
    assert_string_equal(again, direct);
    lo_twin_stop(replay);
    lo_tape_free(tape);
    free(direct);
    free(through);
    free(again);
    lo_twin_stop(up);
}

static void upstream_down_and_bad_urls(void **state)
{
    (void)state;
    /* a port nobody listens on: 502 with a message that names no key */
    lo_twin *rec = tt_start_cfg((lo_twin_config){.provider = "anthropic",
                                                 .upstream = "http://127.0.0.1:1",
                                                 .record_path = TAPE_PATH});
    json_t *j = NULL;
    assert_int_equal(tt_post_json(rec, "/v1/messages", AH,
                                  anthropic_req(user_msg("hello"), false), &j),
                     502);
    const char *msg = tt_jstr(json_object_get(j, "error"), "message");
    assert_non_null(strstr(msg, "upstream did not answer"));
    assert_null(strstr(msg, "SECRET"));
    json_decref(j);
    lo_twin_stop(rec);

    static const char *const bad[] = {"ftp://x", "http://", "api.anthropic.com",
                                      "https://h/?key=1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lo_twin_config cfg = {.provider = "anthropic", .upstream = bad[i],
                              .record_path = TAPE_PATH};
        lo_error err = {0};
        assert_null(lo_twin_start(&cfg, &err));
        assert_int_equal(err.code, LO_EINVAL);
    }
    lo_twin_config cfg = {.provider = "anthropic", .upstream = "http://127.0.0.1:1",
                          .record_path = "/nonexistent/dir/t.jsonl"};
    lo_error err = {0};
    assert_null(lo_twin_start(&cfg, &err));
    assert_non_null(strstr(err.msg, "/nonexistent/dir/t.jsonl"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(record_and_replay),
        cmocka_unit_test(upstream_down_and_bad_urls),
    };
    return cmocka_run_group_tests_name("twin_record", tests, setup, teardown);
}
