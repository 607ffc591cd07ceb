/* The cross-provider parity matrix (coding-agent-loop-spec §9.12) and the
 * integration smoke sequence (§9.13), with the twins playing the model and
 * the built-in tools of each profile doing real work in a temporary
 * directory. One test per cell and provider, named after the cell. Every
 * tape is provider-neutral (tests/data/tapes/agent/parity/, smoke.jsonl);
 * where the flavors edit differently the entries match on the tools the
 * request offers. A twin answers a request no entry matches with a 400,
 * which fails the submit: so a tape entry that checks a tool_result is an
 * assertion about what the model was sent. */
#include <time.h>

#include "agent_testutil.h"

static void start(agent_fx *f, const char *provider, const char *cell)
{
    char tape[128];
    snprintf(tape, sizeof tape, "parity/%s.jsonl", cell);
    fx_start(f, provider, tape);
}

static void expect_file(agent_fx *f, const char *rel, const char *want)
{
    char *got = fx_read(f, rel);
    if (!got)
        fail_msg("%s: %s is missing", f->provider, rel);
    if (!strstr(got, want))
        fail_msg("%s: %s does not contain \"%s\": %s", f->provider, rel, want, got);
    free(got);
}

static const char *end_output(agent_fx *f, const char *tool, size_t nth)
{
    json_t *e = fx_tool_end(f, tool, nth);
    if (!e)
        fail_msg("%s: no tool_call_end #%zu for %s", f->provider, nth, tool);
    const char *o = json_string_value(json_object_get(e, "output"));
    return o ? o : json_string_value(json_object_get(e, "error"));
}

/* Every tool call of the session succeeded. */
static void no_tool_errors(agent_fx *f)
{
    for (size_t i = 0;; i++) {
        json_t *e = fx_event(f, "tool_call_end", NULL, NULL, i);
        if (!e)
            return;
        if (json_is_true(json_object_get(e, "is_error")))
            fail_msg("%s: %s failed: %s", f->provider,
                     json_string_value(json_object_get(e, "tool_name")),
                     json_string_value(json_object_get(e, "error")));
    }
}

static bool is_error(agent_fx *f, const char *tool, size_t nth)
{
    return json_is_true(json_object_get(fx_tool_end(f, tool, nth), "is_error"));
}

/* ------------------------------------------------------------ the cells */

static void simple_file_creation(const char *provider)
{
    agent_fx f;
    start(&f, provider, "simple_file_creation");
    fx_session(&f);
    fx_submit(&f, "Create a file called hello.py that prints 'Hello World'");
    no_tool_errors(&f);
    expect_file(&f, "hello.py", "print('Hello World')");
    assert_string_equal(lo_agent_last_text(f.session), "Created hello.py.");
    assert_false(is_error(&f, "write_file", 0));
    fx_stop(&f);
}

static void read_then_edit(const char *provider)
{
    agent_fx f;
    start(&f, provider, "read_then_edit");
    fx_write(&f, "hello.py", "print('Hello World')\n");
    fx_session(&f);
    fx_submit(&f, "Read hello.py and add a second print statement that says 'Goodbye'");
    no_tool_errors(&f);
    expect_file(&f, "hello.py", "print('Hello World')\nprint('Goodbye')\n");
    assert_non_null(strstr(end_output(&f, "read_file", 0), "Hello World"));
    fx_stop(&f);
}

static void multi_file_edit(const char *provider)
{
    agent_fx f;
    start(&f, provider, "multi_file_edit");
    fx_write(&f, "a.txt", "alpha\n");
    fx_write(&f, "b.txt", "beta\n");
    fx_session(&f);
    fx_submit(&f, "Uppercase a.txt and b.txt and create c.txt");
    no_tool_errors(&f);
    expect_file(&f, "a.txt", "ALPHA\n");
    expect_file(&f, "b.txt", "BETA\n");
    expect_file(&f, "c.txt", "gamma\n");
    assert_int_equal(fx_count(&f, "tool_call_end"),
                     lo_agent_profile_flavor(f.profile) == LO_FLAVOR_OPENAI ? 1 : 3);
    fx_stop(&f);
}

static void shell_execution(const char *provider)
{
    agent_fx f;
    start(&f, provider, "shell_execution");
    fx_session(&f);
    fx_submit(&f, "Run a command");
    no_tool_errors(&f);
    const char *out = end_output(&f, "shell", 0);
    assert_non_null(strstr(out, "shell-works"));
    assert_non_null(strstr(out, "to-stderr"));
    assert_non_null(strstr(out, "3")); /* the exit code */
    assert_false(is_error(&f, "shell", 0));
    fx_stop(&f);
}

