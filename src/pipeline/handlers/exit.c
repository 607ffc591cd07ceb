/* exit (§4.4): a no-op; the engine checks goal gates before it. */
#include "pipeline/handlers/builtin.h"

int lo_handler_exit(lo_stage *st, lo_outcome *out, void *ud, lo_error *err)
{
    out->status = LO_SUCCESS;
    return 0;
}
