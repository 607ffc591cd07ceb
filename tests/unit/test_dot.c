/* Unit tests for the DOT parser and the graph model (attractor-spec §2,
 * §11.1, §11.12; Appendix A and B): src/pipeline/dot_parser.c, dot_lexer.c,
 * graph.c, attrs.c, graph_dot.c. */
#include "testutil.h"

#include "lightsout/graph.h"

/* ---- helpers ---- */



static lo_graph *parse_ok(const char *src)
{
    lo_error err = {0};
    lo_graph *g = lo_graph_parse(src, strlen(src), "t.dot", &err);
    if (!g)
        fail_msg("parse failed at %u:%u: %s", (unsigned)err.line, (unsigned)err.col,
                 err.msg);
    return g;
}

static lo_node *node(const lo_graph *g, const char *id)
{
    lo_node *n = lo_graph_node(g, id);
    if (!n)
        fail_msg("no node '%s'", id);
    return n;
}

/* The attribute's text, or NULL when the node does not set it. */
static const char *attr(const lo_attrs *a, const char *key)
{
    const lo_attr *x = lo_attrs_get(a, key);
    return x ? x->value.text : NULL;
}

static const lo_attr *must_attr(const lo_attrs *a, const char *key)
{
    const lo_attr *x = lo_attrs_get(a, key);
    if (!x)
        fail_msg("attribute '%s' is not set", key);
    return x;
}

static void expect_pos(const lo_graph *g, uint32_t off, uint32_t line, uint32_t col)
{
    lo_pos p = lo_graph_pos(g, off);
    if (p.line != line || p.col != col)
        fail_msg("offset %u is at %u:%u, expected %u:%u", (unsigned)off,
                 (unsigned)p.line, (unsigned)p.col, (unsigned)line, (unsigned)col);
}

/* Parse src, which must fail with LO_EPARSE at line:col, a message
 * containing needle and the offending line as snippet. */
static void expect_reject(const char *src, uint32_t line, uint32_t col,
                          const char *needle, const char *snippet)
{
    lo_error err = {0};
    lo_graph *g = lo_graph_parse(src, strlen(src), "t.dot", &err);
    if (g) {
        lo_graph_free(g);
        fail_msg("parsed but should not have: %s", src);
    }
    assert_int_equal(err.code, LO_EPARSE);
    assert_string_equal(err.file, "t.dot");
    if (err.line != line || err.col != col)
        fail_msg("error at %u:%u, expected %u:%u (%s)", (unsigned)err.line,
                 (unsigned)err.col, (unsigned)line, (unsigned)col, err.msg);
    if (!strstr(err.msg, needle))
        fail_msg("message '%s' does not contain '%s'", err.msg, needle);
    assert_string_equal(err.snippet, snippet);
}

/* ---- §11.12 parse rows ---- */

static void test_linear_pipeline(void **state)
{
    (void)state;
    lo_graph *g = parse_ok("digraph Simple {\n  start -> A -> B -> done\n}\n");
    assert_string_equal(g->name, "Simple");
    assert_string_equal(g->file, "t.dot");
    assert_int_equal(g->n_nodes, 4);
    const char *ids[] = {"start", "A", "B", "done"};
    for (uint32_t i = 0; i < 4; i++) {
        assert_string_equal(g->nodes[i]->id, ids[i]);
        assert_int_equal(g->nodes[i]->index, i);
        assert_false(g->nodes[i]->declared);
        assert_int_equal(g->nodes[i]->attrs.n, 0);
    }
    assert_int_equal(g->n_edges, 3);
    for (uint32_t i = 0; i < 3; i++) {
        assert_string_equal(g->edges[i].from, ids[i]);
        assert_string_equal(g->edges[i].to, ids[i + 1]);
        assert_int_equal(g->edges[i].attrs.n, 0);
    }
    /* edge endpoints are the nodes' own interned ids */
    assert_ptr_equal(g->edges[0].from, node(g, "start")->id);
    assert_true(lo_node_is_start(node(g, "start")));
    assert_false(lo_node_is_exit(node(g, "done")));
    assert_int_equal(g->attrs.n, 0);
    lo_graph_free(g);
}

static void test_graph_attrs_block_and_decl(void **state)
{
    (void)state;
    lo_graph *g = parse_ok("digraph G {\n"
                           "  graph [goal=\"Run tests and report\", label=\"Demo\"]\n"
                           "  rankdir=LR\n"
                           "  default_max_retries = 2;\n"
                           "  model_stylesheet=\"* { llm_model: m; }\"\n"
                           "  a\n"
                           "}\n");
    assert_int_equal(g->attrs.n, 5);
    assert_string_equal(lo_graph_str(g, "goal"), "Run tests and report");
    assert_string_equal(lo_graph_str(g, "label"), "Demo");
    assert_string_equal(lo_graph_str(g, "rankdir"), "LR");
    assert_string_equal(lo_graph_str(g, "model_stylesheet"), "* { llm_model: m; }");
    assert_int_equal(lo_graph_int(g, "default_max_retries", -1), 2);
    assert_int_equal(must_attr(&g->attrs, "rankdir")->value.kind, LO_VAL_BARE);
    assert_int_equal(must_attr(&g->attrs, "default_max_retries")->value.kind, LO_VAL_INT);
    /* a later declaration replaces an earlier one */
    lo_graph_free(g);
    g = parse_ok("digraph G { goal=\"first\" graph [goal=\"second\"] label=L }");
    assert_int_equal(g->attrs.n, 2);
    assert_string_equal(lo_graph_str(g, "goal"), "second");
    assert_string_equal(lo_graph_str(g, "label"), "L");
    assert_int_equal(g->n_nodes, 0);
    lo_graph_free(g);
}

static void test_multiline_node_attrs(void **state)
{
    (void)state;
    lo_graph *g = parse_ok("digraph G {\n"
                           "  review_gate [\n"
                           "    shape=hexagon,\n"
                           "    label=\"Review Changes\",\n"
                           "    type=\"wait.human\",\n"
                           "  ]\n"
                           "  other [label=\"x\"]\n"
                           "}\n");
    lo_node *n = node(g, "review_gate");
    assert_true(n->declared);
    assert_int_equal(n->attrs.n, 3);
    assert_string_equal(n->attrs.v[0].key, "shape");
    assert_string_equal(n->attrs.v[0].value.text, "hexagon");
    assert_string_equal(n->attrs.v[1].key, "label");
    assert_string_equal(n->attrs.v[1].value.text, "Review Changes");
    assert_string_equal(n->attrs.v[2].key, "type");
    assert_string_equal(n->attrs.v[2].value.text, "wait.human");
    assert_string_equal(lo_node_handler_type(n), "wait.human");
    expect_pos(g, n->attrs.v[0].off, 3, 5);
    expect_pos(g, n->attrs.v[1].voff, 4, 11);
    expect_pos(g, n->attrs.v[2].off, 5, 5);
    assert_int_equal(g->n_nodes, 2);
    lo_graph_free(g);
}

