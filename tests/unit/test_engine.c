/*
 * The pipeline engine (attractor-spec §3-§6, the execution rows of the
 * §11.12 parity matrix, §11.3-§11.9 and the §11.13 smoke test), driven for
 * real: pipelines parsed with lo_graph_parse, a temporary run directory per
 * test, the simulation backend, and a scriptable handler registered as type
 * "script" whose behaviour each node sets with t_* attributes:
 *
 *   t_fail_times=N    the first N calls for this node return t_fail_status
 *   t_fail_status=S   fail (default) or retry
 *   t_status=S        the status after that (default success)
 *   t_label=L         preferred_label          t_next=ID  a suggested next id
 *   t_set="k=v"       a context update         t_read=K   record context K
 *   t_sleep_ms=N      sleep, not polling       t_poll=true  sleep polling
 *   t_error=MSG       return an error (a handler that throws)     lo_run_cancelled
 *
 * The script's state (calls per node, call order, what it read) lives in
 * the handler's ud; it can also cancel the engine on its Nth call.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "lightsout/engine.h"
#include "lightsout/graph.h"
#include "lightsout/lint.h"
#include "lightsout/transform.h"

/* ---- helpers: files and clocks ---- */

static void rm_rf(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return;
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *de;
            while ((de = readdir(d))) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                    continue;
                char sub[PATH_MAX];
                if (snprintf(sub, sizeof sub, "%s/%s", path, de->d_name) < (int)sizeof sub)
                    rm_rf(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

static bool exists(const char *dir, const char *rel)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s/%s", dir, rel) >= (int)sizeof p)
        return false;
    return access(p, F_OK) == 0;
}

static char *slurp(const char *dir, const char *rel)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s/%s", dir, rel) >= (int)sizeof p)
        return NULL;
    char *data = NULL;
    size_t len;
    lo_error err;
    if (lo_file_read(p, 1u << 26, &data, &len, &err))
        return NULL;
    return data;
}

static json_t *load_json(const char *dir, const char *rel)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s/%s", dir, rel) >= (int)sizeof p)
        return NULL;
    json_error_t je;
    return json_load_file(p, 0, &je);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* "a,b,c" from a JSON array of strings (static buffer). */
static const char *joined(const json_t *arr)
{
    static char buf[4096];
    buf[0] = '\0';
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        if (i)
            strncat(buf, ",", sizeof buf - strlen(buf) - 1);
        strncat(buf, json_string_value(v) ? json_string_value(v) : "?",
                sizeof buf - strlen(buf) - 1);
    }
    return buf;
}

static const char *jstr(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

/* ---- the scriptable handler ---- */

typedef struct script {
    lo_engine *engine;
    int cancel_at;    /* cancel the engine on this call (1-based); 0 never */
    int total;
    json_t *calls;    /* node id -> number of calls */
    json_t *order;    /* node ids in call order */
    json_t *seen;     /* node id -> the context value t_read found */
    json_t *attempts; /* node id -> the attempt numbers the engine passed */
    bool poll_saw_cancel;
} script;

static int script_calls(const script *s, const char *id)
{
    return (int)json_integer_value(json_object_get(s->calls, id));
}

static int script_handler(lo_stage *st, lo_outcome *out, void *ud, lo_error *err)
{
    script *s = ud;
    const lo_node *n = st->node;
    int c = script_calls(s, n->id) + 1;
    json_object_set_new(s->calls, n->id, json_integer(c));
    json_array_append_new(s->order, json_string(n->id));
    json_t *att = json_object_get(s->attempts, n->id);
    if (!att) {
        att = json_array();
        json_object_set_new(s->attempts, n->id, att);
    }
    json_array_append_new(att, json_integer(st->attempt));
    s->total++;
    if (s->cancel_at && s->total == s->cancel_at && s->engine)
        lo_engine_cancel(s->engine);

    const char *rd = lo_node_str(n, "t_read");
    if (*rd) {
        char *v = lo_context_get_str(st->context, rd);
        json_object_set_new(s->seen, n->id, json_string(v ? v : "<missing>"));
        free(v);
    }
    int64_t nap = lo_node_int(n, "t_sleep_ms", 0);
    if (nap > 0)
        sleep_ms(nap);
    if (lo_node_bool(n, "t_poll", false)) {
        int64_t end = now_ms() + 3000;
        while (now_ms() < end && !lo_run_cancelled(st->run))
            sleep_ms(10);
        s->poll_saw_cancel = lo_run_cancelled(st->run);
    }
    const char *thrown = lo_node_str(n, "t_error");
    if (*thrown)
        return lo_error_set(err, LO_EIO, "%s", thrown);

    lo_status status = LO_SUCCESS;
    if (c <= lo_node_int(n, "t_fail_times", 0)) {
        status = LO_FAIL;
        if (*lo_node_str(n, "t_fail_status"))
            assert_int_equal(lo_status_parse(lo_node_str(n, "t_fail_status"), &status), 0);
        out->status = status;
        lo_outcome_set_failure(out, "scripted failure %d of %s", c, n->id);
        return 0;
    }
    if (*lo_node_str(n, "t_status"))
        assert_int_equal(lo_status_parse(lo_node_str(n, "t_status"), &status), 0);
    out->status = status;
    if (status == LO_FAIL || status == LO_RETRY)
        lo_outcome_set_failure(out, "scripted %s of %s", lo_status_name(status), n->id);
    if (*lo_node_str(n, "t_label"))
        lo_outcome_set_label(out, lo_node_str(n, "t_label"));
    if (*lo_node_str(n, "t_next"))
        lo_outcome_add_next_id(out, lo_node_str(n, "t_next"));
    const char *set = lo_node_str(n, "t_set");
    const char *eq = strchr(set, '=');
    if (eq) {
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)(eq - set), set);
        lo_outcome_update_str(out, key, eq + 1);
    }
    lo_outcome_set_notes(out, "script ran %s", n->id);
    return 0;
}

/* ---- the fixture: a graph, a run directory, an engine ---- */

typedef struct fx {
    char dir[64];       /* temp dir: the pipeline file and run/ */
    char logs[PATH_MAX];
    char dot[PATH_MAX]; /* pipeline file, when written */
    lo_graph *g;
    lo_engine *e;
    script s;
    json_t *events;     /* every event the engine emitted */
    lo_engine_config cfg;
    lo_run_result res;
    lo_error err;
    int rc;
    int64_t elapsed_ms;
} fx;

static void on_event(const json_t *ev, void *ud)
{
    fx *f = ud;
    json_array_append_new(f->events, json_deep_copy(ev));
}

static void script_reset(script *s)
{
    json_decref(s->calls);
    json_decref(s->order);
    json_decref(s->seen);
    json_decref(s->attempts);
    memset(s, 0, sizeof *s);
    s->calls = json_object();
    s->order = json_array();
    s->seen = json_object();
    s->attempts = json_object();
}

static lo_graph *parse(const char *src)
{
    lo_error err;
    lo_error_clear(&err);
    lo_graph *g = lo_graph_parse(src, strlen(src), "<test>", &err);
    if (!g)
        fail_msg("parse: %s:%u:%u: %s", err.file, err.line, err.col, err.msg);
    return g;
}

/* Temp dirs of tests that failed before fx_free, removed at exit. */
static char leftover[64][64];

static void remove_leftovers(void)
{
    for (size_t i = 0; i < sizeof leftover / sizeof leftover[0]; i++)
        if (leftover[i][0])
            rm_rf(leftover[i]);
}

static void track_dir(const char *dir, bool add)
{
    static bool registered;
    if (!registered) {
        atexit(remove_leftovers);
        registered = true;
    }
    for (size_t i = 0; i < sizeof leftover / sizeof leftover[0]; i++) {
        if (add && !leftover[i][0]) {
            snprintf(leftover[i], sizeof leftover[i], "%s", dir);
            return;
        }
        if (!add && !strcmp(leftover[i], dir)) {
            leftover[i][0] = '\0';
            return;
        }
    }
}

static void fx_init(fx *f, const char *dot)
{
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/lo-engine.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    track_dir(f->dir, true);
    snprintf(f->logs, sizeof f->logs, "%s/run", f->dir);
    if (dot)
        f->g = parse(dot);
    f->events = json_array();
    script_reset(&f->s);
    f->cfg.logs_root = f->logs;
    f->cfg.workdir = f->dir;
    f->cfg.on_event = on_event;
    f->cfg.event_ud = f;
}

/* Write the pipeline to {dir}/pipeline.dot, parse it from there, and record
 * it as the run's dot_path. */
static void fx_init_file(fx *f, const char *dot)
{
    fx_init(f, NULL);
    snprintf(f->dot, sizeof f->dot, "%s/pipeline.dot", f->dir);
    write_text(f->dot, dot);
    f->g = parse(dot);
    f->cfg.dot_path = f->dot;
}

static void fx_engine(fx *f)
{
    lo_engine_free(f->e);
    lo_error_clear(&f->err);
    f->e = lo_engine_new(f->g, &f->cfg, &f->err);
    if (!f->e)
        fail_msg("lo_engine_new: %s", f->err.msg);
    f->s.engine = f->e;
    assert_int_equal(lo_engine_register(f->e, "script", script_handler, &f->s), 0);
}

