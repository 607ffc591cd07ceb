/* Unit tests for validation and linting (attractor-spec §7, §11.2, §11.12)
 * and the transforms (§9.1-9.3): src/pipeline/lint.c, lint_rules.c,
 * transform.c. */
#include "testutil.h"

#include "lightsout/graph.h"
#include "lightsout/lint.h"
#include "lightsout/transform.h"

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

static lo_diags *validate(const lo_graph *g)
{
    lo_diags *d = lo_diags_new();
    assert_non_null(d);
    assert_int_equal(lo_validate(g, NULL, 0, d), 0);
    return d;
}

/* Parse and validate; the graph is returned through gp (freed by caller). */
static lo_diags *lint_src(const char *src, lo_graph **gp)
{
    lo_graph *g = parse_ok(src);
    lo_diags *d = validate(g);
    *gp = g;
    return d;
}

static bool has(const lo_diags *d, const char *rule, lo_severity sev)
{
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->v[i].rule, rule) == 0 && d->v[i].severity == sev)
            return true;
    return false;
}

static size_t count(const lo_diags *d, const char *rule)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n; i++)
        n += strcmp(d->v[i].rule, rule) == 0;
    return n;
}

/* The first diagnostic of rule (whose message contains needle, if given). */
static const lo_diag *find(const lo_diags *d, const char *rule, const char *needle)
{
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->v[i].rule, rule) == 0 &&
            (!needle || strstr(d->v[i].message, needle)))
            return &d->v[i];
    return NULL;
}

static void dump(const lo_diags *d)
{
    for (size_t i = 0; i < d->n; i++)
        print_message("  %u:%u %s [%s] %s\n", (unsigned)d->v[i].line, (unsigned)d->v[i].col,
                      lo_severity_name(d->v[i].severity), d->v[i].rule, d->v[i].message);
}

/* Check one diagnostic completely. node, from, to NULL mean "must be NULL". */
static const lo_diag *expect(const lo_diags *d, const char *rule, const char *needle,
                             lo_severity sev, uint32_t line, uint32_t col,
                             const char *node_id, const char *from, const char *to)
{
    const lo_diag *x = find(d, rule, needle);
    if (!x) {
        dump(d);
        fail_msg("no [%s] diagnostic containing '%s'", rule, needle ? needle : "");
    }
    if (x->severity != sev)
        fail_msg("[%s] severity %s, expected %s", rule, lo_severity_name(x->severity),
                 lo_severity_name(sev));
    if (x->line != line || x->col != col)
        fail_msg("[%s] at %u:%u, expected %u:%u (%s)", rule, (unsigned)x->line,
                 (unsigned)x->col, (unsigned)line, (unsigned)col, x->message);
    if (node_id)
        assert_string_equal(x->node_id, node_id);
    else
        assert_null(x->node_id);
    if (from) {
        assert_string_equal(x->edge_from, from);
        assert_string_equal(x->edge_to, to);
    } else {
        assert_null(x->edge_from);
        assert_null(x->edge_to);
    }
    assert_string_equal(x->file, "t.dot");
    return x;
}

static void expect_clean(const char *src)
{
    lo_graph *g;
    lo_diags *d = lint_src(src, &g);
    if (d->n) {
        dump(d);
        fail_msg("%zu diagnostics for a clean pipeline", d->n);
    }
    lo_diags_free(d);
    lo_graph_free(g);
}

/* A pipeline without a single diagnostic; the tests below vary it. */
#define HEAD "digraph T {\n" \
             "  start [shape=Mdiamond]\n" \
             "  exit [shape=Msquare]\n"
static const char clean_src[] = HEAD
    "  work [prompt=\"do it\"]\n"
    "  start -> work -> exit\n"
    "}\n";

/* ---- the rule table ---- */

static void test_rule_table(void **state)
{
    (void)state;
    size_t n;
    const lo_rule_info *r = lo_lint_rules(&n);
    assert_int_equal(n, 20);
    static const char *const errors[] = {
        "start_node", "terminal_node", "reachability", "edge_target_exists",
        "start_no_incoming", "exit_no_outgoing", "condition_syntax", "stylesheet_syntax",
    };
    for (size_t i = 0; i < 8; i++) {
        assert_string_equal(r[i].name, errors[i]);
        assert_int_equal(r[i].severity, LO_SEV_ERROR);
    }
    for (size_t i = 8; i < n; i++)
        assert_int_equal(r[i].severity, LO_SEV_WARNING);
    assert_string_equal(lo_severity_name(LO_SEV_ERROR), "error");
    assert_string_equal(lo_severity_name(LO_SEV_WARNING), "warning");
    assert_string_equal(lo_severity_name(LO_SEV_INFO), "note");
    expect_clean(clean_src);
}

/* ---- one test per built-in rule ---- */

static void test_start_node(void **state)
{
    (void)state;
    lo_graph *g;
    /* §11.12: missing start node -> error */
    lo_diags *d = lint_src("digraph T {\n"
                           "  work [prompt=\"x\"]\n"
                           "  exit [shape=Msquare]\n"
                           "  work -> exit\n"
                           "}\n", &g);
    assert_true(has(d, "start_node", LO_SEV_ERROR));
    assert_false(has(d, "start_node", LO_SEV_WARNING));
    expect(d, "start_node", "no start node", LO_SEV_ERROR, 1, 1, NULL, NULL, NULL);
    assert_int_equal(count(d, "start_node"), 1);
    assert_int_equal(count(d, "reachability"), 0); /* nothing to reach from */
    assert_int_equal(lo_diags_count(d, LO_SEV_ERROR), 1);
    lo_diags_free(d);
    lo_graph_free(g);
    /* two start nodes */
    d = lint_src("digraph T {\n"
                 "  s1 [shape=Mdiamond]\n"
                 "  s2 [shape=Mdiamond]\n"
                 "  exit [shape=Msquare]\n"
                 "  s1 -> exit\n"
                 "  s2 -> exit\n"
                 "}\n", &g);
    expect(d, "start_node", "second start node 's2': the pipeline already starts at 's1'",
           LO_SEV_ERROR, 3, 3, "s2", NULL, NULL);
    assert_int_equal(count(d, "start_node"), 1);
    lo_diags_free(d);
    lo_graph_free(g);
    /* start by id (no shape) counts */
    d = lint_src("digraph T {\n  start -> work -> exit\n  work [prompt=\"x\"]\n}\n", &g);
    assert_int_equal(count(d, "start_node"), 0);
    assert_int_equal(count(d, "terminal_node"), 0);
    assert_int_equal(lo_diags_count(d, LO_SEV_ERROR), 0);
    lo_diags_free(d);
    lo_graph_free(g);
    expect_clean(clean_src);
}

static void test_terminal_node(void **state)
{
    (void)state;
    lo_graph *g;
    /* §11.12: missing exit node -> error */
    lo_diags *d = lint_src("digraph T {\n"
                           "  start [shape=Mdiamond]\n"
                           "  work [prompt=\"x\"]\n"
                           "  start -> work\n"
                           "}\n", &g);
    assert_true(has(d, "terminal_node", LO_SEV_ERROR));
    expect(d, "terminal_node", "no exit node", LO_SEV_ERROR, 1, 1, NULL, NULL, NULL);
    assert_int_equal(lo_diags_count(d, LO_SEV_ERROR), 1);
    lo_diags_free(d);
    lo_graph_free(g);
    d = lint_src(HEAD
                 "  done [shape=Msquare]\n"
                 "  start -> exit\n"
                 "  start -> done\n"
                 "}\n", &g);
    expect(d, "terminal_node", "second exit node 'done': the pipeline already exits at 'exit'",
           LO_SEV_ERROR, 4, 3, "done", NULL, NULL);
    assert_int_equal(count(d, "terminal_node"), 1);
    lo_diags_free(d);
    lo_graph_free(g);
    /* exit by id: `end` */
    d = lint_src("digraph T {\n  start [shape=Mdiamond]\n  start -> w -> end\n"
                 "  w [label=W]\n}\n", &g);
    assert_int_equal(count(d, "terminal_node"), 0);
    assert_int_equal(count(d, "dead_end"), 0);
    lo_diags_free(d);
    lo_graph_free(g);
    expect_clean(clean_src);
}

