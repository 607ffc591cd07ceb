/* Unit tests for the LLM client core (src/llm/client.c) and the Anthropic
 * Messages adapter (src/llm/anthropic.c), against the scripted server of
 * llm_testserver.h, whose replies are written below in the Messages API's
 * wire format. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "llm_testserver.h"

#define KEY "sk-ant-test-0123456789SECRET"
#define MODEL "claude-test-1"

/* ------------------------------------------------------------ the server */

static const char *const ROUTES[] = {"/v1/messages", NULL, NULL};
static const char *const RECORD[] = {"x-api-key", "anthropic-version", "anthropic-beta", "accept",
                                     NULL};
static const char *const REPLY_HEADERS[] = {
    "request-id", "req_test_42",
    "anthropic-ratelimit-requests-limit", "50",
    "anthropic-ratelimit-requests-remaining", "49",
    "anthropic-ratelimit-tokens-limit", "100000",
    "anthropic-ratelimit-tokens-remaining", "99000",
    "anthropic-ratelimit-requests-reset", "2030-01-01T00:00:30Z",
    NULL};

static int setup_server(void **state)
{
    (void)state;
    return ts_start(ROUTES, RECORD, REPLY_HEADERS, NULL);
}

static int teardown_server(void **state)
{
    (void)state;
    return ts_stop();
}

/* ------------------------------------------------------------ helpers */

static lo_llm_client *client(int max_retries, double base_delay)
{
    return ts_client("anthropic", KEY, max_retries, base_delay);
}

static lo_llm_request *simple_request(const char *text)
{
    return simple_request_for(MODEL, text);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char TEXT_REPLY[] =
    "{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-test-1\","
    "\"content\":[{\"type\":\"text\",\"text\":\"Hello there.\"}],"
    "\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
    "\"usage\":{\"input_tokens\":10,\"output_tokens\":20,"
    "\"cache_read_input_tokens\":30,\"cache_creation_input_tokens\":40}}";

/* ------------------------------------------------------------ request translation */

static void test_request_translation(void **state)
{
    (void)state;
    script(1, (reply[]){{200, TEXT_REPLY, NULL, false}});
    lo_llm_client *c = client(0, 0.01);
    lo_llm_request *r = lo_llm_request_new(MODEL);
    lo_llm_request_add_message(r, lo_llm_text_message(LO_ROLE_SYSTEM, "You are terse."));
    lo_llm_request_add_message(r, lo_llm_text_message(LO_ROLE_USER, "first"));
    lo_llm_request_add_message(r, lo_llm_text_message(LO_ROLE_DEVELOPER, "Use tools."));
    lo_llm_request_add_message(r, lo_llm_text_message(LO_ROLE_USER, "second"));
    lo_llm_message *a = lo_llm_message_new(LO_ROLE_ASSISTANT);
    lo_llm_message_add_text(a, "Looking.");
    lo_llm_message_add_tool_call(a, "toolu_1", "read_file", json_pack("{s:s}", "path", "a.c"),
                                 NULL);
    lo_llm_message_add_tool_call(a, "toolu_2", "read_file", NULL, "{\"path\":\"b.c\"}");
    lo_llm_request_add_message(r, a);
    lo_llm_request_add_message(r, lo_llm_tool_result_message("toolu_1", "int a;", false));
    lo_llm_request_add_message(r, lo_llm_tool_result_message("toolu_2", "no such file", true));
    lo_llm_request_add_message(r, lo_llm_text_message(LO_ROLE_USER, "now summarise"));
    lo_llm_message *img = lo_llm_message_new(LO_ROLE_USER);
    lo_llm_media m = {.data = "aGVsbG8=", .media_type = "image/jpeg"};
    lo_llm_message_add_media(img, LO_CONTENT_IMAGE, &m);
    lo_llm_media u = {.url = "https://example.com/x.png"};
    lo_llm_message_add_media(img, LO_CONTENT_IMAGE, &u);
    lo_llm_request_add_message(r, img);
    lo_error e;
    assert_int_equal(lo_llm_request_add_tool(r, "read_file", "Read a file",
                                             json_pack("{s:s,s:{s:{s:s}}}", "type", "object",
                                                       "properties", "path", "type", "string"),
                                             &e),
                     0);
    assert_int_equal(lo_llm_request_add_tool(r, "list_dir", "List", NULL, &e), 0);
    lo_llm_request_set_tool_choice(r, LO_TOOL_CHOICE_NAMED, "read_file");
    r->has_temperature = true;
    r->temperature = 0.5;
    lo_llm_request_add_stop(r, "END");

    lo_llm_response *resp = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), 0);
    json_t *j = sent();

    /* headers */
    pthread_mutex_lock(&S.mu);
    assert_string_equal(ts_header("x-api-key"), KEY);
    assert_string_equal(ts_header("anthropic-version"), "2023-06-01");
    assert_string_equal(ts_header("accept"), "application/json");
    assert_null(ts_header("anthropic-beta"));
    pthread_mutex_unlock(&S.mu);

    assert_string_equal(path_str(j, "model"), MODEL);
    assert_int_equal(json_integer_value(json_path(j, "max_tokens")), 4096);
    assert_true(json_real_value(json_path(j, "temperature")) == 0.5);
    assert_string_equal(path_str(j, "stop_sequences.0"), "END");
    assert_null(json_path(j, "stream"));
    /* system and developer messages -> top-level system, in order */
    assert_int_equal(json_array_size(json_path(j, "system")), 2);
    assert_string_equal(path_str(j, "system.0.text"), "You are terse.");
    assert_string_equal(path_str(j, "system.1.text"), "Use tools.");
    assert_null(json_path(j, "system.0.cache_control"));
    assert_string_equal(path_str(j, "system.1.cache_control.type"), "ephemeral");
    /* alternation: user(first, second) assistant(text, 2 tool_use)
     * user(2 tool_result, text, 2 images) */
    json_t *msgs = json_path(j, "messages");
    assert_int_equal(json_array_size(msgs), 3);
    assert_string_equal(path_str(j, "messages.0.role"), "user");
    assert_int_equal(json_array_size(json_path(j, "messages.0.content")), 2);
    assert_string_equal(path_str(j, "messages.0.content.1.text"), "second");
    assert_string_equal(path_str(j, "messages.1.role"), "assistant");
    assert_string_equal(path_str(j, "messages.1.content.1.type"), "tool_use");
    assert_string_equal(path_str(j, "messages.1.content.1.id"), "toolu_1");
    assert_string_equal(path_str(j, "messages.1.content.1.input.path"), "a.c");
    assert_string_equal(path_str(j, "messages.1.content.2.input.path"), "b.c");
    assert_string_equal(path_str(j, "messages.2.role"), "user");
    assert_int_equal(json_array_size(json_path(j, "messages.2.content")), 5);
    assert_string_equal(path_str(j, "messages.2.content.0.type"), "tool_result");
    assert_string_equal(path_str(j, "messages.2.content.0.tool_use_id"), "toolu_1");
    assert_string_equal(path_str(j, "messages.2.content.0.content"), "int a;");
    assert_null(json_path(j, "messages.2.content.0.is_error"));
    assert_true(json_is_true(json_path(j, "messages.2.content.1.is_error")));
    assert_string_equal(path_str(j, "messages.2.content.2.text"), "now summarise");
    assert_string_equal(path_str(j, "messages.2.content.3.source.type"), "base64");
    assert_string_equal(path_str(j, "messages.2.content.3.source.media_type"), "image/jpeg");
    assert_string_equal(path_str(j, "messages.2.content.3.source.data"), "aGVsbG8=");
    assert_string_equal(path_str(j, "messages.2.content.4.source.type"), "url");
    /* cache breakpoints: last block of the last user message, last tool */
    assert_string_equal(path_str(j, "messages.2.content.4.cache_control.type"), "ephemeral");
    assert_null(json_path(j, "messages.2.content.2.cache_control"));
    assert_null(json_path(j, "messages.0.content.1.cache_control"));
    assert_string_equal(path_str(j, "tools.1.cache_control.type"), "ephemeral");
    assert_null(json_path(j, "tools.0.cache_control"));
    assert_string_equal(path_str(j, "tools.0.input_schema.type"), "object");
    assert_string_equal(path_str(j, "tools.0.description"), "Read a file");
    assert_string_equal(path_str(j, "tools.1.input_schema.type"), "object");
    assert_string_equal(path_str(j, "tool_choice.type"), "tool");
    assert_string_equal(path_str(j, "tool_choice.name"), "read_file");

    json_decref(j);
    lo_llm_response_free(resp);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

