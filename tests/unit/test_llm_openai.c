/* Unit tests for the OpenAI Responses adapter (src/llm/openai.c) and the
 * Chat Completions adapter for OpenAI-compatible servers
 * (src/llm/openai_chat.c), against a real HTTP server on 127.0.0.1 started
 * here. Its handler records each request and answers scripted replies
 * written below in each API's wire format. */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "llm_testserver.h"

#define KEY "sk-proj-test-0123456789SECRET"
#define MODEL "gpt-test-1"

/* ------------------------------------------------------------ the server */

static const char *const ROUTES[] = {"/v1/responses", "responses", "/v1/chat/completions", "chat",
                                     NULL};
static const char *const RECORD[] = {"authorization", "openai-organization", "openai-project",
                                     "accept", NULL};
static const char *const REPLY_HEADERS[] = {
    "x-request-id", "req_oa_42",
    "x-ratelimit-limit-requests", "500",
    "x-ratelimit-remaining-requests", "499",
    "x-ratelimit-limit-tokens", "30000",
    "x-ratelimit-remaining-tokens", "29000",
    "x-ratelimit-reset-requests", "120ms",
    "x-ratelimit-reset-tokens", "6m0s",
    NULL};

static int setup_server(void **state)
{
    (void)state;
    /* The tests decide these themselves. */
    unsetenv("OPENAI_ORG_ID");
    unsetenv("OPENAI_PROJECT_ID");
    return ts_start(ROUTES, RECORD, REPLY_HEADERS, "/v1");
}

static int teardown_server(void **state)
{
    (void)state;
    return ts_stop();
}

/* ------------------------------------------------------------ helpers */

static lo_llm_client *client_for(const char *provider, const char *key, int max_retries)
{
    return ts_client(provider, key, max_retries, 0.01);
}

static lo_llm_request *simple_request(const char *text)
{
    return simple_request_for(MODEL, text);
}

static void add_read_file_tool(lo_llm_request *r)
{
    lo_error e;
    assert_int_equal(lo_llm_request_add_tool(r, "read_file", "Read a file",
                                             json_pack("{s:s,s:{s:{s:s}}}", "type", "object",
                                                       "properties", "path", "type", "string"),
                                             &e),
                     0);
}

/* ------------------------------------------------------------ Responses fixtures */

static const char RESP_TEXT[] =
    "{\"id\":\"resp_01\",\"object\":\"response\",\"created_at\":1741476542,"
    "\"status\":\"completed\",\"error\":null,\"incomplete_details\":null,"
    "\"model\":\"gpt-test-1\",\"output\":[{\"type\":\"message\",\"id\":\"msg_01\","
    "\"status\":\"completed\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\","
    "\"text\":\"Hello there.\",\"annotations\":[]}]}],"
    "\"usage\":{\"input_tokens\":100,\"input_tokens_details\":{\"cached_tokens\":60},"
    "\"output_tokens\":30,\"output_tokens_details\":{\"reasoning_tokens\":12},"
    "\"total_tokens\":130}}";

static const char RESP_TOOL[] =
    "{\"id\":\"resp_02\",\"object\":\"response\",\"status\":\"completed\","
    "\"model\":\"gpt-test-1\",\"output\":["
    "{\"type\":\"reasoning\",\"id\":\"rs_01\",\"summary\":[{\"type\":\"summary_text\","
    "\"text\":\"Need the file.\"}],\"encrypted_content\":\"gAAAAenc\"},"
    "{\"type\":\"function_call\",\"id\":\"fc_01\",\"call_id\":\"call_abc\","
    "\"name\":\"read_file\",\"arguments\":\"{\\\"path\\\":\\\"a.c\\\"}\","
    "\"status\":\"completed\"}],"
    "\"usage\":{\"input_tokens\":50,\"input_tokens_details\":{\"cached_tokens\":0},"
    "\"output_tokens\":20,\"output_tokens_details\":{\"reasoning_tokens\":8},"
    "\"total_tokens\":70}}";

static const char RESP_INCOMPLETE[] =
    "{\"id\":\"resp_03\",\"object\":\"response\",\"status\":\"incomplete\","
    "\"incomplete_details\":{\"reason\":\"max_output_tokens\"},\"model\":\"gpt-test-1\","
    "\"output\":[{\"type\":\"message\",\"id\":\"msg_03\",\"role\":\"assistant\","
    "\"content\":[{\"type\":\"output_text\",\"text\":\"Partial\"}]}],"
    "\"usage\":{\"input_tokens\":5,\"output_tokens\":16,\"total_tokens\":21}}";

