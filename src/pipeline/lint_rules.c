/* The built-in lint rules: attractor-spec §7.2, and lightsout's own where
 * users keep getting bitten. Every rule is linear in the size of the graph:
 * node lookups go through the graph's hash index, reachability is one BFS
 * over an adjacency array, and attribute keys and conditions are classified
 * once per distinct key or text. */
#include <stdio.h>
#include <string.h>

#include "lightsout/condition.h"
#include "lightsout/lint.h"
#include "lightsout/stylesheet.h"
#include "pipeline/lint_internal.h"

static const lo_rule_info rules[] = {
    {"start_node", LO_SEV_ERROR, "exactly one start node (shape=Mdiamond, or id start/Start)"},
    {"terminal_node", LO_SEV_ERROR, "exactly one exit node (shape=Msquare, or id exit/end)"},
    {"reachability", LO_SEV_ERROR, "every node is reachable from the start node"},
    {"edge_target_exists", LO_SEV_ERROR, "every edge connects existing nodes"},
    {"start_no_incoming", LO_SEV_ERROR, "the start node has no incoming edges"},
    {"exit_no_outgoing", LO_SEV_ERROR, "the exit node has no outgoing edges"},
    {"condition_syntax", LO_SEV_ERROR, "edge conditions parse (§10)"},
    {"stylesheet_syntax", LO_SEV_ERROR, "model_stylesheet parses (§8)"},
    {"type_known", LO_SEV_WARNING, "node type names a known handler"},
    {"fidelity_valid", LO_SEV_WARNING, "fidelity is a known mode"},
    {"retry_target_exists", LO_SEV_WARNING, "retry targets name existing nodes"},
    {"goal_gate_has_retry", LO_SEV_WARNING, "goal gates have somewhere to retry"},
    {"prompt_on_llm_nodes", LO_SEV_WARNING, "codergen nodes have a prompt or label"},
    {"unknown_attribute", LO_SEV_WARNING, "attribute keys are known for where they are used"},
    {"unknown_shape", LO_SEV_WARNING, "shapes map to a handler"},
    {"attribute_type", LO_SEV_WARNING, "values parse as their attribute's type or enumeration"},
    {"condition_outcome_value", LO_SEV_WARNING, "`outcome` is compared with an outcome status"},
    {"condition_never_true", LO_SEV_WARNING, "a condition can be true"},
    {"dead_end", LO_SEV_WARNING, "every node but the exit has an outgoing edge"},
    {"handler_attributes", LO_SEV_WARNING, "tool and gate nodes have their command"},
};

const lo_rule_info *lo_lint_rules(size_t *n)
{
    *n = sizeof rules / sizeof rules[0];
    return rules;
}

typedef struct lint {
    const lo_graph *g;
    lo_diags *out;
    int rc;
    uint32_t *out_deg, *in_deg;
} lint;

__attribute__((format(printf, 8, 9)))
static void diag(lint *l, const char *rule, lo_severity sev, uint32_t off,
                 const char *node, const char *from, const char *to, const char *fmt, ...)
{
    if (l->rc)
        return;
    va_list ap;
    va_start(ap, fmt);
    l->rc = lo_diags_addv(l->out, rule, sev, l->g->file, lo_graph_pos(l->g, off), node,
                          from, to, NULL, fmt, ap);
    va_end(ap);
}

static uint32_t node_idx(const lo_graph *g, const char *id)
{
    const lo_node *n = lo_graph_node(g, id);
    return n ? n->index : UINT32_MAX;
}

/* ---- structure: start, exit, edges, reachability ---- */