static void test_tool_choice_modes(void **state)
{
    (void)state;
    script(1, (reply[]){{200, TEXT_REPLY, NULL, false}});
    lo_llm_client *c = client(0, 0.01);
    static const struct {
        lo_llm_tool_choice_mode mode;
        const char *want;
    } cases[] = {{LO_TOOL_CHOICE_AUTO, "auto"},
                 {LO_TOOL_CHOICE_REQUIRED, "any"},
                 {LO_TOOL_CHOICE_NONE, "none"}};
    for (size_t i = 0; i < 3; i++) {
        lo_llm_request *r = simple_request("hi");
        lo_error e;
        lo_llm_request_add_tool(r, "t", "", NULL, &e);
        lo_llm_request_set_tool_choice(r, cases[i].mode, NULL);
        lo_llm_response *resp = NULL;
        lo_llm_error err;
        assert_int_equal(lo_llm_complete(c, r, &resp, &err), 0);
        json_t *j = sent();
        assert_string_equal(path_str(j, "tool_choice.type"), cases[i].want);
        /* tools stay with "none": history may hold tool_use blocks */
        assert_int_equal(json_array_size(json_path(j, "tools")), 1);
        assert_null(json_path(j, "tools.0.description"));
        json_decref(j);
        lo_llm_response_free(resp);
        lo_llm_request_free(r);
    }
    lo_llm_client_free(c);
}

