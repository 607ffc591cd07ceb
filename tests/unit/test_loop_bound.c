/* Unit tests for the loop bounds of the engine (max_visits on a node,
 * max_steps on the graph; src/pipeline/engine.c), run through the real
 * engine with tool stages whose commands fail or count in files. A test
 * handler registered as "codergen" counts its calls and can cancel the run,
 * to check that a resumed run keeps counting where it stopped. */
#include <limits.h>
#include <unistd.h>

#include "testutil.h"

#include "lightsout/engine.h"

static char tmpdir[256];
static int run_no;

typedef struct run_out {
    lo_run_result res;
    char logs[PATH_MAX];
    json_t *cp;      /* the final checkpoint */
    char *events;    /* events.jsonl */
} run_out;

static void release(run_out *ro)
{
    json_decref(ro->cp);
    free(ro->events);
    memset(ro, 0, sizeof *ro);
}

/* calls of the counting handler, and the one that cancels the run */
static int calls, cancel_at;
static lo_engine *current;

static int counting(lo_stage *st, lo_outcome *out, void *ud, lo_error *err)
{
    (void)st, (void)ud, (void)err;
    calls++;
    if (cancel_at && calls == cancel_at)
        lo_engine_cancel(current);
    out->status = LO_SUCCESS;
    return 0;
}

static void run_in(const char *dot, const char *logs, bool resume, run_out *ro)
{
    lo_error err = {0};
    lo_graph *g = lo_graph_parse(dot, strlen(dot), "t.dot", &err);
    if (!g)
        fail_msg("parse: %s", err.msg);
    lo_engine_config cfg = {.logs_root = logs, .workdir = tmpdir, .no_fsync = true};
    lo_engine *e = lo_engine_new(g, &cfg, &err);
    assert_non_null(e);
    assert_int_equal(lo_engine_register(e, "codergen", counting, NULL), 0);
    current = e;
    assert_int_equal(lo_engine_run(e, resume, &ro->res, &err), 0);
    current = NULL;
    lo_engine_free(e);
    lo_graph_free(g);
    snprintf(ro->logs, sizeof ro->logs, "%s", logs);
    ro->cp = lo_checkpoint_read(logs, &err);
    assert_non_null(ro->cp);
    char path[PATH_MAX];
    size_t len;
    snprintf(path, sizeof path, "%s/events.jsonl", logs);
    assert_int_equal(lo_file_read(path, 0, &ro->events, &len, NULL), 0);
}

static void run_dot(const char *dot, run_out *ro)
{
    char logs[PATH_MAX];
    snprintf(logs, sizeof logs, "%s/run-%d", tmpdir, ++run_no);
    run_in(dot, logs, false, ro);
}

static json_int_t visits(const run_out *ro, const char *node)
{
    return json_integer_value(json_object_get(json_object_get(ro->cp, "node_visits"), node));
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!hay || !strstr(hay, needle))
        fail_msg("\"%s\" not found in:\n%s", needle, hay ? hay : "(null)");
}

/* work -> check, and back to work while check fails */
#define LOOP_DOT(graph_attrs, work_attrs, check_cmd)                               \
    "digraph t {\n"                                                                \
    "  graph [" graph_attrs "]\n"                                                  \
    "  start [shape=Mdiamond]\n  done [shape=Msquare]\n"                           \
    "  work [shape=parallelogram, tool_command=\"echo x >> visits.txt\"" work_attrs "]\n" \
    "  check [shape=parallelogram, tool_command=\"" check_cmd "\"]\n"             \
    "  start -> work -> check\n"                                                   \
    "  check -> done [condition=\"outcome=success\"]\n"                            \
    "  check -> work [condition=\"outcome=fail\"]\n"                               \
    "}\n"

static int lines_in(const char *name)
{
    char path[PATH_MAX], *data = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    if (lo_file_read(path, 0, &data, &len, NULL))
        return 0;
    int n = 0;
    for (size_t i = 0; i < len; i++)
        n += data[i] == '\n';
    free(data);
    return n;
}

static void reset_file(const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    unlink(path);
}

