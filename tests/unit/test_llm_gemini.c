/* Unit tests for the Gemini API adapter (src/llm/gemini.c), against a real
 * HTTP server on 127.0.0.1 started here. Its handler records each request
 * and answers scripted replies written below in Gemini's wire format
 * (GenerateContentResponse, SSE chunks of it, google.rpc error bodies). */
#include <pthread.h>
#include <unistd.h>

#include "llm_testserver.h"

#define KEY "AIzaSyTEST-0123456789SECRETgemini"
#define GKEY "AIzaSyGOOGLE-fallback-0123456789"
#define MODEL "gemini-test-flash"

/* ------------------------------------------------------------ the server */

static const char *const ROUTES[] = {"/v1beta/models/*", NULL, NULL};
static const char *const RECORD[] = {"x-goog-api-key", "authorization", NULL};

static int setup_server(void **state)
{
    (void)state;
    return ts_start(ROUTES, RECORD, NULL, NULL);
}

static int teardown_server(void **state)
{
    (void)state;
    return ts_stop();
}

/* ------------------------------------------------------------ helpers */

static lo_llm_client *client_for(const char *key, int max_retries)
{
    return ts_client("gemini", key, max_retries, 0.01);
}

static lo_llm_request *simple_request(const char *text)
{
    return simple_request_for(MODEL, text);
}

static void add_read_file_tool(lo_llm_request *r)
{
    lo_error e;
    json_t *schema = json_pack("{s:s,s:s,s:{s:{s:s,s:s},s:{s:[s,s]}},s:b,s:[s]}", "$schema",
                               "http://json-schema.org/draft-07/schema#", "type", "object",
                               "properties", "path", "type", "string", "format", "uri", "limit",
                               "type", "integer", "null", "additionalProperties", 0, "required",
                               "path");
    assert_int_equal(lo_llm_request_add_tool(r, "read_file", "Read a file", schema, &e), 0);
}

/* ------------------------------------------------------------ fixtures */

static const char G_TEXT[] =
    "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hello there.\"}],\"role\":\"model\"},"
    "\"finishReason\":\"STOP\",\"index\":0}],"
    "\"usageMetadata\":{\"promptTokenCount\":100,\"candidatesTokenCount\":30,"
    "\"totalTokenCount\":142,\"cachedContentTokenCount\":60,\"thoughtsTokenCount\":12,"
    "\"promptTokensDetails\":[{\"modality\":\"TEXT\",\"tokenCount\":100}]},"
    "\"modelVersion\":\"gemini-test-flash-001\",\"responseId\":\"resp-g1\"}";

/* Two parallel calls (same function twice: only synthetic ids tell them
 * apart), the first carrying the thought signature Gemini 3 puts there. */
static const char G_CALLS[] =
    "{\"candidates\":[{\"content\":{\"parts\":["
    "{\"functionCall\":{\"name\":\"read_file\",\"args\":{\"path\":\"a.c\"}},"
    "\"thoughtSignature\":\"c2lnLWNhbGw=\"},"
    "{\"functionCall\":{\"name\":\"read_file\",\"args\":{\"path\":\"b.c\"}}}],"
    "\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],"
    "\"usageMetadata\":{\"promptTokenCount\":50,\"candidatesTokenCount\":20,"
    "\"totalTokenCount\":70},\"modelVersion\":\"gemini-test-flash-001\",\"responseId\":\"resp-g2\"}";

static const char G_THINK[] =
    "{\"candidates\":[{\"content\":{\"parts\":["
    "{\"text\":\"Let me weigh it.\",\"thought\":true,\"thoughtSignature\":\"c2lnLXRob3VnaHQ=\"},"
    "{\"text\":\"Forty-two.\"}],\"role\":\"model\"},\"finishReason\":\"MAX_TOKENS\"}],"
    "\"usageMetadata\":{\"promptTokenCount\":10,\"candidatesTokenCount\":3,"
    "\"thoughtsTokenCount\":40,\"totalTokenCount\":53},\"modelVersion\":\"m\"}";

static const char G_STREAM[] =
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Consider.\",\"thought\":true}],"
    "\"role\":\"model\"},\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":40},"
    "\"modelVersion\":\"gemini-test-flash-001\",\"responseId\":\"resp-s1\"}\r\n\r\n"
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hel\"}],\"role\":\"model\"},"
    "\"index\":0}],\"modelVersion\":\"gemini-test-flash-001\",\"responseId\":\"resp-s1\"}\r\n\r\n"
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"lo.\"}],\"role\":\"model\"},"
    "\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":40,"
    "\"candidatesTokenCount\":20,\"totalTokenCount\":65,\"cachedContentTokenCount\":10,"
    "\"thoughtsTokenCount\":5},\"modelVersion\":\"gemini-test-flash-001\","
    "\"responseId\":\"resp-s1\"}\r\n\r\n";