static void test_reachability(void **state)
{
    (void)state;
    lo_graph *g;
    /* §11.12: orphan node; the §7.2 table makes reachability an ERROR */
    lo_diags *d = lint_src(HEAD
                           "  work [prompt=\"x\"]\n"
                           "  lonely [prompt=\"y\"]\n"
                           "  start -> work -> exit\n"
                           "  a -> b -> a\n"
                           "  a [label=A] b [label=B]\n"
                           "}\n", &g);
    expect(d, "reachability", "node 'lonely' cannot be reached from the start node 'start'",
           LO_SEV_ERROR, 5, 3, "lonely", NULL, NULL);
    expect(d, "reachability", "node 'a'", LO_SEV_ERROR, 7, 3, "a", NULL, NULL);
    expect(d, "reachability", "node 'b'", LO_SEV_ERROR, 7, 8, "b", NULL, NULL);
    assert_true(has(d, "reachability", LO_SEV_ERROR));
    assert_false(has(d, "reachability", LO_SEV_WARNING));
    assert_int_equal(count(d, "reachability"), 3);
    assert_int_equal(lo_diags_count(d, LO_SEV_ERROR), 3);
    lo_diags_free(d);
    lo_graph_free(g);
    expect_clean(clean_src);
}

static void test_edge_target_exists(void **state)
{
    (void)state;
    /* the parser creates every node an edge names, so build the edge by hand */
    lo_graph *g = parse_ok(clean_src);
    assert_non_null(lo_graph_add_edge(g, "ghost", "work"));
    lo_diags *d = validate(g);
    const lo_diag *x = expect(d, "edge_target_exists",
                              "edge ghost -> work starts at 'ghost', which is not a node",
                              LO_SEV_ERROR, 0, 0, NULL, "ghost", "work");
    assert_ptr_equal(x, &d->v[d->n - 1]); /* no position: sorted last */
    assert_int_equal(count(d, "edge_target_exists"), 1);
    assert_int_equal(lo_diags_count(d, LO_SEV_ERROR), 1);
    lo_diags_free(d);
    lo_graph_free(g);
    expect_clean(clean_src);
}

static void test_edge_target_missing_to(void **state)
{
    (void)state;
    /* Was a bug: src/pipeline/lint_rules.c check_structure() counts an edge
     * whose `to` is not a node in out_deg[] and first[] (lines 125-128 at
     * fe902f7) but never stores it in adj[] (lines 135-136 skip it). The
     * BFS (lines 166-167) then reads an unwritten slot of the lo_malloc'ed
     * adj[] and uses the garbage as an index into seen[] (out-of-bounds
     * read/write: under ASan, which fills malloc'ed memory with 0xbe, this
     * test dies with SIGSEGV), and the next node's run in adj[] starts one
     * slot early, so one of its edges is never followed.
     * Input: nodes declared start, work, exit; edges start -> work -> exit;
     * then lo_graph_add_edge(g, "start", "ghost"). Expected: one
     * edge_target_exists error "ends at 'ghost'" and nothing else. Actual
     * (gcc -O2): also "node 'exit' cannot be reached from the start node
     * 'start'" (reachability), or a crash. */
    lo_graph *g = parse_ok("digraph T {\n"
                           "  start [shape=Mdiamond]\n"
                           "  work [prompt=\"do it\"]\n"
                           "  exit [shape=Msquare]\n"
                           "  start -> work -> exit\n"
                           "}\n");
    assert_non_null(lo_graph_add_edge(g, "start", "ghost"));
    lo_diags *d = validate(g);
    expect(d, "edge_target_exists", "edge start -> ghost ends at 'ghost', which is not a node",
           LO_SEV_ERROR, 0, 0, NULL, "start", "ghost");
    assert_int_equal(count(d, "reachability"), 0);
    assert_int_equal(d->n, 1);
    lo_diags_free(d);
    lo_graph_free(g);
}

static void test_start_no_incoming(void **state)
{
    (void)state;
    lo_graph *g;
    lo_diags *d = lint_src(HEAD
                           "  work [prompt=\"x\"]\n"
                           "  start -> work -> exit\n"
                           "  work -> start\n"
                           "}\n", &g);
    expect(d, "start_no_incoming", "edge work -> start enters the start node", LO_SEV_ERROR,
           6, 11, NULL, "work", "start");
    assert_int_equal(lo_diags_count(d, LO_SEV_ERROR), 1);
    lo_diags_free(d);
    lo_graph_free(g);
    expect_clean(clean_src);
}

static void test_exit_no_outgoing(void **state)
{
    (void)state;
    lo_graph *g;
    lo_diags *d = lint_src(HEAD
                           "  work [prompt=\"x\"]\n"
                           "  start -> work -> exit\n"
                           "  exit -> work\n"
                           "}\n", &g);
    expect(d, "exit_no_outgoing", "edge exit -> work leaves the exit node", LO_SEV_ERROR,
           6, 3, NULL, "exit", "work");
    assert_int_equal(lo_diags_count(d, LO_SEV_ERROR), 1);
    lo_diags_free(d);
    lo_graph_free(g);
    expect_clean(clean_src);
}

static void test_condition_syntax(void **state)
{
    (void)state;
    lo_graph *g;
    lo_diags *d = lint_src(HEAD
                           "  work [prompt=\"x\"]\n"
                           "  start -> work\n"
                           "  work -> exit [condition=\"outcome=success && && x\"]\n"
                           "}\n", &g);
    /* the column is that of the second '&&' inside the string */
    const lo_diag *x = expect(d, "condition_syntax", "condition of work -> exit: empty clause",
                              LO_SEV_ERROR, 6, 47, NULL, "work", "exit");
    const char *line;
    size_t n = lo_graph_source_line(g, x->line, &line);
    assert_true(n >= x->col + 1);
    assert_memory_equal(line + x->col - 1, "&& x", 4);
    assert_int_equal(lo_diags_count(d, LO_SEV_ERROR), 1);
    lo_diags_free(d);
    lo_graph_free(g);
    expect_clean(HEAD
                 "  work [prompt=\"x\"]\n"
                 "  start -> work\n"
                 "  work -> exit [condition=\"outcome=success && context.ok=true\"]\n"
                 "  work -> exit [condition=\"outcome!=success\"]\n"
                 "}\n");
}

static void test_condition_syntax_escaped_column(void **state)
{
    (void)state;
    /* Was a bug: src/pipeline/lint_rules.c inner_off() (line 398 at fe902f7) maps a
     * column of the *unescaped* condition text straight onto source bytes,
     * so every \" (or \\) before the error moves the caret one column left.
     * Input line 6: `  work -> exit [condition="context.x=\"a\" && && y"]`;
     * the second '&&' is at 6:47; the diagnostic says 6:45. */
    lo_graph *g;
    lo_diags *d = lint_src(HEAD
                           "  work [prompt=\"x\"]\n"
                           "  start -> work\n"
                           "  work -> exit [condition=\"context.x=\\\"a\\\" && && y\"]\n"
                           "}\n", &g);
    expect(d, "condition_syntax", "empty clause", LO_SEV_ERROR, 6, 47, NULL, "work", "exit");
    lo_diags_free(d);
    lo_graph_free(g);
}

