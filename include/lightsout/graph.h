/*
 * The Attractor pipeline graph: parsed from the DOT subset of attractor-spec
 * §2, with typed attribute access and the defaults of Appendix A.
 *
 * Ownership: a lo_graph owns an arena; every node, edge, attribute and string
 * reachable from it lives in that arena and dies with lo_graph_free().
 */
#ifndef LIGHTSOUT_GRAPH_H
#define LIGHTSOUT_GRAPH_H

#include "lightsout/base.h"

typedef enum lo_value_kind {
    LO_VAL_STRING,   /* "quoted" */
    LO_VAL_INT,      /* 42, -1 */
    LO_VAL_FLOAT,    /* 0.5 */
    LO_VAL_BOOL,     /* true, false */
    LO_VAL_DURATION, /* 900s, 250ms */
    LO_VAL_BARE,     /* gpt-5.4, LR, summary:high */
} lo_value_kind;

typedef struct lo_pos {
    uint32_t line, col; /* 1-based; 0 = unknown (e.g. set by a transform) */
} lo_pos;

/* A value as written. text is the unescaped text, NUL-terminated, for every
 * kind (so "3" and 3 both read as 3 through the typed accessors). */
typedef struct lo_value {
    lo_value_kind kind;
    uint32_t len;
    const char *text;
} lo_value;

/* Source positions are byte offsets into graph->src (compact: a graph of
 * 100,000 nodes holds a million of them); lo_graph_pos turns one into
 * line:col. LO_NOPOS marks what a transform or the API added. */
#define LO_NOPOS UINT32_MAX

typedef struct lo_attr {
    const char *key;  /* interned in the graph: compare with lo_str_eq */
    lo_value value;
    uint32_t off;     /* of the key */
    uint32_t voff;    /* of the value's first character (the quote, if any) */
} lo_attr;

typedef struct lo_attrs {
    lo_attr *v;
    uint32_t n, cap;
} lo_attrs;

typedef struct lo_node {
    const char *id;
    uint32_t off;        /* first mention */
    bool declared;       /* appeared in a node statement, not only in edges */
    uint32_t index;      /* position in graph->nodes */
    lo_attrs attrs;
    const char **classes; /* explicit `class` split on commas, then classes
                           * derived from enclosing subgraph labels */
    uint32_t n_classes;
} lo_node;

typedef struct lo_edge {
    const char *from, *to; /* node ids */
    uint32_t off;          /* of the `from` id in this edge's statement */
    uint32_t to_off;       /* of the `to` id */
    /* the endpoints, resolved when the edge was added (NULL when the node
     * did not exist then); saves a hash lookup per endpoint in lint */
    lo_node *from_node, *to_node;
    lo_attrs attrs;
} lo_edge;

typedef struct lo_graph {
    lo_arena *arena;
    const char *name;
    const char *file;      /* for diagnostics; "<input>" when not from a file */
    const char *src;       /* the source text (kept for caret diagnostics) */
    size_t src_len;
    uint32_t off;          /* of the `digraph` keyword */
    uint32_t *line_starts; /* byte offset of each line, for lo_graph_pos */
    uint32_t n_lines;
    lo_attrs attrs;
    lo_node **nodes;
    uint32_t n_nodes, cap_nodes;
    lo_edge *edges;
    uint32_t n_edges, cap_edges;
    lo_map *node_index;    /* id -> lo_node* */
    lo_map *interned;      /* attribute keys */
    uint32_t *out_first;   /* outgoing-edge index (lo_graph_index_edges):   */
    lo_edge **out_edges;   /* node i's edges are out_edges[out_first[i]..[i+1]) */
    bool src_mapped;       /* src is an mmap of the file: munmap on free */
    bool src_owned;        /* src is a malloc'd copy: free on free */
} lo_graph;

/* line:col (1-based) of a byte offset; {0,0} for LO_NOPOS. */
lo_pos lo_graph_pos(const lo_graph *g, uint32_t off);

/* The largest pipeline source accepted (offsets are 32-bit). */
#define LO_GRAPH_MAX_SOURCE (1024u * 1024u * 1024u)

/* Parse src (len bytes; need not be NUL-terminated) into a graph.
 * file names the source in diagnostics. On a syntax error returns NULL and
 * fills err with file:line:col and a message. The source is copied. */
lo_graph *lo_graph_parse(const char *src, size_t len, const char *file,
                         lo_error *err);