static void test_auto_cache_off_and_options(void **state)
{
    (void)state;
    script(1, (reply[]){{200, TEXT_REPLY, NULL, false}});
    lo_llm_client *c = client(0, 0.01);
    lo_llm_request *r = simple_request("hi");
    lo_llm_request_add_message(r, lo_llm_text_message(LO_ROLE_SYSTEM, "sys"));
    lo_error e;
    lo_llm_request_add_tool(r, "t", "a tool", NULL, &e);
    r->provider_options = json_pack("{s:{s:b,s:[s,s],s:i}}", "anthropic", "auto_cache", 0,
                                    "beta_headers", "interleaved-thinking-2025-05-14",
                                    "token-efficient-tools-2025-02-19", "top_k", 5);
    lo_llm_response *resp = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), 0);
    pthread_mutex_lock(&S.mu);
    assert_null(strstr(S.body, "cache_control"));
    assert_null(strstr(S.body, "auto_cache"));
    assert_null(strstr(S.body, "beta_headers"));
    assert_string_equal(ts_header("anthropic-beta"),
                        "interleaved-thinking-2025-05-14,token-efficient-tools-2025-02-19");
    pthread_mutex_unlock(&S.mu);
    json_t *j = sent();
    assert_int_equal(json_integer_value(json_path(j, "top_k")), 5);
    assert_string_equal(path_str(j, "system.0.text"), "sys");
    json_decref(j);
    lo_llm_response_free(resp);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

/* ------------------------------------------------------------ responses */

static void test_text_response_and_usage(void **state)
{
    (void)state;
    script(1, (reply[]){{200, TEXT_REPLY, NULL, false}});
    lo_llm_client *c = client(0, 0.01);
    lo_llm_request *r = simple_request("hi");
    lo_llm_response *resp = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), 0);
    char *text = lo_llm_response_text(resp);
    assert_string_equal(text, "Hello there.");
    free(text);
    assert_string_equal(resp->id, "msg_01");
    assert_string_equal(resp->model, "claude-test-1");
    assert_string_equal(resp->provider, "anthropic");
    assert_int_equal(resp->finish.reason, LO_FINISH_STOP);
    assert_string_equal(resp->finish.raw, "end_turn");
    assert_int_equal(resp->usage.input_tokens, 10);
    assert_int_equal(resp->usage.output_tokens, 20);
    assert_int_equal(resp->usage.cache_read_tokens, 30);
    assert_int_equal(resp->usage.cache_write_tokens, 40);
    assert_int_equal(resp->usage.total_tokens, 100);
    assert_int_equal(resp->usage.reasoning_tokens, LO_TOKENS_UNREPORTED);
    assert_true(resp->has_rate_limit);
    assert_int_equal(resp->rate_limit.requests_limit, 50);
    assert_int_equal(resp->rate_limit.requests_remaining, 49);
    assert_int_equal(resp->rate_limit.tokens_limit, 100000);
    assert_int_equal(resp->rate_limit.tokens_remaining, 99000);
    assert_int_equal(resp->rate_limit.reset_at_ms, (int64_t)1893456030 * 1000);
    assert_string_equal(json_string_value(json_object_get(resp->raw, "_request_id")),
                        "req_test_42");
    lo_llm_response_free(resp);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

static const char TOOL_REPLY[] =
    "{\"id\":\"msg_02\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-test-1\","
    "\"content\":[{\"type\":\"text\",\"text\":\"Let me look.\"},"
    "{\"type\":\"tool_use\",\"id\":\"toolu_9\",\"name\":\"grep\","
    "\"input\":{\"pattern\":\"main\",\"max\":3}},"
    "{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_1\",\"name\":\"web_search\",\"input\":{}}],"
    "\"stop_reason\":\"tool_use\",\"usage\":{\"input_tokens\":5,\"output_tokens\":7}}";

static void test_tool_use_response(void **state)
{
    (void)state;
    script(1, (reply[]){{200, TOOL_REPLY, NULL, false}});
    lo_llm_client *c = client(0, 0.01);
    lo_llm_request *r = simple_request("find main");
    lo_llm_response *resp = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), 0);
    assert_int_equal(resp->finish.reason, LO_FINISH_TOOL_CALLS);
    assert_string_equal(resp->finish.raw, "tool_use");
    size_t n;
    const lo_llm_tool_call **calls = lo_llm_response_tool_calls(resp, &n);
    assert_int_equal(n, 1);
    assert_string_equal(calls[0]->id, "toolu_9");
    assert_string_equal(calls[0]->name, "grep");
    assert_string_equal(json_string_value(json_object_get(calls[0]->arguments, "pattern")),
                        "main");
    free(calls);
    /* a block the data model does not know is kept verbatim */
    assert_int_equal(resp->message->n_parts, 3);
    assert_int_equal(resp->message->parts[2].kind, LO_CONTENT_OTHER);
    assert_string_equal(resp->message->parts[2].other.name, "server_tool_use");
    /* cache counts not reported: unreported, total of what was */
    assert_int_equal(resp->usage.cache_read_tokens, LO_TOKENS_UNREPORTED);
    assert_int_equal(resp->usage.total_tokens, 12);
    lo_llm_response_free(resp);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

static const char THINKING_REPLY[] =
    "{\"id\":\"msg_03\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-test-1\","
    "\"content\":[{\"type\":\"thinking\",\"thinking\":\"Two plus two.\","
    "\"signature\":\"EqQBCkYIARgCSkDsig+/==\"},"
    "{\"type\":\"redacted_thinking\",\"data\":\"opaque-blob\"},"
    "{\"type\":\"text\",\"text\":\"4\"}],"
    "\"stop_reason\":\"end_turn\",\"usage\":{\"input_tokens\":3,\"output_tokens\":9}}";

