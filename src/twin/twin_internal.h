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
/* Output tokens of a provider-neutral tape reply (at least 1). */
int64_t twin_tokens_reply(const json_t *reply);

#endif