/* ---- values ---- */

static void test_value_types(void **state)
{
    (void)state;
    lo_graph *g = parse_ok(
        "digraph G {\n"
        "  n [s=\"a \\\"q\\\" b\\\\c\\nd\\te\\lf\", i=42, neg=-7, f=0.5, nf=-3.14,\n"
        "     t=true, fa=false, d=900s, qi=\"42\", qb=\"true\", e=\"\", lf=.5]\n"
        "}\n");
    lo_node *n = node(g, "n");
    const lo_attr *s = must_attr(&n->attrs, "s");
    assert_int_equal(s->value.kind, LO_VAL_STRING);
    assert_string_equal(s->value.text, "a \"q\" b\\c\nd\te\\lf");
    assert_int_equal(s->value.len, strlen("a \"q\" b\\c\nd\te\\lf"));
    struct { const char *key, *text; lo_value_kind kind; } want[] = {
        {"i", "42", LO_VAL_INT},        {"neg", "-7", LO_VAL_INT},
        {"f", "0.5", LO_VAL_FLOAT},     {"nf", "-3.14", LO_VAL_FLOAT},
        {"t", "true", LO_VAL_BOOL},     {"fa", "false", LO_VAL_BOOL},
        {"d", "900s", LO_VAL_DURATION}, {"qi", "42", LO_VAL_STRING},
        {"qb", "true", LO_VAL_STRING},  {"e", "", LO_VAL_STRING},
        {"lf", ".5", LO_VAL_FLOAT},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const lo_attr *a = must_attr(&n->attrs, want[i].key);
        if (a->value.kind != want[i].kind || strcmp(a->value.text, want[i].text) != 0)
            fail_msg("%s: kind %d text '%s', expected kind %d text '%s'", want[i].key,
                     (int)a->value.kind, a->value.text, (int)want[i].kind, want[i].text);
        assert_int_equal(a->value.len, strlen(want[i].text));
    }
    assert_int_equal(lo_node_int(n, "i", 0), 42);
    assert_int_equal(lo_node_int(n, "neg", 0), -7);
    assert_int_equal(lo_node_int(n, "qi", 0), 42); /* quoted reads the same */
    assert_int_equal(lo_node_int(n, "f", 99), 99);  /* not an integer */
    assert_true(lo_node_bool(n, "t", false));
    assert_false(lo_node_bool(n, "fa", true));
    assert_true(lo_node_bool(n, "qb", false));
    bool b = false;
    assert_true(lo_value_as_bool(&must_attr(&n->attrs, "t")->value, &b));
    assert_true(b);
    assert_false(lo_value_as_bool(&must_attr(&n->attrs, "i")->value, &b));
    assert_int_equal(n->attrs.n, 12);
    lo_graph_free(g);
    /* a backslash before a newline continues the string */
    g = parse_ok("digraph G {\n  n [a=\"x\\\ny\", b=1]\n}\n");
    n = node(g, "n");
    assert_string_equal(attr(&n->attrs, "a"), "xy");
    expect_pos(g, must_attr(&n->attrs, "b")->off, 3, 5);
    assert_int_equal(g->n_lines, 5);
    lo_graph_free(g);
}

static void test_durations(void **state)
{
    (void)state;
    lo_graph *g = parse_ok("digraph G {\n"
                           "  n [a=900s, b=250ms, c=15m, d=2h, e=1d, q=\"900s\", x=12,"
                           " bad=\"soon\", neg=-5s]\n"
                           "}\n");
    lo_node *n = node(g, "n");
    struct { const char *key; int64_t ms; lo_value_kind kind; } want[] = {
        {"a", 900000, LO_VAL_DURATION},   {"b", 250, LO_VAL_DURATION},
        {"c", 900000, LO_VAL_DURATION},   {"d", 7200000, LO_VAL_DURATION},
        {"e", 86400000, LO_VAL_DURATION}, {"q", 900000, LO_VAL_STRING},
        {"x", 12000, LO_VAL_INT},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(must_attr(&n->attrs, want[i].key)->value.kind, want[i].kind);
        int64_t ms = lo_node_duration_ms(n, want[i].key, -1);
        if (ms != want[i].ms)
            fail_msg("%s: %lld ms, expected %lld", want[i].key, (long long)ms,
                     (long long)want[i].ms);
    }
    assert_int_equal(lo_node_duration_ms(n, "bad", -1), -1);
    assert_int_equal(lo_node_duration_ms(n, "unset", -2), -2);
    /* a negative number with a unit is not a Duration in the grammar */
    assert_int_equal(must_attr(&n->attrs, "neg")->value.kind, LO_VAL_BARE);
    lo_graph_free(g);
}

static void test_bare_values(void **state)
{
    (void)state;
    lo_graph *g = parse_ok("digraph G {\n"
                           "  n [llm_model=gpt-5.4, m2=claude-sonnet-4-5,"
                           " fidelity=summary:high, dir=LR, v=1.2.3, h=_x9]\n"
                           "}\n");
    lo_node *n = node(g, "n");
    const char *keys[] = {"llm_model", "m2", "fidelity", "dir", "v", "h"};
    const char *vals[] = {"gpt-5.4", "claude-sonnet-4-5", "summary:high", "LR", "1.2.3", "_x9"};
    for (size_t i = 0; i < 6; i++) {
        const lo_attr *a = must_attr(&n->attrs, keys[i]);
        assert_int_equal(a->value.kind, LO_VAL_BARE);
        assert_string_equal(a->value.text, vals[i]);
    }
    assert_string_equal(lo_node_str(n, "llm_model"), "gpt-5.4");
    lo_graph_free(g);
}

static void test_qualified_keys(void **state)
{
    (void)state;
    lo_graph *g = parse_ok("digraph G {\n"
                           "  tool_hooks.pre=\"echo hi\"\n"
                           "  graph [tool_hooks.post=\"echo bye\", stack.child_dotfile=c.dot]\n"
                           "  m [shape=house, manager.poll_interval=30s, manager.max_cycles=5]\n"
                           "}\n");
    assert_string_equal(attr(&g->attrs, "tool_hooks.pre"), "echo hi");
    assert_string_equal(lo_graph_str(g, "tool_hooks.post"), "echo bye");
    assert_string_equal(lo_graph_str(g, "stack.child_dotfile"), "c.dot");
    const lo_attr *pre = must_attr(&g->attrs, "tool_hooks.pre");
    expect_pos(g, pre->off, 2, 3);
    expect_pos(g, pre->voff, 2, 18);
    lo_node *m = node(g, "m");
    const lo_attr *pi = must_attr(&m->attrs, "manager.poll_interval");
    assert_int_equal(pi->value.kind, LO_VAL_DURATION);
    assert_int_equal(lo_node_duration_ms(m, "manager.poll_interval", 0), 30000);
    assert_int_equal(lo_node_int(m, "manager.max_cycles", 0), 5);
    assert_string_equal(lo_node_handler_type(m), "stack.manager_loop");
    /* the key is interned: equal to the graph's interned pointer */
    assert_ptr_equal(pi->key, lo_graph_intern(g, "manager.poll_interval"));
    lo_graph_free(g);
}

