/* Backend selection (src/pipeline/backend_select.c) and the cli backend's
 * command lines (backend_cli.c): which backend and provider each node gets,
 * the preflight's messages, the router, and the argv of each agent. */
#include "testutil.h"

#include "lightsout/backend.h"
#include "lightsout/transform.h"

static lo_graph *graph(const char *src)
{
    lo_error err;
    lo_graph *g = lo_graph_parse(src, strlen(src), "t.dot", &err);
    if (!g)
        fail_msg("%s", err.msg);
    assert_int_equal(lo_transform_stylesheet(g, NULL, &err), 0);
    return g;
}

static lo_llm_client *client_with(const char *const *providers)
{
    lo_llm_client *c = lo_llm_client_new();
    for (; *providers; providers++) {
        lo_llm_provider_config cfg = {.provider = *providers, .api_key = "sk-test",
                                      .base_url = "http://127.0.0.1:9"};
        lo_llm_error le;
        assert_int_equal(lo_llm_client_add_provider(c, &cfg, &le), 0);
    }
    return c;
}

static const char *node_backend(const lo_graph *g, const char *id, const lo_backend_setup *s)
{
    return lo_backend_for_node(g, lo_graph_node(g, id), s);
}

static void test_backend_rules(void **state)
{
    lo_graph *g = graph("digraph t { graph [backend=cli]\n"
                        "  model_stylesheet=\".styled { backend: sim }\"\n"
                        "  a [prompt=x, backend=api]\n b [prompt=x, class=styled]\n c [prompt=x] }");
    lo_backend_setup s = {0};
    assert_string_equal(node_backend(g, "a", &s), "api");
    assert_string_equal(node_backend(g, "b", &s), "sim"); /* the stylesheet */
    assert_string_equal(node_backend(g, "c", &s), "cli"); /* the graph */
    s.force = "sim";
    assert_string_equal(node_backend(g, "a", &s), "sim");
    lo_graph_free(g);

    /* no attribute anywhere: api with a provider configured, else none */
    g = graph("digraph t { a [prompt=x] }");
    s.force = NULL;
    assert_null(node_backend(g, "a", &s));
    static const char *const gem[] = {"gemini", NULL};
    s.client = client_with(gem);
    assert_string_equal(node_backend(g, "a", &s), "api");
    lo_llm_client_free(s.client);
    lo_graph_free(g);
    assert_true(lo_backend_name_valid("twin"));
    assert_false(lo_backend_name_valid("cloud"));
}

static void test_provider_rules(void **state)
{
    lo_llm_catalog *cat;
    lo_error err;
    assert_int_equal(lo_llm_catalog_load(NULL, &cat, &err), 0);
    static const char *const two[] = {"openai", "gemini", NULL};
    lo_backend_setup s = {.client = client_with(two), .catalog = cat};
    lo_graph *g = graph("digraph t { graph [llm_provider=anthropic]\n"
                        " a [prompt=x]\n b [prompt=x, llm_provider=gemini]\n }");
    char p[32];
    assert_int_equal(lo_backend_node_provider(g, lo_graph_node(g, "a"), &s, p, sizeof p, &err), 0);
    assert_string_equal(p, "anthropic"); /* the graph's, configured or not */
    assert_int_equal(lo_backend_node_provider(g, lo_graph_node(g, "b"), &s, p, sizeof p, &err), 0);
    assert_string_equal(p, "gemini");
    lo_graph_free(g);

    /* the model's provider from the catalog, else the first configured */
    const lo_llm_model *m = lo_llm_model_latest(cat, "anthropic", "tools");
    assert_non_null(m);
    char src[256];
    snprintf(src, sizeof src, "digraph t { a [prompt=x, llm_model=\"%s\"]\n b [prompt=x] }", m->id);
    g = graph(src);
    assert_int_equal(lo_backend_node_provider(g, lo_graph_node(g, "a"), &s, p, sizeof p, &err), 0);
    assert_string_equal(p, "anthropic");
    assert_int_equal(lo_backend_node_provider(g, lo_graph_node(g, "b"), &s, p, sizeof p, &err), 0);
    assert_string_equal(p, "openai");
    lo_graph_free(g);

    g = graph("digraph t { a [prompt=x, llm_model=\"no-such-model\"] }");
    lo_llm_client_free(s.client);
    s.client = NULL;
    assert_int_equal(lo_backend_node_provider(g, lo_graph_node(g, "a"), &s, p, sizeof p, &err),
                     LO_ENOENT);
    assert_non_null(strstr(err.msg, "no-such-model"));
    lo_graph_free(g);
    lo_llm_catalog_free(cat);
    assert_string_equal(lo_backend_key_env("gemini"), "GEMINI_API_KEY");
    assert_null(lo_backend_key_env("cohere"));
}