static void shell_timeout(const char *provider)
{
    agent_fx f;
    start(&f, provider, "shell_timeout");
    fx_session(&f);
    time_t t0 = time(NULL);
    fx_submit(&f, "Run something that hangs");
    no_tool_errors(&f);
    assert_true(time(NULL) - t0 < 20);
    const char *out = end_output(&f, "shell", 0);
    assert_non_null(strstr(out, "started"));
    assert_non_null(strstr(out, "[ERROR: Command timed out after 500ms"));
    assert_string_equal(lo_agent_last_text(f.session),
                        "The command timed out; I would retry with a longer timeout.");
    fx_stop(&f);
}

static void grep_glob(const char *provider)
{
    agent_fx f;
    start(&f, provider, "grep_glob");
    fx_write(&f, "src/parser.c", "int x;\n/* needle_42 */\n");
    fx_write(&f, "src/parser.h", "int needle_7;\n");
    fx_write(&f, "docs/readme.md", "nothing here\n");
    fx_session(&f);
    fx_submit(&f, "Find the file with the needle");
    no_tool_errors(&f);
    const char *g = end_output(&f, "glob", 0);
    assert_non_null(strstr(g, "parser.c"));
    assert_null(strstr(g, "parser.h"));
    const char *m = end_output(&f, "grep", 0);
    assert_non_null(strstr(m, "needle_42"));
    assert_non_null(strstr(m, "needle_7"));
    assert_null(strstr(m, "nothing here"));
    fx_stop(&f);
}

static void multi_step(const char *provider)
{
    agent_fx f;
    start(&f, provider, "multi_step");
    fx_write(&f, "config.py", "import os\nTIMEOUT = 30\nRETRIES = 3\n");
    fx_session(&f);
    fx_submit(&f, "Double the timeout in the config");
    no_tool_errors(&f);
    expect_file(&f, "config.py", "import os\nTIMEOUT = 60\nRETRIES = 3\n");
    assert_int_equal(lo_agent_turns(f.session), 5);
    assert_string_equal(lo_agent_last_text(f.session), "TIMEOUT is now 60.");
    fx_stop(&f);
}

static void truncation_large_file(const char *provider)
{
    agent_fx f;
    start(&f, provider, "truncation_large_file");
    char *big = malloc(100001);
    memset(big, 'x', 100000);
    big[100000] = '\0';
    fx_write(&f, "big.txt", big);
    fx_session(&f);
    fx_submit(&f, "Read big.txt");
    no_tool_errors(&f);
    /* the event has all 100,000 characters; the twin matched the marker */
    const char *out = end_output(&f, "read_file", 0);
    assert_non_null(strstr(out, big));
    assert_true(json_is_true(json_object_get(fx_tool_end(&f, "read_file", 0), "truncated")));
    free(big);
    fx_stop(&f);
}

static void parallel_tool_calls(const char *provider)
{
    agent_fx f;
    start(&f, provider, "parallel_tool_calls");
    fx_session(&f);
    fx_submit(&f, "Run two slow commands");
    no_tool_errors(&f);
    assert_string_equal(lo_agent_last_text(f.session), "Both finished.");
    /* both started before either ended: they ran at once */
    long s1 = fx_index(&f, "tool_call_start", 1), e0 = fx_index(&f, "tool_call_end", 0);
    assert_true(s1 >= 0 && e0 >= 0 && s1 < e0);
    fx_stop(&f);
}

static void steer_on_planning(agent_fx *f, const lo_agent_event *ev)
{
    if (ev->kind != LO_AGENT_TOOL_CALL_START)
        return;
    const char *cmd = json_string_value(
        json_object_get(json_object_get(ev->data, "arguments"), "command"));
    if (cmd && strstr(cmd, "planning routes"))
        lo_agent_steer(f->session, "Actually, just create a single /health endpoint for now");
}

static void steering_mid_task(const char *provider)
{
    agent_fx f;
    start(&f, provider, "steering_mid_task");
    f.hook = steer_on_planning;
    fx_session(&f);
    fx_submit(&f, "Create a Flask web application with multiple routes");
    no_tool_errors(&f);
    expect_file(&f, "app.py", "@app.route('/health')");
    char *app = fx_read(&f, "app.py");
    assert_null(strstr(app + (strstr(app, "/health") - app) + 1, "@app.route"));
    free(app);
    assert_int_equal(fx_count(&f, "steering_injected"), 1);
    fx_stop(&f);
}