/* ---- edges ---- */

static void test_chained_edges(void **state)
{
    (void)state;
    lo_graph *g = parse_ok("digraph G {\n"
                           "  A -> B -> C [label=\"next\"]\n"
                           "  A -> C [label=\"skip\", condition=\"outcome=success\", weight=3]\n"
                           "  C -> D [weight=-2, loop_restart=true]\n"
                           "}\n");
    assert_int_equal(g->n_edges, 4);
    assert_int_equal(g->n_nodes, 4);
    assert_string_equal(g->edges[0].from, "A");
    assert_string_equal(g->edges[0].to, "B");
    assert_string_equal(g->edges[1].from, "B");
    assert_string_equal(g->edges[1].to, "C");
    for (int i = 0; i < 2; i++) {
        assert_int_equal(g->edges[i].attrs.n, 1);
        assert_string_equal(lo_edge_str(&g->edges[i], "label"), "next");
        assert_string_equal(lo_edge_str(&g->edges[i], "condition"), "");
        assert_int_equal(lo_edge_int(&g->edges[i], "weight", 0), 0);
    }
    const lo_edge *e = &g->edges[2];
    assert_string_equal(e->from, "A");
    assert_string_equal(e->to, "C");
    assert_string_equal(lo_edge_str(e, "label"), "skip");
    assert_string_equal(lo_edge_str(e, "condition"), "outcome=success");
    assert_int_equal(lo_edge_int(e, "weight", 0), 3);
    assert_false(lo_edge_bool(e, "loop_restart", false));
    e = &g->edges[3];
    assert_int_equal(lo_edge_int(e, "weight", 0), -2);
    assert_true(lo_edge_bool(e, "loop_restart", false));
    /* positions of both ends in the chained statement */
    expect_pos(g, g->edges[0].off, 2, 3);
    expect_pos(g, g->edges[0].to_off, 2, 8);
    expect_pos(g, g->edges[1].off, 2, 8);
    expect_pos(g, g->edges[1].to_off, 2, 13);
    lo_graph_free(g);
}

/* ---- defaults and subgraphs ---- */

static void test_default_blocks(void **state)
{
    (void)state;
    lo_graph *g = parse_ok("digraph G {\n"
                           "  a\n"
                           "  node [shape=box, timeout=\"900s\"]\n"
                           "  edge [weight=5]\n"
                           "  b\n"
                           "  c [timeout=\"60s\"]\n"
                           "  a -> b\n"
                           "  b -> c [weight=1]\n"
                           "  d -> e\n"
                           "}\n");
    lo_node *a = node(g, "a"), *b = node(g, "b"), *c = node(g, "c"), *d = node(g, "d");
    /* a came before the defaults and keeps none of them */
    assert_int_equal(a->attrs.n, 0);
    assert_null(attr(&a->attrs, "timeout"));
    assert_string_equal(attr(&b->attrs, "shape"), "box");
    assert_string_equal(attr(&b->attrs, "timeout"), "900s");
    assert_int_equal(b->attrs.n, 2);
    assert_string_equal(attr(&c->attrs, "timeout"), "60s");
    assert_string_equal(attr(&c->attrs, "shape"), "box");
    assert_int_equal(c->attrs.n, 2);
    assert_int_equal(lo_node_duration_ms(c, "timeout", 0), 60000);
    /* nodes created by an edge get the defaults too */
    assert_string_equal(attr(&d->attrs, "timeout"), "900s");
    assert_false(d->declared);
    assert_int_equal(g->n_edges, 3);
    assert_int_equal(lo_edge_int(&g->edges[0], "weight", 0), 5);
    assert_int_equal(lo_edge_int(&g->edges[1], "weight", 0), 1);
    assert_int_equal(g->edges[1].attrs.n, 1);
    assert_int_equal(lo_edge_int(&g->edges[2], "weight", 0), 5);
    /* a later node default block changes only later nodes */
    lo_graph_free(g);
    g = parse_ok("digraph G { node [shape=box] x node [shape=diamond] y x }");
    assert_string_equal(lo_node_shape(node(g, "x")), "box");
    assert_string_equal(lo_node_shape(node(g, "y")), "diamond");
    lo_graph_free(g);
}

static void test_subgraph_spec_example(void **state)
{
    (void)state;
    lo_graph *g = parse_ok("digraph G {\n"
                           "  node [shape=box]\n"
                           "  edge [weight=1]\n"
                           "  subgraph cluster_loop {\n"
                           "    label = \"Loop A\"\n"
                           "    node [thread_id=\"loop-a\", timeout=\"900s\"]\n"
                           "    edge [weight=7]\n"
                           "\n"
                           "    Plan      [label=\"Plan next step\"]\n"
                           "    Implement [label=\"Implement\", timeout=\"1800s\"]\n"
                           "    Plan -> Implement\n"
                           "  }\n"
                           "  After [label=\"After\"]\n"
                           "  Implement -> After\n"
                           "}\n");
    lo_node *plan = node(g, "Plan"), *impl = node(g, "Implement"), *after = node(g, "After");
    assert_string_equal(attr(&plan->attrs, "thread_id"), "loop-a");
    assert_string_equal(attr(&plan->attrs, "timeout"), "900s");
    assert_int_equal(lo_node_duration_ms(plan, "timeout", 0), 900000);
    assert_string_equal(attr(&plan->attrs, "shape"), "box"); /* from the outer scope */
    assert_string_equal(lo_node_label(plan), "Plan next step");
    assert_string_equal(attr(&impl->attrs, "thread_id"), "loop-a");
    assert_string_equal(attr(&impl->attrs, "timeout"), "1800s");
    assert_int_equal(lo_node_duration_ms(impl, "timeout", 0), 1800000);
    /* nothing leaks out of the subgraph */
    assert_null(attr(&after->attrs, "thread_id"));
    assert_null(attr(&after->attrs, "timeout"));
    assert_string_equal(attr(&after->attrs, "shape"), "box");
    assert_int_equal(lo_edge_int(&g->edges[0], "weight", 0), 7);
    assert_int_equal(lo_edge_int(&g->edges[1], "weight", 0), 1);
    /* the subgraph's label is not the graph's */
    assert_string_equal(lo_graph_str(g, "label"), "");
    assert_int_equal(g->attrs.n, 0);
    /* derived class */
    assert_int_equal(plan->n_classes, 1);
    assert_string_equal(plan->classes[0], "loop-a");
    assert_true(lo_node_has_class(impl, "loop-a"));
    assert_int_equal(after->n_classes, 0);
    assert_false(lo_node_has_class(after, "loop-a"));
    lo_graph_free(g);
}

