/* libFuzzer target for the DOT parser and the linter: parse arbitrary bytes
 * and, when they parse, run every built-in lint rule over the graph. */
#include <stdint.h>

#include "lightsout/graph.h"
#include "lightsout/lint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lo_error err;
    lo_graph *g = lo_graph_parse((const char *)data, size, "<fuzz>", &err);
    if (!g)
        return 0;
    lo_diags *d = lo_diags_new();
    if (d) {
        (void)lo_validate(g, NULL, 0, d);
        lo_diags_free(d);
    }
    lo_graph_free(g);
    return 0;
}