static void test_thinking_signature_round_trip(void **state)
{
    (void)state;
    script(2, (reply[]){{200, THINKING_REPLY, NULL, false}, {200, TEXT_REPLY, NULL, false}});
    lo_llm_client *c = client(0, 0.01);
    lo_llm_request *r = simple_request("2+2?");
    r->reasoning_effort = strdup("medium");
    lo_llm_response *resp = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), 0);
    json_t *j = sent();
    assert_string_equal(path_str(j, "thinking.type"), "enabled");
    assert_int_equal(json_integer_value(json_path(j, "thinking.budget_tokens")), 8192);
    assert_int_equal(json_integer_value(json_path(j, "max_tokens")), 8192 + 4096);
    json_decref(j);
    char *reasoning = lo_llm_response_reasoning(resp);
    assert_string_equal(reasoning, "Two plus two.");
    free(reasoning);
    assert_string_equal(resp->message->parts[0].thinking.signature, "EqQBCkYIARgCSkDsig+/==");

    /* Next turn: the assistant message goes back as received. */
    lo_llm_request_add_message(r, lo_llm_message_clone(resp->message));
    lo_llm_request_add_message(r, lo_llm_text_message(LO_ROLE_USER, "and 3+3?"));
    lo_llm_response_free(resp);
    resp = NULL;
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), 0);
    j = sent();
    assert_string_equal(path_str(j, "messages.1.role"), "assistant");
    assert_string_equal(path_str(j, "messages.1.content.0.type"), "thinking");
    assert_string_equal(path_str(j, "messages.1.content.0.thinking"), "Two plus two.");
    assert_string_equal(path_str(j, "messages.1.content.0.signature"), "EqQBCkYIARgCSkDsig+/==");
    assert_null(json_path(j, "messages.1.content.0.cache_control"));
    assert_string_equal(path_str(j, "messages.1.content.1.type"), "redacted_thinking");
    assert_string_equal(path_str(j, "messages.1.content.1.data"), "opaque-blob");
    assert_string_equal(path_str(j, "messages.1.content.2.text"), "4");
    json_decref(j);
    lo_llm_response_free(resp);

    /* An unknown effort is refused before anything is sent. */
    free(r->reasoning_effort);
    r->reasoning_effort = strdup("extreme");
    int before = requests();
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), LO_EIO);
    assert_int_equal(err.kind, LO_LLM_ERR_INVALID_REQUEST);
    assert_int_equal(requests(), before);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

/* ------------------------------------------------------------ streaming */

#define EV(name, json) "event: " name "\ndata: " json "\n\n"

static const char STREAM_OK[] =
    EV("message_start",
       "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_s1\",\"type\":\"message\","
       "\"role\":\"assistant\",\"model\":\"claude-test-1\",\"content\":[],\"stop_reason\":null,"
       "\"usage\":{\"input_tokens\":11,\"output_tokens\":1,\"cache_read_input_tokens\":100,"
       "\"cache_creation_input_tokens\":0}}}")
    EV("ping", "{\"type\":\"ping\"}")
    EV("content_block_start",
       "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\","
       "\"thinking\":\"\"}}")
    EV("content_block_delta",
       "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\","
       "\"thinking\":\"Let me think.\"}}")
    EV("content_block_delta",
       "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\","
       "\"signature\":\"sig-abc==\"}}")
    EV("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}")
    EV("content_block_start",
       "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\","
       "\"text\":\"\"}}")
    EV("content_block_delta",
       "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\","
       "\"text\":\"Hello, \"}}")
    EV("content_block_delta",
       "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\","
       "\"text\":\"world\"}}")
    EV("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":1}")
    EV("content_block_start",
       "{\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\","
       "\"id\":\"toolu_s\",\"name\":\"get_weather\",\"input\":{}}}")
    EV("content_block_delta",
       "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\","
       "\"partial_json\":\"\"}}")
    EV("content_block_delta",
       "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\","
       "\"partial_json\":\"{\\\"city\\\": \\\"Par\"}}")
    EV("content_block_delta",
       "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\","
       "\"partial_json\":\"is\\\"}\"}}")
    EV("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":2}")
    EV("message_delta",
       "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\","
       "\"stop_sequence\":null},\"usage\":{\"output_tokens\":42}}")
    EV("message_stop", "{\"type\":\"message_stop\"}");

typedef struct seen {
    char types[64][24];
    int n;
    lo_buf text, args;
    char *finish_text;
    char *end_args_city;
    lo_llm_error last_error;
    bool got_error;
    int stop_after; /* return non-zero after this many events; 0 = never */
} seen;