static void test_stylesheet_syntax(void **state)
{
    (void)state;
    lo_graph *g;
    /* an error on the stylesheet's third line, which is source line 4 */
    lo_diags *d = lint_src("digraph T {\n"
                           "  model_stylesheet=\"\n"
                           "    * { llm_model: gpt-5.4; }\n"
                           "    .code { bogus_prop: x; }\n"
                           "  \"\n"
                           "  start [shape=Mdiamond]\n"
                           "  exit [shape=Msquare]\n"
                           "  work [prompt=\"x\"]\n"
                           "  start -> work -> exit\n"
                           "}\n", &g);
    const lo_diag *x = expect(d, "stylesheet_syntax",
                              "model_stylesheet: unknown property 'bogus_prop'",
                              LO_SEV_ERROR, 4, 13, NULL, NULL, NULL);
    const char *line;
    lo_graph_source_line(g, x->line, &line);
    assert_memory_equal(line + x->col - 1, "bogus_prop", 10);
    assert_int_equal(lo_diags_count(d, LO_SEV_ERROR), 1);
    lo_diags_free(d);
    lo_graph_free(g);
    /* an error on the stylesheet's first line */
    d = lint_src("digraph T {\n"
                 "  model_stylesheet=\"* { bogus: x; }\"\n"
                 "  start [shape=Mdiamond]\n"
                 "  exit [shape=Msquare]\n"
                 "  start -> exit\n"
                 "}\n", &g);
    expect(d, "stylesheet_syntax", "unknown property 'bogus'", LO_SEV_ERROR, 2, 25, NULL,
           NULL, NULL);
    lo_diags_free(d);
    lo_graph_free(g);
    expect_clean("digraph T {\n"
                 "  model_stylesheet=\"\n"
                 "    * { llm_model: gpt-5.4; }\n"
                 "    .code { llm_model: claude-sonnet-4-5; reasoning_effort: low; }\n"
                 "  \"\n"
                 "  start [shape=Mdiamond]\n"
                 "  exit [shape=Msquare]\n"
                 "  work [prompt=\"x\", class=code]\n"
                 "  start -> work -> exit\n"
                 "}\n");
}

static void test_stylesheet_syntax_escaped_column(void **state)
{
    (void)state;
    /* Was a bug: src/pipeline/lint_rules.c check_stylesheet() (lines 459-470 at
     * fe902f7) maps the stylesheet's line:col onto the source by counting
     * raw newlines and adding col to a byte offset, ignoring escapes in the
     * DOT string. Input line 2:
     *   model_stylesheet="* { llm_model: \"m\"; bogus: x; }"
     * 'bogus' is at source 2:43; the diagnostic says 2:41 (one column per
     * \"). A stylesheet written on one line with \n escapes is reported on
     * the wrong line as well. */
    lo_graph *g;
    lo_diags *d = lint_src("digraph T {\n"
                           "  model_stylesheet=\"* { llm_model: \\\"m\\\"; bogus: x; }\"\n"
                           "  start [shape=Mdiamond]\n"
                           "  exit [shape=Msquare]\n"
                           "  start -> exit\n"
                           "}\n", &g);
    expect(d, "stylesheet_syntax", "unknown property 'bogus'", LO_SEV_ERROR, 2, 43, NULL,
           NULL, NULL);
    lo_diags_free(d);
    lo_graph_free(g);
}

static void test_type_known(void **state)
{
    (void)state;
    lo_graph *g;
    lo_diags *d = lint_src(HEAD
                           "  work [type=\"tol\", tool_command=\"make\"]\n"
                           "  start -> work -> exit\n"
                           "}\n", &g);
    expect(d, "type_known",
           "type 'tol' is not a built-in handler (it must be registered at run time); "
           "did you mean 'tool'?", LO_SEV_WARNING, 4, 14, "work", NULL, NULL);
    assert_int_equal(d->n, 1); /* tool_command is not flagged on a custom type */
    lo_diags_free(d);
    lo_graph_free(g);
    expect_clean(HEAD
                 "  work [type=\"tool\", tool_command=\"make\"]\n"
                 "  ask [type=\"wait.human\", label=\"Ask\"]\n"
                 "  start -> work -> ask -> exit\n"
                 "}\n");
}

static void test_fidelity_valid(void **state)
{
    (void)state;
    lo_graph *g;
    lo_diags *d = lint_src(HEAD
                           "  work [fidelity=ful, prompt=\"x\"]\n"
                           "  default_fidelity=\"compressed\"\n"
                           "  start -> work\n"
                           "  work -> exit [fidelity=\"summary:hi\"]\n"
                           "}\n", &g);
    expect(d, "fidelity_valid",
           "fidelity=\"ful\" is not one of full, truncate, compact, summary:low, "
           "summary:medium, summary:high; did you mean 'full'?",
           LO_SEV_WARNING, 4, 18, "work", NULL, NULL);
    expect(d, "fidelity_valid", "default_fidelity=\"compressed\"", LO_SEV_WARNING, 5, 20,
           NULL, NULL, NULL);
    expect(d, "fidelity_valid", "did you mean 'summary:high'?", LO_SEV_WARNING, 7, 26,
           NULL, NULL, NULL);
    assert_int_equal(count(d, "fidelity_valid"), 3);
    assert_int_equal(d->n, 3);
    lo_diags_free(d);
    lo_graph_free(g);
    expect_clean(HEAD
                 "  work [fidelity=summary:high, prompt=\"x\"]\n"
                 "  default_fidelity=compact\n"
                 "  start -> work\n"
                 "  work -> exit [fidelity=\"full\"]\n"
                 "}\n");
}

static void test_retry_target_exists(void **state)
{
    (void)state;
    lo_graph *g;
    lo_diags *d = lint_src(HEAD
                           "  work [retry_target=nowhere, prompt=\"x\"]\n"
                           "  fallback_retry_target=gone\n"
                           "  start -> work -> exit\n"
                           "}\n", &g);
    expect(d, "retry_target_exists", "retry_target 'nowhere' is not a node", LO_SEV_WARNING,
           4, 22, "work", NULL, NULL);
    expect(d, "retry_target_exists", "fallback_retry_target 'gone' is not a node",
           LO_SEV_WARNING, 5, 25, NULL, NULL, NULL);
    assert_int_equal(d->n, 2);
    lo_diags_free(d);
    lo_graph_free(g);
    expect_clean(HEAD
                 "  work [retry_target=work, fallback_retry_target=start, prompt=\"x\"]\n"
                 "  retry_target=work\n"
                 "  start -> work -> exit\n"
                 "}\n");
}

static void test_goal_gate_has_retry(void **state)
{
    (void)state;
    lo_graph *g;
    lo_diags *d = lint_src(HEAD
                           "  work [goal_gate=true, prompt=\"x\"]\n"
                           "  start -> work -> exit\n"
                           "}\n", &g);
    expect(d, "goal_gate_has_retry", "goal gate 'work' has no retry_target or "
           "fallback_retry_target", LO_SEV_WARNING, 4, 3, "work", NULL, NULL);
    assert_int_equal(d->n, 1);
    lo_diags_free(d);
    lo_graph_free(g);
    /* a retry target on the node, or on the graph, satisfies it */
    expect_clean(HEAD
                 "  work [goal_gate=true, retry_target=work, prompt=\"x\"]\n"
                 "  start -> work -> exit\n"
                 "}\n");
    expect_clean(HEAD
                 "  graph [fallback_retry_target=work]\n"
                 "  work [goal_gate=true, prompt=\"x\"]\n"
                 "  start -> work -> exit\n"
                 "}\n");
}