static void check_structure(lint *l, uint32_t *start_out)
{
    const lo_graph *g = l->g;
    uint32_t start = UINT32_MAX, exit_n = UINT32_MAX, n_start = 0, n_exit = 0;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const lo_node *n = g->nodes[i];
        if (lo_node_is_start(n)) {
            if (n_start++ == 0)
                start = i;
            else
                diag(l, "start_node", LO_SEV_ERROR, n->off, n->id, NULL, NULL,
                     "second start node '%s': the pipeline already starts at '%s'",
                     n->id, g->nodes[start]->id);
        }
        if (lo_node_is_exit(n)) {
            if (n_exit++ == 0)
                exit_n = i;
            else
                diag(l, "terminal_node", LO_SEV_ERROR, n->off, n->id, NULL, NULL,
                     "second exit node '%s': the pipeline already exits at '%s'",
                     n->id, g->nodes[exit_n]->id);
        }
    }
    if (!n_start)
        diag(l, "start_node", LO_SEV_ERROR, g->off, NULL, NULL, NULL,
             "no start node: add one with shape=Mdiamond, e.g. start [shape=Mdiamond]");
    if (!n_exit)
        diag(l, "terminal_node", LO_SEV_ERROR, g->off, NULL, NULL, NULL,
             "no exit node: add one with shape=Msquare, e.g. exit [shape=Msquare]");

    /* adjacency as arrays indexed by node, built in two passes */
    uint32_t nn = g->n_nodes;
    uint32_t *from = lo_malloc((size_t)g->n_edges * 2 * sizeof *from + 1);
    l->out_deg = lo_calloc((size_t)nn + 1, sizeof *l->out_deg);
    l->in_deg = lo_calloc((size_t)nn + 1, sizeof *l->in_deg);
    uint32_t *first = lo_calloc((size_t)nn + 2, sizeof *first);
    uint32_t *adj = lo_malloc((size_t)g->n_edges * sizeof *adj + 1);
    uint32_t *queue = lo_malloc((size_t)nn * sizeof *queue + 1);
    unsigned char *seen = lo_calloc((size_t)nn + 1, 1);
    if (!from || !l->out_deg || !l->in_deg || !first || !adj || !queue || !seen) {
        l->rc = LO_ENOMEM;
        goto out;
    }
    uint32_t *to = from + g->n_edges;
    for (uint32_t i = 0; i < g->n_edges; i++) {
        const lo_edge *e = &g->edges[i];
        from[i] = e->from_node ? e->from_node->index : node_idx(g, e->from);
        to[i] = e->to_node ? e->to_node->index : node_idx(g, e->to);
        if (from[i] == UINT32_MAX)
            diag(l, "edge_target_exists", LO_SEV_ERROR, e->off, NULL, e->from, e->to,
                 "edge %s -> %s starts at '%s', which is not a node", e->from, e->to, e->from);
        if (to[i] == UINT32_MAX)
            diag(l, "edge_target_exists", LO_SEV_ERROR, e->to_off, NULL, e->from, e->to,
                 "edge %s -> %s ends at '%s', which is not a node", e->from, e->to, e->to);
        /* only edges with both ends go into the adjacency arrays */
        if (from[i] != UINT32_MAX && to[i] != UINT32_MAX) {
            l->out_deg[from[i]]++;
            first[from[i] + 1]++;
            l->in_deg[to[i]]++;
        }
    }
    for (uint32_t i = 0; i < nn; i++)
        first[i + 1] += first[i];
    for (uint32_t i = 0; i < g->n_edges; i++) {
        if (from[i] == UINT32_MAX || to[i] == UINT32_MAX)
            continue;
        adj[first[from[i]]++] = to[i];
    }
    /* first[i] now marks the end of i's run; shift back to starts */
    for (uint32_t i = nn; i > 0; i--)
        first[i] = first[i - 1];
    first[0] = 0;

    if (start != UINT32_MAX && l->in_deg[start]) {
        for (uint32_t i = 0; i < g->n_edges; i++)
            if (to[i] == start)
                diag(l, "start_no_incoming", LO_SEV_ERROR, g->edges[i].to_off, NULL,
                     g->edges[i].from, g->edges[i].to,
                     "edge %s -> %s enters the start node; nothing may lead back to start",
                     g->edges[i].from, g->edges[i].to);
    }
    if (exit_n != UINT32_MAX && l->out_deg[exit_n]) {
        for (uint32_t i = 0; i < g->n_edges; i++)
            if (from[i] == exit_n)
                diag(l, "exit_no_outgoing", LO_SEV_ERROR, g->edges[i].off, NULL,
                     g->edges[i].from, g->edges[i].to,
                     "edge %s -> %s leaves the exit node; the exit must be last",
                     g->edges[i].from, g->edges[i].to);
    }
    if (start != UINT32_MAX) {
        uint32_t head = 0, tail = 0;
        queue[tail++] = start;
        seen[start] = 1;
        while (head < tail) {
            uint32_t v = queue[head++];
            for (uint32_t k = first[v]; k < first[v] + l->out_deg[v]; k++) {
                uint32_t w = adj[k];
                if (!seen[w]) {
                    seen[w] = 1;
                    queue[tail++] = w;
                }
            }
        }
        for (uint32_t i = 0; i < nn; i++)
            if (!seen[i])
                diag(l, "reachability", LO_SEV_ERROR, g->nodes[i]->off, g->nodes[i]->id,
                     NULL, NULL, "node '%s' cannot be reached from the start node '%s'",
                     g->nodes[i]->id, g->nodes[start]->id);
    }
    *start_out = start;
