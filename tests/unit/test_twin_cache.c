/* Prompt-cache accounting in the twins (src/twin/cache.c and each
 * provider's usage): Anthropic's cache_control breakpoints with their TTLs,
 * OpenAI's and Gemini's automatic prefix caching, each reported in the
 * provider's own usage fields. Every test has a twin of its own, so its
 * cache starts empty. Counts follow the approximation of docs/twins.md:
 * text(s) = ceil(bytes / 4), 3 per request, 4 per message. */
#include "twin_testutil.h"

static lo_tape *TAPE; /* one entry answering everything with "ok" */
static char *BIG;     /* 6,000 bytes of text: 1,500 tokens, above every minimum */
static long long BIG_T;

static const char *const AH[] = {"content-type: application/json",
                                 "anthropic-version: 2023-06-01", "x-api-key: k", NULL};
static const char *const OH[] = {"content-type: application/json", "authorization: Bearer k",
                                 NULL};
static const char *const GH[] = {"content-type: application/json", "x-goog-api-key: k", NULL};

static long long text_tokens(const char *s)
{
    return (long long)((strlen(s) + 3) / 4);
}

static int setup(void **state)
{
    (void)state;
    lo_buf_init(&TT_LOG, 0);
    const char *text = "{\"reply\":{\"text\":\"ok\"}}\n";
    lo_error err = {0};
    TAPE = lo_tape_parse(text, strlen(text), "cache.jsonl", &err);
    lo_buf b;
    lo_buf_init(&b, 0);
    while (b.len < 6000)
        lo_buf_puts(&b, "You are a careful assistant who reads the whole file first. ");
    BIG = lo_buf_steal(&b);
    BIG[6000] = '\0';
    BIG_T = text_tokens(BIG);
    return TAPE && BIG ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    lo_tape_free(TAPE);
    free(BIG);
    lo_buf_release(&TT_LOG);
    return 0;
}

static lo_twin *twin(const char *provider)
{
    return tt_start(provider, &TAPE, 1, NULL);
}

/* ------------------------------------------------------------ Anthropic */

static json_t *cc(const char *ttl)
{
    return ttl ? json_pack("{s:s, s:s}", "type", "ephemeral", "ttl", ttl)
               : json_pack("{s:s}", "type", "ephemeral");
}

/* A Messages request: the big system prompt (a breakpoint when sys_ttl is
 * "5m"/"1h"/"" for the default), then messages. */
static json_t *areq(const char *model, const char *sys_ttl, json_t *messages)
{
    json_t *sys = json_pack("{s:s, s:s}", "type", "text", "text", BIG);
    if (sys_ttl)
        json_object_set_new(sys, "cache_control", cc(*sys_ttl ? sys_ttl : NULL));
    return json_pack("{s:s, s:i, s:[o], s:o}", "model", model, "max_tokens", 256, "system", sys,
                     "messages", messages);
}

static json_t *user(const char *text)
{
    return json_pack("{s:s, s:s}", "role", "user", "content", text);
}

static json_t *usage_of(lo_twin *t, json_t *body)
{
    json_t *j = NULL;
    assert_int_equal(tt_post_json(t, "/v1/messages", AH, body, &j), 200);
    json_t *u = json_incref(json_object_get(j, "usage"));
    json_decref(j);
    return u;
}

static void assert_usage(const json_t *u, long long in, long long write, long long read)
{
    if (tt_jint(u, "input_tokens") != in || tt_jint(u, "cache_creation_input_tokens") != write ||
        tt_jint(u, "cache_read_input_tokens") != read) {
        char *s = json_dumps(u, JSON_COMPACT);
        fail_msg("usage %s, wanted input %lld, creation %lld, read %lld", s, in, write, read);
    }
}

