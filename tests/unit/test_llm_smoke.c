/* The integration smoke test of unified-llm-spec §8.10, step by step, with
 * the in-process twin playing all three providers (tape
 * tests/data/tapes/smoke.jsonl): basic generation with each provider's
 * newest catalog model, a stream whose deltas add up to the response, a
 * tool round with two parallel calls, an image input, structured output,
 * and an unknown model answered with NOT_FOUND. */
#include "llm_twin.h"

static const char *const TAPES[] = {"smoke.jsonl", NULL};

TWIN_GROUP_FIXTURES(TAPES)

/* 1. basic generation across all providers, newest model of each */
static void test_basic_generation(void **state)
{
    twin_fixture *f = *state;
    lo_llm_catalog *cat = NULL;
    lo_error e;
    if (lo_llm_catalog_load(lo_test_data("../../data/models.json"), &cat, &e) != 0)
        fail_msg("catalog: %s", e.msg);
    static const char *const providers[] = {"anthropic", "openai", "gemini"};
    for (size_t p = 0; p < 3; p++) {
        const lo_llm_model *m = lo_llm_model_latest(cat, providers[p], NULL);
        assert_non_null(m);
        lo_llm_request *r = lo_llm_request_new(m->id);
        r->provider = strdup(providers[p]);
        r->max_tokens = 100;
        r->has_max_tokens = true;
        lo_llm_generate_opts o;
        lo_llm_generate_opts_init(&o);
        o.prompt = "Say hello in one sentence.";
        lo_llm_result *res = NULL;
        lo_llm_error err;
        if (lo_llm_generate(f->client, r, &o, &res, &err) != 0)
            fail_msg("%s %s: %s", providers[p], m->id, err.message);
        assert_string_equal(res->text, "Hello, it is good to meet you.");
        assert_true(res->usage.input_tokens > 0);
        assert_true(res->usage.output_tokens > 0);
        assert_int_equal(res->finish, LO_FINISH_STOP);
        assert_string_equal(lo_llm_finish_name(res->finish), "stop");
        lo_llm_result_free(res);
        lo_llm_request_free(r);
    }
    lo_llm_catalog_free(cat);
}

/* 2. streaming: the text deltas joined are the response's text */
static void test_streaming(void **state)
{
    twin_fixture *f = *state;
    lo_llm_request *r = ask_with("anthropic", "claude-opus-4-6", "Write a haiku.");
    collected c;
    collected_init(&c);
    lo_llm_response *resp = NULL;
    lo_llm_error err;
    if (lo_llm_stream(f->client, r, collect_event, &c, &resp, &err) != 0)
        fail_msg("stream: %s", err.message);
    assert_true(c.deltas > 1);
    assert_int_equal(c.errors, 0);
    assert_int_equal(c.last, LO_STREAM_FINISH);
    char *text = lo_llm_message_text(resp->message);
    assert_string_equal(c.text.data, text);
    assert_string_equal(text,
                        "Old pond in the rain, a frog leaps into the dark, the water answers.");
    free(text);
    lo_llm_response_free(resp);
    lo_buf_release(&c.text);
    lo_llm_request_free(r);
}

static int mock_weather(void *ud, const json_t *args, const lo_llm_tool_ctx *ctx,
                        json_t **result)
{
    (void)ud;
    (void)ctx;
    const char *city = json_string_value(json_object_get(args, "city"));
    char text[128];
    snprintf(text, sizeof text, "%s: %s", city,
             strcmp(city, "New York") == 0 ? "24°C, sunny" : "18°C, foggy");
    *result = json_string(text);
    return 0;
}

