/* What the twin core (twin.c) shares with the provider files (anthropic.c,
 * later openai.c and gemini.c) and the token approximation (tokens.c). Not a
 * public API. */
#ifndef LO_TWIN_INTERNAL_H
#define LO_TWIN_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "lightsout/http.h"
#include "lightsout/llm.h"
#include "lightsout/twin.h"

struct lo_twin {
    lo_http_server *srv;
    lo_tape **tapes; /* borrowed */
    size_t n_tapes;
    char *api_key;   /* NULL = any non-empty key */
    lo_llm_catalog *catalog;
    atomic_long calls;    /* generation requests that reached the tapes */
    atomic_long requests; /* every request, for request ids */
    char base_url[96];
    void (*log)(const char *line, void *ud);
    void *log_ud;
    pthread_mutex_t log_mu;
    /* prompt cache (cache.c): prefix hashes with their expiry */
    pthread_mutex_t cache_mu;
    struct twin_cache_slot *cache_slots;
    size_t cache_cap, cache_used;
    int64_t cache_min_tokens;      /* 0 = each provider's own minimum */
    atomic_llong clock_skew_ms;    /* lo_twin_clock_advance */
};

/* ---- twin.c: services for the provider files ---- */

/* One log line (printf-style); never give it a key. */
void twin_log(lo_twin *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* prefix + n base62 characters derived from (salt, seed): deterministic ids. */
void twin_id(char *out, size_t len, const char *prefix, const char *salt, uint64_t seed,
             size_t n);
/* Constant-time comparison of a presented key with the configured one. */
bool twin_key_ok(const lo_twin *t, const char *key);
/* Answer body with the fault's latency and malformed flag applied (f may be
 * NULL). The body is copied. */
void twin_send(lo_http_response *res, int status, const char *ctype, const char *body,
               size_t len, const lo_tape_fault *f);
/* Answer an SSE stream of pre-rendered events (each "event: ...\ndata: ...\n\n"),
 * with latency, drip, cut_after and malformed applied. Takes ownership of
 * the strings and of the array, also on failure. */
void twin_send_events(lo_http_response *res, char **events, size_t n, const lo_tape_fault *f);
/* Split raw SSE text into events (at blank lines) and send them as above. */
void twin_send_raw_sse(lo_http_response *res, const char *text, const lo_tape_fault *f);

/* ---- anthropic.c ---- */
int twin_anthropic_routes(lo_twin *t, lo_error *err);

/* ---- cache.c: prompt-cache simulation (docs/twins.md, "Prompt caching") ---- */

/* One block of a prompt, in the order the provider reads the prompt. */
typedef struct twin_block {
    const json_t *json; /* borrowed; its identity (cache_control left out), or NULL */
    const char *text;   /* borrowed; identity of a plain-text block, or NULL */
    int64_t tokens;     /* the block's own share of the count */
    long ttl_s;         /* a cache breakpoint ends here with this TTL; 0 = none */
    int64_t cum;        /* the prompt's count up to and including this block */
} twin_block;

typedef struct twin_prompt {
    const char *model, *key; /* seed the prefix hash: caches never cross models or keys */
    twin_block *blocks;
    size_t n, cap;
    int64_t total; /* the input token count of the whole request */
    bool oom;      /* a block could not be recorded: no caching for this prompt */
} twin_prompt;

typedef struct twin_cache_use {
    int64_t read;     /* tokens served from the cache */
    int64_t write;    /* tokens written to it (Anthropic only) */
    int64_t write_1h; /* of which with the one-hour TTL */
} twin_cache_use;

void twin_prompt_init(twin_prompt *p, const char *model, const char *key);
void twin_prompt_release(twin_prompt *p);
/* Append a block (json or text identifies it). */
void twin_prompt_add(twin_prompt *p, const json_t *block, const char *text, int64_t tokens,
                     long ttl_s);
/* Count tokens that belong to no block of their own (per-request and
 * per-message overheads); they go to the next block's prefix. */
void twin_prompt_count(twin_prompt *p, int64_t tokens);
/* The twin's clock (monotonic ms plus lo_twin_clock_advance). */
int64_t twin_now_ms(lo_twin *t);
/* The configured minimum cacheable prefix, else the provider's. */
int64_t twin_cache_min(const lo_twin *t, int64_t provider_min);
/* Anthropic: explicit breakpoints (blocks with ttl_s), each looking back
 * 20 boundaries for the longest cached prefix; breakpoints past the hit
 * are written. Prefixes below min are neither read nor written. */
void twin_cache_breakpoints(lo_twin *t, const twin_prompt *p, int64_t min, twin_cache_use *u);
/* OpenAI, Gemini: automatic prefix caching of prompts of at least min
 * tokens; a hit is the longest cached block boundary, rounded down to
 * min + a multiple of step; every boundary past min is then cached. */
void twin_cache_auto(lo_twin *t, const twin_prompt *p, int64_t min, int64_t step,
                     int64_t ttl_ms, twin_cache_use *u);
void twin_cache_free(lo_twin *t);

/* How a provider caches. */
typedef struct twin_cache_policy {
    bool breakpoints; /* Anthropic's explicit cache_control; else automatic */
    int64_t min;      /* smallest cacheable prefix (before twin_cache_min) */
    int64_t step;     /* automatic: hits in whole steps past min; 0 or 1 = any */
    int64_t ttl_ms;   /* automatic: lifetime of an entry, refreshed by a hit */
} twin_cache_policy;

/* The counts a reply reports. input is the whole prompt, cached tokens
 * included; each provider renders it its own way. */
typedef struct twin_usage {
    int64_t input, output;
    twin_cache_use cache;
} twin_usage;

/* The usage of reply r to prompt p: the tape's reply.usage where it gives
 * counts (input_tokens, cache_read_tokens or cache_write_tokens turn the
 * simulation off), else the approximation and the cache under pol. Call it
 * only for a reply actually served: it updates the cache. */
void twin_usage_resolve(lo_twin *t, const json_t *r, const twin_prompt *p,
                        const twin_cache_policy *pol, twin_usage *u);

/* ---- tokens.c: the deterministic token approximation (docs/twins.md) ---- */
enum {
    TWIN_TOKENS_REQUEST = 3,  /* per request */
    TWIN_TOKENS_MESSAGE = 4,  /* per message */
    TWIN_TOKENS_TOOL = 8,     /* per tool definition */
    TWIN_TOKENS_MEDIA = 1000, /* per image or document */
};
/* ceil(bytes / 4). */
int64_t twin_tokens_text(const char *s);
/* twin_tokens_text of the compact JSON text of v. */
int64_t twin_tokens_json(const json_t *v);
/* Input tokens of an Anthropic Messages request body (system, messages, tools). */
int64_t twin_tokens_anthropic_request(const json_t *body);
/* The same count as a prompt of blocks: tools, system, messages' blocks,
 * with their cache_control breakpoints (p initialised by the caller). */
void twin_prompt_anthropic(const json_t *body, twin_prompt *p);
/* Output tokens of a provider-neutral tape reply (at least 1). */
int64_t twin_tokens_reply(const json_t *reply);

#endif