static void anthropic_breakpoints(void **state)
{
    (void)state;
    lo_twin *t = twin("anthropic");
    const long long sys = 3 + BIG_T; /* the prefix up to the system block */
    /* turn 1 writes the system prefix; what follows it is plain input */
    json_t *u = usage_of(t, areq("claude-sonnet-4-5", "", json_pack("[o]", user("hello"))));
    assert_usage(u, 4 + 2, sys, 0);
    assert_int_equal(tt_jint(u, "cache_creation.ephemeral_5m_input_tokens"), sys);
    assert_int_equal(tt_jint(u, "cache_creation.ephemeral_1h_input_tokens"), 0);
    json_decref(u);
    /* the same request reads it back */
    u = usage_of(t, areq("claude-sonnet-4-5", "", json_pack("[o]", user("hello"))));
    assert_usage(u, 6, 0, sys);
    json_decref(u);
    /* turn 2 moves a breakpoint to its last block: the system prefix is read
     * (found by looking back from the new breakpoint), the rest written */
    json_t *last = json_pack("{s:s, s:[{s:s, s:s, s:o}]}", "role", "user", "content", "type",
                             "text", "text", "and again", "cache_control", cc(NULL));
    json_t *msgs = json_pack("[o, {s:s, s:s}, o]", user("hello"), "role", "assistant",
                             "content", "ok", last);
    long long total = sys + (4 + 2) + (4 + 1) + (4 + 3);
    u = usage_of(t, areq("claude-sonnet-4-5", "", json_deep_copy(msgs)));
    assert_usage(u, 0, total - sys, sys);
    json_decref(u);
    /* turn 3 reads all of turn 2 */
    json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "assistant", "content", "ok"));
    json_array_append_new(msgs, user("third"));
    u = usage_of(t, areq("claude-sonnet-4-5", "", json_deep_copy(msgs)));
    assert_usage(u, (4 + 1) + (4 + 2), 0, total);
    json_decref(u);
    /* another model has a cache of its own */
    u = usage_of(t, areq("claude-opus-4-5", "", json_pack("[o]", user("hello"))));
    assert_usage(u, 6, sys, 0);
    json_decref(u);
    json_decref(msgs);
    lo_twin_stop(t);
}

static void anthropic_no_breakpoint_no_minimum(void **state)
{
    (void)state;
    lo_twin *t = twin("anthropic");
    /* no cache_control: nothing is cached, however long the prompt */
    for (int i = 0; i < 2; i++) {
        json_t *u = usage_of(t, areq("claude-sonnet-4-5", NULL, json_pack("[o]", user("hi"))));
        assert_usage(u, 3 + BIG_T + 4 + 1, 0, 0);
        json_decref(u);
    }
    /* a breakpoint below the minimum (1024; Haiku 2048) is no breakpoint */
    json_t *small = json_pack("{s:s, s:i, s:[{s:s, s:s, s:o}], s:[o]}", "model",
                              "claude-sonnet-4-5", "max_tokens", 64, "system", "type", "text",
                              "text", "short", "cache_control", cc(NULL), "messages", user("hi"));
    json_t *u = usage_of(t, json_deep_copy(small));
    assert_usage(u, 3 + 2 + 4 + 1, 0, 0);
    json_decref(u);
    u = usage_of(t, small);
    assert_usage(u, 3 + 2 + 4 + 1, 0, 0);
    json_decref(u);
    /* 1,500 tokens are enough for Sonnet, not for Haiku */
    u = usage_of(t, areq("claude-haiku-4-5", "", json_pack("[o]", user("hi"))));
    assert_usage(u, 3 + BIG_T + 4 + 1, 0, 0);
    json_decref(u);
    lo_twin_stop(t);
}

static void anthropic_ttl(void **state)
{
    (void)state;
    lo_twin *t = twin("anthropic");
    const long long sys = 3 + BIG_T;
#define TURN(ttl, in, w, r)                                                                    \
    do {                                                                                   \
        json_t *u_ = usage_of(t, areq("claude-sonnet-4-5", ttl, json_pack("[o]", user("hi")))); \
        assert_usage(u_, in, w, r);                                                        \
        json_decref(u_);                                                                   \
    } while (0)
    TURN("5m", 5, sys, 0);
    /* a hit within five minutes refreshes the entry: 4 + 4 minutes later it
     * is still there, 6 minutes after the last hit it is gone */
    lo_twin_clock_advance(t, 4 * 60 * 1000);
    TURN("5m", 5, 0, sys);
    lo_twin_clock_advance(t, 4 * 60 * 1000);
    TURN("5m", 5, 0, sys);
    lo_twin_clock_advance(t, 6 * 60 * 1000);
    TURN("5m", 5, sys, 0);
    lo_twin_stop(t);

    /* the one-hour TTL: billed apart, outlives five minutes, not an hour */
    t = twin("anthropic");
    json_t *u = usage_of(t, areq("claude-sonnet-4-5", "1h", json_pack("[o]", user("hi"))));
    assert_usage(u, 5, sys, 0);
    assert_int_equal(tt_jint(u, "cache_creation.ephemeral_1h_input_tokens"), sys);
    assert_int_equal(tt_jint(u, "cache_creation.ephemeral_5m_input_tokens"), 0);
    json_decref(u);
    lo_twin_clock_advance(t, 30 * 60 * 1000);
    TURN("1h", 5, 0, sys);
    lo_twin_clock_advance(t, 61 * 60 * 1000);
    TURN("1h", 5, sys, 0);
#undef TURN
    lo_twin_stop(t);
}

