/* The graph model: nodes, edges, attributes, typed access with Appendix A
 * defaults, and the shape-to-handler mapping. */
#include <string.h>
#include <sys/mman.h>

#include "lightsout/graph.h"
#include "pipeline/graph_internal.h"

lo_graph *lo_graph_new(const char *name)
{
    lo_graph *g = lo_calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->arena = lo_arena_new(1 << 20);
    g->node_index = lo_map_new(64);
    g->interned = lo_map_new(64);
    if (!g->arena || !g->node_index || !g->interned) {
        lo_graph_free(g);
        return NULL;
    }
    g->name = lo_arena_strdup(g->arena, name ? name : "");
    g->file = "<input>";
    g->off = LO_NOPOS;
    g->src = "";
    if (!g->name) {
        lo_graph_free(g);
        return NULL;
    }
    return g;
}

void lo_graph_free(lo_graph *g)
{
    if (!g)
        return;
    if (g->src_mapped)
        munmap((void *)g->src, g->src_len);
    else if (g->src_owned)
        free((void *)g->src);
    free(g->line_starts);
    free(g->out_first);
    free(g->out_edges);
    free(g->nodes);
    free(g->edges);
    lo_map_free(g->node_index);
    lo_map_free(g->interned);
    lo_arena_free(g->arena);
    free(g);
}

const char *lo_graph_intern(lo_graph *g, const char *key)
{
    const char *k = lo_map_get(g->interned, key);
    if (k)
        return k;
    char *copy = lo_arena_strdup(g->arena, key);
    if (!copy || lo_map_put(g->interned, copy, copy))
        return NULL;
    return copy;
}

lo_node *lo_graph_node(const lo_graph *g, const char *id)
{
    return lo_map_get(g->node_index, id);
}

lo_node *lo_graph_add_node_n(lo_graph *g, const char *id, size_t len, uint32_t off)
{
    lo_node *n = lo_map_getn(g->node_index, id, len);
    if (n)
        return n;
    if (g->n_nodes == g->cap_nodes) {
        uint32_t cap = g->cap_nodes ? g->cap_nodes * 2 : 64;
        lo_node **v = lo_realloc(g->nodes, cap * sizeof *v);
        if (!v)
            return NULL;
        g->nodes = v;
        g->cap_nodes = cap;
    }
    n = lo_arena_alloc(g->arena, sizeof *n);
    if (!n)
        return NULL;
    n->id = lo_arena_strndup(g->arena, id, len);
    if (!n->id || lo_map_put(g->node_index, n->id, n))
        return NULL;
    n->off = off;
    n->index = g->n_nodes;
    g->nodes[g->n_nodes++] = n;
    return n;
}

lo_node *lo_graph_add_node(lo_graph *g, const char *id)
{
    return lo_graph_add_node_n(g, id, strlen(id), LO_NOPOS);
}

lo_edge *lo_graph_add_edge_at(lo_graph *g, const char *from, const char *to,
                              lo_node *from_node, lo_node *to_node,
                              uint32_t off, uint32_t to_off)
{
    if (g->n_edges == g->cap_edges) {
        uint32_t cap = g->cap_edges ? g->cap_edges * 2 : 64;
        lo_edge *v = lo_realloc(g->edges, cap * sizeof *v);
        if (!v)
            return NULL;
        g->edges = v;
        g->cap_edges = cap;
    }
    lo_edge *e = &g->edges[g->n_edges++];
    memset(e, 0, sizeof *e);
    e->from = from;
    e->to = to;
    e->from_node = from_node;
    e->to_node = to_node;
    e->off = off;
    e->to_off = to_off;
    return e;
}