static const char G_STREAM_CALL[] =
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Reading.\"}],\"role\":\"model\"},"
    "\"index\":0}],\"modelVersion\":\"m\"}\r\n\r\n"
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"read_file\","
    "\"args\":{\"path\":\"b.c\"}},\"thoughtSignature\":\"c2ln\"}],\"role\":\"model\"},"
    "\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":12,"
    "\"candidatesTokenCount\":8,\"totalTokenCount\":20},\"modelVersion\":\"m\"}\r\n\r\n";

static const char G_STREAM_CUT[] =
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hal\"}],\"role\":\"model\"},"
    "\"index\":0}],\"modelVersion\":\"m\"}\r\n\r\n";

static const char G_STREAM_BAD[] =
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hal\"}]}}]}\r\n\r\n"
    "data: {\"candidates\": [oops\r\n\r\n";

#define G_ERR(code, status, msg)                                                            \
    "{\"error\":{\"code\":" #code ",\"message\":\"" msg "\",\"status\":\"" status "\"}}"

static const char G_429_RETRYINFO[] =
    "{\"error\":{\"code\":429,\"message\":\"Resource has been exhausted (e.g. check quota).\","
    "\"status\":\"RESOURCE_EXHAUSTED\",\"details\":[{\"@type\":"
    "\"type.googleapis.com/google.rpc.QuotaFailure\",\"violations\":[{\"quotaMetric\":"
    "\"generativelanguage.googleapis.com/generate_content_free_tier_requests\",\"quotaId\":"
    "\"GenerateRequestsPerMinutePerProjectPerModel-FreeTier\"}]},{\"@type\":"
    "\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"0.5s\"}]}}";

static const char G_429_DAILY[] =
    "{\"error\":{\"code\":429,\"message\":\"You exceeded your current quota.\","
    "\"status\":\"RESOURCE_EXHAUSTED\",\"details\":[{\"@type\":"
    "\"type.googleapis.com/google.rpc.QuotaFailure\",\"violations\":[{\"quotaId\":"
    "\"GenerateRequestsPerDayPerProjectPerModel-FreeTier\"}]},{\"@type\":"
    "\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"3600s\"}]}}";

/* ------------------------------------------------------------ tests */

