/* Unit tests for the engine's runtime services: the artifact store (§5.5),
 * context fidelity and thread resolution with the carry-over text (§5.4),
 * and tool call hooks (§9.7) run through a real engine. */
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#include "lightsout/engine.h"
#include "lightsout/graph.h"
#include "pipeline/fidelity.h"

static char *tmpdir(void)
{
    char *t = strdup("/tmp/lo-runtime-XXXXXX");
    assert_non_null(mkdtemp(t));
    return t;
}

static void rmrf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static lo_graph *parse(const char *src)
{
    lo_error err;
    lo_graph *g = lo_graph_parse(src, strlen(src), "t.dot", &err);
    if (!g)
        fail_msg("parse: %s", err.msg);
    assert_int_equal(lo_graph_index_edges(g), 0);
    return g;
}

/* ---- artifacts ---- */

static void test_artifacts_memory_and_file(void **state)
{
    char *dir = tmpdir();
    lo_artifacts *a = lo_artifacts_new(dir, 64);
    assert_non_null(a);
    lo_error err;
    json_t *small = json_pack("{s:s}", "k", "v");
    assert_int_equal(lo_artifacts_store(a, "small", "Small one", small, &err), 0);
    char big[200];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    json_t *large = json_string(big);
    assert_int_equal(lo_artifacts_store(a, "large", NULL, large, &err), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/artifacts/large.json", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0); /* over the threshold: on disk */
    snprintf(path, sizeof path, "%s/artifacts/small.json", dir);
    assert_int_not_equal(stat(path, &st), 0); /* under it: in memory */

    json_t *r = lo_artifacts_retrieve(a, "large", &err);
    assert_non_null(r);
    assert_string_equal(json_string_value(r), big);
    json_decref(r);
    r = lo_artifacts_retrieve(a, "small", &err);
    assert_string_equal(json_string_value(json_object_get(r, "k")), "v");
    json_decref(r);

    json_t *list = lo_artifacts_list(a);
    assert_int_equal(json_array_size(list), 2);
    json_t *first = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(first, "name")), "Small one");
    assert_false(json_is_true(json_object_get(first, "is_file_backed")));
    assert_true(json_is_true(json_object_get(json_array_get(list, 1), "is_file_backed")));
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 1), "size_bytes")),
                     201); /* the JSON text: quotes around 199 characters */
    json_decref(list);

    assert_true(lo_artifacts_has(a, "small"));
    assert_int_equal(lo_artifacts_remove(a, "small"), 0);
    assert_false(lo_artifacts_has(a, "small"));
    assert_int_equal(lo_artifacts_remove(a, "small"), LO_ENOENT);
    assert_null(lo_artifacts_retrieve(a, "small", &err));
    assert_int_equal(err.code, LO_ENOENT);

    /* ids become file names: no path tricks */
    assert_int_equal(lo_artifacts_store(a, "../escape", NULL, small, &err), LO_EINVAL);
    assert_int_equal(lo_artifacts_store(a, "a/b", NULL, small, &err), LO_EINVAL);
    assert_int_equal(lo_artifacts_store(a, "", NULL, small, &err), LO_EINVAL);

    /* replacing a file-backed value keeps the new file */
    assert_int_equal(lo_artifacts_store(a, "large", NULL, large, &err), 0);
    r = lo_artifacts_retrieve(a, "large", &err);
    assert_non_null(r);
    json_decref(r);
    lo_artifacts_clear(a);
    assert_false(lo_artifacts_has(a, "large"));
    json_decref(small);
    json_decref(large);
    lo_artifacts_free(a);
    rmrf(dir);
    free(dir);
}

static void test_artifacts_memory_only(void **state)
{
    lo_artifacts *a = lo_artifacts_new(NULL, 8);
    lo_error err;
    json_t *v = json_string("a value longer than eight bytes");
    assert_int_equal(lo_artifacts_store(a, "x", NULL, v, &err), 0);
    json_t *r = lo_artifacts_retrieve(a, "x", &err);
    assert_true(json_equal(r, v));
    json_decref(r);
    json_decref(v);
    lo_artifacts_free(a);
}

/* ---- fidelity ---- */