lo_edge *lo_graph_add_edge(lo_graph *g, const char *from, const char *to)
{
    lo_node *a = lo_graph_node(g, from), *b = lo_graph_node(g, to);
    const char *f = a ? a->id : lo_arena_strdup(g->arena, from);
    const char *t = b ? b->id : lo_arena_strdup(g->arena, to);
    if (!f || !t)
        return NULL;
    return lo_graph_add_edge_at(g, f, t, a, b, LO_NOPOS, LO_NOPOS);
}

const lo_attr *lo_attrs_get(const lo_attrs *attrs, const char *key)
{
    /* checking the first byte first skips most strcmp calls: this is on
     * every typed access, so on the lint hot path */
    for (uint32_t i = 0; i < attrs->n; i++)
        if (attrs->v[i].key[0] == key[0] && strcmp(attrs->v[i].key, key) == 0)
            return &attrs->v[i];
    return NULL;
}

int lo_attrs_reserve(lo_graph *g, lo_attrs *attrs, uint32_t extra)
{
    if (attrs->n + extra <= attrs->cap)
        return 0;
    /* Exact sizing: most nodes are declared once, so a block's attributes
     * are allocated once at their final size. */
    uint32_t cap = attrs->n + extra;
    if (attrs->cap && cap < attrs->cap * 2)
        cap = attrs->cap * 2;
    lo_attr *v = lo_arena_alloc(g->arena, cap * sizeof *v);
    if (!v)
        return LO_ENOMEM;
    if (attrs->n)
        memcpy(v, attrs->v, attrs->n * sizeof *v);
    attrs->v = v;
    attrs->cap = cap;
    return 0;
}

int lo_attrs_put(lo_graph *g, lo_attrs *attrs, const lo_attr *a)
{
    for (uint32_t i = 0; i < attrs->n; i++) {
        if (attrs->v[i].key == a->key) { /* keys are interned */
            attrs->v[i] = *a;
            return 0;
        }
    }
    if (lo_attrs_reserve(g, attrs, 1))
        return LO_ENOMEM;
    attrs->v[attrs->n++] = *a;
    return 0;
}

int lo_attrs_set(lo_graph *g, lo_attrs *attrs, const char *key,
                 lo_value_kind kind, const char *text, uint32_t off)
{
    lo_attr a = {0};
    a.key = lo_graph_intern(g, key);
    size_t len = strlen(text);
    a.value.text = lo_arena_strndup(g->arena, text, len);
    if (!a.key || !a.value.text)
        return LO_ENOMEM;
    a.value.kind = kind;
    a.value.len = (uint32_t)len;
    a.off = a.voff = off;
    return lo_attrs_put(g, attrs, &a);
}

lo_pos lo_graph_pos(const lo_graph *g, uint32_t off)
{
    lo_pos p = {0, 0};
    if (off == LO_NOPOS || !g->n_lines)
        return p;
    uint32_t lo = 0, hi = g->n_lines; /* last line start <= off */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (g->line_starts[mid] <= off)
            lo = mid;
        else
            hi = mid;
    }
    p.line = lo + 1;
    /* columns count characters, not UTF-8 continuation bytes */
    uint32_t col = 1;
    for (uint32_t i = g->line_starts[lo]; i < off && i < g->src_len; i++)
        if (((unsigned char)g->src[i] & 0xC0) != 0x80)
            col++;
    p.col = col;
    return p;
}

size_t lo_graph_source_line(const lo_graph *g, uint32_t line, const char **start)
{
    *start = "";
    if (line == 0 || line > g->n_lines)
        return 0;
    uint32_t s = g->line_starts[line - 1];
    uint32_t e = line < g->n_lines ? g->line_starts[line] : (uint32_t)g->src_len;
    while (e > s && (g->src[e - 1] == '\n' || g->src[e - 1] == '\r'))
        e--;
    *start = g->src + s;
    return e - s;
}

/* ---- typed access ---- */

static const char *str_attr(const lo_attrs *attrs, const char *key, unsigned scope)
{
    const lo_attr *a = lo_attrs_get(attrs, key);
    if (a)
        return a->value.text;
    const lo_attr_spec *s = lo_attr_spec_find(key, scope);
    return s && s->def ? s->def : "";
}

