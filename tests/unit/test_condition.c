/* Unit tests for the edge condition language (src/pipeline/condition.c). */
#include "testutil.h"

#include "lightsout/condition.h"

/* A tiny context: NULL-terminated key/value pairs passed as ud. */
static const char *lookup(void *ud, const char *key)
{
    const char *const *kv = ud;
    for (size_t i = 0; kv[i]; i += 2)
        if (strcmp(kv[i], key) == 0)
            return kv[i + 1];
    return NULL;
}

static const char *const ctx[] = {
    "tests_passed", "true",
    "context.prefixed", "stored-with-prefix",
    "plain", "stored-plain",
    "both", "unprefixed",
    "context.both", "prefixed",
    "a.b", "nested",
    "zero", "0",
    "no", "false",
    "empty", "",
    "upper", "False",
    NULL,
};

static lo_cond_env env_with(const char *outcome, const char *label)
{
    lo_cond_env env = {.outcome = outcome, .preferred_label = label,
                       .lookup = lookup, .ud = (void *)ctx};
    return env;
}

/* Parse text (must succeed) and evaluate it against env. */
static bool eval_text(const char *text, const lo_cond_env *env)
{
    lo_error err = {0};
    lo_cond *c = lo_cond_parse(text, &err);
    if (!c)
        fail_msg("'%s' did not parse: %s (col %u)", text, err.msg, err.col);
    bool r = lo_cond_eval(c, env);
    lo_cond_free(c);
    return r;
}

/* Parse text (must fail) and check the column and part of the message. */
static void expect_error(const char *text, uint32_t col, const char *needle)
{
    lo_error err = {0};
    lo_cond *c = lo_cond_parse(text, &err);
    if (c) {
        lo_cond_free(c);
        fail_msg("'%s' parsed but should not have", text);
    }
    assert_int_equal(err.code, LO_EPARSE);
    assert_int_equal(err.line, 1);
    if (err.col != col)
        fail_msg("'%s': column %u, expected %u (%s)", text, err.col, col,
                 err.msg);
    if (!strstr(err.msg, needle))
        fail_msg("'%s': message '%s' lacks '%s'", text, err.msg, needle);
    assert_null(strchr(err.msg, '\n'));
}

static void test_empty(void **state)
{
    (void)state;
    const char *texts[] = {"", "   ", " \t\n "};
    lo_cond_env env = env_with("fail", NULL);
    for (size_t i = 0; i < 3; i++) {
        lo_error err = {0};
        lo_cond *c = lo_cond_parse(texts[i], &err);
        assert_non_null(c);
        assert_int_equal(lo_cond_count(c), 0);
        assert_null(lo_cond_clause_at(c, 0));
        assert_true(lo_cond_eval(c, &env));
        assert_true(lo_cond_satisfiable(c, NULL, 0));
        lo_cond_free(c);
    }
    lo_cond *c = lo_cond_parse(NULL, NULL);
    assert_non_null(c);
    assert_int_equal(lo_cond_count(c), 0);
    lo_cond_free(c);
    /* No condition at all means always eligible. */
    assert_true(lo_cond_eval(NULL, &env));
    assert_int_equal(lo_cond_count(NULL), 0);
    assert_null(lo_cond_clause_at(NULL, 0));
    lo_cond_free(NULL);
}

static void test_eq_clause(void **state)
{
    (void)state;
    lo_cond *c = lo_cond_parse("outcome=success", NULL);
    assert_non_null(c);
    assert_int_equal(lo_cond_count(c), 1);
    const lo_cond_clause *cl = lo_cond_clause_at(c, 0);
    assert_string_equal(cl->key, "outcome");
    assert_int_equal(cl->op, LO_COND_EQ);
    assert_string_equal(cl->literal, "success");
    assert_int_equal(cl->key_col, 1);
    assert_int_equal(cl->lit_col, 9);
    assert_null(lo_cond_clause_at(c, 1));
    lo_cond_env ok = env_with("success", NULL), bad = env_with("fail", NULL);
    assert_true(lo_cond_eval(c, &ok));
    assert_false(lo_cond_eval(c, &bad));
    lo_cond_free(c);
    /* case-sensitive */
    lo_cond_env upper = env_with("SUCCESS", NULL);
    assert_false(eval_text("outcome=success", &upper));
}

