/* The built-in tools (src/agent/tools/, builtin.c) called the way a session
 * calls them: looked up in a registry, given JSON arguments and a context
 * with a real local environment over a scratch directory. */
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#include "lightsout/agent.h"

static char root[PATH_MAX], outside[PATH_MAX], real_root[PATH_MAX];
static lo_agent_env *env;
static lo_agent_registry *reg[3]; /* by flavor */
static lo_buf out;
static lo_error err;

static void put_file(const char *dir, const char *rel, const char *text)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    char parent[PATH_MAX * 2];
    snprintf(parent, sizeof parent, "%s", p);
    *strrchr(parent, '/') = '\0';
    lo_error e;
    assert_int_equal(lo_mkdir_p(parent, &e), 0);
    assert_int_equal(lo_file_write_atomic_ex(p, text, strlen(text), false, &e), 0);
}

static char *get_file(const char *dir, const char *rel)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    char *data = NULL;
    size_t len;
    lo_error e;
    if (lo_file_read(p, 0, &data, &len, &e))
        return NULL;
    return data;
}

static bool file_is(const char *dir, const char *rel, const char *want)
{
    char *got = get_file(dir, rel);
    bool same = got && strcmp(got, want) == 0;
    if (!same)
        printf("# %s: got [%s] want [%s]\n", rel, got ? got : "(none)", want);
    free(got);
    return same;
}

static void link_at(const char *target, const char *rel)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    assert_int_equal(symlink(target, p), 0);
}

/* Call a tool of the flavor with JSON arguments; out and err hold the result. */
static int call_cfg(lo_agent_flavor f, const char *name, const char *json_args,
                    const lo_agent_config *cfg)
{
    const lo_agent_tool *t = lo_agent_registry_get(reg[f], name);
    if (!t)
        fail_msg("no tool %s in flavor %d", name, (int)f);
    json_error_t je;
    json_t *args = json_loads(json_args, 0, &je);
    if (!args)
        fail_msg("bad test JSON %s: %s", json_args, je.text);
    lo_buf_clear(&out);
    memset(&err, 0, sizeof err);
    lo_agent_tool_ctx ctx = {.env = env, .config = cfg, .call_id = "call_1", .ud = t->ud};
    int rc = t->fn(args, &ctx, &out, &err);
    json_decref(args);
    if (rc && !err.msg[0])
        fail_msg("%s failed without a message", name);
    return rc;
}

static int call(lo_agent_flavor f, const char *name, const char *json_args)
{
    return call_cfg(f, name, json_args, NULL);
}

#define OUT_HAS(s) assert_non_null(strstr(out.data ? out.data : "", (s)))
#define ERR_HAS(s) assert_non_null(strstr(err.msg, (s)))

static int setup(void **state)
{
    snprintf(root, sizeof root, "/tmp/lo-agent-tools-XXXXXX");
    snprintf(outside, sizeof outside, "/tmp/lo-agent-tools-out-XXXXXX");
    if (!mkdtemp(root) || !mkdtemp(outside) || !realpath(root, real_root))
        return -1;
    lo_error e;
    for (int f = 0; f < 3; f++) {
        reg[f] = lo_agent_registry_new();
        for (const char *const *n = (const char *const[]){"read_file", "write_file",
                                                          "edit_file", "shell", NULL};
             *n; n++)
            if (lo_agent_add_builtin(reg[f], *n, (lo_agent_flavor)f, &e)) {
                printf("# %s\n", e.msg);
                return -1;
            }
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

/* ---- read_file ---- */

static void test_read_file_formats(void **state)
{
    put_file(root, "a.txt", "one\ntwo\nthree\n");
    assert_int_equal(call(LO_FLAVOR_GEMINI, "read_file", "{\"file_path\":\"a.txt\"}"), 0);
    assert_string_equal(out.data, "  1 | one\n  2 | two\n  3 | three\n");
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "read_file", "{\"file_path\":\"a.txt\"}"), 0);
    assert_string_equal(out.data, "     1\tone\n     2\ttwo\n     3\tthree\n");
    assert_int_equal(call(LO_FLAVOR_OPENAI, "read_file", "{\"file_path\":\"a.txt\"}"), 0);
    assert_string_equal(out.data, "L1: one\nL2: two\nL3: three\n");
    /* absolute inside is fine; a last line without a newline counts */
    char args[PATH_MAX * 2];
    put_file(root, "b.txt", "x\ny");
    snprintf(args, sizeof args, "{\"file_path\":\"%s/b.txt\"}", real_root);
    assert_int_equal(call(LO_FLAVOR_GEMINI, "read_file", args), 0);
    assert_string_equal(out.data, "  1 | x\n  2 | y\n");
}

