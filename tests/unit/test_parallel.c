/* Unit tests for the parallel and parallel.fan_in handlers
 * (src/pipeline/handlers/parallel.c, fan_in.c) and the engine's jump to a
 * parallel node's join, driving the real engine on parsed pipelines with
 * the sim backend and a few test handlers. */
#include "testutil.h"

#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lightsout/engine.h"
#include "lightsout/graph.h"

static char tmpdir[64];

/* What the test handlers saw, shared by the branch threads. */
typedef struct probe {
    atomic_int running, max_running, calls, leaks;
} probe;

static probe pr;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* ---- test handlers ---- */

/* sleepy: 200 ms, counting how many run at once */
static int h_sleepy(lo_stage *st, lo_outcome *out, void *ud, lo_error *err)
{
    probe *p = ud;
    int now = atomic_fetch_add(&p->running, 1) + 1;
    int seen = atomic_load(&p->max_running);
    while (now > seen && !atomic_compare_exchange_weak(&p->max_running, &seen, now))
        ;
    atomic_fetch_add(&p->calls, 1);
    nap_ms(200);
    atomic_fetch_sub(&p->running, 1);
    return 0;
}

/* scored: the status named by the node's `status` attribute (default
 * success) and a context update "score" from its `score` attribute */
static int h_scored(lo_stage *st, lo_outcome *out, void *ud, lo_error *err)
{
    const char *s = lo_node_str(st->node, "status");
    lo_status status = LO_SUCCESS;
    if (*s && lo_status_parse(s, &status) != 0)
        return lo_error_set(err, LO_EINVAL, "bad status '%s'", s);
    out->status = status;
    if (status == LO_FAIL)
        lo_outcome_set_failure(out, "%s was told to fail", st->node->id);
    double score;
    if (lo_parse_double(lo_node_str(st->node, "score"), &score) == 0)
        lo_outcome_update(out, "score", json_real(score));
    char resp[128];
    snprintf(resp, sizeof resp, "output of %s", st->node->id);
    lo_outcome_update_str(out, "last_response", resp);
    return 0;
}

/* setter: "iso.<id>" and "shared" = its id, in its branch's context */
static int h_setter(lo_stage *st, lo_outcome *out, void *ud, lo_error *err)
{
    char key[128];
    snprintf(key, sizeof key, "iso.%s", st->node->id);
    lo_outcome_update(out, key, json_true());
    lo_outcome_update_str(out, "shared", st->node->id);
    nap_ms(20);
    return 0;
}

/* checker (id = its setter's id + "2"): waits until every setter has run,
 * then counts what of the other branches it can see */
static int h_checker(lo_stage *st, lo_outcome *out, void *ud, lo_error *err)
{
    probe *p = ud;
    nap_ms(150);
    json_t *snap = lo_context_snapshot(st->context);
    int iso = 0;
    const char *k;
    json_t *v;
    json_object_foreach(snap, k, v)
        iso += strncmp(k, "iso.", 4) == 0;
    char mine[128];
    snprintf(mine, sizeof mine, "%.*s", (int)strlen(st->node->id) - 1, st->node->id);
    const char *shared = json_string_value(json_object_get(snap, "shared"));
    if (iso != 1 || !shared || strcmp(shared, mine) != 0)
        atomic_fetch_add(&p->leaks, 1);
    json_decref(snap);
    return 0;
}

/* ---- running a pipeline ---- */

typedef struct run_out {
    lo_run_result res;
    json_t *cp;     /* checkpoint.json */
    json_t *events; /* events.jsonl, as an array */
    int64_t ms;     /* wall time of lo_engine_run */
    char logs[256];
} run_out;

static void run_out_release(run_out *ro)
{
    json_decref(ro->cp);
    json_decref(ro->events);
}

static json_t *load_events(const char *logs)
{
    char path[400];
    snprintf(path, sizeof path, "%s/events.jsonl", logs);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    json_t *arr = json_array();
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_error_t je;
        json_t *ev = json_loads(line, 0, &je);
        if (!ev)
            fail_msg("events.jsonl: %s in: %s", je.text, line);
        json_array_append_new(arr, ev);
    }
    free(line);
    fclose(f);
    return arr;
}

