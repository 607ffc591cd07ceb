/* Prompt-cache simulation: which part of a prompt a provider would have
 * served from its cache, so the cost of a pipeline can be measured offline
 * (docs/twins.md, "Prompt caching").
 *
 * A prompt is a sequence of blocks (tool definitions, system text,
 * messages' content blocks, in the order the provider reads them), each
 * with its share of the token count. A prefix is identified by a chained
 * 64-bit hash: h(i) = hash(h(i-1), block i), seeded with the model (caches
 * never cross models) and an optional key. The twin keeps one table of
 * prefix hashes per instance, each with an expiry; a hit refreshes it.
 *
 * Hashing costs a JSON dump per block, so it is done only for prompts long
 * enough to be cached at all. */
#include <stdio.h>
#include <string.h>

#include "twin/twin_internal.h"

/* Initial table size (a power of two); it doubles when 3/4 full. */
#define CACHE_SLOTS 1024u
/* A breakpoint looks back this many block boundaries for a hit (Anthropic
 * documents "about 20"). */
#define LOOKBACK 20

struct twin_cache_slot {
    uint64_t key;    /* 0 = empty */
    int64_t expires; /* twin clock, ms */
    int64_t ttl_ms;  /* what a hit extends it by */
};

/* ------------------------------------------------------------ the clock */

int64_t twin_now_ms(lo_twin *t)
{
    return twin_mono_ms() + atomic_load(&t->clock_skew_ms);
}

void lo_twin_clock_advance(lo_twin *t, int64_t ms)
{
    if (t && ms > 0)
        atomic_fetch_add(&t->clock_skew_ms, ms);
}

/* ------------------------------------------------------------ prompts */

void twin_prompt_init(twin_prompt *p, const char *model, const char *key)
{
    memset(p, 0, sizeof *p);
    p->model = model;
    p->key = key;
}

void twin_prompt_release(twin_prompt *p)
{
    free(p->blocks);
    p->blocks = NULL;
    p->n = p->cap = 0;
}

static twin_block *next_block(twin_prompt *p)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 32;
        twin_block *nb = lo_realloc(p->blocks, cap * sizeof *nb);
        if (!nb) {
            p->oom = true;
            return NULL;
        }
        p->blocks = nb;
        p->cap = cap;
    }
    return &p->blocks[p->n++];
}

void twin_prompt_add(twin_prompt *p, const json_t *block, const char *text, int64_t tokens,
                     long ttl_s)
{
    p->total += tokens;
    twin_block *b = next_block(p);
    if (!b)
        return;
    *b = (twin_block){.json = block, .text = text, .tokens = tokens, .ttl_s = ttl_s,
                      .cum = p->total};
}

int64_t twin_prompt_total(const json_t *body, void (*build)(const json_t *, twin_prompt *))
{
    twin_prompt p;
    twin_prompt_init(&p, NULL, NULL);
    build(body, &p);
    twin_prompt_release(&p);
    return p.total;
}

void twin_prompt_count(twin_prompt *p, int64_t tokens)
{
    p->total += tokens;
}

/* The block as it identifies a prefix: its JSON with cache_control left
 * out (moving a breakpoint does not change what was cached), keys sorted. */
static uint64_t chain(uint64_t prev, const twin_block *b)
{
    lo_buf s;
    lo_buf_init(&s, 0);
    lo_buf_printf(&s, "%016llx|", (unsigned long long)prev);
    if (b->json) {
        json_t *copy = NULL;
        const json_t *j = b->json;
        if (json_is_object(j) && json_object_get(j, "cache_control")) {
            copy = json_copy((json_t *)j);
            json_object_del(copy, "cache_control");
            j = copy;
        }
        char *d = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        lo_buf_puts(&s, d ? d : "");
        free(d);
        json_decref(copy);
    }
    if (b->text)
        lo_buf_puts(&s, b->text);
    uint64_t h = lo_hash(s.data ? s.data : "", s.len);
    lo_buf_release(&s);
    return h ? h : 1; /* 0 marks an empty slot */
}