static const char RESP_STREAM[] =
    "event: response.created\n"
    "data: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_s1\","
    "\"object\":\"response\",\"status\":\"in_progress\",\"model\":\"gpt-test-1\",\"output\":[]}}\n\n"
    "event: response.in_progress\n"
    "data: {\"type\":\"response.in_progress\",\"sequence_number\":1,\"response\":{\"id\":\"resp_s1\"}}\n\n"
    "event: response.output_item.added\n"
    "data: {\"type\":\"response.output_item.added\",\"sequence_number\":2,\"output_index\":0,"
    "\"item\":{\"type\":\"reasoning\",\"id\":\"rs_s1\",\"summary\":[]}}\n\n"
    "event: response.reasoning_summary_text.delta\n"
    "data: {\"type\":\"response.reasoning_summary_text.delta\",\"item_id\":\"rs_s1\","
    "\"output_index\":0,\"summary_index\":0,\"delta\":\"Thinking.\"}\n\n"
    "event: response.output_item.done\n"
    "data: {\"type\":\"response.output_item.done\",\"output_index\":0,\"item\":{\"type\":"
    "\"reasoning\",\"id\":\"rs_s1\",\"summary\":[{\"type\":\"summary_text\",\"text\":"
    "\"Thinking.\"}],\"encrypted_content\":\"gAAAAs\"}}\n\n"
    "event: response.output_item.added\n"
    "data: {\"type\":\"response.output_item.added\",\"output_index\":1,\"item\":{\"type\":"
    "\"message\",\"id\":\"msg_s1\",\"status\":\"in_progress\",\"role\":\"assistant\","
    "\"content\":[]}}\n\n"
    "event: response.content_part.added\n"
    "data: {\"type\":\"response.content_part.added\",\"item_id\":\"msg_s1\",\"output_index\":1,"
    "\"content_index\":0,\"part\":{\"type\":\"output_text\",\"text\":\"\"}}\n\n"
    "event: response.output_text.delta\n"
    "data: {\"type\":\"response.output_text.delta\",\"item_id\":\"msg_s1\",\"output_index\":1,"
    "\"content_index\":0,\"delta\":\"Hel\"}\n\n"
    "event: response.output_text.delta\n"
    "data: {\"type\":\"response.output_text.delta\",\"item_id\":\"msg_s1\",\"output_index\":1,"
    "\"content_index\":0,\"delta\":\"lo.\"}\n\n"
    "event: response.output_text.done\n"
    "data: {\"type\":\"response.output_text.done\",\"item_id\":\"msg_s1\",\"output_index\":1,"
    "\"content_index\":0,\"text\":\"Hello.\"}\n\n"
    "event: response.output_item.done\n"
    "data: {\"type\":\"response.output_item.done\",\"output_index\":1,\"item\":{\"type\":"
    "\"message\",\"id\":\"msg_s1\",\"status\":\"completed\",\"role\":\"assistant\",\"content\":"
    "[{\"type\":\"output_text\",\"text\":\"Hello.\",\"annotations\":[]}]}}\n\n"
    "event: response.output_item.added\n"
    "data: {\"type\":\"response.output_item.added\",\"output_index\":2,\"item\":{\"type\":"
    "\"function_call\",\"id\":\"fc_s1\",\"call_id\":\"call_s1\",\"name\":\"read_file\","
    "\"arguments\":\"\",\"status\":\"in_progress\"}}\n\n"
    "event: response.function_call_arguments.delta\n"
    "data: {\"type\":\"response.function_call_arguments.delta\",\"item_id\":\"fc_s1\","
    "\"output_index\":2,\"delta\":\"{\\\"path\\\":\"}\n\n"
    "event: response.function_call_arguments.delta\n"
    "data: {\"type\":\"response.function_call_arguments.delta\",\"item_id\":\"fc_s1\","
    "\"output_index\":2,\"delta\":\"\\\"b.c\\\"}\"}\n\n"
    "event: response.function_call_arguments.done\n"
    "data: {\"type\":\"response.function_call_arguments.done\",\"item_id\":\"fc_s1\","
    "\"output_index\":2,\"arguments\":\"{\\\"path\\\":\\\"b.c\\\"}\"}\n\n"
    "event: response.output_item.done\n"
    "data: {\"type\":\"response.output_item.done\",\"output_index\":2,\"item\":{\"type\":"
    "\"function_call\",\"id\":\"fc_s1\",\"call_id\":\"call_s1\",\"name\":\"read_file\","
    "\"arguments\":\"{\\\"path\\\":\\\"b.c\\\"}\",\"status\":\"completed\"}}\n\n"
    "event: response.completed\n"
    "data: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_s1\",\"object\":"
    "\"response\",\"status\":\"completed\",\"model\":\"gpt-test-1\",\"output\":[],"
    "\"usage\":{\"input_tokens\":40,\"input_tokens_details\":{\"cached_tokens\":10},"
    "\"output_tokens\":25,\"output_tokens_details\":{\"reasoning_tokens\":5},"
    "\"total_tokens\":65}}}\n\n";

static const char RESP_STREAM_CUT[] =
    "event: response.created\n"
    "data: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_s2\",\"model\":\"m\"}}\n\n"
    "event: response.output_item.added\n"
    "data: {\"type\":\"response.output_item.added\",\"output_index\":0,\"item\":{\"type\":"
    "\"message\",\"id\":\"msg_s2\",\"role\":\"assistant\",\"content\":[]}}\n\n"
    "event: response.output_text.delta\n"
    "data: {\"type\":\"response.output_text.delta\",\"item_id\":\"msg_s2\",\"output_index\":0,"
    "\"content_index\":0,\"delta\":\"Hal\"}\n\n";

static const char RESP_STREAM_FAILED[] =
    "event: response.created\n"
    "data: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_s3\",\"model\":\"m\"}}\n\n"
    "event: response.failed\n"
    "data: {\"type\":\"response.failed\",\"response\":{\"id\":\"resp_s3\",\"status\":\"failed\","
    "\"error\":{\"code\":\"server_error\",\"message\":\"The model broke.\"}}}\n\n";

/* ------------------------------------------------------------ Responses tests */