static void test_prompt_on_llm_nodes(void **state)
{
    (void)state;
    lo_graph *g;
    lo_diags *d = lint_src(HEAD
                           "  work\n"
                           "  start -> work -> exit\n"
                           "}\n", &g);
    expect(d, "prompt_on_llm_nodes", "codergen node 'work' has no prompt or label",
           LO_SEV_WARNING, 4, 3, "work", NULL, NULL);
    assert_int_equal(d->n, 1);
    lo_diags_free(d);
    lo_graph_free(g);
    /* a label is enough; non-codergen nodes need neither */
    expect_clean(HEAD
                 "  work [label=\"Work\"]\n"
                 "  check [shape=diamond]\n"
                 "  start -> work -> check -> exit\n"
                 "}\n");
}

static void test_unknown_attribute(void **state)
{
    (void)state;
    lo_graph *g;
    lo_diags *d = lint_src("digraph T {\n"
                           "  rankdir=LR\n"
                           "  goall=\"x\"\n"
                           "  start [shape=Mdiamond, color=red, style=filled]\n"
                           "  exit [shape=Msquare]\n"
                           "  work [prompt=\"x\", promt=\"y\", condition=\"outcome=success\"]\n"
                           "  custom [type=\"my_handler\", foo_setting=1, tiemout=5s]\n"
                           "  wild [prompt=\"x\", zzqqxx=1]\n"
                           "  start -> work -> custom -> wild -> exit [penwidth=2, color=blue]\n"
                           "  wild -> exit [prompt=\"p\"]\n"
                           "}\n", &g);
    expect(d, "unknown_attribute", "unknown graph attribute 'goall'; did you mean 'goal'?",
           LO_SEV_WARNING, 3, 3, NULL, NULL, NULL);
    expect(d, "unknown_attribute", "unknown node attribute 'promt'; did you mean 'prompt'?",
           LO_SEV_WARNING, 6, 21, "work", NULL, NULL);
    expect(d, "unknown_attribute", "'condition' is an edge attribute; on a node it has no effect",
           LO_SEV_WARNING, 6, 32, "work", NULL, NULL);
    /* a custom handler's own keys are not flagged, near-misses still are */
    assert_null(find(d, "unknown_attribute", "foo_setting"));
    expect(d, "unknown_attribute", "unknown node attribute 'tiemout'; did you mean 'timeout'?",
           LO_SEV_WARNING, 7, 45, "custom", NULL, NULL);
    expect(d, "unknown_attribute", "unknown node attribute 'zzqqxx': no handler reads it",
           LO_SEV_WARNING, 8, 21, "wild", NULL, NULL);
    expect(d, "unknown_attribute", "'prompt' is a node attribute", LO_SEV_WARNING, 10, 17,
           NULL, "wild", "exit");
    /* Graphviz layout attributes are accepted anywhere */
    assert_null(find(d, "unknown_attribute", "rankdir"));
    assert_null(find(d, "unknown_attribute", "color"));
    assert_null(find(d, "unknown_attribute", "style"));
    assert_null(find(d, "unknown_attribute", "penwidth"));
    assert_int_equal(count(d, "unknown_attribute"), 6);
    assert_int_equal(count(d, "type_known"), 1);
    assert_int_equal(d->n, 7);
    lo_diags_free(d);
    lo_graph_free(g);
    expect_clean(clean_src);
}

static void test_wrong_scope_message_grammar(void **state)
{
    (void)state;
    /* Was a bug: src/pipeline/lint_rules.c check_attrs() (line 334 at fe902f7)
     * formats "on a %s" with scope_name(), which gives "on a edge" for a node
     * attribute used on an edge. Input: `start -> exit [prompt="p"]`.
     * Expected "...is a node attribute; on an edge it has no effect";
     * actual "...; on a edge it has no effect". */
    lo_graph *g;
    lo_diags *d = lint_src(HEAD "  start -> exit [prompt=\"p\"]\n}\n", &g);
    expect(d, "unknown_attribute", "'prompt' is a node attribute; on an edge it has no effect",
           LO_SEV_WARNING, 4, 18, NULL, "start", "exit");
    lo_diags_free(d);
    lo_graph_free(g);
}

static void test_unknown_shape(void **state)
{
    (void)state;
    lo_graph *g;
    lo_diags *d = lint_src(HEAD
                           "  work [shape=boxx, prompt=\"x\"]\n"
                           "  oval [shape=ellipse, prompt=\"y\"]\n"
                           "  start -> work -> oval -> exit\n"
                           "}\n", &g);
    expect(d, "unknown_shape",
           "shape 'boxx' has no handler; node 'work' will run as codergen; did you mean 'box'?",
           LO_SEV_WARNING, 4, 15, "work", NULL, NULL);
    const lo_diag *x = expect(d, "unknown_shape", "shape 'ellipse' has no handler",
                              LO_SEV_WARNING, 5, 15, "oval", NULL, NULL);
    assert_null(strstr(x->message, "did you mean"));
    assert_int_equal(d->n, 2);
    lo_diags_free(d);
    lo_graph_free(g);
    expect_clean(HEAD
                 "  work [shape=box, prompt=\"x\"]\n"
                 "  gate [shape=octagon, command=\"make check\"]\n"
                 "  start -> work -> gate -> exit\n"
                 "}\n");
}

static void test_attribute_type(void **state)
{
    (void)state;
    lo_graph *g;
    lo_diags *d = lint_src(HEAD
                           "  work [max_retries=three, timeout=soon, goal_gate=yes, "
                           "reasoning_effort=extreme, max_rss=lots, prompt=\"x\"]\n"
                           "  other [max_retries=-1, budget_usd=cheap, label=O]\n"
                           "  start -> work -> other -> exit\n"
                           "}\n", &g);
    expect(d, "attribute_type", "max_retries=\"three\" should be an integer", LO_SEV_WARNING,
           4, 21, "work", NULL, NULL);
    expect(d, "attribute_type",
           "timeout=\"soon\" should be a duration such as 250ms, 90s, 15m, 2h or 1d",
           LO_SEV_WARNING, 4, 36, "work", NULL, NULL);
    expect(d, "attribute_type", "goal_gate=\"yes\" should be true or false", LO_SEV_WARNING,
           4, 52, "work", NULL, NULL);
    expect(d, "attribute_type", "reasoning_effort=\"extreme\" is not one of low, medium, high",
           LO_SEV_WARNING, 4, 74, "work", NULL, NULL);
    expect(d, "attribute_type", "max_rss=\"lots\" should be a size such as 512KB, 100MB or 2GB",
           LO_SEV_WARNING, 4, 91, "work", NULL, NULL);
    expect(d, "attribute_type", "max_retries=-1 is negative", LO_SEV_WARNING, 5, 22, "other",
           NULL, NULL);
    expect(d, "attribute_type", "budget_usd=\"cheap\" should be a number", LO_SEV_WARNING,
           5, 37, "other", NULL, NULL);
    assert_int_equal(count(d, "attribute_type"), 7);
    assert_int_equal(d->n, 7);
    assert_int_equal(lo_diags_count(d, LO_SEV_ERROR), 0);
    lo_diags_free(d);
    lo_graph_free(g);
    expect_clean(HEAD
                 "  work [max_retries=3, timeout=15m, goal_gate=false, reasoning_effort=low,"
                 " max_rss=512MB, budget_usd=1.5, prompt=\"x\"]\n"
                 "  start -> work\n"
                 "  work -> exit [weight=-3]\n"
                 "}\n");
}