static void test_ne_clause(void **state)
{
    (void)state;
    lo_cond *c = lo_cond_parse("outcome != fail", NULL);
    assert_non_null(c);
    const lo_cond_clause *cl = lo_cond_clause_at(c, 0);
    assert_string_equal(cl->key, "outcome");
    assert_int_equal(cl->op, LO_COND_NE);
    assert_string_equal(cl->literal, "fail");
    assert_int_equal(cl->key_col, 1);
    assert_int_equal(cl->lit_col, 12);
    lo_cond_env s = env_with("success", NULL), f = env_with("fail", NULL);
    assert_true(lo_cond_eval(c, &s));
    assert_false(lo_cond_eval(c, &f));
    lo_cond_free(c);
}

static void test_truthy(void **state)
{
    (void)state;
    lo_cond *c = lo_cond_parse("  tests_passed ", NULL);
    assert_non_null(c);
    const lo_cond_clause *cl = lo_cond_clause_at(c, 0);
    assert_string_equal(cl->key, "tests_passed");
    assert_int_equal(cl->op, LO_COND_TRUTHY);
    assert_string_equal(cl->literal, "");
    assert_int_equal(cl->key_col, 3);
    assert_int_equal(cl->lit_col, 0);
    lo_cond_free(c);

    lo_cond_env env = env_with("success", NULL);
    assert_true(eval_text("tests_passed", &env));
    assert_true(eval_text("plain", &env));          /* any non-empty text */
    assert_true(eval_text("upper", &env));          /* "False" is not "false" */
    assert_false(eval_text("zero", &env));          /* "0" */
    assert_false(eval_text("no", &env));            /* "false" */
    assert_false(eval_text("empty", &env));         /* "" */
    assert_false(eval_text("missing", &env));       /* missing = "" */
    assert_true(eval_text("outcome", &env));
    assert_false(eval_text("preferred_label", &env)); /* NULL label = "" */
}

static void test_and(void **state)
{
    (void)state;
    const char *text = "outcome=success && context.tests_passed=true&&plain";
    lo_cond *c = lo_cond_parse(text, NULL);
    assert_non_null(c);
    assert_int_equal(lo_cond_count(c), 3);
    const lo_cond_clause *a = lo_cond_clause_at(c, 0);
    const lo_cond_clause *b = lo_cond_clause_at(c, 1);
    const lo_cond_clause *t = lo_cond_clause_at(c, 2);
    assert_string_equal(b->key, "context.tests_passed");
    assert_string_equal(b->literal, "true");
    assert_int_equal(b->key_col, 20);
    assert_int_equal(b->lit_col, 41);
    assert_string_equal(t->key, "plain");
    assert_int_equal(t->op, LO_COND_TRUTHY);
    assert_int_equal(t->key_col, 47);
    assert_int_equal(a->lit_col, 9);
    lo_cond_env s = env_with("success", NULL), f = env_with("fail", NULL);
    assert_true(lo_cond_eval(c, &s));
    assert_false(lo_cond_eval(c, &f)); /* first clause false */
    lo_cond_free(c);
    /* last clause false */
    assert_false(eval_text("outcome=success && context.tests_passed=false", &s));
}

static void test_preferred_label(void **state)
{
    (void)state;
    lo_cond_env fix = env_with("success", "Fix");
    lo_cond_env none = env_with("success", NULL);
    assert_true(eval_text("preferred_label=Fix", &fix));
    assert_false(eval_text("preferred_label=fix", &fix));
    assert_true(eval_text("preferred_label!=Approve", &fix));
    assert_false(eval_text("preferred_label=Fix", &none));
    assert_true(eval_text("preferred_label=\"\"", &none));
    assert_true(eval_text("preferred_label=\"Fix it\"", &(lo_cond_env){
        .outcome = "success", .preferred_label = "Fix it"}));
}

