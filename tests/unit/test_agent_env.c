/* The local execution environment (src/agent/env_local.c, env_exec.c,
 * env_vars.c, path.c): confinement of every path, the file operations, and
 * commands run through the real runner -- timeouts, process-group cleanup,
 * SIGKILL for a command that ignores SIGTERM, the variable policies. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#include "lightsout/agent.h"

static char root[PATH_MAX], outside[PATH_MAX], real_root[PATH_MAX];
static lo_agent_env *env;

static void put_file(const char *dir, const char *rel, const char *text)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    lo_error err;
    assert_int_equal(lo_file_write_atomic_ex(p, text, strlen(text), false, &err), 0);
}

static bool exists_at(const char *dir, const char *rel)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    struct stat st;
    return lstat(p, &st) == 0;
}

static void link_at(const char *target, const char *rel)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    assert_int_equal(symlink(target, p), 0);
}

static int setup(void **state)
{
    snprintf(root, sizeof root, "/tmp/lo-agent-env-XXXXXX");
    snprintf(outside, sizeof outside, "/tmp/lo-agent-out-XXXXXX");
    if (!mkdtemp(root) || !mkdtemp(outside) || !realpath(root, real_root))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    char cmd[3 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", root, outside);
    return system(cmd) == 0 ? 0 : -1;
}

static int each_setup(void **state)
{
    char cmd[4 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'/* '%s'/* '%s'/.[!.]*", root, outside, root);
    if (system(cmd) != 0)
        return -1;
    lo_agent_env_opts o = {.workdir = root};
    lo_error err;
    env = lo_agent_env_local(&o, &err);
    return env ? 0 : -1;
}

static int each_teardown(void **state)
{
    lo_agent_env_free(env);
    env = NULL;
    return 0;
}

static void test_resolve(void **state)
{
    char out[PATH_MAX], want[PATH_MAX * 2];
    lo_error err = {0};
    mkdir(strcat(strcpy(want, root), "/src"), 0755);
    put_file(root, "src/a.c", "int a;\n");
    assert_int_equal(env->ops->resolve(env, "src/a.c", true, out, &err), 0);
    snprintf(want, sizeof want, "%s/src/a.c", real_root);
    assert_string_equal(out, want);
    /* ./, //, and a .. that stays inside are fine */
    assert_int_equal(env->ops->resolve(env, ".//src/../src/./a.c", true, out, &err), 0);
    assert_string_equal(out, want);
    /* absolute inside, through the non-canonical spelling of root */
    snprintf(want, sizeof want, "%s/src/a.c", root);
    assert_int_equal(env->ops->resolve(env, want, true, out, &err), 0);
    /* not yet existing: allowed only without must_exist */
    assert_int_equal(env->ops->resolve(env, "new/dir/f.txt", true, out, &err), LO_ENOENT);
    assert_int_equal(env->ops->resolve(env, "new/dir/f.txt", false, out, &err), 0);
    snprintf(want, sizeof want, "%s/new/dir/f.txt", real_root);
    assert_string_equal(out, want);
    /* ".." after a missing directory is refused rather than guessed */
    assert_int_equal(env->ops->resolve(env, "new/../../x", false, out, &err), LO_ENOENT);
    /* the root itself */
    assert_int_equal(env->ops->resolve(env, ".", true, out, &err), 0);
    assert_string_equal(out, real_root);
    assert_string_equal(env->ops->working_directory(env), real_root);
    assert_string_equal(env->ops->platform(env), "linux");
    assert_true(lo_str_starts(env->ops->os_version(env), "Linux "));
    assert_int_equal(env->ops->resolve(env, "", false, out, &err), LO_EINVAL);
}

