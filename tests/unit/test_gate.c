/* Unit tests for validation gates (src/gate/gate.c, budget.c), driven
 * through the real engine: pipelines with octagon gates whose commands are
 * small shell scripts written into a temp directory. Each budget must trip
 * when crossed, stop the command quickly and leave nothing running; the test
 * conditions, regressions, repeat, baselines, reports, context keys and the
 * $last_failure feedback into a codergen prompt are checked end to end. */
#define _GNU_SOURCE
#include <dirent.h>
#include <limits.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#include "lightsout/engine.h"
#include "lightsout/gate.h"
#include "lightsout/proc.h"
#include "lightsout/graph.h"

static char tmpdir[256];
static int run_no;

typedef struct run_out {
    lo_run_result res;
    char logs[1024];
    int64_t ms;
    json_t *gate;   /* gate.json of the node named "g" (or NULL) */
    json_t *ctx;    /* the final context */
} run_out;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void release(run_out *ro)
{
    json_decref(ro->gate);
    json_decref(ro->ctx);
    memset(ro, 0, sizeof *ro);
}

/* Write a script into the temp directory (the gates' workdir). */
static void script(const char *name, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *slurp(const char *logs, const char *rel)
{
    char path[PATH_MAX], *data = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/%s", logs, rel);
    if (lo_file_read(path, 0, &data, &len, NULL))
        return NULL;
    return data;
}

static void run_dot(const char *dot, run_out *ro)
{
    memset(ro, 0, sizeof *ro);
    lo_error err = {0};
    lo_graph *g = lo_graph_parse(dot, strlen(dot), "t.dot", &err);
    if (!g)
        fail_msg("parse: %s", err.msg);
    snprintf(ro->logs, sizeof ro->logs, "%s/run-%d", tmpdir, ++run_no);
    lo_engine_config cfg = {.logs_root = ro->logs, .workdir = tmpdir, .no_fsync = true};
    lo_engine *e = lo_engine_new(g, &cfg, &err);
    if (!e)
        fail_msg("engine: %s", err.msg);
    int64_t t0 = now_ms();
    assert_int_equal(lo_engine_run(e, false, &ro->res, &err), 0);
    ro->ms = now_ms() - t0;
    lo_engine_free(e);
    lo_graph_free(g);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/g/gate.json", ro->logs);
    ro->gate = json_load_file(path, 0, NULL);
    json_t *cp = lo_checkpoint_read(ro->logs, &err);
    assert_non_null(cp);
    ro->ctx = json_incref(json_object_get(cp, "context"));
    json_decref(cp);
}

/* start -> g (an octagon with these attributes) -> done */
static void run_gate(const char *attrs, run_out *ro)
{
    char dot[4096];
    snprintf(dot, sizeof dot,
             "digraph t {\n"
             "  start [shape=Mdiamond]\n"
             "  done [shape=Msquare]\n"
             "  g [shape=octagon, %s]\n"
             "  start -> g -> done\n"
             "}\n", attrs);
    run_dot(dot, ro);
    assert_non_null(ro->gate);
}

static const char *gstr(const json_t *j, const char *path)
{
    return json_string_value(json_object_get(j, path));
}

static json_int_t metric(const run_out *ro, const char *name)
{
    return json_integer_value(json_object_get(json_object_get(ro->gate, "metrics"), name));
}

static const char *tripped(const run_out *ro)
{
    const char *t = gstr(json_object_get(ro->gate, "metrics"), "tripped");
    return t ? t : "";
}

/* The check named name in gate.json: 1 ok, 0 failed, -1 absent. */
static int check_ok(const run_out *ro, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(ro->gate, "checks"), i, c)
        if (lo_str_eq(gstr(c, "check"), name))
            return json_is_true(json_object_get(c, "ok"));
    return -1;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!hay || !strstr(hay, needle))
        fail_msg("\"%s\" not found in:\n%s", needle, hay ? hay : "(null)");
}


