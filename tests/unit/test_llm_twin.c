/* The LLM client's adapters against the provider twins, in one process over
 * real sockets: what the issue means by "tested offline against the twins".
 * Uses the shipped tapes tests/data/tapes/openai.jsonl and basic.jsonl. */
#include "llm_twin.h"

static const char *const TAPES[] = {"openai.jsonl", "basic.jsonl", NULL};

TWIN_GROUP_FIXTURES(TAPES)

static lo_llm_request *ask(const char *text)
{
    return ask_with("anthropic", "claude-sonnet-4-5", text);
}

static void test_text(void **state)
{
    twin_fixture *f = *state;
    lo_llm_request *r = ask("hello there");
    lo_llm_response *res = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_complete(f->client, r, &res, &err), 0);
    char *text = lo_llm_response_text(res);
    assert_string_equal(text, "Hello! How can I help you today?");
    assert_int_equal(res->finish.reason, LO_FINISH_STOP);
    assert_true(res->usage.input_tokens > 0);
    assert_true(res->usage.output_tokens > 0);
    assert_non_null(res->id);
    assert_true(strncmp(res->id, "msg_", 4) == 0);
    free(text);
    lo_llm_response_free(res);
    lo_llm_request_free(r);
}

static void test_stream(void **state)
{
    twin_fixture *f = *state;
    lo_llm_request *r = ask("hello, streamed");
    collected c;
    collected_init(&c);
    lo_llm_response *res = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_stream(f->client, r, collect_event, &c, &res, &err), 0);
    assert_string_equal(c.text.data, "Hello! How can I help you today?");
    assert_true(c.deltas >= 1);
    assert_int_equal(c.finishes, 1);
    char *text = lo_llm_response_text(res);
    assert_string_equal(text, c.text.data);
    free(text);
    lo_buf_release(&c.text);
    lo_llm_response_free(res);
    lo_llm_request_free(r);
}

/* A tool call, its result, and the final answer: two requests. */
static void test_tool_round_trip(void **state)
{
    twin_fixture *f = *state;
    lo_llm_request *r = ask("what is the weather in Paris?");
    lo_error err;
    assert_int_equal(lo_llm_request_add_tool(r, "get_weather", "Weather for a city",
                                             json_pack("{s:s, s:{s:{s:s}}, s:[s]}", "type",
                                                       "object", "properties", "city", "type",
                                                       "string", "required", "city"),
                                             &err),
                     0);
    lo_llm_response *res = NULL;
    lo_llm_error lerr;
    assert_int_equal(lo_llm_complete(f->client, r, &res, &lerr), 0);
    assert_int_equal(res->finish.reason, LO_FINISH_TOOL_CALLS);
    size_t n;
    const lo_llm_tool_call **calls = lo_llm_response_tool_calls(res, &n);
    assert_int_equal(n, 1);
    assert_string_equal(calls[0]->name, "get_weather");
    assert_string_equal(json_string_value(json_object_get(calls[0]->arguments, "city")), "Paris");
    char *id = strdup(calls[0]->id);
    free(calls);
    /* send the assistant turn back, then the tool's result */
    assert_int_equal(lo_llm_request_add_message(r, lo_llm_message_clone(res->message)), 0);
    assert_int_equal(lo_llm_request_add_message(r, lo_llm_tool_result_message(id, "18°C, sunny",
                                                                               false)),
                     0);
    lo_llm_response_free(res);
    res = NULL;
    assert_int_equal(lo_llm_complete(f->client, r, &res, &lerr), 0);
    char *text = lo_llm_response_text(res);
    assert_string_equal(text, "It is 18°C and sunny in Paris.");
    free(text);
    free(id);
    lo_llm_response_free(res);
    lo_llm_request_free(r);
}

/* Thinking comes back with its signature, and goes back unchanged. */
static void test_thinking_signature(void **state)
{
    twin_fixture *f = *state;
    lo_llm_request *r = ask("think: what is 2 + 2?");
    lo_llm_response *res = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_complete(f->client, r, &res, &err), 0);
    bool found = false;
    for (size_t i = 0; i < res->message->n_parts; i++) {
        const lo_llm_part *p = &res->message->parts[i];
        if (p->kind == LO_CONTENT_THINKING) {
            assert_string_equal(p->thinking.signature, "c2lnbmF0dXJlLWZvci10ZXN0cw==");
            found = true;
        }
    }
    assert_true(found);
    lo_llm_response_free(res);
    lo_llm_request_free(r);
}

/* The twin's 429 reaches the client as a retryable rate-limit error with
 * the Retry-After the tape asked for. */
static void test_rate_limit_fault(void **state)
{
    twin_fixture *f = *state;
    lo_llm_request *r = ask("rate limit me");
    lo_llm_response *res = NULL;
    lo_llm_error err;
    memset(&err, 0, sizeof err);
    assert_int_equal(lo_llm_complete(f->client, r, &res, &err), LO_EIO);
    assert_null(res);
    assert_int_equal(err.kind, LO_LLM_ERR_RATE_LIMIT);
    assert_true(err.retryable);
    assert_int_equal(err.status, 429);
    assert_true(err.retry_after > 6.9 && err.retry_after < 7.1);
    lo_llm_request_free(r);
}