static void test_escapes_refused(void **state)
{
    char out[PATH_MAX], p[PATH_MAX * 2];
    lo_error err = {0};
    put_file(outside, "secret.txt", "s3cr3t\n");
    /* .. */
    assert_int_equal(env->ops->resolve(env, "../x", false, out, &err), LO_EINVAL);
    assert_non_null(strstr(err.msg, "outside the working directory"));
    assert_non_null(strstr(err.msg, "../x"));
    /* absolute elsewhere */
    assert_int_equal(env->ops->resolve(env, "/etc/passwd", true, out, &err), LO_EINVAL);
    /* a symlinked file pointing out */
    snprintf(p, sizeof p, "%s/secret.txt", outside);
    link_at(p, "lnk");
    assert_int_equal(env->ops->resolve(env, "lnk", true, out, &err), LO_EINVAL);
    assert_non_null(strstr(err.msg, "symbolic link"));
    /* a symlinked directory, and a file below it */
    link_at(outside, "ldir");
    assert_int_equal(env->ops->resolve(env, "ldir/secret.txt", true, out, &err), LO_EINVAL);
    assert_int_equal(env->ops->resolve(env, "ldir/new.txt", false, out, &err), LO_EINVAL);
    /* a relative symlink climbing out */
    link_at("../../../../../../../../etc", "up");
    assert_int_equal(env->ops->resolve(env, "up/passwd", true, out, &err), LO_EINVAL);
    /* a dangling symlink whose target is outside */
    snprintf(p, sizeof p, "%s/created.txt", outside);
    link_at(p, "dang");
    assert_int_equal(env->ops->resolve(env, "dang", false, out, &err), LO_EINVAL);
    /* a symlink that stays inside is followed */
    put_file(root, "real.txt", "r\n");
    link_at("real.txt", "inlink");
    assert_int_equal(env->ops->resolve(env, "inlink", true, out, &err), 0);
    snprintf(p, sizeof p, "%s/real.txt", real_root);
    assert_string_equal(out, p);
    /* a loop ends */
    link_at("loop2", "loop1");
    link_at("loop1", "loop2");
    assert_int_not_equal(env->ops->resolve(env, "loop1", false, out, &err), 0);
}

static void test_file_ops(void **state)
{
    lo_error err = {0};
    char *data;
    size_t len;
    /* write creates parents */
    assert_int_equal(env->ops->write_file(env, "a/b/c.txt", "hello\n", 6, &err), 0);
    assert_true(env->ops->file_exists(env, "a/b/c.txt"));
    assert_int_equal(env->ops->read_file(env, "a/b/c.txt", &data, &len, &err), 0);
    assert_int_equal(len, 6);
    assert_string_equal(data, "hello\n");
    free(data);
    /* replace keeps the mode */
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/run.sh", root);
    put_file(root, "run.sh", "#!/bin/sh\n");
    chmod(p, 0755);
    assert_int_equal(env->ops->write_file(env, "run.sh", "#!/bin/sh\necho\n", 15, &err), 0);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0755);
    /* errors a model can act on */
    assert_int_equal(env->ops->read_file(env, "nope.txt", &data, &len, &err), LO_ENOENT);
    assert_non_null(strstr(err.msg, "nope.txt"));
    assert_non_null(strstr(err.msg, "no such file"));
    assert_int_equal(env->ops->read_file(env, "a", &data, &len, &err), LO_EISDIR);
    assert_int_equal(env->ops->write_file(env, "a/b", "x", 1, &err), LO_EISDIR);
    assert_int_equal(env->ops->write_file(env, "a/b/c.txt/d", "x", 1, &err), LO_ENOENT);
    assert_non_null(strstr(err.msg, "not a directory"));
    /* delete: files only; a symlink is deleted, not its target */
    put_file(root, "keep.txt", "k");
    link_at("keep.txt", "kl");
    assert_int_equal(env->ops->delete_file(env, "kl", &err), 0);
    assert_false(exists_at(root, "kl"));
    assert_true(exists_at(root, "keep.txt"));
    assert_int_equal(env->ops->delete_file(env, "a", &err), LO_EISDIR);
    assert_int_equal(env->ops->delete_file(env, "keep.txt", &err), 0);
    assert_false(env->ops->file_exists(env, "keep.txt"));
    assert_int_equal(env->ops->delete_file(env, "keep.txt", &err), LO_ENOENT);
}

static void test_file_ops_confined(void **state)
{
    lo_error err = {0};
    char *data;
    size_t len;
    char p[PATH_MAX * 2];
    put_file(outside, "secret.txt", "s3cr3t\n");
    snprintf(p, sizeof p, "%s/secret.txt", outside);
    link_at(p, "lnk");
    link_at(outside, "ldir");
    snprintf(p, sizeof p, "%s/dangling-target.txt", outside);
    link_at(p, "dang");
    const char *reads[] = {"../secret.txt", "lnk", "ldir/secret.txt", p};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(env->ops->read_file(env, reads[i], &data, &len, &err), LO_EINVAL);
        assert_non_null(strstr(err.msg, "outside the working directory"));
    }
    /* writes: through a dangling link, a linked directory, a linked file */
    assert_int_equal(env->ops->write_file(env, "dang", "x", 1, &err), LO_EINVAL);
    assert_false(exists_at(outside, "dangling-target.txt"));
    assert_int_equal(env->ops->write_file(env, "ldir/new.txt", "x", 1, &err), LO_EINVAL);
    assert_false(exists_at(outside, "new.txt"));
    assert_int_equal(env->ops->write_file(env, "lnk", "x", 1, &err), LO_EINVAL);
    assert_int_equal(env->ops->delete_file(env, "ldir/secret.txt", &err), LO_EINVAL);
    assert_true(exists_at(outside, "secret.txt"));
    lo_agent_dir_entry *ents;
    size_t n;
    assert_int_equal(env->ops->list_dir(env, "ldir", 1, &ents, &n, &err), LO_EINVAL);
    assert_int_equal(env->ops->list_dir(env, "..", 1, &ents, &n, &err), LO_EINVAL);
    assert_false(env->ops->file_exists(env, "lnk"));
    /* commands cannot start outside either */
    lo_agent_exec_result r;
    assert_int_equal(env->ops->exec(env, "pwd", 5000, "ldir", NULL, NULL, &r, &err),
                     LO_EINVAL);
    assert_int_equal(env->ops->exec(env, "pwd", 5000, "/", NULL, NULL, &r, &err), LO_EINVAL);
}