static int fx_run_engine(fx *f, bool resume)
{
    lo_error_clear(&f->err);
    int64_t t0 = now_ms();
    f->rc = lo_engine_run(f->e, resume, &f->res, &f->err);
    f->elapsed_ms = now_ms() - t0;
    return f->rc;
}

/* New engine, run, expect rc 0. */
static void fx_run(fx *f)
{
    fx_engine(f);
    if (fx_run_engine(f, false))
        fail_msg("lo_engine_run: %s", f->err.msg);
}

static void fx_free(fx *f)
{
    lo_engine_free(f->e);
    lo_graph_free(f->g);
    json_decref(f->events);
    script_reset(&f->s);
    json_decref(f->s.calls);
    json_decref(f->s.order);
    json_decref(f->s.seen);
    json_decref(f->s.attempts);
    rm_rf(f->dir);
    track_dir(f->dir, false);
}

static json_t *fx_checkpoint(fx *f)
{
    json_t *cp = load_json(f->logs, "checkpoint.json");
    assert_non_null(cp);
    return cp;
}

static size_t count_events(const fx *f, const char *type, const char *node)
{
    size_t i, n = 0;
    json_t *ev;
    json_array_foreach(f->events, i, ev)
        if (!strcmp(jstr(ev, "type"), type) && (!node || !strcmp(jstr(ev, "node"), node)))
            n++;
    return n;
}

/* The nth (0-based) event of a type, or NULL. Borrowed. */
static json_t *nth_event(const fx *f, const char *type, size_t nth)
{
    size_t i;
    json_t *ev;
    json_array_foreach(f->events, i, ev)
        if (!strcmp(jstr(ev, "type"), type) && nth-- == 0)
            return ev;
    return NULL;
}

static const char *handler_of(const fx *f, const char *node)
{
    size_t i;
    json_t *ev;
    json_array_foreach(f->events, i, ev)
        if (!strcmp(jstr(ev, "type"), "stage_started") && !strcmp(jstr(ev, "node"), node))
            return jstr(ev, "handler");
    return "(not run)";
}

static void assert_completed(fx *f, const char *want)
{
    json_t *cp = fx_checkpoint(f);
    assert_string_equal(joined(json_object_get(cp, "completed_nodes")), want);
    json_decref(cp);
}

/* prompt.md may start with the carry-over of the stage's context fidelity
 * (§5.4); the prompt itself comes last. */
static void assert_ends_with(const char *s, const char *tail)
{
    size_t n = s ? strlen(s) : 0, k = strlen(tail);
    if (!s || n < k || strcmp(s + n - k, tail) != 0)
        fail_msg("'%s' does not end with '%s'", s ? s : "(null)", tail);
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!hay || !strstr(hay, needle))
        fail_msg("'%s' does not contain '%s'", hay ? hay : "(null)", needle);
}

/* =================== §11.12 parity matrix: execution =================== */

static void test_linear_three_nodes(void **state)
{
    fx f;
    fx_init(&f, "digraph L { graph [goal=\"g\"]\n"
                "start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "a [prompt=\"A for $goal\"]\n b [prompt=\"B\"]\n c [prompt=\"C\"]\n"
                "start -> a -> b -> c -> exit }");
    fx_run(&f);
    assert_int_equal(f.res.status, LO_SUCCESS);
    assert_false(f.res.interrupted);
    assert_int_equal(f.res.stages_run, 5);
    assert_string_equal(f.res.last_node, "exit");
    assert_completed(&f, "start,a,b,c,exit");
    json_t *cp = fx_checkpoint(&f);
    assert_string_equal(jstr(cp, "state"), "completed");
    assert_string_equal(jstr(cp, "current_node"), "exit");
    assert_true(json_is_null(json_object_get(cp, "next_node")) ||
                !json_object_get(cp, "next_node"));
    json_decref(cp);
    for (const char *const *n = (const char *const[]){"a", "b", "c", NULL}; *n; n++)
        assert_int_equal(count_events(&f, "stage_completed", *n), 1);
    fx_free(&f);
}

#define BRANCHING_DOT \
    "digraph B {\n" \
    "start [shape=Mdiamond]\n exit [shape=Msquare]\n" \
    "work [type=\"script\", t_status=\"%s\"]\n" \
    "good [type=\"script\"]\n bad [type=\"script\"]\n" \
    "start -> work\n" \
    "work -> good [condition=\"outcome=success\"]\n" \
    "work -> bad [condition=\"outcome=fail\"]\n" \
    "good -> exit\n bad -> exit }"

static void run_branching(const char *status, const char *want)
{
    char dot[1024];
    snprintf(dot, sizeof dot, BRANCHING_DOT, status);
    fx f;
    fx_init(&f, dot);
    fx_run(&f);
    assert_int_equal(f.res.status, LO_SUCCESS);
    assert_completed(&f, want);
    json_t *sel = nth_event(&f, "edge_selected", 1);
    assert_non_null(sel);
    assert_string_equal(jstr(sel, "from"), "work");
    assert_string_equal(jstr(sel, "reason"), "condition");
    fx_free(&f);
}

static void test_branching_success_path(void **state)
{
    run_branching("success", "start,work,good,exit");
}

static void test_branching_fail_path(void **state)
{
    run_branching("fail", "start,work,bad,exit");
}

/* A diamond routes on the outcome the stage before it left. */
static void test_branching_through_diamond(void **state)
{
    fx f;
    fx_init(&f, "digraph D {\n start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "work [type=\"script\", t_status=\"partial_success\", t_set=\"flag=on\"]\n"
                "check [shape=diamond]\n"
                "full [type=\"script\"]\n partial [type=\"script\"]\n flagged [type=\"script\"]\n"
                "start -> work -> check\n"
                "check -> full [condition=\"outcome=success\"]\n"
                "check -> partial [condition=\"outcome=partial_success\"]\n"
                "full -> exit\n partial -> check2\n"
                "check2 [shape=diamond]\n"
                "check2 -> flagged [condition=\"context.flag=on\"]\n"
                "check2 -> exit [condition=\"context.flag!=on\"]\n"
                "flagged -> exit }");
    fx_run(&f);
    assert_int_equal(f.res.status, LO_PARTIAL_SUCCESS);
    assert_completed(&f, "start,work,check,partial,check2,flagged,exit");
    assert_string_equal(handler_of(&f, "check"), "conditional");
    fx_free(&f);
}

static void test_retry_max_retries_2(void **state)
{
    fx f;
    fx_init(&f, "digraph R {\n start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "flaky [type=\"script\", max_retries=2, t_fail_times=2,"
                " retry_initial_delay=\"1ms\"]\n"
                "start -> flaky -> exit }");
    fx_run(&f);
    assert_int_equal(f.res.status, LO_SUCCESS);
    assert_int_equal(script_calls(&f.s, "flaky"), 3);
    json_t *att = json_object_get(f.s.attempts, "flaky");
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(json_integer_value(json_array_get(att, i)), (json_int_t)i + 1);
    assert_int_equal(count_events(&f, "stage_retrying", "flaky"), 2);
    assert_int_equal(count_events(&f, "stage_failed", "flaky"), 2);
    assert_int_equal(count_events(&f, "stage_started", "flaky"), 3);
    json_t *r = nth_event(&f, "stage_retrying", 1);
    assert_int_equal(json_integer_value(json_object_get(r, "attempt")), 3);
    json_t *cp = fx_checkpoint(&f);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(cp, "node_retries"),
                                                        "flaky")), 2);
    assert_string_equal(jstr(json_object_get(cp, "node_outcomes"), "flaky"), "success");
    json_decref(cp);
    fx_free(&f);
}