static void test_preflight_messages(void **state)
{
    lo_graph *g = graph("digraph t { start [shape=Mdiamond]\n exit [shape=Msquare]\n"
                        " a [prompt=x]\n b [prompt=x]\n"
                        " c [prompt=x, backend=twin]\n d [prompt=x, backend=api, llm_provider=openai]\n"
                        " e [prompt=x, backend=cli, cli_agent=codex, cli_command=\"$HOME/bin/agent\"]\n"
                        " f [prompt=x, backend=cli, cli_agent=nope]\n g [prompt=x, backend=cloud]\n"
                        " h [shape=parallelogram, tool_command=\"true\"]\n"
                        " start -> a -> b -> c -> d -> e -> f -> g -> h -> exit }");
    static const char *const anth[] = {"anthropic", NULL};
    lo_backend_setup s = {.client = NULL};
    lo_buf b;
    lo_buf_init(&b, 0);
    /* no client: a and b (no backend), c (no twin), d (no key), f, g */
    size_t n = lo_backend_preflight(g, &s, &b);
    assert_int_equal(n, 5);
    assert_non_null(strstr(b.data, "no provider is configured for the codergen stages a, b: set "
                                   "ANTHROPIC_API_KEY, OPENAI_API_KEY or GEMINI_API_KEY"));
    assert_non_null(strstr(b.data, "node 'c' uses backend twin, but the run has no twin"));
    assert_non_null(strstr(b.data, "node 'd' uses provider openai, which is not configured: set "
                                   "OPENAI_API_KEY"));
    assert_non_null(strstr(b.data, "node 'f': unknown cli_agent 'nope'"));
    assert_non_null(strstr(b.data, "node 'g': unknown backend 'cloud'"));
    assert_null(strstr(b.data, "node 'e'")); /* not a plain program: not checked */
    assert_null(strstr(b.data, "node 'h'"));
    lo_buf_clear(&b);
    /* a client with anthropic: a and b default to api on it */
    s.client = client_with(anth);
    s.twin_url = "http://127.0.0.1:1";
    n = lo_backend_preflight(g, &s, &b);
    assert_int_equal(n, 3); /* d, f, g */
    assert_null(strstr(b.data, "no provider"));
    assert_non_null(strstr(b.data, "set OPENAI_API_KEY\n")); /* a twin: no hint to give one */
    lo_buf_release(&b);
    lo_llm_client_free(s.client);
    lo_graph_free(g);
}

static char *joined(char **argv)
{
    lo_buf b;
    lo_buf_init(&b, 0);
    for (char **a = argv; *a; a++)
        lo_buf_printf(&b, "%s%s", a == argv ? "" : " ", *a);
    return lo_buf_steal(&b);
}

static void test_cli_commands(void **state)
{
    lo_graph *g = graph("digraph t {\n a [prompt=x]\n b [prompt=x, cli_agent=codex, llm_model=m1]\n"
                        " c [prompt=x, cli_agent=gemini, llm_model=m2]\n"
                        " d [prompt=x, cli_agent=opencode, llm_provider=anthropic, llm_model=m3]\n"
                        " e [prompt=x, llm_provider=gemini]\n"
                        " f [prompt=x, cli_command=\"my-claude --flag 'two words'\"]\n"
                        " g [prompt=x, cli_command=\"A=1 claude\"] }");
    static const struct {
        const char *node, *argv, *prog;
        lo_cli_agent agent;
    } want[] = {
        {"a", "claude -p --output-format stream-json --verbose --permission-mode acceptEdits",
         "claude", LO_CLI_CLAUDE},
        {"b", "codex exec --json --skip-git-repo-check --sandbox workspace-write --model m1",
         "codex", LO_CLI_CODEX},
        {"c", "gemini -o stream-json --approval-mode auto_edit --model m2 -p", "gemini",
         LO_CLI_GEMINI},
        {"d", "opencode run --format json --model anthropic/m3", "opencode", LO_CLI_OPENCODE},
        {"e", "gemini -o stream-json --approval-mode auto_edit -p", "gemini", LO_CLI_GEMINI},
        {"f", "/bin/sh -c my-claude --flag 'two words' \"$@\" lightsout-cli", "my-claude",
         LO_CLI_CLAUDE},
        {"g", "/bin/sh -c A=1 claude \"$@\" lightsout-cli", "", LO_CLI_CLAUDE},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        lo_cli_agent a;
        char prog[64];
        lo_error err;
        char **argv = lo_cli_command(g, lo_graph_node(g, want[i].node), &a, prog, sizeof prog, &err);
        assert_non_null(argv);
        char *got = joined(argv);
        assert_string_equal(got, want[i].argv);
        assert_string_equal(prog, want[i].prog);
        assert_int_equal(a, want[i].agent);
        free(got);
        lo_cli_argv_free(argv);
    }
    lo_graph_free(g);
}

/* The router runs each stage on the backend its node names. */
static void test_router_picks(void **state)
{
    lo_graph *g = graph("digraph t { a [prompt=x, backend=sim]\n b [prompt=x, backend=cli]\n"
                        " c [prompt=x, backend=api]\n d [prompt=x] }");
    lo_backend_setup s = {0};
    lo_error err;
    lo_backend *r = lo_backend_router_new(&s, &err);
    assert_non_null(r);
    assert_string_equal(r->name, "per-node");
    lo_stage st = {.graph = g};
    st.node = lo_graph_node(g, "a");
    assert_string_equal(lo_backend_pick(r, &st, &err)->name, "sim");
    st.node = lo_graph_node(g, "b");
    assert_string_equal(lo_backend_pick(r, &st, &err)->name, "cli");
    st.node = lo_graph_node(g, "c");
    assert_null(lo_backend_pick(r, &st, &err)); /* no client: no api backend */
    assert_non_null(strstr(err.msg, "not available"));
    st.node = lo_graph_node(g, "d");
    assert_null(lo_backend_pick(r, &st, &err));
    assert_non_null(strstr(err.msg, "no backend"));
    lo_backend_free(r);
    s.force = "sim";
    r = lo_backend_router_new(&s, &err);
    assert_string_equal(r->name, "sim");
    st.node = lo_graph_node(g, "b");
    assert_string_equal(lo_backend_pick(r, &st, &err)->name, "sim");
    lo_backend_free(r);
    /* a backend that is not a router picks itself */
    lo_backend *sim = lo_backend_sim();
    assert_ptr_equal(lo_backend_pick(sim, &st, &err), sim);
    lo_backend_free(sim);
    lo_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backend_rules),      cmocka_unit_test(test_provider_rules),
        cmocka_unit_test(test_preflight_messages), cmocka_unit_test(test_cli_commands),
        cmocka_unit_test(test_router_picks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