/* Run src with logs under tmpdir/sub; backend NULL = sim. */
static void run_dot_in(const char *sub, const char *src, const json_t *initial,
                       lo_backend *backend, run_out *ro)
{
    memset(ro, 0, sizeof *ro);
    snprintf(ro->logs, sizeof ro->logs, "%s/%s", tmpdir, sub);
    lo_error err;
    lo_error_clear(&err);
    lo_graph *g = lo_graph_parse(src, strlen(src), "<test>", &err);
    if (!g)
        fail_msg("parse: %s", err.msg);
    lo_engine_config cfg = {.logs_root = ro->logs, .backend = backend,
                            .initial_context = initial};
    lo_engine *e = lo_engine_new(g, &cfg, &err);
    assert_non_null(e);
    assert_int_equal(lo_engine_register(e, "sleepy", h_sleepy, &pr), 0);
    assert_int_equal(lo_engine_register(e, "scored", h_scored, &pr), 0);
    assert_int_equal(lo_engine_register(e, "setter", h_setter, &pr), 0);
    assert_int_equal(lo_engine_register(e, "checker", h_checker, &pr), 0);
    int64_t t0 = mono_ms();
    int rc = lo_engine_run(e, false, &ro->res, &err);
    ro->ms = mono_ms() - t0;
    if (rc)
        fail_msg("lo_engine_run: %s", err.msg);
    lo_engine_free(e);
    lo_graph_free(g);
    char path[400];
    snprintf(path, sizeof path, "%s/checkpoint.json", ro->logs);
    json_error_t je;
    ro->cp = json_load_file(path, 0, &je);
    if (!ro->cp)
        fail_msg("%s: %s", path, je.text);
    ro->events = load_events(ro->logs);
}

static void run_dot(const char *src, run_out *ro)
{
    run_dot_in("run", src, NULL, NULL, ro);
}

static json_t *ctx(const run_out *ro, const char *key)
{
    return json_object_get(json_object_get(ro->cp, "context"), key);
}

static const char *ctx_str(const run_out *ro, const char *key)
{
    const char *s = json_string_value(ctx(ro, key));
    if (!s)
        fail_msg("context key '%s' is missing or not a string", key);
    return s;
}

static const char *node_outcome(const run_out *ro, const char *id)
{
    return json_string_value(json_object_get(json_object_get(ro->cp, "node_outcomes"), id));
}

/* The result object for branch id in parallel.results. */
static json_t *result_of(const run_out *ro, const char *id)
{
    size_t i;
    json_t *r;
    json_array_foreach(ctx(ro, "parallel.results"), i, r)
        if (strcmp(json_string_value(json_object_get(r, "id")), id) == 0)
            return r;
    fail_msg("no result for branch '%s'", id);
    return NULL;
}

static const char *result_outcome(const run_out *ro, const char *id)
{
    return json_string_value(json_object_get(result_of(ro, id), "outcome"));
}

/* seq of the first event of type whose field key equals val (key NULL:
 * any); -1 when none */
static json_int_t seq_of(const run_out *ro, const char *type, const char *key, const char *val)
{
    size_t i;
    json_t *ev;
    json_array_foreach(ro->events, i, ev) {
        if (strcmp(json_string_value(json_object_get(ev, "type")), type) != 0)
            continue;
        if (key && !lo_str_eq(json_string_value(json_object_get(ev, key)), val))
            continue;
        return json_integer_value(json_object_get(ev, "seq"));
    }
    return -1;
}

static size_t count_events(const run_out *ro, const char *type)
{
    size_t i, n = 0;
    json_t *ev;
    json_array_foreach(ro->events, i, ev)
        n += strcmp(json_string_value(json_object_get(ev, "type")), type) == 0;
    return n;
}

static bool stage_exists(const run_out *ro, const char *id, const char *file)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s%s%s", ro->logs, id, file ? "/" : "", file ? file : "");
    struct stat sb;
    return stat(path, &sb) == 0;
}

static bool completed_has(const run_out *ro, const char *id)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(ro->cp, "completed_nodes"), i, v)
        if (strcmp(json_string_value(v), id) == 0)
            return true;
    return false;
}

/* A pipeline: start -> fan (parallel, attrs) -> each branch -> join
 * (fan-in) -> exit; branches are "id [attrs]" statements. */
static char *fan_pipeline(const char *fan_attrs, const char *const *branches, size_t n,
                          const char *join_attrs)
{
    lo_buf b;
    lo_buf_init(&b, 0);
    lo_buf_printf(&b, "digraph T {\n  start [shape=Mdiamond]\n  exit [shape=Msquare]\n"
                  "  fan [shape=component%s%s]\n  join [shape=tripleoctagon%s%s]\n"
                  "  start -> fan\n  join -> exit\n",
                  *fan_attrs ? ", " : "", fan_attrs, *join_attrs ? ", " : "", join_attrs);
    for (size_t i = 0; i < n; i++) {
        char id[64];
        sscanf(branches[i], "%63[A-Za-z0-9_]", id);
        lo_buf_printf(&b, "  %s\n  fan -> %s\n  %s -> join\n", branches[i], id, id);
    }
    lo_buf_puts(&b, "}\n");
    return lo_buf_steal(&b);
}