static void test_context_keys(void **state)
{
    (void)state;
    lo_cond_env env = env_with("success", NULL);
    /* context.x first looks up "context.x" ... */
    assert_string_equal(lo_cond_resolve(&env, "context.prefixed"),
                        "stored-with-prefix");
    assert_string_equal(lo_cond_resolve(&env, "context.both"), "prefixed");
    /* ... then "x" */
    assert_string_equal(lo_cond_resolve(&env, "context.plain"), "stored-plain");
    assert_string_equal(lo_cond_resolve(&env, "context.tests_passed"), "true");
    /* an unqualified key is a direct lookup only */
    assert_string_equal(lo_cond_resolve(&env, "plain"), "stored-plain");
    assert_string_equal(lo_cond_resolve(&env, "both"), "unprefixed");
    assert_string_equal(lo_cond_resolve(&env, "prefixed"), "");
    /* dotted paths */
    assert_string_equal(lo_cond_resolve(&env, "a.b"), "nested");
    assert_string_equal(lo_cond_resolve(&env, "context.a.b"), "nested");
    assert_true(eval_text("context.a.b=nested && a.b=nested", &env));
    /* special keys */
    assert_string_equal(lo_cond_resolve(&env, "outcome"), "success");
    assert_string_equal(lo_cond_resolve(&env, "preferred_label"), "");
    assert_true(eval_text("context.both=prefixed && both=unprefixed", &env));
}

static void test_missing_keys(void **state)
{
    (void)state;
    lo_cond_env env = env_with("success", NULL);
    assert_true(eval_text("context.nope=\"\"", &env));
    assert_false(eval_text("context.nope=x", &env));
    assert_true(eval_text("context.nope!=x", &env));
    assert_false(eval_text("context.nope!=\"\"", &env));
    /* no lookup function: every key is missing */
    lo_cond_env bare = {.outcome = "fail"};
    assert_string_equal(lo_cond_resolve(&bare, "tests_passed"), "");
    assert_string_equal(lo_cond_resolve(&bare, "context.x"), "");
    assert_true(eval_text("outcome=fail && x=\"\"", &bare));
    /* no env or no outcome */
    assert_string_equal(lo_cond_resolve(NULL, "outcome"), "");
    lo_cond_env empty = {0};
    assert_string_equal(lo_cond_resolve(&empty, "outcome"), "");
}

