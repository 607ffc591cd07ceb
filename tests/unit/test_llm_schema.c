/* The JSON Schema validator (src/llm/schema.c): each keyword passes what it
 * should and fails what it should, with the exact message (JSON path first),
 * and a malformed schema is told apart from a value that does not conform. */
#include "testutil.h"

#include "lightsout/llm.h"

static int check(const char *schema, const char *value, char *why, size_t n)
{
    json_error_t je;
    json_t *s = json_loads(schema, JSON_DECODE_ANY, &je);
    if (!s)
        fail_msg("test schema does not parse: %s: %s", schema, je.text);
    json_t *v = json_loads(value, JSON_DECODE_ANY, &je);
    if (!v)
        fail_msg("test value does not parse: %s: %s", value, je.text);
    int rc = lo_json_schema_validate(s, v, why, n);
    json_decref(s);
    json_decref(v);
    return rc;
}

static void ok(const char *schema, const char *value)
{
    char why[512];
    int rc = check(schema, value, why, sizeof why);
    if (rc != 0)
        fail_msg("%s against %s: expected valid, got %d: %s", value, schema, rc, why);
}

static void bad(const char *schema, const char *value, const char *want)
{
    char why[512];
    int rc = check(schema, value, why, sizeof why);
    if (rc != LO_EINVAL)
        fail_msg("%s against %s: expected LO_EINVAL, got %d (%s)", value, schema, rc, why);
    if (strcmp(why, want) != 0)
        fail_msg("%s against %s:\n  want: %s\n  got:  %s", value, schema, want, why);
}

static void malformed(const char *schema, const char *value, const char *want)
{
    char why[512];
    int rc = check(schema, value, why, sizeof why);
    if (rc != LO_EPARSE)
        fail_msg("%s: expected LO_EPARSE, got %d (%s)", schema, rc, why);
    if (strcmp(why, want) != 0)
        fail_msg("%s:\n  want: %s\n  got:  %s", schema, want, why);
}

static const char *weather =
    "{\"type\":\"object\",\"properties\":{"
    "\"location\":{\"type\":\"string\"},"
    "\"unit\":{\"type\":\"string\",\"enum\":[\"celsius\",\"fahrenheit\"]},"
    "\"days\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":14}},"
    "\"required\":[\"location\"],\"additionalProperties\":false}";

static void test_tool_arguments(void **state)
{
    (void)state;
    ok(weather, "{\"location\":\"Paris\"}");
    ok(weather, "{\"location\":\"Paris\",\"unit\":\"celsius\",\"days\":3}");
    bad(weather, "{\"location\":42}", "$.location: expected string, got number");
    bad(weather, "{}", "$.location: required property is missing");
    bad(weather, "{\"location\":\"Paris\",\"unit\":\"kelvin\"}",
        "$.unit: \"kelvin\" is not one of \"celsius\", \"fahrenheit\"");
    bad(weather, "{\"location\":\"Paris\",\"wind\":true}",
        "$.wind: property not allowed (additionalProperties is false)");
    bad(weather, "{\"location\":\"Paris\",\"days\":0}", "$.days: 0 is below the minimum 1");
    bad(weather, "{\"location\":\"Paris\",\"days\":15}", "$.days: 15 is above the maximum 14");
    bad(weather, "{\"location\":\"Paris\",\"days\":2.5}", "$.days: expected integer, got 2.5");
    bad(weather, "[\"Paris\"]", "$: expected object, got array");
}