static void test_responses_request(void **state)
{
    (void)state;
    script(1, (reply[]){{200, RESP_TEXT, NULL, false}});
    setenv("OPENAI_ORG_ID", "org-test", 1);
    setenv("OPENAI_PROJECT_ID", "proj_test", 1);
    lo_llm_client *c = client_for("openai", KEY, 0);
    lo_llm_request *r = lo_llm_request_new(MODEL);
    lo_llm_request_add_message(r, lo_llm_text_message(LO_ROLE_SYSTEM, "You are terse."));
    lo_llm_request_add_message(r, lo_llm_text_message(LO_ROLE_DEVELOPER, "Use tools."));
    lo_llm_message *u = lo_llm_message_new(LO_ROLE_USER);
    lo_llm_message_add_text(u, "look at this");
    lo_llm_media img = {.data = "aGVsbG8=", .media_type = "image/jpeg"};
    lo_llm_message_add_media(u, LO_CONTENT_IMAGE, &img);
    lo_llm_request_add_message(r, u);
    lo_llm_request_add_message(r, lo_llm_text_message(LO_ROLE_ASSISTANT, "It is a cat."));
    add_read_file_tool(r);
    lo_llm_request_set_tool_choice(r, LO_TOOL_CHOICE_NAMED, "read_file");
    r->reasoning_effort = strdup("high");
    r->has_max_tokens = true;
    r->max_tokens = 777;
    r->has_temperature = true;
    r->temperature = 0.25;
    lo_llm_request_set_response_format(r, LO_FORMAT_JSON_SCHEMA,
                                       json_pack("{s:s}", "type", "object"), true);

    lo_llm_response *resp = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), 0);
    unsetenv("OPENAI_ORG_ID");
    unsetenv("OPENAI_PROJECT_ID");

    pthread_mutex_lock(&S.mu);
    assert_string_equal(S.route, "responses");
    assert_string_equal(ts_header("authorization"), "Bearer " KEY);
    assert_string_equal(ts_header("openai-organization"), "org-test");
    assert_string_equal(ts_header("openai-project"), "proj_test");
    assert_string_equal(ts_header("accept"), "application/json");
    pthread_mutex_unlock(&S.mu);

    json_t *j = sent();
    assert_string_equal(path_str(j, "model"), MODEL);
    assert_string_equal(path_str(j, "instructions"), "You are terse.");
    assert_int_equal(json_array_size(json_path(j, "input")), 3);
    assert_string_equal(path_str(j, "input.0.type"), "message");
    assert_string_equal(path_str(j, "input.0.role"), "developer");
    assert_string_equal(path_str(j, "input.0.content.0.type"), "input_text");
    assert_string_equal(path_str(j, "input.1.role"), "user");
    assert_string_equal(path_str(j, "input.1.content.0.text"), "look at this");
    assert_string_equal(path_str(j, "input.1.content.1.type"), "input_image");
    assert_string_equal(path_str(j, "input.1.content.1.image_url"),
                        "data:image/jpeg;base64,aGVsbG8=");
    assert_string_equal(path_str(j, "input.2.role"), "assistant");
    assert_string_equal(path_str(j, "input.2.content.0.type"), "output_text");
    assert_string_equal(path_str(j, "tools.0.type"), "function");
    assert_string_equal(path_str(j, "tools.0.name"), "read_file");
    assert_string_equal(path_str(j, "tools.0.description"), "Read a file");
    assert_string_equal(path_str(j, "tools.0.parameters.type"), "object");
    assert_true(json_is_false(json_path(j, "tools.0.strict")));
    assert_string_equal(path_str(j, "tool_choice.type"), "function");
    assert_string_equal(path_str(j, "tool_choice.name"), "read_file");
    assert_string_equal(path_str(j, "reasoning.effort"), "high");
    assert_int_equal(json_integer_value(json_path(j, "max_output_tokens")), 777);
    assert_null(json_path(j, "max_tokens"));
    assert_true(json_real_value(json_path(j, "temperature")) == 0.25);
    assert_string_equal(path_str(j, "text.format.type"), "json_schema");
    assert_string_equal(path_str(j, "text.format.schema.type"), "object");
    assert_true(json_is_true(json_path(j, "text.format.strict")));
    assert_null(json_path(j, "stream"));
    json_decref(j);

    /* the response: text, usage with the cached tokens taken out */
    char *text = lo_llm_response_text(resp);
    assert_string_equal(text, "Hello there.");
    free(text);
    assert_string_equal(resp->id, "resp_01");
    assert_string_equal(resp->provider, "openai");
    assert_int_equal(resp->finish.reason, LO_FINISH_STOP);
    assert_int_equal(resp->usage.input_tokens, 40);
    assert_int_equal(resp->usage.cache_read_tokens, 60);
    assert_int_equal(resp->usage.output_tokens, 30);
    assert_int_equal(resp->usage.reasoning_tokens, 12);
    assert_int_equal(resp->usage.total_tokens, 130);
    assert_string_equal(path_str(resp->raw, "_request_id"), "req_oa_42");
    assert_true(resp->has_rate_limit);
    assert_int_equal(resp->rate_limit.requests_remaining, 499);
    assert_int_equal(resp->rate_limit.tokens_limit, 30000);
    assert_true(resp->rate_limit.reset_at_ms > 0);
    lo_llm_response_free(resp);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

static void test_responses_tool_round_trip(void **state)
{
    (void)state;
    script(2, (reply[]){{200, RESP_TOOL, NULL, false}, {200, RESP_TEXT, NULL, false}});
    lo_llm_client *c = client_for("openai", KEY, 0);
    lo_llm_request *r = simple_request("read a.c");
    add_read_file_tool(r);
    lo_llm_response *resp = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), 0);
    assert_int_equal(resp->finish.reason, LO_FINISH_TOOL_CALLS);
    size_t n = 0;
    const lo_llm_tool_call **calls = lo_llm_response_tool_calls(resp, &n);
    assert_int_equal(n, 1);
    assert_string_equal(calls[0]->id, "call_abc");
    assert_string_equal(calls[0]->name, "read_file");
    assert_string_equal(calls[0]->raw_arguments, "{\"path\":\"a.c\"}");
    assert_string_equal(json_string_value(json_object_get(calls[0]->arguments, "path")), "a.c");
    char *reasoning = lo_llm_response_reasoning(resp);
    assert_string_equal(reasoning, "Need the file.");
    free(reasoning);
    assert_int_equal(resp->usage.reasoning_tokens, 8);
    assert_int_equal(resp->usage.input_tokens, 50);
    assert_int_equal(resp->usage.cache_read_tokens, 0);

    /* send the assistant turn back with the tool's answer */
    lo_llm_request_add_message(r, lo_llm_message_clone(resp->message));
    lo_llm_request_add_message(r, lo_llm_tool_result_message(calls[0]->id, "int a;", false));
    free(calls);
    lo_llm_response_free(resp);
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), 0);
    json_t *j = sent();
    assert_int_equal(json_array_size(json_path(j, "input")), 4);
    assert_string_equal(path_str(j, "input.1.type"), "reasoning");
    assert_string_equal(path_str(j, "input.1.id"), "rs_01");
    assert_string_equal(path_str(j, "input.1.encrypted_content"), "gAAAAenc");
    assert_string_equal(path_str(j, "input.1.summary.0.text"), "Need the file.");
    assert_null(json_path(j, "input.1.status"));
    assert_string_equal(path_str(j, "input.2.type"), "function_call");
    assert_string_equal(path_str(j, "input.2.call_id"), "call_abc");
    assert_string_equal(path_str(j, "input.2.name"), "read_file");
    assert_string_equal(path_str(j, "input.2.arguments"), "{\"path\":\"a.c\"}");
    assert_string_equal(path_str(j, "input.3.type"), "function_call_output");
    assert_string_equal(path_str(j, "input.3.call_id"), "call_abc");
    assert_string_equal(path_str(j, "input.3.output"), "int a;");
    json_decref(j);
    lo_llm_response_free(resp);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