static void test_classes(void **state)
{
    (void)state;
    lo_graph *g = parse_ok("digraph G {\n"
                           "  subgraph outer {\n"
                           "    label=\"Outer Loop\"\n"
                           "    x\n"
                           "    subgraph inner {\n"
                           "      graph [label=\"Inner Part!\"]\n"
                           "      y\n"
                           "      w [class=\"code, critical\"]\n"
                           "    }\n"
                           "    z\n"
                           "  }\n"
                           "  { rank=same; p q }\n"
                           "  solo [class=\"code,critical\"]\n"
                           "  none\n"
                           "}\n");
    lo_node *x = node(g, "x"), *y = node(g, "y"), *z = node(g, "z"), *w = node(g, "w");
    assert_int_equal(x->n_classes, 1);
    assert_string_equal(x->classes[0], "outer-loop");
    assert_int_equal(y->n_classes, 2);
    assert_string_equal(y->classes[0], "inner-part");
    assert_string_equal(y->classes[1], "outer-loop");
    assert_int_equal(z->n_classes, 1);
    assert_string_equal(z->classes[0], "outer-loop");
    /* explicit classes first, then the derived ones */
    assert_int_equal(w->n_classes, 4);
    assert_string_equal(w->classes[0], "code");
    assert_string_equal(w->classes[1], "critical");
    assert_string_equal(w->classes[2], "inner-part");
    assert_string_equal(w->classes[3], "outer-loop");
    lo_node *solo = node(g, "solo");
    assert_int_equal(solo->n_classes, 2);
    assert_string_equal(solo->classes[0], "code");
    assert_string_equal(solo->classes[1], "critical");
    assert_true(lo_node_has_class(solo, "critical"));
    assert_false(lo_node_has_class(solo, "crit"));
    assert_false(lo_node_has_class(solo, "code,critical"));
    /* an unlabelled (anonymous) subgraph gives no class */
    assert_int_equal(node(g, "p")->n_classes, 0);
    assert_int_equal(node(g, "q")->n_classes, 0);
    assert_int_equal(node(g, "none")->n_classes, 0);
    assert_int_equal(g->attrs.n, 0); /* rank=same stays inside its subgraph */
    lo_graph_free(g);
}

/* ---- lexical details ---- */

static void test_comments_and_semicolons(void **state)
{
    (void)state;
    lo_graph *g = parse_ok("// leading comment\n"
                           "/* block\n   comment */ digraph /* x */ G { // trailing\n"
                           "  a /* between */ -> /* arrow */ b; // eol\n"
                           "  c [label=\"x\" /* in a block */, // eol\n"
                           "     prompt=\"http://example.com /* not a comment */\"];;\n"
                           "  goal = \"g\";\n"
                           "  graph [label=L];\n"
                           "  node [shape=box]; edge [weight=2];\n"
                           "  d; e\n"
                           "  d -> e;\n"
                           "}\n"
                           "// after the graph\n"
                           "/* and a block */\n");
    assert_string_equal(g->name, "G");
    assert_int_equal(g->n_nodes, 5);
    assert_int_equal(g->n_edges, 2);
    lo_node *c = node(g, "c");
    assert_string_equal(attr(&c->attrs, "label"), "x");
    assert_string_equal(attr(&c->attrs, "prompt"), "http://example.com /* not a comment */");
    assert_string_equal(lo_graph_str(g, "goal"), "g");
    assert_string_equal(lo_graph_str(g, "label"), "L");
    assert_string_equal(attr(&node(g, "d")->attrs, "shape"), "box");
    assert_int_equal(lo_edge_int(&g->edges[1], "weight", 0), 2);
    expect_pos(g, node(g, "a")->off, 4, 3);
    expect_pos(g, g->edges[0].to_off, 4, 34);
    lo_graph_free(g);
}

static void test_declared_and_merge(void **state)
{
    (void)state;
    lo_graph *g = parse_ok("digraph G {\n"
                           "  a -> b\n"
                           "  b [label=B]\n"
                           "  c [label=one, prompt=p]\n"
                           "  c [label=two]\n"
                           "  d [label=x, label=y]\n"
                           "}\n");
    lo_node *a = node(g, "a"), *b = node(g, "b"), *c = node(g, "c"), *d = node(g, "d");
    assert_false(a->declared);
    assert_true(b->declared);
    expect_pos(g, b->off, 2, 8); /* first mention, in the edge */
    assert_true(c->declared);
    assert_int_equal(c->attrs.n, 2);
    assert_string_equal(attr(&c->attrs, "label"), "two");
    assert_string_equal(attr(&c->attrs, "prompt"), "p");
    expect_pos(g, must_attr(&c->attrs, "label")->off, 5, 6);
    assert_int_equal(d->attrs.n, 1);
    assert_string_equal(attr(&d->attrs, "label"), "y");
    assert_int_equal(g->n_nodes, 4);
    assert_ptr_equal(lo_graph_node(g, "zz"), NULL);
    lo_graph_free(g);
}