static void test_list_dir(void **state)
{
    lo_error err = {0};
    assert_int_equal(env->ops->write_file(env, "b/y.txt", "yy", 2, &err), 0);
    assert_int_equal(env->ops->write_file(env, "b/x/deep.txt", "d", 1, &err), 0);
    assert_int_equal(env->ops->write_file(env, "a.txt", "abc", 3, &err), 0);
    assert_int_equal(env->ops->write_file(env, ".git/HEAD", "ref", 3, &err), 0);
    link_at(outside, "zlink");
    lo_agent_dir_entry *e;
    size_t n;
    assert_int_equal(env->ops->list_dir(env, ".", 1, &e, &n, &err), 0);
    assert_int_equal(n, 4);
    assert_string_equal(e[0].name, ".git");
    assert_string_equal(e[1].name, "a.txt");
    assert_false(e[1].is_dir);
    assert_int_equal(e[1].size, 3);
    assert_string_equal(e[2].name, "b");
    assert_true(e[2].is_dir);
    assert_int_equal(e[2].size, -1);
    assert_string_equal(e[3].name, "zlink");
    assert_false(e[3].is_dir);
    lo_agent_dir_entries_free(e, n);
    /* depth 3: the tree in order, not descending into .git or the link */
    assert_int_equal(env->ops->list_dir(env, ".", 3, &e, &n, &err), 0);
    const char *want[] = {".git", "a.txt", "b", "b/x", "b/x/deep.txt", "b/y.txt", "zlink"};
    assert_int_equal(n, 7);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(e[i].name, want[i]);
    lo_agent_dir_entries_free(e, n);
    assert_int_equal(env->ops->list_dir(env, "a.txt", 1, &e, &n, &err), LO_EINVAL);
    assert_int_equal(env->ops->list_dir(env, "missing", 1, &e, &n, &err), LO_ENOENT);
}

/* Running (a zombie waiting for init to reap it has ended). Given a moment,
 * since the kill and the reaping are asynchronous. */