static void test_condition_outcome_value(void **state)
{
    (void)state;
    lo_graph *g;
    lo_diags *d = lint_src(HEAD
                           "  work [prompt=\"x\"]\n"
                           "  start -> work\n"
                           "  work -> exit [condition=\"outcome=sucess\"]\n"
                           "  work -> exit [condition=\"outcome=success\"]\n"
                           "}\n", &g);
    const lo_diag *x = expect(d, "condition_outcome_value",
                              "'sucess' is not an outcome status (success, partial_success, "
                              "retry, fail, skipped); did you mean 'success'?",
                              LO_SEV_WARNING, 6, 36, NULL, "work", "exit");
    assert_true(lo_str_starts(x->message, "condition of work -> exit "));
    const char *line;
    lo_graph_source_line(g, x->line, &line);
    assert_memory_equal(line + x->col - 1, "sucess", 6);
    assert_int_equal(d->n, 1);
    assert_int_equal(count(d, "condition_never_true"), 0);
    lo_diags_free(d);
    lo_graph_free(g);
    expect_clean(HEAD
                 "  work [prompt=\"x\"]\n"
                 "  start -> work\n"
                 "  work -> exit [condition=\"outcome=partial_success\"]\n"
                 "  work -> exit [condition=\"outcome=skipped\"]\n"
                 "}\n");
}

static void test_condition_outcome_value_ne_message(void **state)
{
    (void)state;
    /* Was a bug: src/pipeline/lint_rules.c check_conditions() (line 431 at
     * fe902f7) says "can never match" for every clause that compares outcome with a
     * non-status, but `outcome!=sucess` is always true, not never.
     * Input: `work -> exit [condition="outcome!=sucess"]`. The warning is
     * right; its message is the opposite of what happens. */
    lo_graph *g;
    lo_diags *d = lint_src(HEAD
                           "  work [prompt=\"x\"]\n"
                           "  start -> work\n"
                           "  work -> exit [condition=\"outcome!=sucess\"]\n"
                           "}\n", &g);
    const lo_diag *x = find(d, "condition_outcome_value", NULL);
    assert_non_null(x);
    assert_null(strstr(x->message, "never match"));
    lo_diags_free(d);
    lo_graph_free(g);
}

static void test_condition_never_true(void **state)
{
    (void)state;
    lo_graph *g;
    lo_diags *d = lint_src(HEAD
                           "  work [prompt=\"x\"]\n"
                           "  start -> work\n"
                           "  work -> exit [condition=\"x=1 && x=2\"]\n"
                           "  work -> exit [condition=\"outcome=success && outcome=fail\"]\n"
                           "  work -> exit [condition=\"context.a=1 && a!=1\"]\n"
                           "  work -> exit [condition=\"x=1 && y=2\"]\n"
                           "}\n", &g);
    expect(d, "condition_never_true",
           "condition of work -> exit is never true: 'x' cannot equal both '1' and '2'",
           LO_SEV_WARNING, 6, 27, NULL, "work", "exit");
    expect(d, "condition_never_true", "'outcome' cannot equal both 'success' and 'fail'",
           LO_SEV_WARNING, 7, 27, NULL, "work", "exit");
    expect(d, "condition_never_true", "is required both to equal '1' and to differ from it",
           LO_SEV_WARNING, 8, 27, NULL, "work", "exit");
    assert_int_equal(count(d, "condition_never_true"), 3);
    assert_int_equal(d->n, 3);
    lo_diags_free(d);
    lo_graph_free(g);
    expect_clean(HEAD
                 "  work [prompt=\"x\"]\n"
                 "  start -> work\n"
                 "  work -> exit [condition=\"x=1 && y=2\"]\n"
                 "  work -> exit [condition=\"x=1 && x!=2\"]\n"
                 "  work -> exit [condition=\"outcome=success && preferred_label=Yes\"]\n"
                 "}\n");
}

static void test_dead_end(void **state)
{
    (void)state;
    lo_graph *g;
    lo_diags *d = lint_src(HEAD
                           "  work [prompt=\"x\"]\n"
                           "  stuck [prompt=\"y\"]\n"
                           "  start -> work -> exti\n"
                           "  start -> stuck\n"
                           "}\n", &g);
    expect(d, "dead_end", "node 'exti' is only named in an edge and has no outgoing edges; "
           "did you mean 'exit'?", LO_SEV_WARNING, 6, 20, "exti", NULL, NULL);
    expect(d, "dead_end", "node 'stuck' has no outgoing edges: a run that reaches it stops "
           "without reaching the exit", LO_SEV_WARNING, 5, 3, "stuck", NULL, NULL);
    assert_int_equal(count(d, "dead_end"), 2);
    expect(d, "reachability", "node 'exit'", LO_SEV_ERROR, 3, 3, "exit", NULL, NULL);
    lo_diags_free(d);
    lo_graph_free(g);
    expect_clean(clean_src);
}

static void test_handler_attributes(void **state)
{
    (void)state;
    lo_graph *g;
    lo_diags *d = lint_src(HEAD
                           "  t [shape=parallelogram]\n"
                           "  gt [shape=octagon]\n"
                           "  start -> t -> gt -> exit\n"
                           "}\n", &g);
    expect(d, "handler_attributes", "tool node 't' has no tool_command: it will fail",
           LO_SEV_WARNING, 4, 3, "t", NULL, NULL);
    expect(d, "handler_attributes", "gate node 'gt' has no command: it will fail",
           LO_SEV_WARNING, 5, 3, "gt", NULL, NULL);
    assert_int_equal(d->n, 2);
    lo_diags_free(d);
    lo_graph_free(g);
    expect_clean(HEAD
                 "  t [shape=parallelogram, tool_command=\"make test\"]\n"
                 "  gt [type=gate, command=\"make check\", max_wall=10m, max_rss=1GB]\n"
                 "  start -> t -> gt -> exit\n"
                 "}\n");
}

/* ---- whole pipelines ---- */

static void test_spec_examples(void **state)
{
    (void)state;
    /* §2.13 branching: no errors, no warnings */
    expect_clean("digraph Branch {\n"
                 "    graph [goal=\"Implement and validate a feature\"]\n"
                 "    rankdir=LR\n"
                 "    node [shape=box, timeout=\"900s\"]\n"
                 "\n"
                 "    start     [shape=Mdiamond, label=\"Start\"]\n"
                 "    exit      [shape=Msquare, label=\"Exit\"]\n"
                 "    plan      [label=\"Plan\", prompt=\"Plan the implementation\"]\n"
                 "    implement [label=\"Implement\", prompt=\"Implement the plan\"]\n"
                 "    validate  [label=\"Validate\", prompt=\"Run tests\"]\n"
                 "    gate      [shape=diamond, label=\"Tests passing?\"]\n"
                 "\n"
                 "    start -> plan -> implement -> validate -> gate\n"
                 "    gate -> exit      [label=\"Yes\", condition=\"outcome=success\"]\n"
                 "    gate -> implement [label=\"No\", condition=\"outcome!=success\"]\n"
                 "}\n");
    /* §2.13 simple linear */
    expect_clean("digraph Simple {\n"
                 "    graph [goal=\"Run tests and report\"]\n"
                 "    rankdir=LR\n"
                 "\n"
                 "    start [shape=Mdiamond, label=\"Start\"]\n"
                 "    exit  [shape=Msquare, label=\"Exit\"]\n"
                 "\n"
                 "    run_tests [label=\"Run Tests\",\n"
                 "               prompt=\"Run the test suite and report results\"]\n"
                 "    report    [label=\"Report\", prompt=\"Summarize the test results\"]\n"
                 "\n"
                 "    start -> run_tests -> report -> exit\n"
                 "}\n");
    /* §2.13 human gate: the two stages named only in edges have no prompt */
    lo_graph *g;
    lo_diags *d = lint_src("digraph Review {\n"
                           "    rankdir=LR\n"
                           "\n"
                           "    start [shape=Mdiamond, label=\"Start\"]\n"
                           "    exit  [shape=Msquare, label=\"Exit\"]\n"
                           "\n"
                           "    review_gate [\n"
                           "        shape=hexagon,\n"
                           "        label=\"Review Changes\",\n"
                           "        type=\"wait.human\"\n"
                           "    ]\n"
                           "\n"
                           "    start -> review_gate\n"
                           "    review_gate -> ship_it [label=\"[A] Approve\"]\n"
                           "    review_gate -> fixes   [label=\"[F] Fix\"]\n"
                           "    ship_it -> exit\n"
                           "    fixes -> review_gate\n"
                           "}\n", &g);
    assert_int_equal(lo_diags_count(d, LO_SEV_ERROR), 0);
    expect(d, "prompt_on_llm_nodes", "'ship_it'", LO_SEV_WARNING, 14, 20, "ship_it", NULL, NULL);
    expect(d, "prompt_on_llm_nodes", "'fixes'", LO_SEV_WARNING, 15, 20, "fixes", NULL, NULL);
    assert_int_equal(d->n, 2);
    lo_diags_free(d);
    lo_graph_free(g);
}

