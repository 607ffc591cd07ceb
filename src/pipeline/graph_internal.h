/* Graph construction helpers shared by the parser and the graph model;
 * not part of the public API. */
#ifndef LO_GRAPH_INTERNAL_H
#define LO_GRAPH_INTERNAL_H

#include "lightsout/graph.h"

lo_node *lo_graph_add_node_n(lo_graph *g, const char *id, size_t len, uint32_t off);
lo_edge *lo_graph_add_edge_at(lo_graph *g, const char *from, const char *to,
                              lo_node *from_node, lo_node *to_node,
                              uint32_t off, uint32_t to_off);
/* Insert or replace by interned key; the attribute is copied as is. */
int lo_attrs_put(lo_graph *g, lo_attrs *attrs, const lo_attr *a);
int lo_attrs_reserve(lo_graph *g, lo_attrs *attrs, uint32_t extra);

#endif