static void anthropic_stream_and_validation(void **state)
{
    (void)state;
    lo_twin *t = twin("anthropic");
    const long long sys = 3 + BIG_T;
    json_t *b = areq("claude-sonnet-4-5", "", json_pack("[o]", user("hi")));
    json_object_set_new(b, "stream", json_true());
    char *s = json_dumps(b, JSON_COMPACT);
    for (int turn = 0; turn < 2; turn++) {
        tt_stream c;
        assert_int_equal(tt_stream_post(t, "/v1/messages", AH, s, &c), 200);
        json_t *start = json_object_get(json_object_get(tt_event(&c, "message_start"), "message"),
                                        "usage");
        json_t *delta = json_object_get(tt_event(&c, "message_delta"), "usage");
        assert_usage(start, 5, turn ? 0 : sys, turn ? sys : 0);
        assert_usage(delta, 5, turn ? 0 : sys, turn ? sys : 0);
        assert_int_equal(tt_jint(delta, "output_tokens"), 1);
        json_decref(c.events);
    }
    free(s);
    json_decref(b);

    /* what the API refuses about cache_control */
    struct {
        json_t *body;
        const char *needle;
    } cases[] = {
        {areq("claude-sonnet-4-5", "2h", json_pack("[o]", user("hi"))), "'5m' or '1h'"},
        {areq("claude-sonnet-4-5", "5m",
              json_pack("[{s:s, s:[{s:s, s:s, s:o}]}]", "role", "user", "content", "type", "text",
                        "text", "x", "cache_control", cc("1h"))),
         "must not come after"},
        {json_pack("{s:s, s:i, s:[{s:s, s:s, s:{s:s}}], s:[o]}", "model", "claude-sonnet-4-5",
                   "max_tokens", 64, "system", "type", "text", "text", "x", "cache_control",
                   "type", "persistent", "messages", user("hi")),
         "'ephemeral'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *j = NULL;
        assert_int_equal(tt_post_json(t, "/v1/messages", AH, cases[i].body, &j), 400);
        const char *msg = tt_jstr(json_object_get(j, "error"), "message");
        if (!msg || !strstr(msg, cases[i].needle))
            fail_msg("case %zu: %s", i, msg ? msg : "(no message)");
        json_decref(j);
    }
    /* five breakpoints are one too many */
    json_t *content = json_array();
    for (int i = 0; i < 4; i++)
        json_array_append_new(content, json_pack("{s:s, s:s, s:o}", "type", "text", "text", "x",
                                                 "cache_control", cc(NULL)));
    json_t *j = NULL;
    assert_int_equal(tt_post_json(t, "/v1/messages", AH,
                                  areq("claude-sonnet-4-5", "",
                                       json_pack("[{s:s, s:o}]", "role", "user", "content",
                                                 content)),
                                  &j),
                     400);
    assert_non_null(strstr(tt_jstr(json_object_get(j, "error"), "message"),
                           "A maximum of 4 blocks with cache_control may be provided. Found 5."));
    json_decref(j);
    lo_twin_stop(t);
}

/* A tape's usage turns the simulation off: what it says is what is billed. */
static void tape_usage_overrides(void **state)
{
    (void)state;
    const char *text = "{\"reply\":{\"text\":\"ok\",\"usage\":{\"input_tokens\":5000,"
                       "\"cache_read_tokens\":4000,\"output_tokens\":7}}}\n";
    lo_error err = {0};
    lo_tape *tape = lo_tape_parse(text, strlen(text), "u.jsonl", &err);
    assert_non_null(tape);
    lo_twin *t = tt_start("all", &tape, 1, NULL);
    json_t *u = usage_of(t, areq("claude-sonnet-4-5", "", json_pack("[o]", user("hi"))));
    assert_usage(u, 1000, 0, 4000);
    json_decref(u);
    json_t *j = NULL;
    assert_int_equal(tt_post_json(t, "/v1/responses", OH,
                                  json_pack("{s:s, s:s}", "model", "gpt-5.4", "input", "hi"), &j),
                     200);
    assert_int_equal(tt_jint(j, "usage.input_tokens"), 5000);
    assert_int_equal(tt_jint(j, "usage.input_tokens_details.cached_tokens"), 4000);
    json_decref(j);
    const char *bad = "{\"reply\":{\"usage\":{\"cache_read_tokens\":-1}}}\n";
    assert_null(lo_tape_parse(bad, strlen(bad), "b.jsonl", &err));
    assert_non_null(strstr(err.msg, "reply.usage"));
    lo_twin_stop(t);
    lo_tape_free(tape);
}

/* ------------------------------------------------------------ OpenAI */

/* 1024 + whole steps of 128 up to n. */
static long long openai_rounded(long long n)
{
    return 1024 + (n - 1024) / 128 * 128;
}

static void openai_responses(void **state)
{
    (void)state;
    lo_twin *t = twin("openai");
    /* turn 1: nothing cached yet; input_tokens counts the whole prompt */
    json_t *j = NULL;
    json_t *input = json_pack("[{s:s, s:s}]", "role", "user", "content", "hello");
    assert_int_equal(tt_post_json(t, "/v1/responses", OH,
                                  json_pack("{s:s, s:s, s:O}", "model", "gpt-5.4", "instructions",
                                            BIG, "input", input),
                                  &j),
                     200);
    long long t1 = 3 + BIG_T + 4 + 2;
    assert_int_equal(tt_jint(j, "usage.input_tokens"), t1);
    assert_int_equal(tt_jint(j, "usage.input_tokens_details.cached_tokens"), 0);
    json_decref(j);
    /* turn 2 extends turn 1: its whole prompt is a cached prefix, in steps */
    json_array_append_new(input, json_pack("{s:s, s:s}", "role", "assistant", "content", "ok"));
    json_array_append_new(input, json_pack("{s:s, s:s}", "role", "user", "content", "more"));
    assert_int_equal(tt_post_json(t, "/v1/responses", OH,
                                  json_pack("{s:s, s:s, s:O}", "model", "gpt-5.4", "instructions",
                                            BIG, "input", input),
                                  &j),
                     200);
    assert_int_equal(tt_jint(j, "usage.input_tokens"), t1 + 5 + 5);
    assert_int_equal(tt_jint(j, "usage.input_tokens_details.cached_tokens"), openai_rounded(t1));
    json_decref(j);
    /* a prompt_cache_key keeps a cache of its own */
    assert_int_equal(tt_post_json(t, "/v1/responses", OH,
                                  json_pack("{s:s, s:s, s:O, s:s}", "model", "gpt-5.4",
                                            "instructions", BIG, "input", input,
                                            "prompt_cache_key", "tenant-b"),
                                  &j),
                     200);
    assert_int_equal(tt_jint(j, "usage.input_tokens_details.cached_tokens"), 0);
    json_decref(j);
    /* five minutes without use and it is gone; prompt_cache_retention 24h
     * keeps it */
    lo_twin_clock_advance(t, 6 * 60 * 1000);
    assert_int_equal(tt_post_json(t, "/v1/responses", OH,
                                  json_pack("{s:s, s:s, s:O, s:s}", "model", "gpt-5.4",
                                            "instructions", BIG, "input", input,
                                            "prompt_cache_retention", "24h"),
                                  &j),
                     200);
    assert_int_equal(tt_jint(j, "usage.input_tokens_details.cached_tokens"), 0);
    json_decref(j);
    lo_twin_clock_advance(t, 60 * 60 * 1000);
    assert_int_equal(tt_post_json(t, "/v1/responses", OH,
                                  json_pack("{s:s, s:s, s:O}", "model", "gpt-5.4", "instructions",
                                            BIG, "input", input),
                                  &j),
                     200);
    assert_int_equal(tt_jint(j, "usage.input_tokens_details.cached_tokens"),
                     openai_rounded(t1 + 10));
    json_decref(j);
    json_decref(input);
    /* below 1024 tokens nothing is cached */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(tt_post_json(t, "/v1/responses", OH,
                                      json_pack("{s:s, s:s}", "model", "gpt-5.4", "input",
                                                "short"),
                                      &j),
                         200);
        assert_int_equal(tt_jint(j, "usage.input_tokens_details.cached_tokens"), 0);
        json_decref(j);
    }
    lo_twin_stop(t);
}

