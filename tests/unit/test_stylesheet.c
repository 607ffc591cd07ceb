/* Unit tests for the model stylesheet (attractor-spec §8). */
#include "testutil.h"

#include "lightsout/stylesheet.h"

/* ---- helpers ---- */

/* Add a node with an optional shape and comma-separated classes, set by hand
 * so these tests do not depend on the DOT parser. */
static lo_node *add_node(lo_graph *g, const char *id, const char *shape,
                         const char *classes)
{
    lo_node *n = lo_graph_add_node(g, id);
    assert_non_null(n);
    if (shape)
        assert_int_equal(lo_attrs_set(g, &n->attrs, "shape", LO_VAL_BARE,
                                      shape, LO_NOPOS), 0);
    if (classes) {
        n->classes = lo_arena_alloc(g->arena, 8 * sizeof *n->classes);
        assert_non_null(n->classes);
        const char *p = classes;
        while (*p && n->n_classes < 8) {
            size_t len = strcspn(p, ",");
            n->classes[n->n_classes] = lo_arena_strndup(g->arena, p, len);
            assert_non_null(n->classes[n->n_classes]);
            n->n_classes++;
            p += len;
            if (*p == ',')
                p++;
        }
    }
    return n;
}

static lo_stylesheet *parse_ok(const char *text)
{
    lo_error err = {0};
    lo_stylesheet *ss = lo_stylesheet_parse(text, &err);
    if (!ss)
        fail_msg("parse failed at %u:%u: %s", (unsigned)err.line,
                 (unsigned)err.col, err.msg);
    return ss;
}

static const char *resolve(const char *text, const lo_node *n,
                           const char *prop, lo_stylesheet **keep)
{
    lo_stylesheet *ss = parse_ok(text);
    *keep = ss;
    return lo_stylesheet_resolve(ss, n, prop);
}

static const char *attr(const lo_node *n, const char *key)
{
    const lo_attr *a = lo_attrs_get(&n->attrs, key);
    return a ? a->value.text : NULL;
}

/* ---- parsing ---- */

static void test_empty(void **state)
{
    (void)state;
    const char *texts[] = {"", "   \n\t \r\n", "/* nothing here */", NULL};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        lo_stylesheet *ss = parse_ok(texts[i]);
        assert_int_equal(lo_stylesheet_count(ss), 0);
        assert_null(lo_stylesheet_rule(ss, 0));
        lo_stylesheet_free(ss);
    }
    lo_stylesheet_free(NULL);
}

static void test_structure(void **state)
{
    (void)state;
    lo_stylesheet *ss = parse_ok(
        "* { llm_model: a; }\n"
        "  box{llm_provider:openai}\n"
        ".code-review_2 { reasoning_effort: low; backend: sim }\n"
        "#node_7 { }\n");
    assert_int_equal(lo_stylesheet_count(ss), 4);
    const lo_style_rule *r = lo_stylesheet_rule(ss, 0);
    assert_int_equal(r->kind, LO_SEL_UNIVERSAL);
    assert_string_equal(r->name, "*");
    assert_int_equal(r->n_decls, 1);
    assert_string_equal(r->decls[0].property, "llm_model");
    assert_string_equal(r->decls[0].value, "a");
    assert_int_equal(r->decls[0].line, 1);
    assert_int_equal(r->decls[0].col, 16);
    r = lo_stylesheet_rule(ss, 1);
    assert_int_equal(r->kind, LO_SEL_SHAPE);
    assert_string_equal(r->name, "box");
    assert_int_equal(r->line, 2);
    assert_int_equal(r->col, 3);
    assert_string_equal(r->decls[0].value, "openai");
    r = lo_stylesheet_rule(ss, 2);
    assert_int_equal(r->kind, LO_SEL_CLASS);
    assert_string_equal(r->name, "code-review_2");
    assert_int_equal(r->n_decls, 2);
    assert_string_equal(r->decls[1].property, "backend");
    assert_string_equal(r->decls[1].value, "sim");
    r = lo_stylesheet_rule(ss, 3);
    assert_int_equal(r->kind, LO_SEL_ID);
    assert_string_equal(r->name, "node_7");
    assert_int_equal(r->n_decls, 0); /* a rule with no declarations is fine */
    assert_null(lo_stylesheet_rule(ss, 4));
    lo_stylesheet_free(ss);
}

