/* generate_object() (src/llm/object.c) against the in-process twin: each
 * provider's mechanism (a forced tool on Anthropic, a json_schema response
 * format elsewhere, the schema in the prompt on request), parsing and
 * validation of the answer, and NoObjectGenerated when it is not JSON or
 * does not fit the schema. The tape is tests/data/tapes/llm.jsonl. */
#include "llm_twin.h"

static const char *const TAPES[] = {"llm.jsonl", NULL};

TWIN_GROUP_FIXTURES(TAPES)

static const char *const PROVIDERS[] = {"anthropic", "openai", "openai_chat", "gemini"};

static json_t *person_schema(bool strict)
{
    json_t *s = json_pack("{s:s, s:{s:{s:s}, s:{s:s}}, s:[s,s]}", "type", "object", "properties",
                          "name", "type", "string", "age", "type", "integer", "required", "name",
                          "age");
    if (strict)
        json_object_set_new(s, "additionalProperties", json_false());
    return s;
}

/* What the last request looked like, seen by a middleware. */
static struct {
    lo_llm_format_type format;
    bool strict;
    size_t n_tools;
    bool forced;
    bool schema_in_system;
} SEEN;

static int watch(void *ud, const lo_llm_request *req, lo_llm_next *next, lo_llm_response **out,
                 lo_llm_error *err)
{
    (void)ud;
    SEEN.format = req->response_format.type;
    SEEN.strict = req->response_format.strict;
    SEEN.n_tools = req->n_tools;
    SEEN.forced = req->has_tool_choice && req->tool_choice.mode == LO_TOOL_CHOICE_NAMED &&
                  strcmp(req->tool_choice.tool_name, "structured_output") == 0;
    SEEN.schema_in_system = false;
    for (size_t i = 0; i < req->n_messages; i++) {
        char *t = req->messages[i]->role == LO_ROLE_SYSTEM ? lo_llm_message_text(req->messages[i])
                                                           : NULL;
        if (t && strstr(t, "JSON Schema") && strstr(t, "\"age\""))
            SEEN.schema_in_system = true;
        free(t);
    }
    return lo_llm_next_complete(next, req, out, err);
}

static void use_watch(twin_fixture *f)
{
    lo_llm_middleware mw = {.name = "watch", .complete = watch};
    assert_int_equal(lo_llm_client_use(f->client, &mw), 0);
}

static void test_each_provider(void **state)
{
    twin_fixture *f = *state;
    use_watch(f);
    json_t *schema = person_schema(false);
    for (size_t p = 0; p < 4; p++) {
        lo_llm_request *r = ask_for(PROVIDERS[p], "Extract: Alice is 30 years old");
        lo_llm_result *res = NULL;
        lo_llm_error err;
        if (lo_llm_generate_object(f->client, r, schema, NULL, &res, &err) != 0)
            fail_msg("%s: %s", PROVIDERS[p], err.message);
        assert_string_equal(json_string_value(json_object_get(res->output, "name")), "Alice");
        assert_int_equal(json_integer_value(json_object_get(res->output, "age")), 30);
        if (p == 0) {
            /* Anthropic: a forced call of the structured_output tool */
            assert_true(SEEN.forced);
            assert_int_equal(SEEN.n_tools, 1);
            assert_int_equal(SEEN.format, LO_FORMAT_TEXT);
            assert_int_equal(res->n_steps, 1);
        } else {
            /* the native JSON-schema format; not strict, as the schema allows more */
            assert_int_equal(SEEN.format, LO_FORMAT_JSON_SCHEMA);
            assert_false(SEEN.strict);
            assert_int_equal(SEEN.n_tools, 0);
            assert_string_equal(res->text, "{\"name\": \"Alice\", \"age\": 30}");
        }
        lo_llm_result_free(res);
        lo_llm_request_free(r);
    }
    json_decref(schema);

    /* a schema strict mode takes goes strict */
    schema = person_schema(true);
    lo_llm_request *r = ask_for("openai", "Extract: Alice is 30 years old");
    lo_llm_result *res = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_generate_object(f->client, r, schema, NULL, &res, &err), 0);
    assert_true(SEEN.strict);
    lo_llm_result_free(res);
    lo_llm_request_free(r);
    json_decref(schema);
}

