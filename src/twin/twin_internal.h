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
    lo_tape_fault fault;           /* the whole twin's (lo_twin_config.fault) */
    bool has_fault;
    struct twin_recorder *rec;     /* record mode (record.c), or NULL */
    atomic_llong clock_skew_ms;    /* lo_twin_clock_advance */
};

/* ---- twin.c: services for the provider files ---- */

/* Name the next response this thread sends (printf-style): should the
 * client leave before its end, the twin logs "<label>: the client closed
 * the stream after N of M parts". twin_exch_watch uses it. */
void twin_watch_next(lo_twin *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The monotonic clock, in ms. */
int64_t twin_mono_ms(void);
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
/* Stream events, built one after another into one buffer: a 200-event
 * stream is a few allocations, not 200. */
#define TWIN_PIECE 16 /* bytes of text per delta, about a model's token or four */

typedef struct twin_events {
    lo_buf b;    /* every event's bytes, back to back */
    size_t *end; /* where each event ends in b */
    size_t n, cap;
    bool oom;
    long seq; /* the next sequence number, for providers that number events */
} twin_events;

/* l->b, to append to: when empty, it takes this thread's spare buffer. */
lo_buf *twin_events_buf(twin_events *l);
/* A buffer (cap bytes) no longer needed: kept as this thread's spare, or
 * freed. */
void twin_buf_recycle(char *data, size_t cap);
/* The bytes appended to twin_events_buf(l) since the last event make the
 * next one. */
void twin_events_end(twin_events *l);
/* Append an event of n bytes. */
void twin_events_add(twin_events *l, const char *s, size_t n);
/* Append "event: TYPE\n" (when type is not NULL) "data: JSON" + end (NULL
 * = "\n\n"); data is consumed. */
void twin_events_sse(twin_events *l, const char *type, json_t *data, const char *end);
/* Event i's bytes (not NUL-terminated) and their length. */
const char *twin_events_at(const twin_events *l, size_t i, size_t *len);
void twin_events_release(twin_events *l);

/* Answer an SSE stream of events (each "event: ...\ndata: ...\n\n"), with
 * latency, drip, cut_after and malformed applied. Takes l's contents (l is
 * left empty), also on failure; out of memory in l answers 500. */
void twin_send_events(lo_http_response *res, twin_events *l, const lo_tape_fault *f);
/* Split raw SSE text into events (at blank lines) and send them as above. */
void twin_send_raw_sse(lo_http_response *res, const char *text, const lo_tape_fault *f);
/* Send l's events one after another as a streamed body of this status and
 * type, with the fault's latency, drip and cut_after applied per event (not
 * malformed: that is the caller's, it knows the framing). Takes l's
 * contents as above. */
void twin_send_parts(lo_http_response *res, int status, const char *ctype, twin_events *l,
                     const lo_tape_fault *f);

/* ---- exchange.c: one request as every provider serves it ---- */

typedef struct twin_exch {
    lo_twin *t;
    const char *provider; /* "anthropic", ...: the log line's first word */
    const lo_http_request *req;
    lo_http_response *res;
    long call;            /* the generation call number; 0 = not a call */
    int status;           /* what was answered */
    const lo_tape_entry *entry;
    bool stream;
    char rid[48];         /* the request id, when the provider sends one */
} twin_exch;

void twin_exch_init(twin_exch *x, lo_twin *t, const char *provider, const lo_http_request *req,
                    lo_http_response *res);
/* Number the request (every request, for request ids): rid = prefix + n
 * base62 characters from (salt, number). Returns the number. */
long twin_exch_number(twin_exch *x, const char *prefix, const char *salt, size_t n);
/* Count a generation call (the tapes' match.call). */
long twin_exch_call(twin_exch *x);
/* The request's log line: "PROVIDER METHOD PATH STATUS [call=N] [tape=F:L] [stream]". */
void twin_exch_done(twin_exch *x);
/* Before sending a stream: label it for the disconnect log line. */
void twin_exch_watch(const twin_exch *x);
/* Answer j (consumed) as JSON with the fault's latency and malformed (f may
 * be NULL), then log. */
void twin_exch_send_json(twin_exch *x, int status, const char *ctype, json_t *j,
                         const lo_tape_fault *f);
/* Serve a raw entry (a JSON value, an SSE text or bytes) with fault f, then log. */
void twin_exch_serve_raw(twin_exch *x, const lo_tape_entry *e, const lo_tape_fault *f,
                         const char *ctype);
/* The fault for answering entry e (NULL: none matched yet) on this call:
 * the entry's where it sets a field, else the twin's own; each only on the
 * calls its "every" selects. */
void twin_fault_for(const twin_exch *x, const lo_tape_entry *e, lo_tape_fault *out);
/* Whether the twin's own fault answers this call with an error status
 * before any tape is consulted. */
bool twin_fault_preempts(const twin_exch *x);
/* The Retry-After header for an error status: the fault's, else 1 for 429,
 * 503 and 529. Returns the seconds sent, -1 for none. */
long twin_retry_after(lo_http_response *res, int status, const lo_tape_fault *f);

/* What a request shows the matchers, built by each provider from its body. */
typedef struct twin_view {
    lo_buf user, result; /* text of the last user message / tool result */
    bool has_result;
    long messages;       /* messages, input items or contents in the request */
    const char **tools;  /* borrowed names of the tools offered */
    size_t n_tools, cap;
} twin_view;

void twin_view_init(twin_view *v);
void twin_view_tool(twin_view *v, const char *name);
void twin_view_release(twin_view *v);
/* The first tape entry that fits (x->entry is set too), or NULL with why
 * filled (see lo_tape_match). */
const lo_tape_entry *twin_view_match(twin_exch *x, const twin_view *v, const char *model,
                                     char *why, size_t why_len);

/* A refused request: what its error body says. type, param and code are
 * OpenAI's; the other providers use status and msg. */
typedef struct twin_verdict {
    int status;
    const char *type; /* NULL = by status */
    char param[128];  /* "" = null */
    const char *code; /* NULL = null */
    char msg[900];
} twin_verdict;

/* Fill status and msg; returns -1, for "return twin_bad(...)". */
int twin_bad(twin_verdict *v, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 1 to max characters of [a-zA-Z0-9_-]: the tool names the APIs take. */
bool twin_name_ok(const char *s, size_t max);
const char *twin_jstr(const json_t *j, const char *key);
/* A reply's thinking text (a string, or {"text": ...}); NULL when none. */
const char *twin_thinking_text(const json_t *reply);

/* Bytes of s for the next piece: about size, never inside a UTF-8 character. */
size_t twin_piece(const char *s, size_t size);

/* ---- rendering fast paths (splice.c) ---- */

/* json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY), byte for byte, with long
 * strings escaped once and reused across calls. NULL when out of memory. */
char *twin_json_dump(const json_t *j);
/* The same, only when j holds a long string; else (or out of memory) NULL. */
char *twin_json_dump_spliced(const json_t *j);

/* An event template: data with markers (twin_slot(k)) where the variable
 * JSON values go, dumped once; then each event is a few copies. */
#define TWIN_TMPL_SLOTS 4
typedef struct twin_tmpl {
    char *part[TWIN_TMPL_SLOTS + 1];
    size_t plen[TWIN_TMPL_SLOTS + 1];
    unsigned slot[TWIN_TMPL_SLOTS]; /* which value goes after part[i] */
    unsigned n;                     /* markers found */
} twin_tmpl;

/* The marker of value k (a new string). */
json_t *twin_slot(unsigned k);
/* "event: TYPE\n" (type may be NULL) "data: " + data + "\n\n", with its
 * markers; data is consumed. 0, or -1 (t cleared) when out of memory or a
 * marker number is TWIN_TMPL_SLOTS or more, or more than that many markers. */
int twin_tmpl_init(twin_tmpl *t, const char *type, json_t *data);
void twin_tmpl_release(twin_tmpl *t);
/* The event with vals[k] (JSON texts) in place of marker k; NULL when out
 * of memory or t did not initialise. */
char *twin_tmpl_event(const twin_tmpl *t, const char *const *vals);
/* An event from t for each delta piece of text (TWIN_PIECE bytes, never
 * inside a UTF-8 character): the piece's JSON string as value 0 and, when
 * t has value 1, l->seq (then incremented) as value 1. 0, or -1 with
 * nothing added when t did not initialise or text is not UTF-8; running
 * out of memory marks l. */
int twin_tmpl_deltas(twin_events *l, const twin_tmpl *t, const char *text);
/* n bytes of s as a JSON string in buf (quotes included); NULL when it does
 * not fit in cap or is not UTF-8. */
char *twin_json_piece(const char *s, size_t n, char *buf, size_t cap);

/* ---- the providers: their routes (twin.c registers them) ---- */
int twin_anthropic_routes(lo_twin *t, lo_error *err);
/* Each provider's request view (what the tapes match on), also for record.c. */
void twin_anthropic_view(const json_t *b, twin_view *v);
/* shared: also the model list and unknown paths (see twin.c) */
int twin_openai_routes(lo_twin *t, bool shared, lo_error *err);
/* shared: also every path outside /v1beta (Gemini served alone) */
int twin_gemini_routes(lo_twin *t, bool shared, lo_error *err);

/* openai*.c: the two APIs one twin serves. */
enum twin_api { TWIN_RESPONSES, TWIN_CHAT };
/* openai_validate.c: the checks of either API; 0, or -1 with v filled. */
int twin_openai_validate(lo_twin *t, const json_t *b, enum twin_api api, twin_verdict *v);
/* Fill an OpenAI verdict (param, code may be NULL); returns -1. */
int twin_openai_bad(twin_verdict *v, int status, const char *param, const char *code,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void twin_openai_view(const json_t *b, enum twin_api api, twin_view *v);
/* A tool definition's function part (Chat nests it under "function"). */
const json_t *twin_openai_tool_fn(const json_t *tl, enum twin_api api);
/* openai_stream.c: the stream of a finished object, appended to l (out of
 * memory marks it). */
void twin_openai_response_events(const json_t *resp, twin_events *l);
void twin_openai_chat_chunks(const json_t *cc, bool usage, twin_events *l);

/* gemini*.c: the methods under /v1beta/models/{model}:METHOD. */
enum twin_gemini_method { TWIN_GEMINI_GENERATE, TWIN_GEMINI_STREAM, TWIN_GEMINI_COUNT };
/* A field by either proto spelling (camelCase first). */
const json_t *twin_gemini_get(const json_t *j, const char *camel, const char *snake);
void twin_gemini_view(const json_t *b, twin_view *v);
/* gemini_validate.c: 0, or -1 with v filled. */
int twin_gemini_validate(const json_t *b, enum twin_gemini_method m, twin_verdict *v);
/* gemini_render.c: a reply as Gemini reports it. */
typedef struct twin_gemini_reply {
    json_t *parts; /* the candidate's parts, in order thought, text, calls (owned) */
    int64_t in, cached, candidates, thoughts;
    const char *finish;
    char rid[40];
    const char *model;
} twin_gemini_reply;
/* Input tokens of a GenerateContentRequest (countTokens). */
int64_t twin_gemini_tokens(const json_t *b);
/* Render tape reply r to request b (updates the prompt cache). */
void twin_gemini_render(lo_twin *t, long call, const json_t *b, const json_t *r,
                        const lo_llm_model *model, twin_gemini_reply *out);
/* One GenerateContentResponse with these parts (consumed); final: with
 * finishReason and the complete usage. */
json_t *twin_gemini_response(const twin_gemini_reply *rd, json_t *parts, bool final);
/* The stream's chunks, as an array of GenerateContentResponses. */
json_t *twin_gemini_chunks(const twin_gemini_reply *rd);

/* anthropic_validate.c: the Messages API's checks; 0, or -1 with v filled.
 * counting: count_tokens (no max_tokens). *model: the catalog entry. */
int twin_anthropic_validate(lo_twin *t, const json_t *b, bool counting, twin_verdict *v,
                            const lo_llm_model **model);

/* ---- record.c, record_parse.c: record mode ---- */

typedef enum twin_record_kind {
    TWIN_RECORD_NONE, /* proxied, not recorded (count_tokens, model lists, ...) */
    TWIN_RECORD_ANTHROPIC,
    TWIN_RECORD_RESPONSES,
    TWIN_RECORD_CHAT,
    TWIN_RECORD_GEMINI,
} twin_record_kind;

/* Which generation API a request path is, if any. */
twin_record_kind twin_record_kind_of(const char *path);
/* The tape entry for an exchange: match from the request body req (as the
 * replaying twin will see it), reply from the upstream's answer (status,
 * body: JSON or a stream), a fault for an error status; comment as given.
 * NULL when out of memory. */
json_t *twin_record_entry(twin_record_kind kind, const char *path, const json_t *req,
                          long status, const char *body, size_t len, long retry_after,
                          const char *comment);
/* Start record mode on t: every request is proxied to upstream and each
 * generation exchange appended to path. LO_EINVAL (bad URL), LO_EIO. */
int twin_record_start(lo_twin *t, const char *upstream, const char *path, lo_error *err);
/* Cancel what is in flight and wait for it; called before the server stops. */
void twin_record_cancel(lo_twin *t);
/* Close the tape; after the server stopped. */
void twin_record_stop(lo_twin *t);

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
/* The input token count of a request: the total of the prompt build makes. */
int64_t twin_prompt_total(const json_t *body, void (*build)(const json_t *, twin_prompt *));
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