static void test_responses_incomplete_and_choices(void **state)
{
    (void)state;
    script(1, (reply[]){{200, RESP_INCOMPLETE, NULL, false}});
    lo_llm_client *c = client_for("openai", KEY, 0);
    lo_llm_request *r = simple_request("hi");
    lo_error e;
    lo_llm_request_add_tool(r, "t", "", NULL, &e);
    lo_llm_request_set_tool_choice(r, LO_TOOL_CHOICE_REQUIRED, NULL);
    lo_llm_request_add_stop(r, "END");
    lo_llm_response *resp = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), 0);
    assert_int_equal(resp->finish.reason, LO_FINISH_LENGTH);
    assert_string_equal(resp->finish.raw, "max_output_tokens");
    assert_int_equal(resp->n_warnings, 1); /* stop sequences dropped */
    json_t *j = sent();
    assert_string_equal(path_str(j, "tool_choice"), "required");
    assert_null(json_path(j, "stop"));
    assert_null(json_path(j, "instructions"));
    json_decref(j);
    lo_llm_response_free(resp);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

static void test_responses_stream(void **state)
{
    (void)state;
    script(1, (reply[]){{200, RESP_STREAM, NULL, true}});
    lo_llm_client *c = client_for("openai", KEY, 0);
    lo_llm_request *r = simple_request("hi");
    add_read_file_tool(r);
    ts_events ev;
    ts_events_init(&ev, KEY);
    lo_llm_response *resp = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_stream(c, r, ts_on_event, &ev, &resp, &err), 0);
    json_t *j = sent();
    assert_true(json_is_true(json_path(j, "stream")));
    json_decref(j);
    pthread_mutex_lock(&S.mu);
    assert_string_equal(ts_header("accept"), "text/event-stream");
    pthread_mutex_unlock(&S.mu);
    assert_int_equal(ev.n_start, 1);
    assert_int_equal(ev.n_text_start, 1);
    assert_int_equal(ev.n_text_end, 1);
    assert_string_equal(ev.text.data, "Hello.");
    assert_string_equal(ev.reasoning.data, "Thinking.");
    assert_int_equal(ev.n_call_start, 1);
    assert_string_equal(ev.call_id, "call_s1");
    assert_string_equal(ev.call_name, "read_file");
    assert_string_equal(ev.args.data, "{\"path\":\"b.c\"}");
    assert_int_equal(ev.n_call_end, 1);
    assert_string_equal(ev.end_args, "{\"path\":\"b.c\"}");
    assert_int_equal(ev.n_finish, 1);
    assert_int_equal(ev.finish, LO_FINISH_TOOL_CALLS);
    assert_int_equal(ev.finish_input, 30);
    assert_int_equal(ev.finish_cached, 10);
    assert_int_equal(ev.finish_output, 25);
    assert_int_equal(ev.n_error, 0);
    /* the accumulated response */
    char *text = lo_llm_response_text(resp);
    assert_string_equal(text, "Hello.");
    free(text);
    size_t n = 0;
    const lo_llm_tool_call **calls = lo_llm_response_tool_calls(resp, &n);
    assert_int_equal(n, 1);
    assert_string_equal(json_string_value(json_object_get(calls[0]->arguments, "path")), "b.c");
    free(calls);
    assert_string_equal(resp->id, "resp_s1");
    assert_int_equal(resp->usage.reasoning_tokens, 5);
    ts_events_release(&ev);
    lo_llm_response_free(resp);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

static void test_responses_stream_cut_and_failed(void **state)
{
    (void)state;
    script(1, (reply[]){{200, RESP_STREAM_CUT, NULL, true}});
    lo_llm_client *c = client_for("openai", KEY, 2);
    lo_llm_request *r = simple_request("hi");
    ts_events ev;
    ts_events_init(&ev, KEY);
    lo_llm_response *resp = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_stream(c, r, ts_on_event, &ev, &resp, &err), LO_EIO);
    assert_null(resp);
    assert_int_equal(err.kind, LO_LLM_ERR_STREAM);
    assert_string_equal(ev.text.data, "Hal");
    assert_int_equal(ev.n_error, 1);
    assert_int_equal(ev.error_kind, LO_LLM_ERR_STREAM);
    assert_int_equal(requests(), 1); /* events reached the caller: no retry */
    ts_events_release(&ev);

    script(1, (reply[]){{200, RESP_STREAM_FAILED, NULL, true}});
    ts_events_init(&ev, KEY);
    lo_llm_client *c0 = client_for("openai", KEY, 0);
    assert_int_equal(lo_llm_stream(c0, r, ts_on_event, &ev, &resp, &err), LO_EIO);
    assert_int_equal(err.kind, LO_LLM_ERR_SERVER);
    assert_non_null(strstr(err.message, "The model broke."));
    assert_int_equal(ev.n_error, 1);
    ts_events_release(&ev);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
    lo_llm_client_free(c0);
}