static void test_read_file_window(void **state)
{
    lo_buf b;
    lo_buf_init(&b, 0);
    for (int i = 1; i <= 3000; i++)
        lo_buf_printf(&b, "line %d\n", i);
    put_file(root, "big.txt", b.data);
    lo_buf_release(&b);
    /* default limit: 2000 lines, then a note on how to go on */
    assert_int_equal(call(LO_FLAVOR_GEMINI, "read_file", "{\"file_path\":\"big.txt\"}"), 0);
    OUT_HAS("2000 | line 2000\n[lines 1-2000 of 3000; read on with offset=2001]\n");
    assert_null(strstr(out.data, "line 2001"));
    assert_int_equal(call(LO_FLAVOR_GEMINI, "read_file",
                          "{\"file_path\":\"big.txt\",\"offset\":2999,\"limit\":5}"),
                     0);
    assert_string_equal(out.data, "2999 | line 2999\n3000 | line 3000\n");
    assert_int_equal(call(LO_FLAVOR_GEMINI, "read_file",
                          "{\"file_path\":\"big.txt\",\"offset\":10,\"limit\":2}"),
                     0);
    assert_string_equal(out.data,
                        " 10 | line 10\n 11 | line 11\n[lines 10-11 of 3000; read on with "
                        "offset=12]\n");
    assert_int_equal(call(LO_FLAVOR_GEMINI, "read_file",
                          "{\"file_path\":\"big.txt\",\"offset\":3001}"),
                     LO_EINVAL);
    ERR_HAS("offset 3001 is past the end of big.txt, which has 3000 lines");
    assert_int_equal(call(LO_FLAVOR_GEMINI, "read_file",
                          "{\"file_path\":\"big.txt\",\"offset\":0}"),
                     LO_EINVAL);
    ERR_HAS("offset must be at least 1");
}

static void test_read_file_refusals(void **state)
{
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "read_file", "{\"file_path\":\"nope.c\"}"),
                     LO_ENOENT);
    ERR_HAS("nope.c: no such file");
    char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/pic.png", root);
    lo_error e;
    assert_int_equal(lo_file_write_atomic_ex(p, png, sizeof png, false, &e), 0);
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "read_file", "{\"file_path\":\"pic.png\"}"),
                     LO_EINVAL);
    ERR_HAS("pic.png is a PNG image");
    snprintf(p, sizeof p, "%s/blob.bin", root);
    assert_int_equal(lo_file_write_atomic_ex(p, "ab\0cd", 5, false, &e), 0);
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "read_file", "{\"file_path\":\"blob.bin\"}"),
                     LO_EINVAL);
    ERR_HAS("blob.bin is a binary file; this tool reads text only");
    put_file(root, "empty.txt", "");
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "read_file", "{\"file_path\":\"empty.txt\"}"), 0);
    OUT_HAS("empty.txt is empty");
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "read_file", "{}"), LO_EINVAL);
    ERR_HAS("file_path is required");
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "read_file", "{\"file_path\":7}"), LO_EINVAL);
    ERR_HAS("file_path must be a string");
}

/* ---- write_file ---- */

static void test_write_file(void **state)
{
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "write_file",
                          "{\"file_path\":\"deep/er/new.txt\",\"content\":\"hi\\n\"}"),
                     0);
    assert_string_equal(out.data, "Created deep/er/new.txt (3 bytes)\n");
    assert_true(file_is(root, "deep/er/new.txt", "hi\n"));
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "write_file",
                          "{\"file_path\":\"deep/er/new.txt\",\"content\":\"\"}"),
                     0);
    assert_string_equal(out.data, "Overwrote deep/er/new.txt (0 bytes)\n");
    assert_true(file_is(root, "deep/er/new.txt", ""));
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "write_file", "{\"file_path\":\"x.txt\"}"),
                     LO_EINVAL);
    ERR_HAS("content is required");
}