/* Hashes of the prefixes ending at blocks 0..upto (inclusive); caller frees. */
static uint64_t *prefix_hashes(const twin_prompt *p, size_t upto)
{
    uint64_t *h = lo_calloc(upto + 1, sizeof *h);
    if (!h)
        return NULL;
    char seed[300];
    snprintf(seed, sizeof seed, "%s|%s", p->model ? p->model : "", p->key ? p->key : "");
    uint64_t prev = lo_hash(seed, strlen(seed));
    for (size_t i = 0; i <= upto; i++)
        prev = h[i] = chain(prev, &p->blocks[i]);
    return h;
}

/* ------------------------------------------------------------ the table */

/* Called with cache_mu held. The live slot for key, or NULL. */
static struct twin_cache_slot *find(lo_twin *t, uint64_t key, int64_t now)
{
    if (!t->cache_slots)
        return NULL;
    size_t mask = t->cache_cap - 1;
    for (size_t i = (size_t)key & mask;; i = (i + 1) & mask) {
        struct twin_cache_slot *s = &t->cache_slots[i];
        if (!s->key)
            return NULL;
        if (s->key == key)
            return s->expires > now ? s : NULL;
    }
}

/* Rebuild at cap slots, dropping expired entries. */
static int rehash(lo_twin *t, size_t cap, int64_t now)
{
    struct twin_cache_slot *ns = lo_calloc(cap, sizeof *ns);
    if (!ns)
        return LO_ENOMEM;
    size_t used = 0;
    for (size_t i = 0; i < t->cache_cap; i++) {
        struct twin_cache_slot *s = &t->cache_slots[i];
        if (!s->key || s->expires <= now)
            continue;
        size_t j = (size_t)s->key & (cap - 1);
        while (ns[j].key)
            j = (j + 1) & (cap - 1);
        ns[j] = *s;
        used++;
    }
    free(t->cache_slots);
    t->cache_slots = ns;
    t->cache_cap = cap;
    t->cache_used = used;
    return 0;
}

/* Called with cache_mu held. Store or refresh key. Expired slots keep their
 * place until a rehash, so probing past them stays correct. */
static void put(lo_twin *t, uint64_t key, int64_t ttl_ms, int64_t now)
{
    if (!t->cache_slots && rehash(t, CACHE_SLOTS, now))
        return;
    if ((t->cache_used + 1) * 4 > t->cache_cap * 3) {
        /* full of live entries: grow; mostly expired: rebuild in place */
        size_t live = 0;
        for (size_t i = 0; i < t->cache_cap; i++)
            live += t->cache_slots[i].key && t->cache_slots[i].expires > now;
        size_t cap = (live + 1) * 2 > t->cache_cap ? t->cache_cap * 2 : t->cache_cap;
        if (rehash(t, cap, now))
            return;
    }
    size_t mask = t->cache_cap - 1;
    size_t i = (size_t)key & mask;
    while (t->cache_slots[i].key && t->cache_slots[i].key != key)
        i = (i + 1) & mask;
    struct twin_cache_slot *s = &t->cache_slots[i];
    if (!s->key)
        t->cache_used++;
    s->key = key;
    s->ttl_ms = ttl_ms;
    if (s->expires < now + ttl_ms)
        s->expires = now + ttl_ms;
}

void twin_cache_free(lo_twin *t)
{
    free(t->cache_slots);
    t->cache_slots = NULL;
}

/* ------------------------------------------------------------ policies */

int64_t twin_cache_min(const lo_twin *t, int64_t provider_min)
{
    return t->cache_min_tokens > 0 ? t->cache_min_tokens : provider_min;
}