/* ---- budgets ---- */

static void test_pass_under_budgets(void **state)
{
    (void)state;
    script("ok.sh", "echo hello\nperl -e '$x = \"a\" x 5_000_000; print length($x), \"\\n\"'\n");
    run_out ro;
    run_gate("command=\"sh ok.sh\", max_wall=\"5s\", max_cpu=\"3s\", max_rss=\"200MB\", "
             "max_output=\"1MB\", max_procs=20", &ro);
    assert_int_equal(ro.res.status, LO_SUCCESS);
    assert_string_equal(gstr(ro.gate, "status"), "pass");
    assert_string_equal(tripped(&ro), "");
    for (const char *const *b = (const char *const[]){"max_wall", "max_cpu", "max_rss",
                                                      "max_output", "max_procs",
                                                      "exit_status", NULL}; *b; b++)
        assert_int_equal(check_ok(&ro, *b), 1);
    /* perl held 5 MB of string: the peak shows it */
    assert_true(metric(&ro, "rss_kb") > 5000);
    assert_int_equal(metric(&ro, "output_bytes"), 14);
    assert_string_equal(gstr(ro.ctx, "gate.g.status"), "pass");
    assert_string_equal(gstr(ro.ctx, "last_failure"), "");
    assert_true(json_is_integer(json_object_get(ro.ctx, "gate.g.wall_ms")));
    char *md = slurp(ro.logs, "g/gate.md");
    assert_contains(md, "Gate `g` passed");
    free(md);
    char *outp = slurp(ro.logs, "g/output.txt");
    assert_contains(outp, "hello\n5000000\n");
    free(outp);
    release(&ro);
}

