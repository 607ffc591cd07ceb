/* Unit tests for the tool handler (src/pipeline/handlers/tool.c), run through
 * the engine: start -> run (the tool node) -> done. A wrapper registered as
 * "tool" keeps a copy of the handler's outcome for the checks. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#include "lightsout/engine.h"
#include "pipeline/handlers/builtin.h"

static char tmpdir[256];
static int run_no;

/* what the last tool call produced */
static json_t *seen;        /* lo_outcome_to_json of the outcome */
static int seen_rc;
static char seen_stage_dir[PATH_MAX];

static int wrap_tool(lo_stage *st, lo_outcome *out, void *ud, lo_error *err)
{
    int rc = lo_handler_tool(st, out, ud, err);
    json_decref(seen);
    seen = lo_outcome_to_json(out);
    seen_rc = rc;
    snprintf(seen_stage_dir, sizeof seen_stage_dir, "%s", st->stage_dir);
    return rc;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct run_out {
    lo_run_result res;
    char logs[PATH_MAX];
    int64_t ms;
} run_out;


/* Run a pipeline whose tool node has the given attributes (DOT text). */
static void run_tool(const char *attrs, run_out *ro)
{
    char dot[4096];
    snprintf(dot, sizeof dot,
             "digraph t {\n"
             "  start [shape=Mdiamond]\n"
             "  done [shape=Msquare]\n"
             "  run [shape=parallelogram, %s]\n"
             "  start -> run -> done\n"
             "}\n", attrs);
    lo_error err = {0};
    lo_graph *g = lo_graph_parse(dot, strlen(dot), "t.dot", &err);
    if (!g)
        fail_msg("parse: %s", err.msg);
    snprintf(ro->logs, sizeof ro->logs, "%s/run-%d", tmpdir, ++run_no);
    lo_engine_config cfg = {.logs_root = ro->logs, .workdir = tmpdir, .no_fsync = true};
    lo_engine *e = lo_engine_new(g, &cfg, &err);
    assert_non_null(e);
    assert_int_equal(lo_engine_register(e, "tool", wrap_tool, NULL), 0);
    json_decref(seen);
    seen = NULL;
    seen_rc = 0;
    int64_t t0 = now_ms();
    assert_int_equal(lo_engine_run(e, false, &ro->res, &err), 0);
    ro->ms = now_ms() - t0;
    lo_engine_free(e);
    lo_graph_free(g);
    assert_non_null(seen);
}

static const char *status_of(void)
{
    return json_string_value(json_object_get(seen, "outcome"));
}

static const char *reason_of(void)
{
    const char *s = json_string_value(json_object_get(seen, "failure_reason"));
    return s ? s : "";
}

static json_t *update(const char *key)
{
    return json_object_get(json_object_get(seen, "context_updates"), key);
}

static char *stage_file(const char *name)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", seen_stage_dir, name);
    char *data = NULL;
    size_t len = 0;
    lo_error err;
    if (lo_file_read(path, 0, &data, &len, &err))
        return NULL;
    return data;
}