/* What each provider's request says about reasoning. */
static void effort_of(const char *provider, json_t *body, char *out, size_t n)
{
    json_t *v;
    if (strcmp(provider, "anthropic") == 0)
        v = json_object_get(json_object_get(body, "thinking"), "budget_tokens");
    else if (strcmp(provider, "openai") == 0)
        v = json_object_get(json_object_get(body, "reasoning"), "effort");
    else
        v = json_object_get(json_object_get(json_object_get(body, "generationConfig"),
                                            "thinkingConfig"),
                            "thinkingBudget");
    char *s = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
    snprintf(out, n, "%s", s ? s : "none");
    free(s);
}

static void raise_effort(agent_fx *f, const lo_agent_event *ev)
{
    if (ev->kind == LO_AGENT_TOOL_CALL_START)
        lo_agent_set_reasoning_effort(f->session, "high");
}

static void reasoning_effort_change(const char *provider)
{
    agent_fx f;
    fx_start_ex(&f, provider, "parity/reasoning_effort_change.jsonl", true, NULL);
    f.cfg.reasoning_effort = "low";
    f.hook = raise_effort;
    fx_session(&f);
    fx_submit(&f, "Think about it");
    no_tool_errors(&f);
    assert_int_equal(fx_requests(&f), 2);
    char first[64], second[64];
    effort_of(provider, fx_request(&f, 0), first, sizeof first);
    effort_of(provider, fx_request(&f, 1), second, sizeof second);
    /* the adapters' mappings (docs/llm.md) of low and high */
    const char *want_low = strcmp(provider, "anthropic") == 0 ? "2048"
                           : strcmp(provider, "openai") == 0  ? "\"low\""
                                                              : "1024";
    const char *want_high = strcmp(provider, "anthropic") == 0 ? "16384"
                            : strcmp(provider, "openai") == 0  ? "\"high\""
                                                               : "24576";
    assert_string_equal(first, want_low);
    assert_string_equal(second, want_high);
    fx_stop(&f);
}

static void subagent_spawn_wait(const char *provider)
{
    agent_fx f;
    start(&f, provider, "subagent_spawn_wait");
    fx_write(&f, "hello.py", "print('Hello World')\n");
    fx_session(&f);
    fx_submit(&f, "Spawn a subagent to write tests for hello.py, then review its output");
    no_tool_errors(&f);
    expect_file(&f, "test_hello.py", "import hello");
    assert_non_null(strstr(end_output(&f, "wait", 0), "status: completed"));
    json_t *w = fx_tool_end(&f, "write_file", 0);
    json_t *cs = fx_event(&f, "session_start", "parent_session_id", NULL, 0);
    assert_string_equal(json_string_value(json_object_get(w, "session_id")),
                        json_string_value(json_object_get(cs, "session_id")));
    fx_stop(&f);
}

static void loop_detection(const char *provider)
{
    agent_fx f;
    start(&f, provider, "loop_detection");
    fx_session(&f);
    fx_submit(&f, "Keep checking");
    no_tool_errors(&f);
    assert_int_equal(fx_count(&f, "loop_detection"), 1);
    assert_int_equal(lo_agent_tool_calls(f.session), 10);
    assert_string_equal(lo_agent_last_text(f.session), "I was repeating myself; stopping.");
    fx_stop(&f);
}

static void error_recovery(const char *provider)
{
    agent_fx f;
    start(&f, provider, "error_recovery");
    fx_session(&f);
    fx_submit(&f, "What do the notes say?");
    assert_true(is_error(&f, "read_file", 0));
    assert_false(is_error(&f, "read_file", 1));
    expect_file(&f, "notes.txt", "recovered");
    assert_string_equal(lo_agent_last_text(f.session), "notes.txt now says recovered.");
    fx_stop(&f);
}

