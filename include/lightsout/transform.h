/*
 * Transforms (attractor-spec §9.1-9.3): functions that rewrite a parsed graph
 * before validation. Built-ins run first ($goal expansion, stylesheet), then
 * custom transforms in registration order.
 */
#ifndef LIGHTSOUT_TRANSFORM_H
#define LIGHTSOUT_TRANSFORM_H

#include "lightsout/graph.h"
#include "lightsout/lint.h"

typedef int (*lo_transform_fn)(lo_graph *g, void *ud, lo_error *err);

typedef struct lo_transforms lo_transforms;

/* A transform list holding the built-ins. */
lo_transforms *lo_transforms_new(void);
void lo_transforms_free(lo_transforms *t);
int lo_transforms_register(lo_transforms *t, const char *name,
                           lo_transform_fn fn, void *ud);
int lo_transforms_apply(const lo_transforms *t, lo_graph *g, lo_error *err);

/* Built-ins, usable alone. */
int lo_transform_expand_goal(lo_graph *g, void *ud, lo_error *err);
int lo_transform_stylesheet(lo_graph *g, void *ud, lo_error *err);

/* parse -> transforms -> validate. Returns the graph (NULL on a parse error,
 * err filled) and fills diags. A stylesheet that does not parse is left to
 * the stylesheet_syntax lint rule, not reported as a transform error. */
lo_graph *lo_pipeline_prepare(const char *path, const lo_transforms *t,
                              lo_diags *diags, lo_error *err);

#endif
