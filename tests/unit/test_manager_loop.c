/* Unit tests for the manager loop (src/pipeline/handlers/manager_loop.c),
 * through the real engine: a parent pipeline start -> m (house) -> done
 * whose manager supervises a child pipeline run by the real lightsout
 * binary. In a unit test /proc/self/exe is this test program, so setup
 * points LIGHTSOUT_BIN at bin/lightsout ($LIGHTSOUT from `make test`, else
 * ../../bin/lightsout next to this binary); tests that need it return early
 * with a message when it is missing. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#include "lightsout/engine.h"
#include "lightsout/graph.h"

static char tmpdir[256];
static int run_no;
static bool have_bin;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The lightsout binary for the child runs; false when there is none. */
static bool find_binary(char *out, size_t n)
{
    char cand[PATH_MAX];
    const char *env = getenv("LIGHTSOUT");
    if (env && *env && realpath(env, out) && access(out, X_OK) == 0)
        return true;
    char self[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
    if (k > 0) {
        self[k] = '\0';
        char *slash = strrchr(self, '/');
        if (slash)
            *slash = '\0';
        if (snprintf(cand, sizeof cand, "%.4000s/../../bin/lightsout", self) > 0 &&
            realpath(cand, out) && access(out, X_OK) == 0)
            return true;
    }
    return realpath("bin/lightsout", out) && access(out, X_OK) == 0;
}

static bool need_binary(void)
{
    if (!have_bin)
        print_message("# bin/lightsout not found (set LIGHTSOUT); this test needs it to run "
                      "the child pipeline and does nothing\n");
    return have_bin;
}

static void write_file(const char *path, const char *text)
{
    lo_error err;
    assert_int_equal(lo_file_write_atomic(path, text, strlen(text), &err), 0);
}

/* A child pipeline in {tmpdir}/{name}: start -> s1 -> s2 ... -> done, one
 * tool stage per command. */
static void write_child(const char *name, const char *const *cmds, size_t n)
{
    lo_buf b;
    lo_buf_init(&b, 0);
    lo_buf_puts(&b, "digraph child {\n  start [shape=Mdiamond]\n  done [shape=Msquare]\n");
    for (size_t i = 0; i < n; i++)
        lo_buf_printf(&b, "  s%zu [shape=parallelogram, tool_command=\"%s\"]\n", i + 1, cmds[i]);
    lo_buf_puts(&b, "  start");
    for (size_t i = 0; i < n; i++)
        lo_buf_printf(&b, " -> s%zu", i + 1);
    lo_buf_puts(&b, " -> done\n}\n");
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    write_file(path, b.data);
    lo_buf_release(&b);
}

typedef struct run_out {
    lo_run_result res;
    char logs[PATH_MAX];
    int64_t ms;
    json_t *status;      /* {logs}/m/status.json */
    json_t *checkpoint;  /* the parent's checkpoint.json */
} run_out;

static void run_out_release(run_out *ro)
{
    json_decref(ro->status);
    json_decref(ro->checkpoint);
    ro->status = ro->checkpoint = NULL;
}

typedef struct canceller {
    lo_engine *e;
    int64_t after_ms;
} canceller;

static void *cancel_main(void *arg)
{
    canceller *c = arg;
    struct timespec ts = {0, (long)c->after_ms * 1000000L};
    nanosleep(&ts, NULL);
    lo_engine_cancel(c->e);
    return NULL;
}

/* Run the parent pipeline: graph attributes gattrs, manager attributes
 * mattrs. The parent file is written to {tmpdir}/parent.dot so the child
 * dotfile resolves against tmpdir; the workdir is tmpdir/work. When
 * cancel_ms > 0, a helper thread cancels the run after that long. */
static void run_parent(const char *gattrs, const char *mattrs, int64_t cancel_ms, run_out *ro)
{
    char dot[4096];
    snprintf(dot, sizeof dot,
             "digraph parent {\n"
             "  graph [%s]\n"
             "  start [shape=Mdiamond]\n"
             "  done [shape=Msquare]\n"
             "  m [shape=house, manager.poll_interval=\"100ms\", %s]\n"
             "  start -> m -> done\n"
             "}\n", gattrs, mattrs);
    char dot_path[PATH_MAX], workdir[PATH_MAX];
    snprintf(dot_path, sizeof dot_path, "%s/parent.dot", tmpdir);
    snprintf(workdir, sizeof workdir, "%s/work", tmpdir);
    write_file(dot_path, dot);
    lo_error err = {0};
    assert_int_equal(lo_mkdir_p(workdir, &err), 0);
    lo_graph *g = lo_graph_parse(dot, strlen(dot), dot_path, &err);
    if (!g)
        fail_msg("parse: %s", err.msg);
    lo_engine_config cfg = {.logs_root = ro->logs, .workdir = workdir, .dot_path = dot_path,
                            .no_fsync = true};
    lo_engine *e = lo_engine_new(g, &cfg, &err);
    assert_non_null(e);
    pthread_t th;
    canceller c = {e, cancel_ms};
    if (cancel_ms > 0)
        assert_int_equal(pthread_create(&th, NULL, cancel_main, &c), 0);
    int64_t t0 = now_ms();
    assert_int_equal(lo_engine_run(e, false, &ro->res, &err), 0);
    ro->ms = now_ms() - t0;
    if (cancel_ms > 0)
        pthread_join(th, NULL);
    lo_engine_free(e);
    lo_graph_free(g);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/m/status.json", ro->logs);
    ro->status = json_load_file(path, 0, NULL);
    snprintf(path, sizeof path, "%s/checkpoint.json", ro->logs);
    ro->checkpoint = json_load_file(path, 0, NULL);
    assert_non_null(ro->checkpoint);
}

static void new_logs(run_out *ro)
{
    memset(ro, 0, sizeof *ro);
    snprintf(ro->logs, sizeof ro->logs, "%s/run-%d", tmpdir, ++run_no);
}

static const char *ctx_value(const run_out *ro, const char *key)
{
    const char *s = json_string_value(
        json_object_get(json_object_get(ro->checkpoint, "context"), key));
    return s ? s : "";
}

static const char *stage_field(const run_out *ro, const char *key)
{
    const char *s = json_string_value(json_object_get(ro->status, key));
    return s ? s : "";
}

/* The child's checkpoint (NULL when none). */
static json_t *child_checkpoint(const run_out *ro)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/m/child/checkpoint.json", ro->logs);
    return json_load_file(path, 0, NULL);
}

