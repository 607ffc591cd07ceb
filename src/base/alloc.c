/* Allocation wrappers: the one place tests can make allocation fail. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "lightsout/base.h"

/* Countdown to an injected failure; 0 = never fail. */
static _Atomic long fail_countdown;

void lo_alloc_fail_after(long n) { atomic_store(&fail_countdown, n); }

static bool should_fail(void)
{
    long n = atomic_load(&fail_countdown);
    if (n <= 0)
        return false;
    if (atomic_fetch_sub(&fail_countdown, 1) == 1)
        return true;
    return false;
}

void *lo_malloc(size_t n)
{
    if (should_fail())
        return NULL;
    return malloc(n ? n : 1);
}

void *lo_calloc(size_t n, size_t size)
{
    if (should_fail())
        return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

void *lo_realloc(void *p, size_t n)
{
    if (should_fail())
        return NULL;
    return realloc(p, n ? n : 1);
}

char *lo_strndup(const char *s, size_t n)
{
    char *d = lo_malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *lo_strdup(const char *s) { return lo_strndup(s, strlen(s)); }