static int setup(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lo-test-tool-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    json_decref(seen);
    seen = NULL;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_success(void **state)
{
    run_out ro;
    run_tool("tool_command=\"echo hello; echo warning >&2\"", &ro);
    assert_int_equal(seen_rc, 0);
    assert_string_equal(status_of(), "success");
    assert_string_equal(json_string_value(update("tool.output")), "hello");
    assert_int_equal(json_integer_value(update("tool.exit_code")), 0);
    assert_string_equal(json_string_value(json_object_get(seen, "notes")),
                        "tool completed: echo hello; echo warning >&2");
    char *out = stage_file("stdout.txt"), *err = stage_file("stderr.txt");
    assert_non_null(out);
    assert_non_null(err);
    assert_string_equal(out, "hello\n");
    assert_string_equal(err, "warning\n");
    free(out);
    free(err);
    assert_int_equal(ro.res.status, LO_SUCCESS);

    /* the events */
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/events.jsonl", ro.logs);
    char *ev = NULL;
    size_t len = 0;
    lo_error e2;
    assert_int_equal(lo_file_read(path, 0, &ev, &len, &e2), 0);
    const char *started = strstr(ev, "\"type\":\"tool_started\"");
    const char *finished = strstr(ev, "\"type\":\"tool_finished\"");
    assert_non_null(started);
    assert_non_null(finished);
    assert_true(started < finished);
    const char *line_end = strchr(finished, '\n');
    assert_non_null(line_end);
    const char *line = finished;
    while (line > ev && line[-1] != '\n')
        line--;
    json_error_t je;
    json_t *fin = json_loadb(line, (size_t)(line_end - line), 0, &je);
    assert_non_null(fin);
    assert_string_equal(json_string_value(json_object_get(fin, "node")), "run");
    assert_string_equal(json_string_value(json_object_get(fin, "command")),
                        "echo hello; echo warning >&2");
    assert_int_equal(json_integer_value(json_object_get(fin, "exit_code")), 0);
    assert_true(json_is_integer(json_object_get(fin, "wall_ms")));
    json_decref(fin);
    free(ev);
}

static void test_failure_reasons(void **state)
{
    run_out ro;
    run_tool("tool_command=\"echo out; echo 'first'>&2; echo 'bad thing happened' >&2; exit 3\"",
             &ro);
    assert_string_equal(status_of(), "fail");
    assert_string_equal(reason_of(), "command exited with status 3: bad thing happened");
    assert_int_equal(json_integer_value(update("tool.exit_code")), 3);
    assert_null(update("tool.output"));
    assert_int_equal(ro.res.status, LO_FAIL);

    /* nothing on stderr: the last line of stdout */
    run_tool("tool_command=\"echo one; echo only-stdout; echo; exit 1\"", &ro);
    assert_string_equal(reason_of(), "command exited with status 1: only-stdout");

    /* no output at all */
    run_tool("tool_command=\"exit 7\"", &ro);
    assert_string_equal(reason_of(), "command exited with status 7");
    assert_int_equal(json_integer_value(update("tool.exit_code")), 7);

    /* not found: the shell's message */
    run_tool("tool_command=\"lo-no-such-command-xyz\"", &ro);
    assert_true(strncmp(reason_of(), "command exited with status 127: ", 32) == 0);
    assert_non_null(strstr(reason_of(), "lo-no-such-command-xyz"));

    /* killed by a signal of its own */
    run_tool("tool_command=\"echo dying >&2; kill -KILL $$\"", &ro);
    assert_non_null(strstr(reason_of(), "command killed by signal 9"));
    assert_non_null(strstr(reason_of(), ": dying"));
}

static void test_no_command(void **state)
{
    run_out ro;
    run_tool("label=\"nothing\"", &ro);
    assert_string_equal(status_of(), "fail");
    assert_string_equal(reason_of(), "no tool_command on node run");
}

static void test_timeout(void **state)
{
    run_out ro;
    run_tool("timeout=\"200ms\", tool_command=\"echo begun; sleep 10\"", &ro);
    assert_string_equal(status_of(), "fail");
    assert_string_equal(reason_of(), "timed out after 0.2 s; the process group was stopped");
    assert_true(ro.ms < 1500);
    char *out = stage_file("stdout.txt");
    assert_string_equal(out, "begun\n");
    free(out);
}

static void test_stall(void **state)
{
    run_out ro;
    run_tool("stall_timeout=\"200ms\", tool_command=\"sleep 10\"", &ro);
    assert_string_equal(status_of(), "fail");
    /* the handler's watchdog fires; the engine's, watching the same
     * attribute, may win the race and reword it -- both name the stall */
    assert_non_null(strstr(ro.res.failure_reason, "stall"));
    assert_true(ro.ms < 1500);

    /* output keeps it going */
    run_tool("stall_timeout=\"300ms\", "
             "tool_command=\"for i in 1 2 3 4 5 6 7 8; do echo $i; sleep 0.1; done\"", &ro);
    assert_string_equal(status_of(), "success");
    assert_int_equal(ro.res.status, LO_SUCCESS);
}

static void *cancel_soon(void *arg)
{
    struct timespec ts = {0, 200 * 1000000L};
    nanosleep(&ts, NULL);
    lo_engine_cancel(arg);
    return NULL;
}

static void test_cancel(void **state)
{
    /* the engine pointer only exists inside run_tool: a tiny graph run by
     * hand instead */
    const char *dot = "digraph t { start [shape=Mdiamond]; done [shape=Msquare];"
                      " run [shape=parallelogram, tool_command=\"sleep 10\"];"
                      " start -> run -> done }";
    lo_error err = {0};
    lo_graph *g = lo_graph_parse(dot, strlen(dot), "t.dot", &err);
    assert_non_null(g);
    char logs[PATH_MAX];
    snprintf(logs, sizeof logs, "%s/run-cancel", tmpdir);
    lo_engine_config cfg = {.logs_root = logs, .workdir = tmpdir, .no_fsync = true};
    lo_engine *e = lo_engine_new(g, &cfg, &err);
    assert_non_null(e);
    assert_int_equal(lo_engine_register(e, "tool", wrap_tool, NULL), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, cancel_soon, e), 0);
    lo_run_result res;
    int64_t t0 = now_ms();
    lo_engine_run(e, false, &res, &err);
    int64_t took = now_ms() - t0;
    pthread_join(th, NULL);
    assert_true(res.interrupted);
    assert_non_null(seen);
    assert_string_equal(status_of(), "fail");
    assert_string_equal(reason_of(), "cancelled");
    assert_true(took < 1500);
    lo_engine_free(e);
    lo_graph_free(g);
}