static void test_validate_or_raise(void **state)
{
    (void)state;
    lo_graph *g = parse_ok("digraph T {\n  work [prompt=\"x\"]\n  exit [shape=Msquare]\n"
                           "  work -> exit\n}\n");
    lo_diags *d = lo_diags_new();
    lo_error err = {0};
    assert_int_equal(lo_validate_or_raise(g, NULL, 0, d, &err), LO_EVALIDATE);
    assert_int_equal(err.code, LO_EVALIDATE);
    assert_string_equal(err.file, "t.dot");
    assert_int_equal(err.line, 1);
    assert_int_equal(err.col, 1);
    assert_true(lo_str_starts(err.msg, "[start_node] no start node"));
    assert_null(strstr(err.msg, "errors)"));
    assert_int_equal(d->n, 1);
    lo_diags_free(d);
    lo_graph_free(g);
    /* two errors: the first one is named, with the count */
    g = parse_ok("digraph T {\n  work [prompt=\"x\"]\n}\n");
    d = lo_diags_new();
    memset(&err, 0, sizeof err);
    assert_int_equal(lo_validate_or_raise(g, NULL, 0, d, &err), LO_EVALIDATE);
    assert_true(lo_str_starts(err.msg, "[start_node] no start node"));
    assert_non_null(strstr(err.msg, " (2 errors)"));
    assert_null(strstr(err.msg, "and more errors"));
    lo_diags_free(d);
    lo_graph_free(g);
    /* warnings only: success, err untouched */
    g = parse_ok(HEAD "  work\n  start -> work -> exit\n}\n");
    d = lo_diags_new();
    memset(&err, 0, sizeof err);
    assert_int_equal(lo_validate_or_raise(g, NULL, 0, d, &err), 0);
    assert_int_equal(err.code, 0);
    assert_string_equal(err.msg, "");
    assert_int_equal(lo_diags_count(d, LO_SEV_WARNING), 1);
    assert_int_equal(lo_diags_count(d, LO_SEV_ERROR), 0);
    /* err may be NULL */
    lo_diags_free(d);
    d = lo_diags_new();
    assert_int_equal(lo_validate_or_raise(g, NULL, 0, d, NULL), 0);
    lo_diags_free(d);
    lo_graph_free(g);
}

/* ---- custom rules ---- */

typedef struct rule_state {
    int calls;
    const char *forbidden;
} rule_state;

