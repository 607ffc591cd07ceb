/* Unit tests for the bounded process runner (src/base/proc_exec.c). */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "testutil.h"

#include "lightsout/proc.h"

static char tmpdir[256];

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static const char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", tmpdir, name);
    return p;
}

static char *slurp(const char *path)
{
    char *data = NULL;
    size_t len = 0;
    lo_error err;
    if (lo_file_read(path, 0, &data, &len, &err) != 0)
        return NULL;
    return data;
}

/* Run `sh -c script` with the given options (argv filled in here). */
static int run_sh(const char *script, lo_proc_opts *o, lo_proc_result *r, lo_error *err)
{
    char *argv[] = {"sh", "-c", (char *)script, NULL};
    o->argv = argv;
    int rc = lo_proc_exec(o, r, err);
    o->argv = NULL;
    return rc;
}

/* Dead: gone, or a zombie waiting for an init that does not reap. */
static bool process_gone(pid_t pid)
{
    if (kill(pid, 0) == -1 && errno == ESRCH)
        return true;
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return true;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *rp = strrchr(buf, ')');
    return rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static int setup(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lo-test-proc-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
#ifdef PR_SET_CHILD_SUBREAPER
    /* orphans of the commands come to us, as they would to init, so
     * "no grandchild left" can be checked strictly below */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
#endif
    return 0;
}

static int teardown(void **state)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_exit_codes(void **state)
{
    const int codes[] = {0, 1, 42};
    for (size_t i = 0; i < 3; i++) {
        char script[32];
        snprintf(script, sizeof script, "exit %d", codes[i]);
        lo_proc_opts o = {0};
        lo_proc_result r;
        lo_error err = {0};
        assert_int_equal(run_sh(script, &o, &r, &err), 0);
        assert_int_equal(r.exit_code, codes[i]);
        assert_int_equal(r.term_signal, 0);
        assert_false(r.timed_out || r.cancelled || r.stalled || r.killed);
        lo_buf_release(&r.tail);
    }
}

static void test_capture_files(void **state)
{
    lo_proc_opts o = {.stdout_path = tmp_path("out.txt"), .stderr_path = tmp_path("err.txt")};
    lo_proc_result r;
    lo_error err = {0};
    assert_int_equal(run_sh("printf 'hello\\nworld\\n'; printf 'oops' >&2", &o, &r, &err), 0);
    assert_int_equal(r.exit_code, 0);
    char *out = slurp(o.stdout_path), *er = slurp(o.stderr_path);
    assert_non_null(out);
    assert_non_null(er);
    assert_string_equal(out, "hello\nworld\n");
    assert_string_equal(er, "oops");
    assert_int_equal(r.output_bytes, 16);
    free(out);
    free(er);
    lo_buf_release(&r.tail);

    /* a large output through the pipe, byte for byte */
    o.stderr_path = NULL;
    assert_int_equal(run_sh("i=0; while [ $i -lt 2000 ]; do echo line-$i-of-output-abcdefgh; "
                            "i=$((i+1)); done", &o, &r, &err), 0);
    out = slurp(o.stdout_path);
    assert_non_null(out);
    assert_true(strstr(out, "line-0-of-output-abcdefgh\nline-1-") == out);
    assert_non_null(strstr(out, "\nline-1999-of-output-abcdefgh\n"));
    assert_int_equal((int64_t)strlen(out), r.output_bytes);
    free(out);
    lo_buf_release(&r.tail);
}

static void test_merged_output(void **state)
{
    lo_proc_opts o = {.stdout_path = tmp_path("both.txt"), .stderr_path = tmp_path("both.txt")};
    lo_proc_result r;
    lo_error err = {0};
    assert_int_equal(run_sh("echo one; echo two >&2; echo three; echo four >&2", &o, &r, &err), 0);
    char *both = slurp(o.stdout_path);
    assert_non_null(both);
    assert_string_equal(both, "one\ntwo\nthree\nfour\n");
    free(both);
    lo_buf_release(&r.tail);
}

static void test_tail(void **state)
{
    lo_proc_opts o = {.tail_bytes = 10};
    lo_proc_result r;
    lo_error err = {0};
    assert_int_equal(run_sh("printf 0123456789abcdefghij; printf XYZ >&2", &o, &r, &err), 0);
    assert_int_equal(r.tail.len, 10);
    /* stdout and stderr go through separate pipes; the tail ends with the
     * stream written last */
    assert_string_equal(r.tail.data + 7, "XYZ");
    assert_int_equal(r.output_bytes, 23);
    lo_buf_release(&r.tail);

    /* many chunks: the tail is exactly the last N bytes */
    o.tail_bytes = 100;
    assert_int_equal(run_sh("i=0; while [ $i -lt 3000 ]; do echo $i; i=$((i+1)); done",
                            &o, &r, &err), 0);
    assert_int_equal(r.tail.len, 100);
    assert_int_equal(strlen(r.tail.data), 100);
    const char *end = r.tail.data + r.tail.len - 10;
    assert_string_equal(end, "2998\n2999\n");
    lo_buf_release(&r.tail);

    /* short output: all of it */
    assert_int_equal(run_sh("printf abc", &o, &r, &err), 0);
    assert_string_equal(r.tail.data, "abc");
    lo_buf_release(&r.tail);

    /* tail_bytes 0: nothing kept */
    o.tail_bytes = 0;
    assert_int_equal(run_sh("printf abc", &o, &r, &err), 0);
    assert_int_equal(r.tail.len, 0);
    assert_int_equal(r.output_bytes, 3);
    lo_buf_release(&r.tail);
}

static void test_timeout(void **state)
{
    char *argv[] = {"sleep", "10", NULL};
    lo_proc_opts o = {.argv = argv, .timeout_ms = 200};
    lo_proc_result r;
    lo_error err = {0};
    int64_t t0 = now_ms();
    assert_int_equal(lo_proc_exec(&o, &r, &err), 0);
    int64_t took = now_ms() - t0;
    assert_true(r.timed_out);
    assert_false(r.cancelled || r.stalled || r.killed);
    assert_int_equal(r.exit_code, -1);
    assert_int_equal(r.term_signal, SIGTERM);
    assert_true(took >= 190 && took < 1500);
    assert_true(r.wall_ms >= 190 && r.wall_ms < 1500);
    lo_buf_release(&r.tail);
}

static void test_kill_after_grace(void **state)
{
    /* ignores TERM (and so does the sleep it starts) */
    lo_proc_opts o = {.timeout_ms = 100, .kill_grace_ms = 300,
                      .stdout_path = tmp_path("trap.txt")};
    lo_proc_result r;
    lo_error err = {0};
    int64_t t0 = now_ms();
    assert_int_equal(run_sh("trap '' TERM; echo ready; sleep 10; echo survived", &o, &r, &err), 0);
    int64_t took = now_ms() - t0;
    assert_true(r.timed_out);
    assert_true(r.killed);
    assert_int_equal(r.term_signal, SIGKILL);
    assert_int_equal(r.exit_code, -1);
    assert_true(took >= 390 && took < 1500);
    char *out = slurp(o.stdout_path);
    assert_non_null(out);
    assert_string_equal(out, "ready\n");
    free(out);
    lo_buf_release(&r.tail);
}

static pid_t read_pid(const char *path)
{
    char *s = slurp(path);
    assert_non_null(s);
    pid_t pid = (pid_t)atol(s);
    free(s);
    assert_true(pid > 1);
    return pid;
}

static void test_no_grandchild_left(void **state)
{
    lo_proc_opts o = {.timeout_ms = 5000};
    lo_proc_result r;
    lo_error err = {0};
    char script[600];

    /* a background child that keeps our pipe open */
    snprintf(script, sizeof script, "sleep 30 & echo $! > '%s'; echo started",
             tmp_path("bg1.pid"));
    int64_t t0 = now_ms();
    assert_int_equal(run_sh(script, &o, &r, &err), 0);
    assert_true(now_ms() - t0 < 1500);
    assert_int_equal(r.exit_code, 0);
    assert_false(r.timed_out);
    pid_t bg1 = read_pid(tmp_path("bg1.pid"));
    lo_buf_release(&r.tail);

    /* one that let go of the pipe */
    snprintf(script, sizeof script, "sleep 30 >/dev/null 2>&1 & echo $! > '%s'",
             tmp_path("bg2.pid"));
    assert_int_equal(run_sh(script, &o, &r, &err), 0);
    pid_t bg2 = read_pid(tmp_path("bg2.pid"));
    lo_buf_release(&r.tail);

    /* and the main process killed on a timeout while waiting for it */
    o.timeout_ms = 150;
    snprintf(script, sizeof script, "sleep 30 & echo $! > '%s'; wait", tmp_path("bg3.pid"));
    assert_int_equal(run_sh(script, &o, &r, &err), 0);
    assert_true(r.timed_out);
    pid_t bg3 = read_pid(tmp_path("bg3.pid"));
    lo_buf_release(&r.tail);

    sleep_ms(50);
    assert_true(process_gone(bg1));
    assert_true(process_gone(bg2));
    assert_true(process_gone(bg3));
#ifdef PR_SET_CHILD_SUBREAPER
    /* we are their subreaper and the runner reaped them: not even zombies */
    assert_true(kill(bg1, 0) == -1 && errno == ESRCH);
    assert_true(kill(bg2, 0) == -1 && errno == ESRCH);
    assert_true(kill(bg3, 0) == -1 && errno == ESRCH);
#endif
}

static void *set_after(void *arg)
{
    sleep_ms(150);
    atomic_store((atomic_bool *)arg, true);
    return NULL;
}

static void test_cancel(void **state)
{
    atomic_bool cancel;
    atomic_init(&cancel, false);
    char *argv[] = {"sleep", "10", NULL};
    lo_proc_opts o = {.argv = argv, .cancel = &cancel};
    lo_proc_result r;
    lo_error err = {0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, set_after, &cancel), 0);
    int64_t t0 = now_ms();
    assert_int_equal(lo_proc_exec(&o, &r, &err), 0);
    int64_t took = now_ms() - t0;
    pthread_join(th, NULL);
    assert_true(r.cancelled);
    assert_false(r.timed_out || r.stalled);
    assert_int_equal(r.term_signal, SIGTERM);
    assert_true(took >= 140 && took < 1000);
    lo_buf_release(&r.tail);

    /* already set: stopped at once */
    t0 = now_ms();
    assert_int_equal(lo_proc_exec(&o, &r, &err), 0);
    assert_true(r.cancelled);
    assert_true(now_ms() - t0 < 500);
    lo_buf_release(&r.tail);
}

