/* start (§4.3): the entry point does nothing; reaching it is the point. */
#include "pipeline/handlers/builtin.h"

int lo_handler_start(lo_stage *st, lo_outcome *out, void *ud, lo_error *err)
{
    out->status = LO_SUCCESS;
    return 0;
}
