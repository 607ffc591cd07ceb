/* Profiles and the layered system prompt (coding-agent-loop-spec §3.2, §6):
 * layer order, the environment block, the git snapshot, project document
 * discovery per provider with the 32 KB budget, user instructions last, the
 * rebuild when tools change, and a prompt that stays byte-identical from
 * turn to turn (checked on the wire through the recording proxy). */
#include "agent_testutil.h"

static void sh(const char *dir, const char *script)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cd '%s' && %s", dir, script);
    char *argv[] = {"bash", "-c", cmd, NULL};
    int st = -1;
    lo_buf out;
    lo_buf_init(&out, 0);
    assert_int_equal(lo_proc_run(argv, NULL, 0, &out, &out, &st, NULL), 0);
    if (st != 0)
        fail_msg("%s: exit %d: %s", script, st, out.data ? out.data : "");
    lo_buf_release(&out);
}

static const char *prompt(agent_fx *f)
{
    fx_session(f);
    return lo_agent_session_system_prompt(f->session);
}

static size_t at(const char *hay, const char *needle)
{
    const char *p = strstr(hay, needle);
    if (!p)
        fail_msg("not in the prompt: \"%s\"", needle);
    return (size_t)(p - hay);
}

/* ------------------------------------------------------------ profiles */

static void test_profile_basics(void **state)
{
    agent_fx f;
    fx_start(&f, "anthropic", "anything.jsonl");
    lo_error err;
    lo_agent_profile *p = lo_agent_profile_new("anthropic", NULL, f.catalog, &err);
    assert_non_null(p);
    /* the catalog's first tool-capable Anthropic model */
    assert_string_equal(lo_agent_profile_model(p), "claude-opus-5-5");
    assert_int_equal(lo_agent_profile_flavor(p), LO_FLAVOR_ANTHROPIC);
    assert_int_equal(lo_agent_profile_context_window(p), 1000000);
    assert_string_equal(lo_agent_profile_provider(p), "anthropic");
    /* the subagent tools are on every profile */
    lo_agent_registry *r = lo_agent_profile_registry(p);
    assert_non_null(lo_agent_registry_get(r, "spawn_agent"));
    assert_non_null(lo_agent_registry_get(r, "send_input"));
    assert_non_null(lo_agent_registry_get(r, "wait"));
    assert_non_null(lo_agent_registry_get(r, "close_agent"));
    lo_agent_profile_free(p);

    p = lo_agent_profile_new("openai_chat", "gpt-5.2", f.catalog, &err);
    assert_non_null(p);
    assert_int_equal(lo_agent_profile_flavor(p), LO_FLAVOR_OPENAI);
    lo_agent_profile_free(p);

    /* aliases resolve to the catalog id */
    p = lo_agent_profile_new("gemini", "gemini-flash", f.catalog, &err);
    assert_non_null(p);
    assert_string_equal(lo_agent_profile_model(p), "gemini-3.8-flash");
    lo_agent_profile_free(p);

    /* a model the catalog does not know still works, with a fallback window */
    p = lo_agent_profile_new("openai_chat", "my-local-llama", f.catalog, &err);
    assert_non_null(p);
    assert_int_equal(lo_agent_profile_context_window(p), 128000);
    lo_agent_profile_free(p);

    assert_null(lo_agent_profile_new("mistral", NULL, f.catalog, &err));
    assert_non_null(strstr(err.msg, "unknown agent provider \"mistral\""));
    assert_null(lo_agent_profile_new("anthropic", "gpt-5.2", f.catalog, &err));
    assert_non_null(strstr(err.msg, "gpt-5.2 is a openai model, not anthropic"));
    assert_null(lo_agent_profile_new("anthropic", NULL, NULL, &err));
    assert_non_null(strstr(err.msg, "no model given"));
    fx_stop(&f);
}

static int tool_timeout(const json_t *args, lo_agent_tool_ctx *ctx, lo_buf *out, lo_error *err)
{
    lo_buf_printf(out, "%lld", (long long)ctx->config->default_command_timeout_ms);
    return 0;
}

/* Tools see the profile's shell default: 120 s on Anthropic, 10 s elsewhere,
 * unless the host set one. */