out:
    free(from);
    free(first);
    free(adj);
    free(queue);
    free(seen);
}

/* ---- attributes: known keys, types, enumerations ---- */

typedef struct key_info {
    const char *key;            /* interned pointer */
    const lo_attr_spec *spec[3]; /* per scope: graph, node, edge */
    const lo_attr_spec *any;    /* in any scope */
    bool graphviz;
} key_info;

/* Keys are interned, so a small table keyed by pointer classifies each
 * distinct key once, however many attributes use it. */
typedef struct key_cache {
    key_info *v;
    size_t cap;
} key_cache;

static const key_info *key_lookup(key_cache *c, const char *key)
{
    size_t mask = c->cap - 1;
    size_t i = ((uintptr_t)key >> 3) & mask;
    while (c->v[i].key && c->v[i].key != key)
        i = (i + 1) & mask;
    if (!c->v[i].key) {
        key_info *k = &c->v[i];
        k->key = key;
        k->spec[0] = lo_attr_spec_find(key, LO_SCOPE_GRAPH);
        k->spec[1] = lo_attr_spec_find(key, LO_SCOPE_NODE);
        k->spec[2] = lo_attr_spec_find(key, LO_SCOPE_EDGE);
        k->any = lo_attr_spec_find(key, LO_SCOPE_GRAPH | LO_SCOPE_NODE | LO_SCOPE_EDGE);
        k->graphviz = lo_attr_is_graphviz(key);
    }
    return &c->v[i];
}

static const char *scope_name(int s)
{
    return s == 0 ? "graph" : s == 1 ? "node" : "edge";
}

static const char *suggest_key(const char *key)
{
    size_t n;
    const lo_attr_spec *specs = lo_attr_specs(&n);
    const char *names[128];
    size_t k = 0;
    for (size_t i = 0; i < n && k < 128; i++)
        names[k++] = specs[i].key;
    return lo_closest(key, names, k, strlen(key) > 6 ? 3 : 2);
}

static const char *const efforts[] = {"low", "medium", "high"};
static const char *const joins[] = {"wait_all", "first_success"};
static const char *const error_policies[] = {"continue", "fail_fast"};
static const char *const backends[] = {"api", "cli", "twin", "sim"};
static const char *const retry_policies[] = {"none", "standard", "aggressive", "linear", "patient"};
static const char *const sandboxes[] = {"auto", "true", "false"};
static const char *const reports[] = {"auto", "tap", "junit", "pytest", "go", "cargo",
                                      "ctest", "prove", "plain", "none"};
static const char *const fidelities[] = {"full", "truncate", "compact", "summary:low",
                                         "summary:medium", "summary:high"};
#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static bool in_list(const char *v, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v, list[i]) == 0)
            return true;
    return false;
}

static void check_enum(lint *l, const lo_attr *a, const char *owner,
                       const char *const *list, size_t n, const char *rule)
{
    if (!a->value.len || in_list(a->value.text, list, n))
        return;
    char allowed[256] = "";
    for (size_t i = 0; i < n; i++) {
        strncat(allowed, list[i], sizeof allowed - strlen(allowed) - 1);
        if (i + 1 < n)
            strncat(allowed, ", ", sizeof allowed - strlen(allowed) - 1);
    }
    const char *s = lo_closest(a->value.text, list, n, 3);
    diag(l, rule, LO_SEV_WARNING, a->voff, owner, NULL, NULL,
         "%s=\"%s\" is not one of %s%s%s%s", a->key, a->value.text, allowed,
         s ? "; did you mean '" : "", s ? s : "", s ? "'?" : "");
}

