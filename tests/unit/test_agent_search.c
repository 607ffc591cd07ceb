/* The searches (src/agent/globmatch.c, ignore.c, walk.c, grep.c, glob.c)
 * and the tools over them (grep, glob, list_dir, read_many_files): the
 * ripgrep-backed grep and the built-in one must agree on a tree with
 * .gitignore files, hidden and binary files; every tool stays confined. */
#include <limits.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "testutil.h"

#include "agent/search.h"
#include "lightsout/agent.h"
#include "lightsout/proc.h"

static char root[PATH_MAX], outside[PATH_MAX];
static lo_agent_env *env;
static lo_agent_registry *reg[3];
static lo_buf out;
static lo_error err;
static bool have_rg;

static void put(const char *rel, const char *text, size_t len)
{
    char p[PATH_MAX * 2], parent[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    snprintf(parent, sizeof parent, "%s", p);
    *strrchr(parent, '/') = '\0';
    lo_error e;
    assert_int_equal(lo_mkdir_p(parent, &e), 0);
    assert_int_equal(lo_file_write_atomic_ex(p, text, len, false, &e), 0);
}
#define PUT(rel, text) put(rel, text, strlen(text))

static void set_mtime(const char *rel, time_t t)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    struct timeval tv[2] = {{t, 0}, {t, 0}};
    assert_int_equal(utimes(p, tv), 0);
}

static void tree(void)
{
    PUT(".gitignore", "*.log\nbuild/\n!keep.log\n");
    PUT("src/a.c", "int main() {\n  return foo(1);\n}\n");
    PUT("src/b.h", "#define FOO 1\nint foo(int);\n");
    PUT("src/sub/.gitignore", "gen.c\n");
    PUT("src/sub/gen.c", "foo generated\n");
    PUT("src/sub/real.c", "foo real\n");
    PUT("build/out.c", "foo built\n");
    PUT("x.log", "foo log\n");
    PUT("keep.log", "foo kept\n");
    PUT(".hidden/h.txt", "foo hidden\n");
    put("bin.dat", "foo\0binary\n", 11);
    PUT(".git/config", "foo git\n");
    PUT("a-b", "a-b foo\n");
    PUT("a/x", "foo\n");
}

static const char TREE_FOO[] = ".hidden/h.txt:1:foo hidden\n"
                               "a/x:1:foo\n"
                               "a-b:1:a-b foo\n"
                               "keep.log:1:foo kept\n"
                               "src/a.c:2:  return foo(1);\n"
                               "src/b.h:2:int foo(int);\n"
                               "src/sub/real.c:1:foo real\n";

static int setup(void **state)
{
    snprintf(root, sizeof root, "/tmp/lo-agent-search-XXXXXX");
    snprintf(outside, sizeof outside, "/tmp/lo-agent-search-out-XXXXXX");
    if (!mkdtemp(root) || !mkdtemp(outside))
        return -1;
    char rg[PATH_MAX];
    have_rg = lo_which("rg", rg, sizeof rg);
    if (!have_rg)
        printf("# rg is not installed: the ripgrep half of the comparisons is skipped\n");
    lo_error e;
    for (int f = 0; f < 3; f++) {
        reg[f] = lo_agent_registry_new();
        const char *names[] = {"grep", "glob", "list_dir", "read_many_files", NULL};
        for (const char *const *n = names; *n; n++)
            if (lo_agent_add_builtin(reg[f], *n, (lo_agent_flavor)f, &e))
                return -1;
    }
    lo_buf_init(&out, 0);
    return 0;
}

