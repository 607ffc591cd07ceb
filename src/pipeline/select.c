/* Edge selection (attractor-spec §3.3): conditions, then the preferred
 * label, then suggested ids, then weight, then the lexically first target.
 * The trace records every edge considered so a user can see from the event
 * log why the run went where it did. */
#include <ctype.h>
#include <string.h>

#include "lightsout/condition.h"
#include "lightsout/engine.h"

void lo_normalize_label(const char *label, char *out, size_t n)
{
    const char *s = label ? label : "";
    while (isspace((unsigned char)*s))
        s++;
    /* accelerator prefixes: "[K] ", "K) ", "K - " */
    /* a prefix is stripped only when a label follows it: "[Approve]" alone
     * is the label, not an empty one */
    const char *rest = NULL;
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (close && close - s <= 8)
            rest = close + 1;
    } else if (s[0] && s[1] == ')') {
        rest = s + 2;
    } else if (s[0] && s[1] == ' ' && s[2] == '-' && s[3] == ' ') {
        rest = s + 4;
    }
    if (rest) {
        const char *r = rest;
        while (isspace((unsigned char)*r))
            r++;
        if (*r)
            s = r;
    }
    while (isspace((unsigned char)*s))
        s++;
    size_t j = 0;
    for (; *s && j + 1 < n; s++)
        out[j++] = (char)tolower((unsigned char)*s);
    while (j > 0 && isspace((unsigned char)out[j - 1]))
        j--;
    out[j] = '\0';
}

typedef struct lookup_ud {
    const lo_context *ctx;
    char *held[32]; /* strings handed to the evaluator during one edge */
    int n;
} lookup_ud;

static const char *ctx_lookup(void *ud, const char *key)
{
    lookup_ud *l = ud;
    char *v = lo_context_get_str(l->ctx, key);
    if (!v)
        return NULL;
    if (l->n == 32) {
        free(v);
        return "";
    }
    l->held[l->n++] = v;
    return v;
}

static bool eval_condition(const char *text, const lo_outcome *o, const lo_context *ctx,
                           bool *parsed)
{
    lo_error err;
    lo_cond *c = lo_cond_parse(text, &err);
    *parsed = c != NULL;
    if (!c)
        return false; /* validation rejects these; a transform may not have */
    lookup_ud l = {.ctx = ctx};
    lo_cond_env env = {
        .outcome = lo_status_name(o->status),
        .preferred_label = o->preferred_label ? o->preferred_label : "",
        .lookup = ctx ? ctx_lookup : NULL,
        .ud = &l,
    };
    bool r = lo_cond_eval(c, &env);
    for (int i = 0; i < l.n; i++)
        free(l.held[i]);
    lo_cond_free(c);
    return r;
}

/* Higher weight first, then the lexically smaller target. */
static bool better(const lo_edge *a, const lo_edge *b)
{
    if (!b)
        return true;
    int64_t wa = lo_edge_int(a, "weight", 0), wb = lo_edge_int(b, "weight", 0);
    if (wa != wb)
        return wa > wb;
    return strcmp(a->to, b->to) < 0;
}

static bool has_condition(const lo_edge *e)
{
    return lo_edge_str(e, "condition")[0] != '\0';
}

lo_selection lo_select_edge(const lo_graph *g, const lo_node *n, const lo_outcome *o,
                            const lo_context *ctx, json_t *trace)
{
    lo_selection sel = {NULL, 0};
    const lo_edge *best = NULL;
    uint32_t ne;
    lo_edge *const *out = lo_graph_out_edges(g, n, &ne);
    /* step 1: conditions */
    for (uint32_t i = 0; i < ne; i++) {
        const lo_edge *e = out[i];
        if (!has_condition(e))
            continue;
        bool parsed;
        bool ok = eval_condition(lo_edge_str(e, "condition"), o, ctx, &parsed);
        if (trace)
            json_array_append_new(trace, json_pack("{s:s, s:s, s:s}", "to", e->to,
                                                   "condition", lo_edge_str(e, "condition"),
                                                   "result", !parsed ? "unparsable" :
                                                   ok ? "true" : "false"));
        if (ok && better(e, best))
            best = e;
    }
    if (best) {
        sel.edge = best;
        sel.step = 1;
        return sel;
    }
    /* A failed stage follows only an edge whose condition matched (§3.7);
     * the caller then tries the retry targets. */
    if (o->status == LO_FAIL)
        return sel;
    /* step 2: preferred label */
    if (o->preferred_label && *o->preferred_label) {
        char want[256], have[256];
        lo_normalize_label(o->preferred_label, want, sizeof want);
        for (uint32_t i = 0; want[0] && i < ne; i++) {
            const lo_edge *e = out[i];
            if (has_condition(e))
                continue;
            lo_normalize_label(lo_edge_str(e, "label"), have, sizeof have);
            if (strcmp(want, have) == 0) {
                sel.edge = e;
                sel.step = 2;
                return sel;
            }
        }
    }
    /* step 3: suggested next ids, in the order suggested */
    size_t ns = o->suggested_next_ids ? json_array_size(o->suggested_next_ids) : 0;
    for (size_t k = 0; k < ns; k++) {
        const char *id = json_string_value(json_array_get(o->suggested_next_ids, k));
        for (uint32_t i = 0; id && i < ne; i++) {
            const lo_edge *e = out[i];
            if (!has_condition(e) && strcmp(e->to, id) == 0) {
                sel.edge = e;
                sel.step = 3;
                return sel;
            }
        }
    }
    /* steps 4 and 5: weight, then lexical, among unconditional edges */
    int64_t top = INT64_MIN;
    size_t at_top = 0;
    for (uint32_t i = 0; i < ne; i++) {
        const lo_edge *e = out[i];
        if (has_condition(e))
            continue;
        int64_t w = lo_edge_int(e, "weight", 0);
        if (w > top) {
            top = w;
            at_top = 1;
        } else if (w == top) {
            at_top++;
        }
        if (better(e, best))
            best = e;
    }
    if (best) {
        sel.edge = best;
        sel.step = at_top > 1 ? 5 : 4;
    }
    return sel;
}