/* Read and parse a file. Distinguishes missing, directory, binary input. */
lo_graph *lo_graph_parse_file(const char *path, lo_error *err);
void lo_graph_free(lo_graph *g);

/* An empty graph, for building one from code. */
lo_graph *lo_graph_new(const char *name);

/* Lookup and construction. Strings are copied into the graph's arena. */
lo_node *lo_graph_node(const lo_graph *g, const char *id);
lo_node *lo_graph_add_node(lo_graph *g, const char *id);   /* existing or new */
lo_edge *lo_graph_add_edge(lo_graph *g, const char *from, const char *to);
const char *lo_graph_intern(lo_graph *g, const char *key);
/* Set (replace) an attribute; text is copied. off is LO_NOPOS for values
 * that do not come from the source. */
int lo_attrs_set(lo_graph *g, lo_attrs *attrs, const char *key,
                 lo_value_kind kind, const char *text, uint32_t off);
const lo_attr *lo_attrs_get(const lo_attrs *attrs, const char *key);
/* Copy the text of a line of the source (without newline) for diagnostics;
 * returns its length, or 0 and "" when there is no such line. */
size_t lo_graph_source_line(const lo_graph *g, uint32_t line, const char **start);

/* Build the outgoing-edge index (idempotent; call again after adding
 * edges). Not thread-safe: build it before sharing the graph. */
int lo_graph_index_edges(lo_graph *g);
/* Node n's outgoing edges in declaration order; the index must be built. */
lo_edge *const *lo_graph_out_edges(const lo_graph *g, const lo_node *n, uint32_t *count);

/* ---- the attribute table (Appendix A plus lightsout's extensions) ---- */
typedef enum lo_attr_type {
    LO_T_STRING, LO_T_INT, LO_T_FLOAT, LO_T_BOOL, LO_T_DURATION, LO_T_SIZE,
} lo_attr_type;

enum { LO_SCOPE_GRAPH = 1, LO_SCOPE_NODE = 2, LO_SCOPE_EDGE = 4 };

typedef struct lo_attr_spec {
    const char *key;
    unsigned scopes;       /* LO_SCOPE_* bits */
    lo_attr_type type;
    const char *def;       /* default as text; NULL = unset/inherited */
    const char *doc;
} lo_attr_spec;

const lo_attr_spec *lo_attr_spec_find(const char *key, unsigned scope);
const lo_attr_spec *lo_attr_specs(size_t *n);
/* Graphviz layout/display attributes that Attractor ignores but accepts. */
bool lo_attr_is_graphviz(const char *key);

/* ---- typed access, with Appendix A defaults ----
 * _str returns the explicit value, else the table default, else "".
 * Numeric accessors return def when unset or unparsable. */
const char *lo_graph_str(const lo_graph *g, const char *key);
const char *lo_node_str(const lo_node *n, const char *key);
const char *lo_edge_str(const lo_edge *e, const char *key);
int64_t lo_node_int(const lo_node *n, const char *key, int64_t def);
bool lo_node_bool(const lo_node *n, const char *key, bool def);
int64_t lo_node_duration_ms(const lo_node *n, const char *key, int64_t def);
int64_t lo_edge_int(const lo_edge *e, const char *key, int64_t def);
bool lo_edge_bool(const lo_edge *e, const char *key, bool def);
int64_t lo_graph_int(const lo_graph *g, const char *key, int64_t def);
bool lo_value_as_bool(const lo_value *v, bool *out);
/* node label: the label attribute, else the id */
const char *lo_node_label(const lo_node *n);
bool lo_node_has_class(const lo_node *n, const char *cls);

/* ---- handler resolution (§2.8, Appendix B) ---- */
/* The shape attribute or "box". */
const char *lo_node_shape(const lo_node *n);
/* The handler type: explicit `type`, else the shape mapping, else codergen. */
const char *lo_node_handler_type(const lo_node *n);
/* The shape's handler type, or NULL for a shape with no mapping. */
const char *lo_shape_handler(const char *shape);
const char *const *lo_known_shapes(size_t *n);
const char *const *lo_known_handler_types(size_t *n);
bool lo_node_is_start(const lo_node *n);
bool lo_node_is_exit(const lo_node *n);

/* Write the graph as plain Graphviz DOT (every key and value quoted), for
 * rendering with `dot`. Appends to out. */
int lo_graph_to_plain_dot(const lo_graph *g, lo_buf *out);

#endif
