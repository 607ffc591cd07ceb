/* Arena: bump allocation in chunks, freed all at once. Parse trees and
 * per-run scratch live here so their teardown is one call. */
#include <stdio.h>
#include <string.h>

#include "lightsout/base.h"

typedef struct chunk {
    struct chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
} chunk;

struct lo_arena {
    chunk *head;
    size_t chunk_size;
    size_t total;
};

lo_arena *lo_arena_new(size_t chunk_size)
{
    lo_arena *a = lo_calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->chunk_size = chunk_size ? chunk_size : 64 * 1024;
    return a;
}

void lo_arena_free(lo_arena *a)
{
    if (!a)
        return;
    chunk *c = a->head;
    while (c) {
        chunk *next = c->next;
        free(c);
        c = next;
    }
    free(a);
}

void *lo_arena_alloc(lo_arena *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    chunk *c = a->head;
    if (!c || c->size - c->used < n) {
        /* Big requests get a chunk of their own, behind the current one, so
         * the space left in the current chunk is not wasted. */
        size_t size = n > a->chunk_size / 4 ? n : a->chunk_size;
        chunk *nc = lo_malloc(sizeof *nc + size);
        if (!nc)
            return NULL;
        nc->size = size;
        nc->used = 0;
        if (c && size != a->chunk_size) {
            nc->next = c->next;
            c->next = nc;
        } else {
            nc->next = c;
            a->head = nc;
        }
        c = nc;
    }
    void *p = c->data + c->used;
    c->used += n;
    a->total += n;
    memset(p, 0, n);
    return p;
}

char *lo_arena_strndup(lo_arena *a, const char *s, size_t n)
{
    char *d = lo_arena_alloc(a, n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *lo_arena_strdup(lo_arena *a, const char *s)
{
    return lo_arena_strndup(a, s, strlen(s));
}

char *lo_arena_printf(lo_arena *a, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *d = n < 0 ? NULL : lo_arena_alloc(a, (size_t)n + 1);
    if (d)
        vsnprintf(d, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return d;
}

size_t lo_arena_used(const lo_arena *a) { return a->total; }