/* The OpenAI adapters against the OpenAI twin: the same tapes, two APIs. */
static void run_openai(void **state, const char *provider, const char *which)
{
    twin_fixture *f = *state;
    lo_llm_request *r = ask_with(provider, "gpt-5.2", "which api is this?");
    lo_llm_response *res = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_complete(f->client, r, &res, &err), 0);
    char *text = lo_llm_response_text(res);
    assert_string_equal(text, which); /* the tape answers per endpoint */
    assert_true(res->usage.input_tokens > 0);
    free(text);
    lo_llm_response_free(res);
    lo_llm_request_free(r);

    /* streamed */
    r = ask_with(provider, "gpt-5.2", "hello from openai");
    collected c;
    collected_init(&c);
    res = NULL;
    assert_int_equal(lo_llm_stream(f->client, r, collect_event, &c, &res, &err), 0);
    assert_string_equal(c.text.data, "Hello! How can I help you today?");
    assert_int_equal(c.finishes, 1);
    lo_buf_release(&c.text);
    lo_llm_response_free(res);
    lo_llm_request_free(r);

    /* two parallel tool calls, arguments parsed, ids kept */
    r = ask_with(provider, "gpt-5.2", "two tools please");
    lo_error terr;
    assert_int_equal(lo_llm_request_add_tool(r, "get_weather", "Weather", NULL, &terr), 0);
    assert_int_equal(lo_llm_request_add_tool(r, "get_time", "Time", NULL, &terr), 0);
    res = NULL;
    assert_int_equal(lo_llm_complete(f->client, r, &res, &err), 0);
    size_t n;
    const lo_llm_tool_call **calls = lo_llm_response_tool_calls(res, &n);
    assert_int_equal(n, 2);
    assert_string_equal(calls[0]->name, "get_weather");
    assert_string_equal(json_string_value(json_object_get(calls[0]->arguments, "city")), "Paris");
    assert_string_equal(calls[1]->name, "get_time");
    assert_string_equal(json_string_value(json_object_get(calls[1]->arguments, "tz")),
                        "Europe/Paris");
    free(calls);
    lo_llm_response_free(res);
    lo_llm_request_free(r);
}

static void test_openai_responses(void **state) { run_openai(state, "openai", "Responses."); }
static void test_openai_chat(void **state) { run_openai(state, "openai_chat", "Chat Completions."); }

/* The Gemini adapter against the Gemini twin: ids are synthesised for
 * function calls and the function name travels back with the result. */
static void test_gemini(void **state)
{
    twin_fixture *f = *state;
    lo_llm_request *r = ask_with("gemini", "gemini-3-flash-preview", "hello gemini");
    lo_llm_response *res = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_complete(f->client, r, &res, &err), 0);
    char *text = lo_llm_response_text(res);
    assert_string_equal(text, "Hello! How can I help you today?");
    assert_int_equal(res->finish.reason, LO_FINISH_STOP);
    free(text);
    lo_llm_response_free(res);
    lo_llm_request_free(r);

    r = ask_with("gemini", "gemini-3-flash-preview", "hello, streamed");
    collected c;
    collected_init(&c);
    res = NULL;
    assert_int_equal(lo_llm_stream(f->client, r, collect_event, &c, &res, &err), 0);
    assert_string_equal(c.text.data, "Hello! How can I help you today?");
    assert_int_equal(c.finishes, 1);
    lo_buf_release(&c.text);
    lo_llm_response_free(res);
    lo_llm_request_free(r);

    r = ask_with("gemini", "gemini-3-flash-preview", "what is the weather in Paris?");
    lo_error terr;
    assert_int_equal(lo_llm_request_add_tool(r, "get_weather", "Weather", NULL, &terr), 0);
    res = NULL;
    assert_int_equal(lo_llm_complete(f->client, r, &res, &err), 0);
    assert_int_equal(res->finish.reason, LO_FINISH_TOOL_CALLS);
    size_t n;
    const lo_llm_tool_call **calls = lo_llm_response_tool_calls(res, &n);
    assert_int_equal(n, 1);
    assert_string_equal(calls[0]->name, "get_weather");
    char *id = strdup(calls[0]->id);
    free(calls);
    assert_int_equal(lo_llm_request_add_message(r, lo_llm_message_clone(res->message)), 0);
    assert_int_equal(lo_llm_request_add_message(r, lo_llm_tool_result_message(id, "18°C, sunny",
                                                                               false)),
                     0);
    lo_llm_response_free(res);
    res = NULL;
    assert_int_equal(lo_llm_complete(f->client, r, &res, &err), 0);
    text = lo_llm_response_text(res);
    assert_string_equal(text, "It is 18°C and sunny in Paris.");
    free(text);
    free(id);
    lo_llm_response_free(res);
    lo_llm_request_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tool_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thinking_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit_fault, setup, teardown),
        cmocka_unit_test_setup_teardown(test_openai_responses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_openai_chat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gemini, setup, teardown),
    };
    return cmocka_run_group_tests_name("llm_twin", tests, NULL, NULL);
}