static void test_values_and_comments(void **state)
{
    (void)state;
    lo_stylesheet *ss = parse_ok(
        "/* house defaults */\n"
        "*   /* every node */ {\n"
        "    llm_model : claude-sonnet-4-5 ;  /* bare, with hyphens */\n"
        "    llm_provider:\"open ai \\\"x\\\" \\\\ \\n\\t\";\n"
        "    ;;\n"
        "}\n"
        "/* multi\n   line */ #n { llm_model: gpt-5.4; llm_provider: a/b:c@d_e }");
    assert_int_equal(lo_stylesheet_count(ss), 2);
    const lo_style_rule *r = lo_stylesheet_rule(ss, 0);
    assert_int_equal(r->n_decls, 2);
    assert_string_equal(r->decls[0].value, "claude-sonnet-4-5");
    assert_string_equal(r->decls[1].value, "open ai \"x\" \\ \n\t");
    assert_int_equal(r->decls[1].line, 4);
    assert_int_equal(r->decls[1].col, 18);
    r = lo_stylesheet_rule(ss, 1);
    assert_int_equal(r->line, 8);
    assert_int_equal(r->col, 12);
    assert_string_equal(r->decls[0].value, "gpt-5.4");
    assert_string_equal(r->decls[1].value, "a/b:c@d_e");
    lo_stylesheet_free(ss);
}

/* Each error with its exact position and a piece of its message. */
static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        unsigned line, col;
        const char *msg;
    } cases[] = {
        {"box llm_model: x }", 1, 5, "expected '{' after selector 'box'"},
        {"box.code { }", 1, 4, "expected '{' after selector 'box'"},
        {".code", 1, 6, "expected '{' after selector '.code', found end"},
        {"* { llm_model x }", 1, 15, "expected ':' after property 'llm_model'"},
        {"* { llm_model: ; }", 1, 16, "missing value for 'llm_model'"},
        {"* { llm_model:", 1, 15, "missing value for 'llm_model'"},
        {"* { llm_model: \"abc }", 1, 16, "unterminated string"},
        {"* { llm_model: \"ab\nc\" }", 1, 16, "unterminated string"},
        {"* { /* oops }", 1, 5, "unterminated comment"},
        {"* { llm_model: a }\n  ! { }", 2, 3, "unexpected character '!'"},
        {"* { llm_model: a; } }", 1, 21, "unexpected character '}'"},
        {"{ llm_model: a }", 1, 1, "empty selector"},
        {". { }", 1, 2, "expected a class name after '.'"},
        {"# { }", 1, 2, "expected a node id after '#', found"},
        {"#9x { }", 1, 2, "expected a node id after '#', found"},
        {"* { llm_modle: a }", 1, 5,
         "unknown property 'llm_modle' (did you mean 'llm_model'?)"},
        {"* { llm-provider: a }", 1, 5, "did you mean 'llm_provider'?"},
        {"* { colour: red }", 1, 5, "unknown property 'colour'; known: "
                                    "llm_model, llm_provider"},
        {"* { reasoning_effort: extreme }", 1, 23,
         "invalid reasoning_effort 'extreme'; expected low, medium or high"},
        {"* { reasoning_effort: High }", 1, 23, "did you mean 'high'?"},
        {"* { backend: cloud }", 1, 14,
         "invalid backend 'cloud'; expected api, cli, twin or sim"},
        {"* { llm_model: a", 1, 17, "missing '}' to close the rule for '*'"},
        {"* { llm_model: a llm_provider: b }", 1, 18,
         "expected ';' or '}' after the value of 'llm_model'"},
        {"* { llm_model: gpt 5 }", 1, 20, "expected ';' or '}'"},
        {"* { llm_model: $x }", 1, 16, "unexpected character '$' in the value"},
        {"* { llm_model: \"\" }", 1, 16, "empty value for 'llm_model'"},
        {"* { = }", 1, 5, "expected a property name or '}', found '='"},
        {"\n* {\n  llm_model: a;\n  llm_provder: b;\n}\n", 4, 3,
         "unknown property 'llm_provder'"},
        {"* {\n\tllm_model:\n\n   ;\n}", 4, 4, "missing value"},
        {"*\x01{}", 1, 2, "\\x01"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lo_error err = {0};
        lo_stylesheet *ss = lo_stylesheet_parse(cases[i].text, &err);
        if (ss || err.code != LO_EPARSE || err.line != cases[i].line ||
            err.col != cases[i].col || !strstr(err.msg, cases[i].msg))
            fail_msg("case %zu %s: got %s at %u:%u: %s", i, cases[i].text,
                     ss ? "success" : lo_err_name(err.code),
                     (unsigned)err.line, (unsigned)err.col, err.msg);
        assert_null(strchr(err.msg, '\n')); /* one-line messages */
    }
    /* A NULL err is allowed. */
    assert_null(lo_stylesheet_parse("* {", NULL));
}

