/* libFuzzer target for the DOT parser and everything that reads its output:
 * parse arbitrary bytes; on failure the error must carry a position; on
 * success run the transforms and every lint rule, format every diagnostic
 * with its source line (exercising offset -> line:col), and write plain DOT. */
#include <stdint.h>
#include <stdlib.h>

#include "lightsout/graph.h"
#include "lightsout/lint.h"
#include "lightsout/transform.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lo_error err;
    lo_error_clear(&err);
    lo_buf out;
    lo_buf_init(&out, 0);
    lo_graph *g = lo_graph_parse((const char *)data, size, "<fuzz>", &err);
    if (!g) {
        if (err.code == LO_EPARSE && err.line == 0)
            abort(); /* every syntax error has a position */
        lo_error_format(&err, true, &out);
        lo_buf_release(&out);
        return 0;
    }
    lo_transforms *t = lo_transforms_new();
    if (t) {
        (void)lo_transforms_apply(t, g, &err);
        lo_transforms_free(t);
    }
    lo_diags *d = lo_diags_new();
    if (d) {
        (void)lo_validate(g, NULL, 0, d);
        for (size_t i = 0; i < d->n; i++) {
            if (d->v[i].line > g->n_lines)
                abort(); /* a diagnostic points past the end of the source */
            lo_diag_format(&d->v[i], g, true, &out);
        }
        lo_diags_free(d);
    }
    lo_graph_to_plain_dot(g, &out);
    lo_buf_release(&out);
    lo_graph_free(g);
    return 0;
}