static int on_event(const lo_llm_stream_event *ev, void *ud)
{
    seen *s = ud;
    if (s->n < 64)
        snprintf(s->types[s->n++], sizeof s->types[0], "%s", lo_llm_stream_event_name(ev->type));
    /* a key never shows in an event */
    if (ev->error)
        assert_null(strstr(ev->error->message, KEY));
    switch (ev->type) {
    case LO_STREAM_TEXT_DELTA:
        assert_non_null(ev->text_id);
        lo_buf_puts(&s->text, ev->delta);
        break;
    case LO_STREAM_TOOL_CALL_START:
        assert_string_equal(ev->tool_call->name, "get_weather");
        break;
    case LO_STREAM_TOOL_CALL_DELTA:
        assert_string_equal(ev->tool_call->id, "toolu_s");
        lo_buf_puts(&s->args, ev->delta);
        break;
    case LO_STREAM_TOOL_CALL_END:
        s->end_args_city =
            strdup(json_string_value(json_object_get(ev->tool_call->arguments, "city")));
        break;
    case LO_STREAM_FINISH:
        assert_true(ev->has_finish);
        assert_int_equal(ev->finish_reason.reason, LO_FINISH_TOOL_CALLS);
        assert_true(ev->has_usage);
        assert_int_equal(ev->usage.output_tokens, 42);
        s->finish_text = lo_llm_response_text(ev->response);
        break;
    case LO_STREAM_ERROR:
        s->got_error = true;
        s->last_error = *ev->error;
        break;
    default:
        break;
    }
    return s->stop_after && s->n >= s->stop_after;
}

static void seen_init(seen *s)
{
    memset(s, 0, sizeof *s);
    lo_buf_init(&s->text, 0);
    lo_buf_init(&s->args, 0);
}

static void seen_release(seen *s)
{
    lo_buf_release(&s->text);
    lo_buf_release(&s->args);
    free(s->finish_text);
    free(s->end_args_city);
}

static void test_stream(void **state)
{
    (void)state;
    script(1, (reply[]){{200, STREAM_OK, NULL, true}});
    lo_llm_client *c = client(0, 0.01);
    lo_llm_request *r = simple_request("weather?");
    seen s;
    seen_init(&s);
    lo_llm_response *resp = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_stream(c, r, on_event, &s, &resp, &err), 0);
    static const char *const want[] = {
        "stream_start",    "reasoning_start", "reasoning_delta", "reasoning_end",
        "text_start",      "text_delta",      "text_delta",      "text_end",
        "tool_call_start", "tool_call_delta", "tool_call_delta", "tool_call_delta",
        "tool_call_end",   "finish"};
    assert_int_equal(s.n, (int)(sizeof want / sizeof *want));
    for (int i = 0; i < s.n; i++)
        assert_string_equal(s.types[i], want[i]);
    assert_string_equal(s.text.data, "Hello, world");
    assert_string_equal(s.args.data, "{\"city\": \"Paris\"}");
    assert_string_equal(s.end_args_city, "Paris");
    assert_string_equal(s.finish_text, "Hello, world");
    assert_false(s.got_error);
    json_t *j = sent();
    assert_true(json_is_true(json_path(j, "stream")));
    json_decref(j);
    pthread_mutex_lock(&S.mu);
    assert_string_equal(ts_header("accept"), "text/event-stream");
    pthread_mutex_unlock(&S.mu);

    /* the accumulated response */
    assert_non_null(resp);
    assert_string_equal(resp->id, "msg_s1");
    assert_int_equal(resp->message->n_parts, 3);
    assert_int_equal(resp->message->parts[0].kind, LO_CONTENT_THINKING);
    assert_string_equal(resp->message->parts[0].thinking.text, "Let me think.");
    assert_string_equal(resp->message->parts[0].thinking.signature, "sig-abc==");
    assert_int_equal(resp->message->parts[2].kind, LO_CONTENT_TOOL_CALL);
    assert_string_equal(resp->message->parts[2].tool_call.raw_arguments,
                        "{\"city\": \"Paris\"}");
    assert_int_equal(resp->usage.input_tokens, 11);
    assert_int_equal(resp->usage.output_tokens, 42);
    assert_int_equal(resp->usage.cache_read_tokens, 100);
    assert_int_equal(resp->usage.cache_write_tokens, 0);
    assert_int_equal(resp->usage.total_tokens, 153);
    assert_int_equal(resp->finish.reason, LO_FINISH_TOOL_CALLS);
    assert_true(resp->has_rate_limit);
    seen_release(&s);
    lo_llm_response_free(resp);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

/* Everything up to a text delta, then the connection closes. */
static const char STREAM_CUT[] =
    EV("message_start",
       "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_cut\",\"type\":\"message\","
       "\"role\":\"assistant\",\"model\":\"m\",\"content\":[],\"usage\":{\"input_tokens\":1}}}")
    EV("content_block_start",
       "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\","
       "\"text\":\"\"}}")
    EV("content_block_delta",
       "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
       "\"text\":\"Hel\"}}")
    "event: content_block_delta\ndata: {\"type\":\"content_bl";