static void test_types(void **state)
{
    (void)state;
    ok("{\"type\":\"integer\"}", "3");
    ok("{\"type\":\"integer\"}", "3.0"); /* integer-ness is the value's */
    ok("{\"type\":\"number\"}", "3");
    ok("{\"type\":\"number\"}", "-0.5");
    ok("{\"type\":\"boolean\"}", "false");
    ok("{\"type\":\"null\"}", "null");
    ok("{\"type\":\"array\"}", "[]");
    bad("{\"type\":\"string\"}", "true", "$: expected string, got boolean");
    bad("{\"type\":\"boolean\"}", "null", "$: expected boolean, got null");
    bad("{\"type\":\"array\"}", "{}", "$: expected array, got object");
    /* an array of types, nullable the JSON Schema way */
    ok("{\"type\":[\"string\",\"null\"]}", "null");
    ok("{\"type\":[\"string\",\"null\"]}", "\"x\"");
    bad("{\"type\":[\"string\",\"null\"]}", "1", "$: expected string or null, got number");
    bad("{\"type\":[\"string\",\"integer\",\"null\"]}", "[]",
        "$: expected string, integer or null, got array");
    /* and the OpenAPI way */
    ok("{\"type\":\"string\",\"nullable\":true}", "null");
    bad("{\"type\":\"string\",\"nullable\":true}", "2", "$: expected string or null, got number");
    /* no type: anything */
    ok("{}", "{\"a\":[1,2]}");
    ok("true", "17");
    bad("false", "17", "$: no value is allowed here (the schema is false)");
}

static void test_enum_const(void **state)
{
    (void)state;
    ok("{\"enum\":[1,\"a\",null]}", "null");
    ok("{\"enum\":[1,\"a\",null]}", "1.0"); /* numbers compare by value */
    bad("{\"enum\":[1,\"a\",null]}", "2", "$: 2 is not one of 1, \"a\", null");
    ok("{\"enum\":[{\"a\":1,\"b\":[2]}]}", "{\"b\":[2],\"a\":1}");
    ok("{\"const\":\"fixed\"}", "\"fixed\"");
    bad("{\"const\":\"fixed\"}", "\"other\"", "$: expected the constant \"fixed\", got \"other\"");
    bad("{\"const\":[1,2]}", "[2,1]", "$: expected the constant [1,2], got [2,1]");
}

static void test_numbers(void **state)
{
    (void)state;
    ok("{\"minimum\":0,\"maximum\":1}", "0");
    ok("{\"minimum\":0,\"maximum\":1}", "1");
    ok("{\"minimum\":0}", "\"not a number\""); /* bounds only bind numbers */
    bad("{\"minimum\":0.5}", "0.25", "$: 0.25 is below the minimum 0.5");
    bad("{\"exclusiveMinimum\":0}", "0", "$: 0 is not above the exclusive minimum 0");
    bad("{\"exclusiveMaximum\":10}", "10", "$: 10 is not below the exclusive maximum 10");
    ok("{\"exclusiveMaximum\":10}", "9.99");
    ok("{\"multipleOf\":0.5}", "2.5");
    bad("{\"multipleOf\":3}", "10", "$: 10 is not a multiple of 3");
    /* exact for integers beyond double precision */
    bad("{\"maximum\":9007199254740992}", "9007199254740993",
        "$: 9007199254740993 is above the maximum 9007199254740992");
}

static void test_strings(void **state)
{
    (void)state;
    ok("{\"minLength\":2,\"maxLength\":3}", "\"ab\"");
    bad("{\"minLength\":2}", "\"a\"", "$: 1 characters, at least 2 required");
    bad("{\"maxLength\":3}", "\"abcd\"", "$: 4 characters, at most 3 allowed");
    /* characters, not bytes: three code points, nine bytes */
    ok("{\"maxLength\":3}", "\"\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\"");
    ok("{\"pattern\":\"^[a-z]+-[0-9]+$\"}", "\"abc-12\"");
    bad("{\"pattern\":\"^[a-z]+$\"}", "\"ABC\"", "$: \"ABC\" does not match the pattern ^[a-z]+$");
    ok("{\"format\":\"email\"}", "\"not checked\""); /* annotations are ignored */
}