static int teardown(void **state)
{
    for (int f = 0; f < 3; f++)
        lo_agent_registry_free(reg[f]);
    lo_buf_release(&out);
    char cmd[3 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", root, outside);
    return system(cmd) == 0 ? 0 : -1;
}

static int each_setup(void **state)
{
    char cmd[4 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'/* '%s'/.[!.]* '%s'/*", root, root, outside);
    if (system(cmd) != 0)
        return -1;
    lo_agent_env_opts o = {.workdir = root};
    lo_error e;
    env = lo_agent_env_local(&o, &e);
    return env ? 0 : -1;
}

static int each_teardown(void **state)
{
    lo_agent_env_free(env);
    env = NULL;
    return 0;
}

static int call(lo_agent_flavor f, const char *name, const char *json_args)
{
    const lo_agent_tool *t = lo_agent_registry_get(reg[f], name);
    assert_non_null(t);
    json_t *args = json_loads(json_args, 0, NULL);
    assert_non_null(args);
    lo_buf_clear(&out);
    memset(&err, 0, sizeof err);
    lo_agent_tool_ctx ctx = {.env = env, .ud = t->ud};
    int rc = t->fn(args, &ctx, &out, &err);
    json_decref(args);
    return rc;
}

#define OUT_IS(s) assert_string_equal(out.data ? out.data : "", (s))
#define OUT_HAS(s) assert_non_null(strstr(out.data ? out.data : "", (s)))
#define ERR_HAS(s) assert_non_null(strstr(err.msg, (s)))

/* grep through the environment, rg (when installed) and built-in, which
 * must agree; returns the built-in's output in out. */
static int grep_both(const char *pattern, const char *path, lo_agent_grep_opts o)
{
    lo_buf rg_out;
    lo_buf_init(&rg_out, 0);
    lo_error rg_err = {0};
    int rg_rc = 0;
    if (have_rg) {
        o.builtin = false;
        rg_rc = env->ops->grep(env, pattern, path, &o, &rg_out, &rg_err);
    }
    lo_buf_clear(&out);
    memset(&err, 0, sizeof err);
    o.builtin = true;
    int rc = env->ops->grep(env, pattern, path, &o, &out, &err);
    if (have_rg) {
        if (rc != rg_rc || strcmp(rg_out.data ? rg_out.data : "", out.data ? out.data : ""))
            fail_msg("rg and built-in differ for %s:\n-- rg (%d) --\n%s%s\n-- built-in (%d) "
                     "--\n%s%s",
                     pattern, rg_rc, rg_out.data ? rg_out.data : "", rg_err.msg, rc,
                     out.data ? out.data : "", err.msg);
    }
    lo_buf_release(&rg_out);
    return rc;
}

/* ---- the matcher ---- */

static bool gm(const char *pat, const char *path)
{
    lo_agent_glob g;
    assert_int_equal(lo_agent_glob_compile_(pat, &g, NULL), 0);
    bool r = lo_agent_glob_match_(&g, path);
    lo_agent_glob_release_(&g);
    return r;
}

static void test_glob_match(void **state)
{
    assert_true(gm("*.c", "a.c"));
    assert_false(gm("*.c", "src/a.c"));
    assert_true(gm("**/*.c", "a.c"));
    assert_true(gm("**/*.c", "src/x/a.c"));
    assert_true(gm("src/**", "src/x/a.c"));
    assert_true(gm("src/**/a.c", "src/a.c"));
    assert_true(gm("src/**/a.c", "src/x/y/a.c"));
    assert_false(gm("src/**/a.c", "lib/x/a.c"));
    assert_true(gm("**/x/**/*.h", "p/x/q/r.h"));
    assert_true(gm("*.{c,h}", "a.h"));
    assert_false(gm("*.{c,h}", "a.cc"));
    assert_true(gm("src/{lib,bin/{x,y}}/*.rs", "src/bin/y/m.rs"));
    assert_true(gm("{a}", "{a}")); /* no comma: literal braces */
    assert_true(gm("[ab]?.txt", "b1.txt"));
    assert_true(gm("./src/*.c", "src/a.c"));
    assert_true(gm("*", ".hidden"));
    assert_true(gm("**/**/**/**/**/**/**/**/z", "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/z"));
    assert_false(gm("**/**/**/**/**/**/**/**/z", "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q"));
    lo_agent_glob g;
    lo_error e;
    assert_int_equal(lo_agent_glob_compile_("a{b,c", &g, &e), LO_EINVAL);
    assert_non_null(strstr(e.msg, "'{' is not closed"));
    assert_int_equal(lo_agent_glob_compile_("[ab", &g, &e), LO_EINVAL);
    assert_int_equal(lo_agent_glob_compile_("", &g, &e), LO_EINVAL);
    /* 2^9 = 512 alternatives is too many */
    assert_int_equal(lo_agent_glob_compile_("{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}", &g,
                                            &e),
                     LO_EINVAL);
}

static void test_ignore_rules(void **state)
{
    lo_agent_ignore *ig = lo_agent_ignore_new_();
    assert_int_equal(lo_agent_ignore_add_(ig, "# comment"), 0);
    assert_int_equal(lo_agent_ignore_add_(ig, "*.o"), 0);
    assert_int_equal(lo_agent_ignore_add_(ig, "/top.txt"), 0);
    assert_int_equal(lo_agent_ignore_add_(ig, "docs/*.md"), 0);
    assert_int_equal(lo_agent_ignore_add_(ig, "out/"), 0);
    assert_int_equal(lo_agent_ignore_add_(ig, "!keep.o"), 0);
    assert_true(lo_agent_ignore_match_(ig, "a.o", false));
    assert_true(lo_agent_ignore_match_(ig, "x/y/a.o", false));
    assert_false(lo_agent_ignore_match_(ig, "x/keep.o", false));
    assert_true(lo_agent_ignore_match_(ig, "top.txt", false));
    assert_false(lo_agent_ignore_match_(ig, "sub/top.txt", false)); /* anchored */
    assert_true(lo_agent_ignore_match_(ig, "docs/a.md", false));
    assert_false(lo_agent_ignore_match_(ig, "x/docs/a.md", false));
    assert_true(lo_agent_ignore_match_(ig, "x/out", true));
    assert_false(lo_agent_ignore_match_(ig, "x/out", false)); /* directories only */
    assert_false(lo_agent_ignore_match_(ig, "main.c", false));
    lo_agent_ignore_free_(ig);
}

/* ---- grep ---- */

static void test_grep_agree(void **state)
{
    tree();
    lo_agent_grep_opts o = {0};
    assert_int_equal(grep_both("foo", NULL, o), 0);
    OUT_IS(TREE_FOO);
    /* a subdirectory: the root's .gitignore still applies */
    PUT("src/sub/trace.log", "foo\n");
    assert_int_equal(grep_both("foo", "src", o), 0);
    OUT_IS("src/a.c:2:  return foo(1);\nsrc/b.h:2:int foo(int);\nsrc/sub/real.c:1:foo real\n");
    /* a single file */
    assert_int_equal(grep_both("foo", "src/sub/gen.c", o), 0);
    OUT_IS("src/sub/gen.c:1:foo generated\n");
    /* case, regex, glob_filter */
    o.case_insensitive = true;
    assert_int_equal(grep_both("FOO", "src", o), 0);
    OUT_IS("src/a.c:2:  return foo(1);\nsrc/b.h:1:#define FOO 1\nsrc/b.h:2:int foo(int);\n"
           "src/sub/real.c:1:foo real\n");
    o.case_insensitive = false;
    assert_int_equal(grep_both("^int [a-z]+\\(", NULL, o), 0);
    OUT_IS("src/a.c:1:int main() {\nsrc/b.h:2:int foo(int);\n");
    assert_int_equal(grep_both("FOO \\d", NULL, o), 0);
    OUT_IS("src/b.h:1:#define FOO 1\n");
    o.glob_filter = "*.h";
    assert_int_equal(grep_both("foo", NULL, o), 0);
    OUT_IS("src/b.h:2:int foo(int);\n");
    /* as in rg, a file the filter names is searched even when a .gitignore
     * ignores it (gen.c), but ignored directories stay unvisited (build/) */
    o.glob_filter = "*.{c,h}";
    assert_int_equal(grep_both("foo", NULL, o), 0);
    OUT_IS("src/a.c:2:  return foo(1);\nsrc/b.h:2:int foo(int);\nsrc/sub/gen.c:1:foo "
           "generated\nsrc/sub/real.c:1:foo real\n");
    o.glob_filter = NULL;
    /* nothing found is not an error */
    assert_int_equal(grep_both("no-such-text-anywhere", NULL, o), 0);
    OUT_IS("");
}

static void test_grep_modes_and_limits(void **state)
{
    tree();
    lo_agent_grep_opts o = {.output_mode = "files_with_matches"};
    assert_int_equal(grep_both("foo", NULL, o), 0);
    OUT_IS(".hidden/h.txt\na/x\na-b\nkeep.log\nsrc/a.c\nsrc/b.h\nsrc/sub/real.c\n");
    PUT("many.txt", "foo 1\nbar\nfoo 2\nfoo 3\n");
    o.output_mode = "count";
    assert_int_equal(grep_both("foo", "many.txt", o), 0);
    OUT_IS("many.txt:3\n");
    o.output_mode = "content";
    o.max_results = 2;
    assert_int_equal(grep_both("foo", NULL, o), 0);
    OUT_IS(".hidden/h.txt:1:foo hidden\na/x:1:foo\n[showing the first 2 results; there are "
           "more: narrow the pattern or path, or raise max_results]\n");
    o.output_mode = "sideways";
    assert_int_equal(grep_both("foo", NULL, o), LO_EINVAL);
    ERR_HAS("output_mode \"sideways\"");
    /* a long line is cut, not dropped */
    char line[2100];
    memset(line, 'x', 2000);
    memcpy(line + 1000, "NEEDLE", 6);
    line[2000] = '\n';
    line[2001] = '\0';
    PUT("long.txt", line);
    o = (lo_agent_grep_opts){0};
    o.builtin = true;
    lo_buf_clear(&out);
    assert_int_equal(env->ops->grep(env, "NEEDLE", "long.txt", &o, &out, &err), 0);
    assert_true(out.len < 600);
    OUT_HAS("[... omitted end of long line]");
}

static void test_grep_invalid_regex(void **state)
{
    PUT("f.txt", "x\n");
    lo_agent_grep_opts o = {.builtin = true};
    lo_buf_clear(&out);
    assert_int_equal(env->ops->grep(env, "foo(", NULL, &o, &out, &err), LO_EINVAL);
    ERR_HAS("invalid regular expression \"foo(\"");
    if (have_rg) {
        o.builtin = false;
        assert_int_equal(env->ops->grep(env, "foo(", NULL, &o, &out, &err), LO_EINVAL);
        ERR_HAS("regex parse error");
    }
    assert_int_equal(env->ops->grep(env, "x", "missing-dir", &o, &out, &err), LO_ENOENT);
}

/* The tool without rg on PATH uses the fallback, and says the same. */
static void test_grep_tool_without_rg(void **state)
{
    tree();
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "grep", "{\"pattern\":\"foo\"}"), 0);
    OUT_IS(TREE_FOO);
    char *path = lo_strdup(getenv("PATH"));
    setenv("PATH", "/nonexistent-lo-bin", 1);
    char rg[PATH_MAX];
    assert_false(lo_which("rg", rg, sizeof rg));
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "grep", "{\"pattern\":\"foo\"}"), 0);
    OUT_IS(TREE_FOO);
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "grep",
                          "{\"pattern\":\"foo\",\"output_mode\":\"count\",\"path\":\"src\"}"),
                     0);
    OUT_IS("src/a.c:1\nsrc/b.h:1\nsrc/sub/real.c:1\n");
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "grep", "{\"pattern\":\"zzz-none\"}"), 0);
    OUT_IS("No matches found.\n");
    setenv("PATH", path, 1);
    free(path);
    /* output_mode belongs to the Anthropic flavor's schema only */
    const lo_agent_tool *t = lo_agent_registry_get(reg[LO_FLAVOR_ANTHROPIC], "grep");
    assert_non_null(json_object_get(json_object_get(t->parameters, "properties"), "output_mode"));
    t = lo_agent_registry_get(reg[LO_FLAVOR_OPENAI], "grep");
    assert_null(json_object_get(json_object_get(t->parameters, "properties"), "output_mode"));
}

