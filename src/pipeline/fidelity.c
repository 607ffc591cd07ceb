/* Context fidelity (attractor-spec §5.4): which mode a stage runs under,
 * which thread its session belongs to, and the carry-over text (the
 * "preamble" of §9.2) for the modes that start a fresh session. */
#include <stdio.h>
#include <string.h>

#include "pipeline/engine_internal.h"
#include "pipeline/fidelity.h"

static bool valid_mode(const char *m)
{
    static const char *const modes[] = {"full", "truncate", "compact", "summary:low",
                                        "summary:medium", "summary:high"};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (strcmp(m, modes[i]) == 0)
            return true;
    return false;
}

const char *lo_fidelity_resolve(const lo_graph *g, const lo_node *n, const lo_edge *in)
{
    const char *c[3] = {in ? lo_edge_str(in, "fidelity") : "", lo_node_str(n, "fidelity"),
                        lo_graph_str(g, "default_fidelity")};
    for (int i = 0; i < 3; i++)
        if (c[i] && *c[i] && valid_mode(c[i]))
            return c[i];
    return "compact";
}

const char *lo_thread_resolve(const lo_node *n, const lo_edge *in, const char *prev)
{
    const char *t = lo_node_str(n, "thread_id");
    if (*t)
        return t;
    if (in && *lo_edge_str(in, "thread_id"))
        return lo_edge_str(in, "thread_id");
    /* the class derived from the enclosing subgraph comes after explicit ones */
    const lo_attr *cls = lo_attrs_get(&n->attrs, "class");
    uint32_t explicit_n = 0;
    if (cls && cls->value.len) {
        explicit_n = 1;
        for (const char *p = cls->value.text; *p; p++)
            explicit_n += *p == ',';
    }
    if (n->n_classes > explicit_n)
        return n->classes[n->n_classes - 1];
    return prev && *prev ? prev : n->id;
}

static int add_line(lo_buf *b, size_t limit, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int add_line(lo_buf *b, size_t limit, const char *fmt, ...)
{
    if (b->len >= limit)
        return 1;
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    return lo_buf_puts(b, line);
}

/* Context values a reader cares about: not the engine's bookkeeping. */
static bool interesting(const char *key)
{
    return strncmp(key, "internal.", 9) != 0 && strncmp(key, "graph.", 6) != 0 &&
           strcmp(key, "current_node") != 0 && strcmp(key, "outcome") != 0 &&
           strcmp(key, "preferred_label") != 0;
}

char *lo_preamble_build(const lo_graph *g, const char *run_id, const char *mode,
                        const json_t *completed, const json_t *outcomes, const lo_context *ctx)
{
    if (strcmp(mode, "full") == 0)
        return lo_strdup("");
    lo_buf b;
    lo_buf_init(&b, 0);
    const char *goal = lo_graph_str(g, "goal");
    if (*goal)
        add_line(&b, SIZE_MAX, "Goal: %s\n", goal);
    add_line(&b, SIZE_MAX, "Run: %s\n", run_id);
    if (strcmp(mode, "truncate") == 0)
        return lo_buf_steal(&b);
    /* budgets of §5.4 at about four characters a token */
    size_t limit = strcmp(mode, "summary:low") == 0 ? 2400 :
                   strcmp(mode, "summary:medium") == 0 ? 6000 :
                   strcmp(mode, "summary:high") == 0 ? 12000 : 4000;
    size_t recent = strcmp(mode, "summary:low") == 0 ? 5 :
                    strcmp(mode, "summary:medium") == 0 ? 15 :
                    strcmp(mode, "summary:high") == 0 ? 50 : 20;
    size_t n = json_array_size(completed);
    if (n) {
        add_line(&b, limit, "Stages completed so far: %zu%s\n", n,
                 n > recent ? " (most recent last)" : "");
        for (size_t i = n > recent ? n - recent : 0; i < n; i++) {
            const char *id = json_string_value(json_array_get(completed, i));
            const char *st = json_string_value(json_object_get(outcomes, id ? id : ""));
            if (add_line(&b, limit, "- %s: %s\n", id ? id : "?", st ? st : "?"))
                break;
        }
    }
    json_t *snap = lo_context_snapshot(ctx);
    const char *key;
    json_t *v;
    bool header = false;
    size_t vmax = strcmp(mode, "summary:high") == 0 ? 400 : 160;
    json_object_foreach(snap, key, v) {
        if (!interesting(key))
            continue;
        char *text = json_is_string(v) ? lo_strdup(json_string_value(v))
                                       : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        if (!text)
            continue;
        if (strlen(text) > vmax)
            strcpy(text + vmax - 3, "...");
        for (char *p = text; *p; p++)
            if (*p == '\n')
                *p = ' ';
        if (!header)
            add_line(&b, limit, "Context:\n");
        header = true;
        int full = add_line(&b, limit, "- %s: %s\n", key, text);
        free(text);
        if (full)
            break;
    }
    json_decref(snap);
    return lo_buf_steal(&b);
}
