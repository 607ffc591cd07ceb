/* conditional (§4.7): passes through; routing happens in edge selection,
 * against the outcome and context the previous stage left. */
#include "pipeline/handlers/builtin.h"

int lo_handler_conditional(lo_stage *st, lo_outcome *out, void *ud, lo_error *err)
{
    /* Route on the outcome of the stage before, not on this no-op's own
     * success: otherwise `outcome=fail` after a diamond could never match. */
    char *prev = lo_context_get_str(st->context, "outcome");
    lo_status s = LO_SUCCESS;
    if (prev && lo_status_parse(prev, &s) != 0)
        s = LO_SUCCESS;
    free(prev);
    out->status = s == LO_RETRY ? LO_FAIL : s;
    return lo_outcome_set_notes(out, "conditional node evaluated: %s", st->node->id);
}
