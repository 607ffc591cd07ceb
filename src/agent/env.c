/* What every execution environment shares: releasing it and what its
 * operations return. */
#include <stdio.h>

#include "agent/env_internal.h"

void lo_agent_env_free(lo_agent_env *e)
{
    if (!e)
        return;
    if (e->ops && e->ops->cleanup)
        e->ops->cleanup(e);
    if (e->ops && e->ops->destroy)
        e->ops->destroy(e);
}

void lo_agent_dir_entries_free(lo_agent_dir_entry *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i].name);
    free(v);
}

void lo_agent_exec_result_release(lo_agent_exec_result *r)
{
    if (!r)
        return;
    free(r->stdout_text);
    free(r->stderr_text);
    r->stdout_text = r->stderr_text = NULL;
}

int lo_agent_err_prefix_(lo_error *err, int code, const char *prefix)
{
    if (!err)
        return code;
    char msg[sizeof err->msg];
    snprintf(msg, sizeof msg, "%s", err->msg);
    return lo_error_set(err, code, "%s: %s", prefix, msg);
}