static void test_prompt_strategy(void **state)
{
    twin_fixture *f = *state;
    use_watch(f);
    json_t *schema = person_schema(false);
    lo_llm_generate_opts o;
    lo_llm_generate_opts_init(&o);
    o.object_strategy = "prompt";
    for (size_t p = 0; p < 4; p += 3) {
        lo_llm_request *r = ask_for(PROVIDERS[p], "Extract: Alice is 30 years old");
        lo_llm_result *res = NULL;
        lo_llm_error err;
        if (lo_llm_generate_object(f->client, r, schema, &o, &res, &err) != 0)
            fail_msg("%s: %s", PROVIDERS[p], err.message);
        assert_true(SEEN.schema_in_system);
        assert_int_equal(SEEN.format, LO_FORMAT_TEXT);
        assert_int_equal(SEEN.n_tools, 0);
        assert_int_equal(json_integer_value(json_object_get(res->output, "age")), 30);
        lo_llm_result_free(res);
        lo_llm_request_free(r);
    }
    /* an unknown strategy */
    o.object_strategy = "telepathy";
    lo_llm_request *r = ask_for("openai", "Extract: Alice is 30 years old");
    lo_llm_result *res = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_generate_object(f->client, r, schema, &o, &res, &err), LO_EINVAL);
    assert_non_null(strstr(err.message, "telepathy"));
    lo_llm_request_free(r);
    json_decref(schema);
}

static void test_no_object(void **state)
{
    twin_fixture *f = *state;
    json_t *schema = person_schema(false);
    for (size_t p = 0; p < 4; p++) {
        lo_llm_request *r = ask_for(PROVIDERS[p], "Extract: Bob is thirty");
        lo_llm_result *res = (lo_llm_result *)1;
        lo_llm_error err;
        /* JSON, but "age" is a string */
        assert_int_equal(lo_llm_generate_object(f->client, r, schema, NULL, &res, &err), LO_EIO);
        assert_null(res);
        assert_int_equal(err.kind, LO_LLM_ERR_NO_OBJECT_GENERATED);
        assert_false(err.retryable);
        assert_string_equal(err.message, "the model's object does not match the schema: $.age: "
                                         "expected integer, got string");
        lo_llm_request_free(r);
    }
    /* not JSON at all */
    lo_llm_request *r = ask_for("gemini", "Extract: nobody here");
    lo_llm_result *res = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_generate_object(f->client, r, schema, NULL, &res, &err), LO_EIO);
    assert_int_equal(err.kind, LO_LLM_ERR_NO_OBJECT_GENERATED);
    assert_non_null(strstr(err.message, "not JSON"));
    assert_non_null(strstr(err.message, "I cannot find anyone"));
    lo_llm_request_free(r);
    /* Anthropic answering without the tool (the tape has no call for it) */
    r = ask_for("anthropic", "Extract: nobody here");
    assert_int_equal(lo_llm_generate_object(f->client, r, schema, NULL, &res, &err), LO_EIO);
    assert_int_equal(err.kind, LO_LLM_ERR_NO_OBJECT_GENERATED);
    assert_non_null(strstr(err.message, "without calling structured_output"));
    lo_llm_request_free(r);
    /* a schema that is not an object */
    json_t *bad = json_string("object");
    r = ask_for("openai", "Extract: Alice");
    assert_int_equal(lo_llm_generate_object(f->client, r, bad, NULL, &res, &err), LO_EINVAL);
    json_decref(bad);
    lo_llm_request_free(r);
    json_decref(schema);
}

/* A schema whose root is an array: fenced JSON is unwrapped, and on
 * Anthropic the array travels as the tool's "value". */
static void test_array_schema(void **state)
{
    twin_fixture *f = *state;
    json_t *schema = json_pack("{s:s, s:{s:s}, s:i}", "type", "array", "items", "type", "string",
                               "minItems", 1);
    for (size_t p = 0; p < 4; p++) {
        lo_llm_request *r = ask_for(PROVIDERS[p], "List: colours of a traffic light");
        lo_llm_result *res = NULL;
        lo_llm_error err;
        if (lo_llm_generate_object(f->client, r, schema, NULL, &res, &err) != 0)
            fail_msg("%s: %s", PROVIDERS[p], err.message);
        assert_true(json_is_array(res->output));
        assert_int_equal(json_array_size(res->output), 2);
        assert_string_equal(json_string_value(json_array_get(res->output, 1)), "green");
        lo_llm_result_free(res);
        lo_llm_request_free(r);
    }
    json_decref(schema);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_each_provider, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prompt_strategy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_array_schema, setup, teardown),
    };
    return cmocka_run_group_tests_name("llm_object", tests, NULL, NULL);
}
