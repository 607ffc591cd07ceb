/* Subagents (coding-agent-loop-spec §7): spawn_agent and wait, send_input
 * to a finished child, close_agent on a running one, a child scoped to a
 * subdirectory, the depth limit, forwarded events and summed usage. Parent
 * and child share one twin and one tape and run on different threads, so
 * the tapes match on content rather than call numbers. */
#include "agent_testutil.h"

static int tool_touch(const json_t *args, lo_agent_tool_ctx *ctx, lo_buf *out, lo_error *err)
{
    const char *path = json_string_value(json_object_get(args, "path"));
    int rc = ctx->env->ops->write_file(ctx->env, path, "x\n", 2, err);
    if (rc == 0)
        lo_buf_printf(out, "touched %s", path);
    return rc;
}

static void start(agent_fx *f, const char *provider, const char *tape)
{
    fx_start(f, provider, tape);
    fx_add_tool(f, "note", FX_TEXT_ARG, fx_tool_note, 0);
    fx_add_tool(f, "touch",
                "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"}},"
                "\"required\":[\"path\"]}",
                tool_touch, 0);
    fx_add_tool(f, "slow", FX_NO_ARGS, fx_tool_slow, 0);
}

static const char *const providers[] = {"anthropic", "openai", "gemini"};

/* Sum of the usage every assistant turn reported, over all sessions. */
static int64_t events_output_tokens(agent_fx *f)
{
    int64_t sum = 0;
    for (size_t i = 0;; i++) {
        json_t *e = fx_event(f, "assistant_text_end", NULL, NULL, i);
        if (!e)
            return sum;
        sum += json_integer_value(json_object_get(json_object_get(e, "usage"), "output_tokens"));
    }
}

static void test_spawn_and_wait(void **state)
{
    for (size_t p = 0; p < 3; p++) {
        agent_fx f;
        start(&f, providers[p], "subagent.jsonl");
        fx_session(&f);
        fx_submit(&f, "please delegate this");
        assert_string_equal(lo_agent_last_text(f.session), "Parent reviewed the subagent's work.");
        /* the wait result carried the child's answer, status and turns */
        const char *w = json_string_value(json_object_get(fx_tool_end(&f, "wait", 0), "output"));
        assert_non_null(strstr(w, "agent_id: agent_1\nstatus: completed\nturns_used: 2\n"));
        assert_non_null(strstr(w, "output:\nSUBDONE child finished"));
        /* the child's events came through, under its own session id */
        json_t *cs = fx_event(&f, "session_start", "parent_session_id", NULL, 0);
        assert_non_null(cs);
        assert_string_equal(json_string_value(json_object_get(cs, "parent_session_id")),
                            lo_agent_session_id(f.session));
        const char *child = json_string_value(json_object_get(cs, "session_id"));
        assert_string_not_equal(child, lo_agent_session_id(f.session));
        json_t *note = fx_tool_end(&f, "note", 0);
        assert_string_equal(json_string_value(json_object_get(note, "session_id")), child);
        assert_int_equal(json_integer_value(json_object_get(cs, "depth")), 1);
        /* parent turns are its own; usage includes the child's */
        assert_int_equal(lo_agent_turns(f.session), 3);
        lo_llm_usage u;
        lo_agent_usage(f.session, &u);
        assert_int_equal(u.output_tokens, events_output_tokens(&f));
        double usd;
        assert_int_equal(lo_agent_cost(f.session, &usd), 0);
        assert_true(usd > 0);
        /* the child's session ends with the parent's, before it */
        char parent[64];
        snprintf(parent, sizeof parent, "%s", lo_agent_session_id(f.session));
        lo_agent_session_free(f.session);
        f.session = NULL;
        assert_int_equal(fx_count(&f, "session_end"), 2);
        json_t *last = fx_event(&f, "session_end", NULL, NULL, 1);
        assert_string_equal(json_string_value(json_object_get(last, "session_id")), parent);
        fx_stop(&f);
    }
}

static void test_send_input_resumes(void **state)
{
    agent_fx f;
    start(&f, "openai", "subagent_resume.jsonl");
    fx_session(&f);
    fx_submit(&f, "please delegate this");
    assert_string_equal(lo_agent_last_text(f.session), "Both rounds done.");
    const char *w = json_string_value(json_object_get(fx_tool_end(&f, "wait", 1), "output"));
    assert_non_null(strstr(w, "output:\nSECOND-DONE"));
    assert_non_null(strstr(w, "turns_used: 2"));
    fx_stop(&f);
}

