/* The simulation backend of attractor-spec §4.5: answers every prompt with
 * a fixed line naming the stage. Chosen on purpose (--backend sim), never
 * as a silent stand-in for a real model. */
#include <stdio.h>

#include "lightsout/engine.h"

static int sim_run(lo_backend *b, lo_stage *st, const char *prompt, lo_buf *response,
                   lo_outcome *out, bool *has_outcome, lo_error *err)
{
    *has_outcome = false;
    if (lo_buf_printf(response, "[Simulated] Response for stage: %s", st->node->id))
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    return 0;
}

static void sim_destroy(lo_backend *b) { free(b); }

lo_backend *lo_backend_sim(void)
{
    lo_backend *b = lo_calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->name = "sim";
    b->run = sim_run;
    b->destroy = sim_destroy;
    return b;
}

void lo_backend_free(lo_backend *b)
{
    if (b && b->destroy)
        b->destroy(b);
}