/* ---- glob ---- */

static void test_glob_newest_first(void **state)
{
    tree();
    set_mtime("src/a.c", 1000000);
    set_mtime("src/b.h", 3000000);
    set_mtime("src/sub/real.c", 2000000);
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "glob", "{\"pattern\":\"**/*.{c,h}\"}"), 0);
    OUT_IS("src/b.h\nsrc/sub/real.c\nsrc/a.c\n"); /* gen.c and build/ are ignored */
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "glob", "{\"pattern\":\"*.c\",\"path\":\"src\"}"),
                     0);
    OUT_IS("src/a.c\n");
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "glob", "{\"pattern\":\"*.nothing\"}"), 0);
    OUT_IS("No files matched.\n");
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "glob", "{\"pattern\":\"src/[a\"}"), LO_EINVAL);
    ERR_HAS("glob: glob pattern src/[a: a '[' is not closed");
    /* an absolute pattern inside the directory is fine; elsewhere it is refused */
    char args[PATH_MAX * 3], real[PATH_MAX];
    assert_non_null(realpath(root, real));
    snprintf(args, sizeof args, "{\"pattern\":\"%s/src/*.h\"}", real);
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "glob", args), 0);
    OUT_IS("src/b.h\n");
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "glob", "{\"pattern\":\"/etc/*\"}"), LO_EINVAL);
}