static void test_positions(void **state)
{
    (void)state;
    const char *src = "digraph G {\n"
                      "  a [label=\"one\n"
                      "two\", prompt=p]\n"
                      "  /* block\n"
                      "     comment */ b [shape=box]\n"
                      "  a -> b [weight=2]\n"
                      "  x [label=\"h\xc3\xa9llo\", prompt=q]\n"
                      "}\n";
    lo_graph *g = parse_ok(src);
    lo_node *a = node(g, "a"), *b = node(g, "b"), *x = node(g, "x");
    expect_pos(g, a->off, 2, 3);
    const lo_attr *label = must_attr(&a->attrs, "label");
    assert_string_equal(label->value.text, "one\ntwo");
    expect_pos(g, label->off, 2, 6);
    expect_pos(g, label->voff, 2, 12);
    const lo_attr *prompt = must_attr(&a->attrs, "prompt");
    expect_pos(g, prompt->off, 3, 7);
    expect_pos(g, prompt->voff, 3, 14);
    expect_pos(g, b->off, 5, 17);
    expect_pos(g, must_attr(&b->attrs, "shape")->off, 5, 20);
    expect_pos(g, must_attr(&b->attrs, "shape")->voff, 5, 26);
    const lo_edge *e = &g->edges[0];
    expect_pos(g, e->off, 6, 3);
    expect_pos(g, e->to_off, 6, 8);
    expect_pos(g, must_attr(&e->attrs, "weight")->off, 6, 11);
    expect_pos(g, must_attr(&e->attrs, "weight")->voff, 6, 18);
    /* columns count characters, not bytes */
    expect_pos(g, must_attr(&x->attrs, "prompt")->off, 7, 21);
    expect_pos(g, LO_NOPOS, 0, 0);
    expect_pos(g, 0, 1, 1);
    /* source lines */
    assert_int_equal(g->n_lines, 9);
    const char *line;
    size_t n = lo_graph_source_line(g, 5, &line);
    assert_int_equal(n, strlen("     comment */ b [shape=box]"));
    assert_memory_equal(line, "     comment */ b [shape=box]", n);
    n = lo_graph_source_line(g, 1, &line);
    assert_int_equal(n, 11);
    assert_memory_equal(line, "digraph G {", 11);
    n = lo_graph_source_line(g, 8, &line);
    assert_int_equal(n, 1);
    assert_memory_equal(line, "}", 1);
    assert_int_equal(lo_graph_source_line(g, 0, &line), 0);
    assert_string_equal(line, "");
    assert_int_equal(lo_graph_source_line(g, 10, &line), 0);
    assert_string_equal(line, "");
    /* the source is kept as a copy */
    assert_int_equal(g->src_len, strlen(src));
    assert_ptr_not_equal(g->src, src);
    assert_memory_equal(g->src, src, g->src_len);
    lo_graph_free(g);
}

/* ---- rejections ---- */

static void test_reject_undirected_edge(void **state)
{
    (void)state;
    expect_reject("digraph G {\n  a -- b\n}\n", 2, 5, "undirected edge '--'", "  a -- b");
    expect_reject("digraph G {\n  a -> b -- c\n}\n", 2, 10, "undirected edge", "  a -> b -- c");
}

static void test_reject_strict(void **state)
{
    (void)state;
    expect_reject("strict digraph G {}\n", 1, 1, "'strict' graphs are not supported",
                  "strict digraph G {}");
}

static void test_reject_undirected_graph(void **state)
{
    (void)state;
    expect_reject("graph G {\n  a\n}\n", 1, 1, "undirected graphs are not supported",
                  "graph G {");
}

static void test_reject_second_graph(void **state)
{
    (void)state;
    expect_reject("digraph A { a }\ndigraph B { b }\n", 2, 1, "only one graph per file",
                  "digraph B { b }");
    expect_reject("digraph A {\n  digraph B { b }\n}\n", 2, 3, "only one graph per file",
                  "  digraph B { b }");
}

static void test_reject_unterminated_string(void **state)
{
    (void)state;
    expect_reject("digraph G {\n  a [label=\"abc]\n}\n", 2, 12, "unterminated string",
                  "  a [label=\"abc]");
}

static void test_reject_unterminated_comment(void **state)
{
    (void)state;
    expect_reject("digraph G {\n  a\n  /* never closed\n  b\n", 3, 3,
                  "unterminated comment", "  /* never closed");
}

static void test_reject_missing_comma(void **state)
{
    (void)state;
    expect_reject("digraph G {\n  n [a=1 b=2]\n}\n", 2, 10, "missing ',' between attributes",
                  "  n [a=1 b=2]");
}

static void test_reject_semicolon_in_attrs(void **state)
{
    (void)state;
    expect_reject("digraph G {\n  n [a=1; b=2]\n}\n", 2, 9, "separated by ',', not ';'",
                  "  n [a=1; b=2]");
}

static void test_reject_stray_token(void **state)
{
    (void)state;
    expect_reject("digraph G {\n  a -> b ]\n}\n", 2, 10, "found ']'", "  a -> b ]");
    expect_reject("digraph G {\n  @\n}\n", 2, 3, "found '@'", "  @");
    expect_reject("digraph G {\n  a [=x]\n}\n", 2, 6, "expected an attribute name", "  a [=x]");
    expect_reject("digraph G {\n  a [k=v,, k2=v]\n}\n", 2, 10, "expected an attribute name",
                  "  a [k=v,, k2=v]");
    expect_reject("digraph G { a } }\n", 1, 17, "end of file after the graph", "digraph G { a } }");
}

static void test_reject_missing_brace(void **state)
{
    (void)state;
    expect_reject("digraph G {\n  a -> b", 2, 9, "a '}' is missing", "  a -> b");
}

static void test_reject_quoted_node_id(void **state)
{
    (void)state;
    expect_reject("digraph G {\n  \"my node\" [label=x]\n}\n", 2, 3,
                  "node IDs must be bare identifiers", "  \"my node\" [label=x]");
    expect_reject("digraph G {\n  a -> \"b c\"\n}\n", 2, 8,
                  "node IDs must be bare identifiers", "  a -> \"b c\"");
}

static void test_reject_numeric_node_id(void **state)
{
    (void)state;
    expect_reject("digraph G {\n  42 [label=x]\n}\n", 2, 3, "must start with a letter",
                  "  42 [label=x]");
    expect_reject("digraph G {\n  a -> 7\n}\n", 2, 8, "must start with a letter", "  a -> 7");
}

static void test_reject_node_port(void **state)
{
    (void)state;
    expect_reject("digraph G {\n  a:p -> b\n}\n", 2, 4, "node ports", "  a:p -> b");
    expect_reject("digraph G {\n  b -> a:p\n}\n", 2, 9, "node ports", "  b -> a:p");
}

static void test_reject_subgraph_endpoint(void **state)
{
    (void)state;
    expect_reject("digraph G {\n  a -> {b c}\n}\n", 2, 8,
                  "a subgraph cannot be an edge endpoint", "  a -> {b c}");
}

static void test_reject_empty_input(void **state)
{
    (void)state;
    expect_reject("", 1, 1, "expected 'digraph', found end of file", "");
    expect_reject("  // only a comment\n", 2, 1, "expected 'digraph', found end of file", "");
}

static void test_reject_missing_value(void **state)
{
    (void)state;
    expect_reject("digraph G {\n  n [label=]\n}\n", 2, 12, "expected a value", "  n [label=]");
    expect_reject("digraph G {\n  n [label]\n}\n", 2, 11, "'=' after the attribute name",
                  "  n [label]");
}

/* ---- robustness ---- */

