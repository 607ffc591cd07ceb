/* The bubblewrap sandbox: what a sandboxed command can and cannot touch,
 * run through the real bwrap and the bounded runner. Skipped (with the
 * reason) where bwrap cannot create a sandbox. */
#include "testutil.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lightsout/proc.h"

static char dir[PATH_MAX], outside[PATH_MAX];

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/lo-sandbox-XXXXXX");
    snprintf(outside, sizeof outside, "/tmp/lo-sandbox-out-XXXXXX");
    if (!mkdtemp(dir) || !mkdtemp(outside))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    char cmd[3 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", dir, outside);
    return system(cmd) == 0 ? 0 : -1;
}

static bool have_sandbox(void)
{
    char why[512];
    if (lo_sandbox_available(why, sizeof why))
        return true;
    printf("# skipped: %s\n", why);
    return false;
}

/* Run a shell line in the sandbox; returns its exit code, output in *tail. */
static int sh(const lo_sandbox *sb, const char *line, lo_buf *tail)
{
    char *const inner[] = {"/bin/sh", "-c", (char *)line, NULL};
    lo_error err;
    char **argv = lo_sandbox_argv(sb, inner, &err);
    assert_non_null(argv);
    lo_proc_opts o = {.argv = argv, .stdout_path = "/dev/null", .stderr_path = "/dev/null",
                      .tail_bytes = 4096, .timeout_ms = 30000};
    lo_proc_result r;
    assert_int_equal(lo_proc_exec(&o, &r, &err), 0);
    lo_sandbox_argv_free(argv);
    if (tail) {
        lo_buf_clear(tail);
        lo_buf_puts(tail, r.tail.data ? r.tail.data : "");
    }
    lo_buf_release(&r.tail);
    return r.exit_code;
}

static void test_workdir_writable_rest_readonly(void **state)
{
    if (!have_sandbox())
        return;
    lo_sandbox sb = {.workdir = dir};
    assert_int_equal(sh(&sb, "echo hi > inside.txt", NULL), 0);
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/inside.txt", dir);
    assert_int_equal(access(path, F_OK), 0);
    /* the cwd is the working directory */
    lo_buf b;
    lo_buf_init(&b, 0);
    assert_int_equal(sh(&sb, "pwd", &b), 0);
    char real[PATH_MAX];
    assert_non_null(realpath(dir, real));
    assert_non_null(strstr(b.data, real));
    /* a sibling directory is read-only, and so is the rest */
    char line[2 * PATH_MAX];
    snprintf(line, sizeof line, "echo x > '%s/escape.txt'", outside);
    assert_int_not_equal(sh(&sb, line, NULL), 0);
    snprintf(path, sizeof path, "%s/escape.txt", outside);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_not_equal(sh(&sb, "touch /usr/lo-sandbox-test", NULL), 0);
    lo_buf_release(&b);
}

static void test_extra_writable_path(void **state)
{
    if (!have_sandbox())
        return;
    const char *const w[] = {outside, NULL};
    lo_sandbox sb = {.workdir = dir, .writable = w};
    char line[2 * PATH_MAX];
    snprintf(line, sizeof line, "echo x > '%s/allowed.txt'", outside);
    assert_int_equal(sh(&sb, line, NULL), 0);
}

static void test_private_tmp(void **state)
{
    if (!have_sandbox())
        return;
    lo_sandbox sb = {.workdir = dir};
    /* the host's /tmp holds `outside`; the sandbox's fresh /tmp does not */
    char line[2 * PATH_MAX];
    snprintf(line, sizeof line, "test -e '%s'", outside);
    assert_int_not_equal(sh(&sb, line, NULL), 0);
    lo_sandbox shared = {.workdir = dir, .share_tmp = true};
    assert_int_equal(sh(&shared, line, NULL), 0);
}

static void test_network_off_unless_allowed(void **state)
{
    if (!have_sandbox())
        return;
    lo_buf b;
    lo_buf_init(&b, 0);
    lo_sandbox sb = {.workdir = dir};
    /* only the loopback interface exists in a new network namespace
     * (/proc/net/dev is per namespace; /sys is the host's, bound read-only) */
    const char *ifaces = "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '";
    assert_int_equal(sh(&sb, ifaces, &b), 0);
    assert_string_equal(b.data, "lo\n");
    lo_sandbox net = {.workdir = dir, .network = true};
    assert_int_equal(sh(&net, ifaces, &b), 0);
    char *host = NULL;
    size_t len = 0;
    assert_int_equal(lo_file_read("/proc/net/dev", 0, &host, &len, NULL), 0);
    /* the host's interfaces, one a line after the two header lines */
    int lines = 0;
    for (char *p = host; *p; p++)
        lines += *p == '\n';
    int seen = 0;
    for (char *p = b.data; *p; p++)
        seen += *p == '\n';
    assert_int_equal(seen, lines - 2);
    free(host);
    lo_buf_release(&b);
}

static void test_new_pid_namespace(void **state)
{
    if (!have_sandbox())
        return;
    lo_buf b;
    lo_buf_init(&b, 0);
    lo_sandbox sb = {.workdir = dir};
    /* the shell is among the first processes of its own namespace */
    assert_int_equal(sh(&sb, "echo $$", &b), 0);
    assert_true(atoi(b.data) > 0 && atoi(b.data) < 10);
    /* and cannot see the host's processes, such as this test */
    char line[64];
    snprintf(line, sizeof line, "test -e /proc/%d", (int)getpid());
    if (getpid() >= 10)
        assert_int_not_equal(sh(&sb, line, NULL), 0);
    lo_buf_release(&b);
}

static void test_bad_arguments(void **state)
{
    char *const inner[] = {"true", NULL};
    lo_error err;
    lo_sandbox none = {0};
    assert_null(lo_sandbox_argv(&none, inner, &err));
    assert_int_equal(err.code, LO_EINVAL);
    if (!have_sandbox())
        return;
    lo_sandbox missing = {.workdir = "/nonexistent/lo-sandbox"};
    assert_null(lo_sandbox_argv(&missing, inner, &err));
    assert_int_equal(err.code, LO_ENOENT);
    assert_non_null(strstr(err.msg, "/nonexistent/lo-sandbox"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_workdir_writable_rest_readonly),
        cmocka_unit_test(test_extra_writable_path),
        cmocka_unit_test(test_private_tmp),
        cmocka_unit_test(test_network_off_unless_allowed),
        cmocka_unit_test(test_new_pid_namespace),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