static void openai_chat(void **state)
{
    (void)state;
    lo_twin *t = twin("openai");
    json_t *msgs = json_pack("[{s:s, s:s}, {s:s, s:s}]", "role", "system", "content", BIG,
                             "role", "user", "content", "hello");
    long long t1 = 3 + (4 + BIG_T) + (4 + 2);
    for (int turn = 0; turn < 2; turn++) {
        json_t *j = NULL;
        assert_int_equal(tt_post_json(t, "/v1/chat/completions", OH,
                                      json_pack("{s:s, s:O}", "model", "gpt-5.4", "messages",
                                                msgs),
                                      &j),
                         200);
        assert_int_equal(tt_jint(j, "usage.prompt_tokens"), t1);
        assert_int_equal(tt_jint(j, "usage.prompt_tokens_details.cached_tokens"),
                         turn ? openai_rounded(t1) : 0);
        json_decref(j);
    }
    /* the usage chunk of a stream says the same */
    json_t *b = json_pack("{s:s, s:O, s:b, s:{s:b}}", "model", "gpt-5.4", "messages", msgs,
                          "stream", 1, "stream_options", "include_usage", 1);
    char *s = json_dumps(b, JSON_COMPACT);
    tt_stream c;
    assert_int_equal(tt_stream_post(t, "/v1/chat/completions", OH, s, &c), 200);
    json_t *usage_chunk = json_object_get(json_array_get(c.events, json_array_size(c.events) - 2),
                                          "data");
    assert_int_equal(tt_jint(usage_chunk, "usage.prompt_tokens_details.cached_tokens"),
                     openai_rounded(t1));
    json_decref(c.events);
    free(s);
    json_decref(b);
    json_decref(msgs);
    lo_twin_stop(t);
}

