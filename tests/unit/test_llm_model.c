/* Unit tests for the LLM data model, error taxonomy (src/llm/model.c) and the
 * model catalog with costs (src/llm/catalog.c), including the shipped
 * data/models.json. */
#include "testutil.h"

#include <math.h>
#include <unistd.h>

#include "lightsout/llm.h"

static void expect_msg(const lo_error *err, const char *needle)
{
    if (!strstr(err->msg, needle))
        fail_msg("message '%s' lacks '%s'", err->msg, needle);
}

/* Write text to a fresh file under /tmp; returns its path (static buffer
 * per call site is not needed: the caller copies or unlinks at once). */
static void write_tmp(char *path, size_t n, const char *text)
{
    snprintf(path, n, "/tmp/lo-llm-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
}

/* ---- usage ---- */

static lo_llm_usage usage(int64_t in, int64_t out, int64_t total, int64_t reasoning,
                          int64_t cr, int64_t cw)
{
    lo_llm_usage u = {in, out, total, reasoning, cr, cw};
    return u;
}

static void test_usage_init_is_unreported(void **state)
{
    (void)state;
    lo_llm_usage u;
    lo_llm_usage_init(&u);
    assert_int_equal(u.input_tokens, LO_TOKENS_UNREPORTED);
    assert_int_equal(u.output_tokens, -1);
    assert_int_equal(u.total_tokens, -1);
    assert_int_equal(u.reasoning_tokens, -1);
    assert_int_equal(u.cache_read_tokens, -1);
    assert_int_equal(u.cache_write_tokens, -1);
}

static void test_usage_add_rules(void **state)
{
    (void)state;
    lo_llm_usage sum = usage(10, 20, 30, -1, 5, -1);
    lo_llm_usage add = usage(1, 2, 3, 7, -1, -1);
    lo_llm_usage_add(&sum, &add);
    assert_int_equal(sum.input_tokens, 11);      /* n + n */
    assert_int_equal(sum.output_tokens, 22);
    assert_int_equal(sum.total_tokens, 33);
    assert_int_equal(sum.reasoning_tokens, 7);   /* unreported + n = n */
    assert_int_equal(sum.cache_read_tokens, 5);  /* n + unreported = n */
    assert_int_equal(sum.cache_write_tokens, -1); /* unreported + unreported */

    /* zero is a real count, not "unreported" */
    lo_llm_usage z = usage(0, 0, 0, 0, 0, 0), u;
    lo_llm_usage_init(&u);
    lo_llm_usage_add(&u, &z);
    assert_int_equal(u.input_tokens, 0);
    assert_int_equal(u.cache_write_tokens, 0);

    /* adding to an empty accumulator gives the addend */
    lo_llm_usage acc;
    lo_llm_usage_init(&acc);
    lo_llm_usage one = usage(100, 50, 150, 20, 30, 40);
    lo_llm_usage_add(&acc, &one);
    lo_llm_usage_add(&acc, &one);
    assert_int_equal(acc.input_tokens, 200);
    assert_int_equal(acc.reasoning_tokens, 40);
    assert_int_equal(acc.cache_write_tokens, 80);
}

/* ---- errors ---- */

static void test_error_status_mapping(void **state)
{
    (void)state;
    static const struct {
        int status;
        lo_llm_error_kind kind;
        bool retryable;
    } cases[] = {
        {400, LO_LLM_ERR_INVALID_REQUEST, false}, {401, LO_LLM_ERR_AUTHENTICATION, false},
        {403, LO_LLM_ERR_ACCESS_DENIED, false},   {404, LO_LLM_ERR_NOT_FOUND, false},
        {408, LO_LLM_ERR_REQUEST_TIMEOUT, false}, {413, LO_LLM_ERR_CONTEXT_LENGTH, false},
        {422, LO_LLM_ERR_INVALID_REQUEST, false}, {429, LO_LLM_ERR_RATE_LIMIT, true},
        {500, LO_LLM_ERR_SERVER, true},           {502, LO_LLM_ERR_SERVER, true},
        {503, LO_LLM_ERR_SERVER, true},           {504, LO_LLM_ERR_SERVER, true},
        {529, LO_LLM_ERR_SERVER, true},           {599, LO_LLM_ERR_SERVER, true},
        {418, LO_LLM_ERR_PROVIDER, true},         {409, LO_LLM_ERR_PROVIDER, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        lo_llm_error_kind k = lo_llm_error_from_status(cases[i].status, NULL);
        if (k != cases[i].kind)
            fail_msg("status %d -> %s, want %s", cases[i].status, lo_llm_error_kind_name(k),
                     lo_llm_error_kind_name(cases[i].kind));
        assert_int_equal(lo_llm_error_kind_retryable(k), cases[i].retryable);
        /* a message that says nothing special changes nothing */
        assert_int_equal(lo_llm_error_from_status(cases[i].status, "something went wrong"),
                         cases[i].kind);
    }
}

static void test_error_message_classification(void **state)
{
    (void)state;
    static const struct {
        int status;
        const char *msg;
        lo_llm_error_kind kind;
    } cases[] = {
        {400, "This model's maximum context length is 128000 tokens", LO_LLM_ERR_CONTEXT_LENGTH},
        {400, "prompt is too long: 210000 tokens > 200000 maximum", LO_LLM_ERR_CONTEXT_LENGTH},
        {400, "Too many tokens in the request", LO_LLM_ERR_CONTEXT_LENGTH},
        {400, "context_length_exceeded", LO_LLM_ERR_CONTEXT_LENGTH},
        {400, "Output blocked by the Content Filter", LO_LLM_ERR_CONTENT_FILTER},
        {400, "blocked for safety reasons", LO_LLM_ERR_CONTENT_FILTER},
        {400, "The model `gpt-9` does not exist", LO_LLM_ERR_NOT_FOUND},
        {422, "model not found", LO_LLM_ERR_NOT_FOUND},
        {400, "Unauthorized request", LO_LLM_ERR_AUTHENTICATION},
        {400, "invalid key supplied", LO_LLM_ERR_AUTHENTICATION},
        {400, "Your credit balance is too low", LO_LLM_ERR_QUOTA_EXCEEDED},
        {403, "API key not valid. Please pass a valid API key.", LO_LLM_ERR_AUTHENTICATION},
        {403, "Permission denied on resource", LO_LLM_ERR_ACCESS_DENIED},
        {429, "You exceeded your current quota, please check your plan and billing details",
         LO_LLM_ERR_QUOTA_EXCEEDED},
        {429, "insufficient_quota", LO_LLM_ERR_QUOTA_EXCEEDED},
        /* Gemini words per-minute limits as "quota": still a rate limit */
        {429, "Quota exceeded for metric: requests per minute", LO_LLM_ERR_RATE_LIMIT},
        /* statuses the table settles are not overridden by the message */
        {401, "context length", LO_LLM_ERR_AUTHENTICATION},
        {404, "safety", LO_LLM_ERR_NOT_FOUND},
        {500, "context length", LO_LLM_ERR_SERVER},
        {413, "anything", LO_LLM_ERR_CONTEXT_LENGTH},
        /* no status (e.g. an error event inside a stream) */
        {0, "context length exceeded", LO_LLM_ERR_CONTEXT_LENGTH},
        {0, "mystery", LO_LLM_ERR_PROVIDER},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        lo_llm_error_kind k = lo_llm_error_from_status(cases[i].status, cases[i].msg);
        if (k != cases[i].kind)
            fail_msg("%d '%s' -> %s, want %s", cases[i].status, cases[i].msg,
                     lo_llm_error_kind_name(k), lo_llm_error_kind_name(cases[i].kind));
    }
}

static void test_error_retryable_flags(void **state)
{
    (void)state;
    static const struct {
        lo_llm_error_kind kind;
        const char *name;
        bool retryable;
    } cases[] = {
        {LO_LLM_ERR_AUTHENTICATION, "authentication", false},
        {LO_LLM_ERR_ACCESS_DENIED, "access_denied", false},
        {LO_LLM_ERR_NOT_FOUND, "not_found", false},
        {LO_LLM_ERR_INVALID_REQUEST, "invalid_request", false},
        {LO_LLM_ERR_RATE_LIMIT, "rate_limit", true},
        {LO_LLM_ERR_SERVER, "server", true},
        {LO_LLM_ERR_CONTENT_FILTER, "content_filter", false},
        {LO_LLM_ERR_CONTEXT_LENGTH, "context_length", false},
        {LO_LLM_ERR_QUOTA_EXCEEDED, "quota_exceeded", false},
        {LO_LLM_ERR_REQUEST_TIMEOUT, "request_timeout", false},
        {LO_LLM_ERR_ABORT, "abort", false},
        {LO_LLM_ERR_NETWORK, "network", true},
        {LO_LLM_ERR_STREAM, "stream", true},
        {LO_LLM_ERR_INVALID_TOOL_CALL, "invalid_tool_call", false},
        {LO_LLM_ERR_NO_OBJECT_GENERATED, "no_object_generated", false},
        {LO_LLM_ERR_CONFIGURATION, "configuration", false},
        {LO_LLM_ERR_UNSUPPORTED_TOOL_CHOICE, "unsupported_tool_choice", false},
        {LO_LLM_ERR_PROVIDER, "provider", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_string_equal(lo_llm_error_kind_name(cases[i].kind), cases[i].name);
        if (lo_llm_error_kind_retryable(cases[i].kind) != cases[i].retryable)
            fail_msg("%s retryable should be %d", cases[i].name, cases[i].retryable);
    }
}

static void test_error_grpc_and_fill(void **state)
{
    (void)state;
    assert_int_equal(lo_llm_error_from_grpc("NOT_FOUND", NULL), LO_LLM_ERR_NOT_FOUND);
    assert_int_equal(lo_llm_error_from_grpc("INVALID_ARGUMENT", NULL), LO_LLM_ERR_INVALID_REQUEST);
    assert_int_equal(lo_llm_error_from_grpc("UNAUTHENTICATED", NULL), LO_LLM_ERR_AUTHENTICATION);
    assert_int_equal(lo_llm_error_from_grpc("PERMISSION_DENIED", NULL), LO_LLM_ERR_ACCESS_DENIED);
    assert_int_equal(lo_llm_error_from_grpc("RESOURCE_EXHAUSTED", NULL), LO_LLM_ERR_RATE_LIMIT);
    assert_int_equal(lo_llm_error_from_grpc("UNAVAILABLE", NULL), LO_LLM_ERR_SERVER);
    assert_int_equal(lo_llm_error_from_grpc("DEADLINE_EXCEEDED", NULL),
                     LO_LLM_ERR_REQUEST_TIMEOUT);
    assert_int_equal(lo_llm_error_from_grpc("INTERNAL", NULL), LO_LLM_ERR_SERVER);
    assert_int_equal(lo_llm_error_from_grpc("INVALID_ARGUMENT",
                                            "input exceeds the maximum number of tokens"),
                     LO_LLM_ERR_CONTEXT_LENGTH);
    assert_int_equal(lo_llm_error_from_grpc("WHATEVER", NULL), LO_LLM_ERR_PROVIDER);

    lo_llm_error e;
    lo_llm_error_from_http(&e, "openai", 400, "context_length_exceeded", "Too long.");
    assert_int_equal(e.kind, LO_LLM_ERR_CONTEXT_LENGTH); /* from the code */
    assert_false(e.retryable);
    assert_int_equal(e.status, 400);
    assert_string_equal(e.provider, "openai");
    assert_string_equal(e.code, "context_length_exceeded");
    assert_string_equal(e.message, "Too long.");
    assert_true(e.retry_after < 0);

    lo_llm_error_from_http(&e, "anthropic", 529, "overloaded_error", "Overloaded");
    assert_int_equal(e.kind, LO_LLM_ERR_SERVER);
    assert_true(e.retryable);

    lo_llm_error_set(&e, LO_LLM_ERR_NETWORK, NULL, "connect to %s: refused", "api.example");
    assert_int_equal(e.kind, LO_LLM_ERR_NETWORK);
    assert_true(e.retryable);
    assert_string_equal(e.message, "connect to api.example: refused");
    assert_string_equal(e.provider, "");
}

/* ---- messages ---- */

static void test_text_message_and_free(void **state)
{
    (void)state;
    static const lo_llm_role roles[] = {LO_ROLE_SYSTEM, LO_ROLE_USER, LO_ROLE_ASSISTANT,
                                        LO_ROLE_TOOL, LO_ROLE_DEVELOPER};
    static const char *const names[] = {"system", "user", "assistant", "tool", "developer"};
    for (size_t i = 0; i < 5; i++) {
        lo_llm_message *m = lo_llm_text_message(roles[i], "hello");
        assert_non_null(m);
        assert_int_equal(m->role, roles[i]);
        assert_int_equal(m->n_parts, 1);
        assert_int_equal(m->parts[0].kind, LO_CONTENT_TEXT);
        assert_string_equal(m->parts[0].text, "hello");
        assert_string_equal(lo_llm_role_name(roles[i]), names[i]);
        lo_llm_role r;
        assert_int_equal(lo_llm_role_parse(names[i], &r), 0);
        assert_int_equal(r, roles[i]);
        lo_llm_message_free(m);
    }
    lo_llm_role r;
    assert_int_equal(lo_llm_role_parse("robot", &r), LO_EINVAL);
    lo_llm_message_free(NULL);
}

static void test_message_parts_text_and_clone(void **state)
{
    (void)state;
    lo_llm_message *m = lo_llm_message_new(LO_ROLE_USER);
    assert_non_null(m);
    char *t = lo_llm_message_text(m);
    assert_string_equal(t, ""); /* no text parts: empty, not NULL */
    free(t);

    assert_int_equal(lo_llm_message_add_text(m, "look at "), 0);
    lo_llm_media img = {.url = "https://example.com/a.png", .detail = "high"};
    assert_int_equal(lo_llm_message_add_media(m, LO_CONTENT_IMAGE, &img), 0);
    lo_llm_media pdf = {.path = "./spec.pdf", .media_type = "application/pdf",
                        .file_name = "spec.pdf"};
    assert_int_equal(lo_llm_message_add_media(m, LO_CONTENT_DOCUMENT, &pdf), 0);
    lo_llm_media wav = {.data = "UklGRg==", .media_type = "audio/wav"};
    assert_int_equal(lo_llm_message_add_media(m, LO_CONTENT_AUDIO, &wav), 0);
    assert_int_equal(lo_llm_message_add_text(m, "this"), 0);
    assert_int_equal(lo_llm_message_set_name(m, "alice"), 0);

    /* a media part needs exactly one source, and a media kind */
    lo_llm_media none = {.media_type = "image/png"};
    lo_llm_media two = {.url = "https://x", .data = "AA=="};
    assert_int_equal(lo_llm_message_add_media(m, LO_CONTENT_IMAGE, &none), LO_EINVAL);
    assert_int_equal(lo_llm_message_add_media(m, LO_CONTENT_IMAGE, &two), LO_EINVAL);
    assert_int_equal(lo_llm_message_add_media(m, LO_CONTENT_TEXT, &img), LO_EINVAL);
    assert_int_equal(lo_llm_message_add_text(m, NULL), LO_EINVAL);
    assert_int_equal(m->n_parts, 5);

    t = lo_llm_message_text(m);
    assert_string_equal(t, "look at this");
    free(t);

    /* the clone is deep: freeing the original leaves it intact */
    lo_llm_message *c = lo_llm_message_clone(m);
    assert_non_null(c);
    assert_ptr_not_equal(c->parts[1].media.url, m->parts[1].media.url);
    lo_llm_message_free(m);
    assert_int_equal(c->n_parts, 5);
    assert_string_equal(c->name, "alice");
    assert_int_equal(c->parts[1].kind, LO_CONTENT_IMAGE);
    assert_string_equal(c->parts[1].media.url, "https://example.com/a.png");
    assert_string_equal(c->parts[1].media.detail, "high");
    assert_string_equal(c->parts[2].media.path, "./spec.pdf");
    assert_string_equal(c->parts[2].media.file_name, "spec.pdf");
    assert_string_equal(c->parts[3].media.data, "UklGRg==");
    assert_string_equal(lo_llm_content_kind_name(c->parts[3].kind), "audio");
    lo_llm_message_free(c);
}

static void test_tool_call_and_result_parts(void **state)
{
    (void)state;
    lo_llm_message *m = lo_llm_message_new(LO_ROLE_ASSISTANT);
    /* raw arguments that parse fill the object too */
    assert_int_equal(lo_llm_message_add_tool_call(m, "call_1", "get_weather", NULL,
                                                  "{\"location\":\"Paris\"}"), 0);
    /* an object without raw text */
    assert_int_equal(lo_llm_message_add_tool_call(m, "call_2", "ls",
                                                  json_pack("{s:s}", "path", "."), NULL), 0);
    /* raw text that is not an object is kept, arguments stay NULL */
    assert_int_equal(lo_llm_message_add_tool_call(m, "call_3", "broken", NULL, "{\"a\":"), 0);
    /* arguments must be an object; the reference is consumed either way */
    assert_int_equal(lo_llm_message_add_tool_call(m, "call_4", "x", json_string("no"), NULL),
                     LO_EINVAL);
    assert_int_equal(lo_llm_message_add_tool_call(m, "call_5", "x", NULL, NULL), LO_EINVAL);
    assert_int_equal(lo_llm_message_add_thinking(m, "Let me think. ", "sig-abc"), 0);
    assert_int_equal(lo_llm_message_add_redacted_thinking(m, "opaque=="), 0);
    assert_int_equal(lo_llm_message_add_thinking(m, "Done.", NULL), 0);
    assert_int_equal(lo_llm_message_add_text(m, "It is sunny."), 0);

    const lo_llm_tool_call *tc = &m->parts[0].tool_call;
    assert_string_equal(tc->id, "call_1");
    assert_string_equal(tc->raw_arguments, "{\"location\":\"Paris\"}");
    assert_string_equal(json_string_value(json_object_get(tc->arguments, "location")), "Paris");
    assert_null(m->parts[1].tool_call.raw_arguments);
    assert_null(m->parts[2].tool_call.arguments);
    assert_string_equal(m->parts[2].tool_call.raw_arguments, "{\"a\":");
    assert_string_equal(m->parts[3].thinking.signature, "sig-abc");
    assert_string_equal(m->parts[4].redacted.data, "opaque==");

    /* a response carrying the message: text, reasoning, tool calls */
    lo_llm_response *r = lo_llm_response_new();
    assert_non_null(r);
    assert_int_equal(r->usage.input_tokens, LO_TOKENS_UNREPORTED);
    assert_int_equal(r->rate_limit.tokens_remaining, -1);
    char *none = lo_llm_response_reasoning(r);
    assert_null(none); /* no thinking parts */
    lo_llm_message_free(r->message);
    r->message = m;
    char *text = lo_llm_response_text(r);
    assert_string_equal(text, "It is sunny.");
    free(text);
    char *reasoning = lo_llm_response_reasoning(r);
    assert_string_equal(reasoning, "Let me think. Done.");
    free(reasoning);
    size_t n;
    const lo_llm_tool_call **calls = lo_llm_response_tool_calls(r, &n);
    assert_int_equal(n, 3);
    assert_string_equal(calls[0]->name, "get_weather");
    assert_string_equal(calls[1]->name, "ls");
    assert_string_equal(calls[2]->name, "broken");
    free(calls);
    assert_int_equal(lo_llm_response_add_warning(r, "temperature ignored", "unsupported"), 0);
    assert_int_equal(lo_llm_response_add_warning(r, "second", NULL), 0);
    assert_int_equal(r->n_warnings, 2);
    assert_null(r->warnings[1].code);
    r->finish.reason = lo_llm_finish_from_provider("anthropic", "tool_use");
    r->finish.raw = strdup("tool_use");
    r->raw = json_pack("{s:s}", "id", "msg_1");
    lo_llm_response_free(r);

    lo_llm_response *empty = lo_llm_response_new();
    calls = lo_llm_response_tool_calls(empty, &n);
    assert_null(calls);
    assert_int_equal(n, 0);
    lo_llm_response_free(empty);
    lo_llm_response_free(NULL);

    /* tool results: text convenience and structured content */
    lo_llm_message *tr = lo_llm_tool_result_message("call_1", "72F and sunny", false);
    assert_non_null(tr);
    assert_int_equal(tr->role, LO_ROLE_TOOL);
    assert_string_equal(tr->tool_call_id, "call_1");
    assert_int_equal(tr->parts[0].kind, LO_CONTENT_TOOL_RESULT);
    assert_string_equal(json_string_value(tr->parts[0].tool_result.content), "72F and sunny");
    assert_false(tr->parts[0].tool_result.is_error);
    assert_int_equal(lo_llm_message_add_tool_result(tr, "call_2",
                                                    json_pack("{s:i}", "exit", 1), true), 0);
    assert_true(tr->parts[1].tool_result.is_error);
    assert_int_equal(lo_llm_message_add_tool_result(tr, "call_3", json_integer(3), false),
                     LO_EINVAL);
    lo_llm_message *trc = lo_llm_message_clone(tr);
    assert_int_equal(json_integer_value(json_object_get(trc->parts[1].tool_result.content,
                                                        "exit")), 1);
    lo_llm_message_free(tr);
    lo_llm_message_free(trc);
    assert_null(lo_llm_tool_result_message(NULL, "x", false));
}

static void test_finish_reason_mapping(void **state)
{
    (void)state;
    assert_int_equal(lo_llm_finish_from_provider("openai", "stop"), LO_FINISH_STOP);
    assert_int_equal(lo_llm_finish_from_provider("openai", "length"), LO_FINISH_LENGTH);
    assert_int_equal(lo_llm_finish_from_provider("openai", "tool_calls"), LO_FINISH_TOOL_CALLS);
    assert_int_equal(lo_llm_finish_from_provider("openai", "content_filter"),
                     LO_FINISH_CONTENT_FILTER);
    assert_int_equal(lo_llm_finish_from_provider("anthropic", "end_turn"), LO_FINISH_STOP);
    assert_int_equal(lo_llm_finish_from_provider("anthropic", "stop_sequence"), LO_FINISH_STOP);
    assert_int_equal(lo_llm_finish_from_provider("anthropic", "max_tokens"), LO_FINISH_LENGTH);
    assert_int_equal(lo_llm_finish_from_provider("anthropic", "tool_use"),
                     LO_FINISH_TOOL_CALLS);
    assert_int_equal(lo_llm_finish_from_provider("gemini", "STOP"), LO_FINISH_STOP);
    assert_int_equal(lo_llm_finish_from_provider("gemini", "MAX_TOKENS"), LO_FINISH_LENGTH);
    assert_int_equal(lo_llm_finish_from_provider("gemini", "SAFETY"), LO_FINISH_CONTENT_FILTER);
    assert_int_equal(lo_llm_finish_from_provider("gemini", "RECITATION"),
                     LO_FINISH_CONTENT_FILTER);
    assert_int_equal(lo_llm_finish_from_provider(NULL, "end_turn"), LO_FINISH_STOP);
    assert_int_equal(lo_llm_finish_from_provider("gemini", "end_turn"), LO_FINISH_OTHER);
    assert_int_equal(lo_llm_finish_from_provider("openai", "weird"), LO_FINISH_OTHER);
    assert_int_equal(lo_llm_finish_from_provider("openai", NULL), LO_FINISH_OTHER);
    assert_string_equal(lo_llm_finish_name(LO_FINISH_TOOL_CALLS), "tool_calls");
    assert_string_equal(lo_llm_finish_name(LO_FINISH_CONTENT_FILTER), "content_filter");
}

static void test_request_build_and_free(void **state)
{
    (void)state;
    assert_null(lo_llm_request_new(NULL));
    lo_llm_request *r = lo_llm_request_new("claude-opus-5-5");
    assert_non_null(r);
    assert_false(r->has_temperature);
    assert_false(r->has_max_tokens);
    assert_int_equal(r->response_format.type, LO_FORMAT_TEXT);
    assert_int_equal(lo_llm_request_add_message(r, lo_llm_text_message(LO_ROLE_SYSTEM, "Be brief.")),
                     0);
    for (int i = 0; i < 20; i++) /* grows past the first allocation */
        assert_int_equal(lo_llm_request_add_message(r, lo_llm_text_message(LO_ROLE_USER, "hi")),
                         0);
    assert_int_equal(r->n_messages, 21);
    assert_int_equal(lo_llm_request_add_message(r, NULL), LO_EINVAL);

    lo_error err = {0};
    json_t *schema = json_pack("{s:s, s:{s:{s:s}}, s:[s]}", "type", "object", "properties",
                               "location", "type", "string", "required", "location");
    assert_int_equal(lo_llm_request_add_tool(r, "get_weather", "Weather for a city", schema, &err),
                     0);
    assert_int_equal(lo_llm_request_add_tool(r, "noop", NULL, NULL, &err), 0); /* empty schema */
    assert_string_equal(json_string_value(json_object_get(r->tools[1].parameters, "type")),
                        "object");
    assert_int_equal(lo_llm_request_add_tool(r, "get_weather", "again", NULL, &err), LO_EINVAL);
    expect_msg(&err, "twice");
    assert_int_equal(lo_llm_request_add_tool(r, "9lives", "", NULL, &err), LO_EINVAL);
    expect_msg(&err, "9lives");
    assert_int_equal(lo_llm_request_add_tool(r, "arr", "", json_pack("[]"), &err), LO_EINVAL);
    expect_msg(&err, "\"type\": \"object\"");
    assert_int_equal(lo_llm_request_add_tool(r, "str", "", json_pack("{s:s}", "type", "string"),
                                             &err), LO_EINVAL);
    assert_int_equal(r->n_tools, 2);

    assert_int_equal(lo_llm_request_set_tool_choice(r, LO_TOOL_CHOICE_NAMED, NULL), LO_EINVAL);
    assert_int_equal(lo_llm_request_set_tool_choice(r, LO_TOOL_CHOICE_AUTO, "x"), LO_EINVAL);
    assert_int_equal(lo_llm_request_set_tool_choice(r, LO_TOOL_CHOICE_NAMED, "get_weather"), 0);
    assert_int_equal(lo_llm_request_set_tool_choice(r, LO_TOOL_CHOICE_REQUIRED, NULL), 0);
    assert_true(r->has_tool_choice);
    assert_int_equal(r->tool_choice.mode, LO_TOOL_CHOICE_REQUIRED);
    assert_null(r->tool_choice.tool_name);

    assert_int_equal(lo_llm_request_set_response_format(r, LO_FORMAT_JSON_SCHEMA, NULL, true),
                     LO_EINVAL);
    assert_int_equal(lo_llm_request_set_response_format(
                         r, LO_FORMAT_JSON_SCHEMA, json_pack("{s:s}", "type", "object"), true),
                     0);
    assert_true(r->response_format.strict);
    assert_int_equal(lo_llm_request_set_response_format(r, LO_FORMAT_JSON, json_object(), false),
                     0);
    assert_null(r->response_format.schema); /* only json_schema keeps one */
    assert_int_equal(lo_llm_request_add_stop(r, "\n\nHuman:"), 0);
    assert_int_equal(lo_llm_request_add_stop(r, "END"), 0);
    assert_int_equal(lo_llm_request_add_stop(r, ""), LO_EINVAL);
    assert_int_equal(r->n_stop, 2);
    r->has_temperature = true;
    r->temperature = 0.0; /* a set zero is a value */
    r->reasoning_effort = strdup("high");
    r->metadata = json_pack("{s:s}", "run", "r1");
    r->provider_options = json_pack("{s:{s:b}}", "anthropic", "auto_cache", 0);
    lo_llm_request_free(r);
    lo_llm_request_free(NULL);
}

static void test_tool_name_rules(void **state)
{
    (void)state;
    assert_true(lo_llm_tool_name_valid("a"));
    assert_true(lo_llm_tool_name_valid("read_file2"));
    assert_false(lo_llm_tool_name_valid(""));
    assert_false(lo_llm_tool_name_valid(NULL));
    assert_false(lo_llm_tool_name_valid("_x"));
    assert_false(lo_llm_tool_name_valid("read-file"));
    assert_false(lo_llm_tool_name_valid("read file"));
    char name[80];
    memset(name, 'a', 64);
    name[64] = '\0';
    assert_true(lo_llm_tool_name_valid(name));
    name[64] = 'a';
    name[65] = '\0';
    assert_false(lo_llm_tool_name_valid(name));
}

static void test_stream_event_owns_its_parts(void **state)
{
    (void)state;
    assert_string_equal(lo_llm_stream_event_name(LO_STREAM_START), "stream_start");
    assert_string_equal(lo_llm_stream_event_name(LO_STREAM_TOOL_CALL_DELTA), "tool_call_delta");
    assert_string_equal(lo_llm_stream_event_name(LO_STREAM_PROVIDER_EVENT), "provider_event");
    lo_llm_stream_event *e = lo_llm_stream_event_new(LO_STREAM_FINISH);
    assert_non_null(e);
    assert_int_equal(e->usage.output_tokens, LO_TOKENS_UNREPORTED);
    e->delta = strdup("x");
    e->text_id = strdup("t0");
    e->reasoning_delta = strdup("hmm");
    e->tool_call = calloc(1, sizeof *e->tool_call);
    e->tool_call->id = strdup("call_9");
    e->tool_call->arguments = json_object();
    e->has_finish = true;
    e->finish_reason.reason = LO_FINISH_STOP;
    e->finish_reason.raw = strdup("end_turn");
    e->response = lo_llm_response_new();
    e->error = calloc(1, sizeof *e->error);
    lo_llm_error_set(e->error, LO_LLM_ERR_STREAM, "openai", "cut");
    e->raw = json_pack("{s:s}", "type", "message_stop");
    lo_llm_stream_event_free(e); /* ASan reports anything left behind */
    lo_llm_stream_event_free(NULL);
}

/* Every allocation failure on the construction paths is reported, and leaves
 * nothing behind (run under ASan to see leaks). */
static void test_alloc_failures_do_not_leak(void **state)
{
    (void)state;
    for (long n = 1; n < 200; n++) {
        lo_alloc_fail_after(n);
        lo_llm_message *m = lo_llm_text_message(LO_ROLE_USER, "hi");
        lo_llm_media img = {.url = "https://x/y.png"};
        if (m) {
            lo_llm_message_add_media(m, LO_CONTENT_IMAGE, &img);
            lo_llm_message_add_tool_call(m, "c1", "f", NULL, "{}");
            lo_llm_message_add_thinking(m, "t", "s");
            lo_llm_message_add_tool_result(m, "c1", json_string("ok"), false);
        }
        lo_llm_message *c = lo_llm_message_clone(m);
        lo_llm_request *r = lo_llm_request_new("m");
        if (r) {
            lo_llm_request_add_message(r, m);
            m = NULL;
            lo_llm_request_add_tool(r, "t", "d", NULL, NULL);
            lo_llm_request_add_stop(r, "s");
            lo_llm_request_set_tool_choice(r, LO_TOOL_CHOICE_NAMED, "t");
        }
        lo_llm_response *resp = lo_llm_response_new();
        if (resp)
            lo_llm_response_add_warning(resp, "w", "c");
        lo_alloc_fail_after(0);
        lo_llm_message_free(m);
        lo_llm_message_free(c);
        lo_llm_request_free(r);
        lo_llm_response_free(resp);
    }
}

/* ---- catalog ---- */

/* The catalog shipped in data/, found from LO_TESTDATA (tests/data). */
static const char *shipped_catalog(void)
{
    static char path[4096];
    const char *root = getenv("LO_TESTDATA");
    snprintf(path, sizeof path, "%s/../../data/models.json", root ? root : "tests/data");
    return path;
}

static lo_llm_catalog *load_shipped(void)
{
    lo_error err = {0};
    lo_llm_catalog *cat = NULL;
    int rc = lo_llm_catalog_load(shipped_catalog(), &cat, &err);
    if (rc)
        fail_msg("data/models.json does not load: %s", err.msg);
    return cat;
}

static void test_shipped_catalog_loads(void **state)
{
    (void)state;
    lo_llm_catalog *cat = load_shipped();
    assert_true(lo_llm_catalog_count(cat) >= 30);
    assert_string_equal(lo_llm_catalog_updated(cat), "2026-11-25");
    /* every model the unified-llm-spec names is in it */
    static const char *const spec_models[] = {
        "claude-opus-4-6", "claude-sonnet-4-5", "gpt-5.2", "gpt-5.2-mini", "gpt-5.2-codex",
        "gemini-3.1-pro-preview", "gemini-3-flash-preview"};
    for (size_t i = 0; i < sizeof spec_models / sizeof *spec_models; i++)
        if (!lo_llm_model_find(cat, spec_models[i]))
            fail_msg("catalog lacks %s", spec_models[i]);
    /* every entry is complete and sane */
    size_t per_provider = 0;
    static const char *const providers[] = {"anthropic", "openai", "gemini"};
    for (size_t p = 0; p < 3; p++) {
        size_t n;
        const lo_llm_model **v = lo_llm_model_list(cat, providers[p], &n);
        if (n < 5)
            fail_msg("only %zu %s models", n, providers[p]);
        per_provider += n;
        free(v);
    }
    assert_int_equal(per_provider, lo_llm_catalog_count(cat));
    for (size_t i = 0; i < lo_llm_catalog_count(cat); i++) {
        const lo_llm_model *m = lo_llm_catalog_at(cat, i);
        assert_non_null(m->id);
        assert_non_null(m->display_name);
        assert_true(m->context_window >= 100000);
        assert_true(m->max_output == -1 || m->max_output <= m->context_window);
        assert_true(m->n_prices >= 1);
        assert_ptr_equal(lo_llm_model_find(cat, m->id), m);
        for (size_t a = 0; a < m->n_aliases; a++)
            assert_ptr_equal(lo_llm_model_find(cat, m->aliases[a]), m);
    }
    assert_null(lo_llm_catalog_at(cat, lo_llm_catalog_count(cat)));
    lo_llm_catalog_free(cat);
}

static void test_shipped_lookup_and_latest(void **state)
{
    (void)state;
    lo_llm_catalog *cat = load_shipped();
    const lo_llm_model *m = lo_llm_model_find(cat, "claude-opus-4-6");
    assert_non_null(m);
    assert_string_equal(m->provider, "anthropic");
    assert_string_equal(m->display_name, "Claude Opus 4.6");
    assert_true(m->supports_tools && m->supports_vision && m->supports_reasoning);
    /* by alias: a dated snapshot id, and a shorthand */
    const lo_llm_model *s = lo_llm_model_find(cat, "claude-sonnet-4-5-20250929");
    assert_non_null(s);
    assert_string_equal(s->id, "claude-sonnet-4-5");
    assert_non_null(lo_llm_model_find(cat, "sonnet"));
    assert_null(lo_llm_model_find(cat, "gpt-99"));
    assert_null(lo_llm_model_find(cat, "CLAUDE-OPUS-4-6")); /* ids are case-sensitive */

    /* latest = the provider's first entry in file order, which must be no
     * older than claude-opus-4-6 (released 2026-02-05) */
    static const char *const providers[] = {"anthropic", "openai", "gemini"};
    for (size_t p = 0; p < 3; p++) {
        const lo_llm_model *latest = lo_llm_model_latest(cat, providers[p], NULL);
        size_t n;
        const lo_llm_model **v = lo_llm_model_list(cat, providers[p], &n);
        assert_ptr_equal(latest, v[0]);
        free(v);
    }
    const lo_llm_model *a = lo_llm_model_latest(cat, "anthropic", NULL);
    assert_non_null(a->released);
    if (strcmp(a->released, lo_llm_model_find(cat, "claude-opus-4-6")->released) < 0)
        fail_msg("latest anthropic model %s is older than claude-opus-4-6", a->id);
    assert_ptr_equal(lo_llm_model_latest(cat, "anthropic", "reasoning"), a);
    assert_non_null(lo_llm_model_latest(cat, "openai", "vision"));
    assert_non_null(lo_llm_model_latest(cat, "gemini", "tools"));
    assert_null(lo_llm_model_latest(cat, "anthropic", "telepathy"));
    assert_null(lo_llm_model_latest(cat, "nobody", NULL));
    /* gpt-4.1 is the one OpenAI model without reasoning */
    assert_false(lo_llm_model_find(cat, "gpt-4.1")->supports_reasoning);

    /* a published price: Claude Opus 4.6 at $5 / $25, cache $0.50 / $6.25 */
    lo_llm_usage u = usage(1000000, 1000000, -1, -1, 1000000, 1000000);
    double usd = 0;
    assert_int_equal(lo_llm_cost(m, &u, &usd), 0);
    assert_true(fabs(usd - 36.75) < 1e-9);
    /* a model whose prices the file leaves null: unknown cost */
    assert_int_equal(lo_llm_cost(lo_llm_model_find(cat, "gpt-5.2-mini"), &u, &usd), LO_ENOENT);
    lo_llm_catalog_free(cat);
}

static void test_catalog_find_path(void **state)
{
    (void)state;
    char buf[4096];
    lo_error err = {0};
    char *saved = getenv("LIGHTSOUT_MODELS") ? strdup(getenv("LIGHTSOUT_MODELS")) : NULL;
    setenv("LIGHTSOUT_MODELS", shipped_catalog(), 1);
    assert_int_equal(lo_llm_catalog_find(buf, sizeof buf, &err), 0);
    assert_string_equal(buf, shipped_catalog());
    lo_llm_catalog *cat = NULL;
    assert_int_equal(lo_llm_catalog_load(NULL, &cat, &err), 0); /* through the env var */
    assert_string_equal(lo_llm_catalog_path(cat), shipped_catalog());
    lo_llm_catalog_free(cat);
    /* an explicit file that is missing is an error, not a fallback */
    setenv("LIGHTSOUT_MODELS", "/nonexistent/models.json", 1);
    assert_int_equal(lo_llm_catalog_find(buf, sizeof buf, &err), LO_ENOENT);
    expect_msg(&err, "/nonexistent/models.json");
    expect_msg(&err, "LIGHTSOUT_MODELS");
    assert_int_equal(lo_llm_catalog_load("/nonexistent/x.json", &cat, &err), LO_ENOENT);
    assert_null(cat);
    expect_msg(&err, "/nonexistent/x.json");
    if (saved)
        setenv("LIGHTSOUT_MODELS", saved, 1);
    else
        unsetenv("LIGHTSOUT_MODELS");
    free(saved);
}

/* A synthetic catalog with round prices, written to /tmp. */
static const char synthetic[] =
    "{\"updated\": \"2026-11-25\", \"models\": [\n"
    " {\"id\": \"m-flat\", \"provider\": \"acme\", \"display_name\": \"Flat\",\n"
    "  \"aliases\": [\"flat\"], \"context_window\": 100000, \"max_output\": 8000,\n"
    "  \"supports_tools\": true, \"supports_vision\": false, \"supports_reasoning\": false,\n"
    "  \"prices\": {\"input\": 2, \"output\": 8, \"cache_read\": 0.25, \"cache_write\": 2.5}},\n"
    " {\"id\": \"m-tiered\", \"provider\": \"acme\", \"display_name\": \"Tiered\",\n"
    "  \"context_window\": 1000000, \"max_output\": null,\n"
    "  \"supports_tools\": true, \"supports_vision\": true, \"supports_reasoning\": true,\n"
    "  \"prices\": {\"input\": 1, \"output\": 4, \"cache_read\": 0.5, \"cache_write\": null,\n"
    "             \"long_context\": {\"above_prompt_tokens\": 1000, \"input\": 2, \"output\": 6,\n"
    "                              \"cache_read\": 1, \"cache_write\": null}},\n"
    "  \"price_changes\": [\n"
    "    {\"from\": \"2026-12-01\", \"input\": 4, \"output\": 16, \"cache_read\": null,\n"
    "     \"cache_write\": null}]},\n"
    " {\"id\": \"m-unknown\", \"provider\": \"other\", \"display_name\": \"Unknown prices\",\n"
    "  \"context_window\": 5000, \"supports_tools\": false, \"supports_vision\": false,\n"
    "  \"supports_reasoning\": false,\n"
    "  \"prices\": {\"input\": null, \"output\": null, \"cache_read\": null, \"cache_write\": null}}\n"
    "]}\n";

static lo_llm_catalog *load_synthetic(void)
{
    char path[64];
    write_tmp(path, sizeof path, synthetic);
    lo_error err = {0};
    lo_llm_catalog *cat = NULL;
    int rc = lo_llm_catalog_load(path, &cat, &err);
    unlink(path);
    if (rc)
        fail_msg("synthetic catalog: %s", err.msg);
    return cat;
}

/* 2026-11-25 12:00 UTC and the first and last seconds around 2026-12-01. */
#define T_NOW ((time_t)1795608000)
#define T_NOV30_LAST ((time_t)1796083199)
#define T_DEC01_FIRST ((time_t)1796083200)

static void test_cost_arithmetic(void **state)
{
    (void)state;
    lo_llm_catalog *cat = load_synthetic();
    const lo_llm_model *flat = lo_llm_model_find(cat, "flat");
    assert_non_null(flat);
    assert_string_equal(flat->id, "m-flat");
    assert_int_equal(flat->max_output, 8000);
    double usd = -1;

    /* 1M input * $2 + 500K output * $8 + 2M cache reads * $0.25 + 400K cache
     * writes * $2.50 = 2 + 4 + 0.5 + 1 = $7.50 (binary-exact prices) */
    lo_llm_usage u = usage(1000000, 500000, -1, 1000, 2000000, 400000);
    assert_int_equal(lo_llm_cost_at(flat, &u, T_NOW, &usd), 0);
    assert_true(usd == 7.5);
    /* unreported cache counts count as zero */
    u = usage(1000000, 500000, -1, -1, -1, -1);
    assert_int_equal(lo_llm_cost_at(flat, &u, T_NOW, &usd), 0);
    assert_true(usd == 6.0);
    /* small counts: 1234 in, 56 out = (1234*2 + 56*8) / 1e6 */
    u = usage(1234, 56, -1, -1, 0, 0);
    assert_int_equal(lo_llm_cost_at(flat, &u, T_NOW, &usd), 0);
    assert_true(fabs(usd - 0.002916) < 1e-15);
    /* lo_llm_cost uses the current date; this model has a single period */
    assert_int_equal(lo_llm_cost(flat, &u, &usd), 0);
    assert_true(fabs(usd - 0.002916) < 1e-15);

    /* input or output not reported: unknown, and *usd is left alone */
    usd = 42;
    u = usage(-1, 10, -1, -1, -1, -1);
    assert_int_equal(lo_llm_cost_at(flat, &u, T_NOW, &usd), LO_ENOENT);
    u = usage(10, -1, -1, -1, -1, -1);
    assert_int_equal(lo_llm_cost_at(flat, &u, T_NOW, &usd), LO_ENOENT);
    assert_true(usd == 42);
    lo_llm_catalog_free(cat);
}

static void test_cost_tiers_dates_and_nulls(void **state)
{
    (void)state;
    lo_llm_catalog *cat = load_synthetic();
    const lo_llm_model *t = lo_llm_model_find(cat, "m-tiered");
    assert_int_equal(t->max_output, -1);
    assert_int_equal(t->n_prices, 2);
    double usd = 0;

    /* prompt of exactly 1000 tokens (600 input + 400 cache reads): base tier */
    lo_llm_usage u = usage(600, 1000, -1, -1, 400, 0);
    assert_int_equal(lo_llm_cost_at(t, &u, T_NOW, &usd), 0);
    assert_true(fabs(usd - (600 * 1.0 + 1000 * 4.0 + 400 * 0.5) / 1e6) < 1e-15);
    /* one more cached token crosses the threshold: every token at the long tier */
    u.cache_read_tokens = 401;
    assert_int_equal(lo_llm_cost_at(t, &u, T_NOW, &usd), 0);
    assert_true(fabs(usd - (600 * 2.0 + 1000 * 6.0 + 401 * 1.0) / 1e6) < 1e-15);

    /* cache_write is null: fine with no writes (0 or unreported), unknown with some */
    u = usage(100, 100, -1, -1, 0, -1);
    assert_int_equal(lo_llm_cost_at(t, &u, T_NOW, &usd), 0);
    u.cache_write_tokens = 0;
    assert_int_equal(lo_llm_cost_at(t, &u, T_NOW, &usd), 0);
    u.cache_write_tokens = 5;
    assert_int_equal(lo_llm_cost_at(t, &u, T_NOW, &usd), LO_ENOENT);

    /* the price change takes effect on its UTC date */
    u = usage(1000, 100, -1, -1, 0, 0);
    assert_int_equal(lo_llm_cost_at(t, &u, T_NOV30_LAST, &usd), 0);
    assert_true(fabs(usd - (1000 * 1.0 + 100 * 4.0) / 1e6) < 1e-15);
    assert_int_equal(lo_llm_cost_at(t, &u, T_DEC01_FIRST, &usd), 0);
    assert_true(fabs(usd - (1000 * 4.0 + 100 * 16.0) / 1e6) < 1e-15);
    assert_string_equal(lo_llm_model_prices_at(t, T_DEC01_FIRST)->from, "2026-12-01");
    assert_string_equal(lo_llm_model_prices_at(t, T_NOV30_LAST)->from, "");
    /* the new period has no long tier and a null cache-read price */
    u = usage(5000, 10, -1, -1, 0, 0);
    assert_int_equal(lo_llm_cost_at(t, &u, T_DEC01_FIRST, &usd), 0);
    assert_true(fabs(usd - (5000 * 4.0 + 10 * 16.0) / 1e6) < 1e-15);
    u.cache_read_tokens = 1;
    assert_int_equal(lo_llm_cost_at(t, &u, T_DEC01_FIRST, &usd), LO_ENOENT);

    /* all prices null, and an unknown model: unknown cost */
    u = usage(1, 1, -1, -1, -1, -1);
    assert_int_equal(lo_llm_cost_at(lo_llm_model_find(cat, "m-unknown"), &u, T_NOW, &usd),
                     LO_ENOENT);
    assert_int_equal(lo_llm_cost(lo_llm_model_find(cat, "no-such-model"), &u, &usd), LO_ENOENT);
    /* zero tokens cost nothing even when prices are unknown */
    u = usage(0, 0, -1, -1, -1, -1);
    assert_int_equal(lo_llm_cost_at(lo_llm_model_find(cat, "m-unknown"), &u, T_NOW, &usd), 0);
    assert_true(usd == 0);

    size_t n;
    const lo_llm_model **v = lo_llm_model_list(cat, "acme", &n);
    assert_int_equal(n, 2);
    free(v);
    v = lo_llm_model_list(cat, "nobody", &n);
    assert_null(v);
    assert_int_equal(n, 0);
    assert_ptr_equal(lo_llm_model_latest(cat, "acme", "vision"), t);
    assert_ptr_equal(lo_llm_model_latest(cat, "acme", NULL), lo_llm_model_find(cat, "m-flat"));
    lo_llm_catalog_free(cat);
}

/* Load text as a catalog file; expect failure with code and every needle in
 * the message. */
static void expect_bad_catalog(const char *text, int code, const char *const *needles)
{
    char path[64];
    write_tmp(path, sizeof path, text);
    lo_error err = {0};
    lo_llm_catalog *cat = NULL;
    int rc = lo_llm_catalog_load(path, &cat, &err);
    unlink(path);
    if (rc != code)
        fail_msg("rc %d (want %d) for catalog: %.200s\nmessage: %s", rc, code, text, err.msg);
    assert_null(cat);
    expect_msg(&err, path); /* the message names the file */
    for (const char *const *n = needles; *n; n++)
        expect_msg(&err, *n);
}

#define ENTRY_OK                                                                               \
    "{\"id\": \"ok\", \"provider\": \"p\", \"display_name\": \"OK\", \"context_window\": 10, "  \
    "\"supports_tools\": true, \"supports_vision\": true, \"supports_reasoning\": true, "       \
    "\"prices\": {\"input\": 1, \"output\": 1, \"cache_read\": null, \"cache_write\": null}}"

static void test_malformed_catalogs(void **state)
{
    (void)state;
    /* truncated JSON: a parse error with a position */
    size_t half = sizeof synthetic / 2;
    char *truncated = strndup(synthetic, half);
    expect_bad_catalog(truncated, LO_EPARSE, (const char *const[]){"not valid JSON", NULL});
    free(truncated);
    expect_bad_catalog("", LO_EPARSE, (const char *const[]){"not valid JSON", NULL});

    /* an entry without an id: named by its index */
    expect_bad_catalog(
        "{\"models\": [" ENTRY_OK ", {\"provider\": \"p\", \"display_name\": \"x\"}]}",
        LO_EVALIDATE, (const char *const[]){"models[1]", "missing \"id\"", NULL});
    /* later problems name the entry's id */
    expect_bad_catalog(
        "{\"models\": [{\"id\": \"m1\", \"provider\": \"p\", \"display_name\": \"x\", "
        "\"context_window\": 10, \"supports_tools\": true, \"supports_vision\": true, "
        "\"supports_reasoning\": true, \"prices\": {\"input\": -1, \"output\": 1, "
        "\"cache_read\": null, \"cache_write\": null}}]}",
        LO_EVALIDATE, (const char *const[]){"models[0]", "\"m1\"", "prices.input", NULL});
    expect_bad_catalog(
        "{\"models\": [{\"id\": \"m1\", \"provider\": \"p\", \"display_name\": \"x\", "
        "\"context_window\": 10, \"supports_tools\": true, \"supports_vision\": true, "
        "\"supports_reasoning\": true, \"prices\": {\"input\": 1, \"output\": 1, "
        "\"cache_read\": null}}]}",
        LO_EVALIDATE, (const char *const[]){"\"m1\"", "missing \"cache_write\"", NULL});
    expect_bad_catalog(
        "{\"models\": [{\"id\": \"m1\", \"provider\": \"p\", \"display_name\": \"x\", "
        "\"context_window\": 10, \"supports_tools\": true, \"supports_vision\": true, "
        "\"supports_reasoning\": true, \"prices\": {\"input\": 1, \"output\": 1, "
        "\"cache_read\": null, \"cache_write\": null, \"cache_reads\": 1}}]}",
        LO_EVALIDATE, (const char *const[]){"unknown key \"cache_reads\"", NULL});
    expect_bad_catalog(
        "{\"models\": [{\"id\": \"m1\", \"provider\": \"p\", \"display_name\": \"x\", "
        "\"context_window\": \"big\", \"supports_tools\": true, \"supports_vision\": true, "
        "\"supports_reasoning\": true, \"prices\": {}}]}",
        LO_EVALIDATE, (const char *const[]){"\"m1\"", "context_window", NULL});
    expect_bad_catalog(
        "{\"models\": [{\"id\": \"m1\", \"provider\": \"p\", \"display_name\": \"x\", "
        "\"context_window\": 10, \"supports_tools\": \"yes\", \"supports_vision\": true, "
        "\"supports_reasoning\": true, \"prices\": {}}]}",
        LO_EVALIDATE, (const char *const[]){"supports_tools", NULL});
    /* two entries claiming one name */
    expect_bad_catalog("{\"models\": [" ENTRY_OK ", {\"id\": \"two\", \"aliases\": [\"ok\"], "
                       "\"provider\": \"p\", \"display_name\": \"x\", \"context_window\": 10, "
                       "\"supports_tools\": true, \"supports_vision\": true, "
                       "\"supports_reasoning\": true, \"prices\": {\"input\": 1, \"output\": 1, "
                       "\"cache_read\": null, \"cache_write\": null}}]}",
                       LO_EVALIDATE,
                       (const char *const[]){"models[1]", "alias \"ok\"", "\"ok\"", NULL});
    /* price changes out of order */
    expect_bad_catalog(
        "{\"models\": [{\"id\": \"m1\", \"provider\": \"p\", \"display_name\": \"x\", "
        "\"context_window\": 10, \"supports_tools\": true, \"supports_vision\": true, "
        "\"supports_reasoning\": true, \"prices\": {\"input\": 1, \"output\": 1, "
        "\"cache_read\": null, \"cache_write\": null}, \"price_changes\": ["
        "{\"from\": \"2027-01-01\", \"input\": 1, \"output\": 1, \"cache_read\": null, "
        "\"cache_write\": null}, {\"from\": \"2026-12-01\", \"input\": 1, \"output\": 1, "
        "\"cache_read\": null, \"cache_write\": null}]}]}",
        LO_EVALIDATE, (const char *const[]){"price_changes[1].from", NULL});
    /* the top level */
    expect_bad_catalog("{\"model\": []}", LO_EVALIDATE,
                       (const char *const[]){"unknown key \"model\"", NULL});
    expect_bad_catalog("{}", LO_EVALIDATE, (const char *const[]){"missing \"models\"", NULL});
    expect_bad_catalog("[]", LO_EVALIDATE, (const char *const[]){"top level", NULL});
    expect_bad_catalog("{\"updated\": \"yesterday\", \"models\": []}", LO_EVALIDATE,
                       (const char *const[]){"updated", NULL});
}

static void test_catalog_parse_alloc_failures(void **state)
{
    (void)state;
    for (long n = 1; n < 400; n++) {
        lo_alloc_fail_after(n);
        lo_llm_catalog *cat = NULL;
        lo_error err = {0};
        int rc = lo_llm_catalog_parse(synthetic, strlen(synthetic), "synthetic", &cat, &err);
        lo_alloc_fail_after(0);
        if (rc == 0) {
            assert_int_equal(lo_llm_catalog_count(cat), 3);
            lo_llm_catalog_free(cat);
            return; /* every earlier failure point was survived */
        }
        assert_int_equal(rc, LO_ENOMEM);
        assert_null(cat);
    }
    fail_msg("parse never succeeded within 400 allocations");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usage_init_is_unreported),
        cmocka_unit_test(test_usage_add_rules),
        cmocka_unit_test(test_error_status_mapping),
        cmocka_unit_test(test_error_message_classification),
        cmocka_unit_test(test_error_retryable_flags),
        cmocka_unit_test(test_error_grpc_and_fill),
        cmocka_unit_test(test_text_message_and_free),
        cmocka_unit_test(test_message_parts_text_and_clone),
        cmocka_unit_test(test_tool_call_and_result_parts),
        cmocka_unit_test(test_finish_reason_mapping),
        cmocka_unit_test(test_request_build_and_free),
        cmocka_unit_test(test_tool_name_rules),
        cmocka_unit_test(test_stream_event_owns_its_parts),
        cmocka_unit_test(test_alloc_failures_do_not_leak),
        cmocka_unit_test(test_shipped_catalog_loads),
        cmocka_unit_test(test_shipped_lookup_and_latest),
        cmocka_unit_test(test_catalog_find_path),
        cmocka_unit_test(test_cost_arithmetic),
        cmocka_unit_test(test_cost_tiers_dates_and_nulls),
        cmocka_unit_test(test_malformed_catalogs),
        cmocka_unit_test(test_catalog_parse_alloc_failures),
    };
    return cmocka_run_group_tests_name("llm_model", tests, NULL, NULL);
}