/* ---- matching and specificity ---- */

static void test_selectors(void **state)
{
    (void)state;
    lo_graph *g = lo_graph_new("G");
    assert_non_null(g);
    lo_node *plain = add_node(g, "plain", NULL, NULL); /* shape box by default */
    lo_node *dia = add_node(g, "gate", "diamond", NULL);
    lo_node *coded = add_node(g, "coded", "diamond", "fast,code");
    lo_node *target = add_node(g, "target", "hexagon", NULL);
    lo_stylesheet *ss;

    assert_string_equal(resolve("* { llm_model: u }", dia, "llm_model", &ss),
                        "u");
    assert_null(lo_stylesheet_resolve(ss, dia, "llm_provider"));
    lo_stylesheet_free(ss);

    const char *shape = "box { llm_model: b } diamond { llm_model: d }";
    assert_string_equal(resolve(shape, plain, "llm_model", &ss), "b");
    assert_string_equal(lo_stylesheet_resolve(ss, dia, "llm_model"), "d");
    assert_null(lo_stylesheet_resolve(ss, target, "llm_model"));
    lo_stylesheet_free(ss);

    const char *cls = ".code { llm_model: c }";
    assert_string_equal(resolve(cls, coded, "llm_model", &ss), "c");
    assert_null(lo_stylesheet_resolve(ss, dia, "llm_model"));
    lo_stylesheet_free(ss);

    const char *id = "#target { llm_model: t }";
    assert_string_equal(resolve(id, target, "llm_model", &ss), "t");
    assert_null(lo_stylesheet_resolve(ss, plain, "llm_model"));
    lo_stylesheet_free(ss);

    /* Selectors match exactly: no prefixes, no case folding of ids. */
    const char *exact = "#targ { llm_model: x } #Target { llm_model: y }"
                        " .cod { llm_model: z } dia { llm_model: w }";
    assert_null(resolve(exact, target, "llm_model", &ss));
    assert_null(lo_stylesheet_resolve(ss, coded, "llm_model"));
    lo_stylesheet_free(ss);
    lo_graph_free(g);
}

static void test_specificity(void **state)
{
    (void)state;
    lo_graph *g = lo_graph_new("G");
    lo_node *n = add_node(g, "n", "diamond", "code");
    lo_node *other = add_node(g, "other", "diamond", "code");
    lo_stylesheet *ss;

    /* Most specific first, least specific last: order must not matter. */
    const char *rev = "#n { llm_model: id } .code { llm_model: class }"
                      " diamond { llm_model: shape } * { llm_model: all }";
    const char *fwd = "* { llm_model: all } diamond { llm_model: shape }"
                      " .code { llm_model: class } #n { llm_model: id }";
    const char *texts[] = {rev, fwd};
    for (int i = 0; i < 2; i++) {
        assert_string_equal(resolve(texts[i], n, "llm_model", &ss), "id");
        assert_string_equal(lo_stylesheet_resolve(ss, other, "llm_model"),
                            "class");
        lo_stylesheet_free(ss);
    }
    const char *noid = ".code { llm_model: class } diamond { llm_model: shape }"
                       " * { llm_model: all }";
    assert_string_equal(resolve(noid, n, "llm_model", &ss), "class");
    lo_stylesheet_free(ss);
    const char *noclass = "diamond { llm_model: shape } * { llm_model: all }";
    assert_string_equal(resolve(noclass, n, "llm_model", &ss), "shape");
    lo_stylesheet_free(ss);

    /* Properties resolve independently of each other. */
    const char *mix = "#n { llm_model: id } * { llm_provider: p; llm_model: u }";
    assert_string_equal(resolve(mix, n, "llm_provider", &ss), "p");
    assert_string_equal(lo_stylesheet_resolve(ss, n, "llm_model"), "id");
    lo_stylesheet_free(ss);
    lo_graph_free(g);
}