static int callbacks;
static void count_cb(void *ud)
{
    (void)ud;
    callbacks++;
}

static void test_idle_timeout(void **state)
{
    char *argv[] = {"sleep", "10", NULL};
    lo_proc_opts o = {.argv = argv, .idle_timeout_ms = 200, .timeout_ms = 5000};
    lo_proc_result r;
    lo_error err = {0};
    int64_t t0 = now_ms();
    assert_int_equal(lo_proc_exec(&o, &r, &err), 0);
    int64_t took = now_ms() - t0;
    assert_true(r.stalled);
    assert_false(r.timed_out || r.cancelled);
    assert_true(took >= 190 && took < 1500);
    lo_buf_release(&r.tail);

    /* steady output keeps it alive until its own timeout */
    callbacks = 0;
    lo_proc_opts chatty = {.idle_timeout_ms = 500, .timeout_ms = 900,
                           .on_output = count_cb, .tail_bytes = 64};
    t0 = now_ms();
    assert_int_equal(run_sh("while true; do echo x; sleep 0.05; done", &chatty, &r, &err), 0);
    took = now_ms() - t0;
    assert_true(r.timed_out);
    assert_false(r.stalled);
    assert_true(took >= 890 && took < 2000);
    assert_true(r.output_bytes >= 10);
    /* throttled: at most one call per 100 ms (plus the last) */
    assert_true(callbacks >= 3 && callbacks <= took / 100 + 2);
    lo_buf_release(&r.tail);
}