static void test_wall(void **state)
{
    (void)state;
    run_out ro;
    run_gate("command=\"sleep 2\", max_wall=\"300ms\"", &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_string_equal(tripped(&ro), "max_wall");
    assert_true(ro.ms < 1000);
    assert_int_equal(check_ok(&ro, "max_wall"), 0);
    assert_int_equal(check_ok(&ro, "exit_status"), -1); /* a stopped command's status is moot */
    assert_contains(ro.res.failure_reason, "Gate `g` FAILED: wall time");
    assert_contains(ro.res.failure_reason, "wall time reached max_wall 0.30 s (");
    release(&ro);
}

static void test_cpu(void **state)
{
    (void)state;
    run_out ro;
    run_gate("command=\"while :; do :; done\", max_cpu=\"300ms\", max_wall=\"10s\"", &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_string_equal(tripped(&ro), "max_cpu");
    assert_true(ro.ms < 2000);
    assert_true(metric(&ro, "cpu_ms") >= 300);
    assert_contains(ro.res.failure_reason, "CPU time");
    release(&ro);
    /* a sleeping command uses no CPU: the same budget holds */
    run_gate("command=\"sleep 0.5\", max_cpu=\"300ms\"", &ro);
    assert_int_equal(ro.res.status, LO_SUCCESS);
    release(&ro);
}

static void test_rss(void **state)
{
    (void)state;
    run_out ro;
    run_gate("command=\"perl -e '$x = q(a) x 300_000_000; sleep 5'\", max_rss=\"50MB\"", &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_string_equal(tripped(&ro), "max_rss");
    assert_true(ro.ms < 3000);
    assert_true(metric(&ro, "rss_kb") > 50 * 1024);
    assert_contains(ro.res.failure_reason, "peak memory");
    assert_contains(ro.res.failure_reason, "max_rss 50.0 MB");
    release(&ro);
}

static void test_procs(void **state)
{
    (void)state;
    /* the sleeps carry a marker unique to this test process */
    char marker[32], bomb[128];
    snprintf(marker, sizeof marker, "7.%06d", (int)(getpid() % 1000000));
    snprintf(bomb, sizeof bomb, "for i in $(seq 200); do sleep %s & done; wait\n", marker);
    script("bomb.sh", bomb);
    run_out ro;
    run_gate("command=\"sh bomb.sh\", max_procs=20", &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_string_equal(tripped(&ro), "max_procs");
    assert_true(ro.ms < 1500);
    assert_true(json_integer_value(json_object_get(json_object_get(ro.gate, "metrics"),
                                                   "tripped_value")) > 20);
    assert_int_equal(lo_test_live_with(marker), 0);
    release(&ro);
    /* a few processes under the limit pass */
    script("few.sh", "for i in 1 2 3; do sleep 0.2 & done; wait\n");
    run_gate("command=\"sh few.sh\", max_procs=20", &ro);
    assert_int_equal(ro.res.status, LO_SUCCESS);
    assert_true(metric(&ro, "procs_peak") >= 2);
    release(&ro);
}

static void test_output(void **state)
{
    (void)state;
    run_out ro;
    run_gate("command=\"yes\", max_output=\"100KB\"", &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_string_equal(tripped(&ro), "max_output");
    assert_true(ro.ms < 3000);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/g/output.txt", ro.logs);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_true(sb.st_size <= 100 * 1024);
    assert_contains(ro.res.failure_reason, "output reached max_output 100 KB (");
    release(&ro);
}

static void test_exit_status_and_missing_command(void **state)
{
    (void)state;
    run_out ro;
    run_gate("command=\"echo broken; exit 3\"", &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_int_equal(check_ok(&ro, "exit_status"), 0);
    assert_contains(ro.res.failure_reason, "command exited with status 3");
    char *md = slurp(ro.logs, "g/gate.md");
    assert_contains(md, "Last lines of output:\n```\nbroken\n```");
    free(md);
    assert_int_equal(json_integer_value(json_object_get(ro.ctx, "gate.g.exit_code")), 3);
    release(&ro);

    run_dot("digraph t { start [shape=Mdiamond]; done [shape=Msquare]; "
            "g [type=\"gate\"]; start -> g -> done }", &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_contains(ro.res.failure_reason, "no command");
    release(&ro);
}

/* ---- tests in the output ---- */

static void test_tap_failure_with_exit_zero(void **state)
{
    (void)state;
    script("tap.sh", "echo 1..3\necho 'ok 1 - test_a'\necho 'not ok 2 - test_sort_large'\n"
                     "echo 'ok 3 - test_c'\nexit 0\n");
    run_out ro;
    run_gate("command=\"sh tap.sh\"", &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_int_equal(check_ok(&ro, "exit_status"), 1);
    assert_int_equal(check_ok(&ro, "max_fail"), 0);
    assert_contains(ro.res.failure_reason, "1 of 3 tests failed: test_sort_large");
    json_t *t = json_object_get(ro.gate, "tests");
    assert_int_equal(json_integer_value(json_object_get(t, "passed")), 2);
    assert_int_equal(json_integer_value(json_object_get(t, "failed")), 1);
    assert_string_equal(gstr(t, "format"), "tap");
    assert_int_equal(json_integer_value(json_object_get(ro.ctx, "gate.g.passed")), 2);
    assert_int_equal(json_integer_value(json_object_get(ro.ctx, "gate.g.failed")), 1);
    assert_string_equal(gstr(ro.ctx, "gate.g.failing"), "test_sort_large");
    assert_string_equal(gstr(ro.ctx, "gate.g.status"), "fail");
    assert_contains(gstr(ro.ctx, "last_failure"), "Gate `g` FAILED");
    assert_contains(gstr(ro.ctx, "gate.g.report"), "Failing tests: test_sort_large");
    char *md = slurp(ro.logs, "g/gate.md");
    assert_contains(md, "Tests (tap): 2 passed, 1 failed, 0 skipped");
    free(md);
    release(&ro);

    run_gate("command=\"sh tap.sh\", max_fail=1", &ro);
    assert_int_equal(ro.res.status, LO_SUCCESS);
    release(&ro);

    run_gate("command=\"sh tap.sh\", max_fail=1, min_pass=3", &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_int_equal(check_ok(&ro, "min_pass"), 0);
    assert_contains(ro.res.failure_reason, "2 tests passed, fewer than min_pass 3");
    release(&ro);

    run_gate("command=\"echo no tests here\", report=\"tap\"", &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_int_equal(check_ok(&ro, "report"), 0);
    release(&ro);
}

static void test_no_regression(void **state)
{
    (void)state;
    script("t1.sh", "echo 1..2\necho 'ok 1 - alpha'\necho 'ok 2 - beta'\n");
    script("t2.sh", "echo 1..4\necho 'ok 1 - alpha'\necho 'not ok 2 - beta'\n"
                    "echo 'ok 3 - gamma'\necho 'ok 4 - delta'\n");
#define REGRESSION_DOT                                                    \
    "digraph t {\n"                                                        \
    "  start [shape=Mdiamond]\n  done [shape=Msquare]\n"                   \
    "  first [shape=octagon, command=\"sh t1.sh\"]\n"                      \
    "  g [shape=octagon, command=\"sh t2.sh\", max_fail=1%s]\n"            \
    "  start -> first -> g -> done\n}\n"
    char dot[1024];
    /* more tests pass than before, and one is allowed to fail ... */
    snprintf(dot, sizeof dot, REGRESSION_DOT, "");
    run_out ro;
    run_dot(dot, &ro);
    assert_int_equal(ro.res.status, LO_SUCCESS);
    assert_true(json_is_array(json_object_get(ro.ctx, "gate.first.passing")));
    release(&ro);
    /* ... but beta passed at the first gate: with no_regression that fails */
    snprintf(dot, sizeof dot, REGRESSION_DOT, ", no_regression=true");
    run_dot(dot, &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_int_equal(check_ok(&ro, "no_regression"), 0);
    assert_int_equal(json_array_size(json_object_get(ro.gate, "regressions")), 1);
    assert_contains(ro.res.failure_reason, "1 regression (passed at an earlier gate, "
                                           "failing now): beta");
    release(&ro);
}

/* ---- repeat and baselines ---- */

static void test_repeat_median(void **state)
{
    (void)state;
    script("rep.sh", "n=$(cat rep.count 2>/dev/null || echo 0); n=$((n+1)); "
                     "echo $n > rep.count\n"
                     "case $n in 1) sleep 0.02;; 2) sleep 0.9;; 3) sleep 0.25;; esac\n");
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/rep.count", tmpdir);
    unlink(path);
    run_out ro;
    run_gate("command=\"sh rep.sh\", repeat=3", &ro);
    assert_int_equal(ro.res.status, LO_SUCCESS);
    assert_int_equal(json_integer_value(json_object_get(ro.gate, "runs_done")), 3);
    assert_int_equal(json_array_size(json_object_get(ro.gate, "runs")), 3);
    json_int_t w = metric(&ro, "wall_ms");
    assert_true(w >= 240 && w < 800); /* the middle run, not the slow one */
    release(&ro);
    /* a run that fails ends the repeats */
    script("rep2.sh", "exit 1\n");
    run_gate("command=\"sh rep2.sh\", repeat=5", &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_int_equal(json_integer_value(json_object_get(ro.gate, "runs_done")), 1);
    release(&ro);
}

static void test_baseline(void **state)
{
    (void)state;
#define BASELINE_DOT                                                      \
    "digraph t {\n"                                                        \
    "  start [shape=Mdiamond]\n  done [shape=Msquare]\n"                   \
    "  base [shape=octagon, command=\"sleep 0.1\"]\n"                      \
    "  g [shape=octagon, command=\"sleep %s\", baseline=\"base\", max_ratio=%s]\n" \
    "  start -> base -> g -> done\n}\n"
    char dot[1024];
    snprintf(dot, sizeof dot, BASELINE_DOT, "0.5", "2");
    run_out ro;
    run_dot(dot, &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_int_equal(check_ok(&ro, "baseline.wall_ms"), 0);
    assert_contains(ro.res.failure_reason, "exceeds max_ratio 2.00 × gate `base`");
    release(&ro);
    snprintf(dot, sizeof dot, BASELINE_DOT, "0.1", "2");
    run_dot(dot, &ro);
    assert_int_equal(ro.res.status, LO_SUCCESS);
    assert_int_equal(check_ok(&ro, "baseline.wall_ms"), 1);
    release(&ro);
    /* a baseline file */
    script("base.json", "{\"wall_ms\": 50, \"cpu_ms\": 0, \"rss_kb\": 0}\n");
    run_gate("command=\"sleep 0.3\", baseline=\"base.json\"", &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_contains(ro.res.failure_reason, "baseline file `base.json`");
    release(&ro);
    run_gate("command=\"true\", baseline=\"nothing-here\"", &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_int_equal(check_ok(&ro, "baseline"), 0);
    release(&ro);
}

/* ---- feedback ---- */

static void test_last_failure_reaches_prompt(void **state)
{
    (void)state;
    script("fixme.sh", "if [ -f fixed.marker ]; then echo 1..1; echo 'ok 1 - test_sort'; "
                       "else touch fixed.marker; echo 1..1; "
                       "echo 'not ok 1 - test_sort'; fi\n");
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/fixed.marker", tmpdir);
    unlink(path);
    run_out ro;
    run_dot("digraph t {\n"
            "  start [shape=Mdiamond]\n  done [shape=Msquare]\n"
            "  code [shape=box, prompt=\"Make the tests pass.\\n$last_failure\"]\n"
            "  g [shape=octagon, command=\"sh fixme.sh\"]\n"
            "  start -> code -> g\n"
            "  g -> done [condition=\"outcome=success\"]\n"
            "  g -> code [condition=\"outcome=fail\"]\n}\n", &ro);
    assert_int_equal(ro.res.status, LO_SUCCESS);
    char *prompt = slurp(ro.logs, "code/prompt.md");
    assert_contains(prompt, "Make the tests pass.");
    assert_contains(prompt, "Gate `g` FAILED: 1 of 1 tests failed: test_sort");
    free(prompt);
    assert_string_equal(gstr(ro.ctx, "last_failure"), "");
    assert_string_equal(gstr(ro.ctx, "gate.g.status"), "pass");
    char *ev = slurp(ro.logs, "events.jsonl");
    assert_contains(ev, "\"gate_started\"");
    assert_contains(ev, "\"gate_finished\"");
    free(ev);
    release(&ro);
}

static void test_report_file(void **state)
{
    (void)state;
    script("junit.sh", "printf '<testsuite tests=\"2\"><testcase name=\"alpha\"/>"
                       "<testcase name=\"beta\"><failure message=\"boom\"/></testcase>"
                       "</testsuite>' > r.xml\necho ran\n");
    run_out ro;
    run_gate("command=\"sh junit.sh\", report=\"junit\", report_file=\"r.xml\"", &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_contains(ro.res.failure_reason, "1 of 2 tests failed: beta");
    assert_int_equal(json_integer_value(json_object_get(ro.ctx, "gate.g.passed")), 1);
    release(&ro);
    /* the file is still there, but this run did not write it: not its verdict */
    run_gate("command=\"echo nothing\", report=\"junit\", report_file=\"r.xml\"", &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_int_equal(check_ok(&ro, "report_file"), 0);
    assert_contains(ro.res.failure_reason, "the command did not write its test report r.xml");
    release(&ro);
}

static void test_sandbox_attribute(void **state)
{
    (void)state;
    run_out ro;
    run_dot("digraph t { start [shape=Mdiamond]; done [shape=Msquare]; "
            "g [shape=octagon, command=\"true\", sandbox=\"maybe\"]; start -> g -> done }", &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_contains(ro.res.failure_reason, "invalid sandbox \"maybe\" (auto, true or false)");
    release(&ro);
    run_gate("command=\"true\", sandbox=false", &ro);
    assert_int_equal(ro.res.status, LO_SUCCESS);
    json_t *sb = json_object_get(ro.gate, "sandbox");
    assert_false(json_is_true(json_object_get(sb, "used")));
    assert_null(json_object_get(sb, "note")); /* not wanted, so nothing to explain */
    release(&ro);
    /* auto: the sandbox when it works here, else bare with the reason */
    char why[512];
    bool have = lo_sandbox_available(why, sizeof why);
    run_gate("command=\"true\"", &ro);
    assert_int_equal(ro.res.status, LO_SUCCESS);
    sb = json_object_get(ro.gate, "sandbox");
    assert_int_equal(json_is_true(json_object_get(sb, "used")), have);
    assert_string_equal(gstr(sb, "mode"), "auto");
    if (!have)
        assert_contains(gstr(sb, "note"), "the command ran without it");
    const char *by = gstr(json_object_get(ro.gate, "measurement"), "by");
    assert_true(lo_str_eq(by, "cgroup2") || lo_str_eq(by, "proc"));
    release(&ro);
    if (!have)
        return;
    /* sandbox_writable: a path outside the workdir the command may write */
    char extra[64], attrs[512], path[PATH_MAX];
    snprintf(extra, sizeof extra, "/tmp/lo_gate_extra_XXXXXX");
    assert_non_null(mkdtemp(extra));
    snprintf(attrs, sizeof attrs, "command=\"echo x > %s/w.txt\", sandbox_writable=\" %s \"",
             extra, extra);
    run_gate(attrs, &ro);
    assert_int_equal(ro.res.status, LO_SUCCESS);
    snprintf(path, sizeof path, "%s/w.txt", extra);
    assert_int_equal(access(path, F_OK), 0);
    release(&ro);
    /* without it the same write fails: only the workdir is writable */
    unlink(path);
    snprintf(attrs, sizeof attrs, "command=\"echo x > %s/w.txt\"", extra);
    run_gate(attrs, &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_int_not_equal(access(path, F_OK), 0);
    release(&ro);
    lo_test_rm_rf(extra);
    run_dot("digraph t { start [shape=Mdiamond]; done [shape=Msquare]; g [shape=octagon, "
            "command=\"true\", sandbox_writable=\"/no/such/dir\"]; start -> g -> done }", &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_contains(ro.res.failure_reason, "sandbox_writable: /no/such/dir does not exist");
    release(&ro);
}

static void test_bad_attribute(void **state)
{
    (void)state;
    run_out ro;
    run_dot("digraph t { start [shape=Mdiamond]; done [shape=Msquare]; "
            "g [shape=octagon, command=\"true\", repeat=0]; start -> g -> done }", &ro);
    assert_int_equal(ro.res.status, LO_FAIL);
    assert_contains(ro.res.failure_reason, "invalid repeat");
    release(&ro);
}


int main(void)
{
    /* orphans of a killed group come to us and are reaped by the runner,
     * whatever pid 1 does */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lo_gate_XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pass_under_budgets),
        cmocka_unit_test(test_wall),
        cmocka_unit_test(test_cpu),
        cmocka_unit_test(test_rss),
        cmocka_unit_test(test_procs),
        cmocka_unit_test(test_output),
        cmocka_unit_test(test_exit_status_and_missing_command),
        cmocka_unit_test(test_tap_failure_with_exit_zero),
        cmocka_unit_test(test_no_regression),
        cmocka_unit_test(test_repeat_median),
        cmocka_unit_test(test_baseline),
        cmocka_unit_test(test_last_failure_reaches_prompt),
        cmocka_unit_test(test_report_file),
        cmocka_unit_test(test_sandbox_attribute),
        cmocka_unit_test(test_bad_attribute),
    };
    int rc = cmocka_run_group_tests_name("gate", tests, NULL, NULL);
    lo_test_rm_rf(tmpdir);
    return rc;
}