/* ---- edit_file ---- */

static void test_edit_file_exact(void **state)
{
    put_file(root, "e.py", "def f():\n    return 1\n\ndef g():\n    return 1\n");
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "edit_file",
                          "{\"file_path\":\"e.py\",\"old_string\":\"def f():\\n    return 1\","
                          "\"new_string\":\"def f():\\n    return 2\"}"),
                     0);
    assert_string_equal(out.data, "Edited e.py: 1 replacement.\n");
    assert_true(file_is(root, "e.py", "def f():\n    return 2\n\ndef g():\n    return 1\n"));
    /* not unique */
    put_file(root, "e.py", "x = 1\ny = 1\n");
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "edit_file",
                          "{\"file_path\":\"e.py\",\"old_string\":\"= 1\",\"new_string\":\"= 2\"}"),
                     LO_EINVAL);
    ERR_HAS("occurs 2 times in e.py; include more surrounding lines");
    ERR_HAS("replace_all");
    assert_true(file_is(root, "e.py", "x = 1\ny = 1\n"));
    /* replace_all */
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "edit_file",
                          "{\"file_path\":\"e.py\",\"old_string\":\"= 1\",\"new_string\":\"= 2\","
                          "\"replace_all\":true}"),
                     0);
    assert_string_equal(out.data, "Edited e.py: 2 replacements.\n");
    assert_true(file_is(root, "e.py", "x = 2\ny = 2\n"));
    /* not found */
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "edit_file",
                          "{\"file_path\":\"e.py\",\"old_string\":\"z = 9\",\"new_string\":\"\"}"),
                     LO_EINVAL);
    ERR_HAS("old_string was not found in e.py; read the file again");
    /* nothing to do, empty old_string, missing file */
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "edit_file",
                          "{\"file_path\":\"e.py\",\"old_string\":\"x\",\"new_string\":\"x\"}"),
                     LO_EINVAL);
    ERR_HAS("the same");
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "edit_file",
                          "{\"file_path\":\"e.py\",\"old_string\":\"\",\"new_string\":\"x\"}"),
                     LO_EINVAL);
    ERR_HAS("old_string is empty");
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "edit_file",
                          "{\"file_path\":\"no.py\",\"old_string\":\"a\",\"new_string\":\"b\"}"),
                     LO_ENOENT);
}

static void test_edit_file_fuzzy(void **state)
{
    /* the file has tabs, trailing blanks and typographic quotes; the model typed
     * spaces and ASCII */
    put_file(root, "f.c", "int main(void) {\n\tputs(\xe2\x80\x9chi\xe2\x80\x9d);   \n"
                          "\treturn 0;\n}\n");
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "edit_file",
                          "{\"file_path\":\"f.c\",\"old_string\":\"    puts(\\\"hi\\\");\\n"
                          "    return 0;\",\"new_string\":\"\\treturn 1;\"}"),
                     0);
    OUT_HAS("Edited f.c: 1 replacement.\n");
    OUT_HAS("did not match exactly; it matched once after normalising whitespace");
    OUT_HAS("\tputs(\xe2\x80\x9chi\xe2\x80\x9d);   \n\treturn 0;");
    assert_true(file_is(root, "f.c", "int main(void) {\n\treturn 1;\n}\n"));
    /* fuzzy but not unique */
    put_file(root, "g.c", "a  =  1;\na = 1;\n");
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "edit_file",
                          "{\"file_path\":\"g.c\",\"old_string\":\"a = 1;\\n\\ta=1\","
                          "\"new_string\":\"b\"}"),
                     LO_EINVAL);
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "edit_file",
                          "{\"file_path\":\"g.c\",\"old_string\":\"a\\t= 1;\",\"new_string\":\"b\"}"),
                     LO_EINVAL);
    ERR_HAS("several places");
    assert_true(file_is(root, "g.c", "a  =  1;\na = 1;\n"));
}