static void test_later_wins(void **state)
{
    (void)state;
    lo_graph *g = lo_graph_new("G");
    lo_node *n = add_node(g, "n", NULL, "a,b");
    lo_stylesheet *ss;
    assert_string_equal(resolve("* { llm_model: one } * { llm_model: two }", n,
                                "llm_model", &ss), "two");
    lo_stylesheet_free(ss);
    /* Two classes of the same node: the later rule, not the class order. */
    assert_string_equal(resolve(".b { llm_model: b } .a { llm_model: a }", n,
                                "llm_model", &ss), "a");
    lo_stylesheet_free(ss);
    /* A repeated property inside one rule: the later declaration. */
    assert_string_equal(resolve("#n { llm_model: x; llm_model: y }", n,
                                "llm_model", &ss), "y");
    lo_stylesheet_free(ss);
    /* A later rule that does not match does not win. */
    assert_string_equal(resolve(".a { llm_model: a } .zz { llm_model: z }", n,
                                "llm_model", &ss), "a");
    lo_stylesheet_free(ss);
    lo_graph_free(g);
}

/* ---- apply ---- */

static void test_apply_explicit_wins(void **state)
{
    (void)state;
    lo_graph *g = lo_graph_new("G");
    lo_node *n = add_node(g, "n", "diamond", "code");
    lo_node *m = add_node(g, "m", NULL, NULL);
    assert_int_equal(lo_attrs_set(g, &n->attrs, "llm_model", LO_VAL_STRING,
                                  "mine", LO_NOPOS), 0);
    lo_stylesheet *ss = parse_ok(
        "* { llm_model: all; backend: twin } diamond { llm_model: shape }"
        " .code { llm_model: class } #n { llm_model: id; llm_provider: p }");
    /* resolve ignores the node's own attributes; apply respects them. */
    assert_string_equal(lo_stylesheet_resolve(ss, n, "llm_model"), "id");
    lo_error err = {0};
    assert_int_equal(lo_stylesheet_apply(ss, g, &err), 0);
    assert_string_equal(attr(n, "llm_model"), "mine");
    assert_string_equal(attr(n, "llm_provider"), "p");
    assert_string_equal(attr(n, "backend"), "twin");
    assert_null(attr(n, "reasoning_effort"));
    assert_string_equal(attr(m, "llm_model"), "all");
    assert_null(attr(m, "llm_provider"));
    const lo_attr *a = lo_attrs_get(&m->attrs, "llm_model");
    assert_int_equal(a->value.kind, LO_VAL_STRING);
    /* Applying twice changes nothing. */
    assert_int_equal(lo_stylesheet_apply(ss, g, &err), 0);
    assert_string_equal(attr(m, "llm_model"), "all");
    lo_stylesheet_free(ss);
    lo_graph_free(g);
}

static void test_apply_many_nodes(void **state)
{
    (void)state;
    lo_graph *g = lo_graph_new("G");
    char id[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(id, sizeof id, "n%d", i);
        add_node(g, id, i % 2 ? "diamond" : NULL, i % 3 ? NULL : "code");
    }
    lo_stylesheet *ss = parse_ok("* { llm_model: a } diamond { llm_model: d }"
                                 " .code { llm_model: c } #n7 { llm_model: x }");
    assert_int_equal(lo_stylesheet_apply(ss, g, NULL), 0);
    for (int i = 0; i < 20000; i++) {
        const char *want = i == 7 ? "x" : i % 3 == 0 ? "c" : i % 2 ? "d" : "a";
        assert_string_equal(attr(g->nodes[i], "llm_model"), want);
    }
    lo_stylesheet_free(ss);
    lo_graph_free(g);
}