static void test_max_output(void **state)
{
    lo_proc_opts o = {.max_output_bytes = 1000, .stdout_path = tmp_path("big.txt"),
                      .timeout_ms = 5000};
    lo_proc_result r;
    lo_error err = {0};
    assert_int_equal(run_sh("while true; do echo 0123456789; done", &o, &r, &err), 0);
    assert_true(r.output_limited);
    assert_false(r.timed_out);
    assert_true(r.output_bytes > 1000);
    struct stat st;
    assert_int_equal(stat(o.stdout_path, &st), 0);
    assert_int_equal(st.st_size, 1000);
    lo_buf_release(&r.tail);
}

static void test_not_found(void **state)
{
    char *argv[] = {"lo-no-such-command-xyz", "arg", NULL};
    lo_proc_opts o = {.argv = argv};
    lo_proc_result r;
    lo_error err = {0};
    assert_int_equal(lo_proc_exec(&o, &r, &err), LO_EEXEC);
    assert_string_equal(err.msg, "lo-no-such-command-xyz: command not found");
    lo_buf_release(&r.tail);

    char *argv2[] = {"/no/such/dir/prog", NULL};
    o.argv = argv2;
    assert_int_equal(lo_proc_exec(&o, &r, &err), LO_EEXEC);
    assert_string_equal(err.msg, "/no/such/dir/prog: command not found");
    lo_buf_release(&r.tail);

    /* a cwd that does not exist */
    char *argv3[] = {"true", NULL};
    o.argv = argv3;
    o.cwd = "/no/such/dir";
    assert_int_equal(lo_proc_exec(&o, &r, &err), LO_ENOENT);
    assert_non_null(strstr(err.msg, "/no/such/dir"));
    lo_buf_release(&r.tail);

    /* an output file that cannot be created */
    o.cwd = NULL;
    o.stdout_path = "/no/such/dir/out.txt";
    assert_int_equal(lo_proc_exec(&o, &r, &err), LO_EIO);
    lo_buf_release(&r.tail);

    /* no argv */
    lo_proc_opts none = {0};
    assert_int_equal(lo_proc_exec(&none, &r, &err), LO_EINVAL);
    lo_buf_release(&r.tail);
}