static void test_fidelity_precedence(void **state)
{
    lo_graph *g = parse("digraph G { graph [default_fidelity=\"summary:low\"]\n"
                        " a [fidelity=truncate]\n b\n c [fidelity=bogus]\n"
                        " a -> b [fidelity=full]\n b -> c\n }");
    lo_node *a = lo_graph_node(g, "a"), *b = lo_graph_node(g, "b"), *c = lo_graph_node(g, "c");
    /* edge beats node beats graph; an invalid value falls through */
    assert_string_equal(lo_fidelity_resolve(g, b, &g->edges[0]), "full");
    assert_string_equal(lo_fidelity_resolve(g, a, NULL), "truncate");
    assert_string_equal(lo_fidelity_resolve(g, b, &g->edges[1]), "summary:low");
    assert_string_equal(lo_fidelity_resolve(g, c, &g->edges[1]), "summary:low");
    lo_graph_free(g);
    g = parse("digraph G { a \n b\n a -> b }");
    assert_string_equal(lo_fidelity_resolve(g, lo_graph_node(g, "b"), &g->edges[0]), "compact");
    lo_graph_free(g);
}

static void test_thread_precedence(void **state)
{
    lo_graph *g = parse("digraph G {\n subgraph cluster_x { label=\"Loop A\"\n p\n q [thread_id=own] }\n"
                        " r [class=\"code\"]\n s\n"
                        " p -> q\n q -> r [thread_id=edge_t]\n r -> s\n }");
    lo_node *p = lo_graph_node(g, "p"), *q = lo_graph_node(g, "q");
    lo_node *r = lo_graph_node(g, "r"), *s = lo_graph_node(g, "s");
    assert_string_equal(lo_thread_resolve(q, &g->edges[0], "p"), "own");
    assert_string_equal(lo_thread_resolve(r, &g->edges[1], "q"), "edge_t");
    assert_string_equal(lo_thread_resolve(p, NULL, "start"), "loop-a"); /* derived class */
    assert_string_equal(lo_thread_resolve(r, NULL, "q"), "q"); /* explicit class is not a thread */
    assert_string_equal(lo_thread_resolve(s, &g->edges[2], "r"), "r");
    assert_string_equal(lo_thread_resolve(s, NULL, NULL), "s");
    lo_graph_free(g);
}

static void test_preamble_modes(void **state)
{
    lo_graph *g = parse("digraph G { graph [goal=\"Ship it\"] a -> b }");
    lo_context *ctx = lo_context_new();
    lo_context_set_str(ctx, "last_response", "line one\nline two");
    lo_context_set_str(ctx, "internal.retry_count.a", "1");
    lo_context_set_str(ctx, "graph.goal", "Ship it");
    json_t *completed = json_pack("[s,s]", "start", "a");
    json_t *outcomes = json_pack("{s:s, s:s}", "start", "success", "a", "fail");

    char *p = lo_preamble_build(g, "RUN1", "full", completed, outcomes, ctx);
    assert_string_equal(p, "");
    free(p);
    p = lo_preamble_build(g, "RUN1", "truncate", completed, outcomes, ctx);
    assert_string_equal(p, "Goal: Ship it\nRun: RUN1\n");
    free(p);
    p = lo_preamble_build(g, "RUN1", "compact", completed, outcomes, ctx);
    assert_non_null(strstr(p, "Stages completed so far: 2\n- start: success\n- a: fail\n"));
    assert_non_null(strstr(p, "- last_response: line one line two\n")); /* one line */
    assert_null(strstr(p, "internal.")); /* bookkeeping is not carried */
    assert_null(strstr(p, "graph.goal"));
    free(p);

    /* summary:low keeps only the most recent stages */
    json_t *many = json_array();
    for (int i = 0; i < 30; i++)
        json_array_append_new(many, json_sprintf("s%d", i));
    p = lo_preamble_build(g, "RUN1", "summary:low", many, outcomes, ctx);
    assert_non_null(strstr(p, "Stages completed so far: 30 (most recent last)"));
    assert_non_null(strstr(p, "- s29:"));
    assert_null(strstr(p, "- s24:"));
    free(p);
    p = lo_preamble_build(g, "RUN1", "summary:high", many, outcomes, ctx);
    assert_non_null(strstr(p, "- s0:"));
    free(p);
    json_decref(many);
    json_decref(completed);
    json_decref(outcomes);
    lo_context_free(ctx);
    lo_graph_free(g);
}

/* ---- tool hooks, through a real engine ---- */

typedef struct hook_probe {
    const char *tool;
    bool pre_proceed, post_proceed;
    int rc_pre, rc_post;
} hook_probe;