static bool pid_alive(pid_t pid)
{
    for (int i = 0; i < 100; i++) {
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
        FILE *f = fopen(path, "r");
        if (!f)
            return false;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *paren = strrchr(buf, ')');
        if (!paren || paren[1] != ' ' || paren[2] == 'Z' || paren[2] == 'X')
            return false;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return true;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_exec_basic(void **state)
{
    lo_error err = {0};
    lo_agent_exec_result r;
    assert_int_equal(env->ops->exec(env, "echo out; echo err >&2; exit 3", 10000, NULL, NULL,
                                    NULL, &r, &err),
                     0);
    assert_string_equal(r.stdout_text, "out\n");
    assert_string_equal(r.stderr_text, "err\n");
    assert_int_equal(r.exit_code, 3);
    assert_false(r.timed_out);
    lo_agent_exec_result_release(&r);
    /* bash, in the working directory (or a subdirectory), with extra variables */
    assert_int_equal(env->ops->write_file(env, "sub/f", "", 0, &err), 0);
    char *const extra[] = {"LO_EXTRA=yes", NULL};
    assert_int_equal(env->ops->exec(env, "echo $BASH_VERSION; pwd; echo $LO_EXTRA", 10000,
                                    "sub", extra, NULL, &r, &err),
                     0);
    char want[PATH_MAX * 2];
    snprintf(want, sizeof want, "\n%s/sub\nyes\n", real_root);
    assert_non_null(strstr(r.stdout_text, want));
    assert_true(r.stdout_text[0] >= '1' && r.stdout_text[0] <= '9'); /* a bash version */
    lo_agent_exec_result_release(&r);
    /* invalid UTF-8 comes back replaced */
    assert_int_equal(env->ops->exec(env, "printf 'a\\377b'", 10000, NULL, NULL, NULL, &r, &err),
                     0);
    assert_string_equal(r.stdout_text, "a\xef\xbf\xbd" "b");
    lo_agent_exec_result_release(&r);
    assert_int_equal(env->ops->exec(env, "kill -9 $$", 10000, NULL, NULL, NULL, &r, &err), 0);
    assert_int_equal(r.exit_code, -1);
    assert_int_equal(r.term_signal, SIGKILL);
    lo_agent_exec_result_release(&r);
}

/* The timeout stops the command and its background child: nothing is left. */
static void test_exec_timeout_no_orphans(void **state)
{
    lo_error err = {0};
    lo_agent_exec_result r;
    int64_t t0 = now_ms();
    assert_int_equal(env->ops->exec(env, "sleep 60 & echo $! > bg.pid; echo started; sleep 60",
                                    500, NULL, NULL, NULL, &r, &err),
                     0);
    int64_t took = now_ms() - t0;
    assert_true(r.timed_out);
    assert_string_equal(r.stdout_text, "started\n");
    assert_true(took < 2500); /* SIGTERM sufficed */
    lo_agent_exec_result_release(&r);
    char *pid_text;
    size_t len;
    assert_int_equal(env->ops->read_file(env, "bg.pid", &pid_text, &len, &err), 0);
    pid_t bg = (pid_t)atol(pid_text);
    free(pid_text);
    assert_true(bg > 1);
    assert_false(pid_alive(bg));
    /* a command that finishes leaves its background children no chance either */
    assert_int_equal(env->ops->exec(env, "sleep 60 & echo $! > bg2.pid", 10000, NULL, NULL, NULL,
                                    &r, &err),
                     0);
    assert_false(r.timed_out);
    lo_agent_exec_result_release(&r);
    assert_int_equal(env->ops->read_file(env, "bg2.pid", &pid_text, &len, &err), 0);
    bg = (pid_t)atol(pid_text);
    free(pid_text);
    assert_false(pid_alive(bg));
}

static void test_exec_sigterm_ignored(void **state)
{
    lo_error err = {0};
    lo_agent_exec_result r;
    int64_t t0 = now_ms();
    assert_int_equal(env->ops->exec(env, "trap '' TERM; echo ready; sleep 30; echo never", 300,
                                    NULL, NULL, NULL, &r, &err),
                     0);
    int64_t took = now_ms() - t0;
    assert_true(r.timed_out);
    assert_int_equal(r.term_signal, SIGKILL);
    assert_true(took >= 300 + 1900); /* SIGTERM, the 2 s grace, then SIGKILL */
    assert_true(took < 15000);
    assert_string_equal(r.stdout_text, "ready\n");
    lo_agent_exec_result_release(&r);
}

static void test_exec_cancel(void **state)
{
    atomic_bool cancel;
    atomic_init(&cancel, true);
    lo_error err = {0};
    lo_agent_exec_result r;
    assert_int_equal(env->ops->exec(env, "sleep 30", 60000, NULL, NULL, &cancel, &r, &err), 0);
    assert_true(r.cancelled);
    lo_agent_exec_result_release(&r);
}

static void test_exec_env_policy(void **state)
{
    setenv("FOO_API_KEY", "sk-should-not-leak", 1);
    setenv("MY_TOKEN", "tok", 1);
    setenv("db_password", "pw", 1);
    setenv("LO_PLAIN_VAR", "visible", 1);
    lo_error err = {0};
    lo_agent_exec_result r;
    /* filtered (the default): secrets gone, the rest and PATH kept */
    assert_int_equal(env->ops->exec(env, "env", 10000, NULL, NULL, NULL, &r, &err), 0);
    assert_null(strstr(r.stdout_text, "sk-should-not-leak"));
    assert_null(strstr(r.stdout_text, "MY_TOKEN"));
    assert_null(strstr(r.stdout_text, "db_password"));
    assert_non_null(strstr(r.stdout_text, "LO_PLAIN_VAR=visible"));
    assert_non_null(strstr(r.stdout_text, "PATH=/"));
    lo_agent_exec_result_release(&r);
    /* the other policies */
    struct {
        lo_agent_env_policy p;
        bool key, plain, path;
    } cases[] = {{LO_ENV_INHERIT_ALL, true, true, true},
                 {LO_ENV_INHERIT_CORE, false, false, true},
                 {LO_ENV_INHERIT_NONE, false, false, false}};
    for (size_t i = 0; i < 3; i++) {
        lo_agent_env_opts o = {.workdir = root, .policy = cases[i].p};
        lo_agent_env *e = lo_agent_env_local(&o, &err);
        assert_non_null(e);
        assert_int_equal(e->ops->exec(e, "/usr/bin/env", 10000, NULL, NULL, NULL, &r, &err), 0);
        assert_int_equal(strstr(r.stdout_text, "FOO_API_KEY=") != NULL, cases[i].key);
        assert_int_equal(strstr(r.stdout_text, "LO_PLAIN_VAR=") != NULL, cases[i].plain);
        assert_int_equal(strstr(r.stdout_text, "PATH=/") != NULL, cases[i].path);
        lo_agent_exec_result_release(&r);
        lo_agent_env_free(e);
    }
    /* extra_env is added under every policy */
    const char *const extra[] = {"LO_GIVEN=1", NULL};
    lo_agent_env_opts o = {.workdir = root, .policy = LO_ENV_INHERIT_NONE, .extra_env = extra};
    lo_agent_env *e = lo_agent_env_local(&o, &err);
    assert_int_equal(e->ops->exec(e, "echo $LO_GIVEN", 10000, NULL, NULL, NULL, &r, &err), 0);
    assert_string_equal(r.stdout_text, "1\n");
    lo_agent_exec_result_release(&r);
    lo_agent_env_free(e);
    unsetenv("FOO_API_KEY");
    unsetenv("MY_TOKEN");
    unsetenv("db_password");
    unsetenv("LO_PLAIN_VAR");
}

static void test_is_secret(void **state)
{
    assert_true(lo_agent_env_is_secret("ANTHROPIC_API_KEY"));
    assert_true(lo_agent_env_is_secret("openai_api_key"));
    assert_true(lo_agent_env_is_secret("GITHUB_TOKEN"));
    assert_true(lo_agent_env_is_secret("AWS_SECRET_ACCESS_KEY"));
    assert_true(lo_agent_env_is_secret("X_SECRET=v"));
    assert_true(lo_agent_env_is_secret("PG_PASSWORD"));
    assert_true(lo_agent_env_is_secret("GCP_CREDENTIAL"));
    assert_true(lo_agent_env_is_secret("GOOGLE_APPLICATION_CREDENTIALS"));
    assert_false(lo_agent_env_is_secret("PATH"));
    assert_false(lo_agent_env_is_secret("TOKENIZER_DIR"));
    assert_false(lo_agent_env_is_secret(NULL));
}

static void test_bad_opts(void **state)
{
    lo_error err = {0};
    lo_agent_env_opts o = {0};
    assert_null(lo_agent_env_local(&o, &err));
    assert_non_null(strstr(err.msg, "working directory"));
    o.workdir = "/nonexistent/lo-agent";
    assert_null(lo_agent_env_local(&o, &err));
    assert_non_null(strstr(err.msg, "/nonexistent/lo-agent"));
    lo_agent_exec_result r;
    assert_int_equal(env->ops->exec(env, "", 1000, NULL, NULL, NULL, &r, &err), LO_EINVAL);
    assert_int_equal(env->ops->exec(env, "true", 0, NULL, NULL, NULL, &r, &err), LO_EINVAL);
    lo_agent_env_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_resolve, each_setup, each_teardown),
        cmocka_unit_test_setup_teardown(test_escapes_refused, each_setup, each_teardown),
        cmocka_unit_test_setup_teardown(test_file_ops, each_setup, each_teardown),
        cmocka_unit_test_setup_teardown(test_file_ops_confined, each_setup, each_teardown),
        cmocka_unit_test_setup_teardown(test_list_dir, each_setup, each_teardown),
        cmocka_unit_test_setup_teardown(test_exec_basic, each_setup, each_teardown),
        cmocka_unit_test_setup_teardown(test_exec_timeout_no_orphans, each_setup,
                                        each_teardown),
        cmocka_unit_test_setup_teardown(test_exec_sigterm_ignored, each_setup, each_teardown),
        cmocka_unit_test_setup_teardown(test_exec_cancel, each_setup, each_teardown),
        cmocka_unit_test_setup_teardown(test_exec_env_policy, each_setup, each_teardown),
        cmocka_unit_test(test_is_secret),
        cmocka_unit_test_setup_teardown(test_bad_opts, each_setup, each_teardown),
    };
    return cmocka_run_group_tests_name("agent_env", tests, setup, teardown);
}