static void test_cwd_and_env(void **state)
{
    lo_proc_opts o = {.cwd = tmpdir, .tail_bytes = 4096};
    lo_proc_result r;
    lo_error err = {0};
    assert_int_equal(run_sh("pwd", &o, &r, &err), 0);
    char want[4200];
    char real[4096];
    assert_non_null(realpath(tmpdir, real));
    snprintf(want, sizeof want, "%s\n", real);
    assert_string_equal(r.tail.data, want);
    lo_buf_release(&r.tail);

    /* a relative program path is taken against cwd */
    FILE *f = fopen(tmp_path("hello.sh"), "w");
    assert_non_null(f);
    fputs("#!/bin/sh\necho hello from script\n", f);
    fclose(f);
    chmod(tmp_path("hello.sh"), 0755);
    char *argv[] = {"./hello.sh", NULL};
    o.argv = argv;
    assert_int_equal(lo_proc_exec(&o, &r, &err), 0);
    assert_string_equal(r.tail.data, "hello from script\n");
    lo_buf_release(&r.tail);

    /* env replaces environ; its PATH is used for the lookup */
    char *env[] = {"PATH=/usr/bin:/bin", "LO_TEST_VAR=some value", NULL};
    lo_proc_opts e = {.env = env, .tail_bytes = 4096};
    assert_int_equal(run_sh("echo \"$LO_TEST_VAR|${HOME-unset}\"", &e, &r, &err), 0);
    assert_string_equal(r.tail.data, "some value|unset\n");
    lo_buf_release(&r.tail);

    /* inherited when NULL */
    setenv("LO_TEST_INHERITED", "yes", 1);
    lo_proc_opts inh = {.tail_bytes = 100};
    assert_int_equal(run_sh("echo $LO_TEST_INHERITED", &inh, &r, &err), 0);
    assert_string_equal(r.tail.data, "yes\n");
    unsetenv("LO_TEST_INHERITED");
    lo_buf_release(&r.tail);
}