static void test_profile_default_timeout(void **state)
{
    const char *prov[] = {"anthropic", "openai", "gemini"};
    const char *want[] = {"120000", "10000", "10000"};
    for (size_t i = 0; i < 3; i++) {
        for (int set = 0; set < 2; set++) {
            agent_fx f;
            fx_start(&f, prov[i], "timeout.jsonl");
            fx_add_tool(&f, "probe", FX_NO_ARGS, tool_timeout, 0);
            if (set)
                f.cfg.default_command_timeout_ms = 4321;
            fx_session(&f);
            fx_submit(&f, "what is the timeout");
            assert_string_equal(json_string_value(json_object_get(fx_tool_end(&f, "probe", 0),
                                                                  "output")),
                                set ? "4321" : want[i]);
            fx_stop(&f);
        }
    }
}

/* ------------------------------------------------------------ layers */

static void test_layers_in_order(void **state)
{
    const char *prov[] = {"anthropic", "openai", "gemini"};
    const char *identity[] = {"You are a software engineering agent",
                              "You are a coding agent working inside lightsout",
                              "You are an autonomous software engineering agent"};
    const char *format[] = {"old_string must occur exactly once", "*** Begin Patch",
                            "GEMINI.md"};
    for (size_t i = 0; i < 3; i++) {
        agent_fx f;
        fx_start(&f, prov[i], "anything.jsonl");
        fx_write(&f, "AGENTS.md", "Run make check before finishing.\n");
        f.cfg.user_instructions = "Answer in French.";
        const char *p = prompt(&f);
        size_t base = at(p, identity[i]);
        at(p, format[i]);
        size_t envb = at(p, "<environment>");
        size_t tools = at(p, "\n# Tools\n\nYou can call these tools");
        size_t docs = at(p, "\n# Project instructions\n\nFrom the project's own files");
        size_t user = at(p, "# Instructions from the user\n\nAnswer in French.");
        assert_true(base < envb && envb < tools && tools < docs && docs < user);
        at(p, "Run make check before finishing.");
        char wd[PATH_MAX + 32];
        snprintf(wd, sizeof wd, "Working directory: %s\n", f.env->ops->working_directory(f.env));
        at(p, wd);
        at(p, "Platform: linux\n");
        at(p, "OS version: ");
        at(p, "Today's date: 20");
        at(p, "Model: ");
        at(p, fx_model(prov[i]));
        at(p, "- spawn_agent: Start a subagent");
        at(p, "Is git repository: false\n");
        assert_null(strstr(p, "<git>"));
        fx_stop(&f);
    }
}

static void test_git_snapshot(void **state)
{
    agent_fx f;
    fx_start(&f, "anthropic", "anything.jsonl");
    sh(f.dir, "git init -q -b trunk && echo a > a.txt && echo b > b.txt && git add . && "
              "git -c user.name=t -c user.email=t@example.com commit -q -m 'first commit' && "
              "echo a2 >> a.txt && echo c > c.txt && echo d > d.txt && "
              "git -c user.name=t -c user.email=t@example.com commit -q -am 'second: more a' && "
              "echo a3 >> a.txt && echo b2 >> b.txt");
    const char *p = prompt(&f);
    at(p, "Is git repository: true\n");
    at(p, "Git branch: trunk\n");
    at(p, "<git>\nBranch: trunk\n");
    at(p, "Status at session start: 2 modified, 2 untracked\n");
    size_t second = at(p, "second: more a\n"), first = at(p, "first commit\n");
    assert_true(second < first); /* newest first */
    fx_stop(&f);
}

/* ------------------------------------------------------------ project docs */

static void make_tree(agent_fx *f)
{
    sh(f->dir, "git init -q -b main && mkdir -p pkg/sub .codex pkg/.codex");
    fx_write(f, "AGENTS.md", "ROOT-AGENTS\n");
    fx_write(f, "CLAUDE.md", "ROOT-CLAUDE\n");
    fx_write(f, "GEMINI.md", "ROOT-GEMINI\n");
    fx_write(f, ".codex/instructions.md", "ROOT-CODEX\n");
    fx_write(f, "pkg/AGENTS.md", "PKG-AGENTS\n");
    fx_write(f, "pkg/CLAUDE.md", "PKG-CLAUDE\n");
    fx_write(f, "pkg/sub/GEMINI.md", "SUB-GEMINI\n");
    fx_write(f, "pkg/sub/AGENTS.md", "SUB-AGENTS\n");
    fx_write(f, "other/AGENTS.md", "OTHER-AGENTS\n");
}

/* The working directory is pkg/sub inside the repository: files from the
 * root down, AGENTS.md and the provider's own, deeper later. */