static void check_value(lint *l, const lo_attr *a, const lo_attr_spec *s, const char *owner)
{
    const char *t = a->value.text;
    const char *want = NULL;
    int64_t i;
    double d;
    switch (s->type) {
    case LO_T_STRING: break;
    case LO_T_INT: if (lo_parse_int64(t, &i)) want = "an integer"; break;
    case LO_T_FLOAT: if (lo_parse_double(t, &d)) want = "a number"; break;
    case LO_T_BOOL: if (strcmp(t, "true") && strcmp(t, "false")) want = "true or false"; break;
    case LO_T_DURATION:
        if (lo_parse_duration_ms(t, &i)) want = "a duration such as 250ms, 90s, 15m, 2h or 1d";
        break;
    case LO_T_SIZE:
        if (lo_parse_size(t, &i)) want = "a size such as 512KB, 100MB or 2GB";
        break;
    }
    if (want) {
        diag(l, "attribute_type", LO_SEV_WARNING, a->voff, owner, NULL, NULL,
             "%s=\"%s\" should be %s", a->key, t, want);
        return;
    }
    if ((s->type == LO_T_INT || s->type == LO_T_DURATION) && t[0] == '-' &&
        strcmp(s->key, "weight") != 0)
        diag(l, "attribute_type", LO_SEV_WARNING, a->voff, owner, NULL, NULL,
             "%s=%s is negative", a->key, t);
    const char *k = s->key;
    if (strcmp(k, "reasoning_effort") == 0)
        check_enum(l, a, owner, efforts, LEN(efforts), "attribute_type");
    else if (strcmp(k, "join_policy") == 0)
        check_enum(l, a, owner, joins, LEN(joins), "attribute_type");
    else if (strcmp(k, "error_policy") == 0)
        check_enum(l, a, owner, error_policies, LEN(error_policies), "attribute_type");
    else if (strcmp(k, "backend") == 0)
        check_enum(l, a, owner, backends, LEN(backends), "attribute_type");
    else if (strcmp(k, "retry_policy") == 0)
        check_enum(l, a, owner, retry_policies, LEN(retry_policies), "attribute_type");
    else if (strcmp(k, "sandbox") == 0)
        check_enum(l, a, owner, sandboxes, LEN(sandboxes), "attribute_type");
    else if (strcmp(k, "report") == 0)
        check_enum(l, a, owner, reports, LEN(reports), "attribute_type");
    else if (strcmp(k, "fidelity") == 0 || strcmp(k, "default_fidelity") == 0)
        check_enum(l, a, owner, fidelities, LEN(fidelities), "fidelity_valid");
}

/* custom: the node has a handler type registered at run time, whose own
 * attributes we cannot know, so only near-misses of known keys are flagged */
static void check_attrs(lint *l, key_cache *kc, const lo_attrs *attrs, int scope,
                        bool custom, const char *owner, const char *from, const char *to)
{
    for (uint32_t i = 0; i < attrs->n; i++) {
        const lo_attr *a = &attrs->v[i];
        const key_info *k = key_lookup(kc, a->key);
        const lo_attr_spec *s = k->spec[scope];
        if (s) {
            check_value(l, a, s, owner);
            continue;
        }
        if (k->graphviz)
            continue;
        if (k->any) {
            const char *where = (k->any->scopes & LO_SCOPE_EDGE) ? "an edge" :
                                (k->any->scopes & LO_SCOPE_NODE) ? "a node" : "a graph";
            diag(l, "unknown_attribute", LO_SEV_WARNING, a->off, owner, from, to,
                 "'%s' is %s attribute; on %s %s it has no effect", a->key, where,
                 scope == 2 ? "an" : "a", scope_name(scope));
            continue;
        }
        const char *sug = suggest_key(a->key);
        if (sug)
            diag(l, "unknown_attribute", LO_SEV_WARNING, a->off, owner, from, to,
                 "unknown %s attribute '%s'; did you mean '%s'?", scope_name(scope),
                 a->key, sug);
        else if (!custom)
            diag(l, "unknown_attribute", LO_SEV_WARNING, a->off, owner, from, to,
                 "unknown %s attribute '%s': no handler reads it", scope_name(scope),
                 a->key);
    }
}