/* Three failures with max_retries=2: three attempts, then the failure. */
static void test_retry_exhausted_fails(void **state)
{
    fx f;
    fx_init(&f, "digraph R {\n start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "flaky [type=\"script\", max_retries=2, t_fail_times=9,"
                " retry_initial_delay=\"1ms\"]\n"
                "start -> flaky -> exit }");
    fx_run(&f);
    assert_int_equal(f.res.status, LO_FAIL);
    assert_int_equal(script_calls(&f.s, "flaky"), 3);
    assert_int_equal(count_events(&f, "stage_retrying", "flaky"), 2);
    json_t *last = nth_event(&f, "stage_failed", 2);
    assert_non_null(last);
    assert_false(json_is_true(json_object_get(last, "will_retry")));
    assert_contains(f.res.failure_reason, "flaky");
    assert_contains(f.res.failure_reason, "scripted failure 3");
    fx_free(&f);
}

#define GATE_DOT \
    "digraph G {\n %s\n start [shape=Mdiamond]\n exit [shape=Msquare]\n" \
    "a [type=\"script\"]\n" \
    "g [type=\"script\", goal_gate=true, t_fail_times=%d %s]\n" \
    "start -> a -> g\n" \
    "g -> exit [condition=\"outcome=fail\", label=\"give up\"]\n" \
    "g -> exit [label=\"done\"] }"

static void test_goal_gate_blocks_exit_until_satisfied(void **state)
{
    char dot[1024];
    snprintf(dot, sizeof dot, GATE_DOT, "", 1, ", retry_target=\"a\"");
    fx f;
    fx_init(&f, dot);
    fx_run(&f);
    assert_int_equal(f.res.status, LO_SUCCESS);
    /* the first visit of g failed, the exit refused, the run went back to a */
    assert_completed(&f, "start,a,g,a,g,exit");
    assert_int_equal(count_events(&f, "goal_gate_unsatisfied", "g"), 1);
    json_t *ev = nth_event(&f, "goal_gate_unsatisfied", 0);
    assert_string_equal(jstr(ev, "retry_target"), "a");
    assert_int_equal(script_calls(&f.s, "a"), 2);
    json_t *cp = fx_checkpoint(&f);
    assert_string_equal(jstr(json_object_get(cp, "node_outcomes"), "g"), "success");
    json_decref(cp);
    fx_free(&f);
}

/* §3.4: the graph's retry_target when the gate names none. */
static void test_goal_gate_graph_retry_target(void **state)
{
    char dot[1024];
    snprintf(dot, sizeof dot, GATE_DOT, "graph [retry_target=\"a\"]", 1, "");
    fx f;
    fx_init(&f, dot);
    fx_run(&f);
    assert_int_equal(f.res.status, LO_SUCCESS);
    assert_completed(&f, "start,a,g,a,g,exit");
    fx_free(&f);
}

static void test_goal_gate_allows_exit_when_satisfied(void **state)
{
    char dot[1024];
    snprintf(dot, sizeof dot, GATE_DOT, "", 0, ", retry_target=\"a\"");
    fx f;
    fx_init(&f, dot);
    fx_run(&f);
    assert_int_equal(f.res.status, LO_SUCCESS);
    assert_completed(&f, "start,a,g,exit");
    assert_int_equal(count_events(&f, "goal_gate_unsatisfied", NULL), 0);
    fx_free(&f);

    /* partial success satisfies a gate too, and the run says it was partial */
    fx_init(&f, "digraph G {\n start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "g [type=\"script\", goal_gate=true, t_status=\"partial_success\"]\n"
                "start -> g -> exit }");
    fx_run(&f);
    assert_int_equal(f.res.status, LO_PARTIAL_SUCCESS);
    assert_completed(&f, "start,g,exit");
    assert_int_equal(count_events(&f, "goal_gate_unsatisfied", NULL), 0);
    fx_free(&f);
}

static void test_goal_gate_no_retry_target_fails(void **state)
{
    char dot[1024];
    snprintf(dot, sizeof dot, GATE_DOT, "", 1, "");
    fx f;
    fx_init(&f, dot);
    fx_run(&f);
    assert_int_equal(f.res.status, LO_FAIL);
    assert_false(f.res.interrupted);
    assert_contains(f.res.failure_reason, "goal gate");
    assert_contains(f.res.failure_reason, "'g'");
    assert_int_equal(script_calls(&f.s, "a"), 1);
    json_t *cp = fx_checkpoint(&f);
    assert_string_equal(jstr(cp, "state"), "failed");
    json_decref(cp);
    json_t *last = json_array_get(f.events, json_array_size(f.events) - 1);
    assert_string_equal(jstr(last, "type"), "pipeline_failed");
    fx_free(&f);
}

static const char *human_dot =
    "digraph H {\n start [shape=Mdiamond]\n exit [shape=Msquare]\n"
    "implement [type=\"script\"]\n"
    "gate [shape=hexagon, label=\"Review the changes\"]\n"
    "ship [type=\"script\"]\n fix [type=\"script\"]\n"
    "start -> implement -> gate\n"
    "gate -> ship [label=\"[A] Approve\"]\n"
    "gate -> fix [label=\"[F] Fix\"]\n"
    "fix -> gate\n ship -> exit }";

static void test_wait_human_routes_on_selection(void **state)
{
    fx f;
    fx_init(&f, human_dot);
    /* by key, then by label without its accelerator */
    const char *answers[] = {"F", "approve"};
    lo_interviewer *iv = lo_interviewer_queue(answers, 2);
    f.cfg.interviewer = iv;
    fx_run(&f);
    assert_int_equal(f.res.status, LO_SUCCESS);
    assert_completed(&f, "start,implement,gate,fix,gate,ship,exit");
    assert_string_equal(handler_of(&f, "gate"), "wait.human");
    assert_int_equal(count_events(&f, "interview_started", "gate"), 2);
    json_t *q = nth_event(&f, "interview_started", 0);
    assert_int_equal(json_integer_value(json_object_get(q, "options")), 2);
    assert_string_equal(jstr(q, "question"), "Review the changes");
    json_t *a = nth_event(&f, "interview_completed", 1);
    assert_string_equal(jstr(a, "answer"), "A");
    assert_string_equal(jstr(a, "to"), "ship");
    json_t *cp = fx_checkpoint(&f);
    json_t *ctx = json_object_get(cp, "context");
    assert_string_equal(jstr(ctx, "human.gate.selected"), "A");
    assert_string_equal(jstr(ctx, "human.gate.label"), "[A] Approve");
    json_decref(cp);
    fx_free(&f);
    lo_interviewer_free(iv);
}

/* No answer left (SKIPPED): the gate fails and so does the run. */
static void test_wait_human_skipped_fails(void **state)
{
    fx f;
    fx_init(&f, human_dot);
    lo_interviewer *iv = lo_interviewer_queue(NULL, 0);
    f.cfg.interviewer = iv;
    fx_run(&f);
    assert_int_equal(f.res.status, LO_FAIL);
    assert_contains(f.res.failure_reason, "skipped");
    fx_free(&f);
    lo_interviewer_free(iv);
}

static void test_edge_condition_beats_weight(void **state)
{
    fx f;
    fx_init(&f, "digraph E {\n start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "a [type=\"script\"]\n heavy [type=\"script\"]\n cond [type=\"script\"]\n"
                "start -> a\n"
                "a -> heavy [weight=100]\n"
                "a -> cond [condition=\"outcome=success\"]\n"
                "heavy -> exit\n cond -> exit }");
    fx_run(&f);
    assert_completed(&f, "start,a,cond,exit");
    assert_string_equal(jstr(nth_event(&f, "edge_selected", 1), "reason"), "condition");
    fx_free(&f);
}

static void test_edge_weight_breaks_ties(void **state)
{
    fx f;
    fx_init(&f, "digraph E {\n start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "a [type=\"script\"]\n alpha [type=\"script\"]\n zulu [type=\"script\"]\n"
                "start -> a\n"
                "a -> alpha [weight=1]\n"
                "a -> zulu [weight=5]\n"
                "alpha -> exit\n zulu -> exit }");
    fx_run(&f);
    assert_completed(&f, "start,a,zulu,exit");
    assert_string_equal(jstr(nth_event(&f, "edge_selected", 1), "reason"), "weight");
    fx_free(&f);
}

static void test_edge_lexical_tiebreak(void **state)
{
    fx f;
    fx_init(&f, "digraph E {\n start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "a [type=\"script\"]\n bravo [type=\"script\"]\n alpha [type=\"script\"]\n"
                "start -> a\n"
                "a -> bravo [weight=2]\n a -> alpha [weight=2]\n"
                "alpha -> exit\n bravo -> exit }");
    fx_run(&f);
    assert_completed(&f, "start,a,alpha,exit");
    assert_string_equal(jstr(nth_event(&f, "edge_selected", 1), "reason"), "lexical");
    fx_free(&f);
}

static void test_context_updates_visible_to_next(void **state)
{
    fx f;
    fx_init(&f, "digraph C {\n start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "writer [type=\"script\", t_set=\"review.verdict=lgtm\"]\n"
                "reader [type=\"script\", t_read=\"review.verdict\"]\n"
                "after [type=\"script\", t_read=\"outcome\"]\n"
                "start -> writer -> reader -> after -> exit }");
    fx_run(&f);
    assert_string_equal(jstr(f.s.seen, "reader"), "lgtm");
    assert_string_equal(jstr(f.s.seen, "after"), "success");
    json_t *cp = fx_checkpoint(&f);
    assert_string_equal(jstr(json_object_get(cp, "context"), "review.verdict"), "lgtm");
    json_decref(cp);
    fx_free(&f);
}

static const char *resume_dot =
    "digraph Resume {\n graph [goal=\"resume me\"]\n"
    " start [shape=Mdiamond]\n exit [shape=Msquare]\n"
    "a [type=\"script\", t_set=\"k.a=1\"]\n"
    "b [type=\"script\", t_set=\"k.b=2\", max_retries=1, t_fail_times=1,"
    " retry_initial_delay=\"1ms\"]\n"
    "c [type=\"script\", t_set=\"k.c=3\", t_read=\"k.b\"]\n"
    "check [shape=diamond]\n"
    "d [prompt=\"D\"]\n e [type=\"script\", t_set=\"k.e=5\"]\n"
    "start -> a -> b -> c -> check\n"
    "check -> d [condition=\"outcome=success\"]\n"
    "check -> exit [condition=\"outcome!=success\"]\n"
    "d -> e -> exit }";

/* A run stopped at its 4th scripted call (node c) and resumed with a new
 * engine ends exactly like an uninterrupted one. */
static void test_checkpoint_resume_same_result(void **state)
{
    fx ref;
    fx_init_file(&ref, resume_dot);
    fx_run(&ref);
    assert_int_equal(ref.res.status, LO_SUCCESS);
    json_t *want = fx_checkpoint(&ref);

    fx f;
    fx_init_file(&f, resume_dot);
    fx_engine(&f);
    f.s.cancel_at = 4; /* a, b (fails), b, c */
    assert_int_equal(fx_run_engine(&f, false), 0);
    assert_true(f.res.interrupted);
    json_t *mid = fx_checkpoint(&f);
    assert_string_equal(jstr(mid, "state"), "interrupted");
    assert_string_equal(jstr(mid, "next_node"), "c");
    assert_string_equal(joined(json_object_get(mid, "completed_nodes")), "start,a,b");
    json_decref(mid);
    assert_int_equal(count_events(&f, "pipeline_interrupted", NULL), 1);

    /* a new engine on the same run directory, no cancel this time */
    script_reset(&f.s);
    fx_engine(&f);
    assert_int_equal(fx_run_engine(&f, true), 0);
    assert_int_equal(f.res.status, LO_SUCCESS);
    assert_false(f.res.interrupted);
    assert_string_equal(joined(f.s.order), "c,e");
    assert_string_equal(jstr(f.s.seen, "c"), "2");
    assert_int_equal(count_events(&f, "pipeline_resumed", NULL), 1);

    json_t *got = fx_checkpoint(&f);
    static const char *const keys[] = {"completed_nodes", "node_outcomes", "node_retries",
                                       "context", "state", "current_node"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_t *a = json_object_get(want, keys[i]), *b = json_object_get(got, keys[i]);
        if (!json_equal(a, b)) {
            char *sa = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
            char *sb = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
            print_error("%s differs:\n  uninterrupted %s\n  resumed       %s\n", keys[i], sa, sb);
            free(sa);
            free(sb);
            fail();
        }
    }
    /* one run id across the interruption */
    assert_string_equal(jstr(got, "run_id"), lo_engine_run_id(f.e));
    json_decref(got);
    json_decref(want);
    fx_free(&f);
    fx_free(&ref);
}

static int other_handler(lo_stage *st, lo_outcome *out, void *ud, lo_error *err)
{
    int *n = ud;
    (*n)++;
    out->status = LO_SUCCESS;
    return lo_outcome_update_str(out, "custom.ran", st->node->id);
}

static void test_custom_handler_registration(void **state)
{
    fx f;
    fx_init(&f, "digraph X {\n start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "mine [type=\"my.handler\"]\n"
                "boxed [shape=box, prompt=\"p\"]\n"
                "start -> mine -> boxed -> exit }");
    fx_engine(&f);
    int mine = 0, codergen = 0, replaced = 0;
    assert_int_equal(lo_engine_register(f.e, "my.handler", other_handler, &replaced), 0);
    /* registering a type again replaces the handler */
    assert_int_equal(lo_engine_register(f.e, "my.handler", other_handler, &mine), 0);
    /* and so does registering a built-in type */
    assert_int_equal(lo_engine_register(f.e, "codergen", other_handler, &codergen), 0);
    assert_int_equal(fx_run_engine(&f, false), 0);
    assert_int_equal(f.res.status, LO_SUCCESS);
    assert_int_equal(mine, 1);
    assert_int_equal(codergen, 1);
    assert_int_equal(replaced, 0);
    assert_string_equal(handler_of(&f, "mine"), "my.handler");
    assert_string_equal(handler_of(&f, "boxed"), "codergen");
    assert_false(exists(f.logs, "boxed/response.md")); /* not the built-in */
    json_t *cp = fx_checkpoint(&f);
    assert_string_equal(jstr(json_object_get(cp, "context"), "custom.ran"), "boxed");
    json_decref(cp);
    fx_free(&f);
}

static void test_twelve_node_pipeline(void **state)
{
    fx f;
    fx_init(&f, "digraph Twelve {\n graph [goal=\"twelve\"]\n"
                "start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "n1 [prompt=\"one $goal\"]\n n2 [prompt=\"two\"]\n"
                "n3 [type=\"script\", t_set=\"route=left\"]\n"
                "fork [shape=diamond]\n"
                "left1 [prompt=\"l1\"]\n left2 [type=\"script\"]\n"
                "right1 [prompt=\"r1\"]\n"
                "join [prompt=\"join\"]\n n9 [prompt=\"nine\"]\n n10 [type=\"script\"]\n"
                "start -> n1 -> n2 -> n3 -> fork\n"
                "fork -> left1 [condition=\"context.route=left\"]\n"
                "fork -> right1 [condition=\"context.route=right\"]\n"
                "left1 -> left2 -> join\n right1 -> join\n"
                "join -> n9 -> n10 -> exit }");
    assert_true(f.g->n_nodes >= 12);
    fx_run(&f);
    assert_int_equal(f.res.status, LO_SUCCESS);
    assert_completed(&f, "start,n1,n2,n3,fork,left1,left2,join,n9,n10,exit");
    assert_int_equal(f.res.stages_run, 11);
    fx_free(&f);
}

/* =================== §11.3-§11.9 =================== */

static void test_handler_resolution_shape_and_type(void **state)
{
    fx f;
    fx_init(&f, "digraph R {\n start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "box1 [shape=box, prompt=\"p\"]\n"
                "plain [prompt=\"no shape: box by default\"]\n"
                "human [shape=hexagon, label=\"ok?\"]\n"
                "cond [shape=diamond]\n"
                "typed [shape=box, type=\"script\"]\n"
                "typed_human [shape=box, type=\"wait.human\", label=\"sure?\"]\n"
                "unknown [type=\"no.such.type\", prompt=\"falls back\"]\n"
                "start -> box1 -> plain -> human -> cond -> typed -> typed_human -> unknown\n"
                "unknown -> exit }");
    fx_run(&f);
    assert_int_equal(f.res.status, LO_SUCCESS);
    assert_string_equal(handler_of(&f, "start"), "start");
    assert_string_equal(handler_of(&f, "box1"), "codergen");
    assert_string_equal(handler_of(&f, "plain"), "codergen");
    assert_string_equal(handler_of(&f, "human"), "wait.human");
    assert_string_equal(handler_of(&f, "cond"), "conditional");
    assert_string_equal(handler_of(&f, "typed"), "script");
    assert_string_equal(handler_of(&f, "typed_human"), "wait.human");
    /* §4.2 step 3: a type nobody registered gets the default handler */
    assert_string_equal(handler_of(&f, "unknown"), "codergen");
    assert_int_equal(script_calls(&f.s, "typed"), 1);
    fx_free(&f);
}

static void test_status_json_per_node(void **state)
{
    fx f;
    fx_init(&f, "digraph S {\n start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "s [type=\"script\", t_label=\"Yes\", t_next=\"x\", t_set=\"k=v\"]\n"
                "x [type=\"script\"]\n"
                "bad [type=\"script\", t_status=\"fail\"]\n"
                "start -> s -> x -> bad\n bad -> exit [condition=\"outcome=fail\"] }");
    fx_run(&f);
    json_t *st = load_json(f.logs, "s/status.json");
    assert_non_null(st);
    assert_string_equal(jstr(st, "outcome"), "success");
    assert_string_equal(jstr(st, "preferred_label"), "Yes");
    assert_string_equal(joined(json_object_get(st, "suggested_next_ids")), "x");
    assert_string_equal(jstr(json_object_get(st, "context_updates"), "k"), "v");
    assert_string_equal(jstr(st, "notes"), "script ran s");
    json_decref(st);
    /* every Appendix C field is present on every stage */
    for (const char *const *n = (const char *const[]){"start", "s", "x", "bad", NULL}; *n; n++) {
        char rel[64];
        snprintf(rel, sizeof rel, "%s/status.json", *n);
        st = load_json(f.logs, rel);
        if (!st)
            fail_msg("no %s", rel);
        assert_true(json_is_string(json_object_get(st, "outcome")));
        assert_true(json_is_string(json_object_get(st, "preferred_label")));
        assert_true(json_is_array(json_object_get(st, "suggested_next_ids")));
        assert_true(json_is_object(json_object_get(st, "context_updates")));
        assert_true(json_is_string(json_object_get(st, "notes")));
        lo_outcome o;
        lo_error err;
        char path[PATH_MAX];
        assert_true(snprintf(path, sizeof path, "%s/%s", f.logs, rel) < (int)sizeof path);
        assert_int_equal(lo_outcome_read(path, &o, &err), 0);
        lo_outcome_release(&o);
        json_decref(st);
    }
    st = load_json(f.logs, "bad/status.json");
    assert_string_equal(jstr(st, "outcome"), "fail");
    assert_string_equal(jstr(st, "failure_reason"), "scripted fail of bad");
    json_decref(st);
    fx_free(&f);
}

static void test_codergen_prompt_and_response(void **state)
{
    fx f;
    fx_init(&f, "digraph P {\n graph [goal=\"ship the CSV export\"]\n"
                "start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "plan [shape=box, prompt=\"Plan: $goal, then $goal again\"]\n"
                "labelled [shape=box, label=\"Only a label\"]\n"
                "start -> plan -> labelled -> exit }");
    fx_run(&f);
    char *p = slurp(f.logs, "plan/prompt.md");
    assert_non_null(p);
    assert_ends_with(p, "Plan: ship the CSV export, then ship the CSV export again");
    free(p);
    p = slurp(f.logs, "plan/response.md");
    assert_non_null(p);
    assert_string_equal(p, "[Simulated] Response for stage: plan");
    free(p);
    /* no prompt: the label is the prompt */
    p = slurp(f.logs, "labelled/prompt.md");
    assert_non_null(p);
    assert_ends_with(p, "Only a label");
    free(p);
    json_t *cp = fx_checkpoint(&f);
    json_t *ctx = json_object_get(cp, "context");
    assert_string_equal(jstr(ctx, "last_stage"), "labelled");
    assert_string_equal(jstr(ctx, "last_response"), "[Simulated] Response for stage: labelled");
    assert_string_equal(jstr(ctx, "graph.goal"), "ship the CSV export");
    json_decref(cp);
    assert_int_equal(count_events(&f, "codergen_started", "plan"), 1);
    fx_free(&f);
}

static void test_preferred_label_accelerator(void **state)
{
    static const struct { const char *preferred, *want; } cases[] = {
        {"yes", "start,ask,yes_path,exit"},     /* plain word vs "[Y] Yes" */
        {"[N] No", "start,ask,no_path,exit"},   /* with accelerator vs "n) no" */
        {"  MAYBE ", "start,ask,maybe_path,exit"}, /* case and blanks vs "M - Maybe" */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char dot[1024];
        snprintf(dot, sizeof dot,
                 "digraph L {\n start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                 "ask [type=\"script\", t_label=\"%s\"]\n"
                 "yes_path [type=\"script\"]\n no_path [type=\"script\"]\n"
                 "maybe_path [type=\"script\"]\n"
                 "start -> ask\n"
                 "ask -> yes_path [label=\"[Y] Yes\"]\n"
                 "ask -> no_path [label=\"n) no\"]\n"
                 "ask -> maybe_path [label=\"M - Maybe\"]\n"
                 "yes_path -> exit\n no_path -> exit\n maybe_path -> exit }",
                 cases[i].preferred);
        fx f;
        fx_init(&f, dot);
        fx_run(&f);
        assert_completed(&f, cases[i].want);
        assert_string_equal(jstr(nth_event(&f, "edge_selected", 1), "reason"),
                            "preferred_label");
        json_t *cp = fx_checkpoint(&f);
        assert_string_equal(jstr(json_object_get(cp, "context"), "preferred_label"),
                            cases[i].preferred);
        json_decref(cp);
        fx_free(&f);
    }
}

static void test_suggested_next_ids(void **state)
{
    fx f;
    fx_init(&f, "digraph N {\n start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "a [type=\"script\", t_next=\"zed\"]\n"
                "alpha [type=\"script\"]\n zed [type=\"script\"]\n"
                "start -> a\n a -> alpha [weight=9]\n a -> zed\n"
                "alpha -> exit\n zed -> exit }");
    fx_run(&f);
    assert_completed(&f, "start,a,zed,exit");
    assert_string_equal(jstr(nth_event(&f, "edge_selected", 1), "reason"), "suggested_next_id");
    fx_free(&f);
}

static void test_allow_partial_after_retry_exhaustion(void **state)
{
    fx f;
    fx_init(&f, "digraph P {\n start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "r [type=\"script\", t_fail_times=99, t_fail_status=\"retry\", max_retries=2,"
                " allow_partial=true, retry_initial_delay=\"1ms\"]\n"
                "start -> r -> exit }");
    fx_run(&f);
    assert_int_equal(script_calls(&f.s, "r"), 3);
    assert_int_equal(f.res.status, LO_PARTIAL_SUCCESS);
    json_t *cp = fx_checkpoint(&f);
    assert_string_equal(jstr(json_object_get(cp, "node_outcomes"), "r"), "partial_success");
    json_decref(cp);
    assert_int_equal(count_events(&f, "stage_retrying", "r"), 2);
    fx_free(&f);

    /* the same without allow_partial: FAIL, "max retries exceeded" */
    fx_init(&f, "digraph P {\n start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "r [type=\"script\", t_fail_times=99, t_fail_status=\"retry\", max_retries=1,"
                " retry_initial_delay=\"1ms\"]\n"
                "start -> r -> exit }");
    fx_run(&f);
    assert_int_equal(script_calls(&f.s, "r"), 2);
    assert_int_equal(f.res.status, LO_FAIL);
    assert_contains(f.res.failure_reason, "max retries exceeded");
    fx_free(&f);
}

static void test_default_max_retries_inherited(void **state)
{
    fx f;
    fx_init(&f, "digraph D {\n graph [default_max_retries=2]\n"
                "start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "inherits [type=\"script\", t_fail_times=2, retry_initial_delay=\"1ms\"]\n"
                "own [type=\"script\", t_fail_times=1, max_retries=0]\n"
                "start -> inherits -> own\n own -> exit\n"
                "own -> exit [condition=\"outcome=fail\"] }");
    fx_run(&f);
    assert_int_equal(script_calls(&f.s, "inherits"), 3);
    /* an explicit max_retries=0 wins over the graph's default */
    assert_int_equal(script_calls(&f.s, "own"), 1);
    fx_free(&f);

    /* the legacy alias */
    fx_init(&f, "digraph D {\n graph [default_max_retry=1]\n"
                "start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "inherits [type=\"script\", t_fail_times=1, retry_initial_delay=\"1ms\"]\n"
                "start -> inherits -> exit }");
    fx_run(&f);
    assert_int_equal(script_calls(&f.s, "inherits"), 2);
    assert_int_equal(f.res.status, LO_SUCCESS);
    fx_free(&f);
}

static void test_backoff_delays(void **state)
{
    fx f;
    fx_init(&f, "digraph B {\n start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "slow [type=\"script\", t_fail_times=2, max_retries=2,"
                " retry_initial_delay=\"50ms\", retry_jitter=false]\n"
                "start -> slow -> exit }");
    fx_run(&f);
    assert_int_equal(f.res.status, LO_SUCCESS);
    assert_int_equal(script_calls(&f.s, "slow"), 3);
    /* 50 ms then 100 ms (factor 2), no jitter */
    assert_int_equal(json_integer_value(json_object_get(nth_event(&f, "stage_retrying", 0),
                                                        "delay_ms")), 50);
    assert_int_equal(json_integer_value(json_object_get(nth_event(&f, "stage_retrying", 1),
                                                        "delay_ms")), 100);
    if (f.elapsed_ms < 150)
        fail_msg("two retries took %lld ms, want >= 150", (long long)f.elapsed_ms);
    if (f.elapsed_ms > 2000)
        fail_msg("two retries took %lld ms, far more than 150", (long long)f.elapsed_ms);
    fx_free(&f);

    /* with jitter every delay lies in [0.5, 1.5) of the nominal one */
    fx_init(&f, "digraph B {\n start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "slow [type=\"script\", t_fail_times=3, max_retries=3,"
                " retry_initial_delay=\"20ms\", retry_backoff_factor=1.5]\n"
                "start -> slow -> exit }");
    fx_run(&f);
    double nominal = 20;
    for (size_t i = 0; i < 3; i++, nominal *= 1.5) {
        json_int_t d = json_integer_value(json_object_get(nth_event(&f, "stage_retrying", i),
                                                          "delay_ms"));
        if (d < (json_int_t)(nominal * 0.5) - 1 || d >= (json_int_t)(nominal * 1.5) + 1)
            fail_msg("retry %zu: delay %lld ms outside [%.0f, %.0f)", i, (long long)d,
                     nominal * 0.5, nominal * 1.5);
    }
    fx_free(&f);
}

static void test_fail_follows_fail_edge(void **state)
{
    fx f;
    fx_init(&f, "digraph F {\n start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "work [type=\"script\", t_status=\"fail\", retry_target=\"never\"]\n"
                "never [type=\"script\"]\n recover [type=\"script\"]\n next [type=\"script\"]\n"
                "start -> work\n work -> next\n work -> recover [condition=\"outcome=fail\"]\n"
                "recover -> exit\n next -> exit\n never -> exit }");
    fx_run(&f);
    assert_int_equal(f.res.status, LO_SUCCESS);
    assert_completed(&f, "start,work,recover,exit");
    fx_free(&f);
}

static void test_fail_follows_retry_target(void **state)
{
    fx f;
    fx_init(&f, "digraph F {\n start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "work [type=\"script\", t_fail_times=1, retry_target=\"fixer\"]\n"
                "fixer [type=\"script\"]\n next [type=\"script\"]\n"
                "start -> work -> next -> exit\n fixer -> work }");
    fx_run(&f);
    assert_int_equal(f.res.status, LO_SUCCESS);
    assert_completed(&f, "start,work,fixer,work,next,exit");
    json_t *sel = nth_event(&f, "edge_selected", 1);
    assert_string_equal(jstr(sel, "to"), "fixer");
    assert_string_equal(jstr(sel, "reason"), "retry_target");
    fx_free(&f);

    /* fallback_retry_target when there is no retry_target */
    fx_init(&f, "digraph F {\n start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "work [type=\"script\", t_fail_times=1, fallback_retry_target=\"fixer\"]\n"
                "fixer [type=\"script\"]\n next [type=\"script\"]\n"
                "start -> work -> next -> exit\n fixer -> work }");
    fx_run(&f);
    assert_completed(&f, "start,work,fixer,work,next,exit");
    fx_free(&f);
}

static void test_fail_without_route_fails_run(void **state)
{
    fx f;
    fx_init(&f, "digraph F {\n start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "work [type=\"script\", t_status=\"fail\"]\n next [type=\"script\"]\n"
                "start -> work -> next -> exit }");
    fx_run(&f);
    assert_int_equal(f.res.status, LO_FAIL);
    assert_false(f.res.interrupted);
    assert_string_equal(f.res.last_node, "work");
    assert_contains(f.res.failure_reason, "work");
    assert_contains(f.res.failure_reason, "scripted fail of work");
    assert_int_equal(script_calls(&f.s, "next"), 0);
    json_t *cp = fx_checkpoint(&f);
    assert_string_equal(jstr(cp, "state"), "failed");
    assert_string_equal(jstr(json_object_get(cp, "node_outcomes"), "work"), "fail");
    json_decref(cp);
    json_t *last = json_array_get(f.events, json_array_size(f.events) - 1);
    assert_string_equal(jstr(last, "type"), "pipeline_failed");
    assert_contains(jstr(last, "error"), "scripted fail of work");
    fx_free(&f);
}

/* A handler that returns an error ("throws") is a FAIL with its message. */
static void test_handler_error_is_fail(void **state)
{
    fx f;
    fx_init(&f, "digraph T {\n start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "boom [type=\"script\", t_error=\"disk on fire\"]\n"
                "start -> boom -> exit }");
    fx_run(&f);
    assert_int_equal(f.res.status, LO_FAIL);
    assert_contains(f.res.failure_reason, "disk on fire");
    json_t *st = load_json(f.logs, "boom/status.json");
    assert_string_equal(jstr(st, "outcome"), "fail");
    assert_string_equal(jstr(st, "failure_reason"), "disk on fire");
    json_decref(st);
    fx_free(&f);
}

static void test_node_timeout(void **state)
{
    fx f;
    fx_init(&f, "digraph T {\n start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "slow [type=\"script\", t_sleep_ms=150, timeout=\"50ms\"]\n"
                "quick [type=\"script\", t_sleep_ms=1, timeout=\"5s\"]\n"
                "recover [type=\"script\"]\n"
                "start -> quick -> slow -> exit\n"
                "slow -> recover [condition=\"outcome=fail\"]\n recover -> exit }");
    fx_run(&f);
    assert_int_equal(f.res.status, LO_SUCCESS);
    assert_completed(&f, "start,quick,slow,recover,exit");
    json_t *st = load_json(f.logs, "slow/status.json");
    assert_string_equal(jstr(st, "outcome"), "fail");
    assert_contains(jstr(st, "failure_reason"), "timed out");
    json_decref(st);
    st = load_json(f.logs, "quick/status.json");
    assert_string_equal(jstr(st, "outcome"), "success");
    json_decref(st);
    fx_free(&f);
}

static void test_stall_watchdog(void **state)
{
    fx f;
    fx_init(&f, "digraph W {\n start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "stuck [type=\"script\", t_poll=true]\n"
                "after [type=\"script\"]\n"
                "start -> stuck -> exit\n"
                "stuck -> after [condition=\"outcome=fail\"]\n after -> exit }");
    f.cfg.stall_timeout_ms = 200;
    fx_run(&f);
    assert_true(f.s.poll_saw_cancel);
    if (f.elapsed_ms > 2000)
        fail_msg("the stall took %lld ms to notice (stall_timeout 200 ms)",
                 (long long)f.elapsed_ms);
    json_t *st = load_json(f.logs, "stuck/status.json");
    assert_string_equal(jstr(st, "outcome"), "fail");
    assert_contains(jstr(st, "failure_reason"), "stalled");
    json_decref(st);
    /* a stall stops one stage, not the run */
    assert_false(f.res.interrupted);
    assert_int_equal(f.res.status, LO_SUCCESS);
    assert_completed(&f, "start,stuck,after,exit");
    fx_free(&f);

    /* with no route, the run fails with the stall as its reason */
    fx_init(&f, "digraph W {\n start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "stuck [type=\"script\", t_poll=true]\n start -> stuck -> exit }");
    f.cfg.stall_timeout_ms = 200;
    fx_run(&f);
    assert_int_equal(f.res.status, LO_FAIL);
    assert_contains(f.res.failure_reason, "stalled");
    fx_free(&f);
}

static void test_loop_restart(void **state)
{
    fx f;
    fx_init(&f, "digraph L {\n graph [goal=\"loop\", label=\"Looper\"]\n"
                "start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "a [type=\"script\", t_set=\"mark=set\"]\n"
                "b [type=\"script\", t_fail_times=1]\n"
                "start -> a -> b\n"
                "b -> a [condition=\"outcome=fail\", loop_restart=true]\n"
                "b -> exit [condition=\"outcome=success\"] }");
    fx_run(&f);
    assert_int_equal(f.res.status, LO_SUCCESS);
    assert_string_equal(joined(f.s.order), "a,b,a,b");
    assert_int_equal(count_events(&f, "loop_restarted", NULL), 1);
    /* the restarted run logs into a fresh directory */
    assert_true(exists(f.logs, "a/status.json"));
    assert_true(exists(f.logs, "restart-1/a/status.json"));
    assert_true(exists(f.logs, "restart-1/b/status.json"));
    json_t *cp = fx_checkpoint(&f);
    assert_int_equal(json_integer_value(json_object_get(cp, "restarts")), 1);
    assert_string_equal(joined(json_object_get(cp, "completed_nodes")), "a,b,exit");
    json_t *ctx = json_object_get(cp, "context");
    assert_string_equal(jstr(ctx, "graph.goal"), "loop");
    assert_string_equal(jstr(ctx, "mark"), "set");
    json_decref(cp);
    fx_free(&f);
}

/* events.jsonl: one JSON object a line, seq 1, 2, 3 ..., ending with the
 * pipeline's end. */
static void check_events_file(fx *f, const char *last_type)
{
    char *text = slurp(f->logs, "events.jsonl");
    assert_non_null(text);
    size_t n = 0;
    json_int_t seq = 0;
    const char *last = "";
    json_t *prev = NULL;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        json_error_t je;
        json_t *ev = json_loads(line, 0, &je);
        if (!json_is_object(ev))
            fail_msg("events.jsonl line %zu is not a JSON object: %s", n + 1, line);
        json_int_t s = json_integer_value(json_object_get(ev, "seq"));
        if (s != seq + 1)
            fail_msg("events.jsonl line %zu: seq %lld after %lld", n + 1, (long long)s,
                     (long long)seq);
        seq = s;
        assert_true(json_is_string(json_object_get(ev, "ts")));
        assert_string_equal(jstr(ev, "run_id"), lo_engine_run_id(f->e));
        json_decref(prev);
        prev = ev;
        last = jstr(ev, "type");
        n++;
    }
    assert_string_equal(last, last_type);
    assert_int_equal(n, json_array_size(f->events)); /* the observer saw each one */
    json_decref(prev);
    free(text);
}

static void test_events_jsonl(void **state)
{
    fx f;
    fx_init(&f, "digraph E {\n start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "a [prompt=\"a\"]\n b [type=\"script\"]\n start -> a -> b -> exit }");
    fx_run(&f);
    check_events_file(&f, "pipeline_completed");
    assert_string_equal(jstr(json_array_get(f.events, 0), "type"), "pipeline_started");
    fx_free(&f);

    fx_init(&f, "digraph E {\n start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "a [type=\"script\", t_status=\"fail\"]\n start -> a -> exit }");
    fx_run(&f);
    check_events_file(&f, "pipeline_failed");
    fx_free(&f);
}

static void test_manifest_fields(void **state)
{
    fx f;
    fx_init_file(&f, "digraph Manifested {\n graph [goal=\"list the fields\"]\n"
                     "start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                     "a [prompt=\"a\"]\n start -> a -> exit }");
    fx_run(&f);
    json_t *m = load_json(f.logs, "manifest.json");
    assert_non_null(m);
    assert_string_equal(jstr(m, "run_id"), lo_engine_run_id(f.e));
    assert_string_equal(jstr(m, "name"), "Manifested");
    assert_string_equal(jstr(m, "goal"), "list the fields");
    char real[PATH_MAX];
    assert_non_null(realpath(f.dot, real));
    assert_string_equal(jstr(m, "pipeline"), real);
    assert_true(lo_str_starts(jstr(m, "pipeline_hash"), "fnv1a64:"));
    const char *ts = jstr(m, "started_at");
    assert_int_equal(strlen(ts), strlen("2026-01-01T00:00:00.000Z"));
    assert_int_equal(ts[10], 'T');
    assert_int_equal(ts[strlen(ts) - 1], 'Z');
    assert_string_equal(jstr(m, "backend"), "sim");
    assert_non_null(realpath(f.dir, real));
    assert_string_equal(jstr(m, "workdir"), real);
    assert_string_equal(jstr(m, "lightsout_version"), LO_VERSION);
    json_decref(m);
    fx_free(&f);
}

static const char *cancel_dot =
    "digraph Cancel {\n start [shape=Mdiamond]\n exit [shape=Msquare]\n"
    "a [type=\"script\"]\n b [type=\"script\"]\n c [type=\"script\"]\n"
    "start -> a -> b -> c -> exit }\n";

static void test_resume_refuses_changed_pipeline(void **state)
{
    fx f;
    fx_init_file(&f, cancel_dot);
    fx_engine(&f);
    f.s.cancel_at = 2;
    assert_int_equal(fx_run_engine(&f, false), 0);
    assert_true(f.res.interrupted);
    /* change the file under the run */
    FILE *fp = fopen(f.dot, "a");
    assert_non_null(fp);
    fputs("// edited\n", fp);
    fclose(fp);
    script_reset(&f.s);
    fx_engine(&f);
    assert_int_equal(fx_run_engine(&f, true), LO_EINVAL);
    assert_contains(f.err.msg, "changed");
    assert_int_equal(f.s.total, 0);
    fx_free(&f);
}

static void test_resume_completed_run(void **state)
{
    fx f;
    fx_init_file(&f, cancel_dot);
    fx_run(&f);
    assert_int_equal(f.res.status, LO_SUCCESS);
    assert_int_equal(f.s.total, 3);
    json_t *before = fx_checkpoint(&f);
    script_reset(&f.s);
    fx_engine(&f);
    assert_int_equal(fx_run_engine(&f, true), 0);
    assert_int_equal(f.res.status, LO_SUCCESS);
    assert_false(f.res.interrupted);
    assert_int_equal(f.res.stages_run, 0);
    assert_int_equal(f.s.total, 0);
    json_t *after = fx_checkpoint(&f);
    assert_true(json_equal(json_object_get(before, "completed_nodes"),
                           json_object_get(after, "completed_nodes")));
    json_decref(before);
    json_decref(after);
    fx_free(&f);

    /* a failed run stays failed */
    fx_init_file(&f, "digraph Failed {\n start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                     "a [type=\"script\", t_status=\"fail\"]\n start -> a -> exit }\n");
    fx_run(&f);
    assert_int_equal(f.res.status, LO_FAIL);
    script_reset(&f.s);
    fx_engine(&f);
    assert_int_equal(fx_run_engine(&f, true), 0);
    assert_int_equal(f.res.status, LO_FAIL);
    assert_int_equal(f.s.total, 0);
    fx_free(&f);
}

/* resume on a directory that holds no run */
static void test_resume_without_checkpoint(void **state)
{
    fx f;
    fx_init_file(&f, cancel_dot);
    fx_engine(&f);
    int rc = fx_run_engine(&f, true);
    assert_true(rc < 0);
    assert_int_equal(f.s.total, 0);
    fx_free(&f);
}

/* Killed after the manifest but before the first checkpoint: resume starts
 * the run over under the same id. */
static void test_resume_before_first_checkpoint(void **state)
{
    fx f;
    fx_init_file(&f, cancel_dot);
    fx_run(&f);
    char run_id[64];
    snprintf(run_id, sizeof run_id, "%s", lo_engine_run_id(f.e));
    char cp[PATH_MAX];
    assert_true(snprintf(cp, sizeof cp, "%s/checkpoint.json", f.logs) < (int)sizeof cp);
    assert_int_equal(unlink(cp), 0);
    script_reset(&f.s);
    fx_engine(&f);
    assert_int_equal(fx_run_engine(&f, true), 0);
    assert_int_equal(f.res.status, LO_SUCCESS);
    assert_string_equal(joined(f.s.order), "a,b,c");
    assert_string_equal(lo_engine_run_id(f.e), run_id);
    assert_completed(&f, "start,a,b,c,exit");
    fx_free(&f);
}

/* --set values and graph attributes are in the context from the start. */
static void test_initial_context_and_graph_mirror(void **state)
{
    fx f;
    fx_init(&f, "digraph I {\n graph [goal=\"mirror\", label=\"Mirrored\"]\n"
                "start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "a [type=\"script\", t_read=\"user.flag\"]\n"
                "b [type=\"script\", t_read=\"graph.label\"]\n"
                "start -> a -> b -> exit }");
    json_t *init = json_pack("{s:s}", "user.flag", "on");
    f.cfg.initial_context = init;
    fx_run(&f);
    assert_string_equal(jstr(f.s.seen, "a"), "on");
    assert_string_equal(jstr(f.s.seen, "b"), "Mirrored");
    json_decref(init);
    fx_free(&f);
}

static const char *smoke_dot =
    "digraph test_pipeline {\n"
    "    graph [goal=\"Create a hello world Python script\"]\n"
    "\n"
    "    start       [shape=Mdiamond]\n"
    "    plan        [shape=box, prompt=\"Plan how to create a hello world script for: $goal\"]\n"
    "    implement   [shape=box, prompt=\"Write the code based on the plan\", goal_gate=true]\n"
    "    review      [shape=box, prompt=\"Review the code for correctness\"]\n"
    "    done        [shape=Msquare]\n"
    "\n"
    "    start -> plan\n"
    "    plan -> implement\n"
    "    implement -> review [condition=\"outcome=success\"]\n"
    "    implement -> plan   [condition=\"outcome=fail\", label=\"Retry\"]\n"
    "    review -> done      [condition=\"outcome=success\"]\n"
    "    review -> implement [condition=\"outcome=fail\", label=\"Fix\"]\n"
    "}\n";

static void test_smoke_pipeline(void **state)
{
    fx f;
    fx_init(&f, NULL);
    snprintf(f.dot, sizeof f.dot, "%s/smoke.dot", f.dir);
    write_text(f.dot, smoke_dot);
    /* 1-2: parse, transform, validate */
    lo_transforms *t = lo_transforms_new();
    lo_diags *d = lo_diags_new();
    lo_error err;
    f.g = lo_pipeline_prepare(f.dot, t, d, &err);
    assert_non_null(f.g);
    assert_string_equal(lo_graph_str(f.g, "goal"), "Create a hello world Python script");
    assert_int_equal(f.g->n_nodes, 5);
    assert_int_equal(f.g->n_edges, 6);
    assert_int_equal(lo_diags_count(d, LO_SEV_ERROR), 0);
    lo_diags_free(d);
    lo_transforms_free(t);
    /* 3: execute with the simulation backend */
    f.cfg.dot_path = f.dot;
    fx_run(&f);
    /* 4: verify */
    assert_int_equal(f.res.status, LO_SUCCESS);
    static const char *const stages[] = {"plan", "implement", "review"};
    static const char *const files[] = {"prompt.md", "response.md", "status.json"};
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 3; j++) {
            char rel[64];
            snprintf(rel, sizeof rel, "%s/%s", stages[i], files[j]);
            if (!exists(f.logs, rel))
                fail_msg("missing %s", rel);
        }
    char *p = slurp(f.logs, "plan/prompt.md");
    assert_ends_with(p, "Plan how to create a hello world script for: "
                        "Create a hello world Python script");
    free(p);
    /* 5: the goal gate is satisfied */
    json_t *cp = fx_checkpoint(&f);
    assert_string_equal(jstr(json_object_get(cp, "node_outcomes"), "implement"), "success");
    assert_int_equal(count_events(&f, "goal_gate_unsatisfied", NULL), 0);
    /* 6: the checkpoint */
    assert_string_equal(jstr(cp, "current_node"), "done");
    assert_string_equal(joined(json_object_get(cp, "completed_nodes")),
                        "start,plan,implement,review,done");
    json_decref(cp);
    fx_free(&f);
}

/* =================== lo_select_edge and lo_normalize_label =================== */

typedef struct sel_fx {
    lo_graph *g;
    lo_outcome o;
    lo_context *ctx;
} sel_fx;

static void sel_init(sel_fx *s, const char *edges)
{
    char dot[2048];
    snprintf(dot, sizeof dot, "digraph S { %s }", edges);
    s->g = parse(dot);
    assert_int_equal(lo_graph_index_edges(s->g), 0);
    lo_outcome_init(&s->o, LO_SUCCESS);
    s->ctx = lo_context_new();
}

static lo_selection sel_run(sel_fx *s, const char *from, json_t *trace)
{
    return lo_select_edge(s->g, lo_graph_node(s->g, from), &s->o, s->ctx, trace);
}

static const char *sel_to(sel_fx *s, const char *from, int *step)
{
    lo_selection r = sel_run(s, from, NULL);
    if (step)
        *step = r.step;
    return r.edge ? r.edge->to : "(none)";
}

static void sel_free(sel_fx *s)
{
    lo_outcome_release(&s->o);
    lo_context_free(s->ctx);
    lo_graph_free(s->g);
}

static void test_select_condition_beats_weight(void **state)
{
    sel_fx s;
    sel_init(&s, "a -> heavy [weight=100]; a -> cond [condition=\"outcome=success\"]");
    int step;
    assert_string_equal(sel_to(&s, "a", &step), "cond");
    assert_int_equal(step, 1);
    /* when the condition does not hold, weight decides */
    s.o.status = LO_PARTIAL_SUCCESS;
    assert_string_equal(sel_to(&s, "a", &step), "heavy");
    assert_int_equal(step, 4);
    sel_free(&s);
}

static void test_select_conditions_by_weight_then_lexical(void **state)
{
    sel_fx s;
    sel_init(&s, "a -> z1 [condition=\"outcome=success\", weight=1];"
                 "a -> z2 [condition=\"outcome=success\", weight=3];"
                 "a -> b2 [condition=\"outcome=success\", weight=3];"
                 "a -> no [condition=\"outcome=fail\", weight=9];"
                 "a -> plain [weight=50]");
    int step;
    assert_string_equal(sel_to(&s, "a", &step), "b2");
    assert_int_equal(step, 1);
    json_t *trace = json_array();
    sel_run(&s, "a", trace);
    assert_int_equal(json_array_size(trace), 4); /* the conditional edges */
    assert_string_equal(jstr(json_array_get(trace, 3), "result"), "false");
    assert_string_equal(jstr(json_array_get(trace, 0), "result"), "true");
    json_decref(trace);
    sel_free(&s);
}

static void test_select_weight_and_lexical(void **state)
{
    sel_fx s;
    sel_init(&s, "a -> c [weight=1]; a -> d [weight=5]; a -> b [weight=-1];"
                 "x -> zeta; x -> alpha; x -> mid");
    int step;
    assert_string_equal(sel_to(&s, "a", &step), "d");
    assert_int_equal(step, 4);
    assert_string_equal(sel_to(&s, "x", &step), "alpha");
    assert_int_equal(step, 5);
    sel_free(&s);
}

static void test_select_preferred_label_and_suggested(void **state)
{
    sel_fx s;
    sel_init(&s, "a -> yes_t [label=\"[Y] Yes\"]; a -> no_t [label=\"N) No\"];"
                 "a -> c_t [label=\"Yes\", condition=\"outcome=fail\"];"
                 "a -> heavy [weight=10]");
    int step;
    lo_outcome_set_label(&s.o, "yes");
    assert_string_equal(sel_to(&s, "a", &step), "yes_t");
    assert_int_equal(step, 2);
    lo_outcome_set_label(&s.o, "[N] no ");
    assert_string_equal(sel_to(&s, "a", &step), "no_t");
    /* a label that matches nothing falls through to suggested ids */
    lo_outcome_set_label(&s.o, "maybe");
    lo_outcome_add_next_id(&s.o, "nowhere");
    lo_outcome_add_next_id(&s.o, "no_t");
    lo_outcome_add_next_id(&s.o, "yes_t");
    assert_string_equal(sel_to(&s, "a", &step), "no_t");
    assert_int_equal(step, 3);
    /* a suggestion of a conditional edge's target does not count */
    lo_outcome_release(&s.o);
    lo_outcome_init(&s.o, LO_SUCCESS);
    lo_outcome_add_next_id(&s.o, "c_t");
    assert_string_equal(sel_to(&s, "a", &step), "heavy");
    assert_int_equal(step, 4);
    sel_free(&s);
}

static void test_select_fail_and_context(void **state)
{
    sel_fx s;
    sel_init(&s, "a -> next; a -> fix [condition=\"outcome=fail\"];"
                 "b -> next;"
                 "c -> on [condition=\"context.mode=fast && outcome=success\"];"
                 "c -> off [condition=\"context.mode!=fast\"]");
    s.o.status = LO_FAIL;
    int step;
    assert_string_equal(sel_to(&s, "a", &step), "fix");
    /* a failure takes only an edge whose condition holds (§3.7) */
    assert_string_equal(sel_to(&s, "b", &step), "(none)");
    assert_int_equal(step, 0);
    s.o.status = LO_SUCCESS;
    assert_string_equal(sel_to(&s, "c", NULL), "off"); /* missing key = "" */
    lo_context_set_str(s.ctx, "mode", "fast");
    assert_string_equal(sel_to(&s, "c", NULL), "on");
    /* no outgoing edges */
    assert_string_equal(sel_to(&s, "on", &step), "(none)");
    assert_int_equal(step, 0);
    sel_free(&s);
}

static void test_normalize_label(void **state)
{
    static const struct { const char *in, *want; } cases[] = {
        {"[Y] Yes", "yes"},      {"Y) Yes", "yes"},         {"Y - Yes", "yes"},
        {"yes", "yes"},          {"  YES  ", "yes"},        {"[A] Approve it", "approve it"},
        {"a) apply", "apply"},   {"Ship it", "ship it"},    {"", ""},
        {"  [F]   Fix  ", "fix"}, {"Go - now", "go - now"},
    };
    char out[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lo_normalize_label(cases[i].in, out, sizeof out);
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("lo_normalize_label(\"%s\") = \"%s\", want \"%s\"", cases[i].in, out,
                     cases[i].want);
    }
    lo_normalize_label(NULL, out, sizeof out);
    assert_string_equal(out, "");
    /* a small buffer truncates, NUL-terminated */
    char tiny[4];
    lo_normalize_label("[Y] Yessir", tiny, sizeof tiny);
    assert_string_equal(tiny, "yes");
}

static void test_events_seq_continues_after_resume(void **state)
{
    fx f;
    fx_init_file(&f, cancel_dot);
    fx_engine(&f);
    f.s.cancel_at = 2;
    assert_int_equal(fx_run_engine(&f, false), 0);
    assert_true(f.res.interrupted);
    script_reset(&f.s);
    fx_engine(&f);
    assert_int_equal(fx_run_engine(&f, true), 0);
    check_events_file(&f, "pipeline_completed");
    fx_free(&f);
}

static void test_loop_restart_keeps_graph_and_initial_context(void **state)
{
    fx f;
    fx_init(&f, "digraph L {\n graph [goal=\"loop\", label=\"Looper\"]\n"
                "start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                "a [type=\"script\"]\n"
                "b [type=\"script\", t_fail_times=1, t_read=\"user.flag\"]\n"
                "start -> a -> b\n"
                "b -> a [condition=\"outcome=fail\", loop_restart=true]\n"
                "b -> exit [condition=\"outcome=success\"] }");
    json_t *init = json_pack("{s:s}", "user.flag", "on");
    f.cfg.initial_context = init;
    fx_run(&f);
    assert_string_equal(jstr(f.s.seen, "b"), "on"); /* read on b's second visit */
    json_t *cp = fx_checkpoint(&f);
    assert_string_equal(jstr(json_object_get(cp, "context"), "graph.label"), "Looper");
    json_decref(cp);
    json_decref(init);
    fx_free(&f);
}

static void test_select_empty_normalized_label(void **state)
{
    sel_fx s;
    sel_init(&s, "b -> p [label=\"Yes\"]; b -> q [label=\"[Y]\"]; a -> x; a -> y [label=\"[Approve]\"]");
    int step;
    lo_outcome_set_label(&s.o, "[N]");
    /* "[N]" names no edge: not a label match with "[Y]" */
    sel_to(&s, "b", &step);
    assert_int_not_equal(step, 2);
    lo_outcome_set_label(&s.o, "[Approve]");
    assert_string_equal(sel_to(&s, "a", &step), "y");
    sel_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* §11.12 parity matrix */
        cmocka_unit_test(test_linear_three_nodes),
        cmocka_unit_test(test_branching_success_path),
        cmocka_unit_test(test_branching_fail_path),
        cmocka_unit_test(test_branching_through_diamond),
        cmocka_unit_test(test_retry_max_retries_2),
        cmocka_unit_test(test_retry_exhausted_fails),
        cmocka_unit_test(test_goal_gate_blocks_exit_until_satisfied),
        cmocka_unit_test(test_goal_gate_graph_retry_target),
        cmocka_unit_test(test_goal_gate_allows_exit_when_satisfied),
        cmocka_unit_test(test_goal_gate_no_retry_target_fails),
        cmocka_unit_test(test_wait_human_routes_on_selection),
        cmocka_unit_test(test_wait_human_skipped_fails),
        cmocka_unit_test(test_edge_condition_beats_weight),
        cmocka_unit_test(test_edge_weight_breaks_ties),
        cmocka_unit_test(test_edge_lexical_tiebreak),
        cmocka_unit_test(test_context_updates_visible_to_next),
        cmocka_unit_test(test_checkpoint_resume_same_result),
        cmocka_unit_test(test_custom_handler_registration),
        cmocka_unit_test(test_twelve_node_pipeline),
        /* §11.3-§11.9 */
        cmocka_unit_test(test_handler_resolution_shape_and_type),
        cmocka_unit_test(test_status_json_per_node),
        cmocka_unit_test(test_codergen_prompt_and_response),
        cmocka_unit_test(test_preferred_label_accelerator),
        cmocka_unit_test(test_suggested_next_ids),
        cmocka_unit_test(test_allow_partial_after_retry_exhaustion),
        cmocka_unit_test(test_default_max_retries_inherited),
        cmocka_unit_test(test_backoff_delays),
        cmocka_unit_test(test_fail_follows_fail_edge),
        cmocka_unit_test(test_fail_follows_retry_target),
        cmocka_unit_test(test_fail_without_route_fails_run),
        cmocka_unit_test(test_handler_error_is_fail),
        cmocka_unit_test(test_node_timeout),
        cmocka_unit_test(test_stall_watchdog),
        cmocka_unit_test(test_loop_restart),
        cmocka_unit_test(test_events_jsonl),
        cmocka_unit_test(test_manifest_fields),
        cmocka_unit_test(test_resume_refuses_changed_pipeline),
        cmocka_unit_test(test_resume_completed_run),
        cmocka_unit_test(test_resume_without_checkpoint),
        cmocka_unit_test(test_resume_before_first_checkpoint),
        cmocka_unit_test(test_initial_context_and_graph_mirror),
        cmocka_unit_test(test_smoke_pipeline),
        /* edge selection, directly */
        cmocka_unit_test(test_select_condition_beats_weight),
        cmocka_unit_test(test_select_conditions_by_weight_then_lexical),
        cmocka_unit_test(test_select_weight_and_lexical),
        cmocka_unit_test(test_select_preferred_label_and_suggested),
        cmocka_unit_test(test_select_fail_and_context),
        cmocka_unit_test(test_normalize_label),
        cmocka_unit_test(test_events_seq_continues_after_resume),
        cmocka_unit_test(test_loop_restart_keeps_graph_and_initial_context),
        cmocka_unit_test(test_select_empty_normalized_label),
    };
    return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