static void check_docs(const char *provider, const char *const *want, size_t n,
                       const char *const *absent, size_t na)
{
    agent_fx f;
    fx_start(&f, provider, "anything.jsonl");
    make_tree(&f);
    char sub[PATH_MAX + 16];
    snprintf(sub, sizeof sub, "%s/pkg/sub", f.dir);
    lo_agent_env_free(f.env);
    lo_agent_env_opts eo = {.workdir = sub};
    lo_error err;
    f.env = lo_agent_env_local(&eo, &err);
    assert_non_null(f.env);
    const char *p = prompt(&f);
    size_t last = 0;
    for (size_t i = 0; i < n; i++) {
        size_t pos = at(p, want[i]);
        if (i)
            assert_true(pos > last);
        last = pos;
    }
    for (size_t i = 0; i < na; i++)
        if (strstr(p, absent[i]))
            fail_msg("%s: %s should not be in the prompt", provider, absent[i]);
    fx_stop(&f);
}

static void test_docs_anthropic(void **state)
{
    const char *want[] = {"## AGENTS.md\n\nROOT-AGENTS", "## CLAUDE.md\n\nROOT-CLAUDE",
                          "## pkg/AGENTS.md\n\nPKG-AGENTS", "## pkg/CLAUDE.md\n\nPKG-CLAUDE",
                          "## pkg/sub/AGENTS.md\n\nSUB-AGENTS"};
    const char *absent[] = {"ROOT-GEMINI", "SUB-GEMINI", "ROOT-CODEX", "OTHER-AGENTS"};
    check_docs("anthropic", want, 5, absent, 4);
}

static void test_docs_gemini(void **state)
{
    const char *want[] = {"ROOT-AGENTS", "ROOT-GEMINI", "PKG-AGENTS", "SUB-AGENTS",
                          "SUB-GEMINI"};
    const char *absent[] = {"ROOT-CLAUDE", "PKG-CLAUDE", "ROOT-CODEX"};
    check_docs("gemini", want, 5, absent, 3);
}

static void test_docs_openai(void **state)
{
    const char *want[] = {"ROOT-AGENTS", "## .codex/instructions.md\n\nROOT-CODEX", "PKG-AGENTS",
                          "SUB-AGENTS"};
    const char *absent[] = {"ROOT-CLAUDE", "ROOT-GEMINI", "SUB-GEMINI"};
    check_docs("openai", want, 4, absent, 3);
}

/* Outside a repository the walk starts at the working directory itself. */
static void test_docs_no_repo(void **state)
{
    agent_fx f;
    fx_start(&f, "anthropic", "anything.jsonl");
    fx_write(&f, "CLAUDE.md", "ONLY-HERE\n");
    const char *p = prompt(&f);
    at(p, "## CLAUDE.md\n\nONLY-HERE");
    assert_null(strstr(p, "## AGENTS.md"));
    fx_stop(&f);
}

static void test_docs_budget(void **state)
{
    agent_fx f;
    fx_start(&f, "anthropic", "anything.jsonl");
    size_t n = 40000;
    char *big = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        big[i] = i % 64 == 63 ? '\n' : 'k';
    memcpy(big, "BIG-START", 9);
    big[n] = '\0';
    fx_write(&f, "AGENTS.md", big);
    fx_write(&f, "CLAUDE.md", "NEVER-REACHED\n");
    free(big);
    const char *p = prompt(&f);
    size_t docs = at(p, "# Project instructions");
    size_t mark = at(p, "[Project instructions truncated at 32KB]");
    at(p, "BIG-START");
    assert_true(mark - docs <= 32768 + 1);
    assert_true(mark - docs > 32000);
    assert_null(strstr(p, "NEVER-REACHED"));
    fx_stop(&f);
}

/* A symlinked instruction file that points out of the working directory is
 * not read (the environment's confinement applies to the files in it). */
static void test_docs_symlink_refused(void **state)
{
    agent_fx f;
    fx_start(&f, "anthropic", "anything.jsonl");
    char outside[] = "/tmp/lo-agent-outside-XXXXXX";
    assert_non_null(mkdtemp(outside));
    char target[PATH_MAX];
    snprintf(target, sizeof target, "%s/secret.md", outside);
    assert_int_equal(lo_file_write_atomic(target, "SECRET-OUTSIDE\n", 15, NULL), 0);
    char link[PATH_MAX + 16];
    snprintf(link, sizeof link, "%s/AGENTS.md", f.dir);
    assert_int_equal(symlink(target, link), 0);
    const char *p = prompt(&f);
    assert_null(strstr(p, "SECRET-OUTSIDE"));
    sh(outside, "rm -f secret.md");
    rmdir(outside);
    fx_stop(&f);
}

/* ------------------------------------------------------------ stability */

static void add_note(agent_fx *f) { fx_add_tool(f, "note", FX_TEXT_ARG, fx_tool_note, 0); }