static void provider_specific_editing(const char *provider)
{
    agent_fx f;
    start(&f, provider, "provider_specific_editing");
    fx_write(&f, "code.txt", "def one():\n    return 1\n\ndef two():\n    return 2\n");
    fx_write(&f, "old_name.txt", "keep me\n");
    fx_write(&f, "gone.txt", "bye\n");
    fx_session(&f);
    fx_submit(&f, "Edit the code in your native format");
    no_tool_errors(&f);
    if (lo_agent_profile_flavor(f.profile) == LO_FLAVOR_OPENAI) {
        expect_file(&f, "code.txt", "def one():\n    return 10\n\ndef two():\n    return 20\n");
        expect_file(&f, "new.txt", "brand new\n");
        expect_file(&f, "new_name.txt", "kept and moved\n");
        assert_null(fx_read(&f, "old_name.txt"));
        assert_null(fx_read(&f, "gone.txt"));
    } else {
        expect_file(&f, "code.txt", "def one():\n    yield 1\n\ndef two():\n    yield 2\n");
    }
    fx_stop(&f);
}

/* ------------------------------------------------------------ §9.13 */

static void smoke(const char *provider)
{
    agent_fx f;
    fx_start(&f, provider, "smoke.jsonl");
    f.hook = steer_on_planning;
    fx_session(&f);

    fx_submit(&f, "Create a file called hello.py that prints 'Hello World'");
    no_tool_errors(&f);
    assert_true(f.env->ops->file_exists(f.env, "hello.py"));
    expect_file(&f, "hello.py", "Hello");

    fx_submit(&f, "Read hello.py and add a second print statement that says 'Goodbye'");
    no_tool_errors(&f);
    expect_file(&f, "hello.py", "Hello");
    expect_file(&f, "hello.py", "Goodbye");

    fx_submit(&f, "Run hello.py and show the output");
    no_tool_errors(&f);
    assert_non_null(strstr(end_output(&f, "shell", 0), "Goodbye"));

    char *big = malloc(100001);
    memset(big, 'x', 100000);
    big[100000] = '\0';
    lo_error err;
    assert_int_equal(f.env->ops->write_file(f.env, "big.txt", big, 100000, &err), 0);
    fx_submit(&f, "Read big.txt");
    no_tool_errors(&f);
    assert_non_null(strstr(end_output(&f, "read_file", 1), big));
    free(big);

    fx_submit(&f, "Create a Flask web application with multiple routes");
    no_tool_errors(&f);
    expect_file(&f, "app.py", "/health");
    assert_int_equal(fx_count(&f, "steering_injected"), 1);

    fx_submit(&f, "Run 'sleep 30' with a short timeout");
    no_tool_errors(&f);
    assert_non_null(strstr(end_output(&f, "shell", 2), "[ERROR: Command timed out after 1000ms"));

    fx_submit(&f, "Spawn a subagent to write tests for hello.py, then review its output");
    no_tool_errors(&f);
    expect_file(&f, "test_hello.py", "import hello");
    assert_non_null(fx_event(&f, "tool_call_start", "tool_name", "spawn_agent", 0));
    assert_non_null(fx_event(&f, "session_start", "parent_session_id", NULL, 0));
    assert_non_null(strstr(lo_agent_last_text(f.session), "subagent wrote test_hello.py"));
    fx_stop(&f);
}

/* ------------------------------------------------------------ the matrix */

#define CELL(name)                                                            \
    static void test_##name##_openai(void **state) { name("openai"); }       \
    static void test_##name##_anthropic(void **state) { name("anthropic"); } \
    static void test_##name##_gemini(void **state) { name("gemini"); }

CELL(simple_file_creation)
CELL(read_then_edit)
CELL(multi_file_edit)
CELL(shell_execution)
CELL(shell_timeout)
CELL(grep_glob)
CELL(multi_step)
CELL(truncation_large_file)
CELL(parallel_tool_calls)
CELL(steering_mid_task)
CELL(reasoning_effort_change)
CELL(subagent_spawn_wait)
CELL(loop_detection)
CELL(error_recovery)
CELL(provider_specific_editing)
CELL(smoke)

#define RUN(name)                                                             \
    cmocka_unit_test(test_##name##_openai), cmocka_unit_test(test_##name##_anthropic), \
        cmocka_unit_test(test_##name##_gemini)

int main(void)
{
    const struct CMUnitTest tests[] = {
        RUN(simple_file_creation),
        RUN(read_then_edit),
        RUN(multi_file_edit),
        RUN(shell_execution),
        RUN(shell_timeout),
        RUN(grep_glob),
        RUN(multi_step),
        RUN(truncation_large_file),
        RUN(parallel_tool_calls),
        RUN(steering_mid_task),
        RUN(reasoning_effort_change),
        RUN(subagent_spawn_wait),
        RUN(loop_detection),
        RUN(error_recovery),
        RUN(provider_specific_editing),
        RUN(smoke),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