static void test_env_and_workdir(void **state)
{
    run_out ro;
    setenv("LIGHTSOUT_STAGE", "stale-value", 1);
    setenv("LO_TOOL_INHERITED", "inherited", 1);
    run_tool("tool_command=\"printf '%s|%s|%s|%s|%s' "
             "$LIGHTSOUT_STAGE $LIGHTSOUT_STAGE_DIR $LIGHTSOUT_LOGS $LO_TOOL_INHERITED $(pwd -P)\"",
             &ro);
    unsetenv("LIGHTSOUT_STAGE");
    unsetenv("LO_TOOL_INHERITED");
    assert_string_equal(status_of(), "success");
    char real[PATH_MAX];
    assert_non_null(realpath(tmpdir, real));
    char want[4 * PATH_MAX];
    snprintf(want, sizeof want, "run|%s|%s|inherited|%s", seen_stage_dir, ro.logs, real);
    assert_string_equal(json_string_value(update("tool.output")), want);
}

static void test_output_limits(void **state)
{
    run_out ro;
    /* 100000 bytes: tool.output keeps 64 KiB and says so */
    run_tool("tool_command=\"head -c 100000 /dev/zero | tr '\\\\000' a\"", &ro);
    assert_string_equal(status_of(), "success");
    const char *o = json_string_value(update("tool.output"));
    assert_non_null(o);
    assert_int_equal(strspn(o, "a"), 65536);
    assert_string_equal(o + 65536, "\n[output truncated: 100000 bytes in all; see stdout.txt]");

    /* invalid UTF-8 and NUL bytes are replaced, so the value is JSON */
    run_tool("tool_command=\"printf 'a\\\\377b\\\\000c\\\\303\\\\251'\"", &ro);
    assert_string_equal(status_of(), "success");
    assert_string_equal(json_string_value(update("tool.output")),
                        "a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c\xC3\xA9");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success),
        cmocka_unit_test(test_failure_reasons),
        cmocka_unit_test(test_no_command),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_stall),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_env_and_workdir),
        cmocka_unit_test(test_output_limits),
    };
    return cmocka_run_group_tests_name("tool", tests, setup, teardown);
}