static void test_responses_errors(void **state)
{
    (void)state;
    static const char E401[] = "{\"error\":{\"message\":\"Incorrect API key provided: "
                               "sk-proj-test-0123456789SECRET.\",\"type\":"
                               "\"invalid_request_error\",\"param\":null,\"code\":"
                               "\"invalid_api_key\"}}";
    static const char E404[] = "{\"error\":{\"message\":\"The model `nope` does not exist\","
                               "\"type\":\"invalid_request_error\",\"param\":\"model\","
                               "\"code\":\"model_not_found\"}}";
    static const char E429[] = "{\"error\":{\"message\":\"Rate limit reached\",\"type\":"
                               "\"requests\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}";
    static const char E500[] = "{\"error\":{\"message\":\"The server had an error\",\"type\":"
                               "\"server_error\",\"param\":null,\"code\":null}}";
    lo_llm_client *c = client_for("openai", KEY, 2);
    lo_llm_request *r = simple_request("hi");
    lo_llm_response *resp = NULL;
    lo_llm_error err;

    script(1, (reply[]){{401, E401, NULL, false}});
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), LO_EIO);
    assert_int_equal(err.kind, LO_LLM_ERR_AUTHENTICATION);
    assert_false(err.retryable);
    assert_int_equal(err.status, 401);
    assert_string_equal(err.provider, "openai");
    assert_null(strstr(err.message, KEY)); /* scrubbed */
    assert_int_equal(requests(), 1);

    script(1, (reply[]){{404, E404, NULL, false}});
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), LO_EIO);
    assert_int_equal(err.kind, LO_LLM_ERR_NOT_FOUND);
    assert_string_equal(err.code, "model_not_found");
    assert_non_null(strstr(err.message, "param model"));
    assert_int_equal(requests(), 1);

    script(2, (reply[]){{429, E429, "0", false}, {200, RESP_TEXT, NULL, false}});
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), 0);
    assert_int_equal(requests(), 2);
    lo_llm_response_free(resp);

    script(2, (reply[]){{500, E500, NULL, false}, {200, RESP_TEXT, NULL, false}});
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), 0);
    assert_int_equal(requests(), 2);
    lo_llm_response_free(resp);

    /* Retry-After is carried on the error */
    lo_llm_client *c0 = client_for("openai", KEY, 0);
    script(1, (reply[]){{429, E429, "7", false}});
    assert_int_equal(lo_llm_complete(c0, r, &resp, &err), LO_EIO);
    assert_int_equal(err.kind, LO_LLM_ERR_RATE_LIMIT);
    assert_true(err.retry_after == 7.0);

    /* an exhausted quota is not a rate limit: no retry */
    script(1, (reply[]){{429,
                         "{\"error\":{\"message\":\"You exceeded your current quota\",\"type\":"
                         "\"insufficient_quota\",\"code\":\"insufficient_quota\"}}",
                         NULL, false}});
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), LO_EIO);
    assert_int_equal(err.kind, LO_LLM_ERR_QUOTA_EXCEEDED);
    assert_int_equal(requests(), 1);

    /* malformed JSON in a 200 */
    script(1, (reply[]){{200, "{\"id\":\"resp_x\",\"output\":[", NULL, false}});
    assert_int_equal(lo_llm_complete(c0, r, &resp, &err), LO_EIO);
    assert_int_equal(err.kind, LO_LLM_ERR_PROVIDER);
    assert_non_null(strstr(err.message, "malformed JSON"));
    assert_null(resp);

    lo_llm_request_free(r);
    lo_llm_client_free(c);
    lo_llm_client_free(c0);
}

static void test_missing_key_and_from_env(void **state)
{
    (void)state;
    const char *vars[] = {"OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_CHAT_API_KEY",
                          "OPENAI_CHAT_BASE_URL", "ANTHROPIC_API_KEY"};
    char *saved[5];
    for (size_t i = 0; i < 5; i++) {
        saved[i] = getenv(vars[i]) ? strdup(getenv(vars[i])) : NULL;
        unsetenv(vars[i]);
    }
    lo_llm_client *c = lo_llm_client_new();
    lo_llm_error err;
    lo_llm_provider_config cfg = {.provider = "openai"};
    assert_int_equal(lo_llm_client_add_provider(c, &cfg, &err), LO_EINVAL);
    assert_int_equal(err.kind, LO_LLM_ERR_CONFIGURATION);
    assert_non_null(strstr(err.message, "OPENAI_API_KEY"));
    /* openai_chat without key or base URL: a configuration error too */
    cfg.provider = "openai_chat";
    assert_int_equal(lo_llm_client_add_provider(c, &cfg, &err), LO_EINVAL);
    assert_non_null(strstr(err.message, "OPENAI_CHAT_API_KEY"));
    lo_llm_client_free(c);

    /* from_env: OPENAI_API_KEY configures openai, and openai_chat only
     * when its own variables say so */
    setenv("OPENAI_API_KEY", KEY, 1);
    setenv("OPENAI_BASE_URL", S.base, 1);
    assert_int_equal(lo_llm_client_from_env(&c, &err), 0);
    assert_true(lo_llm_client_has_provider(c, "openai"));
    assert_false(lo_llm_client_has_provider(c, "openai_chat"));
    script(1, (reply[]){{200, RESP_TEXT, NULL, false}});
    lo_llm_request *r = simple_request("hi");
    r->provider = strdup("openai");
    lo_llm_response *resp = NULL;
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), 0);
    lo_llm_response_free(resp);
    lo_llm_client_free(c);

    /* OPENAI_CHAT_BASE_URL alone: openai_chat, keyless (OpenAI's key is
     * not sent to a server named for openai_chat) */
    setenv("OPENAI_CHAT_BASE_URL", S.base, 1);
    assert_int_equal(lo_llm_client_from_env(&c, &err), 0);
    assert_true(lo_llm_client_has_provider(c, "openai_chat"));
    script(1, (reply[]){{200,
                         "{\"id\":\"c1\",\"object\":\"chat.completion\",\"model\":\"m\","
                         "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
                         "\"content\":\"ok\"},\"finish_reason\":\"stop\"}]}",
                         NULL, false}});
    free(r->provider);
    r->provider = strdup("openai_chat");
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), 0);
    pthread_mutex_lock(&S.mu);
    assert_string_equal(S.route, "chat");
    assert_null(ts_header("authorization"));
    pthread_mutex_unlock(&S.mu);
    lo_llm_response_free(resp);
    lo_llm_client_free(c);
    lo_llm_request_free(r);

    for (size_t i = 0; i < 5; i++) {
        if (saved[i])
            setenv(vars[i], saved[i], 1);
        else
            unsetenv(vars[i]);
        free(saved[i]);
    }
}