static void test_close_running(void **state)
{
    agent_fx f;
    start(&f, "anthropic", "subagent_close.jsonl");
    fx_session(&f);
    fx_submit(&f, "delegate something slow");
    assert_string_equal(lo_agent_last_text(f.session), "Closed it.");
    const char *c =
        json_string_value(json_object_get(fx_tool_end(&f, "close_agent", 0), "output"));
    assert_non_null(strstr(c, "agent_1 closed"));
    /* the child ended; a later wait knows no such agent */
    assert_int_equal(fx_count(&f, "session_end"), 1);
    char *pid = fx_read(&f, "slow.pid");
    if (pid) { /* the child got as far as its command: it must be gone */
        pid_t child = (pid_t)atoi(pid);
        free(pid);
        assert_true(fx_gone(child));
    }
    fx_stop(&f);
}

static void test_working_dir(void **state)
{
    agent_fx f;
    start(&f, "gemini", "subagent_dir.jsonl");
    fx_write(&f, "sub/README", "a subdirectory\n");
    fx_session(&f);
    fx_submit(&f, "please delegate this");
    assert_string_equal(lo_agent_last_text(f.session), "Could not escape.");
    char *made = fx_read(&f, "sub/made-by-child.txt");
    assert_non_null(made);
    free(made);
    assert_null(fx_read(&f, "made-by-child.txt"));
    /* the child's prompt and start event name its own directory */
    json_t *cs = fx_event(&f, "session_start", "parent_session_id", NULL, 0);
    const char *wd = json_string_value(json_object_get(cs, "working_directory"));
    assert_non_null(wd);
    assert_true(strlen(wd) > 4 && strcmp(wd + strlen(wd) - 4, "/sub") == 0);
    fx_stop(&f);
}

static void test_depth_limit(void **state)
{
    agent_fx f;
    start(&f, "anthropic", "subagent_depth.jsonl");
    f.cfg.max_subagent_depth = 0;
    fx_session(&f);
    assert_null(strstr(lo_agent_session_system_prompt(f.session), "- spawn_agent:"));
    fx_submit(&f, "try to delegate");
    assert_string_equal(lo_agent_last_text(f.session), "No subagents here.");
    fx_stop(&f);
}

/* Depth 1 (the default): the child is not offered the subagent tools. */
static bool offers(json_t *body, const char *tool)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(body, "tools"), i, t)
        if (lo_str_eq(json_string_value(json_object_get(t, "name")), tool))
            return true;
    return false;
}

static void test_child_cannot_spawn(void **state)
{
    agent_fx f;
    fx_start_ex(&f, "anthropic", "subagent.jsonl", true, NULL);
    fx_add_tool(&f, "note", FX_TEXT_ARG, fx_tool_note, 0);
    fx_session(&f);
    fx_submit(&f, "please delegate this");
    size_t parent = 0, child = 0;
    for (size_t i = 0; i < fx_requests(&f); i++) {
        json_t *b = fx_request(&f, i);
        json_t *first = json_array_get(json_object_get(b, "messages"), 0);
        char *text = json_dumps(json_object_get(first, "content"), JSON_ENCODE_ANY);
        bool is_child = strstr(text, "SUBTASK") != NULL;
        free(text);
        if (is_child) {
            child++;
            assert_false(offers(b, "spawn_agent"));
            assert_false(offers(b, "wait"));
            assert_true(offers(b, "note"));
        } else {
            parent++;
            assert_true(offers(b, "spawn_agent"));
        }
    }
    assert_int_equal(parent, 3);
    assert_int_equal(child, 2);
    fx_stop(&f);
}

/* Aborting the parent stops the child it is waiting for. */
static void *abort_later(void *arg)
{
    agent_fx *f = arg;
    char pidfile[PATH_MAX + 16];
    snprintf(pidfile, sizeof pidfile, "%s/slow.pid", f->dir);
    for (int i = 0; i < 500 && access(pidfile, F_OK) != 0; i++)
        usleep(10000);
    lo_agent_abort(f->session);
    return NULL;
}

static void test_abort_parent_stops_child(void **state)
{
    agent_fx f;
    start(&f, "openai", "subagent_wait_slow.jsonl");
    fx_session(&f);
    pthread_t th;
    pthread_create(&th, NULL, abort_later, &f);
    lo_error err;
    assert_int_equal(lo_agent_submit(f.session, "delegate something slow", &err), LO_ECANCELED);
    pthread_join(th, NULL);
    assert_int_equal(lo_agent_session_state(f.session), LO_AGENT_CLOSED);
    assert_int_equal(fx_count(&f, "session_end"), 2);
    fx_stop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spawn_and_wait),
        cmocka_unit_test(test_send_input_resumes),
        cmocka_unit_test(test_close_running),
        cmocka_unit_test(test_working_dir),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_child_cannot_spawn),
        cmocka_unit_test(test_abort_parent_stops_child),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
