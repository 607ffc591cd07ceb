/* The tool registry (src/agent/registry.c): add, replace in place, remove,
 * lookup, order, and what it refuses. */
#include "testutil.h"

#include "lightsout/agent.h"

static int fn_a(const json_t *args, lo_agent_tool_ctx *ctx, lo_buf *out, lo_error *err)
{
    return lo_buf_puts(out, "a");
}

static int fn_b(const json_t *args, lo_agent_tool_ctx *ctx, lo_buf *out, lo_error *err)
{
    return lo_buf_puts(out, "b");
}

static const char *name_at(lo_agent_registry *r, size_t i)
{
    return lo_agent_registry_at(r, i)->name;
}

static void test_add_get_order(void **state)
{
    lo_agent_registry *r = lo_agent_registry_new();
    lo_error err = {0};
    char name[16];
    strcpy(name, "first");
    json_t *schema = json_pack("{s:s, s:{s:{s:s}}}", "type", "object", "properties", "x",
                               "type", "string");
    lo_agent_tool t = {.name = name, .description = "one", .parameters = schema, .fn = fn_a};
    assert_int_equal(lo_agent_registry_add(r, &t, &err), 0);
    strcpy(name, "second"); /* the registry copied the name */
    t.parameters = NULL;
    assert_int_equal(lo_agent_registry_add(r, &t, &err), 0);
    t.name = "third";
    assert_int_equal(lo_agent_registry_add(r, &t, &err), 0);
    json_decref(schema); /* the registry keeps its own reference */
    assert_int_equal(lo_agent_registry_count(r), 3);
    assert_string_equal(name_at(r, 0), "first");
    assert_string_equal(name_at(r, 1), "second");
    assert_string_equal(name_at(r, 2), "third");
    const lo_agent_tool *g = lo_agent_registry_get(r, "first");
    assert_non_null(g);
    assert_string_equal(g->description, "one");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(g->parameters, "properties"), "x"),
                            "type")),
                        "string");
    /* no schema given: an empty object schema */
    g = lo_agent_registry_get(r, "second");
    assert_string_equal(json_string_value(json_object_get(g->parameters, "type")), "object");
    assert_null(lo_agent_registry_get(r, "nope"));
    assert_null(lo_agent_registry_at(r, 3));

    /* latest wins and keeps its place */
    lo_agent_tool t2 = {.name = "first", .description = "replaced", .fn = fn_b};
    assert_int_equal(lo_agent_registry_add(r, &t2, &err), 0);
    assert_int_equal(lo_agent_registry_count(r), 3);
    assert_string_equal(name_at(r, 0), "first");
    g = lo_agent_registry_get(r, "first");
    assert_string_equal(g->description, "replaced");
    lo_buf out;
    lo_buf_init(&out, 0);
    assert_int_equal(g->fn(NULL, NULL, &out, &err), 0);
    assert_string_equal(out.data, "b");
    lo_buf_release(&out);

    /* remove keeps the others' order */
    assert_int_equal(lo_agent_registry_remove(r, "second"), 0);
    assert_int_equal(lo_agent_registry_remove(r, "second"), LO_ENOENT);
    assert_int_equal(lo_agent_registry_count(r), 2);
    assert_string_equal(name_at(r, 0), "first");
    assert_string_equal(name_at(r, 1), "third");
    lo_agent_registry_free(r);
    lo_agent_registry_free(NULL);
}

static void test_refusals(void **state)
{
    lo_agent_registry *r = lo_agent_registry_new();
    lo_error err = {0};
    lo_agent_tool t = {.name = "bad name", .fn = fn_a};
    assert_int_equal(lo_agent_registry_add(r, &t, &err), LO_EINVAL);
    assert_non_null(strstr(err.msg, "bad name"));
    t.name = "";
    assert_int_equal(lo_agent_registry_add(r, &t, &err), LO_EINVAL);
    t.name = "ok";
    t.fn = NULL;
    assert_int_equal(lo_agent_registry_add(r, &t, &err), LO_EINVAL);
    assert_non_null(strstr(err.msg, "executor"));
    t.fn = fn_a;
    json_t *arr = json_pack("{s:s}", "type", "array");
    t.parameters = arr;
    assert_int_equal(lo_agent_registry_add(r, &t, &err), LO_EINVAL);
    assert_non_null(strstr(err.msg, "\"type\": \"object\""));
    json_decref(arr);
    assert_int_equal(lo_agent_registry_count(r), 0);
    lo_agent_registry_free(r);
}

/* Every allocation failure is reported and leaves the registry as it was. */
static void test_alloc_failures(void **state)
{
    for (long k = 1; k < 20; k++) {
        lo_agent_registry *r = lo_agent_registry_new();
        if (!r)
            continue;
        lo_agent_tool t = {.name = "x", .description = "d", .fn = fn_a};
        lo_error err = {0};
        lo_alloc_fail_after(k);
        int rc = lo_agent_registry_add(r, &t, &err);
        lo_alloc_fail_after(0);
        assert_true(rc == 0 || rc == LO_ENOMEM);
        assert_int_equal(lo_agent_registry_count(r), rc == 0 ? 1 : 0);
        lo_agent_registry_free(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_get_order),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests_name("agent_registry", tests, NULL, NULL);
}