static void test_stdin_and_signals(void **state)
{
    /* stdin is /dev/null: cat ends at once; only 0-2 are open in the child */
    lo_proc_opts o = {.tail_bytes = 1000, .timeout_ms = 2000};
    lo_proc_result r;
    lo_error err = {0};
    assert_int_equal(run_sh("cat; ls /proc/self/fd | wc -l", &o, &r, &err), 0);
    assert_false(r.timed_out);
    /* sh's ls sees 0, 1, 2 and its own directory fd */
    assert_int_equal(atoi(r.tail.data), 4);
    lo_buf_release(&r.tail);

    /* an ignored SIGPIPE in the parent is not inherited: the command can
     * still die of it */
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, &old);
    assert_int_equal(run_sh("kill -PIPE $$; echo survived", &o, &r, &err), 0);
    sigaction(SIGPIPE, &old, NULL);
    assert_int_equal(r.term_signal, SIGPIPE);
    assert_int_equal(r.output_bytes, 0);
    lo_buf_release(&r.tail);

    /* killed by a signal of its own */
    assert_int_equal(run_sh("kill -USR1 $$", &o, &r, &err), 0);
    assert_int_equal(r.exit_code, -1);
    assert_int_equal(r.term_signal, SIGUSR1);
    assert_false(r.timed_out);
    lo_buf_release(&r.tail);
}

static void test_rusage(void **state)
{
    char *argv[] = {"true", NULL};
    lo_proc_opts o = {.argv = argv};
    lo_proc_result r;
    lo_error err = {0};
    assert_int_equal(lo_proc_exec(&o, &r, &err), 0);
    assert_true(r.user_ms >= 0 && r.sys_ms >= 0 && r.wall_ms >= 0);
    assert_true(r.max_rss_kb > 0);
    int64_t idle_cpu = r.user_ms;
    lo_buf_release(&r.tail);

    lo_proc_opts burn = {.timeout_ms = 10000};
    assert_int_equal(run_sh("i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done", &burn, &r,
                            &err), 0);
    assert_int_equal(r.exit_code, 0);
    assert_true(r.user_ms > idle_cpu);
    assert_true(r.user_ms + r.sys_ms >= 20);
    assert_true(r.wall_ms >= r.user_ms / 2);
    lo_buf_release(&r.tail);
}

static void test_no_fd_leak(void **state)
{
    char *argv[] = {"true", NULL};
    lo_proc_opts o = {.argv = argv, .stdout_path = tmp_path("leak.txt"),
                      .stderr_path = tmp_path("leak-err.txt"), .tail_bytes = 16};
    int before = count_fds();
    assert_true(before > 0);
    int64_t t0 = now_ms();
    for (int i = 0; i < 200; i++) {
        lo_proc_result r;
        lo_error err = {0};
        assert_int_equal(lo_proc_exec(&o, &r, &err), 0);
        assert_int_equal(r.exit_code, 0);
        lo_buf_release(&r.tail);
    }
    int64_t took = now_ms() - t0;
    assert_int_equal(count_fds(), before);
    /* and no zombies: nothing is left to wait for */
    assert_true(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD);
    assert_true(took < 5000);
    /* failures leak nothing either */
    char *bad[] = {"lo-no-such-command-xyz", NULL};
    o.argv = bad;
    for (int i = 0; i < 20; i++) {
        lo_proc_result r;
        lo_error err = {0};
        assert_int_equal(lo_proc_exec(&o, &r, &err), LO_EEXEC);
        lo_buf_release(&r.tail);
    }
    assert_int_equal(count_fds(), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_codes),
        cmocka_unit_test(test_capture_files),
        cmocka_unit_test(test_merged_output),
        cmocka_unit_test(test_tail),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_kill_after_grace),
        cmocka_unit_test(test_no_grandchild_left),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_max_output),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_cwd_and_env),
        cmocka_unit_test(test_stdin_and_signals),
        cmocka_unit_test(test_rusage),
        cmocka_unit_test(test_no_fd_leak),
    };
    return cmocka_run_group_tests_name("proc", tests, setup, teardown);
}