static void test_max_visits_stops_a_loop(void **state)
{
    (void)state;
    reset_file("visits.txt");
    run_out ro;
    run_dot(LOOP_DOT("goal=\"x\"", ", max_visits=3", "false"), &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_false(ro.res.interrupted);
    assert_string_equal(ro.res.failure_reason, "node 'work' visited 3 times (max_visits=3)");
    assert_int_equal(lines_in("visits.txt"), 3); /* the fourth entry never ran */
    assert_int_equal(visits(&ro, "work"), 3);
    assert_int_equal(visits(&ro, "check"), 3);
    assert_string_equal(json_string_value(json_object_get(ro.cp, "state")), "failed");
    assert_int_equal(json_integer_value(json_object_get(ro.cp, "steps")), 7);
    assert_contains(ro.events, "\"type\":\"loop_bound_reached\",\"run_id\"");
    assert_contains(ro.events, "\"bound\":\"max_visits\"");
    assert_contains(ro.events, "\"error\":\"node 'work' visited 3 times (max_visits=3)\"");
    release(&ro);
}

static void test_last_allowed_visit_can_pass(void **state)
{
    (void)state;
    /* check passes once work has run three times: exactly the bound */
    reset_file("visits.txt");
    run_out ro;
    run_dot(LOOP_DOT("goal=\"x\"", ", max_visits=3",
                     "test $(wc -l < visits.txt) -ge 3"), &ro);
    assert_int_equal(ro.res.status, LO_SUCCESS);
    assert_int_equal(lines_in("visits.txt"), 3);
    assert_null(strstr(ro.events, "loop_bound_reached"));
    release(&ro);
    /* and without a bound a loop runs as long as it needs */
    reset_file("visits.txt");
    run_dot(LOOP_DOT("goal=\"x\"", "", "test $(wc -l < visits.txt) -ge 12"), &ro);
    assert_int_equal(ro.res.status, LO_SUCCESS);
    assert_int_equal(lines_in("visits.txt"), 12);
    release(&ro);
}

static void test_max_steps(void **state)
{
    (void)state;
    reset_file("visits.txt");
    run_out ro;
    run_dot(LOOP_DOT("max_steps=6", "", "false"), &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    /* start, work, check, work, check, work: six stages, then check is refused */
    assert_string_equal(ro.res.failure_reason,
                        "the run completed 6 stages (max_steps=6) and is not at the exit; "
                        "node 'check' would be the next");
    assert_int_equal(lines_in("visits.txt"), 3);
    assert_int_equal(json_integer_value(json_object_get(ro.cp, "steps")), 6);
    assert_contains(ro.events, "\"bound\":\"max_steps\"");
    release(&ro);
    /* the exit is never refused: six stages then the exit is a success */
    reset_file("visits.txt");
    run_dot("digraph t { graph [max_steps=3]; start [shape=Mdiamond]; done [shape=Msquare];"
            " a [shape=parallelogram, tool_command=\"true\"];"
            " b [shape=parallelogram, tool_command=\"true\"]; start -> a -> b -> done }", &ro);
    assert_int_equal(ro.res.status, LO_SUCCESS);
    release(&ro);
}

static void test_retries_are_one_visit(void **state)
{
    (void)state;
    /* work fails twice and passes on its third attempt: one visit */
    reset_file("tries.txt");
    run_out ro;
    run_dot("digraph t { start [shape=Mdiamond]; done [shape=Msquare];"
            " work [shape=parallelogram, max_visits=1, max_retries=2, retry_initial_delay=\"1ms\","
            "       tool_command=\"echo x >> tries.txt; test $(wc -l < tries.txt) -ge 3\"];"
            " start -> work -> done }", &ro);
    assert_int_equal(ro.res.status, LO_SUCCESS);
    assert_int_equal(lines_in("tries.txt"), 3);
    assert_int_equal(visits(&ro, "work"), 1);
    release(&ro);
}

static void test_resume_keeps_counting(void **state)
{
    (void)state;
    static const char dot[] =
        "digraph t { start [shape=Mdiamond]; done [shape=Msquare];"
        " work [prompt=\"p\", max_visits=3];"
        " check [shape=parallelogram, tool_command=\"false\"];"
        " start -> work -> check;"
        " check -> done [condition=\"outcome=success\"];"
        " check -> work [condition=\"outcome=fail\"] }";
    char logs[PATH_MAX];
    snprintf(logs, sizeof logs, "%s/resume-%d", tmpdir, ++run_no);
    calls = 0;
    cancel_at = 2; /* the second visit of work is interrupted */
    run_out ro;
    run_in(dot, logs, false, &ro);
    assert_true(ro.res.interrupted);
    assert_int_equal(visits(&ro, "work"), 1);
    release(&ro);
    cancel_at = 0;
    run_in(dot, logs, true, &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_string_equal(ro.res.failure_reason, "node 'work' visited 3 times (max_visits=3)");
    /* 1 before the cancel, the interrupted one, then visits 2 and 3 */
    assert_int_equal(calls, 4);
    assert_int_equal(visits(&ro, "work"), 3);
    release(&ro);
}

static void test_bounds_in_the_attribute_table(void **state)
{
    (void)state;
    const lo_attr_spec *v = lo_attr_spec_find("max_visits", LO_SCOPE_NODE);
    const lo_attr_spec *s = lo_attr_spec_find("max_steps", LO_SCOPE_GRAPH);
    assert_non_null(v);
    assert_non_null(s);
    assert_int_equal(v->type, LO_T_INT);
    assert_int_equal(s->type, LO_T_INT);
    assert_null(lo_attr_spec_find("max_steps", LO_SCOPE_NODE));
}


int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lo_bound_XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_max_visits_stops_a_loop),
        cmocka_unit_test(test_last_allowed_visit_can_pass),
        cmocka_unit_test(test_max_steps),
        cmocka_unit_test(test_retries_are_one_visit),
        cmocka_unit_test(test_resume_keeps_counting),
        cmocka_unit_test(test_bounds_in_the_attribute_table),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    lo_test_rm_rf(tmpdir);
    return rc;
}