static void test_stream_cut(void **state)
{
    (void)state;
    script(1, (reply[]){{200, STREAM_CUT, NULL, true}});
    lo_llm_client *c = client(2, 0.01);
    lo_llm_request *r = simple_request("hi");
    seen s;
    seen_init(&s);
    lo_llm_response *resp = (lo_llm_response *)1;
    lo_llm_error err;
    assert_int_equal(lo_llm_stream(c, r, on_event, &s, &resp, &err), LO_EIO);
    assert_null(resp);
    assert_int_equal(err.kind, LO_LLM_ERR_STREAM);
    assert_non_null(strstr(err.message, "message_stop"));
    /* data reached the caller: no retry, and exactly one ERROR event, last */
    assert_int_equal(requests(), 1);
    assert_true(s.got_error);
    assert_string_equal(s.types[s.n - 1], "error");
    assert_string_equal(s.types[s.n - 2], "text_delta");
    assert_int_equal(s.last_error.kind, LO_LLM_ERR_STREAM);
    seen_release(&s);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

static void test_stream_stop_by_handler(void **state)
{
    (void)state;
    script(1, (reply[]){{200, STREAM_OK, NULL, true}});
    lo_llm_client *c = client(2, 0.01);
    lo_llm_request *r = simple_request("hi");
    seen s;
    seen_init(&s);
    s.stop_after = 3;
    lo_llm_response *resp = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_stream(c, r, on_event, &s, &resp, &err), LO_ECANCELED);
    assert_int_equal(err.kind, LO_LLM_ERR_ABORT);
    assert_int_equal(s.n, 3);
    assert_int_equal(requests(), 1);
    seen_release(&s);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

/* ------------------------------------------------------------ typed errors */

static void test_malformed_json(void **state)
{
    (void)state;
    script(1, (reply[]){{200, "{\"id\": \"msg_x\", \"content\": [", NULL, false}});
    lo_llm_client *c = client(0, 0.01);
    lo_llm_request *r = simple_request("hi");
    lo_llm_response *resp = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), LO_EIO);
    assert_null(resp);
    assert_int_equal(err.kind, LO_LLM_ERR_PROVIDER);
    assert_non_null(strstr(err.message, "malformed JSON"));

    /* JSON, but not a message */
    script(1, (reply[]){{200, "{\"hello\": 1}", NULL, false}});
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), LO_EIO);
    assert_int_equal(err.kind, LO_LLM_ERR_PROVIDER);

    /* a malformed event in a stream */
    static const char bad[] =
        EV("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}")
        EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,");
    script(1, (reply[]){{200, bad, NULL, true}});
    seen s;
    seen_init(&s);
    assert_int_equal(lo_llm_stream(c, r, on_event, &s, &resp, &err), LO_EIO);
    assert_int_equal(err.kind, LO_LLM_ERR_STREAM);
    assert_non_null(strstr(err.message, "malformed JSON"));
    assert_true(s.got_error);
    seen_release(&s);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

static void test_http_errors(void **state)
{
    (void)state;
    lo_llm_client *c = client(2, 0.01);
    lo_llm_request *r = simple_request("hi");
    lo_llm_response *resp = NULL;
    lo_llm_error err;

    /* 401: not retried; a key echoed back by the server is scrubbed */
    script(1, (reply[]){{401,
                         "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\","
                         "\"message\":\"invalid x-api-key " KEY "\"},\"request_id\":\"req_a\"}",
                         NULL, false}});
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), LO_EIO);
    assert_int_equal(err.kind, LO_LLM_ERR_AUTHENTICATION);
    assert_false(err.retryable);
    assert_int_equal(err.status, 401);
    assert_string_equal(err.code, "authentication_error");
    assert_string_equal(err.provider, "anthropic");
    assert_null(strstr(err.message, KEY));
    assert_non_null(strstr(err.message, "req_a"));
    assert_int_equal(requests(), 1);

    /* 404 */
    script(1, (reply[]){{404,
                         "{\"type\":\"error\",\"error\":{\"type\":\"not_found_error\","
                         "\"message\":\"model: claude-test-1\"}}",
                         NULL, false}});
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), LO_EIO);
    assert_int_equal(err.kind, LO_LLM_ERR_NOT_FOUND);
    assert_int_equal(requests(), 1);

    /* 400 that says the prompt is too long */
    script(1, (reply[]){{400,
                         "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
                         "\"message\":\"prompt is too long: 210000 tokens > 200000 maximum\"}}",
                         NULL, false}});
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), LO_EIO);
    assert_int_equal(err.kind, LO_LLM_ERR_CONTEXT_LENGTH);

    /* not JSON at all (a proxy page) */
    script(1, (reply[]){{502, "<html>Bad Gateway</html>", NULL, false}});
    lo_llm_client_free(c);
    c = client(0, 0.01);
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), LO_EIO);
    assert_int_equal(err.kind, LO_LLM_ERR_SERVER);
    assert_non_null(strstr(err.message, "Bad Gateway"));
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

static int retries_seen;
static double retry_delay_seen;

static void on_retry(const lo_llm_error *e, int attempt, double delay, void *ud)
{
    (void)e;
    (void)ud;
    retries_seen = attempt;
    retry_delay_seen = delay;
}

static const char RATE_LIMITED[] =
    "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"slow down\"}}";