/* ------------------------------------------------------------ Chat Completions fixtures */

static const char CHAT_TEXT[] =
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1741570283,"
    "\"model\":\"gpt-test-1\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
    "\"content\":\"Hello there.\",\"refusal\":null},\"logprobs\":null,"
    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":90,\"completion_tokens\":20,"
    "\"total_tokens\":110,\"prompt_tokens_details\":{\"cached_tokens\":64},"
    "\"completion_tokens_details\":{\"reasoning_tokens\":4}}}";

static const char CHAT_TOOL[] =
    "{\"id\":\"chatcmpl-2\",\"object\":\"chat.completion\",\"model\":\"gpt-test-1\","
    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
    "\"reasoning_content\":\"Look first.\",\"tool_calls\":[{\"id\":\"call_x1\",\"type\":"
    "\"function\",\"function\":{\"name\":\"read_file\",\"arguments\":"
    "\"{\\\"path\\\":\\\"a.c\\\"}\"}}]},\"finish_reason\":\"tool_calls\"}],"
    "\"usage\":{\"prompt_tokens\":30,\"completion_tokens\":10,\"total_tokens\":40}}";

static const char CHAT_STREAM[] =
    "data: {\"id\":\"chatcmpl-s1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-test-1\","
    "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
    "\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"chatcmpl-s1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-test-1\","
    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"chatcmpl-s1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-test-1\","
    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo.\"},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"chatcmpl-s1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-test-1\","
    "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_s9\","
    "\"type\":\"function\",\"function\":{\"name\":\"read_file\",\"arguments\":\"\"}}]},"
    "\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"chatcmpl-s1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-test-1\","
    "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"
    "{\"arguments\":\"{\\\"pa\"}}]},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"chatcmpl-s1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-test-1\","
    "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"
    "{\"arguments\":\"th\\\":\\\"c.c\\\"}\"}}]},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"chatcmpl-s1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-test-1\","
    "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
    "data: {\"id\":\"chatcmpl-s1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-test-1\","
    "\"choices\":[],\"usage\":{\"prompt_tokens\":50,\"completion_tokens\":12,"
    "\"total_tokens\":62,\"prompt_tokens_details\":{\"cached_tokens\":20}}}\n\n"
    "data: [DONE]\n\n";

static const char CHAT_STREAM_CUT[] =
    "data: {\"id\":\"chatcmpl-s2\",\"object\":\"chat.completion.chunk\",\"model\":\"m\","
    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hal\"},\"finish_reason\":null}]}\n\n";

/* ------------------------------------------------------------ Chat Completions tests */

