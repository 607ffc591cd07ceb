/* The environment of a stage's command (lo_stage_env, engine.h): tool
 * stages and validation gates tell their commands where they run. */
#include <stdio.h>

#include "lightsout/engine.h"
#include "lightsout/proc.h"

char **lo_stage_env(const lo_stage *st, const char *const *extra)
{
    const char *vals[3] = {st->node->id, st->logs_root ? st->logs_root : "", st->stage_dir};
    static const char *const names[3] = {"LIGHTSOUT_STAGE", "LIGHTSOUT_LOGS",
                                         "LIGHTSOUT_STAGE_DIR"};
    size_t n_extra = 0;
    while (extra && extra[n_extra])
        n_extra++;
    const char **set = lo_calloc(3 + n_extra + 1, sizeof *set);
    lo_buf b[3];
    bool ok = set != NULL;
    for (int i = 0; i < 3; i++) {
        lo_buf_init(&b[i], 0);
        ok = ok && !lo_buf_printf(&b[i], "%s=%s", names[i], vals[i]);
        if (set)
            set[i] = b[i].data;
    }
    for (size_t i = 0; set && i < n_extra; i++)
        set[3 + i] = extra[i];
    char **env = ok ? lo_env_new(NULL, NULL, set) : NULL;
    for (int i = 0; i < 3; i++)
        lo_buf_release(&b[i]);
    free(set);
    return env;
}