static void test_ten_thousand_node_chain(void **state)
{
    (void)state;
    enum { N = 10000 };
    lo_buf b;
    lo_buf_init(&b, 0);
    assert_int_equal(lo_buf_puts(&b, "digraph Big {\n  n0"), 0);
    for (int i = 1; i < N; i++)
        assert_int_equal(lo_buf_printf(&b, " -> n%d", i), 0);
    assert_int_equal(lo_buf_puts(&b, " [label=\"step\"]\n  n9999 [shape=Msquare]\n}\n"), 0);
    lo_error err = {0};
    lo_graph *g = lo_graph_parse(b.data, b.len, "big.dot", &err);
    lo_buf_release(&b);
    assert_non_null(g);
    assert_int_equal(g->n_nodes, N);
    assert_int_equal(g->n_edges, N - 1);
    char id[16];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "n%d", i);
        lo_node *n = lo_graph_node(g, id);
        assert_non_null(n);
        assert_int_equal(n->index, (uint32_t)i);
    }
    for (int i = 0; i < N - 1; i++) {
        snprintf(id, sizeof id, "n%d", i);
        assert_string_equal(g->edges[i].from, id);
        assert_string_equal(lo_edge_str(&g->edges[i], "label"), "step");
    }
    assert_string_equal(g->edges[N - 2].to, "n9999");
    assert_true(lo_node_is_exit(lo_graph_node(g, "n9999")));
    assert_true(lo_graph_node(g, "n9999")->declared);
    lo_graph_free(g);
}

static void test_deep_nesting(void **state)
{
    (void)state;
    lo_buf b;
    lo_buf_init(&b, 0);
    /* 64 levels are accepted */
    assert_int_equal(lo_buf_puts(&b, "digraph G { "), 0);
    for (int i = 0; i < 64; i++)
        assert_int_equal(lo_buf_puts(&b, "subgraph { "), 0);
    assert_int_equal(lo_buf_puts(&b, "deep "), 0);
    for (int i = 0; i < 64; i++)
        assert_int_equal(lo_buf_puts(&b, "} "), 0);
    assert_int_equal(lo_buf_puts(&b, "}"), 0);
    lo_error err = {0};
    lo_graph *g = lo_graph_parse(b.data, b.len, "t.dot", &err);
    assert_non_null(g);
    assert_non_null(lo_graph_node(g, "deep"));
    lo_graph_free(g);
    /* 70 levels: the 65th opening is refused */
    lo_buf_clear(&b);
    assert_int_equal(lo_buf_puts(&b, "digraph G { "), 0);
    for (int i = 0; i < 70; i++)
        assert_int_equal(lo_buf_puts(&b, "subgraph { "), 0);
    for (int i = 0; i < 71; i++)
        assert_int_equal(lo_buf_puts(&b, "} "), 0);
    memset(&err, 0, sizeof err);
    g = lo_graph_parse(b.data, b.len, "t.dot", &err);
    assert_null(g);
    assert_int_equal(err.code, LO_EPARSE);
    assert_int_equal(err.line, 1);
    assert_int_equal(err.col, 12 + 11 * 64 + 1);
    assert_non_null(strstr(err.msg, "nested more than 64 deep"));
    /* anonymous braces, far deeper */
    lo_buf_clear(&b);
    assert_int_equal(lo_buf_puts(&b, "digraph G {"), 0);
    for (int i = 0; i < 100000; i++)
        assert_int_equal(lo_buf_putc(&b, '{'), 0);
    memset(&err, 0, sizeof err);
    g = lo_graph_parse(b.data, b.len, "t.dot", &err);
    assert_null(g);
    assert_int_equal(err.code, LO_EPARSE);
    assert_int_equal(err.line, 1);
    assert_int_equal(err.col, 11 + 64 + 1);
    assert_non_null(strstr(err.msg, "nested more than 64 deep"));
    lo_buf_release(&b);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
    /* xorshift64*: fixed seed, same inputs every run */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}

static void test_random_inputs(void **state)
{
    (void)state;
    static const char alphabet[] =
        "abcxyzABC_019 \t\n{}{}[][]==;;,,->->\"\"\"//**/.:#@\\-";
    static const char *const pieces[] = {
        "digraph G {", "subgraph ", "node ", "edge ", "graph ", " -> ", "[", "]",
        "label=", "\"x\"", "/*", "*/", "//", "\n", "}", "{", ",", ";", "a", "b=1",
        "tool_hooks.pre", "900s", "--", ":", "\"", "\\\"", "strict ",
    };
    char buf[512];
    int parsed = 0, rejected = 0;
    for (int iter = 0; iter < 2000; iter++) {
        size_t len = 0, target = rnd() % 300;
        if (iter % 2 == 0) {
            memcpy(buf, "digraph G {", 11);
            len = 11;
        }
        while (len < target) {
            if (rnd() % 3 == 0) {
                const char *p = pieces[rnd() % (sizeof pieces / sizeof pieces[0])];
                size_t n = strlen(p);
                if (len + n >= sizeof buf)
                    break;
                memcpy(buf + len, p, n);
                len += n;
            } else {
                buf[len++] = alphabet[rnd() % (sizeof alphabet - 1)];
            }
        }
        if (iter % 4 == 0 && len + 1 < sizeof buf)
            buf[len++] = '}';
        lo_error err = {0};
        lo_graph *g = lo_graph_parse(buf, len, "r.dot", &err);
        if (g) {
            parsed++;
            lo_graph_free(g);
        } else {
            rejected++;
            if (err.code != LO_EPARSE || err.line < 1 || err.col < 1)
                fail_msg("input %d: code %d at %u:%u: %s", iter, err.code,
                         (unsigned)err.line, (unsigned)err.col, err.msg);
        }
    }
    assert_int_equal(parsed + rejected, 2000);
    assert_true(rejected > 0);
}

/* ---- typed access and Appendix A/B ---- */

