/* Environments for child processes (lo_env_new, see lightsout/proc.h):
 * stages, gates and git all run with ours minus a few names plus a few. */
#include <string.h>

#include "lightsout/proc.h"

extern char **environ;

/* Does entry ("NAME=VALUE") name a variable matched by pattern? */
static bool matches(const char *entry, const char *pattern)
{
    size_t n = strlen(pattern);
    if (n && pattern[n - 1] == '*')
        return strncmp(entry, pattern, n - 1) == 0;
    return strncmp(entry, pattern, n) == 0 && entry[n] == '=';
}

static bool dropped(const char *entry, const char *const *drop, const char *const *set)
{
    for (const char *const *d = drop; d && *d; d++)
        if (matches(entry, *d))
            return true;
    /* a name set again is replaced, not doubled */
    for (const char *const *s = set; s && *s; s++) {
        const char *eq = strchr(*s, '=');
        size_t n = eq ? (size_t)(eq - *s) : strlen(*s);
        if (strncmp(entry, *s, n) == 0 && entry[n] == '=')
            return true;
    }
    return false;
}

char **lo_env_new(char *const *base, const char *const *drop, const char *const *set)
{
    char *const *from = base ? base : environ;
    size_t n = 0, k = 0, ns = 0;
    while (from && from[n])
        n++;
    while (set && set[ns])
        ns++;
    char **env = lo_calloc(n + ns + 1, sizeof *env);
    if (!env)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!dropped(from[i], drop, set) && !(env[k++] = lo_strdup(from[i])))
            goto oom;
    for (size_t i = 0; i < ns; i++)
        if (!(env[k++] = lo_strdup(set[i])))
            goto oom;
    return env;
oom:
    lo_env_free(env);
    return NULL;
}

void lo_env_free(char **env)
{
    if (!env)
        return;
    for (char **p = env; *p; p++)
        free(*p);
    free(env);
}