static void test_request_translation(void **state)
{
    (void)state;
    script(1, (reply[]){{200, G_TEXT, NULL, false}});
    lo_llm_client *c = client_for(KEY, 0);
    lo_llm_request *r = lo_llm_request_new("models/" MODEL);
    lo_llm_request_add_message(r, lo_llm_text_message(LO_ROLE_SYSTEM, "You are terse."));
    lo_llm_request_add_message(r, lo_llm_text_message(LO_ROLE_DEVELOPER, "Use tools."));
    lo_llm_message *u = lo_llm_message_new(LO_ROLE_USER);
    lo_llm_message_add_text(u, "look at these");
    lo_llm_media img = {.data = "aGVsbG8=", .media_type = "image/jpeg"};
    lo_llm_message_add_media(u, LO_CONTENT_IMAGE, &img);
    lo_llm_media web = {.url = "https://example.com/cat.png"};
    lo_llm_message_add_media(u, LO_CONTENT_IMAGE, &web);
    lo_llm_request_add_message(r, u);
    add_read_file_tool(r);
    lo_llm_request_set_tool_choice(r, LO_TOOL_CHOICE_NAMED, "read_file");
    r->reasoning_effort = strdup("high");
    r->has_max_tokens = true;
    r->max_tokens = 2048;
    r->has_temperature = true;
    r->temperature = 0.25;
    r->has_top_p = true;
    r->top_p = 0.5;
    lo_llm_request_add_stop(r, "END");
    lo_llm_request_set_response_format(
        r, LO_FORMAT_JSON_SCHEMA,
        json_pack("{s:s,s:{s:{s:s}},s:b}", "type", "object", "properties", "answer", "type",
                  "string", "additionalProperties", 0),
        true);
    r->provider_options = json_pack("{s:{s:{s:i},s:[{s:s,s:s}]}}", "gemini", "generationConfig",
                                    "topK", 40, "safetySettings", "category",
                                    "HARM_CATEGORY_HARASSMENT", "threshold", "BLOCK_NONE");
    lo_llm_response *resp = NULL;
    lo_llm_error e;
    assert_int_equal(lo_llm_complete(c, r, &resp, &e), 0);

    pthread_mutex_lock(&S.mu);
    assert_string_equal(S.path, "/v1beta/models/" MODEL ":generateContent");
    assert_string_equal(S.query, "");
    assert_string_equal(ts_header("x-goog-api-key"), KEY);
    assert_null(ts_header("authorization"));
    assert_null(strstr(S.body, KEY));
    pthread_mutex_unlock(&S.mu);

    json_t *b = sent();
    assert_string_equal(path_str(b, "systemInstruction.parts.0.text"), "You are terse.");
    assert_string_equal(path_str(b, "systemInstruction.parts.1.text"), "Use tools.");
    assert_int_equal(json_array_size(json_object_get(b, "contents")), 1);
    assert_string_equal(path_str(b, "contents.0.role"), "user");
    assert_string_equal(path_str(b, "contents.0.parts.0.text"), "look at these");
    assert_string_equal(path_str(b, "contents.0.parts.1.inlineData.mimeType"), "image/jpeg");
    assert_string_equal(path_str(b, "contents.0.parts.1.inlineData.data"), "aGVsbG8=");
    assert_string_equal(path_str(b, "contents.0.parts.2.fileData.fileUri"),
                        "https://example.com/cat.png");
    assert_string_equal(path_str(b, "contents.0.parts.2.fileData.mimeType"), "image/png");
    /* The schema in Gemini's subset: $schema, additionalProperties and the
     * uri format are gone, ["integer","null"] is a nullable integer. */
    json_t *params = json_path(b, "tools.0.functionDeclarations.0.parameters");
    assert_string_equal(path_str(b, "tools.0.functionDeclarations.0.name"), "read_file");
    assert_string_equal(path_str(b, "tools.0.functionDeclarations.0.description"), "Read a file");
    assert_string_equal(path_str(params, "type"), "object");
    assert_null(json_object_get(params, "$schema"));
    assert_null(json_object_get(params, "additionalProperties"));
    assert_null(json_path(params, "properties.path.format"));
    assert_string_equal(path_str(params, "properties.limit.type"), "integer");
    assert_true(json_is_true(json_path(params, "properties.limit.nullable")));
    assert_string_equal(path_str(params, "required.0"), "path");
    assert_string_equal(path_str(b, "toolConfig.functionCallingConfig.mode"), "ANY");
    assert_string_equal(path_str(b, "toolConfig.functionCallingConfig.allowedFunctionNames.0"),
                        "read_file");
    json_t *gc = json_object_get(b, "generationConfig");
    assert_int_equal(json_integer_value(json_object_get(gc, "maxOutputTokens")), 2048);
    assert_true(json_real_value(json_object_get(gc, "temperature")) == 0.25);
    assert_true(json_real_value(json_object_get(gc, "topP")) == 0.5);
    assert_string_equal(path_str(gc, "stopSequences.0"), "END");
    assert_string_equal(path_str(gc, "responseMimeType"), "application/json");
    assert_string_equal(path_str(gc, "responseSchema.properties.answer.type"), "string");
    assert_null(json_path(gc, "responseSchema.additionalProperties"));
    assert_int_equal(json_integer_value(json_path(gc, "thinkingConfig.thinkingBudget")), 24576);
    assert_true(json_is_true(json_path(gc, "thinkingConfig.includeThoughts")));
    assert_int_equal(json_integer_value(json_object_get(gc, "topK")), 40); /* merged */
    assert_string_equal(path_str(b, "safetySettings.0.threshold"), "BLOCK_NONE");
    json_decref(b);
    lo_llm_response_free(resp);

    /* reasoning_effort none turns thinking off; auto and NONE tool modes. */
    free(r->reasoning_effort);
    r->reasoning_effort = strdup("none");
    lo_llm_request_set_tool_choice(r, LO_TOOL_CHOICE_NONE, NULL);
    assert_int_equal(lo_llm_complete(c, r, &resp, &e), 0);
    b = sent();
    assert_int_equal(json_integer_value(json_path(b, "generationConfig.thinkingConfig.thinkingBudget")),
                     0);
    assert_null(json_path(b, "generationConfig.thinkingConfig.includeThoughts"));
    assert_string_equal(path_str(b, "toolConfig.functionCallingConfig.mode"), "NONE");
    assert_null(json_path(b, "toolConfig.functionCallingConfig.allowedFunctionNames"));
    json_decref(b);
    lo_llm_response_free(resp);

    /* An unknown effort is the caller's mistake, caught before sending. */
    free(r->reasoning_effort);
    r->reasoning_effort = strdup("extreme");
    int before = requests();
    assert_int_not_equal(lo_llm_complete(c, r, &resp, &e), 0);
    assert_int_equal(e.kind, LO_LLM_ERR_INVALID_REQUEST);
    assert_int_equal(requests(), before);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

static void test_text_and_usage(void **state)
{
    (void)state;
    script(1, (reply[]){{200, G_TEXT, NULL, false}});
    lo_llm_client *c = client_for(KEY, 0);
    lo_llm_request *r = simple_request("hi");
    lo_llm_response *resp = NULL;
    lo_llm_error e;
    assert_int_equal(lo_llm_complete(c, r, &resp, &e), 0);
    char *t = lo_llm_response_text(resp);
    assert_string_equal(t, "Hello there.");
    free(t);
    assert_string_equal(resp->provider, "gemini");
    assert_string_equal(resp->id, "resp-g1");
    assert_string_equal(resp->model, "gemini-test-flash-001");
    assert_int_equal(resp->finish.reason, LO_FINISH_STOP);
    assert_string_equal(resp->finish.raw, "STOP");
    /* 100 prompt tokens of which 60 cached; 30 candidates + 12 thoughts. */
    assert_int_equal(resp->usage.input_tokens, 40);
    assert_int_equal(resp->usage.cache_read_tokens, 60);
    assert_int_equal(resp->usage.cache_write_tokens, LO_TOKENS_UNREPORTED);
    assert_int_equal(resp->usage.output_tokens, 42);
    assert_int_equal(resp->usage.reasoning_tokens, 12);
    assert_int_equal(resp->usage.total_tokens, 142);
    assert_non_null(resp->raw);
    lo_llm_response_free(resp);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

static void test_function_call_round_trip(void **state)
{
    (void)state;
    script(2, (reply[]){{200, G_CALLS, NULL, false}, {200, G_TEXT, NULL, false}});
    lo_llm_client *c = client_for(KEY, 0);
    lo_llm_request *r = simple_request("read a.c and b.c");
    add_read_file_tool(r);
    lo_llm_response *resp = NULL;
    lo_llm_error e;
    assert_int_equal(lo_llm_complete(c, r, &resp, &e), 0);
    assert_int_equal(resp->finish.reason, LO_FINISH_TOOL_CALLS);
    assert_string_equal(resp->finish.raw, "STOP");
    assert_int_equal(resp->usage.cache_read_tokens, 0); /* absent = none */
    assert_int_equal(resp->usage.reasoning_tokens, 0);
    size_t n = 0;
    const lo_llm_tool_call **calls = lo_llm_response_tool_calls(resp, &n);
    assert_int_equal(n, 2);
    assert_string_equal(calls[0]->id, "call_1");
    assert_string_equal(calls[1]->id, "call_2");
    assert_string_equal(calls[0]->name, "read_file");
    assert_string_equal(json_string_value(json_object_get(calls[1]->arguments, "path")), "b.c");
    char *res0 = strdup(calls[0]->id), *res1 = strdup(calls[1]->id);
    free(calls);

    /* Next turn: the model's message as it came, then one result per call. */
    lo_llm_request_add_message(r, lo_llm_message_clone(resp->message));
    lo_llm_request_add_message(r, lo_llm_tool_result_message(res0, "int a;", false));
    lo_llm_message *tm = lo_llm_message_new(LO_ROLE_TOOL);
    lo_llm_message_add_tool_result(tm, res1, json_pack("{s:s}", "error", "no such file"), true);
    lo_llm_request_add_message(r, tm);
    lo_llm_response_free(resp);
    assert_int_equal(lo_llm_complete(c, r, &resp, &e), 0);
    json_t *b = sent();
    assert_int_equal(json_array_size(json_object_get(b, "contents")), 3);
    assert_string_equal(path_str(b, "contents.1.role"), "model");
    assert_string_equal(path_str(b, "contents.1.parts.0.functionCall.name"), "read_file");
    assert_string_equal(path_str(b, "contents.1.parts.0.functionCall.args.path"), "a.c");
    assert_string_equal(path_str(b, "contents.1.parts.0.thoughtSignature"), "c2lnLWNhbGw=");
    assert_null(json_path(b, "contents.1.parts.1.thoughtSignature"));
    assert_null(json_path(b, "contents.1.parts.0.functionCall.id")); /* ours, not Gemini's */
    /* Both results in one user turn, each named by its function. */
    assert_string_equal(path_str(b, "contents.2.role"), "user");
    assert_int_equal(json_array_size(json_path(b, "contents.2.parts")), 2);
    assert_string_equal(path_str(b, "contents.2.parts.0.functionResponse.name"), "read_file");
    assert_string_equal(path_str(b, "contents.2.parts.0.functionResponse.response.result"),
                        "int a;");
    assert_string_equal(path_str(b, "contents.2.parts.1.functionResponse.response.error.error"),
                        "no such file");
    json_decref(b);
    lo_llm_response_free(resp);

    /* A result for a call id no earlier message has cannot be named. */
    lo_llm_request_add_message(r, lo_llm_tool_result_message("call_99", "x", false));
    assert_int_not_equal(lo_llm_complete(c, r, &resp, &e), 0);
    assert_int_equal(e.kind, LO_LLM_ERR_INVALID_REQUEST);
    assert_non_null(strstr(e.message, "call_99"));
    free(res0);
    free(res1);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

static void test_thinking_round_trip(void **state)
{
    (void)state;
    script(2, (reply[]){{200, G_THINK, NULL, false}, {200, G_TEXT, NULL, false}});
    lo_llm_client *c = client_for(KEY, 0);
    lo_llm_request *r = simple_request("the answer?");
    lo_llm_response *resp = NULL;
    lo_llm_error e;
    assert_int_equal(lo_llm_complete(c, r, &resp, &e), 0);
    assert_int_equal(resp->finish.reason, LO_FINISH_LENGTH);
    assert_int_equal(resp->message->n_parts, 2);
    assert_int_equal(resp->message->parts[0].kind, LO_CONTENT_THINKING);
    assert_string_equal(resp->message->parts[0].thinking.text, "Let me weigh it.");
    assert_string_equal(resp->message->parts[0].thinking.signature, "c2lnLXRob3VnaHQ=");
    char *reasoning = lo_llm_response_reasoning(resp);
    assert_string_equal(reasoning, "Let me weigh it.");
    free(reasoning);
    assert_int_equal(resp->usage.output_tokens, 43);
    assert_int_equal(resp->usage.reasoning_tokens, 40);
    assert_int_equal(resp->usage.input_tokens, 10);

    lo_llm_request_add_message(r, lo_llm_message_clone(resp->message));
    lo_llm_request_add_message(r, lo_llm_text_message(LO_ROLE_USER, "why?"));
    lo_llm_response_free(resp);
    assert_int_equal(lo_llm_complete(c, r, &resp, &e), 0);
    json_t *b = sent();
    assert_string_equal(path_str(b, "contents.1.role"), "model");
    assert_true(json_is_true(json_path(b, "contents.1.parts.0.thought")));
    assert_string_equal(path_str(b, "contents.1.parts.0.text"), "Let me weigh it.");
    assert_string_equal(path_str(b, "contents.1.parts.0.thoughtSignature"), "c2lnLXRob3VnaHQ=");
    assert_string_equal(path_str(b, "contents.1.parts.1.text"), "Forty-two.");
    assert_null(json_path(b, "contents.1.parts.1.thought"));
    json_decref(b);
    lo_llm_response_free(resp);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

static void test_stream_text(void **state)
{
    (void)state;
    script(1, (reply[]){{200, G_STREAM, NULL, true}});
    lo_llm_client *c = client_for(KEY, 0);
    lo_llm_request *r = simple_request("hi");
    ts_events ev;
    ts_events_init(&ev, KEY);
    lo_llm_response *resp = NULL;
    lo_llm_error e;
    assert_int_equal(lo_llm_stream(c, r, ts_on_event, &ev, &resp, &e), 0);
    pthread_mutex_lock(&S.mu);
    assert_string_equal(S.path, "/v1beta/models/" MODEL ":streamGenerateContent");
    assert_string_equal(S.query, "alt=sse");
    assert_string_equal(ts_header("x-goog-api-key"), KEY);
    pthread_mutex_unlock(&S.mu);
    assert_int_equal(ev.n_start, 1);
    assert_int_equal(ev.n_text_start, 1);
    assert_int_equal(ev.n_text_end, 1);
    assert_string_equal(ev.text.data, "Hello.");
    assert_string_equal(ev.reasoning.data, "Consider.");
    assert_int_equal(ev.n_finish, 1);
    assert_int_equal(ev.n_error, 0);
    assert_int_equal(ev.finish, LO_FINISH_STOP);
    assert_int_equal(ev.finish_input, 30);
    assert_int_equal(ev.finish_cached, 10);
    assert_int_equal(ev.finish_output, 25);
    char *t = lo_llm_response_text(resp);
    assert_string_equal(t, "Hello.");
    free(t);
    assert_int_equal(resp->message->n_parts, 2); /* thinking, then one merged text */
    assert_string_equal(resp->id, "resp-s1");
    assert_int_equal(resp->usage.reasoning_tokens, 5);
    assert_int_equal(resp->usage.total_tokens, 65);
    ts_events_release(&ev);
    lo_llm_response_free(resp);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

static void test_stream_function_call(void **state)
{
    (void)state;
    script(1, (reply[]){{200, G_STREAM_CALL, NULL, true}});
    lo_llm_client *c = client_for(KEY, 0);
    lo_llm_request *r = simple_request("read b.c");
    add_read_file_tool(r);
    ts_events ev;
    ts_events_init(&ev, KEY);
    lo_llm_response *resp = NULL;
    lo_llm_error e;
    assert_int_equal(lo_llm_stream(c, r, ts_on_event, &ev, &resp, &e), 0);
    assert_int_equal(ev.n_text_start, 1);
    assert_int_equal(ev.n_text_end, 1);
    assert_int_equal(ev.n_call_start, 1);
    assert_int_equal(ev.n_call_end, 1);
    assert_string_equal(ev.call_id, "call_1");
    assert_string_equal(ev.call_name, "read_file");
    assert_string_equal(ev.args.data, "{\"path\":\"b.c\"}");
    assert_string_equal(ev.end_args, "{\"path\":\"b.c\"}");
    assert_int_equal(ev.finish, LO_FINISH_TOOL_CALLS);
    size_t n = 0;
    const lo_llm_tool_call **calls = lo_llm_response_tool_calls(resp, &n);
    assert_int_equal(n, 1);
    assert_string_equal(calls[0]->id, "call_1");
    free(calls);
    /* text, the signature (as an empty THINKING), the call */
    assert_int_equal(resp->message->n_parts, 3);
    assert_string_equal(resp->message->parts[1].thinking.signature, "c2ln");
    ts_events_release(&ev);
    lo_llm_response_free(resp);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

static void test_stream_failures(void **state)
{
    (void)state;
    lo_llm_client *c = client_for(KEY, 0);
    lo_llm_request *r = simple_request("hi");
    lo_llm_error e;
    lo_llm_response *resp = NULL;
    ts_events ev;

    script(1, (reply[]){{200, G_STREAM_CUT, NULL, true}});
    ts_events_init(&ev, KEY);
    assert_int_not_equal(lo_llm_stream(c, r, ts_on_event, &ev, &resp, &e), 0);
    assert_null(resp);
    assert_int_equal(e.kind, LO_LLM_ERR_STREAM);
    assert_non_null(strstr(e.message, "finishReason"));
    assert_string_equal(ev.text.data, "Hal");
    assert_int_equal(ev.n_error, 1);
    assert_int_equal(ev.error_kind, LO_LLM_ERR_STREAM);
    assert_int_equal(ev.n_finish, 0);
    ts_events_release(&ev);

    script(1, (reply[]){{200, G_STREAM_BAD, NULL, true}});
    ts_events_init(&ev, KEY);
    assert_int_not_equal(lo_llm_stream(c, r, ts_on_event, &ev, &resp, &e), 0);
    assert_int_equal(e.kind, LO_LLM_ERR_STREAM);
    assert_non_null(strstr(e.message, "malformed JSON"));
    assert_int_equal(ev.n_error, 1);
    ts_events_release(&ev);

    /* An error object in the stream is classified by its status. */
    script(1, (reply[]){{200,
                         "data: " G_ERR(503, "UNAVAILABLE", "The model is overloaded.") "\r\n\r\n",
                         NULL, true}});
    ts_events_init(&ev, KEY);
    assert_int_not_equal(lo_llm_stream(c, r, ts_on_event, &ev, &resp, &e), 0);
    assert_int_equal(e.kind, LO_LLM_ERR_SERVER);
    assert_true(e.retryable);
    ts_events_release(&ev);

    /* An HTTP error before the stream starts, as for complete. */
    script(1, (reply[]){{404, G_ERR(404, "NOT_FOUND", "models/x is not found."), NULL, false}});
    ts_events_init(&ev, KEY);
    assert_int_not_equal(lo_llm_stream(c, r, ts_on_event, &ev, &resp, &e), 0);
    assert_int_equal(e.kind, LO_LLM_ERR_NOT_FOUND);
    assert_int_equal(e.status, 404);
    ts_events_release(&ev);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

static void test_malformed_json(void **state)
{
    (void)state;
    script(1, (reply[]){{200, "{\"candidates\": [", NULL, false}});
    lo_llm_client *c = client_for(KEY, 0);
    lo_llm_request *r = simple_request("hi");
    lo_llm_response *resp = NULL;
    lo_llm_error e;
    assert_int_equal(lo_llm_complete(c, r, &resp, &e), LO_EIO);
    assert_null(resp);
    assert_int_equal(e.kind, LO_LLM_ERR_PROVIDER);
    assert_non_null(strstr(e.message, "malformed JSON"));
    assert_string_equal(e.provider, "gemini");

    script(1, (reply[]){{200, "{\"unexpected\": true}", NULL, false}});
    assert_int_equal(lo_llm_complete(c, r, &resp, &e), LO_EIO);
    assert_int_equal(e.kind, LO_LLM_ERR_PROVIDER);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

static void expect_error(lo_llm_client *c, const reply *rp, lo_llm_error_kind kind, bool retryable)
{
    script(1, rp);
    lo_llm_request *r = simple_request("hi");
    lo_llm_response *resp = NULL;
    lo_llm_error e;
    assert_int_equal(lo_llm_complete(c, r, &resp, &e), LO_EIO);
    assert_int_equal(e.kind, kind);
    assert_int_equal(e.retryable, retryable);
    assert_int_equal(e.status, rp->status);
    assert_null(strstr(e.message, KEY));
    assert_int_equal(requests(), retryable ? 3 : 1); /* the client retried twice */
    lo_llm_request_free(r);
}

static void test_errors(void **state)
{
    (void)state;
    lo_llm_client *c = client_for(KEY, 2);
    expect_error(c,
                 &(reply){400, G_ERR(400, "INVALID_ARGUMENT", "Invalid value at 'contents'."),
                          NULL, false},
                 LO_LLM_ERR_INVALID_REQUEST, false);
    expect_error(c,
                 &(reply){400,
                          G_ERR(400, "INVALID_ARGUMENT",
                                "API key not valid. Please pass a valid API key."),
                          NULL, false},
                 LO_LLM_ERR_AUTHENTICATION, false);
    expect_error(c,
                 &(reply){400,
                          G_ERR(400, "INVALID_ARGUMENT",
                                "The input token count exceeds the maximum number of tokens "
                                "allowed."),
                          NULL, false},
                 LO_LLM_ERR_CONTEXT_LENGTH, false);
    expect_error(c,
                 &(reply){403,
                          G_ERR(403, "PERMISSION_DENIED",
                                "The caller does not have permission."),
                          NULL, false},
                 LO_LLM_ERR_ACCESS_DENIED, false);
    expect_error(c,
                 &(reply){404, G_ERR(404, "NOT_FOUND", "models/nope is not found for API "
                                                       "version v1beta."),
                          NULL, false},
                 LO_LLM_ERR_NOT_FOUND, false);
    expect_error(c, &(reply){429, G_429_DAILY, NULL, false}, LO_LLM_ERR_QUOTA_EXCEEDED, false);
    expect_error(c, &(reply){502, "<html>Bad Gateway</html>", NULL, false}, LO_LLM_ERR_SERVER,
                 true);
    lo_llm_client_free(c);

    /* RetryInfo's retryDelay is the retry-after when no header says one. */
    c = client_for(KEY, 0);
    script(1, (reply[]){{429, G_429_RETRYINFO, NULL, false}});
    lo_llm_request *r = simple_request("hi");
    lo_llm_response *resp = NULL;
    lo_llm_error e;
    assert_int_equal(lo_llm_complete(c, r, &resp, &e), LO_EIO);
    assert_int_equal(e.kind, LO_LLM_ERR_RATE_LIMIT);
    assert_true(e.retry_after > 0.49 && e.retry_after < 0.51);
    assert_string_equal(e.code, "RESOURCE_EXHAUSTED");
    assert_non_null(strstr(e.message, "HTTP 429 RESOURCE_EXHAUSTED"));
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

static void test_retries(void **state)
{
    (void)state;
    lo_llm_client *c = client_for(KEY, 2);
    lo_llm_request *r = simple_request("hi");
    lo_llm_response *resp = NULL;
    lo_llm_error e;
    script(2, (reply[]){{429, G_ERR(429, "RESOURCE_EXHAUSTED", "Rate limit."), "0", false},
                        {200, G_TEXT, NULL, false}});
    assert_int_equal(lo_llm_complete(c, r, &resp, &e), 0);
    assert_int_equal(requests(), 2);
    lo_llm_response_free(resp);

    script(2, (reply[]){{500, G_ERR(500, "INTERNAL", "An internal error has occurred."), NULL,
                         false},
                        {200, G_TEXT, NULL, false}});
    assert_int_equal(lo_llm_complete(c, r, &resp, &e), 0);
    assert_int_equal(requests(), 2);
    char *t = lo_llm_response_text(resp);
    assert_string_equal(t, "Hello there.");
    free(t);
    lo_llm_response_free(resp);

    /* A streamed request retries the same way before its first event. */
    script(2, (reply[]){{503, G_ERR(503, "UNAVAILABLE", "Overloaded."), NULL, false},
                        {200, G_STREAM, NULL, true}});
    ts_events ev;
    ts_events_init(&ev, KEY);
    assert_int_equal(lo_llm_stream(c, r, ts_on_event, &ev, &resp, &e), 0);
    assert_int_equal(requests(), 2);
    assert_string_equal(ev.text.data, "Hello.");
    ts_events_release(&ev);
    lo_llm_response_free(resp);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

static void test_keys_from_env(void **state)
{
    (void)state;
    unsetenv("GEMINI_API_KEY");
    unsetenv("GOOGLE_API_KEY");
    lo_llm_client *c = lo_llm_client_new();
    lo_llm_provider_config cfg = {.provider = "gemini", .base_url = S.base};
    lo_llm_error e;
    assert_int_equal(lo_llm_client_add_provider(c, &cfg, &e), LO_EINVAL);
    assert_int_equal(e.kind, LO_LLM_ERR_CONFIGURATION);
    assert_non_null(strstr(e.message, "GEMINI_API_KEY"));
    assert_non_null(strstr(e.message, "GOOGLE_API_KEY"));

    /* GOOGLE_API_KEY stands in for GEMINI_API_KEY. */
    setenv("GOOGLE_API_KEY", GKEY, 1);
    assert_int_equal(lo_llm_client_add_provider(c, &cfg, &e), 0);
    script(1, (reply[]){{200, G_TEXT, NULL, false}});
    lo_llm_request *r = simple_request("hi");
    lo_llm_response *resp = NULL;
    assert_int_equal(lo_llm_complete(c, r, &resp, &e), 0);
    pthread_mutex_lock(&S.mu);
    assert_string_equal(ts_header("x-goog-api-key"), GKEY);
    assert_null(strstr(S.query, GKEY));
    pthread_mutex_unlock(&S.mu);
    lo_llm_response_free(resp);
    lo_llm_client_free(c);

    /* GEMINI_API_KEY wins when both are set; from_env registers gemini. */
    setenv("GEMINI_API_KEY", KEY, 1);
    setenv("GEMINI_BASE_URL", S.base, 1);
    assert_int_equal(lo_llm_client_from_env(&c, &e), 0);
    assert_true(lo_llm_client_has_provider(c, "gemini"));
    r->provider = strdup("gemini");
    assert_int_equal(lo_llm_complete(c, r, &resp, &e), 0);
    pthread_mutex_lock(&S.mu);
    assert_string_equal(ts_header("x-goog-api-key"), KEY);
    pthread_mutex_unlock(&S.mu);
    lo_llm_response_free(resp);
    lo_llm_client_free(c);

    unsetenv("GEMINI_API_KEY");
    assert_int_equal(lo_llm_client_from_env(&c, &e), 0);
    assert_true(lo_llm_client_has_provider(c, "gemini"));
    lo_llm_client_free(c);
    unsetenv("GOOGLE_API_KEY");
    unsetenv("GEMINI_BASE_URL");
    lo_llm_request_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_translation),
        cmocka_unit_test(test_text_and_usage),
        cmocka_unit_test(test_function_call_round_trip),
        cmocka_unit_test(test_thinking_round_trip),
        cmocka_unit_test(test_stream_text),
        cmocka_unit_test(test_stream_function_call),
        cmocka_unit_test(test_stream_failures),
        cmocka_unit_test(test_malformed_json),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_retries),
        cmocka_unit_test(test_keys_from_env),
    };
    return cmocka_run_group_tests_name("llm_gemini", tests, setup_server, teardown_server);
}