static void test_appendix_a_defaults(void **state)
{
    (void)state;
    lo_graph *g = parse_ok("digraph G {\n"
                           "  n\n"
                           "  m [shape=diamond, reasoning_effort=low, goal_gate=true,"
                           " max_retries=3, label=\"\", weight=x]\n"
                           "  q [goal_gate=\"true\", max_retries=\"2\", label=\"Q label\"]\n"
                           "  n -> m\n"
                           "  m -> q [weight=7]\n"
                           "  q -> n [weight=heavy]\n"
                           "}\n");
    lo_node *n = node(g, "n"), *m = node(g, "m"), *q = node(g, "q");
    assert_string_equal(lo_node_str(n, "shape"), "box");
    assert_string_equal(lo_node_shape(n), "box");
    assert_string_equal(lo_node_str(n, "reasoning_effort"), "high");
    assert_string_equal(lo_node_str(n, "join_policy"), "wait_all");
    assert_string_equal(lo_node_str(n, "manager.poll_interval"), "45s");
    assert_string_equal(lo_node_str(n, "prompt"), "");
    assert_string_equal(lo_node_str(n, "no_such_key"), "");
    assert_string_equal(lo_node_str(n, "max_retries"), ""); /* inherited: no default */
    assert_string_equal(lo_graph_str(g, "default_max_retries"), "0");
    assert_string_equal(lo_graph_str(g, "goal"), "");
    assert_string_equal(lo_graph_str(g, "reasoning_effort"), "high");
    assert_int_equal(lo_graph_int(g, "default_max_retries", 9), 9); /* unset: def */
    assert_string_equal(lo_edge_str(&g->edges[0], "weight"), "0");
    assert_int_equal(lo_edge_int(&g->edges[0], "weight", 0), 0);
    assert_int_equal(lo_edge_int(&g->edges[1], "weight", 0), 7);
    assert_int_equal(lo_edge_int(&g->edges[2], "weight", 4), 4); /* unparsable */
    assert_false(lo_edge_bool(&g->edges[0], "loop_restart", false));
    assert_false(lo_node_bool(n, "goal_gate", false));
    assert_true(lo_node_bool(m, "goal_gate", false));
    assert_true(lo_node_bool(q, "goal_gate", false));
    assert_int_equal(lo_node_int(m, "max_retries", 0), 3);
    assert_int_equal(lo_node_int(q, "max_retries", 0), 2);
    assert_int_equal(lo_node_int(n, "max_retries", -1), -1);
    assert_string_equal(lo_node_str(m, "reasoning_effort"), "low");
    assert_string_equal(lo_node_shape(m), "diamond");
    /* labels fall back to the id, also for an empty label */
    assert_string_equal(lo_node_label(n), "n");
    assert_string_equal(lo_node_label(m), "m");
    assert_string_equal(lo_node_label(q), "Q label");
    /* the table */
    const lo_attr_spec *s = lo_attr_spec_find("timeout", LO_SCOPE_NODE);
    assert_non_null(s);
    assert_int_equal(s->type, LO_T_DURATION);
    assert_null(lo_attr_spec_find("timeout", LO_SCOPE_EDGE));
    assert_null(lo_attr_spec_find("condition", LO_SCOPE_NODE));
    assert_non_null(lo_attr_spec_find("condition", LO_SCOPE_EDGE));
    assert_true(lo_attr_is_graphviz("rankdir"));
    assert_false(lo_attr_is_graphviz("prompt"));
    lo_graph_free(g);
}

static void test_handler_types(void **state)
{
    (void)state;
    static const struct { const char *shape, *handler; } table[] = {
        {"Mdiamond", "start"},       {"Msquare", "exit"},
        {"box", "codergen"},         {"hexagon", "wait.human"},
        {"diamond", "conditional"},  {"component", "parallel"},
        {"tripleoctagon", "parallel.fan_in"}, {"parallelogram", "tool"},
        {"house", "stack.manager_loop"}, {"octagon", "gate"},
    };
    lo_buf b;
    lo_buf_init(&b, 0);
    assert_int_equal(lo_buf_puts(&b, "digraph G {\n"), 0);
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        assert_int_equal(lo_buf_printf(&b, "  n%zu [shape=%s]\n", i, table[i].shape), 0);
    assert_int_equal(lo_buf_puts(&b, "  plain\n  odd [shape=ellipse]\n"
                                     "  typed [shape=box, type=\"wait.human\"]\n"
                                     "  custom [shape=parallelogram, type=\"my.handler\"]\n"
                                     "  emptytype [shape=hexagon, type=\"\"]\n}\n"), 0);
    lo_graph *g = parse_ok(b.data);
    lo_buf_release(&b);
    char id[16];
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        snprintf(id, sizeof id, "n%zu", i);
        lo_node *n = node(g, id);
        assert_string_equal(lo_node_shape(n), table[i].shape);
        assert_string_equal(lo_node_handler_type(n), table[i].handler);
        assert_string_equal(lo_shape_handler(table[i].shape), table[i].handler);
    }
    assert_string_equal(lo_node_handler_type(node(g, "plain")), "codergen");
    assert_string_equal(lo_node_handler_type(node(g, "odd")), "codergen");
    assert_null(lo_shape_handler("ellipse"));
    assert_null(lo_shape_handler("Box")); /* shapes are case-sensitive */
    assert_string_equal(lo_node_handler_type(node(g, "typed")), "wait.human");
    assert_string_equal(lo_node_handler_type(node(g, "custom")), "my.handler");
    assert_string_equal(lo_node_handler_type(node(g, "emptytype")), "wait.human");
    size_t n_shapes, n_types;
    lo_known_shapes(&n_shapes);
    const char *const *types = lo_known_handler_types(&n_types);
    assert_int_equal(n_shapes, 10);
    assert_int_equal(n_types, 10);
    assert_string_equal(types[9], "gate");
    lo_graph_free(g);
}

static void test_start_and_exit(void **state)
{
    (void)state;
    lo_graph *g = parse_ok("digraph G {\n"
                           "  begin [shape=Mdiamond]\n"
                           "  finish [shape=Msquare]\n"
                           "  start; Start; START\n"
                           "  exit; end; done\n"
                           "  boxed_start [shape=box]\n"
                           "  typed_start [type=start]\n"
                           "  typed_exit [type=exit]\n"
                           "  s2 [shape=box] start2\n"
                           "}\n");
    lo_graph *g2 = parse_ok("digraph G { start [shape=diamond] exit [shape=hexagon] }");
    assert_true(lo_node_is_start(node(g, "begin")));
    assert_false(lo_node_is_exit(node(g, "begin")));
    assert_true(lo_node_is_exit(node(g, "finish")));
    assert_false(lo_node_is_start(node(g, "finish")));
    assert_true(lo_node_is_start(node(g, "start")));
    assert_true(lo_node_is_start(node(g, "Start")));
    assert_false(lo_node_is_start(node(g, "START")));
    assert_false(lo_node_is_start(node(g, "start2")));
    assert_true(lo_node_is_exit(node(g, "exit")));
    assert_true(lo_node_is_exit(node(g, "end")));
    assert_false(lo_node_is_exit(node(g, "done")));
    assert_false(lo_node_is_start(node(g, "boxed_start")));
    assert_true(lo_node_is_start(node(g, "typed_start")));
    assert_true(lo_node_is_exit(node(g, "typed_exit")));
    /* an explicit handler shape wins over the id */
    assert_false(lo_node_is_start(node(g2, "start")));
    assert_false(lo_node_is_exit(node(g2, "exit")));
    lo_graph_free(g);
    lo_graph_free(g2);
}

/* ---- plain DOT output ---- */