const char *lo_graph_str(const lo_graph *g, const char *key)
{
    return str_attr(&g->attrs, key, LO_SCOPE_GRAPH);
}
const char *lo_node_str(const lo_node *n, const char *key)
{
    return str_attr(&n->attrs, key, LO_SCOPE_NODE);
}
const char *lo_edge_str(const lo_edge *e, const char *key)
{
    return str_attr(&e->attrs, key, LO_SCOPE_EDGE);
}

bool lo_value_as_bool(const lo_value *v, bool *out)
{
    if (strcmp(v->text, "true") == 0) { *out = true; return true; }
    if (strcmp(v->text, "false") == 0) { *out = false; return true; }
    return false;
}

static int64_t int_of(const char *text, int64_t def)
{
    int64_t v;
    return text && *text && lo_parse_int64(text, &v) == 0 ? v : def;
}

static bool bool_of(const char *text, bool def)
{
    if (lo_str_eq(text, "true")) return true;
    if (lo_str_eq(text, "false")) return false;
    return def;
}

int64_t lo_node_int(const lo_node *n, const char *key, int64_t def)
{
    const lo_attr *a = lo_attrs_get(&n->attrs, key);
    return a ? int_of(a->value.text, def) : def;
}
bool lo_node_bool(const lo_node *n, const char *key, bool def)
{
    const lo_attr *a = lo_attrs_get(&n->attrs, key);
    return a ? bool_of(a->value.text, def) : def;
}
int64_t lo_node_duration_ms(const lo_node *n, const char *key, int64_t def)
{
    const lo_attr *a = lo_attrs_get(&n->attrs, key);
    int64_t ms;
    return a && lo_parse_duration_ms(a->value.text, &ms) == 0 ? ms : def;
}
int64_t lo_edge_int(const lo_edge *e, const char *key, int64_t def)
{
    const lo_attr *a = lo_attrs_get(&e->attrs, key);
    return a ? int_of(a->value.text, def) : def;
}
bool lo_edge_bool(const lo_edge *e, const char *key, bool def)
{
    const lo_attr *a = lo_attrs_get(&e->attrs, key);
    return a ? bool_of(a->value.text, def) : def;
}
int64_t lo_graph_int(const lo_graph *g, const char *key, int64_t def)
{
    const lo_attr *a = lo_attrs_get(&g->attrs, key);
    return a ? int_of(a->value.text, def) : def;
}

const char *lo_node_label(const lo_node *n)
{
    const lo_attr *a = lo_attrs_get(&n->attrs, "label");
    return a && a->value.len ? a->value.text : n->id;
}

bool lo_node_has_class(const lo_node *n, const char *cls)
{
    for (uint32_t i = 0; i < n->n_classes; i++)
        if (strcmp(n->classes[i], cls) == 0)
            return true;
    return false;
}

/* ---- handler resolution ---- */

static const struct { const char *shape, *handler; } shape_map[] = {
    {"Mdiamond", "start"},
    {"Msquare", "exit"},
    {"box", "codergen"},
    {"hexagon", "wait.human"},
    {"diamond", "conditional"},
    {"component", "parallel"},
    {"tripleoctagon", "parallel.fan_in"},
    {"parallelogram", "tool"},
    {"house", "stack.manager_loop"},
    {"octagon", "gate"}, /* lightsout: validation gate */
};
#define N_SHAPES (sizeof shape_map / sizeof shape_map[0])

static const char *const shape_names[] = {
    "Mdiamond", "Msquare", "box", "hexagon", "diamond", "component",
    "tripleoctagon", "parallelogram", "house", "octagon",
};

static const char *const handler_types[] = {
    "start", "exit", "codergen", "wait.human", "conditional", "parallel",
    "parallel.fan_in", "tool", "stack.manager_loop", "gate",
};

