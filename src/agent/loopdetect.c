/* Loop detection (§2.10): a ring of tool call signatures (name plus a hash
 * of the arguments in canonical form) and a check for a pattern of 1, 2 or
 * 3 calls repeating over the whole window. */
#include <string.h>

#include "agent/session_internal.h"

int loop_detector_init(loop_detector *d, int window)
{
    memset(d, 0, sizeof *d);
    if (window <= 0)
        return 0;
    d->sig = lo_calloc((size_t)window, sizeof *d->sig);
    if (!d->sig)
        return LO_ENOMEM;
    d->window = window;
    return 0;
}

void loop_detector_release(loop_detector *d)
{
    free(d->sig);
    memset(d, 0, sizeof *d);
}

void loop_detector_reset(loop_detector *d)
{
    d->n = d->next = 0;
}

void loop_detector_push(loop_detector *d, const char *name, const json_t *args,
                        const char *raw_args)
{
    if (!d->window)
        return;
    /* Sorted keys: {"a":1,"b":2} and {"b":2,"a":1} are the same call. */
    char *canon = args ? json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    const char *a = canon ? canon : raw_args ? raw_args : "";
    uint64_t h = lo_hash(name ? name : "", name ? strlen(name) : 0);
    h = h * 0x100000001b3ull ^ lo_hash(a, strlen(a));
    free(canon);
    d->sig[d->next] = h;
    d->next = (d->next + 1) % d->window;
    if (d->n < d->window)
        d->n++;
}

/* The i-th of the last window signatures, oldest first. */
static uint64_t at(const loop_detector *d, int i)
{
    return d->sig[(d->next + i) % d->window];
}

bool loop_detector_check(const loop_detector *d)
{
    if (!d->window || d->n < d->window)
        return false;
    for (int len = 1; len <= 3; len++) {
        if (d->window % len)
            continue;
        bool all = true;
        for (int i = len; i < d->window && all; i++)
            all = at(d, i) == at(d, i % len);
        if (all)
            return true;
    }
    return false;
}