static void test_chat_request(void **state)
{
    (void)state;
    script(1, (reply[]){{200, CHAT_TEXT, NULL, false}});
    setenv("OPENAI_ORG_ID", "org-test", 1); /* OpenAI's, not a compatible server's */
    lo_llm_client *c = client_for("openai_chat", KEY, 0);
    lo_llm_request *r = lo_llm_request_new(MODEL);
    lo_llm_request_add_message(r, lo_llm_text_message(LO_ROLE_SYSTEM, "You are terse."));
    lo_llm_request_add_message(r, lo_llm_text_message(LO_ROLE_DEVELOPER, "Use tools."));
    lo_llm_request_add_message(r, lo_llm_text_message(LO_ROLE_USER, "hi"));
    lo_llm_message *u = lo_llm_message_new(LO_ROLE_USER);
    lo_llm_message_add_text(u, "and this");
    lo_llm_media img = {.url = "https://example.com/x.png", .detail = "low"};
    lo_llm_message_add_media(u, LO_CONTENT_IMAGE, &img);
    lo_llm_request_add_message(r, u);
    add_read_file_tool(r);
    lo_llm_request_set_tool_choice(r, LO_TOOL_CHOICE_NAMED, "read_file");
    r->has_max_tokens = true;
    r->max_tokens = 321;
    lo_llm_request_add_stop(r, "END");
    lo_llm_request_set_response_format(r, LO_FORMAT_JSON_SCHEMA,
                                       json_pack("{s:s}", "type", "object"), false);
    r->provider_options = json_pack("{s:{s:i}}", "openai_chat", "top_k", 5);
    lo_llm_response *resp = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), 0);
    unsetenv("OPENAI_ORG_ID");

    pthread_mutex_lock(&S.mu);
    assert_string_equal(S.route, "chat");
    assert_string_equal(ts_header("authorization"), "Bearer " KEY);
    assert_null(ts_header("openai-organization"));
    pthread_mutex_unlock(&S.mu);
    json_t *j = sent();
    assert_string_equal(path_str(j, "model"), MODEL);
    assert_int_equal(json_array_size(json_path(j, "messages")), 4);
    assert_string_equal(path_str(j, "messages.0.role"), "system");
    assert_string_equal(path_str(j, "messages.0.content"), "You are terse.");
    assert_string_equal(path_str(j, "messages.1.role"), "system");
    assert_string_equal(path_str(j, "messages.2.content"), "hi");
    assert_string_equal(path_str(j, "messages.3.content.0.type"), "text");
    assert_string_equal(path_str(j, "messages.3.content.1.type"), "image_url");
    assert_string_equal(path_str(j, "messages.3.content.1.image_url.url"),
                        "https://example.com/x.png");
    assert_string_equal(path_str(j, "messages.3.content.1.image_url.detail"), "low");
    assert_string_equal(path_str(j, "tools.0.type"), "function");
    assert_string_equal(path_str(j, "tools.0.function.name"), "read_file");
    assert_string_equal(path_str(j, "tools.0.function.parameters.type"), "object");
    assert_string_equal(path_str(j, "tool_choice.type"), "function");
    assert_string_equal(path_str(j, "tool_choice.function.name"), "read_file");
    assert_int_equal(json_integer_value(json_path(j, "max_tokens")), 321);
    assert_string_equal(path_str(j, "stop.0"), "END");
    assert_string_equal(path_str(j, "response_format.type"), "json_schema");
    assert_string_equal(path_str(j, "response_format.json_schema.schema.type"), "object");
    assert_int_equal(json_integer_value(json_path(j, "top_k")), 5);
    assert_null(json_path(j, "stream"));
    json_decref(j);

    char *text = lo_llm_response_text(resp);
    assert_string_equal(text, "Hello there.");
    free(text);
    assert_string_equal(resp->provider, "openai_chat");
    assert_int_equal(resp->finish.reason, LO_FINISH_STOP);
    assert_int_equal(resp->usage.input_tokens, 26);
    assert_int_equal(resp->usage.cache_read_tokens, 64);
    assert_int_equal(resp->usage.output_tokens, 20);
    assert_int_equal(resp->usage.reasoning_tokens, 4);
    assert_int_equal(resp->usage.total_tokens, 110);
    assert_int_equal(resp->rate_limit.requests_limit, 500);
    lo_llm_response_free(resp);

    /* a reasoning effort: reasoning_effort and max_completion_tokens */
    r->reasoning_effort = strdup("low");
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), 0);
    j = sent();
    assert_string_equal(path_str(j, "reasoning_effort"), "low");
    assert_int_equal(json_integer_value(json_path(j, "max_completion_tokens")), 321);
    assert_null(json_path(j, "max_tokens"));
    json_decref(j);
    lo_llm_response_free(resp);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

static void test_chat_keyless(void **state)
{
    (void)state;
    char *saved = getenv("OPENAI_CHAT_API_KEY") ? strdup(getenv("OPENAI_CHAT_API_KEY")) : NULL;
    unsetenv("OPENAI_CHAT_API_KEY");
    script(1, (reply[]){{200, CHAT_TEXT, NULL, false}});
    lo_llm_client *c = client_for("openai_chat", NULL, 0);
    lo_llm_request *r = simple_request("hi");
    lo_llm_response *resp = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), 0);
    pthread_mutex_lock(&S.mu);
    assert_null(ts_header("authorization"));
    pthread_mutex_unlock(&S.mu);
    lo_llm_response_free(resp);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
    if (saved)
        setenv("OPENAI_CHAT_API_KEY", saved, 1);
    free(saved);
}

static void test_chat_tool_round_trip(void **state)
{
    (void)state;
    script(2, (reply[]){{200, CHAT_TOOL, NULL, false}, {200, CHAT_TEXT, NULL, false}});
    lo_llm_client *c = client_for("openai_chat", KEY, 0);
    lo_llm_request *r = simple_request("read a.c");
    add_read_file_tool(r);
    lo_llm_response *resp = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), 0);
    assert_int_equal(resp->finish.reason, LO_FINISH_TOOL_CALLS);
    size_t n = 0;
    const lo_llm_tool_call **calls = lo_llm_response_tool_calls(resp, &n);
    assert_int_equal(n, 1);
    assert_string_equal(calls[0]->id, "call_x1");
    assert_string_equal(calls[0]->raw_arguments, "{\"path\":\"a.c\"}");
    assert_string_equal(json_string_value(json_object_get(calls[0]->arguments, "path")), "a.c");
    char *reasoning = lo_llm_response_reasoning(resp);
    assert_string_equal(reasoning, "Look first.");
    free(reasoning);
    assert_int_equal(resp->usage.input_tokens, 30);

    lo_llm_request_add_message(r, lo_llm_message_clone(resp->message));
    lo_llm_request_add_message(r, lo_llm_tool_result_message(calls[0]->id, "int a;", false));
    free(calls);
    lo_llm_response_free(resp);
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), 0);
    json_t *j = sent();
    assert_int_equal(json_array_size(json_path(j, "messages")), 3);
    assert_string_equal(path_str(j, "messages.1.role"), "assistant");
    assert_true(json_is_null(json_path(j, "messages.1.content")));
    assert_string_equal(path_str(j, "messages.1.tool_calls.0.id"), "call_x1");
    assert_string_equal(path_str(j, "messages.1.tool_calls.0.type"), "function");
    assert_string_equal(path_str(j, "messages.1.tool_calls.0.function.name"), "read_file");
    assert_string_equal(path_str(j, "messages.1.tool_calls.0.function.arguments"),
                        "{\"path\":\"a.c\"}");
    assert_string_equal(path_str(j, "messages.2.role"), "tool");
    assert_string_equal(path_str(j, "messages.2.tool_call_id"), "call_x1");
    assert_string_equal(path_str(j, "messages.2.content"), "int a;");
    json_decref(j);
    lo_llm_response_free(resp);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