static void test_429_retry_after(void **state)
{
    (void)state;
    script(2, (reply[]){{429, RATE_LIMITED, "1", false}, {200, TEXT_REPLY, NULL, false}});
    lo_llm_client *c = client(2, 0.01);
    lo_llm_retry_policy p;
    lo_llm_retry_policy_init(&p);
    p.on_retry = on_retry;
    lo_llm_client_set_retry(c, &p);
    retries_seen = 0;
    lo_llm_request *r = simple_request("hi");
    lo_llm_response *resp = NULL;
    lo_llm_error err;
    double t0 = now_s();
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), 0);
    double took = now_s() - t0;
    assert_int_equal(requests(), 2);
    assert_int_equal(retries_seen, 1);
    assert_true(retry_delay_seen == 1.0); /* Retry-After, not the jittered backoff */
    assert_true(took >= 0.95 && took < 3.0);
    char *text = lo_llm_response_text(resp);
    assert_string_equal(text, "Hello there.");
    free(text);
    lo_llm_response_free(resp);

    /* A Retry-After beyond max_delay: fail at once with retry_after set. */
    script(2, (reply[]){{429, RATE_LIMITED, "120", false}, {200, TEXT_REPLY, NULL, false}});
    resp = NULL;
    t0 = now_s();
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), LO_EIO);
    assert_true(now_s() - t0 < 1.0);
    assert_int_equal(err.kind, LO_LLM_ERR_RATE_LIMIT);
    assert_true(err.retryable);
    assert_true(err.retry_after == 120.0);
    assert_int_equal(requests(), 1);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

static void test_500_then_success(void **state)
{
    (void)state;
    script(2, (reply[]){{500,
                         "{\"type\":\"error\",\"error\":{\"type\":\"api_error\","
                         "\"message\":\"Internal server error\"}}",
                         NULL, false},
                        {200, TEXT_REPLY, NULL, false}});
    lo_llm_client *c = client(2, 0.01);
    lo_llm_request *r = simple_request("hi");
    lo_llm_response *resp = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), 0);
    assert_int_equal(requests(), 2);
    assert_non_null(resp);
    lo_llm_response_free(resp);

    /* A stream whose connection fails before any event is retried too. */
    script(2, (reply[]){{500, "{\"type\":\"error\",\"error\":{\"type\":\"api_error\","
                              "\"message\":\"boom\"}}",
                         NULL, false},
                        {200, STREAM_OK, NULL, true}});
    seen s;
    seen_init(&s);
    resp = NULL;
    assert_int_equal(lo_llm_stream(c, r, on_event, &s, &resp, &err), 0);
    assert_int_equal(requests(), 2);
    assert_false(s.got_error);
    assert_string_equal(s.types[0], "stream_start");
    seen_release(&s);
    lo_llm_response_free(resp);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

static void test_529_overloaded(void **state)
{
    (void)state;
    script(1, (reply[]){{529,
                         "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                         "\"message\":\"Overloaded\"}}",
                         NULL, false}});
    lo_llm_client *c = client(2, 0.01);
    lo_llm_request *r = simple_request("hi");
    lo_llm_response *resp = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), LO_EIO);
    assert_int_equal(requests(), 3); /* the first try and two retries */
    assert_int_equal(err.kind, LO_LLM_ERR_SERVER);
    assert_true(err.retryable);
    assert_int_equal(err.status, 529);
    assert_string_equal(err.code, "overloaded_error");

    /* The same error as an event inside a stream, before anything else. */
    static const char ev_err[] =
        EV("error", "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                    "\"message\":\"Overloaded\"}}");
    script(1, (reply[]){{200, ev_err, NULL, true}});
    lo_llm_client_free(c);
    c = client(0, 0.01);
    seen s;
    seen_init(&s);
    assert_int_equal(lo_llm_stream(c, r, on_event, &s, &resp, &err), LO_EIO);
    assert_int_equal(err.kind, LO_LLM_ERR_SERVER);
    assert_string_equal(err.code, "overloaded_error");
    assert_int_equal(s.n, 1);
    assert_string_equal(s.types[0], "error");
    seen_release(&s);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

/* ------------------------------------------------------------ configuration */

static void test_missing_key(void **state)
{
    (void)state;
    char *saved = getenv("ANTHROPIC_API_KEY") ? strdup(getenv("ANTHROPIC_API_KEY")) : NULL;
    unsetenv("ANTHROPIC_API_KEY");
    lo_llm_client *c = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_client_from_env(&c, &err), 0);
    assert_false(lo_llm_client_has_provider(c, "anthropic"));
    lo_llm_request *r = simple_request("hi");
    r->provider = strdup("anthropic");
    lo_llm_response *resp = NULL;
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), LO_EINVAL);
    assert_int_equal(err.kind, LO_LLM_ERR_CONFIGURATION);
    assert_false(err.retryable);
    assert_non_null(strstr(err.message, "ANTHROPIC_API_KEY"));
    /* without a provider in the request either */
    free(r->provider);
    r->provider = NULL;
    lo_llm_client_set_catalog(c, NULL);
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), LO_EINVAL);
    assert_non_null(strstr(err.message, "ANTHROPIC_API_KEY"));
    /* a stream fails the same way, with an ERROR event */
    seen s;
    seen_init(&s);
    assert_int_equal(lo_llm_stream(c, r, on_event, &s, &resp, &err), LO_EINVAL);
    assert_int_equal(err.kind, LO_LLM_ERR_CONFIGURATION);
    seen_release(&s);
    /* configured by hand without a key */
    lo_llm_provider_config cfg = {.provider = "anthropic"};
    assert_int_equal(lo_llm_client_add_provider(c, &cfg, &err), LO_EINVAL);
    assert_int_equal(err.kind, LO_LLM_ERR_CONFIGURATION);
    assert_non_null(strstr(err.message, "ANTHROPIC_API_KEY"));
    cfg.provider = "nosuch";
    assert_int_equal(lo_llm_client_add_provider(c, &cfg, &err), LO_EINVAL);
    lo_llm_client_free(c);
    lo_llm_request_free(r);
    if (saved) {
        setenv("ANTHROPIC_API_KEY", saved, 1);
        free(saved);
    }
}