/* ------------------------------------------------------------ Gemini */

static void gemini_implicit(void **state)
{
    (void)state;
    lo_twin *t = twin("gemini");
    json_t *contents = json_pack("[{s:s, s:[{s:s}]}]", "role", "user", "parts", "text", "hello");
    const char *path = "/v1beta/models/gemini-3.8-flash:generateContent";
    long long t1 = 3 + BIG_T + 4 + 2;
    json_t *j = NULL;
    assert_int_equal(tt_post_json(t, path, GH,
                                  json_pack("{s:{s:[{s:s}]}, s:O}", "systemInstruction", "parts",
                                            "text", BIG, "contents", contents),
                                  &j),
                     200);
    assert_int_equal(tt_jint(j, "usageMetadata.promptTokenCount"), t1);
    /* proto3 JSON leaves a zero count out */
    assert_null(json_object_get(json_object_get(j, "usageMetadata"), "cachedContentTokenCount"));
    json_decref(j);
    json_array_append_new(contents, json_pack("{s:s, s:[{s:s}]}", "role", "model", "parts",
                                              "text", "ok"));
    json_array_append_new(contents, json_pack("{s:s, s:[{s:s}]}", "role", "user", "parts",
                                              "text", "more"));
    json_t *b = json_pack("{s:{s:[{s:s}]}, s:O}", "systemInstruction", "parts", "text", BIG,
                          "contents", contents);
    assert_int_equal(tt_post_json(t, path, GH, json_deep_copy(b), &j), 200);
    assert_int_equal(tt_jint(j, "usageMetadata.promptTokenCount"), t1 + 5 + 5);
    assert_int_equal(tt_jint(j, "usageMetadata.cachedContentTokenCount"), t1);
    assert_int_equal(tt_jint(j, "usageMetadata.cacheTokensDetails.0.tokenCount"), t1);
    json_decref(j);
    /* a stream's last chunk carries the cached count; the whole prompt of
     * the previous call is cached now */
    char *s = json_dumps(b, JSON_COMPACT);
    tt_stream c;
    assert_int_equal(tt_stream_post(t, "/v1beta/models/gemini-3.8-flash:streamGenerateContent?alt=sse",
                                    GH, s, &c),
                     200);
    assert_int_equal(tt_jint(tt_last_event(&c), "usageMetadata.cachedContentTokenCount"),
                     t1 + 10);
    json_decref(c.events);
    free(s);
    json_decref(b);
    json_decref(contents);
    lo_twin_stop(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(anthropic_breakpoints),
        cmocka_unit_test(anthropic_no_breakpoint_no_minimum),
        cmocka_unit_test(anthropic_ttl),
        cmocka_unit_test(anthropic_stream_and_validation),
        cmocka_unit_test(tape_usage_overrides),
        cmocka_unit_test(openai_responses),
        cmocka_unit_test(openai_chat),
        cmocka_unit_test(gemini_implicit),
    };
    return cmocka_run_group_tests_name("twin_cache", tests, setup, teardown);
}
