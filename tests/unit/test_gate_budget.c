/* Unit tests for gate budgets and measurement (lo_gate_measure,
 * src/gate/budget.c and cgroup.c), run four ways: bare or under the
 * bubblewrap sandbox, watched through a cgroup v2 group or by the /proc
 * scan. Each budget must trip exactly when it is crossed and never
 * otherwise, and nothing the command started may outlive it. A way this
 * machine cannot offer (no bwrap, no cgroup2 group) is skipped, saying so. */
#define _GNU_SOURCE
#include <dirent.h>
#include <limits.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#include "lightsout/gate.h"
#include "lightsout/proc.h"

static char tmpdir[256];

typedef struct way {
    const char *name;
    bool sandbox, cgroup;
} way;

static const way ways[] = {
    {"bare, /proc scan", false, false},
    {"bare, cgroup", false, true},
    {"sandbox, /proc scan", true, false},
    {"sandbox, cgroup", true, true},
};

static bool have_sandbox, have_cgroup;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run cmd the given way under b; returns the elapsed ms. */
static int64_t measure(const way *w, const char *cmd, const lo_gate_budget *b,
                       lo_gate_metrics *m)
{
    lo_sandbox sb = {.workdir = tmpdir};
    char note[320] = "";
    lo_gate_exec x = {
        .command = cmd,
        .cwd = tmpdir,
        .sandbox = w->sandbox ? &sb : NULL,
        .no_cgroup = !w->cgroup,
        .note = note,
        .note_len = sizeof note,
    };
    lo_error err = {0};
    int64_t t0 = now_ms();
    int rc = lo_gate_measure(b, &x, m, NULL, &err);
    int64_t ms = now_ms() - t0;
    if (rc)
        fail_msg("%s: %s: %s", w->name, cmd, err.msg);
    if (m->sandboxed != w->sandbox || m->cgroup != w->cgroup)
        fail_msg("%s: ran sandboxed=%d cgroup=%d (%s)", w->name, m->sandboxed, m->cgroup, note);
    return ms;
}


static bool usable(const way *w)
{
    return (!w->sandbox || have_sandbox) && (!w->cgroup || have_cgroup);
}

#define EACH_WAY(w)                                                                   \
    for (const way *w = ways; w < ways + sizeof ways / sizeof ways[0]; w++)            \
        if (usable(w))

static void test_rss(void **state)
{
    (void)state;
    lo_gate_budget b = {.max_rss_kb = 50 * 1024};
    EACH_WAY(w) {
        lo_gate_metrics m;
        int64_t ms = measure(w, "perl -e '$x = q(a) x 120_000_000; sleep 5'", &b, &m);
        if (m.tripped != LO_TRIP_RSS || ms > 3000 || m.tripped_value <= 50 * 1024)
            fail_msg("%s: 120 MB against 50 MB: tripped %s at %lld KB after %lld ms", w->name,
                     lo_gate_trip_name(m.tripped), (long long)m.tripped_value, (long long)ms);
        measure(w, "perl -e '$x = q(a) x 5_000_000; select(undef, undef, undef, 0.3)'", &b, &m);
        if (m.tripped != LO_TRIP_NONE || m.exit_code != 0 || m.max_rss_kb < 5000 ||
            m.max_rss_kb > 50 * 1024)
            fail_msg("%s: 5 MB under 50 MB: tripped %s, exit %d, rss %lld KB", w->name,
                     lo_gate_trip_name(m.tripped), m.exit_code, (long long)m.max_rss_kb);
    }
}

static void test_wall(void **state)
{
    (void)state;
    lo_gate_budget b = {.max_wall_ms = 300};
    EACH_WAY(w) {
        lo_gate_metrics m;
        int64_t ms = measure(w, "sleep 2", &b, &m);
        if (m.tripped != LO_TRIP_WALL || ms > 1500 || m.wall_ms < 300)
            fail_msg("%s: sleep 2 against 300 ms: tripped %s, wall %lld ms", w->name,
                     lo_gate_trip_name(m.tripped), (long long)m.wall_ms);
        measure(w, "sleep 0.05", &b, &m);
        if (m.tripped != LO_TRIP_NONE || m.exit_code != 0)
            fail_msg("%s: sleep 0.05 under 300 ms: tripped %s", w->name,
                     lo_gate_trip_name(m.tripped));
    }
}

static void test_cpu(void **state)
{
    (void)state;
    lo_gate_budget b = {.max_cpu_ms = 300, .max_wall_ms = 10000};
    EACH_WAY(w) {
        lo_gate_metrics m;
        int64_t ms = measure(w, "while :; do :; done", &b, &m);
        if (m.tripped != LO_TRIP_CPU || ms > 2500 || m.cpu_ms < 300)
            fail_msg("%s: busy loop against 300 ms CPU: tripped %s, cpu %lld ms after %lld ms",
                     w->name, lo_gate_trip_name(m.tripped), (long long)m.cpu_ms, (long long)ms);
        measure(w, "sleep 0.3", &b, &m);
        if (m.tripped != LO_TRIP_NONE || m.cpu_ms > 300)
            fail_msg("%s: sleep 0.3 under 300 ms CPU: tripped %s, cpu %lld ms", w->name,
                     lo_gate_trip_name(m.tripped), (long long)m.cpu_ms);
    }
}