static int setup(void **state)
{
    atomic_store(&pr.running, 0);
    atomic_store(&pr.max_running, 0);
    atomic_store(&pr.calls, 0);
    atomic_store(&pr.leaks, 0);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lo-test-parallel-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- fan-out, fan-in ---- */

static void test_fan_out_fan_in(void **state)
{
    static const char src[] =
        "digraph P {\n"
        "  graph [goal=\"g\"]\n"
        "  start [shape=Mdiamond]\n  exit [shape=Msquare]\n"
        "  fan [shape=component]\n"
        "  a [prompt=\"A\"]\n  b [prompt=\"B\"]\n  c [prompt=\"C\"]\n"
        "  join [shape=tripleoctagon]\n"
        "  after [prompt=\"use $goal\"]\n"
        "  start -> fan\n  fan -> a\n  fan -> b\n  fan -> c\n"
        "  a -> join\n  b -> join\n  c -> join\n  join -> after -> exit\n"
        "}\n";
    run_out ro;
    run_dot(src, &ro);
    assert_int_equal(ro.res.status, LO_SUCCESS);
    assert_string_equal(json_string_value(json_object_get(ro.cp, "state")), "completed");

    /* the top-level traversal: branches ran inside fan, not after it */
    static const char *const top[] = {"start", "fan", "join", "after", "exit"};
    json_t *done = json_object_get(ro.cp, "completed_nodes");
    assert_int_equal(json_array_size(done), 5);
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(json_string_value(json_array_get(done, i)), top[i]);

    /* results in the context */
    json_t *results = ctx(&ro, "parallel.results");
    assert_true(json_is_array(results));
    assert_int_equal(json_array_size(results), 3);
    static const char *const ids[] = {"a", "b", "c"};
    for (size_t i = 0; i < 3; i++) {
        json_t *r = json_array_get(results, i);
        assert_string_equal(json_string_value(json_object_get(r, "id")), ids[i]);
        assert_string_equal(json_string_value(json_object_get(r, "outcome")), "success");
        char want[64];
        snprintf(want, sizeof want, "[Simulated] Response for stage: %s", ids[i]);
        assert_string_equal(json_string_value(json_object_get(r, "last_response")), want);
        json_t *c = json_object_get(r, "context");
        assert_true(json_is_object(c));
        assert_string_equal(json_string_value(json_object_get(c, "last_stage")), ids[i]);
        /* only what changed: the goal did not */
        assert_null(json_object_get(c, "graph.goal"));
        assert_true(stage_exists(&ro, ids[i], "status.json"));
        assert_true(stage_exists(&ro, ids[i], "response.md"));
    }
    assert_int_equal(json_integer_value(ctx(&ro, "parallel.success_count")), 3);
    assert_int_equal(json_integer_value(ctx(&ro, "parallel.failure_count")), 0);
    assert_string_equal(ctx_str(&ro, "parallel.join"), "join");
    assert_true(stage_exists(&ro, "fan", "parallel.json"));

    /* the fan-in's choice: all succeeded with no score, so the first id */
    assert_string_equal(ctx_str(&ro, "parallel.fan_in.best_id"), "a");
    assert_string_equal(ctx_str(&ro, "parallel.fan_in.best_outcome"), "success");
    assert_string_equal(ctx_str(&ro, "parallel.fan_in.method"), "heuristic");
    json_t *outputs = ctx(&ro, "parallel.fan_in.outputs");
    assert_int_equal(json_object_size(outputs), 3);
    assert_string_equal(json_string_value(json_object_get(outputs, "b")),
                        "[Simulated] Response for stage: b");
    assert_true(stage_exists(&ro, "join", "fan_in.md"));

    /* events, in order */
    json_int_t started = seq_of(&ro, "parallel_started", "node", "fan");
    json_int_t completed = seq_of(&ro, "parallel_completed", "node", "fan");
    json_int_t jump = seq_of(&ro, "edge_selected", "from", "fan");
    json_int_t fan_in = seq_of(&ro, "stage_started", "node", "join");
    assert_true(started > 0);
    for (size_t i = 0; i < 3; i++) {
        json_int_t bs = seq_of(&ro, "parallel_branch_started", "branch", ids[i]);
        json_int_t ss = seq_of(&ro, "stage_started", "node", ids[i]);
        json_int_t sc = seq_of(&ro, "stage_completed", "node", ids[i]);
        json_int_t bc = seq_of(&ro, "parallel_branch_completed", "branch", ids[i]);
        if (!(started < bs && bs < ss && ss < sc && sc < bc && bc < completed))
            fail_msg("branch %s: events out of order: %lld %lld %lld %lld %lld %lld", ids[i],
                     (long long)started, (long long)bs, (long long)ss, (long long)sc,
                     (long long)bc, (long long)completed);
    }
    assert_true(completed < jump && jump < fan_in);
    assert_int_equal(count_events(&ro, "parallel_branch_started"), 3);
    assert_int_equal(count_events(&ro, "parallel_branch_completed"), 3);
    size_t i;
    json_t *ev;
    json_array_foreach(ro.events, i, ev) {
        const char *type = json_string_value(json_object_get(ev, "type"));
        if (strcmp(type, "edge_selected") == 0 &&
            lo_str_eq(json_string_value(json_object_get(ev, "from")), "fan")) {
            assert_string_equal(json_string_value(json_object_get(ev, "to")), "join");
            assert_string_equal(json_string_value(json_object_get(ev, "reason")),
                                "parallel_join");
        }
        if (strcmp(type, "parallel_completed") == 0) {
            assert_int_equal(json_integer_value(json_object_get(ev, "success_count")), 3);
            assert_int_equal(json_integer_value(json_object_get(ev, "failure_count")), 0);
            assert_true(json_is_integer(json_object_get(ev, "duration_ms")));
        }
        if (strcmp(type, "parallel_branch_completed") == 0) {
            assert_string_equal(json_string_value(json_object_get(ev, "status")), "success");
            assert_true(json_is_integer(json_object_get(ev, "index")));
        }
        if (strcmp(type, "parallel_started") == 0)
            assert_int_equal(json_integer_value(json_object_get(ev, "branches")), 3);
    }
    run_out_release(&ro);
}

/* ---- concurrency ---- */

static char *sleepy_pipeline(int n, int max_parallel)
{
    char fan[64];
    snprintf(fan, sizeof fan, "max_parallel=%d", max_parallel);
    char names[16][32];
    const char *br[16];
    for (int i = 0; i < n; i++) {
        snprintf(names[i], sizeof names[i], "s%d [type=sleepy]", i);
        br[i] = names[i];
    }
    return fan_pipeline(fan, br, (size_t)n, "");
}

static void test_sixteen_at_once(void **state)
{
    char *src = sleepy_pipeline(16, 16);
    run_out ro;
    run_dot(src, &ro);
    free(src);
    assert_int_equal(ro.res.status, LO_SUCCESS);
    assert_int_equal(atomic_load(&pr.calls), 16);
    /* serial would be 3.2 s; the ideal is 0.2 s */
    if (ro.ms >= 1600)
        fail_msg("16 branches of 200 ms with max_parallel=16 took %lld ms", (long long)ro.ms);
    print_message("# 16 branches of 200 ms, max_parallel=16: %lld ms, %d at once at most\n",
                  (long long)ro.ms, atomic_load(&pr.max_running));
    assert_true(atomic_load(&pr.max_running) > 1);
    assert_true(atomic_load(&pr.max_running) <= 16);
    assert_int_equal(json_integer_value(ctx(&ro, "parallel.success_count")), 16);
    run_out_release(&ro);
}

static void test_max_parallel_bounds(void **state)
{
    char *src = sleepy_pipeline(4, 2);
    run_out ro;
    run_dot(src, &ro);
    free(src);
    assert_int_equal(ro.res.status, LO_SUCCESS);
    assert_int_equal(atomic_load(&pr.calls), 4);
    if (ro.ms < 400)
        fail_msg("4 branches of 200 ms, 2 at a time, took only %lld ms", (long long)ro.ms);
    print_message("# 4 branches of 200 ms, max_parallel=2: %lld ms, %d at once at most\n",
                  (long long)ro.ms, atomic_load(&pr.max_running));
    assert_true(atomic_load(&pr.max_running) <= 2);
    run_out_release(&ro);
}

static void test_max_parallel_default_four(void **state)
{
    char *src = sleepy_pipeline(8, 4);
    /* drop the attribute: the default is 4 */
    char *p = strstr(src, ", max_parallel=4");
    assert_non_null(p);
    memmove(p, p + strlen(", max_parallel=4"), strlen(p + strlen(", max_parallel=4")) + 1);
    run_out ro;
    run_dot(src, &ro);
    free(src);
    assert_int_equal(ro.res.status, LO_SUCCESS);
    assert_true(atomic_load(&pr.max_running) <= 4);
    assert_true(ro.ms >= 400); /* 8 branches, 4 at a time: two rounds at least */
    run_out_release(&ro);
}

/* ---- join and error policies ---- */

static void test_wait_all_partial(void **state)
{
    static const char *const br[] = {"a [type=scored]", "b [type=scored, status=fail]",
                                     "c [prompt=\"C\"]"};
    char *src = fan_pipeline("", br, 3, "");
    run_out ro;
    run_dot(src, &ro);
    free(src);
    assert_string_equal(node_outcome(&ro, "fan"), "partial_success");
    assert_int_equal(ro.res.status, LO_PARTIAL_SUCCESS);
    assert_int_equal(json_integer_value(ctx(&ro, "parallel.success_count")), 2);
    assert_int_equal(json_integer_value(ctx(&ro, "parallel.failure_count")), 1);
    assert_string_equal(result_outcome(&ro, "b"), "fail");
    assert_string_equal(json_string_value(json_object_get(result_of(&ro, "b"), "failure_reason")),
                        "b was told to fail");
    /* the fan-in ran and took a success */
    assert_string_equal(node_outcome(&ro, "join"), "success");
    assert_string_equal(ctx_str(&ro, "parallel.fan_in.best_outcome"), "success");
    assert_string_equal(ctx_str(&ro, "parallel.fan_in.best_id"), "a");
    run_out_release(&ro);
}

static void test_all_fail(void **state)
{
    static const char *const br[] = {"a [type=scored, status=fail]",
                                     "b [type=scored, status=fail]"};
    char *src = fan_pipeline("", br, 2, "");
    run_out ro;
    run_dot(src, &ro);
    free(src);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_string_equal(node_outcome(&ro, "fan"), "fail");
    assert_non_null(strstr(ro.res.failure_reason, "all 2 branches failed"));
    /* a failed parallel does not go on to its fan-in */
    assert_false(stage_exists(&ro, "join", NULL));
    assert_int_equal(json_integer_value(ctx(&ro, "parallel.failure_count")), 2);
    run_out_release(&ro);
}

static void test_fail_fast(void **state)
{
    static const char *const br[] = {"f [type=scored, status=fail]", "a [type=scored]",
                                     "b [type=scored]"};
    char *src = fan_pipeline("max_parallel=1, error_policy=fail_fast", br, 3, "");
    run_out ro;
    run_dot(src, &ro);
    free(src);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_string_equal(node_outcome(&ro, "fan"), "fail");
    assert_non_null(strstr(ro.res.failure_reason, "fail_fast"));
    assert_string_equal(result_outcome(&ro, "f"), "fail");
    assert_string_equal(result_outcome(&ro, "a"), "skipped");
    assert_string_equal(result_outcome(&ro, "b"), "skipped");
    assert_false(stage_exists(&ro, "a", NULL));
    assert_false(stage_exists(&ro, "b", NULL));
    assert_int_equal(count_events(&ro, "parallel_branch_started"), 1);
    assert_int_equal(count_events(&ro, "parallel_branch_skipped"), 2);
    run_out_release(&ro);
}

static void test_continue_runs_all_after_failure(void **state)
{
    static const char *const br[] = {"f [type=scored, status=fail]", "a [type=scored]",
                                     "b [type=scored]"};
    char *src = fan_pipeline("max_parallel=1", br, 3, "");
    run_out ro;
    run_dot(src, &ro);
    free(src);
    assert_string_equal(node_outcome(&ro, "fan"), "partial_success");
    assert_string_equal(result_outcome(&ro, "a"), "success");
    assert_string_equal(result_outcome(&ro, "b"), "success");
    assert_int_equal(count_events(&ro, "parallel_branch_started"), 3);
    run_out_release(&ro);
}

static void test_first_success(void **state)
{
    static const char *const br[] = {"f [type=scored, status=fail]", "a [type=scored]",
                                     "b [type=scored]"};
    char *src = fan_pipeline("max_parallel=1, join_policy=first_success", br, 3, "");
    run_out ro;
    run_dot(src, &ro);
    free(src);
    assert_int_equal(ro.res.status, LO_SUCCESS);
    assert_string_equal(node_outcome(&ro, "fan"), "success");
    assert_string_equal(ctx_str(&ro, "parallel.first_success_id"), "a");
    assert_string_equal(result_outcome(&ro, "f"), "fail");
    assert_string_equal(result_outcome(&ro, "a"), "success");
    assert_string_equal(result_outcome(&ro, "b"), "skipped");
    assert_false(stage_exists(&ro, "b", NULL));
    assert_string_equal(ctx_str(&ro, "parallel.fan_in.best_id"), "a");
    run_out_release(&ro);
}

static void test_first_success_none(void **state)
{
    static const char *const br[] = {"f [type=scored, status=fail]",
                                     "g [type=scored, status=fail]"};
    char *src = fan_pipeline("join_policy=first_success", br, 2, "");
    run_out ro;
    run_dot(src, &ro);
    free(src);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_non_null(strstr(ro.res.failure_reason, "no branch succeeded"));
    assert_null(ctx(&ro, "parallel.first_success_id"));
    run_out_release(&ro);
}

static void test_bad_policy(void **state)
{
    static const char *const br[] = {"a [type=scored]"};
    char *src = fan_pipeline("join_policy=quorum", br, 1, "");
    run_out ro;
    run_dot(src, &ro);
    free(src);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_non_null(strstr(ro.res.failure_reason, "unknown join_policy 'quorum'"));
    run_out_release(&ro);
}

/* ---- fan-in ---- */

static void test_fan_in_heuristic(void **state)
{
    static const char *const br[] = {
        "a [type=scored, status=fail, score=100]", "b [type=scored, score=1]",
        "c [type=scored, score=5]", "d [type=scored, status=partial_success, score=50]"};
    char *src = fan_pipeline("", br, 4, "");
    run_out ro;
    run_dot(src, &ro);
    free(src);
    /* success beats fail and partial success whatever their scores; then
     * the higher score */
    assert_string_equal(ctx_str(&ro, "parallel.fan_in.best_id"), "c");
    assert_string_equal(ctx_str(&ro, "parallel.fan_in.best_outcome"), "success");
    assert_string_equal(ctx_str(&ro, "last_response"), "output of c");
    assert_true(json_real_value(json_object_get(result_of(&ro, "c"), "score")) == 5.0);
    assert_string_equal(node_outcome(&ro, "join"), "success");
    run_out_release(&ro);
}

static const char fan_in_only[] =
    "digraph F {\n"
    "  start [shape=Mdiamond]\n  exit [shape=Msquare]\n"
    "  join [shape=tripleoctagon%s]\n"
    "  start -> join -> exit\n"
    "}\n";

static void run_fan_in(const char *sub, const char *join_attrs, const char *results_json,
                       lo_backend *backend, run_out *ro)
{
    char src[512];
    snprintf(src, sizeof src, fan_in_only, join_attrs);
    json_t *init = NULL;
    if (results_json) {
        json_error_t je;
        init = json_pack("{s:o}", "parallel.results", json_loads(results_json, 0, &je));
        assert_non_null(init);
    }
    run_dot_in(sub, src, init, backend, ro);
    json_decref(init);
}

static void test_fan_in_no_results(void **state)
{
    run_out ro;
    run_fan_in("none", "", NULL, NULL, &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_non_null(strstr(ro.res.failure_reason, "no parallel results to evaluate"));
    run_out_release(&ro);
    run_fan_in("empty", "", "[]", NULL, &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_non_null(strstr(ro.res.failure_reason, "no parallel results to evaluate"));
    run_out_release(&ro);
}

static void test_fan_in_ranking(void **state)
{
    /* scores as numbers or numeric strings, top level or in the context;
     * equal rank and score fall back to the id */
    static const char res[] =
        "[{\"id\":\"z\",\"outcome\":\"partial_success\",\"context\":{\"score\":3}},"
        " {\"id\":\"x\",\"outcome\":\"fail\",\"score\":99},"
        " {\"id\":\"y\",\"outcome\":\"partial_success\",\"score\":\"3\"},"
        " {\"id\":\"w\",\"outcome\":\"retry\",\"score\":7}]";
    run_out ro;
    run_fan_in("rank", "", res, NULL, &ro);
    assert_int_equal(ro.res.status, LO_SUCCESS);
    assert_string_equal(node_outcome(&ro, "join"), "success");
    assert_string_equal(ctx_str(&ro, "parallel.fan_in.best_id"), "y");
    assert_string_equal(ctx_str(&ro, "parallel.fan_in.best_outcome"), "partial_success");
    run_out_release(&ro);

    static const char all_failed[] =
        "[{\"id\":\"p\",\"outcome\":\"fail\",\"failure_reason\":\"boom\"},"
        " {\"id\":\"q\",\"outcome\":\"skipped\"}]";
    run_fan_in("failed", "", all_failed, NULL, &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_non_null(strstr(ro.res.failure_reason, "every parallel branch failed"));
    assert_non_null(strstr(ro.res.failure_reason, "boom"));
    run_out_release(&ro);
}

static int pick_run(lo_backend *b, lo_stage *st, const char *prompt, lo_buf *response,
                    lo_outcome *out, bool *has_outcome, lo_error *err)
{
    *has_outcome = false;
    return lo_buf_puts(response, b->ud) ? LO_ENOMEM : 0;
}

static char *read_text(const char *path)
{
    char *data = NULL;
    size_t len;
    lo_error err;
    if (lo_file_read(path, 1 << 20, &data, &len, &err))
        fail_msg("%s", err.msg);
    return data;
}

static void test_fan_in_model(void **state)
{
    static const char res[] =
        "[{\"id\":\"x\",\"outcome\":\"success\",\"last_response\":\"X out\"},"
        " {\"id\":\"x_long\",\"outcome\":\"success\"},"
        " {\"id\":\"y\",\"outcome\":\"success\",\"last_response\":\"Y out\"},"
        " {\"id\":\"bad\",\"outcome\":\"fail\"}]";
    static char answer[] = "After comparing, y is the best; x_long is close.";
    lo_backend picker = {.name = "picker", .run = pick_run, .ud = answer};
    run_out ro;
    run_fan_in("model", ", prompt=\"Pick for $goal\"", res, &picker, &ro);
    assert_string_equal(ctx_str(&ro, "parallel.fan_in.best_id"), "y");
    assert_string_equal(ctx_str(&ro, "parallel.fan_in.method"), "model");
    assert_string_equal(ctx_str(&ro, "last_response"), "Y out");
    char path[400];
    snprintf(path, sizeof path, "%s/join/prompt.md", ro.logs);
    char *prompt = read_text(path);
    assert_non_null(strstr(prompt, "Pick for"));
    assert_non_null(strstr(prompt, "- id: y"));
    assert_non_null(strstr(prompt, "response: X out"));
    free(prompt);
    snprintf(path, sizeof path, "%s/join/fan_in.md", ro.logs);
    char *md = read_text(path);
    assert_non_null(strstr(md, "Choice: **y**"));
    assert_non_null(strstr(md, "picker"));
    free(md);
    run_out_release(&ro);

    /* whole words only: "x_long" in the answer is not "x" */
    static char answer2[] = "x_long, clearly";
    picker.ud = answer2;
    run_fan_in("model2", ", prompt=\"Pick\"", res, &picker, &ro);
    assert_string_equal(ctx_str(&ro, "parallel.fan_in.best_id"), "x_long");
    run_out_release(&ro);

    /* a failed candidate cannot be chosen: the heuristic decides */
    static char answer3[] = "bad";
    picker.ud = answer3;
    run_fan_in("model3", ", prompt=\"Pick\"", res, &picker, &ro);
    assert_string_equal(ctx_str(&ro, "parallel.fan_in.best_id"), "x");
    assert_string_equal(ctx_str(&ro, "parallel.fan_in.method"), "heuristic");
    run_out_release(&ro);

    /* the sim backend names no candidate: the heuristic, offline */
    run_fan_in("sim", ", prompt=\"Pick\"", res, NULL, &ro);
    assert_string_equal(ctx_str(&ro, "parallel.fan_in.best_id"), "x");
    assert_string_equal(ctx_str(&ro, "parallel.fan_in.method"), "heuristic");
    assert_true(stage_exists(&ro, "join", "response.md"));
    run_out_release(&ro);
}

/* ---- isolation, nesting, branches that meet without a fan-in ---- */

static void test_branch_isolation(void **state)
{
    static const char src[] =
        "digraph I {\n"
        "  start [shape=Mdiamond]\n  exit [shape=Msquare]\n"
        "  fan [shape=component, max_parallel=3]\n"
        "  join [shape=tripleoctagon]\n"
        "  x [type=setter]\n  y [type=setter]\n  z [type=setter]\n"
        "  x2 [type=checker]\n  y2 [type=checker]\n  z2 [type=checker]\n"
        "  start -> fan\n  fan -> x\n  fan -> y\n  fan -> z\n"
        "  x -> x2 -> join\n  y -> y2 -> join\n  z -> z2 -> join\n  join -> exit\n"
        "}\n";
    run_out ro;
    run_dot(src, &ro);
    assert_int_equal(ro.res.status, LO_SUCCESS);
    assert_int_equal(atomic_load(&pr.leaks), 0);
    /* nothing of the branches reached the parent's context ... */
    assert_null(ctx(&ro, "shared"));
    assert_null(ctx(&ro, "iso.x"));
    /* ... except through parallel.results */
    json_t *c = json_object_get(result_of(&ro, "y"), "context");
    assert_string_equal(json_string_value(json_object_get(c, "shared")), "y");
    assert_true(json_is_true(json_object_get(c, "iso.y")));
    assert_null(json_object_get(c, "iso.x"));
    run_out_release(&ro);
}

static void test_nested_parallel(void **state)
{
    static const char src[] =
        "digraph N {\n"
        "  start [shape=Mdiamond]\n  exit [shape=Msquare]\n"
        "  outer [shape=component]\n  inner [shape=component]\n"
        "  ij [shape=tripleoctagon]\n  oj [shape=tripleoctagon]\n"
        "  i1 [type=scored, score=1]\n  i2 [type=scored, score=2]\n  q [type=scored]\n"
        "  start -> outer\n  outer -> inner\n  outer -> q\n"
        "  inner -> i1\n  inner -> i2\n  i1 -> ij\n  i2 -> ij\n"
        "  ij -> oj\n  q -> oj\n  oj -> exit\n"
        "}\n";
    run_out ro;
    run_dot(src, &ro);
    assert_int_equal(ro.res.status, LO_SUCCESS);
    assert_string_equal(ctx_str(&ro, "parallel.join"), "oj");
    json_t *c = json_object_get(result_of(&ro, "inner"), "context");
    assert_string_equal(json_string_value(json_object_get(c, "parallel.join")), "ij");
    assert_string_equal(json_string_value(json_object_get(c, "parallel.fan_in.best_id")), "i2");
    assert_true(completed_has(&ro, "oj"));
    assert_false(completed_has(&ro, "ij"));
    assert_true(stage_exists(&ro, "ij", "fan_in.md"));
    assert_true(stage_exists(&ro, "i1", "status.json"));
    assert_true(stage_exists(&ro, "q", "status.json"));
    /* inner ran once, ij once (not again after the outer join) */
    assert_int_equal(count_events(&ro, "parallel_started"), 2);
    size_t i, ij_runs = 0;
    json_t *ev;
    json_array_foreach(ro.events, i, ev)
        ij_runs += lo_str_eq(json_string_value(json_object_get(ev, "type")), "stage_started") &&
                   lo_str_eq(json_string_value(json_object_get(ev, "node")), "ij");
    assert_int_equal(ij_runs, 1);
    run_out_release(&ro);
}

static void test_meet_without_fan_in(void **state)
{
    static const char src[] =
        "digraph M {\n"
        "  start [shape=Mdiamond]\n  exit [shape=Msquare]\n"
        "  fan [shape=component]\n"
        "  a [type=scored]\n  b [type=scored]\n  b2 [type=scored]\n  tail [type=scored]\n"
        "  start -> fan\n  fan -> a\n  fan -> b\n"
        "  a -> tail\n  b -> b2 -> tail\n  tail -> exit\n"
        "}\n";
    run_out ro;
    run_dot(src, &ro);
    assert_int_equal(ro.res.status, LO_SUCCESS);
    /* the shared tail runs once, after the branches, in the parent */
    assert_string_equal(ctx_str(&ro, "parallel.join"), "tail");
    assert_true(completed_has(&ro, "tail"));
    assert_true(completed_has(&ro, "exit"));
    assert_true(stage_exists(&ro, "b2", "status.json"));
    size_t i, runs = 0;
    json_t *ev;
    json_array_foreach(ro.events, i, ev)
        runs += lo_str_eq(json_string_value(json_object_get(ev, "type")), "stage_started") &&
                lo_str_eq(json_string_value(json_object_get(ev, "node")), "tail");
    assert_int_equal(runs, 1);
    run_out_release(&ro);
}

static void test_branches_never_meet(void **state)
{
    static const char src[] =
        "digraph D {\n"
        "  start [shape=Mdiamond]\n"
        "  fan [shape=component]\n"
        "  a [type=scored]\n  b [type=scored]\n  a2 [type=scored]\n"
        "  start -> fan\n  fan -> a\n  fan -> b\n  a -> a2\n"
        "}\n";
    run_out ro;
    run_dot(src, &ro);
    assert_int_equal(ro.res.status, LO_SUCCESS);
    assert_string_equal(ctx_str(&ro, "parallel.join"), "");
    assert_true(stage_exists(&ro, "a2", "status.json"));
    /* the run ends after the parallel node: no branch runs twice */
    assert_false(completed_has(&ro, "a"));
    assert_int_equal(count_events(&ro, "stage_started"), 5); /* start, fan, a, a2, b */
    run_out_release(&ro);
}

static void test_no_branches(void **state)
{
    static const char src[] =
        "digraph E {\n"
        "  start [shape=Mdiamond]\n  exit [shape=Msquare]\n"
        "  fan [shape=component]\n"
        "  start -> fan\n"
        "}\n";
    run_out ro;
    run_dot(src, &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_non_null(strstr(ro.res.failure_reason, "no outgoing edges"));
    run_out_release(&ro);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fan_out_fan_in, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sixteen_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_parallel_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_parallel_default_four, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_all_partial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_fail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fail_fast, setup, teardown),
        cmocka_unit_test_setup_teardown(test_continue_runs_all_after_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_success, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_success_none, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fan_in_heuristic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fan_in_no_results, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fan_in_ranking, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fan_in_model, setup, teardown),
        cmocka_unit_test_setup_teardown(test_branch_isolation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nested_parallel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meet_without_fan_in, setup, teardown),
        cmocka_unit_test_setup_teardown(test_branches_never_meet, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_branches, setup, teardown),
    };
    return cmocka_run_group_tests_name("parallel", tests, NULL, NULL);
}