/* attractor-spec §8.6, through the DOT parser. */
static void test_spec_example(void **state)
{
    (void)state;
    const char *src =
        "digraph Pipeline {\n"
        "    graph [\n"
        "        goal=\"Implement feature X\",\n"
        "        model_stylesheet=\"\n"
        "            * { llm_model: claude-sonnet-4-5; llm_provider: anthropic; }\n"
        "            .code { llm_model: claude-opus-4-6; llm_provider: anthropic; }\n"
        "            #critical_review { llm_model: gpt-5.2; llm_provider: openai; reasoning_effort: high; }\n"
        "        \"\n"
        "    ]\n"
        "\n"
        "    start [shape=Mdiamond]\n"
        "    exit  [shape=Msquare]\n"
        "\n"
        "    plan            [label=\"Plan\", class=\"planning\"]\n"
        "    implement       [label=\"Implement\", class=\"code\"]\n"
        "    critical_review [label=\"Critical Review\", class=\"code\"]\n"
        "\n"
        "    start -> plan -> implement -> critical_review -> exit\n"
        "}\n";
    lo_error err = {0};
    lo_graph *g = lo_graph_parse(src, strlen(src), "t.dot", &err);
    if (!g)
        fail_msg("%u:%u: %s", (unsigned)err.line, (unsigned)err.col, err.msg);
    lo_stylesheet *ss = parse_ok(lo_graph_str(g, "model_stylesheet"));
    assert_int_equal(lo_stylesheet_count(ss), 3);
    assert_int_equal(lo_stylesheet_apply(ss, g, &err), 0);
    lo_node *plan = lo_graph_node(g, "plan");
    lo_node *impl = lo_graph_node(g, "implement");
    lo_node *crit = lo_graph_node(g, "critical_review");
    assert_string_equal(attr(plan, "llm_model"), "claude-sonnet-4-5");
    assert_string_equal(attr(plan, "llm_provider"), "anthropic");
    assert_null(attr(plan, "reasoning_effort"));
    assert_string_equal(attr(impl, "llm_model"), "claude-opus-4-6");
    assert_string_equal(attr(impl, "llm_provider"), "anthropic");
    assert_string_equal(attr(crit, "llm_model"), "gpt-5.2");
    assert_string_equal(attr(crit, "llm_provider"), "openai");
    assert_string_equal(attr(crit, "reasoning_effort"), "high");
    /* The * rule reaches the start and exit nodes too. */
    assert_string_equal(attr(lo_graph_node(g, "start"), "llm_model"),
                        "claude-sonnet-4-5");
    lo_stylesheet_free(ss);
    lo_graph_free(g);
}

/* ---- allocation failure ---- */

static void test_alloc_failure_parse(void **state)
{
    (void)state;
    /* Enough rules and declarations to make every array grow. */
    const char *text =
        "* { llm_model: a; llm_provider: \"b\"; reasoning_effort: low;"
        " backend: api; llm_model: c }\n"
        "box { llm_model: d } .x { llm_model: e } #y { llm_model: f }\n"
        "box { llm_model: d } .x { llm_model: e } #y { llm_model: f }\n";
    bool done = false;
    for (long n = 1; n < 10000 && !done; n++) {
        lo_error err = {0};
        lo_alloc_fail_after(n);
        lo_stylesheet *ss = lo_stylesheet_parse(text, &err);
        lo_alloc_fail_after(0);
        if (ss) {
            assert_int_equal(lo_stylesheet_count(ss), 7);
            assert_int_equal(lo_stylesheet_rule(ss, 0)->n_decls, 5);
            lo_stylesheet_free(ss);
            done = true;
        } else {
            assert_int_equal(err.code, LO_ENOMEM);
        }
    }
    assert_true(done);
}

static void test_alloc_failure_apply(void **state)
{
    (void)state;
    lo_stylesheet *ss = parse_ok("* { llm_model: a; llm_provider: p }"
                                 " #n2 { backend: sim }");
    bool done = false;
    for (long n = 1; n < 10000 && !done; n++) {
        lo_graph *g = lo_graph_new("G");
        assert_non_null(g);
        char id[16];
        for (int i = 0; i < 40; i++) {
            snprintf(id, sizeof id, "n%d", i);
            add_node(g, id, NULL, NULL);
        }
        lo_error err = {0};
        lo_alloc_fail_after(n);
        int rc = lo_stylesheet_apply(ss, g, &err);
        lo_alloc_fail_after(0);
        if (rc == 0) {
            assert_string_equal(attr(g->nodes[39], "llm_provider"), "p");
            assert_string_equal(attr(g->nodes[2], "backend"), "sim");
            done = true;
        } else {
            assert_int_equal(rc, LO_ENOMEM);
            assert_int_equal(err.code, LO_ENOMEM);
        }
        lo_graph_free(g);
    }
    assert_true(done);
    lo_stylesheet_free(ss);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_structure),
        cmocka_unit_test(test_values_and_comments),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_selectors),
        cmocka_unit_test(test_specificity),
        cmocka_unit_test(test_later_wins),
        cmocka_unit_test(test_apply_explicit_wins),
        cmocka_unit_test(test_apply_many_nodes),
        cmocka_unit_test(test_spec_example),
        cmocka_unit_test(test_alloc_failure_parse),
        cmocka_unit_test(test_alloc_failure_apply),
    };
    return cmocka_run_group_tests_name("stylesheet", tests, NULL, NULL);
}
