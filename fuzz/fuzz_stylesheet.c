/* libFuzzer target for the model stylesheet parser (attractor-spec §8).
 * Each input is parsed, and on success resolved against a small graph and
 * applied to it, so the matching code is exercised as well as the parser. */
#include <stdint.h>
#include <string.h>

#include "lightsout/stylesheet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The parser takes a C string: NUL-terminate a copy. */
    char *text = lo_malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    lo_error err;
    lo_stylesheet *ss = lo_stylesheet_parse(text, &err);
    if (!ss) {
        /* Every failure is a syntax error with a position inside the text. */
        if (err.code != LO_EPARSE || err.line == 0 || err.col == 0)
            __builtin_trap();
    } else {
        lo_graph *g = lo_graph_new("F");
        lo_node *a = g ? lo_graph_add_node(g, "a") : NULL;
        lo_node *b = g ? lo_graph_add_node(g, "review") : NULL;
        if (a && b &&
            lo_attrs_set(g, &b->attrs, "shape", LO_VAL_BARE, "diamond",
                         LO_NOPOS) == 0) {
            /* Touch every string so ASan sees any bad pointer. */
            size_t sum = 0;
            for (size_t i = 0; i < lo_stylesheet_count(ss); i++) {
                const lo_style_rule *r = lo_stylesheet_rule(ss, i);
                sum += strlen(r->name);
                for (size_t j = 0; j < r->n_decls; j++)
                    sum += strlen(r->decls[j].property) +
                           strlen(r->decls[j].value);
            }
            if (sum == (size_t)-1)
                __builtin_trap();
            (void)lo_stylesheet_apply(ss, g, &err);
        }
        lo_graph_free(g);
        lo_stylesheet_free(ss);
    }
    free(text);
    return 0;
}