static void test_arrays(void **state)
{
    (void)state;
    const char *tags = "{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"minItems\":1,"
                       "\"maxItems\":3}";
    ok(tags, "[\"a\"]");
    bad(tags, "[]", "$: 0 items, at least 1 required");
    bad(tags, "[\"a\",\"b\",\"c\",\"d\"]", "$: 4 items, at most 3 allowed");
    bad(tags, "[\"a\",7]", "$[1]: expected string, got number");
    bad("{\"uniqueItems\":true}", "[1,2,1.0]", "$: items 0 and 2 are equal; items must be unique");
    /* tuples, both spellings */
    const char *pair = "{\"prefixItems\":[{\"type\":\"string\"},{\"type\":\"integer\"}],"
                       "\"items\":false}";
    ok(pair, "[\"a\",1]");
    bad(pair, "[\"a\",\"b\"]", "$[1]: expected integer, got string");
    bad(pair, "[\"a\",1,2]", "$[2]: no value is allowed here (the schema is false)");
    ok("{\"items\":[{\"type\":\"string\"}],\"additionalItems\":{\"type\":\"integer\"}}",
       "[\"a\",1,2]");
}

static void test_nested_paths(void **state)
{
    (void)state;
    const char *order = "{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\","
                        "\"items\":{\"type\":\"object\",\"properties\":{\"unit\":{\"enum\":["
                        "\"celsius\",\"fahrenheit\"]}},\"required\":[\"unit\"]}}}}";
    ok(order, "{\"items\":[{\"unit\":\"celsius\"}]}");
    bad(order, "{\"items\":[{\"unit\":\"celsius\"},{},{\"unit\":\"x\"}]}",
        "$.items[1].unit: required property is missing");
    bad(order, "{\"items\":[{\"unit\":\"celsius\"},{\"unit\":\"celsius\"},{\"unit\":\"kelvin\"}]}",
        "$.items[2].unit: \"kelvin\" is not one of \"celsius\", \"fahrenheit\"");
    /* names that are not identifiers are quoted */
    bad("{\"properties\":{\"a b\":{\"type\":\"string\"}}}", "{\"a b\":1}",
        "$[\"a b\"]: expected string, got number");
    /* additionalProperties as a schema */
    const char *map = "{\"additionalProperties\":{\"type\":\"integer\"}}";
    ok(map, "{\"x\":1,\"y\":2}");
    bad(map, "{\"x\":1,\"y\":\"2\"}", "$.y: expected integer, got string");
    bad("{\"minProperties\":1}", "{}", "$: 0 properties, at least 1 required");
    bad("{\"maxProperties\":1}", "{\"a\":1,\"b\":2}", "$: 2 properties, at most 1 allowed");
}

static void test_combinators(void **state)
{
    (void)state;
    const char *any = "{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\",\"minimum\":0}]}";
    ok(any, "\"s\"");
    ok(any, "5");
    bad(any, "-1",
        "$: matches none of the anyOf alternatives (first: $: expected string, got number)");
    const char *one = "{\"oneOf\":[{\"type\":\"integer\"},{\"type\":\"number\"}]}";
    ok(one, "1.5");
    bad(one, "2", "$: matches 2 of the oneOf alternatives, exactly one allowed");
    bad(one, "\"x\"",
        "$: matches none of the oneOf alternatives (first: $: expected integer, got string)");
    const char *all = "{\"allOf\":[{\"type\":\"string\"},{\"maxLength\":2}]}";
    ok(all, "\"ab\"");
    bad(all, "\"abc\"", "$: 3 characters, at most 2 allowed");
    bad("{\"not\":{\"type\":\"null\"}}", "null", "$: matches the schema under \"not\"");
    ok("{\"not\":{\"type\":\"null\"}}", "0");
    /* a failure inside a branch keeps its own path */
    bad("{\"properties\":{\"a\":{\"allOf\":[{\"properties\":{\"b\":{\"type\":\"string\"}}}]}}}",
        "{\"a\":{\"b\":1}}", "$.a.b: expected string, got number");
}