void twin_cache_breakpoints(lo_twin *t, const twin_prompt *p, int64_t min, twin_cache_use *u)
{
    memset(u, 0, sizeof *u);
    size_t last = 0;
    bool any = false;
    for (size_t i = 0; i < p->n; i++)
        if (p->blocks[i].ttl_s > 0 && p->blocks[i].cum >= min) {
            last = i;
            any = true;
        }
    if (!any || p->oom)
        return;
    uint64_t *h = prefix_hashes(p, last);
    if (!h)
        return;
    int64_t now = twin_now_ms(t);
    pthread_mutex_lock(&t->cache_mu);
    /* the longest cached prefix within the look-back of any breakpoint */
    long hit = -1;
    for (size_t b = 0; b <= last; b++) {
        if (p->blocks[b].ttl_s <= 0)
            continue;
        for (size_t j = b + 1; j-- > 0 && b - j < LOOKBACK;) {
            if ((long)j <= hit)
                break;
            if (p->blocks[j].cum >= min && find(t, h[j], now)) {
                hit = (long)j;
                break;
            }
        }
    }
    if (hit >= 0) {
        struct twin_cache_slot *s = find(t, h[hit], now);
        s->expires = now + s->ttl_ms; /* a hit refreshes the entry */
        u->read = p->blocks[hit].cum;
    }
    /* every eligible breakpoint past the hit writes its segment, billed at
     * the TTL of the breakpoint that ends it */
    int64_t from = u->read;
    for (size_t b = (size_t)(hit + 1); b <= last; b++) {
        const twin_block *bl = &p->blocks[b];
        if (bl->ttl_s <= 0 || bl->cum < min)
            continue;
        put(t, h[b], (int64_t)bl->ttl_s * 1000, now);
        int64_t seg = bl->cum - from;
        u->write += seg;
        if (bl->ttl_s >= 3600)
            u->write_1h += seg;
        from = bl->cum;
    }
    pthread_mutex_unlock(&t->cache_mu);
    free(h);
}

void twin_cache_auto(lo_twin *t, const twin_prompt *p, int64_t min, int64_t step,
                     int64_t ttl_ms, twin_cache_use *u)
{
    memset(u, 0, sizeof *u);
    if (p->oom || !p->n || p->total < min)
        return;
    uint64_t *h = prefix_hashes(p, p->n - 1);
    if (!h)
        return;
    int64_t now = twin_now_ms(t);
    pthread_mutex_lock(&t->cache_mu);
    for (size_t j = p->n; j-- > 0;) {
        if (p->blocks[j].cum < min)
            break;
        struct twin_cache_slot *s = find(t, h[j], now);
        if (s) {
            s->expires = now + s->ttl_ms;
            int64_t got = p->blocks[j].cum;
            /* hits come in whole steps past the minimum (OpenAI: 128) */
            u->read = step > 1 ? min + (got - min) / step * step : got;
            break;
        }
    }
    /* every boundary past the minimum becomes a cached prefix */
    for (size_t j = 0; j < p->n; j++)
        if (p->blocks[j].cum >= min)
            put(t, h[j], ttl_ms, now);
    pthread_mutex_unlock(&t->cache_mu);
    free(h);
}

/* ------------------------------------------------------------ usage */

static int64_t count_or(const json_t *u, const char *k, int64_t dflt)
{
    const json_t *v = json_object_get(u, k);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

void twin_usage_resolve(lo_twin *t, const json_t *r, const twin_prompt *p,
                        const twin_cache_policy *pol, twin_usage *u)
{
    memset(u, 0, sizeof *u);
    const json_t *ru = json_object_get(r, "usage");
    u->output = count_or(ru, "output_tokens", twin_tokens_reply(r));
    if (json_object_get(ru, "input_tokens") || json_object_get(ru, "cache_read_tokens") ||
        json_object_get(ru, "cache_write_tokens")) {
        u->input = count_or(ru, "input_tokens", p->total);
        u->cache.read = count_or(ru, "cache_read_tokens", 0);
        u->cache.write = count_or(ru, "cache_write_tokens", 0);
        /* the cached parts are part of the prompt */
        if (u->input < u->cache.read + u->cache.write)
            u->input = u->cache.read + u->cache.write;
        return;
    }
    u->input = p->total;
    int64_t min = twin_cache_min(t, pol->min);
    if (pol->breakpoints)
        twin_cache_breakpoints(t, p, min, &u->cache);
    else
        twin_cache_auto(t, p, min, pol->step, pol->ttl_ms, &u->cache);
}
