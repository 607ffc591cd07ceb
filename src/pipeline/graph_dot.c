/* Writing a graph as plain Graphviz DOT, for `lightsout render`: our
 * dialect's qualified keys and bare values are quoted so `dot` reads them. */
#include <string.h>

#include "lightsout/graph.h"

static int quoted(lo_buf *out, const char *s)
{
    int rc = lo_buf_putc(out, '"');
    for (; *s && !rc; s++) {
        if (*s == '"')
            rc = lo_buf_puts(out, "\\\"");
        else if (*s == '\\' && s[1] && strchr("lnrNGETHL", s[1]))
            rc = lo_buf_putc(out, '\\'); /* a Graphviz label escape: keep it */
        else if (*s == '\\')
            rc = lo_buf_puts(out, "\\\\");
        else if (*s == '\n')
            rc = lo_buf_puts(out, "\\n");
        else
            rc = lo_buf_putc(out, *s);
    }
    return rc ? rc : lo_buf_putc(out, '"');
}

static int attr_list(lo_buf *out, const lo_attrs *attrs)
{
    int rc = 0;
    if (!attrs->n)
        return 0;
    rc = lo_buf_puts(out, " [");
    for (uint32_t i = 0; i < attrs->n && !rc; i++) {
        if (i)
            rc = lo_buf_puts(out, ", ");
        rc = rc ? rc : quoted(out, attrs->v[i].key);
        rc = rc ? rc : lo_buf_putc(out, '=');
        rc = rc ? rc : quoted(out, attrs->v[i].value.text);
    }
    return rc ? rc : lo_buf_putc(out, ']');
}

int lo_graph_to_plain_dot(const lo_graph *g, lo_buf *out)
{
    int rc = lo_buf_puts(out, "digraph ");
    rc = rc ? rc : quoted(out, g->name && *g->name ? g->name : "pipeline");
    rc = rc ? rc : lo_buf_puts(out, " {\n");
    if (!rc && g->attrs.n) {
        rc = lo_buf_puts(out, "  graph");
        rc = rc ? rc : attr_list(out, &g->attrs);
        rc = rc ? rc : lo_buf_puts(out, ";\n");
    }
    for (uint32_t i = 0; i < g->n_nodes && !rc; i++) {
        const lo_node *n = g->nodes[i];
        rc = lo_buf_puts(out, "  ");
        rc = rc ? rc : quoted(out, n->id);
        rc = rc ? rc : attr_list(out, &n->attrs);
        rc = rc ? rc : lo_buf_puts(out, ";\n");
    }
    for (uint32_t i = 0; i < g->n_edges && !rc; i++) {
        const lo_edge *e = &g->edges[i];
        rc = lo_buf_puts(out, "  ");
        rc = rc ? rc : quoted(out, e->from);
        rc = rc ? rc : lo_buf_puts(out, " -> ");
        rc = rc ? rc : quoted(out, e->to);
        rc = rc ? rc : attr_list(out, &e->attrs);
        rc = rc ? rc : lo_buf_puts(out, ";\n");
    }
    return rc ? rc : lo_buf_puts(out, "}\n");
}