static int no_forbidden_ids(const lo_graph *g, lo_diags *out, void *ud)
{
    rule_state *st = ud;
    st->calls++;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const lo_node *n = g->nodes[i];
        if (strcmp(n->id, st->forbidden) == 0) {
            int rc = lo_diags_add(out, "no_forbidden_ids", LO_SEV_ERROR, g->file,
                                  lo_graph_pos(g, n->off), n->id, NULL, NULL,
                                  "rename the node", "node '%s' has a forbidden id", n->id);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int note_everything(const lo_graph *g, lo_diags *out, void *ud)
{
    (void)ud;
    lo_pos nowhere = {0, 0};
    return lo_diags_add(out, "note_everything", LO_SEV_INFO, g->file, nowhere, NULL, NULL,
                        NULL, NULL, "%u nodes", (unsigned)g->n_nodes);
}

static void test_custom_rule(void **state)
{
    (void)state;
    lo_graph *g = parse_ok(HEAD "  work [prompt=\"x\"]\n  start -> work -> exit\n}\n");
    rule_state st = {0, "work"};
    lo_lint_rule extra[] = {
        {"no_forbidden_ids", no_forbidden_ids, &st},
        {"note_everything", note_everything, NULL},
    };
    lo_diags *d = lo_diags_new();
    assert_int_equal(lo_validate(g, extra, 2, d), 0);
    assert_int_equal(st.calls, 1);
    const lo_diag *x = expect(d, "no_forbidden_ids", "node 'work' has a forbidden id",
                              LO_SEV_ERROR, 4, 3, "work", NULL, NULL);
    assert_string_equal(x->fix, "rename the node");
    expect(d, "note_everything", "3 nodes", LO_SEV_INFO, 0, 0, NULL, NULL, NULL);
    assert_int_equal(d->n, 2);
    assert_int_equal(lo_diags_count(d, LO_SEV_INFO), 1);
    lo_diags_free(d);
    /* a custom error makes validate_or_raise fail and is named */
    d = lo_diags_new();
    lo_error err = {0};
    assert_int_equal(lo_validate_or_raise(g, extra, 1, d, &err), LO_EVALIDATE);
    assert_true(lo_str_starts(err.msg, "[no_forbidden_ids] node 'work' has a forbidden id"));
    assert_int_equal(err.line, 4);
    assert_int_equal(err.col, 3);
    assert_int_equal(st.calls, 2);
    lo_diags_free(d);
    lo_graph_free(g);
}

/* ---- ordering and formatting ---- */

static void test_sorted(void **state)
{
    (void)state;
    lo_graph *g = parse_ok(HEAD
                           "  a [shape=boxx, prompt=\"x\"]\n"
                           "  b [promt=\"x\"]\n"
                           "  start -> a -> b -> exit\n"
                           "  b -> exit [condition=\"outcome=sucess\"]\n"
                           "  lonely [label=L]\n"
                           "}\n");
    rule_state st = {0, "start"};
    lo_lint_rule extra[] = {
        {"note_everything", note_everything, NULL},
        {"no_forbidden_ids", no_forbidden_ids, &st},
    };
    lo_diags *d = lo_diags_new();
    assert_int_equal(lo_validate(g, extra, 2, d), 0);
    /* rules run in table order; the list comes back by position */
    static const struct { const char *rule; uint32_t line, col; } want[] = {
        {"no_forbidden_ids", 2, 3},
        {"unknown_shape", 4, 12},
        {"prompt_on_llm_nodes", 5, 3},
        {"unknown_attribute", 5, 6},
        {"condition_outcome_value", 7, 33},
        {"reachability", 8, 3},
        {"dead_end", 8, 3},
        {"note_everything", 0, 0},
    };
    if (d->n != sizeof want / sizeof want[0]) {
        dump(d);
        fail_msg("%zu diagnostics", d->n);
    }
    for (size_t i = 0; i < d->n; i++) {
        if (strcmp(d->v[i].rule, want[i].rule) || d->v[i].line != want[i].line ||
            d->v[i].col != want[i].col) {
            dump(d);
            fail_msg("diagnostic %zu is [%s] %u:%u, expected [%s] %u:%u", i, d->v[i].rule,
                     (unsigned)d->v[i].line, (unsigned)d->v[i].col, want[i].rule,
                     (unsigned)want[i].line, (unsigned)want[i].col);
        }
    }
    lo_diags_free(d);
    lo_graph_free(g);
    /* lo_diags_sort by hand: stable among equal positions */
    d = lo_diags_new();
    lo_pos p[] = {{3, 1}, {0, 0}, {1, 9}, {3, 1}, {1, 2}, {2, 40}};
    const char *names[] = {"r0", "r1", "r2", "r3", "r4", "r5"};
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(lo_diags_add(d, names[i], LO_SEV_WARNING, "t.dot", p[i], NULL,
                                      NULL, NULL, NULL, "m%zu", i), 0);
    lo_diags_sort(d);
    const char *order[] = {"r4", "r2", "r5", "r0", "r3", "r1"};
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(d->v[i].rule, order[i]);
    assert_string_equal(d->v[3].message, "m0");
    lo_diags_free(d);
}

static void test_diag_format(void **state)
{
    (void)state;
    lo_graph *g = parse_ok(HEAD
                           "  work [shape=boxx, prompt=\"x\"]\n"
                           "\tw2 [shape=boxx, prompt=\"y\"]\n"
                           "  start -> work -> w2 -> exit\n"
                           "}\n");
    lo_diags *d = validate(g);
    assert_int_equal(d->n, 2);
    lo_buf out;
    lo_buf_init(&out, 0);
    assert_int_equal(lo_diag_format(&d->v[0], g, true, &out), 0);
    char want[512];
    snprintf(want, sizeof want,
             "t.dot:4:15: warning: [unknown_shape] shape 'boxx' has no handler; node 'work' "
             "will run as codergen; did you mean 'box'?\n"
             "    4 |   work [shape=boxx, prompt=\"x\"]\n"
             "      | %*s^\n", 14, "");
    assert_string_equal(out.data, want);
    /* a tab in the source line is kept in the caret line */
    lo_buf_clear(&out);
    assert_int_equal(lo_diag_format(&d->v[1], g, true, &out), 0);
    snprintf(want, sizeof want,
             "t.dot:5:12: warning: [unknown_shape] shape 'boxx' has no handler; node 'w2' "
             "will run as codergen; did you mean 'box'?\n"
             "    5 | \tw2 [shape=boxx, prompt=\"y\"]\n"
             "      | \t%*s^\n", 10, "");
    assert_string_equal(out.data, want);
    /* without the caret */
    lo_buf_clear(&out);
    assert_int_equal(lo_diag_format(&d->v[0], g, false, &out), 0);
    assert_string_equal(out.data, "t.dot:4:15: warning: [unknown_shape] shape 'boxx' has no "
                                  "handler; node 'work' will run as codergen; did you mean "
                                  "'box'?\n");
    lo_diags_free(d);
    /* a diagnostic with no position has no line:col and no caret */
    d = lo_diags_new();
    lo_pos nowhere = {0, 0};
    assert_int_equal(lo_diags_add(d, "edge_target_exists", LO_SEV_ERROR, "t.dot", nowhere,
                                  NULL, "a", "b", NULL, "edge a -> b"), 0);
    lo_buf_clear(&out);
    assert_int_equal(lo_diag_format(&d->v[0], g, true, &out), 0);
    assert_string_equal(out.data, "t.dot: error: [edge_target_exists] edge a -> b\n");
    lo_diags_free(d);
    lo_graph_free(g);
    /* parse errors format the same way */
    lo_error err = {0};
    assert_null(lo_graph_parse("digraph G {\n  a -- b\n}\n", 23, "t.dot", &err));
    lo_buf_clear(&out);
    assert_int_equal(lo_error_format(&err, true, &out), 0);
    assert_string_equal(out.data,
                        "t.dot:2:5: error: undirected edge '--': Attractor pipelines use "
                        "directed edges ('->')\n"
                        "    2 |   a -- b\n"
                        "      |     ^\n");
    lo_buf_release(&out);
}

/* ---- transforms ---- */

static void test_expand_goal(void **state)
{
    (void)state;
    lo_graph *g = parse_ok("digraph T {\n"
                           "  goal=\"Ship the feature\"\n"
                           "  a [prompt=\"Do $goal now; again $goal.\"]\n"
                           "  b [prompt=\"No variable\", label=\"$goal stays in labels\"]\n"
                           "  c [prompt=\"$goal\"]\n"
                           "  d [prompt=\"$goals and $go\"]\n"
                           "}\n");
    lo_error err = {0};
    assert_int_equal(lo_transform_expand_goal(g, NULL, &err), 0);
    const lo_attr *pa = lo_attrs_get(&lo_graph_node(g, "a")->attrs, "prompt");
    assert_string_equal(pa->value.text, "Do Ship the feature now; again Ship the feature.");
    assert_int_equal(pa->value.len, strlen(pa->value.text));
    assert_int_equal(pa->value.kind, LO_VAL_STRING);
    lo_pos p = lo_graph_pos(g, pa->voff); /* the value keeps its source position */
    assert_int_equal(p.line, 3);
    assert_int_equal(p.col, 13);
    p = lo_graph_pos(g, pa->off);
    assert_int_equal(p.line, 3);
    assert_int_equal(p.col, 6);
    assert_string_equal(lo_node_str(lo_graph_node(g, "b"), "prompt"), "No variable");
    assert_string_equal(lo_node_str(lo_graph_node(g, "b"), "label"), "$goal stays in labels");
    assert_string_equal(lo_node_str(lo_graph_node(g, "c"), "prompt"), "Ship the feature");
    assert_string_equal(lo_node_str(lo_graph_node(g, "d"), "prompt"),
                        "Ship the features and $go");
    assert_int_equal(lo_graph_node(g, "a")->attrs.n, 1);
    lo_graph_free(g);
    /* no goal: $goal expands to nothing */
    g = parse_ok("digraph T { a [prompt=\"x $goal y\"] }");
    assert_int_equal(lo_transform_expand_goal(g, NULL, &err), 0);
    assert_string_equal(lo_node_str(lo_graph_node(g, "a"), "prompt"), "x  y");
    lo_graph_free(g);
}

static void test_transforms_stylesheet(void **state)
{
    (void)state;
    lo_graph *g = parse_ok("digraph T {\n"
                           "  model_stylesheet=\"* { llm_model: base; } .code { llm_model: coder; }"
                           " #w3 { reasoning_effort: low; }\"\n"
                           "  w1 [class=\"code\", prompt=\"x\"]\n"
                           "  w2 [class=\"code\", llm_model=explicit, prompt=\"x\"]\n"
                           "  w3 [prompt=\"x\", reasoning_effort=medium]\n"
                           "  w4 [prompt=\"x\"]\n"
                           "}\n");
    lo_transforms *t = lo_transforms_new();
    assert_non_null(t);
    lo_error err = {0};
    assert_int_equal(lo_transforms_apply(t, g, &err), 0);
    assert_string_equal(lo_node_str(lo_graph_node(g, "w1"), "llm_model"), "coder");
    assert_string_equal(lo_node_str(lo_graph_node(g, "w2"), "llm_model"), "explicit");
    assert_string_equal(lo_node_str(lo_graph_node(g, "w3"), "llm_model"), "base");
    assert_string_equal(lo_node_str(lo_graph_node(g, "w4"), "llm_model"), "base");
    /* explicit attributes win over the stylesheet, even an ID selector */
    assert_string_equal(lo_node_str(lo_graph_node(g, "w3"), "reasoning_effort"), "medium");
    assert_null(lo_attrs_get(&lo_graph_node(g, "w1")->attrs, "reasoning_effort"));
    lo_graph_free(g);
    /* a stylesheet that does not parse is left to the lint rule */
    g = parse_ok("digraph T { model_stylesheet=\"* { nope: x; }\" w [prompt=\"x\"] }");
    memset(&err, 0, sizeof err);
    assert_int_equal(lo_transforms_apply(t, g, &err), 0);
    assert_int_equal(err.code, 0);
    assert_null(lo_attrs_get(&lo_graph_node(g, "w")->attrs, "llm_model"));
    lo_graph_free(g);
    lo_transforms_free(t);
}

typedef struct order_log {
    char calls[8][8];
    int n;
} order_log;

typedef struct recorder {
    order_log *log;
    const char *name;
    int rc;
} recorder;

static int record_transform(lo_graph *g, void *ud, lo_error *err)
{
    (void)err;
    recorder *r = ud;
    /* the built-ins have already run */
    lo_node *w = lo_graph_node(g, "w");
    assert_string_equal(lo_node_str(w, "prompt"), "Build G");
    assert_string_equal(lo_node_str(w, "llm_model"), "styled");
    snprintf(r->log->calls[r->log->n++], 8, "%s", r->name);
    if (r->rc == 0 && strcmp(r->name, "A") == 0)
        return lo_attrs_set(g, &w->attrs, "label", LO_VAL_STRING, "set by A", LO_NOPOS);
    return r->rc;
}

static void test_custom_transforms_order(void **state)
{
    (void)state;
    static const char src[] = "digraph T {\n"
                              "  goal=G\n"
                              "  model_stylesheet=\"* { llm_model: styled; }\"\n"
                              "  w [prompt=\"Build $goal\"]\n"
                              "}\n";
    order_log log = {0};
    recorder a = {&log, "A", 0}, b = {&log, "B", 0}, c = {&log, "C", LO_EINVAL},
             dd = {&log, "D", 0};
    lo_transforms *t = lo_transforms_new();
    assert_non_null(t);
    assert_int_equal(lo_transforms_register(t, "B", record_transform, &b), 0);
    assert_int_equal(lo_transforms_register(t, "A", record_transform, &a), 0);
    lo_graph *g = parse_ok(src);
    lo_error err = {0};
    assert_int_equal(lo_transforms_apply(t, g, &err), 0);
    assert_int_equal(log.n, 2);
    assert_string_equal(log.calls[0], "B");
    assert_string_equal(log.calls[1], "A");
    const lo_attr *label = lo_attrs_get(&lo_graph_node(g, "w")->attrs, "label");
    assert_non_null(label);
    assert_string_equal(label->value.text, "set by A");
    assert_int_equal(label->off, LO_NOPOS);
    lo_pos p = lo_graph_pos(g, label->off);
    assert_int_equal(p.line, 0);
    assert_int_equal(p.col, 0);
    lo_graph_free(g);
    /* a failing transform stops the list and is named */
    assert_int_equal(lo_transforms_register(t, "C", record_transform, &c), 0);
    assert_int_equal(lo_transforms_register(t, "D", record_transform, &dd), 0);
    log.n = 0;
    g = parse_ok(src);
    memset(&err, 0, sizeof err);
    assert_int_equal(lo_transforms_apply(t, g, &err), LO_EINVAL);
    assert_int_equal(log.n, 3);
    assert_string_equal(log.calls[2], "C");
    assert_int_equal(err.code, LO_EINVAL);
    assert_string_equal(err.msg, "transform C failed");
    lo_graph_free(g);
    lo_transforms_free(t);
}

/* ---- scale ---- */

static void test_linear_smoke(void **state)
{
    (void)state;
    /* 20,000 nodes, 40,000 edges: a chain, every stage also to exit, and
     * two skips */
    enum { N = 20000 };
    lo_buf b;
    lo_buf_init(&b, 0);
    assert_int_equal(lo_buf_puts(&b, "digraph Big {\n"
                                     "  node [prompt=\"step\"]\n"
                                     "  start [shape=Mdiamond]\n"
                                     "  exit [shape=Msquare]\n"
                                     "  start -> n1\n"), 0);
    for (int i = 1; i < N - 2; i++)
        assert_int_equal(lo_buf_printf(&b, "  n%d -> n%d\n"
                                           "  n%d -> exit [condition=\"outcome=fail\"]\n",
                                       i, i + 1, i), 0);
    assert_int_equal(lo_buf_printf(&b, "  n%d -> exit\n  n%d -> exit [condition=\"outcome=fail\"]\n"
                                       "  start -> exit [condition=\"outcome=fail\"]\n"
                                       "  n1 -> n3 [weight=1]\n  n2 -> n4 [weight=1]\n}\n",
                                   N - 2, N - 2), 0);
    lo_error err = {0};
    lo_graph *g = lo_graph_parse(b.data, b.len, "big.dot", &err);
    lo_buf_release(&b);
    assert_non_null(g);
    assert_int_equal(g->n_nodes, N);
    assert_int_equal(g->n_edges, 2 * N);
    lo_diags *d = validate(g);
    if (d->n) {
        dump(d);
        fail_msg("%zu diagnostics", d->n);
    }
    assert_int_equal(lo_diags_count(d, LO_SEV_ERROR), 0);
    lo_diags_free(d);
    lo_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule_table),
        cmocka_unit_test(test_start_node),
        cmocka_unit_test(test_terminal_node),
        cmocka_unit_test(test_reachability),
        cmocka_unit_test(test_edge_target_exists),
        cmocka_unit_test(test_edge_target_missing_to),
        cmocka_unit_test(test_start_no_incoming),
        cmocka_unit_test(test_exit_no_outgoing),
        cmocka_unit_test(test_condition_syntax),
        cmocka_unit_test(test_condition_syntax_escaped_column),
        cmocka_unit_test(test_stylesheet_syntax),
        cmocka_unit_test(test_stylesheet_syntax_escaped_column),
        cmocka_unit_test(test_type_known),
        cmocka_unit_test(test_fidelity_valid),
        cmocka_unit_test(test_retry_target_exists),
        cmocka_unit_test(test_goal_gate_has_retry),
        cmocka_unit_test(test_prompt_on_llm_nodes),
        cmocka_unit_test(test_unknown_attribute),
        cmocka_unit_test(test_wrong_scope_message_grammar),
        cmocka_unit_test(test_unknown_shape),
        cmocka_unit_test(test_attribute_type),
        cmocka_unit_test(test_condition_outcome_value),
        cmocka_unit_test(test_condition_outcome_value_ne_message),
        cmocka_unit_test(test_condition_never_true),
        cmocka_unit_test(test_dead_end),
        cmocka_unit_test(test_handler_attributes),
        cmocka_unit_test(test_spec_examples),
        cmocka_unit_test(test_validate_or_raise),
        cmocka_unit_test(test_custom_rule),
        cmocka_unit_test(test_sorted),
        cmocka_unit_test(test_diag_format),
        cmocka_unit_test(test_expand_goal),
        cmocka_unit_test(test_transforms_stylesheet),
        cmocka_unit_test(test_custom_transforms_order),
        cmocka_unit_test(test_linear_smoke),
    };
    return cmocka_run_group_tests_name("lint", tests, NULL, NULL);
}
