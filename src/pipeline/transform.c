/* Transforms between parsing and validation (attractor-spec §9.1-9.3):
 * built-ins first, then custom ones in registration order. */
#include <string.h>

#include "lightsout/stylesheet.h"
#include "lightsout/transform.h"

typedef struct entry {
    const char *name;
    lo_transform_fn fn;
    void *ud;
} entry;

struct lo_transforms {
    entry *v;
    size_t n, cap;
};

lo_transforms *lo_transforms_new(void)
{
    lo_transforms *t = lo_calloc(1, sizeof *t);
    if (!t)
        return NULL;
    if (lo_transforms_register(t, "expand_goal", lo_transform_expand_goal, NULL) ||
        lo_transforms_register(t, "stylesheet", lo_transform_stylesheet, NULL)) {
        lo_transforms_free(t);
        return NULL;
    }
    return t;
}

void lo_transforms_free(lo_transforms *t)
{
    if (!t)
        return;
    free(t->v);
    free(t);
}

int lo_transforms_register(lo_transforms *t, const char *name, lo_transform_fn fn, void *ud)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 4;
        entry *v = lo_realloc(t->v, cap * sizeof *v);
        if (!v)
            return LO_ENOMEM;
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n++] = (entry){name, fn, ud};
    return 0;
}

int lo_transforms_apply(const lo_transforms *t, lo_graph *g, lo_error *err)
{
    for (size_t i = 0; i < t->n; i++) {
        int rc = t->v[i].fn(g, t->v[i].ud, err);
        if (rc) {
            if (err && err->msg[0] == '\0')
                lo_error_set(err, rc, "transform %s failed", t->v[i].name);
            return rc;
        }
    }
    return 0;
}

/* Replace every "$goal" in s with goal; NULL when there is none. */
static char *replace_goal(const char *s, const char *goal)
{
    if (!strstr(s, "$goal"))
        return NULL;
    lo_buf b;
    lo_buf_init(&b, 0);
    const char *p = s, *hit;
    while ((hit = strstr(p, "$goal"))) {
        if (lo_buf_append(&b, p, (size_t)(hit - p)) || lo_buf_puts(&b, goal)) {
            lo_buf_release(&b);
            return NULL;
        }
        p = hit + 5;
    }
    if (lo_buf_puts(&b, p)) {
        lo_buf_release(&b);
        return NULL;
    }
    return lo_buf_steal(&b);
}

int lo_transform_expand_goal(lo_graph *g, void *ud, lo_error *err)
{
    const char *goal = lo_graph_str(g, "goal");
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        lo_node *n = g->nodes[i];
        const lo_attr *a = lo_attrs_get(&n->attrs, "prompt");
        if (!a || !strstr(a->value.text, "$goal"))
            continue;
        char *s = replace_goal(a->value.text, goal);
        if (!s)
            return lo_error_set(err, LO_ENOMEM, "out of memory expanding $goal");
        uint32_t off = a->off, voff = a->voff;
        int rc = lo_attrs_set(g, &n->attrs, "prompt", a->value.kind, s, off);
        free(s);
        if (rc)
            return lo_error_set(err, rc, "out of memory expanding $goal");
        /* keep the value's source position for diagnostics */
        ((lo_attr *)lo_attrs_get(&n->attrs, "prompt"))->voff = voff;
    }
    return 0;
}

int lo_transform_stylesheet(lo_graph *g, void *ud, lo_error *err)
{
    const char *text = lo_graph_str(g, "model_stylesheet");
    if (!*text)
        return 0;
    lo_error perr;
    lo_error_clear(&perr);
    lo_stylesheet *ss = lo_stylesheet_parse(text, &perr);
    if (!ss) {
        if (perr.code == LO_ENOMEM)
            return lo_error_set(err, LO_ENOMEM, "out of memory parsing the stylesheet");
        return 0; /* reported by the stylesheet_syntax lint rule, with position */
    }
    int rc = lo_stylesheet_apply(ss, g, err);
    lo_stylesheet_free(ss);
    return rc;
}

lo_graph *lo_pipeline_prepare(const char *path, const lo_transforms *t, lo_diags *diags,
                              lo_error *err)
{
    lo_graph *g = lo_graph_parse_file(path, err);
    if (!g)
        return NULL;
    if (t && lo_transforms_apply(t, g, err)) {
        lo_graph_free(g);
        return NULL;
    }
    if (diags && lo_validate(g, NULL, 0, diags)) {
        lo_error_set(err, LO_ENOMEM, "out of memory validating %s", path);
        lo_graph_free(g);
        return NULL;
    }
    return g;
}