static void test_procs(void **state)
{
    (void)state;
    char marker[32], bomb[160];
    snprintf(marker, sizeof marker, "9.%06d", (int)(getpid() % 1000000));
    snprintf(bomb, sizeof bomb, "for i in $(seq 200); do sleep %s & done; wait", marker);
    lo_gate_budget b = {.max_procs = 20};
    EACH_WAY(w) {
        lo_gate_metrics m;
        int64_t ms = measure(w, bomb, &b, &m);
        if (m.tripped != LO_TRIP_PROCS || ms > 1500 || m.tripped_value <= 20)
            fail_msg("%s: 200 sleeps against 20: tripped %s at %lld after %lld ms", w->name,
                     lo_gate_trip_name(m.tripped), (long long)m.tripped_value, (long long)ms);
        if (lo_test_live_with(marker))
            fail_msg("%s: %d sleeps outlived the fork bomb", w->name, lo_test_live_with(marker));
        /* the shell and three sleeps: four, bubblewrap's own two not counted */
        measure(w, "for i in 1 2 3; do sleep 0.3 & done; wait", &b, &m);
        if (m.tripped != LO_TRIP_NONE || m.procs_peak < 3 || m.procs_peak > 4)
            fail_msg("%s: 3 sleeps under 20: tripped %s, peak %lld", w->name,
                     lo_gate_trip_name(m.tripped), (long long)m.procs_peak);
    }
}

static void test_output(void **state)
{
    (void)state;
    lo_gate_budget b = {.max_output_bytes = 100 * 1024};
    EACH_WAY(w) {
        lo_gate_metrics m;
        int64_t ms = measure(w, "yes", &b, &m);
        if (m.tripped != LO_TRIP_OUTPUT || ms > 3000)
            fail_msg("%s: yes against 100 KB: tripped %s", w->name,
                     lo_gate_trip_name(m.tripped));
        measure(w, "head -c 50000 /dev/zero", &b, &m);
        if (m.tripped != LO_TRIP_NONE || m.output_bytes != 50000)
            fail_msg("%s: 50000 bytes under 100 KB: tripped %s, %lld bytes", w->name,
                     lo_gate_trip_name(m.tripped), (long long)m.output_bytes);
    }
}

/* A process that left the process group (setsid) is beyond the process
 * group's kill; a cgroup still holds it. */
static void test_setsid_escapee(void **state)
{
    (void)state;
    if (!have_cgroup)
        skip();
    char marker[32], cmd[128];
    snprintf(marker, sizeof marker, "8.%06d", (int)(getpid() % 1000000));
    snprintf(cmd, sizeof cmd, "setsid sleep %s </dev/null >/dev/null 2>&1 & sleep 0.2",
             marker);
    EACH_WAY(w) {
        if (!w->cgroup)
            continue;
        lo_gate_metrics m;
        measure(w, cmd, NULL, &m);
        if (m.exit_code != 0 || lo_test_live_with(marker))
            fail_msg("%s: exit %d, %d escaped sleeps alive", w->name, m.exit_code,
                     lo_test_live_with(marker));
    }
}

static void test_exit_status_and_cpu_of_children(void **state)
{
    (void)state;
    EACH_WAY(w) {
        lo_gate_metrics m;
        measure(w, "exit 7", NULL, &m);
        if (m.exit_code != 7)
            fail_msg("%s: exit 7 measured as %d", w->name, m.exit_code);
        /* CPU of short children the shell waited for is counted */
        measure(w, "i=0; while [ $i -lt 8 ]; do perl -e '$i++ while $i < 400000'; "
                   "i=$((i+1)); done", NULL, &m);
        if (m.cpu_ms < 60)
            fail_msg("%s: 8 short perl runs measured %lld ms CPU", w->name,
                     (long long)m.cpu_ms);
    }
}

static void test_sandbox_isolation(void **state)
{
    (void)state;
    if (!have_sandbox)
        skip();
    static const way w = {"sandbox", true, false};
    lo_gate_metrics m;
    char path[PATH_MAX];
    /* the working directory is writable, the rest of the file system is not */
    measure(&w, "echo in > written.txt && ! touch /usr/lo-sandbox-probe 2>/dev/null", NULL, &m);
    assert_int_equal(m.exit_code, 0);
    snprintf(path, sizeof path, "%s/written.txt", tmpdir);
    assert_int_equal(access(path, F_OK), 0);
    assert_int_not_equal(access("/usr/lo-sandbox-probe", F_OK), 0);
    /* no network interface but loopback (the namespace's, in /proc/net) */
    measure(&w, "test $(grep -c : /proc/net/dev) -eq 1", NULL, &m);
    assert_int_equal(m.exit_code, 0);
    lo_sandbox sb = {.workdir = tmpdir, .network = true};
    lo_gate_exec x = {.command = "test $(grep -c : /proc/net/dev) -gt 1", .cwd = tmpdir,
                      .sandbox = &sb};
    lo_error err = {0};
    assert_int_equal(lo_gate_measure(NULL, &x, &m, NULL, &err), 0);
    assert_int_equal(m.exit_code, 0);
}


int main(void)
{
    /* orphans of a killed group come to us and are reaped by the runner */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lo_budget_XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    char why[512];
    have_sandbox = lo_sandbox_available(why, sizeof why);
    if (!have_sandbox)
        printf("# the sandbox ways are skipped: %s\n", why);
    /* a cgroup is offered when a plain measurement gets one */
    lo_gate_exec x = {.command = "true", .note = why, .note_len = sizeof why};
    lo_gate_metrics m;
    have_cgroup = lo_gate_measure(NULL, &x, &m, NULL, NULL) == 0 && m.cgroup;
    if (!have_cgroup)
        printf("# the cgroup ways are skipped: %s\n", why);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rss),
        cmocka_unit_test(test_wall),
        cmocka_unit_test(test_cpu),
        cmocka_unit_test(test_procs),
        cmocka_unit_test(test_output),
        cmocka_unit_test(test_setsid_escapee),
        cmocka_unit_test(test_exit_status_and_cpu_of_children),
        cmocka_unit_test(test_sandbox_isolation),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    lo_test_rm_rf(tmpdir);
    return rc;
}