static void test_edit_file_gemini_count(void **state)
{
    put_file(root, "h.txt", "cat cat cat\n");
    assert_int_equal(call(LO_FLAVOR_GEMINI, "edit_file",
                          "{\"file_path\":\"h.txt\",\"old_string\":\"cat\",\"new_string\":\"dog\"}"),
                     LO_EINVAL);
    ERR_HAS("expected 1 replacement but old_string occurs 3 times");
    assert_int_equal(call(LO_FLAVOR_GEMINI, "edit_file",
                          "{\"file_path\":\"h.txt\",\"old_string\":\"cat\",\"new_string\":\"dog\","
                          "\"expected_replacements\":3}"),
                     0);
    assert_true(file_is(root, "h.txt", "dog dog dog\n"));
    /* the schema differs by flavor */
    const lo_agent_tool *t = lo_agent_registry_get(reg[LO_FLAVOR_GEMINI], "edit_file");
    assert_non_null(json_object_get(json_object_get(t->parameters, "properties"),
                                    "expected_replacements"));
    t = lo_agent_registry_get(reg[LO_FLAVOR_ANTHROPIC], "edit_file");
    assert_non_null(json_object_get(json_object_get(t->parameters, "properties"),
                                    "replace_all"));
}

/* ---- every file tool refuses each way out ---- */

static void test_file_tools_confined(void **state)
{
    char p[PATH_MAX * 2], args[PATH_MAX * 4];
    put_file(outside, "secret.txt", "s3cr3t\n");
    snprintf(p, sizeof p, "%s/secret.txt", outside);
    link_at(p, "lnk");
    link_at(outside, "ldir");
    char dangling[PATH_MAX * 2];
    snprintf(dangling, sizeof dangling, "%s/created-through-link.txt", outside);
    link_at(dangling, "dang");
    const char *paths[] = {"../secret.txt", p, "lnk", "ldir/secret.txt", "dang"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        snprintf(args, sizeof args, "{\"file_path\":\"%s\"}", paths[i]);
        int rc = call(LO_FLAVOR_ANTHROPIC, "read_file", args);
        assert_true(rc == LO_EINVAL);
        ERR_HAS("outside the working directory");
        snprintf(args, sizeof args, "{\"file_path\":\"%s\",\"content\":\"pwned\"}", paths[i]);
        assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "write_file", args), LO_EINVAL);
        ERR_HAS("outside the working directory");
        snprintf(args, sizeof args,
                 "{\"file_path\":\"%s\",\"old_string\":\"s3cr3t\",\"new_string\":\"x\"}",
                 paths[i]);
        assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "edit_file", args), LO_EINVAL);
        ERR_HAS("outside the working directory");
    }
    /* a new file below a symlinked directory */
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "write_file",
                          "{\"file_path\":\"ldir/planted.txt\",\"content\":\"x\"}"),
                     LO_EINVAL);
    assert_true(file_is(outside, "secret.txt", "s3cr3t\n"));
    assert_null(get_file(outside, "created-through-link.txt"));
    assert_null(get_file(outside, "planted.txt"));
}

/* ---- shell ---- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_shell_output(void **state)
{
    assert_int_equal(call(LO_FLAVOR_OPENAI, "shell",
                          "{\"command\":\"echo out; echo oops >&2; exit 4\"}"),
                     0);
    assert_true(lo_str_starts(out.data, "out\n[stderr]\noops\nExit code: 4, "));
    assert_int_equal(call(LO_FLAVOR_OPENAI, "shell", "{\"command\":\"printf abc\"}"), 0);
    assert_true(lo_str_starts(out.data, "abc\nExit code: 0, "));
    /* workdir (openai) / directory (gemini), confined */
    put_file(root, "sub/f.txt", "f");
    assert_int_equal(call(LO_FLAVOR_OPENAI, "shell", "{\"command\":\"ls\",\"workdir\":\"sub\"}"),
                     0);
    assert_true(lo_str_starts(out.data, "f.txt\n"));
    assert_int_equal(call(LO_FLAVOR_GEMINI, "shell",
                          "{\"command\":\"ls\",\"directory\":\"sub\"}"),
                     0);
    assert_true(lo_str_starts(out.data, "f.txt\n"));
    assert_int_equal(call(LO_FLAVOR_GEMINI, "shell",
                          "{\"command\":\"ls\",\"directory\":\"..\"}"),
                     LO_EINVAL);
    ERR_HAS("outside the working directory");
    assert_int_equal(call(LO_FLAVOR_OPENAI, "shell", "{\"command\":\"kill -TERM $$\"}"), 0);
    OUT_HAS("Exit code: none (killed by SIGTERM, signal 15)");
    assert_int_equal(call(LO_FLAVOR_OPENAI, "shell", "{\"command\":\"\"}"), LO_EINVAL);
}