static void test_from_env(void **state)
{
    (void)state;
    script(1, (reply[]){{200, TEXT_REPLY, NULL, false}});
    char *saved_key = getenv("ANTHROPIC_API_KEY") ? strdup(getenv("ANTHROPIC_API_KEY")) : NULL;
    char *saved_url = getenv("ANTHROPIC_BASE_URL") ? strdup(getenv("ANTHROPIC_BASE_URL")) : NULL;
    setenv("ANTHROPIC_API_KEY", KEY, 1);
    char url[80];
    snprintf(url, sizeof url, "%s/", S.base); /* a trailing slash is tolerated */
    setenv("ANTHROPIC_BASE_URL", url, 1);
    lo_llm_client *c = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_client_from_env(&c, &err), 0);
    assert_true(lo_llm_client_has_provider(c, "anthropic"));
    lo_llm_request *r = simple_request("hi"); /* model unknown: the only provider */
    assert_string_equal(lo_llm_client_resolve(c, r, &err), "anthropic");
    lo_llm_response *resp = NULL;
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), 0);
    pthread_mutex_lock(&S.mu);
    assert_string_equal(ts_header("x-api-key"), KEY);
    pthread_mutex_unlock(&S.mu);
    lo_llm_response_free(resp);
    /* an unknown provider named in the request */
    r->provider = strdup("nosuch");
    assert_null(lo_llm_client_resolve(c, r, &err));
    assert_int_equal(err.kind, LO_LLM_ERR_CONFIGURATION);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
    if (saved_key)
        setenv("ANTHROPIC_API_KEY", saved_key, 1);
    else
        unsetenv("ANTHROPIC_API_KEY");
    if (saved_url)
        setenv("ANTHROPIC_BASE_URL", saved_url, 1);
    else
        unsetenv("ANTHROPIC_BASE_URL");
    free(saved_key);
    free(saved_url);
}

static void test_cancel(void **state)
{
    (void)state;
    script(1, (reply[]){{529,
                         "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                         "\"message\":\"Overloaded\"}}",
                         "30", false}});
    lo_llm_client *c = client(2, 0.01);
    atomic_bool flag = true;
    lo_llm_client_set_cancel(c, &flag);
    lo_llm_request *r = simple_request("hi");
    lo_llm_response *resp = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), LO_ECANCELED);
    assert_int_equal(err.kind, LO_LLM_ERR_ABORT);
    assert_int_equal(requests(), 0);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

static void test_timeout_and_network(void **state)
{
    (void)state;
    /* A stream that stays silent: the per-request timeout ends it. */
    script(1, (reply[]){{200, NULL, NULL, true}});
    lo_llm_client *c = lo_llm_client_new();
    lo_llm_provider_config cfg = {.provider = "anthropic", .api_key = KEY, .base_url = S.base,
                                  .timeout_ms = 300};
    lo_llm_error err;
    assert_int_equal(lo_llm_client_add_provider(c, &cfg, &err), 0);
    lo_llm_retry_policy p;
    lo_llm_retry_policy_init(&p);
    p.max_retries = 0;
    lo_llm_client_set_retry(c, &p);
    lo_llm_request *r = simple_request("hi");
    lo_llm_response *resp = NULL;
    double t0 = now_s();
    assert_int_equal(lo_llm_stream(c, r, NULL, NULL, &resp, &err), LO_EIO);
    assert_true(now_s() - t0 < 3.0);
    assert_int_equal(err.kind, LO_LLM_ERR_REQUEST_TIMEOUT);
    assert_false(err.retryable);

    /* Nobody listening: a network error, retryable, without the key. */
    lo_llm_provider_config dead = {.provider = "anthropic", .api_key = KEY,
                                   .base_url = "http://127.0.0.1:1", .timeout_ms = 2000};
    assert_int_equal(lo_llm_client_add_provider(c, &dead, &err), 0);
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), LO_EIO);
    assert_int_equal(err.kind, LO_LLM_ERR_NETWORK);
    assert_true(err.retryable);
    assert_null(strstr(err.message, KEY));
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_translation),
        cmocka_unit_test(test_tool_choice_modes),
        cmocka_unit_test(test_auto_cache_off_and_options),
        cmocka_unit_test(test_text_response_and_usage),
        cmocka_unit_test(test_tool_use_response),
        cmocka_unit_test(test_thinking_signature_round_trip),
        cmocka_unit_test(test_stream),
        cmocka_unit_test(test_stream_cut),
        cmocka_unit_test(test_stream_stop_by_handler),
        cmocka_unit_test(test_malformed_json),
        cmocka_unit_test(test_http_errors),
        cmocka_unit_test(test_429_retry_after),
        cmocka_unit_test(test_500_then_success),
        cmocka_unit_test(test_529_overloaded),
        cmocka_unit_test(test_missing_key),
        cmocka_unit_test(test_from_env),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_timeout_and_network),
    };
    return cmocka_run_group_tests_name("llm_anthropic", tests, setup_server, teardown_server);
}