/* ---- list_dir and read_many_files ---- */

static void test_list_dir_tool(void **state)
{
    PUT("a.txt", "abc");
    PUT("d/e.txt", "e");
    assert_int_equal(call(LO_FLAVOR_GEMINI, "list_dir", "{}"), 0);
    OUT_IS("a.txt (3 bytes)\n[DIR] d/\n");
    assert_int_equal(call(LO_FLAVOR_GEMINI, "list_dir", "{\"path\":\".\",\"depth\":2}"), 0);
    OUT_IS("a.txt (3 bytes)\n[DIR] d/\nd/e.txt (1 bytes)\n");
    assert_int_equal(call(LO_FLAVOR_GEMINI, "list_dir", "{\"path\":\"d/e.txt\"}"), LO_EINVAL);
    assert_int_equal(call(LO_FLAVOR_GEMINI, "list_dir", "{\"path\":\"nowhere\"}"), LO_ENOENT);
}

static void test_read_many_files(void **state)
{
    tree();
    assert_int_equal(call(LO_FLAVOR_GEMINI, "read_many_files",
                          "{\"paths\":[\"src/b.h\",\"src/sub\",\"a*\",\"bin.dat\"]}"),
                     0);
    OUT_IS("--- a-b ---\na-b foo\n"
           "--- bin.dat ---\n[skipped: a binary file]\n"
           "--- src/b.h ---\n#define FOO 1\nint foo(int);\n"
           "--- src/sub/.gitignore ---\ngen.c\n"
           "--- src/sub/real.c ---\nfoo real\n"
           "--- End of content ---\n");
    assert_int_equal(call(LO_FLAVOR_GEMINI, "read_many_files",
                          "{\"paths\":[\"src/**/*.c\"],\"exclude\":[\"**/sub/**\"]}"),
                     0);
    OUT_IS("--- src/a.c ---\nint main() {\n  return foo(1);\n}\n--- End of content ---\n");
    assert_int_equal(call(LO_FLAVOR_GEMINI, "read_many_files", "{\"paths\":[\"*.zzz\"]}"), 0);
    OUT_IS("No files matched the given paths.\n");
    assert_int_equal(call(LO_FLAVOR_GEMINI, "read_many_files", "{\"paths\":[]}"), LO_EINVAL);
    assert_int_equal(call(LO_FLAVOR_GEMINI, "read_many_files", "{\"paths\":[\"nope.c\"]}"),
                     LO_ENOENT);
}

