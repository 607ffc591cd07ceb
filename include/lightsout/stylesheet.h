/*
 * The model stylesheet (attractor-spec §8): CSS-like rules that give nodes
 * their llm_model, llm_provider, reasoning_effort (and lightsout's backend,
 * cli_agent and cli_command)
 * unless the node sets them itself.
 *
 * Ownership: lo_stylesheet_parse returns a stylesheet freed by
 * lo_stylesheet_free.
 */
#ifndef LIGHTSOUT_STYLESHEET_H
#define LIGHTSOUT_STYLESHEET_H

#include "lightsout/graph.h"

typedef enum lo_selector_kind {
    LO_SEL_UNIVERSAL = 0, /* *        specificity 0 */
    LO_SEL_SHAPE = 1,     /* box      specificity 1 */
    LO_SEL_CLASS = 2,     /* .code    specificity 2 */
    LO_SEL_ID = 3,        /* #review  specificity 3 */
} lo_selector_kind;

typedef struct lo_style_decl {
    const char *property;
    const char *value;
    uint32_t line, col;   /* inside the stylesheet text, 1-based */
} lo_style_decl;

typedef struct lo_style_rule {
    lo_selector_kind kind;
    const char *name;     /* shape, class or id; "*" for universal */
    lo_style_decl *decls;
    size_t n_decls;
    uint32_t line, col;
} lo_style_rule;

typedef struct lo_stylesheet lo_stylesheet;

/* Parse stylesheet text. Errors: NULL, err->code LO_EPARSE, err->line and
 * err->col 1-based inside text. Empty text is a valid empty stylesheet. */
lo_stylesheet *lo_stylesheet_parse(const char *text, lo_error *err);
void lo_stylesheet_free(lo_stylesheet *ss);
size_t lo_stylesheet_count(const lo_stylesheet *ss);
const lo_style_rule *lo_stylesheet_rule(const lo_stylesheet *ss, size_t i);

/* The value the stylesheet gives prop on node n (highest specificity; later
 * wins among equals), or NULL. Ignores the node's own attributes. */
const char *lo_stylesheet_resolve(const lo_stylesheet *ss, const lo_node *n,
                                  const char *prop);
/* Set every property the stylesheet gives each node, except those the node
 * sets explicitly. */
int lo_stylesheet_apply(const lo_stylesheet *ss, lo_graph *g, lo_error *err);

/* The properties a declaration may set. */
extern const char *const lo_style_properties[];
extern const size_t lo_n_style_properties;

#endif