/* ---- conditions ---- */

typedef struct cond_result {
    bool parsed;
    lo_error err;           /* when not parsed */
    char outcome_bad[160];  /* outcome compared with a non-status: message */
    uint32_t outcome_col;
    char never[256];        /* unsatisfiable: reason */
} cond_result;

static cond_result *classify_condition(lo_map *cache, lo_arena *arena, const char *text)
{
    cond_result *r = lo_map_get(cache, text);
    if (r)
        return r;
    r = lo_arena_alloc(arena, sizeof *r);
    if (!r)
        return NULL;
    lo_cond *c = lo_cond_parse(text, &r->err);
    if (!c) {
        if (r->err.code == LO_ENOMEM)
            return NULL;
    } else {
        r->parsed = true;
        for (size_t i = 0; i < lo_cond_count(c) && !r->outcome_bad[0]; i++) {
            const lo_cond_clause *cl = lo_cond_clause_at(c, i);
            if (strcmp(cl->key, "outcome") || cl->op == LO_COND_TRUTHY ||
                lo_cond_is_status(cl->literal))
                continue;
            const char *s = lo_closest(cl->literal, lo_cond_statuses, lo_cond_n_statuses, 3);
            snprintf(r->outcome_bad, sizeof r->outcome_bad,
                     "%s: '%s' is not an outcome status (success, partial_success, retry, "
                     "fail, skipped)%s%s%s", cl->op == LO_COND_NE ? "always true" :
                     "can never match", cl->literal, s ? "; did you mean '" : "",
                     s ? s : "", s ? "'?" : "");
            r->outcome_col = cl->lit_col;
        }
        if (!r->outcome_bad[0] && !lo_cond_satisfiable(c, r->never, sizeof r->never) &&
            !r->never[0])
            snprintf(r->never, sizeof r->never, "no values make every clause true");
        lo_cond_free(c);
    }
    const char *key = lo_arena_strdup(arena, text);
    if (!key || lo_map_put(cache, key, r))
        return NULL;
    return r;
}

/* Source offset of the k-th character (0-based) of a value's unescaped
 * text, for a value written at voff: walks the escapes of a quoted string
 * so a caret lands under the character the message is about. */
static uint32_t raw_index(const lo_graph *g, uint32_t voff, uint32_t k)
{
    if (voff == LO_NOPOS || voff >= g->src_len)
        return voff;
    if (g->src[voff] != '"')
        return voff + k;
    uint32_t i = voff + 1;
    while (k > 0 && i < g->src_len && g->src[i] != '"') {
        if (g->src[i] == '\\' && i + 1 < g->src_len) {
            char c = g->src[i + 1];
            if (c == '"' || c == '\\' || c == 'n' || c == 't') {
                i += 2; /* one character of text */
                k--;
                continue;
            }
            if (c == '\n') { /* a line continuation: no character */
                i += 2;
                continue;
            }
        }
        i++;
        k--;
    }
    return i;
}

/* Offset of column col (1-based) of a one-line value that starts at voff. */
static uint32_t inner_off(const lo_graph *g, uint32_t voff, uint32_t col)
{
    return raw_index(g, voff, col ? col - 1 : 0);
}

static void check_conditions(lint *l)
{
    const lo_graph *g = l->g;
    lo_map *cache = lo_map_new(64);
    lo_arena *arena = lo_arena_new(16 * 1024);
    if (!cache || !arena) {
        l->rc = LO_ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < g->n_edges && !l->rc; i++) {
        const lo_edge *e = &g->edges[i];
        const lo_attr *a = lo_attrs_get(&e->attrs, "condition");
        if (!a || !a->value.len)
            continue;
        cond_result *r = classify_condition(cache, arena, a->value.text);
        if (!r) {
            l->rc = LO_ENOMEM;
            break;
        }
        if (!r->parsed)
            diag(l, "condition_syntax", LO_SEV_ERROR, inner_off(g, a->voff, r->err.col), NULL,
                 e->from, e->to, "condition of %s -> %s: %s", e->from, e->to, r->err.msg);
        else if (r->outcome_bad[0])
            diag(l, "condition_outcome_value", LO_SEV_WARNING,
                 inner_off(g, a->voff, r->outcome_col), NULL, e->from, e->to,
                 "condition of %s -> %s is %s", e->from, e->to, r->outcome_bad);
        else if (r->never[0])
            diag(l, "condition_never_true", LO_SEV_WARNING, a->voff, NULL, e->from, e->to,
                 "condition of %s -> %s is never true: %s", e->from, e->to, r->never);
    }
out:
    lo_map_free(cache);
    lo_arena_free(arena);
}