/* 3. tool calling with parallel execution, on every provider */
static void test_parallel_tools(void **state)
{
    twin_fixture *f = *state;
    static const char *const providers[] = {"anthropic", "openai", "gemini", "openai_chat"};
    for (size_t p = 0; p < 4; p++) {
        lo_llm_request *r = empty_for(providers[p]);
        add_weather_tool(r);
        lo_llm_tool_handler h = {"get_weather", mock_weather, NULL};
        lo_llm_generate_opts o;
        lo_llm_generate_opts_init(&o);
        o.prompt = "What is the weather in San Francisco and New York?";
        o.handlers = &h;
        o.n_handlers = 1;
        o.max_tool_rounds = 3;
        lo_llm_result *res = NULL;
        lo_llm_error err;
        if (lo_llm_generate(f->client, r, &o, &res, &err) != 0)
            fail_msg("%s: %s", providers[p], err.message);
        assert_true(res->n_steps >= 2);
        assert_int_equal(res->steps[0].n_tool_calls, 2);
        assert_int_equal(res->steps[0].n_tool_results, 2);
        assert_non_null(strstr(res->text, "San Francisco"));
        assert_non_null(strstr(res->text, "New York"));
        lo_llm_result_free(res);
        lo_llm_request_free(r);
    }
}

/* 4. image input: a 1x1 PNG as base64 data, on every provider */
static void test_image_input(void **state)
{
    twin_fixture *f = *state;
    static const char *const providers[] = {"anthropic", "openai", "gemini"};
    static char png[] = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/"
                        "iZk9HQAAAABJRU5ErkJggg==";
    for (size_t p = 0; p < 3; p++) {
        lo_llm_request *r = empty_for(providers[p]);
        lo_llm_message *m = lo_llm_message_new(LO_ROLE_USER);
        assert_int_equal(lo_llm_message_add_text(m, "What do you see?"), 0);
        lo_llm_media img = {.data = png, .media_type = "image/png"};
        assert_int_equal(lo_llm_message_add_media(m, LO_CONTENT_IMAGE, &img), 0);
        assert_int_equal(lo_llm_request_add_message(r, m), 0);
        lo_llm_result *res = NULL;
        lo_llm_error err;
        if (lo_llm_generate(f->client, r, NULL, &res, &err) != 0)
            fail_msg("%s: %s", providers[p], err.message);
        assert_true(res->text[0] != '\0');
        lo_llm_result_free(res);
        lo_llm_request_free(r);
    }
}

/* 5. structured output */
static void test_structured_output(void **state)
{
    twin_fixture *f = *state;
    json_t *schema = json_pack("{s:s, s:{s:{s:s}, s:{s:s}}, s:[s,s]}", "type", "object",
                               "properties", "name", "type", "string", "age", "type", "integer",
                               "required", "name", "age");
    lo_llm_request *r = empty_for("openai");
    lo_llm_generate_opts o;
    lo_llm_generate_opts_init(&o);
    o.prompt = "Extract: Alice is 30 years old";
    lo_llm_result *res = NULL;
    lo_llm_error err;
    if (lo_llm_generate_object(f->client, r, schema, &o, &res, &err) != 0)
        fail_msg("generate_object: %s", err.message);
    assert_string_equal(json_string_value(json_object_get(res->output, "name")), "Alice");
    assert_int_equal(json_integer_value(json_object_get(res->output, "age")), 30);
    lo_llm_result_free(res);
    lo_llm_request_free(r);
    json_decref(schema);
}

/* 6. error handling: an unknown model is NOT_FOUND, not retryable */
static void test_unknown_model(void **state)
{
    twin_fixture *f = *state;
    long before = lo_twin_calls(f->twin);
    lo_llm_request *r = lo_llm_request_new("nonexistent-model-xyz");
    r->provider = strdup("openai");
    lo_llm_generate_opts o;
    lo_llm_generate_opts_init(&o);
    o.prompt = "test";
    o.max_retries = 2;
    lo_llm_result *res = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_generate(f->client, r, &o, &res, &err), LO_EIO);
    assert_null(res);
    assert_int_equal(err.kind, LO_LLM_ERR_NOT_FOUND);
    assert_false(err.retryable);
    assert_non_null(strstr(err.message, "nonexistent-model-xyz"));
    /* the twin refused it as the API does, before any tape was asked */
    assert_int_equal(lo_twin_calls(f->twin), before);
    lo_llm_request_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_generation), cmocka_unit_test(test_streaming),
        cmocka_unit_test(test_parallel_tools),   cmocka_unit_test(test_image_input),
        cmocka_unit_test(test_structured_output), cmocka_unit_test(test_unknown_model),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