static void test_shell_timeout(void **state)
{
    int64_t t0 = now_ms();
    assert_int_equal(call(LO_FLAVOR_OPENAI, "shell",
                          "{\"command\":\"echo partial; sleep 30\",\"timeout_ms\":400}"),
                     0);
    assert_true(now_ms() - t0 < 10000);
    assert_true(lo_str_starts(out.data,
                              "partial\n[ERROR: Command timed out after 400ms. Partial output is "
                              "shown above.\nYou can retry with a longer timeout by setting the "
                              "timeout_ms parameter.]\n"));
    /* the session's limit caps what the model asks for */
    lo_agent_config cfg = {.default_command_timeout_ms = 300, .max_command_timeout_ms = 500};
    assert_int_equal(call_cfg(LO_FLAVOR_OPENAI, "shell",
                              "{\"command\":\"sleep 30\",\"timeout_ms\":100000}", &cfg),
                     0);
    OUT_HAS("timed out after 500ms");
    assert_int_equal(call_cfg(LO_FLAVOR_OPENAI, "shell", "{\"command\":\"sleep 30\"}", &cfg), 0);
    OUT_HAS("timed out after 300ms");
    /* the Anthropic flavor's own default is 120 s, still under the cap */
    assert_int_equal(call_cfg(LO_FLAVOR_ANTHROPIC, "shell", "{\"command\":\"sleep 30\"}", &cfg),
                     0);
    OUT_HAS("timed out after 500ms");
    lo_agent_config big = {.default_command_timeout_ms = 10000, .max_command_timeout_ms = 600000};
    t0 = now_ms();
    assert_int_equal(call_cfg(LO_FLAVOR_ANTHROPIC, "shell", "{\"command\":\"sleep 0.2\"}", &big),
                     0);
    OUT_HAS("Exit code: 0");
}

static void test_shell_secrets(void **state)
{
    setenv("FOO_API_KEY", "sk-test-do-not-leak", 1);
    assert_int_equal(call(LO_FLAVOR_ANTHROPIC, "shell",
                          "{\"command\":\"echo key=[$FOO_API_KEY]; echo path=[$PATH]\"}"),
                     0);
    OUT_HAS("key=[]\n");
    assert_null(strstr(out.data, "sk-test-do-not-leak"));
    char want[8192];
    snprintf(want, sizeof want, "path=[%s]\n", getenv("PATH"));
    OUT_HAS(want);
    unsetenv("FOO_API_KEY");
}

static void test_builtins(void **state)
{
    lo_agent_registry *r = lo_agent_registry_new();
    lo_error e;
    assert_int_equal(lo_agent_add_builtin(r, "raed_file", LO_FLAVOR_OPENAI, &e), LO_ENOENT);
    assert_non_null(strstr(e.msg, "did you mean read_file?"));
    assert_int_equal(lo_agent_add_builtin(r, "shell", (lo_agent_flavor)7, &e), LO_EINVAL);
    /* the Anthropic shell documents its 120 s default */
    assert_int_equal(lo_agent_add_builtin(r, "shell", LO_FLAVOR_ANTHROPIC, &e), 0);
    const lo_agent_tool *t = lo_agent_registry_get(r, "shell");
    assert_non_null(strstr(t->description, "120000"));
    lo_agent_registry_free(r);
}

#define T(f) cmocka_unit_test_setup_teardown(f, each_setup, each_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_read_file_formats),
        T(test_read_file_window),
        T(test_read_file_refusals),
        T(test_write_file),
        T(test_edit_file_exact),
        T(test_edit_file_fuzzy),
        T(test_edit_file_gemini_count),
        T(test_file_tools_confined),
        T(test_shell_output),
        T(test_shell_timeout),
        T(test_shell_secrets),
        T(test_builtins),
    };
    return cmocka_run_group_tests_name("agent_tools", tests, setup, teardown);
}
