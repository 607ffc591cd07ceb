/* apply_patch (src/agent/patch*.c) against the table in tests/data/patches:
 * each case applied to a copy of its before/ tree through a real local
 * environment, the result compared with after/ (or, for an error, with
 * before/: nothing may change). Plus the tool's own plumbing. */
#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#include "lightsout/agent.h"

static char scratch[PATH_MAX], empty[PATH_MAX];

static int setup(void **state)
{
    snprintf(scratch, sizeof scratch, "/tmp/lo-apply-patch-XXXXXX");
    snprintf(empty, sizeof empty, "/tmp/lo-apply-patch-empty-XXXXXX");
    return mkdtemp(scratch) && mkdtemp(empty) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[3 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", scratch, empty);
    return system(cmd) == 0 ? 0 : -1;
}

static char *slurp(const char *path)
{
    char *data = NULL;
    size_t len;
    lo_error e;
    return lo_file_read(path, 0, &data, &len, &e) == 0 ? data : NULL;
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The work tree is the expected tree, file for file, byte for byte. */
static bool same_tree(const char *want)
{
    char cmd[4 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "diff -r --no-dereference '%s' '%s' >&2", is_dir(want) ? want : empty, scratch);
    return system(cmd) == 0;
}

static void reset_scratch(const char *before)
{
    char cmd[4 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir '%s'", scratch, scratch);
    assert_int_equal(system(cmd), 0);
    if (is_dir(before)) {
        snprintf(cmd, sizeof cmd, "cp -a '%s'/. '%s'/", before, scratch);
        assert_int_equal(system(cmd), 0);
    }
}

static int run_case(const char *dir)
{
    char p[3 * PATH_MAX], before[3 * PATH_MAX], after[3 * PATH_MAX];
    snprintf(before, sizeof before, "%s/before", dir);
    snprintf(after, sizeof after, "%s/after", dir);
    reset_scratch(before);
    snprintf(p, sizeof p, "%s/patch", dir);
    char *patch = slurp(p);
    snprintf(p, sizeof p, "%s/error", dir);
    char *want_err = slurp(p);
    snprintf(p, sizeof p, "%s/summary", dir);
    char *want_sum = slurp(p);
    if (want_err)
        want_err[strcspn(want_err, "\n")] = '\0';
    lo_agent_env_opts o = {.workdir = scratch};
    lo_error err = {0};
    lo_agent_env *env = lo_agent_env_local(&o, &err);
    assert_non_null(env);
    lo_buf out;
    lo_buf_init(&out, 0);
    int rc = lo_agent_apply_patch(env, patch, &out, &err);
    int failures = 0;
    if (want_err) {
        if (rc == 0 || !strstr(err.msg, want_err)) {
            printf("# %s: want an error containing [%s], got rc %d [%s]\n", dir, want_err, rc,
                   err.msg);
            failures++;
        }
        if (!same_tree(before)) {
            printf("# %s: the failed patch changed the tree\n", dir);
            failures++;
        }
        if (out.len) {
            printf("# %s: a failed patch printed [%s]\n", dir, out.data);
            failures++;
        }
    } else {
        if (rc != 0) {
            printf("# %s: failed: %s\n", dir, err.msg);
            failures++;
        } else if (!same_tree(after)) {
            printf("# %s: the tree differs from after/\n", dir);
            failures++;
        }
        if (!rc && want_sum && strcmp(want_sum, out.data ? out.data : "") != 0) {
            printf("# %s: summary [%s], want [%s]\n", dir, out.data, want_sum);
            failures++;
        }
    }
    lo_buf_release(&out);
    lo_agent_env_free(env);
    free(patch);
    free(want_err);
    free(want_sum);
    return failures;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_table(void **state)
{
    const char *root = lo_test_data("patches");
    char rootdir[PATH_MAX];
    snprintf(rootdir, sizeof rootdir, "%s", root);
    DIR *d = opendir(rootdir);
    assert_non_null(d);
    char *names[256];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 256) {
        char p[PATH_MAX * 2];
        snprintf(p, sizeof p, "%s/%s", rootdir, de->d_name);
        if (de->d_name[0] != '.' && is_dir(p))
            names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    int failures = 0, errors = 0;
    for (size_t i = 0; i < n; i++) {
        char p[PATH_MAX * 2];
        snprintf(p, sizeof p, "%s/%s", rootdir, names[i]);
        int f = run_case(p);
        printf("# %s %s\n", f ? "FAIL" : "ok  ", names[i]);
        failures += f;
        errors += lo_str_starts(names[i], "err_");
        free(names[i]);
    }
    assert_true(n >= 30);
    assert_true(errors >= 15);
    assert_int_equal(failures, 0);
}

/* An environment whose writes to one file fail (a full disk, a read-only
 * mount): the local one with write_file wrapped. */
static lo_agent_env_ops failing_ops;
static int (*real_write)(lo_agent_env *, const char *, const char *, size_t, lo_error *);
static int fail_write(lo_agent_env *e, const char *path, const char *data, size_t len,
                      lo_error *err)
{
    size_t n = strlen(path);
    if (n >= 8 && strcmp(path + n - 8, "ro/b.txt") == 0)
        return lo_error_set(err, LO_EIO, "write_file: %s: No space left on device", path);
    return real_write(e, path, data, len, err);
}

/* A write that fails part way puts back what was already written. */
static void test_rollback_on_write_failure(void **state)
{
    reset_scratch("/nonexistent");
    char p[PATH_MAX * 2];
    lo_error err = {0};
    snprintf(p, sizeof p, "%s/a.txt", scratch);
    assert_int_equal(lo_file_write_atomic_ex(p, "a\n", 2, false, &err), 0);
    snprintf(p, sizeof p, "%s/gone.txt", scratch);
    assert_int_equal(lo_file_write_atomic_ex(p, "g\n", 2, false, &err), 0);
    snprintf(p, sizeof p, "%s/ro", scratch);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/ro/b.txt", scratch);
    assert_int_equal(lo_file_write_atomic_ex(p, "b\n", 2, false, &err), 0);
    lo_agent_env_opts o = {.workdir = scratch};
    lo_agent_env *env = lo_agent_env_local(&o, &err);
    failing_ops = *env->ops;
    real_write = env->ops->write_file;
    failing_ops.write_file = fail_write;
    env->ops = &failing_ops;
    lo_buf out;
    lo_buf_init(&out, 0);
    const char *patch = "*** Begin Patch\n"
                        "*** Update File: a.txt\n@@\n-a\n+A\n"
                        "*** Add File: c.txt\n+c\n"
                        "*** Delete File: gone.txt\n"
                        "*** Update File: ro/b.txt\n@@\n-b\n+B\n"
                        "*** End Patch\n";
    int rc = lo_agent_apply_patch(env, patch, &out, &err);
    assert_int_equal(rc, LO_EIO);
    assert_non_null(strstr(err.msg, "No space left on device; no file was changed"));
    assert_int_equal(out.len, 0);
    snprintf(p, sizeof p, "%s/a.txt", scratch);
    char *a = slurp(p);
    assert_string_equal(a, "a\n");
    free(a);
    snprintf(p, sizeof p, "%s/gone.txt", scratch);
    a = slurp(p);
    assert_string_equal(a, "g\n");
    free(a);
    snprintf(p, sizeof p, "%s/c.txt", scratch);
    assert_int_equal(access(p, F_OK), -1);
    lo_buf_release(&out);
    lo_agent_env_free(env);
}

static void test_tool(void **state)
{
    reset_scratch("/nonexistent");
    lo_agent_registry *r = lo_agent_registry_new();
    lo_error err = {0};
    assert_int_equal(lo_agent_add_core_tools(r, LO_FLAVOR_OPENAI, &err), 0);
    const lo_agent_tool *t = lo_agent_registry_get(r, "apply_patch");
    assert_non_null(t);
    assert_null(lo_agent_registry_get(r, "edit_file")); /* codex edits with patches */
    lo_agent_env_opts o = {.workdir = scratch};
    lo_agent_env *env = lo_agent_env_local(&o, &err);
    lo_agent_tool_ctx ctx = {.env = env, .ud = t->ud};
    json_t *args = json_pack("{s:s}", "patch",
                             "*** Begin Patch\n*** Add File: hello.txt\n+hello\n*** End Patch\n");
    lo_buf out;
    lo_buf_init(&out, 0);
    assert_int_equal(t->fn(args, &ctx, &out, &err), 0);
    assert_string_equal(out.data, "A hello.txt\n");
    json_decref(args);
    args = json_pack("{s:i}", "patch", 3);
    assert_int_equal(t->fn(args, &ctx, &out, &err), LO_EINVAL);
    assert_non_null(strstr(err.msg, "patch must be a string"));
    json_decref(args);
    lo_buf_release(&out);
    lo_agent_env_free(env);
    lo_agent_registry_free(r);
}

static void test_core_sets(void **state)
{
    const char *openai[] = {"read_file", "apply_patch", "write_file", "shell", "grep", "glob"};
    const char *anthropic[] = {"read_file", "write_file", "edit_file", "shell", "grep", "glob"};
    const char *gemini[] = {"read_file", "read_many_files", "write_file", "edit_file",
                            "shell", "grep", "glob", "list_dir"};
    struct {
        lo_agent_flavor f;
        const char **names;
        size_t n;
    } sets[] = {{LO_FLAVOR_OPENAI, openai, 6}, {LO_FLAVOR_ANTHROPIC, anthropic, 6},
                {LO_FLAVOR_GEMINI, gemini, 8}};
    for (size_t s = 0; s < 3; s++) {
        lo_agent_registry *r = lo_agent_registry_new();
        lo_error err = {0};
        assert_int_equal(lo_agent_add_core_tools(r, sets[s].f, &err), 0);
        assert_int_equal(lo_agent_registry_count(r), sets[s].n);
        for (size_t i = 0; i < sets[s].n; i++) {
            const lo_agent_tool *t = lo_agent_registry_at(r, i);
            assert_string_equal(t->name, sets[s].names[i]);
            assert_true(strlen(t->description) > 40);
            assert_string_equal(json_string_value(json_object_get(t->parameters, "type")),
                                "object");
        }
        lo_agent_registry_free(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_rollback_on_write_failure),
        cmocka_unit_test(test_tool),
        cmocka_unit_test(test_core_sets),
    };
    return cmocka_run_group_tests_name("apply_patch", tests, setup, teardown);
}
