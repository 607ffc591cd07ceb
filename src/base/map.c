/* Hash map from NUL-terminated string keys to pointers: open addressing with
 * linear probing, power-of-two capacity, stored hashes. Keys are borrowed. */
#include <string.h>

#include "lightsout/base.h"

typedef struct slot {
    const char *key; /* NULL = empty */
    uint64_t hash;
    void *value;
} slot;

struct lo_map {
    slot *slots;
    size_t cap, count;
};

uint64_t lo_hash(const char *s, size_t n)
{
    /* FNV-1a, 64-bit, then a final mix so low bits are usable as an index. */
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

lo_map *lo_map_new(size_t expected)
{
    lo_map *m = lo_calloc(1, sizeof *m);
    if (!m)
        return NULL;
    size_t cap = 16;
    while (cap < expected * 2)
        cap *= 2;
    m->slots = lo_calloc(cap, sizeof *m->slots);
    if (!m->slots) {
        free(m);
        return NULL;
    }
    m->cap = cap;
    return m;
}

void lo_map_free(lo_map *m)
{
    if (!m)
        return;
    free(m->slots);
    free(m);
}

static slot *find(const lo_map *m, const char *key, size_t len, uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        slot *s = &m->slots[i];
        if (!s->key)
            return s;
        if (s->hash == h && strncmp(s->key, key, len) == 0 && s->key[len] == '\0')
            return s;
    }
}

static int grow(lo_map *m)
{
    size_t ncap = m->cap * 2;
    slot *ns = lo_calloc(ncap, sizeof *ns);
    if (!ns)
        return LO_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        slot *s = &m->slots[i];
        if (!s->key)
            continue;
        size_t j = s->hash & (ncap - 1);
        while (ns[j].key)
            j = (j + 1) & (ncap - 1);
        ns[j] = *s;
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

int lo_map_put(lo_map *m, const char *key, void *value)
{
    if ((m->count + 1) * 4 > m->cap * 3 && grow(m))
        return LO_ENOMEM;
    size_t len = strlen(key);
    uint64_t h = lo_hash(key, len);
    slot *s = find(m, key, len, h);
    if (!s->key) {
        s->key = key;
        s->hash = h;
        m->count++;
    }
    s->value = value;
    return 0;
}

void *lo_map_getn(const lo_map *m, const char *key, size_t len)
{
    slot *s = find(m, key, len, lo_hash(key, len));
    return s->key ? s->value : NULL;
}

void *lo_map_get(const lo_map *m, const char *key)
{
    return lo_map_getn(m, key, strlen(key));
}

bool lo_map_has(const lo_map *m, const char *key)
{
    size_t len = strlen(key);
    return find(m, key, len, lo_hash(key, len))->key != NULL;
}

size_t lo_map_count(const lo_map *m) { return m->count; }

bool lo_map_next(const lo_map *m, size_t *it, const char **key, void **value)
{
    while (*it < m->cap) {
        slot *s = &m->slots[(*it)++];
        if (s->key) {
            if (key) *key = s->key;
            if (value) *value = s->value;
            return true;
        }
    }
    return false;
}