/* ---- confinement of the search tools ---- */

static void test_search_tools_confined(void **state)
{
    char p[PATH_MAX * 2], args[PATH_MAX * 4];
    snprintf(p, sizeof p, "%s/secret.txt", outside);
    lo_error e;
    assert_int_equal(lo_file_write_atomic_ex(p, "foo secret\n", 11, false, &e), 0);
    snprintf(p, sizeof p, "%s/lnk", root);
    char target[PATH_MAX * 2];
    snprintf(target, sizeof target, "%s/secret.txt", outside);
    assert_int_equal(symlink(target, p), 0);
    snprintf(p, sizeof p, "%s/ldir", root);
    assert_int_equal(symlink(outside, p), 0);
    PUT("inside.txt", "foo inside\n");
    const char *paths[] = {"..", outside, "lnk", "ldir", "ldir/secret.txt"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        snprintf(args, sizeof args, "{\"pattern\":\"foo\",\"path\":\"%s\"}", paths[i]);
        assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "grep", args), LO_EINVAL);
        ERR_HAS("outside the working directory");
        snprintf(args, sizeof args, "{\"pattern\":\"*\",\"path\":\"%s\"}", paths[i]);
        assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "glob", args), LO_EINVAL);
        snprintf(args, sizeof args, "{\"path\":\"%s\"}", paths[i]);
        assert_int_equal(call(LO_FLAVOR_GEMINI, "list_dir", args), LO_EINVAL);
        snprintf(args, sizeof args, "{\"paths\":[\"%s\"]}", paths[i]);
        assert_int_equal(call(LO_FLAVOR_GEMINI, "read_many_files", args), LO_EINVAL);
    }
    /* searching the root does not follow the links out (rg and built-in) */
    lo_agent_grep_opts o = {0};
    assert_int_equal(grep_both("foo", NULL, o), 0);
    OUT_IS("inside.txt:1:foo inside\n");
    assert_int_equal(call(LO_FLAVOR_GEMINI, "read_many_files", "{\"paths\":[\"**\"]}"), 0);
    assert_null(strstr(out.data, "secret"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, each_setup, each_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_glob_match),
        cmocka_unit_test(test_ignore_rules),
        T(test_grep_agree),
        T(test_grep_modes_and_limits),
        T(test_grep_invalid_regex),
        T(test_grep_tool_without_rg),
        T(test_glob_newest_first),
        T(test_list_dir_tool),
        T(test_read_many_files),
        T(test_search_tools_confined),
    };
    return cmocka_run_group_tests_name("agent_search", tests, setup, teardown);
}