static void test_refs(void **state)
{
    (void)state;
    /* what pydantic and zod emit: definitions under $defs, referenced */
    const char *s = "{\"$defs\":{\"city\":{\"type\":\"object\",\"properties\":{\"name\":{"
                    "\"type\":\"string\"}},\"required\":[\"name\"]}},\"type\":\"object\","
                    "\"properties\":{\"from\":{\"$ref\":\"#/$defs/city\"},\"to\":{\"$ref\":"
                    "\"#/$defs/city\"}}}";
    ok(s, "{\"from\":{\"name\":\"Paris\"},\"to\":{\"name\":\"Rome\"}}");
    bad(s, "{\"from\":{\"name\":\"Paris\"},\"to\":{}}", "$.to.name: required property is missing");
    /* a recursive schema (a tree) */
    const char *tree = "{\"type\":\"object\",\"properties\":{\"kids\":{\"type\":\"array\","
                       "\"items\":{\"$ref\":\"#\"}}}}";
    ok(tree, "{\"kids\":[{\"kids\":[]},{\"kids\":[{}]}]}");
    bad(tree, "{\"kids\":[{\"kids\":[3]}]}", "$.kids[0].kids[0]: expected object, got number");
    malformed("{\"$ref\":\"#/$defs/missing\"}", "1", "$: invalid schema: unresolvable $ref");
    malformed("{\"$ref\":\"#\"}", "1", "$: invalid schema: nested too deeply (a recursive $ref?)");
}

static void test_malformed_schemas(void **state)
{
    (void)state;
    malformed("{\"type\":\"str\"}", "1", "$: invalid schema: unknown type");
    malformed("{\"type\":5}", "1", "$: invalid schema: \"type\" must be a string or a non-empty array");
    malformed("{\"required\":\"name\"}", "{}", "$: invalid schema: \"required\" must be an array");
    malformed("{\"enum\":\"a\"}", "\"a\"", "$: invalid schema: \"enum\" must be an array");
    malformed("{\"minLength\":-1}", "\"\"",
              "$: invalid schema: minLength/maxLength must be non-negative integers");
    malformed("{\"anyOf\":[]}", "1", "$: invalid schema: allOf/anyOf/oneOf must be non-empty arrays");
    malformed("{\"properties\":{\"a\":7}}", "{\"a\":1}",
              "$.a: invalid schema: a schema must be an object or a boolean");
    /* a malformed branch is a malformed schema, not a failed alternative */
    malformed("{\"anyOf\":[{\"type\":\"nope\"},{}]}", "1", "$: invalid schema: unknown type");
}

static void test_messages_fit(void **state)
{
    (void)state;
    /* a small buffer is filled and terminated, never overrun */
    char why[16];
    memset(why, 'x', sizeof why);
    assert_int_equal(check(weather, "{\"location\":42}", why, 12), LO_EINVAL);
    assert_int_equal(strlen(why), 11);
    assert_int_equal(why[12], 'x');
    /* no buffer at all */
    assert_int_equal(check(weather, "{}", NULL, 0), LO_EINVAL);
    assert_int_equal(check(weather, "{\"location\":\"x\"}", NULL, 0), 0);
    /* long values are shortened in messages */
    char big[512];
    assert_int_equal(check("{\"const\":1}",
                           "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
                           big, sizeof big),
                     LO_EINVAL);
    assert_string_equal(big, "$: expected the constant 1, got \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...");
    /* NULL inputs */
    json_t *v = json_integer(1);
    assert_int_equal(lo_json_schema_validate(NULL, v, big, sizeof big), LO_EPARSE);
    assert_string_equal(big, "$: no schema");
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tool_arguments), cmocka_unit_test(test_types),
        cmocka_unit_test(test_enum_const),     cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_strings),        cmocka_unit_test(test_arrays),
        cmocka_unit_test(test_nested_paths),   cmocka_unit_test(test_combinators),
        cmocka_unit_test(test_refs),           cmocka_unit_test(test_malformed_schemas),
        cmocka_unit_test(test_messages_fit),
    };
    return cmocka_run_group_tests_name("llm_schema", tests, NULL, NULL);
}