/* The child process recorded in its checkpoint is gone (not even a zombie:
 * the manager reaped it). */
static void assert_child_gone(const run_out *ro)
{
    json_t *cp = child_checkpoint(ro);
    assert_non_null(cp);
    pid_t pid = (pid_t)json_integer_value(json_object_get(cp, "pid"));
    json_decref(cp);
    assert_true(pid > 0);
    assert_true(pid != getpid());
    int gone = 0;
    for (int i = 0; i < 20 && !gone; i++) {
        gone = kill(pid, 0) < 0 && errno == ESRCH;
        if (!gone) {
            struct timespec ts = {0, 50 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    assert_true(gone);
}

static bool events_have(const run_out *ro, const char *needle)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/events.jsonl", ro->logs);
    char *ev = NULL;
    size_t len = 0;
    lo_error err;
    if (lo_file_read(path, 0, &ev, &len, &err))
        return false;
    bool has = strstr(ev, needle) != NULL;
    free(ev);
    return has;
}

static int setup(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lo-test-manager-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    char bin[PATH_MAX];
    have_bin = find_binary(bin, sizeof bin);
    if (have_bin)
        setenv("LIGHTSOUT_BIN", bin, 1);
    return 0;
}

static int teardown(void **state)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The child runs to completion: the manager succeeds and the parent's
 * context mirrors the child. The dotfile is relative to the parent
 * pipeline's directory, not the workdir (tmpdir/work). */
static void test_child_completes(void **state)
{
    if (!need_binary())
        return;
    static const char *const cmds[] = {"sleep 0.1", "true"};
    write_child("ok.dot", cmds, 2);
    run_out ro;
    new_logs(&ro);
    run_parent("stack.child_dotfile=\"ok.dot\"", "manager.actions=\"observe,steer,wait\", "
               "manager.steer_message=\"keep it small\"", 0, &ro);
    assert_int_equal(ro.res.status, LO_SUCCESS);
    assert_string_equal(stage_field(&ro, "outcome"), "success");
    assert_string_equal(stage_field(&ro, "notes"), "child completed");
    assert_string_equal(ctx_value(&ro, "stack.child.status"), "completed");
    assert_string_equal(ctx_value(&ro, "stack.child.outcome"), "success");
    assert_string_equal(ctx_value(&ro, "stack.child.completed"), "4");
    assert_string_equal(ctx_value(&ro, "stack.child.retries"), "0");
    assert_string_equal(ctx_value(&ro, "stack.child.current_node"), "done");
    assert_true(events_have(&ro, "\"type\":\"manager_observed\""));
    assert_true(events_have(&ro, "\"type\":\"manager_child_started\""));
    assert_true(events_have(&ro, "\"type\":\"manager_steered\""));
    /* the child ran in the parent's workdir and wrote its run directory */
    json_t *cp = child_checkpoint(&ro);
    assert_non_null(cp);
    assert_string_equal(json_string_value(json_object_get(cp, "state")), "completed");
    json_decref(cp);
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/m/child/steer.md", ro.logs);
    char *steer = NULL;
    size_t len = 0;
    lo_error err;
    assert_int_equal(lo_file_read(path, 0, &steer, &len, &err), 0);
    assert_string_equal(steer, "keep it small");
    free(steer);
    snprintf(path, sizeof path, "%s/m/child.out.jsonl", ro.logs);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_true(sb.st_size > 0);
    assert_true(ro.ms < 5000);
    run_out_release(&ro);
}

/* A failing child: FAIL with the child's own reason. */
static void test_child_fails(void **state)
{
    if (!need_binary())
        return;
    static const char *const cmds[] = {"true", "echo broken >&2; false"};
    write_child("bad.dot", cmds, 2);
    run_out ro;
    new_logs(&ro);
    run_parent("stack.child_dotfile=\"bad.dot\"", "manager.max_cycles=100", 0, &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    const char *why = stage_field(&ro, "failure_reason");
    assert_non_null(strstr(why, "child failed: "));
    assert_non_null(strstr(why, "stage 's2' failed: command exited with status 1: broken"));
    assert_string_equal(ctx_value(&ro, "stack.child.status"), "failed");
    assert_string_equal(ctx_value(&ro, "stack.child.outcome"), "fail");
    run_out_release(&ro);
}

/* The stop condition ends the loop early and the child is stopped. */
static void test_stop_condition(void **state)
{
    if (!need_binary())
        return;
    static const char *const cmds[] = {"sleep 0.3", "sleep 5", "true"};
    write_child("slow.dot", cmds, 3);
    run_out ro;
    new_logs(&ro);
    run_parent("stack.child_dotfile=\"slow.dot\"",
               "manager.stop_condition=\"context.stack.child.completed=2\"", 0, &ro);
    assert_int_equal(ro.res.status, LO_SUCCESS);
    assert_string_equal(stage_field(&ro, "notes"), "stop condition satisfied");
    assert_string_equal(ctx_value(&ro, "stack.child.completed"), "2");
    assert_string_equal(ctx_value(&ro, "stack.child.current_node"), "s2");
    assert_true(ro.ms < 4500);
    assert_child_gone(&ro);
    /* it was stopped, not killed mid-write: its checkpoint says so */
    json_t *cp = child_checkpoint(&ro);
    assert_string_equal(json_string_value(json_object_get(cp, "state")), "interrupted");
    json_decref(cp);
    assert_true(events_have(&ro, "\"type\":\"manager_child_stopping\""));
    run_out_release(&ro);
}

/* max_cycles runs out while the child is still busy. */
static void test_max_cycles(void **state)
{
    if (!need_binary())
        return;
    static const char *const cmds[] = {"sleep 5"};
    write_child("slower.dot", cmds, 1);
    run_out ro;
    new_logs(&ro);
    run_parent("stack.child_dotfile=\"slower.dot\"", "manager.max_cycles=5", 0, &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_non_null(strstr(stage_field(&ro, "failure_reason"), "max cycles exceeded"));
    assert_true(ro.ms < 4500);
    assert_child_gone(&ro);
    run_out_release(&ro);
}

/* Cancelling the parent run interrupts it and stops the child. */
static void test_cancel(void **state)
{
    if (!need_binary())
        return;
    static const char *const cmds[] = {"sleep 5"};
    write_child("slower.dot", cmds, 1);
    run_out ro;
    new_logs(&ro);
    run_parent("stack.child_dotfile=\"slower.dot\"", "manager.max_cycles=1000", 200, &ro);
    assert_true(ro.res.interrupted);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_string_equal(json_string_value(json_object_get(ro.checkpoint, "state")),
                        "interrupted");
    assert_true(ro.ms < 4500);
    assert_child_gone(&ro);
    run_out_release(&ro);
}

/* A child whose pipeline cannot run at all (invalid): FAIL with its exit
 * status and message, at once rather than after max_cycles. */
static void test_child_invalid(void **state)
{
    if (!need_binary())
        return;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/invalid.dot", tmpdir);
    write_file(path, "digraph x { a -> b }\n"); /* no start, no exit */
    run_out ro;
    new_logs(&ro);
    run_parent("stack.child_dotfile=\"invalid.dot\"", "manager.max_cycles=1000", 0, &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_non_null(strstr(stage_field(&ro, "failure_reason"),
                           "the child pipeline exited with status 2 before finishing"));
    assert_true(ro.ms < 3000);
    run_out_release(&ro);
}

/* Without a child pipeline, or with one that does not exist: FAIL. */
static void test_missing_dotfile(void **state)
{
    run_out ro;
    new_logs(&ro);
    run_parent("goal=\"x\"", "manager.max_cycles=2", 0, &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_non_null(strstr(stage_field(&ro, "failure_reason"), "stack.child_dotfile"));
    run_out_release(&ro);

    new_logs(&ro);
    run_parent("stack.child_dotfile=\"no-such-child.dot\"", "manager.max_cycles=2", 0, &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    const char *why = stage_field(&ro, "failure_reason");
    assert_non_null(strstr(why, "no-such-child.dot"));
    assert_non_null(strstr(why, "not found"));
    run_out_release(&ro);
}

/* Bad manager.actions and manager.stop_condition are reported, not ignored. */
static void test_bad_attributes(void **state)
{
    run_out ro;
    new_logs(&ro);
    run_parent("goal=\"x\"", "manager.actions=\"observe,dance\"", 0, &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_non_null(strstr(stage_field(&ro, "failure_reason"), "unknown action 'dance'"));
    run_out_release(&ro);

    new_logs(&ro);
    run_parent("goal=\"x\"", "manager.stop_condition=\"a==b\"", 0, &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_non_null(strstr(stage_field(&ro, "failure_reason"), "manager.stop_condition"));
    run_out_release(&ro);
}

/* Prepare {logs}/m/child by hand, as if something else drove the child. */
static void prepare_child_dir(const run_out *ro, const char *checkpoint, const char *events)
{
    char dir[PATH_MAX + 32], path[PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s/m/child", ro->logs);
    lo_error err;
    assert_int_equal(lo_mkdir_p(dir, &err), 0);
    snprintf(path, sizeof path, "%s/checkpoint.json", dir);
    write_file(path, checkpoint);
    if (events) {
        snprintf(path, sizeof path, "%s/events.jsonl", dir);
        write_file(path, events);
    }
}

/* autostart=false: the manager only observes. */
static void test_observe_only(void **state)
{
    run_out ro;
    new_logs(&ro);
    prepare_child_dir(&ro,
                      "{\"node_outcomes\": {}, \"context\": {}, \"state\": \"completed\", \"current_node\": \"done\", "
                      "\"next_node\": null, \"completed_nodes\": [\"start\", \"a\", \"done\"], "
                      "\"node_retries\": {\"start\": 0, \"a\": 2}}",
                      NULL);
    run_parent("goal=\"x\"", "stack.child_autostart=false", 0, &ro);
    assert_int_equal(ro.res.status, LO_SUCCESS);
    assert_string_equal(stage_field(&ro, "notes"), "child completed");
    assert_string_equal(ctx_value(&ro, "stack.child.status"), "completed");
    assert_string_equal(ctx_value(&ro, "stack.child.completed"), "3");
    assert_string_equal(ctx_value(&ro, "stack.child.retries"), "2");
    assert_false(events_have(&ro, "\"type\":\"manager_child_started\""));
    run_out_release(&ro);

    /* a failed child: its pipeline_failed reason */
    new_logs(&ro);
    prepare_child_dir(&ro,
                      "{\"node_outcomes\": {}, \"context\": {}, \"state\": \"failed\", \"current_node\": \"a\", \"next_node\": null, "
                      "\"completed_nodes\": [\"start\", \"a\"], \"node_retries\": {}}",
                      "{\"type\":\"stage_started\",\"node\":\"a\"}\n"
                      "{\"type\":\"pipeline_failed\",\"error\":\"stage 'a' failed: nope\"}\n");
    run_parent("goal=\"x\"", "stack.child_autostart=false", 0, &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_string_equal(stage_field(&ro, "failure_reason"),
                        "child failed: stage 'a' failed: nope");
    run_out_release(&ro);

    /* a half-written checkpoint is skipped, not fatal: the cycles run out */
    new_logs(&ro);
    prepare_child_dir(&ro, "{\"node_outcomes\": {}, \"context\": {}, \"state\": \"comp", NULL);
    run_parent("goal=\"x\"", "stack.child_autostart=false, manager.max_cycles=2", 0, &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_non_null(strstr(stage_field(&ro, "failure_reason"), "max cycles exceeded"));
    assert_string_equal(ctx_value(&ro, "stack.child.status"), "");
    run_out_release(&ro);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_child_completes),
        cmocka_unit_test(test_child_fails),
        cmocka_unit_test(test_stop_condition),
        cmocka_unit_test(test_max_cycles),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_child_invalid),
        cmocka_unit_test(test_missing_dotfile),
        cmocka_unit_test(test_bad_attributes),
        cmocka_unit_test(test_observe_only),
    };
    return cmocka_run_group_tests_name("manager_loop", tests, setup, teardown);
}