/* The parts of a request a provider caches as a prefix: its system prompt
 * and tool list, and the conversation. */
static void split(const char *provider, json_t *body, json_t **sys, json_t **tools,
                  json_t **conv)
{
    if (strcmp(provider, "anthropic") == 0) {
        *sys = json_object_get(body, "system");
        *conv = json_object_get(body, "messages");
    } else if (strcmp(provider, "openai") == 0) {
        *sys = json_object_get(body, "instructions");
        *conv = json_object_get(body, "input");
    } else {
        *sys = json_object_get(body, "systemInstruction");
        *conv = json_object_get(body, "contents");
    }
    *tools = json_object_get(body, "tools");
}

/* Drop cache_control markers: the adapter moves its breakpoint to the
 * newest message on purpose. */
static json_t *plain(json_t *v)
{
    json_t *c = json_deep_copy(v);
    size_t i;
    json_t *m;
    json_array_foreach(c, i, m) {
        json_object_del(m, "cache_control");
        json_t *content = json_object_get(m, "content");
        size_t j;
        json_t *b;
        if (json_is_array(content))
            json_array_foreach(content, j, b) json_object_del(b, "cache_control");
    }
    return c;
}

static void test_prompt_stable_across_turns(void **state)
{
    const char *prov[] = {"anthropic", "openai", "gemini"};
    for (size_t p = 0; p < 3; p++) {
        agent_fx f;
        fx_start_ex(&f, prov[p], "stable.jsonl", true, NULL);
        add_note(&f);
        fx_session(&f);
        fx_submit(&f, "make four notes");
        fx_submit(&f, "and one more");
        size_t n = fx_requests(&f);
        assert_int_equal(n, 6);
        json_t *sys0, *tools0, *conv0;
        split(prov[p], fx_request(&f, 0), &sys0, &tools0, &conv0);
        json_t *s0 = plain(sys0), *t0 = plain(tools0);
        assert_non_null(s0);
        assert_true(json_array_size(tools0) > 0);
        for (size_t i = 1; i < n; i++) {
            json_t *sys, *tools, *conv, *prev_sys, *prev_tools, *prev;
            split(prov[p], fx_request(&f, i), &sys, &tools, &conv);
            split(prov[p], fx_request(&f, i - 1), &prev_sys, &prev_tools, &prev);
            json_t *s = plain(sys), *t = plain(tools);
            if (!json_equal(s, s0) || !json_equal(t, t0))
                fail_msg("%s: request %zu changed its system prompt or tools", prov[p], i);
            json_decref(s);
            json_decref(t);
            /* append-only: the previous conversation is a prefix of this one
             * (its last message may have grown by a merged turn) */
            json_t *a = plain(prev), *b = plain(conv);
            assert_true(json_array_size(b) > json_array_size(a));
            for (size_t k = 0; k + 1 < json_array_size(a); k++)
                if (!json_equal(json_array_get(a, k), json_array_get(b, k)))
                    fail_msg("%s: request %zu rewrote message %zu", prov[p], i, k);
            json_decref(a);
            json_decref(b);
        }
        json_decref(s0);
        json_decref(t0);
        fx_stop(&f);
    }
}

/* A tool added between inputs reaches both the tool list and the prompt. */
static void test_prompt_rebuilt_when_tools_change(void **state)
{
    agent_fx f;
    fx_start_ex(&f, "anthropic", "stable.jsonl", true, NULL);
    fx_session(&f);
    assert_null(strstr(lo_agent_session_system_prompt(f.session), "- note:"));
    add_note(&f);
    fx_submit(&f, "make four notes");
    assert_non_null(strstr(lo_agent_session_system_prompt(f.session), "- note: A test tool."));
    json_t *tools = json_object_get(fx_request(&f, 0), "tools");
    bool found = false;
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) found |= lo_str_eq(json_string_value(json_object_get(t, "name")), "note");
    assert_true(found);
    fx_stop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profile_basics),
        cmocka_unit_test(test_profile_default_timeout),
        cmocka_unit_test(test_layers_in_order),
        cmocka_unit_test(test_git_snapshot),
        cmocka_unit_test(test_docs_anthropic),
        cmocka_unit_test(test_docs_gemini),
        cmocka_unit_test(test_docs_openai),
        cmocka_unit_test(test_docs_no_repo),
        cmocka_unit_test(test_docs_budget),
        cmocka_unit_test(test_docs_symlink_refused),
        cmocka_unit_test(test_prompt_stable_across_turns),
        cmocka_unit_test(test_prompt_rebuilt_when_tools_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