/* ---- stylesheet ---- */

static void check_stylesheet(lint *l)
{
    const lo_attr *a = lo_attrs_get(&l->g->attrs, "model_stylesheet");
    if (!a || !a->value.len)
        return;
    lo_error err;
    lo_error_clear(&err);
    lo_stylesheet *ss = lo_stylesheet_parse(a->value.text, &err);
    if (ss) {
        lo_stylesheet_free(ss);
        return;
    }
    if (err.code == LO_ENOMEM) {
        l->rc = LO_ENOMEM;
        return;
    }
    /* line:col inside the stylesheet text -> index in the text -> source */
    uint32_t off = a->voff;
    if (off != LO_NOPOS && err.line) {
        const char *t = a->value.text;
        uint32_t line = 1, k = 0;
        while (line < err.line && t[k]) {
            if (t[k] == '\n')
                line++;
            k++;
        }
        for (uint32_t c = 1; c < err.col && t[k] && t[k] != '\n'; c++) {
            k++;
            while (((unsigned char)t[k] & 0xC0) == 0x80)
                k++;
        }
        off = raw_index(l->g, off, k);
    }
    diag(l, "stylesheet_syntax", LO_SEV_ERROR, off, NULL, NULL, NULL,
         "model_stylesheet: %s", err.msg);
}

/* ---- per-node rules ---- */

static bool node_exists(const lo_graph *g, const char *id)
{
    return id && *id && lo_graph_node(g, id) != NULL;
}

static void check_retry_targets(lint *l, const lo_attrs *attrs, const char *owner)
{
    static const char *const keys[] = {"retry_target", "fallback_retry_target"};
    for (int k = 0; k < 2; k++) {
        const lo_attr *a = lo_attrs_get(attrs, keys[k]);
        if (a && a->value.len && !node_exists(l->g, a->value.text))
            diag(l, "retry_target_exists", LO_SEV_WARNING, a->voff, owner, NULL, NULL,
                 "%s '%s' is not a node", keys[k], a->value.text);
    }
}