static int hook_handler(lo_stage *st, lo_outcome *out, void *ud, lo_error *err)
{
    hook_probe *p = ud;
    json_t *call = json_pack("{s:s, s:{s:s}}", "name", p->tool, "arguments", "path", "a.txt");
    p->rc_pre = lo_run_tool_hook(st->run, st, "pre", p->tool, call, &p->pre_proceed, err);
    p->rc_post = lo_run_tool_hook(st->run, st, "post", p->tool, call, &p->post_proceed, err);
    json_decref(call);
    out->status = LO_SUCCESS;
    return 0;
}

static void run_hooks(const char *dir, const char *graph_attrs, hook_probe *p)
{
    char src[1024];
    snprintf(src, sizeof src,
             "digraph G { graph [%s]\n start [shape=Mdiamond]\n work [type=probe]\n"
             " exit [shape=Msquare]\n start -> work -> exit }", graph_attrs);
    lo_graph *g = parse(src);
    char logs[512];
    snprintf(logs, sizeof logs, "%s/logs", dir);
    lo_engine_config cfg = {.logs_root = logs, .workdir = dir};
    lo_error err;
    lo_engine *e = lo_engine_new(g, &cfg, &err);
    assert_non_null(e);
    assert_int_equal(lo_engine_register(e, "probe", hook_handler, p), 0);
    lo_run_result res;
    assert_int_equal(lo_engine_run(e, false, &res, &err), 0);
    assert_int_equal(res.status, LO_SUCCESS);
    lo_engine_free(e);
    lo_graph_free(g);
}

static char *slurp(const char *path)
{
    char *data;
    size_t len;
    lo_error err;
    if (lo_file_read(path, 0, &data, &len, &err))
        return NULL;
    return data;
}

static void test_tool_hooks(void **state)
{
    char *dir = tmpdir();
    hook_probe p = {.tool = "read_file"};
    /* the pre hook sees its variables and the call on stdin, and says no */
    run_hooks(dir,
              "tool_hooks.pre=\"echo $LIGHTSOUT_HOOK $LIGHTSOUT_TOOL_NAME $LIGHTSOUT_STAGE > pre.txt;"
              " cat >> pre.txt; exit 3\", tool_hooks.post=\"echo post >> post.txt; exit 1\"",
              &p);
    assert_int_equal(p.rc_pre, 0);
    assert_false(p.pre_proceed);
    assert_int_equal(p.rc_post, 0);
    assert_true(p.post_proceed); /* a failing post hook blocks nothing */
    char path[512];
    snprintf(path, sizeof path, "%s/pre.txt", dir);
    char *pre = slurp(path);
    assert_non_null(pre);
    assert_non_null(strstr(pre, "pre read_file work\n"));
    assert_non_null(strstr(pre, "\"name\":\"read_file\""));
    assert_non_null(strstr(pre, "\"path\":\"a.txt\""));
    free(pre);
    snprintf(path, sizeof path, "%s/post.txt", dir);
    char *post = slurp(path);
    assert_string_equal(post, "post\n");
    free(post);
    /* each hook run is an event */
    snprintf(path, sizeof path, "%s/logs/events.jsonl", dir);
    char *events = slurp(path);
    assert_non_null(strstr(events, "\"type\":\"tool_hook\""));
    assert_non_null(strstr(events, "\"phase\":\"pre\""));
    assert_non_null(strstr(events, "\"proceed\":false"));
    free(events);
    rmrf(dir);
    free(dir);

    /* a passing pre hook lets the call proceed; no hooks at all too */
    dir = tmpdir();
    p = (hook_probe){.tool = "shell"};
    run_hooks(dir, "tool_hooks.pre=\"true\"", &p);
    assert_true(p.pre_proceed);
    assert_true(p.post_proceed);
    rmrf(dir);
    free(dir);
    dir = tmpdir();
    p = (hook_probe){.tool = "shell"};
    run_hooks(dir, "goal=\"x\"", &p);
    assert_true(p.pre_proceed);
    rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_artifacts_memory_and_file),
        cmocka_unit_test(test_artifacts_memory_only),
        cmocka_unit_test(test_fidelity_precedence),
        cmocka_unit_test(test_thread_precedence),
        cmocka_unit_test(test_preamble_modes),
        cmocka_unit_test(test_tool_hooks),
    };
    return cmocka_run_group_tests_name("runtime", tests, NULL, NULL);
}