static void test_plain_dot(void **state)
{
    (void)state;
    lo_graph *g = parse_ok("digraph P {\n"
                           "  tool_hooks.pre=\"echo hi\"\n"
                           "  a [llm_model=gpt-5.4, label=\"say \\\"hi\\\"\\nnow\"]\n"
                           "  a -> b [weight=2, path=\"C:\\\\x\"]\n"
                           "}\n");
    lo_buf out;
    lo_buf_init(&out, 0);
    assert_int_equal(lo_graph_to_plain_dot(g, &out), 0);
    assert_string_equal(out.data,
                        "digraph \"P\" {\n"
                        "  graph [\"tool_hooks.pre\"=\"echo hi\"];\n"
                        "  \"a\" [\"llm_model\"=\"gpt-5.4\", \"label\"=\"say \\\"hi\\\"\\nnow\"];\n"
                        "  \"b\";\n"
                        "  \"a\" -> \"b\" [\"weight\"=\"2\", \"path\"=\"C:\\\\x\"];\n"
                        "}\n");
    lo_buf_release(&out);
    lo_graph_free(g);
    /* an unnamed graph gets a name */
    g = lo_graph_new(NULL);
    assert_non_null(g);
    lo_buf_init(&out, 0);
    assert_int_equal(lo_graph_to_plain_dot(g, &out), 0);
    assert_string_equal(out.data, "digraph \"pipeline\" {\n}\n");
    lo_buf_release(&out);
    lo_graph_free(g);
}

static void test_plain_dot_graphviz_escapes(void **state)
{
    (void)state;
    /* Was a bug: src/pipeline/graph_dot.c quoted() (line 14 at fe902f7) doubles
     * every backslash. The parser keeps Graphviz escapes such as \l and \N as
     * written (dot_parser.c unescape) precisely so that Graphviz sees them,
     * but label="one\ltwo\l" is written out as "one\\ltwo\\l", which `dot`
     * renders as a literal backslash-l instead of left-justified lines. */
    lo_graph *g = parse_ok("digraph P { a [label=\"one\\ltwo\\l\"] }");
    lo_buf out;
    lo_buf_init(&out, 0);
    assert_int_equal(lo_graph_to_plain_dot(g, &out), 0);
    assert_non_null(strstr(out.data, "\"label\"=\"one\\ltwo\\l\""));
    lo_buf_release(&out);
    lo_graph_free(g);
}

/* ---- allocation failure ---- */

static const char alloc_src[] =
    "digraph Alloc {\n"
    "  graph [goal=\"Ship it\", label=\"alloc\"]\n"
    "  tool_hooks.pre=\"echo hi\"\n"
    "  node [shape=box, timeout=900s]\n"
    "  edge [weight=1]\n"
    "  start [shape=Mdiamond]\n"
    "  exit [shape=Msquare]\n"
    "  subgraph cluster_a {\n"
    "    label=\"Loop A\"\n"
    "    node [thread_id=loop]\n"
    "    plan [prompt=\"Plan $goal\", class=\"code,critical\"]\n"
    "    work [prompt=\"Work\", llm_model=gpt-5.4]\n"
    "  }\n"
    "  start -> plan -> work -> exit [label=\"next\"]\n"
    "  work -> plan [condition=\"outcome=fail\"]\n"
    "}\n";

static void check_alloc_graph(const lo_graph *g)
{
    assert_int_equal(g->n_nodes, 4);
    assert_int_equal(g->n_edges, 4);
    assert_string_equal(lo_graph_str(g, "goal"), "Ship it");
    assert_string_equal(lo_graph_str(g, "tool_hooks.pre"), "echo hi");
    const lo_node *plan = lo_graph_node(g, "plan");
    assert_non_null(plan);
    assert_int_equal(plan->n_classes, 3);
    assert_string_equal(plan->classes[2], "loop-a");
    assert_string_equal(lo_node_str(plan, "thread_id"), "loop");
    assert_string_equal(lo_node_str(plan, "timeout"), "900s");
    assert_string_equal(lo_edge_str(&g->edges[3], "condition"), "outcome=fail");
    assert_int_equal(g->n_lines, 17);
}

static void test_alloc_failure(void **state)
{
    (void)state;
    int successes = 0, failures = 0;
    for (long n = 1; n < 100000 && successes < 5; n++) {
        lo_error err = {0};
        lo_alloc_fail_after(n);
        lo_graph *g = lo_graph_parse(alloc_src, strlen(alloc_src), "t.dot", &err);
        lo_alloc_fail_after(0);
        if (g) {
            check_alloc_graph(g);
            lo_graph_free(g);
            successes++;
        } else {
            if (err.code != LO_ENOMEM)
                fail_msg("allocation %ld failed: code %d (%s), expected LO_ENOMEM", n,
                         err.code, err.msg);
            assert_non_null(strstr(err.msg, "out of memory"));
            failures++;
            successes = 0;
        }
    }
    assert_int_equal(successes, 5);
    assert_true(failures >= 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_pipeline),
        cmocka_unit_test(test_graph_attrs_block_and_decl),
        cmocka_unit_test(test_multiline_node_attrs),
        cmocka_unit_test(test_value_types),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_bare_values),
        cmocka_unit_test(test_qualified_keys),
        cmocka_unit_test(test_chained_edges),
        cmocka_unit_test(test_default_blocks),
        cmocka_unit_test(test_subgraph_spec_example),
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_comments_and_semicolons),
        cmocka_unit_test(test_declared_and_merge),
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_reject_undirected_edge),
        cmocka_unit_test(test_reject_strict),
        cmocka_unit_test(test_reject_undirected_graph),
        cmocka_unit_test(test_reject_second_graph),
        cmocka_unit_test(test_reject_unterminated_string),
        cmocka_unit_test(test_reject_unterminated_comment),
        cmocka_unit_test(test_reject_missing_comma),
        cmocka_unit_test(test_reject_semicolon_in_attrs),
        cmocka_unit_test(test_reject_stray_token),
        cmocka_unit_test(test_reject_missing_brace),
        cmocka_unit_test(test_reject_quoted_node_id),
        cmocka_unit_test(test_reject_numeric_node_id),
        cmocka_unit_test(test_reject_node_port),
        cmocka_unit_test(test_reject_subgraph_endpoint),
        cmocka_unit_test(test_reject_empty_input),
        cmocka_unit_test(test_reject_missing_value),
        cmocka_unit_test(test_ten_thousand_node_chain),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_random_inputs),
        cmocka_unit_test(test_appendix_a_defaults),
        cmocka_unit_test(test_handler_types),
        cmocka_unit_test(test_start_and_exit),
        cmocka_unit_test(test_plain_dot),
        cmocka_unit_test(test_plain_dot_graphviz_escapes),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests_name("dot", tests, NULL, NULL);
}