const char *const *lo_known_shapes(size_t *n)
{
    *n = sizeof shape_names / sizeof shape_names[0];
    return shape_names;
}

const char *const *lo_known_handler_types(size_t *n)
{
    *n = sizeof handler_types / sizeof handler_types[0];
    return handler_types;
}

const char *lo_shape_handler(const char *shape)
{
    for (size_t i = 0; i < N_SHAPES; i++)
        if (strcmp(shape_map[i].shape, shape) == 0)
            return shape_map[i].handler;
    return NULL;
}

const char *lo_node_shape(const lo_node *n)
{
    const lo_attr *a = lo_attrs_get(&n->attrs, "shape");
    return a && a->value.len ? a->value.text : "box";
}

/* A node named start/exit is the start/exit (§2.8) unless it says
 * otherwise with a type or a shape other than the default box (a
 * `node [shape=box]` default block must not hide it). */
static bool named_as(const lo_node *n, const char *const *names)
{
    const lo_attr *s = lo_attrs_get(&n->attrs, "shape");
    if (s && s->value.len && strcmp(s->value.text, "box") != 0)
        return false;
    for (; *names; names++)
        if (strcmp(n->id, *names) == 0)
            return true;
    return false;
}

static const char *const start_names[] = {"start", "Start", NULL};
static const char *const exit_names[] = {"exit", "end", "Exit", "End", NULL};

const char *lo_node_handler_type(const lo_node *n)
{
    const lo_attr *t = lo_attrs_get(&n->attrs, "type");
    if (t && t->value.len)
        return t->value.text;
    if (named_as(n, start_names))
        return "start";
    if (named_as(n, exit_names))
        return "exit";
    const char *h = lo_shape_handler(lo_node_shape(n));
    return h ? h : "codergen";
}

bool lo_node_is_start(const lo_node *n)
{
    return strcmp(lo_node_handler_type(n), "start") == 0;
}

bool lo_node_is_exit(const lo_node *n)
{
    return strcmp(lo_node_handler_type(n), "exit") == 0;
}

int lo_graph_index_edges(lo_graph *g)
{
    uint32_t *first = lo_calloc((size_t)g->n_nodes + 1, sizeof *first);
    lo_edge **edges = lo_malloc(((size_t)g->n_edges + 1) * sizeof *edges);
    if (!first || !edges) {
        free(first);
        free(edges);
        return LO_ENOMEM;
    }
    for (uint32_t i = 0; i < g->n_edges; i++) {
        lo_edge *e = &g->edges[i];
        if (!e->from_node)
            e->from_node = lo_graph_node(g, e->from);
        if (!e->to_node)
            e->to_node = lo_graph_node(g, e->to);
        if (e->from_node)
            first[e->from_node->index + 1]++;
    }
    for (uint32_t i = 0; i < g->n_nodes; i++)
        first[i + 1] += first[i];
    uint32_t *fill = lo_malloc(((size_t)g->n_nodes + 1) * sizeof *fill);
    if (!fill) {
        free(first);
        free(edges);
        return LO_ENOMEM;
    }
    memcpy(fill, first, ((size_t)g->n_nodes + 1) * sizeof *fill);
    for (uint32_t i = 0; i < g->n_edges; i++) {
        lo_edge *e = &g->edges[i];
        if (e->from_node)
            edges[fill[e->from_node->index]++] = e;
    }
    free(fill);
    free(g->out_first);
    free(g->out_edges);
    g->out_first = first;
    g->out_edges = edges;
    return 0;
}

lo_edge *const *lo_graph_out_edges(const lo_graph *g, const lo_node *n, uint32_t *count)
{
    if (!g->out_first || n->index >= g->n_nodes) {
        *count = 0;
        return NULL;
    }
    *count = g->out_first[n->index + 1] - g->out_first[n->index];
    return g->out_edges + g->out_first[n->index];
}