static void test_quoted_literals(void **state)
{
    (void)state;
    struct { const char *text, *want; uint32_t lit_col; } cases[] = {
        {"a=\"hello world\"", "hello world", 3},
        {"a = \"say \\\"hi\\\"\"", "say \"hi\"", 5},
        {"a=\"back\\\\slash\"", "back\\slash", 3},
        {"a=\"x\\ny\\tz\"", "x\ny\tz", 3},
        {"a=\"\"", "", 3},
        {"a=\"x && y = z\"", "x && y = z", 3},
        {"a=\"it's | fine\"", "it's | fine", 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lo_error err = {0};
        lo_cond *c = lo_cond_parse(cases[i].text, &err);
        if (!c)
            fail_msg("'%s': %s", cases[i].text, err.msg);
        assert_int_equal(lo_cond_count(c), 1);
        const lo_cond_clause *cl = lo_cond_clause_at(c, 0);
        assert_string_equal(cl->key, "a");
        assert_string_equal(cl->literal, cases[i].want);
        assert_int_equal(cl->lit_col, cases[i].lit_col);
        lo_cond_free(c);
    }
    const char *kv[] = {"a", "say \"hi\"", NULL};
    lo_cond_env env = {.outcome = "success", .lookup = lookup, .ud = (void *)kv};
    assert_true(eval_text("a=\"say \\\"hi\\\"\"", &env));
    /* a quoted literal equals the same bare literal */
    lo_cond_env s = env_with("success", NULL);
    assert_true(eval_text("outcome=\"success\"", &s));
}

static void test_literal_kinds(void **state)
{
    (void)state;
    const char *lits[] = {"42", "-1", "1.5", "true", "false", "gpt-5.4",
                          "summary:high", "path/to/file", "_x", "a.b.c"};
    for (size_t i = 0; i < sizeof lits / sizeof lits[0]; i++) {
        char text[64];
        snprintf(text, sizeof text, "k=%s", lits[i]);
        lo_cond *c = lo_cond_parse(text, NULL);
        assert_non_null(c);
        assert_string_equal(lo_cond_clause_at(c, 0)->literal, lits[i]);
        const char *kv[] = {"k", lits[i], NULL};
        lo_cond_env env = {.lookup = lookup, .ud = (void *)kv};
        assert_true(lo_cond_eval(c, &env));
        lo_cond_free(c);
    }
}

static void test_whitespace(void **state)
{
    (void)state;
    lo_cond *c = lo_cond_parse("\t outcome =\tsuccess  &&  context.x != y ", NULL);
    assert_non_null(c);
    assert_int_equal(lo_cond_count(c), 2);
    const lo_cond_clause *a = lo_cond_clause_at(c, 0);
    const lo_cond_clause *b = lo_cond_clause_at(c, 1);
    assert_int_equal(a->key_col, 3);
    assert_int_equal(a->lit_col, 13);
    assert_string_equal(b->key, "context.x");
    assert_int_equal(b->op, LO_COND_NE);
    assert_string_equal(b->literal, "y");
    assert_int_equal(b->key_col, 26);
    assert_int_equal(b->lit_col, 39);
    lo_cond_free(c);
}

static void test_error_empty_clause(void **state)
{
    (void)state;
    expect_error("a=b && && c=d", 8, "empty clause");
    expect_error("&& a=b", 1, "empty clause");
    expect_error("  &&a=b", 3, "empty clause");
    expect_error("a=b &&", 5, "empty clause");
    expect_error("a=b &&   ", 5, "empty clause");
    expect_error("a &&&& b", 5, "empty clause");
}

static void test_error_double_equals(void **state)
{
    (void)state;
    expect_error("outcome==success", 8, "use '=' to compare");
    expect_error("outcome == success", 9, "use '=' to compare");
}

static void test_error_unsupported(void **state)
{
    (void)state;
    const char *only = "only has '=', '!=' and '&&'";
    expect_error("outcome=success || outcome=fail", 17, only);
    expect_error("outcome=success|| outcome=fail", 16, "'||'");
    expect_error("a | b", 3, "'|'");
    expect_error("!a", 1, only);
    expect_error("a && !b", 6, "'!'");
    expect_error("a!b", 2, "'!'");
    expect_error("count<3", 6, "'<'");
    expect_error("count > 3", 7, "'>'");
    expect_error("count>=3", 6, "'>='");
    expect_error("outcome contains succ", 9, "'contains'");
    expect_error("x=1 or y=2", 5, "'or'");
    expect_error("x=1 AND y=2", 5, "'AND'");
    expect_error("not x", 1, "'not'");
    expect_error("(a=b)", 1, "'('");
    expect_error("a ~ b", 3, "'~'");
}

static void test_error_single_amp(void **state)
{
    (void)state;
    expect_error("a=b & c=d", 5, "single '&'");
    expect_error("a=b&c=d", 4, "single '&'");
    expect_error("a & b", 3, "single '&'");
    expect_error("& a", 1, "single '&'");
}

static void test_error_missing_key(void **state)
{
    (void)state;
    expect_error("=success", 1, "missing key");
    expect_error("  = x", 3, "missing key before '='");
    expect_error("a=b && != x", 8, "missing key before '!='");
}

static void test_error_missing_value(void **state)
{
    (void)state;
    const char *hint = "write \"\" to compare with the empty string";
    expect_error("outcome=", 9, hint);
    expect_error("outcome != ", 12, "missing value after '!='");
    expect_error("a= && b", 4, hint);
    expect_error("a=&&b", 3, "missing value after '='");
}

static void test_error_bad_key(void **state)
{
    (void)state;
    expect_error("my-key=1", 3, "invalid character '-' in key");
    expect_error("1abc=x", 1, "invalid key");
    expect_error("a.=x", 3, "after '.'");
    expect_error("a..b=x", 3, "after '.'");
    expect_error("context.=x", 9, "after '.'");
    expect_error("a.b.", 5, "after '.'");
    expect_error("a$=x", 2, "invalid character '$' in key");
    expect_error("\"a\"=x", 1, "invalid key");
    expect_error("a b", 3, "expected '=', '!=' or '&&'");
}

static void test_error_strings(void **state)
{
    (void)state;
    expect_error("a=\"abc", 3, "unterminated string");
    expect_error("a=\"ab\\\"", 3, "unterminated string");
    expect_error("x=1 && a = \"ab\\", 12, "unterminated string");
    expect_error("a=\"x\\qy\"", 5, "unknown escape '\\q'");
}

static void test_error_trailing(void **state)
{
    (void)state;
    expect_error("outcome=success fail", 17, "unexpected 'fail'");
    expect_error("outcome=success fail", 17, "clauses are joined with '&&'");
    expect_error("a=\"x\"y", 6, "unexpected 'y'");
    expect_error("a=b\"c\"", 4, "unexpected '\"'");
    expect_error("a=b=c", 4, "unexpected '='");
    expect_error("a=(b)", 3, "invalid value");
    expect_error("a=b #comment", 5, "unexpected '#'");
}

static void test_error_messages_are_one_line(void **state)
{
    (void)state;
    /* control bytes in the input are escaped in the message */
    expect_error("a=b\x01", 4, "\\x01");
    expect_error("a\n\n=\n", 6, "missing value");
    lo_error err = {0};
    assert_null(lo_cond_parse("a=b \x7f", &err));
    assert_int_equal(err.col, 5);
    assert_non_null(strstr(err.msg, "\\x7f"));
}

static void check_unsat(const char *text, const char *needle)
{
    lo_cond *c = lo_cond_parse(text, NULL);
    assert_non_null(c);
    char why[256] = "untouched";
    if (lo_cond_satisfiable(c, why, sizeof why))
        fail_msg("'%s' should be unsatisfiable", text);
    if (!strstr(why, needle))
        fail_msg("'%s': reason '%s' lacks '%s'", text, why, needle);
    assert_null(strchr(why, '\n'));
    /* why may be omitted */
    assert_false(lo_cond_satisfiable(c, NULL, 0));
    lo_cond_free(c);
}

static void check_sat(const char *text)
{
    lo_cond *c = lo_cond_parse(text, NULL);
    assert_non_null(c);
    char why[256] = "untouched";
    if (!lo_cond_satisfiable(c, why, sizeof why))
        fail_msg("'%s' should be satisfiable: %s", text, why);
    assert_string_equal(why, "");
    lo_cond_free(c);
}

static void test_satisfiable(void **state)
{
    (void)state;
    check_sat("outcome=success");
    check_sat("outcome=partial_success && preferred_label=Fix");
    check_sat("outcome=skipped");
    check_sat("outcome!=notastatus");
    check_sat("outcome!=success && outcome!=fail");
    check_sat("context.x=a && context.x=a");
    check_sat("context.x=a && context.y=b");
    check_sat("x!=a && x!=b");
    check_sat("context.outcome=whatever"); /* a context value, not the status */
    check_sat("tests_passed && tests_passed=true");
    check_sat("preferred_label=anything");
}

static void test_unsatisfiable(void **state)
{
    (void)state;
    check_unsat("outcome=success && outcome=fail",
                "'outcome' cannot equal both 'success' and 'fail'");
    check_unsat("context.x=a && x=b", "cannot equal both 'a' and 'b'");
    check_unsat("x=a && context.x!=a", "to equal 'a' and to differ from it");
    check_unsat("x!=a && x=a", "to equal 'a' and to differ from it");
    check_unsat("outcome=sucess", "did you mean 'success'?");
    check_unsat("outcome=SUCCESS", "did you mean 'success'?");
    check_unsat("outcome=failed", "did you mean 'fail'?");
    check_unsat("outcome=banana", "'banana', which is not a status;");
    check_unsat("outcome=\"\"", "not a status");
    check_unsat("flag && flag=false", "tested for truth");
    check_unsat("flag=0 && context.flag", "tested for truth");

    lo_cond *c = lo_cond_parse("outcome=banana", NULL);
    char why[256];
    assert_false(lo_cond_satisfiable(c, why, sizeof why));
    assert_null(strstr(why, "did you mean"));
    /* a tiny buffer is truncated, never overrun */
    char tiny[8];
    memset(tiny, 'x', sizeof tiny);
    assert_false(lo_cond_satisfiable(c, tiny, 5));
    assert_int_equal(tiny[4], '\0');
    assert_int_equal(tiny[5], 'x');
    lo_cond_free(c);
}

static void test_statuses(void **state)
{
    (void)state;
    assert_int_equal(lo_cond_n_statuses, 5);
    assert_string_equal(lo_cond_statuses[0], "success");
    assert_string_equal(lo_cond_statuses[1], "partial_success");
    assert_string_equal(lo_cond_statuses[2], "retry");
    assert_string_equal(lo_cond_statuses[3], "fail");
    assert_string_equal(lo_cond_statuses[4], "skipped");
    assert_true(lo_cond_is_status("retry"));
    assert_false(lo_cond_is_status("Success"));
    assert_false(lo_cond_is_status(""));
    assert_false(lo_cond_is_status(NULL));
}

static void test_alloc_failure(void **state)
{
    (void)state;
    const char *text = "outcome=success && a=\"q\\\"\" && b && c!=d && e=1 && f";
    long failures = 0;
    lo_cond *c = NULL;
    for (long n = 1; n < 100 && !c; n++) {
        lo_error err = {0};
        lo_alloc_fail_after(n);
        c = lo_cond_parse(text, &err);
        lo_alloc_fail_after(0);
        if (!c) {
            assert_int_equal(err.code, LO_ENOMEM);
            failures++;
        }
    }
    assert_non_null(c);
    assert_true(failures >= 3); /* struct, string block, clause array growth */
    assert_int_equal(lo_cond_count(c), 6);
    assert_string_equal(lo_cond_clause_at(c, 1)->literal, "q\"");
    lo_cond_free(c);
    /* allocation failure with no lo_error */
    lo_alloc_fail_after(1);
    assert_null(lo_cond_parse("a=b", NULL));
    lo_alloc_fail_after(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_eq_clause),
        cmocka_unit_test(test_ne_clause),
        cmocka_unit_test(test_truthy),
        cmocka_unit_test(test_and),
        cmocka_unit_test(test_preferred_label),
        cmocka_unit_test(test_context_keys),
        cmocka_unit_test(test_missing_keys),
        cmocka_unit_test(test_quoted_literals),
        cmocka_unit_test(test_literal_kinds),
        cmocka_unit_test(test_whitespace),
        cmocka_unit_test(test_error_empty_clause),
        cmocka_unit_test(test_error_double_equals),
        cmocka_unit_test(test_error_unsupported),
        cmocka_unit_test(test_error_single_amp),
        cmocka_unit_test(test_error_missing_key),
        cmocka_unit_test(test_error_missing_value),
        cmocka_unit_test(test_error_bad_key),
        cmocka_unit_test(test_error_strings),
        cmocka_unit_test(test_error_trailing),
        cmocka_unit_test(test_error_messages_are_one_line),
        cmocka_unit_test(test_satisfiable),
        cmocka_unit_test(test_unsatisfiable),
        cmocka_unit_test(test_statuses),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests_name("condition", tests, NULL, NULL);
}