static void test_chat_stream(void **state)
{
    (void)state;
    script(1, (reply[]){{200, CHAT_STREAM, NULL, true}});
    lo_llm_client *c = client_for("openai_chat", KEY, 0);
    lo_llm_request *r = simple_request("hi");
    add_read_file_tool(r);
    ts_events ev;
    ts_events_init(&ev, KEY);
    lo_llm_response *resp = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_stream(c, r, ts_on_event, &ev, &resp, &err), 0);
    json_t *j = sent();
    assert_true(json_is_true(json_path(j, "stream")));
    assert_true(json_is_true(json_path(j, "stream_options.include_usage")));
    json_decref(j);
    assert_int_equal(ev.n_start, 1);
    assert_int_equal(ev.n_text_start, 1);
    assert_int_equal(ev.n_text_end, 1);
    assert_string_equal(ev.text.data, "Hello.");
    assert_int_equal(ev.n_call_start, 1);
    assert_string_equal(ev.call_id, "call_s9");
    assert_string_equal(ev.call_name, "read_file");
    assert_string_equal(ev.args.data, "{\"path\":\"c.c\"}");
    assert_int_equal(ev.n_call_end, 1);
    assert_string_equal(ev.end_args, "{\"path\":\"c.c\"}");
    assert_int_equal(ev.n_finish, 1);
    assert_int_equal(ev.finish, LO_FINISH_TOOL_CALLS);
    assert_int_equal(ev.finish_input, 30);
    assert_int_equal(ev.finish_cached, 20);
    assert_int_equal(ev.finish_output, 12);
    char *text = lo_llm_response_text(resp);
    assert_string_equal(text, "Hello.");
    free(text);
    size_t n = 0;
    const lo_llm_tool_call **calls = lo_llm_response_tool_calls(resp, &n);
    assert_int_equal(n, 1);
    assert_string_equal(json_string_value(json_object_get(calls[0]->arguments, "path")), "c.c");
    free(calls);
    assert_string_equal(resp->id, "chatcmpl-s1");
    ts_events_release(&ev);
    lo_llm_response_free(resp);
    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

static void test_chat_stream_cut_and_errors(void **state)
{
    (void)state;
    lo_llm_client *c = client_for("openai_chat", KEY, 2);
    lo_llm_request *r = simple_request("hi");
    ts_events ev;
    ts_events_init(&ev, KEY);
    lo_llm_response *resp = NULL;
    lo_llm_error err;
    script(1, (reply[]){{200, CHAT_STREAM_CUT, NULL, true}});
    assert_int_equal(lo_llm_stream(c, r, ts_on_event, &ev, &resp, &err), LO_EIO);
    assert_int_equal(err.kind, LO_LLM_ERR_STREAM);
    assert_int_equal(ev.n_error, 1);
    assert_string_equal(ev.text.data, "Hal");
    ts_events_release(&ev);

    /* malformed chunk */
    ts_events_init(&ev, KEY);
    script(1, (reply[]){{200, "data: {\"choices\":[{\"delta\":\n\n", NULL, true}});
    assert_int_equal(lo_llm_stream(c, r, ts_on_event, &ev, &resp, &err), LO_EIO);
    assert_int_equal(err.kind, LO_LLM_ERR_STREAM);
    assert_non_null(strstr(err.message, "malformed JSON"));
    ts_events_release(&ev);

    static const char E401[] = "{\"error\":{\"message\":\"Invalid key\",\"type\":"
                               "\"invalid_request_error\",\"code\":\"invalid_api_key\"}}";
    script(1, (reply[]){{401, E401, NULL, false}});
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), LO_EIO);
    assert_int_equal(err.kind, LO_LLM_ERR_AUTHENTICATION);
    assert_string_equal(err.provider, "openai_chat");
    assert_int_equal(requests(), 1);

    script(1, (reply[]){{404, "{\"error\":{\"message\":\"model not found\"}}", NULL, false}});
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), LO_EIO);
    assert_int_equal(err.kind, LO_LLM_ERR_NOT_FOUND);

    script(2, (reply[]){{429, "{\"error\":{\"message\":\"slow down\"}}", "0", false},
                        {200, CHAT_TEXT, NULL, false}});
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), 0);
    assert_int_equal(requests(), 2);
    lo_llm_response_free(resp);

    script(2, (reply[]){{500, "Internal Server Error", NULL, false},
                        {200, CHAT_TEXT, NULL, false}});
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), 0);
    assert_int_equal(requests(), 2);
    lo_llm_response_free(resp);

    script(1, (reply[]){{200, "not json", NULL, false}});
    assert_int_equal(lo_llm_complete(c, r, &resp, &err), LO_EIO);
    assert_int_equal(err.kind, LO_LLM_ERR_PROVIDER);
    assert_null(resp);

    lo_llm_request_free(r);
    lo_llm_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_responses_request),
        cmocka_unit_test(test_responses_tool_round_trip),
        cmocka_unit_test(test_responses_incomplete_and_choices),
        cmocka_unit_test(test_responses_stream),
        cmocka_unit_test(test_responses_stream_cut_and_failed),
        cmocka_unit_test(test_responses_errors),
        cmocka_unit_test(test_missing_key_and_from_env),
        cmocka_unit_test(test_chat_request),
        cmocka_unit_test(test_chat_keyless),
        cmocka_unit_test(test_chat_tool_round_trip),
        cmocka_unit_test(test_chat_stream),
        cmocka_unit_test(test_chat_stream_cut_and_errors),
    };
    return cmocka_run_group_tests_name("llm_openai", tests, setup_server, teardown_server);
}