static void check_nodes(lint *l, key_cache *kc)
{
    const lo_graph *g = l->g;
    size_t n_shapes, n_types;
    const char *const *shapes = lo_known_shapes(&n_shapes);
    const char *const *types = lo_known_handler_types(&n_types);
    bool graph_retry = node_exists(g, lo_graph_str(g, "retry_target")) ||
                       node_exists(g, lo_graph_str(g, "fallback_retry_target"));
    /* suggestions for undeclared dead ends compare against every declared
     * node: bounded so a pathological graph stays linear */
    uint32_t suggest_budget = 64;
    for (uint32_t i = 0; i < g->n_nodes && !l->rc; i++) {
        const lo_node *n = g->nodes[i];
        const lo_attr *type = lo_attrs_get(&n->attrs, "type");
        bool custom = type && type->value.len && !in_list(type->value.text, types, n_types);
        check_attrs(l, kc, &n->attrs, 1, custom, n->id, NULL, NULL);
        const lo_attr *shape = lo_attrs_get(&n->attrs, "shape");
        if (shape && !lo_shape_handler(shape->value.text)) {
            const char *s = lo_closest(shape->value.text, shapes, n_shapes, 3);
            diag(l, "unknown_shape", LO_SEV_WARNING, shape->voff, n->id, NULL, NULL,
                 "shape '%s' has no handler; node '%s' will run as codergen%s%s%s",
                 shape->value.text, n->id, s ? "; did you mean '" : "", s ? s : "",
                 s ? "'?" : "");
        }
        if (custom) {
            const char *s = lo_closest(type->value.text, types, n_types, 3);
            diag(l, "type_known", LO_SEV_WARNING, type->voff, n->id, NULL, NULL,
                 "type '%s' is not a built-in handler (it must be registered at run "
                 "time)%s%s%s", type->value.text, s ? "; did you mean '" : "",
                 s ? s : "", s ? "'?" : "");
        }
        check_retry_targets(l, &n->attrs, n->id);
        const char *handler = lo_node_handler_type(n);
        if (lo_node_bool(n, "goal_gate", false) && !graph_retry &&
            !node_exists(g, lo_node_str(n, "retry_target")) &&
            !node_exists(g, lo_node_str(n, "fallback_retry_target")))
            diag(l, "goal_gate_has_retry", LO_SEV_WARNING, n->off, n->id, NULL, NULL,
                 "goal gate '%s' has no retry_target or fallback_retry_target: if it "
                 "fails the pipeline fails", n->id);
        if (strcmp(handler, "codergen") == 0 && !lo_node_str(n, "prompt")[0] &&
            !lo_attrs_get(&n->attrs, "label"))
            diag(l, "prompt_on_llm_nodes", LO_SEV_WARNING, n->off, n->id, NULL, NULL,
                 "codergen node '%s' has no prompt or label: the agent gets only its id",
                 n->id);
        if (strcmp(handler, "tool") == 0 && !lo_node_str(n, "tool_command")[0])
            diag(l, "handler_attributes", LO_SEV_WARNING, n->off, n->id, NULL, NULL,
                 "tool node '%s' has no tool_command: it will fail", n->id);
        if (strcmp(handler, "gate") == 0 && !lo_node_str(n, "command")[0])
            diag(l, "handler_attributes", LO_SEV_WARNING, n->off, n->id, NULL, NULL,
                 "gate node '%s' has no command: it will fail", n->id);
        if (l->out_deg && !l->out_deg[i] && !lo_node_is_exit(n)) {
            const char *sug = NULL;
            if (!n->declared && suggest_budget) {
                suggest_budget--;
                size_t best = 3;
                for (uint32_t k = 0; k < g->n_nodes; k++) {
                    const lo_node *m = g->nodes[k];
                    if (!m->declared)
                        continue;
                    size_t d = lo_edit_distance(n->id, m->id, best - 1);
                    if (d < best) {
                        best = d;
                        sug = m->id;
                    }
                }
            }
            if (sug)
                diag(l, "dead_end", LO_SEV_WARNING, n->off, n->id, NULL, NULL,
                     "node '%s' is only named in an edge and has no outgoing edges; "
                     "did you mean '%s'?", n->id, sug);
            else
                diag(l, "dead_end", LO_SEV_WARNING, n->off, n->id, NULL, NULL,
                     "node '%s' has no outgoing edges: a run that reaches it stops "
                     "without reaching the exit", n->id);
        }
    }
}

int lo_lint_builtin(const lo_graph *g, lo_diags *out)
{
    lint l = {.g = g, .out = out};
    key_cache kc = {0};
    kc.cap = 64;
    while (kc.cap < lo_map_count(g->interned) * 2 + 16)
        kc.cap *= 2;
    kc.v = lo_calloc(kc.cap, sizeof *kc.v);
    if (!kc.v)
        return LO_ENOMEM;
    uint32_t start = UINT32_MAX;
    check_structure(&l, &start);
    if (!l.rc) {
        check_attrs(&l, &kc, &g->attrs, 0, false, NULL, NULL, NULL);
        check_retry_targets(&l, &g->attrs, NULL);
    }
    if (!l.rc)
        check_nodes(&l, &kc);
    for (uint32_t i = 0; i < g->n_edges && !l.rc; i++)
        check_attrs(&l, &kc, &g->edges[i].attrs, 2, false, NULL, g->edges[i].from,
                    g->edges[i].to);
    if (!l.rc)
        check_conditions(&l);
    if (!l.rc)
        check_stylesheet(&l);
    free(kc.v);
    free(l.out_deg);
    free(l.in_deg);
    return l.rc;
}
