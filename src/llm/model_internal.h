/* Copy helpers shared by the data-model files (model.c, request.c).
 * Private to src/llm. */
#ifndef LO_LLM_MODEL_INTERNAL_H
#define LO_LLM_MODEL_INTERNAL_H

#include "lightsout/llm.h"

/* Duplicate s, treating NULL as NULL. *ok is cleared on allocation failure
 * so a run of copies can be checked once. */
static inline char *dup_or_null(const char *s, bool *ok)
{
    if (!s)
        return NULL;
    char *d = lo_strdup(s);
    if (!d)
        *ok = false;
    return d;
}

/* json_deep_copy that keeps NULL as NULL; *ok cleared on failure. */
static inline json_t *copy_json(const json_t *j, bool *ok)
{
    if (!j)
        return NULL;
    json_t *c = json_deep_copy(j);
    if (!c)
        *ok = false;
    return c;
}

#endif
